r"""The pairing shell of a realization: eigenpairs of ``h_xi`` with ``|eps| < omega_c``.

The dense gap solver (`latticemirage.disorder.selfconsistent`) pairs the M eigenstates
``phi_a`` of the spin-independent normal Hamiltonian ``h_xi`` (L² x L², disorder
included) that lie in the shell ``|eps_a| < omega_c``. Two ways to get them, with the same
result (the same subspace; eigenvectors up to sign, degenerate ones up to a rotation):

``dense``
    LAPACK ``eigh`` of the dense ``h_xi`` restricted to the shell's values (``evx``).
    O(L⁶) time, O(L⁴) memory: 300² would need a 65 GB matrix.
``sparse``
    Spectrum slicing with shift-invert Lanczos (ARPACK through `scipy.sparse.linalg.eigsh`)
    on the sparse ``h_xi``: the shell is cut into slices of about `SLICE_STATES`
    eigenvalues; each slice gets one sparse LU factorization at its centre and the
    eigenvalues nearest to it. Completeness is *checked*, not hoped for: Sylvester's law
    of inertia counts the eigenvalues below each slice edge exactly (the signs of the
    pivots of a symmetric sparse ``LDLᵀ`` of ``h_xi − σ``, SuperLU in symmetric mode
    without row pivoting), and a slice is accepted only when it holds exactly that many
    eigenvalues; otherwise it is redone with more Lanczos vectors and a different start,
    and after `_RETRIES` failures `ShellError` is raised. Memory O(L² M) (the
    eigenvectors themselves); time about 0.12 s per shell state at 300² (three LU solves of
    19 ms per state with 50-state slices; larger slices spend more in ARPACK itself:
    0.15 s per state at 150).

``auto`` takes ``dense`` up to `DENSE_MAX_SITES` sites (64²) and ``sparse`` above (the
crossover, between 48² and 72², measured by ``benchmarks/bench_selfconsistent.py shell``,
docs/performance.md).

The Lanczos start vectors are drawn from ``numpy.random.SeedSequence`` of the slice index,
so the result is the same on every run and machine (up to BLAS round-off).

Units: whatever ``h_xi`` is in (t in this package); ``cutoff`` in the same unit.
"""

import math

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from mirage_common.errors import ParameterError, check_positive

__all__ = [
    "DENSE_MAX_SITES",
    "METHODS",
    "SLICE_STATES",
    "ShellError",
    "count_below",
    "shell_eigenpairs",
]

METHODS = ("auto", "dense", "sparse")
# auto: dense eigh up to 64² sites. Measured (validate disorder point, one twist, one thread):
# sparse/dense time 1.04 at 48², 0.29 at 72², 0.14 at 96². 64² stays dense so that the validate
# stage's supercells (clean ones with degenerate levels among them) keep the reference path.
DENSE_MAX_SITES = 64 * 64
SLICE_STATES = 50  # eigenvalues per slice: ARPACK overhead grows as k², solves as k (measured)
_RETRIES = 3
_RESIDUAL_TOL = 1e-8  # relative eigen-residual accepted (ARPACK converges to ~1e-12 here)


class ShellError(RuntimeError):
    """The sparse shell eigensolver could not confirm a complete, accurate shell."""


def _factor(h, sigma):
    """SuperLU of ``h − sigma`` in symmetric mode, no row pivoting (an ``LDLᵀ``)."""
    n = h.shape[0]
    a = sp.csc_matrix(h - sigma * sp.identity(n, dtype=h.dtype, format="csc"))
    lu = spla.splu(a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                   options={"SymmetricMode": True})
    # The inertia argument needs P A Pᵀ = L U with the same permutation on both sides;
    # SuperLU only swaps rows if a pivot is exactly zero (sigma on an eigenvalue).
    if not np.array_equal(lu.perm_r, lu.perm_c):
        raise ShellError(f"the LDL^T of h - {sigma:g} needed row pivoting (sigma on an "
                         "eigenvalue?): the inertia count is not available there")
    return lu


def count_below(h, sigma):
    """Number of eigenvalues of the Hermitian sparse *h* below *sigma* (Sylvester).

    ``h − sigma = P^T L D L^H P`` with ``D`` the diagonal of SuperLU's U (no row pivoting);
    the inertia of ``D`` is that of ``h − sigma``.
    """
    lu = _factor(h, float(sigma))
    return int(np.count_nonzero(lu.U.diagonal().real < 0))


