"""Solve strategies for the rollout MILP.

* ``"extensive"``: the whole deterministic-equivalent MILP (:func:`build_model`); one HiGHS run
  when small, the LP-guided plan of :mod:`~swapnet.siting.rollout.heuristic` with the LP bound
  (then HiGHS from it for the time left) when large.
* ``"decompose"``: scenario decomposition for two-stage trees (years ``1..k`` shared by every
  scenario, later years per scenario). The bound keeps non-anticipativity: multi-cut Benders with
  the shared years' extensive LP in the master and the later years' LPs kept warm in worker
  processes (:mod:`~swapnet.siting.rollout.benders`); it falls back to the scenario-LP bound
  (probability-weighted optimum of the scenarios' LP relaxations) when the rounds give none.
  Candidate first stages (the bound's LP first stage rounded, those given, e.g. the
  mean-scenario plan's) are evaluated exactly: with the first stage fixed the scenarios
  separate; the best expected cost, among them and the feasible plans given as starts, is the
  plan, whose sizes are then polished (:mod:`~swapnet.siting.rollout.polish`). Scenario
  sub-problems run in worker processes when ``options.threads > 1``.
* ``"auto"``: ``"decompose"`` when the tree is two-stage with several scenarios and the extensive
  form is large, else ``"extensive"``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.errors import InfeasibleError, InvalidInputError
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting._budget import Budget
from swapnet.siting.rollout.benders import BendersResult, Master, benders_bound
from swapnet.siting.rollout.cuts import round_first_stage
from swapnet.siting.rollout.heuristic import lp_guided, run_tasks, workers_for
from swapnet.siting.rollout.instance import RolloutInstance
from swapnet.siting.rollout.lpworkers import LPPool
from swapnet.siting.rollout.model import RolloutModel, build_model
from swapnet.siting.rollout.polish import polish_sizes, reserve_seconds

__all__ = ["Solved", "solve", "solve_extensive"]

FloatArray = NDArray[np.float64]

ROUNDING_THRESHOLD = 0.3
"""Relaxed openings above this are opened by the LP-rounding start."""

ROUNDING_MIN_COLUMNS = 20_000
"""Models with more columns get an LP-rounding start before the MILP (small ones solve without)."""

GUIDED_SHARE = 0.7
"""Share of a large model's time given to the LP-guided plan (the rest: HiGHS on the whole MILP)."""

FINAL_MILP_MIN_S = 5.0
"""No HiGHS run on the whole MILP after the LP-guided plan with less time than this left."""

LP_PHASE = 0.55
"""Share of the decomposition's time for the scenarios' LP relaxations (the bound)."""

LPResult = tuple[float, FloatArray, FloatArray, FloatArray]
"""A scenario LP: optimum and relaxed open, batteries, chargers (T, m)."""

POOL_SAFETY = 0.9
"""Share of a worker's nominal time given to each task (process start-up and hand-over take the rest)."""

AUTO_EXTENSIVE_LIMIT = 200_000
"""``method="auto"`` solves the extensive form up to this many flow-and-state columns, else decomposes."""


@dataclass(frozen=True, eq=False)
class Solved:
    """A solved instance: states per scenario-year and flows, with objective, bound and status."""

    Y: FloatArray
    B: FloatArray
    C: FloatArray
    x: FloatArray
    u: FloatArray
    objective: float
    bound: float
    status: SolveStatus
    method: str
    solve_seconds: float
    stats: dict[str, float] = field(default_factory=dict)
    cut: FloatArray | None = None
    """Reduced costs of the LP relaxation at the states of scenario 0, (3, T, m): open, batteries, chargers.

    With ``stats["lp_bound"]`` a value-function cut when the states are locked (see
    :mod:`~swapnet.siting.rollout.cuts`); ``None`` when the LP was not solved to optimality.
    """

    @classmethod
    def stack(cls, parts: list[Solved], axis: int, objective: float, bound: float, status: SolveStatus, method: str,
              seconds: float) -> Solved:  # fmt: skip
        """Parts (scenarios: ``axis=0``, years: ``axis=1``) joined into one solution."""

        def cat(f: str) -> FloatArray:
            return np.concatenate([getattr(p, f) for p in parts], axis=axis)

        return cls(cat("Y"), cat("B"), cat("C"), cat("x"), cat("u"), objective, bound, status, method, seconds)

    @property
    def gap(self) -> float:
        """Relative gap of objective and bound."""
        if not (np.isfinite(self.objective) and np.isfinite(self.bound)):
            return float("inf")
        return float(max(self.objective - self.bound, 0.0) / max(abs(self.objective), 1e-9))


