"""Property tests over random NumPy programs with calls and control flow.

The generator (``tests/random_arrays.py``) writes a module with 0-2 helper functions and
``def f(x, y, z)`` over arrays of random, broadcast-compatible shapes: elementwise
primitives inside their domains, broadcasting, reductions with ``axis``/``keepdims``,
``@``/``dot``/``einsum``, ``np.where``, subscript reads and writes (in loops too), lists
built with ``append``, calls to the helpers, and scalar control flow (nested branches,
``for``/``while``, ``break``/``continue``/early ``return``). Each program is imported from
a temporary file, and at a random point:

* ``value_and_grad``'s and ``jvp``'s values are ``f``'s (to a few ulps: s2sad leaves out
  copies, and NumPy sums in an order that depends on the layout);
* every gradient has its input's shape and is finite;
* the dot-product test ``<J v, w> == <v, J^T w>`` between ``jvp`` and ``vjp``; ``vjp`` is
  ``w`` times ``grad``;
* ``grad`` and ``jvp`` against central differences along a random direction and along one
  coordinate, where a probe version of the program takes the same decisions (branches,
  ``abs``/``max``/``where``/``clip``, masks, ``floor``) on the whole stencil.

Bugs that random programs found are pinned by the regression tests below
(``xfail(strict=True)`` while s2sad is wrong); those that cannot be kept out of the
programs are ``random_arrays.KNOWN_BUGS``: a program that hits one is still checked in
forward mode, and counted. ``pytest --long`` runs thousands more (``test_long_run.py``).
"""

from __future__ import annotations

import ast
import math
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import s2sad

from . import random_arrays as ra
from .determinism import sources_per_hash_seed
from .oracles import array_gradient


@st.composite
def programs(draw) -> ra.Program:
    return ra.generate_program(lambda n: draw(st.integers(0, n - 1)))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(program=programs(), seed=st.integers(0, 2 ** 32 - 1))
def test_random_array_programs(program: ra.Program, seed: int):
    ra.check_program(program, seed)


SEEDS = range(100)


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_array_programs(seed: int):
    """The same checks over ``random.Random`` seeds: a failure reproduces without
    hypothesis (``python -c "from tests.random_arrays import *;
    print(random_program(SEED).source)"``)."""
    ra.check_program(ra.random_program(seed), seed)


# --------------------------------------------------------------------------------------
# Regressions: minimised programs that random programs found, with their oracle (central
# differences of f itself, called on copies of its arguments).


def _module(body: str) -> str:
    return "import math\n\nimport numpy as np\n\n\n" + textwrap.dedent(body).strip() + "\n"


def _copies(args):
    return [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]


def check_against_differences(source: str, args: tuple, may_refuse: bool = False) -> None:
    """``grad`` (each gradient shaped like its input), ``value_and_grad`` and ``jvp`` of
    ``f`` in ``source`` against central differences of ``f``; with ``may_refuse``, a
    located CompileError at creation is a right answer too (the subset excludes it)."""
    f = ra.load(source).f
    wrt = tuple(range(len(args)))
    try:
        gradient = s2sad.grad(f, wrt=wrt)
        both = s2sad.value_and_grad(f, wrt=wrt)
        forward = s2sad.jvp(f, wrt=wrt)
    except s2sad.CompileError as err:
        if may_refuse and err.lineno:
            return
        raise
    value = f(*_copies(args))
    got = gradient(*_copies(args))
    both_value, _ = both(*_copies(args))
    assert np.isclose(both_value, value, rtol=1e-13, atol=0), (both_value, value)
    tangents = [np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args]
    primal, tangent = forward(*_copies(args), *tangents)
    assert np.isclose(primal, value, rtol=1e-13, atol=0), (primal, value)
    expected_tangent = 0.0
    for i, (g, a) in enumerate(zip(got, args)):
        expected = array_gradient(lambda *p: f(*_copies(p)), _copies(args), i)
        assert np.shape(g) == np.shape(a), f"gradient {i} shaped {np.shape(g)}, not " \
                                           f"{np.shape(a)}: {g!r}"
        assert np.allclose(g, expected, rtol=1e-6, atol=1e-6), (i, g, expected)
        expected_tangent += float(np.sum(expected))
    assert math.isclose(tangent, expected_tangent, rel_tol=1e-6, abs_tol=1e-6), \
        (tangent, expected_tangent)


