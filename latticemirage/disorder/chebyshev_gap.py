r"""Uniform self-consistent Δ of a disordered supercell by Chebyshev expansion (KPM traces).

The same model as the dense solver (`latticemirage.disorder.selfconsistent`): the same
interaction U, the same pairing shell ``|eps| < omega_c`` of the spin-independent band
(cutoff ω_c), the same boundary twists averaged over, the same gap equation

.. math::

    \frac{2\Delta}{U} = \frac{1}{4 N_{tw} L^2} \sum_{tw} \sum_{n \in \mathrm{shell}}
        \tanh\frac{E_n}{2T}\, \langle n | \partial H/\partial\Delta | n \rangle ,

written as a trace over the *whole* supercell BdG matrix ``H(Δ)`` (4 L² orbitals, Δ on
every site):

.. math::

    \text{anomalous}(\Delta) = \frac{\mathrm{Tr}\,[\tanh(H/2T)\, P\, H_\Delta]}{4 N_{tw} L^2},
    \qquad P = \theta\big(\omega_c - |h_\xi \otimes \tau_3|\big),

``H_Δ = ∂H/∂Δ`` (on-site, per unit Δ in t) and ``P`` the dense solver's shell projector
(``h_xi ⊗ tau_3`` is the supercell matrix at ``lam = B = delta = 0`` in the same basis,
spectrum ``±eps_a``; ``P`` commutes with ``H_Δ``). On a clean supercell ``P`` commutes with
``H`` and the trace is the dense solver's sum term by term (tested). With disorder, ``P`` no
longer commutes with the Ising term, and the trace keeps, at second order, the shell-outside
Ising couplings that the dense solver drops: a model difference of ~1 % of Δ measured at
W = 0.4 t on 12² (docs/topics/chebyshev-gap.md). A window on the BdG energy instead of ``P``
is not the shell once Ising coupling splits the quasiparticle energies at the shell edge
(measured: 2.6 % off in the anomalous average on a clean 12²).

Both functions are Jackson-damped Chebyshev series: ``P`` in ``h_xi`` (``M_P`` moments, width
``omega_c / SHELL_RATIO`` by default), ``tanh(H/2T)`` in ``H`` (M moments). The trace is a
Hutchinson estimate with Rademacher vectors ``v_r`` on the *electron* orbitals only,

.. math::

    \mathrm{Tr}\,[A] = 2\, \mathbb{E}_r\, v_r^T A\, v_r

(particle-hole symmetry makes the hole block's trace equal to the electron block's; the
electron-only vectors drop the traceless normal-times-pairing blocks from the variance).
``P H_Δ v`` does not depend on Δ and is computed once; each Δ then costs M matrix products
per vector. The same vectors serve every Δ, so ``g(Δ) = 2Δ/U − anomalous(Δ)`` is a smooth
deterministic function of Δ, whose root (Brent) is the solution.

Errors (per realization)
------------------------
Stochastic
    The spread of the per-vector estimates at the root: ``se(anomalous) / |g'(Δ)|``
    (``delta_stderr``, 1σ). Independent between realizations and unbiased to first order, so
    it is part of the study's standard error over realizations.
Truncation
    The Jackson kernel smooths ``tanh`` over ``sigma = pi a / M`` around E = 0 (harmless while
    ``sigma`` is well inside the spectral gap ~Δ) and ``P`` at ``±omega_c``. Estimated as one
    third of the change of ``g`` at the root between M/2 and M moments and between M_P/2 and
    M_P (Jackson errors fall as ``1/M²``), in quadrature, divided by ``|g'|``
    (``delta_truncation``).

Requirements checked before any work: ``sigma <= Δ_low / SIGMA_RATIO`` (Δ_low the lower end of
the search) or `ParameterError` naming ``moments`` with the number needed; with ``target`` the
vectors must reach it, ``R >= (stderr_1 / target)²`` with ``stderr_1`` the per-vector error
from the first evaluations (refused naming ``vectors`` with the number needed); the memory is
estimated before allocating (`memory_estimate`) and refused above ``max_memory``.

Units: Δ in Δ0 in and out; the matrices, ω_c and T are in t inside.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import optimize

from latticemirage.disorder import kpm
from latticemirage.disorder import selfconsistent as dense
from latticemirage.disorder import supercell as scm
from latticemirage.gap import check_cutoff
from latticemirage.mapping import LatticeMapping
from mirage_common.errors import ParameterError, check_nonnegative, check_positive

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "SHELL_RATIO",
    "SIGMA_RATIO",
    "ChebyshevGapResult",
    "function_coefficients",
    "memory_estimate",
    "moments_needed",
    "realization_delta",
    "solve_uniform_chebyshev",
    "window_coefficients",
]

SHELL_RATIO = 20.0  # default shell-projector width omega_c / 20 (its edge error is 2nd order)
_NNZ_PER_ROW = 28  # bound: on-site 4 + six neighbours x 4 per row of the 4 x 4 blocks
SIGMA_RATIO = 3.0  # Jackson width <= Δ_low / 3: the smoothing at E = 0 stays inside the gap
DEFAULT_MAX_MEMORY = 4 * 2**30  # bytes (the 4 GiB for 1000^2)
_QUAD_FACTOR = 16  # Chebyshev-Gauss nodes per moment for the window's coefficients
_DELTA_MIN = 0.02  # Δ0: below this the search reports the normal state
_XTOL = 1e-5  # Δ0: Brent tolerance (far below the stochastic errors)


def moments_needed(a, delta_low_t, ratio=SIGMA_RATIO):
    """Fewest moments whose Jackson width ``pi a / M`` is <= ``delta_low_t / ratio``."""
    check_positive("delta_low", delta_low_t)
    return math.ceil(np.pi * a * ratio / delta_low_t)


def memory_estimate(norbs, nnz, vectors, *, block_size=8, real=True):
    """Bytes the solver holds for one twist: matrices plus the vector blocks.

    ``H0``, ``H_Δ`` and ``H(Δ)`` in CSR (values 8 or 16 bytes, 4-byte indices) and five
    dense blocks of ``(N, min(R, block_size))`` (v, H_Δ v, two recursion vectors, one
    temporary).
    """
    value = 8 if real else 16
    lanes = min(int(vectors), int(block_size))
    return int(3 * (nnz * (value + 4) + 4 * (norbs + 1)) + 5 * norbs * lanes * value)


def function_coefficients(func, num_moments, a, b):
    """Chebyshev coefficients ``c_n`` of ``func(E)`` in ``x = (E − b)/a``, shape (M,).

    Chebyshev-Gauss quadrature on ``_QUAD_FACTOR * M`` nodes (a type-II DCT), so that a
    step inside the spectrum is sampled finely; ``func`` takes energies (same units as a, b).
    """
    from scipy.fft import dct

    k = _QUAD_FACTOR * int(num_moments)
    theta = np.pi * (np.arange(k) + 0.5) / k
    values = np.asarray(func(a * np.cos(theta) + b), dtype=float)
    c = dct(values, type=2)[: int(num_moments)] / k  # (2/K) Σ_k f(x_k) cos(n θ_k)
    c[0] /= 2
    return c


def window_coefficients(num_moments, a, b, temperature_t):
    """Coefficients of ``w(E) = tanh(E/2T)`` (``sign(E)`` at T = 0), shape (M,)."""
    if temperature_t > 0:
        return function_coefficients(lambda e: np.tanh(e / (2 * temperature_t)), num_moments, a, b)
    return function_coefficients(np.sign, num_moments, a, b)


@dataclass(frozen=True)
class ChebyshevGapResult:
    """Uniform Δ of one realization by the Chebyshev solver.

    Attributes
    ----------
    delta : float
        Δ in Δ0 (0 when no root above ``_DELTA_MIN``: the normal state).
    delta_stderr : float
        1σ stochastic error of Δ (spread over the vectors), Δ0.
    delta_truncation : float
        Estimated error of the truncated expansion, Δ0 (see module docstring).
    gap_equation_residual : float
        ``1 − U anomalous / (2Δ)`` at the last evaluation (stochastic estimate).
    coupling : float
        U in t.
    moments, shell_moments, vectors : int
        M (tanh series), M_P (shell projector series) and R (vectors per twist).
    kernel_width : float
        Jackson width ``pi a / M`` of the tanh series, Δ0.
    shell_width : float
        Jackson width of the shell projector at its edges, Δ0.
    n_evaluations : int
        Evaluations of the anomalous trace (each M products per vector and twist).
    converged : bool
    seconds : float
    memory_bytes : int
        `memory_estimate` of the largest twist.
    """

    delta: float
    delta_stderr: float
    delta_truncation: float
    gap_equation_residual: float
    coupling: float
    moments: int
    shell_moments: int
    vectors: int
    kernel_width: float
    shell_width: float
    n_evaluations: int
    converged: bool
    seconds: float
    memory_bytes: int

    @property
    def delta_error(self):
        """Combined 1σ error ``sqrt(stderr² + truncation²)``, Δ0."""
        return float(np.hypot(self.delta_stderr, self.delta_truncation))


def _electron_vectors(basis_real, nsites, count, seed):
    """Rademacher vectors on the electron orbitals (0, 1 of each site), shape (4 N, R).

    One child seed per vector (`SeedSequence([*seed, j])`): independent of blocking.
    ``count = "exact"``: the 2N unit vectors of the electron orbitals (the exact trace).
    """
    if count == "exact":
        out = np.zeros((nsites, 4, 2 * nsites))
        j = np.arange(2 * nsites)
        out[j // 2, j % 2, j] = 1.0
        out = out.reshape(4 * nsites, 2 * nsites)
        return out if basis_real else out.astype(complex)
    out = np.zeros((4 * nsites, count))
    for j in range(count):
        rng = np.random.default_rng(np.random.SeedSequence([*seed, j]))
        signs = np.where(rng.random(2 * nsites) < 0.5, -1.0, 1.0).reshape(nsites, 2)
        out.reshape(nsites, 4, count)[:, :2, j] = signs
    return out if basis_real else out.astype(complex)


def _series(step, matrix, x, coefs, a, b):
    """``Σ_n coefs[n] T_n((H − b)/a) x`` for a block x (N, R); also the partial sum to M/2."""
    data = matrix.data
    nchunks = max(1, -(-matrix.shape[0] // 2048))
    c, s = 2.0 / a, 2.0 * b / a
    t_cur = np.array(x, order="C", dtype=np.result_type(data.dtype, x.dtype, float))
    t_prev = np.zeros_like(t_cur)
    out = coefs[0] * t_cur
    half = None
    m = len(coefs)
    step(matrix.indptr, matrix.indices, data, c / 2, s / 2, t_cur, t_prev, nchunks)
    t_cur, t_prev = t_prev, t_cur
    for n in range(1, m):
        if n == m // 2:
            half = out.copy()
        out += coefs[n] * t_cur
        if n + 1 < m:
            step(matrix.indptr, matrix.indices, data, c, s, t_cur, t_prev, nchunks)
            t_cur, t_prev = t_prev, t_cur
    return out, half


class _Twist:
    """One twist's matrices, vectors and the projected start vectors ``P H_Δ v``."""

    def __init__(self, params, size, twist, potential, vectors, seed, backend):
        shape = (int(size), int(size))
        base = {**params, "delta": 0.0}
        cell = scm.supercell(base, shape, twist=twist, potential=potential)
        pair = (
            scm.supercell({**base, "delta": 1.0}, shape, twist=twist, real=cell.real).matrix
            - scm.supercell(base, shape, twist=twist, real=cell.real).matrix
        )
        pair = sp.csr_matrix(pair)
        pair.eliminate_zeros()
        # h_xi (x) tau_3 (x) 1_spin: the spin-independent normal part, in the same basis; its
        # spectrum is ±eps_a, so theta(omega_c - |.|) of it is the dense solver's shell P.
        self.hxi = scm.supercell(
            {**base, "lam": 0.0, "B": 0.0}, shape, twist=twist, potential=potential, real=cell.real
        ).matrix
        self.h0 = cell.matrix
        self.hp = pair
        self.real = cell.real
        self.nsites = cell.nsites
        self.vectors = _electron_vectors(cell.real, self.nsites, vectors, seed)
        self.backend = backend
        self.kind = "f" if cell.real else "c"

    def bounds(self, delta_max_t):
        return kpm.gershgorin_bounds(self.h0 + delta_max_t * self.hp)

    def project(self, cutoff_t, moments_shell, block_size):
        """``P H_Δ v`` with the Jackson-damped series of ``theta(omega_c − |h_xi|)``.

        Stores ``(M_P, M_P/2)`` versions; returns the shell's kernel width, t.
        """
        a, b = kpm.rescaling(kpm.gershgorin_bounds(self.hxi))
        coefs = function_coefficients(
            lambda e: (np.abs(e) < cutoff_t).astype(float), moments_shell, a, b
        ) * kpm.jackson_kernel(moments_shell)
        step = kpm.chebyshev_step(self.backend, self.kind)
        hv = np.asarray(self.hp @ self.vectors)
        full, half = np.empty_like(hv), np.empty_like(hv)
        with kpm.serial_if_small(self.hxi.nnz, block_size, self.backend):
            for start in range(0, hv.shape[1], block_size):
                sl = slice(start, min(start + block_size, hv.shape[1]))
                full[:, sl], half[:, sl] = _series(step, self.hxi, hv[:, sl], coefs, a, b)
        self.projected = {"full": full, "half": half}
        return np.pi * a / moments_shell

    def per_vector(self, d_t, a, b, coefs_full, coefs_half, block_size, which="full"):
        """``2 v^T w(H) P H_Δ v`` per vector for M and M/2 moments, shape (2, R)."""
        h = sp.csr_matrix(self.h0 + d_t * self.hp)
        step = kpm.chebyshev_step(self.backend, self.kind)
        m = len(coefs_full)
        nvec = self.vectors.shape[1]
        out = np.empty((2, nvec))
        nchunks = max(1, -(-h.shape[0] // 2048))
        c, s = 2.0 / a, 2.0 * b / a
        start_vectors = self.projected[which]
        with kpm.serial_if_small(h.nnz, block_size, self.backend):
            for start in range(0, nvec, block_size):
                sl = slice(start, min(start + block_size, nvec))
                v = self.vectors[:, sl]
                t_cur = np.array(start_vectors[:, sl], order="C")
                t_prev = np.zeros_like(t_cur)
                mom = np.empty((m, t_cur.shape[1]))
                mom[0] = np.einsum("ij,ij->j", v.conj(), t_cur).real
                step(h.indptr, h.indices, h.data, c / 2, s / 2, t_cur, t_prev, nchunks)
                t_cur, t_prev = t_prev, t_cur
                for n in range(1, m):
                    mom[n] = np.einsum("ij,ij->j", v.conj(), t_cur).real
                    if n + 1 < m:
                        step(h.indptr, h.indices, h.data, c, s, t_cur, t_prev, nchunks)
                        t_cur, t_prev = t_prev, t_cur
                out[0, sl] = 2 * coefs_full @ mom
                out[1, sl] = 2 * coefs_half @ mom[: len(coefs_half)]
        return out


def _checked_inputs(mapping, size, temperature, coupling, moments, vectors):
    if not isinstance(mapping, LatticeMapping):
        raise TypeError("mapping must be a LatticeMapping")
    check_nonnegative("temperature", temperature)
    check_positive("coupling", coupling)
    if int(size) != size or size < 2:
        raise ParameterError("size", f"must be an integer >= 2, got {size!r}")
    if int(moments) != moments or moments < 16:
        raise ParameterError("moments", f"must be an integer >= 16, got {moments!r}")
    if vectors == "exact":
        return
    if int(vectors) != vectors or vectors < 2:
        raise ParameterError(
            "vectors",
            f"must be an integer >= 2 (the error estimate needs a spread), got {vectors!r}",
        )


def solve_uniform_chebyshev(
    mapping,
    size,
    *,
    temperature,
    coupling,
    moments,
    vectors,
    shell_moments=None,
    seed=(0,),
    potential=None,
    twists="pi",
    cutoff=None,
    bracket=(0.3, 1.6),
    target=None,
    backend=None,
    block_size=8,
    max_memory=DEFAULT_MAX_MEMORY,
):
    """Uniform self-consistent Δ of one realization by stochastic Chebyshev traces.

    Parameters
    ----------
    mapping : LatticeMapping
        Physical set (β, B, φ, E_F, Δ0); its ``delta`` is ignored.
    size : int
        Supercell L.
    temperature : float
        T in T_c0.
    coupling : float
        U in t (`selfconsistent.clean_coupling`).
    moments : int
        Chebyshev moments M of ``tanh(H/2T)``; refused below `moments_needed` at the
        bracket's lower end.
    vectors : int or "exact"
        Random vectors R per twist (>= 2); "exact": the 2 L² unit vectors of the electron
        orbitals, the exact trace (small supercells, tests; the stochastic error is then 0).
    shell_moments : int, optional
        Moments of the shell projector ``theta(omega_c − |h_xi|)``; default such that its
        Jackson width is ``omega_c / SHELL_RATIO``.
    seed : sequence of int
        Entropy of the vectors (`numpy.random.SeedSequence`); twist k uses ``[*seed, k]``.
    potential : ndarray, shape (L, L), optional
        Disorder potential, t.
    twists : {"none", "pi", "diagonal", "grid:N"}
        As the dense solver (`selfconsistent.twist_list`).
    cutoff : float, optional
        ω_c in Δ0 (default ``(2/3) E_F``).
    bracket : (float, float)
        Search interval of Δ, Δ0 (widened down to 0.02 Δ0 and up to 2 Δ0 when the root is
        outside). Its lower end fixes the moments needed.
    target : float, optional
        Requested 1σ stochastic accuracy of Δ, Δ0: refused (`ParameterError` naming
        ``vectors`` with the number needed) when the first two evaluations' spread shows
        that R vectors cannot reach it.
    backend : {"numba", "scipy", "stencil"}, optional
        The Chebyshev step (`kpm.chebyshev_step`; its matrices are sums of
        supercells, so "stencil" runs the numba CSR step).
    block_size : int
        Vectors advanced together.
    max_memory : int
        Bytes; refused (naming ``size``) when `memory_estimate` exceeds it.

    Returns
    -------
    ChebyshevGapResult
    """
    start = time.perf_counter()
    _checked_inputs(mapping, size, temperature, coupling, moments, vectors)
    cutoff, cutoff_t = dense._cutoff_t(mapping, cutoff)
    phys = mapping.physical
    check_cutoff(cutoff, phys.beta, phys.field)
    lo, hi = (float(x) for x in bracket)
    if not _DELTA_MIN <= lo < hi <= dense._DELTA_MAX:
        raise ParameterError(
            "bracket", f"need {_DELTA_MIN} <= low < high <= {dense._DELTA_MAX}, got {bracket!r}"
        )
    d0 = mapping.delta0
    t_t = temperature * mapping.tc0
    twist_set = dense.twist_list(twists)
    params = mapping.lattice_params(0.0)
    nsites = int(size) ** 2
    exact = vectors == "exact"
    if exact:
        vectors = 2 * nsites
    # Memory before any allocation (one twist at a time is held in the vectors' blocks;
    # the R vectors, and P H_Δ v at M_P and M_P/2, are held for all twists).
    real = all(abs(np.sin(x)) < 1e-12 for tw in twist_set for x in tw)
    mem = memory_estimate(
        4 * nsites, 4 * nsites * _NNZ_PER_ROW, vectors, block_size=block_size, real=real
    ) + len(twist_set) * 3 * 4 * nsites * vectors * (8 if real else 16)
    if mem > max_memory:
        raise ParameterError(
            "size",
            f"L = {size} with {vectors} vectors and "
            f"{len(twist_set)} twists needs about "
            f"{mem / 2**30:.2f} GiB, above max_memory = "
            f"{max_memory / 2**30:.2f} GiB",
        )
    backend = kpm.requested_backend(backend)
    shells = [
        _Twist(params, size, tw, potential, "exact" if exact else vectors, [*seed, k], backend)
        for k, tw in enumerate(twist_set)
    ]
    bounds = [s.bounds(dense._DELTA_MAX * d0) for s in shells]
    a, b = kpm.rescaling((min(x[0] for x in bounds), max(x[1] for x in bounds)))
    need = moments_needed(a, lo * d0)
    if moments < need:
        raise ParameterError(
            "moments",
            f"{moments} moments give a kernel width "
            f"{np.pi * a / moments / d0:.3g} Δ0 that smooths the "
            f"gap edge at Δ = {lo:g} Δ0 (need width <= Δ/"
            f"{SIGMA_RATIO:g}: at least {need} moments)",
        )
    if shell_moments is None:
        a_xi, _ = kpm.rescaling(kpm.gershgorin_bounds(shells[0].hxi))
        shell_moments = math.ceil(np.pi * a_xi * SHELL_RATIO / cutoff_t)
    elif int(shell_moments) != shell_moments or shell_moments < 16:
        raise ParameterError("shell_moments", f"must be an integer >= 16, got {shell_moments!r}")
    shell_width = max(s.project(cutoff_t, int(shell_moments), block_size) for s in shells)
    kern = kpm.jackson_kernel(moments)
    half = moments // 2
    coefs = window_coefficients(moments, a, b, t_t) * kern
    coefs_half = window_coefficients(half, a, b, t_t) * kpm.jackson_kernel(half)
    norm = 4 * nsites * len(shells)
    cache = {}

    def anomalous(d_t, which="full"):
        per = [s.per_vector(d_t, a, b, coefs, coefs_half, block_size, which) for s in shells]
        # per twist: mean over vectors; the twists' estimates are independent
        full = sum(p[0].mean() for p in per) / norm
        trunc = sum(p[1].mean() for p in per) / norm
        var = 0.0 if exact else sum(p[0].var(ddof=1) / p.shape[1] for p in per) / norm**2
        if exact:  # the sum over unit vectors is the trace itself (no 1/R)
            full, trunc = full * vectors, trunc * vectors
        return full, trunc, math.sqrt(var)

    def evaluate(delta):
        d_t = delta * d0
        full, trunc, sd = anomalous(d_t)
        g = 2 * d_t / coupling - full
        cache[delta] = (g, sd, trunc - full, full)
        return g / d0

    g_lo, g_hi = evaluate(lo), evaluate(hi)
    if target is not None and not exact:
        check_positive("target", target)
        # slope of g(Δ) (t per Δ0) from the two ends: the 1σ of Δ from one vector
        slope = abs(g_hi - g_lo) * d0 / (hi - lo)
        sd_one = cache[lo][1] * math.sqrt(vectors) / max(slope, 1e-300)
        needed = math.ceil((sd_one / target) ** 2)
        if needed > vectors:
            raise ParameterError(
                "vectors",
                f"{vectors} vectors per twist give a stochastic "
                f"error of about {sd_one / math.sqrt(vectors):.2g} "
                f"Δ0, above target = {target:g} Δ0: at least "
                f"{needed} vectors needed",
            )
    while g_lo > 0 and lo > _DELTA_MIN:  # root below: widen down
        hi, g_hi = lo, g_lo
        lo = max(_DELTA_MIN, lo / 2)
        g_lo = evaluate(lo)
    while g_hi < 0 and hi < dense._DELTA_MAX:  # root above: widen up
        lo, g_lo = hi, g_hi
        hi = min(dense._DELTA_MAX, 1.5 * hi)
        g_hi = evaluate(hi)
    converged = bool(g_lo < 0 < g_hi)
    if converged:
        delta = optimize.brentq(evaluate, lo, hi, xtol=_XTOL)
        _g, sd, dtrunc, full = cache[min(cache, key=lambda x: abs(x - delta))]
        # g' at the root (t per Δ0) from the closest evaluations on either side
        below = max(x for x in cache if x <= delta)
        above = min(x for x in cache if x > delta)
        slope = abs(cache[above][0] - cache[below][0]) / (above - below)
        stderr = sd / slope
        # Jackson errors fall as 1/M²: the error at M is ~ 1/3 of the change from M/2 to M,
        # for the tanh series and for the shell projector's series (one more evaluation).
        shell_half, _, _ = anomalous(delta * d0, which="half")
        truncation = math.hypot(dtrunc, shell_half - full) / 3 / slope
        residual = float(1 - coupling * full / (2 * delta * d0))
    else:  # no root in [0.02, 2] Δ0: the normal state (g > 0 at the lowest Δ), or U too large
        delta, stderr, truncation, residual = 0.0, float("nan"), float("nan"), float("nan")
        converged = bool(g_lo > 0)
    nnz = max(s.h0.nnz for s in shells)
    return ChebyshevGapResult(
        delta=float(delta),
        delta_stderr=float(stderr),
        delta_truncation=float(truncation),
        gap_equation_residual=residual,
        coupling=float(coupling),
        moments=int(moments),
        shell_moments=int(shell_moments),
        vectors=int(vectors),
        kernel_width=float(np.pi * a / moments / d0),
        shell_width=float(shell_width / d0),
        n_evaluations=len(cache) + (1 if converged else 0),
        converged=converged,
        seconds=time.perf_counter() - start,
        memory_bytes=memory_estimate(
            4 * nsites, nnz, vectors, block_size=block_size, real=shells[0].real
        )
        + len(shells) * 3 * 4 * nsites * vectors * (8 if shells[0].real else 16),
    )


def realization_delta(settings, size, potential, seed):
    """Uniform Δ (Δ0) of one realization of a study whose settings name this solver, and metadata.

    As `selfconsistent.realization_delta` (same bracket around the clean lattice's Δ, the
    zero-field reference at B = 0 with the same vectors), with the errors of this solver in the
    metadata: ``delta_stderr_delta0``, ``delta_truncation_delta0`` (and ``delta_zero_field_*``).

    Parameters
    ----------
    settings : dict
        The ``self_consistent`` entry of a `StudySpec` with ``gap_solver`` (see
        `selfconsistent.study_settings`).
    size : int
    potential : ndarray, shape (L, L)
        t.
    seed : sequence of int
        Entropy of the vectors (the study passes ``(spec.seed, index, 2)``).

    Returns
    -------
    (float, dict)
    """
    mapping = dense._mapping_of(settings)
    solver = settings["gap_solver"]
    kw = {
        "temperature": settings["temperature"],
        "coupling": settings["coupling_t"],
        "twists": settings["twists"],
        "cutoff": settings["cutoff_delta0"],
        "moments": solver["moments"],
        "vectors": solver["vectors"],
        "shell_moments": solver.get("shell_moments"),
        "potential": potential,
    }
    clean = settings["delta_clean_lattice"]
    # Δ(B) within [0.5, 1.3] x the clean lattice's (widened by the solver when outside); the
    # same vectors for B and B = 0 (correlated errors in the ratio).
    lo = max(0.5 * clean, _DELTA_MIN)
    res = solve_uniform_chebyshev(
        mapping,
        size,
        bracket=(lo, min(max(1.3 * clean, 1.5 * lo), dense._DELTA_MAX)),
        seed=tuple(seed),
        **kw,
    )
    meta = {
        "delta_delta0": res.delta,
        "delta_seconds": res.seconds,
        "delta_converged": res.converged,
        "gap_equation_residual": res.gap_equation_residual,
        "delta_stderr_delta0": res.delta_stderr,
        "delta_truncation_delta0": res.delta_truncation,
        "gap_solver": "chebyshev",
        "delta_evaluations": res.n_evaluations,
    }
    if settings.get("fermi_beta_window_delta0") is not None:
        raise ParameterError(
            "gap-solver", "fermi_beta_window needs the dense shell (its eigenstates)"
        )
    if settings.get("zero_field_reference"):
        zero = mapping.with_field(0.0)
        base = max(res.delta, lo)
        res0 = solve_uniform_chebyshev(
            zero, size, bracket=(base, min(1.6 * base, dense._DELTA_MAX)), seed=tuple(seed), **kw
        )
        meta.update(
            delta_zero_field_delta0=res0.delta,
            delta_zero_field_converged=res0.converged,
            delta_zero_field_seconds=res0.seconds,
            delta_zero_field_stderr_delta0=res0.delta_stderr,
            delta_zero_field_truncation_delta0=res0.delta_truncation,
        )
    return res.delta, meta
