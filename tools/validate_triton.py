"""Run every Triton fixture in the real Triton interpreter and compare it with its spec.

Usage, in an environment of its own with torch, triton, NumPy and this repository
(stile-static never imports this script; its tests and CI need none of torch or triton):

    python3 -m venv /path/to/triton-venv
    /path/to/triton-venv/bin/pip install torch triton numpy -e .
    /path/to/triton-venv/bin/python tools/validate_triton.py [--seed N] [--summary] [FILE ...]

Each fixture (default: fixtures/triton/*.py) is imported with TRITON_INTERPRET=1, so its
kernels run on the CPU in Triton's own interpreter. The `# stile:` annotation is read
by stile-static's own annotation parser; for every case (the default cases when there
is no case line) and every autotune config, the host wrapper is called on seeded random
inputs, and what it writes to each target is compared with the spec evaluated by
stile-static's NumPy evaluator (float64). Prints a table (fixture, case, config, max abs
error, agrees?, expected) and the command that made it. A correct fixture must agree on
every case; a buggy twin (one with an expected error code inline) must disagree or fault
on at least one; a case marked `# E: STL045` must fail the wrapper's assert, and so must
every case of a wrapper whose first `# stile:` line is marked `# E: STL024`; a fixture
whose only expected error is STL002 claims nothing about its values (its runs are shown,
any outcome is as expected). Exit status
0 when every fixture run behaves as its inline expectations say.

The run watches memory the way a sanitizer would: every tensor (the inputs, and what
the wrapper allocates with torch.empty/zeros, intercepted) lives in a buffer of its own
with padded rows (unless the annotation assumes, or the wrapper asserts, that it is
contiguous) and guards around it, and every load and store of the interpreter is
checked and counted. An access outside a tensor's elements, an element stored twice,
or an output element no program stores is a fault reported at its fixture line, and
must sit on a line that expects STL042 (or STL043), STL041 or STL040 respectively. An
element is stored twice when two lanes of one store, or two programs of one launch,
write it (a later store of the same program, or of a later launch, overwrites it); a
load of an element that another program of the same launch stores, before or after
it, is a race and must sit on a line that expects STL047. Atomics (`tl.atomic_add`,
...) count as stores, except that atomics of several programs into one element are no
rewrite: only a plain access of that element by another program races. Tensors the host copies with
a tensor method (`.float()`, `.clone()`, ...) are watched too, without guards, and
the elements the host writes with `copy_`, `zero_` and `fill_` count as stored. In a
fixture expecting STL046 (an int32 offset that wraps), accesses built from the wrapped
value may go outside anywhere.
Each case runs on two draws: standard normal, and shifted by -3.

With --compile, every launch is also compiled by Triton's own compiler for a CUDA
target (sm_90; no GPU is needed), before the interpreter runs it: the interpreter skips
checks the compiler makes (a `tl.dot` below the backend's minimum, a kernel reading a
module global that is not a `tl.constexpr`), and a launch the compiler refuses is a
fault ("compile: ...") of that run.

Triton 3.6 and later have no block pointers: fixtures that use them are reported as not
run there (triton 3.5.1 runs them; its interpreter needs NumPy < 2.3).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import inspect
import itertools
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stile_static.frontends.triton.interp import DEVICE_SMS
from stile_static.prover.evaluator import evaluate
from stile_static.spec.annotations import (
    Annotation,
    Configuration,
    configurations,
    find_annotations,
)
from stile_static.spec.sizes import blocks_of

ROOT = Path(__file__).resolve().parent.parent
ATOL, RTOL = 1e-4, 2e-3  # per output: |kernel - spec| <= ATOL + RTOL * max |spec|
EXPECT = re.compile(r"#\s*E:\s*((?:STL\d{3}\s*)+)")
CONTIGUOUS = re.compile(r"\b([A-Za-z_]\w*)\.is_contiguous\(\)")
SAME_STRIDE = re.compile(r"\b([A-Za-z_]\w*)\.stride\(\d+\)\s*==\s*([A-Za-z_]\w*)\.stride\(\d+\)")
WARNINGS = {"STL045", "STL049"}
NOTHING_CHECKED = "STL024"  # at the annotation: the wrapper rejects every case
# the random inputs of each case: a standard normal draw, then one shifted by -3 (all
# negative rows, large means: where masked-lane and normalisation bugs show most)
DRAWS = (("N(0,1)", 0.0), ("N(-3,1)", -3.0))
# Triton 3.6 removed tl.make_block_ptr (from its interpreter and language) in favour of
# tensor descriptors: fixtures that use block pointers need an older Triton to run
REMOVED_BLOCK_POINTERS = "Block pointers have been removed"
NOT_RUN = "not run: block pointers need triton<3.6"


def expected_codes(text: str) -> dict[int, set[str]]:
    """The codes written inline (`# E: CODE`), by line."""
    found: dict[int, set[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for match in EXPECT.finditer(line):
            found.setdefault(number, set()).update(match.group(1).split())
    return found


# --- memory with guards ---------------------------------------------------------------


@dataclass
class Memory:
    """Every tensor of one run in a buffer of its own, with row padding and a guard before
    and after. Around an input the buffer holds NaN, which spoils whatever reads it (even
    times zero); around an output, a finite sentinel of its own, so that anything written
    there shows. An output starts as NaN, so that elements no program writes show too."""

    torch: Any
    buffers: list[tuple[str, Any, Any, float]] = field(default_factory=list)
    fixture: str = ""  # the file whose lines bad accesses are reported at
    bad: set[tuple[str, int, str]] = field(default_factory=set)  # (read/write, line, tensor)
    writes: dict[int, np.ndarray] = field(default_factory=dict)  # stores per element, by buffer
    twice: set[tuple[int, str]] = field(default_factory=set)  # (line, tensor) of rewrites
    races: set[tuple[int, str]] = field(default_factory=set)  # (load line, tensor)
    launch: int = 0  # launches so far: programs of one launch run in no order on a GPU
    writer: dict[int, np.ndarray] = field(default_factory=dict)  # (launch, program) code
    reader: dict[int, np.ndarray] = field(default_factory=dict)  # last reader's code
    read_line: dict[int, np.ndarray] = field(default_factory=dict)  # and its load's line
    readers: dict[int, np.ndarray] = field(default_factory=dict)  # read by two programs
    atomic: dict[int, np.ndarray] = field(default_factory=dict)  # last write an atomic one

    def alloc(
        self, name: str, shape: tuple[int, ...], dtype: Any, pad: int, data: Any = None
    ) -> Any:
        torch = self.torch
        extents = [n + (pad if i else 0) for i, n in enumerate(shape)]
        strides, step = [], 1
        for extent in reversed(extents):
            strides.insert(0, step)
            step *= extent
        size = max(step, 1)
        guard = -(-(size + 64) // 16) * 16  # keeps the tensor 16-byte aligned
        # NaN around inputs; around outputs a value exact in float16 too
        sentinel = math.nan if data is not None else -(1000.0 + 8 * len(self.buffers))
        buffer = torch.full((size + 2 * guard,), sentinel, dtype=dtype)
        tensor = buffer.as_strided(shape, strides, guard)
        inside = torch.zeros(buffer.shape, dtype=torch.bool)
        inside.as_strided(shape, strides, guard).fill_(True)
        if data is None:
            tensor.fill_(math.nan)
        else:
            tensor.copy_(torch.as_tensor(data, dtype=dtype))
        self.buffers.append((name, buffer, inside, sentinel))
        return tensor

    def adopt(self, name: str, tensor: Any) -> None:
        """A tensor the host made with a tensor method (a copy): watched, without guards."""
        storage = tensor.untyped_storage()
        for _, buffer, _, _ in self.buffers:
            if buffer.untyped_storage().data_ptr() == storage.data_ptr():
                return
        flat = tensor.as_strided((storage.nbytes() // tensor.element_size(),), (1,), 0)
        inside = self.torch.ones(flat.shape, dtype=self.torch.bool)
        self.buffers.append((name, flat, inside, math.nan))

    def check(self, kind: str, addresses: np.ndarray, program: Any = (0, 0, 0)) -> np.ndarray:
        """Record each address a load or store touches outside the elements of the
        tensors (in the guards, the row padding, or no buffer at all), each element a
        store writes again in one launch (from two lanes, or after another program), and
        each element one program loads and another of the same launch stores (a race),
        with the line of the fixture that made the access. Returns, for each address,
        whether it lies in one of the buffers (an access past the guards is reported
        and must not be made: it would read or overwrite the process's heap)."""
        addresses = np.asarray(addresses, dtype=np.uint64).ravel()
        in_buffer = np.zeros(addresses.shape, bool)
        for _, buffer, _, _ in self.buffers:
            base, end = buffer.data_ptr(), buffer.data_ptr() + buffer.nbytes
            in_buffer |= (addresses >= base) & (addresses < end)
        left = addresses
        hits: set[str] = set()
        rewritten: set[str] = set()
        me = self.launch * 2**32 + (program[0] * 2**20 + program[1] * 2**10 + program[2])
        launch_start = self.launch * 2**32
        line = _fixture_line(self.fixture)
        for number, (name, buffer, inside, _) in enumerate(self.buffers):
            base, size = buffer.data_ptr(), buffer.element_size()
            here = (left >= base) & (left < base + size * buffer.numel())
            if here.any():
                index = ((left[here] - base) // size).astype(np.int64)
                if not inside.numpy()[index].all():
                    hits.add(name)
                none = np.full(buffer.numel(), -1, np.int64)
                writer = self.writer.setdefault(number, none.copy())
                reader = self.reader.setdefault(number, none.copy())
                read_line = self.read_line.setdefault(number, none.copy())
                readers = self.readers.setdefault(number, none.copy())
                # the launch of the code, and whether another program of it made it
                this_launch = (writer[index] >= launch_start) & (writer[index] != me)
                atomic = self.atomic.setdefault(number, np.zeros(buffer.numel(), bool))
                if kind == "atomic":
                    # atomics of several programs into one element commute: no rewrite;
                    # a plain store or load of it by another program is a race
                    fresh = np.zeros(buffer.numel(), np.int64)
                    np.add.at(self.writes.setdefault(number, fresh), index, 1)
                    other = (reader[index] >= launch_start) & (reader[index] != me)
                    other |= readers[index] >= launch_start
                    for at in read_line[index][other][:1]:
                        self.races.add((int(at), name))
                    if (this_launch & ~atomic[index]).any():
                        self.races.add((line, name))
                    writer[index] = me
                    atomic[index] = True
                elif kind == "write":
                    fresh = np.zeros(buffer.numel(), np.int64)
                    counts = self.writes.setdefault(number, fresh)
                    if this_launch.any() or np.unique(index).size < index.size:
                        rewritten.add(name)
                    np.add.at(counts, index, 1)
                    other = (reader[index] >= launch_start) & (reader[index] != me)
                    other |= readers[index] >= launch_start
                    for at in read_line[index][other][:1]:
                        self.races.add((int(at), name))
                    writer[index] = me
                    atomic[index] = False
                else:
                    if this_launch.any():
                        self.races.add((line, name))
                    was = reader[index]
                    readers[index] = np.where(
                        (was >= launch_start) & (was != me), me, readers[index]
                    )
                    reader[index] = me
                    read_line[index] = line
                left = left[~here]
        if left.size:
            hits.add("no tensor")
        if hits or rewritten:
            self.bad.update((kind, line, name) for name in hits)
            self.twice.update((line, name) for name in rewritten)
        return in_buffer

    def host_wrote(self, tensor: Any) -> None:
        """The host wrote every element of ``tensor`` (``copy_``): each counts as stored."""
        for number, (_, buffer, _, _) in enumerate(self.buffers):
            if buffer.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr():
                counts = self.writes.setdefault(number, np.zeros(buffer.numel(), np.int64))
                where = self.torch.arange(buffer.numel()).as_strided(
                    tuple(tensor.shape), tensor.stride(), tensor.storage_offset()
                )
                counts[where.numpy().ravel()] += 1

    def never_written(self, tensor: Any) -> bool:
        """Whether some element of ``tensor`` (a view of one of the buffers) was stored
        by no program."""
        for number, (_, buffer, _, _) in enumerate(self.buffers):
            if buffer.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr():
                counts = self.writes.get(number, np.zeros(buffer.numel(), np.int64))
                where = self.torch.arange(buffer.numel()).as_strided(
                    tuple(tensor.shape), tensor.stride(), tensor.storage_offset()
                )
                return bool((counts[where.numpy()] == 0).any())
        return False  # not memory of this run: nothing known

    def written_outside(self) -> list[str]:
        changed = []
        for name, buffer, inside, sentinel in self.buffers:
            around = buffer[~inside]
            kept = around.isnan() if math.isnan(sentinel) else around == sentinel
            if not bool(kept.all()):
                changed.append(name)
        return changed


def _fixture_line(fixture: str) -> int:
    """The line of the fixture being executed (the kernel's load or store)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename != fixture:
        frame = frame.f_back
    return frame.f_lineno if frame is not None else 0


def watch_memory_accesses(builder: Any) -> None:
    """Make the interpreter's loads and stores (plain, masked, block-pointer and
    descriptor ones all end in these two) and atomics report what they touch to the
    current run."""
    load, store = builder.create_masked_load, builder.create_masked_store

    def reachable(mask: Any, on: np.ndarray, in_buffer: np.ndarray) -> Any:
        """The mask without the lanes whose address lies in no buffer (already reported)."""
        if in_buffer.all():
            return mask
        kept = on.copy()
        kept[on] = in_buffer
        return type(mask)(kept, mask.dtype)

    def masked_load(self: Any, ptrs: Any, mask: Any, *args: Any, **kwargs: Any) -> Any:
        on = np.broadcast_to(mask.data, ptrs.data.shape)
        in_buffer = GuardedTorch.current.check("read", ptrs.data[on], self.grid_idx)
        return load(self, ptrs, reachable(mask, on, in_buffer), *args, **kwargs)

    def masked_store(self: Any, ptrs: Any, value: Any, mask: Any, *args: Any, **kw: Any) -> Any:
        on = np.broadcast_to(mask.data, ptrs.data.shape)
        in_buffer = GuardedTorch.current.check("write", ptrs.data[on], self.grid_idx)
        return store(self, ptrs, value, reachable(mask, on, in_buffer), *args, **kw)

    builder.create_masked_load, builder.create_masked_store = masked_load, masked_store
    rmw, cas = builder.create_atomic_rmw, builder.create_atomic_cas

    def atomic_rmw(self: Any, op: Any, ptrs: Any, value: Any, mask: Any, *args: Any) -> Any:
        on = np.broadcast_to(mask.data, ptrs.data.shape)
        GuardedTorch.current.check("atomic", ptrs.data[on], self.grid_idx)
        return rmw(self, op, ptrs, value, mask, *args)

    def atomic_cas(self: Any, ptrs: Any, *args: Any) -> Any:
        GuardedTorch.current.check("atomic", ptrs.data, self.grid_idx)
        return cas(self, ptrs, *args)

    builder.create_atomic_rmw, builder.create_atomic_cas = atomic_rmw, atomic_cas
    grid_dim = builder.set_grid_dim

    def set_grid_dim(self: Any, *dims: Any) -> Any:
        GuardedTorch.current.launch += 1  # set once per launch, before its programs run
        return grid_dim(self, *dims)

    builder.set_grid_dim = set_grid_dim


# tensor methods that may return a copy: the copy is memory the kernels may use too
COPYING_METHODS = ("float", "half", "double", "bfloat16", "to", "clone", "contiguous", "cpu")


def watch_tensor_copies(torch: Any) -> None:
    for name in COPYING_METHODS:
        method = getattr(torch.Tensor, name)

        def copying(self: Any, *args: Any, _method: Any = method, _name: str = name, **kw: Any):
            out = _method(self, *args, **kw)
            if isinstance(out, torch.Tensor) and out.data_ptr() != self.data_ptr():
                current = getattr(GuardedTorch, "current", None)
                if current is not None:
                    current.adopt(f".{_name}()", out)
            return out

        setattr(torch.Tensor, name, copying)
    for name in HOST_WRITES:
        write = getattr(torch.Tensor, name)
        RAW[name] = write

        def writing(self: Any, *args: Any, _write: Any = write, **kwargs: Any) -> Any:
            out = _write(self, *args, **kwargs)
            current = getattr(GuardedTorch, "current", None)
            if current is not None:
                current.host_wrote(self)
            return out

        setattr(torch.Tensor, name, writing)


# the host's writes into a tensor: its elements count as stored
HOST_WRITES = ("copy_", "zero_", "fill_")
RAW: dict[str, Any] = {}  # the methods themselves, for the allocations' own fills


def _raw(name: str, tensor: Any, *args: Any) -> Any:
    return RAW.get(name, getattr(type(tensor), name))(tensor, *args)


class GuardedTorch:
    """Stands in for `torch` in a fixture: allocations go to the guarded memory."""

    current: Memory  # the memory of the run in progress
    sms: int | None = None  # what a device query answers in this run (see DEVICE_SMS)

    def __init__(self, torch: Any, fixture: str) -> None:
        self._torch = torch
        self.memory = Memory(torch, fixture=fixture)
        GuardedTorch.current = self.memory

    def __getattr__(self, name: str) -> Any:
        if name == "cuda":
            return _DeviceQueries(self._torch.cuda)
        return getattr(self._torch, name)

    def _shape(self, size: tuple[Any, ...]) -> tuple[int, ...]:
        if len(size) == 1 and isinstance(size[0], (tuple, list, self._torch.Size)):
            size = tuple(size[0])
        return tuple(int(n) for n in size)

    def empty(self, *size: Any, dtype: Any = None, **_: Any) -> Any:
        return self.memory.alloc("torch.empty", self._shape(size), dtype or self._torch.float32, 0)

    def zeros(self, *size: Any, dtype: Any = None, **_: Any) -> Any:
        t = self.memory.alloc("torch.zeros", self._shape(size), dtype or self._torch.float32, 0)
        return _raw("fill_", t, 0)

    def full(self, size: Any, value: float, dtype: Any = None, **_: Any) -> Any:
        t = self.memory.alloc("torch.full", self._shape((size,)), dtype or self._torch.float32, 0)
        return _raw("fill_", t, value)

    def empty_like(self, other: Any, dtype: Any = None, **_: Any) -> Any:
        return self.memory.alloc("torch.empty_like", tuple(other.shape), dtype or other.dtype, 0)

    def zeros_like(self, other: Any, dtype: Any = None, **_: Any) -> Any:
        return _raw("fill_", self.empty_like(other, dtype), 0)


class _DeviceQueries:
    """`torch.cuda` with `get_device_properties` answering the run's number of SMs
    (there is no GPU here): a wrapper that asks runs once for each of DEVICE_SMS, as
    stile-static checks it."""

    def __init__(self, cuda: Any) -> None:
        self._cuda = cuda

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cuda, name)

    def get_device_properties(self, *_: Any, **__: Any) -> Any:
        import types

        if GuardedTorch.sms is None:
            raise RuntimeError("a device query in a fixture that names no SM count")
        return types.SimpleNamespace(multi_processor_count=GuardedTorch.sms)


# --- autotune, one config at a time ---------------------------------------------------


class PinnedAutotune:
    """`triton.autotune` in the interpreter would benchmark on a GPU driver: instead the
    launch uses the config chosen by the run, so that every config is checked."""

    chosen = 0
    configs_seen: list[list[Any]] = []

    def __init__(self, fn: Any, configs: list[Any]) -> None:
        self.fn, self.configs = fn, configs
        PinnedAutotune.configs_seen.append(configs)

    def __getitem__(self, grid: Any) -> Callable[..., Any]:
        config = self.configs[min(PinnedAutotune.chosen, len(self.configs) - 1)]
        options = {
            k: getattr(config, k)
            for k in ("num_warps", "num_stages")
            if getattr(config, k, None) is not None
        }

        def launch(*args: Any, **kwargs: Any) -> Any:
            return self.fn[grid](*args, **kwargs, **config.kwargs, **options)

        return launch

    @staticmethod
    def decorator(configs: list[Any], key: Any = None, **_: Any) -> Callable[[Any], Any]:
        return lambda fn: PinnedAutotune(fn, list(configs))


# --- one run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    fixture: str
    case: str
    config: str
    error: float | None  # max abs error over the targets (None: no value to compare)
    status: str  # "agrees", "DISAGREES", "assert", "not run" or a fault
    out_of_bounds: frozenset[int] = frozenset()  # lines of loads/stores that went outside
    rewrites: frozenset[int] = frozenset()  # lines of stores that wrote an element again
    unwritten: frozenset[int] = frozenset()  # annotation lines of outputs not all written
    races: frozenset[int] = frozenset()  # lines of loads racing with another program's store


class CpuDriver:
    """The active driver as the fixtures see it (`triton.runtime.driver.active`): the
    interpreter runs on the CPU, and there is no GPU driver to ask for a device."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch

    def get_active_torch_device(self) -> Any:
        return self.torch.device("cpu")


def _flaggems_like_package() -> str:
    """A package laid out as FlagGems' (``pkg.ops`` beside ``pkg.utils``), so that a
    fixture's ``from ..utils import libentry`` finds the decorator: FlagGems' caches
    the launch and leaves the kernel as it is, so here it returns the kernel."""
    import types

    root = "_stile_flaggems"
    if root not in sys.modules:
        for name in (root, f"{root}.ops"):
            package = types.ModuleType(name)
            package.__path__ = []
            sys.modules[name] = package
        utils = types.ModuleType(f"{root}.utils")
        utils.libentry = lambda: lambda fn: fn  # type: ignore[attr-defined]
        sys.modules[f"{root}.utils"] = utils
    return root


def load_fixture(path: Path, triton: Any, late: bool = True) -> Any:
    PinnedAutotune.configs_seen = []
    triton.autotune = PinnedAutotune.decorator
    name = f"fixture_{path.stem}"
    if "from ..utils import" in path.read_text():
        name = f"{_flaggems_like_package()}.ops.{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if late:  # for the interpreter only: the compiler needs the functions themselves
        _bind_late(module)
    return module


class RealCompiler:
    """``--compile``: each launch compiled by Triton's compiler for a CUDA target.

    Runs in a process of its own without the interpreter (``--compile-only``), so that
    the kernels and the jit helpers they call are the compiler's ``JITFunction``s: each
    case's wrapper is called, and each launch is compiled instead of run."""

    def __init__(self, triton: Any, torch: Any) -> None:
        self.triton, self.torch = triton, torch
        self.done: dict[tuple, str | None] = {}

    def _type(self, value: Any) -> str:
        if isinstance(value, self.torch.Tensor):
            names = {
                self.torch.float32: "fp32",
                self.torch.float16: "fp16",
                self.torch.bfloat16: "bf16",
                self.torch.float64: "fp64",
                self.torch.int32: "i32",
                self.torch.int64: "i64",
            }
            return "*" + names[value.dtype]
        if isinstance(value, bool):
            return "i1"
        if isinstance(value, int):
            return "i32" if -(2**31) <= value < 2**31 else "i64"
        if isinstance(value, float):
            return "fp32"
        raise TypeError(f"no Triton type for {type(value).__name__}")

    def compile(self, jit: Any, args: tuple, kwargs: dict) -> None:
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource

        sig = inspect.signature(jit.fn)
        bound = sig.bind(*args, **{k: v for k, v in kwargs.items() if k in sig.parameters})
        bound.apply_defaults()
        constexprs = {p.name for p in jit.params if p.is_constexpr}
        signature, values = {}, {}
        for name, value in bound.arguments.items():
            if name in constexprs or value is None:
                signature[name], values[name] = "constexpr", value
            else:
                signature[name] = self._type(value)
        code = jit.fn.__code__  # kernels of one name in different fixtures differ
        key = (code.co_filename, jit.fn.__name__, tuple(signature.items()), tuple(values.items()))
        if key not in self.done:
            try:
                source = ASTSource(jit, signature, values)
                self.triton.compile(source, target=GPUTarget("cuda", 90, 32))
                self.done[key] = None
            except Exception as exc:
                # the compiler's message ends with what it refuses (after the source lines)
                lines = [line for line in str(exc).splitlines() if line.strip()]
                cause = exc.__cause__
                self.done[key] = repr(cause) if cause else (lines or [repr(exc)])[-1]
        if self.done[key] is not None:
            raise CompileRefused(self.done[key])


REFUSED = "compile-refused: "  # the lines of --compile-only (a fixture may print too)


class CompileRefused(Exception):
    """The compiler refuses a launch."""


def compile_only(paths: list[Path], seed: int) -> int:
    """Print, as JSON lines, what the compiler refuses in each run of each fixture."""
    import json

    import torch
    import triton
    from triton.runtime.jit import JITFunction

    triton.runtime.driver.set_active(CpuDriver(torch))
    compiler = RealCompiler(triton, torch)

    def compiled_run(self: Any, *args: Any, grid: Any, warmup: Any, **kwargs: Any) -> Any:
        compiler.compile(self, args, kwargs)  # and nothing is run

    JITFunction.run = compiled_run
    for path in paths:
        text = path.read_text()
        found = find_annotations(text, str(path))
        confs = []
        for ann in found.annotations:
            confs += configurations(ann, str(path), blocks_of(text)).configurations
        try:
            module = load_fixture(path, triton, late=False)
        except Exception as exc:
            print(
                REFUSED
                + json.dumps({"fixture": path.name, "case": -1, "config": -1, "error": str(exc)})
            )
            continue
        n_configs = max((len(c) for c in PinnedAutotune.configs_seen), default=1)
        for index, conf in enumerate(confs):
            for config in range(n_configs):
                PinnedAutotune.chosen = config
                row = run_case(module, conf, index, 0, seed, torch, "compile")
                if "CompileRefused" in row.status:
                    error = row.status.split("CompileRefused: ", 1)[1]
                    line = {"fixture": path.name, "case": index, "config": config, "error": error}
                    print(REFUSED + json.dumps(line), flush=True)
    return 0


def refused_by_compiler(paths: list[Path], seed: int) -> dict[tuple[str, int, int], str]:
    """``compile_only`` in a process without the interpreter: (fixture, case, config) ->
    what the compiler says."""
    import json
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    command = [sys.executable, __file__, "--compile-only", "--seed", str(seed), *map(str, paths)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"--compile failed:\n{done.stderr[-2000:]}")
    out = {}
    for line in done.stdout.splitlines():
        if line.startswith(REFUSED):
            item = json.loads(line[len(REFUSED) :])
            out[(item["fixture"], item["case"], item["config"])] = item["error"]
    return out


def stand_in_for_libdevice() -> None:
    """Triton's interpreter has no libdevice (its functions fault on the CPU): the ones
    fixtures call are replaced by exact identities in triton.language's own functions,
    e.g. tanh(x) = 2 * sigmoid(2x) - 1, for the interpreter run only."""
    import triton.language as tl
    from triton.language.extra import libdevice

    stand_ins = {"tanh": lambda x: 2 * tl.sigmoid(2 * x) - 1, "erf": lambda x: tl.erf(x)}
    homes = [libdevice]
    try:
        from triton.language.extra.cuda import libdevice as cuda_libdevice

        homes.append(cuda_libdevice)
    except ImportError:  # pragma: no cover - a build without the CUDA backend
        pass
    for home in homes:
        for name, function in stand_ins.items():
            setattr(home, name, function)


def _bind_late(module: Any) -> None:
    """The interpreter swaps in its own versions of triton.language's functions while a
    kernel runs, which a name imported before (`from triton.language.math import
    rsqrt`) would miss: such names look the function up when called instead."""
    for name, value in list(vars(module).items()):
        home = getattr(value, "__module__", None) or ""
        if callable(value) and home.startswith("triton.language") and hasattr(value, "__name__"):
            setattr(module, name, _late(sys.modules[home], value.__name__))


def _late(home: Any, name: str) -> Callable[..., Any]:
    return lambda *args, **kwargs: getattr(home, name)(*args, **kwargs)


def wrapper_of(module: Any, ann: Annotation, torch: Any) -> Callable[..., Any]:
    """The annotated function, called as its users call it: a module function, or the
    ``forward`` of a ``torch.autograd.Function`` subclass through ``Class.apply``."""
    if ann.name != "forward" or not any(
        isinstance(v, type) and "forward" in vars(v) for v in vars(module).values()
    ):
        return getattr(module, ann.name)
    line = ann.function  # the libcst node: find the class by the forward's parameters
    params = [p.name.value for p in line.params.params][1:]  # without ctx
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, torch.autograd.Function):
            forward = vars(value).get("forward")
            if forward is None:
                continue
            return _applied(value, forward, params)
    raise LookupError(f"no torch.autograd.Function defines {ann.name}")


