r"""Interval cuts: a station's LP bound close to its MIP's, in a few milliseconds of cutting planes.

One station on a cyclic horizon without trucks (the decoupled case): :math:`n_t \in \mathbb{Z}_+`
charge starts, :math:`x_t \le \bar d_t = \min(d_t, \text{bay capacity})` swaps served (the lost swaps
:math:`u_t = \bar d_t - x_t \ge 0`), :math:`F_t, E_t \ge 0` charged and depleted packs, a charge
lasting :math:`L` periods and at most :math:`B` packs on the racks,
:math:`F_t + E_t + P_t \le B` with :math:`P_t = \sum_{j<L} n_{t-j}` the packs on charge.

For an interval :math:`I = [k, l)` of the (cyclic) day write :math:`D_I = \sum_{t \in I} \bar d_t`,
:math:`f_I = D_I - \lfloor D_I \rfloor`, :math:`U_I = \sum_{t \in I} u_t`,
:math:`N_I = \sum_{t \in I} n_t` and :math:`N^L_I = \sum_{t \in I} n_{t-L}` (the charges that
*finish* in :math:`I`). Summing the balances over :math:`I`:

* charged: :math:`F_{l-1} = F_{k-1} + N^L_I - X_I \ge 0`, i.e. :math:`F_{k-1} + U_I + N^L_I \ge D_I`;
* depleted: :math:`E_{l-1} = E_{k-1} + X_I - N_I \ge 0`, i.e. :math:`N_I \le E_{k-1} + D_I - U_I`.

Each is one integer sum and non-negative continuous terms against a fractional right-hand side,
so mixed-integer rounding gives three families of valid inequalities:

* **charged** (``A``): :math:`F_{k-1} + U_I + f_I N^L_I \ge f_I \lceil D_I \rceil` (either the charges
  finishing in :math:`I` cover :math:`\lceil D_I \rceil` swaps, or stock and lost swaps make up
  :math:`f_I` per missing charge);
* **depleted** (``B``): :math:`N_I - E_{k-1} / (1 - f_I) \le \lfloor D_I \rfloor`;
* **racks** (``C``): with :math:`E_{k-1} \le B - F_{k-1} - P_{k-1}` the depleted sum reads
  :math:`N_I + P_{k-1} + F_{k-1} + U_I \le B + D_I`; its integer part alone gives the Chvátal–Gomory
  cut :math:`\sum_{t = k-L}^{l-1} n_t \le B + \lfloor D_I \rfloor` — the charges that start in
  :math:`I` or are running when it begins cannot exceed the packs plus the *whole* swaps of
  :math:`I`.

There are :math:`T^2` intervals per family, too many to write down, so :func:`cut_bound` separates
them: solve the LP, add the most violated cuts of each family (numpy over all intervals at once),
re-solve from the previous basis, until none is violated or the round or time limit is reached.
The LP's optimum with the cuts is a valid lower bound on the station's MIP; on the 200-station
benchmark it closes most of the gap between the plain LP and the optimum (docs/operations.md), and
the cuts found are handed to the station's MIP as rows (:func:`add_cuts`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from swapnet.operations.instance import FloatArray, IntArray, _Instance
from swapnet.optim import LinearModel

__all__ = [
    "CUT_ROUNDS", "Cuts", "add_cuts", "cut_bound", "cuts_apply", "full_model_cuts", "full_view", "separate",
    "strengthen",
]  # fmt: skip

CUT_ROUNDS = 12
"""Separation rounds at most."""
CUTS_PER_ROUND = 40
"""Most violated cuts added per family and round."""
FULL_CUTS_PER_ROUND = 10
"""The same in the full model with trucks (its LP is large: each cut row costs more there)."""
MIN_VIOLATION = 1e-5
"""A cut is added only if the LP point violates it by more than this."""
_FRAC = 1e-6


@dataclass(frozen=True)
class Cuts:
    """Cut rows as triplets on a station model's columns: ``lo <= sum vals[cols[rows == r]] <= hi``."""

    rows: IntArray
    cols: IntArray
    vals: FloatArray
    lo: FloatArray
    hi: FloatArray
    specs: tuple[tuple[int, str, int, int], ...] = ()  # (station, family, k, length) of each cut

    @property
    def n(self) -> int:
        """Number of cuts."""
        return int(self.lo.size)


