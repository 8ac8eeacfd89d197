r"""Bulk (translationally invariant) system and the fast Bloch Hamiltonian.

Kwant's `kwant.wraparound.wraparound` turns the two translations of
`latticemirage.model.bulk_builder` into parameters ``k_x, k_y``. In Kwant 1.5
these are *phases along the symmetry periods*, ``k_x = k . p_1`` and
``k_y = k . p_2`` with ``p_1 = (1, 0)``, ``p_2 = (1/2, sqrt(3)/2)``, not Cartesian
momenta. This module always takes Cartesian ``k`` (units 1/a) and converts.

Convention (checked against Kwant in the tests)::

    H(k) = sum_n  blocks[n] * exp(i k . R_n),    blocks[n] = H[r, r + R_n],

with ``R_n = n_1 p_1 + n_2 p_2`` and ``H[r, r']`` the real-space matrix element
between the 4-orbital sites ``r`` and ``r'``. The blocks are read out of the
finalized Kwant system once, by a discrete Fourier transform of
``hamiltonian_submatrix`` over a (2R+1) x (2R+1) grid of phases, which is exact
for hoppings of range R (here R = 1); after that no call into Kwant is made per
k point.
"""

import itertools

import kwant
import numpy as np

from latticemirage import model

try:  # the compiled closed form; without numba the NumPy reference below (same formulas)
    from latticemirage import _eig4_numba
except ImportError:
    _eig4_numba = None

_CHUNK = 1 << 15  # k points per chunk in `bloch_hamiltonian`

__all__ = [
    "bloch_eigenvalues",
    "bloch_gradient",
    "bloch_hamiltonian",
    "bloch_rows",
    "combined_rows_eigenvalues",
    "fourier_blocks",
    "fourier_coefficients",
    "kwant_hamiltonian",
    "reciprocal_vectors",
    "rows_eigenvalues",
    "symmetric_eigvalsh",
    "wrapped_system",
]


def wrapped_system(builder=None):
    """Finalized wrapped-around bulk system (parameters: model ones plus ``k_x, k_y``).

    Parameters
    ----------
    builder : kwant.Builder, optional
        A Builder with two translational symmetries; default `model.bulk_builder()`.
    """
    builder = model.bulk_builder() if builder is None else builder
    return kwant.wraparound.wraparound(builder).finalized()


def _as_k(k):
    """*k* as a float array of Cartesian wave vectors, shape (..., 2), or ValueError."""
    k = np.asarray(k, dtype=float)
    if k.ndim == 0 or k.shape[-1] != 2:
        raise ValueError(f"k must have shape (..., 2) (Cartesian k_x, k_y), got {k.shape}")
    return k


def _phases(k, prim_vecs):
    return _as_k(k) @ np.asarray(prim_vecs).T


def kwant_hamiltonian(fsyst, k, params):
    """Kwant's own Bloch Hamiltonian at Cartesian *k* (one call into Kwant per point).

    The slow reference path for tests and benchmarks.

    Parameters
    ----------
    fsyst : finalized wrapped system from `wrapped_system`
    k : array_like, shape (..., 2)
    params : dict
        Model parameters (without ``k_x, k_y``).

    Returns
    -------
    ndarray, shape (..., norbs, norbs)
    """
    ph = _phases(k, model.LATTICE.prim_vecs)
    flat = ph.reshape(-1, 2)
    out = [fsyst.hamiltonian_submatrix(params={**params, "k_x": a, "k_y": b}) for a, b in flat]
    norbs = out[0].shape[0]
    return np.array(out).reshape(*ph.shape[:-1], norbs, norbs)