def _status(gap: float, mip_gap: float, ok: bool) -> SolveStatus:
    if not ok:
        return SolveStatus.NO_SOLUTION
    return SolveStatus.OPTIMAL if gap <= mip_gap + 1e-9 else SolveStatus.FEASIBLE


def _state_duals(rm: RolloutModel, duals: FloatArray | None) -> FloatArray | None:
    """The reduced costs of scenario 0's states, (3, T, m), from the column duals of ``rm``'s LP."""
    if duals is None:
        return None
    node = rm.inst.node_of[0]
    return np.stack([np.asarray(duals, dtype=np.float64)[b.index[node]] for b in (rm.Y, rm.B, rm.C)])


def _from_vector(rm: RolloutModel, x: FloatArray, objective: float, bound: float, mip_gap: float,
                 seconds: float, duals: FloatArray | None = None, lp_value: float = np.nan) -> Solved:  # fmt: skip
    """A :class:`Solved` of the full column vector ``x`` of ``rm`` (objective and bound given; ``duals``: LP's)."""
    node = rm.inst.node_of
    Y, B, C = (np.round(b.values(x))[node] for b in (rm.Y, rm.B, rm.C))
    gap = max(objective - bound, 0.0) / max(abs(objective), 1e-9)
    return Solved(
        Y, B, C, rm.x.values(x).copy(), rm.u.values(x).copy(), objective, bound, _status(gap, mip_gap, True),
        "milp", seconds, {"rows": rm.lm.n_rows, "cols": rm.lm.n_cols, "lp_bound": bound, "cut_value": lp_value},
        _state_duals(rm, duals),
    )  # fmt: skip


def _share(deadline: float | None, fraction: float) -> float | None:
    return None if deadline is None else time.perf_counter() + max(deadline - time.perf_counter(), 0.0) * fraction


def lp_rounding_start(rm: RolloutModel, options: SolveOptions, deadline: float | None,
                      threshold: float = ROUNDING_THRESHOLD) -> tuple[FloatArray | None, float]:  # fmt: skip
    r"""A feasible MIP start from the LP relaxation (or ``None``) and the LP bound (``nan`` if unsolved).

    Open every site whose relaxed :math:`Y` exceeds ``threshold`` (the LP's states are monotone and
    non-anticipative, so the rounded ones are too), solve the LP with those openings fixed and
    round its batteries and chargers up (still within the integer site limits, still enough for
    the load). ``None`` when an LP does not finish, the rounded plan breaks a budget, or it is
    worse than nothing.
    """
    lm = rm.lm
    lp = lm.solve(options, relax=True, deadline=_share(deadline, 0.2))
    if lp.x is None or lp.status != SolveStatus.OPTIMAL:
        return None, float("nan")
    bound = float(lp.objective)
    y = (lp.values("open") > threshold).astype(np.float64)
    _, lb, ub, _, A, rlo, rhi = lm.arrays()
    yi = rm.Y.index.ravel()
    lo, hi = lb.copy(), ub.copy()
    lm.set_bounds(yi, lb=y.ravel(), ub=y.ravel())
    try:
        fixed = lm.solve(options, relax=True, deadline=_share(deadline, 0.2))
    finally:
        lm.set_bounds(np.arange(lm.n_cols), lb=lo, ub=hi)
    if fixed.x is None or fixed.status != SolveStatus.OPTIMAL:
        return None, bound
    x = fixed.x.copy()
    for blk in (rm.B, rm.C):
        idx = blk.index.ravel()
        x[idx] = np.ceil(x[idx] - 1e-7)
    x[yi] = y.ravel()
    ax = A @ x
    tol = 1e-6 * np.maximum(1.0, np.abs(ax))
    if (ax < rlo - tol).any() or (ax > rhi + tol).any() or (x < lo - 1e-9).any() or (x > hi + 1e-9).any():
        return None, bound
    return x, bound


