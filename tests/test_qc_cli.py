"""``mirage qc``: the three subcommands, the file formats, bad input (exit 2, nothing written)."""

import numpy as np
import pytest

from mirage_cli.main import main
from mirage_cli.qc import EXIT_NOT_CONVERGED
from mirage_common.io import read_table
from quasiclassical.eilenberger import SCBAConvergenceWarning
from quasiclassical.gap import solve_gap
from quasiclassical.observables import density_of_states, energy_resolution_problem
from quasiclassical.params import QCParams

DOS_ARGS = ["qc", "dos", "--beta", "7", "--field", "2", "--temperature", "0.1", "--gamma", "0",
            "--eta", "0.01", "--emin", "-10", "--emax", "10", "--points", "801"]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
def test_dos_writes_columns_and_metadata(tmp_path, suffix):
    out = tmp_path / f"dos{suffix}"
    assert main([*DOS_ARGS, "--output", str(out)]) == 0
    cols, meta = read_table(out)
    assert meta["parameters"]["beta"] == 7.0 and meta["delta_source"] == "self-consistent"
    # The solved gap is the library's.
    solved = solve_gap(QCParams(beta=7, field=2, temperature=0.1)).delta
    assert meta["delta"] == pytest.approx(solved, abs=1e-12)
    assert meta["scba"]["success"] and "Eq. (1)" in meta["gauge"]
    assert cols["energy"].shape == (801,) and np.all(cols["dos"] >= 0)
    for valley in ("K", "Kp"):
        for comp in ("g0", "gx", "gy", "gz", "f0", "fx", "fy", "fz"):
            key = f"{comp}_{valley}"
            if suffix == ".npz":
                assert np.iscomplexobj(cols[key])
            else:
                assert f"{key}_re" in cols and f"{key}_im" in cols
    re = cols["g0_K"].real if suffix == ".npz" else cols["g0_K_re"]
    np.testing.assert_allclose(cols["dos"], re, atol=1e-9)  # two valleys have the same g0
    assert meta["mirage_formula"]["eps0"] == pytest.approx(7.32, abs=0.01)


def test_dos_with_fixed_delta_and_disorder(tmp_path):
    out = tmp_path / "dos.csv"
    args = [*DOS_ARGS, "--delta", "0.8", "--output", str(out)]
    args[args.index("--gamma") + 1] = "0.4"
    assert main(args) == 0
    cols, meta = read_table(out)
    assert meta["delta"] == 0.8 and meta["delta_source"].startswith("fixed")
    assert meta["scba"]["max_iterations"] > 1 and np.all(cols["scba_converged"] == 1)


def test_gap_table(tmp_path):
    out = tmp_path / "gap.csv"
    assert main(["qc", "gap", "--beta", "7", "--field", "0:6:4", "--temperature", "0.1",
                 "--gamma", "0", "--output", str(out)]) == 0
    cols, _ = read_table(out)
    np.testing.assert_allclose(cols["field"], [0, 2, 4, 6])
    assert np.all(np.diff(cols["delta"]) < 0) and cols["delta"][0] == pytest.approx(1.0, abs=1e-6)
    assert np.all(cols["free_energy"] < 0)


def test_bc2_table(tmp_path):
    out = tmp_path / "bc2.json"
    args = ["qc", "bc2", "--beta", "0", "--temperature", "0.5:0.9:2", "--output", str(out)]
    assert main(args) == 0
    cols, meta = read_table(out)
    assert "FFLO" in meta["assumption"] and "uniform state" in meta["pauli_limit_note"]
    np.testing.assert_array_equal(cols["first_order"], [1.0, 0.0])  # Pauli: tricritical at 0.56
    assert cols["bc2"][0] > cols["bc2"][1] > 0


