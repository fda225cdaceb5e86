"""Activity analysis: which values need derivative code.

A value is *varied* when it depends, through differentiable primitives, on an input we
differentiate with respect to; *useful* when an output depends on it the same way; *active*
when both. Comparisons, ``int``, ``//``, ``floor`` break dependence (their derivative is
zero), and so do constants and globals. Example, differentiating with respect to ``x``::

    a = add x 5        # varied, useful: active
    n = int y          # neither varied nor useful
    b = mul a n        # active (the output)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InternalError
from ..ir import Comment, Function, Op, Var, out_values


@dataclass(frozen=True)
class Activity:
    varied: frozenset[Var]
    useful: frozenset[Var]

    def active(self, v: object) -> bool:
        return isinstance(v, Var) and v in self.varied and v in self.useful


def analyze(fn: Function, wrt: tuple[Var, ...]) -> Activity:
    ops = _straight_line(fn)
    varied = set(wrt)
    for op in ops:
        if op.prim.spec.active and any(a in varied for a in op.args):
            varied.update(op.results)
    useful = {v for v in out_values(fn.out) if isinstance(v, Var)}
    for op in reversed(ops):
        if op.prim.spec.active and any(r in useful for r in op.results):
            useful.update(a for a in op.args if isinstance(a, Var))
    return Activity(frozenset(varied), frozenset(useful))


def _straight_line(fn: Function) -> list[Op]:
    ops = []
    for stmt in fn.body:
        if isinstance(stmt, Op):
            ops.append(stmt)
        elif not isinstance(stmt, Comment):
            raise InternalError(f"activity analysis got control flow ({type(stmt).__name__}),"
                                " which the frontend does not produce yet")
    return ops
