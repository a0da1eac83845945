"""The KPI tables of a study result: sizes, costs, KPIs, the plan against its simulation, unserved demand."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from swapnet.assets import CandidateSites
from swapnet.demand import NodeDemand
from swapnet.economics import OperatorCase
from swapnet.network import RoadNetwork
from swapnet.operations import OperationsPlan
from swapnet.simulation import SimulationResult
from swapnet.siting import SitingPlan
from swapnet.study.stages import Sited

__all__ = ["plan_vs_simulation", "reach_table", "routing_table", "study_tables", "unique_names", "unserved_table"]


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique by numbering repeats (``"a"``, ``"a (2)"``, ...)."""
    out: list[str] = []
    for n in names:
        label, k = n, 2
        while label in out:
            label, k = f"{n} ({k})", k + 1
        out.append(label)
    return out


def study_tables(
    siting: SitingPlan,
    ops: OperationsPlan,
    sim: SimulationResult,
    comparison: pd.DataFrame,
    operator: OperatorCase,
) -> dict[str, pd.DataFrame]:
    """The core tables: ``siting``, ``stations``, ``operations``, ``simulation``, ``plans``,
    ``cash_flows``, ``operator``."""
    siting_tab = pd.DataFrame(
        [
            {
                "model": siting.model,
                "stations": len(siting.sites),
                "objective": siting.objective,
                "bound": siting.bound,
                "gap": siting.gap,
                "covered": siting.covered,
                "status": siting.status.value,
                "solve_seconds": siting.solve_seconds,
            }
        ]
    )
    sized = siting.sized_stations
    stations = sized.copy() if sized is not None else pd.DataFrame({"site": list(siting.sites)})
    sch = ops.schedule
    per_station = sch.groupby("station", sort=False)[["demand", "served", "lost"]].sum()
    per_station["peak_kw"] = sch.groupby("station", sort=False)["charging_kw"].max()
    stations = stations.merge(
        per_station.rename(columns=lambda c: f"ops_{c}"), left_on="site", right_index=True, how="left"
    )
    days = ops.days
    op_costs = pd.DataFrame(
        {
            "term": [*(f"{k}_cny" for k in ops.costs), "peak_kw", "lost_swaps_count"],
            "per_horizon": [*ops.costs.values(), ops.peak_kw, ops.lost_swaps],
            "per_day": [*ops.costs_per_day.values(), ops.peak_kw, ops.lost_swaps / days],
        }
    )
    sim_kpis = sim.network_kpis().reset_index()
    cash = operator.cash_flows().reset_index()
    op_summary = pd.DataFrame(
        [
            {"metric": "capex_cny", "value": operator.capex_cny},
            {"metric": "electricity_cny_per_year", "value": operator.electricity_cost_cny_per_year},
            *({"metric": k, "value": v} for k, v in operator.summary().items()),
        ]
    )
    plans = comparison.reset_index().rename(columns={"index": "plan"})
    return {
        "siting": siting_tab,
        "stations": stations,
        "operations": op_costs,
        "simulation": sim_kpis,
        "plans": plans,
        "cash_flows": cash,
        "operator": op_summary,
    }


def plan_vs_simulation(ops: OperationsPlan, sim: SimulationResult) -> pd.DataFrame:
    """Per station: the operations plan's demand, served and lost swaps per day beside the simulated
    requests, served and lost swaps per day (mean and 95 % interval, clipped to >= 0) and service level."""
    sch = ops.schedule.groupby("station", sort=False)[["demand", "served", "lost"]].sum() / ops.days
    k = sim.station_kpis()
    d = sim.days
    out = pd.DataFrame(
        {
            "planned_demand": sch["demand"],
            "planned_served": sch["served"],
            "planned_lost": sch["lost"],
            "sim_requests": k["requests"] / d,
            "sim_served": k["served"] / d,
            "sim_served_low": k["served_low"] / d,
            "sim_served_high": k["served_high"] / d,
            "sim_lost": k["lost"] / d,
            "sim_lost_low": k["lost_low"] / d,
            "sim_lost_high": k["lost_high"] / d,
            "sim_service": k["service_level"],
            "sim_service_low": k["service_level_low"],
            "sim_service_high": k["service_level_high"],
        }
    )
    out.index.name = "site"
    return out.reset_index()


def _per_day(dem: NodeDemand, nodes: Iterable[Any], per_hour: Iterable[Any]) -> np.ndarray:
    """Busiest-hour swaps of assignment rows as swaps per day (the node's daily swaps x the row's share)."""
    peak = dict(zip(dem.nodes, np.asarray(dem.peak_hour(), dtype=np.float64).tolist(), strict=True))
    daily = dict(zip(dem.nodes, np.asarray(dem.daily, dtype=np.float64).tolist(), strict=True))
    return np.array(
        [daily.get(n, 0.0) * float(x) / peak[n] if peak.get(n, 0.0) > 0 else 0.0
         for n, x in zip(nodes, per_hour, strict=True)],
        dtype=np.float64,
    )  # fmt: skip


