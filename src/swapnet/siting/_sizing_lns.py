r"""Large-neighbourhood search for the plans of the large :func:`~swapnet.siting.size_stations` path.

The sites are connected where they share a demand node in reach; a *window* is a breadth-first ball
of :data:`WINDOW_SITES` sites around a seed. For a window :math:`W` and the demand nodes :math:`N` in
reach of it, HiGHS re-solves the sizing MILP with everything outside the window frozen:

.. math::

    \min \sum_{j \in W} (K_j y_j + P_b b_j + P_c c_j) + \sum_{i \in N} \pi_i u_i
    \quad\text{s.t.}\quad \sum_{k} x_{ik} + u_i = h_i \; (i \in N),\qquad
    \sum_{i \in N} x_{ik} \le s_k \; (k \notin W \text{ open}),

with the window's sites sized as in the full model (:math:`\sum_i x_{ij} \le B y_j`,
:math:`a_j \sum_i x_{ij} \le b_j \le \bar b_j y_j`, :math:`t_j \sum_i x_{ij} \le c_j \le \bar c_j y_j`).
A frozen open site :math:`k` keeps its packs and chargers; :math:`s_k` is the load they carry
(within its bays and limits) minus the load of the nodes outside :math:`N`, so its cost does not
change and its flows from :math:`N` are free. The current plan, restricted to the window, starts the
MILP, so the window's optimum is never worse; the new plan is accepted when its exact cost
(:func:`~swapnet.siting._sizing_primal.plan_cost`, sizes re-rounded) is lower.

The *core* window (:func:`improve_core`) is the country's open sites plus those the relaxation opens
at the best multipliers: it re-balances every site's load onto whole packs and chargers, closes sites
and opens the relaxation's choices in one MILP.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from swapnet.optim import LinearModel, SolveOptions
from swapnet.siting._sizing_lagrange import IntArray, SizingData
from swapnet.siting._sizing_primal import Plan, _settle, plan_cost

WINDOW_SITES = 30
"""Sites per window."""

WINDOW_SECONDS = 1.5
"""Time limit of one window's MILP. National benchmark (20,164 x 3,000, two window workers, 300 s), one run
each on 2026-12-08: 0.5 s -> 2.63 % (792 windows, 167 improved), 1.0 s -> 2.03 % (452, 209),
1.5 s -> 1.78 % (329, 165): a window cut short improves less than its time is worth elsewhere."""

WINDOW_GAP = 1e-3
"""Relative gap at which a window's MILP stops (a window is a small share of the whole plan)."""


def site_graph(d: SizingData) -> sp.csr_matrix:
    """Sites adjacent when they share a demand node in reach (``m x m``, CSR)."""
    inc = sp.csr_matrix((np.ones(d.ii.size), (d.jj, d.ii)), shape=(d.m, d.n))
    g = (inc @ inc.T).tocsr()
    g.setdiag(0)
    g.eliminate_zeros()
    return g


def window(graph: sp.csr_matrix, seed: int, size: int) -> IntArray:
    """The first ``size`` sites of a breadth-first search from ``seed``."""
    seen = {seed}
    order = [seed]
    frontier = [seed]
    ptr, idx = graph.indptr, graph.indices
    while frontier and len(order) < size:
        nxt: list[int] = []
        for s in frontier:
            for k in idx[ptr[s] : ptr[s + 1]].tolist():
                if k not in seen:
                    seen.add(k)
                    order.append(k)
                    nxt.append(k)
                    if len(order) >= size:
                        return np.asarray(order, dtype=np.int64)
        frontier = nxt
    return np.asarray(order, dtype=np.int64)