def solve_extensive(
    inst: RolloutInstance,
    options: SolveOptions,
    deadline: float | None,
    *,
    linking: bool = True,
    start: Solved | None = None,
) -> Solved:
    """The deterministic equivalent (``start``: a feasible plan to start from).

    Small models: one HiGHS run. Large ones (over ``ROUNDING_MIN_COLUMNS`` columns): the LP-guided
    plan of :func:`~swapnet.siting.rollout.heuristic.lp_guided` with the LP bound, returned at
    once when within ``mip_gap`` (or when little time is left), else the start of a HiGHS run on
    the whole MILP for the time left.
    """
    t0 = time.perf_counter()
    rm = build_model(inst, linking=linking)
    x0 = None
    if start is not None and start.status.has_solution:
        x0 = rm.vector(start.Y, start.B, start.C, start.x, start.u)
    lp_bound = float("nan")
    duals: FloatArray | None = None
    cost = rm.lm.arrays()[0]
    if rm.lm.n_cols > ROUNDING_MIN_COLUMNS:  # large models: the LP-guided plan unless a known plan is better
        xr, lp_bound, duals = lp_guided(rm, options, _share(deadline, GUIDED_SHARE))
        if xr is None and np.isfinite(lp_bound) and (deadline is None or deadline > time.perf_counter()):
            xr = lp_rounding_start(rm, options, deadline)[0]
        if xr is not None and (x0 is None or cost @ xr < cost @ x0):
            x0 = xr
        if x0 is not None and np.isfinite(lp_bound):
            obj = float(cost @ x0) + rm.lm.offset
            left = float("inf") if deadline is None else deadline - time.perf_counter()
            if (obj - lp_bound) <= options.mip_gap * abs(obj) or left < FINAL_MILP_MIN_S:
                return _from_vector(rm, x0, obj, lp_bound, options.mip_gap, time.perf_counter() - t0, duals, lp_bound)
    sol = rm.lm.solve(options, deadline=deadline, start=x0)
    if x0 is not None and np.isfinite(lp_bound) and (
        sol.x is None or not np.isfinite(sol.report.objective)
        or sol.report.objective > float(cost @ x0) + rm.lm.offset
    ):  # fmt: skip
        bound = max(lp_bound, sol.report.bound) if np.isfinite(sol.report.bound) else lp_bound
        return _from_vector(rm, x0, float(cost @ x0) + rm.lm.offset, bound, options.mip_gap, time.perf_counter() - t0,
                            duals, lp_bound)  # fmt: skip
    rep = sol.report
    if rep.status == SolveStatus.INFEASIBLE:
        raise InfeasibleError(
            "rollout: no plan meets the budgets and service targets (the solver proved the model infeasible)"
        )
    S, T, m = inst.S, inst.T, inst.m
    if sol.x is None:
        z = np.zeros((S, T, m))
        return Solved(z, z, z, np.zeros((S, T, inst.pair_g.size)), inst.H.copy(), float("nan"), rep.bound,
                      SolveStatus.NO_SOLUTION, "milp", rep.solve_seconds)  # fmt: skip
    node = inst.node_of
    Y, B, C = (np.round(sol.values(b))[node] for b in ("open", "batteries", "chargers"))
    status = rep.status
    # the LP relaxation's optimum is a valid bound too (better than a MILP stopped before its root)
    bound = max(rep.bound, lp_bound) if np.isfinite(lp_bound) and np.isfinite(rep.bound) else rep.bound
    if not np.isfinite(bound) and np.isfinite(lp_bound):
        bound = lp_bound
    if status == SolveStatus.OPTIMAL and rep.gap > options.mip_gap + 1e-9:
        status = SolveStatus.TIME_LIMIT
    return Solved(
        Y, B, C, sol.values("served"), sol.values("unserved"), rep.objective, bound, status, "milp",
        rep.solve_seconds,
        {"rows": rep.n_rows, "cols": rep.n_cols, "nonzeros": rep.n_nonzeros, "integers": rep.n_integer,
         "cut_value": lp_bound},
        _state_duals(rm, duals),
    )  # fmt: skip


