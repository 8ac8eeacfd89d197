r"""Tunneling spectroscopy: the electron-projected DOS and the thermally smeared conductance.

Electron DOS
    A normal-metal tip couples to the electrons of the superconductor, i.e. to the
    electron block (upper-left 2x2, basis :math:`(c_\uparrow, c_\downarrow)`, see
    `quasiclassical.eilenberger`) of :math:`\hat g`. Normalized to the normal state,

    .. math:: N_e(\varepsilon) = \tfrac12\,\mathrm{Re}\,\mathrm{Tr}_{\sigma}\,
              \hat g_{ee}(\varepsilon + i\eta) = \mathrm{Re}\,g_0(\varepsilon + i\eta),

    per Fermi-surface point (per valley in the paper's model) and averaged with the
    Fermi-surface weights. This is the same :math:`N_s = \mathrm{Re}\,g_0` that
    `quasiclassical.observables.density_of_states` returns (the tests check it); the spin
    trace sums both spin projections, which is what an unpolarized tip measures. Because
    it is the spin trace, :math:`N_e(-\varepsilon) = N_e(\varepsilon)` for every beta, B,
    phi, Gamma (measured to ~1e-12 by the tests); a spin-polarized tip
    (:math:`g_0 \pm \mathbf m\cdot\mathbf g`) would see an asymmetric spectrum.

Conductance (tunnel limit, energy-independent tunnel matrix element)
    .. math::

        \frac{G(V)}{G_N} = \int d\varepsilon\, N_e(\varepsilon)\,
            \Big[-\frac{\partial f}{\partial\varepsilon}\Big](\varepsilon - eV),
        \qquad -\frac{\partial f}{\partial x} = \frac{1}{4 k_B T\cosh^2(x / 2k_BT)},

    at the temperature T of the superconductor (tip and sample in equilibrium), so
    :math:`G/G_N \to N_e(eV)` as :math:`T \to 0`. The bias :math:`eV` is in Delta0; the
    sign convention is that ``bias > 0`` probes states at ``+eV`` (irrelevant here since
    :math:`N_e` is even). The Dynes broadening ``eta`` enters :math:`N_e` as
    :math:`\varepsilon \to \varepsilon + i\eta`, as in the rest of the package.
    :math:`k_BT` in Delta0 is ``T / DELTA0_OVER_TC0`` (T in T_c0,
    :math:`\Delta_0 = \pi e^{-\gamma_E}k_BT_{c0}`; `quasiclassical.params`).

Quadrature (why a uniform trapezoid grid is accurate)
    :math:`N_e(\varepsilon) = \mathrm{Re}\,g_0(\varepsilon + i\eta)` is analytic in the
    strip :math:`|\mathrm{Im}\,\varepsilon| < \eta` (g0 is retarded), and the kernel is
    analytic in :math:`|\mathrm{Im}\,x| < \pi k_BT`. The trapezoid rule with spacing h on
    a function analytic in a strip of half-width w has the error
    :math:`\sim e^{-2\pi w/h}`; with :math:`h = w/n` (``points_per_width = n``,
    :math:`w = \min(\eta, \pi k_BT)`) it is :math:`\sim e^{-2\pi n}` (n = 3: ~1e-8). The
    grid extends :math:`L = 36\,k_BT` beyond the bias window, where the kernel's tail
    weight is :math:`2e^{-36} \approx 5\times10^{-16}`. Hence ``eta > 0`` is required: at
    ``eta = 0`` the DOS has square-root singularities and no uniform grid converges fast.

Band-resolved tunneling weight (leading 1/E_F correction; ``band_slope``)
    The formula above takes the tunnel probability the same for every state of the
    superconductor. A real interface that conserves the momentum along it (a planar
    junction; the lattice NS junction of ``latticemirage.transport``) transmits into a
    normal-state band at energy :math:`\xi` from the Fermi level with a probability
    :math:`\propto v_{N\perp} v_{S\perp}(\xi)` summed over the transverse momenta, which
    changes with :math:`\xi` on the scale of the Fermi energy. In the normal state the
    Ising and Zeeman fields split the electrons into two bands :math:`\xi + \lambda\varepsilon_0`
    (:math:`\lambda = \pm`) with spins along :math:`\pm\hat h`, :math:`\mathbf h =
    (-B\cos\phi, -B\sin\phi, \beta)` the field of the electron block (Eq. (8)) and
    :math:`\varepsilon_0 = |\mathbf h|`; a state at energy E lies in band
    :math:`\lambda` at :math:`\xi = E - \lambda\varepsilon_0`. With the tunnel weight
    :math:`w(\xi) = w_0(1 + \kappa\xi)` to first order (``band_slope`` :math:`\kappa`, in
    1/Delta0) and the band-resolved DOS :math:`N_\lambda = \mathrm{Re}(g_0 + \lambda\hat h
    \cdot\mathbf g)` (the electron block's spin projection on the band spin),

    .. math::

        \frac{G}{G_N} = \frac{\sum_\lambda w(E - \lambda\varepsilon_0) N_\lambda}
                             {\sum_\lambda w(E - \lambda\varepsilon_0)}
        = N_e - \kappa\,\varepsilon_0\,\mathrm{Re}(\hat h\cdot\mathbf g)
          + O(\kappa^2\varepsilon_0^2),

    per Fermi-surface point, averaged with the weights and smeared like :math:`N_e`.
    :math:`\mathrm{Re}(\hat h\cdot\mathbf g)` is odd in E, so the correction is the
    **bias-odd** part of the spectrum: near :math:`+\varepsilon_0` the open band lies at
    :math:`\xi \approx 2\varepsilon_0` and the mirage-gapped one at :math:`\xi \approx 0`,
    near :math:`-\varepsilon_0` the other way round, so the mirage floor differs between the
    bias signs by :math:`\approx \kappa\varepsilon_0`. :math:`\kappa \sim 1/E_F` (for a
    parabolic band and normal incidence :math:`-1/(2E_F)` in a hole pocket); it is a
    property of the interface, not of the superconductor, so it is an input here
    (``latticemirage.transport.band_slope`` measures it on the lattice junction in its
    normal state). Not included: terms of order :math:`\kappa\Delta` and
    :math:`\kappa\delta` from the shift of the Bogoliubov states' :math:`\xi` by the
    pairing (at the mirage-gap centres :math:`\pm\varepsilon_0` the lattice's odd part is
    the first-order term to 7-17 %, but at the mirage-gap edges it is about 1.5 times the
    term at every E_F measured, so these are of the same order there), and
    :math:`O((\varepsilon_0/E_F)^2)`. ``band_slope = 0``
    (default) is the momentum-nonconserving (or wide-band) tunnel limit, where
    :math:`G/G_N \to N_e`.

Shifted contour (`conductance_shifted`, for fits)
    Since :math:`N_e = \mathrm{Re}\,g_0(\varepsilon + i\eta)` with :math:`g_0` retarded and
    the kernel real on the real axis, :math:`G = \mathrm{Re}\int d\varepsilon\,
    g_0(\varepsilon + i\eta)\,K(\varepsilon - eV)`, and the contour can be moved up by
    :math:`0 \le y < \pi k_BT` (no pole of K crossed; :math:`g_0 \to 1` and K decays):

    .. math:: G(V) = \mathrm{Re}\int d\varepsilon\, g_0(\varepsilon + i\eta + iy)\,
              K(\varepsilon - eV + iy).

    The integrand is analytic in a strip of half-width
    :math:`\min(\pi k_BT - y, \eta + y)`, largest, :math:`(\pi k_BT + \eta)/2`, at
    :math:`y = (\pi k_BT - \eta)/2`: the grid spacing is then set by the temperature
    alone, not by a small eta (8-10x fewer SCBA energies at eta ~ k_BT/3). The same
    trapezoid error estimate holds with that strip.

Units: energies and biases in Delta0, temperatures in T_c0 (`quasiclassical.params`).
"""

