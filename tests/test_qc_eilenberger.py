"""Eilenberger solver: BCS and Zeeman-split BCS, algebra of g, the paper's Eq. (9) and Table I."""

import numpy as np
import pytest

from mirage_common.errors import ParameterError
from mirage_common.formulas import mirage_formula, mirage_gap
from quasiclassical.eilenberger import (
    DELTA_HAT,
    DELTA_HAT_EQ1,
    SIGMA,
    bare_matrix,
    components,
    kron,
    sign_retarded,
    solve_matsubara,
    solve_real_axis,
    solve_scba,
)
from quasiclassical.params import FermiSurface, QCParams

# Closed-form expressions evaluated in double precision on O(1) (up to 1/eta) numbers.
TOL = 1e-10
TAU3 = np.diag([1.0, 1, -1, -1])
PAPER = QCParams(beta=7.0, field=2.0, temperature=0.1, eta=0.01)


def retarded_sqrt(z):
    """sqrt with the branch of the retarded function: Im >= 0, ~z for large |z|."""
    root = np.sqrt(z + 0j)
    return np.where(root.imag < 0, -root, root)


def bcs_dos(energies, delta, eta):
    eps = energies + 1j * eta
    return (eps / retarded_sqrt(eps**2 - delta**2)).real


def sign_by_eig(m):
    w, v = np.linalg.eig(m)
    return (v * np.where(w.imag > 0, 1.0, -1.0)[..., None, :]) @ np.linalg.inv(v)


def test_bcs_green_function_closed_form():
    energies = np.linspace(-3, 3, 61) + 0.02j
    g = sign_retarded(bare_matrix(energies, 0.0, 1.0))
    root = np.sqrt(energies**2 - 1)
    root = np.where(root.imag < 0, -root, root)
    expected = (energies[:, None, None] * TAU3 - DELTA_HAT) / root[:, None, None]
    np.testing.assert_allclose(g, expected, atol=TOL)
    # Far from the gap g -> tau_3 (to O(Delta/eps)).
    far = sign_retarded(bare_matrix(np.array([1e6 + 1e-3j]), 0.0, 1.0))[0]
    np.testing.assert_allclose(far, TAU3, atol=1e-5)


def test_matsubara_bcs_closed_form():
    omegas = np.linspace(0.05, 20, 50)
    res = solve_matsubara(omegas, 0.7, QCParams(beta=3.0))  # beta alone has no effect at B = 0
    comp = components(res.g[0], gauge="eq8")
    np.testing.assert_allclose(comp.g0, omegas / np.sqrt(omegas**2 + 0.49), atol=TOL)
    np.testing.assert_allclose(comp.f0, 0.7 / np.sqrt(omegas**2 + 0.49), atol=TOL)


def test_bcs_dos():
    energies = np.linspace(-4, 4, 801)
    res = solve_real_axis(energies, 1.0, QCParams(eta=0.01))
    np.testing.assert_allclose(res.dos, bcs_dos(energies, 1.0, 0.01), atol=TOL)


def test_zeeman_split_bcs_at_zero_ising_field():
    """beta = 0: spin along x is conserved, N = [N_BCS(e + B) + N_BCS(e - B)] / 2."""
    energies = np.linspace(-3, 3, 601)
    for phi in (0.0, 1.1):  # any in-plane direction
        params = QCParams(field=0.3, phi=phi, eta=0.005)
        res = solve_real_axis(energies, 1.0, params)
        expected = 0.5 * (bcs_dos(energies + 0.3, 1.0, 0.005) + bcs_dos(energies - 0.3, 1.0, 0.005))
        np.testing.assert_allclose(res.dos, expected, atol=TOL)


def random_physical_matrices(rng, count):
    """Eilenberger matrices with random beta, B, phi, Delta and a random physical self-energy."""
    eps = rng.uniform(-10, 10, count) + 1j * rng.uniform(1e-3, 1, count)
    out = []
    for k in range(count):
        b, field = rng.uniform(-8, 8), rng.uniform(0, 4)
        phi, delta = rng.uniform(0, 6), rng.uniform(0, 2)
        m = bare_matrix(eps[k], b, delta, field, phi)
        # Physical self-energy: -i Gamma times a valley average of retarded functions.
        other = sign_retarded(bare_matrix(eps[k], -b, delta, field, phi))
        out.append(m + 1j * rng.uniform(0, 2) * 0.5 * (sign_retarded(m) + other))
    return np.array(out)


