"""Battery moves and charging caps for a simulation: scheduled :class:`Transfer` objects and an
:class:`~swapnet.operations.OperationsPlan` (its truck trips and its charging schedule), in absolute time."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.errors import InvalidInputError
from swapnet.network import RoadNetwork
from swapnet.operations import OperationsPlan
from swapnet.simulation.engine import TransferEvent
from swapnet.simulation.stations import Transfer
from swapnet.stations import Station

__all__ = ["Moves", "resolve_moves"]

FloatArray = NDArray[np.float64]

_TRIP_COLUMNS = ("from", "to", "period", "arrival", "return", "charged", "depleted", "charged_back", "depleted_back")


@dataclass(frozen=True)
class Moves:
    """Transfer events in absolute time and, from an operations plan, charging kW per station and period.

    ``plan_kw`` maps a station index to the planned kW of each period of the plan's horizon (it
    repeats after the horizon); ``period_h`` is the plan's period length (1 without a plan).
    """

    events: tuple[TransferEvent, ...]
    plan_kw: dict[int, FloatArray] | None
    period_h: float


def resolve_moves(
    operations: OperationsPlan | None,
    transfers: Sequence[Transfer],
    stations: list[Station],
    network: RoadNetwork | None,
    speed_kmh: float,
    total_days: int,
) -> Moves:
    """The moves of an operations plan and of explicit transfers over ``total_days`` simulated days.

    An operations plan's truck trip leaves ``from`` at the start of ``period`` with ``charged`` and
    ``depleted`` packs, reaches ``to`` at the start of ``arrival``, and carries ``charged_back`` and
    ``depleted_back`` home, arriving at ``return``. Periods count from midnight of the first day and
    the plan's horizon (``plan.days`` days) repeats until the simulation ends. The plan's
    ``schedule`` gives the charging kW per station and period (the ``"plan"`` charging policy).
    """
    pos = {s.label: j for j, s in enumerate(stations)}
    horizon = 24.0 * total_days

    def travel(a: int, b: int, minutes: float | None) -> float:
        if minutes is not None:
            return minutes / 60.0
        if network is None:
            return 0.0
        d = float(network.distances([stations[a].node], [stations[b].node])[0, 0])
        if not math.isfinite(d):
            raise InvalidInputError("transfers", (stations[a].label, stations[b].label), "stations not connected")
        return d / speed_kmh

    def index(lab: Hashable, field: str) -> int:
        if lab not in pos:
            raise InvalidInputError(field, lab, "not a simulated station")
        return pos[lab]

    events: list[TransferEvent] = []
    plan_kw: dict[int, FloatArray] | None = None
    period_h = 1.0
    if operations is not None:
        if not isinstance(operations, OperationsPlan):
            raise InvalidInputError("operations", operations, "must be an OperationsPlan (see plan_operations)")
        period_h = operations.period_hours
        length = operations.periods_per_day * operations.days
        for p, a, b, nbat, kind, tt in _plan_moves(operations.trips, index, period_h, length):
            t0 = p * period_h
            while t0 < horizon:
                events.append(TransferEvent(t0, a, b, nbat, kind, tt))
                t0 += length * period_h
        sch = operations.schedule
        plan_kw = {}
        for lab, p, kw in zip(
            sch["station"].tolist(), sch["period"].tolist(), sch["charging_kw"].tolist(), strict=True
        ):
            j = index(lab, "operations.schedule.station")
            plan_kw.setdefault(j, np.zeros(length))[int(p)] += float(kw)
    for k, tr in enumerate(transfers):
        if not isinstance(tr, Transfer):
            raise InvalidInputError(f"transfers[{k}]", tr, "must be a Transfer")
        a, b = index(tr.source, f"transfers[{k}].source"), index(tr.target, f"transfers[{k}].target")
        tt = travel(a, b, tr.travel_minutes)
        kind = 0 if tr.kind == "charged" else 1
        if tr.daily:
            for day in range(total_days):
                events.append(TransferEvent(day * 24.0 + tr.hour, a, b, tr.batteries, kind, tt))
        elif tr.hour < horizon:
            events.append(TransferEvent(tr.hour, a, b, tr.batteries, kind, tt))
    events.sort(key=lambda e: e.time_h)
    return Moves(tuple(events), plan_kw, period_h)


def _plan_moves(
    trips: pd.DataFrame, index: Callable[[Hashable, str], int], period_h: float, length: int
) -> list[tuple[float, int, int, int, int, float]]:
    """Moves ``(period, source, target, packs, kind, travel_h)`` of an operations plan's ``trips``."""
    missing = [c for c in _TRIP_COLUMNS if c not in trips.columns]
    if missing and len(trips):
        raise InvalidInputError("operations.trips", list(trips.columns), f"misses columns {missing}")
    out: list[tuple[float, int, int, int, int, float]] = []
    for row in trips.to_dict("records"):
        a = index(row["from"], "operations.trips.from")
        b = index(row["to"], "operations.trips.to")
        p, arr, ret = float(row["period"]), float(row["arrival"]), float(row["return"])
        if arr < p:  # a cyclic plan's trip that wraps past the end of its horizon
            arr += length
        if ret < arr:
            ret += length
        for kind, col in ((0, "charged"), (1, "depleted")):
            n = round(float(row[col]))
            if n > 0:
                out.append((p, a, b, n, kind, (arr - p) * period_h))
        for kind, col in ((0, "charged_back"), (1, "depleted_back")):
            n = round(float(row[col]))
            if n > 0:
                out.append((arr, b, a, n, kind, (ret - arr) * period_h))
    return out
