"""What checkpointing a loop saves and costs: ``python -m benchmarks.checkpoint``.

Issue 7 asks, on a 100,000-iteration loop, for the peak memory of a checkpointed gradient at
most 1/50 of the full tape's, in at most 3x the time of the uncheckpointed gradient. This
differentiates two loops with respect to everything, once taping every iteration (the
default) and once per number of states kept (``checkpoint=STATES``; ``default`` is
``checkpoint=True``, which lets each iteration run at most three times):

* ``scalar``: the scalar loop of ``workloads.py``, ``a = a * y + sin(a)``;
* ``vector``: ``h = tanh(W @ h + b)``, a 16-vector state (one tape entry per iteration is
  an array, as in a recurrent network).

Memory is ``tracemalloc``'s peak during one gradient call, above what was allocated before
it (the arguments); it is the same from run to run, so one call is measured. Time is the
median of ``--repeat`` timings, the cases interleaved, and reported as a ratio to the
uncheckpointed gradient's median (with the ratios' spread). ``advances`` is how many
iterations the schedule recomputes (Griewank's bound ``r·n − C(s+r, s+1)``, where ``r`` is
the least number of repetitions with ``C(s+r, s) >= n``).

    python -m benchmarks.checkpoint                    # n = 100,000, about a minute
    python -m benchmarks.checkpoint --n 2000 --repeat 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import tracemalloc

import numpy as np

import s2sad

from . import workloads


def vector_loop(W, h, b, n):
    for i in range(n):  # noqa: B007 -- the loop as a user writes it
        h = np.tanh(W @ h + b)
    return np.sum(h)


def _cases(n: int) -> dict[str, tuple]:
    rng = np.random.default_rng(0)
    W = rng.normal(size=(16, 16)) / 8.0
    return {"scalar": (workloads.scalar_loop, (workloads.A0, workloads.Y0, n), (0, 1)),
            "vector": (vector_loop, (W, rng.normal(size=16), rng.normal(size=16) / 4, n),
                       (0, 1, 2))}


def segments(n: int) -> tuple[int, int]:
    """(length, count) of the segments ``helpers._checkpointed`` cuts n iterations into."""
    length = math.isqrt(n - 1) + 1 if n else 1
    return length, -(-n // length)


def schedule(n: int, states: int) -> tuple[int, int]:
    """(repetitions r, iterations recomputed) of the binomial schedule over the segments
    of n iterations (every segment but the last has ``length`` iterations)."""
    length, m = segments(n)
    r = 0
    while math.comb(states + r, states) < m:
        r += 1
    return r, max(r * m - math.comb(states + r, states + 1), 0) * length


def default_states(n: int) -> int:
    """What ``checkpoint=True`` keeps (``helpers._checkpointed``): each segment runs at
    most three times."""
    _, m = segments(n)
    states = 2
    while math.comb(states + 2, 2) < m:
        states += 1
    return states


def peak_bytes(f, args) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        f(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def measure(n: int, states_list: list[object], repeat: int) -> dict:
    results = {}
    for name, (f, args, wrt) in _cases(n).items():
        variants = {"tape": s2sad.grad(f, wrt=wrt, checkpoint=False)}
        for states in states_list:
            label = "default" if states is True else str(states)
            variants[f"checkpoint {label}"] = s2sad.grad(f, wrt=wrt, checkpoint=states)
        reference = variants["tape"](*args)
        rows = {}
        for label, g in variants.items():
            got = g(*args)
            error = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                        for a, b in zip(got, reference))
            rows[label] = {"peak_bytes": peak_bytes(g, args), "max_abs_difference": error,
                           "seconds": []}
        for _ in range(repeat):  # interleaved, so drifts of the machine hit every case
            for label, g in variants.items():
                start = time.perf_counter()
                g(*args)
                rows[label]["seconds"].append(time.perf_counter() - start)
        taped = rows["tape"]
        for label, row in rows.items():
            ratios = [s / t for s, t in zip(row["seconds"], taped["seconds"])]
            row["time_ratio"] = {"median": statistics.median(ratios), "min": min(ratios),
                                 "max": max(ratios)}
            row["memory_ratio"] = row["peak_bytes"] / taped["peak_bytes"]
            row["median_seconds"] = statistics.median(row["seconds"])
            if label != "tape":
                word = label.split()[1]
                states = default_states(n) if word == "default" else int(word)
                row["states"] = states
                row["repetitions"], row["advances"] = schedule(n, states)
        results[name] = rows
    return results


def report(n: int, results: dict) -> list[str]:
    lines = [f"checkpointed loops, n = {n:,} iterations (time: median over repeats, "
             f"ratio min-max; memory: tracemalloc peak of one call)", ""]
    header = (f"{'loop':<8} {'gradient':<20} {'peak memory':>12} {'vs tape':>9} "
              f"{'time':>9} {'vs tape (spread)':>22} {'states':>7} {'r':>3} "
              f"{'recomputed':>11} {'max |diff|':>11}")
    lines += [header, "-" * len(header)]
    for name, rows in results.items():
        for label, row in rows.items():
            ratio = row["time_ratio"]
            lines.append(
                f"{name:<8} {label:<20} {row['peak_bytes'] / 1024:>9.1f} KiB "
                f"{'1/' + format(1 / row['memory_ratio'], '.0f') if label != 'tape' else '1':>9} "
                f"{row['median_seconds'] * 1e3:>6.1f} ms "
                f"{ratio['median']:>8.2f}x ({ratio['min']:.2f}-{ratio['max']:.2f})"
                f"{row.get('states', ''):>8} {row.get('repetitions', ''):>3} "
                f"{row.get('advances', ''):>11} {row['max_abs_difference']:>11.1e}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.checkpoint",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="iterations (100,000)")
    parser.add_argument("--states", default="default,500,100",
                        help="numbers of states to try, comma-separated ('default': "
                        "checkpoint=True)")
    parser.add_argument("--repeat", type=int, default=7, help="timings per case (7)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    states_list = [True if s == "default" else int(s) for s in args.states.split(",")]
    results = measure(args.n, states_list, args.repeat)
    print("\n".join(report(args.n, results)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": args.n, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
