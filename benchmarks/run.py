"""The benchmarks: time a workload's primal and gradients side by side in one run.

Workloads: the control-flow scalar loop (the default) and those of ``workloads.WORKLOADS``
(``L``, ``rosenbrock``, ``mlp``, ``mds``, ``gmm``, ``lstm``, ``ba``; ``--workload``). Takes
command-line options (``python -m benchmarks --help``); prints a table of medians, spreads
and ratios per workload and, after several, issue 7's targets judged on them; writes the
same numbers as JSON with ``--json PATH``. Guarantees: every case is timed in the same
process, in interleaved rounds (one timeit repeat of each case per round, the order rotated
each round), so a slow spell of the shared machine hits all cases alike; ratios are taken
per round and then summarised (median, min, max, quartiles). It never asserts on a time. It
checks that s2sad's gradient agrees with the hand-written ones (relative 1e-10): for the
scalar loop (and its tangents) it exits non-zero if not; for the other workloads it records
the failure, with s2sad's error, and times the workload's alternative spelling if it has
one (see ``choose_s2sad``).

    python -m benchmarks                       # the full run: table on stdout
    python -m benchmarks --json results.json   # and every number as JSON
    python -m benchmarks --quick --no-peers    # tiny sizes: does it run?
    python -m benchmarks --workload all        # every workload, then issue 7's targets
    python -m benchmarks --workload gmm,ba --profile-lines   # where s2sad spends the time
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import math
import os
import platform
import statistics
import sys
import time
import timeit
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

import numpy

import s2sad

from . import NUMPY_LOADED_FIRST, SINGLE_THREAD_VARS
from . import workloads as W

TARGET_GRAD_OVER_PRIMAL = 3.0  # issue 7's target for the scalar loop's grad / primal, median
RTOL_S2SAD = 1e-10             # s2sad against the hand-written derivatives
RTOL_PEER = 1e-8               # peers and finite differences are reported, not asserted


@dataclass
class Case:
    """One timed call: ``fn(*args)``; ``versus`` names the s2sad case compared with it."""
    key: str
    label: str
    fn: Callable
    args: tuple
    versus: str | None = None


@dataclass
class Compile:
    """One code-generation measurement: each call of ``once`` compiles from scratch."""
    key: str
    label: str
    once: Callable[[], object]
    repeat: int


@dataclass
class Peer:
    cases: list[Case] = field(default_factory=list)
    compiles: list[Compile] = field(default_factory=list)
    gradient: tuple[str, Callable] | None = None   # (case key, fn returning two floats)
    note: str = ""


# ---------------------------------------------------------------- statistics


def summary(xs: list[float]) -> dict:
    """Median, extremes and quartiles of a sample (quartiles equal the median for n < 2)."""
    med = statistics.median(xs)
    q1, q3 = (statistics.quantiles(xs, n=4, method="inclusive")[::2] if len(xs) > 1
              else (med, med))
    return {"median": med, "min": min(xs), "max": max(xs), "q1": q1, "q3": q3, "n": len(xs)}


def close(x: float, y: float, rtol: float) -> bool:
    """Relative agreement; both exactly 0 (the underflowed ∂/∂a at large n) agree."""
    return abs(x - y) <= rtol * max(abs(x), abs(y)) + 1e-300


# ---------------------------------------------------------------- timing


def calibrate(timer: timeit.Timer, min_time: float) -> tuple[int, float]:
    """Calls per repeat so that one repeat takes at least ``min_time`` seconds, and the
    seconds per call seen while finding it."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= min_time:
            return number, elapsed / number
        wanted = math.ceil(number * 1.25 * min_time / max(elapsed, 1e-9))
        number = min(number * 10, max(number + 1, wanted))


def minor_faults() -> int:
    """Minor page faults of this process so far (0 where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # not on Unix
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


SLOW_SECONDS = 1.0   # a case slower than this per call is timed in only SLOW_REPEAT rounds
SLOW_REPEAT = 3


def time_cases(cases: list[Case], repeat: int, min_time: float,
               slow_seconds: float = SLOW_SECONDS, slow_repeat: int = SLOW_REPEAT
               ) -> dict[str, dict]:
    """Interleaved timeit repeats: seconds per call for each case, ``repeat`` samples each
    (a case slower than ``slow_seconds`` per call takes part in the first ``slow_repeat``
    rounds only), and the minor page faults per call in each repeat (fresh memory the kernel
    had to map: the cost of allocating large temporaries that the allocator returned to the
    OS). ``rounds`` lists the round of each sample, so that ratios can be paired."""
    timers = {c.key: timeit.Timer("fn(*args)", globals={"fn": c.fn, "args": c.args})
              for c in cases}
    numbers, rounds_of = {}, {}
    for key, timer in timers.items():
        numbers[key], per_call = calibrate(timer, min_time)
        if per_call > slow_seconds:  # the first call may have been slow (JAX compiles ops)
            per_call = min(per_call, timer.timeit(1))
        rounds_of[key] = min(repeat, slow_repeat) if per_call > slow_seconds else repeat
    samples: dict[str, list[float]] = {c.key: [] for c in cases}
    faults: dict[str, list[float]] = {c.key: [] for c in cases}
    rounds: dict[str, list[int]] = {c.key: [] for c in cases}
    for round_ in range(repeat):
        shift = round_ % len(cases)
        for case in cases[shift:] + cases[:shift]:
            if round_ >= rounds_of[case.key]:
                continue
            number = numbers[case.key]
            before = minor_faults()
            samples[case.key].append(timers[case.key].timeit(number) / number)
            faults[case.key].append((minor_faults() - before) / number)
            rounds[case.key].append(round_)
    return {key: {"samples": samples[key], "faults": faults[key], "number": numbers[key],
                  "rounds": rounds[key], "slow": rounds_of[key] < repeat}
            for key in samples}


def paired(over: dict, under: dict) -> list[float]:
    """Per-round ratios over / under, in the rounds both took part in."""
    theirs = dict(zip(under["rounds"], under["samples"]))
    return [s / theirs[r] for r, s in zip(over["rounds"], over["samples"]) if r in theirs]


def time_compiles(compiles: list[Compile]) -> dict[str, list[float]]:
    """Seconds per fresh compile (garbage collection on, as a user's first call has it)."""
    out = {}
    for entry in compiles:
        seconds = []
        for _ in range(entry.repeat):
            start = time.perf_counter()
            entry.once()
            seconds.append(time.perf_counter() - start)
        out[entry.key] = seconds
    return out


def fresh_copy(f: Callable) -> Callable:
    """A new function object on ``f``'s code: transform caches keyed by function miss it."""
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__,
                           f.__closure__)
    g.__qualname__, g.__module__ = f.__qualname__, f.__module__
    return g


