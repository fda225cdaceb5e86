"""Derivative modules written by the CLI (DESIGN.md §5, §6, §7).

``s2sad grad|value_and_grad|jvp|vjp|hvp|hessian|jacobian FILE.py:FUNC -o OUT.py`` writes a
module that runs with s2sad not importable (``tests/isolated.py`` runs it so), whose values
match independent oracles (central differences, closed forms), whose header names where it
came from, and which ``s2sad check`` finds fresh or stale. Output is atomic: a failing
command leaves no file and no temporary file behind. ``--print-ir-after`` and ``show
--color`` without pygments are here too.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from s2sad import cli, module

from .isolated import run_module
from .oracles import array_close, array_gradient, central_difference, close, fd_tolerance

REPO = Path(__file__).resolve().parent.parent

MODEL = """\
import math
import math as m

import numpy as np

K = 3.0
SCALE = 2
BIG = 1e999


def f(x, y):
    a = K * m.sin(x) * y
    return a + math.exp(-y) * SCALE


def q(x):
    return np.sum(x ** 3) * K


def quad(x, A):
    return x @ A @ x


def lin(A, x):
    return np.tanh(A @ x)


def capped(x):
    return min(x * m.pi, BIG)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory holding model.py and an empty out/ for the modules."""
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "out").mkdir()
    return tmp_path


@pytest.fixture
def s2sad(capsys, monkeypatch, project):
    """``s2sad(*argv)`` -> (exit code, stdout, stderr), in-process, run from ``project``."""
    monkeypatch.chdir(project)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def model():
    spec = importlib.util.spec_from_file_location("standalone_model", Path.cwd() / "model.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)  # the test imports the user's file; the CLI never does
    return loaded


def listing(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "out").iterdir())


# --------------------------------------------------------------------------------------
# Each kind: written, run without s2sad, checked against an oracle


def test_grad_module_runs_without_s2sad(s2sad, project) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/grad_f.py")[0] == 0
    points = [(0.7, 1.3), (-2.0, 0.25)]
    run = run_module(project / "out" / "grad_f.py", [("grad_f", p) for p in points], project)
    f = model().f
    for point, gradient in zip(points, run["results"]):
        for i in range(2):
            expected = central_difference(f, point, i)
            assert close(gradient[i], expected, fd_tolerance(expected)), (point, i)
    assert "numpy" not in run["loaded"], "a module of math code imported NumPy"


def test_value_and_grad_and_vjp_modules(s2sad, project) -> None:
    assert s2sad("value_and_grad", "model.py:f", "--wrt", "y", "-o", "out/vg.py")[0] == 0
    assert s2sad("vjp", "model.py:f", "--wrt", "x", "-o", "out/vjp.py")[0] == 0
    f = model().f
    value, dy = run_module(project / "out" / "vg.py", [("value_and_grad_f", [0.7, 1.3])],
                           project)["results"][0]
    assert close(value, f(0.7, 1.3), 1e-12)
    expected = central_difference(f, (0.7, 1.3), 1)
    assert close(dy, expected, fd_tolerance(expected))
    [dx] = run_module(project / "out" / "vjp.py", [("vjp_f", [0.7, 1.3, 2.0])],
                      project)["results"]
    expected = 2.0 * central_difference(f, (0.7, 1.3), 0)
    assert close(dx, expected, fd_tolerance(expected))


def test_jvp_module(s2sad, project) -> None:
    assert s2sad("jvp", "model.py:f", "-o", "out/jvp_f.py")[0] == 0
    f = model().f
    [(value, tangent)] = run_module(project / "out" / "jvp_f.py",
                                    [("jvp_f", [0.7, 1.3, 0.5, -2.0])], project)["results"]
    h = 1e-6
    expected = (f(0.7 + 0.5 * h, 1.3 - 2.0 * h) - f(0.7 - 0.5 * h, 1.3 + 2.0 * h)) / (2 * h)
    assert close(value, f(0.7, 1.3), 1e-12)
    assert close(tangent, expected, fd_tolerance(expected))


def test_hvp_and_hessian_modules(s2sad, project) -> None:
    assert s2sad("hvp", "model.py:q", "-o", "out/hvp_q.py")[0] == 0
    assert s2sad("hessian", "model.py:quad", "--wrt", "x", "-o", "out/hessian_quad.py")[0] == 0
    x, v = [0.5, -1.0, 2.0], [1.0, 2.0, -0.5]
    [product] = run_module(project / "out" / "hvp_q.py", [("hvp_q", [x, v])],
                           project)["results"]
    assert np.allclose(product, 6 * 3.0 * np.array(x) * np.array(v))  # H = diag(6 K x)
    A = [[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [0.0, 4.0, 2.0]]
    [hessian] = run_module(project / "out" / "hessian_quad.py", [("hessian_quad", [x, A])],
                           project)["results"]
    assert np.allclose(hessian, np.array(A) + np.array(A).T)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_module_in_each_mode(s2sad, project, mode) -> None:
    out = f"out/jacobian_{mode}.py"
    assert s2sad("jacobian", "model.py:lin", "--wrt", "x", "--mode", mode, "-o", out)[0] == 0
    A = np.array([[1.0, 2.0, 0.5], [-0.3, 0.2, 1.0]])
    x = np.array([0.1, -0.4, 0.3])
    [jacobian] = run_module(project / out, [("jacobian_lin", [A.tolist(), x.tolist()])],
                            project)["results"]
    expected = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    assert np.allclose(jacobian, expected)
    text = (project / out).read_text()
    assert ("def jvp_lin(" in text) == (mode != "reverse")
    assert ("def vjp_lin(" in text) == (mode != "forward")


def test_array_gradient_module(s2sad, project) -> None:
    assert s2sad("grad", "model.py:quad", "--wrt", "A", "-o", "out/grad_quad.py")[0] == 0
    x = np.array([0.5, -1.0])
    A = np.array([[1.0, 2.0], [0.5, -1.0]])
    [gradient] = run_module(project / "out" / "grad_quad.py",
                            [("grad_quad", [x.tolist(), A.tolist()])], project)["results"]
    assert array_close(gradient, array_gradient(model().quad, [x, A], 1))


CALLS = """\
import math