def _no_trucks(inst: _Instance) -> bool:
    return inst.fleet is None or len(inst.pa) == 0 or len(inst.deps) == 0


def _horizon_ok(inst: _Instance) -> bool:
    """A cyclic horizon with no charges carried over: every interval sum of a balance is exact."""
    return inst.cyclic and inst.hist is None


def _station_ok(inst: _Instance, s: int) -> bool:
    """Station ``s`` gets cuts: it is not a hub and its charge is shorter than the horizon."""
    return inst.T > int(inst.L[s]) and not inst.hub[s]


def cuts_apply(one: _Instance) -> bool:
    """Whether the cuts are valid for ``one``'s own station model: one station, cyclic, no trucks, no
    carried-over charges (with trucks, :func:`cut_bound` takes the road pool's take-overs instead)."""
    return one.N == 1 and _horizon_ok(one) and _no_trucks(one) and one.T > int(one.L[0])


def _window_sums(a: FloatArray, T: int) -> FloatArray:
    """``out[k, j] = sum of a over the cyclic interval [k, k + j + 1)``, shape (T, T)."""
    c = np.concatenate([[0.0], np.cumsum(np.concatenate([a, a]))])
    k = np.arange(T)[:, None]
    return np.asarray(c[k + np.arange(1, T + 1)[None, :]] - c[k], dtype=np.float64)


@dataclass(frozen=True)
class _Station:
    """What the cuts of one station need: periods, charge length, racks and servable swaps."""

    T: int
    L: int
    B: float
    dbar: FloatArray
    D: FloatArray  # (T, T) servable swaps of every interval (``_window_sums`` of ``dbar``)


def _station(inst: _Instance, s: int) -> _Station:
    dbar = np.minimum(inst.demand[s], inst.swap_cap[s])
    return _Station(inst.T, int(inst.L[s]), float(inst.batteries[s]), dbar, _window_sums(dbar, inst.T))


def separate(
    st: _Station,
    n: FloatArray,
    x: FloatArray,
    F: FloatArray,
    E: FloatArray,
    wf: FloatArray | None = None,
    we: FloatArray | None = None,
    nf: FloatArray | None = None,
    ne: FloatArray | None = None,
    per_family: int = CUTS_PER_ROUND,
) -> list[tuple[str, int, int]]:
    """The most violated cuts at the LP point ``(n, x, F, E)`` (each ``(T,)``) as (family, k, length).

    ``wf``, ``we``: packs the station takes over from elsewhere (the road pool's take-overs), charged
    and depleted; they enter each family as continuous terms (module docstring). ``nf``, ``ne``: the
    integer truck loads' net charged inflow and net depleted outflow per period (the full model);
    they join each family's integer sum.
    """
    T, L, B = st.T, st.L, st.B
    D = st.D  # fixed per station: computed once, not per round
    U = _window_sums(st.dbar - x, T)
    N = _window_sums(n, T) + (0.0 if ne is None else _window_sums(ne, T))
    NL = _window_sums(np.roll(n, L), T) + (0.0 if nf is None else _window_sums(nf, T))  # finishing: n[t - L]
    WF = 0.0 if wf is None else _window_sums(wf, T)
    WE = 0.0 if we is None else _window_sums(we, T)
    prev = (np.arange(T) - 1) % T
    P = sum((np.roll(n, j) for j in range(L)), np.zeros(T))[prev][:, None]  # packs on charge at k - 1
    f = D - np.floor(D)
    ok = (f > _FRAC) & (f < 1 - _FRAC)
    g = np.maximum(1 - f, _FRAC)
    viol = {
        "A": np.where(ok, f * (np.ceil(D) - NL) - F[prev][:, None] - U - WF, -1.0),
        "B": np.where(ok, N - (E[prev][:, None] + WE) / g - np.floor(D), -1.0),
        "C": np.where(ok, N + P - WE / g - B - np.floor(D), -1.0),
    }
    out: list[tuple[str, int, int]] = []
    for fam, v in viol.items():
        flat = v.ravel()
        k_top = min(per_family, flat.size)
        top = np.argpartition(flat, -k_top)[-k_top:]
        for i in top[flat[top] > MIN_VIOLATION].tolist():
            k, j = divmod(int(i), T)
            out.append((fam, k, j + 1))
    return out


