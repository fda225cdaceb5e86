"""The derivative rule table, primitive by primitive (JAX's ``lax_autodiff_test`` spec table).

Every differentiable primitive of ``Prim`` has at least one entry in ``RULE_CASES``: a small
function using it and points inside its domain, away from kinks and jumps. For each entry
and point, forward mode (``jvp`` per input, tangent 1.0), reverse mode (``grad`` with
respect to every input) and ``vjp`` (a cotangent other than 1.0) are checked against
central finite differences in float64 with a tolerance derived from the step (see
``finite_difference``). ``test_every_active_primitive_has_a_case`` fails when a primitive
is added to ``Prim`` without an entry here.

Inactive primitives (comparisons, ``not``, ``int``, ``//``, ``floor``/``ceil``/``trunc``)
must carry a zero derivative without error, and the documented conventions at
non-differentiable points hold: ``abs'(0) = 0``; ``min``/``max`` at a tie send the whole
derivative to the first argument (the one Python returns).

The functions live in real files (written to a temporary directory and imported), so
``inspect.getsource`` reads them as it reads a user's module.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

import s2sad
from s2sad.primitives import Prim, prim_by_name

P = Prim
EPS = sys.float_info.epsilon
PARAMS = ("x", "y", "z")

# --------------------------------------------------------------------------------------
# Loading snippets from real files

_MODULE_DIR = Path(tempfile.mkdtemp(prefix="s2sad_rules_"))
_loaded: dict[str, Callable] = {}


def load(expr: str, arity: int) -> Callable:
    """``def f(x, y): return EXPR`` (with ``arity`` parameters), imported from a file."""
    source = f"import math\n\n\ndef f({', '.join(PARAMS[:arity])}):\n    return {expr}\n"
    if source not in _loaded:
        name = "rule_" + hashlib.sha256(source.encode()).hexdigest()[:16]
        path = _MODULE_DIR / f"{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _loaded[source] = module.f
    return _loaded[source]


# --------------------------------------------------------------------------------------
# The oracle: central differences with an error estimate


def _central(f: Callable, args: Sequence[float], i: int, h: float) -> float:
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    # divide by the step actually taken, so rounding of args[i] +- h does not count
    return (f(*up) - f(*down)) / (up[i] - down[i])


def finite_difference(f: Callable, args: Sequence[float], i: int,
                      rel_step: float = 1e-6) -> tuple[float, float]:
    """``d f / d args[i]`` by a central difference, and a bound on its error.

    With step ``h = rel_step * max(1, |x|)`` the error has two parts:
    * truncation, ``h**2 f'''/6``: the difference between the estimates at ``2h`` and at
      ``h`` is 3 times that (and also shows the rounding noise); we take it whole;
    * rounding, about ``eps * |f| / h`` per evaluation of ``f``; we allow 64 ulps of ``f``.
    The derivative under test is itself rounded: a few ulps of it are allowed too.
    """
    h = rel_step * max(1.0, abs(args[i]))
    estimate = _central(f, args, i, h)
    truncation = abs(_central(f, args, i, 2 * h) - estimate)
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    scale = max(abs(f(*up)), abs(f(*down)), abs(f(*args)), 1e-300)
    rounding = 64 * EPS * scale / h
    return estimate, truncation + rounding + 16 * EPS * abs(estimate)


def assert_close(got: float, expected: float, tol: float, what: str) -> None:
    assert isinstance(got, (int, float)), f"{what}: got {got!r}, not a number"
    assert math.isfinite(got), f"{what}: got {got!r}"
    assert abs(got - expected) <= tol, (
        f"{what}: got {got!r}, finite differences give {expected!r} "
        f"(|error| {abs(got - expected):.3g} > tolerance {tol:.3g})")


# --------------------------------------------------------------------------------------
# The spec table


@dataclass(frozen=True)
class RuleCase:
    prim: Prim
    expr: str  # the body of `def f(x[, y[, z]]): return EXPR`
    points: tuple[tuple[float, ...], ...]
    wrt: tuple[int, ...] | None = None  # the inputs to differentiate (None: all of them)

    @property
    def arity(self) -> int:
        return len(self.points[0])

    @property
    def inputs(self) -> tuple[int, ...]:
        return tuple(range(self.arity)) if self.wrt is None else self.wrt

    @property
    def id(self) -> str:
        suffix = "" if self.wrt is None else f" wrt {','.join(PARAMS[i] for i in self.wrt)}"
        return f"{self.prim.value}[{self.expr}{suffix}]"


def case(prim: Prim, expr: str, *points: tuple[float, ...],
         wrt: tuple[int, ...] | None = None) -> RuleCase:
    return RuleCase(prim, expr, points, wrt)


RULE_CASES: tuple[RuleCase, ...] = (
    # Python arithmetic
    case(P.ADD, "x + y", (1.3, -0.7), (-2.5, 4.0)),
    case(P.ADD, "x + x", (0.8,)),  # both operands the same value: contributions add up
    case(P.SUB, "x - y", (1.3, -0.7), (-2.5, 4.0)),
    case(P.MUL, "x * y", (1.3, -0.7), (-2.5, 4.0)),
    case(P.MUL, "x * x * x", (1.7,), (-0.6,)),
    case(P.DIV, "x / y", (1.3, -0.7), (-2.5, 4.0), (0.3, 0.2)),
    case(P.DIV, "1.0 / x", (0.4,), (-3.0,)),
    case(P.POW, "x ** y", (1.3, -0.7), (0.6, 2.5), (2.0, 3.0)),
    case(P.POW, "x ** 3", (1.3,), (-0.8,)),  # integer exponent: any sign of base
    case(P.POW, "x ** 0.5", (2.3,)),
    case(P.POW, "2.0 ** x", (0.7,), (-1.4,)),
    # zero base, exponent > 1: 0 ** y is 0 for every y > 0, so both partials are 0
    case(P.POW, "x ** y", (0.0, 2.0), (0.0, 3.0)),
    # zero exponent: x ** 0 is 1 for every x, so d/dx is 0, at x = 0 too (JAX agrees)
    case(P.POW, "x ** y", (0.0, 0.0), (0.0, 0), (-1.5, 0.0), wrt=(0,)),
    case(P.MOD, "x % y", (7.3, 2.1), (-7.3, 2.1), (7.3, -2.1), (0.4, 1.5)),
    case(P.MOD, "x % 1.5", (4.2,), (-0.2,)),
    case(P.NEG, "-x", (1.3,), (-0.4,)),
    case(P.NEG, "-(x * y)", (1.3, 0.4)),
    case(P.POS, "+x", (1.3,), (-0.4,)),
    case(P.POS, "+(x * y)", (1.3, 0.4)),
    # builtins
    case(P.ABS, "abs(x)", (1.3,), (-0.4,)),
    case(P.ABS, "abs(x * y)", (1.3, -0.4), (-2.0, -0.5)),
    case(P.MIN, "min(x, y)", (1.3, -0.7), (-2.5, 4.0)),
    case(P.MIN, "min(x, y, z)", (1.0, 2.0, 3.0), (2.0, 1.0, 3.0), (3.0, 2.0, 1.0)),
    case(P.MAX, "max(x, y)", (1.3, -0.7), (-2.5, 4.0)),
    case(P.MAX, "max(x, y, z)", (1.0, 2.0, 3.0), (2.0, 3.0, 1.0), (3.0, 2.0, 1.0)),
    case(P.MAX, "max(x * y, x + y)", (2.0, 3.0), (0.5, 0.5)),
    case(P.FLOAT, "float(x)", (1.3,), (-0.4,)),
    case(P.FLOAT, "float(x) * x", (1.3,)),
    # math module
    case(P.SIN, "math.sin(x)", (0.3,), (2.0,), (-4.0,)),
    case(P.COS, "math.cos(x)", (0.3,), (2.0,), (-4.0,)),
    case(P.TAN, "math.tan(x)", (0.3,), (-1.2,), (2.0,)),
    case(P.ASIN, "math.asin(x)", (0.3,), (-0.9,), (0.0,)),
    case(P.ACOS, "math.acos(x)", (0.3,), (-0.9,), (0.0,)),
    case(P.ATAN, "math.atan(x)", (0.3,), (-5.0,)),
    case(P.ATAN2, "math.atan2(x, y)", (1.0, 2.0), (-1.0, -2.0), (1.0, -2.0), (3.0, 0.5)),
    case(P.SINH, "math.sinh(x)", (0.3,), (-2.0,)),
    case(P.COSH, "math.cosh(x)", (0.3,), (-2.0,)),
    case(P.TANH, "math.tanh(x)", (0.3,), (-2.0,)),
    case(P.EXP, "math.exp(x)", (0.3,), (-2.0,), (3.5,)),
    case(P.EXPM1, "math.expm1(x)", (0.3,), (-2.0,), (1e-3,)),
    case(P.LOG, "math.log(x)", (0.3,), (2.0,), (50.0,)),
    case(P.LOG, "math.log(x, y)", (0.3, 2.0), (5.0, 10.0), (2.0, 0.5)),  # log of base y
    case(P.LOG, "math.log(x, 2)", (3.0,)),
    case(P.LOG1P, "math.log1p(x)", (0.3,), (-0.5,), (20.0,)),
    case(P.LOG2, "math.log2(x)", (0.3,), (8.0,)),
    case(P.LOG10, "math.log10(x)", (0.3,), (80.0,)),
    case(P.SQRT, "math.sqrt(x)", (0.3,), (4.0,), (123.0,)),
    case(P.MATH_POW, "math.pow(x, y)", (1.3, -0.7), (0.6, 2.5), (2.0, 3.0)),
    case(P.MATH_POW, "math.pow(x, 3)", (1.3,), (-0.8,)),
    case(P.MATH_POW, "math.pow(x, y)", (0.0, 2.0)),
    case(P.MATH_POW, "math.pow(x, y)", (0.0, 0.0), wrt=(0,)),
    case(P.HYPOT, "math.hypot(x, y)", (3.0, 4.0), (-1.0, 0.5), (0.2, -2.0)),
    case(P.ERF, "math.erf(x)", (0.3,), (-1.5,), (0.0,)),
    case(P.LGAMMA, "math.lgamma(x)", (0.3,), (2.5,), (-1.5,), (7.2,)),
    case(P.FABS, "math.fabs(x)", (1.3,), (-0.4,)),
)

COMPILER_INTRODUCED = {P.COPY, P.ZEROS_LIKE, P.TAPE, P.PUSH, P.POP}  # never written by a user


def _scalar(p: Prim) -> bool:
    """The primitives of scalar code: Python operators, builtins on numbers, ``math``.

    Array primitives (NumPy, indexing, lists, the helpers of generated code) have their
    own table in ``test_array_rules.py``.
    """
    spec = p.spec
    if p in (P.MATMUL, P.LEN, P.SUM, P.LIST, P.TUPLE, P.GETITEM, P.SETITEM, P.INDEX_ADD,
             P.APPEND, P.CALL) or spec.attr is not None:
        return False
    return spec.call is None or spec.call.startswith("math.") or "." not in spec.call \
        and not spec.call.startswith("_")


SCALAR_PRIMS = {p for p in Prim if _scalar(p)}


def _point_cases(cases: Sequence[RuleCase]) -> list:
    return [pytest.param(c, point, id=f"{c.id}-{point}") for c in cases for point in c.points]


def test_every_active_primitive_has_a_case():
    active = {p for p in SCALAR_PRIMS if p.spec.active} - COMPILER_INTRODUCED
    covered = {c.prim for c in RULE_CASES}
    assert active - covered == set(), "active primitives without a rule test case"
    assert covered - active == set(), "rule test cases for primitives that are not active"


def test_every_inactive_primitive_has_a_case():
    inactive = {p for p in SCALAR_PRIMS if not p.spec.active} - COMPILER_INTRODUCED
    assert inactive == {c.prim for c in INACTIVE_CASES}


def _prims_in_ir(f: Callable) -> set[Prim]:
    """The primitives ``f`` lowers to, read off its Wengert list (``b = mul a y``)."""
    prims = set()
    for line in s2sad.ir(f).splitlines()[1:]:
        if " = " in line:
            prims.add(prim_by_name(line.split(" = ", 1)[1].split()[0]))
    return prims - {None}


@pytest.mark.parametrize("rule", RULE_CASES, ids=lambda c: c.id)
def test_case_exercises_its_primitive(rule: RuleCase):
    assert rule.prim in _prims_in_ir(load(rule.expr, rule.arity))


def _check_point(rule: RuleCase, point: tuple[float, ...]) -> None:
    f = load(rule.expr, rule.arity)
    value = f(*point)
    inputs = rule.inputs
    expected = [finite_difference(f, point, i) for i in inputs]

    # forward mode, one input at a time, tangent 1.0
    for i, (fd, tol) in zip(inputs, expected):
        primal, tangent = s2sad.jvp(f, wrt=i)(*point, 1.0)
        assert primal == value, f"jvp value at {point}: {primal!r} != f = {value!r}"
        assert_close(tangent, fd, tol, f"jvp wrt {PARAMS[i]} at {point}")

    # forward mode, all inputs at once: the tangent is the sum of the partials
    primal, tangent = s2sad.jvp(f, wrt=inputs)(*point, *([1.0] * len(inputs)))
    assert_close(tangent, sum(e for e, _ in expected), sum(t for _, t in expected),
                 f"jvp wrt {inputs} at {point}")

    # reverse mode, all inputs
    gradient = s2sad.grad(f, wrt=inputs)(*point)
    assert isinstance(gradient, tuple) and len(gradient) == len(inputs)
    for i, got, (fd, tol) in zip(inputs, gradient, expected):
        assert_close(got, fd, tol, f"grad wrt {PARAMS[i]} at {point}")

    # reverse mode, one input: a single value, not a tuple
    for i, got in zip(inputs, gradient):
        assert s2sad.grad(f, wrt=i)(*point) == got

    # vector-Jacobian product with a cotangent other than 1.0
    cotangent = -2.5
    products = s2sad.vjp(f, wrt=inputs)(*point, cotangent)
    for i, got, (fd, tol) in zip(inputs, products, expected):
        assert_close(got, cotangent * fd, abs(cotangent) * tol, f"vjp wrt {PARAMS[i]}")

    # value_and_grad: f's value and the same gradient
    both_value, both_gradient = s2sad.value_and_grad(f, wrt=inputs)(*point)
    assert both_value == value
    assert both_gradient == gradient


@pytest.mark.parametrize("rule, point", _point_cases(RULE_CASES))
def test_rule_against_finite_differences(rule: RuleCase, point: tuple[float, ...]):
    _check_point(rule, point)


# --------------------------------------------------------------------------------------
# Inactive primitives: zero derivative, no error

INACTIVE_CASES: tuple[RuleCase, ...] = (
    case(P.LT, "x < y", (1.3, -0.7), (-2.5, 4.0)),
    case(P.LE, "x <= y", (1.3, -0.7), (-2.5, 4.0)),
    case(P.GT, "x > y", (1.3, -0.7), (-2.5, 4.0)),
    case(P.GE, "x >= y", (1.3, -0.7), (-2.5, 4.0)),
    case(P.EQ, "x == y", (1.3, -0.7), (2.0, 2.0)),
    case(P.NE, "x != y", (1.3, -0.7), (2.0, 2.0)),
    case(P.NOT, "not x", (1.3,), (0.0,)),
    case(P.INT, "int(x)", (1.3,), (-2.7,)),
    case(P.FLOORDIV, "x // y", (7.3, 2.1), (-7.3, 2.1)),
    case(P.FLOOR, "math.floor(x)", (1.3,), (-2.7,)),
    case(P.CEIL, "math.ceil(x)", (1.3,), (-2.7,)),
    case(P.TRUNC, "math.trunc(x)", (1.3,), (-2.7,)),
)

# an inactive primitive inside a differentiable expression: its operand gets no derivative
# through it, while the rest of the expression is differentiated as usual
MIXED_CASES: tuple[RuleCase, ...] = (
    case(P.LT, "x * y + (x < y)", (1.3, -0.7), (-2.5, 4.0)),
    case(P.GE, "x * (x >= y)", (1.3, -0.7), (-2.5, 4.0)),
    case(P.EQ, "x * (x == y) + y", (1.3, -0.7)),
    case(P.NOT, "x * (not y)", (1.3, 0.0), (1.3, 2.0)),
    case(P.INT, "x * int(y)", (1.3, 2.7), (-0.4, -3.2)),
    case(P.INT, "x * int(x)", (2.3,)),
    case(P.FLOORDIV, "x * (x // y)", (7.3, 2.1), (-7.3, 2.1)),
    case(P.FLOORDIV, "x // y + y", (7.3, 2.1)),
    case(P.FLOOR, "x * math.floor(y)", (1.3, 2.7)),
    case(P.CEIL, "math.ceil(x * y) * y", (1.3, 2.7)),
    case(P.TRUNC, "x - math.trunc(x)", (1.3,), (-2.7,)),
)


@pytest.mark.parametrize("rule, point", _point_cases(INACTIVE_CASES))
def test_inactive_primitive_has_zero_derivative(rule: RuleCase, point: tuple[float, ...]):
    f = load(rule.expr, rule.arity)
    assert rule.prim in _prims_in_ir(f)
    everything = tuple(range(rule.arity))
    for i in range(rule.arity):
        primal, tangent = s2sad.jvp(f, wrt=i)(*point, 1.0)
        assert primal == f(*point)
        assert tangent == 0
    assert s2sad.grad(f, wrt=everything)(*point) == (0.0,) * rule.arity
    assert s2sad.vjp(f, wrt=everything)(*point, 3.0) == (0.0,) * rule.arity


@pytest.mark.parametrize("rule, point", _point_cases(MIXED_CASES))
def test_inactive_primitive_inside_an_expression(rule: RuleCase, point: tuple[float, ...]):
    _check_point(rule, point)


# --------------------------------------------------------------------------------------
# Conventions at non-differentiable points

KINK_CASES = (
    # (expression, point, the documented gradient there)
    ("abs(x)", (0.0,), (0.0,)),
    ("abs(x)", (-0.0,), (0.0,)),
    ("math.fabs(x)", (0.0,), (0.0,)),
    ("abs(x - y)", (1.5, 1.5), (0.0, 0.0)),
    ("min(x, y)", (1.5, 1.5), (1.0, 0.0)),
    ("max(x, y)", (1.5, 1.5), (1.0, 0.0)),
    ("min(x, y)", (-0.0, 0.0), (1.0, 0.0)),
    ("max(x, y, z)", (2.0, 2.0, 2.0), (1.0, 0.0, 0.0)),
    ("min(x, y, z)", (2.0, 2.0, 2.0), (1.0, 0.0, 0.0)),
    ("max(x, y, z)", (1.0, 3.0, 3.0), (0.0, 1.0, 0.0)),  # Python returns y
    ("min(x, y, z)", (3.0, 1.0, 1.0), (0.0, 1.0, 0.0)),
    ("max(x, y, z)", (3.0, 1.0, 3.0), (1.0, 0.0, 0.0)),
    ("max(x * y, x + y)", (2.0, 2.0), (2.0, 2.0)),  # tie of 4 = 4: x * y wins
)


@pytest.mark.parametrize("expr, point, expected", KINK_CASES,
                         ids=[f"{e}-{p}" for e, p, _ in KINK_CASES])
def test_convention_at_non_differentiable_points(expr, point, expected):
    f = load(expr, len(point))
    everything = tuple(range(len(point)))
    assert s2sad.grad(f, wrt=everything)(*point) == expected
    assert s2sad.vjp(f, wrt=everything)(*point, 2.0) == tuple(2.0 * e for e in expected)
    for i in range(len(point)):
        assert s2sad.jvp(f, wrt=i)(*point, 1.0) == (f(*point), expected[i])

