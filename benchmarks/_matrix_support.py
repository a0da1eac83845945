"""Shared parts of ``siting_matrix.py``: its seeded instances, the objective checks, timing, the spopt and
per-element Pyomo baselines and the table printer (run the benchmark, not this module)."""

from __future__ import annotations

import gc
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.distance import cdist

from swapnet.siting import SitingPlan, SolveOptions, max_coverage, p_median, set_cover

T = TypeVar("T")
FloatArray = NDArray[np.float64]

MIP_GAP = 1e-4
AGREE_RTOL = 1e-6


# ------------------------------------------------------------------------ instances
@dataclass(frozen=True)
class Instance:
    n: int
    m: int
    p: int
    C: FloatArray
    w: FloatArray
    r_mclp: float
    r_lscp: float

    @property
    def size(self) -> str:
        return f"{self.n}x{self.m}"

    @property
    def cells(self) -> int:
        return self.n * self.m


def make_instance(n: int, m: int, p: int, seed: int) -> Instance:
    rng = np.random.default_rng([seed, n, m])
    demand = rng.uniform(0.0, 100.0, (n, 2))
    sites = rng.uniform(0.0, 100.0, (m, 2))
    C = cdist(demand, sites)
    w = rng.integers(1, 101, n).astype(np.float64)
    r_mclp = math.sqrt(0.5 * 100.0**2 / (p * math.pi))
    r_lscp = 1.25 * float(C.min(axis=1).max())
    return Instance(n, m, p, C, w, r_mclp, r_lscp)


# ---------------------------------------------------------------------- evaluation
def median_cost(C: FloatArray, w: FloatArray, sites: NDArray[np.int64]) -> float:
    return float((w * C[:, sites].min(axis=1)).sum())


def covered_weight(C: FloatArray, w: FloatArray, sites: NDArray[np.int64], r: float) -> float:
    return float(w[(C[:, sites] <= r).any(axis=1)].sum())


def evaluate(model: str, inst: Instance, sites: NDArray[np.int64]) -> float:
    """Objective of a site set, recomputed from the instance (same for every contender)."""
    if sites.size == 0:
        return float("nan")
    if model == "p-median":
        if sites.size != inst.p:
            return float("nan")
        return median_cost(inst.C, inst.w, sites)
    if model == "mclp":
        if sites.size != inst.p:
            return float("nan")
        return covered_weight(inst.C, inst.w, sites, inst.r_mclp)
    if not (inst.C[:, sites] <= inst.r_lscp).any(axis=1).all():
        return float("nan")  # not a cover
    return float(sites.size)


