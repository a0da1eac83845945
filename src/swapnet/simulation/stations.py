"""Inputs of the simulation: stations as simulated (:class:`SimStation`) and scheduled battery transfers.

Units: power kW, energy kWh, times in minutes (swap, patience, travel) or hours
(time of day) as named.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from swapnet.assets import BatteryPack, StationDesign
from swapnet.errors import InvalidInputError

__all__ = ["SimStation", "Transfer"]


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


@dataclass(frozen=True)
class SimStation:
    """One swap station as the simulation sees it.

    Parameters
    ----------
    label
        Station id (unique within a simulation).
    node
        Network node of the station (used for travel times; any hashable).
    bays
        Swap bays working in parallel (at least 1). Drivers queue for them first come, first served.
    batteries
        Packs stocked at the station (0 is accepted: every driver is then lost).
    chargers
        Charging slots (0 is accepted here, but :func:`~swapnet.simulation.simulate` rejects a station
        without chargers that receives demand).
    charger_kw
        Grid-side power of one slot, kW (positive).
    grid_kw
        Station grid connection, kW (positive). At most ``floor(grid_kw / charger_kw)`` packs charge
        at once (each at full ``charger_kw``), the same rule as :func:`~swapnet.siting.size_stations`.
    swap_minutes
        Mean time a bay is busy per swap, minutes (positive).
    charging_efficiency
        Fraction of grid energy stored in the pack, in ``(0, 1]``.
    initial_charged
        Charged packs at time 0; the others start depleted. ``None`` (default): all charged.

    Attributes
    ----------
    parallel_charging
        ``min(chargers, floor(grid_kw / charger_kw))``: packs that can charge at the same time.
    """

    label: Hashable
    node: Hashable
    bays: int
    batteries: int
    chargers: int
    charger_kw: float
    grid_kw: float
    swap_minutes: float
    charging_efficiency: float = 0.95
    initial_charged: int | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "bays", _int(self.bays, "bays", minimum=1))
        s(self, "batteries", _int(self.batteries, "batteries", minimum=0))
        s(self, "chargers", _int(self.chargers, "chargers", minimum=0))
        s(self, "charger_kw", _pos(self.charger_kw, "charger_kw"))
        s(self, "grid_kw", _pos(self.grid_kw, "grid_kw"))
        s(self, "swap_minutes", _pos(self.swap_minutes, "swap_minutes"))
        eta = _pos(self.charging_efficiency, "charging_efficiency")
        if eta > 1:
            raise InvalidInputError("charging_efficiency", eta, "must be in (0, 1]")
        s(self, "charging_efficiency", eta)
        if self.initial_charged is None:
            s(self, "initial_charged", self.batteries)
        else:
            k = _int(self.initial_charged, "initial_charged", minimum=0)
            if k > self.batteries:
                raise InvalidInputError("initial_charged", k, f"more than the station's {self.batteries} batteries")
            s(self, "initial_charged", k)

    @property
    def parallel_charging(self) -> int:
        """Packs that can charge at the same time: ``min(chargers, floor(grid_kw / charger_kw))``."""
        return min(self.chargers, math.floor(self.grid_kw / self.charger_kw + 1e-9))

    @property
    def charged_at_start(self) -> int:
        """Charged packs at time 0 (``initial_charged`` resolved)."""
        return self.batteries if self.initial_charged is None else int(self.initial_charged)

    def charge_hours(self, pack: BatteryPack, start_soc: float = 0.2, end_soc: float = 1.0) -> float:
        """Hours to charge one pack at constant power ``charger_kw``.

        ``kwh * (end_soc - start_soc) / (charging_efficiency * charger_kw)``.
        """
        return pack.kwh * (end_soc - start_soc) / (self.charging_efficiency * self.charger_kw)

    @classmethod
    def from_design(
        cls,
        label: Hashable,
        node: Hashable,
        design: StationDesign,
        pack: BatteryPack | None = None,
        *,
        batteries: int | None = None,
        chargers: int | None = None,
        grid_kw: float | None = None,
        initial_charged: int | None = None,
    ) -> SimStation:
        """A station built to ``design``, optionally with other battery, charger or grid numbers.

        Parameters
        ----------
        label, node
            Station id and network node.
        design
            Bays, packs, chargers, charger and grid kW, swap minutes and efficiency come from here.
        pack
            Accepted for symmetry with the capacity formulas; the pack itself is given to
            :func:`~swapnet.simulation.simulate`.
        batteries, chargers, grid_kw
            Overrides (e.g. from a sized :class:`~swapnet.siting.SitingPlan`).
        initial_charged
            Charged packs at time 0 (default all).
        """
        del pack
        return cls(
            label=label,
            node=node,
            bays=design.bays,
            batteries=design.batteries if batteries is None else batteries,
            chargers=design.chargers if chargers is None else chargers,
            charger_kw=design.charger_kw,
            grid_kw=design.grid_kw if grid_kw is None else grid_kw,
            swap_minutes=design.swap_minutes,
            charging_efficiency=design.charging_efficiency,
            initial_charged=initial_charged,
        )


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
