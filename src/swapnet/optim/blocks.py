"""Named column blocks and row families of a :class:`~swapnet.optim.model.LinearModel`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

__all__ = ["ModelArrays", "VarBlock"]

ModelArrays = tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
    sp.csr_matrix,
    NDArray[np.float64],
    NDArray[np.float64],
]
"""``(cost, lb, ub, integer, A (CSR), row_lo, row_hi)`` of a whole model."""


@dataclass(frozen=True)
class VarBlock:
    """A named block of variables occupying columns ``start .. start + size - 1``."""

    name: str
    start: int
    shape: tuple[int, ...]
    integer: bool

    @property
    def size(self) -> int:
        """Number of variables in the block."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def index(self) -> NDArray[np.int64]:
        """Column indices, shaped like the block."""
        return np.arange(self.start, self.start + self.size, dtype=np.int64).reshape(self.shape)

    def values(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """This block's values from a full solution vector, shaped like the block."""
        return x[self.start : self.start + self.size].reshape(self.shape)


@dataclass
class _Family:
    name: str
    start: int
    n: int
