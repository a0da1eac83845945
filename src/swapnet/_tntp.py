"""Parsers of the TNTP formats of *Transportation Networks for Research* (private).

This module sits *below* the domain model: it returns plain arrays, and
:meth:`swapnet.RoadNetwork.from_tntp`, :meth:`swapnet.ODFlows.from_tntp` and the public readers
of :mod:`swapnet.io.tntp` build their objects from them (so neither ``network`` nor ``flows``
imports ``io``, and ``io`` imports both).

The formats and the tolerated variations are described in :mod:`swapnet.io.tntp`.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, overload

import numpy as np
from numpy.typing import NDArray

from swapnet import _validate as _v
from swapnet.errors import FileFormatError

__all__ = ["TntpNetwork", "TntpTrips", "parse_flow", "parse_network", "parse_nodes", "parse_trips"]

PathLike = str | os.PathLike[str]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Column (0-based) of each selectable length field in a TNTP link row.
LENGTH_COLUMNS = {"length": 3, "free_flow_time": 4}

_TOTAL_RTOL = 1e-6


# --------------------------------------------------------------------------- text helpers
def _read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing file, a folder or an unreadable file is a :class:`FileFormatError`.

    The error is also a :class:`FileNotFoundError` / :class:`IsADirectoryError` / :class:`OSError`,
    so code catching those keeps working.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MissingFileError(path, None, "no such file") from None
    except IsADirectoryError:
        raise FolderNotFileError(path, None, "is a folder, not a file") from None
    except OSError as e:
        raise UnreadableFileError(path, None, f"cannot be read ({e.strerror or e})") from None


class MissingFileError(FileFormatError, FileNotFoundError):
    """A data file does not exist."""

    __init__ = FileFormatError.__init__
    __str__ = FileFormatError.__str__


class FolderNotFileError(FileFormatError, IsADirectoryError):
    """A folder was given where a data file is expected."""

    __init__ = FileFormatError.__init__
    __str__ = FileFormatError.__str__


class UnreadableFileError(FileFormatError, PermissionError):
    """A data file exists but cannot be read."""

    __init__ = FileFormatError.__init__
    __str__ = FileFormatError.__str__


def _read_text(path: Path) -> str:
    """The file's text with the BOM removed and every line ending turned into ``\\n``.

    Raises
    ------
    FileFormatError
        When the file is not UTF-8 (the message names the line of the first bad byte).
    """
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = data[: e.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        raise FileFormatError(path, before.count(b"\n") + 1, f"not UTF-8 text ({e.reason})") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _line_of(text: str, pos: int, first_line: int = 1) -> int:
    """1-based line number of character ``pos`` of ``text`` (whose first line is ``first_line``)."""
    return first_line + text.count("\n", 0, pos)


def _to_float(tokens: Sequence[str], lines: Sequence[int], path: Path, what: str) -> FloatArray:
    """Convert strings to finite floats, reporting the line of the first bad token."""
    try:
        out = np.fromiter(map(float, tokens), dtype=np.float64, count=len(tokens))
    except ValueError:
        for k, tok in enumerate(tokens):  # error path only: find the culprit
            if not _is_number(tok):
                raise FileFormatError(path, lines[k], f"{what} {tok!r} is not a number") from None
        raise  # pragma: no cover
    bad = ~np.isfinite(out)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise FileFormatError(path, lines[k], f"{what} {tokens[k]!r} is not a finite number")
    return out


def _to_int(tokens: Sequence[str], lines: Sequence[int], path: Path, what: str) -> IntArray:
    """Convert strings to int64, reporting the line of the first bad token."""
    try:
        return np.fromiter(map(int, tokens), dtype=np.int64, count=len(tokens))
    except (ValueError, OverflowError):
        pass
    for k, tok in enumerate(tokens):  # error path only
        try:
            np.int64(int(tok))
        except (ValueError, OverflowError):
            raise FileFormatError(path, lines[k], f"{what} {tok!r} is not an integer") from None
    raise AssertionError("unreachable")  # pragma: no cover


_META = re.compile(r"<\s*([^>]*?)\s*>(.*)")
_END_META = re.compile(r"<\s*END\s+OF\s+METADATA\s*>", re.IGNORECASE)


def _metadata(lines: list[str], path: Path, *, required: bool) -> tuple[dict[str, tuple[str, int]], int]:
    """Parse the ``<KEY> value`` header.

    Returns
    -------
    meta
        ``{KEY: (value, line_number)}`` with upper-case keys.
    start
        Index in ``lines`` of the first line after ``<END OF METADATA>`` (0 when
        the file has no header and ``required`` is false).
    """
    meta: dict[str, tuple[str, int]] = {}
    for i, raw in enumerate(lines):
        s = raw.strip()
        if not s or s.startswith("~"):
            continue
        m = _META.match(s)
        if m is None:
            if not meta and not required:
                return {}, 0
            raise FileFormatError(path, i + 1, f"expected a '<KEY> value' metadata line, got {s[:40]!r}")
        key = " ".join(m.group(1).upper().split())
        if key == "END OF METADATA":
            return meta, i + 1
        meta[key] = (m.group(2).strip(), i + 1)
    if not required and not meta:
        return {}, 0
    raise FileFormatError(path, None, "no <END OF METADATA> line")


def _meta_number(
    meta: dict[str, tuple[str, int]], key: str, path: Path, *, integer: bool, default: float | None = None
) -> float:
    if key not in meta:
        if default is None:
            raise FileFormatError(path, None, f"missing <{key}> in the metadata header")
        return default
    value, line = meta[key]
    tok = value.split()[0] if value.split() else ""
    try:
        x = float(tok)
    except ValueError:
        raise FileFormatError(path, line, f"<{key}> value {value!r} is not a number") from None
    if not math.isfinite(x) or (integer and (x != int(x) or x < 0)):
        raise FileFormatError(path, line, f"<{key}> value {value!r} must be a non-negative integer")
    return x


def _data_rows(lines: list[str], start: int) -> tuple[list[list[str]], list[int]]:
    """Whitespace-split fields of each non-blank, non-comment line from ``start`` on.

    Everything from the first ``;`` of a line is dropped. Returns the field lists
    and their 1-based line numbers.
    """
    rows: list[list[str]] = []
    linenos: list[int] = []
    for i in range(start, len(lines)):
        s = lines[i]
        if ";" in s:
            s = s[: s.index(";")]
        fields = s.split()
        if not fields or fields[0].startswith("~"):
            continue
        rows.append(fields)
        linenos.append(i + 1)
    return rows, linenos


def _columns(rows: list[list[str]], linenos: list[int], need: int, path: Path, what: str) -> list[list[str]]:
    """The first ``need`` fields of every row, column by column."""
    if not rows:
        return [[] for _ in range(need)]
    widths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    short = widths < need
    if short.any():
        k = int(np.flatnonzero(short)[0])
        raise FileFormatError(path, linenos[k], f"{what} needs at least {need} fields, found {int(widths[k])}")
    return [[r[j] for r in rows] for j in range(need)]


# --------------------------------------------------------------------------- networks
class TntpNetwork(NamedTuple):
    """A parsed ``*_net.tntp`` file: 0-based link ends, scaled lengths and the header's facts."""

    tails: IntArray
    heads: IntArray
    lengths: FloatArray
    n_nodes: int
    first_thru: int
    coords: FloatArray | None
    name: str


