"""Front ends: one per kernel dialect, tried in order (see :mod:`.base`)."""

from __future__ import annotations

from .base import Analysis, FrontEnd, SourceFile
from .pallas.front import PallasFrontEnd
from .triton.frontend import TritonFrontEnd
from .typed_numpy import TypedNumpyFrontEnd

FRONT_ENDS: tuple[FrontEnd, ...] = (PallasFrontEnd(), TritonFrontEnd(), TypedNumpyFrontEnd())


def front_end_for(source: SourceFile) -> FrontEnd | None:
    """The front end whose dialect the file is written in, if any."""
    return next((f for f in FRONT_ENDS if f.recognises(source)), None)


__all__ = ["FRONT_ENDS", "Analysis", "FrontEnd", "SourceFile", "front_end_for"]
