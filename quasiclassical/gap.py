r"""Self-consistent gap from the Matsubara gap equation, free energy, and B_c2(T).

Gap equation (coupling eliminated in favour of T_c0)
    .. math::

        h(\Delta) \equiv 2\pi T \sum_{n \ge 0} \Big[\frac{1}{\omega_n}
            - \frac{\langle f_0(i\omega_n)\rangle}{\Delta}\Big] - \ln\frac{T_{c0}}{T} = 0,
        \qquad \omega_n = (2n + 1)\pi T,

    with :math:`f_0` of the SCBA solution at :math:`i\omega_n` (Eq. (8) gauge, where it is
    real and even in :math:`\omega_n`, so the sum over :math:`n \ge 0` counts both signs).
    The summand decays as :math:`\omega^{-3}`, so the sum converges without a cut-off;
    it is evaluated exactly for :math:`\omega_n < \Omega` and the remainder
    :math:`\sum_{\omega_n > \Omega}` by the integral :math:`\int_\Omega^\infty d\omega`
    (the Matsubara sum is its midpoint rule; error :math:`\sim (2\pi T)^2 F'(\Omega)/24`)
    with Gauss-Legendre in :math:`u = \Omega/\omega`. ``tail=False`` gives the plain
    truncated sum, whose error falls as :math:`\Omega^{-2}` (the tests show both).
    At B = Gamma = 0 it is the BCS equation and :math:`\Delta(T \to 0) = \pi e^{-\gamma_E}
    T_{c0} = \Delta_0` (the package's energy unit). No Dynes term enters the gap.

Free energy
    For the mean-field functional (the SCBA is Phi-derivable), :math:`\partial\Omega/\partial\Delta
    = 2N_0\Delta\,h(\Delta)` at fixed T, B, Gamma, so

    .. math::

        \frac{\Omega_s(\Delta) - \Omega_n}{N_0\Delta_0^2}
            = \int_0^\Delta 2\Delta' h(\Delta')\,d\Delta',

    with :math:`N_0` the normal DOS per spin (BCS check: :math:`-1/2` at T = 0). Roots of
    h where it goes from negative to positive are local minima; `solve_gap` returns the
    global minimum among them and the normal state :math:`\Delta = 0`, i.e. it follows
    the first-order branch where there is one.

Upper critical field
    `critical_field` first finds the field :math:`B^*` where the normal state becomes
    unstable, :math:`h(0^+) = 0` (the second-order line, linearized gap equation). If at
    :math:`B^*` the gap equation still has a superconducting minimum, the transition is
    first order and :math:`B_{c2}` is the field where that minimum's free energy reaches
    the normal state's (bisection); otherwise :math:`B_{c2} = B^*`.

Uniform-gap assumption
    Everything here is the homogeneous (q = 0) state: :math:`\Delta` does not vary in
    space. `solve_gap` and `critical_field` therefore give the transition of the *uniform*
    state. At small :math:`\beta` (Pauli-limited) and :math:`T < 0.56\,T_{c0}` (below the
    tricritical point, where this module finds a first-order transition) the true 2D
    upper critical field is that of a modulated FFLO state with finite q, which is higher
    and is not computed here. The Clogston-Chandrasekhar limit
    :math:`B = \Delta_0/\sqrt 2` quoted by ``mirage qc bc2`` is likewise the uniform
    state's.

Units: energies in Delta0, temperatures in T_c0 (`quasiclassical.params`).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from mirage_common.errors import check_positive, check_range
from quasiclassical.eilenberger import components, solve_matsubara
from quasiclassical.params import QCParams, temperature_in_delta0

__all__ = [
    "CriticalField",
    "GapSolution",
    "MatsubaraGrid",
    "condensation_energy",
    "critical_field",
    "critical_field_line",
    "gap_residual",
    "matsubara_grid",
    "solve_gap",
]

#: Default cut-off in units of the largest energy scale max(1, |beta|, B, Gamma).
CUTOFF_FACTOR = 10.0
_TAIL_NODES = 24
# Gap used for the linearized equation h(0+): f0/Delta has O(Delta^2) corrections
# (1e-12 here) and round-off 1e-16/Delta (1e-10): both far below the tolerances used.
DELTA_LINEAR = 1e-6
# SCBA tolerance at Matsubara energies: h sums ~Omega/(2 pi T) terms of this accuracy.
_MATSUBARA_TOL = 1e-12


@dataclass(frozen=True)
class MatsubaraGrid:
    """Matsubara energies and weights for the sum :math:`2\\pi T\\sum_n F(\\omega_n)`.

    Attributes
    ----------
    omegas : ndarray, shape (n,)
        All positive energies, Delta0: the explicit :math:`\\omega_n < \\Omega`, then the
        tail quadrature nodes (if any).
    weights : ndarray, shape (n,)
        :math:`2\\pi T` for the explicit ones, quadrature weights for the tail.
    temperature : float
        T / T_c0.
    cutoff : float
        :math:`\\Omega`, Delta0 (even multiple of :math:`\\pi T`).
    tail : bool
    """

    omegas: np.ndarray
    weights: np.ndarray
    temperature: float
    cutoff: float
    tail: bool


def matsubara_grid(temperature, cutoff, *, tail=True):
    """Matsubara energies below *cutoff* (Delta0) plus a tail quadrature (if *tail*).

    The number of explicit frequencies is ``N = ceil(cutoff / (2 pi T))`` (at least 8),
    so that the explicit sum covers ``[0, Omega)`` with ``Omega = 2 pi T N >= cutoff``.
    """
    check_positive("temperature", temperature)
    check_positive("cutoff", cutoff)
    t = float(temperature_in_delta0(temperature))
    count = max(8, math.ceil(cutoff / (2 * math.pi * t)))
    omega_max = 2 * math.pi * t * count
    omegas = (2 * np.arange(count) + 1) * math.pi * t
    weights = np.full(count, 2 * math.pi * t)
    if tail:
        u, w = np.polynomial.legendre.leggauss(_TAIL_NODES)
        u, w = 0.5 * (u + 1), 0.5 * w  # nodes on (0, 1)
        omegas = np.concatenate([omegas, omega_max / u])
        weights = np.concatenate([weights, w * omega_max / u**2])
    return MatsubaraGrid(omegas, weights, float(temperature), omega_max, bool(tail))


def _default_cutoff(params, fs):
    scale = max(1.0, fs.max_abs_beta, params.field, params.gamma, params.gamma_intra)
    if params.impurities is not None:
        # At large omega <g> -> tau_3 and the T-matrix acts as the Born rate Gamma_N.
        scale = max(scale, params.impurities.normal_rate)
    return CUTOFF_FACTOR * scale


def _grid(params, fs, cutoff, tail):
    return matsubara_grid(params.temperature, _default_cutoff(params, fs) if cutoff is None
                          else cutoff, tail=tail)


def gap_residual(deltas, params, fermi_surface=None, *, cutoff=None, tail=True):
    r"""The gap-equation function :math:`h(\Delta)` (module docstring) at several gaps.

    Parameters
    ----------
    deltas : array_like, shape (k,)
        Gaps > 0, Delta0 (use `DELTA_LINEAR` for the linearized equation).
    params : QCParams
    fermi_surface : FermiSurface, optional
        Default ``params.fermi_surface()``.
    cutoff : float, optional
        :math:`\Omega` in Delta0; default ``10 max(1, |beta|, B, Gamma)`` (Gamma: every
        rate, the T-matrix's `TMatrixImpurities.normal_rate` included).
    tail : bool
        Add the integral beyond the cut-off (default) or truncate the sum.

    Returns
    -------
    ndarray, shape (k,)
        Negative: the normal state at that gap wants a larger gap (dOmega/dDelta < 0).
    """
    fs = params.fermi_surface() if fermi_surface is None else fermi_surface
    deltas = np.atleast_1d(np.asarray(deltas, dtype=float))
    check_positive("delta", deltas)
    grid = _grid(params, fs, cutoff, tail)
    res = solve_matsubara(
        grid.omegas, deltas[:, None], params, fs, tol=_MATSUBARA_TOL, on_failure="raise"
    )
    f0 = components(res.average, gauge="eq8").f0.real  # (k, n), real by symmetry
    summand = 1.0 / grid.omegas - f0 / deltas[:, None]
    return summand @ grid.weights + math.log(params.temperature)


def _free_energy(deltas_to, params, fs, cutoff, tail, nodes=8):
    r""":math:`\int_0^{\Delta} 2\Delta' h(\Delta') d\Delta'` per target, composite Gauss-Legendre.

    At low T, h has kinks of width ~T (e.g. where a Zeeman-split gap closes), so the
    panels are at most 3T wide (at least 8, at most 96 panels of *nodes* points).
    """
    deltas_to = np.atleast_1d(np.asarray(deltas_to, dtype=float))
    t = float(temperature_in_delta0(params.temperature))
    panels = int(np.clip(np.ceil(np.max(deltas_to) / (3 * t)), 8, 96))
    x, w = np.polynomial.legendre.leggauss(nodes)
    x, w = 0.5 * (x + 1), 0.5 * w
    edges = np.linspace(0.0, 1.0, panels + 1)
    pts = (edges[:-1, None] + np.diff(edges)[:, None] * x).ravel()
    wts = (np.diff(edges)[:, None] * w).ravel()
    arg = (deltas_to[:, None] * pts).ravel()
    h = gap_residual(arg, params, fs, cutoff=cutoff, tail=tail).reshape(len(deltas_to), -1)
    return np.sum(2 * deltas_to[:, None] * pts * h * wts, axis=1) * deltas_to


def condensation_energy(delta, params, fermi_surface=None, *, cutoff=None, tail=True):
    r""":math:`(\Omega_s(\Delta) - \Omega_n)/(N_0\Delta_0^2)` at the gap *delta* (module docstring).

    ``N_0`` is the normal DOS per spin at the Fermi level; BCS at T = 0 gives -1/2.
    """
    check_positive("delta", delta)
    fs = params.fermi_surface() if fermi_surface is None else fermi_surface
    return float(_free_energy(delta, params, fs, cutoff, tail)[0])


@dataclass(frozen=True)
class GapSolution:
    r"""Result of `solve_gap`.

    Attributes
    ----------
    delta : float
        The thermodynamically stable gap (global free-energy minimum), Delta0; 0 if the
        normal state wins.
    free_energy : float
        :math:`(\Omega_s - \Omega_n)/(N_0\Delta_0^2)` of that state; ``nan`` where no
        comparison was needed (a single minimum, which is then the global one).
    minima : ndarray
        All superconducting local minima found (roots of h from - to +), Delta0.
    maxima : ndarray
        Roots of h from + to - (free-energy barriers), Delta0.
    minima_free_energies : ndarray
        Free energies of *minima* (``nan`` where not computed).
    normal_state_stable : bool
        :math:`h(0^+) > 0`: the normal state is a local minimum.
    residual_at_zero : float
        :math:`h(0^+)`.
    params : QCParams
    cutoff : float
        :math:`\Omega` used, Delta0.
    """

    delta: float
    free_energy: float
    minima: np.ndarray
    maxima: np.ndarray
    minima_free_energies: np.ndarray
    normal_state_stable: bool
    residual_at_zero: float
    params: QCParams
    cutoff: float

    @property
    def first_order_region(self):
        """Both the normal state and a superconducting state are local minima."""
        return self.normal_state_stable and self.minima.size > 0


def solve_gap(params, fermi_surface=None, *, cutoff=None, tail=True, delta_max=1.2,
              scan_points=16, xtol=1e-10, free_energies="auto"):
    r"""Self-consistent gap :math:`\Delta(T, B, \Gamma)`: the global free-energy minimum.

    Among uniform (q = 0) states only; see the module docstring, "Uniform-gap assumption".

    Parameters
    ----------
    params : QCParams
        Uses ``temperature``, ``beta``, ``field``, ``phi``, ``gamma``, ``gamma_intra``,
        ``impurities``.
    fermi_surface : FermiSurface, optional
    cutoff, tail
        See `gap_residual`.
    delta_max : float
        Upper end of the search, Delta0 (pair breaking only lowers the gap below 1).
    scan_points : int
        Gaps scanned on ``(0, delta_max]`` to bracket every root; roots closer than
        ``delta_max / scan_points`` (only next to a spinodal) can be missed.
    xtol : float
        Absolute tolerance of each root, Delta0.
    free_energies : {"auto", "always"}
        Compute free energies only to compare several minima (default) or always.

    Returns
    -------
    GapSolution
    """
    fs = params.fermi_surface() if fermi_surface is None else fermi_surface
    cutoff = _grid(params, fs, cutoff, tail).cutoff if cutoff is None else cutoff
    scan = np.concatenate([[DELTA_LINEAR], np.linspace(delta_max / scan_points, delta_max,
                                                       scan_points)])
    h = gap_residual(scan, params, fs, cutoff=cutoff, tail=tail)
    if h[-1] <= 0:
        raise RuntimeError(
            f"gap equation still negative at delta_max={delta_max}: increase delta_max"
        )

    def h_scalar(d):
        return float(gap_residual([d], params, fs, cutoff=cutoff, tail=tail)[0])

    minima, maxima = [], []
    for k in np.nonzero(np.sign(h[:-1]) != np.sign(h[1:]))[0]:
        root = brentq(h_scalar, scan[k], scan[k + 1], xtol=xtol, rtol=1e-12)
        (minima if h[k] < 0 else maxima).append(root)
    minima, maxima = np.array(minima), np.array(maxima)
    normal_stable = bool(h[0] > 0)
    candidates = minima.size + int(normal_stable)
    energies = np.full(minima.size, np.nan)
    if minima.size and (candidates > 1 or free_energies == "always"):
        energies = _free_energy(minima, params, fs, cutoff, tail)
    if minima.size == 0:
        delta, free = 0.0, 0.0
    elif candidates == 1:
        delta, free = float(minima[0]), float(energies[0])
    else:
        best = int(np.argmin(energies))
        if normal_stable and energies[best] >= 0:
            delta, free = 0.0, 0.0
        else:
            delta, free = float(minima[best]), float(energies[best])
    return GapSolution(
        delta=delta,
        free_energy=free,
        minima=minima,
        maxima=maxima,
        minima_free_energies=energies,
        normal_state_stable=normal_stable,
        residual_at_zero=float(h[0]),
        params=params,
        cutoff=float(cutoff),
    )


@dataclass(frozen=True)
class CriticalField:
    r"""The in-plane upper critical field at one temperature.

    Attributes
    ----------
    temperature : float
        T / T_c0.
    field : float
        :math:`B_{c2}`: the field where the stable gap vanishes, Delta0.
    order : str
        ``"second"``, ``"first"``, or ``"none"`` (T >= T_c0: no superconductivity, field 0).
    spinodal : float
        :math:`B^*`: the normal state is unstable below it (linearized gap equation).
    delta_jump : float
        Gap just below :math:`B_{c2}` (0 for a second-order transition), Delta0.
    """

    temperature: float
    field: float
    order: str
    spinodal: float
    delta_jump: float


def _h0(params, fs, field, cutoff, tail):
    return float(gap_residual([DELTA_LINEAR], params.replace(field=field), fs,
                              cutoff=cutoff, tail=tail)[0])


def critical_field(params, fermi_surface=None, *, cutoff=None, tail=True, xtol=1e-6,
                   field_max=1e3):
    r"""In-plane :math:`B_{c2}` of the uniform (q = 0) state at ``params.temperature``.

    ``params.field`` is ignored. At small beta and T < 0.56 T_c0 the true 2D transition is
    to an FFLO state at a higher field (module docstring, "Uniform-gap assumption").

    Parameters
    ----------
    params : QCParams
    fermi_surface : FermiSurface, optional
    cutoff : float, optional
        Fixed :math:`\Omega` (Delta0); default scales with the field tried.
    xtol : float
        Absolute tolerance on the field, Delta0.
    field_max : float
        Give up above this field (clean Ising superconductors have :math:`B_{c2}` growing
        without bound as T -> 0).

    Returns
    -------
    CriticalField
    """
    fs = params.fermi_surface() if fermi_surface is None else fermi_surface
    t = params.temperature
    if _h0(params, fs, 0.0, cutoff, tail) >= 0:
        return CriticalField(t, 0.0, "none", 0.0, 0.0)
    lo, hi = 0.0, 1.0
    while _h0(params, fs, hi, cutoff, tail) < 0:
        lo, hi = hi, 2 * hi
        if hi > field_max:
            raise RuntimeError(f"no upper critical field below field_max={field_max} at T={t}")
    spinodal = brentq(lambda b: _h0(params, fs, b, cutoff, tail), lo, hi, xtol=xtol)

    def state(b):
        """(superconducting?, free energy of the deepest superconducting minimum or None)."""
        sol = solve_gap(params.replace(field=b), fs, cutoff=cutoff, tail=tail,
                        free_energies="always")
        free = float(np.min(sol.minima_free_energies)) if sol.minima.size else None
        return sol.delta > 0, free, sol

    # Just above the spinodal (brentq brackets it to xtol) the normal state is locally
    # stable; a superconducting minimum there means a first-order transition.
    above = spinodal + 2 * xtol
    if _h0(params, fs, above, cutoff, tail) <= 0:
        raise RuntimeError(f"linearized gap equation not positive just above B*={spinodal}")
    is_sc, _, _ = state(above)
    if not is_sc:
        return CriticalField(t, float(spinodal), "second", float(spinodal), 0.0)
    # First order: the superconducting minimum outlives the normal state's instability.
    # Bracket the field where its free energy crosses the normal state's, then brentq.
    lo, hi = above, 1.5 * above
    while True:
        is_sc, free, _ = state(hi)
        if not is_sc:
            break
        lo, hi = hi, 1.5 * hi
        if hi > field_max:
            raise RuntimeError(f"no upper critical field below field_max={field_max} at T={t}")
    # Past the superheating field there is no minimum at all: shrink until there is one.
    while free is None and hi - lo > xtol:
        mid = 0.5 * (lo + hi)
        is_sc, free_mid, _ = state(mid)
        if is_sc:
            lo = mid
        else:
            hi, free = mid, free_mid
    if free is not None:
        field = brentq(lambda b: state(b)[1], lo, hi, xtol=xtol)
    else:  # the minimum disappears while still below the normal state (superheating end)
        field = 0.5 * (lo + hi)
    below = state(field - xtol)[2]
    return CriticalField(t, float(field), "first", float(spinodal), float(below.delta))


def critical_field_line(temperatures, params, fermi_surface=None, **options):
    """`critical_field` at each temperature (T / T_c0); returns a list of `CriticalField`."""
    temperatures = np.atleast_1d(np.asarray(temperatures, dtype=float))
    check_range("temperature", temperatures, 0.0, math.inf, low_open=True)
    return [critical_field(params.replace(temperature=t), fermi_surface, **options)
            for t in temperatures]

