"""The pairing shell by sparse spectrum slicing, the zero-field levels and the cheap projection.

Reference: dense ``eigh`` (`shell.shell_eigenpairs(method="dense")`, the solver's original
path) and the plain GEMM projection; identities hold to round-off, so the tolerances are
round-off bounds (eigenvectors converge to ~1e-12 in ARPACK's shift-invert mode).
"""

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

from latticemirage import bulk
from latticemirage.disorder import selfconsistent as scs
from latticemirage.disorder import shell
from latticemirage.disorder import supercell as scm
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.errors import ParameterError


def _mapping(field=1.0):
    return map_to_lattice(PhysicalParameters(beta=3.0, field=field, e_fermi=20.0, delta0=0.03))


def _h_xi(size, twist, width, seed=1):
    m = _mapping()
    base = {**m.lattice_params(0.0), "delta": 0.0, "lam": 0.0, "B": 0.0}
    xb = {n: h[:1, :1].copy()
          for n, h in bulk.fourier_blocks(bulk.wrapped_system(), base).items()}
    real = all(abs(np.sin(x)) < 1e-12 for x in twist)
    h, slots = scm.tile(xb, (size, size), twist, dtype=float if real else complex)
    if width:
        v = np.random.default_rng(seed).uniform(-width / 2, width / 2, size * size)
        scm.add_potential(h, slots, v, norbs=1)
    return h, 10 * m.delta0


@pytest.mark.parametrize("twist, width", [((0.0, 0.0), 0.5), ((0.7, 0.3), 0.5),
                                          ((np.pi, 0.0), 0.0)])
def test_sparse_shell_equals_dense(twist, width):
    # Several slices (10 states each), a complex twist, and a clean (degenerate) supercell.
    h, cutoff = _h_xi(16, twist, width)
    ed, pd = shell.shell_eigenpairs(h, cutoff, method="dense")
    es, ps = shell.shell_eigenpairs(h, cutoff, method="sparse", slice_states=10)
    assert len(es) == len(ed) > 20
    assert np.max(np.abs(es - ed)) < 1e-12  # round-off of two eigensolvers
    # The same subspace (degenerate vectors may be rotated): equal projectors.
    assert np.max(np.abs(ps @ ps.conj().T - pd @ pd.conj().T)) < 1e-10
    assert np.max(np.abs(ps.conj().T @ ps - np.eye(len(es)))) < 1e-10


def test_inertia_count_is_exact():
    h, cutoff = _h_xi(14, (0.0, 0.0), 0.7)
    e = np.linalg.eigvalsh(h.toarray())
    for sigma in (-3.0, -cutoff, 0.0013, cutoff, 0.5):
        assert shell.count_below(h, sigma) == np.count_nonzero(e < sigma)


def test_shell_input_errors():
    h, cutoff = _h_xi(8, (0.0, 0.0), 0.0)
    with pytest.raises(ParameterError, match="method"):
        shell.shell_eigenpairs(h, cutoff, method="lanczos")
    with pytest.raises(ParameterError, match="cutoff"):
        shell.shell_eigenpairs(h, 0.0)


def _naive_project(matrix, phi):
    matrix = sp.csr_matrix(matrix)
    m = phi.shape[1]
    out = np.zeros((m, 4, m, 4), dtype=np.result_type(matrix.dtype, phi.dtype))
    for o in range(4):
        for o2 in range(4):
            block = matrix[o::4][:, o2::4]
            out[:, o, :, o2] = phi.conj().T @ (block @ phi)
    return out.reshape(4 * m, 4 * m)


@pytest.mark.parametrize("twists", ["none", "grid:3"])
def test_projection_shortcuts_equal_gemm(twists):
    # The shortcuts (c 1, ±h_xi + c 1, repeated blocks) against one GEMM per block.
    m = _mapping(field=1.5)
    size = 10
    v = np.random.default_rng(3).uniform(-0.4, 0.4, (size, size))
    shells = scs.shell_hamiltonians(m.lattice_params(0.0), size, 10 * m.delta0,
                                    potential=v, twists=twists)
    base = {**m.lattice_params(0.0), "delta": 0.0}
    for s in shells[:2]:
        real = not np.iscomplexobj(s.h0)
        cell = scm.supercell(base, (size, size), twist=s.twist, potential=v, real=real)
        ref = _naive_project(cell.matrix, s.phi)
        assert np.max(np.abs(s.h0 - ref)) < 1e-12 * np.max(np.abs(ref))  # round-off


