"""Valley components stored by the disorder study (issue 11, item 2, last sentence).

References: the disorder-averaged ĝ_v of `measure_selfenergy` (ĝ of the averaged G, a
separate code path), the clean Bloch Green's function on the same twisted grid
(`clean_grid_green`), and the realization files themselves for the average and its
jackknife error (hand-computed).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from latticemirage import green
from latticemirage.disorder import AndersonDisorder, selfenergy, study
from latticemirage.disorder.potentials import disorder_from_dict, realization_rng, remove_uniform
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_cli.main import main

# Small: L = 16 with Δ0 = 0.04 t and E_F = 10 Δ0, so the grid's ξ spacing 1/(ν_v L²) is
# 0.90 Δ0 < η = 1 and the shell ξ_c = 8 Δ0 holds max|ε| + β + B + Δ + 2η = 6 Δ0. The KPM
# part is deliberately coarse (the DOS is not under test here).
PHYS = dict(beta=2.0, field=1.0, delta=1.0, e_fermi=10.0, delta0=0.04)
ARGS = [
    "lattice", "disorder", "--kind", "anderson", "--width", "0.3",
    "--size", "16", "--realizations", "3", "--moments", "200", "--vectors", "2",
    "--beta", "2", "--field", "1", "--delta", "1", "--e-fermi", "10", "--delta0-t", "0.04",
    "--emin", "-4", "--emax", "4", "--n-energies", "21", "--allow-unresolved", "--quiet",
    "--seed", "5", "--workers", "1",
]
COMP = ["--components", "1.0", "--component-energies", "0:1:2"]


def snapshot(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def mapping():
    return map_to_lattice(PhysicalParameters(**PHYS))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("comp") / "study"
    assert main([*ARGS, *COMP, "--output", str(out)]) == 0
    return out


def test_stored_components_are_from_the_realizations_own_potential_and_twist(folder, mapping):
    spec = study.open_study(folder)
    c = spec.components
    for i in (0, 2):  # two of the three (each costs four LU)
        cols, meta = study.read_table(folder / study.REAL_DIR / f"r{i:05d}.npz")
        # The realization's potential as the study draws it (SeedSequence([seed, i]),
        # centred) and the twist the DOS used (stored): the same matrix, so round-off.
        pot = disorder_from_dict(spec.disorder).potential((16, 16), realization_rng(5, i))
        pot, _ = remove_uniform(pot)
        assert meta["potential_std_t"] == pytest.approx(float(np.std(pot)), rel=1e-12)
        direct = selfenergy.realization_components(
            spec.params, pot, 16, meta["twist"], np.array(c["energies_delta0"]),
            eta=1.0, xi_cut=c["xi_cut_delta0"], nu=selfenergy.valley_nu(mapping),
            delta0=mapping.delta0)
        # Same LU computation repeated: round-off only.
        np.testing.assert_allclose(cols["components_g"], direct, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(cols["components_energy"], [0.0, 1.0])
    # Different realizations differ (the components do see the disorder).
    a = study.read_table(folder / study.REAL_DIR / "r00000.npz")[0]["components_g"]
    b = study.read_table(folder / study.REAL_DIR / "r00001.npz")[0]["components_g"]
    assert np.abs(a - b).max() > 1e-3


def test_per_realization_components_average_to_measure_selfenergy(mapping):
    # measure_selfenergy forms ĝ of the realization-averaged G (its own code path);
    # ĝ is affine in G, so the mean of the per-realization ĝ must equal it.
    energies = np.array([0.0, 1.0])
    dis = AndersonDisorder(0.3)
    res = selfenergy.measure_selfenergy(mapping, dis, 16, 2, 7, energies, eta=1.0)
    k0 = selfenergy.supercell_kpoints((16, 16)).reshape(-1, 2)
    twist = selfenergy._fermi_twist(mapping, k0, 16)
    _, xi_cut = green.check_inputs(mapping.physical, energies, eta=1.0, delta=1.0)
    per = []
    for i in range(2):
        pot, _ = remove_uniform(dis.potential((16, 16), realization_rng(7, i)))
        per.append(selfenergy.realization_components(
            mapping.params, pot, 16, twist, energies, eta=1.0, xi_cut=xi_cut,
            nu=selfenergy.valley_nu(mapping), delta0=mapping.delta0))
    # Two exact evaluations of the same sums, summed in another order: round-off.
    np.testing.assert_allclose(np.mean(per, axis=0), res.g, rtol=0, atol=1e-10)


def test_average_and_jackknife_error_by_hand(folder):
    cols, meta = study.read_components(folder)
    samples = np.array([study.read_table(folder / study.REAL_DIR / f"r{i:05d}.npz")[0]
                        ["components_g"] for i in range(3)])
    comps = green.components(samples)
    names = [f"{n}_{v}" for v in green.VALLEYS for n in green.COMPONENT_NAMES]
    expected = ["energy"] + [f"{n}_{p}{e}" for n in names for p in ("re", "im")
                             for e in ("", "_stderr")]
    assert list(cols) == expected
    for v, valley in enumerate(green.VALLEYS):
        for name in green.COMPONENT_NAMES:
            for part, x in (("re", comps[name][:, v].real), ("im", comps[name][:, v].imag)):
                mean = x.mean(axis=0)
                err = x.std(axis=0, ddof=1) / np.sqrt(3)  # textbook standard error of a mean
                # The CSV holds 12 significant digits.
                np.testing.assert_allclose(cols[f"{name}_{valley}_{part}"], mean,
                                           rtol=1e-10, atol=1e-12)
                np.testing.assert_allclose(cols[f"{name}_{valley}_{part}_stderr"], err,
                                           rtol=1e-10, atol=1e-12)
    assert meta["eta_delta0"] == 1.0 and meta["energy_unit"] == "Delta0"
    assert "eq1" in meta["gauge"] and "K: +beta" in meta["valleys"]
    assert np.all(cols["g0_K_re_stderr"] > 0)  # the realizations differ


def test_mean_and_stderr_by_hand():
    mean, err = study.mean_and_stderr(np.array([[1.0], [2.0], [4.0]]))
    # sqrt(sum (x - 7/3)^2 / (3 * 2)) = sqrt(42/9 / 6) = sqrt(7/9)
    assert mean[0] == pytest.approx(7 / 3, rel=1e-14)
    assert err[0] == pytest.approx(np.sqrt(7 / 9), rel=1e-14)
    _, one = study.mean_and_stderr(np.array([[1.0]]))
    assert np.isnan(one[0])


def test_clean_study_gives_the_clean_grid_components(folder, mapping):
    spec = dataclasses.replace(study.open_study(folder), disorder=AndersonDisorder(0.0).to_dict())
    for index in (0, 2):
        res = study.compute_realization(spec, index)
        twist = res["metadata"]["twist"]
        clean = selfenergy.clean_grid_green(mapping, 16, [0.0, 1.0], eta=1.0, twist=twist)
        # No disorder: LU of the supercell vs the Bloch G at the same twisted k, round-off.
        np.testing.assert_allclose(res["components"]["g"], clean, rtol=0, atol=1e-8)


def test_status_says_whether_components_are_stored(folder, tmp_path, capsys):
    assert main(["lattice", "disorder", "--status", str(folder)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["components"] == {"eta_delta0": 1.0, "energies_delta0": [0.0, 1.0],
                                    "written": True}
    plain = study.StudySpec.from_json({**study.open_study(folder).to_json(), "components": None})
    assert "components" not in plain.to_json()  # existing studies keep their digest
    study.open_study(tmp_path / "plain", plain)
    assert main(["lattice", "disorder", "--status", str(tmp_path / "plain")]) == 0
    assert json.loads(capsys.readouterr().out)["components"] is None


def test_reader_refuses_a_study_without_components(folder, tmp_path):
    plain = study.StudySpec.from_json({**study.open_study(folder).to_json(), "components": None})
    study.open_study(tmp_path / "plain", plain)
    with pytest.raises(study.StudyError, match="did not store the valley components"):
        study.read_components(tmp_path / "plain")
    assert not (tmp_path / "plain" / study.COMPONENTS_FILE).exists()  # nothing recomputed
    unfinished = tmp_path / "unfinished"
    study.open_study(unfinished, study.open_study(folder))
    with pytest.raises(study.StudyError, match="0 of 3 realizations done"):
        study.read_components(unfinished)


@pytest.mark.parametrize(
    ("extra", "name", "text"),
    [(["--components", "1.2", "--component-energies", "0:1:2"], "components", "requested 1.2"),
     (["--components", "1.0", "--component-energies", "0:1:3"], "component-energies",
      "requested"),
     ([], "components", "pass the same --components")],
)
def test_resume_with_other_components_is_refused(folder, capsys, extra, name, text):
    before = snapshot(folder)
    assert main([*ARGS, *extra, "--output", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"error: {name}" in err and text in err
    assert snapshot(folder) == before


def test_components_are_not_added_to_a_study_without_them(folder, tmp_path, capsys):
    plain = study.StudySpec.from_json({**study.open_study(folder).to_json(), "components": None})
    out = tmp_path / "plain"
    study.open_study(out, plain)
    before = snapshot(out)
    assert main([*ARGS, *COMP, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error: components" in err and "run without components" in err
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("extra", "name"),
    [(["--components", "0"], "components"),
     (["--components", "-1"], "components"),
     (["--components", "nan"], "components"),
     (["--components", "inf"], "components"),
     # below the ξ spacing 0.90 Δ0 at L = 16
     (["--components", "0.5", "--component-energies", "0:1:2"], "components"),
     (["--components", "1", "--component-energies", "0:1:0"], "component-energies"),
     (["--components", "1", "--component-energies", "0,nan"], "component-energies"),
     (["--components", "1", "--component-energies", "0:5:3"], "component-energies"),  # > ξ_c
     (["--component-energies", "0:1:2"], "component-energies")],  # without --components
)
def test_bad_component_options_exit_2_and_write_nothing(tmp_path, capsys, extra, name):
    out = tmp_path / "never"
    assert main([*ARGS, *extra, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {name}" in err or f"--{name}" in err  # ours, or argparse's type check
    assert not out.exists()
