"""Derivative rules: one tangent rule and one adjoint rule per differentiable primitive.

Rules are tiny pure functions over ``Sym``s, values that build IR when combined with Python
operators, so a rule reads like the textbook formula and the emitted code like the notes::

    ADJOINT[Prim.MUL] = lambda g, r, x, y: (y * g, x * g)     # dbda = y * dbdb

* ``TANGENT[prim]`` is a tuple with one linear map per operand: ``(d, r, *args) -> Sym``
  gives the result's tangent caused by the tangent ``d`` of that operand (JAX's
  ``defjvp``). The forward pass adds the maps of the operands that carry a tangent.
* ``ADJOINT[prim]`` is ``(g, r, *args) -> tuple`` with one contribution per operand, given
  the result's adjoint ``g`` (Zygote's ``@adjoint``). The reverse pass keeps those of
  active operands; dead code elimination removes the rest.

``r`` is the primal result, reused where the formula allows (``exp``, ``sqrt``, ``tanh``).
Conventions at non-differentiable points: ``abs'(0) = 0``; ``min``/``max`` send the whole
derivative to the operand Python returns (the first one at a tie); ``hypot`` has gradient 0
at the origin; ``x**y`` has d/dx = 0 where y == 0 and d/dy = 0 where x == 0 (JAX does the
same); ``floor``, ``//``, comparisons and ``int`` carry none.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .ir import Comment, Const, Names, Op, Stmt, Value, Var
from .primitives import Prim


class Builder:
    """Collects the statements a pass emits, naming each new value through ``Names``."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self.stmts: list[Stmt] = []

    def op(self, prim: Prim, *args: Value, name: Var | None = None, loc=None) -> Var:
        result = name if name is not None else self.names.temp()
        self.stmts.append(Op((result,), prim, tuple(args), (), loc))
        return result

    def comment(self, text: str, of: Op | None = None) -> None:
        self.stmts.append(Comment(text, of))

    def sym(self, value: Value) -> Sym:
        return Sym(value, self)


def _value(x: object) -> Value:
    if isinstance(x, Sym):
        return x.value
    if isinstance(x, (int, float)):
        return Const(x)
    raise TypeError(f"a rule combined a Sym with {x!r}")


class Sym:
    """A value inside a rule; arithmetic on it appends ops to its builder."""

    __slots__ = ("value", "builder")

    def __init__(self, value: Value, builder: Builder) -> None:
        self.value = value
        self.builder = builder

    def apply(self, prim: Prim, *others: object) -> Sym:
        args = (self.value, *map(_value, others))
        return Sym(self.builder.op(prim, *args), self.builder)

    def _r(self, prim: Prim, other: object) -> Sym:
        return Sym(self.builder.op(prim, _value(other), self.value), self.builder)

    def __add__(self, o: object) -> Sym: return self.apply(Prim.ADD, o)
    def __radd__(self, o: object) -> Sym: return self._r(Prim.ADD, o)
    def __sub__(self, o: object) -> Sym: return self.apply(Prim.SUB, o)
    def __rsub__(self, o: object) -> Sym: return self._r(Prim.SUB, o)
    def __mul__(self, o: object) -> Sym: return self.apply(Prim.MUL, o)
    def __rmul__(self, o: object) -> Sym: return self._r(Prim.MUL, o)
    def __truediv__(self, o: object) -> Sym: return self.apply(Prim.DIV, o)
    def __rtruediv__(self, o: object) -> Sym: return self._r(Prim.DIV, o)
    def __pow__(self, o: object) -> Sym: return self.apply(Prim.POW, o)
    def __floordiv__(self, o: object) -> Sym: return self.apply(Prim.FLOORDIV, o)
    def __neg__(self) -> Sym: return self.apply(Prim.NEG)
    def __lt__(self, o: object) -> Sym: return self.apply(Prim.LT, o)
    def __le__(self, o: object) -> Sym: return self.apply(Prim.LE, o)
    def __gt__(self, o: object) -> Sym: return self.apply(Prim.GT, o)
    def __ge__(self, o: object) -> Sym: return self.apply(Prim.GE, o)
    # ``==`` builds an ``eq`` op, so a Sym is not hashable: keep Syms out of sets and dicts
    def __eq__(self, o: object) -> Sym: return self.apply(Prim.EQ, o)  # type: ignore[override]
    __hash__ = None  # type: ignore[assignment]


