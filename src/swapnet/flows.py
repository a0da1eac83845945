"""Origin-destination flows of vehicles, with optional explicit paths."""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from swapnet import _validate as _v
from swapnet.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from swapnet.network import RoadNetwork

__all__ = ["ODFlows"]


@dataclass(frozen=True, eq=False, init=False, repr=False)
class ODFlows:
    """Origin-destination flows.

    Parameters
    ----------
    origins, destinations
        Node labels, one per flow.
    volumes
        Flow volume per OD pair (vehicles or trips per day), finite and non-negative.
    paths
        Optional explicit routes, one node sequence per flow, each starting at
        its origin and ending at its destination. Checked against a network by
        :meth:`check`.

    Attributes
    ----------
    origins, destinations : tuple
        As given.
    volumes : numpy.ndarray
        Read-only float array.
    paths : tuple of tuple, optional
        As given.
    """

    origins: tuple[Hashable, ...]
    destinations: tuple[Hashable, ...]
    volumes: NDArray[np.float64]
    paths: tuple[tuple[Hashable, ...], ...] | None

    def __init__(
        self,
        origins: Iterable[Hashable],
        destinations: Iterable[Hashable],
        volumes: ArrayLike,
        paths: Iterable[Sequence[Hashable]] | None = None,
    ) -> None:
        o = tuple(origins)
        d = tuple(destinations)
        v = _v.array(volumes, "volumes", finite=False).ravel().copy()
        if len(o) != len(d) or len(o) != v.size:
            raise InvalidInputError(
                "volumes", (len(o), len(d), v.size), "origins, destinations and volumes need equal lengths"
            )
        bad = ~np.isfinite(v) | (v < 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"volumes[{k}]", float(v[k]), "volumes must be finite and non-negative")
        v.flags.writeable = False
        p: tuple[tuple[Hashable, ...], ...] | None = None
        if paths is not None:
            p = tuple(tuple(x) for x in paths)
            if len(p) != len(o):
                raise InvalidInputError("paths", len(p), f"needs one path per flow ({len(o)})")
            for k, (path, a, b) in enumerate(zip(p, o, d, strict=True)):
                if not path or path[0] != a or path[-1] != b:
                    raise InvalidInputError(
                        f"paths[{k}]", path, f"must start at origin {a!r} and end at destination {b!r}"
                    )
        object.__setattr__(self, "origins", o)
        object.__setattr__(self, "destinations", d)
        object.__setattr__(self, "volumes", v)
        object.__setattr__(self, "paths", p)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_tntp(
        cls, trips_file: str | os.PathLike[str], *, drop_zero: bool = True, drop_diagonal: bool = True
    ) -> ODFlows:
        """Read a TNTP ``*_trips.tntp`` file (see :func:`swapnet.io.read_tntp_trips`)."""
        from swapnet._tntp import parse_trips

        t = parse_trips(trips_file, drop_zero=drop_zero, drop_diagonal=drop_diagonal)
        return cls(t.origins.tolist(), t.destinations.tolist(), t.volumes)

    @classmethod
    def from_matrix(
        cls,
        matrix: ArrayLike,
        labels: Sequence[Hashable] | None = None,
        *,
        drop_zero: bool = True,
        drop_diagonal: bool = True,
    ) -> ODFlows:
        """Flows from a dense square OD matrix (rows origins, columns destinations).

        Parameters
        ----------
        matrix
            ``(n, n)`` array of non-negative volumes.
        labels
            Node label of each row/column; default ``0..n-1``.
        drop_zero, drop_diagonal
            Leave out zero entries and intra-zonal (diagonal) entries.
        """
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise InvalidInputError("matrix", m.shape, "must be a square 2-D array")
        n = m.shape[0]
        labs: tuple[Hashable, ...] = tuple(range(n)) if labels is None else tuple(labels)
        if len(labs) != n:
            raise InvalidInputError("labels", len(labs), f"needs {n} labels")
        bad = ~np.isfinite(m) | (m < 0)
        if bad.any():
            bi, bj = (int(a[0]) for a in np.nonzero(bad))
            raise InvalidInputError(f"matrix[{bi}, {bj}]", float(m[bi, bj]), "volumes must be finite and non-negative")
        keep = np.ones_like(m, dtype=bool)
        if drop_zero:
            keep &= m > 0
        if drop_diagonal:
            np.fill_diagonal(keep, False)
        i, j = np.nonzero(keep)
        return cls([labs[a] for a in i], [labs[b] for b in j], m[i, j])

    @classmethod
    def gravity(
        cls,
        network: RoadNetwork,
        weights: dict[Hashable, float] | Sequence[float] | NDArray[np.float64],
        *,
        beta: float = 1.5,
        nodes: Sequence[Hashable] | None = None,
        scale: float = 1.0,
        min_volume: float = 0.0,
        symmetric: bool = True,
    ) -> ODFlows:
        """Gravity-model flows ``f_ij = scale * W_i W_j / d_ij**beta`` between weighted nodes.

        This is how the classic 25-node flow-refuelling instances are generated
        (Kuby & Lim 2005, ``beta = 1.5``).

        Parameters
        ----------
        network
            Road network giving shortest-path distances ``d_ij``.
        weights
            ``{label: W}`` or a sequence aligned with ``nodes`` (default: all nodes).
        beta
            Distance-decay exponent (>= 0).
        nodes
            Nodes generating trips when ``weights`` is a sequence.
        scale
            Multiplier on every volume.
        min_volume
            Drop pairs below this volume.
        symmetric
            Keep only ``i < j`` (one flow per unordered pair, the usual FRLM
            convention, since round trips are modelled) when true; both directions otherwise.

        Raises
        ------
        InvalidInputError
            On negative weights, ``beta < 0``, or zero distance between distinct weighted nodes.
        """
        if isinstance(weights, dict):
            labs = list(weights)
            w = np.asarray([weights[k] for k in labs], dtype=np.float64)
        else:
            labs = list(network.labels) if nodes is None else list(nodes)
            w = np.asarray(weights, dtype=np.float64).ravel()
            if w.size != len(labs):
                raise InvalidInputError("weights", w.size, f"needs one weight per node ({len(labs)})")
        if not np.isfinite(w).all() or (w < 0).any():
            raise InvalidInputError("weights", w.tolist()[:5], "weights must be finite and non-negative")
        if not np.isfinite(beta) or beta < 0:
            raise InvalidInputError("beta", beta, "must be finite and >= 0")
        d = network.distances(labs, labs)
        n = len(labs)
        iu, ju = np.triu_indices(n, 1) if symmetric else np.nonzero(~np.eye(n, dtype=bool))
        dij = d[iu, ju]
        ww = w[iu] * w[ju]
        pos = ww > 0
        if (dij[pos] == 0).any():
            k = int(np.flatnonzero(pos & (dij == 0))[0])
            raise InvalidInputError("network", (labs[iu[k]], labs[ju[k]]), "zero distance between weighted nodes")
        reach = np.isfinite(dij) & pos
        vol = np.zeros(dij.shape)
        vol[reach] = scale * ww[reach] / dij[reach] ** beta
        keep = reach & (vol >= min_volume) & (vol > 0)
        return cls([labs[a] for a in iu[keep]], [labs[b] for b in ju[keep]], vol[keep])

    # --------------------------------------------------------------- utilities
    def __len__(self) -> int:
        return len(self.origins)

    def __repr__(self) -> str:
        p = ", with paths" if self.paths is not None else ""
        return f"ODFlows({len(self)} flows, total {self.total:,.6g}{p})"

    @property
    def total(self) -> float:
        """Sum of all volumes."""
        return float(self.volumes.sum())

    def check(self, network: RoadNetwork) -> None:
        """Check every origin, destination and path against ``network``.

        Raises
        ------
        UnknownNodeError
            When an origin, destination or path node is not in the network.
        InvalidInputError
            When a path is not a walk on the network (consecutive nodes not joined).
        """
        network.index_of(self.origins, field="origins")
        network.index_of(self.destinations, field="destinations")
        if self.paths is None:
            return
        for k, path in enumerate(self.paths):
            idx = network.index_of(path, field=f"paths[{k}]")
            if idx.size > 1:
                lens = network.edge_lengths(idx[:-1], idx[1:])
                if np.isnan(lens).any():
                    j = int(np.flatnonzero(np.isnan(lens))[0])
                    raise InvalidInputError(
                        f"paths[{k}]", (path[j], path[j + 1]), "consecutive nodes are not joined by an edge"
                    )

    def with_shortest_paths(self, network: RoadNetwork) -> ODFlows:
        """A copy whose paths are the shortest paths on ``network``."""
        paths = network.shortest_paths(self.origins, self.destinations)
        return ODFlows(self.origins, self.destinations, self.volumes, paths)

    def path_indices(self, network: RoadNetwork) -> list[NDArray[np.int64]]:
        """Each flow's path as internal node indices (shortest paths when none were given)."""
        self.check(network)
        paths = self.paths if self.paths is not None else network.shortest_paths(self.origins, self.destinations)
        return [network.index_of(p) for p in paths]

    def select(self, mask: ArrayLike) -> ODFlows:
        """The flows where boolean ``mask`` is true (or at integer positions ``mask``)."""
        m = np.asarray(mask)
        pos = np.flatnonzero(m) if m.dtype == bool else m.astype(np.int64)
        return ODFlows(
            [self.origins[i] for i in pos],
            [self.destinations[i] for i in pos],
            self.volumes[pos],
            None if self.paths is None else [self.paths[i] for i in pos],
        )

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with columns ``origin``, ``destination``, ``volume`` (and ``path``)."""
        import pandas as pd

        data: dict[str, Any] = {
            "origin": list(self.origins),
            "destination": list(self.destinations),
            "volume": self.volumes,
        }
        if self.paths is not None:
            data["path"] = list(self.paths)
        return pd.DataFrame(data)

    def to_matrix(self, labels: Sequence[Hashable]) -> NDArray[np.float64]:
        """Dense OD matrix over ``labels`` (volumes of repeated pairs add up)."""
        index = {lab: i for i, lab in enumerate(labels)}
        try:
            i = np.fromiter((index[o] for o in self.origins), dtype=np.int64, count=len(self))
            j = np.fromiter((index[d] for d in self.destinations), dtype=np.int64, count=len(self))
        except KeyError as e:
            raise InvalidInputError("labels", e.args[0], "flow endpoint missing from labels") from None
        m = np.zeros((len(labels), len(labels)))
        np.add.at(m, (i, j), self.volumes)
        return m
