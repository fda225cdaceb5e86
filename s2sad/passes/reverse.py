"""Reverse mode: run the primal, then walk its ops backwards accumulating adjoints.

Takes a function and the positions of the parameters to differentiate; returns
``vjp_f(*params[, cotangent]) -> (out, gradients)``. The adjoint of the output is seeded
with ``1.0`` (a gradient) or with a parameter (a vector-Jacobian product), named ``dbdb``
for an output ``b``. Walking the primal ops in reverse, each op's adjoint rule turns the
adjoint of its result into contributions to its operands:

* the first contribution to a value is kept as it is (no zero is ever initialised);
* later ones are added in, each sum a new SSA version of the adjoint (``dbda``, ``dbda.1``,
  emitted as ``dbda = dbda + t2``);
* when the walk reaches the op defining a named value, a ``# adjoint of: ...`` comment
  opens that op's block, and the value's adjoint, now complete, gets its adjoint name
  (``dbda``) if it has none yet.

Straight-line code needs no tape: every primal value stays alive until the adjoint reads
it. (Loops and branches, which overwrite values, will push what the adjoint needs onto a
tape; that scheme is described here when the IR admits them.)

    def foo(x, y):          def vjp_foo(x, y):
        a = add x 5             a = add x 5
        b = mul a y             b = mul a y
        return b                dbdb = copy 1.0
                                # adjoint of: b = mul a y
                                dbda = mul y dbdb
                                dbdy = mul a dbdb
                                # adjoint of: a = add x 5
                                dbdx = copy dbda
                                return (b, (dbdx, dbdy))
"""

from __future__ import annotations

from .. import naming
from ..ir import Comment, Const, Function, Names, Param, Value, Var, out_values
from ..primitives import Prim
from ..rules import ADJOINT, Builder
from . import activity


def run(fn: Function, wrt: tuple[int, ...], cotangent: bool = False,
        wrt_is_tuple: bool = True) -> Function:
    """``cotangent``: seed with a parameter (vjp) instead of 1.0 (grad).

    ``wrt_is_tuple``: return the gradients as a tuple, or the single gradient alone.
    """
    wrt_vars = tuple(fn.params[i].var for i in wrt)
    facts = activity.analyze(fn, wrt_vars)
    names = Names.of(fn)
    out = fn.out
    out_name = out.base if isinstance(out, Var) and not out.is_temp else fn.name

    def adjoint_name(v: Var) -> str:
        return naming.ratio(out_name, v.base)

    build = Builder(names)
    build.stmts.extend(fn.body)
    seed = names.fresh(naming.ratio(out_name, out_name))
    if not cotangent:
        build.op(Prim.COPY, Const(1.0), name=seed)
    adjoint: dict[Var, Value] = {}
    named: dict[Var, Value] = {}  # value -> its adjoint, where that carries its adjoint name
    if isinstance(out, Var) and facts.active(out):
        adjoint[out] = named[out] = seed

    def complete(v: Var) -> Value:
        """The finished adjoint of ``v``, under ``v``'s adjoint name if ``v`` is named."""
        value = adjoint[v]
        if not v.is_temp and named.get(v) != value:
            value = adjoint[v] = named[v] = build.op(
                Prim.COPY, value, name=names.fresh(adjoint_name(v)))
        return value

    def accumulate(v: Var, contribution: Value) -> None:
        if v not in adjoint:
            adjoint[v] = contribution
            return
        name = None if v.is_temp else names.fresh(adjoint_name(v))
        adjoint[v] = build.op(Prim.ADD, adjoint[v], contribution, name=name)
        if name is not None:
            named[v] = adjoint[v]

    for stmt in reversed(fn.body):
        if isinstance(stmt, Comment) or stmt.result not in adjoint:
            continue
        build.comment("adjoint of", stmt)
        g = complete(stmt.result)
        contributions = ADJOINT[stmt.prim](
            build.sym(g), build.sym(stmt.result), *map(build.sym, stmt.args))
        for arg, contribution in zip(stmt.args, contributions):
            if facts.active(arg):
                accumulate(arg, contribution.value)

    grads = []
    for p in wrt_vars:
        if p in adjoint:
            grads.append(complete(p))
        else:  # the output does not depend on p
            grads.append(build.op(Prim.ZEROS_LIKE, p, name=names.fresh(adjoint_name(p))))
    params = tuple(Param(p.var) if cotangent else p for p in fn.params if not p.kwonly)
    params += (Param(seed),) if cotangent else ()
    params += tuple(p for p in fn.params if p.kwonly)
    gradient = tuple(grads) if wrt_is_tuple else grads[0]
    return Function(f"vjp_{fn.name}", params, tuple(build.stmts), (out, gradient),
                    tuple(v for v in out_values(out) if isinstance(v, Var)), fn.loc)
