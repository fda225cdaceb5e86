"""Reverse mode: run the primal, then walk it backwards accumulating adjoints.

Takes a function and the positions of the parameters to differentiate; returns
``vjp_f(*params[, cotangent]) -> (out, gradients)``. The adjoint of the output is seeded
with ``1.0`` (a gradient) or with a parameter (a vector-Jacobian product), named ``dbdb``
for an output ``b``. Walking the primal ops in reverse, each op's adjoint rule turns the
adjoint of its result into contributions to its operands:

* the first contribution to a value is kept as it is (no zero is ever initialised);
* later ones are added in, each sum a new SSA version of the adjoint (``dbda``, ``dbda.1``,
  emitted as ``dbda = dbda + t2``);
* when the walk reaches the op defining a named value, a ``# adjoint of: ...`` comment
  opens that op's block, and the value's adjoint, now complete, gets its adjoint name
  (``dbda``) if it has none yet.

Control flow and the tape. Code outside loops runs once, so every primal value is still
there when the adjoint reads it: nothing is stored. Inside a loop body the values of one
iteration are overwritten by the next, so:

* **what goes on the tape**: exactly the values of a loop body (its carried values at the
  start of the iteration, and what the body computes, the results of nested ``if``s
  included) that the adjoint of the body reads, and a ``while`` loop's trip count when the
  loop is itself inside a loop. Nothing else: a value the adjoint does not read, or one
  defined outside the loop, is never pushed.
* **when it is pushed**: carried values at the start of each iteration, computed values at
  its end, each group as one ``tape.append`` (a tuple when several). When a nested loop
  pushes too, everything is pushed at the end, so pushes and pops stay nested.
* **when it is popped**: at the start of each iteration of the adjoint loop, which runs the
  iterations backwards (``reversed(range(...))``; a ``while`` loop counts its trips and the
  adjoint runs that many). Pops mirror pushes exactly.

A loop marked ``checkpoint`` (``passes/checkpoint.py``) is not taped at all: its body
becomes a function running a segment of its iterations and a function reversing one
segment (the scheme above, inside it), and its adjoint is one call of ``_checkpointed``,
which runs segments again from stored states on a binomial schedule (``helpers.py``). Its
first state and the values its body reads from outside are what that call reads, so a
checkpointed loop inside a taped loop puts just those on the outer tape.

A branch decision needs no tape of its own: the adjoint ``if`` tests the primal condition,
which is a value like any other (taped when inside a loop). Values computed inside a branch
that its adjoint reads leave the ``if`` as extra results (``None`` from the other branch).
Adjoints of values defined outside an ``if`` or a loop and changed inside it leave as
results of the adjoint ``if`` / carried values of the adjoint loop.

    def foo(x, y):          def vjp_foo(x, y):
        a = add x 5             a = add x 5
        b = mul a y             b = mul a y
        return b                dbdb = copy 1.0
                                # adjoint of: b = mul a y
                                dbda = mul y dbdb
                                dbdy = mul a dbdb
                                # adjoint of: a = add x 5
                                dbdx = copy dbda
                                return (b, (dbdx, dbdy))
"""

from __future__ import annotations

import dataclasses
import functools

from .. import index, naming
from ..errors import NoDerivativeRule, UnsupportedSyntax
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
    defined_inside,
    out_values,
    region_uses,
    regions_of,
    results_of,
    substitute,
    values_used,
)
from ..primitives import Prim
from ..rules import ADJOINT, MULTI_ADJOINT, Builder, _params
from . import activity, dce, factor, shapes

ZERO = Const(0.0)


