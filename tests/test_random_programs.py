"""Property tests over random straight-line programs ``def f(x, y, z): ... return <scalar>``.

``generate_program`` writes 3-12 statements (plain assignments, reassignments of the same
name and of parameters, ``+=``/``-=``/``*=``/``/=``, tuple assignment such as
``a, b = b, a``, chained assignment ``a = b = ...``) from primitives that are safe on the
whole input box |x|, |y|, |z| <= 2: denominators and the arguments of ``log``/``sqrt`` are
kept >= 1 (``1.0 + u * u``), ``exp`` only sees bounded arguments, and a worst-case bound on
every value is tracked so that no value exceeds ``MAX_BOUND`` (a value that might is
squashed through ``tanh``). ``min``, ``max`` and ``abs`` are generated too, and so are
inactive primitives with jumps (``floor``, ``int``, ``%``, ``//``, comparisons multiplied
in); a probe version of the program records how close each of them is to its kink or jump,
and finite differences are only trusted away from those.

For each program, at random points:
(a) ``grad`` with respect to (x, y, z) against central finite differences;
(b) the dot-product test ``<J v, w> == <v, J^T w>``: ``jvp`` with a random tangent ``v``
    against ``vjp`` with a random cotangent ``w``;
(c) ``value_and_grad``'s value (and ``jvp``'s) equals ``f``'s, and its gradient ``grad``'s;
and s2sad's output is deterministic: the same program gives the same generated source.

The generator takes a ``choose(n) -> int in range(n)`` so that hypothesis drives it (and
shrinks failures to small programs) and ``random.Random`` can drive it reproducibly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import random
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import s2sad

from .determinism import sources_per_hash_seed

EPS = sys.float_info.epsilon
PARAMS = ("x", "y", "z")
INPUT_BOUND = 2.0
MAX_BOUND = 100.0  # no value of a generated program exceeds this in magnitude
# locals: plain names, the parameters themselves (reassigned), and names that collide with
# what s2sad generates (temporaries t1, tangents dx, adjoints dfdx)
LOCALS = ("a", "b", "c", "u", "x", "y", "z", "f", "t1", "t2", "dx", "dy", "dfdx", "dfda",
          "dfdf")
ALL_WRT = (0, 1, 2)

# --------------------------------------------------------------------------------------
# The generator


@dataclass(frozen=True)
class Expr:
    text: str  # Python source
    probe: str  # the same expression with min/max/abs recording their distance to a kink
    bound: float  # |value| <= bound for inputs in the box
    atom: bool = False  # a name or a literal: needs no parentheses


def _wrap(e: Expr, delimited: bool) -> tuple[str, str]:
    if e.atom or delimited:
        return e.text, e.probe
    return f"({e.text})", f"({e.probe})"


def _delimited(fmt: str, token: str) -> bool:
    parts = fmt.split(token)
    return all(before.endswith(("(", ", ")) for before in parts[:-1]) \
        and all(after.startswith((")", ",")) for after in parts[1:])


def _call(fmt: str, bound: float, *args: Expr, probe_fmt: str | None = None) -> Expr:
    """``fmt`` with ``{0}``, ``{1}`` standing for the operands, parenthesised unless each
    use of the operand is already delimited, as in ``math.sin({0})`` or ``min({0}, {1})``."""
    delimited = [_delimited(fmt, f"{{{i}}}") for i in range(len(args))]
    texts = [_wrap(a, d)[0] for a, d in zip(args, delimited)]
    probes = [_wrap(a, d)[1] for a, d in zip(args, delimited)]
    is_call = fmt.startswith(("math.", "min(", "max(", "abs(", "float(")) and fmt.endswith(")")
    return Expr(fmt.format(*texts), (probe_fmt or fmt).format(*probes), bound, atom=is_call)


# unary forms: (format, bound of the result given the operand's bound b)
UNARY: tuple[tuple[str, Callable[[float], float]], ...] = (
    ("math.sin({0})", lambda b: 1.0),
    ("math.cos({0})", lambda b: 1.0),
    ("math.tanh({0})", lambda b: 1.0),
    ("-{0}", lambda b: b),
    ("{0} ** 2", lambda b: b * b),
    ("{0} * 0.5", lambda b: 0.5 * b),
    ("{0} / 3", lambda b: b / 3),
    ("math.exp(math.tanh({0}))", lambda b: math.e),
    ("math.exp(-{0} * {0})", lambda b: 1.0),
    ("math.log(1.0 + {0} * {0})", lambda b: math.log1p(b * b)),
    ("math.sqrt(1.0 + {0} * {0})", lambda b: math.sqrt(1 + b * b)),
    ("{0} ** 3", lambda b: b ** 3),
    ("math.atan({0})", lambda b: math.pi / 2),
    ("math.erf({0})", lambda b: 1.0),
    ("math.log1p({0} ** 2)", lambda b: math.log1p(b * b)),
    ("math.expm1(math.sin({0}))", lambda b: math.e),
    ("math.sinh(math.tanh({0}))", lambda b: math.sinh(1.0)),
    ("math.cosh(math.cos({0}))", lambda b: math.cosh(1.0)),
    ("math.hypot(1.0, {0})", lambda b: math.sqrt(1 + b * b)),
    ("(1.0 + {0} * {0}) ** 0.5", lambda b: math.sqrt(1 + b * b)),
    ("(1.0 + {0} * {0}) ** -1", lambda b: 1.0),
    ("math.pow(2.0, math.sin({0}))", lambda b: 2.0),
    ("math.log2(2.0 + math.cos({0}))", lambda b: math.log2(3.0)),
    ("+{0}", lambda b: b),
    ("float({0})", lambda b: b),
    ("abs({0})", lambda b: b),
    ("math.pi * {0}", lambda b: math.pi * b),  # a global
    # piecewise constant, or with jumps: no derivative through the inactive part
    ("math.floor({0})", lambda b: b + 1),
    ("int({0})", lambda b: b),
    ("{0} % 1.5", lambda b: 1.5),
    ("{0} // 0.75", lambda b: b / 0.75 + 1),
    ("{0} * ({0} >= 0.5)", lambda b: b),
)
# binary forms: (format, bound of the result given the operands' bounds a, b)
BINARY: tuple[tuple[str, Callable[[float, float], float]], ...] = (
    ("{0} + {1}", lambda a, b: a + b),
    ("{0} - {1}", lambda a, b: a + b),
    ("{0} * {1}", lambda a, b: a * b),
    ("{0} / (1.0 + {1} * {1})", lambda a, b: a),
    ("{0} / (2.0 + math.sin({1}))", lambda a, b: a),
    ("math.atan2({0}, 1.0 + {1} ** 2)", lambda a, b: math.pi / 2),
    ("math.hypot({0}, 1.0 + {1} ** 2)", lambda a, b: a + 1 + b * b),
    ("min({0}, {1})", lambda a, b: max(a, b)),
    ("max({0}, {1})", lambda a, b: max(a, b)),
    ("{0} * ({0} < {1})", lambda a, b: a),
    ("(1.0 + {0} * {0}) ** math.tanh({1})", lambda a, b: 1 + a * a),
    ("math.pow(1.0 + {0} ** 2, math.sin({1}))", lambda a, b: 1 + a * a),
    ("math.log(1.0 + {0} * {0}, 3.0 + math.sin({1}))", lambda a, b: math.log1p(a * a) * 2),
)
_PROBES = {  # the probe versions of the forms with kinks or jumps
    "abs({0})": "_abs({0})", "min({0}, {1})": "_min({0}, {1})",
    "max({0}, {1})": "_max({0}, {1})", "math.floor({0})": "_floor({0})",
    "int({0})": "_int({0})", "{0} % 1.5": "_mod({0}, 1.5)",
    "{0} // 0.75": "_floordiv({0}, 0.75)", "{0} * ({0} >= 0.5)": "{0} * _ge({0}, 0.5)",
    "{0} * ({0} < {1})": "{0} * _lt({0}, {1})",
}
CONSTANTS = ("1.0", "2", "0.5", "0", "1", "0.0", "3.0", "1e-3")
AUGMENTED = ("+=", "-=", "*=", "/=")


class Generator:
    """Writes one program from the choices ``choose(n)`` makes (0 is always the simplest)."""

    def __init__(self, choose: Callable[[int], int]) -> None:
        self.choose = choose
        self.env: dict[str, float] = {p: INPUT_BOUND for p in PARAMS}  # name -> bound

    def pick(self, options: Sequence):
        return options[self.choose(len(options))]

    def leaf(self) -> Expr:
        names = sorted(self.env)
        if self.choose(5) == 0:  # a literal, one time in five
            text = self.pick(CONSTANTS)
            return Expr(text, text, abs(float(text)), atom=True)
        name = self.pick(names)
        return Expr(name, name, self.env[name], atom=True)

    def expr(self, depth: int) -> Expr:
        kind = self.choose(3) if depth > 0 else 0
        if kind == 0:
            return self.leaf()
        if kind == 1:
            fmt, bound = self.pick(UNARY)
            operand = self.expr(depth - 1)
            e = _call(fmt, bound(operand.bound), operand, probe_fmt=_PROBES.get(fmt))
        else:
            fmt, bound = self.pick(BINARY)
            left, right = self.expr(depth - 1), self.expr(depth - 1)
            e = _call(fmt, bound(left.bound, right.bound), left, right,
                      probe_fmt=_PROBES.get(fmt))
        return squash(e)

    def statement(self) -> list[tuple[str, str]]:
        """One statement as (text, probe) lines; updates the bounds of what it assigns."""
        kind = self.choose(5)
        if kind == 1:  # augmented assignment
            target = self.pick(sorted(self.env))
            op = self.pick(AUGMENTED)
            value = self.expr(self.choose(3))
            if op == "/=":  # divide by something >= 1
                value = _call("1.0 + {0} * {0}", 1 + value.bound ** 2, value)
            combined = {"+=": self.env[target] + value.bound,
                        "-=": self.env[target] + value.bound,
                        "*=": self.env[target] * value.bound,
                        "/=": self.env[target]}[op]
            if combined > MAX_BOUND:  # keep the sum small: squash the increment
                op, value = "+=", _call("math.tanh({0})", 1.0, value)
                combined = self.env[target] + 1.0
            if combined > MAX_BOUND:
                value = _call("math.tanh({0})", 1.0, Expr(target, target, 0, atom=True))
                self.env[target] = 1.0
                return [(f"{target} = {value.text}", f"{target} = {value.probe}")]
            self.env[target] = combined
            return [(f"{target} {op} {value.text}", f"{target} {op} {value.probe}")]
        if kind == 2 and len(self.env) >= 2:  # tuple assignment
            first = self.pick(LOCALS)
            second = self.pick([n for n in LOCALS if n != first])
            if first in self.env and second in self.env and self.choose(2) == 0:
                values = [Expr(second, second, self.env[second], atom=True),
                          Expr(first, first, self.env[first], atom=True)]  # a swap
            else:
                values = [self.expr(self.choose(3)), self.expr(self.choose(3))]
            self.env[first], self.env[second] = values[0].bound, values[1].bound
            return [(f"{first}, {second} = {values[0].text}, {values[1].text}",
                     f"{first}, {second} = {values[0].probe}, {values[1].probe}")]
        target = self.pick(LOCALS)
        value = self.expr(self.choose(3))
        if kind == 3:  # chained assignment: a = b = value
            other = self.pick([n for n in LOCALS if n != target])
            self.env[target] = self.env[other] = value.bound
            return [(f"{target} = {other} = {value.text}",
                     f"{target} = {other} = {value.probe}")]
        self.env[target] = value.bound
        return [(f"{target} = {value.text}", f"{target} = {value.probe}")]

    def returned(self, last: str) -> Expr:
        """The returned value: mostly the last assigned name, maybe with others added in;
        sometimes any expression (a literal, a parameter, a sum of the same name twice)."""
        if self.choose(4) == 3:
            return self.expr(self.choose(3))
        names = [last] + [n for n in sorted(self.env) if n != last and self.choose(3) == 0]
        text = " + ".join(names)
        return Expr(text, text, sum(self.env[n] for n in names))


def squash(e: Expr) -> Expr:
    return e if e.bound <= MAX_BOUND else _call("math.tanh({0})", 1.0, e)


@dataclass(frozen=True)
class Program:
    source: str  # `def f(x, y, z): ...`
    probe: str  # `def probe(x, y, z): ...`, recording distances to kinks in `_gaps`


def generate_program(choose: Callable[[int], int]) -> Program:
    gen = Generator(choose)
    lines: list[tuple[str, str]] = []
    n_statements = 3 + gen.choose(10)
    for _ in range(n_statements):
        lines.extend(gen.statement())
    last = lines[-1][0].split("=")[0].split(",")[0].strip(" +-*/")
    out = gen.returned(last)
    lines.append((f"return {out.text}", f"return {out.probe}"))
    header = f"def f({', '.join(PARAMS)}):\n"
    source = "import math\n\n\n" + header + "".join(f"    {t}\n" for t, _ in lines)
    probe = "def probe(x, y, z):\n" + "".join(f"    {p}\n" for _, p in lines)
    return Program(source, probe)


def random_program(seed: int) -> Program:
    rng = random.Random(seed)
    return generate_program(lambda n: rng.randrange(n))


@st.composite
def programs(draw) -> Program:
    return generate_program(lambda n: draw(st.integers(0, n - 1)))


# --------------------------------------------------------------------------------------
# Loading programs from real files, and the probe

_MODULE_DIR = Path(tempfile.mkdtemp(prefix="s2sad_random_"))
_counter = [0]


def load(source: str, fresh: bool = False) -> Callable:
    """Write ``source`` to a file and import it; ``fresh`` gives a new module every time."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    if fresh:
        _counter[0] += 1
        digest += f"_{_counter[0]}"
    name = f"prog_{digest}"
    if name in sys.modules:
        return sys.modules[name].f
    path = _MODULE_DIR / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module.f


