r"""Baselines and the values of information: myopic and mean-value plans, wait-and-see, VSS, EVPI.

With RP the expected cost of the stochastic (recourse) plan:

* **myopic** — each year optimised on its own (that year's annual cost, earlier decisions fixed,
  the years shared by the scenarios decided against their scenarios jointly); *value of
  foresight* = myopic - RP (on the same scenarios);
* **mean value** — the plan optimised for the mean scenario; its shared-year decisions, fixed,
  evaluated on every scenario with the later years re-optimised: EEV; *VSS* = EEV - RP;
* **wait and see** — every scenario planned with perfect information: WS =
  :math:`\sum_s p_s \min \text{cost}_s`; *EVPI* = RP - WS.

For a minimisation :math:`WS \le RP \le EEV` whenever the plans are optimal; with gaps the
reported values carry them (see :class:`RolloutComparison`). Each scenario's own solve starts from
the stochastic plan's part in that scenario (feasible for it), so the wait-and-see cost is never
above RP; with the proven bounds of both, the EVPI is reported as the interval
:math:`[\max(0, \underline{RP} - \overline{WS}),\ \overline{RP} - \underline{WS}]`, which holds
whatever the gaps (:attr:`RolloutComparison.evpi_interval`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting._budget import Budget
from swapnet.siting.plan import default_options
from swapnet.siting.rollout.api import prepare
from swapnet.siting.rollout.assemble import Inputs, make_plan
from swapnet.siting.rollout.instance import RolloutInstance
from swapnet.siting.rollout.plan import RolloutPlan
from swapnet.siting.rollout.solve import (
    FloatArray,
    Solved,
    _each,
    _per_scenario,
    _wait_and_see_task,
    solve,
    solve_extensive,
    two_stage_years,
)

__all__ = ["RolloutComparison", "compare", "mean_value_plan", "myopic_plan"]


def _shared(inst: RolloutInstance) -> int:
    return two_stage_years(inst) or 0


def _myopic(inst: RolloutInstance, opts: SolveOptions, budget: Budget) -> Solved:
    S, T, m = inst.S, inst.T, inst.m
    state = tuple(np.array(a, dtype=np.float64) for a in inst.initial)
    parts: list[Solved] = []
    t0 = time.perf_counter()
    for t in range(T):
        sub = inst.restrict(years=[t], initial=state)  # type: ignore[arg-type]
        own = budget.share(1.0 / (T - t))
        sv = solve_extensive(sub, opts, own)
        parts.append(sv)
        state = (sv.Y[:, 0], sv.B[:, 0], sv.C[:, 0])
    ok = all(p.status.has_solution for p in parts)
    del S, m
    status = SolveStatus.FEASIBLE if ok else SolveStatus.NO_SOLUTION
    return Solved.stack(parts, 1, float("nan"), float("nan"), status, "myopic", time.perf_counter() - t0)


def _mean_instance(inst: RolloutInstance) -> RolloutInstance:
    """The mean scenario: probability-weighted peak-hour and daily swaps of every group."""
    p = inst.prob[:, None, None]
    H = (p * inst.H).sum(axis=0, keepdims=True)
    Q = (p * inst.H * inst.ratio).sum(axis=0, keepdims=True)
    rho = np.where(H > 0, Q / np.maximum(H, 1e-300), 0.0)
    unit = np.where(inst.ratio > 0, inst.lost / np.maximum(inst.ratio, 1e-300), 0.0).max(axis=0, keepdims=True)
    munit = np.where(inst.ratio > 0, inst.margin / np.maximum(inst.ratio, 1e-300), 0.0).max(axis=0, keepdims=True)
    margin = munit * rho
    return replace(
        inst, names=("mean",), prob=np.ones(1), node_of=np.arange(inst.T, dtype=np.int64)[None, :], H=H, ratio=rho,
        lost=unit * rho, margin=margin, const=-(margin * H).sum(axis=2),
        initial=tuple(a[:1] for a in inst.initial),  # type: ignore[arg-type]
    )  # fmt: skip


def _first_stage(sv: Solved, k: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    return sv.Y[0, :k].copy(), sv.B[0, :k].copy(), sv.C[0, :k].copy()


def _lock(inst: RolloutInstance, fs: tuple[FloatArray, FloatArray, FloatArray], k: int) -> tuple[FloatArray, ...]:
    S, T, m = inst.S, inst.T, inst.m
    return tuple(np.concatenate([np.broadcast_to(a, (S, k, m)), np.full((S, T - k, m), np.nan)], axis=1) for a in fs)


def _evaluate_first_stage(inst: RolloutInstance, fs: tuple[FloatArray, FloatArray, FloatArray], k: int,
                          opts: SolveOptions, budget: Budget, method: str) -> Solved:  # fmt: skip
    t0 = time.perf_counter()
    parts = _per_scenario(inst, opts, budget.end, _lock(inst, fs, k))  # type: ignore[arg-type]
    ok = all(p.status.has_solution for p in parts)
    status = SolveStatus.FEASIBLE if ok else SolveStatus.NO_SOLUTION
    return Solved.stack(parts, 0, float("nan"), float("nan"), status, method, time.perf_counter() - t0)


def _plan(inst: RolloutInstance, inp: Inputs, sv: Solved, t0: float, details: dict[str, Any]) -> RolloutPlan:
    build = max(time.perf_counter() - t0 - sv.solve_seconds, 0.0)
    return make_plan(inst, sv, inp, method=sv.method, build_seconds=build, details=details, shared_years=_shared(inst))


def myopic_plan(*args: Any, options: SolveOptions | None = None, **kwargs: Any) -> RolloutPlan:
    """The myopic baseline (arguments of :func:`~swapnet.siting.plan_rollout` without ``method``)."""
    t0 = time.perf_counter()
    opts = default_options(options)
    inst, inp = prepare(*args, **kwargs)
    return _plan(inst, inp, _myopic(inst, opts, Budget.of(opts, t0)), t0, {})


def mean_value_plan(*args: Any, options: SolveOptions | None = None, **kwargs: Any) -> RolloutPlan:
    """The mean-scenario plan's shared years, evaluated on every scenario (EEV; arguments as ``plan_rollout``)."""
    t0 = time.perf_counter()
    opts = default_options(options)
    inst, inp = prepare(*args, **kwargs)
    return _mean_value(inst, inp, opts, Budget.of(opts, t0), t0)[0]


