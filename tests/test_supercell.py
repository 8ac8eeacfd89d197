"""Supercells tiled from the Builder's blocks, checked against Kwant's own supercell."""

import kwant
import numpy as np
import pytest

from latticemirage import bulk, model
from latticemirage.disorder import supercell as scm
from mirage_common.errors import ParameterError

# Sums of a handful of O(1) products: round-off only.
TOL = 1e-12

PARAMS = dict(t=1.0, mu=2.4, lam=0.3, B=0.1, phi=0.7, delta=0.05)


def kwant_supercell(shape, disordered=True):
    """Finalized wrapped Kwant system of an L1 x L2 supercell made from model's value functions."""
    l1, l2 = shape
    p1, p2 = model.LATTICE.prim_vecs
    builder = kwant.Builder(kwant.TranslationalSymmetry(l1 * np.asarray(p1), l2 * np.asarray(p2)))
    for a in range(l1):
        for b in range(l2):
            builder[model.LATTICE(a, b)] = model.onsite_disordered if disordered else model.onsite
    for bond in model.BONDS:
        builder[kwant.builder.HoppingKind(bond, model.LATTICE)] = model.hopping
    return kwant.wraparound.wraparound(builder).finalized()


def kwant_matrix(fsyst, shape, twist, potential):
    """Kwant's matrix, reordered to the supercell's orbital order ``4 (a L2 + b) + o``."""
    l1, l2 = shape
    pot = {} if potential is None else {
        "potential": lambda site: potential[site.tag[0] % l1, site.tag[1] % l2]
    }
    h = fsyst.hamiltonian_submatrix(
        params={**PARAMS, **pot, "k_x": twist[0], "k_y": twist[1]}
    )
    site_index = np.array([(s.tag[0] % l1) * l2 + s.tag[1] % l2 for s in fsyst.sites])
    orb = (model.NORBS * site_index[:, None] + np.arange(model.NORBS)).ravel()
    out = np.empty_like(h)
    out[np.ix_(orb, orb)] = h
    return out


@pytest.mark.parametrize("shape", [(4, 5), (3, 3), (2, 2), (1, 3)])
def test_tiling_equals_kwant_supercell_with_twist_and_disorder(shape):
    rng = np.random.default_rng(7)
    potential = rng.normal(size=shape)
    twist = (0.3, -1.1)
    sc = scm.supercell(PARAMS, shape, twist=twist, potential=potential)
    assert not sc.real  # a generic twist forbids the real basis
    expected = kwant_matrix(kwant_supercell(shape), shape, twist, potential)
    np.testing.assert_allclose(sc.matrix.toarray(), expected, atol=TOL)


@pytest.mark.parametrize("twist", [(0.0, 0.0), (0.0, np.pi), (np.pi, np.pi)])
def test_real_basis_is_a_unitary_transform_of_kwant(twist):
    shape = (4, 3)
    potential = np.random.default_rng(3).uniform(-1, 1, size=shape)
    sc = scm.supercell(PARAMS, shape, twist=twist, potential=potential)
    assert sc.real and sc.matrix.dtype == np.float64
    w = np.kron(np.eye(sc.nsites), sc.basis)
    np.testing.assert_allclose(w.conj().T @ w, np.eye(len(w)), atol=TOL)
    back = w @ sc.matrix.toarray() @ w.conj().T
    expected = kwant_matrix(kwant_supercell(shape), shape, twist, potential)
    np.testing.assert_allclose(back, expected, atol=TOL)
    # Symmetric: real Hermitian.
    assert abs(sc.matrix - sc.matrix.T).max() < TOL


def test_clean_supercell_spectrum_is_the_folded_bloch_spectrum():
    # Independent of Kwant's supercell: the eigenvalues of a clean L1 x L2 cell at
    # twist theta are those of H(k) at k.(L_i p_i) = theta_i + 2 pi m_i.
    shape, twist = (3, 4), (0.4, 1.3)
    sc = scm.supercell(PARAMS, shape, twist=twist)
    blocks = bulk.fourier_blocks(bulk.wrapped_system(), PARAMS)
    recip = 2 * np.pi * np.linalg.inv(np.asarray(model.LATTICE.prim_vecs)).T
    m1, m2 = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    frac = np.stack([(twist[0] + 2 * np.pi * m1.ravel()) / shape[0],
                     (twist[1] + 2 * np.pi * m2.ravel()) / shape[1]], axis=-1) / (2 * np.pi)
    k = frac @ recip
    bloch = np.linalg.eigvalsh(bulk.bloch_hamiltonian(blocks, k)).ravel()
    np.testing.assert_allclose(
        np.sort(np.linalg.eigvalsh(sc.matrix.toarray())), np.sort(bloch), atol=TOL
    )