def two_stage_years(inst: RolloutInstance) -> int | None:
    """``k`` when years ``1..k`` are shared by all scenarios and later years are per scenario, else ``None``."""
    S, T = inst.S, inst.T
    k = 0
    while k < T and np.all(inst.node_of[:, k] == inst.node_of[0, k]):
        k += 1
    if k < T and len(np.unique(inst.node_of[:, k:])) != S * (T - k):
        return None
    return k


def _scenario_task(sub: RolloutInstance, options: SolveOptions, seconds: float | None) -> Solved:
    """One scenario's MILP within ``seconds`` (a worker-process task)."""
    return solve_extensive(sub, options, None if seconds is None else time.perf_counter() + seconds)


def _wait_and_see_task(item: tuple[RolloutInstance, Solved], options: SolveOptions, seconds: float | None) -> Solved:
    """One scenario alone (perfect information) within ``seconds``, from the known plan ``item[1]`` (a worker task)."""
    sub, start = item
    deadline = None if seconds is None else time.perf_counter() + seconds
    return solve_extensive(sub, options, deadline, start=start if start.status.has_solution else None)


def _scenario_lp(sub: RolloutInstance, options: SolveOptions, wall_end: float | None) -> LPResult:
    """One scenario's LP relaxation by ``wall_end`` (``time.time()``): optimum (``nan`` if unsolved), states."""
    rm = build_model(sub)
    deadline = None if wall_end is None else time.perf_counter() + max(wall_end - time.time(), 0.0)
    lp = rm.lm.solve(options, relax=True, deadline=deadline)
    if lp.x is None or lp.status != SolveStatus.OPTIMAL:
        z = np.zeros((sub.T, sub.m))
        return float("nan"), z, z, z
    return float(lp.objective), lp.values("open"), lp.values("batteries"), lp.values("chargers")


def _each(fn: Any, subs: list[Any], options: SolveOptions, deadline: float | None, *,
          shared: bool = False) -> list[Any]:  # fmt: skip
    """``fn(sub, options, t)`` for every sub-instance by ``deadline`` (in processes where allowed).

    ``t``: seconds, an equal share of the time left per task still to run (per wave of workers);
    with ``shared`` the common end as a ``time.time()`` instant (each task may use what is left).
    """
    w = workers_for(options, len(subs))
    opts = replace(options, threads=1) if w > 1 else options
    if shared:
        end = None if deadline is None else time.time() + max(deadline - time.perf_counter(), 0.0)
        return run_tasks(fn, [(sub, opts, end) for sub in subs], w)
    if w > 1:
        waves = -(-len(subs) // w)
        secs = None if deadline is None else max(deadline - time.perf_counter(), 0.0) / waves * POOL_SAFETY
        return run_tasks(fn, [(sub, opts, secs) for sub in subs], w)
    out = []
    for i, sub in enumerate(subs):  # an equal share of the time left to each one still to solve
        secs = None if deadline is None else max(deadline - time.perf_counter(), 0.0) / (len(subs) - i)
        out.append(fn(sub, options, secs))
    return out


def _per_scenario(inst: RolloutInstance, options: SolveOptions, deadline: float | None,
                  lock: tuple[FloatArray, FloatArray, FloatArray] | None) -> list[Solved]:  # fmt: skip
    subs = [inst.restrict([s], lock=None if lock is None else tuple(a[[s]] for a in lock))  # type: ignore[arg-type]
            for s in range(inst.S)]  # fmt: skip
    return _each(_scenario_task, subs, options, deadline)


def _combine(inst: RolloutInstance, parts: list[Solved], method: str, bound: float, t0: float,
             mip_gap: float) -> Solved:  # fmt: skip
    ok = all(p.status.has_solution for p in parts)
    obj = float(sum(q * p.objective for q, p in zip(inst.prob, parts, strict=True))) if ok else float("nan")
    s = Solved.stack(parts, 0, obj, bound, SolveStatus.FEASIBLE, method, time.perf_counter() - t0)
    return replace(s, status=_status(s.gap, mip_gap, ok))


def _within_budget(inst: RolloutInstance, fs: tuple[FloatArray, FloatArray, FloatArray]) -> bool:
    """Whether a first stage ((k, m) states from the initial state) keeps every shared year's cash budget."""
    if inst.budget is None or fs[0].shape[0] == 0:
        return True
    prev = [np.asarray(a[0], dtype=np.float64) for a in inst.initial]
    prices = (inst.site_cash, np.full(inst.m, inst.battery_cash), np.full(inst.m, inst.charger_cash))
    for t in range(fs[0].shape[0]):
        spend = sum(float((fs[i][t] - prev[i]) @ prices[i]) for i in range(3))
        if spend > inst.budget[t] * (1 + 1e-9) + 1e-6:
            return False
        prev = [fs[i][t] for i in range(3)]
    return True


EVAL_MARGIN = 1.3
"""No further candidate evaluation with less time left than this times the last one took."""

BOUND_SHARE = 0.5
"""Share of the decomposition's time for the bound phase (the Benders rounds); the rest evaluates candidates."""

ROUNDING = (0.5, 0.25)
"""Opening thresholds of the bound's LP first stage rounded to candidates (in this order)."""


def _key(fs: tuple[FloatArray, FloatArray, FloatArray]) -> bytes:
    """A first stage's identity: its values rounded (``-0.0`` and float noise do not make a new stage)."""
    return (np.round(np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in fs]), 6) + 0.0).tobytes()


