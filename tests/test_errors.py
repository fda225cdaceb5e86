"""Bad input: every construct outside the subset gives a located, named ``CompileError``.

Each corpus entry is written to a real file and imported from it (so ``inspect.getsource``
works as it does for a user's module); ``s2sad.grad`` must then raise the right
``CompileError`` subclass at creation time, located at the offending construct (file, line,
column), formatted ``FILE:LINE:COL: error: MESSAGE`` with the source line and a caret under
the column, and the message must name the construct.

Line and column numbers below are 1-based lines and 0-based columns of the file as written
(the sources start at line 1).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import linecache
import math
import sys
import textwrap
import uuid
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import s2sad
from s2sad import cli
from s2sad.errors import (
    BadWrt,
    CompileError,
    InternalError,
    NoDerivativeRule,
    NoSource,
    UndefinedName,
    UnsupportedSyntax,
)

INTERNAL = (KeyError, AttributeError, AssertionError, IndexError, TypeError, RecursionError,
            NotImplementedError, ValueError, NameError, UnboundLocalError, StopIteration,
            ZeroDivisionError, OverflowError, SyntaxError, LookupError)


# --------------------------------------------------------------------------------------
# Helpers


def write_module(directory, source: str):
    """Write ``source`` to a fresh file in ``directory`` and import it from there."""
    name = f"s2sad_bad_{uuid.uuid4().hex}"
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


def check_located(err: CompileError, path, lineno: int, col: int) -> None:
    """``err`` points at ``path:lineno:col`` and prints the line with a caret under col."""
    where = (err.filename, err.lineno, err.col_offset)
    assert where == (str(path), lineno, col), f"located at {where}: {err}"
    text = str(err)
    assert text.startswith(f"{path}:{lineno}:{col}: error: "), text
    lines = text.split("\n")
    assert len(lines) == 3, text
    source_line = open(path, encoding="utf-8").read().splitlines()[lineno - 1].rstrip()
    assert lines[1] == "    " + source_line, text
    assert lines[2] == "    " + " " * col + "^", text
    assert lines[0] == f"{path}:{lineno}:{col}: error: {err.message}"


@dataclass(frozen=True)
class Bad:
    id: str
    source: str
    error: type[CompileError]
    lineno: int
    col: int
    words: tuple[str, ...]  # the message names the construct with each of these
    func: str = "f"
    wrt: object = 0
    frontend: bool = True  # raised by the frontend, for every transform and for `ir`


def bad(id: str, source: str, error: type[CompileError], lineno: int, col: int,
        *words: str, **options: object) -> Bad:
    return Bad(id, textwrap.dedent(source).lstrip("\n"), error, lineno, col, words,
               **options)


U = UnsupportedSyntax

CORPUS = [
    # --- statements -----------------------------------------------------------------
    bad("for-over-reversed-list", """
        def f(x):
            y = x
            for v in reversed([x, x]):
                y = y * v
            return y
        """, U, 3, 13, "`reversed`", "range"),
    bad("for-over-reversed-list-read-again", """
        def f(x):
            xs = []
            for i in range(3):
                xs.append(x * i)
            y = x
            for v in reversed(xs):
                y = y * v
            return y + xs[0]
        """, U, 6, 13, "`reversed`", "range"),
    bad("for-over-reversed-list-appended-in-an-if", """
        def f(x):
            xs = []
            for i in range(3):
                if i > 0:
                    xs.append(x * i)
            y = x
            for v in reversed(xs):
                y = y * v
            return y
        """, U, 7, 13, "`reversed`", "range"),
    bad("for-over-reversed-list-of-a-nested-loop", """
        def f(x):
            xs = []
            for j in range(2):
                for i in range(3):
                    xs.append(x * i)
            y = x
            for v in reversed(xs):
                y = y * v
            return y
        """, U, 7, 13, "`reversed`", "range"),
    bad("for-else", """
        def f(x):
            for i in range(3):
                x = x * 2.0
            else:
                x = x + 1.0
            return x
        """, U, 5, 8, "`else`"),
    bad("assigned-in-one-branch", """
        def f(x):
            if x > 0:
                y = x * 2.0
            return y
        """, UndefinedName, 4, 11, "one path"),
    bad("assigned-only-in-loop", """
        def f(x):
            for i in range(3):
                y = x * 2.0
            return y
        """, UndefinedName, 4, 11, "only inside the loop"),
    bad("if-returns-on-one-path-only", """
        def f(x):
            if x > 0:
                return x
        """, U, 2, 4, "every path"),
    bad("try", """
        def f(x):
            try:
                y = x * 2.0
            except ValueError:
                y = x
            return y
        """, U, 2, 4, "`try`"),
    bad("with", """
        def f(x):
            with open("data.txt") as handle:
                y = x * 2.0
            return y
        """, U, 2, 4, "`with`"),
    bad("class", """
        def f(x):
            class Box:
                pass
            return x
        """, U, 2, 4, "class"),
    bad("nested-def", """
        def f(x):
            def g(t):
                return t * 2.0
            return g(x)
        """, U, 2, 4, "nested function"),
    bad("lambda-inside", """
        def f(x):
            g = lambda t: t * 2.0
            return g(x)
        """, U, 2, 8, "lambda"),
    bad("global", """
        COUNT = 0.0


        def f(x):
            global COUNT
            return x
        """, U, 5, 4, "`global`"),
    bad("nonlocal", """
        def outer():
            z = 1.0

            def f(x):
                nonlocal z
                return x * z

            return f


        f = outer()
        """, U, 5, 8, "`nonlocal`"),
    bad("raise", """
        def f(x):
            raise ValueError("no")
            return x
        """, U, 2, 4, "`raise`"),
    bad("assert", """
        def f(x):
            assert x > 0
            return x
        """, U, 2, 4, "`assert`"),
    bad("del", """
        def f(x):
            y = x
            del y
            return x
        """, U, 3, 4, "`del`"),
    bad("import-inside", """
        def f(x):
            import math
            return math.sin(x)
        """, U, 2, 4, "import"),
    bad("from-import-inside", """
        def f(x):
            from math import sin
            return sin(x)
        """, U, 2, 4, "import"),
    bad("match", """
        def f(x):
            match x:
                case _:
                    y = x
            return y
        """, U, 2, 4, "`match`"),
    bad("async-def", """
        async def f(x):
            return x
        """, U, 1, 0, "async"),
    bad("yield", """
        def f(x):
            yield x
            return x
        """, U, 2, 4, "yield"),
    bad("early-return", """
        def f(x):
            y = x * 2.0
            return y
            y = y * 3.0
            return y
        """, U, 4, 4, "`return`", "never runs"),
    bad("missing-return", """
        def f(x):
            y = x * 2.0
        """, U, 1, 0, "return"),
    bad("return-without-value", """
        def f(x):
            y = x * 2.0
            return
        """, U, 3, 4, "`return`"),
    bad("subscript-store-into-alias", """
        def f(x):
            y = x * 2.0
            z = y
            z[0] = 1.0
            return z + y
        """, U, 5, 15, "`y` names the same array as `z` (line 3)", "written into at line 4",
        "copy()"),
    bad("view-read-after-write", """
        def f(x, v):
            y = x.copy()
            a = y[0:2]
            y[0] = v
            return a * 2.0
        """, U, 5, 11, "`a` is a view of `y` (line 3)", "written into at line 4", "copy"),
    bad("write-through-view", """
        def f(x):
            y = x * 2.0
            a = y.T
            a[0] = 1.0
            return y
        """, U, 5, 11, "`y` has a view `a` (line 3)", "written into at line 4", "copy()"),
    bad("write-into-an-appended-array", """
        def f(x):
            parts = []
            row = x * 2.0
            parts.append(row)
            row[0] = 1.0
            return parts[0]
        """, U, 6, 11, "`parts` holds `row` (line 4)", "written into at line 5",
        "append a copy"),
    bad("write-into-an-array-appended-on-an-earlier-trip", """
        def f(x):
            parts = []
            row = x * 2.0
            for i in range(3):
                row[0] = x[i]
                parts.append(row)
            return parts[0]
        """, U, 5, 8, "`row` is written into here", "`parts.append(row)` (line 6)",
        "parts.append(row.copy())"),
    bad("write-into-an-array-appended-under-an-if", """
        def f(x, c):
            parts = [x]
            row = x * 2.0
            for i in range(3):
                if c[i]:
                    row[0] = x[i]
                    parts.append(row)
            return parts[0]
        """, U, 6, 12, "`row` is written into here", "`parts.append(row)` (line 7)",
        "parts.append(row.copy())"),
    bad("subscript-store-into-expression", """
        def f(x):
            y = x * 2.0
            y.T[0] = 1.0
            return y
        """, U, 3, 4, "local array"),
    bad("attribute-store", """
        def f(x):
            x.value = 1.0
            return x
        """, U, 2, 4, "attribute"),
    # --- expressions ----------------------------------------------------------------
    bad("keyword-not-taken", """
        import numpy as np


        def f(x):
            return np.sum(x, dtype=float)
        """, U, 5, 21, "`dtype`", "`axis`"),
    bad("keyword-not-constant", """
        import numpy as np


        def f(x, k):
            return np.sum(x, axis=k)
        """, U, 5, 26, "`axis`", "constant"),
    bad("dict", """
        def f(x):
            y = {"a": x}
            return y
        """, U, 2, 8, "dict"),
    bad("set", """
        def f(x):
            y = {x}
            return y
        """, U, 2, 8, "set"),
    bad("list-comprehension-two-fors", """
        def f(x):
            y = [a * b for a in (x,) for b in (x,)]
            return y
        """, U, 2, 8, "list comprehension", "one `for`"),
    bad("set-comprehension", """
        def f(x):
            y = {t for t in (x,)}
            return y
        """, U, 2, 8, "set comprehension"),
    bad("dict-comprehension", """
        def f(x):
            y = {t: t for t in (x,)}
            return y
        """, U, 2, 8, "dict comprehension"),
    bad("generator-expression", """
        def f(x):
            g = (t for t in (x,))
            return x
        """, U, 2, 8, "generator expression"),
    bad("f-string", """
        def f(x):
            s = f"{x}"
            return x
        """, U, 2, 8, "f-string"),
    bad("starred-call-argument", """
        def f(x):
            y = max(*(x, x))
            return y
        """, U, 2, 12, "starred"),
    bad("starred-target", """
        def f(x):
            a, *b = x, x
            return a
        """, U, 2, 7, "starred"),
    bad("starred-target-uneven", """
        def f(x):
            a, *b = x, x, x
            return a
        """, U, 2, 7, "starred"),
    bad("walrus", """
        def f(x):
            y = (z := x) * 2.0
            return y
        """, U, 2, 9, "`:=`"),
    bad("in", """
        def f(x):
            y = x in (1.0, 2.0)
            return y
        """, U, 2, 8, "`in`"),
    bad("not-in", """
        def f(x):
            y = x not in (1.0, 2.0)
            return y
        """, U, 2, 8, "`not in`"),
    bad("is", """
        def f(x):
            y = x is None
            return y
        """, U, 2, 8, "`is`"),
    bad("is-not", """
        def f(x):
            y = x is not None
            return y
        """, U, 2, 8, "`is not`"),
    bad("einsum-three-operands", """
        import numpy as np


        def f(x):
            return np.einsum("i,i,i->", x, x, x)
        """, U, 5, 11, "two operands"),
    bad("unknown-method", """
        def f(x):
            y = x.cumsum()
            return y
        """, U, 2, 8, "`.cumsum()`"),
    *[bad(f"bitwise-{name}", f"""
        def f(x):
            y = x {op} 1
            return y
        """, U, 2, 8, f"`{op}`")
      for name, op in [("and", "&"), ("or", "|"), ("xor", "^"), ("lshift", "<<"),
                       ("rshift", ">>")]],
    bad("bitwise-invert", """
        def f(x):
            y = ~x
            return y
        """, U, 2, 8, "`~`"),
    bad("complex-literal", """
        def f(x):
            y = x * 2j
            return y
        """, U, 2, 12, "complex"),
    bad("non-ascii-before-construct", """
        π = 3.0


        def f(x):
            y = π + (x & x)
            return y
        """, U, 5, 13, "&"),
    bad("starred-in-tuple", """
        def f(x):
            y = (*x,)
            return x
        """, U, 2, 9, "starred"),
    bad("tuple-unpack-nested", """
        def f(x):
            (a, b), c = x, x
            return a
        """, U, 2, 4, "tuple"),
    bad("tuple-unpack-wrong-length", """
        def f(x):
            a, b = x, x, x
            return a
        """, U, 2, 11, "unpack"),
    bad("attribute-of-parameter", """
        def f(x):
            y = x.real
            return y
        """, U, 2, 8, "attribute"),
    bad("attribute-of-local", """
        def f(x):
            y = x * 2.0
            z = y.imag
            return z
        """, U, 3, 8, "attribute"),
    bad("attribute-of-global-number", """
        SCALE = 2.0


        def f(x):
            return x * SCALE.real
        """, U, 5, 15, "attribute"),
    bad("method-call-on-parameter", """
        def f(x):
            return x.conjugate()
        """, U, 2, 11, "method", "`.conjugate()`"),
    bad("call-of-call", """
        import math


        def f(x):
            return math.sin(x)(x)
        """, U, 5, 11, "named function"),
    bad("call-of-local", """
        def f(x):
            g = x
            return g(x)
        """, U, 3, 11, "`g`"),
    bad("keyword-argument", """
        def f(x):
            return max(x, 1.0, key=abs)
        """, U, 2, 23, "keyword"),
    bad("wrong-arity", """
        import math


        def f(x):
            return math.sin(x, x)
        """, U, 5, 11, "`math.sin`", "argument"),
    bad("module-as-value", """
        import math


        def f(x):
            return x * math
        """, U, 5, 15, "`math`", "module"),
    bad("function-as-value", """
        import math


        def f(x):
            y = math.sin
            return x
        """, U, 5, 8, "`math.sin`", "function"),
    bad("star-args", """
        def f(x, *args):
            return x
        """, U, 1, 10, "`*args`"),
    bad("star-star-kwargs", """
        def f(x, **kwargs):
            return x
        """, U, 1, 11, "`**kwargs`"),
    bad("return-tuple", """
        def f(x, y):
            return x * y, x + y
        """, U, 1, 0, "tuple", frontend=False),
    bad("lambda-at-module-level", """
        import math

        g = lambda x: math.sin(x) * 2.0
        """, U, 3, 4, "lambda", func="g"),
    # --- names ------------------------------------------------------------------------
    bad("undefined-name", """
        def f(x):
            return x + undefined_thing
        """, UndefinedName, 2, 15, "`undefined_thing`"),
    bad("undefined-module-attribute", """
        import math


        def f(x):
            return math.sine(x)
        """, UndefinedName, 5, 11, "`sine`"),
    bad("used-before-assignment", """
        def f(x):
            y = z * x
            z = 2.0
            return y
        """, UndefinedName, 2, 8, "`z`"),
    # --- callees without a rule -------------------------------------------------------
    bad("print", """
        def f(x):
            print(x)
            return x
        """, NoDerivativeRule, 2, 4, "`print`"),
    bad("numpy-sin", """
        import numpy as np


        def f(x):
            return np.fft.fft(x)
        """, NoDerivativeRule, 5, 11, "`np.fft.fft`"),
    bad("callee-outside-the-subset", """
        def helper(t):
            try:
                return t * 2.0
            except ValueError:
                return 0.0


        def f(x):
            return helper(x) + 1.0
        """, U, 2, 4, "`try`"),
    bad("callee-missing-argument", """
        def helper(t, u):
            return t * u


        def f(x):
            return helper(x) + 1.0
        """, U, 6, 11, "`helper`", "missing the argument `u`"),
    bad("recursion", """
        def f(x):
            return f(x - 1.0)
        """, U, 2, 11, "recursion (f -> f)", "loop"),
    bad("mutual-recursion", """
        def g(x):
            return f(x) * 2.0


        def f(x):
            return g(x - 1.0)
        """, U, 2, 11, "recursion (f -> g -> f)", "loop"),
    bad("eval", """
        def f(x):
            return eval("x")
        """, NoDerivativeRule, 2, 11, "`eval`"),
    bad("exec", """
        def f(x):
            exec("y = 1")
            return x
        """, NoDerivativeRule, 2, 4, "`exec`"),
    bad("len", """
        def f(x):
            return x * sorted([x])
        """, NoDerivativeRule, 2, 15, "`sorted`"),
    # --- wrt --------------------------------------------------------------------------
    bad("wrt-unknown-name", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "`wrt='z'`", "x, y", wrt="z", frontend=False),
    bad("wrt-out-of-range", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "`wrt=2`", "out of range", wrt=2, frontend=False),
    bad("wrt-negative-out-of-range", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "`wrt=-3`", "out of range", wrt=-3, frontend=False),
    bad("wrt-kwonly-by-position", """
        def f(x, *, k=2.0):
            return x * k
        """, BadWrt, 1, 0, "out of range", wrt=1, frontend=False),
    bad("wrt-duplicate-names", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "`x`", "twice", wrt=("x", "x"), frontend=False),
    bad("wrt-duplicate-position-and-name", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "`y`", "twice", wrt=(1, "y"), frontend=False),
    bad("wrt-duplicate-negative-position", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "`y`", "twice", wrt=(1, -1), frontend=False),
    bad("wrt-empty-tuple", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "empty", wrt=(), frontend=False),
    bad("wrt-empty-list", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "empty", wrt=[], frontend=False),
    bad("wrt-float", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "1.5", wrt=1.5, frontend=False),
    bad("wrt-bool", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, "True", wrt=True, frontend=False),
    bad("wrt-no-parameters", """
        def f():
            return 1.0
        """, BadWrt, 1, 0, "out of range", wrt=0, frontend=False),
    bad("wrt-int-annotation", """
        def f(x, n: int):
            return x * n
        """, BadWrt, 1, 9, "`n`", "int", wrt="n", frontend=False),
    bad("wrt-bool-annotation", """
        def f(x, flag: bool):
            return x * flag
        """, BadWrt, 1, 9, "`flag`", "bool", wrt=1, frontend=False),
    bad("wrt-int-default", """
        def f(x, n=3):
            return x * n
        """, BadWrt, 1, 9, "`n`", "int", wrt=1, frontend=False),
    bad("wrt-int-default-in-tuple", """
        def f(x, n=3):
            return x * n
        """, BadWrt, 1, 9, "`n`", "int", wrt=(0, "n"), frontend=False),
    bad("wrt-kwonly-int-default", """
        def f(x, *, k=2):
            return x * k
        """, BadWrt, 1, 12, "`k`", "int", wrt="k", frontend=False),
    # --- more constructs outside the subset (issue 8) ---------------------------------
    bad("while-else", """
        def f(x):
            while x > 1.0:
                x = x * 0.5
            else:
                x = x + 1.0
            return x
        """, U, 5, 8, "`while ... else`", "after the loop"),
    bad("yield-from", """
        def f(x):
            yield from [x]
            return x
        """, U, 2, 4, "`yield from`"),
    bad("generator-callee", """
        def gen(t):
            yield t


        def f(x):
            return sum(gen(x))
        """, U, 2, 4, "`yield`"),
    bad("del-subscript", """
        def f(x):
            xs = [x, x]
            del xs[0]
            return xs[0]
        """, U, 3, 4, "`del`"),
    bad("mutable-default", """
        def f(x, acc=[]):
            return x * 2.0
        """, U, 1, 13, "default", "literal"),
    bad("list-pop", """
        def f(x):
            xs = [x, x * 2.0]
            y = xs.pop()
            return y
        """, U, 3, 8, "`.pop()`"),
    bad("list-extend", """
        def f(x):
            xs = [x]
            xs.extend([x])
            return xs[0]
        """, U, 3, 4, "`.extend()`"),
    bad("astype", """
        import numpy as np


        def f(x):
            return np.sum(x.astype(np.float32))
        """, U, 5, 18, "`.astype()`"),
    bad("string-method", """
        def f(x):
            s = "a".upper()
            return x
        """, U, 2, 8, "`.upper()`"),
    bad("numpy-dtype-keyword", """
        import numpy as np


        def f(x):
            return np.sum(np.zeros(3, dtype=np.float32) + x)
        """, U, 5, 30, "`np.zeros`", "keyword"),
    bad("set-in-an-expression", """
        def f(x):
            return x * len({1, 2})
        """, U, 2, 19, "sets"),
    bad("loop-over-a-dict", """
        def f(x):
            s = x
            for k in {"a": 1}:
                s = s * 2.0
            return s
        """, U, 3, 13, "dicts"),
    bad("global-list", """
        WEIGHTS = [1.0, 2.0]


        def f(x):
            return x * WEIGHTS[1]
        """, U, 5, 15, "`WEIGHTS`", "list"),
    bad("global-dict", """
        TABLE = {"a": 2.0}


        def f(x):
            return x * TABLE["a"]
        """, U, 5, 15, "`TABLE`", "dict"),
    bad("global-class-as-value", """
        def f(x):
            e = ValueError
            return x
        """, U, 2, 8, "`ValueError`"),
    bad("method-of-a-global-object", """
        class Scaler:
            def apply(self, t):
                return t * 2.0


        S = Scaler()


        def f(x):
            return S.apply(x)
        """, U, 10, 11, "attributes"),
    bad("call-of-a-call-result", """
        import numpy as np


        def f(x):
            return np.sum(np.vectorize(abs)(x))
        """, U, 5, 18, "named functions"),
    bad("store-into-an-attribute-of-a-parameter", """
        import numpy as np


        def f(x):
            x.shape = (3,)
            return np.sum(x)
        """, U, 5, 4, "attributes"),
    bad("undefined-module", """
        def f(x):
            return x * undefined_module.value
        """, UndefinedName, 2, 15, "`undefined_module`"),
    # --- callees without a rule -------------------------------------------------------
    *[bad(f"no-rule-{name}", f"""
        import math

        import numpy as np


        def f(x):
            return {call}
        """, NoDerivativeRule, 7, col, f"`{label}`")
      for name, call, col, label in [
          ("numpy-random", "x * np.random.normal()", 15, "np.random.normal"),
          ("math-factorial", "x * math.factorial(3)", 15, "math.factorial"),
          ("math-gamma", "math.gamma(x)", 11, "math.gamma"),
          ("numpy-eig", "np.sum(np.linalg.eig(x)[0])", 18, "np.linalg.eig"),
          ("numpy-cumsum", "np.sum(np.cumsum(x))", 18, "np.cumsum"),
          ("numpy-sort", "np.sum(np.sort(x))", 18, "np.sort"),
          ("round", "x * round(x)", 15, "round"),
          ("input", "x * float(input())", 21, "input"),
          ("slice", "np.sum(x[slice(0, 2)])", 20, "slice"),
      ]],
    bad("no-rule-isinstance", """
        def f(x):
            if isinstance(x, float):
                return x
            return x * 2.0
        """, NoDerivativeRule, 2, 7, "`isinstance`"),
    bad("no-rule-print-in-a-branch", """
        def f(x):
            if x > 0:
                print("positive")
            return x * 2.0
        """, NoDerivativeRule, 3, 8, "`print`"),
    bad("no-rule-open", """
        def f(x):
            open("file.txt")
            return x
        """, NoDerivativeRule, 2, 4, "`open`"),
    bad("no-rule-class-constructor", """
        class Point:
            def __init__(self, v):
                self.v = v


        def f(x):
            p = Point(x)
            return x
        """, NoDerivativeRule, 7, 8, "`Point`"),
    bad("no-rule-partial", """
        import functools


        def scale(t, k):
            return t * k


        half = functools.partial(scale, k=0.5)


        def f(x):
            return half(x)
        """, NoDerivativeRule, 12, 11, "`half`"),
    bad("no-rule-decorated-callee", """
        import functools


        @functools.lru_cache
        def cached(t):
            return t * 2.0


        def f(x):
            return cached(x)
        """, NoDerivativeRule, 10, 11, "`cached`"),
    # --- malformed wrt ----------------------------------------------------------------
    *[bad(f"wrt-{name}", """
        def f(x, y):
            return x * y
        """, BadWrt, 1, 0, *words, wrt=wrt, frontend=False)
      for name, wrt, words in [
          ("none", None, ("None",)),
          ("digit-string", "0", ("`wrt='0'`", "x, y")),
          ("empty-string", "", ("`wrt=''`",)),
          ("name-with-a-space", " y", ("`wrt=' y'`",)),
          ("nested-tuple", (0, (1,)), ("(1,)",)),
          ("set", {0}, ("{0}",)),
          ("frozenset", frozenset({0}), ("frozenset",)),
          ("dict", {"x": 1}, ("{'x': 1}",)),
          ("range", range(2), ("range(0, 2)",)),
          ("numpy-array", np.array([0, 1]), ("array([0, 1])",)),
          ("numpy-int", np.int64(1), ("np.int64(1)",)),
          ("bytes", b"x", ("b'x'",)),
          ("name-and-float", ("x", 1.5), ("1.5",)),
          ("huge-position", 10 ** 30, ("out of range",)),
      ]],
]

IDS = [case.id for case in CORPUS]
assert len(set(IDS)) == len(IDS), "duplicate corpus ids"


def load(tmp_path, case: Bad):
    path, module = write_module(tmp_path, case.source)
    return path, getattr(module, case.func)


# --------------------------------------------------------------------------------------
# The corpus


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
def test_corpus_error_is_located_and_named(tmp_path, case: Bad) -> None:
    path, f = load(tmp_path, case)
    with pytest.raises(CompileError) as info:
        s2sad.grad(f, wrt=case.wrt)  # raised here, at creation: nothing is ever called
    err = info.value
    assert type(err) is case.error, f"{type(err).__name__}: {err}"
    assert not isinstance(err, InternalError)
    check_located(err, path, case.lineno, case.col)
    for word in case.words:
        assert word.lower() in err.message.lower(), f"{word!r} not in {err.message!r}"


@pytest.mark.parametrize("case", CORPUS, ids=IDS)
@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jvp", "vjp", "ir"])
def test_no_internal_exception_escapes(tmp_path, case: Bad, transform: str) -> None:
    """Whatever the transform, a bad input raises a CompileError, never an internal error."""
    _, f = load(tmp_path, case)
    try:
        if transform == "ir":
            s2sad.ir(f)
        else:
            getattr(s2sad, transform)(f, wrt=case.wrt)
    except CompileError as err:
        assert not isinstance(err, InternalError), str(err)
        assert err.filename and err.lineno > 0, str(err)
    except BaseException as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{type(exc).__name__} escaped from s2sad.{transform}: {exc!r}")


FRONTEND = [case for case in CORPUS if case.frontend]


@pytest.mark.parametrize("case", FRONTEND, ids=[case.id for case in FRONTEND])
@pytest.mark.parametrize("transform", ["value_and_grad", "jvp", "vjp", "ir"])
def test_every_transform_reports_the_same_error(tmp_path, case: Bad, transform: str) -> None:
    """Frontend errors do not depend on the transform: each raises what `grad` raises."""
    _, f = load(tmp_path, case)
    with pytest.raises(CompileError) as expected:
        s2sad.grad(f, wrt=case.wrt)
    with pytest.raises(CompileError) as info:
        if transform == "ir":
            s2sad.ir(f)
        else:
            getattr(s2sad, transform)(f, wrt=case.wrt)
    assert type(info.value) is type(expected.value)
    assert str(info.value) == str(expected.value)


@pytest.mark.parametrize("case", CORPUS[:3] + CORPUS[-3:], ids=IDS[:3] + IDS[-3:])
def test_error_repeats_identically(tmp_path, case: Bad) -> None:
    """A failed transform caches nothing: asking again gives the same error."""
    _, f = load(tmp_path, case)
    messages = []
    for _ in range(2):
        with pytest.raises(CompileError) as info:
            s2sad.grad(f, wrt=case.wrt)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_jvp_accepts_tuple_output_that_grad_rejects(tmp_path) -> None:
    """A tuple return is fine for forward mode; only grad/vjp need a single output."""
    case = next(c for c in CORPUS if c.id == "return-tuple")
    _, f = load(tmp_path, case)
    jvp_f = s2sad.jvp(f, wrt=(0, 1))
    value, tangent = jvp_f(2.0, 3.0, 1.0, 0.0)
    assert value == (6.0, 5.0)
    assert tangent == (3.0, 1.0)


def test_error_message_gives_advice(tmp_path) -> None:
    """§6: unsupported syntax names the construct and says what to do instead."""
    case = next(c for c in CORPUS if c.id == "try")
    _, f = load(tmp_path, case)
    with pytest.raises(UnsupportedSyntax) as info:
        s2sad.grad(f)
    assert "move it outside the function you differentiate" in info.value.message


# --------------------------------------------------------------------------------------
# Raised at creation: decorators fail when the module is imported


def test_decorator_raises_at_import(tmp_path) -> None:
    source = textwrap.dedent("""
        import s2sad


        @s2sad.grad
        def f(x):
            try:
                x = x * 2.0
            except ValueError:
                pass
            return x
        """).lstrip("\n")
    with pytest.raises(UnsupportedSyntax) as info:
        write_module(tmp_path, source)
    check_located(info.value, next(tmp_path.glob("*.py")), 6, 4)


def test_decorator_with_bad_wrt_raises_at_import(tmp_path) -> None:
    source = textwrap.dedent("""
        import s2sad


        @s2sad.grad(wrt="z")
        def f(x, y):
            return x * y
        """).lstrip("\n")
    with pytest.raises(BadWrt) as info:
        write_module(tmp_path, source)
    check_located(info.value, next(tmp_path.glob("*.py")), 5, 0)
    assert "`wrt='z'`" in info.value.message


def test_good_function_still_works_beside_bad_ones(tmp_path) -> None:
    """Errors are per function: a module with a bad function differentiates the good one."""
    source = textwrap.dedent("""
        def good(x, y):
            a = x + 5
            b = a * y
            return b


        def bad(x):
            try:
                x = -x
            finally:
                pass
            return x
        """).lstrip("\n")
    _, module = write_module(tmp_path, source)
    with pytest.raises(UnsupportedSyntax):
        s2sad.grad(module.bad)
    assert s2sad.grad(module.good, wrt=(0, 1))(2.0, 3.0) == (3.0, 7.0)


# --------------------------------------------------------------------------------------
# Functions without source: NoSource, located at the caller's line


class _Callable:
    def __call__(self, x):
        return x * 2.0


def _method_holder():
    class Holder:
        def method(self, x):
            return x * 2.0

    return Holder().method


def _good(x, y):
    return x * y


def _exec_function():
    namespace: dict = {}
    exec("def made(x):\n    return x * 2.0\n", namespace)
    return namespace["made"]


def _exec_lambda():
    return eval("lambda x: x * 2.0")


NO_SOURCE = [
    pytest.param(lambda: math.sin, "sin", True, id="builtin-math-sin"),
    pytest.param(lambda: abs, "abs", True, id="builtin-abs"),
    pytest.param(lambda: functools.partial(_good, y=2.0), "partial", True, id="partial"),
    pytest.param(lambda: _Callable(), "_Callable", True, id="class-instance"),
    pytest.param(_method_holder, "method", True, id="bound-method"),
    pytest.param(_exec_function, "made", False, id="exec-function"),
    pytest.param(_exec_lambda, "lambda", False, id="exec-lambda"),
]


@pytest.mark.parametrize(("make", "word", "at_caller"), NO_SOURCE)
def test_no_source(make, word: str, at_caller: bool) -> None:
    f = make()
    line = sys._getframe().f_lineno + 2
    with pytest.raises(NoSource) as info:
        s2sad.grad(f)
    err = info.value
    assert word in err.message, err.message
    assert "source" in err.message or "not a Python function" in err.message, err.message
    assert str(err).startswith(f"{err.filename}:{err.lineno}:{err.col_offset}: error: ")
    if at_caller:  # nothing in f to point at: the error points at the grad(...) call
        assert (err.filename, err.lineno, err.col_offset) == (__file__, line, 0), str(err)
        assert str(err).split("\n")[1].strip() == "s2sad.grad(f)"
    else:
        assert err.lineno > 0, str(err)


def test_no_source_when_the_file_is_gone(tmp_path) -> None:
    path, module = write_module(tmp_path, "def f(x):\n    return x * 2.0\n")
    path.unlink()
    linecache.checkcache(str(path))
    with pytest.raises(NoSource) as info:
        s2sad.grad(module.f)
    assert info.value.filename == str(path)
    assert info.value.lineno == 1
    assert "`f`" in info.value.message


def test_non_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="takes a function"):
        s2sad.grad(3.0)


# --------------------------------------------------------------------------------------
# `break`/`continue` outside a loop only parse statically: the CLI reads files unrun


@pytest.mark.parametrize("keyword", ["break", "continue"])
def test_bare_break_continue_via_cli(tmp_path, capsys, keyword: str) -> None:
    path = tmp_path / "loopless.py"
    path.write_text(f"def f(x):\n    y = x * 2.0\n    {keyword}\n    return y\n")
    assert cli.main(["show", f"{path}:f", "--color", "never"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{path}:3:4: error: "), err
    assert f"`{keyword}`" in err
    assert err.rstrip("\n").split("\n")[1:] == [f"        {keyword}", "        ^"]


# --------------------------------------------------------------------------------------
# Random programs with constructs in and out of the subset: only CompileError escapes

_ATOMS = ["x", "y", "1.0", "2", "0", "0.0", "True", "None", "'s'", "2j", "math.pi", "m.e",
          "np.pi", "C", "L", "missing", "helper", "math", "x.real"]
_UNARY = ["-{}", "+{}", "not {}", "~{}", "({})", "abs({})", "float({})", "int({})",
          "math.sin({})", "m.exp({})", "math.sqrt({})", "math.log({})", "math.floor({})",
          "np.sin({})", "print({})", "helper({})", "f({})", "len({})", "min({})",
          "{}[0]", "[{}]", "{{{}}}", "lambda t: {}", "(t := {})", "[t for t in ({},)]",
          "max(*({},))", "math.atan2({})", "{}.conjugate()", "({})(x)"]
_BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / {}", "{} ** {}", "{} // {}", "{} % {}",
           "{} @ {}", "{} & {}", "{} | {}", "{} < {}", "{} == {}", "{} in {}",
           "{} is {}", "{} and {}", "{} or {}", "{} < {} < {}", "max({}, {})",
           "min({}, {}, {})", "math.log({}, {})", "math.hypot({}, {})", "({}, {})",
           "{} if x > 0 else {}", "max({}, key={})", "math.pow({}, {})"]


def _expressions():
    def extend(children):
        unary = st.tuples(st.sampled_from(_UNARY), children).map(lambda t: t[0].format(t[1]))
        binary = st.tuples(st.sampled_from(_BINARY), children, children, children).map(
            lambda t: t[0].format(*t[1:t[0].count("{}") + 1]))
        return unary | binary

    return st.recursive(st.sampled_from(_ATOMS), extend, max_leaves=6)


_STATEMENTS = ["a = {}", "a += {}", "a, b = {}, y", "a: float = {}", "{}", "a = b = {}",
               "del a", "pass", "y = {}", "a, b = {}"]
_HEADER = textwrap.dedent("""
    import math
    import math as m

    import numpy as np

    C = 3.0
    L = [1.0, 2.0]


    def helper(t):
        return t * 2.0


    """).lstrip("\n")
_counter = itertools.count()


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements=st.lists(st.tuples(st.sampled_from(_STATEMENTS), _expressions()),
                           max_size=3),
       result=_expressions(), wrt=st.sampled_from([0, 1, (0, 1), "y"]),
       transform=st.sampled_from(["grad", "value_and_grad", "jvp", "vjp"]))
def test_random_programs_raise_only_compile_errors(fuzz_dir, statements, result, wrt,
                                                    transform) -> None:
    lines = ["def f(x, y):"]
    lines += ["    a = x", "    b = y"]
    lines += ["    " + template.format(expr) for template, expr in statements]
    lines += [f"    return {result}"]
    source = _HEADER + "\n".join(lines) + "\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # `0 is 1` and the like: fine here
        try:
            compile(source, "<fuzz>", "exec")
        except SyntaxError:
            assume(False)
        path = fuzz_dir / f"fuzz_{next(_counter)}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    try:
        derivative = getattr(s2sad, transform)(module.f, wrt=wrt)
    except CompileError as err:
        assert not isinstance(err, InternalError), f"{err}\n--- source:\n{source}"
        assert err.lineno > 0, f"{err}\n--- source:\n{source}"
        return
    except BaseException as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{type(exc).__name__} escaped s2sad.{transform}: {exc!r}\n"
                    f"--- source:\n{source}")
    # Created without error: it must not fail later in a way the primal does not.
    try:
        primal = module.f(1.5, 2.5)
    except Exception:  # noqa: BLE001 - the primal itself fails: nothing to compare
        return
    if not isinstance(primal, float) or not math.isfinite(primal):
        return
    args = (1.5, 2.5)
    if transform == "jvp":
        args += (1.0,) * (len(wrt) if isinstance(wrt, tuple) else 1)
    elif transform == "vjp":
        args += (1.0,)
    try:
        derivative(*args)
    except (ZeroDivisionError, OverflowError, ValueError):
        pass  # a genuine singularity of the derivative (sqrt(0), ...)
    except INTERNAL as exc:
        pytest.fail(f"the {transform} of a working function fails when called: "
                    f"{type(exc).__name__}: {exc}\n--- source:\n{source}\n--- generated:\n"
                    f"{s2sad.source(derivative)}")
