"""Benchmark: a 5-year rollout, 300 candidate stores, 5,000 demand nodes, 10 sampled adoption scenarios.

Target: <= 1 % gap in <= 300 s on 2 cores, with the myopic and mean-value baselines in the same run.
The instance: a 50 x 100 km street grid (5,000 nodes, every node a demand node), 300 service stores
(Choco-swap design, CATL #25 packs), fleet growing on a logistic curve from 30,000 pre-orders
towards 300,000 cars (national-car mix: 0.15 swaps per car and day), 10 SAA scenarios around it
(log-sd 0.3 of the growth factor), year-1 decisions shared, service radius 3 km.

Run:  PYTHONPATH=src python benchmarks/rollout.py [--quick] [--time-limit 300]
"""

from __future__ import annotations

import argparse
import os
import time

from swapnet import synthetic
from swapnet.assets import BatteryPack, StationDesign
from swapnet.optim import SolveOptions
from swapnet.siting.rollout import compare, logistic_fleet, sample_scenarios

SWAPS_PER_CAR_DAY = 0.15  # 4.5 swaps per month (private cars, DOMAIN.md)


def load() -> str:
    """The 1-minute load average, printed beside every figure (the machine is shared)."""
    return f"load {os.getloadavg()[0]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a small instance (20 x 25 grid, 40 stores, 4 scenarios)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds for the stochastic plan")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    rows, cols, n_sites, n_scen = (20, 25, 40, 4) if args.quick else (50, 100, 300, 10)
    years = 5
    t0 = time.perf_counter()
    net = synthetic.city_grid(rows, cols, seed=11)
    fleet = logistic_fleet(30_000, 300_000, years, midpoint=3.5) * (0.1 if args.quick else 1.0)
    base = synthetic.city_demand(net, total_swaps_per_day=fleet[0] * SWAPS_PER_CAR_DAY, seed=11, centre_weight=0.5)
    sites = synthetic.service_store_sites(net, n_sites, seed=11, demand=base)
    scen = sample_scenarios(base, fleet / fleet[0], n_scen, growth_sd=0.3, seed=11)
    design, pack = StationDesign.choco_swap(), BatteryPack.catl_25_lfp()
    print(f"instance: {years} years x {len(sites)} candidates x {len(base)} demand nodes x {n_scen} scenarios; "
          f"fleet {fleet.round(-2).tolist()}; built in {time.perf_counter() - t0:.1f} s [{load()}]")  # fmt: skip
    opts = SolveOptions(time_limit=args.time_limit, mip_gap=0.005, threads=args.threads)
    t1 = time.perf_counter()
    c = compare(net, scen, sites, design, pack, service_km=3.0, options=opts)
    wall = time.perf_counter() - t1
    p = c.plan
    d = p.details
    print(f"reduction: {d['demand_nodes']} demand nodes -> {d['groups']} groups, {d['pairs']} candidate-demand pairs")
    print(f"stochastic plan: {p.summary()} [{load()}]")
    print(f"  method {p.method}: bound (Benders master, non-anticipative LP) {p.bound:,.0f} in "
          f"{d.get('bound_seconds', float('nan')):.1f} s ({int(d.get('benders_rounds', 0))} rounds; the LP relaxation "
          f"lies in [{d.get('benders_bound', float('nan')):,.0f}, {d.get('lp_relaxation_upper', float('nan')):,.0f}]), "
          f"{int(d.get('first_stages', 0))} first stages evaluated; wait-and-see {c.wait_and_see:,.0f} "
          f"(bound {c.wait_and_see_bound:,.0f})")  # fmt: skip
    print(f"  integer-sizes polish: -{d.get('polish_gain', 0.0):,.0f} CNY in {d.get('polish_seconds', 0.0):.1f} s")
    for name, q in (("myopic", c.myopic), ("mean value", c.mean_value)):
        print(f"{name:>15}: expected cost {q.objective:,.0f} ({q.objective / p.objective - 1:+.2%} vs stochastic), "
              f"{q.solve_seconds:.1f} s [{load()}]")  # fmt: skip
    v = c.values()
    print(
        f"value of foresight {v['value_of_foresight']:,.0f} CNY ({v['value_of_foresight_share']:.2%}), "
        f"VSS {v['vss']:,.0f} ({v['vss_share']:.2%})"
    )
    print(f"EVPI (proven interval from the bounds and plans of RP and wait-and-see): "
          f"[{v['evpi_lower']:,.0f}, {v['evpi_upper']:,.0f}] CNY ([{v['evpi_lower_share']:.2%}, "
          f"{v['evpi_upper_share']:.2%}] of RP); at the plans: {v['evpi']:,.0f} [{load()}]")  # fmt: skip
    t2 = time.perf_counter()
    p.verify()
    print(f"verify: ok in {time.perf_counter() - t2:.1f} s")
    by = p.by_year()
    print(by[["stations", "capex_cash", "served_share", "lost_swaps_per_day"]].round(3).to_string())
    ok = p.gap <= 0.01 and p.solve_seconds + p.build_seconds <= 300
    print(f"stochastic plan: gap {p.gap:.3%} in {p.build_seconds + p.solve_seconds:.1f} s "
          f"(target <= 1 % in <= 300 s: {'MET' if ok else 'NOT MET'}); whole comparison {wall:.1f} s "
          f"on {args.threads} threads [{load()}]")  # fmt: skip


if __name__ == "__main__":
    main()
