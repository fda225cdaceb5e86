"""The IR's text form and verifier (STYLE points 5, 6, 16).

The printer and parser are each other's inverse: ``parse_function(format_function(f)) == f``
for hand-built functions that use every statement kind, every literal kind, globals,
keyword-only parameters and nested outputs, for the IR the frontend lowers real functions
to, and for random straight-line programs. The verifier accepts all of those and rejects
each kind of broken SSA with a message that shows the offending line.
"""

from __future__ import annotations

import dataclasses
import math
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s2sad import frontend
from s2sad.ir import (
    Comment,
    Const,
    For,
    Function,
    Global,
    If,
    IRError,
    Loc,
    Op,
    Param,
    Region,
    Var,
    While,
    format_function,
    parse_function,
    verify,
)
from s2sad.passes import cleanup, forward, reverse
from s2sad.primitives import Prim

# ---------------------------------------------------------------------------------------
# Building IR by hand


def val(a: object) -> Var | Const | Global:
    """``"a"`` is a Var, ``"@math.pi"`` a Global, anything else a Const (wrap strings in C)."""
    if isinstance(a, (Var, Const, Global)):
        return a
    if isinstance(a, str):
        return Global(a[1:]) if a.startswith("@") else Var(a)
    return Const(a)


def C(value: object) -> Const:
    return Const(value)


def op(results: str, prim: str, *args: object, params: tuple = (), loc: Loc | None = None
       ) -> Op:
    names = tuple(Var(r.strip()) for r in results.split(",") if r.strip())
    return Op(names, Prim(prim), tuple(map(val, args)),
              tuple((k, Const(v)) for k, v in params), loc)


def region(params: str, body: tuple, *yields: object) -> Region:
    return Region(tuple(Var(p.strip()) for p in params.split(",") if p.strip()), body,
                  tuple(map(val, yields)))


def fn(name: str, params: tuple, body: tuple, out: object, keep: str = "") -> Function:
    def param(p: object) -> Param:
        return p if isinstance(p, Param) else Param(Var(p))

    def out_of(o: object) -> object:
        return tuple(map(out_of, o)) if isinstance(o, tuple) else val(o)

    return Function(name, tuple(map(param, params)), tuple(body), out_of(out),
                    tuple(Var(k.strip()) for k in keep.split(",") if k.strip()))


def without_locs(x: object) -> object:
    """``x`` with every ``loc`` field cleared, to compare all other fields strictly."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return type(x)(**{f.name: None if f.name == "loc" else without_locs(getattr(x, f.name))
                          for f in dataclasses.fields(x)})
    if isinstance(x, tuple):
        return tuple(map(without_locs, x))
    return x


def assert_round_trip(f: Function) -> str:
    """Print, parse, compare; returns the text.

    ``==`` on ``Const`` lets ``1 == 1.0 == True``, so the reprs (locations aside) are
    compared too, and the text must be a fixed point of parse-then-print.
    """
    text = format_function(f)
    back = parse_function(text)
    assert back == f, f"round trip changed the function:\n{text}\n{format_function(back)}"
    assert repr(without_locs(back)) == repr(without_locs(f)), text
    assert format_function(back) == text
    return text


# ---------------------------------------------------------------------------------------
# One function with every statement kind


EVERY_TEXT = """\
def every(x, y=2.0, *n=3, *scale=@SCALE):
    a = add x 5
    a.1 = mul a y
    %1 = neg a.1
    b = math.atan2 %1 @math.pi
    # a plain note
    # adjoint of: b = math.atan2 %1 @math.pi
    p = lt x y
    c = if p:
        t = mul x 2.0
        yield t
    else:
        u = neg x
        yield u
    acc.2, s.1 = for i in range(0, n, 1) carry(acc.1=x, s=0.0):
        q = gt acc.1 0.0
        w = if q:
            yield acc.1
        else:
            r = neg acc.1
            yield r
        acc.3 = add w i
        s.2 = add s w
        yield acc.3, s.2
    r.1 = while carry(a.2=acc.2):
        k = lt a.2 100.0
        yield k
    do(a.3):
        a.4 = mul a.3 scale
        yield a.4
    out = add r.1 c
    keep b, s.1
    return (out, (c, @N))
