"""Emit: IR -> gast -> Python source (astor) -> a compiled function.

Takes a verified ``Function`` and the objects its globals name; returns readable source
and, through ``compile_generated``, a plain Python function whose lines tracebacks and
``inspect.getsource`` show (the source is registered in ``linecache``).

Out of SSA: each value gets the readable name its SSA name stands for (``a.1`` -> ``a``)
unless a value still alive holds that name, in which case it becomes ``a_1``; temporaries
become ``t1``, ``t2`` ... in order. So a user's ``x = x * 2`` comes out as written, and a
value the adjoint still needs keeps its own name::

    b = mul a y                 b = a * y
    # adjoint of: b = mul a y   # adjoint of: b = a * y
    dbda = mul y dbdb    ->     dbda = y * dbdb

Everything here is deterministic: the same IR gives the same bytes.
"""

from __future__ import annotations

import bisect
import builtins
import hashlib
import keyword
import linecache
import math
from collections.abc import Callable
from dataclasses import dataclass

import astor
import gast
import numpy

from . import helpers, index
from .errors import CompileError
from .ir import (
    Comment,
    Const,
    For,
    Function,
    Global,
    If,
    Op,
    Region,
    Stmt,
    Value,
    Var,
    While,
    out_values,
    region_uses,
    regions_of,
    values_used,
    values_used_here,
)
from .passes import extents as _extents
from .passes import shapes
from .primitives import Prim

_NEEDS_NP = {Prim.INDEX_ADD, Prim.SETITEM_GRAD}  # np.add.at for indices that may repeat

MODULES = {"math": math, "np": numpy}
_BUILTINS_USED = {"range", "reversed", "float"}  # spelled by loops and non-finite constants

@dataclass(frozen=True)
class Generated:
    """Generated source and the names it reads from outside (``math``, user constants)."""

    name: str
    source: str
    bindings: dict[str, object]
    modules: tuple[str, ...]  # aliases of MODULES the source uses
    # (name in the module, helper) for each helper it defines: `_unbroadcast_1` where the
    # user's code has a `_unbroadcast` of its own
    helpers: tuple[tuple[str, str], ...] = ()


def emit(fn: Function, bindings: dict[str, object]) -> Generated:
    return emit_module([fn], bindings)


def emit_module(fns: list[Function], bindings: dict[str, object], main: str | None = None,
                tail: str = "", tail_helpers: tuple[str, ...] = (),
                tail_modules: tuple[str, ...] = (),
                helper_names: dict[str, str] | None = None) -> Generated:
    """Several functions in one module (the last is the one returned, unless ``main``
    names another); ``tail`` is source appended after them, which may call the helpers
    ``tail_helpers`` and the modules ``tail_modules``. ``helper_names``: the helpers the
    module defines under another name (``helpers.names_avoiding``: the user's code has
    one of that name)."""
    renamed = dict(helper_names or {})
    prims: set[Prim] = set()
    for fn in fns:
        prims |= _prims_used(fn.body)
    lives = [_Liveness(fn) for fn in fns]
    used = helpers.closure({p.spec.call for p in prims
                            if p.spec.call and p.spec.call.startswith("_")} | set(tail_helpers)
                           | ({"_add_at"} if any(_repeats(fn.body) for fn in fns) else set())
                           | ({"_add_into"} if any(live.added_into for live in lives)
                              else set())
                           | ({"_row_of", "_add_row"} if any(live.rows for live in lives)
                              else set()))
    modules = sorted({spec_module(p) for p in prims} - {None} | helpers.modules(used)
                     | ({"np"} if prims & _NEEDS_NP else set()) | set(tail_modules))
    for alias in modules:
        if alias in bindings and bindings[alias] is not MODULES[alias]:
            raise CompileError.at(fns[-1].loc, f"the generated code needs `{alias}` for "
                                  f"the module {MODULES[alias].__name__}, but `{alias}` "
                                  f"names something else in your module; rename it")
    reserved = set(bindings) | set(modules) | {fn.name for fn in fns} | _BUILTINS_USED \
        | _called(fns) | {renamed.get(h, h) for h in used} \
        | {p.spec.call for p in prims if p.spec.call and "." not in p.spec.call}
    texts = [helpers.source(name, renamed) for name in used]
    for fn, live in zip(fns, lives):
        names = _final_names(fn, reserved, live)
        printer = _Printer(names, live.overwrite, renamed, _walked_tapes(fn), live.rows,
                           live.row_adds, live.assigned)
        printer.quoted(fn.body)
        lines = [printer.header(fn)]
        lines += printer.block(fn.body, [])
        lines.append("    " + printer.ret(fn.out))
        texts.append("\n".join(lines) + "\n")
    if tail:
        texts.append(tail)
    name = main if main is not None else fns[-1].name
    return Generated(name, "\n".join(texts), dict(bindings), tuple(modules),
                     tuple((renamed.get(h, h), h) for h in used))


