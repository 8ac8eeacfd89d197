"""Self-consistent T-matrix for point impurities: Born and unitary limits, normal state."""

import numpy as np
import pytest

from mirage_common.errors import ParameterError
from quasiclassical import (
    FermiSurface,
    QCParams,
    TMatrixImpurities,
    density_of_states,
    solve_gap,
    solve_matsubara,
    solve_real_axis,
    tmatrix_self_energy,
)
from quasiclassical.eilenberger import bare_matrix

TAU3 = np.diag([1.0, 1.0, -1.0, -1.0]).astype(complex)
# The validate point of the disorder stage: beta = 3, B = 1 Delta0, T = 0.1 T_c0.
POINT = QCParams(beta=3.0, field=1.0, temperature=0.1)
GAMMA_BORN = 1.0
ENERGIES = np.linspace(-3.0, 3.0, 61)
DELTA = 0.8
TOL = 1e-12  # SCBA tolerance used below: differences of order u^2 ~ 1e-5 are far above it


def _x(average):
    """x = Tr<g>^2 / 4 (the scalar <g>^2 of the two-valley model)."""
    return 0.25 * np.trace(average @ average, axis1=-2, axis2=-1)


def _full_tmatrix_sigma(g, fs, concentration, potential, n0, backgrounds, delta0):
    """Eilenberger self-energy of each valley from the 8x8 valley x Nambu x spin T-matrix.

    Independent of `quasiclassical.tmatrix`: G_s = pi N0 (-i sum_{j in s} w_j g_j + w_s R_s) tau3
    (1/t), v = V J x tau3, t = (1 - v G)^{-1} v by a linear solve, Sigma_s = tau3 n_i t_ss.
    Returns (sigma of shape (2, n, 4, 4) in Delta0, the 8x8 t of shape (n, 8, 8)).
    """
    n = g.shape[1]
    g_blocks = np.zeros((n, 8, 8), complex)
    for k, s in enumerate((1, -1)):
        mask = fs.valleys == s
        summed = np.tensordot(fs.weights[mask], g[mask], axes=1)
        local = np.pi * n0 * (-1j * summed + fs.weights[mask].sum() * backgrounds[k] * np.eye(4))
        g_blocks[:, 4 * k:4 * k + 4, 4 * k:4 * k + 4] = local @ TAU3
    v = potential * np.kron(np.ones((2, 2)), TAU3)
    t = np.linalg.solve(np.eye(8) - v @ g_blocks, np.broadcast_to(v, (n, 8, 8)))
    sigma = np.stack([TAU3 @ (concentration * t[:, 4 * k:4 * k + 4, 4 * k:4 * k + 4]) / delta0
                      for k in range(2)])
    return sigma, t


# -- parameters ----------------------------------------------------------------------


def test_parameters_are_validated_and_round_trip():
    with pytest.raises(ParameterError, match="rate"):
        TMatrixImpurities(rate=-1.0)
    with pytest.raises(ParameterError, match="cot"):
        TMatrixImpurities(rate=1.0, cot=np.inf)
    with pytest.raises(ParameterError, match="strength"):
        TMatrixImpurities.born(1.0, 0.0)
    with pytest.raises(ParameterError, match="g_loc"):
        TMatrixImpurities.from_lattice(0.01, 0.5, 0.3 + 0.2j, 0.03)
    with pytest.raises(ParameterError, match="impurities"):
        QCParams(impurities=1.0)
    with pytest.raises(ParameterError, match="eta"):  # rate 0 scatters nothing: no branch
        solve_real_axis(ENERGIES, DELTA, POINT.replace(impurities=TMatrixImpurities(0.0)))
    params = POINT.replace(impurities=TMatrixImpurities.born(1.0, 0.5))
    assert QCParams(**params.as_dict()) == params
    assert solve_real_axis([0.5], DELTA, params).tmatrix == params.impurities
    assert "impurities" not in POINT.as_dict()  # Born-only metadata as before


