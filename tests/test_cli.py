"""The command line, run the ways a user runs it (DESIGN.md §6, §7).

Every behaviour is checked through each entry point: ``python -m s2sad``, ``python cli.py``
from the repository root, the ``s2sad`` console script (when installed), and
``s2sad.cli.main(argv)`` in-process. Exit codes: 0 on success, 1 for a compile error
(``FILE:LINE:COL: error: ...`` on stderr), 2 for a usage error. The CLI reads files
statically: it never imports or runs the user's module.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from s2sad import cli

from .oracles import close, fd_tolerance
from .test_seeds import DESIGN_LISTING

REPO = Path(__file__).resolve().parent.parent
FOO = "examples/foo.py"

# DESIGN.md §2's listing, give or take blank lines and comments
GOLDEN_GRAD_FOO = DESIGN_LISTING

IR_FOO = """\
def foo(x, y):
    a = add x 5
    b = mul a y
    return b
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --------------------------------------------------------------------------------------
# Running the CLI


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


RUNNERS = ["module", "script", "console", "inprocess"]


def _command(kind: str) -> list[str]:
    return {"module": [sys.executable, "-m", "s2sad"],
            "script": [sys.executable, "cli.py"],
            "console": ["s2sad"]}[kind]


def run_cli(kind: str, argv: list[str], extra_path: tuple[str, ...] = (),
            capsys=None, monkeypatch=None) -> Result:
    if kind == "inprocess":
        for entry in extra_path:
            monkeypatch.syspath_prepend(entry)
        capsys.readouterr()
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return Result(code, out, err)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *extra_path])
    env["S2SAD_CHECK"] = "1"
    proc = subprocess.run(_command(kind) + list(argv), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(params=RUNNERS)
def run(request, capsys, monkeypatch):
    """``run(*argv)`` -> Result, through one entry point; the working directory is the repo."""
    kind = request.param
    if kind == "console" and shutil.which("s2sad") is None:
        pytest.skip("the s2sad console script is not installed here")
    monkeypatch.chdir(REPO)

    def run(*argv: str, extra_path: tuple[str, ...] = ()) -> Result:
        return run_cli(kind, list(argv), extra_path, capsys, monkeypatch)

    return run


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


def code_lines(text: str) -> list[str]:
    """Lines of generated code, without blank lines and `# adjoint of:` comments."""
    lines = []
    for line in text.splitlines():
        if line.strip().startswith("#"):
            assert line.strip().startswith("# adjoint of:"), f"unexpected comment {line!r}"
            continue
        if line.strip():
            lines.append(line.rstrip())
    return lines


def load_generated(text: str, name: str, **namespace: object):
    scope: dict = {"math": math, "np": np, **namespace}
    exec(compile(text, f"<generated {name}>", "exec"), scope)
    return scope[name]


def assert_compile_error(result: Result, path: Path, lineno: int, col: int,
                         *words: str) -> None:
    """Exit 1, nothing on stdout, ``FILE:LINE:COL: error: ...`` + line + caret on stderr."""
    assert result.code == 1, result
    assert result.out == "", result
    assert "Traceback" not in result.err, result.err
    lines = result.err.rstrip("\n").split("\n")
    assert lines[0].startswith(f"{path}:{lineno}:{col}: error: "), result.err
    source_line = path.read_text(encoding="utf-8").splitlines()[lineno - 1].rstrip()
    assert lines[1:] == ["    " + source_line, "    " + " " * col + "^"], result.err
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


def assert_usage_error(result: Result, *words: str) -> None:
    assert result.code == 2, result
    assert result.out == "", result
    assert "Traceback" not in result.err, result.err
    assert "usage:" in result.err, result.err
    for word in words:
        assert word in result.err, f"{word!r} not in {result.err!r}"


# --------------------------------------------------------------------------------------
# show: the golden listing and what it computes


def test_show_prints_the_golden_listing(run) -> None:
    result = run("show", f"{FOO}:foo", "--color", "never")
    assert result.code == 0, result
    assert result.err == ""
    assert code_lines(result.out) == code_lines(GOLDEN_GRAD_FOO)


def test_golden_listing_is_the_one_in_the_design(run) -> None:
    """The copy above is DESIGN.md §2's, when the design document is at hand."""
    candidates = [REPO / "DESIGN.md", REPO / "docs" / "DESIGN.md",
                  REPO.parent / "shared" / "DESIGN.md"]
    design = next((p for p in candidates if p.is_file()), None)
    if design is None:
        pytest.skip("DESIGN.md is not available")
    text = design.read_text(encoding="utf-8")
    section = text[text.index("## 2."):text.index("## 3.")]
    block = section[section.index("```python") + len("```python"):]
    block = block[:block.index("```")]
    listing = block[block.index("def grad_foo"):]
    listing = "\n".join(re.sub(r"\s+#.*$", "", line) for line in listing.splitlines())
    assert code_lines(listing) == code_lines(GOLDEN_GRAD_FOO)


def test_show_output_computes_the_gradient(run) -> None:
    result = run("show", f"{FOO}:foo", "--color", "never")
    grad_foo = load_generated(result.out, "grad_foo")
    assert grad_foo(2.0, 3.0) == (3.0, 7.0)
    assert grad_foo(-1.5, 0.25) == (0.25, 3.5)


def test_show_is_deterministic_across_entry_points(capsys, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    outputs = {}
    for kind in ["module", "script", "inprocess", "inprocess"]:
        result = run_cli(kind, ["show", f"{FOO}:foo", "--color", "never"], (), capsys,
                         monkeypatch)
        assert result.code == 0, (kind, result)
        outputs.setdefault(result.out, []).append(kind)
    assert len(outputs) == 1, outputs


def test_ir_prints_the_wengert_list(run) -> None:
    result = run("ir", f"{FOO}:foo")
    assert result == Result(0, IR_FOO, "")


def test_show_defaults_to_reverse_mode(run) -> None:
    default = run("show", f"{FOO}:foo", "--color", "never")
    reverse = run("show", f"{FOO}:foo", "--mode", "reverse", "--color", "never")
    assert default == reverse


def test_color_never_has_no_escapes(run) -> None:
    result = run("show", f"{FOO}:foo", "--color", "never")
    assert "\x1b[" not in result.out


def test_color_always_highlights_the_same_text(run) -> None:
    pytest.importorskip("pygments")
    plain = run("show", f"{FOO}:foo", "--color", "never")
    colored = run("show", f"{FOO}:foo", "--color", "always")
    assert colored.code == 0, colored
    assert "\x1b[" in colored.out
    assert ANSI.sub("", colored.out) == plain.out


def test_color_auto_is_plain_when_piped(run) -> None:
    plain = run("show", f"{FOO}:foo", "--color", "never")
    auto = run("show", f"{FOO}:foo")
    assert auto == plain


# --------------------------------------------------------------------------------------
# --mode forward and --wrt


def _directional_fd(f, point, direction) -> float:
    h = 1e-6 * max(1.0, *(abs(p) for p in point))
    up = [p + h * d for p, d in zip(point, direction)]
    down = [p - h * d for p, d in zip(point, direction)]
    return (f(*up) - f(*down)) / (2 * h)


POINTS = [((2.0, 3.0), (1.0, 0.0)), ((2.0, 3.0), (0.0, 1.0)), ((-1.25, 0.5), (0.3, -2.0)),
          ((0.7, 1.9), (1.0, 1.0))]


def test_forward_mode_prints_a_jvp(run) -> None:
    result = run("show", f"{FOO}:foo", "--mode", "forward", "--color", "never")
    assert result.code == 0, result
    assert result.err == ""
    jvp_foo = load_generated(result.out, "jvp_foo")
    params = list(inspect.signature(jvp_foo).parameters)
    assert len(params) == 4 and params[:2] == ["x", "y"], result.out  # x, y, then tangents
    foo = lambda x, y: (x + 5) * y
    for point, direction in POINTS:
        value, tangent = jvp_foo(*point, *direction)
        assert value == foo(*point)
        expected = _directional_fd(foo, point, direction)
        assert close(tangent, expected, fd_tolerance(expected)), (point, direction, tangent)


MATHY = """
    import math as m

    K = 3.0


    def f(x, y):
        a = m.sin(x) * y + K
        b = a / (1.0 + m.exp(-y)) - m.sqrt(x * x + 1.0)
        return b ** 2 + m.log(y * y + 2.0)
    """


def _load_file(path: Path):
    spec = importlib.util.spec_from_file_location(f"cli_primal_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_forward_mode_matches_finite_differences(run, tmp_path) -> None:
    path = write(tmp_path, "mathy.py", MATHY)
    result = run("show", f"{path}:f", "--mode", "forward", "--color", "never")
    assert result.code == 0, result
    jvp_f = load_generated(result.out, "jvp_f", K=3.0)
    f = _load_file(path).f  # the test imports the primal; the CLI never did
    for point, direction in POINTS:
        value, tangent = jvp_f(*point, *direction)
        assert close(value, f(*point), 1e-12)
        expected = _directional_fd(f, point, direction)
        assert close(tangent, expected, fd_tolerance(expected)), (point, direction)


def test_reverse_mode_matches_finite_differences(run, tmp_path) -> None:
    path = write(tmp_path, "mathy.py", MATHY)
    result = run("show", f"{path}:f", "--color", "never")
    assert result.code == 0, result
    grad_f = load_generated(result.out, "grad_f", K=3.0)
    f = _load_file(path).f
    for point, _ in POINTS:
        gradient = grad_f(*point)
        for i, direction in enumerate([(1.0, 0.0), (0.0, 1.0)]):
            expected = _directional_fd(f, point, direction)
            assert close(gradient[i], expected, fd_tolerance(expected)), (point, i)


def _single(value):
    """`--wrt y` may return `dbdy` or `(dbdy,)`; either way one gradient."""
    if isinstance(value, tuple):
        assert len(value) == 1, value
        return value[0]
    return value


def test_wrt_restricts_reverse_mode(run) -> None:
    result = run("show", f"{FOO}:foo", "--wrt", "y", "--color", "never")
    assert result.code == 0, result
    assert "dbdy" in result.out
    assert "dbdx" not in result.out
    assert "dbda" not in result.out  # the adjoint of a only feeds x: dead code
    grad_foo = load_generated(result.out, "grad_foo")
    assert _single(grad_foo(2.0, 3.0)) == 7.0


def test_wrt_x_only(run) -> None:
    result = run("show", f"{FOO}:foo", "--wrt", "x", "--color", "never")
    assert result.code == 0, result
    assert "dbdy" not in result.out
    grad_foo = load_generated(result.out, "grad_foo")
    assert _single(grad_foo(2.0, 3.0)) == 3.0


def test_wrt_order_is_kept(run) -> None:
    result = run("show", f"{FOO}:foo", "--wrt", "y,x", "--color", "never")
    assert result.code == 0, result
    grad_foo = load_generated(result.out, "grad_foo")
    assert grad_foo(2.0, 3.0) == (7.0, 3.0)


def test_wrt_tolerates_spaces(run) -> None:
    spaced = run("show", f"{FOO}:foo", "--wrt", " x , y ", "--color", "never")
    plain = run("show", f"{FOO}:foo", "--wrt", "x,y", "--color", "never")
    assert spaced == plain
    assert spaced.code == 0


def test_wrt_restricts_forward_mode(run) -> None:
    result = run("show", f"{FOO}:foo", "--mode", "forward", "--wrt", "y", "--color", "never")
    assert result.code == 0, result
    jvp_foo = load_generated(result.out, "jvp_foo")
    params = list(inspect.signature(jvp_foo).parameters)
    assert len(params) == 3 and params[:2] == ["x", "y"], result.out  # one tangent: for y
    value, tangent = jvp_foo(2.0, 3.0, 0.5)
    assert (value, tangent) == (21.0, 3.5)


def test_wrt_parameter_with_default(run, tmp_path) -> None:
    path = write(tmp_path, "defaults.py", """
        def g(x, scale=2.0):
            return x * x * scale
        """)
    result = run("show", f"{path}:g", "--wrt", "scale", "--color", "never")
    assert result.code == 0, result
    grad_g = load_generated(result.out, "grad_g")
    assert _single(grad_g(3.0)) == 9.0


# --------------------------------------------------------------------------------------
# Compile errors: exit 1, located


TRY_SOURCE = """
    def f(x):
        y = x * 2.0
        try:
            y = y - 1.0
        finally:
            pass
        return y
    """


@pytest.mark.parametrize("command", [["ir"], ["show"], ["show", "--mode", "forward"]])
def test_compile_error_exits_1_with_location(run, tmp_path, command) -> None:
    path = write(tmp_path, "trying.py", TRY_SOURCE)
    result = run(command[0], f"{path}:f", *command[1:])
    assert_compile_error(result, path, 3, 4, "`try`")


def test_compile_error_with_relative_path(run, tmp_path) -> None:
    """The message names the file as the user wrote it."""
    path = write(tmp_path, "trying.py", TRY_SOURCE)
    relative = os.path.relpath(path, REPO)
    result = run("show", f"{relative}:f")
    assert result.code == 1, result
    assert result.err.startswith(f"{relative}:3:4: error: "), result.err


def test_tuple_output_is_an_error_in_reverse_mode_only(run, tmp_path) -> None:
    path = write(tmp_path, "pair.py", """
        def pair(x, y):
            return x * y, x + y
        """)
    assert_compile_error(run("show", f"{path}:pair"), path, 1, 0, "tuple")
    forward = run("show", f"{path}:pair", "--mode", "forward", "--color", "never")
    assert forward.code == 0, forward
    jvp_pair = load_generated(forward.out, "jvp_pair")
    assert jvp_pair(2.0, 3.0, 1.0, 0.0) == ((6.0, 5.0), (3.0, 1.0))


def test_undefined_name(run, tmp_path) -> None:
    path = write(tmp_path, "undefined.py", """
        def f(x):
            return x * nowhere
        """)
    assert_compile_error(run("show", f"{path}:f"), path, 2, 15, "`nowhere`")


def test_call_without_rule(run, tmp_path) -> None:
    path = write(tmp_path, "calls.py", """
        import numpy as np


        def f(x):
            return np.fft.fft(x) + 1.0
        """)
    assert_compile_error(run("show", f"{path}:f"), path, 5, 11, "`np.fft.fft`")


def test_user_function_call(run, tmp_path) -> None:
    path = write(tmp_path, "helpers.py", """
        def helper(t):
            return t * 2.0


        def f(x):
            return helper(x) + 1.0
        """)
    result = run("show", f"{path}:f", "--color", "never")
    assert result.code == 0, result
    assert "def helper(t):" in result.out and "def vjp_helper(t, " in result.out
    assert _single(load_generated(result.out, "grad_f")(1.5)) == 2.0


def test_wrt_of_int_parameter_is_a_compile_error(run, tmp_path) -> None:
    path = write(tmp_path, "ints.py", """
        def f(x, n: int):
            return x * n
        """)
    assert_compile_error(run("show", f"{path}:f", "--wrt", "n"), path, 1, 9, "`n`", "int")
    assert run("show", f"{path}:f", "--wrt", "x", "--color", "never").code == 0
    # without --wrt, the default skips parameters that cannot be differentiated
    result = run("show", f"{path}:f", "--color", "never")
    assert result.code == 0, result
    assert _single(load_generated(result.out, "grad_f")(2.0, 3)) == 3.0


def test_syntax_error_exits_1_with_location(run, tmp_path) -> None:
    path = write(tmp_path, "broken.py", """
        def f(x):
            y = x * 2.0
            return y +
        """)
    with pytest.raises(SyntaxError) as python:
        compile(path.read_text(), str(path), "exec")
    lineno, col = python.value.lineno, python.value.offset - 1
    for command in ["ir", "show"]:
        result = run(command, f"{path}:f")
        assert result.code == 1, result
        assert result.out == ""
        assert "Traceback" not in result.err, result.err
        assert result.err.startswith(f"{path}:{lineno}:{col}: error: "), result.err
        assert "    return y +" in result.err


def test_column_counts_characters_not_bytes(run, tmp_path) -> None:
    path = write(tmp_path, "greek.py", """
        π = 3.0


        def f(x):
            y = π + (x & x)
            return y
        """)
    assert_compile_error(run("show", f"{path}:f"), path, 5, 13, "&")


def test_file_with_coding_cookie(run, tmp_path) -> None:
    """PEP 263: a latin-1 file is a valid Python file."""
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n"
                     b"def f(x):\n    return x * 2.0\n")
    result = run("show", f"{path}:f", "--color", "never")
    assert result.code == 0, result
    assert _single(load_generated(result.out, "grad_f")(1.0)) == 2.0


def test_file_with_utf8_bom(run, tmp_path) -> None:
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfdef f(x):\n    return x * 2.0\n")
    result = run("show", f"{path}:f", "--color", "never")
    assert result.code == 0, result


def test_file_that_is_not_utf8(run, tmp_path) -> None:
    """Undecodable bytes are the user's problem, reported as such: no traceback."""
    path = tmp_path / "binary.py"
    path.write_bytes(b"def f(x):\n    return x * 2.0  # \xff\n")
    result = run("show", f"{path}:f")
    assert result.code in (1, 2), result
    assert result.out == ""
    assert "Traceback" not in result.err, result.err
    assert str(path) in result.err


# --------------------------------------------------------------------------------------
# Usage errors: exit 2


@pytest.mark.parametrize(("argv", "words"), [
    pytest.param([], ["COMMAND"], id="no-arguments"),
    pytest.param(["show"], ["FILE.py:FUNC"], id="no-target"),
    pytest.param(["ir"], ["FILE.py:FUNC"], id="ir-no-target"),
    pytest.param(["frobnicate", f"{FOO}:foo"], ["frobnicate"], id="unknown-command"),
    pytest.param(["show", "no/such/file.py:foo"], ["no/such/file.py"], id="missing-file"),
    pytest.param(["ir", "no_such_file.py:foo"], ["no_such_file.py"], id="ir-missing-file"),
    pytest.param(["show", "examples:foo"], ["examples"], id="directory"),
    pytest.param(["show", f"{FOO}:nope"], ["`nope`"], id="no-such-function"),
    pytest.param(["ir", f"{FOO}:nope"], ["`nope`"], id="ir-no-such-function"),
    pytest.param(["show", FOO], [FOO], id="no-colon"),
    pytest.param(["show", f"{FOO}:"], [FOO], id="empty-function-name"),
    pytest.param(["show", ":foo"], [":foo"], id="empty-file-name"),
    pytest.param(["show", f"{FOO}:foo", "--wrt", "z"], ["z", "x, y"], id="bad-wrt"),
    pytest.param(["show", f"{FOO}:foo", "--wrt", "x,z"], ["x,z"], id="partly-bad-wrt"),
    pytest.param(["show", f"{FOO}:foo", "--wrt", ","], ["--wrt"], id="empty-wrt"),
    pytest.param(["show", f"{FOO}:foo", "--mode", "sideways"], ["sideways"], id="bad-mode"),
    pytest.param(["show", f"{FOO}:foo", "--color", "rainbow"], ["rainbow"], id="bad-color"),
    pytest.param(["ir", f"{FOO}:foo", "--mode", "forward"], ["--mode"], id="ir-no-mode"),
    pytest.param(["show", f"{FOO}:foo", "--bogus"], ["--bogus"], id="unknown-option"),
])
def test_usage_errors_exit_2(run, argv, words) -> None:
    assert_usage_error(run(*argv), *words)


def test_empty_file_has_no_such_function(run, tmp_path) -> None:
    path = tmp_path / "empty.py"
    path.write_text("")
    assert_usage_error(run("show", f"{path}:f"), "`f`")
    assert_usage_error(run("ir", f"{path}:f"), "`f`")


@pytest.mark.parametrize("source", [
    pytest.param("f = 1.0\n", id="a-variable"),
    pytest.param("class C:\n    def f(self, x):\n        return x\n", id="a-method"),
    pytest.param("def outer():\n    def f(x):\n        return x\n    return f\n", id="nested"),
    pytest.param("import math\nf = math.sin\n", id="an-alias"),
])
def test_function_not_at_top_level(run, tmp_path, source) -> None:
    path = tmp_path / "elsewhere.py"
    path.write_text(source)
    assert_usage_error(run("show", f"{path}:f"), "`f`")


def test_help_exits_0(run) -> None:
    result = run("--help")
    assert result.code == 0, result
    assert "ir" in result.out and "show" in result.out
    result = run("show", "--help")
    assert result.code == 0, result
    assert "--mode" in result.out and "--wrt" in result.out


# --------------------------------------------------------------------------------------
# The CLI never imports or runs the user's file


def test_user_file_is_never_executed(run, tmp_path) -> None:
    marker = tmp_path / "ran.txt"
    imported = tmp_path / "imported.txt"
    (tmp_path / "evil_s2sad_module.py").write_text(
        f"open({str(imported)!r}, 'w').write('imported')\n")
    path = write(tmp_path, "sideeffect.py", f"""
        import math

        import evil_s2sad_module

        open({str(marker)!r}, "w").write("ran")
        raise SystemExit(7)


        def foo(x, y):
            a = x + 5
            b = a * y
            return b


        if __name__ == "__main__":
            raise SystemExit(8)
        """)
    extra = (str(tmp_path),)
    result = run("show", f"{path}:foo", "--color", "never", extra_path=extra)
    assert result.code == 0, result
    assert code_lines(result.out) == code_lines(GOLDEN_GRAD_FOO)
    result = run("ir", f"{path}:foo", extra_path=extra)
    assert result == Result(0, IR_FOO, "")
    result = run("show", f"{path}:foo", "--mode", "forward", extra_path=extra)
    assert result.code == 0, result
    assert not marker.exists(), "the CLI ran the user's module"
    assert not imported.exists(), "the CLI imported a module the user's file imports"


def test_defaults_are_not_evaluated(run, tmp_path) -> None:
    marker = tmp_path / "ran.txt"
    path = write(tmp_path, "defaults.py", f"""
        def side_effect():
            open({str(marker)!r}, "w").write("ran")
            return 2.0


        def f(x, y=side_effect()):
            return x * y
        """)
    result = run("show", f"{path}:f")
    assert not marker.exists(), "the CLI evaluated a default value"
    assert result.code in (0, 1), result
    if result.code == 1:
        assert_compile_error(result, path, 6, 11, "default")