def _called(fns: list[Function]) -> set[str]:
    """The functions the code calls by name (``call ... fn='g'``)."""
    found: set[str] = set()

    def walk(body: tuple[Stmt, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, Op) and stmt.prim is Prim.CALL:
                found.add(dict(stmt.params)["fn"].value)
            if isinstance(stmt, Op) and stmt.prim is Prim.CHECKPOINTED:
                found.update(dict(stmt.params)[key].value for key in ("step", "vjp"))
            for region in regions_of(stmt):
                walk(region.body)

    for fn in fns:
        walk(fn.body)
    return found


def header_line(fn: Function) -> str:
    """``def name(params):`` for ``fn``'s parameters, as the emitter prints them."""
    return _Printer({}, set(), {}).header(fn)


def spec_module(p: Prim) -> str | None:
    call = p.spec.call
    if call and "." in call:
        return call.split(".")[0]
    return None


def _prims_used(body: tuple[Stmt, ...]) -> set[Prim]:
    found: set[Prim] = set()
    for stmt in body:
        if isinstance(stmt, Op):
            found.add(stmt.prim)
        for region in regions_of(stmt):
            found |= _prims_used(region.body)
    return found


def _walked_tapes(fn: Function) -> dict[int, Op]:
    """The adjoint loops that walk their tape backwards (``for a_1 in reversed(tape):``)
    instead of popping it (``for i in reversed(range(n)): a_1 = tape.pop()``), which is
    faster: the tape is made in the function's body, pushed once at the top of one loop of
    that body and popped once at the top of a later loop of that body over the same range
    whose counter is not read, and used nowhere else. Then the walk takes every item back,
    last first, as the pops would. Returns id of the popping loop -> its pop."""
    tapes = {op.results[0] for op in fn.body if isinstance(op, Op) and op.prim is Prim.TAPE}
    if not tapes:
        return {}
    uses: dict[Var, int] = {}
    for stmt in fn.body:
        for v in values_used(stmt):
            if v in tapes:
                uses[v] = uses.get(v, 0) + 1
    pushed: dict[Var, For] = {}  # a tape -> the loop that pushes it at its top
    walks: dict[int, Op] = {}
    for stmt in fn.body:
        if not isinstance(stmt, For):
            continue
        first = next((s for s in stmt.body.body if not isinstance(s, Comment)), None)
        if stmt.reverse and isinstance(first, Op) and first.prim is Prim.POP \
                and uses.get(first.args[0]) == 2 and first.args[0] in pushed:
            forward = pushed[first.args[0]]
            index = stmt.body.params[0]
            if (forward.start, forward.stop, forward.step) == (stmt.start, stmt.stop,
                                                               stmt.step) \
                    and index not in set(region_uses(stmt.body)):
                walks[id(stmt)] = first
            continue
        if not stmt.reverse:
            for op in stmt.body.body:
                if isinstance(op, Op) and op.prim is Prim.PUSH and op.args[0] in tapes:
                    pushed[op.args[0]] = stmt
    return walks


def _repeats(body: tuple[Stmt, ...], loops: int = 0) -> bool:
    """Does a loop hold an ``index_add`` at an index that may pick an entry twice (printed
    with ``_add_at``)?"""
    for stmt in body:
        if loops and isinstance(stmt, Op) and stmt.prim is Prim.INDEX_ADD \
                and not dict(stmt.params).get("unique", Const(False)).value:
            return True
        inner = loops + isinstance(stmt, (For, While))
        if any(_repeats(region.body, inner) for region in regions_of(stmt)):
            return True
    return False


# --------------------------------------------------------------------------------------
# Out of SSA


def _final_names(fn: Function, reserved: set[str], live: _Liveness) -> dict[Var, str]:
    """A Python name for every value: its own where free, ``base_k`` where not.

    Positions number statements depth-first; a value read inside a loop but defined
    before it stays alive to the loop's end (the next iteration reads it again). A loop's
    carried value, the region params standing for it and its result share one name.
    """
    bases = {v.base for _, _, v in live.defs if not v.is_temp}
    holder: dict[str, Var] = {}
    names: dict[Var, str] = {}
    temp_count = 0
    temps: list[str] = []  # temporary names in order, for reuse
    place: dict[str, int] = {}  # a temporary name -> its index in temps
    # the indices, ascending, of the temporary names whose value may give them away: the
    # only ones worth looking at for reuse (most hold numbers, which never do)
    giving: list[int] = []

    def hold(name: str, var: Var) -> None:
        holder[name] = var
        if name in place:
            k = place[name]
            at = bisect.bisect_left(giving, k)
            listed = at < len(giving) and giving[at] == k
            if live.free_after(var) is not None:
                if not listed:
                    giving.insert(at, k)
            elif listed:
                del giving[at]

    for position, _, var in sorted(live.defs, key=lambda d: (d[0], d[1])):
        if var in live.same_as:
            names[var] = names[live.same_as[var]]
            hold(names[var], var)
            continue
        if var.is_temp:
            # a temporary that may be an array takes the name of a dead one, so the
            # array it held is freed (a number is cheap: it keeps a name of its own)
            reuse = _dead_temp([temps[k] for k in giving], holder, position, live) \
                if live.recyclable(var) else None
            if reuse is None:
                while True:
                    temp_count += 1
                    reuse = f"t{temp_count}"
                    if reuse not in reserved and reuse not in bases:
                        break
                place[reuse] = len(temps)
                temps.append(reuse)
            names[var] = reuse
            hold(reuse, var)
            continue
        k = 0
        while True:
            candidate = var.base if k == 0 else f"{var.base}_{k}"
            k += 1
            if keyword.iskeyword(candidate) or candidate in reserved:
                continue
            if k > 1 and candidate in bases:
                continue
            held = holder.get(candidate)
            if held is not None and (live.last_use.get(held, -1) > position
                                     or live.defined_at[held] == position):
                continue  # still needed, or defined beside this one (region params)
            break
        hold(candidate, var)
        names[var] = candidate
    return names


def _dead_temp(candidates: list[str], holder: dict[str, Var], position: int,
               live: _Liveness) -> str | None:
    """The first of the temporary names whose value may give its name away that is dead
    at ``position`` (and not defined there beside the one asking)."""
    for name in candidates:
        held = holder[name]
        free = live.free_after(held)
        if free is not None and free < position and live.defined_at[held] != position:
            return name
    return None


class _Liveness:
    """Definition positions, last uses and forced shared names of a function's values."""

    def __init__(self, fn: Function) -> None:
        self.clock = 0
        self.defs: list[tuple[int, int, Var]] = []  # (position, order, var)
        self.uses: list[tuple[Var, int, tuple[list[int], ...]]] = []
        self.same_as: dict[Var, Var] = {}
        self.in_place_ops: list[tuple[Op, int]] = []
        self.loops_at: dict[int, tuple] = {}  # an in-place op's position -> its loops
        self.carried_arrays: set[Var] = set()  # loops' carried values (``accumulation``)
        self.facts = shapes.analyze(fn)
        self.aliases = _Aliases(self.facts)
        self.pinned: set[Var] = set()  # named by a loop or branch for others: never reused
        self._recyclable: dict[Var, bool] = {}  # recyclable(v), once the walk is done
        self._free_after: dict[Var, int | None] = {}  # free_after(v), likewise
        self.numpy = self.facts.numpy
        self.adjoint_start: int | None = None  # where the first adjoint block begins
        for p in fn.params:
            self.define(p.var, -1)
            self.aliases.foreign(p.var)
        self.walk(fn.body, ())
        end = self.tick()
        for v in list(out_values(fn.out)) + list(fn.keep):
            self.use(v, end, ())
        self.defined_at = {v: pos for pos, _, v in self.defs}
        self.last_use: dict[Var, int] = {}
        for v, position, loops in self.uses:
            for start_end in loops:  # read in a loop it was defined before: live to its end
                if self.defined_at.get(v, -1) < start_end[0]:
                    position = max(position, start_end[1])
            self.last_use[v] = max(self.last_use.get(v, -1), position)
        self.overwrite: set[Var] = set()
        for op, position in self.in_place_ops:
            old = op.args[0]
            if isinstance(old, Var) and self.may_overwrite(old, op.result, position):
                self.overwrite.add(op.result)
                if self.defined_at.get(old, -2) != position:
                    self.same_as[op.result] = self.same_as.get(old, old)
        self.pinned = set(self.same_as.values())
        self.added_into = any(op.prim is Prim.ADD for op, _ in self.in_place_ops
                              if op.result in self.overwrite)
        self.rows, self.row_adds = self.row_views(fn)
        self.assigned = self.first_writes(fn)

    def first_writes(self, fn: Function) -> set[Var]:
        """The index writes into a fresh zero array (an adjoint built by index, ``_zeros``)
        that land where no earlier write into it did (``passes.extents``): ``g[s] += v``
        finds zeros there and is printed ``g[s] = v``. Only into ``_zeros``, which holds
        floats (``np.zeros_like`` of integers would cut an assigned fraction off), and not
        in a row gathered in an adjoint's own array (``row_views``): that one holds the
        adjoint's entries."""
        written: dict[Var, list[tuple]] = {}  # a zero array, as written so far -> where
        found: set[Var] = set()
        extents: list[_extents.Extents] = []

        def walk(body: tuple[Stmt, ...]) -> None:
            for stmt in body:
                if isinstance(stmt, Op) and stmt.prim is Prim.ZEROS \
                        and stmt.result not in self.rows:
                    written[stmt.result] = []
                elif isinstance(stmt, Op) and stmt.prim is Prim.INDEX_ADD \
                        and stmt.args[0] in written \
                        and dict(stmt.params).get("unique", Const(False)).value:
                    before = written[stmt.args[0]]
                    where = (dict(stmt.params)["index"].value, stmt.args[2:])
                    if not extents:
                        extents.append(_extents.Extents(fn))
                    if all(extents[0].apart(where, other) for other in before):
                        found.add(stmt.result)
                    written[stmt.result] = before + [where]
                for region in regions_of(stmt):
                    walk(region.body)

        walk(fn.body)
        return found

    def row_views(self, fn: Function) -> tuple[dict[Var, tuple[Value, Value]], set[Var]]:
        """Adjoints of rows gathered where they belong. In a loop, ``t = _zeros(x)``
        written into only by ``t[j] += v`` and then added into ``g`` at one index
        (``_add_at(g, i, t)``) is printed ``t = _row_of(g, i, x)`` ... ``_add_row(g, i, t)``:
        where ``i`` is one integer, ``t`` is ``g[i]`` itself and each add lands in ``g`` at
        once, as a hand-written ``dg[i, j] += v`` does. Only where all of it is written in
        place and nothing reads ``g``, or storage it shares, between the two.

        Returns ``t`` -> ``(g, i)`` for the zeros, and the results of the final adds."""
        users: dict[Var, list[Stmt | None]] = {}
        zeros: list[Op] = []
        block: dict[int, int] = {}  # id of an op -> id of the block it is in

        def walk(body: tuple[Stmt, ...]) -> None:
            for stmt in body:
                block[id(stmt)] = id(body)
                if isinstance(stmt, Op) and stmt.prim is Prim.ZEROS:
                    zeros.append(stmt)
                for v in values_used_here(stmt):
                    if isinstance(v, Var):
                        users.setdefault(v, []).append(stmt)
                for region in regions_of(stmt):
                    walk(region.body)
                    for v in region.yields:
                        if isinstance(v, Var):
                            users.setdefault(v, []).append(None)

        rows: dict[Var, tuple[Value, Value]] = {}
        adds: set[Var] = set()
        walk(fn.body)
        if not zeros:
            return rows, adds
        for v in [*out_values(fn.out), *fn.keep]:
            if isinstance(v, Var):
                users.setdefault(v, []).append(None)
        for start in zeros:
            final = self._row_added(start, users)
            if final is None or block[id(final)] != block[id(start)]:
                continue  # added in a branch or a loop the zeros are outside of
            g, i = final.args[0], final.args[2]
            if isinstance(g, Var) and self._unread_between(g, final, start) \
                    and (not isinstance(i, Var) or self.defined_at.get(i, -1)
                         < self.defined_at[start.result]):
                rows[start.result] = (g, i)
                adds.add(final.result)
        return rows, adds

    def _row_added(self, start: Op, users: dict[Var, list[Stmt | None]]) -> Op | None:
        """The ``index_add`` at one index that adds the zeros ``start`` into an adjoint,
        after only in-place ``t[j] += v`` on them; None if they go anywhere else."""
        v = start.result
        while True:
            (use, *more) = users.get(v, [None])
            if more or not isinstance(use, Op) or use.prim is not Prim.INDEX_ADD \
                    or use.result not in self.overwrite:
                return None
            unique = dict(use.params).get("unique", Const(False)).value
            if use.args[0] is v and v not in use.args[1:] and unique:
                v = use.result
                continue
            if use.args[1] is v and v not in use.args[2:] and not unique \
                    and dict(use.params)["index"].value == "_" and use.args[0] is not v:
                return use
            return None

    def _unread_between(self, g: Var, final: Op, start: Op) -> bool:
        """Is ``g`` read only by ``final``, and nothing sharing its storage read between
        ``start`` and ``final``?"""
        first, last = self.defined_at[start.result], self.defined_at[final.result]
        if self.defined_at.get(g, last) >= first:
            return False
        reads = [position for v, position, _ in self.uses if v is g]
        if any(not last <= position <= last + 1 for position in reads):
            return False
        shared = self.aliases.members(g)
        for holder in self.aliases.containers(g):
            shared += self.aliases.members(holder)
        for v in shared:
            if v is not g and v is not final.result \
                    and self.defined_at.get(v, -1) <= last \
                    and self.last_use.get(v, -1) > first:
                return False
        return True

    def accumulation(self, op: Op, loops: tuple) -> bool:
        """Is ``op`` an adjoint accumulated over a loop's iterations (``dW = dW + t``, ``dW``
        carried from a zero array), which may add into the array it had (``_add_into``)
        when nothing else reads that array?"""
        if op.prim is not Prim.ADD or not loops or self.adjoint_start is None:
            return False
        old = op.args[0]
        return old in self.carried_arrays and old.base == op.result.base \
            and not op.result.is_temp and not self.facts.scalar(op.result)

    def recyclable(self, v: Var) -> bool:
        """May ``v``, a temporary of an adjoint block in NumPy code, take the name of a
        dead one (freeing its array), or give its name away once dead? The primal's
        names stay put: the adjoint comments quote its lines."""
        known = self._recyclable.get(v)
        if known is None:
            known = self._recyclable[v] = v.is_temp and self.numpy \
                and not self.facts.scalar(v) and self.adjoint_start is not None \
                and self.defined_at.get(v, -1) > self.adjoint_start
        return known

    def free_after(self, v: Var) -> int | None:
        """After which position ``v``'s name may go to another temporary (its last use),
        or None if never: it is not recyclable, or a loop or branch named others by it.
        Asked for every earlier temporary each time one is named: worth remembering."""
        if v in self._free_after:
            return self._free_after[v]
        free = self.last_use.get(v, -1) if self.recyclable(v) and v not in self.pinned \
            else None
        self._free_after[v] = free
        return free

    def may_overwrite(self, old: Var, new: Var, position: int) -> bool:
        """No value still read after ``position`` shares ``old``'s storage."""
        if self.aliases.is_foreign(old):
            return False
        shared = self.aliases.members(old)
        if not self.aliases.is_container_write(old):
            for holder in self.aliases.containers(old):  # writing into an item
                if self.aliases.is_foreign(holder):
                    return False
                if not self.put_later(old, holder, position):
                    shared += self.aliases.members(holder)
        for v in shared:
            if v != new and self.defined_at.get(v, -1) <= position \
                    and self.last_use.get(v, -1) > position:
                return False
        return True

    def put_later(self, old: Var, holder: Var, position: int) -> bool:
        """Does the container ``holder`` take ``old``'s storage only after ``position``, in
        the same iteration of a loop that makes that storage anew in each iteration? Then
        what it holds at ``position`` is earlier iterations' arrays, which writing into
        ``old`` there leaves alone: a list gathering an adjoint built by index in each
        iteration (``passes.batched``)."""
        loops = self.loops_at.get(position, ())
        if not loops:
            return False
        start, end = loops[-1]
        members = set(self.aliases.members(old))
        if not all(start < self.defined_at.get(m, -1) <= end for m in members):
            return False  # storage that may outlive an iteration
        containers = set(self.aliases.members(holder))
        puts = [at for container, item, at in self.aliases.held
                if container in containers and item in members]
        return bool(puts) and all(position < at <= end for at in puts)

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def define(self, v: Var, position: int) -> None:
        self.defs.append((position, len(self.defs), v))

    def use(self, v: object, position: float, loops: tuple) -> None:
        if isinstance(v, Var):
            self.uses.append((v, position, loops))

    def region(self, region: Region, loops: tuple) -> None:
        self.walk(region.body, loops)
        end = self.tick()
        for v in region.yields:
            self.use(v, end, loops)

    def walk(self, body: tuple[Stmt, ...], loops: tuple) -> None:
        for stmt in body:
            start = self.tick()
            if isinstance(stmt, Comment):
                if self.adjoint_start is None and stmt.text.startswith("adjoint of"):
                    self.adjoint_start = start
                continue
            late = isinstance(stmt, Op) and stmt.prim.spec.in_place
            for k, v in enumerate(values_used_here(stmt)):
                # an in-place write may copy its target first (`g_1 = g.copy()`, then
                # `g_1[i] += v`): what it writes must not take the result's name
                self.use(v, start + 0.5 if late and k else start, loops)
            if isinstance(stmt, Op):
                for r in stmt.results:
                    self.define(r, start)
                self.aliases.at = start
                self.aliases.op(stmt)
                if late:
                    self.loops_at[start] = loops
                if self.accumulation(stmt, loops):  # the sum may be the old array
                    self.aliases.union(stmt.result, stmt.args[0])
                    self.in_place_ops.append((stmt, start))
                elif stmt.prim.spec.in_place:
                    self.in_place_ops.append((stmt, start))
                    # printed as `x = old.copy(); x[i] += v`: v and i are read after x is
                    # assigned, so x must not take their names
                    after = self.tick()
                    for v in stmt.args[1:]:
                        self.use(v, after, loops)
                continue
            self.aliases.join(stmt)
            if isinstance(stmt, If):
                self.region(stmt.then, loops)
                self.region(stmt.orelse, loops)
                end = self.tick()
                for r in stmt.results:
                    self.define(r, end)
                continue
            span = [start, start]  # the loop's extent, its end filled in below
            inner = (*loops, span)
            if isinstance(stmt, For):
                for p in stmt.body.params:
                    self.define(p, start)
                # carried from a value that may be an array (numbers start from a literal),
                # and accumulated: the body yields a value of the same name (a weight's
                # adjoint; a state's is replaced each step, and adding into it saves little)
                self.carried_arrays.update(
                    p for p, init, out in zip(stmt.body.params[1:], stmt.inits,
                                              stmt.body.yields)
                    if not p.is_temp and not isinstance(init, Const)
                    and not self.facts.scalar(p)
                    and isinstance(out, Var) and out.base == p.base)
                self.region(stmt.body, inner)
                carried = stmt.body.params[1:]
            else:
                for p in stmt.cond.params:
                    self.define(p, start)
                self.region(stmt.cond, inner)
                body_start = self.tick()
                for p, same in zip(stmt.body.params, stmt.cond.params):
                    self.define(p, body_start)
                    self.same_as[p] = same
                self.region(stmt.body, inner)
                carried = stmt.cond.params
            end = self.tick()
            span[1] = end
            for r, same in zip(stmt.results, carried):
                self.define(r, end)
                self.same_as[r] = same


class _Aliases:
    """Which values may share storage (one array under two names), as classes.

    A copy, a view (``x.T``, ``x[1:]``, ``reshape``), a container and its items, a loop's
    carried value in all its forms, an ``if``'s results and what its branches yield: each
    may be the very object of another value, and so may a call's results of its arguments.
    A class is *foreign* when the caller owns it (a parameter, a global), the tape holds it,
    or a call returned it (it may be read-only); foreign storage is never overwritten.
    """

    _VIEWS = {Prim.COPY, Prim.T, Prim.NP_TRANSPOSE, Prim.NP_RESHAPE, Prim.NP_RAVEL,
              Prim.GETITEM, Prim.NP_EXPAND_DIMS, Prim.NP_SQUEEZE, Prim.NP_BROADCAST_TO,
              Prim.NP_ASARRAY, Prim.UNBROADCAST, Prim.BROADCAST_LIKE, Prim.UNREDUCE,
              Prim.INDEX_ADD, Prim.UNSTACK, Prim.UNCONCATENATE}
    _READ_ONLY = {Prim.UNREDUCE, Prim.BROADCAST_LIKE, Prim.NP_BROADCAST_TO}

    def __init__(self, facts: shapes.Shapes | None) -> None:
        self.parent: dict[Var, Var] = {}
        self.classes: dict[Var, list[Var]] = {}  # root -> the keys of parent under it
        self.outside: set[Var] = set()
        self.facts = facts  # a number shares no storage with anything
        self.holders: dict[Var, set[Var]] = {}  # item -> containers holding it
        self.held: list[tuple[Var, Var, int]] = []  # (container, item, position it was put)
        self.at = -1  # the position of the op being walked
        self.items: dict[Var, set[Var]] = {}  # list or tuple -> the items it may hold

    def find(self, v: Var) -> Var:
        root = v
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while v != root:
            self.parent[v], v = root, self.parent.get(v, v)
        return root

    def union(self, *values: object) -> None:
        vs = [v for v in values if isinstance(v, Var) and not self.number(v)]
        for v in vs[1:]:
            a, b = self.find(vs[0]), self.find(v)
            if a != b:
                moved = self.classes.pop(b, [])
                if b not in self.parent:
                    moved.append(b)
                self.parent[b] = a
                self.classes.setdefault(a, []).extend(moved)
                if b in self.outside:
                    self.outside.add(a)

    def number(self, v: Var) -> bool:
        return self.facts is not None and self.facts.scalar(v)

    def hold(self, item: Var, containers: tuple[Var, ...]) -> None:
        self.holders.setdefault(item, set()).update(containers)
        self.held.extend((c, item, self.at) for c in containers)

    def foreign(self, v: object) -> None:
        if isinstance(v, Var) and not self.number(v):
            self.outside.add(self.find(v))

    def is_foreign(self, v: Var) -> bool:
        return self.find(v) in self.outside

    def members(self, v: Var) -> list[Var]:
        return self.classes.get(self.find(v), []) + [v]

    def _key(self, v: Var) -> None:
        """``v`` joins the values tracked (a class of its own, if it is new)."""
        if v not in self.parent:
            self.parent[v] = v
            self.classes.setdefault(v, []).append(v)

    def is_container_write(self, v: Var) -> bool:
        return False

    def containers(self, v: Var) -> list[Var]:
        """The containers that hold ``v`` or a value sharing its storage."""
        members = set(self.members(v))
        return [c for item, holders in self.holders.items() if item in members
                for c in holders]

    def op(self, op: Op) -> None:
        if op.prim is Prim.GETITEM and any(self.is_foreign(item) for item in
                                           self.items.get(op.args[0], ())):
            self.foreign(op.result)  # an item of a container may be one a call returned
        if op.prim is Prim.GETITEM and dict(op.params).get("copy", Const(False)).value:
            pass
        elif op.prim is Prim.GETITEM and self.facts is not None \
                and self.facts.is_list(op.args[0]):  # an item of a list: held, not a view
            if not self.number(op.result):
                self.hold(op.result, (op.args[0],))
        elif op.prim in (Prim.LIST, Prim.TUPLE, Prim.APPEND, Prim.SETITEM):
            # a container holds its items: writing into an item changes the container,
            # but appending to a list changes no item
            self.union(*op.results, op.args[0] if op.prim in (Prim.APPEND, Prim.SETITEM)
                       else None)
            items = op.args if op.prim in (Prim.LIST, Prim.TUPLE) else op.args[1:2]
            for item in items:
                if isinstance(item, Var) and not self.number(item):
                    self.hold(item, op.results)
            held = set(self.items.get(op.args[0], ())) if op.prim in (
                Prim.APPEND, Prim.SETITEM) and op.args else set()
            held.update(item for item in items if isinstance(item, Var))
            for r in op.results:
                self.items[r] = held
        elif op.prim in self._VIEWS:
            self.union(*op.results, op.args[0])
            if op.prim in self._READ_ONLY:  # np.broadcast_to gives a read-only view
                self.foreign(op.result)
            for v in (*op.results, *op.args):
                self._key(v) if isinstance(v, Var) else None
        elif op.prim in (Prim.PUSH, Prim.POP):
            for v in (*op.args[1:], *op.results):
                self.foreign(v)
        elif op.prim is Prim.CHECKPOINTED:  # may hand back what it was given
            for v in (*op.args, *op.results):
                self.foreign(v)
        elif op.prim is Prim.CALL:
            # a user function may return an argument, a view of one, or a read-only
            # broadcast (the adjoint of np.sum in a vjp): its results are not ours to write
            self.union(*op.results, *op.args)
            for r in op.results:
                self.foreign(r)
        for r in op.results:
            self._key(r)

    def join(self, stmt: Stmt) -> None:
        if isinstance(stmt, If):
            for k, r in enumerate(stmt.results):
                self.union(r, stmt.then.yields[k], stmt.orelse.yields[k])
        elif isinstance(stmt, (For, While)):
            first = 1 if isinstance(stmt, For) else 0
            params = stmt.body.params[first:]
            conds = stmt.cond.params if isinstance(stmt, While) else params
            for k, r in enumerate(stmt.results):
                self.union(r, stmt.inits[k], params[k], conds[k], stmt.body.yields[k])


def _wrapped(line: str, width: int = 88) -> list[str]:
    """A long call ``r = f(a, b, ...)`` over several lines, its arguments packed under a
    hanging indent."""
    if len(line) <= width:
        return [line]
    head, _, rest = line.partition("(")
    parts, depth, start = [], 0, 0
    for k, char in enumerate(rest[:-1]):  # the arguments, split at top-level commas
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(rest[start:k + 1].strip())
            start = k + 1
    parts.append(rest[start:-1].strip() + ")")
    lines, current = [head + "("], "   "
    for part in parts:
        if len(current) + 1 + len(part) > width and current.strip():
            lines.append(current)
            current = "   "
        current += " " + part
    return lines + [current]


# --------------------------------------------------------------------------------------
# Printing through gast and astor


class _Printer:
    def __init__(self, names: dict[Var, str], overwrite: set[Var],
                 helper_names: dict[str, str], walks: dict[int, Op] | None = None,
                 rows: dict[Var, tuple[Value, Value]] | None = None,
                 row_adds: set[Var] | None = None, assigned: set[Var] | None = None) -> None:
        self.names = names
        self.overwrite = overwrite
        self.rows = rows or {}  # zeros gathered in the row of an adjoint (_row_of)
        self.row_adds = row_adds or set()  # and added into it by _add_row
        self.assigned = assigned or set()  # g[s] += v into zeros there: g[s] = v
        self.walks = walks or {}  # id of a loop -> the pop it walks its tape with instead
        self.helper_names = helper_names  # helpers spelled otherwise in this module
        self.loops = 0  # loops around the statement being printed
        self.unnamed: dict[Var, Op] = {}  # removed primal ops a comment quotes, by value

    def quoted(self, body: tuple[Stmt, ...]) -> None:
        """Learns the ops that comments quote and that were removed (their values are not
        needed), so a comment can show what such an op computed (``show_removed``)."""
        for stmt in body:
            if isinstance(stmt, Comment) and stmt.of is not None:
                for r in stmt.of.results:
                    if r not in self.names:
                        self.unnamed[r] = stmt.of
            for region in regions_of(stmt):
                self.quoted(region.body)

    def show_removed(self, op: Op) -> str | None:
        """A removed op as the expression it computed, with the removed values it reads
        written out in turn (``(sq - D) ** 2``); None where it reads a value that has no
        name in the code and that no comment quotes, or where it writes in place."""
        if op.prim.spec.in_place or op.effect:
            return None
        if any(isinstance(a, Var) and a not in self.names
               and (a not in self.unnamed or self.show_removed(self.unnamed[a]) is None)
               for a in op.args):
            return None
        return _source(self.expr(op))

    def call(self, spec_call: str) -> gast.expr:
        return _dotted(self.helper_names.get(spec_call, spec_call))

    def value(self, v: Value) -> gast.expr:
        if isinstance(v, Var):
            if v in self.unnamed and v not in self.names:
                return self.expr(self.unnamed[v])
            return gast.Name(self.names.get(v, v.name), gast.Load(), None, None)
        if isinstance(v, Global):
            return _dotted(v.path)
        if isinstance(v.value, tuple):
            return gast.Tuple([self.value(Const(x)) for x in v.value], gast.Load())
        if isinstance(v.value, float) and not math.isfinite(v.value):  # no literal exists
            return gast.Call(gast.Name("float", gast.Load(), None, None),
                             [gast.Constant(str(v.value), None)], [])
        return gast.Constant(v.value, None)

    def expr(self, op: Op) -> gast.expr:
        spec = op.prim.spec
        args = [self.value(a) for a in op.args]
        params = dict((k, v.value) for k, v in op.params)
        if op.prim is Prim.COPY:
            return args[0]
        if op.prim is Prim.GETITEM:
            item = gast.Subscript(args[0], index.to_gast(params.get("index", "_"),
                                                         iter(args[1:])), gast.Load())
            if params.get("copy"):  # not a view of the array: it is about to change
                return gast.Call(gast.Attribute(item, "copy", gast.Load()), [], [])
            return item
        if op.prim is Prim.CALL:  # a user function, or a derivative of one
            return gast.Call(gast.Name(params["fn"], gast.Load(), None, None), args, [])
        if op.prim is Prim.CHECKPOINTED:
            return self.checkpointed(op, args, params)
        if op.prim is Prim.SETITEM_GRAD:  # the index as an object: np.s_[...]
            where = index.to_gast(params.pop("index", "_"), iter(args[1:]))
            args = [args[0], gast.Subscript(_dotted("np.s_"), where, gast.Load())]
            return gast.Call(self.call(spec.call), args, [])
        if op.prim in (Prim.TUPLE, Prim.LIST):
            node = gast.Tuple if op.prim is Prim.TUPLE else gast.List
            return node(args, gast.Load())
        if spec.attr is not None:
            return gast.Attribute(args[0], spec.attr, gast.Load())
        if op.prim is Prim.NP_EINSUM:
            args.insert(0, gast.Constant(params.pop("subscripts"), None))
        if spec.infix is not None:
            if op.prim.value in ("lt", "le", "gt", "ge", "eq", "ne"):
                return gast.Compare(args[0], [_COMPARE[op.prim]()], [args[1]])
            return gast.BinOp(args[0], _BINARY[op.prim](), args[1])
        if spec.prefix is not None:
            return gast.UnaryOp(_UNARY[op.prim](), args[0])
        keywords = [gast.keyword(k, self.value(Const(v))) for k, v in params.items()]
        return gast.Call(self.call(spec.call), args, keywords)

    def atom(self, v: Value) -> str | None:
        """``v`` as ``_atom`` prints ``self.value(v)``: a name or a plain literal, else
        None (a global is left to the tree)."""
        if isinstance(v, Var):
            return self.names.get(v, v.name)
        return _literal(v.value) if isinstance(v, Const) else None

    def text(self, v: Value) -> str:
        """``_source(self.value(v))``, without building the tree where it is an atom."""
        atom = self.atom(v)
        return atom if atom is not None else _source(self.value(v))

    def quick(self, op: Op) -> str | None:
        """What ``_source`` prints for ``self.expr(op)`` when that is one operation on
        names and literals (``_quick``), read off the op without building the tree (most
        lines are such; building them was a third of the printing); None where the
        tree must be built (it may still print quickly)."""
        spec, prim = op.prim.spec, op.prim
        if prim is Prim.COPY:
            return self.atom(op.args[0])
        if prim in _TREE_ONLY:
            return None
        args = [self.atom(a) for a in op.args]
        if None in args:
            return None
        if prim is Prim.GETITEM:  # x[i] and x[i, j]; slices and the rest by the tree
            params = dict(op.params)
            items = params.get("index", Const("_")).value.split(",")
            if params.get("copy", Const(False)).value or not isinstance(op.args[0], Var) \
                    or any(item.strip() != "_" for item in items) \
                    or len(items) != len(args) - 1:
                return None
            return f"{args[0]}[{', '.join(args[1:])}]"
        if spec.attr is not None:
            return f"{args[0]}.{spec.attr}" if isinstance(op.args[0], Var) else None
        if spec.infix is not None:
            symbol = _QUICK_COMPARE[_COMPARE[prim]] if prim in _COMPARE \
                else _QUICK_BINARY[_BINARY[prim]]
            return f"{args[0]} {symbol} {args[1]}"
        if spec.prefix is not None:
            return f"-{args[0]}" if prim is Prim.NEG and isinstance(op.args[0], Var) \
                else None
        if spec.call is None:
            return None
        for key, value in dict(op.params).items():  # keyword arguments
            literal = _literal(value.value)
            if literal is None:
                return None
            args.append(f"{key}={literal}")
        return f"{self.helper_names.get(spec.call, spec.call)}({', '.join(args)})"

    def checkpointed(self, op: Op, args: list[gast.expr], params: dict) -> gast.expr:
        """``_checkpointed(step, vjp_step, range(...), state=(...), invariants=(...),
        adjoint=(...), wrt=(...))``: the operands are the range's bounds, the first state,
        the invariants and the last state's adjoint."""
        k = params.get("carried", 0)
        bounds, rest = list(op.args[:3]), args[3:]
        if bounds[2] == Const(1):
            bounds.pop()
            if bounds[0] == Const(0):
                bounds.pop(0)
        indices: gast.expr = gast.Call(gast.Name("range", gast.Load(), None, None),
                                       [self.value(b) for b in bounds], [])
        if params.get("reverse"):
            indices = gast.Subscript(indices, gast.Slice(None, None, gast.Constant(-1, None)),
                                     gast.Load())
        groups = {"state": rest[:k], "invariants": rest[k:len(rest) - k],
                  "adjoint": rest[len(rest) - k:]}
        keywords = [gast.keyword(key, gast.Tuple(values, gast.Load()))
                    for key, values in groups.items()]
        keywords.append(gast.keyword("wrt", self.value(Const(params.get("wrt", ())))))
        if params.get("states"):
            keywords.append(gast.keyword("states", gast.Constant(params["states"], None)))
        functions = [gast.Name(params[key], gast.Load(), None, None) for key in ("step", "vjp")]
        return gast.Call(gast.Name("_checkpointed", gast.Load(), None, None),
                         [*functions, indices], keywords)

    def in_place(self, op: Op) -> list[str]:
        """``x[i] = v``, ``g[i] += v``, ``_add_at(g, i, v)`` (``np.add.at``, for an index
        that may pick an entry twice) or ``xs.append(v)`` on the result's name.

        The value written into is copied first unless the emitter found it safe to
        overwrite (``_Liveness.in_place``): dead after this op, its storage shared by
        nothing still alive.
        """
        target, old = self.name(op.result), op.args[0]
        lines = []
        source = self.text(old)
        if op.result not in self.overwrite:  # someone else still reads the old value
            lines.append(f"{target} = {source}.copy()")
        elif source != target:
            lines.append(f"{target} = {source}")
        value = self.text(op.args[1])
        if op.prim is Prim.APPEND:
            return lines + [f"{target}.append({value})"]
        pattern = dict(op.params).get("index", Const("_")).value
        operands = [self.value(a) for a in op.args[2:]]
        where = _source(index.to_gast(pattern, iter(operands)))
        if pattern.endswith(","):
            where = where.rstrip(",") + ","
        if where.startswith("(") and where.endswith(")") and "," in where:
            where = where[1:-1]
        if op.prim is Prim.SETITEM or op.result in self.assigned:  # (zeros there: first_writes)
            return lines + [f"{target}[{where}] = {value}"]
        if dict(op.params).get("unique", Const(False)).value:
            return lines + [f"{target}[{where}] += {value}"]
        if op.result in self.row_adds:
            return lines + [f"{self.helper_names.get('_add_row', '_add_row')}"
                            f"({target}, {where}, {value})"]
        at = f"np.s_[{where}]" if ":" in pattern else f"({where})" if "," in where else where
        # np.add.at reads best; in a loop, where an integer index is common, _add_at
        add_at = self.helper_names.get("_add_at", "_add_at") if self.loops else "np.add.at"
        return lines + [f"{add_at}({target}, {at}, {value})"]

    def assignment(self, op: Op) -> str:
        rhs = self.quick(op)
        if rhs is not None and op.results:
            return f"{', '.join(self.name(r) for r in op.results)} = {rhs}"
        targets = [gast.Name(self.names.get(r, r.name), gast.Store(), None, None)
                   for r in op.results]
        target = targets[0] if len(targets) == 1 else gast.Tuple(targets, gast.Store())
        return _source(gast.Assign([target], self.expr(op), None))

    def statement(self, stmt: Stmt) -> list[str]:
        if isinstance(stmt, Op):
            if stmt.effect:
                return [self.tape_op(stmt)]
            if stmt.prim.spec.in_place:
                return self.in_place(stmt)
            if stmt.prim is Prim.ADD and stmt.result in self.overwrite:
                into = self.helper_names.get("_add_into", "_add_into")
                args = ", ".join(map(self.text, stmt.args))
                return [f"{self.name(stmt.result)} = {into}({args})"]
            if stmt.prim is Prim.ZEROS and stmt.result in self.rows:
                row_of = self.helper_names.get("_row_of", "_row_of")
                args = ", ".join(map(self.text, (*self.rows[stmt.result], stmt.args[0])))
                return [f"{self.name(stmt.result)} = {row_of}({args})"]
            if stmt.prim is Prim.COPY and isinstance(stmt.args[0], Var) \
                    and self.name(stmt.args[0]) == self.name(stmt.result):
                return []  # `a = a`: the value already has the name
            if stmt.prim is Prim.CHECKPOINTED:
                return _wrapped(self.assignment(stmt))
            return [self.assignment(stmt)]
        if isinstance(stmt, Comment):
            if stmt.of is not None and stmt.of.results \
                    and not all(r in self.names for r in stmt.of.results):
                shown = self.show_removed(stmt.of)  # the op was removed: value not needed
                return [] if shown is None else [f"# {stmt.text}: {shown}"]
            if stmt.of is None:
                text = stmt.text
            elif stmt.of.prim.spec.in_place:
                text = f"{stmt.text}: {self.in_place(stmt.of)[-1]}"
            elif stmt.of.effect:
                text = f"{stmt.text}: {self.tape_op(stmt.of)}"
            else:
                text = f"{stmt.text}: {self.assignment(stmt.of)}"
            return ["# " + text]
        if isinstance(stmt, If):
            return self.if_(stmt)
        if isinstance(stmt, For):
            return self.for_(stmt)
        return self.while_(stmt)

    def block(self, body: tuple[Stmt, ...], copies: list[str]) -> list[str]:
        lines = [line for stmt in body for line in self.statement(stmt)] + copies
        if all(line.startswith("#") for line in lines):  # comments alone are no block
            lines.append("pass")
        return ["    " + line for line in lines]

    def name(self, v: Var) -> str:
        return self.names.get(v, v.name)

    def copies(self, targets: tuple[Var, ...], values: tuple[Value, ...]) -> list[str]:
        """``a, b = x, y`` for the targets whose name differs from the value's (parallel)."""
        pairs = [(t, v) for t, v in zip(targets, values)
                 if not (isinstance(v, Var) and self.name(v) == self.name(t))]
        if not pairs:
            return []
        lhs = [gast.Name(self.name(t), gast.Store(), None, None) for t, _ in pairs]
        rhs = [self.value(v) for _, v in pairs]
        if len(pairs) == 1:
            return [_source(gast.Assign(lhs, rhs[0], None))]
        return [_source(gast.Assign([gast.Tuple(lhs, gast.Store())],
                                    gast.Tuple(rhs, gast.Load()), None))]

    def tape_op(self, op: Op) -> str:
        if op.prim is Prim.TAPE:
            return f"{self.name(op.results[0])} = []"
        tape = self.name(op.args[0])
        if op.prim is Prim.PUSH:
            values = [self.text(v) for v in op.args[1:]]
            item = values[0] if len(values) == 1 else f"({', '.join(values)})"
            return f"{tape}.append({item})"
        return f"{', '.join(self.name(r) for r in op.results)} = {tape}.pop()"

    def if_(self, stmt: If) -> list[str]:
        cond = self.text(stmt.cond)
        then = self.block(stmt.then.body, self.copies(stmt.results, stmt.then.yields))
        orelse = self.block(stmt.orelse.body, self.copies(stmt.results, stmt.orelse.yields))
        if then == ["    pass"] and orelse != ["    pass"]:  # if not c: ...
            return [f"if not {cond}:", *orelse]
        return [f"if {cond}:", *then] + (["else:", *orelse] if orelse != ["    pass"] else [])

    def for_(self, stmt: For) -> list[str]:
        index, *carried = stmt.body.params
        lines = self.copies(tuple(carried), stmt.inits)
        bounds = [stmt.start, stmt.stop, stmt.step]
        if bounds[2] == Const(1):
            bounds.pop()
            if bounds[0] == Const(0):
                bounds.pop(0)
        iterable = f"range({', '.join(self.text(b) for b in bounds)})"
        if stmt.reverse:
            iterable = f"reversed({iterable})"
        body = stmt.body.body
        pop = self.walks.get(id(stmt))
        if pop is None:
            lines.append(f"for {self.name(index)} in {iterable}:")
        else:  # takes each item back off the tape, last first, without popping it
            items = ", ".join(self.name(r) for r in pop.results)
            lines.append(f"for {items} in reversed({self.name(pop.args[0])}):")
            body = tuple(s for s in body if s is not pop)
        self.loops += 1
        lines += self.block(body, self.copies(tuple(carried), stmt.body.yields))
        self.loops -= 1
        return lines

    def while_(self, stmt: While) -> list[str]:
        lines = self.copies(stmt.cond.params, stmt.inits)
        (test,) = stmt.cond.yields
        cond_body = stmt.cond.body
        single = (len(cond_body) == 1 and isinstance(cond_body[0], Op)
                  and cond_body[0].results == (test,))
        self.loops += 1  # the test runs on every trip too
        if single:  # while x > 0:
            lines.append(f"while {_source(self.expr(cond_body[0]))}:")
            head: list[str] = []
        else:  # while True: ... if not test: break
            lines.append("while True:")
            head = [line for s in cond_body for line in self.statement(s)]
            head += [f"if not {self.text(test)}:", "    break"]
        body = self.block(stmt.body.body, self.copies(stmt.cond.params, stmt.body.yields))
        self.loops -= 1
        if head:
            body = ["    " + line for line in head] + ([] if body == ["    pass"] else body)
        return lines + body

    def out(self, out: object) -> gast.expr:
        if isinstance(out, tuple):
            return gast.Tuple([self.out(o) for o in out], gast.Load())
        return self.value(out)

    def ret(self, out: object) -> str:
        if isinstance(out, tuple) and len(out) == 1:  # astor would print `return x,`
            return f"return ({_source(self.out(out[0]))},)"
        return _source(gast.Return(self.out(out)))

    def header(self, fn: Function) -> str:
        if all(p.default is None and not p.kwonly for p in fn.params):  # as astor prints it
            return f"def {fn.name}({', '.join(self.name(p.var) for p in fn.params)}):"
        positional = [p for p in fn.params if not p.kwonly]
        keyword_only = [p for p in fn.params if p.kwonly]

        def arg(p) -> gast.Name:
            return gast.Name(self.names.get(p.var, p.var.name), gast.Param(), None, None)

        args = gast.arguments(
            args=[arg(p) for p in positional], posonlyargs=[], vararg=None,
            kwonlyargs=[arg(p) for p in keyword_only],
            kw_defaults=[None if p.default is None else self.value(p.default)
                         for p in keyword_only],
            kwarg=None,
            defaults=[self.value(p.default) for p in positional if p.default is not None])
        node = gast.FunctionDef(fn.name, args, [gast.Pass()], [], None, None)
        return _source(node).splitlines()[0]


def _source(node: gast.AST) -> str:
    """One line of Python (astor's line wrapping is off: we lay out lines ourselves)."""
    quick = _quick_statement(node) if isinstance(node, gast.Assign) else _quick(node)
    if quick is not None:
        return quick
    if isinstance(node, gast.expr):  # astor parenthesises a bare expression: print a statement
        node = gast.Expr(node)
    tree = gast.gast_to_ast(node)
    return astor.to_source(tree, pretty_source="".join).rstrip("\n")


# Most lines are one operation on names and literals: printed here directly, as astor
# prints them (a tenth of the time); anything else goes through astor.

def _quick_statement(node: gast.Assign) -> str | None:
    (target,) = node.targets
    if isinstance(target, gast.Name):
        lhs = target.id
    elif isinstance(target, gast.Tuple) and all(isinstance(t, gast.Name) for t in target.elts) \
            and len(target.elts) > 1:
        lhs = ", ".join(t.id for t in target.elts)
    else:
        return None
    rhs = _quick(node.value)
    return None if rhs is None else f"{lhs} = {rhs}"


def _atom(node: object) -> str | None:
    """A name, or a literal astor prints as ``repr`` does."""
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Constant):
        return _literal(node.value)
    return None