def fourier_blocks(fsyst, params, hopping_range=1):
    """Real-space blocks ``H[r, r + R_n]`` of the finalized wrapped system.

    Parameters
    ----------
    fsyst : finalized wrapped system from `wrapped_system`
    params : dict
        Model parameters (without ``k_x, k_y``), energies in t.
    hopping_range : int
        Largest ``|n_i|`` of any hopping, in lattice coordinates (1 for this model).

    Returns
    -------
    dict of tuple(int, int) to ndarray, shape (norbs, norbs)
        Keys ``n = (n_1, n_2)``; only non-zero blocks are kept. ``blocks[-n]`` is
        the Hermitian conjugate of ``blocks[n]``.
    """
    m = 2 * hopping_range + 1
    grid = 2 * np.pi * np.arange(m) / m
    samples = {
        (a, b): fsyst.hamiltonian_submatrix(params={**params, "k_x": pa, "k_y": pb})
        for (a, pa), (b, pb) in itertools.product(enumerate(grid), enumerate(grid))
    }
    blocks = {}
    rng = range(-hopping_range, hopping_range + 1)
    for n in itertools.product(rng, rng):
        acc = sum(
            h * np.exp(-1j * (grid[a] * n[0] + grid[b] * n[1])) for (a, b), h in samples.items()
        ) / m**2
        # Round-off from the DFT is ~1e-16; anything above 1e-13 is a real block.
        if np.abs(acc).max() > 1e-13:
            blocks[n] = acc
    return blocks


def reciprocal_vectors(prim_vecs=None):
    """Reciprocal primitive vectors ``b_i`` with ``a_i · b_j = 2 pi delta_ij``.

    Parameters
    ----------
    prim_vecs : array_like, shape (2, 2), optional
        Real-space primitive vectors as rows; default the model lattice.

    Returns
    -------
    ndarray, shape (2, 2)
        Rows ``b_1, b_2`` in units of 1/a.
    """
    prim_vecs = np.asarray(model.LATTICE.prim_vecs if prim_vecs is None else prim_vecs, float)
    return 2 * np.pi * np.linalg.inv(prim_vecs).T


def fourier_coefficients(blocks, prim_vecs=None):
    """Rewrite ``sum_n B_n exp(i k.R_n)`` as ``C_0 + sum_m [C_m cos + S_m sin](k.R_m)``.

    Pairs ``n, -n`` are combined (``C = B_n + B_-n``, ``S = i (B_n - B_-n)``), so a
    Hermitian H(k) needs one cosine and one sine per bond instead of two complex
    exponentials (the form every fast Bloch Hamiltonian of this module evaluates).

    Parameters
    ----------
    blocks : dict from `fourier_blocks`
    prim_vecs : array_like, shape (2, 2), optional
        Primitive vectors the block keys refer to; default the model lattice.

    Returns
    -------
    const : ndarray, shape (norbs, norbs), complex
        ``C_0 = B_0``, t.
    real_coef : ndarray, shape (2 m, 2 norbs**2)
        Rows ``C_1 … C_m`` then ``S_1 … S_m``, each flattened row-major with its complex
        entries interleaved as (re, im), so a real matrix product can be viewed as
        complex; t.
    vecs : ndarray, shape (m, 2)
        The Cartesian bond vectors ``R_m``, a.
    """
    prim_vecs = model.LATTICE.prim_vecs if prim_vecs is None else prim_vecs
    norbs = next(iter(blocks.values())).shape[-1]
    zero = np.zeros((norbs, norbs), complex)
    const = np.array(blocks.get((0, 0), zero), dtype=complex)
    half = sorted({max(n, (-n[0], -n[1])) for n in blocks if n != (0, 0)})
    cos_c = [blocks.get(n, zero) + blocks.get((-n[0], -n[1]), zero) for n in half]
    sin_c = [1j * (blocks.get(n, zero) - blocks.get((-n[0], -n[1]), zero)) for n in half]
    coef = np.array(cos_c + sin_c, dtype=complex).reshape(2 * len(half), -1)
    real_coef = np.empty((coef.shape[0], 2 * coef.shape[1]))
    real_coef[:, 0::2] = coef.real
    real_coef[:, 1::2] = coef.imag
    vecs = np.array(half, dtype=float).reshape(-1, 2) @ np.asarray(prim_vecs, float)
    return const, real_coef, vecs


