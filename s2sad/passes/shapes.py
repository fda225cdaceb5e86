"""Shape analysis: which values are scalars (shape ``()``), so that adjoints can skip
the broadcasting bookkeeping that arrays need.

The adjoint of ``z = x * y`` must sum ``y * g`` down to the shape of ``x`` when ``x`` was
broadcast (``_unbroadcast(y * g, x)``). For scalar code that call would cost more than
the arithmetic, so this pass proves, where it can, that a value has shape ``()``:

    scalar(v)  means  "whenever v is computed and the function returns, v has shape ()"

It is proved forwards (literals, ``math.*`` results, ``len``, full reductions, elementwise
arithmetic of scalars) and backwards: an elementwise result of shape ``()`` had operands of
shape ``()`` at that moment, and ``math.sin(a)`` needs a number. A backward fact crosses
to an operand only within one block (the operand was computed in the same straight-line
code, so it was computed exactly when the use runs), or to a value from before an ``if``
that both branches need as a number (one of them runs); a loop's carried value is scalar
when its value inside the body and its result are; an ``if``'s result passes the fact to
what each branch computes. A gradient's output is scalar, so ``grad`` of scalar code
proves nearly everything scalar and its adjoint is plain arithmetic::

    a = add x 5        # scalar: b is scalar and a is an operand of b in the same block
    b = mul a y        # scalar: the output of grad
"""

from __future__ import annotations

import functools

from .. import index
from ..ir import (
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
    regions_of,
)
from ..primitives import Prim, numpy_result
from . import tapes

# operands that must be numbers (math.*, float(), builtin min/max); a set, not a test of
# the spelling: asked for every op in every round of the fixed point
_NUMBER_ARGS = frozenset({Prim.FLOAT, Prim.INT, Prim.MIN, Prim.MAX}
                         | {p for p in Prim if p.value.startswith("math.")})


def _needs_numbers(prim: Prim) -> bool:
    return prim in _NUMBER_ARGS


class Shapes:
    """The facts about ``fn``. Those read off the scalars once they are known
    (``shape_of``, ``number_uses``, ``numpy_values``) are worked out when first asked
    for: the emitter, which analyses every derivative again, asks for none of them."""

    def __init__(self, fn: Function, scalar: set[Var], lists: set[Var],
                 slots: set[Var]) -> None:
        self.fn = fn
        self.scalars = frozenset(scalar)
        self.lists = frozenset(lists)  # Python lists and tuples (not arrays)
        # the code calls NumPy (heuristics for memory and speed only)
        self.numpy = _uses_numpy(fn.body)
        self.scalar_slots = frozenset(slots)  # setitems of one entry

    @functools.cached_property
    def shape_of(self) -> dict[Var, Var]:
        """Value -> a value proved shaped like it."""
        return _same_shapes(self.fn, self.scalars)

    @functools.cached_property
    def number_uses(self) -> frozenset[Var]:
        """Values every elementwise use of which yields a number (so they are numbers
        when used: y in `a * y` with a scalar result, even inside a loop)."""
        return frozenset(_number_uses(self.fn.body, self.scalars))

    @functools.cached_property
    def numpy_values(self) -> frozenset[Var]:
        """Values that are certainly NumPy objects (primitives.numpy_result), whatever the
        inputs: `/` on one follows NumPy. Loops' carried values and branches' results are
        not counted (which costs only a spelling: np.divide for `/` in a rule)."""
        return frozenset(_numpy_values(self.fn.body))

    def used_as_number(self, v: object) -> bool:
        return self.scalar(v) or v in self.number_uses

    def same(self, a: object, b: object) -> bool:
        """Are ``a`` and ``b`` proved to have one shape?"""
        if a == b or (self.scalar(a) and self.scalar(b)):
            return True
        return isinstance(a, Var) and isinstance(b, Var) \
            and self._root(a) == self._root(b)

    def _root(self, v: Var) -> Var:
        while v in self.shape_of:
            v = self.shape_of[v]
        return v

    def is_list(self, v: object) -> bool:
        return isinstance(v, Var) and v in self.lists

    def scalar(self, v: object) -> bool:
        if isinstance(v, Var):
            return v in self.scalars
        if isinstance(v, Const):
            return isinstance(v.value, (int, float, bool))
        return isinstance(v, Global)  # globals are numbers

    def same_shape(self, op: Op, k: int) -> bool:
        """Is operand ``k`` of elementwise ``op`` shaped like its result?"""
        if self.scalar(op.result):
            return True
        arg = op.args[k]
        if self.same(op.result, arg):
            return True
        return all(self.scalar(a) or a == arg for j, a in enumerate(op.args) if j != k)