C = 2.0


def helper(t):
    return t * C + math.sin(t)


def f(x, y):
    return helper(x) * y + helper(y)
"""


@pytest.mark.parametrize("kind", ["grad", "jvp"])
def test_functions_the_target_calls_go_into_the_module(s2sad, project, kind) -> None:
    (project / "calls.py").write_text(CALLS)
    assert s2sad(kind, "calls.py:f", "-o", "out/d.py")[0] == 0
    text = (project / "out" / "d.py").read_text()
    callee = {"grad": "vjp_helper", "jvp": "jvp_helper"}[kind]  # the callee's derivative
    assert f"def {callee}(t, " in text
    spec = importlib.util.spec_from_file_location("standalone_calls", project / "calls.py")
    calls = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(calls)
    point = (0.7, -1.2)
    args = [*point, 1.0, 0.0] if kind == "jvp" else list(point)
    [result] = run_module(project / "out" / "d.py", [(f"{kind}_f", args)], project)["results"]
    derivative = result[1] if kind == "jvp" else result[0]
    expected = central_difference(calls.f, point, 0)
    assert close(derivative, expected, fd_tolerance(expected))
    # the callee is part of what the module was made from: changing it makes it stale
    (project / "calls.py").write_text(CALLS.replace("math.sin(t)", "math.cos(t)"))
    code, _, err = s2sad("check", "out/d.py")
    assert code == 1 and "generates different code" in err and "math.cos(t)" in err


# --------------------------------------------------------------------------------------
# What a module contains


def test_module_imports_and_constants(s2sad, project) -> None:
    code, out, err = s2sad("grad", "model.py:f")
    assert code == 0, err
    body = out[out.index("\n\n") + 2:]  # after the header
    imports, constants, code = body.split("\n\n", 2)
    assert code.startswith("\ndef grad_f(")  # two blank lines before it
    assert imports.splitlines() == ["import math"]  # m.sin is math.sin: one name for it
    assert constants.splitlines() == ["K = 3.0", "SCALE = 2"]
    assert "numpy" not in out and "s2sad" not in body


def test_non_finite_constant(s2sad, project) -> None:
    assert s2sad("grad", "model.py:capped", "-o", "out/grad_capped.py")[0] == 0
    text = (project / "out" / "grad_capped.py").read_text()
    assert 'BIG = float("inf")' in text.splitlines()
    assert "import math as m" in text.splitlines()  # the code reads m.pi
    [gradient] = run_module(project / "out" / "grad_capped.py", [("grad_capped", [2.0])],
                            project)["results"]
    assert close(gradient, math.pi, 1e-12)


def test_header_names_source_function_kind_options_and_hash(s2sad, project) -> None:
    assert s2sad("jacobian", "model.py:lin", "--wrt", "x", "--mode", "reverse",
                 "-o", "out/jac.py")[0] == 0
    header = (project / "out" / "jac.py").read_text().split("\n\n")[0].splitlines()
    lines = MODEL.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith("def lin")) + 1
    digest = hashlib.sha256("".join(lines[first - 1:first + 1]).encode()).hexdigest()
    assert header == [
        "# Generated by s2sad from ../model.py: do not edit.",
        "# jacobian_lin: the Jacobian of lin with respect to x (by rows, reverse mode).",
        f"# Source: ../model.py (paths are relative to this file), function lin, lines "
        f"{first}-{first + 1}.",
        f"# sha256 of the function's source: {digest}",
        "# command: s2sad jacobian ../model.py:lin --wrt x --mode reverse",
        "# `s2sad check` on this file exits 1 when it is stale against the source.",
    ]
    assert all(len(line) <= 100 for line in header)


def test_header_without_wrt_records_the_default(s2sad, project) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    text = (project / "out" / "g.py").read_text()
    assert "with respect to x, y (reverse mode)" in text
    assert "# command: s2sad grad ../model.py:f\n" in text


def test_same_bytes_from_any_directory_and_path_spelling(s2sad, project, monkeypatch) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/a.py")[0] == 0
    monkeypatch.chdir(REPO)
    assert s2sad("grad", f"{project}/model.py:f", "-o", f"{project}/out/b.py")[0] == 0
    monkeypatch.chdir(project / "out")
    assert s2sad("grad", "../model.py:f", "-o", "c.py")[0] == 0
    texts = {(project / "out" / name).read_text() for name in ("a.py", "b.py", "c.py")}
    assert len(texts) == 1


def test_stdout_is_the_module_written_next_to_the_source(s2sad, project) -> None:
    code, out, _ = s2sad("grad", "model.py:f")
    assert code == 0
    assert s2sad("grad", "model.py:f", "-o", "grad_f.py")[0] == 0
    assert (project / "grad_f.py").read_text() == out


def test_new_file_gets_the_usual_permissions(s2sad, project) -> None:
    old = os.umask(0o022)
    try:
        assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((project / "out" / "g.py").stat().st_mode) == 0o644


# --------------------------------------------------------------------------------------
# check


def test_check_fresh_module(s2sad, project) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    code, out, err = s2sad("check", "out/g.py")
    assert (code, err) == (0, "")
    assert out == "out/g.py: up to date with model.py:f\n"


def test_check_after_the_function_changes(s2sad, project) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    source = project / "model.py"
    source.write_text(MODEL.replace("* SCALE", "* SCALE * 2.0"))
    code, out, err = s2sad("check", "out/g.py")
    assert code == 1 and out == ""
    assert err.startswith("out/g.py: stale: the source of `f` in model.py has changed"), err
    assert "s2sad grad model.py:f -o out/g.py" in err
    assert "+    " in err and "* 2.0" in err  # the diff shows the new code


def test_check_after_a_comment_in_the_function_changes(s2sad, project) -> None:
    """The code is the same but the source is not: stale (regenerating updates the hash)."""
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    (project / "model.py").write_text(MODEL.replace("def f(x, y):", "def f(x, y):  # note"))
    code, _, err = s2sad("check", "out/g.py")
    assert code == 1 and "has changed since it was written" in err
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    assert s2sad("check", "out/g.py")[0] == 0


def test_check_ignores_other_functions(s2sad, project) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    (project / "model.py").write_text(MODEL.replace("np.tanh", "np.sinh") + "\n# the end\n")
    assert s2sad("check", "out/g.py")[0] == 0


def test_check_after_a_constant_changes(s2sad, project) -> None:
    """The function's text is the same; the derivative is not."""
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    (project / "model.py").write_text(MODEL.replace("K = 3.0", "K = 4.0"))
    code, _, err = s2sad("check", "out/g.py")
    assert code == 1
    assert "stale: s2sad now generates different code from model.py:f" in err
    assert "-K = 3.0" in err and "+K = 4.0" in err


