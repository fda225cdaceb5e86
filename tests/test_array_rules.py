"""The array derivative rules, primitive by primitive (the array half of the spec table).

Every array primitive a user can write (NumPy elementwise functions, reductions, linear
algebra, shapes, indexing reads and writes, lists and tuples) has at least one entry in
``CASES``: a small function body using it and a point inside its domain, away from kinks
and ties. Each body becomes two functions in a real file (so ``inspect.getsource`` reads
them as it reads a user's module)::

    def f(x, y):                      def loss(x, y, wts):
        return np.sin(x) * y              return np.sum((np.sin(x) * y) * wts)

and for every case:

* **value**: ``jvp(f)`` returns ``f``'s value exactly (the primal is the user's computation);
* **grad**: ``grad(loss)`` against entrywise central differences in float64 (the oracle of
  ``tests/oracles.py``), with a tolerance derived from the step (``_fd_gradient``); every
  gradient has its input's shape and dtype; ``value_and_grad(loss)`` gives ``loss``'s value
  and the same gradient;
* **jvp**: ``jvp(f)`` against the directional derivative by central differences along random
  tangents for all inputs at once (``_fd_directional``), shaped like ``f``'s output;
* **vjp**: the dot-product test ``<J v, w> == <v, J^T w>`` between ``jvp`` and ``vjp``, with
  a tolerance of a few ulps of the terms.

Derivatives get copies of the arguments, tangents and cotangents, and must not write into
them (the generated code writes into arrays in place where it can).

``test_every_array_primitive_has_a_case`` fails when an array primitive a user can write is
added to ``Prim`` without a case whose Wengert list (``s2sad.ir``) shows it;
``test_case_exercises_its_primitive`` checks that each case lowers to the primitive it is
filed under.

Also: inactive primitives (``np.sign``, ``np.floor``, ``argmax``, constructors, shape
queries...) inside differentiable code carry no derivative and raise no error; the
documented conventions at non-differentiable points (``abs'(0) = 0``, ``np.max``/``np.min``
share the derivative equally among tied entries, ``np.maximum``/``np.minimum`` give it to
the first operand at a tie); float32 inputs.

Cases that fail because of a bug in s2sad stay in the table, marked
``xfail(strict=True)`` with a one-line reason, for the test that shows the bug.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import tempfile
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad.primitives import Prim, prim_by_name
from tests.oracles import array_gradient, directional_derivative, dot_product_gap
from tests.test_rules import SCALAR_PRIMS

P = Prim
EPS = sys.float_info.epsilon
REL_STEP = 1e-6  # the relative step of the finite differences

# --------------------------------------------------------------------------------------
# Loading case functions from real files

_MODULE_DIR = Path(tempfile.mkdtemp(prefix="s2sad_array_rules_"))
_loaded: dict[str, tuple[Callable, Callable]] = {}


def _loss_body(body: str) -> str:
    """``body`` with its last line ``return E`` turned into ``return np.sum((E) * wts)``."""
    lines = body.rstrip().splitlines()
    last = lines[-1]
    indent = last[:len(last) - len(last.lstrip())]
    expr = last.strip()
    assert expr.startswith("return "), f"the last line of a case must return: {body!r}"
    lines[-1] = f"{indent}return np.sum(({expr[len('return '):]}) * wts)"
    return "\n".join(lines)


def load(params: str, body: str) -> tuple[Callable, Callable]:
    """``def f(PARAMS): BODY`` and its weighted loss, imported from a file."""
    body = textwrap.dedent(body).strip("\n")
    source = (f"import numpy as np\n\n\ndef f({params}):\n{textwrap.indent(body, '    ')}\n"
              f"\n\ndef loss({params}, wts):\n"
              f"{textwrap.indent(_loss_body(body), '    ')}\n")
    if source not in _loaded:
        name = "array_rule_" + hashlib.sha256(source.encode()).hexdigest()[:16]
        path = _MODULE_DIR / f"{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _loaded[source] = (module.f, module.loss)
    return _loaded[source]


# --------------------------------------------------------------------------------------
# Points

_rng = np.random.default_rng(20261122)


def u(*shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """Uniform random entries in [lo, hi)."""
    return _rng.uniform(lo, hi, shape)


def away(*shape: int, lo: float = 0.2, hi: float = 1.5) -> np.ndarray:
    """Random entries of either sign with lo <= |x| < hi: away from the kink at 0."""
    return _rng.choice([-1.0, 1.0], shape) * _rng.uniform(lo, hi, shape)


def spread(*shape: int, gap: float = 0.1) -> np.ndarray:
    """Entries at least ``gap`` apart from each other, shuffled (max/min without ties)."""
    n = int(np.prod(shape))
    values = np.arange(n) * gap - n * gap / 2 + _rng.uniform(0, gap / 4, n)
    return _rng.permutation(values).reshape(shape)


def wellcond(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    """A well-conditioned square matrix (or a batch of them)."""
    return u(*batch, n, n, lo=-0.5, hi=0.5) + 2.0 * np.eye(n)


def distinct_sv(m: int, n: int) -> np.ndarray:
    """An m x n matrix with well separated singular values (3, 2, 1.2, ...)."""
    k = min(m, n)
    q1, _ = np.linalg.qr(u(m, m))
    q2, _ = np.linalg.qr(u(n, n))
    s = np.zeros((m, n))
    s[np.arange(k), np.arange(k)] = 3.0 - 0.9 * np.arange(k)
    return q1 @ s @ q2


def _is_float(a: object) -> bool:
    if isinstance(a, bool):
        return False
    if isinstance(a, float):
        return True
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


# --------------------------------------------------------------------------------------
# The spec table

KINDS = ("value", "grad", "jvp", "vjp")


@dataclass(frozen=True)
class ArrayCase:
    prim: Prim  # the primitive under test: it must appear in f's Wengert list
    params: str  # "x, y"
    body: str  # the function's body; its last line is `return EXPR`
    args: tuple  # the point
    wrt: tuple[int, ...] | None = None  # None: every float argument
    label: str = ""  # added to the id when the body does not tell cases apart
    # test kind ("value", "grad", "jvp", "vjp", or "all") -> why it is expected to fail
    bugs: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def inputs(self) -> tuple[int, ...]:
        if self.wrt is not None:
            return self.wrt
        return tuple(i for i, a in enumerate(self.args) if _is_float(a))

    @property
    def id(self) -> str:
        text = " ".join(line.strip() for line in self.body.strip().splitlines())
        text = text.removeprefix("return ")
        shapes = ",".join("x".join(map(str, np.shape(a))) or "()" for a in self.args)
        return f"{self.prim.value}[{text}]({shapes}){self.label}"

    def functions(self) -> tuple[Callable, Callable]:
        return load(self.params, self.body)


def case(prim: Prim, params: str, body: str, *args: object, wrt=None, label: str = "",
         bugs: dict | None = None) -> ArrayCase:
    return ArrayCase(prim, params, body, args, wrt, label, bugs or {})


def bug(reason: str, *kinds: str) -> dict:
    """Expected failures of a case: the test kinds the s2sad bug shows in (all by default)."""
    assert set(kinds) <= set(KINDS), kinds
    return {k: reason for k in (kinds or ("all",))}


# the s2sad bugs the table shows (each case that shows one is marked xfail(strict=True));
# none at the moment


ELEMENTWISE_UNARY = (
    case(P.NP_SIN, "x", "return np.sin(x)", u(2, 3, lo=-3, hi=3)),
    case(P.NP_COS, "x", "return np.cos(x)", u(2, 3, lo=-3, hi=3)),
    case(P.NP_TAN, "x", "return np.tan(x)", u(2, 3, lo=-1.2, hi=1.2)),
    case(P.NP_ARCSIN, "x", "return np.arcsin(x)", u(2, 3, lo=-0.9, hi=0.9)),
    case(P.NP_ARCCOS, "x", "return np.arccos(x)", u(2, 3, lo=-0.9, hi=0.9)),
    case(P.NP_ARCTAN, "x", "return np.arctan(x)", u(2, 3, lo=-3, hi=3)),
    case(P.NP_SINH, "x", "return np.sinh(x)", u(2, 3, lo=-2, hi=2)),
    case(P.NP_COSH, "x", "return np.cosh(x)", u(2, 3, lo=-2, hi=2)),
    case(P.NP_TANH, "x", "return np.tanh(x)", u(2, 3, lo=-2, hi=2)),
    case(P.NP_EXP, "x", "return np.exp(x)", u(2, 3, lo=-2, hi=2)),
    case(P.NP_EXPM1, "x", "return np.expm1(x)", u(2, 3, lo=-2, hi=2)),
    case(P.NP_LOG, "x", "return np.log(x)", u(2, 3, lo=0.2, hi=3)),
    case(P.NP_LOG1P, "x", "return np.log1p(x)", u(2, 3, lo=-0.5, hi=3)),
    case(P.NP_LOG2, "x", "return np.log2(x)", u(2, 3, lo=0.2, hi=3)),
    case(P.NP_LOG10, "x", "return np.log10(x)", u(2, 3, lo=0.2, hi=3)),
    case(P.NP_SQRT, "x", "return np.sqrt(x)", u(2, 3, lo=0.2, hi=3)),
    case(P.NP_SQUARE, "x", "return np.square(x)", u(2, 3, lo=-2, hi=2)),
    case(P.NP_ABS, "x", "return np.abs(x)", away(2, 3)),
    case(P.NP_ABS, "x", "return np.absolute(x) * x", away(4)),
    case(P.NP_NEGATIVE, "x", "return np.negative(x)", u(2, 3)),
    # chains of elementwise functions, on a 0-d array and on a Python float
    case(P.NP_EXP, "x", "return np.exp(np.sin(x)) * np.log(x)", np.array(1.3)),
    case(P.NP_TANH, "x", "return np.tanh(np.sqrt(x)) + np.cos(x) * x", 0.7),
    # Python operators and builtins on arrays
    case(P.NP_EXP, "x", "return -np.exp(x) + abs(x) * 2.0 - x / 3.0", away(3, 2)),
)

# every binary elementwise primitive under every broadcast: equal shapes, a Python float
# with an array, (3, 1) with (1, 4), (4,) with (3, 4), a 0-d array with an array
_BROADCASTS = (
    ("same", lambda lo, hi: (u(3, 4, lo=lo, hi=hi), u(3, 4, lo=lo, hi=hi))),
    ("float", lambda lo, hi: (float(u(lo=lo, hi=hi)), u(3, 4, lo=lo, hi=hi))),
    ("outer", lambda lo, hi: (u(3, 1, lo=lo, hi=hi), u(1, 4, lo=lo, hi=hi))),
    ("row", lambda lo, hi: (u(4, lo=lo, hi=hi), u(3, 4, lo=lo, hi=hi))),
    ("0-d", lambda lo, hi: (np.array(u(lo=lo, hi=hi)), u(3, lo=lo, hi=hi))),
)


def _binary(prim: Prim, expr: str, lo: float = -1.0, hi: float = 1.0, swap: bool = True,
            bugs: dict | None = None) -> tuple[ArrayCase, ...]:
    cases = []
    for label, make in _BROADCASTS:
        a, b = make(lo, hi)
        cases.append(case(prim, "x, y", f"return {expr}", a, b, label=" " + label,
                          bugs=bugs))
        if swap and label != "same":
            cases.append(case(prim, "x, y", f"return {expr}", b, a, label=" " + label,
                              bugs=bugs))
    return tuple(cases)


ELEMENTWISE_BINARY = (
    *_binary(P.NP_ADD, "np.add(x, y)"),
    *_binary(P.NP_SUBTRACT, "np.subtract(x, y)"),
    *_binary(P.NP_MULTIPLY, "np.multiply(x, y)"),
    *_binary(P.NP_DIVIDE, "np.divide(x, y)", lo=0.3, hi=2.0),
    *_binary(P.NP_POWER, "np.power(x, y)", lo=0.3, hi=2.0),
    *_binary(P.NP_MAXIMUM, "np.maximum(x, y)"),
    *_binary(P.NP_MINIMUM, "np.minimum(x, y)"),
    *_binary(P.NP_ARCTAN2, "np.arctan2(x, y)"),
    *_binary(P.NP_HYPOT, "np.hypot(x, y)"),
    # Python operators broadcast the same way
    *_binary(P.ADD, "x + y", swap=False),
    *_binary(P.SUB, "x - y", swap=False),
    *_binary(P.MUL, "x * y", swap=False),
    *_binary(P.DIV, "x / y", lo=0.3, hi=2.0, swap=False),
    *_binary(P.POW, "x ** y", lo=0.3, hi=2.0, swap=False),
    case(P.NP_DIVIDE, "x, y", "return np.true_divide(x, y)", u(3, lo=0.3, hi=2),
         u(2, 3, lo=0.3, hi=2)),
    # a negative base with an integer exponent, an array base with a float exponent
    case(P.NP_POWER, "x", "return np.power(x, 3)", u(2, 3, lo=-2, hi=2)),
    case(P.NP_POWER, "x", "return np.power(x, 2.5)", u(2, 3, lo=0.2, hi=2)),
    case(P.NP_POWER, "x", "return np.power(2.0, x)", u(2, 3, lo=-2, hi=2)),
    case(P.POW, "x", "return x ** 2", u(2, 3, lo=-2, hi=2)),
    case(P.POW, "x", "return x ** -1.5", u(2, 3, lo=0.3, hi=2)),
    case(P.NP_MAXIMUM, "x", "return np.maximum(x, 0.0)", away(3, 4)),
    case(P.NP_MINIMUM, "x", "return np.minimum(0.5, x)", away(3, 4) + 0.5),
)

SELECTION = (
    case(P.NP_WHERE, "x, y", "return np.where(x > y, x * y, x - y)", u(3, 4), u(3, 4)),
    case(P.NP_WHERE, "x", "return np.where(x > 0, x, 0.0)", away(3, 4)),
    case(P.NP_WHERE, "x", "return np.where(x > 0, 0.5, np.sin(x))", away(3, 4)),
    case(P.NP_WHERE, "c, x, y", "return np.where(c, x, y)", u(3, 4) > 0, u(3, 4), u(4),
         label=" broadcast"),
    case(P.NP_WHERE, "c, x, y", "return np.where(c, x, y)", u(3, 1) > 0, u(1, 4), u(3, 4),
         label=" broadcast"),
    case(P.NP_WHERE, "x, y", "return np.where(x > 0.0, x, y)", np.array(0.7), u(3)),
    case(P.NP_CLIP, "x", "return np.clip(x, -0.5, 0.5)",
         np.array([[-0.9, -0.3, 0.2], [0.45, 0.7, -0.6]])),
    case(P.NP_CLIP, "x, lo, hi", "return np.clip(x, lo, hi)",
         np.array([[-0.9, -0.3, 0.2], [0.45, 0.7, -0.6]]), np.array([-0.5, -0.4, -0.1]),
         np.array([0.5, 0.6, 0.1])),
    case(P.NP_CLIP, "x, lo, hi", "return np.clip(x, lo, hi)",
         np.array([[-0.9, -0.3, 0.2], [0.45, 0.7, -0.6]]), -0.5, 0.4, label=" floats"),
    case(P.NP_CLIP, "x", "return x.clip(-0.5, 0.5) * x",
         np.array([[-0.9, -0.3, 0.2], [0.45, 0.7, -0.6]])),
)

REDUCTIONS = (
    case(P.NP_SUM, "x", "return np.sum(x)", u(3, 4)),
    case(P.NP_SUM, "x", "return np.sum(x, axis=0)", u(3, 4)),
    case(P.NP_SUM, "x", "return np.sum(x, axis=-1, keepdims=True)", u(3, 4)),
    case(P.NP_SUM, "x", "return np.sum(x, axis=(0, 2))", u(2, 3, 4)),
    case(P.NP_SUM, "x", "return np.sum(x, 1)", u(2, 3, 4)),
    case(P.NP_SUM, "x", "return np.sum(x, keepdims=True)", u(2, 3)),
    case(P.NP_SUM, "x", "return x.sum(axis=1) * x.sum()", u(3, 4)),
    case(P.NP_SUM, "x", "return np.sum(x * x)", 1.5),
    case(P.NP_SUM, "x", "return np.sum(x)", np.array(1.5)),
    case(P.NP_MEAN, "x", "return np.mean(x)", u(3, 4)),
    case(P.NP_MEAN, "x", "return np.mean(x, axis=1)", u(3, 4)),
    case(P.NP_MEAN, "x", "return np.mean(x, axis=(-1, 0), keepdims=True)", u(2, 3, 4)),
    case(P.NP_MEAN, "x", "return x.mean() + x.mean(axis=0)", u(3, 4)),
    case(P.NP_PROD, "x", "return np.prod(x)", u(3, 4, lo=0.3, hi=1.5)),
    case(P.NP_PROD, "x", "return np.prod(x, axis=0)", u(3, 4)),
    case(P.NP_PROD, "x", "return np.prod(x, axis=-1, keepdims=True)", u(2, 3, 4)),
    case(P.NP_PROD, "x", "return x.prod(axis=1)", u(3, 4)),
    # a zero entry: the product is smooth there and its gradient the product of the others
    case(P.NP_PROD, "x", "return np.prod(x)", np.array([0.0, 1.5, -0.7]), label=" zero"),
    case(P.NP_PROD, "x", "return np.prod(x, axis=1)", np.array([[0.0, 1.5], [0.3, -0.7]]),
         label=" zero"),
    case(P.NP_MAX, "x", "return np.max(x)", spread(3, 4)),
    case(P.NP_MAX, "x", "return np.max(x, axis=0)", spread(3, 4)),
    case(P.NP_MAX, "x", "return np.max(x, axis=-1, keepdims=True)", spread(2, 3, 4)),
    case(P.NP_MAX, "x", "return np.max(x, axis=(0, 2))", spread(2, 3, 4)),
    case(P.NP_MAX, "x", "return x.max() * x.max(axis=1)", spread(3, 4)),
    case(P.NP_MAX, "x", "return np.amax(x, axis=1)", spread(3, 4)),
    case(P.NP_MAX, "x", "return np.max(x, keepdims=True) * x", spread(2, 3)),
    case(P.NP_MIN, "x", "return np.min(x)", spread(3, 4)),
    case(P.NP_MIN, "x", "return np.min(x, axis=1)", spread(3, 4)),
    case(P.NP_MIN, "x", "return np.min(x, axis=0, keepdims=True)", spread(3, 4)),
    case(P.NP_MIN, "x", "return x.min(axis=-1) + np.amin(x)", spread(3, 4)),
    case(P.NP_VAR, "x", "return np.var(x)", u(3, 4)),
    case(P.NP_VAR, "x", "return np.var(x, axis=0)", u(3, 4)),
    case(P.NP_VAR, "x", "return np.var(x, axis=1, ddof=1)", u(3, 4)),
    case(P.NP_VAR, "x", "return np.var(x, axis=(0, 2), keepdims=True)", u(2, 3, 4)),
    case(P.NP_VAR, "x", "return np.var(x, ddof=1, keepdims=True)", u(3, 4)),
    case(P.NP_VAR, "x", "return x.var(axis=-1) + x.var(ddof=2)", u(3, 4)),
    case(P.NP_STD, "x", "return np.std(x)", u(3, 4)),
    case(P.NP_STD, "x", "return np.std(x, axis=0)", u(3, 4)),
    case(P.NP_STD, "x", "return np.std(x, axis=-1, ddof=1, keepdims=True)", u(3, 4)),
    case(P.NP_STD, "x", "return np.std(x, axis=(1, 2))", u(2, 3, 4)),
    case(P.NP_STD, "x", "return x.std(ddof=1) * x.std(axis=1)", u(3, 4)),
)

LINEAR_ALGEBRA = (
    case(P.MATMUL, "a, b", "return a @ b", u(3, 4), u(4, 2)),
    case(P.MATMUL, "a, b", "return a @ b", u(3, 4), u(4)),
    case(P.MATMUL, "a, b", "return a @ b", u(3), u(3, 4)),
    case(P.MATMUL, "a, b", "return a @ b", u(4), u(4)),
    case(P.MATMUL, "a, b", "return a @ b", u(2, 3, 4), u(4, 2)),
    case(P.MATMUL, "a, b", "return a @ b", u(3, 4), u(2, 4, 2)),
    case(P.MATMUL, "a, b", "return a @ b", u(2, 3, 4), u(2, 4, 2)),
    case(P.MATMUL, "a, b", "return a @ b", u(2, 1, 3, 4), u(3, 4, 2)),
    case(P.MATMUL, "a, b", "return a @ b", u(2, 3, 4), u(4)),
    case(P.MATMUL, "a, b", "return a @ b", u(4), u(2, 4, 3)),
    case(P.MATMUL, "a", "return np.tanh(a) @ a.T", u(3, 4)),
    case(P.NP_MATMUL, "a, b", "return np.matmul(a, b)", u(3, 4), u(4, 2)),
    case(P.NP_MATMUL, "a, b", "return np.matmul(a, b)", u(2, 3, 4), u(4)),
    case(P.NP_DOT, "a, b", "return np.dot(a, b)", u(4), u(4)),
    case(P.NP_DOT, "a, b", "return np.dot(a, b)", u(3, 4), u(4)),
    case(P.NP_DOT, "a, b", "return np.dot(a, b)", u(4), u(4, 3)),
    case(P.NP_DOT, "a, b", "return np.dot(a, b)", u(3, 4), u(4, 2)),
    case(P.NP_DOT, "a, b", "return a.dot(b)", u(3, 4), u(4, 2)),
    # np.dot of N-d arrays is not matmul: it sums the last axis of a against the
    # second-to-last of b and keeps all the other axes of both
    case(P.NP_DOT, "a, b", "return np.dot(a, b)", u(2, 3, 4), u(2, 4, 3)),
    case(P.NP_DOT, "a, b", "return np.dot(a, b)", u(2, 3, 4), u(4, 2)),
    # np.dot with a scalar is multiplication
    case(P.NP_DOT, "a, b", "return np.dot(a, b)", u(3, 4), 1.5),
    case(P.NP_OUTER, "a, b", "return np.outer(a, b)", u(3), u(4)),
    case(P.NP_OUTER, "a, b", "return np.outer(a, b)", u(2, 2), u(3), label=" flattens"),
    case(P.NP_INNER, "a, b", "return np.inner(a, b)", u(4), u(4)),
    case(P.NP_INNER, "a, b", "return np.inner(a, b)", u(3, 4), u(2, 4)),
    case(P.NP_INNER, "a, b", "return np.inner(a, b)", u(3, 4), u(4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ij,jk->ik', a, b)", u(3, 4), u(4, 2)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ij,jk', a, b)", u(3, 4), u(4, 2)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ij,kj', a, b)", u(3, 4), u(2, 4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('i,i', a, b)", u(4), u(4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('i,j->ij', a, b)", u(3), u(4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ij,ij->', a, b)", u(3, 4), u(3, 4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ij,j->i', a, b)", u(3, 4), u(4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('bij,bjk->bik', a, b)", u(2, 3, 4),
         u(2, 4, 2)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ii,ij', a, b)", u(3, 3), u(3, 4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ii,ij->j', a, b)", u(3, 3), u(3, 4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ij,jj->i', a, b)", u(3, 4), u(4, 4)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ij,k->jk', a, b)", u(3, 4), u(2)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('...ij,jk->...ik', a, b)", u(2, 3, 4),
         u(4, 2)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('...ij,jk', a, b)", u(2, 3, 4), u(4, 2)),
    case(P.NP_EINSUM, "a, b", "return np.einsum('ij,j->ij', a, b)", u(3, 4), u(4),
         label=" broadcast index"),
    case(P.NP_TRACE, "x", "return np.trace(x)", u(3, 3)),
    case(P.NP_TRACE, "x", "return np.trace(x) * x", u(3, 4)),
    case(P.NP_TRACE, "x", "return x.trace()", u(4, 3)),
    case(P.NP_TRACE, "x", "return np.trace(x)", u(3, 3, 2), label=" 3-d"),
    case(P.NP_TRANSPOSE, "x", "return np.transpose(x)", u(3, 4)),
    case(P.NP_TRANSPOSE, "x", "return np.transpose(x)", u(2, 3, 4)),
    case(P.NP_TRANSPOSE, "x", "return np.transpose(x, (1, 0, 2))", u(2, 3, 4)),
    case(P.NP_TRANSPOSE, "x", "return np.transpose(x, axes=(2, 0, 1))", u(2, 3, 4)),
    case(P.NP_TRANSPOSE, "x", "return x.transpose(1, 2, 0)", u(2, 3, 4)),
    case(P.NP_TRANSPOSE, "x", "return x.transpose() @ x", u(3, 4)),
    case(P.T, "x", "return x.T * np.arange(3.0)", u(3, 4)),
    case(P.T, "x", "return x.T", u(2, 3, 4)),
    case(P.T, "x", "return x.T + x", u(3)),
    case(P.SOLVE, "a, b", "return np.linalg.solve(a, b)", wellcond(3), u(3)),
    case(P.SOLVE, "a, b", "return np.linalg.solve(a, b)", wellcond(3), u(3, 2)),
    case(P.SOLVE, "a, b", "return np.linalg.solve(a, b)", wellcond(3, (2,)), u(2, 3, 2),
         label=" batched"),
    case(P.INV, "a", "return np.linalg.inv(a)", wellcond(3)),
    case(P.INV, "a", "return np.linalg.inv(a) @ a.T", wellcond(2)),
    case(P.INV, "a", "return np.linalg.inv(a)", wellcond(3, (2,)), label=" batched"),
    case(P.DET, "a", "return np.linalg.det(a)", wellcond(3)),
    case(P.DET, "a", "return np.linalg.det(a) * a", wellcond(2)),
    case(P.DET, "a", "return np.linalg.det(a)", wellcond(3, (2,)), label=" batched"),
    case(P.SLOGDET, "a", "sign, logdet = np.linalg.slogdet(a)\nreturn sign * logdet",
         wellcond(3)),
    case(P.SLOGDET, "a", "sign, logdet = np.linalg.slogdet(a)\nreturn logdet * a",
         -wellcond(3), label=" negative det"),
    case(P.SLOGDET, "a", "sign, logdet = np.linalg.slogdet(a)\nreturn logdet",
         wellcond(3, (2,)), label=" batched"),
    case(P.NORM, "x", "return np.linalg.norm(x)", u(4)),
    case(P.NORM, "x", "return np.linalg.norm(x)", u(3, 4), label=" Frobenius"),
    case(P.NORM, "x", "return np.linalg.norm(x, axis=0)", u(3, 4)),
    case(P.NORM, "x", "return np.linalg.norm(x, axis=(0, 1))", u(3, 4)),
    case(P.NORM, "x", "return np.linalg.norm(x, axis=-1, keepdims=True)", u(3, 4)),
    case(P.NORM, "x", "return np.linalg.norm(x, keepdims=True) * x", u(3)),
    case(P.CHOLESKY, "a", "return np.linalg.cholesky(a @ a.T + 3.0 * np.eye(3))", u(3, 3)),
    case(P.CHOLESKY, "a",
         "s = a @ a.T + 3.0 * np.eye(3)\nlow = np.linalg.cholesky(s)\nreturn low @ low.T",
         u(3, 3), label=" round trip"),
    case(P.CHOLESKY, "a",
         "return np.linalg.cholesky(a @ np.transpose(a, (0, 2, 1)) + 3.0 * np.eye(3))",
         u(2, 3, 3), label=" batched"),
    case(P.SVD, "a", "return np.linalg.svd(a, compute_uv=False)", distinct_sv(3, 3)),
    case(P.SVD, "a", "return np.linalg.svd(a, compute_uv=False)", distinct_sv(3, 4)),
    case(P.SVD, "a", "return np.linalg.svd(a, compute_uv=False)", distinct_sv(4, 2)),
    case(P.SVD, "a",
         "u, s, vh = np.linalg.svd(a, full_matrices=False)\n"
         "return u ** 2 * s + (vh ** 2)[0] * s[1]", distinct_sv(3, 3), label=" thin"),
    case(P.SVD, "a",
         "u, s, vh = np.linalg.svd(a, full_matrices=False)\n"
         "return (u * s) @ vh + u[:, 0:1] * vh[0:1, :]", distinct_sv(4, 3), label=" thin"),
    case(P.SVD, "a",
         "u, s, vh = np.linalg.svd(a, full_matrices=False)\n"
         "return u[:, 1] ** 2 * s[0] + np.sum(vh ** 2 * s[:, None], axis=0)[0]",
         distinct_sv(3, 4), label=" thin"),
    case(P.SVD, "a",
         "u, s, vh = np.linalg.svd(a)\nreturn u ** 2 * s + vh[1] ** 2", distinct_sv(3, 3),
         label=" full"),
    case(P.SVD, "a",
         "u, s, vh = np.linalg.svd(a, full_matrices=True)\n"
         "return u[:, :3] ** 2 * s + vh[0] ** 2", distinct_sv(4, 3), label=" full"),
    case(P.SVD, "a",
         "u, s, vh = np.linalg.svd(a, full_matrices=True)\n"
         "return u ** 2 * s + vh[:3, :3] ** 2", distinct_sv(3, 4), label=" full"),
)

SHAPES = (
    case(P.NP_RESHAPE, "x", "return np.reshape(x, (3, 4)) * np.arange(4.0)", u(2, 6)),
    case(P.NP_RESHAPE, "x", "return np.reshape(x, -1)", u(2, 3)),
    case(P.NP_RESHAPE, "x", "return x.reshape(2, 6)", u(3, 4)),
    case(P.NP_RESHAPE, "x", "return x.reshape((4, -1))", u(3, 4)),
    case(P.NP_RESHAPE, "x", "return x.reshape(x.shape[1], x.shape[0])", u(3, 4)),
    case(P.NP_RAVEL, "x", "return np.ravel(x) * np.arange(6.0)", u(2, 3)),
    case(P.NP_RAVEL, "x", "return x.ravel()", u(2, 3, 2)),
    case(P.NP_RAVEL, "x", "return x.flatten() ** 2", u(2, 3)),
    case(P.NP_EXPAND_DIMS, "x", "return np.expand_dims(x, 0) * x", u(2, 3)),
    case(P.NP_EXPAND_DIMS, "x", "return np.expand_dims(x, axis=-1) * x", u(3)),
    case(P.NP_EXPAND_DIMS, "x", "return np.expand_dims(x, (0, 2))", u(3)),
    case(P.NP_SQUEEZE, "x", "return np.squeeze(x)", u(1, 3, 1)),
    case(P.NP_SQUEEZE, "x", "return np.squeeze(x, axis=0) ** 2", u(1, 3, 1)),
    case(P.NP_SQUEEZE, "x", "return x.squeeze() @ np.ones(3)", u(3, 1)),
    case(P.NP_BROADCAST_TO, "x", "return np.broadcast_to(x, (3, 4))", u(4)),
    case(P.NP_BROADCAST_TO, "x", "return np.broadcast_to(x, (2, 3, 4)) ** 2", u(3, 1)),
    case(P.NP_BROADCAST_TO, "x", "return np.broadcast_to(x, (2, 3))", 0.7),
    case(P.NP_STACK, "x, y", "return np.stack([x, y])", u(3), u(3)),
    case(P.NP_STACK, "x, y", "return np.stack([x, y * x, x], axis=1)", u(2, 3), u(2, 3)),
    case(P.NP_STACK, "x, y", "return np.stack((x, y), axis=-1)", u(2, 3), u(2, 3)),
    case(P.NP_STACK, "x, y", "return np.stack([x, y, x * y])", 0.4, 1.3, label=" floats"),
    case(P.NP_CONCATENATE, "x, y", "return np.concatenate([x, y])", u(3), u(2)),
    case(P.NP_CONCATENATE, "x, y", "return np.concatenate([x, y, x], axis=1)", u(2, 3),
         u(2, 1)),
    case(P.NP_CONCATENATE, "x, y", "return np.concatenate((x * 2.0, y), axis=-2)", u(2, 3),
         u(1, 3)),
    case(P.NP_ARRAY, "x, y", "return np.array([x * y, x, np.sin(y)])", 0.4, 1.3),
    case(P.NP_ARRAY, "x", "return np.array([x[0] * x[1], x[2], 2.0])", u(3)),
    case(P.NP_ARRAY, "x, y", "return np.array([x, y]) * 2.0", u(3), u(3)),
    case(P.NP_ARRAY, "x", "return np.array(x) * x", u(3)),
    case(P.NP_COPY, "x", "return np.copy(x) * x", u(2, 3)),
    case(P.NP_COPY, "x", "return np.copy(x) ** 2 + x.copy()", u(2, 3)),
    case(P.NP_ASARRAY, "x", "return np.asarray(x) * x", u(2, 3)),
    case(P.NP_ASARRAY, "x", "return np.asarray([x, x * x])", 0.6),
)

_fancy = np.array([2, 0, 2, 1])

INDEXING = (
    case(P.GETITEM, "x", "return x[1]", u(3, 4)),
    case(P.GETITEM, "x", "return x[-1] * x[0]", u(3, 4)),
    case(P.GETITEM, "x", "return x[1:3]", u(4, 2)),
    case(P.GETITEM, "x", "return x[::2]", u(5)),
    case(P.GETITEM, "x", "return x[::-1] * x", u(5)),
    case(P.GETITEM, "x", "return x[4:0:-2]", u(5)),
    case(P.GETITEM, "x", "return x[1:, ::2]", u(3, 5)),
    case(P.GETITEM, "x", "return x[0, 1] * x", u(3, 4)),
    case(P.GETITEM, "x", "return x[:, -1]", u(3, 4)),
    case(P.GETITEM, "x", "return x[None] * x[:, None]", u(3)),
    case(P.GETITEM, "x", "return x[:, np.newaxis] + x", u(3)),
    case(P.GETITEM, "x", "return x[..., 0]", u(2, 3, 4)),
    case(P.GETITEM, "x", "return x[0, ..., 1:]", u(2, 3, 4)),
    case(P.GETITEM, "x, i", "return x[i] * x[i + 1]", u(4), 1),
    case(P.GETITEM, "x, n", "return x[1:n]", u(5), 4),
    case(P.GETITEM, "x", "return x[[0, 2, 2]]", u(3)),
    case(P.GETITEM, "x", "return x[np.array([1, 1, 0])] * 2.0", u(3, 2)),
    case(P.GETITEM, "x, idx", "return x[idx]", u(3), _fancy, label=" repeated"),
    case(P.GETITEM, "x, idx", "return x[idx, 1:]", u(3, 3), _fancy, label=" repeated"),
    case(P.GETITEM, "x, idx", "return x[:, idx]", u(2, 3), _fancy, label=" repeated"),
    case(P.GETITEM, "x", "return x[x > 0]", away(3, 4), label=" mask"),
    case(P.GETITEM, "x, m", "return x[m] * 2.0", u(2, 3), u(2, 3) > 0, label=" mask"),
    case(P.GETITEM, "x", "a, b = x\nreturn a * b", u(2, 3), label=" unpack"),
    case(P.GETITEM, "x", "return x[::-1, 1] * x[1:3, [0, 2]].sum()", u(3, 4)),
    case(P.GETITEM, "x", "return x[[0, 1, 1], [1, 2, 2]]", u(2, 3), label=" pointwise"),
    case(P.GETITEM, "x", "return (x * x[0]).sum(axis=0)[1:]", u(3, 4), label=" method chain"),
    case(P.GETITEM, "x", "return x[1][0]", u(3, 4), label=" chained"),
    case(P.SETITEM, "x", "y = np.zeros(4)\ny[1] = x[0] * 2.0\ny[2] = x[1] * x[0]\nreturn y",
         u(2)),
    case(P.SETITEM, "x", "y = np.zeros((3, 3))\ny[0] = x\ny[1:, 1] = x[:2] * x[2]\nreturn y",
         u(3)),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[1:3] += v\nreturn y * x", u(4), u(2)),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[1, 2] *= v\nreturn y", u(2, 3), 1.7),
    case(P.SETITEM, "x, v", "y = np.ones((2, 3))\ny[1, 2] *= v\ny[0] -= x\nreturn y",
         u(3), 1.7),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[0] = v\nreturn y * x", u(3), 0.8,
         label=" overwrite"),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[::2] = v\nreturn y", u(5), u(3)),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[:, 1] /= v\nreturn y", u(2, 3), u(2, lo=1, hi=2)),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[[0, 2]] = v\nreturn y", u(4), u(2),
         label=" fancy"),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[x > 0] = v\nreturn y", away(5), 0.3,
         label=" mask"),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[[1, 1]] = v\nreturn y", u(3), u(2),
         label=" repeated, the last write wins"),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[[1, 1]] += v\nreturn y", u(3), u(2),
         label=" repeated, buffered"),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[..., 0] = v\nreturn y * y", u(2, 3), u(2)),
    case(P.SETITEM, "x, v", "y = x.copy()\ny[[2, 0]] += v * x[1]\nreturn y", u(3), u(2),
         label=" fancy augmented"),
    case(P.SETITEM, "x", "y = x * 1.0\ny[y > 0] *= 2.0\nreturn y * x", away(5),
         label=" mask augmented"),
    case(P.SETITEM, "x, v", "x = x * 1.0\nx[1] = v\nreturn x * x", u(3), 0.5,
         label=" rebound"),
)

LOOPS_AND_LISTS = (
    # index writes inside loops: the adjoint restores what the loop overwrites
    case(P.SETITEM, "x",
         "y = np.zeros(4)\nfor i in range(4):\n    y[i] = x[i] * x[i - 1]\nreturn y", u(4),
         label=" loop"),
    case(P.SETITEM, "x",
         "y = x.copy()\nfor i in range(1, 4):\n    y[i] = np.sin(y[i - 1]) * x[i]\nreturn y",
         u(4), label=" loop recurrence"),
    case(P.SETITEM, "x",
         "y = x.copy()\nfor i in range(3):\n    y[0] = np.sin(y[0]) * x[i]\nreturn y", u(3),
         label=" loop overwrite"),
    case(P.SETITEM, "x",
         "y = x.copy()\nfor i in range(3):\n    y[i] *= y[i + 1]\n    y[i + 1] += y[i]\n"
         "return y", u(4), label=" loop in place"),
    case(P.SETITEM, "x, n",
         "y = np.ones((n, 2))\nfor i in range(n):\n    y[i, :] = x * y[i - 1, :] + 1.0\n"
         "return y", u(2), 3, label=" loop rows"),
    case(P.SETITEM, "x",
         "y = np.zeros(3)\nfor i in range(3):\n    y[i] += np.sum(x[:i + 1] ** 2)\n"
         "    y[i] = y[i] * x[i]\nreturn y", u(3), label=" loop accumulate"),
    # lists and tuples
    case(P.NP_SUM, "x", "if np.sum(x) > 0:\n    y = x * 2.0\nelse:\n    y = x ** 2\nreturn y",
         np.array([0.5, -0.2, 0.3]), label=" branch"),
    case(P.NP_SUM, "x", "if np.sum(x) > 0:\n    y = x * 2.0\nelse:\n    y = x ** 2\nreturn y",
         np.array([-0.5, -0.2, 0.3]), label=" branch"),
    case(P.NP_MEAN, "x",
         "y = x\nif np.mean(x) < 0.0:\n    y = np.abs(x)\nreturn np.sum(y * x, axis=0)",
         np.array([[-0.5, -0.2], [0.3, -0.4]]), label=" branch"),
    case(P.NP_SUM, "x, y", "return np.sum([x, y * x], axis=0)", u(3), u(3),
         label=" of a list"),
    case(P.NP_MEAN, "x, y", "return np.mean([x, y, x * y])", 0.4, 1.3, label=" of a list"),
    case(P.NP_CONCATENATE, "x",
         "ys = []\nfor i in range(3):\n    ys.append(x[i:] * x[i])\nreturn np.concatenate(ys)",
         u(3), label=" of a list built in a loop"),
    case(P.NP_BROADCAST_TO, "x, y", "return np.broadcast_to(x, y.shape) * y", u(3), u(2, 3)),
    case(P.NP_DOT, "x", "return np.dot(x, x) + x @ x", u(3), label=" same operand"),
    case(P.NP_OUTER, "x", "return np.outer(x, x)", u(3), label=" same operand"),
    case(P.NP_EINSUM, "x", "return np.einsum('ij,ij->', x, x)", u(2, 3),
         label=" same operand"),
    case(P.T, "x", "return x.T @ x", u(3), label=" 1-d"),
    case(P.NP_SIN, "a, x", "return np.sin(a) * x + a", 0.3, u(3), label=" Python float"),
    case(P.LIST, "x, y", "xs = [x, y, x * y]\nreturn xs[0] * xs[2] + xs[-1]", u(3), u(3)),
    case(P.TUPLE, "x, y", "t = (x, y * 2.0)\nreturn t[1] * t[0]", u(3), u(3)),
    case(P.TUPLE, "x, y", "t = (x * y, x - y)\na, b = t\nreturn a * b", u(3), u(3),
         label=" unpack"),
    case(P.SUM, "x, y", "return sum([x, y, x * y])", u(2, 3), u(2, 3)),
    case(P.SUM, "x", "return sum([x, x])", 0.7),
    case(P.SUM, "x", "return sum(x) * x", u(3, 2), label=" over rows"),
    case(P.APPEND, "x",
         "ys = []\nfor i in range(3):\n    ys.append(x[i] * x)\nreturn np.stack(ys)", u(3)),
    case(P.APPEND, "x",
         "ys = [x]\nfor i in range(3):\n    ys.append(np.sin(ys[-1]) * x)\nreturn sum(ys)",
         u(2)),
    case(P.APPEND, "x, n",
         "ys = []\nfor i in range(n):\n    ys.append(x[i] ** 2)\nreturn np.array(ys)",
         u(4), 3),
    case(P.APPEND, "x",
         "ys = [np.sin(v) * v for v in x]\nreturn np.stack(ys)", u(3, 2),
         label=" comprehension"),
    case(P.APPEND, "x",
         "return np.array([x[i] * x[i + 1] for i in range(3)])", u(4),
         label=" comprehension"),
    case(P.APPEND, "x",
         "return sum([v ** 2 for v in x if v > 0])", away(5), label=" comprehension if"),
    case(P.GETITEM, "x",
         "acc = 0.0\nfor row in x:\n    acc = acc + np.sin(row) * row[0]\nreturn acc",
         u(3, 2), label=" for over an array"),
    case(P.GETITEM, "x",
         "acc = 1.0\nfor v in x:\n    acc = acc * v + 0.5\nreturn acc", u(4),
         label=" for over a vector"),
    case(P.GETITEM, "x, y",
         "acc = 0.0\nfor i, v in enumerate(x):\n    acc = acc + v * y[i] ** 2\nreturn acc",
         u(3), u(3), label=" enumerate"),
    case(P.GETITEM, "x, y",
         "acc = x[0] * 0.0\nfor a, b in zip(x, y):\n    acc = acc + a * b\nreturn acc",
         u(3, 2), u(3, 2), label=" zip"),
    case(P.GETITEM, "x",
         "xs = [x, x * 2.0, np.sin(x)]\nacc = 0.0\nfor v in xs:\n    acc = acc + v * v\n"
         "return acc", u(3), label=" for over a list"),
    case(P.GETITEM, "x",
         "acc = x\nfor i in range(len(x)):\n    acc = acc * x[i]\nreturn acc", u(3),
         label=" for over len"),
    case(P.SETITEM, "x, y", "xs = [x, y]\nxs[0] = xs[0] * y\nreturn xs[0] + xs[1]", u(3), u(3),
         label=" list"),
    case(P.SETITEM, "x",
         "y = np.zeros(5)\nfor i in range(3):\n    y[i:i + 3] += x * (i + 1.0)\nreturn y",
         u(3), label=" loop overlapping slices"),
    case(P.SETITEM, "x",
         "y = x.copy()\nfor i in range(3):\n    y[1:] = y[1:] * y[:-1]\nreturn y", u(4),
         label=" loop shifted slices"),
    case(P.SETITEM, "x",
         "y = x.copy()\ni = 0\nwhile i < 3:\n    y[i + 1] = y[i] * x[i]\n    i = i + 1\n"
         "return y", u(4), label=" while loop"),
    case(P.SETITEM, "x",
         "y = x.copy()\nfor i in range(4):\n    if y[i] > 0:\n        y[i] = y[i] ** 2\n"
         "    else:\n        y[(i + 1) % 4] *= y[i]\nreturn y", away(4), label=" loop branch"),
    case(P.SETITEM, "x",
         "y = np.ones((2, 2))\nfor i in range(2):\n    for j in range(2):\n"
         "        y[i, j] *= x[i] + y[j, i]\nreturn y", u(2), label=" nested loops"),
)

# inactive primitives inside differentiable code: no derivative through them, no error
INACTIVE = (
    case(P.NP_SIGN, "x, y", "return x * np.sign(y)", u(3, 4), away(4)),
    case(P.NP_FLOOR, "x", "return x * np.floor(3.0 * x)", np.array([0.1, 0.5, -0.2, 1.1])),
    case(P.NP_CEIL, "x", "return np.ceil(x * 2.0) * x ** 2", np.array([0.1, 0.6, -0.2])),
    case(P.NP_ROUND, "x", "return np.round(x * 3.0) * x", np.array([0.1, 0.6, -0.4])),
    case(P.NP_ISNAN, "x", "return np.where(np.isnan(x), 0.0, x) ** 2", u(2, 3)),
    case(P.NP_ISFINITE, "x", "return np.where(np.isfinite(x), np.sin(x), 1.0)", u(2, 3)),
    case(P.NP_LOGICAL_AND, "x, y",
         "return np.where(np.logical_and(x > 0, y > 0), x * y, x - y)", away(3, 4),
         away(3, 4)),
    case(P.NP_LOGICAL_OR, "x, y",
         "return np.where(np.logical_or(x > 0, y > 0), x * y, x + y)", away(3, 4),
         away(3, 4)),
    case(P.NP_LOGICAL_NOT, "x", "return np.where(np.logical_not(x > 0), -x, x ** 2)",
         away(3, 4)),
    case(P.NP_ARGMAX, "x", "return x[np.argmax(x)] * x", spread(4)),
    case(P.NP_ARGMAX, "x", "return x * np.argmax(x, axis=0)", spread(3, 4)),
    case(P.NP_ARGMIN, "x", "return x * x[np.argmin(x)] + x.argmax()", spread(4)),
    case(P.NP_ZEROS, "x", "return np.zeros(3) + x", u(3)),
    case(P.NP_ZEROS, "x", "return np.zeros((2, 3)) + x * np.zeros_like(x)", u(3)),
    case(P.NP_ONES, "x", "return np.ones((2, 3)) * x", u(3)),
    case(P.NP_EYE, "x", "return np.sum(np.eye(3) * x) + x @ np.eye(3, 2)", u(3, 3)),
    case(P.NP_IDENTITY, "x", "return x @ (np.identity(3) * 2.0 + x)", u(3, 3)),
    case(P.NP_ARANGE, "x", "return np.arange(3) * x + np.arange(1.0, 4.0)", u(3)),
    case(P.NP_LINSPACE, "x", "return np.linspace(0.0, 1.0, 3) * x", u(3)),
    case(P.NP_FULL, "x", "return np.full((3,), 2.5) * x", u(3)),
    case(P.NP_ZEROS_LIKE, "x", "return np.zeros_like(x) + x ** 2", u(2, 3)),
    case(P.NP_ONES_LIKE, "x", "return np.ones_like(x) / x", u(2, 3, lo=0.3, hi=1)),
    case(P.SHAPE, "x", "return x * x.shape[0] + x.shape[1]", u(3, 4)),
    case(P.NDIM, "x", "return x * x.ndim", u(3, 4)),
    case(P.SIZE, "x", "return x / x.size", u(3, 4)),
    case(P.NP_SHAPE, "x", "return x * np.shape(x)[1]", u(3, 4)),
    case(P.NP_NDIM, "x", "return x ** np.ndim(x)", u(3, 4)),
    case(P.NP_SIZE, "x", "return np.sum(x) / np.size(x)", u(3, 4)),
    case(P.LEN, "x", "return x * len(x)", u(3, 4)),
    case(P.LEN, "x", "return np.sum(x) / len([x, x])", u(3)),
    # the output does not depend on x at all
    case(P.NP_SIGN, "x", "return np.sign(x)", away(3)),
    case(P.NP_ZEROS_LIKE, "x", "return np.zeros_like(x)", u(2, 3)),
)

CASES: tuple[ArrayCase, ...] = (
    *ELEMENTWISE_UNARY, *ELEMENTWISE_BINARY, *SELECTION, *REDUCTIONS, *LINEAR_ALGEBRA,
    *SHAPES, *INDEXING, *LOOPS_AND_LISTS, *INACTIVE,
)

# never written by a user: the tape, copies and zeros the passes insert, the accumulation of
# adjoints into indexed entries, and the helpers generated code defines (``_unbroadcast``...)
# calls to user functions have their own tests (test_calls.py)
COMPILER_INTRODUCED = {P.COPY, P.ZEROS_LIKE, P.TAPE, P.PUSH, P.POP, P.INDEX_ADD, P.CALL} | {
    p for p in Prim if (p.spec.call or "").startswith("_")}
ARRAY_PRIMS = set(Prim) - SCALAR_PRIMS - COMPILER_INTRODUCED


# --------------------------------------------------------------------------------------
# Oracles with an error estimate


def _fd_gradient(loss: Callable, args: tuple, i: int, scale: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``d loss / d args[i]`` by entrywise central differences, and a bound on the error of
    each entry (as in test_rules.finite_difference):

    * truncation: the estimates with steps 2h and h differ by 3 times the O(h**2) error of
      the latter (and show the rounding noise): taken whole;
    * rounding: 64 ulps of the loss's scale (the sum of the magnitudes it adds up) per
      evaluation, divided by the step;
    * the derivative under test is itself rounded: 64 ulps of the largest entry.
    """
    estimate = array_gradient(loss, args, i, REL_STEP)
    coarse = array_gradient(loss, args, i, 2 * REL_STEP)
    x = np.asarray(args[i], dtype=np.float64)
    h = REL_STEP * np.maximum(1.0, np.abs(x))
    scale = max(abs(float(loss(*args))), scale, 1e-300)
    bound = np.abs(coarse - estimate) + 64 * EPS * scale / h \
        + 64 * EPS * float(np.max(np.abs(estimate), initial=0.0))
    return estimate, bound


