r"""Observables: the density of states, all components of :math:`\hat g`, the mirage-gap formulas.

:math:`N_s(\varepsilon) = \mathrm{Re}\,g_0` per Fermi-surface point (for the paper's model:
per valley) and averaged with the Fermi-surface weights; the components follow
`quasiclassical.eilenberger.components` (Eq. (1) gauge by default). The exact and
approximate mirage-gap formulas of the paper live in `mirage_common.formulas` (shared
with the lattice side) and are re-exported here.

Units: energies in Delta0, temperatures in T_c0.
"""

from dataclasses import dataclass

import numpy as np

from mirage_common.errors import ParameterError, check_finite, check_nonnegative
from mirage_common.formulas import MirageFormula, mirage_formula, mirage_formula_approx
from quasiclassical.eilenberger import Components, SCBAResult, solve_real_axis
from quasiclassical.gap import GapSolution, solve_gap
from quasiclassical.params import FermiSurface, QCParams

__all__ = [
    "DELTA_BOUND",
    "DOSResult",
    "MirageFormula",
    "density_of_states",
    "energy_resolution_problem",
    "mirage_formula",
    "mirage_formula_approx",
]

#: Grid points required across the narrowest mirage gap (edge, inside, edge and one more).
POINTS_PER_WIDTH = 4


@dataclass(frozen=True)
class DOSResult:
    """Density of states and Green's-function components on a real energy grid.

    Attributes
    ----------
    energies : ndarray, shape (n,)
        Delta0.
    dos : ndarray, shape (n,)
        Fermi-surface averaged :math:`N_s = \\mathrm{Re}\\langle g_0\\rangle`.
    point_dos : ndarray, shape (p, n)
        :math:`\\mathrm{Re}\\,g_0` at each Fermi-surface point (valley K, K' for the paper's model).
    components : Components
        Arrays of shape (p, n), in the gauge *gauge*.
    delta : float
        The gap used, Delta0.
    gap : GapSolution or None
        The self-consistent solution (None when the gap was fixed by the caller).
    scba : SCBAResult
        Convergence information (``success``, ``iterations``, ``residual`` per energy).
    params : QCParams
    fermi_surface : FermiSurface
    """

    energies: np.ndarray
    dos: np.ndarray
    point_dos: np.ndarray
    components: Components
    delta: float
    gap: GapSolution | None
    scba: SCBAResult
    params: QCParams
    fermi_surface: FermiSurface

    @property
    def mirage(self):
        """The paper's exact mirage-gap formulas at ``(beta, B, delta)`` (`MirageFormula`)."""
        return mirage_formula(self.params.beta, self.params.field, self.delta)


#: Upper bound of the self-consistent gap, Delta0: its value at T = 0, B = 0, Gamma = 0
#: (temperature, field and intervalley disorder only lower it). The resolution check uses
#: it before the gap is solved, since the mirage-gap width grows with Delta.
DELTA_BOUND = 1.0


def energy_resolution_problem(energies, beta, field, delta, *, eta=0.0, gamma=0.0):
    """Why the grid cannot resolve the mirage gap, or None if it can (or there is none to see).

    The mirage gaps at ``+-eps0`` have the width ``w = eps1 - eps2`` (exact formula).
    Broadening smears the dip over about ``eta`` (Dynes: Lorentzian half-width) and
    ``Gamma`` (intervalley scattering fills it: half filled near ``Gamma ~ w/2``) on each
    side, so the visible feature is ``w_b = w + 2 (eta + Gamma)`` wide. A grid with spacing
    larger than ``w_b / POINTS_PER_WIDTH`` anywhere inside ``[eps2, eps1]`` (or
    ``[-eps1, -eps2]``) cannot show it. Nothing is required when there is no dip to
    resolve: ``B = 0`` or ``delta = 0`` (no mirage gap), ``w <= 2 (eta + Gamma)`` (washed
    out: the dip is less than half deep), or a grid that does not reach the gap.

    Parameters
    ----------
    energies : array_like, shape (n,)
        Sorted energies, Delta0.
    beta, field, delta : float
        Ising field, Zeeman energy and gap, Delta0.
    eta, gamma : float
        Dynes broadening and intervalley rate, Delta0.

    Returns
    -------
    str or None
    """
    energies = np.asarray(energies, dtype=float)
    formula = mirage_formula(beta, field, delta)
    width = float(formula.width)
    broadening = float(eta) + float(gamma)
    if width <= 2 * broadening or energies.size < 2:
        return None
    visible = width + 2 * broadening
    spacing = np.diff(energies)
    centres = 0.5 * (energies[1:] + energies[:-1])
    for lo, hi in ((formula.eps2, formula.eps1), (-formula.eps1, -formula.eps2)):
        inside = (centres >= lo) & (centres <= hi)
        if energies[0] > hi or energies[-1] < lo:
            continue
        if inside.any():
            worst = float(spacing[inside].max())
        else:  # the whole gap falls inside one grid interval
            k = int(np.clip(np.searchsorted(energies, 0.5 * (lo + hi)), 1, energies.size - 1))
            worst = float(spacing[k - 1])
        if worst > visible / POINTS_PER_WIDTH:
            needed = int(np.ceil((energies[-1] - energies[0]) * POINTS_PER_WIDTH / visible)) + 1
            return (
                f"energy spacing {worst:.4g} Delta0 is too coarse to resolve the mirage gap "
                f"at {0.5 * (lo + hi):+.4g} Delta0 of width {width:.4g} Delta0 (Delta = "
                f"{delta:.4g}), broadened by eta + Gamma = {broadening:.4g} to {visible:.4g}; "
                f"need spacing <= {visible:.4g}/{POINTS_PER_WIDTH} (for a uniform grid: "
                f"points >= {needed})"
            )
    return None


def density_of_states(energies, params, *, delta=None, fermi_surface=None, gauge="eq1",
                      gap_options=None, **scba_options):
    r"""DOS and components on real energies, with the gap self-consistent unless given.

    Parameters
    ----------
    energies : array_like, shape (n,)
        Real energies, Delta0.
    params : QCParams
        Needs ``eta > 0`` unless ``gamma > 0``.
    delta : float, optional
        Fix the gap (Delta0); default: `solve_gap` at ``(T, B, Gamma)`` of *params*.
    fermi_surface : FermiSurface, optional
        A distribution of Ising fields (values and weights) replacing the two valleys
        ``(+beta, -beta)``; both the DOS average and the SCBA average run over it.
    gauge : {"eq1", "eq8"}
        Gauge of the returned anomalous components (see `quasiclassical.eilenberger`).
    gap_options : dict, optional
        Passed to `solve_gap`.
    **scba_options
        Passed to `solve_scba` (``tol``, ``maxiter``, ``acceleration``, ``on_failure``).

    Returns
    -------
    DOSResult
    """
    energies = np.asarray(energies, dtype=float)
    if energies.ndim != 1:
        raise ParameterError("energies", "must be a 1-D array")
    check_finite("energies", energies)
    fs = params.fermi_surface() if fermi_surface is None else fermi_surface
    if delta is None:
        gap = solve_gap(params, fs, **(gap_options or {}))
        delta = gap.delta
    else:
        check_nonnegative("delta", delta)
        gap = None
    result = solve_real_axis(energies, float(delta), params, fs, **scba_options)
    comps = result.components(gauge)
    return DOSResult(
        energies=energies,
        dos=result.dos,
        point_dos=comps.g0.real,
        components=comps,
        delta=float(delta),
        gap=gap,
        scba=result,
        params=params,
        fermi_surface=fs,
    )
