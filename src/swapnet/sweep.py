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
import contextlib
import itertools
import json
import math
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swapnet import _atomic
from swapnet import _validate as _v
from swapnet._sweep_study import StudyScenario, scenario_id
from swapnet._sweep_study import _set_path as _set_path
from swapnet.errors import InvalidInputError, StorageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "StoreWarning",
    "StudyScenario",
    "SweepResult",
    "expand_grid",
    "read_store",
    "scenario_id",
    "sweep",
    "table_path",
    "write_table",
]


class StoreWarning(UserWarning):
    """Corrupt lines were skipped while reading a sweep store (those scenarios run again)."""


Params = dict[str, Any]


def expand_grid(grid: Mapping[str, Sequence[Any]] | Iterable[Mapping[str, Any]]) -> list[Params]:
    """Scenarios from a grid: ``{name: values}`` gives the Cartesian product; a list of dicts is used as is.

    Parameter names must be strings and values plain data (numbers, strings, booleans, ``None``,
    and lists/dicts of them): a scenario's id is the hash of its parameters, and an arbitrary
    object would hash differently on every run, so a resumed sweep would never find it.

    Raises
    ------
    InvalidInputError
        On an empty grid (``{}`` or ``[]``), a grid that is neither a mapping nor a list of dicts,
        a parameter without values, a non-dict override, a non-string name or a value that is not
        plain data.
    """
    if not isinstance(grid, Mapping) and (isinstance(grid, (str, bytes)) or not isinstance(grid, Iterable)):
        raise InvalidInputError("grid", grid, "must be {name: [values]} or a list of override dicts")
    if isinstance(grid, Mapping):
        names = list(grid)
        if not names:
            raise InvalidInputError("grid", dict(grid), "has no parameter: give at least one key with values")
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
    for params in out:
        for name, value in params.items():
            if not isinstance(name, str):
                raise InvalidInputError("grid", name, "parameter names must be strings")
            _check_plain(value, f"grid.{name}")
    return out


