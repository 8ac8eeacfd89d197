"""Clean lattice DOS: sum rule, exact restriction, BCS limits, convergence, the mirage gap."""

import numpy as np
import pytest

from latticemirage import bulk, dos
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.errors import ParameterError
from mirage_common.formulas import mirage_formula, mirage_gap


def _bcs_cdf(x, gap, field):
    """States per N_n(0) between 0 and x of the (Zeeman-split) BCS DOS, odd in x."""

    def one(y):
        ay = np.abs(y)
        return np.sign(y) * np.sqrt(np.clip(ay * ay - gap * gap, 0.0, None))

    return 0.5 * (one(x - field) + one(x + field))


def test_sum_rule_whole_spectrum(fsyst, paper):
    blocks = bulk.fourier_blocks(fsyst, paper.params)
    for disentangle in (True, False):
        tdos = dos.triangle_dos(blocks, 36, (-10.0, 10.0), 400, restrict=False,
                                disentangle=disentangle)
        # Every triangle is integrated exactly: 4 BdG bands per unit cell, up to round-off.
        assert (tdos.dos * tdos.width).sum() == pytest.approx(4.0, abs=1e-10)


def test_spectral_weight_is_conserved_by_pairing(fsyst, paper):
    """∫(N_s − N_n) dE over a window W: only the BCS tail −Δ²/(2W) per side is missing."""
    w = 12.0
    res = dos.clean_dos(paper, np.linspace(-w, w, 1201), mesh=1000, fsyst=fsyst)
    h = res.energies[1] - res.energies[0]
    missing = ((res.dos - res.dos_normal) * h).sum()
    # Each of the two sides loses Δ²/(2W) (BCS, β, B only shift weight inside the window);
    # mesh interpolation error of the integral ~1e-3.
    assert missing == pytest.approx(-2 * 1.0 / (2 * w), abs=5e-3)


def test_window_restriction_is_exact(fsyst, paper):
    blocks = bulk.fourier_blocks(fsyst, paper.params)
    window = (-0.06, 0.06)
    full = dos.triangle_dos(blocks, 300, window, 600, restrict=False)
    restricted = dos.triangle_dos(blocks, 300, window, 600, restrict=True)
    assert restricted.n_k < 0.2 * full.n_k
    # Same triangles, same arithmetic; only the order of the sums differs.
    np.testing.assert_allclose(restricted.dos, full.dos, rtol=0, atol=1e-11 * full.dos.max())


@pytest.mark.parametrize("field", [0.0, 0.5])
def test_bcs_and_zeeman_split_bcs_limits_converge_quadratically(fsyst, field):
    """β = 0: N_s = [N_BCS(E − B) + N_BCS(E + B)] / 2 (Zeeman-split BCS).

    Compared through the energies at which the integrated DOS reaches given
    levels (robust against the integrable edge singularities). The triangle
    method interpolates E(k) linearly; on equilateral triangles of side
    ``L = |b|/mesh`` its energy error is at most ``(v_F L)^2 / (6 Δ)`` near the gap
    edge (Hessian of sqrt(xi² + Δ²) times R²/2 with R = L/√3), i.e. quadratic.
    """
    mapping = map_to_lattice(PhysicalParameters(beta=0.0, field=field, delta=1.0), fsyst=fsyst)
    edges = np.linspace(0.0, 3.0, 601)
    levels = np.linspace(0.2, 2.2, 21)
    fine = np.linspace(0.0, 3.0, 300001)
    exact = np.interp(levels, _bcs_cdf(fine, 1.0, field), fine)
    blocks = bulk.fourier_blocks(fsyst, mapping.params)
    errors, bounds = [], []
    for mesh in (1000, 2000):
        tdos = dos.triangle_dos(blocks, mesh, (0.0, 3.0 * mapping.delta0), 600)
        # Integrated DOS in units of N_n(0) Δ0 (N_n(0) = 4 N_0 for the BdG DOS).
        cdf = np.cumsum(np.concatenate([[0.0], tdos.dos])) * tdos.width
        cdf /= 4 * mapping.n0 * mapping.delta0
        errors.append(np.abs(np.interp(levels, cdf, edges) - exact).max())
        bounds.append(dos._mesh_resolution(mapping, mesh) ** 2 / 6)
    assert errors[1] <= bounds[1]
    # Halving the mesh spacing divides the error by ~4 (quadratic); 3 leaves room for noise.
    assert errors[0] / errors[1] > 3


