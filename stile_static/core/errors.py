"""Errors raised while interpreting a kernel; the interpreter adds the location."""

from __future__ import annotations


class KernelError(Exception):
    """A diagnostic about the kernel, raised where it is found."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        notes: tuple[str, ...] = (),
        help: str | None = None,
        node: object | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.notes = notes
        self.help = help
        self.node = node


class Poisoned(Exception):
    """A value that an earlier, already reported error left undefined was used."""
