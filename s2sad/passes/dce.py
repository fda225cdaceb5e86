"""Dead code elimination.

Removes ops whose results nothing returned or kept reads, directly or through other ops,
and the ``# adjoint of`` comments left heading no code. Ops with an effect (the tape) stay.
Through control flow: a branch result nobody reads is dropped from the ``if`` with what
computes it; a loop-carried value is live when the loop's result is, or when the body
needs it for a live value in the next iteration (a fixed point); a loop or ``if`` left with
no results and no effects goes::

    a = add x 5                 a = add x 5
    %2 = mul x dbdb     ->      return a
    return a
"""

from __future__ import annotations

import dataclasses

from ..errors import UnsupportedSyntax
from ..ir import (
    Comment,
    For,
    Function,
    If,
    Op,
    Region,
    Stmt,
    Var,
    While,
    map_regions,
    out_values,
    region_uses,
    regions_of,
    values_used_here,
)
from ..primitives import Prim
from . import tapes


def run(fn: Function) -> Function:
    while True:
        live: set[Var] = {v for v in out_values(fn.out) if isinstance(v, Var)} | set(fn.keep)
        fn = fn.replace(body=_body(fn.body, live))
        untaped = _untape(fn)
        if untaped is fn:
            return fn
        fn = untaped


def _untape(fn: Function) -> Function:
    """Take off s2sad's own tapes what no pop reader uses: a value the adjoint once read
    and simplification made unneeded (``_unreduce(g, t)`` that became ``g``) is no longer
    pushed. A push and pop left empty go. Returns ``fn`` itself when nothing changes."""
    own = {r for s in fn.body if isinstance(s, Op) and s.prim is Prim.TAPE for r in s.results}
    if not own:
        return fn
    used: set[Var] = set(fn.keep) | _vars(out_values(fn.out))
    other_use = _uses(fn.body, used)
    own -= other_use
    try:
        pairs = tapes.pairs(fn)
    except UnsupportedSyntax:
        return fn
    trimmed: dict[int, Op | None] = {}
    for pop in (op for op in pairs.values() if op.prim is Prim.POP and op.args[0] in own):
        keep = [k for k, r in enumerate(pop.results) if r in used]
        if len(keep) == len(pop.results):
            continue
        push = pairs[id(pop)]
        trimmed[id(pop)] = dataclasses.replace(
            pop, results=tuple(pop.results[k] for k in keep)) if keep else None
        trimmed[id(push)] = dataclasses.replace(
            push, args=(push.args[0], *(push.args[1 + k] for k in keep))) if keep else None
    if not trimmed:
        return fn
    return fn.replace(body=_retape(fn.body, trimmed))


def _uses(body: tuple[Stmt, ...], used: set[Var]) -> set[Var]:
    """Adds to ``used`` what ``body`` reads; returns the tapes read other than by a push
    or pop (as values: those are not trimmed)."""
    other: set[Var] = set()
    for stmt in body:
        if isinstance(stmt, Op):
            used.update(_vars(stmt.args))
            if stmt.prim not in (Prim.PUSH, Prim.POP):
                other.update(_vars(stmt.args))
            elif stmt.prim is Prim.PUSH:
                other.update(_vars(stmt.args[1:]))
            continue
        used.update(_vars(values_used_here(stmt)))
        other.update(_vars(values_used_here(stmt)))
        for region in regions_of(stmt):
            other |= _uses(region.body, used)
            used.update(_vars(region.yields))
            other.update(_vars(region.yields))
    return other


def _retape(body: tuple[Stmt, ...], trimmed: dict[int, Op | None]) -> tuple[Stmt, ...]:
    out: list[Stmt] = []
    for stmt in body:
        if isinstance(stmt, Op):
            if id(stmt) in trimmed:
                if trimmed[id(stmt)] is not None:
                    out.append(trimmed[id(stmt)])
                continue
            out.append(stmt)
            continue
        out.append(map_regions(stmt, lambda r: Region(r.params, _retape(r.body, trimmed),
                                                        r.yields)))
    return tuple(out)


def prune(body: tuple[Stmt, ...], live: set[Var]) -> tuple[Stmt, ...]:
    """``body`` cut to what computes ``live`` (and to its effects)."""
    return _body(tuple(body), set(live))


def _vars(values: object) -> set[Var]:
    return {v for v in values if isinstance(v, Var)}