@pytest.mark.parametrize(
    ("change", "name"),
    [
        (("--temperature", "-0.1"), "temperature"),
        (("--gamma", "-1"), "gamma"),
        (("--eta", "-0.01"), "eta"),
        (("--beta", "-7"), "beta"),
        (("--field", "nan"), "field"),
        (("--beta", "inf"), "beta"),
        (("--eta", "0"), "eta"),  # with gamma = 0 on the real axis
        (("--points", "41"), "points"),  # spacing 0.5 > width/4 of the mirage gap
        (("--points", "1"), "points"),
        (("--emax", "-20"), "emax"),
        (("--delta", "-1"), "delta"),
        (("--temperature", "0.1:0.2:3"), "temperature"),  # a range where one value belongs
    ],
)
def test_dos_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, change, name):
    out = tmp_path / "dos.csv"
    args = [*DOS_ARGS, "--output", str(out)]
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += list(change)
    assert main(args) == 2
    assert f"mirage: error: {name}: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["gap", "--beta", "7", "--field", "0:6", "--temperature", "0.1"], "field"),
        (["gap", "--beta", "7", "--field", "a:b:c", "--temperature", "0.1"], "field"),
        (["gap", "--beta", "7", "--field", "0:6:0", "--temperature", "0.1"], "field"),
        (["gap", "--beta", "7", "--field=-1:6:3", "--temperature", "0.1"], "field"),
        (["gap", "--beta", "7", "--field", "0:6:3", "--temperature", "0"], "temperature"),
        (["bc2", "--beta", "7", "--temperature", "0:1:3"], "temperature"),
        (["bc2", "--beta", "7", "--temperature", "0.1:1:3", "--gamma", "nan"], "gamma"),
    ],
)
def test_table_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, name):
    assert main(["qc", *args, "--output", str(tmp_path / "t.csv")]) == 2
    assert f"mirage: error: {name}: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_output_format(tmp_path, capsys):
    assert main([*DOS_ARGS, "--output", str(tmp_path / "dos.txt")]) == 2
    assert "output: unknown extension" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# Issue 10, item 1: the SCBA case that used to stall, as a user runs it (no --temperature:
# with --delta the retarded DOS does not depend on it).
STALL_ARGS = ["qc", "dos", "--beta", "7", "--field", "2", "--delta", "0.8", "--gamma", "5",
              "--eta", "0", "--emin", "0.2", "--emax", "0.35", "--points", "151"]


def test_dos_stalling_case_converges_without_temperature(tmp_path):
    out = tmp_path / "dos.json"
    assert main([*STALL_ARGS, "--output", str(out)]) == 0
    cols, meta = read_table(out)
    assert meta["scba"]["success"] and meta["parameters"]["temperature"] is None
    assert np.all(cols["scba_converged"] == 1)
    # Was -0.003 (a rejected iterate); plain iteration gives 0.5376 (tests/test_qc_scba.py).
    at = int(np.argmin(np.abs(cols["energy"] - 0.273)))
    assert cols["dos"][at] == pytest.approx(0.53761761, abs=1e-6)  # plain-iteration value


def test_dos_unconverged_energies_are_nan_and_exit_3(tmp_path, capsys, monkeypatch):
    import mirage_cli.qc as qc_cli

    def starved(*args, **kwargs):  # an iteration budget too small to converge anywhere
        return density_of_states(*args, maxiter=3, fallback_maxiter=3, **kwargs)

    monkeypatch.setattr(qc_cli, "density_of_states", starved)
    out = tmp_path / "dos.csv"
    with pytest.warns(SCBAConvergenceWarning):
        assert main([*STALL_ARGS, "--output", str(out)]) == EXIT_NOT_CONVERGED
    assert "did not converge" in capsys.readouterr().err
    cols, meta = read_table(out)
    bad = cols["scba_converged"] == 0
    assert bad.any() and meta["scba"]["unconverged"] == bad.sum()
    assert np.all(np.isnan(cols["dos"][bad])) and np.all(np.isnan(cols["fx_K_re"][bad]))
    assert np.all(np.isfinite(cols["dos"][~bad]))


