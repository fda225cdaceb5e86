"""Forward mode: interleave each primal op with the op(s) computing its tangent.

Takes a function and the positions of the parameters to differentiate; returns
``jvp_f(*params, *tangents) -> (out, tangent of out)``. Each active named value gets a named
tangent (``dadx`` for one input ``x``; the differential ``da`` for several), as the
dual-number listing in the notes does. Memory is O(1) beyond the primal: nothing is stored::

    def foo(x, y):          def jvp_foo(x, y, dxdx):
        a = add x 5             a = add x 5
        b = mul a y             dadx = copy dxdx
        return b                b = mul a y
                                dbdx = mul dadx y
                                return (b, dbdx)
"""

from __future__ import annotations

from .. import naming
from ..ir import Function, Names, Op, Param, Value, Var, map_out
from ..primitives import Prim
from ..rules import TANGENT, Builder
from . import activity


def run(fn: Function, wrt: tuple[int, ...]) -> Function:
    wrt_vars = tuple(fn.params[i].var for i in wrt)
    facts = activity.analyze(fn, wrt_vars)
    names = Names.of(fn)

    def tangent_name(v: Var) -> str:
        if len(wrt_vars) == 1:
            return naming.ratio(v.base, wrt_vars[0].base)
        return naming.differential(v.base)

    tangent: dict[Var, Value] = {p: names.fresh(tangent_name(p)) for p in wrt_vars}
    build = Builder(names)
    for stmt in fn.body:
        build.stmts.append(stmt)
        if not (isinstance(stmt, Op) and facts.active(stmt.result)):
            continue
        r = build.sym(stmt.result)
        args = [build.sym(a) for a in stmt.args]
        parts = [rule(build.sym(tangent[a]), r, *args)
                 for rule, a in zip(TANGENT[stmt.prim], stmt.args) if a in tangent]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        value = total.value
        if not stmt.result.is_temp:  # a named value gets a named tangent
            value = build.op(Prim.COPY, value, name=names.fresh(tangent_name(stmt.result)))
        tangent[stmt.result] = value

    def tangent_of(v: Value) -> Value:
        if isinstance(v, Var) and v in tangent:
            return tangent[v]
        return build.op(Prim.ZEROS_LIKE, v)

    out_tangent = map_out(fn.out, tangent_of)
    positional = [Param(p.var) for p in fn.params if not p.kwonly]
    keyword = [p for p in fn.params if p.kwonly]
    seeds = [Param(tangent[p]) for p in wrt_vars]
    return Function(f"jvp_{fn.name}", tuple(positional + seeds + keyword),
                    tuple(build.stmts), (fn.out, out_tangent), (), fn.loc)