def _fd_directional(f: Callable, args: tuple, inputs: tuple[int, ...], tangents: tuple
                    ) -> tuple[np.ndarray, np.ndarray]:
    """J t by central differences along the tangents of ``inputs``, and an error bound per
    entry (the same three parts as ``_fd_gradient``)."""
    def along(*moved):
        point = list(args)
        for k, m in zip(inputs, moved):
            point[k] = m
        return f(*point)

    at = [args[k] for k in inputs]
    h = 1e-6
    estimate = directional_derivative(along, at, tangents, h)
    coarse = directional_derivative(along, at, tangents, 2 * h)
    scale = max(float(np.max(np.abs(np.asarray(f(*args), dtype=np.float64)), initial=0.0)),
                1e-300)
    bound = np.abs(coarse - estimate) + 64 * EPS * scale / h \
        + 64 * EPS * float(np.max(np.abs(estimate), initial=0.0))
    return estimate, bound


def _random_like(a: object, seed: int) -> object:
    rng = np.random.default_rng(seed)
    if np.ndim(a) == 0 and not isinstance(a, np.ndarray):
        return float(rng.uniform(-1, 1))
    return rng.uniform(-1, 1, np.shape(a)).astype(np.asarray(a).dtype
                                                   if np.asarray(a).dtype.kind == "f"
                                                   else np.float64)


