"""The compile cache under threads: 8 threads create and call derivatives of the same and
of different functions at once (transforms called directly and as decorators at import),
and every result is checked against a closed form.

What the cache promises (``s2sad/api.py``): one derivative per (function, kind, ``wrt``),
the same function object to every caller, compiled once; generated functions keep their
state (tapes) in locals, so one derivative can run in several threads at once.
"""

from __future__ import annotations

import importlib.util
import math
import random
import sys
import textwrap
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import s2sad
from s2sad import transforms

N_THREADS = 8
N_FUNCTIONS = 12


def _import(tmp_path, source: str):
    name = f"s2sad_threads_{uuid.uuid4().hex}"
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def _scalar_source(k: int) -> str:
    """f_k(x, y) = trips * sin((k + 1) x) y + k x^2, through a loop (a tape) and a call."""
    return textwrap.dedent(f"""
        def helper_{k}(t, y):
            return math.sin({k + 1}.0 * t) * y


        def f_{k}(x, y):
            s = 0.0
            for i in range({k % 3 + 1}):
                s = s + helper_{k}(x, y)
            if s > 100.0:
                s = s * 0.5
            return s + x * x * {k}.0
        """)


def _array_source(k: int) -> str:
    """g_k(W, v) = (k + 1) sum(tanh(W v))."""
    return textwrap.dedent(f"""
        def g_{k}(W, v):
            h = np.tanh(W @ v)
            return np.sum(h) * {k + 1}.0
        """)


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    source = "import math\n\nimport numpy as np\n\n" + "\n".join(
        _scalar_source(k) + _array_source(k) for k in range(N_FUNCTIONS))
    return _import(tmp_path_factory.mktemp("threads"), source)


def _expected_scalar(k: int, x: float, y: float) -> tuple[float, float, float]:
    trips = k % 3 + 1
    value = trips * math.sin((k + 1) * x) * y + k * x * x
    return (value, trips * (k + 1) * math.cos((k + 1) * x) * y + 2 * k * x,
            trips * math.sin((k + 1) * x))


def _expected_array(k: int, W, v):
    h = np.tanh(W @ v)
    d = (k + 1) * (1 - h * h)
    return float(np.sum(h) * (k + 1)), np.outer(d, v), W.T @ d


# (kind, wrt): the tasks each thread runs for each function
TASKS = [("grad", (0, 1)), ("grad", 0), ("value_and_grad", ("x", "y")), ("jvp", (0, 1)),
         ("vjp", 1), ("hvp", 0)]


def _run_scalar_task(module, k: int, kind: str, wrt, rng: random.Random):
    f = getattr(module, f"f_{k}")
    x, y = rng.uniform(-1, 1), rng.uniform(-1, 1)
    value, dx, dy = _expected_scalar(k, x, y)
    derivative = getattr(s2sad, kind)(f, wrt=wrt)
    if kind == "grad" and wrt == 0:
        got, want = (derivative(x, y),), (dx,)
    elif kind == "grad":
        got, want = derivative(x, y), (dx, dy)
    elif kind == "value_and_grad":
        v, g = derivative(x, y)
        got, want = (v, *g), (value, dx, dy)
    elif kind == "jvp":
        got, want = derivative(x, y, 1.0, -2.0), (value, dx - 2.0 * dy)
    elif kind == "vjp":
        got, want = (derivative(x, y, 3.0),), (3.0 * dy,)
    else:  # hvp: d2f/dx2 * v
        trips = k % 3 + 1
        d2 = -trips * (k + 1) ** 2 * math.sin((k + 1) * x) * y + 2 * k
        got, want = (derivative(x, y, 0.5),), (0.5 * d2,)
    for a, b in zip(got, want):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (k, kind, wrt, got, want)
    return derivative


def _run_array_task(module, k: int, rng: random.Random):
    g = getattr(module, f"g_{k}")
    W = np.array([[rng.uniform(-1, 1) for _ in range(3)] for _ in range(2)])
    v = np.array([rng.uniform(-1, 1) for _ in range(3)])
    value, dW, dv = _expected_array(k, W, v)
    derivative = s2sad.value_and_grad(g, wrt=(0, 1))
    got_value, (got_W, got_v) = derivative(W, v)
    assert math.isclose(got_value, value, rel_tol=1e-12)
    np.testing.assert_allclose(got_W, dW, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got_v, dv, rtol=1e-12, atol=1e-14)
    return derivative


@pytest.fixture
def derive_calls(monkeypatch):
    """How many times each (function, kind, wrt) went through the compiler."""
    calls: Counter = Counter()
    lock = threading.Lock()
    derive = transforms.derive

    def counting(lowered, kind, wrt=0, *args, **kwargs):
        with lock:
            calls[(lowered.fn.name, kind, wrt)] += 1
        return derive(lowered, kind, wrt, *args, **kwargs)

    monkeypatch.setattr(transforms, "derive", counting)
    return calls


def _clear_cache(module) -> None:
    """Forget what earlier tests compiled for these functions."""
    from s2sad import api
    with api._lock:
        for k in range(N_FUNCTIONS):
            api._cache.pop(getattr(module, f"f_{k}"), None)
            api._cache.pop(getattr(module, f"g_{k}"), None)


