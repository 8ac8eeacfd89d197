r"""Clean density of states on a k mesh: linear triangle method and Dynes broadening.

Method
------
The Brillouin zone is covered by the uniform ``mesh × mesh`` grid
``k = (i/mesh) b_1 + (j/mesh) b_2``; every parallelogram cell is cut along its
short diagonal into two equilateral triangles. The BdG bands (eigenvalues of the
fast Bloch Hamiltonian of the Kwant Builder, `bulk.bloch_eigenvalues`: a checked
closed form, LAPACK where the check fails) are interpolated linearly inside each
triangle and the density of states of that interpolant is integrated **exactly**
over energy bins (the 2D linear "tetrahedron" method). Nothing is broadened:
band edges, BCS coherence peaks and the mirage-gap edges stay sharp, up to the
interpolation error, which is quadratic in the mesh spacing: at most
``(v_F L)^2 / (6 w)`` in energy near a gap edge of half-width w, with
``L = |b|/mesh`` (tested against BCS).

Band crossings
--------------
Sorted eigenvalues have kinks where bands cross (the electron-like and hole-like
branches at ``xi = 0`` for B = 0, or anticrossings narrower than the mesh);
interpolating across a kink would put spurious structure of tens of percent at
those energies, decaying only like 1/mesh. In triangles where a crossing is
possible (Weyl bound, see `_disentangle`) bands are followed by eigenvector
overlap instead.

Restriction to the energy window (exact)
-----------------------------------------
Only cells that can hold an eigenvalue in the requested window are diagonalized.
Write ``H(k) = D(k) + V(k)`` with D the diagonal of H. By Weyl's inequality every
eigenvalue of H lies within ``||V(k)||_2`` of an eigenvalue of D, and
``||V(k)||_2 <= sum_n ||offdiag(blocks[n])||_2 =: V_max`` for all k. On a coarse
block of cells with centre ``k_c`` and radius ``r`` the diagonal obeys
``|D_ii(k) − D_ii(k_c)| <= |grad D_ii(k_c)| r + M_i r^2 / 2`` with
``M_i = sum_n |blocks[n]_ii| |R_n|^2``. A block none of whose bounds
``[D_ii(k_c) − bound_i − V_max, D_ii(k_c) + bound_i + V_max]`` meets the window has
no eigenvalue in the window anywhere (corners included), so by continuity its
linearly interpolated bands do not enter the window either: skipping it changes
nothing in the window. The result therefore equals the full-mesh result exactly
(tested), at a cost that scales with the Fermi-surface shell instead of the zone.

Normalization
-------------
`triangle_dos` returns the BdG density of states per unit cell, all four Nambu ⊗
spin bands, so its integral over all energies is 4 (``norbs``). The physical,
normalized DOS ``N_s(E) / N_n(0)`` (`clean_dos`) divides by the same quantity in
the normal state (Δ = 0, same β, B) on the same mesh, averaged over
``|E| <= 1 Δ0`` (or by ``4 N_0`` from the Fermi contour, ``normal_state=False``);
in the normal state the BdG DOS at E = 0 is ``4 N_0`` (electrons and holes, two
spins), so the ratio is the usual tunnelling DOS normalized to 1.

Implementation
--------------
The per-chunk work (H(k) at the nodes, eigenvalues, prefilter, triangles, band
following, bin integrals) runs as one compiled pass over a coarse block at a time
(`latticemirage._triangle_numba`, ``backend="numba"``, the default) or as NumPy array
operations over a whole chunk (``backend="numpy"``, the reference, and the fallback
where numba is missing); ``$MIRAGE_DOS_BACKEND`` chooses when no argument does. The two
give the same DOS to round-off (tested at 1e-12 of its maximum). Chunks are fixed by
the mesh, not by the thread count, and summed in order, so the result does not depend
on ``workers``.

Dynes broadening
----------------
``N(E) = -Im Tr G(E + i eta) / pi`` is the unbroadened DOS convolved with a
Lorentzian of half-width eta. It is evaluated from the exact bin integrals
(bins ≤ eta/5 wide, each bin's Lorentzian weight integrated exactly), on a window
padded by ``40 eta``; beyond the padded window the DOS is taken constant at its
edge value (it is normal-state-like there), a tail error below
``eta / (40 eta · pi) · |ΔN| ≈ 0.8 % · |ΔN|`` of the DOS variation beyond the pad.
"""

import itertools
import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from latticemirage import bulk, model
from latticemirage.mapping import LatticeMapping
from mirage_common.errors import (
    ParameterError,
    check_backend,
    check_nonnegative,
    check_positive,
)
from mirage_common.formulas import mirage_formula
from mirage_common.parallel import available_cores

try:  # the compiled per-chunk pass; without numba the NumPy reference below
    from latticemirage import _triangle_numba
except ImportError as exc:
    _triangle_numba, _IMPORT_ERROR = None, exc
else:
    _IMPORT_ERROR = None

__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "BackendWarning",
    "CleanDOS",
    "TriangleDOS",
    "backend_in_use",
    "block_size",
    "candidate_blocks",
    "check_mesh",
    "check_mesh_resolves",
    "clean_dos",
    "lorentzian_broaden",
    "min_mesh",
    "requested_backend",
    "triangle_dos",
]

# Coarse blocks per reciprocal-lattice direction used to find the window shell.
_COARSE_TARGET = 400
# Coarse blocks diagonalized per chunk (bounds memory to ~100 MB).
_NODES_PER_CHUNK = 1 << 18
# The Dynes convolution window is padded by this many eta on each side.
_PAD_ETA = 40.0
# Fine bins per eta in the Dynes convolution.
_BINS_PER_ETA = 5.0
# Normal-state DOS at the Fermi level: average over |E| <= this many Δ0.
_NORMAL_WINDOW_DELTA0 = 1.0
# Relative tolerance of the symmetric-spectrum check of the closed-form eigenvalues.
_EIG_RTOL = 1e-12

