"""Readers and writers for the TNTP formats of *Transportation Networks for Research*.

Three file kinds are handled:

``*_net.tntp``
    A metadata header (``<NUMBER OF NODES> 24`` ... ``<END OF METADATA>``)
    followed by one directed link per line: ``init_node term_node capacity
    length free_flow_time b power speed toll link_type ;``.
``*_node.tntp``
    ``Node X Y ;`` rows after a header line.
``*_trips.tntp``
    A metadata header, then ``Origin i`` blocks of ``j : volume;`` items,
    several per line.

All readers accept a UTF-8 byte-order mark, CR, LF or CRLF line endings, tabs
or spaces, trailing whitespace and ``~`` comment lines, and report malformed
input as :class:`~swapnet.errors.FileFormatError` naming the file and the
1-based line number. The parsing itself lives in the private ``swapnet._tntp``
(below the domain model, returning arrays); writers write atomically.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from swapnet import _atomic
from swapnet import _validate as _v
from swapnet._tntp import LENGTH_COLUMNS, FloatArray, IntArray, PathLike, parse_flow, parse_nodes
from swapnet.errors import InvalidInputError
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LENGTH_COLUMNS",
    "PathLike",
    "read_tntp_flow",
    "read_tntp_network",
    "read_tntp_nodes",
    "read_tntp_trips",
    "write_tntp_network",
    "write_tntp_trips",
]


# --------------------------------------------------------------------------- readers
def read_tntp_network(
    net_file: PathLike,
    node_file: PathLike | None = None,
    *,
    length: str = "length",
    scale: float = 1.0,
    length_unit: str | None = None,
    coord_crs: str = "planar",
    name: str | None = None,
) -> RoadNetwork:
    """Read a TNTP ``*_net.tntp`` file, and optionally its ``*_node.tntp`` file.

    Parameters
    ----------
    net_file
        The network file.
    node_file
        Optional node-coordinate file (``Node X Y ;``); every node needs a row.
    length
        Link attribute used as the edge length: ``"length"`` (column 4) or
        ``"free_flow_time"`` (column 5).
    scale
        Positive factor applied to that column (e.g. ``0.0003048`` for feet to km).
    length_unit
        Unit of the scaled lengths, stored on the network; ``None`` means
        ``"unknown"`` (TNTP files do not state their units).
    coord_crs
        ``"planar"`` or ``"lonlat"``, for the node coordinates.
    name
        Network name; defaults to the file name without ``_net.tntp``.

    Returns
    -------
    RoadNetwork
        A directed network whose labels are the node numbers ``1..<NUMBER OF
        NODES>`` (isolated nodes included). Nodes numbered below ``<FIRST THRU
        NODE>`` (zones that may not be passed through) are marked
        :attr:`~swapnet.RoadNetwork.no_through`.

    Raises
    ------
    FileFormatError
        On a missing or malformed header, a link count differing from
        ``<NUMBER OF LINKS>``, a ``<NUMBER OF NODES>`` far above the nodes the links
        use (checked before allocating), a non-numeric field, a node number outside
        ``1..<NUMBER OF NODES>``, a self-loop, a negative length, or a length that
        overflows when scaled; the message names the file and line.
    InvalidInputError
        On a bad ``length`` or ``scale`` argument.
    OSError
        When a file cannot be read.
    """
    return RoadNetwork.from_tntp(
        net_file, node_file, length=length, scale=scale, length_unit=length_unit, coord_crs=coord_crs, name=name
    )


def read_tntp_nodes(node_file: PathLike, n_nodes: int | None = None) -> FloatArray:
    """Read a TNTP ``*_node.tntp`` coordinate file.

    Parameters
    ----------
    node_file
        File with a header line (``Node X Y ;``) and one ``id x y`` row per node;
        extra columns, blank columns and a trailing ``;`` are ignored.
    n_nodes
        Expected number of nodes; default: the largest id in the file.

    Returns
    -------
    numpy.ndarray
        ``(n_nodes, 2)`` array; row ``i`` holds node ``i + 1``.

    Raises
    ------
    FileFormatError
        On non-numeric fields, ids outside ``1..n_nodes``, repeated ids or
        nodes without a row.
    """
    return parse_nodes(node_file, n_nodes)


def read_tntp_trips(trips_file: PathLike, *, drop_zero: bool = True, drop_diagonal: bool = True) -> ODFlows:
    """Read a TNTP ``*_trips.tntp`` demand file.

    Parameters
    ----------
    trips_file
        File with an optional metadata header, then ``Origin i`` lines each
        followed by ``j : volume;`` items (any number per line; an item may not
        span lines).
    drop_zero
        Leave out items with zero volume.
    drop_diagonal
        Leave out intra-zonal items (``i == j``).

    Returns
    -------
    ODFlows
        One flow per kept item, in file order; labels are the zone numbers.

    Raises
    ------
    FileFormatError
        On a malformed or truncated item, non-numeric values, negative volumes,
        zones outside ``1..<NUMBER OF ZONES>``, or a ``<TOTAL OD FLOW>`` that
        differs from the sum of all items by more than a relative 1e-6; the
        message names the file and line.
    """
    return ODFlows.from_tntp(trips_file, drop_zero=drop_zero, drop_diagonal=drop_diagonal)


def read_tntp_flow(flow_file: PathLike) -> pd.DataFrame:
    """Read a TNTP ``*_flow.tntp`` link-flow solution.

    Returns
    -------
    pandas.DataFrame
        Columns ``from``, ``to`` (int node numbers), ``volume`` and ``cost`` (float),
        one row per link in file order.

    Raises
    ------
    FileFormatError
        On rows with fewer than four fields or non-numeric values.
    """
    import pandas as pd

    return pd.DataFrame(parse_flow(flow_file))


# --------------------------------------------------------------------------- writers
def _tntp_ids(labels: Sequence[Hashable], field: str) -> IntArray:
    """Node numbers for TNTP: the labels must be the integers ``1..n`` (any order)."""
    n = len(labels)
    if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in labels):
        raise InvalidInputError(field, list(labels[:5]), "TNTP needs integer node labels 1..n")
    ids = np.asarray(labels, dtype=np.int64)
    if n and not np.array_equal(np.sort(ids), np.arange(1, n + 1)):
        raise InvalidInputError(field, ids[:5].tolist(), f"TNTP needs the node labels to be exactly 1..{n}")
    return ids


def write_tntp_network(
    network: RoadNetwork,
    path: PathLike,
    node_path: PathLike | None = None,
    *,
    zones: int | None = None,
) -> None:
    """Write ``network`` as a TNTP ``*_net.tntp`` file (and its coordinates as a node file).

    Lengths go to both the ``length`` and ``free_flow_time`` columns, written
    with full (round-trip) precision. Undirected edges are written as two links.
    No-through nodes must be ``1..k-1``; they set ``<FIRST THRU NODE> = k``.

    Parameters
    ----------
    network
        Network whose labels are the integers ``1..n``.
    path
        Output network file.
    node_path
        Optional output node file; requires coordinates.
    zones
        ``<NUMBER OF ZONES>``; default ``FIRST THRU NODE - 1`` when there are
        no-through nodes, else the number of nodes.

    Raises
    ------
    InvalidInputError
        When the labels are not ``1..n``, the no-through nodes are not a prefix,
        or ``node_path`` is given for a network without coordinates.
    StorageError
        When a file cannot be written (e.g. the disk is full). Each file is written
        atomically: a reader sees the previous file or the complete new one.
    """
    ids = _tntp_ids(network.labels, "network.labels")
    n = network.n_nodes
    first_thru = 1
    if network.no_through is not None:
        nt_ids = np.sort(ids[network.no_through])
        k = nt_ids.size
        if not np.array_equal(nt_ids, np.arange(1, k + 1)):
            raise InvalidInputError(
                "network.no_through", nt_ids[:5].tolist(), "TNTP can only mark nodes 1..k as no-through"
            )
        first_thru = k + 1
    if node_path is not None and network.coords is None:
        raise InvalidInputError("node_path", str(node_path), "the network has no coordinates to write")
    t, h, w = ids[network.tails], ids[network.heads], network.lengths
    if not network.directed:
        t, h, w = np.concatenate([t, h]), np.concatenate([h, t]), np.concatenate([w, w])
    nz = (first_thru - 1 if first_thru > 1 else n) if zones is None else zones
    head = [
        f"<NUMBER OF ZONES> {nz}",
        f"<NUMBER OF NODES> {n}",
        f"<FIRST THRU NODE> {first_thru}",
        f"<NUMBER OF LINKS> {t.size}",
        "<END OF METADATA>",
        "",
        "",
        "~\tinit_node\tterm_node\tcapacity\tlength\tfree_flow_time\tb\tpower\tspeed\ttoll\tlink_type\t;",
    ]
    body = [
        f"\t{a}\t{b}\t0\t{x!r}\t{x!r}\t0.15\t4\t0\t0\t1\t;"
        for a, b, x in zip(t.tolist(), h.tolist(), w.tolist(), strict=True)
    ]
    _atomic.write_file(path, "\n".join(head + body) + "\n")
    if node_path is not None:
        assert network.coords is not None
        order = np.argsort(ids)
        xy = network.coords[order]
        rows = [
            f"{i}\t{x!r}\t{y!r}\t;"
            for i, x, y in zip(ids[order].tolist(), xy[:, 0].tolist(), xy[:, 1].tolist(), strict=True)
        ]
        _atomic.write_file(node_path, "\n".join(["Node\tX\tY\t;", *rows]) + "\n")


def write_tntp_trips(flows: ODFlows, path: PathLike, *, zones: int | None = None, per_line: int = 5) -> None:
    """Write ``flows`` as a TNTP ``*_trips.tntp`` file.

    Items are grouped by origin (ascending; file order kept within an origin)
    and written ``per_line`` to a line with full precision. Repeated pairs stay
    separate items.

    Parameters
    ----------
    flows
        Flows whose origins and destinations are positive integers.
    path
        Output file.
    zones
        ``<NUMBER OF ZONES>``; default the largest zone number used.
    per_line
        Items per line.

    Raises
    ------
    InvalidInputError
        When an origin or destination is not a positive integer, or ``zones`` is too small.
    StorageError
        When the file cannot be written (e.g. the disk is full); the write is atomic.
    """
    for field, labs in (("flows.origins", flows.origins), ("flows.destinations", flows.destinations)):
        if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x >= 1 for x in labs):
            raise InvalidInputError(field, list(labs[:5]), "TNTP needs positive integer zone numbers")
    per_line = _v.integer(per_line, "per_line", minimum=1)
    o = np.asarray(flows.origins, dtype=np.int64)
    d = np.asarray(flows.destinations, dtype=np.int64)
    v = flows.volumes
    top = int(max(o.max(initial=0), d.max(initial=0)))
    nz = top if zones is None else zones
    if nz < top:
        raise InvalidInputError("zones", zones, f"smaller than the largest zone used ({top})")
    order = np.argsort(o, kind="stable")
    o, d, v = o[order], d[order], v[order]
    out = [f"<NUMBER OF ZONES> {nz}", f"<TOTAL OD FLOW> {float(v.sum())!r}", "<END OF METADATA>", "", ""]
    starts = np.flatnonzero(np.r_[True, o[1:] != o[:-1]]) if o.size else np.zeros(0, dtype=np.int64)
    bounds = [*starts.tolist(), o.size]
    dl, vl = d.tolist(), v.tolist()
    for a, b in itertools.pairwise(bounds):
        out.append(f"Origin \t{int(o[a])}")
        items = [f"{dl[k]:5d} : {vl[k]!r};" for k in range(a, b)]
        out.extend("    ".join(items[i : i + per_line]) for i in range(0, len(items), per_line))
        out.append("")
    _atomic.write_file(path, "\n".join(out) + "\n")