#: Declared nodes beyond the highest node a link uses that are accepted as isolated nodes
#: (more means the header is wrong; allocating them could exhaust memory).
MAX_ISOLATED_NODES = 100_000


def parse_network(
    net_file: PathLike,
    node_file: PathLike | None = None,
    *,
    length: str = "length",
    scale: float = 1.0,
) -> TntpNetwork:
    """Parse a TNTP ``*_net.tntp`` file (and optionally its ``*_node.tntp`` file) into arrays.

    The arrays behind :func:`swapnet.io.read_tntp_network`, whose docstring gives the format, arguments and errors.
    """
    _v.choice(length, "length", tuple(LENGTH_COLUMNS))
    scale = _v.positive(scale, "scale")
    path = Path(net_file)
    lines = _read_text(path).split("\n")
    meta, start = _metadata(lines, path, required=True)
    n = int(_meta_number(meta, "NUMBER OF NODES", path, integer=True))
    m_declared = int(_meta_number(meta, "NUMBER OF LINKS", path, integer=True))
    first_thru = int(_meta_number(meta, "FIRST THRU NODE", path, integer=True, default=1))
    if n == 0:
        raise FileFormatError(path, meta["NUMBER OF NODES"][1], "<NUMBER OF NODES> must be positive")

    rows, linenos = _data_rows(lines, start)
    if len(rows) > m_declared:
        raise FileFormatError(
            path, linenos[m_declared], f"more links than the {m_declared} declared in <NUMBER OF LINKS>"
        )
    if len(rows) < m_declared:
        raise FileFormatError(
            path,
            meta["NUMBER OF LINKS"][1],
            f"<NUMBER OF LINKS> declares {m_declared} links but the file has {len(rows)}",
        )
    col = LENGTH_COLUMNS[length]
    table = _columns(rows, linenos, col + 1, path, "link row")
    tails = _to_int(table[0], linenos, path, "init_node")
    heads = _to_int(table[1], linenos, path, "term_node")
    lens = _to_float(table[col], linenos, path, length)
    _check_node_range(tails, heads, n, linenos, path)
    used = int(max(tails.max(initial=0), heads.max(initial=0)))
    if n - used > MAX_ISOLATED_NODES:
        raise FileFormatError(
            path,
            meta["NUMBER OF NODES"][1],
            f"<NUMBER OF NODES> declares {n:,} nodes but the links use nodes up to {used:,} only; "
            f"more than {MAX_ISOLATED_NODES:,} isolated nodes means the header is wrong",
        )
    loops = tails == heads
    if loops.any():
        k = int(np.flatnonzero(loops)[0])
        raise FileFormatError(path, linenos[k], f"self-loop at node {int(tails[k])}")
    neg = lens < 0
    if neg.any():
        k = int(np.flatnonzero(neg)[0])
        raise FileFormatError(path, linenos[k], f"negative {length} {float(lens[k])!r}")
    with np.errstate(over="ignore"):
        scaled = lens * scale
    over = ~np.isfinite(scaled)
    if over.any():
        k = int(np.flatnonzero(over)[0])
        raise FileFormatError(path, linenos[k], f"{length} {table[col][k]} times scale {scale:g} overflows to infinity")

    coords = parse_nodes(node_file, n) if node_file is not None else None
    name = re.sub(r"_net$", "", path.name.removesuffix(".tntp"))
    return TntpNetwork(tails - 1, heads - 1, scaled, n, first_thru, coords, name)