def _literal(value: object) -> str | None:
    """A constant's text where astor prints it as ``repr`` does, else None."""
    if value is None or type(value) is bool:
        return repr(value)
    if type(value) in (int, float) and value >= 0 and math.isfinite(value) \
            and abs(value) < 1e15 and (value == 0 or abs(value) >= 1e-4):
        return repr(value)
    return None


def _quick(node: object) -> str | None:
    atom = _atom(node)
    if atom is not None:
        return atom
    if isinstance(node, gast.BinOp) and type(node.op) in _QUICK_BINARY:
        left, right = _atom(node.left), _atom(node.right)
        if left is not None and right is not None:
            return f"{left} {_QUICK_BINARY[type(node.op)]} {right}"
    elif isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) \
            and isinstance(node.operand, gast.Name):
        return f"-{node.operand.id}"
    elif isinstance(node, gast.Compare) and len(node.ops) == 1 \
            and type(node.ops[0]) in _QUICK_COMPARE:
        left, right = _atom(node.left), _atom(node.comparators[0])
        if left is not None and right is not None:
            return f"{left} {_QUICK_COMPARE[type(node.ops[0])]} {right}"
    elif isinstance(node, gast.Call):
        func = _quick_dotted(node.func)
        args = [_atom(a) for a in node.args]
        keywords = [(k.arg, _atom(k.value)) for k in node.keywords]
        if func is not None and None not in args and all(k and v for k, v in keywords):
            return f"{func}({', '.join(args + [f'{k}={v}' for k, v in keywords])})"
    elif isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _quick_dotted(node: object) -> str | None:
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        head = _quick_dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


