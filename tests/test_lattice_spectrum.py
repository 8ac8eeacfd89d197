"""BdG spectra along the high-symmetry path and across p_F (Fig. 1(b))."""

import numpy as np
import pytest

from latticemirage import bulk, model, spectrum
from mirage_common.errors import ParameterError


def test_high_symmetry_points():
    pts = spectrum.HIGH_SYMMETRY_POINTS
    recip = bulk.reciprocal_vectors()
    # K and K' are zone corners at |k| = 4π/3, M the edge midpoint at 2π/√3; K' ≡ −K mod G.
    # (Default pytest.approx / 1e-12: exact geometry up to round-off.)
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
    np.testing.assert_allclose(path.k[i_k], model.VALLEY_K, atol=0.05)  # path step ~0.04/a
    # BdG spectrum of this model is symmetric at every k (xi even, beta odd in k).
    np.testing.assert_allclose(path.energies, -path.energies[:, ::-1], atol=1e-12)
    # Band bottom at Γ (β = 0 there): xi = −6t − mu, Zeeman-split by ±B; Δ shifts it by
    # Δ²/(2|xi|) ~ 1e-6 t.
    b_t = paper.params["B"]
    assert np.abs(path.energies).max() == pytest.approx(6 + paper.mu + b_t, abs=1e-5)


def test_fermi_zoom_reproduces_fig1b(fsyst, paper):
    zoom = spectrum.fermi_zoom(paper, n_points=801, fsyst=fsyst)
    centre = np.argmin(np.abs(zoom.dp))
    assert zoom.dp[centre] == pytest.approx(0.0, abs=1e-12)  # symmetric linspace: round-off
    # At xi_p = 0 the four energies are ±eps1, ±eps2 of the local β(k_F) (paper's text);
    # k_F by bisection, energies O(10 Δ0): round-off.
    np.testing.assert_allclose(
        zoom.energies[centre], [-zoom.eps1, -zoom.eps2, zoom.eps2, zoom.eps1], atol=1e-9
    )
    assert zoom.xi[centre] == pytest.approx(0.0, abs=1e-9)  # k_F by bisection to ~1e-16/a
    # The mirage gap at p_F is the minimum distance between the two positive bands; the
    # grid has a point at p_F exactly, so only round-off remains.
    upper = zoom.energies[:, 3] - zoom.energies[:, 2]
    assert upper.min() == pytest.approx(zoom.width, abs=1e-9)
    # Main gap: minimizing E_-^2 = xi² + s + Δ² − 2 sqrt(xi² s + B²Δ²), s = β² + B², over xi
    # gives E_min = Δ β / sqrt(s) at xi² = s − B²Δ²/s.
    s = zoom.beta_fermi**2 + 4.0
    low = zoom.energies[:, 2]
    # β(k) along the ray changes by ~1 % between k_F and xi ≈ −7.3 Δ0 (β(K+p) ≈ β_K(1 − p²/4)),
    # which moves E_min by ~1e-3 and the crossing by ~0.1 Δ0; grid step 0.03 Δ0 in xi.
    assert low.min() == pytest.approx(zoom.beta_fermi / np.sqrt(s), abs=3e-3)
    assert abs(zoom.xi[np.argmin(low)]) == pytest.approx(np.sqrt(s - 4.0 / s), abs=0.15)


def test_fermi_zoom_bad_input(paper):
    with pytest.raises(ParameterError, match=r"^n_points:"):
        spectrum.fermi_zoom(paper, n_points=1)
    with pytest.raises(ParameterError, match=r"^span:"):
        spectrum.fermi_zoom(paper, span=-1.0)
