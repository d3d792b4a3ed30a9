"""Which run a hovered value comes from: a kernel's line runs once per program (or
grid step) of every case and autotune config, and an editor shows the last run to
reach it, so the hover says which one that is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunAt:
    """The run a value was recorded in: the case, the autotune config (empty when the
    kernel has none) and the program ids or grid step (None: the host wrapper)."""

    case: str
    config: str = ""
    program: tuple[int, ...] | None = None
    generic: bool = False  # program ids symbolic over a class of programs
    unit: str = "program"  # what `program` counts: Triton programs, Pallas grid steps

    def describe(self) -> str:
        parts = [f"case {self.case}"]
        if self.config:
            parts.append(self.config)
        if self.program is not None:
            pid = ", ".join(str(p) for p in self.program)
            kind = f"the class of {self.unit}s from" if self.generic else self.unit
            parts.append(f"{kind} ({pid})")
        else:
            parts.append("the host wrapper")
        return ", ".join(parts)


@dataclass(frozen=True)
class Shown:
    """A hovered value with the run it was recorded in (the last run to reach it)."""

    value: Any
    where: RunAt | None

    def hover(self) -> str:
        text = self.value.hover()
        if self.where is None:
            return text
        return f"{text}\n\nShown for {self.where.describe()} (the last run to reach this line)"


def shown(tile_types: dict, where: dict) -> dict:
    """Each hovered value with the run it was recorded in."""
    return {span: Shown(value, where.get(span)) for span, value in tile_types.items()}