def test_zero_field_levels_give_the_spectrum():
    # B = 0: the 4M shell energies are ±sqrt(λ² + Δ²) of the M x M Hermitian C (exact);
    # with a field the structure is absent and the general path is kept.
    size = 12
    v = np.random.default_rng(0).uniform(-0.5, 0.5, (size, size))
    for field, expect in ((0.0, True), (1.0, False)):
        m = _mapping(field)
        shells = scs.shell_hamiltonians(m.lattice_params(0.0), size, 10 * m.delta0,
                                        potential=v, twists="pi")
        for s in shells:
            blocks = scs.chiral_blocks(s)
            levels = scs._zero_field_levels(blocks)
            assert (levels is not None) is expect
            if levels is None:
                continue
            d_t = 0.8 * m.delta0
            e = np.sort(np.abs(sla.eigvalsh(s.h0 + d_t * s.h_pair)))
            lam, c = levels
            assert np.max(np.abs(e - np.sort(np.repeat(np.hypot(lam, c * d_t), 4)))) < 1e-13
            t_t = 0.1 * m.tc0
            assert scs._shell_omega(s, blocks, d_t, t_t, levels) == pytest.approx(
                scs._shell_omega(s, blocks, d_t, t_t), rel=1e-13)  # round-off
            assert scs._shell_anomalous(s, blocks, d_t, t_t, levels) == pytest.approx(
                scs._shell_anomalous(s, None, d_t, t_t), rel=1e-11)  # round-off of eigh


def test_uniform_delta_with_sparse_shell_equals_dense():
    # One realization, both eigensolvers: the free energies agree to round-off, so the two
    # Brent searches land within a few of their tolerances (gap._XATOL) of each other.
    m = _mapping()
    size = 16
    v = np.random.default_rng(5).uniform(-0.5, 0.5, (size, size))
    coupling = scs.clean_coupling(m)
    out = []
    for method in ("dense", "sparse"):
        sh = scs.shell_hamiltonians(m.lattice_params(0.0), size, 10 * m.delta0, potential=v,
                                    twists="pi", eigensolver=method)
        out.append(scs.solve_uniform(m, size, temperature=0.1, coupling=coupling, shells=sh,
                                     twists="pi").delta)
    assert out[0] > 0.3
    assert out[1] == pytest.approx(out[0], abs=5e-7)  # two Brent searches, xatol 1e-7 Δ0 each


def test_compact_shells_keep_the_chiral_blocks_only():
    # compact=True drops the 4M x 4M matrices once their chiral blocks are known; the
    # blocks, the free energy and the residual path are those of the full shell.
    m = _mapping()
    size = 12
    v = np.random.default_rng(2).uniform(-0.5, 0.5, (size, size))
    kw = {"potential": v, "twists": "pi"}
    full = scs.shell_hamiltonians(m.lattice_params(0.0), size, 10 * m.delta0, **kw)
    compact = scs.shell_hamiltonians(m.lattice_params(0.0), size, 10 * m.delta0, compact=True,
                                     **kw)
    d_t, t_t = 0.7 * m.delta0, 0.1 * m.tc0
    for f, c in zip(full, compact, strict=True):
        assert c.h0 is None and c.h_pair is None
        for a, b in zip(scs.chiral_blocks(f), scs.chiral_blocks(c), strict=True):
            np.testing.assert_array_equal(a, b)
        # The anomalous sum of a compact shell (chiral path) against the full 4M matrix.
        assert scs._shell_anomalous(c, scs.chiral_blocks(c), d_t, t_t) == pytest.approx(
            scs._shell_anomalous(f, None, d_t, t_t), rel=1e-11)  # round-off of eigh
        # What the compact shell's fallback diagonalizes (the 4M matrix rebuilt from the
        # blocks in the chiral basis) gives the same sum.
        ref = scs._shell_anomalous(f, None, d_t, t_t)
        blocks = scs.chiral_blocks(c)
        h, hp = (np.block([[np.zeros_like(x), x], [x.T, np.zeros_like(x)]]) for x in blocks)
        e, vec = sla.eigh(h + d_t * hp)
        rebuilt = float(np.sum(np.tanh(e / (2 * t_t)) * np.sum(vec * (hp @ vec), axis=0)))
        assert rebuilt == pytest.approx(ref, rel=1e-11)  # round-off of eigh


def test_shell_states_estimate_counts_the_clean_shell():
    # The estimate (clean k grid, no twist) is the clean supercell's shell exactly.
    m = _mapping()
    for size in (12, 16):
        (s,) = scs.shell_hamiltonians(m.lattice_params(0.0), size, 10 * m.delta0,
                                      twists="none")
        assert scs.shell_states_estimate(m, size, 10.0) == s.shell_states


def _site_sum_reference(s, delta_t, t_t):
    # The sum as first written: real-space amplitudes R[i, o, n] of every eigenvector.
    m, nsites = s.shell_states, s.phi.shape[0]
    e, v = sla.eigh(s.h0 + np.kron(s.phi.conj().T @ (delta_t[:, None] * s.phi), s.pair_block))
    w = np.tanh(e / (2 * t_t))
    r = (s.phi @ v.reshape(m, 16 * m)).reshape(nsites, 4, 4 * m)
    pr = np.einsum("op,ipn->ion", s.pair_block, r)
    return np.einsum("ion,ion,n->i", r.conj(), pr, w).real


