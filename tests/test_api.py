"""The public API (DESIGN §3): transforms, decorators, wrt, caching, source, linecache."""

from __future__ import annotations

import inspect
import math
import os
import subprocess
import sys
import traceback

import numpy as np
import pytest

import s2sad

from . import api_cases as cases
from .oracles import central_difference, close, fd_tolerance


def fd(f, args, i):
    return central_difference(f, args, i)


def test_grad_default_wrt_is_first_parameter():
    g = s2sad.grad(cases.poly)
    assert close(g(1.5), fd(cases.poly, (1.5,), 0), fd_tolerance(10))


def test_grad_decorator_without_and_with_arguments():
    @s2sad.grad
    def square(x):
        return x * x

    @s2sad.grad(wrt=(0, "y"))
    def product(x, y):
        return x * y

    assert square(3.0) == 6.0
    assert product(3.0, 4.0) == (4.0, 3.0)
    assert square.__name__ == "grad_square"


def test_wrt_by_position_name_and_negative_position():
    by_pos = s2sad.grad(cases.ignores_y, wrt=1)
    by_name = s2sad.grad(cases.ignores_y, wrt="y")
    last = s2sad.grad(cases.ignores_y, wrt=-1)
    for g in (by_pos, by_name, last):
        assert g(2.0, 5.0) == 0.0
    assert s2sad.grad(cases.ignores_y, wrt=(1, 0))(2.0, 5.0) == (0.0, 3.0)
    assert isinstance(s2sad.grad(cases.ignores_y, wrt=(0,))(2.0, 5.0), tuple)


def test_value_and_grad():
    value, grads = s2sad.value_and_grad(cases.reassigns, wrt=(0, 1))(2.0, 3.0)
    assert value == cases.reassigns(2.0, 3.0)
    for i, got in enumerate(grads):
        expected = fd(cases.reassigns, (2.0, 3.0), i)
        assert close(got, expected, fd_tolerance(expected))


def test_jvp_and_vjp_agree_dot_product():
    jvp = s2sad.jvp(cases.reassigns, wrt=(0, 1))
    vjp = s2sad.vjp(cases.reassigns, wrt=(0, 1))
    v = (0.3, -1.7)
    w = 0.9
    value, tangent = jvp(2.0, 3.0, *v)
    cotangent = vjp(2.0, 3.0, w)
    assert value == cases.reassigns(2.0, 3.0)
    assert close(tangent * w, sum(a * b for a, b in zip(v, cotangent)), 1e-12)


def test_defaults_and_keyword_only_parameters():
    g = s2sad.grad(cases.poly, wrt=(0, "y", "power"))
    dx, dy, dpower = g(1.5)  # y and power take their defaults
    assert close(dx, 3 * 1.5 ** 2 + 2.0, 1e-12)
    assert close(dy, 1.5, 1e-12)
    assert close(dpower, math.log(1.5) * 1.5 ** 3, 1e-12)
    dx, dy, dpower = g(1.5, 1.0, power=2.0)
    assert (dx, dy) == (4.0, 1.5)
    # jvp takes every positional primal, then the tangents; keyword-only ones stay keywords
    value, tangent = s2sad.jvp(cases.poly)(1.5, 2.0, 1.0, power=2.0)
    assert (value, tangent) == (cases.poly(1.5, power=2.0), 5.0)
    assert "def jvp_poly(x, y, dxdx, *, power=3.0):" in s2sad.source(s2sad.jvp(cases.poly))


def test_globals_aliases_and_closures_resolve():
    g = s2sad.grad(cases.uses_globals)
    assert close(g(0.4), cases.SCALE * math.cos(0.4), 1e-12)
    inner = cases.make_closure(3.0)
    assert s2sad.grad(inner)(2.0) == 12.0


def test_numpy_and_integer_scalars_are_inputs():
    g = s2sad.grad(cases.reassigns, wrt=(0, 1))
    expected = g(2.0, 3.0)
    assert g(2, 3) == expected
    assert g(np.float64(2.0), np.float64(3.0)) == expected
    f32 = g(np.float32(2.0), np.float32(3.0))
    assert all(close(float(a), b, 1e-6) for a, b in zip(f32, expected))


