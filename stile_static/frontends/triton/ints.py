"""Integer blocks, masks and pointers of a Triton program.

Every integer a program computes is concrete except tensor strides, which
stay symbolic (``x.stride(0)`` is the symbol :class:`Stride` ``x.stride(0)``)
so that a pointer built with another tensor's stride is told apart from a
right one whatever the strides' values. An :class:`Ints` is a block of
integers written as ``sum(stride * array) + array``: one concrete NumPy array
(over the lane grid) per stride symbol, plus the stride-free part. Masks are
concrete boolean arrays. A :class:`Ptr` is a tensor and an :class:`Ints`
offset into it.

Integers have Triton's types (:mod:`.int_types`): a kernel's tensors
(``program_id``, ``arange``, integer arguments and what is computed from them)
are int32 or int64 and wrap on overflow, ``//`` truncates and ``%`` takes the
dividend's sign; Python ints (literals, constexprs, the host's values) keep
Python's semantics among themselves. A lane whose value wrapped is marked, with
the expression it wrapped at, so a pointer offset built from it is STL046.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError
from ...ir.numpy_ops import COMPARE_UFUNCS
from ..blocks import NotGeneric
from . import int_types as IT
from . import wrap_sizes
from .int_types import Overflow


@dataclass(frozen=True)
class Stride:
    """The stride of ``tensor``'s dim ``dim``, in elements; ``value`` when assumed known.
    ``dense`` is its row-major value for the case's sizes, the least a tensor of those
    sizes with non-overlapping rows has: integer types and wrapping take it."""

    tensor: str
    dim: int
    value: int | None = None
    dense: int | None = field(default=None, compare=False)

    @property
    def least(self) -> int:
        if self.value is not None:
            return self.value
        if self.dense is None:
            raise KernelError("STL002", f"unsupported: the size behind {self} is unknown")
        return self.dense

    def __str__(self) -> str:
        return f"{self.tensor}.stride({self.dim})"


class _ProgramKey:
    """A key of :attr:`Ints.parts` that depends on the program id: it has no value,
    no least value and no tensor, so whatever needs one gives up the class."""

    value = None

    @property
    def least(self) -> int:
        raise NotGeneric(f"the value of {self} is needed")

    @property
    def tensor(self) -> str:
        raise NotGeneric(f"{self} is no stride")


@dataclass(frozen=True)
class Pid(_ProgramKey):
    """``tl.program_id(axis)`` in the generic program of the programs ``lo..hi-1``
    along ``axis`` (see :mod:`.program_classes`): a key of :attr:`Ints.parts` like a
    stride, whose value is any of them. It has no value and no least value, so that
    whatever needs one gives up the class (:class:`NotGeneric`). ``box`` is the
    class's box of the grid (every axis), over which :func:`table` spans."""

    axis: int
    lo: int
    hi: int
    box: tuple[tuple[int, int], ...] = ()

    def __str__(self) -> str:
        return f"tl.program_id({self.axis})"

    @property
    def values(self) -> np.ndarray:
        """Its value at each program of the class (an array of the box's shape)."""
        shape = tuple(b - a for a, b in self.box)
        _one_per_program(shape)
        along = [1] * len(shape)
        along[self.axis] = self.hi - self.lo
        return np.broadcast_to(np.arange(self.lo, self.hi).reshape(along), shape)

    @property
    def least_program(self) -> int:
        return self.lo

    @property
    def most_program(self) -> int:
        return self.hi - 1


_SERIALS = itertools.count()


@dataclass(frozen=True, eq=False)
class Derived(_ProgramKey):
    """A scalar integer the program computes from program ids alone in a way that is
    not affine (``pid // n``, ``pid % n``, ``min`` of them, a sum of two of them: the
    grouped ordering of a matmul): a key of :attr:`Ints.parts` like :class:`Pid`,
    whose value at each program of the class is ``values`` (an array of the box's
    shape, computed with Triton's integer semantics for every program at once).
    Identity is the object: two computations are two keys."""

    values: np.ndarray
    box: tuple[tuple[int, int], ...]
    serial: int = field(default_factory=lambda: next(_SERIALS))

    def __str__(self) -> str:
        return f"a function of the program ids (#{self.serial})"

    @property
    def least_program(self) -> int:
        return int(self.values.min())

    @property
    def most_program(self) -> int:
        return int(self.values.max())


ProgramKey = Pid | Derived


def in_grid(key: ProgramKey) -> bool:
    """Whether ``key`` is a program id of the class's box or an integer derived from
    them, which :func:`table` can give at every program; the index of a loop being
    proven by induction (a :class:`Pid` with no box) is not."""
    return bool(key.box)


@dataclass(frozen=True)
class PidTimes(_ProgramKey):
    """The key of ``pid * stride`` in :attr:`Ints.parts` (a row pointer ``pid * s``)."""

    pid: ProgramKey
    stride: Stride

    def __str__(self) -> str:
        return f"{self.pid} * {self.stride}"


class Split(BaseException):  # noqa: N818 - a signal, not an error
    """A fact that holds for part of a class of programs only: the class is cut so that
    a new class starts at each of ``cuts`` (program ids along ``axis``)."""

    def __init__(self, axis: int, cuts: Sequence[int]) -> None:
        super().__init__(f"split axis {axis} at {list(cuts)}")
        self.axis = axis
        self.cuts = tuple(sorted(set(cuts)))


def _one_per_program(shape: tuple[int, ...]) -> None:
    """An array with one value per program of a class: not while probing sizes for an
    int32 wrap (``PEAKS`` set) when the class has more programs than such a run
    affords (a grid of 2**31 programs is one class, but no array of that size)."""
    if PEAKS is not None and int(np.prod(shape, dtype=object)) > wrap_sizes.MAX_PROGRAMS:
        raise wrap_sizes.TooLarge("an array over the programs of a class")


