"""``tl.load`` and ``tl.store``: pointers decoded into elements of logical tensors.

A pointer's offset is ``sum(stride * i_k) + i_last``; the coefficient of each
of the tensor's own stride symbols is the index along that dim, the
stride-free part the index along the last dim (or, for a contiguous tensor
indexed without strides, a flat row-major index). A stride of another tensor
in the offset is STL043. Every lane a mask admits must be inside the tensor
(STL042). A load gives a data block whose axes run along the dims the
indices slice; a store becomes obligations (the stored pieces must equal the
target's spec on the elements they land on) and writes (for coverage).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError
from ...ir import reals
from ...ir import terms as T
from ...ir.terms import Const, Load, Term, free_dims
from .. import blocks
from ..blocks import Axis, Block, Undef
from . import ints as I
from .cells import Cells, Memory, Record, placeholder
from .host import HostCopy, HostFill, Tensor
from .ints import Ptr


@dataclass
class Stored:
    """One store into a target: pieces with the boxes of elements each lands on."""

    target: str
    span: Span
    pieces: list[tuple[Term, list[tuple[tuple[int, int], ...]]]] = field(default_factory=list)
    boxes: list[tuple[tuple[int, int], ...]] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Scratch:
    """A store whose value is no function of the elements it lands on: the block, where
    its lanes went, and its record in :class:`~.cells.Memory`."""

    tensor: int
    index: tuple[np.ndarray, ...]
    lanes: np.ndarray
    value: Block
    record: int


def read_back(
    scratch: list[Scratch],
    memory: Memory,
    tensor: Tensor,
    ptr: Ptr,
    admitted: np.ndarray,
    span: Span,
) -> Block | None:
    """The block an earlier store of this program left exactly where this load reads,
    when no later store wrote over it."""
    index, inside, error = decode(tensor, ptr, admitted, "a load")
    if error is not None:
        return None
    base = tensor.base or tensor
    cells = memory.of(base.serial)
    for record in reversed(scratch):
        if record.tensor != (tensor.base or tensor).serial or record.value.shape != ptr.shape:
            continue
        same = all(
            (np.broadcast_to(a, ptr.shape)[admitted] == b[admitted]).all()
            for a, b in zip(index, record.index)
        )
        if same and not (admitted & ~record.lanes).any() and cells is not None:
            at = tuple(np.broadcast_to(i, ptr.shape)[admitted] for i in record.index)
            if (cells.owner[at] == record.record).all():
                memory.note_read(cells, at, span)
                return record.value
    return None


def _base_indices(tensor: Tensor, ptr: Ptr, admitted: np.ndarray | None = None) -> list[np.ndarray]:
    """The index along each dim of ``tensor`` (a view: of its base), lane by lane."""
    offset = ptr.offset
    rank = len(tensor.sizes)
    index = [np.zeros(offset.shape, np.int64) for _ in range(rank)]
    own = {s: k for k, s in enumerate(tensor.strides)}
    foreign = [s for s in offset.symbols if s not in own]
    if foreign and admitted is not None:
        # a stride multiplied by 0 on every lane that accesses memory adds nothing
        # to any address: it is no wrong stride (a row index of a one-row case)
        unused = [
            s
            for s in foreign
            if not np.broadcast_to(offset.parts[s], admitted.shape)[admitted].any()
        ]
        if unused:
            parts = {k: v for k, v in offset.parts.items() if k not in unused}
            offset = replace(offset, parts=parts)
            foreign = [s for s in foreign if s not in unused]
    if foreign and tensor.contiguous and all(s.value is not None for s in foreign):
        # strides with known values on a contiguous tensor: the offset is a number
        offset = I.lift(I.make(offset.shape, {None: I.concrete(offset, "")}, offset.wrapped))
    for s in offset.symbols:
        if s not in own:
            which = "a stride of another tensor" if s.tensor != tensor.name else "that stride"
            raise KernelError(
                "STL043",
                f"a pointer into {tensor.name} is built with {s}, {which}",
                notes=(
                    f"{tensor.name}'s strides: "
                    + (", ".join(str(t) for t in tensor.strides) or "none (one dim)")
                    + (", and 1 for its last dim" if rank else ""),
                ),
                help=f"use {tensor.name}'s own strides, or state "
                f"`# stile: assume {tensor.name}.stride(k) == {s}` if they are equal",
            )
        index[own[s]] = offset.parts[s]
    rest = offset.part(None)
    if rank == 0:
        index = []
    elif not offset.symbols and rank > 1 and tensor.contiguous:
        index = list(np.unravel_index(np.clip(rest, 0, tensor.numel - 1), tensor.sizes))
        index[0] = np.where((rest < 0) | (rest >= tensor.numel), -1, index[0])
    else:
        index[-1] = rest
    if tensor.base is None:
        return index
    flat = np.zeros(offset.shape, np.int64)
    for k, idx in enumerate(index):
        flat = flat * tensor.sizes[k] + idx
    bad = np.zeros(offset.shape, bool)
    for k, idx in enumerate(index):
        bad |= (idx < 0) | (idx >= tensor.sizes[k])
    base = tensor.base
    out = list(np.unravel_index(np.clip(flat, 0, base.numel - 1), base.sizes))
    if out:
        out[0] = np.where(bad, -1, out[0])
    return out


def decode(
    tensor: Tensor, ptr: Ptr, admitted: np.ndarray, what: str
) -> tuple[list[np.ndarray], np.ndarray, KernelError | None]:
    """Indices per dim of the element each lane addresses, the admitted lanes that
    are inside the tensor, and the STL042 error for the first lane outside it."""
    index = _base_indices(tensor, ptr, admitted)
    base = tensor.base or tensor
    outside = np.zeros(ptr.shape, bool)
    for k, idx in enumerate(index):
        outside |= (idx < 0) | (idx >= base.sizes[k])
    bad = admitted & outside
    error = None
    if bad.any():
        lane = tuple(int(i) for i in np.argwhere(bad)[0])
        dims = base.dims or tuple(f"dim{k}" for k in range(len(base.sizes)))
        where = ", ".join(f"{d}={int(idx[lane])}" for d, idx in zip(dims, index))
        worst = next(
            (d, int(idx[lane]), size)
            for d, idx, size in zip(dims, index, base.sizes)
            if not 0 <= idx[lane] < size
        )
        error = KernelError(
            "STL042",
            f"{what} of {base.name}[{where}] is out of bounds: "
            f"index {worst[1]} of {worst[0]}, whose size is {worst[2]}",
            notes=(
                f"lane {list(lane)} of the block is admitted by the mask"
                if ptr.shape
                else "the pointer is not masked",
                f"{base.name} has shape {list(base.sizes)}",
            ),
            help="the mask must admit only elements inside the tensor",
        )
    return index, admitted & ~outside, error


def classify(
    index: list[np.ndarray], dims: tuple[str, ...], lanes: np.ndarray, shape: tuple[int, ...]
) -> tuple[list[Axis | None], dict[str, int]]:
    """Which block axis each dim's index runs along (unit step), or the one index it
    holds; anything else is not a slice of lanes (STL002)."""
    axes: list[Axis | None] = [None] * len(shape)
    fixed: dict[str, int] = {}
    if not lanes.any():
        return axes, fixed
    first = tuple(int(i) for i in np.argwhere(lanes)[0]) if shape else ()
    for d, idx in zip(dims, index):
        idx = np.broadcast_to(idx, shape)
        values = idx[lanes]
        if (values == values[0]).all():
            fixed[d] = int(values[0])
            continue
        found = False
        for a, n in enumerate(shape):
            if n == 1 or axes[a] is not None:
                continue
            lane = np.arange(n).reshape([n if i == a else 1 for i in range(len(shape))])
            start = idx - lane
            if (start[lanes] == start[first]).all():
                axes[a] = Axis(d, int(start[first]))
                found = True
                break
        if not found:
            raise KernelError(
                "STL002",
                f"unsupported: the index along {d} is not a slice of the block's lanes",
                help="indices must be an offset plus tl.arange along one block axis, "
                "or the same for every lane",
            )
    return axes, fixed


def swapped(axes: list[Axis | None], dims: tuple[str, ...]) -> bool:
    """Whether a block runs along two of a tensor's dims in the opposite order."""
    order = [dims.index(ax.dim) for ax in axes if ax is not None and ax.dim in dims]
    return any(a > b for a, b in zip(order, order[1:]))


