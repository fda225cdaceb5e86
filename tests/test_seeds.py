"""The seed examples (notes and lecture): golden generated code and independent oracles."""

from __future__ import annotations

import math
import pathlib
import sys

import pytest

import s2sad

from .oracles import central_difference, close, fd_tolerance

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
import seeds  # noqa: E402  (examples/ is not a package)

GOLDEN = pathlib.Path(__file__).parent / "golden"


def check_golden(name: str, text: str, request: pytest.FixtureRequest) -> None:
    path = GOLDEN / name
    if request.config.getoption("--update-golden"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run pytest --update-golden and review"
    assert text == path.read_text(), f"generated code differs from {path}"


# The listing of DESIGN.md §2, written out by hand from the notes.
DESIGN_LISTING = """\
def grad_foo(x, y):
    a = x + 5
    b = a * y
    dbdb = 1.0
    dbda = y * dbdb
    dbdy = a * dbdb
    dbdx = dbda
    return dbdx, dbdy
"""


def test_grad_foo_golden(request):
    text = s2sad.source(s2sad.grad(seeds.foo, wrt=(0, 1)))
    check_golden("grad_foo.py", text, request)


def test_grad_foo_is_the_design_listing_give_or_take_comments():
    text = s2sad.source(s2sad.grad(seeds.foo, wrt=(0, 1)))
    code = "".join(line + "\n" for line in text.splitlines()
                   if line.strip() and not line.strip().startswith("#"))
    assert code == DESIGN_LISTING


def test_grad_foo_values():
    assert s2sad.grad(seeds.foo, wrt=(0, 1))(2.0, 3.0) == (3.0, 7.0)


def test_forward_mode_of_x_squared_plus_5_at_3_is_6(request):
    jvp_f = s2sad.jvp(seeds.f)
    assert jvp_f(3.0, 1.0) == (14.0, 6.0)  # the dual number [14, 6] of the notes
    check_golden("jvp_f.py", s2sad.source(jvp_f), request)


def test_dual_numbers_of_foo_as_in_the_notes():
    # foo(x, y) = (x + 5) * y with x = 3, y = 4: seeding x gives 4, seeding y gives 8.
    jvp_foo = s2sad.jvp(seeds.foo, wrt=(0, 1))
    assert jvp_foo(3.0, 4.0, 1.0, 0.0) == (32.0, 4.0)
    assert jvp_foo(3.0, 4.0, 0.0, 1.0) == (32.0, 8.0)


@pytest.mark.parametrize("w1, w2", [(2.0, 3.0), (1.5, 0.25), (7.0, 10.0)])
def test_lecture_L_both_modes_against_finite_differences(w1, w2):
    expected = [central_difference(seeds.L, (w1, w2), i) for i in range(2)]
    # closed form: dL/dw1 = (w2/w1)(1 + 1/(2 sqrt(w2 log w1))), dL/dw2 = log w1 (1 + ...)
    root = math.sqrt(w2 * math.log(w1))
    closed = [w2 / w1 * (1 + 1 / (2 * root)), math.log(w1) * (1 + 1 / (2 * root))]
    reverse = s2sad.grad(seeds.L, wrt=(0, 1))(w1, w2)
    value, forward_w1 = s2sad.jvp(seeds.L, wrt=0)(w1, w2, 1.0)
    _, forward_w2 = s2sad.jvp(seeds.L, wrt=1)(w1, w2, 1.0)
    assert value == seeds.L(w1, w2)
    for got, fd, exact in zip((*reverse,), expected, closed):
        assert close(got, fd, fd_tolerance(fd))
        assert close(got, exact, 1e-12)
    assert close(forward_w1, closed[0], 1e-12)
    assert close(forward_w2, closed[1], 1e-12)


def test_lecture_L_ir_golden(request):
    check_golden("L.ir", s2sad.ir(seeds.L), request)


def test_lecture_L_generated_code_golden(request):
    check_golden("grad_L.py", s2sad.source(s2sad.grad(seeds.L, wrt=(0, 1))), request)
    check_golden("jvp_L.py", s2sad.source(s2sad.jvp(seeds.L, wrt=0)), request)
