r"""Lagrangian relaxation of the demand rows of :func:`~swapnet.siting.size_stations` (large instances).

With the service distance fixed, a site :math:`j` serving the load :math:`L` (peak-hour swaps) costs

.. math::

    f_j(L) = K_j + P_b \lceil a_j L \rceil + P_c \lceil t_j L \rceil \quad (0 < L \le \bar L_j),
    \qquad f_j(0) = 0,

with :math:`a_j` packs and :math:`t_j` chargers per swap an hour (the battery-stock and charging
rows), :math:`K_j` its annual fixed cost and :math:`\bar L_j = \min(B, \lfloor \bar b_j \rfloor / a_j,
\lfloor \bar c_j \rfloor / t_j)` the load its bays and limits allow. Relaxing the demand rows
:math:`\sum_j x_{ij} + u_i = h_i` with multipliers :math:`\lambda_i \in [0, \pi_i]` (:math:`\pi_i` the
cost of a lost peak-hour swap) gives

.. math::

    \mathcal L(\lambda) = \sum_i h_i \lambda_i + \sum_j \min\Big(0, \min_{0 < L \le \bar L_j}
    f_j(L) - G_j(L)\Big), \qquad G_j(L) = \max\Big\{\sum_i \lambda_i x_{ij} : \sum_i x_{ij} = L,
    0 \le x_{ij} \le h_i\Big\},

a valid lower bound on the optimum for every :math:`\lambda` (``max_stations`` keeps the ``p`` most
negative site terms). :math:`G_j` is concave and piecewise linear (fill the nodes in reach by falling
:math:`\lambda_i`) and :math:`f_j` is a step function, so the inner minimum lies at a step's right end
(:math:`L = k / a_j`, :math:`L = k / t_j`) or at :math:`\bar L_j`: each site's subproblem is an
enumeration of its size levels. The multipliers move by projected subgradient steps (Polyak's rule
towards the best plan); :mod:`swapnet.siting._sizing_primal` builds the plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_EPS = 1e-9


def _group(keys: IntArray, size: int) -> tuple[IntArray, IntArray, IntArray]:
    """Positions sorted by ``keys`` (stable) and, per key ``0..size-1``, its first and past-the-end position."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    end = np.searchsorted(keys[order], np.arange(size), side="right").astype(np.int64)
    return order, np.concatenate([[0], end[:-1]]).astype(np.int64), end