def program_keys(value: Ints) -> list[ProgramKey]:
    """The program ids and the integers derived from them that ``value`` depends on."""
    found: dict[ProgramKey, None] = {}
    for k in value.parts:
        if isinstance(k, PidTimes):
            found[k.pid] = None
        elif isinstance(k, (Pid, Derived)):
            found[k] = None
    return list(found)


def at_program(value: Ints, pid: ProgramKey, program: int) -> Ints:
    """``value`` with ``pid`` at the number ``program`` (one program of its class)."""
    own = [k for k in value.parts if isinstance(k, PidTimes) and k.pid == pid]
    parts = {k: v for k, v in value.parts.items() if k != pid and k not in own}
    parts[None] = value.part(None) + program * value.part(pid)
    for k in own:
        parts[k.stride] = value.part(k.stride) + program * value.parts[k]
    return replace(value, parts=parts)


def at_least_programs(value: Ints) -> Ints:
    """``value`` with every program key at its least value over the class (the class's
    first program when it has one program id; the origin of a box of derived ids)."""
    for key in program_keys(value):
        value = at_program(value, key, key.least_program)
    return value


def by_program(value: Ints) -> tuple[np.ndarray, dict[ProgramKey, np.ndarray]]:
    """``value`` as ``base + sum(key * coefficient)`` lane by lane over its program keys,
    strides at their least value."""
    base = np.zeros(value.shape, np.int64)
    coefficients: dict[ProgramKey, np.ndarray] = {}
    for k, arr in value.parts.items():
        if k is None:
            base = base + arr
        elif isinstance(k, PidTimes):
            coefficients[k.pid] = coefficients.get(k.pid, 0) + k.stride.least * arr
        elif isinstance(k, (Pid, Derived)):
            coefficients[k] = coefficients.get(k, 0) + arr
        else:
            IT.exact(arr)
            base = base + k.least * arr
    return base, coefficients


