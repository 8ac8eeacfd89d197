"""SCBA with intervalley disorder: Anderson's theorem, mirage gaps filling, convergence reports."""

import numpy as np
import pytest

from mirage_common.errors import ParameterError
from mirage_common.formulas import mirage_formula, mirage_gap
from quasiclassical.eilenberger import (
    SCBAConvergenceError,
    SCBAConvergenceWarning,
    SCBAOptions,
    _physical,
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
        res = solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma=1.0), maxiter=2,
                              fallback_maxiter=2)
    assert not res.success and not res.converged.all()
    assert np.all(res.residual[~res.converged] > 1e-10)
    with pytest.raises(SCBAConvergenceError, match="did not converge"):
        solve_real_axis(ENERGIES, 0.8, PAPER.replace(gamma=1.0), maxiter=2, fallback_maxiter=2,
                        on_failure="raise")


# Issue 10: at beta = 7, B = 2, Delta = 0.8, Gamma = 5, eta = 0 the Anderson iteration used to
# stall near eps = 0.273 and hand back a rejected iterate (DOS -0.003) as the answer.
STALL = QCParams(beta=7.0, field=2.0, gamma=5.0, eta=0.0)
STALL_ENERGIES = np.array([0.27, 0.273, 0.275])


@pytest.fixture(scope="module")
def stall_reference():
    """Plain iteration (no extrapolation, stays physical): ~1050 evaluations per energy here."""
    ref = solve_real_axis(STALL_ENERGIES, 0.8, STALL, acceleration="none", maxiter=3000)
    assert ref.success
    return ref


def test_stalling_case_converges_to_the_plain_iteration(stall_reference):
    grid = np.linspace(0.2, 0.35, 151)  # the grid that hit 0.273 and stalled
    res = solve_real_axis(grid, 0.8, STALL, on_failure="raise")
    # Zero inside the gap up to the positivity check's slack 1e-9 (seen: -1.2e-10 at 0.208,
    # where the SCBA tolerance 1e-10 on <g> is the limit).
    assert np.all(res.dos >= -1e-9)
    fast = res.dos[np.searchsorted(grid, STALL_ENERGIES - 1e-9)]
    # Plain iteration stops at tol = 1e-10 with contraction ~0.965 per step: its own error is
    # ~tol / (1 - 0.965) ~ 3e-9.
    np.testing.assert_allclose(fast, stall_reference.dos, atol=1e-8)


@pytest.mark.parametrize("maxiter", [5, 11, 14, 20, 26])
def test_unconverged_energies_carry_an_accepted_iterate(maxiter):
    """Stopped early (rejections happen from evaluation 12 on), never a rejected iterate."""
    with pytest.warns(SCBAConvergenceWarning, match="last accepted iterate"):
        res = solve_real_axis(STALL_ENERGIES, 0.8, STALL, maxiter=maxiter, fallback_maxiter=maxiter)
    assert not res.success
    assert np.all(_physical(np.moveaxis(res.g, 0, 1), 2))  # Herm(g tau_3) >= 0 at every valley
    assert np.all(res.dos >= -1e-9) and np.all(np.isfinite(res.residual))  # as above


@pytest.mark.parametrize("damping", [1.0, 0.5])
def test_plain_fallback_converges_after_the_anderson_budget(stall_reference, damping):
    """maxiter=5 Anderson steps, then damped plain mixing takes over and reaches the answer."""
    res = solve_real_axis(STALL_ENERGIES, 0.8, STALL, maxiter=5, fallback_maxiter=4000,
                          damping=damping, on_failure="raise")
    assert np.all(res.iterations > 5)
    np.testing.assert_allclose(res.dos, stall_reference.dos, atol=1e-8)  # as above


def test_damping_is_validated():
    with pytest.raises(ParameterError, match="damping"):
        solve_real_axis(STALL_ENERGIES, 0.8, STALL, damping=0)


def test_options_object_and_keywords_are_the_same_run():
    params = PAPER.replace(gamma=1.0)
    opts = SCBAOptions(tol=1e-12, history=3, fallback_maxiter=4000, damping=0.5)
    by_keywords = solve_real_axis(ENERGIES[::8], 0.8, params, tol=1e-12, history=3,
                                  fallback_maxiter=4000, damping=0.5)
    by_object = solve_real_axis(ENERGIES[::8], 0.8, params, options=opts)
    assert by_object.success
    np.testing.assert_array_equal(by_object.g, by_keywords.g)  # same run: bitwise equal
    assert by_object.nfev == by_keywords.nfev
    # A keyword overrides the field of the options object.
    overridden = solve_real_axis(ENERGIES[::8], 0.8, params, options=opts, tol=1e-10)
    plain = solve_real_axis(ENERGIES[::8], 0.8, params, tol=1e-10, history=3,
                            fallback_maxiter=4000, damping=0.5)
    np.testing.assert_array_equal(overridden.g, plain.g)  # same run: bitwise equal
    assert overridden.nfev == plain.nfev < by_object.nfev  # looser tolerance: fewer steps


@pytest.mark.parametrize(("field", "value"), [
    ("tol", 0.0), ("maxiter", 0), ("maxiter", 2.5), ("history", -1), ("fallback_maxiter", 0),
    ("damping", 1.5), ("acceleration", "broyden"), ("on_failure", "ignore"),
    ("sign_method", "eig"),
])
def test_options_out_of_range_name_the_field(field, value):
    with pytest.raises(ParameterError, match=f"^{field}: "):
        SCBAOptions(**{field: value})
    with pytest.raises(ParameterError, match=f"^{field}: "):
        solve_real_axis(ENERGIES[:3], 0.8, PAPER, **{field: value})


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match=r"unexpected SCBA option.*tolerance"):
        solve_real_axis(ENERGIES[:3], 0.8, PAPER, tolerance=1e-8)
