"""Road networks: labelled nodes, weighted edges, fast shortest paths.

A :class:`RoadNetwork` is immutable. Node labels are any hashables supplied by
the user; internally nodes are ``0..n-1`` and edges are numpy arrays, and all
shortest-path work goes through :mod:`scipy.sparse.csgraph` on a CSR matrix
built once per network.

Lengths carry the unit named by :attr:`RoadNetwork.length_unit` (kilometres by
convention; loaders take a ``scale`` to convert).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet import _network_core as _core
from swapnet._network_core import checked_arrays
from swapnet._units import check_units as check_units_of
from swapnet._units import graph_arrays
from swapnet.errors import DisconnectedNetworkError, InvalidInputError, UnknownNodeError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["RoadNetwork"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False, repr=False)
class RoadNetwork:
    """An immutable road network.

    Build one with :meth:`from_edges`, :meth:`from_networkx` or :meth:`from_tntp`
    rather than calling the constructor directly.

    Attributes
    ----------
    labels
        Node labels; node ``i`` internally is ``labels[i]``.
    tails, heads
        Internal indices of each edge's end nodes.
    lengths
        Edge lengths (non-negative, finite), in :attr:`length_unit`.
    directed
        Whether edges are one-way. Undirected edges are usable both ways.
    coords
        ``(n, 2)`` array of node x/y coordinates, or ``None``.
    coord_crs
        ``"lonlat"`` when coords are longitude/latitude degrees (distances for
        :meth:`nearest_node` are then great-circle), else ``"planar"``.
    no_through
        Boolean mask of nodes that may start or end a path but never be passed
        through (TNTP zones below the first through node), or ``None``.
    length_unit
        Unit of :attr:`lengths`, for display.
    name
        Optional name.
    """

    labels: tuple[Hashable, ...]
    tails: IntArray
    heads: IntArray
    lengths: FloatArray
    directed: bool = False
    coords: FloatArray | None = None
    coord_crs: str = "planar"
    no_through: BoolArray | None = None
    length_unit: str = "km"
    name: str = ""
    _index: dict[Hashable, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        labels, index, tails, heads, lengths, coords, no_through = checked_arrays(
            self.labels, self.tails, self.heads, self.lengths, self.coords, self.coord_crs, self.no_through
        )
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "tails", tails)
        object.__setattr__(self, "heads", heads)
        object.__setattr__(self, "lengths", lengths)
        object.__setattr__(self, "coords", coords)
        object.__setattr__(self, "no_through", no_through)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[Hashable, Hashable, float]],
        *,
        directed: bool = False,
        coords: Mapping[Hashable, tuple[float, float]] | None = None,
        nodes: Iterable[Hashable] | None = None,
        allow_self_loops: bool = False,
        coord_crs: str = "planar",
        length_unit: str = "km",
        name: str = "",
    ) -> RoadNetwork:
        """Build a network from ``(u, v, length)`` triples.

        Parameters
        ----------
        edges
            Edge triples; labels are any hashables.
        directed
            Treat edges as one-way.
        coords
            Optional ``{label: (x, y)}``; when given, every node needs one.
        nodes
            Extra (possibly isolated) nodes, and the node order to use first.
        allow_self_loops
            Self-loops are rejected unless this is true (they never shorten a path).
        coord_crs, length_unit, name
            Stored as given; see the class attributes.

        Raises
        ------
        InvalidInputError
            On NaN or negative lengths, self-loops, malformed triples, or missing coordinates.
        """
        labels, t, h, w, xy = _core.edge_arrays(edges, nodes, coords, allow_self_loops)
        return cls(
            labels,
            t,
            h,
            w,
            directed=directed,
            coords=xy,
            coord_crs=coord_crs,
            length_unit=length_unit,
            name=name,
        )

    @classmethod
    def from_arrays(
        cls,
        tails: ArrayLike,
        heads: ArrayLike,
        lengths: ArrayLike,
        *,
        labels: Sequence[Hashable] | None = None,
        directed: bool = False,
        coords: ArrayLike | None = None,
        coord_crs: str = "planar",
        no_through: ArrayLike | None = None,
        allow_self_loops: bool = False,
        length_unit: str = "km",
        name: str = "",
    ) -> RoadNetwork:
        """Build a network from index arrays (the fast path used by loaders and generators).

        ``tails``/``heads`` are internal indices ``0..n-1``; ``labels`` defaults
        to ``range(n)`` with ``n = max index + 1``.
        """
        t = np.asarray(tails, dtype=np.int64).ravel()
        h = np.asarray(heads, dtype=np.int64).ravel()
        if labels is None:
            n = int(max(t.max(initial=-1), h.max(initial=-1))) + 1
            labels = tuple(range(n))
        if not allow_self_loops:
            _core.refuse_self_loops(t, h, labels)
        return cls(
            tuple(labels),
            t,
            h,
            np.asarray(lengths, dtype=np.float64).ravel(),
            directed=directed,
            coords=None if coords is None else np.asarray(coords, dtype=np.float64),
            coord_crs=coord_crs,
            no_through=None if no_through is None else np.asarray(no_through, dtype=bool),
            length_unit=length_unit,
            name=name,
        )

    @classmethod
    def from_networkx(
        cls,
        G: nx.Graph[Any],
        *,
        length_unit: str | None = None,
        length: str = "length",
        scale: float | None = None,
        x: str = "x",
        y: str = "y",
        default_length: float | None = None,
        allow_self_loops: bool = False,
        check_units: bool = True,
        name: str = "",
    ) -> RoadNetwork:
        """Build a network from a networkx graph (plain or an OSMnx ``MultiDiGraph``).

        Lengths are converted to kilometres (the library's convention); the
        result's :attr:`length_unit` is ``"km"``. The unit of the graph's
        lengths is never guessed: it comes from ``length_unit``, else from the
        graph itself (a ``G.graph["length_unit"]`` entry, or a ``crs`` entry,
        which OSMnx graphs carry and whose ``length`` is in metres). See
        the "Your own data" guide (docs) for the details.

        Parameters
        ----------
        G
            Any networkx graph. Directedness is taken from the graph. Parallel
            edges of a multigraph keep the shortest.
        length_unit
            ``"m"``, ``"km"`` or ``"mi"``: the unit of the edge attribute
            ``length``. Required when the graph does not say.
        length
            Edge attribute holding the length.
        scale
            Explicit factor from the graph's lengths to kilometres (instead of
            ``length_unit``; not both).
        x, y
            Node attributes with coordinates; used only when every node has both.
            For OSMnx graphs in lon/lat the network's ``coord_crs`` is ``"lonlat"``.
        default_length
            Length for edges lacking the attribute; by default such edges are an error.
        allow_self_loops
            As in :meth:`from_edges`: a self-loop is refused unless this is true (then it is kept;
            it never shortens a path).
        check_units
            Check that the converted lengths are plausible (see
            :func:`swapnet.io.graphs.check_length_units`).
        name
            Optional name (defaults to ``G.graph["name"]``).

        Raises
        ------
        InvalidInputError
            When the unit is unknown or implausible; an edge length that is missing, not a
            number (e.g. ``"abc"``), negative or not finite, or overflows when converted (named by
            edge and attribute); a coordinate that is not a number (e.g. ``y="north"``); a
            self-loop (unless ``allow_self_loops``).
        """
        a = graph_arrays(
            G,
            length_unit=length_unit,
            length=length,
            scale=scale,
            x=x,
            y=y,
            default_length=default_length,
            allow_self_loops=allow_self_loops,
        )
        net = cls(
            a.labels,
            a.tails,
            a.heads,
            a.lengths,
            directed=a.directed,
            coords=a.coords,
            coord_crs=a.coord_crs,
            length_unit="km",
            name=name or a.name,
        )
        if check_units and not a.explicit:
            check_units_of(a.lengths, a.tails, a.heads, net.coords, a.coord_crs == "lonlat", a.unit)
        return net

    @classmethod
    def from_tntp(
        cls,
        net_file: str | os.PathLike[str],
        node_file: str | os.PathLike[str] | None = None,
        *,
        length: str = "length",
        scale: float = 1.0,
        length_unit: str | None = None,
        coord_crs: str = "planar",
        name: str | None = None,
    ) -> RoadNetwork:
        """Read a TNTP ``*_net.tntp`` file (and optionally a ``*_node.tntp`` file).

        Links are directed; labels are the node numbers ``1..<NUMBER OF NODES>``. Zones
        numbered below ``<FIRST THRU NODE>`` are marked :attr:`no_through`. See
        :func:`swapnet.io.read_tntp_network` for the arguments and errors.
        """
        from swapnet._tntp import parse_network

        t = parse_network(net_file, node_file, length=length, scale=scale)
        return cls.from_arrays(
            t.tails,
            t.heads,
            t.lengths,
            labels=tuple(range(1, t.n_nodes + 1)),
            directed=True,
            coords=t.coords,
            coord_crs=coord_crs,
            no_through=np.arange(1, t.n_nodes + 1) < t.first_thru,
            length_unit="unknown" if length_unit is None else length_unit,
            name=t.name if name is None else name,
        )

    def to_networkx(self) -> nx.Graph[Any]:
        """Return a networkx ``Graph``/``DiGraph`` with ``length`` edge and ``x``/``y`` node attributes.

        The graph attribute ``length_unit`` names the lengths' unit, so
        :meth:`from_networkx` reads the graph back without being told.

        Parallel edges collapse to the shortest.
        """
        import networkx as nx

        G: nx.Graph[Any] = nx.DiGraph() if self.directed else nx.Graph()
        G.graph["name"] = self.name
        G.graph["length_unit"] = self.length_unit
        if self.coords is not None:
            G.add_nodes_from(
                (lab, {"x": float(c[0]), "y": float(c[1])}) for lab, c in zip(self.labels, self.coords, strict=True)
            )
        else:
            G.add_nodes_from(self.labels)
        m = self._dedup
        lab = self.labels
        G.add_weighted_edges_from(
            ((lab[u], lab[v], float(w)) for u, v, w in zip(m[0], m[1], m[2], strict=True)), weight="length"
        )
        if self.no_through is not None:
            for i in np.flatnonzero(self.no_through):
                G.nodes[lab[int(i)]]["no_through"] = True
        return G

    # --------------------------------------------------------------- basic facts
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.labels)

    @property
    def n_edges(self) -> int:
        """Number of stored edges (as given; undirected edges count once)."""
        return int(self.tails.size)

    def __len__(self) -> int:
        return self.n_nodes

    def __contains__(self, label: object) -> bool:
        try:
            return label in self._index
        except TypeError:
            return False

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        nm = f" {self.name!r}" if self.name else ""
        return f"RoadNetwork{nm}({self.n_nodes} nodes, {self.n_edges} {kind} edges, {self.length_unit})"

    def index_of(self, labels: Iterable[Hashable] | Hashable, *, field: str = "node") -> IntArray:
        """Internal indices of ``labels``.

        A single label that is not a list/tuple/array gives a 1-element array.

        Raises
        ------
        UnknownNodeError
            When a label is not a node; the error names ``field`` and the label.
        """
        if isinstance(labels, (list, tuple, np.ndarray, range)) or (
            isinstance(labels, Iterable) and not isinstance(labels, (str, bytes))
        ):
            seq = list(labels)
        else:
            seq = [labels]
        out = np.empty(len(seq), dtype=np.int64)
        get = self._index.get
        for k, lab in enumerate(seq):
            try:
                i = get(lab)
            except TypeError:
                i = None
            if i is None:
                raise UnknownNodeError(field, lab, f"not a node of {self!r}")
            out[k] = i
        return out

    def label(self, i: int) -> Hashable:
        """Label of internal node ``i``."""
        return self.labels[int(i)]

    # ---------------------------------------------------------------- adjacency
    @cached_property
    def _dedup(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Edges with parallel copies reduced to the shortest (undirected: one orientation)."""
        return _core.dedup_edges(self.tails, self.heads, self.lengths, self.directed)

    @cached_property
    def _search_graph(self) -> sp.csr_matrix:
        """CSR matrix used by Dijkstra (see :func:`swapnet._network_core.search_graph`)."""
        return _core.search_graph(self.n_nodes, self._dedup, self.directed, self.no_through)

    def _run_dijkstra(
        self, src: IntArray, *, predecessors: bool = False, limit: float = np.inf
    ) -> tuple[FloatArray, IntArray | None]:
        rows = _core.source_rows(self.n_nodes, self.no_through, src)
        zero = self._has_zero
        return _core.dijkstra(
            self._search_graph, self.n_nodes, rows, src, predecessors=predecessors, limit=limit, has_zero=zero
        )

    @cached_property
    def _has_zero(self) -> bool:
        return bool((self.lengths == 0).any())

    # ------------------------------------------------------------ shortest paths
    def distances(
        self,
        sources: Iterable[Hashable] | None = None,
        targets: Iterable[Hashable] | None = None,
        *,
        limit: float = np.inf,
    ) -> FloatArray:
        """Shortest-path lengths between node sets.

        Parameters
        ----------
        sources, targets
            Node labels; ``None`` means all nodes (in :attr:`labels` order).
        limit
            Stop searching beyond this length (faster for local queries);
            farther targets come back as ``inf``.

        Returns
        -------
        numpy.ndarray
            ``(len(sources), len(targets))`` float array; ``inf`` where unreachable.
        """
        src = np.arange(self.n_nodes) if sources is None else self.index_of(sources, field="sources")
        tgt = None if targets is None else self.index_of(targets, field="targets")
        if src.size == 0:
            return np.zeros((0, self.n_nodes if tgt is None else tgt.size))
        # Dijkstra on the reverse graph from the targets is cheaper when there are fewer targets.
        if tgt is not None and tgt.size < src.size and self.no_through is None:
            rev = self.reversed()
            return rev._run_dijkstra(tgt, limit=limit)[0][:, src].T.copy()
        d, _ = self._run_dijkstra(src, limit=limit)
        return d if tgt is None else d[:, tgt]

    def reversed(self) -> RoadNetwork:
        """The network with every edge reversed (itself when undirected)."""
        if not self.directed:
            return self
        return dataclasses.replace(self, tails=self.heads, heads=self.tails)

    def shortest_paths(
        self, origins: Sequence[Hashable], destinations: Sequence[Hashable]
    ) -> list[tuple[Hashable, ...]]:
        """Shortest paths for the pairs ``zip(origins, destinations)``, as label sequences.

        One Dijkstra per distinct origin. Ties are broken by scipy's search order.

        Raises
        ------
        DisconnectedNetworkError
            When a destination cannot be reached from its origin.
        """
        if len(origins) != len(destinations):
            raise InvalidInputError(
                "destinations", len(destinations), f"needs as many entries as origins ({len(origins)})"
            )
        o = self.index_of(origins, field="origins")
        t = self.index_of(destinations, field="destinations")
        uniq, inv = np.unique(o, return_inverse=True)
        d, pred = self._run_dijkstra(uniq, predecessors=True)
        assert pred is not None
        n = self.n_nodes
        out: list[tuple[Hashable, ...]] = []
        labels = self.labels
        for k in range(o.size):
            row = int(inv[k])
            s, e = int(o[k]), int(t[k])
            if not np.isfinite(d[row, e]):
                raise DisconnectedNetworkError("destinations", labels[e], f"unreachable from origin {labels[s]!r}")
            out.append(tuple(labels[i] for i in _core.walk_back(pred[row], s, e, n)))
        return out

    def path_length(self, path: Sequence[Hashable]) -> float:
        """Length of a walk given as node labels, using the shortest edge between consecutive nodes.

        Raises
        ------
        InvalidInputError
            When consecutive nodes are not joined by an edge (the path is not a walk).
        """
        idx = self.index_of(path, field="path")
        if idx.size < 2:
            return 0.0
        lens = self.edge_lengths(idx[:-1], idx[1:])
        bad = np.isnan(lens)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                "path", (path[k], path[k + 1]), "consecutive nodes are not joined by an edge: not a walk"
            )
        return float(lens.sum())

    def edge_lengths(self, u: ArrayLike, v: ArrayLike) -> FloatArray:
        """Length of edge ``u -> v`` for internal index arrays; NaN where there is no such edge."""
        uu = np.asarray(u, dtype=np.int64)
        vv = np.asarray(v, dtype=np.int64)
        return _core.lookup_edges(self._dedup, self.n_nodes, self.directed, uu, vv)

    # ------------------------------------------------------------- connectivity
    @cached_property
    def _components(self) -> tuple[int, IntArray]:
        return _core.components(self._dedup, self.n_nodes, self.directed)

    def is_connected(self) -> bool:
        """Whether every node reaches every other (strongly, for directed networks)."""
        return self._components[0] == 1

    def components(self) -> list[tuple[Hashable, ...]]:
        """(Strongly) connected components as label tuples, largest first."""
        return [tuple(self.labels[int(i)] for i in g) for g in _core.component_groups(self._components[1])]

    def require_connected(self, nodes: Iterable[Hashable] | None = None, *, field: str = "network") -> None:
        """Raise :class:`DisconnectedNetworkError` unless ``nodes`` (default: all) are mutually reachable."""
        ncomp, lab = self._components
        if ncomp == 1:
            return
        idx = np.arange(self.n_nodes) if nodes is None else self.index_of(nodes)
        comps = np.unique(lab[idx])
        if comps.size > 1:
            main = np.bincount(lab[idx]).argmax()
            stray = idx[lab[idx] != main]
            raise DisconnectedNetworkError(
                field,
                self.labels[int(stray[0])],
                f"network has {ncomp} components; {stray.size} node(s), e.g. this one, "
                "cannot reach the largest; use largest_component()",
            )

    def largest_component(self) -> RoadNetwork:
        """The subnetwork induced by the largest (strongly) connected component."""
        if self.is_connected():
            return self
        return self.subnetwork(self.components()[0])

    def subnetwork(self, nodes: Iterable[Hashable]) -> RoadNetwork:
        """The subnetwork induced by ``nodes`` (kept in this network's order)."""
        idx = np.unique(self.index_of(nodes))
        new = np.full(self.n_nodes, -1, dtype=np.int64)
        new[idx] = np.arange(idx.size)
        keep = (new[self.tails] >= 0) & (new[self.heads] >= 0)
        return RoadNetwork(
            tuple(self.labels[int(i)] for i in idx),
            new[self.tails[keep]],
            new[self.heads[keep]],
            self.lengths[keep],
            directed=self.directed,
            coords=None if self.coords is None else self.coords[idx],
            coord_crs=self.coord_crs,
            no_through=None if self.no_through is None else self.no_through[idx],
            length_unit=self.length_unit,
            name=self.name,
        )

    # ------------------------------------------------------------------ geometry
    def nearest_node(self, x: ArrayLike, y: ArrayLike) -> Any:
        """Label(s) of the node(s) nearest to point(s) ``(x, y)``.

        For ``coord_crs == "lonlat"`` nearness is great-circle distance.
        Scalars in give a label out; arrays give a list of labels.

        Raises
        ------
        InvalidInputError
            When the network has no coordinates or a point is not finite.
        """
        from scipy.spatial import cKDTree

        if self.coords is None:
            raise InvalidInputError("coords", None, "network has no coordinates")
        xs = np.asarray(x, dtype=np.float64)
        ys = np.asarray(y, dtype=np.float64)
        scalar = xs.ndim == 0 and ys.ndim == 0
        xs, ys = np.broadcast_arrays(np.atleast_1d(xs), np.atleast_1d(ys))
        if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise InvalidInputError("x, y", (x, y), "points must be finite")
        lonlat = self.coord_crs == "lonlat"
        tree = cKDTree(_core.kd_points(self.coords[:, 0], self.coords[:, 1], lonlat))
        _, k = tree.query(_core.kd_points(xs, ys, lonlat))
        labs = [self.labels[int(i)] for i in np.atleast_1d(k)]
        return labs[0] if scalar else labs