def _seed(c: ArrayCase, what: str) -> int:
    return zlib.crc32(f"{c.id}/{what}".encode())


def _weights(c: ArrayCase, out: object) -> object:
    """Fixed random weights shaped like f's output (a Python float for a scalar)."""
    rng = np.random.default_rng(_seed(c, "weights"))
    if np.ndim(out) == 0:
        return float(rng.uniform(0.5, 1.5))
    return rng.uniform(-1.5, 1.5, np.shape(out))


def _assert_within(got: object, expected: np.ndarray, bound: np.ndarray, what: str) -> None:
    assert np.shape(got) == np.shape(expected), (
        f"{what}: shape {np.shape(got)}, expected {np.shape(expected)}")
    got = np.asarray(got, dtype=np.float64)
    assert np.all(np.isfinite(got)), f"{what}: got {got!r}"
    error = np.abs(got - expected)
    worst = np.unravel_index(np.argmax(error - bound), np.shape(error)) if error.ndim else ()
    assert np.all(error <= bound), (
        f"{what}: got\n{got!r}\nfinite differences give\n{expected!r}\n(at {worst}: |error| "
        f"{error[worst]:.3g} > tolerance {bound[worst]:.3g})")


def _same_kind(got: object, like: object, what: str) -> None:
    """A derivative has the shape (and floating dtype) of what it is the derivative of."""
    assert np.shape(got) == np.shape(like), (
        f"{what}: shape {np.shape(got)}, expected {np.shape(like)}")
    if isinstance(like, np.ndarray) and like.dtype.kind == "f":
        assert np.asarray(got).dtype == like.dtype, (
            f"{what}: dtype {np.asarray(got).dtype}, expected {like.dtype}")


