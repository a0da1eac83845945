"""The matrix siting models, re-exported from :mod:`swapnet.siting.cover` and :mod:`swapnet.siting.median`.

Kept so that ``from swapnet.siting.matrix import p_median`` (and the helpers other siting modules
imported from here) keep working; new code imports from :mod:`swapnet.siting`.
"""

from swapnet.siting._common import _raise_if_infeasible, _rebase
from swapnet.siting.cover import max_coverage, set_cover
from swapnet.siting.median import p_median

__all__ = ["_raise_if_infeasible", "_rebase", "max_coverage", "p_median", "set_cover"]
