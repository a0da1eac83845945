"""The one place where swapnet converts or refuses its inputs (private).

Every public entry point checks its scalar, string, array and path arguments
through the functions here, so the same kind of input is treated the same way
everywhere and every refusal is an :class:`~swapnet.errors.InvalidInputError`
naming the parameter (or the study key path) and the value.

Conventions (the contract of this module)
-----------------------------------------
- **Numbers** are ``int``, ``float`` and numpy numbers. ``bool`` is *not* a
  number (``True`` is refused, not read as 1), and neither is a string: ``"10"``
  is refused rather than silently parsed, because a string in a numeric field
  is almost always a mistake upstream (a CSV column read as text, a quoted
  TOML value).
- **Integers** accept ``int``, numpy integers and *integral* floats (``3.0``,
  ``np.float64(3.0)``), which is what a division or a TOML/JSON round trip
  yields; ``3.5``, ``nan``, ``inf``, ``bool`` and strings are refused.
- **Floats** must be finite unless the caller asks otherwise.
- Error values are shown with :func:`short_repr`: at most 80 characters and a
  bounded nesting depth, so a 2,000-deep value cannot raise ``RecursionError``
  while an error is being reported.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.errors import InvalidInputError, short_repr

__all__ = [
    "array",
    "boolean",
    "choice",
    "did_you_mean",
    "finite",
    "integer",
    "known_keys",
    "non_negative",
    "output_dir",
    "positive",
    "probability",
    "readable_file",
    "real",
    "short_repr",
]


def _is_number(value: object) -> bool:
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def real(
    value: object,
    name: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A real number, finite unless ``allow_inf``, within ``[lo, hi]`` (ends open by flag).

    Raises
    ------
    InvalidInputError
        Not a number (strings and bools included), NaN, infinite, or out of range.
    """
    if not _is_number(value):
        raise InvalidInputError(name, value, "must be a number")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (OverflowError, TypeError, ValueError):
        raise InvalidInputError(name, value, "must be a representable number") from None
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise InvalidInputError(name, value, "must be finite")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise InvalidInputError(name, value, _range_text(lo, hi, lo_open, hi_open))
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise InvalidInputError(name, value, _range_text(lo, hi, lo_open, hi_open))
    return v


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"must be in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        if lo == 0:
            return "must be positive" if lo_open else "must be non-negative"
        return f"must be {'>' if lo_open else '>='} {lo:g}"
    assert hi is not None
    return f"must be {'<' if hi_open else '<='} {hi:g}"


def finite(value: object, name: str) -> float:
    """A finite real number."""
    return real(value, name)


def positive(value: object, name: str) -> float:
    """A finite number ``> 0``."""
    return real(value, name, lo=0.0, lo_open=True)


def non_negative(value: object, name: str) -> float:
    """A finite number ``>= 0``."""
    return real(value, name, lo=0.0)


def probability(value: object, name: str, *, open_low: bool = False, open_high: bool = False) -> float:
    """A probability or share in ``[0, 1]`` (either end excluded by flag)."""
    return real(value, name, lo=0.0, hi=1.0, lo_open=open_low, hi_open=open_high)