def _check_node_range(tails: IntArray, heads: IntArray, n: int, linenos: Sequence[int], path: Path) -> None:
    bad = (tails < 1) | (tails > n) | (heads < 1) | (heads > n)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        node = int(tails[k]) if not 1 <= tails[k] <= n else int(heads[k])
        raise FileFormatError(path, linenos[k], f"node {node} outside 1..{n} (<NUMBER OF NODES>)")


def parse_nodes(node_file: PathLike, n_nodes: int | None = None) -> FloatArray:
    """Read a TNTP ``*_node.tntp`` coordinate file.

    The arrays behind :func:`swapnet.io.read_tntp_nodes`, whose docstring gives the format, arguments and errors.
    """
    if n_nodes is not None:
        n_nodes = _v.integer(n_nodes, "n_nodes", minimum=1)
    path = Path(node_file)
    lines = _read_text(path).split("\n")
    rows, linenos = _data_rows(lines, 0)
    if rows and not _is_number(rows[0][0]):  # the column-name line
        rows, linenos = rows[1:], linenos[1:]
    table = _columns(rows, linenos, 3, path, "node row")
    ids = _to_int(table[0], linenos, path, "node id")
    xy = np.column_stack(
        [_to_float(table[1], linenos, path, "x coordinate"), _to_float(table[2], linenos, path, "y coordinate")]
    )
    n = int(ids.max(initial=0)) if n_nodes is None else n_nodes
    bad = (ids < 1) | (ids > n)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise FileFormatError(path, linenos[k], f"node {int(ids[k])} outside 1..{n}")
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if dup.size:
        k = int(order[dup[0] + 1])
        raise FileFormatError(path, linenos[k], f"node {int(ids[k])} listed twice")
    if ids.size != n:
        missing = np.setdiff1d(np.arange(1, n + 1), ids)
        raise FileFormatError(path, None, f"no coordinates for nodes {missing[:5].tolist()} ({missing.size} missing)")
    out = np.empty((n, 2))
    out[ids - 1] = xy
    return out


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- trips
_ORIGIN = re.compile(r"Origin\b[ \t]*([^\s:;]*)")
_ITEM = re.compile(r"([^\s:;]+)[ \t]*:[ \t]*([^\s:;]+)[ \t]*;")
# Possessive quantifiers: an item's extent is unambiguous, and skipping backtracking halves the time.
_BLOCK = re.compile(r"(?:\s*+[^\s:;]++[ \t]*+:[ \t]*+[^\s:;]++[ \t]*+;)*+\s*+")
_SEPARATORS = str.maketrans(":;", "  ")


