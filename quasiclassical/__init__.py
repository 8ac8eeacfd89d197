"""Eilenberger (quasiclassical) solver for an Ising superconductor in an in-plane field.

Units: energies in Delta0 (the gap at T = 0, B = 0, Gamma = 0), temperatures in T_c0.
This package imports neither Kwant nor ``latticemirage``. Conventions (basis, branch
rule, gauge, SCBA and its scattering time) are in `quasiclassical.eilenberger`; point
impurities beyond Born (self-consistent T-matrix) in `quasiclassical.tmatrix`.
"""

from mirage_common.version import __version__
from quasiclassical.eilenberger import (
    Components,
    SCBAResult,
    components,
    sign_retarded,
    solve_matsubara,
    solve_real_axis,
)
from quasiclassical.gap import critical_field, critical_field_line, solve_gap
from quasiclassical.observables import DOSResult, density_of_states
from quasiclassical.params import DELTA0_OVER_TC0, FermiSurface, QCParams
from quasiclassical.tmatrix import TMatrixImpurities, tmatrix_self_energy

__all__ = [
    "DELTA0_OVER_TC0",
    "Components",
    "DOSResult",
    "FermiSurface",
    "QCParams",
    "SCBAResult",
    "TMatrixImpurities",
    "__version__",
    "components",
    "critical_field",
    "critical_field_line",
    "density_of_states",
    "sign_retarded",
    "solve_gap",
    "solve_matsubara",
    "solve_real_axis",
    "tmatrix_self_energy",
]
