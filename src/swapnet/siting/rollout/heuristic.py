r"""The LP-guided primal heuristic for large rollout MILPs, and the scenario worker pool.

**LP-guided fix-and-solve** (a relaxation-induced neighbourhood, RINS-like). HiGHS on the whole
MILP of a large rollout spends its time in cut rounds and finds poor plans; the LP relaxation
with the ``serve_if_open`` linking rows is tight but has some fractional openings. So:

1. solve the LP relaxation (its optimum is a valid lower bound of the MILP);
2. fix every opening the LP leaves at 0 or 1 and solve the MILP over the fractional openings
   only, with batteries and chargers continuous (a smaller MILP that HiGHS's own neighbourhood
   heuristics handle well);
3. round the batteries and chargers up: a rounded-up monotone sequence is monotone, integer site
   limits still hold, capacities only grow, so the plan stays feasible (budgets are re-checked,
   and the plan is dropped if one breaks).

The result is a feasible integer plan whose gap is measured against the LP bound of step 1.

**Worker pool.** Scenario sub-problems are independent; with ``SolveOptions(threads=n)``,
``n > 1``, they run in ``n`` processes of one solver thread each (where the caller's main script
cannot run again in them, see :func:`swapnet.operations._procs.processes_allowed`), else in turn.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from swapnet.operations._procs import processes_allowed
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting.rollout.model import RolloutModel, build_model

__all__ = ["lp_guided", "run_tasks", "workers_for"]

FloatArray = NDArray[np.float64]
T_ = TypeVar("T_")

NEIGHBOURHOOD_EFFORT = 0.3
"""HiGHS ``mip_heuristic_effort`` in the fix-and-solve MILP (its default is 0.05)."""

LP_SHARE = 0.45
"""Share of the time left given to the LP relaxation."""


def _share(deadline: float | None, fraction: float) -> float | None:
    return None if deadline is None else time.perf_counter() + max(deadline - time.perf_counter(), 0.0) * fraction


def feasible(rm: RolloutModel, x: FloatArray) -> bool:
    """Whether the column vector ``x`` meets every row and bound of ``rm`` (integers integral)."""
    _, lb, ub, integer, A, rlo, rhi = rm.lm.arrays()
    ax = A @ x
    tol = 1e-6 * np.maximum(1.0, np.abs(ax))
    rows_ok = not ((ax < rlo - tol).any() or (ax > rhi + tol).any())
    return (
        rows_ok
        and not ((x < lb - 1e-9).any() or (x > ub + 1e-9).any())
        and bool(np.allclose(x[integer], np.round(x[integer]), atol=1e-9))
    )


def lp_guided(rm: RolloutModel, options: SolveOptions, deadline: float | None,
              ) -> tuple[FloatArray | None, float, FloatArray | None]:  # fmt: skip
    """A feasible integer column vector of ``rm`` (or ``None``), the LP bound (``nan`` if unsolved), its reduced costs.

    See the module docstring; ``rm`` must have integer sizes (the model whose plan is wanted). The
    reduced costs (``None`` unless the LP is optimal) give the value-function cuts of
    :mod:`~swapnet.siting.rollout.cuts`.
    """
    lp = rm.lm.solve(options, relax=True, deadline=_share(deadline, LP_SHARE))
    if lp.x is None or lp.status != SolveStatus.OPTIMAL:
        return None, float("nan"), None
    duals = lp.col_dual
    bound = float(lp.objective)
    y = lp.values("open").ravel()
    sub = build_model(rm.inst, integer_sizes=False)
    yi = sub.Y.index.ravel()
    sub.lm.set_bounds(yi, lb=np.where(y > 1 - 1e-6, 1.0, 0.0), ub=np.where(y < 1e-6, 0.0, 1.0))
    heur = dict(options.highs_options)
    heur.setdefault("mip_heuristic_effort", NEIGHBOURHOOD_EFFORT)
    sol = sub.lm.solve(replace(options, highs_options=heur), deadline=deadline)
    if sol.x is None:
        return None, bound, duals
    x = sol.x.copy()
    x[yi] = np.round(x[yi])
    for blk in (rm.B, rm.C):
        idx = blk.index.ravel()
        x[idx] = np.ceil(x[idx] - 1e-7)
    return (x if feasible(rm, x) else None), bound, duals


def workers_for(options: SolveOptions, tasks: int) -> int:
    """Processes for ``tasks`` independent sub-problems: ``options.threads`` (at most the cores and tasks)."""
    n = min(int(options.threads or 1), os.cpu_count() or 1, tasks)
    return n if n > 1 and processes_allowed() else 1


def run_tasks(fn: Callable[..., T_], tasks: Sequence[tuple[Any, ...]], workers: int) -> list[T_]:
    """``[fn(*t) for t in tasks]``, in ``workers`` processes when ``workers > 1``."""
    if workers <= 1 or len(tasks) <= 1:
        return [fn(*t) for t in tasks]
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    try:
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method))
    except (OSError, ValueError):
        return [fn(*t) for t in tasks]
    try:
        futs = [pool.submit(fn, *t) for t in tasks]
        return [f.result() for f in futs]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
