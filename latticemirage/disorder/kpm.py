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
    bitwise identical whatever the number of threads. The kernel (an LLVM-IR
    intrinsic, `latticemirage.disorder._kpm_numba`) uses only exactly rounded
    operations and ``llvm.fma``, which is exact on every target: compiled for a
    generic x86-64 CPU (``NUMBA_CPU_NAME=generic``: SSE2, FMA as a library call)
    it gives bitwise the same moments (tested), only slower.

Backends
    One driver (`chebyshev_moments`) over a Chebyshev-step hook: ``"numba"``
    (the kernel above, default) or ``"scipy"`` (a scipy.sparse CSR product plus
    NumPy reductions: the reference, single-threaded), both on the CSR matrix, or
    ``"stencil"``: the matrix-free operator of `latticemirage.disorder.stencil`
    for supercells built by `latticemirage.disorder.supercell.supercell` (pass the
    `Supercell` or a `StencilOperator` instead of the matrix), which reads only the
    vectors and the per-site potential. All agree to round-off (tested to 1e-12).
    Choose with ``backend=`` on `chebyshev_moments`/`kpm_dos` or, for the CLI and
    the study workers, the environment variable
    ``MIRAGE_KPM_BACKEND=numba|scipy|stencil``. ``backend="stencil"`` on a system
    the stencil cannot represent (a plain matrix, a cell with ``L <= 2``) is an
    error; ``MIRAGE_KPM_BACKEND=stencil`` uses the stencil where it can and the
    numba CSR kernel elsewhere. Where numba is missing, fails to import, or a
    kernel fails to compile or disagrees with the scipy step on a tiny self-test,
    the scipy step is used with a `BackendWarning`.

Resolution
    The Jackson kernel broadens a delta function at the band centre into a
    Gaussian of width ``sigma = pi a / M`` for M moments (RMP Eq. (72)).
    `check_resolution` compares it with the feature that must be resolved (the
    mirage-gap width ``delta``): it refuses when ``sigma > delta / 2`` and warns
    when ``sigma > delta / 4``.
