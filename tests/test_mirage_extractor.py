"""mirage_common.formulas.mirage_gap: finds mirage gaps in clean, broadened and noisy DOS curves."""

import numpy as np
import pytest

from mirage_common.formulas import mirage_formula, mirage_gap
from quasiclassical.eilenberger import solve_real_axis
from quasiclassical.params import QCParams

DELTA = 0.8
PAPER = QCParams(beta=7.0, field=2.0, temperature=0.1, eta=0.01)
FORMULA = mirage_formula(PAPER.beta, PAPER.field, DELTA)


def qc_dos(energies, **changes):
    return solve_real_axis(energies, DELTA, PAPER.replace(**changes)).dos


def lorentzian(x, x0, width):
    return width**2 / ((x - x0) ** 2 + width**2)


def test_synthetic_curve_with_known_edges():
    """Flat background 1, a dip to 0.4 between peaks at 3 and 3.6 (and mirrored), main gap at 0."""
    x = np.linspace(-6, 6, 2401)
    dos = 1 - np.exp(-(x**2) / 0.5)  # main gap
    for sign in (1, -1):
        inside = (sign * x > 3) & (sign * x < 3.6)
        peaks = lorentzian(x, sign * 3, 0.02) + lorentzian(x, sign * 3.6, 0.02)
        dos = dos - 0.6 * inside + 0.8 * peaks
    gap = mirage_gap(x, dos)
    spacing = x[1] - x[0]
    # Each edge is a step plus a peak, so its position is defined to a grid interval or two.
    assert gap.positive.lower == pytest.approx(3.0, abs=2 * spacing)
    assert gap.positive.upper == pytest.approx(3.6, abs=2 * spacing)
    assert gap.negative.centre == pytest.approx(-3.3, abs=2 * spacing)
    assert gap.negative.width == pytest.approx(0.6, abs=2 * spacing)
    assert gap.positive.depth == pytest.approx(0.6, abs=0.05)  # median inside 0.4 + peak tails


def test_quasiclassical_dos():
    energies = np.linspace(-10, 10, 4001)
    gap = mirage_gap(energies, qc_dos(energies))
    # Grid spacing 5e-3 plus the Dynes shift of the coherence peaks (~eta = 0.01).
    tol = 0.015
    assert gap.positive.centre == pytest.approx(float(FORMULA.eps0), abs=tol)
    assert gap.positive.width == pytest.approx(float(FORMULA.width), abs=2 * tol)
    assert gap.negative.centre == pytest.approx(-gap.positive.centre, abs=1e-9)  # e -> -e symmetry
    assert gap.positive.depth == pytest.approx(0.5, abs=0.05)  # DOS 1/2 inside against ~1 outside
    # Ordering does not matter.
    rng = np.random.default_rng(11)
    perm = rng.permutation(energies.size)
    assert mirage_gap(energies[perm], qc_dos(energies)[perm]) == gap


def test_lattice_like_curve_broadened_noisy_and_sloped():
    """Like the lattice side's: Gaussian-broadened (KPM-like), noisy, on a sloped band DOS."""
    energies = np.linspace(-10, 10, 4001)
    spacing = energies[1] - energies[0]
    dos = qc_dos(energies, eta=0.002)
    sigma = 0.05  # broadening, Delta0
    kernel = np.exp(-0.5 * (np.arange(-60, 61) * spacing / sigma) ** 2)
    broadened = np.convolve(dos, kernel / kernel.sum(), mode="same")
    rng = np.random.default_rng(np.random.SeedSequence(2021))
    noisy = broadened * (1 + 0.03 * energies / 10) + rng.normal(0, 0.01, energies.size)
    gap = mirage_gap(energies, noisy, prominence=0.08, window=(3, 10))
    # Broadening shifts the peaks outwards by ~sigma; noise of 1 % moves them by a few points.
    assert gap.positive.centre == pytest.approx(float(FORMULA.eps0), abs=sigma)
    assert gap.negative.centre == pytest.approx(-float(FORMULA.eps0), abs=sigma)
    assert gap.positive.width == pytest.approx(float(FORMULA.width), abs=3 * sigma)


def test_no_field_no_mirage_gap():
    energies = np.linspace(-10, 10, 2001)
    with pytest.raises(ValueError, match="no mirage gap resolved on the positive-energy side"):
        mirage_gap(energies, qc_dos(energies, field=0.0))


def test_filled_mirage_gap_is_not_resolved():
    energies = np.linspace(-10, 10, 2001)
    with pytest.raises(ValueError, match="no mirage gap resolved"):
        mirage_gap(energies, qc_dos(energies, gamma=2.0))


def test_too_coarse_grid_is_not_resolved():
    """Spacing 0.25 > the width 0.46: no points inside the gap."""
    energies = np.linspace(-10, 10, 81)
    with pytest.raises(ValueError, match="no mirage gap resolved"):
        mirage_gap(energies, qc_dos(energies))


def test_malformed_input():
    x = np.linspace(-1, 1, 11)
    with pytest.raises(ValueError, match="equal length"):
        mirage_gap(x, x[:-1])
    with pytest.raises(ValueError, match="must be real"):
        mirage_gap(x, x + 1j)
    with pytest.raises(ValueError, match="finite"):
        mirage_gap(x, np.full(11, np.nan))
    with pytest.raises(ValueError, match="window"):
        mirage_gap(x, x, window=(2, 1))