def _applied(cls: Any, forward: Any, params: list[str]) -> Callable[..., Any]:
    @functools.wraps(getattr(forward, "__func__", forward))
    def call(**kwargs: Any) -> Any:
        return cls.apply(*(kwargs[p] for p in params))

    return call


def pads(ann: Annotation, wrapper: Callable[..., Any]) -> dict[str, int]:
    """A different row padding per tensor (so no two share a stride by chance), none for
    those that must be contiguous (assumed, or asserted by the wrapper), equal ones where
    the annotation assumes equal strides."""
    outputs = [str(o.target) for o in ann.outputs if not o.target.is_return]
    names = [t.name for t in ann.tensors] + outputs
    result = {name: 3 + 2 * i for i, name in enumerate(names)}
    assumed = [a.text for a in ann.assumptions]
    for a, b in (m for text in assumed for m in SAME_STRIDE.findall(text)):
        result[b] = result.get(a, 0)
    # a torch operator (`@custom_op`, `@triton_op`) keeps its function as `_init_fn`
    source = inspect.getsource(getattr(wrapper, "_init_fn", wrapper))
    asserted = [line for line in source.splitlines() if "assert" in line]
    for text in assumed + asserted:
        for name in CONTIGUOUS.findall(text):
            result[name] = 0
    return result


