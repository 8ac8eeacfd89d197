"""``mirage lattice spectrum|dos|gap``: outputs, metadata, bad input -> exit 2 and no file."""

import numpy as np
import pytest

from mirage_cli.main import main
from mirage_common.formulas import mirage_formula
from mirage_common.io import read_table


def test_dos_writes_columns_and_lattice_parameters(tmp_path):
    out = tmp_path / "dos.csv"
    code = main([
        "lattice", "dos", "--beta", "7", "--field", "2", "--delta", "1", "--eta", "0.05",
        "--mesh", "400", "--n-energies", "201", "--no-components", "--output", str(out),
    ])
    assert code == 0
    cols, meta = read_table(out)
    assert {"energy", "dos", "dos_normal"} <= set(cols)
    assert len(cols["energy"]) == 201
    # Default pytest.approx: values written with 12 significant digits.
    assert cols["energy"][0] == pytest.approx(-10.0) and cols["energy"][-1] == pytest.approx(10.0)
    lattice = meta["mapping"]["lattice_params_t"]
    assert lattice["delta"] == pytest.approx(meta["mapping"]["physical"]["delta0_in_t"])
    assert 2.0 < lattice["mu"] < 3.0
    assert meta["mesh"] == 400 and meta["eta_delta0"] == 0.05
    assert meta["mirage_formula_delta0"]["eps0"] == pytest.approx(
        float(mirage_formula(7, 2, 1).eps0)
    )
    # Normalized: ~1 far from the gaps (the physics is tested in test_lattice_dos; this
    # coarse mesh only resolves the DOS to ~10 % near the gaps).
    assert cols["dos"][np.argmin(np.abs(cols["energy"] - 4.0))] == pytest.approx(1.0, abs=0.1)
    # Normal state at E = 0 is the normalization point itself (average over |E| <= 1 Δ0).
    assert cols["dos_normal"][100] == pytest.approx(1.0, abs=0.02)


def test_dos_self_consistent_gap(tmp_path):
    out = tmp_path / "dos.json"
    code = main([
        "lattice", "dos", "--beta", "7", "--field", "2", "--temperature", "0.1", "--eta", "0.05",
        "--mesh", "300", "--gap-mesh", "300", "--n-energies", "51", "--no-components",
        "--output", str(out),
    ])
    assert code == 0
    _, meta = read_table(out)
    assert meta["delta_source"].startswith("self-consistent")
    assert 0.5 < meta["delta_used_delta0"] < 1.0  # suppressed by B = 2 but Ising-protected


def test_spectrum_zoom_and_path(tmp_path):
    zoom = tmp_path / "zoom.npz"
    assert main(["lattice", "spectrum", "--n-points", "101", "--output", str(zoom)]) == 0
    cols, meta = read_table(zoom)
    assert meta["kind"] == "zoom" and cols["energy_3"].shape == (101,)
    path = tmp_path / "path.csv"
    code = main(["lattice", "spectrum", "--kind", "path", "--n-points", "50",
                 "--output", str(path)])
    assert code == 0
    cols, meta = read_table(path)
    assert meta["labels"] == ["Γ", "K", "M", "K'", "Γ"]


def test_gap_curve(tmp_path):
    out = tmp_path / "gap.csv"
    code = main(["lattice", "gap", "--fields", "0,3", "--mesh", "300", "--output", str(out)])
    assert code == 0
    cols, meta = read_table(out)
    np.testing.assert_allclose(cols["field"], [0.0, 3.0])
    assert cols["delta"][0] > cols["delta"][1] > 0
    assert np.all(cols["converged"] == 1.0)
    assert meta["coupling_U_t"] > 0


@pytest.mark.parametrize(
    "args",
    [
        ["dos", "--e-fermi", "300"],  # E_F = 1.5 t: the Fermi level crosses no K/K' pocket
        ["dos", "--delta", "5"],  # Δ not small against the pocket depth (30 Δ0)
        ["dos", "--e-fermi", "5"],  # Δ0 not small against the pocket depth
        ["dos", "--mesh", "0"],  # non-positive mesh
        ["dos", "--mesh", "-10"],
        ["dos", "--delta", "1", "--eta", "0.5"],  # Dynes eta cannot resolve δ = 0.54
        ["dos", "--beta", "20"],
        ["dos", "--n-energies", "0"],
        ["spectrum", "--field", "-1"],
        ["gap", "--fields", "0:3"],
        ["gap", "--fields", "0,-1"],
        ["gap", "--cutoff", "5"],
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args):
    out = tmp_path / "out.csv"
    assert main(["lattice", *args, "--output", str(out)]) == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary leftovers either
    err = capsys.readouterr().err
    # The option as typed (dashes, not the library's underscores).
    name = {"--e-fermi": "e-fermi", "--delta": "delta", "--mesh": "mesh", "--eta": "eta",
            "--beta": "beta", "--n-energies": "n-energies/points", "--field": "field",
            "--fields": "fields", "--cutoff": "cutoff"}[args[-2]]
    if args[-2] == "--e-fermi" and args[-1] == "5":
        name = "e-fermi"
    assert f"error: {name}:" in err


def test_unknown_extension_exits_2(tmp_path):
    out = tmp_path / "dos.txt"
    assert main(["lattice", "dos", "--delta", "1", "--output", str(out)]) == 2
    assert not out.exists()
