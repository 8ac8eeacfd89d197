"""Compiled per-chunk pass of the linear triangle method (`latticemirage.dos.triangle_dos`).

One coarse block of ``m x m`` cells at a time, with its ``(m+1)²`` nodes in small buffers
that stay in cache: H(k) from the Fourier coefficients of `latticemirage.bulk.bloch_rows`,
the checked closed-form eigenvalues of `latticemirage._eig4_numba` (LAPACK ``eigvalsh``
where the symmetric-spectrum check fails), the band prefilter, the two triangles of each
cell, and the exact bin integrals of every band of every kept triangle, added to the
bin and difference arrays of the chunk. The NumPy reference is the ``numpy`` backend of
`triangle_dos` (the same steps as array operations over a whole chunk); the two agree to
round-off (tested).

Triangles where two sorted bands may cross (the test of `latticemirage.dos._disentangle`:
smallest non-degenerate band gap over the corners below 3 times the cell's change of H)
have their bands followed by eigenvector overlap as there (LAPACK ``eigh`` once per node
of the block, the same permutation rule); the NumPy function is the reference.

No ``fastmath``: IEEE semantics, no reassociation of the sums.
"""

import itertools

import numba
import numpy as np

from latticemirage._eig4_numba import _eig4

__all__ = ["chunk_pass", "screen_blocks"]

# The 24 permutations of four bands, in the order of itertools.permutations (as the NumPy
# reference scores them: the first best one wins a tie).
_PERMUTATIONS = np.array(list(itertools.permutations(range(4))), dtype=np.int64)


@numba.njit(cache=True, inline="always")
def _accumulate_one(e1, e2, e3, lo, width, n_bins, weight, acc_bins, acc_s1, acc_s0):
    """Exact bin integrals of one linear triangle (band values e1 <= e2 <= e3).

    The same arithmetic as `latticemirage.dos._accumulate` for one row: the density
    ``2 (E - e1) / ((e2 - e1)(e3 - e1))`` on [e1, e2] and ``2 (e3 - E) / ((e3 - e1)(e3 - e2))``
    on [e2, e3]; partial bins directly, runs of full bins into the difference arrays.
    """
    hi = lo + width * n_bins
    span = e3 - e1
    if span <= 1e-14 * (1.0 + abs(e1)):
        # Flat triangle: all its weight at one energy.
        if e1 >= lo and e1 < hi:
            idx = int((e1 - lo) / width)
            if idx < n_bins:  # (e1 - lo) / width may round up to n_bins just below hi
                acc_bins[idx] += weight
        return
    for seg in range(2):
        if seg == 0:
            a, b, ref = e1, e2, e1
        else:
            a, b, ref = e2, e3, e3
        if not b > a:
            continue  # empty segment (its gamma would be infinite)
        if seg == 0:
            gamma = 2.0 / ((e2 - e1) * span)
            area = (e2 - e1) / span
        else:
            gamma = -2.0 / ((e3 - e2) * span)
            area = (e3 - e2) / span
        x0 = max(a, lo)
        x1 = min(b, hi)
        if not x1 > x0:
            continue
        i0 = min(max(int(np.floor((x0 - lo) / width)), 0), n_bins - 1)
        i1 = min(max(int(np.floor((x1 - lo) / width)), 0), n_bins - 1)
        if i0 == i1:
            # Whole segment in one bin: its exact area unless clipped by the window.
            if x0 > a or x1 < b:
                part = 0.5 * gamma * (x1 - x0) * (x1 + x0 - 2 * ref)
            else:
                part = area
            acc_bins[i0] += part * weight
            continue
        left_edge = lo + (i0 + 1) * width
        right_edge = lo + i1 * width
        acc_bins[i0] += 0.5 * gamma * (left_edge - x0) * (left_edge + x0 - 2 * ref) * weight
        acc_bins[i1] += 0.5 * gamma * (x1 - right_edge) * (x1 + right_edge - 2 * ref) * weight
        if i1 > i0 + 1:
            gw = gamma * weight
            rw = -gamma * ref * weight
            acc_s1[i0 + 1] += gw
            acc_s1[i1] -= gw
            acc_s0[i0 + 1] += rw
            acc_s0[i1] -= rw


