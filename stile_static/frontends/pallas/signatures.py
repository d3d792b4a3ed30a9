"""The signatures of the jax, jnp, lax and Pallas calls the front end follows.

Taken from ``inspect.signature`` in jax 0.10.2 (sharding, device and
diagnostic parameters kept so that a call passing them binds). A call binds
its arguments with the interpreter's own binder, so keywords work where the
real API takes them (``lax.fori_loop(0, n, body, init_val=acc)``) and anything
else is the TypeError Python raises. A parameter that can change the result
and is not followed is listed in :data:`UNFOLLOWED` with the values that are
followed; any other value is STL002 at that argument. The other parameters
place data on devices, name things, or set the rounding of floats, which the
analyzer takes as real numbers.

``pl.load``, ``pl.store`` and ``pl.dot`` are gone from jax 0.10.2 and keep the
forms of the releases that had them (unbound); ``for_loop`` (in :data:`GONE`)
binds the signature of the last release that had it.
``tools/check_pallas_signatures.py`` compares this table with an installed jax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core.errors import KernelError
from ...interpreter.scopes import Signature, argument_node, bind_signature
from ...interpreter.values import SpecText
from .values import Dtype


class _NotGiven:
    """The default of a parameter whose absence the API tells from any value."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = _NotGiven()


def _sig(
    name: str,
    positional: str = "",
    kwonly: str = "",
    star: str | None = None,
    posonly: str = "",
    /,
    **defaults: Any,
) -> Signature:
    return Signature(
        name,
        tuple(positional.split()),
        tuple(posonly.split()),
        tuple(kwonly.split()),
        tuple(defaults.items()),
        star,
    )


_PLACED = dict(device=None, out_sharding=None)
_UNARY = ("exp", "exp2", "log", "log2", "sqrt", "sin", "cos", "square", "abs", "tanh")
_REDUCE = "a axis out keepdims initial where"
_REDUCE_DEFAULTS = dict(axis=None, out=None, keepdims=False, initial=None, where=None)