import math
from dataclasses import dataclass

import numpy as np

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive
from quasiclassical.eilenberger import SCBAResult, solve_real_axis
from quasiclassical.gap import GapSolution, solve_gap
from quasiclassical.params import FermiSurface, QCParams, temperature_in_delta0

__all__ = [
    "KERNEL_HALF_WIDTH",
    "MAX_BAND_ORDER",
    "MAX_GRID_POINTS",
    "TunnelingResult",
    "band_polarization",
    "conductance_shifted",
    "contour_shift",
    "dos_grid",
    "electron_dos",
    "electron_g0",
    "fermi_window",
    "run_estimate",
    "thermal_smear",
    "tunneling_conductance",
    "tunneling_conductance_params",
]

#: Half-width of the thermal kernel kept, in k_B T (tail weight 2 e^-36 ~ 5e-16).
KERNEL_HALF_WIDTH = 36.0
#: Default grid points per analyticity half-width min(eta, pi k_B T): error ~ e^(-2 pi n).
POINTS_PER_WIDTH = 3
#: Largest first-order band correction allowed, ``|band_slope| * eps0`` (module docstring).
MAX_BAND_ORDER = 0.5
#: Largest DOS grid built (memory/time guard); beyond it a ParameterError names the cause.
MAX_GRID_POINTS = 2_000_000

