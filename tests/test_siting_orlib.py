"""OR-Library readers and the siting models on the small OR-Library instances, against the published optima."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write  # shared helper (tests/ is on sys.path under pytest)

from swapnet import InvalidInputError
from swapnet.errors import FileFormatError
from swapnet.io.orlib import orlib_dir, read_pmed, read_pmed_optima, read_pmedcap, read_scp, read_scp_optima
from swapnet.optim import SolveOptions, SolveStatus
from swapnet.siting import p_median, set_cover

EXACT = SolveOptions(mip_gap=0.0, threads=1, time_limit=120)


@pytest.fixture(scope="module")
def orlib() -> Path:
    try:
        return orlib_dir()
    except InvalidInputError:
        pytest.skip("OR-Library data not found (set SWAPNET_DATA)")


# ------------------------------------------------------------------ readers on tiny files
def test_read_pmed_last_listing_counts_and_shortest_paths(tmp_path: Path) -> None:
    f = write(tmp_path / "pmedx.txt", ["3 3 1", "1 2 10", "2 3 4", "1 2 3"])
    inst = read_pmed(f)
    assert inst.name == "pmedx" and inst.p == 1 and inst.n == 3
    # the edge 1-2 counts with its last cost 3, so d(1, 3) = 3 + 4
    np.testing.assert_array_equal(inst.cost, [[0, 3, 7], [3, 0, 4], [7, 4, 0]])
    # reversed listing of the same edge also replaces it
    inst = read_pmed(write(tmp_path / "pmedy.txt", ["2 2 1", "1 2 10", "2 1 2"]))
    assert inst.cost[0, 1] == 2.0


def test_read_pmed_rejects_bad_files(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"outside 1\.\.3"):
        read_pmed(write(tmp_path / "a.txt", ["3 1 1", "1 4 2"]))
    with pytest.raises(FileFormatError, match="not connected"):
        read_pmed(write(tmp_path / "b.txt", ["3 1 1", "1 2 2"]))
    with pytest.raises(FileFormatError, match="ends early"):
        read_pmed(write(tmp_path / "c.txt", ["3 2 1", "1 2 2"]))
    with pytest.raises(FileFormatError, match="not found"):
        read_pmed(tmp_path / "missing.txt")


def test_read_scp_tiny(tmp_path: Path) -> None:
    # 2 rows, 3 columns costing 1, 2, 3; row 1 is covered by columns 1 and 3, row 2 by column 2
    inst = read_scp(write(tmp_path / "scpx.txt", ["2 3", "1 2 3", "2", "1 3", "1", "2"]))
    np.testing.assert_array_equal(inst.costs, [1, 2, 3])
    np.testing.assert_array_equal(inst.cover.toarray(), [[1, 0, 1], [0, 1, 0]])
    plan = set_cover(inst.cost_matrix(), 0.0, site_costs=inst.costs, options=EXACT).verify()
    assert plan.objective == 3.0 and plan.sites == (0, 1)
    with pytest.raises(FileFormatError, match="row 2"):
        read_scp(write(tmp_path / "scpy.txt", ["2 3", "1 2 3", "1", "1", "1", "4"]))


def test_read_pmedcap_truncates_distances(tmp_path: Path) -> None:
    f = write(tmp_path / "cap.txt", ["1 5", "3 1 10", "1 0 0 2", "2 1 1 3", "3 3 4 4"])
    inst = read_pmedcap(f)
    assert (inst.optimum, inst.p, inst.capacity, inst.n) == (5.0, 1, 10.0, 3)
    np.testing.assert_array_equal(inst.demand, [2, 3, 4])
    # sqrt(2) -> 1, 5 -> 5, sqrt(13) -> 3
    np.testing.assert_array_equal(inst.cost, [[0, 1, 5], [1, 0, 3], [5, 3, 0]])


# ------------------------------------------------------------------ published optima
def test_optima_tables(orlib: Path) -> None:
    pm = read_pmed_optima(orlib / "pmed" / "pmedopt.txt")
    assert len(pm) == 40 and pm["pmed1"] == 5819 and pm["pmed40"] == 5128
    sc = read_scp_optima(orlib / "scp" / "optima.csv")
    assert len(sc) == 35 and sc["scp41"] == 429 and sc["scpb1"] == 69


def test_scp_optima_unproven_rows(tmp_path: Path) -> None:
    head = "Path,Best known solution value,Optimum"
    f = write(tmp_path / "optima.csv", [head, "a/scpc1.txt,227,227", "b/scpnrg1.txt,176,", "b/scpx1.txt,,"])
    assert read_scp_optima(f) == {"scpc1": 227.0}
    assert read_scp_optima(f, best_known=True) == {"scpc1": 227.0, "scpnrg1": 176.0}
    bad = write(tmp_path / "bad.csv", [head, "a/scpc1.txt,227,two"])
    with pytest.raises(FileFormatError, match="bad optimum 'two'"):
        read_scp_optima(bad)
    with pytest.raises(FileFormatError, match="no 'Optimum' column"):
        read_scp_optima(write(tmp_path / "none.csv", ["Path,Best", "a/scpc1.txt,1"]))


@pytest.mark.parametrize("name", ["pmed1", "pmed2", "pmed6"])
def test_pmed_published_optimum(orlib: Path, name: str) -> None:
    inst = read_pmed(orlib / "pmed" / f"{name}.txt")
    opt = read_pmed_optima(orlib / "pmed" / "pmedopt.txt")[name]
    plan = p_median(inst.cost, None, inst.p, options=EXACT).verify()
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.objective == opt and plan.n_sites == inst.p
    assert plan.bound <= plan.objective + 1e-9


@pytest.mark.parametrize("name", ["scp41", "scp61"])
def test_scp_published_optimum(orlib: Path, name: str) -> None:
    inst = read_scp(orlib / "scp" / f"{name}.txt")
    opt = read_scp_optima(orlib / "scp" / "optima.csv")[name]
    plan = set_cover(inst.cost_matrix(), 0.0, site_costs=inst.costs, options=EXACT).verify()
    assert plan.status == SolveStatus.OPTIMAL and plan.objective == opt


@pytest.mark.parametrize("name", ["pmedcap01", "pmedcap02"])
def test_pmedcap_published_optimum(orlib: Path, name: str) -> None:
    inst = read_pmedcap(orlib / "pmedcap" / f"{name}.txt")
    plan = p_median(inst.cost, None, inst.p, capacity=inst.capacity, loads=inst.demand, options=EXACT).verify()
    assert plan.status == SolveStatus.OPTIMAL and plan.objective == inst.optimum
    load = plan.assignment.assign(load=inst.demand).groupby("site")["load"].sum()
    assert (load <= inst.capacity).all()
