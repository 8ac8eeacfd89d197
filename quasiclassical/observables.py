r"""Observables: the density of states, all components of :math:`\hat g`, the mirage-gap formulas.

:math:`N_s(\varepsilon) = \mathrm{Re}\,g_0` per Fermi-surface point (for the paper's model:
per valley) and averaged with the Fermi-surface weights; the components follow
`quasiclassical.eilenberger.components` (Eq. (1) gauge by default). The exact and
approximate mirage-gap formulas of the paper live in `mirage_common.mirage` (shared
with the lattice side) and are re-exported here.

Units: energies in Delta0, temperatures in T_c0.
"""

from dataclasses import dataclass

import numpy as np

from mirage_common.errors import ParameterError, check_finite, check_nonnegative
from mirage_common.mirage import MirageFormula, mirage_formula, mirage_formula_approx
from quasiclassical.eilenberger import Components, SCBAResult, solve_real_axis
from quasiclassical.gap import GapSolution, solve_gap
from quasiclassical.params import FermiSurface, QCParams

__all__ = [
    "DOSResult",
    "MirageFormula",
    "check_energy_resolution",
    "density_of_states",
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


def check_energy_resolution(energies, beta, field, delta, *, name="points"):
    """Raise `ParameterError` if the grid cannot resolve the mirage gap width delta.

    The mirage gaps at ``+-eps0`` have the width ``eps1 - eps2`` (exact formula); a grid
    with spacing larger than ``width / POINTS_PER_WIDTH`` anywhere inside
    ``[eps2, eps1]`` (or ``[-eps1, -eps2]``) cannot show them. Grids that do not reach a
    mirage gap, and ``B = 0`` or ``delta = 0`` (no mirage gap), pass.

    Parameters
    ----------
    energies : array_like, shape (n,)
        Sorted energies, Delta0.
    beta, field, delta : float
        Ising field, Zeeman energy and gap, Delta0.
    name : str
        The parameter to blame (the CLI's ``points``).
    """
    energies = np.asarray(energies, dtype=float)
    formula = mirage_formula(beta, field, delta)
    width = float(formula.width)
    if width <= 0 or energies.size < 2:
        return
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
        if worst > width / POINTS_PER_WIDTH:
            needed = int(np.ceil((energies[-1] - energies[0]) * POINTS_PER_WIDTH / width)) + 1
            raise ParameterError(
                name,
                f"energy spacing {worst:.4g} Delta0 is too coarse to resolve the mirage gap "
                f"of width {width:.4g} Delta0 at {0.5 * (lo + hi):+.4g} Delta0; need spacing "
                f"<= width/{POINTS_PER_WIDTH} (for a uniform grid: points >= {needed})",
            )


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
