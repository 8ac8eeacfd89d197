"""``mirage lattice conductance``: columns, metadata, the field-sweep map, bad input -> exit 2."""

import numpy as np
import pytest

from comparisons.cli import main
from mirage_common.io import read_table

COLUMNS = {"energy", "conductance", "normal_reflection", "andreev_opposite_spin",
           "andreev_equal_spin"}


def test_field_sweep_writes_columns_metadata_and_map(tmp_path):
    out, png = tmp_path / "g.csv", tmp_path / "g.png"
    code = main(["lattice", "conductance", "--beta", "7", "--field", "0:2:2", "--delta", "1",
                 "--barrier", "3", "--emin", "-2", "--emax", "2", "--points", "3",
                 "--n-k", "2", "--temperature", "0.2", "--output", str(out), "--plot", str(png)])
    assert code == 0
    cols, meta = read_table(out)
    assert COLUMNS <= set(cols) and len(cols["energy"]) == 6
    assert list(cols["field"]) == [0, 0, 0, 2, 2, 2]
    nt = meta["normal_transmission"]
    assert len(nt) == 2 and 0 < nt[0]["mean"] < 0.1  # barrier 3 t: tunnel limit
    assert all(len(row) <= 4 for row in nt[0]["per_mode"])
    # Probabilities per incident mode, and G_NS/G_N ~ 0 deep in the gap (tunnel limit).
    for name in COLUMNS - {"energy", "conductance"}:
        assert np.all((cols[name] >= 0) & (cols[name] <= 1 + 1e-9))
    assert cols["conductance"][1] < 0.2
    assert png.stat().st_size > 0
    assert meta["temperature_tc0"] == 0.2 and meta["solver"] == "batched"


def test_self_consistent_gap_per_field(tmp_path):
    out = tmp_path / "g.json"
    code = main(["lattice", "conductance", "--field", "0,2", "--self-consistent", "--gap-mesh",
                 "300", "--temperature", "0.1", "--emin", "0", "--emax", "1", "--points", "2",
                 "--n-k", "2", "--output", str(out)])
    assert code == 0
    cols, meta = read_table(out)
    assert meta["delta_source"].startswith("self-consistent")
    d0, d2 = cols["delta"][0], cols["delta"][2]
    # Δ(B = 0, T = 0.1 T_c0) ≈ Δ0 (coarse mesh 300: within 5 %); B = 2 suppresses it but the
    # Ising field protects it (0.5 < Δ < 1, as in test_lattice_cli).
    assert d0 == pytest.approx(1.0, abs=0.05) and 0.5 < d2 < d0


@pytest.mark.parametrize("extra, option", [
    (["--delta", "1", "--self-consistent"], "delta"),
    (["--temperature", "-0.1"], "temperature"),
    (["--barrier", "1e9", "--barrier-rows", "2"], "barrier"),
    (["--barrier", "-1"], "barrier"),
    (["--field", "0:x:3"], "field"),
    (["--points", "0"], "points"),
    (["--emin", "1", "--emax", "0"], "emax"),
    (["--emax", "20"], "emax"),
    (["--workers", "0"], "workers"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra, option):
    out = tmp_path / "g.csv"
    code = main(["lattice", "conductance", "--n-k", "2", "--points", "3", "--output", str(out),
                 *extra])
    assert code == 2
    assert not out.exists()
    assert option in capsys.readouterr().err
