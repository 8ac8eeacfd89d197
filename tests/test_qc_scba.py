"""SCBA with intervalley disorder: Anderson's theorem, mirage gaps filling, convergence reports."""

import numpy as np
import pytest

from mirage_common.mirage import mirage_formula, mirage_gap
from quasiclassical.eilenberger import (
    SCBAConvergenceError,
    SCBAConvergenceWarning,
    solve_real_axis,
)
from quasiclassical.params import FermiSurface, QCParams

PAPER = QCParams(beta=7.0, field=2.0, temperature=0.1, eta=0.01)
ENERGIES = np.linspace(-10, 10, 801)
# The SCBA tolerance is 1e-10 on <g>; near coherence peaks (|g| ~ 1/sqrt(eta)) the DOS
# inherits it amplified by up to ~100.
TOL_SCBA = 1e-8


def test_intravalley_scattering_alone_leaves_the_dos_unchanged():
    """Anderson's theorem: the intravalley self-energy commutes with g_s and drops out."""
    clean = solve_real_axis(ENERGIES, 0.8, PAPER)
    intra = solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma_intra=1.5))
    assert intra.success and intra.iterations.max() > 1  # it was really iterated
    np.testing.assert_allclose(intra.dos, clean.dos, atol=TOL_SCBA)
    # ... also on top of intervalley scattering.
    inter = solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma=0.4))
    both = solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma=0.4, gamma_intra=1.5))
    np.testing.assert_allclose(both.dos, inter.dos, atol=TOL_SCBA)
    assert np.max(np.abs(inter.dos - clean.dos)) > 0.1  # while intervalley scattering acts


def test_intravalley_scattering_acts_on_a_warped_fermi_surface():
    """With several betas per valley the intravalley average mixes them: no longer invisible."""
    fs = FermiSurface(betas=[6.0, 8.0, -6.0, -8.0])
    plain = solve_real_axis(ENERGIES, 0.8, PAPER, fermi_surface=fs)
    intra = solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma_intra=1.0), fermi_surface=fs)
    assert np.max(np.abs(intra.dos - plain.dos)) > 0.05


def test_intervalley_scattering_does_nothing_without_field():
    """B = 0: both valleys have the BCS g (beta only shifts eigenvalues), Sigma commutes with it."""
    params = QCParams(beta=7.0, eta=0.01)
    clean = solve_real_axis(ENERGIES, 1.0, params)
    dirty = solve_real_axis(ENERGIES, 1.0, params.replace(gamma=2.0))
    np.testing.assert_allclose(dirty.dos, clean.dos, atol=TOL_SCBA)


def test_normal_state_dos_is_flat_for_any_disorder():
    """Delta = 0: g = tau_3 solves the SCBA (Sigma = -i Gamma tau_3 = -i tau_3 / 2 tau), N = 1."""
    res = solve_real_axis(ENERGIES, 0.0, PAPER.replace(gamma=1.0))
    tau3 = np.broadcast_to(np.diag([1, 1, -1, -1]), res.average.shape)
    np.testing.assert_allclose(res.average, tau3, atol=1e-12)  # exact fixed point, one step


def test_mirage_gap_fills_as_gamma_grows():
    delta = 0.8
    formula = mirage_formula(PAPER.beta, PAPER.field, delta)
    energies = np.linspace(5, 10, 1001)
    at_centre, depths = [], []
    for gamma in (0.0, 0.2, 0.4, 1.0, 2.0):
        res = solve_real_axis(energies, delta, PAPER.replace(gamma=gamma))
        inside = np.abs(energies - formula.eps0) < 0.5 * formula.width
        at_centre.append(res.dos[inside].min())
        try:
            depths.append(mirage_gap(np.concatenate([-energies, energies]),
                                     np.concatenate([res.dos, res.dos])).positive.depth)
        except ValueError:
            depths.append(0.0)  # filled: not resolved any more
    assert np.all(np.diff(at_centre) > 0), at_centre
    # Clean: half the normal DOS, plus the Dynes leakage of the gapped band (half of
    # eta/(width/2)) and the other band's excess (Delta/2beta)^2.
    leak = PAPER.eta / float(formula.width) + (delta / (2 * PAPER.beta)) ** 2
    assert 0.5 < at_centre[0] < 0.5 + 1.1 * leak
    assert at_centre[-1] > 0.95  # Gamma = 2 Delta0: almost filled (paper, Fig. 2)
    assert np.all(np.diff(depths) <= 0) and depths[0] > 0.45 and depths[-1] < 0.05


def test_result_reports_convergence_per_energy():
    tol = 1e-10
    res = solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma=1.0), tol=tol)
    assert res.success and res.converged.all()
    assert res.message == "SCBA converged at all energies"
    assert res.residual.shape == ENERGIES.shape and np.all(res.residual <= tol)
    assert np.all(res.iterations >= 2)
    # Cost (SciPy-style check): Anderson mixing needs few evaluations per energy.
    assert res.nfev / (2 * ENERGIES.size) < 20


def test_anderson_mixing_agrees_with_plain_iteration():
    params = PAPER.replace(gamma=2.0)
    fast = solve_real_axis(ENERGIES, 0.75, params, tol=1e-12)
    slow = solve_real_axis(ENERGIES, 0.75, params, tol=1e-12, acceleration="none", maxiter=5000)
    assert slow.success and fast.success
    # Both converged to 1e-12; the plain iteration's error is tol/(1 - contraction) ~ 1e-10.
    np.testing.assert_allclose(fast.average, slow.average, atol=1e-8)
    assert fast.nfev < slow.nfev / 3


def test_unconverged_energies_are_named():
    with pytest.warns(SCBAConvergenceWarning, match=r"did not converge .* at \d+ energies: \["):
        res = solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma=1.0), maxiter=2)
    assert not res.success and not res.converged.all()
    assert np.all(res.residual[~res.converged] > 1e-10)
    with pytest.raises(SCBAConvergenceError, match="did not converge"):
        solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma=1.0), maxiter=2, on_failure="raise")