def class_range(value: Ints) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of each lane of ``value`` over the programs of the class: each key over
    its own least..most independently, so exact for one key and an enclosure else."""
    base, coefficients = by_program(value)
    low, high = base, base
    for key, c in coefficients.items():
        ends = (c * key.least_program, c * key.most_program)
        low = low + np.minimum(*ends)
        high = high + np.maximum(*ends)
    return low, high


def table(value: Ints) -> np.ndarray:
    """A scalar's value at every program of the class (an array of the box's shape),
    strides at their assumed values."""
    keys = program_keys(value)
    if not all(in_grid(k) for k in keys):
        raise NotGeneric("a function of a loop's index and the program ids that is not affine")
    shape = tuple(b - a for a, b in keys[0].box)
    _one_per_program(shape)
    total = np.full(shape, int(value.part(None)), np.int64)
    for k, arr in value.parts.items():
        if k is None:
            continue
        c = int(arr)
        if isinstance(k, PidTimes):
            if k.stride.value is None:
                raise NotGeneric(f"the value of {k.stride} is needed")
            total = total + c * k.stride.value * k.pid.values
        elif isinstance(k, (Pid, Derived)):
            total = total + c * k.values
        else:
            if k.value is None:
                raise NotGeneric(f"the value of {k} is needed")
            total = total + c * k.value
        IT.exact(total)
    return total


def _table_of(value: Ints, box: tuple[tuple[int, int], ...]) -> np.ndarray:
    if program_keys(value):
        return table(value)
    return np.full(tuple(b - a for a, b in box), int(concrete(value, "a program id")), np.int64)


def derived(values: np.ndarray, dtype: str | None, box: tuple[tuple[int, int], ...]) -> Ints | int:
    """An integer whose value at each program of the class is ``values``: a number
    when it is the same at all of them, else a :class:`Derived` key."""
    if dtype is not None:
        lo, hi = IT.bounds(dtype)
        if (values < lo).any() or (values > hi).any():
            raise NotGeneric("an integer of the program ids that wraps at some program")
    first = int(values.flat[0])
    if (values == first).all():
        return typed(first, dtype) if dtype is not None else first
    key = Derived(np.array(values), box)
    return Ints(
        (), {None: np.asarray(0, np.int64), key: np.asarray(1, np.int64)}, np.zeros((), bool), dtype
    )


def _collapse(result: Ints | int) -> Ints | int:
    """A scalar of two or more program keys (``first_pid_m + pid % group``): one derived
    key, so that each dim of a pointer moves with one key."""
    if isinstance(result, int) or result.shape:
        return result
    keys = program_keys(result)
    if len(keys) < 2 or any(not isinstance(k, (Pid, Derived)) for k in result.symbols):
        return result
    if not all(in_grid(k) for k in keys):
        return result  # a loop's index stays a key of its own: the induction moves it
    if result.overflowed is not None:
        raise NotGeneric("a wrapped integer of the program ids")
    return derived(table(result), result.dtype, keys[0].box)


def _program_binary(
    op: str, a: Ints, b: Ints, dtype: str | None, fit: Callable[..., Ints | int]
) -> Ints | int:
    """``a op b`` for ``//``, ``%``, shifts and bitwise operators when an operand
    depends on the program ids: of two scalars, computed for every program of the class
    at once (a :class:`Derived`); of a block by a number, ``%`` and ``//`` where each
    lane's quotient is the same at every program of the class; else not followed."""
    keys = program_keys(a) or program_keys(b)
    if a.lanes_overflowed().any() or b.lanes_overflowed().any():
        raise NotGeneric("a wrapped integer of the program ids")
    if not a.shape and not b.shape:
        box = keys[0].box
        x, y = _table_of(a, box), _table_of(b, box)
        if op in ("//", "%"):
            if (y == 0).any():
                raise NotGeneric("a division by zero at some program")
            if dtype is None:
                result = x // y if op == "//" else x % y
            else:
                result = IT.c_div(x, y) if op == "//" else IT.c_mod(x, y)
        elif op in ("<<", ">>"):
            if dtype is not None:
                IT.check_shift(y, dtype)
            IT.exact(x * 2)
            result = x >> y if op == ">>" else x * (np.int64(2) ** y)
        else:
            fn = {"&": np.bitwise_and, "|": np.bitwise_or, "^": np.bitwise_xor}[op]
            result = fn(x, y)
        return derived(result, dtype, box)
    if op not in ("//", "%") or program_keys(b) or b.shape:
        raise NotGeneric(f"`{op}` of a block that depends on the program ids")
    if any(not isinstance(k, (Pid, Derived)) for k in a.symbols):
        raise NotGeneric(f"`{op}` of an offset built with a stride")
    m = int(concrete(b, op))
    low, high = class_range(a)
    if m <= 0 or (low < 0).any():
        raise NotGeneric(f"`{op}` of an offset that may be negative")
    quotient = low // m
    if (quotient != high // m).any():
        if len(keys) == 1 and isinstance(keys[0], Pid):
            # cut the class where a lane's quotient changes, as the mask rule does
            diff = replace(a, parts={**a.parts, None: a.part(None) - (quotient + 1) * m})
            _compare_class("<", diff, keys[0])
        raise NotGeneric(f"`{op}` whose quotient changes over the class")
    if op == "//":
        return fit({None: quotient})
    parts = dict(a.parts)
    parts[None] = a.part(None) - quotient * m
    return fit(parts, a.wrapped | b.wrapped | (quotient != 0))


def pid_coefficient(value: Ints, pid: Pid) -> np.ndarray:
    """What one more program adds to each lane, strides at their least value."""
    coeff = np.asarray(value.part(pid), np.int64)
    for k, v in value.parts.items():
        if isinstance(k, PidTimes):
            coeff = coeff + k.stride.least * v
    return coeff


def first_out(value: Ints, pid: Pid, low: int, high: int) -> int | None:
    """The first program id of the class at which a lane of ``value`` (affine in the
    program id) leaves ``[low, high]``, or None."""
    coeff = pid_coefficient(value, pid)
    base = least_value(at_program(value, pid, 0))
    start = base + coeff * pid.lo
    if ((start < low) | (start > high)).any():
        return pid.lo
    # in range at the first program: a lane going up leaves above ``high``, one going
    # down below ``low``, each at the first p > (limit - base) / coeff
    first = pid.hi
    for side, limit in ((coeff > 0, high), (coeff < 0, low)):
        if side.any():
            bound = (limit - base[side]) // coeff[side] + 1
            first = min(first, int(np.min(bound)))
    return first if first < pid.hi else None


@dataclass(frozen=True, eq=False)
class Ints:
    """``sum(s * parts[s]) + parts[None]`` lane by lane; ``wrapped`` marks lanes a
    ``%`` folded back into range (their index is not a slice of lanes). ``dtype`` is
    the Triton type (None: a Python int, unbounded); ``overflowed`` marks lanes whose
    value wrapped on the way, ``origin`` where the first one did."""

    shape: tuple[int, ...]
    parts: dict[Stride | None, np.ndarray]
    wrapped: np.ndarray
    dtype: str | None = None
    overflowed: np.ndarray | None = None
    origin: Overflow | None = None
    # typed for one of Triton's two runners, a Python int for the other (an argument
    # equal to 1: a constexpr to the compiler; a loop index: a Python int to the
    # interpreter), and combined with Python ints only: followed where both agree
    weak: bool = False

    def part(self, key: Stride | None) -> np.ndarray:
        arr = self.parts.get(key)
        return np.zeros(self.shape, np.int64) if arr is None else arr

    @property
    def symbols(self) -> list[Stride]:
        return [s for s in self.parts if s is not None]

    def lanes_overflowed(self) -> np.ndarray:
        if self.overflowed is None:
            return np.zeros(self.shape, bool)
        return _shaped(self.overflowed, self.shape)

    def hover(self) -> str:
        from .hover import ints_hover

        return ints_hover(self)

    def describe(self) -> str:
        kind = f" {self.dtype}" if self.dtype else ""
        if not self.shape:
            return f"{show_scalar(self)}{kind and f' ({kind.strip()})'}"
        return f"an{kind} int block of shape {list(self.shape)}"


@dataclass(frozen=True)
class Site:
    """The expression an integer operation comes from, for STL046: its text and its
    operands' are rendered only when something wraps (rendering is slow)."""

    span: Span | None
    render: Callable[[], tuple[str, tuple[str, ...]]]

    @staticmethod
    def of(span: Span | None, source: str, operands: tuple[str, ...] = ()) -> Site:
        return Site(span, lambda: (source, operands))


@dataclass(frozen=True, eq=False)
class Mask:
    """A boolean block (a comparison of integer blocks)."""

    array: np.ndarray

    def hover(self) -> str:
        from .hover import mask_hover

        return mask_hover(self)


def _shaped(arr: Any, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
    """``np.broadcast_to(np.asarray(arr, dtype), shape)``, a read-only view as that is,
    without NumPy's broadcasting machinery when ``arr`` already has the shape and type
    (most operands do; the general call costs microseconds and runs per operation)."""
    if isinstance(arr, np.ndarray) and arr.shape == shape and (dtype is None or arr.dtype == dtype):
        if not arr.flags.writeable:
            return arr
        view = arr.view()
        view.flags.writeable = False
        return view
    return np.broadcast_to(arr if dtype is None else np.asarray(arr, dtype), shape)


def make(
    shape: tuple[int, ...],
    parts: dict,
    wrapped: np.ndarray | None = None,
    dtype: str | None = None,
    overflowed: np.ndarray | None = None,
    origin: Overflow | None = None,
) -> Ints | int:
    """An :class:`Ints`, or a plain int when it is one concrete Python int."""
    shape = tuple(shape)
    clean = {}
    for key, arr in parts.items():
        arr = _shaped(arr, shape, np.int64)
        if key is None or arr.any():
            clean[key] = arr
    if wrapped is None:
        wrapped = np.zeros(shape, bool)
    wrapped = _shaped(wrapped, shape)
    if overflowed is not None:
        overflowed = _shaped(overflowed, shape)
        if not overflowed.any():
            overflowed, origin = None, None
    plain = dtype is None and overflowed is None
    if plain and not shape and list(clean) in ([], [None]) and not wrapped.any():
        return int(clean.get(None, 0))
    return Ints(shape, clean, wrapped, dtype, overflowed, origin)


def lift(value: Any) -> Ints:
    if isinstance(value, Ints):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise KernelError("STL002", f"expected an integer, found {type(value).__name__}")
    return Ints((), {None: np.asarray(int(value), np.int64)}, np.zeros((), bool))


def typed(value: int, dtype: str, weak: bool = False) -> Ints:
    """A Triton scalar of ``dtype`` (a program id, an integer argument)."""
    arr = np.asarray(int(value), np.int64)
    return Ints((), {None: arr}, np.zeros((), bool), dtype, None, None, weak)


def arange(start: int, stop: int) -> Ints | int:
    return make((stop - start,), {None: np.arange(start, stop)}, dtype="int32")


def show_scalar(value: Ints) -> str:
    pieces = [f"{int(arr)}*{s}" if int(arr) != 1 else str(s) for s, arr in value.parts.items() if s]
    if None in value.parts and int(value.parts[None]):
        pieces.append(str(int(value.parts[None])))
    return " + ".join(pieces) or "0"


def _shape(a: Ints, b: Ints) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise KernelError(
            "STL010",
            f"integer blocks of shapes {list(a.shape)} and {list(b.shape)} do not broadcast",
        ) from None


def _dtype(a: Ints, b: Ints) -> str | None:
    """Triton's type of ``a OP b``; a Python int must fit the typed operand."""
    dtype = IT.promote(a.dtype, b.dtype)
    for x in (a, b):
        if x.dtype is None and dtype is not None and not x.symbols:
            for v in (int(x.part(None).min()), int(x.part(None).max())):
                IT.check_scalar(v, dtype)
    return dtype


def least_value(value: Ints) -> np.ndarray:
    """The lanes' numbers, each stride at its known or least (row-major) value."""
    total = np.array(value.part(None))
    for s in value.symbols:
        IT.exact(value.parts[s])
        total = total + s.least * value.parts[s]
    return total


def retype(value: Any, dtype: str | None, site: Site | None = None) -> Ints | int:
    """``value.to(dtype)`` for integer ``dtype`` (None: pointer arithmetic, in 64 bits
    and exact): a narrowing cast wraps, and marks the lanes whose value it changed."""
    x = lift(value)
    if dtype is None or (x.dtype is not None and IT.WIDTHS[dtype] >= IT.WIDTHS[x.dtype]):
        return make(x.shape, x.parts, x.wrapped, dtype, x.overflowed, x.origin)
    return _fit(x.shape, dict(x.parts), x, dtype, x.lanes_overflowed(), x.origin, site, (x,), "to")


def _fit(
    shape: tuple[int, ...],
    parts: dict,
    wrapped_from: Ints | np.ndarray,
    dtype: str | None,
    flagged: np.ndarray,
    origin: Overflow | None,
    site: Site | None,
    operands: tuple[Ints, ...],
    op: str,
) -> Ints | int:
    """The result of an operation computed exactly, wrapped to ``dtype``."""
    wrapped = wrapped_from.wrapped if isinstance(wrapped_from, Ints) else wrapped_from
    if dtype is None:
        return make(shape, parts, wrapped, None, flagged, origin)
    probe = Ints(shape, {k: _shaped(v, shape) for k, v in parts.items()}, wrapped)
    lo, hi = IT.bounds(dtype)
    keys = program_keys(probe)
    if PEAKS is not None and site is not None and site.span is not None and dtype == "int32":
        _record_peak(probe, keys, site.span)
    if len(keys) == 1 and isinstance(keys[0], Pid):
        # affine in the program id: in range at every program of the class, or the
        # class is cut at the first program where a lane wraps
        pid = keys[0]
        wraps = first_out(probe, pid, lo, hi)
        if wraps is not None:
            raise Split(pid.axis, [wraps if wraps > pid.lo else pid.lo + 1])
        return make(shape, parts, wrapped, dtype, flagged, origin)
    if keys:
        # several program ids or derived ones: in range over the class, or not followed
        low, high = class_range(probe)
        if (low < lo).any() or (high > hi).any():
            raise NotGeneric("an integer that may wrap at some program of the class")
        return make(shape, parts, wrapped, dtype, flagged, origin)
    value = least_value(probe)
    IT.exact(value)
    out = (value < lo) | (value > hi)
    if not out.any():
        return make(shape, parts, wrapped, dtype, flagged, origin)
    if probe.symbols:
        # the wrapped value of a symbolic stride expression has no form in the
        # model: an int32 stride product that wraps is address arithmetic gone wrong
        raise _overflow(value, out, dtype, site, operands, op).error("a pointer built from it")
    result = IT.wrap(value, dtype)
    first = origin or _overflow(value, out, dtype, site, operands, op)
    return make(shape, {None: result}, wrapped, dtype, flagged | out, first)


# while a run probes sizes for an int32 wrap (wrap_sizes): how far past zero each int32
# operation's exact value went, by its span, over every lane and program (``-1 - v``
# for a negative v, so that a peak of 2**31 or more wraps on either side)
PEAKS: dict[Span, int] | None = None


def _record_peak(probe: Ints, keys: list[ProgramKey], span: Span) -> None:
    assert PEAKS is not None
    try:
        low, high = class_range(probe) if keys else (least_value(probe),) * 2
    except (NotGeneric, KernelError):
        return  # a value not known over the class: no peak
    if not np.size(low):
        return
    peak = max(int(np.max(high)), -1 - int(np.min(low)))
    if peak > PEAKS.get(span, -1):
        PEAKS[span] = peak


def _overflow(
    value: np.ndarray,
    out: np.ndarray,
    dtype: str,
    site: Site | None,
    operands: tuple[Ints, ...],
    op: str,
) -> Overflow:
    lane = tuple(int(i) for i in np.argwhere(out)[0]) if value.ndim else ()
    shown = []
    source, names = site.render() if site is not None else ("", ())
    for k, x in enumerate(operands):
        v = np.broadcast_to(least_value(x), value.shape)[lane]
        name = names[k] if k < len(names) else ""
        shown.append((name, int(v), x.dtype is not None))
    assumed = tuple(
        f"{s} counts at {s.least:,}, its row-major value: the least it can be for these sizes"
        for x in operands
        for s in x.symbols
        if s.value is None
    )
    exact = int(value[lane])
    return Overflow(
        site.span if site else None,
        source,
        op,
        dtype,
        exact,
        int(IT.wrap(np.asarray(exact), dtype)),
        tuple(shown),
        assumed,
    )


def binary(op: str, left: Any, right: Any, site: Site | None = None) -> Ints | int:
    a, b = lift(left), lift(right)
    if (a.weak or b.weak) and all(x.weak or x.dtype is None for x in (a, b)):
        return _weak_binary(op, a, b, site)
    return _binary(op, a, b, site)


def _weak_binary(op: str, a: Ints, b: Ints, site: Site | None) -> Ints | int:
    """An operation on a weak integer and Python ints, computed on an int32 tensor by
    one of Triton's runners and with Python's semantics by the other: followed only
    where both give the same value."""
    typed = lift(_binary(op, a, b, site))
    folded = lift(_binary(op, lift(retype(a, None)), lift(retype(b, None)), None))
    if typed.origin is not None or (least_value(typed) != least_value(folded)).any():
        raise KernelError(
            "STL002",
            f"unsupported: `{op}` gives {int(least_value(folded).flat[0])} with Python's "
            f"semantics and {int(least_value(typed).flat[0])} on an int32 tensor, and "
            "Triton runs it either way: an argument equal to 1 is a constexpr to the "
            "compiler and an int32 tensor to the interpreter, a `range` loop's index an "
            "int32 tensor to the compiler and a Python int to the interpreter",
            help="make the operand a tensor first (e.g. add `tl.program_id(0) * 0`), or "
            "avoid `//`, `%` and overflow on it before it meets a tensor",
        )
    return replace(typed, weak=True)


def _binary(op: str, a: Ints, b: Ints, site: Site | None) -> Ints | int:
    shape = _shape(a, b)
    wrapped = a.wrapped | b.wrapped
    dtype = _dtype(a, b)
    flagged = _shaped(a.lanes_overflowed() | b.lanes_overflowed(), shape)
    origin = a.origin or b.origin

    def fit(parts: dict, wrap_marks: np.ndarray = wrapped) -> Ints | int:
        return _fit(shape, parts, wrap_marks, dtype, flagged, origin, site, (a, b), op)

    if op in ("+", "-"):
        sign = 1 if op == "+" else -1
        if dtype == "int64":  # int32 and pointer offsets stay far below 2**62
            for x in (a, b):
                for arr in x.parts.values():
                    IT.exact(arr)
        parts = {k: a.part(k) + sign * b.part(k) for k in {**a.parts, **b.parts}}
        return _collapse(fit(parts))
    if op == "*":
        if a.symbols and b.symbols:
            if program_keys(a) and program_keys(b) and not a.shape and not b.shape:
                box = program_keys(a)[0].box
                return derived(_table_of(a, box) * _table_of(b, box), dtype, box)
            if program_keys(a) or program_keys(b):
                return _collapse(fit(_pid_product(a, b)))
            raise KernelError(
                "STL002",
                f"unsupported: a product of two strides ({a.symbols[0]} * {b.symbols[0]})",
            )
        scale, other = (b, a) if not b.symbols else (a, b)
        factor = scale.part(None)
        for arr in other.parts.values():
            if arr.size and factor.size and np.max(np.abs(arr)) and np.max(np.abs(factor)):
                if int(np.max(np.abs(arr))) * int(np.max(np.abs(factor))) >= IT.EXACT_LIMIT:
                    IT.exact(np.asarray([IT.EXACT_LIMIT]))
        return fit({k: v * factor for k, v in other.parts.items()})
    if op in ("&", "|", "^", "//", "%", "<<", ">>") and (program_keys(a) or program_keys(b)):
        return _program_binary(op, a, b, dtype, fit)
    if op in ("&", "|", "^"):
        # bitwise on two's complement: values in range stay in range
        x, y = concrete(a, op), concrete(b, op)
        fn = {"&": np.bitwise_and, "|": np.bitwise_or, "^": np.bitwise_xor}[op]
        return fit({None: fn(x, y)})
    if op in ("//", "%", "<<", ">>"):
        x, y = concrete(a, op), concrete(b, op)
        if op in ("//", "%") and (np.broadcast_to(y, shape) == 0).any():
            raise KernelError("STL002", "integer division by zero")
        if op in ("<<", ">>"):
            if dtype is not None:
                IT.check_shift(np.asarray(y), dtype)
            if op == ">>":
                return fit({None: x >> y})  # arithmetic shift: signed types only
            IT.exact(np.asarray(x) * 2)
            return fit({None: x * (np.int64(2) ** np.asarray(y, np.int64))})
        if dtype is None:  # Python ints: floor division, the divisor's sign
            result = x // y if op == "//" else x % y
        else:
            result = IT.c_div(x, y) if op == "//" else IT.c_mod(x, y)
        if op == "//":
            return fit({None: result})
        if not shape:
            return fit({None: result})  # one number: no lanes to fold out of order
        return fit({None: result}, wrapped | (np.broadcast_to(result != x, shape)))
    raise KernelError("STL002", f"unsupported integer operator `{op}`")


def _pid_product(a: Ints, b: Ints) -> dict:
    """``(sum(c_k*key_k) + d) * (sum(s*b_s) + b0)`` for program ids times strides."""
    if program_keys(b):
        a, b = b, a
    keys = program_keys(a)
    if program_keys(b) or any(not isinstance(k, (Pid, Derived)) for k in a.symbols):
        raise NotGeneric("a product of a program id with itself or of strides")
    d = a.part(None)
    parts: dict = {}
    for k, v in b.parts.items():
        for key in keys:
            c = a.part(key)
            big = int(np.abs(v).max(initial=0)) * max(int(np.abs(c).max()), int(np.abs(d).max()))
            if big >= IT.EXACT_LIMIT:
                IT.exact(np.asarray([IT.EXACT_LIMIT]))
            target = key if k is None else PidTimes(key, k)
            parts[target] = parts.get(target, 0) + c * v
        parts[k] = parts.get(k, 0) + d * v
    return parts


def concrete(value: Ints, why: str) -> np.ndarray:
    """The lanes' numbers; strides count with their value when one is assumed."""
    total = np.array(value.part(None))
    for s in value.symbols:
        if isinstance(s, (Pid, PidTimes, Derived)):
            raise NotGeneric(f"`{why}` needs the value of {s}")
        if s.value is None:
            raise KernelError(
                "STL002",
                f"unsupported: `{why}` needs the value of {s}, which is symbolic",
                help=f"state it with `# stile: assume {s.tensor}.is_contiguous()` if it is",
            )
        total = total + s.value * value.parts[s]
    return total


def compare(op: str, left: Any, right: Any) -> Mask | bool:
    a, b = lift(left), lift(right)
    _dtype(a, b)  # a Python int must fit the typed side
    # exact: the difference is only a way to compare, it is not computed in the program
    diff = binary("-", retype(a, None), retype(b, None))
    if isinstance(diff, int):
        return bool(COMPARE_UFUNCS[op](diff, 0))
    keys = program_keys(diff)
    if keys:
        return _compare_programs(op, diff, keys)
    if diff.symbols and all(s.value is None for s in diff.symbols):
        raise KernelError("STL002", f"unsupported: a comparison involving {diff.symbols[0]}")
    result = COMPARE_UFUNCS[op](concrete(diff, op), 0)
    return bool(result) if not diff.shape else Mask(np.asarray(result))


def _compare_programs(op: str, diff: Ints, keys: list[ProgramKey]) -> Mask | bool:
    """``diff op 0`` over the class: cut (one program id) or the same at every program
    (a scalar of derived ids: computed at each; a block of one derived id: at each
    value it takes); else not followed."""
    if len(keys) == 1 and isinstance(keys[0], Pid):
        return _compare_class(op, diff, keys[0])
    if any(not isinstance(k, (Pid, Derived)) for k in diff.symbols):
        raise NotGeneric("a comparison involving a stride and a program id")
    loops = [k for k in keys if not in_grid(k)]
    if len(loops) == 1 and isinstance(loops[0], Pid):
        return _compare_loop(op, diff, loops[0], [k for k in keys if in_grid(k)])
    if not diff.shape:
        truth = COMPARE_UFUNCS[op](table(diff), 0)
    elif len(keys) == 1:
        points = np.unique(keys[0].values)
        if points.size * int(np.prod(diff.shape)) > 1 << 22:
            raise NotGeneric("a comparison over too many programs")
        base, coefficients = by_program(diff)
        at = base[..., None] + coefficients[keys[0]][..., None] * points
        truth = COMPARE_UFUNCS[op](at, 0)
        truth = np.moveaxis(truth, -1, 0)
    else:
        raise NotGeneric("a comparison involving two program ids")
    if not (truth == truth[0:1] if diff.shape else truth == truth.flat[0]).all():
        raise NotGeneric("a comparison whose truth changes over the class")
    if not diff.shape:
        return bool(truth.flat[0])
    return Mask(np.asarray(truth[0]))


def _compare_loop(op: str, diff: Ints, loop: Pid, grid: list[ProgramKey]) -> Mask | bool:
    """``diff op 0`` where ``diff`` is affine in the index ``loop`` of a loop being
    proven and in program keys of the class the loop runs in: decided at every tuple of
    the keys' values the programs take (computed for all at once) and, affine in the
    index for each of them, at the class's first and last iteration. The same at all:
    that truth; flipping along the iterations: the iterations are cut where a lane
    flips at some program (:class:`Split` along the loop's axis); changing only from
    program to program: not followed."""
    base, coefficients = by_program(diff)
    values = np.stack([np.asarray(k.values).ravel() for k in grid])
    points = np.unique(values, axis=1)  # each tuple of the keys' values once
    if points.shape[1] * int(np.prod(diff.shape)) > 1 << 22:
        raise NotGeneric("a comparison over too many programs")
    offset = np.asarray(base, np.int64)[..., None]
    for k, at in zip(grid, points):
        offset = offset + np.asarray(coefficients[k], np.int64)[..., None] * at
    step = np.broadcast_to(np.asarray(coefficients[loop], np.int64)[..., None], offset.shape)
    IT.exact(offset + step * (loop.hi - 1))
    IT.exact(offset + step * loop.lo)
    ends = [COMPARE_UFUNCS[op](offset + p * step, 0) for p in (loop.lo, loop.hi - 1)]
    if op in ("==", "!="):
        # true (for ==) at the one iteration where the lane's value is 0
        safe = np.where(step == 0, 1, step)
        hit = (step != 0) & (offset % safe == 0)
        at = np.where(hit, -offset // safe, loop.lo - 1)
        inside = hit & (at >= loop.lo) & (at < loop.hi)
        if inside.any():
            flips = np.unique(at[inside])
            cuts = [int(c) for p in flips for c in (p, p + 1) if loop.lo < c < loop.hi]
            raise Split(loop.axis, cuts[:2] + cuts[-2:])
    elif not np.array_equal(ends[0], ends[1]):
        # monotone in the index for each lane and program: cut at the first and the
        # last iteration where one flips (the parts are decided again on their own)
        flips = ends[0] != ends[1]
        lo = np.full(offset.shape, loop.lo)
        hi = np.full(offset.shape, loop.hi - 1)  # differs at hi, not at lo
        while ((hi - lo > 1) & flips).any():
            mid = (lo + hi) // 2
            same = COMPARE_UFUNCS[op](offset + mid * step, 0) == ends[0]
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        cut = hi[flips]
        raise Split(loop.axis, [int(cut.min()), int(cut.max())])
    truth = ends[0]
    if not (truth == truth[..., :1]).all():
        raise NotGeneric("a comparison whose truth changes from program to program")
    if not diff.shape:
        return bool(truth[..., 0])
    return Mask(np.asarray(truth[..., 0]))


def _compare_class(op: str, diff: Ints, pid: Pid) -> Mask | bool:
    """``diff op 0`` for every program of a class, when it is the same lane by lane
    for all; else the class is cut where a lane's truth flips (``diff`` is affine in
    the program id: a lane flips once, twice for ``==``/``!=``)."""
    if diff.symbols != [pid]:
        raise NotGeneric("a comparison involving a stride and a program id")
    coeff = np.asarray(diff.parts[pid], np.int64)
    base = diff.part(None)
    ends = [COMPARE_UFUNCS[op](base + p * coeff, 0) for p in (pid.lo, pid.hi - 1)]
    if op in ("==", "!="):
        # true (for ==) at the one program where the lane's value is 0
        hit = (coeff != 0) & (base % np.where(coeff == 0, 1, coeff) == 0)
        at = np.where(hit, -base // np.where(coeff == 0, 1, coeff), pid.lo - 1)
        inside = hit & (at >= pid.lo) & (at < pid.hi)
        if inside.any():
            points = np.unique(at[inside])
            cuts = [int(c) for p in points for c in (p, p + 1) if pid.lo < c < pid.hi]
            raise Split(pid.axis, cuts[:2] + cuts[-2:])
        uniform = ends[0]
    else:
        if not np.array_equal(ends[0], ends[1]):
            # monotone per lane: the first program where it differs from the first
            flips = ends[0] != ends[1]
            lo = np.full(coeff.shape, pid.lo)
            hi = np.full(coeff.shape, pid.hi - 1)  # differs at hi, not at lo
            for _ in range(64):
                mid = (lo + hi) // 2
                same = COMPARE_UFUNCS[op](base + mid * coeff, 0) == ends[0]
                lo = np.where(same, mid, lo)
                hi = np.where(same, hi, mid)
                if (hi - lo <= 1).all():
                    break
            points = np.unique(hi[flips])
            raise Split(pid.axis, [int(points[0]), int(points[-1])])
        uniform = ends[0]
    return bool(uniform) if not diff.shape else Mask(np.asarray(uniform))


def minimum_maximum(name: str, left: Any, right: Any) -> Ints | int:
    """``tl.minimum``/``tl.maximum`` (and ``min``/``max``) of integers, typed. A block
    clamped by a bound (``tl.minimum(offs, N - 1)``) keeps its lanes' numbers; the lanes
    the bound replaced are marked as not a slice of lanes (see :func:`select`)."""
    a, b = lift(left), lift(right)
    dtype = _dtype(a, b)
    fn = np.maximum if name == "maximum" else np.minimum
    keys = program_keys(a) or program_keys(b)
    if keys:
        # of scalars: at every program of the class at once (the grouped ordering)
        if a.shape or b.shape or a.lanes_overflowed().any() or b.lanes_overflowed().any():
            raise NotGeneric(f"tl.{name} of a block that depends on the program ids")
        box = keys[0].box
        return derived(fn(_table_of(a, box), _table_of(b, box)), dtype, box)
    x, y = concrete(a, f"tl.{name}"), concrete(b, f"tl.{name}")
    shape = _shape(a, b)
    flagged = np.broadcast_to(a.lanes_overflowed() | b.lanes_overflowed(), shape)
    result = fn(x, y)
    wrapped = np.broadcast_to(a.wrapped | b.wrapped, shape)
    if shape:
        reference = x if a.shape or not b.shape else y
        wrapped = wrapped | (np.broadcast_to(result, shape) != np.broadcast_to(reference, shape))
    return make(shape, {None: result}, wrapped, dtype, flagged, a.origin or b.origin)


def select(mask: np.ndarray, left: Any, right: Any) -> Ints | int:
    """``tl.where(mask, a, b)`` of integers, lane by lane (each stride's part too). The
    lanes that take the other branch than the block one (the clamp in
    ``tl.where(offs < N, offs, 0)``) are marked as not a slice of lanes: a load through
    them gives no value to follow, which is sound, as their element is no element the
    block runs along."""
    a, b = lift(left), lift(right)
    dtype = _dtype(a, b)
    shape = tuple(np.broadcast_shapes(mask.shape, a.shape, b.shape))
    mask = np.broadcast_to(mask, shape)
    parts = {
        k: np.where(mask, np.broadcast_to(a.part(k), shape), np.broadcast_to(b.part(k), shape))
        for k in {**a.parts, **b.parts}
    }
    wrapped = np.where(mask, np.broadcast_to(a.wrapped, shape), np.broadcast_to(b.wrapped, shape))
    # the branch of the block: ``a`` unless only ``b`` is one
    other = ~mask if a.shape or not b.shape else mask
    diff = np.zeros(shape, bool)
    for k in parts:
        diff |= np.broadcast_to(a.part(k), shape) != np.broadcast_to(b.part(k), shape)
    wrapped = wrapped | (other & diff)
    flagged = np.broadcast_to(a.lanes_overflowed() | b.lanes_overflowed(), shape)
    return make(shape, parts, wrapped, dtype, flagged, a.origin or b.origin)


def mask_array(value: Any, shape: Sequence[int] | None = None) -> np.ndarray:
    if isinstance(value, Mask):
        arr = value.array
    elif isinstance(value, (bool, np.bool_)):
        arr = np.asarray(bool(value))
    else:
        raise KernelError("STL002", "a mask must be a comparison of integer blocks")
    return arr if shape is None else np.broadcast_to(arr, tuple(shape))


def mask_binary(op: str, left: Any, right: Any) -> Mask | bool:
    a, b = mask_array(left), mask_array(right)
    fn = {"&": np.logical_and, "|": np.logical_or, "^": np.logical_xor}[op]
    out = fn(a, b)
    return bool(out) if out.ndim == 0 else Mask(out)


def expand(value: Ints | Mask, index: Sequence[object]) -> Ints | Mask:
    key = tuple(None if i is None else slice(None) for i in index)
    if isinstance(value, Mask):
        return Mask(value.array[key])
    parts = {k: v[key] for k, v in value.parts.items()}
    wrapped = value.wrapped[key]
    flagged = None if value.overflowed is None else value.lanes_overflowed()[key]
    return Ints(wrapped.shape, parts, wrapped, value.dtype, flagged, value.origin)


def broadcast(value: Ints, shape: tuple[int, ...]) -> Ints:
    flagged = value.overflowed
    return Ints(
        tuple(shape),
        {k: np.broadcast_to(v, shape) for k, v in value.parts.items()},
        np.broadcast_to(value.wrapped, shape),
        value.dtype,
        None if flagged is None else np.broadcast_to(flagged, shape),
        value.origin,
    )


@dataclass(frozen=True, eq=False)
class Ptr:
    """A pointer (block) into ``tensor``: element offsets ``offset``."""

    tensor: Any  # a host Tensor
    offset: Ints

    @property
    def shape(self) -> tuple[int, ...]:
        return self.offset.shape

    def hover(self) -> str:
        from .hover import ptr_hover

        return ptr_hover(self)


def ptr_add(ptr: Ptr, value: Any, sign: int = 1) -> Ptr:
    """Pointer arithmetic is 64-bit: the offset is sign-extended and added exactly
    (lanes that wrapped before stay marked)."""
    value = retype(value, None)
    if sign < 0:
        value = binary("*", value, -1)
    offset = binary("+", retype(ptr.offset, None), value)
    return Ptr(ptr.tensor, lift(offset))


def check_offset(ptr: Ptr, admitted: np.ndarray, use: str) -> None:
    """STL046 when an admitted lane's offset wrapped on the way."""
    offset = ptr.offset
    if offset.origin is not None and (offset.lanes_overflowed() & admitted).any():
        raise offset.origin.error(use)


@dataclass(frozen=True, eq=False)
class BlockPtr:
    """``tl.make_block_ptr(...)`` (or a tensor descriptor's block at ``offsets``): a
    block of ``block_shape`` elements at ``offsets`` of a parent of ``shape``."""

    base: Ptr
    shape: tuple[int, ...]
    strides: tuple[Any, ...]
    offsets: tuple[Any, ...]
    block_shape: tuple[int, ...]

    def pointer(self) -> Ptr:
        """Every lane's element: ``base + sum((offset_k + lane_k) * stride_k)``."""
        rank = len(self.block_shape)
        total: Any = retype(self.base.offset, None)
        for k, (start, stride, n) in enumerate(zip(self.offsets, self.strides, self.block_shape)):
            lane = np.arange(n).reshape([n if i == k else 1 for i in range(rank)])
            index = binary("+", retype(start, None), make(tuple(lane.shape), {None: lane}))
            total = binary("+", total, binary("*", index, retype(stride, None)))
        return Ptr(self.base.tensor, broadcast(lift(total), self.block_shape))

    def inside(self, dims: Sequence[int]) -> np.ndarray:
        """Lanes inside the parent shape along ``dims`` (a ``boundary_check``)."""
        rank = len(self.block_shape)
        ok = np.ones(self.block_shape, bool)
        for k in dims:
            n = self.block_shape[k]
            lane = np.arange(n).reshape([n if i == k else 1 for i in range(rank)])
            start = concrete(lift(self.offsets[k]), "a block pointer's offset")
            ok = ok & (start + lane >= 0) & (start + lane < concrete(lift(self.shape[k]), "shape"))
        return ok

    def advance(self, deltas: Sequence[Any]) -> BlockPtr:
        offsets = tuple(binary("+", a, b) for a, b in zip(self.offsets, deltas))
        return BlockPtr(self.base, self.shape, self.strides, offsets, self.block_shape)


@dataclass(frozen=True, eq=False)
class Descriptor:
    """``tl.make_tensor_descriptor(base, shape, strides, block_shape)``."""

    base: Ptr
    shape: tuple[Any, ...]
    strides: tuple[Any, ...]
    block_shape: tuple[int, ...]

    def at(self, offsets: Sequence[Any]) -> BlockPtr:
        return BlockPtr(self.base, self.shape, self.strides, tuple(offsets), self.block_shape)
