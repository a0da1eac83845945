"""Optimisation kernel: vectorised linear-model builder, HiGHS backend, Pyomo export."""

from swapnet.optim.model import (
    LinearModel,
    Solution,
    SolveOptions,
    SolveReport,
    SolveStatus,
    VarBlock,
    solve_pyomo,
)

__all__ = ["LinearModel", "Solution", "SolveOptions", "SolveReport", "SolveStatus", "VarBlock", "solve_pyomo"]
