"""The compiler's errors: one hierarchy, each located in the user's source.

``str(err)`` reads like a C compiler's message, with the source line and a caret::

    model.py:4:8: error: `try` is not in the differentiable subset; move it outside ...
        try:
        ^
"""

from __future__ import annotations


class CompileError(Exception):
    """Raised when a derivative cannot be created. Carries the location in the user's code."""

    def __init__(self, message: str, filename: str = "<unknown>", lineno: int = 0,
                 col_offset: int = 0, source_line: str = "") -> None:
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col_offset = col_offset
        self.source_line = source_line
        super().__init__(message)

    @classmethod
    def at(cls, loc: object, message: str) -> CompileError:
        """An error at an ``ir.Loc`` (or anything with filename/lineno/col/line)."""
        if loc is None:
            return cls(message)
        return cls(message, loc.filename, loc.lineno, loc.col, loc.line)

    def __str__(self) -> str:
        head = f"{self.filename}:{self.lineno}:{self.col_offset}: error: {self.message}"
        if not self.source_line:
            return head
        line = self.source_line.rstrip("\n")
        caret = " " * min(self.col_offset, len(line)) + "^"
        return f"{head}\n    {line}\n    {caret}"


class UnsupportedSyntax(CompileError):
    """A statement or expression outside the differentiable subset."""


class UndefinedName(CompileError):
    """A name that is neither a parameter, a local, a global, a closure cell nor a builtin."""


class NoDerivativeRule(CompileError):
    """A call to something s2sad cannot differentiate."""


class NoSource(CompileError):
    """The function's source code is not available (a builtin, a REPL lambda, ...)."""


class BadWrt(CompileError):
    """``wrt`` names no parameter, or one that cannot be differentiated."""


class InternalError(CompileError):
    """A bug in s2sad: a pass produced IR that does not verify."""
