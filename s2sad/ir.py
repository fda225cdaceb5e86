"""The Wengert-list IR: small frozen dataclasses, a printer, a parser and a verifier.

A function is a list of statements; each statement defines its results exactly once (SSA).
Straight-line code is a list of ``Op``s, one primitive each. Control flow stays structured:
``If``, ``For`` and ``While`` own ``Region``s whose ``params`` receive values (the loop
index, loop-carried values) and whose ``yields`` hand values back, like MLIR's ``scf``
iter_args. Every statement prints as Wengert lines and the text parses back::

    def foo(x, y):
        a = add x 5
        b = mul a y
        return b

Names: ``a`` is a user variable, ``a.1`` a later SSA version of it (the emitter turns it
back into ``a`` or ``a_1``), ``%3`` a temporary the user never named (emitted ``t1``,
``t2``, ... in order). ``@math.pi`` is a global the function reads (never differentiated).
Locations and comments are typed fields that do not take part in equality.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union

from .primitives import Prim, prim_by_name


class IRError(Exception):
    """The IR text does not parse or a function does not verify (an internal error)."""


@dataclass(frozen=True)
class Loc:
    """Where a statement comes from in the user's source."""

    filename: str
    lineno: int
    col: int
    line: str = ""  # the source line, for messages and comments

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}:{self.col}"


# Var's objects by name. Names only (no values): it grows with the distinct names of the
# code compiled, which repeat from one function to the next (%1, %2, ..., dbda); a weak
# table cost more than the hashing it saves
_interned: dict[str, Var] = {}


@dataclass(frozen=True, eq=False, init=False)
class Var:
    """An SSA value: ``a``, ``a.1`` (a later version of ``a``) or ``%3`` (a temporary).

    There is one ``Var`` object per name (``Var("a") is Var("a")``), so equality by name
    is identity and hashing is ``object``'s, done in C: values are hashed and compared in
    every pass, tens of thousands of times a compile, and a hash written in Python was a
    tenth of the time. Nothing may depend on the order of a set of values (hashes are
    addresses now, as they were per-process string hashes before)."""

    name: str

    def __new__(cls, name: str) -> Var:
        var = _interned.get(name)
        if var is None:
            var = object.__new__(cls)
            object.__setattr__(var, "name", name)
            # setdefault is one atomic step: two threads making a name at once get one
            # object
            var = _interned.setdefault(name, var)
        return var

    def __reduce__(self) -> tuple:
        return (Var, (self.name,))  # copies and pickles come back as the one object

    @property
    def is_temp(self) -> bool:
        return self.name.startswith("%")

    @property
    def base(self) -> str:
        """The readable name the value wants in generated code (``a`` for ``a.2``)."""
        return self.name.split(".")[0]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    """A literal: a number, bool, None, string, or a tuple of those."""

    value: object

    def __str__(self) -> str:
        if isinstance(self.value, float) and not math.isfinite(self.value):
            return f"float('{self.value}')"  # inf, -inf, nan have no literal
        return repr(self.value)


@dataclass(frozen=True)
class Global:
    """A module-level name the function reads (``math.pi``, ``N``); never differentiated."""

    path: str

    def __str__(self) -> str:
        return "@" + self.path


Value = Union[Var, Const, Global]


@dataclass(frozen=True)
class Op:
    """``results = prim(args, **params)``: one Wengert line."""

    results: tuple[Var, ...]
    prim: Prim
    args: tuple[Value, ...]
    params: tuple[tuple[str, Const], ...] = ()
    loc: Loc | None = field(default=None, compare=False)

    @property
    def result(self) -> Var:
        (only,) = self.results
        return only

    @property
    def effect(self) -> bool:
        return self.prim.spec.effect


@dataclass(frozen=True)
class Comment:
    """A comment in generated code, tying an adjoint or tangent block to its primal op."""

    text: str
    of: Op | None = None  # the primal op; the emitter prints it as Python after ``text``


@dataclass(frozen=True)
class Region:
    """A block of statements that receives ``params`` and hands back ``yields``."""

    params: tuple[Var, ...]
    body: tuple[Stmt, ...]
    yields: tuple[Value, ...]