def integer(value: object, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (integral floats such as ``3.0`` accepted; bools, strings, ``3.5`` refused)."""
    what = "an integer" if minimum is None else f"an integer >= {minimum}"
    if maximum is not None:
        what = f"an integer in [{minimum}, {maximum}]" if minimum is not None else f"an integer <= {maximum}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        v = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(float(value)) and float(value).is_integer():
        v = int(float(value))
    else:
        raise InvalidInputError(name, value, f"must be {what}")
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise InvalidInputError(name, value, f"must be {what}")
    return v


def boolean(value: object, name: str) -> bool:
    """A ``bool`` (numpy bools accepted); ``0``/``1`` and strings refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InvalidInputError(name, value, "must be true or false")


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest option, or ``""``."""
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def choice(value: object, name: str, options: Collection[str]) -> str:
    """One of ``options`` (exact, case-sensitive), with a did-you-mean hint otherwise."""
    if not isinstance(value, str):
        raise InvalidInputError(name, value, f"must be one of {', '.join(map(repr, options))}")
    if value not in options:
        hint = did_you_mean(value, options)
        raise InvalidInputError(name, value, f"must be one of {', '.join(map(repr, options))}{hint}")
    return value


def known_keys(mapping: Mapping[Any, Any], name: str, allowed: Collection[str]) -> None:
    """Refuse any key of ``mapping`` not in ``allowed`` (naming ``name.key``, with a hint)."""
    for key in mapping:
        if not isinstance(key, str) or key not in allowed:
            hint = did_you_mean(key, allowed) if isinstance(key, str) else ""
            raise InvalidInputError(f"{name}.{key}", mapping[key], f"unknown key{hint}")


def array(
    values: object,
    name: str,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
    lo: float | None = None,
    lo_open: bool = False,
) -> NDArray[np.float64]:
    """A float64 array, optionally of a given ``ndim``/``shape`` (``None`` = any size on that axis).

    Entries must be numbers (strings and bools refused), finite when ``finite``,
    and ``>= lo`` (``> lo`` with ``lo_open``). The first bad entry is named
    ``name[i, j]``.
    """
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError):
        raise InvalidInputError(name, values, "must be an array of numbers") from None
    if raw.dtype.kind not in "iuf":
        if raw.dtype.kind == "O":
            for k, item in enumerate(raw.ravel()):
                if not _is_number(item):
                    where = f"{name}[{', '.join(map(str, np.unravel_index(k, raw.shape)))}]" if raw.ndim else name
                    raise InvalidInputError(where, item, "must be a number")
        else:
            raise InvalidInputError(name, values, "must be numbers")
    try:
        a = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(name, values, "must be numbers") from None
    if ndim is not None and a.ndim != ndim:
        raise InvalidInputError(name, a.shape, f"must be {ndim}-dimensional")
    if shape is not None and (
        a.ndim != len(shape) or any(w is not None and w != g for w, g in zip(shape, a.shape, strict=True))
    ):
        want = "(" + ", ".join("any" if w is None else str(w) for w in shape) + ")"
        raise InvalidInputError(f"{name}.shape", a.shape, f"must be {want}")
    bad = np.zeros(a.shape, dtype=bool)
    reason = ""
    if finite:
        bad |= ~np.isfinite(a)
        reason = "must be finite"
    else:
        bad |= np.isnan(a)
        reason = "must not be NaN"
    if lo is not None:
        with np.errstate(invalid="ignore"):
            bad |= (a <= lo) if lo_open else (a < lo)
        reason += f" and {'>' if lo_open else '>='} {lo:g}"
    if bad.any():
        idx = np.unravel_index(int(np.flatnonzero(bad)[0]), a.shape)
        where = f"{name}[{', '.join(str(int(i)) for i in idx)}]" if a.ndim else name
        raise InvalidInputError(where, float(a[idx]), reason)
    return a


def readable_file(value: object, name: str) -> Path:
    """An existing regular file (not a directory)."""
    if not isinstance(value, (str, Path)):
        raise InvalidInputError(name, value, "must be a path")
    p = Path(value)
    if not p.exists():
        raise InvalidInputError(name, str(p), "no such file")
    if p.is_dir():
        raise InvalidInputError(name, str(p), "is a directory, not a file")
    return p


def output_dir(value: object, name: str) -> Path:
    """A path usable as an output folder: a folder, or absent under a folder (checked before any work).

    Raises
    ------
    InvalidInputError
        The path is an existing file, or one of its parents is a file.
    """
    if not isinstance(value, (str, Path)):
        raise InvalidInputError(name, value, "must be a path")
    p = Path(value)
    if p.exists() and not p.is_dir():
        raise InvalidInputError(name, str(p), "is an existing file; give a folder")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidInputError(name, str(p), f"{parent} is a file, not a folder")
            break
    return p