def bloch_hamiltonian(blocks, k, prim_vecs=None):
    """Fast Bloch Hamiltonian for an array of Cartesian k points.

    ``H(k) = sum_n blocks[n] exp(i k . R_n)``, evaluated with one cosine and one
    sine per bond pair and a single real matrix product; no call into Kwant.

    Parameters
    ----------
    blocks : dict from `fourier_blocks`
    k : array_like, shape (..., 2)
        Cartesian wave vectors in units of 1/a.
    prim_vecs : array_like, shape (2, 2), optional
        Primitive vectors the block keys refer to; default the model lattice.

    Returns
    -------
    ndarray, shape (..., norbs, norbs), complex
    """
    prim_vecs = model.LATTICE.prim_vecs if prim_vecs is None else prim_vecs
    k = _as_k(k)
    const, real_coef, vecs = fourier_coefficients(blocks, prim_vecs)
    norbs = const.shape[-1]
    flat = k.reshape(-1, 2)
    out = np.empty((len(flat), real_coef.shape[1]))  # interleaved (re, im)
    # Chunks keep the temporaries in cache; the result is written in place.
    for start in range(0, len(flat), _CHUNK):
        theta = flat[start : start + _CHUNK] @ vecs.T  # (chunk, nbonds)
        trig = np.concatenate([np.cos(theta), np.sin(theta)], axis=1)
        # einsum, not BLAS: with an inner dimension of ~6 a threaded dgemm only adds
        # overhead (and stalls on a busy machine).
        np.einsum("nm,mc->nc", trig, real_coef, out=out[start : start + _CHUNK], optimize=False)
    h = out.view(complex)
    h += const.reshape(-1)
    return h.reshape(*k.shape[:-1], norbs, norbs)


def bloch_gradient(blocks, k, prim_vecs=None):
    """Momentum derivative ``dH/dk`` of the Bloch Hamiltonian (velocity operator).

    Parameters
    ----------
    blocks : dict from `fourier_blocks`
    k : array_like, shape (..., 2)
        Cartesian wave vectors in units of 1/a.
    prim_vecs : array_like, shape (2, 2), optional

    Returns
    -------
    ndarray, shape (..., 2, norbs, norbs), complex
        ``[..., i, :, :] = dH/dk_i`` in units of t a.
    """
    prim_vecs = model.LATTICE.prim_vecs if prim_vecs is None else prim_vecs
    k = _as_k(k)
    const, real_coef, vecs = fourier_coefficients(blocks, prim_vecs)
    norbs = const.shape[-1]
    theta = k.reshape(-1, 2) @ vecs.T
    c, s = np.cos(theta), np.sin(theta)
    out = []
    for axis in range(2):
        r = vecs[:, axis]
        # d/dk [C cos(k.R) + S sin(k.R)] = R (-C sin + S cos)
        trig = np.concatenate([-s * r, c * r], axis=1)
        out.append((trig @ real_coef).view(complex).reshape(-1, norbs, norbs))
    return np.stack(out, axis=1).reshape(*k.shape[:-1], 2, norbs, norbs)


_PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_TRIPLES = ((0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3))


def bloch_rows(blocks, k, prim_vecs=None):
    """Bloch Hamiltonian in "row" layout: element ``(i, j)`` of H(k) for all k contiguously.

    Same numbers as `bloch_hamiltonian`, laid out for element-wise vector
    arithmetic (used by `bloch_eigenvalues`).

    Parameters
    ----------
    blocks : dict from `fourier_blocks`
    k : array_like, shape (n, 2)

    Returns
    -------
    ndarray, shape (norbs * norbs, n), complex
        Row ``norbs * i + j`` holds ``H_ij(k)``.
    """
    prim_vecs = model.LATTICE.prim_vecs if prim_vecs is None else prim_vecs
    k = _as_k(k).reshape(-1, 2)
    const, real_coef, vecs = fourier_coefficients(blocks, prim_vecs)
    theta = vecs @ k.T  # (nbonds, n)
    trig = np.concatenate([np.cos(theta), np.sin(theta)], axis=0)  # (2 nbonds, n)
    re = real_coef[:, 0::2].T @ trig  # (norbs², n)
    im = real_coef[:, 1::2].T @ trig
    rows = re + 1j * im
    rows += const.reshape(-1)[:, None]
    return rows