"""


def every_fn(locs: bool = False) -> Function:
    def at(line: int) -> Loc | None:
        return Loc("model.py", line, 4) if locs else None

    inner_if = If(
        (Var("w"),), Var("q"),
        region("", (), "acc.1"),
        region("", (op("r", "neg", "acc.1", loc=at(20)),), "r"), at(19))
    loop = For(
        (Var("acc.2"), Var("s.1")), C(0), Var("n"), C(1), (Var("x"), C(0.0)),
        region("i, acc.1, s", (
            op("q", "gt", "acc.1", 0.0, loc=at(18)),
            inner_if,
            op("acc.3", "add", "w", "i", loc=at(21)),
            op("s.2", "add", "s", "w", loc=at(22)),
        ), "acc.3", "s.2"), at(17))
    atan2 = op("b", "math.atan2", "%1", "@math.pi", loc=at(14))
    body = (
        op("a", "add", "x", 5, loc=at(11)),
        op("a.1", "mul", "a", "y", loc=at(12)),
        op("%1", "neg", "a.1", loc=at(13)),
        atan2,
        Comment("a plain note"),
        Comment("adjoint of", dataclasses.replace(atan2, loc=None)),
        op("p", "lt", "x", "y", loc=at(15)),
        If((Var("c"),), Var("p"),
           region("", (op("t", "mul", "x", 2.0, loc=at(16)),), "t"),
           region("", (op("u", "neg", "x"),), "u"), at(15)),
        loop,
        While((Var("r.1"),), (Var("acc.2"),),
              region("a.2", (op("k", "lt", "a.2", 100.0, loc=at(23)),), "k"),
              region("a.3", (op("a.4", "mul", "a.3", "scale", loc=at(24)),), "a.4"),
              at(23)),
        op("out", "add", "r.1", "c", loc=at(25)),
    )
    params = ("x", Param(Var("y"), C(2.0)), Param(Var("n"), C(3), kwonly=True),
              Param(Var("scale"), Global("SCALE"), kwonly=True))
    return fn("every", params, body, ("out", ("c", "@N")), keep="b, s.1")


def test_every_statement_kind_prints_as_written() -> None:
    assert format_function(every_fn()) == EVERY_TEXT


def test_every_statement_kind_parses_as_built() -> None:
    assert parse_function(EVERY_TEXT) == every_fn()
    assert repr(parse_function(EVERY_TEXT)) == repr(every_fn())


def test_every_statement_kind_round_trips_and_verifies() -> None:
    assert_round_trip(every_fn())
    verify(every_fn())
    verify(parse_function(EVERY_TEXT))


def test_printing_is_deterministic() -> None:
    assert format_function(every_fn()) == format_function(every_fn())
    assert format_function(every_fn(), locs=True) == format_function(every_fn(), locs=True)


def test_text_with_locations_parses_back_to_an_equal_function() -> None:
    f = every_fn(locs=True)
    text = format_function(f, locs=True)
    assert "a = add x 5  # model.py:11:4" in text.splitlines()[1]
    assert "acc.2, s.1 = for i in range(0, n, 1) carry(acc.1=x, s=0.0):  # model.py:17:4" \
        in text
    back = parse_function(text)
    assert back == f
    # locations are not part of ==, so compare them on their own (the source line is not
    # printed, so only file, line and column can come back)
    assert _locs(back) == _locs(f)
    assert format_function(back, locs=True) == text
    assert format_function(back) == EVERY_TEXT


def _locs(f: Function) -> list[tuple[str, int, int] | None]:
    found: list[tuple[str, int, int] | None] = []

    def visit(body: tuple) -> None:
        for stmt in body:
            if isinstance(stmt, Comment):
                continue
            loc = stmt.loc
            found.append(None if loc is None else (loc.filename, loc.lineno, loc.col))
            for name in ("then", "orelse", "body", "cond"):
                sub = getattr(stmt, name, None)
                if isinstance(sub, Region):
                    visit(sub.body)

    visit(f.body)
    return found


# ---------------------------------------------------------------------------------------
# Ops of every shape, literals of every kind


def test_ops_with_zero_to_three_operands_and_params_round_trip() -> None:
    # the printer and parser do not check arity (the verifier does)
    body = (
        op("a", "zeros_like"),
        op("b", "neg", "x"),
        op("c", "add", "x", "b"),
        op("d", "add", "x", "b", "c"),
        op("e", "copy", "x", params=(("axis", 0),)),
        op("g", "add", "x", 1.5, params=(("mode", "fast and loose"), ("shape", (2, 3)),
                                          ("flag", False), ("none", None), ("f", -0.5))),
        op("h, k", "add", "x", "@math.e"),
    )
    text = assert_round_trip(fn("shapes", ("x",), body, "d"))
    assert "    g = add x 1.5 mode='fast and loose' shape=(2, 3) flag=False none=None " \
           "f=-0.5\n" in text
    assert "    a = zeros_like\n" in text
    assert "    h, k = add x @math.e\n" in text


LITERALS = [
    0, 1, -1, 10**30, -(10**30),
    0.0, -0.0, 2.5, -2.5, 0.1, 1 / 3, 1e-300, -1e-300, 5e-324, 1.7976931348623157e308,
    True, False, None,
    "", "text", "a b", "it's", 'say "hi"', "a=b", "a, b", "50%", "@x", "(", "tab\there",
    "line\nbreak", "ünïcode",
    (), (1,), (1, 2.5), ((1, 2), ("a", None)), (True, -0.5, "x y"),
]


@pytest.mark.parametrize("value", LITERALS, ids=repr)
def test_literal_as_operand_round_trips(value: object) -> None:
    assert_round_trip(fn("f", ("x",), (op("a", "add", "x", C(value)),), "a"))


@pytest.mark.parametrize("value", LITERALS, ids=repr)
def test_literal_as_op_param_round_trips(value: object) -> None:
    assert_round_trip(fn("f", ("x",), (op("a", "copy", "x", params=(("k", value),)),), "a"))


@pytest.mark.parametrize("value", LITERALS, ids=repr)
def test_literal_as_default_round_trips(value: object) -> None:
    params = ("x", Param(Var("y"), C(value)), Param(Var("z"), C(value), kwonly=True))
    assert_round_trip(fn("f", params, (), "x"))


@pytest.mark.parametrize("value", [v for v in LITERALS if not isinstance(v, tuple)], ids=repr)
def test_literal_as_output_round_trips(value: object) -> None:
    assert_round_trip(fn("f", ("x",), (), (C(value), "x")))
    assert_round_trip(fn("f", ("x",), (), C(value)))


def test_string_with_both_quote_kinds_and_a_space_round_trips() -> None:
    # repr escapes the single quote (\'), and the operand splitter ends the string there
    assert_round_trip(fn("f", ("x",), (op("a", "add", "x", C("it's \"x\" y")),), "a"))


def test_tuple_literal_as_output_round_trips() -> None:
    # ``return (1, 2)`` could be the tuple constant or a tuple of two constant outputs
    assert_round_trip(fn("f", ("x",), (), C((1, 2))))


@pytest.mark.parametrize("value", [math.inf, -math.inf], ids=repr)
def test_infinite_float_round_trips(value: float) -> None:
    # 1e309 is a Python literal (the frontend lowers it to Const(inf)); repr gives ``inf``,
    # which parses back as a variable named inf
    assert_round_trip(fn("f", ("x",), (op("a", "mul", "x", C(value)),), "a"))


def test_nan_prints_as_a_literal() -> None:
    f = fn("f", ("x",), (op("a", "mul", "x", C(math.nan)),), "a")
    (back,) = parse_function(format_function(f)).body
    assert isinstance(back.args[1], Const) and math.isnan(back.args[1].value)


@pytest.mark.parametrize("path", ["N", "math.pi", "np.float64", "config.scale2"])
def test_globals_round_trip(path: str) -> None:
    f = fn("f", ("x", Param(Var("s"), Global(path))),
           (op("a", "mul", "x", Global(path)),), ("a", Global(path)))
    text = assert_round_trip(f)
    assert f"a = mul x @{path}" in text


@pytest.mark.parametrize("out", [
    "x", "%2", "@N", ("x",), ("x", "%2"), (("x", "%2"), "@N"), ("x", ("%2", ("x", "x"))),
    ((), "x"), ("x", ("%2",)),
], ids=repr)
def test_nested_tuple_outputs_round_trip(out: object) -> None:
    assert_round_trip(fn("f", ("x",), (op("%2", "neg", "x"),), out))


@pytest.mark.parametrize("out", ["a.1", ("a.1", "x"), ("x", ("a.1",))], ids=repr)
def test_versioned_name_as_output_round_trips(out: object) -> None:
    # ``return a.1`` is what the frontend produces for ``a = ...; a *= y; return a``
    assert_round_trip(fn("f", ("x",), (op("a", "neg", "x"), op("a.1", "neg", "a")), out))


def test_keyword_only_params_with_and_without_defaults_round_trip() -> None:
    params = ("x", Param(Var("y"), C(1.0)), Param(Var("k"), kwonly=True),
              Param(Var("m"), C("mean"), kwonly=True), Param(Var("g"), Global("G"),
                                                          kwonly=True))
    text = assert_round_trip(fn("f", params, (), "x"))
    assert text.startswith("def f(x, y=1.0, *k, *m='mean', *g=@G):\n")


@pytest.mark.parametrize("text", [
    "a plain note", "adjoint of", "note: with a colon", "x = y without the colon",
    "see: a = b",
])
def test_comment_without_op_round_trips(text: str) -> None:
    assert_round_trip(fn("f", ("x",), (Comment(text),), "x"))


def test_comment_with_op_round_trips() -> None:
    of = op("b", "mul", "%3", C("k: v = w"), params=(("axis", 1),))
    f = fn("f", ("x",), (Comment("adjoint of", of), Comment("tangent of", op("a", "neg", "x"))),
           "x")
    text = assert_round_trip(f)
    assert "    # adjoint of: b = mul %3 'k: v = w' axis=1\n" in text


def test_keep_with_one_and_several_values_round_trips() -> None:
    body = (op("a", "neg", "x"), op("b", "neg", "a"))
    assert assert_round_trip(fn("f", ("x",), body, "x", keep="a")).endswith(
        "    keep a\n    return x\n")
    assert_round_trip(fn("f", ("x",), body, "x", keep="a, b"))


def test_a_variable_named_keep_round_trips() -> None:
    # ``keep`` is a legal Python name; its line is mistaken for the function's keep line
    assert_round_trip(fn("f", ("x",), (op("keep", "mul", "x", 2.0),), "keep"))


def test_regions_without_body_and_deep_nesting_round_trip() -> None:
    innermost = If((Var("d"),), Var("p"), region("", (), "x"), region("", (), "x"))
    w = While((Var("e"),), (Var("x"),),
              region("e.1", (op("q", "lt", "e.1", 1.0),), "q"),
              region("e.2", (innermost, op("e.3", "add", "e.2", "d")), "e.3"))
    loop = For((Var("f.1"),), C(0), C(3), C(1), (Var("x"),),
               region("j, f", (w, op("f.2", "add", "f", "e")), "f.2"))
    outer = If((Var("g"),), Var("p"), region("", (loop,), "f.1"), region("", (), "x"))
    f = fn("deep", ("x", "p"), (outer,), "g")
    text = assert_round_trip(f)
    verify(f)
    assert "\n                d = if p:\n" in text  # inside an if, a for and a while


# ---------------------------------------------------------------------------------------
# Real functions, lowered by the frontend

SCALE = 0.5
N = 3


def seed_foo(x, y):
    a = x + 5
    b = a * y
    return b


def reassigned(x, y):
    a = x + 1.0
    a = a * 2.0
    a *= y
    return a


def with_math(x, y):
    """A docstring is skipped."""
    z = math.sin(x) * math.exp(-y) + math.pi
    w = math.log(z, 2) + math.atan2(y, x) - math.hypot(x, y) ** 2
    return z * w / N


def with_defaults(x, y=2.0, *, scale=SCALE, mode="fast"):
    return x * y * scale


def returns_tuple(x, y):
    s = x + y
    p = x * y
    return s, p, x


def with_literals(x):
    a = x * 1e-300 + (-2.5) ** 2
    b = a + 10**30 - 0.1
    return b * True


def inactive_parts(x, y):
    n = int(y)
    k = x // 2
    c = x < y
    return x * n + k + c


def swaps(x, y):
    a, b = x, y
    a, b = b * 2.0, a
    c = d = a + b
    return c * d


def min_max_abs(x, y, z):
    m = max(x, y, z)
    n = min(x, abs(y))
    return m - n + float(z) % 2.0


def uses_keep(x):
    keep = x * 2.0
    return keep + 1.0


def huge_literal(x):
    return x * 1e309


REAL = [seed_foo, reassigned, with_math, with_defaults, returns_tuple, with_literals,
        inactive_parts, swaps, min_max_abs, uses_keep, huge_literal]


def lowered(f) -> Function:
    return frontend.lower(frontend.from_function(f)).fn


@pytest.mark.parametrize("f", REAL, ids=lambda f: f.__name__)
def test_lowered_real_function_round_trips(f) -> None:
    ir = lowered(f)
    verify(ir)
    assert_round_trip(ir)
    # with locations too, and the locations come back
    text = format_function(ir, locs=True)
    back = parse_function(text)
    assert back == ir
    assert _locs(back) == _locs(ir)


@pytest.mark.parametrize("f", [f for f in REAL if f is not returns_tuple],
                         ids=lambda f: f.__name__)
def test_derivative_ir_of_real_function_round_trips(f) -> None:
    primal = cleanup(lowered(f))
    everything = tuple(range(len([p for p in primal.params if not p.kwonly])))
    for derived in (reverse.run(primal, everything), reverse.run(primal, (0,), cotangent=True),
                    forward.run(primal, everything)):
        verify(derived)
        assert_round_trip(derived)
        assert_round_trip(cleanup(derived))


def test_lowering_and_printing_is_deterministic() -> None:
    texts = {format_function(lowered(with_math), locs=True) for _ in range(3)}
    assert len(texts) == 1


def test_lowered_seed_prints_as_in_the_notes() -> None:
    assert format_function(lowered(seed_foo)) == (
        "def seed_foo(x, y):\n"
        "    a = add x 5\n"
        "    b = mul a y\n"
        "    return b\n")


# ---------------------------------------------------------------------------------------
# The verifier


def rejects(text: str, *fragments: str) -> str:
    """``verify`` raises IRError on the parsed ``text``; the message holds ``fragments``."""
    f = parse_function(text)
    with pytest.raises(IRError) as info:
        verify(f)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def marked_line(message: str) -> str:
    """The line the verifier points at with ``-->``."""
    marked = [ln for ln in message.splitlines() if ln.startswith("-->")]
    assert len(marked) == 1, message
    return marked[0][3:].strip()


@pytest.mark.parametrize("text", [
    EVERY_TEXT,
    "def f(x):\n    return x\n",
    "def f():\n    return 1.0\n",
    "def f(x):\n    a = add x @math.pi\n    keep a\n    return (x, (a,))\n",
    "def f(x, *, k=@K):\n    a = mul x k\n    return a\n",
])
def test_verify_accepts_valid_functions(text: str) -> None:
    verify(parse_function(text))


def test_verify_rejects_use_before_definition() -> None:
    message = rejects("""\
