"""What a verdict covers: the case, the sizes and the autotune config it was found in.

A verified obligation is true for the configuration it was checked in, not
for every use of the kernel; a failure happens in one. Every proof and every
failure of an annotated wrapper carries its :class:`Scope`, so that text,
JSON and SARIF can say which one (``verified for case M=7 N=100: ...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# What decided the sizes: a `# stile: case` line, the sizes the analyzer picks
# when no case line gives them, the sizes the file itself fixes (the
# typed-NumPy dialect's `dim('M', 10)`), or every size (a proof over symbolic sizes).
KINDS = ("case", "default", "file", "all-sizes")


@dataclass(frozen=True)
class Scope:
    """One configuration a verdict was reached in."""

    kind: str  # one of KINDS
    sizes: tuple[tuple[str, int], ...] = ()  # every dim's size, in the annotation's order
    values: tuple[tuple[str, str], ...] = ()  # parameter values a case gives (as repr)
    chosen: tuple[str, ...] = ()  # dims the analyzer picked sizes for (no case line sizes them)
    config: str = ""  # the autotune config(s) of the launches, when a kernel has several

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind

    @property
    def where(self) -> str:
        """The case and sizes, without the config: ``case M=7 N=100``."""
        if self.kind == "all-sizes":
            return "all sizes"
        given = [f"{d}={n}" for d, n in self.sizes if d not in self.chosen]
        given += [f"{name}={value}" for name, value in self.values]
        chosen = " ".join(f"{d}={n}" for d, n in self.sizes if d in self.chosen)
        if self.kind == "file":
            return f"sizes {' '.join(given)}" if given else "the file's sizes"
        if self.kind == "default" and not given:
            return f"default sizes {chosen} (no case line)" if chosen else "the default case"
        text = f"case {' '.join(given)}"
        return f"{text} with default sizes {chosen}" if chosen else text

    def __str__(self) -> str:
        return f"{self.where}, {self.config}" if self.config else self.where

    def as_json(self) -> dict[str, Any]:
        """The field JSON and SARIF carry (``text`` is what the text format prints)."""
        return {
            "kind": self.kind,
            "text": str(self),
            "sizes": dict(self.sizes),
            "values": dict(self.values),
            "default_sizes": list(self.chosen),
            "config": self.config or None,
        }

    @classmethod
    def from_json(cls, data: Any) -> Scope:
        """The scope ``as_json`` gave; raises ValueError on anything else."""
        try:
            sizes = tuple((str(d), int(n)) for d, n in dict(data["sizes"]).items())
            values = tuple((str(k), str(v)) for k, v in dict(data["values"]).items())
            return cls(
                str(data["kind"]),
                sizes,
                values,
                tuple(str(d) for d in data["default_sizes"]),
                str(data["config"] or ""),
            )
        except (KeyError, TypeError, AssertionError) as error:
            raise ValueError(f"not a scope: {error}") from None
