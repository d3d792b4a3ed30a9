"""Running a ``pallas_call`` over its grid: refs, output blocks and write-backs.

A launch is lowered to one grid (``jax.vmap`` adds leading axes, one per
vmap) and one block spec per operand (block shape, index map). The kernel
runs once per grid step in grid order, last axis fastest. Input refs hold the
block of their array that the index map names; output blocks persist while
consecutive steps map to the same block, and are written back (once, for
coverage) when the block index changes and at the end; scratch buffers
persist across all steps.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import libcst as cst
import numpy as np

from ...core.diagnostics import Span
from ...core.errors import KernelError
from ...ir.terms import Load
from . import blocks, host
from .axes import axis_index
from .blocks import Axis, Block, Undef
from .host import Computed, Split
from .values import (
    Array,
    BlockSpec,
    Closure,
    Ds,
    Iota,
    Jitted,
    Mapped,
    Output,
    PallasCall,
    Ref,
    Scratch,
    ShapeDtype,
    Traced,
    Vmapped,
    as_block,
    kind,
    untraced,
)

if TYPE_CHECKING:
    from .interp import PallasInterpreter


class Abort(Exception):
    """The case cannot go on (a block past the end of an array was reported)."""


# ----------------------------------------------------------- index maps


@dataclass(frozen=True)
class ZeroMap:
    rank: int

    def apply(self, interp: PallasInterpreter, ids: tuple[int, ...]) -> tuple[int, ...]:
        return (0,) * self.rank


@dataclass(frozen=True)
class UserMap:
    func: Any
    rank: int
    span: Span

    def apply(self, interp: PallasInterpreter, ids: tuple[int, ...]) -> tuple[int, ...]:
        saved = interp.in_kernel
        try:
            args = [Traced(i, f"the index map's argument {k}") for k, i in enumerate(ids)]
            result = interp.call_value(self.func, args, {}, None)  # type: ignore[arg-type]
        except KernelError as error:
            if error.node is None:
                error.node = self.span
            raise
        finally:
            interp.in_kernel = saved
        result = result if isinstance(result, (tuple, list)) else (result,)
        if len(result) != self.rank:
            raise KernelError(
                "STL005",
                f"the index map returns {len(result)} block indices for a block of "
                f"{self.rank} axes",
                notes=("JAX raises a ValueError when it traces the index map",),
                help=f"return one block index per axis of the block ({self.rank})",
                node=self.span,
            )
        out = []
        for r in map(untraced, result):
            if isinstance(r, bool) or not isinstance(r, int):
                raise KernelError(
                    "STL002", f"the index map returns {kind(r)}, not an integer", node=self.span
                )
            out.append(r)
        return tuple(out)


@dataclass(frozen=True)
class Batched:
    """One vmap level: the leading grid index is the block index of ``axis``."""

    inner: Any
    axis: int | None

    def apply(self, interp: PallasInterpreter, ids: tuple[int, ...]) -> tuple[int, ...]:
        rest = self.inner.apply(interp, ids[1:])
        if self.axis is None:
            return rest
        return rest[: self.axis] + (ids[0],) + rest[self.axis :]


@dataclass(frozen=True)
class Operand:
    shape: tuple[int, ...]
    block: tuple[int | None, ...]  # None: squeezed (one index, no axis in the ref)
    index_map: Any
    span: Span


@dataclass(frozen=True)
class Lowered:
    kernel: Any
    grid: tuple[int, ...]
    hidden: int  # leading grid axes added by vmap (the kernel does not see them)
    inputs: tuple[Operand, ...]
    outputs: tuple[Operand, ...]
    scratch: tuple[Scratch, ...]
    single_output: bool
    parallel: tuple[bool, ...]  # per grid axis: may run on another core (vmap axes do)
    semantics_span: Span | None  # where dimension_semantics is given


@dataclass(frozen=True)
class WriteBack:
    """An output block written back: its content and where it lies in the array."""

    output: int
    content: Block
    starts: tuple[int, ...]
    squeezed: tuple[bool, ...]
    span: Span


@dataclass
class _OutState:
    ref: Ref
    operand: Operand
    index: tuple[int, ...] | None = None
    since: tuple[int, ...] = ()  # the grid step that moved to ``index``
    left: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=dict
    )  # blocks visited and left: the first and last step of the visit


@dataclass
class Launcher:
    interp: PallasInterpreter
    # every write-back, by (launch serial, output index)
    writebacks: dict[tuple[int, int], list[WriteBack]] = field(default_factory=dict)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)  # concrete domain only
    launches: int = 0
    spans: dict[int, Span] = field(default_factory=dict)  # of each launch, by serial
    # the whole arrays launches returned, by (launch serial, output index)
    contents: dict[tuple[int, int], Block] = field(default_factory=dict)

    # --------------------------------------------------------------- lower

    def lower(self, func: Any, shapes: list[tuple[int, ...]], span: Span) -> Lowered:
        while isinstance(func, Jitted):
            func = func.func
        if isinstance(func, Vmapped):
            return self._lower_vmap(func, shapes, span)
        if not isinstance(func, PallasCall):
            raise KernelError("STL002", f"unsupported: a call of {kind(func)} on arrays")
        inputs = _operands(func.in_specs, shapes, func.span, "in_specs")
        out_values, single = _out_shapes(func.out_shape)
        outputs = _outputs(func.out_specs, [s for s, _ in out_values], func.span)
        for s in func.scratch_shapes:
            if not isinstance(s, Scratch):
                raise KernelError("STL002", f"unsupported scratch shape ({kind(s)})")
        grid = func.grid
        for op in inputs + tuple(o for o in outputs if o is not None):
            if isinstance(op.index_map, UserMap):
                _check_arity(op.index_map.func, len(grid), op.span)
        parallel = func.parallel or (False,) * len(grid)
        return Lowered(
            func.kernel,
            grid,
            0,
            inputs,
            outputs,
            tuple(func.scratch_shapes),
            single,
            parallel,
            func.semantics_span,
        )

    def _lower_vmap(self, func: Vmapped, shapes: list[tuple[int, ...]], span: Span) -> Lowered:
        axes = func.in_axes
        if not isinstance(axes, (tuple, list)):
            axes = [axes] * len(shapes)
        if len(axes) != len(shapes):
            raise KernelError("STL002", "vmap in_axes and the arguments differ in number")
        sizes = {s[a] for s, a in zip(shapes, axes) if a is not None}
        if len(sizes) != 1:
            raise KernelError("STL002", "vmap needs mapped axes of one size")
        (batch,) = sizes
        axes = [
            None if a is None else axis_index(a, len(s), "jax.vmap's in_axes", span)
            for s, a in zip(shapes, axes)
        ]
        inner_shapes = [s if a is None else s[:a] + s[a + 1 :] for s, a in zip(shapes, axes)]
        inner = self.lower(func.func, inner_shapes, span)
        inputs = tuple(_batch(op, a, batch) for op, a in zip(inner.inputs, axes))
        out_axis = func.out_axes
        if isinstance(out_axis, (tuple, list)) or out_axis is None:
            raise KernelError("STL002", "unsupported: vmap out_axes other than one integer")
        outputs = tuple(
            None
            if op is None
            else _batch(
                op, axis_index(out_axis, len(op.shape) + 1, "jax.vmap's out_axes", span), batch
            )
            for op in inner.outputs
        )
        return Lowered(
            inner.kernel,
            (batch, *inner.grid),
            inner.hidden + 1,
            inputs,
            outputs,
            inner.scratch,
            inner.single_output,
            (True, *inner.parallel),
            inner.semantics_span,
        )

    # --------------------------------------------------------------- run

    def launch(self, func: Any, args: list, node: Any) -> Any:
        if any(isinstance(a, Mapped) for a in args):
            # a pallas_call inside a function that jax.vmap maps: the innermost
            # vmap is one more grid axis of this call
            axes = [a.axis if isinstance(a, Mapped) else None for a in args]
            bases = [a.base if isinstance(a, Mapped) else a for a in args]
            return self.launch(Vmapped(func, tuple(axes), 0), bases, node)
        span = self.interp.span(node)
        arrays: list[Any] = []
        for arg in args:
            if isinstance(arg, (Array, Computed, Split)):
                arrays.append(arg)
            elif arg is None:
                arrays.append(None)
            elif isinstance(arg, Output):
                arrays.append(Computed(self.describe(arg), arg.shape, self.content_of(arg)))
            elif isinstance(arg, (Block, blocks.LaneSum)) and arg.shape:
                block = blocks.settle(arg, "an operand of a pallas_call")
                arrays.append(Computed("an array the wrapper computed", arg.shape, block))
            else:
                raise KernelError(
                    "STL002",
                    f"unsupported: {kind(arg)} as an operand of a pallas_call "
                    "(operands are the wrapper's annotated arrays, earlier launches' "
                    "results and arrays computed from them)",
                )
        shapes = [a.shape if a is not None else () for a in arrays]
        lowered = self.lower(func, shapes, span)
        if len(lowered.inputs) != len(arrays):
            raise KernelError(
                "STL002",
                f"{len(lowered.inputs)} in_specs for {len(arrays)} operands",
            )
        self.launches += 1
        serial = self.launches
        self.spans[serial] = span
        self._run(lowered, arrays, serial)
        outs = [
            None if op is None else Output(serial, i, op.shape)
            for i, op in enumerate(lowered.outputs)
        ]
        return outs[0] if lowered.single_output else outs

    def describe(self, output: Output) -> str:
        line = self.spans[output.launch].line
        return f"output {output.index} of the pallas_call at line {line}"

    def content_of(self, output: Output) -> Block:
        """What the array a launch returned holds, element by element."""
        key = (output.launch, output.index)
        if key not in self.contents:
            self.contents[key] = host.assemble(
                output.shape,
                self.writebacks.get(key, []),
                self.describe(output),
                self.spans[output.launch],
                self._concrete,
            )
        return self.contents[key]

    def _run(self, lowered: Lowered, arrays: list, serial: int) -> None:
        interp = self.interp
        fulls = [
            None
            if a is None or isinstance(a, Split)
            else a.block
            if isinstance(a, Computed)
            else self._full(a)
            for a in arrays
        ]
        outputs = [
            None if op is None else _OutState(Ref(f"output {i}", "output", _fresh(op)), op)
            for i, op in enumerate(lowered.outputs)
        ]
        scratch = [
            Ref(
                f"scratch {i}",
                "scratch",
                blocks.uniform(
                    s.shape,
                    Undef(s.span, "a scratch buffer read before it is written"),
                    value=np.full(s.shape, np.nan) if self._concrete else None,
                ),
            )
            for i, s in enumerate(lowered.scratch)
        ]
        interp.grid = lowered.grid[lowered.hidden :]
        previous: tuple[int, ...] | None = None
        host = interp.where
        for ids in itertools.product(*(range(g) for g in lowered.grid)):
            if host is not None:
                interp.where = replace(host, program=ids)
            moved = previous is not None and bool(_parallel_moves(lowered, ids, previous))
            if moved:
                # the step may run on another core: what scratch holds is not its own
                for ref in scratch:
                    ref.content = _other_core(ref, lowered, ids, previous)
            refs: list[Any] = []
            for op, array, full in zip(lowered.inputs, arrays, fulls):
                if array is None:
                    refs.append(None)
                    continue
                starts, sizes = self._place(op, ids, array.name, array.dims)
                beyond = Undef(
                    None, f"positions past the end of {array.name} (padding of a partial block)"
                )
                if isinstance(array, Split):
                    content = array.window(starts, sizes, beyond)
                else:
                    content = blocks.window(full, starts, sizes, beyond)
                refs.append(Ref(array.name, "input", content))
            for k, state in enumerate(outputs):
                if state is None:
                    refs.append(None)
                    continue
                index = state.operand.index_map.apply(interp, ids)
                self._place(state.operand, ids, f"output {k}", None, index)
                if moved and index == state.index:
                    assert previous is not None
                    self._shared_across_cores(lowered, k, state, ids, previous)
                if index != state.index:
                    if state.index is not None:
                        self._write_back(serial, k, state)
                        state.left[state.index] = (state.since, previous or ())
                    if index in state.left:
                        self._revisit(k, state, index, ids)
                    state.index, state.since = index, ids
                    state.ref.content = _fresh(state.operand, self._concrete)
                    state.ref.last_write = None
                refs.append(state.ref)
            refs.extend(scratch)
            interp.program_ids = ids[lowered.hidden :]
            interp.in_kernel = True
            try:
                interp.call_value(lowered.kernel, refs, {}, None)  # type: ignore[arg-type]
            finally:
                interp.in_kernel = False
                interp.program_ids = None
                interp.where = host
            previous = ids
        for k, state in enumerate(outputs):
            if state is not None and state.index is not None:
                self._write_back(serial, k, state)

    def _revisit(self, k: int, state: _OutState, index: tuple[int, ...], ids: tuple) -> None:
        """A block of an output visited again after the grid moved to another one:
        on a TPU it was written back when the grid left it, and the new visit
        starts from a buffer that does not hold it (JAX's TPU interpret mode
        raises an error)."""
        first, last = state.left[index]
        steps = f"step {first}" if first == last else f"steps {first} to {last}"
        self.interp.report(
            KernelError(
                "STL048",
                f"grid step {ids} returns to block {index} of output {k}, which the grid "
                f"left after {steps}",
                notes=(
                    "on a TPU an output block is written back when the block index changes; "
                    "a later visit starts from a buffer that does not hold what was written, "
                    "so the block's first write-back is lost or clobbered",
                    "JAX's TPU interpret mode raises `Revisited block` here",
                ),
                help="order the grid so that the steps that write one output block are "
                "consecutive (the reduction axis last)",
                node=state.operand.span,
            ),
            None,  # type: ignore[arg-type]
        )
        raise Abort

    def _shared_across_cores(
        self, lowered: Lowered, k: int, state: _OutState, ids: tuple, previous: tuple
    ) -> None:
        """Consecutive steps that differ along a "parallel" axis and share an
        output block: on a chip with several cores each core writes its own copy
        of the block back, and one overwrites the other."""
        axes = [
            a for a, (p, x, y) in enumerate(zip(lowered.parallel, ids, previous)) if p and x != y
        ]
        self.interp.report(
            KernelError(
                "STL048",
                f"grid steps {previous} and {ids} write block {state.index} of output {k}, "
                f"but grid axis {axes[0]} between them runs in parallel ({_why_parallel(lowered)})",
                notes=(
                    "the steps of a parallel axis may run on different cores, each with its "
                    "own copy of the output block: the value accumulated across that axis is "
                    "lost (JAX's TPU interpret mode visits parallel axes in a random order)",
                ),
                help='mark the axis the kernel accumulates over "arbitrary" in dimension_semantics',
                node=lowered.semantics_span or state.operand.span,
            ),
            None,  # type: ignore[arg-type]
        )
        raise Abort

    @property
    def _concrete(self) -> bool:
        return self.interp.concrete_seed is not None

    def whole(self, array: Array) -> Block:
        """An input of the wrapper as one block (jnp on it in the wrapper)."""
        return self._full(array)

    def _full(self, array: Array) -> Block:
        value = self.inputs.get(array.name) if self._concrete else None
        return Block(
            array.shape,
            tuple(Axis(d, 0) for d in array.dims),
            tuple((0, n) for n in array.shape),
            (Load(array.name, array.dims),),
            (),
            value,
        )

    def _place(
        self,
        op: Operand,
        ids: tuple[int, ...],
        name: str,
        dims: tuple[str, ...] | None,
        index: tuple[int, ...] | None = None,
    ) -> tuple[tuple[int, ...], tuple[int | None, ...]]:
        """Where the block of this grid step starts; STL042 past the end."""
        index = index if index is not None else op.index_map.apply(self.interp, ids)
        starts = []
        for axis, (i, b, n) in enumerate(zip(index, op.block, op.shape)):
            start = i if b is None else i * b
            size = 1 if b is None else b
            if i < 0 or start >= n:
                where = f"{dims[axis]}" if dims else f"axis {axis}"
                self.interp.report(
                    KernelError(
                        "STL042",
                        f"grid step {ids}: block index {i} of {name} along {where} starts at "
                        f"{start}, past the end of the array ({where} has {n})",
                        notes=(
                            f"the block covers [{start}:{start + size})",
                            "Pallas clamps such a block index silently: the kernel would "
                            "read or write another block",
                        ),
                        help="fix the index map or the grid",
                        node=op.span,
                    ),
                    None,  # type: ignore[arg-type]
                )
                raise Abort
            starts.append(start)
        return tuple(starts), op.block

    def _write_back(self, serial: int, k: int, state: _OutState) -> None:
        if state.ref.last_write is None:
            return  # nothing written to this block
        op = state.operand
        assert state.index is not None
        starts = tuple(i if b is None else i * b for i, b in zip(state.index, op.block))
        self.writebacks.setdefault((serial, k), []).append(
            WriteBack(
                k,
                state.ref.content,
                starts,
                tuple(b is None for b in op.block),
                state.ref.last_write,
            )
        )

    # ----------------------------------------------------- refs and blocks

    def read(self, ref: Ref, index: tuple, span: Span, masked: bool = False) -> Block:
        """The window of a ref that ``index`` names. Past the end of the ref's block
        (not under a load's mask) it is STL042: JAX refuses a static one when it
        traces the kernel, its interpreter shifts a traced one back inside (a
        dynamic slice), the TPU interpret mode raises, and a TPU reads whatever
        lies past the buffer."""
        starts, sizes = _normalize(index, ref.shape)
        if not masked:
            self._check_read_inside(ref, starts, sizes, span)
        beyond = Undef(span, f"positions past the end of the block of {ref.name}")
        block = blocks.window(ref.content, starts, sizes, beyond)
        return _relabel(block, span, ref)

    def write(self, ref: Ref, index: tuple, value: Any, mask: Any, span: Span) -> None:
        if ref.kind == "input":
            raise KernelError("STL002", f"unsupported: a write to the input ref {ref.name}")
        starts, sizes = _normalize(index, ref.shape)
        window = tuple(s for s in sizes if s is not None)
        block = blocks.broadcast_to(as_block(value, "store"), window)
        full = tuple(1 if s is None else s for s in sizes)
        block = _reshape(block, sizes, full)
        mask_block = None
        if mask is not None:
            mask_block = _reshape(blocks.broadcast_to(as_block(mask), window), sizes, full)
        self._check_inside(ref, starts, full, mask_block, span)
        try:
            ref.content = blocks.store(
                ref.content, block, starts, mask_block, f"the write to {ref.name}"
            )
        except blocks.Misaligned as error:
            value = None if ref.content.value is None else np.full(ref.shape, np.nan)
            ref.content = blocks.wrong(ref.shape, error, value)
        ref.last_write = span

    def _check_read_inside(
        self, ref: Ref, starts: tuple[int, ...], sizes: tuple[int | None, ...], span: Span
    ) -> None:
        for axis, (start, size, n) in enumerate(zip(starts, sizes, ref.shape)):
            stop = start + (1 if size is None else size)
            if start < 0 or stop > n:
                self.interp.report(
                    KernelError(
                        "STL042",
                        f"the read of {ref.name} takes [{start}:{stop}) along axis {axis}, "
                        f"past the end of its block (shape {ref.shape})",
                        notes=(
                            "JAX's interpreter moves such a window back inside the block, "
                            "its TPU interpret mode raises, and a TPU reads past the buffer",
                        ),
                        help="read inside the block, or use a masked load",
                        node=span,
                    ),
                    None,  # type: ignore[arg-type]
                )
                raise Abort

    def _check_inside(
        self,
        ref: Ref,
        starts: tuple[int, ...],
        sizes: tuple[int, ...],
        mask: Block | None,
        span: Span,
    ) -> None:
        """A store past the end of its ref's block (not masked off) is out of bounds."""
        inside = np.ones(sizes, dtype=bool)
        for axis, (start, size, n) in enumerate(zip(starts, sizes, ref.shape)):
            positions = start + np.arange(size)
            shape = [1] * len(sizes)
            shape[axis] = size
            inside &= ((positions >= 0) & (positions < n)).reshape(shape)
        if inside.all():
            return
        written = np.ones(sizes, dtype=bool)
        if mask is not None:
            if mask.value is None:
                return  # a mask without known lanes: the store was already refused
            written = np.broadcast_to(mask.value.astype(bool), sizes)
        outside = written & ~inside
        if outside.any():
            lane = tuple(int(i) for i in np.argwhere(outside)[0])
            # reported; the lanes inside are still written (no follow-on STL040)
            error = KernelError(
                "STL042",
                f"the store writes past the end of the block of {ref.name} "
                f"(shape {ref.shape}): lane {lane} is at "
                f"{tuple(s + i for s, i in zip(starts, lane))}",
                help="mask the store (mask=...) to the lanes inside the block",
                node=span,
            )
            self.interp.report(error, None)  # type: ignore[arg-type]

    def slice_value(self, value: Block | Iota, index: tuple, span: Span) -> Block | Iota:
        """``x[:, None]``, ``x[0]``, ``x[2:4]`` of a block or an index vector."""
        new_axes = [k for k, item in enumerate(index) if item is None]
        rest = tuple(item for item in index if item is not None)
        if isinstance(value, Iota):
            if any(
                not (isinstance(r, slice) and r == slice(None)) and r is not Ellipsis for r in rest
            ):
                raise KernelError("STL002", "unsupported: slicing an index vector")
            shape, coeffs = list(value.shape), list(value.coeffs)
            for k in _positions(index, len(value.shape)):
                shape.insert(k, 1)
                coeffs.insert(k, 0)
            return Iota(tuple(shape), tuple(coeffs), value.const)
        starts, sizes = _normalize(rest, value.shape)
        for axis, (s, n, size) in enumerate(zip(starts, value.shape, sizes)):
            if s < 0 or s + (size or 1) > n:
                # JAX clamps a static index into range, and Mosaic's lowering may not:
                # which element is read is not known, so it is not followed
                raise KernelError(
                    "STL002",
                    f"unsupported: the index of a block takes [{s}:{s + (size or 1)}) along "
                    f"axis {axis}, past its {n} position{'s' if n > 1 else ''}",
                    notes=(
                        f"the block has shape {value.shape}",
                        "JAX's interpreter clamps an index out of range (it reads the element "
                        "at the edge); which element a compiled kernel reads is not followed",
                    ),
                    help=f"index axis {axis} with 0 to {n - 1}",
                    node=span,
                )
        block = blocks.window(value, starts, sizes, Undef(None, "out of range"))
        if new_axes:
            for k in _positions(index, block.ndim):
                block = blocks.expand(block, k)
        return block


# -------------------------------------------------------------- helpers


def _positions(index: tuple, ndim: int) -> list[int]:
    """Result positions of the ``None`` entries of an index (after an Ellipsis)."""
    out = []
    position = 0
    consumed = sum(1 for item in index if item is not None and item is not Ellipsis)
    for item in index:
        if item is None:
            out.append(position)
            position += 1
        elif item is Ellipsis:
            position += ndim - consumed
        elif isinstance(item, int):
            continue
        else:
            position += 1
    return out


def _normalize(
    index: tuple, shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int | None, ...]]:
    """Per axis: where the index starts and how many positions it takes
    (``None``: a single integer index, the axis goes away)."""
    items = list(index)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        fill = len(shape) - (len(items) - 1)
        items[k : k + 1] = [slice(None)] * fill
    if len(items) > len(shape):
        raise KernelError(
            "STL005",
            f"an index of {len(items)} axes for an array of {len(shape)} (shape {shape})",
            notes=("JAX raises an IndexError (too many indices) when it traces this index",),
            help=f"give at most {len(shape)} indices",
        )
    items += [slice(None)] * (len(shape) - len(items))
    iotas = [x for x in items if isinstance(x, Iota)]
    starts: list[int] = []
    sizes: list[int | None] = []
    for k, (item, n) in enumerate(zip(items, shape)):
        if isinstance(item, slice):
            for bound in (item.start, item.stop):
                if isinstance(bound, Traced):
                    raise bound.static_error("a slice bound of a ref (use pl.ds(start, size))")
            if not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool))
                for v in (item.start, item.stop)
            ):
                raise KernelError("STL002", "a slice bound must be a known integer")
            # Python's slice: negative bounds count from the end, both are clipped
            lo, hi, _ = slice(item.start, item.stop).indices(n)
            starts.append(lo)
            sizes.append(max(hi - lo, 0))
        elif isinstance(item, Ds):
            starts.append(item.start)
            sizes.append(item.size)
        elif isinstance(item, Iota):
            start, size = _iota_slice(item, k, len(iotas) == len(items))
            starts.append(start)
            sizes.append(size)
        elif isinstance(item, Traced) and isinstance(item.value, int):
            # a traced index is not wrapped; one out of range is checked where it is used
            starts.append(item.value)
            sizes.append(None)
        elif isinstance(item, int) and not isinstance(item, bool):
            # negative indices in range count from the end, as in Python; JAX's
            # interpreter clamps one out of range, which is checked where it is used
            starts.append(item + n if -n <= item < 0 else item)
            sizes.append(None)
        else:
            raise KernelError("STL002", f"unsupported index ({kind(item)})")
    return tuple(starts), tuple(sizes)