_MSG_GRID = (
    "the DOS grid would need {n} points (spacing {h:.3g} Delta0 over {span:.3g} Delta0) to "
    "resolve eta={eta:g} and k_B T={kt:.3g} Delta0; raise eta or the temperature, or narrow "
    "the bias window (limit {limit})"
)


def fermi_window(x, kt):
    r"""The thermal kernel :math:`-\partial f/\partial x = 1/(4k_BT\cosh^2(x/2k_BT))`.

    Parameters
    ----------
    x : array_like
        Energy from the bias, any unit.
    kt : float
        :math:`k_B T` in the same unit (> 0).

    Returns
    -------
    ndarray, shape of *x*; integrates to 1 over the real line.
    """
    check_positive("temperature", kt)
    # cosh overflows beyond |x|/2kt ~ 710; use the exponential form, exact to round-off.
    a = np.abs(np.asarray(x, dtype=float)) / kt
    e = np.exp(-a)
    return e / (kt * (1.0 + e) ** 2)


def fermi_window_complex(z, kt):
    """`fermi_window` continued to complex arguments (|Im z| < pi kt), overflow-free."""
    z = np.asarray(z, dtype=complex)
    s = np.where(z.real >= 0, z, -z)  # K is even
    e = np.exp(-s / kt)
    return e / (kt * (1.0 + e) ** 2)


def _trapezoid_weights(energies):
    steps = np.diff(energies)
    weights = np.zeros(energies.size)
    weights[:-1] += 0.5 * steps
    weights[1:] += 0.5 * steps
    return weights


def _check_cover(energies, biases, kt):
    reach = KERNEL_HALF_WIDTH * kt
    if biases.min() - reach < energies[0] - 1e-12 * reach or \
            biases.max() + reach > energies[-1] + 1e-12 * reach:
        raise ParameterError(
            "energies", f"grid [{energies[0]:.6g}, {energies[-1]:.6g}] must cover the biases "
            f"+- {KERNEL_HALF_WIDTH:g} k_B T = +-{reach:.3g}"
        )
    return reach


