"""Which loops reverse mode checkpoints: the ``checkpoint`` option of a transform.

Reverse mode normally tapes what each iteration's adjoint reads, so memory grows with the
trip count. A loop marked ``checkpoint`` (``For.checkpoint``/``While.checkpoint``: the number
of states kept at once, 0 for the default) tapes nothing: its adjoint runs the iterations
again from the first state, keeping a few states at a time on a binomial schedule
(``helpers._checkpointed``; Griewank's revolve). A loop is marked by a comment on its line or
the line above (``# s2sad: checkpoint``, ``# s2sad: checkpoint(states=20)``, read by the
frontend), or by this pass from the transform's option:

* ``None``: the comments decide;
* ``False``: no loop is checkpointed, whatever the comments say;
* ``True`` or a number of states: every outermost loop (and the comments' loops);
* a dict ``{line: True or states}``: the loops starting on those lines of the file.

    for i in range(0, n, 1) carry(a=x):          for i in range(0, n, 1) carry(a=x) checkpoint:
        ...                                ->         ...
"""

from __future__ import annotations

import dataclasses

from ..errors import CompileError
from ..ir import For, Function, Region, Stmt, While, map_regions, regions_of


def run(fn: Function, option: object) -> Function:
    if option is None:
        return fn
    lines = _check(option)
    check_lines(fn, option)
    return fn.replace(body=_mark(fn.body, option, lines, outermost=True))


def _check(option: object) -> dict[int, int]:
    """The option as ``{line: states}`` (empty when it is not a dict)."""
    if isinstance(option, bool):
        return {}
    if isinstance(option, int):
        _states(option, "checkpoint")
        return {}
    if isinstance(option, dict):
        return {line: 0 if states is True else _states(states, f"checkpoint[{line}]")
                for line, states in option.items() if _line(line)}
    raise TypeError(f"checkpoint must be None, True, False, a number of states or a dict "
                    f"{{line: states}}, got {option!r}")


def _states(states: object, what: str) -> int:
    if isinstance(states, bool) or not isinstance(states, int) or states < 1:
        raise ValueError(f"{what} must be True or a number of states kept (1 or more), "
                         f"got {states!r}")
    return states


def _line(line: object) -> bool:
    if isinstance(line, bool) or not isinstance(line, int):
        raise TypeError(f"the keys of checkpoint are line numbers, got {line!r}")
    return True


def _mark(body: tuple[Stmt, ...], option: object, lines: dict[int, int],
          outermost: bool) -> tuple[Stmt, ...]:
    marked = []
    for stmt in body:
        if isinstance(stmt, (For, While)):
            stmt = dataclasses.replace(
                stmt, checkpoint=_chosen(stmt, option, lines, outermost))
        inside = outermost and not isinstance(stmt, (For, While))
        marked.append(map_regions(stmt, lambda r, inside=inside: Region(
            r.params, _mark(r.body, option, lines, inside), r.yields)))
    return tuple(marked)


def _chosen(stmt: For | While, option: object, lines: dict[int, int],
            outermost: bool) -> int | None:
    if option is False:
        return None
    if isinstance(option, dict):
        line = stmt.loc.lineno if stmt.loc else None
        return lines[line] if line in lines else stmt.checkpoint
    if outermost:
        return 0 if option is True else option
    return stmt.checkpoint


def check_lines(fn: Function, option: object) -> None:
    """A located error for a line of a dict option where no loop of ``fn`` starts."""
    if not isinstance(option, dict):
        return
    starts: set[int] = set()

    def walk(body: tuple[Stmt, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, (For, While)) and stmt.loc:
                starts.add(stmt.loc.lineno)
            for region in regions_of(stmt):
                walk(region.body)

    walk(fn.body)
    missing = sorted(line for line in option if line not in starts)
    if missing:
        raise CompileError.at(fn.loc, f"checkpoint names line {missing[0]}, where no loop "
                              f"of `{fn.name}` starts; give the line of its `for` or `while`")
