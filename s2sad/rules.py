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
from .primitives import Prim, numpy_result


class Builder:
    """Collects the statements a pass emits, naming each new value through ``Names``.

    ``family`` is the module elementary functions in rules come from: ``math`` while the
    values are known to be numbers, ``np`` otherwise (the passes set it per op).
    """

    def __init__(self, names: Names) -> None:
        self.names = names
        self.stmts: list[Stmt] = []
        self.family = "math"
        # the rule is a NumPy function's: its `/` and `**` follow NumPy (inf and nan, where
        # Python floats raise ZeroDivisionError) even on Python numbers, spelled
        # np.divide/np.power unless an operand is known to be a NumPy value already
        self.numpy = False
        self.numpy_values: set[Var] = set()  # see shapes.Shapes.numpy_values

    def op(self, prim: Prim, *args: Value, name: Var | None = None, loc=None,
           params: dict | None = None) -> Var:
        result = name if name is not None else self.names.temp()
        self.stmts.append(Op((result,), prim, tuple(args), _params(prim, params), loc))
        operands = args[:1] if prim is Prim.GETITEM else args
        if numpy_result(prim, [a in self.numpy_values for a in operands]):
            self.numpy_values.add(result)
        return result

    def arithmetic(self, prim: Prim, x: Value, y: Value) -> Var:
        """``x / y`` or ``x ** y``: as NumPy computes it, in the rule of a NumPy function."""
        if self.numpy and x not in self.numpy_values and y not in self.numpy_values:
            prim = _NUMPY_SPELLING.get(prim, prim)
        return self.op(prim, x, y)

    def comment(self, text: str, of: Op | None = None) -> None:
        self.stmts.append(Comment(text, of))

    def sym(self, value: Value) -> Sym:
        return Sym(value, self)


_NUMPY_SPELLING = {Prim.DIV: Prim.NP_DIVIDE, Prim.POW: Prim.NP_POWER}


def _params(prim: Prim, params: dict | None) -> tuple:
    """Keyword parameters in the primitive's order, defaults left out."""
    if not params:
        return ()
    defaults = dict(prim.spec.keywords)
    return tuple((k, Const(params[k])) for k in defaults
                 if k in params and (params[k] != defaults[k] or k == "index"))


def _value(x: object) -> Value:
    if isinstance(x, Sym):
        return x.value
    if isinstance(x, (int, float, str)):
        return Const(x)
    raise TypeError(f"a rule combined a Sym with {x!r}")


class Sym:
    """A value inside a rule; arithmetic on it appends ops to its builder."""

    __slots__ = ("value", "builder")

    def __init__(self, value: Value, builder: Builder) -> None:
        self.value = value
        self.builder = builder

    def apply(self, prim: Prim, *others: object, **params: object) -> Sym:
        args = (self.value, *map(_value, others))
        return Sym(self.builder.op(prim, *args, params=params), self.builder)

    def _r(self, prim: Prim, other: object) -> Sym:
        return Sym(self.builder.op(prim, _value(other), self.value), self.builder)

    def __add__(self, o: object) -> Sym: return self.apply(Prim.ADD, o)
    def __radd__(self, o: object) -> Sym: return self._r(Prim.ADD, o)
    def __sub__(self, o: object) -> Sym: return self.apply(Prim.SUB, o)
    def __rsub__(self, o: object) -> Sym: return self._r(Prim.SUB, o)
    def __mul__(self, o: object) -> Sym: return self.apply(Prim.MUL, o)
    def __rmul__(self, o: object) -> Sym: return self._r(Prim.MUL, o)
    def _arithmetic(self, prim: Prim, x: object, y: object) -> Sym:
        return Sym(self.builder.arithmetic(prim, _value(x), _value(y)), self.builder)

    def __truediv__(self, o: object) -> Sym: return self._arithmetic(Prim.DIV, self, o)
    def __rtruediv__(self, o: object) -> Sym: return self._arithmetic(Prim.DIV, o, self)
    def __pow__(self, o: object) -> Sym: return self._arithmetic(Prim.POW, self, o)
    def __floordiv__(self, o: object) -> Sym: return self.apply(Prim.FLOORDIV, o)
    def __matmul__(self, o: object) -> Sym: return self.apply(Prim.MATMUL, o)
    def __rmatmul__(self, o: object) -> Sym: return self._r(Prim.MATMUL, o)
    def __neg__(self) -> Sym: return self.apply(Prim.NEG)
    def __lt__(self, o: object) -> Sym: return self.apply(Prim.LT, o)
    def __le__(self, o: object) -> Sym: return self.apply(Prim.LE, o)
    def __gt__(self, o: object) -> Sym: return self.apply(Prim.GT, o)
    def __ge__(self, o: object) -> Sym: return self.apply(Prim.GE, o)
    # ``==`` builds an ``eq`` op, so a Sym is not hashable: keep Syms out of sets and dicts
    def __eq__(self, o: object) -> Sym: return self.apply(Prim.EQ, o)  # type: ignore[override]
    __hash__ = None  # type: ignore[assignment]


