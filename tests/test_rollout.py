"""Multi-year rollout: brute force, the static model, budgets, the stochastic solution and its baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from swapnet import synthetic
from swapnet.assets import BatteryPack, CandidateSites, StationDesign, capital_recovery_factor
from swapnet.demand import NodeDemand
from swapnet.errors import InfeasibleError, InvalidInputError, VerificationError
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import plan_rollout, size_stations
from swapnet.siting.rollout import (
    LinearCapacity,
    Scenario,
    ScenarioSet,
    adoption_scenarios,
    compare,
    logistic_fleet,
    mean_value_plan,
    myopic_plan,
    sample_scenarios,
)

EXACT = SolveOptions(mip_gap=0.0, seed=1)
DESIGN = StationDesign.choco_swap()
PACK = BatteryPack.catl_25_lfp()
FREE_PACK = BatteryPack("free", 56.0, 500.0, cost_cny=0.0)


def _city(n: int = 5, rows: int = 5, total: float = 2500.0, seed: int = 3) -> tuple:
    net = synthetic.city_grid(rows, rows, seed=seed)
    dem = synthetic.city_demand(net, total_swaps_per_day=total, seed=seed)
    cand = synthetic.service_store_sites(net, n, seed=seed)
    return net, dem, cand


# --------------------------------------------------------------------------- brute force
def _brute_force(net, scen: ScenarioSet, cand: CandidateSites, service_km: float, budget: float, rate: float) -> float:
    """Enumerate every non-anticipative opening schedule; flows by an independent node-level LP.

    With free packs and chargers the sizes sit at the site limits, so an open site serves up to
    ``min(bays, max_chargers / t_c, max_batteries / (t_c + H))`` swaps per hour.
    """
    rule = LinearCapacity.from_design(DESIGN, FREE_PACK)
    m = len(cand)
    grid = np.where(np.isfinite(cand.grid_kw), cand.grid_kw, DESIGN.grid_kw)  # the stores' own connections
    maxb = np.where(np.isfinite(cand.max_batteries), cand.max_batteries, 10 * DESIGN.batteries)
    maxc = np.minimum(np.where(np.isfinite(cand.max_chargers), cand.max_chargers, 10 * DESIGN.chargers),
                      np.floor(grid / DESIGN.charger_kw))  # fmt: skip
    cap = np.minimum(
        rule.bay_per_hour, np.minimum(maxc / rule.chargers_per_swap_hour, maxb / rule.batteries_per_swap_hour)
    )
    crf = capital_recovery_factor(rate, DESIGN.lifetime_years)
    site_year = np.asarray(cand.fixed_cost) * crf + DESIGN.opex_cny_per_year
    T = scen.years
    lp_cache: dict[tuple[int, int, tuple[int, ...]], float] = {}

    def lp(s: int, t: int, open_: tuple[int, ...]) -> float:
        key = (s, t, open_)
        if key not in lp_cache:
            nd = scen.scenarios[s].demand[t]
            h, q = nd.peak_hour(), nd.daily
            D = net.distances(nd.nodes, [cand.nodes[j] for j in open_]) if open_ else np.zeros((len(h), 0))
            pairs = [(i, jj) for i in range(len(h)) for jj in range(len(open_)) if D[i, jj] <= service_km]
            nx, n = len(pairs), len(h)
            c = np.concatenate([np.zeros(nx), 365 * 200.0 * np.where(h > 0, q / np.maximum(h, 1e-300), 0)])
            A_eq = np.zeros((n, nx + n))
            for k, (i, _) in enumerate(pairs):
                A_eq[i, k] = 1
            A_eq[np.arange(n), nx + np.arange(n)] = 1
            A_ub = np.zeros((max(len(open_), 1), nx + n))
            for k, (_, jj) in enumerate(pairs):
                A_ub[jj, k] = 1
            res = linprog(
                c, A_ub=A_ub, b_ub=cap[list(open_)] if open_ else np.zeros(1), A_eq=A_eq, b_eq=h, method="highs"
            )
            assert res.status == 0
            lp_cache[key] = float(res.fun)
        return lp_cache[key]

    delta = (1 + rate) ** -np.arange(T)
    total = 0.0
    best_total = np.inf
    for first in itertools.product([0, 1], repeat=m):
        if np.dot(first, cand.fixed_cost) > budget:
            continue
        total = 0.0
        for s, sc in enumerate(scen.scenarios):
            best = np.inf
            rest = [j for j in range(m) if not first[j]]
            for years in itertools.product([*range(1, T), T], repeat=len(rest)):  # T = never
                open_year = np.zeros(m, dtype=int)
                open_year[rest] = years
                cost, ok = 0.0, True
                for t in range(T):
                    new = [j for j in rest if open_year[j] == t]
                    if t > 0 and sum(cand.fixed_cost[j] for j in new) > budget:
                        ok = False
                        break
                    open_ = tuple(j for j in range(m) if first[j] or (j in rest and open_year[j] <= t))
                    cost += delta[t] * (site_year[list(open_)].sum() + lp(s, t, open_))
                if ok:
                    best = min(best, cost)
            total += sc.probability * best
        best_total = min(best_total, total)
    return best_total


def test_brute_force_three_years_five_candidates_two_scenarios() -> None:
    net, dem, cand = _city(5)
    scen = ScenarioSet(
        [Scenario("low", tuple(dem.scaled(f) for f in (0.4, 0.6, 0.8)), 0.4),
         Scenario("high", tuple(dem.scaled(f) for f in (0.5, 1.0, 1.6)), 0.6)],
        shared_years=1,
    )  # fmt: skip
    budget = 2.2 * float(np.median(cand.fixed_cost))
    plan = plan_rollout(net, scen, cand, DESIGN, FREE_PACK, service_km=2.5, charger_cost=0.0, budget=budget,
                        method="extensive", options=EXACT)  # fmt: skip
    plan.verify()
    assert plan.status == SolveStatus.OPTIMAL
    expected = _brute_force(net, scen, cand, 2.5, budget, 0.08)
    assert plan.objective == pytest.approx(expected, rel=1e-6)
    # decisions of year 1 are shared, later ones may differ
    y1 = plan.stations[plan.stations["year"] == 1]
    assert set(y1[y1["scenario"] == "low"]["site"]) == set(y1[y1["scenario"] == "high"]["site"])


def test_one_year_rollout_equals_size_stations() -> None:
    net, dem, cand = _city(8, rows=6, total=3000)
    static = size_stations(net, dem, cand, DESIGN, PACK, service_km=2.5, options=EXACT)
    plan = plan_rollout(net, [dem], cand, DESIGN, PACK, service_km=2.5, options=EXACT).verify()
    assert plan.objective == pytest.approx(static.objective, rel=1e-6)
    assert plan.status == SolveStatus.OPTIMAL
    st_ = static.details["stations"].sort_values("site")
    ro = plan.stations.sort_values("site")
    assert list(ro["site"]) == list(st_["site"])
    served = float(plan.service["served_per_hour"].sum())
    assert served == pytest.approx(static.covered, rel=1e-6)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lo=st.floats(0.5, 1.5), extra=st.floats(0.0, 2.0))
def test_more_budget_never_serves_less(lo: float, extra: float) -> None:
    net, dem, cand = _city(4, rows=4, total=2500, seed=5)
    traj = [dem.scaled(f) for f in (0.5, 1.0)]
    unit = float(np.mean(cand.fixed_cost))
    # a penalty far above any capex makes serving always worth its cost: the plan then serves the most it can
    kw = dict(service_km=2.0, penalty_per_swap=1e5, method="extensive", options=EXACT)
    small = plan_rollout(net, traj, cand, DESIGN, PACK, budget=lo * unit, **kw).verify()
    big = plan_rollout(net, traj, cand, DESIGN, PACK, budget=(lo + extra) * unit, **kw).verify()
    assert big.objective <= small.objective * (1 + 1e-9)
    w = np.asarray(small.costs["discount_factor"])
    lost_small = float(np.dot(small.service["unserved_per_hour"], w))
    lost_big = float(np.dot(big.service["unserved_per_hour"], w))
    assert lost_big <= lost_small + 1e-6


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000))
def test_stochastic_plan_beats_mean_value_plan(seed: int) -> None:
    net, dem, cand = _city(4, rows=5, total=2500, seed=seed % 7)
    scen = sample_scenarios(dem, [0.5, 1.0, 1.5], 3, growth_sd=0.5, seed=seed)
    c = compare(net, scen, cand, DESIGN, PACK, service_km=2.5, method="extensive", options=EXACT)
    for p in (c.plan, c.myopic, c.mean_value):
        p.verify()
    assert c.plan.status == SolveStatus.OPTIMAL
    tol = 1e-7 * abs(c.plan.objective)
    assert c.plan.objective <= c.mean_value.objective + tol  # VSS >= 0
    assert c.plan.objective <= c.myopic.objective + tol  # foresight is worth >= 0
    assert c.wait_and_see <= c.plan.objective + tol  # EVPI >= 0
    assert c.vss >= -tol and c.evpi >= -tol
    assert set(c.values()) >= {"vss", "evpi", "evpi_lower", "evpi_upper", "value_of_foresight"}
    lo, hi = c.evpi_interval  # proven: holds whatever the gaps, and tight here (every solve optimal)
    assert 0.0 <= lo <= c.evpi + tol and c.evpi <= hi + tol
    assert c.wait_and_see_bound <= c.wait_and_see + tol
    assert hi - lo <= 2 * EXACT.mip_gap * abs(c.plan.objective) + tol


def test_decomposition_bound_and_plan_are_consistent_with_the_extensive_form() -> None:
    net, dem, cand = _city(4, rows=5, total=2500, seed=2)
    scen = sample_scenarios(dem, [0.5, 1.0], 3, growth_sd=0.4, seed=4)
    ext = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, method="extensive", options=EXACT).verify()
    dec = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, method="decompose", options=EXACT).verify()
    assert dec.bound <= ext.objective * (1 + 1e-9)  # wait-and-see bound is a valid lower bound
    assert dec.objective >= ext.objective * (1 - 1e-9)
    assert dec.details["first_stages"] >= 1


def test_sizes_only_grow_when_demand_falls_and_cash_capex_is_spent_once() -> None:
    net, dem, cand = _city(4, rows=4, total=3000, seed=1)
    plan = plan_rollout(net, [dem, dem.scaled(0.3), dem.scaled(0.3)], cand, DESIGN, PACK, service_km=2.5,
                        options=EXACT).verify()  # fmt: skip
    st_ = plan.stations.sort_values(["site", "year"])
    for _, g in st_.groupby("site"):
        assert (np.diff(g["batteries"]) >= 0).all() and (np.diff(g["chargers"]) >= 0).all()
    cash = plan.costs.set_index("year")["capex_cash"]
    assert cash.loc[1] > 0 and cash.loc[2] == 0 and cash.loc[3] == 0
    assert plan.openings["year"].eq(1).all()


def test_scenario_tree_and_service_target() -> None:
    net, dem, cand = _city(4, rows=4, total=2000, seed=4)
    paths = {"a": (0.5, 0.8, 1.0), "b": (0.5, 0.8, 1.4), "c": (0.5, 1.2, 1.5), "d": (0.5, 1.2, 2.0)}
    sc = [Scenario(n, tuple(dem.scaled(f) for f in fs), 0.25) for n, fs in paths.items()]
    tree = ScenarioSet(sc, tree=[[0, 0, 0], [0, 0, 1], [0, 1, 2], [0, 1, 3]])
    plan = plan_rollout(net, tree, cand, DESIGN, PACK, service_km=3.0, min_service=0.3, options=EXACT).verify()
    y2 = plan.stations[plan.stations["year"] == 2]
    assert set(y2[y2["scenario"] == "a"]["site"]) == set(y2[y2["scenario"] == "b"]["site"])
    assert (plan.service["served_share"] >= 0.3 - 1e-9).all()
    with pytest.raises(InfeasibleError):
        plan_rollout(net, tree, cand, DESIGN, PACK, service_km=3.0, min_service=1.0, budget=1.0, options=EXACT)


def test_verify_catches_a_broken_plan_and_npv_with_revenue() -> None:
    net, dem, cand = _city(4, rows=4, total=2000, seed=4)
    plan = plan_rollout(net, [dem, dem.scaled(1.5)], cand, DESIGN, PACK, service_km=3.0, revenue_per_swap=30.0,
                        cost_per_swap=10.0, options=EXACT).verify()  # fmt: skip
    flows = plan.cash_flows()
    assert flows["discounted"].sum() == pytest.approx(plan.npv())
    assert (flows["margin"] > 0).all()
    Y = np.array(plan._arrays["Y"])
    Y[0, 1] = 0  # close every station in year 2
    broken = type(plan)(**{**plan.__dict__, "_arrays": {**plan._arrays, "Y": Y}})
    with pytest.raises(VerificationError, match="decreases"):
        broken.verify()
    assert plan.to_pyomo().name == "rollout"


def test_growth_helpers_and_myopic_and_mean_value_entry_points() -> None:
    f = logistic_fleet(30_000, 500_000, 5, midpoint=3)
    assert f[0] == pytest.approx(30_000) and f[2] == pytest.approx(250_000) and (np.diff(f) > 0).all()
    net, dem, cand = _city(4, rows=4, total=2000, seed=4)
    scen = adoption_scenarios(dem, 30_000, {"low": f * 0.6, "mid": f, "high": f * 1.3},
                              {"low": 0.25, "mid": 0.5, "high": 0.25})  # fmt: skip
    short = ScenarioSet([Scenario(s.name, s.demand[:2], s.probability) for s in scen.scenarios])
    kw = dict(service_km=3.0, options=EXACT)
    my = myopic_plan(net, short, cand, DESIGN, PACK, **kw).verify()
    mv = mean_value_plan(net, short, cand, DESIGN, PACK, **kw).verify()
    assert my.method == "myopic" and mv.method == "mean_value"
    assert my.objective > 0 and mv.objective > 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"budget": -1.0}, "budget[0]"),
        ({"min_service": 1.5}, "min_service[0]"),
        ({"budget": [1.0, 2.0, 3.0]}, "budget"),
        ({"service_km": float("nan")}, "service_km"),
        ({"penalty_per_swap": -3}, "penalty_per_swap"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict, field: str) -> None:
    net, dem, cand = _city(3, rows=3)
    args = {"service_km": 2.0, **kwargs}
    with pytest.raises(InvalidInputError) as err:
        plan_rollout(net, [dem, dem], cand, DESIGN, PACK, **args)
    assert err.value.field == field


def test_bad_scenarios_are_rejected() -> None:
    _, dem, _ = _city(3, rows=3)
    with pytest.raises(InvalidInputError, match="sum to 1"):
        ScenarioSet([Scenario("a", (dem,), 0.5), Scenario("b", (dem,), 0.4)])
    with pytest.raises(InvalidInputError, match="years"):
        ScenarioSet([Scenario("a", (dem,), 0.5), Scenario("b", (dem, dem), 0.5)])
    with pytest.raises(InvalidInputError, match="earlier year"):
        ScenarioSet([Scenario("a", (dem, dem), 0.5), Scenario("b", (dem, dem), 0.5)], tree=[[0, 1], [1, 1]])
    with pytest.raises(InvalidInputError):
        logistic_fleet(10, 5, 3)
    bad = NodeDemand(["nowhere"], [1.0])
    net2, _, cand = _city(3, rows=3)
    with pytest.raises(InvalidInputError, match="scenario 'base'"):
        plan_rollout(net2, [bad], cand, DESIGN, PACK, service_km=1.0)


def test_lp_rounding_start_is_a_feasible_integer_plan() -> None:
    from swapnet.siting.rollout.api import prepare
    from swapnet.siting.rollout.model import build_model
    from swapnet.siting.rollout.solve import lp_rounding_start

    net, dem, cand = _city(6, rows=6, total=3000, seed=2)
    scen = sample_scenarios(dem, [0.5, 1.0, 1.5], 2, seed=1)
    inst, _ = prepare(net, scen, cand, DESIGN, PACK, service_km=2.5, budget=40e6)
    rm = build_model(inst)
    x, lp_bound = lp_rounding_start(rm, EXACT, None, threshold=0.1)
    assert x is not None
    cost, lb, ub, integer, A, rlo, rhi = rm.lm.arrays()
    ax = A @ x
    assert (ax >= rlo - 1e-6 * np.maximum(1, abs(ax))).all() and (ax <= rhi + 1e-6 * np.maximum(1, abs(ax))).all()
    assert (x >= lb - 1e-9).all() and (x <= ub + 1e-9).all()
    assert np.allclose(x[integer], np.round(x[integer]))
    exact = plan_rollout(net, scen, cand, DESIGN, PACK, service_km=2.5, budget=40e6, options=EXACT)
    assert float(cost @ x) + rm.lm.offset >= exact.objective * (1 - 1e-9)
    assert lp_bound <= exact.objective * (1 + 1e-9)  # the relaxation bounds the optimum
