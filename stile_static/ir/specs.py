"""What a parsed specification is: a term over the output's dims, and the inputs it reads."""

from __future__ import annotations

from dataclasses import dataclass

from .terms import Term


@dataclass(frozen=True)
class InputInfo:
    """An input of the kernel and its logical dims, in shape order."""

    name: str
    dims: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """The value a result must hold: ``term``, a function of ``out_dims``."""

    term: Term
    out_dims: tuple[str, ...]
