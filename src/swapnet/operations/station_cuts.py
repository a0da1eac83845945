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

from swapnet.operations.instance import FloatArray, IntArray, _Instance
from swapnet.optim import LinearModel

__all__ = ["CUT_ROUNDS", "Cuts", "add_cuts", "cut_bound", "cuts_apply", "separate"]

CUT_ROUNDS = 12
"""Separation rounds at most."""
CUTS_PER_ROUND = 40
"""Most violated cuts added per family and round."""
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

    @property
    def n(self) -> int:
        """Number of cuts."""
        return int(self.lo.size)


def cuts_apply(one: _Instance) -> bool:
    """Whether the cuts are valid for ``one``: one station, cyclic, no trucks, no carried-over charges."""
    no_trucks = one.fleet is None or len(one.pa) == 0 or len(one.deps) == 0
    return one.N == 1 and one.cyclic and one.hist is None and no_trucks and one.T > int(one.L[0])


def _window_sums(a: FloatArray, T: int) -> FloatArray:
    """``out[k, j] = sum of a over the cyclic interval [k, k + j + 1)``, shape (T, T)."""
    c = np.concatenate([[0.0], np.cumsum(np.concatenate([a, a]))])
    k = np.arange(T)[:, None]
    return np.asarray(c[k + np.arange(1, T + 1)[None, :]] - c[k], dtype=np.float64)


def separate(one: _Instance, n: FloatArray, x: FloatArray, F: FloatArray, E: FloatArray) -> list[tuple[str, int, int]]:
    """The most violated cuts at the LP point ``(n, x, F, E)`` (each ``(T,)``) as (family, k, length)."""
    T, L, B = one.T, int(one.L[0]), float(one.batteries[0])
    dbar = np.minimum(one.demand[0], one.swap_cap[0])
    D = _window_sums(dbar, T)
    U = _window_sums(dbar - x, T)
    N = _window_sums(n, T)
    NL = _window_sums(np.roll(n, L), T)  # charges finishing in the interval: n[t - L]
    prev = (np.arange(T) - 1) % T
    P = sum((np.roll(n, j) for j in range(L)), np.zeros(T))[prev][:, None]  # packs on charge at k - 1
    f = D - np.floor(D)
    ok = (f > _FRAC) & (f < 1 - _FRAC)
    viol = {
        "A": np.where(ok, f * (np.ceil(D) - NL) - F[prev][:, None] - U, -1.0),
        "B": np.where(ok, N - E[prev][:, None] / np.maximum(1 - f, _FRAC) - np.floor(D), -1.0),
        "C": np.where(ok, N + P - B - np.floor(D), -1.0),
    }
    out: list[tuple[str, int, int]] = []
    for fam, v in viol.items():
        flat = v.ravel()
        k_top = min(CUTS_PER_ROUND, flat.size)
        top = np.argpartition(flat, -k_top)[-k_top:]
        for i in top[flat[top] > MIN_VIOLATION].tolist():
            k, j = divmod(int(i), T)
            out.append((fam, k, j + 1))
    return out


def _rows(one: _Instance, cols: dict[str, IntArray], found: list[tuple[str, int, int]], first: int) -> Cuts:
    """The rows of the cuts ``found`` on the columns ``cols`` (start, served, charged, depleted)."""
    T, L, B = one.T, int(one.L[0]), float(one.batteries[0])
    dbar = np.minimum(one.demand[0], one.swap_cap[0])
    st, sv, ch, de = cols["start"], cols["served"], cols["charged"], cols["depleted"]
    rows, cc, vv, lo, hi = [], [], [], [], []
    for r, (fam, k, ln) in enumerate(found):
        ts = (k + np.arange(ln)) % T
        D = float(dbar[ts].sum())
        f = D - np.floor(D)
        if fam == "A":  # F[k-1] - X_I + f N^L_I >= f ceil(D) - D   (U_I = D - X_I)
            c = np.concatenate([[ch[(k - 1) % T]], sv[ts], st[(ts - L) % T]])
            v = np.concatenate([[1.0], -np.ones(ln), np.full(ln, f)])
            lo.append(f * np.ceil(D) - D)
            hi.append(np.inf)
        elif fam == "B":
            c = np.concatenate([st[ts], [de[(k - 1) % T]]])
            v = np.concatenate([np.ones(ln), [-1.0 / (1 - f)]])
            lo.append(-np.inf)
            hi.append(np.floor(D))
        else:  # C: the starts in [k - L, k + ln) (counted twice where the two parts overlap)
            span = (k - L + np.arange(ln + L)) % T
            c = st[span]
            v = np.ones(span.size)
            lo.append(-np.inf)
            hi.append(B + np.floor(D))
        u, inv = np.unique(c, return_inverse=True)
        rows.append(np.full(u.size, first + r))
        cc.append(u)
        vv.append(np.bincount(inv, weights=v))
    cat = np.concatenate
    return Cuts(cat(rows), cat(cc), cat(vv), np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64))


def add_cuts(lm: LinearModel, cuts: Cuts, name: str = "interval_cuts") -> None:
    """Add ``cuts`` (from :func:`cut_bound` on the same station model) to ``lm`` as one family."""
    if cuts.n:
        lm.add_constraints(name, rows=cuts.rows, cols=cuts.cols, vals=cuts.vals, lo=cuts.lo, hi=cuts.hi, n=cuts.n)


def cut_bound(one: _Instance, lp: LinearModel, seconds: float | None = None) -> tuple[float | None, Cuts | None]:
    """The LP bound of the station model ``lp`` (``one``'s model) strengthened by interval cuts.

    Returns ``(bound, cuts)``: the optimum of the LP with every cut added, and the cuts; ``(None,
    None)`` when the LP is not solved to optimality (an infeasible LP has bound ``inf``). Without
    :func:`cuts_apply` the plain LP bound is returned with no cuts.
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
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return np.inf, None
    if status != highspy.HighsModelStatus.kOptimal:
        return None, None
    bound = float(h.getInfo().objective_function_value)
    if not cuts_apply(one):
        return bound, None
    cols = {b: np.asarray(lp.block(b).index[0], dtype=np.int64) for b in ("start", "served", "charged", "depleted")}
    parts: list[Cuts] = []
    total = 0
    for _ in range(CUT_ROUNDS):
        if seconds is not None and time.perf_counter() - t0 > seconds:
            break
        xv = np.asarray(h.getSolution().col_value)
        found = separate(one, *(xv[cols[b]] for b in ("start", "served", "charged", "depleted")))
        if not found:
            break
        c = _rows(one, cols, found, total)
        local = c.rows - total
        ptr = np.searchsorted(local, np.arange(c.n + 1))
        h.addRows(c.n, np.where(np.isfinite(c.lo), c.lo, -inf), np.where(np.isfinite(c.hi), c.hi, inf),
                  int(c.cols.size), ptr[:-1].astype(np.int32), c.cols.astype(np.int32), c.vals)  # fmt: skip
        parts.append(c)
        total += c.n
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break  # keep the last optimal value (never claim more than was solved)
        bound = max(bound, float(h.getInfo().objective_function_value))
    if not parts:
        return bound, None
    cat = np.concatenate
    return bound, Cuts(*(cat([getattr(p, a) for p in parts]) for a in ("rows", "cols", "vals", "lo", "hi")))


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