def test_check_after_a_hand_edit(s2sad, project) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    out = project / "out" / "g.py"
    out.write_text(out.read_text().replace("dfdf = 1.0", "dfdf = 2.0"))
    code, _, err = s2sad("check", "out/g.py")
    assert code == 1 and "generates different code" in err


@pytest.mark.parametrize("change", ["remove-file", "remove-function", "break-function"])
def test_check_when_the_source_is_gone_or_broken(s2sad, project, change) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    source = project / "model.py"
    if change == "remove-file":
        source.unlink()
    elif change == "remove-function":
        source.write_text(MODEL.replace("def f(x, y):", "def g(x, y):"))
    else:
        broken = "    with open('x'):\n        pass\n    a = K"
        source.write_text(MODEL.replace("    a = K", broken))
    code, out, err = s2sad("check", "out/g.py")
    assert code == 1 and out == ""
    assert err.startswith("out/g.py: stale: it cannot be made again from model.py"), err
    assert "Traceback" not in err


def test_check_survives_moving_the_project(s2sad, project, monkeypatch, tmp_path) -> None:
    assert s2sad("hessian", "model.py:q", "-o", "out/h.py")[0] == 0
    moved = tmp_path.parent / (tmp_path.name + "-moved")
    shutil.copytree(project, moved)
    monkeypatch.chdir(moved / "out")
    try:
        code, out, _ = s2sad("check", "h.py")
        assert code == 0, out
    finally:
        shutil.rmtree(moved)


