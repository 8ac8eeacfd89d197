"""Lattice model and fast Bloch Hamiltonian: symmetries, Ising field, splittings, vs Kwant."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latticemirage import _eig4_numba, bulk, model
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.formulas import mirage_formula

# Exact arithmetic up to round-off on 4x4 matrices with entries O(t).
TOL = 1e-12

PARAMS = dict(t=1.0, mu=2.7, lam=0.05, B=0.03, phi=0.7, delta=0.02)
TAU_X = np.kron(np.array([[0, 1], [1, 0]]), np.eye(2))  # Nambu tau_x (outer) x sigma_0


@pytest.fixture(scope="module")
def blocks(fsyst):
    return bulk.fourier_blocks(fsyst, PARAMS)


def _random_k(n, seed):
    return np.random.default_rng(seed).uniform(-2 * np.pi, 2 * np.pi, size=(n, 2))


def test_fast_bloch_hamiltonian_equals_kwant_at_random_k(fsyst):
    rng = np.random.default_rng(1)
    for delta in (0.02, 0.01 + 0.015j):  # real and complex (gauge) pairing
        params = {**PARAMS, "delta": delta, "phi": rng.uniform(0, 2 * np.pi)}
        blocks = bulk.fourier_blocks(fsyst, params)
        k = _random_k(40, seed=2)
        np.testing.assert_allclose(
            bulk.bloch_hamiltonian(blocks, k), bulk.kwant_hamiltonian(fsyst, k, params), atol=TOL
        )


def test_bloch_hamiltonian_is_hermitian_and_blocks_pair_up(fsyst, blocks):
    h = bulk.bloch_hamiltonian(blocks, _random_k(200, seed=3))
    np.testing.assert_allclose(h, h.conj().swapaxes(-1, -2), atol=TOL)
    hk = bulk.kwant_hamiltonian(fsyst, _random_k(5, seed=4), PARAMS)
    np.testing.assert_allclose(hk, hk.conj().swapaxes(-1, -2), atol=TOL)
    for n, b in blocks.items():
        np.testing.assert_allclose(blocks[(-n[0], -n[1])], b.conj().T, atol=TOL)


def test_particle_hole_symmetry(fsyst, blocks):
    k = _random_k(100, seed=5)
    h, h_minus = bulk.bloch_hamiltonian(blocks, k), bulk.bloch_hamiltonian(blocks, -k)
    # C = tau_x K:  tau_x H(-k)^* tau_x = -H(k), the BdG redundancy of Eq. (1).
    np.testing.assert_allclose(TAU_X @ h_minus.conj() @ TAU_X, -h, atol=TOL)
    ev, ev_minus = np.linalg.eigvalsh(h), np.linalg.eigvalsh(h_minus)
    np.testing.assert_allclose(ev, -ev_minus[:, ::-1], atol=TOL)
    # The same through Kwant's own path.
    hk = bulk.kwant_hamiltonian(fsyst, k[:5], PARAMS)
    hk_minus = bulk.kwant_hamiltonian(fsyst, -k[:5], PARAMS)
    np.testing.assert_allclose(TAU_X @ hk_minus.conj() @ TAU_X, -hk, atol=TOL)


def test_ising_field_at_the_valleys_from_kwant(fsyst):
    lam = 0.05
    params = {**PARAMS, "lam": lam, "B": 0.0, "delta": 0.0}
    for valley, sign in ((model.VALLEY_K, 1), (model.VALLEY_KP, -1)):
        h = bulk.kwant_hamiltonian(fsyst, valley, params)
        beta = 0.5 * (h[0, 0] - h[1, 1]).real  # electron block: xi + beta sigma_z
        assert beta == pytest.approx(sign * 3 * np.sqrt(3) / 2 * lam, abs=TOL)
        # xi(K) = 3t - mu: the band maximum (hole pockets).
        assert 0.5 * (h[0, 0] + h[1, 1]).real == pytest.approx(3.0 - params["mu"], abs=TOL)


def test_normal_state_splitting_at_K(fsyst):
    lam, b_field = 0.05, 0.03
    params = {**PARAMS, "lam": lam, "B": b_field, "delta": 0.0}
    h = bulk.kwant_hamiltonian(fsyst, model.VALLEY_K, params)
    electron = np.linalg.eigvalsh(h[:2, :2])
    beta_k = 3 * np.sqrt(3) / 2 * lam
    assert electron[1] - electron[0] == pytest.approx(2 * np.hypot(beta_k, b_field), abs=TOL)


def test_spectrum_at_fermi_points_contains_eps1_and_eps2(fsyst):
    phys = PhysicalParameters(beta=7.0, field=2.0, delta=1.0)
    mapping = map_to_lattice(phys, n_theta=36, fsyst=fsyst)
    blocks = bulk.fourier_blocks(fsyst, mapping.params)
    k_f = mapping.k_fermi.reshape(-1, 2)
    ev = np.linalg.eigvalsh(bulk.bloch_hamiltonian(blocks, k_f)) / mapping.delta0
    formula = mirage_formula(np.abs(mapping.fs_beta.reshape(-1)), phys.field, phys.delta)
    expected = np.stack([-formula.eps1, -formula.eps2, formula.eps2, formula.eps1], axis=-1)
    # k_F found by bisection to ~1e-16; energies O(10 Δ0): round-off ~1e-12 Δ0.
    np.testing.assert_allclose(ev, expected, atol=1e-9)


def test_bloch_gradient_matches_finite_differences(blocks):
    k = _random_k(20, seed=6)
    step = 1e-5
    def h(kk):
        return bulk.bloch_hamiltonian(blocks, kk)

    fd = np.stack([(h(k + step * e) - h(k - step * e)) / (2 * step) for e in np.eye(2)], axis=1)
    # Central difference: error ~ step^2 * |H'''| ~ 1e-10 * 6t.
    np.testing.assert_allclose(bulk.bloch_gradient(blocks, k), fd, atol=1e-8)


def test_closed_form_eigenvalues_equal_lapack(blocks):
    k = _random_k(5000, seed=7)
    expected = np.linalg.eigvalsh(bulk.bloch_hamiltonian(blocks, k))
    # Closed form from traces and det: round-off ~1e-16 * ||H||^2 / E; ||H|| <= 9t.
    np.testing.assert_allclose(bulk.bloch_eigenvalues(blocks, k), expected, atol=1e-11)
    # A matrix without a symmetric spectrum takes the LAPACK fallback.
    rng = np.random.default_rng(8)
    g = rng.normal(size=(50, 4, 4)) + 1j * rng.normal(size=(50, 4, 4))
    g = g + g.conj().swapaxes(-1, -2)
    np.testing.assert_allclose(bulk.symmetric_eigvalsh(g), np.linalg.eigvalsh(g), atol=TOL)


def test_compiled_closed_form_equals_numpy_reference(blocks):
    k = _random_k(3000, seed=9)
    rows = bulk.bloch_rows(blocks, k)
    ref, ok_ref = bulk._closed_form_rows(rows, 1e-12)
    ev, ok = _eig4_numba.closed_form_rows(np.ascontiguousarray(rows), 1e-12)
    assert ok_ref.all() and (ok == ok_ref).all()
    # Same formulas, other evaluation order: round-off ~1e-16 * ||H||^2 / E, as above.
    np.testing.assert_allclose(ev, ref, atol=1e-11)
    # The combined form r0 + c1 r1 + c2 r2 equals the kernel on the formed sum.
    r1, r2 = bulk.bloch_rows(blocks, k + 0.3), bulk.bloch_rows(blocks, 2 * k)
    mixed = bulk.combined_rows_eigenvalues(rows, r1, 0.25, r2, -0.5)
    np.testing.assert_allclose(mixed, bulk.rows_eigenvalues(rows + 0.25 * r1 - 0.5 * r2),
                               atol=1e-11)


@settings(max_examples=15, deadline=None)
@given(
    mu=st.floats(2.05, 2.95),
    lam=st.floats(-0.2, 0.2),
    b_field=st.floats(0.0, 0.2),
    phi=st.floats(0.0, 2 * np.pi),
    delta_re=st.floats(-0.1, 0.1),
    delta_im=st.floats(-0.1, 0.1),
)
def test_symmetries_for_random_parameters(mu, lam, b_field, phi, delta_re, delta_im):
    fsyst = bulk.wrapped_system()
    params = dict(t=1.0, mu=mu, lam=lam, B=b_field, phi=phi, delta=complex(delta_re, delta_im))
    blocks = bulk.fourier_blocks(fsyst, params)
    k = _random_k(30, seed=9)
    h = bulk.bloch_hamiltonian(blocks, k)
    np.testing.assert_allclose(h, h.conj().swapaxes(-1, -2), atol=TOL)
    np.testing.assert_allclose(
        TAU_X @ bulk.bloch_hamiltonian(blocks, -k).conj() @ TAU_X, -h, atol=TOL
    )
    np.testing.assert_allclose(h[:3], bulk.kwant_hamiltonian(fsyst, k[:3], params), atol=TOL)
    np.testing.assert_allclose(
        bulk.bloch_eigenvalues(blocks, k), np.linalg.eigvalsh(h), atol=1e-11
    )
