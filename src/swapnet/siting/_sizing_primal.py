"""Plans for the Lagrangian path of :func:`~swapnet.siting.size_stations`: from a set of open sites to a
feasible plan (transportation LP, repair of unserved demand, closing of sites whose load fits elsewhere).

Every plan returned here is feasible for the sizing MILP: loads within each site's bays and limits,
integer packs and chargers rounded up from the load, demand balanced by the unserved swaps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from swapnet.optim import LinearModel, SolveOptions
from swapnet.siting._sizing_lagrange import FloatArray, SizingData

BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Plan:
    """A feasible plan: open sites, flow on every pair, unserved swaps per node and its annual cost."""

    is_open: BoolArray
    x: FloatArray
    u: FloatArray
    cost: float


def plan_cost(d: SizingData, is_open: BoolArray, x: FloatArray, u: FloatArray) -> float:
    """Annual cost of a plan (sites, rounded-up packs and chargers, lost swaps)."""
    load = np.asarray(np.bincount(d.jj, weights=x, minlength=d.m), dtype=np.float64)
    return float(d.site_cost(load, is_open).sum() + d.lost @ u)


def assign(d: SizingData, is_open: BoolArray, deadline: float) -> tuple[FloatArray, FloatArray]:
    """Cheapest flows for the open sites (linear pack and charger costs, loads within the caps): an LP."""
    cap = d.cap
    use = np.flatnonzero(is_open[d.jj] & (cap[d.jj] > 0))
    lm = LinearModel("size_stations_assign")
    unit = d.pb * d.a + d.pc * d.t
    x = lm.add_vars("x", use.size, cost=unit[d.jj[use]])
    u = lm.add_vars("u", d.n, cost=d.lost)
    lm.add_constraints(
        "demand", rows=np.concatenate([d.ii[use], np.arange(d.n)]), cols=np.concatenate([x.index, u.index]),
        vals=1.0, lo=d.h, hi=d.h, n=d.n,
    )  # fmt: skip
    sites, row = np.unique(d.jj[use], return_inverse=True)
    if sites.size:
        lm.add_constraints("cap", rows=row, cols=x.index, vals=1.0, hi=cap[sites] * (1 - 1e-9), n=sites.size)
    left = max(deadline - time.perf_counter(), 1.0)
    sol = lm.solve(SolveOptions(time_limit=left if np.isfinite(left) else None, threads=1, lp_method="simplex"))
    xv = np.zeros(d.ii.size)
    if sol.x is None:
        return xv, d.h.copy()
    xv[use] = np.maximum(sol.values("x"), 0.0)
    return _settle(d, is_open, xv)


def _settle(
    d: SizingData, is_open: BoolArray, x: FloatArray, cap: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Clip tolerance overshoots: each site's load at most its cap (``d.cap`` unless given), each node's
    flow at most its demand."""
    x = np.where(is_open[d.jj], np.maximum(x, 0.0), 0.0)
    load = np.bincount(d.jj, weights=x, minlength=d.m)
    cap = d.cap if cap is None else cap
    scale = np.where(load > cap, cap / np.maximum(load, 1e-300), 1.0)
    x = x * scale[d.jj]
    got = np.bincount(d.ii, weights=x, minlength=d.n)
    over = np.where(got > d.h, d.h / np.maximum(got, 1e-300), 1.0)
    x = x * over[d.ii]
    got = np.bincount(d.ii, weights=x, minlength=d.n)
    return x, np.maximum(d.h - got, 0.0)