@numba.njit(cache=True, inline="always")
def _change_norm(h, p, q):
    """``max_i sum_j |H_ij(node q) − H_ij(node p)|`` (a bound on the 2-norm, see `_cell_change`)."""
    best = 0.0
    for i in range(4):
        s = 0.0
        for j in range(4):
            s += abs(h[q, 4 * i + j] - h[p, 4 * i + j])
        if s > best:
            best = s
    return best


@numba.njit(cache=True, inline="always")
def _min_gap(e):
    """Smallest gap between sorted bands over the corners, pairs degenerate at all three
    corners left out (inf if none): the gap of `latticemirage.dos._disentangle`, e (3, 4)."""
    big = 0.0
    for c in range(3):
        for b in range(4):
            big = max(big, abs(e[c, b]))
    tol = 1e-12 * (1.0 + big)
    gap = np.inf
    for p in range(3):
        gmax = -np.inf
        gmin = np.inf
        for c in range(3):
            g = e[c, p + 1] - e[c, p]
            gmax = max(gmax, g)
            gmin = min(gmin, g)
        if not gmax <= tol:  # a pair degenerate at all three corners is left alone
            gap = min(gap, gmin)
    return gap


@numba.njit(cache=True)
def _follow_bands(vec, corner, e, perms):
    """Permute the bands of corners 1 and 2 of a triangle to follow those of corner 0.

    As `latticemirage.dos._disentangle` for one triangle: with ``O_ij = |<u_i(k_0)|u_j(k_c)>|²``
    (eigenvectors as columns of ``vec[node]``), band i takes band ``argmax_j O_ij`` of
    corner c when every row's maximum exceeds 1/2 (then they form a permutation), else the
    permutation maximizing ``sum_i O_i,pi(i)``. Overwrites ``e[1]`` and ``e[2]``.
    """
    overlap = np.empty((4, 4))
    best = np.empty(4, dtype=np.int64)
    row = np.empty(4)
    v0 = vec[corner[0]]
    for c in (1, 2):
        vc = vec[corner[c]]
        unique = True
        for i in range(4):
            top = -1.0
            for j in range(4):
                z = 0j
                for k in range(4):
                    z += v0[k, i].conjugate() * vc[k, j]
                o = z.real * z.real + z.imag * z.imag
                overlap[i, j] = o
                if o > top:
                    top = o
                    best[i] = j
            if not top > 0.5:
                unique = False
        if not unique:
            top = -1.0
            for p in range(perms.shape[0]):
                score = 0.0
                for i in range(4):
                    score += overlap[i, perms[p, i]]
                if score > top:
                    top = score
                    for i in range(4):
                        best[i] = perms[p, i]
        for i in range(4):
            row[i] = e[c, best[i]]
        for i in range(4):
            e[c, i] = row[i]