def thermal_smear(energies, values, biases, kt):
    r"""Convolve *values* (sampled at *energies*) with the thermal kernel at each bias.

    :math:`G(V) = \int d\varepsilon\, N(\varepsilon)\,[-f'](\varepsilon - V)` by the
    trapezoid rule on the given grid (see the module docstring for the accuracy on a
    uniform grid). The grid must cover ``[min(biases) - 36 kt, max(biases) + 36 kt]``.
    Usable for any DOS on any sorted grid (e.g. a lattice DOS), same energy unit for all.

    Parameters
    ----------
    energies : array_like, shape (n,)
        Strictly increasing.
    values : array_like, shape (..., n)
        The DOS (last axis along *energies*).
    biases : array_like, shape (m,)
    kt : float
        :math:`k_B T` (> 0).

    Returns
    -------
    ndarray, shape (..., m)

    Raises
    ------
    ParameterError
        If the grid does not cover the kernel's support around every bias, or is not
        increasing.
    """
    energies = np.asarray(energies, dtype=float)
    values = np.asarray(values, dtype=float)
    biases = np.atleast_1d(np.asarray(biases, dtype=float))
    check_positive("temperature", kt)
    if energies.ndim != 1 or energies.size < 2 or np.any(np.diff(energies) <= 0):
        raise ParameterError("energies", "must be a strictly increasing 1-D grid")
    if values.shape[-1] != energies.size:
        raise ParameterError("values", f"last axis must have {energies.size} points")
    return _windowed(energies, values, biases, kt, lambda x: fermi_window(x, kt))


def _windowed(energies, values, biases, kt, kernel):
    """``sum_j values[..., j] kernel(energies_j - bias) w_j`` per bias (real part).

    Trapezoid weights w over the part of the grid within the kernel's reach of each
    bias (`_check_cover`); *kernel* maps offsets (real, or shifted into the complex
    plane by the caller) to the thermal window.
    """
    reach = _check_cover(energies, biases, kt)
    weights = _trapezoid_weights(energies)
    out = np.empty((*values.shape[:-1], biases.size))
    lo = np.searchsorted(energies, biases - reach, side="left")
    hi = np.searchsorted(energies, biases + reach, side="right")
    for k, (a, b) in enumerate(zip(lo, hi, strict=True)):
        out[..., k] = (values[..., a:b] @ (kernel(energies[a:b] - biases[k]) * weights[a:b])).real
    return out


#: Memory per (field, bias) of a tunneling sweep: each field's result keeps its DOS grid and
#: columns (measured 2026-12-07, ``mirage qc tunneling`` with 1201 biases: peak RSS 125 MB
#: for 2 fields, 152 MB for 6, i.e. 6.8 MB per field) and seconds per (field, bias) (10.8 s
#: against 8.1 s for 4 more fields: 0.67 s per field of 1201 biases, on the loaded 2-core
#: reference machine).
_SWEEP_BYTES = 5.7e3
_SWEEP_SECONDS = 5.6e-4


def run_estimate(n_fields, n_biases):
    """Peak memory (bytes) and run time (s) of a sweep of *n_fields* fields x *n_biases* biases.

    From measured figures (the constants above); the command line refuses a sweep whose
    memory exceeds what the machine has before any field is solved.

    Returns
    -------
    nbytes, seconds : float
    """
    cells = float(n_fields) * float(n_biases)
    return _SWEEP_BYTES * cells, _SWEEP_SECONDS * cells


def dos_grid(biases, kt, eta, *, points_per_width=POINTS_PER_WIDTH, name="eta"):
    r"""The uniform energy grid on which `tunneling_conductance` samples the DOS.

    Spacing :math:`h = \min(\eta, \pi k_BT)/n`, covering the bias window plus
    :math:`36\,k_BT` on both sides (module docstring).

    Parameters
    ----------
    biases : array_like, shape (m,)
        Delta0.
    kt, eta : float
        :math:`k_BT` and the Dynes broadening, Delta0 (both > 0).
    points_per_width : float
        n above (> 0).
    name : str
        Option blamed if the grid is too large.

    Returns
    -------
    ndarray, shape (n_grid,)
    """
    check_positive("points_per_width", points_per_width)
    biases = np.asarray(biases, dtype=float)
    h = min(eta, math.pi * kt) / points_per_width
    lo = float(biases.min()) - KERNEL_HALF_WIDTH * kt
    hi = float(biases.max()) + KERNEL_HALF_WIDTH * kt
    n = math.ceil((hi - lo) / h) + 1
    if n > MAX_GRID_POINTS:
        raise ParameterError(
            name, _MSG_GRID.format(n=n, h=h, span=hi - lo, eta=eta, kt=kt, limit=MAX_GRID_POINTS)
        )
    return np.linspace(lo, hi, n)


