"""examples/: every script runs and prints its result; every generated module is in sync.

Each script runs as a subprocess, as a user runs it (``python examples/NAME.py``), from an
empty directory, and must exit 0 and print the lines that show its point. The modules in
``examples/generated/`` were written by the CLI; each must be what the command in
``GENERATED`` writes today (``s2sad check``; rewrite them with ``pytest --update-golden``
and review the diff), and each must run without s2sad and agree with the derivative the
API compiles in-process.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad import cli, module

from .isolated import run_module

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
GENERATED_DIR = EXAMPLES / "generated"

# script -> text its output must contain
SCRIPTS = {
    "foo.py": ["def grad_foo(x, y):", "grad_foo(2.0, 3.0) = (3.0, 7.0)"],
    "seeds.py": ["dbdx = dbda", "jvp_f(3.0, 1.0) = (14.0, 6.0)", "def grad_L(w1, w2):",
                 "def grad_grad_cube(x):", "f''(2.0) = 60.0"],
    "zero_order.py": ["two-point", "finite differences", "grad L(w) = A w - b: checked"],
    "mds.py": ["recovered 20 points from their distances"],
    "mlp.py": ["trained a 2-32-2 MLP"],
    "least_squares.py": ["central difference", "grid search"],
    "scipy_minimize.py": [],  # checked below: with SciPy or without
    "jacobian_timing.py": ["m outputs", "forward", "reverse"],
    "hutchinson.py": ["Hutchinson, V = 1000"],
}

# file in examples/generated -> the command that writes it (run from the repository root)
GENERATED = {
    "grad_foo.py": ["grad", "examples/seeds.py:foo", "--wrt", "x,y"],
    "jvp_f.py": ["jvp", "examples/seeds.py:f"],
    "grad_L.py": ["grad", "examples/seeds.py:L", "--wrt", "w1,w2"],
    "hessian_cube.py": ["hessian", "examples/seeds.py:cube"],
    "grad_quadratic.py": ["grad", "examples/zero_order.py:quadratic", "--wrt", "w"],
    "grad_stress.py": ["grad", "examples/mds.py:stress", "--wrt", "W"],
    "grad_loss.py": ["grad", "examples/mlp.py:loss", "--wrt", "W1,b1,W2,b2"],
    "value_and_grad_validation_error.py": [
        "value_and_grad", "examples/least_squares.py:validation_error", "--wrt", "log_lam"],
    "grad_rosenbrock.py": ["grad", "examples/scipy_minimize.py:rosenbrock"],
    "jacobian_f.py": ["jacobian", "examples/jacobian_timing.py:f", "--wrt", "x", "--mode", "auto"],
    "hvp_logistic_loss.py": ["hvp", "examples/hutchinson.py:logistic_loss", "--wrt", "w"],
}


def load(name: str):
    """An example script as a module (its ``main`` does not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{Path(name).stem}",
                                                  EXAMPLES / name)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


# --------------------------------------------------------------------------------------
# The scripts


def test_every_script_is_run_here() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SCRIPTS)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_and_prints_its_result(name, tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for text in SCRIPTS[name]:
        assert text in proc.stdout, (text, proc.stdout)
    if name == "scipy_minimize.py":
        expected = "with jac=s2sad.grad(rosenbrock)" if importlib.util.find_spec("scipy") \
            else "SciPy is not installed: skipping"
        assert expected in proc.stdout, proc.stdout
    assert elapsed < 30, f"{name} took {elapsed:.1f} s; examples should take a few seconds"


def test_scipy_example_skips_cleanly_without_scipy(tmp_path) -> None:
    """A ``scipy`` that cannot be imported (a stub raising ImportError) comes first on the
    path: the example says so and exits 0."""
    stub = tmp_path / "stub" / "scipy"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('no scipy here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stub.parent), str(REPO)])}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "scipy_minimize.py")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("SciPy is not installed: skipping")


# --------------------------------------------------------------------------------------
# The generated modules


def test_every_generated_module_is_listed() -> None:
    assert sorted(p.name for p in GENERATED_DIR.iterdir()) == sorted(GENERATED)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_module_is_in_sync(name, request, capsys, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    path = f"examples/generated/{name}"
    if request.config.getoption("--update-golden"):
        assert cli.main([*GENERATED[name], "-o", path]) == 0
    code = cli.main(["check", path])
    assert code == 0, capsys.readouterr().err + "\n(run pytest --update-golden and review)"
    # and it is the module the listed command makes (the header records that command)
    kind, target, *options = GENERATED[name]
    source, _, function = target.rpartition(":")
    recorded = module.recorded_command((REPO / path).read_text())
    assert recorded == [kind, f"../{Path(source).name}:{function}", *options]


def _inputs(rng):
    """For each generated module: (function, arguments, the same derivative via the API)."""
    seeds, mlp, hutchinson = load("seeds.py"), load("mlp.py"), load("hutchinson.py")
    W1, b1 = rng.normal(size=(2, 4)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(4, 2)), rng.normal(size=2)
    X, Y = rng.normal(size=(6, 2)), np.eye(2)[[0, 1, 1, 0, 0, 1]]
    A, b, w = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
    Xs, ys = rng.normal(size=(8, 3)), np.sign(rng.normal(size=8))
    least = load("least_squares.py")
    data = least.data(rng, n_train=6, n_val=5, n_features=3)
    return {
        "grad_foo.py": ("grad_foo", [2.0, 3.0], (3.0, 7.0)),
        "jvp_f.py": ("jvp_f", [3.0, 1.0], (14.0, 6.0)),
        "grad_L.py": ("grad_L", [2.0, 3.0], s2sad.grad(seeds.L, wrt=(0, 1))(2.0, 3.0)),
        "hessian_cube.py": ("hessian_cube", [2.0], 60.0),
        "grad_quadratic.py": ("grad_quadratic", [w, A, b], (A + A.T) / 2 @ w - b),
        "grad_stress.py": ("grad_stress", [X[:4], np.ones((4, 4))],
                           s2sad.grad(load("mds.py").stress)(X[:4], np.ones((4, 4)))),
        "grad_loss.py": ("grad_loss", [W1, b1, W2, b2, X, Y],
                         s2sad.grad(mlp.loss, wrt=(0, 1, 2, 3))(W1, b1, W2, b2, X, Y)),
        "value_and_grad_validation_error.py": (
            "value_and_grad_validation_error", [0.3, *data],
            s2sad.value_and_grad(least.validation_error)(0.3, *data)),
        "grad_rosenbrock.py": ("grad_rosenbrock", [w],
                               s2sad.grad(load("scipy_minimize.py").rosenbrock)(w)),
        "jacobian_f.py": ("jacobian_f", [A, w], A),
        "hvp_logistic_loss.py": ("hvp_logistic_loss", [w, Xs, ys, b],
                                 s2sad.hvp(hutchinson.logistic_loss)(w, Xs, ys, b)),
    }


def _close(actual, expected) -> bool:
    if isinstance(expected, (tuple, list)):
        return len(actual) == len(expected) and all(map(_close, actual, expected))
    return np.allclose(actual, expected, rtol=1e-10, atol=1e-12)


def test_generated_modules_run_without_s2sad(tmp_path) -> None:
    cases = _inputs(np.random.default_rng(0))
    assert sorted(cases) == sorted(GENERATED)
    for name, (function, args, expected) in sorted(cases.items()):
        args = [a.tolist() if isinstance(a, np.ndarray) else a for a in args]
        [result] = run_module(GENERATED_DIR / name, [(function, args)], tmp_path)["results"]
        assert _close(result, expected), (name, result, expected)
