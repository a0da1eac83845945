"""Rounding a relaxed shared first stage to a candidate (the decomposition's first candidate, from its bound).

The bound itself (value-function cuts on the later years, the master LP) is in
:mod:`~swapnet.siting.rollout.benders`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from swapnet.siting.rollout.instance import RolloutInstance

__all__ = ["round_first_stage"]

FloatArray = NDArray[np.float64]
FirstStage = tuple[FloatArray, FloatArray, FloatArray]


def round_first_stage(inst: RolloutInstance, z: FirstStage, threshold: float = 0.5) -> FirstStage:
    """A relaxed first stage made integral: open above ``threshold``, sizes rounded up within the limits, monotone."""
    Y = np.maximum.accumulate((np.asarray(z[0]) > threshold).astype(np.float64), axis=0)
    B = np.minimum(np.ceil(np.asarray(z[1]) - 1e-7), inst.maxb) * Y
    C = np.minimum(np.ceil(np.asarray(z[2]) - 1e-7), inst.maxc) * Y
    if inst.c_ge_b:
        C = np.maximum(C, B)
    return Y, np.maximum.accumulate(B, axis=0), np.maximum.accumulate(C, axis=0)
