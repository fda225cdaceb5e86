"""break, continue and return inside loops, in both modes, against independent oracles."""

from __future__ import annotations

import pytest

import s2sad

from . import jump_cases as cases
from .oracles import central_difference, close, fd_tolerance


def check_both_modes(f, args, wrt):
    """grad (reverse) and one jvp per input (forward) against central differences."""
    grads = s2sad.grad(f, wrt=wrt)(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for i, got in zip(wrt, grads):
        expected = central_difference(f, args, i)
        assert close(got, expected, fd_tolerance(expected)), (f.__name__, args, i)
        tangents = [1.0 if j == i else 0.0 for j in wrt]
        value, tangent = s2sad.jvp(f, wrt=wrt)(*args, *tangents)
        assert value == f(*args)
        assert close(tangent, expected, fd_tolerance(expected))


@pytest.mark.parametrize("x, n, closed", [
    (1.5, 5, 8.0),   # 1.5 -> 3 -> 6 -> 12: breaks after three doublings
    (1.5, 2, 4.0),   # runs out of iterations first
    (11.0, 5, 1.0),  # breaks at once
    (1.5, 0, 1.0),   # no iteration
])
def test_break(x, n, closed):
    assert s2sad.grad(cases.double_until)(x, n) == closed
    check_both_modes(cases.double_until, (x, n), (0,))


def test_continue():
    assert s2sad.grad(cases.odd_terms, wrt=(0, 1))(1.0, 2.0) == (9.0, 3.0)
    check_both_modes(cases.odd_terms, (0.7, -1.3), (0, 1))


@pytest.mark.parametrize("x", [1.0, 0.4, 12.0])
def test_return_inside_a_while_true_loop(x):
    k = 1
    while x * 1.5 ** k <= 10:
        k += 1
    assert close(s2sad.grad(cases.first_above)(x), 2 * x * 1.5 ** k, 1e-12)
    check_both_modes(cases.first_above, (x,), (0,))


@pytest.mark.parametrize("x, y", [(0.3, 1.2), (0.1, 0.5), (0.9, 1.9)])
def test_return_from_nested_loops_with_a_tuple(x, y):
    for index in range(2):
        def component(x, y, index=index):
            return cases.search(x, y)[index]
        for i in range(2):
            expected = central_difference(component, (x, y), i)
            _, tangent = s2sad.jvp(cases.search, wrt=i)(x, y, 1.0)
            assert close(tangent[index], expected, fd_tolerance(expected))


@pytest.mark.parametrize("x", [0.5, 1.1, 3.0])
def test_continue_and_break_together(x):
    check_both_modes(cases.skip_and_stop, (x,), (0,))


def test_flags_carry_no_derivative_code():
    text = s2sad.source(s2sad.grad(cases.double_until))
    assert "stopped" in text  # the flag is there ...
    assert "dstopped" not in text and "_dstopped" not in text  # ... with no adjoint


def test_jumps_are_deterministic():
    first = s2sad.source(s2sad.grad(cases.skip_and_stop))
    assert first == s2sad.source(s2sad.grad(cases.skip_and_stop))


def test_break_loop_reverse_golden(request):
    from .test_seeds import check_golden

    check_golden("grad_double_until.py", s2sad.source(s2sad.grad(cases.double_until)),
                 request)