def unserved_table(sited: Sited, ops: OperationsPlan, sim: SimulationResult) -> pd.DataFrame:
    """Swaps per day the plan leaves unserved, by reason, and how each stage counts them.

    Siting: the plan's unserved rows (sizing: a node's unserved share of its busiest hour applied to
    its daily swaps), and the demand of nodes with no candidate within ``service_km`` that a fallback
    reach serves (``[siting] fallback_km``; served, so not in the total). Operations: plans only the
    demand assigned to stations, so it never sees the unserved rows. Simulation: requests of demand
    points without an assigned station (``lost_no_station``).
    """
    rows: list[tuple[str, str, float, float]] = []
    un = sited.siting.unserved
    dem = sited.demand
    a = sited.siting.assignment
    if "beyond_service_km" in a.columns:
        far = a[a["beyond_service_km"].astype(bool) & a["site"].notna()]
        if len(far):
            fb = sited.siting.details.get("fallback_km")
            rows.append((
                "siting", f"served beyond service_km (fallback_km = {fb:g} km; see the reach table)",
                float(far["demand"].nunique()), float(_per_day(dem, far["demand"], far["swaps_per_hour"]).sum()),
            ))  # fmt: skip
    if len(un) and "swaps_per_hour" in un.columns:
        per_day = _per_day(dem, un["demand"], un["swaps_per_hour"])
        by = pd.DataFrame({"reason": un["unserved_reason"], "swaps": per_day})
        for reason, grp in by.groupby("reason", sort=True):
            rows.append(("siting", f"unserved: {reason}", float(len(grp)), float(grp["swaps"].sum())))
    total = sum(r[3] for r in rows if r[1].startswith("unserved"))
    nk = sim.network_kpis()
    no_station = float(nk.at["lost_no_station", "mean"])  # type: ignore[arg-type]
    no_battery = float(nk.at["lost_no_battery", "mean"])  # type: ignore[arg-type]
    rows += [
        ("siting", "unserved: total", float(len(un)), total),
        ("operations", "demand planned (assigned to stations)", math.nan,
         float(ops.schedule["demand"].sum()) / ops.days),
        ("simulation", "lost: no station assigned (lost_no_station)", math.nan, no_station / sim.days),
        ("simulation", "lost at stations: no charged pack", math.nan, no_battery / sim.days),
        ("simulation", "requests", math.nan, float(nk.at["requests", "mean"]) / sim.days),  # type: ignore[arg-type]
        ("simulation", "served", math.nan, float(nk.at["served", "mean"]) / sim.days),  # type: ignore[arg-type]
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["stage", "what", "nodes", "swaps_per_day"])


def routing_table(sited: Sited, network: RoadNetwork, routing: str) -> pd.DataFrame:
    """How the plan routes demand: swaps per day assigned to a station that is not the node's nearest
    open station (the simulation follows the plan when ``routing = "plan"``)."""
    a = sited.siting.assignment
    dem = sited.demand
    rows: list[dict[str, object]] = [{"metric": "simulation routing", "value": routing}]
    if "site" not in a.columns or "swaps_per_hour" not in a.columns or not len(sited.site_nodes):
        return pd.DataFrame(rows, columns=["metric", "value"])
    served = a[a["site"].notna()]
    nodes = list(dict.fromkeys(served["demand"].tolist()))
    dist = network.distances(nodes, list(sited.site_nodes))
    nearest = {n: sited.siting.sites[int(j)] for n, j in zip(nodes, np.argmin(dist, axis=1).tolist(), strict=True)}
    per_day = _per_day(dem, served["demand"], served["swaps_per_hour"])
    other = np.array([nearest[n] != s for n, s in zip(served["demand"], served["site"], strict=True)], dtype=bool)
    rows += [
        {"metric": "swaps per day assigned to stations", "value": float(per_day.sum())},
        {"metric": "  of which not to the nearest open station", "value": float(per_day[other].sum())},
        {"metric": "demand nodes split over several stations", "value": int(served["demand"].duplicated().sum())},
    ]
    return pd.DataFrame(rows, columns=["metric", "value"])


def reach_table(sited: Sited, network: RoadNetwork, sites: CandidateSites, service_km: float) -> pd.DataFrame:
    """Demand nodes with no candidate site within ``service_km``: their swaps per day, the nearest
    candidate, and where the plan sends them (station, road km, swaps per day served and unserved).

    Without a fallback reach (``[siting] fallback_km``) every such node is unserved ("no station
    within reach"); with one, the plan serves it from a station up to ``fallback_km`` away.
    """
    cols = ["demand", "swaps_per_day", "nearest_candidate", "nearest_candidate_km", "stations", "station_km",
            "served_per_day", "unserved_per_day"]  # fmt: skip
    dem = sited.demand
    if not len(dem.nodes) or not len(sites.nodes):
        return pd.DataFrame(columns=cols)
    D = network.distances(list(dem.nodes), list(sites.nodes))
    near = D.min(axis=1)
    far = np.flatnonzero(near > service_km * (1 + 1e-9) + 1e-9)
    a = sited.siting.assignment
    has_site = "site" in a.columns and "swaps_per_hour" in a.columns
    node_of = dict(zip(sites.labels, sites.nodes, strict=True))
    daily = np.asarray(dem.daily, dtype=np.float64)
    rows = []
    for i in far[np.argsort(-daily[far], kind="stable")]:
        n = dem.nodes[i]
        mine = a[a["demand"] == n] if has_site else a.iloc[:0]
        srv = mine[mine["site"].notna()] if has_site else mine
        per = _per_day(dem, srv["demand"], srv["swaps_per_hour"]) if len(srv) else np.zeros(0)
        lost = mine[mine["site"].isna()] if has_site else mine
        km = network.distances([n], [node_of[s] for s in srv["site"]])[0] if len(srv) else np.zeros(0)
        rows.append({
            "demand": n, "swaps_per_day": float(daily[i]),
            "nearest_candidate": sites.labels[int(np.argmin(D[i]))], "nearest_candidate_km": float(near[i]),
            "stations": ", ".join(map(str, srv["site"])), "station_km": float(km.max()) if km.size else math.nan,
            "served_per_day": float(per.sum()),
            "unserved_per_day": float(_per_day(dem, lost["demand"], lost["swaps_per_hour"]).sum()),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
