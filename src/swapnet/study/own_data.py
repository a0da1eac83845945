"""Own-data study inputs: ``network.path``, ``sites.kind = "file"`` and ``demand.kind = "file"``.

Relative paths resolve against the study file's folder (the working directory
for studies built with :meth:`~swapnet.study.Study.from_dict`). Reader errors
are re-raised as :class:`~swapnet.study.StudyError` naming the study key.
"""

from __future__ import annotations

from pathlib import Path

from swapnet.demand import DailyProfile
from swapnet.errors import FileFormatError, InvalidInputError
from swapnet.io.demand_files import DemandFile, read_demand
from swapnet.io.graphs import NetworkFile, read_network
from swapnet.io.sites import SiteFile, read_sites
from swapnet.network import RoadNetwork
from swapnet.study._schema import StudyError
from swapnet.study.model import StudySpec

__all__ = ["base_dir", "load_demand", "load_network", "load_sites", "resolve"]


def base_dir(study: StudySpec) -> Path:
    """Folder relative paths start from: the study file's, else the working directory."""
    return study.source.parent if study.source is not None else Path.cwd()


#: Prefix of paths inside the shared data folder (:func:`swapnet.io.data_dir`'s parent), e.g. ``data:osm/x.osm``.
DATA_PREFIX = "data:"


def resolve(study: StudySpec, path: str, key: str) -> Path:
    """``path`` resolved against :func:`base_dir` (or the shared data folder for ``data:...``).

    Raises
    ------
    StudyError
        Naming ``key`` when the file is missing.
    """
    if path.startswith(DATA_PREFIX):
        from swapnet.io.datasets import data_dir

        try:
            root = data_dir().parent
        except InvalidInputError as e:
            raise StudyError(key, path, f"the shared data folder is not found ({e.reason}); set SWAPNET_DATA") from None
        full = root / path[len(DATA_PREFIX) :]
    else:
        p = Path(path).expanduser()
        full = p if p.is_absolute() else base_dir(study) / p
    if not full.is_file():
        raise StudyError(key, path, f"no such file ({full})")
    return full


def _wrap(key: str, exc: InvalidInputError | FileFormatError) -> StudyError:
    if isinstance(exc, InvalidInputError):
        same = exc.field == key.rsplit(".", 1)[-1]
        return StudyError(key, exc.value, exc.reason if same else f"{exc.field}: {exc.reason}")
    return StudyError(key, None, str(exc))


def load_network(study: StudySpec) -> NetworkFile:
    """Read ``[network] path`` with its ``length_unit`` and ``largest_component``."""
    net = study.network
    assert net.path is not None
    p = resolve(study, net.path, "network.path")
    try:
        return read_network(p, length_unit=net.length_unit, largest_component=net.largest_component)
    except (InvalidInputError, FileFormatError) as e:
        key = "network.length_unit" if isinstance(e, InvalidInputError) and e.field == "length_unit" else "network.path"
        raise _wrap(key, e) from None


def load_sites(study: StudySpec, network: RoadNetwork, fixed_cost: float, crs: str | None = None) -> SiteFile:
    """Read ``[sites] path`` and snap it with ``max_snap_m`` (``x``/``y`` in ``crs``: the network file's)."""
    s = study.sites
    assert s.path is not None
    p = resolve(study, s.path, "sites.path")
    try:
        return read_sites(p, network, max_snap_m=s.max_snap_m, fixed_cost=fixed_cost, crs=crs)
    except (InvalidInputError, FileFormatError) as e:
        key = "sites.max_snap_m" if isinstance(e, InvalidInputError) and e.field == "max_snap_m" else "sites.path"
        raise _wrap(key, e) from None


def load_demand(study: StudySpec, network: RoadNetwork, crs: str | None = None) -> DemandFile:
    """Read ``[demand] path`` (points snapped with ``max_snap_m``, or zones; ``x``/``y`` in ``crs``)."""
    d = study.demand
    assert d.path is not None
    p = resolve(study, d.path, "demand.path")
    rates = {d.segment: d.swaps_per_vehicle_month} if d.swaps_per_vehicle_month is not None else None
    try:
        return read_demand(
            p,
            network,
            max_snap_m=d.max_snap_m,
            swaps_per_vehicle_month=rates,
            vehicles_per_person=d.vehicles_per_person,
            profile=getattr(DailyProfile, d.profile)(),
            crs=crs,
        )
    except (InvalidInputError, FileFormatError) as e:
        key = "demand.max_snap_m" if isinstance(e, InvalidInputError) and e.field == "max_snap_m" else "demand.path"
        if isinstance(e, InvalidInputError) and e.field == "vehicles_per_person":
            key = "demand.vehicles_per_person"
        raise _wrap(key, e) from None
