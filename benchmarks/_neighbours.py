"""CPU-bound neighbour processes, for the benchmark targets that must hold on a loaded machine."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def busy(stop: Any) -> None:  # pragma: no cover - runs in a child process
    """Spin until ``stop`` is set."""
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1000003


@contextmanager
def cpu_bound_neighbours(n: int = 2, warmup: float = 1.0) -> Iterator[None]:
    """Run ``n`` spinning processes (spawned) for the duration of the block; they stop when it ends."""
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    hogs = [ctx.Process(target=busy, args=(stop,), daemon=True) for _ in range(n)]
    for h in hogs:
        h.start()
    try:
        time.sleep(warmup)
        yield
    finally:
        stop.set()
        for h in hogs:
            h.join(5)