def test_sign_methods_agree_with_eigendecomposition():
    rng = np.random.default_rng(20210609)
    m = random_physical_matrices(rng, 200)
    reference = sign_by_eig(m)
    for method in ("closed", "newton", "auto"):
        # Condition of the eigenvector basis limits the reference to ~1e-9 near degeneracies.
        np.testing.assert_allclose(sign_retarded(m, method), reference, atol=1e-8)


def test_general_path_for_a_term_that_breaks_the_spectral_symmetry():
    """An out-of-plane Zeeman term breaks Tr M^3 = 0: "auto" must leave the closed form."""
    rng = np.random.default_rng(7)
    m = random_physical_matrices(rng, 50) - 0.7 * kron(SIGMA[0], SIGMA[3])  # -B_z sigma_z tau_0
    g = sign_retarded(m)
    np.testing.assert_allclose(g, sign_by_eig(m), atol=1e-8)  # eigenvector conditioning
    closed = sign_retarded(m, "closed")
    assert np.max(np.abs(closed - g)) > 1e-3  # the closed form alone would be wrong here


def test_normalization_trace_and_commutator_with_scba():
    params = PAPER.replace(gamma=0.4)
    energies = np.linspace(-10, 10, 401)
    res = solve_real_axis(energies, 0.8, params, tol=1e-12)
    g = res.g
    eye = np.eye(4)
    np.testing.assert_allclose(g @ g, np.broadcast_to(eye, g.shape), atol=TOL)
    np.testing.assert_allclose(np.trace(g, axis1=-2, axis2=-1), 0, atol=TOL)
    sigma = -1j * params.gamma * res.average
    for j, beta in enumerate(res.fermi_surface.betas):
        m = bare_matrix(energies + 1j * params.eta, beta, 0.8, params.field) - sigma
        comm = m @ g[j] - g[j] @ m
        # Self-consistency to tol=1e-12 times |Gamma| and |M| ~ 10.
        np.testing.assert_allclose(comm, 0, atol=1e-9)


@pytest.mark.parametrize("gamma", [0.0, 0.4, 2.0])
def test_dos_is_nonnegative(gamma):
    energies = np.linspace(-12, 12, 1201)
    res = solve_real_axis(energies, 0.8, PAPER.replace(gamma=gamma, eta=0.001))
    point_dos = res.components().g0.real
    assert np.all(point_dos >= -TOL) and np.all(res.dos >= -TOL)
    # Normal-state limit far from all structure.
    assert abs(res.dos[0] - 1) < 0.01  # N - 1 ~ Delta^2 / (2 eps^2) = 2.2e-3 at eps = 12


def test_dos_is_one_half_inside_a_clean_mirage_gap():
    """One band per valley is gapped at eps0; the other gives 1/2 (1 + O((Delta/2beta)^2))."""
    delta = 0.8
    excess = {}
    for beta in (7.0, 28.0):
        formula = mirage_formula(beta, 2.0, delta)
        params = QCParams(beta=beta, field=2.0, eta=1e-7)
        res = solve_real_axis([float(formula.eps0)], delta, params)
        excess[beta] = res.dos[0] - 0.5
    # The leading excess is (Delta / 2 beta)^2, approached from below as beta grows.
    assert 0 < excess[7.0] <= (delta / 14) ** 2
    # Next order O((B/beta)^2, (Delta/beta)^2) = 0.5 % at beta = 28, eta = 1e-7 adds ~1e-5.
    assert excess[28.0] / (delta / 56) ** 2 == pytest.approx(1.0, abs=0.02)


def test_mirage_gap_edges_at_eps1_and_eps2():
    delta, eta = 0.8, 1e-3
    formula = mirage_formula(7.0, 2.0, delta)
    energies = np.linspace(-9, 9, 18001)
    res = solve_real_axis(energies, delta, PAPER.replace(eta=eta))
    gap = mirage_gap(energies, res.dos)
    # Coherence peaks on a grid of spacing 1e-3, shifted outwards by ~eta = 1e-3 (Dynes).
    tol = 3e-3
    assert gap.positive.lower == pytest.approx(float(formula.eps2), abs=tol)
    assert gap.positive.upper == pytest.approx(float(formula.eps1), abs=tol)
    assert gap.negative.lower == pytest.approx(-float(formula.eps1), abs=tol)
    assert gap.negative.upper == pytest.approx(-float(formula.eps2), abs=tol)
    inside = (energies > formula.eps2 + 0.05) & (energies < formula.eps1 - 0.05)
    # Away from the edges by >> eta, N = 1/2 + O((Delta/2beta)^2 = 3.3e-3) + O(eta/0.05).
    np.testing.assert_allclose(res.dos[inside], 0.5, atol=0.03)