#: Per-chunk implementations of `triangle_dos`: the compiled pass (`latticemirage._triangle_numba`)
#: and the NumPy reference (array operations over a whole chunk). Same DOS to round-off.
BACKENDS = ("numba", "numpy")
#: Environment variable choosing the backend when `triangle_dos` is not given one.
BACKEND_ENV = "MIRAGE_DOS_BACKEND"


class BackendWarning(RuntimeWarning):
    """The compiled triangle-method pass is unavailable; the NumPy reference is used."""


def requested_backend(backend=None):
    """The backend asked for: the argument, else ``$MIRAGE_DOS_BACKEND``, else ``"numba"``.

    Only checks the name (cheap; call it before any work).

    Raises
    ------
    ParameterError
        Naming ``backend`` or ``MIRAGE_DOS_BACKEND`` for anything but "numba" or "numpy".
    """
    return check_backend(backend, BACKEND_ENV, BACKENDS)


def backend_in_use(backend=None):
    """The per-chunk implementation `triangle_dos` will use: ``"numba"`` or ``"numpy"``.

    Parameters
    ----------
    backend : {"numba", "numpy"}, optional
        Default: the environment variable ``MIRAGE_DOS_BACKEND``, else ``"numba"``.

    Returns
    -------
    str

    Raises
    ------
    ParameterError
        Naming ``backend`` or ``MIRAGE_DOS_BACKEND`` for any other name.

    Warns
    -----
    BackendWarning
        When numba was asked for but the compiled pass does not import (numba
        missing): the NumPy reference is used (same DOS to round-off, slower).
    """
    name = requested_backend(backend)
    if name == "numba" and _triangle_numba is None:
        warnings.warn(
            f"the compiled triangle-method pass does not import ({_IMPORT_ERROR!r}); the "
            f"NumPy reference is used instead (same DOS to round-off, slower). Set "
            f"{BACKEND_ENV}=numpy to choose it explicitly.",
            BackendWarning,
            stacklevel=3,
        )
        name = "numpy"
    return name


def check_mesh(mesh):
    """Validate a mesh size: a positive integer, else `ParameterError` naming ``mesh``."""
    if isinstance(mesh, bool) or int(mesh) != mesh or mesh < 1:
        raise ParameterError("mesh", f"must be a positive integer, got {mesh!r}")
    return int(mesh)


#: Length of a reciprocal primitive vector of the triangular lattice, 4 pi / sqrt(3) (1/a):
#: a mesh of N points per direction has the k spacing RECIPROCAL_LENGTH / N.
RECIPROCAL_LENGTH = 4 * math.pi / math.sqrt(3)


def min_mesh(mapping):
    """Smallest k mesh per direction whose spacing is at most the smallest pocket radius.

    A coarser mesh may hold no k point inside the Fermi pockets at all: the normal DOS at
    E_F it measures is zero or that of a single point, and N_s/N_n is NaN or meaningless
    (mesh 1, 2 and 4 gave NaN, 3 and 6 a flat 1.0004 with no gap at the default
    parameters). One spacing per radius is a necessary condition, not a converged one
    (the defaults are 1000-4000).

    Parameters
    ----------
    mapping : LatticeMapping

    Returns
    -------
    int
        ``ceil(RECIPROCAL_LENGTH / p_F,min)``.
    """
    return math.ceil(RECIPROCAL_LENGTH / mapping.p_fermi_min)


def check_mesh_resolves(mapping, mesh, name="mesh"):
    """Refuse a mesh below `min_mesh` (`ParameterError` naming *name*)."""
    low = min_mesh(mapping)
    if mesh < low:
        raise ParameterError(name, f"must be >= {low} so that the k spacing 4π/(√3 mesh) stays "
                                   f"below the smallest pocket radius p_F = "
                                   f"{mapping.p_fermi_min:.3g}/a (a coarser mesh holds no Fermi-"
                                   f"level states: N_s/N_n would be 0/0), got {mesh}")
    return mesh


