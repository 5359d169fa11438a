"""The product's version, as installed (``effort --version``, the MCP server's info, trace resources)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "effort-copilot"


def product_version() -> str:
    """The installed version of the package (``0+unknown`` from a source tree that is not installed)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