@dataclass(frozen=True)
class SizingData:
    """The sizing model in arrays (see the module docstring); pairs ``(ii[k], jj[k])`` may serve."""

    ii: IntArray
    jj: IntArray
    h: FloatArray
    lost: FloatArray
    fixed: FloatArray
    pb: float
    pc: float
    a: FloatArray
    t: FloatArray
    maxb: FloatArray
    maxc: FloatArray
    bays: float
    max_stations: int | None

    @cached_property
    def by_site(self) -> tuple[IntArray, IntArray, IntArray]:
        """The pairs grouped by site: their stable order, each site's first and past-the-end position in it."""
        return _group(self.jj, self.m)

    @cached_property
    def by_node(self) -> tuple[IntArray, IntArray, IntArray]:
        """The pairs grouped by demand node, as :attr:`by_site`."""
        return _group(self.ii, self.n)

    @property
    def n(self) -> int:
        """Number of demand nodes."""
        return int(self.h.size)

    @property
    def m(self) -> int:
        """Number of candidate sites."""
        return int(self.fixed.size)

    @property
    def cap(self) -> FloatArray:
        r"""Largest load :math:`\bar L_j` each site can carry."""
        with np.errstate(divide="ignore"):
            lb = np.where(self.a > 0, np.floor(self.maxb + _EPS) / np.maximum(self.a, 1e-300), np.inf)
            lc = np.where(self.t > 0, np.floor(self.maxc + _EPS) / np.maximum(self.t, 1e-300), np.inf)
        return np.asarray(np.maximum(np.minimum(np.minimum(lb, lc), self.bays), 0.0), dtype=np.float64)

    def sizes(self, load: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Cheapest integer packs and chargers for each site's load (zero where the load is zero)."""
        b = np.minimum(np.ceil(self.a * load - 1e-7), np.floor(self.maxb + _EPS))
        c = np.minimum(np.ceil(self.t * load - 1e-7), np.floor(self.maxc + _EPS))
        return np.maximum(b, 0.0), np.maximum(c, 0.0)

    def site_cost(self, load: FloatArray, is_open: NDArray[np.bool_]) -> FloatArray:
        """Annual cost of each site at its load (fixed cost where open, packs and chargers)."""
        b, c = self.sizes(load)
        return np.where(is_open, self.fixed + self.pb * b + self.pc * c, 0.0)


@dataclass(frozen=True)
class Levels:
    """Every site's candidate loads (the right ends of its cost steps) and their costs, grouped by site."""

    site: IntArray
    load: FloatArray
    cost: FloatArray
    first: IntArray  # first level of each site with levels
    sites: IntArray  # the sites with levels
    by_site: IntArray  # the pairs ordered by site
    beg: IntArray  # per site: first position of its pairs in ``by_site``
    end: IntArray  # per site: one past its last
    cap: FloatArray  # per site: its largest load


def levels(d: SizingData) -> Levels:
    """The right ends :math:`k / a_j`, :math:`k / t_j` of the steps of :math:`f_j` below :math:`\\bar L_j`, and
    :math:`\\bar L_j` itself, with their costs :math:`f_j(L)`."""
    cap = d.cap
    site_l: list[IntArray] = []
    load_l: list[FloatArray] = []
    for coef in (d.a, d.t):
        cnt = np.where((coef > 0) & (cap > 0), np.floor(coef * cap + _EPS), 0).astype(np.int64)
        s = np.repeat(np.arange(d.m), cnt)
        start = np.cumsum(cnt) - cnt
        k = np.arange(int(cnt.sum())) - np.repeat(start, cnt) + 1
        site_l.append(s)
        load_l.append(k / coef[s])
    use = np.flatnonzero(cap > 0)
    site_l.append(use)
    load_l.append(cap[use])
    site = np.concatenate(site_l)
    load = np.minimum(np.concatenate(load_l), cap[site])
    order = np.lexsort((load, site))
    site, load = site[order], load[order]
    keep = np.ones(site.size, dtype=bool)
    keep[1:] = (site[1:] != site[:-1]) | (load[1:] > load[:-1] * (1 + 1e-12))
    site, load = site[keep], load[keep]
    b = np.ceil(d.a[site] * load - _EPS)
    c = np.ceil(d.t[site] * load - _EPS)
    cost = d.fixed[site] + d.pb * b + d.pc * c
    sites, first = np.unique(site, return_index=True)
    by_site, beg, end = d.by_site
    return Levels(site, load, cost, first.astype(np.int64), sites.astype(np.int64), by_site, beg, end, cap)


@dataclass(frozen=True)
class Relaxed:
    """One evaluation of :math:`\\mathcal L(\\lambda)`."""

    bound: float
    value: FloatArray  # per site: min_L f_j(L) - G_j(L) (0 for sites without levels)
    load: FloatArray  # per site: the minimising load (0 where the site stays closed)
    is_open: NDArray[np.bool_]
    served: FloatArray  # per node: sum_j x_ij of the relaxed solution


def evaluate(d: SizingData, lev: Levels, lam: FloatArray) -> Relaxed:
    """Solve every site's subproblem at multipliers ``lam`` and return the bound and the relaxed solution."""
    m = d.m
    beg, end = lev.beg, lev.end
    js = d.jj[lev.by_site]
    lam_s = lam[d.ii[lev.by_site]]
    top = float(lam_s.max(initial=0.0)) + 1.0
    within = np.argsort(js * (4.0 * top) - lam_s, kind="stable")  # by site, then falling lambda
    order = lev.by_site[within]
    ls = lam_s[within]
    hs = np.where(ls > 0, d.h[d.ii[order]], 0.0)
    cum_h = np.concatenate([[0.0], np.cumsum(hs)])  # cum_h[k]: the first k pairs
    cum_v = np.concatenate([[0.0], np.cumsum(hs * ls)])
    base_h, base_v = cum_h[beg], cum_v[beg]
    # load (value) filled up to and including each pair, within its site; a zero pad keeps indexing safe
    p_end = np.concatenate([cum_h[1:] - base_h[js], [0.0]])
    v_end = np.concatenate([cum_v[1:] - base_v[js], [0.0]])
    ls = np.concatenate([ls, [0.0]])
    tot_h = cum_h[end] - base_h
    tot_v = cum_v[end] - base_v
    big = 2.0 * float(tot_h.max(initial=0.0)) + float(lev.cap[np.isfinite(lev.cap)].max(initial=0.0)) + 10.0
    keys = js * big + p_end[:-1]
    s = lev.site
    idx = np.searchsorted(keys, s * big + lev.load, side="left")
    inside = idx < end[s]
    prev = idx - 1
    has_prev = prev >= beg[s]
    p_prev = np.where(has_prev, p_end[np.maximum(prev, 0)], 0.0)
    v_prev = np.where(has_prev, v_end[np.maximum(prev, 0)], 0.0)
    lam_next = np.where(inside, ls[idx], 0.0)
    gain = np.where(inside, v_prev + lam_next * (lev.load - p_prev), tot_v[s])
    val = lev.cost - gain
    vmin = np.full(m, np.inf)
    vmin[lev.sites] = np.minimum.reduceat(val, lev.first) if val.size else np.zeros(0)
    at_min = np.flatnonzero(val <= vmin[s])
    first = np.ones(at_min.size, dtype=bool)
    first[1:] = s[at_min][1:] != s[at_min][:-1]
    best_load = np.zeros(m)
    best_load[s[at_min[first]]] = lev.load[at_min[first]]
    value = np.where(np.isfinite(vmin), vmin, 0.0)
    is_open = value < 0
    if d.max_stations is not None and int(is_open.sum()) > d.max_stations:
        keep = np.argsort(value, kind="stable")[: d.max_stations]
        is_open = np.zeros(m, dtype=bool)
        is_open[keep] = True
        is_open &= value < 0
    load = np.where(is_open, best_load, 0.0)
    # the relaxed assignment: each open site fills its nodes by falling lambda up to its load
    x_sorted = np.clip(load[js] - (p_end[:-1] - hs), 0.0, hs)
    served = np.asarray(np.bincount(d.ii[order], weights=x_sorted, minlength=d.n), dtype=np.float64)
    bound = float(d.h @ lam + np.minimum(value, 0.0)[is_open].sum())
    return Relaxed(bound, value, load, is_open, served)


def initial_multipliers(d: SizingData) -> FloatArray:
    """Start: the cheapest full-site cost per swap an hour among the sites in reach, at most the lost cost."""
    cap = d.cap
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(cap > 0, d.fixed / cap + d.pb * d.a + d.pc * d.t, np.inf)
    best = np.full(d.n, np.inf)
    np.minimum.at(best, d.ii, unit[d.jj])
    return np.asarray(np.minimum(best, d.lost), dtype=np.float64)
