r"""One station's cheapest integer charge starts for given served swaps: an interval LP, integral by structure.

On a cyclic horizon without trucks a station's schedule is its integer charge starts :math:`n_t`;
given them, the swaps served and the packs in stock follow by an LP (the greedy's evaluation,
:func:`~swapnet.operations.heuristics.greedy_station`). The greedy places one charge at a time in a
window fixed by a first-in first-out pairing of packs and swaps; the MIP finds cheaper schedules by
charging many packs together at the cheapest prices, which that pairing forbids.

:func:`window_starts` keeps an incumbent's served swaps :math:`x_t`, with them its cumulative
served :math:`X(t) = \sum_{u \le t} x_u`, and, at a *cut* period (the day is read from there), its
packs charged :math:`F_{-1}` and depleted :math:`E_{-1}` and its last :math:`L` starts :math:`w`
(the charges running across the cut). The cumulative starts :math:`N(t) = \sum_{u \le t} n_u` must
then satisfy

* depleted packs: :math:`E_t = E_{-1} + X(t) - N(t) \ge 0`, i.e. :math:`N(t) \le \lfloor E_{-1} + X(t) \rfloor`;
* charged packs: :math:`F_t = F_{-1} + \sum w + N(t - L) - X(t) \ge 0` for :math:`t \ge L`;
* the day closes: :math:`N(T-1) = X(T-1)` (a whole number), the last :math:`L` starts are :math:`w`;
* at most :math:`m = \min(C, \lfloor G / p^{\max} \rfloor)` packs on charge in any period,
  :math:`\sum_{j<L} n_{t-j} \le m` (this implies the chargers' and the grid's rows, since a charge
  never draws more than :math:`p^{\max}`; it forgoes only the slack of a charge's weaker last period).

Every row is a sum over consecutive periods (an interval matrix, so totally unimodular) with an
integer right-hand side, hence every vertex of this LP is integral: its simplex optimum is the
cheapest integer schedule :math:`\sum_t c_t n_t` for those served swaps, without branching.
:func:`~swapnet.operations.heuristics.greedy_station` cuts the day at midnight and at noon in turn
(what one round keeps fixed at the cut, the next frees) and re-evaluates each schedule by the
station's own LP, so the result never costs more than the incumbent and is checked by the model.
"""

from __future__ import annotations

import numpy as np

from swapnet.operations.instance import FloatArray, _energy_cost, _Instance
from swapnet.optim import LinearModel, SolveOptions, SolveStatus

__all__ = ["window_applies", "window_starts"]

_EPS = 1e-7


def window_applies(one: _Instance) -> bool:
    """Whether :func:`window_starts` applies: one station on a cyclic horizon, no carried-over charges."""
    return one.N == 1 and one.cyclic and one.hist is None and one.T > 2 * int(one.L[0])


def window_starts(
    one: _Instance,
    start: FloatArray,
    served: FloatArray,
    charged: FloatArray,
    cut: int,
    seconds: float | None = None,
) -> FloatArray | None:
    """The cheapest integer starts ``(T,)`` serving ``served``, with the incumbent's state at period ``cut``.

    ``start``, ``served`` and ``charged`` are the incumbent's starts, swaps served and charged packs
    per period. Returns ``None`` when the incumbent serves a fractional number of swaps in all (no
    integer schedule matches it) or the LP finds nothing.
    """
    T = one.T
    L = int(one.L[0])
    r = int(cut) % T
    n0 = np.round(np.roll(start, -r))
    X = np.cumsum(np.roll(served, -r))
    total = round(float(X[-1]))
    if abs(total - X[-1]) > 1e-6 or total != round(float(n0.sum())):
        return None
    F_end = float(charged[(r - 1) % T])
    w = n0[T - L :]
    E_end = float(one.batteries[0]) - F_end - float(w.sum())
    cost = np.roll(_energy_cost(one)[0] + one.degradation * one.pack_kwh_in, -r)
    pmax = float(one.prof[0, :L].max())
    m = float(min(one.chargers[0], np.floor(float(one.grid[0]) / pmax + _EPS) if pmax > 0 else one.chargers[0]))
    hi = np.floor(E_end + X + _EPS)
    lo = np.full(T, -np.inf)
    lo[: T - L] = np.ceil(X[L:] - F_end - w.sum() - _EPS)
    lo[T - 1] = hi[T - 1] = total
    lb = np.zeros(T)
    lb[T - L :] = w

    def model(exact: bool) -> LinearModel:
        lm = LinearModel("station window")
        ub = np.full(T, float(one.chargers[0]) if exact else m)
        ub[T - L :] = w
        n = lm.add_vars("n", T, lb=lb, ub=ub, cost=cost, integer=exact)
        tri_r, tri_c = np.tril_indices(T)  # row t: the sum of n_u for u <= t
        lm.add_constraints("cumulative", rows=tri_r, cols=n.index[tri_c], vals=1.0, lo=lo, hi=hi, n=T)
        t_idx = np.repeat(np.arange(T), L)
        cols = n.index[(t_idx - np.tile(np.arange(L), T)) % T]
        lm.add_constraints("on_charge", rows=t_idx, cols=cols, vals=1.0, hi=float(one.chargers[0]) if exact else m, n=T)
        if exact:
            grid_w = np.tile(one.prof[0, :L], T)
            lm.add_constraints("grid", rows=t_idx, cols=cols, vals=grid_w, hi=float(one.grid[0]), n=T)
        return lm

    lm = model(False)
    sol = lm.solve(SolveOptions(), relax=True)
    if sol.status != SolveStatus.OPTIMAL or sol.x is None:
        return None
    x0 = np.round(sol.values("n"))
    if seconds is not None and seconds > 0:  # the exact rows (chargers and grid), from the interval optimum
        lm = model(True)
        exact = lm.solve(SolveOptions(time_limit=seconds, mip_gap=1e-4, threads=1), start=x0)
        if exact.x is not None and exact.objective <= sol.objective + 1e-9:
            x0 = np.round(exact.values("n"))
    return np.asarray(np.roll(x0, r), dtype=float)