def repair(d: SizingData, is_open: BoolArray, u: FloatArray, value: FloatArray) -> BoolArray:
    """Open closed sites in reach of unserved demand that is worth serving, cheapest relaxed value first."""
    is_open = is_open.copy()
    cap = d.cap
    left = u * (d.lost > 0)
    reach_unserved = np.bincount(d.jj, weights=left[d.ii] * (~is_open[d.jj]), minlength=d.m)
    worth = np.bincount(d.jj, weights=(left * d.lost)[d.ii] * (~is_open[d.jj]), minlength=d.m)
    cand = np.flatnonzero((~is_open) & (cap > 0) & (reach_unserved > 1e-9) & (worth > d.fixed))
    by_site, s_beg, s_end = d.by_site
    for j in cand[np.argsort(value[cand], kind="stable")]:
        nodes = d.ii[by_site[s_beg[j] : s_end[j]]]
        if left[nodes].sum() <= 1e-9:
            continue
        is_open[j] = True
        take = min(cap[j], float(left[nodes].sum()))
        # consume the unserved demand it can reach, nearest in order
        for i in nodes:
            g = min(take, float(left[i]))
            left[i] -= g
            take -= g
            if take <= 1e-12:
                break
    return is_open


def close_sites(d: SizingData, plan: Plan, order: NDArray[np.int64] | None = None) -> Plan:
    """Close, one by one, open sites whose flows fit into the spare capacity of open sites in reach
    (greedy move of each node's flow), when that lowers the cost."""
    cap = d.cap
    is_open = plan.is_open.copy()
    x = plan.x.copy()
    load = np.bincount(d.jj, weights=x, minlength=d.m)
    by_site, s_beg, s_end = d.by_site
    by_node, n_beg, n_end = d.by_node
    pb, pc, a, t = d.pb, d.pc, d.a, d.t

    def rounded(j: int, lj: float) -> float:
        return float(pb * max(np.ceil(a[j] * lj - 1e-7), 0.0) + pc * max(np.ceil(t[j] * lj - 1e-7), 0.0))

    sites = np.flatnonzero(is_open) if order is None else order
    for j in sites:
        if not is_open[j]:
            continue
        mine = by_site[s_beg[j] : s_end[j]]
        mine = mine[x[mine] > 1e-12]
        moves: list[tuple[int, int, float]] = []  # (from pair, to pair, amount)
        extra: dict[int, float] = {}
        ok = True
        for p in mine:
            i = int(d.ii[p])
            need = float(x[p])
            for q in by_node[n_beg[i] : n_end[i]]:
                k = int(d.jj[q])
                if k == j or not is_open[k]:
                    continue
                room = cap[k] * (1 - 1e-9) - load[k] - extra.get(k, 0.0)
                if room <= 1e-12:
                    continue
                g = min(room, need)
                moves.append((int(p), int(q), g))
                extra[k] = extra.get(k, 0.0) + g
                need -= g
                if need <= 1e-12:
                    break
            if need > 1e-9:
                ok = False
                break
        if not ok:
            continue
        saving = d.fixed[j] + rounded(int(j), float(load[j]))
        saving -= sum(rounded(k, float(load[k] + e)) - rounded(k, float(load[k])) for k, e in extra.items())
        if saving <= 0:
            continue
        for p, q, g in moves:
            x[p] -= g
            x[q] += g
        for k, e in extra.items():
            load[k] += e
        x[mine] = 0.0
        load[j] = 0.0
        is_open[j] = False
    x, u = _settle(d, is_open, x)
    return Plan(is_open, x, u, plan_cost(d, is_open, x, u))


def build_plan(d: SizingData, is_open: BoolArray, value: FloatArray, deadline: float) -> Plan:
    """From open sites to a feasible plan: LP assignment, repair of unserved demand, re-assignment, closing."""
    is_open = is_open & (d.cap > 0)
    x, u = assign(d, is_open, deadline)
    fixed_open = repair(d, is_open, u, value)
    if (fixed_open != is_open).any():
        is_open = fixed_open
        x, u = assign(d, is_open, deadline)
    if d.max_stations is not None and int(is_open.sum()) > d.max_stations:
        load = np.bincount(d.jj, weights=x, minlength=d.m)
        keep = np.argsort(-np.where(is_open, load, -1.0), kind="stable")[: d.max_stations]
        is_open = np.zeros(d.m, dtype=bool)
        is_open[keep] = True
        x, u = assign(d, is_open, deadline)
    plan = Plan(is_open, x, u, plan_cost(d, is_open, x, u))
    load = np.bincount(d.jj, weights=x, minlength=d.m)
    js = np.flatnonzero(is_open)
    better = close_sites(d, plan, js[np.argsort(load[js] - d.fixed[js] * 1e-9, kind="stable")])
    if better.cost < plan.cost:
        x, u = assign(d, better.is_open, deadline)  # re-balance the flows of the remaining sites
        again = Plan(better.is_open, x, u, plan_cost(d, better.is_open, x, u))
        plan = again if again.cost <= better.cost else better
    return plan


