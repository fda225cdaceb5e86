"""Forward mode: interleave each primal op with the op(s) computing its tangent.

Takes a function and the positions of the parameters to differentiate; returns
``jvp_f(*params, *tangents) -> (out, tangent of out)``. Each active named value gets a named
tangent (``dadx`` for one input ``x``; the differential ``da`` for several), as the
dual-number listing in the notes does. Through control flow a tangent travels beside its
value: an ``if`` yields the tangents of its active results from each branch, a loop carries
the tangents of its active carried values. Nothing is stored, so memory stays O(1) beyond
the primal::

    def foo(x, y):          def jvp_foo(x, y, dxdx):
        a = add x 5             a = add x 5
        b = mul a y             dadx = copy dxdx
        return b                b = mul a y
                                dbdx = mul dadx y
                                return (b, dbdx)
"""

from __future__ import annotations

import dataclasses

from .. import naming
from ..ir import (
    Comment,
    Const,
    For,
    Function,
    If,
    Names,
    Op,
    Param,
    Region,
    Stmt,
    Value,
    Var,
    While,
    map_out,
)
from ..primitives import Prim
from ..rules import TANGENT, Builder
from . import activity

ZERO = Const(0.0)


def run(fn: Function, wrt: tuple[int, ...]) -> Function:
    wrt_vars = tuple(fn.params[i].var for i in wrt)
    pass_ = _Forward(fn, wrt_vars)
    seeds = [Param(pass_.tangent[p]) for p in wrt_vars]
    build = Builder(pass_.names)
    build.stmts.extend(pass_.body(fn.body))

    def tangent_of(v: Value) -> Value:
        if isinstance(v, Var) and v in pass_.tangent:
            return pass_.tangent[v]
        return build.op(Prim.ZEROS_LIKE, v)

    out_tangent = map_out(fn.out, tangent_of)
    positional = [Param(p.var) for p in fn.params if not p.kwonly]
    keyword = [p for p in fn.params if p.kwonly]
    return Function(f"jvp_{fn.name}", tuple(positional + seeds + keyword),
                    tuple(build.stmts), (fn.out, out_tangent), (), fn.loc)


class _Forward:
    def __init__(self, fn: Function, wrt: tuple[Var, ...]) -> None:
        self.facts = activity.analyze(fn, wrt)
        self.names = Names.of(fn)
        self.wrt = wrt
        self.tangent: dict[Var, Value] = {p: self.names.fresh(self.tangent_name(p)) for p in wrt}

    def tangent_name(self, v: Var) -> str:
        if v.is_temp:
            return v.name
        if len(self.wrt) == 1:
            return naming.ratio(v.base, self.wrt[0].base)
        return naming.differential(v.base)

    def fresh_tangent(self, v: Var) -> Var:
        return self.names.fresh(self.tangent_name(v))

    def of(self, v: Value) -> Value:
        """The tangent of ``v``; a symbolic zero where it has none."""
        return self.tangent.get(v, ZERO) if isinstance(v, Var) else ZERO

    def body(self, stmts: tuple[Stmt, ...]) -> list[Stmt]:
        build = Builder(self.names)
        for stmt in stmts:
            if isinstance(stmt, Op):
                build.stmts.append(stmt)
                if self.facts.active(stmt.results[0] if stmt.results else None):
                    self.op(stmt, build)
            elif isinstance(stmt, Comment):
                build.stmts.append(stmt)
            elif isinstance(stmt, If):
                build.stmts.append(self.branch(stmt))
            else:
                build.stmts.append(self.loop(stmt))
        return build.stmts

    def op(self, stmt: Op, build: Builder) -> None:
        r = build.sym(stmt.result)
        args = [build.sym(a) for a in stmt.args]
        parts = [rule(build.sym(self.tangent[a]), r, *args)
                 for rule, a in zip(TANGENT[stmt.prim], stmt.args) if a in self.tangent]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        value = total.value
        if not stmt.result.is_temp:  # a named value gets a named tangent
            value = build.op(Prim.COPY, value, name=self.fresh_tangent(stmt.result))
        self.tangent[stmt.result] = value

    def region(self, region: Region, extra_params: tuple[Var, ...],
               extra_yields: list[Value]) -> Region:
        """The region with its tangent code; ``extra_yields`` are read after its body."""
        body = self.body(region.body)
        yields = [self.of(v) for v in extra_yields]
        return Region(region.params + extra_params, tuple(body), region.yields + tuple(yields))

    def branch(self, stmt: If) -> If:
        active = [k for k, r in enumerate(stmt.results) if self.facts.active(r)]
        then = self.region(stmt.then, (), [stmt.then.yields[k] for k in active])
        orelse = self.region(stmt.orelse, (), [stmt.orelse.yields[k] for k in active])
        results = tuple(self.fresh_tangent(stmt.results[k]) for k in active)
        for k, t in zip(active, results):
            self.tangent[stmt.results[k]] = t
        return dataclasses.replace(stmt, results=stmt.results + results, then=then,
                                   orelse=orelse)

    def loop(self, stmt: For | While) -> For | While:
        first = 1 if isinstance(stmt, For) else 0
        params = stmt.body.params[first:]
        active = [k for k, r in enumerate(stmt.results) if self.facts.active(r)
                  or self.facts.active(params[k])]
        inits = tuple(self.of(stmt.inits[k]) for k in active)
        body_params = tuple(self.fresh_tangent(params[k]) for k in active)
        self.tangent.update({params[k]: t for k, t in zip(active, body_params)})
        cond = None
        if isinstance(stmt, While):
            cond_params = tuple(self.fresh_tangent(stmt.cond.params[k]) for k in active)
            self.tangent.update({stmt.cond.params[k]: t for k, t in zip(active, cond_params)})
            cond = Region(stmt.cond.params + cond_params, stmt.cond.body, stmt.cond.yields)
        body = self.region(stmt.body, body_params, [stmt.body.yields[k] for k in active])
        results = tuple(self.fresh_tangent(stmt.results[k]) for k in active)
        self.tangent.update({stmt.results[k]: t for k, t in zip(active, results)})
        new = dataclasses.replace(stmt, results=stmt.results + results,
                                  inits=stmt.inits + inits, body=body)
        return new if cond is None else dataclasses.replace(new, cond=cond)
