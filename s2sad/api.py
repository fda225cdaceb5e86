"""The public API: transforms that take a Python function and return a compiled one.

Each transform parses the function once, builds the derivative's IR, emits source and
compiles it; the result is a plain Python function, cached per (function, options)::

    @s2sad.grad(wrt=(0, 1))
    def foo(x, y): ...          # foo is now grad_foo; s2sad.source(foo) shows its code
"""

from __future__ import annotations

import functools
import gc
import linecache
import os
import sys
import threading
import weakref
from collections.abc import Callable

from . import emit, errors, frontend, transforms
from .ir import format_function

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.RLock()
_sources: dict[str, str] = {}  # generated filename -> source, for `source`
_compiling: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # f -> key -> _Compiling


def _derived(f: Callable, kind: str, wrt: object, mode: str = "auto",
             checkpoint: object = None) -> Callable:
    """The cached derivative of ``f``, compiled once per (kind, wrt, mode, checkpoint).

    Threads that miss the cache at once wait for the first one's compilation (a per-key
    ``_Compiling``; no lock is held while compiling, so compiles of other keys proceed).
    A thread that asks again for a key it is compiling itself (a compilation reentering
    the API) compiles it again rather than wait for itself."""
    try:
        key = (kind, tuple(wrt) if isinstance(wrt, list) else wrt, mode,
               tuple(sorted(checkpoint.items())) if isinstance(checkpoint, dict)
               else checkpoint)
        hash(key)
    except TypeError:  # options no derivative is cached for: derive says what is wrong
        return _compile(f, kind, wrt, mode, None, checkpoint)
    while True:
        with _lock:
            per_function = _cache.get(f)
            if per_function is not None and key in per_function:
                return per_function[key]
            compiling = _compiling.setdefault(f, {})
            pending = compiling.get(key)
            mine = pending is None
            if mine:
                pending = compiling[key] = _Compiling(threading.get_ident())
        if mine:
            try:
                return _compile(f, kind, wrt, mode, key, checkpoint)
            finally:
                with _lock:
                    compiling = _compiling.get(f, {})
                    if compiling.get(key) is pending:
                        del compiling[key]
                pending.done.set()
        if pending.owner == threading.get_ident():  # reentrant: do not wait for ourselves
            return _compile(f, kind, wrt, mode, key, checkpoint)
        pending.done.wait()  # then look again: cached, or failed (each caller sees why)


class _Compiling:
    """A derivative being compiled by thread ``owner``; ``done`` is set when it ends."""

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.done = threading.Event()


