"""OD studies: swaps per refuelled trip, swaps per station and the swap-seeking EV trips."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from swapnet.flows import ODFlows
from swapnet.study._schema import StudyError
from swapnet.study.model import StudySpec
from swapnet.study.result import TripDemand


def trip_swaps(lengths: Any, *, range_km: float | None, swaps_per_trip: float | None) -> Any:
    """Swaps per refuelled one-way trip of each flow.

    ``swaps_per_trip`` when given; otherwise, for the FRLM (``range_km`` given),
    ``max(1, ceil(2 L / R)) / 2``: the fewest swaps a round trip of length ``2 L`` can need with range
    ``R`` (at least one, as the FRLM's round-trip rule requires), split over its two one-way legs; for
    the FCLM (no range), 1 (a captured trip is a swap-seeking trip that swaps once).

    Parameters
    ----------
    lengths
        Path length of each flow (network length unit).
    range_km
        Vehicle range (FRLM) or ``None`` (FCLM).
    swaps_per_trip
        Fixed swaps per trip, or ``None``.

    Returns
    -------
    numpy.ndarray
        One value per flow.
    """
    L = np.asarray(lengths, dtype=np.float64)
    if swaps_per_trip is not None:
        return np.full(L.shape, float(swaps_per_trip))
    if range_km is None:
        return np.ones(L.shape)
    return np.maximum(1.0, np.ceil(2.0 * L / range_km - 1e-9)) / 2.0


def flow_station_swaps(plan: Any, swaps: Any, nodes: Sequence[Any] | None = None) -> pd.DataFrame:
    """Daily swaps at each station of a flow siting plan (FRLM or FCLM).

    Each refuelled (captured) flow ``q`` with ``f_q`` trips per day and ``s_q`` swaps per trip
    (:func:`trip_swaps`) brings ``f_q s_q`` swaps per day, split equally over the open stations on its
    path (``plan.assignment["stations"]``). The stations' swaps thus sum to ``sum_q f_q s_q`` over the
    refuelled flows.

    Parameters
    ----------
    plan
        A :class:`~swapnet.siting.SitingPlan` of :func:`~swapnet.siting.flow_refueling` or
        :func:`~swapnet.siting.flow_capturing`.
    swaps
        ``s_q``, one value per flow (assignment row).
    nodes
        Network node of each site (default: the site labels).

    Returns
    -------
    pandas.DataFrame
        One row per site in ``plan.sites`` order: ``site``, ``node``, ``swaps_per_day``, ``flows``,
        ``trips_per_day``; ``attrs["refuelled_trips"]`` and ``attrs["swaps"]`` hold the totals.
    """
    a = plan.assignment
    vol = a["volume"].to_numpy(dtype=np.float64)
    cov = a["covered"].to_numpy(dtype=bool) & (vol > 0)
    s_q = np.asarray(swaps, dtype=np.float64)
    if s_q.shape != vol.shape:
        raise StudyError("swaps", s_q.shape, f"needs one value per flow ({vol.size})")
    pos = {site: k for k, site in enumerate(plan.sites)}
    m = len(pos)
    swaps_at, flows_at, trips_at = np.zeros(m), np.zeros(m, dtype=np.int64), np.zeros(m)
    stations_col = a["stations"].tolist()
    for q in np.flatnonzero(cov).tolist():
        on_path = [pos[k] for k in stations_col[q] if k in pos]
        if not on_path:  # a covered flow always has an open station on its path
            raise StudyError("siting", plan.model, f"flow {q} is covered but has no open station on its path")
        idx = np.asarray(on_path, dtype=np.int64)
        swaps_at[idx] += vol[q] * s_q[q] / idx.size
        flows_at[idx] += 1
        trips_at[idx] += vol[q]
    out = pd.DataFrame(
        {
            "site": list(plan.sites),
            "node": list(plan.sites) if nodes is None else list(nodes),
            "swaps_per_day": swaps_at,
            "flows": flows_at,
            "trips_per_day": trips_at,
        }
    )
    out.attrs["refuelled_trips"] = float(vol[cov].sum())
    out.attrs["swaps"] = float((vol[cov] * s_q[cov]).sum())
    return out


def od_trips(study: StudySpec, network: Any, table: Any) -> tuple[Any, Any, float, float]:
    """Swap-seeking EV trips of an OD study: (flows, lengths, all trips per day, short trips per day)."""

    dm = study.demand
    if dm.source == "gravity":
        if table is not None:
            ends: dict[Any, float] = dict.fromkeys(network.labels, 0.0)
            for o, d, v in zip(table.origins, table.destinations, table.volumes.tolist(), strict=True):
                ends[o] += v
                ends[d] += v
            weights = {k: w for k, w in ends.items() if w > 0}
        else:
            weights = dict.fromkeys(network.labels, 1.0)
        raw = ODFlows.gravity(network, weights, beta=dm.gravity_beta, symmetric=False)
        assert dm.trips_per_day is not None
        base = ODFlows(raw.origins, raw.destinations, raw.volumes * (dm.trips_per_day / max(raw.total, 1e-300)))
    else:
        if table is None:
            raise StudyError("demand.source", dm.source, f"network.dataset = {study.network.dataset!r} has no OD table")
        base = ODFlows(table.origins, table.destinations, table.volumes * dm.trip_scale)
    all_trips = base.total
    labels = list(dict.fromkeys([*base.origins, *base.destinations]))
    where = {lab: i for i, lab in enumerate(labels)}
    dist = network.distances(labels, labels)
    oi = np.asarray([where[o] for o in base.origins], dtype=np.int64)
    di = np.asarray([where[d] for d in base.destinations], dtype=np.int64)
    lengths = dist[oi, di] if len(base) else np.zeros(0)
    ev = base.volumes * (dm.ev_share or 0.0) * dm.swap_share
    keep = np.isfinite(lengths) & (lengths >= dm.min_trip_km) & (ev > 0) & (oi != di)
    short = float(ev[~keep].sum())
    flows = ODFlows(
        [base.origins[i] for i in np.flatnonzero(keep)], [base.destinations[i] for i in np.flatnonzero(keep)], ev[keep]
    )
    return flows, lengths[keep], all_trips, short


def flow_tables(tables: dict[str, pd.DataFrame], trips: TripDemand, siting: Any) -> dict[str, pd.DataFrame]:
    """Add the trip summary (``flows``) and the derived swaps per station to an OD study's tables."""
    out = dict(tables)
    sw = trips.station_swaps[["site", "node", "swaps_per_day", "flows", "trips_per_day"]]
    out["stations"] = sw.merge(tables["stations"], on="site", how="left")
    covered = siting.assignment["covered"].to_numpy(dtype=bool)
    vol = trips.flows.volumes
    L = np.asarray(trips.lengths, dtype=np.float64)
    rows = [
        ("all one-way trips per day (OD table x trip_scale)", trips.all_trips_per_day),
        ("swap-seeking EV trips per day (x ev_share x swap_share)", trips.trips_per_day + trips.short_trips_per_day),
        ("  of which shorter than min_trip_km (left out)", trips.short_trips_per_day),
        ("EV trips per day offered to the siting model", trips.trips_per_day),
        ("OD flows offered", float(len(trips.flows))),
        ("refuelled EV trips per day", trips.refuelled_trips_per_day),
        ("refuelled share of offered trips", trips.refuelled_trips_per_day / max(trips.trips_per_day, 1e-300)),
        ("refuelled OD flows", float(covered.sum())),
        ("mean trip length (offered, trip-weighted)", float((vol * L).sum() / max(vol.sum(), 1e-300))),
        ("mean trip length (refuelled, trip-weighted)",
         float((vol * L)[covered].sum() / max(vol[covered].sum(), 1e-300))),
        ("swaps per day at the stations", float(trips.station_swaps["swaps_per_day"].sum())),
    ]  # fmt: skip
    out = {"flows": pd.DataFrame(rows, columns=["metric", "value"]), **out}
    return out
