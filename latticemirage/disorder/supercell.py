r"""Periodic L1 x L2 supercells of the lattice model as sparse BdG matrices.

The supercell Hamiltonian is *derived from the Builder*: the real-space blocks
``blocks[n] = H[r, r + R_n]`` are read out of the finalized wrapped-around bulk
system (`latticemirage.bulk.fourier_blocks`) and tiled over the supercell with
vectorized index arithmetic; no Python loop runs over sites.

Conventions
-----------
Sites
    ``r = a p_1 + b p_2`` with ``0 <= a < L1``, ``0 <= b < L2``; site index
    ``s = a * L2 + b`` (C order of an array of shape ``(L1, L2)``). Orbital index
    ``4 s + o`` with ``o`` the Nambu orbital of `latticemirage.model`
    (``c_up, c_dn, c^dag_up, c^dag_dn``), or of the real basis below.
Twisted boundary conditions
    ``psi(r + L1 p_1) = exp(i theta_1) psi(r)`` and
    ``psi(r + L2 p_2) = exp(i theta_2) psi(r)``. This is the convention of
    Kwant's ``wraparound`` applied to a Builder with symmetry
    ``TranslationalSymmetry(L1 p_1, L2 p_2)``, with ``k_x = theta_1`` and
    ``k_y = theta_2`` (checked in the tests). The matrix element from a site to its
    neighbour across the boundary picks up ``exp(i (w_1 theta_1 + w_2 theta_2))``,
    ``w_i`` the number of times the hop wraps around direction ``i``.
Disorder
    A spin-independent potential ``V_s`` (energy in t) enters as ``+V`` for the
    electron and ``-V`` for the hole components, ``V tau_3 sigma_0`` in the Nambu
    basis, exactly as `latticemirage.model.onsite_disordered`.
Real basis
    For real ``delta``, real potentials and twists in ``{0, pi}`` the BdG matrix
    has the antiunitary symmetry ``A = U_phi diag(sigma_x, -sigma_x) U_phi^dagger K``
    with ``A^2 = 1`` (``U_phi`` a spin rotation about z by the field angle phi).
    In the per-site basis `real_basis` the matrix is then real symmetric, which
    halves the memory traffic of the vectors in KPM. The spectrum is unchanged
    (a unitary transformation); `Supercell.basis` records the transformation.
Reproducibility across machines
    Nothing here calls BLAS: the basis change is written out as real elementwise
    operations in a fixed order (`basis_change`), so the matrix is bitwise the same
    whatever BLAS build or core type (checked under ``OPENBLAS_CORETYPE=Haswell`` and
    ``Nehalem``) and whether NumPy's AVX2/AVX-512 kernels run or not. What remains
    platform-dependent: ``cos``/``sin`` of the field angle (C library), and the
    blocks read from Kwant (`bulk.fourier_blocks`), whose NumPy complex products use
    the run-time selected SIMD kernel. Measured (2026-11-30, NumPy 2.4): with NumPy's
    AVX2 targets disabled the blocks change only in entries that vanish by symmetry
    (<= 1e-17 t, dropped below ``_DROP_TOL``), so the supercell matrix is unchanged.
"""

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from latticemirage import bulk, model
from mirage_common.errors import ParameterError, check_finite

__all__ = [
    "Supercell",
    "add_potential",
    "basis_change",
    "prepared_blocks",
    "real_basis",
    "site_positions",
    "supercell",
    "tile",
]

NORBS = model.NORBS
# Imaginary parts below this (relative to the largest element) are rounding from
# the basis change (~1e-16); anything larger means the symmetry is broken.
_REAL_TOL = 1e-12
_DROP_TOL = 1e-13


def _check_shape(size):
    shape = (size, size) if np.ndim(size) == 0 else tuple(size)
    if len(shape) != 2:
        raise ParameterError("size", f"must be an int or a pair of ints, got {size!r}")
    for s in shape:
        if int(s) != s or s < 1:
            raise ParameterError("size", f"must be a positive integer, got {size!r}")
    return int(shape[0]), int(shape[1])


def site_positions(size):
    """Cartesian positions of the supercell sites, shape ``(L1 * L2, 2)``, in units of a."""
    l1, l2 = _check_shape(size)
    a, b = np.meshgrid(np.arange(l1), np.arange(l2), indexing="ij")
    tags = np.stack([a.ravel(), b.ravel()], axis=-1).astype(float)
    return tags @ np.asarray(model.LATTICE.prim_vecs)


