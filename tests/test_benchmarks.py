"""Smoke tests of the benchmark runner: tiny runs of every workload produce every JSON key;
the hand-written gradients the benchmark divides by are checked against central differences,
s2sad's against them, the peers' spellings against the primal. No timing asserts."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import s2sad
from benchmarks import gmm as gmm_module
from benchmarks import run
from benchmarks import workloads as W

from .oracles import array_close, array_gradient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_quick_run_writes_the_json_document(tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--no-peers", "--n", "10",
         "--repeat", "2", "--min-time", "0.001", "--compile-repeat", "1", "--show-source",
         "--json", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "def grad_scalar_loop(" in result.stdout
    assert "s2sad grad / primal median" in result.stdout

    doc = json.loads(out.read_text())
    assert {"benchmark", "meta", "workload", "timing", "cases", "compile", "checks",
            "skipped", "target", "generated_source"} <= doc.keys()
    assert doc["workload"]["n"] == 10
    assert {"primal", "s2sad_grad", "hand_grad", "s2sad_jvp", "hand_jvp",
            "finite_differences"} <= doc["cases"].keys()
    for case in doc["cases"].values():
        for stats in ("seconds_per_call", "ratio_to_primal"):
            assert {"median", "min", "max", "q1", "q3", "n"} <= case[stats].keys()
            assert case[stats]["n"] == 2
    assert doc["cases"]["hand_grad"]["versus"] == "s2sad_grad"
    assert {"s2sad_grad", "s2sad_jvp", "s2sad_first_grad"} <= doc["compile"].keys()
    assert doc["checks"]["s2sad"]["passed"] is True
    assert doc["checks"]["finite_differences"]["ok"] is True
    assert set(doc["skipped"]) == {"autograd", "torch", "jax"}
    assert {"metric", "limit", "measured", "met"} <= doc["target"].keys()
    assert doc["meta"]["thread_env"]["OMP_NUM_THREADS"] == "1"
    assert doc["issue_7_targets"]["scalar_loop_over_primal"]["rows"][0]["workload"] \
        == "scalar_loop"


# ---------------------------------------------------------------- the other workloads

HAND_GRADS = [(work, hand) for work in W.WORKLOADS.values() for hand in work.hand]


def relative_error(got, want) -> float:
    return run.array_error(got, want)


@pytest.mark.parametrize("work, hand", HAND_GRADS,
                         ids=[f"{work.key}-{hand.key}" for work, hand in HAND_GRADS])
def test_hand_written_gradients_against_finite_differences(work, hand):
    # The references the benchmark divides by must be right: every entry, tiny sizes.
    args = work.problem(**work.check_sizes)
    grads = hand.fn(*args)
    assert len(grads) == len(work.wrt)
    for i, got in zip(work.wrt, grads):
        assert np.shape(got) == np.shape(args[i])
        want = array_gradient(work.function, args, i)
        assert array_close(got, want)
        assert relative_error([got], [want]) <= 1e-6   # small gradients too (ba's are ~1e-3)


# s2sad cannot differentiate these workloads as written (the run records why and times the
# workload's alternative spelling); when one starts to work, drop it from here.
NATURAL_FAILS: dict = {}  # workloads s2sad cannot differentiate as written (gmm was, by
# math.lgamma, until lgamma got a rule)


@pytest.mark.parametrize("key", sorted(W.WORKLOADS))
def test_s2sad_gradient_of_the_workload_as_written(key, request):
    work = W.WORKLOADS[key]
    if key in NATURAL_FAILS:
        request.applymarker(pytest.mark.xfail(raises=NATURAL_FAILS[key], strict=False,
                                              reason="recorded in the run's failures"))
    args = work.problem(**work.quick_sizes)
    ours = s2sad.grad(work.function, wrt=work.wrt)(*args)
    for hand in work.hand:
        assert relative_error(ours, hand.fn(*args)) <= 1e-12


@pytest.mark.parametrize("key", sorted(k for k, w in W.WORKLOADS.items() if w.s2sad_alternative))
def test_alternative_spellings_have_the_same_value_and_gradient(key):
    work = W.WORKLOADS[key]
    alt = work.s2sad_alternative
    args = work.problem(**work.check_sizes)
    assert alt.function(*alt.args(args)) == pytest.approx(work.function(*args), rel=1e-14)
    ours = s2sad.grad(alt.function, wrt=work.wrt)(*alt.args(args))
    assert relative_error(ours, work.hand[0].fn(*args)) <= 1e-12


def test_the_run_records_a_failure_and_times_the_alternative():
    choice = run.choose_s2sad(W.WORKLOADS["gmm"], W.WORKLOADS["gmm"].quick_sizes)
    if not choice.failures:
        pytest.skip("s2sad now differentiates gmm_objective as written")
    [failure] = choice.failures
    assert failure["spelling"] == "natural" and failure["stage"] == "compile"
    assert failure["error_type"] == "NoDerivativeRule" and "math.lgamma" in failure["error"]
    assert choice.function is gmm_module.gmm_objective_given
    assert choice.check["passed"] is True


def test_peer_spellings_are_the_same_function():
    # autograd and JAX run *_with(their numpy) (JAX: jax_with if given); with NumPy itself
    # it must be the primal.
    for work in W.WORKLOADS.values():
        args = work.problem(**work.quick_sizes)
        want = work.function(*args)
        assert work.with_numpy(np)(*args) == pytest.approx(want, rel=1e-13)
        if work.jax_with is not None:
            assert work.jax_with(np)(*args) == pytest.approx(want, rel=1e-13)


def test_bundle_adjustment_data_take_every_branch():
    from benchmarks import bundle

    work = W.WORKLOADS["ba"]
    for sizes in (work.check_sizes, work.quick_sizes, work.sizes):
        cams, X, feats, cam_index, point_index, delta = bundle.problem(**sizes)
        sq = bundle.residuals(cams, X, feats, cam_index, point_index)
        assert 0 < np.sum(sq <= delta ** 2) < len(sq)        # both sides of Huber's branch
        rotation = np.sum(cams[cam_index, 0:3] ** 2, axis=1)
        assert np.any(rotation == 0.0) and np.any(rotation != 0.0)   # both of Rodrigues'


def test_central_differences_of_numbers_and_arrays():
    got = W.central_differences_of(W.L, (2.0, 3.0), (0, 1))
    assert got == pytest.approx(W.hand_grad_L(2.0, 3.0), rel=1e-8)
    (x,) = W.rosenbrock_problem(5)
    [got] = W.central_differences_of(W.rosenbrock, (x,), (0,))
    assert relative_error([got], [W.hand_grad_rosenbrock(x)]) <= 1e-8


def test_quick_run_of_every_workload_writes_one_document_each(tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--workload", "all", "--quick", "--no-peers",
         "--repeat", "2", "--min-time", "0.001", "--compile-repeat", "1", "--profile-lines",
         "--size", "lstm.steps=3", "--json", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "s2sad grad / hand-written" in result.stdout
    assert "s2sad grad of mlp_loss, per statement" in result.stdout
    assert "s2sad grad of gmm_objective, per statement" in result.stdout
    assert "(sum of the statements)" in result.stdout
    assert "issue 7's targets (part 4)" in result.stdout

    document = json.loads(out.read_text())
    runs = document["runs"]
    assert set(runs) == {"scalar_loop", *W.WORKLOADS}
    assert set(document["issue_7_targets"]) == {
        "scalar_loop_over_primal", "array_over_hand", "scalar_loop_versus_autograd",
        "code_generation", "first_gradient"}
    for key, doc in runs.items():
        if key == "scalar_loop":
            continue
        work = W.WORKLOADS[key]
        sizes = dict(work.quick_sizes, **({"steps": 3} if key == "lstm" else {}))
        assert doc["benchmark"] == f"workload_{key}"
        assert doc["workload"]["sizes"] == json.loads(json.dumps(sizes))
        assert doc["workload"]["kind"] == work.kind
        assert doc["workload"]["lines"] > 0
        assert {"primal", "s2sad_grad"} | {h.key for h in work.hand} <= doc["cases"].keys()
        for case in doc["cases"].values():
            for stats in ("seconds_per_call", "ratio_to_primal", "minor_faults_per_call"):
                assert {"median", "min", "max", "q1", "q3", "n"} <= case[stats].keys()
                assert case[stats]["n"] == 2
        assert all(case["peak_bytes_per_call"] >= 0 for case in doc["cases"].values())
        for hand in work.hand:
            assert doc["cases"][hand.key]["versus"] == "s2sad_grad"
            assert doc["cases"][hand.key]["versus_over_this"]["n"] == 2
        assert {"s2sad_grad", "s2sad_first_grad"} <= doc["compile"].keys()
        assert doc["checks"]["s2sad"]["passed"] is True
        assert doc["checks"]["finite_differences"]["ok"] is True
        fd_timed = "finite_differences" in doc["cases"]
        assert fd_timed == (doc["workload"]["parameters"] <= run.FD_MAX_PARAMETERS)
        assert fd_timed != ("finite_differences" in doc["skipped"])
        assert {"autograd", "torch", "jax"} <= set(doc["skipped"])
        assert doc["target"] is None
        timed = doc["workload"]["s2sad_spelling"] or doc["workload"]
        assert f"def grad_{timed['function']}(" in doc["generated_source"]["grad"]
        assert (doc["workload"]["s2sad_spelling"] is None) == (not doc["failures"])
    assert [f["function"] for f in runs["gmm"]["failures"]] in ([], ["gmm_objective"])


def test_line_times_cover_every_statement_of_the_generated_gradient():
    from benchmarks.lines import line_times

    grad = s2sad.grad(W.mds_loss)
    rows = line_times(grad, W.mds_problem(8, 2), number=2, repeat=2)
    statements = [line for line in s2sad.source(grad).split("def grad_mds_loss")[1]
                  .splitlines()[1:] if line.strip() and not line.strip().startswith("#")]
    assert [row["line"] for row in rows] == [line.strip() for line in statements]
    assert all(row["seconds"] >= 0 and row["faults"] >= 0 for row in rows)
    assert all(row["depth"] == 0 and row["count"] == 1 for row in rows)


def test_line_times_go_inside_loops_and_branches():
    from benchmarks import bundle
    from benchmarks.lines import format_line_times, line_times

    grad = s2sad.grad(bundle.ba_objective, wrt=(0, 1))
    args = bundle.problem(3, 6, 12)
    rows = line_times(grad, args, number=1, repeat=1)
    inside = [row for row in rows if row["depth"] > 0]
    assert inside and max(row["count"] for row in inside) == 12   # once per observation
    assert {row["count"] for row in rows if row["depth"] >= 2} - {0, 12}   # a branch's share
    text = format_line_times(rows, "title", top=5)
    assert len(text.splitlines()) == 1 + 1 + 5 + 1


def test_benchmark_modules_doctests():
    import doctest

    from benchmarks import bundle, gmm, lines, lstm

    for module in (W, bundle, gmm, lstm, lines):
        failed, _ = doctest.testmod(module)
        assert failed == 0, module.__name__


def test_slow_cases_are_timed_in_fewer_rounds_and_paired_by_round():
    import time

    calls = []

    def slow_first_call():  # like JAX without jit: compiles its operations on first use
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.02)

    cases = [run.Case("fast", "fast", lambda: None, ()),
             run.Case("slow", "slow", lambda: time.sleep(0.005), ()),
             run.Case("first", "slow first call", slow_first_call, ())]
    timed = run.time_cases(cases, repeat=4, min_time=0.001, slow_seconds=0.003,
                           slow_repeat=2)
    assert timed["slow"]["slow"] and timed["slow"]["rounds"] == [0, 1]
    assert not timed["fast"]["slow"] and timed["fast"]["rounds"] == [0, 1, 2, 3]
    assert not timed["first"]["slow"]
    assert len(run.paired(timed["slow"], timed["fast"])) == 2
