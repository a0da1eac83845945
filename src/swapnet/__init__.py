"""swapnet: plan and operate battery-swap networks for electric cars."""

from swapnet.errors import (
    DisconnectedNetworkError,
    FileFormatError,
    InfeasibleError,
    InvalidInputError,
    SolverError,
    SwapnetError,
    UnknownNodeError,
)
from swapnet.flows import ODFlows
from swapnet.network import RoadNetwork

__version__ = "0.1.0"

__all__ = [
    "DisconnectedNetworkError",
    "FileFormatError",
    "InfeasibleError",
    "InvalidInputError",
    "ODFlows",
    "RoadNetwork",
    "SolverError",
    "SwapnetError",
    "UnknownNodeError",
    "__version__",
]