class TntpTrips(NamedTuple):
    """A parsed ``*_trips.tntp`` file: one OD item per entry, in file order."""

    origins: IntArray
    destinations: IntArray
    volumes: FloatArray


def parse_trips(trips_file: PathLike, *, drop_zero: bool = True, drop_diagonal: bool = True) -> TntpTrips:
    """Parse a TNTP ``*_trips.tntp`` demand file into arrays.

    The arrays behind :func:`swapnet.io.read_tntp_trips`, whose docstring gives the format, arguments and errors.
    """
    path = Path(trips_file)
    text = _read_text(path)
    end_meta = _END_META.search(text)
    head = text[: end_meta.end()].split("\n") if end_meta else text.split("\n", 50)[:50]
    meta, start = _metadata(head, path, required=False)
    offset = 0
    for _ in range(start):
        offset = text.index("\n", offset) + 1
    body = text[offset:]
    if "~" in body:
        body = _blank_comments(body)
    first_line = start + 1

    def fail(pos: int, reason: str) -> FileFormatError:
        return FileFormatError(path, _line_of(body, pos, first_line), reason)

    heads = list(_ORIGIN.finditer(body))
    if not heads and not meta:  # a header stating the zones (and a zero total) may have no trips
        what = "is empty" if not text.strip() else "has no 'Origin <zone>' block and no metadata header"
        raise FileFormatError(path, None, f"{what}: not a trips file")
    stray = re.search(r"\S", body[: heads[0].start()] if heads else body)
    if stray is not None:
        raise fail(stray.start(), f"expected 'Origin <zone>', got {_snippet(body, stray.start())!r}")
    bounds = [h.end() for h in heads]
    ends = [h.start() for h in heads[1:]] + [len(body)]
    counts = np.zeros(len(heads), dtype=np.int64)
    dest_tokens: list[str] = []
    vol_tokens: list[str] = []
    for k, h in enumerate(heads):
        if not h.group(1):
            raise fail(h.start(), "'Origin' without a zone number")
        if _BLOCK.fullmatch(body, bounds[k], ends[k]) is None:
            raise _bad_item(body[bounds[k] : ends[k]], bounds[k], fail)
        toks = body[bounds[k] : ends[k]].translate(_SEPARATORS).split()  # validated: "d v d v ..."
        counts[k] = len(toks) // 2
        dest_tokens += toks[0::2]
        vol_tokens += toks[1::2]

    n_zones = int(_meta_number(meta, "NUMBER OF ZONES", path, integer=True)) if "NUMBER OF ZONES" in meta else None
    try:
        o_ids = _zone_numbers([h.group(1) for h in heads], n_zones)
        dests = _zone_numbers(dest_tokens, n_zones)
        vols = np.fromiter(map(float, vol_tokens), dtype=np.float64, count=len(vol_tokens))
        if not np.isfinite(vols).all():
            raise ValueError("non-finite volume")
    except (ValueError, OverflowError):
        raise _first_bad_token(body, heads, bounds, ends, fail) from None
    origins = np.repeat(o_ids, counts)
    origin_lines = _LazyLines(lambda k: _line_of(body, heads[k].start(), first_line), len(heads))
    item_lines = _LazyLines(lambda k: _item_line(body, bounds, ends, counts, k, first_line), vols.size)

    neg = vols < 0
    if neg.any():
        k = int(np.flatnonzero(neg)[0])
        raise FileFormatError(path, item_lines[k], f"negative volume {float(vols[k])!r}")
    z = n_zones if n_zones is not None else np.iinfo(np.int64).max
    span = f"1..{n_zones}" if n_zones is not None else "1.."
    bad_o = (o_ids < 1) | (o_ids > z)
    if bad_o.any():
        k = int(np.flatnonzero(bad_o)[0])
        raise FileFormatError(path, origin_lines[k], f"origin zone {int(o_ids[k])} outside {span}")
    bad_d = (dests < 1) | (dests > z)
    if bad_d.any():
        k = int(np.flatnonzero(bad_d)[0])
        raise FileFormatError(path, item_lines[k], f"destination zone {int(dests[k])} outside {span}")
    if "TOTAL OD FLOW" in meta:
        stated = _meta_number(meta, "TOTAL OD FLOW", path, integer=False)
        got = float(vols.sum())
        if abs(stated - got) > _TOTAL_RTOL * max(abs(stated), abs(got)) + 1e-12:
            raise FileFormatError(
                path, meta["TOTAL OD FLOW"][1], f"<TOTAL OD FLOW> is {stated!r} but the items sum to {got!r}"
            )
    keep = np.ones(vols.size, dtype=bool)
    if drop_zero:
        keep &= vols > 0
    if drop_diagonal:
        keep &= origins != dests
    if not keep.all():
        origins, dests, vols = origins[keep], dests[keep], vols[keep]
    return TntpTrips(origins, dests, vols)