def peak_bytes(fn: Callable, args: tuple, warm: bool = True) -> int:
    """The most memory one call has allocated at once, beyond what was live before it
    (tracemalloc; NumPy reports its array buffers to it). Independent of the allocator."""
    import tracemalloc

    if warm:
        fn(*args)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn(*args)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def time_and_summarise(cases: list[Case], repeat: int, min_time: float) -> dict[str, dict]:
    """Time ``cases`` (the first is the primal) and summarise each: seconds per call, the
    paired ratio to the primal and to the s2sad case it is compared with, page faults, and
    (measured once, after the timing) the peak memory of a call."""
    gc.collect()
    timed = time_cases(cases, repeat, min_time)
    primal = timed[cases[0].key]
    results = {}
    for case in cases:
        mine = timed[case.key]
        entry = {"label": case.label, "seconds_per_call": summary(mine["samples"]),
                 "calls_per_repeat": mine["number"], "slow": mine["slow"],
                 "ratio_to_primal": summary(paired(mine, primal)),
                 "minor_faults_per_call": summary(mine["faults"]),
                 "peak_bytes_per_call": peak_bytes(case.fn, case.args, warm=not mine["slow"]),
                 "versus": case.versus, "versus_over_this": None}
        if case.versus:
            entry["versus_over_this"] = summary(paired(timed[case.versus], mine))
        results[case.key] = entry
    return results


# ---------------------------------------------------------------- peers


def version(package: str) -> str:
    try:
        return _version(package)
    except PackageNotFoundError:
        return "(version unknown)"


def autograd_peer(a: float, y: float, n: int, compile_repeat: int) -> Peer:
    import autograd
    import autograd.numpy as anp

    grad = autograd.grad(W.loop_with(anp.sin), argnum=(0, 1))
    return Peer(cases=[Case("autograd_grad", f"autograd {version('autograd')} grad",
                            grad, (a, y, n), versus="s2sad_grad")],
                gradient=("autograd_grad", lambda: tuple(map(float, grad(a, y, n)))))


def torch_peer(a: float, y: float, n: int, compile_repeat: int) -> Peer:
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    loop = W.loop_with(torch.sin)

    def torch_grad(a, y, n):
        ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        ga, gy = torch.autograd.grad(loop(ta, ty, n), (ta, ty))
        return ga.item(), gy.item()

    return Peer(cases=[Case("torch_grad", f"torch {torch.__version__} grad (CPU, 1 thread)",
                            torch_grad, (a, y, n), versus="s2sad_grad")],
                gradient=("torch_grad", lambda: torch_grad(a, y, n)))


def jax_peer(a: float, y: float, n: int, compile_repeat: int) -> Peer:
    import jax

    jax.config.update("jax_enable_x64", True)  # float64, as the Python loop computes
    import jax.numpy as jnp

    loop = W.loop_with(jnp.sin)
    eager = jax.grad(loop, argnums=(0, 1))
    jitted = jax.jit(jax.grad(loop, argnums=(0, 1)), static_argnums=2)

    def jax_grad(a, y, n):
        return jax.block_until_ready(eager(a, y, n))

    def jax_jit_grad(a, y, n):
        return jax.block_until_ready(jitted(a, y, n))

    def compile_once():  # a new function object: jit traces and compiles it again
        fresh = jax.jit(jax.grad(fresh_copy(loop), argnums=(0, 1)), static_argnums=2)
        return jax.block_until_ready(fresh(a, y, n))

    jax_jit_grad(a, y, n)  # compile once before timing
    label = f"jax {jax.__version__}"
    return Peer(cases=[Case("jax_grad", f"{label} grad, no jit", jax_grad, (a, y, n),
                            versus="s2sad_grad"),
                       Case("jax_jit_grad", f"{label} jit(grad), compiled", jax_jit_grad,
                            (a, y, n), versus="s2sad_grad")],
                compiles=[Compile("jax_jit_grad", f"{label} jit(grad): trace+compile+1st call",
                                  compile_once, compile_repeat)],
                gradient=("jax_jit_grad", lambda: tuple(map(float, jax_jit_grad(a, y, n)))))


PEERS: dict[str, Callable[..., Peer]] = {
    "autograd": autograd_peer, "torch": torch_peer, "jax": jax_peer}


# The same peers on the other workloads: the function on their own NumPy (torch: in torch;
# JAX: the workload's JAX spelling if it has one), the gradient with respect to ``wrt``;
# ``gradient`` returns NumPy arrays for the checks. Arrays are handed over as the peer's own
# (not timed); numbers that are not differentiated stay Python numbers (static under jit).

def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def autograd_workload_peer(work: W.Workload, args: tuple, compile_repeat: int) -> Peer:
    import autograd
    import autograd.numpy as anp

    grad = autograd.grad(work.with_numpy(anp), argnum=work.wrt)
    return Peer(cases=[Case("autograd_grad", f"autograd {version('autograd')} grad",
                            grad, args, versus="s2sad_grad")],
                gradient=("autograd_grad", lambda: tuple(map(numpy.asarray, grad(*args)))))


