r"""Homogeneous Eilenberger equation of an Ising superconductor, solved as a matrix sign function.

Conventions (written once here; the rest of the package refers to this docstring)
---------------------------------------------------------------------------------
Basis
    4x4 matrices in Nambu (tau, **outer**) x spin (sigma, **inner**) space, the basis
    :math:`(c_\uparrow, c_\downarrow, c^\dagger_\uparrow, c^\dagger_\downarrow)` of the
    paper's Eq. (1) and of ``latticemirage.model``. ``np.kron(tau, sigma)`` builds them;
    :math:`\tau_3 = \mathrm{diag}(1, 1, -1, -1)`.

Equation (paper Eq. (8))
    .. math::

        [\,\tilde\varepsilon\tau_3 - \hat\Delta - \hat\nu - \hat\Sigma(\varepsilon),\ \hat g\,] = 0,
        \qquad \hat g\hat g = 1, \qquad \mathrm{Tr}\,\hat g = 0,

    with :math:`\tilde\varepsilon = \varepsilon + i\eta` (Dynes) on the real axis and
    :math:`\tilde\varepsilon = i\omega_n` at Matsubara energies, and

    - :math:`\hat\Delta = \Delta\, i\sigma_y\tau_2` with real :math:`\Delta \ge 0`
      ("Eq. (8) gauge");
    - :math:`\hat\nu = \beta\sigma_z\tau_3
      - B(\cos\phi\,\sigma_x\tau_0 + \sin\phi\,\sigma_y\tau_3)`,
      where ``beta`` is the *signed* Ising field of a Fermi-surface point (``s beta_so`` in
      valley ``s``). The Zeeman term is :math:`-B\,\mathbf n\cdot\boldsymbol\sigma` in the
      electron block and :math:`-B\,\mathbf n\cdot\boldsymbol\sigma^*` in the hole block, as
      Eq. (7) writes the hole block with :math:`\boldsymbol\sigma^*`; since
      :math:`\sigma_y^* = -\sigma_y` its y part carries :math:`\tau_3`. (For the paper's
      :math:`\phi = 0` this is the paper's :math:`-B_x\sigma_x\tau_0`; writing
      :math:`-B\,\mathbf n\cdot\boldsymbol\sigma\,\tau_0` for :math:`\phi \ne 0` would be a
      different, unphysical field in the hole block.)
    - :math:`\hat\Sigma = -i\Gamma\langle\hat g\rangle` (SCBA, see below).

    The bracketed matrix is :math:`M = \tau_3(\tilde\varepsilon - H_{BdG}) + \xi` at the
    Fermi level: :math:`\hat g = (i/\pi)\int d\xi\, G^R(\xi)\,\tau_3` with the BdG
    Hamiltonian of Eq. (1) whose pairing is :math:`-i\Delta\, i\sigma_y` (see "Gauge").

Solution and branch rule
    :math:`\hat g = \mathrm{sign}_R(M)`: diagonalize :math:`M = \sum_\lambda \lambda P_\lambda`
    and map every eigenvalue in the upper half plane to +1 and every eigenvalue in the
    lower half plane to -1 (the retarded branch: :math:`\int d\xi/(\lambda - \xi) =
    -i\pi\,\mathrm{sgn\,Im}\lambda`). It commutes with M, squares to 1 and, because the
    spectrum of M is symmetric (see `sign_retarded`), is traceless. Checks: BCS gives
    :math:`\hat g = (\varepsilon\tau_3 - \hat\Delta)/\sqrt{\varepsilon^2 - \Delta^2}` with
    :math:`\mathrm{Re}\,g_0 = |\varepsilon|/\sqrt{\varepsilon^2 - \Delta^2}` above the gap and
    :math:`\hat g \to \tau_3` for large :math:`|\varepsilon|`; at :math:`\varepsilon = i\omega`,
    :math:`\omega > 0`, the same rule gives :math:`g_0 = \omega/\sqrt{\omega^2 + \Delta^2}`.
    An eigenvalue on the real axis has no retarded branch (real axis with
    ``eta = gamma = 0``): `sign_retarded` raises ``ValueError``.

Components (paper Eq. (7))
    Upper-left block :math:`g_0\sigma_0 + \mathbf g\cdot\boldsymbol\sigma`, upper-right block
    :math:`(f_0\sigma_0 + \mathbf f\cdot\boldsymbol\sigma)\, i\sigma_y`. The DOS per
    Fermi-surface point, normalized to the normal state, is :math:`N = \mathrm{Re}\, g_0`.

Gauge
    Eq. (8) with a real :math:`\Delta` is the paper's Eq. (1) with pairing
    :math:`-i\Delta`: in the Eq. (1) language the pairing enters :math:`M` as
    :math:`\Delta\, i\sigma_y\tau_1`. The global gauge rotation
    :math:`U = e^{i\pi\tau_3/4}` maps one onto the other, so the anomalous components of
    Eq. (1) with a *real* :math:`\Delta` are :math:`f^{(1)} = i f^{(8)}` (``g`` unchanged):
    Re and Im of f swap (up to a sign). The paper's Fig. 2 sign statements
    (:math:`\mathrm{Im} f_x < 0`, :math:`\mathrm{Im}(i f_y) > 0` near :math:`+\varepsilon_0`
    in valley K) hold in the Eq. (1) gauge, which is also the lattice model's
    (``latticemirage.model`` has a real ``delta`` in Eq. (1)). `components` therefore
    returns the Eq. (1) gauge by default (``gauge="eq1"``); ``gauge="eq8"`` gives the raw
    components of the matrices this module computes.

Impurities: self-consistent Born approximation (SCBA)
    :math:`\hat\Sigma_j = -i\Gamma\langle\hat g\rangle
    - i\Gamma_{intra}\langle\hat g\rangle_{v(j)}`,
    :math:`\langle\hat g\rangle = \sum_j w_j \hat g_j` over the whole Fermi surface
    (`FermiSurface`; for the paper's two valleys :math:`\frac12\sum_{s=\pm}\hat g_s`) and
    :math:`\langle\cdot\rangle_v` the same average restricted to valley v.

    *What survives the commutator (Anderson).* With one beta per valley, the intravalley
    half :math:`-\tfrac{i\Gamma}{2}\hat g_s` of the valley-s self-energy commutes with
    :math:`\hat g_s` and drops out of Eq. (8); only the other valley's
    :math:`-\tfrac{i\Gamma}{2}\hat g_{-s}` acts, and so does nothing of ``gamma_intra``. The
    code nevertheless keeps :math:`\hat\Sigma` in full (it matters for a warped Fermi
    surface, and nothing is dropped to make Eq. (9) exact).

    *Relation to a scattering time* (hbar = 1). Point impurities of concentration
    :math:`n_i` per site and strength V, in the Born approximation, give the normal-state
    self-energy :math:`\Sigma = n_i V^2 \sum_k G_k = -i\pi n_i V^2 N_0`, i.e.

    .. math:: \Gamma = \pi n_i V^2 N_0 = \frac{1}{2\tau},

    with :math:`N_0` the normal density of states per spin and per site at the Fermi
    level *summed over both valleys* and :math:`\tau` the total (intra + intervalley)
    elastic scattering time. Half of all scattering ends in the other valley, so the
    intervalley rate is :math:`1/\tau_{iv} = \Gamma`: the paper's "intervalley scattering
    rate". In the normal state :math:`\hat g = \tau_3` and :math:`\hat\Sigma = -i\Gamma\tau_3`.

    *Convergence.* The fixed point :math:`X = \langle\mathrm{sign}_R(M_0 + i\Gamma X)\rangle`
    is iterated from the normal state :math:`X = \tau_3`, per energy, with Anderson
    acceleration until :math:`\max|X_{new} - X| \le \mathrm{tol}\,\max(1, \max|X_{new}|)`.
    Guard: an evaluation is rejected unless :math:`\mathrm{Herm}(\hat g\tau_3) \succeq 0`
    (an integrated spectral matrix; `_physical`) at every Fermi-surface point; the iteration
    then retreats towards the last accepted point, and after `MAX_REJECTIONS` rejections
    (or ``maxiter`` evaluations) that energy continues with damped plain mixing, which
    cannot leave the physical region (``fallback_maxiter``, ``damping`` in `SCBAOptions`).
    Unconverged energies are reported in `SCBAResult` (their values are the last accepted
    iterate, never a rejected one) and named in a warning (or an error).

Impurities beyond Born: self-consistent T-matrix
    With ``tmatrix=`` (`QCParams.impurities`) the point-impurity self-energy
    :math:`\hat\Sigma_T = \Gamma_u[c + i\langle\hat g\rangle]^{-1}`, unit-matrix part removed,
    is added to the Born one (`quasiclassical.tmatrix` derives it and its parameters). The
    iteration is the same: the state is still :math:`X = \langle\hat g\rangle`, only the map
    :math:`X \mapsto \hat\Sigma` changes; an evaluation where :math:`c + iX` is singular is
    rejected like one without a retarded branch.

Units: energies in Delta0 (see `quasiclassical.params`).
"""

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive
from quasiclassical.tmatrix import tmatrix_self_energy_masked

