"""Property tests over random programs with control flow, ``def f(x, y, z): ...``.

The generator writes nested ``if``/``elif``/``else`` statements (conditions compare active
values, so either side is taken at random points; ``and``/``or``/``not`` and chained
comparisons combine them), conditional expressions, ``a or b`` on numbers, ``for`` loops
over ``range(...)`` (trip counts 0, 1, several, negative steps, trip counts derived from
active values through ``int``/``floor``, from an enclosing loop's index or from an int
parameter ``count`` some programs take; the index is used in arithmetic and in
conditions), ``while`` loops that always end (a counter ``n = 0; while n < K: ...;
n += 1``, a positive value that shrinks by a factor of at most 0.8 each trip,
``while s > c: ...``, or both), loops nested up to depth 3, branches that assign different
variables (a variable assigned on one path only is never read after), and ``return``,
``break`` and ``continue`` ending branches (``continue`` in a ``while`` loop only when the
loop's updates come first). Expressions come from the straight-line tests' tables
(``test_random_programs``), with the same worst-case bound tracking; inside a loop, a
variable that lives across iterations is capped at its bound on entry (at least 1), by
``tanh`` or by updates that cannot grow it (``a += 0.25 * (e - a)``, ``a *= math.tanh(e)``),
so no number of trips can overflow.

Every discrete decision the program takes (branch conditions, the tests of ``while``
loops, ``int``/``floor`` trip counts, min/max/abs, ``%``, ``//``, truthiness) is recorded
by a probe version of the program. A finite difference along one coordinate is trusted
only when the probe takes the same decisions at every point of the difference's stencil
(and no decision that moves with the coordinate is within ``GAP_MIN`` of switching): then
``f`` is smooth on the stencil, whatever its trip counts.

For each program, at random points:
(a) ``grad`` against central finite differences, along the coordinates that allows;
(b) the dot-product test ``<J v, w> == <v, J^T w>`` between ``jvp`` and ``vjp`` (always:
    no finite differences involved);
(c) ``value_and_grad``'s and ``jvp``'s values are ``f``'s, exactly;
and the generated source is deterministic. ``test_seeded_control_flow_programs`` runs the
same checks over ``random.Random`` seeds, so a failure reproduces without hypothesis's
example database (``python -c "from tests.test_random_control_flow import *;
print(random_program(SEED).source)"``), and ``REGRESSIONS`` keeps minimised programs that
failed.
"""

from __future__ import annotations

import ast
import functools
import math
import random
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import s2sad

from .determinism import sources_per_hash_seed
from .test_random_programs import (
    _MODULE_DIR,
    _PROBES,
    BINARY,
    CONSTANTS,
    EPS,
    INPUT_BOUND,
    MAX_BOUND,
    UNARY,
    Expr,
    _call,
    _central,
    directions,
    load,
    points,
    squash,
)
from .test_random_programs import cotangents as cotangent_values

PARAMS = ("x", "y", "z")
ALL_WRT = (0, 1, 2)
# names the generated statements assign: plain names, the parameters, and names s2sad's
# generated code uses (temporaries, tangents, adjoints, the tape, trip counters, the flags
# of jumps in loops, a builtin the adjoint of a loop calls)
LOCALS = ("a", "b", "c", "u", "x", "y", "z", "t1", "t2", "dx", "da", "dfdx", "dfda", "tape",
          "trips", "f", "stopped", "skip", "returned", "result", "reversed")
INDICES = ("i", "j", "k")  # for-loop indices by for-depth; never assigned otherwise
COUNTERS = ("n", "m", "p")  # while-loop counters by while-depth
COUNT = "count"  # an int parameter some programs take after x, y, z: trip counts
COUNT_VALUES = (0, 1, 2, 4)
INTS = INDICES + COUNTERS + (COUNT,)  # int-valued names
SHRINKERS = ("s", "r", "q")  # while-loop shrinking values by while-depth
COUNTER_BOUND = 10  # a counter never exceeds this
SHRINKER_BOUND = 3.0  # a shrinking value starts in (0, 3]
MAX_LOOP_DEPTH = 3
MAX_NESTING = 4  # ifs and loops together
MAX_TRIPS = (10, 5, 3)  # most trips of a for loop at loop depth 0, 1, 2
MAX_WHILE_TRIPS = (20, 6, 4)
MAX_RETURNS = 3  # `return` statements besides the last (each copies what follows it)
COMPARE = ("<", "<=", ">", ">=")
_COMPARE_PROBE = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}


# --------------------------------------------------------------------------------------
# The generator


@dataclass(frozen=True)
class Cond:
    text: str
    probe: str


@dataclass(frozen=True)
class Line:
    indent: int
    text: str
    probe: str


@dataclass(frozen=True)
class RangeSpec:
    text: str
    probe: str
    trips: int  # most trips
    index_bound: int  # largest |index|


def _const_range(*args: int) -> RangeSpec:
    r = range(*args)
    text = f"range({', '.join(map(str, args))})"
    return RangeSpec(text, text, len(r), max((abs(i) for i in r), default=0))


