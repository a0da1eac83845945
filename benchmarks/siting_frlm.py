"""Benchmark: the flow-refuelling location model (FRLM) on Chicago-Sketch, against an unreduced per-arc build.

Run with ``python benchmarks/siting_frlm.py`` (about 5 minutes on 2 cores: swapnet's
run, then the baseline with the same time limit) or ``--no-baseline`` (about 2.5
minutes). ``--targets`` runs the two targets of the siting issue in one run and prints
each as met or NOT met: a gap <= 1 % within 120 s beside two CPU-bound processes started
here, and the proof (gap <= 0.01 %, HiGHS's default relative MIP gap) within 10 minutes. Reads ``networks/Chicago-Sketch`` from the shared data folder
(``swapnet.io.datasets.data_dir()``, else ``../shared/data`` beside the checkout).

Instance: the Chicago-Sketch network (933 nodes, 2,950 directed links, length in
miles; ``<FIRST THRU NODE> 1``, so zones may be passed through), every OD pair of
the trip table with positive volume between distinct zones (93,135 flows), each
on its shortest path. FRLM with ``p`` stations (default 20) and vehicle range
``--range`` miles (default 30: with 20 stations about 45 % of the trips can be
refuelled, so coverage is partial). Candidates: every node on some path.

Contenders, both with the same ``--time-limit`` for the solver:

* swapnet ``flow_refueling`` (method ``"milp"``), timed end to end (call to
  returned plan: paths, cover sets, reductions, greedy, LP bound by decomposition,
  restricted and full MILP, plan extraction). The plan is then checked with
  ``plan.verify()`` (an independent fuel walk over every flow).
* baseline: the textbook arc-cover MILP without any reduction, built per arc in
  Python: one ``y`` per flow, one row ``y_q <= sum_{k in K_a} x_k`` per arc of
  every round trip (the covering stations found by walking back from the arc),
  solved by the same HiGHS through :class:`swapnet.optim.LinearModel`. Its plan
  (if any) is re-evaluated with swapnet so the objectives are comparable.
"""

from __future__ import annotations

import argparse
import array
import datetime as dt
import gc
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from _neighbours import cpu_bound_neighbours

from swapnet import ODFlows, RoadNetwork
from swapnet.io import read_tntp_network, read_tntp_trips
from swapnet.optim import LinearModel, SolveOptions
from swapnet.siting import flow_refueling


def networks_dir() -> Path:
    try:
        from swapnet.io.datasets import data_dir

        d = Path(data_dir())
        if (d / "Chicago-Sketch").is_dir():
            return d
    except (ImportError, ValueError):  # no datasets helper or no data folder: try the checkout-relative one
        pass
    for base in Path(__file__).resolve().parents:
        d = base / "shared" / "data" / "networks"
        if (d / "Chicago-Sketch").is_dir():
            return d
    raise SystemExit("Chicago-Sketch data not found (set SWAPNET_DATA or put shared/data beside the checkout)")


def load() -> tuple[RoadNetwork, ODFlows]:
    d = networks_dir() / "Chicago-Sketch"
    net = read_tntp_network(d / "ChicagoSketch_net.tntp", length_unit="mi")
    flows = read_tntp_trips(d / "ChicagoSketch_trips.tntp")  # zero and intra-zonal entries dropped
    return net, flows


