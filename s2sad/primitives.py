"""The closed set of primitives, and the one place that maps Python onto them.

Each primitive is a member of ``Prim`` whose value is its name in the IR text
(``b = mul a y``). ``SPEC`` says how to evaluate it (constant folding), how to spell it in
generated Python (an operator or a call) and whether it carries a derivative. The frontend
turns Python operators and resolved callables into primitives only through
``BINARY_OPS``, ``UNARY_OPS``, ``COMPARE_OPS`` and ``prim_of_callable``::

    prim_of_callable(math.sin) -> Prim.SIN      BINARY_OPS[gast.Mult] -> Prim.MUL
"""

from __future__ import annotations

import builtins
import enum
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import gast


class Prim(enum.Enum):
    # Python arithmetic
    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    POW = "pow"
    FLOORDIV = "floordiv"  # derivative zero almost everywhere
    MOD = "mod"
    NEG = "neg"
    POS = "pos"
    # builtins
    ABS = "abs"
    MIN = "min"  # of two
    MAX = "max"  # of two
    FLOAT = "float"
    INT = "int"  # inactive
    # comparisons and logic: inactive (their results are booleans)
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    EQ = "eq"
    NE = "ne"
    NOT = "not"
    # math module
    SIN = "math.sin"
    COS = "math.cos"
    TAN = "math.tan"
    ASIN = "math.asin"
    ACOS = "math.acos"
    ATAN = "math.atan"
    ATAN2 = "math.atan2"
    SINH = "math.sinh"
    COSH = "math.cosh"
    TANH = "math.tanh"
    EXP = "math.exp"
    EXPM1 = "math.expm1"
    LOG = "math.log"
    LOG1P = "math.log1p"
    LOG2 = "math.log2"
    LOG10 = "math.log10"
    SQRT = "math.sqrt"
    MATH_POW = "math.pow"
    HYPOT = "math.hypot"
    ERF = "math.erf"
    FABS = "math.fabs"
    FLOOR = "math.floor"  # inactive
    CEIL = "math.ceil"  # inactive
    TRUNC = "math.trunc"  # inactive
    # compiler-introduced
    COPY = "copy"  # v = u: names a value (the seed ``dbdb = 1.0``, ``dbdx = dbda``)
    ZEROS_LIKE = "zeros_like"  # the derivative of an input the output ignores
    # the reverse-mode tape: a Python list
    TAPE = "tape"  # tape = []
    PUSH = "push"  # tape.append(v) or tape.append((a, b)); defines nothing
    POP = "pop"  # v = tape.pop() or a, b = tape.pop()

    @property
    def spec(self) -> PrimSpec:
        return SPEC[self]

    @property
    def arity(self) -> tuple[int, int]:
        return SPEC[self].arity

    @property
    def n_results(self) -> tuple[int, int]:
        """How many results an op of this primitive defines (a range)."""
        return SPEC[self].n_results


@dataclass(frozen=True)
class PrimSpec:
    """How to evaluate and spell one primitive.

    ``infix``/``prefix`` name a Python operator; otherwise ``call`` is the dotted name of the
    function the generated code calls (``math.sin``; ``math``/``np`` are bound by the
    emitter). ``active`` is False when the result never carries a derivative.
    """

    evaluate: Callable[..., object] | None
    arity: tuple[int, int]
    infix: str | None = None
    prefix: str | None = None
    call: str | None = None
    active: bool = True
    n_results: tuple[int, int] = (1, 1)
    effect: bool = False  # changes state (the tape): never removed, never reordered


def _zeros_like(x: object) -> object:
    import numpy as np

    if isinstance(x, (int, float)):
        return 0.0
    return np.zeros_like(x)[()]