def _elementary(math_prim: Prim, np_prim: Prim) -> Callable[[Sym], Sym]:
    def f(x: Sym) -> Sym:
        return x.apply(math_prim if x.builder.family == "math" else np_prim)
    return f


sin = _elementary(Prim.SIN, Prim.NP_SIN)
cos = _elementary(Prim.COS, Prim.NP_COS)
sinh = _elementary(Prim.SINH, Prim.NP_SINH)
cosh = _elementary(Prim.COSH, Prim.NP_COSH)
exp = _elementary(Prim.EXP, Prim.NP_EXP)
log = _elementary(Prim.LOG, Prim.NP_LOG)
sqrt = _elementary(Prim.SQRT, Prim.NP_SQRT)


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
    P.LGAMMA: (lambda d, r, x: x.apply(P.DIGAMMA) * d,),
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
    P.LGAMMA: lambda g, r, x: (x.apply(P.DIGAMMA) * g,),
}


# --- NumPy ----------------------------------------------------------------------------
# Elementwise NumPy functions follow the same formulas as their scalar counterparts; the
# passes set the builder's family to ``np`` for them, so ``cos`` in a rule is ``np.cos``.
# Broadcasting is the passes' business: the reverse pass sums each contribution down to
# its operand's shape (``_unbroadcast``) unless the shape analysis proves it unnecessary.

_SAME_AS = {
    P.NP_SIN: P.SIN, P.NP_COS: P.COS, P.NP_TAN: P.TAN, P.NP_ARCSIN: P.ASIN,
    P.NP_ARCCOS: P.ACOS, P.NP_ARCTAN: P.ATAN, P.NP_SINH: P.SINH, P.NP_COSH: P.COSH,
    P.NP_TANH: P.TANH, P.NP_EXP: P.EXP, P.NP_EXPM1: P.EXPM1, P.NP_LOG: P.LOG,
    P.NP_LOG1P: P.LOG1P, P.NP_LOG2: P.LOG2, P.NP_LOG10: P.LOG10, P.NP_SQRT: P.SQRT,
    P.NP_ABS: P.ABS, P.NP_NEGATIVE: P.NEG, P.NP_ADD: P.ADD, P.NP_SUBTRACT: P.SUB,
    P.NP_MULTIPLY: P.MUL, P.NP_DIVIDE: P.DIV, P.NP_POWER: P.POW, P.NP_MAXIMUM: P.MAX,
    P.NP_MINIMUM: P.MIN, P.NP_ARCTAN2: P.ATAN2, P.NP_HYPOT: P.HYPOT,
    P.NP_COPY: P.COPY, P.NP_ASARRAY: P.COPY, P.NP_ARRAY: P.COPY,
}
for _np_prim, _scalar in _SAME_AS.items():
    TANGENT[_np_prim] = TANGENT[_scalar]
    ADJOINT[_np_prim] = ADJOINT[_scalar]


