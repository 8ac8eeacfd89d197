r"""Kernel polynomial method (KPM) for the density of states of large sparse matrices.

Method (Weisse, Wellein, Alvermann, Fehske, Rev. Mod. Phys. 78, 275 (2006))
    The Hamiltonian is rescaled to ``Ht = (H - b) / a`` with spectrum inside
    (-1, 1); with bounds ``[E_min, E_max]``, ``a = (E_max - E_min) / (2 - eps)``
    and ``b = (E_max + E_min) / 2`` (the same rule as `kwant.kpm`, so both give
    identical moments for identical bounds). For each random vector ``v_r`` the
    moments ``mu_n^r = <v_r| T_n(Ht) |v_r> / N`` estimate ``Tr T_n(Ht) / N``; the
    DOS per orbital, normalized to unit integral, is

    .. math::

        \rho_r(E) = \frac{g_0 \mu_0^r + 2 \sum_{n \ge 1} g_n \mu_n^r T_n(x)}
                         {\pi a \sqrt{1 - x^2}}, \qquad x = (E - b) / a,

    with the Jackson kernel ``g_n`` (`jackson_kernel`). The result is the mean
    over vectors and its standard error ``std_r / sqrt(R)`` (the stochastic-trace
    error estimate from the spread across the vectors).

Speed
    All R vectors are advanced together as one dense block ``(N, R)`` (the matrix
    is streamed once per step for all of them). A compiled kernel (numba) fuses the
    CSR product, the Chebyshev recursion ``T_{n+1} = 2 Ht T_n - T_{n-1}`` (written
    in place over ``T_{n-1}``) and the two dot products that give two moments per
    product: ``mu_{2n} = 2 <T_n|T_n> - mu_0`` and
    ``mu_{2n+1} = 2 <T_{n+1}|T_n> - mu_1``. Real symmetric matrices (see
    `latticemirage.disorder.supercell.real_basis`) run in real arithmetic with real
    (Rademacher) vectors. Rows are split into a fixed number of chunks that depends
    only on N, and partial sums are added in chunk order, so the moments are
    bitwise identical whatever the number of threads.

Resolution
    The Jackson kernel broadens a delta function at the band centre into a
    Gaussian of width ``sigma = pi a / M`` for M moments (RMP Eq. (72)).
    `check_resolution` compares it with the feature that must be resolved (the
    mirage-gap width ``delta``): it refuses when ``sigma > delta / 2`` and warns
    when ``sigma > delta / 4``.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mirage_common.errors import ParameterError, check_positive

try:  # numba is a hard dependency; the guard only gives a clear message.
    import numba
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic
except ImportError as exc:  # pragma: no cover
    raise ImportError("latticemirage.disorder.kpm needs numba (pip install numba)") from exc

__all__ = [
    "KPMResult",
    "ResolutionWarning",
    "chebyshev_moments",
    "check_resolution",
    "density_from_moments",
    "gershgorin_bounds",
    "jackson_kernel",
    "jackson_resolution",
    "kpm_dos",
    "moments_for_resolution",
    "random_vectors",
    "rescaling",
]

# Refuse when the kernel width exceeds delta / REFUSE_RATIO, warn above delta / WARN_RATIO.
REFUSE_RATIO = 2.0
WARN_RATIO = 4.0
_CHUNK_ROWS = 2048  # rows per work chunk: fixed, so sums do not depend on threads
# Work estimate of one step, nnz * (R + 6): measured single-thread cost per stored
# entry is ~0.75 ns for R = 1 and ~0.13 ns per lane for R = 8 (AMD EPYC, AVX2), so
# below 2**24 a step takes < ~1-2 ms and a parallel region per step costs more in
# thread wake-ups (and in stalls when a core is briefly taken away) than it gains:
# run on one thread. Results do not depend on it.
_PARALLEL_MIN = 1 << 24


class ResolutionWarning(UserWarning):
    """The KPM energy resolution is marginal for the feature to be resolved."""


def jackson_kernel(num_moments):
    """Jackson kernel coefficients ``g_n``, shape ``(num_moments,)`` (RMP Eq. (71))."""
    m = num_moments
    n = np.arange(m)
    q = np.pi / (m + 1)
    return ((m - n + 1) * np.cos(q * n) + np.sin(q * n) / np.tan(q)) / (m + 1)


def jackson_resolution(num_moments, a):
    """Gaussian width ``sigma = pi a / M`` of the Jackson kernel at the band centre (units of a)."""
    return np.pi * a / num_moments


def moments_for_resolution(sigma, a):
    """Smallest number of moments whose Jackson width at the band centre is <= sigma."""
    check_positive("resolution", sigma)
    return math.ceil(np.pi * a / sigma)


def check_resolution(num_moments, a, width, *, what="mirage-gap width", units=""):
    """Refuse or warn when ``num_moments`` cannot resolve a feature of size *width*.

    Parameters
    ----------
    num_moments : int
    a : float
        Half-width of the rescaled spectrum (`rescaling`), energy units.
    width : float
        Size of the feature to resolve (e.g. the mirage-gap width delta), same units.

    Returns
    -------
    sigma : float
        The kernel width ``pi a / M``.

    Raises
    ------
    ParameterError
        (named ``moments``) if ``sigma > width / 2``: the feature is smeared out.
    """
    sigma = jackson_resolution(num_moments, a)
    need_refuse = moments_for_resolution(width / REFUSE_RATIO, a)
    need_good = moments_for_resolution(width / WARN_RATIO, a)
    if sigma > width / REFUSE_RATIO:
        raise ParameterError(
            "moments",
            f"{num_moments} moments give a kernel width {sigma:.3g}{units} that cannot resolve "
            f"the {what} {width:.3g}{units} (need sigma <= width/{REFUSE_RATIO:g}: at least "
            f"{need_refuse} moments, {need_good} recommended)",
        )
    if sigma > width / WARN_RATIO:
        warnings.warn(
            f"{num_moments} moments resolve the {what} {width:.3g}{units} only marginally "
            f"(kernel width {sigma:.3g}{units}); {need_good} moments recommended",
            ResolutionWarning,
            stacklevel=2,
        )
    return sigma


def gershgorin_bounds(matrix):
    """Guaranteed spectral bounds ``(E_min, E_max)`` of a Hermitian matrix (Gershgorin discs)."""
    matrix = sp.csr_matrix(matrix)
    diag = matrix.diagonal().real
    radius = np.asarray(abs(matrix).sum(axis=1)).ravel() - np.abs(diag)
    return float(np.min(diag - radius)), float(np.max(diag + radius))


def rescaling(bounds, eps=0.05):
    """``(a, b)`` with ``Ht = (H - b)/a``, the rule of `kwant.kpm`.

    The spectrum of ``Ht`` lies in ``[-1 + eps/2, 1 - eps/2]``.
    """
    lo, hi = bounds
    if not hi > lo:
        raise ParameterError("bounds", f"need E_min < E_max, got {bounds!r}")
    return abs(hi - lo) / (2.0 - eps), (hi + lo) / 2.0


def random_vectors(n, num_vectors, rng, dtype=float):
    """Random vectors for the stochastic trace, shape ``(n, num_vectors)``, ``|v_i| = 1``.

    Real: Rademacher ``+-1`` (minimal variance for real symmetric matrices).
    Complex: random phases ``exp(2 pi i u)``, as `kwant.kpm.RandomVectors`.
    """
    if np.dtype(dtype).kind == "c":
        return np.exp(2j * np.pi * rng.random((n, num_vectors)))
    return np.where(rng.random((n, num_vectors)) < 0.5, -1.0, 1.0)


# ----------------------------------------------------------------------------
# Compiled kernels
#
# Real symmetric matrices: for a range of rows and a group of W = 8 (or 4, 2, 1)
# vectors, an LLVM-level intrinsic (`_rows`) does the whole Chebyshev step:
# ``acc = sum_jj data[jj] * T[col_jj, r:r+W]`` as <W x double> fused multiply-adds
# with two interleaved accumulators (so the FMA latency chain does not limit the
# throughput), then ``new = c acc - s x - T_prev`` and the two dot products, whose
# accumulators stay in vector registers across the rows. numba's own code
# generation keeps these loops scalar and spills the per-row epilogue to memory,
# which made the step compute-bound (~7 cycles per stored entry). Complex matrices
# use plain numba loops. All variants add in a fixed order: results are
# deterministic.


def _make_rows(width):
    """Intrinsic ``_rows(i0, i1, indptr, indices, data, tc, tp, c, s, offset, stride, out)``.

    For rows ``i0 <= i < i1`` and lanes ``offset .. offset + width - 1`` of the flat
    row-major blocks ``tc`` (T_n) and ``tp`` (T_{n-1}, overwritten by T_{n+1})::

        acc = sum_{indptr[i] <= jj < indptr[i+1]} data[jj] * tc[indices[jj] * stride + lanes]
        tp[i * stride + lanes] = c * acc - s * tc[i * stride + lanes] - tp[i * stride + lanes]

    and ``out[:width] += sum_i x * x``, ``out[width:2 width] += sum_i new * x`` with
    ``x = tc[i * stride + lanes]`` (rows summed in order, even and odd ``jj`` in
    separate accumulators added at the end of each row).
    """

    @intrinsic
    def _rows(typingctx, i0, i1, indptr, indices, data, tc, tp, c, s, offset, stride, out):
        sig = types.void(i0, i1, indptr, indices, data, tc, tp, c, s, offset, stride, out)

        def codegen(context, builder, signature, args):
            i0, i1, indptr, indices, data, tc, tp, c, s, offset, stride, out = args
            i64 = ir.IntType(64)
            i32 = ir.IntType(32)
            dbl = ir.DoubleType()
            vty = ir.VectorType(dbl, width)
            vptr = vty.as_pointer()
            ptr_ptr, ind_ptr, data_ptr, tc_ptr, tp_ptr, out_ptr = (
                context.make_array(signature.args[k])(context, builder, v).data
                for k, v in ((2, indptr), (3, indices), (4, data), (5, tc), (6, tp), (11, out))
            )

            def widen(x):
                return builder.sext(x, i64) if x.type.width < 64 else x

            i0, i1, offset, stride = (widen(x) for x in (i0, i1, offset, stride))
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty, vty, vty]), f"llvm.fma.v{width}f64"
            )
            one = ir.Constant(i64, 1)
            zero = ir.Constant(vty, [0.0] * width)
            undef = ir.Constant(vty, ir.Undefined)
            splat_mask = ir.Constant(ir.VectorType(i32, width), [0] * width)

            def splat(x):
                v = builder.insert_element(undef, x, ir.Constant(i32, 0))
                return builder.shuffle_vector(v, undef, splat_mask)

            def vload(base_ptr, idx):
                return builder.load(builder.bitcast(builder.gep(base_ptr, [idx]), vptr), align=8)

            def term(j, acc):
                col = widen(builder.load(builder.gep(ind_ptr, [j])))
                x = vload(tc_ptr, builder.add(builder.mul(col, stride), offset))
                v = splat(builder.load(builder.gep(data_ptr, [j])))
                return builder.call(fma, [v, x, acc])

            cv, sv = splat(c), splat(s)
            entry = builder.block
            row_head = builder.append_basic_block("row_head")
            row_body = builder.append_basic_block("row_body")
            nz_head = builder.append_basic_block("nz_head")
            nz_body = builder.append_basic_block("nz_body")
            nz_tail = builder.append_basic_block("nz_tail")
            nz_last = builder.append_basic_block("nz_last")
            row_end = builder.append_basic_block("row_end")
            exit_ = builder.append_basic_block("rows_exit")
            builder.branch(row_head)

            def loop_header(block, pred, *inits):
                """Open *block* with one phi per initial value (coming from *pred*)."""
                builder.position_at_end(block)
                phis = [builder.phi(v.type) for v in inits]
                for phi, val in zip(phis, inits, strict=True):
                    phi.add_incoming(val, pred)
                return phis

            i, p0, p1 = loop_header(row_head, entry, i0, zero, zero)
            builder.cbranch(builder.icmp_signed("<", i, i1), row_body, exit_)

            builder.position_at_end(row_body)
            lo = widen(builder.load(builder.gep(ptr_ptr, [i])))
            hi = widen(builder.load(builder.gep(ptr_ptr, [builder.add(i, one)])))
            hi1 = builder.sub(hi, one)
            builder.branch(nz_head)

            jj, acc_a, acc_b = loop_header(nz_head, row_body, lo, zero, zero)
            builder.cbranch(builder.icmp_signed("<", jj, hi1), nz_body, nz_tail)
            builder.position_at_end(nz_body)
            new_a = term(jj, acc_a)
            new_b = term(builder.add(jj, one), acc_b)
            jj.add_incoming(builder.add(jj, ir.Constant(i64, 2)), nz_body)
            acc_a.add_incoming(new_a, nz_body)
            acc_b.add_incoming(new_b, nz_body)
            builder.branch(nz_head)
            builder.position_at_end(nz_tail)
            builder.cbranch(builder.icmp_signed("<", jj, hi), nz_last, row_end)
            builder.position_at_end(nz_last)
            last_a = term(jj, acc_a)
            builder.branch(row_end)

            builder.position_at_end(row_end)
            fin_a = builder.phi(vty)
            fin_a.add_incoming(acc_a, nz_tail)
            fin_a.add_incoming(last_a, nz_last)
            acc = builder.fadd(fin_a, acc_b)
            base = builder.add(builder.mul(i, stride), offset)
            x = vload(tc_ptr, base)
            prev_ptr = builder.bitcast(builder.gep(tp_ptr, [base]), vptr)
            prev = builder.load(prev_ptr, align=8)
            new = builder.fsub(builder.fsub(builder.fmul(cv, acc), builder.fmul(sv, x)), prev)
            builder.store(new, prev_ptr, align=8)
            p0n = builder.call(fma, [x, x, p0])
            p1n = builder.call(fma, [new, x, p1])
            i.add_incoming(builder.add(i, one), row_end)
            p0.add_incoming(p0n, row_end)
            p1.add_incoming(p1n, row_end)
            builder.branch(row_head)

            builder.position_at_end(exit_)
            for k, p in ((0, p0), (width, p1)):
                optr = builder.bitcast(builder.gep(out_ptr, [ir.Constant(i64, k)]), vptr)
                builder.store(builder.fadd(builder.load(optr, align=8), p), optr, align=8)
            return context.get_dummy_value()

        return sig, codegen

    return _rows


_rows8 = _make_rows(8)
_rows4 = _make_rows(4)
_rows2 = _make_rows(2)
_rows1 = _make_rows(1)


@numba.njit(parallel=True, cache=True)
def _cheb_step_real(indptr, indices, data, c, s, t_cur, t_prev, nchunks):
    """``t_prev <- c * H t_cur - s * t_cur - t_prev`` for real data; returns dots.

    Returns ``out`` of shape (2, R): ``<t_cur|t_cur>`` and ``<t_new|t_cur>``,
    summed per chunk of rows, then over chunks in order (deterministic).
    """
    n, nvec = t_cur.shape
    chunk = (n + nchunks - 1) // nchunks
    tc = t_cur.reshape(-1)
    tp = t_prev.reshape(-1)
    stride = np.int64(nvec)
    n8 = nvec // 8
    rem = nvec - 8 * n8
    o4 = 8 * n8  # lane offsets of the 4-, 2- and 1-wide remainder groups
    o2 = o4 + 4 * (rem // 4)
    o1 = o2 + 2 * ((rem % 4) // 2)
    part = np.zeros((nchunks, 2, nvec))
    for k in numba.prange(nchunks):
        i0 = np.int64(k * chunk)
        i1 = np.int64(min(n, (k + 1) * chunk))
        buf = np.zeros(16)
        for g in range(n8 + 3):
            if g < n8:
                off, w = 8 * g, 8
            elif g == n8:
                off, w = o4, o2 - o4
            elif g == n8 + 1:
                off, w = o2, o1 - o2
            else:
                off, w = o1, nvec - o1
            if w == 0:
                continue
            buf[:] = 0.0
            if w == 8:
                _rows8(i0, i1, indptr, indices, data, tc, tp, c, s, np.int64(off), stride, buf)
            elif w == 4:
                _rows4(i0, i1, indptr, indices, data, tc, tp, c, s, np.int64(off), stride, buf)
            elif w == 2:
                _rows2(i0, i1, indptr, indices, data, tc, tp, c, s, np.int64(off), stride, buf)
            else:
                _rows1(i0, i1, indptr, indices, data, tc, tp, c, s, np.int64(off), stride, buf)
            for r in range(w):
                part[k, 0, off + r] = buf[r]
                part[k, 1, off + r] = buf[w + r]
    out = np.zeros((2, nvec))
    for k in range(nchunks):
        out += part[k]
    return out


@numba.njit(parallel=True, cache=True)
def _cheb_step_complex(indptr, indices, data, c, s, t_cur, t_prev, nchunks):
    """Complex version of `_cheb_step_real` (plain numba loops, real parts of the dots)."""
    n, nvec = t_cur.shape
    chunk = (n + nchunks - 1) // nchunks
    part = np.zeros((nchunks, 2, nvec))
    for k in numba.prange(nchunks):
        acc = np.zeros(nvec, dtype=t_cur.dtype)
        pp = np.zeros((2, nvec))
        for i in range(k * chunk, min(n, (k + 1) * chunk)):
            acc[:] = 0
            for jj in range(indptr[i], indptr[i + 1]):
                j = indices[jj]
                v = data[jj]
                for r in range(nvec):
                    acc[r] += v * t_cur[j, r]
            for r in range(nvec):
                x = t_cur[i, r]
                new = c * acc[r] - s * x - t_prev[i, r]
                t_prev[i, r] = new
                pp[0, r] += x.real * x.real + x.imag * x.imag
                pp[1, r] += new.real * x.real + new.imag * x.imag
        part[k] = pp
    out = np.zeros((2, nvec))
    for k in range(nchunks):
        out += part[k]
    return out


def _cheb_step(indptr, indices, data, c, s, t_cur, t_prev, nchunks):
    if t_cur.dtype.kind == "c":
        return _cheb_step_complex(indptr, indices, data, c, s, t_cur, t_prev, nchunks)
    return _cheb_step_real(indptr, indices, data, c, s, t_cur, t_prev, nchunks)


def _prepare(matrix):
    matrix = sp.csr_matrix(matrix)
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square, got shape {matrix.shape}")
    data = matrix.data
    if data.dtype.kind not in "fc":
        data = data.astype(float)
    if data.dtype.kind == "c" and np.all(data.imag == 0):
        data = np.ascontiguousarray(data.real)
    return matrix.indptr, matrix.indices, data


def chebyshev_moments(matrix, vectors, num_moments, a, b, *, progress=None):
    """Unnormalized moments ``<v_r| T_n((H - b)/a) |v_r>`` for a block of vectors.

    Parameters
    ----------
    matrix : sparse matrix, shape (N, N)
        Hermitian (or real symmetric).
    vectors : ndarray, shape (N, R)
        Start vectors as columns (copied once into the working block).
    num_moments : int >= 2
    a, b : float
        Rescaling from `rescaling`.
    progress : callable, optional
        Called as ``progress(done_products, total_products)``.

    Returns
    -------
    ndarray, shape (R, num_moments), float
    """
    if int(num_moments) != num_moments or num_moments < 2:
        raise ParameterError("moments", f"must be an integer >= 2, got {num_moments!r}")
    indptr, indices, data = _prepare(matrix)
    n = len(indptr) - 1
    vectors = np.asarray(vectors)
    if vectors.ndim == 1:
        vectors = vectors[:, None]
    if vectors.shape[0] != n:
        raise ValueError(f"vectors have {vectors.shape[0]} rows, matrix has {n}")
    dtype = np.result_type(data.dtype, vectors.dtype, float)
    data = data.astype(dtype, copy=False)
    t_cur = np.ascontiguousarray(vectors, dtype=dtype)  # T_0
    if t_cur is vectors:
        t_cur = t_cur.copy()
    t_prev = np.zeros_like(t_cur)
    nchunks = max(1, -(-n // _CHUNK_ROWS))
    nvec = t_cur.shape[1]
    mom = np.empty((nvec, num_moments + 1))
    c, s = 2.0 / a, 2.0 * b / a
    threads = numba.get_num_threads()
    if len(indices) * (nvec + 6) < _PARALLEL_MIN:
        numba.set_num_threads(1)
    try:
        # T_1 = Ht T_0: the step with halved coefficients and T_{-1} = 0.
        mu0, mu1 = _cheb_step(indptr, indices, data, c / 2, s / 2, t_cur, t_prev, nchunks)
        t_cur, t_prev = t_prev, t_cur  # t_cur = T_1, t_prev = T_0
        mom[:, 0], mom[:, 1] = mu0, mu1
        nmax = (num_moments - 1) // 2
        for k in range(1, nmax + 1):
            nn, nm = _cheb_step(indptr, indices, data, c, s, t_cur, t_prev, nchunks)
            t_cur, t_prev = t_prev, t_cur  # t_cur = T_{k+1}, t_prev = T_k
            mom[:, 2 * k] = 2 * nn - mu0
            mom[:, 2 * k + 1] = 2 * nm - mu1
            if progress is not None:
                progress(k, nmax)
    finally:
        numba.set_num_threads(threads)
    return mom[:, :num_moments]


def density_from_moments(moments, energies, a, b, kernel=jackson_kernel):
    """Kernel-damped Chebyshev series of the DOS at arbitrary energies.

    Parameters
    ----------
    moments : ndarray, shape (..., M)
        Normalized moments ``mu_n`` (``mu_0 = 1`` for a normalized DOS).
    energies : ndarray, shape (n,)
    a, b : float
        Rescaling.
    kernel : callable, ``kernel(M) -> g_n``

    Returns
    -------
    ndarray, shape (..., n)
        Density per unit energy; zero outside ``(b - a, b + a)``.
    """
    moments = np.asarray(moments, dtype=float)
    m = moments.shape[-1]
    coef = moments * kernel(m)
    coef[..., 1:] *= 2
    x = (np.asarray(energies, dtype=float) - b) / a
    inside = np.abs(x) < 1
    xs = np.where(inside, x, 0.0)
    # Clenshaw over the last axis, vectorized over energies and leading axes.
    c = np.moveaxis(coef, -1, 0)[..., None]  # (M, ..., 1)
    b1 = np.zeros(c.shape[1:-1] + xs.shape)
    b2 = np.zeros_like(b1)
    for k in range(m - 1, 0, -1):
        b1, b2 = 2 * xs * b1 - b2 + c[k], b1
    series = xs * b1 - b2 + c[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(inside, series / (np.pi * a * np.sqrt(1 - xs**2)), 0.0)
    return rho


@dataclass(frozen=True)
class KPMResult:
    """Stochastic KPM density of states.

    Attributes
    ----------
    energies : ndarray, shape (n,)
        In the energy units of the matrix.
    density : ndarray, shape (n,)
        DOS per orbital (integral 1 over the whole spectrum), mean over vectors.
    stderr : ndarray, shape (n,)
        Standard error of ``density`` from the spread across the vectors.
    per_vector : ndarray, shape (R, n)
        The DOS estimate of each vector (``density`` is their mean).
    moments : ndarray, shape (R, M)
        Normalized moments ``<v_r|T_n|v_r> / N`` before the kernel.
    a, b : float
        Rescaling ``Ht = (H - b)/a``.
    resolution : float
        Jackson width ``pi a / M`` at the band centre.
    """

    energies: np.ndarray
    density: np.ndarray
    stderr: np.ndarray
    per_vector: np.ndarray
    moments: np.ndarray
    a: float
    b: float
    resolution: float

    @property
    def num_moments(self):
        return self.moments.shape[1]

    @property
    def num_vectors(self):
        return self.moments.shape[0]


def kpm_dos(
    matrix,
    energies,
    num_moments,
    num_vectors,
    rng,
    *,
    bounds=None,
    eps=0.05,
    block_size=16,
    resolve=None,
    vectors=None,
    progress=None,
):
    """DOS per orbital of a Hermitian sparse matrix by stochastic KPM.

    Parameters
    ----------
    matrix : sparse matrix, shape (N, N)
    energies : array_like, shape (n,)
        Where to evaluate the DOS (matrix energy units).
    num_moments : int
    num_vectors : int
        Number of random vectors R.
    rng : numpy.random.Generator
        Source of the random vectors.
    bounds : (float, float), optional
        Spectral bounds; default `gershgorin_bounds` (guaranteed).
    eps : float
        Margin of the rescaling, as in `kwant.kpm`.
    block_size : int
        Vectors advanced together (memory ``3 N block_size`` numbers).
    resolve : float, optional
        Width of the feature that must be resolved; `check_resolution` is applied.
    vectors : ndarray, shape (N, R), optional
        Explicit start vectors (then ``num_vectors`` and ``rng`` are ignored).
    progress : callable, optional
        ``progress(done, total)`` in matrix-vector block products.

    Returns
    -------
    KPMResult
    """
    matrix = sp.csr_matrix(matrix)
    n = matrix.shape[0]
    if int(num_vectors) != num_vectors or num_vectors < 1:
        raise ParameterError("vectors", f"must be a positive integer, got {num_vectors!r}")
    bounds = gershgorin_bounds(matrix) if bounds is None else bounds
    a, b = rescaling(bounds, eps)
    if resolve is not None:
        check_resolution(num_moments, a, resolve)
    real = matrix.dtype.kind != "c" or np.all(matrix.data.imag == 0)
    if vectors is not None:
        vectors = np.asarray(vectors)
        num_vectors = vectors.shape[1]
    norms = []
    moments = []
    nblocks = -(-num_vectors // block_size)
    steps = (num_moments - 1) // 2
    for i, start in enumerate(range(0, num_vectors, block_size)):
        stop = min(num_vectors, start + block_size)
        if vectors is None:
            block = random_vectors(n, stop - start, rng, float if real else complex)
        else:
            block = vectors[:, start:stop]
        norms.append(np.einsum("ij,ij->j", block.conj(), block).real)
        prog = None if progress is None else (
            lambda k, tot, i=i: progress(i * steps + k, nblocks * steps)
        )
        moments.append(chebyshev_moments(matrix, block, num_moments, a, b, progress=prog))
    norm = np.concatenate(norms)
    mom = np.concatenate(moments) / norm[:, None]
    energies = np.asarray(energies, dtype=float)
    per_vector = density_from_moments(mom, energies, a, b)
    density = per_vector.mean(axis=0)
    if num_vectors > 1:
        stderr = per_vector.std(axis=0, ddof=1) / np.sqrt(num_vectors)
    else:
        stderr = np.full_like(density, np.nan)
    return KPMResult(
        energies=energies,
        density=density,
        stderr=stderr,
        per_vector=per_vector,
        moments=mom,
        a=a,
        b=b,
        resolution=jackson_resolution(num_moments, a),
    )