def _iota_slice(iota: Iota, k: int, all_iotas: bool) -> tuple[int, int]:
    nonzero = [a for a, c in enumerate(iota.coeffs) if c]
    if len(iota.shape) == 1 and iota.coeffs == (1,):
        return iota.const, iota.shape[0]
    if all_iotas and nonzero == [k] and iota.coeffs[k] == 1:
        return iota.const, iota.shape[k]
    raise KernelError(
        "STL002", "unsupported: a gather (an index vector that is not a contiguous range)"
    )


def _reshape(block: Block, sizes: tuple[int | None, ...], full: tuple[int, ...]) -> Block:
    for k, s in enumerate(sizes):
        if s is None:
            block = blocks.expand(block, k)
    return block


def _relabel(block: Block, span: Span, ref: Ref) -> Block:
    def fix(cell: Any) -> Any:
        if isinstance(cell, Undef) and cell.fresh:
            return Undef(span, f"the block of {ref.name} read before it is written")
        if isinstance(cell, Undef) and cell.span is None:
            return replace(cell, span=span)
        return cell

    return replace(block, cells=tuple(fix(c) for c in block.cells))


def _why_parallel(lowered: Lowered) -> str:
    if lowered.semantics_span is not None:
        return '"parallel" in dimension_semantics'
    return "a vmapped axis, or any axis of a GPU kernel, whose programs run at once"


