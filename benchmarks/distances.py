"""Benchmark: all-pairs shortest-path lengths on Chicago-Sketch, RoadNetwork.distances() vs networkx.

Run with ``python benchmarks/distances.py``. Needs the shared data folder (see
``swapnet.io.data_dir``). Both sides work on the same graph: the network as
loaded (Chicago-Sketch has ``<FIRST THRU NODE> 1``, so no node is barred from
being passed through) and its :meth:`~swapnet.RoadNetwork.to_networkx` copy.
The values are checked to agree. Target: at least 20x faster than networkx.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np

from swapnet.io import load_network


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    net, _ = load_network("Chicago-Sketch")
    assert net.no_through is None  # same graph on both sides
    G = net.to_networkx()
    n = net.n_nodes
    print(f"Chicago-Sketch: {n} nodes, {net.n_edges} directed links ({G.number_of_edges()} after merging parallels)")

    def ours() -> np.ndarray[Any, np.dtype[np.float64]]:
        fresh = type(net).from_arrays(
            net.tails, net.heads, net.lengths, labels=net.labels, directed=True
        )  # no cached CSR matrix: time includes building it
        return fresh.distances()

    ours_t, d = median_time(ours, 5)

    def baseline() -> dict[Any, dict[Any, float]]:
        return dict(nx.all_pairs_dijkstra_path_length(G, weight="length"))

    base_t, table = median_time(baseline, 3)
    ref = np.full((n, n), np.inf)  # arranging networkx's dicts as a matrix is not timed
    idx = {lab: i for i, lab in enumerate(net.labels)}
    for a, row in table.items():
        for b, v in row.items():
            ref[idx[a], idx[b]] = v
    np.testing.assert_allclose(d, ref, rtol=1e-9)
    print(f"  RoadNetwork.distances()               : {ours_t * 1e3:9.1f} ms (median of 5)")
    print(f"  networkx all_pairs_dijkstra_path_length: {base_t * 1e3:9.1f} ms (median of 3)")
    ratio = base_t / ours_t
    print(
        f"  speed-up                               : {ratio:9.1f}x   target >= 20x: {'OK' if ratio >= 20 else 'MISSED'}"
    )
    print(f"  values agree (rtol 1e-9); {int(np.isfinite(d).sum()):,} finite pairs")


if __name__ == "__main__":
    main()