def _values_equal(got: object, expected: object) -> bool:
    return np.shape(got) == np.shape(expected) and bool(
        np.array_equal(np.asarray(got), np.asarray(expected), equal_nan=True))


# --------------------------------------------------------------------------------------
# The checks


def _params(cases, kind: str) -> list:
    out = []
    for c in cases:
        reason = c.bugs.get(kind) or c.bugs.get("all")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def _copies(values) -> list:
    return [np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in values]


def _changed(given: list, originals, what: str) -> list[str]:
    """The arguments a derivative wrote into (it must never write into what it is given)."""
    return [f"{what} changed its argument {k}" for k, (g, o) in enumerate(zip(given, originals))
            if isinstance(o, np.ndarray) and not np.array_equal(g, o, equal_nan=True)]


def _tangents(c: ArrayCase) -> tuple:
    return tuple(_random_like(c.args[i], _seed(c, f"t{i}")) for i in c.inputs)


def _call(transform: Callable, fn: Callable, c: ArrayCase, *extra: object
          ) -> tuple[object, list[str]]:
    """``transform(fn)(*c.args, *extra)`` on copies of the arguments, and what it changed."""
    originals = (*c.args, *extra)
    given = _copies(originals)
    result = transform(fn, wrt=c.inputs)(*given)
    return result, _changed(given, originals, transform.__name__)


