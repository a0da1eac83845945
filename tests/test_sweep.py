"""Tests of scenario sweeps: local and Dask executors, resume, failures, killed workers."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import sys
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from swapnet import InvalidInputError
from swapnet.sweep import StoreWarning, expand_grid, read_store, scenario_id, sweep

# workers started by Dask import nothing from tests/: ship this module's functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def scenario(p: dict[str, Any]) -> dict[str, float]:
    """A small real computation: a p-median on a seeded random instance."""
    import numpy as np

    from swapnet.siting import p_median

    log = p.get("log")
    if log:
        with open(Path(log) / f"{scenario_id(p)}.{os.getpid()}.{np.random.SeedSequence().entropy}", "w"):
            pass
    if p.get("fail"):
        raise ValueError(f"scenario asked to fail (x={p['x']})")
    marker = p.get("die_once")
    if marker and not Path(marker).exists():
        Path(marker).write_text("died")
        os._exit(1)  # the worker process dies mid-sweep
    rng = np.random.default_rng(p["x"])
    C = rng.random((30, 8)) * 10
    plan = p_median(C, np.ones(30), int(p["p"]))
    return {"cost": plan.objective, "sites": float(len(plan.sites))}


GRID = {"x": [1, 2, 3], "p": [1, 2]}


def expected() -> dict[str, float]:
    return {scenario_id(s): scenario(s)["cost"] for s in expand_grid(GRID)}


def test_expand_grid_and_errors() -> None:
    assert len(expand_grid(GRID)) == 6
    assert expand_grid([{"a": 1}, {"a": 2}]) == [{"a": 1}, {"a": 2}]
    with pytest.raises(InvalidInputError, match=r"grid\.x"):
        expand_grid({"x": []})
    with pytest.raises(InvalidInputError, match=r"grid\.x"):
        expand_grid({"x": 3})  # type: ignore[dict-item]
    with pytest.raises(InvalidInputError, match=r"grid\[1\]"):
        expand_grid([{"a": 1}, 5])  # type: ignore[list-item]
    assert scenario_id({"a": 1, "b": 2}) == scenario_id({"b": 2, "a": 1})


def test_local_process_pool(tmp_path: Path) -> None:
    res = sweep(scenario, GRID, store=tmp_path / "s.jsonl", workers=2, progress=False)
    want = expected()
    assert res.ran == 6 and res.skipped == 0
    t = res.table
    assert set(t.columns) >= {"x", "p", "cost", "sites", "status", "seconds"}
    for row in t.itertuples(index=False):
        assert row.cost == pytest.approx(want[row.id])
    assert len(read_store(tmp_path / "s.jsonl")) == 6


def test_resume_after_interruption_runs_each_scenario_once(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    log.mkdir()
    grid = [{**s, "log": str(log)} for s in expand_grid(GRID)]
    store = tmp_path / "s.jsonl"
    first = sweep(scenario, grid, store=store, workers=2, progress=False, max_scenarios=2)
    assert first.ran == 2 and len(first.records) == 2
    # a crash mid-write leaves a torn line: it is skipped with a warning and counted, not fatal
    with store.open("a") as fh:
        fh.write('{"id": "torn", "par')
    with pytest.warns(StoreWarning, match="skipped 1 corrupt line"):
        second = sweep(scenario, grid, store=store, workers=2, progress=False)
    assert second.corrupt == 1
    assert second.ran == 4 and second.skipped == 2 and len(second.records) == 6
    calls = [f.name.split(".")[0] for f in log.iterdir()]
    assert sorted(calls) == sorted({scenario_id(s) for s in grid})  # each scenario ran exactly once
    third = sweep(scenario, grid, store=store, workers=2, progress=False)
    assert third.ran == 0 and third.skipped == 6


def test_failures_are_recorded_and_do_not_stop_the_sweep(tmp_path: Path) -> None:
    grid = [{"x": 1, "p": 1}, {"x": 2, "p": 1, "fail": True}, {"x": 3, "p": 2}]
    res = sweep(scenario, grid, store=tmp_path / "s.jsonl", workers=2, progress=False)
    assert [r["status"] for r in res.records] == ["ok", "error", "ok"]
    assert "asked to fail" in res.failed["error"].iloc[0]
    again = sweep(scenario, grid, store=tmp_path / "s.jsonl", workers=2, progress=False)
    assert again.ran == 0  # a recorded failure is finished work...
    retry = sweep(scenario, grid, store=tmp_path / "s.jsonl", workers=2, progress=False, retry_failed=True)
    assert retry.ran == 1  # ...unless asked to retry it


def test_default_pool_survives_a_killed_worker(tmp_path: Path) -> None:
    grid = [{**s, "die_once": str(tmp_path / "died")} for s in expand_grid(GRID)]
    res = sweep(scenario, grid, store=tmp_path / "s.jsonl", workers=2, progress=False)
    assert (tmp_path / "died").exists()
    assert len(res.records) == 6 and all(r["status"] == "ok" for r in res.records)


def test_thread_executor_same_results(tmp_path: Path) -> None:
    with cf.ThreadPoolExecutor(2) as ex:
        res = sweep(scenario, GRID, executor=ex, store=tmp_path / "s.jsonl", progress=False)
    want = expected()
    assert {r["id"]: r["kpis"]["cost"] for r in res.records} == pytest.approx(want)


@pytest.fixture(scope="module")
def cluster() -> Any:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as lc,
        distributed.Client(lc) as client,
    ):
        yield client


@pytest.mark.filterwarnings("ignore")
def test_dask_localcluster_matches_local(tmp_path: Path, cluster: Any) -> None:
    res = sweep(scenario, GRID, executor=cluster.get_executor(), store=tmp_path / "d.jsonl", progress=False)
    want = expected()
    assert {r["id"]: r["kpis"]["cost"] for r in res.records} == pytest.approx(want)
    lines = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert len(lines) == 6


@pytest.mark.filterwarnings("ignore")
def test_dask_resume_after_interruption(tmp_path: Path, cluster: Any) -> None:
    store = tmp_path / "r.jsonl"
    first = sweep(scenario, GRID, executor=cluster.get_executor(), store=store, progress=False, max_scenarios=4)
    assert first.ran == 4
    second = sweep(scenario, GRID, executor=cluster.get_executor(), store=store, progress=False)
    assert second.ran == 2 and second.skipped == 4
    assert {r["id"]: r["kpis"]["cost"] for r in second.records} == pytest.approx(expected())


@pytest.mark.filterwarnings("ignore")
def test_dask_worker_killed_mid_sweep(tmp_path: Path, cluster: Any) -> None:
    grid = [{**s, "die_once": str(tmp_path / "died")} for s in expand_grid(GRID)]
    res = sweep(scenario, grid, executor=cluster.get_executor(), store=tmp_path / "k.jsonl", progress=False)
    assert (tmp_path / "died").exists()  # a worker really died
    assert len(res.records) == 6 and all(r["status"] == "ok" for r in res.records)
    want = expected()
    got = {
        scenario_id({k: v for k, v in r["params"].items() if k != "die_once"}): r["kpis"]["cost"] for r in res.records
    }
    assert got == pytest.approx(want)
