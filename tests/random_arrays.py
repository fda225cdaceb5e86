"""A generator of random NumPy programs with calls and control flow, and their oracles.

``generate_program(choose)`` writes a module::

    import math

    import numpy as np


    def h1(u, v, scale=0.5):      # 0-2 helpers, each called by what follows it
        ...
        return <array or scalar>  # or a pair


    def f(x, y, z):               # x, y, z: arrays of random shapes (or a number for y, z)
        ...
        return <scalar>

Every expression is generated for a *target shape* (``expr(shape, depth)``), so shapes are
known statically: elementwise functions with their inputs inside each function's domain
(``np.log(1.0 + e * e)``, ``np.arcsin(0.5 * np.tanh(e))``, divisors ``>= 1``), binary
operations on operands whose shapes broadcast to the target (``(m, 1)`` with ``(n,)``),
reductions (``sum mean max min var std prod norm trace``, methods, ``axis``, negative axes,
``keepdims``, ``ddof``), ``@``/``dot``/``inner``/``outer``/``einsum``, ``np.where``,
``clip``, ``maximum``/``minimum``, comparisons multiplied in, subscript reads (integers,
loop indices, ``i - 1``, slices with steps, ``[:, j]``, ``None``, fancy and boolean
indices), shape operations (``.T``, ``reshape``, ``ravel``, ``flatten``, ``stack``,
``concatenate``, ``expand_dims``, ``squeeze``, ``broadcast_to``), conditional
expressions, ``sum`` of list literals and of list comprehensions, and calls to the
helpers (keyword arguments, defaults, an active keyword, indexing a pair result).

Statements: assignments (new names, reassignments keeping their shape, names that collide
with what s2sad generates), augmented assignments, tuple assignments and swaps, arrays the
function owns (``w1 = np.zeros(...)``, ``x.copy()``) written by index (``w1[i] = e``,
``w1[i, :] += e``, slices, masks, fancy indices) at top level and in loops, lists built by
``append`` in a loop and read back (``np.stack``, ``sum``, ``acc[-1]``), ``p, q = h(...)``,
``if``/``elif``/``else`` on scalar conditions (``and``/``or``/``not``), ``for`` over
``range`` (constants, ``len(x)``, ``x.shape[0]``), over arrays, ``enumerate`` and ``zip``,
``while`` loops with a counter, and ``break``/``continue``/``return`` ending branches.
Values are bounded as in ``test_random_programs``: a worst-case bound on every entry is
tracked and anything that might exceed ``MAX_BOUND`` is squashed through ``np.tanh``; names
a loop carries are capped on entry, so no number of trips overflows.

Value semantics. NumPy's ``a += e`` writes into the array ``a`` names, so it is visible
through every other name for that array; s2sad, like the rest of the subset, keeps values
apart. The generator writes programs whose meaning does not depend on that: an in-place
``+=`` only on an array no other name can share (its last binding made a new array, and
inside a loop only a name local to the body), ``a = a + e`` otherwise; arrays the function
writes into by index are never given a second name (a view, an alias, a list item or a
helper's argument gets ``.copy()``). The programs where it matters are regression tests in
``test_random_arrays.py``.

A probe version of the module records every discrete decision (comparisons, ``abs``,
``sign``, ``floor``, ``max``/``min``/``maximum``/``minimum``/``clip``, masks) as arrays,
with how far each entry is from switching, and flags singular points (``std`` of equal
entries, ``norm`` of zero); ``check_program`` trusts a finite difference only where every
decision is the same on the whole stencil.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import math
import random
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import CodeType

import numpy as np

import s2sad

Shape = tuple[int, ...]
EPS = sys.float_info.epsilon
PARAMS = ("x", "y", "z")
ALL_WRT = (0, 1, 2)
INPUT_BOUND = 1.5
MAX_BOUND = 100.0
# names the statements assign: plain names, and names s2sad's generated code uses for its
# temporaries, tangents, adjoints and tape
LOCALS = ("a", "b", "c", "u", "v", "t1", "t2", "dx", "da", "dfdx", "dfda", "tape", "acc_1")
WRITABLE = ("w1", "w2", "dw1")
LISTS = ("acc", "parts")
INDICES = ("i", "j", "k")
COUNTERS = ("n", "p")
ITEMS = ("item", "row", "col")  # comprehension variables by depth
HELPER_PARAMS = ("u", "v")
CONSTANTS = ("0.5", "1.0", "2.0", "1.5", "3.0", "0.0", "0.25")
MAX_LOOP_DEPTH = 2
MAX_NESTING = 3
MAX_TRIPS = (5, 4, 3)
MAX_RETURNS = 2
# Patterns that s2sad gets wrong (regression tests in test_random_arrays.py, xfail): kept
# out of the generated programs so that the random tests look for new bugs. Turn them on
# (and delete these lines) when the regressions pass.
BROADCAST_WRITES = True  # `w[0] = z` for a number z, `w[0:2] = v` (fixed in a5efb1a)


# --------------------------------------------------------------------------------------
# Expressions


@dataclass(frozen=True)
class E:
    text: str
    probe: str
    shape: Shape
    bound: float
    fresh: bool = True  # a new array: no name shares its storage
    atom: bool = False  # needs no parentheses as an operand


def _is_atom(text: str) -> bool:
    node = ast.parse(text, mode="eval").body
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, (int, float)) or node.value >= 0
    return isinstance(node, (ast.Call, ast.Name, ast.Attribute, ast.Subscript, ast.List))


def _slot_delimited(fmt: str, token: str) -> bool:
    parts = fmt.split(token)
    return all(before.endswith(("(", ", ", "[")) for before in parts[:-1]) and \
        all(after.startswith((")", ",", "]")) for after in parts[1:])


def form(fmt: str, shape: Shape, bound: float, *args: E, probe: str | None = None,
         fresh: bool = True) -> E:
    """``fmt`` with ``{0}``, ``{1}``... standing for the operands (parenthesised unless the
    slot is delimited, as in ``np.sin({0})``); ``probe`` is the probe's format."""
    texts, probes = [], []
    for i, a in enumerate(args):
        wrap = not a.atom and not _slot_delimited(fmt, f"{{{i}}}")
        texts.append(f"({a.text})" if wrap else a.text)
        probes.append(f"({a.probe})" if wrap else a.probe)
    text = fmt.format(*texts)
    return E(text, (probe or fmt).format(*probes), shape, bound, fresh, _is_atom(text))


def atom(text: str, shape: Shape, bound: float, fresh: bool = False,
         probe: str | None = None) -> E:
    return E(text, probe or text, shape, bound, fresh, _is_atom(text))


def broadcast(*shapes: Shape) -> Shape | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def size(shape: Shape) -> int:
    return int(np.prod(shape, dtype=int))


