"""Generated names never shadow user names.

s2sad names what it generates after the notes (``dbda``, ``t1``, ``tape``, ``dx``,
``grad_f``, ``vjp_g``, ``_unbroadcast``...). A user's variable, parameter, global or function
may have any of those names; the derivative must still compute the user's function. Each
case is checked in every mode against central differences: ``grad``, ``value_and_grad``
(its value is ``f``'s), ``jvp``, ``vjp`` and ``hvp`` (against differences of the gradient).

Collisions s2sad gets wrong are ``xfail(strict=True)``, with what it does instead.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

import s2sad

from . import random_arrays as ra
from .oracles import array_gradient

t1 = 3.0  # globals named like temporaries and adjoints
dbda = 0.5
tape = 2.0


def _copies(args):
    return [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]


def _ones(args):
    return [np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args]


def check_every_mode(f, args) -> None:
    wrt = tuple(range(len(args)))
    expected = [array_gradient(lambda *p: f(*_copies(p)), _copies(args), i)
                for i in range(len(args))]
    value = f(*_copies(args))
    both_value, gradient = s2sad.value_and_grad(f, wrt=wrt)(*_copies(args))
    assert np.isclose(both_value, value, rtol=1e-14, atol=0)
    for g, e, a in zip(gradient, expected, args):
        assert np.shape(g) == np.shape(a)
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)
    primal, tangent = s2sad.jvp(f, wrt=wrt)(*_copies(args), *_ones(args))
    assert np.isclose(primal, value, rtol=1e-14, atol=0)
    assert math.isclose(tangent, sum(float(np.sum(e)) for e in expected),
                        rel_tol=1e-6, abs_tol=1e-7)
    for g, e in zip(s2sad.vjp(f, wrt=wrt)(*_copies(args), 2.0), expected):
        np.testing.assert_allclose(g, 2.0 * e, rtol=1e-6, atol=1e-7)
    grad = s2sad.grad(f, wrt=wrt)
    products = s2sad.hvp(f, wrt=wrt)(*_copies(args), *_ones(args))
    h = 1e-6
    up = grad(*[a + h * d for a, d in zip(_copies(args), _ones(args))])
    down = grad(*[a - h * d for a, d in zip(_copies(args), _ones(args))])
    for p, u, d in zip(products, up, down):
        np.testing.assert_allclose(p, (np.asarray(u) - np.asarray(d)) / (2 * h),
                                   rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------
# Variables, parameters and globals


def variables_named_like_generated_code(x, y):
    dbda = x * y
    t1 = dbda + x
    tape = t1 * 2.0
    dtape = tape * y
    dx = dtape - x
    dfdx = dx * 0.5
    for _ in range(3):
        tape = tape * x + dfdx
    trips = 0
    while trips < 2:
        dtape = dtape * y
        trips += 1
    return tape + t1 + dtape


def globals_named_like_generated_code(x):
    return math.sin(x) * t1 + x * x * dbda + tape


def parameters_named_like_tangents(x, dx, v):
    return x * dx + math.sin(v) * x


def builtins_shadowed_by_variables(x):
    range = 2.0
    float = x * range
    reversed = float + x
    n = 0
    while n < 3:
        reversed = reversed * x
        n += 1
    return reversed


def modules_shadowed_by_variables(x, y):
    np = x * y
    math = np * 2.0
    return math * x


def helpers_shadowed_by_variables(x, b):
    _unbroadcast = x + b
    _unreduce = np.sum(_unbroadcast ** 2, axis=0)
    _zeros_like = np.sum(_unreduce)
    return _zeros_like


def function_named_like_a_derivative_of_another(x):
    return jvp_f(x) * x


def jvp_f(x):  # the user's, not s2sad's jvp of f
    return x * 11.0


def f(x):
    return jvp_f(x) * x


ARRAY = np.array([[0.5, -0.25, 1.0], [0.75, 0.1, -0.6]])
CASES = [
    (variables_named_like_generated_code, (0.7, 0.6)),
    (globals_named_like_generated_code, (0.7,)),
    (parameters_named_like_tangents, (0.7, 1.1, 0.3)),
    (builtins_shadowed_by_variables, (0.7,)),
    (modules_shadowed_by_variables, (0.7, 1.2)),
    (helpers_shadowed_by_variables, (ARRAY, np.array([0.1, 0.2, 0.3]))),
    (function_named_like_a_derivative_of_another, (0.7,)),
    (f, (0.7,)),
]


@pytest.mark.parametrize("f, args", CASES, ids=[f.__name__ for f, _ in CASES])
def test_user_names_are_kept_apart_from_generated_names(f, args):
    check_every_mode(f, args)


def test_a_user_variable_keeps_its_name_and_generated_ones_move():
    """The listing keeps the user's ``dbda`` and ``t1``, and s2sad's temporaries take other
    names (the tape is s2sad's ``tape``: the user's becomes ``tape_1``)."""
    text = s2sad.source(s2sad.grad(variables_named_like_generated_code, wrt=(0, 1)))
    for line in ("dbda = x * y", "t1 = dbda + x", "tape = []", "tape_1 = t1 * 2.0"):
        assert line in text, line
    assert text.count("def grad_variables_named_like_generated_code(") == 1


# --------------------------------------------------------------------------------------
# User functions whose names s2sad also generates: written to their own modules, so that
# the other cases do not see them


def _load(body: str):
    return ra.load("import math\n\nimport numpy as np\n\n\n" + textwrap.dedent(body).strip()
                   + "\n").f


def test_user_function_named_like_a_callee_adjoint():
    check_every_mode(_load("""
        def g(t):
            return t * t


        def vjp_g(t, c):
            return t * c * 3.0


        def f(x):
            return g(x) + vjp_g(x, 2.0)
        """), (0.7,))


@pytest.mark.parametrize("name", ["grad_f", "value_and_grad_f", "vjp_f"])
def test_user_function_named_like_the_derivative(name: str):
    check_every_mode(_load(f"""
        def {name}(t):
            return t * 7.0


        def f(x):
            return {name}(x) * x
        """), (0.7,))


@pytest.mark.parametrize("helper, body, args", [
    pytest.param("_zeros_like(g)", "np.sum(_zeros_like(x) * x)",
                 (np.array([1.0, 2.0]), np.array([1.0, 2.0])), id="_zeros_like"),
    pytest.param("_unbroadcast(g, k)", "np.sum((x + y) ** 2) + np.sum(_unbroadcast(x, 3))",
                 (ARRAY, np.array([0.1, 0.2, 0.3])), id="_unbroadcast"),
])
def test_user_function_named_like_a_helper(helper: str, body: str, args: tuple):
    """The user's function keeps its name; s2sad's helper becomes ``_zeros_like_1``."""
    f = _load(f"""
        def {helper}:
            return g * 0.5


        def f(x, y):
            return {body}
        """)
    check_every_mode(f, args)
    name = helper.split("(")[0]
    text = s2sad.source(s2sad.grad(f, wrt=(0, 1)))
    assert f"def {name}(" in text and f"def {name}_1(" in text, text


def parameters_named_like_jacobian_locals(columns, rows, _d0):
    return np.tanh(columns) * rows + _d0 * columns


def parameters_named_like_hessian_locals(column, _v0, hessian):
    return np.sum(column * _v0 ** 2 * hessian + column ** 3)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_keeps_its_locals_apart_from_parameters(mode: str):
    """``jacobian_f`` names its lists and loop variables (``columns``, ``rows``, ``_d0``)
    apart from the parameters it passes on."""
    f = parameters_named_like_jacobian_locals
    args = (np.array([0.3, -0.2]), np.array([1.5, 0.5]), np.array([2.0, 1.0]))
    jacobians = s2sad.jacobian(f, wrt=(0, 1, 2), mode=mode)(*args)
    for k, jacobian in enumerate(jacobians):
        expected = np.stack([array_gradient(lambda *p, i=i: f(*p)[i], list(args), k)
                             for i in range(2)])
        np.testing.assert_allclose(jacobian, expected, rtol=1e-6, atol=1e-8)


def test_hessian_keeps_its_locals_apart_from_parameters():
    f = parameters_named_like_hessian_locals
    args = (np.array([0.3, -0.2]), np.array([1.5, 0.5]), np.array([2.0, 1.0]))
    blocks = s2sad.hessian(f, wrt=(0, 1))(*args)
    grad = s2sad.grad(f, wrt=(0, 1))
    h = 1e-6
    for j in range(2):
        for i in range(2):
            e = np.zeros(2)
            e[i] = h
            up = list(args)
            down = list(args)
            up[j], down[j] = args[j] + e, args[j] - e
            column = [(u - d) / (2 * h) for u, d in zip(grad(*up), grad(*down))]
            for k in range(2):
                np.testing.assert_allclose(blocks[k][j][:, i], column[k], rtol=1e-5,
                                           atol=1e-6)
