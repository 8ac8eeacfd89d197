"""Physical units, material presets and ``mirage qc tunneling`` (reduced and physical units)."""

import math

import numpy as np
import pytest
import scipy.constants as sc

from mirage_cli.main import main
from mirage_common.errors import ParameterError
from mirage_common.io import read_table
from mirage_common.materials import MATERIALS, PRESET_FIELDS, Material, Source, get_material
from mirage_common.units import DELTA0_OVER_TC0, PhysicalScale
from quasiclassical.params import DELTA0_OVER_TC0 as QC_RATIO
from quasiclassical.tunneling import tunneling_conductance


def test_scale_matches_solver_convention_and_codata():
    assert DELTA0_OVER_TC0 == QC_RATIO  # one convention for both
    scale = PhysicalScale(tc_K=10.0)
    # Delta0 = 1.764 k_B T_c: 1.7639 * 0.0861733 meV/K * 10 K
    assert scale.delta0_meV == pytest.approx(1.76387699 * 0.0861733326 * 10, rel=1e-8)
    # 1 tesla at g = 2 is mu_B = 0.05788 meV of Zeeman energy
    mu_b = sc.physical_constants["Bohr magneton in eV/T"][0] * 1e3
    assert scale.field_to_reduced(1.0) * scale.delta0_meV == pytest.approx(mu_b, rel=1e-12)
    assert PhysicalScale(tc_K=10.0, g_factor=4).field_to_reduced(1.0) == \
        pytest.approx(2 * scale.field_to_reduced(1.0), rel=1e-14)


@pytest.mark.parametrize("kwargs", [dict(tc_K=3.0), dict(delta0_meV=0.7, g_factor=1.3)])
def test_round_trips(kwargs):
    scale = PhysicalScale(**kwargs)
    rng = np.random.default_rng(np.random.SeedSequence(13))
    x = rng.uniform(0.01, 50, 20)
    np.testing.assert_allclose(scale.energy_to_meV(scale.energy_to_reduced(x)), x, rtol=1e-14)
    np.testing.assert_allclose(scale.temperature_to_K(scale.temperature_to_reduced(x)), x,
                               rtol=1e-14)
    np.testing.assert_allclose(scale.field_to_tesla(scale.field_to_reduced(x)), x, rtol=1e-14)
    other = PhysicalScale(delta0_meV=scale.delta0_meV, g_factor=scale.g_factor)
    assert other.tc_K == pytest.approx(scale.tc_K, rel=1e-14)


@pytest.mark.parametrize("kwargs, name", [
    (dict(), "tc-K"),
    (dict(tc_K=1.0, delta0_meV=0.2), "delta0-meV"),
    (dict(tc_K=-1.0), "tc-K"),
    (dict(tc_K=1.0, g_factor=0.0), "g-factor"),
    (dict(tc_K=1.0, g_factor=None), "g-factor"),
])
def test_scale_bad_input(kwargs, name):
    with pytest.raises(ParameterError) as err:
        PhysicalScale(**kwargs)
    assert err.value.name == name


def test_scale_refuses_negative_temperature_and_field():
    scale = PhysicalScale(tc_K=5)
    with pytest.raises(ParameterError, match="temperature"):
        scale.temperature_to_reduced(-1.0)
    with pytest.raises(ParameterError, match="field"):
        scale.field_to_reduced([-2.0])


@pytest.mark.parametrize("name", list(MATERIALS))
def test_presets_load_and_state_sources(name):
    mat = get_material(name.lower())
    assert mat.name == name and mat.tc_K > 0 and mat.beta_so_meV > 0 and mat.g_factor == 2.0
    assert mat.sources and all(("(20" in s) and any(j in s for j in ("Nat.", "Science",
                                                                     "Phys. Rev.", "npj"))
                                for s in mat.sources)
    assert "uncertainty" in mat.provenance
    scale = mat.scale()
    assert mat.beta_reduced() == pytest.approx(mat.beta_so_meV / scale.delta0_meV)
    # effective Ising field in tesla: beta = g mu_B B_so / 2
    assert mat.spin_orbit_field_T * scale.field_to_reduced(1.0) == \
        pytest.approx(mat.beta_reduced(), rel=1e-12)


@pytest.mark.parametrize("name", list(MATERIALS))
def test_every_preset_number_has_a_source(name):
    """Each of tc_K, beta_so_meV, g_factor: a citation, where in it, what it states, the
    conversion, and 'verified' or 'unverified: <reason>' (issue 23)."""
    mat = get_material(name)
    assert set(mat.field_sources) == set(PRESET_FIELDS)
    for key, src in mat.field_sources.items():
        assert isinstance(src, Source), key
        assert src.citation and src.where and src.states and src.conversion, key
        assert src.status == "verified" or src.status.startswith("unverified: "), key
    # a beta_so source says which convention it converts (splitting 2 beta vs beta)
    assert "splitting / 2" in mat.field_sources["beta_so_meV"].conversion
    assert mat.as_dict()["field_sources"]["tc_K"]["status"] == mat.field_sources["tc_K"].status


def test_preset_without_a_source_is_refused():
    with pytest.raises(ParameterError, match="no source for beta_so_meV"):
        Material(name="X", description="x", tc_K=1.0, beta_so_meV=1.0, g_factor=2.0,
                 sources=(), provenance="", field_sources={
                     "tc_K": MATERIALS["TaS2"].field_sources["tc_K"],
                     "g_factor": MATERIALS["TaS2"].field_sources["g_factor"]})
    with pytest.raises(ParameterError, match="unverified: <reason>"):
        Source(citation="c", where="w", states="s", conversion="none", status="unverified")