def _dense(h, cutoff):
    eps, vecs = sla.eigh(h.toarray(), driver="evx", subset_by_value=(-cutoff, cutoff))
    keep = np.abs(eps) < cutoff
    return eps[keep], np.ascontiguousarray(vecs[:, keep])


def _slice(h, low, high, expected, index):
    """Eigenpairs of *h* in ``[low, high)``, exactly *expected* of them, by shift-invert."""
    n = h.shape[0]
    sigma = 0.5 * (low + high)
    lu = _factor(h, sigma)
    op = spla.LinearOperator(h.shape, matvec=lu.solve, dtype=h.dtype)
    pad = max(8, expected // 8)
    for attempt in range(_RETRIES):
        k = min(expected + pad, n - 2)
        rng = np.random.default_rng(np.random.SeedSequence([int(index), attempt]))
        v0 = rng.standard_normal(n)
        if np.iscomplexobj(h):
            v0 = v0 + 1j * rng.standard_normal(n)
        try:
            w, v = spla.eigsh(h, k=k, sigma=sigma, OPinv=op, v0=v0, which="LM",
                              ncv=min(n - 1, 2 * k + 1 + pad))
        except spla.ArpackNoConvergence:  # degenerate clusters (a clean supercell): more room
            found = "no convergence"
            pad *= 2
            continue
        inside = (w >= low) & (w < high)
        found = f"{np.count_nonzero(inside)} eigenvalues"
        if np.count_nonzero(inside) == expected:
            w, v = w[inside], v[:, inside]
            scale = max(float(np.max(np.abs(h.data))), 1e-300) if h.nnz else 1.0
            resid = np.max(np.abs(h @ v - v * w), initial=0.0)
            if resid > _RESIDUAL_TOL * scale:
                raise ShellError(f"slice [{low:g}, {high:g}): eigen-residual {resid:.2g} "
                                 f"above {_RESIDUAL_TOL:g} x |h|")
            return w, v
        pad *= 2
    raise ShellError(f"slice [{low:g}, {high:g}): Lanczos gave {found}, the inertia count "
                     f"says {expected} eigenvalues ({_RETRIES} attempts; strongly degenerate "
                     "levels, as in a clean supercell, need method='dense')")


def _sparse(h, cutoff, slice_states):
    h = sp.csr_matrix(h)
    below = [count_below(h, -cutoff), count_below(h, cutoff)]
    total = below[1] - below[0]
    if total == 0:
        return np.zeros(0), np.zeros((h.shape[0], 0), dtype=h.dtype)
    edges = list(np.linspace(-cutoff, cutoff, max(1, math.ceil(total / slice_states)) + 1))
    counts = [below[0]] + [count_below(h, x) for x in edges[1:-1]] + [below[1]]
    eps, vecs = [], []
    for j in range(len(edges) - 1):
        expected = counts[j + 1] - counts[j]
        if expected == 0:
            continue
        w, v = _slice(h, edges[j], edges[j + 1], expected, j)
        eps.append(w)
        vecs.append(v)
    eps = np.concatenate(eps)
    order = np.argsort(eps, kind="stable")
    return eps[order], np.ascontiguousarray(np.hstack(vecs)[:, order])


def shell_eigenpairs(h, cutoff, *, method="auto", slice_states=SLICE_STATES):
    """Eigenpairs of the Hermitian sparse *h* with ``|eps| < cutoff``.

    Parameters
    ----------
    h : sparse matrix, shape (N, N)
        Real symmetric or complex Hermitian (``h_xi`` of a supercell, t).
    cutoff : float
        ω_c, same unit as *h* (> 0).
    method : {"auto", "dense", "sparse"}
        See the module docstring.
    slice_states : int
        Target eigenvalues per slice of the sparse method.

    Returns
    -------
    eps : ndarray, shape (M,)
        Ascending.
    phi : ndarray, shape (N, M)
        Orthonormal eigenvectors (columns), dtype of *h*.

    Raises
    ------
    ParameterError
        (``method``) an unknown method; (``cutoff``) not positive.
    ShellError
        The sparse method could not match the inertia count.
    """
    check_positive("cutoff", cutoff)
    if method not in METHODS:
        raise ParameterError("method", f"one of {', '.join(METHODS)}, got {method!r}")
    if method == "auto":
        method = "dense" if h.shape[0] <= DENSE_MAX_SITES else "sparse"
    if method == "dense":
        return _dense(h, float(cutoff))
    return _sparse(h, float(cutoff), int(slice_states))