def call(prim: Prim, *args: object, **params: object) -> Sym:
    """``prim(*args, **params)`` as a new op; the first argument that is a Sym builds it."""
    first = next(a for a in args if isinstance(a, Sym))
    values = tuple(_value(a) for a in args)
    return Sym(first.builder.op(prim, *values, params=params), first.builder)


def size(x: Sym) -> Sym:
    return x.apply(P.NP_SIZE)


def unreduce(g: Sym, x: Sym, axis=None, keepdims=False) -> Sym:
    """The adjoint of a reduction over ``axis``, broadcast back to the shape of ``x``."""
    return call(P.UNREDUCE, g, x, axis=axis, keepdims=keepdims)


def _where(c: Sym, x: object, y: object) -> Sym:
    return call(P.NP_WHERE, c, x, y)


def _centered(x: Sym, axis) -> Sym:
    return x - call(P.NP_MEAN, x, axis=axis, keepdims=True)


def _per_dof(v: Sym, x: Sym, r: Sym, ddof) -> Sym:
    """``v`` (a NumPy value) divided by how many entries each reduced value summed, less
    ``ddof`` (var and std): sizes are Python ints, multiplied and divided into ``v`` so that
    no ``/`` of two ints can raise (empty arrays) and float32 stays float32."""
    count = size(x) if ddof == 0 else size(x) - ddof * size(r)
    return v * size(r) / count


def _extremum_tangent(d: Sym, r: Sym, x: Sym, axis=None, keepdims=False) -> Sym:
    share = call(P.EXTREMUM_GRAD, 1.0, r, x, axis=axis, keepdims=keepdims)
    return call(P.NP_SUM, share * d, axis=axis, keepdims=keepdims)


def _norm_tangent(d: Sym, r: Sym, x: Sym, axis=None, keepdims=False) -> Sym:
    return call(P.NP_SUM, x * d, axis=axis, keepdims=keepdims) / nonzero(r)


TANGENT.update({
    P.NP_SQUARE: (lambda d, r, x: 2 * x * d,),
    P.NP_WHERE: (None, lambda d, r, c, x, y: _where(c, d, 0.0),
                 lambda d, r, c, x, y: _where(c, 0.0, d)),
    P.NP_CLIP: (lambda d, r, x, lo, hi: d * (lo <= x) * (x <= hi),
                lambda d, r, x, lo, hi: d * (x < lo),
                lambda d, r, x, lo, hi: d * (x > hi)),
    P.NP_SUM: (lambda d, r, x, **p: call(P.NP_SUM, d, **p),),
    P.NP_MEAN: (lambda d, r, x, **p: call(P.NP_MEAN, d, **p),),
    P.NP_PROD: (lambda d, r, x, **p: call(P.NP_SUM, call(P.PROD_GRAD, 1.0, x, **p) * d, **p),),
    P.NP_MAX: (_extremum_tangent,),
    P.NP_MIN: (_extremum_tangent,),
    P.NP_VAR: (lambda d, r, x, axis=None, ddof=0, keepdims=False: _per_dof(call(
        P.NP_SUM, 2 * _centered(x, axis) * d, axis=axis, keepdims=keepdims), x, r, ddof),),
    P.NP_STD: (lambda d, r, x, axis=None, ddof=0, keepdims=False: _per_dof(call(
        P.NP_SUM, _centered(x, axis) * d, axis=axis, keepdims=keepdims) / r, x, r, ddof),),
    P.NORM: (_norm_tangent,),
    P.MATMUL: (lambda d, r, x, y: d @ y, lambda d, r, x, y: x @ d),
    P.NP_MATMUL: (lambda d, r, x, y: d @ y, lambda d, r, x, y: x @ d),
    P.NP_DOT: (lambda d, r, x, y: call(P.NP_DOT, d, y), lambda d, r, x, y: call(P.NP_DOT, x, d)),
    P.NP_OUTER: (lambda d, r, x, y: call(P.NP_OUTER, d, y),
                 lambda d, r, x, y: call(P.NP_OUTER, x, d)),
    P.NP_INNER: (lambda d, r, x, y: call(P.NP_INNER, d, y),
                 lambda d, r, x, y: call(P.NP_INNER, x, d)),
    P.NP_TRACE: (lambda d, r, x: d.apply(P.NP_TRACE),),
    P.NP_TRANSPOSE: (lambda d, r, x, **p: d.apply(P.NP_TRANSPOSE, **p),),
    P.T: (lambda d, r, x: d.apply(P.T),),
    P.NP_RESHAPE: (lambda d, r, x, shape: call(P.NP_RESHAPE, d, shape),),
    P.NP_RAVEL: (lambda d, r, x: d.apply(P.NP_RAVEL),),
    P.NP_EXPAND_DIMS: (lambda d, r, x, **p: d.apply(P.NP_EXPAND_DIMS, **p),),
    P.NP_SQUEEZE: (lambda d, r, x, **p: d.apply(P.NP_SQUEEZE, **p),),
    P.NP_BROADCAST_TO: (lambda d, r, x, shape: call(P.NP_BROADCAST_TO, d, shape),),
    # `x[i].copy()` (x is about to change, and so is its tangent): the tangent's entries too
    P.GETITEM: (lambda d, r, x, *i, index, copy=False: call(P.GETITEM, d, *i, index=index,
                                                            copy=copy),),
    P.UNBROADCAST: (lambda d, r, g, x: call(P.UNBROADCAST, d, x),),
    P.MT: (lambda d, r, x: d.apply(P.MT),),
    P.TRACE_LAST: (lambda d, r, x: d.apply(P.TRACE_LAST),),
    P.BROADCAST_LIKE: (lambda d, r, g, x: call(P.BROADCAST_LIKE, d, x),),
    P.UNREDUCE: (lambda d, r, g, x, **p: call(P.UNREDUCE, d, x, **p),),
})


