"""Which grid axes a ``pallas_call``'s compiler parameters mark "parallel".

On a TPU the grid runs in order on one core, except that axes marked
"parallel" may be split between the cores of a chip (and are visited in a
random order by JAX's TPU interpret mode): a value carried from one step to the
next across a change of a parallel coordinate may come from another core. The
other compiler parameters tune the compiler, not the values a kernel computes.
"""

from __future__ import annotations

from typing import Any

from ...core.errors import KernelError
from ...interpreter.values import SpecText
from .values import CompilerParams

# Mosaic TPU parameters that change speed or memory limits, never values
HARMLESS_TPU = frozenset(
    {
        "allow_input_fusion",
        "vmem_limit_bytes",
        "has_side_effects",
        "internal_scratch_in_bytes",
        "serialization_format",
        "disable_bounds_checks",
        "disable_semaphore_checks",
        "skip_device_barrier",
        "shape_invariant_numerics",
        "needs_layout_passes",
        "fuse_transposed_lhs_in_matmul",
    }
)
MODELLED = {"parallel": True, "arbitrary": False}


def parallel_axes(params: Any, rank: int, node: Any = None) -> tuple[bool, ...] | None:
    """Per grid axis, whether it is "parallel"; None when all are "arbitrary"."""
    if params is None:
        return None
    if not isinstance(params, CompilerParams):
        raise KernelError(
            "STL002",
            "unsupported: compiler_params that are not a CompilerParams(...) call",
            help="write compiler_params=pltpu.CompilerParams(dimension_semantics=...)",
            node=node,
        )
    if params.backend == "pl":
        raise KernelError(
            "STL005",
            "pl.CompilerParams is the base class of the backends' parameters: JAX cannot make one",
            notes=("jax 0.10.2 raises `TypeError: Protocols cannot be instantiated`",),
            help="use pltpu.CompilerParams (TPU) or the GPU backend's CompilerParams",
            node=params.span,
        )
    if params.backend != "pltpu":
        return None  # GPU backends: warps and stages, not values
    semantics = None
    for name, value in params.arguments:
        if name == "dimension_semantics":
            semantics = value
        elif name not in HARMLESS_TPU:
            raise KernelError(
                "STL002",
                f"unsupported: pltpu.CompilerParams({name}=...) is not modelled",
                notes=("it may change what the kernel computes or how its grid runs",),
                node=params.span,
            )
    if semantics is None:
        return None
    if not isinstance(semantics, (tuple, list)):
        raise KernelError("STL002", "dimension_semantics must be a tuple", node=params.span)
    if len(semantics) != rank:
        raise KernelError(
            "STL005",
            f"dimension_semantics has {len(semantics)} entries, the grid has {rank} axes",
            notes=("Mosaic raises a ValueError: one semantics per grid axis",),
            help=f"give {rank} entries, one per grid axis",
            node=params.span,
        )
    out = []
    for entry in semantics:
        entry = entry.value if isinstance(entry, SpecText) else entry
        if entry not in MODELLED:
            raise KernelError(
                "STL002",
                f"unsupported: dimension semantics {entry!r} (only 'parallel' and "
                "'arbitrary' are modelled)",
                node=params.span,
            )
        out.append(MODELLED[entry])
    if any(later and not earlier for earlier, later in zip(out, out[1:])):
        raise KernelError(
            "STL002",
            "unsupported: 'parallel' axes after an 'arbitrary' one (JAX's TPU interpret mode "
            "refuses them: parallel axes must lead the grid)",
            node=params.span,
        )
    return tuple(out) if any(out) else None