def baseline(net: RoadNetwork, flows: ODFlows, R: float, p: int, time_limit: float) -> dict[str, Any]:
    """The unreduced arc-cover model, built per arc in Python, solved with the same HiGHS."""
    t0 = time.perf_counter()
    paths = flows.path_indices(net)
    cand = np.unique(np.concatenate(paths))
    pos = np.full(net.n_nodes, -1, dtype=np.int64)
    pos[cand] = np.arange(cand.size)
    m, n = cand.size, len(paths)
    rows = array.array("q")
    cols = array.array("q")
    vals = array.array("d")
    r = 0
    y_ub = np.ones(n)
    for q, path in enumerate(paths):
        lens = net.edge_lengths(path[:-1], path[1:]).tolist()
        nodes = path.tolist()
        cyc_nodes = nodes + nodes[-2::-1]  # round-trip positions 0..2L
        cyc_lens = lens + lens[::-1]
        L2 = len(cyc_lens)
        if max(cyc_lens) > R:  # an arc longer than the range: the flow is never refuelled
            y_ub[q] = 0.0
            continue
        for a in range(L2):  # arc a goes from position a to a+1
            rows.append(r)
            cols.append(m + q)
            vals.append(1.0)
            seen = set()
            d = cyc_lens[a]
            i = a
            while d <= R * (1 + 1e-9) and len(seen) < L2:  # walk back from the arc's tail
                k = pos[cyc_nodes[i % L2]]
                if k not in seen:
                    seen.add(k)
                    rows.append(r)
                    cols.append(int(k))
                    vals.append(-1.0)
                i -= 1
                d += cyc_lens[i % L2]
                if i <= a - L2:
                    break
            r += 1
    lm = LinearModel("frlm_unreduced", sense="max")
    x = lm.add_vars("x", m, binary=True)
    lm.add_vars("y", n, ub=y_ub, cost=flows.volumes)
    lm.add_constraints(
        "cover",
        rows=np.frombuffer(rows, np.int64),
        cols=np.frombuffer(cols, np.int64),
        vals=np.frombuffer(vals),
        hi=0.0,
    )
    lm.add_constraints("count", rows=np.zeros(m, np.int64), cols=x.index, vals=1.0, lo=p, hi=p, n=1)
    del rows, cols, vals
    gc.collect()
    build = time.perf_counter() - t0
    sol = lm.solve(SolveOptions(time_limit=time_limit, mip_gap=0.01))
    rep = sol.report
    out: dict[str, Any] = {
        "build_s": build,
        "total_s": time.perf_counter() - t0,
        "solve_s": rep.solve_seconds,
        "status": rep.status.value,
        "rows": rep.n_rows,
        "cols": rep.n_cols,
        "nonzeros": rep.n_nonzeros,
        "bound": rep.bound,
        "objective": float("nan"),
    }
    if sol.status.has_solution:
        sites = [net.labels[int(cand[k])] for k in np.flatnonzero(sol.values("x") > 0.5)]
        # re-evaluate the baseline's plan with swapnet (p = fixed sites: nothing left to choose)
        check = flow_refueling(net, flows, R, len(sites), fixed=sites)
        out["objective"] = check.objective
    return out


def run_swapnet(net: RoadNetwork, flows: ODFlows, R: float, p: int, time_limit: float, gap: float) -> tuple[Any, float]:
    """swapnet's ``flow_refueling`` timed end to end, then ``verify()``; prints the report and returns the plan and wall time."""
    t = time.perf_counter()
    plan = flow_refueling(net, flows, R, p, options=SolveOptions(time_limit=time_limit, mip_gap=gap))
    wall = time.perf_counter() - t
    t = time.perf_counter()
    plan.verify()
    verify_s = time.perf_counter() - t
    d = plan.details
    print("\n== swapnet flow_refueling")
    print(f"flows                     {d['n_flows']:>12,}")
    print(f"  coverable (arcs <= R)   {d['n_flows_coverable']:>12,}")
    print(f"  after merging           {d['n_flows_after_merge']:>12,}")
    print(f"cover sets (one per arc)  {d['n_cover_sets_unreduced']:>12,}")
    print(f"  distinct minimal sets   {d['n_cover_sets']:>12,}")
    print(f"  after dominance         {d.get('n_cover_sets_model', d['n_cover_sets']):>12,}")
    print(f"candidates                {d['n_candidates']:>12,}  ({d.get('n_dominated_candidates', 0)} dominated)")
    print(f"MILP rows / cols / nnz    {d['rows']:>12,} / {d['cols']:,} / {d['nonzeros']:,}")
    print(f"strategy                  {d.get('strategy')}")
    if "lp_bound" in d:
        print(f"  LP bound (Benders)      {d['lp_bound']:>12,.1f}  after {d['lp_iterations']} master LPs")
        print(f"  restricted MILP on      {d.get('restricted_candidates', '-'):>12} candidates")
        if "benders_milp_iterations" in d:
            print(f"  Benders master MILPs    {d['benders_milp_iterations']:>12,}")
            for i, (sec, bnd, val) in enumerate(d.get("benders_milp_log", []), 1):
                print(f"    master {i}: {sec:6.1f} s, bound {bnd:,.1f}, best plan {val:,.1f}")
        if "n_fixed_closed" in d:
            print(
                f"  reduced-cost fixing     {d['n_fixed_closed']:>12,} closed, {d['n_fixed_open']} opened "
                f"(of {d['n_candidates']:,})"
            )
        phases = ", ".join(
            f"{k} {d[k]:.1f} s"
            for k in ("lp_seconds", "restricted_seconds", "benders_milp_seconds", "milp_seconds")
            if k in d
        )
        if phases:
            print(f"  phases (wall)           {phases}")
    print(f"greedy objective          {d['greedy_objective']:>12,.1f}")
    print(f"objective (refuelled)     {plan.objective:>12,.1f}  = {plan.objective / flows.total:.2%} of all trips")
    print(f"bound                     {plan.bound:>12,.1f}")
    print(f"gap                       {plan.gap:>12.3%}   status {plan.status.value}")
    print(
        f"time: build {plan.build_seconds:.1f} s + solve {plan.solve_seconds:.1f} s; wall {wall:.1f} s; "
        f"1-min load {os.getloadavg()[0]:.2f} at the end"
    )
    print(f"verify() (fuel walk over all flows): {verify_s:.2f} s")
    print(f"sites: {plan.sites}")

    return plan, wall


