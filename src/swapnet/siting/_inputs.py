"""Validation and normalisation of siting-model inputs."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from swapnet import _validate as _v
from swapnet.errors import InfeasibleError, InvalidInputError, UnknownNodeError
from swapnet.network import RoadNetwork

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAX_MAGNITUDE = 1e100
"""Largest finite cost, weight or capacity accepted: beyond it weighted sums overflow or lose all
precision (HiGHS treats 1e20 as infinite; models are scaled internally, but not past double range)."""


def check_magnitude(a: FloatArray, name: str) -> None:
    """Refuse finite entries of ``a`` above :data:`MAX_MAGNITUDE`, naming the entry (``name[i, j]``)."""
    big = np.isfinite(a) & (np.abs(a) > MAX_MAGNITUDE)
    if big.any():
        idx = tuple(int(v[0]) for v in np.nonzero(big))
        where = ", ".join(map(str, idx))
        raise InvalidInputError(
            f"{name}[{where}]",
            float(a[idx]),
            f"magnitude above {MAX_MAGNITUDE:g} cannot be solved safely; rescale the unit",
        )


def as_cost_matrix(
    cost: Any,
    *,
    demand: Any = None,
    candidates: Any = None,
) -> tuple[FloatArray, tuple[Hashable, ...], tuple[Hashable, ...]]:
    """Normalise a cost input to ``(matrix, demand_labels, site_labels)``.

    ``cost`` may be a 2-D array (labels ``0..n-1``), a pandas DataFrame (index =
    demand labels, columns = site labels), or a :class:`RoadNetwork` together
    with ``demand`` (node labels, or an object with ``.nodes``) and
    ``candidates`` (node labels, or an object with ``.labels`` and ``.nodes``),
    in which case costs are shortest-path distances.
    """
    if isinstance(cost, RoadNetwork):
        if demand is None or candidates is None:
            raise InvalidInputError("cost", cost, "with a network, pass demand= and candidates= too")
        dnodes = tuple(getattr(demand, "nodes", demand))
        if hasattr(candidates, "nodes") and hasattr(candidates, "labels"):
            slabels = tuple(candidates.labels)
            snodes = tuple(candidates.nodes)
        else:
            slabels = snodes = tuple(candidates)
        m = cost.distances(dnodes, snodes)
        return _check_matrix(m, "cost"), dnodes, slabels
    try:
        import pandas as pd

        if isinstance(cost, pd.DataFrame):
            for axis, labels in (("index", cost.index), ("columns", cost.columns)):
                if labels.has_duplicates:
                    dup = labels[labels.duplicated()][0]
                    raise InvalidInputError(f"cost.{axis}", dup, "duplicate label (each demand/site once)")
            m = _v.array(cost.to_numpy(), "cost", finite=False)
            return _check_matrix(m, "cost"), tuple(cost.index), tuple(cost.columns)
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    m = _v.array(cost, "cost", finite=False)
    if m.ndim != 2:
        raise InvalidInputError("cost", m.shape, "must be a 2-D (demand x sites) matrix")
    return _check_matrix(m, "cost"), tuple(range(m.shape[0])), tuple(range(m.shape[1]))


def _check_matrix(m: FloatArray, name: str) -> FloatArray:
    if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] == 0:
        raise InvalidInputError(name, m.shape, "needs at least one demand row and one site column")
    bad = np.isnan(m) | (m < 0) | np.isneginf(m)
    if bad.any():
        i, j = (int(a[0]) for a in np.nonzero(bad))
        raise InvalidInputError(
            f"{name}[{i}, {j}]", float(m[i, j]), "costs must be non-negative numbers (inf = unreachable)"
        )
    check_magnitude(m, name)
    return np.ascontiguousarray(m, dtype=np.float64)


def as_weights(weights: Any, n: int, name: str = "weights", *, demand: Any = None) -> FloatArray:
    """Demand weights as a float array of length ``n`` (finite, non-negative)."""
    if weights is None:
        daily = getattr(demand, "daily", None)
        w = np.ones(n) if daily is None else np.asarray(daily, dtype=np.float64)
    else:
        w = _v.array(weights, name, finite=False).ravel()
    if w.size != n:
        raise InvalidInputError(name, w.size, f"needs one weight per demand point ({n})")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"{name}[{k}]", float(w[k]), "weights must be finite and non-negative")
    check_magnitude(w, name)
    return w


def as_site_costs(site_costs: ArrayLike | None, m: int, *, candidates: Any = None) -> FloatArray:
    """Per-site costs (default: ``candidates.fixed_cost`` or 1 each)."""
    if site_costs is None:
        fc = getattr(candidates, "fixed_cost", None)
        c = np.ones(m) if fc is None else np.asarray(fc, dtype=np.float64)
    else:
        c = _v.array(site_costs, "site_costs", finite=False).ravel()
    if c.size != m:
        raise InvalidInputError("site_costs", c.size, f"needs one cost per candidate site ({m})")
    bad = ~np.isfinite(c) | (c < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"site_costs[{k}]", float(c[k]), "site costs must be finite and non-negative")
    check_magnitude(c, "site_costs")
    return c


def fixed_indices(fixed: Iterable[Hashable] | None, site_labels: Sequence[Hashable]) -> IntArray:
    """Positions of the sites that must be open."""
    if fixed is None:
        return np.zeros(0, dtype=np.int64)
    pos = {lab: k for k, lab in enumerate(site_labels)}
    out = []
    for lab in fixed:
        k = pos.get(lab)
        if k is None:
            raise UnknownNodeError("fixed", lab, "not a candidate site")
        out.append(k)
    return np.unique(np.asarray(out, dtype=np.int64))


def check_p(p: int | None, m: int, n_fixed: int) -> int | None:
    """Validate a site count ``p`` against ``m`` candidates and ``n_fixed`` forced-open sites."""
    if p is None:
        return None
    p = _v.integer(p, "p", minimum=1)
    if p > m:
        raise InvalidInputError("p", p, f"exceeds the number of candidate sites ({m})")
    if p < n_fixed:
        raise InvalidInputError("p", p, f"is below the number of fixed sites ({n_fixed})")
    return int(p)


def check_radius(radius: float) -> float:
    """A finite, non-negative coverage radius."""
    return _v.non_negative(radius, "radius")


def cover_matrix(cost: FloatArray, radius: float) -> sp.csr_matrix:
    """Boolean demand x site matrix: site ``j`` covers demand ``i`` when ``cost[i, j] <= radius``."""
    i, j = np.nonzero(cost <= radius)
    return sp.csr_matrix((np.ones(i.size, dtype=np.float64), (i, j)), shape=cost.shape)


def merge_identical_rows(A: sp.csr_matrix, weights: FloatArray) -> tuple[sp.csr_matrix, FloatArray, IntArray]:
    """Merge rows of a 0/1 CSR matrix with identical column sets, summing their weights.

    Returns the reduced matrix, the merged weights and, for every original row,
    the index of its merged row.
    """
    A = A.tocsr()
    A.sort_indices()
    indptr, indices = A.indptr, A.indices
    keys: dict[bytes, int] = {}
    rep = np.empty(A.shape[0], dtype=np.int64)
    for r in range(A.shape[0]):
        key = indices[indptr[r] : indptr[r + 1]].tobytes()
        rep[r] = keys.setdefault(key, len(keys))
    firsts = np.full(len(keys), -1, dtype=np.int64)
    firsts[rep[::-1]] = np.arange(A.shape[0])[::-1]
    merged = np.bincount(rep, weights=weights, minlength=len(keys))
    return A[firsts], np.asarray(merged, dtype=np.float64), rep


UNREACHABLE_MODES = ("raise", "drop")


def drop_unreachable(
    C: FloatArray,
    dlab: tuple[Hashable, ...],
    unreachable: str,
    *,
    model: str,
    weights: FloatArray | None = None,
) -> NDArray[np.bool_]:
    """Rows of ``C`` (demand points) that reach no candidate site (``inf`` in every column).

    With ``unreachable="raise"`` such a row with positive weight raises :class:`InfeasibleError`
    naming the demand; with ``"drop"`` the rows are returned so that the model leaves them out
    (and reports them in ``details["dropped_demand"]``).
    """
    if unreachable not in UNREACHABLE_MODES:
        raise InvalidInputError("unreachable", unreachable, "must be 'raise' or 'drop'")
    out: NDArray[np.bool_] = np.asarray(~np.isfinite(C).any(axis=1))
    if weights is not None and unreachable == "raise":
        out = out & (weights > 0)
    if unreachable == "raise" and out.any():
        bad = [dlab[int(i)] for i in np.flatnonzero(out)]
        raise InfeasibleError(
            f"{model}: {len(bad)} demand point(s) reach no candidate site (disconnected network?), "
            f"e.g. {bad[:5]!r}; pass unreachable='drop' to leave them out"
        )
    return out


def dropped_details(dlab: tuple[Hashable, ...], drop: NDArray[np.bool_], w: FloatArray | None) -> dict[str, Any]:
    """``details`` entries naming the dropped demand and its weight."""
    idx = np.flatnonzero(drop)
    return {
        "dropped_demand": tuple(dlab[int(i)] for i in idx),
        "dropped_weight": float(w[idx].sum()) if w is not None else float(idx.size),
    }


def check_dropped(C: FloatArray, drop: NDArray[np.bool_], dlab: tuple[Hashable, ...], plan_dropped: Any) -> list[str]:
    """Verification: the plan names exactly the dropped rows, and each of them really reaches no site."""
    problems = []
    want = tuple(dlab[int(i)] for i in np.flatnonzero(drop))
    if tuple(plan_dropped or ()) != want:
        problems.append(f"dropped demand {tuple(plan_dropped or ())!r} != recomputed {want!r}")
    reach = np.isfinite(C[drop]).any(axis=1) if drop.any() else np.zeros(0, dtype=bool)
    if reach.any():
        problems.append(f"dropped demand {want[int(np.flatnonzero(reach)[0])]!r} reaches a candidate site")
    return problems


def check_budget(budget: float | None, c: FloatArray, fx: IntArray, p: int | None) -> float | None:
    """Validate a site-cost budget against the site costs ``c``, the fixed sites ``fx`` and the count ``p``.

    ``None`` is allowed only together with a ``p``. The budget must be a finite non-negative number
    that pays for the fixed sites and, with ``p``, for the cheapest choice of ``p`` sites
    (within a relative ``1e-12``).
    """
    if budget is None:
        if p is None:
            raise InvalidInputError("p", None, "give p, budget, or both")
        return None
    try:
        B = float(budget)
    except (TypeError, ValueError):
        raise InvalidInputError("budget", budget, "must be a number") from None
    if not np.isfinite(B) or B < 0:
        raise InvalidInputError("budget", budget, "must be finite and non-negative")
    check_magnitude(np.array([B]), "budget")
    need = float(c[fx].sum())
    if need > B * (1 + 1e-12) + 1e-12:
        raise InvalidInputError("budget", budget, f"is below the cost of the fixed sites ({need:g})")
    if p is not None:
        extra = float(np.sort(np.delete(c, fx))[: max(p - fx.size, 0)].sum())
        if need + extra > B * (1 + 1e-12) + 1e-12:
            raise InvalidInputError(
                "budget", budget, f"cannot pay for {p} sites (the cheapest choice costs {need + extra:g})"
            )
    return B