def kink_distances(program: Program, args: Sequence[float]) -> list[float]:
    """How far each kink or jump the program evaluates at ``args`` is from its point of
    non-differentiability (min/max/abs: a tie; floor, int, %, //, comparisons: a jump)."""
    gaps: list[float] = []

    def recorded(gap: Callable[..., float], fn: Callable) -> Callable:
        def probe(*args):
            gaps.append(gap(*args))
            return fn(*args)
        return probe

    def to_integer(u: float) -> float:
        return abs(u - round(u))

    namespace = {
        "math": math,
        "_abs": recorded(abs, abs),
        "_min": recorded(lambda u, v: abs(u - v), min),
        "_max": recorded(lambda u, v: abs(u - v), max),
        "_lt": recorded(lambda u, v: abs(u - v), lambda u, v: u < v),
        "_ge": recorded(lambda u, v: abs(u - v), lambda u, v: u >= v),
        "_floor": recorded(to_integer, math.floor),
        "_int": recorded(to_integer, int),
        "_mod": recorded(lambda u, m: m * to_integer(u / m), lambda u, m: u % m),
        "_floordiv": recorded(lambda u, m: m * to_integer(u / m), lambda u, m: u // m),
    }
    exec(compile(program.probe, "<probe>", "exec"), namespace)  # noqa: S102 - our own code
    namespace["probe"](*args)
    return gaps


# --------------------------------------------------------------------------------------
# Oracles


def _central(f: Callable, args: Sequence[float], i: int, h: float) -> float:
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (up[i] - down[i])  # the step actually taken


def finite_difference(f: Callable, args: Sequence[float], i: int,
                      rel_step: float = 1e-6) -> tuple[float, float]:
    """``d f / d args[i]`` by a central difference, and a bound on its error.

    Truncation (``h**2 f'''/6``) and the rounding noise of the evaluations both show in how
    the estimate moves when the step is halved or doubled: we allow 4 times the larger
    move. On top of that, rounding of the primal values: 64 ulps of the largest value the
    program may hold (``MAX_BOUND``) per evaluation, over the step.
    """
    h = rel_step * max(1.0, abs(args[i]))
    estimate = _central(f, args, i, h)
    spread = max(abs(_central(f, args, i, 2 * h) - estimate),
                 abs(_central(f, args, i, h / 2) - estimate))
    rounding = 64 * EPS * max(1.0, abs(f(*args))) / h
    return estimate, 4 * spread + rounding + 16 * EPS * abs(estimate)


# smallest distance from a kink (relative to the values compared) at which a finite
# difference with relative step 1e-6 is trusted: the step moves an intermediate by about
# h * |d intermediate / d input|, and those derivatives stay far below 1e3 here
KINK_MARGIN = 1e-3


def near_a_kink(program: Program, args: Sequence[float]) -> bool:
    return any(gap < KINK_MARGIN for gap in kink_distances(program, args))


# --------------------------------------------------------------------------------------
# The properties

coordinates = st.floats(-INPUT_BOUND, INPUT_BOUND, allow_nan=False, allow_infinity=False)
points = st.tuples(coordinates, coordinates, coordinates)
# tangents and cotangents: zero, or of moderate size (a subnormal v or w loses the digits
# the dot-product test compares)
magnitudes = st.floats(0.125, 1.0)
components = st.just(0.0) | magnitudes | magnitudes.map(lambda m: -m)
directions = st.tuples(components, components, components)
cotangents = components.map(lambda c: 2 * c)


def check_program(program: Program, point: tuple[float, float, float],
                  v: tuple[float, float, float], w: float) -> None:
    f = load(program.source)
    value = f(*point)
    assert math.isfinite(value) and abs(value) <= 4 * len(LOCALS) * MAX_BOUND

    # (c) the values every transform reports are f's
    both_value, both_gradient = s2sad.value_and_grad(f, wrt=ALL_WRT)(*point)
    assert both_value == value, f"value_and_grad's value {both_value!r} != f = {value!r}"
    gradient = s2sad.grad(f, wrt=ALL_WRT)(*point)
    assert both_gradient == gradient
    assert len(gradient) == 3 and all(math.isfinite(g) for g in gradient), gradient

    # (a) reverse mode against finite differences, away from min/max/abs kinks
    if not near_a_kink(program, point):
        for i, got in enumerate(gradient):
            expected, tol = finite_difference(f, point, i)
            assert abs(got - expected) <= tol, (
                f"d f / d {PARAMS[i]} at {point}: grad gives {got!r}, finite differences "
                f"{expected!r} (|error| {abs(got - expected):.3g} > tolerance {tol:.3g})")

    # (b) the dot-product test: <J v, w> == <v, J^T w>
    primal, tangent = s2sad.jvp(f, wrt=ALL_WRT)(*point, *v)
    assert primal == value, f"jvp's value {primal!r} != f = {value!r}"
    cotangents = s2sad.vjp(f, wrt=ALL_WRT)(*point, w)
    forward = tangent * w
    reverse = sum(vi * ci for vi, ci in zip(v, cotangents))
    # Forward and reverse mode add the same contributions in different orders, so each
    # may be off by some ulps of the largest contribution, which can be far larger than the
    # partial it sums to (``(x + 1) - 1``). Contributions are derivatives of values bounded
    # by MAX_BOUND: allow 64 ulps of MAX_BOUND per unit of v and w, besides 1e-12 relative.
    unit = abs(w) * sum(abs(vi) for vi in v)
    scale = abs(w) * sum(abs(vi * gi) for vi, gi in zip(v, gradient))
    tol = 1e-12 * max(scale, abs(forward), abs(reverse)) + 64 * EPS * MAX_BOUND * unit
    assert abs(forward - reverse) <= tol, (
        f"dot-product test at {point}, v={v}, w={w}: <J v, w> = {forward!r}, "
        f"<v, J^T w> = {reverse!r}")
    # and the reverse products are w times the gradient
    for ci, gi in zip(cotangents, gradient):
        assert math.isclose(ci, w * gi, rel_tol=1e-12, abs_tol=64 * EPS * MAX_BOUND * abs(w)), \
            (cotangents, gradient)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(), point=points, v=directions,
       w=cotangents)
