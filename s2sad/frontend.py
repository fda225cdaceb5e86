"""Frontend: a parsed function (``source.py``) -> Wengert-list IR.

Resolves every name against the function's globals, closure and builtins, desugars
(augmented and tuple assignment, jumps in loops via ``jumps.py``, short-circuit operators,
chained comparisons, returns in branches), and lowers each expression so that every
intermediate result is named exactly once, with branches and loops as structured
``If``/``For``/``While`` carrying the variables they assign::

    def foo(x, y):            def foo(x, y):
        a = x + 5       ->        a = add x 5
        a *= y                    a.1 = mul a y
        return a                  return a.1

Anything outside the subset raises a located ``CompileError`` that says what to do instead.
"""

from __future__ import annotations

import ast
import builtins
import io
import math
import re
import tokenize
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import gast

from . import errors, index, jumps
from .ir import (
    Const,
    For,
    Function,
    Global,
    If,
    Loc,
    Names,
    Op,
    Out,
    Param,
    Region,
    Stmt,
    Value,
    Var,
    While,
    out_values,
)
from .primitives import BINARY_OPS, COMPARE_OPS, UNARY_OPS, Prim, prim_of_callable
from .source import (
    SourceFunction,
    StaticFunction,
    deep_recursion,
    from_file,
    from_function,
    unsupported,
)

__all__ = ["Lowered", "SourceFunction", "from_file", "from_function", "lower"]


@dataclass(frozen=True)
class Lowered:
    """The IR of a function and the objects its ``Global`` values name (by root name).

    ``callees``: the user functions it calls, directly or not, lowered, by the name the
    generated code calls them (``call x fn='g'``).
    """

    fn: Function
    bindings: dict[str, object]
    source: SourceFunction
    callees: dict[str, Lowered] = field(default_factory=dict)
    # its derivative rules (@s2sad.custom_derivative): "tangent"/"adjoint" -> callee name
    rules: dict[str, str] = field(default_factory=dict)
    # where it writes into an array a parameter passed in: (parameter, line); a caller
    # would see that write in Python, not in s2sad, so calls to it are refused
    param_writes: tuple[tuple[str, int], ...] = ()


# --------------------------------------------------------------------------------------
# Lowering
def lower(src: SourceFunction, stack: tuple = (), callees: dict | None = None) -> Lowered:
    """``stack``: the callers being lowered (a call back into one is recursion);
    ``callees``: the table of lowered callees, shared by a whole call tree."""
    with deep_recursion():  # expressions are lowered recursively: see source.MAX_NESTING
        return _Lowerer(src, stack, {} if callees is None else callees).run()


def _tape_walks(body: list[gast.stmt]) -> dict[str, tuple[gast.For, gast.For]]:
    """The lists the code walks backwards as s2sad's generated code does
    (``for a in reversed(tape):``): made empty in the function's own body, appended to by
    one statement at the top of a loop of that body, walked by a later loop of that body,
    and named nowhere else. Walking such a list takes each item back, last first, as
    popping it would (``for _ in reversed(range(n)): a = tape.pop()``), which is how it
    is lowered: name -> (the loop appending, the loop walking)."""
    found: dict[str, tuple[gast.For, gast.For]] = {}
    for k, walking in enumerate(body):
        call = walking.iter if isinstance(walking, gast.For) else None
        if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name)
                and call.func.id == "reversed" and len(call.args) == 1 and not call.keywords
                and isinstance(call.args[0], gast.Name)):
            continue
        name = call.args[0].id
        mentions = sum(isinstance(n, gast.Name) and n.id == name
                       for stmt in body for n in _nodes(stmt))
        made = [j for j, s in enumerate(body[:k]) if isinstance(s, gast.Assign)
                and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name)
                and s.targets[0].id == name and isinstance(s.value, gast.List)
                and not s.value.elts]
        pushing = [(j, s) for j, s in enumerate(body[:k]) if isinstance(s, gast.For)
                   for e in s.body if isinstance(e, gast.Expr) and _appends_to(e.value, name)]
        if mentions == 3 and len(made) == 1 and len(pushing) == 1 and made[0] < pushing[0][0]:
            found[name] = (pushing[0][1], walking)
    return found


def _appends_to(node: gast.expr, name: str) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
        and node.func.attr == "append" and isinstance(node.func.value, gast.Name) \
        and node.func.value.id == name and len(node.args) == 1 and not node.keywords


def _assigned_names(nodes: list[gast.AST]) -> set[str]:
    return {n.id for n in nodes
            if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del))}


