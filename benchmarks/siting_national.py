"""Benchmark: the matrix siting models at national scale (3,000 candidate stores x 20,000 demand nodes).

Run with ``python benchmarks/siting_national.py`` (p-median and MCLP with p = 300, 120 s budget each,
and ``size_stations`` with a 300 s budget; about 10 minutes on 2 shared cores, up to ~4 GB per model)
or pick models and sizes, e.g.
``python benchmarks/siting_national.py --models p_median --n 20000 --m 3000 --p 300 --time-limit 120``.

``size_stations`` runs on its own seeded instance: a 142 x 142 street grid (20,164 nodes, 1 km blocks,
arterials every 4; :func:`swapnet.city_grid`), demand at every node (:func:`swapnet.synthetic.city_demand`,
12 swaps per node and day, as dense as the national-car example), 3,000 service-store candidates
(:func:`swapnet.synthetic.service_store_sites`), Choco-swap stations, CATL #25 packs and a 3 km service
distance (``--sizing-n``, ``--service-km``, ``--sizing-time-limit``; ``--sizing-threads``, default 2, is
how many windows of its plan search are solved at once, in separate processes with one HiGHS thread each).

The instance is synthetic and seeded: a 2,000 x 1,500 km country with 80 cities (log-normal sizes);
demand nodes are scattered around the cities in proportion to their size, stores around the cities
too (more in larger ones); the cost is the Euclidean distance times a detour factor of 1.25 (km);
weights are swaps per day (log-normal). Each model runs in a fresh process (``spawn``) so that its
peak resident memory is its own; the script prints the wall time of the call, the named phases
the plan reports, the status, the objective, the bound and the gap, the ``verify()`` time, the
peak memory of that process and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

PHASES = (
    "sort_seconds",
    "greedy_seconds",
    "interchange_seconds",
    "lagrangian_seconds",
    "bb_seconds",
    "sites_after_fixing",
    "bb_nodes",
    "mip_iterations",
    "mip_skipped",
    "evolve_pool",
    "evolve_children",
    "evolve_improved",
    "evolve_seconds",
    "restart_rounds",
    "restart_seconds",
    "lagrangian_rounds",
    "heuristic_plans",
    "heuristic_objective",
    "drain_seconds",
    "lns_seconds",
    "core_mip_gain",
    "lns_windows",
    "lns_improved",
    "sites_fixed_closed",
    "sites_fixed_open",
    "mip_seconds",
)


def make_instance(n: int, m: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """Cost matrix (km) and daily swaps of a seeded synthetic country."""
    rng = np.random.default_rng([seed, n, m])
    k = 80
    centres = rng.uniform([0.0, 0.0], [2000.0, 1500.0], (k, 2))
    size = rng.lognormal(0.0, 1.0, k)
    share = size / size.sum()
    city_d = rng.choice(k, n, p=share)
    city_s = rng.choice(k, m, p=share)
    spread = 15.0 + 25.0 * np.sqrt(size / size.max())
    demand = centres[city_d] + rng.normal(0.0, 1.0, (n, 2)) * spread[city_d, None]
    stores = centres[city_s] + rng.normal(0.0, 1.0, (m, 2)) * spread[city_s, None] * 0.8
    C = np.empty((n, m))
    for a in range(0, n, 2000):  # blocks keep the temporaries small
        d = demand[a : a + 2000, None, :] - stores[None, :, :]
        C[a : a + 2000] = np.sqrt((d * d).sum(axis=2)) * 1.25
    w = np.round(rng.lognormal(2.0, 0.8, n), 1)
    return C, w


def sizing_instance(n: int, m: int, seed: int) -> tuple[Any, ...]:
    """A seeded national-scale sizing instance: a square street grid of about ``n`` nodes (1 km blocks,
    arterials every 4), 12 swaps per node and day (denser in the centre), ``m`` service-store
    candidates, Choco-swap stations and CATL #25 packs."""
    import swapnet
    from swapnet.synthetic import city_demand, service_store_sites

    side = round(n**0.5)
    network = swapnet.city_grid(side, side, spacing_km=1.0, seed=seed)
    demand = city_demand(network, total_swaps_per_day=12.0 * network.n_nodes, seed=seed)
    sites = service_store_sites(network, m, seed=seed, demand=demand)
    return network, demand, sites, swapnet.StationDesign.choco_swap(), swapnet.BatteryPack.catl_25_lfp()


def run_sizing(n: int, m: int, service_km: float, limit: float, seed: int, threads: int) -> dict[str, Any]:
    from swapnet.siting import SolveOptions, size_stations

    t0 = time.perf_counter()
    network, demand, sites, design, pack = sizing_instance(n, m, seed)
    t_inst = time.perf_counter() - t0
    load = os.getloadavg()[0]
    opts = SolveOptions(time_limit=limit, mip_gap=1e-4, threads=threads)
    t1 = time.perf_counter()
    plan = size_stations(network, demand, sites, design, pack, service_km=service_km, options=opts)
    t2 = time.perf_counter()
    plan.verify()
    t3 = time.perf_counter()
    name = f"size_stations ({network.n_nodes:,} x {m:,}, {threads} window worker{'s' * (threads > 1)})"
    return _row(name, plan, t_inst, t2 - t1, t3 - t2, load)