def torch_workload_peer(work: W.Workload, args: tuple, compile_repeat: int) -> Peer:
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    loss = work.with_torch(torch)

    def tensor(i, a):
        if _is_number(a) and i not in work.wrt:
            return a
        t = torch.as_tensor(numpy.asarray(a))
        if t.is_floating_point() or i in work.wrt:
            t = t.to(torch.float64).requires_grad_(i in work.wrt)
        return t

    tensors = tuple(tensor(i, a) for i, a in enumerate(args))

    def torch_grad(*xs):
        return torch.autograd.grad(loss(*xs), [xs[i] for i in work.wrt])

    return Peer(cases=[Case("torch_grad", f"torch {torch.__version__} grad (CPU, 1 thread)",
                            torch_grad, tensors, versus="s2sad_grad")],
                gradient=("torch_grad",
                          lambda: tuple(g.detach().numpy() for g in torch_grad(*tensors))))


def jax_workload_peer(work: W.Workload, args: tuple, compile_repeat: int) -> Peer:
    import jax

    jax.config.update("jax_enable_x64", True)  # float64, as NumPy computes
    import jax.numpy as jnp

    loss = (work.jax_with or work.with_numpy)(jnp)
    static = tuple(i for i, a in enumerate(args) if _is_number(a) and i not in work.wrt)
    device_args = tuple(a if i in static else jax.device_put(a)  # transfers are not timed
                        for i, a in enumerate(args))
    eager = jax.grad(loss, argnums=work.wrt)
    jitted = jax.jit(jax.grad(loss, argnums=work.wrt), static_argnums=static)

    def jax_grad(*xs):
        return jax.block_until_ready(eager(*xs))

    def jax_jit_grad(*xs):
        return jax.block_until_ready(jitted(*xs))

    def compile_once():  # a new function object: jit traces and compiles it again
        fresh = jax.jit(jax.grad(fresh_copy(loss), argnums=work.wrt), static_argnums=static)
        return jax.block_until_ready(fresh(*device_args))

    jax_jit_grad(*device_args)  # compile once before timing
    label = f"jax {jax.__version__}"
    spelled = ", vectorised" if work.jax_with else ""
    return Peer(cases=[Case("jax_grad", f"{label} grad, no jit{spelled}", jax_grad,
                            device_args, versus="s2sad_grad"),
                       Case("jax_jit_grad", f"{label} jit(grad), compiled{spelled}",
                            jax_jit_grad, device_args, versus="s2sad_grad")],
                compiles=[Compile("jax_jit_grad", f"{label} jit(grad): trace+compile+1st call",
                                  compile_once, compile_repeat)],
                gradient=("jax_jit_grad", lambda: tuple(
                    map(numpy.asarray, jax_jit_grad(*device_args)))),
                note=f"jax runs the {work.key} workload {work.jax_note}" if work.jax_with
                else "")


WORKLOAD_PEERS: dict[str, Callable[..., Peer]] = {
    "autograd": autograd_workload_peer, "torch": torch_workload_peer,
    "jax": jax_workload_peer}


# ---------------------------------------------------------------- checks


def check_s2sad(grad: Callable, jvp: Callable, n: int, a: float, y: float) -> dict:
    """s2sad's gradient and both tangents against the hand-written ones; raises if off."""
    results = {}
    for m in sorted({1, 10, 37, n}):
        hand = W.hand_grad_scalar_loop(a, y, m)
        ours = grad(a, y, m)
        value_a, tangent_a = jvp(a, y, m, 1.0, 0.0)
        value_y, tangent_y = jvp(a, y, m, 0.0, 1.0)
        hand_tangents = (W.hand_jvp_scalar_loop(a, y, m, 1.0, 0.0)[1],
                         W.hand_jvp_scalar_loop(a, y, m, 0.0, 1.0)[1])
        primal = W.scalar_loop(a, y, m)
        pairs = {"grad_vs_hand": (ours, hand), "jvp_vs_hand_grad": ((tangent_a, tangent_y), hand),
                 "hand_jvp_vs_hand_grad": (hand_tangents, hand)}
        for name, (got, want) in pairs.items():
            assert all(close(g, w, RTOL_S2SAD) for g, w in zip(got, want)), \
                f"n={m}: {name}: {got} != {want} (rtol {RTOL_S2SAD})"
        assert close(value_a, primal, RTOL_S2SAD) and close(value_y, primal, RTOL_S2SAD), \
            f"n={m}: jvp values {value_a}, {value_y} != primal {primal}"
        results[str(m)] = {"hand_grad": list(hand), "s2sad_grad": list(ours),
                           "s2sad_jvp": [tangent_a, tangent_y]}
    return {"rtol": RTOL_S2SAD, "passed": True, "gradients": results}


def check_against(got: tuple[float, float], want: tuple[float, float], rtol: float) -> dict:
    errors = [abs(g - w) / max(abs(w), 1.0) for g, w in zip(got, want)]
    return {"gradient": list(got), "max_error_relative_to_max_1_abs": max(errors),
            "ok": max(errors) <= rtol}


def array_error(got, want) -> float:
    """The largest entry of |got - want| over all gradients, relative to the largest |want|
    entry of the same gradient (so that a gradient's tiny entries don't inflate it)."""
    errors = []
    for g, w in zip(got, want):
        g, w = numpy.asarray(g, dtype=numpy.float64), numpy.asarray(w, dtype=numpy.float64)
        if g.shape != w.shape:
            return math.inf
        errors.append(float(numpy.max(numpy.abs(g - w), initial=0.0))
                      / max(float(numpy.max(numpy.abs(w), initial=0.0)), 1e-300))
    return max(errors)