class _Lowerer:
    def __init__(self, src: SourceFunction, stack: tuple = (), callees: dict | None = None
                 ) -> None:
        self.src = src
        self.stack = stack
        self.callees: dict[str, Lowered] = {} if callees is None else callees
        self.callee_keys: dict[str, object] = {}
        self.names = Names()
        self.env: dict[str, Value] = {}  # local variable -> its current SSA value
        self.body: list[Stmt] = []
        self.bindings: dict[str, object] = {}
        # one walk of the whole function for what its names are (each costs as much as a
        # tenth of lowering it)
        every = _nodes(src.node)
        self.locals = _assigned_names(every)
        self.partial: dict[str, str] = {}  # local -> why it may be unset here
        self.tapes: set[Var] = set()  # lists used as stacks (``tape = []``)
        # names of lists popped from somewhere in the function: stacks, not values
        self.stacks = {n.func.value.id for n in every
                       if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
                       and n.func.attr == "pop" and isinstance(n.func.value, gast.Name)}
        # names sharing storage (y = x, a = y[1:], a = y.T): name -> {other: (how, the
        # value the name held then, whether the two name the same array, not a view)}
        self.links: dict[str, dict[str, tuple[str, object, bool]]] = {}
        # the loops around the code being lowered: (names each carries, names its body
        # assigns)
        self.frames: list[tuple[set[str], set[str]]] = []
        # names that may be a view of another (y = x[0], a row when x has two dimensions):
        # name -> {other: (how other relates to name, the values other and name held
        # then)}; a write into name reaches other, not the other way round (y may be a
        # number, and then `t = w[0]; w[0] = w[1]; w[1] = t` must work)
        self.may_view: dict[str, dict[str, tuple[str, object, object, Op | None]]] = {}
        # values known to be numbers (Python's or NumPy's scalars, never arrays: `+=` on
        # them writes into nothing): literals, math functions, arithmetic on numbers
        self.numbers: set[Var] = set()
        self.param_writes: list[tuple[str, int]] = []  # see Lowered.param_writes
        self.parameters: dict[Var, str] = {}  # a parameter's value -> its name
        self.same: dict[Var, Value] = {}  # a loop's params and results -> its init
        self.comprehensions = 0
        # names read after a name sharing their storage was written into: Python would
        # show the write, s2sad does not: name -> (why, the value it must still hold)
        self.stale: dict[str, tuple[str, object]] = {}
        self.pending_items: list[tuple] = []  # a loop's items, read first in its body
        # loops that may end with `break` (before their desugaring hides it)
        self.breaking = [n for n in every if isinstance(n, gast.For) and jumps.breaks(n)]
        self.taken = {n.id for n in every if isinstance(n, gast.Name)}  # names not to use
        # tapes generated code walks backwards (`for a in reversed(tape):`): name -> (the
        # loop pushing it, the loop walking it); and the range the pushing loop ran
        self.walks: dict[str, tuple[gast.For, gast.For]] = {}
        self.walk_bounds: dict[str, tuple[Value, Value, Value]] = {}

    # --- the function ---------------------------------------------------------------

    def run(self) -> Lowered:
        node = self.src.node
        params = self.params(node.args)
        body = jumps.desugar(list(node.body), self.taken)
        # the flags the desugaring added are locals too
        self.locals = _assigned_names(_nodes(node))
        self.walks = {name: (pushing, walking) for name, (pushing, walking)
                      in _tape_walks(body).items()  # the builtin reversed, not another
                      if self.resolve_callee_or_none(walking.iter.func) is builtins.reversed}
        self.stacks |= set(self.walks)
        out = self.block(body)
        if out is None:
            raise self.src.error(
                errors.UnsupportedSyntax, node,
                f"`{node.name}` does not return a value; s2sad differentiates the value a "
                f"function returns, so end it with `return ...`")
        fn = Function(node.name, params, tuple(self.body), out, (), self.src.loc(node))
        rules = {kind: self.lower_callee(rule, node, f"the {kind} rule of `{node.name}`",
                                         rule=True)[0]
                 for kind, rule in sorted(self.src.rules.items())}
        return Lowered(fn, self.bindings, self.src, self.callees, rules,
                       tuple(self.param_writes))

    def params(self, args: gast.arguments) -> tuple[Param, ...]:
        for stars, extra in (("*", args.vararg), ("**", args.kwarg)):
            if extra is not None:
                raise self.src.error(
                    errors.UnsupportedSyntax, extra,
                    f"`{stars}{extra.id}` parameters are not in the subset; name each "
                    f"parameter")
        positional = list(getattr(args, "posonlyargs", [])) + list(args.args)
        first_default = len(positional) - len(args.defaults)
        params = []
        for i, arg in enumerate(positional):
            default = None
            if i >= first_default:
                j = i - first_default
                known = self.src.defaults[j] if j < len(self.src.defaults) else _NOTHING
                default = self.default_value(args.defaults[j], known)
            params.append(Param(self.bind_param(arg), default))
        for arg, expr in zip(args.kwonlyargs, args.kw_defaults):
            default = None
            if expr is not None:
                default = self.default_value(expr, self.src.kwdefaults.get(arg.id, _NOTHING))
            params.append(Param(self.bind_param(arg), default, kwonly=True))
        return tuple(params)

    def bind_param(self, arg: gast.Name) -> Var:
        var = self.names.fresh(arg.id)
        self.env[arg.id] = var
        self.parameters[var] = arg.id
        return var

    def default_value(self, expr: gast.expr, known: object) -> Value:
        """A default is kept as a literal, or as the module-level name it was written as."""
        if known is not _NOTHING and _is_literal(known):
            return Const(known)
        try:
            value = ast.literal_eval(gast.gast_to_ast(expr))
        except (ValueError, TypeError, SyntaxError):
            value = _NOTHING
        if value is not _NOTHING and _is_literal(value):
            return Const(value)
        path = _dotted(expr)
        if path is not None and path.split(".")[0] in self.src.namespace:
            self.bind_global(path, expr)
            return Global(path)
        raise self.src.error(
            errors.UnsupportedSyntax, expr,
            "a default value must be a literal or a module-level name; give the value a "
            "name at module level")

    def returned(self, stmt: gast.Return) -> object:
        if stmt.value is None:
            raise self.src.error(errors.UnsupportedSyntax, stmt,
                                 "`return` without a value; return the value to differentiate")
        if isinstance(stmt.value, gast.Tuple):
            return tuple(self.expr(e) for e in stmt.value.elts)
        name = self.src.node.name if not isinstance(stmt.value, gast.Name) else None
        return self.expr(stmt.value, name)

    # --- statements -------------------------------------------------------------------

    def block(self, statements: list[gast.stmt]) -> Out | None:
        """Lower a statement list; what it returns, or None if it can fall off its end.

        An ``if`` containing a ``return`` takes the statements after it into each branch
        that can fall through, so every path ends in one ``return`` and the function's
        result is the ``if``'s result (no flags needed outside loops).
        """
        for i, stmt in enumerate(statements):
            if isinstance(stmt, gast.Return):
                if i != len(statements) - 1:
                    raise self.src.error(
                        errors.UnsupportedSyntax, statements[i + 1],
                        "this code follows a `return` and never runs; remove it")
                return self.returned(stmt)
            if isinstance(stmt, gast.If) and _contains_return(stmt):
                return self.if_returning(stmt, statements[i + 1:])
            if _is_docstring(stmt) and i == 0:
                continue
            self.statement(stmt)
        return None

    def if_returning(self, node: gast.If, rest: list[gast.stmt]) -> Out:
        cond = self.expr(node.test)
        outs, regions = [], []
        stale = dict(self.stale)  # a write in one branch is not seen by the other
        for branch in (node.body, node.orelse):
            statements = list(branch) + ([] if _always_returns(branch) else list(rest))
            saved_body, saved_env = self.body, dict(self.env)
            self.body, self.stale = [], dict(stale)
            out = self.block(statements)
            if out is None:
                raise self.src.error(
                    errors.UnsupportedSyntax, node,
                    "a path through this `if` reaches the end of the function without "
                    "`return`; return a value on every path")
            outs.append(out)
            regions.append(tuple(self.body))
            self.body, self.env = saved_body, saved_env
        shapes = {_shape(o) for o in outs}
        if len(shapes) != 1:
            raise self.src.error(
                errors.UnsupportedSyntax, node,
                "the branches of this `if` return different numbers of values; return the "
                "same shape on every path")
        yields = [tuple(out_values(o)) for o in outs]
        name = self.src.node.name
        results = tuple(self.names.fresh(name) if len(yields[0]) == 1 else self.names.temp()
                        for _ in yields[0])
        self.body.append(If(results, cond, Region((), regions[0], yields[0]),
                            Region((), regions[1], yields[1]), self.src.loc(node)))
        return _rebuild(outs[0], iter(results))

    def if_statement(self, node: gast.If) -> None:
        cond = self.expr(node.test)
        before = dict(self.env)
        stale_before, stale_after = dict(self.stale), {}
        branches = []
        for branch in (node.body, node.orelse):
            saved_body = self.body
            self.body, self.env = [], dict(before)
            self.stale = dict(stale_before)  # a write in one branch is not seen by the other
            for stmt in branch:
                self.statement(stmt)
            branches.append((tuple(self.body), self.env))
            stale_after.update(self.stale)  # after the `if`, either branch may have run
            self.body = saved_body
        self.stale = stale_after
        (then_body, then_env), (else_body, else_env) = branches
        self.env = dict(before)
        names = [n for n in dict.fromkeys([*then_env, *else_env])
                 if then_env.get(n) != before.get(n) or else_env.get(n) != before.get(n)]
        results, then_yields, else_yields = [], [], []
        for name in names:
            if name not in then_env or name not in else_env:
                self.env.pop(name, None)
                self.partial[name] = (f"is assigned on only one path through the `if` at "
                                      f"line {self.src.loc(node).lineno}; assign it before "
                                      f"the `if` or in both branches")
                continue
            result = self.names.fresh(name)
            results.append(result)
            then_yields.append(then_env[name])
            else_yields.append(else_env[name])
            self.env[name] = result
        self.body.append(If(tuple(results), cond, Region((), then_body, tuple(then_yields)),
                            Region((), else_body, tuple(else_yields)), self.src.loc(node)))

    def loop(self, node: gast.For | gast.While) -> None:
        kind = "for" if isinstance(node, gast.For) else "while"
        if node.orelse:
            raise self.src.error(errors.UnsupportedSyntax, node.orelse[0],
                                 f"`{kind} ... else` is not in the subset; move the `else` "
                                 f"code after the loop")
        inside = _body_nodes(node.body)  # walked once for jumps, assignments and updates
        for sub in inside:
            if isinstance(sub, (gast.Break, gast.Continue, gast.Return)):
                what = {gast.Break: "break", gast.Continue: "continue",
                        gast.Return: "return"}[type(sub)]
                raise self.src.error(
                    errors.UnsupportedSyntax, sub,
                    f"this `{what}` cannot be turned into a flag (every `return` in a loop "
                    f"must return a value, the same number of values each time)")
        kept = _kept_then_written(node.body, lambda name: self.is_number(self.env.get(name)))
        if kept is not None:
            container, item, append, write = kept
            line = self.src.loc(append).lineno
            raise self.src.error(
                errors.UnsupportedSyntax, write,
                f"`{item}` is written into here, and `{container}.append({item})` (line "
                f"{line}) took its array on an earlier trip: Python shows this write "
                f"through `{container}`, s2sad keeps the two apart; append a copy "
                f"(`{container}.append({item}.copy())`), or give `{item}` a new array in "
                f"the loop before writing into it")
        written = _assigned_in(inside)
        assigned = [n for n in written if n not in self.stacks]
        for name in _augmented_in(inside):  # `a += y` may change the names for a's array
            for other in [name, *(other for other, _, _, _ in self.sharing(name))]:
                if other not in assigned and not self.is_number(self.env.get(other)):
                    assigned.append(other)
        carried = [n for n in assigned if n in self.env]
        targets = _targets(node.target) if isinstance(node, gast.For) else []
        breaks = any(n is node for n in self.breaking)
        if breaks:  # each iteration binds its variable anew: none flows to the next
            carried = [n for n in carried if n not in targets]
        else:  # after the loop, its variable holds the last item, or what it held before
            carried += [n for n in targets if n in self.env and n not in carried]
        inits = tuple(self.env[n] for n in carried)
        loc = self.src.loc(node)
        checkpoint = _checkpoint_directive(self.src, loc)
        stale_before = dict(self.stale)
        if isinstance(node, gast.For):
            start, stop, step, reverse, sequences = self.iteration(node)
            for name, (pushing, _) in self.walks.items():
                if pushing is node and not sequences and not reverse:
                    self.walk_bounds[name] = (start, stop, step)
            counter = node.target.id if isinstance(node.target, gast.Name) and not sequences \
                else "_"
            index = self.names.fresh(counter)
            self.numbers.add(index)  # range's items, or the positions in the sequences
            params = self.carries(carried, inits)
            prologue = self.unpack_items(node, index, sequences)
            body, yields = self.loop_body(
                prologue + list(node.body), carried, params,
                {counter: index} if not sequences else {},
                set(_assigned_in(_body_nodes(prologue))) | set(written))
            results = self.carries(carried, inits)
            self.body.append(For(results, start, stop, step, inits,
                                 Region((index, *params), body, yields), loc, reverse,
                                 checkpoint))
            assigned = [*_targets(node.target), *assigned]
        else:
            cond_params = self.carries(carried, inits)
            saved_body, saved_env = self.body, dict(self.env)
            self.body = []
            self.env.update(zip(carried, cond_params))
            test = self.expr(node.test)
            cond = Region(cond_params, tuple(self.body), (test,))
            self.body, self.env = saved_body, saved_env
            params = self.carries(carried, inits)
            body, yields = self.loop_body(node.body, carried, params, {}, set(written))
            results = self.carries(carried, inits)
            self.body.append(While(results, inits, cond, Region(params, body, yields), loc,
                                   checkpoint))
        for name in assigned:
            if name not in carried:  # set only inside the loop: unset if it never runs
                self.env.pop(name, None)
                self.partial[name] = (f"is assigned only inside the loop at line "
                                      f"{loc.lineno}, so it is unset when the loop does not "
                                      f"run; assign it before the loop")
                if breaks and name in targets:
                    self.partial[name] = (
                        f"is the variable of the loop at line {loc.lineno}, which may end "
                        f"with `break`; s2sad runs the iterations after a `break` as "
                        f"no-ops that still bind `{name}`, so it does not keep its value "
                        f"at the `break`: copy it into another name before the `break`")
        self.stale_next_trip(node, stale_before)
        self.env.update(zip(carried, results))

    def carries(self, names: list[str], inits: tuple[Value, ...]) -> tuple[Var, ...]:
        """Fresh values for a loop's carried ``names``; links see each as its init."""
        fresh = tuple(self.names.fresh(n) for n in names)
        for var, init in zip(fresh, inits):
            if isinstance(init, Var):
                self.same[var] = self.same.get(init, init)
        return fresh

    def stale_next_trip(self, node: gast.For | gast.While, before: dict) -> None:
        """A name the loop body made stale (an array it shares was written into) and that
        still holds what it held at the start of the body: the next trip reads the stale
        value wherever the body (or the loop's test, or the sequence walked) reads it."""
        for name, (why, value) in self.stale.items():
            if before.get(name) == (why, value) or self.held(name) != value:
                continue
            parts = [*node.body, node.test if isinstance(node, gast.While) else node.iter]
            reads = [n for part in parts for n in _nodes(part) if isinstance(n, gast.Name)
                     and n.id == name and isinstance(n.ctx, gast.Load)]
            if reads:
                first = min(reads, key=lambda n: (n.lineno, n.col_offset))
                raise self.src.error(errors.UnsupportedSyntax, first,
                                     f"{why} (on the loop's next trip)")

    def loop_body(self, statements: list[gast.stmt], carried: list[str],
                  params: tuple[Var, ...], extra: dict[str, Var], assigned: set[str]
                  ) -> tuple[tuple[Stmt, ...], tuple[Value, ...]]:
        """``assigned``: the names ``statements`` assign (``_assigned_in``)."""
        saved_body, saved_env = self.body, dict(self.env)
        self.body = []
        self.env.update(zip(carried, params))
        self.env.update(extra)
        self.frames.append((set(carried), assigned))
        for value, name, position in self.pending_items:
            var = self.names.fresh(name)
            if value == "counter":
                self.body.append(Op((var,), Prim.COPY, (position,), (), None))
            else:
                self.body.append(Op((var,), Prim.GETITEM, (value, position),
                                    (("index", Const("_")),), None))
            self.env[name] = var
        self.pending_items = []
        for stmt in statements:
            self.statement(stmt)
        body, yields = tuple(self.body), tuple(self.env[n] for n in carried)
        self.body, self.env = saved_body, saved_env
        self.frames.pop()
        return body, yields

    def iteration(self, node: gast.For) -> tuple:
        """Bounds of a counted loop, and the sequences it walks (none for ``range``).

        ``for v in xs``, ``for i, v in enumerate(xs)`` and ``for a, b in zip(xs, ys)`` count
        over the positions of the sequences; each step reads ``xs[k]``.
        """
        call = node.iter
        callee = self.resolve_callee_or_none(call.func) if isinstance(call, gast.Call) \
            else None
        if callee is builtins.reversed and len(call.args) == 1 \
                and isinstance(call.args[0], gast.Name) and call.args[0].id in self.walk_bounds \
                and self.walks[call.args[0].id][1] is node:
            start, stop, step = self.walk_bounds[call.args[0].id]
            return start, stop, step, True, [("pop", [call.args[0]])]
        if callee in (builtins.range, builtins.reversed):
            start, stop, step, reverse = self.range_bounds(node)
            return start, stop, step, reverse, []
        if callee in (builtins.enumerate, builtins.zip) and not call.keywords \
                and not any(isinstance(a, gast.Starred) for a in call.args):
            if callee is builtins.enumerate and len(call.args) != 1:
                raise self.src.error(errors.UnsupportedSyntax, call,
                                     "`enumerate` is supported with one sequence")
            wanted = 2 if callee is builtins.enumerate else len(call.args)
            if not (isinstance(node.target, gast.Tuple) and len(node.target.elts) == wanted
                    and all(isinstance(e, gast.Name) for e in node.target.elts)):
                example = "for i, v in enumerate(xs):" if callee is builtins.enumerate \
                    else "for a, b in zip(xs, ys):"
                raise self.src.error(errors.UnsupportedSyntax, node.target,
                                     f"unpack each item into {wanted} names: `{example}`")
            sequences = [self.expr(a) for a in call.args]
        else:
            sequences = [self.expr(call)]
            callee = None
        lengths = [self.emit(Prim.LEN, (seq,), call) for seq in sequences]
        stop = lengths[0]
        for other in lengths[1:]:
            stop = self.emit(Prim.MIN, (stop, other), call)
        return Const(0), stop, Const(1), False, [(callee, sequences)]

    def unpack_items(self, node: gast.For, index: Var, sequences: list) -> list[gast.stmt]:
        """Bind the loop target to the items at ``index`` (the statements run first)."""
        if not sequences:
            return []
        ((callee, values),) = sequences
        if callee == "pop":  # for a in reversed(tape): each trip takes an item back off
            pop = gast.Call(gast.Attribute(gast.Name(values[0].id, gast.Load(), None, None),
                                           "pop", gast.Load()), [], [])
            return [gast.copy_location(gast.Assign([node.target], pop, None), node.iter)]
        names = _targets(node.target)
        if callee is builtins.enumerate:
            if not (isinstance(node.target, gast.Tuple) and len(node.target.elts) == 2
                    and all(isinstance(e, gast.Name) for e in node.target.elts)):
                raise self.src.error(errors.UnsupportedSyntax, node.target,
                                     "write `for i, v in enumerate(xs):`")
            items = [("counter", names[0]), (values[0], names[1])]
        elif callee is builtins.zip:
            if not (isinstance(node.target, gast.Tuple)
                    and len(node.target.elts) == len(values)
                    and all(isinstance(e, gast.Name) for e in node.target.elts)):
                raise self.src.error(errors.UnsupportedSyntax, node.target,
                                     f"unpack `zip` into {len(values)} names")
            items = list(zip(values, names))
        else:
            if not isinstance(node.target, gast.Name):
                raise self.src.error(errors.UnsupportedSyntax, node.target,
                                     "the loop variable must be a single name here")
            items = [(values[0], names[0])]
        self.pending_items = [(value, name, index) for value, name in items]
        return [gast.Pass()]  # replaced by the reads in ``loop_body``

    def range_bounds(self, node: gast.For) -> tuple[Value, Value, Value, bool]:
        """``range(...)`` or ``reversed(range(...))`` (what adjoint loops iterate)."""
        call, reverse = node.iter, False
        if isinstance(call, gast.Call) and len(call.args) == 1 and not call.keywords \
                and self.resolve_callee_or_none(call.func) is builtins.reversed:
            if not (isinstance(call.args[0], gast.Call) and self.resolve_callee_or_none(
                    call.args[0].func) is builtins.range):
                raise self.src.error(
                    errors.UnsupportedSyntax, call,
                    "`reversed` is supported over `range(...)`; index the sequence "
                    "backwards instead (`for k in reversed(range(len(xs))): v = xs[k]`)")
            call, reverse = call.args[0], True
        if not isinstance(node.target, gast.Name):
            raise self.src.error(errors.UnsupportedSyntax, node.target,
                                 "the loop variable must be a single name for now")
        if not (isinstance(call, gast.Call) and not call.keywords
                and self.resolve_callee_or_none(call.func) is builtins.range
                and 1 <= len(call.args) <= 3):
            raise self.src.error(
                errors.UnsupportedSyntax, call,
                "`reversed` is supported over `range(...)`; index the sequence backwards "
                "instead (`for k in reversed(range(len(xs))): v = xs[k]`)")
        bounds = [self.expr(a) for a in call.args]
        if len(bounds) == 1:
            bounds = [Const(0), bounds[0]]
        if len(bounds) == 2:
            bounds.append(Const(1))
        return bounds[0], bounds[1], bounds[2], reverse

    def resolve_callee_or_none(self, node: gast.expr) -> object:
        try:
            return self.resolve(node)
        except errors.CompileError:
            return None

    def statement(self, stmt: gast.stmt) -> None:
        if isinstance(stmt, gast.If):
            if _contains_return(stmt):  # only reachable inside loops: block() takes the rest
                raise self.src.error(errors.UnsupportedSyntax, stmt,
                                     "`return` inside a loop is not supported yet")
            self.if_statement(stmt)
        elif isinstance(stmt, (gast.For, gast.While)):
            self.loop(stmt)
        elif isinstance(stmt, gast.Assign):
            self.assign(stmt.targets, stmt.value)
        elif isinstance(stmt, gast.AnnAssign):
            if stmt.value is not None:
                self.assign([stmt.target], stmt.value)
        elif isinstance(stmt, gast.AugAssign):
            target = stmt.target
            if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                # x[i] += v reads x[i] once: x[i] = x[i] + v, the index evaluated once
                base = self.expr(target.value)
                pattern, operands = self.index(target.slice)
                old = self.emit(Prim.GETITEM, (base, *operands), target, None,
                                (("index", Const(pattern)),))
                prim = BINARY_OPS.get(type(stmt.op))
                if prim is None:
                    raise self.src.error(errors.UnsupportedSyntax, stmt,
                                         f"the operator `{_op_symbol(stmt.op)}=` is not "
                                         f"supported")
                new = self.emit(prim, (old, self.expr(stmt.value)), stmt)
                name = target.value.id
                self.written(name, target)
                var = self.names.fresh(name)
                self.emit(Prim.SETITEM, (base, new, *operands), stmt, var,
                          (("index", Const(pattern)),))
                self.env[name] = var
                return
            if isinstance(target, gast.Attribute):
                raise self.src.error(
                    errors.UnsupportedSyntax, target,
                    f"assigning to attributes (`{_text(stmt)}`) is not in the subset; "
                    "assign to a plain name and return the new value")
            if isinstance(target, gast.Subscript):
                raise self.src.error(
                    errors.UnsupportedSyntax, target,
                    f"`{_text(stmt)}`: s2sad writes into an array only through its name "
                    "(`x[i] += v`, where `x` is a variable of the function); index it "
                    "once (`x[i, j] += v`) or name the part first")
            if not isinstance(target, gast.Name):
                raise unsupported(self.src, target)
            self.augmented(stmt)
        elif isinstance(stmt, gast.Expr):
            if _is_docstring(stmt):
                return
            tape = self.tape_method(stmt.value, "append")
            if tape is not None:  # tape.append(v) or tape.append((a, b))
                (item,) = stmt.value.args
                items = item.elts if isinstance(item, gast.Tuple) else [item]
                values = tuple(self.expr(v) for v in items)
                self.body.append(Op((), Prim.PUSH, (tape, *values), (), self.src.loc(stmt)))
                return
            call = stmt.value
            if self.scatter_add(call, stmt):  # np.add.at(g, index, v): generated code
                return
            if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) \
                    and call.func.attr == "append" and isinstance(call.func.value, gast.Name) \
                    and call.func.value.id in self.env:  # xs.append(v): a new xs
                if len(call.args) != 1 or call.keywords:
                    raise self.src.error(errors.UnsupportedSyntax, call,
                                         "`.append` takes one value")
                name = call.func.value.id
                self.written(name, call)
                item = self.expr(call.args[0])
                var = self.names.fresh(name)
                self.emit(Prim.APPEND, (self.env[name], item), stmt, var)
                self.env[name] = var
                given = call.args[0]
                if isinstance(given, gast.Name) and given.id in self.env \
                        and not self.is_number(item):  # the list holds that very array
                    line = self.src.loc(stmt).lineno
                    self.link(given.id, f"was appended to `{name}` (line {line})",
                              name, f"holds `{given.id}` (line {line})")
                return
            self.expr(stmt.value)  # evaluated for its errors; the value is unused
        elif isinstance(stmt, gast.Pass):
            return
        else:
            raise unsupported(self.src, stmt)

    def assign(self, targets: list[gast.expr], value: gast.expr) -> None:
        first, *others = targets
        if others and not isinstance(first, gast.Name):
            chain = " = ".join(_text(t) for t in [*targets, value])
            raise self.src.error(
                errors.UnsupportedSyntax, first,
                f"`{chain}`: a chained assignment is supported when its first target is "
                "a plain name (`a = y[0] = v`); write one assignment per target")
        self.assign_one(first, value)
        for other in others:  # a = b = value: b copies what a holds
            source = gast.Name(first.id, gast.Load(), None, None)
            gast.copy_location(source, first)
            self.assign_one(other, source)

    def tape_method(self, node: gast.expr, method: str) -> Var | None:
        """The tape ``node`` calls ``method`` of with one argument (``append``) or none."""
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr == method and isinstance(node.func.value, gast.Name)
                and not node.keywords):
            return None
        tape = self.env.get(node.func.value.id)
        if tape is None or tape not in self.tapes:
            return None
        if len(node.args) != (1 if method == "append" else 0):
            return None
        return tape

    def assign_one(self, target: gast.expr, value: gast.expr) -> None:
        tape = self.tape_method(value, "pop")
        if tape is not None:  # v = tape.pop() or a, b = tape.pop()
            names = target.elts if isinstance(target, (gast.Tuple, gast.List)) else [target]
            if not all(isinstance(n, gast.Name) for n in names):
                raise unsupported(self.src, target)
            results = tuple(self.names.fresh(n.id) for n in names)
            self.body.append(Op(results, Prim.POP, (tape,), (), self.src.loc(value)))
            self.env.update((n.id, r) for n, r in zip(names, results))
            return
        if isinstance(target, gast.Name) and isinstance(value, gast.List) and not value.elts \
                and target.id in self.stacks:
            var = self.names.fresh(target.id)  # tape = []: a stack of values (the tape)
            self.body.append(Op((var,), Prim.TAPE, (), (), self.src.loc(value)))
            self.tapes.add(var)
            self.env[target.id] = var
            return
        if isinstance(target, gast.Name):
            var = self.names.fresh(target.id)
            self.expr(value, var.name, into=var)
            self.env[target.id] = var
            self.rebound(target.id)
            line = self.src.loc(value).lineno
            base = _view_base(value)
            if self.is_number(var):  # a number shares no storage
                pass
            elif base is not None and base in self.env:
                self.link(target.id, f"is a view of `{base}` (line {line})",
                          base, f"has a view `{target.id}` (line {line})")
            elif isinstance(value, gast.Name) and value.id in self.env:
                self.link(target.id, f"names the same array as `{value.id}` (line {line})",
                          value.id, f"names the same array as `{target.id}` (line {line})",
                          same=True)
            elif isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) \
                    and value.value.id in self.env and var not in self.numbers \
                    and not _copying_index(value.slice):
                base = value.value.id  # x[0] is a row of x when x has two dimensions
                last = self.body[-1]
                read = last if isinstance(last, Op) and last.prim is Prim.GETITEM \
                    and last.results == (var,) else None
                self.may_view.setdefault(target.id, {})[base] = (
                    f"may have a view `{target.id}` (line {line})", self.held(base),
                    self.held(target.id), read)
            else:
                self.call_links([target.id], value)
        elif isinstance(target, (gast.Tuple, gast.List)):
            starred = next((t for t in target.elts if isinstance(t, gast.Starred)), None)
            if starred is not None:
                raise unsupported(self.src, starred)
            for t in target.elts:
                if isinstance(t, (gast.Tuple, gast.List)):
                    raise self.src.error(
                        errors.UnsupportedSyntax, t,
                        f"unpacking into a nested tuple (`{_text(t)}`) is not in the "
                        "subset; unpack one level at a time")
                if not isinstance(t, gast.Name):
                    raise self.src.error(
                        errors.UnsupportedSyntax, t,
                        f"unpacking into `{_text(t)}` is not in the subset; unpack into "
                        "plain names, then assign them")
            if isinstance(value, gast.Call) and self.returns_several(value):
                self.call(value, None, n_results=len(target.elts))
                op = self.body[-1]
                named = tuple(self.names.fresh(t.id) for t in target.elts)
                self.body[-1] = Op(named, op.prim, op.args, op.params, op.loc)
                self.env.update((t.id, v) for t, v in zip(target.elts, named))
                for t in target.elts:
                    self.rebound(t.id)
                self.call_links([t.id for t in target.elts], value)
                return
            if not isinstance(value, (gast.Tuple, gast.List)):  # a, b = pair: index it
                whole = self.expr(value)
                fresh = []
                for k, t in enumerate(target.elts):
                    var = self.names.fresh(t.id)
                    self.emit(Prim.GETITEM, (whole, Const(k)), t, var,
                              (("index", Const("_")),))
                    fresh.append((t.id, var))
                self.env.update(fresh)
                return
            if len(value.elts) != len(target.elts):
                raise self.src.error(
                    errors.UnsupportedSyntax, value,
                    f"cannot unpack {len(value.elts)} values into {len(target.elts)} names")
            fresh = []
            for t, v in zip(target.elts, value.elts):  # right side first, then bind
                var = self.names.fresh(t.id)
                self.expr(v, var.name, into=var)
                fresh.append((t.id, var))
            for name, var in fresh:
                self.env[name] = var
        elif isinstance(target, gast.Subscript):
            self.store_item(target, self.expr(value), target)
        elif isinstance(target, gast.Attribute):
            raise self.src.error(
                errors.UnsupportedSyntax, target,
                "assigning to attributes (`obj.name = ...`) is not in the subset; assign to "
                "a plain name and return the new value")
        else:
            raise unsupported(self.src, target)

    def link(self, a: str, a_is: str, b: str, b_is: str, same: bool = False) -> None:
        """``a`` and ``b`` share storage (``same``: the same array; else one may be a view
        of the other), for as long as both hold the values they hold now."""
        self.links.setdefault(a, {})[b] = (a_is, self.held(a), same)
        self.links.setdefault(b, {})[a] = (b_is, self.held(b), same)

    def held(self, name: str) -> object:
        """The value ``name`` holds, as links and stale reads compare it: a loop's carried
        value counts as its value before the loop (the very object, on the first trip or
        when the loop runs none)."""
        value = self.env.get(name)
        return self.same.get(value, value) if isinstance(value, Var) else value

    def call_links(self, targets: list[str], node: gast.expr) -> None:
        """``targets = g(...)``, a user function's results: each shares storage with the
        names passed to ``g`` whose array it may return (or a view of it)."""
        if not (isinstance(node, gast.Call) and not self.is_local(node.func)):
            return
        callee = self.resolve_callee_or_none(node.func)
        if not isinstance(callee, (types.FunctionType, StaticFunction)) \
                or _generated_helper(callee) is not None:
            return
        name = callee.name if isinstance(callee, StaticFunction) else callee.__name__
        if prim_of_callable(callee) is not None or name not in self.callees:
            return  # np.ones is a Python function too
        fn = self.callees[name].fn
        positions = {p.var.name: k for k, p in enumerate(fn.params)}
        passed = [(k, a) for k, a in enumerate(node.args)]
        passed += [(positions[k.arg], k.value) for k in node.keywords if k.arg in positions]
        returned = _returned_params(fn)
        if len(targets) == 1:  # the whole result (a tuple holds each of its values)
            returned = [set().union(*returned)]
        line = self.src.loc(node).lineno
        for target, params in zip(targets, returned):
            for k, arg in passed:
                base = arg.id if isinstance(arg, gast.Name) else _view_base(arg)
                if k in params and base is not None and base in self.env and base != target:
                    self.link(target, f"may be the array `{base}` passed to `{name}` (line "
                              f"{line}), which may return it", base,
                              f"was passed to `{name}`, which may return it as `{target}` "
                              f"(line {line})")

    def rebound(self, name: str) -> None:
        """``name`` now holds a new value: it shares storage with nothing."""
        self.stale.pop(name, None)
        self.may_view.pop(name, None)
        for other in self.links.pop(name, {}):
            self.links.get(other, {}).pop(name, None)

    def sharing(self, name: str) -> list[tuple[str, str, object, bool]]:
        """The names that still share storage with ``name`` (through copies of the name and
        views, transitively), each with how it relates to its neighbour, its value, and
        whether it names the very array ``name`` does."""
        found: list[tuple[str, str, object, bool]] = []
        seen, frontier = {name}, [(name, True)]
        while frontier:
            current, same_path = frontier.pop(0)
            edges = [(o, *self.links[o][current]) for o in self.links.get(current, {})
                     if self.links[current][o][1] == self.held(current)]
            edges += [(o, how, value, False) for o, (how, value, held, _) in self.may_view.get(
                current, {}).items() if held == self.held(current)]
            for other, relation, value, same in edges:
                if other in seen or self.held(other) != value:
                    continue  # `other` was bound to something else since
                seen.add(other)
                frontier.append((other, same_path and same))
                found.append((other, relation, value, same_path and same))
        return found

    def updatable(self, name: str) -> bool:
        """Can a new value of ``name`` be bound here and seen after the enclosing loops?
        (Each carries it, or it is local to one of them.)"""
        for carried, local in reversed(self.frames):
            if name not in carried:
                return name in local
        return True

    def augmented(self, stmt: gast.AugAssign) -> None:
        """``a += y`` (any operator) on a name: ``a = a + y``. When ``a`` holds an array,
        Python writes into it, so the names for that array hold the sum too: each becomes
        ``a`` if ``_is_array(a)`` before the write, else keeps its value. Views of the
        array, read later, are errors (``written``)."""
        target = stmt.target
        old = self.env.get(target.id)
        shared: list[str] = []
        if isinstance(old, Var) and old not in self.numbers:  # may be an array
            shared = self.written(target.id, stmt, _op_symbol(stmt.op))
        test = self.emit(Prim.IS_ARRAY, (old,), stmt) if shared else None
        views = dict(self.may_view.get(target.id, {}))  # assigning forgets them
        combined = gast.BinOp(left=gast.Name(target.id, gast.Load(), None, None),
                              op=stmt.op, right=stmt.value)
        gast.copy_location(combined, stmt)
        gast.copy_location(combined.left, target)
        self.assign([target], combined)
        line = self.src.loc(stmt).lineno
        for other in shared:
            new, value = self.names.fresh(other), self.env[target.id]
            then: tuple[Stmt, ...] = ()
            read = views.get(other, (None,) * 4)[3]
            written = test
            if read is not None:  # a = x[i]: a view of x (a basic index), written back
                written = self.emit(Prim.SHARES_MEMORY, (old, self.env[other]), stmt)
                value = self.names.fresh(other)
                then = (Op((value,), Prim.SETITEM, (self.env[other], self.env[target.id],
                                                    *read.args[1:]),
                           read.params, self.src.loc(stmt)),)
            self.body.append(If((new,), written, Region((), then, (value,)),
                                Region((), (), (self.env[other],)), self.src.loc(stmt)))
            self.env[other] = new
            if read is None:
                self.link(target.id, f"names the same array as `{other}` (line {line})",
                          other, f"names the same array as `{target.id}` (line {line})",
                          same=True)

    def note_parameter_write(self, name: str, at: gast.AST) -> None:
        """A write into ``name``: is it into the array of a parameter (the parameter
        itself, a name for it or a view of it, never rebound since)?"""
        for other in [name] + [other for other, *_ in self.sharing(name)]:
            held = self.held(other)
            if held in self.parameters:
                self.param_writes.append((self.parameters[held], self.src.loc(at).lineno))
                return

    def written(self, name: str, at: gast.AST, op: str = "") -> list[str]:
        """A write into ``name`` (``op``: by ``name op= ...``): whatever shares its storage,
        read later, would see it in Python but not in s2sad, which keeps values apart; such
        reads become errors. For ``op``, the names for the very same array that can take
        the new value instead are returned (``augmented`` binds them)."""
        line = self.src.loc(at).lineno
        shared = []
        direct = self.may_view.get(name, {})
        for other, relation, value, same in self.sharing(name):
            item = other in direct and direct[other][2] == self.held(name) \
                and direct[other][3] is not None
            if op and (same or item) and self.updatable(other):
                shared.append(other)
                continue
            if op:
                what = (f"`{name} {op}= ...` at line {line} writes into the array `{name}` holds "
                        f"(if it holds one): Python shows that write through `{other}`, "
                        f"s2sad reads it as `{name} = {name} {op} ...`; write that if "
                        f"`{other}` should not change, or make a copy (`.copy()`) where "
                        f"`{name}` gets its array")
            elif relation.startswith("holds "):  # xs.append(a), then a written into
                what = (f"`{name}` was written into at line {line}: Python shows that write "
                        f"through `{other}`, s2sad keeps the two apart; append a copy "
                        f"(`.copy()`) to `{other}`")
            else:
                what = (f"`{name}` was written into at line {line}: Python shows that write "
                        f"through `{other}`, s2sad keeps the two apart; make `{other}` a "
                        f"copy (`.copy()`) where it is made")
            self.stale[other] = (f"`{other}` {relation}, and {what}", value)
        return shared

    def scatter_add(self, call: gast.expr, stmt: gast.stmt) -> bool:
        """``np.add.at(g, index, v)``, or the ``_add_at`` helper generated code calls for
        an index that may repeat: a new ``g`` with ``v`` added at ``index`` (index_add).
        ``_add_row(g, index, row)`` is read so too: its row, from ``_row_of``, is read as
        the zeros it stands for (a view of ``g`` only where that gives ``g`` the same)."""
        if not (isinstance(call, gast.Call) and len(call.args) == 3 and not call.keywords
                and (self.numpy_path(call.func) == "add.at"
                     or (isinstance(call.func, gast.Name) and getattr(
                         self.resolve_callee_or_none(call.func), "__s2sad_helper__", None)
                         in ("_add_at", "_add_row")))
                and isinstance(call.args[0], gast.Name) and call.args[0].id in self.env):
            return False
        target, where, value = call.args
        pattern, operands = self.index(self.index_object(where))
        name = target.id
        self.written(name, call)
        var = self.names.fresh(name)
        self.emit(Prim.INDEX_ADD, (self.env[name], self.expr(value), *operands), stmt, var,
                  (("index", Const(pattern)), ("unique", Const(False))))
        self.env[name] = var
        return True

    def index_object(self, node: gast.expr) -> gast.expr:
        """The subscript an index object stands for: ``np.s_[1:, i]`` or ``(i, j)``."""
        if isinstance(node, gast.Subscript) and self.numpy_path(node.value) == "s_":
            return node.slice
        return node

    def numpy_path(self, node: gast.expr) -> str | None:
        """``add.at`` for ``np.add.at`` when ``np`` is NumPy here, else None."""
        path = _dotted(node)
        if path is None or "." not in path or self.is_local(node):
            return None
        root, rest = path.split(".", 1)
        try:
            module = self.resolve_root(root, node)
        except errors.CompileError:
            return None
        return rest if getattr(module, "__name__", None) == "numpy" else None

    def returns_several(self, node: gast.Call) -> bool:
        if isinstance(node.func, gast.Attribute) and self.is_local(node.func.value):
            return False
        callee = self.resolve_callee_or_none(node.func)
        if isinstance(callee, (types.FunctionType, StaticFunction)) \
                and _generated_helper(callee) is None:
            return True  # a user function: unpacked by what it returns
        prim = prim_of_callable(callee)
        return prim is not None and prim.n_results[1] > 1

    def store_item(self, target: gast.Subscript, value: Value, node: gast.AST) -> None:
        """``x[i] = v``: a new version of ``x`` (written in place when that is safe)."""
        if not isinstance(target.value, gast.Name) or target.value.id not in self.env:
            raise self.src.error(
                errors.UnsupportedSyntax, target,
                "only a local array can be written into (`x[i] = v` where `x` is a "
                "variable of the function)")
        name = target.value.id
        self.written(name, target)
        self.note_parameter_write(name, target)
        pattern, operands = self.index(target.slice)
        var = self.names.fresh(name)
        self.emit(Prim.SETITEM, (self.env[name], value, *operands), node, var,
                  (("index", Const(pattern)),))
        self.env[name] = var

    # --- expressions ------------------------------------------------------------------

    def expr(self, node: gast.expr, name: str | None = None, into: Var | None = None) -> Value:
        """Lower ``node``; the last op is named ``into`` (or a fresh version of ``name``)."""
        if into is None and name is not None:
            into = self.names.fresh(name)
        value = self.value_of(node, into)
        if into is not None and value != into:
            self.emit(Prim.COPY, (value,), node, into)
            return into
        return value

    def emit(self, prim: Prim, args: tuple[Value, ...], node: gast.AST,
             into: Var | None = None, params: tuple = ()) -> Var:
        result = into if into is not None else self.names.temp()
        self.body.append(Op((result,), prim, args, params, self.src.loc(node)))
        if prim.value.startswith("math.") or prim in _NUMBER_RESULTS or (
                prim in _NUMBERS_FROM_NUMBERS and all(map(self.is_number, args))):
            self.numbers.add(result)
        return result

    def is_number(self, value: Value) -> bool:
        if isinstance(value, Const):
            return isinstance(value.value, (bool, int, float))
        return isinstance(value, Global) or value in self.numbers

    def value_of(self, node: gast.expr, into: Var | None) -> Value:
        if isinstance(node, gast.Constant):
            if isinstance(node.value, complex):
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     "complex numbers are not in the differentiable subset")
            return Const(node.value)
        if isinstance(node, gast.Name):
            return self.load_name(node)
        if isinstance(node, gast.BinOp):
            prim = BINARY_OPS.get(type(node.op))
            if prim is None:
                raise self.src.error(
                    errors.UnsupportedSyntax, node,
                    f"the operator `{_op_symbol(node.op)}` is not supported yet")
            left, right = self.expr(node.left), self.expr(node.right)
            return self.emit(prim, (left, right), node, into)
        if isinstance(node, gast.UnaryOp):
            prim = UNARY_OPS.get(type(node.op))
            if prim is None:
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     "bitwise `~` is not in the differentiable subset")
            return self.emit(prim, (self.expr(node.operand),), node, into)
        if isinstance(node, gast.Compare):
            return self.compare(node, into)
        if isinstance(node, gast.IfExp):
            cond = self.expr(node.test)
            return self.choose(cond, lambda: self.expr(node.body),
                               lambda: self.expr(node.orelse), node, into)
        if isinstance(node, gast.BoolOp):
            return self.boolean(node, into)
        if isinstance(node, gast.Call):
            return self.call(node, into)
        if isinstance(node, gast.Attribute):
            if self.is_local(node.value):
                return self.attribute(node, into)
            return self.load_global(node)
        if isinstance(node, gast.Subscript):
            return self.subscript(node, into)
        if isinstance(node, gast.ListComp):
            return self.comprehension(node, into)
        if isinstance(node, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) for e in node.elts):
                raise unsupported(self.src, next(e for e in node.elts
                                                  if isinstance(e, gast.Starred)))
            prim = Prim.TUPLE if isinstance(node, gast.Tuple) else Prim.LIST
            return self.emit(prim, tuple(self.expr(e) for e in node.elts), node, into)
        raise unsupported(self.src, node)

    # --- arrays: attributes, methods, subscripts --------------------------------------

    def comprehension(self, node: gast.ListComp, into: Var | None) -> Value:
        """``[e for v in xs if c]`` is a loop appending to a new list."""
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise self.src.error(errors.UnsupportedSyntax, node,
                                 "list comprehensions are supported with one `for`; nest "
                                 "loops instead")
        gen = node.generators[0]
        self.comprehensions += 1
        name = f"_items{self.comprehensions}"
        inside = {n.id for n in _nodes(node) if isinstance(n, gast.Name)}
        if into is not None and not into.is_temp and into.base not in inside:
            name = into.base  # ys = [...]: build the list under its own name
        self.locals.add(name)
        append = gast.Expr(gast.Call(
            gast.Attribute(gast.Name(name, gast.Load(), None, None), "append", gast.Load()),
            [node.elt], []))
        body: gast.stmt = append
        for cond in reversed(gen.ifs):
            body = gast.If(cond, [body], [])
        loop = gast.For(gen.target, gen.iter, [body], [], None)
        for n in _nodes(loop):
            if hasattr(n, "lineno") or isinstance(n, (gast.stmt, gast.expr)):
                if not hasattr(n, "lineno"):
                    gast.copy_location(n, node)
        hidden = {t: self.env[t] for t in _targets(gen.target) if t in self.env}
        hidden.update({name: self.env[name]} if name in self.env else {})
        self.env[name] = self.emit(Prim.LIST, (), node, self.names.fresh(name))
        self.loop(loop)
        result = self.env.pop(name)
        for t in _targets(gen.target):  # the comprehension's variable stays inside it
            self.env.pop(t, None)
            self.partial.pop(t, None)
        self.env.update(hidden)
        if into is not None and into.base != name:
            self.emit(Prim.COPY, (result,), node, into)
            return into
        return result

    def is_local(self, node: gast.expr) -> bool:
        """Does ``node`` compute a value of the function (not a module or a global)?"""
        while isinstance(node, gast.Attribute):
            node = node.value
        if isinstance(node, gast.Name):
            return node.id in self.env or node.id in self.locals or node.id in self.partial
        return True  # a call, a subscript, an expression: a value

    def attribute(self, node: gast.Attribute, into: Var | None) -> Value:
        prim = _ATTRIBUTES.get(node.attr)
        if prim is None:
            raise self.src.error(
                errors.UnsupportedSyntax, node,
                f"the attribute `.{node.attr}` is not supported; s2sad reads `.T`, "
                f"`.shape`, `.ndim` and `.size` of arrays")
        return self.emit(prim, (self.expr(node.value),), node, into)

    def subscript(self, node: gast.Subscript, into: Var | None) -> Value:
        if isinstance(node.value, gast.Call) and self.returns_several(node.value) \
                and isinstance(node.slice, gast.Constant) \
                and isinstance(node.slice.value, int):  # np.linalg.slogdet(a)[1]
            prim = prim_of_callable(self.resolve_callee_or_none(node.value.func))
            if prim is None:  # a user function's results: a tuple, indexed below
                return self.emit(Prim.GETITEM, (self.expr(node.value), Const(
                    node.slice.value)), node, into, (("index", Const("_")),))
            n = prim.n_results[1] if prim is not Prim.SVD else 3
            if prim is Prim.SVD and any(k.arg == "compute_uv" for k in node.value.keywords):
                n = 1
            results = self.call(node.value, None, n_results=n) if n > 1 else None
            if results is None or not -n <= node.slice.value < n:
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     "index the results of this call with a number in range")
            picked = results[node.slice.value]
            if into is not None:
                self.emit(Prim.COPY, (picked,), node, into)
                return into
            return picked
        base = self.expr(node.value)
        pattern, operands = self.index(node.slice)
        return self.emit(Prim.GETITEM, (base, *operands), node, into,
                         (("index", Const(pattern)),))

    def index(self, node: gast.expr) -> tuple[str, list[Value]]:
        return index.from_gast(node, self.expr)

    def method(self, node: gast.Call, into: Var | None) -> Value:
        """``x.sum(axis=0)``, ``x.reshape(n, -1)``, ``x.dot(y)``, ``xs.append(v)``..."""
        func = node.func
        name = func.attr
        if name not in _METHODS:
            raise self.src.error(
                errors.UnsupportedSyntax, func,
                f"the method `.{name}()` is not supported; s2sad knows "
                f"{', '.join('`.' + m + '()`' for m in sorted(_METHODS))}")
        receiver = self.expr(func.value)
        prim = _METHODS[name]
        if prim is Prim.NP_RESHAPE:
            args = [self.expr(a) for a in node.args]  # x.reshape(a, b) or x.reshape((a, b))
            if node.keywords or not args:
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     "write `x.reshape(shape)` with the shape as positional "
                                     "arguments")
            shape = args[0] if len(args) == 1 else self.emit(Prim.TUPLE, tuple(args), node)
            return self.emit(prim, (receiver, shape), node, into)
        if prim is Prim.NP_TRANSPOSE and node.args:  # x.transpose(1, 0)
            axes = tuple(self.constant(a, "the axes of `.transpose`") for a in node.args)
            return self.emit(prim, (receiver,), node, into,
                             (("axes", Const(axes if len(axes) > 1 else axes[0])),))
        return self.call_prim(prim, f".{name}", [receiver], node.args, node.keywords, node,
                              into)

    def constant(self, node: gast.expr, what: str) -> object:
        """A literal (``0``, ``(0, 1)``, ``True``, ``-1``) or a module-level number."""
        try:
            value = ast.literal_eval(gast.gast_to_ast(node))
        except (ValueError, TypeError, SyntaxError):
            value = _NOTHING
        if value is _NOTHING and _dotted(node) is not None and not self.is_local(node):
            value = self.resolve(node)
        if value is _NOTHING or not _is_literal(value):
            raise self.src.error(errors.UnsupportedSyntax, node,
                                 f"{what} must be a constant (a literal number or tuple)")
        return value

    def choose(self, cond: Value, then, orelse, node: gast.AST, into: Var | None) -> Var:
        """``then() if cond else orelse()``, each side lowered into its own region."""
        regions = []
        for side in (then, orelse):
            saved = self.body
            self.body = []
            value = side()
            regions.append(Region((), tuple(self.body), (value,)))
            self.body = saved
        result = into if into is not None else self.names.temp()
        self.body.append(If((result,), cond, regions[0], regions[1], self.src.loc(node)))
        return result

    def boolean(self, node: gast.BoolOp, into: Var | None) -> Value:
        """``a and b`` is ``b if a else a``; ``a or b`` is ``a if a else b`` (short-circuit)."""
        value = self.expr(node.values[0])
        rest = node.values[1:]
        for i, operand in enumerate(rest):
            target = into if i == len(rest) - 1 else None
            first = value
            later = (lambda o=operand: self.expr(o))
            if isinstance(node.op, gast.And):
                value = self.choose(first, later, lambda f=first: f, node, target)
            else:
                value = self.choose(first, lambda f=first: f, later, node, target)
        return value

    def compare(self, node: gast.Compare, into: Var | None) -> Value:
        """``a < b < c`` is ``(a < b) and (b < c)``, with ``b`` evaluated once."""
        prims = []
        for op in node.ops:
            prim = COMPARE_OPS.get(type(op))
            if prim is None:
                raise self.src.error(
                    errors.UnsupportedSyntax, node,
                    f"`{_op_symbol(op)}` comparisons are not in the subset; use "
                    f"`<`, `<=`, `>`, `>=`, `==` or `!=`")
            prims.append(prim)
        left = self.expr(node.left)

        def link(i: int, left: Value, into: Var | None) -> Value:
            right = self.expr(node.comparators[i])
            last = i == len(prims) - 1
            test = self.emit(prims[i], (left, right), node, into if last else None)
            if last:
                return test
            return self.choose(test, lambda: link(i + 1, right, None), lambda: test,
                               node, into)

        return link(0, left, into)

    def load_name(self, node: gast.Name) -> Value:
        if node.id in self.stale and self.held(node.id) == self.stale[node.id][1]:
            raise self.src.error(errors.UnsupportedSyntax, node, self.stale[node.id][0])
        if node.id in self.env:
            return self.env[node.id]
        if node.id in self.partial:
            raise self.src.error(errors.UndefinedName, node,
                                 f"`{node.id}` {self.partial[node.id]}")
        if node.id in self.locals:
            raise self.src.error(errors.UndefinedName, node,
                                 f"`{node.id}` is used before it is assigned")
        return self.load_global(node)

    def load_global(self, node: gast.expr) -> Value:
        path = _dotted(node)
        if path is None:
            raise self.src.error(
                errors.UnsupportedSyntax, node,
                "attributes are only supported on modules (such as `math.pi`) for now")
        obj = self.resolve(node)
        if isinstance(obj, bool) or obj is None:
            return Const(obj)
        if isinstance(obj, (int, float)) and not isinstance(obj, bool):
            self.bind_global(path, node)
            return Global(path)
        kind = "a module" if isinstance(obj, types.ModuleType) else type(obj).__name__
        if callable(obj):
            kind = "a function"
        raise self.src.error(
            errors.UnsupportedSyntax, node,
            f"`{path}` is {kind}; only numbers can be read from outside the function here")

    def bind_global(self, path: str, node: gast.AST) -> None:
        root = path.split(".")[0]
        self.bindings[root] = self.resolve_root(root, node)

    def resolve_root(self, name: str, node: gast.AST) -> object:
        if name in self.src.namespace:
            return self.src.namespace[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise self.src.error(errors.UndefinedName, node, f"`{name}` is not defined")

    def resolve(self, node: gast.expr) -> object:
        """The object a dotted name refers to, looked up now (at compile time)."""
        if isinstance(node, gast.Name):
            if node.id in self.locals or node.id in self.env:
                raise self.src.error(
                    errors.UnsupportedSyntax, node,
                    f"`{node.id}` is a value of the function; calling it or reading its "
                    f"attributes or methods is not supported yet (only functions and "
                    f"constants of modules, such as `math.sin` or `math.pi`)")
            return self.resolve_root(node.id, node)
        if isinstance(node, gast.Attribute):
            owner = self.resolve(node.value)
            if not isinstance(owner, types.ModuleType):
                raise self.src.error(
                    errors.UnsupportedSyntax, node,
                    "attributes are only supported on modules (such as `math.pi`) for now")
            if not hasattr(owner, node.attr):
                raise self.src.error(
                    errors.UndefinedName, node,
                    f"module `{owner.__name__}` has no attribute `{node.attr}`")
            return getattr(owner, node.attr)
        raise self.src.error(errors.UnsupportedSyntax, node,
                             "only named functions can be called (such as `math.sin(x)`)")

    def call(self, node: gast.Call, into: Var | None, n_results: int = 1) -> Value:
        if any(isinstance(a, gast.Starred) for a in node.args):
            raise unsupported(self.src, next(a for a in node.args
                                              if isinstance(a, gast.Starred)))
        if isinstance(node.func, gast.Attribute) and self.is_local(node.func.value):
            return self.method(node, into)
        callee = self.resolve(node.func)
        label = _dotted(node.func) or "this function"
        prim = prim_of_callable(callee) or _generated_helper(callee)
        helper = getattr(callee, "__s2sad_helper__", None)
        if helper == "_row_of" and len(node.args) == 3 \
                and not node.keywords:  # _row_of(g, i, x): zeros like x, to add into g at i
            return self.emit(Prim.ZEROS, (self.expr(node.args[2]),), node, into)
        if helper in _SUMMED_PRODUCTS and len(node.args) == 3 and not node.keywords:
            return self.summed_products(_SUMMED_PRODUCTS[helper], node, into)
        if prim is None and isinstance(callee, (types.FunctionType, StaticFunction)):
            return self.user_call(node, callee, label, into, n_results)
        if prim is None:
            raise self.src.error(errors.NoDerivativeRule, node.func, _no_rule(label))
        if prim is Prim.SETITEM_GRAD and len(node.args) == 2:  # _setitem_grad(g, np.s_[i])
            pattern, operands = self.index(self.index_object(node.args[1]))
            return self.emit(prim, (self.expr(node.args[0]), *operands), node, into,
                             (("index", Const(pattern)),))
        if prim.spec.keywords or prim.n_results != (1, 1):
            return self.call_prim(prim, label, [], node.args, node.keywords, node, into,
                                  n_results)
        if node.keywords:
            keyword = node.keywords[0]
            at = keyword if hasattr(keyword, "lineno") else keyword.value
            raise self.src.error(errors.UnsupportedSyntax, at,
                                 f"`{label}` takes no keyword arguments here")
        args = [self.expr(a) for a in node.args]
        if prim is Prim.LOG and len(args) == 2:  # math.log(x, base) = log(x) / log(base)
            num = self.emit(Prim.LOG, (args[0],), node)
            den = self.emit(Prim.LOG, (args[1],), node)
            return self.emit(Prim.DIV, (num, den), node, into)
        if prim in (Prim.MIN, Prim.MAX) and len(args) > 2:  # max(a, b, c) = max(max(a, b), c)
            acc = args[0]
            for i, arg in enumerate(args[1:], 2):
                acc = self.emit(prim, (acc, arg), node, into if i == len(args) else None)
            return acc
        lo, hi = prim.arity
        if not lo <= len(args) <= hi:
            expected = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.src.error(
                errors.UnsupportedSyntax, node,
                f"`{label}` is supported with {expected} argument(s), got {len(args)}")
        return self.emit(prim, tuple(args), node, into)

    def summed_products(self, prim: Prim, node: gast.Call, into: Var | None) -> Var:
        """``_matmul_grad_b_sum(gs, lefts, b)``, which generated code calls after a loop
        (``passes.batched``), read as the sum it computes: zeros like ``b``, then a loop
        adding ``_matmul_grad_b(gs[k], lefts[k], b)`` for each k (``_matmul_grad_a_sum(gs,
        a, rights)`` likewise), whose derivative is its terms'. (The helper stacks the
        iterations where that gives the same sum faster; the derivative needs the sum.)"""
        args = [self.expr(a) for a in node.args]
        fixed_at = 2 if prim is Prim.MATMUL_GRAD_B else 1  # (gs, lefts, b) or (gs, a, rights)
        gs, fixed, items = args[0], args[fixed_at], args[3 - fixed_at]
        count = self.emit(Prim.LEN, (gs,), node)
        zeros = self.emit(Prim.ZEROS, (fixed,), node)
        index, total = self.names.temp(), self.names.temp()
        self.numbers.add(index)
        outside, self.body = self.body, []
        at = (("index", Const("_")),)
        args[0] = self.emit(Prim.GETITEM, (gs, index), node, params=at)
        args[3 - fixed_at] = self.emit(Prim.GETITEM, (items, index), node, params=at)
        term = self.emit(prim, tuple(args), node)
        added = self.emit(Prim.ADD, (total, term), node)
        body, self.body = tuple(self.body), outside
        result = into if into is not None else self.names.temp()
        self.body.append(For((result,), Const(0), count, Const(1), (zeros,),
                             Region((index, total), body, (added,)), self.src.loc(node)))
        return result

    def user_call(self, node: gast.Call, callee: object, label: str, into: Var | None,
                  n_results: int) -> Value:
        """A call to a function of the user's: lowered once, called by name
        (``r = call a b fn='g'``); its derivatives are generated functions of their own."""
        name, lowered = self.lower_callee(callee, node, label)
        args = self.call_arguments(node, lowered.fn, label)
        outs = lowered.fn.out
        count = len(outs) if isinstance(outs, tuple) else 1
        results = tuple(self.names.temp() for _ in range(count))
        self.body.append(Op(results, Prim.CALL, tuple(args), (("fn", Const(name)),),
                            self.src.loc(node)))
        if n_results > 1:
            if n_results != count:
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     f"`{name}` returns {count} value(s), not {n_results}")
            return results  # type: ignore[return-value]
        value: Value = results[0] if count == 1 else self.emit(Prim.TUPLE, results, node)
        if into is not None:
            self.emit(Prim.COPY, (value,), node, into)
            return into
        return value

    def lower_callee(self, callee: object, node: gast.AST, label: str, rule: bool = False
                     ) -> tuple[str, Lowered]:
        """A user function lowered (once) into the call tree's table, and its name."""
        if not isinstance(callee, (types.FunctionType, StaticFunction)):
            raise self.src.error(errors.NoSource, node, f"{label} is not a Python function")
        name = callee.name if isinstance(callee, StaticFunction) else callee.__name__
        at = node.func if isinstance(node, gast.Call) else node
        try:
            source = from_file(callee.path, callee.name) \
                if isinstance(callee, StaticFunction) else from_function(callee)
        except errors.NoSource as exc:
            raise self.src.error(errors.NoSource, at,
                                 f"`{label}` is called here, but {exc.message}") from None
        key = _source_key(source)
        callers = (*self.stack, _source_key(self.src))
        if key in callers:
            chain = " -> ".join([*(k[1] for k in callers[callers.index(key):]), name])
            raise self.src.error(
                errors.UnsupportedSyntax, node,
                f"recursion ({chain}) is not supported; write the recursion as a loop")
        lowered = self.callees.get(name)
        if lowered is not None and _source_key(lowered.source) != key:
            raise self.src.error(
                errors.UnsupportedSyntax, at,
                f"two different functions called `{name}` are called; rename one")
        if lowered is None:
            lowered = lower(source, callers, self.callees)
            self.callees[name] = lowered
        if lowered.param_writes and not rule:
            param, line = lowered.param_writes[0]
            raise self.src.error(
                errors.UnsupportedSyntax, at,
                f"`{name}` writes into the array passed as `{param}` (line {line}): Python "
                f"changes the caller's array, s2sad would not; in `{name}`, write into a "
                f"copy (`{param} = {param}.copy()`) and return what the caller needs")
        for root, obj in lowered.bindings.items():
            if root in self.bindings and self.bindings[root] is not obj:
                raise self.src.error(
                    errors.UnsupportedSyntax, at,
                    f"`{name}` reads `{root}`, which names something else here; rename it")
            self.bindings[root] = obj
        return name, lowered

    def call_arguments(self, node: gast.Call, fn: Function, label: str) -> list[Value]:
        """The arguments in the callee's parameter order, defaults filled in."""
        params = list(fn.params)
        bound: dict[int, Value] = {}
        positional = [k for k, p in enumerate(params) if not p.kwonly]
        if len(node.args) > len(positional):
            raise self.src.error(errors.UnsupportedSyntax, node,
                                 f"`{label}` takes {len(positional)} positional argument(s), "
                                 f"got {len(node.args)}")
        for k, arg in zip(positional, node.args):
            bound[k] = self.expr(arg)
        names = {p.var.name: k for k, p in enumerate(params)}
        for keyword in node.keywords:
            at = keyword if hasattr(keyword, "lineno") else keyword.value
            if keyword.arg is None or keyword.arg not in names:
                raise self.src.error(errors.UnsupportedSyntax, at,
                                     f"`{label}` has no parameter `{keyword.arg}`")
            if names[keyword.arg] in bound:
                raise self.src.error(errors.UnsupportedSyntax, at,
                                     f"`{keyword.arg}` is given twice")
            bound[names[keyword.arg]] = self.expr(keyword.value)
        args = []
        for k, p in enumerate(params):
            if k in bound:
                args.append(bound[k])
            elif p.default is not None:
                args.append(p.default)
            else:
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     f"`{label}` is missing the argument `{p.var.name}`")
        return args

    def call_prim(self, prim: Prim, label: str, args: list[Value], nodes: list[gast.expr],
                  keywords: list, node: gast.Call, into: Var | None, n_results: int = 1
                  ) -> Value:
        """A call whose trailing arguments and keywords are constant parameters.

        ``args`` are operands already lowered (a method's receiver), ``nodes`` the rest.
        """
        spec = prim.spec
        lo, hi = spec.arity
        if prim is Prim.NP_EINSUM:
            if len(nodes) != 3:
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     "`np.einsum` is supported with two operands, "
                                     "`np.einsum('ij,jk->ik', a, b)`")
            hi += 1  # the subscripts come first
        names = [k for k, _ in spec.keywords if k not in ("index", "subscripts")]
        params: dict[str, object] = {}
        n_operands = max(0, min(len(nodes), hi - len(args)))
        extra = nodes[n_operands:]
        args = args + [self.expr(a) for a in nodes[:n_operands]]
        if len(extra) > len(names):
            raise self.src.error(errors.UnsupportedSyntax, node,
                                 f"`{label}` takes at most {hi + len(names)} arguments here, "
                                 f"got {len(args) + len(extra)}")
        for key, value in zip(names, extra):
            params[key] = self.constant(value, f"the `{key}` argument of `{label}`")
        for keyword in keywords:
            at = keyword if hasattr(keyword, "lineno") else keyword.value
            if keyword.arg not in names:
                known = ", ".join(f"`{n}`" for n in names) or "none"
                raise self.src.error(
                    errors.UnsupportedSyntax, at,
                    f"`{label}` does not take the keyword `{keyword.arg}` here (it takes: "
                    f"{known})")
            params[keyword.arg] = self.constant(keyword.value,
                                                f"the `{keyword.arg}` argument of `{label}`")
        if not lo <= len(args) <= hi:
            expected = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.src.error(
                errors.UnsupportedSyntax, node,
                f"`{label}` is supported with {expected} argument(s), got {len(args)}")
        if prim is Prim.NP_EINSUM:  # np.einsum("ij,jk->ik", a, b)
            if not (args and isinstance(args[0], Const) and isinstance(args[0].value, str)):
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     "`np.einsum` needs its subscripts as a string literal")
            params["subscripts"] = args[0].value
            args = args[1:]
            if len(args) != 2:
                raise self.src.error(errors.UnsupportedSyntax, node,
                                     "`np.einsum` is supported with two operands")
        if prim is Prim.SVD and not params.get("compute_uv", True):
            n_results = 1
        ordered = tuple((k, Const(params[k])) for k, _ in spec.keywords if k in params)
        lo_r, hi_r = prim.n_results
        if prim is Prim.SVD and params.get("compute_uv", True):
            lo_r = 3
        if not lo_r <= n_results <= hi_r or (n_results == 1 and lo_r > 1):
            raise self.src.error(
                errors.UnsupportedSyntax, node,
                f"`{label}` returns {lo_r} values; unpack them (`a, b = {label}(...)`)")
        if n_results == 1:
            return self.emit(prim, tuple(args), node, into, ordered)
        results = tuple(self.names.temp() for _ in range(n_results))
        self.body.append(Op(results, prim, tuple(args), ordered, self.src.loc(node)))
        return results  # type: ignore[return-value]


