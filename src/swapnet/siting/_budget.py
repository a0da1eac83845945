"""A wall-clock budget shared by every phase of one siting call."""

from __future__ import annotations

import time
from dataclasses import dataclass

from swapnet.optim import SolveOptions


@dataclass(frozen=True)
class Budget:
    """The end of a siting call's time budget (``SolveOptions.time_limit`` from the call's start).

    Attributes
    ----------
    end
        Absolute :func:`time.perf_counter` time at which the budget runs out
        (``None``: no limit).
    """

    end: float | None

    @classmethod
    def of(cls, options: SolveOptions, t0: float) -> Budget:
        """The budget of a call that started at ``t0`` with ``options``."""
        return cls(None if options.time_limit is None else t0 + float(options.time_limit))

    def left(self) -> float:
        """Seconds left (``inf`` without a limit; may be negative)."""
        return float("inf") if self.end is None else self.end - time.perf_counter()

    def expired(self, reserve: float = 0.0) -> bool:
        """Whether at most ``reserve`` seconds are left."""
        return self.end is not None and self.left() <= reserve

    def share(self, fraction: float) -> float | None:
        """Absolute deadline after ``fraction`` of the time left (``None`` without a limit)."""
        if self.end is None:
            return None
        now = time.perf_counter()
        return now + max(self.end - now, 0.0) * fraction
