"""Factoring of adjoint sums, and signs taken out of derivative code.

Two contributions that scale the same adjoint are added before they scale it, one
multiplication instead of two::

    %4 = mul %3 dada                %7 = add %3 y
    %5 = mul y dada          ->     dada.1 = mul %7 dada
    dada.1 = add %4 %5

This is ``da *= y + cos(a)`` of a hand-written adjoint instead of ``da = cos(a)*da +
y*da``. The products must be temporaries of the same block read only by the sum (else they
are still computed and nothing is saved), and the sum must be derivative code: the primal's
own values (``primal``) keep the rounding of the function as the user wrote it. ``sub``
factors the same way. One of the two factors added must be a float (``floats``): NumPy
adds two boolean arrays as ``or`` and refuses to subtract them, where ``m*g + m*g`` is
``2*m*g``. A sum of three products factors in two steps, since the first
factored sum is itself a product of the adjoint.

A negation that cancels another or becomes a subtraction goes (``_signs``): the adjoint of
``1 / (1 + exp(-x))`` written op by op negates twice, ``-(e * (-u / t))``, which is
``e * (u / t)``; ``c + (-a) / b`` is ``c - a / b``. Negation only flips a sign bit, so
these are exact.
"""

from __future__ import annotations

from collections import Counter

from ..ir import (
    Comment,
    Const,
    Function,
    Names,
    Op,
    Region,
    Stmt,
    Value,
    Var,
    map_regions,
    out_values,
    regions_of,
    values_used,
)
from ..primitives import Prim
from . import tapes

# what gives a float (or an array of floats) whatever its operands: true division and the
# transcendental functions (even of booleans)
_FLOATING = {Prim.DIV, Prim.FLOAT, Prim.NP_DIVIDE} | {
    p for p in Prim if p.spec.call and p.spec.call.split(".")[0] in ("math", "np")
    and p.spec.call.split(".")[-1] in (
        "sin cos tan asin acos atan atan2 arcsin arccos arctan arctan2 sinh cosh tanh exp "
        "expm1 log log1p log2 log10 sqrt hypot erf lgamma fabs pow power").split()}
# a float whenever one operand is a float
_PROMOTING = {Prim.ADD, Prim.SUB, Prim.MUL, Prim.POW, Prim.NEG, Prim.POS, Prim.COPY}


def run(fn: Function, primal: frozenset[str] = frozenset()) -> Function:
    uses = Counter(v for stmt in fn.body for v in values_used(stmt) if isinstance(v, Var))
    uses.update(v for v in out_values(fn.out) if isinstance(v, Var))
    uses.update(fn.keep)
    return fn.replace(body=_body(fn.body, uses, primal, Names.of(fn), floats(fn)))


def floats(fn: Function) -> set[Var]:
    """Values certainly floats or arrays of floats (never booleans or integers); what a
    tape gives back is one when what was pushed there is."""
    found: set[Var] = set()
    _floats(fn.body, found, tapes.given_back(fn))
    return found


def _floats(body: tuple[Stmt, ...], found: set[Var], given: dict[Var, Value]) -> None:
    for stmt in body:
        if isinstance(stmt, Op) and stmt.prim is Prim.POP:
            found.update(r for r in stmt.results if r in given and is_float(given[r], found))
        elif isinstance(stmt, Op) and len(stmt.results) == 1:
            if stmt.prim in _FLOATING or (stmt.prim in _PROMOTING and any(
                    is_float(a, found) for a in stmt.args)):
                found.add(stmt.result)
        elif not isinstance(stmt, (Op, Comment)):
            for region in regions_of(stmt):
                _floats(region.body, found, given)


def is_float(v: object, floats: set[Var]) -> bool:
    return v in floats if isinstance(v, Var) else (
        isinstance(v, Const) and type(v.value) is float)


