"""The long random-program campaign: ``pytest --long`` (skipped otherwise).

Runs 10,000 programs from the three generators, each at a random point, with the checks of
its own test module:

* ``straight-line``: ``test_random_programs`` (scalar statements, 2,000 programs);
* ``control-flow``: ``test_random_control_flow`` (branches, loops, jumps; 3,000);
* ``arrays-and-calls``: ``random_arrays`` (NumPy, subscripts, lists, helper calls, control
  flow; 5,000).

Seeds start at 1,000,000, apart from the ones CI runs. A program *agrees* when every check
passed and at least one derivative was compared with central differences; it is *unstable*
when every check passed but no finite difference could be trusted (a decision switches on
the stencil: the dot-product test and the values were still checked); *singular* when
the point is not differentiable at all (``std`` of equal entries); a *known bug* when it
hit one of ``random_arrays.KNOWN_BUGS`` (forward mode still checked). The counts are
printed at the end of the run (``conftest.pytest_terminal_summary``); each chunk fails
listing the seeds that failed, reproducible with ``random_program(seed)``.
"""

from __future__ import annotations

import random
import traceback
from collections import Counter
from collections.abc import Callable

import pytest

from . import random_arrays as ra
from . import test_random_control_flow as control_flow
from . import test_random_programs as straight_line

FIRST_SEED = 1_000_000
PROGRAMS = {"straight-line": 2000, "control-flow": 3000, "arrays-and-calls": 5000}
CHUNK = 250

REPORT: dict[str, Counter] = {}
FAILURES: dict[str, list[tuple[int, str]]] = {}


def _straight_line(seed: int) -> str:
    program = straight_line.random_program(seed)
    rng = random.Random(seed)
    point = tuple(rng.uniform(-2.0, 2.0) for _ in range(3))
    v = tuple(rng.choice((0.0, 1.0, -1.0)) * rng.uniform(0.125, 1.0) for _ in range(3))
    w = rng.choice((-1.0, 1.0)) * rng.uniform(0.25, 2.0)
    straight_line.check_program(program, point, v, w)
    return "unstable" if straight_line.near_a_kink(program, point) else "agree"


def _control_flow(seed: int) -> str:
    program = control_flow.random_program(seed)
    rng = random.Random(seed)
    point = [rng.uniform(-2.0, 2.0) for _ in range(3)]
    v = [rng.choice((0.0, 1.0, -0.5, rng.uniform(-1, 1))) for _ in range(3)]
    checked = control_flow.check_program(program, point, v, rng.uniform(-2, 2))
    return "agree" if checked else "unstable"


def _arrays(seed: int) -> str:
    outcome = ra.check_program(ra.random_program(seed), seed)
    if outcome.singular:
        return "singular"
    if outcome.known_bug:
        return f"known bug: {outcome.known_bug}"
    return "agree" if outcome.directions_checked else "unstable"


RUNNERS: dict[str, Callable[[int], str]] = {
    "straight-line": _straight_line, "control-flow": _control_flow,
    "arrays-and-calls": _arrays}
CHUNKS = [(name, start) for name, n in PROGRAMS.items() for start in range(0, n, CHUNK)]


@pytest.mark.long
@pytest.mark.parametrize("generator, start", CHUNKS, ids=[f"{n}-{s}" for n, s in CHUNKS])
def test_long_campaign(generator: str, start: int):
    counts = REPORT.setdefault(generator, Counter())
    failures = FAILURES.setdefault(generator, [])
    failed_here = []
    for seed in range(FIRST_SEED + start,
                      FIRST_SEED + min(start + CHUNK, PROGRAMS[generator])):
        counts["generated"] += 1
        try:
            counts[RUNNERS[generator](seed)] += 1
        except Exception as exc:  # noqa: BLE001 - every failure is listed
            counts["failed"] += 1
            line = traceback.format_exception_only(type(exc), exc)[-1].strip()
            failed_here.append((seed, line[:300]))
    failures.extend(failed_here)
    if failed_here:
        pytest.fail(f"{len(failed_here)} of the {generator} programs failed (reproduce with "
                    f"random_program(seed)):\n" + "\n".join(
                        f"  seed {seed}: {line}" for seed, line in failed_here[:10]))


def report_lines() -> list[str]:
    lines = []
    total = Counter()
    for name in PROGRAMS:
        counts = REPORT.get(name)
        if not counts:
            continue
        total.update(counts)
        lines.append(_line(name, counts))
        if FAILURES.get(name):
            lines.append(f"    failed seeds: {[seed for seed, _ in FAILURES[name]][:20]}")
    lines.append(_line("all", total))
    return lines


def _line(name: str, counts: Counter) -> str:
    known = {k.removeprefix("known bug: "): n for k, n in sorted(counts.items())
             if k.startswith("known bug: ")}
    return (f"{name}: {counts['generated']} programs generated, {counts['agree']} agreeing, "
            f"{counts['unstable']} skipped as unstable, {counts['singular']} singular, "
            f"{sum(known.values())} known bugs {known or ''}, {counts['failed']} failed")
