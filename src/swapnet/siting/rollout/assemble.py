"""Turn a solved rollout into a :class:`RolloutPlan`: tables, and the independent ``verify()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.assets import BatteryPack, CandidateSites, StationDesign, capital_recovery_factor
from swapnet.network import RoadNetwork
from swapnet.siting.rollout.capacity import CapacityRule
from swapnet.siting.rollout.instance import RolloutInstance
from swapnet.siting.rollout.model import build_model
from swapnet.siting.rollout.plan import RolloutPlan
from swapnet.siting.rollout.scenarios import ScenarioSet
from swapnet.siting.rollout.solve import Solved

__all__ = ["Inputs", "make_plan"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Inputs:
    """The caller's inputs, kept to re-check a plan without the solver's arrays."""

    network: RoadNetwork
    scenarios: ScenarioSet
    candidates: CandidateSites
    design: StationDesign
    pack: BatteryPack
    capacity: CapacityRule
    service_km: float
    penalty_per_swap: float
    charger_cost: float
    rate: float
    revenue_per_swap: float
    cost_per_swap: float
    budget: FloatArray | None
    min_service: FloatArray | None


def _tables(inst: RolloutInstance, sv: Solved) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    S, T, m = inst.S, inst.T, inst.m
    Y, B, C = sv.Y, sv.B, sv.C
    prevY = np.concatenate([inst.initial[0][:, None], Y[:, :-1]], axis=1)
    prevB = np.concatenate([inst.initial[1][:, None], B[:, :-1]], axis=1)
    prevC = np.concatenate([inst.initial[2][:, None], C[:, :-1]], axis=1)
    load = np.zeros((S, T, m))
    for s in range(S):
        for t in range(T):
            load[s, t] = np.bincount(inst.pair_j, weights=sv.x[s, t], minlength=m)
    cap = np.minimum(inst.bay, np.maximum(np.minimum((C - inst.c0) / inst.a_c, (B - inst.b0) / inst.a_b), 0.0))
    s_i, t_i, j_i = np.nonzero(Y > 0.5)
    stations = pd.DataFrame(
        {
            "scenario": [inst.names[s] for s in s_i],
            "year": [inst.years[t] for t in t_i],
            "site": [inst.sites[j] for j in j_i],
            "node": [inst.site_nodes[j] for j in j_i],
            "opened": prevY[s_i, t_i, j_i] < 0.5,
            "batteries": B[s_i, t_i, j_i].astype(int),
            "chargers": C[s_i, t_i, j_i].astype(int),
            "added_batteries": (B - prevB)[s_i, t_i, j_i].astype(int),
            "added_chargers": (C - prevC)[s_i, t_i, j_i].astype(int),
            "swaps_per_hour": load[s_i, t_i, j_i],
            "capacity_per_hour": cap[s_i, t_i, j_i],
        }
    )
    cash = ((Y - prevY) * inst.site_cash).sum(axis=2) + inst.battery_cash * (B - prevB).sum(axis=2) \
        + inst.charger_cash * (C - prevC).sum(axis=2)  # fmt: skip
    annuity = ((Y * (inst.site_year - inst.opex)).sum(axis=2) + inst.battery_year * B.sum(axis=2)
               + inst.charger_year * C.sum(axis=2))  # fmt: skip
    opex = inst.opex * Y.sum(axis=2)
    lost_cost = inst.lost - inst.margin  # penalty part of the unserved coefficient
    penalty = (lost_cost * sv.u).sum(axis=2)
    margin = (inst.margin * (inst.H - sv.u)).sum(axis=2)
    total = annuity + opex + penalty - margin
    ss, tt = np.meshgrid(np.arange(S), np.arange(T), indexing="ij")
    costs = pd.DataFrame(
        {
            "scenario": [inst.names[s] for s in ss.ravel()],
            "year": [inst.years[t] for t in tt.ravel()],
            "capex_cash": cash.ravel(),
            "capex_annuity": annuity.ravel(),
            "opex": opex.ravel(),
            "penalty": penalty.ravel(),
            "margin": margin.ravel(),
            "total": total.ravel(),
            "discount_factor": np.broadcast_to(inst.delta, (S, T)).ravel(),
            "discounted": (total * inst.delta).ravel(),
        }
    )
    demand = inst.H.sum(axis=2)
    unserved = sv.u.sum(axis=2)
    service = pd.DataFrame(
        {
            "scenario": costs["scenario"],
            "year": costs["year"],
            "demand_per_hour": demand.ravel(),
            "served_per_hour": (demand - unserved).ravel(),
            "unserved_per_hour": unserved.ravel(),
            "served_share": np.where(demand > 0, (demand - unserved) / np.maximum(demand, 1e-300), 1.0).ravel(),
            "swaps_per_day": (inst.ratio * inst.H).sum(axis=2).ravel(),
            "lost_swaps_per_day": (inst.ratio * sv.u).sum(axis=2).ravel(),
        }
    )
    return stations, costs, service


def _verify(plan: RolloutPlan, tol: float, inp: Inputs, inst: RolloutInstance) -> list[str]:
    """Every constraint and the objective from the caller's inputs (see :meth:`RolloutPlan.verify`)."""
    a = plan._arrays
    Y, B, C, x, u = (np.asarray(a[k]) for k in ("Y", "B", "C", "x", "u"))
    sc = inp.scenarios
    T = sc.years
    cand = inp.candidates
    m = len(cand)
    out: list[str] = []
    Y0, B0, C0 = inst.initial
    for name, v, v0 in (("open", Y, Y0), ("batteries", B, B0), ("chargers", C, C0)):
        if (np.diff(np.concatenate([v0[:, None], v], axis=1), axis=1) < -tol).any():
            out.append(f"{name} decreases from one year to the next")
        if (np.abs(v - np.round(v)) > tol).any() or (v < -tol).any():
            out.append(f"{name} not a non-negative integer")
    if ((Y > tol) & (Y < 1 - tol)).any():
        out.append("open not binary")
    for t in range(T):
        for lab in np.unique(sc.node_of[:, t]):
            grp = np.flatnonzero(sc.node_of[:, t] == lab)
            for name, v in (("open", Y), ("batteries", B), ("chargers", C)):
                if (np.abs(v[grp, t] - v[grp[0], t]) > tol).any():
                    out.append(f"year {inst.years[t]}: {name} differ between scenarios that share the year")
    grid = np.where(np.isfinite(cand.grid_kw), cand.grid_kw, inp.design.grid_kw)
    maxb = np.where(np.isfinite(cand.max_batteries), cand.max_batteries, 10 * inp.design.batteries)
    maxc = np.minimum(np.where(np.isfinite(cand.max_chargers), cand.max_chargers, 10 * inp.design.chargers),
                      np.floor(grid / inp.design.charger_kw))  # fmt: skip
    if (B > maxb * Y + tol).any():
        out.append("battery limit violated (or batteries at a closed site)")
    if (C > maxc * Y + tol).any():
        out.append("charger limit violated (or chargers at a closed site)")
    # distances of the pairs that carry flow, member by member
    used = np.flatnonzero((x > tol).any(axis=(0, 1)))
    for p in used:
        g, j = int(inst.pair_g[p]), int(inst.pair_j[p])
        d = inp.network.distances(list(inst.group_nodes[g]), [cand.nodes[j]], limit=inp.service_km * 2 + 1)
        if (d > inp.service_km * (1 + tol) + tol).any():
            out.append(f"demand at {inst.group_nodes[g][0]!r} served by {cand.labels[j]!r} beyond service_km")
            break
    if (x < -tol).any() or (u < -tol).any():
        out.append("negative flow")
    crf = capital_recovery_factor(inp.rate, inp.design.lifetime_years)
    fc = np.asarray(cand.fixed_cost, dtype=np.float64)
    objective = 0.0
    for s, scen in enumerate(sc.scenarios):
        for t, nd in enumerate(scen.demand):
            where = f"scenario {scen.name!r}, year {inst.years[t]}"
            h = dict.fromkeys((n for g in inst.group_nodes for n in g), 0.0)
            q = dict(h)
            for lab, hv, qv in zip(nd.nodes, nd.peak_hour(), nd.daily, strict=True):
                h[lab] += float(hv)
                q[lab] += float(qv)
            Hg = np.array([sum(h[n] for n in g) for g in inst.group_nodes])
            Qg = np.array([sum(q[n] for n in g) for g in inst.group_nodes])
            got = np.bincount(inst.pair_g, weights=x[s, t], minlength=len(Hg)) + u[s, t]
            if (np.abs(got - Hg) > tol * np.maximum(1.0, Hg)).any():
                out.append(f"{where}: demand balance broken")
            load = np.bincount(inst.pair_j, weights=x[s, t], minlength=m).astype(np.float64)
            if (load > inst.bay * Y[s, t] + tol * np.maximum(1.0, load)).any():
                out.append(f"{where}: swaps at a closed station or beyond the bays")
            for prob in inp.capacity.check(load, B[s, t], C[s, t], tol):
                out.append(f"{where}: {prob} violated")
            pY = Y0[s] if t == 0 else Y[s, t - 1]
            pB = B0[s] if t == 0 else B[s, t - 1]
            pC = C0[s] if t == 0 else C[s, t - 1]
            cash = fc @ (Y[s, t] - pY) + inp.pack.cost_cny * (B[s, t] - pB).sum() \
                + inp.charger_cost * (C[s, t] - pC).sum()  # fmt: skip
            if inp.budget is not None and cash > inp.budget[t] * (1 + tol) + tol:
                out.append(f"{where}: capex {cash:,.0f} over the budget {inp.budget[t]:,.0f}")
            served = float(x[s, t].sum())
            if inp.min_service is not None and served < inp.min_service[t] * Hg.sum() * (1 - tol) - tol:
                out.append(f"{where}: served {served:.6g} below the target {inp.min_service[t]:.3g} x demand")
            rho = np.where(Hg > 0, Qg / np.maximum(Hg, 1e-300), 0.0)
            year_cost = ((fc * crf + inp.design.opex_cny_per_year) @ Y[s, t] + inp.pack.cost_cny * crf * B[s, t].sum()
                         + inp.charger_cost * crf * C[s, t].sum() + 365 * inp.penalty_per_swap * rho @ u[s, t]
                         - 365 * (inp.revenue_per_swap - inp.cost_per_swap) * rho @ (Hg - u[s, t]))  # fmt: skip
            objective += scen.probability * (1 + inp.rate) ** -t * year_cost
    if abs(objective - plan.objective) > tol * max(1.0, abs(objective)):
        out.append(f"objective {plan.objective:.10g} != recomputed {objective:.10g}")
    return out


