"""A small vectorised linear-model builder with a HiGHS backend and a Pyomo export.

Variables are added in named blocks (numpy-shaped), constraints in named
families given as sparse triplets. Nothing is built per element in Python:
each family is one ``(rows, cols, vals)`` triplet set, and the whole model is
handed to HiGHS as one CSC matrix.

Example
-------
>>> m = LinearModel("toy")
>>> x = m.add_vars("x", 2, ub=4.0, cost=[-1.0, -2.0])
>>> m.add_constraints("cap", rows=[0, 0], cols=x.index, vals=[1.0, 1.0], hi=[5.0])
>>> m.solve().objective
-9.0
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet.errors import InvalidInputError, SolverError
from swapnet.optim._highs import (
    _GRACE_ABS,
    _GRACE_REL,
    MAX_MAGNITUDE,
    _check_magnitudes,
    _interrupt_after,
    _use_threads,
    new_highs,
    scaled_lp,
)
from swapnet.optim.blocks import ModelArrays, VarBlock, _Family
from swapnet.optim.options import SolveOptions
from swapnet.optim.pyomo_export import build_pyomo, solve_pyomo
from swapnet.optim.status import GAP_SLACK, SolveReport, SolveStatus, proven, rel_gap

__all__ = [
    "GAP_SLACK",
    "MAX_MAGNITUDE",
    "LinearModel",
    "Solution",
    "SolveOptions",
    "SolveReport",
    "SolveStatus",
    "VarBlock",
    "new_highs",
    "proven",
    "rel_gap",
    "solve_pyomo",
]

INF = np.inf


@dataclass
class LinearModel:
    """A linear (mixed-integer) model built from vectorised blocks.

    Parameters
    ----------
    name
        Model name.
    sense
        ``"min"`` or ``"max"``.
    """

    name: str = "model"
    sense: str = "min"
    _lb: list[NDArray[np.float64]] = field(default_factory=list, repr=False)
    _ub: list[NDArray[np.float64]] = field(default_factory=list, repr=False)
    _cost: list[NDArray[np.float64]] = field(default_factory=list, repr=False)
    _int: list[NDArray[np.bool_]] = field(default_factory=list, repr=False)
    _blocks: dict[str, VarBlock] = field(default_factory=dict, repr=False)
    _families: dict[str, _Family] = field(default_factory=dict, repr=False)
    _rows: list[NDArray[np.int64]] = field(default_factory=list, repr=False)
    _cols: list[NDArray[np.int64]] = field(default_factory=list, repr=False)
    _vals: list[NDArray[np.float64]] = field(default_factory=list, repr=False)
    _rlo: list[NDArray[np.float64]] = field(default_factory=list, repr=False)
    _rhi: list[NDArray[np.float64]] = field(default_factory=list, repr=False)
    n_cols: int = 0
    n_rows: int = 0
    offset: float = 0.0
    created: float = field(default_factory=time.perf_counter, repr=False)

    def __post_init__(self) -> None:
        if self.sense not in ("min", "max"):
            raise InvalidInputError("sense", self.sense, "must be 'min' or 'max'")

    # ---------------------------------------------------------------- variables
    def add_vars(
        self,
        name: str,
        shape: int | tuple[int, ...],
        *,
        lb: ArrayLike = 0.0,
        ub: ArrayLike = INF,
        cost: ArrayLike = 0.0,
        integer: bool = False,
        binary: bool = False,
    ) -> VarBlock:
        """Add a block of variables; bounds and costs broadcast to ``shape``."""
        if name in self._blocks:
            raise InvalidInputError("name", name, "variable block already exists")
        shp = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(k) for k in shape)
        size = int(np.prod(shp, dtype=np.int64))
        if binary:
            integer = True
            lb, ub = (
                np.maximum(np.broadcast_to(np.asarray(lb, float), shp), 0.0),
                np.minimum(np.broadcast_to(np.asarray(ub, float), shp), 1.0),
            )
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), shp).ravel().copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), shp).ravel().copy())
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), shp).ravel().copy())
        self._int.append(np.full(size, integer))
        blk = VarBlock(name, self.n_cols, shp, integer)
        self._blocks[name] = blk
        self.n_cols += size
        return blk

    def block(self, name: str) -> VarBlock:
        """The variable block called ``name``."""
        return self._blocks[name]

    @property
    def blocks(self) -> dict[str, VarBlock]:
        """All variable blocks by name."""
        return dict(self._blocks)

    def set_bounds(self, cols: ArrayLike, *, lb: ArrayLike | None = None, ub: ArrayLike | None = None) -> None:
        """Change the bounds of columns ``cols`` (e.g. to fix variables: ``lb = ub = value``)."""
        idx = np.asarray(cols, dtype=np.int64).ravel()
        if lb is not None:
            lo = np.concatenate(self._lb) if len(self._lb) != 1 else self._lb[0]
            lo[idx] = np.broadcast_to(np.asarray(lb, dtype=np.float64).ravel() if np.ndim(lb) else lb, idx.shape)
            self._lb = [lo]
        if ub is not None:
            hi = np.concatenate(self._ub) if len(self._ub) != 1 else self._ub[0]
            hi[idx] = np.broadcast_to(np.asarray(ub, dtype=np.float64).ravel() if np.ndim(ub) else ub, idx.shape)
            self._ub = [hi]

    def set_cost(self, cols: ArrayLike, cost: ArrayLike) -> None:
        """Add ``cost`` to the objective coefficients of columns ``cols``."""
        c = np.concatenate(self._cost) if len(self._cost) > 1 else self._cost[0]
        np.add.at(c, np.asarray(cols, dtype=np.int64).ravel(), np.asarray(cost, dtype=np.float64).ravel())
        self._cost = [c]

    # -------------------------------------------------------------- constraints
    def add_constraints(
        self,
        name: str,
        *,
        rows: ArrayLike,
        cols: ArrayLike,
        vals: ArrayLike,
        lo: ArrayLike = -INF,
        hi: ArrayLike = INF,
        n: int | None = None,
    ) -> range:
        """Add a family of constraints ``lo <= A x <= hi`` from triplets.

        Parameters
        ----------
        name
            Family name (unique).
        rows
            Row index *within the family* of each nonzero (0-based).
        cols
            Global column index of each nonzero (from :attr:`VarBlock.index`).
        vals
            Coefficient of each nonzero (broadcast to ``rows``).
        lo, hi
            Row bounds, broadcast to the family's row count.
        n
            Number of rows (default ``max(rows) + 1``).

        Returns
        -------
        range
            Global row indices of the family.
        """
        if name in self._families:
            raise InvalidInputError("name", name, "constraint family already exists")
        r = np.asarray(rows, dtype=np.int64).ravel()
        nrows = int(r.max(initial=-1)) + 1 if n is None else int(n)
        self._append_entries(name, r, cols, vals, self.n_rows, nrows)
        self._rlo.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (nrows,)).copy())
        self._rhi.append(np.broadcast_to(np.asarray(hi, dtype=np.float64), (nrows,)).copy())
        fam = _Family(name, self.n_rows, nrows)
        self._families[name] = fam
        self.n_rows += nrows
        return range(fam.start, fam.start + nrows)

    def add_entries(self, name: str, *, rows: ArrayLike, cols: ArrayLike, vals: ArrayLike) -> None:
        """Add coefficients to rows of the existing family ``name`` (``rows`` within the family).

        Entries on the same row and column add up (as in :meth:`arrays`). Used to extend a model's
        rows with columns added after them, e.g. a relaxation that adds flows to built balances.
        """
        fam = self._families.get(name)
        if fam is None:
            raise InvalidInputError("name", name, f"no constraint family of that name; have {sorted(self._families)}")
        self._append_entries(name, np.asarray(rows, dtype=np.int64).ravel(), cols, vals, fam.start, fam.n)

    def _append_entries(
        self, name: str, r: NDArray[np.int64], cols: ArrayLike, vals: ArrayLike, start: int, nrows: int
    ) -> None:
        """Check triplets against ``nrows`` rows and the columns so far; store them from row ``start``."""
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.broadcast_to(np.asarray(vals, dtype=np.float64), r.shape).ravel()
        if r.shape != c.shape:
            raise InvalidInputError(f"{name}.cols", c.shape, f"needs one column per row entry ({r.shape})")
        if r.size and (r.min() < 0 or r.max() >= nrows):
            raise InvalidInputError(f"{name}.rows", int(r.max()), f"row index outside 0..{nrows - 1}")
        if c.size and (c.min() < 0 or c.max() >= self.n_cols):
            raise InvalidInputError(f"{name}.cols", int(c.max()), f"column index outside 0..{self.n_cols - 1}")
        if not np.isfinite(v).all():
            raise InvalidInputError(f"{name}.vals", "non-finite", "coefficients must be finite")
        self._rows.append(r + start)
        self._cols.append(c)
        self._vals.append(v.astype(np.float64, copy=True))

    @property
    def n_entries(self) -> int:
        """Number of constraint coefficients added so far (duplicates not yet summed)."""
        return int(sum(v.size for v in self._vals))

    def family_rows(self, name: str) -> range:
        """Global row indices of a constraint family."""
        f = self._families[name]
        return range(f.start, f.start + f.n)

    @property
    def families(self) -> tuple[str, ...]:
        """Names of the constraint families, in order."""
        return tuple(self._families)

    # ------------------------------------------------------------------ arrays
    def arrays(self) -> ModelArrays:
        """``(cost, lb, ub, integer, A (CSR), row_lo, row_hi)`` of the whole model."""
        cat = np.concatenate
        cost = cat(self._cost) if self._cost else np.zeros(0)
        lb = cat(self._lb) if self._lb else np.zeros(0)
        ub = cat(self._ub) if self._ub else np.zeros(0)
        integ = cat(self._int) if self._int else np.zeros(0, dtype=bool)
        if self._rows:
            A = sp.csr_matrix((cat(self._vals), (cat(self._rows), cat(self._cols))), shape=(self.n_rows, self.n_cols))
            A.sum_duplicates()
            rlo, rhi = cat(self._rlo), cat(self._rhi)
        else:
            A = sp.csr_matrix((0, self.n_cols))
            rlo = rhi = np.zeros(0)
        return cost, lb, ub, integ, A, rlo, rhi

    # ------------------------------------------------------------------- solve
    def solve(
        self,
        options: SolveOptions | None = None,
        *,
        start: NDArray[np.float64] | None = None,
        relax: bool = False,
        deadline: float | None = None,
        bound_target: float | None = None,
        on_solution: Callable[[NDArray[np.float64]], None] | None = None,
    ) -> Solution:
        """Solve with HiGHS.

        Parameters
        ----------
        options
            :class:`SolveOptions`.
        start
            A feasible solution to warm-start the MIP (full column vector).
        relax
            Solve the LP relaxation (integrality dropped).
        deadline
            Absolute :func:`time.perf_counter` time by which the solver must stop:
            HiGHS gets ``min(options.time_limit, deadline - now)`` measured just
            before it starts, so the time spent handing over the model counts.
        bound_target
            MIP only: solutions no better than ``bound_target`` are of no interest.
            HiGHS prunes every node that cannot beat it and stops as soon as its
            dual bound proves that none does. The returned bound is then the
            weaker of the dual bound and ``bound_target`` (``max`` of the two when
            maximising), valid for the whole model; when no solution beats the
            target and none was found, the status is ``NO_SOLUTION`` with
            ``bound = bound_target``.
        on_solution
            MIP only: called with the full column vector of every improving
            solution HiGHS finds.
        """
        import highspy

        opts = options or SolveOptions()
        t0 = time.perf_counter()
        cost, lb, ub, integ, A, rlo, rhi = self.arrays()
        if relax:
            integ = np.zeros_like(integ)
        _check_magnitudes(self.name, cost, lb, ub, A, rlo, rhi, self.offset)
        sign = 1.0 if self.sense == "min" else -1.0
        lp, sigma, rs = scaled_lp(cost, lb, ub, A, rlo, rhi, sign=sign, offset=self.offset)
        if integ.any():
            lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in integ]
        h = new_highs(log=opts.log)
        h.setOptionValue("random_seed", int(opts.seed))
        h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
        h.setOptionValue("mip_abs_gap", 0.0)  # the gap is relative only (objectives may be tiny)
        h.setOptionValue("presolve", "on" if opts.presolve else "off")
        if relax or not integ.any():
            h.setOptionValue("solver", opts.lp_method)
        if opts.time_limit is not None:
            h.setOptionValue("time_limit", float(opts.time_limit))
        _use_threads(h, opts.threads)
        for key, value in opts.highs_options.items():
            if h.setOptionValue(str(key), value) != highspy.HighsStatus.kOk:
                raise InvalidInputError(f"highs_options[{key!r}]", value, "is not a valid HiGHS option setting")
        h.passModel(lp)
        if start is not None and integ.any():
            hs = highspy.HighsSolution()
            hs.col_value = np.asarray(start, dtype=np.float64)
            hs.value_valid = True
            h.setSolution(hs)
        t1 = time.perf_counter()
        left = opts.time_limit
        if deadline is not None:
            left = max(deadline - t1, 1e-3) if left is None else min(max(deadline - t1, 1e-3), float(left))
            h.setOptionValue("time_limit", float(left))
        stop_dual = None
        if bound_target is not None and integ.any():
            target = float(bound_target) * (sign / sigma)  # in HiGHS's minimisation sense (offset included)

            def stop_dual(dual: float) -> bool:
                return dual >= target

            h.setOptionValue("objective_bound", target)  # prune every node that cannot beat the target

        hard_end = None if left is None else t1 + float(left) + _GRACE_ABS + _GRACE_REL * float(left)
        if hard_end is not None or stop_dual is not None or (on_solution is not None and integ.any()):
            _interrupt_after(h, hard_end, stop_dual, on_solution if integ.any() else None)
        h.run()
        t2 = time.perf_counter()
        sol = self._read(h, integ, build=t1 - t0, solve=t2 - t1, nnz=int(A.nnz), sigma=sigma, row_scale=rs)
        if stop_dual is not None and bound_target is not None:
            sol = _with_target(sol, float(bound_target))
        sol = _settle(sol, opts.mip_gap)
        if sol.x is not None and not _consistent(sol, cost, A, rlo, rhi, lb, ub, self.offset):
            if start is not None:
                # HiGHS 1.x can mis-map a MIP start through presolve (it then reports the objective of a
                # different point than the one it returns). Solve again from scratch.
                return self.solve(
                    options,
                    start=None,
                    relax=relax,
                    deadline=deadline,
                    bound_target=bound_target,
                    on_solution=on_solution,
                )
            raise SolverError(f"HiGHS returned an inconsistent solution for {self.name!r}")
        return sol

    def _read(
        self,
        h: Any,
        integ: NDArray[np.bool_],
        *,
        build: float,
        solve: float,
        nnz: int,
        sigma: float = 1.0,
        row_scale: NDArray[np.float64] | None = None,
    ) -> Solution:
        import highspy

        ms = h.getModelStatus()
        info = h.getInfo()
        S = highspy.HighsModelStatus
        mip = bool(integ.any())
        has_primal = info.primal_solution_status == 2  # kSolutionStatusFeasible
        sign = (1.0 if self.sense == "min" else -1.0) * sigma
        if ms == S.kOptimal:
            status = SolveStatus.OPTIMAL
        elif ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit, S.kSolutionLimit):
            status = SolveStatus.TIME_LIMIT if has_primal else SolveStatus.NO_SOLUTION
        elif ms == S.kInfeasible:
            status = SolveStatus.INFEASIBLE
        elif ms in (S.kUnbounded, S.kUnboundedOrInfeasible):
            status = SolveStatus.UNBOUNDED
        else:
            raise SolverError(f"HiGHS returned model status {h.modelStatusToString(ms)} for {self.name!r}")
        x = np.asarray(h.getSolution().col_value, dtype=np.float64) if status.has_solution else None
        obj = float(info.objective_function_value) * sign if status.has_solution else float("nan")
        if mip and status.has_solution:
            bound = float(info.mip_dual_bound) * sign
        elif status == SolveStatus.OPTIMAL:
            bound = obj
        else:
            bound = float("nan")
        gap = rel_gap(obj, bound) if status.has_solution else float("inf")
        if status == SolveStatus.OPTIMAL and not mip:
            gap = 0.0
        report = SolveReport(
            status=status,
            objective=obj,
            bound=bound,
            gap=gap,
            build_seconds=build,
            solve_seconds=solve,
            n_rows=self.n_rows,
            n_cols=self.n_cols,
            n_nonzeros=nnz,
            n_integer=int(integ.sum()),
        )
        if x is not None and mip:
            x = np.where(integ, np.round(x), x)
        col_dual = row_dual = None
        if not mip and status == SolveStatus.OPTIMAL:
            hs = h.getSolution()
            if hs.dual_valid:
                col_dual = np.asarray(hs.col_dual, dtype=np.float64) * sign
                row_dual = np.asarray(hs.row_dual, dtype=np.float64) * sign
                if row_scale is not None:
                    row_dual = row_dual / row_scale
        return Solution(report, x, self, col_dual, row_dual)

    # ------------------------------------------------------------------- pyomo
    def to_pyomo(self) -> Any:
        """The same model as a Pyomo ``ConcreteModel``.

        Each variable block becomes an indexed ``Var`` named like the block
        (indexed by flat position), each constraint family an indexed
        ``Constraint`` named like the family; the objective is ``obj``. Users
        can add their own components and solve with any Pyomo solver, e.g.
        ``pyomo.environ.SolverFactory("appsi_highs")``.
        """
        families = [(f.name, f.start, f.n) for f in self._families.values()]
        return build_pyomo(self.name, self.sense, self.offset, self.arrays(), self._blocks.values(), families)


@dataclass(frozen=True)
class Solution:
    """A solved :class:`LinearModel`: the report and the column values (``None`` without a solution).

    For LPs solved to optimality ``col_dual`` holds the reduced costs and
    ``row_dual`` the row duals, in the model's own sense (for a maximisation a
    column at its lower bound has a reduced cost <= 0: raising it by one unit
    lowers the optimum by at least ``-col_dual``); ``None`` otherwise.
    """

    report: SolveReport
    x: NDArray[np.float64] | None
    model: LinearModel
    col_dual: NDArray[np.float64] | None = None
    row_dual: NDArray[np.float64] | None = None

    @property
    def status(self) -> SolveStatus:
        """Shortcut for ``report.status``."""
        return self.report.status

    @property
    def objective(self) -> float:
        """Shortcut for ``report.objective``."""
        return self.report.objective

    def values(self, name: str) -> NDArray[np.float64]:
        """Values of variable block ``name``."""
        if self.x is None:
            raise SolverError(f"no solution available (status {self.report.status.value})")
        return self.model.block(name).values(self.x)


def _consistent(
    sol: Solution,
    cost: NDArray[np.float64],
    A: sp.csr_matrix,
    rlo: NDArray[np.float64],
    rhi: NDArray[np.float64],
    lb: NDArray[np.float64],
    ub: NDArray[np.float64],
    offset: float,
) -> bool:
    """Whether the returned point is feasible and has the reported objective (independent of the solver)."""
    x = sol.x
    assert x is not None
    xmax = max(1.0, float(np.abs(x).max(initial=0.0)))
    tol = 1e-6 * xmax
    ax = A @ x
    # row tolerances relative to the row's own magnitude (its largest |a_ij| |x_j|), not absolute
    mag = abs(A) @ np.abs(x)
    top = np.zeros(A.shape[0])
    if A.nnz:
        np.maximum.at(top, np.repeat(np.arange(A.shape[0]), np.diff(A.indptr)), np.abs(A.data))
    rtol = 1e-6 * np.maximum(np.maximum(mag, np.abs(ax)), top * xmax)
    rtol[top == 0] = tol
    if (ax < rlo - rtol).any() or (ax > rhi + rtol).any():
        return False
    if (x < lb - tol).any() or (x > ub + tol).any():
        return False
    obj = float(cost @ x) + offset
    rep = sol.report.objective
    size = float(np.abs(cost) @ np.abs(x)) + abs(offset)
    return abs(obj - rep) <= 1e-6 * max(abs(obj), abs(rep)) + 1e-12 * size


def _with_target(sol: Solution, target: float) -> Solution:
    """The bound of a MIP run pruned at ``target``: no better than the target (nodes were cut off there)."""
    r = sol.report
    if r.status == SolveStatus.INFEASIBLE:  # every node pruned, no solution found: nothing beats the target
        report = SolveReport(**{**r.__dict__, "status": SolveStatus.NO_SOLUTION, "bound": target})
        return Solution(report, None, sol.model)
    if not np.isfinite(r.bound):
        return sol
    bound = max(r.bound, target) if sol.model.sense == "max" else min(r.bound, target)
    gap = rel_gap(r.objective, bound) if r.status.has_solution else float("inf")
    report = SolveReport(**{**r.__dict__, "bound": bound, "gap": gap})
    return Solution(report, sol.x, sol.model, sol.col_dual, sol.row_dual)


def _settle(sol: Solution, mip_gap: float) -> Solution:
    """Check the solver's status against its bound: ``OPTIMAL`` stays only when the bound proves it."""
    r = sol.report
    if r.status != SolveStatus.OPTIMAL or r.n_integer == 0:
        return sol
    if proven(r.objective, r.bound, mip_gap, sol.model.sense):
        return sol
    report = SolveReport(**{**r.__dict__, "status": SolveStatus.FEASIBLE})
    return Solution(report, sol.x, sol.model, sol.col_dual, sol.row_dual)