def mask_bounds_the_overrun(
    index: list[np.ndarray],
    dims: tuple[str, ...],
    sizes: tuple[int, ...],
    admitted: np.ndarray,
    axes: list[Axis | None],
    masked_axes: frozenset[int],
) -> bool:
    """Whether the mask bounds the block axis along which the first out-of-bounds lane
    overruns its dim: a bound meant for another dim (strides swapped, STL043). A mask
    that does not depend on that axis (`masked_axes`: the axes along which the mask,
    before broadcasting, has more than one lane) is a missing bound, an out-of-bounds
    read of its own (STL042), even on a block that runs along its dims transposed."""
    shape = admitted.shape
    index = [np.broadcast_to(idx, shape) for idx in index]
    outside = [(idx < 0) | (idx >= size) for idx, size in zip(index, sizes)]
    bad = admitted & np.logical_or.reduce(outside)
    if not shape or not bad.any():
        return False
    lane = tuple(int(i) for i in np.argwhere(bad)[0])
    over = next(d for d, out in zip(dims, outside) if out[lane])
    axis = next((a for a, ax in enumerate(axes) if ax is not None and ax.dim == over), None)
    return axis is None or axis in masked_axes


def swapped_error(name: str, axes: list, dims: tuple[str, ...], cause: KernelError) -> KernelError:
    along = ", ".join(ax.dim for ax in axes if ax is not None)
    return KernelError(
        "STL043",
        f"the pointer into {name} runs along {along}, {name}'s dims in swapped order: "
        "are its strides swapped?",
        notes=(cause.message, *cause.notes),
        help=f"{name} has dims {' '.join(dims)}: pair each index with its own dim's stride",
    )