def test_every_row_has_the_same_stencil_and_a_stored_diagonal():
    sc = scm.supercell(PARAMS, 6)
    counts = np.diff(sc.matrix.indptr)
    assert np.all(counts == counts[0])
    # Real basis: 2 entries per row for each of the 6 hoppings, 3 onsite.
    assert counts[0] == 15
    rows = np.arange(sc.matrix.shape[0])
    np.testing.assert_array_equal(sc.matrix.indices[sc.diag_slots], rows)


def test_potential_enters_as_tau3():
    shape = (3, 3)
    v = np.arange(9.0).reshape(shape)
    clean = scm.supercell(PARAMS, shape, real=False)
    dirty = scm.supercell(PARAMS, shape, potential=v, real=False)
    diff = (dirty.matrix - clean.matrix).toarray()
    expected = np.diag(np.repeat(v.ravel(), 4) * np.tile([1, 1, -1, -1], 9))
    np.testing.assert_allclose(diff, expected, atol=TOL)


@pytest.mark.parametrize("size", [0, -3, 2.5, (3, 0), (1, 2, 3)])
def test_bad_size_is_refused(size):
    with pytest.raises(ParameterError, match="size"):
        scm.supercell(PARAMS, size)


def test_real_basis_refused_for_generic_twist():
    with pytest.raises(ValueError, match="real basis"):
        scm.supercell(PARAMS, 3, twist=(0.2, 0.0), real=True)


# ----------------------------------------------------------------------------
# Bitwise reproducibility across CPU kernels (issue 10, item 6)

_CHILD = """
import hashlib, json
import numpy as np
from threadpoolctl import threadpool_info
from latticemirage.disorder import supercell as scm

def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()

params = dict(t=1.0, mu=2.4, lam=0.3, B=0.1, phi=0.7, delta=0.05)
sc = scm.supercell(params, 5, potential=np.linspace(-0.3, 0.4, 25).reshape(5, 5))
rng = np.random.default_rng(3)  # generic complex blocks: every product rounds
blocks = {(i, 0): rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
          for i in range(3)}
out = scm.basis_change(blocks, scm.real_basis(1.1))
blas = [i.get("architecture") for i in threadpool_info() if i["internal_api"] == "openblas"]
print(json.dumps({"blas": blas, "supercell": digest(sc.matrix.data, sc.matrix.indices,
                  sc.matrix.indptr, sc.basis), "basis_change": digest(*out.values())}))
"""


def _child(**env):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-c", _CHILD], cwd=root, capture_output=True,
                         text=True, env={**os.environ, **env}, check=True, timeout=120)
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_supercell_bitwise_identical_across_openblas_core_types():
    # The real-basis change used to be a BLAS matrix product: Haswell (AVX2) and
    # Nehalem (SSE) OpenBLAS kernels gave different last bits of the matrix.
    haswell = _child(OPENBLAS_CORETYPE="Haswell")
    nehalem = _child(OPENBLAS_CORETYPE="Nehalem")
    if haswell["blas"][:1] != ["Haswell"] or nehalem["blas"][:1] != ["Nehalem"]:
        pytest.skip(f"OpenBLAS core type not switchable here ({haswell['blas']}, "
                    f"{nehalem['blas']})")
    assert haswell["supercell"] == nehalem["supercell"]
    assert haswell["basis_change"] == nehalem["basis_change"]


def test_basis_change_bitwise_identical_without_numpy_simd_kernels():
    # NumPy's complex multiply is a run-time dispatched kernel (its AVX2 version uses
    # FMA): `basis_change` uses only real elementwise operations, so disabling NumPy's
    # dispatched targets must not change a bit.
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    available = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    if not available:
        pytest.skip("this CPU runs NumPy's baseline kernels only")
    native = _child()
    baseline = _child(NPY_DISABLE_CPU_FEATURES=" ".join(available))
    assert native["basis_change"] == baseline["basis_change"]


def test_basis_change_equals_the_matrix_product():
    rng = np.random.default_rng(1)
    blocks = {(0, i): rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
              for i in range(2)}
    w = scm.real_basis(0.4)
    out = scm.basis_change(blocks, w)
    assert list(out) == list(blocks)
    for n, h in blocks.items():
        np.testing.assert_allclose(out[n], w.conj().T @ h @ w, atol=TOL)
    # And W itself is the documented product of the field rotation and the fixed part.
    s = 1 / np.sqrt(2)
    u = np.diag([np.exp(0.2j), np.exp(-0.2j)])
    z = np.zeros((2, 2))
    fixed = np.block([[s * np.array([[1, 1j], [1, -1j]]), z],
                      [z, s * np.array([[1, 1j], [-1, 1j]])]])
    np.testing.assert_allclose(w, np.block([[u, z], [z, u.conj()]]) @ fixed, atol=TOL)
