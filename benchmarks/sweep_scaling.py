"""Sweep engine scaling: 200 small scenarios on 1 vs 2 workers (local pool and Dask LocalCluster).

Each scenario solves a seeded 60 x 15 p-median (a real, small swapnet model, ~50-100 ms). The
engine's per-scenario overhead is measured with an empty scenario. Run:
``python benchmarks/sweep_scaling.py [--n 200]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from swapnet.sweep import sweep


def work(p: dict[str, Any]) -> dict[str, float]:
    import numpy as np

    from swapnet.optim import SolveOptions
    from swapnet.siting import p_median

    rng = np.random.default_rng(p["seed"])
    C = rng.random((60, 15)) * 10
    # one solver thread per scenario: the sweep supplies the parallelism
    return {"cost": p_median(C, np.ones(60), 4, options=SolveOptions(threads=1)).objective}


def empty(p: dict[str, Any]) -> dict[str, float]:
    return {"x": float(p["seed"])}


def timed(fn: Any, n: int, **kw: Any) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = sweep(fn, {"seed": list(range(n))}, store=Path(tmp) / "s.jsonl", progress=False, **kw)
        dt = time.perf_counter() - t0
        assert len(res.records) == n and res.failed.empty
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    n = ap.parse_args().n
    print(f"{n} scenarios; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    t1 = timed(work, n, workers=1)
    t2 = timed(work, n, workers=2)
    e2 = timed(empty, n, workers=2)
    print(f"local pool : 1 worker {t1:.1f} s, 2 workers {t2:.1f} s -> speed-up {t1 / t2:.2f}x")
    print(f"local pool : empty scenarios {e2:.2f} s -> engine overhead {e2 / n * 1000:.1f} ms per scenario")
    from distributed import Client, LocalCluster

    for w in (1, 2):
        cluster = LocalCluster(n_workers=w, threads_per_worker=1, dashboard_address=None, silence_logs=50)
        with cluster, Client(cluster) as client:
            timed(work, 4, executor=client.get_executor())  # warm the workers
            t = timed(work, n, executor=client.get_executor())
            e = timed(empty, n, executor=client.get_executor())
        print(f"dask {w} worker(s): {t:.1f} s; empty scenarios {e:.2f} s -> overhead {e / n * 1000:.1f} ms/scenario")
        if w == 1:
            d1 = t
    print(f"dask speed-up 1 -> 2 workers: {d1 / t:.2f}x")


if __name__ == "__main__":
    main()
