"""Pyomo form of a :class:`~swapnet.optim.model.LinearModel` and a Pyomo solve with HiGHS."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.optim.blocks import ModelArrays, VarBlock
from swapnet.optim.options import SolveOptions

__all__ = ["build_pyomo", "solve_pyomo"]


def build_pyomo(
    name: str,
    sense: str,
    offset: float,
    arrays: ModelArrays,
    blocks: Iterable[VarBlock],
    families: Iterable[tuple[str, int, int]],
) -> Any:
    """A Pyomo ``ConcreteModel`` of the model given by its arrays, blocks and row families.

    Each variable block becomes an indexed ``Var`` named like the block (indexed by flat
    position), each family ``(name, first row, rows)`` an indexed ``Constraint`` named like
    the family; the objective is ``obj``.
    """
    import pyomo.environ as pyo

    cost, lb, ub, _, A, rlo, rhi = arrays

    m = pyo.ConcreteModel(name=name)
    col_var: list[Any] = [None] * len(cost)
    for blk in blocks:
        sl = slice(blk.start, blk.start + blk.size)
        bl, bu = lb[sl], ub[sl]
        dom = pyo.Integers if blk.integer else pyo.Reals

        def bounds(_m: Any, k: int, bl: NDArray[np.float64] = bl, bu: NDArray[np.float64] = bu) -> tuple[Any, Any]:
            lo, hi = float(bl[k]), float(bu[k])
            return (lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)

        v = pyo.Var(range(blk.size), domain=dom, bounds=bounds)
        m.add_component(blk.name, v)
        for k in range(blk.size):
            col_var[blk.start + k] = v[k]
    nz = np.flatnonzero(cost)
    expr = sum(float(cost[j]) * col_var[j] for j in nz) + offset
    m.obj = pyo.Objective(expr=expr, sense=pyo.minimize if sense == "min" else pyo.maximize)
    indptr, indices, data = A.indptr, A.indices, A.data
    for fam_name, fam_start, fam_n in families:
        rows = range(fam_start, fam_start + fam_n)

        def rule(_m: Any, k: int, start: int = fam_start) -> Any:
            r = start + k
            body = sum(float(data[p]) * col_var[indices[p]] for p in range(indptr[r], indptr[r + 1]))
            lo = float(rlo[r]) if np.isfinite(rlo[r]) else None
            hi = float(rhi[r]) if np.isfinite(rhi[r]) else None
            if indptr[r] == indptr[r + 1]:
                return pyo.Constraint.Skip
            if lo is not None and hi is not None and lo == hi:
                return body == lo
            return pyo.inequality(lo, body, hi)

        m.add_component(fam_name, pyo.Constraint(range(len(rows)), rule=rule))
    return m


def solve_pyomo(model: Any, options: SolveOptions | None = None) -> tuple[float, dict[str, Sequence[float]]]:
    """Solve a Pyomo model from :meth:`LinearModel.to_pyomo` with Pyomo's HiGHS interface.

    Returns the objective value and ``{block name: flat values}``.
    """
    import pyomo.environ as pyo

    opts = options or SolveOptions()
    solver = pyo.SolverFactory("appsi_highs")
    solver.config.load_solution = True
    solver.config.stream_solver = bool(opts.log)
    if opts.time_limit is not None:
        solver.config.time_limit = float(opts.time_limit)
    solver.config.mip_gap = float(opts.mip_gap)
    solver.solve(model)
    values: dict[str, Sequence[float]] = {}
    for v in model.component_objects(pyo.Var, active=True):
        values[v.name] = [float(pyo.value(v[k])) for k in sorted(v.keys())]
    return float(pyo.value(model.obj)), values