def targets(net: RoadNetwork, flows: ODFlows, R: float, p: int) -> None:
    """The issue's two FRLM targets in one run: <= 1 % in <= 120 s beside two CPU-bound processes, and the proof in <= 10 min."""
    met: dict[str, bool] = {}
    print("\n### 1. time limit 120 s, gap target 1 %, beside two CPU-bound processes started here")
    with cpu_bound_neighbours(2):
        plan, wall = run_swapnet(net, flows, R, p, 120.0, 0.01)
        load1 = os.getloadavg()[0]
    met[f"gap <= 1 % in <= 120 s under load: {plan.gap:.3%} in {wall:.1f} s (load {load1:.1f})"] = (
        plan.gap <= 0.01 and wall <= 122.0
    )
    print("\n### 2. time limit 600 s, gap target 0.01 % (HiGHS's default relative MIP gap)")
    plan2, wall2 = run_swapnet(net, flows, R, p, 600.0, 1e-4)
    load2 = os.getloadavg()[0]
    ok = plan2.status.value == "optimal" and plan2.gap <= 1e-4 and wall2 <= 600.0
    met[
        f"proven optimal (gap <= 0.01 %) in <= 10 min: {plan2.gap:.4%} [{plan2.status.value}] in {wall2:.1f} s (load {load2:.1f})"
    ] = ok
    print(f"\ntargets; load {os.getloadavg()[0]:.1f}")
    for k, v in met.items():
        print(f"   {'met' if v else 'NOT met':8s} {k}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--range", type=float, default=30.0, help="vehicle range in miles (default 30)")
    ap.add_argument("--p", type=int, default=20, help="number of stations (default 20)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="solver time limit in seconds (default 120)")
    ap.add_argument("--gap", type=float, default=0.01, help="relative MIP gap target (default 0.01)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unreduced per-arc baseline")
    ap.add_argument(
        "--targets",
        action="store_true",
        help="run the two targets (1 %% in 120 s beside two CPU-bound processes; the proof in 10 min) and print met / NOT met",
    )
    args = ap.parse_args()

    print(f"# swapnet FRLM benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}")
    print(f"# {platform.platform()}, python {platform.python_version()}, {os.cpu_count()} cpu(s)")
    t = time.perf_counter()
    net, flows = load()
    print(
        f"instance: {net}, {len(flows):,} flows, total volume {flows.total:,.1f}; loaded in {time.perf_counter() - t:.1f} s"
    )
    print(f"FRLM: p = {args.p}, range = {args.range:g} mi, time limit {args.time_limit:g} s, gap target {args.gap:.2%}")

    if args.targets:
        targets(net, flows, args.range, args.p)
        return
    plan, wall = run_swapnet(net, flows, args.range, args.p, args.time_limit, args.gap)
    d = plan.details
    if args.no_baseline:
        return
    gc.collect()
    print("\n== baseline: unreduced arc-cover MILP built per arc")
    b = baseline(net, flows, args.range, args.p, args.time_limit)
    print(f"MILP rows / cols / nnz    {b['rows']:>12,} / {b['cols']:,} / {b['nonzeros']:,}")
    print(
        f"build {b['build_s']:.1f} s, solve {b['solve_s']:.1f} s, status {b['status']}; "
        f"1-min load {os.getloadavg()[0]:.2f} at the end"
    )
    print(f"objective (re-evaluated)  {b['objective']:>12,.1f}")
    print(f"bound                     {b['bound']:>12,.1f}")
    print("\n== ratios (baseline / swapnet)")
    print(f"rows {b['rows'] / d['rows']:.1f}x, nonzeros {b['nonzeros'] / d['nonzeros']:.1f}x")
    print(f"build time {b['build_s'] / plan.build_seconds:.1f}x (swapnet's build includes reductions and greedy)")
    print(f"wall time {b['total_s'] / wall:.2f}x")
    if np.isfinite(b["objective"]):
        print(f"objective {b['objective'] / plan.objective:.4f}")
    else:
        print("objective: the baseline found no plan within the time limit")
    if np.isfinite(b["bound"]):
        print(f"bound {b['bound'] / plan.bound:.3f}")


if __name__ == "__main__":
    main()
