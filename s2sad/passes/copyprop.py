"""Copy propagation, keeping names.

* ``%t = copy v``: uses of ``%t`` read ``v``; the copy goes.
* ``n = copy %t``, where ``%t`` is computed by an earlier op of the same block and read only
  here: that op computes ``n`` directly; the copy goes. This is how a rule's last temporary
  receives the name the notes give it::

      %4 = mul y dbdb                 dbda = mul y dbdb
      dbda = copy %4          ->

* ``n = copy m`` between two named values stays: ``dbdx = dbda`` is a line of the listing.
"""

from __future__ import annotations

from collections import Counter

from ..ir import (
    Function,
    Op,
    Region,
    Stmt,
    Value,
    Var,
    map_regions,
    out_values,
    substitute_function,
    values_used,
)
from ..primitives import Prim


def run(fn: Function) -> Function:
    mapping: dict[Var, Value] = {}
    fn = substitute_function(fn.replace(body=_drop_temp_copies(fn.body, mapping)), mapping)
    uses = Counter(v for stmt in fn.body for v in values_used(stmt) if isinstance(v, Var))
    uses.update(v for v in out_values(fn.out) if isinstance(v, Var))
    uses.update(fn.keep)
    return fn.replace(body=_name_temps(fn.body, uses))


def _drop_temp_copies(body: tuple[Stmt, ...], mapping: dict[Var, Value]) -> tuple[Stmt, ...]:
    kept: list[Stmt] = []
    for stmt in body:
        if isinstance(stmt, Op):
            if stmt.prim is Prim.COPY and stmt.result.is_temp:
                (source,) = stmt.args
                mapping[stmt.result] = mapping.get(source, source)
                continue
        else:
            stmt = map_regions(stmt, lambda r: Region(
                r.params, _drop_temp_copies(r.body, mapping), r.yields))
        kept.append(stmt)
    return tuple(kept)


def _name_temps(body: tuple[Stmt, ...], uses: Counter) -> tuple[Stmt, ...]:
    """Fold ``n = copy %t`` into the op defining a single-use ``%t`` in the same block."""
    position = {stmt.results[0]: i for i, stmt in enumerate(body)
                if isinstance(stmt, Op) and len(stmt.results) == 1 and not stmt.effect}
    new_body: list[Stmt | None] = list(body)
    for i, stmt in enumerate(body):
        if not isinstance(stmt, Op):
            new_body[i] = map_regions(stmt, lambda r: Region(
                r.params, _name_temps(r.body, uses), r.yields))
            continue
        if stmt.prim is not Prim.COPY or stmt.result.is_temp:
            continue
        (source,) = stmt.args
        if isinstance(source, Var) and source.is_temp and uses[source] == 1 \
                and source in position:
            j = position[source]
            defining = new_body[j]
            new_body[j] = Op(stmt.results, defining.prim, defining.args, defining.params,
                             defining.loc)
            new_body[i] = None
    return tuple(s for s in new_body if s is not None)