def _xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


# Found by random programs and fixed in a5efb1a: the zero adjoint of an array on a path
# that does not touch it was the number 0.0, so grad returned 0.0 (or zeros of another
# shape) for an array, or the generated code failed on it. name -> (body, arguments)
ZERO_ADJOINT_CASES = {
    # grad gives 0.0 for x, not zeros((3,))
    "untaken_branch": ("""
        def f(x):
            if x[0] > 10.0:
                return np.sum(x)
            return 0.5
        """, (np.array([1.0, 2.0, 3.0]),)),
    # AttributeError: 'float' object has no attribute 'T' (dcdx = 0.0; dfdx = dcdx.T)
    "transpose_of_a_zero_adjoint": ("""
        def f(x):
            c = x.T
            b = 0.5
            if x[0, 0] > 10.0:
                b = np.sum(c)
            return b
        """, (np.ones((2, 3)),)),
    # a while loop that runs no trips: grad gives 0.0 for x
    "while_loop_without_trips": ("""
        def f(x, z):
            v = z
            n = 0
            while n < 0:
                v = np.tanh(x)
                n += 1
            return np.sum(v)
        """, (np.ones((2, 3)), np.full((2, 3), 0.5))),
    # returning from a loop: grad gives zeros((1, 2)) for x of shape (3, 2)
    "return_from_a_loop": ("""
        def f(x, y):
            b = x.T * y[:, None]
            for i in range(len(x)):
                return 0.5
            return np.sum(b)
        """, (np.ones((3, 2)), np.ones(2))),
    # TypeError: first operand must be array (np.add.at(0.0, ...))
    "masked_read_then_return": ("""
        def f(x):
            a = np.sum(x[x > 0.0])
            for i in range(len(x)):
                return a
            return np.mean(x)
        """, (np.array([1.0, -2.0, 3.0]),)),
    # IndexError: tuple index out of range (in _unbroadcast(0.0, y) for y of shape (1, 3))
    "unbroadcast_of_a_zero_adjoint": ("""
        def f(x, y, z):
            c = y + x
            if z < np.sin(z):
                c = y
            return np.sum(y) + np.sum(c)
        """, (np.ones(3), np.ones((1, 3)), -0.5)),
}


@pytest.mark.parametrize("name", sorted(ZERO_ADJOINT_CASES))
def test_zero_adjoint_regressions(name: str):
    body, args = ZERO_ADJOINT_CASES[name]
    check_against_differences(_module(body), args)


@pytest.mark.parametrize("body, args", [
    pytest.param("""
        def f(x, y):
            a = x * 2.0
            for i in range(2):
                a = y * 2.0
            return np.sum(a)
        """, (np.ones(3), np.ones(3)), id="gradient-is-a-number"),
    pytest.param("""
        def f(x, y):
            a = x.T
            for i in range(2):
                a = y * 2.0
            return np.sum(a)
        """, (np.ones((2, 3)), np.ones((3, 2))), id="transpose-of-a-number"),
    pytest.param("""
        def f(x, y):
            a = x + np.sum(x, axis=0, keepdims=True)
            for i in range(1):
                a = y * 2.0
            return np.sum(a)
        """, (np.ones((2, 3)), np.ones((2, 3))), id="unbroadcast-of-a-number"),
])
def test_overwritten_in_a_loop(body: str, args: tuple):
    """A loop body that overwrites a carried array without reading it set the array's
    adjoint to the number 0.0 after a trip: grad gave 0.0 for x of shape (3,), or the
    generated code failed (0.0.T: AttributeError; _unbroadcast(0.0, x): IndexError). The
    zero is now shaped like the value at the start of the trip."""
    check_against_differences(_module(body), args)


def test_inactive_call_in_a_loop():
    """A user function called in a loop on values that do not depend on the inputs was
    called by the derivative but not defined in its module: NameError (fixed in a5efb1a)."""
    check_against_differences(_module("""
        def h(u):
            return 0.5


        def f(x):
            a = 0.5
            for i in range(2):
                a = h(a)
            return a + x
        """), (1.5,))