def electron_dos(energies, params, *, delta, fermi_surface=None, **scba_options):
    r"""Electron-projected DOS :math:`\tfrac12\mathrm{Re\,Tr}\,\hat g_{ee}` (module docstring).

    Parameters
    ----------
    energies : array_like, shape (n,)
        Real energies, Delta0.
    params : QCParams
        ``eta > 0`` unless ``gamma > 0``.
    delta : float
        The gap, Delta0.
    fermi_surface : FermiSurface, optional
        Default: the two valleys of ``params.beta``.
    **scba_options
        Passed to `quasiclassical.eilenberger.solve_scba`.

    Returns
    -------
    dos : ndarray, shape (n,)
        Fermi-surface average.
    point_dos : ndarray, shape (p, n)
        Per Fermi-surface point (valley K, K' for the two-valley model).
    scba : SCBAResult
    """
    result = solve_real_axis(energies, float(delta), params, fermi_surface, **scba_options)
    electron = result.g[..., :2, :2]
    point_dos = 0.5 * np.trace(electron, axis1=-2, axis2=-1).real
    dos = 0.5 * np.trace(result.average[..., :2, :2], axis1=-2, axis2=-1).real
    return dos, point_dos, result


def electron_g0(energies, params, *, delta, fermi_surface=None, **scba_options):
    r"""Complex :math:`\tfrac12\mathrm{Tr}\,\hat g_{ee} = g_0` at ``energies + i eta``.

    As `electron_dos` without taking the real part (for the shifted contour). Returns
    ``(average, per_point, scba)`` with shapes (n,), (p, n).
    """
    result = solve_real_axis(energies, float(delta), params, fermi_surface, **scba_options)
    per_point = 0.5 * np.trace(result.g[..., :2, :2], axis1=-2, axis2=-1)
    average = 0.5 * np.trace(result.average[..., :2, :2], axis1=-2, axis2=-1)
    return average, per_point, result


def band_polarization(scba, params, fermi_surface):
    r"""Per Fermi-surface point :math:`\varepsilon_0\,\mathrm{Re}(\hat h\cdot\mathbf g)`.

    The band-odd part of the electron DOS, :math:`\varepsilon_0 (N_+ - N_-)/2`, whose
    product with ``-band_slope`` is the leading band-resolved tunneling correction
    (module docstring).

    Parameters
    ----------
    scba : SCBAResult
        From `electron_dos` (``g`` of shape (p, n, 4, 4), Eq. (8) gauge).
    params : QCParams
        ``field`` and ``phi`` give the Zeeman part of :math:`\mathbf h`.
    fermi_surface : FermiSurface
        The signed β of each point (the z part of :math:`\mathbf h`).

    Returns
    -------
    ndarray, shape (p, n)
        In Delta0 (zero where :math:`\varepsilon_0 = 0`).
    """
    g = np.asarray(scba.g)[..., :2, :2]
    # Electron block g0 + g.sigma: g_i = Tr(sigma_i g_ee) / 2.
    gx = 0.5 * (g[..., 0, 1] + g[..., 1, 0])
    gy = 0.5j * (g[..., 0, 1] - g[..., 1, 0])
    gz = 0.5 * (g[..., 0, 0] - g[..., 1, 1])
    betas = np.asarray(fermi_surface.betas, dtype=float)
    hx = np.full_like(betas, -params.field * math.cos(params.phi))
    hy = np.full_like(betas, -params.field * math.sin(params.phi))
    # h . g with h unnormalized is eps0 * (h_hat . g).
    shape = (-1,) + (1,) * (gx.ndim - 1)
    return (hx.reshape(shape) * gx + hy.reshape(shape) * gy
            + betas.reshape(shape) * gz).real


def contour_shift(kt, eta):
    """``(y, w)``: the contour shift and the resulting strip half-width (module docstring)."""
    check_positive("temperature", kt)
    check_nonnegative("eta", eta)
    y = max(0.0, 0.5 * (math.pi * kt - eta))
    return y, min(math.pi * kt - y, eta + y)