def test_equation_9_is_exact_in_the_clean_limit():
    """f_x / f_y = eps~ / (i s beta) with eps~ = eps + i eta at Gamma = 0, in both valleys."""
    energies = np.linspace(-10, 10, 1001)
    res = solve_real_axis(energies, 0.8, PAPER)
    comp = res.components()
    for j, s in enumerate((1, -1)):
        ratio = comp.fx[j] / comp.fy[j]
        expected = (energies + 1j * PAPER.eta) / (1j * s * PAPER.beta)
        np.testing.assert_allclose(ratio, expected, rtol=1e-9)  # round-off of small f's


def test_equation_9_is_only_approximate_with_intervalley_scattering():
    """The valley-even triplet part of <g> survives the average and is kept in Sigma."""
    energies = np.linspace(-10, 10, 401)
    params = PAPER.replace(gamma=0.2)
    res = solve_real_axis(energies, 0.8, params)
    comp = res.components()
    eps_t = energies + 1j * params.eta + 1j * params.gamma * res.average_components().g0
    deviation = np.abs(comp.fx[0] / comp.fy[0] / (eps_t / (1j * params.beta)) - 1)
    assert deviation.max() > 1e-4  # not exact: nothing was dropped from Sigma
    assert deviation.max() < 0.05  # but close: the neglected term is O(Gamma B / beta^2)


@pytest.mark.parametrize("gamma", [0.0, 0.4])
def test_table_1_valley_symmetries(gamma):
    """f_y flips sign between K and K'; g0, f0, f_x do not; f_z = 0 quasiclassically."""
    energies = np.linspace(-10, 10, 501)
    comp = solve_real_axis(energies, 0.8, PAPER.replace(gamma=gamma)).components()
    for name in ("g0", "f0", "fx"):
        values = getattr(comp, name)
        np.testing.assert_allclose(values[0], values[1], atol=TOL, err_msg=name)
    np.testing.assert_allclose(comp.fy[0], -comp.fy[1], atol=TOL)
    np.testing.assert_allclose(comp.fz, 0, atol=TOL)
    assert np.max(np.abs(comp.fy)) > 0.1  # and f_y is not trivially zero


def test_gauge_eq1_equals_solving_eq1_with_a_real_gap():
    """components(gauge="eq1") = Eq. (8) rewritten with the pairing of Eq. (1) and real Delta."""
    energies = np.linspace(-9, 9, 301) + 0.01j
    for beta in (7.0, -7.0):
        g8 = sign_retarded(bare_matrix(energies, beta, 0.8, 2.0))
        g1 = sign_retarded(bare_matrix(energies, beta, 0.8, 2.0, pairing=DELTA_HAT_EQ1))
        c8, c1 = components(g8, "eq1"), components(g1, "eq8")
        for name in c8.NAMES:
            np.testing.assert_allclose(getattr(c8, name), getattr(c1, name), atol=TOL)


def test_fig2_sign_statements_in_the_eq1_gauge():
    """Paper, Fig. 2 text, valley K: Im f_x < 0, Im(i f_y) > 0 near +eps0; both > 0 near -eps0."""
    delta = 0.8
    eps0 = float(mirage_formula(7.0, 2.0, delta).eps0)
    energies = np.array([eps0, -eps0])
    comp = solve_real_axis(energies, delta, PAPER).components()
    im_fx, im_ify = comp.fx[0].imag, (1j * comp.fy[0]).imag
    assert im_fx[0] < -0.1 and im_ify[0] > 0.1
    assert im_fx[1] > 0.1 and im_ify[1] > 0.1
    # Im f_x is odd in energy (time reversal broken by B); Im(i f_y) even.
    grid = np.linspace(-10, 10, 201)
    c = solve_real_axis(grid, delta, PAPER).components()
    np.testing.assert_allclose(c.fx[0].imag, -c.fx[0].imag[::-1], atol=TOL)
    np.testing.assert_allclose((1j * c.fy[0]).imag, (1j * c.fy[0]).imag[::-1], atol=TOL)


