"""Wrappers registered as torch operators: ``torch.library.custom_op``, ``triton_op``.

Called eagerly, an operator made by ``@custom_op(name, mutates_args=...)`` (or
``@triton_op``) runs the decorated function on the same arguments, so its values
are the function's, with three checks torch makes that change what a call does:

- without ``schema=``, torch infers one from the annotations when the decorator
  runs: a parameter or the return without an annotation is a ValueError there,
  and so is a name in ``mutates_args`` that is no parameter;
- an output that is one of the inputs, or a view of one, is a RuntimeError at
  the call (torch asks for a copy);
- a function annotated ``-> None`` that returns a value is a RuntimeError too.

``wrap_triton(kernel)`` is the kernel itself for an eager launch, and the
registrations (``op.register_fake``, ``register_kernel``, ``register_autograd``,
``torch.library.register_fake``) change no eager value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libcst as cst

from ...core.errors import KernelError
from ...interpreter.scopes import Signature
from ...interpreter.values import SpecText, python_error
from .host import Kernel, Tensor, describe
from .signatures import bind

_MADE_BY = {"custom_op", "triton_op"}
# the registrations an operator takes: each returns what it decorates, unchanged
REGISTRATIONS = frozenset(
    {"register_fake", "register_kernel", "register_autograd", "register_torch_dispatch"}
)
FUNCTIONS = frozenset({*_MADE_BY, "wrap_triton", "register_fake"})

# torch 2.13's signatures (tools/check_triton_signatures.py compares them)
SIGNATURES: dict[str, Signature] = {
    "custom_op": Signature(
        "custom_op",
        posonly=("name", "fn"),
        kwonly=("mutates_args", "device_types", "schema", "tags"),
        defaults=(("fn", None), ("device_types", None), ("schema", None), ("tags", None)),
    ),
    "triton_op": Signature(
        "triton_op",
        posonly=("name", "fn"),
        kwonly=("mutates_args", "schema"),
        defaults=(("fn", None), ("schema", None)),
    ),
    "wrap_triton": Signature("wrap_triton", posonly=("triton_kernel",)),
    "register_fake": Signature(
        "register_fake",
        posonly=("op", "func"),
        kwonly=("lib", "_stacklevel", "allow_override"),
        defaults=(("func", None), ("lib", None), ("_stacklevel", 1), ("allow_override", True)),
    ),
}


@dataclass(frozen=True)
class OpDecorator:
    """``custom_op(name, mutates_args=...)`` waiting for its function."""

    name: str
    mutates: tuple[str, ...] | None  # None: "unknown" (any argument may be written)
    schema: str | None


@dataclass(frozen=True)
class CustomOp:
    """A registered operator: calling it calls ``function``, checked as torch does."""

    function: Any  # the interpreter's Function
    name: str
    returns_none: bool  # annotated ``-> None``


@dataclass(frozen=True)
class Registration:
    """``op.register_fake`` and its kind, or ``register_fake(op)``: a decorator that
    returns what it decorates."""

    what: str


def call(interp: Any, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
    """A call of ``torch.library.NAME``."""
    a = bind(f"torch.library.{name}", SIGNATURES[name], args, kwargs, node)
    if name == "wrap_triton":
        kernel = a["triton_kernel"]
        if not isinstance(kernel, Kernel):
            raise KernelError("STL002", f"unsupported: wrap_triton of {describe(kernel)}")
        return kernel
    if name == "register_fake":
        return Registration("register_fake") if a["func"] is None else a["func"]
    if a["fn"] is not None:
        raise KernelError("STL002", f"unsupported: {name}() given its function directly")
    mutates = _text(a["mutates_args"])
    if mutates == "unknown":
        names = None
    elif isinstance(mutates, (tuple, list, dict)) and all(
        isinstance(_text(m), str) for m in mutates
    ):
        names = tuple(_text(m) for m in mutates)
    else:
        raise KernelError("STL002", f"unsupported: mutates_args={describe(mutates)}")
    schema = _text(a.get("schema"))
    return OpDecorator(str(_text(a["name"])), names, schema if isinstance(schema, str) else None)


def _text(value: Any) -> Any:
    """A string literal's text (the interpreter keeps literals with their node)."""
    return value.value if isinstance(value, SpecText) else value


def decorate(decorator: OpDecorator, function: Any, node: cst.CSTNode) -> CustomOp:
    """The operator ``decorator`` makes of ``function``, or torch's ValueError."""
    fnode: cst.FunctionDef = function.node
    params = [*fnode.params.posonly_params, *fnode.params.params, *fnode.params.kwonly_params]
    if decorator.schema is None:
        missing = [p.name.value for p in params if p.annotation is None]
        if missing:
            raise python_error(
                ValueError(f"infer_schema(func): Parameter {missing[0]} must have a type hint"),
                node,
            )
        if fnode.returns is None:
            raise python_error(
                ValueError("infer_schema(func): No return type annotation was provided."), node
            )
    names = {p.name.value for p in params}
    unknown = sorted(set(decorator.mutates or ()) - names)
    if unknown:
        raise python_error(
            ValueError(f"{set(unknown)} in mutates_args were not found in the signature"), node
        )
    returns = fnode.returns
    none = (
        returns is not None
        and isinstance(returns.annotation, cst.Name)
        and (returns.annotation.value == "None")
    )
    return CustomOp(function, decorator.name, none)


def checked_result(op: CustomOp, args: list, kwargs: dict, result: Any, node: Any) -> Any:
    """``result`` of a call of ``op``, or the RuntimeError torch raises for it."""
    if op.returns_none and result is not None:
        raise python_error(
            RuntimeError(f"{op.name} is annotated to return None but it returned something"),
            node,
        )
    inputs = [v for v in [*args, *kwargs.values()] if isinstance(v, Tensor)]
    outputs = result if isinstance(result, tuple) else (result,)
    for out in outputs:
        if not isinstance(out, Tensor):
            continue
        if any(_root(out) is _root(t) for t in inputs):
            raise python_error(
                RuntimeError(
                    f"{op.name}: the output of this custom operator must not also be an input"
                    " or a view of one (clone it first)"
                ),
                node,
            )
        if _root(out).role != "new":
            # a "copy" that torch makes only for some strides (`.contiguous()`)
            raise KernelError(
                "STL002",
                f"unsupported: whether the output of {op.name} is an input (which torch "
                "refuses) depends on strides that are not known",
                node=node,
            )
    return result


def _root(t: Tensor) -> Tensor:
    """The tensor whose memory ``t`` views (``t`` itself when it is no view)."""
    while t.base is not None:
        t = t.base
    return t