# elementwise unary forms: (format, probe format or None, bound of the result given the
# operand's bound b)
UNARY: tuple[tuple[str, str | None, Callable[[float], float]], ...] = (
    ("np.sin({0})", None, lambda b: 1.0),
    ("np.cos({0})", None, lambda b: 1.0),
    ("np.tanh({0})", None, lambda b: 1.0),
    ("-{0}", None, lambda b: b),
    ("{0} ** 2", None, lambda b: b * b),
    ("np.square({0})", None, lambda b: b * b),
    ("{0} * 0.5", None, lambda b: 0.5 * b),
    ("{0} / 3", None, lambda b: b / 3),
    ("np.exp(np.tanh({0}))", None, lambda b: math.e),
    ("np.exp(-{0} * {0})", None, lambda b: 1.0),
    ("np.log(1.0 + {0} * {0})", None, lambda b: math.log1p(b * b)),
    ("np.log1p({0} ** 2)", None, lambda b: math.log1p(b * b)),
    ("np.sqrt(1.0 + {0} * {0})", None, lambda b: math.sqrt(1 + b * b)),
    ("np.expm1(np.sin({0}))", None, lambda b: math.e),
    ("np.sinh(np.tanh({0}))", None, lambda b: math.sinh(1.0)),
    ("np.cosh(np.cos({0}))", None, lambda b: math.cosh(1.0)),
    ("np.arctan({0})", None, lambda b: math.pi / 2),
    ("np.arcsin(0.5 * np.tanh({0}))", None, lambda b: math.pi / 2),
    ("np.arccos(0.5 * np.tanh({0}))", None, lambda b: math.pi),
    ("np.tan(0.5 * np.tanh({0}))", None, lambda b: math.tan(0.5)),
    ("np.log2(2.0 + np.cos({0}))", None, lambda b: math.log2(3.0)),
    ("np.log10(2.0 + np.sin({0}))", None, lambda b: math.log10(3.0)),
    ("np.hypot({0}, 1.0)", None, lambda b: math.hypot(b, 1.0)),
    ("np.power(1.0 + {0} * {0}, 0.5)", None, lambda b: math.sqrt(1 + b * b)),
    ("(1.0 + {0} * {0}) ** -1", None, lambda b: 1.0),
    ("np.negative({0})", None, lambda b: b),
    ("{0} ** 3", None, lambda b: b ** 3),
    ("np.abs({0})", "_abs({0})", lambda b: b),
    ("np.clip({0}, -0.5, 0.75)", "_clip({0}, -0.5, 0.75)", lambda b: 0.75),
    ("{0} * np.sign({0})", "{0} * _sign({0})", lambda b: b),
    ("np.floor({0}) * 0.5 + {0}", "_floor({0}) * 0.5 + {0}", lambda b: 1.5 * b + 0.5),
    ("np.maximum({0}, 0.0)", "_maximum({0}, 0.0)", lambda b: b),
    ("{0} * ({0} > 0.25)", "{0} * _gt({0}, 0.25)", lambda b: b),
    ("np.where({0} > 0.0, {0}, 0.1 * {0})", "np.where(_gt({0}, 0.0), {0}, 0.1 * {0})",
     lambda b: b),
)
# for numbers only: math and the builtins
SCALAR_UNARY: tuple[tuple[str, str | None, Callable[[float], float]], ...] = (
    ("math.sin({0})", None, lambda b: 1.0),
    ("math.exp(math.tanh({0}))", None, lambda b: math.e),
    ("math.log(1.0 + {0} * {0})", None, lambda b: math.log1p(b * b)),
    ("math.sqrt(1.0 + {0} * {0})", None, lambda b: math.sqrt(1 + b * b)),
    ("math.atan({0})", None, lambda b: math.pi / 2),
    ("abs({0})", "_pyabs({0})", lambda b: b),
    ("float({0})", None, lambda b: b),
)
BINARY: tuple[tuple[str, str | None, Callable[[float, float], float]], ...] = (
    ("{0} + {1}", None, lambda a, b: a + b),
    ("{0} - {1}", None, lambda a, b: a + b),
    ("{0} * {1}", None, lambda a, b: a * b),
    ("{0} / (1.0 + {1} * {1})", None, lambda a, b: a),
    ("{0} / (2.0 + np.sin({1}))", None, lambda a, b: a),
    ("np.add({0}, {1})", None, lambda a, b: a + b),
    ("np.subtract({0}, {1})", None, lambda a, b: a + b),
    ("np.multiply({0}, {1})", None, lambda a, b: a * b),
    ("np.divide({0}, 1.5 + np.cos({1}))", None, lambda a, b: 2 * a),
    ("np.maximum({0}, {1})", "_maximum({0}, {1})", max),
    ("np.minimum({0}, {1})", "_minimum({0}, {1})", max),
    ("np.arctan2({0}, 1.0 + {1} ** 2)", None, lambda a, b: math.pi / 2),
    ("np.hypot({0}, 1.0 + {1} ** 2)", None, lambda a, b: a + 1 + b * b),
    ("np.power(1.0 + {0} * {0}, np.tanh({1}))", None, lambda a, b: 1 + a * a),
    ("{0} * ({0} < {1})", "{0} * _lt({0}, {1})", lambda a, b: a),
    ("np.where({0} > {1}, {0}, {1} * 0.5)", "np.where(_gt({0}, {1}), {0}, {1} * 0.5)", max),
)
SCALAR_BINARY: tuple[tuple[str, str | None, Callable[[float, float], float]], ...] = (
    ("min({0}, {1})", "_pymin({0}, {1})", max),
    ("max({0}, {1})", "_pymax({0}, {1})", max),
    ("math.atan2({0}, 1.0 + {1} ** 2)", None, lambda a, b: math.pi / 2),
    ("math.hypot({0}, 1.0 + {1} ** 2)", None, lambda a, b: a + 1 + b * b),
)
# reductions: (function, probe function or None, bound given the operand's bound and the
# number of entries reduced)
REDUCTIONS: tuple[tuple[str, str | None, Callable[[float, int], float]], ...] = (
    ("np.sum", None, lambda b, k: b * k),
    ("np.mean", None, lambda b, k: b),
    ("np.max", "_max", lambda b, k: b),
    ("np.min", "_min", lambda b, k: b),
    ("np.var", None, lambda b, k: b * b),
    ("np.std", "_std", lambda b, k: b),
    ("np.prod", None, lambda b, k: b ** k),
    (".sum", None, lambda b, k: b * k),
    (".mean", None, lambda b, k: b),
    (".max", "_max", lambda b, k: b),
    ("np.linalg.norm", None, lambda b, k: b * math.sqrt(k)),  # all entries only
)


def reduce_shape(shape: Shape, axis: int | None, keepdims: bool) -> Shape:
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else ()
    axis %= len(shape)
    if keepdims:
        return shape[:axis] + (1,) + shape[axis + 1:]
    return shape[:axis] + shape[axis + 1:]


# --------------------------------------------------------------------------------------
# The generator


@dataclass
class Var:
    shape: Shape
    bound: float
    kind: str = "value"  # "value", "writable" (written by index), "int"
    fresh: bool = False  # no other name shares its array: `+=` may write in place
    lo: int = 0  # ints: the range of values
    hi: int = 0


@dataclass(frozen=True)
class Line:
    indent: int
    text: str
    probe: str


@dataclass(frozen=True)
class Helper:
    name: str
    params: tuple[tuple[str, Shape], ...]
    default: tuple[str, float] | None  # a keyword parameter with a default number
    returns: tuple[Shape, ...]  # one shape: a value; two: a pair
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Program:
    source: str
    probe: str
    shapes: tuple[Shape, ...]  # of x, y, z (() is a number)