def test_adjoint_from_a_helper_written_in_place():
    """The adjoint a helper's vjp returns (np.sum's, a read-only broadcast) was written into
    in place by the caller, for the adjoint of `w[0] = y`: ValueError: assignment
    destination is read-only. The emitter now never writes into what a call returns."""
    check_against_differences(_module("""
        def total(u):
            return np.sum(u)


        def f(x, y):
            w = x.copy()
            w[0] = y
            return total(w)
        """), (np.ones((3, 2)), np.array([0.5, 0.5])))


@pytest.mark.parametrize("body, args", [
    pytest.param("""
        def f(x, n):
            d = x * 2.0
            for i in range(n):
                d = d + x * 2.0
            return d
        """, (0.3, 2), id="scalar-for"),
    pytest.param("""
        def f(x, n):
            d = x * 2.0
            for i in range(n):
                d = d * (x * 2.0)
            return d
        """, (0.3, 0), id="scalar-no-trips"),
    pytest.param("""
        def f(x):
            d = x[:, None]
            n = 0
            while n < 0:
                d = np.sin(x[:, None]) + 0.5
                n += 1
            return np.sum(d)
        """, (np.array([0.3, 0.7]),), id="array-while"),
])
def test_loop_recomputing_its_initial_value(body: str, args: tuple):
    """A loop body computing the expression a carried name had before the loop (`d = x *
    2.0; for ...: d = d + x * 2.0`; cse makes the body read d's value before the loop):
    reverse mode dropped the adjoint of that value, which the loop reads and carries from
    (grad gave 2n for 2(n + 1), 0 for 2 with no trips)."""
    source = _module(body)
    f = ra.load(source).f
    wrt = tuple(i for i, a in enumerate(args) if not isinstance(a, int))
    got = s2sad.grad(f, wrt=wrt)(*_copies(args))  # a tuple wrt: a tuple of gradients
    for i, g in zip(wrt, got):
        expected = array_gradient(lambda *p: f(*_copies(p)), _copies(args), i)
        assert np.allclose(g, expected, rtol=1e-6, atol=1e-6), (g, expected)


def test_loop_over_a_sequence_the_body_rebinds():
    """``for v in x:`` with x rebound in the body iterates over x's value before the loop,
    which the loop also carries: the same dropped adjoint (grad gave [1, 3] for [1.75,
    3.75])."""
    check_against_differences(_module("""
        def f(x):
            for v in x:
                x = x * v
            return np.sum(x)
        """), (np.array([1.5, 0.5]),))


@pytest.mark.parametrize("body, args", [
    pytest.param("""
        def f(z):
            w = np.zeros((2, 3))
            w[0] = z
            return z + np.sum(w)
        """, (2.0,), id="number-into-a-row"),
    pytest.param("""
        def f(v, z):
            w = np.zeros((3, 3))
            w[0:2] = v
            w[:, 1] = z
            w[2, :] += z
            return np.sum(w * w) + z
        """, (np.array([1.0, 2.0, 3.0]), 0.5), id="vector-into-rows"),
])
def test_values_written_into_several_entries(body: str, args: tuple):
    """Writing a number into a row (``w[0] = z``) gave z the adjoint dfdw[0], not its sum:
    grad gave [2. 2. 2.] for dF/dz = 4 (fixed in a5efb1a)."""
    check_against_differences(_module(body), args)


@pytest.mark.parametrize("body, args", [
    pytest.param("""
        def f(y):
            u = np.sin(y)
            for i in range(2):
                u = u[::-1]
            return np.sum(u)
        """, (np.array([0.3, 0.7, 1.1]),), id="reversed"),
    pytest.param("""
        def f(y):
            u = np.sin(y)
            for i in range(2):
                u = u[::-1].copy()
            return np.sum(u)
        """, (np.array([0.3, 0.7, 1.1]),), id="reversed-copy"),
    pytest.param("""
        def f(y):
            u = y * 1.0
            for i in range(2):
                u = u[1:]
            return np.sum(u)
        """, (np.array([0.3, 0.7, 1.1]),), id="shorter"),
])
def test_loop_slicing_an_array_into_itself(body: str, args: tuple):
    """A loop that rebinds an array to a slice of itself (`u = u[::-1]`): the adjoint of
    the slice wrote the operand's adjoint over the result's before reading it (`dfdu =
    t1.copy(); dfdu[::-1] += dfdu`: the emitter let the in-place write take the name of
    what it adds); grad gave zeros for cos(y), or failed: ValueError: non-broadcastable
    output operand."""
    check_against_differences(_module(body), args)


