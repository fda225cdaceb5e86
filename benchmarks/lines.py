"""Where a generated function spends its time: each top-level statement timed on its own.

Takes a function s2sad generated (its source from ``s2sad.source``, its namespace from its
``__globals__``) and arguments; rewrites each top-level statement ``s`` of its body as
``t = clock(); s; spent[k] += clock() - t`` (a ``return e`` becomes ``r = e`` timed, then
``return r``), runs it ``number`` times per repeat and keeps, per statement, the smallest
seconds per call over the repeats and the minor page faults per call. A loop or ``if`` is
one statement. The overhead is two clock and two getrusage reads per statement (about a
microsecond), so it is meant for array code whose statements take tens of microseconds::

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


def _instrumented(fn: Callable) -> tuple[Callable, list[str], list[float], list[float]]:
    tree = ast.parse(s2sad.source(fn))
    node = next(n for n in tree.body
                if isinstance(n, ast.FunctionDef) and n.name == fn.__name__)
    lines, timed = [], []
    for statement in node.body:
        k = len(lines)
        lines.append(ast.unparse(statement).splitlines()[0])
        if isinstance(statement, ast.Return) and statement.value is not None:
            result = ast.Name("_line_result", ast.Store())
            statement = ast.copy_location(
                ast.Assign(targets=[result], value=statement.value), statement)
        timed += ast.parse("_line_t = _line_clock(); _line_f = _line_faults()").body
        timed.append(statement)
        timed += ast.parse(f"_line_spent[{k}] += _line_clock() - _line_t\n"
                           f"_line_mapped[{k}] += _line_faults() - _line_f").body
    timed += ast.parse("return _line_result").body
    node.body = timed
    ast.fix_missing_locations(tree)
    spent, mapped = [0.0] * len(lines), [0.0] * len(lines)
    namespace = dict(fn.__globals__)
    namespace.update(_line_clock=time.perf_counter, _line_faults=minor_faults,
                     _line_spent=spent, _line_mapped=mapped)
    exec(compile(tree, f"<lines of {fn.__name__}>", "exec"), namespace)
    return namespace[fn.__name__], lines, spent, mapped


def line_times(fn: Callable, args: tuple, number: int = 20, repeat: int = 7) -> list[dict]:
    """Per top-level statement of the generated ``fn``: ``line``, ``seconds`` (per call, the
    minimum over ``repeat`` runs of ``number`` calls) and ``faults`` (minor page faults per
    call, the median run's)."""
    timed, lines, spent, mapped = _instrumented(fn)
    timed(*args)  # warm up: first-call allocations are not what a loop of calls sees
    best = [float("inf")] * len(lines)
    runs: list[list[float]] = []
    for _ in range(repeat):
        for k in range(len(lines)):
            spent[k] = mapped[k] = 0.0
        for _ in range(number):
            timed(*args)
        best = [min(b, s / number) for b, s in zip(best, spent)]
        runs.append([m / number for m in mapped])
    middle = sorted(runs, key=sum)[len(runs) // 2]
    return [{"line": line, "seconds": s, "faults": f}
            for line, s, f in zip(lines, best, middle)]


def format_line_times(rows: list[dict], title: str) -> str:
    total = sum(row["seconds"] for row in rows)
    out = [title, f"{'us':>9} {'%':>5} {'faults':>6}  statement"]
    for row in rows:
        share = 100 * row["seconds"] / total if total else 0.0
        out.append(f"{row['seconds'] * 1e6:9.1f} {share:5.1f} {row['faults']:6.0f}  "
                   f"{row['line']}")
    out.append(f"{total * 1e6:9.1f} {100.0:5.1f} {sum(r['faults'] for r in rows):6.0f}  "
               "(sum of the statements)")
    return "\n".join(out)