def _mean_value(inst: RolloutInstance, inp: Inputs, opts: SolveOptions, budget: Budget, t0: float,
                ) -> tuple[RolloutPlan, tuple[FloatArray, FloatArray, FloatArray], Solved]:  # fmt: skip
    """The EEV plan, the mean scenario's first stage and the EEV solution (with its objective)."""
    k = _shared(inst)
    mean = solve_extensive(_mean_instance(inst), opts, budget.share(0.5))
    fs = _first_stage(mean, k)
    ev = _evaluate_first_stage(inst, fs, k, opts, budget, "mean_value")
    plan = _plan(inst, inp, ev, t0, {"mean_scenario_objective": mean.objective})
    return plan, fs, replace(ev, objective=plan.objective)


@dataclass(frozen=True)
class RolloutComparison:
    """The stochastic plan beside its baselines, with the values of information (CNY, expected discounted).

    Attributes
    ----------
    plan
        The stochastic (recourse) plan, RP = ``plan.objective``.
    myopic
        The myopic plan on the same scenarios.
    mean_value
        The mean-scenario plan's shared decisions evaluated on the scenarios (EEV).
    wait_and_see
        WS: the expected cost with perfect information (sum of each scenario's own optimum).
    wait_and_see_bound
        A proven lower bound on WS (and so on RP).
    """

    plan: RolloutPlan
    myopic: RolloutPlan
    mean_value: RolloutPlan
    wait_and_see: float
    wait_and_see_bound: float

    @property
    def value_of_foresight(self) -> float:
        """Myopic minus RP: what planning the years together saves."""
        return self.myopic.objective - self.plan.objective

    @property
    def vss(self) -> float:
        """Value of the stochastic solution, EEV - RP."""
        return self.mean_value.objective - self.plan.objective

    @property
    def evpi(self) -> float:
        """Expected value of perfect information, RP - WS (both at their gaps)."""
        return self.plan.objective - self.wait_and_see

    @property
    def evpi_upper(self) -> float:
        """A proven upper bound on the EVPI: RP - (lower bound on WS)."""
        return self.plan.objective - self.wait_and_see_bound

    @property
    def evpi_lower(self) -> float:
        """A proven lower bound on the EVPI: (lower bound on RP) - WS, at least 0 (``nan`` without a bound)."""
        if not np.isfinite(self.plan.bound):
            return float("nan")
        return max(self.plan.bound - self.wait_and_see, 0.0)

    @property
    def evpi_interval(self) -> tuple[float, float]:
        """``(evpi_lower, evpi_upper)``: the true EVPI lies in it whatever the solves' gaps."""
        return self.evpi_lower, self.evpi_upper

    def table(self) -> pd.DataFrame:
        """One row per plan: expected cost, bound, gap, status, stations by the last year, seconds."""
        rows = []
        for name, p in (("stochastic", self.plan), ("myopic", self.myopic), ("mean value", self.mean_value)):
            last = p.by_year()["stations"].iloc[-1]
            rows.append({"plan": name, "expected_cost": p.objective, "bound": p.bound, "gap": p.gap,
                         "status": p.status.value, "stations_last_year": last, "seconds": p.solve_seconds})  # fmt: skip
        rows.append({"plan": "wait and see", "expected_cost": self.wait_and_see, "bound": self.wait_and_see_bound,
                     "gap": np.nan, "status": "", "stations_last_year": np.nan, "seconds": np.nan})  # fmt: skip
        return pd.DataFrame(rows)

    def values(self) -> dict[str, float]:
        """``value_of_foresight``, ``vss``, ``evpi``, ``evpi_lower``, ``evpi_upper`` (CNY); over RP: ``*_share``."""
        rp = abs(self.plan.objective)
        out = {"value_of_foresight": self.value_of_foresight, "vss": self.vss, "evpi": self.evpi,
               "evpi_lower": self.evpi_lower, "evpi_upper": self.evpi_upper}  # fmt: skip
        out.update({f"{k}_share": v / rp if rp > 0 else float("nan") for k, v in list(out.items())})
        return out