def _bound_phase(inst: RolloutInstance, k: int, options: SolveOptions, budget: Budget,
                 ) -> tuple[float, list[tuple[FloatArray, FloatArray, FloatArray]], dict[str, float]]:  # fmt: skip
    """The decomposition's bound (``nan`` if none) and first candidate (:mod:`~swapnet.siting.rollout.benders`).

    Falls back to the scenario-LP bound (no non-anticipativity) when the Benders rounds give none.
    """
    t0 = time.perf_counter()
    stats: dict[str, float] = {"first_stages": 0.0}
    if k == 0:
        return float("nan"), [], stats
    deadline = budget.share(BOUND_SHARE)
    if k == inst.T:  # every year shared: the master alone is the whole LP relaxation
        mv, _, z = Master(inst, k).solve(None if deadline is None else deadline - time.perf_counter())
        br = BendersResult(mv, float("nan"), z, 1, time.perf_counter() - t0)
    else:
        with LPPool(inst, k, options.threads) as pool:
            br = benders_bound(inst, k, pool, deadline)
    bound = br.bound
    stats.update({"bound_seconds": time.perf_counter() - t0, "benders_rounds": float(br.rounds),
                  "lp_relaxation_upper": br.upper, "benders_bound": br.bound})  # fmt: skip
    if not np.isfinite(bound):
        lps = _each(_scenario_lp, [inst.restrict([s]) for s in range(inst.S)], options, budget.share(LP_PHASE),
                    shared=True)  # fmt: skip
        each = np.array([r[0] for r in lps])
        bound = float(inst.prob @ each) if np.isfinite(each).all() else float("nan")
    cands = [] if br.z is None else [round_first_stage(inst, (br.z[0], br.z[1], br.z[2]), t) for t in ROUNDING]
    return bound, cands, stats


