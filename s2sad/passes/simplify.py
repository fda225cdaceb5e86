"""Simplification: constant folding and algebraic identities.

Folds an op whose operands are all literals, and rewrites ``x*1``, ``1*x``, ``x/1``,
``x+0``, ``0+x``, ``x-0``, ``0*x``, ``x*0``, ``x**1``, ``--x``, ``+x``, ``a + -t`` (as
``a - t``), ``(2 * t) * 100.0`` (as ``200.0 * t``, when one factor is a power of two, so
the product is exact) and ``c * g`` spread over an array's shape (``_unreduce``, the
adjoint of ``np.sum``) and then multiplied by an array of that shape (as ``a * (c * g)``);
an array of floats times a gradient's seed ``dbdb = 1.0`` (also where a loop carries it
unchanged) is the array (a boolean or integer one is not: times 1.0 it becomes floats).
Zero follows the symbolic-zero convention of AD systems in derivative code: ``0*x`` is
``0`` even where IEEE arithmetic would give ``nan`` for an infinite ``x``; the primal's own
values (``primal``) keep ``0*x``, so a derivative's value is always the function's. A
temporary that becomes a literal or another value is replaced at its uses; a *named* value
keeps its line (``dbdb = 1.0`` stays), so the names a reader follows survive, and a literal
held in a named value is not propagated::

    %1 = sub 3 1            (gone)
    %2 = pow x %1     ->    %2 = pow x 2
    %3 = mul %2 1           (gone: uses of %3 read %2)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..ir import (
    Comment,
    Const,
    For,
    Function,
    Names,
    Op,
    Region,
    Stmt,
    Value,
    Var,
    map_regions,
    substitute_function,
)
from ..primitives import Prim
from . import factor, shapes


def run(fn: Function, scalars: tuple[Var, ...] = (),
        primal: frozenset[str] = frozenset()) -> Function:
    """``primal``: names of values computed as the user's function computes them; the
    symbolic zero is for derivatives only, so ``0*x`` among them is kept (it is ``nan``
    for an infinite ``x``, and the derivative's value must be the function's)."""
    mapping: dict[Var, Value] = {}
    body = _body(fn.body, mapping, {}, _Facts(fn, scalars, primal))
    return substitute_function(fn.replace(body=body), mapping)


class _Facts:
    """What the rules may ask: the shapes of ``fn`` (analysed on first use: most code,
    a primal above all, never asks) and the primal's names."""

    def __init__(self, fn: Function, scalars: tuple[Var, ...], primal: frozenset[str]
                 ) -> None:
        self.fn, self.scalars, self.primal = fn, scalars, primal
        self.unchanged: dict[Var, Value] = {}  # a loop's carried value it yields as it got

    @functools.cached_property
    def shapes(self) -> shapes.Shapes:
        return shapes.analyze(self.fn, self.scalars)

    @functools.cached_property
    def floats(self) -> set[Var]:
        return factor.floats(self.fn)

    @functools.cached_property
    def names(self) -> Names:
        return Names.of(self.fn)


def _body(stmts: tuple[Stmt, ...], mapping: dict[Var, Value], defining: dict[Var, Op],
          facts: _Facts) -> tuple[Stmt, ...]:
    """Simplify a statement list; regions see the definitions of their enclosing code."""
    body: list[Stmt] = []
    for stmt in stmts:
        if not isinstance(stmt, (Op, Comment)):
            if isinstance(stmt, For):
                _note_unchanged(stmt, facts.unchanged)
            stmt = map_regions(stmt, lambda r: Region(
                r.params, _body(r.body, mapping, dict(defining), facts), r.yields))
        elif isinstance(stmt, Op):
            if any(a in mapping for a in stmt.args if isinstance(a, Var)):  # else as it is
                stmt = Op(stmt.results, stmt.prim, tuple(
                    mapping.get(a, a) if isinstance(a, Var) else a for a in stmt.args),
                    stmt.params, stmt.loc)
            if stmt.effect or len(stmt.results) != 1:
                body.append(stmt)
                continue
            better = _simplify(stmt, defining, facts)
            while isinstance(better, _Rewrite):  # the same value, computed more cheaply
                for extra in better.before:
                    defining[extra.result] = extra
                    body.append(extra)
                stmt = Op(stmt.results, better.prim, better.args, better.params, stmt.loc)
                better = _simplify(stmt, defining, facts)
            if better is not None:
                if stmt.result.is_temp:
                    mapping[stmt.result] = better
                    continue
                stmt = Op(stmt.results, Prim.COPY, (better,), (), stmt.loc)
            defining[stmt.result] = stmt
        body.append(stmt)
    return tuple(body)


