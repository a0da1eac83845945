"""File loaders: TNTP networks and trips, CSV datasets, and the shared data folder.

See ``docs/loaders.md`` for the formats, units and the data-folder lookup.
"""

from swapnet.io.datasets import DATASETS, data_dir, load_network
from swapnet.io.demand_files import DemandFile, read_demand
from swapnet.io.graphs import NetworkFile, read_edge_csv, read_graphml, read_network
from swapnet.io.osm import read_osm_xml
from swapnet.io.sites import SiteFile, read_sites, snap_points
from swapnet.io.tables import (
    irish_node_table,
    korean_node_names,
    parse_dms,
    read_25node,
    read_25node_junex,
    read_dc_ny_bos,
    read_irish_highway,
    read_irish_traffic,
    read_korean_expressway,
)
from swapnet.io.tntp import (
    read_tntp_flow,
    read_tntp_network,
    read_tntp_nodes,
    read_tntp_trips,
    write_tntp_network,
    write_tntp_trips,
)

__all__ = [
    "DATASETS",
    "DemandFile",
    "NetworkFile",
    "SiteFile",
    "data_dir",
    "irish_node_table",
    "korean_node_names",
    "load_network",
    "parse_dms",
    "read_25node",
    "read_25node_junex",
    "read_dc_ny_bos",
    "read_demand",
    "read_edge_csv",
    "read_graphml",
    "read_irish_highway",
    "read_irish_traffic",
    "read_korean_expressway",
    "read_network",
    "read_osm_xml",
    "read_sites",
    "read_tntp_flow",
    "read_tntp_network",
    "read_tntp_nodes",
    "read_tntp_trips",
    "snap_points",
    "write_tntp_network",
    "write_tntp_trips",
]
