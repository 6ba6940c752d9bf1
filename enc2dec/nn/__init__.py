"""The core: parameters, modules, stable functions, initializers and the gradient checker (NumPy only)."""

from enc2dec.nn import functional, init
from enc2dec.nn.gradcheck import GradcheckError, gradcheck
from enc2dec.nn.module import Module
from enc2dec.nn.parameter import Parameter

__all__ = ["GradcheckError", "Module", "Parameter", "functional", "gradcheck", "init"]