_Terms = tuple[IntArray, IntArray, FloatArray]
"""(period, column, value) of a station's truck terms in one balance (``formulation._truck_terms``)."""


def _rows(
    st: _Station,
    cols: dict[str, IntArray],
    found: list[tuple[str, int, int]],
    first: int,
    trucks: tuple[_Terms, _Terms] | None = None,
    station: int = 0,
) -> Cuts:
    """The rows of the cuts ``found`` on the station's columns ``cols`` (start, served, charged,
    depleted, and the take-overs ``take_charged``, ``take_depleted`` where there are any).

    ``trucks``: the station's integer truck terms in its charged and depleted balances (the full
    model); they join the integer sum of each cut (module docstring)."""
    T, L, B = st.T, st.L, st.B
    stt, sv, ch, de = cols["start"], cols["served"], cols["charged"], cols["depleted"]
    tf, te = cols.get("take_charged"), cols.get("take_depleted")
    rows, cc, vv, lo, hi = [], [], [], [], []
    for r, (fam, k, ln) in enumerate(found):
        ts = (k + np.arange(ln)) % T
        D = float(st.dbar[ts].sum())
        f = D - np.floor(D)
        if fam == "A":  # F[k-1] - X_I + W^F_I + f N^L_I >= f ceil(D) - D   (U_I = D - X_I)
            c: list[IntArray] = [ch[[(k - 1) % T]], sv[ts], stt[(ts - L) % T]]
            v: list[FloatArray] = [np.ones(1), -np.ones(ln), np.full(ln, f)]
            if tf is not None:
                c.append(tf[ts])
                v.append(np.ones(ln))
            if trucks is not None:  # net truck inflow -sum tv * load joins the integer sum N^L_I
                tt, tc, tv = trucks[0]
                inside = ((tt - k) % T) < ln
                c.append(tc[inside])
                v.append(-f * tv[inside])
            lo.append(f * np.ceil(D) - D)
            hi.append(np.inf)
        else:
            if fam == "B":  # N_I - (E[k-1] + W^E_I) / (1 - f) <= floor(D)
                c = [stt[ts], de[[(k - 1) % T]]]
                v = [np.ones(ln), np.full(1, -1.0 / (1 - f))]
                hi.append(np.floor(D))
            else:  # C: the starts in [k - L, k + ln) (twice where the two parts overlap) - W^E_I / (1 - f)
                span = (k - L + np.arange(ln + L)) % T
                c = [stt[span]]
                v = [np.ones(span.size)]
                hi.append(B + np.floor(D))
            if te is not None:
                c.append(te[ts])
                v.append(np.full(ln, -1.0 / (1 - f)))
            if trucks is not None:  # net truck outflow sum tv * load joins the integer sum N_I
                tt, tc, tv = trucks[1]
                inside = ((tt - k) % T) < ln
                c.append(tc[inside])
                v.append(tv[inside])
            lo.append(-np.inf)
        u, inv = np.unique(np.concatenate(c), return_inverse=True)
        rows.append(np.full(u.size, first + r))
        cc.append(u)
        vv.append(np.bincount(inv, weights=np.concatenate(v)))
    cat = np.concatenate
    lo_a, hi_a = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    return Cuts(cat(rows), cat(cc), cat(vv), lo_a, hi_a, tuple((station, *f) for f in found))