def conductance_shifted(energies, g0_shifted, biases, kt, shift):
    r"""G/G_N from :math:`g_0` on the shifted contour (module docstring).

    Parameters
    ----------
    energies : array_like, shape (n,)
        Real parts of the contour points (strictly increasing), covering the biases
        +- 36 k_B T.
    g0_shifted : array_like, complex, shape (..., n)
        :math:`g_0(\varepsilon + i\eta + iy)` at *energies*.
    biases : array_like, shape (m,)
    kt : float
        :math:`k_BT` (> 0), same unit.
    shift : float
        The shift y, ``0 <= y < pi kt``.

    Returns
    -------
    ndarray, shape (..., m)
    """
    energies = np.asarray(energies, dtype=float)
    g0_shifted = np.asarray(g0_shifted, dtype=complex)
    biases = np.atleast_1d(np.asarray(biases, dtype=float))
    if not 0 <= shift < math.pi * kt:
        raise ParameterError("shift", f"must lie in [0, pi k_B T) = [0, {math.pi * kt:.4g})")
    return _windowed(energies, g0_shifted, biases, kt,
                     lambda x: fermi_window_complex(x + 1j * shift, kt))


@dataclass(frozen=True)
class TunnelingResult:
    r"""Thermally smeared tunneling conductance and the DOS behind it.

    Attributes
    ----------
    bias : ndarray, shape (m,)
        :math:`eV`, Delta0.
    conductance : ndarray, shape (m,)
        :math:`G(V)/G_N`.
    valley_conductance : ndarray, shape (p, m)
        The same from each Fermi-surface point's DOS (valley K, K'); weighted sum is
        *conductance*.
    dos_energies : ndarray, shape (n,)
        The uniform grid the DOS was sampled on, Delta0 (`dos_grid`).
    dos : ndarray, shape (n,)
        Electron DOS :math:`N_e` (Fermi-surface average), normalized.
    valley_dos : ndarray, shape (p, n)
    delta : float
        The gap used, Delta0.
    gap : GapSolution or None
        The self-consistent solution (None when *delta* was given).
    kt : float
        :math:`k_BT` in Delta0.
    params : QCParams
    fermi_surface : FermiSurface
    scba : SCBAResult
        Convergence per energy of the DOS (``success``, ``converged``, ...).
    band_slope : float
        :math:`\kappa` used, 1/Delta0 (0: the energy-independent tunnel weight).
    band_correction : ndarray, shape (m,)
        The bias-odd band-resolved correction included in *conductance*,
        :math:`-\kappa\langle\varepsilon_0\mathrm{Re}(\hat h\cdot\mathbf g)\rangle`
        smeared (zeros when ``band_slope = 0``).
    """

    bias: np.ndarray
    conductance: np.ndarray
    valley_conductance: np.ndarray
    dos_energies: np.ndarray
    dos: np.ndarray
    valley_dos: np.ndarray
    delta: float
    gap: GapSolution | None
    kt: float
    params: QCParams
    fermi_surface: FermiSurface
    scba: SCBAResult
    band_slope: float = 0.0
    band_correction: np.ndarray = None