__all__ = [
    "DELTA_HAT",
    "DELTA_HAT_EQ1",
    "SIGMA",
    "TAU",
    "Components",
    "SCBAConvergenceError",
    "SCBAConvergenceWarning",
    "SCBAOptions",
    "SCBAResult",
    "bare_matrix",
    "components",
    "kron",
    "sign_retarded",
    "solve_matsubara",
    "solve_real_axis",
    "solve_scba",
]


def _frozen(arr):
    arr = np.array(arr, dtype=complex)
    arr.setflags(write=False)
    return arr


#: Pauli matrices (sigma_0, sigma_x, sigma_y, sigma_z); also used for tau.
SIGMA = _frozen(
    [
        [[1, 0], [0, 1]],
        [[0, 1], [1, 0]],
        [[0, -1j], [1j, 0]],
        [[1, 0], [0, -1]],
    ]
)
TAU = SIGMA


def kron(tau, sigma):
    """Nambu (outer) x spin (inner) matrix ``np.kron(tau, sigma)``, read-only."""
    return _frozen(np.kron(tau, sigma))


_ISY = SIGMA[2] * 1j  # i sigma_y = [[0, 1], [-1, 0]]
_TAU3 = kron(TAU[3], SIGMA[0])
_TAU3_DIAG = np.array([1.0, 1.0, -1.0, -1.0])
#: Pairing matrix of Eq. (8) per unit Delta: i sigma_y tau_2.
DELTA_HAT = kron(TAU[2], _ISY)
#: Pairing matrix of Eq. (1) with a real Delta, as it enters M: i sigma_y tau_1.
DELTA_HAT_EQ1 = kron(TAU[1], _ISY)
_ISING = kron(TAU[3], SIGMA[3])  # sigma_z tau_3
_ZEEMAN_X = kron(TAU[0], SIGMA[1])  # sigma_x tau_0
_ZEEMAN_Y = kron(TAU[3], SIGMA[2])  # sigma_y tau_3 (hole block uses sigma^*)

# Smallest eigenvalue of Herm(X tau_3), relative to max(1, |X|), still counted as physical:
# round-off of a 4x4 sign function and of the Fermi-surface sum is ~1e-15.
_PSD_TOL = 1e-9
#: Rejected steps (unphysical Anderson extrapolation or rejected evaluation) after which an
#: energy leaves Anderson mixing for damped plain mixing (see `solve_scba`).
MAX_REJECTIONS = 10