def _note_unchanged(loop: For, unchanged: dict[Var, Value]) -> None:
    """Adds the values ``loop`` carries without changing them (it yields each as it got
    it, through copies: an adjoint of a sum the loop adds to), each with its start."""
    copies = {op.result: op.args[0] for op in loop.body.body
              if isinstance(op, Op) and op.prim is Prim.COPY}
    for param, init, out in zip(loop.body.params[1:], loop.inits, loop.body.yields):
        while out in copies:
            out = copies[out]
        if out == param:
            unchanged[param] = init


def _is_seed(v: Value, defining: dict[Var, Op], unchanged: dict[Var, Value]) -> bool:
    """Is ``v`` a named copy of the literal 1 (a gradient's seed ``dbdb = 1.0``), also
    through copies and loops that carry it unchanged?"""
    while isinstance(v, Var):
        op = defining.get(v)
        if op is not None and op.prim is Prim.COPY:
            if _is(op.args[0], 1):
                return True
            v = op.args[0]
        elif v in unchanged:
            v = unchanged[v]
        else:
            return False
    return False


def _fold(prim: Prim, a: Value, b: Value) -> Const | None:
    """``a prim b`` of two literals, when it is a finite Python number."""
    if not (isinstance(a, Const) and isinstance(b, Const)):
        return None
    if type(a.value) not in (int, float) or type(b.value) not in (int, float):
        return None
    value = prim.spec.evaluate(a.value, b.value)
    return Const(value) if math.isfinite(value) else None


def _power_of_two(c: Value) -> bool:
    """Is ``c`` a literal ±2**k (scaling by it is exact)?"""
    if not isinstance(c, Const) or type(c.value) not in (int, float) or c.value == 0 \
            or not math.isfinite(c.value):
        return False
    return math.frexp(abs(c.value))[0] == 0.5


@dataclass(frozen=True)
class _Rewrite:
    prim: Prim
    args: tuple[Value, ...]
    params: tuple = ()
    before: tuple[Op, ...] = ()  # ops giving new temporaries that ``args`` read


def _is(v: Value, number: float) -> bool:
    return isinstance(v, Const) and type(v.value) in (int, float) and v.value == number


