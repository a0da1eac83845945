"""Readers for J.E. Beasley's OR-Library location instances (p-median, set covering, capacitated p-median).

The files are not part of the package; :func:`orlib_dir` finds the ``orlib``
folder of the shared data (``SWAPNET_DATA`` or a ``shared/data/orlib`` folder
beside the checkout). Reading conventions (they decide whether a value matches
the published optimum):

* **pmed** (Beasley 1985): first line ``n m p``, then ``m`` lines ``i j cost``
  (1-based, undirected). A repeated edge counts with its *last* listing. The
  cost matrix is the all-pairs shortest-path matrix; every node is a demand
  point of weight 1 and a candidate.
* **scp** (Balas & Ho 1980; Beasley 1987): ``rows cols``, the ``cols`` column
  costs, then per row its count ``k`` and the ``k`` covering columns (1-based).
* **pmedcap** (Osman & Christofides 1994): ``problem_no optimum`` / ``n p Q`` /
  ``n`` lines ``id x y demand``; distances are Euclidean, truncated to integers.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import shortest_path

from swapnet.errors import FileFormatError, InvalidInputError

__all__ = [
    "CapPMedianInstance",
    "PMedianInstance",
    "SetCoverInstance",
    "orlib_dir",
    "read_pmed",
    "read_pmed_optima",
    "read_pmedcap",
    "read_scp",
    "read_scp_optima",
]

FloatArray = NDArray[np.float64]
PathLike = str | os.PathLike[str]


def orlib_dir() -> Path:
    """The OR-Library folder of the shared data (holding ``pmed/``, ``scp/``, ``pmedcap/``).

    Looked up, in order: ``$SWAPNET_DATA/orlib`` (or ``$SWAPNET_DATA`` itself when it
    holds ``pmed/``), then ``shared/data/orlib`` under the working directory, this
    module's folder or any of their parents.

    Raises
    ------
    InvalidInputError
        When no such folder is found.
    """
    env = os.environ.get("SWAPNET_DATA")
    if env:
        p = Path(env).expanduser()
        for cand in (p / "orlib", p, p.parent / "orlib"):
            if (cand / "pmed").is_dir():
                return cand.resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for anc in (start, *start.parents):
            cand = anc / "shared" / "data" / "orlib"
            if cand.is_dir():
                return cand.resolve()
    raise InvalidInputError(
        "SWAPNET_DATA", env, "no orlib folder found; set SWAPNET_DATA to the shared data folder (holding orlib/)"
    )


def _numbers(path: PathLike) -> tuple[Path, list[str]]:
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(p, None, "file not found")
    return p, p.read_text().split()


def _ints(p: Path, tokens: list[str], start: int, count: int, what: str) -> NDArray[np.int64]:
    if start + count > len(tokens):
        raise FileFormatError(p, None, f"file ends early: expected {count} numbers for {what}")
    try:
        return np.array([int(t) for t in tokens[start : start + count]], dtype=np.int64)
    except ValueError as exc:
        raise FileFormatError(p, None, f"non-integer token in {what}: {exc}") from None


# ------------------------------------------------------------------------------ pmed
@dataclass(frozen=True)
class PMedianInstance:
    """An uncapacitated p-median instance (every node a demand point of weight 1 and a candidate).

    Attributes
    ----------
    name
        File stem (``"pmed1"``).
    p
        Number of medians.
    cost
        ``(n, n)`` shortest-path costs.
    """

    name: str
    p: int
    cost: FloatArray

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self.cost.shape[0])


def read_pmed(path: PathLike) -> PMedianInstance:
    """Read an OR-Library ``pmedN.txt`` file (the last listing of a repeated edge counts).

    Raises
    ------
    FileFormatError
        On a malformed file, a node outside ``1..n`` or a disconnected graph.
    """
    p, tok = _numbers(path)
    head = _ints(p, tok, 0, 3, "the header 'n edges p'")
    n, e, pp = (int(v) for v in head)
    if n < 1 or e < 0 or not 1 <= pp <= n:
        raise FileFormatError(p, 1, f"bad header n={n} edges={e} p={pp}")
    body = _ints(p, tok, 3, 3 * e, f"{e} edges").reshape(e, 3)
    i, j, c = body[:, 0] - 1, body[:, 1] - 1, body[:, 2].astype(np.float64)
    if (i < 0).any() or (i >= n).any() or (j < 0).any() or (j >= n).any():
        raise FileFormatError(p, None, f"an edge names a node outside 1..{n}")
    if (c < 0).any():
        raise FileFormatError(p, None, "negative edge cost")
    # last listing counts: keep, per unordered pair, the last row
    a, b = np.minimum(i, j), np.maximum(i, j)
    key = a * n + b
    _, last_rev = np.unique(key[::-1], return_index=True)
    last = e - 1 - last_rev
    a, b, c = a[last], b[last], c[last]
    keep = a != b
    g = sp.coo_matrix((c[keep], (a[keep], b[keep])), shape=(n, n)).tocsr()
    D = shortest_path(g, method="D", directed=False)
    if not np.isfinite(D).all():
        raise FileFormatError(p, None, "the graph is not connected")
    return PMedianInstance(p.stem, pp, np.ascontiguousarray(D, dtype=np.float64))


def read_pmed_optima(path: PathLike) -> dict[str, float]:
    """The table ``pmedopt.txt``: instance name -> published optimum."""
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(p, None, "file not found")
    out: dict[str, float] = {}
    for k, line in enumerate(p.read_text().splitlines(), start=1):
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("pmed"):
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                raise FileFormatError(p, k, f"bad optimum {parts[1]!r}") from None
    return out


# ------------------------------------------------------------------------------- scp
@dataclass(frozen=True)
class SetCoverInstance:
    """A weighted set-covering instance.

    Attributes
    ----------
    name
        File stem (``"scp41"``).
    costs
        Cost of each column (length ``n_cols``).
    cover
        ``(n_rows, n_cols)`` 0/1 CSR matrix: column ``j`` covers row ``i``.
    """

    name: str
    costs: FloatArray
    cover: sp.csr_matrix

    def cost_matrix(self) -> FloatArray:
        """A dense rows x columns matrix for :func:`~swapnet.siting.set_cover` with ``radius=0``.

        ``0`` where a column covers a row, ``1`` elsewhere.
        """
        out: FloatArray = 1.0 - self.cover.toarray()
        return out


def read_scp(path: PathLike) -> SetCoverInstance:
    """Read an OR-Library ``scp*.txt`` set-covering file.

    Raises
    ------
    FileFormatError
        On a malformed file or a column outside ``1..n_cols``.
    """
    p, tok = _numbers(path)
    m_rows, n_cols = (int(v) for v in _ints(p, tok, 0, 2, "the header 'rows cols'"))
    if m_rows < 1 or n_cols < 1:
        raise FileFormatError(p, 1, f"bad header rows={m_rows} cols={n_cols}")
    costs = _ints(p, tok, 2, n_cols, "column costs").astype(np.float64)
    pos = 2 + n_cols
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    for r in range(m_rows):
        k = int(_ints(p, tok, pos, 1, f"the size of row {r + 1}")[0])
        js = _ints(p, tok, pos + 1, k, f"row {r + 1}") - 1
        if k < 1 or (js < 0).any() or (js >= n_cols).any():
            raise FileFormatError(p, None, f"row {r + 1} has no column or a column outside 1..{n_cols}")
        rows.append(np.full(k, r, dtype=np.int64))
        cols.append(js)
        pos += 1 + k
    ri, ci = np.concatenate(rows), np.concatenate(cols)
    A = sp.csr_matrix((np.ones(ri.size), (ri, ci)), shape=(m_rows, n_cols))
    A.sum_duplicates()
    A.data[:] = 1.0
    return SetCoverInstance(p.stem, costs, A)


def read_scp_optima(path: PathLike, *, best_known: bool = False) -> dict[str, float]:
    """The table ``optima.csv``: instance name (``"scp41"``) -> optimum (column ``Optimum``).

    Rows whose ``Optimum`` cell is empty (instances never proven optimal) are left out, or, with
    ``best_known=True``, given the column ``Best known solution value`` when that cell is filled.

    Raises
    ------
    FileFormatError
        When the file is missing, has no ``Optimum`` column, or a filled cell is not a number.
    """
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(p, None, "file not found")
    out: dict[str, float] = {}
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if "Optimum" not in (reader.fieldnames or []):
            raise FileFormatError(p, 1, "no 'Optimum' column")
        for k, row in enumerate(reader, start=2):
            name = Path(row.get("Path") or "").stem
            cells = [row.get("Optimum") or ""]
            if best_known:
                cells.append(row.get("Best known solution value") or "")
            cell = next((c.strip() for c in cells if c.strip()), "")
            if not name or not cell:
                continue
            try:
                out[name] = float(cell)
            except ValueError:
                raise FileFormatError(p, k, f"bad optimum {cell!r}") from None
    return out


# --------------------------------------------------------------------------- pmedcap
@dataclass(frozen=True)
class CapPMedianInstance:
    """A capacitated p-median instance (Osman & Christofides): every node a demand point and a candidate.

    Attributes
    ----------
    name
        File stem (``"pmedcap01"``).
    optimum
        The published optimum stated in the file.
    p
        Number of medians.
    capacity
        Capacity of every median (in demand units).
    demand
        Demand of each node.
    xy
        ``(n, 2)`` coordinates.
    cost
        ``(n, n)`` Euclidean distances truncated to integers.
    """

    name: str
    optimum: float
    p: int
    capacity: float
    demand: FloatArray
    xy: FloatArray
    cost: FloatArray

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self.cost.shape[0])


def read_pmedcap(path: PathLike) -> CapPMedianInstance:
    """Read an OR-Library ``pmedcapNN.txt`` file.

    Raises
    ------
    FileFormatError
        On a malformed file.
    """
    p, tok = _numbers(path)
    if len(tok) < 5:
        raise FileFormatError(p, None, "file ends early: expected 'problem_no optimum' and 'n p Q'")
    try:
        optimum = float(tok[1])
        n, pp, Q = int(tok[2]), int(tok[3]), float(tok[4])
    except ValueError:
        raise FileFormatError(p, 1, "bad header") from None
    if n < 1 or not 1 <= pp <= n or Q <= 0:
        raise FileFormatError(p, 2, f"bad header n={n} p={pp} Q={Q}")
    if len(tok) < 5 + 4 * n:
        raise FileFormatError(p, None, f"file ends early: expected {n} node lines")
    try:
        body = np.array([float(t) for t in tok[5 : 5 + 4 * n]], dtype=np.float64).reshape(n, 4)
    except ValueError:
        raise FileFormatError(p, None, "non-numeric node line") from None
    xy = body[:, 1:3].copy()
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    return CapPMedianInstance(p.stem, optimum, pp, Q, body[:, 3].copy(), xy, np.floor(d + 1e-9))