def test_lattice_map_gives_the_single_site_rate_and_the_born_rate():
    """Gamma_N = -n_i Im T / Delta0, T = V / (1 - V G_loc), G_loc of both valleys; Born: V -> 0."""
    n_i, delta0, g_loc = 0.02, 0.03, 0.25 - 0.55j
    n0 = -g_loc.imag / np.pi
    for v in (0.5, -0.3, 1e-4):
        imp = TMatrixImpurities.from_lattice(n_i, v, g_loc, delta0)
        t_matrix = v / (1 - v * g_loc)
        # Round-off of a few arithmetic operations.
        assert imp.normal_rate == pytest.approx(-n_i * t_matrix.imag / delta0, rel=1e-12)
        assert imp.normal_self_energy == pytest.approx(n_i * t_matrix / delta0, rel=1e-12)
    # Born: Gamma_B = pi n_i V^2 N0; the first correction is O(V Re G_loc) = 2.5e-5 relative.
    born = np.pi * n_i * 1e-8 * n0 / delta0
    assert imp.normal_rate == pytest.approx(born, rel=1e-4)


# -- the matrix T-matrix against the 8x8 definition -----------------------------------


@pytest.mark.parametrize("fs", [FermiSurface.two_valley(3.0),
                                FermiSurface(betas=[3.0, 2.5, -3.0, -2.4],
                                             weights=[0.3, 0.25, 0.25, 0.2])],
                         ids=["two_valley", "warped"])
def test_self_energy_is_the_valley_diagonal_block_of_the_8x8_tmatrix(fs):
    """Sigma_s = n_i t_ss of t = v + v G t (8x8), with different backgrounds per valley."""
    n_i, v, n0, delta0 = 0.02, 0.5, 0.2, 0.03
    backgrounds = (0.4, 0.1)  # R_K, R_K' in units of pi N_s
    w_k = fs.weights[fs.valleys == 1].sum()
    r_mean = w_k * backgrounds[0] + (1 - w_k) * backgrounds[1]
    imp = TMatrixImpurities.from_lattice(n_i, v, np.pi * n0 * (r_mean - 1j), delta0)
    params = POINT.replace(impurities=imp)
    res = solve_real_axis(ENERGIES, DELTA, params, fs, tol=TOL)
    assert res.success
    ours = tmatrix_self_energy(res.average, imp, traceless=False)
    full, t = _full_tmatrix_sigma(res.g, fs, n_i, v, n0, backgrounds, delta0)
    scale = np.max(np.abs(full))
    # Round-off of an 8x8 solve and a 4x4 inverse (condition ~ |1 - V G| ~ 1).
    np.testing.assert_allclose(ours, full[0], atol=1e-12 * scale)
    np.testing.assert_allclose(ours, full[1], atol=1e-12 * scale)
    # Every valley pair has the same block (on-site impurity): t = J x T.
    np.testing.assert_allclose(t[:, :4, 4:], t[:, :4, :4], atol=1e-12 * np.max(np.abs(t)))


def test_two_valley_self_energy_is_born_with_an_energy_dependent_rate():
    """Two valleys: <g>^2 = x 1, so Sigma (traceless) = -i Gamma_u <g> / (c^2 + x)."""
    imp = TMatrixImpurities.from_normal_rate(1.0, 0.4)
    res = solve_real_axis(ENERGIES, DELTA, POINT.replace(impurities=imp), tol=TOL)
    x = _x(res.average)
    square = res.average @ res.average
    np.testing.assert_allclose(square, x[:, None, None] * np.eye(4), atol=1e-12)  # round-off
    expected = -1j * imp.rate / (imp.cot**2 + x)[:, None, None] * res.average
    np.testing.assert_allclose(tmatrix_self_energy(res.average, imp), expected, atol=1e-12)


# -- Born limit ------------------------------------------------------------------------


def _born_dos_derivative(h=1e-4):
    """d g / d Gamma of the Born SCBA (central difference; error O(h^2) ~ 1e-8 relative)."""
    up = solve_real_axis(ENERGIES, DELTA, POINT.replace(gamma=GAMMA_BORN + h), tol=TOL)
    down = solve_real_axis(ENERGIES, DELTA, POINT.replace(gamma=GAMMA_BORN - h), tol=TOL)
    return (up.average - down.average) / (2 * h)