def scalar_piece(value: object) -> Term | None:
    from fractions import Fraction

    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Fraction)):
        return Const(Fraction(value))
    if isinstance(value, reals.Real) and value.exact is not None:
        return value.exact  # the real a literal or a constant expression stands for
    if isinstance(value, float):
        return T.const(value)
    return None


def load_block(
    tensor: Tensor,
    ptr: Ptr,
    admitted: np.ndarray,
    other: Block | None,
    span: Span,
    memory: Memory,
    masked_axes: frozenset[int] = frozenset(),
) -> tuple[Block, list[KernelError]]:
    """The block a load reads: an input's values, or what the last earlier store (or the
    initial content) left in each element it reads."""
    errors: list[KernelError] = []
    shape = ptr.shape
    index, inside, error = decode(tensor, ptr, admitted, "a load")
    base = tensor.base or tensor
    wrapped = ptr.offset.wrapped
    regular = inside & ~wrapped
    if base.role == "input":
        dims = base.dims or tuple(placeholder(base.name, k) for k in range(len(base.sizes)))
        mem_choice = np.zeros(shape, np.int64)
        options: list = [Load(base.name, dims)]
        real = set(dims)
    else:
        cells = cells_of(memory, base)
        dims = tuple(cells.dims)
        mem_choice, options, race = memory.load(cells, index, regular, span)
        if race is not None:
            errors.append(race)
        real = {d for d, known in zip(cells.dims, cells.known) if known}
    try:
        axes, fixed = classify(index, dims, regular, shape)
    except KernelError:
        if base.role != "input" or len(dims) < 2:
            raise
        # a flat index into a contiguous input whose lanes cross rows: each lane holds
        # its own element, pinned at its indices (no block axis runs along a dim)
        mem_choice, options = element_pieces(base.name, dims, index, regular, shape)
        axes, fixed = [None] * len(shape), {}
    # a dim no stored term depends on (a scratch tensor's own) runs along nothing
    axes = [ax if ax is None or ax.dim in real else None for ax in axes]
    fixed = {d: i for d, i in fixed.items() if d in real}
    if error is not None:
        # the admitted lanes, outside ones included, say how the pointer runs
        try:
            along, _ = classify(index, dims, admitted & ~wrapped, shape)
        except KernelError:
            along = []
        if swapped(along, dims) and mask_bounds_the_overrun(
            index, dims, base.sizes, admitted, along, masked_axes
        ):
            error = swapped_error(base.name, along, dims, error)
        errors.append(error)
    no_other = Undef(span, "masked off by a load without `other=`")
    other_piece: Term | Undef = no_other
    if other is not None:
        if other.ndim or len(other.terms) != 1 or other.axes:
            raise KernelError("STL002", "unsupported: `other=` must be a scalar")
        other_piece = other.terms[0]
        fixed_other = dict(other.fixed)
        if fixed_other:
            raise KernelError("STL002", "unsupported: `other=` that depends on a dim")
    masked, wrap = len(options), len(options) + 1
    choice = np.where(regular, mem_choice, np.where(admitted & wrapped & inside, wrap, masked))
    # lanes outside the tensor that the mask admitted (reported) are undefined too
    choice = np.where(admitted & ~inside, wrap, choice)
    wrapped_piece = Undef(
        span, "its offset was folded back into range by `%`, `tl.where` or `tl.minimum`"
    )
    if error is not None:
        wrapped_piece = Undef(span, "outside the tensor", reported=True)
    block = blocks.loaded(shape, axes, fixed, choice, [*options, other_piece, wrapped_piece])
    return block, errors


