"""Atomic file writing and Markdown tables for reports."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["atomic_write", "markdown_table"]


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


_UMASK = _umask()


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``write`` fills a temporary file in the same folder, then it is renamed.

    Parameters
    ----------
    path
        Final file.
    write
        Called with the temporary file's path.

    Returns
    -------
    Path
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_text(path: Path, text: str) -> Path:
    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


def _write_csv(path: Path, df: pd.DataFrame) -> Path:
    def write(p: Path) -> None:
        df.to_csv(p, index=False)

    return atomic_write(path, write)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if math.isnan(x):
            return "-"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x != 0 and abs(x) < 0.01:
            return f"{x:.2e}"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:,.3f}".rstrip("0").rstrip(".")
    return str(v).replace("|", "\\|")


def markdown_table(df: pd.DataFrame, *, index: bool = False) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (numbers rounded for reading).

    Parameters
    ----------
    df
        The table.
    index
        Include the index as the first column.
    """
    frame = df.reset_index() if index else df
    cols = [str(c) for c in frame.columns]
    fmts = column_formatters(cols)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f(v) for f, v in zip(fmts, row, strict=True)) + " |")
    return "\n".join(lines)


#: Columns holding labels (node ids, site ids): shown as they are, without thousands separators.
LABEL_COLUMNS = frozenset(("node", "site", "demand", "point", "id", "label", "station", "origin", "destination"))


def _label_fmt(v: Any) -> str:
    return "" if v is None else str(v).replace("|", "\\|")


def column_formatters(cols: list[str]) -> list[Callable[[Any], str]]:
    """One formatter per column: labels verbatim, numbers rounded for reading (:func:`_fmt`)."""
    return [_label_fmt if c in LABEL_COLUMNS else _fmt for c in cols]