def f(x, y):
    a = add b 1
    b = add x y
    return a
""", "b is used before it is defined")
    assert marked_line(message) == "a = add b 1"


def test_verify_rejects_an_undefined_output_and_keep() -> None:
    rejects("def f(x):\n    return z\n", "z is used before it is defined", "return z")
    rejects("def f(x):\n    keep z\n    return x\n", "z is used before it is defined",
            "keep z")


def test_verify_rejects_double_assignment() -> None:
    message = rejects("""\
def f(x, y):
    a = add x 1
    b = mul a y
    a = mul x 2
    return b
""", "a is assigned more than once")
    assert marked_line(message) == "a = mul x 2"


def test_verify_rejects_assigning_a_parameter() -> None:
    message = rejects("def f(x):\n    x = add x 1\n    return x\n",
                      "x is assigned more than once")
    assert marked_line(message) == "x = add x 1"


def test_verify_rejects_a_parameter_named_twice() -> None:
    rejects("def f(x, x):\n    return x\n", "x is assigned more than once")


@pytest.mark.parametrize("line, expected", [
    ("a = add x", "add takes 2..2 operands, got 1"),
    ("a = add x x x", "add takes 2..2 operands, got 3"),
    ("a = neg x x", "neg takes 1..1 operands, got 2"),
    ("a = math.atan2 x", "math.atan2 takes 2..2 operands, got 1"),
    ("a = copy", "copy takes 1..1 operands, got 0"),
    ("a, b = mul x x", "mul defines 1 result(s)"),
])
def test_verify_rejects_wrong_arity(line: str, expected: str) -> None:
    message = rejects(f"def f(x):\n    {line}\n    return x\n", expected)
    assert marked_line(message) == line


def test_verify_rejects_wrong_arity_inside_a_region() -> None:
    message = rejects("""\