_MSG_NO_BRANCH = (
    "no retarded branch at energies {energies}: an eigenvalue of the Eilenberger matrix lies "
    "on the real axis (real-axis energies need eta > 0 or gamma > 0)"
)
_MSG_NOT_CONVERGED = (
    "SCBA did not converge to tol={tol:g} within {maxiter} iterations (plain-mixing fallback "
    "up to {fallback}) at {count} energies: {energies}; their values are the last accepted "
    "iterate, not a solution"
)


class SCBAConvergenceWarning(RuntimeWarning):
    """The SCBA fixed point was not reached at some energies (they are named)."""


class SCBAConvergenceError(RuntimeError):
    """Raised instead of the warning when ``on_failure="raise"``."""


def bare_matrix(energies, beta, delta, field=0.0, phi=0.0, *, pairing=DELTA_HAT):
    r"""The clean Eilenberger matrix :math:`M_0 = \tilde\varepsilon\tau_3 - \hat\Delta - \hat\nu`.

    Parameters
    ----------
    energies : array_like, complex
        :math:`\tilde\varepsilon` (already including ``+ i eta`` or ``= i omega``), Delta0.
    beta : float
        Signed Ising field of one Fermi-surface point (``s beta_so``), Delta0.
    delta : float or array_like
        Real gap, Delta0; broadcast against *energies*.
    field, phi : float
        In-plane Zeeman energy (Delta0) and its angle from x (radians).
    pairing : ndarray, shape (4, 4)
        `DELTA_HAT` (Eq. (8), default) or `DELTA_HAT_EQ1` (Eq. (1) with real Delta).

    Returns
    -------
    ndarray, shape broadcast(energies, delta).shape + (4, 4), complex
    """
    eps, dlt = np.broadcast_arrays(np.asarray(energies, dtype=complex), np.asarray(delta, float))
    nu = beta * _ISING - field * (np.cos(phi) * _ZEEMAN_X + np.sin(phi) * _ZEEMAN_Y)
    return eps[..., None, None] * _TAU3 - dlt[..., None, None] * pairing - nu


# --------------------------------------------------------------------------------------
# The retarded matrix sign function
# --------------------------------------------------------------------------------------

# Relative size of Tr M and Tr M^3 below which the spectrum counts as symmetric
# (+-lambda pairs), the premise of the closed form; round-off of a 4x4 product is ~1e-15.
_SYMMETRY_TOL = 1e-10
# |Im lambda| / |lambda| below which an eigenvalue counts as real: no retarded branch.
_BRANCH_TOL = 1e-13


def _sign_closed(m):
    r"""Closed-form retarded sign of 4x4 matrices with spectrum :math:`\pm\lambda_1, \pm\lambda_2`.

    :math:`M^2` then has the eigenvalues :math:`\mu_{1,2} = \lambda_{1,2}^2` and satisfies
    :math:`(M^2 - \mu_1)(M^2 - \mu_2) = 0`, so :math:`\mathrm{sign}_R(M) = M(a + bM^2)` with
    :math:`a + b\mu_i = 1/r_i`, :math:`r_i` the root of :math:`\mu_i` in the upper half plane:
    :math:`b = -1/(r_1 r_2 (r_1 + r_2))`,
    :math:`a = (r_1^2 + r_1 r_2 + r_2^2)/(r_1 r_2 (r_1 + r_2))`
    (smooth at :math:`\mu_1 = \mu_2`, where it is the Hermite interpolant).
    :math:`\mu_1 + \mu_2 = \mathrm{Tr} M^2/2` and :math:`\mu_1\mu_2 = \det M`.

    Returns ``(g, ok, symmetric)``: ``ok`` is False where an eigenvalue is (numerically)
    real; ``symmetric`` is False where :math:`\mathrm{Tr}M` or :math:`\mathrm{Tr}M^3` does
    not vanish, i.e. where the premise fails and ``g`` is not the sign function.
    """
    m2 = m @ m
    m3 = m @ m2
    half_trace = 0.5 * np.trace(m2, axis1=-2, axis2=-1)
    det = np.linalg.det(m)
    disc = np.sqrt(0.25 * half_trace**2 - det)
    # Stable quadratic formula: take the larger root by adding, the smaller from the product.
    big = 0.5 * half_trace + np.where((half_trace.conj() * disc).real >= 0, disc, -disc)
    safe_big = np.where(big == 0, 1.0, big)
    small = np.where(big == 0, 0.0, det / safe_big)
    # Root in the upper half plane: i sqrt(-mu) with the principal sqrt (Re >= 0).
    r1 = 1j * np.sqrt(-big)
    r2 = 1j * np.sqrt(-small)
    scale = np.maximum(np.abs(r1), np.abs(r2))
    ok = (r1.imag > _BRANCH_TOL * scale) & (r2.imag > _BRANCH_TOL * scale)
    r1 = np.where(ok, r1, 1j)
    r2 = np.where(ok, r2, 1j)
    denom = r1 * r2 * (r1 + r2)
    b = -1.0 / denom
    a = (r1 * r1 + r1 * r2 + r2 * r2) / denom
    g = a[..., None, None] * m + b[..., None, None] * m3
    norm = np.max(np.abs(m), axis=(-2, -1))
    tr1 = np.abs(np.trace(m, axis1=-2, axis2=-1))
    tr3 = np.abs(np.trace(m3, axis1=-2, axis2=-1))
    symmetric = (tr1 <= _SYMMETRY_TOL * 4 * norm) & (tr3 <= _SYMMETRY_TOL * 64 * norm**3)
    return g, ok, symmetric