def test_dos_needs_temperature_only_to_solve_the_gap(tmp_path, capsys):
    args = [a for a in DOS_ARGS if a not in ("--temperature", "0.1")]
    assert main([*args, "--output", str(tmp_path / "d.csv")]) == 2
    assert "mirage: error: temperature: is required unless --delta" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_resolution_guard_uses_the_broadened_width():
    grid = np.linspace(-12, 12, 4001)  # the default grid, spacing 0.006
    # B = 0.05: width <= 0.0141 (Delta <= 1) is washed out by eta = 0.01 (2 eta = 0.02).
    assert energy_resolution_problem(grid, 7, 0.05, 1.0, eta=0.01) is None
    assert "too coarse" in energy_resolution_problem(grid, 7, 0.05, 1.0, eta=0.001)
    # B = 2, Delta = 0.8: width 0.437, resolved on 4001 points, not on 41.
    assert energy_resolution_problem(grid, 7, 2, 0.8, eta=0.01) is None
    coarse = np.linspace(-10, 10, 41)
    assert energy_resolution_problem(coarse, 7, 2, 0.8, eta=0.01) is not None
    # ... unless Gamma fills the dip: Gamma = 0.25 > width / 2.
    assert energy_resolution_problem(coarse, 7, 2, 0.8, eta=0.01, gamma=0.25) is None


def test_resolution_is_checked_before_the_gap_is_solved(tmp_path, capsys, monkeypatch):
    import mirage_cli.qc as qc_cli

    def forbidden(*args, **kwargs):
        raise AssertionError("the gap was solved before the inputs were checked")

    monkeypatch.setattr(qc_cli, "solve_gap", forbidden)
    args = [*DOS_ARGS, "--eta", "0.001", "--field", "0.05", "--output", str(tmp_path / "d.csv")]
    args[args.index("--points") + 1] = "4001"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "mirage: error: points: energy spacing" in err and "--allow-unresolved" in err
    assert list(tmp_path.iterdir()) == []


def test_allow_unresolved_runs_and_warns(tmp_path, capsys):
    args = [*STALL_ARGS, "--output", str(tmp_path / "d.csv")]
    args[args.index("--gamma") + 1] = "0"
    args[args.index("--eta") + 1] = "0.01"
    args[args.index("--emin") + 1] = "6"
    args[args.index("--emax") + 1] = "9"
    args[args.index("--points") + 1] = "5"  # spacing 0.75 across a 0.437-wide gap
    assert main(args) == 2
    assert main([*args, "--allow-unresolved"]) == 0
    assert "warning: energy spacing" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("swept", "values", "fixed"),
    [("gamma", "0:1:2", ["--field", "2", "--temperature", "0.1"]),
     ("temperature", "0.1:0.6:2", ["--field", "2", "--gamma", "0"])],
)
def test_gap_sweeps_gamma_or_temperature(tmp_path, swept, values, fixed):
    out = tmp_path / "gap.json"
    assert main(["qc", "gap", "--beta", "7", *fixed, f"--{swept}", values,
                 "--output", str(out)]) == 0
    cols, meta = read_table(out)
    assert meta["swept"] == swept and "FFLO" in meta["assumption"]
    assert cols[swept].shape == (2,) and np.all(cols["field"] == 2)
    # Both pair-break under the field: intervalley scattering (Gamma) and temperature.
    assert cols["delta"][0] > cols["delta"][1] > 0
    direct = solve_gap(QCParams(beta=7, field=2, temperature=cols["temperature"][1],
                                gamma=cols["gamma"][1])).delta
    assert cols["delta"][1] == pytest.approx(direct, abs=1e-12)


def test_gap_refuses_two_ranges(tmp_path, capsys):
    args = ["qc", "gap", "--beta", "7", "--field", "0:2:3", "--temperature", "0.1",
            "--gamma", "0:1:2", "--output", str(tmp_path / "g.csv")]
    assert main(args) == 2
    assert "mirage: error: gamma: only one of --field, --temperature, --gamma" in \
        capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