def f(x, n):
    r = for i in range(0, n, 1) carry(a=x):
        a.1 = mul a
        yield a.1
    return r
""", "mul takes 2..2 operands, got 1")
    assert marked_line(message) == "a.1 = mul a"


@pytest.mark.parametrize("text, header", [
    ("""\
def f(x, p):
    c = if p:
        t = add x 1
        yield t, t
    else:
        yield x
    return c
""", "c = if p:"),
    ("""\
def f(x, p):
    c = if p:
        yield x
    else:
        yield
    return c
""", "c = if p:"),
    ("""\
def f(x, n):
    r = for i in range(0, n, 1) carry(a=x):
        a.1 = add a i
        yield a.1, a
    return r
""", "r = for i in range(0, n, 1) carry(a=x):"),
    ("""\
def f(x, n):
    r, s = for i in range(0, n, 1) carry(a=x, b=x):
        yield a
    return r
""", "r, s = for i in range(0, n, 1) carry(a=x, b=x):"),
    ("""\
def f(x):
    r = while carry(a=x):
        q = lt a 1.0
        yield q, q
    do(a.1):
        yield a.1
    return r
""", "r = while carry(a=x):"),
    ("""\
def f(x):
    r = while carry(a=x):
        yield
    do(a.1):
        yield a.1
    return r