def run(fn: Function, wrt: tuple[int, ...], cotangent: bool = False,
        wrt_is_tuple: bool = True, calls=None, scalars: tuple[Var, ...] = (),
        facts: shapes.Shapes | None = None) -> Function:
    """``cotangent``: seed with a parameter (vjp) instead of 1.0 (grad); a function that
    returns several values takes one cotangent per value.

    ``wrt_is_tuple``: return the gradients as a tuple, or the single gradient alone.
    ``calls``: the derivatives of user functions called (``calls.Calls``).
    ``scalars``: values known to be numbers (a checkpointed loop's, known to its caller).
    ``facts``: the shapes of ``fn``'s values, where the caller has them (``primal_shapes``).
    """
    wrt_vars = tuple(fn.params[i].var for i in wrt)
    out = fn.out
    outs = out if cotangent and isinstance(out, tuple) else (out,)
    if any(isinstance(o, tuple) for o in outs):
        raise UnsupportedSyntax.at(fn.loc, f"`{fn.name}` returns nested tuples; return a "
                                   "flat tuple of values")
    out_name = out.base if isinstance(out, Var) and not out.is_temp else fn.name
    if facts is None:
        facts = primal_shapes(fn, cotangent, scalars)
    sweep = _Reverse(fn, wrt_vars, out_name, facts, calls)
    if len(outs) == 1:
        seeds = (sweep.names.fresh(naming.ratio(out_name, out_name)),)
    else:  # one cotangent per output, named after it (or after its position)
        seeds = tuple(sweep.names.fresh(naming.differential(
            o.base if isinstance(o, Var) and not o.is_temp else f"out{k}"))
            for k, o in enumerate(outs))
    seed = seeds[0]
    top = _Scope()
    sums = Builder(sweep.names)  # a value returned twice gets both cotangents
    for o, s in zip(outs, seeds):
        if isinstance(o, Var) and sweep.facts.active(o):
            top.adjoint[o] = top.named[o] = \
                sums.op(Prim.ADD, top.adjoint[o], s) if o in top.adjoint else s
    primal, adjoint = sweep.sweep(fn.body, top)
    adjoint = sums.stmts + list(adjoint)

    build = Builder(sweep.names)
    if sweep.tape is not None:
        build.op(Prim.TAPE, name=sweep.tape)
    for adjoint_tape in sweep.adjoint_tapes.values():
        build.op(Prim.TAPE, name=adjoint_tape)
    build.stmts.extend(primal)
    if not cotangent:
        build.op(Prim.COPY, Const(1.0), name=seed)
    build.stmts.extend(adjoint)
    grads = []
    for p in wrt_vars:
        if p in top.adjoint:
            grads.append(sweep.complete(p, top, build))
        else:  # the output does not depend on p
            grads.append(build.op(Prim.ZEROS_LIKE, p, name=sweep.fresh_adjoint(p)))
    params = tuple(Param(p.var) if cotangent else p for p in fn.params if not p.kwonly)
    params += tuple(Param(s) for s in seeds) if cotangent else ()
    params += tuple(p for p in fn.params if p.kwonly)
    gradient = tuple(grads) if wrt_is_tuple else grads[0]
    return Function(f"vjp_{fn.name}", params, tuple(build.stmts), (out, gradient),
                    tuple(v for v in out_values(out) if isinstance(v, Var)), fn.loc)


def primal_shapes(fn: Function, cotangent: bool = False,
                  scalars: tuple[Var, ...] = ()) -> shapes.Shapes:
    """The shapes ``run`` differentiates ``fn`` with: a gradient's output is a number."""
    out = fn.out
    scalar_out = (out,) if isinstance(out, Var) and not cotangent else ()
    return shapes.analyze(fn, (*scalar_out, *scalars))


class _Scope:
    """The adjoints known at one point of the backward walk."""

    def __init__(self, adjoint: dict | None = None, named: dict | None = None) -> None:
        self.adjoint: dict[Var, Value] = dict(adjoint or {})
        self.named: dict[Var, Value] = dict(named or {})  # adjoints under their own name

    def copy(self) -> _Scope:
        return _Scope(self.adjoint, self.named)


