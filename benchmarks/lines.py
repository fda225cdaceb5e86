"""Where a generated function spends its time: each statement timed on its own.

Takes a function s2sad generated (its source from ``s2sad.source``, its namespace from its
``__globals__``) and arguments; rewrites each simple statement ``s`` of its body, at every
depth, as ``t = clock(); s; spent[k] += clock() - t`` (a ``return e`` becomes ``r = e``
timed, then ``return r``), runs it ``number`` times per repeat and keeps, per statement, the
smallest seconds per call over the repeats, how often it ran per call and, for the
statements of the function's own body (depth 0), the minor page faults per call. A loop or
an ``if`` is not a statement of its own: the statements inside it are, each summed over its
executions (the loop's own bookkeeping, ``for``'s next item and ``if``'s test, is not
counted). The cost of the instrumentation itself (measured on an empty statement, about
0.1 µs per execution inside loops, 1 µs at depth 0 where the page faults are read too) is
subtracted, so statements that take tens of nanoseconds inside a loop are estimates::

    >>> import s2sad, benchmarks.workloads as W
    >>> grad = s2sad.grad(W.mds_loss)
    >>> rows = line_times(grad, W.mds_problem(8, 2), number=2, repeat=2)
    >>> rows[2]["line"]
    'diff = t1 - t2'

Nothing here changes the function itself; ``run.py --profile-lines`` prints the table.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable

import s2sad

from .run import minor_faults

_COMPOUND = (ast.For, ast.While, ast.If, ast.With, ast.Try)


def _timed(statement: ast.stmt, k: int, top: bool) -> list[ast.stmt]:
    """``statement`` between the clock reads of row ``k`` (and the fault counts at the top)."""
    out = ast.parse("_line_t = _line_clock()").body
    if top:
        out = ast.parse("_line_f = _line_faults()").body + out
    result = statement.value if isinstance(statement, ast.Return) else None
    if result is not None:
        statement = ast.copy_location(
            ast.Assign(targets=[ast.Name("_line_result", ast.Store())], value=result),
            statement)
    out.append(statement)
    out += ast.parse(f"_line_spent[{k}] += _line_clock() - _line_t\n"
                     f"_line_count[{k}] += 1").body
    if top:
        out += ast.parse(f"_line_mapped[{k}] += _line_faults() - _line_f").body
    if result is not None:
        out += ast.parse("return _line_result").body
    return out


def _instrument(body: list[ast.stmt], rows: list[dict], depth: int) -> list[ast.stmt]:
    out = []
    for statement in body:
        if isinstance(statement, _COMPOUND):
            statement.body = _instrument(statement.body, rows, depth + 1)
            if getattr(statement, "orelse", None):
                statement.orelse = _instrument(statement.orelse, rows, depth + 1)
            out.append(statement)
            continue
        rows.append({"line": ast.unparse(statement).splitlines()[0], "depth": depth,
                     "lineno": statement.lineno})
        out += _timed(statement, len(rows) - 1, top=depth == 0)
    return out


def _instrumented(fn: Callable) -> tuple[Callable, list[dict], dict]:
    tree = ast.parse(s2sad.source(fn))
    node = next(n for n in tree.body
                if isinstance(n, ast.FunctionDef) and n.name == fn.__name__)
    rows: list[dict] = []
    node.body = _instrument(node.body, rows, 0)
    ast.fix_missing_locations(tree)
    state = {"spent": [0.0] * len(rows), "mapped": [0.0] * len(rows),
             "count": [0] * len(rows)}
    namespace = dict(fn.__globals__)
    namespace.update(_line_clock=time.perf_counter, _line_faults=minor_faults,
                     _line_spent=state["spent"], _line_mapped=state["mapped"],
                     _line_count=state["count"])
    exec(compile(tree, f"<lines of {fn.__name__}>", "exec"), namespace)
    return namespace[fn.__name__], rows, state


def _overhead(top: bool, number: int = 2000, repeat: int = 5) -> float:
    """Seconds the instrumentation adds to one execution of an empty statement."""
    tree = ast.parse("def probe(n):\n    for _ in range(n):\n        pass\n")
    loop = tree.body[0].body[0]
    loop.body = _timed(loop.body[0], 0, top)
    ast.fix_missing_locations(tree)
    spent, mapped, count = [0.0], [0.0], [0]
    namespace = {"_line_clock": time.perf_counter, "_line_faults": minor_faults,
                 "_line_spent": spent, "_line_mapped": mapped, "_line_count": count}
    exec(compile(tree, "<lines probe>", "exec"), namespace)
    best = float("inf")
    for _ in range(repeat):
        spent[0] = 0.0
        namespace["probe"](number)
        best = min(best, spent[0] / number)
    return best


def line_times(fn: Callable, args: tuple, number: int = 20, repeat: int = 7) -> list[dict]:
    """Per simple statement of the generated ``fn``, in source order: ``line`` (its text),
    ``depth`` (0 in the function's body, 1 inside a loop or if, ...), ``lineno`` (in the
    generated source), ``count`` (executions per call), ``seconds`` (per call, summed over
    its executions, the minimum over ``repeat`` runs of ``number`` calls, less the
    instrumentation's own cost) and ``faults`` (minor page faults per call, the median
    run's; depth 0 only, else 0)."""
    timed, rows, state = _instrumented(fn)
    timed(*args)  # warm up: first-call allocations are not what a loop of calls sees
    cost = {True: _overhead(True), False: _overhead(False)}
    best = [float("inf")] * len(rows)
    runs: list[list[float]] = []
    counts = [0.0] * len(rows)
    for _ in range(repeat):
        for k in range(len(rows)):
            state["spent"][k] = state["mapped"][k] = 0.0
            state["count"][k] = 0
        for _ in range(number):
            timed(*args)
        counts = [c / number for c in state["count"]]
        best = [min(b, max(0.0, s / number - c * cost[row["depth"] == 0]))
                for b, s, c, row in zip(best, state["spent"], counts, rows)]
        runs.append([m / number for m in state["mapped"]])
    middle = sorted(runs, key=sum)[len(runs) // 2]
    return [dict(row, seconds=s, faults=f, count=c)
            for row, s, f, c in zip(rows, best, middle, counts)]


def format_line_times(rows: list[dict], title: str, top: int | None = None) -> str:
    """The table: every statement in source order, indented by depth; with ``top``, only
    the ``top`` costliest, most expensive first."""
    total = sum(row["seconds"] for row in rows)
    shown = rows if top is None else sorted(rows, key=lambda r: -r["seconds"])[:top]
    out = [title, f"{'us':>9} {'%':>5} {'faults':>6} {'runs':>6}  statement"]
    for row in shown:
        share = 100 * row["seconds"] / total if total else 0.0
        runs = f"{row.get('count', 1):.0f}"
        out.append(f"{row['seconds'] * 1e6:9.1f} {share:5.1f} {row['faults']:6.0f} "
                   f"{runs:>6}  {'    ' * row.get('depth', 0)}{row['line']}")
    out.append(f"{total * 1e6:9.1f} {100.0:5.1f} {sum(r['faults'] for r in rows):6.0f} "
               f"{'':>6}  (sum of the statements)")
    return "\n".join(out)
