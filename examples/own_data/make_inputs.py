"""Make the example's stores and demand CSVs on the Aguascalientes OSM extract (seeded; re-run to reproduce).

How the inputs were made:

- the street network is the drivable graph of ``shared/data/osm/aguascalientes.osm.bz2`` (largest
  strongly connected component), read with :func:`swapnet.io.read_network`;
- ``stores.csv``: 30 service stores of a made-up chain at nodes drawn at random (seed 15), each moved
  up to 60 m off its node (a store is beside the street, not on the centreline), with a grid connection
  of 250, 400 or 630 kW, a battery limit for some, an opening cost, and two stores already open;
- ``demand.csv``: 200 points where the cars are parked at night, drawn around nodes with a weight that
  falls off with distance from the centre (``exp(-d / 1.2 km)``), moved up to 80 m off the node, each
  with a number of vehicles of one segment (private, ride_hailing or taxi);
- ``tariff.csv``: a three-period time-of-use table (CNY/kWh).

Run from the project root::

    PYTHONPATH=src python examples/own_data/make_inputs.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from swapnet.io import data_dir, read_network

HERE = Path(__file__).resolve().parent
SEED = 15
NAMES = (
    "Centro", "San Marcos", "La Purísima", "El Encino", "Guadalupe", "Triana", "Del Carmen", "Gremial",
    "Héroes", "San Pablo", "Obraje", "El Sol", "Bona Gens", "Circunvalación", "Las Américas", "Jardines",
    "Madero", "Alameda", "Ferrocarril", "Zaragoza", "Colón", "Chávez", "Rivero", "Primavera", "Estadio",
    "Mercado", "Universidad", "La Salud", "Morelos", "Insurgentes",
)  # fmt: skip


def offset(lon: float, lat: float, metres: float, rng: np.random.Generator) -> tuple[float, float]:
    """A point ``metres`` away from (lon, lat) in a random direction."""
    a = rng.uniform(0, 2 * np.pi)
    dlat = metres * np.cos(a) / 111_195.0
    dlon = metres * np.sin(a) / (111_195.0 * np.cos(np.radians(lat)))
    return lon + dlon, lat + dlat


def main() -> None:
    net = read_network(data_dir().parent / "osm" / "aguascalientes.osm.bz2", largest_component=True).network
    assert net.coords is not None
    rng = np.random.default_rng(SEED)
    xy = net.coords
    n = net.n_nodes
    stores = rng.choice(n, size=30, replace=False)
    with (HERE / "stores.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "lon", "lat", "fixed_cost", "grid_kw", "max_batteries", "existing"])
        for k, i in enumerate(stores):
            lon, lat = offset(float(xy[i, 0]), float(xy[i, 1]), float(rng.uniform(5, 60)), rng)
            grid = int(rng.choice([250, 400, 630]))
            batt = "" if rng.random() < 0.6 else int(rng.choice([20, 30, 40]))
            w.writerow(
                [f"S{k + 1:02d}", f"Servicio {NAMES[k]}", f"{lon:.6f}", f"{lat:.6f}", 1_200_000, grid, batt,
                 "true" if k < 2 else "false"]
            )  # fmt: skip
    centre = xy.mean(axis=0)
    d_km = np.hypot((xy[:, 0] - centre[0]) * 111.2 * np.cos(np.radians(centre[1])), (xy[:, 1] - centre[1]) * 111.2)
    weight = np.exp(-d_km / 1.2)
    homes = rng.choice(n, size=200, replace=True, p=weight / weight.sum())
    segments = rng.choice(["private", "ride_hailing", "taxi"], size=200, p=[0.7, 0.2, 0.1])
    mean = {"private": 40, "ride_hailing": 8, "taxi": 3}
    with (HERE / "demand.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "lon", "lat", "vehicles", "segment"])
        for k, (i, seg) in enumerate(zip(homes, segments, strict=True)):
            lon, lat = offset(float(xy[i, 0]), float(xy[i, 1]), float(rng.uniform(0, 80)), rng)
            w.writerow([f"D{k + 1:03d}", f"{lon:.6f}", f"{lat:.6f}", int(rng.poisson(mean[str(seg)])) + 1, seg])
    with (HERE / "tariff.csv").open("w", newline="", encoding="utf-8") as fh:
        fh.write(
            "period,price,start,end\nbase,0.36,0,6\nintermedia,0.62,6,18\npunta,1.10,18,22\nintermedia,0.62,22,24\n"
        )
    print(f"wrote stores.csv (30), demand.csv (200) and tariff.csv into {HERE}")


if __name__ == "__main__":
    main()
