"""Activity analysis: which values need derivative code.

A value is *varied* when it depends, through differentiable primitives, on an input we
differentiate with respect to; *useful* when an output depends on it the same way; *active*
when both. Comparisons, ``int``, ``//``, ``floor`` break dependence (their derivative is
zero), and so do constants, globals and branch conditions. Through control flow the
analysis runs to a fixed point: a loop-carried value is varied when its initial value or
the value the body yields for it is. Example, differentiating with respect to ``x``::

    a = add x 5        # varied, useful: active
    n = int y          # neither varied nor useful
    b = mul a n        # active (the output)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Comment, For, Function, If, Op, Stmt, Var, While, out_values
from ..primitives import Prim
from . import tapes


@dataclass(frozen=True)
class Activity:
    varied: frozenset[Var]
    useful: frozenset[Var]
    tape_pairs: dict = field(default_factory=dict)  # id(pop) -> push and back (tapes.pairs)

    def active(self, v: object) -> bool:
        return isinstance(v, Var) and v in self.varied and v in self.useful


def analyze(fn: Function, wrt: tuple[Var, ...]) -> Activity:
    matched = tapes.pairs(fn)
    varied: set[Var] = set(wrt)
    while _forward(fn.body, varied, matched):
        pass
    useful: set[Var] = {v for v in out_values(fn.out) if isinstance(v, Var)}
    while _backward(fn.body, useful, matched):
        pass
    return Activity(frozenset(varied), frozenset(useful), matched)


def _add(target: set[Var], values: object) -> bool:
    grew = False
    for v in values:  # type: ignore[attr-defined]
        if isinstance(v, Var) and v not in target:
            target.add(v)
            grew = True
    return grew


def _forward(body: tuple[Stmt, ...], varied: set[Var], matched: dict) -> bool:
    """One sweep in program order; True if anything became varied."""
    changed = False
    for stmt in body:
        if isinstance(stmt, Op):
            if stmt.prim is Prim.POP:  # what comes off a tape is what went on
                push = matched[id(stmt)]
                changed |= _add(varied, (r for r, a in zip(stmt.results, push.args[1:])
                                         if a in varied))
                continue
            spec = stmt.prim.spec
            if spec.active and any(a in varied for k, a in enumerate(stmt.args)
                                   if spec.is_diff(k)):
                changed |= _add(varied, stmt.results)
        elif isinstance(stmt, If):
            changed |= _forward(stmt.then.body, varied, matched) \
                | _forward(stmt.orelse.body, varied, matched)
            for r, a, b in zip(stmt.results, stmt.then.yields, stmt.orelse.yields):
                if a in varied or b in varied:
                    changed |= _add(varied, (r,))
        elif isinstance(stmt, (For, While)):
            body = stmt.body
            params = body.params[1:] if isinstance(stmt, For) else body.params
            regions = (body,) if isinstance(stmt, For) else (stmt.cond, body)
            for k, (init, y) in enumerate(zip(stmt.inits, body.yields)):
                if init in varied or y in varied:
                    targets = [params[k], stmt.results[k]]
                    if isinstance(stmt, While):
                        targets.append(stmt.cond.params[k])
                    changed |= _add(varied, targets)
            for region in regions:
                changed |= _forward(region.body, varied, matched)
        elif not isinstance(stmt, Comment):  # pragma: no cover - the Stmt union is closed
            raise TypeError(stmt)
    return changed


def _backward(body: tuple[Stmt, ...], useful: set[Var], matched: dict) -> bool:
    """One sweep in reverse program order; True if anything became useful."""
    changed = False
    for stmt in reversed(body):
        if isinstance(stmt, Op) and stmt.prim is Prim.PUSH:
            pop = matched[id(stmt)]
            changed |= _add(useful, (a for a, r in zip(stmt.args[1:], pop.results)
                                     if r in useful))
        elif isinstance(stmt, Op):
            spec = stmt.prim.spec
            if spec.active and any(r in useful for r in stmt.results):
                changed |= _add(useful, (a for k, a in enumerate(stmt.args)
                                         if spec.is_diff(k)))
        elif isinstance(stmt, If):
            for r, a, b in zip(stmt.results, stmt.then.yields, stmt.orelse.yields):
                if r in useful:
                    changed |= _add(useful, (a, b))
            changed |= _backward(stmt.then.body, useful, matched) \
                | _backward(stmt.orelse.body, useful, matched)
        elif isinstance(stmt, (For, While)):
            body = stmt.body
            params = body.params[1:] if isinstance(stmt, For) else body.params
            cond_params = stmt.cond.params if isinstance(stmt, While) else params
            for k, y in enumerate(body.yields):
                if stmt.results[k] in useful or params[k] in useful \
                        or cond_params[k] in useful:
                    changed |= _add(useful, (y, params[k], cond_params[k], stmt.results[k],
                                             stmt.inits[k]))
            if isinstance(stmt, While):
                changed |= _backward(stmt.cond.body, useful, matched)
            changed |= _backward(body.body, useful, matched)
    return changed