def _var_adjoint(g, r, x, axis=None, ddof=0, keepdims=False):
    return (_per_dof(unreduce(g, x, axis, keepdims) * (2 * _centered(x, axis)), x, r, ddof),)


def _std_adjoint(g, r, x, axis=None, ddof=0, keepdims=False):
    return (unreduce(_per_dof(g / r, x, r, ddof), x, axis, keepdims) * _centered(x, axis),)


ADJOINT.update({
    P.NP_SQUARE: lambda g, r, x: (2 * x * g,),
    P.NP_WHERE: lambda g, r, c, x, y: (None, _where(c, g, 0.0), _where(c, 0.0, g)),
    P.NP_CLIP: lambda g, r, x, lo, hi: (g * (lo <= x) * (x <= hi), g * (x < lo), g * (x > hi)),
    P.NP_SUM: lambda g, r, x, **p: (unreduce(g, x, **p),),
    # an int by an int is not divided: 1 / 0 raises for an empty x, where np.mean is nan
    P.NP_MEAN: lambda g, r, x, **p: (unreduce(g, x, **p) * size(r) / size(x),),
    P.NP_PROD: lambda g, r, x, **p: (call(P.PROD_GRAD, g, x, **p),),
    P.NP_MAX: lambda g, r, x, **p: (call(P.EXTREMUM_GRAD, g, r, x, **p),),
    P.NP_MIN: lambda g, r, x, **p: (call(P.EXTREMUM_GRAD, g, r, x, **p),),
    P.NP_VAR: _var_adjoint,
    P.NP_STD: _std_adjoint,
    P.NORM: lambda g, r, x, **p: (unreduce(g / nonzero(r), x, **p) * x,),
    P.MATMUL: lambda g, r, x, y: (call(P.MATMUL_GRAD_A, g, x, y), call(P.MATMUL_GRAD_B, g, x, y)),
    P.NP_MATMUL: lambda g, r, x, y: (call(P.MATMUL_GRAD_A, g, x, y),
                                     call(P.MATMUL_GRAD_B, g, x, y)),
    P.NP_DOT: lambda g, r, x, y: (call(P.DOT_GRAD_A, g, x, y), call(P.DOT_GRAD_B, g, x, y)),
    P.NP_OUTER: lambda g, r, x, y: (  # np.outer flattens its operands
        call(P.NP_RESHAPE, g @ y.apply(P.NP_RAVEL), x.apply(P.SHAPE)),
        call(P.NP_RESHAPE, x.apply(P.NP_RAVEL) @ g, y.apply(P.SHAPE))),
    P.NP_INNER: lambda g, r, x, y: (call(P.INNER_GRAD_A, g, x, y),
                                    call(P.INNER_GRAD_B, g, x, y)),
    P.NP_TRACE: lambda g, r, x: (call(P.TRACE_GRAD, g, x),),
    P.NP_TRANSPOSE: lambda g, r, x, axes=None: (
        g.apply(P.NP_TRANSPOSE, axes=None if axes is None else _inverse(axes)),),
    P.T: lambda g, r, x: (g.apply(P.T),),
    P.NP_RESHAPE: lambda g, r, x, shape: (call(P.NP_RESHAPE, g, x.apply(P.SHAPE)), None),
    P.NP_RAVEL: lambda g, r, x: (call(P.NP_RESHAPE, g, x.apply(P.SHAPE)),),
    P.NP_EXPAND_DIMS: lambda g, r, x, **p: (call(P.NP_RESHAPE, g, x.apply(P.SHAPE)),),
    P.NP_SQUEEZE: lambda g, r, x, **p: (call(P.NP_RESHAPE, g, x.apply(P.SHAPE)),),
    P.NP_BROADCAST_TO: lambda g, r, x, shape: (call(P.UNBROADCAST, g, x), None),
    P.UNBROADCAST: lambda g, r, h, x: (call(P.BROADCAST_LIKE, g, h), None),
    P.MT: lambda g, r, x: (g.apply(P.MT),),
    P.BROADCAST_LIKE: lambda g, r, h, x: (call(P.UNBROADCAST, g, h), None),
    P.UNREDUCE: lambda g, r, h, x, axis=None, keepdims=False: (
        call(P.NP_SUM, g, axis=axis, keepdims=keepdims), None),
})


