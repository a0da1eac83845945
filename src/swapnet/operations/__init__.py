"""Operations: when to charge, how to move batteries between stations and hubs."""

from swapnet.operations.model import OperationsPlan, plan_operations
from swapnet.operations.stations import OpsStation, TruckFleet, stations_from_plan

__all__ = ["OperationsPlan", "OpsStation", "TruckFleet", "plan_operations", "stations_from_plan"]
