"""Operations: when to charge, how to move batteries between stations and hubs.

Modules: :mod:`~swapnet.operations.instance` (inputs as arrays), :mod:`~swapnet.operations.formulation`
(the MILP, one ``define_<family>`` per constraint family), :mod:`~swapnet.operations.heuristics`
(feasible plans), :mod:`~swapnet.operations.bounds` (lower bounds), :mod:`~swapnet.operations.engine`
(one model within a budget), :mod:`~swapnet.operations.rolling` (rolling horizon),
:mod:`~swapnet.operations.plan` (the result and ``verify()``), :mod:`~swapnet.operations.api`
(``plan_operations``).
"""

from swapnet.operations.api import plan_operations
from swapnet.operations.plan import OperationsPlan
from swapnet.operations.stations import OpsStation, TruckFleet, demand_at_stations, stations_from_plan

__all__ = ["OperationsPlan", "OpsStation", "TruckFleet", "demand_at_stations", "plan_operations", "stations_from_plan"]
