"""Time periods of a day: hourly values split into, or merged to, ``periods_per_day`` periods."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from swapnet.errors import InvalidInputError

FloatArray = NDArray[np.float64]


def _periods_factor(periods_per_day: int, field: str = "periods_per_day") -> tuple[int, int]:
    """Return ``(split, merge)``: each hour splits into ``split`` periods or ``merge`` hours form one period."""
    if isinstance(periods_per_day, bool) or not isinstance(periods_per_day, (int, np.integer)):
        raise InvalidInputError(field, periods_per_day, "must be a positive integer")
    p = int(periods_per_day)
    if p <= 0:
        raise InvalidInputError(field, periods_per_day, "must be a positive integer")
    if p % 24 == 0:
        return p // 24, 1
    if 24 % p == 0:
        return 1, 24 // p
    raise InvalidInputError(
        field, periods_per_day, "periods must divide the 24-hour day or be a multiple of 24 (e.g. 1, 2, 12, 24, 48, 96)"
    )


def _resample_shares(shares: FloatArray, periods_per_day: int) -> FloatArray:
    """Resample hourly shares ``(..., 24)`` to ``(..., P)`` periods; each row keeps its sum."""
    split, merge = _periods_factor(periods_per_day)
    if split > 1:
        return np.repeat(shares, split, axis=-1) / split
    if merge > 1:
        merged: FloatArray = shares.reshape(*shares.shape[:-1], 24 // merge, merge).sum(axis=-1)
        return merged
    return shares.copy()
