"""The signatures of the Triton and torch calls the front end follows.

Taken from ``inspect.signature`` of triton 3.9 and torch 2.13 (``_semantic``
and ``_builder`` dropped; block-pointer keywords of ``tl.load``/``tl.store``
from triton 3.5, the last release with block pointers). A call binds its
arguments with the interpreter's own binder, so keywords work where the real
API takes them and anything else is the TypeError Python raises. Each
parameter that can change the result and is not followed is listed in
:data:`UNFOLLOWED` with the values that are followed; any other value is
STL002 at that argument. Parameters of neither kind only steer code
generation (``num_warps``, ``cache_modifier``, ``eviction_policy``) or the
rounding of floats, which the analyzer takes as real numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core.errors import KernelError
from ...interpreter.scopes import Signature, argument_node, bind_signature
from .host import DType

_NONE = ("none",)  # a placeholder default: a real default the analyzer never looks at


def _sig(
    name: str,
    positional: str = "",
    kwonly: str = "",
    star: str | None = None,
    **defaults: Any,
) -> Signature:
    return Signature(
        name,
        tuple(positional.split()),
        kwonly=tuple(kwonly.split()),
        defaults=tuple(defaults.items()),
        star=star,
    )


_UNARY = ("exp", "exp2", "log", "log2", "sqrt", "sqrt_rn", "rsqrt", "sigmoid", "abs", "erf")
_HINTS = ("multiple_of", "max_contiguous", "max_constancy")

TL: dict[str, Signature] = {
    "program_id": _sig("program_id", "axis"),
    "num_programs": _sig("num_programs", "axis"),
    "arange": _sig("arange", "start end"),
    "load": _sig(
        "load",
        "pointer mask other",
        "boundary_check padding_option cache_modifier eviction_policy volatile",
        mask=None,
        other=None,
        boundary_check=(),
        padding_option="",
        cache_modifier="",
        eviction_policy="",
        volatile=False,
    ),
    "store": _sig(
        "store",
        "pointer value mask",
        "boundary_check cache_modifier eviction_policy",
        mask=None,
        boundary_check=(),
        cache_modifier="",
        eviction_policy="",
    ),
    "zeros": _sig("zeros", "shape dtype"),
    "full": _sig("full", "shape value dtype"),
    "zeros_like": _sig("zeros_like", "input"),
    "dot": _sig(
        "dot",
        "input other acc input_precision allow_tf32 max_num_imprecise_acc out_dtype",
        acc=None,
        input_precision=None,
        allow_tf32=None,
        max_num_imprecise_acc=None,
        out_dtype=None,
    ),
    "trans": _sig("trans", "input", star="dims"),
    "permute": _sig("permute", "input", star="dims"),
    "sum": _sig("sum", "input axis keep_dims dtype", axis=None, keep_dims=False, dtype=None),
    **{
        op: _sig(
            op,
            "input axis return_indices return_indices_tie_break_left keep_dims",
            axis=None,
            return_indices=False,
            return_indices_tie_break_left=True,
            keep_dims=False,
        )
        for op in ("max", "min")
    },
    **{op: _sig(op, "x") for op in _UNARY},
    "tanh": _sig("tanh", "arg0"),  # libdevice's (tl.math has no tanh since triton 3.0)
    "clamp": _sig("clamp", "x min max propagate_nan", propagate_nan=_NONE),
    "where": _sig("where", "condition x y"),
    "maximum": _sig("maximum", "x y propagate_nan", propagate_nan=_NONE),
    "minimum": _sig("minimum", "x y propagate_nan", propagate_nan=_NONE),
    "cdiv": _sig("cdiv", "x div"),
    **{op: _sig(op, "input values") for op in _HINTS},
    "assume": _sig("assume", "cond"),
    "static_assert": _sig("static_assert", "cond msg", msg=""),
    "static_print": _sig(
        "static_print",
        "",
        "sep end file flush",
        "values",
        sep=" ",
        end="\n",
        file=None,
        flush=False,
    ),
    "device_assert": _sig("device_assert", "cond msg mask", msg="", mask=None),
    "debug_barrier": _sig("debug_barrier"),
    "constexpr": _sig("constexpr", "value"),
    "range": _sig(
        "range",
        "arg1 arg2 step num_stages loop_unroll_factor disallow_acc_multi_buffer flatten "
        "warp_specialize disable_licm",
        arg2=None,
        step=None,
        num_stages=None,
        loop_unroll_factor=None,
        disallow_acc_multi_buffer=False,
        flatten=False,
        warp_specialize=False,
        disable_licm=False,
    ),
    "static_range": _sig("static_range", "arg1 arg2 step", arg2=None, step=None),
    "broadcast_to": _sig("broadcast_to", "input", star="shape"),
    "expand_dims": _sig("expand_dims", "input axis"),
    "reshape": _sig("reshape", "input", "can_reorder", "shape", can_reorder=False),
    "view": _sig("view", "input", star="shape"),
    "fma": _sig("fma", "x y z"),
    "cast": _sig(
        "cast", "input dtype fp_downcast_rounding bitcast", fp_downcast_rounding=None, bitcast=False
    ),
    "fdiv": _sig("fdiv", "x y ieee_rounding approx", ieee_rounding=False, approx=False),
    "div_rn": _sig("div_rn", "x y"),
    **{
        op: _sig(op, "pointer val mask sem scope", mask=None, sem=None, scope=None)
        for op in ("atomic_add", "atomic_max", "atomic_min")
    },
    "make_block_ptr": _sig("make_block_ptr", "base shape strides offsets block_shape order"),
    "advance": _sig("advance", "base offsets"),
    "make_tensor_descriptor": _sig(
        "make_tensor_descriptor",
        "base shape strides block_shape padding_option",
        padding_option="zero",
    ),
}

# methods of a tensor descriptor (``tl.make_tensor_descriptor``)
DESCRIPTOR: dict[str, Signature] = {
    "load": _sig("load", "offsets"),
    "store": _sig("store", "offsets value"),
}

TRITON: dict[str, Signature] = {
    "jit": _sig(
        "jit",
        "fn",
        "version repr launch_metadata do_not_specialize do_not_specialize_on_alignment debug "
        "noinline",
        fn=None,
        version=None,
        repr=None,
        launch_metadata=None,
        do_not_specialize=None,
        do_not_specialize_on_alignment=None,
        debug=None,
        noinline=None,
    ),
    "autotune": _sig(
        "autotune",
        "configs key prune_configs_by reset_to_zero restore_value pre_hook post_hook warmup rep "
        "use_cuda_graph do_bench cache_results",
        prune_configs_by=None,
        reset_to_zero=None,
        restore_value=None,
        pre_hook=None,
        post_hook=None,
        warmup=None,
        rep=None,
        use_cuda_graph=False,
        do_bench=None,
        cache_results=False,
    ),
    "heuristics": _sig("heuristics", "values"),
    "Config": _sig(
        "Config",
        "kwargs num_warps num_stages num_ctas maxnreg pre_hook ir_override",
        num_warps=4,
        num_stages=3,
        num_ctas=1,
        maxnreg=None,
        pre_hook=None,
        ir_override=None,
    ),
    "cdiv": _sig("cdiv", "x y"),
    "next_power_of_2": _sig("next_power_of_2", "n"),
}

_NEW = dict(dtype=None, layout=None, device=None, requires_grad=False)
TORCH: dict[str, Signature] = {
    "empty": _sig(
        "empty",
        "",
        "out dtype layout device requires_grad pin_memory memory_format",
        "size",
        out=None,
        pin_memory=False,
        memory_format=None,
        **_NEW,
    ),
    "zeros": _sig("zeros", "", "out dtype layout device requires_grad", "size", out=None, **_NEW),
    "full": _sig(
        "full", "size fill_value", "out dtype layout device requires_grad", out=None, **_NEW
    ),
    **{
        name: _sig(
            name,
            "input",
            "dtype layout device requires_grad memory_format",
            memory_format=None,
            **_NEW,
        )
        for name in ("empty_like", "zeros_like")
    },
}

# methods of torch tensors (their receiver is not a parameter)
TENSOR: dict[str, Signature] = {
    "stride": _sig("stride", "dim", dim=None),
    "size": _sig("size", "dim", dim=None),
    "numel": _sig("numel"),
    "dim": _sig("dim"),
    "element_size": _sig("element_size"),
    "is_contiguous": _sig("is_contiguous", "memory_format", memory_format=None),
    "contiguous": _sig("contiguous", "memory_format", memory_format=None),
    "flatten": _sig("flatten", "start_dim end_dim", start_dim=0, end_dim=-1),
    **{
        name: _sig(
            name,
            "",
            "dtype device requires_grad layout pin_memory",
            "size",
            pin_memory=False,
            **_NEW,
        )
        for name in ("new_empty", "new_zeros")
    },
}

FLOAT_DTYPES = frozenset(
    "float32 float16 bfloat16 float64 float8e4nv float8e5 float half bfloat16".split()
)


def _none(value: Any) -> bool:
    return value is None


def _false(value: Any) -> bool:
    return value is False or value is None or value == 0


def _float_dtype(value: Any) -> bool:
    """A float dtype (or none): only the rounding changes, and values are real numbers."""
    return value is None or isinstance(value, DType) and value.name in FLOAT_DTYPES


def _zero_padding(value: Any) -> bool:
    return value == "zero" or getattr(value, "value", None) == "zero"


@dataclass(frozen=True)
class Unfollowed:
    """A parameter that changes the result, followed only for the values ``followed`` accepts."""

    param: str
    followed: Callable[[Any], bool]
    what: str  # what the values that are not followed do


UNFOLLOWED: dict[str, tuple[Unfollowed, ...]] = {
    "tl.dot": (Unfollowed("out_dtype", _float_dtype, "an integer result type wraps or truncates"),),
    "tl.sum": (Unfollowed("dtype", _float_dtype, "an integer accumulator wraps or truncates"),),
    "tl.max": (Unfollowed("return_indices", _false, "the result is the indices"),),
    "tl.min": (Unfollowed("return_indices", _false, "the result is the indices"),),
    "tl.reshape": (
        Unfollowed("can_reorder", _false, "the compiler may put the elements in any order"),
    ),
    "tl.cast": (Unfollowed("bitcast", _false, "a bitcast reinterprets the bits"),),
    "tl.make_tensor_descriptor": (
        Unfollowed("padding_option", _zero_padding, "reads outside the tensor are NaN"),
    ),
    "triton.Config": (
        Unfollowed("pre_hook", _none, "a hook runs arbitrary code before the kernel"),
        Unfollowed("ir_override", _none, "the kernel's code is replaced"),
    ),
    "triton.autotune": (
        Unfollowed("reset_to_zero", _none, "tensors are zeroed around the benchmark runs"),
        Unfollowed("restore_value", _none, "tensors are restored around the benchmark runs"),
        Unfollowed("pre_hook", _none, "a hook runs arbitrary code before the kernel"),
        Unfollowed("post_hook", _none, "a hook runs arbitrary code after the kernel"),
    ),
    "torch.empty": (Unfollowed("out", _none, "the result is written into another tensor"),),
    "torch.zeros": (Unfollowed("out", _none, "the result is written into another tensor"),),
    "torch.full": (Unfollowed("out", _none, "the result is written into another tensor"),),
}


def bind(
    qualified: str,
    sig: Signature,
    args: list,
    kwargs: dict,
    call: Any,
    receiver: bool = False,
) -> dict[str, Any]:
    """Bind a call of ``qualified`` (``tl.load``) to ``sig``; a value of a parameter that
    changes the result and is not followed is STL002 at its argument."""

    def where(key: str) -> Any:
        return argument_node(call, sig, key, receiver)

    bound = bind_signature(sig, args, kwargs, where)
    for rule in UNFOLLOWED.get(qualified, ()):
        value = bound[rule.param]
        if not rule.followed(value):
            raise KernelError(
                "STL002",
                f"unsupported: `{rule.param}=` of {qualified}() is not followed: {rule.what}",
                notes=("the analyzer follows only the values that leave the result unchanged",),
                help=f"drop `{rule.param}=`, or check this call by other means",
                node=where(rule.param),
            )
    return bound


def located(call: Any, sig: Signature, param: str, receiver: bool = False) -> Any:
    """Where an error about ``param`` of this call goes."""
    return argument_node(call, sig, param, receiver)
