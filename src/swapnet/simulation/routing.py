"""Routing swap requests to stations: node demand (nearest station or a siting plan's assignment), arrays
of per-station rates and OD trips with a range (swaps along their paths)."""

from __future__ import annotations

import math
from collections.abc import Hashable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet.demand import DailyProfile, NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.simulation.engine import ArrivalSource
from swapnet.siting.plan import SitingPlan
from swapnet.stations import Station

__all__ = ["route_demand", "route_flows"]

FloatArray = NDArray[np.float64]


def route_demand(
    stations: list[Station],
    demand: NodeDemand | ODFlows | ArrayLike,
    *,
    plan: SitingPlan | None,
    network: RoadNetwork | None,
    station_choice: str,
    speed_kmh: float,
    range_km: float,
    trip_profile: DailyProfile,
) -> tuple[list[ArrivalSource], FloatArray]:
    """Arrival sources per station and the ``(24,)`` hourly rate of requests with no station."""
    m = len(stations)
    unrouted = np.zeros(24)
    if isinstance(demand, ODFlows):
        if station_choice != "nearest":
            raise InvalidInputError("station_choice", station_choice, "OD-flow demand is routed to the nearest station")
        if network is None:
            raise InvalidInputError("network", None, "OD-flow demand needs the road network of its paths")
        return route_flows(stations, demand, network, range_km, trip_profile, speed_kmh)
    if not isinstance(demand, NodeDemand):
        try:
            r = np.asarray(demand, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError("demand", demand, "must be a NodeDemand or an array of swaps per hour") from None
        if r.shape != (m, 24):
            raise InvalidInputError("demand", r.shape, f"a rate array needs shape (stations, 24) = ({m}, 24)")
        bad = ~np.isfinite(r) | (r < 0)
        if bad.any():
            i, h = (int(x) for x in np.argwhere(bad)[0])
            raise InvalidInputError(f"demand[{i}, {h}]", float(r[i, h]), "rates must be finite and non-negative")
        return [ArrivalSource(k, r[k].copy(), 0.0, k) for k in range(m)], unrouted
    hourly = demand.hourly()
    n = len(demand)
    labels = [s.label for s in stations]
    snodes = [s.node for s in stations]
    if network is not None:
        demand.check(network)
        network.index_of(snodes, field="stations.node")
        dist = network.distances(demand.nodes, snodes)
    else:
        dist = np.full((n, m), np.inf)
        first: dict[Hashable, int] = {}
        for j, nd in enumerate(snodes):
            first.setdefault(nd, j)
        for i, nd in enumerate(demand.nodes):
            if nd in first:
                dist[i, first[nd]] = 0.0
    share = np.zeros((n, m))
    if station_choice == "nearest":
        for i in range(n):
            row = dist[i]
            if np.isfinite(row).any():
                share[i, int(np.argmin(row))] = 1.0
            elif network is None and demand.daily[i] > 0:
                raise InvalidInputError(
                    "network",
                    None,
                    f"demand node {demand.nodes[i]!r} is not a station node; give a network to route it",
                )
    elif station_choice == "assignment":
        if plan is None:
            raise InvalidInputError("station_choice", station_choice, "'assignment' needs a SitingPlan")
        a = plan.assignment
        if not {"demand", "site"} <= set(a.columns):
            raise InvalidInputError("plan.assignment", list(a.columns), "needs columns demand and site")
        dpos: dict[Hashable, int] = {}
        for i, nd in enumerate(demand.nodes):
            dpos.setdefault(nd, i)
        spos = {lab: j for j, lab in enumerate(labels)}
        w = a["swaps_per_hour"].to_numpy(dtype=np.float64) if "swaps_per_hour" in a.columns else np.ones(len(a))
        weights = np.zeros((n, m + 1))
        for d, s, wk in zip(a["demand"].tolist(), a["site"].tolist(), w.tolist(), strict=True):
            if d not in dpos:
                continue  # the plan may list demand points that this NodeDemand does not have
            if s is None or (isinstance(s, float) and math.isnan(s)):
                weights[dpos[d], m] += wk
            elif s in spos:
                weights[dpos[d], spos[s]] += wk
            else:
                raise InvalidInputError("plan.assignment", s, "assigned to a site that is not a simulated station")
        tot = weights.sum(axis=1)
        for i in range(n):
            if tot[i] <= 0 and demand.daily[i] > 0:
                raise InvalidInputError("demand", demand.nodes[i], "demand node not in the plan's assignment")
        share = np.where(tot[:, None] > 0, weights[:, :m] / np.maximum(tot, 1e-300)[:, None], 0.0)
        dist = np.where(np.isfinite(dist), dist, 0.0) if network is None else dist
    else:
        raise InvalidInputError("station_choice", station_choice, "must be 'nearest' or 'assignment'")
    sources: list[ArrivalSource] = []
    key = 0
    for i in range(n):
        for j in np.flatnonzero(share[i] > 0).tolist():
            d = float(dist[i, j])
            travel = d / speed_kmh if math.isfinite(d) else 0.0
            sources.append(ArrivalSource(j, hourly[i] * share[i, j], travel, key))
            key += 1
        unrouted += hourly[i] * (1.0 - share[i].sum())
    return sources, np.maximum(unrouted, 0.0)


def route_flows(
    stations: list[Station],
    flows: ODFlows,
    network: RoadNetwork,
    range_km: float,
    profile: DailyProfile,
    speed_kmh: float,
) -> tuple[list[ArrivalSource], FloatArray]:
    """Swap requests of vehicles driving OD trips (see the ``demand`` parameter of :func:`simulate`).

    A trip of length ``L`` starts with a remaining range uniform on ``(0, range_km)``; it needs a swap
    when that range ``x`` is below ``L`` and the driver swaps at the last path node reached before
    ``x``, at the station nearest to that node. Node ``k`` of a path (``c_k`` km from the origin) thus
    sends ``volume * share_h * (min(c_{k+1}, L') - min(c_k, L')) / range_km`` requests per hour,
    ``L' = min(L, range_km)``, arriving ``(c_k + d(k, station)) / speed_kmh`` hours after the trip starts.
    """
    snodes = [s.node for s in stations]
    network.index_of(snodes, field="stations.node")
    paths = flows.path_indices(network)
    touched = np.unique(np.concatenate(paths)) if paths else np.zeros(0, dtype=np.int64)
    pos = {int(v): i for i, v in enumerate(touched.tolist())}
    dist = network.distances([network.label(int(v)) for v in touched], snodes) if touched.size else np.zeros((0, 0))
    nearest = np.argmin(dist, axis=1) if touched.size else np.zeros(0, dtype=np.int64)
    near_d = dist[np.arange(touched.size), nearest] if touched.size else np.zeros(0)
    shares = np.asarray(profile.shares, dtype=np.float64)
    acc: dict[tuple[int, int], float] = {}
    unrouted = 0.0
    for path, vol in zip(paths, flows.volumes.tolist(), strict=True):
        if vol <= 0 or path.size < 2:
            continue
        seg = network.edge_lengths(path[:-1], path[1:])
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        reach = min(float(cum[-1]), range_km)
        mass = np.diff(np.minimum(cum, reach)) / range_km  # swap probability at nodes 0..K-1
        for k in np.flatnonzero(mass > 0).tolist():
            i = pos[int(path[k])]
            w = vol * float(mass[k])
            if not math.isfinite(float(near_d[i])):
                unrouted += w
                continue
            delay = round((float(cum[k]) + float(near_d[i])) / speed_kmh * 3600.0)  # seconds
            key = (int(nearest[i]), delay)
            acc[key] = acc.get(key, 0.0) + w
    sources = [ArrivalSource(j, shares * w, delay / 3600.0, n) for n, ((j, delay), w) in enumerate(sorted(acc.items()))]
    return sources, shares * unrouted
