"""National scale through a study file: 3,000 candidate stores and >= 20,000 demand points from CSVs.

Generates, into a temporary folder (seeded), a national road network as an edge CSV in lon/lat
(a 100 x 100 grid 15 km apart over roughly 1,500 x 1,500 km of eastern China, edge lengths 1.25 x
the great-circle distance), ``stores.csv`` (3,000 service stores at random nodes, up to 400 m off
the road), ``demand.csv`` (20,000 points around 40 cities of random size, with vehicles per segment)
and ``study.toml`` (max-coverage siting of 300 stations within 20 km, existing stores kept open, a
table tariff), then runs the study end to end with ``swapnet.study.Study.from_toml(...).run(...)``.

Prints the wall time of each stage and the whole run, the peak resident memory and the 1-minute
load average before and after. The target (issue 15): <= 10 min and <= 8 GB on 2 cores.

Run::

    PYTHONPATH=src python benchmarks/study_national.py [--points 20000] [--stores 3000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from swapnet.io.graphs import haversine_m
from swapnet.study import Study

STUDY = """
name = "national: {stores} stores, {points} demand points"

[network]
kind = "file"
path = "edges.csv"
length_unit = "km"
largest_component = true

[sites]
kind = "file"
path = "stores.csv"
max_snap_m = 1000

[demand]
kind = "file"
path = "demand.csv"
max_snap_m = 12000
baas_share = 0.3

[siting]
model = "max_coverage"
service_km = 20.0
p = {p}

[tariff]
kind = "table"
path = "tariff.csv"

[operations]
periods = 24
trucks = 0
time_limit = 60
mip_gap = 0.02

[simulation]
days = 1
replications = 2
seed = 1

[solver]
time_limit = 120
mip_gap = 0.01
"""


def make_inputs(folder: Path, *, n_side: int, stores: int, points: int, p: int, seed: int) -> Path:
    """Write edges.csv, stores.csv, demand.csv, tariff.csv and study.toml into ``folder``."""
    rng = np.random.default_rng(seed)
    step = 15.0 / 111.2  # ~15 km in degrees of latitude
    lon0, lat0 = 105.0, 22.0
    ii, jj = np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij")
    lon = lon0 + ii.ravel() * step / np.cos(np.radians(lat0 + jj.ravel() * step)) + rng.normal(0, step / 8, ii.size)
    lat = lat0 + jj.ravel() * step + rng.normal(0, step / 8, ii.size)
    idx = (ii * n_side + jj).ravel()
    with (folder / "edges.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["u", "v", "length", "u_lon", "u_lat", "v_lon", "v_lat"])
        for di, dj in ((1, 0), (0, 1)):
            a = idx[(ii.ravel() + di < n_side) & (jj.ravel() + dj < n_side)]
            b = a + di * n_side + dj
            length = 1.25 * haversine_m(lon[a], lat[a], lon[b], lat[b]) / 1000.0
            for u, v, L in zip(a.tolist(), b.tolist(), length.tolist(), strict=True):
                w.writerow([u, v, f"{L:.3f}", f"{lon[u]:.5f}", f"{lat[u]:.5f}", f"{lon[v]:.5f}", f"{lat[v]:.5f}"])

    def jitter(i: np.ndarray, metres: float) -> tuple[np.ndarray, np.ndarray]:
        ang = rng.uniform(0, 2 * np.pi, i.size)
        r = rng.uniform(0, metres, i.size)
        return (
            lon[i] + r * np.sin(ang) / (111_195.0 * np.cos(np.radians(lat[i]))),
            lat[i] + r * np.cos(ang) / 111_195.0,
        )

    s_idx = rng.choice(lon.size, size=stores, replace=False)
    sx, sy = jitter(s_idx, 400.0)
    with (folder / "stores.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "lon", "lat", "grid_kw", "existing"])
        for k in range(stores):
            w.writerow([f"S{k:05d}", f"Store {k}", f"{sx[k]:.6f}", f"{sy[k]:.6f}", rng.choice([400, 630, 1000]),
                        "true" if k < 10 else "false"])  # fmt: skip
    cities = rng.choice(lon.size, size=40, replace=False)
    size = rng.pareto(1.2, 40) + 1.0
    d_idx = np.empty(points, dtype=np.int64)
    city_of = rng.choice(40, size=points, p=size / size.sum())
    for c in range(40):
        m = city_of == c
        ci, cj = divmod(int(cities[c]), n_side)
        oi = np.clip(np.round(ci + rng.normal(0, 2.0, m.sum())), 0, n_side - 1).astype(np.int64)
        oj = np.clip(np.round(cj + rng.normal(0, 2.0, m.sum())), 0, n_side - 1).astype(np.int64)
        d_idx[m] = oi * n_side + oj
    dx, dy = jitter(d_idx, 3000.0)
    segs = rng.choice(["private", "ride_hailing", "taxi"], size=points, p=[0.8, 0.15, 0.05])
    with (folder / "demand.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["lon", "lat", "vehicles", "segment"])
        for k in range(points):
            w.writerow([f"{dx[k]:.6f}", f"{dy[k]:.6f}", int(rng.poisson(6)) + 1, segs[k]])
    (folder / "tariff.csv").write_text("period,price,start,end\nvalley,0.30,0,8\nflat,0.62,8,18\npeak,1.05,18,24\n")
    path = folder / "study.toml"
    path.write_text(STUDY.format(stores=stores, points=points, p=p), encoding="utf-8")
    return path


def peak_rss_gb() -> float:
    """Peak resident memory of this process and its children, GB (ru_maxrss is in KiB on Linux)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024**2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--stores", type=int, default=3_000)
    ap.add_argument("--side", type=int, default=100, help="grid nodes per side of the road network")
    ap.add_argument("--p", type=int, default=300, help="stations to open")
    ap.add_argument("--keep", type=Path, default=None, help="write inputs and report here instead of a temp dir")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        path = make_inputs(folder, n_side=args.side, stores=args.stores, points=args.points, p=args.p, seed=7)
        t_gen = time.perf_counter() - t0
        print(f"inputs: {args.side**2:,} road nodes, {args.stores:,} stores, {args.points:,} demand points "
              f"(generated in {t_gen:.1f} s)", flush=True)  # fmt: skip
        t1 = time.perf_counter()
        res = Study.from_toml(path).run(folder / "report", progress=True)
        wall = time.perf_counter() - t1
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in res.timings.items())
    print(f"stages: {stages}")
    print(
        f"study wall time {wall:.1f} s (target <= 600 s); peak memory {peak_rss_gb():.2f} GB (target <= 8 GB); "
        f"load average (1 min) {load0:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} cores"
    )
    print(f"siting: {res.siting.summary()}")


if __name__ == "__main__":
    main()
