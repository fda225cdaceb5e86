"""Checkpointed loops: reverse mode recomputes iterations instead of taping them.

Every checkpointed gradient is compared with central differences of the function (the
independent oracle) and with the taped gradient of the same function (they must agree to
rounding: the same operations run, in another order of segments). The schedule of
``_checkpointed`` is checked against Griewank's closed form for the fewest recomputations,
and its memory against tracemalloc.
"""

from __future__ import annotations

import math
import os
import pathlib
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import s2sad
from s2sad import helpers
from s2sad.ir import format_function, parse_function

from . import checkpoint_cases as C
from .oracles import array_gradient
from .test_seeds import check_golden

RNG = np.random.default_rng(7)
W = RNG.normal(size=(4, 4)) * 0.5
H0 = RNG.normal(size=4)
XS = RNG.normal(size=(7, 4))

CASES = {
    "scalar": (C.scalar_loop, (0.3, 0.8, 25), (0, 1)),
    "scalar-one-trip": (C.scalar_loop, (0.3, 0.8, 1), (0, 1)),
    "scalar-no-trips": (C.scalar_loop, (0.3, 0.8, 0), (0, 1)),
    "rnn": (C.rnn, (W, H0, XS), (0, 1, 2)),
    "while": (C.until, (0.5, 1.3), (0, 1)),
    "while-no-trips": (C.until, (12.0, 1.3), (0, 1)),
    "break": (C.stop_early, (0.7, 10), (0,)),
    "over-a-list": (C.over_list, ([0.5, 1.5, -0.3, 2.0], 0.9), (0, 1)),
    "reversed-range": (C.backwards, (0.4, 0.7, 11), (0, 1)),
    "nested-inside": (C.nested, (0.3, 0.8), (0, 1)),
    "inside-a-taped-loop": (C.inner_only, (0.3, 0.8), (0, 1)),
    "calls-a-function": (C.calls, (0.3, 0.8, 6), (0, 1)),
    "writes-into-an-array": (C.writes, (np.array([0.3, -0.2]), 5), (0,)),
    "two-carried": (C.two_carried, (0.6, 0.2, 13), (0, 1)),
    "list-of-matrices": (C.list_of_matrices, ([W * 0.5, W.T, -W, W @ W], H0), (1,)),
    "carries-a-growing-list": (C.appends, (0.3, 7), (0,)),
}


def _as_tuple(g):
    return g if isinstance(g, tuple) else (g,)


def _central(f, args, k):
    if np.ndim(args[k]) or isinstance(args[k], list):
        point = list(args)
        point[k] = np.asarray(args[k], dtype=float)
        return array_gradient(lambda *a: f(*a), point, k)
    h = 1e-6 * max(1.0, abs(args[k]))
    up, down = list(args), list(args)
    up[k] += h
    down[k] -= h
    return (f(*up) - f(*down)) / (2 * h)


@pytest.mark.parametrize("name", CASES)
def test_checkpointed_gradient_is_the_taped_gradient(name):
    f, args, wrt = CASES[name]
    checkpointed = s2sad.grad(f, wrt=wrt)
    assert "_checkpointed(" in s2sad.source(checkpointed)
    taped = s2sad.grad(f, wrt=wrt, checkpoint=False)
    assert "_checkpointed(" not in s2sad.source(taped)
    got, expected = checkpointed(*args), taped(*args)
    assert type(got) is type(expected) and len(_as_tuple(got)) == len(wrt)
    got, expected = _as_tuple(got), _as_tuple(expected)
    for k, g, e in zip(wrt, got, expected):
        assert np.shape(g) == np.shape(e)
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, _central(f, args, k), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("states", [1, 2, 3, 5, True])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 10, 17, 50, 101])
def test_every_number_of_states_and_trips(n, states):
    args = (0.3, 0.8, n)
    g = s2sad.grad(C.scalar_loop_plain, wrt=(0, 1), checkpoint=states)
    expected = s2sad.grad(C.scalar_loop_plain, wrt=(0, 1))(*args)
    assert "_checkpointed(" in s2sad.source(g)
    np.testing.assert_allclose(g(*args), expected, rtol=1e-12, atol=1e-300)
    if n <= 17:  # both partials are O(1) there: central differences resolve them
        for k in (0, 1):
            np.testing.assert_allclose(g(*args)[k], _central(C.scalar_loop_plain, args, k),
                                       rtol=1e-5, atol=1e-8)


