"""Exception hierarchy of swapnet.

Every error swapnet raises on purpose derives from :class:`SwapnetError`.
Errors about the caller's input also derive from :class:`ValueError`, so code
that already catches ``ValueError`` keeps working.
"""

from __future__ import annotations

import reprlib
from pathlib import Path

__all__ = [
    "DisconnectedNetworkError",
    "FileFormatError",
    "InfeasibleError",
    "InvalidInputError",
    "SolverError",
    "StorageError",
    "SwapnetError",
    "UnknownNodeError",
    "VerificationError",
]


_REPR = reprlib.Repr()
_REPR.maxlevel = 4
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` bounded in length and nesting depth; never raises.

    A 2,000-deep list or a broken ``__repr__`` must not turn an error report
    into a ``RecursionError``.
    """
    try:
        shown = _REPR.repr(value)
    except RecursionError:
        shown = f"<{type(value).__name__} nested too deeply to show>"
    except Exception:  # a broken __repr__ must not hide the real error
        shown = f"<{type(value).__name__}>"
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return shown


class SwapnetError(Exception):
    """Base class of every error raised by swapnet."""


class InvalidInputError(SwapnetError, ValueError):
    """An argument has an invalid value.

    Parameters
    ----------
    field
        Name of the offending field or argument.
    value
        The offending value (shortened in the message when long).
    reason
        What is wrong with it.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={short_repr(value)}: {reason}")


class UnknownNodeError(InvalidInputError, KeyError):
    """A node label is not part of the road network."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else ""


class DisconnectedNetworkError(InvalidInputError):
    """The road network (or the part of it a model needs) is not connected."""


class FileFormatError(SwapnetError, ValueError):
    """A data file is malformed.

    Parameters
    ----------
    path
        The file.
    line
        1-based line number of the offending line, or ``None`` when the problem
        is not tied to a line.
    reason
        What is wrong.
    """

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {reason}")


class StorageError(SwapnetError, OSError):
    """Output could not be written (disk full, permission denied, read-only file system).

    Parameters
    ----------
    path
        The file or folder being written.
    reason
        What went wrong, e.g. ``"no space left on device"``.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")

    def __str__(self) -> str:  # OSError would format (errno, strerror) otherwise
        return f"cannot write {self.path}: {self.reason}"


class InfeasibleError(SwapnetError):
    """A model has no feasible solution; ``reason`` says which demand cannot be served."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class SolverError(SwapnetError):
    """The solver failed or returned a status swapnet cannot interpret."""


class VerificationError(SwapnetError):
    """An independent re-check of a solution found a violated constraint or a wrong objective."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        head = "; ".join(violations[:5])
        more = f" (+{len(violations) - 5} more)" if len(violations) > 5 else ""
        super().__init__(f"solution fails verification: {head}{more}")
