# Elementwise add in Pallas: one block of the vectors per grid step.
import functools

import jax
from jax.experimental import pallas as pl


def add_kernel(x_ref, y_ref, o_ref):
    o_ref[...] = x_ref[...] + y_ref[...]


# stile: return = x[N] + y[N]
# stile: case N=256 block=64
# stile: case N=100 block=64
@functools.partial(jax.jit, static_argnames=["block"])
def add(x: jax.Array, y: jax.Array, *, block: int = 64):
    return pl.pallas_call(
        add_kernel,
        out_shape=jax.ShapeDtypeStruct(x.shape, x.dtype),
        grid=(x.shape[0] // block,),  # bug: floor drops the last, partial block
        in_specs=[pl.BlockSpec((block,), lambda i: (i,)), pl.BlockSpec((block,), lambda i: (i,))],
        out_specs=pl.BlockSpec((block,), lambda i: (i,)),
    )(x, y)