_NOTHING = object()


_DIRECTIVE = re.compile(r"#\s*s2sad\s*:\s*(?P<text>.*?)\s*$")
_CHECKPOINT = re.compile(r"checkpoint(?:\(\s*(?:states\s*=\s*)?(?P<states>\d+)\s*\))?")


def _checkpoint_directive(src: SourceFunction, loc: Loc) -> int | None:
    """``# s2sad: checkpoint`` (or ``checkpoint(states=N)``) ending the loop's first line or
    alone on the line above it: the loop's ``checkpoint`` (states kept, 0 for the default).
    """
    above = src.lines[loc.lineno - 2] if 2 <= loc.lineno <= len(src.lines) + 1 else ""
    for lineno, line in ((loc.lineno, loc.line), (loc.lineno - 1, above)):
        comment = _comment_of(line)
        if lineno != loc.lineno and line.strip() != comment:  # code on the line above
            continue
        match = _DIRECTIVE.match(comment)
        if match is None:
            continue
        found = _CHECKPOINT.fullmatch(match["text"])
        if found is None or found["states"] is not None and int(found["states"]) < 1:
            col = line.index(comment)
            raise errors.UnsupportedSyntax.at(
                Loc(loc.filename, lineno, col, line),
                f"unknown s2sad directive `{match['text']}`; write `# s2sad: checkpoint` "
                f"or `# s2sad: checkpoint(states=N)` with N >= 1 states kept")
        return int(found["states"] or 0)
    return None