def _closed_form_rows(rows, rtol):
    """±E_± from traces and determinant of Hermitian 4x4 matrices in row layout.

    The NumPy reference of the compiled kernel `latticemirage._eig4_numba` (tests compare
    the two).

    Returns the eigenvalues, shape (n, 4), and a mask of the matrices whose
    spectrum is verified to be symmetric (``tr H = tr H^3 = 0`` to *rtol*).
    """
    el = {(i, j): rows[4 * i + j] for i in range(4) for j in range(i, 4)}
    d = [el[i, i].real for i in range(4)]
    abs2 = {p: el[p].real ** 2 + el[p].imag ** 2 for p in _PAIRS}
    norm2 = sum(x * x for x in d) + 2 * sum(abs2.values())  # tr H^2
    trace = d[0] + d[1] + d[2] + d[3]
    trace3 = sum(x * x * x for x in d)
    trace3 = trace3 + 3 * sum((d[i] + d[j]) * abs2[i, j] for i, j in _PAIRS)
    trace3 = trace3 + 6 * sum((el[i, j] * el[j, k] * el[i, k].conj()).real for i, j, k in _TRIPLES)

    def a(i, j):
        return el[i, j] if i <= j else el[j, i].conj()

    # Laplace expansion in the 2x2 minors of rows (0, 1) and (2, 3).
    def minor(r0, r1, c0, c1):
        return a(r0, c0) * a(r1, c1) - a(r1, c0) * a(r0, c1)

    det = (
        minor(0, 1, 0, 1) * minor(2, 3, 2, 3)
        - minor(0, 1, 0, 2) * minor(2, 3, 1, 3)
        + minor(0, 1, 0, 3) * minor(2, 3, 1, 2)
        + minor(0, 1, 1, 2) * minor(2, 3, 0, 3)
        - minor(0, 1, 1, 3) * minor(2, 3, 0, 2)
        + minor(0, 1, 2, 3) * minor(2, 3, 0, 1)
    ).real
    scale = np.sqrt(norm2)
    ok = (np.abs(trace) <= rtol * scale) & (np.abs(trace3) <= rtol * scale**3)
    half = 0.25 * norm2
    e_plus2 = half + np.sqrt(np.maximum(half * half - det, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        e_minus2 = np.where(e_plus2 > 0, det / e_plus2, 0.0)
    e_plus = np.sqrt(e_plus2)
    e_minus = np.sqrt(np.clip(e_minus2, 0.0, None))
    return np.stack([-e_plus, -e_minus, e_minus, e_plus], axis=-1), ok


def _closed_form(rows, rtol):
    """The compiled kernel, or the NumPy reference where numba is missing."""
    if _eig4_numba is None:
        return _closed_form_rows(rows, rtol)
    return _eig4_numba.closed_form_rows(rows, rtol)


def symmetric_eigvalsh(h, rtol=1e-12):
    r"""Sorted eigenvalues of Hermitian 4x4 matrices, closed form where the spectrum is symmetric.

    If ``tr H = tr H^3 = 0`` the characteristic polynomial is
    ``E^4 − (tr H^2 / 2) E^2 + det H``, so the eigenvalues are ``±E_±`` with
    ``E_+^2 = a + sqrt(a^2 − det H)``, ``a = tr H^2 / 4``, and
    ``E_-^2 = det H / E_+^2`` (no cancellation for the small root). This holds for
    the clean BdG Hamiltonian of `latticemirage.model` (ξ even, β odd in k,
    uniform field and gap) but is *checked* for every matrix: where
    ``|tr H|`` or ``|tr H^3|`` exceeds ``rtol`` times the matching power of
    ``||H||_F``, LAPACK ``eigvalsh`` is used instead, so the result is always the
    spectrum of *h*.

    Parameters
    ----------
    h : ndarray, shape (..., 4, 4)
    rtol : float

    Returns
    -------
    ndarray, shape (..., 4), ascending.
    """
    h = np.asarray(h)
    if h.shape[-2:] != (4, 4):
        return np.linalg.eigvalsh(h)
    flat = h.reshape(-1, 4, 4)
    out, ok = _closed_form(np.ascontiguousarray(flat.reshape(-1, 16).T, dtype=complex), rtol)
    if not np.all(ok):
        out[~ok] = np.linalg.eigvalsh(flat[~ok])
    return out.reshape(*h.shape[:-2], 4)


def rows_eigenvalues(rows, rtol=1e-12):
    """Sorted eigenvalues of Hermitian 4x4 matrices given in row layout (`bloch_rows`).

    The checked closed form of `symmetric_eigvalsh`; LAPACK where the check fails.

    Parameters
    ----------
    rows : ndarray, shape (16, n), complex
    rtol : float

    Returns
    -------
    ndarray, shape (n, 4)
    """
    ev, ok = _closed_form(np.ascontiguousarray(rows, dtype=complex), rtol)
    if not np.all(ok):
        ev[~ok] = np.linalg.eigvalsh(rows[:, ~ok].T.reshape(-1, 4, 4))
    return ev


def combined_rows_eigenvalues(r0, r1, c1, r2, c2, rtol=1e-12):
    """`rows_eigenvalues` of ``r0 + c1 r1 + c2 r2`` without forming the sum.

    Parameters
    ----------
    r0, r1, r2 : ndarray, shape (16, n), complex
        Row layout (`bloch_rows`).
    c1, c2 : float
    rtol : float

    Returns
    -------
    ndarray, shape (n, 4)
    """
    args = [np.ascontiguousarray(r, dtype=complex) for r in (r0, r1, r2)]
    if _eig4_numba is None:
        ev, ok = _closed_form_rows(args[0] + c1 * args[1] + c2 * args[2], rtol)
    else:
        ev, ok = _eig4_numba.closed_form_combined(args[0], args[1], float(c1), args[2],
                                                  float(c2), rtol)
    if not np.all(ok):
        bad = (args[0] + c1 * args[1] + c2 * args[2])[:, ~ok]
        ev[~ok] = np.linalg.eigvalsh(bad.T.reshape(-1, 4, 4))
    return ev


def bloch_eigenvalues(blocks, k, prim_vecs=None, rtol=1e-12):
    """Sorted eigenvalues of H(k) for an array of k, without forming the matrices.

    Uses the checked closed form of `symmetric_eigvalsh` on `bloch_rows`; any k
    where the spectrum is not verified symmetric falls back to LAPACK. Equal to
    ``eigvalsh(bloch_hamiltonian(blocks, k))`` to round-off (tested).

    Parameters
    ----------
    blocks : dict from `fourier_blocks`
    k : array_like, shape (..., 2)

    Returns
    -------
    ndarray, shape (..., norbs)
    """
    k = _as_k(k)
    norbs = next(iter(blocks.values())).shape[-1]
    if norbs != 4:
        return np.linalg.eigvalsh(bloch_hamiltonian(blocks, k, prim_vecs))
    flat = k.reshape(-1, 2)
    out = np.empty((len(flat), 4))
    for start in range(0, len(flat), _CHUNK):
        sl = slice(start, start + _CHUNK)
        out[sl] = rows_eigenvalues(bloch_rows(blocks, flat[sl], prim_vecs), rtol)
    return out.reshape(*k.shape[:-1], 4)
