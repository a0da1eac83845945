"""Inputs of the simulation: scheduled battery transfers (stations are :class:`swapnet.Station`).

Units: power kW, energy kWh, times in minutes (swap, patience, travel) or hours
(time of day) as named.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from swapnet.errors import InvalidInputError
from swapnet.stations import Station

__all__ = ["SimStation", "Station", "Transfer"]


def _int(value: object, field: str, *, minimum: int) -> int:
    if isinstance(value, bool):
        raise InvalidInputError(field, value, "must be an integer")
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(field, value, "must be an integer") from None
    if not math.isfinite(f) or not f.is_integer():
        raise InvalidInputError(field, value, "must be an integer")
    v = int(f)
    if v < minimum:
        raise InvalidInputError(field, value, f"must be at least {minimum}")
    return v


def _pos(value: object, field: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(field, value, "must be a number") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InvalidInputError(field, value, "must be finite and " + ("non-negative" if allow_zero else "positive"))
    return v


#: Deprecated alias of :class:`swapnet.Station` (the one placed-station type); use ``Station``.
SimStation = Station


@dataclass(frozen=True)
class Transfer:
    """A scheduled move of packs from one station to another (rebalancing).

    Parameters
    ----------
    hour
        Departure time. With ``daily=True`` (default) the hour of day in ``[0, 24)``, repeated every
        simulated day; otherwise hours from the start of the simulation.
    source, target
        Station labels.
    batteries
        Packs to move (positive integer). When the source has fewer packs of that kind on hand (charged
        packs not promised to a waiting driver, or depleted packs not yet on a charger), it sends what it has.
    kind
        ``"charged"`` or ``"depleted"``.
    travel_minutes
        Time on the road. ``None``: network distance between the stations' nodes at the simulation's
        ``speed_kmh`` (0 when no network is given).
    daily
        Whether ``hour`` is a time of day repeated daily.
    """

    hour: float
    source: Hashable
    target: Hashable
    batteries: int
    kind: str = "charged"
    travel_minutes: float | None = None
    daily: bool = True

    def __post_init__(self) -> None:
        h = _pos(self.hour, "hour", allow_zero=True)
        if self.daily and h >= 24:
            raise InvalidInputError("hour", self.hour, "a daily transfer needs an hour of day in [0, 24)")
        object.__setattr__(self, "hour", h)
        object.__setattr__(self, "batteries", _int(self.batteries, "batteries", minimum=1))
        if self.kind not in ("charged", "depleted"):
            raise InvalidInputError("kind", self.kind, "must be 'charged' or 'depleted'")
        if self.travel_minutes is not None:
            object.__setattr__(self, "travel_minutes", _pos(self.travel_minutes, "travel_minutes", allow_zero=True))
        if self.source == self.target:
            raise InvalidInputError("target", self.target, "a transfer needs two different stations")
