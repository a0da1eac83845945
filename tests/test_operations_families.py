"""Golden tests: one per constraint family of the operations MILP.

Each test is a tiny instance whose optimum is worked out by hand (prices 0.1, 0.2, ... 2.4 CNY/kWh in
hours 0..23, so the cheapest hours are obvious). It checks the exact optimum and that the model
*without* that family finds a cheaper answer, i.e. the family is what makes the hand-solved value
right. ``test_every_family_has_a_golden_test`` fails when a family is added without one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from swapnet import BatteryPack, RoadNetwork, TouTariff
from swapnet.operations import OpsStation, TruckFleet, plan_operations
from swapnet.operations.formulation import FAMILIES, build_model
from swapnet.operations.instance import _instance
from swapnet.optim import SolveOptions

EXACT = SolveOptions(mip_gap=0.0, time_limit=60)
RISING = TouTariff([0.1 * (h + 1) for h in range(24)])  # hour h costs 0.1 (h + 1) CNY/kWh
E = 56 * 0.8 / 0.95  # kWh from the grid per charge (CATL #25 from 20 %, eta 0.95); on 50 kW: one hour
PACK = BatteryPack.catl_25_lfp()


def st(
    label: str, node: object = None, *, b: int = 1, c: int = 1, kw: float = 50.0, grid: float = 1000.0
) -> OpsStation:
    return OpsStation(label, node, b, c, kw, grid, bays=1, swap_minutes=3.0)


def swaps(n: int, *at: tuple[int, int, float]) -> np.ndarray:
    d = np.zeros((n, 24))
    for s, t, v in at:
        d[s, t] += v
    return d


def solve(stations: list[OpsStation], dem: np.ndarray, **kw: object) -> float:
    """Exact optimum via plan_operations, verified independently."""
    plan = plan_operations(stations, dem, RISING, periods=24, options=EXACT, **kw).verify()  # type: ignore[arg-type]
    return plan.objective


def without(family: str, stations: list[OpsStation], dem: np.ndarray, relax: bool = False, **kw: object) -> float:
    """Optimum of the same model with ``family`` left out."""
    args: dict[str, object] = {
        "periods": 24,
        "days": 1,
        "pack": PACK,
        "trucks": None,
        "hubs": (),
        "network": None,
        "cyclic": True,
        "start_soc": 0.2,
        "lost_penalty": 200.0,
        "degradation": 0.0,
        "peak_limit": None,
        "demand_charge": 0.0,
    }
    args.update(kw)
    inst = _instance(stations, dem, RISING, **args)  # type: ignore[arg-type]
    sol = build_model(inst, relax, skip=(family,) if family else ()).solve(EXACT, relax=relax)
    return sol.objective


def cost30(h: int) -> float:
    """A charge on 30 kW started in hour h: 30 kWh in hour h, the remaining E - 30 kWh in hour h + 1."""
    return 30 * 0.1 * (h + 1) + (E - 30) * 0.1 * (h + 2)


def golden_charged_balance() -> None:
    # one pack, one 30 kW charger (two hours a charge), swaps at 12 and 13: a charge started at 12 is done
    # only at 14, so one swap is lost (200) and the pack recharges from hour 0
    sts, dem = [st("S", kw=30.0)], swaps(1, (0, 12, 1.0), (0, 13, 1.0))
    assert solve(sts, dem) == pytest.approx(200.0 + cost30(0))
    assert without("charged_balance", sts, dem) == pytest.approx(cost30(12) + cost30(0))  # no charge time


def golden_depleted_balance() -> None:
    # one pack, swaps at 12 and 13: only a depleted pack can go on charge, so the recharge for the second
    # swap starts in hour 12 (1.3), not in the cheaper hour 11 while the pack is still charged
    sts, dem = [st("S")], swaps(1, (0, 12, 1.0), (0, 13, 1.0))
    assert solve(sts, dem) == pytest.approx((1.3 + 0.1) * E)
    assert without("depleted_balance", sts, dem) == pytest.approx((1.2 + 0.1) * E)


def golden_chargers() -> None:
    # two packs, one 30 kW charger (a charge takes two hours), two swaps at noon: the charger is busy in
    # hours 0-1, so the charges start in hours 0 and 2
    sts, dem = [st("S", b=2, c=1, kw=30.0)], swaps(1, (0, 12, 2.0))
    assert solve(sts, dem) == pytest.approx(cost30(0) + cost30(2))
    assert without("chargers", sts, dem) == pytest.approx(cost30(0) + cost30(1))  # overlapping on one charger


def golden_grid() -> None:
    # two chargers but a 60 kW connection: one 50 kW charge at a time, hours 0 and 1
    sts, dem = [st("S", b=2, c=2, grid=60.0)], swaps(1, (0, 12, 2.0))
    assert solve(sts, dem) == pytest.approx((0.1 + 0.2) * E)
    assert without("grid", sts, dem) == pytest.approx(0.2 * E)


def golden_conservation() -> None:
    # one pack, two swaps in the same hour: one is lost (200 CNY), the pack recharges in hour 0
    sts, dem = [st("S")], swaps(1, (0, 12, 2.0))
    assert solve(sts, dem) == pytest.approx(200.0 + 0.1 * E)
    assert without("conservation", sts, dem) < 200.0  # a second, phantom pack serves the other swap


def golden_racks() -> None:
    # S charges (two chargers) but holds one pack; A (one pack, no charger) swaps at noon, S too. A truck
    # (1 CNY a trip, an hour each way) swaps A's depleted pack for S's charged one. S can hold one pack at
    # a time: it charges its own in hour 0, takes A's in the exchange and charges it in hour 1:
    # (0.1 + 0.2) E + 1. Without racks S would keep both and charge both in hour 0, with two trips.
    net = RoadNetwork.from_edges([("a", "s", 5.0)])
    fleet = TruckFleet(count=1, capacity=1, cost_per_km=0.0, cost_per_trip=1.0)
    sts, dem = [st("S", "s", b=1, c=2), st("A", "a", b=1, c=0)], swaps(2, (0, 12, 1.0), (1, 12, 1.0))
    assert solve(sts, dem, trucks=fleet, network=net) == pytest.approx((0.1 + 0.2) * E + 1.0)
    assert without("racks", sts, dem, trucks=fleet, network=net) == pytest.approx(0.2 * E + 2.0)


def golden_fleet() -> None:
    # S charges; A1 and A2 (one pack each, no chargers) are 7 hours away, so one truck does one 14-hour
    # exchange a day: one swap is lost, the other pack is charged at S in hour 0 (200 + 0.1 E + 10).
    # Two trucks at once (no fleet limit) would serve both: 0.2 E + 20.
    net = RoadNetwork.from_edges([("s", "a1", 200.0), ("s", "a2", 200.0), ("a1", "a2", 5.0)])
    fleet = TruckFleet(count=1, capacity=1, cost_per_km=0.0, cost_per_trip=10.0)
    sts = [st("S", "s", b=2, c=2), st("A1", "a1", b=1, c=0), st("A2", "a2", b=1, c=0)]
    dem = swaps(3, (1, 12, 1.0), (2, 12, 1.0))
    assert solve(sts, dem, trucks=fleet, network=net) == pytest.approx(200.0 + 0.1 * E + 10.0)
    assert without("fleet", sts, dem, trucks=fleet, network=net) == pytest.approx(0.2 * E + 20.0)


def golden_truck_load() -> None:
    # A (two packs, no charger, two swaps at noon) exchanges with S (two packs, two chargers): a truck
    # carries one pack each way, so two trips (2 CNY); S charges both in hour 0: 0.2 E + 2.
    net = RoadNetwork.from_edges([("a", "s", 5.0)])
    fleet = TruckFleet(count=1, capacity=1, cost_per_km=0.0, cost_per_trip=1.0)
    sts, dem = [st("S", "s", b=2, c=2), st("A", "a", b=2, c=0)], swaps(2, (1, 12, 2.0))
    assert solve(sts, dem, trucks=fleet, network=net) == pytest.approx(0.2 * E + 2.0)
    assert without("truck_load", sts, dem, trucks=fleet, network=net) == pytest.approx(0.2 * E)  # loads ride free


def golden_peak() -> None:
    # two stations, one swap each at noon, a 60 kW network cap: one charge per hour, hours 0 and 1
    sts, dem = [st("A"), st("B")], swaps(2, (0, 12, 1.0), (1, 12, 1.0))
    assert solve(sts, dem, peak_kw_limit=60.0) == pytest.approx((0.1 + 0.2) * E)
    assert without("peak", sts, dem, peak_limit=60.0) == pytest.approx(0.2 * E)


def golden_whole_swaps() -> None:
    # 1.5 swaps a day: whole packs serve 1 (0.5 lost, 100 CNY) and charge once in hour 0. The cut keeps that
    # MIP optimum and lifts the LP bound to it; the plain LP serves 1.5 swaps with 1.5 packs.
    sts, dem = [st("S", b=2, c=2)], swaps(1, (0, 12, 1.5))
    best = 100.0 + 0.1 * E
    assert solve(sts, dem) == pytest.approx(best)
    assert without("", sts, dem, relax=True) == pytest.approx(best)
    assert without("whole_swaps", sts, dem) == pytest.approx(best)
    assert without("whole_swaps", sts, dem, relax=True) == pytest.approx(0.15 * E)


GOLDEN: dict[str, Callable[[], None]] = {
    name.removeprefix("golden_"): fn for name, fn in dict(globals()).items() if name.startswith("golden_")
}


def test_every_family_has_a_golden_test() -> None:
    assert set(GOLDEN) == set(FAMILIES), f"families without a golden test: {sorted(set(FAMILIES) - set(GOLDEN))}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_golden(family: str) -> None:
    if family not in GOLDEN:
        pytest.fail(f"constraint family {family!r} has no golden test")
    GOLDEN[family]()


def test_build_model_rejects_unknown_family() -> None:
    from swapnet.errors import InvalidInputError

    inst = _instance(
        [st("S")], swaps(1), RISING, periods=24, days=1, pack=PACK, trucks=None, hubs=(), network=None,
        cyclic=True, start_soc=0.2, lost_penalty=200.0, degradation=0.0, peak_limit=None, demand_charge=0.0,
    )  # fmt: skip
    with pytest.raises(InvalidInputError, match="unknown constraint families"):
        build_model(inst, skip=("nope",))