SIGNATURES: dict[str, Signature] = {
    "jax.jit": _sig(
        "jit",
        "",
        "in_shardings out_shardings static_argnums static_argnames donate_argnums "
        "donate_argnames keep_unused device backend inline compiler_options",
        None,
        "fun",
        fun=NOT_GIVEN,
        in_shardings=None,
        out_shardings=None,
        static_argnums=None,
        static_argnames=None,
        donate_argnums=None,
        donate_argnames=None,
        keep_unused=False,
        device=None,
        backend=None,
        inline=False,
        compiler_options=None,
    ),
    "jax.vmap": _sig(
        "vmap",
        "fun in_axes out_axes axis_name axis_size spmd_axis_name sum_match",
        in_axes=0,
        out_axes=0,
        axis_name=None,
        axis_size=None,
        spmd_axis_name=None,
        sum_match=False,
    ),
    "jax.ShapeDtypeStruct": _sig(
        "ShapeDtypeStruct",
        "shape dtype",
        "sharding weak_type manual_axis_type is_ref",
        sharding=None,
        weak_type=False,
        manual_axis_type=None,
        is_ref=False,
    ),
    "jax.custom_vjp": _sig(
        "custom_vjp",
        "fun nondiff_argnums nondiff_argnames",
        nondiff_argnums=(),
        nondiff_argnames=(),
    ),
    "jax.named_scope": _sig("named_scope", "name"),
    "jax.nn.relu": _sig("relu", "x"),
    "jax.nn.sigmoid": _sig("sigmoid", "x"),
    "jax.nn.gelu": _sig("gelu", "x approximate", approximate=True),
    "jnp.power": _sig("power", "", "", None, "x1 x2"),
    "jnp.clip": _sig("clip", "min max", "", None, "arr", arr=None, min=None, max=None),
    **{
        f"jnp.{name}": _sig(name, "shape dtype", "device out_sharding", dtype=None, **_PLACED)
        for name in ("zeros", "ones")
    },
    "jnp.full": _sig(
        "full", "shape fill_value dtype", "device out_sharding", dtype=None, **_PLACED
    ),
    **{
        f"jnp.{name}": _sig(
            name, "a dtype shape", "device out_sharding", dtype=None, shape=None, **_PLACED
        )
        for name in ("zeros_like", "ones_like")
    },
    "jnp.full_like": _sig(
        "full_like",
        "a fill_value dtype shape",
        "device out_sharding",
        dtype=None,
        shape=None,
        **_PLACED,
    ),
    "jnp.arange": _sig(
        "arange",
        "start stop step dtype",
        "device out_sharding",
        stop=None,
        step=None,
        dtype=None,
        **_PLACED,
    ),
    **{
        f"jnp.{name}": _sig(name, "", "out where", "args", "", out=None, where=None)
        for name in ("maximum", "minimum", "logical_and", "logical_or")
    },
    "jnp.where": _sig(
        "where",
        "",
        "size fill_value",
        None,
        "condition x y",
        x=None,
        y=None,
        size=None,
        fill_value=None,
    ),
    "jnp.mean": _sig(
        "mean",
        "a axis dtype out keepdims",
        "where",
        axis=None,
        dtype=None,
        out=None,
        keepdims=False,
        where=None,
    ),
    "jnp.sum": _sig(
        "sum",
        "a axis dtype out keepdims initial where promote_integers",
        axis=None,
        dtype=None,
        out=None,
        keepdims=False,
        initial=None,
        where=None,
        promote_integers=True,
    ),
    **{f"jnp.{name}": _sig(name, _REDUCE, **_REDUCE_DEFAULTS) for name in ("max", "min")},
    **{f"jnp.{name}": _sig(name, _REDUCE, **_REDUCE_DEFAULTS) for name in ("amax", "amin")},
    **{
        f"jnp.{name}": _sig(
            name,
            "a b",
            "precision preferred_element_type out_sharding",
            precision=None,
            preferred_element_type=None,
            out_sharding=None,
        )
        for name in ("dot", "matmul")
    },
    "jnp.einsum": _sig(
        "einsum",
        "",
        "out optimize precision preferred_element_type _dot_general out_sharding",
        "operands",
        "subscripts",
        out=None,
        optimize="auto",
        precision=None,
        preferred_element_type=None,
        _dot_general=NOT_GIVEN,
        out_sharding=None,
    ),
    "jnp.transpose": _sig("transpose", "a axes", axes=None),
    "jnp.swapaxes": _sig("swapaxes", "a axis1 axis2"),
    "jnp.finfo": _sig("finfo", "dtype"),
    "jnp.tile": _sig("tile", "A reps"),
    "jnp.reshape": _sig(
        "reshape", "a shape order", "copy out_sharding", order="C", copy=None, out_sharding=None
    ),
    "jnp.squeeze": _sig("squeeze", "a axis", axis=None),
    "jnp.concatenate": _sig("concatenate", "arrays axis dtype", axis=0, dtype=None),
    "jnp.expand_dims": _sig("expand_dims", "a axis"),
    "lax.optimization_barrier": _sig("optimization_barrier", "", "", None, "operand"),
    **{f"jnp.{name}": _sig(name, "", "", None, "x") for name in _UNARY},
    "lax.fori_loop": _sig("fori_loop", "lower upper body_fun init_val", "unroll", unroll=None),
    "lax.div": _sig("div", "x y"),
    "lax.dot_general": _sig(
        "dot_general",
        "lhs rhs dimension_numbers precision preferred_element_type",
        "out_sharding",
        precision=None,
        preferred_element_type=None,
        out_sharding=None,
    ),
    "lax.dot": _sig(
        "dot",
        "lhs rhs",
        "dimension_numbers precision preferred_element_type out_sharding",
        dimension_numbers=None,
        precision=None,
        preferred_element_type=None,
        out_sharding=None,
    ),
    **{
        f"lax.{name}": _sig(name, "x", "accuracy", accuracy=None)
        for name in ("rsqrt", "exp", "exp2", "log", "tanh", "logistic")
    },
    "lax.erf": _sig("erf", "x"),
    "lax.abs": _sig("abs", "x"),
    "lax.broadcasted_iota": _sig(
        "broadcasted_iota", "dtype shape dimension", "out_sharding", out_sharding=None
    ),
    **{f"lax.{name}": _sig(name, "x y") for name in ("max", "min")},
    "pl.pallas_call": _sig(
        "pallas_call",
        "kernel out_shape",
        "grid_spec grid in_specs out_specs scratch_shapes input_output_aliases debug "
        "interpret name compiler_params cost_estimate metadata",
        grid_spec=None,
        grid=(),
        in_specs=None,
        out_specs=None,
        scratch_shapes=(),
        input_output_aliases=None,
        debug=False,
        interpret=False,
        name=None,
        compiler_params=None,
        cost_estimate=None,
        metadata=None,
    ),
    "pl.BlockSpec": _sig(
        "BlockSpec",
        "block_shape index_map pipeline_mode",
        "memory_space",
        block_shape=None,
        index_map=None,
        pipeline_mode=None,
        memory_space=None,
    ),
    "pl.cdiv": _sig("cdiv", "a b"),
    "pl.next_power_of_2": _sig("next_power_of_2", "x"),
    "pl.program_id": _sig("program_id", "axis"),
    "pl.num_programs": _sig("num_programs", "axis"),
    **{
        f"pl.{name}": _sig(name, "start size stride", size=None, stride=None)
        for name in ("ds", "dslice")
    },
    "pl.when": _sig("when", "", "", None, "condition"),
    "pl.loop": _sig(
        "loop", "lower upper", "init_carry step unroll", init_carry=None, step=1, unroll=None
    ),
    "pl.Squeezed": _sig("Squeezed"),
    "pl.GridSpec": _sig(
        "GridSpec",
        "grid in_specs out_specs scratch_shapes",
        grid=(),
        in_specs=None,
        out_specs=None,
        scratch_shapes=(),
    ),
    "pltpu.PrefetchScalarGridSpec": _sig(
        "PrefetchScalarGridSpec",
        "num_scalar_prefetch grid in_specs out_specs scratch_shapes",
        grid=(),
        in_specs=None,
        out_specs=None,
        scratch_shapes=(),
    ),
    "pltpu.VMEM": _sig("VMEM", "shape dtype"),
    "pltpu.repeat": _sig("repeat", "x repeats axis"),
    "pltpu.CompilerParams": _sig(
        "CompilerParams",
        "dimension_semantics allow_input_fusion vmem_limit_bytes collective_id "
        "has_side_effects flags internal_scratch_in_bytes serialization_format "
        "disable_bounds_checks disable_semaphore_checks skip_device_barrier "
        "allow_collective_id_without_custom_barrier shape_invariant_numerics "
        "use_tc_tiling_on_sc needs_layout_passes fuse_transposed_lhs_in_matmul",
        dimension_semantics=None,
        allow_input_fusion=None,
        vmem_limit_bytes=None,
        collective_id=None,
        has_side_effects=False,
        flags=None,
        internal_scratch_in_bytes=None,
        serialization_format=1,
        disable_bounds_checks=False,
        disable_semaphore_checks=False,
        skip_device_barrier=False,
        allow_collective_id_without_custom_barrier=False,
        shape_invariant_numerics=True,
        use_tc_tiling_on_sc=None,
        needs_layout_passes=True,
        fuse_transposed_lhs_in_matmul=False,
    ),
    "plgpu.CompilerParams": _sig(
        "CompilerParams", "num_warps num_stages", num_warps=None, num_stages=None
    ),
    "plgpu.load": _sig(
        "load",
        "ref",
        "mask other cache_modifier eviction_policy volatile",
        mask=None,
        other=None,
        cache_modifier=None,
        eviction_policy=None,
        volatile=False,
    ),
    "plgpu.store": _sig(
        "store", "ref val", "mask eviction_policy", mask=None, eviction_policy=None
    ),
    "for_loop.for_loop": _sig(
        "for_loop", "nsteps body init_state", "reverse unroll", reverse=False, unroll=1
    ),
}


