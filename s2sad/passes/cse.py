"""Common subexpression elimination: an op that computes what an earlier op computed, from
the same operands, is not computed again.

The earlier op must be in the same block or an enclosing one (it has run whenever the
later one runs). Only temporaries are replaced: a value the user named keeps its line::

    %1 = math.log w1            %1 = math.log w1
    %2 = mul w2 %1              %2 = mul w2 %1
    %3 = math.log w1     ->     (%3 reads %1)
    %4 = mul w2 %3              (%4 reads %2)
"""

from __future__ import annotations

from ..ir import (
    Comment,
    Function,
    Op,
    Region,
    Stmt,
    Value,
    Var,
    map_regions,
    substitute_function,
)
from ..primitives import Prim

_IMPURE = {Prim.CALL, Prim.TAPE, Prim.PUSH, Prim.POP}


def run(fn: Function) -> Function:
    mapping: dict[Var, Value] = {}
    body = _body(fn.body, {}, mapping)
    return substitute_function(fn.replace(body=body), mapping)


def _body(stmts: tuple[Stmt, ...], seen: dict, mapping: dict[Var, Value]
          ) -> tuple[Stmt, ...]:
    out: list[Stmt] = []
    for stmt in stmts:
        if isinstance(stmt, Op):
            if any(a in mapping for a in stmt.args if isinstance(a, Var)):  # else as it is
                stmt = Op(stmt.results, stmt.prim, tuple(
                    mapping.get(a, a) if isinstance(a, Var) else a for a in stmt.args),
                    stmt.params, stmt.loc)
            args = stmt.args
            if len(stmt.results) == 1 and stmt.prim not in _IMPURE and not stmt.effect \
                    and stmt.prim is not Prim.COPY:
                key = (stmt.prim, args, stmt.params)
                try:
                    earlier = seen.get(key)
                except TypeError:  # an unhashable constant: leave it
                    earlier = None
                    key = None
                if earlier is not None and stmt.result.is_temp:
                    mapping[stmt.result] = earlier
                    continue
                if key is not None and earlier is None:
                    seen[key] = stmt.result
        elif not isinstance(stmt, Comment):
            stmt = map_regions(stmt, lambda r: Region(
                r.params, _body(r.body, dict(seen), mapping), r.yields))
        out.append(stmt)
    return tuple(out)
