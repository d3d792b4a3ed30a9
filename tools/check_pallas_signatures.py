"""Compare the Pallas front end's signature table with the installed jax.

Run it with the environment that has the real JAX (the project never imports
jax)::

    PYTHONPATH=$PWD .venv-jax/bin/python tools/check_pallas_signatures.py

For each entry of ``stile_static/frontends/pallas/signatures.py:SIGNATURES``
it takes ``inspect.signature`` of the real function and checks that the
parameters have the same names, in the same order, of the same kind
(positional-only, positional or keyword, ``*args``, keyword-only), that the
same ones are required, and that a default which is a plain Python value
(None, a bool, a number, a string, an empty tuple) is the same. Defaults that
are JAX objects (``NoBlockSpec``, sentinels) are stood in for in the table.
Entries for functions jax no longer has are reported; those listed in
``GONE`` do not count as differences.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from stile_static.frontends.pallas.signatures import GONE, NOT_GIVEN, SIGNATURES
from stile_static.interpreter.scopes import Signature

PLAIN = (type(None), bool, int, float, str)


def modules() -> dict[str, Any]:
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jax.experimental import pallas as pl
    from jax.experimental.pallas import tpu as pltpu
    from jax.experimental.pallas import triton as plgpu

    try:
        from jax._src.lax.control_flow import for_loop  # gone from newer releases
    except ImportError:
        for_loop = None
    return {
        "jax": jax,
        "jax.nn": jax.nn,
        "jnp": jnp,
        "lax": lax,
        "pl": pl,
        "pltpu": pltpu,
        "plgpu": plgpu,
        "for_loop": for_loop,
    }


def differences(sig: Signature, real: inspect.Signature) -> list[str]:
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: "posonly",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.VAR_POSITIONAL: "star",
        inspect.Parameter.KEYWORD_ONLY: "kwonly",
    }
    theirs = [(p.name, kinds.get(p.kind, "**")) for p in real.parameters.values()]
    ours = [(n, "posonly") for n in sig.posonly] + [(n, "positional") for n in sig.positional]
    if sig.star is not None:
        ours.append((sig.star, "star"))
    ours += [(n, "kwonly") for n in sig.kwonly]
    if ours != theirs:
        return [f"parameters: table {ours}, jax {theirs}"]
    out = []
    defaults = dict(sig.defaults)
    for p in real.parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        required = p.default is inspect.Parameter.empty
        if required != (p.name not in defaults):
            out.append(f"{p.name}: required in {'jax' if required else 'the table'} only")
            continue
        mine = defaults.get(p.name)
        if not required and isinstance(p.default, PLAIN) and mine is not NOT_GIVEN:
            if type(p.default) is not type(mine) or p.default != mine:
                out.append(f"{p.name}: default {mine!r} in the table, {p.default!r} in jax")
        if not required and p.default == () and mine != ():
            out.append(f"{p.name}: default {mine!r} in the table, () in jax")
    return out


def main() -> int:
    import jax

    found = modules()
    bad = 0
    for name, sig in SIGNATURES.items():
        module, _, attr = name.rpartition(".")
        obj = getattr(found[module], attr, None) if found[module] is not None else None
        if obj is None:
            print(f"{name}: not in jax {jax.__version__}" + (" (known)" if name in GONE else ""))
            bad += name not in GONE
            continue
        problems = differences(sig, inspect.signature(obj))
        for problem in problems:
            print(f"{name}: {problem}")
        bad += bool(problems)
    print(f"jax {jax.__version__}: {len(SIGNATURES)} signatures, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