def test_weak_potential_dos_is_the_born_scba_plus_the_predicted_u2_correction():
    """u -> 0 at fixed Gamma_B: T-matrix = Born SCBA (gamma = Gamma_B, gamma_intra = 0) + O(u^2).

    Two valleys, R = 0: Sigma = -i Gamma_B <g> / (1 + u^2 x), so to first order in u^2 the
    T-matrix is the Born SCBA at the complex rate Gamma_B (1 - u^2 x_B(eps)) (x_B of the Born
    solution; <g> is analytic in Gamma): delta<g> = (d<g>/dGamma) (-Gamma_B u^2 x_B).
    """
    born = solve_real_axis(ENERGIES, DELTA, POINT.replace(gamma=GAMMA_BORN), tol=TOL)
    slope = _born_dos_derivative()
    x_born = _x(born.average)
    errors = {}
    for u in (0.01, 0.005):
        imp = TMatrixImpurities.born(GAMMA_BORN, u)
        res = solve_real_axis(ENERGIES, DELTA, POINT.replace(impurities=imp), tol=TOL)
        assert res.success
        diff = res.dos - born.dos
        predicted = (slope * (-GAMMA_BORN * u**2 * x_born)[:, None, None])[..., 0, 0].real
        # The correction is really there (u^2 Gamma_B |dN/dGamma| ~ 1e-5) ...
        assert np.max(np.abs(predicted)) > 1e-6
        # ... and is predicted: the remainder is O(u^4), u^2 = 1e-4 relative, beside the
        # difference quotient's 1e-8; 1e-3 leaves a margin of ten.
        np.testing.assert_allclose(diff, predicted, atol=1e-3 * np.max(np.abs(predicted)))
        errors[u] = np.max(np.abs(diff))
    # Halving u quarters the deviation from Born (O(u^2); O(u^4) remainder: 1e-4 relative).
    assert errors[0.01] / errors[0.005] == pytest.approx(4.0, rel=1e-3)


def test_weak_potential_gap_is_the_born_gap_to_order_u2():
    """Self-consistent Delta: T-matrix -> Born as u^2, bracketed by two constant Born rates.

    At Matsubara energies x(omega) is real in (0, 1], so the T-matrix rate Gamma_B/(1 + u^2 x)
    lies between Gamma_B/(1 + u^2) and Gamma_B: Delta lies between those Born gaps
    (Delta falls with the pair-breaking rate).
    """
    xtol = 1e-12
    born = solve_gap(POINT.replace(gamma=GAMMA_BORN), xtol=xtol).delta
    shifts = {}
    for u in (0.01, 0.005):
        imp = TMatrixImpurities.born(GAMMA_BORN, u)
        tm = solve_gap(POINT.replace(impurities=imp), xtol=xtol)
        upper = solve_gap(POINT.replace(gamma=GAMMA_BORN / (1 + u**2)), xtol=xtol).delta
        assert born < tm.delta < upper
        shifts[u] = tm.delta - born
        res = solve_matsubara(np.geomspace(0.01, 100, 40), tm.delta, tm.params, tol=TOL)
        x = _x(res.average)
        assert np.all(np.abs(x.imag) < 1e-12) and np.all((x.real > 0) & (x.real <= 1 + 1e-12))
    # O(u^2): the shift (~2e-6) quarters when u halves; remainder O(u^2) = 1e-4 relative,
    # root tolerance 1e-12 / 5e-7 = 2e-6 relative.
    assert shifts[0.01] / shifts[0.005] == pytest.approx(4.0, rel=1e-3)


