r"""Persistent scenario LPs of the later years: one HiGHS instance per scenario, kept in worker processes.

The decomposition's bound (:mod:`~swapnet.siting.rollout.benders`) needs, many times, each
scenario's LP relaxation of the years after the shared ones, :math:`Q_s(z)`, as a function of the
states :math:`z = (Y, B, C)` of the last shared year (they enter as the lower bounds of the next
year's states, and in that year's budget). A cold solve of one benchmark scenario takes seconds;
kept in one HiGHS instance, a re-solve after changing those bounds starts the dual simplex from
the last basis and takes a fraction of that. :class:`ScenarioLP` is one such instance,
:class:`LPPool` spreads the scenarios over ``workers`` processes, each keeping its own instances
for the whole bound phase (one in-process group when processes are not allowed).

**Safe value-function cuts.** For any row multipliers :math:`y` (signs clipped to the rows' senses:
:math:`y_i \ge 0` where only :math:`\ell_i` is finite, :math:`\le 0` where only :math:`h_i` is)
and reduced costs :math:`d = c - A^\top y`, every feasible point has

.. math::

    c^\top x = y^\top A x + d^\top x \ \ge\ \sum_i \min(y_i \ell_i, y_i h_i)
        + \sum_j \min(d_j \underline x_j, d_j \bar x_j),

with :math:`\bar x` the column bounds, made finite for the flows by the implied
:math:`x_{tgj} \le H_{tg}`, :math:`u_{tg} \le H_{tg}` (every swap is served or lost). The first
later year's states have :math:`\underline x_j = z_j` and the budget row :math:`h = W + \text{price}^\top z`,
so the right-hand side is affine in :math:`z` (a state term is :math:`d_j z_j` for :math:`d_j > 0`,
else :math:`d_j \bar x_j`): an affine minorant of :math:`Q_s` **whatever the accuracy of**
:math:`y`, which touches :math:`Q_s` at the point solved when :math:`y` is optimal there.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.optim._highs import _use_threads, new_highs, scaled_lp
from swapnet.siting.rollout.heuristic import workers_for
from swapnet.siting.rollout.instance import RolloutInstance
from swapnet.siting.rollout.model import build_model

__all__ = ["LPOut", "LPPool", "ScenarioLP", "run_time", "stop_after"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LPOut:
    """One later-years LP solve: ``ok`` (optimal), its value :math:`Q_s(z)` and the safe cut.

    The cut is :math:`Q_s(z') \\ge` ``const`` + ``grad`` . z' for every last-shared-year state
    z' (``grad`` (3, m)); ``const`` is ``nan`` when the solve gave no duals.
    """

    scenario: int
    ok: bool
    value: float
    const: float
    grad: FloatArray
    seconds: float


class ScenarioLP:
    """The LP of one scenario's later years (a one-scenario instance of years ``k+1..T``) in a persistent HiGHS."""

    def __init__(self, sub: RolloutInstance, k: int, scenario: int) -> None:

        rm = build_model(sub)
        cost, lb, ub, _, A, rlo, rhi = rm.lm.arrays()
        self.scenario, self.k, self.m = scenario, k, sub.m
        self.offset = float(rm.lm.offset)
        self.cost, self.lb, self.ub, self.A, self.rlo, self.rhi = cost, lb, ub, A.tocsr(), rlo, rhi
        self.zcols = np.concatenate([blk.index[0] for blk in (rm.Y, rm.B, rm.C)]).astype(np.int32)
        self.prices = np.concatenate([sub.site_cash, np.full(sub.m, sub.battery_cash),
                                      np.full(sub.m, sub.charger_cash)])  # fmt: skip
        self.budget_row = -1 if sub.budget is None else int(rm.lm.family_rows("budget")[0])
        self.budget = 0.0 if sub.budget is None else float(sub.budget[0])
        # implied finite bounds of the flows (every swap is served or lost) for the safe cut
        H = sub.H.reshape(sub.S * sub.T, -1)
        self.ub_safe = ub.copy()
        xi, ui = rm.x.index.ravel(), rm.u.index.ravel()
        self.ub_safe[xi] = np.minimum(self.ub_safe[xi], H[:, sub.pair_g].ravel())
        self.ub_safe[ui] = np.minimum(self.ub_safe[ui], H.ravel())
        lp, self.sigma, self.rs = scaled_lp(cost, lb, ub, self.A, rlo, rhi)
        h = new_highs()
        h.setOptionValue("solver", "simplex")
        h.passModel(lp)
        self._end = [float("inf")]
        stop_after(h, self._end)
        self.h = h

    def solve(self, z: FloatArray, seconds: float | None) -> LPOut:
        """:math:`Q_s(z)` and its safe cut, ``z`` the last shared year's states (3, m), within ``seconds``."""
        import highspy

        t0 = time.perf_counter()
        h, zc, n = self.h, self.zcols, self.zcols.size
        zl = np.clip(np.asarray(z, dtype=np.float64).ravel(), self.lb[zc], self.ub[zc])
        lb = self.lb.copy()
        lb[zc] = zl
        h.changeColsBounds(n, zc, zl, self.ub[zc])
        rhi = self.rhi
        if self.budget_row >= 0:
            rhi = self.rhi.copy()
            rhi[self.budget_row] = self.budget + float(self.prices @ zl)
            r = self.budget_row
            h.changeRowsBounds(1, np.array([r], dtype=np.int32), np.array([self.rlo[r] / self.rs[r]]),
                               np.array([rhi[r] / self.rs[r]]))  # fmt: skip
        limit = 1e9 if seconds is None else max(float(seconds), 1e-3)
        h.setOptionValue("time_limit", run_time(h) + limit)  # HiGHS's clock runs over all runs of an instance
        self._end[0] = t0 + limit * 1.05 + 0.5
        _use_threads(h, 1)  # one thread; resets the process-wide scheduler if another solve changed it
        h.run()
        zero = np.zeros((3, self.m))
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return LPOut(self.scenario, False, float("nan"), float("nan"), zero, time.perf_counter() - t0)
        sol = h.getSolution()
        value = float(h.getInfo().objective_function_value) * self.sigma + self.offset
        const, grad = float("nan"), zero
        if sol.dual_valid:
            const, g = self.cut(np.asarray(sol.row_dual, dtype=np.float64) * self.sigma / self.rs, zl)
            grad = g.reshape(3, self.m)
        return LPOut(self.scenario, True, value, const, grad, time.perf_counter() - t0)

    def cut(self, y: FloatArray, z: FloatArray) -> tuple[float, FloatArray]:
        """``(const, grad)`` of the safe cut of row multipliers ``y`` (see the module docstring); ``z`` flat (3m,)."""
        lo_inf, hi_inf = np.isinf(self.rlo), np.isinf(self.rhi)
        y = np.where(hi_inf, np.maximum(y, 0.0), y)
        y = np.where(lo_inf, np.minimum(y, 0.0), y)
        rhi = self.rhi.copy()
        grad = np.zeros(self.zcols.size)
        if self.budget_row >= 0:  # h = W + price . z: the row's term y h is affine in z
            r = self.budget_row
            rhi[r] = self.budget
            grad += y[r] * self.prices if y[r] < 0 else 0.0
        rows = np.where(y > 0, y * np.where(lo_inf, 0.0, self.rlo), y * np.where(hi_inf, 0.0, rhi))
        d = self.cost - self.A.T @ y
        lb = self.lb.copy()
        lb[self.zcols] = 0.0  # the states' part d_j z_j is in grad
        cols = np.where(d > 0, d * lb, d * self.ub_safe)
        dz = d[self.zcols]
        grad += np.maximum(dz, 0.0)
        const = float(rows.sum() + cols.sum()) + self.offset
        del z
        return (const if np.isfinite(const) else float("nan")), grad


