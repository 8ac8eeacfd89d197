"""``mirage lattice dos`` with the valley-resolved components: one reader for both sides."""

import numpy as np

from mirage_cli.main import main
from mirage_common.io import read_table

ARGS = ["--beta", "7", "--field", "2", "--delta", "1", "--eta", "0.05", "--mesh", "300",
        "--emin", "-9", "--emax", "9", "--n-energies", "181"]


def test_lattice_dos_has_the_columns_of_qc_dos(tmp_path):
    lat, qc = tmp_path / "lattice.csv", tmp_path / "qc.csv"
    assert main(["lattice", "dos", *ARGS, "--n-theta", "90", "--n-radial", "240",
                 "--output", str(lat)]) == 0
    assert main(["qc", "dos", "--beta", "7", "--field", "2", "--temperature", "0.1",
                 "--gamma", "0", "--eta", "0.05", "--delta", "1", "--emin", "-9", "--emax", "9",
                 "--points", "181", "--output", str(qc)]) == 0
    cols_lat, meta = read_table(lat)
    cols_qc, _ = read_table(qc)
    names = [n for n in cols_qc if n[:2] in ("g0", "gx", "gy", "gz", "f0", "fx", "fy", "fz")]
    assert len(names) == 32 and set(names) <= set(cols_lat)
    assert meta["components_n_theta"] == 90 and meta["gauge"].startswith("eq1")
    # Same physics under the same names: this coarse polar mesh (90 x 240) and E_F = 30 Δ0
    # give a mean deviation ~0.01 (test_lattice_green measures it at finer meshes).
    for name in ("g0_K_re", "f0_K_im", "fx_K_im", "fy_K_re", "fy_Kp_re"):
        assert np.abs(cols_lat[name] - cols_qc[name]).mean() < 0.03, name
    # Re g0 is the DOS of the valley; the triangle-method DOS is an independent estimate
    # (mesh 300 resolves it to ~10 % near the gap edges, so compare away from them).
    far = np.abs(cols_lat["energy"]) > 8.5
    np.testing.assert_allclose(cols_lat["g0_K_re"][far], cols_lat["dos"][far], atol=0.05)


def test_no_components_and_bad_input(tmp_path):
    out = tmp_path / "dos.csv"
    # The unbroadened triangle DOS (eta = 0) stays available without the components.
    assert main(["lattice", "dos", *ARGS, "--eta", "0", "--no-components",
                 "--output", str(out)]) == 0
    cols, _ = read_table(out)
    assert set(cols) == {"energy", "dos", "dos_normal"}
    for bad in (["--eta", "0"], ["--n-theta", "3"], ["--n-radial", "0"], ["--emax", "25"]):
        bad_out = tmp_path / "bad.csv"
        assert main(["lattice", "dos", *ARGS, *bad, "--output", str(bad_out)]) == 2, bad
        assert not bad_out.exists()