def compare(*args: Any, method: str = "auto", options: SolveOptions | None = None, **kwargs: Any) -> RolloutComparison:
    """Solve the rollout and its baselines (arguments as :func:`~swapnet.siting.plan_rollout`).

    The time limit of ``options`` applies to each of the stochastic plan, the myopic plan and the
    mean-value plan; the wait-and-see solves use the same limit split over the scenarios. The
    baselines are solved first and start the stochastic solve (they are feasible for it), so its
    expected cost is never above theirs.
    """
    opts = default_options(options)
    t0 = time.perf_counter()
    inst, inp = prepare(*args, **kwargs)
    mv, fs, ev = _mean_value(inst, inp, opts, Budget.of(opts, t0), t0)
    t1 = time.perf_counter()
    my_sv = _myopic(inst, opts, Budget.of(opts, t1))
    my = _plan(inst, inp, my_sv, t1, {})
    t2 = time.perf_counter()
    k = _shared(inst)
    starts = [ev, replace(my_sv, objective=my.objective)]
    rp_sv, stats = solve(inst, method, opts, Budget.of(opts, t2), [fs] if k else None, starts)
    rp = make_plan(inst, rp_sv, inp, method=rp_sv.method, build_seconds=time.perf_counter() - t2 - rp_sv.solve_seconds,
                   details=stats, shared_years=k)  # fmt: skip
    ws, wsb = _wait_and_see(inst, rp, rp_sv, opts, float(stats.get("wait_and_see_lp_bound", float("nan"))))
    return RolloutComparison(rp, my, mv, ws, wsb)


def _wait_and_see(inst: RolloutInstance, rp: RolloutPlan, rp_sv: Solved, opts: SolveOptions,
                  lp_bound: float) -> tuple[float, float]:  # fmt: skip
    """WS (each scenario alone, started from the stochastic plan's part in it) and a proven bound on WS.

    ``lp_bound``: the probability-weighted optimum of the scenarios' LP relaxations when known (a
    bound on WS too). Without a plan of its own a scenario keeps the stochastic plan's cost.
    """
    own = rp.costs.groupby("scenario", sort=False)["discounted"].sum()
    budget = Budget.of(opts, time.perf_counter())
    subs, starts = [], []
    for s in range(inst.S):
        cost_s = float(own[inst.names[s]]) if rp_sv.status.has_solution else float("nan")
        part = Solved(rp_sv.Y[[s]], rp_sv.B[[s]], rp_sv.C[[s]], rp_sv.x[[s]], rp_sv.u[[s]], cost_s, float("nan"),
                      rp_sv.status, "part", 0.0)  # fmt: skip
        subs.append(inst.restrict([s]))
        starts.append(part)
    parts = _each(_wait_and_see_task, [(sub, st) for sub, st in zip(subs, starts, strict=True)], opts, budget.end)
    ws = float(sum(q * min(p.objective, st.objective) if p.status.has_solution else q * st.objective
                   for q, p, st in zip(inst.prob, parts, starts, strict=True)))  # fmt: skip
    bounds = np.array([p.bound if np.isfinite(p.bound) else -np.inf for p in parts])
    wsb = float(inst.prob @ bounds)
    if np.isfinite(lp_bound):
        wsb = max(wsb, lp_bound)
    return ws, (wsb if np.isfinite(wsb) else float("nan"))