def test_corrected_presets():
    """MoS2: half the ~13 meV Fermi-level splitting (Saito et al.), not the 3 meV band-bottom
    splitting; TaS2 T_c credited to Yang et al. (arXiv:1711.00079)."""
    assert get_material("MoS2").beta_so_meV == 6.5
    assert "1711.00079" in get_material("TaS2").field_sources["tc_K"].citation
    assert get_material("TaS2").field_sources["tc_K"].status == "verified"


def test_presets_flag_model_limits():
    assert any("Gamma" in note for note in get_material("NbSe2").assumption_notes)
    assert any("Gamma" in note for note in get_material("TaS2").assumption_notes)
    assert get_material("MoS2").assumption_notes == ()  # K/K' electron pockets only


def test_unknown_material():
    with pytest.raises(ParameterError, match="known: MoS2, NbSe2, TaS2"):
        get_material("graphene")


# ---- CLI ------------------------------------------------------------------------------

BASE = ["qc", "tunneling", "--beta", "7", "--temperature", "0.1", "--emin", "-9", "--emax", "9",
        "--points", "181"]


def test_cli_reduced_sweep_matches_library(tmp_path):
    out = tmp_path / "g.csv"
    plot = tmp_path / "g.png"
    assert main([*BASE, "--field", "0:2:3", "--output", str(out), "--plot", str(plot)]) == 0
    cols, meta = read_table(out)
    assert cols["field"].shape == (3 * 181,) and set(cols["field"]) == {0.0, 1.0, 2.0}
    lib = tunneling_conductance(np.linspace(-9, 9, 181), beta=7, field=2, temperature=0.1)
    sel = cols["field"] == 2.0
    np.testing.assert_allclose(cols["conductance"][sel], lib.conductance, atol=1e-12)
    assert meta["delta"][2] == pytest.approx(lib.delta, abs=1e-12)
    assert "G/G_N" in meta["units"] and plot.stat().st_size > 1000


def test_cli_physical_units_equal_reduced(tmp_path):
    """MoS2 preset in meV/K/T gives the same curve as the reduced run it converts to."""
    mat = get_material("MoS2")
    scale = mat.scale()
    out = tmp_path / "g.json"
    assert main(["qc", "tunneling", "--units", "physical", "--material", "MoS2", "--field", "20",
                 "--temperature", "1.5", "--eta", "0.02", "--emin", "-6", "--emax", "6",
                 "--points", "121", "--output", str(out)]) == 0
    cols, meta = read_table(out)
    np.testing.assert_allclose(cols["bias_mV"], np.linspace(-6, 6, 121), atol=1e-12)
    assert np.all(cols["field_T"] == 20.0)
    assert meta["scale"]["tc_K"] == 10.0 and meta["material"]["name"] == "MoS2"
    lib = tunneling_conductance(
        np.linspace(-6, 6, 121) / scale.delta0_meV, beta=mat.beta_reduced(),
        field=float(scale.field_to_reduced(20.0)), temperature=0.15,
        eta=0.02 / scale.delta0_meV)
    np.testing.assert_allclose(cols["conductance"], lib.conductance, atol=1e-12)
    # the preset's beta_so (6.5 meV since issue 23; was 3.0) reaches the metadata unchanged
    assert meta["parameters_physical"]["beta_so_meV"] == pytest.approx(mat.beta_so_meV,
                                                                       rel=1e-12)
    assert math.isclose(meta["parameters_physical"]["temperature_K"], 1.5, rel_tol=1e-12)


@pytest.mark.parametrize("extra, option", [
    (["--field", "1", "--temperature", "-0.1"], "temperature"),
    (["--field", "1", "--units", "physical", "--material", "graphene"], "material"),
    (["--field", "10", "--units", "physical"], "tc-K"),  # tesla without Delta0
    (["--field", "10", "--units", "physical", "--tc-K", "5", "--g-factor", "0"], "g-factor"),
    (["--field", "1", "--tc-K", "5"], "tc-K"),  # physical option in reduced units
    (["--field", "-1"], "field"),
    (["--field", "1", "--eta", "0"], "eta"),
    (["--field", "1", "--plot", "g.txt"], "plot"),
    (["--field", "2", "--band-slope", "0.1"], "band-slope"),  # |kappa| eps0 = 0.73 > 0.5
    (["--field", "2", "--band-slope", "nan"], "band-slope"),
])
def test_cli_bad_input_exit_2_nothing_written(tmp_path, capsys, extra, option):
    out = tmp_path / "g.csv"
    args = [a for a in BASE if a != "--temperature" and a != "0.1"] if "--temperature" in extra \
        else list(BASE)
    assert main([*args, *extra, "--output", str(out)]) == 2
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert f"{option}:" in capsys.readouterr().err


def test_cli_band_slope_matches_library(tmp_path):
    """``--band-slope`` (issue 23, item 2) reaches the library and its metadata; the bias-odd
    part of the output is the band correction."""
    out = tmp_path / "g.json"
    assert main([*BASE, "--field", "2", "--band-slope", "-0.022", "--output", str(out)]) == 0
    cols, meta = read_table(out)
    lib = tunneling_conductance(np.linspace(-9, 9, 181), beta=7, field=2, temperature=0.1,
                                band_slope=-0.022)
    np.testing.assert_allclose(cols["conductance"], lib.conductance, atol=1e-12)
    assert meta["band_slope"] == -0.022
    odd = 0.5 * (cols["conductance"] - cols["conductance"][::-1])
    np.testing.assert_allclose(odd, lib.band_correction, atol=1e-9)  # N_e even to 1e-12