def element_pieces(
    name: str,
    dims: tuple[str, ...],
    index: list[np.ndarray],
    lanes: np.ndarray,
    shape: tuple[int, ...],
) -> tuple[np.ndarray, list[Term]]:
    """One piece per element the ``lanes`` read: ``x[M, N]`` fixed at the element's
    indices (``x[M=m, N=n]``, see :func:`~stile_static.ir.terms.at_index`)."""
    idx = np.stack([np.broadcast_to(i, shape) for i in index], axis=-1)
    choice = np.zeros(shape, np.int64)
    options: list[Term] = []
    seen: dict[tuple[int, ...], int] = {}
    for lane in zip(*np.nonzero(lanes)) if shape else [()]:
        element = tuple(int(i) for i in idx[lane])
        if element not in seen:
            term: Term = Load(name, dims)
            for d, i in zip(dims, element):
                term = T.at_index(term, d, i)
            seen[element] = len(options)
            options.append(term)
        choice[lane] = seen[element]
    return choice, options or [Load(name, dims)]


def cells_of(memory: Memory, base: Tensor) -> Cells:
    """The cells of a tensor that is not an input, made with its initial content."""
    initial = Const(Fraction(0)) if base.init == "zeros" else None
    return memory.make(base.serial, base.name, base.sizes, base.dims, initial)


def store_block(
    tensor: Tensor,
    ptr: Ptr,
    admitted: np.ndarray,
    value: Block,
    span: Span,
    memory: Memory,
) -> tuple[Scratch | None, list[KernelError]]:
    """Check one store and record it in ``memory``; a store whose value is no function
    of the elements it lands on comes back as :class:`Scratch` (to be read back with
    the same pointer)."""
    errors: list[KernelError] = []
    shape = ptr.shape
    value = blocks.broadcast(value, shape)
    index, inside, error = decode(tensor, ptr, admitted, "a store")
    if error is not None:
        errors.append(error)
    base = tensor.base or tensor
    if base.role == "input":
        raise KernelError("STL002", f"unsupported: the kernel writes its input {base.name}")
    lanes = inside
    if base.target is not None:
        assert base.dims is not None
        value = blocks.pin_fixed(value, base.dims)
        errors.extend(check_target_store(base, index, lanes, value, span))
        value = mark_reported(value)
    twice = _written_twice(base, index, lanes, shape)
    if twice is not None:
        errors.append(twice)
    cells = cells_of(memory, base)
    race = memory.store(cells, index, lanes, value, span)
    if race is not None:
        errors.append(race)
    # a store with no lane inside records nothing (the last record is another store's)
    if lanes.any() and memory.records[-1].terms is None:
        shaped = tuple(np.broadcast_to(i, shape) for i in index)
        return Scratch(base.serial, shaped, inside, value, len(memory.records) - 1), errors
    return None, errors