class _Reverse:
    def __init__(self, fn: Function, wrt: tuple[Var, ...], out_name: str,
                 shape_facts: shapes.Shapes, calls=None) -> None:
        self.calls = calls
        self.facts = activity.analyze(fn, wrt)
        self.shapes = shape_facts
        self.numpy_values = set(shape_facts.numpy_values)  # grows with the rules' results
        self.adjoint_tapes: dict[Var, Var] = {}  # a tape of the code -> its adjoints' tape
        self.names = Names.of(fn)
        self.fn = fn
        self.fn_name = fn.name
        self.out_name = out_name
        self.tape: Var | None = None
        self.loops = 0  # loops around the adjoint code being built

    # --- naming and accumulation --------------------------------------------------------

    def fresh_adjoint(self, v: Var) -> Var:
        if v.is_temp:
            return self.names.temp()
        return self.names.fresh(naming.ratio(self.out_name, v.base))

    def complete(self, v: Var, scope: _Scope, build: Builder) -> Value:
        """The finished adjoint of ``v``, under ``v``'s adjoint name if ``v`` is named."""
        value = scope.adjoint[v]
        if not v.is_temp and scope.named.get(v) != value:
            value = build.op(Prim.COPY, value, name=self.fresh_adjoint(v))
            scope.adjoint[v] = scope.named[v] = value
        return value

    def accumulate(self, v: Value, contribution: Value, scope: _Scope,
                   build: Builder) -> None:
        if not self.facts.active(v):
            return
        if v not in scope.adjoint:
            scope.adjoint[v] = contribution
            return
        add = Prim.ADD_ITEMS if self.shapes.is_list(v) else Prim.ADD
        total = build.op(add, scope.adjoint[v], contribution, name=self.fresh_adjoint(v))
        scope.adjoint[v] = total
        if not v.is_temp:
            scope.named[v] = total

    def accumulate_index(self, x: Value, g: Value, op: Op, scope: _Scope,
                         build: Builder) -> None:
        """``x``'s adjoint gets ``g`` added at the index ``op`` read (``dx[i] += g``)."""
        if not self.facts.active(x):
            return
        existing = scope.adjoint.get(x)
        if existing is None or isinstance(existing, Const):
            existing = self.zeros(x, build)
        pattern = dict(op.params)["index"].value
        unique = _unique_index(pattern, op.args[1:], self.shapes)
        total = build.op(Prim.INDEX_ADD, existing, g, *op.args[1:],
                         name=self.fresh_adjoint(x),
                         params={"index": pattern, "unique": unique})
        scope.adjoint[x] = total
        if not x.is_temp:
            scope.named[x] = total

    def zero_of(self, v: Var, build: Builder, indexed: set[Var], like: Var | None = None
                ) -> Value:
        """A zero adjoint for ``v``: ``0.0``, or an array of zeros (shaped like ``like``)
        where the adjoint is written into by index (``indexed``: what the code it flows
        into reads by index)."""
        if self.shapes.used_as_number(v):
            return ZERO
        if v not in indexed:  # may be an array: zeros shaped like it (_zeros_like)
            return build.op(Prim.ZEROS_LIKE, like if like is not None else v)
        return self.zeros(like if like is not None else v, build)

    def zeros(self, v: Var, build: Builder) -> Var:
        """Zeros to write into by index: an array like ``v``, or a list of zeros.

        ``np.zeros_like(v)`` reads best, where ``v`` is certainly floats; else ``_zeros``,
        which gives floats for integers (``dv[0] += 2.5`` into integers would keep 2), and
        in a loop, where ``np.zeros_like``'s overhead adds up."""
        prim = Prim.ZEROS_LIKE if self.shapes.is_list(v) \
            else Prim.ZEROS if self.loops or v not in self.floats else Prim.NP_ZEROS_LIKE
        return build.op(prim, v)

    @functools.cached_property
    def floats(self) -> set[Var]:
        return factor.floats(self.fn)

    def tape_var(self) -> Var:
        if self.tape is None:
            self.tape = self.names.fresh("tape")
        return self.tape

    # --- the walk -----------------------------------------------------------------------

    def sweep(self, stmts: tuple[Stmt, ...], scope: _Scope,
              recompute: dict[Var, Value] | None = None) -> tuple[list[Stmt], list[Stmt]]:
        """The primal statements (nested loops taped) and the adjoint statements of a block.

        ``recompute`` maps primal values the adjoint can have without the tape (the index
        of a reversed loop) to their adjoint-side values.
        """
        build = Builder(self.names)
        primal: list[Stmt] = []
        for stmt in reversed(stmts):
            if isinstance(stmt, Comment):
                primal.append(stmt)
            elif isinstance(stmt, Op):
                primal.append(stmt)
                self.op(stmt, scope, build)
            elif isinstance(stmt, If):
                primal.append(self.branch(stmt, scope, build))
            else:
                primal.append(self.loop(stmt, scope, build))
        primal.reverse()
        return primal, list(substitute(tuple(build.stmts), dict(recompute or {})))

    def tape_through(self, primal: list[Stmt], adjoint: tuple[Stmt, ...],
                     params: tuple[Var, ...]) -> tuple[list[Stmt], list[Stmt]]:
        """Push what the adjoint of a loop body reads; pop it at the adjoint's start.

        ``adjoint`` must already be cut to what it yields, so that nothing is stored for an
        adjoint computation that dead code elimination would remove.
        """
        read = {v for stmt in adjoint for v in values_used(stmt) if isinstance(v, Var)}
        defined = [r for stmt in primal for r in results_of(stmt)]
        at_start = [p for p in params if p in read]
        at_end = [v for v in defined if v in read]
        if _pushes(primal):  # a nested loop pushes: keep the pushes nested
            at_start, at_end = [], at_start + at_end
        mapping: dict[Var, Value] = {}
        pops: list[Stmt] = []
        tape = self.tape_var() if (at_start or at_end) else None
        for group, where in ((at_end, "end"), (at_start, "start")):  # pops mirror pushes
            if not group:
                continue
            push = Op((), Prim.PUSH, (tape, *group))
            if where == "start":
                primal.insert(0, push)
            else:
                primal.append(push)
            popped = tuple(self.names.fresh(v.base) for v in group)
            pops.append(Op(popped, Prim.POP, (tape,)))
            mapping.update(zip(group, popped))
        return primal, pops + list(substitute(adjoint, mapping))

    def op(self, stmt: Op, scope: _Scope, build: Builder) -> None:
        if stmt.prim in (Prim.PUSH, Prim.POP):
            self.tape_op(stmt, scope, build)
            return
        if stmt.prim is Prim.CALL:
            self.call(stmt, scope, build)
            return
        if not any(r in scope.adjoint for r in stmt.results):
            return
        build.comment("adjoint of", stmt)
        spec = stmt.prim.spec
        build.family = "math" if stmt.prim.value.startswith("math.") or (
            spec.call is None and all(self.shapes.scalar(a) for a in stmt.args)) else "np"
        build.numpy = stmt.prim.value.startswith("np.")  # NumPy's inf and nan in its rule
        build.numpy_values = self.numpy_values
        params = {k: v.value for k, v in stmt.params}
        _no_list_arithmetic(stmt, self.shapes)
        if stmt.prim not in ADJOINT and stmt.prim not in MULTI_ADJOINT \
                and stmt.prim not in _STRUCTURAL:
            raise _no_rule(stmt)
        if len(stmt.results) > 1 or stmt.prim in MULTI_ADJOINT:
            gs = tuple(build.sym(self.complete(r, scope, build)) if r in scope.adjoint
                       else None for r in stmt.results)
            contributions = MULTI_ADJOINT[stmt.prim](
                gs, tuple(map(build.sym, stmt.results)), *map(build.sym, stmt.args), **params)
        else:
            g = self.complete(stmt.result, scope, build)
            if stmt.prim is Prim.GETITEM:
                self.accumulate_index(stmt.args[0], g, stmt, scope, build)
                return
            if stmt.prim in (Prim.SETITEM, Prim.INDEX_ADD):
                self.indexed_write(stmt, g, scope, build)
                return
            if stmt.prim in (Prim.LIST, Prim.TUPLE):  # each item gets its entry of g
                for k, item in enumerate(stmt.args):
                    if self.facts.active(item):
                        part = build.op(Prim.GETITEM, g, Const(k), params={"index": "_"})
                        self.accumulate(item, part, scope, build)
                return
            if stmt.prim is Prim.APPEND:  # the last entry of g is the item's, the rest the list's
                xs, item = stmt.args
                if self.facts.active(item):
                    part = build.op(Prim.GETITEM, g, Const(-1), params={"index": "_"})
                    self.accumulate(item, part, scope, build)
                if self.facts.active(xs):
                    rest = build.op(Prim.GETITEM, g, Const(-1), params={"index": ":_"})
                    self.accumulate(xs, rest, scope, build)
                return
            contributions = ADJOINT[stmt.prim](
                build.sym(g), build.sym(stmt.result), *map(build.sym, stmt.args), **params)
        for k, (arg, contribution) in enumerate(zip(stmt.args, contributions)):
            if contribution is None or not spec.is_diff(k) or not self.facts.active(arg):
                continue
            value = contribution.value
            if spec.elementwise and not self.shapes.same_shape(stmt, k):
                value = _unbroadcast(value, arg, build)
            self.accumulate(arg, value, scope, build)

    def tape_op(self, stmt: Op, scope: _Scope, build: Builder) -> None:
        """Through a tape of the code being differentiated (reverse over reverse).

        ``a_1 = tape.pop()`` hands the adjoint of ``a_1`` to the push it takes back, which
        runs earlier, so its adjoint runs later: the adjoint of the pop pushes it onto an
        adjoint tape, and the adjoint of ``tape.append(a)`` pops it and adds it to ``a``'s.
        Both sides carry the positions whose popped value is active, so they stay paired.
        """
        pop = stmt if stmt.prim is Prim.POP else self.facts.tape_pairs[id(stmt)]
        carried = [k for k, r in enumerate(pop.results) if self.facts.active(r)]
        if not carried:
            return
        tape = stmt.args[0]
        if tape not in self.adjoint_tapes:
            self.adjoint_tapes[tape] = self.names.fresh(f"d{tape.base}")
        adjoint_tape = self.adjoint_tapes[tape]
        if stmt.prim is Prim.POP:
            build.comment("adjoint of", stmt)
            adjoints = [self.complete(stmt.results[k], scope, build)
                        if stmt.results[k] in scope.adjoint
                        else self.zero_of(stmt.results[k], build, set()) for k in carried]
            build.stmts.append(Op((), Prim.PUSH, (adjoint_tape, *adjoints)))
            return
        build.comment("adjoint of", stmt)
        values = stmt.args[1:]
        popped = tuple(self.fresh_adjoint(values[k]) if isinstance(values[k], Var)
                       else self.names.temp() for k in carried)
        build.stmts.append(Op(popped, Prim.POP, (adjoint_tape,)))
        for k, value in zip(carried, popped):
            self.accumulate(values[k], value, scope, build)

    def call(self, stmt: Op, scope: _Scope, build: Builder) -> None:
        """``r = g(a, b)``: the adjoint calls ``vjp_g(a, b, dr) -> (da, db)``, which runs
        ``g`` again inside (joint reversal: each call is its own checkpoint)."""
        name = dict(stmt.params)["fn"].value
        self.calls.primal(name)  # the forward sweep calls g itself
        if not any(r in scope.adjoint for r in stmt.results):
            return
        wrt = tuple(k for k, a in enumerate(stmt.args) if self.facts.active(a))
        if not wrt:
            return
        build.comment("adjoint of", stmt)
        cotangents = [self.complete(r, scope, build) if r in scope.adjoint
                      else self.zero_of(r, build, {r}) for r in stmt.results]
        grads = tuple(self.fresh_adjoint(stmt.args[k]) for k in wrt)
        build.stmts.append(Op(grads, Prim.CALL, (*stmt.args, *cotangents),
                              (("fn", Const(self.calls.vjp(name, wrt))),), stmt.loc))
        for k, g in zip(wrt, grads):
            self.accumulate(stmt.args[k], g, scope, build)

    def pushes_active(self, region: Region) -> bool:
        """Does ``region`` push onto a tape a value whose adjoint comes back later?"""
        for stmt in region.body:
            if isinstance(stmt, Op) and stmt.prim is Prim.PUSH:
                pop = self.facts.tape_pairs[id(stmt)]
                if any(self.facts.active(r) for r in pop.results):
                    return True
            if any(self.pushes_active(r) for r in regions_of(stmt)):
                return True
        return False

    def indexed_write(self, stmt: Op, g: Value, scope: _Scope, build: Builder) -> None:
        """``x.1 = setitem x v i``: ``v`` gets ``g[i]``, ``x`` gets ``g`` with ``g[i] = 0``.

        (``index_add`` is the same but ``x`` gets all of ``g``.)
        """
        x, v, *where = stmt.args
        pattern = dict(stmt.params)["index"]
        if self.facts.active(v):
            unique = _unique_index(pattern.value, where, self.shapes)
            if stmt.prim is Prim.SETITEM and not unique:  # an index may repeat: last wins
                part = build.op(Prim.SETITEM_GRAD, g, *where, params={"index": pattern.value})
            else:
                copy = stmt.prim is Prim.SETITEM and self.facts.active(x)  # g[i] is zeroed next
                part = build.op(Prim.GETITEM, g, *where,
                                params={"index": pattern.value, "copy": copy})
            if stmt.result not in self.shapes.scalar_slots:  # v may fill several entries
                part = build.op(Prim.UNBROADCAST, part, v)
            self.accumulate(v, part, scope, build)
        if self.facts.active(x):
            rest = g
            if stmt.prim is Prim.SETITEM:
                rest = build.op(Prim.SETITEM, g, ZERO, *where,
                                params={"index": pattern.value})
            self.accumulate(x, rest, scope, build)

    def branch(self, stmt: If, scope: _Scope, build: Builder) -> If:
        active = [k for k, r in enumerate(stmt.results) if r in scope.adjoint]
        if not active:
            return stmt
        grads = [self.complete(stmt.results[k], scope, build) for k in active]
        line = f" at line {stmt.loc.lineno}" if stmt.loc else ""
        build.comment(f"adjoint of the if{line}")
        sides = []
        for region in (stmt.then, stmt.orelse):
            inner = scope.copy()
            seeds = Builder(self.names)
            for k, g in zip(active, grads):
                self.accumulate(region.yields[k], g, inner, seeds)
            primal, adjoint = self.sweep(region.body, inner)
            sides.append((primal, seeds.stmts + adjoint, inner))
        # adjoints of outer values changed in either branch leave the adjoint `if`
        local = {r for side in sides for s in side[0] for r in results_of(s)}
        changed = []
        for _, _, inner in sides:
            for v, value in inner.adjoint.items():
                if v not in local and value != scope.adjoint.get(v) and v not in changed:
                    changed.append(v)
        adjoints = []
        for _, adjoint, inner in sides:
            fill = Builder(self.names)
            yields = tuple(inner.adjoint.get(v, scope.adjoint.get(v)) for v in changed)
            indexed = _indexed(stmt.then.body) | _indexed(stmt.orelse.body)
            yields = tuple(self.zero_of(v, fill, indexed) if y is None else y
                           for v, y in zip(changed, yields))
            adjoint = list(adjoint) + fill.stmts
            adjoints.append((dce.prune(tuple(adjoint), _vars(yields)), yields))
        # values of a branch that its adjoint reads leave the `if` as extra results
        extra_results, extra_then, extra_else, mapping = [], [], [], {}
        for side, ((primal, _, _), (adjoint, _)) in enumerate(zip(sides, adjoints)):
            read = {v for s in adjoint for v in values_used(s) if isinstance(v, Var)}
            for v in (r for s in primal for r in results_of(s)):
                if v in read:
                    result = self.names.fresh(v.base)
                    extra_results.append(result)
                    extra_then.append(v if side == 0 else Const(None))
                    extra_else.append(v if side == 1 else Const(None))
                    mapping[v] = result
        primal_if = dataclasses.replace(
            stmt, results=stmt.results + tuple(extra_results),
            then=Region((), tuple(sides[0][0]), stmt.then.yields + tuple(extra_then)),
            orelse=Region((), tuple(sides[1][0]), stmt.orelse.yields + tuple(extra_else)))
        regions = [Region((), substitute(adjoint, mapping), yields)
                   for adjoint, yields in adjoints]
        results = tuple(self.fresh_adjoint(v) for v in changed)
        build.stmts.append(If(results, stmt.cond, regions[0], regions[1], stmt.loc))
        for v, r in zip(changed, results):
            scope.adjoint[v] = r
            if not v.is_temp:
                scope.named[v] = r
        return primal_if

    def loop(self, stmt: For | While, scope: _Scope, build: Builder) -> For | While:
        first = 1 if isinstance(stmt, For) else 0
        params = stmt.body.params[first:]
        active = [k for k in range(len(stmt.results))
                  if self.facts.active(stmt.results[k]) or self.facts.active(params[k])]
        inside = defined_inside(stmt.body)
        outer = [v for v in dict.fromkeys(region_uses(stmt.body))
                 if self.facts.active(v) and v not in inside and v not in params]
        if not any(stmt.results[k] in scope.adjoint for k in active) \
                and not self.pushes_active(stmt.body):
            return stmt  # the body's adjoint is seeded only by the carried values'
        indexed = _indexed(stmt.body.body)
        grads = [self.complete(stmt.results[k], scope, build)
                 if stmt.results[k] in scope.adjoint
                 else self.zero_of(params[k], build, indexed, like=stmt.results[k])
                 for k in active]
        if stmt.checkpoint is not None and self.calls is not None \
                and not _effects(stmt.body.body):  # a body using a tape stays inline
            return self.checkpointed(stmt, scope, build, dict(zip(active, grads)))
        line = f" at line {stmt.loc.lineno}" if stmt.loc else ""
        build.comment(f"adjoint of the loop{line}")
        if isinstance(stmt, While):  # count the trips, to run the adjoint as often
            stmt, trips = self.counted(stmt)
            start, stop, step, reverse = Const(0), trips, Const(1), False
            index = self.names.fresh("_")
            recompute: dict[Var, Value] = {}
        else:
            # the adjoint runs the iterations the other way round
            start, stop, step = stmt.start, stmt.stop, stmt.step
            reverse = not stmt.reverse
            index = self.names.fresh(stmt.body.params[0].base)
            recompute = {stmt.body.params[0]: index}
        carried = [self.fresh_adjoint(params[k]) for k in active]
        accumulators = [self.fresh_adjoint(v) for v in outer]
        inner = _Scope({v: a for v, a in zip(outer, accumulators)},
                       {v: a for v, a in zip(outer, accumulators) if not v.is_temp})
        seeds = Builder(self.names)
        for k, g in zip(active, carried):
            self.accumulate(stmt.body.yields[k], g, inner, seeds)
        self.loops += 1
        primal_body, adjoint = self.sweep(stmt.body.body, inner, recompute)
        fill = Builder(self.names)
        yields = tuple(inner.adjoint[params[k]] if params[k] in inner.adjoint
                       else self.overwritten(stmt, k, c, fill, indexed)
                       for k, c in zip(active, carried))
        self.loops -= 1
        yields += tuple(inner.adjoint[v] for v in outer)
        adjoint = seeds.stmts + list(dce.prune(tuple(adjoint) + tuple(fill.stmts),
                                               _vars(yields)))
        primal_body, adjoint = self.tape_through(primal_body, tuple(adjoint),
                                                 stmt.body.params)
        inits = tuple(grads) + tuple(scope.adjoint[v] if v in scope.adjoint
                                     else self.zero_of(v, build, indexed) for v in outer)
        results = tuple(self.fresh_adjoint(stmt.inits[k]) if isinstance(stmt.inits[k], Var)
                        else self.names.temp() for k in active)
        results += tuple(self.fresh_adjoint(v) for v in outer)
        body = Region((index, *carried, *accumulators), tuple(adjoint), yields)
        build.stmts.append(For(results, start, stop, step, inits, body, stmt.loc,
                               reverse=reverse))
        # the accumulators first: they started from the adjoints before the loop, so an
        # init the body also reads (`d = x * 2.0; for ...: d = d + x * 2.0` after cse, or
        # `for v in x: x = x * v`) adds its carried adjoint to the complete sum
        for v, r in zip(outer, results[len(active):]):
            scope.adjoint[v] = r
            if not v.is_temp:
                scope.named[v] = r
        for k, r in zip(active, results):
            self.accumulate(stmt.inits[k], r, scope, build)
        primal_region = Region(stmt.body.params, tuple(primal_body), stmt.body.yields)
        return dataclasses.replace(stmt, body=primal_region)

    def checkpointed(self, stmt: For | While, scope: _Scope, build: Builder,
                     grads: dict[int, Value]) -> For | While:
        """A loop that stores nothing. It becomes a function running some of its iterations,
        ``segment(start, stop, step, *carried, *invariants) -> carried``, with an adjoint
        ``vjp_segment`` (which tapes those iterations only); the loop's adjoint runs the
        iterations again from the first state, a segment at a time, keeping a few states
        (``_checkpointed``: binomial checkpointing)."""
        first = 1 if isinstance(stmt, For) else 0
        carried = stmt.body.params[first:]
        inside = defined_inside(stmt.body)
        invariants = [v for v in dict.fromkeys(region_uses(stmt.body))
                      if isinstance(v, Var) and v not in inside]
        index = stmt.body.params[0] if first else self.names.fresh("_")
        bounds = tuple(self.names.fresh(name) for name in ("start", "stop", "step"))
        fresh = [self.names.temp() if v.is_temp else self.names.fresh(v.base)
                 for v in (*carried, *carried)]
        entry, leave = tuple(fresh[:len(carried)]), tuple(fresh[len(carried):])
        line = stmt.loc.lineno if stmt.loc else 0
        loop = For(leave, *bounds, entry, Region((index, *carried), stmt.body.body,
                                                 stmt.body.yields), stmt.loc)
        segment = Function(f"{self.fn_name}_loop{line}",
                           tuple(Param(v) for v in (*bounds, *entry, *invariants)), (loop,),
                           leave[0] if len(leave) == 1 else leave, (), stmt.loc)
        wrt = tuple(k for k, v in enumerate((*carried, *invariants))
                    if k in grads or (k >= len(carried) and self.facts.active(v)))
        numbers = {v for v in (*carried, *invariants) if self.shapes.scalar(v)}
        scalars = (*bounds, *(v for v, c in zip((*entry, *leave), carried * 2) if c in numbers),
                   *(v for v in invariants if v in numbers))
        step_name, vjp_name = self.calls.loop_step(
            segment, tuple(k + len(bounds) for k in wrt), scalars)
        inits = stmt.inits
        if isinstance(stmt, While):  # count the trips: the adjoint runs as many
            stmt, trips = self.counted(stmt)
            bounds, reverse = (Const(0), trips, Const(1)), False
        else:
            bounds, reverse = (stmt.start, stmt.stop, stmt.step), stmt.reverse
        adjoint = tuple(grads.get(k, ZERO) for k in range(len(carried)))
        build.comment(f"adjoint of the loop at line {line}, run again from checkpoints")
        results = tuple(self.fresh_adjoint(inits[k]) if k < len(carried) and isinstance(
            inits[k], Var) else self.names.temp() for k in wrt)
        params = {"step": step_name, "vjp": vjp_name, "carried": len(carried), "wrt": wrt,
                  "states": stmt.checkpoint, "reverse": reverse}
        build.stmts.append(Op(results, Prim.CHECKPOINTED,
                              (*bounds, *inits, *invariants, *adjoint),
                              _params(Prim.CHECKPOINTED, params), stmt.loc))
        for k, r in zip(wrt, results):
            self.accumulate(inits[k] if k < len(carried) else invariants[k - len(carried)],
                            r, scope, build)
        return stmt

    def overwritten(self, stmt: For | While, k: int, carried: Var, build: Builder,
                    indexed: set[Var]) -> Value:
        """The adjoint of carried value ``k`` at the start of an iteration whose body does
        not read it (only overwrites it): a zero, shaped like the value then. That is the
        shape of the adjoint carried in (the next iteration's) where the shapes analysis
        proves the body keeps the shape, else the loop tapes the value for its shape."""
        param = stmt.body.params[k + (1 if isinstance(stmt, For) else 0)]
        like = carried if self.shapes.same(param, stmt.body.yields[k]) else param
        return self.zero_of(param, build, indexed, like=like)

    def counted(self, stmt: While) -> tuple[While, Var]:
        """The loop with a trip counter carried along, and the counter's final value."""
        cond_count, body_count = self.names.fresh("trips"), self.names.fresh("trips")
        bumped, trips = self.names.fresh("trips"), self.names.fresh("trips")
        cond = Region(stmt.cond.params + (cond_count,), stmt.cond.body, stmt.cond.yields)
        body = Region(stmt.body.params + (body_count,),
                      stmt.body.body + (Op((bumped,), Prim.ADD, (body_count, Const(1))),),
                      stmt.body.yields + (bumped,))
        return dataclasses.replace(stmt, results=stmt.results + (trips,),
                                   inits=stmt.inits + (Const(0),), cond=cond, body=body), trips