def test_nested_loops_reusing_the_loop_variable():
    """A loop variable reused by a nested loop (`for v in x: for v in x: ...` then reading
    v) was refused: UndefinedName. A loop now carries its variable when it was bound
    before: after the loop it holds the last item, or its old value if the loop ran no
    trips, as in Python."""
    check_against_differences(_module("""
        def f(x):
            s = 0.0
            for v in x:
                for v in x:
                    s = s + v
                s = s * v
            return s
        """), (np.array([1.0, 2.0]),))
    for trips in ("len(x) - 1", "len(x) - 3"):  # i is 1 after the loop, or still 7
        check_against_differences(_module(f"""
            def f(x):
                i = 7
                s = x[2]
                for i in range({trips}):
                    s = s + x[i]
                return s * (i + 1)
            """), (np.array([1.0, 2.0, 3.0]),))


def test_loop_variable_after_a_break_is_refused():
    """After a `break`, Python's loop variable keeps the item it broke at, but the lowered
    loop runs its remaining iterations as no-ops that still bind it: s2sad gave 3.0 for
    4.0 here. Reading it after such a loop is a located error."""
    f = ra.load(_module("""
        def f(x):
            v = 0.5
            for v in x:
                v = v * 2.0
                if v > 3.0:
                    break
            return v
        """)).f
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(f)
    assert info.value.lineno == 12 and "`break`" in info.value.message


@pytest.mark.parametrize("body, args", [
    pytest.param("""
        def f(x, y):
            a = x
            a += y
            return np.sum(x * x)
        """, (np.array([1.0, 2.0]), np.array([0.5, 0.5])), id="alias-of-a-parameter"),
    pytest.param("""
        def f(x, y):
            a = x[0]
            a += y
            return np.sum(x * x)
        """, (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, 0.5])),
        id="view-of-a-parameter"),
    pytest.param("""
        def f(x, y):
            a = x * 1.0
            b = a
            b += y
            return np.sum(a * x)
        """, (np.array([1.0, 2.0]), np.array([0.5, 0.5])), id="alias-of-a-local"),
    pytest.param("""
        def f(x, y):
            a = np.where(x > 0.0, x, y)
            v = a
            a += a
            return a + v
        """, (0.5, 0.25), id="zero-d-array-from-np-where"),
])
def test_in_place_addition_through_a_second_name(body: str, args: tuple):
    """NumPy's `a += y` writes into the array `a` shares with `x`; s2sad read it as `a = a
    + y` and silently differentiated another function. Now every name for the same array
    takes the sum when `a` holds an array (s2sad cannot tell an array from a number in
    general: the generated code asks `_is_array(a)`), and a view of it read after the
    write is a located error."""
    check_against_differences(_module(body), args, may_refuse=True)


def test_write_after_a_call_that_returns_its_argument():
    """A helper that returns its argument makes its result a second name for the caller's
    array; a later write into that array changes it in Python, not in s2sad (grad gave [0,
    0, 0] for [2, 0, 0]). A helper's result is now linked to the arguments it may return
    (its IR says which), as `a = w` is."""
    check_against_differences(_module("""
        def identity(u):
            return u


        def f(x):
            w = np.zeros(3)
            a = identity(w)
            w[0] = x[0]
            return np.sum(a * x)
        """), (np.array([1.0, 2.0, 3.0]),), may_refuse=True)


def test_a_second_name_for_a_written_array_is_refused():
    """What the regression above should do: a write through an array with a second name is
    a located error."""
    f = ra.load(_module("""
        def f(x):
            w = np.zeros(3)
            a = w
            w[0] = x[0]
            return np.sum(a * x)
        """)).f
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(f)
    assert info.value.lineno == 10 and "same array" in info.value.message


