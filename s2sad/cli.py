"""The command line: derivative modules from source files, and the tools around them.

Reads FILE statically (it never imports or runs it) and differentiates FUNC::

    s2sad grad FILE.py:FUNC [--wrt x,y] [-o OUT.py]     # a module defining grad_FUNC
    s2sad jvp|vjp|hvp|hessian|value_and_grad ...         # the same form
    s2sad jacobian FILE.py:FUNC [--mode forward|reverse|auto] [-o OUT.py]
    s2sad show FILE.py:FUNC [--mode reverse|forward]     # the code only, highlighted on a tty
    s2sad ir FILE.py:FUNC                                # the Wengert list
    s2sad check OUT.py ...                               # exit 1 if OUT.py is stale

A written module runs without s2sad (see ``module.py``); ``-o`` writes it atomically.
``--print-ir-after STEP`` prints the IR after a step of the compiler to stderr.
Exit codes: 0 success, 1 a compile error (``FILE:LINE:COL: error: ...`` with the source line
on stderr) or a stale module, 2 a usage error (a missing file, no such function, a bad
``--wrt``, an ``-o`` that cannot be written).
"""

from __future__ import annotations

import argparse
import difflib
import os
import shlex
import sys
from collections.abc import Callable

from . import errors, frontend, module, transforms
from .ir import Function, format_function

DERIVATIVES = {
    "grad": "a module with grad_FUNC: the gradient of a scalar FUNC (reverse mode)",
    "value_and_grad": "a module with value_and_grad_FUNC: (FUNC(...), gradient)",
    "jvp": "a module with jvp_FUNC: Jacobian-vector products (forward mode)",
    "vjp": "a module with vjp_FUNC: vector-Jacobian products (reverse mode)",
    "hvp": "a module with hvp_FUNC: Hessian-vector products (forward over reverse)",
    "hessian": "a module with hessian_FUNC: the Hessian of a scalar FUNC",
    "jacobian": "a module with jacobian_FUNC: the Jacobian, by columns or rows",
}
STEPS = ("frontend", "cleanup", "forward", "reverse")  # what transforms.derive traces


class UsageError(Exception):
    """The command line asks for something that is not there: exit 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as exc:
        args.parser.error(str(exc))  # prints the command's usage; exits 2
    except errors.CompileError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0  # not reached: error() exits


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2sad", description="Source-to-source automatic differentiation for Python: "
        "reads FILE.py without running it and writes the derivative of FUNC as Python.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str, run: Callable) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run, parser=sub)
        return sub

    for kind, help in DERIVATIVES.items():
        sub = add(kind, help, _write_derivative)
        sub.set_defaults(kind=kind)
        _target(sub)
        _wrt_option(sub)
        if kind == "jacobian":
            sub.add_argument("--mode", choices=transforms.MODES, default="auto",
                             help="forward: by columns (one jvp per input entry); reverse: "
                             "by rows (one vjp per output entry); auto (default): by "
                             "whichever takes fewer passes, decided at each call")
        if kind in REVERSE_KINDS:
            _checkpoint_option(sub)
        sub.add_argument("-o", "--output", metavar="OUT.py",
                         help="write the module to OUT.py (atomically) instead of stdout")
        _trace_option(sub)

    show = add("show", "print the derivative source of FUNC (highlighted on a tty)", _show)
    _target(show)
    show.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                      help="reverse: the gradient (default); forward: the tangent (jvp)")
    _wrt_option(show)
    _checkpoint_option(show)
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                      help="highlight with pygments when installed (default: on a tty)")
    _trace_option(show)

    ir_cmd = add("ir", "print the Wengert list of FUNC", _ir)
    _target(ir_cmd)

    check = add("check", "exit 1 if a module s2sad wrote is stale against its source",
                _check)
    check.add_argument("modules", nargs="+", metavar="OUT.py",
                       help="modules written by s2sad (their header names the source)")
    return parser


def _target(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("target", metavar="FILE.py:FUNC")


def _wrt_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--wrt", metavar="x,y",
                     help="parameters to differentiate with respect to (default: every "
                     "positional parameter not annotated or defaulted as int/bool/str)")


REVERSE_KINDS = ("grad", "value_and_grad", "vjp")


def _checkpoint_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--checkpoint", metavar="SPEC",
                     help="loops reverse mode recomputes from a few stored states instead "
                     "of taping every iteration (binomial checkpointing): 'all' (every "
                     "outermost loop), 'all=STATES', 'LINE[=STATES],...' (the loops "
                     "starting on those lines), or 'none' (not even the loops marked "
                     "'# s2sad: checkpoint'); STATES is how many states are kept at once")


def _checkpoint(spec: str | None) -> object:
    """``--checkpoint`` as the transforms' ``checkpoint`` option."""
    if spec is None:
        return None
    if spec == "none":
        return False
    if spec == "all":
        return True
    lines: dict[int, object] = {}
    for item in spec.split(","):
        where, _, states = item.strip().partition("=")
        try:
            count = int(states) if states else True
            if count is not True and count < 1:
                raise ValueError
            if where == "all" and len(spec.split(",")) == 1:
                return count
            lines[int(where)] = count
        except ValueError:
            raise UsageError(f"--checkpoint expects all, all=STATES, none or "
                             f"LINE[=STATES],... with STATES >= 1; got {spec!r}") from None
    return lines