def solve_decomposed(
    inst: RolloutInstance,
    options: SolveOptions,
    budget: Budget,
    *,
    first_stages: list[tuple[FloatArray, FloatArray, FloatArray]] | None = None,
    starts: list[Solved] | None = None,
) -> tuple[Solved, dict[str, float]]:
    """Scenario decomposition (see the module docstring).

    ``first_stages`` are extra candidate first stages ((k, m) arrays); ``starts`` known feasible plans
    of the same instance (with their ``objective``), the incumbents to beat.
    """
    k = two_stage_years(inst)
    if k is None:
        raise InvalidInputError("method", "decompose", "needs a two-stage tree (years 1..k shared by every scenario)")
    t0 = time.perf_counter()
    S, T = inst.S, inst.T
    bound, cands, stats = _bound_phase(inst, k, options, budget)
    best: Solved | None = None
    seen: set[bytes] = set()
    for st in starts or []:
        if st.status.has_solution and np.isfinite(st.objective):
            seen.add(_key((st.Y[0, :k], st.B[0, :k], st.C[0, :k])))
            if best is None or st.objective < best.objective:
                best = replace(st, bound=bound, method="decompose")
    cands += list(first_stages or [])
    if k == 0:
        cands = [(np.zeros((0, inst.m)),) * 3]

    def evaluate(fs: tuple[FloatArray, FloatArray, FloatArray]) -> Solved | None:
        lock = None if k == 0 else tuple(
            np.concatenate([np.broadcast_to(a, (S, k, inst.m)), np.full((S, T - k, inst.m), np.nan)], axis=1)
            for a in fs
        )  # fmt: skip
        try:
            parts = _per_scenario(inst, options, budget.end, lock)  # type: ignore[arg-type]
        except InfeasibleError:
            return None
        stats["first_stages"] += 1
        own = bound
        if k == 0:  # no shared years: the scenarios are independent, their MILP bounds add up
            own = float(sum(q * p.bound for q, p in zip(inst.prob, parts, strict=True)))
        return _combine(inst, parts, "decompose", own, t0, options.mip_gap)

    queue = list(cands)
    last_eval, reserve = 0.0, reserve_seconds(inst, k, options)
    while queue:
        fs = queue.pop(0)
        if best is not None and budget.expired(reserve=0.02 * max(budget.left(), 0.0)):
            break
        if best is not None and np.isfinite(budget.left()) and budget.left() < EVAL_MARGIN * last_eval + reserve:
            break  # another evaluation would overrun the time limit (and leave no time for the polish)
        if best is not None and (best.objective - bound) <= options.mip_gap * abs(best.objective):
            break
        key = _key(fs)
        if key in seen or not _within_budget(inst, fs):
            continue
        seen.add(key)
        t_eval = time.perf_counter()
        res = evaluate(fs)
        last_eval = time.perf_counter() - t_eval
        if res is not None and k == 0:
            bound = res.bound
        if res is not None and res.status.has_solution and (best is None or res.objective < best.objective):
            best = res
    if best is None:
        raise InfeasibleError("rollout: no candidate first stage is feasible in every scenario")
    pol = polish_sizes(inst, best.Y, best.B, best.C, best.x, best.u, k, options, budget.end)
    if pol is not None:  # the integer-sizes polish (siting/rollout/polish.py)
        best = replace(best, B=pol.B, C=pol.C, x=pol.x, u=pol.u, objective=pol.objective)
        stats.update(pol.stats)
    best = replace(best, bound=bound, method="decompose", solve_seconds=time.perf_counter() - t0)
    return replace(best, status=_status(best.gap, options.mip_gap, True)), stats


def solve(
    inst: RolloutInstance, method: str, options: SolveOptions, budget: Budget,
    first_stages: list[tuple[FloatArray, FloatArray, FloatArray]] | None = None,
    starts: list[Solved] | None = None,
) -> tuple[Solved, dict[str, float]]:  # fmt: skip
    """Dispatch on ``method`` (``"auto"``, ``"extensive"``, ``"decompose"``); ``starts``: feasible plans to beat."""
    if method not in ("auto", "extensive", "decompose"):
        raise InvalidInputError("method", method, "must be 'auto', 'extensive' or 'decompose'")
    if method == "auto":
        k = two_stage_years(inst)
        big = inst.S * inst.T * (inst.pair_g.size + inst.m) > AUTO_EXTENSIVE_LIMIT
        method = "decompose" if (big and k is not None and inst.S > 1 and k < inst.T) else "extensive"
    if method == "decompose":
        return solve_decomposed(inst, options, budget, first_stages=first_stages, starts=starts)
    good = [s for s in starts or [] if s.status.has_solution and np.isfinite(s.objective)]
    best = min(good, key=lambda s: s.objective) if good else None
    return solve_extensive(inst, options, budget.end, start=best), {}