def test_gradient_of_an_input_the_output_ignores_is_zero_shaped_like_it():
    g = s2sad.grad(cases.ignores_y, wrt=1)
    assert g(2.0, 5.0) == 0.0
    assert g(2.0, np.float32(5.0)).dtype == np.float32


def test_non_differentiable_parameter_cannot_be_in_wrt_but_is_an_input():
    assert s2sad.grad(cases.counted)(2.0, 4) == 4
    with pytest.raises(s2sad.CompileError, match="annotated `int`"):
        s2sad.grad(cases.counted, wrt="n")


def test_compiled_functions_are_cached_per_function_and_options():
    assert s2sad.grad(cases.poly) is s2sad.grad(cases.poly)
    assert s2sad.grad(cases.poly, wrt=0) is s2sad.grad(cases.poly)
    assert s2sad.grad(cases.poly, wrt=1) is not s2sad.grad(cases.poly)
    assert s2sad.grad(cases.poly, wrt=[0, 1]) is s2sad.grad(cases.poly, wrt=(0, 1))
    assert s2sad.jvp(cases.poly) is not s2sad.grad(cases.poly)


def test_source_and_inspect_show_the_generated_code():
    g = s2sad.grad(cases.poly)
    text = s2sad.source(g)
    assert text.startswith("def grad_poly(x, y=2.0, *, power=3.0):")
    assert inspect.getsource(g) == text
    with pytest.raises(ValueError):
        s2sad.source(cases.poly)


def test_tracebacks_show_generated_lines():
    g = s2sad.grad(cases.raises_at_runtime)
    with pytest.raises(ValueError) as info:
        g(-1.0)
    frames = traceback.extract_tb(info.tb)
    generated = frames[-1]
    assert generated.name == "grad_raises_at_runtime"
    assert generated.line == "raises_at_runtime = math.log(x)"


def test_ir_text():
    assert s2sad.ir(cases.reassigns) == (
        "def reassigns(x, y):\n"
        "    x.1 = mul x 2\n"
        "    x.2 = mul x.1 y\n"
        "    a = copy x.2\n"
        "    b = copy y\n"
        "    %1 = mul a b\n"
        "    reassigns = add %1 x.2\n"
        "    return reassigns\n")


def test_reassignment_reads_like_the_user_code():
    text = s2sad.source(s2sad.value_and_grad(cases.reassigns, wrt=(0, 1)))
    assert "    x = x * 2\n" in text  # the first version takes the name back
    assert "    x_1 = x * y\n" in text  # still needed by the adjoint: a versioned name


_DETERMINISM_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import s2sad
from tests import api_cases as c
print(s2sad.source(s2sad.grad(c.reassigns, wrt=(0, 1))))
print(s2sad.source(s2sad.jvp(c.poly, wrt=(0, 1, 'power'))))
print(s2sad.source(s2sad.vjp(c.uses_globals)))
"""


def test_generated_source_is_byte_identical_across_runs_and_hash_seeds():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run([sys.executable, "-c", _DETERMINISM_SCRIPT.format(root=root)],
                                capture_output=True, text=True, env=env, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_functions_without_source_are_refused_at_the_call_site():
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(cases.not_python)
    assert info.value.filename == __file__
    assert "s2sad.grad(cases.not_python)" in str(info.value)


def test_numpy_alias_constants_resolve():
    g = s2sad.grad(cases.numpy_constants)
    assert g(1.0) == np.pi
    assert "np.pi * x" in s2sad.source(g)


def test_the_garbage_collector_is_paused_only_while_compiling(monkeypatch):
    """The cyclic collector is off while a derivative is derived, and left as it was
    found afterwards, after a compile that fails too."""
    import gc

    from s2sad import transforms

    def bad(x):
        return x.undefined_method_s2sad_knows_nothing_of()

    seen = []
    derive = transforms.derive

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return derive(*args, **kwargs)

    monkeypatch.setattr(transforms, "derive", spy)
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            g = s2sad.grad(_fresh_square(), wrt=0)
            assert gc.isenabled() is enabled and g(3.0) == 6.0
            with pytest.raises(s2sad.CompileError):
                s2sad.grad(bad)
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False, False]  # bad fails before it is derived


def _fresh_square():
    def square(x):
        return x * x
    return square