"""

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mirage_common.errors import ParameterError, check_backend, check_positive
from mirage_common.statistics import standard_error

__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "BackendWarning",
    "KPMResult",
    "ResolutionWarning",
    "backend_in_use",
    "chebyshev_moments",
    "chebyshev_step",
    "check_resolution",
    "density_from_moments",
    "gershgorin_bounds",
    "jackson_kernel",
    "jackson_resolution",
    "kpm_dos",
    "moments_for_resolution",
    "random_vectors",
    "requested_backend",
    "rescaling",
    "resolve_operator",
    "serial_if_small",
    "set_num_threads",
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


BACKENDS = ("numba", "scipy", "stencil")
BACKEND_ENV = "MIRAGE_KPM_BACKEND"
# The numba step and the scipy.sparse step add the same products in different
# orders: their moments agree to round-off (self-test tolerance, relative).
_SELF_TEST_TOL = 1e-12


class ResolutionWarning(UserWarning):
    """The KPM energy resolution is marginal for the feature to be resolved."""


class BackendWarning(RuntimeWarning):
    """The numba KPM kernel is unavailable; the scipy.sparse step is used instead."""


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
# Chebyshev steps (hooks of the one driver `chebyshev_moments`)
#
# A step overwrites ``t_prev`` with ``c H t_cur - s t_cur - t_prev`` and returns
# ``(<t_cur|t_cur>, Re <t_new|t_cur>)``, shape (2, R). "numba": the compiled kernel
# of `latticemirage.disorder._kpm_numba` (fused, threaded, bitwise independent of
# the thread count). "scipy": the reference step below (scipy.sparse CSR product
# and NumPy reductions, single-threaded, ~3-5x slower; see benchmarks/bench_kpm.py).


def _scipy_step(indptr, indices, data, c, s, t_cur, t_prev, nchunks):
    """Reference Chebyshev step with scipy.sparse (same contract as the numba step)."""
    n = len(indptr) - 1
    matrix = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    new = matrix @ t_cur
    new *= c
    new -= s * t_cur
    new -= t_prev
    dots = np.empty((2, t_cur.shape[1]))
    dots[0] = np.einsum("ij,ij->j", t_cur.conj(), t_cur).real
    dots[1] = np.einsum("ij,ij->j", new.conj(), t_cur).real
    t_prev[...] = new
    return dots


_NUMBA = {}  # "module": the imported kernel module or None; "error"; kind -> self-test ok


def _numba_kernels():
    """The numba kernel module, or None (with the reason in ``_NUMBA["error"]``)."""
    if "module" not in _NUMBA:
        try:
            from latticemirage.disorder import _kpm_numba
        except Exception as exc:  # ImportError, or numba/llvmlite failing at import
            _NUMBA["module"], _NUMBA["error"] = None, f"numba kernel does not import: {exc!r}"
        else:
            _NUMBA["module"] = _kpm_numba
    return _NUMBA["module"]


def _csr_hook(indptr, indices, data, step, nchunks):
    """A CSR step as a driver hook ``hook(c, s, t_cur, t_prev) -> dots``."""

    def hook(c, s, t_cur, t_prev):
        return step(indptr, indices, data, c, s, t_cur, t_prev, nchunks)

    return hook


def _stencil_self_test(op):
    """Run the stencil step of *op*'s pattern on a tiny cell against the scipy step.

    The same blocks, twist and arithmetic on the smallest cell the stencil takes,
    with a random potential; once per pattern (the compiled kernel is per pattern).
    """
    key = ("stencil", op.offsets, op.entries, op.kind, op.alias())
    if key in _NUMBA:
        return _NUMBA[key]
    from latticemirage.disorder import stencil

    ok = _numba_self_test(op.kind)  # the stencil needs numba as well
    if ok:
        rng = np.random.default_rng(0)
        reach = [max(abs(n[i]) for n in op.offsets) for i in (0, 1)]
        shape = (2 * reach[0] + 1, 2 * reach[1] + 2)
        tiny = stencil.StencilOperator(shape, op.blocks, op.twist,
                                       rng.normal(size=shape[0] * shape[1]), op.real)
        # 27 vectors: groups of 16, 8, 2 and 1; the first 8 alone: the fixed-stride
        # (register-values) path of the interior sites.
        v = random_vectors(len(tiny), 27, rng, tiny.dtype)
        h = tiny.to_csr()
        a, b = rescaling(gershgorin_bounds(h))
        hook = _csr_hook(h.indptr, h.indices, h.data, _scipy_step, 1)
        try:
            got = [_moments(tiny.step_hook(), tiny.dtype, w, 20, a, b, None)
                   for w in (v, v[:, :8])]
        except Exception as exc:  # a numba/llvmlite change breaking the hand-written IR
            _NUMBA["error"] = f"stencil kernel fails to compile or run: {exc!r}"
            ok = False
        else:
            want = _moments(hook, h.dtype, v, 20, a, b, None)
            err = max(np.abs(got[0] - want).max(), np.abs(got[1] - want[:8]).max())
            err /= np.abs(want).max()
            if not err < _SELF_TEST_TOL:
                _NUMBA["error"] = f"stencil kernel disagrees with scipy.sparse by {err:.1e}"
                ok = False
    _NUMBA[key] = ok
    return ok


def _numba_self_test(kind):
    """Run the numba step once on a tiny matrix against the scipy step (per dtype kind)."""
    if kind in _NUMBA:
        return _NUMBA[kind]
    mod = _numba_kernels()
    ok = mod is not None
    if ok:
        rng = np.random.default_rng(0)
        h = sp.random(40, 40, density=0.2, random_state=1, format="csr")
        h = h + h.T
        dtype = complex if kind == "c" else float
        if kind == "c":
            h = h + 1j * (sp.triu(h, 1) - sp.tril(h, -1))
        h = sp.csr_matrix(h, dtype=dtype)
        v = random_vectors(40, 11, rng, dtype)  # lane groups 8 + 2 + 1
        a, b = rescaling(gershgorin_bounds(h))
        try:
            got = _moments(_csr_hook(h.indptr, h.indices, h.data, mod.step, 1), dtype, v, 20,
                           a, b, None)
        except Exception as exc:  # a numba/llvmlite change breaking the hand-written IR
            _NUMBA["error"] = f"numba kernel fails to compile or run: {exc!r}"
            ok = False
        else:
            want = _moments(_csr_hook(h.indptr, h.indices, h.data, _scipy_step, 1), dtype, v,
                            20, a, b, None)
            err = np.abs(got - want).max() / np.abs(want).max()
            if not err < _SELF_TEST_TOL:
                _NUMBA["error"] = f"numba kernel disagrees with scipy.sparse by {err:.1e}"
                ok = False
    _NUMBA[kind] = ok
    return ok


def requested_backend(backend=None):
    """The backend asked for: the argument, else $MIRAGE_KPM_BACKEND, else "numba".

    Only checks the name (cheap; call it before any work): `ParameterError` naming
    ``backend`` or ``MIRAGE_KPM_BACKEND`` for anything but "numba", "scipy" or
    "stencil".
    """
    return check_backend(backend, BACKEND_ENV, BACKENDS)


def backend_in_use(backend=None, kind="f"):
    """The backend `chebyshev_moments` will use: ``"numba"``, ``"scipy"`` or ``"stencil"``.

    Parameters
    ----------
    backend : {"numba", "scipy", "stencil"}, optional
        Default: the environment variable ``MIRAGE_KPM_BACKEND``, else ``"numba"``.
    kind : {"f", "c"}
        Real or complex arithmetic (the numba kernels are self-tested per kind).

    Warns
    -----
    BackendWarning
        When numba (or the stencil) was asked for but its kernel does not import,
        compile or pass its self-test against the scipy.sparse step: the scipy step
        is used. (The stencil's kernel is compiled and self-tested per sparsity
        pattern, in `resolve_operator`; where it fails, the numba CSR step is used.)
    """
    name = requested_backend(backend)
    if name == "stencil":  # needs numba; its own kernel is tested per pattern
        name = "stencil" if _numba_self_test(kind) else "numba"
    if name == "numba" and not _numba_self_test(kind):
        warnings.warn(
            f"{_NUMBA['error']}; KPM uses the scipy.sparse step instead (same moments to "
            f"round-off, slower). Set {BACKEND_ENV}=scipy to choose it explicitly.",
            BackendWarning,
            stacklevel=3,
        )
        name = "scipy"
    return name


def chebyshev_step(backend=None, kind="f"):
    """The CSR Chebyshev step hook of `backend_in_use` (for drivers outside this module).

    ``step(indptr, indices, data, c, s, t_cur, t_prev, nchunks)`` overwrites ``t_prev``
    with ``c H t_cur - s t_cur - t_prev`` (``t_cur``, ``t_prev``: C-ordered, shape (N, R))
    and returns ``(<t_cur|t_cur>, Re <t_new|t_cur>)``, shape (2, R). A CSR step by
    contract: ``"stencil"`` gives the numba CSR step (the stencil's own hook is
    `latticemirage.disorder.stencil.StencilOperator.step_hook`).
    """
    if backend is None and requested_backend() == "stencil":
        backend = "numba"
    if backend == "stencil":
        backend = "numba"
    if backend_in_use(backend, kind) == "scipy":
        return _scipy_step
    return _numba_kernels().step


def set_num_threads(threads):
    """Threads of the numba KPM kernel (no effect on the scipy step or without numba)."""
    mod = _numba_kernels()
    if mod is not None:
        mod.set_num_threads(threads)


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


def _moments(step, dtype, vectors, num_moments, a, b, progress):
    """The driver loop over a step hook ``step(c, s, t_cur, t_prev)``; shape (R, num_moments).

    ``dtype``: of the operator (the working vectors are of it and the start vectors'
    common type).
    """
    t_cur = np.array(vectors, dtype=np.result_type(dtype, vectors.dtype, float),
                     order="C")  # T_0
    t_prev = np.zeros_like(t_cur)
    nvec = t_cur.shape[1]
    mom = np.empty((nvec, num_moments + 1))
    c, s = 2.0 / a, 2.0 * b / a
    # T_1 = Ht T_0: the step with halved coefficients and T_{-1} = 0.
    mu0, mu1 = step(c / 2, s / 2, t_cur, t_prev)
    t_cur, t_prev = t_prev, t_cur  # t_cur = T_1, t_prev = T_0
    mom[:, 0], mom[:, 1] = mu0, mu1
    nmax = (num_moments - 1) // 2
    for k in range(1, nmax + 1):
        nn, nm = step(c, s, t_cur, t_prev)
        t_cur, t_prev = t_prev, t_cur  # t_cur = T_{k+1}, t_prev = T_k
        mom[:, 2 * k] = 2 * nn - mu0
        mom[:, 2 * k + 1] = 2 * nm - mu1
        if progress is not None:
            progress(k, nmax)
    return mom[:, :num_moments]


def _stencil_of(operator):
    """``(StencilOperator or None, reason)`` for a matrix, `Supercell` or `StencilOperator`."""
    from latticemirage.disorder import stencil

    if isinstance(operator, stencil.StencilOperator):
        return operator, ""
    if getattr(operator, "blocks", None) is not None and hasattr(operator, "matrix"):
        try:
            return stencil.from_supercell(operator), ""
        except (ParameterError, ValueError) as exc:
            return None, str(exc)
    return None, "it is given as a matrix, not as a Supercell or StencilOperator"


def _matrix_of(operator):
    """The sparse matrix of a matrix, `Supercell` or `StencilOperator`."""
    if hasattr(operator, "to_csr"):
        return operator.to_csr()
    if hasattr(operator, "matrix") and hasattr(operator, "diag_slots"):
        return operator.matrix
    return operator


def resolve_operator(operator, backend=None):
    """The backend and the object it runs on for *operator*.

    Parameters
    ----------
    operator : sparse matrix, `Supercell` or `StencilOperator`
    backend : {"numba", "scipy", "stencil"}, optional
        As for `chebyshev_moments`.

    Returns
    -------
    name : str
        ``"numba"``, ``"scipy"`` or ``"stencil"`` (`backend_in_use`).
    target : sparse matrix or StencilOperator
        The CSR matrix for numba and scipy, the stencil for ``"stencil"``.

    Raises
    ------
    ParameterError
        (named ``backend``) for ``backend="stencil"`` on a system the stencil cannot
        represent. With ``MIRAGE_KPM_BACKEND=stencil`` such systems use numba.
    """
    explicit = backend is not None
    name = requested_backend(backend)
    if name == "stencil":
        op, why = _stencil_of(operator)
        if op is None:
            if explicit:
                raise ParameterError("backend", f"'stencil' cannot represent this system: {why}")
            name = "numba"
        elif _stencil_self_test(op):
            return "stencil", op
        else:
            if _numba_self_test(op.kind):
                warnings.warn(
                    f"{_NUMBA['error']}; KPM uses the numba CSR step instead (same moments "
                    f"to round-off). Set {BACKEND_ENV}=numba to choose it explicitly.",
                    BackendWarning,
                    stacklevel=3,
                )
            name = "numba"
    matrix = sp.csr_matrix(_matrix_of(operator))
    real = matrix.dtype.kind != "c" or np.all(matrix.data.imag == 0)
    return backend_in_use(name, "f" if real else "c"), matrix


def chebyshev_moments(matrix, vectors, num_moments, a, b, *, progress=None, backend=None):
    """Unnormalized moments ``<v_r| T_n((H - b)/a) |v_r>`` for a block of vectors.

    Parameters
    ----------
    matrix : sparse matrix, shape (N, N), `Supercell` or `StencilOperator`
        Hermitian (or real symmetric). A `latticemirage.disorder.supercell.Supercell`
        or a `latticemirage.disorder.stencil.StencilOperator` can run matrix-free
        (backend ``"stencil"``).
    vectors : ndarray, shape (N, R)
        Start vectors as columns (copied once into the working block).
    num_moments : int >= 2
    a, b : float
        Rescaling from `rescaling`.
    progress : callable, optional
        Called as ``progress(done_products, total_products)``.
    backend : {"numba", "scipy", "stencil"}, optional
        Chebyshev step: the compiled numba CSR kernel, the scipy.sparse reference
        step or the matrix-free stencil (same moments to round-off). Default:
        ``$MIRAGE_KPM_BACKEND``, else ``"numba"``; see `resolve_operator` for the
        stencil on systems it cannot represent, `backend_in_use` for the fallbacks
        where a kernel is unavailable.

    Returns
    -------
    ndarray, shape (R, num_moments), float
    """
    if int(num_moments) != num_moments or num_moments < 2:
        raise ParameterError("moments", f"must be an integer >= 2, got {num_moments!r}")
    name, target = resolve_operator(matrix, backend)
    vectors = np.asarray(vectors)
    if vectors.ndim == 1:
        vectors = vectors[:, None]
    if name == "stencil":
        n = len(target)
        if vectors.shape[0] != n:
            raise ValueError(f"vectors have {vectors.shape[0]} rows, the operator has {n}")
        if vectors.dtype.kind == "c" and target.real:
            raise ValueError("complex vectors need the complex stencil (real=False)")
        work = sum(len(e) for e in target.entries) * target.nsites
        with serial_if_small(work, vectors.shape[1], name):
            return _moments(target.step_hook(), target.dtype, vectors, num_moments, a, b,
                            progress)
    indptr, indices, data = _prepare(target)
    n = len(indptr) - 1
    if vectors.shape[0] != n:
        raise ValueError(f"vectors have {vectors.shape[0]} rows, matrix has {n}")
    dtype = np.result_type(data.dtype, vectors.dtype, float)
    data = data.astype(dtype, copy=False)
    nchunks = max(1, -(-n // _CHUNK_ROWS))
    if name == "scipy":
        return _moments(_csr_hook(indptr, indices, data, _scipy_step, nchunks), dtype, vectors,
                        num_moments, a, b, progress)
    hook = _csr_hook(indptr, indices, data, _numba_kernels().step, nchunks)
    with serial_if_small(len(indices), vectors.shape[1], name):
        return _moments(hook, dtype, vectors, num_moments, a, b, progress)


@contextlib.contextmanager
def serial_if_small(nnz, nvec, backend):
    """Context: one numba thread while steps of *nnz* entries on *nvec* vectors are too small
    to gain from more (as `chebyshev_moments` decides; no effect on the results, which do
    not depend on the thread count). No effect for the scipy backend."""
    mod = _numba_kernels() if backend in ("numba", "stencil") else None
    if mod is None or nnz * (nvec + 6) >= _PARALLEL_MIN:
        yield
        return
    threads = mod.get_num_threads()
    mod.set_num_threads(1)
    try:
        yield
    finally:
        mod.set_num_threads(threads)


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
    backend : str
        The Chebyshev step used, ``"numba"``, ``"scipy"`` or ``"stencil"``
        (`chebyshev_moments`).
    """

    energies: np.ndarray
    density: np.ndarray
    stderr: np.ndarray
    per_vector: np.ndarray
    moments: np.ndarray
    a: float
    b: float
    resolution: float
    backend: str = "numba"

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
    backend=None,
):
    """DOS per orbital of a Hermitian sparse matrix by stochastic KPM.

    Parameters
    ----------
    matrix : sparse matrix, shape (N, N), `Supercell` or `StencilOperator`
        The Hamiltonian; a supercell can run matrix-free (``backend="stencil"``).
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
    backend : {"numba", "scipy", "stencil"}, optional
        Chebyshev step (`chebyshev_moments`); default ``$MIRAGE_KPM_BACKEND``, else
        numba (scipy.sparse with a `BackendWarning` where numba is unavailable).

    Returns
    -------
    KPMResult
    """
    if int(num_vectors) != num_vectors or num_vectors < 1:
        raise ParameterError("vectors", f"must be a positive integer, got {num_vectors!r}")
    backend, target = resolve_operator(matrix, backend)  # resolve (and warn) once
    if backend == "stencil":
        n, real = len(target), target.real
    else:
        target = sp.csr_matrix(target)
        n = target.shape[0]
        real = target.dtype.kind != "c" or np.all(target.data.imag == 0)
    if bounds is None:  # the CSR matrix's where there is one: the same rescaling for all
        csr = getattr(matrix, "matrix", None)
        if csr is None:
            csr = target if backend != "stencil" else None
        bounds = gershgorin_bounds(csr) if csr is not None else target.gershgorin_bounds()
    a, b = rescaling(bounds, eps)
    if resolve is not None:
        check_resolution(num_moments, a, resolve)
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
        moments.append(chebyshev_moments(target, block, num_moments, a, b, progress=prog,
                                          backend=backend))
    norm = np.concatenate(norms)
    mom = np.concatenate(moments) / norm[:, None]
    energies = np.asarray(energies, dtype=float)
    per_vector = density_from_moments(mom, energies, a, b)
    density = per_vector.mean(axis=0)
    if num_vectors > 1:
        stderr = standard_error(per_vector)
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
        backend=backend,
    )
