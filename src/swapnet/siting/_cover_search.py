r"""Local search for set covering: a cheaper cover by swapping one site in and redundant ones out.

A cover ``S`` of the 0/1 matrix ``A`` (rows to cover, columns = sites with costs ``c``) is improved by
two moves, repeated until the time or the iteration budget runs out:

* **add-and-drop**: open a site ``k`` outside ``S``, then close the sites of ``S`` that have become
  redundant (every row they cover is covered twice), the most expensive first; kept when the cover
  is cheaper. The candidates ``k`` are those for which some site ``j`` of ``S`` has all its
  *critical* rows (rows only ``j`` covers) inside ``k``'s rows, ranked by the cost they could save.
* **plateau swap**: when no move saves, swap one such ``j`` for a ``k`` of no higher cost, at random
  (seeded) and not back to a site closed in the last few swaps, to move across equal-cost covers.

Every accepted cover is a cover (the counts are kept exactly); the best one found is returned.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_TABU = 30
"""Plateau swaps for which a site they closed may not be reopened (10k x 1k LSCP: 116 sites in 10 s with
30, 118 with 0 or 8)."""


def improve_cover(
    A: sp.csr_matrix,
    c: FloatArray,
    start: BoolArray,
    fixed: BoolArray,
    deadline: float | None,
    max_stall: int,
    seed: int = 0,
) -> BoolArray:
    """The cheapest cover found from ``start`` before ``deadline`` (``time.perf_counter``; ``None``: no
    limit) or ``max_stall`` moves in a row without a cheaper cover; sites in ``fixed`` are never closed.

    ``start`` must be a cover of every row of ``A``; columns of ``A`` with no entries are never opened.
    """
    A = sp.csr_matrix(A, dtype=np.float64)
    Ac = A.tocsc()
    y = start.copy()
    cnt = A @ y.astype(np.float64)
    if not (cnt > 0.5).all():
        raise ValueError("improve_cover needs a cover to start from")
    usable = np.diff(Ac.indptr) > 0
    best, best_cost = y.copy(), float(c[y].sum())
    rng = np.random.default_rng(seed)
    tabu: deque[int] = deque(maxlen=_TABU)
    stall = 0

    def rows_of(j: int) -> NDArray[np.int32]:
        return Ac.indices[Ac.indptr[j] : Ac.indptr[j + 1]]

    while stall < max_stall and (deadline is None or time.perf_counter() < deadline):
        stall += 1
        ch = np.flatnonzero(y & ~fixed)
        if ch.size == 0:
            break
        crit = cnt < 1.5
        P = (Ac[:, ch].T @ sp.diags(crit.astype(np.float64))).tocsr()  # chosen x rows, critical rows only
        ncrit = np.asarray(P.sum(axis=1)).ravel()
        if (ncrit < 0.5).any():  # a redundant site: close it (the most expensive)
            j = int(ch[np.argmax(np.where(ncrit < 0.5, c[ch], -np.inf))])
            y[j] = False
            cnt[rows_of(j)] -= 1.0
        else:
            Q = (P @ Ac).toarray()  # |crit(j) & rows(k)|
            rem = (Q >= ncrit[:, None] - 0.5) & ~y[None, :] & usable[None, :]
            save = c[ch] @ rem - c
            order = np.flatnonzero((save > 1e-9) & ~y & usable)
            moved = False
            for k in order[np.argsort(-save[order], kind="stable")]:
                cnt2 = cnt.copy()
                cnt2[rows_of(int(k))] += 1.0
                drop = []
                for j in ch[rem[:, k]][np.argsort(-c[ch[rem[:, k]]], kind="stable")]:
                    r = rows_of(int(j))
                    if (cnt2[r] > 1.5).all():
                        cnt2[r] -= 1.0
                        drop.append(int(j))
                if float(c[drop].sum()) > float(c[k]) + 1e-9:
                    y[k] = True
                    y[drop] = False
                    cnt = cnt2
                    moved = True
                    break
            if not moved:
                jj, kk = np.nonzero(rem & (c[None, :] <= c[ch][:, None] + 1e-9))
                ok = ~np.isin(kk, np.fromiter(tabu, dtype=np.int64, count=len(tabu)))
                if not ok.any():
                    break
                pick = rng.choice(np.flatnonzero(ok))
                j, k = int(ch[jj[pick]]), int(kk[pick])
                y[j], y[k] = False, True
                cnt[rows_of(j)] -= 1.0
                cnt[rows_of(k)] += 1.0
                tabu.append(j)
        cost = float(c[y].sum())
        if cost < best_cost - 1e-9:
            best, best_cost, stall = y.copy(), cost, 0
    return best