# for-loop ranges that need no operand: (start, stop, step) triples
CONST_RANGES = ((0,), (1,), (2,), (3,), (5,), (10,), (2, 5), (3, 1), (4, -1, -1), (1, 8, 3),
                (5, 0, -2), (0, 3, 2), (-2, 2))


class Generator:
    """Writes one program from the choices ``choose(n)`` makes (0 is always the simplest)."""

    def __init__(self, choose: Callable[[int], int]) -> None:
        self.choose = choose
        self.env: dict[str, float] = {p: INPUT_BOUND for p in PARAMS}  # name -> bound
        self.caps: dict[str, float] = {}  # loop-carried name -> cap, inside loops
        self.fors = 0  # enclosing for loops
        self.whiles = 0  # enclosing while loops
        self.nesting = 0  # enclosing ifs and loops
        self.budget = 0  # statements left to write
        self.returns = 0
        self.continue_ok: list[bool] = []  # per enclosing loop: may its body `continue`?

    @property
    def loops(self) -> int:
        return self.fors + self.whiles

    def pick(self, options: Sequence):
        return options[self.choose(len(options))]

    def chance(self, n: int) -> bool:
        """True one time in ``n`` (not for the choice 0, so that shrinking drops it)."""
        return self.choose(n) == n - 1

    # --- expressions ------------------------------------------------------------------

    def leaf(self) -> Expr:
        if self.chance(7):
            text = self.pick(CONSTANTS)
            return Expr(text, text, abs(float(text)), atom=True)
        names = sorted(self.env)
        loop_names = [n for n in names if n in INTS]
        if loop_names and self.chance(4):  # the loop index or counter, often
            name = self.pick(loop_names)
        else:
            name = self.pick(names)
        return Expr(name, name, self.env[name], atom=True)

    def expr(self, depth: int) -> Expr:
        kind = self.choose(10) if depth > 0 else 0
        if kind <= 2:
            return self.leaf()
        if kind <= 5:
            fmt, bound = self.pick(UNARY)
            operand = self.expr(depth - 1)
            e = _call(fmt, bound(operand.bound), operand, probe_fmt=_PROBES.get(fmt))
        elif kind <= 7:
            fmt, bound = self.pick(BINARY)
            left, right = self.expr(depth - 1), self.expr(depth - 1)
            e = _call(fmt, bound(left.bound, right.bound), left, right,
                      probe_fmt=_PROBES.get(fmt))
        elif kind == 8:  # a conditional expression
            cond = self.cond(depth - 1)
            then, orelse = self.expr(depth - 1), self.expr(depth - 1)
            e = Expr(f"({then.text} if {cond.text} else {orelse.text})",
                     f"({then.probe} if {cond.probe} else {orelse.probe})",
                     max(then.bound, orelse.bound), atom=True)
        else:  # `a or b`, `a and b` on numbers: a when a is nonzero (or zero), else b
            op = self.pick(("or", "and"))
            left, right = self.expr(depth - 1), self.expr(depth - 1)
            e = Expr(f"({left.text} {op} {right.text})",
                     f"(_truth({left.probe}) {op} {right.probe})",
                     max(left.bound, right.bound), atom=True)
        return squash(e)

    def compare(self, depth: int) -> Cond:
        left, right = self.expr(self.choose(depth + 1)), self.expr(self.choose(depth + 1))
        if self.chance(4):  # chained: a < b <= c
            third = self.expr(self.choose(depth + 1))
            op1, op2 = self.pick(COMPARE), self.pick(COMPARE)
            return Cond(f"{left.text} {op1} {right.text} {op2} {third.text}",
                        f"({_COMPARE_PROBE[op1]}({left.probe}, {right.probe}) and "
                        f"{_COMPARE_PROBE[op2]}({right.probe}, {third.probe}))")
        op = self.pick(COMPARE)
        return Cond(f"{left.text} {op} {right.text}",
                    f"{_COMPARE_PROBE[op]}({left.probe}, {right.probe})")

    def cond(self, depth: int) -> Cond:
        """A condition; mostly one comparison of active values."""
        kind = self.choose(8)
        ints = [n for n in sorted(self.env) if n in INTS]
        if kind == 5 and depth > 0:
            inner = self.cond(depth - 1)
            return Cond(f"not ({inner.text})", f"not ({inner.probe})")
        if kind == 6 and depth > 0:
            op = self.pick(("and", "or"))
            left, right = self.cond(depth - 1), self.cond(depth - 1)
            return Cond(f"({left.text}) {op} ({right.text})",
                        f"({left.probe}) {op} ({right.probe})")
        if kind == 7 and ints:  # on loop indices and counters only: no derivative jumps
            name = self.pick(ints)
            text = self.pick((f"{name} % 2 == 0", f"{name} < 2", f"{name} != 1",
                              f"{name} >= {self.pick(ints)}"))
            return Cond(text, text)
        return self.compare(depth)

    # --- statements -------------------------------------------------------------------

    def store(self, target: str, e: Expr) -> Expr:
        """Record that ``target`` is assigned ``e``; the value to assign instead (squashed
        when a loop caps ``target``)."""
        if target in self.caps:
            if e.bound > self.caps[target]:
                e = _call("math.tanh({0})", 1.0, e)
            self.env[target] = self.caps[target]
        else:
            self.env[target] = e.bound
        return e

    def assignable(self) -> list[str]:
        return list(LOCALS)

    def simple(self, indent: int) -> list[Line]:
        kind = self.choose(6)
        if kind == 1:
            return [self.augmented(indent)]
        if kind == 2:  # tuple assignment, maybe a swap
            first = self.pick(self.assignable())
            second = self.pick([n for n in self.assignable() if n != first])
            if first in self.env and second in self.env and self.chance(2):
                values = [Expr(second, second, self.env[second], atom=True),
                          Expr(first, first, self.env[first], atom=True)]
            else:
                values = [self.expr(self.choose(3)), self.expr(self.choose(3))]
            values = [self.store(first, values[0]), self.store(second, values[1])]
            return [Line(indent, f"{first}, {second} = {values[0].text}, {values[1].text}",
                         f"{first}, {second} = {values[0].probe}, {values[1].probe}")]
        target = self.pick(self.assignable())
        value = self.store(target, self.expr(self.choose(4)))
        return [Line(indent, f"{target} = {value.text}", f"{target} = {value.probe}")]

    def augmented(self, indent: int) -> Line:
        targets = [n for n in self.assignable() if n in self.env]
        if not targets:
            target = self.pick(self.assignable())
            value = self.store(target, self.expr(1))
            return Line(indent, f"{target} = {value.text}", f"{target} = {value.probe}")
        target = self.pick(targets)
        value = self.expr(self.choose(3))
        if target in self.caps:  # updates that cannot take target past its cap
            cap = self.caps[target]
            if value.bound > cap:
                value = _call("math.tanh({0})", 1.0, value)
            form = self.pick(("{t} += 0.25 * ({0} - {t})", "{t} -= 0.5 * ({t} - {0})",
                              "{t} *= math.tanh({0})", "{t} /= 1.0 + {0} * {0}",
                              "{t} *= 0.5 + 0.25 * math.sin({0})"))
            e = _call(form.replace("{t}", target), cap, value)
            return Line(indent, e.text, e.probe)
        op = self.pick(("+=", "-=", "*=", "/="))
        if op == "/=":  # divide by something >= 1
            value = _call("1.0 + {0} * {0}", 1 + value.bound ** 2, value)
        combined = {"+=": self.env[target] + value.bound, "-=": self.env[target] + value.bound,
                    "*=": self.env[target] * value.bound, "/=": self.env[target]}[op]
        if combined > MAX_BOUND:
            op, value = "+=", _call("math.tanh({0})", 1.0, value)
            combined = self.env[target] + 1.0
        if combined > MAX_BOUND:
            value = _call("math.tanh({0})", 1.0, Expr(target, target, 0, atom=True))
            self.env[target] = 1.0
            return Line(indent, f"{target} = {value.text}", f"{target} = {value.probe}")
        self.env[target] = combined
        return Line(indent, f"{target} {op} {value.text}", f"{target} {op} {value.probe}")

    def block(self, indent: int, n: int) -> tuple[list[Line], bool]:
        """At most ``n`` statements (at least one line); whether every path through them
        ends in a jump (``return``, ``break``, ``continue``)."""
        lines: list[Line] = []
        for _ in range(max(1, n)):
            if self.budget <= 0 and lines:
                break
            self.budget -= 1
            kind = self.choose(12)
            if kind in (8, 9) and self.nesting < MAX_NESTING:
                more, done = self.if_statement(indent)
            elif kind == 10 and self.nesting < MAX_NESTING and self.loops < MAX_LOOP_DEPTH:
                more, done = self.for_loop(indent), False
            elif kind == 11 and self.nesting < MAX_NESTING and self.loops < MAX_LOOP_DEPTH:
                more, done = self.while_loop(indent), False
            else:
                more, done = self.simple(indent), False
            lines.extend(more)
            if done:
                return lines, True
        if self.nesting > 0 and self.chance(4):
            jumps = ["return"] if self.returns < MAX_RETURNS else []
            if self.continue_ok:
                jumps.append("break")
                if self.continue_ok[-1]:
                    jumps.append("continue")
            if jumps:
                jump = self.pick(jumps)
                lines.append(self.ret(indent) if jump == "return" else Line(indent, jump, jump))
                return lines, True
        return lines, False

    def ret(self, indent: int, last: bool = False) -> Line:
        """``return``: an expression, some names added up, or (the last one, often) every
        name, so that the value depends on most of what the program computed."""
        self.returns += not last
        kind = self.choose(3)
        if kind == 0:
            e = self.expr(self.choose(3))
        else:
            names = sorted(self.env)
            if kind == 1 or not last:
                names = [n for n in names if self.chance(3)] or [self.pick(names)]
            e = Expr(" + ".join(names), " + ".join(names), 0.0)
        return Line(indent, f"return {e.text}", f"return {e.probe}")

    def if_statement(self, indent: int) -> tuple[list[Line], bool]:
        """``if``, ``if``/``else`` or an ``if``/``elif``/.../``else`` chain."""
        before = dict(self.env)
        n_tests = 1 + self.chance(4) + self.chance(6)  # elif, elif
        has_else = self.choose(3) != 0
        lines: list[Line] = []
        falls_through: list[dict[str, float]] = []
        self.nesting += 1
        for t in range(n_tests + has_else):
            self.env = dict(before)
            if t < n_tests:
                cond = self.cond(2)
                word = "if" if t == 0 else "elif"
                lines.append(Line(indent, f"{word} {cond.text}:", f"{word} {cond.probe}:"))
            else:
                lines.append(Line(indent, "else:", "else:"))
            if self.chance(8):
                body, done = [Line(indent + 1, "pass", "pass")], False
            else:
                body, done = self.block(indent + 1, 1 + self.choose(3))
            lines.extend(body)
            if not done:
                falls_through.append(self.env)
        self.nesting -= 1
        if not has_else:
            falls_through.append(before)
        if not falls_through:  # every branch jumps
            self.env = before
            return lines, True
        names = set.intersection(*(set(env) for env in falls_through))
        self.env = {n: max(env[n] for env in falls_through) for n in sorted(names)}
        return lines, False

    def enter_loop(self) -> tuple[dict[str, float], dict[str, float]]:
        saved = dict(self.env), dict(self.caps)
        for name in sorted(self.env):
            if name not in self.caps:
                self.caps[name] = max(self.env[name], 1.0)
                self.env[name] = self.caps[name]
        self.nesting += 1
        return saved

    def leave_loop(self, saved: tuple[dict[str, float], dict[str, float]]) -> None:
        before, caps = saved
        self.env = {name: self.caps[name] for name in before}
        self.caps = caps
        self.nesting -= 1

    def range_spec(self) -> RangeSpec:
        most = MAX_TRIPS[self.loops]
        outer = [n for n in INDICES[:self.fors]]
        kind = self.choose(8)  # 0-3: constant, 4: derived, 5-7: an int name
        if kind >= 6 and not outer and COUNT not in self.env:
            kind = 4
        if kind == 5:
            kind = 6 if COUNT in self.env else 0
        if kind in (4, 5):  # derived from an active value: a jump in the trip count
            e = self.expr(self.choose(2))
            if self.chance(2):
                span = min(most, 3)
                return RangeSpec(f"range(int({span / 2} + {span / 2} * math.tanh({e.text})))",
                                 f"range(_int({span / 2} + {span / 2} * math.tanh({e.probe})))",
                                 span, span - 1)
            return RangeSpec(f"range(math.floor({e.text}) % 3 + {most - 3})",
                             f"range(_floor({e.probe}) % 3 + {most - 3})", most, most - 1)
        if kind >= 6:  # from an int parameter or an enclosing loop's index
            name = self.pick(outer) if outer and (kind == 7 or COUNT not in self.env) else COUNT
            bound = int(self.env[name])
            c = min(most, 3)
            spec = self.pick((RangeSpec(f"range({name})", "", bound, bound - 1),
                              RangeSpec(f"range({name}, {c})", "", c, max(bound, c)),
                              RangeSpec(f"range({c}, {name} - 1, -1)", "", c + 1,
                                        max(c, bound))))
            if spec.trips <= most:
                return RangeSpec(spec.text, spec.text, spec.trips, max(spec.index_bound, 0))
        fitting = [r for r in CONST_RANGES if len(range(*r)) <= most]
        return _const_range(*self.pick(fitting))

    def for_loop(self, indent: int) -> list[Line]:
        spec = self.range_spec()
        index = INDICES[self.fors]
        saved = self.enter_loop()
        self.env[index] = spec.index_bound
        self.fors += 1
        self.continue_ok.append(True)
        body, _ = self.block(indent + 1, 1 + self.choose(3))
        self.continue_ok.pop()
        self.fors -= 1
        self.leave_loop(saved)
        return [Line(indent, f"for {index} in {spec.text}:", f"for {index} in {spec.probe}:"),
                *body]

    def while_loop(self, indent: int) -> list[Line]:
        depth = self.whiles
        n, s = COUNTERS[depth], SHRINKERS[depth]
        most = MAX_WHILE_TRIPS[self.loops]
        kind = self.choose(3)  # 0: a counter, 1: a shrinking value, 2: both
        lines: list[Line] = []
        if kind in (0, 2):
            lines.append(Line(indent, f"{n} = 0", f"{n} = 0"))
            self.env[n] = COUNTER_BOUND
        if kind in (1, 2):
            start = self.pick(("math.exp(math.tanh({0}))", "1.5 + math.tanh({0})",
                               "2.0 + math.sin({0})", "1.0 + math.tanh({0}) ** 2",
                               "0.5 + abs(math.tanh({0}))"))
            init = _call(start, SHRINKER_BOUND, self.expr(self.choose(3)),
                         probe_fmt=start.replace("abs(", "_abs("))
            lines.append(Line(indent, f"{s} = {init.text}", f"{s} = {init.probe}"))
            self.env[s] = SHRINKER_BOUND
        saved = self.enter_loop()  # the test and the updates run with the loop's values
        tests: list[Cond] = []
        updates: list[Line] = []
        if kind in (0, 2):
            limit = self.choose(4)
            if limit == 0 and most >= 3:
                e = self.expr(self.choose(2))
                tests.append(Cond(f"{n} < int(2 + 2 * math.tanh({e.text}))",
                                  f"{n} < _int(2 + 2 * math.tanh({e.probe}))"))
            elif limit == 1 and COUNT in self.env and self.env[COUNT] <= most:
                tests.append(Cond(f"{n} < {COUNT}", f"{n} < {COUNT}"))
            elif limit == 2 and self.fors and self.env[INDICES[self.fors - 1]] < most:
                index = INDICES[self.fors - 1]
                tests.append(Cond(f"{n} <= {index}", f"{n} <= {index}"))
            else:
                k = self.pick((0, 1, 2, most))
                tests.append(Cond(f"{n} < {k}", f"{n} < {k}"))
            step = self.pick((f"{n} = {n} + 1", f"{n} += 1"))
            updates.append(Line(indent + 1, step, step))
        if kind in (1, 2):
            # (threshold, its smallest value), (update, its largest factor)
            thresholds = [("0.05", 0.05), ("0.1", 0.1), ("0.3", 0.3), ("0.6", 0.6),
                          ("0.2 + 0.1 * math.tanh({0})", 0.1)]
            factors = [("{s} = {s} * 0.5", 0.5), ("{s} *= 0.6", 0.6),
                       ("{s} = {s} * (0.5 + 0.25 * math.tanh({0}))", 0.75),
                       ("{s} /= 1.5 + 0.25 * math.sin({0})", 0.8),
                       ("{s} *= math.exp(-0.5 - math.tanh({0}) ** 2)", math.exp(-0.5))]
            options = [(t, u) for t in thresholds for u in factors
                       if math.ceil(math.log(SHRINKER_BOUND / t[1]) / -math.log(u[1])) <= most]
            (threshold, _), (factor, _) = self.pick(options)
            if "{0}" in threshold:
                c = _call(threshold, 0.3, self.expr(self.choose(2)))
            else:
                c = Expr(threshold, threshold, float(threshold), atom=True)
            if self.chance(4):
                tests.append(Cond(f"not {s} <= {c.text}", f"not _le({s}, {c.probe})"))
            else:
                tests.append(Cond(f"{s} > {c.text}", f"_gt({s}, {c.probe})"))
            update = _call(factor.replace("{s}", s), SHRINKER_BOUND, self.expr(self.choose(2)))
            updates.append(Line(indent + 1, update.text, update.probe))
        if len(tests) == 2:
            op = self.pick(("and", "or"))
            if self.chance(2):
                tests.reverse()
            test = Cond(f"{tests[0].text} {op} {tests[1].text}",
                        f"{tests[0].probe} {op} {tests[1].probe}")
        else:
            test = tests[0]
        lines.append(Line(indent, f"while {test.text}:", f"while {test.probe}:"))
        first = self.chance(3)  # update first: the body sees the new values
        self.whiles += 1
        self.continue_ok.append(first)  # `continue` must not skip the updates
        body, jumps = self.block(indent + 1, 1 + self.choose(3))
        self.continue_ok.pop()
        self.whiles -= 1
        self.leave_loop(saved)
        first = first or jumps  # no updates after a `break` that ends the body
        lines.extend([*updates, *body] if first else [*body, *updates])
        return lines