@dataclass(frozen=True)
class If:
    """``results = then.yields if cond else orelse.yields``; both regions take no params."""

    results: tuple[Var, ...]
    cond: Value
    then: Region
    orelse: Region
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class For:
    """A counted loop: ``body.params == (index, *carried)``, ``body.yields`` the next carried.

    ``results`` are the carried values after the last iteration (``inits`` if none ran).
    """

    results: tuple[Var, ...]
    start: Value
    stop: Value
    step: Value
    inits: tuple[Value, ...]
    body: Region
    loc: Loc | None = field(default=None, compare=False)
    reverse: bool = False  # iterate ``reversed(range(start, stop, step))`` (adjoint loops)
    checkpoint: int | None = None  # reverse mode recomputes it: states kept (0: default)


@dataclass(frozen=True)
class While:
    """``cond`` and ``body`` both receive the carried values; ``cond`` yields one bool."""

    results: tuple[Var, ...]
    inits: tuple[Value, ...]
    cond: Region
    body: Region
    loc: Loc | None = field(default=None, compare=False)
    checkpoint: int | None = None  # as For's


Stmt = Union[Op, Comment, If, For, While]

# What a function returns: one value or a (nested) tuple of them.
Out = Union[Value, tuple["Out", ...]]


@dataclass(frozen=True)
class Param:
    var: Var
    default: Value | None = None
    kwonly: bool = False


@dataclass(frozen=True)
class Function:
    """A function in Wengert form.

    ``keep`` lists values computed for the reader even when nothing returned needs them
    (a gradient keeps the primal result, so the listing shows the user's whole computation).
    """

    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    out: Out
    keep: tuple[Var, ...] = ()
    loc: Loc | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # returning a tuple constant is returning a tuple of constants: one spelling only
        object.__setattr__(self, "out", _normal_out(self.out))

    def replace(self, **changes: object) -> Function:
        return dataclasses.replace(self, **changes)


def _normal_out(out: object) -> object:
    if isinstance(out, tuple):
        return tuple(_normal_out(o) for o in out)
    if isinstance(out, Const) and isinstance(out.value, tuple):
        return tuple(_normal_out(Const(v)) for v in out.value)
    return out


# ---------------------------------------------------------------------------------------
# Walking


def values_used(stmt: Stmt) -> list[Value]:
    """Every operand a statement reads, its regions included (their yields too)."""
    found: list[Value] = []
    _collect_uses(stmt, found)
    return found


def region_uses(region: Region) -> list[Value]:
    found: list[Value] = []
    for stmt in region.body:
        _collect_uses(stmt, found)
    found.extend(region.yields)
    return found


def _collect_uses(stmt: Stmt, found: list[Value]) -> None:
    """``values_used`` into a list: a generator per statement and region, nested as deep
    as the code, cost more than the passes that asked."""
    if isinstance(stmt, Op):
        found.extend(stmt.args)
        return
    if isinstance(stmt, If):
        found.append(stmt.cond)
        regions: tuple[Region, ...] = (stmt.then, stmt.orelse)
    elif isinstance(stmt, For):
        found.extend((stmt.start, stmt.stop, stmt.step, *stmt.inits))
        regions = (stmt.body,)
    elif isinstance(stmt, While):
        found.extend(stmt.inits)
        regions = (stmt.cond, stmt.body)
    else:
        return
    for region in regions:
        for inner in region.body:
            _collect_uses(inner, found)
        found.extend(region.yields)


def results_of(stmt: Stmt) -> tuple[Var, ...]:
    return () if isinstance(stmt, Comment) else stmt.results


def out_values(out: Out) -> Iterator[Value]:
    if isinstance(out, tuple):
        for item in out:
            yield from out_values(item)
    else:
        yield out


def map_out(out: Out, f) -> Out:
    if isinstance(out, tuple):
        return tuple(map_out(item, f) for item in out)
    return f(out)


def all_names(fn: Function) -> set[str]:
    """Every SSA name defined in ``fn`` (params, results, region params)."""
    names = {p.var.name for p in fn.params}

    def visit(body: tuple[Stmt, ...]) -> None:
        for stmt in body:
            names.update(v.name for v in results_of(stmt))
            for region in regions_of(stmt):
                names.update(v.name for v in region.params)
                visit(region.body)

    visit(fn.body)
    return names


def regions_of(stmt: Stmt) -> tuple[Region, ...]:
    if isinstance(stmt, (Op, Comment)):  # most statements: asked first
        return ()
    if isinstance(stmt, If):
        return (stmt.then, stmt.orelse)
    if isinstance(stmt, For):
        return (stmt.body,)
    if isinstance(stmt, While):
        return (stmt.cond, stmt.body)
    return ()


