"""s2sad: source-to-source automatic differentiation for a subset of Python.

``grad``, ``value_and_grad``, ``jvp``, ``vjp``, ``jacobian``, ``hvp`` and ``hessian`` turn
a Python function into a plain Python function compiled from generated source; ``source``
shows that source, ``ir`` the function's Wengert list. Errors raise ``CompileError`` with
the location in your code.
"""

from .api import (
    custom_derivative,
    grad,
    hessian,
    hvp,
    ir,
    jacobian,
    jvp,
    source,
    value_and_grad,
    vjp,
)
from .errors import CompileError

__all__ = ["CompileError", "custom_derivative", "grad", "hessian", "hvp", "ir", "jacobian",
           "jvp", "source", "value_and_grad", "vjp"]
__version__ = "0.1.0"
