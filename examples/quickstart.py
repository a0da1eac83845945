"""Quick start: where should a chain of service stores open swap stations?

A synthetic Guangzhou-like city (a 30 x 30 km street grid with arterials), swap
demand from a fleet of private cars, ride-hailing cars and taxis on CATL #25
packs, and 120 candidate service stores. The study answers three questions:

1. the fewest stations that put every demand node within 6 km (set cover),
2. how much demand 15 stations can put within 3 km (maximal covering),
3. where 15 stations minimise the demand-weighted distance (p-median),

and checks every plan independently of the solver with ``verify()``.

Run: ``python examples/quickstart.py`` (about half a minute on two cores).
"""

from __future__ import annotations

import time

import swapnet
from swapnet.siting import max_coverage, p_median, set_cover


def main() -> None:
    t0 = time.perf_counter()
    city = swapnet.city_grid(31, 31, spacing_km=1.0, arterial_every=5, seed=7)
    fleet = [
        swapnet.FleetSegment.private(30_000),
        swapnet.FleetSegment.ride_hailing(4_000),
        swapnet.FleetSegment.taxi(1_500),
    ]
    total = sum(seg.swaps_per_day for seg in fleet)
    demand = swapnet.city_demand(city, total_swaps_per_day=total, seed=7)
    stores = swapnet.service_store_sites(city, 120, seed=7, demand=demand)
    pack = swapnet.BatteryPack.catl_25_lfp()
    design = swapnet.StationDesign.choco_swap()
    print(f"city: {city}")
    print(f"demand: {demand.total:,.0f} swaps/day at {len(demand)} nodes from {len(fleet)} fleet segments")
    print(
        f"candidates: {len(stores.labels)} service stores; design {design.name}: "
        f"{design.swaps_per_day(pack):,.0f} swaps/day each with {pack.name}"
    )

    # One distance matrix (demand nodes x candidate stores), computed once with scipy's Dijkstra.
    import pandas as pd

    dist = pd.DataFrame(
        city.distances(demand.nodes, stores.nodes), index=list(demand.nodes), columns=list(stores.labels)
    )
    weights = demand.daily

    cover = set_cover(dist, 6.0).verify()
    print("\n1.", cover.summary())
    mclp = max_coverage(dist, weights, 3.0, p=15).verify()
    print("2.", mclp.summary(), f"-> {mclp.objective / weights.sum():.1%} of swaps within 3 km")
    med = p_median(dist, weights, 15).verify()
    mean_km = med.objective / weights.sum()
    print("3.", med.summary(), f"-> mean distance to a station {mean_km:.2f} km")
    print(
        f"   stations needed for the demand: {weights.sum() / design.swaps_per_day(pack):.1f} "
        f"(at {design.swaps_per_day(pack):,.0f} swaps/day each)"
    )
    print("\np-median stations:", ", ".join(map(str, med.sites)))
    print(med.assignment.groupby("site")["weight"].sum().round(0).sort_values(ascending=False).head(5).to_string())
    print(f"\ndone in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