def _sign_newton(m, maxiter=100):
    r"""General retarded sign by the scaled Newton iteration :math:`X \leftarrow (X + X^{-1})/2`.

    :math:`\mathrm{sign}_R(M) = \mathrm{sign}(-iM)` (standard sign: Re > 0 -> +1); works for
    any spectrum (no symmetry assumed) as long as no eigenvalue is real.
    Returns ``(g, ok)``.
    """
    x = -1j * np.array(m, dtype=complex)
    n = x.shape[-1]
    ok = np.ones(x.shape[:-2], dtype=bool)
    for _ in range(maxiter):
        det = np.linalg.det(x)
        bad = ~np.isfinite(det) | (np.abs(det) == 0)
        ok &= ~bad
        det = np.where(bad, 1.0, det)
        # Determinantal scaling speeds up the first steps; harmless near convergence.
        mu = np.abs(det) ** (-1.0 / n)
        xs = mu[..., None, None] * x
        xs = np.where(bad[..., None, None], np.eye(n), xs)
        new = 0.5 * (xs + np.linalg.inv(xs))
        change = np.max(np.abs(new - x), axis=(-2, -1))
        x = new
        if np.all(change <= 1e-14 * np.maximum(1.0, np.max(np.abs(x), axis=(-2, -1)))):
            break
    resid = np.max(np.abs(x @ x - np.eye(n)), axis=(-2, -1))
    ok &= np.isfinite(resid) & (resid < 1e-8)
    return x, ok


# Matrices per block in `_sign`: large batches are processed in cache-sized blocks
# (a Python loop over blocks of thousands of energies, not over energies).
_BLOCK = 4096


def _sign(m, method="auto"):
    """Retarded sign with an ``ok`` mask (no exception); see `sign_retarded`."""
    m = np.asarray(m, dtype=complex)
    batch = m.shape[:-2]
    count = int(np.prod(batch))
    if count > _BLOCK:
        flat = m.reshape(count, 4, 4)
        g = np.empty_like(flat)
        ok = np.empty(count, bool)
        for start in range(0, count, _BLOCK):
            g[start:start + _BLOCK], ok[start:start + _BLOCK] = _sign_block(
                flat[start:start + _BLOCK], method
            )
        return g.reshape(m.shape), ok.reshape(batch)
    return _sign_block(m, method)


def _sign_block(m, method):
    if method == "newton":
        return _sign_newton(m)
    g, ok, symmetric = _sign_closed(m)
    if method == "closed":
        return g, ok
    # The closed form needs a symmetric spectrum (Tr M = Tr M^3 = 0); the rest goes
    # through the general Newton iteration.
    general = ~symmetric
    if np.any(general):
        g[general], ok[general] = _sign_newton(m[general])
    return g, ok


def sign_retarded(m, method="auto"):
    r"""Retarded matrix sign function: eigenvalues with Im > 0 -> +1, Im < 0 -> -1.

    Parameters
    ----------
    m : array_like, shape (..., 4, 4)
        Batch of matrices (any leading shape); no Python loop over the batch.
    method : {"auto", "closed", "newton"}
        ``"closed"``: the closed form for a spectrum :math:`\{\pm\lambda_1, \pm\lambda_2\}`
        (true for every Eilenberger matrix of this package: :math:`C = \sigma_z\tau_2`
        rotated by :math:`\phi` about z anticommutes with all its terms and with the
        resulting :math:`\hat g`). ``"newton"``: the general scaled Newton iteration, any
        spectrum. ``"auto"`` (default) checks :math:`\mathrm{Tr}M = \mathrm{Tr}M^3 = 0` per
        matrix and uses the general method where it fails, so added terms stay right.

    Returns
    -------
    ndarray, shape (..., 4, 4), complex

    Raises
    ------
    ValueError
        If an eigenvalue is real (no retarded branch), naming the batch indices.
    """
    g, ok = _sign(m, method)
    if not np.all(ok):
        bad = np.argwhere(~np.atleast_1d(ok))[:5].tolist()
        raise ValueError(_MSG_NO_BRANCH.format(energies=f"batch indices {bad}"))
    return g


# --------------------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Components:
    r"""Components of :math:`\hat g` (paper Eq. (7)), each an ndarray of the batch shape.

    Attributes
    ----------
    g0, gx, gy, gz : ndarray, complex
        Upper-left block :math:`g_0\sigma_0 + \mathbf g\cdot\boldsymbol\sigma`.
    f0, fx, fy, fz : ndarray, complex
        Upper-right block :math:`(f_0\sigma_0 + \mathbf f\cdot\boldsymbol\sigma) i\sigma_y`.
    gauge : str
        ``"eq1"`` (real Delta in the paper's Eq. (1)) or ``"eq8"`` (real Delta in Eq. (8)).
    """

    g0: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    gz: np.ndarray
    f0: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    fz: np.ndarray
    gauge: str

    NAMES = ("g0", "gx", "gy", "gz", "f0", "fx", "fy", "fz")

    @property
    def dos(self):
        """Normalized density of states ``Re g0``."""
        return self.g0.real

    def as_dict(self):
        """``{name: array}`` for the eight components, in `NAMES` order."""
        return {name: getattr(self, name) for name in self.NAMES}


_GAUGES = {"eq8": 1.0, "eq1": 1j}


def components(g, gauge="eq1"):
    r"""Split :math:`\hat g` (Eq. (8) gauge) into :math:`g_0, \mathbf g, f_0, \mathbf f`.

    Parameters
    ----------
    g : array_like, shape (..., 4, 4)
        Green's functions as computed by this module (Eq. (8) gauge, real Delta).
    gauge : {"eq1", "eq8"}
        ``"eq1"`` (default): anomalous parts in the gauge of the paper's Eq. (1) with a
        real Delta, :math:`f^{(1)} = i f^{(8)}` (module docstring, "Gauge").

    Returns
    -------
    Components
    """
    if gauge not in _GAUGES:
        raise ParameterError("gauge", f"must be one of {sorted(_GAUGES)}, got {gauge!r}")
    g = np.asarray(g)
    upper_left = g[..., :2, :2]
    # (f0 + f.sigma) = UR (i sigma_y)^{-1} = UR (-i sigma_y)
    pair = (g[..., :2, 2:] @ (-_ISY)) * _GAUGES[gauge]

    def part(block, k):
        return 0.5 * np.trace(SIGMA[k] @ block, axis1=-2, axis2=-1)

    return Components(
        *(part(upper_left, k) for k in range(4)), *(part(pair, k) for k in range(4)), gauge=gauge
    )


