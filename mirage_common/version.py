"""Package version, read once from the installed distribution metadata."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("latticemirage")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