def _vars(values: object) -> set[Var]:
    return {v for v in values if isinstance(v, Var)}


_STRUCTURAL = {Prim.GETITEM, Prim.SETITEM, Prim.INDEX_ADD, Prim.LIST, Prim.TUPLE, Prim.APPEND,
               Prim.CALL}


def _unbroadcast(value: Value, like: Value, build: Builder) -> Var:
    """``_unbroadcast(value, like)``; of a negation, the negation of the smaller sum
    (``-_unbroadcast(g, y)`` rather than ``_unbroadcast(-g, y)``: the sum is linear)."""
    for stmt in reversed(build.stmts):
        if isinstance(stmt, Op) and stmt.results == (value,):
            if stmt.prim is Prim.NEG:
                summed = build.op(Prim.UNBROADCAST, stmt.args[0], like)
                return build.op(Prim.NEG, summed)
            break
    return build.op(Prim.UNBROADCAST, value, like)


def _unique_index(pattern: str, operands: tuple, facts: shapes.Shapes) -> bool:
    """Can no entry be picked twice? Slices never repeat one; a number index neither;
    an array of indices may (then np.add.at, and the last write wins)."""
    parts, _ = index.parse(pattern)
    values = iter(operands)
    for part in parts:
        if part[0] == "value":
            if not facts.scalar(next(values)):
                return False
        elif part[0] == "slice":
            for has in part[1:]:
                if has:
                    next(values)
    return True


