"""Data: tokenizers, vocabularies, batching, generated tasks and loaders for real data sets.

Imports no model code and nothing heavy at import time (sentencepiece, sklearn load inside the functions that
need them). Import the submodules directly: `from enc2dec.data.vocab import Vocab`.
"""
