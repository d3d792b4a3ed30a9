"""Compare the signatures the Triton front end binds with the installed triton and torch.

Usage, in the environment with the real packages (stile-static never imports them):

    PYTHONPATH=. .venv-triton/bin/python tools/check_triton_signatures.py

For each function of ``stile_static/frontends/triton/signatures.py`` that the installed
triton has, the parameters (names, order, kind) and defaults of ``inspect.signature``
must be the table's, ``_semantic``/``_builder``/``_generator`` aside. Torch's functions
are builtins without a Python signature: their docstring's first line is printed beside
the table's for a reader to compare. Exit status 0 when every comparable one agrees.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import replace
from typing import Any

from stile_static.frontends.triton import custom_ops
from stile_static.frontends.triton import signatures as S
from stile_static.interpreter.scopes import Signature

HIDDEN = {"_semantic", "_builder", "_generator"}
# keywords the table keeps from an older triton (block pointers: triton 3.5)
OLDER = {"load": {"boundary_check", "padding_option"}, "store": {"boundary_check"}}


def real_signature(fn: Any) -> inspect.Signature | None:
    for candidate in (fn, getattr(fn, "fn", None), getattr(fn, "__wrapped__", None)):
        if candidate is None:
            continue
        try:
            sig = inspect.signature(candidate)
        except (TypeError, ValueError):
            continue
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            return sig
    return None


def as_table(sig: inspect.Signature) -> tuple:
    """The parts of a Signature, from ``inspect``'s view of one."""
    positional, kwonly, star, defaults = [], [], None, {}
    for p in sig.parameters.values():
        if p.name in HIDDEN:
            continue
        if p.kind == p.VAR_POSITIONAL:
            star = p.name
        elif p.kind == p.KEYWORD_ONLY:
            kwonly.append(p.name)
        else:
            positional.append(p.name)
        if p.default is not p.empty:
            defaults[p.name] = p.default
    return positional, kwonly, star, defaults


def compare(qualified: str, mine: Signature, sig: inspect.Signature, older: set[str]) -> bool:
    positional, kwonly, star, defaults = as_table(sig)
    ok = list(mine.positional) == positional and mine.star == star
    ok &= [k for k in mine.kwonly if k not in older] == kwonly
    for key, value in dict(mine.defaults).items():
        if key in older:
            continue
        real = defaults.get(key, inspect.Parameter.empty)
        if value is S._NONE:  # a default the table does not spell out (an enum)
            ok &= real is not inspect.Parameter.empty
        else:
            ok &= real == value or str(real) == str(value)
    ok &= set(defaults) <= set(dict(mine.defaults))
    status = "agrees" if ok else "DIFFERS"
    print(f"{status:8} {qualified}{sig}")
    if not ok:
        print(f"         table: {mine}")
    return ok


def main() -> int:
    import torch
    import triton
    import triton.language as tl

    print(f"triton {triton.__version__}, torch {torch.__version__}")
    failures = 0
    for name, mine in S.TL.items():
        fn = getattr(tl, name, None)
        sig = real_signature(fn) if fn is not None else None
        if sig is None:
            print(f"absent   tl.{name} (not in this triton, or no Python signature)")
            continue
        failures += not compare(f"tl.{name}", mine, sig, OLDER.get(name, set()))
    for name, mine in S.TRITON.items():
        sig = real_signature(getattr(triton, name))
        if sig is None:
            print(f"absent   triton.{name}")
            continue
        failures += not compare(f"triton.{name}", mine, sig, set())
    for name, mine in S.DESCRIPTOR.items():
        sig = real_signature(getattr(tl.core.tensor_descriptor_base, name))
        params = [p for p in sig.parameters.values() if p.name != "self"] if sig else []
        failures += not compare(
            f"tensor_descriptor.{name}", mine, sig.replace(parameters=params), set()
        )
    import torch.library

    for name, mine in custom_ops.SIGNATURES.items():
        sig = inspect.signature(getattr(torch.library, name))
        posonly = [p.name for p in sig.parameters.values() if p.kind == p.POSITIONAL_ONLY]
        flat = replace(mine, positional=mine.posonly + mine.positional, posonly=())
        same = compare(f"torch.library.{name}", flat, sig, set())
        failures += not (same and posonly == list(mine.posonly))
    for name, mine in S.TORCH.items():
        doc = (getattr(torch, name).__doc__ or "").strip().splitlines()[0]
        print(f"compare  torch.{doc}\n         table: {mine}")
    for name, mine in S.TENSOR.items():
        doc = (getattr(torch.Tensor, name).__doc__ or "").strip().splitlines()[0]
        print(f"compare  Tensor.{doc}\n         table: {mine}")
    print(f"\n{failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
