"""Resource guards of a study (checked by ``study check``, before anything is built or solved).

A study whose size would not fit is refused with the estimate and the key to change, instead of
dying with ``MemoryError`` deep inside a stage. The limits are generous for a planning study on
one machine:

- the siting cost matrix (demand nodes x candidate sites, 8 bytes each) at most
  :data:`MAX_MATRIX_BYTES`;
- simulated swap requests per replication (daily swaps x simulated days) and over all
  replications at most the limits of :func:`~swapnet.simulation.simulate` itself
  (``swapnet.simulation._limits``), so a study that passes ``check`` is not refused later.
"""

from __future__ import annotations

from swapnet.simulation._limits import MAX_REQUESTS_PER_REPLICATION, MAX_REQUESTS_TOTAL
from swapnet.study._schema import DAYS_PER_MONTH, StudyError
from swapnet.study.spec_inputs import DemandSpec, NetworkSpec, SitesSpec
from swapnet.study.spec_models import SimulationSpec

#: Largest siting cost matrix (bytes).
MAX_MATRIX_BYTES = 4 * 1024**3

#: Swaps per vehicle and month of the fleet-segment presets (as :class:`~swapnet.demand.FleetSegment`).
_PRESET_SWAPS = {"private": 4.5, "ride_hailing": 15.0, "taxi": 37.0}


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:,.1f} GiB"


def check_resources(network: NetworkSpec, sites: SitesSpec, demand: DemandSpec, sim: SimulationSpec) -> None:
    """Refuse a study whose estimated memory or simulated events exceed the limits above.

    Parameters
    ----------
    network, sites, demand, sim
        The study's sections (``[network]``, ``[sites]``, ``[demand]``, ``[simulation]``).

    Raises
    ------
    StudyError
        Naming the key to change, the estimate and the limit.
    """
    nodes = network.n_nodes
    if nodes is not None:
        cands = nodes if sites.kind == "nodes" else (sites.n or nodes)
        need = 8.0 * nodes * cands
        if need > MAX_MATRIX_BYTES:
            key = "network.rows" if sites.kind == "nodes" or cands < nodes else "sites.n"
            raise StudyError(
                key,
                network.rows if key == "network.rows" else sites.n,
                f"the siting cost matrix ({nodes:,} demand nodes x {cands:,} candidate sites) needs "
                f"{_gib(need)}, more than the {_gib(MAX_MATRIX_BYTES)} allowed: use a smaller grid "
                "(network.rows, network.cols) or fewer candidate sites (sites.n)",
            )
    if demand.kind != "segments" or not demand.segments:
        return
    per_seg = [
        s.vehicles * (s.swaps_per_vehicle_month if s.swaps_per_vehicle_month is not None else _PRESET_SWAPS[s.kind])
        for s in demand.segments
    ]
    daily = sum(per_seg) / DAYS_PER_MONTH
    days = sim.days + sim.warmup_days
    per_rep = daily * days
    if per_rep > MAX_REQUESTS_PER_REPLICATION:
        big = max(range(len(per_seg)), key=per_seg.__getitem__)
        seg = demand.segments[big]
        raise StudyError(
            f"demand.segments[{big}].vehicles",
            seg.vehicles,
            f"the simulation would handle about {per_rep:,.0f} swap requests per replication "
            f"({daily:,.0f} swaps a day x {days} simulated days; ~{_gib(16 * per_rep)}), more than "
            f"{MAX_REQUESTS_PER_REPLICATION:,}: lower the fleet or simulation.days",
        )
    total = per_rep * sim.replications
    if total > MAX_REQUESTS_TOTAL:
        raise StudyError(
            "simulation.replications",
            sim.replications,
            f"the simulation would handle about {total:,.0f} swap requests ({per_rep:,.0f} per replication x "
            f"{sim.replications} replications), more than {MAX_REQUESTS_TOTAL:,}: use fewer replications "
            "or fewer simulation.days",
        )
