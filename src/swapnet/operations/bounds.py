r"""Lower bounds that cost little: every plan's gap is finite.

Three valid lower bounds, the best one is reported (with the MIP's own bound when it has one):

* **Floor** (:func:`floor_bound`): every cost term is non-negative and swaps above a station's bay
  capacity are lost whatever the plan, so :math:`\lambda \sum_{st} (d_{st} - \min(d_{st},
  \text{bays}_s))^+` bounds the optimum. Free and finite.
* **Pooled relaxation** (:func:`pooled_bound`): let trucks move packs between any stations at no
  cost, in no time, without limit. Then all stations with the same charging profile act as one
  station with the sum of their packs, chargers, grid connections and (bay-capped) demand: summing
  each family over the stations is a relaxation (the packs on the road are counted as held; grid
  rows of stations whose chargers cannot exceed their connection hold anyway, as a charge draws at
  most its first-period power). It is one station's MIP, solved in milliseconds, and valid with or
  without trucks; with several charging profiles it needs packs to change profile and is skipped.
* **LP relaxation** (:func:`lp_bound`): the root LP of the full model by interior point, within a
  capped share of the budget (``None`` when it does not finish).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from swapnet.operations._procs import processes_allowed
from swapnet.operations.formulation import build_model
from swapnet.operations.instance import _Instance
from swapnet.operations.station_cuts import add_cuts, full_view, separate_full, strengthen
from swapnet.optim import LinearModel, SolveOptions, SolveStatus

__all__ = ["floor_bound", "lp_bound", "pooled_bound", "pooled_instance"]


def floor_bound(inst: _Instance) -> float:
    """The penalty of the swaps no plan can serve (above the bays' capacity); a valid, finite bound."""
    over = inst.demand - np.minimum(inst.demand, inst.swap_cap[:, None])
    return inst.lost_penalty * float(over.sum())


def pooled_instance(inst: _Instance) -> _Instance | None:
    """The pooled relaxation as a one-station instance (``None`` with several charging profiles)."""
    if inst.N == 0 or not (np.all(inst.L == inst.L[0]) and np.allclose(inst.prof, inst.prof[0])):
        return None
    served = np.minimum(inst.demand, inst.swap_cap[:, None]).sum(axis=0, keepdims=True)
    total = float(inst.batteries.sum())
    F0 = float(inst.F0.sum()) + (0.0 if inst.fixed_f is None else float(inst.fixed_f.sum()))
    E0_st = inst.batteries - inst.F0 if inst.E0 is None else inst.E0
    E0 = float(E0_st.sum()) + (0.0 if inst.fixed_g is None else float(inst.fixed_g.sum()))
    return dataclasses.replace(
        inst,
        labels=("pool",),
        hub=np.zeros(1, dtype=bool),
        batteries=np.array([total]),
        chargers=np.array([float(inst.chargers.sum())]),
        grid=np.array([float(np.minimum(inst.grid, inst.chargers * inst.prof[:, 0]).sum())]),
        swap_cap=np.array([float(served.max(initial=0.0)) + 1.0]),
        demand=served,
        F0=np.array([F0]),
        E0=np.array([E0]),
        L=inst.L[:1],
        prof=inst.prof[:1],
        hist=None if inst.hist is None else inst.hist.sum(axis=0, keepdims=True),
        fixed_f=None,
        fixed_g=None,
        fixed_busy=None,
        fixed_road_end=0.0,
        pa=np.zeros(0, np.int64),
        pb=np.zeros(0, np.int64),
        theta=np.zeros(0, np.int64),
        round_trip=np.zeros(0, np.int64),
        km=np.zeros(0),
        deps=np.zeros(0, np.int64),
        fleet=None,
    )


def pooled_bound(inst: _Instance, options: SolveOptions, seconds: float) -> float:
    """Lower bound from the pooled relaxation (its MIP's bound within ``seconds``); ``-inf`` if none."""
    pool = pooled_instance(inst)
    if pool is None:
        return -np.inf
    opts = dataclasses.replace(options, time_limit=max(seconds, 0.05), mip_gap=1e-4, log=False)
    lm = build_model(pool)
    sol = lm.solve(opts)
    if sol.status == SolveStatus.INFEASIBLE:
        return -np.inf
    if np.isfinite(sol.report.bound):
        return float(sol.report.bound) + floor_bound(inst)
    lp = lm.solve(dataclasses.replace(opts, time_limit=None), relax=True)  # its LP: a few hundred columns
    return lp.objective + floor_bound(inst) if lp.status == SolveStatus.OPTIMAL else -np.inf


LP_TOLERANCE = 1e-7
"""Interior-point optimality tolerance of :func:`lp_bound` (no crossover: the bound is the objective
less this relative amount, which covers the primal-dual gap left at that tolerance)."""


def lp_bound(lm: LinearModel, options: SolveOptions, seconds: float | None) -> float | None:
    """The LP relaxation of ``lm`` by interior point within ``seconds``; ``None`` if it does not finish.

    Crossover (turning the interior point into a vertex) is skipped: only the value is needed.
    """
    return _lp_with_status(lm, options, seconds)[0]


def _lp_with_status(lm: LinearModel, options: SolveOptions, seconds: float | None) -> tuple[float | None, str]:
    """:func:`lp_bound` and a note on how it ended (the status and HiGHS's seconds)."""
    value, _x, note = _lp_point(lm, options, seconds)
    return value, note


LP_CUT_ROUNDS = 3
"""Rounds of interval cuts the background LP adds at its own optimum (each re-solve sends a bound)."""


def _lp_worker(inst: _Instance, options: SolveOptions, seconds: float | None, conn: Any) -> None:
    """Process body: the LP bound of ``inst``'s model, its seconds and a note, sent back through ``conn``.

    The model carries the stations' interval cuts (:func:`~swapnet.operations.station_cuts.strengthen`);
    after each solve the bound is sent (``final`` false), more cuts violated at the LP's optimum are
    added (:func:`~swapnet.operations.station_cuts.separate_full`) and the LP is solved again, until
    :data:`LP_CUT_ROUNDS`, no cut or the time is up; then the best bound is sent once more as final.
    """
    t0 = time.perf_counter()
    best: float | None = None
    note = "not solved"
    try:
        try:
            lm = build_model(inst)
            view = full_view(inst, lm)  # the stations' columns and truck terms, the same every round
            added = strengthen(inst, lm, view)  # the stations' interval cuts, with the trucks' loads
            for r in range(LP_CUT_ROUNDS + 1):
                left = None if seconds is None else seconds - (time.perf_counter() - t0)
                if left is not None and left <= 0.5:
                    break
                value, x, how = _lp_point(lm, options, left)
                if value is None:
                    break
                best = value if best is None else max(best, value)
                note = f"{how}, {added} interval cuts"
                conn.send((best, time.perf_counter() - t0, note, False))
                cuts = None if x is None or r == LP_CUT_ROUNDS else separate_full(inst, lm, x, view=view)
                if cuts is None:
                    break
                add_cuts(lm, cuts, f"interval_cuts_{r + 1}")
                added += cuts.n
        except Exception as err:  # reported, not raised: the bound is optional
            note = f"{type(err).__name__}: {err}"
        conn.send((best, time.perf_counter() - t0, note, True))
    finally:
        conn.close()


def _lp_point(
    lm: LinearModel, options: SolveOptions, seconds: float | None
) -> tuple[float | None, NDArray[np.float64] | None, str]:
    """The LP relaxation of ``lm`` by interior point (no crossover): its value less the tolerance, the
    (interior) point it belongs to and a note; ``(None, None, note)`` if it does not finish."""
    t0 = time.perf_counter()
    extra: dict[str, bool | int | float | str] = {"run_crossover": "off", "ipm_optimality_tolerance": LP_TOLERANCE}
    opts = dataclasses.replace(options, lp_method="ipm", time_limit=seconds, log=False, highs_options=extra)
    sol = lm.solve(opts, relax=True, deadline=None if seconds is None else t0 + seconds)
    note = f"{sol.status.value} after {sol.report.solve_seconds:.1f} s of HiGHS"
    if sol.status != SolveStatus.OPTIMAL:
        return None, None, note
    return sol.objective - 10 * LP_TOLERANCE * max(1.0, abs(sol.objective)), sol.x, note


@dataclasses.dataclass
class BackgroundLP:
    """The LP bound computed in a separate process while this one runs the heuristics."""

    process: Any
    conn: Any
    started: float = 0.0
    seconds: float = float("nan")
    """Seconds the worker took (known once :meth:`result` has it)."""
    note: str = "not back"
    """How the worker's LP ended (its status and HiGHS's seconds, or the error), once known."""
    taken: bool = False
    """Whether :meth:`result` has been called (the pipe is then closed)."""
    value: float | None = None
    """The best bound received so far (what the first :meth:`result` returns)."""
    final: bool = False
    """Whether the worker's final message has arrived."""
    first_seconds: float = float("nan")
    """Seconds into the worker at which its first LP bound (before more cuts) was known."""

    @staticmethod
    def start(inst: _Instance, options: SolveOptions, seconds: float | None) -> BackgroundLP | None:
        """Start it (``None`` where no process can be started, e.g. inside a daemonic pool worker)."""
        import multiprocessing as mp

        if not processes_allowed():
            return None
        try:
            method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            ctx = mp.get_context(method)
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_lp_worker, args=(inst, options, seconds, send), daemon=True)  # type: ignore[attr-defined]
            proc.start()
            send.close()
        except Exception:
            return None
        return BackgroundLP(proc, recv, time.perf_counter())

    def _drain(self) -> None:
        """Read every message the worker has sent so far (the latest bound, and whether it is final)."""
        while self.conn.poll(0):
            value, self.seconds, self.note, final = self.conn.recv()
            if value is not None and not np.isfinite(self.first_seconds):
                self.first_seconds = self.seconds
            if value is not None:  # a message without a bound never drops one received before
                self.value = value if self.value is None else max(self.value, value)
            self.final = self.final or bool(final)

    def ready(self) -> bool:
        """Whether the final bound has arrived (or the worker has ended), without waiting."""
        if self.taken or self.final:
            return True
        try:
            self._drain()
        except (EOFError, OSError):
            return True
        return self.final

    def result(self, timeout: float) -> float | None:
        """The best bound the worker has sent within ``timeout`` seconds (its final one if that comes in
        time), else ``None``; the process is then stopped.

        Only the first call waits and reads; later calls return what it got.
        """
        if self.taken:
            return self.value
        self.taken = True
        end = time.perf_counter() + max(timeout, 0.0)
        try:
            while True:
                self._drain()
                left = end - time.perf_counter()
                if self.final or left <= 0 or not self.conn.poll(left):
                    break
        except (EOFError, OSError):
            if self.value is None:
                self.note = "the worker ended without a result"
        finally:
            if self.process.is_alive():
                self.process.terminate()
            self.process.join(1.0)
            self.conn.close()
        return self.value