def run_case(
    module: Any,
    conf: Configuration,
    index: int,
    draw: int,
    seed: int,
    torch: Any,
    label: str,
) -> Row:
    ann = conf.annotation
    wrapper = wrapper_of(module, ann, torch)
    sizes = conf.sizes
    rng = np.random.default_rng([seed, index, draw])
    shift = DRAWS[draw][1]
    proxy = GuardedTorch(torch, module.__file__)
    module.torch = proxy
    memory = proxy.memory
    padding = pads(ann, wrapper)
    env: dict[str, Any] = {}
    kwargs: dict[str, Any] = dict(conf.parameter_values)
    dtypes = dict(ann.dtypes)
    for tensor in ann.tensors:
        shape = tuple(sizes[d] for d in tensor.dims)
        # the values the kernel sees, in the tensor's dtype (a `dtype` line; float32)
        values = rng.standard_normal(shape) + shift
        kind = dtypes.get(tensor.name, "float32")
        rounded = torch.as_tensor(values).to(getattr(torch, kind))
        env[tensor.name] = rounded.to(torch.float64).numpy()
        kwargs[tensor.name] = memory.alloc(
            tensor.name, shape, getattr(torch, kind), padding.get(tensor.name, 0), env[tensor.name]
        )
    for name in ann.scalars:
        if name not in kwargs:
            # symbolic in the spec: any value will do; positive suits every assumption
            # the fixtures make (sm_scale > 0) and keeps a missing eps visible
            kwargs[name] = float(rng.uniform(0.2, 1.0))
        env[name] = kwargs[name]
    case = str(conf.case)
    try:
        expected = {
            str(s.target): evaluate(s.spec.term, env, s.spec.out_dims, sizes) for s in conf.specs
        }
    except Exception as exc:  # the spec, not the kernel: nothing to compare with
        return Row(ann.name, case, label, None, f"no spec value: {_short(exc)}")
    for output in ann.outputs:
        name = output.target.name
        if not output.target.is_return and name not in kwargs:
            shape = expected[name].shape
            kwargs[name] = memory.alloc(name, shape, torch.float32, padding.get(name, 0))
    try:
        with np.errstate(all="ignore"):  # garbage a buggy kernel reads may overflow
            result = wrapper(**kwargs)
    except AssertionError as exc:
        return Row(ann.name, case, label, None, f"assert: {exc}" if str(exc) else "assert")
    except Exception as exc:  # a fault of the kernel under the interpreter
        if REMOVED_BLOCK_POINTERS in str(exc):
            return Row(ann.name, case, label, None, NOT_RUN)
        return Row(ann.name, case, label, None, f"fault: {type(exc).__name__}: {_short(exc)}")
    faults, out_of_bounds, rewrites, unwritten, races = [], set(), set(), set(), set()
    for kind, line, name in sorted(memory.bad, key=lambda b: (b[1], b[0], b[2])):
        faults.append(f"{kind} outside {name} at line {line}")
        out_of_bounds.add(line)
    for line, name in sorted(memory.twice):
        faults.append(f"{name} written again at line {line}")
        rewrites.add(line)
    for line, name in sorted(memory.races):
        faults.append(f"the load of {name} at line {line} races with another program's store")
        races.add(line)
    outputs = {str(o.target): _target_value(o.target, kwargs, result) for o in ann.outputs}
    for output in ann.outputs:
        if memory.never_written(outputs[str(output.target)]):
            faults.append(f"{output.target} not all written (line {output.span.line})")
            unwritten.add(output.span.line)
    outside = memory.written_outside()
    if outside and not faults:  # a write the watch missed
        faults.append("wrote outside " + ", ".join(sorted(set(outside))))
    changed = [
        t.name
        for t in ann.tensors
        if not np.array_equal(kwargs[t.name].double().numpy(), env[t.name])
    ]
    if changed:
        faults.append("changed input " + ", ".join(changed))
    if faults:
        evidence = (
            frozenset(out_of_bounds),
            frozenset(rewrites),
            frozenset(unwritten),
            frozenset(races),
        )
        return Row(ann.name, case, label, None, "fault: " + "; ".join(faults), *evidence)
    worst, agrees = 0.0, True
    for output in ann.outputs:
        want = np.asarray(expected[str(output.target)], dtype=np.float64)
        got = outputs[str(output.target)].detach().to(torch.float64).numpy()
        if got.shape != want.shape:
            problem = f"fault: {output.target} has shape {got.shape}, spec {want.shape}"
            return Row(ann.name, case, label, None, problem)
        diff = np.abs(got - want)
        error = float(np.max(diff, initial=0.0)) if np.isfinite(diff).all() else math.inf
        worst = max(worst, error)
        agrees &= error <= ATOL + RTOL * float(np.max(np.abs(want), initial=0.0))
    return Row(ann.name, case, label, worst, "agrees" if agrees else "DISAGREES")


