"""The compiled triangle-method pass against the NumPy reference; backend selection."""

import numpy as np
import pytest

from latticemirage import bulk, dos
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.errors import ParameterError

# Both backends integrate the same triangles exactly; they differ in H(k) by round-off
# (BLAS product against a compiled loop) and in the order of the sums. The difference
# arrays are summed by cumsum, whose cancellation sets the floor: measured at most
# 1.9e-13 of the maximum DOS over the cases below (2026-12-07).
TOL = 1e-12


def _blocks(fsyst, beta, field, delta):
    mapping = map_to_lattice(PhysicalParameters(beta=beta, field=field, delta=delta), fsyst=fsyst)
    return mapping, bulk.fourier_blocks(fsyst, mapping.params)


def _both(blocks, *args, **kwargs):
    out = {b: dos.triangle_dos(blocks, *args, backend=b, workers=1, **kwargs) for b in dos.BACKENDS}
    return out["numba"], out["numpy"]


def _assert_same(compiled, reference, same_followed=True):
    assert compiled.n_k == reference.n_k
    if same_followed:
        # The crossing test decides on the same numbers (up to round-off in H): same triangles.
        assert compiled.n_followed == reference.n_followed
    np.testing.assert_array_equal(compiled.edges, reference.edges)
    np.testing.assert_allclose(
        compiled.dos, reference.dos, rtol=0, atol=TOL * np.abs(reference.dos).max()
    )


# (β, B, Δ) in Δ0; window in Δ0; mesh (block side m = 3 at 1200, 2 at 810).
CASES = {
    "paper point, main window": ((7.0, 2.0, 1.0), (-0.8, 3.3), 1200),
    "paper point, mirage window": ((7.0, 2.0, 1.0), (5.0, 9.6), 1200),
    "B = 0: electron-hole crossings": ((7.0, 0.0, 1.0), (5.0, 9.6), 810),
    "normal state: crossings at E = 0": ((7.0, 2.0, 0.0), (-0.8, 3.3), 1200),
    "beta = 0: Zeeman-split BCS": ((0.0, 0.5, 1.0), (-3.0, 3.0), 810),
    "beta = B = 0: spin-degenerate bands": ((0.0, 0.0, 1.0), (-3.0, 3.0), 810),
}


@pytest.mark.parametrize("case", CASES)
def test_compiled_equals_numpy_reference(fsyst, case):
    (beta, field, delta), window, mesh = CASES[case]
    mapping, blocks = _blocks(fsyst, beta, field, delta)
    d0 = mapping.delta0
    compiled, reference = _both(blocks, mesh, (window[0] * d0, window[1] * d0), 700)
    # At β = B = 0 the bands are pairwise degenerate; the closed form splits such a pair by
    # the square root of round-off (~1e-8 E), so whether a pair counts as "degenerate at all
    # three corners" (left alone) depends on round-off in H. Following or not then only
    # exchanges values equal to ~1e-8: the DOS agrees, the count by 1 % (measured 0.3 %).
    degenerate = beta == 0 and field == 0
    _assert_same(compiled, reference, same_followed=not degenerate)
    if degenerate:
        assert compiled.n_followed == pytest.approx(reference.n_followed, rel=0.01)
    if beta > 0 and (field == 0 or delta == 0):
        assert reference.n_followed > 0  # the band-following branch is exercised


@pytest.mark.parametrize("disentangle", [True, False])
def test_compiled_equals_numpy_whole_zone(fsyst, paper, disentangle):
    blocks = bulk.fourier_blocks(fsyst, paper.params)
    compiled, reference = _both(
        blocks, 36, (-10.0, 10.0), 400, restrict=False, disentangle=disentangle
    )
    _assert_same(compiled, reference)
    # Sum rule: four BdG bands per cell, every triangle integrated exactly (round-off).
    assert (compiled.dos * compiled.width).sum() == pytest.approx(4.0, abs=1e-10)


def test_compiled_equals_numpy_without_band_prefilter(fsyst, paper):
    """A window narrower than H changes across a cell: the prefilter is off (band_filter)."""
    blocks = bulk.fourier_blocks(fsyst, paper.params)
    compiled, reference = _both(blocks, 60, (0.0, 0.01), 50, restrict=False)
    assert reference.dos.max() > 0
    _assert_same(compiled, reference)