def test_warped_fermi_surface_born_correction_is_order_u_in_g_and_u2_in_the_dos():
    """Warped Fermi surface: <g>^2 is not scalar, so the -Gamma_B u <g>^2 term acts: O(u).

    It commutes with C = sigma_z tau_2 (an even function of <g>, which anticommutes with C),
    so it changes g only by parts that commute with C; the DOS (tau_3 part) and f0
    (anticommuting) see it only at second order: O(u^2), as for two valleys.
    """
    fs = FermiSurface(betas=[3.0, 2.5, -3.0, -2.5])
    born = solve_real_axis(ENERGIES, DELTA, POINT.replace(gamma=GAMMA_BORN), fs, tol=TOL)
    chiral = np.kron(np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0]))  # sigma_z tau_2
    g_change, dos_change, even_born = {}, {}, 0.0
    for u in (0.01, 0.005):
        imp = TMatrixImpurities.born(GAMMA_BORN, u)
        res = solve_real_axis(ENERGIES, DELTA, POINT.replace(impurities=imp), fs, tol=TOL)
        diff = res.g - born.g
        even = 0.5 * (diff + chiral @ diff @ chiral)  # the part commuting with C
        g_change[u] = np.max(np.abs(even))
        dos_change[u] = np.max(np.abs(res.dos - born.dos))
    even_born = np.max(np.abs(born.g + chiral @ born.g @ chiral))
    assert even_born < 1e-12  # Born g anticommutes with C (round-off)
    # O(u) leading, O(u^2) next: the ratio is 2 up to ~u = 1e-2 relative.
    assert g_change[0.01] / g_change[0.005] == pytest.approx(2.0, rel=0.03)
    # DOS: O(u^2) leading, O(u^3) next.
    assert dos_change[0.01] / dos_change[0.005] == pytest.approx(4.0, rel=0.03)


# -- unitary limit ---------------------------------------------------------------------


def test_unitary_limit_self_energy_is_minus_i_gamma_u_inverse_average():
    """c = 0: Sigma = -i Gamma_u <g>^{-1} exactly; = the 8x8 T-matrix at V -> infinity."""
    rate = 1.5
    imp = TMatrixImpurities.unitary(rate)
    params = POINT.replace(impurities=imp)
    res = solve_real_axis(ENERGIES, DELTA, params, tol=TOL)
    assert res.success
    inverse = np.linalg.inv(res.average)
    sigma = tmatrix_self_energy(res.average, imp, traceless=False)
    np.testing.assert_allclose(sigma, -1j * rate * inverse, atol=1e-12)  # round-off
    # Two valleys: <g>^{-1} = <g> / x.
    np.testing.assert_allclose(inverse, res.average / _x(res.average)[:, None, None], atol=1e-11)
    # The 8x8 T-matrix with V = 1e9 t (N0 = 0.2/t: c = 1/(pi N0 V) = 1.6e-9 from the limit).
    n0, delta0 = 0.2, 0.03
    n_i = rate * np.pi * n0 * delta0
    full, _ = _full_tmatrix_sigma(res.g, res.fermi_surface, n_i, 1e9, n0, (0.0, 0.0), delta0)
    np.testing.assert_allclose(full[0], sigma, atol=1e-7 * np.max(np.abs(sigma)))
    # The solution solves Eq. (8) with this self-energy at both valleys (SCBA tolerance).
    for k, beta in enumerate(res.fermi_surface.betas):
        m = bare_matrix(ENERGIES, beta, DELTA, POINT.field) + 1j * rate * inverse
        commutator = m @ res.g[k] - res.g[k] @ m
        assert np.max(np.abs(commutator)) < 1e-9 * np.max(np.abs(m))


# -- normal state ----------------------------------------------------------------------


def test_normal_state_rate_is_the_single_site_formula():
    """Delta = 0: <g> = tau3 and Sigma = n_i T with T = V / (1 - V (G_K + G_K')) for electrons."""
    n_i, v, g_loc, delta0 = 0.02, 0.5, 0.25 - 0.55j, 0.03
    imp = TMatrixImpurities.from_lattice(n_i, v, g_loc, delta0)
    res = solve_real_axis(ENERGIES, 0.0, POINT.replace(impurities=imp))
    np.testing.assert_allclose(res.average, np.broadcast_to(TAU3, res.average.shape), atol=1e-12)
    t_electron = n_i * v / (1 - v * g_loc) / delta0
    sigma = tmatrix_self_energy(res.average, imp, traceless=False)
    expected = np.diag([t_electron, t_electron, np.conj(t_electron), np.conj(t_electron)])
    np.testing.assert_allclose(sigma, np.broadcast_to(expected, sigma.shape),
                               atol=1e-12 * abs(t_electron))  # round-off
    # What acts (traceless) is the Born form at the normal rate: -i Gamma_N tau3.
    np.testing.assert_allclose(tmatrix_self_energy(res.average, imp),
                               np.broadcast_to(-1j * imp.normal_rate * TAU3, sigma.shape),
                               atol=1e-12 * abs(t_electron))
    assert imp.normal_rate == pytest.approx(-n_i * (v / (1 - v * g_loc)).imag / delta0, rel=1e-12)
    np.testing.assert_allclose(res.dos, 1.0, atol=1e-12)