def _target_value(target: Any, kwargs: dict[str, Any], result: Any) -> Any:
    if not target.is_return:
        return kwargs[target.name]
    return result if target.index is None else result[target.index]


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 90 else text[:87] + "..."


# --- the table --------------------------------------------------------------------------


def check_fixture(
    path: Path, seed: int, torch: Any, triton: Any, refused: dict | None = None
) -> tuple[list[Row], str, bool | None]:
    """The rows of one fixture, what it is expected to be, and whether it behaved so
    (None: this Triton cannot run it)."""
    text = path.read_text()
    codes = expected_codes(text)
    errors = set().union(*codes.values()) - WARNINGS - {NOTHING_CHECKED} if codes else set()
    kind = "buggy" if errors else "correct"
    if errors == {"STL002"}:
        # what the analyzer does not follow says nothing about the kernel's values:
        # any outcome of the real run is as expected (the table shows which it was)
        kind = "unsupported"
    found = find_annotations(text, str(path))
    problems = list(found.diagnostics)
    confs = []
    for ann in found.annotations:
        resolved = configurations(ann, str(path), blocks_of(text))
        # a case line an `assume` on dims excludes is only a warning (STL045), not a problem
        problems += [d for d in resolved.diagnostics if d.severity == "error"]
        confs += resolved.configurations
    if problems or not confs:
        why = problems[0].message if problems else "no `# stile:` annotation"
        return [Row(path.name, "-", "-", None, f"annotation: {why}")], kind, False
    try:
        module = load_fixture(path, triton)
    except Exception as exc:
        # a file that raises when imported is as expected where the analyzer says so
        raises = kind == "buggy" and "STL004" in errors
        return [Row(path.name, "-", "-", None, f"fault: import: {_short(exc)}")], kind, raises
    n_configs = max((len(c) for c in PinnedAutotune.configs_seen), default=1)
    rows, as_expected = [], []
    for index, conf in enumerate(confs):
        chunk = []
        queries = "multi_processor_count" in text
        sm_counts: tuple[int | None, ...] = DEVICE_SMS if queries else (None,)
        for draw, config, sms in itertools.product(range(len(DRAWS)), range(n_configs), sm_counts):
            PinnedAutotune.chosen = config
            GuardedTorch.sms = sms
            label = DRAWS[draw][0]
            label += f", config {config}" if PinnedAutotune.configs_seen else ""
            label += f", {sms} SMs" if sms is not None else ""
            row = run_case(module, conf, index, draw, seed, torch, label)
            error = (refused or {}).get((path.name, index, config))
            if error is not None:  # the compiler refuses what the interpreter may run
                row = Row(row.fixture, row.case, row.config, None, f"fault: compile: {error}")
            chunk.append(Row(path.name, *astuple(row)[1:]))
        rows += chunk
        span = conf.case.span
        rejected = NOTHING_CHECKED in codes.get(conf.annotation.span.line, ())
        if rejected or (span is not None and "STL045" in codes.get(span.line, ())):
            as_expected.append(all(r.status.startswith("assert") for r in chunk))
        elif kind == "unsupported":
            as_expected.append(True)
        elif kind == "correct":
            as_expected.append(all(r.status == "agrees" for r in chunk))
        else:
            wrong = [r for r in chunk if r.status != "agrees" and not r.status.startswith("assert")]
            as_expected.append(bool(wrong))
    if any(r.status == NOT_RUN for r in rows):
        return rows, kind, None
    ok = all(as_expected) if kind in ("correct", "unsupported") else any(as_expected)
    # the real interpreter's out-of-bounds accesses are where the fixture expects them:
    # every STL042 line goes outside in some run, and nothing goes outside elsewhere
    # (a wrong stride, STL043, may run outside too)
    seen = frozenset().union(*(r.out_of_bounds for r in rows))
    wanted = {line for line, c in codes.items() if "STL042" in c}
    allowed = {line for line, c in codes.items() if c & {"STL042", "STL043"}}
    if any("STL046" in c for c in codes.values()):
        # an offset that wraps (STL046, at the expression that wraps) may send any
        # load or store built from it outside
        allowed |= seen
    for line in sorted(wanted - seen):
        print(f"NOTE {path.name}:{line}: STL042 expected, but no run went out of bounds there")
    for line in sorted(seen - allowed):
        print(f"NOTE {path.name}:{line}: out of bounds in Triton, but no STL042/STL043 expected")
    # and the stores that write an element twice are where STL041 is expected, and
    # outputs with elements no program writes where STL040 is; a fixture whose accesses
    # run wild (STL042, STL043) may also overwrite or miss elements as a consequence
    wild = bool(allowed)
    again = frozenset().union(*(r.rewrites for r in rows))
    twice = {line for line, c in codes.items() if "STL041" in c}
    missed = frozenset().union(*(r.unwritten for r in rows))
    never = {line for line, c in codes.items() if "STL040" in c}
    raced = frozenset().union(*(r.races for r in rows))
    racing = {line for line, c in codes.items() if "STL047" in c}
    for code, expected, observed in (
        ("STL041", twice, again),
        ("STL040", never, missed),
        ("STL047", racing, raced),
    ):
        for line in sorted(expected - observed):
            print(f"NOTE {path.name}:{line}: {code} expected, but no run showed it in Triton")
        for line in sorted(observed - expected) if not wild else ():
            print(f"NOTE {path.name}:{line}: {code} not expected, but a run showed it in Triton")
    consistent = (
        twice <= again
        and never <= missed
        and racing <= raced
        and (wild or (again, missed, raced) == (twice, never, racing))
    )
    if kind == "unsupported":
        return rows, kind, ok  # nor about where the kernel's accesses go
    return rows, kind, ok and wanted <= seen <= allowed and consistent