def test_check_several_modules_reports_the_worst(s2sad, project) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    assert s2sad("jvp", "model.py:q", "-o", "out/j.py")[0] == 0
    assert s2sad("check", "out/g.py", "out/j.py")[0] == 0
    (project / "model.py").write_text(MODEL.replace("x ** 3", "x ** 4"))
    code, out, err = s2sad("check", "out/g.py", "out/j.py")
    assert code == 1
    assert "out/g.py: up to date" in out and "out/j.py: stale" in err
    (project / "out" / "plain.py").write_text("x = 1\n")
    assert s2sad("check", "out/g.py", "out/plain.py", "out/j.py")[0] == 2


@pytest.mark.parametrize("content", [None, "x = 1\n", "# command: s2sad frobnicate a.py:f\n"])
def test_check_of_a_file_s2sad_did_not_write(s2sad, project, content) -> None:
    path = project / "out" / "other.py"
    if content is not None:
        path.write_text(content)
    code, out, err = s2sad("check", "out/other.py")
    assert code == 2 and out == ""
    assert err.startswith("s2sad check: out/other.py: "), err


# --------------------------------------------------------------------------------------
# Atomic output and usage errors


def test_failing_compile_leaves_no_file(s2sad, project) -> None:
    (project / "bad.py").write_text("def f(x):\n    try:\n        return x\n    finally:\n"
                                    "        pass\n")
    code, out, err = s2sad("grad", "bad.py:f", "-o", "out/g.py")
    assert code == 1 and out == ""
    assert err.startswith("bad.py:2:4: error: `try`"), err
    assert listing(project) == []


def test_failing_compile_keeps_the_old_module(s2sad, project) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    before = (project / "out" / "g.py").read_bytes()
    (project / "model.py").write_text(MODEL.replace("a + math.exp", "a + undefined_name"))
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 1
    assert (project / "out" / "g.py").read_bytes() == before
    assert listing(project) == ["g.py"]


def test_failed_write_leaves_no_temporary_file(s2sad, project, monkeypatch) -> None:
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    before = (project / "out" / "g.py").read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(module.os, "replace", refuse)
    code, _, err = s2sad("jvp", "model.py:f", "-o", "out/g.py")
    assert code == 2 and "cannot write out/g.py: Permission denied" in err
    assert listing(project) == ["g.py"]
    assert (project / "out" / "g.py").read_bytes() == before


@pytest.mark.parametrize(("output", "words"), [
    ("nowhere/g.py", ["no such directory", "nowhere"]),
    ("out", ["is a directory"]),
    ("model.py", ["is the source file itself"]),
    ("./model.py", ["is the source file itself"]),
    ("mine.py", ["exists and was not written by s2sad"]),
])
def test_output_usage_errors(s2sad, project, output, words) -> None:
    (project / "mine.py").write_text("important = True\n")
    before = {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()}
    code, out, err = s2sad("grad", "model.py:f", "-o", output)
    assert code == 2 and out == "" and "usage:" in err, err
    for word in words:
        assert word in err
    assert {p.name: p.read_bytes() for p in project.iterdir() if p.is_file()} == before
    assert listing(project) == []


def test_overwrites_a_module_it_wrote_and_an_empty_file(s2sad, project) -> None:
    (project / "out" / "g.py").write_text("")
    assert s2sad("grad", "model.py:f", "-o", "out/g.py")[0] == 0
    assert s2sad("jvp", "model.py:f", "-o", "out/g.py")[0] == 0
    assert "def jvp_f(" in (project / "out" / "g.py").read_text()


@pytest.mark.parametrize("argv", [
    ["grad", "missing.py:f"], ["grad", "model.py:nope"], ["grad", "model.py:f", "--wrt", "z"],
    ["jacobian", "model.py:lin", "--mode", "sideways"], ["hvp", "model.py"],
])
def test_derivative_commands_usage_errors(s2sad, project, argv) -> None:
    code, out, err = s2sad(*argv, "-o", "out/g.py")
    assert code == 2 and out == "" and "usage:" in err and "Traceback" not in err
    assert listing(project) == []


