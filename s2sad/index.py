"""How an index is kept in the IR: its parts as operands, its shape as a short pattern.

``x[a, 1:n, ::2, None]`` becomes ``getitem x a 1 n 2 index='_, _:_, ::_, None'``: each
``_`` takes the next operand, a slice is written with colons, ``None`` and ``...`` stand
for themselves, and a trailing ``,`` marks a one-element tuple (``x[i,]``). The operands
are ordinary values, so the passes see what an index reads (and tape it in loops), and
the emitter prints the subscript back as it was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import gast

Part = tuple  # ("value",) | ("slice", has_lo, has_hi, has_step) | ("none",) | ("ellipsis",)


def parse(pattern: str) -> tuple[list[Part], bool]:
    """The parts of a pattern, and whether the index is a tuple."""
    text = pattern.strip()
    is_tuple = "," in text
    items = [t.strip() for t in text.split(",")]
    if items and items[-1] == "" and len(items) > 1:
        items.pop()  # the one-element tuple's trailing comma
    parts: list[Part] = []
    for item in items:
        if item == "_":
            parts.append(("value",))
        elif item == "None":
            parts.append(("none",))
        elif item == "...":
            parts.append(("ellipsis",))
        else:
            pieces = item.split(":")
            if len(pieces) not in (2, 3) or any(p not in ("", "_") for p in pieces):
                raise ValueError(f"bad index pattern {pattern!r}")
            pieces += [""] * (3 - len(pieces))
            parts.append(("slice", *(p == "_" for p in pieces)))
    return parts, is_tuple


def n_operands(pattern: str) -> int:
    return pattern.count("_")


def build(parts: list[str], is_tuple: bool) -> str:
    text = ", ".join(parts)
    return text + "," if is_tuple and len(parts) == 1 else text


def to_gast(pattern: str, operands: Iterator[gast.expr]) -> gast.expr:
    """The subscript's slice expression, taking operands in order."""
    parts, is_tuple = parse(pattern)
    nodes: list[gast.expr] = []
    for part in parts:
        if part[0] == "value":
            nodes.append(next(operands))
        elif part[0] == "none":
            nodes.append(gast.Constant(None, None))
        elif part[0] == "ellipsis":
            nodes.append(gast.Constant(Ellipsis, None))
        else:
            lo, hi, step = (next(operands) if has else None for has in part[1:])
            nodes.append(gast.Slice(lo, hi, step))
    if is_tuple:
        return gast.Tuple(nodes, gast.Load())
    return nodes[0]


def from_gast(node: gast.expr, lower: Callable[[gast.expr], object]
              ) -> tuple[str, list[object]]:
    """The pattern of a subscript's slice and its operands, lowered by ``lower``."""
    is_tuple = isinstance(node, gast.Tuple)
    items = node.elts if is_tuple else [node]
    parts: list[str] = []
    operands: list[object] = []
    for item in items:
        if isinstance(item, gast.Slice):
            pieces = []
            for sub in (item.lower, item.upper, item.step):
                if sub is None or (isinstance(sub, gast.Constant) and sub.value is None):
                    pieces.append("")
                else:
                    operands.append(lower(sub))
                    pieces.append("_")
            parts.append(":".join(pieces) if pieces[2] else ":".join(pieces[:2]))
        elif isinstance(item, gast.Constant) and item.value is None:
            parts.append("None")
        elif isinstance(item, gast.Constant) and item.value is Ellipsis:
            parts.append("...")
        else:
            operands.append(lower(item))
            parts.append("_")
    return build(parts, is_tuple), operands
