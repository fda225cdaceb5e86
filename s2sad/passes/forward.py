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
from ..rules import MULTI_TANGENT, TANGENT, Builder
from . import activity, shapes
from .reverse import _no_list_arithmetic as no_list_arithmetic
from .reverse import _no_rule as reverse_no_rule

ZERO = Const(0.0)
_STRUCTURAL = {Prim.SETITEM, Prim.INDEX_ADD, Prim.LIST, Prim.TUPLE, Prim.APPEND, Prim.CALL}
# primitives whose tangent rules may leave out an operand's shape (d(x + y) = dx)
_PASS_THROUGH = {Prim.ADD, Prim.SUB, Prim.NP_ADD, Prim.NP_SUBTRACT}


def run(fn: Function, wrt: tuple[int, ...], calls=None) -> Function:
    """``calls``: the derivatives of user functions called (``calls.Calls``)."""
    wrt_vars = tuple(fn.params[i].var for i in wrt)
    pass_ = _Forward(fn, wrt_vars, shapes.analyze(fn))
    pass_.calls = calls
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
    def __init__(self, fn: Function, wrt: tuple[Var, ...], shape_facts: shapes.Shapes
                 ) -> None:
        self.facts = activity.analyze(fn, wrt)
        self.shapes = shape_facts
        self.numpy_values = set(shape_facts.numpy_values)  # grows with the rules' results
        self.names = Names.of(fn)
        self.wrt = wrt
        self.tangent: dict[Var, Value] = {p: self.names.fresh(self.tangent_name(p)) for p in wrt}
        self.loops = 0  # loops around the code being differentiated

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
            if isinstance(stmt, Op) and stmt.prim in (Prim.PUSH, Prim.POP):
                build.stmts.append(self.tape_op(stmt, build))
            elif isinstance(stmt, Op):
                build.stmts.append(stmt)
                if any(self.facts.active(r) for r in stmt.results):
                    self.op(stmt, build)
                elif stmt.prim is Prim.CALL:  # no tangent: the plain call stays
                    self.calls.primal(dict(stmt.params)["fn"].value)
            elif isinstance(stmt, Comment):
                build.stmts.append(stmt)
            elif isinstance(stmt, If):
                build.stmts.append(self.branch(stmt))
            else:
                build.stmts.append(self.loop(stmt, build))
        return build.stmts

    def op(self, stmt: Op, build: Builder) -> None:
        spec = stmt.prim.spec
        build.family = "math" if stmt.prim.value.startswith("math.") or (
            spec.call is None and all(self.shapes.scalar(a) for a in stmt.args)) else "np"
        build.numpy = stmt.prim.value.startswith("np.")  # NumPy's inf and nan in its rule
        build.numpy_values = self.numpy_values
        params = {k: v.value for k, v in stmt.params}
        no_list_arithmetic(stmt, self.shapes)
        args = [build.sym(a) for a in stmt.args]
        has = [spec.is_diff(k) and isinstance(a, Var) and a in self.tangent
               for k, a in enumerate(stmt.args)]
        if stmt.prim not in TANGENT and stmt.prim not in MULTI_TANGENT \
                and stmt.prim not in _STRUCTURAL:
            raise reverse_no_rule(stmt)
        if stmt.prim is Prim.CALL:  # jvp_g(a, b, da) -> (r, dr)
            build.stmts.pop()  # the call itself: jvp_g computes the values too
            wrt = tuple(k for k, h in enumerate(has) if h)
            tangents = tuple(self.fresh_tangent(r) for r in stmt.results)
            name = self.calls.jvp(params["fn"], wrt)
            build.stmts.append(Op(stmt.results + tangents, Prim.CALL,
                                  (*stmt.args, *(self.tangent[stmt.args[k]] for k in wrt)),
                                  (("fn", Const(name)),), stmt.loc))
            self.tangent.update(zip(stmt.results, tangents))
            return
        if len(stmt.results) > 1 or stmt.prim in MULTI_TANGENT:
            ds = tuple(build.sym(self.tangent[a]) if h else None
                       for a, h in zip(stmt.args, has))
            outs = MULTI_TANGENT[stmt.prim](ds, tuple(map(build.sym, stmt.results)), *args,
                                            **params)
            for result, t in zip(stmt.results, outs):
                if t is not None and self.facts.active(result):
                    self.name_tangent(result, t.value, build)
            return
        if stmt.prim in (Prim.SETITEM, Prim.INDEX_ADD):
            self.name_tangent(stmt.result, self.indexed_write(stmt, has, build), build)
            return
        if stmt.prim in (Prim.LIST, Prim.TUPLE, Prim.APPEND):  # the items' tangents
            items = [self.tangent[a] if h else self.zero_of(a, build)
                     for a, h in zip(stmt.args, has)]
            self.name_tangent(stmt.result, build.op(stmt.prim, *items), build)
            return
        r = build.sym(stmt.result)
        parts = [rule(build.sym(self.tangent[a]), r, *args, **params)
                 for rule, a, h in zip(TANGENT[stmt.prim], stmt.args, has)
                 if h and rule is not None]
        if not parts:  # varied only through operands without a derivative
            self.name_tangent(stmt.result, self.zero_of(stmt.result, build), build)
            return
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        value = total.value
        if stmt.prim in _PASS_THROUGH and not all(has) and not any(
                self.shapes.same_shape(stmt, j) for j in range(len(has)) if has[j]):
            value = build.op(Prim.BROADCAST_LIKE, value, stmt.result)
        self.name_tangent(stmt.result, value, build)

    def tape_op(self, stmt: Op, build: Builder) -> Op:
        """A tape carries the tangents of what it carries: ``tape.append((a, da))`` and
        ``a, da = tape.pop()``, for the positions whose popped value is active."""
        pop = stmt if stmt.prim is Prim.POP else self.facts.tape_pairs[id(stmt)]
        carried = [k for k, r in enumerate(pop.results) if self.facts.active(r)]
        if not carried:
            return stmt
        if stmt.prim is Prim.PUSH:
            values = stmt.args[1:]
            extra = tuple(self.zero_of(values[k], build) for k in carried)
            return Op((), Prim.PUSH, stmt.args + extra, stmt.params, stmt.loc)
        tangents = tuple(self.fresh_tangent(stmt.results[k]) for k in carried)
        for k, t in zip(carried, tangents):
            self.tangent[stmt.results[k]] = t
        return Op(stmt.results + tangents, Prim.POP, stmt.args, stmt.params, stmt.loc)

    def name_tangent(self, result: Var, value: Value, build: Builder) -> None:
        if not result.is_temp:  # a named value gets a named tangent
            value = build.op(Prim.COPY, value, name=self.fresh_tangent(result))
        self.tangent[result] = value

    def indexed_write(self, stmt: Op, has: list[bool], build: Builder) -> Value:
        """``x.1 = setitem x v i`` has tangent ``setitem dx dv i`` (zeros where none)."""
        x, v, *where = stmt.args
        # np.zeros_like reads best; in a loop, where its overhead adds up, _zeros
        zeros = Prim.ZEROS_LIKE if self.shapes.is_list(x) \
            else Prim.ZEROS if self.loops else Prim.NP_ZEROS_LIKE
        dx = self.tangent[x] if has[0] else build.op(zeros, x)
        dv = self.tangent[v] if has[1] else ZERO
        return build.op(stmt.prim, dx, dv, *where, params={k: c.value for k, c in stmt.params})

    def zero_of(self, v: Value, build: Builder) -> Value:
        if isinstance(v, Var) and v in self.tangent:
            return self.tangent[v]
        if self.shapes.scalar(v):
            return ZERO
        return build.op(Prim.ZEROS_LIKE, v)

    def region(self, region: Region, extra_params: tuple[Var, ...],
               extra_yields: list[Value]) -> Region:
        """The region with its tangent code; ``extra_yields`` are read after its body."""
        body = self.body(region.body)
        fill = Builder(self.names)
        yields = [self.zero_of(v, fill) for v in extra_yields]
        return Region(region.params + extra_params, tuple(body + fill.stmts),
                      region.yields + tuple(yields))

    def branch(self, stmt: If) -> If:
        active = [k for k, r in enumerate(stmt.results) if self.facts.active(r)]
        then = self.region(stmt.then, (), [stmt.then.yields[k] for k in active])
        orelse = self.region(stmt.orelse, (), [stmt.orelse.yields[k] for k in active])
        results = tuple(self.fresh_tangent(stmt.results[k]) for k in active)
        for k, t in zip(active, results):
            self.tangent[stmt.results[k]] = t
        return dataclasses.replace(stmt, results=stmt.results + results, then=then,
                                   orelse=orelse)

    def loop(self, stmt: For | While, build: Builder) -> For | While:
        first = 1 if isinstance(stmt, For) else 0
        params = stmt.body.params[first:]
        active = [k for k, r in enumerate(stmt.results) if self.facts.active(r)
                  or self.facts.active(params[k])]
        inits = tuple(self.zero_of(stmt.inits[k], build) for k in active)
        body_params = tuple(self.fresh_tangent(params[k]) for k in active)
        self.tangent.update({params[k]: t for k, t in zip(active, body_params)})
        cond = None
        if isinstance(stmt, While):
            cond_params = tuple(self.fresh_tangent(stmt.cond.params[k]) for k in active)
            self.tangent.update({stmt.cond.params[k]: t for k, t in zip(active, cond_params)})
            cond = Region(stmt.cond.params + cond_params, stmt.cond.body, stmt.cond.yields)
        self.loops += 1
        body = self.region(stmt.body, body_params, [stmt.body.yields[k] for k in active])
        self.loops -= 1
        results = tuple(self.fresh_tangent(stmt.results[k]) for k in active)
        self.tangent.update({stmt.results[k]: t for k, t in zip(active, results)})
        new = dataclasses.replace(stmt, results=stmt.results + results,
                                  inits=stmt.inits + inits, body=body)
        return new if cond is None else dataclasses.replace(new, cond=cond)