@dataclass(frozen=True)
class Program:
    source: str  # `def f(x, y, z): ...` or `def f(x, y, z, count): ...`
    probe: str  # `def probe(...)`, the same, recording each discrete decision
    extra: tuple[int, ...] = ()  # the arguments after x, y, z: (count,) or ()


def generate_program(choose: Callable[[int], int]) -> Program:
    gen = Generator(choose)
    extra: tuple[int, ...] = ()
    if gen.chance(4):  # an int parameter: range(count), while n < count
        extra = (gen.pick(COUNT_VALUES),)
        gen.env[COUNT] = max(COUNT_VALUES)
    gen.budget = 3 + gen.choose(14)
    lines, done = gen.block(1, 100)
    if not done:
        lines.append(gen.ret(1, last=True))
    params = ", ".join(PARAMS + ((COUNT,) if extra else ()))
    source = f"import math\n\n\ndef f({params}):\n" + "".join(
        "    " * line.indent + line.text + "\n" for line in lines)
    probe = f"def probe({params}):\n" + "".join(
        "    " * line.indent + line.probe + "\n" for line in lines)
    return Program(source, probe, extra)


def random_program(seed: int) -> Program:
    rng = random.Random(seed)
    return generate_program(lambda n: rng.randrange(n))


@st.composite
def programs(draw) -> Program:
    return generate_program(lambda n: draw(st.integers(0, n - 1)))