def _simplify(op: Op, defining: dict[Var, Op], known: _Facts) -> Value | _Rewrite | None:
    """The value ``op`` computes, when it can be given without computing (else None)."""
    p, args = op.prim, op.args
    if p is Prim.COPY:
        return args[0] if op.result.is_temp else None
    if args and all(isinstance(a, Const) for a in args) and p.spec.evaluate is not None \
            and p not in (Prim.ZEROS_LIKE, Prim.ZEROS) and not op.params:
        try:
            value = p.spec.evaluate(*(a.value for a in args))
        except (ArithmeticError, ValueError, TypeError):
            return None  # leave the error to run time, where the user expects it
        if type(value).__module__ == "numpy":  # a NumPy scalar: fold to its Python number
            value = value.item() if getattr(value, "ndim", 1) == 0 else None
        if isinstance(value, (bool, int)) or (isinstance(value, float)
                                               and math.isfinite(value)):
            return Const(value)
        return None  # inf, nan, complex: keep the op, whose spelling is clearer
    if p is Prim.MUL:
        x, y = args
        if _is(y, 1):
            return x
        if _is(x, 1):
            return y
        for a, b in ((x, y), (y, x)):  # a float array times the seed 1.0 is the array
            if _is_seed(b, defining, known.unchanged) and factor.is_float(a, known.floats) \
                    and not known.shapes.scalar(a) and known.shapes.numpy:
                return a
        for a, b in ((x, y), (y, x)):  # a * (g spread over a's shape) is a * g
            spread = defining.get(b) if isinstance(b, Var) else None
            if spread is not None and spread.prim is Prim.UNREDUCE and not spread.params \
                    and known.shapes.scalar(spread.args[0]):
                if known.shapes.same(a, spread.args[1]):
                    return _Rewrite(Prim.MUL, (a, spread.args[0]))
                if isinstance(a, Const) and op.result.is_temp:  # c * spread g: spread c * g
                    g = spread.args[0]
                    seed = defining.get(g) if isinstance(g, Var) else None
                    if seed is not None and seed.prim is Prim.COPY and _is(seed.args[0], 1):
                        g = Const(1.0)
                    scaled = _fold(Prim.MUL, a, g)
                    if scaled is not None:
                        return _Rewrite(Prim.UNREDUCE, (scaled, spread.args[1]))
        for a, b in ((x, y), (y, x)):  # (c * t) * spread g is t * spread(c * g)
            scaled = defining.get(a) if isinstance(a, Var) and a.is_temp else None
            small = defining.get(b) if isinstance(b, Var) else None
            if scaled is not None and scaled.prim is Prim.MUL \
                    and _power_of_two(scaled.args[0]) and small is not None \
                    and small.prim is Prim.UNREDUCE and not known.shapes.scalar(small.args[0]):
                # c scales the reduced array, not t's: the adjoint of np.sum(t ** 2, axis)
                # with one array operation fewer; c a power of two, the same numbers
                c, t = scaled.args
                product, spread = known.names.temp(), known.names.temp()
                return _Rewrite(Prim.MUL, (t, spread), before=(
                    Op((product,), Prim.MUL, (c, small.args[0]), (), op.loc),
                    Op((spread,), Prim.UNREDUCE, (product, *small.args[1:]), small.params,
                       small.loc)))
        for a, b in ((x, y), (y, x)):  # (c1 * t) * c2 is (c1 * c2) * t, exactly
            inner = defining.get(b) if isinstance(b, Var) and b.is_temp else None
            if isinstance(a, Const) and inner is not None and inner.prim is Prim.MUL \
                    and isinstance(inner.args[0], Const):
                c1, t = inner.args
                scale = _fold(Prim.MUL, c1, a)
                if scale is not None and (_power_of_two(c1) or _power_of_two(a)):
                    return _Rewrite(Prim.MUL, (scale, t))
        if ((_is(x, 0) and known.shapes.scalar(y)) or (_is(y, 0) and known.shapes.scalar(x))) \
                and op.result.name not in known.primal:
            return Const(0.0)  # an array times 0 is still an array of zeros: kept
    if p is Prim.DIV and _is(args[1], 1):
        return args[0]
    if p is Prim.ADD:
        x, y = args
        if _is(y, 0):
            return x
        if _is(x, 0):
            return y
        for a, b in ((x, y), (y, x)):  # a + -t is a - t
            negated = defining.get(b) if isinstance(b, Var) and b.is_temp else None
            if negated is not None and negated.prim is Prim.NEG:
                return _Rewrite(Prim.SUB, (a, negated.args[0]))
    if p is Prim.SUB and _is(args[1], 0):
        return args[0]
    if p is Prim.POW and _is(args[1], 1):
        return args[0]
    if p is Prim.POS:
        return args[0]
    if p is Prim.NEG:
        inner = defining.get(args[0]) if isinstance(args[0], Var) else None
        if inner is not None and inner.prim is Prim.NEG:
            return inner.args[0]
    return None