def mark_reported(value: Block) -> Block:
    """The block with its undefined lanes marked reported (a store into a result reports
    them): a later read of these lanes is not reported again."""
    terms = tuple(replace(t, reported=True) if isinstance(t, Undef) else t for t in value.terms)
    return Block(value.shape, value.axes, value.fixed, value.pieces, terms)


def _written_twice(
    base: Tensor, index: list[np.ndarray], lanes: np.ndarray, shape: tuple[int, ...]
) -> KernelError | None:
    if not base.sizes or not index:  # a 0-d tensor: np.add.at counted it once
        return None
    idx = tuple(np.broadcast_to(i, shape)[lanes] for i in index)
    # the elements written from two lanes, without a count array the size of the tensor
    flat = np.sort(np.ravel_multi_index(idx, base.sizes))
    twice = flat[1:][flat[1:] == flat[:-1]]
    if not twice.size:
        return None
    element = tuple(int(i) for i in np.unravel_index(int(twice[0]), base.sizes))
    dims = base.dims or tuple(f"dim{k}" for k in range(len(base.sizes)))
    where = ", ".join(f"{d}={i}" for d, i in zip(dims, element))
    return KernelError(
        "STL041",
        f"this store writes {base.name}[{where}] from two lanes",
        help="every element must be written by exactly one lane of one program",
    )


def check_target_store(
    base: Tensor, index: list[np.ndarray], lanes: np.ndarray, value: Block, span: Span
) -> list[KernelError]:
    """A result's elements hold terms over its spec's dims: each stored lane must be the
    value computed for the element it lands on, and defined."""
    errors: list[KernelError] = []
    shape = lanes.shape
    dims = base.dims
    assert dims is not None
    coords = blocks.coordinates(value)
    # lanes without a value (reported where they arise) land nowhere in particular
    undefined = [p for p, t in enumerate(value.terms) if isinstance(t, Undef)]
    valued = lanes & ~np.isin(np.broadcast_to(value.pieces, shape), undefined)
    for k, d in enumerate(dims):
        if d in coords:
            differ = valued & (np.broadcast_to(coords[d], shape) != index[k])
            if differ.any():
                lane = tuple(int(i) for i in np.argwhere(differ)[0])
                raise KernelError(
                    "STL031",
                    f"the store writes the value computed for {d}={int(coords[d][lane])} "
                    f"to {base.name}[{d}={int(index[k][lane])}]",
                    notes=(f"the stored block: {value.describe()}",),
                    help="the stored block and the pointer must run along the same elements",
                )
    for pid, piece in enumerate(value.terms):
        on = lanes & (value.pieces == pid)
        if not on.any():
            continue
        if isinstance(piece, Undef):
            if not piece.reported:
                errors.append(undefined_stored(piece, span))
            continue
        extra = sorted(free_dims(piece) - set(dims))
        if extra:
            raise KernelError(
                "STL030",
                f"the stored value still depends on {', '.join(extra)}, "
                f"which {base.name} does not have",
                notes=(f"{base.name} has dims {' '.join(dims)}",),
                help=f"reduce over {extra[0]} before storing",
            )
    return errors


def undefined_stored(piece: Undef, span: Span) -> KernelError:
    return KernelError(
        "STL044",
        f"the store writes lanes whose value is undefined ({piece.why})",
        notes=(f"stored at line {span.line}",),
        help="mask the store the same way as the load, or give the load `other=`",
        node=piece.span,
    )


