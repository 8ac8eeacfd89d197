"""``mirage lattice conductance``: columns, metadata, the field-sweep map, bad input -> exit 2."""

import numpy as np
import pytest

from mirage_cli.main import main
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
    (["--exchange", "0.15"], "exchange"),  # = E_F (0.15 t): the +n pocket would vanish
    (["--exchange", "-0.2"], "exchange"),
    (["--exchange-angle", "1"], "exchange-angle"),
    (["--exchange-angle", "nan,0"], "exchange-angle"),
    (["--exchange-angle", "1,0:1:3"], "exchange-angle"),
    (["--exchange-angle", "1,0", "--spin-axis", "x"], "exchange-angle"),
    (["--exchange-angle", "0:1:3,0", "--field", "0,2"], "exchange-angle"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra, option):
    out = tmp_path / "g.csv"
    code = main(["lattice", "conductance", "--n-k", "2", "--points", "3", "--output", str(out),
                 *extra])
    assert code == 2
    assert not out.exists()
    assert option in capsys.readouterr().err


def test_physical_units_equal_the_reduced_run_at_the_converted_parameters(tmp_path):
    """--units physical (meV, tesla, K, mV) is the reduced run at the PhysicalScale values."""
    from mirage_common.units import PhysicalScale

    scale = PhysicalScale(tc_K=5.0, g_factor=2.0)
    fields_T = np.array([0.0, 10.0])
    phys, red = tmp_path / "p.csv", tmp_path / "r.csv"
    common = ["lattice", "conductance", "--barrier", "3", "--points", "3", "--n-k", "2"]
    assert main([*common, "--units", "physical", "--tc-K", "5", "--beta", "3", "--delta", "0.7",
                 "--field", "0:10:2", "--temperature", "1", "--emin", "-1", "--emax", "1",
                 "--output", str(phys)]) == 0
    reduced = [float(scale.energy_to_reduced(x)) for x in (3.0, 0.7, -1.0, 1.0)]
    assert main([*common, "--beta", repr(reduced[0]), "--delta", repr(reduced[1]),
                 "--field", ",".join(repr(float(b)) for b in scale.field_to_reduced(fields_T)),
                 "--temperature", repr(1.0 / 5.0), "--emin", repr(reduced[2]),
                 "--emax", repr(reduced[3]), "--output", str(red)]) == 0
    cp, mp = read_table(phys)
    cr, mr = read_table(red)
    assert set(cp) == set(cr) | {"bias_mV", "field_T"}
    for name in cr:
        # Same floats reach the same computation; CSV round-trips 12 significant digits.
        np.testing.assert_allclose(cp[name], cr[name], rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(cp["bias_mV"], np.tile([-1.0, 0.0, 1.0], 2), atol=1e-12)
    np.testing.assert_allclose(cp["field_T"], np.repeat(fields_T, 3), atol=1e-12)
    assert "units_physical" not in mr
    assert "tesla" in mp["units_physical"] and "mV" in mp["units_physical"]
    assert mp["scale"]["tc_K"] == 5.0 and mp["material"] is None
    assert mp["parameters_physical"]["beta_so_meV"] == pytest.approx(3.0, rel=1e-12)
    assert mp["parameters_physical"]["temperature_K"] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("extra, option", [
    (["--units", "physical", "--field", "1"], "tc-K"),  # tesla without Delta0 / T_c
    (["--units", "physical", "--material", "Unobtainium"], "material"),
    (["--units", "physical", "--tc-K", "5", "--temperature", "-1"], "temperature"),
    (["--units", "physical", "--tc-K", "5", "--g-factor", "0"], "g-factor"),
    (["--units", "physical", "--tc-K", "5", "--delta0-meV", "1"], "delta0-meV"),
    (["--tc-K", "5"], "tc-K"),  # scale options need --units physical
])
def test_physical_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra, option):
    out = tmp_path / "g.csv"
    code = main(["lattice", "conductance", "--n-k", "2", "--points", "3", "--emin", "-0.5",
                 "--emax", "0.5", "--output", str(out), *extra])
    assert code == 2
    assert not out.exists()
    assert option in capsys.readouterr().err


def test_material_outside_the_lattice_limits_prints_notes_then_refuses(tmp_path, capsys):
    # NbSe2: beta_so = 38 meV ~ 83 Delta0 > E_F/3 of the default mapping (E_F = 30 Delta0).
    out = tmp_path / "g.csv"
    code = main(["lattice", "conductance", "--units", "physical", "--material", "NbSe2",
                 "--field", "1", "--emin", "-0.5", "--emax", "0.5", "--points", "3",
                 "--n-k", "2", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "note: NbSe2" in err and "Gamma" in err
    assert "beta" in err and "meV" in err


def test_fermi_level_beyond_the_two_pockets_is_refused(tmp_path, capsys):
    # E_F = 300 Delta0 = 0.9 t opens 6 normal-lead modes per k_x (more than the two hole
    # pockets' 4): a clear error naming --e-fermi, not a broadcasting traceback.
    out = tmp_path / "g.csv"
    code = main(["lattice", "conductance", "--e-fermi", "300", "--delta0-t", "0.003",
                 "--points", "11", "--n-k", "4", "--output", str(out)])
    assert code == 2 and not out.exists()
    assert "error: e-fermi: 6 normal-lead modes" in capsys.readouterr().err


def test_ferromagnetic_lead_angle_sweep_columns_and_zero_exchange(tmp_path):
    common = ["lattice", "conductance", "--beta", "7", "--field", "2", "--delta", "1",
              "--barrier", "0.5", "--emin", "0", "--emax", "1", "--points", "3", "--n-k", "2"]
    ref, tilt, sweep = (tmp_path / f"{n}.csv" for n in ("ref", "tilt", "sweep"))
    assert main([*common, "--output", str(ref)]) == 0
    assert main([*common, "--exchange", "0", "--exchange-angle", "1.1,0.7",
                 "--output", str(tilt)]) == 0
    cols_ref, _ = read_table(ref)
    cols_tilt, meta_tilt = read_table(tilt)
    # h = 0: the spin-summed conductance does not depend on the lead's axis (round-off,
    # measured 1e-15; the CSV keeps 12 significant digits).
    assert cols_tilt["conductance"] == pytest.approx(cols_ref["conductance"], abs=1e-10)
    assert meta_tilt["exchange_angle_rad"]["theta"] == [1.1]
    code = main([*common, "--exchange", "0.075", "--exchange-angle=0:3.141592653589793:3,0",
                 "--output", str(sweep)])
    assert code == 0
    cols, meta = read_table(sweep)
    assert len(cols["energy"]) == 9 and list(cols["exchange_theta"][::3]) == pytest.approx(
        [0, np.pi / 2, np.pi])
    assert meta["exchange_t"] == 0.075 and len(meta["spin_axis"]) == 3
    eq = cols["andreev_equal_spin"].reshape(3, 3)
    # With the field along x, n -> -n for n in the (x, z) plane is the π spin rotation about
    # x with the mirror x -> -x: θ = 0 and π agree (round-off; CSV 12 digits). In plane the
    # Ising triplets add equal-spin pairs along n: measured 0.023-0.036 vs 0.010-0.017.
    assert eq[0] == pytest.approx(eq[2], abs=1e-10)
    assert np.all(eq[1] > 1.5 * eq[0])
