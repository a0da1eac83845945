"""A minimal reader of ``.xlsx`` workbooks (the first worksheet's cell texts), standard library only."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from swapnet.errors import FileFormatError

__all__ = ["first_sheet"]

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def first_sheet(path: Path) -> list[list[str]]:
    """Cell texts of the first worksheet of an ``.xlsx`` file, row by row (rows follow the sheet's row numbers)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            shared: list[str] = []
            if "xl/sharedStrings.xml" in names:
                sst = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
                shared = ["".join(t.text or "" for t in si.iter(f"{_NS}t")) for si in sst.iter(f"{_NS}si")]
            sheets = sorted(n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
            if not sheets:
                raise FileFormatError(path, None, "workbook has no worksheet")
            sheet = ElementTree.fromstring(z.read(sheets[0]))
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError) as e:
        raise FileFormatError(path, None, f"not a readable .xlsx workbook: {e}") from None
    out: list[list[str]] = []
    for row in sheet.iter(f"{_NS}row"):
        r = int(row.get("r", len(out) + 1))
        while len(out) < r:
            out.append([])
        cells = out[r - 1]
        for c in row.iter(f"{_NS}c"):
            ref = c.get("r", "")
            col = _column_number(ref) if ref else len(cells)
            v = c.find(f"{_NS}v")
            text = "" if v is None or v.text is None else v.text
            if c.get("t") == "s" and text:
                text = shared[int(text)]
            elif c.get("t") == "inlineStr":
                text = "".join(t.text or "" for t in c.iter(f"{_NS}t"))
            while len(cells) <= col:
                cells.append("")
            cells[col] = text
    return out


def _column_number(ref: str) -> int:
    """0-based column of a cell reference such as ``"AB12"``."""
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + (ord(ch.upper()) - ord("A") + 1)
    return n - 1