def check_workload_s2sad(work: W.Workload, grad: Callable, sizes: dict,
                         args_of: Callable[[tuple], tuple] = tuple) -> dict:
    """s2sad's gradient (of ``args_of(workload arguments)``) against each hand-written one at
    the check, quick and benchmark sizes; raises AssertionError if any differs by more than
    RTOL_S2SAD (relative to the largest entry)."""
    results = {}
    for name, at in (("check", work.check_sizes), ("quick", work.quick_sizes),
                     ("benchmark", sizes)):
        args = work.problem(**at)
        ours = grad(*args_of(args))
        for hand in work.hand:
            error = array_error(ours, hand.fn(*args))
            assert error <= RTOL_S2SAD, \
                f"{work.key} at {at}: s2sad grad != {hand.key}: error {error:.2e}"
            results[f"{name}:{hand.key}"] = error
    return {"rtol": RTOL_S2SAD, "passed": True, "max_error_relative_to_max_abs": results}


def check_workload_finite_differences(work: W.Workload) -> dict:
    """The first hand-written gradient against central differences of every entry, at the
    check sizes (reported, not asserted; tests/test_benchmarks.py asserts it)."""
    args = work.problem(**work.check_sizes)
    fd = W.central_differences_of(work.function, args, work.wrt)
    error = array_error(work.hand[0].fn(*args), fd)
    return {"sizes": work.check_sizes, "max_error_relative_to_max_abs": error,
            "ok": error <= 1e-6}


@dataclass
class S2sadChoice:
    """The spelling of a workload whose s2sad gradient is timed, and what failed before."""
    function: Callable | None              # None: no spelling works, s2sad is not timed
    grad: Callable | None
    args_of: Callable[[tuple], tuple]
    label: str
    check: dict
    callees: tuple[Callable, ...] = ()
    failures: list[dict] = field(default_factory=list)


def failure(work: W.Workload, function: Callable, spelling: str, exc: BaseException) -> dict:
    """What went wrong with s2sad on a spelling, for the report and the JSON."""
    stage = ("compile" if isinstance(exc, s2sad.CompileError)
             else "check" if isinstance(exc, AssertionError) else "call")
    return {"workload": work.key, "function": function.__name__, "spelling": spelling,
            "stage": stage, "error_type": type(exc).__name__, "error": str(exc)}


def choose_s2sad(work: W.Workload, sizes: dict) -> S2sadChoice:
    """s2sad's gradient of the workload as written, checked against the hand-written ones;
    if that fails (no derivative, an error when called, a wrong value) the failure is kept
    and the workload's alternative spelling, if it has one, is tried the same way."""
    spellings = [("natural", work.function, tuple, "", work.callees)]
    if work.s2sad_alternative is not None:
        alt = work.s2sad_alternative
        spellings.append(("alternative", alt.function, alt.args, alt.label, alt.callees))
    failures = []
    for spelling, function, args_of, label, callees in spellings:
        try:
            grad = s2sad.grad(function, wrt=work.wrt)
            check = check_workload_s2sad(work, grad, sizes, args_of)
        except Exception as exc:  # recorded and reported, never silently worked around
            failures.append(failure(work, function, spelling, exc))
            continue
        return S2sadChoice(function, grad, args_of, label, check, callees, failures)
    return S2sadChoice(None, None, tuple, "", {"passed": False}, (), failures)


def source_of(functions) -> tuple[str, int]:
    """The functions' source, one after the other, and its number of lines."""
    text = "\n".join(inspect.getsource(f) for f in functions)
    return text, len([line for line in text.splitlines() if line.strip()])


# ---------------------------------------------------------------- the run


def run(n: int = W.N, a: float = W.A0, y: float = W.Y0, repeat: int = 21,
        min_time: float = 0.05, compile_repeat: int = 11, peer_compile_repeat: int = 3,
        peers: bool = True) -> dict:
    """Run the benchmark and return its results (the JSON document)."""
    grad = s2sad.grad(W.scalar_loop, wrt=(0, 1))
    jvp = s2sad.jvp(W.scalar_loop, wrt=(0, 1))
    checks = {"s2sad": check_s2sad(grad, jvp, n, a, y)}
    hand = W.hand_grad_scalar_loop(a, y, n)
    checks["finite_differences"] = check_against(
        W.central_differences(W.scalar_loop, a, y, n), hand, 1e-6)

    cases = [
        Case("primal", "primal scalar_loop", W.scalar_loop, (a, y, n)),
        Case("s2sad_grad", "s2sad grad (reverse)", grad, (a, y, n)),
        Case("hand_grad", "hand-written reverse", W.hand_grad_scalar_loop, (a, y, n),
             versus="s2sad_grad"),
        Case("s2sad_jvp", "s2sad jvp (forward, 1 tangent)", jvp, (a, y, n, 1.0, 0.0)),
        Case("hand_jvp", "hand-written forward, 1 tangent", W.hand_jvp_scalar_loop,
             (a, y, n, 1.0, 0.0), versus="s2sad_jvp"),
        Case("finite_differences", "central differences (4 primals)", W.central_differences,
             (W.scalar_loop, a, y, n), versus="s2sad_grad"),
    ]
    compiles = [
        Compile("s2sad_grad", "s2sad grad: parse+derive+emit+compile",
                lambda: s2sad.grad(fresh_copy(W.scalar_loop), wrt=(0, 1)), compile_repeat),
        Compile("s2sad_jvp", "s2sad jvp: parse+derive+emit+compile",
                lambda: s2sad.jvp(fresh_copy(W.scalar_loop), wrt=(0, 1)), compile_repeat),
        Compile("s2sad_first_grad", "s2sad first gradient: generation+1st call",
                lambda: s2sad.grad(fresh_copy(W.scalar_loop), wrt=(0, 1))(a, y, n),
                compile_repeat),
    ]
    skipped = {}
    for name, make in PEERS.items():
        if not peers:
            skipped[name] = "not run (--no-peers)"
            continue
        try:
            peer = make(a, y, n, peer_compile_repeat)
            key, gradient = peer.gradient
            checks[key] = check_against(gradient(), hand, RTOL_PEER)
        except ImportError as exc:
            skipped[name] = f"not importable: {exc}"
            continue
        except Exception as exc:  # a peer that fails is reported, not fatal
            skipped[name] = f"failed: {type(exc).__name__}: {exc}"
            continue
        cases += peer.cases
        compiles += peer.compiles

    results = time_and_summarise(cases, repeat, min_time)
    compile_seconds = time_compiles(compiles)
    measured = results["s2sad_grad"]["ratio_to_primal"]["median"]
    source, lines = source_of((W.scalar_loop,))
    return {
        "benchmark": "control_flow_scalar_loop",
        "meta": meta(),
        "workload": {"function": "scalar_loop", "kind": "scalar", "n": n, "a": a, "y": y,
                     "wrt": [0, 1], "source": source, "lines": lines},
        "timing": {"repeat": repeat, "min_seconds_per_repeat": min_time,
                   "interleaved_rounds": True, "gc_disabled_while_timing": True,
                   "statistic": "median over repeats; ratios paired per round"},
        "cases": results,
        "compile": {c.key: {"label": c.label, "seconds": summary(compile_seconds[c.key])}
                    for c in compiles},
        "checks": checks,
        "failures": [],
        "skipped": skipped,
        "notes": [],
        "target": {"metric": "s2sad_grad / primal, median", "limit": TARGET_GRAD_OVER_PRIMAL,
                   "measured": measured, "met": measured <= TARGET_GRAD_OVER_PRIMAL},
        "generated_source": {"grad": s2sad.source(grad), "jvp": s2sad.source(jvp)},
    }


