"""How a simulation runs: :class:`SimulationOptions` (horizon, replications, seed, driver and charging
behaviour, routing, outputs), validated once when built."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from swapnet import _validate as _v
from swapnet.demand import DailyProfile
from swapnet.errors import InvalidInputError

__all__ = ["SimulationOptions"]

FloatArray = NDArray[np.float64]


def _int_arg(value: object, field: str, minimum: int) -> int:
    return _v.integer(value, field, minimum=minimum)


def _float_arg(value: object, field: str, *, lo: float = 0.0, positive: bool = False) -> float:
    v = _v.positive(value, field) if positive else _v.finite(value, field)
    if v < lo:
        raise InvalidInputError(field, value, f"must be >= {lo:g}")
    return v


def _swap_time(value: object) -> str | tuple[float, ...]:
    if isinstance(value, str):
        if value not in ("deterministic", "exponential"):
            raise InvalidInputError("swap_time", value, "must be 'deterministic', 'exponential' or samples")
        return value
    try:
        x = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise InvalidInputError("swap_time", value, "empirical swap times must be numbers (minutes)") from None
    if x.size == 0 or not np.isfinite(x).all() or (x <= 0).any():
        raise InvalidInputError("swap_time", value, "empirical swap times must be positive, finite minutes")
    return tuple(float(v) for v in x)


@dataclass(frozen=True)
class SimulationOptions:
    """Settings of one :func:`~swapnet.simulation.simulate` run (every field validated on construction).

    Attributes
    ----------
    days, warmup_days
        Observed days and warm-up days before them (discarded); the run covers ``warmup_days + days``.
    replications
        Independent replications (confidence intervals need at least 2).
    seed
        Seed; replication ``r`` uses ``SeedSequence(seed, spawn_key=(r, ...))`` streams per source and
        station, so the same seed gives the same result and scenarios share random numbers (common
        random numbers: a station's arrivals do not depend on the other stations).
    patience_minutes
        How long a driver who finds no charged pack waits for one (0: leaves at once).
    swap_time
        ``"deterministic"`` (each station's ``swap_minutes``), ``"exponential"`` (mean ``swap_minutes``)
        or observed swap times in minutes, drawn with replacement.
    charging_policy
        ``"asap"``, ``"cheapest"`` (needs a tariff) or ``"plan"`` (follows the operations plan's
        schedule). ``None``: ``"plan"`` when an operations plan is given, else ``"asap"``.
    reserve
        Under ``"cheapest"`` and ``"plan"``: charge at full capacity while free charged plus charging
        packs are fewer than ``reserve * batteries`` (a fraction in ``[0, 1]``).
    charge_curve
        ``"constant"`` power or ``"cccv"`` with a taper above 80 % state of charge.
    start_soc, end_soc
        State of charge of returned and of charged packs (``0 <= start_soc < end_soc <= 1``).
    station_choice
        ``"nearest"`` (shortest travel time) or ``"assignment"`` (a siting plan's ``assignment``,
        split by its ``swaps_per_hour`` column; rows with no site count as ``lost_no_station``).
    speed_kmh
        Travel speed for travel times, km/h.
    trip_profile
        Start times of OD trips over the day (default :meth:`DailyProfile.urban`).
    bin_minutes
        Width of time-series bins (divides 60); also the averaging window of ``peak_kw``.
    event_log
        Also return a per-event log (large for long runs).
    progress
        Show a progress bar on standard error.
    """

    days: int = 1
    replications: int = 10
    warmup_days: int = 0
    seed: int = 0
    patience_minutes: float = 0.0
    swap_time: str | tuple[float, ...] = "deterministic"
    charging_policy: str | None = None
    reserve: float = 0.25
    charge_curve: str = "constant"
    start_soc: float = 0.2
    end_soc: float = 1.0
    station_choice: str = "nearest"
    speed_kmh: float = 30.0
    trip_profile: DailyProfile | None = None
    bin_minutes: int = 60
    event_log: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "days", _int_arg(self.days, "days", 1))
        s(self, "replications", _int_arg(self.replications, "replications", 1))
        s(self, "warmup_days", _int_arg(self.warmup_days, "warmup_days", 0))
        s(self, "seed", _int_arg(self.seed, "seed", 0))
        s(self, "patience_minutes", _float_arg(self.patience_minutes, "patience_minutes"))
        s(self, "swap_time", _swap_time(self.swap_time))
        if self.charging_policy not in (None, "asap", "cheapest", "plan"):
            raise InvalidInputError("charging_policy", self.charging_policy, "must be 'asap', 'cheapest' or 'plan'")
        res = _float_arg(self.reserve, "reserve")
        if res > 1:
            raise InvalidInputError("reserve", self.reserve, "is a fraction of the batteries, in [0, 1]")
        s(self, "reserve", res)
        if self.charge_curve not in ("constant", "cccv"):
            raise InvalidInputError("charge_curve", self.charge_curve, "must be 'constant' or 'cccv'")
        s0 = _float_arg(self.start_soc, "start_soc")
        s1 = _float_arg(self.end_soc, "end_soc")
        if s1 > 1 or s0 >= s1:
            raise InvalidInputError("end_soc", self.end_soc, f"needs start_soc < end_soc <= 1 (start_soc={s0})")
        s(self, "start_soc", s0)
        s(self, "end_soc", s1)
        if self.station_choice not in ("nearest", "assignment"):
            raise InvalidInputError("station_choice", self.station_choice, "must be 'nearest' or 'assignment'")
        s(self, "speed_kmh", _float_arg(self.speed_kmh, "speed_kmh", positive=True))
        if self.trip_profile is not None and not isinstance(self.trip_profile, DailyProfile):
            raise InvalidInputError("trip_profile", self.trip_profile, "must be a DailyProfile")
        bmin = _int_arg(self.bin_minutes, "bin_minutes", 1)
        if 60 % bmin:
            raise InvalidInputError("bin_minutes", self.bin_minutes, "must divide 60")
        s(self, "bin_minutes", bmin)
        for name in ("event_log", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInputError(name, getattr(self, name), "must be True or False")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names (the former keyword arguments of ``simulate``)."""
        return tuple(f.name for f in fields(cls))

    @property
    def swap_samples_h(self) -> FloatArray | None:
        """Observed swap times in hours, or ``None`` for ``"deterministic"``/``"exponential"``."""
        if isinstance(self.swap_time, str):
            return None
        return np.asarray(self.swap_time, dtype=np.float64) / 60.0

    @property
    def swap_kind(self) -> str:
        """``"deterministic"``, ``"exponential"`` or ``"empirical"``."""
        return self.swap_time if isinstance(self.swap_time, str) else "empirical"