def test_value_and_grad_and_vjp_checkpoint_too():
    value, (da, dy) = s2sad.value_and_grad(C.until, wrt=(0, 1))(0.5, 1.3)
    assert value == C.until(0.5, 1.3)
    expected = s2sad.grad(C.until, wrt=(0, 1), checkpoint=False)(0.5, 1.3)
    assert (da, dy) == pytest.approx(expected, rel=1e-12)
    vjp = s2sad.vjp(C.until, wrt=(0, 1))
    assert "_checkpointed(" in s2sad.source(vjp)
    assert vjp(0.5, 1.3, 2.0) == pytest.approx((2 * da, 2 * dy), rel=1e-12)
    jacobian = s2sad.jacobian(C.rnn, wrt=1, mode="reverse")
    grad_h = s2sad.grad(C.rnn, wrt=1, checkpoint=False)(W, H0, XS)
    np.testing.assert_allclose(jacobian(W, H0, XS), grad_h, rtol=1e-12)


def test_second_derivatives_tape_every_loop():
    """Forward mode over ``_checkpointed`` has no rule: hvp and hessian ignore the marks."""
    hvp = s2sad.hvp(C.nested, wrt=0)
    assert "_checkpointed(" not in s2sad.source(hvp)
    g = s2sad.grad(C.nested, wrt=0, checkpoint=False)
    h = 1e-5
    expected = (g(0.3 + h, 0.8) - g(0.3 - h, 0.8)) / (2 * h)
    assert hvp(0.3, 0.8, 1.0) == pytest.approx(expected, rel=1e-6)
    hessian = s2sad.hessian(C.until, wrt=(0, 1))(0.5, 1.3)
    assert np.ndim(hessian[0][0]) == 0


def test_option_marks_loops_without_comments():
    f, args = C.scalar_loop_plain, (0.3, 0.8, 30)
    expected = s2sad.grad(f, wrt=(0, 1))(*args)
    line = f.__code__.co_firstlineno + 1
    for option in (True, 4, {line: True}, {line: 3}):
        g = s2sad.grad(f, wrt=(0, 1), checkpoint=option)
        assert "_checkpointed(" in s2sad.source(g), option
        np.testing.assert_allclose(g(*args), expected, rtol=1e-12)
    assert "states=4" in s2sad.source(s2sad.grad(f, wrt=(0, 1), checkpoint=4))


def test_true_marks_outermost_loops_only():
    g = s2sad.grad(C.nested_plain, wrt=(0, 1), checkpoint=True)
    source = s2sad.source(g)
    assert source.count("= _checkpointed(") == 1
    # the inner loop runs inside the outer loop's segments: taped there
    vjp_segment = source.split("def vjp_nested_plain_loop")[1].split("\ndef ")[0]
    assert "tape.append" in vjp_segment
    expected = s2sad.grad(C.nested_plain, wrt=(0, 1))(0.3, 0.8)
    np.testing.assert_allclose(g(0.3, 0.8), expected, rtol=1e-12)
    # an inner loop marked by the option is checkpointed inside the taped outer loop
    inner_line = C.nested_plain.__code__.co_firstlineno + 3
    inner = s2sad.grad(C.nested_plain, wrt=(0, 1), checkpoint={inner_line: 2})
    assert s2sad.source(inner).count("= _checkpointed(") == 1
    np.testing.assert_allclose(inner(0.3, 0.8), expected, rtol=1e-12)


def test_false_ignores_the_comments():
    g = s2sad.grad(C.scalar_loop, wrt=(0, 1), checkpoint=False)
    assert "_checkpointed" not in s2sad.source(g) and "tape.append" in s2sad.source(g)


@pytest.mark.parametrize("option, error", [
    ("all", TypeError), (0, ValueError), (-3, ValueError), (2.5, TypeError),
    ({"12": 2}, TypeError), ({12: 0}, ValueError), ({12: "x"}, ValueError)])
def test_bad_options_are_refused(option, error):
    with pytest.raises(error, match="checkpoint"):
        s2sad.grad(C.scalar_loop_plain, checkpoint=option)