def sin(x: Sym) -> Sym: return x.apply(Prim.SIN)
def cos(x: Sym) -> Sym: return x.apply(Prim.COS)
def sinh(x: Sym) -> Sym: return x.apply(Prim.SINH)
def cosh(x: Sym) -> Sym: return x.apply(Prim.COSH)
def exp(x: Sym) -> Sym: return x.apply(Prim.EXP)
def log(x: Sym) -> Sym: return x.apply(Prim.LOG)
def sqrt(x: Sym) -> Sym: return x.apply(Prim.SQRT)


def pow_dx(x: Sym, y: Sym) -> Sym:
    """d(x**y)/dx = y * x**(y-1), and 0 where y == 0 (x**0 is 1 for every x, even 0)."""
    return y * x ** (y - 1 + (y == 0))


def pow_dy(r: Sym, x: Sym) -> Sym:
    """d(x**y)/dy = log(x) * x**y, and 0 where x == 0 (0**y is 0 for every y > 0)."""
    return log(x + (x == 0)) * r


def nonzero(x: Sym) -> Sym:
    """``x``, or 1 where it is 0: a divisor for partials that are 0 at 0 (``hypot``)."""
    return x + (x == 0)


def sign(x: Sym, d: Sym) -> Sym:
    """``d * sign(x)``, written with comparisons so that it is 0 at 0 for any number type."""
    return d * (x > 0) - d * (x < 0)


_2_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)  # erf'(x) = 2/sqrt(pi) * exp(-x*x)

Tangent = Callable[..., Sym]
P = Prim

