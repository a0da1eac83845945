"""Scenario sweeps: evaluate a study over a parameter grid, locally or on a Dask cluster.

A sweep runs one scenario per parameter combination on any :class:`concurrent.futures.Executor`
(a local process pool by default; a Dask ``distributed.Client(...).get_executor()`` on a cluster)
and streams each finished scenario as one JSON line into a store on disk, flushed and synced at
once. Nothing finished is ever lost: an interrupted or crashed sweep started again with the same
store skips every scenario already recorded. A scenario that raises is recorded with its error and
does not stop the others.

Example
-------
>>> def scenario(p):                      # any picklable callable: params -> KPIs
...     return {"cost": p["fleet"] * p["price"]}
>>> res = sweep(scenario, {"fleet": [100, 200], "price": [0.4, 0.5]}, store="out/sweep.jsonl")  # doctest: +SKIP
>>> res.table                             # one row per scenario: parameters, KPIs, status, seconds  # doctest: +SKIP

On a cluster::

    from distributed import Client
    client = Client("tcp://scheduler:8786")
    res = sweep(study, grid, executor=client.get_executor(), store="sweep.jsonl")
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swapnet.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["StudyScenario", "SweepResult", "expand_grid", "read_store", "scenario_id", "sweep"]

Params = dict[str, Any]


def expand_grid(grid: Mapping[str, Sequence[Any]] | Iterable[Mapping[str, Any]]) -> list[Params]:
    """Scenarios from a grid: ``{name: values}`` gives the Cartesian product; a list of dicts is used as is.

    Raises
    ------
    InvalidInputError
        On an empty grid, a parameter without values, or a non-dict override.
    """
    if isinstance(grid, Mapping):
        names = list(grid)
        values = []
        for nm in names:
            v = grid[nm]
            if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
                raise InvalidInputError(f"grid.{nm}", v, "needs a list of values")
            vals = list(v)
            if not vals:
                raise InvalidInputError(f"grid.{nm}", v, "needs at least one value")
            values.append(vals)
        out = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    else:
        out = []
        for k, o in enumerate(grid):
            if not isinstance(o, Mapping):
                raise InvalidInputError(f"grid[{k}]", o, "each override must be a dict")
            out.append(dict(o))
    if not out:
        raise InvalidInputError("grid", grid, "gives no scenario")
    return out


def scenario_id(params: Mapping[str, Any]) -> str:
    """A stable id for a parameter set (hash of its canonical JSON)."""
    text = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _evaluate(study: Any, params: Params) -> tuple[str, dict[str, Any], str | None, float]:
    """Run one scenario in a worker: returns (status, kpis, error, seconds)."""
    t0 = time.perf_counter()
    try:
        fn = study.evaluate if hasattr(study, "evaluate") else study
        kpis = fn(params)
        if not isinstance(kpis, Mapping):
            raise TypeError(f"a scenario must return a mapping of KPIs, got {type(kpis).__name__}")
        return "ok", {str(k): _plain(v) for k, v in kpis.items()}, None, time.perf_counter() - t0
    except Exception as exc:  # recorded, never raised: one failure must not stop the sweep
        msg = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        return "error", {}, msg, time.perf_counter() - t0


def _plain(v: Any) -> Any:
    """JSON-safe scalar (numpy numbers to Python; non-finite floats kept as strings)."""
    if hasattr(v, "item") and callable(v.item):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Finished scenarios of a sweep.

    Attributes
    ----------
    records
        One dict per scenario: ``id``, ``params``, ``status`` (``"ok"``/``"error"``), ``kpis``,
        ``error``, ``seconds`` (time in the worker), ``finished`` (Unix time).
    store
        The JSON-lines file they were streamed to.
    ran, skipped
        Scenarios run in this call, and skipped because the store already had them.
    wall_seconds
        Wall-clock time of this call.
    """

    records: tuple[dict[str, Any], ...]
    store: Path
    ran: int
    skipped: int
    wall_seconds: float

    @property
    def table(self) -> pd.DataFrame:
        """One row per scenario: parameter columns, KPI columns, ``status``, ``error``, ``seconds``."""
        import pandas as pd

        rows = []
        for r in self.records:
            row: dict[str, Any] = {"id": r["id"], **r["params"], **r.get("kpis", {})}
            row.update(status=r["status"], error=r.get("error"), seconds=r.get("seconds"))
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def failed(self) -> pd.DataFrame:
        """Rows of :attr:`table` whose scenario raised."""
        t = self.table
        return t[t["status"] != "ok"]

    def summary(self) -> str:
        """One line: counts and time."""
        ok = sum(r["status"] == "ok" for r in self.records)
        return (
            f"sweep: {len(self.records)} scenarios ({ok} ok, {len(self.records) - ok} failed); "
            f"ran {self.ran}, skipped {self.skipped} already in {self.store}; {self.wall_seconds:.1f} s"
        )

    def plot(self, kpi: str, param: str, *, by: str | None = None) -> Any:
        """A matplotlib Figure of ``kpi`` against ``param`` (one line per value of ``by``)."""
        import matplotlib.pyplot as plt

        t = self.table
        t = t[t["status"] == "ok"]
        fig, ax = plt.subplots(figsize=(6, 4))
        groups = [(None, t)] if by is None else list(t.groupby(by))
        for key, g in groups:
            g = g.sort_values(param)
            ax.plot(g[param], g[kpi], marker="o", label=None if key is None else f"{by}={key!r}")
        ax.set_xlabel(param)
        ax.set_ylabel(kpi)
        if by is not None:
            ax.legend()
        fig.tight_layout()
        return fig