def add_cuts(lm: LinearModel, cuts: Cuts, name: str = "interval_cuts") -> None:
    """Add ``cuts`` (from :func:`cut_bound` on the same model) to ``lm`` as one family."""
    if cuts.n:
        lm.add_constraints(name, rows=cuts.rows, cols=cuts.cols, vals=cuts.vals, lo=cuts.lo, hi=cuts.hi, n=cuts.n)


_OWN = ("start", "served", "charged", "depleted")
_TAKE = ("take_charged", "take_depleted")


def _point(x: FloatArray, own: dict[str, IntArray]) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """A station's starts, swaps served, charged and depleted packs at the point ``x``."""
    return x[own["start"]], x[own["served"]], x[own["charged"]], x[own["depleted"]]


def _stations_cut(inst: _Instance, lp: LinearModel) -> list[int]:
    """Stations of ``lp`` whose interval cuts are valid: ``lp`` is ``inst``'s own model without trucks
    (:func:`cuts_apply`) or its road pool (the take-over columns stand for the trucks); cyclic,
    no carried-over charges, and a charge shorter than the day."""
    if not _horizon_ok(inst):
        return []
    pooled = all(b in lp.blocks for b in _TAKE)
    if not (pooled or _no_trucks(inst)) or not all(b in lp.blocks for b in _OWN):
        return []
    return [s for s in range(inst.N) if _station_ok(inst, s)]


def cut_bound(
    inst: _Instance, lp: LinearModel, seconds: float | None = None, *, limit_lp: bool = False
) -> tuple[float | None, Cuts | None]:
    """The LP bound of ``lp`` strengthened by interval cuts at every station where they are valid.

    ``lp`` is ``inst``'s model without trucks (one station or several) or its road-pool relaxation
    (:func:`~swapnet.operations.road_pool.road_pool_model`, whose take-overs enter the cuts).
    Returns ``(bound, cuts)``: the optimum of the LP with every cut added, and the cuts binding
    there; ``(None, None)`` when the LP is not solved to optimality (an infeasible LP has bound
    ``inf``). Where no cut is valid, the plain LP bound is returned with no cuts. ``seconds`` caps
    the cut rounds, and with ``limit_lp`` the first LP too (else it has no limit, so that a small
    station's bound does not depend on the machine's load).
    """
    import highspy

    from swapnet.optim._highs import _use_threads, new_highs

    t0 = time.perf_counter()
    cost, lb, ub, _integ, A, rlo, rhi = lp.arrays()
    h = new_highs()
    _use_threads(h, 1)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("solver", "simplex")
    inf = highspy.kHighsInf
    Acsc = A.tocsc()
    h.passModel(
        _lp(highspy, cost, np.where(np.isfinite(lb), lb, -inf), np.where(np.isfinite(ub), ub, inf), Acsc,
            np.where(np.isfinite(rlo), rlo, -inf), np.where(np.isfinite(rhi), rhi, inf), lp.offset)
    )  # fmt: skip
    if limit_lp and seconds is not None:
        h.setOptionValue("time_limit", max(float(seconds), 0.05))
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return np.inf, None
    if status != highspy.HighsModelStatus.kOptimal:
        return None, None
    bound = float(h.getInfo().objective_function_value)
    which = _stations_cut(inst, lp)
    blocks = [b for b in _OWN + _TAKE if b in lp.blocks]
    cols = {s: {b: np.asarray(lp.block(b).index[s], dtype=np.int64) for b in blocks} for s in which}
    views = {s: _station(inst, s) for s in which}
    parts: list[Cuts] = []
    total = 0
    for _ in range(CUT_ROUNDS if which else 0):
        if seconds is not None and time.perf_counter() - t0 > seconds:
            break
        xv = np.asarray(h.getSolution().col_value)
        new: list[Cuts] = []
        for s in which:
            c = cols[s]
            wf, we = (xv[c[b]] if b in c else None for b in _TAKE)
            found = separate(views[s], *_point(xv, c), wf=wf, we=we)
            if found:
                new.append(_rows(views[s], c, found, total, station=s))
                total += new[-1].n
        if not new:
            break
        c_all = _join(new)
        local = c_all.rows - (total - c_all.n)
        ptr = np.searchsorted(local, np.arange(c_all.n + 1))
        lo, hi = np.where(np.isfinite(c_all.lo), c_all.lo, -inf), np.where(np.isfinite(c_all.hi), c_all.hi, inf)
        idx = c_all.cols.astype(np.int32)
        h.addRows(c_all.n, lo, hi, int(c_all.cols.size), ptr[:-1].astype(np.int32), idx, c_all.vals)
        parts.append(c_all)
        if seconds is not None:
            h.setOptionValue("time_limit", max(float(seconds) - (time.perf_counter() - t0), 0.01))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break  # keep the last optimal value (never claim more than was solved)
        bound = max(bound, float(h.getInfo().objective_function_value))
    if not parts:
        return bound, None
    every = _join(parts)
    dual = np.asarray(h.getSolution().row_dual)[lp.n_rows :]
    if dual.size == every.n and h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        every = _keep(every, np.abs(dual) > 1e-9)  # the binding cuts carry the bound; the rest would slow a MIP
    return bound, every