def test_a_line_without_a_loop_is_a_located_error():
    line = C.scalar_loop_plain.__code__.co_firstlineno
    with pytest.raises(s2sad.CompileError, match=f"line {line}, where no loop") as info:
        s2sad.grad(C.scalar_loop_plain, checkpoint={line: 2})
    assert info.value.lineno == line and info.value.filename.endswith("checkpoint_cases.py")


@pytest.mark.parametrize("f, text", [(C.bad_directive, "checkpoint(states=0)"),
                                     (C.unknown_directive, "recompute")])
def test_a_bad_directive_is_a_located_error(f, text):
    with pytest.raises(s2sad.CompileError, match="s2sad directive") as info:
        s2sad.grad(f)
    error = info.value
    assert text in error.source_line and error.lineno in (
        f.__code__.co_firstlineno + 1, f.__code__.co_firstlineno + 2)
    assert error.col_offset == error.source_line.index("#")


def test_a_directive_after_code_on_the_line_above_is_not_the_loops():
    assert "_checkpointed" not in s2sad.source(s2sad.grad(C.code_above))


def test_the_mark_round_trips_through_the_ir_text():
    text = s2sad.ir(C.until)
    assert "while carry(a.1=a) checkpoint:" in text
    assert format_function(parse_function(text)) == text
    assert "checkpoint(2):" in s2sad.ir(C.rnn)


def test_generated_code_of_the_seed_loop(request):
    source = s2sad.source(s2sad.grad(C.accum_loop, wrt=(0, 1)))
    check_golden("grad_accum_loop_checkpointed.py", source, request)
    assert s2sad.source(s2sad.grad(C.accum_loop, wrt=(0, 1))) == source


# ------------------------------------------------------------------ the schedule itself

class _State:
    alive = 0
    peak = 0

    def __init__(self, value):
        self.value = value
        _State.alive += 1
        _State.peak = max(_State.peak, _State.alive)

    def __del__(self):
        _State.alive -= 1


def _instrumented(n):
    """A loop x <- x + i on n iterations whose segments count their runs."""
    log = {"advanced": 0, "reversed": []}

    def segment(start, stop, step, state, weight):
        log["advanced"] += len(range(start, stop, step))
        return _State(state.value + sum(range(start, stop, step)))

    def segment_vjp(start, stop, step, state, weight, adjoint):
        log["reversed"].append(range(start, stop, step))
        _State.peak = max(_State.peak, _State.alive)
        return adjoint * 1.0, adjoint * len(range(start, stop, step))

    return segment, segment_vjp, log


def _griewank(m, s):
    """The fewest segment runs that reverse m segments with s states (Griewank 1992)."""
    r = 0
    while math.comb(s + r, s) < m:
        r += 1
    return max(r * m - math.comb(s + r, s + 1), 0)


