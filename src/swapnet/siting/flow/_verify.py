"""Independent re-checks of flow plans: walks along paths, captured flows, capacities, dropped flows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork
from swapnet.siting._common import _check_value
from swapnet.siting.flow._instance import (
    _RANGE_RTOL,
    BoolArray,
    FloatArray,
    _Instance,
    _pair_distances,
)
from swapnet.siting.flow._model import (
    _Capacity,
)
from swapnet.siting.plan import SitingPlan


def _walk_refuelable(inst: _Instance, is_open_node: BoolArray, R: float) -> BoolArray:
    """Refuelability of every flow by simulating the round trip with a fuel level.

    Independent of the cover sets: the vehicle leaves the origin with ``R/2``
    (``R`` if the origin has an open station), fills up to ``R`` at every open
    station, drives the path to the destination and back, and must never run
    below zero, must swap at least once, and must be back home with at least
    ``R/2`` unless the origin has a station (so the next trip starts alike).
    """
    tol = R * _RANGE_RTOL
    Ls = inst.n_edges
    ok = np.zeros(inst.n_flows, dtype=bool)
    for L in np.unique(Ls).tolist():
        q = np.flatnonzero(Ls == L)
        P = inst.nodes[inst.ptr[q][:, None] + np.arange(L + 1)]
        E = inst.lens[inst.eptr[q][:, None] + np.arange(L)]
        cyc_nodes = np.concatenate([P, P[:, -2::-1]], axis=1) if L > 0 else P
        cyc_lens = np.concatenate([E, E[:, ::-1]], axis=1)
        st = is_open_node[cyc_nodes]
        fuel = np.full(q.size, R / 2)
        alive = np.ones(q.size, dtype=bool)
        swapped = np.zeros(q.size, dtype=bool)
        for i in range(cyc_lens.shape[1]):
            fuel = np.where(st[:, i], R, fuel)
            swapped |= st[:, i]
            fuel = fuel - cyc_lens[:, i]
            alive &= fuel >= -tol
        home = st[:, 0] | (fuel >= R / 2 - tol)
        ok[q] = alive & swapped & home
    return ok


def _captured(inst: _Instance, is_open_node: BoolArray) -> BoolArray:
    """Whether each path visits an open station (a direct scan of the paths)."""
    hit = is_open_node[inst.nodes].astype(np.int64)
    if inst.nodes.size == 0:  # pragma: no cover - flows are non-empty
        return np.zeros(inst.n_flows, dtype=bool)
    return np.add.reduceat(hit, inst.ptr[:-1]) > 0


def _open_mask(sites: tuple[Hashable, ...], inst: _Instance) -> tuple[BoolArray, list[str]]:
    pos = {lab: j for j, lab in enumerate(inst.cand_labels)}
    mask = np.zeros(inst.n_cands, dtype=bool)
    problems = []
    for s in sites:
        j = pos.get(s)
        if j is None:
            problems.append(f"site {s!r} is not a candidate")
        elif mask[j]:
            problems.append(f"site {s!r} is listed twice")
        else:
            mask[j] = True
    return mask, problems


def _make_verify(
    inst: _Instance, served_by: Callable[[BoolArray], BoolArray], capacity: _Capacity | None
) -> Callable[[SitingPlan, float], list[str]]:
    def verify(plan: SitingPlan, tol: float) -> list[str]:
        is_open, problems = _open_mask(plan.sites, inst)
        n_open = int(is_open.sum())
        if inst.p is not None and n_open != inst.p:
            problems.append(f"{n_open} sites open, p = {inst.p}")
        spent = float(inst.costs[is_open].sum())
        if inst.budget is not None and spent > inst.budget * (1 + tol) + tol:
            problems.append(f"site cost {spent:g} exceeds budget {inst.budget:g}")
        problems += [f"fixed site {inst.cand_labels[int(j)]!r} is not open" for j in inst.fixed if not is_open[j]]
        node_open = np.zeros(inst.network.n_nodes, dtype=bool)
        node_open[inst.cand_nodes[is_open]] = True
        ok = served_by(node_open)
        a = plan.assignment
        if len(a) != inst.n_flows:
            return [*problems, f"assignment has {len(a)} rows, expected {inst.n_flows}"]
        flagged = a["covered"].to_numpy(dtype=bool)
        wrong = np.flatnonzero(flagged != ok)
        if wrong.size:
            k = int(wrong[0])
            problems.append(
                f"{wrong.size} flow(s) with a wrong 'covered' flag, e.g. flow {k} "
                f"({inst.flows.origins[k]!r}->{inst.flows.destinations[k]!r}) is {'not ' if not ok[k] else ''}served"
            )
        f = inst.volumes
        if capacity is None:
            value = float(f[ok].sum())
        else:
            served = a["served"].to_numpy(dtype=np.float64)
            value = float((f * served).sum())
            problems += _check_capacity(plan, inst, capacity, is_open, ok, served, tol)
        problems += _check_value("objective", plan.objective, value, tol)
        if plan.covered is not None:
            problems += _check_value("covered", plan.covered, value, tol)
        if np.isfinite(plan.bound) and plan.objective > plan.bound + tol * max(1.0, abs(plan.bound)):
            problems.append(f"objective {plan.objective:.10g} exceeds the bound {plan.bound:.10g}")
        return problems

    return verify


def _check_capacity(
    plan: SitingPlan,
    inst: _Instance,
    cp: _Capacity,
    is_open: BoolArray,
    refuelable: BoolArray,
    served: FloatArray,
    tol: float,
) -> list[str]:
    out: list[str] = []
    f = inst.volumes
    if ((served < -tol) | (served > 1 + tol)).any():
        out.append("served fractions outside [0, 1]")
    bad = np.flatnonzero((served > tol) & ~refuelable)
    if bad.size:
        out.append(f"{bad.size} flow(s) served although not refuelable, e.g. flow {int(bad[0])}")
    sw: pd.DataFrame = plan.details.get("swaps", pd.DataFrame({"flow": [], "station": [], "swaps": []}))
    fl = sw["flow"].to_numpy(dtype=np.int64)
    vol = sw["swaps"].to_numpy(dtype=np.float64)
    pos = {lab: j for j, lab in enumerate(inst.cand_labels)}
    st = np.array([pos.get(s, -1) for s in sw["station"]], dtype=np.int64)
    if (st < 0).any() or (fl < 0).any() or (fl >= inst.n_flows).any():
        return [*out, "swap rows name unknown stations or flows"]
    if (vol < -tol).any():
        out.append("negative swap volumes")
    if (~is_open[st] & (vol > tol)).any():
        out.append("swaps assigned to a closed station")
    # visits of each station by each flow's round trip, from the paths
    visits: dict[tuple[int, int], int] = {}
    for q, k in zip(fl.tolist(), st.tolist(), strict=True):
        if (q, k) not in visits:
            path = inst.nodes[inst.ptr[q] : inst.ptr[q + 1]]
            at = path == inst.cand_nodes[k]
            visits[(q, k)] = int(2 * at.sum() - at[0] - at[-1])
    for q, k, v in zip(fl.tolist(), st.tolist(), vol.tolist(), strict=True):
        limit = visits[(q, k)] * f[q] * served[q]
        if v > limit * (1 + tol) + tol:
            out.append(f"flow {q} swaps {v:g} at {inst.cand_labels[k]!r}, more than {visits[(q, k)]} per trip")
            break
    per_flow = np.bincount(fl, weights=vol, minlength=inst.n_flows)
    need = cp.swaps * f * served
    badf = np.flatnonzero(np.abs(per_flow - need) > tol * np.maximum(1.0, need))
    if badf.size:
        q = int(badf[0])
        out.append(f"{badf.size} flow(s) with swaps != swaps_per_trip*volume*served, e.g. flow {q}")
    load = np.bincount(st, weights=vol, minlength=inst.n_cands)
    over = np.flatnonzero(load > cp.cap * (1 + tol) + tol)
    if over.size:
        k = int(over[0])
        out.append(f"station {inst.cand_labels[k]!r} load {load[k]:g} exceeds capacity {cp.cap[k]:g}")
    return out


def _with_dropped_flows(plan: SitingPlan, network: RoadNetwork, flows: ODFlows, dropped: BoolArray) -> SitingPlan:
    """Record the dropped flows in ``details`` and make ``verify()`` re-check that they are unroutable."""
    idx = np.flatnonzero(dropped)
    pairs = tuple((flows.origins[int(i)], flows.destinations[int(i)]) for i in idx)
    extra: dict[str, Any] = {"dropped_flows": pairs, "dropped_volume": float(np.asarray(flows.volumes)[idx].sum())}
    inner = plan._verify
    o = network.index_of([flows.origins[int(i)] for i in idx]) if idx.size else np.zeros(0, dtype=np.int64)
    d = network.index_of([flows.destinations[int(i)] for i in idx]) if idx.size else np.zeros(0, dtype=np.int64)
    round_trip = plan.model == "frlm"

    def verify(p: SitingPlan, tol: float) -> list[str]:
        problems = inner(p, tol) if inner is not None else []
        if tuple(p.details.get("dropped_flows", ())) != pairs:
            problems.append("the dropped flows differ from those recomputed")
        if idx.size:
            there = np.isfinite(_pair_distances(network, o, d))
            if round_trip:
                there &= np.isfinite(_pair_distances(network, d, o))
            if there.any():
                k = int(np.flatnonzero(there)[0])
                problems.append(f"dropped flow {pairs[k]!r} has a path")
        return problems

    return dataclasses.replace(plan, details={**plan.details, **extra}, _verify=verify)
