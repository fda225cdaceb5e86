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
code, so it was computed exactly when the use runs); a loop's carried value is scalar
when its value inside the body and its result are; an ``if``'s result passes the fact to
what each branch computes. A gradient's output is scalar, so ``grad`` of scalar code
proves nearly everything scalar and its adjoint is plain arithmetic::

    a = add x 5        # scalar: b is scalar and a is an operand of b in the same block
    b = mul a y        # scalar: the output of grad
"""

from __future__ import annotations

from ..ir import Const, For, Function, Global, If, Op, Region, Stmt, Value, Var, While
from ..primitives import Prim

# operands that must be numbers (math.*, float(), builtin min/max)
_NUMBER_ARGS = {Prim.FLOAT, Prim.INT, Prim.MIN, Prim.MAX}


def _needs_numbers(prim: Prim) -> bool:
    return prim.value.startswith("math.") or prim in _NUMBER_ARGS


class Shapes:
    def __init__(self, scalar: set[Var]) -> None:
        self.scalars = frozenset(scalar)

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
        return all(self.scalar(a) or a == arg for j, a in enumerate(op.args) if j != k)


def analyze(fn: Function, known: tuple[Var, ...] = ()) -> Shapes:
    """``known``: values proved scalar by the caller (a gradient's output)."""
    scalar: set[Var] = set(known)
    pass_ = _Pass(scalar)
    while True:
        before = len(scalar)
        pass_.forward(fn.body)
        pass_.backward(fn.body, {p.var for p in fn.params})
        if len(scalar) == before:
            return Shapes(scalar)


class _Pass:
    def __init__(self, scalar: set[Var]) -> None:
        self.s = scalar

    def is_s(self, v: Value) -> bool:
        if isinstance(v, Var):
            return v in self.s
        if isinstance(v, Const):
            return isinstance(v.value, (int, float, bool))
        return True  # Global: a number

    def mark(self, v: object) -> bool:
        if isinstance(v, Var) and v not in self.s:
            self.s.add(v)
            return True
        return False

    # --- forwards ---------------------------------------------------------------------

    def forward(self, body: tuple[Stmt, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, Op):
                if self.computes_scalar(stmt):
                    for r in stmt.results:
                        self.mark(r)
            elif isinstance(stmt, If):
                self.forward(stmt.then.body)
                self.forward(stmt.orelse.body)
                for r, a, b in zip(stmt.results, stmt.then.yields, stmt.orelse.yields):
                    if self.is_s(a) and self.is_s(b):
                        self.mark(r)
            elif isinstance(stmt, (For, While)):
                self.loop_forward(stmt)

    def computes_scalar(self, op: Op) -> bool:
        spec = op.prim.spec
        if spec.scalar or op.prim is Prim.POP:
            return spec.scalar
        if spec.reduction:
            params = dict(op.params)
            axis = params.get("axis", Const(None)).value
            keep = params.get("keepdims", Const(False)).value
            return axis is None and not keep
        if spec.elementwise:
            return all(self.is_s(a) for a in op.args)
        return False

    def loop_forward(self, stmt: For | While) -> None:
        """Carried values are scalar if they start scalar and the body keeps them so."""
        first = 1 if isinstance(stmt, For) else 0
        params = list(stmt.body.params[first:])
        conds = list(stmt.cond.params) if isinstance(stmt, While) else []
        if isinstance(stmt, For):
            self.mark(stmt.body.params[0])
        # optimistic: assume scalar where the init is, retract until the body agrees
        guess = {k for k, init in enumerate(stmt.inits) if self.is_s(init)}
        while True:
            trial = set(self.s)
            for k in guess:
                trial.add(params[k])
                if conds:
                    trial.add(conds[k])
            inner = _Pass(trial)
            if isinstance(stmt, While):
                inner.forward(stmt.cond.body)
            inner.forward(stmt.body.body)
            kept = {k for k in guess if inner.is_s(stmt.body.yields[k])}
            if kept == guess:
                break
            guess = kept
        for k in guess:
            self.mark(params[k])
            self.mark(stmt.results[k])
            if conds:
                self.mark(conds[k])
        if isinstance(stmt, While):
            self.forward(stmt.cond.body)
        self.forward(stmt.body.body)

    # --- backwards --------------------------------------------------------------------

    def backward(self, body: tuple[Stmt, ...], block: set[Var]) -> None:
        """``block``: the values computed in this straight-line block (and its params)."""
        local = set(block)
        for stmt in body:
            if isinstance(stmt, Op):
                local.update(stmt.results)
            elif isinstance(stmt, (If, For, While)):
                local.update(stmt.results)
        for stmt in reversed(body):
            if isinstance(stmt, Op):
                self.op_backward(stmt, local)
            elif isinstance(stmt, If):
                if stmt.cond in local:  # `if c:` needs one truth value
                    self.mark(stmt.cond)
                for k, r in enumerate(stmt.results):
                    if r in self.s:
                        for region in (stmt.then, stmt.orelse):
                            if region.yields[k] in _computed(region):
                                self.mark(region.yields[k])
                self.backward(stmt.then.body, set())
                self.backward(stmt.orelse.body, set())
            elif isinstance(stmt, (For, While)):
                self.loop_backward(stmt, local)

    def op_backward(self, op: Op, local: set[Var]) -> None:
        spec = op.prim.spec
        needs = _needs_numbers(op.prim) or (
            spec.elementwise and all(r in self.s for r in op.results))
        if needs:
            for a in op.args:
                if isinstance(a, Var) and a in local:
                    self.mark(a)

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
            trial = _Pass(set(self.s) | {stmt.body.yields[k] for k in guess})
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


def _computed(region: Region) -> set[Var]:
    found: set[Var] = set(region.params)
    for stmt in region.body:
        if isinstance(stmt, (Op, If, For, While)):
            found.update(stmt.results)
    return found