def run_time(h: Any) -> float:
    """Seconds HiGHS instance ``h`` has run so far (its ``time_limit`` counts them all)."""
    get = getattr(h, "getRunTime", None)
    return float(get()) if get is not None else 0.0


def stop_after(h: Any, end: list[float]) -> None:
    """An interrupt callback stopping any run of ``h`` past ``end[0]`` (HiGHS checks its own limit rarely)."""
    try:
        from highspy import cb
    except ImportError:  # pragma: no cover - old highspy
        return

    def callback(_type: Any, _message: str, _out: Any, data_in: Any, _user: Any) -> None:
        if data_in is not None and time.perf_counter() > end[0]:
            data_in.user_interrupt = True

    try:
        h.setCallback(callback, None)
        h.startCallback(cb.HighsCallbackType.kCallbackSimplexInterrupt)
    except (AttributeError, TypeError):  # pragma: no cover - highspy without core callbacks
        return


def _serve(conn: Any, subs: list[tuple[int, RolloutInstance]], k: int) -> None:
    """A worker process: build its scenarios' LPs, then answer ``(points, wall_end)`` requests until ``None``."""
    lps = {s: ScenarioLP(sub, k, s) for s, sub in subs}
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            break
        try:
            conn.send(_solve_group(lps, *msg))
        except Exception as err:  # handed to the parent, which re-raises it
            conn.send(err)
    conn.close()