TANGENT: dict[Prim, tuple[Tangent, ...]] = {
    P.ADD: (lambda d, r, x, y: d, lambda d, r, x, y: d),
    P.SUB: (lambda d, r, x, y: d, lambda d, r, x, y: -d),
    P.MUL: (lambda d, r, x, y: d * y, lambda d, r, x, y: x * d),
    P.DIV: (lambda d, r, x, y: d / y, lambda d, r, x, y: -(r * d) / y),
    P.POW: (lambda d, r, x, y: pow_dx(x, y) * d, lambda d, r, x, y: pow_dy(r, x) * d),
    P.MOD: (lambda d, r, x, y: d, lambda d, r, x, y: -(x // y) * d),
    P.NEG: (lambda d, r, x: -d,),
    P.POS: (lambda d, r, x: d,),
    P.ABS: (lambda d, r, x: sign(x, d),),
    P.FABS: (lambda d, r, x: sign(x, d),),
    P.MIN: (lambda d, r, x, y: d * (x <= y), lambda d, r, x, y: d * (y < x)),
    P.MAX: (lambda d, r, x, y: d * (x >= y), lambda d, r, x, y: d * (y > x)),
    P.FLOAT: (lambda d, r, x: d,),
    P.COPY: (lambda d, r, x: d,),
    P.SIN: (lambda d, r, x: cos(x) * d,),
    P.COS: (lambda d, r, x: -sin(x) * d,),
    P.TAN: (lambda d, r, x: (1 + r * r) * d,),
    P.ASIN: (lambda d, r, x: d / sqrt(1 - x * x),),
    P.ACOS: (lambda d, r, x: -d / sqrt(1 - x * x),),
    P.ATAN: (lambda d, r, x: d / (1 + x * x),),
    P.ATAN2: (lambda d, r, y, x: x * d / (x * x + y * y),
              lambda d, r, y, x: -(y * d) / (x * x + y * y)),
    P.SINH: (lambda d, r, x: cosh(x) * d,),
    P.COSH: (lambda d, r, x: sinh(x) * d,),
    P.TANH: (lambda d, r, x: (1 - r * r) * d,),
    P.EXP: (lambda d, r, x: r * d,),
    P.EXPM1: (lambda d, r, x: (r + 1) * d,),
    P.LOG: (lambda d, r, x: d / x,),
    P.LOG1P: (lambda d, r, x: d / (1 + x),),
    P.LOG2: (lambda d, r, x: d / (x * math.log(2.0)),),
    P.LOG10: (lambda d, r, x: d / (x * math.log(10.0)),),
    P.SQRT: (lambda d, r, x: d / (2 * r),),
    P.MATH_POW: (lambda d, r, x, y: pow_dx(x, y) * d, lambda d, r, x, y: pow_dy(r, x) * d),
    P.HYPOT: (lambda d, r, x, y: x / nonzero(r) * d, lambda d, r, x, y: y / nonzero(r) * d),
    P.ERF: (lambda d, r, x: _2_OVER_SQRT_PI * exp(-(x * x)) * d,),
}

Adjoint = Callable[..., tuple]


def _hypot_adjoint(g: Sym, r: Sym, x: Sym, y: Sym) -> tuple[Sym, Sym]:
    norm = nonzero(r)  # shared by both partials
    return x / norm * g, y / norm * g


def _atan2_adjoint(g: Sym, y: Sym, x: Sym) -> tuple[Sym, Sym]:
    norm = x * x + y * y  # shared by both partials
    return x * g / norm, -(y * g) / norm


ADJOINT: dict[Prim, Adjoint] = {
    P.ADD: lambda g, r, x, y: (g, g),
    P.SUB: lambda g, r, x, y: (g, -g),
    P.MUL: lambda g, r, x, y: (y * g, x * g),
    P.DIV: lambda g, r, x, y: (g / y, -(r * g) / y),
    P.POW: lambda g, r, x, y: (pow_dx(x, y) * g, pow_dy(r, x) * g),
    P.MOD: lambda g, r, x, y: (g, -(x // y) * g),
    P.NEG: lambda g, r, x: (-g,),
    P.POS: lambda g, r, x: (g,),
    P.ABS: lambda g, r, x: (sign(x, g),),
    P.FABS: lambda g, r, x: (sign(x, g),),
    P.MIN: lambda g, r, x, y: (g * (x <= y), g * (y < x)),
    P.MAX: lambda g, r, x, y: (g * (x >= y), g * (y > x)),
    P.FLOAT: lambda g, r, x: (g,),
    P.COPY: lambda g, r, x: (g,),
    P.SIN: lambda g, r, x: (cos(x) * g,),
    P.COS: lambda g, r, x: (-sin(x) * g,),
    P.TAN: lambda g, r, x: ((1 + r * r) * g,),
    P.ASIN: lambda g, r, x: (g / sqrt(1 - x * x),),
    P.ACOS: lambda g, r, x: (-g / sqrt(1 - x * x),),
    P.ATAN: lambda g, r, x: (g / (1 + x * x),),
    P.ATAN2: lambda g, r, y, x: _atan2_adjoint(g, y, x),
    P.SINH: lambda g, r, x: (cosh(x) * g,),
    P.COSH: lambda g, r, x: (sinh(x) * g,),
    P.TANH: lambda g, r, x: ((1 - r * r) * g,),
    P.EXP: lambda g, r, x: (r * g,),
    P.EXPM1: lambda g, r, x: ((r + 1) * g,),
    P.LOG: lambda g, r, x: (g / x,),
    P.LOG1P: lambda g, r, x: (g / (1 + x),),
    P.LOG2: lambda g, r, x: (g / (x * math.log(2.0)),),
    P.LOG10: lambda g, r, x: (g / (x * math.log(10.0)),),
    P.SQRT: lambda g, r, x: (g / (2 * r),),
    P.MATH_POW: lambda g, r, x, y: (pow_dx(x, y) * g, pow_dy(r, x) * g),
    P.HYPOT: lambda g, r, x, y: _hypot_adjoint(g, r, x, y),
    P.ERF: lambda g, r, x: (_2_OVER_SQRT_PI * exp(-(x * x)) * g,),
}