@pytest.mark.parametrize("c", _params(CASES, "value"))
def test_value(c: ArrayCase):
    """jvp returns f's value, exactly: the primal section is the user's computation."""
    f, _ = c.functions()
    out = f(*c.args)
    (value, _), changed = _call(s2sad.jvp, f, c, *_tangents(c))
    assert _values_equal(value, out), f"jvp value {value!r} != f = {out!r}"
    assert not changed


@pytest.mark.parametrize("c", _params(CASES, "grad"))
def test_grad(c: ArrayCase):
    f, loss = c.functions()
    out = f(*c.args)
    wts = _weights(c, out)
    full = (*c.args, wts)
    scale = float(np.sum(np.abs(np.asarray(out, dtype=np.float64) * wts)))
    gradient, changed = _call(s2sad.grad, loss, c, wts)
    assert isinstance(gradient, tuple) and len(gradient) == len(c.inputs)
    for i, got in zip(c.inputs, gradient):
        _same_kind(got, c.args[i], f"grad wrt argument {i}")
        expected, bound = _fd_gradient(loss, full, i, scale)
        _assert_within(got, expected, bound, f"grad wrt argument {i}")
    value, again = s2sad.value_and_grad(loss, wrt=c.inputs)(*full)
    assert _values_equal(value, loss(*full)), "value_and_grad's value differs from loss"
    for got, g in zip(again, gradient):
        assert _values_equal(got, g), "value_and_grad's gradient differs from grad's"
    assert not changed