def test_non_symmetric_spectrum_falls_back_to_lapack(fsyst, paper):
    """H + s·1 has tr H != 0: the closed form's check fails at every k and LAPACK is used.

    Its DOS is the DOS of H shifted by s, an independent check of the fallback.
    """
    blocks = bulk.fourier_blocks(fsyst, paper.params)
    d0 = paper.delta0
    n_bins, lo, hi = 500, -0.8 * d0, 3.3 * d0
    shift = 40 * (hi - lo) / n_bins  # a whole number of bins
    shifted = {**blocks, (0, 0): blocks[(0, 0)] + shift * np.eye(4)}
    plain = dos.triangle_dos(blocks, 810, (lo, hi), n_bins, workers=1)
    compiled, reference = _both(shifted, 810, (lo + shift, hi + shift), n_bins)
    _assert_same(compiled, reference)
    # Same triangles, energies moved by s: bin positions differ by round-off only
    # (measured 5e-13 of the maximum).
    np.testing.assert_allclose(compiled.dos, plain.dos, rtol=0, atol=2e-12 * plain.dos.max())


@pytest.mark.parametrize("window", [(-0.8, 3.3), (5.0, 9.6), (-40.0, -20.0)])
def test_compiled_screen_finds_the_same_blocks(fsyst, paper, window):
    blocks = bulk.fourier_blocks(fsyst, paper.params)
    d0 = paper.delta0
    m = dos.block_size(8000, 400)
    found = {
        b: dos.candidate_blocks(blocks, 8000, m, window[0] * d0, window[1] * d0, backend=b)
        for b in dos.BACKENDS
    }
    assert 0 < len(found["numpy"]) < (8000 // m) ** 2 / 10  # a shell, not the zone
    np.testing.assert_array_equal(found["numba"], found["numpy"])  # same bound, same order


def test_result_does_not_depend_on_the_thread_count(fsyst, paper, monkeypatch):
    monkeypatch.setattr(dos, "_NODES_PER_CHUNK", 4000)  # many chunks at a small mesh
    blocks = bulk.fourier_blocks(fsyst, paper.with_field(0.0).params)
    d0 = paper.delta0
    window = (5.0 * d0, 9.6 * d0)
    n_chunks = len(dos.candidate_blocks(blocks, 810, 2, *window)) / (4000 // 9)
    assert n_chunks > 6
    runs = [dos.triangle_dos(blocks, 810, window, 300, workers=w) for w in (1, 2, 3)]
    assert runs[0].n_followed > 0
    for other in runs[1:]:
        np.testing.assert_array_equal(other.dos, runs[0].dos)  # bitwise


def test_backend_selection(fsyst, paper, monkeypatch):
    blocks = bulk.fourier_blocks(fsyst, paper.params)
    args = (blocks, 200, (0.0, 0.01), 20)
    with pytest.raises(ParameterError, match=r"^backend:.*numba, numpy.*'fortran'"):
        dos.triangle_dos(*args, backend="fortran")
    monkeypatch.setenv(dos.BACKEND_ENV, "cuda")
    with pytest.raises(ParameterError, match=rf"^{dos.BACKEND_ENV}:.*'cuda'"):
        dos.triangle_dos(*args)
    with pytest.raises(ParameterError, match=rf"^{dos.BACKEND_ENV}:"):
        dos.requested_backend()
    monkeypatch.setenv(dos.BACKEND_ENV, "numpy")
    assert dos.backend_in_use() == "numpy"
    assert dos.backend_in_use("NumBa") == "numba"
    reference = dos.triangle_dos(*args)
    # Without numba: the NumPy reference, with a warning that says so.
    monkeypatch.delenv(dos.BACKEND_ENV)
    monkeypatch.setattr(dos, "_triangle_numba", None)
    monkeypatch.setattr(dos, "_IMPORT_ERROR", ImportError("No module named 'numba'"))
    with pytest.warns(dos.BackendWarning, match="NumPy reference"):
        fallback = dos.triangle_dos(*args)
    np.testing.assert_array_equal(fallback.dos, reference.dos)


def test_bad_backend_variable_is_refused_before_writing(tmp_path, capsys, monkeypatch):
    from mirage_cli.main import main

    monkeypatch.setenv(dos.BACKEND_ENV, "cuda")
    out = tmp_path / "never"
    assert main(["validate", "--quick", "--output", str(out)]) == 2
    assert dos.BACKEND_ENV in capsys.readouterr().err
    assert not out.exists()
