"""Which index writes provably touch different entries of an array.

``g[:n]`` and ``g[n:2 * n]`` never meet, nor do ``g[0]`` and ``g[2]``, nor ``g[:, 0]`` and
``g[:, 1]``. The emitter uses this for an adjoint built in a fresh zero array: a write into
a part no earlier write touched finds zeros there, so ``g[s] += v`` is ``g[s] = v`` (one
NumPy call instead of three: read, add, write back), as one writes it by hand.

A bound is proved as ``k * s`` with ``k`` a literal and ``s`` a value that is never negative
(an entry of a shape, a ``len``), or as a literal, following copies and what a tape gives
back to where it was computed. Two parts of one axis are apart when one ends where or
before the other starts; an index is apart from another when, along some axis, their parts
are (literal integers and slices before that axis take one axis each, so the axes line up).
Slicing clamps its bounds to the array's length, which keeps their order, so bounds that
are apart before clamping select entries that are apart.
"""

from __future__ import annotations

from .. import index
from ..ir import Const, Function, Value, Var, defining_ops
from ..primitives import Prim
from . import tapes

Bound = tuple  # (k, s): k * s for a value s that is never negative; (k, None): the literal k
_END = ("end",)  # a slice without an upper bound

Write = tuple  # (pattern, operands) of one index write


class Extents:
    def __init__(self, fn: Function) -> None:
        self.defining = defining_ops(fn)
        self.pushed = tapes.given_back(fn)  # a popped value -> what its push put there

    def origin(self, v: Value) -> Value:
        """``v`` followed back through copies and the tape."""
        seen = 0
        while isinstance(v, Var) and seen < 100:
            seen += 1
            if v in self.pushed:
                v = self.pushed[v]
                continue
            op = self.defining.get(v)
            if op is not None and op.prim is Prim.COPY:
                v = op.args[0]
                continue
            break
        return v

    def natural(self, v: Value) -> Var | None:
        """``v`` as a value that is never negative (a shape's entry, a len), if it is one."""
        v = self.origin(v)
        op = self.defining.get(v) if isinstance(v, Var) else None
        if op is None:
            return None
        if op.prim is Prim.LEN:
            return v  # type: ignore[return-value]
        if op.prim is Prim.GETITEM and dict(op.params)["index"].value == "_" \
                and isinstance(op.args[1], Const) and type(op.args[1].value) is int:
            shape = self.defining.get(self.origin(op.args[0]))  # type: ignore[arg-type]
            if shape is not None and shape.prim is Prim.SHAPE:
                return v  # type: ignore[return-value]
        return None

    def bound(self, v: Value) -> Bound | None:
        v = self.origin(v)
        if isinstance(v, Const):
            return (v.value, None) if type(v.value) is int and v.value >= 0 else None
        s = self.natural(v)
        if s is not None:
            return (1, s)
        op = self.defining.get(v) if isinstance(v, Var) else None
        if op is not None and op.prim is Prim.MUL:
            for k, other in (op.args, op.args[::-1]):
                if isinstance(k, Const) and type(k.value) is int and k.value >= 0:
                    s = self.natural(other)
                    if s is not None:
                        return (k.value, s)
        return None

    def apart(self, a: Write, b: Write) -> bool:
        """Do the index writes ``a`` and ``b`` (pattern, operands) touch different entries?"""
        axes_a, axes_b = self._axes(*a), self._axes(*b)
        for part_a, part_b in zip(axes_a, axes_b):
            if part_a is None or part_b is None:
                return False
            (lo_a, hi_a), (lo_b, hi_b) = part_a, part_b
            if _at_most(hi_a, lo_b) or _at_most(hi_b, lo_a):
                return True
        return False

    def _axes(self, pattern: str, operands: tuple[Value, ...]) -> list[tuple | None]:
        """Each leading part as the extent it selects along its axis, (lo, hi), up to the
        first part that is not a literal integer or a slice without a step (None there)."""
        parts, _ = index.parse(pattern)
        values = iter(operands)
        out: list[tuple | None] = []
        for part in parts:
            if part[0] == "value":
                v = next(values)
                if not (isinstance(v, Const) and type(v.value) is int and v.value >= 0):
                    out.append(None)
                    break
                out.append(((v.value, None), (v.value + 1, None)))
            elif part[0] == "slice" and not part[3]:
                lo = self.bound(next(values)) if part[1] else (0, None)
                hi = self.bound(next(values)) if part[2] else _END
                if lo is None or hi is None:
                    out.append(None)
                    break
                out.append((lo, hi))
            else:
                out.append(None)
                break
        return out


def _at_most(a: Bound, b: Bound) -> bool:
    """Is ``a <= b`` whatever the values the bounds are made of?"""
    if a is _END:
        return False
    if b is _END:
        return True  # an open end reaches past anything
    (ka, sa), (kb, sb) = a, b
    if sa is None and sb is None:
        return ka <= kb
    if sa is None:
        return ka == 0  # 0 <= k * s
    return sa == sb and ka <= kb  # type: ignore[no-any-return]
