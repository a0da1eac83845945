"""BaaS economics: discounted cash flows, battery-rental plans, operator business case, sensitivity.

Money is in CNY, distance in km, energy in kWh; plan costs are per month,
operator cash flows per year. See ``docs/economics.md``.
"""

from swapnet.economics.finance import annuity, discounted_payback, irr, irr_roots, npv, payback_period
from swapnet.economics.operator import OperatorCase, PlanUsers
from swapnet.economics.plans import (
    ASSUMED_KWH_FEE_CNY,
    KWH_PER_SWAP,
    USABLE_KM_PER_SWAP,
    BaaSPlan,
    Ownership,
    UserSegment,
    break_even_km,
    compare_plans,
    monthly_cost,
    total_cost_of_ownership,
)
from swapnet.economics.sensitivity import grid2, tornado

__all__ = [
    "ASSUMED_KWH_FEE_CNY",
    "KWH_PER_SWAP",
    "USABLE_KM_PER_SWAP",
    "BaaSPlan",
    "OperatorCase",
    "Ownership",
    "PlanUsers",
    "UserSegment",
    "annuity",
    "break_even_km",
    "compare_plans",
    "discounted_payback",
    "grid2",
    "irr",
    "irr_roots",
    "monthly_cost",
    "npv",
    "payback_period",
    "tornado",
    "total_cost_of_ownership",
]
