"""Loaders for the CSV/text road-network datasets used in charging- and swap-station studies.

Each loader takes the dataset's folder (as shipped under ``shared/data/networks``)
and returns a :class:`~swapnet.RoadNetwork` plus the demand data the dataset
has: an OD table (:class:`~swapnet.ODFlows`) or node weights/populations.

All files are read as UTF-8 with an optional byte-order mark and any of CR,
LF or CRLF line endings; malformed rows raise
:class:`~swapnet.errors.FileFormatError` naming the file and the 1-based line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from swapnet._tntp import PathLike, _columns, _data_rows, _read_text, _to_float, _to_int
from swapnet.errors import FileFormatError, InvalidInputError
from swapnet.flows import ODFlows
from swapnet.io._xlsx import first_sheet
from swapnet.network import RoadNetwork

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "irish_node_table",
    "korean_node_names",
    "parse_dms",
    "read_25node",
    "read_25node_junex",
    "read_dc_ny_bos",
    "read_irish_highway",
    "read_irish_traffic",
    "read_korean_expressway",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --------------------------------------------------------------------------- CSV helpers
class _Table:
    """A CSV file's header and non-blank rows (fields stripped), with line numbers."""

    def __init__(self, path: Path, *, header: bool = True) -> None:
        self.path = path
        text = _read_text(path)
        reader = csv.reader(io.StringIO(text))
        self.header: list[str] = []
        self.header_line = 0
        self.rows: list[list[str]] = []
        self.lines: list[int] = []
        try:
            for row in reader:
                fields = [f.strip() for f in row]
                if not any(fields):
                    continue
                if header and not self.header:
                    self.header, self.header_line = fields, reader.line_num
                    continue
                self.rows.append(fields)
                self.lines.append(reader.line_num)
        except csv.Error as e:
            raise FileFormatError(path, reader.line_num, f"malformed CSV: {e}") from None
        if header and not self.header:
            raise FileFormatError(path, None, "empty file: no header row")

    def column(self, *names: str) -> int:
        """Index of the first header among ``names`` (case and spacing ignored)."""
        norm = [_norm(h) for h in self.header]
        for nm in names:
            if _norm(nm) in norm:
                return norm.index(_norm(nm))
        raise FileFormatError(self.path, self.header_line, f"no column {names[0]!r} (columns: {self.header})")

    def text(self, idx: Sequence[int]) -> list[list[str]]:
        """The listed columns as string lists (every row must have them)."""
        need = max(idx) + 1
        cols = _columns(self.rows, self.lines, need, self.path, "row")
        return [cols[i] for i in idx]

    def ints(self, idx: int, what: str) -> IntArray:
        return _to_int(self.text([idx])[0], self.lines, self.path, what)

    def floats(self, idx: int, what: str) -> FloatArray:
        return _to_float(self.text([idx])[0], self.lines, self.path, what)


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _dataset_folder(folder: PathLike, marker: str, *subfolders: str) -> Path:
    """``folder`` itself if it holds ``marker``, else the first of ``subfolders`` that does."""
    base = Path(folder)
    for cand in (base, *(base / s for s in subfolders)):
        if (cand / marker).is_file():
            return cand
    raise InvalidInputError("folder", str(base), f"no {marker} here (nor in {list(subfolders)})")


def _index(ids: IntArray, labels: IntArray, lines: Sequence[int], path: Path, what: str) -> IntArray:
    """Positions of ``ids`` in the sorted array ``labels``; unknown ids are a format error."""
    pos = np.searchsorted(labels, ids)
    pos = np.minimum(pos, max(labels.size - 1, 0))
    bad = labels[pos] != ids if labels.size else np.ones(ids.shape, dtype=bool)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise FileFormatError(path, lines[k], f"{what} {int(ids[k])} is not a known node")
    return pos.astype(np.int64)


def _check_edges(u: IntArray, v: IntArray, w: FloatArray, lines: Sequence[int], path: Path) -> None:
    loops = u == v
    if loops.any():
        k = int(np.flatnonzero(loops)[0])
        raise FileFormatError(path, lines[k], f"self-loop at node {int(u[k])}")
    neg = w < 0
    if neg.any():
        k = int(np.flatnonzero(neg)[0])
        raise FileFormatError(path, lines[k], f"negative length {float(w[k])!r}")


