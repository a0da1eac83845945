"""Operations: when to charge, how to move batteries between stations and hubs."""

from swapnet.operations.model import OperationsPlan, plan_operations
from swapnet.operations.stations import OpsStation, TruckFleet, demand_at_stations, stations_from_plan

__all__ = ["OperationsPlan", "OpsStation", "TruckFleet", "demand_at_stations", "plan_operations", "stations_from_plan"]