@pytest.mark.parametrize("body, line, words", [
    pytest.param("""
        def f(x, y):
            a = x.T
            b = a
            b += y
            return np.sum(x * x)
        """, 10, "`b += ...` at line 9", id="a-view-through-two-names"),
    pytest.param("""
        def f(x, y):
            w = x * 1.0
            a = w
            s = 0.0
            for i in range(2):
                s = s + np.sum(a * y)
                w[i] = 0.0
            return s
        """, 11, "next trip", id="read-on-the-next-trip"),
    pytest.param("""
        def f(x, y):
            w = x * 1.0
            s = 0.0
            for v in w:
                s = s + v
                a = w
                a[0] = 0.0
            return s
        """, 9, "next trip", id="walked-on-the-next-trip"),
])
def test_writes_through_a_second_name_are_refused(body: str, line: int, words: str):
    """A write into an array (`a += y` when `a` may hold one, `a[0] = v`) that a view, or a
    name that may be one, shares: a read of that name after the write (in a later trip of
    a loop too) is a located error."""
    f = ra.load(_module(body)).f
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(f, wrt=(0, 1))
    assert info.value.lineno == line and words in info.value.message, info.value


@pytest.mark.parametrize("body, args", [
    pytest.param("""
        def f(x, y):
            b = 2.0
            a = b
            a += y
            return a * b * x
        """, (0.5, 1.5), id="numbers"),
    pytest.param("""
        def f(x, y):
            a = x * 2.0
            a += y
            return np.sum(a * x)
        """, (np.array([1.0, 2.0]), np.array([0.5, 0.25])), id="a-fresh-array"),
    pytest.param("""
        def f(x, y):
            a = x
            a += y
            return np.sum(a * a)
        """, (np.array([1.0, 2.0]), np.array([0.5, 0.25])), id="the-other-name-unread"),
    pytest.param("""
        def f(x, y):
            w = x * 1.0
            t = w[0]
            w[0] = w[1]
            w[1] = t
            return np.sum(w * y) + t
        """, (np.array([1.0, 2.0]), np.array([0.5, 0.25])), id="a-swap"),
    pytest.param("""
        def f(x, y):
            a = x
            b = a
            b += y
            return np.sum(x * a * y)
        """, (np.array([1.0, 2.0]), np.array([0.5, 0.25])), id="names-for-the-same-array"),
    pytest.param("""
        def f(x, y):
            a = x
            for i in range(2):
                a += y
            return np.sum(x * x)
        """, (np.array([1.0, 2.0]), np.array([0.5, 0.25])), id="in-a-loop"),
    pytest.param("""
        def f(x, y):
            a = x
            a += y
            return a * x
        """, (0.5, 1.5), id="numbers-through-a-second-name"),
    pytest.param("""
        def f(x, y):
            a = x[0]
            a += y
            b = x[1, 0]
            b += y[0]
            return np.sum(x * x) + a[1] * b
        """, (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, 0.25])),
        id="a-row-and-an-entry"),
    pytest.param("""
        def total(u):
            return np.sum(u * u)


        def f(x, y):
            w = x * 1.0
            s = total(w)
            s += 1.0
            w[0] = y[0]
            return s + np.sum(w * y)
        """, (np.array([1.0, 2.0]), np.array([0.5, 0.25])), id="a-helper-returning-a-new-value"),
])
def test_writes_through_names_for_one_array(body: str, args: tuple):
    """What the refusals above leave alone: `+=` on numbers, on arrays no other name
    shares, or with the other name never read again; `+=` through another name for the
    same array (each name for it takes the sum when it is an array: `_is_array`), or on an
    item that may be a row (written back into its array when it is one); an item read
    before its array is written (a swap); what a helper returns that is not its
    argument."""
    check_against_differences(_module(body), args)


def test_every_known_bug_has_a_failing_regression_test():
    """Each allowance of ``random_arrays.KNOWN_BUGS`` names an ``xfail(strict=True)`` test
    here: when s2sad is fixed, that test fails (XPASS) until the allowance goes."""
    for bug, test_name in ra.KNOWN_BUGS.items():
        test = globals().get(test_name)
        assert test is not None, f"{bug}: no test {test_name}"
        marks = [m for m in getattr(test, "pytestmark", []) if m.name == "xfail"]
        assert marks and marks[0].kwargs.get("strict"), f"{bug}: {test_name} is not xfail"


# --------------------------------------------------------------------------------------
# The generator itself