@numba.njit(cache=True, nogil=True)
def chunk_pass(
    chunk,
    m,
    mesh,
    recip,
    const_re,
    const_im,
    coef_re,
    coef_im,
    vecs,
    e_lo,
    e_hi,
    width,
    n_bins,
    weight,
    cell_change,
    change_bound,
    band_filter,
    disentangle,
    rtol,
):
    """Triangle-method DOS of the coarse blocks *chunk*.

    Parameters
    ----------
    chunk : ndarray of int, shape (nblk, 2)
        Coarse block indices (I, J); block (I, J) has the nodes
        ``(I m + a, J m + b) / mesh`` (fractions of ``b_1, b_2``), ``0 <= a, b <= m``.
    m, mesh : int
    recip : ndarray, shape (2, 2)
        Reciprocal primitive vectors as rows, 1/a.
    const_re, const_im : ndarray, shape (16,)
        The k-independent block (row-major), t.
    coef_re, coef_im : ndarray, shape (2 nbonds, 16)
        Cosine then sine coefficients of the bonds (`latticemirage.bulk.fourier_coefficients`), t.
    vecs : ndarray, shape (nbonds, 2)
        Cartesian bond vectors R_m, a.
    e_lo, e_hi : float
        Energy window, t.
    width : float
        Bin width ``(e_hi - e_lo) / n_bins``, t.
    n_bins : int
    weight : float
        Zone fraction of one triangle.
    cell_change : float
        Bound on the change of H across a cell (the prefilter margin), t.
    change_bound : float
        Upper bound on every cell's `latticemirage.dos._cell_change`, t: triangles whose
        band gap is at least 3 times it cannot be close, and their cell's change is not
        computed (the decision is the same).
    band_filter, disentangle : bool
        As in `latticemirage.dos.triangle_dos`.
    rtol : float
        Tolerance of the symmetric-spectrum check of the closed form.

    Returns
    -------
    acc_bins : ndarray, shape (n_bins,)
    acc_s1, acc_s0 : ndarray, shape (n_bins + 1,)
        Bin integrals and difference arrays (see `latticemirage.dos._accumulate`).
    counts : ndarray of int, shape (3,)
        Kept triangles, triangles whose bands were followed by eigenvector overlap, and
        nodes whose eigenvalues came from LAPACK (symmetric-spectrum check failed).
    """
    side = m + 1
    nn = side * side
    nb = vecs.shape[0]
    perms = _PERMUTATIONS
    acc_bins = np.zeros(n_bins)
    acc_s1 = np.zeros(n_bins + 1)
    acc_s0 = np.zeros(n_bins + 1)
    h = np.empty((nn, 16), dtype=np.complex128)
    ev = np.empty((nn, 4))
    near = np.ones(nn, dtype=np.bool_)
    vec = np.empty((nn, 4, 4), dtype=np.complex128)
    have_vec = np.zeros(nn, dtype=np.bool_)
    trig = np.empty(2 * nb)
    e = np.empty((3, 4))
    corner = np.empty(3, dtype=np.int64)
    mat = np.empty((4, 4), dtype=np.complex128)
    n_kept = 0
    n_followed = 0
    n_fallback = 0
    for blk in range(chunk.shape[0]):
        # Nodes of the block: H(k), eigenvalues, prefilter.
        for a in range(side):
            fa = (chunk[blk, 0] * m + a) / mesh
            for b in range(side):
                fb = (chunk[blk, 1] * m + b) / mesh
                q = a * side + b
                kx = fa * recip[0, 0] + fb * recip[1, 0]
                ky = fa * recip[0, 1] + fb * recip[1, 1]
                for n in range(nb):
                    theta = vecs[n, 0] * kx + vecs[n, 1] * ky
                    trig[n] = np.cos(theta)
                    trig[nb + n] = np.sin(theta)
                for c in range(16):
                    re = 0.0
                    im = 0.0
                    for n in range(2 * nb):
                        re += coef_re[n, c] * trig[n]
                        im += coef_im[n, c] * trig[n]
                    h[q, c] = complex(re + const_re[c], im + const_im[c])
                if not _eig4(h[q], rtol, ev[q]):
                    for c in range(16):
                        mat[c // 4, c % 4] = h[q, c]
                    ev[q] = np.linalg.eigvalsh(mat)
                    n_fallback += 1
                if band_filter:
                    ok = False
                    for t in range(4):
                        if ev[q, t] >= e_lo - cell_change and ev[q, t] <= e_hi + cell_change:
                            ok = True
                    near[q] = ok
                have_vec[q] = False
        # Cells: lower triangle (i, j), (i+1, j), (i+1, j+1); upper (i, j), (i+1, j+1),
        # (i, j+1): cut along the short diagonal b_1 + b_2, corner order as in dos.py.
        for i in range(m):
            for j in range(m):
                q00 = i * side + j
                q10 = q00 + side
                q11 = q10 + 1
                q01 = q00 + 1
                change = -1.0  # computed on first use
                for which in range(2):
                    corner[0] = q00
                    if which == 0:
                        corner[1] = q10
                        corner[2] = q11
                    else:
                        corner[1] = q11
                        corner[2] = q01
                    if band_filter and not (
                        near[corner[0]] and near[corner[1]] and near[corner[2]]
                    ):
                        continue
                    for c in range(3):
                        for t in range(4):
                            e[c, t] = ev[corner[c], t]
                    keep = False
                    if band_filter:
                        for t in range(4):
                            top = max(e[0, t], max(e[1, t], e[2, t]))
                            bottom = min(e[0, t], min(e[1, t], e[2, t]))
                            if top >= e_lo and bottom <= e_hi:
                                keep = True
                    else:
                        top = -np.inf
                        bottom = np.inf
                        for c in range(3):
                            for t in range(4):
                                top = max(top, e[c, t])
                                bottom = min(bottom, e[c, t])
                        keep = top >= e_lo and bottom <= e_hi
                    if not keep:
                        continue
                    n_kept += 1
                    if disentangle:
                        gap = _min_gap(e)
                        if gap < 3 * change_bound and change < 0:
                            # Diagonal, the two edges along b_1, the two along b_2.
                            change = max(
                                _change_norm(h, q00, q11),
                                _change_norm(h, q00, q10),
                                _change_norm(h, q01, q11),
                                _change_norm(h, q00, q01),
                                _change_norm(h, q10, q11),
                            )
                        if gap < 3 * change_bound and gap < 3 * change:
                            for c in range(3):
                                q = corner[c]
                                if not have_vec[q]:
                                    for t in range(16):
                                        mat[t // 4, t % 4] = h[q, t]
                                    _, vec[q] = np.linalg.eigh(mat)
                                    have_vec[q] = True
                            _follow_bands(vec, corner, e, perms)
                            n_followed += 1
                    for t in range(4):
                        x, y, z = e[0, t], e[1, t], e[2, t]
                        if x > y:
                            x, y = y, x
                        if y > z:
                            y, z = z, y
                        if x > y:
                            x, y = y, x
                        if z >= e_lo and x <= e_hi:
                            _accumulate_one(
                                x, y, z, e_lo, width, n_bins, weight, acc_bins, acc_s1, acc_s0
                            )
    return acc_bins, acc_s1, acc_s0, np.array([n_kept, n_followed, n_fallback])


@numba.njit(cache=True, nogil=True)
def screen_blocks(nc, recip, diag_re, diag_im, vecs, curvature, v_max, radius, e_lo, e_hi):
    """The Weyl/Taylor screen of `latticemirage.dos.candidate_blocks`, one block at a time.

    Parameters
    ----------
    nc : int
        Coarse blocks per reciprocal direction; block (I, J) has its centre at
        ``((I + 1/2) b_1 + (J + 1/2) b_2) / nc``.
    recip : ndarray, shape (2, 2)
        Reciprocal primitive vectors as rows, 1/a.
    diag_re, diag_im : ndarray, shape (nblocks, norbs)
        Diagonals of the hopping blocks ``B_n``, t.
    vecs : ndarray, shape (nblocks, 2)
        Their Cartesian lattice vectors R_n, a.
    curvature : ndarray, shape (norbs,)
        ``M_i = sum_n |B_n,ii| |R_n|^2``, t a².
    v_max : float
        Bound on the off-diagonal part of H(k), t.
    radius : float
        Centre-to-corner distance of a block, 1/a.
    e_lo, e_hi : float
        The window, t.

    Returns
    -------
    ndarray of bool, shape (nc * nc,)
        Row-major over (I, J): whether the bound cannot exclude the block.
    """
    nblocks, norbs = diag_re.shape
    hit = np.zeros(nc * nc, dtype=np.bool_)
    c = np.empty(nblocks)
    s = np.empty(nblocks)
    for i in range(nc):
        fi = (i + 0.5) / nc
        for j in range(nc):
            fj = (j + 0.5) / nc
            kx = fi * recip[0, 0] + fj * recip[1, 0]
            ky = fi * recip[0, 1] + fj * recip[1, 1]
            for n in range(nblocks):
                phase = kx * vecs[n, 0] + ky * vecs[n, 1]
                c[n] = np.cos(phase)
                s[n] = np.sin(phase)
            for o in range(norbs):
                # H_ii is real: sum_n Re(B_n,ii e^{i k.R_n}); its gradient likewise.
                d_re = 0.0
                d_im = 0.0
                gx_re = 0.0
                gx_im = 0.0
                gy_re = 0.0
                gy_im = 0.0
                for n in range(nblocks):
                    d_re += c[n] * diag_re[n, o]
                    d_im += s[n] * diag_im[n, o]
                    gx_re += -s[n] * vecs[n, 0] * diag_re[n, o]
                    gx_im += c[n] * vecs[n, 0] * diag_im[n, o]
                    gy_re += -s[n] * vecs[n, 1] * diag_re[n, o]
                    gy_im += c[n] * vecs[n, 1] * diag_im[n, o]
                d = d_re - d_im
                grad = np.hypot(gx_re - gx_im, gy_re - gy_im)
                spread = grad * radius + 0.5 * curvature[o] * radius**2 + v_max
                if d + spread >= e_lo and d - spread <= e_hi:
                    hit[i * nc + j] = True
                    break
    return hit
