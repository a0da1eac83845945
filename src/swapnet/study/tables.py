"""The KPI tables of a study result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd


def unique_names(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        label, k = n, 2
        while label in out:
            label, k = f"{n} ({k})", k + 1
        out.append(label)
    return out


def study_tables(siting: Any, ops: Any, sim: Any, comparison: pd.DataFrame, operator: Any) -> dict[str, pd.DataFrame]:
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
    sized = siting.details.get("stations")
    stations = sized.copy() if sized is not None else pd.DataFrame({"site": list(siting.sites)})
    sch = ops.schedule
    per_station = sch.groupby("station", sort=False)[["demand", "served", "lost"]].sum()
    per_station["peak_kw"] = sch.groupby("station", sort=False)["charging_kw"].max()
    stations = stations.merge(
        per_station.rename(columns=lambda c: f"ops_{c}"), left_on="site", right_index=True, how="left"
    )
    op_costs = pd.DataFrame(
        {
            "term": [*ops.costs.keys(), "peak_kw", "lost_swaps"],
            "value": [*ops.costs.values(), ops.peak_kw, ops.lost_swaps],
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