def _undirected_unique(u: IntArray, v: IntArray, w: FloatArray) -> IntArray:
    """Row positions keeping one copy of each undirected edge listed in both directions.

    Rows are identified by ``(min(u, v), max(u, v), length)``; the first
    occurrence is kept and file order is preserved.
    """
    key = np.column_stack([np.minimum(u, v).astype(np.float64), np.maximum(u, v).astype(np.float64), w])
    _, first = np.unique(key, axis=0, return_index=True)
    return np.sort(first).astype(np.int64)


def _weights(ids: IntArray, vals: FloatArray) -> dict[int, float]:
    return dict(zip(ids.tolist(), vals.tolist(), strict=True))


# --------------------------------------------------------------------------- Korean expressway
def read_korean_expressway(folder: PathLike, *, directed: bool = False) -> tuple[RoadNetwork, ODFlows]:
    """Read the 2011 Korean Expressway network and demand (Chung & Kwon 2015).

    Parameters
    ----------
    folder
        The ``KoreanExpressway`` folder or its ``2011`` subfolder.
    directed
        ``False`` (default): an undirected network from ``arc_oneway.csv``,
        which lists every road segment once (441 edges; the file name means one
        orientation per segment, not one-way roads). ``True``: a directed
        network from ``arc_twoway.csv``, which lists each segment in both
        directions (882 arcs). Distances are the same either way.

    Returns
    -------
    network
        Labels are the node numbers (``Object-ID`` / ``From_No``), lengths in
        km (``Revised Distance``), coordinates lon/lat (``coord_crs="lonlat"``).
    flows
        The 324x324 ``demand_matrix.csv`` (row/column ``i`` is node ``i + 1``
        in id order) without zero and diagonal entries.

    Raises
    ------
    FileFormatError
        On malformed rows, arcs to unknown nodes or a matrix of the wrong shape.
    """
    base = _dataset_folder(folder, "node.csv", "2011")
    ids, coords, _ = _korean_nodes(base)
    arcs = _Table(base / ("arc_twoway.csv" if directed else "arc_oneway.csv"))
    fu, fv, fw = arcs.column("From_No"), arcs.column("To_No"), arcs.column("Revised Distance")
    u, v, w = arcs.ints(fu, "From_No"), arcs.ints(fv, "To_No"), arcs.floats(fw, "Revised Distance")
    _check_edges(u, v, w, arcs.lines, arcs.path)
    order = np.argsort(ids)
    sids = ids[order]
    net = RoadNetwork.from_arrays(
        _index(u, sids, arcs.lines, arcs.path, "From_No"),
        _index(v, sids, arcs.lines, arcs.path, "To_No"),
        w,
        labels=sids.tolist(),
        directed=directed,
        coords=coords[order],
        coord_crs="lonlat",
        length_unit="km",
        name="KoreanExpressway",
    )
    dm = _Table(base / "demand_matrix.csv", header=False)
    n = sids.size
    if len(dm.rows) != n:
        raise FileFormatError(dm.path, None, f"demand matrix has {len(dm.rows)} rows, expected {n} (one per node)")
    widths = np.fromiter(map(len, dm.rows), dtype=np.int64, count=len(dm.rows))
    if (widths != n).any():
        k = int(np.flatnonzero(widths != n)[0])
        raise FileFormatError(dm.path, dm.lines[k], f"row has {int(widths[k])} values, expected {n}")
    flat = [x for row in dm.rows for x in row]
    cell_lines = _RepeatLines(dm.lines, n)
    matrix = _to_float(flat, cell_lines, dm.path, "demand").reshape(n, n)
    neg = (matrix < 0).ravel()
    if neg.any():
        k = int(np.flatnonzero(neg)[0])
        raise FileFormatError(dm.path, cell_lines[k], f"negative demand {float(matrix.ravel()[k])!r}")
    return net, ODFlows.from_matrix(matrix, sids.tolist())


