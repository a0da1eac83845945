"""Pieces shared by the matrix siting models: reachability, verification checks and plan assembly."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from swapnet.errors import InfeasibleError
from swapnet.optim import LinearModel, SolveReport, SolveStatus
from swapnet.siting._inputs import (
    check_dropped,
    drop_unreachable,
    dropped_details,
)
from swapnet.siting.plan import SitingPlan

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _reachable_part(
    C: FloatArray, dlab: tuple[Hashable, ...], w: FloatArray | None, unreachable: str, model: str
) -> tuple[FloatArray, tuple[Hashable, ...], FloatArray, NDArray[np.bool_]]:
    """The rows (demand) that reach some candidate, after :func:`drop_unreachable`; and the dropped mask."""
    drop = drop_unreachable(C, dlab, unreachable, model=model, weights=w)
    ww = np.ones(C.shape[0]) if w is None else w
    if not drop.any():
        return C, dlab, ww, drop
    keep = ~drop
    if not keep.any():
        raise InfeasibleError(f"{model}: no demand point reaches a candidate site")
    return C[keep], tuple(d for d, k in zip(dlab, keep, strict=True) if k), ww[keep], drop


def _with_dropped(verify: Any, C0: FloatArray, drop: NDArray[np.bool_], dlab0: tuple[Hashable, ...]) -> Any:
    """``verify`` plus the check that the dropped demand is exactly the unreachable demand."""

    def both(plan: SitingPlan, tol: float) -> list[str]:
        problems: list[str] = verify(plan, tol)
        return problems + check_dropped(C0, drop, dlab0, plan.details.get("dropped_demand"))

    return both


def _dropped_plan(
    plan: SitingPlan, C0: FloatArray, drop: NDArray[np.bool_], dlab0: tuple[Hashable, ...], w0: FloatArray
) -> SitingPlan:
    """``plan`` with the dropped demand recorded in its details and checked by its ``verify()``."""
    return dataclasses.replace(
        plan,
        details={**plan.details, **dropped_details(dlab0, drop, w0)},
        _verify=_with_dropped(plan._verify, C0, drop, dlab0) if plan._verify is not None else None,
    )


def _add_count_budget(lm: LinearModel, y: IntArray, c: FloatArray, p: int | None, B: float | None) -> None:
    m = y.size
    if p is not None:
        lm.add_constraints("count", rows=np.zeros(m, dtype=np.int64), cols=y, vals=1.0, lo=p, hi=p, n=1)
    if B is not None:
        lm.add_constraints("budget", rows=np.zeros(m, dtype=np.int64), cols=y, vals=c, hi=B, n=1)


def _check_count_budget(
    chosen: NDArray[np.bool_], c: FloatArray, p: int | None, B: float | None, tol: float
) -> list[str]:
    out = []
    if p is not None and int(chosen.sum()) != p:
        out.append(f"{int(chosen.sum())} sites open, p = {p}")
    if B is not None and float(c[chosen].sum()) > B * (1 + tol) + tol:
        out.append(f"site cost {float(c[chosen].sum()):g} exceeds budget {B:g}")
    return out


def _check_fixed(chosen: NDArray[np.bool_], fx: IntArray, slab: tuple[Hashable, ...]) -> list[str]:
    missing = fx[~chosen[fx]]
    return [f"fixed site {slab[int(j)]!r} is not open" for j in missing]


def _check_value(name: str, got: float, want: float, tol: float) -> list[str]:
    if not (np.isfinite(got) and np.isfinite(want)):
        return [f"{name} {got!r} (recomputed {want!r}) is not a finite number"]
    if abs(got - want) > tol * max(1.0, abs(want)):
        return [f"{name} {got:.10g} != recomputed {want:.10g}"]
    return []


def _mask_of(sites: tuple[Hashable, ...], slab: tuple[Hashable, ...]) -> NDArray[np.bool_]:
    pos = {lab: j for j, lab in enumerate(slab)}
    mask = np.zeros(len(slab), dtype=bool)
    for s in sites:
        mask[pos[s]] = True
    return mask


def _nearest_assignment(
    C: FloatArray, mask: NDArray[np.bool_], dlab: tuple[Hashable, ...], slab: tuple[Hashable, ...], r: float
) -> pd.DataFrame:
    n = C.shape[0]
    if mask.any():
        opened = np.flatnonzero(mask)
        k = np.argmin(C[:, opened], axis=1)
        d = C[np.arange(n), opened[k]]
        site: list[Hashable | None] = [slab[int(opened[i])] if np.isfinite(d[j]) else None for j, i in enumerate(k)]
    else:
        d = np.full(n, np.inf)
        site = [None] * n
    return pd.DataFrame({"demand": list(dlab), "site": site, "cost": d, "covered": d <= r})


def _raise_if_infeasible(report: SolveReport, what: str) -> None:
    if report.status == SolveStatus.INFEASIBLE:
        raise InfeasibleError(f"{what}: the solver proved the model infeasible")


def _rebase(report: SolveReport, t0: float) -> SolveReport:
    """Report with build time counted from ``t0`` (input checks, reductions and heuristics included)."""
    total_build = time.perf_counter() - t0 - report.solve_seconds
    return SolveReport(**{**report.__dict__, "build_seconds": max(total_build, 0.0)})


def _finish(
    model: str,
    mask: NDArray[np.bool_],
    objective: float,
    report: SolveReport | None,
    t0: float,
    slab: tuple[Hashable, ...],
    assignment: pd.DataFrame,
    *,
    covered: float | None,
    method: str,
    verify: Any,
    pyomo: Any,
    details: dict[str, Any],
) -> SitingPlan:
    if report is None:
        status, bound, gap = SolveStatus.FEASIBLE, float("nan"), float("nan")
        build, solve = time.perf_counter() - t0, 0.0
    else:
        status, bound, gap = report.status, report.bound, report.gap
        if status == SolveStatus.OPTIMAL:
            gap = max(gap, 0.0)
        build, solve = report.build_seconds, report.solve_seconds
        details = {**details, "rows": report.n_rows, "cols": report.n_cols, "nonzeros": report.n_nonzeros}
    if not np.isfinite(objective) and status.has_solution:  # never a plan with an inf / nan objective
        status, gap = SolveStatus.NO_SOLUTION, float("nan")
    return SitingPlan(
        model=model,
        sites=tuple(slab[int(j)] for j in np.flatnonzero(mask)),
        objective=objective,
        bound=bound,
        gap=gap,
        status=status,
        covered=covered,
        assignment=assignment,
        build_seconds=build,
        solve_seconds=solve,
        method=method,
        details=details,
        report=report,
        _verify=verify,
        _pyomo=(lambda: pyomo().to_pyomo()) if pyomo is not None else None,
    )


def _bincount(x: NDArray[np.integer[Any]], weights: FloatArray, minlength: int) -> FloatArray:
    """``np.bincount`` with weights, always float (numpy returns ints for empty input)."""
    out: FloatArray = np.bincount(x, weights=weights, minlength=minlength).astype(np.float64, copy=False)
    return out


def _ragged_arange(cnt: IntArray) -> IntArray:
    """``concatenate([arange(c) for c in cnt])`` without a Python loop."""
    total = int(cnt.sum())
    starts = np.cumsum(cnt) - cnt
    out: IntArray = np.arange(total, dtype=np.int64) - np.repeat(starts, cnt)
    return out