def _inverse(axes: tuple) -> tuple:
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a] = i
    return tuple(inverse)


# Lists: a list's tangent is the list of its items' tangents; its adjoint is anything
# indexable by position (a list, or an array whose rows are the items' adjoints).
TANGENT.update({
    P.SUM: (lambda d, r, xs: d.apply(P.SUM),),
    P.NP_STACK: (lambda d, r, xs, **p: d.apply(P.NP_STACK, **p),),
    P.NP_CONCATENATE: (lambda d, r, xs, **p: d.apply(P.NP_CONCATENATE, **p),),
    P.NP_ARRAY: (lambda d, r, x: d.apply(P.NP_ARRAY),),
    P.NP_COPY: (lambda d, r, x: d.apply(P.NP_COPY),),  # its own storage, as the copy has
    P.NP_ASARRAY: (lambda d, r, x: d.apply(P.NP_ASARRAY),),
    P.SPREAD: (lambda d, r, g, xs: call(P.SPREAD, d, xs),),
    P.ADD_ITEMS: (lambda d, r, a, b: d, lambda d, r, a, b: d),
    P.UNSTACK: (lambda d, r, g, **p: d.apply(P.UNSTACK, **p),),
    P.UNCONCATENATE: (lambda d, r, g, xs, **p: call(P.UNCONCATENATE, d, xs, **p),),
})
ADJOINT.update({
    P.SUM: lambda g, r, xs: (call(P.SPREAD, g, xs),),
    P.NP_STACK: lambda g, r, xs, **p: (g.apply(P.UNSTACK, **p),),
    P.NP_CONCATENATE: lambda g, r, xs, **p: (call(P.UNCONCATENATE, g, xs, **p),),
    P.SPREAD: lambda g, r, h, xs: (g.apply(P.SUM), None),
    P.ADD_ITEMS: lambda g, r, a, b: (g, g),
    P.UNSTACK: lambda g, r, h, **p: (g.apply(P.NP_STACK, **p),),
    P.UNCONCATENATE: lambda g, r, h, xs, **p: (g.apply(P.NP_CONCATENATE, **p), None),
})