P = Prim
SPEC: dict[Prim, PrimSpec] = {
    P.ADD: PrimSpec(operator.add, (2, 2), infix="+"),
    P.SUB: PrimSpec(operator.sub, (2, 2), infix="-"),
    P.MUL: PrimSpec(operator.mul, (2, 2), infix="*"),
    P.DIV: PrimSpec(operator.truediv, (2, 2), infix="/"),
    P.POW: PrimSpec(operator.pow, (2, 2), infix="**"),
    P.FLOORDIV: PrimSpec(operator.floordiv, (2, 2), infix="//", active=False),
    P.MOD: PrimSpec(operator.mod, (2, 2), infix="%"),
    P.NEG: PrimSpec(operator.neg, (1, 1), prefix="-"),
    P.POS: PrimSpec(operator.pos, (1, 1), prefix="+"),
    P.ABS: PrimSpec(builtins.abs, (1, 1), call="abs"),
    P.MIN: PrimSpec(builtins.min, (2, 2), call="min"),
    P.MAX: PrimSpec(builtins.max, (2, 2), call="max"),
    P.FLOAT: PrimSpec(builtins.float, (1, 1), call="float"),
    P.INT: PrimSpec(builtins.int, (1, 1), call="int", active=False),
    P.LT: PrimSpec(operator.lt, (2, 2), infix="<", active=False),
    P.LE: PrimSpec(operator.le, (2, 2), infix="<=", active=False),
    P.GT: PrimSpec(operator.gt, (2, 2), infix=">", active=False),
    P.GE: PrimSpec(operator.ge, (2, 2), infix=">=", active=False),
    P.EQ: PrimSpec(operator.eq, (2, 2), infix="==", active=False),
    P.NE: PrimSpec(operator.ne, (2, 2), infix="!=", active=False),
    P.NOT: PrimSpec(operator.not_, (1, 1), prefix="not ", active=False),
    P.COPY: PrimSpec(lambda x: x, (1, 1)),
    P.ZEROS_LIKE: PrimSpec(_zeros_like, (1, 1), call="_zeros_like", active=False),
    P.TAPE: PrimSpec(None, (0, 0), active=False, effect=True),
    P.PUSH: PrimSpec(None, (2, 1 << 20), active=False, n_results=(0, 0), effect=True),
    P.POP: PrimSpec(None, (1, 1), active=False, n_results=(1, 1 << 20), effect=True),
}
for _prim in Prim:
    if _prim.value.startswith("math."):
        _name = _prim.value[len("math."):]
        SPEC[_prim] = PrimSpec(
            getattr(math, _name), (2, 2) if _name in ("atan2", "pow", "hypot") else (1, 1),
            call=_prim.value, active=_name not in ("floor", "ceil", "trunc"))

_BY_NAME = {p.value: p for p in Prim}


def prim_by_name(name: str) -> Prim | None:
    return _BY_NAME.get(name)


# --- the one mapping from Python onto primitives -----------------------------------------

BINARY_OPS: dict[type, Prim] = {
    gast.Add: P.ADD, gast.Sub: P.SUB, gast.Mult: P.MUL, gast.Div: P.DIV, gast.Pow: P.POW,
    gast.FloorDiv: P.FLOORDIV, gast.Mod: P.MOD,
}
UNARY_OPS: dict[type, Prim] = {gast.USub: P.NEG, gast.UAdd: P.POS, gast.Not: P.NOT}
COMPARE_OPS: dict[type, Prim] = {
    gast.Lt: P.LT, gast.LtE: P.LE, gast.Gt: P.GT, gast.GtE: P.GE, gast.Eq: P.EQ,
    gast.NotEq: P.NE,
}

_CALLABLES: dict[object, Prim] = {
    builtins.abs: P.ABS, builtins.min: P.MIN, builtins.max: P.MAX, builtins.float: P.FLOAT,
    builtins.int: P.INT,
}
for _prim, _spec in SPEC.items():
    if _spec.call and _spec.call.startswith("math."):
        _CALLABLES[getattr(math, _spec.call[5:])] = _prim


def prim_of_callable(obj: object) -> Prim | None:
    """The primitive a resolved callee stands for (``math.sin`` -> ``Prim.SIN``), if any."""
    try:
        return _CALLABLES.get(obj)
    except TypeError:  # an unhashable object is no primitive
        return None
