"""The pass manager: from a lowered function to the IR and source of one derivative.

A plain list of calls, in order: clean up the primal, resolve ``wrt``, differentiate
(``forward`` or ``reverse``), shape what the derivative returns, clean up (simplify, copy
propagation, dead code), emit.
``verify`` runs after each step when checking is on (``S2SAD_CHECK=1``; the tests set it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import gast

from . import emit, errors, helpers, naming
from .calls import Calls
from .frontend import Lowered
from .ir import (
    Const,
    Function,
    IRError,
    Names,
    Op,
    Param,
    Stmt,
    Var,
    all_names,
    regions_of,
    results_of,
    substitute_function,
    verify,
)
from .passes import batched, cleanup, dce, forward, reverse, shapes
from .passes import checkpoint as checkpoint_pass
from .primitives import Prim

KINDS = ("grad", "value_and_grad", "jvp", "vjp", "jacobian", "hvp", "hessian")
MODES = ("forward", "reverse", "auto")
_NON_DIFFERENTIABLE = ("int", "bool", "str")
Trace = Callable[[str, Function], None]  # (step, IR after it): --print-ir-after


_SCALAR_KINDS = ("grad", "value_and_grad", "hvp", "hessian")  # of a function of one number


@dataclass(frozen=True)
class Derivative:
    fn: Function  # the derivative's IR
    generated: emit.Generated


def derive(lowered: Lowered, kind: str, wrt: object = 0, check: bool | None = None,
           mode: str = "auto", trace: Trace | None = None,
           checkpoint: object = None) -> Derivative:
    """``check``: verify the IR after every step (default: when ``S2SAD_CHECK=1``).

    ``mode`` chooses how a Jacobian is built: by columns (forward), by rows (reverse), or
    whichever needs fewer passes for the sizes at hand (auto). ``trace(step, fn)``, if
    given, sees the IR after each step: ``frontend``, ``cleanup``, ``forward``,
    ``reverse``. ``checkpoint`` chooses the loops reverse mode recomputes instead of
    taping (``passes.checkpoint``); second derivatives tape every loop.
    """
    if check is None:
        check = os.environ.get("S2SAD_CHECK") == "1"
    primal = lowered.fn
    _checked(primal, "the frontend", check)
    _trace(trace, "frontend", primal)
    # differentiate the simplified primal: no blocks for folded ops
    primal = cleanup(primal, primal=all_names(primal))
    _checked(primal, "cleanup of the primal", check)
    _trace(trace, "cleanup", primal)
    positions, as_tuple = resolve_wrt(lowered, wrt)
    if kind in _SCALAR_KINDS:
        _check_number_out(lowered.fn, kind)
    second_order = kind in ("hvp", "hessian")  # forward mode over `_checkpointed`: no rule
    primal = checkpoint_pass.run(primal, False if second_order else checkpoint)
    names = _ModuleNames.of(lowered)
    calls = Calls(lowered.callees, lambda fn: _checked(fn, "a callee's derivative", check),
                  names.taken(), checkpoints=not second_order)
    if lowered.rules:  # the user's rules: differentiate a call to the function instead
        calls.callees[primal.name] = lowered
        primal = _calling(primal)
    if kind == "jacobian":
        return _jacobian(lowered, primal, positions, as_tuple, mode, check, calls, names,
                         trace=trace)
    if kind in ("hvp", "hessian"):
        hvp = _hvp(primal, positions, as_tuple, check, calls, names, trace=trace)
        if kind == "hvp":
            return Derivative(hvp, _emit([hvp], lowered, calls, names))
        return _hessian(lowered, primal, hvp, positions, as_tuple, calls, names)
    if kind == "jvp":
        fn = forward.run(primal, positions, calls=calls)
    elif kind in ("grad", "value_and_grad", "vjp"):
        if isinstance(primal.out, tuple):
            raise errors.UnsupportedSyntax.at(
                primal.loc, f"`{primal.name}` returns a tuple; {kind} needs a single "
                "output (return one value, or use jvp for several outputs)")
        facts = reverse.primal_shapes(primal, cotangent=(kind == "vjp"))
        fn = reverse.run(primal, positions, cotangent=(kind == "vjp"), wrt_is_tuple=as_tuple,
                         calls=calls, facts=facts)
        out, gradient = fn.out
        if kind == "value_and_grad":
            fn = fn.replace(keep=())
        else:
            fn = fn.replace(out=gradient)
    else:
        raise ValueError(f"unknown derivative kind {kind!r}; expected one of {KINDS}")
    fn = fn.replace(name=names.derivative(kind))
    _checked(fn, kind, check)
    _trace(trace, "forward" if kind == "jvp" else "reverse", fn)
    # a gradient's primal output is a number: what the shape analysis may start from
    scalars = (primal.out,) if kind in ("grad", "value_and_grad") \
        and isinstance(primal.out, Var) else ()
    fn = cleanup(fn, scalars, primal=all_names(primal))
    if kind in ("grad", "vjp"):
        fn = _value_if_cheap(fn, facts)
    if kind in ("grad", "value_and_grad", "vjp"):
        fn = batched.run(fn)  # weight adjoints summed after their loops
    _checked(fn, "cleanup", check)
    _trace(trace, "cleanup", fn)
    return Derivative(fn, _emit([fn], lowered, calls, names))


def _value_if_cheap(fn: Function, facts: shapes.Shapes) -> Function:
    """A gradient (or vjp) without the primal's value where computing that value costs
    array work the derivative does not need: an operation that takes or gives an array.

    The value is kept for the reader (``fn.keep``): the listing shows the user's whole
    computation, as the notes' ``foo``/``dbdx`` does. Where that costs only arithmetic on
    numbers it stays; where it costs operations on arrays (Rosenbrock's squares and sum,
    an LSTM's loss at every step) it goes, as Tapenade's adjoint liveness and XLA's dead
    code elimination drop it. ``facts``: the primal's shapes, whose values these are."""
    if not fn.keep:
        return fn
    lean = dce.run(fn.replace(keep=()))
    computed: dict[Var, Stmt] = {}
    _computed(fn.body, computed)
    kept: dict[Var, Stmt] = {}
    _computed(lean.body, kept)
    if all(facts.scalar(v) and _on_numbers(stmt, facts)
           for v, stmt in computed.items() if v not in kept):
        return fn
    return lean


def _on_numbers(stmt: Stmt, facts: shapes.Shapes) -> bool:
    """Is ``stmt``, which gives a number, cheap: no reduction or product over an array?
    Elementwise operations giving a number have numbers for operands (broadcasting), and
    reading one entry costs no more."""
    if not isinstance(stmt, Op):
        return True
    spec = stmt.prim.spec
    return spec.elementwise or stmt.prim is Prim.GETITEM or all(map(facts.scalar, stmt.args))


def _computed(body: tuple[Stmt, ...], found: dict[Var, Stmt]) -> None:
    """Adds to ``found`` the values ``body`` computes, in nested regions too, each with the
    statement that computes it (a region's parameter with the loop or branch)."""
    for stmt in body:
        for v in results_of(stmt):
            found[v] = stmt
        for region in regions_of(stmt):
            for v in region.params:
                found[v] = stmt
            _computed(region.body, found)


@dataclass(frozen=True)
class _ModuleNames:
    """The module-level names a derivative's module defines, kept apart from every name
    the user's code uses (its functions, parameters, locals and the globals they read):
    ``grad_f`` becomes ``grad_f_1`` where ``f`` calls a ``grad_f`` of the user's, and a
    helper ``_unbroadcast_1`` where the user has an ``_unbroadcast``."""

    user: frozenset[str]
    derivatives: dict[str, str]  # kind -> the name of f's derivative of that kind
    helpers: dict[str, str]  # helper -> its name in the module, where not its own

    @classmethod
    def of(cls, lowered: Lowered) -> _ModuleNames:
        user = frozenset(user_names(lowered))
        name = lowered.fn.name
        return cls(user, {k: naming.unused(f"{k}_{name}", user) for k in KINDS},
                   helpers.names_avoiding(set(user)))

    def derivative(self, kind: str) -> str:
        return self.derivatives[kind]

    def helper(self, name: str) -> str:
        return self.helpers.get(name, name)

    def taken(self) -> set[str]:
        return set(self.user) | set(self.derivatives.values())


def user_names(lowered: Lowered) -> set[str]:
    """Every name the code of ``lowered`` and its callees uses (functions, parameters,
    locals, globals), except s2sad's own helpers that generated code being differentiated
    again calls."""
    names = set(lowered.callees)
    for each in (lowered, *lowered.callees.values()):
        names.add(each.fn.name)
        names.update(each.bindings)
        namespace = each.source.namespace
        names.update(n.id for n in gast.walk(each.source.node) if isinstance(n, gast.Name)
                     and not hasattr(namespace.get(n.id), "__s2sad_helper__"))
    return names


def _check_number_out(fn: Function, kind: str) -> None:
    """A gradient is of a number: refuse, at its ``return``, a function that returns
    ``None``, a string, a list or a tuple held in a variable (a returned tuple expression
    is refused where the kind is built)."""
    if not isinstance(fn.out, (Var, Const)):
        return
    defining = {r: op for op in fn.body if isinstance(op, Op) for r in op.results}
    value, loc = fn.out, fn.loc
    while isinstance(value, Var) and value in defining:
        op = defining[value]
        loc = op.loc or loc
        if op.prim is not Prim.COPY:
            break
        value = op.args[0]
    what = None
    if isinstance(value, Const) and not isinstance(value.value, (bool, int, float)):
        what = "None" if value.value is None else f"a {type(value.value).__name__}"
    elif isinstance(value, Var) and value in defining \
            and defining[value].prim in (Prim.LIST, Prim.APPEND, Prim.TUPLE):
        what = "a tuple" if defining[value].prim is Prim.TUPLE else "a list"
    elif isinstance(value, Var) and value in shapes.lists(fn.body):
        what = "a list or a tuple"
    if what is not None:
        raise errors.UnsupportedSyntax.at(
            loc, f"`{fn.name}` returns {what}, not a number; {kind} differentiates a "
            "function whose value is a number (reduce the result to one, such as "
            "`np.sum(...)`, or use jvp or vjp)")


def _calling(fn: Function) -> Function:
    """``def f(x): return f(x)`` in IR: what a function with derivative rules of its own
    is differentiated as (its body runs as generated code named ``f``)."""
    names = Names.of(fn)
    outs = fn.out if isinstance(fn.out, tuple) else (fn.out,)
    results = tuple(names.fresh(o.base) if isinstance(o, Var) and not o.is_temp
                    else names.temp() for o in outs)
    call = Op(results, Prim.CALL, tuple(p.var for p in fn.params),
              (("fn", Const(fn.name)),), fn.loc)
    out = results if isinstance(fn.out, tuple) else results[0]
    return fn.replace(body=(call,), out=out)


def _emit(fns: list[Function], lowered: Lowered, calls: Calls, names: _ModuleNames,
          **options) -> emit.Generated:
    """The derivative's module: the functions it calls (the user's callees and their
    derivatives) first, then ``fns``, the last of which is the one returned."""
    while True:  # callees called as they are (a call with nothing to differentiate)
        count = len(calls.functions)
        for fn in [*calls.functions.values(), *fns]:
            calls.require_primals(fn)
        if len(calls.functions) == count:
            break
    bindings = {**calls.bindings(), **lowered.bindings}
    return emit.emit_module(calls.ordered() + fns, bindings,
                            main=options.pop("main", fns[-1].name),
                            helper_names=names.helpers, **options)


def _jacobian(lowered: Lowered, primal: Function, positions: tuple[int, ...], as_tuple: bool,
              mode: str, check: bool, calls: Calls, names: _ModuleNames,
              trace: Trace | None = None) -> Derivative:
    """``jacobian_f``: the primal for the output's shape, then one forward pass per input
    entry (columns) or one reverse pass per output entry (rows).

    The module holds the primal ``f``, ``jvp_f`` and/or ``vjp_f`` as generated code, and
    ``jacobian_f`` calling them over unit vectors (``_basis``)::

        def jacobian_f(A, x):
            out = f(A, x)
            if np.size(out) < np.size(x):  # fewer outputs than inputs: by rows
                rows = [vjp_f(A, x, g) for g in _basis(out)]
                return _from_rows([row[0] for row in rows], out, x)
            columns = [jvp_f(A, x, dx)[1] for dx in _basis(x)]
            return _from_columns(columns, out, x)
    """
    if mode not in MODES:
        raise ValueError(f"unknown Jacobian mode {mode!r}; expected one of {MODES}")
    if isinstance(primal.out, tuple):
        raise errors.UnsupportedSyntax.at(
            primal.loc, f"`{primal.name}` returns a tuple; jacobian needs a single output "
            "(stack the outputs into one array, or take one Jacobian per output)")
    name = primal.name
    jvp_name, vjp_name = names.derivative("jvp"), names.derivative("vjp")
    fns = [primal]
    if mode in ("forward", "auto"):
        jvp_fn = forward.run(primal, positions, calls=calls).replace(name=jvp_name)
        _trace(trace, "forward", jvp_fn)
        fns.append(cleanup(jvp_fn, primal=all_names(primal)))
    if mode in ("reverse", "auto"):
        vjp_fn = reverse.run(primal, positions, cotangent=True, wrt_is_tuple=True,
                             calls=calls)
        _trace(trace, "reverse", vjp_fn.replace(name=vjp_name))
        fns.append(cleanup(vjp_fn.replace(name=vjp_name, out=vjp_fn.out[1]),
                           primal=all_names(primal)))
    for fn in fns:
        _checked(fn, "jacobian", check)
        if fn is not primal:
            _trace(trace, "cleanup", fn)
    positional = [p.var.name for p in primal.params if not p.kwonly]
    keywords = [f"{p.var.name}={p.var.name}" for p in primal.params if p.kwonly]
    wrt_names = [primal.params[i].var.name for i in positions]
    call = ", ".join(positional + keywords)
    local = _Locals(primal, names)
    out = local("out")
    basis, zeros = names.helper("_basis"), names.helper("_zeros_like")
    columns, rows, row = local("columns"), local("rows"), local("row")
    blocks = [local(f"jacobian_{k}") for k in range(len(wrt_names))]  # by rows or columns

    def args(*extra: str) -> str:
        return ", ".join(positional + list(extra) + keywords)

    def by_columns(indent: str) -> list[str]:
        lines, results = [], []
        for k, x in enumerate(wrt_names):
            d, block = local(f"_d{k}"), blocks[k]
            tangents = [d if j == k else f"{zeros}({other})"
                        for j, other in enumerate(wrt_names)]
            lines.append(f"{indent}{columns} = [{jvp_name}({args(*tangents)})[1] "
                         f"for {d} in {basis}({x})]")
            lines.append(f"{indent}{block} = {names.helper('_from_columns')}({columns}, "
                         f"{out}, {x})")
            results.append(block)
        return lines + [f"{indent}return {_result(results, as_tuple)}"]

    def by_rows(indent: str) -> list[str]:
        g = local("_g")
        lines = [f"{indent}{rows} = [{vjp_name}({args(g)}) for {g} in {basis}({out})]"]
        results = []
        for k, x in enumerate(wrt_names):
            block = blocks[k]
            lines.append(f"{indent}{block} = {names.helper('_from_rows')}([{row}[{k}] for "
                         f"{row} in {rows}], {out}, {x})")
            results.append(block)
        return lines + [f"{indent}return {_result(results, as_tuple)}"]

    how = {"forward": "by columns (forward mode)", "reverse": "by rows (reverse mode)",
           "auto": "by rows or columns, whichever takes fewer passes"}[mode]
    lines = [emit.header_line(primal.replace(name=names.derivative("jacobian"))),
             f'    """The Jacobian of {name} with respect to {", ".join(wrt_names)}, '
             f'{how}."""',
             f"    {out} = {name}({call})"]
    if mode == "forward":
        lines += by_columns("    ")
    elif mode == "reverse":
        lines += by_rows("    ")
    else:
        inputs = " + ".join(f"np.size({x})" for x in wrt_names)
        lines.append(f"    if np.size({out}) < {inputs}:  # fewer outputs than inputs")
        lines += by_rows("        ")
        lines += by_columns("    ")
    tail = "\n".join(lines) + "\n"
    helper_names = ("_basis", "_from_columns", "_from_rows", "_zeros_like")
    calls.require_primals(primal)
    generated = _emit(fns, lowered, calls, names, main=names.derivative("jacobian"),
                      tail=tail, tail_helpers=helper_names, tail_modules=("np",))
    return Derivative(fns[-1], generated)


def _hvp(primal: Function, positions: tuple[int, ...], as_tuple: bool, check: bool,
         calls: Calls, names: _ModuleNames,
         trace: Trace | None = None) -> Function:
    """``hvp_f(*args, v) -> H v``: forward mode over the reverse-mode gradient, one pass,
    no Hessian formed (its tape carries the tangents). ``v`` is one vector per ``wrt``."""
    if isinstance(primal.out, tuple):
        raise errors.UnsupportedSyntax.at(
            primal.loc, f"`{primal.name}` returns a tuple; hvp needs a single output")
    grad = reverse.run(primal, positions, wrt_is_tuple=as_tuple, calls=calls)
    _trace(trace, "reverse", grad.replace(name=names.derivative("grad")))
    scalars = (primal.out,) if isinstance(primal.out, Var) else ()
    grad = cleanup(grad.replace(out=grad.out[1], name=names.derivative("grad")), scalars,
                   primal=all_names(primal))
    _checked(grad, "grad", check)
    _trace(trace, "cleanup", grad)
    hvp = forward.run(grad, positions, calls=calls)
    _checked(hvp, "hvp", check)
    _trace(trace, "forward", hvp)
    # the tangents are the vectors: name them v (or v_x, v_y for several)
    n = len(positions)
    tangents = [p.var for p in hvp.params[len(grad.params) - _kwonly(grad):][:n]]
    vectors = ["v"] if n == 1 else [f"v_{primal.params[i].var.base}" for i in positions]
    taken = {p.var.name for p in hvp.params}
    mapping = {}
    for t, name in zip(tangents, vectors):
        mapping[t] = Var(naming.unused(name, taken))
        taken.add(mapping[t].name)
    hvp = substitute_function(hvp, mapping)
    hvp = hvp.replace(params=tuple(Param(mapping.get(p.var, p.var), p.default, p.kwonly)
                                   for p in hvp.params),
                      out=hvp.out[1], name=names.derivative("hvp"))
    hvp = cleanup(hvp, primal=all_names(primal))
    _checked(hvp, "cleanup", check)
    _trace(trace, "cleanup", hvp)
    return hvp


def _kwonly(fn: Function) -> int:
    return sum(1 for p in fn.params if p.kwonly)


def _hessian(lowered: Lowered, primal: Function, hvp: Function, positions: tuple[int, ...],
             as_tuple: bool, calls: Calls, names: _ModuleNames) -> Derivative:
    """``hessian_f``: one Hessian-vector product per entry of each ``wrt`` input (the
    columns), blocks ``((H_xx, H_xy), (H_yx, H_yy))`` for several inputs."""
    name = primal.name
    positional = [p.var.name for p in primal.params if not p.kwonly]
    keywords = [f"{p.var.name}={p.var.name}" for p in primal.params if p.kwonly]
    wrt_names = [primal.params[i].var.name for i in positions]
    lines = [emit.header_line(primal.replace(name=names.derivative("hessian"))),
             f'    """The Hessian of {name} with respect to {", ".join(wrt_names)}, one '
             f'Hessian-vector product per column."""']
    local = _Locals(primal, names)
    columns, column = local("columns"), local("column")
    blocks = [[""] * len(wrt_names) for _ in wrt_names]
    for j, x in enumerate(wrt_names):
        v = local(f"_v{j}")
        vectors = [v if k == j else f"{names.helper('_zeros_like')}({other})"
                   for k, other in enumerate(wrt_names)]
        call = ", ".join(positional + vectors + keywords)
        lines.append(f"    {columns} = [{names.derivative('hvp')}({call}) for {v} in "
                     f"{names.helper('_basis')}({x})]")
        for i, xi in enumerate(wrt_names):
            block = local(f"hessian_{i}_{j}" if as_tuple else "hessian")
            item = column if not as_tuple else f"{column}[{i}]"
            lines.append(f"    {block} = {names.helper('_from_columns')}([{item} for "
                         f"{column} in {columns}], {xi}, {x})")
            blocks[i][j] = block
    if as_tuple:
        rows = ["(" + ", ".join(row) + ("," if len(row) == 1 else "") + ")" for row in blocks]
        lines.append("    return (" + ", ".join(rows) + ("," if len(rows) == 1 else "") + ")")
    else:
        lines.append(f"    return {blocks[0][0]}")
    tail = "\n".join(lines) + "\n"
    generated = _emit([hvp], lowered, calls, names, main=names.derivative("hessian"),
                      tail=tail,
                      tail_helpers=("_basis", "_from_columns", "_zeros_like"),
                      tail_modules=("np",))
    return Derivative(hvp, generated)


class _Locals:
    """Fresh local names for the code written around generated functions (``jacobian_f``,
    ``hessian_f``): none is a parameter or a module-level name it reads."""

    def __init__(self, fn: Function, names: _ModuleNames) -> None:
        self.taken = {p.var.name for p in fn.params} | {fn.name, "np"} \
            | set(names.derivatives.values()) | {names.helper(h) for h in helpers.DEPENDS}

    def __call__(self, base: str) -> str:
        name = naming.unused(base, self.taken)
        self.taken.add(name)
        return name


def _result(names: list[str], as_tuple: bool) -> str:
    if not as_tuple:
        return names[0]
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _checked(fn: Function, after: str, check: bool) -> None:
    if not check:
        return
    try:
        verify(fn)
    except IRError as exc:
        raise errors.InternalError(f"IR does not verify after {after}: {exc}") from None


def _trace(trace: Trace | None, step: str, fn: Function) -> None:
    if trace is not None:
        trace(step, fn)


def resolve_wrt(lowered: Lowered, wrt: object) -> tuple[tuple[int, ...], bool]:
    """Positions of the parameters named by ``wrt``, and whether a tuple was asked for."""
    fn = lowered.fn
    as_tuple = isinstance(wrt, (tuple, list))
    items = tuple(wrt) if as_tuple else (wrt,)
    if as_tuple and not items:
        raise errors.BadWrt.at(fn.loc, "`wrt` is empty; name at least one parameter")
    positional = [p for p in fn.params if not p.kwonly]
    listing = ", ".join(p.var.name for p in fn.params) or "none"
    positions = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise errors.BadWrt.at(
                fn.loc, f"`wrt` entries are parameter positions or names, got {item!r}")
        if isinstance(item, int):
            if not -len(positional) <= item < len(positional):
                raise errors.BadWrt.at(
                    fn.loc, f"`wrt={item}` is out of range: `{fn.name}` has "
                    f"{len(positional)} positional parameter(s) ({listing})")
            index = fn.params.index(positional[item])
        else:
            matches = [i for i, p in enumerate(fn.params) if p.var.name == item]
            if not matches:
                raise errors.BadWrt.at(
                    fn.loc, f"`wrt={item!r}` names no parameter of `{fn.name}` "
                    f"(parameters: {listing})")
            index = matches[0]
        if index in positions:
            raise errors.BadWrt.at(fn.loc, f"`wrt` names `{fn.params[index].var.name}` twice")
        _check_differentiable(lowered, fn.params[index])
        positions.append(index)
    return tuple(positions), as_tuple


def differentiable_positional(lowered: Lowered) -> tuple[str, ...]:
    """Names of the positional parameters that may be in ``wrt`` (the CLI's default)."""
    return tuple(p.var.name for p in lowered.fn.params
                 if not p.kwonly and _why_not_differentiable(lowered, p) is None)


def _why_not_differentiable(lowered: Lowered, param: Param) -> str | None:
    node = next((a for a in _all_args(lowered) if a.id == param.var.name), None)
    kind = getattr(getattr(node, "annotation", None), "id", None)
    if kind in _NON_DIFFERENTIABLE:
        return f"it is annotated `{kind}`"
    if isinstance(param.default, Const) and type(param.default.value) in (int, bool, str):
        return f"its default {param.default.value!r} is {type(param.default.value).__name__}"
    return None


def _check_differentiable(lowered: Lowered, param: Param) -> None:
    reason = _why_not_differentiable(lowered, param)
    if reason is None:
        return
    node = next((a for a in _all_args(lowered) if a.id == param.var.name), None)
    loc = lowered.source.loc(node) if node is not None else lowered.fn.loc
    raise errors.BadWrt.at(
        loc, f"cannot differentiate with respect to `{param.var.name}`: {reason}, which has "
        "no derivative; drop it from `wrt` (or make it a float)")


def _all_args(lowered: Lowered) -> list:
    args = lowered.source.node.args
    return list(getattr(args, "posonlyargs", [])) + list(args.args) + list(args.kwonlyargs)

