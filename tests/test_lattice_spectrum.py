"""BdG spectra along the high-symmetry path and across p_F (Fig. 1(b))."""

import numpy as np
import pytest

from latticemirage import bulk, model, spectrum
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.errors import ParameterError


@pytest.fixture(scope="module")
def fsyst():
    return bulk.wrapped_system()


@pytest.fixture(scope="module")
def paper(fsyst):
    return map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0), fsyst=fsyst)


def test_high_symmetry_points():
    pts = spectrum.HIGH_SYMMETRY_POINTS
    recip = bulk.reciprocal_vectors()
    # K and K' are zone corners at |k| = 4π/3, M the edge midpoint at 2π/√3; K' ≡ −K mod G.
    assert np.linalg.norm(pts["K"]) == pytest.approx(4 * np.pi / 3)
    assert np.linalg.norm(pts["K'"]) == pytest.approx(4 * np.pi / 3)
    assert np.linalg.norm(pts["M"]) == pytest.approx(2 * np.pi / np.sqrt(3))
    frac = np.linalg.solve(recip.T, pts["K'"] - model.VALLEY_KP)
    np.testing.assert_allclose(frac, np.round(frac), atol=1e-12)


def test_band_path(fsyst, paper):
    blocks = bulk.fourier_blocks(fsyst, paper.params)
    path = spectrum.band_path(blocks, n_points=401)
    assert path.labels == ("Γ", "K", "M", "K'", "Γ")
    assert path.energies.shape == (401, 4)
    i_k = np.argmin(np.abs(path.distance - path.ticks[1]))
    np.testing.assert_allclose(path.k[i_k], model.VALLEY_K, atol=0.05)
    # BdG spectrum of this model is symmetric at every k (xi even, beta odd in k).
    np.testing.assert_allclose(path.energies, -path.energies[:, ::-1], atol=1e-12)
    # Band bottom at Γ (β = 0 there): xi = −6t − mu, Zeeman-split by ±B; Δ shifts it by
    # Δ²/(2|xi|) ~ 1e-6 t.
    b_t = paper.params["B"]
    assert np.abs(path.energies).max() == pytest.approx(6 + paper.mu + b_t, abs=1e-5)


def test_fermi_zoom_reproduces_fig1b(fsyst, paper):
    zoom = spectrum.fermi_zoom(paper, n_points=801, fsyst=fsyst)
    centre = np.argmin(np.abs(zoom.dp))
    assert zoom.dp[centre] == pytest.approx(0.0, abs=1e-12)
    # At xi_p = 0 the four energies are ±eps1, ±eps2 of the local β(k_F) (paper's text).
    np.testing.assert_allclose(
        zoom.energies[centre], [-zoom.eps1, -zoom.eps2, zoom.eps2, zoom.eps1], atol=1e-9
    )
    assert zoom.xi[centre] == pytest.approx(0.0, abs=1e-9)
    # The mirage gap at p_F is the minimum distance between the two positive bands.
    upper = zoom.energies[:, 3] - zoom.energies[:, 2]
    assert upper.min() == pytest.approx(zoom.width, abs=1e-6)
    # The main gap: the smallest |E| sits near xi = ±sqrt(β² + B²) and is about Δ
    # (within the Zeeman/Ising reduction, < 5 % here).
    low = zoom.energies[:, 2]
    assert low.min() == pytest.approx(1.0, rel=0.05)
    assert abs(abs(zoom.xi[np.argmin(low)]) - np.hypot(zoom.beta_fermi, 2.0)) < 0.5


def test_fermi_zoom_bad_input(paper):
    with pytest.raises(ParameterError, match=r"^n_points:"):
        spectrum.fermi_zoom(paper, n_points=1)
    with pytest.raises(ParameterError, match=r"^span:"):
        spectrum.fermi_zoom(paper, span=-1.0)