def agree(a: float, b: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= AGREE_RTOL * max(1.0, abs(a), abs(b))


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux
        return float("nan")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or "unknown CPU"


# -------------------------------------------------------------------------- timing
@dataclass
class Timed:
    seconds: float  # median wall time
    runs: int
    result: Any  # result of the median run


def timed(fn: Callable[[], T], repeat_below: float, repeats: int = 3) -> Timed:
    """Run ``fn``; if it took less than ``repeat_below`` s, run it ``repeats`` times and keep the median run."""
    out: list[tuple[float, T]] = []
    while True:
        gc.collect()
        t0 = time.perf_counter()
        res = fn()
        out.append((time.perf_counter() - t0, res))
        if out[0][0] >= repeat_below or len(out) >= repeats:
            break
    out.sort(key=lambda tr: tr[0])
    _, res = out[(len(out) - 1) // 2]
    return Timed(statistics.median(tr[0] for tr in out), len(out), res)


# -------------------------------------------------------------------------- swapnet
def run_ours(model: str, inst: Instance, opts: SolveOptions, method: str = "milp") -> SitingPlan:
    if model == "p-median":
        return p_median(inst.C, inst.w, inst.p, options=opts, method=method)
    if model == "mclp":
        return max_coverage(inst.C, inst.w, inst.r_mclp, inst.p, options=opts)
    return set_cover(inst.C, inst.r_lscp, options=opts)


# --------------------------------------------------------------------------- spopt
@dataclass
class SpoptResult:
    build_s: float
    objective: float  # recomputed from its sites
    reported: float  # pulp's objective value
    status: str
    gap: float
    highs_s: float = float("nan")  # time inside HiGHS


def run_spopt(model: str, inst: Instance, time_limit: float | None) -> SpoptResult:
    import pulp
    from spopt.locate import LSCP, MCLP, PMedian

    t0 = time.perf_counter()
    if model == "p-median":
        sp = PMedian.from_cost_matrix(inst.C, inst.w, p_facilities=inst.p)
    elif model == "mclp":
        sp = MCLP.from_cost_matrix(inst.C, inst.w, service_radius=inst.r_mclp, p_facilities=inst.p)
    else:
        sp = LSCP.from_cost_matrix(inst.C, service_radius=inst.r_lscp)
    build = time.perf_counter() - t0
    solver = pulp.HiGHS(msg=False, gapRel=MIP_GAP, timeLimit=time_limit)
    try:
        sp.solve(solver)
    except RuntimeError as exc:  # spopt raises when pulp reports no solution
        return SpoptResult(build, float("nan"), float("nan"), f"error: {exc}"[:40], float("nan"))
    h = sp.problem.solverModel
    status = str(h.getModelStatus()).rsplit(".", 1)[-1].removeprefix("k").lower().replace("timelimit", "time_limit")
    reported = float(sp.problem.objective.value())
    dual = float(h.getInfo().mip_dual_bound)
    bound = -dual if sp.problem.sense == pulp.LpMaximize else dual  # pulp hands HiGHS the negated max objective
    sites = np.array([j for j, v in enumerate(sp.fac_vars) if (v.value() or 0.0) > 0.5], dtype=np.int64)
    obj = evaluate(model, inst, sites)
    gap = abs(obj - bound) / max(abs(obj), 1e-9) if math.isfinite(obj) else float("nan")
    return SpoptResult(build, obj, reported, status, gap, float(h.getRunTime()))


# ---------------------------------------------------------------------------- Pyomo
def pyomo_build(model: str, inst: Instance) -> Any:
    """The classic formulation, written the straightforward way: one Pyomo component entry per element."""
    import pyomo.environ as pyo

    C, w, n, m = inst.C, inst.w, inst.n, inst.m
    M = pyo.ConcreteModel()
    M.I = pyo.RangeSet(0, n - 1)
    M.J = pyo.RangeSet(0, m - 1)
    M.y = pyo.Var(M.J, domain=pyo.Binary)
    if model == "p-median":  # ReVelle & Swain (1970)
        M.x = pyo.Var(M.I, M.J, domain=pyo.Binary)
        M.obj = pyo.Objective(expr=sum(w[i] * C[i, j] * M.x[i, j] for i in M.I for j in M.J), sense=pyo.minimize)
        M.assign = pyo.Constraint(M.I, rule=lambda M, i: sum(M.x[i, j] for j in M.J) == 1)
        M.link = pyo.Constraint(M.I, M.J, rule=lambda M, i, j: M.x[i, j] <= M.y[j])
        M.count = pyo.Constraint(expr=sum(M.y[j] for j in M.J) == inst.p)
        return M
    r = inst.r_mclp if model == "mclp" else inst.r_lscp
    near = [np.flatnonzero(C[i] <= r).tolist() for i in range(n)]
    if model == "mclp":  # Church & ReVelle (1974)
        M.z = pyo.Var(M.I, domain=pyo.Binary)
        M.obj = pyo.Objective(expr=sum(w[i] * M.z[i] for i in M.I), sense=pyo.maximize)
        M.cover = pyo.Constraint(M.I, rule=lambda M, i: sum(M.y[j] for j in near[i]) >= M.z[i])
        M.count = pyo.Constraint(expr=sum(M.y[j] for j in M.J) == inst.p)
        return M
    # Toregas et al. (1971)
    M.obj = pyo.Objective(expr=sum(M.y[j] for j in M.J), sense=pyo.minimize)
    M.cover = pyo.Constraint(M.I, rule=lambda M, i: sum(M.y[j] for j in near[i]) >= 1)
    return M


def pyomo_solve(model: str, inst: Instance, M: Any) -> float:
    import pyomo.environ as pyo

    solver = pyo.SolverFactory("appsi_highs")
    solver.config.mip_gap = MIP_GAP
    solver.config.load_solution = True
    solver.solve(M)
    sites = np.array([j for j in M.J if (pyo.value(M.y[j]) or 0.0) > 0.5], dtype=np.int64)
    return evaluate(model, inst, sites)


def fmt(x: float, spec: str = ".2f") -> str:
    return "-" if not math.isfinite(x) else format(x, spec)


def fmt_obj(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:.0f}" if x == round(x) else f"{x:.2f}"


def status_of(status: str, gap: float) -> str:
    if status == "optimal":
        return "optimal"
    return f"{status} gap {gap:.2%}" if math.isfinite(gap) else status


def print_table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> None:
    right = right if right is not None else set(range(3, len(headers)))
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        out = [c.rjust(wd) if k in right else c.ljust(wd) for k, (c, wd) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(out) + " |"

    print(line(headers))
    print("|" + "|".join("-" * (wd + 2) for wd in widths) + "|")
    for r in rows:
        print(line(r))
