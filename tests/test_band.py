"""The disorder-renormalized Ising field β_eff (latticemirage.disorder.band)."""

from dataclasses import dataclass

import numpy as np
import pytest

from latticemirage import bulk
from latticemirage.disorder import band, rates
from latticemirage.disorder import selfconsistent as scs
from latticemirage.disorder.potentials import AndersonDisorder, remove_uniform
from latticemirage.mapping import PhysicalParameters, map_to_lattice, xi_and_beta

ROUNDOFF = 1e-10  # t: dense eigensolver and FFT round-off on matrices of norm ~3 t
TWISTS = scs.twist_list("pi")


@pytest.fixture(scope="module")
def mapping():
    # The validate disorder point (comparisons.parameters): β = 3, B = 1, E_F = 20 Δ0, Δ0 = 0.03 t.
    return map_to_lattice(PhysicalParameters(beta=3.0, field=1.0, delta0=0.03, e_fermi=20.0,
                                             temperature=0.1))


def _potential(width, size, index):
    rng = np.random.default_rng(np.random.SeedSequence([5, index]))
    return remove_uniform(AndersonDisorder(width).potential((size, size), rng))[0]


def test_clean_supercell_is_the_grid_average(mapping):
    """Clean: the Fermi-level states are plane waves, so β_eff is |β| averaged over the grid's
    k points with |ε_up(k)| < w, computed here directly from the Bloch Hamiltonian."""
    p = mapping.lattice_params(0.0)
    size, w = 24, 4 * mapping.delta0
    got = band.fermi_level_beta(p, size, twists=TWISTS, window=w)
    blocks = bulk.fourier_blocks(bulk.wrapped_system(), {**p, "delta": 0.0})
    vals = []
    for tw in TWISTS:
        k = band.twisted_kpoints(size, tw)
        xi, beta = xi_and_beta(blocks, k)
        vals.append(np.abs(beta)[np.abs(xi + beta) < w])
    vals = np.concatenate(vals)
    assert got.states == vals.size
    assert got.beta == pytest.approx(vals.mean(), abs=ROUNDOFF)
    assert got.valley_k == pytest.approx(0.5, abs=0.02)  # K and K' pockets hold equal states


def test_plane_wave_weights_are_normalized(mapping):
    p = mapping.lattice_params(0.0)
    size = 12
    pot = _potential(1.0, size, 0)
    h = band._spin_up_block(p, size, (0.0, np.pi), pot, band.LatticeIsing()).toarray()
    _, v = np.linalg.eigh(h)
    w = band.plane_wave_weights(v[:, :7], size, (0.0, np.pi))
    np.testing.assert_allclose(w.sum(axis=(0, 1)), 1.0, atol=1e-12)  # Parseval, round-off


def test_kspace_ising_equals_builder_shell(mapping):
    """The k-space route of the ideal operator, fed the lattice's own β(k), gives the Builder's
    shell Hamiltonian to round-off (so the swap changes one ingredient only)."""

    @dataclass(frozen=True)
    class KSpaceLattice(band.LatticeIsing):
        kind = "kspace"

    p = mapping.lattice_params(0.0)
    pot = _potential(1.0, 12, 1)
    for twists in ("pi", "grid:3"):  # real and complex shells
        a = scs.shell_hamiltonians(p, 12, 0.3, potential=pot, twists=twists)
        b = scs.shell_hamiltonians(p, 12, 0.3, potential=pot, twists=twists,
                                   ising=KSpaceLattice())
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(y.h0, x.h0, atol=ROUNDOFF)


def test_valley_operator_is_constant(mapping):
    p = mapping.lattice_params(0.0)
    beta_v = 3 * mapping.delta0
    got = band.fermi_level_beta(p, 16, potential=_potential(1.0, 16, 2), twists=TWISTS,
                                window=4 * mapping.delta0, ising=band.ValleyIsing(beta_v))
    # |β| = β_v wherever the states live, except on the zone's β = 0 lines (through Γ and M,
    # the valley boundary, where sign β = 0): measured weight there 5e-5 at W = 1 t.
    assert got.beta == pytest.approx(beta_v, rel=5e-4)


