"""The command line: ``s2sad ir|show FILE.py:FUNC``.

Reads FILE statically (it never imports or runs it), differentiates FUNC and prints the
result. Compile errors print ``FILE:LINE:COL: error: ...`` with the source line and exit 1;
usage errors (a missing file, no such function, a bad ``--wrt``) exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import errors, frontend, transforms
from .ir import format_function


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="s2sad", description="Source-to-source automatic differentiation for Python.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ir_cmd = commands.add_parser("ir", help="print the Wengert list of FUNC")
    ir_cmd.add_argument("target", metavar="FILE.py:FUNC")
    show = commands.add_parser("show", help="print the derivative source of FUNC")
    show.add_argument("target", metavar="FILE.py:FUNC")
    show.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                      help="reverse: the gradient (default); forward: the tangent (jvp)")
    show.add_argument("--wrt", metavar="x,y",
                      help="parameters to differentiate with respect to (default: every "
                      "positional parameter not annotated or defaulted as int/bool/str)")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="highlight with pygments when installed (default: on a tty)")
    args = parser.parse_args(argv)

    path, _, name = args.target.rpartition(":")
    if not path or not name:
        parser.error(f"expected FILE.py:FUNC, got {args.target!r}")
    if not os.path.isfile(path):
        parser.error(f"no such file: {path}")
    try:
        lowered = frontend.lower(frontend.from_file(path, name))
    except errors.NoSource as exc:
        if exc.message.startswith("there is no function"):
            parser.error(exc.message)
        print(exc, file=sys.stderr)
        return 1
    except errors.CompileError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.command == "ir":
        sys.stdout.write(format_function(lowered.fn))
        return 0

    if args.wrt:
        wanted = [w.strip() for w in args.wrt.split(",") if w.strip()]
        known = {p.var.name for p in lowered.fn.params}
        unknown = [w for w in wanted if w not in known]
        if unknown or not wanted:
            parser.error(f"--wrt {args.wrt!r}: `{name}` has parameters "
                         f"{', '.join(sorted(known)) or 'none'}")
        wrt: object = tuple(wanted) if len(wanted) > 1 else wanted[0]
    else:
        wrt = transforms.differentiable_positional(lowered)
        if not wrt:
            parser.error(f"`{name}` has no parameter to differentiate; name one with --wrt")
        if len(wrt) == 1:
            wrt = wrt[0]
    kind = "grad" if args.mode == "reverse" else "jvp"
    try:
        derivative = transforms.derive(lowered, kind, wrt)
    except errors.CompileError as exc:
        print(exc, file=sys.stderr)
        return 1
    text = derivative.generated.source
    sys.stdout.write(_highlight(text, args.color))
    return 0


def _highlight(text: str, color: str) -> str:
    if color == "never" or (color == "auto" and not sys.stdout.isatty()):
        return text
    try:
        from pygments import highlight
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return text
    return highlight(text, PythonLexer(), TerminalFormatter())