# Linear algebra (matrices, as in seeds/001): x = solve(A, b) has the adjoints
# b̄ = solve(Aᵀ, x̄) and Ā = -b̄ xᵀ; inv, det, cholesky and the SVD follow the standard
# matrix-calculus results (Giles 2008; Murray 2016; Townsend 2016).


def _solve_adjoint(g, r, a, b):
    gb = call(P.SOLVE, a.apply(P.MT), g)
    return call(P.SOLVE_GRAD_A, gb, r), gb


def _swap_einsum(spec: str) -> str:
    inputs, output = spec.replace(" ", "").split("->")
    a, b = inputs.split(",")
    return f"{b},{a}->{output}"


def _einsum_spec(spec: str) -> str:
    """``spec`` with its output written out (``'ij,jk'`` -> ``'ij,jk->ik'``)."""
    spec = spec.replace(" ", "")
    if "->" in spec:
        return spec
    letters = spec.replace(",", "").replace(".", "")
    once = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return spec + "->" + ("..." if "..." in spec else "") + once


TANGENT.update({
    P.SOLVE: (lambda d, r, a, b: -call(P.SOLVE, a, d @ r), lambda d, r, a, b: call(P.SOLVE, a, d)),
    P.INV: (lambda d, r, a: -(r @ d @ r),),
    P.DET: (lambda d, r, a: r * call(P.TRACE_LAST, call(P.SOLVE, a, d)),),
    P.CHOLESKY: (lambda d, r, a: call(P.CHOLESKY_TANGENT, d, r),),
    P.NP_EINSUM: (lambda d, r, a, b, subscripts: call(P.NP_EINSUM, d, b, subscripts=subscripts),
                  lambda d, r, a, b, subscripts: call(P.NP_EINSUM, a, d, subscripts=subscripts)),
})
ADJOINT.update({
    P.SOLVE: _solve_adjoint,
    P.INV: lambda g, r, a: (-(r.apply(P.MT) @ g @ r.apply(P.MT)),),
    P.DET: lambda g, r, a: (call(P.DET_GRAD, g, r, a),),
    P.CHOLESKY: lambda g, r, a: (call(P.CHOLESKY_GRAD, g, r),),
    P.NP_EINSUM: lambda g, r, a, b, subscripts: (
        call(P.EINSUM_GRAD, _einsum_spec(subscripts), g, b, a),
        call(P.EINSUM_GRAD, _swap_einsum(_einsum_spec(subscripts)), g, a, b)),
})


def _svd_tangent(ds, rs, a, full_matrices=True, compute_uv=True):
    (da,) = ds
    if not compute_uv:
        return (call(P.SVD_VALUES_TANGENT, da, a),)
    u, s, vh = rs
    b = da.builder
    results = tuple(b.names.temp() for _ in range(3))
    b.stmts.append(Op(results, P.SVD_TANGENT, (da.value, a.value, u.value, s.value, vh.value)))
    return tuple(Sym(v, b) for v in results)


def _svd_adjoint(gs, rs, a, full_matrices=True, compute_uv=True):
    if not compute_uv:
        return (call(P.SVD_VALUES_GRAD, gs[0], a),)
    u, s, vh = rs
    zero = Const(0.0)
    parts = [g.value if g is not None else zero for g in gs]
    b = a.builder
    return (Sym(b.op(P.SVD_GRAD, *parts, a.value, u.value, s.value, vh.value), b),)


def _slogdet_tangent(ds, rs, a):
    (da,) = ds
    return None, call(P.TRACE_LAST, call(P.SOLVE, a, da))


def _slogdet_adjoint(gs, rs, a):
    _, glogdet = gs
    if glogdet is None:
        return (None,)
    return (call(P.LOGDET_GRAD, glogdet, a),)