class _CollectorPaused:
    """Python's cyclic garbage collector paused while any thread compiles: a compile makes
    many small objects and almost no cycles, and in a process with a large heap (NumPy
    with PyTorch and JAX imported holds about 240,000 tracked objects) the collections
    they trigger cost up to a third of the compile. It runs again when the last compile
    ends, if it was running when the first began."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.was_enabled = False

    def __enter__(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.depth += 1

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.was_enabled:
                gc.enable()


_collector_paused = _CollectorPaused()


def _compile(f: Callable, kind: str, wrt: object, mode: str, key: tuple | None,
             checkpoint: object = None) -> Callable:
    with _collector_paused:
        try:
            lowered = frontend.lower(frontend.from_function(f))
            derivative = transforms.derive(lowered, kind, wrt, mode=mode,
                                           checkpoint=checkpoint)
        except errors.CompileError as exc:
            if not exc.lineno:  # nothing in f to point at: point at the caller's line
                _locate_at_caller(exc)
            raise
        compiled = emit.compile_generated(derivative.generated)
    with _lock:
        _sources[compiled.__code__.co_filename] = derivative.generated.source
        if key is None:
            return compiled
        _cache.setdefault(f, {})
        return _cache[f].setdefault(key, compiled)


def _locate_at_caller(exc: errors.CompileError) -> None:
    frame = sys._getframe(1)
    package = os.path.dirname(os.path.abspath(__file__))
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
    if frame is None:
        return
    exc.filename, exc.lineno = frame.f_code.co_filename, frame.f_lineno
    exc.source_line = linecache.getline(exc.filename, exc.lineno).strip()
    exc.col_offset = 0


def _transform(kind: str, doc: str) -> Callable:
    def transform(f: Callable | None = None, wrt: object = 0) -> Callable:
        if f is None:  # used as @transform(wrt=...)
            return functools.partial(transform, wrt=wrt)
        if not callable(f):
            raise TypeError(f"{kind} takes a function, got {f!r}")
        return _derived(f, kind, wrt)

    transform.__name__ = transform.__qualname__ = kind
    transform.__doc__ = doc
    return transform


def _reverse_transform(kind: str, doc: str) -> Callable:
    """A reverse-mode transform: it also takes ``checkpoint``, the loops to recompute."""
    def transform(f: Callable | None = None, wrt: object = 0,
                  checkpoint: object = None) -> Callable:
        if f is None:  # used as @transform(wrt=..., checkpoint=...)
            return functools.partial(transform, wrt=wrt, checkpoint=checkpoint)
        if not callable(f):
            raise TypeError(f"{kind} takes a function, got {f!r}")
        return _derived(f, kind, wrt, checkpoint=checkpoint)

    transform.__name__ = transform.__qualname__ = kind
    transform.__doc__ = doc
    return transform


_CHECKPOINT_DOC = """
    ``checkpoint`` bounds the memory of loops: a checkpointed loop stores no tape, and its
    adjoint runs the iterations again from a few stored states (binomial checkpointing,
    Griewank's revolve). ``None`` (the default): the loops marked ``# s2sad: checkpoint``
    or ``# s2sad: checkpoint(states=N)``; ``True`` or a number of states: every outermost
    loop too; ``{line: True or states}``: the loops starting on those lines; ``False``:
    none."""

grad = _reverse_transform("grad", """The gradient of a scalar-valued function.

    ``grad(f, wrt=0)`` returns ``grad_f(*args)``: one gradient for an int or str ``wrt``,
    a tuple of them for a tuple ``wrt``. Works as ``@grad`` and ``@grad(wrt=...)``.
    """ + _CHECKPOINT_DOC)
value_and_grad = _reverse_transform("value_and_grad", """``(f(*args), gradient)`` in one
    pass.""" + _CHECKPOINT_DOC)
jvp = _transform("jvp", """Forward mode: ``jvp_f(*args, *tangents) -> (value, tangent)``,
    one tangent per ``wrt`` entry, in order.""")
vjp = _reverse_transform("vjp", """Reverse mode: ``vjp_f(*args, cotangent) -> gradient(s)``,
    the cotangent shaped like the output.""" + _CHECKPOINT_DOC)


hvp = _transform("hvp", """Hessian-vector products: ``hvp_f(*args, v) -> H @ v`` for a scalar
    ``f``, forward mode over reverse mode, never forming H. ``v`` is shaped like the
    ``wrt`` input (one vector per entry of a tuple ``wrt``, and a tuple of products).""")
hessian = _transform("hessian", """The Hessian of a scalar ``f``, shape ``x.shape + x.shape``;
    for a tuple ``wrt``, the blocks ``((H_xx, H_xy), (H_yx, H_yy))``. One
    Hessian-vector product per entry of the inputs.""")


def jacobian(f: Callable | None = None, wrt: object = 0, mode: str = "auto") -> Callable:
    """The Jacobian of ``f``, shape ``out.shape + in.shape`` (a tuple for a tuple ``wrt``).

    ``mode="forward"`` builds it by columns (one jvp per input entry), ``"reverse"`` by
    rows (one vjp per output entry), ``"auto"`` by whichever is fewer for the sizes of
    the call. Works as ``@jacobian`` and ``@jacobian(wrt=..., mode=...)``.
    """
    if f is None:
        return functools.partial(jacobian, wrt=wrt, mode=mode)
    if not callable(f):
        raise TypeError(f"jacobian takes a function, got {f!r}")
    if mode not in transforms.MODES:
        raise ValueError(f"mode must be one of {transforms.MODES}, got {mode!r}")
    return _derived(f, "jacobian", wrt, mode)


def custom_derivative(f: Callable | None = None, *, tangent: Callable | None = None,
                      adjoint: Callable | None = None) -> Callable:
    """Give the derivative of your own function, in plain Python, instead of letting s2sad
    differentiate its body (for numerical stability, or for an implicit function).

    ``tangent(*args, *tangents) -> tangent of the result`` takes one tangent per argument;
    ``adjoint(*args, cotangent) -> one contribution per argument`` (a tuple when there are
    several). Give either or both: a mode without a rule differentiates the body. The
    rules are in the subset, so derivatives of derivatives differentiate them in turn.
    The function itself is returned unchanged::

        def softplus_adjoint(x, g):
            return g / (1.0 + math.exp(-x))

        @s2sad.custom_derivative(adjoint=softplus_adjoint)
        def softplus(x): ...
    """
    if f is None:
        return functools.partial(custom_derivative, tangent=tangent, adjoint=adjoint)
    if tangent is None and adjoint is None:
        raise TypeError("custom_derivative needs a tangent rule, an adjoint rule or both")
    f.__s2sad_rules__ = {"tangent": tangent, "adjoint": adjoint}  # type: ignore[attr-defined]
    with _lock:  # derivatives made before the rules came would not use them
        _cache.pop(f, None)
    return f


def source(fn: Callable) -> str:
    """The generated source of a function returned by a transform."""
    code = getattr(fn, "__code__", None)
    text = _sources.get(code.co_filename) if code is not None else None
    if text is None:
        raise ValueError(f"{fn!r} was not generated by s2sad")
    if code.co_filename not in linecache.cache:  # someone cleared linecache: restore it
        lines = text.splitlines(keepends=True)
        linecache.cache[code.co_filename] = (len(text), None, lines, code.co_filename)
    return text


def ir(f: Callable) -> str:
    """The textual Wengert list of ``f``."""
    return format_function(frontend.lower(frontend.from_function(f)).fn)


CompileError = errors.CompileError