""", "r = while carry(a=x):"),
    ("""\
def f(x):
    r = while carry(a=x):
        q = lt a 1.0
        yield q
    do(a.1):
        yield a.1, a.1
    return r
""", "r = while carry(a=x):"),
], ids=["if-then", "if-else", "for-too-many", "for-too-few", "while-cond-two",
        "while-cond-none", "while-body"])
def test_verify_rejects_wrong_number_of_yields(text: str, header: str) -> None:
    rejects(text, "a region yields", header)


@pytest.mark.parametrize("text, name, line", [
    ("""\
def f(x, p):
    c = if p:
        t = add x 1
        yield t
    else:
        yield x
    d = add t 1
    return d
""", "t", "d = add t 1"),
    ("""\
def f(x, p):
    c = if p:
        t = add x 1
        yield t
    else:
        u = add t 1
        yield u
    return c
""", "t", "u = add t 1"),
    ("""\
def f(x, n):
    r = for i in range(0, n, 1) carry(a=x):
        a.1 = add a i
        yield a.1
    d = mul a.1 2
    return d
""", "a.1", "d = mul a.1 2"),
    ("""\
def f(x, n):
    r = for i in range(0, n, 1) carry(a=x):
        a.1 = add a i
        yield a.1
    d = mul i 2
    return d
