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

import enum
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet import _validate as _v
from swapnet.errors import InvalidInputError, SolverError

__all__ = ["LinearModel", "SolveOptions", "SolveReport", "SolveStatus", "VarBlock"]

INF = np.inf


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
class SolveOptions:
    """Solver options.

    Attributes
    ----------
    time_limit
        Wall-clock budget in seconds (``None``: no limit). :meth:`LinearModel.solve`
        gives it to HiGHS; the siting models treat it as a budget for the *whole*
        call (heuristics, bounds, every solve) and report ``TIME_LIMIT`` with the
        gap when it runs out.
    mip_gap
        Relative optimality gap at which a MIP counts as solved (HiGHS's and
        Gurobi's default, 1e-4; use 0 to close the gap completely).
    threads
        Solver threads (``None``: the solver's default).
    seed
        Random seed passed to the solver.
    log
        Print the solver log to the console.
    presolve
        Let the solver presolve.
    lp_method
        HiGHS LP algorithm for LPs: ``"choose"``, ``"simplex"``, ``"ipm"`` or ``"pdlp"``.
    highs_options
        Further HiGHS options by name (e.g. ``{"mip_heuristic_effort": 0.2}``), set last.
    """

    time_limit: float | None = None
    mip_gap: float = 1e-4
    threads: int | None = None
    seed: int = 0
    log: bool = False
    presolve: bool = True
    lp_method: str = "choose"
    highs_options: Mapping[str, bool | int | float | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time_limit is not None:
            object.__setattr__(self, "time_limit", _v.positive(self.time_limit, "time_limit"))
        object.__setattr__(self, "mip_gap", _v.real(self.mip_gap, "mip_gap", lo=0.0, hi=1.0, hi_open=True))
        _v.choice(self.lp_method, "lp_method", ("choose", "simplex", "ipm", "pdlp"))
        if self.threads is not None:
            object.__setattr__(self, "threads", _v.integer(self.threads, "threads", minimum=1))
        object.__setattr__(self, "seed", _v.integer(self.seed, "seed", minimum=0))
        _v.boolean(self.log, "log")
        _v.boolean(self.presolve, "presolve")
        if not isinstance(self.highs_options, Mapping):
            raise InvalidInputError("highs_options", self.highs_options, "must be a mapping of HiGHS option names")
        if self.highs_options:
            _check_highs_options(self.highs_options)


def _check_highs_options(options: Mapping[str, object]) -> None:
    """Refuse unknown HiGHS option names and invalid values up front, whichever model uses them."""
    import highspy

    h = new_highs()
    for key, value in options.items():
        if not isinstance(key, str):
            raise InvalidInputError("highs_options", key, "option names must be strings")
        try:
            status = h.getOptionValue(key)
            known = status[0] == highspy.HighsStatus.kOk if isinstance(status, tuple) else True
        except Exception:
            known = False
        if not known:
            raise InvalidInputError(f"highs_options[{key!r}]", value, "is not a HiGHS option")
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise InvalidInputError(f"highs_options[{key!r}]", value, "is not a valid value for this HiGHS option")


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


@dataclass(frozen=True)
class VarBlock:
    """A named block of variables occupying columns ``start .. start + size - 1``."""

    name: str
    start: int
    shape: tuple[int, ...]
    integer: bool

    @property
    def size(self) -> int:
        """Number of variables in the block."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def index(self) -> NDArray[np.int64]:
        """Column indices, shaped like the block."""
        return np.arange(self.start, self.start + self.size, dtype=np.int64).reshape(self.shape)

    def values(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """This block's values from a full solution vector, shaped like the block."""
        return x[self.start : self.start + self.size].reshape(self.shape)


@dataclass
class _Family:
    name: str
    start: int
    n: int


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
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.broadcast_to(np.asarray(vals, dtype=np.float64), r.shape).ravel()
        if r.shape != c.shape:
            raise InvalidInputError(f"{name}.cols", c.shape, f"needs one column per row entry ({r.shape})")
        nrows = int(r.max(initial=-1)) + 1 if n is None else int(n)
        if r.size and (r.min() < 0 or r.max() >= nrows):
            raise InvalidInputError(f"{name}.rows", int(r.max()), f"row index outside 0..{nrows - 1}")
        if c.size and (c.min() < 0 or c.max() >= self.n_cols):
            raise InvalidInputError(f"{name}.cols", int(c.max()), f"column index outside 0..{self.n_cols - 1}")
        if not np.isfinite(v).all():
            raise InvalidInputError(f"{name}.vals", "non-finite", "coefficients must be finite")
        self._rows.append(r + self.n_rows)
        self._cols.append(c)
        self._vals.append(v.astype(np.float64, copy=True))
        self._rlo.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (nrows,)).copy())
        self._rhi.append(np.broadcast_to(np.asarray(hi, dtype=np.float64), (nrows,)).copy())
        fam = _Family(name, self.n_rows, nrows)
        self._families[name] = fam
        self.n_rows += nrows
        return range(fam.start, fam.start + nrows)

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
    def arrays(
        self,
    ) -> tuple[
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.bool_],
        sp.csr_matrix,
        NDArray[np.float64],
        NDArray[np.float64],
    ]:
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
        """
        import highspy

        opts = options or SolveOptions()
        t0 = time.perf_counter()
        cost, lb, ub, integ, A, rlo, rhi = self.arrays()
        if relax:
            integ = np.zeros_like(integ)
        _check_magnitudes(self.name, cost, lb, ub, A, rlo, rhi, self.offset)
        # HiGHS's tolerances are absolute (feasibility 1e-7, dual 1e-7, MIP gap 1e-6): scale the
        # objective and badly scaled rows by powers of two (exact) so that they act as relative ones
        sigma = _objective_scale(cost)
        rs = _row_scales(A)
        As = sp.diags(1.0 / rs) @ A if (rs != 1.0).any() else A
        csc = sp.csc_matrix(As)
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        sign = 1.0 if self.sense == "min" else -1.0
        lp.col_cost_ = cost * (sign / sigma)
        lp.col_lower_ = lb
        lp.col_upper_ = ub
        lp.row_lower_ = rlo / rs
        lp.row_upper_ = rhi / rs
        lp.offset_ = self.offset * (sign / sigma)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data
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
        if left is not None:
            _interrupt_after(h, t1 + float(left) + _GRACE_ABS + _GRACE_REL * float(left))
        h.run()
        t2 = time.perf_counter()
        sol = self._read(h, integ, build=t1 - t0, solve=t2 - t1, nnz=int(A.nnz), sigma=sigma, row_scale=rs)
        sol = _settle(sol, opts.mip_gap)
        if sol.x is not None and not _consistent(sol, cost, A, rlo, rhi, lb, ub, self.offset):
            if start is not None:
                # HiGHS 1.x can mis-map a MIP start through presolve (it then reports the objective of a
                # different point than the one it returns). Solve again from scratch.
                return self.solve(options, start=None, relax=relax, deadline=deadline)
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
        gap = _rel_gap(obj, bound) if status.has_solution else float("inf")
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
        import pyomo.environ as pyo

        cost, lb, ub, _, A, rlo, rhi = self.arrays()
        m = pyo.ConcreteModel(name=self.name)
        col_var: list[Any] = [None] * self.n_cols
        for blk in self._blocks.values():
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
        expr = sum(float(cost[j]) * col_var[j] for j in nz) + self.offset
        m.obj = pyo.Objective(expr=expr, sense=pyo.minimize if self.sense == "min" else pyo.maximize)
        indptr, indices, data = A.indptr, A.indices, A.data
        for fam in self._families.values():
            rows = range(fam.start, fam.start + fam.n)

            def rule(_m: Any, k: int, start: int = fam.start) -> Any:
                r = start + k
                body = sum(float(data[p]) * col_var[indices[p]] for p in range(indptr[r], indptr[r + 1]))
                lo = float(rlo[r]) if np.isfinite(rlo[r]) else None
                hi = float(rhi[r]) if np.isfinite(rhi[r]) else None
                if indptr[r] == indptr[r + 1]:
                    return pyo.Constraint.Skip
                if lo is not None and hi is not None and lo == hi:
                    return body == lo
                return pyo.inequality(lo, body, hi)

            m.add_component(fam.name, pyo.Constraint(range(len(rows)), rule=rule))
        return m


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


def new_highs(*, log: bool = False) -> Any:
    """A fresh HiGHS instance with its output switched on or off *before* anything is printed.

    highspy's ``Highs()`` wrapper prints the "Running HiGHS ..." banner while it is
    constructed (it registers callbacks), whatever ``output_flag`` is set to later;
    the bare core class ``_Highs`` prints nothing until ``run()``, which respects
    ``output_flag``. The core class is used when available (it has every method
    used here), else the wrapper.
    """
    import highspy

    cls = getattr(highspy, "_Highs", None) or highspy.Highs
    h = cls()
    h.setOptionValue("output_flag", bool(log))
    return h


_scheduler_threads: list[int | None] = []
"""Thread count of the process's HiGHS scheduler once a model has run (empty before)."""


