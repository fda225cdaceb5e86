"""Every code block in README.md runs: Python blocks as one script, shell blocks as CLI calls."""

from __future__ import annotations

import pathlib
import re
import shlex
import subprocess
import sys

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