def test_random_program_derivatives(program: Program, point, v, w):
    check_program(program, point, v, w)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(), points=st.lists(points, min_size=3, max_size=3))
def test_random_program_at_several_points(program: Program, points):
    for point in points:
        check_program(program, point, (1.0, -0.5, 0.25), 1.5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs())
def test_generated_source_is_deterministic(program: Program):
    first, second = load(program.source, fresh=True), load(program.source, fresh=True)
    assert first is not second
    for transform in (s2sad.grad, s2sad.value_and_grad, s2sad.jvp, s2sad.vjp):
        assert s2sad.source(transform(first, wrt=ALL_WRT)) == \
            s2sad.source(transform(second, wrt=ALL_WRT))


def test_generator_is_deterministic():
    for seed in range(50):
        assert random_program(seed) == random_program(seed)
    assert len({random_program(seed).source for seed in range(50)}) > 45


def test_generated_programs_cover_the_statement_forms():
    sources = "\n".join(random_program(seed).source for seed in range(200))
    for form in (" += ", " -= ", " *= ", " /= ", ", ", "min(", "max(", "abs(", "math.exp(",
                 "math.log(", "math.sqrt(", " ** 2", "    x = ", "    t1 = "):
        assert form in sources, form
    swaps = [line for line in sources.splitlines() if line.count(",") == 2 and " = " in line
             and line.strip().split(" = ")[0].split(", ")[::-1] == line.split(" = ")[1].split(", ")]
    assert swaps, "no swap `a, b = b, a` generated"


def test_generated_source_does_not_depend_on_the_hash_seed():
    paths = []
    for seed in range(20):
        path = _MODULE_DIR / f"hashseed_{seed}.py"
        path.write_text(random_program(seed).source)
        paths.append(str(path))
    outputs = sources_per_hash_seed(paths)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("#####") == 39