def _parallel_moves(lowered: Lowered, ids: tuple, previous: tuple) -> list[int]:
    """The "parallel" grid axes whose coordinate differs between two steps."""
    return [a for a, (p, x, y) in enumerate(zip(lowered.parallel, ids, previous)) if p and x != y]


def _other_core(ref: Ref, lowered: Lowered, ids: tuple, previous: tuple) -> Block:
    """Scratch as a step along a "parallel" axis finds it: possibly another core's."""
    axis = _parallel_moves(lowered, ids, previous)[0]
    what = (
        f"{ref.name} at grid step {ids} holds what an earlier step left in it, but grid axis "
        f"{axis} changed since and runs in parallel ({_why_parallel(lowered)}): that step "
        "may have run on another core"
    )
    value = ref.content.value
    return blocks.uniform(
        ref.shape,
        Undef(None, what, code="STL048"),
        value=None if value is None else np.full(ref.shape, np.nan),
    )


def _fresh(op: Operand, concrete: bool = False) -> Block:
    shape = tuple(b for b in op.block if b is not None)
    return blocks.uniform(
        shape,
        Undef(None, "never written", fresh=True),
        value=np.full(shape, np.nan) if concrete else None,
    )


def _out_shapes(out_shape: Any) -> tuple[list[tuple[tuple[int, ...], Any]], bool]:
    single = not isinstance(out_shape, (tuple, list))
    items = [out_shape] if single else list(out_shape)
    out = []
    for item in items:
        if isinstance(item, (ShapeDtype, Array, Output)):
            out.append((tuple(item.shape), item))
        elif item is None and not single:
            out.append((None, None))  # no output here: the kernel's ref and the result are None
        else:
            raise KernelError("STL002", f"unsupported out_shape entry ({kind(item)})")
    return out, single