def analyze(fn: Function, known: tuple[Var, ...] = ()) -> Shapes:
    """``known``: values proved scalar by the caller (a gradient's output)."""
    scalar: set[Var] = set(known)
    pass_ = _Pass(scalar, {})
    params = {p.var for p in fn.params}
    backward_found = True
    while True:
        before = (len(scalar), len(pass_.ndim))
        ndim, lengths = dict(pass_.ndim), dict(pass_.lengths)
        pass_.forward(fn.body)
        unchanged = len(scalar) == before[0] and pass_.ndim == ndim \
            and pass_.lengths == lengths
        # The backward walk changes only which values are scalar (and slots). If the last
        # one found nothing and this forward walk changed nothing, this one would start
        # from the facts the last one started from and find nothing again, which ends the
        # fixed point: it is skipped (the last of four to six walks, often).
        if backward_found or not unchanged:
            size = len(scalar)
            pass_.backward(fn.body, params)
            backward_found = len(scalar) != size
        if (len(scalar), len(pass_.ndim)) == before:
            return Shapes(fn, scalar, lists(fn.body), pass_.slots)


def _numpy_values(body: tuple[Stmt, ...]) -> set[Var]:
    """The results in ``body`` (and in its regions) that are certainly NumPy objects."""
    found: set[Var] = set()

    def walk(stmts: tuple[Stmt, ...]) -> None:
        for stmt in stmts:
            if isinstance(stmt, Op) and len(stmt.results) == 1:
                operands = stmt.args[:1] if stmt.prim is Prim.GETITEM else stmt.args
                if numpy_result(stmt.prim, [a in found for a in operands]):
                    found.add(stmt.result)
            elif isinstance(stmt, Op) and stmt.prim.value.startswith("np."):
                found.update(stmt.results)  # np.linalg.slogdet, svd
            for region in regions_of(stmt):
                walk(region.body)

    walk(body)
    return found


_SAME_NDIM = {Prim.NP_ZEROS_LIKE, Prim.ZEROS, Prim.NP_ONES_LIKE, Prim.NP_COPY, Prim.ZEROS_LIKE,
              Prim.COPY, Prim.T, Prim.NP_TRANSPOSE, Prim.SETITEM, Prim.INDEX_ADD,
              Prim.UNBROADCAST, Prim.INV, Prim.CHOLESKY, Prim.NP_ASARRAY}
_CONSTRUCTORS = {Prim.NP_ZEROS, Prim.NP_ONES, Prim.NP_FULL}