def real_basis(phi):
    r"""Per-site unitary ``W`` (shape (4, 4)) making the BdG matrix real.

    Columns are the new orbitals in terms of the model's Nambu orbitals. With
    ``u = exp(i phi sigma_z / 2)`` (rotating the field direction onto x),

    .. math::

        W = \mathrm{diag}(u, u^*)\,
            \mathrm{diag}\Big(\tfrac{1}{\sqrt2}\begin{pmatrix}1 & i\\ 1 & -i\end{pmatrix},
                              \tfrac{1}{\sqrt2}\begin{pmatrix}1 & i\\ -1 & i\end{pmatrix}\Big),

    which satisfies ``W = U W^*`` for the antiunitary symmetry ``U K`` of the model,
    so ``W^dagger h W`` is real for every onsite and hopping block ``h``.
    ``W`` is block diagonal in Nambu space, so ``V tau_3`` stays ``V tau_3``.

    The left factor is diagonal, so every entry is one product ``d_i B_ij``, formed
    here in real arithmetic (no BLAS, no NumPy complex kernel: see `basis_change`);
    ``cos(phi/2)`` and ``sin(phi/2)`` come from the C library's ``cos``/``sin``.
    """
    s = 1 / np.sqrt(2)
    half = 0.5 * float(phi)
    c, sn = math.cos(half), math.sin(half)
    d_re = np.array([c, c, c, c])  # diag(u, u^*) = exp(i phi/2 * (1, -1, -1, 1))
    d_im = np.array([sn, -sn, -sn, sn])
    b_re = s * np.array([[1.0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, -1, 0]])
    b_im = s * np.array([[0.0, 1, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]])
    w_re = d_re[:, None] * b_re - d_im[:, None] * b_im
    w_im = d_re[:, None] * b_im + d_im[:, None] * b_re
    return _complex(w_re, w_im)


def _complex(re, im):
    """``re + 1j im`` by assignment (no arithmetic, hence no rounding anywhere)."""
    out = np.empty(re.shape, dtype=complex)
    out.real, out.imag = re, im
    return out


def basis_change(blocks, basis):
    r"""``basis^dagger h basis`` for every block, in a fixed order of IEEE operations.

    The product is written out as real multiplications and additions over the
    contraction index in a fixed order, each a separate elementwise NumPy call on
    float64 arrays, so every entry is the same correctly rounded sequence on any CPU.
    A matrix product (``@``) would go through BLAS, whose kernels (and therefore the
    last bits) depend on the CPU and the BLAS build (seen with ``OPENBLAS_CORETYPE``),
    and NumPy's complex multiply is itself a run-time dispatched SIMD kernel whose
    AVX2 version contracts to FMA (its bits differ from the SSE2 one).

    Parameters
    ----------
    blocks : dict of tuple(int, int) to ndarray, shape (norbs, norbs)
    basis : ndarray, shape (norbs, norbs)

    Returns
    -------
    dict of tuple(int, int) to complex ndarray, shape (norbs, norbs)
        Same keys and order.
    """
    keys = list(blocks)
    h = np.array([np.asarray(blocks[n], dtype=complex) for n in keys])  # (nb, no, no)
    h_re, h_im = np.ascontiguousarray(h.real), np.ascontiguousarray(h.imag)
    w = np.asarray(basis, dtype=complex)
    w_re, w_im = np.ascontiguousarray(w.real), np.ascontiguousarray(w.imag)
    norbs = w.shape[0]
    # P = h W: P[k, j] = sum_m h[k, m] W[m, j], m = 0, 1, ... in order.
    p_re = np.zeros(h.shape)
    p_im = np.zeros(h.shape)
    for m in range(norbs):
        hr, hi = h_re[:, :, m, None], h_im[:, :, m, None]
        wr, wi = w_re[None, None, m, :], w_im[None, None, m, :]
        p_re = p_re + (hr * wr - hi * wi)
        p_im = p_im + (hr * wi + hi * wr)
    # out = W^dagger P: out[i, j] = sum_k conj(W[k, i]) P[k, j], k = 0, 1, ... in order.
    o_re = np.zeros(h.shape)
    o_im = np.zeros(h.shape)
    for k in range(norbs):
        wr, wi = w_re[None, k, :, None], w_im[None, k, :, None]
        pr, pi = p_re[:, k, None, :], p_im[:, k, None, :]
        o_re = o_re + (wr * pr + wi * pi)
        o_im = o_im + (wr * pi - wi * pr)
    out = _complex(o_re, o_im)
    return {n: out[i] for i, n in enumerate(keys)}


def _check_twist(twist):
    theta = np.asarray(twist, dtype=float)
    check_finite("twist", theta)
    if theta.shape != (2,):
        raise ParameterError("twist", f"must be a pair of phases, got {twist!r}")
    return theta