# entries for functions that jax 0.10.2 no longer has
GONE = frozenset({"for_loop.for_loop", "pltpu.repeat"})  # pltpu.repeat: jax before 0.10


def _none(value: Any) -> bool:
    return value is None


def _false(value: Any) -> bool:
    return value is False or value is None


def _float_dtype(value: Any) -> bool:
    """A float type (or none): only the rounding changes, and values are real numbers."""
    return value is None or isinstance(value, Dtype) and value.name.startswith(("float", "bf"))


def _not_given(value: Any) -> bool:
    return value is NOT_GIVEN


def _unit_stride(value: Any) -> bool:
    return value is None or (value == 1 and not isinstance(value, bool))


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == ()


def _vmem(value: Any) -> bool:
    return value is None


@dataclass(frozen=True)
class Unfollowed:
    """A parameter that changes the result, followed only for the values ``followed`` accepts."""

    param: str
    followed: Callable[[Any], bool]
    what: str  # what the values that are not followed do


_INTEGER_ACC = "an integer accumulator wraps or truncates"
_REDUCE_RULES = (
    Unfollowed("out", _none, "the result goes to another array"),
    Unfollowed("initial", _none, "the reduction starts from another value"),
    Unfollowed("where", _none, "only some elements take part"),
)
UNFOLLOWED: dict[str, tuple[Unfollowed, ...]] = {
    "jnp.reshape": (
        Unfollowed("order", lambda v: v == "C", "another order puts elements elsewhere"),
    ),
    "jnp.concatenate": (
        Unfollowed("dtype", _float_dtype, "an integer type truncates the elements"),
    ),
    "jax.vmap": (
        Unfollowed("axis_size", _none, "the mapped size is given, not taken from the arrays"),
        Unfollowed("sum_match", _false, "matching mapped outputs are summed"),
    ),
    **{
        f"jnp.{name}": (Unfollowed("shape", _none, "the result has another shape"),)
        for name in ("zeros_like", "ones_like", "full_like")
    },
    **{
        f"jnp.{name}": (
            Unfollowed("out", _none, "the result goes to another array"),
            Unfollowed("where", _none, "only some elements are computed"),
        )
        for name in ("maximum", "minimum", "logical_and", "logical_or")
    },
    "jnp.where": (Unfollowed("size", _none, "the one-argument form returns indices"),),
    "jnp.sum": (
        Unfollowed("dtype", _float_dtype, _INTEGER_ACC),
        *_REDUCE_RULES,
    ),
    "jnp.mean": (
        Unfollowed("dtype", _float_dtype, _INTEGER_ACC),
        Unfollowed("out", _none, "the result goes to another array"),
        Unfollowed("where", _none, "only some elements take part"),
    ),
    **{f"jnp.{name}": _REDUCE_RULES for name in ("max", "min", "amax", "amin")},
    **{
        name: (Unfollowed("preferred_element_type", _float_dtype, _INTEGER_ACC),)
        for name in ("jnp.dot", "jnp.matmul", "lax.dot", "lax.dot_general")
    },
    "jnp.einsum": (
        Unfollowed("out", _none, "the result goes to another array"),
        Unfollowed("preferred_element_type", _float_dtype, _INTEGER_ACC),
        Unfollowed("_dot_general", _not_given, "another function does the contractions"),
    ),
    "pl.pallas_call": (
        Unfollowed(
            "input_output_aliases", _empty, "an output starts as an input and keeps its values"
        ),
    ),
    "pl.BlockSpec": (
        Unfollowed("pipeline_mode", _none, "the blocks are buffered another way"),
        Unfollowed("memory_space", _vmem, "the operand is not copied block by block"),
    ),
    **{
        f"pl.{name}": (Unfollowed("stride", _unit_stride, "every stride-th element is taken"),)
        for name in ("ds", "dslice")
    },
    "pl.loop": (Unfollowed("init_carry", _none, "the body takes and returns a carry"),),
    "for_loop.for_loop": (Unfollowed("reverse", _false, "the steps run in reverse"),),
}


