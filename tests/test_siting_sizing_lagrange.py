"""Tests of the large-instance path of size_stations: the Lagrangian bound is valid (never above the
exact optimum of an independent MILP), every plan verifies, and the path agrees with the plain MILP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import swapnet
import swapnet.siting._sizing_solve as large
from swapnet.optim import LinearModel, SolveOptions, SolveStatus
from swapnet.siting import size_stations
from swapnet.siting._sizing_lagrange import SizingData, evaluate, initial_multipliers, levels
from swapnet.siting._sizing_primal import Plan, build_plan, drain_sites, plan_cost
from swapnet.synthetic import city_demand, service_store_sites


def random_data(seed: int, max_stations: int | None = None) -> SizingData:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 7)), int(rng.integers(1, 5))
    reach = rng.random((n, m)) < 0.6
    ii, jj = np.nonzero(reach)
    return SizingData(
        ii=ii.astype(np.int64), jj=jj.astype(np.int64), h=np.round(rng.uniform(0.0, 12.0, n), 2),
        lost=rng.uniform(0.0, 30.0, n), fixed=rng.uniform(0.0, 60.0, m), pb=float(rng.uniform(0.5, 4.0)),
        pc=float(rng.uniform(0.5, 4.0)), a=rng.uniform(0.3, 2.5, m), t=rng.uniform(0.2, 1.5, m),
        maxb=rng.integers(0, 20, m).astype(float), maxc=rng.integers(0, 15, m).astype(float),
        bays=float(rng.uniform(3.0, 15.0)), max_stations=max_stations,
    )  # fmt: skip


def exact_optimum(d: SizingData) -> float:
    """The sizing MILP written out independently of the Lagrangian code, solved to a zero gap."""
    lm = LinearModel("exact")
    y = lm.add_vars("y", d.m, cost=d.fixed, binary=True)
    b = lm.add_vars("b", d.m, ub=d.maxb, cost=d.pb, integer=True)
    c = lm.add_vars("c", d.m, ub=d.maxc, cost=d.pc, integer=True)
    x = lm.add_vars("x", d.ii.size)
    u = lm.add_vars("u", d.n, cost=d.lost)
    lm.add_constraints(
        "demand", rows=np.concatenate([d.ii, np.arange(d.n)]), cols=np.concatenate([x.index, u.index]),
        vals=1.0, lo=d.h, hi=d.h, n=d.n,
    )  # fmt: skip
    ar = np.arange(d.m)
    for name, coef, col, rhs in (("bays", 1.0, y, -d.bays), ("b", d.a[d.jj], b, -1.0), ("c", d.t[d.jj], c, -1.0)):
        lm.add_constraints(
            name, rows=np.concatenate([d.jj, ar]), cols=np.concatenate([x.index, col.index]),
            vals=np.concatenate([np.broadcast_to(coef, d.jj.shape), np.full(d.m, rhs)]), hi=0.0, n=d.m,
        )  # fmt: skip
    for name, col, lim in (("bl", b, d.maxb), ("cl", c, d.maxc)):
        lm.add_constraints(
            name, rows=np.concatenate([ar, ar]), cols=np.concatenate([col.index, y.index]),
            vals=np.concatenate([np.ones(d.m), -lim]), hi=0.0, n=d.m,
        )  # fmt: skip
    if d.max_stations is not None:
        lm.add_constraints("count", rows=np.zeros(d.m, dtype=np.int64), cols=y.index, vals=1.0, hi=d.max_stations, n=1)
    sol = lm.solve(SolveOptions(mip_gap=0.0))
    assert sol.status == SolveStatus.OPTIMAL
    return sol.objective


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from([None, 1, 2]), st.integers(0, 1_000))
def test_lagrangian_bound_never_exceeds_the_optimum(seed: int, p: int | None, lam_seed: int) -> None:
    d = random_data(seed, p)
    opt = exact_optimum(d)
    lev = levels(d)
    rng = np.random.default_rng(lam_seed)
    for lam in (initial_multipliers(d), rng.uniform(0.0, 1.0, d.n) * d.lost, d.lost.copy()):
        assert evaluate(d, lev, lam).bound <= opt + 1e-7 * max(1.0, abs(opt))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000))
def test_plans_are_feasible_and_never_below_the_optimum(seed: int) -> None:
    d = random_data(seed)
    opt = exact_optimum(d)
    r = evaluate(d, levels(d), initial_multipliers(d))
    plan = build_plan(d, r.is_open, r.value, deadline=1e18)
    check_plan(d, plan, opt)
    # closing sites along augmenting paths keeps the plan feasible and never raises its cost
    everything = np.ones(d.m, dtype=bool) & (d.cap > 0)
    wide = build_plan(d, everything, np.zeros(d.m), deadline=1e18)
    drained = drain_sites(d, Plan(everything, wide.x, wide.u, plan_cost(d, everything, wide.x, wide.u)), 1e18)
    check_plan(d, drained, opt)
    assert drained.cost <= plan_cost(d, everything, wide.x, wide.u) + 1e-9


def check_plan(d: SizingData, plan: Plan, opt: float) -> None:
    load = np.bincount(d.jj, weights=plan.x, minlength=d.m)
    assert (plan.x >= 0).all() and (plan.u >= -1e-12).all()
    np.testing.assert_allclose(np.bincount(d.ii, weights=plan.x, minlength=d.n) + plan.u, d.h, atol=1e-7)
    assert (load <= d.cap + 1e-9).all() and (load[~plan.is_open] == 0).all()
    assert plan.cost == pytest.approx(plan_cost(d, plan.is_open, plan.x, plan.u))
    assert plan.cost >= opt - 1e-6 * max(1.0, abs(opt))


def city(seed: int, side: int, m: int) -> tuple[object, ...]:
    network = swapnet.city_grid(side, side, spacing_km=1.0, seed=seed)
    demand = city_demand(network, total_swaps_per_day=12.0 * network.n_nodes, seed=seed)
    sites = service_store_sites(network, m, seed=seed, demand=demand)
    return network, demand, sites, swapnet.StationDesign.choco_swap(), swapnet.BatteryPack.catl_25_lfp()


@pytest.mark.parametrize(("seed", "kwargs"), [(1, {}), (2, {"max_stations": 4}), (3, {"service_level": 0.98})])
def test_large_path_agrees_with_the_milp(monkeypatch: pytest.MonkeyPatch, seed: int, kwargs: dict[str, object]) -> None:
    network, demand, sites, design, pack = city(seed, 9, 14)
    opts = SolveOptions(mip_gap=1e-6, time_limit=60.0)
    exact = size_stations(network, demand, sites, design, pack, service_km=2.0, options=opts, **kwargs).verify()
    assert exact.method == "milp"
    monkeypatch.setattr(large, "LARGE_CELLS", 0)
    plan = size_stations(network, demand, sites, design, pack, service_km=2.0, options=opts, **kwargs).verify()
    assert plan.method == "lagrangian"
    assert "lagrangian_bound" in plan.details
    if "service_level" in kwargs:  # no proof claimed on either path
        assert plan.status == SolveStatus.FEASIBLE
        return
    assert exact.status == SolveStatus.OPTIMAL
    opt = exact.objective
    assert plan.details["lagrangian_bound"] <= opt * (1 + 1e-7)
    assert plan.bound <= opt * (1 + 1e-6) and plan.objective >= opt * (1 - 1e-6)
    if plan.status == SolveStatus.OPTIMAL:
        assert plan.gap <= 1e-6 + 1e-9
        assert plan.objective == pytest.approx(opt, rel=2e-6)


def test_the_main_job_size_stays_on_the_milp_path() -> None:
    # examples/national_car: 26 x 26 nodes, 60 service stores
    assert not large.is_large(26 * 26, 60)
    assert large.is_large(20_164, 3_000)