class _RepeatLines(Sequence[int]):
    """Line number of flat cell ``k`` of a table with ``width`` cells per row."""

    def __init__(self, lines: list[int], width: int) -> None:
        self._lines = lines
        self._width = width

    def __len__(self) -> int:
        return len(self._lines) * self._width

    def __getitem__(self, k: int) -> int:  # type: ignore[override]
        return self._lines[k // self._width]


def _korean_nodes(base: Path) -> tuple[IntArray, FloatArray, list[str]]:
    t = _Table(base / "node.csv")
    ci, clat, clon, cname = t.column("Object-ID"), t.column("Latitude"), t.column("Longitude"), t.column("Name")
    ids = t.ints(ci, "Object-ID")
    lat, lon = t.floats(clat, "Latitude"), t.floats(clon, "Longitude")
    _check_unique(ids, t.lines, t.path)
    return ids, np.column_stack([lon, lat]), t.text([cname])[0]


def _check_unique(ids: IntArray, lines: Sequence[int], path: Path) -> None:
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if dup.size:
        k = int(order[dup[0] + 1])
        raise FileFormatError(path, lines[k], f"node {int(ids[k])} listed twice")


def korean_node_names(folder: PathLike) -> dict[int, str]:
    """Korean names of the Korean Expressway nodes, ``{node number: name}``."""
    ids, _, names = _korean_nodes(_dataset_folder(folder, "node.csv", "2011"))
    return dict(zip(ids.tolist(), names, strict=True))


# --------------------------------------------------------------------------- 25-node network
def read_25node(folder: PathLike) -> tuple[RoadNetwork, dict[int, float]]:
    """Read the classic 25-node network (Simchi-Levi & Berman 1988) from the optboy/FRLMwCT copy.

    Parameters
    ----------
    folder
        ``25node/optboy_FRLMwCT`` (or ``25node``): ``NODES.txt`` rows ``id
        weight x y`` and ``ARCS.txt`` rows ``arc_id length i j``, whitespace
        separated, no header.

    Returns
    -------
    network
        Undirected, 25 nodes and 43 edges, lengths in the instance's abstract
        units (``length_unit="unit"``), planar coordinates.
    weights
        ``{node: weight}``. This copy has weight 50 at node 4; the JuneX2000
        copy (:func:`read_25node_junex`) has 32, which makes the weights sum to 1000.

    Raises
    ------
    FileFormatError
        On malformed rows or arcs to unknown nodes.
    """
    base = _dataset_folder(folder, "NODES.txt", "optboy_FRLMwCT")
    npath, apath = base / "NODES.txt", base / "ARCS.txt"
    rows, lines = _data_rows(_read_text(npath).split("\n"), 0)
    c = _columns(rows, lines, 4, npath, "node row")
    ids = _to_int(c[0], lines, npath, "node id")
    wts = _to_float(c[1], lines, npath, "weight")
    xy = np.column_stack([_to_float(c[2], lines, npath, "x"), _to_float(c[3], lines, npath, "y")])
    _check_unique(ids, lines, npath)
    rows, alines = _data_rows(_read_text(apath).split("\n"), 0)
    a = _columns(rows, alines, 4, apath, "arc row")
    w = _to_float(a[1], alines, apath, "length")
    u, v = _to_int(a[2], alines, apath, "node"), _to_int(a[3], alines, apath, "node")
    _check_edges(u, v, w, alines, apath)
    order = np.argsort(ids)
    sids = ids[order]
    net = RoadNetwork.from_arrays(
        _index(u, sids, alines, apath, "node"),
        _index(v, sids, alines, apath, "node"),
        w,
        labels=sids.tolist(),
        coords=xy[order],
        length_unit="unit",
        name="25node",
    )
    return net, _weights(ids, wts)


def read_25node_junex(folder: PathLike) -> tuple[RoadNetwork, dict[int, float], ODFlows]:
    """Read the JuneX2000 copy of the 25-node network, with its OD table.

    Parameters
    ----------
    folder
        ``25node/JuneX2000`` (or ``25node``) with ``25-Node_Network_Nodes.csv``,
        ``25-Node_Network_Edges.csv`` (each edge listed in both directions) and
        ``25-Node_Network_Traffic_Flow.csv`` (a full OD matrix).

    Returns
    -------
    network
        Undirected, 43 edges, abstract length units, no coordinates.
    weights
        ``{node: population weight}`` (32 at node 4).
    flows
        The OD matrix as given (both directions of each pair, gravity flows
        ``W_i W_j / d_ij**1.5``), without zero and diagonal entries.
    """
    base = _dataset_folder(folder, "25-Node_Network_Nodes.csv", "JuneX2000")
    nodes = _Table(base / "25-Node_Network_Nodes.csv")
    ids = nodes.ints(nodes.column("Node"), "Node")
    wts = nodes.floats(nodes.column("Population Weight", "Weight", "Population"), "weight")
    _check_unique(ids, nodes.lines, nodes.path)
    sids = np.sort(ids)
    net = _both_way_edges(
        _Table(base / "25-Node_Network_Edges.csv"), sids, ("Origin", "Destination", "Edge Length"), "unit", "25node"
    )
    flows = _od_matrix(_Table(base / "25-Node_Network_Traffic_Flow.csv"), sids)
    return net, _weights(ids, wts), flows


def _both_way_edges(
    t: _Table, sids: IntArray, cols: tuple[str, str, str], unit: str, name: str, coords: FloatArray | None = None
) -> RoadNetwork:
    """Undirected network from a table listing each edge in one or both directions."""
    u = t.ints(t.column(cols[0]), cols[0])
    v = t.ints(t.column(cols[1]), cols[1])
    w = t.floats(t.column(cols[2]), cols[2])
    _check_edges(u, v, w, t.lines, t.path)
    iu = _index(u, sids, t.lines, t.path, cols[0])
    iv = _index(v, sids, t.lines, t.path, cols[1])
    keep = _undirected_unique(u, v, w)
    return RoadNetwork.from_arrays(
        iu[keep],
        iv[keep],
        w[keep],
        labels=sids.tolist(),
        coords=coords,
        coord_crs="lonlat" if coords is not None else "planar",
        length_unit=unit,
        name=name,
    )


def _od_matrix(t: _Table, sids: IntArray) -> ODFlows:
    """OD flows from a table whose header row and first column hold node numbers."""
    head = t.header[1:]
    cols = _to_int(head, [t.header_line] * len(head), t.path, "destination node")
    rows = _to_int([r[0] for r in t.rows], t.lines, t.path, "origin node")
    _index(cols, sids, [t.header_line] * len(head), t.path, "destination node")
    _index(rows, sids, t.lines, t.path, "origin node")
    n = len(head)
    widths = np.fromiter(map(len, t.rows), dtype=np.int64, count=len(t.rows))
    if (widths != n + 1).any():
        k = int(np.flatnonzero(widths != n + 1)[0])
        raise FileFormatError(t.path, t.lines[k], f"row has {int(widths[k]) - 1} values, expected {n}")
    vals = _to_float([x for r in t.rows for x in r[1:]], _RepeatLines(t.lines, n), t.path, "flow")
    m = vals.reshape(len(t.rows), n)
    neg = m < 0
    if neg.any():
        bi, bj = (int(a[0]) for a in np.nonzero(neg))
        raise FileFormatError(t.path, t.lines[bi], f"negative flow {float(m[bi, bj])!r}")
    i, j = np.nonzero((m > 0) & (rows[:, None] != cols[None, :]))
    return ODFlows(rows[i].tolist(), cols[j].tolist(), m[i, j])


# --------------------------------------------------------------------------- DC-NY-BOS
def read_dc_ny_bos(folder: PathLike, *, unit: str = "km") -> tuple[RoadNetwork, dict[int, float]]:
    """Read the DC-NY-BOS highway network (Zhang, Kang & Kwon 2017).

    Parameters
    ----------
    folder
        The ``DC-NY-BOS`` folder with ``DC_BOS_NY Network.csv`` and
        ``Network demand nodes.csv``.
    unit
        ``"km"`` or ``"mile"``: which length column to use.

    Returns
    -------
    network
        Undirected, 317 nodes and 510 edges (the file lists each ``Link_ID``
        twice, once per direction; one copy is kept), no coordinates.
    population
        ``{node: population}`` for the 123 OD nodes.

    Raises
    ------
    FileFormatError
        On malformed rows, the two rows of a ``Link_ID`` disagreeing, or a
        population node that is not in the network.
    InvalidInputError
        On a bad ``unit``.
    """
    if unit not in ("km", "mile"):
        raise InvalidInputError("unit", unit, "must be 'km' or 'mile'")
    base = _dataset_folder(folder, "DC_BOS_NY Network.csv", "DC-NY-BOS")
    t = _Table(base / "DC_BOS_NY Network.csv")
    u = t.ints(t.column("A_Node"), "A_Node")
    v = t.ints(t.column("B_Node"), "B_Node")
    lcol = "Length (km)" if unit == "km" else "Length (mile)"
    w = t.floats(t.column(lcol), lcol)
    link = t.ints(t.column("Link_ID"), "Link_ID")
    _check_edges(u, v, w, t.lines, t.path)
    _, first, inv = np.unique(link, return_index=True, return_inverse=True)
    # every row must agree with the first row of its Link_ID
    f = first[inv]
    same = (np.minimum(u, v) == np.minimum(u[f], v[f])) & (np.maximum(u, v) == np.maximum(u[f], v[f])) & (w == w[f])
    if not same.all():
        k = int(np.flatnonzero(~same)[0])
        raise FileFormatError(
            t.path, t.lines[k], f"Link_ID {int(link[k])} disagrees with its earlier row (line {t.lines[int(f[k])]})"
        )
    keep = np.sort(first)
    pop_t = _Table(base / "Network demand nodes.csv")
    pids = pop_t.ints(pop_t.column("Node_ID"), "Node_ID")
    pops = pop_t.floats(pop_t.column("Population"), "Population")
    _check_unique(pids, pop_t.lines, pop_t.path)
    sids = np.unique(np.concatenate([u, v]))
    _index(pids, sids, pop_t.lines, pop_t.path, "Node_ID")
    net = RoadNetwork.from_arrays(
        np.searchsorted(sids, u[keep]),
        np.searchsorted(sids, v[keep]),
        w[keep],
        labels=sids.tolist(),
        length_unit="km" if unit == "km" else "mi",
        name="DC-NY-BOS",
    )
    return net, _weights(pids, pops)


# --------------------------------------------------------------------------- Irish highway
_DMS = re.compile(
    r"""^\s*(?P<deg>\d+(?:\.\d*)?)\s*[°º]\s*
        (?:(?P<min>\d+(?:\.\d*)?)\s*['′’]\s*)?
        (?:(?P<sec>\d+(?:\.\d*)?)\s*(?:"|″|''|”)\s*)?
        (?P<hem>[NSEW])\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_dms(text: str) -> float:
    """Decimal degrees from a degree-minute-second string such as ``54°57'01"N`` or ``8°21'30"W``.

    South and west are negative. Minutes and seconds are optional; a plain
    decimal number is returned as is.

    Raises
    ------
    InvalidInputError
        (a ``ValueError``) When ``text`` is not a string of either form, or minutes/seconds are 60
        or more.
    """
    if not isinstance(text, str):
        raise InvalidInputError("text", text, "must be a string such as 54°57'01\"N")
    try:
        return float(text)
    except ValueError:
        pass
    m = _DMS.match(text)
    if m is None:
        raise InvalidInputError("text", text, "not a degree-minute-second angle")
    deg = float(m["deg"])
    mins = float(m["min"] or 0.0)
    secs = float(m["sec"] or 0.0)
    if mins >= 60 or secs >= 60:
        raise InvalidInputError("text", text, "minutes and seconds must be below 60")
    val = deg + mins / 60.0 + secs / 3600.0
    return -val if m["hem"].upper() in "SW" else val


def irish_node_table(folder: PathLike) -> pd.DataFrame:
    """The Irish highway nodes as a DataFrame.

    Columns: ``node`` (int), ``lon``, ``lat`` (decimal degrees), ``settlement``,
    ``population`` (float; ``"/"`` means none and gives 0, ``"a+b"`` gives the
    sum), ``classification`` (``"Center"`` or ``"Connection"``).
    """
    import pandas as pd

    base = _dataset_folder(folder, "Irish_Highway_Nodes.csv", "IrishHighway")
    t = _Table(base / "Irish_Highway_Nodes.csv")
    ci = t.column("Nodes", "Node")
    cols = [t.column("Latitude"), t.column("Longtitude", "Longitude"), t.column("Population")]
    cs, cc = t.column("Settlement"), t.column("Classification")
    ids = t.ints(ci, "node id")
    lat_s, lon_s, pop_s, settle, klass = t.text([*cols, cs, cc])
    _check_unique(ids, t.lines, t.path)
    lat = np.empty(ids.size)
    lon = np.empty(ids.size)
    pop = np.empty(ids.size)
    for k in range(ids.size):  # 90 rows; parsing DMS strings needs Python
        try:
            lat[k] = parse_dms(lat_s[k])
            lon[k] = parse_dms(lon_s[k])
        except ValueError as e:
            raise FileFormatError(t.path, t.lines[k], str(e)) from None
        pop[k] = _population(pop_s[k], t.path, t.lines[k])
    return pd.DataFrame(
        {"node": ids, "lon": lon, "lat": lat, "settlement": settle, "population": pop, "classification": klass}
    )


def _population(s: str, path: Path, line: int) -> float:
    if s in ("", "/", "-"):
        return 0.0
    try:
        return float(sum(float(p) for p in s.split("+")))
    except ValueError:
        raise FileFormatError(path, line, f"population {s!r} is not a number") from None


def read_irish_highway(folder: PathLike) -> tuple[RoadNetwork, dict[int, float]]:
    """Read the Irish highway network (JuneX2000 Ireland-Highway-Network-Instance).

    Parameters
    ----------
    folder
        The ``IrishHighway`` folder with ``Irish_Highway_Nodes.csv`` and
        ``Irish_Highway_Links.csv``.

    Returns
    -------
    network
        Undirected (the links file lists each edge in both directions; one copy
        is kept), lengths in km, lon/lat coordinates converted from the
        degree-minute-second strings.
    population
        ``{node: population}`` for every node (0 where the file has ``"/"``;
        ``"4726+795"`` is summed).
    """
    base = _dataset_folder(folder, "Irish_Highway_Nodes.csv", "IrishHighway")
    nodes = irish_node_table(base).sort_values("node")
    sids = nodes["node"].to_numpy(dtype=np.int64)
    coords = nodes[["lon", "lat"]].to_numpy(dtype=np.float64)
    net = _both_way_edges(
        _Table(base / "Irish_Highway_Links.csv"),
        sids,
        ("Origin", "Destination", "Edge Length (km)"),
        "km",
        "IrishHighway",
        coords,
    )
    return net, _weights(sids, nodes["population"].to_numpy(dtype=np.float64))


def read_irish_traffic(folder: PathLike) -> ODFlows:
    """Read the Irish highway OD table ``Irish_Highway_Traffic_Flow.xlsx``.

    The workbook's first sheet is a square matrix whose first row and first
    column hold node numbers (60 "Center" nodes). It is read with the standard
    library (no spreadsheet package needed).

    Returns
    -------
    ODFlows
        Nonzero off-diagonal entries, rows as origins.

    Raises
    ------
    FileFormatError
        When the workbook is not a readable ``.xlsx`` or the sheet is not such a matrix.
    """
    base = _dataset_folder(folder, "Irish_Highway_Traffic_Flow.xlsx", "IrishHighway")
    path = base / "Irish_Highway_Traffic_Flow.xlsx"
    cells = first_sheet(path)
    if not cells or len(cells[0]) < 2:
        raise FileFormatError(path, None, "expected a matrix with node numbers in the first row and column")
    width = len(cells[0])
    rows = [r + [""] * (width - len(r)) for r in cells[1:] if any(r)]
    header_lines = [1] * (width - 1)
    cols = _to_int([_intish(x) for x in cells[0][1:]], header_lines, path, "destination node")
    row_lines = list(range(2, 2 + len(rows)))
    ids = _to_int([_intish(r[0]) for r in rows], row_lines, path, "origin node")
    vals = _to_float([x or "0" for r in rows for x in r[1:]], _RepeatLines(row_lines, width - 1), path, "flow")
    m = vals.reshape(len(rows), width - 1)
    if (m < 0).any():
        bi = int(np.nonzero(m < 0)[0][0])
        raise FileFormatError(path, row_lines[bi], "negative flow")
    i, j = np.nonzero((m > 0) & (ids[:, None] != cols[None, :]))
    return ODFlows(ids[i].tolist(), cols[j].tolist(), m[i, j])


def _intish(s: str) -> str:
    """``"12.0"`` -> ``"12"`` (spreadsheets store numbers as floats)."""
    return s[:-2] if s.endswith(".0") else s