def _body(body: tuple[Stmt, ...], live: set[Var]) -> tuple[Stmt, ...]:
    """Keep what ``live`` needs, walking backwards; adds the operands of kept code to it."""
    kept: list[Stmt] = []
    for stmt in reversed(body):
        if isinstance(stmt, Comment):
            kept.append(stmt)
            continue
        if isinstance(stmt, Op):
            if stmt.effect or any(r in live for r in stmt.results):
                live.update(_vars(stmt.args))
                kept.append(stmt)
            continue
        stmt = _control(stmt, live)
        if stmt is not None:
            kept.append(stmt)
    kept.reverse()
    # a comment heads the code up to the next comment; drop those heading nothing
    return tuple(s for i, s in enumerate(kept)
                 if not isinstance(s, Comment)
                 or (i + 1 < len(kept) and not isinstance(kept[i + 1], Comment)))


def _has_effect(region: Region) -> bool:
    for stmt in region.body:
        if isinstance(stmt, Op) and stmt.effect:
            return True
        if isinstance(stmt, If) and (_has_effect(stmt.then) or _has_effect(stmt.orelse)):
            return True
        if isinstance(stmt, For) and _has_effect(stmt.body):
            return True
        if isinstance(stmt, While) and (_has_effect(stmt.cond) or _has_effect(stmt.body)):
            return True
    return False


def _prune(region: Region, keep: list[int], live_out: set[Var], drop_params: bool,
           first_param: int = 0) -> Region:
    """The region yielding only ``keep`` (indices), its body cut to what they need."""
    yields = tuple(region.yields[k] for k in keep)
    live = set(live_out) | _vars(yields)
    body = _body(region.body, live)
    params = region.params
    if drop_params:
        params = params[:first_param] + tuple(params[first_param + k] for k in keep)
    return Region(params, body, yields)


def _control(stmt: Stmt, live: set[Var]) -> Stmt | None:
    """The control-flow statement cut to its live results, or None if nothing is left."""
    n = len(stmt.results)
    if isinstance(stmt, If):
        keep = [k for k in range(n) if stmt.results[k] in live]
        then = _prune(stmt.then, keep, set(), False)
        orelse = _prune(stmt.orelse, keep, set(), False)
        if not keep and not (_has_effect(then) or _has_effect(orelse)):
            return None
        live.update(_vars((stmt.cond, *region_uses(then), *region_uses(orelse))))
        return dataclasses.replace(stmt, results=tuple(stmt.results[k] for k in keep),
                                   then=then, orelse=orelse)
    first = 1 if isinstance(stmt, For) else 0
    params = stmt.body.params[first:]
    cond_params = stmt.cond.params if isinstance(stmt, While) else ()
    keep = {k for k in range(n) if stmt.results[k] in live}
    while True:  # carried values the live ones (or the condition) need, to a fixed point
        trial = set(live) | _vars(stmt.body.yields[k] for k in keep)
        kept = _body(stmt.body.body, trial)
        if isinstance(stmt, While):
            cond_live = _vars(stmt.cond.yields)
            cond_kept = _body(stmt.cond.body, cond_live)
            trial |= {params[k] for k in range(n) if cond_params[k] in cond_live}
        grown = keep | {k for k in range(n) if params[k] in trial}
        if grown == keep:
            break
        keep = grown
    order = sorted(keep)
    # The last trial's bodies are the pruned ones: it started from the yields kept and
    # the values live after the loop, and no value of the loop's own is read after it
    # (a region's values are its own: ir.verify), so those changed nothing. Pruning the
    # body again cost a third of this pass.
    body = Region(stmt.body.params[:first] + tuple(params[k] for k in order), kept,
                  tuple(stmt.body.yields[k] for k in order))
    if not order and not _has_effect(body):
        return None
    inits = tuple(stmt.inits[k] for k in order)
    results = tuple(stmt.results[k] for k in order)
    if isinstance(stmt, For):
        live.update(_vars((stmt.start, stmt.stop, stmt.step, *inits)))
        live.update(_vars(region_uses(body)))
        return dataclasses.replace(stmt, results=results, inits=inits, body=body)
    cond = Region(tuple(cond_params[k] for k in order), cond_kept, stmt.cond.yields[:1])
    live.update(_vars(inits) | _vars(region_uses(body)) | _vars(region_uses(cond)))
    return dataclasses.replace(stmt, results=results, inits=inits, cond=cond, body=body)