def _features(source: str) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST, loops: int) -> None:
        if isinstance(node, (ast.For, ast.While)):
            loops += 1
            found.add(f"loop depth {loops}")
        if isinstance(node, ast.Return) and loops:
            found.add("return in a loop")
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            found.add("write in a loop" if loops else "write")
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            found.add("augmented write")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "append" and loops:
            found.add("append in a loop")
        if isinstance(node, ast.If) and node.orelse:
            found.add("if/else")
        if isinstance(node, ast.If) and any(isinstance(n, ast.If) for n in node.body):
            found.add("nested if")
        found.add(type(node).__name__)
        for child in ast.iter_child_nodes(node):
            visit(child, loops)

    visit(ast.parse(source), 0)
    return found


def test_generated_programs_cover_the_forms():
    programs_ = [ra.random_program(seed) for seed in range(600)]
    found = set.union(*(_features(p.source) for p in programs_))
    for feature in ("loop depth 2", "return in a loop", "write", "write in a loop",
                    "augmented write", "append in a loop", "if/else", "nested if", "IfExp",
                    "BoolOp", "Break", "Continue", "While", "For", "AugAssign", "ListComp",
                    "MatMult"):
        assert feature in found, feature
    sources = "\n".join(p.source for p in programs_)
    for form in ("np.where(", "keepdims=True", "axis=-1", "axis=1", "ddof=1", "np.einsum(",
                 "np.outer(", "np.dot(", "np.inner(", "np.trace(", "np.linalg.norm(",
                 "np.std(", "np.var(", "np.prod(", "np.max(", ".sum(", "np.clip(",
                 "np.maximum(", "np.abs(", "np.arcsin(", "np.log(", "np.sqrt(", "np.floor(",
                 "[i]", "[i - 1]", "[:, None]", "[::2]", "np.array([", ".T", ".reshape(",
                 "np.stack(", "np.concatenate(", "np.broadcast_to(", "np.expand_dims(",
                 "np.squeeze(", "enumerate(", "zip(", "range(len(", ".shape[0])",
                 "sum([", " for item in ", ".append(", "def h1(", "def h2(", "h1(",
                 "scale=", "[0] ", ", v=", ".copy()", "np.zeros(", "math.",
                 " if ", " and ", " or ", "not (", "tape", "dfdx", "t1 = "):
        assert form in sources, form
    shapes = {p.shapes for p in programs_}
    assert any(() in s for s in shapes) and any((3, 1) in s or (2, 1) in s or (4, 1) in s
                                                for s in shapes)


def test_generator_is_deterministic():
    for seed in range(30):
        assert ra.random_program(seed) == ra.random_program(seed)
    assert len({ra.random_program(seed).source for seed in range(50)}) > 45


def test_programs_run_and_stay_bounded():
    """Every generated program runs at random points and returns a moderate number (the
    bounds the generator tracks hold), and the probe computes what f computes."""
    for seed in range(150):
        program = ra.random_program(seed)
        f = ra.load(program.source).f
        rng = np.random.default_rng(seed)
        for _ in range(2):
            point = ra.random_point(program.shapes, rng, ra.INPUT_BOUND)
            value = f(*_copies(point))
            assert np.ndim(value) == 0 and math.isfinite(value) and abs(value) < 1e7
            assert ra.run_probe(program, point)[0] == value


def test_the_probe_sees_decisions_move():
    """Stencils across a kink are refused: np.abs at 0, a branch at its threshold."""
    program = ra.Program(_module("""
        def f(x, y, z):
            if np.sum(x) > 0.0:
                return np.sum(np.abs(x))
            return 0.0
        """), textwrap.dedent("""
        def f(x, y, z):
            if _gt(np.sum(x), 0.0):
                return np.sum(_abs(x))
            return 0.0
        """), ((2,), (), ()))
    point = [np.array([1.0, 1e-9]), 0.0, 0.0]
    _, taken = ra.run_probe(program, point)
    assert not ra.smooth_along(program, point, [np.array([0.0, 1.0]), 0.0, 0.0], 1e-6, taken)
    assert ra.smooth_along(program, point, [np.array([1.0, 0.0]), 0.0, 0.0], 1e-6, taken)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs())
