"""The flow-cover MILP (one ``define``-style builder per family) and the capacitated variant's inputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from swapnet.errors import InvalidInputError
from swapnet.optim import LinearModel
from swapnet.siting._common import _ragged_arange
from swapnet.siting.flow._instance import (
    _HASH_SEED,
    _RANGE_RTOL,
    BoolArray,
    FloatArray,
    IntArray,
    U64Array,
    _Instance,
)
from swapnet.siting.flow._reduce import (
    _Cover,
    _hash_keys,
    _segment_sums_u64,
)


@dataclass(frozen=True)
class _Capacity:
    cap: FloatArray  # per candidate
    swaps: FloatArray  # per flow, swaps per trip
    pair_group: IntArray  # (group, candidate) pairs a group may swap at, with visits per trip
    pair_cand: IntArray
    pair_visits: FloatArray


def _build_model(
    inst: _Instance,
    cov: _Cover,
    name: str,
    *,
    capacity: _Capacity | None = None,
    fix_x: BoolArray | None = None,
    allowed: BoolArray | None = None,
) -> tuple[LinearModel, dict[str, int]]:
    """The (reduced) covering MILP. Returns the model and counts of shared sets.

    ``fix_x`` fixes every station variable; ``allowed`` closes the others.
    """
    m, G = inst.n_cands, cov.n_groups
    lm = LinearModel(name, sense="max")
    lb = np.zeros(m)
    lb[inst.fixed] = 1.0
    ub = np.ones(m) if allowed is None else allowed.astype(np.float64)
    if fix_x is not None:
        lb = ub = fix_x.astype(np.float64)
    x = lm.add_vars("x", m, lb=lb, ub=ub, binary=True).index
    y = lm.add_vars("y", G, ub=1.0, cost=cov.group_volume).index
    A = cov.sets.tocsr()
    size = np.diff(A.indptr).astype(np.int64)
    n_use = np.bincount(cov.gpair_set, minlength=cov.n_sets)
    share = n_use * (size - 1) > size + 1  # an auxiliary variable saves nonzeros
    sh_sets = np.flatnonzero(share & (n_use > 0)).astype(np.int64)
    direct = ~share[cov.gpair_set]
    # direct rows: y_g - sum_{k in K} x_k <= 0
    dg, ds = cov.gpair_group[direct], cov.gpair_set[direct]
    nd = dg.size
    ln = size[ds]
    r_x = np.repeat(np.arange(nd, dtype=np.int64), ln)
    starts = A.indptr[ds].astype(np.int64)
    pos = np.repeat(starts - np.concatenate([[0], np.cumsum(ln)[:-1]]), ln) if nd else r_x
    k_x = A.indices[pos + np.arange(r_x.size)].astype(np.int64) if r_x.size else r_x
    lm.add_constraints(
        "cover",
        rows=np.concatenate([np.arange(nd, dtype=np.int64), r_x]),
        cols=np.concatenate([y[dg], x[k_x]]),
        vals=np.concatenate([np.ones(nd), -np.ones(r_x.size)]),
        hi=0.0,
        n=nd,
    )
    if sh_sets.size:
        z = lm.add_vars("z", sh_sets.size, ub=1.0).index
        zi = np.full(cov.n_sets, -1, dtype=np.int64)
        zi[sh_sets] = np.arange(sh_sets.size, dtype=np.int64)
        sub = A[sh_sets].tocoo()
        lm.add_constraints(
            "set_cover",
            rows=np.concatenate([np.arange(sh_sets.size, dtype=np.int64), sub.row.astype(np.int64)]),
            cols=np.concatenate([z, x[sub.col.astype(np.int64)]]),
            vals=np.concatenate([np.ones(sh_sets.size), -np.ones(sub.nnz)]),
            hi=0.0,
            n=sh_sets.size,
        )
        lg, ls = cov.gpair_group[~direct], cov.gpair_set[~direct]
        nl = lg.size
        ar = np.arange(nl, dtype=np.int64)
        lm.add_constraints(
            "link",
            rows=np.concatenate([ar, ar]),
            cols=np.concatenate([y[lg], z[zi[ls]]]),
            vals=np.concatenate([np.ones(nl), -np.ones(nl)]),
            hi=0.0,
            n=nl,
        )
    zeros_m = np.zeros(m, dtype=np.int64)
    if inst.p is not None:
        lm.add_constraints("count", rows=zeros_m, cols=x, vals=1.0, lo=inst.p, hi=inst.p, n=1)
    if inst.budget is not None:
        lm.add_constraints("budget", rows=zeros_m, cols=x, vals=inst.costs, hi=inst.budget, n=1)
    if capacity is not None:
        _add_capacity(lm, inst, cov, capacity, x, y)
    return lm, {"shared_sets": int(sh_sets.size), "direct_rows": int(nd)}


def _add_capacity(lm: LinearModel, inst: _Instance, cov: _Cover, cp: _Capacity, x: IntArray, y: IntArray) -> None:
    """Swap-assignment variables and rows of the capacitated model."""
    G = cov.n_groups
    F = cov.group_volume
    s_g = cp.swaps[cov.group_rep]
    npair = cp.pair_group.size
    w = lm.add_vars("swaps", npair).index
    pg, pk = cp.pair_group, cp.pair_cand
    # sum_k w_gk - s_g F_g y_g = 0
    lm.add_constraints(
        "swaps_needed",
        rows=np.concatenate([pg, np.arange(G, dtype=np.int64)]),
        cols=np.concatenate([w, y]),
        vals=np.concatenate([np.ones(npair), -s_g * F]),
        lo=0.0,
        hi=0.0,
        n=G,
    )
    # w_gk - visits_gk F_g y_g <= 0
    ar = np.arange(npair, dtype=np.int64)
    lm.add_constraints(
        "swaps_per_visit",
        rows=np.concatenate([ar, ar]),
        cols=np.concatenate([w, y[pg]]),
        vals=np.concatenate([np.ones(npair), -cp.pair_visits * F[pg]]),
        hi=0.0,
        n=npair,
    )
    # sum_g w_gk - cap_k x_k <= 0
    m = inst.n_cands
    lm.add_constraints(
        "capacity",
        rows=np.concatenate([pk, np.arange(m, dtype=np.int64)]),
        cols=np.concatenate([w, x]),
        vals=np.concatenate([np.ones(npair), -cp.cap]),
        hi=0.0,
        n=m,
    )


def _start_vector(lm: LinearModel, cov: _Cover, is_open: BoolArray) -> FloatArray:
    """A feasible full column vector for the uncapacitated model with stations ``is_open``."""
    start = np.zeros(lm.n_cols)
    blocks = lm.blocks
    start[blocks["x"].index] = is_open
    hit = (cov.sets @ is_open.astype(np.float64)) > 0.5
    G = cov.n_groups
    need = np.bincount(cov.gpair_group, minlength=G)
    got = np.bincount(cov.gpair_group, weights=hit[cov.gpair_set], minlength=G)
    start[blocks["y"].index] = got >= need
    if "z" in blocks:
        A = cov.sets.tocsr()
        size = np.diff(A.indptr)
        n_use = np.bincount(cov.gpair_set, minlength=cov.n_sets)
        sh = np.flatnonzero((n_use * (size - 1) > size + 1) & (n_use > 0))
        start[blocks["z"].index] = hit[sh]
    return start


def _capacity_inputs(
    inst: _Instance, capacity: ArrayLike, swaps_per_trip: ArrayLike | None, R: float
) -> tuple[FloatArray, FloatArray]:
    m, n = inst.n_cands, inst.n_flows
    cap = np.asarray(capacity, dtype=np.float64).ravel()
    if cap.size == 1:
        cap = np.full(m, float(cap[0]))
    if cap.size != m:
        raise InvalidInputError("capacity", cap.size, f"needs a scalar or one value per candidate ({m})")
    bad = ~np.isfinite(cap) | (cap < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"capacity[{k}]", float(cap[k]), "must be finite and non-negative")
    if swaps_per_trip is None:
        S = np.add.reduceat(inst.lens, inst.eptr[:-1]) if inst.lens.size else np.zeros(n)
        swaps = np.maximum(1.0, np.ceil(2 * S / R * (1 - _RANGE_RTOL)))
    else:
        swaps = np.asarray(swaps_per_trip, dtype=np.float64).ravel()
        if swaps.size == 1:
            swaps = np.full(n, float(swaps[0]))
        if swaps.size != n:
            raise InvalidInputError("swaps_per_trip", swaps.size, f"needs a scalar or one value per flow ({n})")
        bad = ~np.isfinite(swaps) | (swaps <= 0)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"swaps_per_trip[{k}]", float(swaps[k]), "must be finite and positive")
    return cap, np.ascontiguousarray(swaps, dtype=np.float64)


def _visit_signature(inst: _Instance) -> U64Array:
    """Per flow, a hash of the multiset of candidates visited on its round trip."""
    key = _hash_keys(inst.n_cands, 1, _HASH_SEED + 2)[0]
    cflat = inst.cand_of_node[inst.nodes]
    val = np.where(cflat >= 0, key[np.maximum(cflat, 0)], np.uint64(0)).astype(np.uint64)
    tot = _segment_sums_u64(val, inst.ptr)
    first, last = val[inst.ptr[:-1]], val[inst.ptr[1:] - 1]
    out: U64Array = tot + tot - first - last
    return out


def _group_visits(inst: _Instance, cov: _Cover) -> tuple[IntArray, IntArray, FloatArray]:
    """``(group, candidate, visits per round trip)`` for the candidates on each group's representative path."""
    reps = cov.group_rep
    lens = np.diff(inst.ptr)[reps]
    g = np.repeat(np.arange(reps.size, dtype=np.int64), lens)
    offs = np.repeat(inst.ptr[reps] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) if reps.size else g
    pos = offs + np.arange(g.size, dtype=np.int64)
    c = inst.cand_of_node[inst.nodes[pos]] if pos.size else pos
    ends = np.zeros(pos.size, dtype=bool)
    if reps.size:
        ends[np.concatenate([[0], np.cumsum(lens)[:-1]])] = True
        ends[np.cumsum(lens) - 1] = True
    visits = np.where(ends, 1.0, 2.0)
    keep = c >= 0
    g, c, visits = g[keep], c[keep], visits[keep]
    m = max(inst.n_cands, 1)
    key, inv = np.unique(g * m + c, return_inverse=True)
    return key // m, key % m, np.bincount(inv, weights=visits).astype(np.float64)


def _split_swaps(inst: _Instance, cov: _Cover, cp: _Capacity, swaps_g: FloatArray) -> pd.DataFrame:
    """Per-flow swap volumes: each group's swaps split over its flows in proportion to volume."""
    gof = cov.group_of_flow
    flows_in = np.flatnonzero(gof >= 0)
    order = np.argsort(gof[flows_in], kind="stable")
    flows_in = flows_in[order]
    fg = gof[flows_in]
    gptr = np.searchsorted(fg, np.arange(cov.n_groups + 1))
    keep = swaps_g > 1e-12
    pg, pk, pw = cp.pair_group[keep], cp.pair_cand[keep], swaps_g[keep]
    cnt = gptr[pg + 1] - gptr[pg]
    rows_flow = flows_in[np.repeat(gptr[pg], cnt) + _ragged_arange(cnt)]
    rows_k = np.repeat(pk, cnt)
    share = inst.volumes[rows_flow] / cov.group_volume[np.repeat(pg, cnt)]
    return pd.DataFrame(
        {
            "flow": rows_flow,
            "station": [inst.cand_labels[int(k)] for k in rows_k],
            "swaps": np.repeat(pw, cnt) * share,
        }
    )
