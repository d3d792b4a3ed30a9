"""``tl.atomic_add``, ``tl.atomic_max`` and ``tl.atomic_min``: commutative updates.

An atomic update reads an element and writes back the old value combined with
the lane's value, in one indivisible step. Updates of one element by several
programs of a launch therefore commute: in any order the element ends with its
content before the launch combined with every contribution (the sum, the
maximum, the minimum over the reals). The analyzer runs the programs in one
order and keeps, per element, the term built so far: the initial content
(``torch.zeros``: 0; ``torch.empty``: undefined) and each contribution. A
plain load or store of an element that other programs update in the same
launch is a race (STL047), as it is for plain stores.

The old value an atomic returns depends on the order of the programs; it is
returned as a value whose use is STL002. ``sem=`` only orders other memory
accesses, which the analyzer does not let programs of one launch share, so
every value is followed; ``scope="cta"`` makes the update atomic within one
program only, which is not followed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import libcst as cst
import numpy as np

from ...core.errors import KernelError
from ...interpreter.values import Poison
from .. import blocks
from ..blocks import Undef, fold_binary
from . import ints as I
from .host import describe
from .ints import Ptr
from .memory import cells_of, check_target_store, decode, mark_reported

if TYPE_CHECKING:
    from .interp import TritonInterpreter

OPS = {"atomic_add": "+", "atomic_max": "maximum", "atomic_min": "minimum"}
SEMANTICS = ("acquire", "release", "acq_rel", "relaxed")
SCOPES = ("gpu", "sys")


def _text(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def check_options(bound: dict, at: Any, name: str) -> None:
    """``sem=`` any of Triton's; ``scope=`` one whose atomicity spans programs."""
    sem, scope = _text(bound["sem"]), _text(bound["scope"])
    if sem is not None and sem not in SEMANTICS:
        raise KernelError(
            "STL005",
            f"tl.{name}(sem={sem!r}): expected one of {', '.join(SEMANTICS)}",
            notes=("Triton refuses the kernel (ValueError: Memory semantic ... not supported)",),
            help="drop `sem=` (acq_rel) or give one of Triton's memory semantics",
            node=at("sem"),
        )
    if scope is not None and scope not in (*SCOPES, "cta"):
        raise KernelError(
            "STL005",
            f"tl.{name}(scope={scope!r}): expected one of gpu, cta, sys",
            notes=("Triton refuses the kernel (ValueError: Memory scope ... not supported)",),
            help="drop `scope=` (gpu)",
            node=at("scope"),
        )
    if scope == "cta":
        raise KernelError(
            "STL002",
            f'unsupported: tl.{name}(scope="cta") is atomic only among the threads of one '
            "program, and updates by several programs are not followed",
            help="drop `scope=` (gpu) when programs update the same elements",
            node=at("scope"),
        )


def update(
    interp: TritonInterpreter,
    name: str,
    ptr: Any,
    value: Any,
    mask: Any,
    node: cst.Call,
) -> Poison:
    """One atomic update: checked like a store, recorded as the old term combined with
    the lane's value."""
    if not isinstance(ptr, Ptr):
        raise KernelError("STL002", f"tl.{name} of {describe(ptr)} (expected a pointer)")
    shape = ptr.shape
    admitted = np.ones(shape, bool) if mask is None else np.array(I.mask_array(mask, shape))
    I.check_offset(ptr, admitted, f"tl.{name}")
    block = blocks.broadcast(interp.as_block(value), shape)
    span = interp.span(node)
    index, inside, error = decode(ptr.tensor, ptr, admitted, f"tl.{name}")
    if error is not None:
        interp.flag(error, node)
    base = ptr.tensor.base or ptr.tensor
    if base.role == "input":
        raise KernelError("STL002", f"unsupported: the kernel updates its input {base.name}")
    _no_two_lanes(base, index, inside, shape, name)
    memory = interp.memory
    cells = cells_of(memory, base)
    choice, options, race = memory.held(cells, index, inside, span, f"tl.{name}")
    if race is not None:
        interp.flag(race, node)
    undefined = _undefined_initial(cells, index, inside, choice, options, name)
    if undefined is not None:
        interp.flag(undefined, node)
        options[0] = replace(options[0], reported=True)
    # the old content, lane by lane, along the elements the value is computed for
    old = blocks.loaded(shape, block.axes, dict(block.fixed), choice, options)
    op = OPS[name]
    new = blocks.elementwise([old, block], lambda a, b: fold_binary(op, a, b))
    if base.target is not None:
        for problem in check_target_store(base, index, inside, new, span):
            interp.flag(problem, node)
        new = mark_reported(new)
    race = memory.store(cells, index, inside, new, span, atomic=True)
    if race is not None:
        interp.flag(race, node)
    if inside.any() and memory.records[-1].terms is None:
        raise KernelError(
            "STL002",
            f"unsupported: tl.{name} of a value that is no function of the elements of "
            f"{base.name} it lands on",
            node=node,
        )
    return Poison(
        f"the old value tl.{name} returns depends on the order in which programs run, "
        "which the analyzer does not follow"
    )


START = {"atomic_add": "0 (torch.zeros)", "atomic_max": "-inf", "atomic_min": "inf"}


def _undefined_initial(
    cells: Any, index: list, inside: np.ndarray, choice: np.ndarray, options: list, name: str
) -> KernelError | None:
    """STL044 when an update finds an element's initial content undefined (``torch.empty``):
    the result is that garbage combined with the contributions."""
    first = inside & (choice == 0)
    if not isinstance(options[0], Undef) or options[0].reported or not first.any():
        return None
    lane = tuple(int(i) for i in np.argwhere(first)[0])
    element = ", ".join(
        f"{d if not d.startswith('_') else f'dim{k}'}={int(np.broadcast_to(i, first.shape)[lane])}"
        for k, (d, i) in enumerate(zip(cells.dims, index))
    )
    return KernelError(
        "STL044",
        f"tl.{name} updates {cells.name}[{element}], whose content before the launch is "
        "undefined: expected an initialised tensor, found one that nothing wrote",
        notes=(
            "the element ends as its garbage combined with the contributions; "
            "torch.empty leaves memory as it was",
        ),
        help=f"allocate {cells.name} filled with {START[name]}, or fill it before the launch",
    )


def _no_two_lanes(base: Any, index: list, inside: np.ndarray, shape: tuple, name: str) -> None:
    counts = np.zeros(base.sizes or (1,), np.int64)
    at = (
        tuple(np.broadcast_to(i, shape)[inside] for i in index)
        if index
        else (np.zeros(int(inside.sum()), np.int64),)
    )
    np.add.at(counts, at, 1)
    if (counts > 1).any():
        raise KernelError(
            "STL002",
            f"unsupported: tl.{name} updates one element of {base.name} from two lanes of "
            "one block",
            help="reduce the block first (tl.sum, tl.max) and update each element once",
        )
