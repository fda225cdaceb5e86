"""Smoke tests of the benchmark runner: tiny runs produce every JSON key; the hand-written
array gradients the benchmark divides by are checked against central differences. No timing
asserts."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import s2sad
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
    assert {"s2sad_grad", "s2sad_jvp"} <= doc["compile"].keys()
    assert doc["checks"]["s2sad"]["passed"] is True
    assert doc["checks"]["finite_differences"]["ok"] is True
    assert set(doc["skipped"]) == {"autograd", "torch", "jax"}
    assert {"metric", "limit", "measured", "met"} <= doc["target"].keys()
    assert doc["meta"]["thread_env"]["OMP_NUM_THREADS"] == "1"


# ---------------------------------------------------------------- the array workloads

HAND_GRADS = [(work, hand) for work in W.ARRAY_WORKLOADS.values() for hand in work.hand]


@pytest.mark.parametrize("work, hand", HAND_GRADS,
                         ids=[f"{work.key}-{hand.key}" for work, hand in HAND_GRADS])
def test_hand_written_array_gradients_against_finite_differences(work, hand):
    # The references the benchmark divides by must be right: every entry, tiny sizes.
    args = work.problem(**work.check_sizes)
    grads = hand.fn(*args)
    assert len(grads) == len(work.wrt)
    for i, got in zip(work.wrt, grads):
        assert np.shape(got) == np.shape(args[i])
        assert array_close(got, array_gradient(work.function, args, i))


@pytest.mark.parametrize("key", sorted(W.ARRAY_WORKLOADS))
def test_s2sad_gradient_equals_the_hand_written_ones(key):
    work = W.ARRAY_WORKLOADS[key]
    args = work.problem(**work.quick_sizes)
    ours = s2sad.grad(work.function, wrt=work.wrt)(*args)
    for hand in work.hand:
        for got, want in zip(ours, hand.fn(*args)):
            assert array_close(got, want, rtol=1e-12, atol=1e-12)


def test_peer_losses_are_the_same_loss():
    # autograd and JAX run *_with(their numpy); with NumPy itself it must be the primal.
    for work in W.ARRAY_WORKLOADS.values():
        args = work.problem(**work.quick_sizes)
        assert work.with_numpy(np)(*args) == pytest.approx(work.function(*args), rel=1e-14)


def test_quick_array_run_writes_one_document_per_workload(tmp_path):
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--workload", "mlp,mds", "--quick", "--no-peers",
         "--repeat", "2", "--min-time", "0.001", "--compile-repeat", "1", "--profile-lines",
         "--json", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "s2sad grad / hand-written" in result.stdout
    assert "s2sad grad of mlp_loss, per statement" in result.stdout
    assert "(sum of the statements)" in result.stdout

    runs = json.loads(out.read_text())["runs"]
    assert set(runs) == {"mlp", "mds"}
    for key, doc in runs.items():
        work = W.ARRAY_WORKLOADS[key]
        assert doc["benchmark"] == f"array_{key}"
        assert doc["workload"]["sizes"] == json.loads(json.dumps(work.quick_sizes))
        assert {"primal", "s2sad_grad"} | {h.key for h in work.hand} <= doc["cases"].keys()
        for case in doc["cases"].values():
            for stats in ("seconds_per_call", "ratio_to_primal", "minor_faults_per_call"):
                assert {"median", "min", "max", "q1", "q3", "n"} <= case[stats].keys()
                assert case[stats]["n"] == 2
        assert all(case["peak_bytes_per_call"] > 0 for case in doc["cases"].values())
        for hand in work.hand:
            assert doc["cases"][hand.key]["versus"] == "s2sad_grad"
            assert doc["cases"][hand.key]["versus_over_this"]["n"] == 2
        assert doc["checks"]["s2sad"]["passed"] is True
        assert doc["checks"]["finite_differences"]["ok"] is True
        assert set(doc["skipped"]) == {"autograd", "torch", "jax"}
        assert doc["target"] is None
        assert f"def grad_{work.function.__name__}(" in doc["generated_source"]["grad"]


def test_line_times_cover_every_statement_of_the_generated_gradient():
    from benchmarks.lines import line_times

    grad = s2sad.grad(W.mds_loss)
    rows = line_times(grad, W.mds_problem(8, 2), number=2, repeat=2)
    statements = [line for line in s2sad.source(grad).split("def grad_mds_loss")[1]
                  .splitlines()[1:] if line.strip() and not line.strip().startswith("#")]
    assert [row["line"] for row in rows] == [line.strip() for line in statements]
    assert all(row["seconds"] >= 0 and row["faults"] >= 0 for row in rows)
