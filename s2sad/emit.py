"""Emit: IR -> gast -> Python source (astor) -> a compiled function.

Takes a verified ``Function`` and the objects its globals name; returns readable source
and, through ``compile_generated``, a plain Python function whose lines tracebacks and
``inspect.getsource`` show (the source is registered in ``linecache``).

Out of SSA: each value gets the readable name its SSA name stands for (``a.1`` -> ``a``)
unless a value still alive holds that name, in which case it becomes ``a_1``; temporaries
become ``t1``, ``t2`` ... in order. So a user's ``x = x * 2`` comes out as written, and a
value the adjoint still needs keeps its own name::

    b = mul a y                 b = a * y
    # adjoint of: b = mul a y   # adjoint of: b = a * y
    dbda = mul y dbdb    ->     dbda = y * dbdb

Everything here is deterministic: the same IR gives the same bytes.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import linecache
import math
from collections.abc import Callable
from dataclasses import dataclass

import astor
import gast
import numpy

from .errors import CompileError
from .ir import Comment, Const, Function, Global, Op, Stmt, Value, Var, out_values, values_used
from .primitives import Prim

MODULES = {"math": math, "np": numpy}

HELPERS = {
    Prim.ZEROS_LIKE: (
        "_zeros_like",
        'def _zeros_like(x):\n'
        '    """A zero shaped like x: the derivative of an output that ignores x."""\n'
        '    if isinstance(x, (int, float)):\n'
        '        return 0.0\n'
        '    return np.zeros_like(x)[()]\n',
        ("np",),
    ),
}


@dataclass(frozen=True)
class Generated:
    """Generated source and the names it reads from outside (``math``, user constants)."""

    name: str
    source: str
    bindings: dict[str, object]
    modules: tuple[str, ...]  # aliases of MODULES the source uses


def emit(fn: Function, bindings: dict[str, object]) -> Generated:
    prims = _prims_used(fn.body)
    modules = sorted({spec_module(p) for p in prims} - {None}
                     | {m for p in prims if p in HELPERS for m in HELPERS[p][2]})
    for alias in modules:
        if alias in bindings and bindings[alias] is not MODULES[alias]:
            raise CompileError.at(fn.loc, f"the generated code needs `{alias}` for the "
                                  f"module {MODULES[alias].__name__}, but `{alias}` names "
                                  f"something else in your module; rename it")
    reserved = set(bindings) | set(modules) | {fn.name} | {
        p.spec.call for p in prims if p.spec.call and "." not in p.spec.call}
    names = _final_names(fn, reserved)
    printer = _Printer(names)
    lines = [printer.header(fn)]
    for stmt in fn.body:
        lines.extend("    " + line for line in printer.statement(stmt))
    lines.append("    " + printer.ret(fn.out))
    helpers = [HELPERS[p][1] for p in sorted(prims, key=lambda p: p.value) if p in HELPERS]
    source = "\n".join(helpers + ["\n".join(lines) + "\n"])
    return Generated(fn.name, source, dict(bindings), tuple(modules))


def spec_module(p: Prim) -> str | None:
    call = p.spec.call
    if call and "." in call:
        return call.split(".")[0]
    return None


def _prims_used(body: tuple[Stmt, ...]) -> set[Prim]:
    return {s.prim for s in body if isinstance(s, Op)}


# --------------------------------------------------------------------------------------
# Out of SSA


def _final_names(fn: Function, reserved: set[str]) -> dict[Var, str]:
    """A Python name for every value: its own where free, ``base_k`` where not."""
    definitions: list[tuple[int, Var]] = [(-1, p.var) for p in fn.params]
    last_use: dict[Var, int] = {}
    for i, stmt in enumerate(fn.body):
        if isinstance(stmt, Op):
            definitions.extend((i, r) for r in stmt.results)
        for v in values_used(stmt):
            if isinstance(v, Var):
                last_use[v] = i
    end = len(fn.body)
    for v in list(out_values(fn.out)) + list(fn.keep):
        if isinstance(v, Var):
            last_use[v] = end
    bases = {v.base for _, v in definitions if not v.is_temp}
    holder: dict[str, Var] = {}
    names: dict[Var, str] = {}
    temp_count = 0
    for position, var in definitions:
        if var.is_temp:
            while True:
                temp_count += 1
                candidate = f"t{temp_count}"
                if candidate not in reserved and candidate not in bases:
                    break
            names[var] = candidate
            continue
        k = 0
        while True:
            candidate = var.base if k == 0 else f"{var.base}_{k}"
            k += 1
            if keyword.iskeyword(candidate) or candidate in reserved:
                continue
            if k > 1 and candidate in bases:
                continue
            held = holder.get(candidate)
            if held is not None and last_use.get(held, -1) > position:
                continue
            break
        holder[candidate] = var
        names[var] = candidate
    return names


# --------------------------------------------------------------------------------------
# Printing through gast and astor


class _Printer:
    def __init__(self, names: dict[Var, str]) -> None:
        self.names = names

    def value(self, v: Value) -> gast.expr:
        if isinstance(v, Var):
            return gast.Name(self.names.get(v, v.name), gast.Load(), None, None)
        if isinstance(v, Global):
            return _dotted(v.path)
        if isinstance(v.value, tuple):
            return gast.Tuple([self.value(Const(x)) for x in v.value], gast.Load())
        if isinstance(v.value, float) and not math.isfinite(v.value):  # no literal exists
            return gast.Call(gast.Name("float", gast.Load(), None, None),
                             [gast.Constant(str(v.value), None)], [])
        return gast.Constant(v.value, None)

    def expr(self, op: Op) -> gast.expr:
        spec = op.prim.spec
        args = [self.value(a) for a in op.args]
        if op.prim is Prim.COPY:
            return args[0]
        if spec.infix is not None:
            if op.prim.value in ("lt", "le", "gt", "ge", "eq", "ne"):
                return gast.Compare(args[0], [_COMPARE[op.prim]()], [args[1]])
            return gast.BinOp(args[0], _BINARY[op.prim](), args[1])
        if spec.prefix is not None:
            return gast.UnaryOp(_UNARY[op.prim](), args[0])
        return gast.Call(_dotted(spec.call), args, [])

    def assignment(self, op: Op) -> str:
        targets = [gast.Name(self.names.get(r, r.name), gast.Store(), None, None)
                   for r in op.results]
        target = targets[0] if len(targets) == 1 else gast.Tuple(targets, gast.Store())
        return _source(gast.Assign([target], self.expr(op), None))

    def statement(self, stmt: Stmt) -> list[str]:
        if isinstance(stmt, Op):
            return [self.assignment(stmt)]
        if isinstance(stmt, Comment):
            text = stmt.text if stmt.of is None else f"{stmt.text}: {self.assignment(stmt.of)}"
            return ["# " + text]
        raise NotImplementedError(f"emitting {type(stmt).__name__}")  # control flow: issue 3

    def out(self, out: object) -> gast.expr:
        if isinstance(out, tuple):
            return gast.Tuple([self.out(o) for o in out], gast.Load())
        return self.value(out)

    def ret(self, out: object) -> str:
        if isinstance(out, tuple) and len(out) == 1:  # astor would print `return x,`
            return f"return ({_source(self.out(out[0]))},)"
        return _source(gast.Return(self.out(out)))

    def header(self, fn: Function) -> str:
        positional = [p for p in fn.params if not p.kwonly]
        keyword_only = [p for p in fn.params if p.kwonly]

        def arg(p) -> gast.Name:
            return gast.Name(self.names.get(p.var, p.var.name), gast.Param(), None, None)

        args = gast.arguments(
            args=[arg(p) for p in positional], posonlyargs=[], vararg=None,
            kwonlyargs=[arg(p) for p in keyword_only],
            kw_defaults=[None if p.default is None else self.value(p.default)
                         for p in keyword_only],
            kwarg=None,
            defaults=[self.value(p.default) for p in positional if p.default is not None])
        node = gast.FunctionDef(fn.name, args, [gast.Pass()], [], None, None)
        return _source(node).splitlines()[0]


def _source(node: gast.AST) -> str:
    tree = gast.gast_to_ast(node)
    return astor.to_source(tree).rstrip("\n")


def _dotted(path: str) -> gast.expr:
    head, *rest = path.split(".")
    node: gast.expr = gast.Name(head, gast.Load(), None, None)
    for attr in rest:
        node = gast.Attribute(node, attr, gast.Load())
    return node


_BINARY = {Prim.ADD: gast.Add, Prim.SUB: gast.Sub, Prim.MUL: gast.Mult, Prim.DIV: gast.Div,
           Prim.POW: gast.Pow, Prim.FLOORDIV: gast.FloorDiv, Prim.MOD: gast.Mod}
_UNARY = {Prim.NEG: gast.USub, Prim.POS: gast.UAdd, Prim.NOT: gast.Not}
_COMPARE = {Prim.LT: gast.Lt, Prim.LE: gast.LtE, Prim.GT: gast.Gt, Prim.GE: gast.GtE,
            Prim.EQ: gast.Eq, Prim.NE: gast.NotEq}


# --------------------------------------------------------------------------------------
# Compiling


def filename_for(generated: Generated) -> str:
    digest = hashlib.sha256(generated.source.encode()).hexdigest()[:12]
    return f"<s2sad {generated.name} {digest}>"


def compile_generated(generated: Generated) -> Callable:
    """Compile the source into a fresh namespace holding only what it names."""
    filename = filename_for(generated)
    lines = generated.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(generated.source), None, lines, filename)
    namespace: dict[str, object] = {"__builtins__": builtins, "__name__": "s2sad.generated"}
    namespace.update(generated.bindings)
    for alias in generated.modules:
        namespace[alias] = MODULES[alias]
    exec(compile(generated.source, filename, "exec"), namespace)  # noqa: S102 - our own code
    return namespace[generated.name]