def _outputs(specs: Any, shapes: list, span: Span) -> tuple:
    """The operands of the outputs; None where out_shape has None (JAX flattens both
    pytrees: a None there is no output, and its spec must be None too)."""
    if all(s is not None for s in shapes):
        return _operands(specs, shapes, span, "out_specs")
    if not isinstance(specs, (tuple, list)) or len(specs) != len(shapes):
        raise KernelError("STL002", "unsupported: out_specs that do not follow out_shape's Nones")
    for spec, shape in zip(specs, shapes):
        if (spec is None) != (shape is None):
            raise KernelError(
                "STL005",
                "out_specs and out_shape differ in where they hold None",
                notes=("JAX raises a ValueError: the two pytrees must have one structure",),
                node=span,
            )
    kept = [(sp, sh) for sp, sh in zip(specs, shapes) if sh is not None]
    ops = iter(_operands([sp for sp, _ in kept], [sh for _, sh in kept], span, "out_specs"))
    return tuple(None if sh is None else next(ops) for sh in shapes)


def _operands(specs: Any, shapes: list[tuple[int, ...]], span: Span, what: str) -> tuple:
    if specs is None:
        specs = [None] * len(shapes)
    elif isinstance(specs, BlockSpec):
        specs = [specs]
    elif not isinstance(specs, (tuple, list)):
        raise KernelError("STL002", f"unsupported {what} ({kind(specs)})")
    if len(specs) != len(shapes):
        raise KernelError(
            "STL005",
            f"{len(specs)} {what} for {len(shapes)} arrays",
            notes=("JAX raises a ValueError: the specs and the arrays must match one to one",),
            help=f"give one entry of {what} per array",
            node=span,
        )
    out = []
    for spec, shape in zip(specs, shapes):
        if spec is None or (isinstance(spec, BlockSpec) and spec.block_shape is None):
            index_map = ZeroMap(len(shape))
            if isinstance(spec, BlockSpec) and spec.index_map is not None:
                index_map = UserMap(spec.index_map, len(shape), spec.span)
            out.append(Operand(shape, shape, index_map, spec.span if spec else span))
            continue
        if not isinstance(spec, BlockSpec):
            raise KernelError("STL002", f"unsupported entry of {what} ({kind(spec)})")
        block = spec.block_shape
        assert block is not None
        if len(block) != len(shape):
            raise KernelError(
                "STL005",
                f"a block shape of {len(block)} axes for an array of {len(shape)}: {block} "
                f"for shape {shape}",
                notes=("JAX raises a ValueError: the block and the array must have one rank",),
                help="give the block one size per axis of the array (None or "
                "pl.Squeezed() for an axis the kernel does not see)",
                node=spec.span,
            )
        index_map = (
            ZeroMap(len(shape))
            if spec.index_map is None
            else UserMap(spec.index_map, len(shape), spec.span)
        )
        out.append(Operand(shape, block, index_map, spec.span))
    return tuple(out)


