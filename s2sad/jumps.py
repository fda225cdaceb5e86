"""Desugar ``break``, ``continue`` and ``return`` inside loops into flags (gast -> gast).

Runs once on a function's body before lowering, innermost loops first, so no pass ever
sees a jump. A loop whose body jumps gets flags that are ordinary booleans (inactive: no
derivative code); the statements after an ``if`` that may jump move into its branches
that can fall through, so they run exactly where Python runs them::

    for i in range(n):              stopped = False
        if x > 10.0:                for i in range(n):
            break           ->          if not stopped:
        x = x * 2.0                         if x > 10.0:
                                                stopped = True
                                            else:
                                                x = x * 2.0

``continue`` sets ``skip`` (reset at the start of each iteration); ``return v`` inside a loop
stores ``v`` in ``result``, sets ``returned`` and stops the loop, and after the loop
``if returned: return result`` hands it on (the frontend takes the statements after that
``if`` into its other branch). A ``while`` loop also tests ``not stopped``, so it ends at
once; a ``for`` loop runs its remaining iterations as no-ops.
"""

from __future__ import annotations

import copy

import gast

_LOOPS = (gast.For, gast.While)


def desugar(body: list[gast.stmt], taken: set[str]) -> list[gast.stmt]:
    """``body`` with every loop's jumps replaced by flags; ``taken``: names not to use."""
    out: list[gast.stmt] = []
    for stmt in body:
        if isinstance(stmt, _LOOPS):
            stmt.body = desugar(stmt.body, taken)
            out.extend(_loop(stmt, taken))
        elif isinstance(stmt, gast.If):
            stmt.body = desugar(stmt.body, taken)
            stmt.orelse = desugar(stmt.orelse, taken)
            out.append(stmt)
        else:
            out.append(stmt)
    return out


def _jumps(stmts: list[gast.stmt]) -> set[type]:
    """The jump kinds in ``stmts`` that belong to this loop (not to nested loops)."""
    found: set[type] = set()
    for stmt in stmts:
        if isinstance(stmt, (gast.Break, gast.Continue, gast.Return)):
            found.add(type(stmt))
        elif isinstance(stmt, gast.If):
            found |= _jumps(stmt.body) | _jumps(stmt.orelse)
    return found


def breaks(loop: gast.For | gast.While) -> bool:
    """Whether ``loop`` may end with a ``break`` of its own (call before ``desugar``)."""
    return gast.Break in _jumps(loop.body)


class _Flags:
    def __init__(self, taken: set[str], kinds: set[type], returns: int) -> None:
        def fresh(base: str) -> str:
            name, k = base, 0
            while name in taken:
                k += 1
                name = f"{base}_{k}"
            taken.add(name)
            return name

        stops = gast.Break in kinds or gast.Return in kinds
        self.stopped = fresh("stopped") if stops else None
        self.skip = fresh("skip") if gast.Continue in kinds else None
        self.returned = fresh("returned") if gast.Return in kinds else None
        self.results = [fresh("result") for _ in range(returns)]



def _loop(loop: gast.For | gast.While, taken: set[str]) -> list[gast.stmt]:
    kinds = _jumps(loop.body)
    if not kinds:
        return [loop]
    flags = _Flags(taken, kinds, _return_width(loop.body))
    pre = [_assign(name, False, loop) for name in (flags.stopped, flags.returned) if name]
    pre += [_assign(name, None, loop) for name in flags.results]
    body = _guard(loop.body, flags)
    if flags.skip:
        body = [_assign(flags.skip, False, loop), *body]
    if flags.stopped:
        if isinstance(loop, gast.While):
            always = isinstance(loop.test, gast.Constant) and loop.test.value is True
            loop.test = _not(flags.stopped, loop.test) if always else _at(
                gast.BoolOp(gast.And(), [_not(flags.stopped, loop), loop.test]), loop.test)
        else:
            body = [_at(gast.If(_not(flags.stopped, loop), body, []), loop)]
    loop.body = body
    post = []
    if flags.returned:
        value = _load(flags.results[0], loop) if len(flags.results) == 1 else _at(
            gast.Tuple([_load(r, loop) for r in flags.results], gast.Load()), loop)
        post.append(_at(gast.If(_load(flags.returned, loop),
                                [_at(gast.Return(value), loop)], []), loop))
    return [*pre, loop, *post]


def _guard(stmts: list[gast.stmt], flags: _Flags) -> list[gast.stmt]:
    """Replace this loop's jumps by flag assignments; guard what follows a possible jump."""
    out: list[gast.stmt] = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, gast.Break):
            return [*out, _assign(flags.stopped, True, stmt)]
        if isinstance(stmt, gast.Continue):
            return [*out, _assign(flags.skip, True, stmt)]
        if isinstance(stmt, gast.Return):
            values = stmt.value.elts if isinstance(stmt.value, gast.Tuple) and \
                len(flags.results) > 1 else [stmt.value]
            if stmt.value is None or len(values) != len(flags.results):
                return [*out, stmt]  # left for the frontend to report
            stores = [_at(gast.Assign([_store(r, stmt)], v, None), stmt)
                      for r, v in zip(flags.results, values)]
            return [*out, *stores, _assign(flags.returned, True, stmt),
                    _assign(flags.stopped, True, stmt)]
        if isinstance(stmt, gast.If) and _jumps([stmt]):
            # what follows runs only where the branch did not jump: take it into each
            # branch that can fall through (a copy for the second one)
            rest = stmts[i + 1:]
            falls = [not _always_jumps(stmt.body), not _always_jumps(stmt.orelse)]
            tails = [list(rest), copy.deepcopy(rest) if all(falls) else list(rest)]
            stmt.body = _guard(stmt.body + (tails[0] if falls[0] else []), flags)
            stmt.orelse = _guard(stmt.orelse + (tails[1] if falls[1] else []), flags)
            return [*out, stmt]
        out.append(stmt)
    return out


def _always_jumps(stmts: list[gast.stmt]) -> bool:
    """Whether every path through ``stmts`` ends in a jump of this loop."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (gast.Break, gast.Continue, gast.Return)):
        return True
    if isinstance(last, gast.If):
        return _always_jumps(last.body) and _always_jumps(last.orelse)
    return False


def _return_width(stmts: list[gast.stmt]) -> int:
    """How many values this loop's ``return`` statements return (1 unless a tuple)."""
    for stmt in stmts:
        if isinstance(stmt, gast.Return):
            return len(stmt.value.elts) if isinstance(stmt.value, gast.Tuple) else 1
        if isinstance(stmt, gast.If):
            width = _return_width(stmt.body) or _return_width(stmt.orelse)
            if width:
                return width
    return 0


def _at(node: gast.AST, where: gast.AST) -> gast.AST:
    """``node`` (and its children without a location) located at ``where``."""
    for child in gast.walk(node):
        if not hasattr(child, "lineno") and hasattr(where, "lineno"):
            gast.copy_location(child, where)
    if hasattr(where, "lineno"):
        gast.copy_location(node, where)
    return node


def _load(name: str, where: gast.AST) -> gast.Name:
    return _at(gast.Name(name, gast.Load(), None, None), where)


def _store(name: str, where: gast.AST) -> gast.Name:
    return _at(gast.Name(name, gast.Store(), None, None), where)


def _not(name: str, where: gast.AST) -> gast.expr:
    return _at(gast.UnaryOp(gast.Not(), _load(name, where)), where)


def _assign(name: str, value: object, where: gast.AST) -> gast.Assign:
    return _at(gast.Assign([_store(name, where)], gast.Constant(value, None), None), where)
