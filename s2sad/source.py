"""Getting a function's source: parsed with gast, with what its names can refer to.

Takes a live function (``inspect.getsource``, dedented, decorators dropped; names resolve
against its globals and closure cells) or a function in a file read statically (the CLI:
names resolve against the file's imports of ``math``/``numpy`` and its literal constants;
the file is never imported or run). Locations map gast's positions back to the file, in
characters. ``unsupported`` words the error for a construct outside the subset::

    from_function(foo) -> SourceFunction(node=<gast def foo>, filename="foo.py", ...)
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import re
import sys
import textwrap
import threading
import tokenize
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import gast

from . import errors
from .ir import Loc


@dataclass(frozen=True)
class SourceFunction:
    """A parsed function and what its names can refer to."""

    node: gast.FunctionDef
    filename: str
    lines: tuple[str, ...]  # the file's lines, for locations
    first_line: int  # file line of the dedented source's line 1
    col_shift: int  # columns removed by dedenting
    namespace: Mapping[str, object]  # globals, with closure cells laid over them
    defaults: tuple[object, ...] = ()  # evaluated defaults of positional params, if known
    kwdefaults: Mapping[str, object] = field(default_factory=dict)
    # derivative rules given with @s2sad.custom_derivative: "tangent"/"adjoint" -> function
    rules: Mapping[str, object] = field(default_factory=dict)

    def loc(self, node: gast.AST) -> Loc:
        lineno = getattr(node, "lineno", 1) + self.first_line - 1
        line = self.lines[lineno - 1].rstrip("\n") if 0 < lineno <= len(self.lines) else ""
        # ast columns count UTF-8 bytes of the dedented line; messages count characters
        offset = getattr(node, "col_offset", 0)
        dedented = line[self.col_shift:].encode()[:offset]
        col = len(dedented.decode(errors="ignore")) + self.col_shift
        return Loc(self.filename, lineno, col, line)

    def error(self, kind: type[errors.CompileError], node: gast.AST, message: str):
        return kind.at(self.loc(node), message)


# --------------------------------------------------------------------------------------
# Getting the source


def from_function(f: Callable) -> SourceFunction:
    """Parse a live function; its globals and closure cells resolve the names."""
    name = getattr(f, "__name__", repr(f))
    if not isinstance(f, types.FunctionType):
        raise errors.NoSource(
            f"`{name}` is not a Python function with source code (it is "
            f"{type(f).__name__}); s2sad differentiates functions written with `def`")
    filename = f.__code__.co_filename
    try:
        lines, first = inspect.getsourcelines(f)
    except (OSError, TypeError) as exc:
        message = (f"the source of `{name}` is not available ({exc}); define it with `def` "
                   f"in a file so that s2sad can read it")
        if filename.startswith("<"):  # made by exec or at a prompt: the API points at the caller
            raise errors.NoSource(f"{message} (it comes from {filename})") from None
        raise errors.NoSource(message, filename, f.__code__.co_firstlineno) from None
    if f.__name__ == "<lambda>":
        column = max(lines[0].find("lambda"), 0) if lines else 0
        raise errors.UnsupportedSyntax(
            "a lambda cannot be differentiated yet; define the function with `def`",
            filename, first, column, lines[0] if lines else "")
    namespace = dict(f.__globals__)
    for var, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
        try:
            namespace[var] = cell.cell_contents
        except ValueError:  # an empty cell: the variable is not bound yet
            pass
    try:
        all_lines = tuple(inspect.findsource(f)[0])
    except (OSError, TypeError):
        all_lines = ()
    source = _parse_def(lines, first, filename, f.__name__)
    rules = {k: v for k, v in (getattr(f, "__s2sad_rules__", None) or {}).items()
             if v is not None}
    return SourceFunction(
        source.node, filename, all_lines or tuple(lines), source.first_line,
        source.col_shift, namespace, tuple(f.__defaults__ or ()), dict(f.__kwdefaults__ or {}),
        rules)


def from_file(path: str, name: str) -> SourceFunction:
    """Parse function ``name`` in file ``path`` without importing or running that file.

    Names resolve against the file's imports of standard numeric modules (``math``,
    ``numpy``), its module-level literal constants, and builtins.
    """
    try:
        with tokenize.open(path) as handle:  # honours PEP 263 coding lines and a BOM
            text = handle.read()
    except OSError as exc:
        raise errors.NoSource(f"cannot read {path}: {exc.strerror}", path) from None
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise errors.UnsupportedSyntax(
            f"cannot decode the file: {exc}; save it as UTF-8 or declare its encoding", path,
            getattr(exc, "lineno", None) or 1) from None
    lines = tuple(text.splitlines(keepends=True))
    module = parse(text, path, lines, compiled=True)
    namespace = _static_namespace(module, path)
    for node in module.body:
        if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)) and node.name == name:
            rules = _static_rules(node, namespace)
            source = SourceFunction(node, path, lines, 1, 0, namespace, rules=rules)
            if isinstance(node, gast.AsyncFunctionDef):
                raise unsupported(source, node)
            node.decorator_list = []
            return source
    raise errors.NoSource(f"there is no function `{name}` at the top level of {path}", path)


_IMPORTABLE = ("math", "cmath", "numpy", "scipy")


def _static_rules(node: gast.FunctionDef, namespace: Mapping[str, object]) -> dict:
    """``@s2sad.custom_derivative(adjoint=f_adjoint)`` read off the source."""
    rules: dict[str, object] = {}
    for decorator in node.decorator_list:
        if not isinstance(decorator, gast.Call):
            continue
        func = decorator.func
        name = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", "")
        if name != "custom_derivative":
            continue
        for keyword in decorator.keywords:
            if keyword.arg in ("tangent", "adjoint") and isinstance(keyword.value, gast.Name):
                target = namespace.get(keyword.value.id)
                if target is not None:
                    rules[keyword.arg] = target
    return rules


def _static_namespace(module: gast.Module, path: str) -> dict[str, object]:
    """What a module's top level binds, found without running it."""
    namespace: dict[str, object] = {}
    for node in module.body:
        if isinstance(node, gast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _IMPORTABLE:
                    target = importlib.import_module(alias.name)
                    if alias.asname:
                        namespace[alias.asname] = target
                    else:
                        root = alias.name.split(".")[0]
                        namespace[root] = importlib.import_module(root)
        elif isinstance(node, gast.ImportFrom) and node.module \
                and node.module.split(".")[0] in _IMPORTABLE and not node.level:
            source = importlib.import_module(node.module)
            for alias in node.names:
                if hasattr(source, alias.name):
                    namespace[alias.asname or alias.name] = getattr(source, alias.name)
        elif isinstance(node, (gast.Assign, gast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, gast.Assign) else [node.target]
            try:
                value = ast.literal_eval(gast.gast_to_ast(node.value))
            except (ValueError, TypeError, SyntaxError):
                continue
            for target in targets:
                if isinstance(target, gast.Name):
                    namespace[target.id] = value
        elif isinstance(node, gast.FunctionDef):
            namespace[node.name] = StaticFunction(node.name, path)
    return namespace


# --------------------------------------------------------------------------------------
# Parsing, and how deep a syntax tree s2sad follows

# s2sad's frontend follows the syntax tree recursively (gast's conversion, lowering), a few
# Python frames per level: a sum of 2,000 terms is a tree 2,000 levels deep. It lowers
# trees up to MAX_NESTING deep (Python's own parser stops near 3,000 at its default
# recursion limit) with the recursion limit raised to RECURSION_LIMIT while it does (see
# `deep_recursion`); deeper ones are refused with a located CompileError.
MAX_NESTING = 3000
RECURSION_LIMIT = 5 * MAX_NESTING + 2000  # gast takes 4 frames a level
_TOO_DEEP_FOR_PYTHON = ("the code is nested too deeply for Python's parser (RecursionError); "
                        "give parts of long expressions names of their own")


def parse(text: str, path: str, lines: tuple[str, ...], compiled: bool = False
          ) -> gast.Module:
    """``text`` (the file ``path``) parsed into gast, or a located ``UnsupportedSyntax``.

    ``compiled``: also have Python compile it, so that what Python refuses after parsing
    (a duplicate parameter, ``return`` outside a function) is refused here too."""
    null = text.find("\0")
    if null >= 0:
        lineno = text.count("\n", 0, null) + 1
        column = null - (text.rfind("\n", 0, null) + 1)
        raise errors.UnsupportedSyntax(
            "the file contains a null byte (\\x00), which Python does not accept; remove it",
            path, lineno, column, lines[lineno - 1] if lineno <= len(lines) else "")
    try:
        tree = ast.parse(text, path)
    except SyntaxError as exc:
        raise _syntax_error(exc, "the file does not parse", path) from None
    except (RecursionError, MemoryError):
        raise errors.UnsupportedSyntax(_TOO_DEEP_FOR_PYTHON, path, 1, 0,
                                       lines[0] if lines else "") from None
    if compiled:  # parsed, but Python may still refuse it (checks made while compiling)
        try:
            compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise _syntax_error(exc, "Python does not compile the file", path) from None
        except (RecursionError, MemoryError):
            raise errors.UnsupportedSyntax(_TOO_DEEP_FOR_PYTHON, path, 1, 0,
                                           lines[0] if lines else "") from None
    return _to_gast(tree, path, lines, 1, 0)


def _syntax_error(exc: SyntaxError, what: str, path: str) -> errors.CompileError:
    message = re.sub(r"'(\w+)'", r"`\1`", exc.msg)  # 'return' outside function: as we quote
    return errors.UnsupportedSyntax(f"{what}: {message}", path, exc.lineno or 1,
                                    max((exc.offset or 1) - 1, 0), exc.text or "")


def _to_gast(tree: ast.Module, path: str, lines: tuple[str, ...], first_line: int,
             col_shift: int) -> gast.Module:
    """gast's tree for ``tree``, if it is at most MAX_NESTING deep (else a located error)."""
    depth, deepest = _nesting(tree)
    if depth > MAX_NESTING:
        lineno = getattr(deepest, "lineno", 1) + first_line - 1
        line = lines[lineno - first_line] if 0 <= lineno - first_line < len(lines) else ""
        raise errors.UnsupportedSyntax(
            f"this code is nested {depth} levels deep (a long chain of operators, or nested "
            f"calls or brackets); s2sad follows at most {MAX_NESTING}: give parts of it "
            f"names of their own", path, lineno,
            getattr(deepest, "col_offset", 0) + col_shift, line)
    with deep_recursion():
        return gast.ast_to_gast(tree)


def _nesting(tree: ast.AST) -> tuple[int, ast.AST]:
    """The depth of ``tree`` and a node with a location at that depth (without recursion)."""
    depth, deepest = 0, tree
    stack = [(tree, 1, tree)]
    while stack:
        node, level, located = stack.pop()
        if hasattr(node, "lineno"):
            located = node
        if level > depth:
            depth, deepest = level, located
        # ast.iter_child_nodes written out (a generator per node was half the time)
        for name in node._fields:
            child = getattr(node, name, None)
            if isinstance(child, ast.AST):
                stack.append((child, level + 1, located))
            elif isinstance(child, list):
                stack.extend((item, level + 1, located) for item in child
                             if isinstance(item, ast.AST))
    return depth, deepest


_recursion_lock = threading.Lock()
_recursion_users = 0
_recursion_saved = 0


@contextlib.contextmanager
def deep_recursion() -> Iterator[None]:
    """The recursion limit raised to RECURSION_LIMIT while any thread is inside.

    Counted across threads (the limit is the interpreter's): the first to enter raises it,
    the last to leave restores what it was, unless someone else changed it meanwhile. Only
    Python frames go that deep (gast's conversion, the frontend), not C ones, so the
    C stack is not at risk."""
    global _recursion_users, _recursion_saved
    with _recursion_lock:
        if _recursion_users == 0:
            _recursion_saved = sys.getrecursionlimit()
            if _recursion_saved < RECURSION_LIMIT:
                sys.setrecursionlimit(RECURSION_LIMIT)
        _recursion_users += 1
    try:
        yield
    finally:
        with _recursion_lock:
            _recursion_users -= 1
            if _recursion_users == 0 and sys.getrecursionlimit() == RECURSION_LIMIT \
                    and _recursion_saved < RECURSION_LIMIT:
                sys.setrecursionlimit(_recursion_saved)


@dataclass(frozen=True)
class StaticFunction:
    """A function defined in a file the CLI reads but does not run."""

    name: str
    path: str = ""


def _parse_def(lines: list[str], first: int, filename: str, name: str) -> SourceFunction:
    text = "".join(lines)
    dedented = textwrap.dedent(text)
    shift = (len(lines[0]) - len(lines[0].lstrip())) - (
        len(dedented.splitlines()[0]) - len(dedented.splitlines()[0].lstrip()))
    try:
        tree = ast.parse(dedented)
    except SyntaxError as exc:
        raise errors.NoSource(
            f"the source of `{name}` does not parse on its own ({exc.msg}); define it with "
            f"`def` at the start of a line", filename, first) from None
    except (RecursionError, MemoryError):  # Python compiled it: only a raised limit differs
        raise errors.UnsupportedSyntax(_TOO_DEEP_FOR_PYTHON, filename, first, 0,
                                       lines[0]) from None
    module = _to_gast(tree, filename, tuple(lines), first, shift)
    node = next((n for n in module.body
                 if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef))), None)
    if node is None:
        raise errors.NoSource(f"no `def {name}` found in its source", filename, first)
    source = SourceFunction(node, filename, tuple(lines), first, shift, {})
    if isinstance(node, gast.AsyncFunctionDef):
        raise unsupported(source, node)
    node.decorator_list = []
    return source