def prepared_blocks(blocks, twist=(0.0, 0.0), basis=None, dtype=complex):
    """The blocks `tile` stores: in the basis, with round-off entries dropped.

    Parameters are those of `tile`. Adds a zero on-site block if there is none,
    applies `basis_change`, sets entries below ``1e-13`` of the largest to zero
    and, for ``dtype=float``, checks that the blocks and the twist phases are real.
    Shared by `tile` and the matrix-free `latticemirage.disorder.stencil` operator,
    so both represent the same entries.

    Returns
    -------
    dict of tuple(int, int) to complex ndarray, shape (norbs, norbs)
    """
    theta = _check_twist(twist)
    norbs = next(iter(blocks.values())).shape[0]
    blocks = dict(blocks)
    blocks.setdefault((0, 0), np.zeros((norbs, norbs), dtype=complex))
    if basis is not None:
        blocks = basis_change(blocks, basis)
    scale = max(np.abs(h).max() for h in blocks.values())
    # Rounding from the DFT in `fourier_blocks` and from the basis change leaves
    # ~1e-16 * scale in entries that are zero by symmetry; they are not stored.
    blocks = {n: np.where(np.abs(h) > _DROP_TOL * scale, h, 0) for n, h in blocks.items()}
    if np.dtype(dtype).kind == "f":
        if max(np.abs(np.imag(h)).max() for h in blocks.values()) > _REAL_TOL * scale:
            raise ValueError("blocks are not real in this basis; use dtype=complex")
        if np.any(np.abs(np.sin(theta)) > _REAL_TOL):
            raise ValueError("a twist other than 0 or pi makes the matrix complex")
    return blocks


def tile(blocks, size, twist=(0.0, 0.0), basis=None, dtype=complex):
    """Tile real-space blocks into a periodic supercell CSR matrix.

    Parameters
    ----------
    blocks : dict of tuple(int, int) to ndarray, shape (norbs, norbs)
        ``blocks[n] = H[r, r + n_1 p_1 + n_2 p_2]`` as from `bulk.fourier_blocks`.
    size : int or (int, int)
        ``L`` or ``(L1, L2)``, the supercell in units of the primitive vectors.
    twist : (float, float)
        Boundary phases ``(theta_1, theta_2)`` in radians.
    basis : ndarray, shape (norbs, norbs), optional
        Per-site unitary; the blocks are transformed to ``basis^dagger h basis``.
    dtype : numpy dtype
        ``complex`` or ``float``; ``float`` requires the transformed blocks and all
        boundary phases to be real (else `ValueError`).

    Returns
    -------
    matrix : scipy.sparse.csr_matrix, shape (N, N), ``N = norbs * L1 * L2``
        The diagonal is always stored, so a potential can be added in place.
    diag_slots : ndarray of int, shape (N,)
        Position of each diagonal element in ``matrix.data``.
    """
    l1, l2 = _check_shape(size)
    theta = _check_twist(twist)
    nsites = l1 * l2
    blocks = prepared_blocks(blocks, theta, basis, dtype)
    norbs = next(iter(blocks.values())).shape[0]
    real = np.dtype(dtype).kind == "f"
    # Stencil: for orbital row alpha, the list of (n, beta, value) with value != 0;
    # the onsite diagonal is always kept (potentials are added to it in place).
    stencil = []
    for alpha in range(norbs):
        entries = [
            (n, beta, h[alpha, beta])
            for n, h in sorted(blocks.items())
            for beta in range(norbs)
            if abs(h[alpha, beta]) > 0 or (n == (0, 0) and alpha == beta)
        ]
        stencil.append(entries)
    counts = np.array([len(e) for e in stencil])
    per_site = counts.sum()
    n = norbs * nsites
    index_dtype = np.int32 if n * counts.max() < 2**31 - 1 else np.int64
    a, b = np.divmod(np.arange(nsites, dtype=index_dtype), l2)
    indices = np.empty((nsites, per_site), dtype=index_dtype)
    data = np.empty((nsites, per_site), dtype=float if real else complex)
    # The loops run over the stencil entries only (<= norbs^2 * #blocks); every
    # statement inside is vectorized over all sites.
    col = 0
    diag_pos = np.empty(norbs, dtype=np.int64)
    for alpha, entries in enumerate(stencil):
        for (n1, n2), beta, value in entries:
            if (n1, n2) == (0, 0) and beta == alpha:
                diag_pos[alpha] = col - counts[:alpha].sum()
            w1, a2 = np.divmod(a + n1, l1)
            w2, b2 = np.divmod(b + n2, l2)
            np.multiply(a2, l2, out=a2)
            a2 += b2
            a2 *= norbs
            a2 += beta
            indices[:, col] = a2
            if theta.any():
                phase = np.exp(1j * (w1 * theta[0] + w2 * theta[1]))
                data[:, col] = (value * phase).real if real else value * phase
            else:
                data[:, col] = value.real if real else value
            col += 1
    indptr = np.zeros(n + 1, dtype=index_dtype)
    np.cumsum(np.tile(counts, nsites), out=indptr[1:])
    mat = sp.csr_matrix((data.reshape(-1), indices.reshape(-1), indptr), shape=(n, n))
    del data, indices
    if min(l1, l2) < 3:
        # Small cells: two blocks can land on the same neighbour; merge them and
        # find the diagonal by search (cheap at this size).
        mat.sum_duplicates()
        rows = np.repeat(np.arange(n), np.diff(mat.indptr))
        diag_slots = np.flatnonzero(mat.indices == rows)
    else:
        diag_slots = mat.indptr[:-1] + np.tile(diag_pos, nsites)
    return mat, diag_slots