def test_dynes_broadened_bcs(fsyst):
    mapping = map_to_lattice(PhysicalParameters(beta=0.0, field=0.0, delta=1.0), fsyst=fsyst)
    energies = np.linspace(-3.0, 3.0, 301)
    eta = 0.1
    z = energies + 1j * eta
    exact = np.abs(np.real(z / np.sqrt(z * z - 1)))  # Dynes: Re[(E+iη)/sqrt((E+iη)² − Δ²)]
    slope = np.abs(np.gradient(exact, energies)).max()
    res = dos.clean_dos(mapping, energies, eta=eta, mesh=2000, normal_state=False, fsyst=fsyst)
    # Error budget: the mesh shifts energies by <= (v_F L)²/(6Δ) (see the BCS test) times
    # the steepest slope of the Dynes DOS, plus the Lorentzian tail beyond the padded
    # window (< 1 %).
    tol = dos._mesh_resolution(mapping, 2000) ** 2 / 6 * slope + 0.01
    np.testing.assert_allclose(res.dos, exact, atol=tol)
    assert res.dos.min() > 0  # Dynes: finite DOS inside the gap
    # N(0) = η/√(1+η²); same error budget as above (flat region: mesh error small).
    assert res.dos[150] == pytest.approx(eta / np.sqrt(1 + eta**2), abs=0.01)


def test_lorentzian_of_flat_dos_is_flat():
    edges = np.linspace(-1.0, 1.0, 2001)
    flat = dos.TriangleDOS(edges=edges, dos=np.full(2000, 3.0), mesh=1, n_k=1, n_k_full=1)
    out = dos.lorentzian_broaden(flat, np.linspace(-0.9, 0.9, 19), 0.05)
    # The kernel integrates to one and the constant continuation covers the tails.
    np.testing.assert_allclose(out, 3.0, rtol=1e-12)  # arctan sums: round-off only


def test_normal_state_is_flat_and_no_spurious_structure_at_band_crossings(fsyst):
    """B = 0: electron (xi + β) and hole (−xi + β) branches cross at xi = 0, E ≈ β.

    Linear interpolation of sorted eigenvalues would put a ~50 % artifact there at
    this mesh; with the bands followed through the crossing the DOS is the smooth
    BCS tail E/sqrt(E² − Δ²) (no mirage gap at B = 0).
    """
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=0.0, delta=1.0), fsyst=fsyst)
    energies = np.linspace(5.5, 8.5, 301)
    res = dos.clean_dos(mapping, energies, mesh=1000, fsyst=fsyst)
    # Normal-state DOS of the nearly parabolic pocket varies by ~E/E_F·(E/3t) < 1e-3 here.
    np.testing.assert_allclose(res.dos_normal, 1.0, atol=2e-3)
    # At B = 0 the Ising term only shifts xi by ±β in each branch, so N_s is the BCS DOS up
    # to the variation of the normal DOS over ±β (~1e-3, see dos_normal above).
    np.testing.assert_allclose(res.dos, energies / np.sqrt(energies**2 - 1), atol=3e-3)
    assert res.n_normal == pytest.approx(4 * mapping.n0, rel=1e-3)  # two routes to N_0


@pytest.fixture(scope="module")
def mirage_meshes(fsyst, paper):
    formula = mirage_formula(7.0, 2.0, 1.0)
    energies = np.linspace(formula.eps0 - 1.4, formula.eps0 + 1.4, 701)
    return energies, {
        mesh: dos.clean_dos(paper, energies, mesh=mesh, normal_state=False, fsyst=fsyst).dos
        for mesh in (1500, 3000, 6000)
    }


def _mirrored_gap(energies, values):
    # The clean BdG DOS is even in E (particle-hole symmetry, tested in the model tests).
    return mirage_gap(np.concatenate([-energies[::-1], energies]),
                      np.concatenate([values[::-1], values]))