_SUBSET_ADVICE = {
    gast.Try: "`try` is not in the differentiable subset; move it outside the function you "
              "differentiate",
    gast.With: "`with` is not in the differentiable subset; move it outside the function "
               "you differentiate",
    gast.ClassDef: "classes are not in the differentiable subset; define the class at "
                   "module level and differentiate a plain function",
    gast.FunctionDef: "nested functions are not supported yet; define the function at "
                      "module level",
    gast.AsyncFunctionDef: "`async` functions are not in the differentiable subset",
    gast.AsyncFor: "`async for` is not in the differentiable subset",
    gast.AsyncWith: "`async with` is not in the differentiable subset",
    gast.Global: "`global` is not in the differentiable subset; pass the value as a "
                 "parameter and return the new value instead",
    gast.Nonlocal: "`nonlocal` is not in the differentiable subset; pass the value as a "
                   "parameter and return the new value instead",
    gast.Raise: "`raise` is not in the differentiable subset; check inputs before calling "
                "the function you differentiate",
    gast.Assert: "`assert` is not in the differentiable subset; check inputs before "
                 "calling the function you differentiate",
    gast.Delete: "`del` is not in the differentiable subset; remove it (values are freed "
                 "when the function returns)",
    gast.Import: "imports inside the function are not in the subset; import at module "
                 "level",
    gast.ImportFrom: "imports inside the function are not in the subset; import at module "
                     "level",
    gast.Break: "`break` outside a loop is not valid Python",
    gast.Continue: "`continue` outside a loop is not valid Python",
    gast.Lambda: "lambdas inside the function are not supported yet; define a function at "
                 "module level",
    gast.Subscript: "this use of indexing is not in the subset; read and write entries "
                    "through a variable's name (`x[i]`, `x[i] = v`, `x[i] += v`)",
    gast.List: "this use of a list is not in the subset; build lists as values "
               "(`[a, b]`, `xs.append(v)`, comprehensions)",
    gast.Dict: "dicts are not in the differentiable subset",
    gast.Set: "sets are not in the differentiable subset",
    gast.ListComp: "this use of a list comprehension is not in the subset",
    gast.SetComp: "set comprehensions are not in the differentiable subset",
    gast.DictComp: "dict comprehensions are not in the differentiable subset",
    gast.GeneratorExp: "generator expressions are not in the differentiable subset",
    gast.Yield: "generators (`yield`) are not in the differentiable subset; return a value",
    gast.YieldFrom: "generators (`yield from`) are not in the differentiable subset",
    gast.Await: "`await` is not in the differentiable subset",
    gast.JoinedStr: "f-strings are not in the differentiable subset",
    gast.Starred: "starred expressions are not in the differentiable subset; pass values "
                  "explicitly",
    gast.NamedExpr: "assignment expressions (`:=`) are not in the subset; use a separate "
                    "assignment",
}
_TRY_STAR = getattr(gast, "TryStar", None)
if _TRY_STAR is not None:
    _SUBSET_ADVICE[_TRY_STAR] = ("`try`/`except*` is not in the differentiable subset; move "
                                 "it outside the function you differentiate")
_MATCH = getattr(gast, "Match", None)
if _MATCH is not None:
    _SUBSET_ADVICE[_MATCH] = "`match` is not in the differentiable subset; use `if`/`elif`"


def unsupported(src: SourceFunction, node: gast.AST) -> errors.CompileError:
    advice = _SUBSET_ADVICE.get(type(node))
    if advice is None:
        advice = f"`{type(node).__name__}` is not in the differentiable subset"
    return src.error(errors.UnsupportedSyntax, node, advice)
