"""Result files: round trip in every format, metadata beside the data, atomic writes."""

import numpy as np
import pytest

from mirage_common.errors import ParameterError
from mirage_common.io import read_table, write_table
from mirage_common.version import __version__


@pytest.mark.parametrize("ext", [".csv", ".json", ".npz"])
def test_round_trip_keeps_columns_and_metadata(tmp_path, ext):
    energy = np.linspace(-1, 1, 7)
    g0 = np.exp(1j * energy)
    path = tmp_path / f"out{ext}"
    write_table(path, {"energy": energy, "g0": g0}, {"beta": 7.0, "delta": np.float64(0.9)})
    cols, meta = read_table(path)
    assert meta["version"] == __version__
    assert meta["beta"] == 7.0 and meta["delta"] == 0.9
    # CSV keeps 12 significant digits; JSON and NPZ are exact.
    tol = 1e-11 if ext == ".csv" else 0
    np.testing.assert_allclose(cols["energy"], energy, atol=tol)
    if ext == ".npz":
        np.testing.assert_allclose(cols["g0"], g0, atol=tol)
    else:
        np.testing.assert_allclose(cols["g0_re"] + 1j * cols["g0_im"], g0, atol=tol)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_unknown_extension_is_refused_before_writing(tmp_path):
    with pytest.raises(ParameterError, match=r"output: unknown extension '\.txt'"):
        write_table(tmp_path / "out.txt", {"energy": [0.0]})
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "out.csv"
    write_table(path, {"energy": [1.0, 2.0]})
    before = path.read_bytes()
    with pytest.raises(ValueError, match="different lengths"):
        write_table(path, {"energy": [1.0], "dos": [1.0, 2.0]})
    assert path.read_bytes() == before