@pytest.mark.parametrize("c", _params(CASES, "jvp"))
def test_jvp(c: ArrayCase):
    f, _ = c.functions()
    out = f(*c.args)
    tangents = _tangents(c)
    (_, tangent), changed = _call(s2sad.jvp, f, c, *tangents)
    expected, bound = _fd_directional(f, c.args, c.inputs, tangents)
    _assert_within(tangent, expected, bound, "jvp")
    if isinstance(out, np.ndarray) and out.dtype.kind == "f":
        assert np.asarray(tangent).dtype == out.dtype
    assert not changed


@pytest.mark.parametrize("c", _params(CASES, "vjp"))
def test_vjp(c: ArrayCase):
    """The dot-product test: ``<J v, w>`` from jvp equals ``<v, J^T w>`` from vjp."""
    f, _ = c.functions()
    out = f(*c.args)
    tangents = _tangents(c)
    cotangent = _random_like(out, _seed(c, "cotangent"))
    (_, tangent), changed = _call(s2sad.jvp, f, c, *tangents)
    products, changed_too = _call(s2sad.vjp, f, c, cotangent)
    assert isinstance(products, tuple) and len(products) == len(c.inputs)
    for i, got in zip(c.inputs, products):
        _same_kind(got, c.args[i], f"vjp wrt argument {i}")
    forward, reverse = dot_product_gap(tangent, tangents, products, cotangent)
    terms = float(np.sum(np.abs(np.asarray(tangent) * np.asarray(cotangent)))) + sum(
        float(np.sum(np.abs(np.asarray(g) * np.asarray(t))))
        for g, t in zip(products, tangents))
    assert abs(forward - reverse) <= 1e-12 * max(terms, 1e-300), (
        f"<J v, w> = {forward!r} but <v, J^T w> = {reverse!r}")
    assert not changed + changed_too