def _check_plain(value: Any, where: str, depth: int = 0) -> None:
    """Refuse values whose JSON form (hence scenario id) is not stable: only plain data is allowed."""
    if depth > 16:
        raise InvalidInputError(where, value, "nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return
    if isinstance(value, (list, tuple)):
        for k, v in enumerate(value):
            _check_plain(v, f"{where}[{k}]", depth + 1)
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInputError(where, k, "keys of a dict value must be strings")
            _check_plain(v, f"{where}.{k}", depth + 1)
        return
    raise InvalidInputError(
        where, value, f"{type(value).__name__!r} values are not plain data (numbers, strings, lists, dicts)"
    )


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
    corrupt
        Lines of the store that could not be read as records and were skipped (their
        scenarios, if any, ran again).
    """

    records: tuple[dict[str, Any], ...]
    store: Path
    ran: int
    skipped: int
    wall_seconds: float
    corrupt: int = 0

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
        bad = f"; {self.corrupt} corrupt store line(s) skipped" if self.corrupt else ""
        return (
            f"sweep: {len(self.records)} scenarios ({ok} ok, {len(self.records) - ok} failed); "
            f"ran {self.ran}, skipped {self.skipped} already in {self.store}{bad}; {self.wall_seconds:.1f} s"
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


def _record(obj: object) -> dict[str, Any] | None:
    """``obj`` if it has the shape of a store record, else ``None``."""
    if not isinstance(obj, dict):
        return None
    if not isinstance(obj.get("id"), str) or not isinstance(obj.get("params"), dict):
        return None
    if obj.get("status") not in ("ok", "error") or not isinstance(obj.get("kpis", {}), dict):
        return None
    return obj


def _scan_store(path: Path) -> tuple[list[dict[str, Any]], list[int], list[bytes]]:
    """Records, numbers of the corrupt lines, and the raw good lines (to rewrite the store)."""
    if not path.exists():
        return [], [], []
    if path.is_dir():
        raise InvalidInputError("store", str(path), "is a folder; give a file (JSON lines)")
    out: list[dict[str, Any]] = []
    bad: list[int] = []
    good: list[bytes] = []
    with path.open("rb") as fh:
        for k, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rec = _record(json.loads(raw.decode("utf-8")))
            except (UnicodeDecodeError, ValueError, RecursionError):
                rec = None  # a torn line, NUL bytes, binary garbage, non-UTF-8 text, 2,000-deep JSON
            if rec is None:
                bad.append(k)
            else:
                out.append(rec)
                good.append(raw.rstrip(b"\r\n") + b"\n")
    return out, bad, good


def _set_aside(path: Path, bad: Sequence[int], good: Sequence[bytes]) -> Path:
    """Move the corrupt lines of a store to ``<store>.corrupt`` and rewrite the store atomically
    with its good lines, so a resumed sweep appends to a clean file and warns only once."""
    aside = path.with_name(path.name + ".corrupt")
    wanted = set(bad)
    with path.open("rb") as fh:
        lines = [raw for k, raw in enumerate(fh, start=1) if k in wanted]
    try:
        with aside.open("ab") as fh:
            fh.writelines(raw.rstrip(b"\r\n") + b"\n" for raw in lines)
    except OSError as exc:
        raise StorageError(aside, exc.strerror or str(exc)) from exc
    _atomic.write_file(path, b"".join(good))
    return aside


def _warn_corrupt(path: Path, bad: Sequence[int], aside: Path | None = None) -> None:
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        moved = f"; moved to {aside}" if aside is not None else ""
        warnings.warn(
            f"{path}: skipped {len(bad)} corrupt line(s) (line {shown}){moved}; their scenarios run again",
            StoreWarning,
            stacklevel=3,
        )


def read_store(store: str | Path) -> list[dict[str, Any]]:
    """Records in a sweep store.

    Every line that is not a record — a line torn by a crash, NUL bytes, bytes that are not
    UTF-8, JSON that is not an object with ``id``, ``params`` and ``status`` — is skipped, and a
    :class:`StoreWarning` names how many and which lines.
    """
    path = Path(store)
    out, bad, _ = _scan_store(path)
    _warn_corrupt(path, bad)
    return out


def table_path(store: str | Path) -> Path:
    """Where the CLI writes a store's results table: ``<store stem>.table.csv`` beside it.

    The name always ends in ``.table.csv`` added to the store's stem, so it can never be the
    store itself (``res.csv`` -> ``res.table.csv``, ``sweep.jsonl`` -> ``sweep.table.csv``).
    """
    p = Path(store)
    return p.with_name(p.stem + ".table.csv")


def write_table(result: SweepResult, path: str | Path) -> Path:
    """Write ``result.table`` to ``path`` as CSV atomically; refuses to overwrite the store.

    Raises
    ------
    InvalidInputError
        ``path`` is the store of ``result``.
    StorageError
        The file cannot be written (e.g. the disk is full).
    """
    path = Path(path)
    if path.resolve() == Path(result.store).resolve():
        raise InvalidInputError("table", str(path), "is the sweep store; the table needs its own file")
    return _atomic.write_file(path, result.table.to_csv(index=False))


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def _pool(workers: int | None) -> cf.ProcessPoolExecutor:
    """A process pool whose workers do not inherit the parent's threads and die with the parent.

    Forking a process in which HiGHS has started its thread pool can deadlock the child, so workers
    start from a clean interpreter ("spawn": each is a direct child of this process, and no
    forkserver process is left behind). Each worker watches its parent (:func:`_watch_parent`).
    """
    import multiprocessing as mp

    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_watch_parent, initargs=(os.getpid(),)
    )


def _watch_parent(parent: int) -> None:
    """Worker initializer: end this process when ``parent`` dies, even mid-solve.

    On Linux the kernel sends SIGKILL when the parent exits (``prctl(PR_SET_PDEATHSIG)``), which
    works while the worker is inside a solver's C code. A daemon thread polling the parent's pid is
    the portable fallback.
    """
    import signal
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass
    if os.getppid() != parent:  # the parent died before the watch was set
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="swapnet-parent-watch", daemon=True).start()


def _stop_pool(ex: cf.ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel queued work and terminate running workers (on an interrupt)."""
    procs = list(getattr(ex, "_processes", {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()


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
        skipped (failed ones too, unless ``retry_failed``). Corrupt lines (a line torn by a crash,
        NUL bytes, non-UTF-8 bytes, JSON that is not a record) are skipped with a
        :class:`StoreWarning`, counted in :attr:`SweepResult.corrupt` and moved to
        ``<store>.corrupt``; the store is rewritten atomically without them.
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

    Raises
    ------
    InvalidInputError
        A bad grid, or (when ``study`` has a ``validate(params)`` method, as
        :class:`StudyScenario` does) a grid key or value the study refuses — checked for every
        scenario before any worker starts.
    StorageError
        The store cannot be written (e.g. the disk is full).

    Warns
    -----
    StoreWarning
        Corrupt lines in the store were skipped (counted in :attr:`SweepResult.corrupt`).
    """
    t0 = time.perf_counter()
    if not callable(study) and not callable(getattr(study, "evaluate", None)):
        raise InvalidInputError("study", study, "must be a callable params -> KPIs or have an evaluate method")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise InvalidInputError("executor", executor, "must be a concurrent.futures.Executor")
    if not isinstance(store, (str, os.PathLike)):
        raise InvalidInputError("store", store, "must be a path")
    if workers is not None:
        workers = _v.integer(workers, "workers", minimum=1)
    if max_scenarios is not None:
        max_scenarios = _v.integer(max_scenarios, "max_scenarios", minimum=0)
    retry_failed = _v.boolean(retry_failed, "retry_failed")
    progress = _v.boolean(progress, "progress")
    scenarios = expand_grid(grid)
    check = getattr(study, "validate", None)
    if callable(check):
        for params in scenarios:
            check(params)
    ids = [scenario_id(p) for p in scenarios]
    path = Path(store)
    if path.is_dir():
        raise InvalidInputError("store", str(path), "is a folder; give a file (JSON lines)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError("store", str(path), f"cannot create its folder ({exc.strerror})") from None
    done: dict[str, dict[str, Any]] = {}
    loaded, bad, good = _scan_store(path)
    if bad:
        aside = _set_aside(path, bad, good)
        _warn_corrupt(path, bad, aside)
    for rec in loaded:
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
    interrupted = False
    try:
        pending = dict(todo)
        attempts = 0
        with _append(path) as out:
            if pending and path.stat().st_size and not _ends_with_newline(path):
                try:
                    out.write("\n")  # close a line torn by a crash so the next record starts clean
                except OSError as exc:
                    raise StorageError(path, exc.strerror or str(exc)) from exc
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
                        _write_record(out, path, rec)
                        done[i] = rec
                        del pending[i]
                        ran += 1
                        bar.update(status == "ok")
                except BrokenProcessPool:
                    # a worker died (killed, out of memory): finished work is on disk; start a new pool
                    attempts += 1
                    if not own or attempts > 3:
                        raise
                    ex.shutdown(wait=False, cancel_futures=True)
                    ex = _pool(workers)
    except BaseException:  # KeyboardInterrupt, SIGTERM (as SystemExit), a broken store
        interrupted = True
        raise
    finally:
        if own:
            if interrupted:
                _stop_pool(ex)  # type: ignore[arg-type]
            else:
                ex.shutdown(wait=True, cancel_futures=True)
    records = tuple(done[i] for i in unique if i in done)
    return SweepResult(records, path, ran, skipped, time.perf_counter() - t0, corrupt=len(bad))


@contextlib.contextmanager
def _append(path: Path) -> Iterator[Any]:
    try:
        fh = path.open("a", encoding="utf-8")
    except OSError as exc:
        raise StorageError(path, exc.strerror or str(exc)) from exc
    with fh:
        yield fh


def _write_record(out: Any, path: Path, rec: Mapping[str, Any]) -> None:
    """Append one record as a JSON line, flushed and synced (disk full -> StorageError)."""
    try:
        out.write(json.dumps(rec, default=str) + "\n")
        out.flush()
        os.fsync(out.fileno())
    except OSError as exc:
        why = "no space left on device" if exc.errno == 28 else (exc.strerror or str(exc))
        raise StorageError(path, why) from exc