def _comment_of(line: str) -> str:
    """The comment ending a line of source ("" if none), found by Python's tokenizer."""
    if "#" not in line:
        return ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline):
            if token.type == tokenize.COMMENT:
                return token.string
    except (tokenize.TokenError, SyntaxError):  # a line that does not end a statement
        return line[line.index("#"):].strip()
    return ""


def _source_key(src: SourceFunction) -> tuple[str, str, int]:
    """Which function a source is: its file, name and the line of its ``def``."""
    return (src.filename, src.node.name, src.first_line + src.node.lineno - 1)


def _copying_index(index: gast.expr) -> bool:
    """Does the index surely select by an array (``x[np.array([0, 2])]``, ``x[[0, 2]]``,
    ``x[x > 0]``), so that NumPy gives a copy, never a view?"""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    return any(isinstance(p, (gast.List, gast.Compare)) or (
        isinstance(p, gast.Call) and isinstance(p.func, gast.Attribute)
        and p.func.attr in ("array", "asarray", "arange")) for p in parts)


def _returned_params(fn: Function) -> list[set[int]]:
    """For each value ``fn`` returns, the positions of the parameters whose storage it may
    share: it may be the parameter, a view of it, or hold it (a copy of the name, a slice,
    a transpose, a container, a join of branches or loop iterations, another call)."""
    shares: dict[Var, set[int]] = {p.var: {k} for k, p in enumerate(fn.params)}

    def of(*values: Value) -> set[int]:
        return {k for v in values if isinstance(v, Var) for k in shares.get(v, ())}

    def walk(body: tuple[Stmt, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, Op):
                if stmt.prim in _SHARING:
                    shares.update((r, of(*stmt.args)) for r in stmt.results)
            elif isinstance(stmt, If):
                walk(stmt.then.body)
                walk(stmt.orelse.body)
                shares.update((r, of(stmt.then.yields[k], stmt.orelse.yields[k]))
                              for k, r in enumerate(stmt.results))
            else:  # an iteration holds what the one before yields: to a fixed point
                params = [stmt.body.params[1 if isinstance(stmt, For) else 0:]]
                regions = [stmt.body] + ([stmt.cond] if isinstance(stmt, While) else [])
                params += [stmt.cond.params] if isinstance(stmt, While) else []
                before = None
                while before != [shares.get(p) for ps in params for p in ps]:
                    before = [shares.get(p) for ps in params for p in ps]
                    for ps in params:
                        shares.update((p, of(stmt.inits[k], stmt.body.yields[k]))
                                      for k, p in enumerate(ps))
                    for region in regions:
                        walk(region.body)
                shares.update((r, of(stmt.inits[k], stmt.body.yields[k]))
                              for k, r in enumerate(stmt.results))

    walk(fn.body)
    return [of(v) for v in out_values(fn.out)]


# what shares storage with its operands (a view, the same array, a container of it)
_SHARING = {Prim.COPY, Prim.T, Prim.NP_TRANSPOSE, Prim.NP_RESHAPE, Prim.NP_RAVEL,
            Prim.GETITEM, Prim.NP_EXPAND_DIMS, Prim.NP_SQUEEZE, Prim.NP_BROADCAST_TO,
            Prim.NP_ASARRAY, Prim.SETITEM, Prim.INDEX_ADD, Prim.APPEND, Prim.TUPLE,
            Prim.LIST, Prim.CALL}
# results that are numbers (never arrays), and those that are when their operands are
_NUMBER_RESULTS = {Prim.LEN, Prim.FLOAT, Prim.INT, Prim.NDIM, Prim.SIZE, Prim.NP_NDIM,
                   Prim.NP_SIZE}
_NUMBERS_FROM_NUMBERS = {Prim.ADD, Prim.SUB, Prim.MUL, Prim.DIV, Prim.POW, Prim.FLOORDIV,
                         Prim.MOD, Prim.NEG, Prim.POS, Prim.ABS, Prim.MIN, Prim.MAX, Prim.LT,
                         Prim.LE, Prim.GT, Prim.GE, Prim.EQ, Prim.NE, Prim.NOT, Prim.COPY}
_ATTRIBUTES = {"T": Prim.T, "shape": Prim.SHAPE, "ndim": Prim.NDIM, "size": Prim.SIZE}
_METHODS = {
    "sum": Prim.NP_SUM, "mean": Prim.NP_MEAN, "prod": Prim.NP_PROD, "max": Prim.NP_MAX,
    "min": Prim.NP_MIN, "var": Prim.NP_VAR, "std": Prim.NP_STD, "argmax": Prim.NP_ARGMAX,
    "argmin": Prim.NP_ARGMIN, "reshape": Prim.NP_RESHAPE, "ravel": Prim.NP_RAVEL,
    "flatten": Prim.NP_RAVEL,
    "dot": Prim.NP_DOT, "transpose": Prim.NP_TRANSPOSE, "copy": Prim.COPY,
    "squeeze": Prim.NP_SQUEEZE, "clip": Prim.NP_CLIP, "trace": Prim.NP_TRACE,
}


def _generated_helper(callee: object) -> Prim | None:
    """The primitive an s2sad-generated helper (``_zeros_like``, ...) stands for, if any:
    ``emit.compile_generated`` marks them (a user's function copied into a derivative may
    have a helper's name, and a helper may have another)."""
    helper = getattr(callee, "__s2sad_helper__", None)
    return _HELPER_PRIMS.get(helper) if isinstance(helper, str) else None


_HELPER_PRIMS = {p.spec.call: p for p in Prim if p.spec.call and p.spec.call.startswith("_")}
# helpers summing a product's adjoint over a loop's iterations, read as that loop
_SUMMED_PRODUCTS = {"_matmul_grad_b_sum": Prim.MATMUL_GRAD_B,
                    "_matmul_grad_a_sum": Prim.MATMUL_GRAD_A}
_HELPER_PRIMS["_add_into"] = Prim.ADD  # `a + b`, computed into a's array where it can be


def _text(node: gast.AST) -> str:
    """The Python source of ``node`` (for messages that quote what the user wrote)."""
    return ast.unparse(gast.gast_to_ast(node))


def _no_rule(label: str) -> str:
    return (f"no derivative rule for `{label}`; s2sad knows Python arithmetic, `abs`, "
            f"`min`, `max`, `sum`, the `math` functions and the NumPy functions listed in the "
            f"README. Compute it outside the function you differentiate, or rewrite it with "
            f"those")


def _nodes(tree: gast.AST) -> list[gast.AST]:
    """Every node of ``tree``, in ``gast.walk``'s order (breadth first), as a list: the
    same walk without a generator per node, in a third less time."""
    found = [tree]
    for node in found:  # the list grows while it is read: each node's children go last
        for name in node._fields:
            child = getattr(node, name, None)
            if isinstance(child, gast.AST):
                found.append(child)
            elif isinstance(child, list):
                found.extend(item for item in child if isinstance(item, gast.AST))
    return found


def _body_nodes(statements: list[gast.stmt]) -> list[gast.AST]:
    """Every node inside ``statements``, statement by statement."""
    return [node for stmt in statements for node in _nodes(stmt)]


def _contains_return(node: gast.AST) -> bool:
    return any(isinstance(n, gast.Return) for n in _nodes(node))


def _always_returns(statements: list[gast.stmt]) -> bool:
    """Whether every path through ``statements`` ends in ``return``."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, gast.Return):
        return True
    if isinstance(last, gast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    return False


_VIEW_CALLS = {"reshape", "ravel", "transpose", "squeeze", "expand_dims", "broadcast_to"}


def _kept_then_written(body: list[gast.stmt], number: Callable[[str], bool]
                       ) -> tuple[str, str, gast.AST, gast.AST] | None:
    """In a loop body, ``xs.append(a)`` and a write into ``a`` (``a[i] = v``, ``a[i] += v``,
    ``a += v``, ``np.add.at(a, ...)``) that the next trip reaches with ``a`` still naming
    the array ``xs`` took: no statement of the body between them (going round the loop)
    binds ``a`` to a new array. Python shows that write through ``xs``; s2sad would not.
    (Within one trip, an append then a write is caught by the links ``written`` follows.)
    ``number(a)``: ``a`` holds a number, which ``a += v`` binds anew. Returns (xs, a, the
    append, the write) for the first such pair, else None."""
    appends: list[tuple[int, str, str, gast.AST]] = []  # (statement, xs, a, the call)
    writes: list[tuple[int, str, gast.AST]] = []
    fresh: dict[str, list[int]] = {}  # a new array bound: the body's statements
    inner: dict[str, set[int]] = {}  # ... and the statements holding such a binding deeper
    for k, stmt in enumerate(body):
        for node in _nodes(stmt):
            if isinstance(node, gast.Assign) and len(node.targets) == 1 \
                    and not isinstance(node.value, (gast.Name, gast.Subscript)) \
                    and _view_base(node.value) is None:  # a new array (or number), or items
                for name in _targets(node.targets[0]):
                    if node is stmt:
                        fresh.setdefault(name, []).append(k)
                    else:
                        inner.setdefault(name, set()).add(k)
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                    and node.func.attr == "append" and isinstance(node.func.value, gast.Name) \
                    and len(node.args) == 1 and isinstance(node.args[0], gast.Name):
                appends.append((k, node.func.value.id, node.args[0].id, node))
            name = _written_into(node)
            if name is not None and not number(name):
                writes.append((k, name, node))
    for k_append, container, item, call in appends:
        for k_write, name, node in writes:
            if name != item:
                continue
            if k_append == k_write and k_append in inner.get(item, ()):
                continue  # both in one compound statement that binds a new array: its own
            between = [k for k in fresh.get(item, ())
                       if (k_append < k < k_write if k_append < k_write
                           else k > k_append or k < k_write)]
            if not between:
                return container, item, call, node
    return None


def _written_into(node: gast.AST) -> str | None:
    """The name whose array ``node`` writes into: ``a[i] = v``, ``a[i] += v``, ``a += v``
    (in place where ``a`` holds an array), ``np.add.at(a, ...)``; else None."""
    if isinstance(node, gast.AugAssign):
        target = node.target
    elif isinstance(node, gast.Assign) and len(node.targets) == 1 \
            and isinstance(node.targets[0], gast.Subscript):
        target = node.targets[0]
    elif isinstance(node, gast.Call) and node.args \
            and _dotted(node.func) in ("np.add.at", "numpy.add.at"):
        target = node.args[0]
    else:
        return None
    while isinstance(target, gast.Subscript):
        target = target.value
    return target.id if isinstance(target, gast.Name) else None


def _view_base(node: gast.expr) -> str | None:
    """The array ``node`` may be a view of (``y[1:]``, ``y[None]``, ``y.T``, ``y.reshape``)."""
    if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name):
        items = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        if any(isinstance(i, gast.Slice) or (isinstance(i, gast.Constant)
                                              and i.value in (None, Ellipsis))
               for i in items):
            return node.value.id
        return None
    if isinstance(node, gast.Attribute) and node.attr == "T" \
            and isinstance(node.value, gast.Name):
        return node.value.id
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
            and node.func.attr in _VIEW_CALLS:
        if isinstance(node.func.value, gast.Name) and node.func.value.id not in ("np",
                                                                                  "numpy"):
            return node.func.value.id  # y.reshape(...)
        if node.args and isinstance(node.args[0], gast.Name):
            return node.args[0].id  # np.reshape(y, ...)
    return None


def _targets(target: gast.expr) -> list[str]:
    """The names a loop target binds."""
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, (gast.Tuple, gast.List)):
        return [n for e in target.elts for n in _targets(e)]
    return []


def _assigned_in(nodes: list[gast.AST]) -> list[str]:
    """Names the statements of these nodes (``_body_nodes``) assign, in order of first
    assignment."""
    names: dict[str, None] = {}
    for node in nodes:
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            names.setdefault(node.id)
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) \
                and isinstance(node.value, gast.Name):  # x[i] = v makes a new x
            names.setdefault(node.value.id)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and node.func.attr == "append" and isinstance(node.func.value, gast.Name):
            names.setdefault(node.func.value.id)  # xs.append(v) makes a new xs
        elif _adds_at(node):
            names.setdefault(node.args[0].id)  # np.add.at(g, i, v) makes a new g
    return list(names)


def _adds_at(node: gast.AST) -> bool:
    """Is ``node`` a call that adds into its first argument, a name, by index: ``np.add.at``
    or generated code's ``_add_at`` and ``_add_row`` (also as ``_add_at_1``, renamed)?
    Told by the spelling, which may take in a call that is not one: a loop then carries a
    value it does not change, which costs nothing."""
    if not (isinstance(node, gast.Call) and len(node.args) == 3
            and isinstance(node.args[0], gast.Name)):
        return False
    func = node.func
    if isinstance(func, gast.Name):
        return func.id.startswith(("_add_at", "_add_row"))
    return isinstance(func, gast.Attribute) and func.attr == "at" \
        and isinstance(func.value, gast.Attribute) and func.value.attr == "add"


def _augmented_in(nodes: list[gast.AST]) -> list[str]:
    """Names the statements of these nodes (``_body_nodes``) update with ``name op= ...``,
    and the names those are given from there (``a = x``, ``a = x[i]``: the array of ``x``,
    which the update may change)."""
    found = list(dict.fromkeys(node.target.id for node in nodes
                               if isinstance(node, gast.AugAssign)
                               and isinstance(node.target, gast.Name)))
    pairs = [(t.id, node.value.id if isinstance(node.value, gast.Name) else node.value.value.id)
             for node in nodes if isinstance(node, gast.Assign)
             and (isinstance(node.value, gast.Name) or isinstance(node.value, gast.Subscript)
                  and isinstance(node.value.value, gast.Name))
             for t in node.targets if isinstance(t, gast.Name)]
    grown = True
    while grown:
        grown = False
        for target, source in pairs:
            if target in found and source not in found:
                found.append(source)
                grown = True
    return found


def _shape(out: object) -> object:
    if isinstance(out, tuple):
        return tuple(_shape(o) for o in out)
    return None


def _rebuild(shape: object, values) -> Out:
    if isinstance(shape, tuple):
        return tuple(_rebuild(s, values) for s in shape)
    return next(values)


def _is_docstring(stmt: gast.stmt) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) \
        and isinstance(stmt.value.value, str)


def _is_literal(value: object) -> bool:
    if isinstance(value, tuple):
        return all(map(_is_literal, value))
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (bool, int, str))


def _dotted(node: gast.expr) -> str | None:
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        owner = _dotted(node.value)
        return None if owner is None else f"{owner}.{node.attr}"
    return None


def _op_symbol(op: gast.AST) -> str:
    return {
        "Add": "+", "Sub": "-", "Mult": "*", "Div": "/", "Pow": "**", "FloorDiv": "//",
        "Mod": "%", "MatMult": "@", "BitAnd": "&", "BitOr": "|", "BitXor": "^", "LShift": "<<",
        "RShift": ">>", "In": "in", "NotIn": "not in", "Is": "is", "IsNot": "is not",
    }.get(type(op).__name__, type(op).__name__)