def test_clean_mirage_gap_agrees_with_the_formulas(paper, mirage_meshes):
    energies, by_mesh = mirage_meshes
    formula = mirage_formula(7.0, 2.0, 1.0)
    gap = _mirrored_gap(energies, by_mesh[6000]).positive
    # β varies around the pocket (trigonal warping), so the coherence peaks sit at the
    # extreme Fermi-surface values eps2(β_min) and eps1(β_max) rather than at eps2, eps1
    # of the mean β. Prediction from the formula applied point by point on the Fermi surface:
    values, _ = paper.fermi_surface_beta()
    local = mirage_formula(np.abs(values), 2.0, 1.0)
    lower, upper = float(local.eps2.min()), float(local.eps1.max())
    # Mesh interpolation error (v_F L)²/(6 δ/2) at the anticrossing of width δ, plus one
    # energy grid step for the peak position.
    step = energies[1] - energies[0]
    mesh_tol = dos._mesh_resolution(paper, 6000) ** 2 / (3 * float(formula.width)) + step
    assert gap.lower == pytest.approx(lower, abs=mesh_tol)
    assert gap.upper == pytest.approx(upper, abs=mesh_tol)
    # Against the paper's formula with the mean β: the centre to the warping asymmetry plus
    # the mesh, the width to the spread of eps1, eps2 over the Fermi surface plus the mesh.
    spread = float(local.eps1.max() - local.eps1.min() + local.eps2.max() - local.eps2.min())
    asym = abs(0.5 * (lower + upper) - float(formula.eps0))
    assert gap.centre == pytest.approx(float(formula.eps0), abs=asym + mesh_tol)
    assert gap.width == pytest.approx(float(formula.width), abs=spread + 2 * mesh_tol)
    assert abs(gap.centre - float(formula.eps0)) < 0.01  # centre: |error| < 0.2 % of ε0
    # Inside the gap only one band per valley remains: N_s = 1/2 (paper, Fig. 1(c)).
    plateau = (energies > local.eps2.max() + 0.02) & (energies < local.eps1.min() - 0.02)
    assert plateau.sum() > 50
    # ±1 %: the normal DOS varies by < 1e-3 here; the rest is the BCS tail of the other band.
    np.testing.assert_allclose(by_mesh[6000][plateau], 0.5, atol=0.01)


def test_clean_dos_converges_with_the_mesh(paper, mirage_meshes):
    energies, by_mesh = mirage_meshes
    h = energies[1] - energies[0]
    d_coarse = np.abs(by_mesh[1500] - by_mesh[3000]).sum() * h
    d_fine = np.abs(by_mesh[3000] - by_mesh[6000]).sum() * h
    # L1 changes shrink at least linearly with the spacing (the coherence-peak
    # singularities limit the L1 rate to ~1/mesh; smooth parts converge quadratically).
    assert d_fine < 0.5 * d_coarse


def test_bad_input_names_the_parameter(fsyst, paper):
    energies = np.linspace(-10, 10, 101)
    for mesh in (0, -4, 2.5, True):
        with pytest.raises(ParameterError, match=r"^mesh:"):
            dos.clean_dos(paper, energies, mesh=mesh, fsyst=fsyst)
    with pytest.raises(ParameterError, match=r"^eta:.*cannot resolve the mirage gap"):
        dos.clean_dos(paper, energies, eta=0.5, mesh=100, fsyst=fsyst)
    with pytest.raises(ParameterError, match=r"^eta:"):
        dos.clean_dos(paper, energies, eta=-0.1, mesh=100, fsyst=fsyst)
    with pytest.raises(ParameterError, match=r"^energies:.*pocket depth"):
        dos.clean_dos(paper, np.linspace(-40, 40, 11), mesh=100, fsyst=fsyst)
    with pytest.raises(ParameterError, match=r"^energies:.*uniformly spaced"):
        dos.clean_dos(paper, np.array([0.0, 1.0, 3.0]), mesh=100, fsyst=fsyst)
    with pytest.raises(ParameterError, match=r"^delta:"):
        dos.clean_dos(paper.with_delta(1.0).__class__(**{
            **{f: getattr(paper, f) for f in paper.__dataclass_fields__},
            "physical": PhysicalParameters(),
        }), energies, mesh=100, fsyst=fsyst)
