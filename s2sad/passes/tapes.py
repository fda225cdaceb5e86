"""Which ``tape.pop()`` takes back which ``tape.append(...)``: the pairing that lets the
compiler differentiate code that keeps a tape (its own reverse-mode output, or a user's).

A tape is a stack. In code that pushes in its forward sweep and pops in its backward
sweep, the pops mirror the pushes: listed in program order, the last pop takes back the
first push, the first pop the last push, at every depth of nesting::

    for i in range(n):              # push 1: tape.append(a)
        tape.append(a)
        ...
    for i in reversed(range(n)):    # pop 1 takes back push 1
        a_1 = tape.pop()

Anything else (a different count, a pop of a different size) is reported, since the
values' derivatives could not be matched up.
"""

from __future__ import annotations

from ..errors import UnsupportedSyntax
from ..ir import Function, Op, Stmt, Value, Var, regions_of
from ..primitives import Prim


def pairs(fn: Function) -> dict[int, Op]:
    """``id(pop) -> push`` and ``id(push) -> pop`` for every tape of ``fn``."""
    pushes: dict[Var, list[Op]] = {}
    pops: dict[Var, list[Op]] = {}
    _collect(fn.body, pushes, pops)
    matched: dict[int, Op] = {}
    for tape in set(pushes) | set(pops):
        ins, outs = pushes.get(tape, []), pops.get(tape, [])
        if len(ins) != len(outs):
            at = (outs or ins)[0]
            raise UnsupportedSyntax.at(
                at.loc, f"the tape `{tape.base}` is pushed in {len(ins)} place(s) and popped "
                f"in {len(outs)}; to differentiate through a tape, every pop must take back "
                f"one push, in reverse order")
        for push, pop in zip(ins, reversed(outs)):
            if len(push.args) - 1 != len(pop.results):
                raise UnsupportedSyntax.at(
                    pop.loc, f"this pop takes {len(pop.results)} value(s) from `{tape.base}` "
                    f"but the push it takes back stored {len(push.args) - 1}")
            matched[id(pop)] = push
            matched[id(push)] = pop
    return matched


def given_back(fn: Function) -> dict[Var, Value]:
    """Each value a pop gives back -> what its push put there; empty where the tapes do not
    pair up (the passes that need the pairing report that)."""
    try:
        matched = pairs(fn)
    except UnsupportedSyntax:
        return {}
    return {popped: pushed for op in matched.values() if op.prim is Prim.POP
            for popped, pushed in zip(op.results, matched[id(op)].args[1:])}


def _collect(body: tuple[Stmt, ...], pushes: dict, pops: dict) -> None:
    for stmt in body:
        if isinstance(stmt, Op) and stmt.prim is Prim.PUSH:
            pushes.setdefault(stmt.args[0], []).append(stmt)
        elif isinstance(stmt, Op) and stmt.prim is Prim.POP:
            pops.setdefault(stmt.args[0], []).append(stmt)
        for region in regions_of(stmt):
            _collect(region.body, pushes, pops)