def defined_inside(region: Region) -> set[Var]:
    """Every value a region defines: its params and the results of its statements, nested
    regions included."""
    found = set(region.params)
    for stmt in region.body:
        found.update(results_of(stmt))
        for inner in regions_of(stmt):
            found |= defined_inside(inner)
    return found


def defining_ops(fn: Function) -> dict[Var, Op]:
    """Each value an op computes -> that op, regions included."""
    found: dict[Var, Op] = {}

    def walk(body: tuple[Stmt, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, Op):
                for r in stmt.results:
                    found[r] = stmt
            for region in regions_of(stmt):
                walk(region.body)

    walk(fn.body)
    return found


def map_regions(stmt: Stmt, f) -> Stmt:
    """``stmt`` with ``f(region)`` in place of each of its regions."""
    if isinstance(stmt, If):
        return dataclasses.replace(stmt, then=f(stmt.then), orelse=f(stmt.orelse))
    if isinstance(stmt, For):
        return dataclasses.replace(stmt, body=f(stmt.body))
    if isinstance(stmt, While):
        return dataclasses.replace(stmt, cond=f(stmt.cond), body=f(stmt.body))
    return stmt


def substitute(body: tuple[Stmt, ...], mapping: dict[Var, Value]) -> tuple[Stmt, ...]:
    """Replace uses (not definitions) of the vars in ``mapping``, regions included.

    A statement that reads none of them is kept as it is (the same object), and so is a
    body none of whose statements changes: passes substitute a few values into whole
    functions, and rebuilding every statement was most of the work."""
    if not mapping:
        return body

    def sub(v: Value) -> Value:
        return mapping.get(v, v) if isinstance(v, Var) else v

    def reads(values: tuple[Value, ...]) -> bool:
        return any(v in mapping for v in values if isinstance(v, Var))

    def sub_region(r: Region) -> Region:
        inner = substitute(r.body, mapping)
        if inner is r.body and not reads(r.yields):
            return r
        return Region(r.params, inner, tuple(map(sub, r.yields)))

    out: list[Stmt] = []
    changed = False
    for stmt in body:
        new = stmt
        if isinstance(stmt, Op):
            if reads(stmt.args):  # the constructor: a third of dataclasses.replace's time
                new = Op(stmt.results, stmt.prim, tuple(map(sub, stmt.args)), stmt.params,
                         stmt.loc)
        elif isinstance(stmt, Comment):
            if stmt.of is not None and reads(stmt.of.args):
                of = stmt.of
                new = Comment(stmt.text, Op(of.results, of.prim, tuple(map(sub, of.args)),
                                            of.params, of.loc))
        elif isinstance(stmt, If):
            then, orelse = sub_region(stmt.then), sub_region(stmt.orelse)
            if reads((stmt.cond,)) or then is not stmt.then or orelse is not stmt.orelse:
                new = dataclasses.replace(stmt, cond=sub(stmt.cond), then=then, orelse=orelse)
        elif isinstance(stmt, For):
            region = sub_region(stmt.body)
            if reads((stmt.start, stmt.stop, stmt.step, *stmt.inits)) \
                    or region is not stmt.body:
                new = dataclasses.replace(
                    stmt, start=sub(stmt.start), stop=sub(stmt.stop), step=sub(stmt.step),
                    inits=tuple(map(sub, stmt.inits)), body=region)
        elif isinstance(stmt, While):
            cond, region = sub_region(stmt.cond), sub_region(stmt.body)
            if reads(stmt.inits) or cond is not stmt.cond or region is not stmt.body:
                new = dataclasses.replace(stmt, inits=tuple(map(sub, stmt.inits)),
                                          cond=cond, body=region)
        changed = changed or new is not stmt
        out.append(new)
    return tuple(out) if changed else body


def substitute_function(fn: Function, mapping: dict[Var, Value]) -> Function:
    def sub(v: Value) -> Value:
        return mapping.get(v, v) if isinstance(v, Var) else v

    keep = tuple(k for k in (sub(k) for k in fn.keep) if isinstance(k, Var))
    return fn.replace(body=substitute(fn.body, mapping), out=map_out(fn.out, sub), keep=keep)


class Names:
    """Hands out SSA names not yet used in a function: ``base``, ``base.1``, ``%7``."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.taken: set[str] = set(taken or ())
        self.next_temp = 1 + max(
            (int(n[1:]) for n in self.taken if n.startswith("%") and n[1:].isdigit()),
            default=0)
        self.next_version: dict[str, int] = {}

    @classmethod
    def of(cls, fn: Function) -> Names:
        return cls(all_names(fn))

    def temp(self) -> Var:
        name = f"%{self.next_temp}"
        self.next_temp += 1
        self.taken.add(name)
        return Var(name)

    def fresh(self, base: str) -> Var:
        """``base`` itself if free, else its next free SSA version."""
        if base.startswith("%"):
            return self.temp()
        name = base
        k = self.next_version.get(base, 1)
        while name in self.taken:
            name = f"{base}.{k}"
            k += 1
        self.next_version[base] = k
        self.taken.add(name)
        return Var(name)


# ---------------------------------------------------------------------------------------
# Printing


def format_value(v: Value) -> str:
    return str(v)


def format_op(op: Op) -> str:
    lhs = ", ".join(r.name for r in op.results)
    parts = [op.prim.value, *map(format_value, op.args)]
    parts += [f"{k}={v}" for k, v in op.params]
    return f"{lhs} = {' '.join(parts)}" if lhs else " ".join(parts)


def _assign(results: tuple[Var, ...], rhs: str) -> str:
    lhs = ", ".join(r.name for r in results)
    return f"{lhs} = {rhs}" if lhs else rhs


def format_out(out: Out) -> str:
    if isinstance(out, tuple):
        inner = ", ".join(format_out(o) for o in out)
        return f"({inner},)" if len(out) == 1 else f"({inner})"
    return format_value(out)


def format_function(fn: Function, locs: bool = False) -> str:
    """The textual Wengert list; with ``locs``, each line ends in ``# file:line:col``."""
    params = []
    for p in fn.params:
        text = p.var.name + ("" if p.default is None else f"={format_value(p.default)}")
        params.append(("*" if p.kwonly else "") + text)
    lines = [f"def {fn.name}({', '.join(params)}):"]
    _format_body(fn.body, 1, lines, locs)
    if fn.keep:
        lines.append("    keep " + ", ".join(v.name for v in fn.keep))
    lines.append(f"    return {format_out(fn.out)}")
    return "\n".join(lines) + "\n"


def _format_body(body: tuple[Stmt, ...], depth: int, lines: list[str], locs: bool) -> None:
    pad = "    " * depth

    def with_loc(text: str, loc: Loc | None) -> str:
        return f"{text}  # {loc}" if locs and loc is not None else text

    def region(r: Region, header: str) -> None:
        lines.append(pad + header)
        _format_body(r.body, depth + 1, lines, locs)
        yields = ", ".join(map(format_value, r.yields))
        lines.append(pad + ("    yield " + yields if yields else "    yield"))

    for stmt in body:
        if isinstance(stmt, Op):
            lines.append(pad + with_loc(format_op(stmt), stmt.loc))
        elif isinstance(stmt, Comment):
            text = stmt.text if stmt.of is None else f"{stmt.text}: {format_op(stmt.of)}"
            lines.append(pad + "# " + text)
        elif isinstance(stmt, If):
            region(stmt.then, with_loc(
                _assign(stmt.results, f"if {format_value(stmt.cond)}:"), stmt.loc))
            region(stmt.orelse, "else:")
        elif isinstance(stmt, For):
            index, *carried = stmt.body.params
            bounds = ", ".join(map(format_value, (stmt.start, stmt.stop, stmt.step)))
            carry = ", ".join(f"{c.name}={format_value(i)}" for c, i in zip(carried, stmt.inits))
            iterable = f"reversed(range({bounds}))" if stmt.reverse else f"range({bounds})"
            region(stmt.body, with_loc(_assign(
                stmt.results, f"for {index.name} in {iterable} carry({carry})"
                f"{_checkpoint_text(stmt)}:"), stmt.loc))
        elif isinstance(stmt, While):
            carry = ", ".join(
                f"{c.name}={format_value(i)}" for c, i in zip(stmt.cond.params, stmt.inits))
            region(stmt.cond, with_loc(_assign(
                stmt.results, f"while carry({carry}){_checkpoint_text(stmt)}:"), stmt.loc))
            region(stmt.body, "do(" + ", ".join(p.name for p in stmt.body.params) + "):")
        else:  # pragma: no cover - the Stmt union is closed
            raise IRError(f"cannot print {stmt!r}")


def _checkpoint_text(stmt: For | While) -> str:
    if stmt.checkpoint is None:
        return ""
    return " checkpoint" + (f"({stmt.checkpoint})" if stmt.checkpoint else "")


# ---------------------------------------------------------------------------------------
# Parsing

_NAME = r"(?:%\d+|[A-Za-z_]\w*(?:\.\d+)?)"
_KEEP = re.compile(r"^keep (?!= )")
_LOC = re.compile(r"^(?P<text>.*?)\s+#\s+(?P<file>.+):(?P<line>\d+):(?P<col>\d+)$")


def parse_value(text: str) -> Value:
    text = text.strip()
    if text.startswith("@"):
        return Global(text[1:])
    special = re.fullmatch(r"float\('(-?inf|nan)'\)", text)
    if special:
        return Const(float(special.group(1)))
    if re.fullmatch(_NAME, text) and text not in ("True", "False", "None"):
        return Var(text)
    try:
        return Const(ast.literal_eval(text))
    except (ValueError, SyntaxError) as exc:
        raise IRError(f"not a value: {text!r}") from exc


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside brackets and string literals (escapes respected)."""
    parts, depth, quote, escaped, current = [], 0, "", False, ""
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return parts


def _split_operands(text: str) -> list[str]:
    return [p for p in _split(text, " ") if p]


def _split_commas(text: str) -> list[str]:
    return _split(text, ",")


def parse_op(text: str, loc: Loc | None = None) -> Op:
    lhs, sep, rhs = text.partition(" = ")
    if not sep:  # an op that defines nothing: ``push tape a``
        lhs, rhs = "", text
    words = _split_operands(rhs)
    if not words:
        raise IRError(f"no primitive in {text!r}")
    prim = prim_by_name(words[0])
    if prim is None:
        raise IRError(f"unknown primitive {words[0]!r} in {text!r}")
    args, params = [], []
    for word in words[1:]:
        key, eq, rest = word.partition("=")
        if eq and re.fullmatch(r"[A-Za-z_]\w*", key):
            value = parse_value(rest)
            if not isinstance(value, Const):
                raise IRError(f"op parameter {key} must be a literal in {text!r}")
            params.append((key, value))
        else:
            args.append(parse_value(word))
    results = tuple(Var(n.strip()) for n in lhs.split(",") if n.strip())
    return Op(results, prim, tuple(args), tuple(params), loc)


def parse_function(text: str) -> Function:
    """Parse what ``format_function`` prints (with or without locations)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise IRError("empty IR text")
    header = re.fullmatch(r"def ([A-Za-z_]\w*)\((.*)\):", lines[0].strip())
    if not header:
        raise IRError(f"bad function header: {lines[0]!r}")
    params = []
    for item in filter(None, (s.strip() for s in _split_commas(header.group(2)))):
        kwonly = item.startswith("*")
        name, eq, default = item.lstrip("*").partition("=")
        params.append(Param(Var(name), parse_value(default) if eq else None, kwonly))
    reader = _Lines(lines[1:])
    body = _parse_body(reader, 1)
    keep: tuple[Var, ...] = ()
    line = reader.next_at(1)
    if _KEEP.match(line):
        keep = tuple(Var(n.strip()) for n in line[5:].split(","))
        line = reader.next_at(1)
    if not line.startswith("return "):
        raise IRError(f"expected return, got {line!r}")
    out = _parse_out(line[len("return "):])
    if reader.pos != len(reader.lines):
        raise IRError(f"text after return: {reader.lines[reader.pos]!r}")
    return Function(header.group(1), tuple(params), body, out, keep)


def _parse_out(text: str) -> Out:
    text = text.strip()
    if text.startswith("(") and _closing_paren(text) == len(text) - 1:
        items = _split_commas(text[1:-1])
        if items and not items[-1].strip():  # (a,) or (a, b,)
            items = items[:-1]
        return tuple(_parse_out(item) for item in items)
    return parse_value(text)


def _closing_paren(text: str) -> int:
    """The index of the parenthesis closing the one that opens ``text`` (-1 if none)."""
    depth, quote, escaped = 0, "", False
    for i, ch in enumerate(text):
        if quote:
            escaped = not escaped and ch == "\\"
            if ch == quote and not escaped:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self.lines, self.pos = lines, 0

    def depth(self) -> int:
        if self.pos >= len(self.lines):
            return -1
        line = self.lines[self.pos]
        return (len(line) - len(line.lstrip(" "))) // 4

    def next_at(self, depth: int) -> str:
        if self.depth() != depth:
            got = self.lines[self.pos] if self.pos < len(self.lines) else "end of text"
            raise IRError(f"expected a line indented {depth} levels, got {got!r}")
        line = self.lines[self.pos].strip()
        self.pos += 1
        return line


def _split_loc(line: str) -> tuple[str, Loc | None]:
    m = _LOC.match(line)
    if m and not line.startswith("#"):
        return m.group("text"), Loc(m.group("file"), int(m.group("line")), int(m.group("col")))
    return line, None


def _parse_body(reader: _Lines, depth: int) -> tuple[Stmt, ...]:
    body: list[Stmt] = []
    while reader.depth() == depth:
        raw = reader.lines[reader.pos].strip()
        if raw.startswith(("return ", "yield ")) or raw in ("yield", "else:") \
                or _KEEP.match(raw) or raw.startswith("do("):
            break
        line, loc = _split_loc(reader.next_at(depth))
        if line.startswith("# "):
            body.append(_parse_comment(line[2:]))
            continue
        lhs, sep, rhs = line.partition(" = ")
        if not sep or lhs.startswith(("if ", "for ", "while ")):  # defines nothing
            lhs, rhs = "", line
        results = tuple(Var(n.strip()) for n in lhs.split(",") if n.strip())
        if rhs.startswith("if ") and rhs.endswith(":"):
            cond = parse_value(rhs[3:-1])
            then = _parse_region(reader, depth, ())
            if reader.next_at(depth) != "else:":
                raise IRError("if without else")
            orelse = _parse_region(reader, depth, ())
            body.append(If(results, cond, then, orelse, loc))
        elif rhs.startswith("for "):
            m = re.fullmatch(
                rf"for ({_NAME}) in (reversed\()?range\((.*?)\)\)? carry\((.*?)\)"
                rf"{_CHECKPOINT}:", rhs)
            if not m:
                raise IRError(f"bad for header: {line!r}")
            start, stop, step = (parse_value(s) for s in _split_commas(m.group(3)))
            carried, inits = _parse_carry(m.group(4))
            region = _parse_region(reader, depth, (Var(m.group(1)), *carried))
            body.append(For(results, start, stop, step, inits, region, loc,
                            reverse=m.group(2) is not None,
                            checkpoint=_parse_checkpoint(m.group(5), m.group(6))))
        elif rhs.startswith("while "):
            m = re.fullmatch(rf"while carry\((.*?)\){_CHECKPOINT}:", rhs)
            if not m:
                raise IRError(f"bad while header: {line!r}")
            carried, inits = _parse_carry(m.group(1))
            cond = _parse_region(reader, depth, carried)
            do = re.fullmatch(r"do\((.*)\):", reader.next_at(depth))
            if not do:
                raise IRError("while without do")
            params = tuple(Var(n.strip()) for n in do.group(1).split(",") if n.strip())
            body.append(While(results, inits, cond, _parse_region(reader, depth, params), loc,
                              _parse_checkpoint(m.group(2), m.group(3))))
        else:
            body.append(parse_op(line, loc))
    return tuple(body)


_CHECKPOINT = r"( checkpoint(?:\((\d+)\))?)?"


def _parse_checkpoint(marked: str | None, states: str | None) -> int | None:
    return None if marked is None else int(states or 0)


def _parse_comment(text: str) -> Comment:
    head, sep, op_text = text.partition(": ")
    if sep and " = " in op_text:
        try:
            return Comment(head, parse_op(op_text))
        except (IRError, ValueError, SyntaxError):
            pass  # a plain comment that only looks like "text: a = b"
    return Comment(text)


def _parse_carry(text: str) -> tuple[tuple[Var, ...], tuple[Value, ...]]:
    carried, inits = [], []
    for item in filter(None, (s.strip() for s in _split_commas(text))):
        name, _, init = item.partition("=")
        carried.append(Var(name))
        inits.append(parse_value(init))
    return tuple(carried), tuple(inits)


def _parse_region(reader: _Lines, depth: int, params: tuple[Var, ...]) -> Region:
    body = _parse_body(reader, depth + 1)
    line = reader.next_at(depth + 1)
    if not (line == "yield" or line.startswith("yield ")):
        raise IRError(f"expected yield, got {line!r}")
    yields = tuple(parse_value(s) for s in _split_commas(line[5:]) if s.strip())
    return Region(params, body, yields)


# ---------------------------------------------------------------------------------------
# Verifying


def verify(fn: Function) -> None:
    """Check SSA form: every value defined before use, each name assigned once, arities.

    Raises ``IRError`` showing the offending line among its neighbours.
    """
    defined: set[str] = set()

    def fail(message: str, stmt: Stmt | None) -> None:
        text = format_function(fn)
        if stmt is not None and isinstance(stmt, Op):
            needle = format_op(stmt)
            lines = text.splitlines()
            at = next((i for i, ln in enumerate(lines) if ln.strip() == needle), None)
            if at is not None:
                window = lines[max(0, at - 3): at + 4]
                marked = [("--> " if ln.strip() == needle else "    ") + ln for ln in window]
                text = "\n".join(marked)
        raise IRError(f"{message}\n{text}")

    def define(v: Var, stmt: Stmt | None) -> None:
        if not isinstance(v, Var):
            fail(f"cannot assign to {v!r}", stmt)
        if v.name in defined:
            fail(f"{v.name} is assigned more than once", stmt)
        defined.add(v.name)

    def use(v: Value, scope: set[str], stmt: Stmt | None) -> None:
        if isinstance(v, Var) and v.name not in scope:
            fail(f"{v.name} is used before it is defined", stmt)

    def check(body: tuple[Stmt, ...], scope: set[str]) -> None:
        scope = set(scope)
        for stmt in body:
            if isinstance(stmt, Op):
                lo, hi = stmt.prim.arity
                if not lo <= len(stmt.args) <= hi:
                    fail(f"{stmt.prim.value} takes {lo}..{hi} operands, got "
                         f"{len(stmt.args)}", stmt)
                lo, hi = stmt.prim.n_results
                if not lo <= len(stmt.results) <= hi:
                    count = str(lo) if lo == hi else f"{lo} or more"
                    fail(f"{stmt.prim.value} defines {count} result(s), not "
                         f"{len(stmt.results)}", stmt)
                for a in stmt.args:
                    use(a, scope, stmt)
            elif isinstance(stmt, Comment):
                continue
            else:
                for v in values_used_here(stmt):
                    use(v, scope, stmt)
                n = len(stmt.results)
                if not isinstance(stmt, If) and len(stmt.inits) != n:
                    fail(f"a loop carries {len(stmt.inits)} values into {n} results", stmt)
                for region, n_params, n_yields in _region_shapes(stmt):
                    if len(region.params) != n_params:
                        fail(f"a region takes {len(region.params)} params, expected "
                             f"{n_params}", stmt)
                    for p in region.params:
                        define(p, stmt)
                    inner = scope | {p.name for p in region.params}
                    check(region.body, inner)
                    inner = inner | _defined_in(region.body)
                    for y in region.yields:
                        use(y, inner, stmt)
                    if len(region.yields) != n_yields:
                        fail(f"a region yields {len(region.yields)} values, expected "
                             f"{n_yields}", stmt)
            for r in results_of(stmt):
                define(r, stmt)
                scope.add(r.name)

    params = set()
    for p in fn.params:
        define(p.var, None)
        params.add(p.var.name)
    check(fn.body, params)
    top = params | _defined_in(fn.body)
    for v in out_values(fn.out):
        use(v, top, None)
    for v in fn.keep:
        use(v, top, None)


def _region_shapes(stmt: Stmt) -> list[tuple[Region, int, int]]:
    """Each region of a control-flow statement with its expected param and yield counts."""
    n = len(stmt.results)
    if isinstance(stmt, If):
        return [(stmt.then, 0, n), (stmt.orelse, 0, n)]
    if isinstance(stmt, For):
        return [(stmt.body, 1 + len(stmt.inits), n)]
    return [(stmt.cond, len(stmt.inits), 1), (stmt.body, len(stmt.inits), n)]


def values_used_here(stmt: Stmt) -> tuple[Value, ...]:
    """The operands a statement reads itself, not those read inside its regions."""
    if isinstance(stmt, Op):
        return stmt.args
    if isinstance(stmt, If):
        return (stmt.cond,)
    if isinstance(stmt, For):
        return (stmt.start, stmt.stop, stmt.step, *stmt.inits)
    if isinstance(stmt, While):
        return stmt.inits
    return ()


def _defined_in(body: tuple[Stmt, ...]) -> set[str]:
    return {r.name for stmt in body for r in results_of(stmt)}