@pytest.mark.parametrize("n", [1, 2, 5, 16, 17, 100, 1000, 10_000])
@pytest.mark.parametrize("states", [1, 2, 3, 7, 0])
def test_schedule_recomputes_the_fewest_and_keeps_few_states(n, states):
    segment, segment_vjp, log = _instrumented(n)
    _State.alive = _State.peak = 0
    first = _State(0.0)
    indices = range(3, 3 + 2 * n, 2)
    da, dw = helpers._checkpointed(segment, segment_vjp, indices, (first,), (1.0,), (1.0,),
                                   wrt=(0, 1), states=states)
    length = math.isqrt(n - 1) + 1
    m = -(-n // length)
    kept = states or min(s for s in range(2, m + 3) if math.comb(s + 2, 2) >= m)
    # each segment is reversed once, the last first, and together they are the iterations
    assert [i for part in log["reversed"] for i in reversed(part)] == list(reversed(indices))
    assert all(len(part) == length for part in log["reversed"][1:])
    assert log["advanced"] <= _griewank(m, kept) * length
    if n % length == 0:  # equal segments: exactly the optimum
        assert log["advanced"] == _griewank(m, kept) * length
    assert _State.peak <= kept + 2  # the states kept, the caller's and one being made
    assert (da, dw) == (1.0, n)


def test_adjoints_of_a_list_add_item_by_item():
    def segment(start, stop, step, state, xs):
        return state

    def segment_vjp(start, stop, step, state, xs, adjoint):
        return adjoint, [1.0] * len(xs)

    got = helpers._checkpointed(segment, segment_vjp, range(9), (0.0,), ([5.0, 6.0],),
                                (1.0,), wrt=(0, 1), states=2)
    assert got == (1.0, [3.0, 3.0])  # three segments of three


def test_schedule_with_no_iterations_returns_the_seed_and_zeros():
    segment, segment_vjp, log = _instrumented(0)
    seed = np.ones(3)
    got = helpers._checkpointed(segment, segment_vjp, range(0), (_State(0.0),),
                                (np.zeros((2, 2)),), (seed,), wrt=(0, 1))
    assert got[0] is seed and np.array_equal(got[1], np.zeros((2, 2)))
    assert log == {"advanced": 0, "reversed": []}
    alone = helpers._checkpointed(segment, segment_vjp, range(0), (_State(0.0),), (1.0,),
                                  (seed,), wrt=(0,))
    assert alone is seed


# ------------------------------------------------------------------ memory, not time

def _peak(f, args):
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        f(*args)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_peak_memory_is_a_small_part_of_the_tape():
    """20,000 iterations: the tape holds 20,000 numbers; checkpointing keeps ~30 states and
    one segment's tape of 142 (memory is deterministic; nothing here is timed)."""
    args = (0.5, 0.5, 20_000)
    taped = s2sad.grad(C.scalar_loop_plain, wrt=(0, 1))
    checkpointed = s2sad.grad(C.scalar_loop_plain, wrt=(0, 1), checkpoint=True)
    assert checkpointed(*args) == pytest.approx(taped(*args), rel=1e-12)
    assert _peak(checkpointed, args) * 30 < _peak(taped, args)


# ------------------------------------------------------------------ CLI and benchmark

def _cli(*argv, cwd):
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "s2sad", *argv], capture_output=True,
                          text=True, cwd=cwd, env=env)


def test_cli_checkpoint_option(tmp_path):
    path = tmp_path / "loop.py"
    path.write_text("import math\n\n\ndef f(a, y, n):\n    for i in range(n):\n"
                    "        a = a * y + math.sin(a)\n    return a\n")
    plain = _cli("grad", "loop.py:f", cwd=tmp_path)
    assert plain.returncode == 0 and "_checkpointed" not in plain.stdout
    for spec in ("all", "all=3", "5", "5=2"):
        result = _cli("grad", "loop.py:f", "--wrt", "a,y", "--checkpoint", spec, "-o",
                      "out.py", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        text = (tmp_path / "out.py").read_text()
        assert "_checkpointed(" in text and f"--checkpoint {spec}" in text
        assert _cli("check", "out.py", cwd=tmp_path).returncode == 0
        namespace: dict = {}
        exec(compile(text, "out.py", "exec"), namespace)  # noqa: S102 - our own output
        expected = s2sad.grad(C.scalar_loop_plain, wrt=(0, 1))(0.3, 0.8, 12)
        assert namespace["grad_f"](0.3, 0.8, 12) == pytest.approx(expected, rel=1e-12)
    for spec in ("x", "5=0", "all=x"):
        assert _cli("grad", "loop.py:f", "--checkpoint", spec, cwd=tmp_path).returncode == 2
    missing = _cli("grad", "loop.py:f", "--checkpoint", "2", cwd=tmp_path)
    assert missing.returncode == 1 and "loop.py:4:0" in missing.stderr
    assert _cli("show", "loop.py:f", "--checkpoint", "all", cwd=tmp_path).returncode == 0


def test_benchmark_runs_on_a_short_loop(tmp_path, capsys):
    import json

    from benchmarks import checkpoint as bench

    out = tmp_path / "checkpoint.json"
    assert bench.main(["--n", "400", "--repeat", "1", "--states", "default,3",
                       "--json", str(out)]) == 0
    assert "checkpoint default" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    for rows in doc["results"].values():
        assert rows["tape"]["max_abs_difference"] == 0.0
        for label in ("checkpoint default", "checkpoint 3"):
            assert rows[label]["max_abs_difference"] < 1e-12
            assert rows[label]["peak_bytes"] < rows["tape"]["peak_bytes"]
