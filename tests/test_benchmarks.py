"""Smoke test of the benchmark runner: a tiny run produces every JSON key. No timing asserts."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

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