def _solve_group(lps: dict[int, ScenarioLP], points: dict[int, FloatArray], wall_end: float | None) -> list[LPOut]:
    """Each scenario of ``points`` solved in turn, each with the time left to ``wall_end`` (``time.time()``)."""
    out = []
    for s, z in points.items():
        secs = None if wall_end is None else max(wall_end - time.time(), 1e-3)
        out.append(lps[s].solve(z, secs))
    return out


class LPPool:
    """Every scenario's :class:`ScenarioLP` (years ``k+1..T``), over worker processes (``threads``) or in process.

    Use as a context manager (the workers stop on exit).
    """

    def __init__(self, inst: RolloutInstance, k: int, threads: int | None) -> None:
        from swapnet.optim import SolveOptions

        S = inst.S
        w = workers_for(SolveOptions(threads=threads), S)
        self.groups = [list(range(i, S, w)) for i in range(w)]
        later = list(range(k, inst.T))
        subs = [inst.restrict([s], later) for s in range(S)]
        self.local: dict[int, ScenarioLP] = {}
        self.procs: list[tuple[Any, Any]] = []
        self._pending: tuple[dict[int, FloatArray], float | None] = ({}, None)
        if w == 1:
            self.local = {s: ScenarioLP(subs[s], k, s) for s in range(S)}
            return
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        for g in self.groups:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_serve, args=(child, [(s, subs[s]) for s in g], k), daemon=True)  # type: ignore[attr-defined]
            p.start()
            child.close()
            self.procs.append((p, parent))
        for _, conn in self.procs:
            ready = conn.recv()
            if isinstance(ready, Exception):
                raise ready

    def solve(self, points: dict[int, FloatArray], deadline: float | None) -> dict[int, LPOut]:
        """:math:`Q_s` of every scenario in ``points`` (its last-shared-year states (3, m)) by ``deadline``."""
        self.submit(points, deadline)
        return self.collect()

    def submit(self, points: dict[int, FloatArray], deadline: float | None) -> None:
        """Start :meth:`solve` in the workers (the caller may work meanwhile; then :meth:`collect`)."""
        wall_end = None if deadline is None else time.time() + max(deadline - time.perf_counter(), 0.0)
        self._pending = (points, wall_end)
        if self.local:
            return
        for g, (_, conn) in zip(self.groups, self.procs, strict=True):
            conn.send(({s: points[s] for s in g if s in points}, wall_end))

    def collect(self) -> dict[int, LPOut]:
        """The results of the last :meth:`submit` (solved here and now without workers)."""
        points, wall_end = self._pending
        if self.local:
            return {r.scenario: r for r in _solve_group(self.local, points, wall_end)}
        out: dict[int, LPOut] = {}
        for _, conn in self.procs:
            res = conn.recv()
            if isinstance(res, Exception):
                raise res
            out.update({r.scenario: r for r in res})
        return out

    def close(self) -> None:
        """Stop the workers."""
        for p, conn in self.procs:
            with contextlib.suppress(OSError, BrokenPipeError):
                conn.send(None)
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        self.procs = []
        self.local = {}

    def __enter__(self) -> LPPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
