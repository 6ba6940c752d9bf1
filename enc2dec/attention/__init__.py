"""Attention: Bahdanau's additive and Luong's multiplicative attention over encoder outputs, with the padding
masks and the masked softmax that every attention shares (masks.py)."""

from enc2dec.attention.additive import BahdanauAttention
from enc2dec.attention.base import MemoryAttention
from enc2dec.attention.masks import masked_softmax, padding_mask, softmax_backward
from enc2dec.attention.multiplicative import LuongAttention

__all__ = [
    "BahdanauAttention",
    "LuongAttention",
    "MemoryAttention",
    "masked_softmax",
    "padding_mask",
    "softmax_backward",
]
