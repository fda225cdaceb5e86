"""Passes over the IR, one module each. Transforms are ``run(fn, ...) -> fn``; analyses are
``analyze(fn, ...) -> facts``. ``cleanup`` is the pass list run after differentiation."""

from __future__ import annotations

from ..ir import Function, Var
from . import copyprop, cse, dce, factor, simplify


def cleanup(fn: Function, scalars: tuple[Var, ...] = (),
            primal: frozenset[str] = frozenset()) -> Function:
    """Fold constants and identities, share common subexpressions, fold copies, factor
    adjoint sums, drop dead code: in that order.

    ``scalars``: values known to be numbers (a gradient's primal output); ``primal``: names
    of the values that are the user's function's own (``ir.all_names`` of the primal),
    which keep IEEE arithmetic (no symbolic zero: ``0 * x`` stays where x may be inf)."""
    fn = simplify.run(fn, scalars, primal)
    fn = cse.run(fn)
    fn = copyprop.run(fn)
    fn = factor.run(fn, primal)
    fn = dce.run(fn)
    return fn