def bind(
    name: str, args: list, kwargs: dict, call: Any, receiver: bool = False
) -> tuple[list, dict] | None:
    """A call of ``name`` (``pl.ds``) bound to its signature: the positional
    arguments in order with defaults filled, and every parameter by name. None
    for a name without a signature here. A value of a parameter that changes the
    result and is not followed is STL002 at its argument."""
    sig = SIGNATURES.get(name)
    if sig is None:
        return None
    bound = bind_signature(sig, args, kwargs, lambda key: argument_node(call, sig, key, receiver))
    for rule in UNFOLLOWED.get(name, ()):
        value = bound[rule.param]
        if isinstance(value, SpecText):
            value = value.value
        if not rule.followed(value):
            raise KernelError(
                "STL002",
                f"unsupported: `{rule.param}=` of {name}() is not followed: {rule.what}",
                notes=("the analyzer follows only the values that leave the result unchanged",),
                help=f"drop `{rule.param}=`, or check this call by other means",
                node=argument_node(call, sig, rule.param, receiver),
            )
    positional = [bound[p] for p in (*sig.posonly, *sig.positional)]
    if sig.star is not None:
        positional.extend(bound.pop(sig.star))
    return positional, bound


def given(name: str, bound: dict) -> tuple[tuple[str, Any], ...]:
    """The parameters of a bound call whose value is not the default."""
    defaults = dict(SIGNATURES[name].defaults)
    return tuple(
        (key, value)
        for key, value in bound.items()
        if key not in defaults or not _same(value, defaults[key])
    )


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - values without a plain equality differ
        return False
