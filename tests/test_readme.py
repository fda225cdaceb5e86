"""Every code block in README.md runs: Python blocks as one script, shell blocks as CLI calls,
console blocks as sessions whose output must match, and the diff adding a derivative rule
applied to a copy of s2sad."""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [body for lang, body in BLOCK.findall(text) if lang == language]


def test_python_blocks_run_and_print_the_listing_shown(tmp_path):
    script = tmp_path / "readme_tour.py"
    script.write_text("\n".join(blocks("python")))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 0, result.stderr
    for shown in blocks("text"):
        assert shown in result.stdout
    assert "error: `try` is not in the differentiable subset" in result.stdout


def test_shell_blocks_run():
    commands = [line for body in blocks("sh") for line in body.splitlines() if line.strip()]
    assert commands[0] == 'pip install -e ".[test]" && s2sad show examples/foo.py:foo'
    assert commands[1] == "pytest"
    runnable = ["s2sad show examples/foo.py:foo"] + commands[2:]
    for command in runnable:
        words = shlex.split(command)
        assert words[0] == "s2sad"
        result = subprocess.run([sys.executable, "-m", "s2sad", *words[1:]], cwd=ROOT,
                                capture_output=True, text=True,
                                env={"PYTHONPATH": str(ROOT), "PATH": ""})
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.startswith("def "), command


# --------------------------------------------------------------------------------------
# Console sessions: ``$ command`` lines and the output they print, run in a sandbox


def _expected(lines: list[str]) -> re.Pattern:
    """Output lines as a pattern: ``...`` alone stands for any lines, inside a line for
    any text (doctest's ELLIPSIS)."""
    parts = []
    for line in lines:
        if line == "...":
            parts.append(r"(?:.*\n)*?")
        else:
            parts.append(".*".join(re.escape(p) for p in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def _sessions() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every ``$`` line of the console blocks."""
    steps: list[tuple[str, list[str]]] = []
    for body in blocks("console"):
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
    return steps


def test_console_blocks_run_and_print_what_they_show(tmp_path):
    """Each command runs in bash, in order, from a directory holding a copy of examples/,
    with ``s2sad`` and ``python`` the repository's; the output must match the block."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    for name, command in [("s2sad", f'exec "{sys.executable}" -m s2sad "$@"'),
                          ("python", f'exec "{sys.executable}" "$@"')]:
        (bin_dir / name).write_text(f"#!/bin/sh\n{command}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PYTHONPATH": str(ROOT), "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]),
           "LC_ALL": "C", "PYTHONDONTWRITEBYTECODE": "1"}
    steps = _sessions()
    assert steps and any(command.startswith("s2sad check") for command, _ in steps)
    for command, expected in steps:
        result = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        assert _expected(expected).fullmatch(result.stdout), (command, result.stdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".bin", "examples"]  # cleaned up


# --------------------------------------------------------------------------------------
# "Adding a derivative rule": the diff, applied to a copy of s2sad, works


def _apply(diff: str, root: pathlib.Path) -> None:
    """Apply a README diff: per file, each ``+`` line goes after the context line before it
    (the diff shows no line numbers, so lines are found by their text)."""
    path, anchor = None, None
    for line in diff.splitlines():
        if line.startswith("--- "):
            continue
        if line.startswith("+++ "):
            path = root / line[len("+++ b/"):]
        elif line.startswith("+"):
            text = path.read_text()
            assert text.count(anchor + "\n") == 1, (path, anchor)
            text = text.replace(anchor + "\n", anchor + "\n" + line[1:] + "\n")
            path.write_text(text)
            anchor = line[1:]
        else:
            anchor = line[1:] if line.startswith(" ") else line


def test_the_rule_diff_adds_a_working_rule(tmp_path):
    if sys.version_info < (3, 11):
        pytest.skip("math.cbrt is new in Python 3.11")
    [diff] = blocks("diff")
    shutil.copytree(ROOT / "s2sad", tmp_path / "s2sad",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", tmp_path / "tests",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    _apply(diff, tmp_path)
    check = (
        "import math, s2sad\n"
        "def f(x):\n    return math.cbrt(x) * x\n"
        "g = s2sad.grad(f)(2.0)\n"
        "assert abs(g - 4 / 3 * 2.0 ** (1 / 3)) < 1e-12, g\n"
        "assert s2sad.jvp(f)(2.0, 1.0)[1] == g\n"
        "assert 'math.cbrt(x)' in s2sad.source(s2sad.grad(f))\n")
    (tmp_path / "cbrt_check.py").write_text(check)  # s2sad reads f's source from a file
    env = {"PYTHONPATH": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    result = subprocess.run([sys.executable, "cbrt_check.py"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "addopts=",
                             "-p", "no:cacheprovider",
                             "tests/test_rules.py", "-k", "cbrt or every_active"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "deselected" in result.stdout