def _use_threads(h: Any, threads: int | None) -> None:
    """Set HiGHS's ``threads`` option, restarting its process-wide scheduler when the count changes.

    HiGHS starts one task scheduler per process, sized by the first run's ``threads``; a later
    run asking for another count fails with model status "Not Set" unless the scheduler is reset.
    """
    import highspy

    if threads is not None:
        h.setOptionValue("threads", int(threads))
    if _scheduler_threads and _scheduler_threads[0] != threads:
        reset = getattr(highspy.Highs, "resetGlobalScheduler", None)
        if reset is not None:
            reset(True)
    _scheduler_threads[:] = [threads]


_GRACE_ABS = 0.5
_GRACE_REL = 0.02
"""HiGHS checks its own time limit only now and then (a large root LP or presolve can overrun it
by minutes); past ``limit + _GRACE_ABS + _GRACE_REL * limit`` an interrupt callback stops it."""


def _interrupt_after(h: Any, hard_end: float) -> None:
    """Make HiGHS's simplex, IPM and MIP interrupt callbacks stop the run after ``hard_end`` (perf_counter)."""
    try:
        from highspy import cb
    except ImportError:  # pragma: no cover - old highspy without callbacks
        return

    def callback(_type: Any, _message: str, _out: Any, data_in: Any, _user: Any) -> None:
        if data_in is not None and time.perf_counter() > hard_end:
            data_in.user_interrupt = True

    try:
        h.setCallback(callback, None)
        for kind in (
            cb.HighsCallbackType.kCallbackSimplexInterrupt,
            cb.HighsCallbackType.kCallbackIpmInterrupt,
            cb.HighsCallbackType.kCallbackMipInterrupt,
        ):
            h.startCallback(kind)
    except (AttributeError, TypeError):  # pragma: no cover - highspy without core callbacks
        return


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


