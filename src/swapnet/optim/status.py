"""Solve outcomes and the gap rules every solver in swapnet applies.

:class:`SolveStatus` and :class:`SolveReport` describe what a solve returned;
:func:`rel_gap` and :func:`proven` are the one definition of "within the gap"
(relative only, no absolute floor).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

__all__ = ["GAP_SLACK", "SolveReport", "SolveStatus", "proven", "rel_gap"]


class SolveStatus(enum.Enum):
    """Outcome of a solve."""

    OPTIMAL = "optimal"
    """Proven optimal (within the requested relative gap)."""
    TIME_LIMIT = "time_limit"
    """Stopped at the time limit with a feasible solution; see ``gap``."""
    FEASIBLE = "feasible"
    """A feasible solution without an optimality proof (e.g. a heuristic)."""
    NO_SOLUTION = "no_solution"
    """Stopped (time limit) before any feasible solution was found."""
    INFEASIBLE = "infeasible"
    """The model has no feasible solution."""
    UNBOUNDED = "unbounded"
    """The objective is unbounded."""

    @property
    def has_solution(self) -> bool:
        """Whether a feasible solution is available."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT, SolveStatus.FEASIBLE)


@dataclass(frozen=True)
class SolveReport:
    """What a solve returned.

    Attributes
    ----------
    status
        :class:`SolveStatus`.
    objective
        Objective value of the returned solution (NaN without one).
    bound
        Best proven bound on the optimum (equal to ``objective`` for LPs solved to optimality).
    gap
        Relative gap ``|objective - bound| / |objective|`` (``|bound|`` when the objective is 0; 0 when equal).
    build_seconds, solve_seconds
        Wall-clock time spent building the model and in the solver.
    n_rows, n_cols, n_nonzeros, n_integer
        Model size.
    solver
        Solver name.
    """

    status: SolveStatus
    objective: float
    bound: float
    gap: float
    build_seconds: float
    solve_seconds: float
    n_rows: int
    n_cols: int
    n_nonzeros: int
    n_integer: int
    solver: str = "highs"


def rel_gap(obj: float, bound: float) -> float:
    """Relative gap ``|obj - bound| / |obj|`` (``|bound|`` when ``obj`` is 0; 0 when equal, ``inf`` when either
    is not finite), as Gurobi and HiGHS report it; no absolute floor, so tiny objectives get honest gaps."""
    if not (np.isfinite(obj) and np.isfinite(bound)):
        return float("inf")
    if obj == bound:
        return 0.0
    return float(abs(obj - bound) / (abs(obj) if obj != 0 else abs(bound)))


GAP_SLACK = 1e-6
"""A solve counts as optimal when its relative gap is at most ``max(mip_gap, GAP_SLACK)`` (solvers work
to feasibility tolerances of about 1e-7, so a bound may miss a proven optimum by that much)."""

_ROUNDING = 1e-9
"""Relative rounding allowed on the gap limit itself: a bound set to exactly ``obj * (1 - mip_gap)`` (the
p-median's proof that nothing is better by more than the gap) gives a computed gap a few ulps above
``mip_gap``, e.g. 1.0000000000000116e-4 against 1e-4."""


def proven(obj: float, bound: float, mip_gap: float, sense: str = "min") -> bool:
    """Whether ``bound`` proves ``obj`` optimal within ``mip_gap`` (see :data:`GAP_SLACK`)."""
    if not (np.isfinite(obj) and np.isfinite(bound)):
        return False
    worse = obj - bound if sense == "min" else bound - obj
    return worse <= 0.0 or rel_gap(obj, bound) <= max(mip_gap, GAP_SLACK) * (1.0 + _ROUNDING)