def test_field_angle_is_a_spin_rotation_about_z():
    """Rotating the in-plane field rotates (g_x, g_y) and (f_x, f_y); g0, f0, the DOS stay."""
    energies = np.linspace(-9, 9, 181)
    base = solve_real_axis(energies, 0.8, PAPER.replace(gamma=0.4)).components()
    phi = 0.9
    rot = solve_real_axis(energies, 0.8, PAPER.replace(gamma=0.4, phi=phi)).components()
    c, s = np.cos(phi), np.sin(phi)
    tol = 1e-8  # SCBA tolerance 1e-10 amplified near coherence peaks
    for name in ("g0", "f0", "gz", "fz"):
        np.testing.assert_allclose(getattr(rot, name), getattr(base, name), atol=tol)
    for a, b in (("gx", "gy"), ("fx", "fy")):
        x, y = getattr(base, a), getattr(base, b)
        np.testing.assert_allclose(getattr(rot, a), c * x - s * y, atol=tol)
        np.testing.assert_allclose(getattr(rot, b), s * x + c * y, atol=tol)


def test_states_are_conserved():
    """Integral of (N - 1) vanishes: over [-L, L] it is -Delta^2/L (tail N - 1 ~ Delta^2/2eps^2)."""
    delta, length = 0.8, 60.0
    energies = np.linspace(-length, length, 12001)  # spacing 0.01 resolves peaks of width eta
    for gamma in (0.0, 1.0):
        res = solve_real_axis(energies, delta, PAPER.replace(gamma=gamma, eta=0.05))
        integral = np.trapezoid(res.dos - 1, energies)
        rho2 = PAPER.beta**2 + PAPER.field**2
        # Next order of the tail is O(rho^2 Delta^2 / L^3) = 1.6e-4 here.
        assert integral + delta**2 / length == pytest.approx(0, abs=rho2 * delta**2 / length**3)


def test_fermi_surface_distribution_is_used():
    """Clean limit: the DOS of a beta distribution is the weighted mean of single-beta DOS."""
    energies = np.linspace(-10, 10, 401)
    fs = FermiSurface(betas=[6.0, 7.5, -6.0, -7.5], weights=[0.3, 0.2, 0.3, 0.2])
    res = solve_real_axis(energies, 0.8, PAPER, fermi_surface=fs)
    single = [solve_real_axis(energies, 0.8, PAPER.replace(beta=b)).dos for b in (6.0, 7.5)]
    np.testing.assert_allclose(res.dos, 0.6 * single[0] + 0.4 * single[1], atol=TOL)


def test_duplicating_fermi_surface_points_changes_nothing():
    """Splitting a point into two with the same beta (weights adding up) changes nothing (SCBA)."""
    energies = np.linspace(-9, 9, 181)
    params = PAPER.replace(gamma=0.4)
    two = solve_real_axis(energies, 0.8, params)
    fs = FermiSurface(betas=[7, 7, -7, -7], weights=[0.1, 0.4, 0.25, 0.25])
    four = solve_real_axis(energies, 0.8, params, fermi_surface=fs)
    np.testing.assert_allclose(four.dos, two.dos, atol=1e-8)  # SCBA tolerance 1e-10, amplified


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 0.0}, "temperature"),
        ({"gamma": -1.0}, "gamma"),
        ({"eta": -0.01}, "eta"),
        ({"beta": -7.0}, "beta"),
        ({"field": float("nan")}, "field"),
        ({"phi": float("inf")}, "phi"),
    ],
)
def test_bad_parameters_are_named(changes, name):
    with pytest.raises(ParameterError, match=rf"^{name}: "):
        PAPER.replace(**changes)


def test_real_axis_without_broadening_is_refused():
    with pytest.raises(ParameterError, match=r"^eta: must be > 0 on the real axis"):
        solve_real_axis([1.0], 0.8, PAPER.replace(eta=0.0))
    with pytest.raises(ValueError, match="no retarded branch"):
        sign_retarded(bare_matrix(np.array([2.0]), 0.0, 1.0))
    with pytest.raises(ValueError, match="no retarded branch"):
        solve_scba(np.array([2.0 + 0j]), 1.0, FermiSurface.two_valley(7.0))


def test_bad_fermi_surfaces_are_named():
    with pytest.raises(ParameterError, match=r"^weights: "):
        FermiSurface(betas=[1, -1], weights=[1, -0.5])
    with pytest.raises(ParameterError, match=r"^weights: "):
        FermiSurface(betas=[1, -1], weights=[1])
    with pytest.raises(ParameterError, match=r"^betas: "):
        FermiSurface(betas=[np.nan])
