"""A checked file's report as plain data: what the cache stores and the workers return.

``checker.FileReport`` holds the checker's own objects (a ``Verdict`` per proof,
tile types for hovers), and importing the checker loads NumPy, libcst and
egglog: 0.3 s of start-up that a run answered from the cache should not pay.
``StoredReport`` has the same attribute names and shapes, less the tile types,
so the reporters read either, and it round-trips through JSON exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..core.diagnostics import Diagnostic, Span
from ..core.scope import Scope


class ProofLike(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def kernel_form(self) -> str: ...
    @property
    def spec_form(self) -> str: ...
    @property
    def scope(self) -> Scope | None: ...


class ReportLike(Protocol):
    """What the reporters read: ``checker.FileReport`` and ``StoredReport`` both fit."""

    @property
    def path(self) -> str: ...
    @property
    def diagnostics(self) -> Sequence[Diagnostic]: ...
    @property
    def proved(self) -> Sequence[tuple[Span, str, ProofLike]]: ...
    @property
    def is_kernel(self) -> bool: ...


@dataclass(frozen=True)
class ProofForms:
    """What a report keeps of a proof's ``Verdict``: the forms ``--show-proofs`` prints."""

    status: str
    kernel_form: str
    spec_form: str
    scope: Scope | None = None


@dataclass(frozen=True)
class StoredReport:
    path: str
    diagnostics: tuple[Diagnostic, ...] = ()
    proved: tuple[tuple[Span, str, ProofForms], ...] = ()
    is_kernel: bool = True
    ignored_at: int | None = None  # the line of a `# stile: ignore-file` that skipped it

    @classmethod
    def of(cls, report: ReportLike) -> StoredReport:
        return cls(
            report.path,
            tuple(report.diagnostics),
            tuple(
                (span, target, ProofForms(v.status, v.kernel_form, v.spec_form, v.scope))
                for span, target, v in report.proved
            ),
            report.is_kernel,
            getattr(report, "ignored_at", None),
        )

    def at_path(self, path: str) -> StoredReport:
        """The same report for the same file named another way (``./a.py``, ``/abs/a.py``)."""
        if path == self.path:
            return self
        moved = tuple(replace(d, path=path) if d.path == self.path else d for d in self.diagnostics)
        return replace(self, path=path, diagnostics=moved)


def encode(report: StoredReport) -> dict[str, Any]:
    return {
        "path": report.path,
        "is_kernel": report.is_kernel,
        "ignored_at": report.ignored_at,
        "diagnostics": [_encode_diagnostic(d) for d in report.diagnostics],
        "proved": [
            {
                "span": _encode_span(span),
                "target": target,
                "status": forms.status,
                "kernel_form": forms.kernel_form,
                "spec_form": forms.spec_form,
                "scope": _encode_scope(forms.scope),
            }
            for span, target, forms in report.proved
        ],
    }


def decode(data: Any) -> StoredReport:
    """The report ``encode`` gave; raises ValueError on anything it would not have given."""
    obj = _dict(data)
    return StoredReport(
        path=_str(obj["path"]),
        diagnostics=tuple(_decode_diagnostic(d) for d in _list(obj["diagnostics"])),
        proved=tuple(
            (
                _decode_span(p["span"]),
                _str(p["target"]),
                ProofForms(
                    _str(p["status"]),
                    _str(p["kernel_form"]),
                    _str(p["spec_form"]),
                    _decode_scope(p["scope"]),
                ),
            )
            for p in map(_dict, _list(obj["proved"]))
        ),
        is_kernel=_bool(obj["is_kernel"]),
        ignored_at=_optional_int(obj["ignored_at"]),
    )


def _encode_diagnostic(d: Diagnostic) -> dict[str, Any]:
    return {
        "path": d.path,
        "span": _encode_span(d.span),
        "code": d.code,
        "message": d.message,
        "severity": d.severity,
        "notes": list(d.notes),
        "help": d.help,
        "related": [[_encode_span(span), label] for span, label in d.related],
        "scope": _encode_scope(d.scope),
    }


def _decode_diagnostic(data: Any) -> Diagnostic:
    obj = _dict(data)
    help_ = obj["help"]
    return Diagnostic(
        path=_str(obj["path"]),
        span=_decode_span(obj["span"]),
        code=_str(obj["code"]),
        message=_str(obj["message"]),
        severity=_str(obj["severity"]),
        notes=tuple(_str(n) for n in _list(obj["notes"])),
        help=None if help_ is None else _str(help_),
        related=tuple(_decode_related(r) for r in _list(obj["related"])),
        scope=_decode_scope(obj["scope"]),
    )


def _encode_scope(scope: Scope | None) -> dict[str, Any] | None:
    return None if scope is None else scope.as_json()


def _decode_scope(data: Any) -> Scope | None:
    return None if data is None else Scope.from_json(_dict(data))


def _decode_related(data: Any) -> tuple[Span, str]:
    span, label = _list(data)
    return _decode_span(span), _str(label)


def _encode_span(span: Span) -> list[int]:
    return [span.line, span.column, span.end_line, span.end_column]


def _decode_span(data: Any) -> Span:
    line, column, end_line, end_column = (_int(n) for n in _list(data))
    return Span(line, column, end_line, end_column)


def _typed(kind: type, data: Any) -> Any:
    if not isinstance(data, kind) or (kind is int and isinstance(data, bool)):
        raise ValueError(f"expected {kind.__name__}, found {type(data).__name__}")
    return data


def _dict(data: Any) -> dict:
    return _typed(dict, data)


def _list(data: Any) -> list:
    return _typed(list, data)


def _str(data: Any) -> str:
    return _typed(str, data)


def _int(data: Any) -> int:
    return _typed(int, data)


def _bool(data: Any) -> bool:
    return _typed(bool, data)


def _optional_int(data: Any) -> int | None:
    return None if data is None else _int(data)