@dataclass(frozen=True, eq=False)
class TriangleDOS:
    """Unbroadened BdG density of states from the linear triangle method.

    Attributes
    ----------
    edges : ndarray, shape (n_bins + 1,)
        Bin edges, in the energy unit of the blocks (t).
    dos : ndarray, shape (n_bins,)
        Bin-averaged DOS per unit cell (all BdG bands), states per energy.
    mesh : int
    n_k : int
        k points actually diagonalized.
    n_k_full : int
        ``mesh**2``, the points a full-zone evaluation would need.
    n_followed : int
        Triangles whose bands were followed through a possible crossing by
        eigenvector overlap (`_disentangle`).
    """

    edges: np.ndarray = field(repr=False)
    dos: np.ndarray = field(repr=False)
    mesh: int
    n_k: int
    n_k_full: int
    n_followed: int = 0

    @property
    def centers(self):
        """Bin centres, shape (n_bins,)."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def width(self):
        """Bin width."""
        return self.edges[1] - self.edges[0]


def block_size(mesh, coarse):
    """Largest divisor m of *mesh* with ``mesh / m >= coarse`` (1 if none).

    The side, in cells, of the coarse k blocks that `candidate_blocks` screens: the
    ``mesh x mesh`` grid splits into ``(mesh/m)²`` blocks of ``m x m`` cells (also used
    by `latticemirage.gap` for its pairing shell).
    """
    best = 1
    for m in range(1, mesh + 1):
        if mesh % m == 0 and mesh // m >= coarse:
            best = m
    return best


def _window_bounds(blocks, prim_vecs):
    """Constants of the Weyl/Taylor exclusion test (see module docstring)."""
    keys = np.array(list(blocks), dtype=float).reshape(-1, 2)
    mats = np.array(list(blocks.values()))
    r_n = np.linalg.norm(keys @ np.asarray(prim_vecs, float), axis=1)
    diag = np.abs(np.diagonal(mats, axis1=1, axis2=2))  # (nblocks, norbs)
    curvature = (diag * r_n[:, None] ** 2).sum(axis=0)  # M_i
    offdiag = mats - np.einsum("nij,ij->nij", mats, np.eye(mats.shape[-1]))
    v_max = sum(np.linalg.norm(m, 2) for m in offdiag)
    return curvature, v_max


def _diagonals(blocks):
    """Diagonals of the hopping blocks (nblocks, norbs) and their vectors R_n (nblocks, 2)."""
    keys = list(blocks)
    diag = np.array([np.diagonal(blocks[n]) for n in keys])
    vecs = np.array(keys, dtype=float) @ np.asarray(model.LATTICE.prim_vecs, float)
    return diag, vecs


def _diagonal_and_gradient(blocks, k):
    """Diagonal of H(k) and the norm of its k-gradient, shape (npts, norbs) each."""
    diag, vecs = _diagonals(blocks)
    phase = np.asarray(k) @ vecs.T  # (npts, nblocks)
    c, s = np.cos(phase), np.sin(phase)

    def dot(x, y):
        # einsum, not BLAS: with an inner dimension of ~9 a threaded dgemm only adds
        # overhead, and its spinning threads cost ~15 times the work on a busy machine.
        return np.einsum("pn,ni->pi", x, y, optimize=False)

    # H_ii is real: sum_n B_n,ii e^{i k.R_n} = sum_n Re(B e^{i.}) (imaginary parts cancel).
    d = dot(c, diag.real) - dot(s, diag.imag)
    gx = dot(-s * vecs[:, 0], diag.real) - dot(c * vecs[:, 0], diag.imag)
    gy = dot(-s * vecs[:, 1], diag.real) - dot(c * vecs[:, 1], diag.imag)
    return d, np.hypot(gx, gy)


def candidate_blocks(blocks, mesh, m, e_lo, e_hi, *, backend=None):
    """Indices (I, J) of coarse blocks of m×m cells that may hold window eigenvalues.

    Parameters
    ----------
    blocks : dict
        Hopping blocks of H(k) (`latticemirage.bulk`), energies in t.
    mesh, m : int
        The ``mesh x mesh`` k grid and the block side from `block_size`.
    e_lo, e_hi : float
        The energy window, t.
    backend : {"numba", "numpy"}, optional
        The compiled screen (one block at a time) or the NumPy reference (arrays over
        all blocks); as `backend_in_use`. Same bound, same blocks (tested).

    Returns
    -------
    ndarray of int, shape (n, 2)
        Blocks that the Weyl/Taylor bound (module docstring) cannot exclude; every
        block holding an eigenvalue in the window is among them; in row-major order.
    """
    nc = mesh // m
    recip = bulk.reciprocal_vectors()
    # Radius: centre to the farthest corner of the closed block (a parallelogram).
    half = 0.5 / nc
    corners = np.array([[s1 * half, s2 * half] for s1 in (-1, 1) for s2 in (-1, 1)]) @ recip
    radius = np.linalg.norm(corners, axis=1).max()
    curvature, v_max = _window_bounds(blocks, model.LATTICE.prim_vecs)
    if backend_in_use(backend) == "numba":
        diag, vecs = _diagonals(blocks)
        hit = _triangle_numba.screen_blocks(
            nc,
            recip,
            np.ascontiguousarray(diag.real),
            np.ascontiguousarray(diag.imag),
            vecs,
            curvature,
            float(v_max),
            float(radius),
            float(e_lo),
            float(e_hi),
        )
        return np.stack(np.divmod(np.flatnonzero(hit), nc), axis=1)
    idx = np.arange(nc)
    ci, cj = np.meshgrid(idx, idx, indexing="ij")
    frac = (np.stack([ci, cj], axis=-1).reshape(-1, 2) + 0.5) / nc
    k_c = frac @ recip
    d, grad = _diagonal_and_gradient(blocks, k_c)
    spread = grad * radius + 0.5 * curvature * radius**2 + v_max
    hit = np.any((d + spread >= e_lo) & (d - spread <= e_hi), axis=1)
    return np.stack([ci.reshape(-1)[hit], cj.reshape(-1)[hit]], axis=1)


def _accumulate(e, lo, width, n_bins, weight, acc_bins, acc_s1, acc_s0):
    """Add the exact bin integrals of linear-triangle densities to the accumulators.

    *e* has shape (n, 3), sorted along the last axis. Each triangle's density
    (normalized to 1) is two linear segments, ``2 (E − e1) / ((e2 − e1)(e3 − e1))``
    on [e1, e2] and ``2 (e3 − E) / ((e3 − e1)(e3 − e2))`` on [e2, e3]. Partial
    bins are integrated directly; runs of full bins go into difference arrays
    (coefficients of the bin centre and of 1), summed once at the end, so the
    cost per triangle is O(1) however many bins it spans.
    """
    e1, e2, e3 = e[:, 0], e[:, 1], e[:, 2]
    hi = lo + width * n_bins
    span = e3 - e1
    flat = span <= 1e-14 * (1.0 + np.abs(e1))
    # Flat triangles: all weight at one energy.
    ef = e1[flat]
    inside = (ef >= lo) & (ef < hi)
    acc_bins += np.bincount(
        ((ef[inside] - lo) / width).astype(np.int64), minlength=n_bins
    )[:n_bins] * weight
    e1, e2, e3, span = e1[~flat], e2[~flat], e3[~flat], span[~flat]
    with np.errstate(divide="ignore", invalid="ignore"):
        g1 = 2.0 / ((e2 - e1) * span)
        g2 = -2.0 / ((e3 - e2) * span)
    for a, b, gamma, ref, area in (
        (e1, e2, g1, e1, (e2 - e1) / span),
        (e2, e3, g2, e3, (e3 - e2) / span),
    ):
        x0 = np.maximum(a, lo)
        x1 = np.minimum(b, hi)
        ok = (x1 > x0) & (b > a)
        x0, x1, a, b, gamma, ref, area = (v[ok] for v in (x0, x1, a, b, gamma, ref, area))
        i0 = np.clip(np.floor((x0 - lo) / width).astype(np.int64), 0, n_bins - 1)
        i1 = np.clip(np.floor((x1 - lo) / width).astype(np.int64), 0, n_bins - 1)
        same = i0 == i1
        # Whole segment in one bin: deposit its exact area (no large gamma needed)
        # unless it is clipped by the window, then integrate the clipped piece.
        clipped = (x0 > a) | (x1 < b)
        part = np.where(
            clipped, 0.5 * gamma * (x1 - x0) * (x1 + x0 - 2 * ref), area
        )
        acc_bins += np.bincount(i0[same], weights=part[same], minlength=n_bins) * weight
        diff = ~same
        x0, x1, gamma, ref, i0, i1 = (v[diff] for v in (x0, x1, gamma, ref, i0, i1))
        left_edge = lo + (i0 + 1) * width
        right_edge = lo + i1 * width
        left = 0.5 * gamma * (left_edge - x0) * (left_edge + x0 - 2 * ref)
        right = 0.5 * gamma * (x1 - right_edge) * (x1 + right_edge - 2 * ref)
        acc_bins += np.bincount(i0, weights=left, minlength=n_bins) * weight
        acc_bins += np.bincount(i1, weights=right, minlength=n_bins) * weight
        full = i1 > i0 + 1
        start, stop = i0[full] + 1, i1[full]
        gw, rw = gamma[full] * weight, -gamma[full] * ref[full] * weight
        acc_s1 += np.bincount(start, weights=gw, minlength=n_bins + 1)
        acc_s1 -= np.bincount(stop, weights=gw, minlength=n_bins + 1)
        acc_s0 += np.bincount(start, weights=rw, minlength=n_bins + 1)
        acc_s0 -= np.bincount(stop, weights=rw, minlength=n_bins + 1)


def triangle_dos(
    blocks,
    mesh,
    energy_range,
    n_bins,
    *,
    restrict=True,
    disentangle=True,
    workers=None,
    backend=None,
):
    """Unbroadened BdG DOS by the linear triangle method on a ``mesh × mesh`` grid.

    Parameters
    ----------
    blocks : dict from `bulk.fourier_blocks`
        The Bloch Hamiltonian (energies in t).
    mesh : int
        Grid points per reciprocal-lattice direction (``mesh**2`` k points).
    energy_range : (float, float)
        Window ``(e_lo, e_hi)``, in t; triangles are clipped to it exactly.
    n_bins : int
        Number of equal bins in the window.
    restrict : bool
        Diagonalize only the cells that can hold eigenvalues in the window
        (exact, see the module docstring); ``False`` evaluates the whole zone.
    disentangle : bool
        Follow bands through crossings by eigenvector overlap inside each
        triangle where two sorted bands come close (see `_disentangle`);
        ``False`` interpolates the sorted eigenvalues.
    workers : int, optional
        Threads over chunks of k points (the compiled pass and NumPy's array
        operations release the GIL); default: the cores available to this process.
        The chunks and the order of their sum do not depend on it, so neither does
        the result (bitwise).
    backend : {"numba", "numpy"}, optional
        Per-chunk implementation (`backend_in_use`): the compiled pass (default) or
        the NumPy reference; same DOS to round-off (tested at 1e-12). Default:
        ``$MIRAGE_DOS_BACKEND``, else ``"numba"``. Only 4-band Hamiltonians are
        compiled; others always take the NumPy path.

    Returns
    -------
    TriangleDOS
    """
    mesh = check_mesh(mesh)
    n_bins = int(check_positive("n_bins", n_bins))
    e_lo, e_hi = (float(x) for x in energy_range)
    if not e_hi > e_lo:
        raise ParameterError("energy_range", f"needs e_lo < e_hi, got {energy_range!r}")
    workers = available_cores() if workers is None else int(check_positive("workers", workers))
    norbs = next(iter(blocks.values())).shape[-1]
    backend = backend_in_use(backend) if norbs == 4 else "numpy"
    width = (e_hi - e_lo) / n_bins
    if restrict:
        m = block_size(mesh, _COARSE_TARGET)
        cand = candidate_blocks(blocks, mesh, m, e_lo, e_hi, backend=backend)
    else:
        # Whole zone: blocks of up to 32 x 32 cells (few duplicated boundary nodes).
        m = max(d for d in range(1, min(mesh, 32) + 1) if mesh % d == 0)
        nc = mesh // m
        cand = np.stack(np.meshgrid(np.arange(nc), np.arange(nc), indexing="ij"), -1)
        cand = cand.reshape(-1, 2)
    recip = bulk.reciprocal_vectors()
    weight = 1.0 / (2.0 * mesh * mesh)  # each triangle: half a cell of 1/mesh² of the zone
    local = np.arange(m + 1)
    la, lb = np.meshgrid(local, local, indexing="ij")
    per_chunk = max(1, _NODES_PER_CHUNK // (m + 1) ** 2)
    # Following bands through crossings (disentangle) only permutes corner values of one
    # triangle; a band can then reach the window from corner values all outside it only if
    # it changed by more than the window width within a cell. ||H(k') − H(k)||_2 is at most
    # |k' − k| sum_n ||blocks[n]||_2 |R_n|, with |k' − k| <= |b| / mesh on a cell.
    keys = np.array(list(blocks), dtype=float) @ np.asarray(model.LATTICE.prim_vecs, float)
    lipschitz = sum(
        np.linalg.norm(b, 2) * np.linalg.norm(r) for b, r in zip(blocks.values(), keys, strict=True)
    )
    cell_change = lipschitz * np.linalg.norm(recip, axis=1).max() / mesh
    band_filter = (not disentangle) or cell_change < e_hi - e_lo

    if backend == "numba":
        const, real_coef, vecs = bulk.fourier_coefficients(blocks)
        coef = (np.ascontiguousarray(real_coef[:, 0::2]), np.ascontiguousarray(real_coef[:, 1::2]))
        flat = const.reshape(-1)
        # Every entry of H(k') − H(k) is at most sum_n |B_n,ij| |R_n| |k' − k|, so the
        # row-sum norm of `_cell_change` is at most |k' − k| sum_n |R_n| ||B_n||_inf, with
        # |k' − k| <= |b|/mesh on the edges and the short diagonal (b_1 + b_2) of a cell.
        # The margin covers round-off in H (~1e-16 t against a bound ~1e-4 t).
        edge = max(np.linalg.norm(recip, axis=1).max(), np.linalg.norm(recip.sum(axis=0)))
        row_sums = sum(
            np.abs(b).sum(axis=1).max() * np.linalg.norm(r)
            for b, r in zip(blocks.values(), keys, strict=True)
        )
        change_bound = 1.000001 * edge / mesh * row_sums
        args = (
            m,
            mesh,
            recip,
            np.ascontiguousarray(flat.real),
            np.ascontiguousarray(flat.imag),
            *coef,
            np.ascontiguousarray(vecs),
            e_lo,
            e_hi,
            width,
            n_bins,
            weight,
            cell_change,
            change_bound,
            band_filter,
            disentangle,
            _EIG_RTOL,
        )

    def work_compiled(chunk):
        *acc, counts = _triangle_numba.chunk_pass(
            np.ascontiguousarray(chunk, dtype=np.int64), *args
        )
        return acc, len(chunk) * (m + 1) ** 2, int(counts[1])

    def work(chunk):
        acc = (np.zeros(n_bins), np.zeros(n_bins + 1), np.zeros(n_bins + 1))
        ia = chunk[:, 0, None, None] * m + la[None]  # (nblk, m+1, m+1)
        ib = chunk[:, 1, None, None] * m + lb[None]
        k = (np.stack([ia, ib], axis=-1) / mesh @ recip).reshape(-1, 2)
        if norbs == 4:
            rows = bulk.bloch_rows(blocks, k)  # (16, nodes)
            ev = bulk.rows_eigenvalues(rows)  # (nodes, 4), sorted
        else:
            rows, ev = None, np.linalg.eigvalsh(bulk.bloch_hamiltonian(blocks, k))
        nblk, side = ia.shape[0], m + 1
        if band_filter:
            # A band of a triangle that meets the window has every corner value within
            # cell_change of it (Weyl, edges of length |b|/mesh): prefilter the nodes.
            near = np.any((ev >= e_lo - cell_change) & (ev <= e_hi + cell_change), axis=1)
            near = near.reshape(ia.shape)
            lower_ok = near[:, :-1, :-1] & near[:, 1:, :-1] & near[:, 1:, 1:]
            upper_ok = near[:, :-1, :-1] & near[:, 1:, 1:] & near[:, :-1, 1:]
        else:
            lower_ok = upper_ok = np.ones((nblk, m, m), dtype=bool)
        # b_1 and b_2 are at 120°, so cut each cell along the short diagonal b_1 + b_2:
        # two equilateral triangles (the long diagonal would triple the worst error).
        cells = np.concatenate([np.flatnonzero(lower_ok), np.flatnonzero(upper_ok)])
        blk, rem = np.divmod(cells, m * m)
        i, j = np.divmod(rem, m)
        base = blk * side * side + i * side + j  # node (blk, i, j)
        offsets = np.array([[0, side, side + 1], [0, side + 1, 1]])  # lower, upper
        which = np.repeat([0, 1], [lower_ok.sum(), upper_ok.sum()])
        corners = base[:, None] + offsets[which]
        e = ev[corners]  # (ntri, 3 corners, norbs)
        hit = (e.max(axis=1) >= e_lo) & (e.min(axis=1) <= e_hi)  # (ntri, norbs)
        if band_filter:
            keep = hit.any(axis=1)
        else:  # a band could be followed from below to above the window within a cell
            keep = (e.max(axis=(1, 2)) >= e_lo) & (e.min(axis=(1, 2)) <= e_hi)
        corners, e, cells = corners[keep], e[keep], cells[keep]
        followed = 0
        if disentangle and rows is not None and len(e):
            # H(k) changes across cells, only for the blocks that hold kept triangles.
            used = np.unique(cells // (m * m))
            sub = rows.reshape(rows.shape[0], *ia.shape)[:, used]
            change = np.zeros((nblk, m, m))
            change[used] = _cell_change(sub.reshape(rows.shape[0], -1), sub.shape[1:])
            change = change.reshape(-1)[cells]
            e, followed = _disentangle(rows, corners, e, change)
        tri = np.sort(e.transpose(0, 2, 1).reshape(-1, 3), axis=1)  # (ntri * norbs, 3)
        band_keep = (tri[:, 2] >= e_lo) & (tri[:, 0] <= e_hi)
        _accumulate(tri[band_keep], e_lo, width, n_bins, weight, *acc)
        return acc, len(k), followed

    run = work_compiled if backend == "numba" else work
    chunks = [cand[s : s + per_chunk] for s in range(0, len(cand), per_chunk)]
    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, chunks))
    else:
        parts = [run(c) for c in chunks]
    acc_bins = sum((p[0][0] for p in parts), np.zeros(n_bins))
    acc_s1 = sum((p[0][1] for p in parts), np.zeros(n_bins + 1))
    acc_s0 = sum((p[0][2] for p in parts), np.zeros(n_bins + 1))
    n_k = sum(p[1] for p in parts)
    n_followed = sum(p[2] for p in parts)
    edges = e_lo + width * np.arange(n_bins + 1)
    centers = 0.5 * (edges[1:] + edges[:-1])
    full = width * (np.cumsum(acc_s1)[:n_bins] * centers + np.cumsum(acc_s0)[:n_bins])
    dos = (acc_bins + full) / width
    return TriangleDOS(
        edges=edges, dos=dos, mesh=mesh, n_k=n_k, n_k_full=mesh * mesh, n_followed=n_followed
    )


_PERMUTATIONS = np.array(list(itertools.permutations(range(4))))
_PERMUTATIONS.setflags(write=False)


def _cell_change(rows, shape):
    """Bound on ``||H(k') − H(k)||_2`` over the edges and short diagonal of each cell.

    Uses ``||A||_2 <= max_i sum_j |A_ij|`` (Hermitian A: the 1- and ∞-norms agree),
    tight for the nearly diagonal changes of H(k). *rows* holds H at the nodes of a
    chunk of blocks, ``shape = (nblk, m+1, m+1)``; returns shape ``(nblk, m, m)``.
    """
    norbs = math.isqrt(rows.shape[0])
    h = rows.reshape(norbs, norbs, *shape)

    def norm(d):
        return np.abs(d).sum(axis=1).max(axis=0)

    along_1 = norm(h[..., 1:, :] - h[..., :-1, :])  # (nblk, m, m+1)
    along_2 = norm(h[..., :, 1:] - h[..., :, :-1])  # (nblk, m+1, m)
    diagonal = norm(h[..., 1:, 1:] - h[..., :-1, :-1])  # (nblk, m, m)
    return np.maximum.reduce([
        diagonal, along_1[:, :, :-1], along_1[:, :, 1:], along_2[:, :-1, :], along_2[:, 1:, :],
    ])


def _disentangle(rows, corners, e, change):
    """Reorder the bands at the corners of triangles where sorted bands may cross.

    Sorting eigenvalues at each k turns a band crossing (e.g. the electron-like
    ``xi + E_so`` and hole-like ``-xi + E_so`` branches at ``xi = 0`` when B = 0,
    or an avoided crossing narrower than the mesh) into a kink, and linear
    interpolation across the kink produces spurious structure in the DOS that
    decays only like 1/mesh. By Weyl's inequality no eigenvalue moves by more
    than ``||H(k') − H(k)||_2`` between two corners, so two sorted bands can only
    cross inside a triangle if their smallest gap over the corners is below twice
    that change (*change*, bounded in `_cell_change`); we use three times, a
    margin for the curvature of H inside the cell. In those triangles the bands at the
    second and third corner are matched to those at the first by the
    permutation maximizing ``sum_i |<u_i(k_1)|u_pi(i)(k_c)>|^2`` (eigenvectors from
    LAPACK ``eigh``); elsewhere the sorted order is kept. Anticrossings resolved
    by the mesh are followed adiabatically (overlaps then favour the sorted order).

    Parameters
    ----------
    rows : ndarray, shape (16, nodes)
        H(k) at the nodes in `bulk.bloch_rows` layout.
    corners : ndarray of int, shape (ntri, 3)
    e : ndarray, shape (ntri, 3, 4)
        Sorted eigenvalues at the corners.
    change : ndarray, shape (ntri,)
        Bound on ``||H(k_c) − H(k_1)||_2`` within each triangle (`_cell_change`).

    Returns
    -------
    ndarray, shape (ntri, 3, 4)
        The corner values, bands reordered.
    int
        Number of triangles whose bands were followed (the close ones).
    """
    norbs = e.shape[-1]
    if len(e) == 0:
        return e, 0
    gaps = np.diff(e, axis=2)  # (ntri, 3, norbs - 1)
    # Pairs degenerate at all three corners (e.g. spin-degenerate bands at β = B = 0)
    # are left alone: exchanging them changes nothing.
    degenerate = gaps.max(axis=1) <= 1e-12 * (1.0 + np.abs(e).max(axis=(1, 2)))[:, None]
    gap = np.where(degenerate, np.inf, gaps.min(axis=1)).min(axis=1)  # (ntri,)
    close = gap < 3 * change
    if not np.any(close):
        return e, 0
    sel = np.flatnonzero(close)
    nodes, inverse = np.unique(corners[sel], return_inverse=True)
    _, vecs = np.linalg.eigh(rows[:, nodes].T.reshape(-1, 4, 4))  # columns, sorted
    vecs = vecs[inverse.reshape(-1, 3)]  # (nsel, 3, norbs, norbs)
    out = e.copy()
    band = np.arange(norbs)
    first_dagger = vecs[:, 0].conj().swapaxes(-1, -2)
    for c in (1, 2):
        overlap = np.abs(first_dagger @ vecs[:, c]) ** 2  # (nsel, i, j), doubly stochastic
        best = np.argmax(overlap, axis=2)
        # An overlap above 1/2 is the unique maximum of its column as well, so rows whose
        # maxima all exceed 1/2 already form a permutation; score all 24 for the others.
        ambiguous = np.flatnonzero(~np.all(overlap.max(axis=2) > 0.5, axis=1))
        if len(ambiguous):
            score = overlap[ambiguous][:, band, _PERMUTATIONS].sum(axis=-1)  # (n, 24)
            best[ambiguous] = _PERMUTATIONS[np.argmax(score, axis=1)]
        out[sel, c] = np.take_along_axis(e[sel, c], best, axis=1)
    return out, len(sel)


def lorentzian_broaden(tdos, energies, eta):
    """Dynes (Lorentzian, half-width *eta*) broadening of a `TriangleDOS`.

    Each bin's Lorentzian weight is integrated exactly (arctan); outside the
    binned window the DOS is continued by its outermost bin value.

    Parameters
    ----------
    tdos : TriangleDOS
    energies : array_like, shape (n,)
        Where to evaluate, same unit as *tdos*.
    eta : float
        Half-width (> 0), same unit.

    Returns
    -------
    ndarray, shape (n,)
    """
    check_positive("eta", eta)
    energies = np.asarray(energies, dtype=float)
    edges = tdos.edges
    out = np.empty_like(energies)
    step = max(1, (1 << 22) // len(edges))
    for s in range(0, len(energies), step):
        e = energies[s : s + step, None]
        cdf = np.arctan((edges[None, :] - e) / eta) / np.pi  # Lorentzian CDF - 1/2
        w = np.diff(cdf, axis=1)
        below = cdf[:, 0] + 0.5
        above = 0.5 - cdf[:, -1]
        out[s : s + step] = w @ tdos.dos + below * tdos.dos[0] + above * tdos.dos[-1]
    return out


@dataclass(frozen=True, eq=False)
class CleanDOS:
    """Normalized clean DOS of a mapped parameter set (energies in Δ0).

    Attributes
    ----------
    energies : ndarray, shape (n,)
        Δ0.
    dos : ndarray, shape (n,)
        ``N_s(E) / N_n(0)``; with eta = 0, bin averages over bins centred on
        *energies* (uniform spacing required).
    dos_normal : ndarray, shape (n,), or None
        ``N_n(E) / N_n(0)``, the normal state (Δ = 0) with the same β, B, eta
        (None if not computed).
    n_normal : float
        ``N_n(0)``: BdG states per t per unit cell at E = 0 in the normal state
        (``≈ 4 N_0``).
    delta : float
        The gap used, Δ0.
    eta : float
        Dynes broadening, Δ0 (0: unbroadened triangle method).
    mesh, n_k : int
        Mesh size and k points diagonalized (per state, superconducting run).
    bin_width : float
        Width of the energy bins of the triangle method, Δ0.
    method, normalization : str
    mapping : LatticeMapping
    """

    energies: np.ndarray = field(repr=False)
    dos: np.ndarray = field(repr=False)
    dos_normal: np.ndarray = field(repr=False)
    n_normal: float
    delta: float
    eta: float
    mesh: int
    n_k: int
    bin_width: float
    method: str
    normalization: str
    mapping: LatticeMapping = field(repr=False)

    def metadata(self):
        """Parameters actually used, for result files."""
        p = self.mapping.physical
        formula = mirage_formula(p.beta, p.field, self.delta)
        return {
            "method": self.method,
            "mesh": self.mesh,
            "n_k_diagonalized": self.n_k,
            "bin_width_delta0": self.bin_width,
            "eta_delta0": self.eta,
            "delta_used_delta0": self.delta,
            "n_normal_fermi_per_t_per_site": self.n_normal,
            "mesh_energy_resolution_delta0": _mesh_resolution(self.mapping, self.mesh),
            "normalization": self.normalization,
            "mirage_formula_delta0": {
                "eps1": float(formula.eps1),
                "eps2": float(formula.eps2),
                "eps0": float(formula.eps0),
                "width": float(formula.width),
            },
            "mapping": self.mapping.report(),
        }


def _mesh_resolution(mapping, mesh):
    """Energy step ``v_F |b| / mesh`` of the mesh at the Fermi surface, in Δ0."""
    b = np.linalg.norm(bulk.reciprocal_vectors(), axis=1).max()
    return float(mapping.v_fermi * b / mesh / mapping.delta0)


def clean_dos(
    mapping,
    energies,
    *,
    eta=0.0,
    mesh=2000,
    delta=None,
    normal_state=True,
    fsyst=None,
    workers=None,
    backend=None,
):
    """Normalized clean DOS ``N_s(E)/N_n(0)`` of a mapped parameter set.

    Parameters
    ----------
    mapping : LatticeMapping
        From `latticemirage.mapping.map_to_lattice`.
    energies : array_like, shape (n,)
        Energies in Δ0, uniformly spaced and increasing when ``eta == 0`` (they are
        the bin centres of the triangle method), any order otherwise.
    eta : float
        Dynes broadening in Δ0; 0 for the unbroadened triangle method.
    mesh : int
        k mesh per reciprocal direction.
    delta : float, optional
        Gap in Δ0; default ``mapping.physical.delta`` (which must then be set).
    normal_state : bool
        Also compute the normal state (Δ = 0) on the same mesh and normalize by its
        DOS at E = 0 (default). ``False`` halves the cost: ``dos_normal`` is then
        None and N_n(0) is taken as ``4 N_0`` from the Fermi-contour integral of
        the mapping (the two agree to ~1e-4 at mesh 2000, tested).
    fsyst : finalized wrapped system, optional
    workers, backend : optional
        Threads and per-chunk implementation of `triangle_dos` (same result).

    Returns
    -------
    CleanDOS

    Raises
    ------
    ParameterError
        ``mesh`` not a positive integer; ``eta`` negative or too large to resolve
        the mirage gap (``eta > δ/2`` for B > 0); ``energies`` outside the pockets
        (``|E| >= E_F``) or unevenly spaced with ``eta == 0``; ``delta`` missing.
    """
    mesh = check_mesh_resolves(mapping, check_mesh(mesh))
    check_nonnegative("eta", eta)
    phys = mapping.physical
    if delta is None:
        delta = phys.delta
    if delta is None:
        raise ParameterError("delta", "is None: give a gap or solve it with latticemirage.gap")
    check_nonnegative("delta", delta)
    width = float(mirage_formula(phys.beta, phys.field, delta).width)
    if width > 0 and eta > width / 2:
        raise ParameterError(
            "eta",
            f"Dynes broadening eta = {eta!r} Δ0 cannot resolve the mirage gap of width "
            f"δ = {width:.4g} Δ0 (β = {phys.beta:g}, B = {phys.field:g}, Δ = {delta:g}); "
            f"need eta <= δ/2 = {width / 2:.4g} Δ0",
        )
    energies = np.asarray(energies, dtype=float)
    if energies.ndim != 1 or len(energies) < 2:
        raise ParameterError("energies", "need a 1-D array of at least two energies")
    if np.abs(energies).max() >= phys.e_fermi:
        raise ParameterError(
            "energies",
            f"|E| must stay below the pocket depth E_F = {phys.e_fermi:g} Δ0, "
            f"got max |E| = {np.abs(energies).max():g}",
        )
    fsyst = bulk.wrapped_system() if fsyst is None else fsyst
    d0 = mapping.delta0
    if eta == 0:
        spacing = np.diff(energies)
        if not np.allclose(spacing, spacing[0], rtol=1e-9, atol=0) or spacing[0] <= 0:
            raise ParameterError("energies", "must be increasing and uniformly spaced for eta = 0")
        h = spacing[0]
        n_bins = len(energies)
        window = (energies[0] - h / 2, energies[-1] + h / 2)
    else:
        h = min(eta / _BINS_PER_ETA, (energies.max() - energies.min()) / 200)
        pad = _PAD_ETA * eta
        lo = max(energies.min() - pad, -0.999 * phys.e_fermi)
        hi = min(energies.max() + pad, 0.999 * phys.e_fermi)
        n_bins = math.ceil((hi - lo) / h)
        window = (lo, lo + n_bins * h)
    window_t = (window[0] * d0, window[1] * d0)
    results = {}
    states = (("sc", delta), ("normal", 0.0)) if normal_state else (("sc", delta),)
    for name, gap in states:
        blocks = bulk.fourier_blocks(fsyst, mapping.lattice_params(gap))
        results[name] = triangle_dos(
            blocks, mesh, window_t, n_bins, workers=workers, backend=backend
        )
    if not normal_state:
        n_normal = 4 * mapping.n0
        normalization = "N_s(E)/N_n(0), BdG DOS of all bands, N_n(0) = 4 N_0 (Fermi contour)"
    else:
        # Normal-state DOS at E_F: average of the unbroadened normal DOS near E = 0.
        normal = results["normal"]
        near = np.abs(normal.centers) <= _NORMAL_WINDOW_DELTA0 * d0
        if near.sum() < 1:
            norm_tdos = triangle_dos(
                bulk.fourier_blocks(fsyst, mapping.lattice_params(0.0)),
                mesh,
                (-_NORMAL_WINDOW_DELTA0 * d0, _NORMAL_WINDOW_DELTA0 * d0),
                1,
                workers=workers,
                backend=backend,
            )
            n_normal = float(norm_tdos.dos[0])
        else:
            n_normal = float(normal.dos[near].mean())
        normalization = (
            "N_s(E)/N_n(0), BdG DOS of all bands, N_n at Delta = 0 on the same mesh "
            f"averaged over |E| <= {_NORMAL_WINDOW_DELTA0} Delta0"
        )
    if not (np.isfinite(n_normal) and n_normal > 0):  # a guard: min_mesh should prevent it
        raise ParameterError("mesh", f"the mesh {mesh} finds no normal-state states at E_F "
                                     f"(N_n(0) = {n_normal!r}); use a finer mesh")
    if eta == 0:
        curves = {name: r.dos for name, r in results.items()}
        method = "linear triangle (tetrahedron), unbroadened, bin averages"
    else:
        curves = {
            name: lorentzian_broaden(r, energies * d0, eta * d0) for name, r in results.items()
        }
        method = "linear triangle (tetrahedron) convolved with a Lorentzian (Dynes eta)"
    return CleanDOS(
        energies=energies,
        dos=curves["sc"] / n_normal,
        dos_normal=curves["normal"] / n_normal if normal_state else None,
        n_normal=n_normal,
        delta=float(delta),
        eta=float(eta),
        mesh=mesh,
        n_k=results["sc"].n_k,
        bin_width=float(h),
        method=method,
        normalization=normalization,
        mapping=mapping,
    )