def _check_arity(func: Any, rank: int, span: Span) -> None:
    """JAX calls an index map with one argument per grid axis: a map that cannot
    take that many is the TypeError JAX raises when it traces the call."""
    if not isinstance(func, Closure):
        return  # other callables are checked when they are called
    params = func.node.params
    if isinstance(params.star_arg, cst.Param):
        return
    names = [p.name.value for p in (*params.posonly_params, *params.params)]
    required = [n for n in names if n not in func.defaults]
    kwonly = [p.name.value for p in params.kwonly_params if p.name.value not in func.defaults]
    if len(required) <= rank <= len(names) and not kwonly:
        return
    raise KernelError(
        "STL005",
        f"the index map takes {len(names)} arguments, the grid has {rank} "
        f"{'axis' if rank == 1 else 'axes'}",
        notes=("JAX calls an index map with one block index per grid axis (a TypeError here)",),
        help=f"give the index map {rank} parameters, one per grid axis",
        node=span,
    )


def _batch(op: Operand, axis: int | None, batch: int) -> Operand:
    if axis is None:
        return Operand(op.shape, op.block, Batched(op.index_map, None), op.span)
    return Operand(
        op.shape[:axis] + (batch,) + op.shape[axis:],
        op.block[:axis] + (None,) + op.block[axis:],
        Batched(op.index_map, axis),
        op.span,
    )
