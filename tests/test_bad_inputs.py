"""Bad input beyond the construct corpus of ``test_errors.py``: very long functions, deeply
nested expressions, broken files given to the CLI, and messages that must name what the
user wrote. Whatever the input, s2sad answers with a derivative, a located
``CompileError``, or a CLI exit status (1: the file's fault, 2: usage) and a located
message, never a traceback or an internal exception (KeyError, RecursionError...).

Cases where s2sad fails that promise are ``xfail(strict=True)``, with what it does.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

import s2sad
from s2sad import cli

from .test_errors import INTERNAL, write_module


def _xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``s2sad ARGV`` in this process: exit status, stdout, stderr."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_located(err: str, path, lineno: int | None = None) -> None:
    first = err.splitlines()[0] if err else ""
    assert first.startswith(f"{path}:"), err
    line = int(first[len(str(path)) + 1:].split(":")[0])
    assert line >= 1, f"located at line {line}: {first}"
    if lineno is not None:
        assert line == lineno, first
    assert "Traceback" not in err, err


# --------------------------------------------------------------------------------------
# Very long functions

N_LINES = 2000


def _long_function(n: int, last: str = "") -> str:
    lines = ["import math", "", "", "def f(x):", "    a = x"]
    lines += [f"    a = a * 0.999 + math.sin(a) * {1e-3 * (i % 5):.3f}" for i in range(n)]
    lines += [last] if last else []
    lines.append("    return a")
    return "\n".join(lines) + "\n"


def _long_value(x: float, n: int) -> float:
    a = x
    for i in range(n):
        a = a * 0.999 + math.sin(a) * float(f"{1e-3 * (i % 5):.3f}")
    return a


def test_a_function_of_thousands_of_lines(tmp_path, capsys):
    """2,000 statements: the gradient agrees with central differences, and the CLI prints
    the Wengert list."""
    path, module = write_module(tmp_path, _long_function(N_LINES))
    x, h = 0.5, 1e-6
    expected = (_long_value(x + h, N_LINES) - _long_value(x - h, N_LINES)) / (2 * h)
    assert math.isclose(s2sad.grad(module.f)(x), expected, rel_tol=1e-6)
    code, out, err = run_cli(capsys, "ir", f"{path}:f")
    assert code == 0, err
    assert out.count("\n") > 4 * N_LINES


def test_an_error_at_the_end_of_a_long_function_is_located(tmp_path, capsys):
    source = _long_function(N_LINES, last="    del a")
    path, module = write_module(tmp_path, source)
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(module.f)
    assert info.value.lineno == N_LINES + 6 and "`del`" in info.value.message
    code, _, err = run_cli(capsys, "ir", f"{path}:f")
    assert code == 1
    assert_located(err, path, N_LINES + 6)


# --------------------------------------------------------------------------------------
# Deep nesting


def _nested_parentheses(depth: int) -> str:
    return f"def f(x):\n    return {'(' * depth}x * 2.0{')' * depth}\n"


def _nested_calls(depth: int) -> str:
    body = "x"
    for _ in range(depth):
        body = f"math.sin({body})"
    return f"import math\n\n\ndef f(x):\n    return {body}\n"


def _long_sum(terms: int) -> str:
    return "def f(x):\n    return " + " + ".join(f"x * {i % 7 + 1}.0" for i in range(terms)) \
        + "\n"


def _nested_negation(depth: int) -> str:
    return f"def f(x):\n    return {'-' * depth}x * 2.0\n"


@pytest.mark.parametrize("source, x, expected", [
    pytest.param(_nested_parentheses(150), 0.5, 2.0, id="150-nested-parentheses"),
    pytest.param(_nested_calls(100), 0.5, None, id="100-nested-calls"),
    pytest.param(_long_sum(150), 0.5, sum(i % 7 + 1 for i in range(150)), id="150-term-sum"),
])
def test_deep_expressions_that_work(tmp_path, source, x, expected):
    _, module = write_module(tmp_path, source)
    got = s2sad.grad(module.f)(x)
    if expected is None:
        h = 1e-6
        expected = (module.f(x + h) - module.f(x - h)) / (2 * h)
    assert math.isclose(got, expected, rel_tol=1e-6)
    value, tangent = s2sad.jvp(module.f)(x, 1.0)
    assert value == module.f(x) and math.isclose(tangent, got, rel_tol=1e-12)


@pytest.mark.parametrize("source", [
    pytest.param(_long_sum(300), id="300-term-sum"),
    pytest.param(_long_sum(2000), id="2000-term-sum"),
    pytest.param(_nested_negation(500), id="500-nested-negations"),
])
def test_deep_expressions_give_a_derivative_or_a_located_error(tmp_path, source):
    _, module = write_module(tmp_path, source)
    try:
        derivative = s2sad.grad(module.f)
    except s2sad.CompileError as err:
        assert err.lineno == 2, str(err)
        return
    except INTERNAL as exc:
        pytest.fail(f"{type(exc).__name__} escaped s2sad.grad: {str(exc)[:200]}")
    h = 1e-6
    assert math.isclose(derivative(0.5), (module.f(0.5 + h) - module.f(0.5 - h)) / (2 * h),
                        rel_tol=1e-6)


def test_cli_on_a_2000_term_sum(tmp_path, capsys):
    path = tmp_path / "long_sum.py"
    path.write_text(_long_sum(2000))
    try:
        code, _, err = run_cli(capsys, "show", f"{path}:f", "--color", "never")
    except INTERNAL as exc:
        pytest.fail(f"{type(exc).__name__} escaped the CLI")
    assert code in (0, 1)
    if code == 1:
        assert_located(err, path, 2)


def test_500_nested_parentheses_do_not_parse(tmp_path, capsys):
    """Python refuses 500 nested parentheses (its parser allows 200): the CLI says so,
    located, exit 1."""
    path = tmp_path / "nested.py"
    path.write_text(_nested_parentheses(500))
    with pytest.raises(SyntaxError):
        compile(path.read_text(), str(path), "exec")
    code, out, err = run_cli(capsys, "show", f"{path}:f")
    assert code == 1 and out == ""
    assert_located(err, path, 2)
    assert "nested parentheses" in err


# --------------------------------------------------------------------------------------
# Broken files and the CLI

BROKEN_FILES = {
    "indentation": ("def f(x):\n    y = x * 2.0\n  return y\n", 3),
    "unterminated-string": ('def f(x):\n    s = "abc\n    return x\n', 2),
    "unclosed-parenthesis-in-another-function": (
        "def f(x):\n    return x * 2.0\n\n\ndef g(x:\n    return x\n", 5),
    "syntax-error-after-the-function": (
        "def f(x):\n    return x * 2.0\n\n\ndef g(x):\n    return f(x) +\n", 6),
    "missing-colon": ("def f(x)\n    return x\n", 1),
    "keyword-as-a-name": ("def f(x):\n    class = x\n    return class\n", 2),
}


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
@pytest.mark.parametrize("command", ["show", "ir", "grad"])
def test_files_that_do_not_parse_exit_1_located(tmp_path, capsys, name, command):
    source, lineno = BROKEN_FILES[name]
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(source)
    code, out, err = run_cli(capsys, command, f"{path}:f")
    assert code == 1, (code, err)
    assert out == ""
    assert_located(err, path, lineno)
    assert "parse" in err


@pytest.mark.parametrize("source, lineno", [
    pytest.param("def f(x, x):\n    return x * 2.0\n", 1, id="duplicate-parameter"),
    pytest.param("return 1\n\n\ndef f(x):\n    return x\n", 1, id="return-outside-a-function"),
])
def test_files_python_does_not_compile_exit_1_located(tmp_path, capsys, source, lineno):
    path = tmp_path / "invalid.py"
    path.write_text(source)
    with pytest.raises(SyntaxError):
        compile(source, str(path), "exec")
    code, out, err = run_cli(capsys, "grad", f"{path}:f")
    assert code == 1 and out == ""
    assert_located(err, path, lineno)


@pytest.mark.parametrize("source", [
    pytest.param("# only a comment\n\n", id="comments-only"),
    pytest.param("import numpy as np\n", id="imports-only"),
    pytest.param("\n\n\n", id="blank-lines"),
    pytest.param('"""A docstring."""\n', id="docstring-only"),
])
def test_files_without_the_function_are_usage_errors(tmp_path, capsys, source):
    path = tmp_path / "nothing.py"
    path.write_text(source)
    code, out, err = run_cli(capsys, "show", f"{path}:f")
    assert code == 2 and out == "" and "`f`" in err and "Traceback" not in err


def test_a_null_byte_is_located(tmp_path, capsys):
    path = tmp_path / "nul.py"
    path.write_bytes(b"def f(x):\n    return x\x00 * 2.0\n")
    code, out, err = run_cli(capsys, "show", f"{path}:f")
    assert code in (1, 2) and out == ""
    assert_located(err, path, 2)


def test_cli_writes_nothing_for_a_broken_file(tmp_path, capsys):
    """-o and a file that does not parse: exit 1, and no output file, not even a temporary
    one."""
    path = tmp_path / "broken.py"
    path.write_text(BROKEN_FILES["indentation"][0])
    out_path = tmp_path / "grad_f.py"
    code, _, err = run_cli(capsys, "grad", f"{path}:f", "-o", str(out_path))
    assert code == 1 and not out_path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.py"]


# --------------------------------------------------------------------------------------
# Messages name what the user wrote


def _error_of(tmp_path, source: str) -> s2sad.CompileError:
    _, module = write_module(tmp_path, textwrap.dedent(source).lstrip("\n"))
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(module.f)
    return info.value


@pytest.mark.parametrize("source, lineno, words", [
    pytest.param("""
        def f(x):
            try:
                y = x * 2.0
            except* ValueError:
                y = x
            return y
        """, 2, ("`try`",), id="try-except-star"),
    pytest.param("""
        def f(x):
            x.real += 1.0
            return x
        """, 2, ("attribute",), id="augmented-attribute-store"),
    pytest.param("""
        import numpy as np


        def f(x):
            y = np.zeros(2)
            y[0] = y[1] = x
            return np.sum(y)
        """, 6, ("`y[0] = y[1] = x`",), id="chained-assignment-to-subscripts"),
    pytest.param("""
        import numpy as np


        def f(x):
            y = np.zeros((2, 2))
            y[0][1] += x
            return np.sum(y)
        """, 6, ("`y[0][1] += x`", "`x[i, j] += v`"), id="augmented-nested-subscript"),
    pytest.param("""
        import numpy as np


        def f(x):
            y = np.zeros(2)
            a, y[0] = x, x
            return a + np.sum(y)
        """, 6, ("`y[0]`", "unpack"), id="unpacking-into-a-subscript"),
])
def test_messages_name_the_construct(tmp_path, source, lineno, words):
    err = _error_of(tmp_path, source)
    assert err.lineno == lineno
    assert not err.message.startswith(("`TryStar`", "`Attribute`")), err.message
    for word in words:
        assert word in err.message, err.message


@pytest.mark.parametrize("body, args", [
    pytest.param("return [x, x]", (2.0,), id="a-list"),
    pytest.param("return None", (2.0,), id="None"),
    pytest.param("return 'x'", (2.0,), id="a-string"),
])
def test_grad_of_a_function_returning_no_number_is_refused(tmp_path, body, args):
    _, module = write_module(tmp_path, f"def f(x):\n    {body}\n")
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(module.f)(*args)
    assert info.value.lineno == 2


def test_comparisons_returned_have_derivative_zero(tmp_path):
    """A bool result is a number: no derivative, no error (README, inactive operations)."""
    _, module = write_module(tmp_path, "def f(x):\n    return x > 0\n")
    assert s2sad.grad(module.f)(2.0) == 0.0
    assert s2sad.jvp(module.f)(2.0, 1.0) == (True, 0.0)


def test_accepted_odd_but_valid_forms(tmp_path):
    """Forms that look unusual but are in the subset: ``@=``, ``x[...]``, ``np.newaxis``,
    tuple axes, positional-only parameters, annotations without a value, ``while True``
    with ``break``."""
    _, module = write_module(tmp_path, textwrap.dedent("""
        import numpy as np


        def f(x, A, /):
            y: float
            x @= A
            s = np.sum(np.sum(x[...][np.newaxis, :] ** 2, axis=(0, 1)))
            while True:
                s = s * 0.5
                if s < 1.0:
                    break
            return s
        """).lstrip("\n"))
    x, A = np.array([1.0, 2.0]), np.array([[1.0, 0.5], [0.25, 2.0]])
    gx, gA = s2sad.grad(module.f, wrt=(0, 1))(x, A)
    h = 1e-6
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        assert math.isclose(gx[i], (module.f(x + e, A) - module.f(x - e, A)) / (2 * h),
                            rel_tol=1e-6)
    assert gA.shape == (2, 2)