_QUICK_BINARY = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
                 gast.FloorDiv: "//", gast.Mod: "%", gast.MatMult: "@"}
_QUICK_COMPARE = {gast.Lt: "<", gast.LtE: "<=", gast.Gt: ">", gast.GtE: ">=", gast.Eq: "==",
                  gast.NotEq: "!="}


def _dotted(path: str) -> gast.expr:
    head, *rest = path.split(".")
    node: gast.expr = gast.Name(head, gast.Load(), None, None)
    for attr in rest:
        node = gast.Attribute(node, attr, gast.Load())
    return node


_BINARY = {Prim.ADD: gast.Add, Prim.SUB: gast.Sub, Prim.MUL: gast.Mult, Prim.DIV: gast.Div,
           Prim.POW: gast.Pow, Prim.FLOORDIV: gast.FloorDiv, Prim.MOD: gast.Mod,
           Prim.MATMUL: gast.MatMult}
# what expr builds in ways _quick does not print (subscripts, tuples, keyword arguments
# that are not literals, ...): quick() leaves them to the tree
_TREE_ONLY = {Prim.CALL, Prim.CHECKPOINTED, Prim.SETITEM_GRAD, Prim.TUPLE,
              Prim.LIST, Prim.NP_EINSUM}
_UNARY = {Prim.NEG: gast.USub, Prim.POS: gast.UAdd, Prim.NOT: gast.Not}
_COMPARE = {Prim.LT: gast.Lt, Prim.LE: gast.LtE, Prim.GT: gast.Gt, Prim.GE: gast.GtE,
            Prim.EQ: gast.Eq, Prim.NE: gast.NotEq}


# --------------------------------------------------------------------------------------
# Compiling


def filename_for(generated: Generated) -> str:
    digest = hashlib.sha256(generated.source.encode()).hexdigest()[:12]
    return f"<s2sad {generated.name} {digest}>"


def compile_generated(generated: Generated) -> Callable:
    """Compile the source into a fresh namespace holding only what it names."""
    filename = filename_for(generated)
    lines = generated.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(generated.source), None, lines, filename)
    namespace: dict[str, object] = {"__builtins__": builtins, "__name__": "s2sad.generated"}
    namespace.update(generated.bindings)
    for alias in generated.modules:
        namespace[alias] = MODULES[alias]
    exec(compile(generated.source, filename, "exec"), namespace)  # noqa: S102 - our own code
    for name, helper in generated.helpers:  # how the frontend knows them: not by name
        namespace[name].__s2sad_helper__ = helper
    return namespace[generated.name]