def _row(model: str, plan: Any, t_inst: float, wall: float, verify: float, load: float) -> dict[str, Any]:
    """One printed result: times, status, objective, bound, gap, named phases, peak memory and load."""
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: kB
    return {
        "model": model,
        "instance_s": t_inst,
        "wall_s": wall,
        "verify_s": verify,
        "status": plan.status.value,
        "objective": plan.objective,
        "bound": plan.bound,
        "gap": plan.gap,
        "build_s": plan.build_seconds,
        "solve_s": plan.solve_seconds,
        "phases": {k: round(v, 2) if isinstance(v, float) else v for k, v in plan.details.items() if k in PHASES},
        "peak_gb": peak_gb,
        "workers": int(plan.details.get("lns_workers", 1)),
        "worker_gb": float(plan.details.get("lns_worker_peak_gb", 0.0)),  # as the workers report it
        "load_start": load,
        "load_end": os.getloadavg()[0],
    }


def run_model(
    model: str, n: int, m: int, p: int, radius: float, limit: float, seed: int, threads: int = 1
) -> dict[str, Any]:
    from swapnet.siting import SolveOptions, max_coverage, p_median

    if model == "size_stations":
        return run_sizing(n, m, radius, limit, seed, threads)
    t0 = time.perf_counter()
    C, w = make_instance(n, m, seed)
    t_inst = time.perf_counter() - t0
    load = os.getloadavg()[0]
    opts = SolveOptions(time_limit=limit, mip_gap=1e-4, threads=1)
    t1 = time.perf_counter()
    plan = p_median(C, w, p, options=opts) if model == "p_median" else max_coverage(C, w, radius, p=p, options=opts)
    t2 = time.perf_counter()
    plan.verify()
    t3 = time.perf_counter()
    return _row(model, plan, t_inst, t2 - t1, t3 - t2, load)


def _child(q: Any, *args: Any) -> None:
    q.put(run_model(*args))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--models",
        nargs="+",
        default=["p_median", "max_coverage", "size_stations"],
        choices=["p_median", "max_coverage", "size_stations"],
    )
    ap.add_argument("--n", type=int, default=20_000, help="demand nodes")
    ap.add_argument("--m", type=int, default=3_000, help="candidate stores")
    ap.add_argument("--p", type=int, default=300, help="stations to open")
    ap.add_argument("--radius", type=float, default=25.0, help="MCLP coverage radius in km")
    ap.add_argument("--time-limit", type=float, default=120.0, help="budget per model call (s)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--sizing-n", type=int, default=20_164, help="size_stations: street-grid nodes (142 x 142)")
    ap.add_argument("--service-km", type=float, default=3.0, help="size_stations: service distance (km)")
    ap.add_argument("--sizing-time-limit", type=float, default=300.0, help="size_stations: budget (s)")
    ap.add_argument(
        "--sizing-threads", type=int, default=2, help="size_stations: windows solved at once (one HiGHS thread each)"
    )
    args = ap.parse_args()
    print(
        f"national siting benchmark: {args.n:,} demand nodes x {args.m:,} stores, p = {args.p}, "
        f"budget {args.time_limit:g} s per call; {platform.machine()}, {os.cpu_count()} cpus, one solver thread "
        f"(size_stations: {args.sizing_threads} window workers, one HiGHS thread each)"
    )
    ctx = mp.get_context("spawn")
    for model in args.models:
        q = ctx.Queue()
        if model == "size_stations":
            call = (
                model, args.sizing_n, args.m, 0, args.service_km, args.sizing_time_limit, args.seed, args.sizing_threads
            )  # fmt: skip
        else:
            call = (model, args.n, args.m, args.p, args.radius, args.time_limit, args.seed)
        proc = ctx.Process(target=_child, args=(q, *call))
        proc.start()
        r = q.get()
        proc.join()
        print(
            f"{r['model']:13s}\n{'':13s} wall {r['wall_s']:7.1f} s (build {r['build_s']:.1f} s, solver {r['solve_s']:.1f} s) "
            f"status {r['status']:10s} objective {r['objective']:.6g} bound {r['bound']:.6g} gap {r['gap']:.3%} "
            f"verify {r['verify_s']:.2f} s  peak {r['peak_gb']:.2f} GB  load {r['load_start']:.2f}-{r['load_end']:.2f}"
        )
        if r["workers"] > 1:
            total = r["peak_gb"] + r["workers"] * r["worker_gb"]
            print(
                f"{'':13s} window workers {r['workers']}, each at most {r['worker_gb']:.2f} GB: {total:.2f} GB at most in all"
            )
        print(f"{'':13s} phases {r['phases']}; instance generated in {r['instance_s']:.1f} s (not counted)")


if __name__ == "__main__":
    main()
