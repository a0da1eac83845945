"""HiGHS plumbing: a silent instance, the thread scheduler, a hard stop, magnitude checks and exact scaling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from swapnet.errors import InvalidInputError

__all__ = ["MAX_MAGNITUDE", "new_highs", "scaled_lp"]


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


def _interrupt_after(
    h: Any,
    hard_end: float | None,
    stop_dual: Callable[[float], bool] | None = None,
    on_solution: Callable[[NDArray[np.float64]], None] | None = None,
) -> None:
    """Make HiGHS's simplex, IPM and MIP interrupt callbacks stop the run after ``hard_end`` (perf_counter).

    ``stop_dual`` (given HiGHS's own MIP dual bound, in its minimisation sense) also stops the MIP when it
    returns true; ``on_solution`` receives the column values of every improving MIP solution.
    """
    try:
        from highspy import cb
    except ImportError:  # pragma: no cover - old highspy without callbacks
        return
    T = cb.HighsCallbackType

    def callback(kind: Any, _message: str, data_out: Any, data_in: Any, _user: Any) -> None:
        if kind == T.kCallbackMipImprovingSolution:
            if on_solution is not None and data_out is not None:
                on_solution(np.array(data_out.mip_solution, dtype=np.float64))
            return
        if data_in is None:
            return
        if (hard_end is not None and time.perf_counter() > hard_end) or (
            stop_dual is not None
            and kind == T.kCallbackMipInterrupt
            and data_out is not None
            and stop_dual(float(data_out.mip_dual_bound))
        ):
            data_in.user_interrupt = True

    try:
        h.setCallback(callback, None)
        for kind in (T.kCallbackSimplexInterrupt, T.kCallbackIpmInterrupt, T.kCallbackMipInterrupt):
            h.startCallback(kind)
        if on_solution is not None:
            h.startCallback(T.kCallbackMipImprovingSolution)
    except (AttributeError, TypeError):  # pragma: no cover - highspy without core callbacks
        return


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


def scaled_lp(
    cost: NDArray[np.float64],
    lb: NDArray[np.float64],
    ub: NDArray[np.float64],
    A: sp.csr_matrix,
    rlo: NDArray[np.float64],
    rhi: NDArray[np.float64],
    *,
    sign: float = 1.0,
    offset: float = 0.0,
) -> tuple[Any, float, NDArray[np.float64]]:
    """A ``highspy.HighsLp`` of ``min sign * cost @ x + offset`` with the objective and rows scaled exactly.

    HiGHS's tolerances are absolute (feasibility 1e-7, dual 1e-7, MIP gap 1e-6): the objective is divided
    by ``sigma`` and each badly scaled row by its power of two ``rs`` so that they act as relative ones.
    Returns ``(lp, sigma, rs)``: objective values come back as ``value * sigma``, row duals as
    ``dual * sigma / rs``.
    """
    import highspy

    sigma = _objective_scale(cost)
    rs = _row_scales(A)
    As = sp.diags(1.0 / rs) @ A if (rs != 1.0).any() else A
    csc = sp.csc_matrix(As)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = cost.size, rlo.size
    lp.col_cost_ = cost * (sign / sigma)
    lp.col_lower_, lp.col_upper_ = lb, ub
    lp.row_lower_, lp.row_upper_ = rlo / rs, rhi / rs
    lp.offset_ = offset * (sign / sigma)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data
    return lp, sigma, rs