def add_potential(matrix, diag_slots, potential, norbs=NORBS):
    """Add ``V_s tau_3 sigma_0`` to the stored diagonal of a `tile` matrix, in place.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix from `tile`
    diag_slots : ndarray, shape (N,), from `tile`
    potential : array_like, shape (L1, L2) or (nsites,), in t
    """
    v = np.asarray(potential, dtype=float).reshape(-1)
    check_finite("potential", v)
    nsites = matrix.shape[0] // norbs
    if v.size != nsites:
        raise ValueError(f"potential has {v.size} values, the supercell has {nsites} sites")
    # tau_3 in the Nambu basis of model.py: electrons (first half) +, holes -.
    # A one-orbital (electron-only) matrix just gets +V.
    tau3 = np.repeat([1.0, -1.0], norbs // 2) if norbs > 1 else np.ones(1)
    matrix.data[diag_slots] += (v[:, None] * tau3).reshape(-1)
    return matrix


@dataclass(frozen=True)
class Supercell:
    """A periodic supercell Hamiltonian and how it was made.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, shape (N, N)
        BdG Hamiltonian in t; real symmetric if ``real``, else complex Hermitian.
    shape : (int, int)
        ``(L1, L2)``.
    twist : (float, float)
        Boundary phases in radians.
    real : bool
        Whether ``matrix`` is written in the per-site `real_basis`.
    basis : ndarray, shape (4, 4)
        Per-site unitary from the model's Nambu orbitals to the matrix orbitals.
    diag_slots : ndarray, shape (N,)
        Positions of the diagonal in ``matrix.data``.
    blocks : dict of tuple(int, int) to ndarray, shape (4, 4), optional
        The blocks ``matrix`` is tiled from (`prepared_blocks`: in the matrix basis,
        round-off dropped), for the matrix-free `latticemirage.disorder.stencil`.
    potential : ndarray, shape (L1 * L2,), optional
        The on-site potential in t added as ``V tau_3`` (None: none).
    """

    matrix: sp.csr_matrix
    shape: tuple
    twist: tuple
    real: bool
    basis: np.ndarray
    diag_slots: np.ndarray
    blocks: dict = None
    potential: np.ndarray = None

    @property
    def nsites(self):
        """Number of lattice sites ``L1 * L2``."""
        return self.shape[0] * self.shape[1]


def supercell(params, size, twist=(0.0, 0.0), potential=None, real="auto", blocks=None):
    """Build the periodic supercell BdG matrix of the model, optionally disordered.

    Parameters
    ----------
    params : dict
        Model parameters ``t, mu, lam, B, phi, delta`` in t (Kwant ``params``).
    size : int or (int, int)
        Supercell ``L`` or ``(L1, L2)``.
    twist : (float, float)
        Boundary phases in radians.
    potential : array_like, shape (L1, L2), optional
        Onsite disorder potential in t (``V tau_3``).
    real : bool or "auto"
        Write the matrix in the real basis. ``"auto"`` does so when allowed (real
        ``delta``, twists in {0, pi}); ``True`` raises if not allowed.
    blocks : dict, optional
        Precomputed `bulk.fourier_blocks` for *params* (saves reading Kwant again).

    Returns
    -------
    Supercell
    """
    shape = _check_shape(size)
    if blocks is None:
        blocks = bulk.fourier_blocks(bulk.wrapped_system(), params)
    theta = tuple(float(x) for x in np.broadcast_to(np.asarray(twist, dtype=float), (2,)))
    allowed = np.isreal(params.get("delta", 0.0)) and all(
        abs(np.sin(x)) <= _REAL_TOL for x in theta
    )
    if real is True and not allowed:
        raise ValueError("real basis needs a real delta and twists in {0, pi}")
    use_real = bool(allowed) if real == "auto" else bool(real)
    basis = real_basis(params.get("phi", 0.0)) if use_real else np.eye(NORBS, dtype=complex)
    matrix, slots = tile(
        blocks, shape, theta, basis=basis if use_real else None,
        dtype=float if use_real else complex,
    )
    if potential is not None:
        potential = np.array(potential, dtype=float).reshape(-1)
        add_potential(matrix, slots, potential)
    prepared = prepared_blocks(blocks, theta, basis if use_real else None,
                               float if use_real else complex)
    return Supercell(matrix, shape, theta, use_real, basis, slots, prepared, potential)