def read_store(store: str | Path) -> list[dict[str, Any]]:
    """Records in a sweep store (a torn last line from a crash is ignored)."""
    path = Path(store)
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: that scenario simply runs again
    return out


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def _pool(workers: int | None) -> cf.ProcessPoolExecutor:
    """A process pool whose workers do not inherit the parent's threads.

    Forking a process in which HiGHS has started its thread pool can deadlock the child, so workers
    start from a clean interpreter ("forkserver", or "spawn" where that is unavailable).
    """
    import multiprocessing as mp

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method))


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.enabled = enabled and total > 0
        self.t0 = time.perf_counter()
        self.last = 0.0

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.5 and self.done < self.total):
            return
        self.last = now
        rate = self.done / max(now - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else math.inf
        width = 30
        fill = int(width * self.done / self.total)
        sys.stderr.write(
            f"\r[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} ({self.failed} failed) ETA {eta:5.0f} s"
        )
        if self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def sweep(
    study: Callable[[Params], Mapping[str, Any]] | Any,
    grid: Mapping[str, Sequence[Any]] | Iterable[Mapping[str, Any]],
    *,
    executor: cf.Executor | None = None,
    store: str | Path = "sweep.jsonl",
    workers: int | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    max_scenarios: int | None = None,
) -> SweepResult:
    """Evaluate ``study`` for every scenario of ``grid``, streaming results into ``store``.

    Parameters
    ----------
    study
        A picklable callable ``params -> {kpi: value}``, or an object with such an ``evaluate``
        method (e.g. a study that applies the overrides and runs).
    grid
        ``{name: [values]}`` (Cartesian product) or a list of override dicts.
    executor
        Any :class:`concurrent.futures.Executor`. Default: a local process pool with ``workers``
        processes (all cores), restarted if a worker dies. For Dask, pass
        ``distributed.Client(...).get_executor()``; the cluster reschedules work of dead workers.
    store
        JSON-lines file; created if missing, appended to otherwise. Scenarios already in it are
        skipped (failed ones too, unless ``retry_failed``).
    workers
        Processes of the default pool.
    retry_failed
        Run again the scenarios the store records as failed.
    progress
        Show a progress bar with counts and ETA on stderr.
    max_scenarios
        Stop after this many new scenarios (the rest run on the next call).

    Returns
    -------
    SweepResult
        Every scenario of the grid found in the store after this call.
    """
    t0 = time.perf_counter()
    scenarios = expand_grid(grid)
    ids = [scenario_id(p) for p in scenarios]
    path = Path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    done: dict[str, dict[str, Any]] = {}
    for rec in read_store(path):
        if rec.get("status") == "ok" or not retry_failed:
            done[rec["id"]] = rec
        else:
            done.pop(rec["id"], None)
    unique = dict(zip(ids, scenarios, strict=True))  # duplicates in the grid run once
    skipped = sum(i in done for i in unique)
    todo = [(i, p) for i, p in unique.items() if i not in done]
    if max_scenarios is not None:
        todo = todo[: max(int(max_scenarios), 0)]
    bar = _Progress(len(todo), progress)
    ran = 0
    own = executor is None
    ex = executor if executor is not None else _pool(workers)
    try:
        pending = dict(todo)
        attempts = 0
        with path.open("a", encoding="utf-8") as out:
            if pending and path.stat().st_size and not _ends_with_newline(path):
                out.write("\n")  # close a line torn by a crash so the next record starts clean
            while pending:
                futures = {ex.submit(_evaluate, study, p): i for i, p in pending.items()}
                try:
                    for fut in cf.as_completed(futures):
                        i = futures[fut]
                        status, kpis, err, secs = fut.result()
                        rec = {
                            "id": i, "params": pending[i], "status": status, "kpis": kpis, "error": err,
                            "seconds": secs, "finished": time.time(),
                        }  # fmt: skip
                        out.write(json.dumps(rec, default=str) + "\n")
                        out.flush()
                        os.fsync(out.fileno())
                        done[i] = rec
                        del pending[i]
                        ran += 1
                        bar.update(status == "ok")
                except cf.process.BrokenProcessPool:
                    # a worker died (killed, out of memory): finished work is on disk; start a new pool
                    attempts += 1
                    if not own or attempts > 3:
                        raise
                    ex.shutdown(wait=False, cancel_futures=True)
                    ex = _pool(workers)
    finally:
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    records = tuple(done[i] for i in unique if i in done)
    return SweepResult(records, path, ran, skipped, time.perf_counter() - t0)


@dataclass(frozen=True)
class StudyScenario:
    """A study (TOML file or dict) evaluated with dotted-key overrides: the picklable unit a sweep runs.

    ``params`` keys are dotted paths into the study file, list items by index, e.g.
    ``{"demand.segments.0.vehicles": 30000, "tariff.flat_price": 0.6}``. Each scenario validates the
    overridden study (a bad override is recorded as that scenario's error), runs it and returns its
    headline KPIs. Reports go to ``outdir/<scenario id>`` when ``outdir`` is set, else to a
    temporary folder that is removed.
    """

    base: Mapping[str, Any]
    outdir: str | None = None

    @classmethod
    def from_toml(cls, path: str | Path, *, outdir: str | Path | None = None) -> StudyScenario:
        """Read the base study from a TOML file."""
        import tomllib

        with Path(path).open("rb") as fh:
            return cls(tomllib.load(fh), None if outdir is None else str(outdir))

    def evaluate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run the study with ``params`` applied; returns KPIs (stations, costs, service, NPV, IRR)."""
        import copy
        import tempfile

        from swapnet.study import Study

        d = copy.deepcopy(dict(self.base))
        for key, value in params.items():
            _set_path(d, key, value)
        study = Study.from_dict(d)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(self.outdir) / scenario_id(params) if self.outdir else Path(tmp)
            res = study.run(out, progress=False)
        sim = res.simulation.network_kpis()["mean"]
        kpis = {
            "stations": len(res.siting.sites),
            "siting_objective": res.siting.objective,
            "operations_cost_cny_day": res.operations.costs["total"],
            "energy_cny_day": res.operations.costs["energy"],
            "planned_lost_swaps_day": res.operations.lost_swaps,
            "service_level": float(sim["service_level"]),
            "npv_cny": res.operator.npv(),
            "irr": res.operator.irr(),
        }
        if res.rollout is not None:  # a study with a [rollout] section: its headline figures too
            kpis.update(res.rollout.kpis())
        return kpis


def _set_path(d: dict[str, Any], path: str, value: Any) -> None:
    """Set ``d[a][b][0][c] = value`` for ``path = "a.b.0.c"``; missing dict keys are created."""
    parts = path.split(".")
    cur: Any = d
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if isinstance(cur, list):
            try:
                idx = int(part)
                if last:
                    cur[idx] = value
                else:
                    cur = cur[idx]
            except (ValueError, IndexError):
                raise InvalidInputError(path, value, f"{part!r} is not an index of the list at this key") from None
        elif isinstance(cur, dict):
            if last:
                cur[part] = value
            else:
                cur = cur.setdefault(part, {})
        else:
            raise InvalidInputError(path, value, f"cannot descend into {'.'.join(parts[:k])!r}")