def stored_in(memory: Memory, base: Tensor, target: str) -> tuple[list[Stored], list[KernelError]]:
    """What the stores left in a result at the end, store by store, and the STL044
    errors of undefined values that reached it through a scratch tensor or a copy."""
    cells = memory.of(base.serial)
    if cells is None:
        return [], []
    out: dict[int, Stored] = {}
    errors: list[KernelError] = []
    for record, term, boxes in memory.final(cells):
        stored = out.setdefault(id(record), Stored(target, record.span))
        stored.boxes.extend(boxes)
        if isinstance(term, Undef):
            if not term.reported:
                errors.append(undefined_stored(term, record.span))
            continue
        stored.pieces.append((term, boxes))
    return list(out.values()), errors


def host_copy(memory: Memory, event: HostCopy) -> None:
    """``dst`` takes what ``src`` holds now (see :mod:`.host_copies`)."""
    dst, src = event.dst, event.src
    target, source = dst.base or dst, src.base or src
    memory.copies.append(target.serial)
    if event.maybe:
        memory.undecided.append(
            Undecided(target.serial, source.serial, len(memory.records), len(memory.copies), event)
        )
    if target.sizes != dst.sizes or source.sizes != src.sizes:
        raise KernelError("STL002", "unsupported: a copy into or out of a reshaped view")
    cells = cells_of(memory, target)
    if source.role == "input":
        assert source.dims is not None
        dims: tuple[str, ...] | list[str] = source.dims
        held = None
        initial: Term | None = Load(source.name, source.dims)
    else:
        held = cells_of(memory, source)
        dims, initial = held.dims, held.initial
    if all(cells.known):
        # a result's terms are over its spec's dims: the source must use the same ones
        clash = [
            (a, b)
            for a, b, known in zip(cells.dims, dims, held.known if held else [True] * len(dims))
            if known and a != b
        ]
        if clash:
            raise KernelError(
                "STL002",
                f"unsupported: a copy into {target.name} (dims {' '.join(cells.dims)}) of "
                f"{source.name}, whose elements run along {' '.join(dims)}",
            )
        dims = list(cells.dims)
    memory.copy(cells, held, initial, dims)


@dataclass(frozen=True)
class Undecided:
    """A host copy that may be the tensor itself: where the records and copies stood."""

    dst: int
    src: int
    records: int
    copies: int
    event: HostCopy


def undecided_copies(memory: Memory) -> list[tuple[KernelError, object]]:
    """STL002 for each copy that may be the tensor itself, when the copy or the original
    was written after it: whether the write reaches the other depends on a dtype."""
    out = []
    for u in memory.undecided:
        touched = set(memory.copies[u.copies :])
        for serial in (u.dst, u.src):
            cells = memory.of(serial)
            if cells is not None and (
                (cells.owner >= u.records).any() or (cells.rival >= u.records).any()
            ):
                touched.add(serial)
        if touched & {u.dst, u.src}:
            name = u.event.src.name
            out.append(
                (
                    KernelError(
                        "STL002",
                        f"unsupported: whether this makes a copy of {name} depends on its "
                        "dtype, which is not known, and one of the two is written afterwards",
                        notes=("a copy is a new tensor: writes into it do not reach the original",),
                        help=f"give {name} an explicit dtype, or write before the conversion",
                        node=u.event.node,
                    ),
                    u.event.node,
                )
            )
    return out


HOST = (-1, -1, -1)  # the program a host write is recorded as: it races with none


def host_fill(memory: Memory, event: HostFill) -> None:
    """Every element of ``dst`` now holds ``event.term`` (``zero_``, ``fill_``)."""
    base = event.dst.base or event.dst
    cells = cells_of(memory, base)
    memory.records.append(Record(memory.launch, HOST, event.span, (event.term,)))
    cells.owner[...] = len(memory.records) - 1
    cells.piece[...] = 0
    cells.rival[...] = -1
    memory.copies.append(base.serial)