def _summary_line(name: str, kind: str, rows: list[Row], ok: bool | None) -> str:
    agree = sum(r.status == "agrees" for r in rows)
    other = {"disagrees" if r.status == "DISAGREES" else r.status.split(":")[0] for r in rows}
    other.discard("agrees")
    verdict = "not run" if ok is None else "yes" if ok else "NO"
    shown = ", ".join(sorted(other)) or "-"
    return f"| {name} | {kind} | {len(rows)} | {agree} | {shown} | {verdict} |"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--summary", action="store_true", help="one line per fixture instead of one per run"
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also compile each launch with Triton's compiler for a CUDA target",
    )
    parser.add_argument("--compile-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("fixtures", nargs="*", help="fixture files (default: fixtures/triton/*.py)")
    args = parser.parse_args()
    paths = [Path(p) for p in args.fixtures] or sorted((ROOT / "fixtures" / "triton").glob("*.py"))
    if args.compile_only:
        return compile_only(paths, args.seed)
    refused = refused_by_compiler(paths, args.seed) if args.compile else {}
    os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported
    import torch
    import triton
    from triton.runtime.interpreter import InterpreterBuilder

    watch_memory_accesses(InterpreterBuilder)
    watch_tensor_copies(torch)
    stand_in_for_libdevice()
    triton.runtime.driver.set_active(CpuDriver(torch))

    command = " ".join(["python", "tools/validate_triton.py", *sys.argv[1:]])
    print(f"Command: {command}  (TRITON_INTERPRET=1 is set by the script)")
    versions = f"triton {triton.__version__}, torch {torch.__version__}, NumPy {np.__version__}"
    print(f"{versions}, seed {args.seed}")
    print(f"agrees: max |kernel - spec| <= {ATOL} + {RTOL} * max |spec| on every target\n")
    if args.summary:
        print("| fixture | expected | runs | agree | disagree or fault | as expected? |")
        print("|---|---|---:|---:|---|---|")
    else:
        print("| fixture | case | inputs, config | max abs error | agrees? | expected |")
        print("|---|---|---|---:|---|---|")
    failures, not_run = [], []
    for path in paths:
        rows, kind, ok = check_fixture(path, args.seed, torch, triton, refused)
        if args.summary:
            print(_summary_line(path.name, kind, rows, ok), flush=True)
        for row in rows if not args.summary else ():
            error = "-" if row.error is None else f"{row.error:.3g}"
            line = (
                f"| {row.fixture} | {row.case} | {row.config} | {error} | {row.status} | {kind} |"
            )
            print(line, flush=True)
        if ok is None:
            not_run.append(path.name)
        elif not ok:
            failures.append(f"{path.name} (expected {kind})")
    print()
    run = len(paths) - len(not_run)
    behaving = run - len(failures)
    print(f"{behaving} of {run} fixtures run behave as their inline expectations say.")
    for name in not_run:
        print(f"NOT RUN with triton {triton.__version__}: {name}")
    for failure in failures:
        print(f"NOT AS EXPECTED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