def improve_window(d: SizingData, plan: Plan, sites: IntArray, seconds: float, gap: float = WINDOW_GAP) -> Plan:
    """Re-solve the plan inside the window ``sites`` (module docstring); the better of the two plans.

    The window's MILP stops at the relative gap ``gap`` (:data:`WINDOW_GAP` by default), so with the
    default a window over every site lands within that gap of the optimum, not on it; ``gap=0``
    solves the window to optimality.
    """
    if sites.size == 0:
        return plan
    in_w = np.zeros(d.m, dtype=bool)
    in_w[sites] = True
    in_n = np.zeros(d.n, dtype=bool)
    in_n[d.ii[in_w[d.jj]]] = True
    cap = d.cap
    pairs = np.flatnonzero(in_n[d.ii] & (in_w[d.jj] | (plan.is_open[d.jj] & (cap[d.jj] > 0))))
    load = np.asarray(np.bincount(d.jj, weights=plan.x, minlength=d.m), dtype=np.float64)
    inner = np.bincount(d.jj[pairs], weights=plan.x[pairs], minlength=d.m)
    b, c = d.sizes(load)
    with np.errstate(divide="ignore", invalid="ignore"):
        carry = np.minimum(cap, np.minimum(np.where(d.a > 0, b / d.a, np.inf), np.where(d.t > 0, c / d.t, np.inf)))
    slack = np.maximum(carry * (1 - 1e-9) - (load - inner), 0.0)
    nodes = np.flatnonzero(in_n)
    row_of = np.full(d.n, -1, dtype=np.int64)
    row_of[nodes] = np.arange(nodes.size)
    pj = d.jj[pairs]
    w_pairs = in_w[pj]
    wpos = np.full(d.m, -1, dtype=np.int64)
    wpos[sites] = np.arange(sites.size)
    outside = np.unique(pj[~w_pairs])
    opos = np.full(d.m, -1, dtype=np.int64)
    opos[outside] = np.arange(outside.size)

    lm = LinearModel("size_stations_window")
    nw = sites.size
    y = lm.add_vars("y", nw, cost=d.fixed[sites], binary=True)
    bv = lm.add_vars("b", nw, ub=np.floor(d.maxb[sites] + 1e-9), cost=d.pb, integer=True)
    cv = lm.add_vars("c", nw, ub=np.floor(d.maxc[sites] + 1e-9), cost=d.pc, integer=True)
    x = lm.add_vars("x", pairs.size)
    u = lm.add_vars("u", nodes.size, cost=d.lost[nodes])
    ar = np.arange(nodes.size)
    lm.add_constraints(
        "demand", rows=np.concatenate([row_of[d.ii[pairs]], ar]), cols=np.concatenate([x.index, u.index]),
        vals=1.0, lo=d.h[nodes], hi=d.h[nodes], n=nodes.size,
    )  # fmt: skip
    xw = x.index[w_pairs]
    rw = wpos[pj[w_pairs]]
    aw = np.arange(nw)
    for name, coef, col, rhs in (
        ("bays", np.ones(rw.size), y.index, -d.bays),
        ("battery_stock", d.a[pj[w_pairs]], bv.index, -1.0),
        ("charging", d.t[pj[w_pairs]], cv.index, -1.0),
    ):
        lm.add_constraints(
            name, rows=np.concatenate([rw, aw]), cols=np.concatenate([xw, col]),
            vals=np.concatenate([coef, np.full(nw, rhs)]), hi=0.0, n=nw,
        )  # fmt: skip
    for name, blk, lim in (("battery_limit", bv, d.maxb[sites]), ("charger_limit", cv, d.maxc[sites])):
        lm.add_constraints(
            name, rows=np.concatenate([aw, aw]), cols=np.concatenate([blk.index, y.index]),
            vals=np.concatenate([np.ones(nw), -np.floor(lim + 1e-9)]), hi=0.0, n=nw,
        )  # fmt: skip
    if outside.size:
        lm.add_constraints(
            "frozen", rows=opos[pj[~w_pairs]], cols=x.index[~w_pairs], vals=1.0, hi=slack[outside], n=outside.size
        )
    if d.max_stations is not None:
        others = int(plan.is_open.sum() - plan.is_open[sites].sum())
        lm.add_constraints("count", rows=np.zeros(nw, dtype=np.int64), cols=y.index, vals=1.0,
                           hi=float(d.max_stations - others), n=1)  # fmt: skip
    start = np.zeros(lm.n_cols)
    start[y.index] = plan.is_open[sites]
    start[bv.index] = b[sites] * plan.is_open[sites]
    start[cv.index] = c[sites] * plan.is_open[sites]
    start[x.index] = plan.x[pairs]
    start[u.index] = np.maximum(d.h[nodes] - np.bincount(row_of[d.ii[pairs]], weights=plan.x[pairs],
                                                         minlength=nodes.size), 0.0)  # fmt: skip
    sol = lm.solve(SolveOptions(time_limit=max(seconds, 0.1), mip_gap=gap, threads=1), start=start)
    if sol.x is None:
        return plan
    xn = plan.x.copy()
    xn[in_n[d.ii]] = 0.0  # the window's nodes get their flows from the MILP only
    xn[pairs] = np.maximum(sol.values("x"), 0.0)
    is_open = plan.is_open.copy()
    is_open[sites] = np.round(sol.values("y")) > 0.5
    # HiGHS may overshoot a row by its feasibility tolerance (a load of 8.00000012 packs' worth on
    # 8 packs); each window site's load is clipped to what its integer packs and chargers carry, so
    # the re-rounded sizes equal the MILP's.
    held = cap.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        held[sites] = np.minimum(
            cap[sites],
            np.minimum(
                np.where(d.a[sites] > 0, np.round(sol.values("b")) / d.a[sites], np.inf),
                np.where(d.t[sites] > 0, np.round(sol.values("c")) / d.t[sites], np.inf),
            ),
        )
    xn, un = _settle(d, is_open, xn, held * (1 - 1e-12))
    cost = plan_cost(d, is_open, xn, un)
    if cost < plan.cost - 1e-9 * abs(plan.cost):
        return Plan(is_open, xn, un, cost)
    return plan


def improve_core(d: SizingData, plan: Plan, hint: NDArray[np.bool_], seconds: float) -> Plan:
    """One window over the whole country: the plan's open sites and the sites ``hint`` opens (the
    relaxation's open sites at the best multipliers); every other site stays closed."""
    return improve_window(d, plan, np.flatnonzero((plan.is_open | hint) & (d.cap > 0)), seconds)


def search(
    d: SizingData, plan: Plan, deadline: float, seed: int = 0, size: int = WINDOW_SITES
) -> tuple[Plan, int, int]:
    """Improve ``plan`` window by window until ``deadline``: seeds drawn (seeded) among the sites no
    window of the current pass has covered yet; stops early after a pass in which no window improved.
    Returns the plan, the windows solved and the improved."""
    rng = np.random.default_rng(seed)
    graph = site_graph(d)
    covered = np.zeros(d.m, dtype=bool)
    tried = improved = 0
    gained = False
    usable = d.cap > 0
    while True:
        left = deadline - time.perf_counter()
        if left < 1.0:
            break
        pool = np.flatnonzero(~covered & usable)
        if pool.size == 0:  # a pass over every site is done
            if not gained:
                break  # no window improved: another pass would re-solve the same windows
            covered[:] = False
            gained = False
            continue
        s = int(rng.choice(pool))
        w = window(graph, s, size)
        covered[w] = True
        new = improve_window(d, plan, w, min(WINDOW_SECONDS, left - 0.5))
        tried += 1
        if new.cost < plan.cost:
            plan, improved, gained = new, improved + 1, True
    return plan, tried, improved