def test_generated_source_is_deterministic(program: ra.Program):
    first, second = ra.load(program.source, fresh=True), ra.load(program.source, fresh=True)
    assert first is not second
    for transform in (s2sad.grad, s2sad.value_and_grad, s2sad.jvp, s2sad.vjp):
        assert s2sad.source(transform(first.f, wrt=ra.ALL_WRT)) == \
            s2sad.source(transform(second.f, wrt=ra.ALL_WRT))


def test_generated_source_does_not_depend_on_the_hash_seed():
    """Array programs calling helpers: byte-identical grad and jvp modules under two
    ``PYTHONHASHSEED`` values."""
    paths = []
    seed = 0
    while len(paths) < 12:
        program = ra.random_program(seed)
        seed += 1
        f = ra.load(program.source).f
        if "def vjp_h1" not in s2sad.source(s2sad.grad(f, wrt=ra.ALL_WRT)):
            continue  # f's derivative calls no helper's
        path = ra.MODULE_DIR / f"hashseed_{seed}.py"
        path.write_text(program.source)
        paths.append(str(path))
    outputs = sources_per_hash_seed(paths, hash_seeds=("0", "1", "12345"))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].count("#####") == 23
    assert outputs[0].count("def vjp_h1") >= 12 and outputs[0].count("def jvp_h1") >= 12


def test_augmented_assignment_to_a_copy_of_a_loop_counter():
    """Found by random control flow: ``t1 = i; t1 += i`` with ``i`` from ``range`` was
    refused as a write through a second name for an array; a loop's counter is a number."""
    check_against_differences(_module("""
        def f(x):
            a = x
            for i in range(3):
                t1 = i
                t1 += i
                a = a * math.cos(x * t1)
            return a
        """), (0.4,))


def test_augmented_assignment_to_an_integer_array_selection_leaves_the_array():
    """Found by the long campaign (seed 1000543): ``a = x[np.array([0, 1, 0])]`` is a copy,
    so ``a += 1.0`` leaves ``x``; s2sad wrote ``a`` back into ``x`` and jvp's value was not
    f's. (Written back, if ever, only when ``a`` shares ``x``'s memory.)"""
    check_against_differences(_module("""
        def f(x):
            a = x[np.array([0, 1, 0])]
            a += 1.0
            return np.sum(a * a) + np.sum(x * x)
        """), (np.array([0.3, -0.7, 1.1]),))


def test_a_counter_copied_in_a_nested_loop_is_a_number():
    """Found by the long campaign (seeds 1000959, 1001235): ``da = i; da += y`` inside a
    while loop inside ``for i in range(...)`` was refused as a write into ``i``'s array."""
    check_against_differences(_module("""
        def f(x, y):
            s = x
            for i in range(3):
                n = 0
                while n < 2:
                    n = n + 1
                    da = i
                    if n > da:
                        da += y
                    s = s * 0.5 + math.sin(da * s)
            return s
        """), (0.4, 0.9))


def test_a_copy_by_an_integer_array_is_not_a_view():
    """Found by the long campaign (seed 1000176): ``w = t[np.array([0])]`` then ``w[...] =
    ...`` was refused as a write through a view of ``t``; NumPy copies there."""
    check_against_differences(_module("""
        def f(x):
            t = x * 2.0
            w = t[np.array([0, 2])]
            w[w < 0.5] = 0.0
            return np.sum(w * x[:2]) + np.sum(t)
        """), (np.array([0.3, 0.7, 1.1]),))


def test_a_write_in_one_branch_does_not_make_the_other_stale():
    """Found by the long campaign (seed 1002650): ``a = x`` (or what a helper returns),
    ``x -= ...`` in the ``if`` branch and ``a`` read in the ``else`` branch was refused."""
    check_against_differences(_module("""
        def f(x, c):
            a = x
            if c > 0.0:
                x -= c
                return np.sum(x * x)
            else:
                return np.sum(a * c)
        """), (np.array([0.3, 0.7]), 0.5))


def test_augmented_assignment_to_a_row_writes_into_the_matrix():
    """The other side of the write-back: ``a = x[1]`` of a matrix is a view, so ``a +=``
    changes ``x`` (checked against f itself by central differences)."""
    check_against_differences(_module("""
        def f(x, y):
            m = x * 1.0
            a = m[1]
            a += y
            return np.sum(m * m) + np.sum(a)
        """), (np.array([[0.3, 0.7], [1.1, -0.4]]), np.array([0.5, 0.2])))