def _rel_gap(obj: float, bound: float) -> float:
    return rel_gap(obj, bound)


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


def proven(obj: float, bound: float, mip_gap: float, sense: str = "min") -> bool:
    """Whether ``bound`` proves ``obj`` optimal within ``mip_gap`` (see :data:`GAP_SLACK`)."""
    if not (np.isfinite(obj) and np.isfinite(bound)):
        return False
    worse = obj - bound if sense == "min" else bound - obj
    return worse <= 0.0 or rel_gap(obj, bound) <= max(mip_gap, GAP_SLACK)


def _settle(sol: Solution, mip_gap: float) -> Solution:
    """Check the solver's status against its bound: ``OPTIMAL`` stays only when the bound proves it."""
    r = sol.report
    if r.status != SolveStatus.OPTIMAL or r.n_integer == 0:
        return sol
    if proven(r.objective, r.bound, mip_gap, sol.model.sense):
        return sol
    report = SolveReport(**{**r.__dict__, "status": SolveStatus.FEASIBLE})
    return Solution(report, sol.x, sol.model, sol.col_dual, sol.row_dual)


MAX_MAGNITUDE = 1e100
"""Largest finite coefficient, bound or cost a model may hold: beyond it sums overflow or lose all precision."""


def _check_magnitudes(
    name: str,
    cost: NDArray[np.float64],
    lb: NDArray[np.float64],
    ub: NDArray[np.float64],
    A: sp.csr_matrix,
    rlo: NDArray[np.float64],
    rhi: NDArray[np.float64],
    offset: float,
) -> None:
    for field_, arr in (("cost", cost), ("lb", lb), ("ub", ub), ("A", A.data), ("row_lo", rlo), ("row_hi", rhi)):
        a = np.abs(arr)
        bad = np.isfinite(a) & (a > MAX_MAGNITUDE)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"{name}.{field_}[{k}]", float(arr[k]), f"magnitude above {MAX_MAGNITUDE:g} cannot be solved safely"
            )
    if not np.isfinite(offset) or abs(offset) > MAX_MAGNITUDE:
        raise InvalidInputError(f"{name}.offset", offset, f"magnitude above {MAX_MAGNITUDE:g} cannot be solved safely")


_SCALE_LO, _SCALE_HI = 2.0**-10, 2.0**20
"""Objectives and rows whose largest coefficient lies in this range are passed to HiGHS unscaled (keeps
integer objectives integer, which HiGHS exploits); outside it they are scaled to a largest entry near 1."""


def _pow2(x: float) -> float:
    return float(2.0 ** np.round(np.log2(x)))


def _objective_scale(cost: NDArray[np.float64]) -> float:
    top = float(np.abs(cost).max(initial=0.0))
    if top == 0.0 or _SCALE_LO <= top <= _SCALE_HI:
        return 1.0
    return _pow2(top)


def _row_scales(A: sp.csr_matrix) -> NDArray[np.float64]:
    n = A.shape[0]
    if A.nnz == 0:
        return np.ones(n)
    top = np.zeros(n)
    np.maximum.at(top, np.repeat(np.arange(n), np.diff(A.indptr)), np.abs(A.data))
    out = np.ones(n)
    odd = (top > 0) & ((top < _SCALE_LO) | (top > _SCALE_HI))
    out[odd] = 2.0 ** np.round(np.log2(top[odd]))
    return out


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