def make_plan(
    inst: RolloutInstance,
    sv: Solved,
    inp: Inputs,
    *,
    method: str,
    build_seconds: float,
    details: dict[str, Any],
    shared_years: int,
) -> RolloutPlan:
    """The :class:`RolloutPlan` of ``sv`` (objective recomputed from the tables)."""
    stations, costs, service = _tables(inst, sv)
    p = dict(zip(inst.names, inst.prob, strict=True))
    objective = (
        float((costs["discounted"] * costs["scenario"].map(p)).sum()) if sv.status.has_solution else sv.objective
    )
    bound = min(sv.bound, objective) if np.isfinite(sv.bound) and np.isfinite(objective) else sv.bound
    gap = max(objective - bound, 0.0) / max(abs(objective), 1e-9) if np.isfinite(bound) else float("inf")
    det = {
        "shared_years": shared_years,
        "groups": inst.G,
        "pairs": int(inst.pair_g.size),
        "candidates": inst.m,
        "demand_nodes": sum(len(g) for g in inst.group_nodes),
        **sv.stats,
        **details,
    }
    return RolloutPlan(
        years=inst.years,
        scenarios=inst.names,
        probabilities=tuple(float(v) for v in inst.prob),
        stations=stations,
        costs=costs,
        service=service,
        objective=objective,
        bound=bound,
        gap=gap,
        status=sv.status,
        method=method,
        build_seconds=build_seconds,
        solve_seconds=sv.solve_seconds,
        details=det,
        _verify=lambda plan, tol: _verify(plan, tol, inp, inst),
        _pyomo=lambda: build_model(inst).lm.to_pyomo(),
        _arrays={"Y": sv.Y, "B": sv.B, "C": sv.C, "x": sv.x, "u": sv.u},
    )
