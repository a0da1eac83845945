r"""Joint siting and sizing of swap stations: which sites, how many batteries and chargers each.

Model (all rates per hour of the busiest hour; money per year)
------------------------------------------------------------
Sets: demand nodes :math:`i` with peak-hour swaps :math:`h_i` and daily swaps :math:`q_i`;
candidate sites :math:`j`; pairs :math:`(i, j)` with network distance :math:`d_{ij} \le s`
(the service distance), and, with a fallback reach :math:`f \ge s` (``fallback_km``), the pairs
:math:`d_{ij} \le f` of the nodes that have no candidate within :math:`s`.

Variables: :math:`y_j \in \{0,1\}` open; integers :math:`b_j` batteries and :math:`c_j`
chargers; :math:`x_{ij} \ge 0` peak-hour swaps of node :math:`i` served at :math:`j`;
:math:`u_i \ge 0` unserved peak-hour swaps.

.. math::

    \min \sum_j \big[(K_j\,\mathrm{CRF} + O)\,y_j + P_b\,\mathrm{CRF}\,b_j + P_c\,\mathrm{CRF}\,c_j\big]
    + 365\,\pi \sum_i \frac{q_i}{h_i} u_i

subject to

* demand: :math:`\sum_j x_{ij} + u_i = h_i`;
* bays: :math:`\sum_i x_{ij} \le B\,y_j` with :math:`B = \text{bays} \cdot 60 / \text{swap\_minutes}`;
* charging: :math:`t_c \sum_i x_{ij} \le c_j`, where :math:`t_c = e / p` hours is the time one
  charger at full power :math:`p` (``design.charger_kw``) needs to put back the grid energy
  :math:`e` of one swap (``design.grid_energy_per_swap_kwh(pack)``) — Little's law: packs on charge
  = arrival rate x charge time;
* batteries: :math:`b_j \ge (t_c + H)\sum_i x_{ij}` — the packs on charge plus a buffer of
  charged packs covering :math:`H` hours of peak swaps (``buffer_hours``);
* grid: :math:`p\,c_j \le G_j\,y_j` (the site's grid connection, else ``design.grid_kw``);
* limits: :math:`b_j \le \bar b_j y_j`, :math:`c_j \le \bar c_j y_j` (site limits, else 10x the design's).

:math:`K_j` is the site's fixed cost (``candidates.fixed_cost``), :math:`O` the design's opex,
:math:`P_b` the pack price, :math:`P_c` the price of a charger, CRF the capital recovery factor at
``rate`` over the design lifetime, :math:`\pi` the penalty per lost swap. A node whose peak hour is
short by :math:`u_i` is assumed to lose the same share :math:`u_i/h_i` of its daily swaps.

Service-level sizing (``service_level=s``)
------------------------------------------
The mean-rate model runs chargers at 100 % in the busiest hour, so Poisson peaks lose swaps. With a
target :math:`s` (e.g. 0.98) the loss :math:`1 - s` is met by the queueing model of
:mod:`swapnet.siting.queueing` (Erlang loss over the packs in the charge cycle, chargers and bays
as further stages):

1. per site, the utilisation cap :math:`\rho_j` is the charger utilisation at which the site's
   largest station (:math:`\bar c_j` chargers, :math:`\bar c_j + H \bar c_j / t_c` packs within
   :math:`\bar b_j`) loses exactly :math:`1 - s`;
2. the MILP above is solved with :math:`t_c / \rho_j` in place of :math:`t_c` in the charging and
   battery rows and no separate buffer (:math:`H = 0`);
3. each open station then gets the cheapest integers :math:`(b_j, c_j)`, :math:`c_j \ge t_c
   \lambda_j`, :math:`b_j \ge c_j`, within its limits, whose model loss at its load
   :math:`\lambda_j = \sum_i x_{ij}` is at most :math:`1 - s` (or its limits when none is).

Step 1 is a heuristic (smaller stations reach lower utilisation), so the plan claims no optimality
(``status = feasible``, ``bound`` and ``gap`` NaN; the MILP's own gap is ``details["milp_gap"]``);
:meth:`~swapnet.siting.SitingPlan.verify` re-checks the model loss of every station below its limits.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.assets import BatteryPack, CandidateSites, StationDesign, capital_recovery_factor
from swapnet.demand import NodeDemand
from swapnet.errors import InvalidInputError
from swapnet.network import RoadNetwork
from swapnet.optim import LinearModel, SolveOptions, SolveStatus
from swapnet.siting._budget import Budget
from swapnet.siting._sizing_lagrange import SizingData
from swapnet.siting._sizing_large import pair_distances
from swapnet.siting._sizing_solve import is_large, solve_lagrangian
from swapnet.siting.matrix import _raise_if_infeasible, _rebase
from swapnet.siting.plan import SitingPlan, default_options
from swapnet.siting.queueing import pack_loss, size_for_loss

__all__ = ["resize_stations", "size_stations"]

FloatArray = NDArray[np.float64]

CHARGER_CNY = 60_000.0
"""Assumed price of one charging slot with its power electronics (A: 40-60 kW DC module, ~1,200 CNY/kW)."""


def _utilisation_cap(
    loss: float, tc: float, maxb: FloatArray, maxc: FloatArray, buffer_hours: float, swap_h: float, bays: int
) -> FloatArray:
    """Per site, ``rho = tc * lambda_max / c_max``: the charger utilisation at which the site's largest
    station (``c_max`` chargers, ``c_max + buffer_hours * c_max / tc`` packs within its limit) loses
    exactly ``loss`` of its drivers (bisection on ``lambda``, vectorised over sites)."""
    c = np.maximum(maxc, 1.0).astype(np.int64)
    b = np.minimum(maxb, c + np.ceil(buffer_hours * c / tc)).astype(np.int64)
    lo, hi = np.zeros(c.size), c / tc
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        ok = pack_loss(mid, b, c, tc, swap_hours=swap_h, bays=bays) <= loss
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return np.clip(tc * lo / c, 1e-3, 1.0)


def size_stations(
    network: RoadNetwork,
    demand: NodeDemand,
    candidates: CandidateSites,
    design: StationDesign,
    pack: BatteryPack,
    *,
    service_km: float,
    penalty_per_swap: float = 200.0,
    buffer_hours: float = 1.0,
    charger_cost: float = CHARGER_CNY,
    rate: float = 0.08,
    max_stations: int | None = None,
    service_level: float | None = None,
    fallback_km: float | None = None,
    options: SolveOptions | None = None,
) -> SitingPlan:
    """Open candidate sites and size them (integer batteries and chargers) to serve peak-hour swaps.

    See the module docstring for the model. Capacity comes from ``design`` (bays, swap time,
    charger kW, grid kW) and ``pack`` (energy per swap).

    Parameters
    ----------
    network
        Road network (distances in km).
    demand
        Swaps per day at nodes with their hourly profile; the busiest hour is sized for.
    candidates
        Candidate sites (fixed cost in CNY, optional battery/charger/grid limits).
    design, pack
        Station design and battery pack.
    service_km
        A node may be served by sites within this network distance.
    penalty_per_swap
        Cost of one lost swap, CNY.
    buffer_hours
        Charged-pack buffer in hours of peak swaps.
    charger_cost
        Price of one charger, CNY (annualised like the packs).
    rate
        Discount rate for annualising capex.
    max_stations
        Optional upper bound on the number of stations.
    service_level
        Size for randomness: each open station gets the cheapest batteries and chargers whose
        busiest-hour share of drivers finding a charged pack is at least ``service_level`` under
        the queueing model of :mod:`swapnet.siting.queueing` (e.g. ``0.98``), within its site
        limits. The MILP then uses a utilisation cap ``rho_j`` per site (the highest load its largest
        station can carry at the target with ``buffer_hours`` of spare packs) and no separate buffer;
        see "Service-level sizing" in the module docstring. ``None`` (default): the mean-rate model.
    fallback_km
        Reach for nodes out of reach: a node with no candidate site within ``service_km`` may be
        served by sites within ``fallback_km`` (at least ``service_km``); every other node still only
        within ``service_km``. ``None`` (default): such nodes stay unserved ("no station within
        reach"). The assignment's ``beyond_service_km`` column marks the rows of such nodes.
    options
        Solver options. On a large instance (demand nodes x candidates >= 5 M; the Lagrangian path)
        ``threads`` is the number of plan-search windows solved at once, each in its own worker process
        with one HiGHS thread (``None``: half the machine's cores; 1: all in this process).

    Returns
    -------
    SitingPlan
        ``objective`` = annual cost (CNY/year); ``covered`` = peak-hour swaps served;
        ``assignment`` rows (demand, site, swaps_per_hour, unserved_reason, beyond_service_km) with
        ``site=None`` for unserved swaps;
        :attr:`~swapnet.siting.SitingPlan.sized_stations` (``details["stations"]``) a DataFrame
        (site, node, batteries, chargers, swaps_per_hour, capacity_per_hour, charging_kw, grid_kw:
        the grid connection the station was sized for); ``details["design"]``/``["pack"]`` the
        design and pack it was sized with.
    """
    t0 = time.perf_counter()
    if not np.isfinite(service_km) or service_km < 0:
        raise InvalidInputError("service_km", service_km, "must be finite and non-negative")
    for name, val in (("penalty_per_swap", penalty_per_swap), ("buffer_hours", buffer_hours),
                      ("charger_cost", charger_cost), ("rate", rate)):  # fmt: skip
        if not np.isfinite(val) or val < 0:
            raise InvalidInputError(name, val, "must be finite and non-negative")
    if fallback_km is not None and (
        isinstance(fallback_km, bool) or not np.isfinite(fallback_km) or fallback_km < service_km
    ):
        raise InvalidInputError("fallback_km", fallback_km, f"must be finite and at least service_km ({service_km:g})")
    demand.check(network)
    candidates.check(network)
    opts = default_options(options)
    h = np.asarray(demand.peak_hour(), dtype=np.float64)
    q = np.asarray(demand.daily, dtype=np.float64)
    m = len(candidates.labels)
    reach = service_km if fallback_km is None else fallback_km
    D = network.distances(demand.nodes, candidates.nodes, limit=reach)
    in_reach: NDArray[np.bool_] = np.asarray(D <= service_km, dtype=np.bool_)
    # nodes with no candidate within service_km may use the fallback reach (if any)
    outside: NDArray[np.bool_] = np.asarray(~in_reach.any(axis=1), dtype=np.bool_)
    if fallback_km is not None:
        in_reach |= outside[:, None] & (D <= fallback_km)
    ii, jj = np.nonzero(in_reach)
    k = ii.size
    n = h.size
    crf = capital_recovery_factor(rate, design.lifetime_years)
    site_cost = np.asarray(candidates.fixed_cost, dtype=np.float64) * crf + design.opex_cny_per_year
    e = design.grid_energy_per_swap_kwh(pack)
    p_kw = design.charger_kw
    tc = e / p_kw
    B = design.bay_capacity_per_hour
    G = np.where(np.isfinite(candidates.grid_kw), candidates.grid_kw, design.grid_kw)
    maxb = np.where(np.isfinite(candidates.max_batteries), candidates.max_batteries, 10 * design.batteries)
    maxc = np.where(np.isfinite(candidates.max_chargers), candidates.max_chargers, 10 * design.chargers)
    maxc = np.minimum(maxc, np.floor(G / p_kw))
    lost_cost = 365.0 * penalty_per_swap * np.where(h > 0, q / np.maximum(h, 1e-300), 0.0)
    sw_h = design.swap_minutes / 60.0
    rho = np.ones(m)
    buffer_milp = buffer_hours
    target_loss = 0.0
    if service_level is not None:
        if isinstance(service_level, bool) or not (0.0 < float(service_level) < 1.0):
            raise InvalidInputError("service_level", service_level, "must be a fraction in (0, 1), e.g. 0.98")
        target_loss = 1.0 - float(service_level)
        rho = _utilisation_cap(target_loss, tc, maxb, maxc, buffer_hours, sw_h, design.bays)
        buffer_milp = 0.0  # the queueing model sizes the spare packs

    def build() -> LinearModel:
        lm = LinearModel("size_stations")
        y = lm.add_vars("open", m, cost=site_cost, binary=True)
        b = lm.add_vars("batteries", m, ub=maxb, cost=pack.cost_cny * crf, integer=True)
        c = lm.add_vars("chargers", m, ub=maxc, cost=charger_cost * crf, integer=True)
        x = lm.add_vars("served", k)
        u = lm.add_vars("unserved", n, cost=lost_cost)
        lm.add_constraints(
            "demand", rows=np.concatenate([ii, np.arange(n)]), cols=np.concatenate([x.index, u.index]),
            vals=1.0, lo=h, hi=h, n=n,
        )  # fmt: skip
        ar = np.arange(m)
        for name, coef_x, col2, coef2 in (
            ("bays", np.ones(k), y.index, -B),
            ("charging", tc / rho[jj], c.index, -1.0),
            ("battery_stock", tc / rho[jj] + buffer_milp, b.index, -1.0),
        ):
            lm.add_constraints(
                name, rows=np.concatenate([jj, ar]), cols=np.concatenate([x.index, col2]),
                vals=np.concatenate([coef_x, np.full(m, coef2)]), hi=0.0, n=m,
            )  # fmt: skip
        lm.add_constraints(
            "battery_limit", rows=np.concatenate([ar, ar]), cols=np.concatenate([b.index, y.index]),
            vals=np.concatenate([np.ones(m), -maxb]), hi=0.0, n=m,
        )  # fmt: skip
        lm.add_constraints(
            "charger_limit", rows=np.concatenate([ar, ar]), cols=np.concatenate([c.index, y.index]),
            vals=np.concatenate([np.ones(m), -maxc]), hi=0.0, n=m,
        )  # fmt: skip
        if max_stations is not None:
            lm.add_constraints("count", rows=np.zeros(m, dtype=np.int64), cols=y.index, vals=1.0, hi=max_stations, n=1)
        return lm

    lm = build()
    deadline = Budget.of(opts, t0).end  # the time limit is the whole call's budget
    phases: dict[str, Any] = {}
    if is_large(n, m):  # national scale: Lagrangian bound, plans and a reduced MILP (siting/_sizing_solve.py)
        data = SizingData(ii, jj, h, lost_cost, site_cost, pack.cost_cny * crf, charger_cost * crf,
                          tc / rho + buffer_milp, tc / rho, maxb, maxc, B, max_stations)  # fmt: skip
        sol, phases = solve_lagrangian(lm, data, opts, deadline)
    else:
        sol = lm.solve(opts, deadline=deadline)
    _raise_if_infeasible(sol.report, "station sizing")
    report = _rebase(sol.report, t0)
    if sol.x is None:
        yv = bv = cv = np.zeros(m)
        xv = np.zeros(k)
        uv = h.copy()
    else:
        yv, bv, cv = (np.round(sol.values(nm)) for nm in ("open", "batteries", "chargers"))
        xv, uv = sol.values("served"), sol.values("unserved")
    mask = yv > 0.5
    labels, nodes = candidates.labels, candidates.nodes
    load = np.bincount(jj, weights=xv, minlength=m)
    model_loss = np.zeros(m)
    if service_level is not None:
        js = np.flatnonzero(mask)
        need = np.ceil(tc * load[js] - 1e-9).astype(np.int64)
        bq, cq, lq = size_for_loss(
            load[js], target_loss, tc, max_batteries=maxb[js].astype(np.int64), max_chargers=maxc[js].astype(np.int64),
            min_batteries=need, min_chargers=need, pack_cost=pack.cost_cny, charger_cost=charger_cost,
            swap_hours=sw_h, bays=design.bays,
        )  # fmt: skip
        bv, cv = bv.copy(), cv.copy()
        bv[js], cv[js], model_loss[js] = bq, cq, lq
    stations = pd.DataFrame(
        {
            "site": [labels[j] for j in np.flatnonzero(mask)],
            "node": [nodes[j] for j in np.flatnonzero(mask)],
            "batteries": bv[mask].astype(int),
            "chargers": cv[mask].astype(int),
            "swaps_per_hour": load[mask],
            "capacity_per_hour": np.minimum(B, cv[mask] / tc),
            "charging_kw": cv[mask] * p_kw,
            "grid_kw": G[mask],
            "model_loss": model_loss[mask],
            "target_loss": np.full(int(mask.sum()), target_loss if service_level is not None else np.nan),
            "max_batteries": maxb[mask].astype(int),
            "max_chargers": maxc[mask].astype(int),
        }
    )
    served = xv > 1e-9
    short = np.flatnonzero(uv > 1e-9)
    reachable = np.zeros(n, dtype=bool)
    reachable[ii] = True
    assign = pd.DataFrame(
        {
            "demand": [demand.nodes[i] for i in ii[served]] + [demand.nodes[i] for i in short],
            "site": [labels[j] for j in jj[served]] + [None] * short.size,
            "swaps_per_hour": np.concatenate([xv[served], uv[short]]),
            "unserved_reason": [None] * int(served.sum())
            + ["capacity" if reachable[i] else "no station within reach" for i in short],
            "beyond_service_km": np.concatenate([outside[ii[served]], outside[short]]),
        }
    )
    objective = float(site_cost @ yv + pack.cost_cny * crf * bv.sum() + charger_cost * crf * cv.sum() + lost_cost @ uv)
    pos = {lab: j for j, lab in enumerate(labels)}
    dpos = {lab: i for i, lab in enumerate(demand.nodes)}

    def verify(plan: SitingPlan, tol: float) -> list[str]:
        st = plan.sized_stations
        assert st is not None
        problems: list[str] = []
        js = np.array([pos[s] for s in st["site"]], dtype=np.int64)
        if set(plan.sites) != set(st["site"].tolist()) or len(plan.sites) != len(st):
            problems.append("stations table does not match the chosen sites")
        bb = st["batteries"].to_numpy(dtype=float)
        cc = st["chargers"].to_numpy(dtype=float)
        a = plan.assignment
        srv = a[a["site"].notna()]
        si = np.array([dpos[d] for d in srv["demand"]], dtype=np.int64)
        sj = np.array([pos[s] for s in srv["site"]], dtype=np.int64)
        flow = srv["swaps_per_hour"].to_numpy(dtype=float)
        if not np.isin(sj, js).all():
            problems.append("swaps assigned to a closed site")
        if sj.size:
            dist = pair_distances(network, [demand.nodes[i] for i in si], [nodes[j] for j in sj], limit=2 * reach + 1)
            allowed = np.where(outside[si], reach, service_km)  # the fallback only where no site is within reach
            if (dist > allowed * (1 + tol) + tol).any():
                problems.append("a node is served beyond the service distance")
        lost = np.zeros(n)
        un = a[a["site"].isna()]
        np.add.at(lost, np.array([dpos[d] for d in un["demand"]], dtype=np.int64), un["swaps_per_hour"].to_numpy())
        got = np.bincount(si, weights=flow, minlength=n) + lost
        bad = np.abs(got - h) > tol * np.maximum(1.0, h)
        if bad.any():
            problems.append(f"demand balance broken at node {demand.nodes[int(np.flatnonzero(bad)[0])]!r}")
        ld = np.bincount(sj, weights=flow, minlength=m)[js]
        slack = tol * np.maximum(1.0, ld)
        if service_level is not None:
            got_loss = pack_loss(ld, bb.astype(np.int64), cc.astype(np.int64), tc, swap_hours=sw_h, bays=design.bays)
            at_limit = (bb >= maxb[js]) | (cc >= maxc[js])
            if ((got_loss > target_loss * (1 + 1e-9)) & ~at_limit).any():
                problems.append("a station below the service level has room to grow")
            stock = tc * ld <= bb + slack
        else:
            stock = (tc + buffer_hours) * ld <= bb + slack
        checks = (
            ("bay capacity", ld <= B + slack),
            ("charging capacity", tc * ld <= cc + slack),
            ("battery stock", stock),
            ("grid limit", cc * p_kw <= G[js] * (1 + tol)),
            ("battery limit", bb <= maxb[js]),
            ("charger limit", cc <= maxc[js]),
            ("integrality", (bb == np.round(bb)).all() & (cc == np.round(cc)).all()),
        )
        for name, ok in checks:
            if not np.all(ok):
                problems.append(f"{name} violated")
        if max_stations is not None and len(js) > max_stations:
            problems.append(f"{len(js)} stations > max_stations {max_stations}")
        cost = float(site_cost[js].sum() + pack.cost_cny * crf * bb.sum() + charger_cost * crf * cc.sum()
                     + lost_cost @ lost)  # fmt: skip
        if abs(cost - plan.objective) > tol * max(1.0, abs(cost)):
            problems.append(f"objective {plan.objective:.10g} != recomputed {cost:.10g}")
        return problems

    status = report.status if report.status.has_solution else SolveStatus.NO_SOLUTION
    bound, gap = report.bound, report.gap
    if service_level is not None and status.has_solution:
        # the MILP's utilisation caps approximate the queueing model: no optimality proof is claimed
        status, bound, gap = SolveStatus.FEASIBLE, float("nan"), float("nan")
    details: dict[str, Any] = {
        "stations": stations,
        "design": design,
        "pack": pack,
        "rows": report.n_rows,
        "cols": report.n_cols,
        "nonzeros": report.n_nonzeros,
        "charge_hours": tc,
        "bay_capacity_per_hour": B,
        "lost_swaps_per_day": float((np.where(h > 0, q / np.maximum(h, 1e-300), 0.0) * uv).sum()),
        "service_level": service_level,
        "service_km": service_km,
        "fallback_km": fallback_km,
        "utilisation_cap": rho,
        "annual_pack_cny": pack.cost_cny * crf,
        "annual_charger_cny": charger_cost * crf,
        "milp_gap": report.gap,
        **phases,
    }
    return SitingPlan(
        model="sizing",
        sites=tuple(labels[j] for j in np.flatnonzero(mask)),
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        covered=float(xv.sum()),
        assignment=assign,
        build_seconds=report.build_seconds,
        solve_seconds=report.solve_seconds,
        method="lagrangian" if phases else "milp",
        details=details,
        report=report,
        _verify=verify,
        _pyomo=lambda: build().to_pyomo(),
    )


def resize_stations(plan: SitingPlan, target_loss: Mapping[Hashable, float]) -> SitingPlan:
    """Re-size some stations of a service-level plan of :func:`size_stations` to a tighter loss.

    Each named station gets the cheapest batteries and chargers (never fewer than it has, within
    its site limits) whose model loss (:func:`~swapnet.siting.queueing.pack_loss`) at its load is at
    most its new target; sites, assignment and the other stations stay. The objective changes by
    the annualised price of the packs and chargers added.

    Parameters
    ----------
    plan
        A plan of :func:`size_stations` with ``service_level`` set.
    target_loss
        New loss target (a fraction in ``(0, 1)``) by station label.

    Returns
    -------
    SitingPlan
        The resized plan (verifiable like the original).
    """
    table = plan.sized_stations
    if table is None or plan.details.get("service_level") is None:
        raise InvalidInputError("plan", plan.model, "needs a plan of size_stations(..., service_level=...)")
    unknown = [k for k in target_loss if k not in set(table["site"])]
    if unknown:
        raise InvalidInputError("target_loss", unknown[0], "not a station of the plan")
    design = plan.details["design"]
    tc = float(plan.details["charge_hours"])
    rows = table["site"].isin(list(target_loss)).to_numpy()
    eps = np.array([float(target_loss[s]) for s in table.loc[rows, "site"]], dtype=np.float64)
    new = table.copy()
    b_old = table["batteries"].to_numpy(dtype=np.int64)
    c_old = table["chargers"].to_numpy(dtype=np.int64)
    bq, cq, _ = size_for_loss(
        table.loc[rows, "swaps_per_hour"].to_numpy(dtype=np.float64), eps, tc,
        max_batteries=table.loc[rows, "max_batteries"].to_numpy(dtype=np.int64),
        max_chargers=table.loc[rows, "max_chargers"].to_numpy(dtype=np.int64),
        min_batteries=b_old[rows], min_chargers=c_old[rows],
        pack_cost=float(plan.details["annual_pack_cny"]), charger_cost=float(plan.details["annual_charger_cny"]),
        swap_hours=design.swap_minutes / 60.0, bays=design.bays,
    )  # fmt: skip
    b_new, c_new = b_old.copy(), c_old.copy()
    b_new[rows], c_new[rows] = np.maximum(bq, b_old[rows]), np.maximum(cq, c_old[rows])
    new["batteries"], new["chargers"] = b_new, c_new
    new.loc[rows, "target_loss"] = eps
    new["model_loss"] = pack_loss(
        new["swaps_per_hour"].to_numpy(dtype=np.float64), b_new, c_new, tc,
        swap_hours=design.swap_minutes / 60.0, bays=design.bays,
    )  # fmt: skip
    new["capacity_per_hour"] = np.minimum(design.bay_capacity_per_hour, c_new / tc)
    new["charging_kw"] = c_new * design.charger_kw
    extra = float(plan.details["annual_pack_cny"]) * float((b_new - b_old).sum()) + float(
        plan.details["annual_charger_cny"]
    ) * float((c_new - c_old).sum())
    return dataclasses.replace(plan, objective=plan.objective + extra, details={**plan.details, "stations": new})
