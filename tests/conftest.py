"""Shared test helpers: the shared data folder and a byte-exact text-file writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapnet import InvalidInputError
from swapnet.io import data_dir


@pytest.fixture(scope="module")
def data() -> Path:
    """The shared data folder; tests that need it are skipped when it is absent."""
    try:
        return data_dir()
    except InvalidInputError:
        pytest.skip("shared data folder not found (set SWAPNET_DATA)")


def write(path: Path, lines: list[str], *, newline: str = "\n", bom: bool = False) -> Path:
    """Write ``lines`` with the given line ending, optionally with a UTF-8 byte-order mark."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (newline.join(lines) + newline).encode("utf-8"))
    return path