class _Pass:
    """``s``: values proved to have shape (); ``ndim``: arrays whose number of
    dimensions is known (forwards: ``np.zeros(n)`` has one, ``y[i]`` of it none)."""

    def __init__(self, scalar: set[Var], ndim: dict[Var, int]) -> None:
        self.s = scalar
        self.ndim = ndim
        self.slots: set[Var] = set()  # writes into one entry (x.1 = setitem x v i)
        self.lengths: dict[Var, int] = {}  # tuples of known length (shapes)

    def is_s(self, v: Value) -> bool:
        if isinstance(v, Var):
            return v in self.s
        if isinstance(v, Const):
            return isinstance(v.value, (int, float, bool))
        return True  # Global: a number

    def dims(self, v: Value) -> int | None:
        # is_s written out: asked for every operand of every op in every round
        if isinstance(v, Var):
            return 0 if v in self.s else self.ndim.get(v)
        if isinstance(v, Const):
            return 0 if isinstance(v.value, (int, float, bool)) else None
        return 0  # Global: a number

    def mark(self, v: object) -> bool:
        if isinstance(v, Var) and v not in self.s:
            self.s.add(v)
            return True
        return False

    def set_dims(self, v: Var, n: int | None) -> None:
        if n == 0:
            self.mark(v)
        elif n is not None:
            self.ndim[v] = n

    # --- forwards ---------------------------------------------------------------------

    def forward(self, body: tuple[Stmt, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, Op):
                if stmt.prim is Prim.TUPLE:
                    self.lengths[stmt.result] = len(stmt.args)
                elif stmt.prim is Prim.SHAPE and self.dims(stmt.args[0]) is not None:
                    self.lengths[stmt.result] = self.dims(stmt.args[0])  # type: ignore
                elif len(stmt.results) == 1:
                    self.set_dims(stmt.result, self.op_dims(stmt))
            elif isinstance(stmt, If):
                self.forward(stmt.then.body)
                self.forward(stmt.orelse.body)
                for r, a, b in zip(stmt.results, stmt.then.yields, stmt.orelse.yields):
                    if self.dims(a) is not None and self.dims(a) == self.dims(b):
                        self.set_dims(r, self.dims(a))
            elif isinstance(stmt, (For, While)):
                self.loop_forward(stmt)

    def op_dims(self, op: Op) -> int | None:
        """The number of dimensions of ``op``'s result, when the operands tell."""
        spec, p, args = op.prim.spec, op.prim, op.args
        if spec.scalar:
            return 0
        if spec.reduction:
            params = {k: v.value for k, v in op.params}
            axis, keep = params.get("axis"), params.get("keepdims", False)
            if axis is None and not keep:
                return 0
            n = self.dims(args[0])
            if n is None or keep:
                return n
            return n - (len(axis) if isinstance(axis, tuple) else 1)
        if spec.elementwise:  # the most operands have
            most = 0
            for a in args:
                n = self.dims(a)
                if n is None:
                    return None
                most = max(most, n)
            return most
        if p in _SAME_NDIM:
            return self.dims(args[0])
        if p in _CONSTRUCTORS:
            return self.shape_length(args[0])
        if p in (Prim.NP_EYE, Prim.NP_IDENTITY, Prim.NP_OUTER):
            return 2
        if p in (Prim.NP_ARANGE, Prim.NP_LINSPACE, Prim.NP_RAVEL):
            return 1
        if p in (Prim.DET,):
            return 0
        if p is Prim.NP_RESHAPE:
            return self.shape_length(args[1])
        if p in (Prim.MATMUL, Prim.NP_MATMUL, Prim.NP_DOT):
            a, b = self.dims(args[0]), self.dims(args[1])
            if a in (1, 2) and b in (1, 2):
                return a + b - 2
            return None
        if p is Prim.SOLVE:
            return self.dims(args[1])
        if p is Prim.GETITEM:
            return self.item_dims(op)
        return None

    def shape_length(self, shape: Value) -> int | None:
        """How many dimensions an array of this shape has (``n`` or ``(n, m)``)."""
        if isinstance(shape, Const):
            if isinstance(shape.value, tuple):
                return len(shape.value)
            return 1 if isinstance(shape.value, int) else None
        if isinstance(shape, Var):
            if shape in self.lengths:
                return self.lengths[shape]
            return 1 if shape in self.s else None
        return 1

    def item_dims(self, op: Op) -> int | None:
        n = self.dims(op.args[0])
        if n is None:
            return None
        parts, _ = index.parse(dict(op.params)["index"].value)
        operands = iter(op.args[1:])
        for part in parts:
            if part[0] == "value":
                if not self.is_s(next(operands)):
                    return None  # an array of indices, or a mask
                n -= 1
            elif part[0] == "none":
                n += 1
            elif part[0] == "ellipsis":
                return None
            else:
                for has in part[1:]:
                    if has:
                        next(operands)
        return n if n >= 0 else None

    def loop_forward(self, stmt: For | While) -> None:
        """Carried values keep their dimensions if they start with them and the body
        keeps them so (assumed, then retracted until the body agrees)."""
        first = 1 if isinstance(stmt, For) else 0
        params = list(stmt.body.params[first:])
        conds = list(stmt.cond.params) if isinstance(stmt, While) else []
        if isinstance(stmt, For):
            self.mark(stmt.body.params[0])
        guess = {k: self.dims(init) for k, init in enumerate(stmt.inits)
                 if self.dims(init) is not None}
        while True:
            inner = _Pass(set(self.s), dict(self.ndim))
            inner.lengths = dict(self.lengths)
            for k, n in guess.items():
                inner.set_dims(params[k], n)
                if conds:
                    inner.set_dims(conds[k], n)
            if isinstance(stmt, While):
                inner.forward(stmt.cond.body)
            inner.forward(stmt.body.body)
            kept = {k: n for k, n in guess.items()
                    if inner.dims(stmt.body.yields[k]) == n}
            if kept == guess:
                break
            guess = kept
        for k, n in guess.items():
            for v in (params[k], stmt.results[k], *(conds[k:k + 1] if conds else ())):
                self.set_dims(v, n)
        # the last trial ran the body from these very facts: take what it found
        self.s |= inner.s
        self.ndim.update(inner.ndim)
        self.lengths.update(inner.lengths)

    # --- backwards --------------------------------------------------------------------

    def backward(self, body: tuple[Stmt, ...], block: set[Var],
                 demands: set[Var] | None = None) -> None:
        """``block``: the values computed in this straight-line block (and its params).

        ``demands`` collects the values from outside the block that it needs to be numbers
        (the body of a branch: if both branches need one, the ``if`` does)."""
        local = set(block)
        for stmt in body:
            if isinstance(stmt, Op):
                local.update(stmt.results)
            elif isinstance(stmt, (If, For, While)):
                local.update(stmt.results)
        outside: set[Var] = set()  # what this block needs from outside it
        for stmt in reversed(body):
            if isinstance(stmt, Op):
                self.op_backward(stmt, local, outside)
            elif isinstance(stmt, If):
                if stmt.cond in local:  # `if c:` needs one truth value
                    self.mark(stmt.cond)
                needs = []
                for region in (stmt.then, stmt.orelse):
                    computed = _computed(region)
                    need: set[Var] = set()
                    for k, r in enumerate(stmt.results):
                        if r in self.s and isinstance(region.yields[k], Var):
                            if region.yields[k] in computed:
                                self.mark(region.yields[k])
                            else:
                                need.add(region.yields[k])
                    self.backward(region.body, set(), need)
                    needs.append(need)
                # whichever branch runs needs these: the `if` needs them
                for v in needs[0] & needs[1]:
                    if v in local:
                        self.mark(v)
                    else:
                        outside.add(v)
            elif isinstance(stmt, (For, While)):
                self.loop_backward(stmt, local)
        if demands is not None:
            demands |= outside

    def op_backward(self, op: Op, local: set[Var], outside: set[Var]) -> None:
        spec = op.prim.spec
        if op.prim is Prim.SETITEM and isinstance(op.args[1], Var) and op.args[1] in local:
            # a value written into one entry of an array is a number
            item = Op((op.result,), Prim.GETITEM, (op.args[0], *op.args[2:]), op.params)
            if self.item_dims(item) == 0:
                self.mark(op.args[1])
                self.slots.add(op.result)
        needs = _needs_numbers(op.prim) or (
            spec.elementwise and all(r in self.s for r in op.results))
        if needs:
            for a in op.args:
                if isinstance(a, Var):
                    if a in local:
                        self.mark(a)
                    else:
                        outside.add(a)

    def loop_backward(self, stmt: For | While, local: set[Var]) -> None:
        first = 1 if isinstance(stmt, For) else 0
        params = stmt.body.params[first:]
        conds = stmt.cond.params if isinstance(stmt, While) else params
        body_block = set(stmt.body.params)
        if isinstance(stmt, While):
            self.backward(stmt.cond.body, set(stmt.cond.params))
        self.backward(stmt.body.body, body_block)
        # A scalar result is the last value the body yields. Assume every yield scalar and
        # see whether the body then needs its params scalar: if so, by induction from the
        # last iteration backwards, every carried value is scalar at every step.
        computed = _computed(stmt.body)
        guess = {k for k, r in enumerate(stmt.results) if r in self.s
                 and (params[k] not in self.s or conds[k] not in self.s)
                 and stmt.body.yields[k] in computed}
        while guess:
            trial = _Pass(set(self.s) | {stmt.body.yields[k] for k in guess}, dict(self.ndim))
            trial.backward(stmt.body.body, body_block)
            kept = {k for k in guess if params[k] in trial.s}
            if kept == guess:
                break
            guess = kept
        for k in guess:
            self.mark(params[k])
            self.mark(conds[k])
        for k in range(len(stmt.results)):
            if params[k] in self.s and conds[k] in self.s and stmt.results[k] in self.s:
                self._carry(stmt, k, local)

    def _carry(self, stmt: For | While, k: int, local: set[Var]) -> None:
        """The carried value ``k`` is scalar at every step: its init and yield are too."""
        if stmt.inits[k] in local:
            self.mark(stmt.inits[k])
        if stmt.body.yields[k] in _computed(stmt.body):
            self.mark(stmt.body.yields[k])


def _same_shapes(fn: Function, scalar: frozenset[Var]) -> dict[Var, Var]:
    """Each elementwise result whose other operands are numbers is shaped like the one
    operand that may not be (``2 * t`` like ``t``); straight-line code, any depth. Also
    ``x[k:]`` like ``x[:-k]`` (both drop k entries of the first axis), and what a tape
    gives back like what was pushed."""
    found: dict[Var, Var] = {}
    ends: dict[tuple, tuple] = {}  # (x, k) -> (x[k:] or x[:-k], its pattern)

    def root(v: object) -> object:
        while v in found:
            v = found[v]
        return v

    def walk(stmts: tuple[Stmt, ...]) -> None:
        for stmt in stmts:
            if isinstance(stmt, Op) and len(stmt.results) == 1 \
                    and (stmt.prim.spec.elementwise or stmt.prim in _SAME_SHAPE):
                arrays = {root(a) for a in stmt.args
                          if not (isinstance(a, Const) or a in scalar)}
                if len(arrays) == 1:  # the others are numbers, or shaped like it
                    (only,) = arrays
                    if isinstance(only, Var) and only != stmt.result:
                        found[stmt.result] = only
            elif isinstance(stmt, Op) and stmt.prim is Prim.GETITEM:
                _dropped_end(stmt, ends, found)
            for region in regions_of(stmt):
                walk(region.body)

    walk(fn.body)
    for popped, pushed in tapes.given_back(fn).items():
        if isinstance(pushed, Var) and popped != pushed:
            found.setdefault(popped, pushed)
    return found


def _dropped_end(op: Op, ends: dict[tuple, tuple], found: dict[Var, Var]) -> None:
    """``x[k:]`` and ``x[:-k]`` (k > 0 a literal) have one shape."""
    pattern = dict(op.params)["index"].value
    if len(op.args) != 2 or not isinstance(op.args[1], Const) \
            or type(op.args[1].value) is not int or pattern not in ("_:", ":_"):
        return
    k = op.args[1].value if pattern == "_:" else -op.args[1].value
    if k <= 0:
        return
    key = (op.args[0], k)
    if key in ends:
        if ends[key][1] != pattern:
            found.setdefault(op.result, ends[key][0])
    else:
        ends[key] = (op.result, pattern)


_SAME_SHAPE = {Prim.NP_COPY, Prim.NP_ZEROS_LIKE, Prim.ZEROS, Prim.NP_ONES_LIKE, Prim.SETITEM,
               Prim.INDEX_ADD}
_CONTAINERS = {Prim.LIST, Prim.TUPLE, Prim.APPEND, Prim.SPREAD, Prim.UNCONCATENATE}


def _number_uses(body: tuple[Stmt, ...], scalar: frozenset[Var]) -> set[Var]:
    """Operands whose every use is elementwise with a number as result (or math.*)."""
    good: set[Var] = set()
    bad: set[Var] = set()

    def walk(stmts: tuple[Stmt, ...]) -> None:
        for stmt in stmts:
            if isinstance(stmt, Op):
                ok = _needs_numbers(stmt.prim) or (
                    stmt.prim.spec.elementwise and all(r in scalar for r in stmt.results))
                for a in stmt.args:
                    if isinstance(a, Var):
                        (good if ok else bad).add(a)
            else:
                for v in _read_by(stmt):
                    bad.add(v)
            for region in regions_of(stmt):
                walk(region.body)
                bad.update(v for v in region.yields if isinstance(v, Var))

    walk(body)
    return good - bad


def _read_by(stmt: Stmt) -> list[Var]:
    if isinstance(stmt, If):
        return [stmt.cond] if isinstance(stmt.cond, Var) else []
    if isinstance(stmt, (For, While)):
        extra = [stmt.start, stmt.stop, stmt.step] if isinstance(stmt, For) else []
        return [v for v in (*stmt.inits, *extra) if isinstance(v, Var)]
    return []


def _uses_numpy(body: tuple[Stmt, ...]) -> bool:
    """Does the code call NumPy (or a helper of generated code)? Code that does not works
    on numbers in practice, whatever the analysis could prove."""
    for stmt in body:
        if isinstance(stmt, Op) and stmt.prim.spec.call \
                and stmt.prim.spec.call.startswith(("np.", "_")):
            return True
        if any(_uses_numpy(r.body) for r in regions_of(stmt)):
            return True
    return False


def lists(body: tuple[Stmt, ...]) -> set[Var]:
    """The values that are Python lists or tuples: built as such, or carried from them."""
    found: set[Var] = set()
    while True:
        before = len(found)
        _collect_lists(body, found)
        if len(found) == before:
            return found


def _collect_lists(body: tuple[Stmt, ...], found: set[Var]) -> None:
    for stmt in body:
        if isinstance(stmt, Op):
            if stmt.prim in _CONTAINERS or (stmt.prim in (Prim.COPY, Prim.SETITEM)
                                            and stmt.args[0] in found):
                found.update(stmt.results)
        elif isinstance(stmt, If):
            _collect_lists(stmt.then.body, found)
            _collect_lists(stmt.orelse.body, found)
            for r, a, b in zip(stmt.results, stmt.then.yields, stmt.orelse.yields):
                if a in found or b in found:
                    found.add(r)
        elif isinstance(stmt, (For, While)):
            first = 1 if isinstance(stmt, For) else 0
            params = stmt.body.params[first:]
            conds = stmt.cond.params if isinstance(stmt, While) else params
            for k, r in enumerate(stmt.results):
                if stmt.inits[k] in found or stmt.body.yields[k] in found:
                    found.update((r, params[k], conds[k]))
            if isinstance(stmt, While):
                _collect_lists(stmt.cond.body, found)
            _collect_lists(stmt.body.body, found)


def _computed(region: Region) -> set[Var]:
    found: set[Var] = set(region.params)
    for stmt in region.body:
        if isinstance(stmt, (Op, If, For, While)):
            found.update(stmt.results)
    return found
