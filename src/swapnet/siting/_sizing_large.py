r"""Helpers that keep :func:`~swapnet.siting.size_stations` linear in the number of served pairs at national scale."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import NDArray

from swapnet.network import RoadNetwork

FloatArray = NDArray[np.float64]

_BLOCK_CELLS = 20_000_000
"""Largest (demand nodes x sites) distance block held at once (160 MB of float64)."""


def pair_distances(
    network: RoadNetwork, sources: Sequence[Hashable], targets: Sequence[Hashable], *, limit: float = np.inf
) -> FloatArray:
    """Shortest-path length of every pair ``(sources[k], targets[k])`` (``inf`` beyond ``limit``).

    One search per distinct target (or source, whichever set is smaller) on blocks of the distinct
    nodes, so the cost grows with the number of distinct nodes, not with the square of the number of
    pairs (a pair list of 100,000 entries would otherwise need a 100,000 x 100,000 matrix).

    Parameters
    ----------
    network
        Road network.
    sources, targets
        Node labels, one pair per position (equal lengths).
    limit
        Searches stop beyond this length; farther pairs come back as ``inf``.

    Returns
    -------
    numpy.ndarray
        ``(len(sources),)`` distances.
    """
    if len(sources) != len(targets):
        raise ValueError("sources and targets need equal lengths")
    out = np.full(len(sources), np.inf)
    if not len(sources):
        return out
    si = network.index_of(list(sources), field="sources")
    ti = network.index_of(list(targets), field="targets")
    us, inv_s = np.unique(si, return_inverse=True)
    ut, inv_t = np.unique(ti, return_inverse=True)
    labels = network.labels
    src_labels = [labels[int(k)] for k in us]
    step = max(1, _BLOCK_CELLS // max(1, us.size))
    for a in range(0, ut.size, step):
        sel = (inv_t >= a) & (inv_t < a + step)
        if not sel.any():
            continue
        D = network.distances(src_labels, [labels[int(k)] for k in ut[a : a + step]], limit=limit)
        out[sel] = D[inv_s[sel], inv_t[sel] - a]
    return out