def _body(stmts: tuple[Stmt, ...], uses: Counter, primal: frozenset[str],
          names: Names, floats: set[Var]) -> tuple[Stmt, ...]:
    products: dict[Var, int] = {}  # a single-use temporary product -> its place in ``out``
    single: dict[Var, int] = {}  # every single-use temporary of derivative code -> its place
    out: list[Stmt | None] = []
    for stmt in stmts:
        if isinstance(stmt, Comment):
            out.append(stmt)
            continue
        if not isinstance(stmt, Op):
            out.append(map_regions(stmt, lambda r: Region(
                r.params, _body(r.body, uses, primal, names, floats), r.yields)))
            continue
        derivative = len(stmt.results) == 1 and stmt.result.name not in primal \
            and not stmt.params
        signed = _signs(stmt, single, out, names) if derivative else None
        if signed is not None:
            ops, dropped = signed
            for k in dropped:
                out[k] = None
            for v in [v for v, k in products.items() if k in dropped]:
                del products[v]
            for op in ops[:-1]:
                single[op.result] = len(out)
                out.append(op)
            stmt = ops[-1]
        if derivative and stmt.result.is_temp and uses[stmt.result] == 1:
            single[stmt.result] = len(out)
        if derivative and stmt.prim in (Prim.ADD, Prim.SUB):
            factored = _factor(stmt, products, out, names, floats)
            if factored is not None:
                out.extend(factored)
                stmt = factored[-1]
                if uses[stmt.result] == 1 and stmt.result.is_temp:
                    products[stmt.result] = len(out) - 1
                continue
        if derivative and stmt.prim is Prim.MUL and stmt.result.is_temp \
                and uses[stmt.result] == 1:
            products[stmt.result] = len(out)
        out.append(stmt)
    return tuple(s for s in out if s is not None)


def _signs(stmt: Op, single: dict[Var, int], out: list[Stmt | None], names: Names
           ) -> tuple[list[Op], list[int]] | None:
    """``neg`` taken out where it cancels or becomes a subtraction: ``-(a * -u)`` is
    ``a * u``, ``a + (-u) / b`` is ``a - u / b``, ``a - (b * -u)`` is ``a + b * u`` (all
    exact: negation only flips a sign bit). Returns the ops replacing ``stmt`` (the last
    has its result) and the places in ``out`` of the ops they make dead, or None."""
    if stmt.prim is Prim.NEG:
        inner = _negated(stmt.args[0], single, out, names)
        if inner is None:
            return None
        value, ops, dropped = inner
        if not ops:
            return [Op(stmt.results, Prim.COPY, (value,), (), stmt.loc)], dropped
        last = ops[-1]
        return ops[:-1] + [Op(stmt.results, last.prim, last.args, (), stmt.loc)], dropped
    if stmt.prim not in (Prim.ADD, Prim.SUB):
        return None
    a, b = stmt.args
    inner = _negated(b, single, out, names)
    flipped = Prim.SUB if stmt.prim is Prim.ADD else Prim.ADD
    if inner is None and stmt.prim is Prim.ADD:
        a, b = b, a
        inner = _negated(b, single, out, names)
    if inner is None:
        return None
    value, ops, dropped = inner
    return ops + [Op(stmt.results, flipped, (a, value), (), stmt.loc)], dropped


def _negated(v: object, single: dict[Var, int], out: list[Stmt | None], names: Names
             ) -> tuple[object, list[Op], list[int]] | None:
    """``-v`` computed without a negation, when ``v`` is a single-use temporary that is a
    negation, or a product or quotient of one: (the value, the ops computing it, the
    places of the ops computing ``v``)."""
    if not (isinstance(v, Var) and v in single):
        return None
    place = single[v]
    op = out[place]
    if op is None:
        return None
    if op.prim is Prim.NEG:
        return op.args[0], [], [place]
    if op.prim not in (Prim.MUL, Prim.DIV) or op.params:
        return None
    for k in (0, 1):
        inner = _negated(op.args[k], single, out, names)
        if inner is not None:
            value, ops, dropped = inner
            args = (value, op.args[1]) if k == 0 else (op.args[0], value)
            new = Op((names.temp(),), op.prim, args, (), op.loc)
            return new.result, ops + [new], dropped + [place]
    return None


def _factor(stmt: Op, products: dict[Var, int], out: list[Stmt | None],
            names: Names, floats: set[Var]) -> list[Op] | None:
    """``add (mul a g) (mul b g)`` as ``mul (add a b) g``, dropping the two products."""
    x, y = stmt.args
    if not (isinstance(x, Var) and isinstance(y, Var)) or x == y \
            or x not in products or y not in products:
        return None
    p, q = out[products[x]], out[products[y]]
    for g in p.args:
        if isinstance(g, Var) and g in q.args:
            a = p.args[1] if p.args[0] == g else p.args[0]
            b = q.args[1] if q.args[0] == g else q.args[0]
            if p.args.count(g) == 2 or q.args.count(g) == 2:
                continue  # g * g: leave it, there is no other factor to add
            if not (is_float(a, floats) or is_float(b, floats)):
                continue
            out[products.pop(x)] = None
            out[products.pop(y)] = None
            total = Op((names.temp(),), stmt.prim, (a, b), (), stmt.loc)
            floats.update((total.result, stmt.result))
            return [total, Op(stmt.results, Prim.MUL, (total.result, g), (), stmt.loc)]
    return None