@pytest.mark.parametrize("twists", ["pi", "grid:3"])
def test_site_resolved_sum_paths_agree(twists):
    # Chiral path (2M eigh), full path (4M eigh, M x M contraction) and the real-space
    # reference agree for a non-uniform Δ_i, real and complex shells.
    m = _mapping(field=1.0)
    size = 8
    rng = np.random.default_rng(4)
    v = rng.uniform(-0.5, 0.5, (size, size))
    shells = scs.shell_hamiltonians(m.lattice_params(0.0), size, 10 * m.delta0, potential=v,
                                    twists=twists)
    delta_t = m.delta0 * rng.uniform(0.5, 1.2, size * size)
    t_t = 0.1 * m.tc0
    for s in shells[:2]:
        ref = _site_sum_reference(s, delta_t, t_t)
        full = scs._site_anomalous(s, None, delta_t, t_t)
        assert np.max(np.abs(full - ref)) < 1e-12 * np.max(np.abs(ref))  # round-off
        blocks = scs.chiral_blocks(s)
        if blocks is not None:
            chiral = scs._site_anomalous(s, blocks, delta_t, t_t)
            assert np.max(np.abs(chiral - ref)) < 1e-10 * np.max(np.abs(ref))  # eigh round-off
    # grid:3 holds complex twists (no chiral blocks: the full path); pi only real ones.
    assert any(scs.chiral_blocks(s) is None for s in shells[:2]) == (twists != "pi")


@pytest.mark.parametrize("twists, compact", [("diagonal", True), ("diagonal", False),
                                             ("grid:3", True)])
def test_zero_field_shells_equal_the_reprojected_ones(twists, compact):
    """B enters on site only, so the B = 0 shells are the field's less 1_M (x) Z: equal to
    the eigenstates' re-projection at B = 0 to round-off (measured ≤ 3e-17), chiral or
    full, real or complex twists; the field's shells need no eigenstates kept."""
    m = _mapping(1.0)
    p, p0 = m.lattice_params(0.0), _mapping(0.0).lattice_params(0.0)
    v = np.random.default_rng(3).uniform(-0.35, 0.35, (12, 12))
    kw = {"potential": v, "twists": twists, "compact": compact}
    sh = scs.shell_hamiltonians(p, 12, 0.3, **kw)
    ref = scs.shell_hamiltonians(p0, 12, 0.3, reuse=sh, **kw)
    lean = scs.shell_hamiltonians(p, 12, 0.3, keep_states=False, **kw)
    assert all(s.phi is None and s.shell_states == r.shell_states
               for s, r in zip(lean, sh, strict=True))
    got = scs.zero_field_shells(lean, p, p0)
    for a, b in zip(got, ref, strict=True):
        pairs = zip(a.chiral, b.chiral, strict=True) if b.chiral is not None else ((a.h0, b.h0),
                                                                      (a.h_pair, b.h_pair))
        for x, y in pairs:
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-15)  # round-off of 0.03 t
    # The field's own shells are unchanged (copies, not views, were modified).
    again = scs.shell_hamiltonians(p, 12, 0.3, keep_states=False, **kw)
    for a, b in zip(lean, again, strict=True):
        pairs = (zip(a.chiral, b.chiral, strict=True) if a.chiral is not None
                 else ((a.h0, b.h0),))
        for x, y in pairs:
            np.testing.assert_array_equal(x, y)


def test_onsite_difference_is_only_for_on_site_changes():
    m = _mapping(1.0)
    p = m.lattice_params(0.0)
    z = scs.onsite_difference(p, _mapping(0.0).lattice_params(0.0))
    assert z is not None and np.count_nonzero(z) == 4  # the Zeeman term, ±B per orbital
    assert np.max(np.abs(z)) == pytest.approx(m.physical.field * m.delta0)
    # A changed Ising coupling lives on the bonds: not an on-site block.
    assert scs.onsite_difference(p, {**p, "lam": 0.5 * p["lam"]}) is None
    with pytest.raises(ValueError, match="other"):
        scs.zero_field_shells(scs.shell_hamiltonians(p, 8, 0.3, twists="none"), p,
                              {**p, "lam": 0.0})


def test_gram_expansion_equals_the_product_per_evaluation():
    """D D^T = G0 + Δ S + Δ² (1 (x) q q^T) for on-site pairing: the search's free energy
    equals the per-evaluation product to round-off (measured 2e-16 relative)."""
    m = _mapping(1.0)
    v = np.random.default_rng(3).uniform(-0.35, 0.35, (16, 16))
    (sh,) = scs.shell_hamiltonians(m.lattice_params(0.0), 16, 0.3, potential=v,
                                   twists="none", compact=True)
    blocks = scs.chiral_blocks(sh)
    gram = scs._gram(blocks)
    assert gram is not None
    for d_t in (0.0, 0.01, 0.03):
        for temp in (0.003, 0.0):
            assert scs._shell_omega(sh, blocks, d_t, temp, None, gram) == pytest.approx(
                scs._shell_omega(sh, blocks, d_t, temp), rel=1e-13)
    # Pairing that is not 1 (x) q: no expansion (the product is taken per evaluation).
    rng = np.random.default_rng(0)
    assert scs._gram((blocks[0], rng.standard_normal(blocks[1].shape))) is None