# -- Anderson's theorem, normalization, symmetry ---------------------------------------


@pytest.mark.parametrize("imp", [TMatrixImpurities.born(1.0, 0.5), TMatrixImpurities.unitary(2.0),
                                 TMatrixImpurities.from_normal_rate(1.0, -0.7)],
                         ids=["u0.5", "unitary", "attractive"])
def test_anderson_theorem_at_zero_field(imp):
    """B = 0: the Born SCBA leaves Delta unchanged (checked here); so does the T-matrix.

    Both valleys then have the BCS g (beta commutes with it), x = 1, and Sigma commutes with g.
    """
    params = QCParams(beta=3.0, field=0.0, temperature=0.1)
    xtol = 1e-12
    clean = solve_gap(params, xtol=xtol).delta
    born = solve_gap(params.replace(gamma=2.0), xtol=xtol).delta
    tm = solve_gap(params.replace(impurities=imp), xtol=xtol).delta
    # Root tolerance 1e-12 plus the Matsubara sums' round-off (SCBA tol 1e-12 per term).
    assert born == pytest.approx(clean, abs=1e-10)
    assert tm == pytest.approx(clean, abs=1e-10)
    # ... while at B = 1 the same impurities lower the gap (the check can fail).
    field_clean = solve_gap(POINT).delta
    assert solve_gap(POINT.replace(impurities=imp)).delta < field_clean - 1e-3


@pytest.mark.parametrize("imp", [TMatrixImpurities.from_normal_rate(1.0, 0.3),
                                 TMatrixImpurities.unitary(1.0),
                                 TMatrixImpurities.born(0.5, 2.0, background=0.6)],
                         ids=["c0.3", "unitary", "background"])
def test_normalization_and_particle_hole_symmetry(imp):
    """g g = 1, Tr g = 0 at every point; N(eps) = N(-eps) (quasiclassics: R only enters c)."""
    params = POINT.replace(impurities=imp)
    res = density_of_states(ENERGIES, params, delta=DELTA, tol=TOL)
    assert res.scba.success
    g = res.scba.g
    # Closed-form sign: exact for a +-lambda spectrum, which Sigma(X) keeps to the SCBA
    # tolerance at an Anderson-extrapolated X.
    np.testing.assert_allclose(g @ g, np.broadcast_to(np.eye(4), g.shape), atol=1e-9)
    np.testing.assert_allclose(np.trace(g, axis1=-2, axis2=-1), 0, atol=1e-9)
    # ENERGIES is symmetric about 0; the SCBA tolerance sets the accuracy.
    np.testing.assert_allclose(res.dos, res.dos[::-1], atol=1e-9)
    assert np.max(np.abs(res.dos - 1)) > 0.1  # a superconducting DOS, not a flat one


def test_matsubara_anomalous_part_stays_real():
    """The gap equation reads Re f0 at i omega; with the T-matrix, Im f0 vanishes too."""
    params = POINT.replace(impurities=TMatrixImpurities.from_normal_rate(1.0, 0.3))
    res = solve_matsubara(np.geomspace(0.05, 50, 30), 0.8, params, tol=TOL)
    f0 = res.average_components(gauge="eq8").f0
    assert np.max(np.abs(f0.real)) > 0.1
    np.testing.assert_allclose(f0.imag, 0, atol=1e-11)  # SCBA tolerance


def test_gap_at_the_measured_rate_lies_near_the_born_gap():
    """At equal normal-state rate Gamma_N the T-matrix and Born gaps differ by the x-dependence.

    Unitary: the rate Gamma_u/x(omega) >= Gamma_N (x <= 1), so the gap is lower than Born's.
    """
    born = solve_gap(POINT.replace(gamma=1.0)).delta
    unitary = solve_gap(POINT.replace(impurities=TMatrixImpurities.unitary(1.0))).delta
    assert unitary < born
    assert born - unitary < 0.01 * born  # x >= 0.92 at these Matsubara energies