# --------------------------------------------------------------------------------------
# SCBA
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SCBAResult:
    r"""Self-consistent Green's functions on a batch of energies (SciPy-style result).

    Attributes
    ----------
    epsilon : ndarray, complex, batch shape S
        The energies used, :math:`\tilde\varepsilon` (``eps + i eta`` or ``i omega``), Delta0.
    delta : ndarray, batch shape S
        The gap at each batch element, Delta0.
    g : ndarray, shape (p,) + S + (4, 4)
        :math:`\hat g_j` for every Fermi-surface point j (Eq. (8) gauge).
    average : ndarray, shape S + (4, 4)
        :math:`\langle\hat g\rangle`, as in :math:`\hat\Sigma = -i\Gamma\langle\hat g\rangle`.
    converged : ndarray of bool, shape S
    iterations : ndarray of int, shape S
        Fixed-point evaluations used at each energy (0 when no self-consistency is needed).
    residual : ndarray, shape S
        Final :math:`\max|X_{new} - X| / \max(1, \max|X_{new}|)`.
    success : bool
        All energies converged.
    message : str
    nfev : int
        Number of 4x4 sign-function evaluations (cost counter).
    fermi_surface : FermiSurface
    gamma, gamma_intra : float
    tmatrix : TMatrixImpurities or None
        The T-matrix impurities used (`quasiclassical.tmatrix`), None for Born only.
    """

    epsilon: np.ndarray
    delta: np.ndarray
    g: np.ndarray
    average: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    success: bool
    message: str
    nfev: int
    fermi_surface: object
    gamma: float
    gamma_intra: float
    tmatrix: object = None

    @property
    def dos(self):
        r"""Fermi-surface averaged normalized DOS :math:`\mathrm{Re}\langle g_0\rangle`, shape S."""
        return components(self.average).g0.real

    def components(self, gauge="eq1"):
        """`Components` of each Fermi-surface point, arrays of shape (p,) + S."""
        return components(self.g, gauge)

    def average_components(self, gauge="eq1"):
        """`Components` of the Fermi-surface average, arrays of shape S."""
        return components(self.average, gauge)


def _valley_masks(fs):
    return [(v, fs.valleys == v) for v in (1, -1) if np.any(fs.valleys == v)]


@dataclass(frozen=True)
class SCBAOptions:
    """Iteration controls of `solve_scba` (as SciPy's solvers take ``options``).

    Every field can also be given to `solve_scba`, `solve_real_axis`,
    `solve_matsubara` and `quasiclassical.density_of_states` by keyword; keywords
    override the fields of an ``options=`` object.

    Attributes
    ----------
    tol : float > 0
        Convergence tolerance of the fixed point (see module docstring).
    maxiter : int >= 1
        Maximum fixed-point evaluations per energy (with ``acceleration="none"``: in all;
        with Anderson mixing: before an energy falls back to plain mixing).
    acceleration : {"anderson", "none"}
        Anderson mixing over the last *history* iterates (guarded, see the module
        docstring), or
        plain iteration ``x <- F(x)``.
    history : int >= 0
        Iterates kept by Anderson mixing (0: plain iteration).
    fallback_maxiter : int >= 1
        Total evaluations allowed to an energy that left Anderson mixing for plain mixing
        (after `MAX_REJECTIONS` rejected steps or *maxiter* evaluations). Plain iteration
        contracts slowly near band edges (about 1000 evaluations at beta = 7, B = 2,
        Delta = 0.8, Gamma = 5, eta = 0, eps = 0.27) but never leaves the physical region.
    damping : float in (0, 1]
        Weight alpha of the plain fallback step ``x <- x + alpha (F(x) - x)``; halved at
        every rejected evaluation of that energy.
    on_failure : {"warn", "raise"}
        Unconverged energies: `SCBAConvergenceWarning` or `SCBAConvergenceError`.
    sign_method : {"auto", "closed", "newton"}
        Passed to `sign_retarded`.

    Raises
    ------
    ParameterError
        Naming the field, for a value outside its range.
    """

    tol: float = 1e-10
    maxiter: int = 300
    acceleration: str = "anderson"
    history: int = 5
    fallback_maxiter: int = 5000
    damping: float = 1.0
    on_failure: str = "warn"
    sign_method: str = "auto"

    def __post_init__(self):
        if not 0 < self.damping <= 1:
            raise ParameterError("damping", f"must be in (0, 1], got {self.damping}")
        check_positive("tol", self.tol)
        for name, low in (("maxiter", 1), ("history", 0), ("fallback_maxiter", 1)):
            value = getattr(self, name)
            if int(value) != value or value < low:
                raise ParameterError(name, f"must be an integer >= {low}, got {value!r}")
        for name, allowed in (("acceleration", ("anderson", "none")),
                              ("on_failure", ("warn", "raise")),
                              ("sign_method", ("auto", "closed", "newton"))):
            if getattr(self, name) not in allowed:
                raise ParameterError(name, f"must be one of {', '.join(allowed)}, "
                                           f"got {getattr(self, name)!r}")

    @classmethod
    def merged(cls, options=None, **overrides):
        """*options* (default: the defaults) with the keyword *overrides* applied."""
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unexpected SCBA option(s): {', '.join(sorted(unknown))}")
        base = cls() if options is None else options
        return dataclasses.replace(base, **overrides) if overrides else base