# --------------------------------------------------------------------------------------
# The user's file is never run; every entry point writes the same file


def test_derivative_commands_never_run_the_file(s2sad, project) -> None:
    marker = project / "ran.txt"
    (project / "model.py").write_text(
        MODEL.replace("K = 3.0", f"K = 3.0\nopen({str(marker)!r}, 'w').write('ran')\n"
                      "raise SystemExit(7)"))
    for kind in ["grad", "jvp", "vjp", "hvp", "hessian", "jacobian"]:
        assert s2sad(kind, "model.py:q", "-o", f"out/{kind}.py")[0] == 0
    assert s2sad("check", *(f"out/{k}.py" for k in ["grad", "jvp", "hessian"]))[0] == 0
    assert not marker.exists()


@pytest.mark.parametrize("entry", [["-m", "s2sad"], [str(REPO / "cli.py")]])
def test_entry_points_write_and_check(project, entry) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(*argv):
        return subprocess.run([sys.executable, *entry, *argv], cwd=project, env=env,
                              capture_output=True, text=True, timeout=120)

    written = run("grad", "model.py:f", "--wrt", "x,y", "-o", "out/g.py")
    assert written.returncode == 0, written.stderr
    assert written.stdout == written.stderr == ""
    fresh = run("check", "out/g.py")
    assert (fresh.returncode, fresh.stdout) == (0, "out/g.py: up to date with model.py:f\n")
    (project / "model.py").write_text(MODEL.replace("K * m.sin", "K * m.cos"))
    stale = run("check", "out/g.py")
    assert stale.returncode == 1 and "stale" in stale.stderr


# --------------------------------------------------------------------------------------
# --print-ir-after


def test_print_ir_after_frontend_is_the_wengert_list(s2sad, project) -> None:
    _, ir_text, _ = s2sad("ir", "model.py:f")
    code, out, err = s2sad("grad", "model.py:f", "--print-ir-after", "frontend")
    plain = s2sad("grad", "model.py:f")[1]
    assert code == 0 and out == plain  # the module on stdout, the IR on stderr
    assert err == f"# IR after frontend: f\n{ir_text}\n"


def test_print_ir_after_every_step(s2sad, project) -> None:
    code, _, err = s2sad("grad", "model.py:f", "--print-ir-after", "all")
    assert code == 0
    steps = re.findall(r"^# IR after (\w+): (\w+)$", err, re.M)
    assert steps == [("frontend", "f"), ("cleanup", "f"), ("reverse", "grad_f"),
                     ("cleanup", "grad_f")]
    code, _, err = s2sad("show", "model.py:f", "--mode", "forward", "--print-ir-after", "all")
    assert re.findall(r"^# IR after (\w+)", err, re.M) == ["frontend", "cleanup", "forward",
                                                           "cleanup"]


@pytest.mark.parametrize(("argv", "expected"), [
    (["hvp", "model.py:q"], [("reverse", "grad_q"), ("forward", "jvp_grad_q")]),
    (["jacobian", "model.py:lin", "--wrt", "x"], [("forward", "jvp_lin"),
                                                  ("reverse", "vjp_lin")]),
])
def test_print_ir_after_one_step(s2sad, project, argv, expected) -> None:
    step = expected[0][0]
    code, _, err = s2sad(*argv, "--print-ir-after", step)
    assert code == 0
    steps = re.findall(r"^# IR after (\w+): (\w+)$", err, re.M)
    assert steps == [s for s in expected if s[0] == step]
    assert re.search(r"^def \w+\(", err, re.M)


def test_print_ir_after_unknown_step(s2sad, project) -> None:
    code, _, err = s2sad("grad", "model.py:f", "--print-ir-after", "emit")
    assert code == 2 and "invalid choice: 'emit'" in err


# --------------------------------------------------------------------------------------
# show --color without pygments


def test_color_always_without_pygments_prints_plain_text(s2sad, project, monkeypatch) -> None:
    plain = s2sad("show", "model.py:f", "--color", "never")
    monkeypatch.setitem(sys.modules, "pygments", None)  # `import pygments` fails
    colored = s2sad("show", "model.py:f", "--color", "always")
    assert colored == plain
    assert "\x1b[" not in colored[1]
    assert colored[1] == textwrap.dedent(colored[1]) and colored[1].startswith("def grad_f(")