def _trace_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--print-ir-after", metavar="STEP", choices=STEPS + ("all",),
                     help="print the IR to stderr after each run of STEP: "
                     f"{', '.join(STEPS)} or all (for debugging the compiler)")


# --------------------------------------------------------------------------------------
# Commands


def _ir(args: argparse.Namespace) -> int:
    lowered, _ = _load(args.target)
    sys.stdout.write(format_function(lowered.fn))
    return 0


def _show(args: argparse.Namespace) -> int:
    kind = "grad" if args.mode == "reverse" else "jvp"
    derivative, _ = _derive(args, kind)
    sys.stdout.write(_highlight(derivative.generated.source, args.color))
    return 0


def _write_derivative(args: argparse.Namespace) -> int:
    if args.output is not None:
        _check_output(args.output, args.target)
    text = _module_text(args, args.output)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        module.write_atomically(args.output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0


def _module_text(args: argparse.Namespace, output: str | None) -> str:
    """The module that ``args`` (a derivative command) writes to ``output``."""
    derivative, origin = _derive(args, args.kind, output)
    return module.render(derivative.generated, origin)


def _derive(args: argparse.Namespace, kind: str, output: str | None = None
            ) -> tuple[transforms.Derivative, module.Origin]:
    lowered, path = _load(args.target)
    wrt, wrt_option = _wrt(args.wrt, lowered)
    mode = getattr(args, "mode", None) if kind == "jacobian" else None
    spec = getattr(args, "checkpoint", None)
    derivative = transforms.derive(lowered, kind, wrt, mode=mode or "auto",
                                   trace=_tracer(args.print_ir_after),
                                   checkpoint=_checkpoint(spec))
    positions, _ = transforms.resolve_wrt(lowered, wrt)
    names = tuple(lowered.fn.params[i].var.name for i in positions)
    origin = module.Origin(kind, module.relative_source(path, output), lowered.source,
                           wrt_option, names, mode, spec)
    return derivative, origin


def _load(target: str) -> tuple[frontend.Lowered, str]:
    path, _, name = target.rpartition(":")
    if not path or not name:
        raise UsageError(f"expected FILE.py:FUNC, got {target!r}")
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    try:
        return frontend.lower(frontend.from_file(path, name)), path
    except errors.NoSource as exc:
        if exc.message.startswith("there is no function"):
            raise UsageError(exc.message) from None
        raise


def _wrt(option: str | None, lowered: frontend.Lowered
         ) -> tuple[object, tuple[str, ...] | None]:
    """``wrt`` for ``transforms.derive`` from ``--wrt x,y``, and the names as given."""
    name = lowered.fn.name
    if option is None:
        default = transforms.differentiable_positional(lowered)
        if not default:
            raise UsageError(f"`{name}` has no parameter to differentiate; name one with "
                             "--wrt")
        return (default if len(default) > 1 else default[0]), None
    wanted = tuple(w.strip() for w in option.split(",") if w.strip())
    known = {p.var.name for p in lowered.fn.params}
    if not wanted or any(w not in known for w in wanted):
        raise UsageError(f"--wrt {option!r}: `{name}` has parameters "
                         f"{', '.join(sorted(known)) or 'none'}")
    return (wanted if len(wanted) > 1 else wanted[0]), wanted


def _check_output(output: str, target: str) -> None:
    """Refuse an -o that cannot be written or would overwrite something not ours."""
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise UsageError(f"-o {output}: no such directory: {os.path.dirname(output)}")
    if os.path.isdir(output):
        raise UsageError(f"-o {output}: is a directory; name the file to write")
    source = target.rpartition(":")[0]
    if os.path.exists(source) and os.path.exists(output) \
            and os.path.samefile(source, output):
        raise UsageError(f"-o {output}: is the source file itself; name another file")
    if os.path.isfile(output) and os.path.getsize(output) > 0:
        try:
            with open(output, encoding="utf-8") as handle:
                ours = module.recorded_command(handle.read()) is not None
        except (OSError, UnicodeDecodeError):
            ours = False
        if not ours:
            raise UsageError(f"-o {output}: exists and was not written by s2sad; remove it "
                             "or choose another name")


def _check(args: argparse.Namespace) -> int:
    """Regenerate each module from the command in its header and compare the texts."""
    worst = 0
    for path in args.modules:
        worst = max(worst, _check_one(path, args.parser))
    return worst


def _check_one(path: str, parser: argparse.ArgumentParser) -> int:
    try:
        with open(path, encoding="utf-8") as handle:
            written = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"s2sad check: {path}: cannot read it: {getattr(exc, 'strerror', exc)}",
              file=sys.stderr)
        return 2
    argv = module.recorded_command(written)
    if not argv or argv[0] not in DERIVATIVES:
        print(f"s2sad check: {path}: not a module written by s2sad (its header has no "
              "`# command: s2sad ...` line)", file=sys.stderr)
        return 2
    # the header's paths are relative to the module: make them relative to here
    source, _, function = argv[1].rpartition(":")
    here = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(path)), source))
    argv = [argv[0], f"{here}:{function}", *argv[2:]]
    regenerate = "s2sad " + shlex.join(argv + ["-o", path])
    try:
        args = _parser().parse_args(argv)
    except SystemExit:
        print(f"s2sad check: {path}: the command in its header is not one s2sad "
              "understands", file=sys.stderr)
        return 2
    try:
        current = _module_text(args, path)
    except (UsageError, errors.CompileError) as exc:
        print(f"{path}: stale: it cannot be made again from {here}:\n{exc}", file=sys.stderr)
        return 1
    if current == written:
        print(f"{path}: up to date with {here}:{function}")
        return 0
    if module.recorded_digest(written) != module.recorded_digest(current):
        why = f"the source of `{function}` in {here} has changed since it was written"
    else:
        why = (f"s2sad now generates different code from {here}:{function} (a constant "
               "or function it reads changed, s2sad changed, or the file was edited)")
    diff = list(difflib.unified_diff(written.splitlines(keepends=True),
                                     current.splitlines(keepends=True),
                                     f"{path} (written)", f"{path} (now)"))
    shown = "".join(diff[:40]) + (f"... ({len(diff) - 40} more lines)\n" if len(diff) > 40
                                  else "")
    print(f"{path}: stale: {why}; regenerate it with\n    {regenerate}\n{shown}",
          end="", file=sys.stderr)
    return 1


# --------------------------------------------------------------------------------------
# Output


def _tracer(step: str | None) -> Callable[[str, Function], None] | None:
    """A ``trace`` for ``transforms.derive`` printing the IR after ``step`` (or all)."""
    if step is None:
        return None

    def trace(name: str, fn: Function) -> None:
        if step in ("all", name):
            sys.stderr.write(f"# IR after {name}: {fn.name}\n{format_function(fn)}\n")

    return trace


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