def tunneling_conductance_params(biases, params, *, delta=None, fermi_surface=None,
                                 points_per_width=POINTS_PER_WIDTH, gap_options=None,
                                 band_slope=0.0, **scba_options):
    r"""`tunneling_conductance` with a `QCParams` (``params.temperature`` is the T of both
    the gap and the smearing; ``params.eta`` the Dynes broadening, > 0).

    Parameters
    ----------
    biases : array_like, shape (m,)
        :math:`eV` in Delta0, finite.
    params : QCParams
    delta : float, optional
        Fix the gap (Delta0); default `solve_gap` at ``(T, B, Gamma)`` of *params*.
    fermi_surface : FermiSurface, optional
    points_per_width : float
        See `dos_grid`.
    gap_options : dict, optional
        Passed to `solve_gap`.
    band_slope : float
        :math:`\kappa = d\ln w/d\xi`, the relative change of the tunnel weight with the
        superconductor's band energy, 1/Delta0 (module docstring; 0: none). Its size
        :math:`|\kappa|\varepsilon_0` must stay below 0.5 (first order only).
    **scba_options
        Passed to the SCBA solver.

    Returns
    -------
    TunnelingResult
    """
    biases = np.atleast_1d(np.asarray(biases, dtype=float))
    if biases.ndim != 1 or biases.size == 0:
        raise ParameterError("bias", "must be a non-empty 1-D array")
    check_finite("bias", biases)
    if not params.eta > 0:
        raise ParameterError(
            "eta", "must be > 0 for the tunneling conductance (the DOS quadrature needs the "
            "Dynes strip; see quasiclassical.tunneling), got 0"
        )
    if delta is not None:
        check_nonnegative("delta", delta)
    check_finite("band_slope", band_slope)
    eps0_max = math.hypot(params.beta, params.field)
    if abs(band_slope) * eps0_max > MAX_BAND_ORDER:
        raise ParameterError(
            "band_slope", f"|band_slope| * eps0 = {abs(band_slope) * eps0_max:.3g} exceeds "
            f"{MAX_BAND_ORDER:g}: the correction is first order in it; allowed |band_slope| "
            f"<= {MAX_BAND_ORDER / eps0_max if eps0_max else math.inf:.4g} (1/Delta0), got "
            f"{band_slope!r}")
    kt = float(temperature_in_delta0(params.temperature))
    energies = dos_grid(biases, kt, params.eta, points_per_width=points_per_width)
    fs = params.fermi_surface() if fermi_surface is None else fermi_surface
    if delta is None:
        gap = solve_gap(params, fs, **(gap_options or {}))
        delta = gap.delta
    else:
        gap = None
    dos, point_dos, scba = electron_dos(energies, params, delta=delta, fermi_surface=fs,
                                        **scba_options)
    valley_g = thermal_smear(energies, point_dos, biases, kt)
    correction = np.zeros(biases.size)
    if band_slope:
        odd = -float(band_slope) * thermal_smear(
            energies, band_polarization(scba, params, fs), biases, kt)
        valley_g = valley_g + odd
        correction = fs.weights @ odd
    return TunnelingResult(
        bias=biases,
        conductance=fs.weights @ valley_g,
        valley_conductance=valley_g,
        dos_energies=energies,
        dos=dos,
        valley_dos=point_dos,
        delta=float(delta),
        gap=gap,
        kt=kt,
        params=params,
        fermi_surface=fs,
        scba=scba,
        band_slope=float(band_slope),
        band_correction=correction,
    )


def tunneling_conductance(biases, *, beta, field, temperature, gamma=0.0, eta=0.01, delta=None,
                          phi=0.0, **options):
    r"""Thermally smeared tunneling conductance :math:`G(V)/G_N` of the two-valley model.

    Parameters
    ----------
    biases : array_like, shape (m,)
        :math:`eV`, Delta0.
    beta, field : float
        Ising field and in-plane Zeeman energy, Delta0 (>= 0).
    temperature : float
        T / T_c0 (> 0): both the gap's and the thermal smearing's temperature.
    gamma : float
        Intervalley rate, Delta0 (>= 0).
    eta : float
        Dynes broadening, Delta0 (> 0).
    delta : float, optional
        The gap, Delta0; default self-consistent :math:`\Delta(T, B, \Gamma)`.
    phi : float
        Field angle from x, radians.
    **options
        Passed to `tunneling_conductance_params` (``fermi_surface``, ``points_per_width``,
        ``gap_options``, SCBA options).

    Returns
    -------
    TunnelingResult
        ``.bias``, ``.conductance``, ``.dos_energies``, ``.dos``, ``.delta``, ...
    """
    params = QCParams(beta=beta, field=field, phi=phi, temperature=temperature, gamma=gamma,
                      eta=eta)
    return tunneling_conductance_params(biases, params, delta=delta, **options)