@functools.lru_cache(maxsize=8)
def _zone_table(n: int) -> dict[str, int]:
    return {str(i): i for i in range(1, n + 1)}


def _zone_numbers(tokens: list[str], n_zones: int | None) -> IntArray:
    """Integers from zone-number tokens; a lookup table beats ``int()`` for the usual ``1..n`` spellings."""
    if n_zones is not None and n_zones <= 50_000:
        try:
            return np.fromiter(map(_zone_table(n_zones).__getitem__, tokens), dtype=np.int64, count=len(tokens))
        except KeyError:
            pass  # e.g. "007" or a zone out of range: parse, and let the range check report it
    return np.fromiter(map(int, tokens), dtype=np.int64, count=len(tokens))


def _first_bad_token(
    body: str,
    heads: list[re.Match[str]],
    bounds: list[int],
    ends: list[int],
    fail: Callable[[int, str], FileFormatError],
) -> FileFormatError:
    """Error for the first zone or volume that does not parse, in file order (error path only)."""
    for k, h in enumerate(heads):
        try:
            np.int64(int(h.group(1)))
        except (ValueError, OverflowError):
            return fail(h.start(), f"origin zone {h.group(1)!r} is not an integer")
        for m in _ITEM.finditer(body, bounds[k], ends[k]):
            d, v = m.group(1), m.group(2)
            try:
                np.int64(int(d))
            except (ValueError, OverflowError):
                return fail(m.start(), f"destination zone {d!r} is not an integer")
            if not _is_number(v):
                return fail(m.start(), f"volume {v!r} is not a number")
            if not math.isfinite(float(v)):
                return fail(m.start(), f"volume {v!r} is not a finite number")
    raise AssertionError("no bad token found")  # pragma: no cover


