"""What a verdict covers: the case, the sizes and the autotune config it was found in.

A verified obligation is true for the configuration it was checked in, not
for every use of the kernel; a failure happens in one. Every proof and every
failure of an annotated wrapper carries its :class:`Scope`, so that text,
JSON and SARIF can say which one: ``verified for case M=7 N=100: ...`` when a
case line sizes every dim, ``verified at sizes N in {1, 3, 127} only: ...``
when some dim's sizes were searched (:attr:`Scope.verdict`). ``verified for
all sizes`` is kept for a proof over symbolic sizes, which nothing gives yet.
A search may also find where an int32 value of the kernel starts to wrap
(:attr:`Scope.wraps`): the verdict then names that bound, ``verified at sizes
N in {1, 3, 127} only; int32 offsets wrap from N = 2147483649``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

# What decided the sizes: a `# stile: case` line that sizes every dim, sizes the
# analyzer searched for dims no case line gives (one of them per run), the sizes
# the file itself fixes (the typed-NumPy dialect's `dim('M', 10)`), or every size
# (a proof over symbolic sizes).
KINDS = ("case", "sampled", "file", "all-sizes")


@dataclass(frozen=True)
class Scope:
    """One configuration a verdict was reached in."""

    kind: str  # one of KINDS
    sizes: tuple[tuple[str, int], ...] = ()  # every dim's size, in the annotation's order
    values: tuple[tuple[str, str], ...] = ()  # parameter values a case gives (as repr)
    chosen: tuple[str, ...] = ()  # dims the analyzer picked sizes for (no case line sizes them)
    config: str = ""  # the autotune config(s) of the launches, when a kernel has several
    # kind "sampled": every size searched (or, on a proof, checked) for each chosen dim
    searched: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # kind "sampled": the least sizes found at which an int32 value wraps (STL046), the
    # dim grown to find them first, the other dims at the sizes they had; () if none
    wraps: tuple[tuple[str, int], ...] = ()
    annotation: int = 0  # the first line of the annotation checked (0: none, or unknown)

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind

    @property
    def where(self) -> str:
        """The case and sizes of one run, without the config: ``case M=7 N=100``,
        ``sizes M=3 N=129`` (searched), ``case block=32 at sizes N=129``."""
        if self.kind == "all-sizes":
            return "all sizes"
        given = self._given()
        if self.kind == "file":
            return f"sizes {' '.join(given)}" if given else "the file's sizes"
        chosen = " ".join(f"{d}={n}" for d, n in self.sizes if d in self.chosen)
        if self.kind == "sampled":
            text = f"case {' '.join(given)} at sizes {chosen}" if given else f"sizes {chosen}"
            return text if chosen else f"case {' '.join(given)}"
        return f"case {' '.join(given)}"

    @property
    def verdict(self) -> str:
        """What a proof covers, after "verified": ``for case M=7 N=100``, ``at sizes
        N in {1, 3, 7} only`` (every run of the sizes searched), ``for all sizes``."""
        if self.kind == "all-sizes":
            return "for all sizes"
        if self.kind != "sampled" or not self.searched:
            return f"for {self}"
        given = self._given()
        sets = ", ".join(
            f"{d} in {{{', '.join(str(n) for n in sizes)}}}" for d, sizes in self.searched
        )
        text = (
            f"for case {' '.join(given)} at sizes {sets} only" if given else f"at sizes {sets} only"
        )
        text = f"{text}, {self.config}" if self.config else text
        return f"{text}; {self.wrap_text}" if self.wraps else text

    @property
    def wrap_text(self) -> str:
        """``int32 offsets wrap from N = 2147483649`` (``at M = 1048577, N = 2049`` when
        other dims were held at a size); empty when no wrap was found."""
        if not self.wraps:
            return ""
        (dim, n), *others = self.wraps
        held = ", ".join(f"{d} = {m}" for d, m in others)
        return f"int32 offsets wrap from {dim} = {n}" + (f" (with {held})" if held else "")

    def of_every_run(self) -> Scope:
        """The scope of the proofs of every run of a search: no size of its own."""
        if self.kind != "sampled":
            return self
        kept = tuple((d, n) for d, n in self.sizes if d not in self.chosen)
        return replace(self, sizes=kept)

    def _given(self) -> list[str]:
        given = [f"{d}={n}" for d, n in self.sizes if d not in self.chosen]
        return given + [f"{name}={value}" for name, value in self.values]

    def __str__(self) -> str:
        return f"{self.where}, {self.config}" if self.config else self.where

    def as_json(self) -> dict[str, Any]:
        """The field JSON and SARIF carry (``text`` is what the text format prints)."""
        return {
            "kind": self.kind,
            "text": str(self),
            "verdict": self.verdict,
            "sizes": dict(self.sizes),
            "values": dict(self.values),
            "searched_dims": list(self.chosen),
            "searched": {d: list(sizes) for d, sizes in self.searched},
            "config": self.config or None,
            "int32_wrap": (
                {"dim": self.wraps[0][0], "size": self.wraps[0][1], "sizes": dict(self.wraps)}
                if self.wraps
                else None
            ),
            "annotation_line": self.annotation or None,
        }

    @classmethod
    def from_json(cls, data: Any) -> Scope:
        """The scope ``as_json`` gave; raises ValueError on anything else."""
        try:
            sizes = tuple((str(d), int(n)) for d, n in dict(data["sizes"]).items())
            values = tuple((str(k), str(v)) for k, v in dict(data["values"]).items())
            searched = tuple(
                (str(d), tuple(int(n) for n in ns)) for d, ns in dict(data["searched"]).items()
            )
            wrap = data.get("int32_wrap")
            wraps: tuple[tuple[str, int], ...] = ()
            if wrap is not None:
                first = (str(wrap["dim"]), int(wrap["size"]))
                wraps = (first,) + tuple(
                    (str(d), int(n)) for d, n in dict(wrap["sizes"]).items() if d != first[0]
                )
            return cls(
                str(data["kind"]),
                sizes,
                values,
                tuple(str(d) for d in data["searched_dims"]),
                str(data["config"] or ""),
                searched,
                wraps,
                int(data.get("annotation_line") or 0),
            )
        except (KeyError, TypeError, AssertionError, AttributeError) as error:
            raise ValueError(f"not a scope: {error}") from None
