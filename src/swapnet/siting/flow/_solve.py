"""The exact solve of the flow models (reductions, LP bound, restricted MILP, full MILP) and the plan."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from swapnet.errors import InfeasibleError, SolverError
from swapnet.optim import LinearModel, SolveOptions, SolveReport, SolveStatus
from swapnet.optim.model import proven, rel_gap
from swapnet.siting._budget import Budget
from swapnet.siting.flow._benders import (
    _LP_SHARE,
    _benders_milp,
    _lp_bound,
    _mask_of,
    _reduced_cost_fixing,
)
from swapnet.siting.flow._instance import (
    BoolArray,
    FloatArray,
    IntervalsFn,
    _Instance,
)
from swapnet.siting.flow._model import (
    _build_model,
    _Capacity,
    _split_swaps,
    _start_vector,
)
from swapnet.siting.flow._reduce import (
    _Cover,
    _flow_covered,
    _greedy,
    _masked,
    _model_cover,
    _reduce,
    _without_fixed_hits,
)
from swapnet.siting.flow._verify import (
    _make_verify,
)
from swapnet.siting.plan import SitingPlan, default_options

_LARGE_PAIRS = 40_000
"""Flow-set pairs above which the exact method starts with an LP bound by decomposition."""
_RESTRICTED_SHARE = 0.3
"""Share of the time left (after the LP bound) for the MILP restricted to the LP support."""


@dataclass
class _Outcome:
    is_open: BoolArray
    status: SolveStatus
    bound: float
    report: SolveReport | None
    solve_seconds: float
    served_g: FloatArray | None = None
    swaps_g: FloatArray | None = None


def _service_lp(
    inst: _Instance, cov: _Cover, name: str, cp: _Capacity, is_open: BoolArray, opts: SolveOptions
) -> tuple[FloatArray, FloatArray, float]:
    """Optimal capacitated service for fixed stations (an LP)."""
    lm, _ = _build_model(inst, cov, name, capacity=cp, fix_x=is_open)
    sol = lm.solve(opts, relax=True)
    if not sol.status.has_solution:  # pragma: no cover - y = 0 is always feasible
        raise SolverError(f"{name}: service LP for fixed sites returned {sol.status.value}")
    return sol.values("y"), sol.values("swaps"), sol.report.solve_seconds


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.perf_counter(), 0.01)


def _solve_full(
    inst: _Instance,
    cov: _Cover,
    name: str,
    opts: SolveOptions,
    start_open: BoolArray,
    deadline: float | None,
    *,
    capacity: _Capacity | None = None,
    allowed: BoolArray | None = None,
) -> tuple[Any, dict[str, int]]:
    lm, info = _build_model(inst, cov, name, capacity=capacity, allowed=allowed)
    start = _start_vector(lm, cov, start_open) if capacity is None else None
    sol = lm.solve(opts, start=start, deadline=deadline)
    if sol.status == SolveStatus.INFEASIBLE:  # pragma: no cover - inputs are checked beforehand
        raise InfeasibleError(f"{name}: the solver proved the model infeasible")
    if sol.status == SolveStatus.UNBOUNDED:  # pragma: no cover - all variables are bounded
        raise SolverError(f"{name}: the solver reported an unbounded model")
    return sol, info


def _exact(
    inst: _Instance,
    cov: _Cover,
    name: str,
    opts: SolveOptions,
    greedy_open: BoolArray,
    intervals: IntervalsFn,
    details: dict[str, Any],
    capacity: _Capacity | None,
    value_of: Callable[[BoolArray], float],
    budget: Budget,
) -> _Outcome:
    """Solve the MILP; on large uncapacitated instances bound it first by decomposition and fix stations.

    Small instances go straight to HiGHS (warm-started from greedy). Large ones
    (more than ``_LARGE_PAIRS`` flow-set pairs):

    1. the LP bound from :func:`_lp_bound` (Benders master LPs);
    2. the MILP restricted to the candidates in the support of the LP solutions
       (plus the greedy ones) for a strong plan;
    3. **reduced-cost fixing** from the last master LP (a relaxation): a station
       at 0 with reduced cost ``r_k < 0`` cannot be in any plan better than
       ``master + r_k``, so it is closed when that is below the best plan's value
       (and a station at 1 with ``master - r_k`` below it is opened);
    4. the MILP over the stations left, warm-started from the best plan, for the
       time left. Its bound is valid for the whole problem (closed stations
       cannot improve on the incumbent), so the reported gap is honest.

    Every phase draws on ``budget`` (the whole call's time limit).
    """
    deadline = budget.end
    if capacity is not None or cov.gpair_set.size <= _LARGE_PAIRS:
        sol, info = _solve_full(inst, cov, name, opts, greedy_open, deadline, capacity=capacity)
        details.update(info, strategy="milp")
        spent = sol.report.solve_seconds
        if sol.status.has_solution:
            is_open = sol.values("x") > 0.5
            served, swaps = (sol.values("y"), sol.values("swaps")) if capacity is not None else (None, None)
            return _Outcome(is_open, sol.status, sol.report.bound, sol.report, spent, served, swaps)
        served = swaps = None
        if capacity is not None:
            served, swaps, s2 = _service_lp(inst, cov, name, capacity, greedy_open, opts)
            spent += s2
        return _Outcome(greedy_open, SolveStatus.TIME_LIMIT, sol.report.bound, sol.report, spent, served, swaps)

    best_open, best_val = greedy_open, value_of(greedy_open)

    def gap_ok() -> bool:
        return proven(best_val, bound, opts.mip_gap, "max")

    t_phase = time.perf_counter()
    lp = _lp_bound(cov, inst, opts, greedy_open.astype(np.float64), budget.share(_LP_SHARE))
    details["lp_seconds"] = time.perf_counter() - t_phase
    t_phase = time.perf_counter()
    spent = lp.solve_seconds
    bound = lp.bound
    details.update(strategy="lp-bound+restricted+fixing+milp", lp_bound=lp.bound, lp_iterations=lp.iterations)
    report: SolveReport | None = None
    reserve = 0.0 if opts.time_limit is None else min(0.5, 0.05 * opts.time_limit)
    if not gap_ok() and not budget.expired(reserve):
        support = (lp.xbar > 1e-6) | (lp.center > 1e-6) | best_open
        support[inst.fixed] = True
        if inst.p is not None and support.sum() < inst.p:  # pragma: no cover - LP support has >= p points
            support[np.argsort(-lp.xbar, kind="stable")[: inst.p]] = True
        inst_r = _masked(inst, support)
        cov_r = _without_fixed_hits(_reduce(inst_r, intervals(inst_r)), inst)
        sol, _ = _solve_full(inst, cov_r, name, opts, best_open, budget.share(_RESTRICTED_SHARE), allowed=support)
        spent += sol.report.solve_seconds
        details.update(restricted_candidates=int(support.sum()))
        report = sol.report
        if sol.status.has_solution:
            cand = sol.values("x") > 0.5
            val = value_of(cand)
            if val > best_val:
                best_open, best_val = cand, val
    details["restricted_seconds"] = time.perf_counter() - t_phase
    t_phase = time.perf_counter()
    keep = np.ones(inst.n_cands, dtype=bool)
    force = np.zeros(inst.n_cands, dtype=bool)
    if lp.rc is not None and not gap_ok():
        keep, force = _reduced_cost_fixing(lp, inst, best_open, best_val)
        details.update(n_fixed_closed=int((~keep).sum()), n_fixed_open=int(force.sum()))
    details["fixing_seconds"] = time.perf_counter() - t_phase
    t_phase = time.perf_counter()
    if lp.pool is not None and not gap_ok() and not budget.expired(reserve):
        bm = _benders_milp(lp.pool, inst, opts, keep, force, best_open, best_val, bound, value_of, deadline)
        spent += bm.solve_seconds
        if bm.best_val > best_val:
            best_open, best_val = bm.best_open, bm.best_val
        bound = min(bound, bm.bound)
        details.update(
            benders_milp_iterations=bm.iterations,
            benders_milp_seconds=time.perf_counter() - t_phase,
            benders_milp_log=bm.log,
        )
        t_phase = time.perf_counter()
    if gap_ok() or budget.expired(reserve):
        lm, info = _build_model(inst, cov, name)  # sizes of the full model, for the record
        details.update(info, rows=lm.n_rows, cols=lm.n_cols, nonzeros=int(lm.arrays()[4].nnz))
    else:
        inst_k, cov_k = inst, cov
        if not keep.all() or force.any():
            inst_k = dataclasses.replace(_masked(inst, keep), fixed=np.flatnonzero(force | _mask_of(inst.fixed, keep)))
            cov_k = _without_fixed_hits(_reduce(inst_k, intervals(inst_k)), inst_k)
        sol, info = _solve_full(inst_k, cov_k, name, opts, best_open, deadline, allowed=keep)
        spent += sol.report.solve_seconds
        details.update(info, rows=sol.report.n_rows, cols=sol.report.n_cols, nonzeros=sol.report.n_nonzeros)
        report = sol.report
        if sol.status.has_solution:
            cand = sol.values("x") > 0.5
            val = value_of(cand)
            if val >= best_val:
                best_open, best_val = cand, val
        details["milp_seconds"] = time.perf_counter() - t_phase
        if np.isfinite(sol.report.bound):
            # valid for the whole problem: a plan using a closed station is worth less than best_val
            bound = min(bound, max(sol.report.bound, best_val))
    bound = max(bound, best_val)
    status = SolveStatus.OPTIMAL if gap_ok() else SolveStatus.TIME_LIMIT
    return _Outcome(best_open, status, bound, report, spent)


def _solve_and_plan(
    inst: _Instance,
    cov_eval: _Cover,
    intervals: IntervalsFn,
    *,
    model: str,
    method: str,
    options: SolveOptions | None,
    served_by: Callable[[BoolArray], BoolArray],
    t0: float,
    details: dict[str, Any],
    capacity: _Capacity | None = None,
) -> SitingPlan:
    opts = default_options(options)
    budget = Budget.of(opts, t0)
    if capacity is None:
        inst_m, cov, n_dom = _model_cover(inst, cov_eval, intervals)
        details.update(n_dominated_candidates=n_dom, n_cover_sets_model=cov.n_sets)
    else:
        inst_m, cov = inst, cov_eval
    greedy_open = _greedy(cov, inst_m)

    def build() -> LinearModel:
        return _build_model(inst, cov, model, capacity=capacity)[0]

    def value_of(is_open: BoolArray) -> float:
        return float(inst.volumes[_flow_covered(cov_eval, is_open)].sum())

    details["greedy_objective"] = value_of(greedy_open)

    if method == "greedy":
        lm, info = _build_model(inst, cov, model, capacity=capacity)  # sizes of the MILP, for the record
        details.update(info, strategy="greedy", rows=lm.n_rows, cols=lm.n_cols, nonzeros=int(lm.arrays()[4].nnz))
        out = _Outcome(greedy_open, SolveStatus.FEASIBLE, float("nan"), None, 0.0)
        if capacity is not None:
            out.served_g, out.swaps_g, out.solve_seconds = _service_lp(inst, cov, model, capacity, greedy_open, opts)
    else:
        out = _exact(inst_m, cov, model, opts, greedy_open, intervals, details, capacity, value_of, budget)
    is_open = out.is_open
    node_open = np.zeros(inst.network.n_nodes, dtype=bool)
    node_open[inst.cand_nodes[is_open]] = True
    covered = _flow_covered(cov_eval, is_open)
    f = inst.volumes
    extra_cols: dict[str, Any] = {}
    if capacity is not None:
        assert out.served_g is not None and out.swaps_g is not None
        served = np.zeros(inst.n_flows)
        gof = cov.group_of_flow
        has_g = gof >= 0
        served[has_g] = np.clip(out.served_g[gof[has_g]], 0.0, 1.0)
        served[~covered] = 0.0
        objective = float((f * served).sum())
        extra_cols["served"] = served
        details["swaps"] = _split_swaps(inst, cov, capacity, out.swaps_g)
        loads = np.bincount(capacity.pair_cand, weights=out.swaps_g, minlength=inst.n_cands)
        details["loads"] = dict(zip(inst.cand_labels, loads.tolist(), strict=True))
    else:
        objective = float(f[covered].sum())
    assignment = _assignment(inst, node_open, covered, extra_cols)
    if method == "greedy":
        bound, gap = float("nan"), float("nan")
    else:
        bound = out.bound
        if np.isfinite(bound):
            bound = max(bound, objective) if out.status == SolveStatus.OPTIMAL else bound
            gap = rel_gap(objective, bound)
        else:
            gap = float("inf")
    status = out.status
    if status == SolveStatus.OPTIMAL and method != "greedy" and not proven(objective, bound, opts.mip_gap, "max"):
        status = SolveStatus.FEASIBLE  # never optimal unless the bound proves it
    if out.report is not None:
        details.setdefault("rows", out.report.n_rows)
        details.setdefault("cols", out.report.n_cols)
        details.setdefault("nonzeros", out.report.n_nonzeros)
    build_s = max(time.perf_counter() - t0 - out.solve_seconds, 0.0)
    return SitingPlan(
        model=model,
        sites=tuple(inst.cand_labels[int(j)] for j in np.flatnonzero(is_open)),
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        covered=objective,
        assignment=assignment,
        build_seconds=build_s,
        solve_seconds=out.solve_seconds,
        method=method,
        details=details,
        report=out.report,
        _verify=_make_verify(inst, served_by, capacity),
        _pyomo=lambda: build().to_pyomo(),
    )


def _assignment(inst: _Instance, node_open: BoolArray, covered: BoolArray, extra: dict[str, Any]) -> pd.DataFrame:
    labels = inst.network.labels
    open_pos = np.flatnonzero(node_open[inst.nodes])
    split = np.searchsorted(open_pos, inst.ptr[1:-1])
    stations = [tuple(dict.fromkeys(labels[int(i)] for i in inst.nodes[chunk])) for chunk in np.split(open_pos, split)]
    data: dict[str, Any] = {
        "origin": list(inst.flows.origins),
        "destination": list(inst.flows.destinations),
        "volume": inst.volumes,
        "covered": covered,
        "stations": stations,
    }
    data.update(extra)
    return pd.DataFrame(data)


def _details(inst: _Instance, cov: _Cover, R: float | None) -> dict[str, Any]:
    return {
        "n_flows": inst.n_flows,
        "n_flows_coverable": int(cov.coverable.sum()),
        "n_flows_after_merge": cov.n_groups,
        "n_cover_sets_unreduced": cov.n_arcs,
        "n_cover_sets": cov.n_sets,
        "n_flow_set_pairs": int(cov.gpair_set.size),
        "n_candidates": inst.n_cands,
        "p": inst.p,
        "budget": inst.budget,
        "range": R,
    }
