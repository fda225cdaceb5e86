"""Weight adjoints summed once after a loop instead of once per iteration.

A loop that computes ``a @ W`` in every iteration with the same ``W`` (an RNN's weights)
has, in its adjoint, ``dW = dW + _matmul_grad_b(g, a, W)`` in every iteration of the
reversed loop: an outer product and an addition of ``W``'s size each time, a quarter of
an LSTM gradient's time. The sum over the iterations is one matrix product of the
iterations stacked (their ``a`` as the rows of one matrix, their ``g`` as the rows of
another), the way cuDNN computes an LSTM's weight gradient after its time loop. So::

    for t in reversed(range(n)):           gs, lefts = [], []
        ...                                 for t in reversed(range(n)):
        dW = dW + _matmul_grad_b(g, a, W)      ...
                                               gs.append(g)
                                               lefts.append(a)
                                           dW = dW + _matmul_grad_b_sum(gs, lefts, W)

and likewise ``_matmul_grad_a`` for ``W @ b``. The rewrite is exact: ``_matmul_grad_b_sum``
is the sum of the per-iteration terms whatever the shapes (it stacks where that is the same
sum, else adds them up one by one), so nothing here depends on shapes. It applies where
the accumulated adjoint is read by nothing in the loop but its own addition, and the term
by nothing but that addition, in the loop's own block (not under a branch, which would
skip iterations). The lists hold each iteration's ``g`` and ``a``: ``a`` was on the tape
already (the reversed loop pops it), ``g`` is one value the size of the product per
iteration. A checkpointed loop keeps its bounded memory: its adjoint is a generated function
(``_checkpointed``), not a loop here.
"""

from __future__ import annotations

from collections import Counter

from ..ir import (
    Comment,
    For,
    Function,
    Names,
    Op,
    Region,
    Stmt,
    Var,
    defined_inside,
    defining_ops,
    map_regions,
    region_uses,
    regions_of,
    results_of,
)
from ..primitives import Prim
from . import dce

# the per-iteration adjoint, its sum over lists, and which operand is the fixed one
_SUMMED = {Prim.MATMUL_GRAD_B: (Prim.MATMUL_GRAD_B_SUM, 2),
           Prim.MATMUL_GRAD_A: (Prim.MATMUL_GRAD_A_SUM, 1)}


def run(fn: Function) -> Function:
    names = Names.of(fn)
    defs = defining_ops(fn)
    body = _block(fn.body, names, defs)
    return fn if body is fn.body else dce.run(fn.replace(body=body))  # the zeros it summed to


def _block(body: tuple[Stmt, ...], names: Names, defs: dict) -> tuple[Stmt, ...]:
    out: list[Stmt] = []
    changed = False
    for stmt in body:
        regions = regions_of(stmt)
        inner = {id(r): _region(r, names, defs) for r in regions}
        new = stmt if all(inner[id(r)] is r for r in regions) \
            else map_regions(stmt, lambda r, inner=inner: inner[id(r)])
        if isinstance(new, For):
            summed = _summed(new, names, defs)
            if summed is not None:
                out.extend(summed)
                changed = True
                continue
        changed = changed or new is not stmt
        out.append(new)
    return tuple(out) if changed else body


def _region(region: Region, names: Names, defs: dict) -> Region:
    body = _block(region.body, names, defs)
    return region if body is region.body else Region(region.params, body, region.yields)