def _hammer(module, thread: int, barrier: threading.Barrier) -> dict:
    """One thread's work: every task on every function, in a shuffled order, twice."""
    rng = random.Random(thread)
    work = [(k, kind, wrt) for k in range(N_FUNCTIONS) for kind, wrt in TASKS]
    work += [(k, "array", None) for k in range(N_FUNCTIONS)]
    work = work * 2
    rng.shuffle(work)
    seen = {}
    barrier.wait()
    for k, kind, wrt in work:
        if kind == "array":
            derivative = _run_array_task(module, k, rng)
        else:
            derivative = _run_scalar_task(module, k, kind, wrt, rng)
        previous = seen.setdefault((k, kind, wrt), derivative)
        assert previous is derivative, "the cache gave one thread two functions"
    return seen


def test_threads_get_right_results_and_one_function_per_key(module):
    """8 threads, each running every (function, kind, wrt) twice in its own order: every
    result is right, and every thread gets the same function object for a key."""
    _clear_cache(module)
    barrier = threading.Barrier(N_THREADS)
    with ThreadPoolExecutor(N_THREADS) as pool:
        results = list(pool.map(lambda t: _hammer(module, t, barrier), range(N_THREADS)))
    for key in results[0]:
        assert len({id(r[key]) for r in results}) == 1, key


def test_each_derivative_is_compiled_once(module, derive_calls, monkeypatch):
    """8 threads ask for the same derivative at the same moment (compiling it is made to
    take 50 ms, so that they all ask while it compiles): one compilation."""
    _clear_cache(module)
    import time
    counting = transforms.derive

    def slow(*args, **kwargs):
        time.sleep(0.05)
        return counting(*args, **kwargs)

    monkeypatch.setattr(transforms, "derive", slow)
    barrier = threading.Barrier(N_THREADS)

    def ask(thread: int):
        barrier.wait()
        return s2sad.grad(module.f_0, wrt=(0, 1))

    with ThreadPoolExecutor(N_THREADS) as pool:
        made = list(pool.map(ask, range(N_THREADS)))
    assert len({id(m) for m in made}) == 1
    assert derive_calls == {("f_0", "grad", (0, 1)): 1}, derive_calls


def test_threads_compile_every_key(module, derive_calls):
    """Under the 8-thread load, every (function, kind, wrt) is compiled at least once, and
    nothing else is."""
    _clear_cache(module)
    barrier = threading.Barrier(N_THREADS)
    with ThreadPoolExecutor(N_THREADS) as pool:
        list(pool.map(lambda t: _hammer(module, t, barrier), range(N_THREADS)))
    keys = {(f"f_{k}", kind, wrt) for k in range(N_FUNCTIONS) for kind, wrt in TASKS}
    keys |= {(f"g_{k}", "value_and_grad", (0, 1)) for k in range(N_FUNCTIONS)}
    assert set(derive_calls) == keys


def test_sequential_use_compiles_once(module, derive_calls):
    """Without threads the cache compiles each (function, kind, wrt) once."""
    _clear_cache(module)
    _hammer(module, 0, threading.Barrier(1))
    assert derive_calls and set(derive_calls.values()) == {1}


def test_one_derivative_runs_in_many_threads_at_once(module):
    """A derivative with a tape, called from 8 threads at once, 200 times each."""
    f = module.f_5
    grad_f = s2sad.grad(f, wrt=(0, 1))
    barrier = threading.Barrier(N_THREADS)

    def calls(thread: int) -> None:
        rng = random.Random(100 + thread)
        barrier.wait()
        for _ in range(200):
            x, y = rng.uniform(-1, 1), rng.uniform(-1, 1)
            _, dx, dy = _expected_scalar(5, x, y)
            gx, gy = grad_f(x, y)
            assert math.isclose(gx, dx, rel_tol=1e-12, abs_tol=1e-12)
            assert math.isclose(gy, dy, rel_tol=1e-12, abs_tol=1e-12)

    with ThreadPoolExecutor(N_THREADS) as pool:
        list(pool.map(calls, range(N_THREADS)))


def test_decorators_at_import_in_many_threads(tmp_path):
    """Each thread imports modules whose functions are decorated with ``@s2sad.grad`` and
    ``@s2sad.jvp(wrt=...)`` (compiled at import), some with the same source in
    different modules, and checks what the decorators made; ``s2sad.source`` of each is
    the same text for the same source."""
    sources = [textwrap.dedent(f"""
        import math

        import s2sad


        @s2sad.grad(wrt=(0, 1))
        def f(x, y):
            a = x * {k}.0 + math.sin(y)
            for i in range(2):
                a = a * x
            return a


        @s2sad.jvp(wrt=1)
        def g(x, y):
            return math.exp(x * y) * {k}.0
        """) for k in range(4)]
    barrier = threading.Barrier(N_THREADS)

    def work(thread: int) -> list[str]:
        barrier.wait()
        texts = []
        for k in (thread % 4, (thread + 1) % 4):
            m = _import(tmp_path, sources[k])
            x, y = 0.3 + thread / 10, 0.7
            gx, gy = m.f(x, y)
            assert math.isclose(gx, 3 * x * x * k + 2 * x * math.sin(y), rel_tol=1e-12)
            assert math.isclose(gy, x * x * math.cos(y), rel_tol=1e-12)
            value, tangent = m.g(x, y, 1.0)
            assert math.isclose(tangent, x * math.exp(x * y) * k, rel_tol=1e-12)
            texts.append((k, s2sad.source(m.f).split("\n", 1)[1]))
        return texts

    with ThreadPoolExecutor(N_THREADS) as pool:
        results = [t for r in pool.map(work, range(N_THREADS)) for t in r]
    by_source: dict[int, set[str]] = {}
    for k, text in results:
        by_source.setdefault(k, set()).add(text)
    assert all(len(texts) == 1 for texts in by_source.values()), by_source