# --------------------------------------------------------------------------------------
# The probe: every discrete decision, and how far it is from switching


def run_probe(program: Program, args: Sequence[float]) -> tuple[object, list[tuple[object, float]]]:
    """The probe's value at ``args`` (``f``'s) and the decisions it took, in order: (outcome,
    distance of the compared values from the point where the outcome switches)."""
    events: list[tuple[object, float]] = []

    def record(outcome, gap: float):
        events.append((outcome, gap))
        return outcome

    def to_integer(u: float) -> float:
        return abs(u - round(u))

    def truth(u):
        record(bool(u), abs(u))
        return u

    def signed_abs(u):
        record((u > 0) - (u < 0), abs(u))
        return abs(u)

    def mod(u, m):
        record(u // m, m * to_integer(u / m))
        return u % m

    def min_(u, v):  # min returns u at a tie, max too
        record(v < u, abs(u - v))
        return min(u, v)

    def max_(u, v):
        record(v > u, abs(u - v))
        return max(u, v)

    namespace = {
        "math": math,
        "_lt": lambda u, v: record(u < v, abs(u - v)),
        "_le": lambda u, v: record(u <= v, abs(u - v)),
        "_gt": lambda u, v: record(u > v, abs(u - v)),
        "_ge": lambda u, v: record(u >= v, abs(u - v)),
        "_truth": truth,
        "_abs": signed_abs,
        "_min": min_,
        "_max": max_,
        "_floor": lambda u: record(math.floor(u), to_integer(u)),
        "_int": lambda u: record(int(u), to_integer(u)),
        "_mod": mod,
        "_floordiv": lambda u, m: record(u // m, m * to_integer(u / m)),
    }
    exec(_compiled(program.probe), namespace)  # noqa: S102 - our own code
    value = namespace["probe"](*args, *program.extra)
    return value, events


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> CodeType:
    return compile(source, "<probe>", "exec")


def decisions(program: Program, args: Sequence[float]) -> list[tuple[object, float]]:
    return run_probe(program, args)[1]


# the smallest distance from switching at which a decision is trusted not to switch and
# switch back inside the stencil (|u - v| would be second order in the step, ~1e-11)
GAP_MIN = 1e-8
# where the probe checks the decisions along a coordinate, in steps h: the stencil of
# `finite_difference` (+-h/2, +-h, +-2h) and points between
STENCIL = (-2.0, -1.5, -1.0, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
REL_STEP = 1e-6


def smooth_along(program: Program, args: Sequence[float], i: int,
                 taken: list[tuple[object, float]]) -> bool:
    """Whether ``f`` takes the same decisions on the whole stencil along ``args[i]``."""
    h = REL_STEP * max(1.0, abs(args[i]))
    for t in STENCIL:
        moved = list(args)
        moved[i] += t * h
        there = decisions(program, moved)
        if [o for o, _ in there] != [o for o, _ in taken]:
            return False
        # close to switching, and moving with args[i]: it might switch and switch back
        # between the points (a decision that does not move, `int(1.0)`, never switches)
        if any(gap < GAP_MIN and gap != moved_gap
               for (_, gap), (_, moved_gap) in zip(taken, there)):
            return False
    return True


def finite_difference(f: Callable, args: Sequence[float], i: int) -> tuple[float, float]:
    """``d f / d args[i]`` by a central difference, and a bound on its error: 4 times how
    much the estimate moves when the step is halved or doubled (truncation and noise), plus
    the rounding of the primal values, 64 ulps of the largest value a program may hold per
    evaluation over the step, plus 16 ulps of the estimate."""
    h = REL_STEP * max(1.0, abs(args[i]))
    estimate = _central(f, args, i, h)
    spread = max(abs(_central(f, args, i, 2 * h) - estimate),
                 abs(_central(f, args, i, h / 2) - estimate))
    rounding = 64 * EPS * max(1.0, abs(f(*args))) / h
    return estimate, 4 * spread + rounding + 16 * EPS * abs(estimate)


# --------------------------------------------------------------------------------------
# The properties


def check_program(program: Program, point: Sequence[float], v: Sequence[float],
                  w: float) -> int:
    """Check ``program`` at ``point``; the number of coordinates checked against finite
    differences."""
    f = load(program.source)
    args = (*point, *program.extra)
    value = f(*args)
    assert math.isfinite(value) and abs(value) <= 4 * len(LOCALS) * MAX_BOUND, value

    # (c) the values every transform reports are f's
    both_value, both_gradient = s2sad.value_and_grad(f, wrt=ALL_WRT)(*args)
    assert both_value == value, f"value_and_grad's value {both_value!r} != f = {value!r}"
    gradient = s2sad.grad(f, wrt=ALL_WRT)(*args)
    assert both_gradient == gradient, (both_gradient, gradient)
    assert len(gradient) == 3 and all(math.isfinite(g) for g in gradient), gradient

    # (a) reverse mode against finite differences, where f is smooth on the stencil
    taken = decisions(program, point)
    checked = 0
    for i, got in enumerate(gradient):
        if not smooth_along(program, point, i, taken):
            continue
        checked += 1
        expected, tol = finite_difference(lambda *p: f(*p, *program.extra), point, i)
        assert abs(got - expected) <= tol, (
            f"d f / d {PARAMS[i]} at {args}: grad gives {got!r}, finite differences "
            f"{expected!r} (|error| {abs(got - expected):.3g} > tolerance {tol:.3g})")

    # (b) the dot-product test: <J v, w> == <v, J^T w>
    primal, tangent = s2sad.jvp(f, wrt=ALL_WRT)(*args, *v)
    assert primal == value, f"jvp's value {primal!r} != f = {value!r}"
    cotangents = s2sad.vjp(f, wrt=ALL_WRT)(*args, w)
    forward = tangent * w
    reverse = sum(vi * ci for vi, ci in zip(v, cotangents))
    unit = abs(w) * sum(abs(vi) for vi in v)
    scale = abs(w) * sum(abs(vi * gi) for vi, gi in zip(v, gradient))
    tol = 1e-12 * max(scale, abs(forward), abs(reverse)) + 64 * EPS * MAX_BOUND * unit
    assert abs(forward - reverse) <= tol, (
        f"dot-product test at {args}, v={tuple(v)}, w={w}: <J v, w> = {forward!r}, "
        f"<v, J^T w> = {reverse!r}")
    for ci, gi in zip(cotangents, gradient):
        assert math.isclose(ci, w * gi, rel_tol=1e-12, abs_tol=64 * EPS * MAX_BOUND * abs(w)), \
            (cotangents, gradient)
    return checked


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(), point=points, v=directions, w=cotangent_values)
def test_random_control_flow_derivatives(program: Program, point, v, w):
    check_program(program, point, v, w)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(), points=st.lists(points, min_size=4, max_size=4))
def test_random_control_flow_at_several_points(program: Program, points):
    for point in points:
        check_program(program, point, (1.0, -0.5, 0.25), 1.5)


SEEDS = range(160)


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_control_flow_programs(seed: int):
    """The same checks without hypothesis: ``random_program(seed)`` at three points,
    tangents and cotangents drawn from ``random.Random(1000 + seed)``."""
    program = random_program(seed)
    rng = random.Random(1000 + seed)
    for _ in range(3):
        point = [rng.uniform(-INPUT_BOUND, INPUT_BOUND) for _ in PARAMS]
        v = [rng.choice((0.0, 1.0, -0.5, rng.uniform(-1, 1))) for _ in PARAMS]
        check_program(program, point, v, rng.uniform(-2, 2))


# --------------------------------------------------------------------------------------
# Regressions: minimised programs that failed, name -> (body of `def f(x, y, z):`, point).
# Each point is away from every switch, so finite differences are trusted everywhere.

REGRESSIONS: dict[str, tuple[str, tuple[float, float, float]]] = {
    # Reverse mode emitted the adjoint of a loop body, or of a branch, that is the identity
    # (`y = y + 1.0`) as a block holding only a comment: IndentationError when grad, vjp or
    # value_and_grad compiled it (fixed in 48881fb).
    "identity_for_body": ("""
        for i in range(2):
            y = y + 1.0
        return x + y + z
    """, (0.5, -0.25, 1.0)),
    "identity_while_body": ("""
        n = 0
        while n < 2:
            y = y + 1.0
            n = n + 1
        return x + y + z
    """, (0.5, -0.25, 1.0)),
    "identity_else_branch": ("""
        if x > 0:
            x = x * 2.0
        else:
            y = y - 1.0
        return x + y + z
    """, (0.5, -0.25, 1.0)),
    # Reverse mode: a variable `trips` carried by a while loop was also the loop's trip
    # counter: value_and_grad gave 0.5625 for f = 0.75 and the gradient 0.375 for 0.5;
    # with a float `trips`, `range(trips)` raised TypeError (fixed in c6fcc98).
    "user_trips_int": ("""
        trips = 1
        n = 0
        while n < 3:
            x = x * 0.5
            trips = trips + 1
            n = n + 1
        return x * trips
    """, (1.5, 0.5, 0.25)),
    "user_trips_float": ("""
        trips = x
        s = 2.0
        while s > 0.3:
            s = s * 0.5
            trips = trips * y
        return trips
    """, (1.5, 0.5, 0.25)),
    # Forward mode: a variable `dx` carried by a while loop was confused with the tangent
    # of x: jvp gave the value 1.5 (f = 1.875) for the tangent (1, 0, 0) and 4.5 for
    # (0, 1, 0) (fixed in c6fcc98).
    "user_dx_in_while": ("""
        dx = x
        n = 0
        while n < 2:
            dx = dx * y
            x = y * 3.0
            n = n + 1
        return x + dx
    """, (1.5, 0.5, 0.25)),
    # Reverse mode: a local variable named `reversed` (legal Python, shadowing the builtin)
    # was called by the adjoint loop, `for i in reversed(range(2))`: grad, vjp and
    # value_and_grad raised TypeError, 'float' object is not callable (UnboundLocalError
    # when assigned after the loop) (fixed in 4838238).
    "user_reversed": ("""
        reversed = x
        for i in range(2):
            y = y * reversed
        return y + z
    """, (0.5, 0.7, 0.3)),
    # Frontend: a jump in a loop and a name assigned in the `else` of the jumping `if`,
    # read after the `if` (so assigned on every path that reaches the read): s2sad rejected
    # the function, "`b` is assigned on only one path through the `if`" (UndefinedName)
    # (fixed in 4ce49f7).
    "break_then_name_from_else": ("""
        a = x
        for i in range(3):
            if a > y:
                break
            else:
                b = a * 2.0
            a = b * y
        return a + z
    """, (0.3, 0.8, 0.25)),
    "return_in_loop_then_name_from_else": ("""
        a = x
        for i in range(3):
            if a > y:
                return a
            else:
                b = a * 2.0
            a = b * y
        return a + z
    """, (0.3, 0.8, 0.25)),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_control_flow_regressions(name: str):
    body, point = REGRESSIONS[name]
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"
    program = Program("import math\n\n\ndef f(x, y, z):\n" + body,
                      "def probe(x, y, z):\n" + body)
    check_program(program, point, (1.0, -0.5, 0.25), 1.5)


# --------------------------------------------------------------------------------------
# The generator itself


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs())
def test_generated_source_is_deterministic(program: Program):
    first, second = load(program.source, fresh=True), load(program.source, fresh=True)
    assert first is not second
    for transform in (s2sad.grad, s2sad.value_and_grad, s2sad.jvp, s2sad.vjp):
        assert s2sad.source(transform(first, wrt=ALL_WRT)) == \
            s2sad.source(transform(second, wrt=ALL_WRT))


def test_generator_is_deterministic():
    for seed in range(50):
        assert random_program(seed) == random_program(seed)
    assert len({random_program(seed).source for seed in range(50)}) > 45


def test_probe_computes_what_f_computes():
    rng = random.Random(7)
    for seed in range(100):
        program = random_program(seed)
        f = load(program.source)
        for _ in range(3):
            point = [rng.uniform(-INPUT_BOUND, INPUT_BOUND) for _ in PARAMS]
            value, taken = run_probe(program, point)
            assert value == f(*point, *program.extra)
            assert all(gap >= 0 for _, gap in taken)


def _features(source: str) -> set[str]:
    """What a program's syntax tree contains, for the coverage test."""
    found: set[str] = set()

    def visit(node: ast.AST, loops: int) -> None:
        if isinstance(node, (ast.For, ast.While)):
            loops += 1
            found.add(f"loop depth {loops}")
        if isinstance(node, ast.Return) and loops:
            found.add("return in a loop")
        if isinstance(node, ast.If):
            found.add("if/else" if node.orelse else "one-sided if")
            if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                found.add("elif")
        if isinstance(node, ast.Compare) and len(node.ops) >= 2:
            found.add("chained comparison")
        if isinstance(node, ast.BinOp) and any(
                isinstance(side, ast.Name) and side.id in INDICES
                for side in (node.left, node.right)):
            found.add("loop index in arithmetic")
        found.add(type(node).__name__)
        for child in ast.iter_child_nodes(node):
            visit(child, loops)

    visit(ast.parse(source), 0)
    return found


def test_generated_programs_cover_the_forms():
    programs_ = [random_program(seed) for seed in range(600)]
    found = set.union(*(_features(p.source) for p in programs_))
    for feature in ("loop depth 3", "return in a loop", "if/else", "one-sided if", "elif",
                    "chained comparison", "loop index in arithmetic", "IfExp", "BoolOp",
                    "Not", "Break", "Continue", "While", "For", "AugAssign", "Pass"):
        assert feature in found, feature
    sources = "\n".join(p.source for p in programs_)
    for form in (" or ", " and ", "range(0)", "range(3, 1)", "range(1)", "range(10)", ", -1)",
                 "range(int(", "range(math.floor(", "range(count)", "range(i, ", " - 1, -1)",
                 "n < count", "while n < ", "while s > ", " += 1", " = 0\n", "tape", "trips",
                 "reversed", "stopped", "abs(", "min(", "max("):
        assert form in sources, form
    assert sum(bool(p.extra) for p in programs_) > 60


def test_branches_go_both_ways():
    """Conditions compare active values: at random points, most programs take different
    paths (or run loops different numbers of times)."""
    rng = random.Random(3)
    varying = with_decisions = 0
    for seed in range(100):
        program = random_program(seed)
        paths = {tuple(o for o, _ in decisions(program, [rng.uniform(-2, 2) for _ in PARAMS]))
                 for _ in range(10)}
        with_decisions += any(paths)
        varying += len(paths) > 1
    assert with_decisions >= 80 and varying >= 0.7 * with_decisions, (varying, with_decisions)


def test_generated_source_does_not_depend_on_the_hash_seed():
    paths = []
    for seed in range(15):
        path = _MODULE_DIR / f"control_flow_hashseed_{seed}.py"
        path.write_text(random_program(seed).source)
        paths.append(str(path))
    outputs = sources_per_hash_seed(paths)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("#####") == 29
