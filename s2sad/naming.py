"""How derivative values are named in generated code (DESIGN §2).

For an output ``b`` and a value ``a``: the adjoint is ``dbda`` ("d b / d a"); in forward
mode the tangent of ``a`` with respect to the input ``x`` is ``dadx``. When either name is
longer than one character an underscore separates them: ``dloss_dw1``. A forward pass
along several inputs at once names tangents as differentials: ``da``. Module-level names
(``grad_f``, ``vjp_g``, helpers) that the user's code also uses take a suffix (``unused``).
"""

from __future__ import annotations


def ratio(num: str, den: str) -> str:
    """``d{num}d{den}``: ``dbda``, ``dloss_dw1``."""
    if len(num) == 1 and len(den) == 1:
        return f"d{num}d{den}"
    return f"d{num}_d{den}"


def differential(name: str) -> str:
    """``d{name}``: the tangent of ``name`` along a direction of several inputs."""
    return f"d{name}"


def unused(name: str, taken: set[str] | frozenset[str]) -> str:
    """``name``, or ``name_1``, ``name_2``... the first that is not taken: how a
    module-level name s2sad generates (``grad_f``, ``vjp_g``, ``_unbroadcast``) steps
    aside from a name the user's code uses."""
    candidate, k = name, 0
    while candidate in taken:
        k += 1
        candidate = f"{name}_{k}"
    return candidate