class Generator:
    """Writes one function body from the choices ``choose(n)`` makes (0: the simplest)."""

    def __init__(self, choose: Callable[[int], int], params: dict[str, Shape],
                 helpers: Sequence[Helper], returns: tuple[Shape, ...]) -> None:
        self.choose = choose
        self.env: dict[str, Var] = {p: Var(s, INPUT_BOUND) for p, s in params.items()}
        self.params = tuple(params)
        self.helpers = tuple(helpers)
        self.returns = returns
        self.caps: dict[str, float] = {}
        self.loop_locals: list[set[str]] = []  # names first assigned in each enclosing loop
        self.fors = 0
        self.whiles = 0
        self.nesting = 0
        self.budget = 0
        self.n_returns = 0
        self.items = 0  # enclosing comprehensions
        self.continue_ok: list[bool] = []
        self.lists_made = 0

    # --- choices ------------------------------------------------------------------------

    def pick(self, options: Sequence):
        return options[self.choose(len(options))]

    def chance(self, n: int) -> bool:
        return self.choose(n) == n - 1

    @property
    def loops(self) -> int:
        return self.fors + self.whiles

    # --- shapes -------------------------------------------------------------------------

    def values(self) -> list[tuple[str, Var]]:
        return [(n, v) for n, v in sorted(self.env.items()) if v.kind != "int"]

    def shapes(self) -> list[Shape]:
        """Shapes a leaf can take without constructing an array: the names' and their
        transposes'."""
        found = {()}
        for _, v in self.values():
            found.add(v.shape)
            if len(v.shape) == 2:
                found.add(v.shape[::-1])
        return sorted(found, key=lambda s: (len(s), s))

    def can(self, shape: Shape) -> bool:
        return shape in self.shapes()

    def dims(self) -> list[int]:
        return sorted({d for s in self.shapes() for d in s})

    def squash(self, e: E) -> E:
        if e.bound <= MAX_BOUND:
            return e
        return form("np.tanh({0})", e.shape, 1.0, e)

    # --- expressions --------------------------------------------------------------------

    def constant(self) -> E:
        text = self.pick(CONSTANTS)
        return atom(text, (), abs(float(text)), fresh=True)

    def leaf(self, shape: Shape) -> E:
        options: list[E] = []
        for name, var in self.values():
            if var.shape == shape:
                options.append(atom(name, shape, var.bound))
            elif len(shape) == 2 and var.shape == shape[::-1]:
                options.append(atom(f"{name}.T", shape, var.bound))
        if shape == ():
            ints = [(n, v) for n, v in sorted(self.env.items()) if v.kind == "int"]
            if ints and self.chance(4):
                name, var = self.pick(ints)  # a float: no arrays of ints
                return atom(f"{name} * 0.5", (), var.bound / 2, fresh=True)
            if self.chance(5) or not options:
                return self.constant()
        if options and not self.chance(6):
            return self.pick(options)
        return self.derived(shape)

    def derived(self, shape: Shape) -> E:
        """An expression of ``shape`` from a name of another shape: a reduction, an item, a
        column with a new axis, a flattening; ``np.ones(shape) * c`` when nothing fits."""
        options: list[Callable[[], E]] = []
        for name, var in self.values():
            s = var.shape
            for axis in range(len(s)):
                for keepdims in (False, True):
                    if reduce_shape(s, axis, keepdims) == shape and len(s) > 0:
                        options.append(functools.partial(
                            self._reduce_name, name, var, axis, keepdims))
            if len(s) >= 1 and s[1:] == shape:
                options.append(functools.partial(self._index_name, name, var))
            if len(shape) == 2 and shape[1] == 1 and s == shape[:1]:
                options.append(lambda name=name, var=var:
                               atom(f"{name}[:, None]", shape, var.bound))
            if len(shape) == 2 and shape[0] == 1 and s == shape[1:]:
                options.append(lambda name=name, var=var:
                               atom(f"{name}[None]", shape, var.bound))
            if len(shape) == 1 and len(s) == 2 and size(s) == shape[0] and min(s) > 1:
                options.append(lambda name=name, var=var:
                               atom(f"{name}.reshape(-1)", shape, var.bound))
            if shape == () and s != ():
                options.append(lambda name=name, var=var:
                               atom(f"np.sum({name})", (), var.bound * size(var.shape),
                                    fresh=True))
        if options:
            return self.pick(options)()
        scalar = self.leaf(()) if shape else self.constant()
        return form(f"np.ones({shape}) * {{0}}", shape, scalar.bound, scalar)

    def _reduce_name(self, name: str, var: Var, axis: int, keepdims: bool) -> E:
        fn, probe, bound = REDUCTIONS[self.choose(2)]  # sum or mean
        shape = reduce_shape(var.shape, axis, keepdims)
        kd = ", keepdims=True" if keepdims else ""
        return atom(f"{fn}({name}, axis={axis}{kd})", shape,
                    bound(var.bound, var.shape[axis]), fresh=True)

    def _index_name(self, name: str, var: Var) -> E:
        index = self.index0(var.shape[0])
        return atom(f"{name}[{index}]", var.shape[1:], var.bound, fresh=False)

    def index0(self, length: int) -> str:
        """An index valid for an axis of ``length``: a constant, or a loop index (or one
        less) whose every value is in range."""
        options = [str(c) for c in range(-length, length)]
        for name, var in sorted(self.env.items()):
            if var.kind == "int" and name in INDICES and -length <= var.lo and var.hi < length:
                options.append(name)
                if -length <= var.lo - 1:
                    options.append(f"{name} - 1")
        if len(options) > 2 * length and self.chance(2):
            return self.pick(options[2 * length:])
        return self.pick(options)

    def expr(self, shape: Shape, depth: int) -> E:
        if depth <= 0:
            return self.leaf(shape)
        kind = self.choose(21)
        makers = {3: self.unary, 4: self.unary, 5: self.unary, 6: self.unary,
                  7: self.binary, 8: self.binary, 9: self.binary, 10: self.binary,
                  11: self.reduction, 12: self.reduction, 13: self.matmul,
                  14: self.subscript, 15: self.shape_op, 16: self.where,
                  17: self.call, 18: self.listy, 19: self.conditional, 20: self.call}
        maker = makers.get(kind)
        e = maker(shape, depth) if maker else None
        if e is None:
            e = self.unary(shape, depth) if kind >= 3 else self.leaf(shape)
        assert e.shape == shape, (e, shape)
        return self.squash(e)

    def unary(self, shape: Shape, depth: int) -> E:
        table = UNARY + (SCALAR_UNARY if shape == () else ())
        fmt, probe, bound = self.pick(table)
        operand = self.expr(shape, depth - 1)
        return form(fmt, shape, bound(operand.bound), operand, probe=probe)

    def sub_shapes(self, shape: Shape) -> list[Shape]:
        """Shapes that broadcast to ``shape`` without changing it (and a leaf can make)."""
        found = [s for s in self.shapes() if broadcast(s, shape) == shape]
        if len(shape) == 2:
            found += [(shape[0], 1), (1, shape[1])]
        return sorted(set(found), key=lambda s: (len(s), s))

    def binary(self, shape: Shape, depth: int) -> E:
        table = BINARY + (SCALAR_BINARY if shape == () else ())
        fmt, probe, bound = self.pick(table)
        subs = self.sub_shapes(shape)
        first = shape
        if len(shape) == 2 and self.chance(4):  # (m, 1) with (n,) or (1, n)
            first = (shape[0], 1)
            second = self.pick([s for s in ((shape[1],), (1, shape[1])) if s in subs]
                               or [shape])
        else:
            second = self.pick(subs)
        left, right = self.expr(first, depth - 1), self.expr(second, depth - 1)
        if self.chance(2):
            left, right = right, left
        assert broadcast(left.shape, right.shape) == shape, (left.shape, right.shape, shape)
        return form(fmt, shape, bound(left.bound, right.bound), left, right, probe=probe)

    def reduction(self, shape: Shape, depth: int) -> E:
        options = []
        for s in self.shapes():
            if s == ():
                continue
            for axis in [None, *range(len(s))]:
                for keepdims in (False, True):
                    if reduce_shape(s, axis, keepdims) == shape:
                        options.append((s, axis, keepdims))
        if not options:
            return None
        source, axis, keepdims = self.pick(options)
        fn, probe_fn, bound = self.pick(REDUCTIONS)
        if fn == "np.linalg.norm" and (axis is not None or keepdims):
            fn, probe_fn, bound = REDUCTIONS[0]
        operand = self.expr(source, depth - 1)
        count = size(source) if axis is None else source[axis]
        keywords = []
        if axis is not None:
            spelled = axis - len(source) if self.chance(3) else axis
            keywords.append(f"axis={spelled}")
        if keepdims:
            keywords.append("keepdims=True")
        if fn in ("np.var", "np.std") and count >= 2 and self.chance(3):
            keywords.append("ddof=1")
            bound = (lambda b, k, f=bound: 2 * f(b, k))
        kw = "".join(", " + k for k in keywords)
        if fn.startswith("."):
            method = fn[1:]
            text = f"{{0}}.{method}({kw[2:]})"
            probe = f"{probe_fn}({{0}}{kw})" if probe_fn else None
        else:
            text = f"{fn}({{0}}{kw})"
            probe = f"{probe_fn}({{0}}{kw})" if probe_fn else None
        e = form(text, shape, bound(operand.bound, count), operand, probe=probe)
        if fn in ("np.prod",) and e.bound > MAX_BOUND:
            operand = form("np.tanh({0})", source, 1.0, operand)
            e = form(text, shape, 1.0, operand, probe=probe)
        return e

    def matmul(self, shape: Shape, depth: int) -> E:
        options: list[tuple[str, Shape, Shape, int]] = []
        for k in self.dims():
            if shape == () and self.can((k,)):
                options += [(f, (k,), (k,), k) for f in ("{0} @ {1}", "np.dot({0}, {1})",
                                                         "np.inner({0}, {1})",
                                                         "np.einsum('i,i->', {0}, {1})")]
            if len(shape) == 1:
                (a,) = shape
                if self.can((a, k)) and self.can((k,)):
                    options += [(f, (a, k), (k,), k) for f in (
                        "{0} @ {1}", "np.dot({0}, {1})", "np.matmul({0}, {1})",
                        "np.einsum('ij,j->i', {0}, {1})")]
                if self.can((k,)) and self.can((k, a)):
                    options.append(("{0} @ {1}", (k,), (k, a), k))
            if len(shape) == 2:
                a, b = shape
                if self.can((a, k)) and self.can((k, b)):
                    options += [(f, (a, k), (k, b), k) for f in (
                        "{0} @ {1}", "np.dot({0}, {1})", "np.einsum('ij,jk->ik', {0}, {1})")]
                if self.can((a, k)) and self.can((b, k)):
                    options.append(("np.einsum('ij,kj->ik', {0}, {1})", (a, k), (b, k), k))
        if len(shape) == 2 and self.can(shape[:1]) and self.can(shape[1:]):
            options.append(("np.outer({0}, {1})", shape[:1], shape[1:], 1))
        if len(shape) == 0:
            options += [("np.trace({0})", (d, d), None, d) for d in self.dims()
                        if self.can((d, d))]
        if not options:
            return None
        fmt, first, second, k = self.pick(options)
        left = self.expr(first, depth - 1)
        if second is None:
            return form(fmt, shape, k * left.bound, left)
        right = self.expr(second, depth - 1)
        return form(fmt, shape, k * left.bound * right.bound, left, right)

    def subscript(self, shape: Shape, depth: int) -> E:
        """``name[index]`` for a name with a bigger shape (or an expression, sometimes)."""
        options: list[tuple[str, Var, str, str | None]] = []
        for name, var in self.values():
            s = var.shape
            if not s:
                continue
            if s[1:] == shape:
                options.append((name, var, self.index0(s[0]), None))
            if len(s) == 2 and shape == (s[0],):
                options.append((name, var, f":, {self.index0(s[1])}", None))
            if len(s) == 2 and shape == ():
                options.append((name, var, f"{self.index0(s[0])}, {self.index0(s[1])}", None))
            if shape and shape[1:] == s[1:]:
                for index in _slices(s[0], shape[0]):
                    options.append((name, var, index, None))
                if shape[0] <= 4:
                    picks = [self.choose(s[0]) for _ in range(shape[0])]
                    options.append((name, var, f"np.array({picks})", "fancy"))
            if len(s) == 1 and shape == (s[0], 1):
                options.append((name, var, ":, None", None))
            if shape == ():
                options.append((name, var, "mask", None))
        if not options:
            return None
        name, var, index, how = self.pick(options)
        if index == "mask":
            c = self.pick(("0.0", "0.5", "-0.25"))
            return E(f"np.sum({name}[{name} > {c}])", f"np.sum({name}[_gt({name}, {c})])",
                     (), var.bound * size(var.shape), True, True)
        if how is None and self.chance(5) and depth > 1:  # index an expression
            operand = self.expr(var.shape, depth - 1)
            return form(f"{{0}}[{index}]", shape, operand.bound, operand,
                        fresh=shape == ())
        return atom(f"{name}[{index}]", shape, var.bound,
                    fresh=how == "fancy" or shape == ())

    def shape_op(self, shape: Shape, depth: int) -> E:
        options: list[tuple[str, Shape]] = []
        if len(shape) >= 1 and shape[0] in (2, 3) and self.can(shape[1:]):
            options.append(("np.stack([" + ", ".join(f"{{{i}}}" for i in range(shape[0]))
                            + "])", shape[1:]))
        if len(shape) == 2 and shape[1] == 2 and self.can(shape[:1]):
            options.append(("np.stack([{0}, {1}], axis=1)", shape[:1]))
        if len(shape) == 1 and shape[0] % 2 == 0 and self.can((shape[0] // 2,)):
            options.append(("np.concatenate([{0}, {1}])", (shape[0] // 2,)))
        if len(shape) == 2 and shape[0] % 2 == 0 and self.can((shape[0] // 2, shape[1])):
            options.append(("np.concatenate([{0}, {1}], axis=0)", (shape[0] // 2, shape[1])))
        if len(shape) == 2:
            options.append(("{0}.T", shape[::-1]))
            options.append(("np.transpose({0})", shape[::-1]))
            if self.can(shape[1:]):
                options.append((f"np.broadcast_to({{0}}, {shape})", shape[1:]))
        for s in self.shapes():
            if len(s) == 2 and len(shape) == 1 and size(s) == shape[0]:
                options += [("{0}.reshape(-1)", s), ("np.ravel({0})", s), ("{0}.flatten()", s)]
            if len(s) == 1 and len(shape) == 2 and size(shape) == s[0]:
                options += [(f"{{0}}.reshape{shape}", s), (f"np.reshape({{0}}, {shape})", s)]
        if len(shape) == 2 and shape[1] == 1 and self.can(shape[:1]):
            options += [("np.expand_dims({0}, 1)", shape[:1]), ("{0}[:, None]", shape[:1])]
        if len(shape) == 2 and shape[0] == 1 and self.can(shape[1:]):
            options += [("np.expand_dims({0}, 0)", shape[1:]), ("{0}[None, :]", shape[1:])]
        if len(shape) == 1 and self.can(shape + (1,)):
            options.append(("np.squeeze({0}, axis=1)", shape + (1,)))
        if not options:
            return None
        fmt, operand_shape = self.pick(options)
        n = fmt.count("{") - fmt.count("{{")
        operands = [self.expr(operand_shape, depth - 1) for _ in range(n)]
        fresh = fmt.startswith(("np.stack", "np.concatenate", "{0}.flatten"))
        return form(fmt, shape, max(o.bound for o in operands), *operands, fresh=fresh)

    def where(self, shape: Shape, depth: int) -> E:
        subs = self.sub_shapes(shape)
        left, right = self.expr(shape, depth - 1), self.expr(self.pick(subs), depth - 1)
        then, orelse = self.expr(self.pick(subs), depth - 1), self.expr(shape, depth - 1)
        if self.chance(2):
            then, orelse = orelse, then
        op = self.pick(("<", ">"))
        name = {"<": "_lt", ">": "_gt"}[op]
        return E(f"np.where({left.text} {op} {right.text}, {then.text}, {orelse.text})",
                 f"np.where({name}({left.probe}, {right.probe}), {then.probe}, "
                 f"{orelse.probe})", shape, max(then.bound, orelse.bound), True, True)

    def conditional(self, shape: Shape, depth: int) -> E:
        cond = self.cond(depth - 1)
        then, orelse = self.expr(shape, depth - 1), self.expr(shape, depth - 1)
        return E(f"({then.text} if {cond[0]} else {orelse.text})",
                 f"({then.probe} if {cond[1]} else {orelse.probe})", shape,
                 max(then.bound, orelse.bound), then.fresh and orelse.fresh, True)

    def argument(self, shape: Shape, depth: int) -> E:
        """An argument of a call or an item of a list: never sharing an array written by
        index."""
        e = self.expr(shape, depth)
        if not e.fresh and shape and self.mentions_writable(e):
            return form("{0}.copy()", shape, e.bound, e)
        return e

    def call(self, shape: Shape, depth: int) -> E:
        options = [(h, j) for h in self.helpers for j, r in enumerate(h.returns) if r == shape]
        if not options:
            return None
        helper, j = self.pick(options)
        args = self.call_arguments(helper, depth)
        suffix = f"[{j}]" if len(helper.returns) == 2 else ""
        text = f"{helper.name}({', '.join(a[0] for a in args)}){suffix}"
        probe = f"{helper.name}({', '.join(a[1] for a in args)}){suffix}"
        return E(text, probe, shape, MAX_BOUND, shape == (), True)

    def call_arguments(self, helper: Helper, depth: int) -> list[tuple[str, str]]:
        args = [(p, self.argument(s, depth - 1)) for p, s in helper.params]
        spelled = []
        by_keyword = self.chance(4)
        for position, (p, a) in enumerate(args):
            if by_keyword and position > 0:
                spelled.append((f"{p}={a.text}", f"{p}={a.probe}"))
            else:
                spelled.append((a.text, a.probe))
        if by_keyword and len(spelled) > 1 and self.chance(2):
            spelled = [spelled[0]] + spelled[1:][::-1]
        if helper.default and self.chance(2):
            scale = self.expr((), depth - 1)
            scale = form("np.tanh({0})", (), 1.0, scale) if scale.bound > 2 else scale
            spelled.append((f"{helper.default[0]}={scale.text}",
                            f"{helper.default[0]}={scale.probe}"))
        return spelled

    def listy(self, shape: Shape, depth: int) -> E:
        kind = self.choose(3)
        if kind == 0 or self.items >= len(ITEMS):
            items = [self.argument(shape, depth - 1) for _ in range(2 + self.choose(2))]
            return E("sum([" + ", ".join(i.text for i in items) + "])",
                     "sum([" + ", ".join(i.probe for i in items) + "])", shape,
                     sum(i.bound for i in items), True, True)
        sources = [(n, v) for n, v in self.values() if v.shape and v.shape[1:] == shape]
        if not sources:
            return None
        name, var = self.pick(sources)
        item = ITEMS[self.items]
        self.env[item] = Var(shape, var.bound)
        self.items += 1
        body = self.expr(shape, depth - 1)
        self.items -= 1
        del self.env[item]
        if kind == 1:
            loop = f"for {item} in {name}"
        else:
            loop = f"for {item} in {name}"
            if shape == () and len(var.shape) == 1:
                return E(f"np.sum(np.array([{body.text} {loop}]))",
                         f"np.sum(np.array([{body.probe} {loop}]))", (),
                         body.bound * var.shape[0], True, True)
        return E(f"sum([{body.text} {loop}])", f"sum([{body.probe} {loop}])", shape,
                 body.bound * var.shape[0], True, True)

    def mentions_writable(self, e: E) -> bool:
        names = {n.id for n in ast.walk(ast.parse(e.text, mode="eval"))
                 if isinstance(n, ast.Name)}
        return any(self.env.get(n, Var((), 0)).kind == "writable" for n in names)

    def mentioned(self, e: E) -> set[str]:
        return {n.id for n in ast.walk(ast.parse(e.text, mode="eval"))
                if isinstance(n, ast.Name) and n.id in self.env}

    # --- conditions ---------------------------------------------------------------------

    def cond(self, depth: int) -> tuple[str, str]:
        kind = self.choose(7)
        ints = [n for n, v in sorted(self.env.items()) if v.kind == "int"]
        if kind == 4 and depth > 0:
            inner = self.cond(depth - 1)
            return f"not ({inner[0]})", f"not ({inner[1]})"
        if kind == 5 and depth > 0:
            op = self.pick(("and", "or"))
            a, b = self.cond(depth - 1), self.cond(depth - 1)
            return f"({a[0]}) {op} ({b[0]})", f"({a[1]}) {op} ({b[1]})"
        if kind == 6 and ints:
            name = self.pick(ints)
            text = self.pick((f"{name} % 2 == 0", f"{name} < 2", f"{name} != 1"))
            return text, text
        left = self.expr((), self.choose(depth + 2))
        right = self.expr((), self.choose(depth + 1))
        op = self.pick(("<", "<=", ">", ">="))
        name = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}[op]
        return f"{left.text} {op} {right.text}", f"{name}({left.probe}, {right.probe})"

    # --- statements ---------------------------------------------------------------------

    def in_loop(self) -> bool:
        return bool(self.loop_locals)

    def store(self, target: str, e: E, kind: str = "value") -> E:
        """Record that ``target`` is assigned ``e``; the expression to assign instead: a
        copy if it could share an array written by index, squashed when a loop caps
        ``target``."""
        if e.shape and not e.fresh and (kind == "writable" or self.mentions_writable(e)
                                        or self.in_loop()):
            e = form("{0}.copy()", e.shape, e.bound, e)
        if not e.fresh:  # target and every name in e may share an array from now on
            for name in self.mentioned(e):
                self.env[name].fresh = False
        if target in self.caps:
            if e.bound > self.caps[target]:
                e = form("np.tanh({0})", e.shape, 1.0, e)
            bound = self.caps[target]
        else:
            bound = e.bound
        if target not in self.env and self.loop_locals:
            self.loop_locals[-1].add(target)
        self.env[target] = Var(e.shape, bound, kind, fresh=e.fresh)
        return e

    def new_or_same(self, pool: Sequence[str]) -> tuple[str, Shape | None]:
        """A name to assign and the shape it must keep (None: any shape, a new name)."""
        name = self.pick(pool)
        var = self.env.get(name)
        if var is not None and (var.kind != "value" or name in self.params
                                or self.nesting > 0):
            return name, var.shape if var.kind == "value" else None
        return name, None

    def simple(self, indent: int) -> list[Line]:
        kind = self.choose(9)
        if kind in (1, 2):
            return [self.augmented(indent)]
        if kind == 3 and self.values():
            return [self.tuple_assignment(indent)]
        if kind == 4 and self.nesting == 0:
            return self.make_writable(indent)
        if kind == 5 and any(v.kind == "writable" for v in self.env.values()):
            return [self.write(indent)]
        if kind == 6 and self.nesting < MAX_NESTING and self.loops < MAX_LOOP_DEPTH:
            return self.build_list(indent)
        if kind == 7 and any(len(h.returns) == 2 for h in self.helpers):
            return [self.pair_call(indent)]
        return self.simple_assignment(indent)

    def simple_assignment(self, indent: int) -> list[Line]:
        name, shape = self.new_or_same(LOCALS)
        if name in self.env and self.env[name].kind != "value":
            name, shape = self.pick(("a", "b", "c")), None
            if name in self.env and (self.nesting > 0 or self.env[name].kind != "value"):
                shape = self.env[name].shape
        if shape is None:
            shape = self.pick(self.shapes())
        e = self.expr(shape, self.choose(4))
        e = self.store(name, e)
        return [Line(indent, f"{name} = {e.text}", f"{name} = {e.probe}")]

    def augmented(self, indent: int) -> Line:
        targets = [n for n, v in self.values() if v.kind == "value"]
        if not targets:
            return self.simple_assignment(indent)
        target = self.pick(targets)
        var = self.env[target]
        value = self.expr(self.pick(self.sub_shapes(var.shape)), self.choose(3))
        # np.where and friends return 0-d arrays for numbers: a shape () value can be an
        # array that `+=` writes into as well
        in_place = var.fresh and (not self.in_loop() or target in self.loop_locals[-1])
        t = atom(target, var.shape, var.bound)
        if target in self.caps:  # updates that cannot take the target past its cap
            cap = self.caps[target]
            if value.bound > cap:
                value = form("np.tanh({0})", value.shape, 1.0, value)
            op, rhs = self.pick((("+=", "0.25 * ({0} - {1})"), ("-=", "0.5 * ({1} - {0})"),
                                 ("*=", "np.tanh({0})"), ("/=", "1.0 + {0} * {0}")))
            rhs = form(rhs, var.shape, cap, value, t)
        else:
            op = self.pick(("+=", "-=", "*=", "/="))
            if op == "/=":
                value = form("1.0 + {0} * {0}", value.shape, 1 + value.bound ** 2, value)
            combined = {"+=": var.bound + value.bound, "-=": var.bound + value.bound,
                        "*=": var.bound * value.bound, "/=": var.bound}[op]
            if combined > MAX_BOUND:
                op, value = "+=", form("np.tanh({0})", value.shape, 1.0, value)
                combined = var.bound + 1.0
            if combined > MAX_BOUND:
                e = self.store(target, form("np.tanh({0})", var.shape, 1.0, t))
                return Line(indent, f"{target} = {e.text}", f"{target} = {e.probe}")
            var.bound = combined
            rhs = value
        if in_place:
            return Line(indent, f"{target} {op} {rhs.text}", f"{target} {op} {rhs.probe}")
        # `t op= e` spelled `t = t op e`: the array t names may be shared
        e = form(f"{{0}} {op[0]} {{1}}", var.shape, var.bound, t, rhs)
        var.fresh = True
        return Line(indent, f"{target} = {e.text}", f"{target} = {e.probe}")

    def tuple_assignment(self, indent: int) -> Line:
        first, first_shape = self.new_or_same(LOCALS)
        second, second_shape = self.new_or_same([n for n in LOCALS if n != first])
        if any(self.env.get(n, Var((), 0)).kind != "value" for n in (first, second)):
            first, second = "a", "b"
            first_shape = self.env["a"].shape if "a" in self.env else None
            second_shape = self.env["b"].shape if "b" in self.env else None
            if self.nesting == 0:
                first_shape = second_shape = None
        if (first in self.env and second in self.env and self.chance(2)
                and (self.nesting == 0 or self.env[first].shape == self.env[second].shape)):
            a, b = self.env[first], self.env[second]
            values = [atom(second, b.shape, b.bound), atom(first, a.shape, a.bound)]
        else:
            if first_shape is None:
                first_shape = self.pick(self.shapes())
            if second_shape is None:
                second_shape = self.pick(self.shapes())
            values = [self.expr(first_shape, self.choose(3)),
                      self.expr(second_shape, self.choose(3))]
        values = [self.store(first, values[0]), self.store(second, values[1])]
        return Line(indent, f"{first}, {second} = {values[0].text}, {values[1].text}",
                    f"{first}, {second} = {values[0].probe}, {values[1].probe}")

    def make_writable(self, indent: int) -> list[Line]:
        name = self.pick(WRITABLE)
        if name in self.env:
            return [self.write(indent)]
        shapes = [s for s in self.shapes() if s]
        if not shapes:
            shapes = [(2,)]
        shape = self.pick(shapes)
        kind = self.choose(5)
        if kind == 0:
            e = atom(f"np.zeros({shape})", shape, 0.0, fresh=True)
        elif kind == 1:
            e = form("np.zeros_like({0})", shape, 0.0, self.expr(shape, 0))
        elif kind in (2, 3):
            operand = self.expr(shape, 0)
            fmt = "{0}.copy()" if kind == 2 else "np.copy({0})"
            e = form(fmt, shape, operand.bound, operand)
        else:
            e = self.expr(shape, 1 + self.choose(2))
            if not e.fresh:
                e = form("{0}.copy()", shape, e.bound, e)
        self.env[name] = Var(shape, e.bound, "writable", True)
        return [Line(indent, f"{name} = {e.text}", f"{name} = {e.probe}")]

    def write_index(self, shape: Shape) -> tuple[str, str, Shape]:
        """An index to write through, its probe, and the shape it selects."""
        d0 = shape[0]
        kind = self.choose(6)
        if kind == 1 and len(shape) == 2:
            text = f"{self.index0(d0)}, :"
        elif kind == 2 and len(shape) == 2:
            text = f":, {self.index0(shape[1])}"
        elif kind == 3 and d0 >= 2:
            text = self.pick(_slices(d0, d0 - 1) + ["1:", ":-1"])
        elif kind == 4 and d0 >= 2:
            picks = sorted(set(self.choose(d0) for _ in range(2)))
            text = f"np.array({picks})"
        elif kind == 5 and self.chance(2):
            return "mask", "mask", ()
        else:
            text = self.index0(d0)
        selected = _index_shape(shape, text)
        return text, text, selected

    def write(self, indent: int) -> Line:
        name = self.pick([n for n, v in sorted(self.env.items()) if v.kind == "writable"])
        var = self.env[name]
        index, probe_index, selected = self.write_index(var.shape)
        cap = self.caps.get(name)
        if index == "mask":  # w[w < c] = value
            c = self.pick(("0.0", "0.5"))
            value = self.expr((), 0)
            if cap is not None and value.bound > cap:
                value = form("np.tanh({0})", (), 1.0, value)
            var.bound = max(var.bound, value.bound) if cap is None else cap
            return Line(indent, f"{name}[{name} < {c}] = {value.text}",
                        f"{name}[_lt({name}, {c})] = {value.probe}")
        shapes = self.sub_shapes(selected) if BROADCAST_WRITES else [selected]
        value = self.argument(self.pick(shapes), self.choose(3))
        if cap is not None:
            if value.bound > cap:
                value = form("np.tanh({0})", value.shape, 1.0, value)
            if self.chance(3):
                e = form(f"0.25 * ({{0}} - {name}[{index}])", selected, cap, value)
                return Line(indent, f"{name}[{index}] += {e.text}",
                            f"{name}[{probe_index}] += {e.probe}")
            return Line(indent, f"{name}[{index}] = {value.text}",
                        f"{name}[{probe_index}] = {value.probe}")
        op = self.pick(("=", "=", "+=", "-=", "*="))
        if op == "*=" and value.bound > 1.0:
            value = form("np.tanh({0})", value.shape, 1.0, value)
        bound = {"=": max(var.bound, value.bound), "+=": var.bound + value.bound,
                 "-=": var.bound + value.bound, "*=": var.bound}[op]
        if bound > MAX_BOUND:
            op, value = "=", form("np.tanh({0})", value.shape, 1.0, value)
            bound = max(var.bound, 1.0)
        var.bound = bound
        return Line(indent, f"{name}[{index}] {op} {value.text}",
                    f"{name}[{probe_index}] {op} {value.probe}")

    def build_list(self, indent: int) -> list[Line]:
        """``acc = []``, a loop appending to it, and a statement reading it back."""
        name = LISTS[self.lists_made % len(LISTS)]
        self.lists_made += 1
        item_shape = self.pick(self.shapes())
        trips = 1 + self.choose(3)
        index = INDICES[self.fors]
        lines = [Line(indent, f"{name} = []", f"{name} = []")]
        spelled = self.pick((f"range({trips})", f"range(0, {trips})"))
        lines.append(Line(indent, f"for {index} in {spelled}:", f"for {index} in {spelled}:"))
        saved = self.enter_loop()
        self.env[index] = Var((), trips - 1, "int", lo=0, hi=trips - 1)
        self.fors += 1
        self.continue_ok.append(False)
        body: list[Line] = []
        if self.chance(2):
            self.budget -= 1
            body += self.simple(indent + 1)
        item = self.argument(item_shape, self.choose(3))
        if not item.fresh and item.shape:
            item = form("{0}.copy()", item.shape, item.bound, item)
        body.append(Line(indent + 1, f"{name}.append({item.text})",
                         f"{name}.append({item.probe})"))
        self.continue_ok.pop()
        self.fors -= 1
        self.leave_loop(saved)
        lines += body
        # read the list back
        target, shape = self.new_or_same(("a", "b", "c", "u"))
        options: list[tuple[str, Shape, float]] = [
            (f"sum({name})", item_shape, item.bound * trips),
            (f"{name}[-1]", item_shape, item.bound),
            (f"{name}[0] * 2.0", item_shape, 2 * item.bound),
        ]
        if len(item_shape) <= 1:
            options.append((f"np.stack({name})", (trips,) + item_shape, item.bound))
            options.append((f"np.sum(np.stack({name}), axis=0)", item_shape,
                            item.bound * trips))
        if item_shape == ():
            options.append((f"np.array({name})", (trips,), item.bound))
        if len(item_shape) == 1:
            options.append((f"np.concatenate({name})", (trips * item_shape[0],), item.bound))
        fitting = [o for o in options if shape is None or o[1] == shape]
        if not fitting:
            target, shape = self.pick(("t1", "t2")), None
            if target in self.env:
                fitting = [o for o in options if o[1] == self.env[target].shape]
            fitting = fitting or [(f"{name}[0] * 1.0", item_shape, item.bound)]
            if target in self.env and self.env[target].shape != fitting[0][1]:
                target = "acc_1"
                if target in self.env and self.env[target].shape != fitting[0][1]:
                    fitting = []
        if not fitting:
            return lines[:1] + [Line(indent, f"{name}.append(1.0)", f"{name}.append(1.0)")]
        text, shape, bound = self.pick(fitting)
        e = self.store(target, self.squash(atom(text, shape, bound, fresh=True)))
        lines.append(Line(indent, f"{target} = {e.text}", f"{target} = {e.text}"))
        return lines

    def pair_call(self, indent: int) -> Line:
        helper = self.pick([h for h in self.helpers if len(h.returns) == 2])
        targets = []
        for r in helper.returns:
            options = [n for n in LOCALS if n not in targets and (
                (n not in self.env and self.nesting == 0)
                or (n in self.env and self.env[n].kind == "value"
                    and self.env[n].shape == r))]
            if not options:
                options = [n for n in LOCALS if n not in targets and n not in self.env]
            if not options:
                return self.simple_assignment(indent)[0]
            targets.append(self.pick(options))
        args = self.call_arguments(helper, 2)
        for t, r in zip(targets, helper.returns):
            self.store(t, E(t, t, r, MAX_BOUND, fresh=False))
        call = f"{helper.name}({', '.join(a[0] for a in args)})"
        probe = f"{helper.name}({', '.join(a[1] for a in args)})"
        cap_fix = [t for t in targets if t in self.caps]
        if cap_fix:  # a pair result is bounded by MAX_BOUND: squash what a loop carries
            line = f"{targets[0]}, {targets[1]} = {call}"
            squashed = "; ".join(f"{t} = np.tanh({t})" for t in cap_fix)
            return Line(indent, f"{line}; {squashed}",
                        f"{targets[0]}, {targets[1]} = {probe}; {squashed}")
        return Line(indent, f"{targets[0]}, {targets[1]} = {call}",
                    f"{targets[0]}, {targets[1]} = {probe}")

    def block(self, indent: int, n: int) -> tuple[list[Line], bool]:
        lines: list[Line] = []
        for _ in range(max(1, n)):
            if self.budget <= 0 and lines:
                break
            self.budget -= 1
            kind = self.choose(10)
            if kind == 7 and self.nesting < MAX_NESTING:
                more, done = self.if_statement(indent)
            elif kind == 8 and self.nesting < MAX_NESTING and self.loops < MAX_LOOP_DEPTH:
                more, done = self.for_loop(indent), False
            elif kind == 9 and self.nesting < MAX_NESTING and self.loops < MAX_LOOP_DEPTH:
                more, done = self.while_loop(indent), False
            else:
                more, done = self.simple(indent), False
            lines.extend(more)
            if done:
                return lines, True
        if self.nesting > 0 and self.chance(4):
            jumps = ["return"] if self.n_returns < MAX_RETURNS else []
            if self.continue_ok:
                jumps.append("break")
                if self.continue_ok[-1]:
                    jumps.append("continue")
            if jumps:
                jump = self.pick(jumps)
                lines.append(self.ret(indent) if jump == "return"
                             else Line(indent, jump, jump))
                return lines, True
        return lines, False

    def ret(self, indent: int, last: bool = False) -> Line:
        self.n_returns += not last
        es = [self.result(shape, last) for shape in self.returns]
        return Line(indent, "return " + ", ".join(e.text for e in es),
                    "return " + ", ".join(e.probe for e in es))

    def result(self, shape: Shape, last: bool) -> E:
        """A returned value of ``shape``: an expression, or the names (their sums, for a
        number) added up, so that it depends on much of what the function computed."""
        if self.chance(3) or not last:
            e = self.expr(shape, self.choose(3))
            return self.squash(e)
        terms: list[E] = []
        for name, var in self.values():
            if not (terms == [] or self.chance(2)):
                continue
            if var.shape == shape or broadcast(var.shape, shape) == shape:
                terms.append(atom(name, var.shape, var.bound))
            elif shape == ():
                fn = self.pick(("np.sum", "np.mean"))
                terms.append(atom(f"{fn}({name})", (), var.bound * size(var.shape),
                                  fresh=True))
        if not terms:
            return self.expr(shape, 1)
        e = terms[0]
        for t in terms[1:]:
            e = form("{0} + {1}", broadcast(e.shape, t.shape), e.bound + t.bound, e, t)
        if e.shape != shape:  # a sum of names of smaller shapes
            e = form(f"np.broadcast_to({{0}}, {shape}) * 1.0", shape, e.bound, e)
        return self.squash(e)

    def if_statement(self, indent: int) -> tuple[list[Line], bool]:
        before = {n: replace(v) for n, v in self.env.items()}
        n_tests = 1 + self.chance(4)
        has_else = self.choose(3) != 0
        lines: list[Line] = []
        falls_through: list[dict[str, Var]] = []
        self.nesting += 1
        for t in range(n_tests + has_else):
            self.env = {n: replace(v) for n, v in before.items()}
            if t < n_tests:
                cond = self.cond(1)
                word = "if" if t == 0 else "elif"
                lines.append(Line(indent, f"{word} {cond[0]}:", f"{word} {cond[1]}:"))
            else:
                lines.append(Line(indent, "else:", "else:"))
            body, done = self.block(indent + 1, 1 + self.choose(3))
            lines.extend(body)
            if not done:
                falls_through.append(self.env)
        self.nesting -= 1
        if not has_else:
            falls_through.append(before)
        if not falls_through:
            self.env = before
            return lines, True
        joined = {}
        for name, var in before.items():
            versions = [env[name] for env in falls_through]
            joined[name] = replace(var, bound=max(v.bound for v in versions),
                                   fresh=all(v.fresh for v in versions))
        self.env = joined
        return lines, False

    def enter_loop(self):
        saved = {n: replace(v) for n, v in self.env.items()}, dict(self.caps)
        for name in sorted(self.env):
            var = self.env[name]
            if name not in self.caps and var.kind != "int":
                self.caps[name] = max(var.bound, 1.0)
                var.bound = self.caps[name]
        self.nesting += 1
        self.loop_locals.append(set())
        return saved

    def leave_loop(self, saved) -> None:
        before, caps = saved
        env = {}
        for name, var in before.items():
            now = self.env.get(name, var)
            bound = self.caps.get(name, var.bound) if var.kind != "int" else var.bound
            env[name] = replace(var, bound=bound, fresh=var.fresh and now.fresh)
        self.env = env
        self.caps = caps
        self.nesting -= 1
        self.loop_locals.pop()

    def reusable(self, name: str, item: Var) -> bool:
        """May a nested loop bind ``name``, an enclosing loop's item, to ``item``? After it,
        ``name`` holds its last item: a value the enclosing loop's bounds still cover."""
        var = self.env.get(name)
        return var is not None and var.kind == "value" and var.shape == item.shape \
            and var.bound >= item.bound

    def for_loop(self, indent: int) -> list[Line]:
        index = INDICES[self.fors]
        kind = self.choose(5)
        arrays = [(n, v) for n, v in self.values()
                  if v.kind == "value" and v.shape and n in self.params]
        most = MAX_TRIPS[self.loops]
        head: str
        item: tuple[str, Var] | None = None
        second: tuple[str, Var] | None = None
        if kind in (1, 2) and arrays:  # over len(x) or x.shape[0]
            name, var = self.pick(arrays)
            trips = var.shape[0]
            spelled = self.pick((f"range(len({name}))", f"range({name}.shape[0])",
                                 f"range(1, len({name}))"))
            lo = 1 if spelled.startswith("range(1") else 0
            head, bounds = spelled, (lo, trips - 1)
        elif kind == 3 and arrays:  # over an array's items, enumerate, zip
            name, var = self.pick(arrays)
            how = self.choose(3)
            depth = self.fors
            item_var = Var(var.shape[1:], var.bound)
            if depth and how < 2 and self.reusable("elt", item_var) and self.chance(2):
                depth = 0  # `for elt in x:` inside `for elt in x:` (elt is then the last)
            item = (("elt", "elt2", "elt3")[depth], item_var)
            if how == 0:
                head, bounds = name, None
            elif how == 1:
                head, bounds = f"enumerate({name})", (0, var.shape[0] - 1)
            else:
                partners = [(n, v) for n, v in arrays if v.shape[0] == var.shape[0]]
                other, ovar = self.pick(partners)
                second = (("other", "other2", "other3")[depth], Var(ovar.shape[1:],
                                                                     ovar.bound))
                head, bounds = f"zip({name}, {other})", None
        else:
            options = [r for r in ((0,), (1,), (2,), (3,), (2, 4), (3, 0, -1), (0, 4, 2),
                                   (-2, 1), (4,), (5,)) if len(range(*r)) <= most]
            r = self.pick(options)
            spelled = f"range({', '.join(map(str, r))})"
            values = list(range(*r)) or [0]
            head, bounds = spelled, (min(values), max(values))
        saved = self.enter_loop()
        if item is not None:
            if bounds is not None:
                target = f"{index}, {item[0]}"
                self.env[index] = Var((), max(abs(b) for b in bounds), "int",
                                      lo=bounds[0], hi=bounds[1])
            elif second is not None:
                target = f"{item[0]}, {second[0]}"
            else:
                target = item[0]
            self.env[item[0]] = item[1]
            if second is not None:
                self.env[second[0]] = second[1]
            self.loop_locals[-1].update(n for n in (item[0], second and second[0]) if n)
        else:
            target = index
            self.env[index] = Var((), max(abs(b) for b in bounds), "int",
                                  lo=bounds[0], hi=bounds[1])
        self.fors += 1
        self.continue_ok.append(True)
        body, _ = self.block(indent + 1, 1 + self.choose(3))
        self.continue_ok.pop()
        self.fors -= 1
        self.leave_loop(saved)
        return [Line(indent, f"for {target} in {head}:", f"for {target} in {head}:"), *body]

    def while_loop(self, indent: int) -> list[Line]:
        counter = COUNTERS[self.whiles]
        most = MAX_TRIPS[self.loops]
        limit = self.pick(tuple(range(0, most + 1)))
        lines = [Line(indent, f"{counter} = 0", f"{counter} = 0")]
        saved = self.enter_loop()
        self.env[counter] = Var((), most, "int", lo=0, hi=max(limit - 1, 0))
        self.loop_locals[-1].add(counter)
        lines.append(Line(indent, f"while {counter} < {limit}:", f"while {counter} < {limit}:"))
        step = self.pick((f"{counter} += 1", f"{counter} = {counter} + 1"))
        first = self.chance(3)
        self.whiles += 1
        self.continue_ok.append(first)
        if first:  # the body sees the counter after the step
            self.env[counter] = Var((), most, "int", lo=1, hi=max(limit, 1))
        body, jumps = self.block(indent + 1, 1 + self.choose(3))
        self.continue_ok.pop()
        self.whiles -= 1
        self.leave_loop(saved)
        first = first or jumps
        update = Line(indent + 1, step, step)
        lines.extend([update, *body] if first else [*body, update])
        return lines


def _slices(length: int, wanted: int) -> list[str]:
    """Slices of an axis of ``length`` that select ``wanted`` entries."""
    spellings = ["1:", ":-1", "::2", "::-1", "1::2", "-2:", ":2", "1:3", "0:3", ":"]
    return [s for s in spellings if len(range(length)[slice(*[
        int(p) if p else None for p in s.split(":")])]) == wanted]


def _index_shape(shape: Shape, index: str) -> Shape:
    namespace = {"np": np, **{i: 0 for i in INDICES}}
    return np.zeros(shape)[eval(f"np.s_[{index}]", namespace)].shape  # noqa: S307


# --------------------------------------------------------------------------------------
# Programs


def _shapes(gen_choose: Callable[[int], int]) -> tuple[int, int, tuple[Shape, ...]]:
    sizes = (2, 3, 4)
    m = sizes[gen_choose(3)]
    n = [s for s in sizes if s != m][gen_choose(2)]
    menu: tuple[Shape, ...] = ((n,), (m, n), (m, 1), (), (m,), (n, m), (1, n), (n, n))
    x = menu[gen_choose(2)]
    y = menu[gen_choose(len(menu))]
    z = menu[gen_choose(len(menu))]
    return m, n, (x, y, z)


def generate_program(choose: Callable[[int], int]) -> Program:
    _, _, shapes = _shapes(choose)
    helpers: list[Helper] = []
    for index in range(choose(3)):
        params = {"u": shapes[choose(3)]}
        if choose(3):
            params["v"] = shapes[choose(3)]
        default = ("scale", 0.5) if choose(2) else None
        gen = Generator(choose, dict(params), helpers, ())
        if default:
            gen.env["scale"] = Var((), 1.0)
        shapes_out = gen.shapes()
        returns: tuple[Shape, ...] = (gen.pick(shapes_out),)
        if gen.chance(3):
            returns += (gen.pick(shapes_out),)
        gen.returns = returns
        gen.budget = 1 + choose(4)
        lines, done = gen.block(1, 100)
        if not done:
            lines.append(gen.ret(1, last=True))
        helpers.append(Helper(f"h{index + 1}", tuple(params.items()), default, returns,
                              tuple(lines)))
    gen = Generator(choose, dict(zip(PARAMS, shapes)), helpers, ((),))
    gen.budget = 3 + choose(12)
    lines, done = gen.block(1, 100)
    if not done:
        lines.append(gen.ret(1, last=True))
    source = ["import math\n\nimport numpy as np\n"]
    probe = [""]
    for h in helpers:
        params = ", ".join(p for p, _ in h.params)
        if h.default:
            params += f", {h.default[0]}={h.default[1]}"
        source.append(f"\n\ndef {h.name}({params}):\n" + _body(h.lines, "text"))
        probe.append(f"\n\ndef {h.name}({params}):\n" + _body(h.lines, "probe"))
    source.append("\n\ndef f(x, y, z):\n" + _body(lines, "text"))
    probe.append("\n\ndef f(x, y, z):\n" + _body(lines, "probe"))
    return Program("".join(source), "".join(probe), shapes)


def _body(lines: Sequence[Line], what: str) -> str:
    return "".join("    " * line.indent + getattr(line, what) + "\n" for line in lines)


def random_program(seed: int) -> Program:
    rng = random.Random(seed)
    return generate_program(lambda n: rng.randrange(n))


# --------------------------------------------------------------------------------------
# Loading


MODULE_DIR = Path(tempfile.mkdtemp(prefix="s2sad_random_arrays_"))
_counter = [0]


def load(source: str, fresh: bool = False):
    """Write ``source`` to a file in a temporary directory and import it from there."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    if fresh:
        _counter[0] += 1
        digest += f"_{_counter[0]}"
    name = f"arrays_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    path = MODULE_DIR / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


# --------------------------------------------------------------------------------------
# The probe


SINGULAR_MIN = 1e-6


@dataclass
class Trace:
    decisions: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    singular: bool = False

    def record(self, tag: str, outcome, gap):
        self.decisions.append((tag, np.array(outcome, copy=True),
                               np.array(gap, dtype=float, copy=True)))


def _probe_namespace(trace: Trace) -> dict:
    def compare(tag, fn):
        def probe(u, v):
            outcome = fn(u, v)
            trace.record(tag, outcome, np.abs(np.asarray(u) - np.asarray(v)))
            return outcome
        return probe

    def extremum(fn, arg):
        def probe(u, axis=None, keepdims=False):
            u = np.asarray(u)
            if axis is None:
                flat = u.reshape(-1)
                order = np.sort(flat) if fn is np.min else -np.sort(-flat)
                gap = abs(order[0] - order[1]) if flat.size > 1 else np.inf
                trace.record(fn.__name__, arg(flat), gap)
            else:
                moved = np.moveaxis(u, axis, -1)
                order = np.sort(moved, axis=-1)
                if fn is np.max:
                    order = order[..., ::-1]
                gap = np.abs(order[..., 0] - order[..., 1]) if moved.shape[-1] > 1 \
                    else np.full(moved.shape[:-1], np.inf)
                trace.record(fn.__name__, arg(moved, axis=-1), gap)
            return fn(u, axis=axis, keepdims=keepdims)
        return probe

    def std(u, axis=None, keepdims=False, ddof=0):
        if np.any(np.var(u, axis=axis) < SINGULAR_MIN):
            trace.singular = True
        return np.std(u, axis=axis, keepdims=keepdims, ddof=ddof)

    def norm(u):
        if np.linalg.norm(u) < SINGULAR_MIN:
            trace.singular = True
        return np.linalg.norm(u)

    def to_integer(u):
        return np.abs(np.asarray(u) - np.round(u))

    def floor(u):
        trace.record("floor", np.floor(u), to_integer(u))
        return np.floor(u)

    def sign(u):
        trace.record("sign", np.sign(u), np.abs(u))
        return np.sign(u)

    def absolute(u):
        trace.record("abs", np.sign(u), np.abs(u))
        return np.abs(u)

    def pyabs(u):
        trace.record("abs", np.sign(u), abs(u))
        return abs(u)

    def clip(u, lo, hi):
        trace.record("clip", np.stack([np.asarray(u) < lo, np.asarray(u) > hi]),
                     np.minimum(np.abs(np.asarray(u) - lo), np.abs(np.asarray(u) - hi)))
        return np.clip(u, lo, hi)

    def pair(tag, fn, pick):
        def probe(u, v):
            trace.record(tag, pick(u, v), np.abs(np.asarray(u) - np.asarray(v)))
            return fn(u, v)
        return probe

    return {
        "np": _ProbeNumpy(norm), "math": math,
        "_lt": compare("lt", lambda u, v: u < v), "_le": compare("le", lambda u, v: u <= v),
        "_gt": compare("gt", lambda u, v: u > v), "_ge": compare("ge", lambda u, v: u >= v),
        "_max": extremum(np.max, np.argmax), "_min": extremum(np.min, np.argmin),
        "_std": std, "_floor": floor, "_sign": sign, "_abs": absolute, "_pyabs": pyabs,
        "_clip": clip,
        "_maximum": pair("maximum", np.maximum, lambda u, v: np.asarray(u) >= v),
        "_minimum": pair("minimum", np.minimum, lambda u, v: np.asarray(u) <= v),
        "_pymax": pair("max", max, lambda u, v: v > u),
        "_pymin": pair("min", min, lambda u, v: v < u),
    }


class _ProbeNumpy:
    """``np`` for the probe: NumPy, with ``np.linalg.norm`` flagging zero vectors."""

    def __init__(self, norm) -> None:
        self.linalg = type("linalg", (), {"norm": staticmethod(norm)})

    def __getattr__(self, name):
        return getattr(np, name)


@functools.lru_cache(maxsize=256)
def _compiled(probe: str) -> CodeType:
    return compile(probe, "<probe>", "exec")


def run_probe(program: Program, args: Sequence) -> tuple[object, Trace]:
    trace = Trace()
    namespace = _probe_namespace(trace)
    exec(_compiled(program.probe), namespace)  # noqa: S102 - our own code
    value = namespace["f"](*_copies(args))
    return value, trace


def _copies(args: Sequence) -> list:
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


GAP_MIN = 1e-8
STENCIL = (-2.0, -1.5, -1.0, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
REL_STEP = 1e-6


def _same_decisions(taken: Trace, there: Trace) -> bool:
    if there.singular or len(taken.decisions) != len(there.decisions):
        return False
    for (tag, outcome, gap), (tag2, outcome2, gap2) in zip(taken.decisions, there.decisions):
        if tag != tag2 or outcome.shape != outcome2.shape or \
                not np.array_equal(outcome, outcome2):
            return False
        if gap.shape == gap2.shape and np.any((gap < GAP_MIN) & (gap != gap2)):
            return False
    return True


def moved(args: Sequence, direction: Sequence, t: float) -> list:
    out = []
    for a, d in zip(args, direction):
        if isinstance(a, np.ndarray):
            out.append(a + t * d)
        else:
            out.append(float(a + t * d))
    return out


def smooth_along(program: Program, args: Sequence, direction: Sequence, h: float,
                 taken: Trace) -> bool:
    return all(_same_decisions(taken, run_probe(program, moved(args, direction, t * h))[1])
               for t in STENCIL)


# --------------------------------------------------------------------------------------
# The check


def random_point(shapes: Sequence[Shape], rng: np.random.Generator, bound: float) -> list:
    return [float(rng.uniform(-bound, bound)) if s == () else rng.uniform(-bound, bound, s)
            for s in shapes]


def _inner(a: Sequence, b: Sequence) -> float:
    return float(sum(np.sum(np.asarray(p, dtype=float) * np.asarray(q, dtype=float))
                     for p, q in zip(a, b)))


def _equal(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


def _same_value(a, b) -> bool:
    """Equal, or a few ulps apart: s2sad leaves out copies the program makes (``x.T.copy()``,
    ``np.copy``), and NumPy sums an array in an order that depends on its layout."""
    return _equal(a, b) or bool(abs(float(a) - float(b))
                                <= 64 * EPS * max(MAX_BOUND, abs(float(a))))


@dataclass
class Outcome:
    directions_checked: int = 0  # against central differences
    singular: bool = False  # the point is singular (std of equal entries...): values only
    known_bug: str = ""  # reverse mode hit a bug of KNOWN_BUGS: forward mode checked only


# Bugs of s2sad that random programs keep hitting and that cannot be kept out of them:
# name -> the xfail(strict=True) regression test in test_random_arrays.py that pins it.
# ``_known_bug`` recognises a failure with the bug's symptom, which is then counted as that
# bug and the program still checked in forward mode. Delete an entry when its regression
# passes. None is known now.
KNOWN_BUGS: dict[str, str] = {}


def _known_bug(exc: BaseException, program: Program) -> str:
    """The entry of KNOWN_BUGS that explains ``exc``, raised by generated code, or ""."""
    return ""


def check_program(program: Program, seed: int, allow_known_bugs: bool = True) -> Outcome:
    """All the checks at one random point (from ``seed``): values, forward against reverse
    mode (the dot-product test), and both against central differences along a random
    direction and along one coordinate, wherever the program's decisions are stable."""
    module = load(program.source)
    f = module.f
    rng = np.random.default_rng(seed)
    point = random_point(program.shapes, rng, INPUT_BOUND)
    value = f(*_copies(point))
    probe_value, taken = run_probe(program, point)
    assert _equal(value, probe_value), (value, probe_value)
    outcome = Outcome(singular=taken.singular)
    assert np.ndim(value) == 0, f"f returns {value!r}, not a number"
    assert math.isfinite(value) and abs(value) < 1e7, value
    v = [float(rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 1.0)) if s == ()
         else rng.choice([-1.0, 1.0], s) * rng.uniform(0.25, 1.0, s) for s in program.shapes]
    w = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
    k = int(rng.integers(3))
    unit = [np.zeros(s) if s != () else 0.0 for s in program.shapes]
    if program.shapes[k] == ():
        unit[k] = 1.0
    else:
        unit[k][tuple(int(rng.integers(d)) for d in program.shapes[k])] = 1.0
    h = REL_STEP * max(1.0, max(float(np.max(np.abs(a))) for a in point))

    # forward mode: f's value, and the tangent against central differences along v
    primal, tangent = s2sad.jvp(f, wrt=ALL_WRT)(*_copies(point), *_copies(v))
    assert _same_value(primal, value), f"jvp's value {primal!r} != f's {value!r}"
    if taken.singular:
        return outcome
    assert np.ndim(tangent) == 0 and math.isfinite(tangent), tangent
    stable = [smooth_along(program, point, d, h, taken) for d in (v, unit)]
    if stable[0]:
        expected, tol = directional_difference(f, point, v, h)
        assert abs(float(tangent) - expected) <= tol, (
            f"jvp = {tangent!r}, central differences {expected!r} "
            f"(|error| {abs(float(tangent) - expected):.3g} > tolerance {tol:.3g})")

    # reverse mode
    try:
        both_value, both_gradient = s2sad.value_and_grad(f, wrt=ALL_WRT)(*_copies(point))
        gradient = s2sad.grad(f, wrt=ALL_WRT)(*_copies(point))
        cotangents = s2sad.vjp(f, wrt=ALL_WRT)(*_copies(point), w)
    except Exception as exc:
        outcome.known_bug = _known_bug(exc, program) if allow_known_bugs else ""
        if outcome.known_bug:
            outcome.directions_checked = int(stable[0])
            return outcome
        raise
    _check_reverse(program, point, value, gradient, both_value, both_gradient,
                   cotangents, tangent, v, w, unit, stable, h, outcome)
    return outcome


def _check_reverse(program, point, value, gradient, both_value, both_gradient, cotangents,
                   tangent, v, w, unit, stable, h, outcome) -> None:
    f = load(program.source).f
    assert _same_value(both_value, value), \
        f"value_and_grad's value {both_value!r} != f's {value!r}"
    assert len(gradient) == 3
    for g, g2, a in zip(gradient, both_gradient, point):
        assert _equal(g, g2), (g, g2)
        assert np.shape(g) == np.shape(a), f"gradient shaped {np.shape(g)} for {np.shape(a)}"
    for g in gradient:
        assert np.all(np.isfinite(g)), gradient

    # the dot-product test: <J v, w> == <v, J^T w>
    forward, reverse = float(tangent) * w, _inner(v, cotangents)
    size_v = abs(w) * sum(float(np.sum(np.abs(t))) for t in v)
    scale = abs(w) * sum(float(np.sum(np.abs(np.asarray(t) * g))) for t, g in zip(v, gradient))
    tol = 1e-11 * max(scale, abs(forward), abs(reverse)) + 256 * EPS * MAX_BOUND * size_v
    assert abs(forward - reverse) <= tol, (
        f"dot-product test: <J v, w> = {forward!r}, <v, J^T w> = {reverse!r}, "
        f"|difference| {abs(forward - reverse):.3g} > {tol:.3g}")
    for c, g in zip(cotangents, gradient):
        assert np.allclose(c, w * np.asarray(g), rtol=1e-11,
                           atol=256 * EPS * MAX_BOUND * abs(w)), (cotangents, gradient)

    # reverse mode against central differences along v and along one coordinate
    for direction, ok in zip((v, unit), stable):
        if not ok:
            continue
        outcome.directions_checked += 1
        expected, tol = directional_difference(f, point, direction, h)
        got = _inner(gradient, direction)
        assert abs(got - expected) <= tol, (
            f"<grad, d> = {got!r}, central differences {expected!r} "
            f"(|error| {abs(got - expected):.3g} > tolerance {tol:.3g})")


def _central(f, args, direction, h) -> float:
    up, down = moved(args, direction, h), moved(args, direction, -h)
    return (float(f(*up)) - float(f(*down))) / (2 * h)


def directional_difference(f, args, direction, h) -> tuple[float, float]:
    """The derivative of ``f`` at ``args`` along ``direction`` by a central difference,
    and a bound on its error: 4 times how much it moves when the step is halved or
    doubled, plus the rounding of the values (64 ulps of the largest value a program
    may hold, per evaluation, over the step), plus 1e-9 relative."""
    estimate = _central(f, args, direction, h)
    spread = max(abs(_central(f, args, direction, 2 * h) - estimate),
                 abs(_central(f, args, direction, h / 2) - estimate))
    value = abs(float(f(*_copies(args))))
    rounding = 64 * EPS * max(MAX_BOUND, value) / h
    return estimate, 4 * spread + rounding + 1e-9 * abs(estimate)