""", "i", "d = mul i 2"),
    ("""\
def f(x):
    r = while carry(a=x):
        q = lt a 1.0
        yield q
    do(a.1):
        a.2 = add a.1 q
        yield a.2
    return r
""", "q", "a.2 = add a.1 q"),
    ("""\
def f(x):
    r = while carry(a=x):
        q = lt a 1.0
        yield q
    do(a.1):
        a.2 = add a.1 1.0
        yield a.2
    d = add a.2 r
    return d
""", "a.2", "d = add a.2 r"),
], ids=["if-after", "then-in-else", "for-body-after", "for-index-after", "while-cond-in-body",
        "while-body-after"])
def test_verify_rejects_region_local_value_outside_its_region(text: str, name: str,
                                                              line: str) -> None:
    message = rejects(text, f"{name} is used before it is defined")
    assert marked_line(message) == line


def test_verify_rejects_region_local_output() -> None:
    rejects("""\
def f(x, p):
    c = if p:
        t = add x 1
        yield t
    else:
        yield x
    return t
""", "t is used before it is defined", "return t")


def test_verify_rejects_a_region_reading_a_value_defined_after_it() -> None:
    rejects("""\
def f(x, p):
    c = if p:
        yield late
    else:
        yield x
    late = add x 1
    return c
