"""Dead code elimination.

Removes ops whose results nothing returned or kept reads, directly or through other ops,
and the ``# adjoint of`` comments left heading no code::

    a = add x 5                 a = add x 5
    %2 = mul x dbdb     ->      return a
    return a
"""

from __future__ import annotations

from ..errors import InternalError
from ..ir import Comment, Function, Op, Stmt, Var, out_values


def run(fn: Function) -> Function:
    live: set[Var] = {v for v in out_values(fn.out) if isinstance(v, Var)} | set(fn.keep)
    kept: list[Stmt] = []
    for stmt in reversed(fn.body):
        if isinstance(stmt, Comment):
            kept.append(stmt)
        elif isinstance(stmt, Op):
            if any(r in live for r in stmt.results):
                live.update(a for a in stmt.args if isinstance(a, Var))
                kept.append(stmt)
        else:
            raise InternalError(f"dead code elimination got control flow "
                                f"({type(stmt).__name__}), which the frontend does not "
                                f"produce yet")
    kept.reverse()
    # a comment heads the code up to the next comment; drop those heading nothing
    body = [s for i, s in enumerate(kept)
            if not isinstance(s, Comment) or (i + 1 < len(kept)
                                               and not isinstance(kept[i + 1], Comment))]
    return fn.replace(body=tuple(body))