@pytest.mark.parametrize("width", [0.7, 1.0])
def test_beta_eff_against_born_estimate(mapping, width):
    """β_eff of disordered 36² supercells (two realizations x 4 twists) against the independent
    Born estimate (SCBA spectral function of the averaged band)."""
    p = mapping.lattice_params(0.0)
    w = 4 * mapping.delta0
    got = [band.fermi_level_beta(p, 36, potential=_potential(width, 36, i), twists=TWISTS,
                                 window=w).beta for i in range(2)]
    est = band.born_estimate(p, width**2 / 12, window=w, mesh=400)
    clean = band.born_estimate(p, 0.0, window=w, mesh=400)["beta_t"]
    # Tolerance 0.3 % of β: measured realization scatter 0.05 % (L = 48) and the finite-grid
    # sampling of a 36² supercell (its clean value sits 0.2 % off the fine mesh's), against a
    # disorder effect of 4 % (W = 0.7 t) to 7 % (W = 1 t) that the check must resolve.
    assert np.mean(got) == pytest.approx(est["beta_t"], rel=3e-3)
    assert clean - est["beta_t"] > 10 * 3e-3 * clean * (width / 1.0) ** 2 / 2


def test_beta_eff_tends_to_clean(mapping):
    """β_eff → β as W → 0: the measured Re Σ is second order in W (it quadruples when W doubles)
    and β on the renormalized Fermi surface tends to the clean β."""
    p = mapping.lattice_params(0.0)
    sig = [rates.measure_rates(p, AndersonDisorder(w), 100, 4, 11, eta=0.01).sigma_real
           for w in (0.1, 0.2)]
    # 4 to 10 %: the O(W^4) part (measured ratio 4.17 between W = 0.1 and 0.2 t) and the
    # jackknife errors (1.5 %).
    assert sig[1] / sig[0] == pytest.approx(4.0, rel=0.1)
    beta = band.renormalized_fermi_beta(p, sig[0])[0]
    assert 0 < 3 * mapping.delta0 - beta < 1e-3 * 3 * mapping.delta0  # below 0.1 % at W = 0.1 t


def test_rates_supercell_kpoints_match():
    # twisted_kpoints at zero twist is the rate measurement's grid (same FFT order).
    np.testing.assert_allclose(band.twisted_kpoints(8, (0.0, 0.0)), rates.supercell_kpoints((8, 8)))


def test_sparse_and_dense_agree(mapping, monkeypatch):
    """The shift-invert path (large supercells) finds the same Fermi-level states as dense."""
    p = mapping.lattice_params(0.0)
    pot = _potential(1.0, 24, 5)
    kw = dict(potential=pot, twists=[(0.0, np.pi)], window=4 * mapping.delta0, n0_guess=0.05)
    dense = band.fermi_level_beta(p, 24, **kw)
    monkeypatch.setattr(band, "DENSE_MAX", 10)  # n0_guess too small on purpose: k is doubled
    sparse = band.fermi_level_beta(p, 24, **kw)
    assert sparse.states == dense.states
    assert sparse.beta == pytest.approx(dense.beta, rel=1e-10)  # Lanczos vs LAPACK round-off


@pytest.mark.parametrize("width", [0.7, 1.0])
def test_renormalized_fermi_beta_against_born(mapping, width):
    """The β handed to the SCBA: β on the contour shifted by the measured Re Σ (all orders, from
    the disorder-averaged Green's function of 100² supercells) against the independent Born
    estimate (second-order Σ = ⟨V²⟩ G_loc, shifted contour)."""
    p = mapping.lattice_params(0.0)
    r = rates.measure_rates(p, AndersonDisorder(width), 100, 4, 11, eta=0.01)
    est = band.born_estimate(p, width**2 / 12, window=4 * mapping.delta0, mesh=400)
    # Re Σ: the measured value carries its jackknife error (~0.01-0.03 Δ0) and the Born value
    # misses higher orders, O(W^4): 10 % of Re Σ (measured 2 % at W = 0.7, 3 % at W = 1, L = 100).
    assert r.sigma_real == pytest.approx(est["sigma_t"][0], rel=0.1)
    beta, err = band.renormalized_fermi_beta(p, r.sigma_real, r.sigma_real_err)
    clean = 3 * mapping.delta0
    shift = clean - est["beta_shifted_contour_t"]
    assert shift > 0  # the deeper pockets reach out to where |β(k)| is smaller
    # The same 10 % on the shift of β (it is linear in Re Σ), plus 3 errors of β.
    assert clean - beta == pytest.approx(shift, rel=0.1, abs=3 * err)


def test_renormalized_fermi_beta_limits(mapping):
    p = mapping.lattice_params(0.0)
    beta, err = band.renormalized_fermi_beta(p, 0.0)
    assert beta == pytest.approx(3 * mapping.delta0, rel=1e-12)  # the mapping's definition
    assert err == 0.0
    small = band.renormalized_fermi_beta(p, 1e-4)[0]
    larger = band.renormalized_fermi_beta(p, 2e-4)[0]
    # β_FS − β is linear in Re Σ for small shifts (to 1 %: the curvature of the contour).
    assert (3 * mapping.delta0 - larger) == pytest.approx(2 * (3 * mapping.delta0 - small),
                                                          rel=0.01)