def solve_scba(epsilon, delta, fermi_surface, *, field=0.0, phi=0.0, gamma=0.0, gamma_intra=0.0,
               tmatrix=None, options=None, **controls):
    r"""Solve Eq. (8) with the SCBA self-energy at a batch of complex energies.

    The low-level front end; `solve_real_axis` and `solve_matsubara` add the
    physical validation. Every batch element is an independent problem; all are
    iterated together, and converged ones leave the active set.

    Parameters
    ----------
    epsilon : array_like, complex
        :math:`\tilde\varepsilon` per batch element (Dynes shift or ``i omega`` included).
    delta : float or array_like
        Real gap, broadcast against *epsilon*; the batch shape S is the broadcast shape.
    fermi_surface : FermiSurface
        Ising fields and weights of the p Fermi-surface points.
    field, phi, gamma, gamma_intra : float
        See `QCParams`.
    tmatrix : TMatrixImpurities, optional
        Point impurities in the self-consistent T-matrix approximation, added to the Born
        self-energy (module docstring; `QCParams.impurities`). Default None: Born only.
    options : SCBAOptions, optional
        Iteration controls (default: ``SCBAOptions()``); its fields are described there
        and below.
    **controls
        Any `SCBAOptions` field by keyword (``tol=1e-12``, ``on_failure="raise"``, ...);
        overrides the same field of *options*.

    Returns
    -------
    SCBAResult
        At an unconverged energy (``converged`` False) ``g``, ``average`` and ``residual``
        belong to the last *accepted* iterate (a retarded branch with positive spectral
        weight), never to a rejected one; it is not a solution of the SCBA, and callers
        that report numbers must mask it (the CLI writes NaN there).

    Raises
    ------
    ParameterError
        An iteration control outside its range (`SCBAOptions`).
    TypeError
        A keyword that is not an `SCBAOptions` field.
    ValueError
        If the first evaluation (normal-state start) has an eigenvalue on the real axis.
    """
    opts = SCBAOptions.merged(options, **controls)
    fs = fermi_surface
    eps, dlt = np.broadcast_arrays(np.asarray(epsilon, complex), np.asarray(delta, float))
    shape = eps.shape
    eps_flat, dlt_flat = eps.ravel(), dlt.ravel()
    n = eps_flat.size
    p = len(fs)
    bare = np.stack([bare_matrix(eps_flat, b, dlt_flat, field, phi) for b in fs.betas])
    weights = fs.weights[:, None, None, None]
    masks = _valley_masks(fs) if gamma_intra > 0 else []
    scatters = gamma != 0 or gamma_intra != 0 or (tmatrix is not None and tmatrix.rate > 0)
    # State per energy: X = <g> (and per valley <g>_v when gamma_intra > 0), flattened.
    nblocks = 1 + len(masks)

    def evaluate(state, idx):
        """One fixed-point map on the energies *idx*: returns (g, new_state, ok)."""
        blocks = state.reshape(len(idx), nblocks, 4, 4)
        sigma_total = 1j * gamma * blocks[:, 0]
        m = bare[:, idx] + sigma_total
        for k, (_, mask) in enumerate(masks):
            m[mask] = m[mask] + 1j * gamma_intra * blocks[:, 1 + k]
        if tmatrix is not None:
            # The same T-matrix self-energy at every Fermi-surface point (on-site impurity).
            sigma_t, regular = tmatrix_self_energy_masked(blocks[:, 0], tmatrix)
            m = m - sigma_t
        g, ok = _sign(m, opts.sign_method)
        ok = np.all(ok, axis=0)
        if tmatrix is not None:
            ok &= regular
        # Spectral positivity: Herm(g tau_3) is an integrated spectral matrix (>= 0).
        ok &= _physical(np.swapaxes(g, 0, 1), p)
        new = [np.sum(weights * g, axis=0)]
        for _, mask in masks:
            w = weights[mask]
            new.append(np.sum(w * g[mask], axis=0) / w.sum())
        return g, np.stack(new, axis=1).reshape(len(idx), -1), ok

    g_out = np.empty((p, n, 4, 4), complex)
    iterations = np.zeros(n, int)
    residual = np.zeros(n)
    converged = np.zeros(n, bool)
    state0 = np.broadcast_to(np.tile(_TAU3, (nblocks, 1, 1)).ravel(), (n, nblocks * 16)).copy()
    nfev = 0

    if not scatters:
        g, _, ok = evaluate(state0, np.arange(n))
        nfev += p * n
        if not np.all(ok):
            raise ValueError(_MSG_NO_BRANCH.format(energies=_describe(eps_flat[~ok])))
        g_out[:] = g
        converged[:] = True
    else:
        nfev = _iterate(
            evaluate, state0, g_out, iterations, residual, converged, eps_flat,
            p=p, tol=opts.tol, maxiter=opts.maxiter, acceleration=opts.acceleration,
            history=opts.history, nblocks=nblocks, fallback_maxiter=opts.fallback_maxiter,
            damping=opts.damping,
        )
    average = np.sum(weights * g_out, axis=0)
    success = bool(np.all(converged))
    if success:
        message = "SCBA converged at all energies" if scatters else "clean: no SCBA"
    else:
        bad = eps_flat[~converged]
        anderson = opts.acceleration == "anderson" and opts.history > 0
        message = _MSG_NOT_CONVERGED.format(
            tol=opts.tol, maxiter=opts.maxiter, count=bad.size, energies=_describe(bad),
            fallback=max(opts.maxiter, opts.fallback_maxiter) if anderson else opts.maxiter,
        )
        if opts.on_failure == "raise":
            raise SCBAConvergenceError(message)
        warnings.warn(message, SCBAConvergenceWarning, stacklevel=2)
    return SCBAResult(
        epsilon=eps,
        delta=dlt,
        g=g_out.reshape((p, *shape, 4, 4)),
        average=average.reshape((*shape, 4, 4)),
        converged=converged.reshape(shape),
        iterations=iterations.reshape(shape),
        residual=residual.reshape(shape),
        success=success,
        message=message,
        nfev=int(nfev),
        fermi_surface=fs,
        gamma=float(gamma),
        gamma_intra=float(gamma_intra),
        tmatrix=tmatrix,
    )