# Primitives with several results (slogdet, svd) take and give tuples:
# MULTI_TANGENT[prim](ds, rs, *args, **params) -> one tangent (or None) per result, from
# the operands' tangents ``ds`` (None where an operand has none);
# MULTI_ADJOINT[prim](gs, rs, *args, **params) -> one contribution (or None) per operand,
# from the results' adjoints ``gs`` (None where a result has none).
MULTI_TANGENT: dict[Prim, Callable[..., tuple]] = {
    P.SVD: _svd_tangent, P.SLOGDET: _slogdet_tangent}
MULTI_ADJOINT: dict[Prim, Callable[..., tuple]] = {
    P.SVD: _svd_adjoint, P.SLOGDET: _slogdet_adjoint}


# --- rules for the helpers of generated code (derivatives of derivatives) -------------
# The adjoint helpers of products are derivatives of a trilinear form T(g, a, b) =
# <g, a ∘ b>: _matmul_grad_a(g, a, b) = ∂T/∂a is linear in g and b, so its own adjoint
# with respect to g is the product again (ā @ b), and with respect to b the other helper
# (∂T(g, ā, b)/∂b). The same holds for dot, inner and einsum.

def _bilinear(product, grad_a, grad_b) -> tuple[dict, dict]:
    def args(*xs):
        return xs

    tangent = {
        grad_a: (lambda d, r, g, a, b: call(grad_a, d, a, b), None,
                 lambda d, r, g, a, b: call(grad_a, g, a, d)),
        grad_b: (lambda d, r, g, a, b: call(grad_b, d, a, b),
                 lambda d, r, g, a, b: call(grad_b, g, d, b), None),
    }
    adjoint = {
        grad_a: lambda h, r, g, a, b: (call(product, *args(h, b)), None,
                                       call(grad_b, g, h, b)),
        grad_b: lambda h, r, g, a, b: (call(product, *args(a, h)),
                                       call(grad_a, g, a, h), None),
    }
    return tangent, adjoint


for _product, _ga, _gb in ((P.MATMUL, P.MATMUL_GRAD_A, P.MATMUL_GRAD_B),
                           (P.NP_DOT, P.DOT_GRAD_A, P.DOT_GRAD_B),
                           (P.NP_INNER, P.INNER_GRAD_A, P.INNER_GRAD_B)):
    _t, _a = _bilinear(_product, _ga, _gb)
    TANGENT.update(_t)
    ADJOINT.update(_a)

TANGENT.update({
    P.EXTREMUM_GRAD: (lambda d, r, g, m, x, **p: call(P.EXTREMUM_GRAD, d, m, x, **p),
                      None, None),
    P.TRACE_GRAD: (lambda d, r, g, x: call(P.TRACE_GRAD, d, x), None),
    P.SOLVE_GRAD_A: (lambda d, r, gb, x: call(P.SOLVE_GRAD_A, d, x),
                     lambda d, r, gb, x: call(P.SOLVE_GRAD_A, gb, d)),
    P.EINSUM_GRAD: (None, lambda d, r, spec, g, other, mine: call(P.EINSUM_GRAD, spec, d,
                                                                  other, mine),
                    lambda d, r, spec, g, other, mine: call(P.EINSUM_GRAD, spec, g, d, mine),
                    None),
    P.PROD_GRAD: (lambda d, r, g, x, **p: call(P.PROD_GRAD, d, x, **p), None),
})
ADJOINT.update({
    P.EXTREMUM_GRAD: lambda h, r, g, m, x, axis=None, keepdims=False: (
        call(P.NP_SUM, h * call(P.EXTREMUM_GRAD, 1.0, m, x, axis=axis, keepdims=keepdims),
             axis=axis, keepdims=keepdims), None, None),
    P.TRACE_GRAD: lambda h, r, g, x: (h.apply(P.NP_TRACE), None),
    P.SOLVE_GRAD_A: lambda h, r, gb, x: (-(h @ x), -(h.apply(P.MT) @ gb)),
    P.EINSUM_GRAD: lambda h, r, spec, g, other, mine: (
        None, call(P.NP_EINSUM, h, other, subscripts=spec.value.value),
        call(P.EINSUM_GRAD, _swap_einsum(spec.value.value), g, h, other), None),
})
