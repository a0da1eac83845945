"""Random flow-refuelling cases shared by the flow test files: a line road network with chords and OD flows."""

from __future__ import annotations

import numpy as np

from swapnet import ODFlows, RoadNetwork


def line_with_chords(
    rng: np.random.Generator,
    n: int,
    chords: int,
    chord_cost: tuple[int, int],
    n_flows: int,
    volumes: tuple[int, int] | None = None,
) -> tuple[RoadNetwork, ODFlows]:
    """``n`` nodes on a line (edge costs 1-5) plus ``chords`` random chords, and ``n_flows`` random OD flows.

    Chord costs are integers in ``[chord_cost[0], chord_cost[1])``; flow volumes integers in
    ``[volumes[0], volumes[1])``, or uniform in ``[0, 1)`` when ``volumes`` is ``None``.
    """
    edges = [(i, i + 1, float(rng.integers(1, 6))) for i in range(n - 1)]
    lo, hi = chord_cost
    edges += [(int(a), int(b), float(rng.integers(lo, hi))) for a, b in rng.integers(0, n, (chords, 2)) if a != b]
    o = rng.integers(0, n, n_flows)
    d = (o + rng.integers(1, n, n_flows)) % n
    vol = rng.random(n_flows) if volumes is None else rng.integers(volumes[0], volumes[1], n_flows).astype(float)
    return RoadNetwork.from_edges(edges), ODFlows(o.tolist(), d.tolist(), vol)