def _summed(loop: For, names: Names, defs: dict) -> list[Stmt] | None:
    """The loop with its weights' adjoints gathered and summed after it, or None."""
    params = loop.body.params
    carried = {p: k for k, p in enumerate(params) if k > 0}
    inside = defined_inside(loop.body)
    uses = Counter(v for v in region_uses(loop.body) if isinstance(v, Var))
    position = {v: k for k, stmt in enumerate(loop.body.body) for v in results_of(stmt)}
    found = []  # (term op, add op, carried index)
    for add in loop.body.body:
        if not (isinstance(add, Op) and add.prim is Prim.ADD):
            continue
        for acc, term in (add.args, add.args[::-1]):
            k = carried.get(acc)
            op = loop.body.body[position[term]] if term in position else None
            if k is None or not isinstance(op, Op) or op.prim not in _SUMMED:
                continue
            fixed = op.args[_SUMMED[op.prim][1]]
            if isinstance(fixed, Var) and fixed not in inside and uses[acc] == 1 \
                    and uses[term] == 1 and uses[add.result] == 1 \
                    and loop.body.yields[k - 1] is add.result:
                found.append((op, add, k))
                break
    if not found:
        return None
    gone = {k for _, _, k in found}
    lists = {}  # term op -> (gs, others): their names before, in, at the end of and after
    for op, _, _ in found:
        fixed = op.args[_SUMMED[op.prim][1]]
        bases = [f"{fixed.base}_{what}" if not fixed.is_temp else "%"
                 for what in ("gs", "lefts" if op.prim is Prim.MATMUL_GRAD_B else "rights")]
        lists[id(op)] = tuple(tuple(names.fresh(base) for _ in range(4)) for base in bases)
    before: list[Stmt] = []
    body: list[Stmt] = []
    removed = {id(add) for _, add, _ in found}
    terms = {id(op): op for op, _, _ in found}
    for stmt in loop.body.body:
        if id(stmt) in removed:
            continue
        if id(stmt) in terms:
            fixed_at = _SUMMED[stmt.prim][1]
            g, other = stmt.args[0], stmt.args[3 - fixed_at]
            for (empty, param, appended, _), item in zip(lists[id(stmt)], (g, other)):
                before.append(Op((empty,), Prim.LIST, ()))
                body.append(Op((appended,), Prim.APPEND, (param, item), (), stmt.loc))
            continue
        body.append(stmt)
    keep = [k for k in range(1, len(params)) if k not in gone]
    new_params = [params[0], *(params[k] for k in keep)]
    inits = [loop.inits[k - 1] for k in keep]
    yields = [loop.body.yields[k - 1] for k in keep]
    results = [loop.results[k - 1] for k in keep]
    for op, _, _ in found:
        for empty, param, appended, result in lists[id(op)]:
            new_params.append(param)
            inits.append(empty)
            yields.append(appended)
            results.append(result)
    rewritten = For(tuple(results), loop.start, loop.stop, loop.step, tuple(inits),
                    Region(tuple(new_params), tuple(body), tuple(yields)), loop.loc,
                    loop.reverse, loop.checkpoint)
    at = f" at line {loop.loc.lineno}" if loop.loc is not None else ""
    after: list[Stmt] = [Comment(f"weight adjoints of the loop{at}, summed over its "
                                 "iterations at once")]
    for op, add, k in found:
        prim, fixed_at = _SUMMED[op.prim]
        (_, _, _, gs), (_, _, _, others) = lists[id(op)]
        # the term's operands, each iteration's now a list: (gs, lefts, b) or (gs, a, rights)
        args = tuple(a if j == fixed_at else gs if j == 0 else others
                     for j, a in enumerate(op.args))
        init = loop.inits[k - 1]
        if _zeros_like(init, defs) is op.args[fixed_at]:  # W's adjoint starts here: no `0 +`
            after.append(Op((loop.results[k - 1],), prim, args, (), op.loc))
            continue
        total = names.temp()
        after.append(Op((total,), prim, args, (), op.loc))
        operands = (init, total) if add.args[0] is params[k] else (total, init)
        after.append(Op((loop.results[k - 1],), Prim.ADD, operands, (), add.loc))
    return [*before, rewritten, *after]


def _zeros_like(v: object, defs: dict[Var, Op]) -> object:
    """x where ``v`` is ``_zeros_like(x)`` (through copies), else None."""
    op = defs.get(v)
    while op is not None and op.prim is Prim.COPY:
        op = defs.get(op.args[0])
    return op.args[0] if op is not None and op.prim is Prim.ZEROS_LIKE else None


