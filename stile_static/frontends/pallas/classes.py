"""Plain dataclasses in wrapper code (a dataclass of block sizes with a default).

``@dataclasses.dataclass`` classes whose body declares fields (``name: type``
with an optional default) and methods: plain, ``@classmethod`` and
``@property``. Instances are immutable records; nothing else about classes is
followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.errors import KernelError

MISSING = object()


@dataclass(frozen=True)
class DataclassDecorator:
    """``dataclasses.dataclass`` or ``dataclasses.dataclass(frozen=True, ...)``."""


@dataclass(frozen=True, eq=False)
class ClassValue:
    name: str
    fields: tuple[tuple[str, Any], ...]  # (name, default or MISSING), in order
    methods: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (kind, function)

    def make(self, args: list, kwargs: dict) -> Instance:
        names = [n for n, _ in self.fields]
        if len(args) > len(names):
            raise KernelError("STL002", f"{self.name}() takes {len(names)} fields")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names or key in values:
                raise KernelError("STL002", f"{self.name}() got an unexpected field `{key}`")
            values[key] = value
        for name, default in self.fields:
            if name not in values:
                if default is MISSING:
                    raise KernelError("STL002", f"{self.name}() is missing the field `{name}`")
                values[name] = default
        return Instance(self, tuple(values.items()))


@dataclass(frozen=True, eq=False)
class Instance:
    cls: ClassValue
    values: tuple[tuple[str, Any], ...]

    def get(self, name: str) -> Any:
        for key, value in self.values:
            if key == name:
                return value
        return MISSING


@dataclass(frozen=True)
class BoundMethod:
    func: Any
    receiver: Any
