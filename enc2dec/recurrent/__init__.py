"""Recurrent layers with explicit backpropagation through time: Elman RNN, LSTM, GRU, deep stacks, bidirectional.

Time-major inside (x: (T, B, E)); padded batches by per-sequence `lengths`; one GEMM for all input projections,
one product per step, one product per weight gradient (STYLE.md section 4). See `base` for the shared contract.
"""

from enc2dec.recurrent.base import Recurrent, reverse_padded
from enc2dec.recurrent.bidirectional import Bidirectional
from enc2dec.recurrent.gru import GRU
from enc2dec.recurrent.lstm import LSTM
from enc2dec.recurrent.rnn import RNN
from enc2dec.recurrent.stacked import CELLS, Stacked

__all__ = ["CELLS", "GRU", "LSTM", "RNN", "Bidirectional", "Recurrent", "Stacked", "reverse_padded"]