FD_MAX_PARAMETERS = 100   # central differences are timed up to this many parameters


def run_workload(work: W.Workload, sizes: dict | None = None, repeat: int = 21,
                 min_time: float = 0.05, compile_repeat: int = 11, peer_compile_repeat: int = 3,
                 peers: bool = True) -> dict:
    """Time one workload: primal, s2sad's gradient, the hand-written gradients, central
    differences (when there are few parameters) and the peers that import, side by side in
    one run; return the JSON document."""
    sizes = dict(work.sizes if sizes is None else sizes)
    choice = choose_s2sad(work, sizes)
    checks = {"s2sad": choice.check,
              "finite_differences": check_workload_finite_differences(work)}
    args = work.problem(**sizes)
    want = work.hand[0].fn(*args)
    name = work.function.__name__
    timed = choice.function is not None
    versus = "s2sad_grad" if timed else None
    cases = [Case("primal", f"primal {name}", work.function, args)]
    compiles = []
    skipped = {}
    if timed:
        label = "s2sad grad (reverse)" + (f", {choice.label}" if choice.label else "")
        grad_args = choice.args_of(args)
        cases.append(Case("s2sad_grad", label, choice.grad, grad_args))
        compiles += [
            Compile("s2sad_grad", "s2sad grad: parse+derive+emit+compile",
                    lambda: s2sad.grad(fresh_copy(choice.function), wrt=work.wrt),
                    compile_repeat),
            Compile("s2sad_first_grad", "s2sad first gradient: generation+1st call",
                    lambda: s2sad.grad(fresh_copy(choice.function), wrt=work.wrt)(*grad_args),
                    compile_repeat)]
    else:
        skipped["s2sad"] = "no spelling of this workload differentiates correctly (failures)"
    cases += [Case(hand.key, hand.label, hand.fn, args, versus=versus) for hand in work.hand]
    parameters = W.parameter_count(args, work.wrt)
    if parameters <= FD_MAX_PARAMETERS:
        cases.append(Case("finite_differences",
                          f"central differences ({2 * parameters} primals)",
                          W.central_differences_of, (work.function, args, work.wrt),
                          versus=versus))
        fd = W.central_differences_of(work.function, args, work.wrt)
        error = array_error(fd, want)
        checks["finite_differences_benchmark"] = {
            "max_error_relative_to_max_abs": error, "ok": error <= 1e-6}
    else:
        skipped["finite_differences"] = (
            f"not timed: {parameters} parameters take {2 * parameters} primal calls per "
            f"gradient (timed up to {FD_MAX_PARAMETERS}); checked at the check sizes only")
    notes = []
    for peer_name, make in WORKLOAD_PEERS.items():
        if not peers:
            skipped[peer_name] = "not run (--no-peers)"
            continue
        try:
            peer = make(work, args, peer_compile_repeat)
            key, gradient = peer.gradient
            error = array_error(gradient(), want)
        except ImportError as exc:
            skipped[peer_name] = f"not importable: {exc}"
            continue
        except Exception as exc:  # a peer that fails on a workload is reported, not fatal
            skipped[peer_name] = f"failed: {type(exc).__name__}: {exc}"
            continue
        if not timed:
            peer.cases = [Case(c.key, c.label, c.fn, c.args) for c in peer.cases]
        cases += peer.cases
        compiles += peer.compiles
        checks[key] = {"max_error_relative_to_max_abs": error, "ok": error <= RTOL_PEER}
        if peer.note:
            notes.append(peer.note)

    results = time_and_summarise(cases, repeat, min_time)
    compile_seconds = time_compiles(compiles)
    source, lines = source_of((work.function, *work.callees))
    workload = {"function": name, "kind": work.kind, "sizes": sizes,
                "description": work.describe(sizes), "wrt": list(work.wrt),
                "wrt_names": list(work.wrt_names), "parameters": parameters,
                "source": source, "lines": lines, "s2sad_spelling": None}
    if timed and choice.function is not work.function:
        alt_source, alt_lines = source_of((choice.function, *choice.callees))
        workload["s2sad_spelling"] = {
            "function": choice.function.__name__, "label": choice.label,
            "note": work.s2sad_alternative.note, "source": alt_source, "lines": alt_lines}
    return {
        "benchmark": f"workload_{work.key}",
        "meta": meta(),
        "workload": workload,
        "timing": {"repeat": repeat, "min_seconds_per_repeat": min_time,
                   "interleaved_rounds": True, "gc_disabled_while_timing": True,
                   "slow_case": {"seconds_per_call_over": SLOW_SECONDS, "repeat": SLOW_REPEAT},
                   "statistic": "median over repeats; ratios paired per round"},
        "cases": results,
        "compile": {c.key: {"label": c.label, "seconds": summary(compile_seconds[c.key])}
                    for c in compiles},
        "checks": checks,
        "failures": choice.failures,
        "skipped": skipped,
        "notes": notes,
        "target": None,
        "generated_source": {"grad": s2sad.source(choice.grad)} if timed else {},
    }


