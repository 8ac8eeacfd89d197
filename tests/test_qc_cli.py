"""``mirage qc``: the three subcommands, the file formats, bad input (exit 2, nothing written)."""

import numpy as np
import pytest

from comparisons.cli import main
from mirage_common.io import read_table
from quasiclassical.gap import solve_gap
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
    cols, _ = read_table(out)
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