def _keep(cuts: Cuts, mask: NDArray[np.bool_]) -> Cuts:
    """The cuts where ``mask`` holds, renumbered from 0."""
    new_id = np.cumsum(mask) - 1
    on = mask[cuts.rows]
    return Cuts(
        new_id[cuts.rows[on]], cuts.cols[on], cuts.vals[on], cuts.lo[mask], cuts.hi[mask],
        tuple(sp for sp, m in zip(cuts.specs, mask.tolist(), strict=True) if m),
    )  # fmt: skip


def _join(parts: list[Cuts]) -> Cuts:
    cat = np.concatenate
    return Cuts(
        rows=cat([p.rows for p in parts]), cols=cat([p.cols for p in parts]), vals=cat([p.vals for p in parts]),
        lo=cat([p.lo for p in parts]), hi=cat([p.hi for p in parts]), specs=tuple(x for p in parts for x in p.specs),
    )  # fmt: skip


_View = dict[int, tuple[dict[str, IntArray], "tuple[_Terms, _Terms] | None", _Station]]
"""Per station of a full model where the cuts are valid: its own columns, its truck terms in the
charged and the depleted balance (``None`` without trucks) and what its cuts need."""


def full_view(inst: _Instance, lm: LinearModel) -> _View:
    """The stations of ``inst``'s full model ``lm`` where cuts are valid, with their columns, truck
    terms (period, column, value) and :class:`_Station` data, computed once for every round."""
    from swapnet.operations.formulation import Columns, _truck_terms
    from swapnet.operations.instance import _LOADS

    if not _horizon_ok(inst) or inst.fixed_f is not None or inst.fixed_g is not None:
        return {}
    blocks = {b: lm.block(b) for b in _OWN}
    trips = "trips" in lm.blocks
    terms = []
    if trips:
        cols = Columns(
            blocks["start"], blocks["served"], blocks["charged"], blocks["depleted"], None, lm.block("trips"),
            {nm: lm.block(nm) for nm in _LOADS},
        )  # fmt: skip
        for kind in ("charged", "depleted"):
            r, c, v = _truck_terms(inst, cols, kind)
            terms.append((r // inst.T, r % inst.T, c, v))
    out: _View = {}
    for s in range(inst.N):
        if not _station_ok(inst, s):
            continue
        own = {b: np.asarray(blk.index[s], dtype=np.int64) for b, blk in blocks.items()}
        tr = None
        if trips:
            sel = [t[0] == s for t in terms]
            tr = ((terms[0][1][sel[0]], terms[0][2][sel[0]], terms[0][3][sel[0]]),
                  (terms[1][1][sel[1]], terms[1][2][sel[1]], terms[1][3][sel[1]]))  # fmt: skip
        out[s] = (own, tr, _station(inst, s))
    return out


def full_model_cuts(
    inst: _Instance, lm: LinearModel, cuts: list[Cuts | None], view: _View | None = None
) -> Cuts | None:
    """The stations' cuts (``cuts[s]``, found on station ``s``'s own LP) written for ``inst``'s full
    model ``lm`` with trucks: each cut's integer sum takes the station's truck loads in its interval.

    Valid where the horizon is cyclic, nothing is carried over and the loads are integers (the
    truck model): summing a balance over an interval, the starts and the loads together are an integer.
    ``view``: :func:`full_view` of ``lm``, if already computed.
    """
    parts: list[Cuts] = []
    total = 0
    for s, (own, tr, st) in (full_view(inst, lm) if view is None else view).items():
        one = cuts[s]
        if one is None or not one.specs:
            continue
        found = [(fam, k, ln) for _, fam, k, ln in one.specs]
        parts.append(_rows(st, own, found, total, trucks=tr, station=s))
        total += parts[-1].n
    return _join(parts) if parts else None


def separate_full(
    inst: _Instance,
    lm: LinearModel,
    x: FloatArray,
    first: int = 0,
    per_family: int = FULL_CUTS_PER_ROUND,
    view: _View | None = None,
) -> Cuts | None:
    """Cuts of the full model ``lm`` (trucks' integer loads included) violated at its LP point ``x``,
    at most ``per_family`` per station and family. ``view``: :func:`full_view` of ``lm`` (its
    columns do not change as cuts are added, so one view serves every round)."""
    parts: list[Cuts] = []
    total = first
    T = inst.T
    for s, (own, tr, st) in (full_view(inst, lm) if view is None else view).items():
        nf = ne = None
        if tr is not None:
            nf = -np.bincount(tr[0][0], weights=tr[0][2] * x[tr[0][1]], minlength=T).astype(np.float64)
            ne = np.bincount(tr[1][0], weights=tr[1][2] * x[tr[1][1]], minlength=T).astype(np.float64)
        found = separate(st, *_point(x, own), nf=nf, ne=ne, per_family=per_family)
        if found:
            parts.append(_rows(st, own, found, total, trucks=tr, station=s))
            total += parts[-1].n
    return _join(parts) if parts else None


def _lp(
    highspy: object,
    cost: FloatArray,
    lb: FloatArray,
    ub: FloatArray,
    A: object,
    rlo: FloatArray,
    rhi: FloatArray,
    offset: float,
) -> object:
    lp = highspy.HighsLp()  # type: ignore[attr-defined]
    lp.num_col_ = int(cost.size)
    lp.num_row_ = int(rlo.size)
    lp.col_cost_ = cost
    lp.col_lower_ = lb
    lp.col_upper_ = ub
    lp.row_lower_ = rlo
    lp.row_upper_ = rhi
    lp.offset_ = float(offset)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise  # type: ignore[attr-defined]
    lp.a_matrix_.start_ = A.indptr  # type: ignore[attr-defined]
    lp.a_matrix_.index_ = A.indices  # type: ignore[attr-defined]
    lp.a_matrix_.value_ = A.data  # type: ignore[attr-defined]
    return lp


def strengthen(inst: _Instance, lm: LinearModel, view: _View | None = None) -> int:
    """Add every station's binding interval cuts to ``inst``'s full model ``lm`` (trucks included);
    the number of cuts added (0 where they are not valid, see :func:`full_model_cuts`).

    Each station's cuts come from its own LP without trucks (:func:`cut_bound`, milliseconds each),
    for the stations of :func:`full_view` only.
    """
    from swapnet.operations.formulation import build_model
    from swapnet.operations.instance import _station_slice

    view = full_view(inst, lm) if view is None else view
    found: list[Cuts | None] = [None] * inst.N
    for s in view:
        one = _station_slice(inst, s)
        found[s] = cut_bound(one, build_model(one, relax=True))[1] if cuts_apply(one) else None
    cuts = full_model_cuts(inst, lm, found, view)
    if cuts is None:
        return 0
    add_cuts(lm, cuts)
    return cuts.n