def _describe(values, limit=8):
    values = np.asarray(values)
    shown = ", ".join(f"{complex(v):.6g}" for v in values[:limit])
    return f"[{shown}{', ...' if values.size > limit else ''}]"


def _physical(states, nblocks):
    r"""True where every block X of a state has :math:`\mathrm{Herm}(X\tau_3) \succeq 0`.

    That is the condition for :math:`\hat\Sigma = -i\Gamma X` to be a retarded self-energy
    (its spectral matrix is :math:`\Gamma\,\mathrm{Herm}(\tau_3 X)`, similar to
    :math:`\Gamma\,\mathrm{Herm}(X\tau_3)`). Every physical :math:`\hat g` has it
    (:math:`\mathrm{Herm}(\hat g\tau_3) = \int d\xi\, A(\xi)`, also at
    :math:`\varepsilon = i\omega`, :math:`\omega > 0`), and so has every Fermi-surface average
    of physical ones; the diagonal alone (the spectral weights) is not enough: an Anderson
    extrapolation can keep it positive while an eigenvalue is negative.

    Parameters
    ----------
    states : ndarray, shape (n, nblocks * 16) or (n, nblocks, 4, 4)

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    x = states.reshape(len(states), nblocks, 4, 4) * _TAU3_DIAG
    herm = 0.5 * (x + np.conj(np.swapaxes(x, -1, -2)))
    scale = np.maximum(1.0, np.max(np.abs(x), axis=(-2, -1)))
    return np.all(_positive_definite(herm, _PSD_TOL * scale), axis=1)


def _positive_definite(h, shift):
    """True where the Hermitian 4x4 ``h + shift I`` is positive definite.

    A Cholesky factorization written out over the batch (ten times faster than
    ``np.linalg.eigvalsh`` on 4x4 matrices, which loops in LAPACK per matrix).
    """
    size = h.shape[-1]
    low = np.zeros(h.shape, complex)
    ok = np.ones(h.shape[:-2], bool)
    for j in range(size):
        pivot = h[..., j, j].real + shift - np.sum(np.abs(low[..., j, :j]) ** 2, axis=-1)
        ok &= pivot > 0
        root = np.sqrt(np.where(pivot > 0, pivot, 1.0))
        low[..., j, j] = root
        for i in range(j + 1, size):
            inner = np.sum(low[..., i, :j] * np.conj(low[..., j, :j]), axis=-1)
            low[..., i, j] = (h[..., i, j] - inner) / root
    return ok


def _iterate(evaluate, state, g_out, iterations, residual, converged, eps, *, p, tol, maxiter,
             acceleration, history, nblocks, fallback_maxiter, damping):
    """Guarded Anderson-accelerated fixed-point iteration; fills the output arrays in place.

    Per energy:

    - Only *accepted* evaluations (a retarded branch exists and the result passes the
      positivity check of `solve_scba`) write ``g_out`` and ``residual``: an energy that
      does not converge reports its last accepted iterate, never a rejected one.
    - An Anderson step that leaves the physical cone (`_physical`) is replaced by the plain
      image F(x) and counts as a rejection; so does an evaluation that is rejected, after
      which the iteration retreats to ``x_acc + alpha (F(x_acc) - x_acc)`` from the last
      accepted point, ``alpha`` halved at every rejection (the retreat tends to the
      accepted point itself, so it cannot be rejected forever).
    - After `MAX_REJECTIONS` rejections, or *maxiter* evaluations without convergence, the
      energy leaves Anderson mixing for damped plain mixing ``x + alpha (F(x) - x)``,
      ``alpha = damping`` (halved at each rejection from then on), and may continue up to
      *fallback_maxiter* evaluations in total.
      (Plain iteration maps the physical cone into itself; it is slow but safe.)

    Anderson (type II) keeps the last *history* differences of iterates and residuals in
    ring buffers; the least-squares mixing does not care about their order. A zero column
    (unused, or cleared after a rejected step) gets zero weight.
    """
    n, q = state.shape
    anderson = acceleration == "anderson" and history > 0
    active = np.arange(n)
    x = state
    x_acc, f_acc = state.copy(), state.copy()  # last accepted point and its image F
    alpha = np.ones(n)  # weight of the next plain step / retreat
    plain = np.full(n, not anderson)
    rejections = np.zeros(n, int)
    budget = np.full(n, maxiter)
    if anderson:
        d_x = np.zeros((n, q, history), complex)
        d_r = np.zeros((n, q, history), complex)
        prev_x = np.zeros((n, q), complex)
        prev_r = np.zeros((n, q), complex)
        have_prev = np.zeros(n, bool)
    nfev = 0
    it = 0
    while active.size:
        it += 1
        g, fx, ok = evaluate(x, active)
        nfev += p * active.size
        if it == 1 and not np.all(ok):
            raise ValueError(_MSG_NO_BRANCH.format(energies=_describe(eps[active[~ok]])))
        r = fx - x
        res = np.max(np.abs(r), axis=1) / np.maximum(1.0, np.max(np.abs(fx), axis=1))
        iterations[active] = it
        accepted = active[ok]
        g_out[:, accepted] = g[:, ok]
        residual[accepted] = res[ok]
        done = ok & (res <= tol)
        converged[active[done]] = True
        bad = ~ok
        # Next point: plain (damped) step from an accepted point, retreat from a rejected one.
        if not bad.any():  # the common case, without masked copies
            x_acc, f_acc = x, fx  # neither is modified in place (the compression copies)
            x_next = fx.copy() if np.all(alpha == 1) else x + alpha[:, None] * r
        else:
            x_acc, f_acc = x_acc.copy(), f_acc.copy()
            x_acc[ok], f_acc[ok] = x[ok], fx[ok]
            rejections[bad] += 1
            x_next = np.where(ok[:, None], x + alpha[:, None] * r, x)
            alpha[bad] *= 0.5
            x_next[bad] = x_acc[bad] + alpha[bad, None] * (f_acc[bad] - x_acc[bad])
        if anderson:
            col = (it - 1) % history
            upd = ok & have_prev
            d_x[:, :, col] = np.where(upd[:, None], x - prev_x, 0)
            d_r[:, :, col] = np.where(upd[:, None], r - prev_r, 0)
            if bad.any():
                d_x[bad] = 0
                d_r[bad] = 0
            prev_x, prev_r, have_prev = x, r, ok
            alpha[ok & ~plain] = 1.0  # an Anderson retreat starts from the plain image
            use = upd & ~done & ~plain
            if np.any(use):
                x_next[use] = _anderson_step(x[use], r[use], d_x[use], d_r[use])
            # Leave Anderson mixing after repeated rejections or when its budget is spent.
            spent = (rejections >= MAX_REJECTIONS) | (iterations[active] >= maxiter)
            leave = ~plain & ~done & spent
            if np.any(leave):
                plain[leave] = True
                alpha[leave] = damping  # the retreats' halvings belonged to Anderson mixing
                # Plain mixing keeps a physical point physical: restart from the image of
                # the last accepted point (a Fermi-surface average of physical g).
                x_next[leave] = f_acc[leave]
                budget[leave] = max(maxiter, fallback_maxiter)
        keep = ~done & (iterations[active] < budget)
        if not np.any(keep):
            break
        active, x = active[keep], x_next[keep]
        x_acc, f_acc, alpha, plain = x_acc[keep], f_acc[keep], alpha[keep], plain[keep]
        rejections, budget = rejections[keep], budget[keep]
        if anderson:
            d_x, d_r = d_x[keep], d_r[keep]
            prev_x, prev_r, have_prev = prev_x[keep], prev_r[keep], have_prev[keep]
    return nfev


def _anderson_step(x, r, d_x, d_r):
    """Type-II Anderson mixing: ``x + r - (dX + dR) c`` with ``c = argmin |r - dR c|``."""
    d_rh = np.conj(np.swapaxes(d_r, 1, 2))
    gram = d_rh @ d_r
    diag = np.einsum("mii->mi", gram).real
    unused = diag == 0
    # Tikhonov regularization relative to the largest column; 1 on unused columns.
    reg = 1e-12 * np.max(diag, axis=1, keepdims=True) + 1e-300
    gram = gram + np.einsum("mi,ij->mij", np.where(unused, 1.0, reg), np.eye(diag.shape[1]))
    coef = np.linalg.solve(gram, d_rh @ r[:, :, None])
    return x + r - ((d_x + d_r) @ coef)[:, :, 0]


# --------------------------------------------------------------------------------------
# Physical front ends
# --------------------------------------------------------------------------------------


def solve_real_axis(energies, delta, params, fermi_surface=None, **options):
    r"""Retarded :math:`\hat g(\varepsilon + i\eta)` with SCBA on real energies.

    Parameters
    ----------
    energies : array_like of float, shape S
        Real energies, Delta0.
    delta : float
        Gap, Delta0 (>= 0).
    params : QCParams
        Uses ``beta`` (unless *fermi_surface* is given), ``field``, ``phi``, ``gamma``,
        ``gamma_intra``, ``impurities``, ``eta``.
    fermi_surface : FermiSurface, optional
        Replaces the two-valley model ``params.fermi_surface()``.
    **options
        Passed to `solve_scba`: ``options=SCBAOptions(...)`` and/or its fields by keyword
        (``tol``, ``maxiter``, ``acceleration``, ``on_failure``, ...).

    Raises
    ------
    ParameterError
        Non-finite energies, negative delta, or ``eta = 0`` with ``gamma = 0`` and no
        T-matrix impurities (no retarded branch on the real axis).
    """
    energies = np.asarray(energies, dtype=float)
    check_finite("energies", energies)
    check_nonnegative("delta", delta)
    tmatrix = params.impurities
    if params.eta == 0 and params.gamma == 0 and (tmatrix is None or tmatrix.rate == 0):
        raise ParameterError(
            "eta", "must be > 0 on the real axis when gamma = 0 (no retarded branch otherwise)"
        )
    fs = params.fermi_surface() if fermi_surface is None else fermi_surface
    return solve_scba(
        energies + 1j * params.eta, delta, fs, field=params.field, phi=params.phi,
        gamma=params.gamma, gamma_intra=params.gamma_intra, tmatrix=tmatrix, **options,
    )


def solve_matsubara(omegas, delta, params, fermi_surface=None, **options):
    r""":math:`\hat g(i\omega)` with SCBA at positive Matsubara energies (no Dynes term).

    Parameters
    ----------
    omegas : array_like of float
        :math:`\omega > 0`, Delta0; broadcast against *delta* (e.g. shape (k, 1) gaps
        against (n,) frequencies gives a (k, n) batch).
    delta : float or array_like
        Gap(s), Delta0.
    params, fermi_surface, **options
        As in `solve_real_axis` (``eta`` is not used).
    """
    omegas = np.asarray(omegas, dtype=float)
    check_finite("omegas", omegas)
    if np.any(omegas <= 0):
        raise ParameterError("omegas", "Matsubara energies must be > 0")
    check_nonnegative("delta", delta)
    fs = params.fermi_surface() if fermi_surface is None else fermi_surface
    return solve_scba(
        1j * omegas, delta, fs, field=params.field, phi=params.phi, gamma=params.gamma,
        gamma_intra=params.gamma_intra, tmatrix=params.impurities, **options,
    )
