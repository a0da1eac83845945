"""The package version (its own module, so that :mod:`swapnet.cli` need not import the package)."""

__version__ = "0.1.0"