def _blank_comments(text: str) -> str:
    """``text`` with every line that starts with ``~`` (after blanks) emptied, keeping the line count."""
    pieces: list[str] = []
    done = 0
    pos = text.find("~")
    while pos != -1:
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        end = len(text) if end == -1 else end
        if not text[start:pos].strip():
            pieces.append(text[done:start])
            done = end
        pos = text.find("~", end)
    pieces.append(text[done:])
    return "".join(pieces)


class _LazyLines(Sequence[int]):
    """Sequence of line numbers computed on access (only needed when reporting an error)."""

    def __init__(self, fn: Callable[[int], int], size: int) -> None:
        self._fn = fn
        self._size = size

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, k: int) -> int: ...
    @overload
    def __getitem__(self, k: slice) -> Sequence[int]: ...
    def __getitem__(self, k: int | slice) -> int | Sequence[int]:
        if isinstance(k, slice):
            return [self._fn(i) for i in range(*k.indices(self._size))]
        return self._fn(k)


def _item_line(body: str, bounds: list[int], ends: list[int], counts: IntArray, k: int, first_line: int) -> int:
    """Line of the ``k``-th OD item (error path only)."""
    cum = np.cumsum(counts)
    b = int(np.searchsorted(cum, k, side="right"))
    j = k - (int(cum[b - 1]) if b else 0)
    for i, m in enumerate(_ITEM.finditer(body, bounds[b], ends[b])):
        if i == j:
            return _line_of(body, m.start(), first_line)
    raise AssertionError("item not found")  # pragma: no cover


def _bad_item(seg: str, seg_start: int, fail: Callable[[int, str], FileFormatError]) -> FileFormatError:
    """Error for the first stretch of a block that is not a ``j : v;`` item."""
    prev = 0
    for m in _ITEM.finditer(seg):
        gap = re.search(r"\S", seg[prev : m.start()])
        if gap is not None:
            break
        prev = m.end()
    else:
        gap = re.search(r"\S", seg[prev:])
    assert gap is not None
    pos = prev + gap.start()
    return fail(seg_start + pos, f"malformed OD item {_snippet(seg, pos)!r}; expected 'destination : volume;'")


def _snippet(text: str, pos: int) -> str:
    end = text.find("\n", pos)
    return " ".join(text[pos : end if end >= 0 else len(text)].split())[:40]


# --------------------------------------------------------------------------- link flows
def parse_flow(flow_file: PathLike) -> dict[str, NDArray[np.generic]]:
    """Parse a TNTP ``*_flow.tntp`` link-flow solution.

    The arrays behind :func:`swapnet.io.read_tntp_flow`, whose docstring gives the format, arguments and errors.
    """
    path = Path(flow_file)
    lines = _read_text(path).split("\n")
    rows, linenos = _data_rows(lines, 0)
    if rows and not _is_number(rows[0][0]):  # "From To Volume Cost"
        rows, linenos = rows[1:], linenos[1:]
    table = _columns(rows, linenos, 4, path, "flow row")
    return {
        "from": _to_int(table[0], linenos, path, "from node"),
        "to": _to_int(table[1], linenos, path, "to node"),
        "volume": _to_float(table[2], linenos, path, "volume"),
        "cost": _to_float(table[3], linenos, path, "cost"),
    }