# --------------------------------------------------------------------------------------
# Coverage: every array primitive has a case, and each case lowers to its primitive


def _prims_in_ir(f: Callable) -> set[Prim]:
    """The primitives ``f`` lowers to, read off its Wengert list (``h = np.tanh %2``)."""
    prims = set()
    for line in s2sad.ir(f).splitlines()[1:]:
        if " = " in line:
            prims.add(prim_by_name(line.split(" = ", 1)[1].split()[0]))
    return prims - {None}


@pytest.mark.parametrize("c", [pytest.param(c, id=c.id) for c in CASES])
def test_case_exercises_its_primitive(c: ArrayCase):
    f, _ = c.functions()
    assert c.prim in _prims_in_ir(f)


def test_every_array_primitive_has_a_case():
    """Every array primitive a user can write shows up in the IR of some case (the
    primitives of scalar code have test_rules.py; the helpers generated code calls are
    compiler-introduced)."""
    lowered = set().union(*(_prims_in_ir(c.functions()[0]) for c in CASES))
    assert ARRAY_PRIMS - lowered == set(), "array primitives without a test case"
    inactive = {p for p in ARRAY_PRIMS if not p.spec.active}
    assert inactive - {c.prim for c in INACTIVE} == set(), "inactive primitives without a case"


# --------------------------------------------------------------------------------------
# Conventions at non-differentiable points (DESIGN §4, rules.py): abs'(0) = 0; np.max and
# np.min share the derivative equally among the entries that attain the extremum;
# np.maximum and np.minimum give it to the first operand at a tie.


@dataclass(frozen=True)
class KinkCase:
    params: str
    body: str
    args: tuple
    jacobians: tuple  # d out / d args[i] for every argument: out.shape + args[i].shape
    bug: str = ""  # why it is expected to fail (an s2sad bug)

    @property
    def id(self) -> str:
        return " ".join(line.strip() for line in self.body.splitlines()).removeprefix(
            "return ") + f" at {[np.asarray(a).tolist() for a in self.args]}"