""", "late is used before it is defined", "c = if p:")


def test_verify_rejects_for_whose_body_params_do_not_match_its_inits() -> None:
    # For: ``body.params == (index, *carried)``; printing zips carried with inits, so a
    # mismatch that verifies would print a different loop
    loop = For((Var("r"),), C(0), Var("n"), C(1), (Var("x"),), region("i", (), "x"))
    with pytest.raises(IRError):
        verify(fn("f", ("x", "n"), (loop,), "r"))


def test_verify_rejects_while_whose_region_params_do_not_match_its_inits() -> None:
    loop = While((Var("r"),), (Var("x"),), region("a", (op("q", "lt", "a", 1.0),), "q"),
                 region("b, c", (), "b"))
    with pytest.raises(IRError):
        verify(fn("f", ("x",), (loop,), "r"))


def test_verify_rejects_if_regions_with_params() -> None:
    branch = If((Var("c"),), Var("p"), region("z", (), "z"), region("", (), "x"))
    with pytest.raises(IRError):
        verify(fn("f", ("x", "p"), (branch,), "c"))


# ---------------------------------------------------------------------------------------
# Random straight-line programs

_BASES = ["a", "b", "x1", "loss", "dbda", "w_2"]
_SAFE_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " _-=:%@#.",
                     max_size=8)
_LITERAL = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | _SAFE_TEXT,
    lambda inner: st.tuples(inner) | st.tuples(inner, inner),
    max_leaves=4)
_PRIMS = [p for p in Prim if p.arity[0] == p.arity[1] and p.n_results == (1, 1)]


@st.composite
def straight_line(draw) -> Function:
    n_params = draw(st.integers(0, 3))
    params = [Param(Var(f"p{i}"),
                    draw(st.none() | _LITERAL.map(Const) | st.just(Global("math.pi"))),
                    kwonly=draw(st.booleans()))
              for i in range(n_params)]
    defined = [p.var for p in params]
    names = {v.name for v in defined}
    body = []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.integers(0, 5)) == 0:
            body.append(Comment(draw(st.sampled_from(["adjoint of", "tangent of"])),
                                body[-1] if body and isinstance(body[-1], Op) else None))
            continue
        prim = draw(st.sampled_from(_PRIMS))
        operand = st.sampled_from(defined) if defined else st.nothing()
        value = operand | _LITERAL.map(Const) | st.sampled_from([Global("N"),
                                                                 Global("math.pi")])
        args = tuple(draw(value) for _ in range(prim.arity[0]))
        if draw(st.booleans()):
            base = draw(st.sampled_from(_BASES))
            version = 0
            name = base
            while name in names:
                version += 1
                name = f"{base}.{version}"
        else:
            name = f"%{len(names) + 1}"
        params_ = tuple((k, Const(draw(_LITERAL)))
                        for k in draw(st.lists(st.sampled_from(["axis", "k"]), max_size=2,
                                               unique=True)))
        body.append(Op((Var(name),), prim, args, params_))
        names.add(name)
        defined.append(Var(name))
    leaf = st.sampled_from(defined) if defined else st.just(Const(0.0))
    out = draw(st.recursive(leaf, lambda inner: st.tuples(inner, inner) | st.tuples(inner),
                            max_leaves=4))
    keep = tuple(draw(st.lists(leaf.filter(lambda v: isinstance(v, Var)), max_size=2,
                               unique=True))) if defined else ()
    return Function("random", tuple(params), tuple(body), out, keep)


@settings(max_examples=300, deadline=None)
@given(straight_line())
def test_random_straight_line_programs_round_trip_and_verify(f: Function) -> None:
    verify(f)
    assert_round_trip(f)
