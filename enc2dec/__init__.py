"""enc2dec: encoder-decoder neural networks from scratch on NumPy, with hand-written backward passes."""

from enc2dec.nn.gradcheck import gradcheck

__version__ = "0.1.0"
__all__ = ["__version__", "gradcheck"]