def _no_list_arithmetic(stmt: Op, facts: shapes.Shapes) -> None:
    if stmt.prim.spec.elementwise and stmt.prim is not Prim.COPY \
            and any(facts.is_list(a) for a in stmt.args):
        raise UnsupportedSyntax.at(
            stmt.loc, "arithmetic on a list (`+` joins lists, `*` repeats them) is not "
            "differentiated; build the list with `append`, or make it an array with "
            "`np.array(...)` first")


def _no_rule(stmt: Op) -> NoDerivativeRule:
    name = stmt.prim.spec.call or stmt.prim.value
    return NoDerivativeRule.at(
        stmt.loc, f"no derivative rule for `{name}` yet (s2sad's generated code calls it "
        f"as the derivative of another function); differentiate the original function "
        f"once, with the transform you need")


def _indexed(body: tuple[Stmt, ...]) -> set[Var]:
    """The values ``body`` reads by index (their adjoints are written into by index)."""
    found: set[Var] = set()
    for stmt in body:
        if isinstance(stmt, Op) and stmt.prim in (Prim.GETITEM, Prim.APPEND) \
                and isinstance(stmt.args[0], Var):
            found.add(stmt.args[0])
        for region in regions_of(stmt):
            found |= _indexed(region.body)
    return found


def _effects(stmts: tuple[Stmt, ...]) -> bool:
    """Does the code push, pop or make a tape (code s2sad generated, differentiated again)?"""
    for stmt in stmts:
        if isinstance(stmt, Op) and stmt.effect:
            return True
        if any(_effects(r.body) for r in regions_of(stmt)):
            return True
    return False


def _pushes(stmts: list[Stmt]) -> bool:
    for stmt in stmts:
        if isinstance(stmt, Op) and stmt.prim is Prim.PUSH:
            return True
        if any(_pushes(list(r.body)) for r in regions_of(stmt)):
            return True
    return False
