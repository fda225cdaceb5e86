"""Copy propagation, keeping names.

* ``%t = copy v``: uses of ``%t`` read ``v``; the copy goes.
* ``n = copy %t``, where ``%t`` is computed by an earlier op and read only here: that op
  computes ``n`` directly; the copy goes. This is how a rule's last temporary receives
  the name the notes give it::

      %4 = mul y dbdb                 dbda = mul y dbdb
      dbda = copy %4          ->

* ``n = copy m`` between two named values stays: ``dbdx = dbda`` is a line of the listing.
"""

from __future__ import annotations

from collections import Counter

from ..ir import Function, Op, Stmt, Value, Var, out_values, substitute_function, values_used
from ..primitives import Prim


def run(fn: Function) -> Function:
    # 1. copies into temporaries
    mapping: dict[Var, Value] = {}
    body: list[Stmt] = []
    for stmt in fn.body:
        if isinstance(stmt, Op):
            args = tuple(mapping.get(a, a) if isinstance(a, Var) else a for a in stmt.args)
            stmt = Op(stmt.results, stmt.prim, args, stmt.params, stmt.loc)
            if stmt.prim is Prim.COPY and stmt.result.is_temp:
                mapping[stmt.result] = stmt.args[0]
                continue
        body.append(stmt)
    fn = substitute_function(fn.replace(body=tuple(body)), mapping)

    # 2. named copies of single-use temporaries: name the temporary's op instead
    uses = Counter(v for stmt in fn.body for v in values_used(stmt) if isinstance(v, Var))
    uses.update(v for v in out_values(fn.out) if isinstance(v, Var))
    uses.update(fn.keep)
    position = {stmt.result: i for i, stmt in enumerate(fn.body)
                if isinstance(stmt, Op) and len(stmt.results) == 1}
    new_body = list(fn.body)
    for i, stmt in enumerate(fn.body):
        if not (isinstance(stmt, Op) and stmt.prim is Prim.COPY):
            continue
        (source,) = stmt.args
        if isinstance(source, Var) and source.is_temp and uses[source] == 1 \
                and source in position and not stmt.result.is_temp:
            j = position[source]
            defining = new_body[j]
            new_body[j] = Op(stmt.results, defining.prim, defining.args, defining.params,
                             defining.loc)
            new_body[i] = None
    return fn.replace(body=tuple(s for s in new_body if s is not None))
