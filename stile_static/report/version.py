"""The installed version of stile-static, for ``--version``, SARIF and the language server."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    try:
        return metadata.version("stile-static")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