def _diag(*d: float) -> np.ndarray:
    return np.diag(np.array(d, dtype=np.float64))


def _max_rows() -> np.ndarray:
    jac = np.zeros((2, 2, 3))
    jac[0, 0] = [0.0, 0.5, 0.5]
    jac[1, 1] = [1 / 3, 1 / 3, 1 / 3]
    return jac


def _min_columns() -> np.ndarray:
    jac = np.zeros((1, 2, 2, 2))
    jac[0, 0, :, 0] = [0.5, 0.5]
    jac[0, 1, :, 1] = [0.0, 1.0]
    return jac


KINK_CASES = (
    KinkCase("x", "return np.abs(x)", (np.array([0.0, 1.5, -2.0, -0.0]),),
             (_diag(0, 1, -1, 0),)),
    KinkCase("x", "return abs(x) * 2.0", (np.array([0.0, -1.0]),), (_diag(0, -2),)),
    KinkCase("x", "return np.abs(x - 1.0)", (np.array([1.0, 3.0]),), (_diag(0, 1),)),
    KinkCase("x", "return np.max(x)", (np.array([1.0, 3.0, 3.0, 2.0]),),
             (np.array([0.0, 0.5, 0.5, 0.0]),)),
    KinkCase("x", "return x.max()", (np.array([2.0, 2.0, 2.0]),), (np.full(3, 1 / 3),)),
    KinkCase("x", "return np.min(x)", (np.array([2.0, -1.0, 0.5, -1.0]),),
             (np.array([0.0, 0.5, 0.0, 0.5]),)),
    KinkCase("x", "return np.max(x, axis=1)", (np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),),
             (_max_rows(),)),
    KinkCase("x", "return np.min(x, axis=0, keepdims=True)",
             (np.array([[1.0, 2.0], [1.0, 0.0]]),), (_min_columns(),)),
    KinkCase("x, y", "return np.maximum(x, y)", (np.array([1.0, 2.0, 3.0]),
                                                 np.array([1.0, 0.0, 3.0])),
             (_diag(1, 1, 1), _diag(0, 0, 0))),
    KinkCase("x, y", "return np.maximum(y, x)", (np.array([1.0, 2.0]), np.array([1.0, 0.0])),
             (_diag(0, 1), _diag(1, 0))),
    KinkCase("x, y", "return np.minimum(x, y)", (np.array([1.0, 2.0, 3.0]),
                                                 np.array([1.0, 5.0, 3.0])),
             (_diag(1, 1, 1), _diag(0, 0, 0))),
    KinkCase("x", "return np.maximum(x, 0.0)", (np.array([0.0, 1.0, -1.0]),),
             (_diag(1, 1, 0),)),
    KinkCase("x", "return np.minimum(0.0, x)", (np.array([0.0, 1.0, -1.0]),),
             (_diag(0, 0, 1),)),
)


def _apply(jac: np.ndarray, t: object, in_ndim: int) -> np.ndarray:
    return np.tensordot(jac, np.asarray(t, dtype=np.float64), axes=in_ndim)


def _apply_t(w: object, jac: np.ndarray, out_ndim: int) -> np.ndarray:
    return np.tensordot(np.asarray(w, dtype=np.float64), jac, axes=out_ndim)


def _xfail(reason: str) -> list:
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@pytest.mark.parametrize("k", [pytest.param(k, id=k.id, marks=_xfail(k.bug))
                               for k in KINK_CASES])
def test_convention_at_non_differentiable_points(k: KinkCase):
    f, loss = load(k.params, k.body)
    out = f(*k.args)
    everything = tuple(range(len(k.args)))
    out_ndim = np.ndim(out)
    rng = np.random.default_rng(zlib.crc32(k.id.encode()))
    wts = rng.uniform(0.5, 1.5, np.shape(out)) if out_ndim else 1.25
    tangents = tuple(rng.uniform(-1, 1, np.shape(a)) for a in k.args)

    gradient = s2sad.grad(loss, wrt=everything)(*k.args, wts)
    for g, jac in zip(gradient, k.jacobians):
        np.testing.assert_allclose(g, _apply_t(wts, jac, out_ndim), rtol=1e-14, atol=1e-15)
    products = s2sad.vjp(f, wrt=everything)(*k.args, wts)
    for g, jac in zip(products, k.jacobians):
        np.testing.assert_allclose(g, _apply_t(wts, jac, out_ndim), rtol=1e-14, atol=1e-15)
    value, tangent = s2sad.jvp(f, wrt=everything)(*k.args, *tangents)
    assert _values_equal(value, out)
    expected = sum(_apply(jac, t, np.ndim(a)) for jac, t, a in zip(k.jacobians, tangents,
                                                                     k.args))
    np.testing.assert_allclose(tangent, expected, rtol=1e-14, atol=1e-15)


# --------------------------------------------------------------------------------------
# float32: derivatives of float32 inputs are float32, and agree with float64 to its precision

FLOAT32_CASES = (
    ("x, y", "return np.sin(x) * y", (u(3, 4), u(3, 4))),
    ("x, y", "return x + y", (u(3, 1), u(4))),
    ("x, y", "return x * 2.5 + y / 3.0 - 1.0", (u(3), u(2, 3))),
    ("a, b", "return a @ b", (u(3, 4), u(4, 2))),
    ("a, b", "return np.dot(a, b)", (u(3, 4), u(4))),
    ("x", "return np.mean(x, axis=0)", (u(3, 4),)),
    ("x", "return np.sum(x ** 2)", (u(3, 4),)),
    ("x", "return np.max(x, axis=0)", (spread(3, 4),), ""),
    ("x", "return np.max(x) * x + np.min(x)", (spread(3, 4),), ""),
    ("x", "return np.var(x) + np.std(x, axis=0)", (u(3, 4),)),
    ("x", "return np.prod(x, axis=0)", (u(3, 4, lo=0.5, hi=1.5),)),
    ("x", "return np.linalg.norm(x)", (u(3, 4),)),
    ("a, b", "return np.linalg.solve(a, b)", (wellcond(3), u(3))),
    ("a", "return np.linalg.inv(a)", (wellcond(3),)),
    ("a", "return np.linalg.det(a)", (wellcond(3),)),
    ("x", "return np.where(x > 0, x, 0.0)", (away(3, 4),)),
    ("x", "return np.clip(x, -0.5, 0.5)", (np.array([-0.9, -0.3, 0.2, 0.7]),)),
    ("x", "return x[::2] * x[1]", (u(5),)),
    ("x, y", "return np.stack([x, y * x])", (u(3), u(3))),
    ("x", "y = np.zeros_like(x)\ny[1] = x[0] * x[2]\nreturn y * x", (u(3),)),
    ("x", "return np.exp(x).reshape(2, 3).T", (u(6),)),
    ("x", "return np.einsum('ij,j->i', x, x[0])", (u(3, 3),)),
)


@pytest.mark.parametrize("params, body, args", [
    pytest.param(p, b, a, id=" ".join(b.splitlines()).removeprefix("return "),
                 marks=_xfail(why[0] if why else ""))
    for p, b, a, *why in FLOAT32_CASES])
def test_float32(params: str, body: str, args: tuple):
    f, loss = load(params, body)
    args32 = tuple(np.asarray(a, dtype=np.float32) for a in args)
    everything = tuple(range(len(args)))
    out = f(*args32)
    assert out.dtype == np.float32, "the case itself must stay in float32"
    wts = np.ones(np.shape(out), dtype=np.float32)
    problems = []

    gradient = s2sad.grad(loss, wrt=everything)(*args32, wts)
    reference = s2sad.grad(loss, wrt=everything)(*args, wts.astype(np.float64))
    for i, (g, ref) in enumerate(zip(gradient, reference)):
        np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-5)
        if np.asarray(g).dtype != np.float32:
            problems.append(f"grad wrt argument {i} is {np.asarray(g).dtype}")
    tangents = tuple(np.ones_like(a) for a in args32)
    value, tangent = s2sad.jvp(f, wrt=everything)(*args32, *tangents)
    if np.asarray(value).dtype != np.float32:
        problems.append(f"jvp's value is {np.asarray(value).dtype}")
    if np.asarray(tangent).dtype != np.float32:
        problems.append(f"jvp's tangent is {np.asarray(tangent).dtype}")
    products = s2sad.vjp(f, wrt=everything)(*args32, np.ones_like(out))
    for i, g in enumerate(products):
        if np.asarray(g).dtype != np.float32:
            problems.append(f"vjp wrt argument {i} is {np.asarray(g).dtype}")
    assert not problems, "; ".join(problems)