def meta() -> dict:
    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "numpy": numpy.__version__, "s2sad": s2sad.__version__,
            "platform": platform.platform(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "thread_env": {v: os.environ.get(v) for v in SINGLE_THREAD_VARS + ("XLA_FLAGS",)},
            "numpy_loaded_before_thread_env": NUMPY_LOADED_FIRST,
            "S2SAD_CHECK": os.environ.get("S2SAD_CHECK")}


# ---------------------------------------------------------------- the report


def seconds(t: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g}{unit}"
    return f"{t / 1e-9:.3g}ns"


def number(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.2f}" if x >= 0.1 else f"{x:.2g}"


def ratio(s: dict | None) -> str:
    if s is None:
        return ""
    return f"{number(s['median'])} ({number(s['min'])}-{number(s['max'])})"


def size(n: int) -> str:
    for unit, scale in (("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n}B"


def faults(s: dict) -> str:
    return f"{s['median']:.0f}" if s["median"] >= 1 or s["median"] == 0 else f"{s['median']:.1g}"


LABEL_WIDTH = 46


def report(results: dict) -> str:
    w = results["workload"]
    timing = results["timing"]
    repeats = (f"{timing['repeat']} interleaved repeats of >= "
               f"{timing['min_seconds_per_repeat'] * 1e3:g} ms each")
    if "sizes" in w:
        wrt = ", ".join(w["wrt_names"])
        lines = [f"{w['function']}: {w['description']}; grad wrt ({wrt}); {repeats}"]
    else:
        lines = [f"scalar_loop: n={w['n']}, a={w['a']}, y={w['y']}, grad wrt (a, y); {repeats}"]
    lines += [f"python {results['meta']['python']}, numpy {results['meta']['numpy']}, "
              f"{results['meta']['platform']}", ""]
    head = (f"{'case':<{LABEL_WIDTH}} {'median':>8} {'min':>8} {'max':>8} {'IQR%':>5} "
            f"{'faults':>6} {'peak':>8}  {'x primal (min-max)':<20} "
            f"{'s2sad / this (min-max)':<22}")
    lines += [head, "-" * len(head)]
    slow = False
    for entry in results["cases"].values():
        t = entry["seconds_per_call"]
        iqr = 100 * (t["q3"] - t["q1"]) / t["median"]
        versus = entry["versus_over_this"]
        shown = "" if versus is None else f"{ratio(versus)} [{entry['versus']}]"
        label = entry["label"] + (" *" if entry.get("slow") else "")
        slow = slow or entry.get("slow", False)
        lines.append(f"{label:<{LABEL_WIDTH}} {seconds(t['median']):>8} "
                     f"{seconds(t['min']):>8} {seconds(t['max']):>8} {iqr:>5.1f} "
                     f"{faults(entry['minor_faults_per_call']):>6} "
                     f"{size(entry['peak_bytes_per_call']):>8}  "
                     f"{ratio(entry['ratio_to_primal']):<20} {shown}")
    lines.append("(faults: minor page faults per call, median: fresh memory the kernel mapped; "
                 "peak: most memory one call held at once)")
    if slow:
        slow_case = timing.get("slow_case", {"seconds_per_call_over": SLOW_SECONDS,
                                             "repeat": SLOW_REPEAT})
        lines.append(f"(*: over {slow_case['seconds_per_call_over']:g} s per call, timed in "
                     f"the first {slow_case['repeat']} rounds only)")
    lines += ["", "code generation (fresh function object each time, one compile per sample):"]
    for entry in results["compile"].values():
        s = entry["seconds"]
        lines.append(f"  {entry['label']:<48} median {seconds(s['median'])}  "
                     f"min {seconds(s['min'])}  max {seconds(s['max'])}  (n={s['n']})")
    spelling = w.get("s2sad_spelling")
    if "lines" in w:
        lines.append(f"  (source differentiated: {(spelling or w)['lines']} non-blank lines, "
                     "the function and the functions it calls)")
    lines.append("")
    for entry in results.get("failures", []):
        lines.append(f"s2sad FAILED on {entry['function']} ({entry['spelling']} spelling, "
                     f"{entry['stage']}): {entry['error_type']}:")
        lines += ["    " + line for line in entry["error"].splitlines()]
    if spelling:
        lines.append(f"s2sad is timed on {spelling['function']} ({spelling['label']}): "
                     f"{spelling['note']}")
    for name, reason in results["skipped"].items():
        lines.append(f"skipped {name}: {reason}")
    for note in results.get("notes", []):
        lines.append(f"note: {note}")
    checks = results["checks"]
    for name, check in checks.items():
        if name == "s2sad":
            continue
        error = check.get("max_error_relative_to_max_1_abs",
                          check.get("max_error_relative_to_max_abs"))
        where = (f" (hand-written vs central differences at {check['sizes']})"
                 if "sizes" in check else
                 " (vs hand-written at the benchmark size)"
                 if name == "finite_differences_benchmark" else "")
        lines.append(f"check {name}{where}: max error {error:.1e} "
                     f"{'ok' if check['ok'] else 'DISAGREES'}")
    s2sad_check = checks["s2sad"]
    if "gradients" in s2sad_check:
        lines.append(f"check s2sad grad and jvp == hand-written (rtol {RTOL_S2SAD:g}) at n in "
                     f"{sorted(map(int, s2sad_check['gradients']))}: passed")
    elif s2sad_check.get("passed"):
        worst = max(s2sad_check["max_error_relative_to_max_abs"].values())
        lines.append(f"check s2sad grad == hand-written (rtol {RTOL_S2SAD:g} of the largest "
                     f"entry) at check, quick and benchmark sizes: passed (max {worst:.1e})")
    else:
        lines.append("check s2sad grad == hand-written: FAILED on every spelling (above)")
    target = results["target"]
    cases = results["cases"]
    if target is not None:
        lines.append(f"target: s2sad grad / primal median {target['measured']:.2f} <= "
                     f"{target['limit']:g}: {'met' if target['met'] else 'NOT met'}")
    elif cases["hand_grad"]["versus_over_this"] is not None:
        hand = cases["hand_grad"]["versus_over_this"]
        lines.append(f"s2sad grad / hand-written ({cases['hand_grad']['label']}) median "
                     f"{hand['median']:.2f} (min {hand['min']:.2f}, max {hand['max']:.2f})")
    if results["meta"]["S2SAD_CHECK"] == "1":
        lines.append("note: S2SAD_CHECK=1 (IR verified after every pass): compile times include it")
    return "\n".join(lines)


# ---------------------------------------------------------------- issue 7's targets

TARGET_ARRAY_OVER_HAND = 1.2     # every array workload: s2sad grad / hand-written grad
TARGET_OVER_AUTOGRAD = 20.0      # scalar loop: autograd grad / s2sad grad, at least
TARGET_CODEGEN_SECONDS = 0.050   # code generation of a 30-line function, at most
TARGET_CODEGEN_LINES = 30


def _median(results: dict, key: str, field_: str) -> float | None:
    entry = results["cases"].get(key)
    if entry is None or entry.get(field_) is None:
        return None
    return entry[field_]["median"]


def _compile_median(results: dict, key: str) -> float | None:
    entry = results["compile"].get(key)
    return None if entry is None else entry["seconds"]["median"]


def targets(documents: dict[str, dict]) -> dict:
    """Issue 7's targets (part 4), each with the numbers it was judged on, from the
    workloads that ran. ``met`` is None when nothing measured it."""
    out = {}

    def judge(key, text, rows, ok):
        met = None if not rows else all(ok(row) for row in rows)
        out[key] = {"target": text, "met": met, "rows": rows}

    loop = documents.get("scalar_loop")
    rows = []
    if loop:
        rows.append({"workload": "scalar_loop",
                     "measured": _median(loop, "s2sad_grad", "ratio_to_primal")})
    judge("scalar_loop_over_primal", "scalar loop: s2sad grad / primal <= 3 (median)", rows,
          lambda row: row["measured"] <= TARGET_GRAD_OVER_PRIMAL)

    rows = []
    for name, doc in documents.items():
        if doc["workload"].get("kind") != "array":
            continue
        measured = _median(doc, "hand_grad", "versus_over_this")
        rows.append({"workload": name, "measured": measured,
                     "failed": measured is None})
    judge("array_over_hand", "every array workload: s2sad grad / hand-written <= 1.2 "
          "(median)", rows,
          lambda row: row["measured"] is not None and row["measured"] <= TARGET_ARRAY_OVER_HAND)

    rows = []
    if loop and "autograd_grad" in loop["cases"]:
        over = _median(loop, "autograd_grad", "versus_over_this")  # s2sad / autograd
        rows.append({"workload": "scalar_loop", "measured": 1.0 / over})
    judge("scalar_loop_versus_autograd", "scalar loop: autograd grad / s2sad grad >= 20 "
          "(median)", rows, lambda row: row["measured"] >= TARGET_OVER_AUTOGRAD)

    rows = []
    for name, doc in documents.items():
        seconds_ = _compile_median(doc, "s2sad_grad")
        if seconds_ is None:
            continue
        lines = (doc["workload"].get("s2sad_spelling") or doc["workload"]).get("lines")
        rows.append({"workload": name, "measured": seconds_, "lines": lines})
    judge("code_generation", "code generation <= 50 ms for a 30-line function (median; "
          "judged on the workloads of 30 lines or more)",
          [row for row in rows if row["lines"] >= TARGET_CODEGEN_LINES] or [],
          lambda row: row["measured"] <= TARGET_CODEGEN_SECONDS)
    out["code_generation"]["all_rows"] = rows

    rows = []
    for name, doc in documents.items():
        ours = _compile_median(doc, "s2sad_first_grad")
        theirs = _compile_median(doc, "jax_jit_grad")
        if ours is None or theirs is None:
            continue
        rows.append({"workload": name, "measured": ours, "jax_jit": theirs})
    judge("first_gradient", "first gradient (generation + 1st call) sooner than jax.jit's "
          "(trace + compile + 1st call) on every workload (medians)", rows,
          lambda row: row["measured"] < row["jax_jit"])
    return out


def report_targets(summary_: dict) -> str:
    lines = ["issue 7's targets (part 4), from this run:"]
    for key, entry in summary_.items():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[entry["met"]]
        lines.append(f"  {entry['target']}: {verdict}")
        rows = entry.get("all_rows", entry["rows"])
        for row in rows:
            value = row["measured"]
            if key == "code_generation":
                shown = f"{seconds(value)} for {row['lines']} lines"
            elif key == "first_gradient":
                shown = f"s2sad {seconds(value)} vs jax.jit {seconds(row['jax_jit'])}"
            else:
                shown = "s2sad failed" if value is None else f"{value:.2f}"
            lines.append(f"    {row['workload']:<12} {shown}")
    return "\n".join(lines)


NAMES = ("scalar_loop", *W.WORKLOADS)


def parse_size(text: str) -> tuple[str, str, object]:
    """``workload.name=value`` -> (workload, name, value): an int, a float, or a tuple of
    ints written with commas."""
    target, _, value = text.partition("=")
    workload, _, name = target.partition(".")
    if not (workload and name and value):
        raise ValueError(f"--size wants WORKLOAD.NAME=VALUE, got {text!r}")
    if "," in value:
        return workload, name, tuple(int(v) for v in value.split(","))
    try:
        return workload, name, int(value)
    except ValueError:
        return workload, name, float(value)


PROFILE_ALL_UP_TO = 80   # --profile-lines prints every statement up to this many
PROFILE_TOP = 40         # else this many, the costliest first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="scalar_loop",
                        help=f"what to time: one of {', '.join(NAMES)}, a comma-separated "
                        "list, or all (default %(default)s)")
    parser.add_argument("--n", type=int, help=f"loop iterations (default {W.N}; 10 with --quick)")
    parser.add_argument("--a", type=float, default=W.A0, help="starting a (default %(default)s)")
    parser.add_argument("--y", type=float, default=W.Y0, help="y (default %(default)s)")
    parser.add_argument("--batch", type=int,
                        help=f"mlp: batch size (default {W.MLP_BATCH}; 16 with --quick)")
    parser.add_argument("--layers", help="mlp: inputs,hidden,classes (default "
                        f"{','.join(map(str, W.MLP_LAYERS))}; 20,8,4 with --quick)")
    parser.add_argument("--points", type=int,
                        help=f"mds: number of points N (default {W.MDS_POINTS}; 12 with --quick)")
    parser.add_argument("--dim", type=int, help=f"mds: dimension d (default {W.MDS_DIM})")
    parser.add_argument("--size", action="append", default=[], metavar="WORKLOAD.NAME=VALUE",
                        help="any workload's size, e.g. gmm.n=100, ba.observations=200, "
                        "lstm.steps=10 (repeatable; names as in the JSON's workload.sizes)")
    parser.add_argument("--repeat", type=int, help="timeit repeats per case (default 21; 3 quick)")
    parser.add_argument("--min-time", type=float,
                        help="seconds per repeat, at least (default 0.05; 0.002 quick)")
    parser.add_argument("--compile-repeat", type=int,
                        help="fresh s2sad compiles timed (default 11; 2 quick)")
    parser.add_argument("--peer-compile-repeat", type=int,
                        help="fresh jax jit compiles timed (default 3; 1 quick)")
    parser.add_argument("--quick", action="store_true", help="a tiny run to see that it works")
    parser.add_argument("--no-peers", action="store_true", help="skip autograd, torch and jax")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--show-source", action="store_true",
                        help="print the generated s2sad source that is timed")
    parser.add_argument("--profile-lines", action="store_true",
                        help="also time each statement of s2sad's gradient (not scalar_loop)")
    args = parser.parse_args(argv)
    names = NAMES if args.workload == "all" else tuple(args.workload.split(","))
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose from "
                     f"{', '.join(NAMES)} or all")
    overrides: dict[str, dict] = {
        "mlp": {"batch": args.batch, "layers": args.layers and tuple(
            int(size) for size in args.layers.split(","))},
        "mds": {"points": args.points, "dim": args.dim}}
    for text in args.size:
        try:
            workload, key, value = parse_size(text)
        except ValueError as exc:
            parser.error(str(exc))
        if workload not in W.WORKLOADS or key not in W.WORKLOADS[workload].sizes:
            parser.error(f"--size {text}: no size {key!r} in workload {workload!r}")
        overrides.setdefault(workload, {})[key] = value

    def pick(value, full, quick):
        return value if value is not None else (quick if args.quick else full)

    timing = {"repeat": pick(args.repeat, 21, 3), "min_time": pick(args.min_time, 0.05, 0.002),
              "compile_repeat": pick(args.compile_repeat, 11, 2),
              "peer_compile_repeat": pick(args.peer_compile_repeat, 3, 1),
              "peers": not args.no_peers}
    documents = {}
    for name in names:
        if name == "scalar_loop":
            results = run(n=pick(args.n, W.N, 10), a=args.a, y=args.y, **timing)
        else:
            work = W.WORKLOADS[name]
            sizes = dict(work.quick_sizes if args.quick else work.sizes)
            sizes.update({k: v for k, v in overrides.get(name, {}).items() if v is not None})
            results = run_workload(work, sizes, **timing)
        documents[name] = results
        if args.show_source:
            for kind, text in results["generated_source"].items():
                print(f"# generated s2sad {kind} source (what is timed)\n{text}")
        print(report(results))
        if args.profile_lines and name != "scalar_loop":
            from .lines import format_line_times, line_times

            choice = choose_s2sad(work, sizes)
            if choice.grad is not None:
                rows = line_times(choice.grad, choice.args_of(work.problem(**sizes)))
                top = PROFILE_TOP if len(rows) > PROFILE_ALL_UP_TO else None
                shown = (f"the {top} costliest of {len(rows)} statements" if top
                         else "per statement")
                print("\n" + format_line_times(
                    rows, f"s2sad grad of {choice.function.__name__}, {shown} (min over "
                    "repeats; runs: executions per call; indented: inside a loop or if):",
                    top=top))
        print()
    summary_ = targets(documents)
    if len(names) > 1:
        print(report_targets(summary_))
        print()
    if args.json:
        with open(args.json, "w") as out:
            document = (dict(documents[names[0]], issue_7_targets=summary_) if len(names) == 1
                        else {"runs": documents, "issue_7_targets": summary_})
            json.dump(document, out, indent=2)
            out.write("\n")
        print(f"wrote {args.json}")
    return 0