def drain_sites(d: SizingData, plan: Plan, deadline: float, max_visit: int = 150) -> Plan:
    """Close open sites by pushing their flows along augmenting paths (node to another open site in
    reach, that site's flow of another node onwards, ...) to sites with spare capacity; least-loaded
    sites first, each closed only if all of its load moves and the cost falls. Stops at ``deadline``."""
    cap = (d.cap * (1 - 1e-9)).tolist()
    is_open = plan.is_open.tolist()
    x = plan.x.tolist()
    ii, jj = d.ii, d.jj
    load = np.bincount(jj, weights=plan.x, minlength=d.m).tolist()
    by_site, _, s_end = d.by_site
    site_l = [p.tolist() for p in np.split(by_site, s_end[:-1])]
    by_node, _, n_end = d.by_node
    node_l = [p.tolist() for p in np.split(by_node, n_end[:-1])]
    ii_l, jj_l = ii.tolist(), jj.tolist()
    pb, pc = d.pb, d.pc
    a, t = d.a.tolist(), d.t.tolist()
    ceil = math.ceil

    def rounded(j: int, lj: float) -> float:
        return float(pb * max(ceil(a[j] * lj - 1e-7), 0) + pc * max(ceil(t[j] * lj - 1e-7), 0))

    def path_from(j: int) -> list[tuple[int, int]] | None:
        parent: dict[int, tuple[int, int, int]] = {}
        frontier = [j]
        seen = {j}
        while frontier and len(seen) < max_visit:
            nxt: list[int] = []
            for s in frontier:
                for p in site_l[s]:
                    if x[p] <= 1e-12:
                        continue
                    for q in node_l[ii_l[p]]:
                        k = jj_l[q]
                        if k in seen or not is_open[k]:
                            continue
                        seen.add(k)
                        parent[k] = (p, q, s)
                        if cap[k] - load[k] > 1e-9:
                            steps: list[tuple[int, int]] = []
                            while k != j:
                                p0, q0, k = parent[k]
                                steps.append((p0, q0))
                            return steps
                        nxt.append(k)
            frontier = nxt
        return None

    start = np.flatnonzero(plan.is_open)
    util = np.asarray(load)[start] / np.maximum(d.cap[start], 1e-300)
    for j in start[np.argsort(util, kind="stable")].tolist():
        if time.perf_counter() > deadline:
            break
        before = {j: load[j]}
        changes: list[tuple[int, float]] = []
        is_open[j] = False  # no flow may come back to it
        ok = True
        while load[j] > 1e-9:
            steps = path_from(j)
            if steps is None:
                ok = False
                break
            end = jj_l[steps[0][1]]
            delta = min(min(x[p] for p, _ in steps), cap[end] - load[end], load[j])
            before.setdefault(end, load[end])
            for p, q in steps:
                x[p] -= delta
                x[q] += delta
                changes.append((p, -delta))
                changes.append((q, delta))
            load[j] -= delta
            load[end] += delta
        saving = d.fixed[j] + rounded(j, before[j]) if ok else 0.0
        if ok:
            saving -= sum(rounded(k, load[k]) - rounded(k, lk) for k, lk in before.items() if k != j)
        if not ok or saving <= 0:
            for p, dv in reversed(changes):
                x[p] -= dv
            for k, lk in before.items():
                load[k] = lk
            is_open[j] = True
    isv = np.asarray(is_open, dtype=bool)
    xv, u = _settle(d, isv, np.asarray(x, dtype=np.float64))
    return Plan(isv, xv, u, plan_cost(d, isv, xv, u))
