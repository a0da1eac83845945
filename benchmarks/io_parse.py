"""Benchmark: parsing TNTP files with swapnet.io versus a naive line-by-line parser.

Run with ``python benchmarks/io_parse.py``. Needs the shared data folder (see
``swapnet.io.data_dir``). Prints sizes, the median of several runs for both
parsers, and the ratio. Target: Chicago-Sketch trips (3 MB) in well under 1 s.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from swapnet import ODFlows
from swapnet.io import data_dir, read_tntp_network, read_tntp_trips


def naive_trips(path: Path) -> ODFlows:
    """The obvious parser: one line at a time, int()/float() per item, no validation."""
    origins: list[int] = []
    dests: list[int] = []
    vols: list[float] = []
    origin = -1
    in_header = True
    with open(path, encoding="utf-8-sig") as fh:
        for line in fh:
            s = line.strip()
            if in_header:
                if s.startswith("<END OF METADATA>"):
                    in_header = False
                continue
            if not s or s.startswith("~"):
                continue
            if s.startswith("Origin"):
                origin = int(s.split()[1])
                continue
            for item in s.split(";"):
                if ":" in item:
                    d, v = item.split(":")
                    origins.append(origin)
                    dests.append(int(d))
                    vols.append(float(v))
    return ODFlows(origins, dests, vols)


def naive_net(path: Path) -> tuple[list[int], list[int], list[float]]:
    """The obvious link-file parser: split each line, int()/float() per field."""
    tails: list[int] = []
    heads: list[int] = []
    lengths: list[float] = []
    in_header = True
    with open(path, encoding="utf-8-sig") as fh:
        for line in fh:
            s = line.strip()
            if in_header:
                if s.startswith("<END OF METADATA>"):
                    in_header = False
                continue
            if not s or s.startswith("~"):
                continue
            f = s.rstrip(";").split()
            tails.append(int(f[0]))
            heads.append(int(f[1]))
            lengths.append(float(f[3]))
    return tails, heads, lengths


def median_times(fns: list[Callable[[], Any]], repeats: int) -> tuple[list[float], list[Any]]:
    """Median run time of each function; runs are interleaved so load changes hit all alike."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[Any] = [None] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[k] = fn()
            times[k].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times], outs


def main() -> None:
    d = data_dir() / "Chicago-Sketch"
    trips = d / "ChicagoSketch_trips.tntp"
    net = d / "ChicagoSketch_net.tntp"

    (ours_t, base_t), (flows, naive) = median_times(
        [lambda: read_tntp_trips(trips, drop_zero=False, drop_diagonal=False), lambda: naive_trips(trips)], 9
    )
    assert flows.origins == naive.origins and flows.destinations == naive.destinations
    assert np.array_equal(flows.volumes, naive.volumes)
    print(
        f"Chicago-Sketch trips: {trips.stat().st_size / 1e6:.1f} MB, {len(flows):,} OD items, total {flows.total:,.2f}"
    )
    print(f"  swapnet.io.read_tntp_trips : {ours_t * 1e3:8.1f} ms (median of 9; fully validated, ODFlows)")
    print(f"  naive line-by-line parser  : {base_t * 1e3:8.1f} ms (median of 9; no validation, ODFlows)")
    print(
        f"  ratio naive/ours           : {base_t / ours_t:8.2f}x   target ours < 1000 ms: {'OK' if ours_t < 1 else 'MISSED'}"
    )

    (ours_n, base_n), (network, (t, h, w)) = median_times([lambda: read_tntp_network(net), lambda: naive_net(net)], 15)
    assert network.tails.tolist() == [x - 1 for x in t] and network.heads.tolist() == [x - 1 for x in h]
    assert np.array_equal(network.lengths, np.asarray(w))
    print(f"Chicago-Sketch net: {net.stat().st_size / 1e3:.0f} kB, {network.n_nodes} nodes, {network.n_edges} links")
    print(f"  swapnet.io.read_tntp_network: {ours_n * 1e3:8.2f} ms (median of 15; builds the RoadNetwork)")
    print(f"  naive line-by-line parser   : {base_n * 1e3:8.2f} ms (median of 15; lists only)")
    print(f"  ratio naive/ours            : {base_n / ours_n:8.2f}x")


if __name__ == "__main__":
    main()
