"""Eilenberger (quasiclassical) solver for an Ising superconductor in an in-plane field.

Units: energies in Delta0 (the gap at T = 0, B = 0, Gamma = 0), temperatures in T_c0.
This package imports neither Kwant nor ``latticemirage`` (an import-linter contract,
docs/topics/architecture.md). Conventions (basis, branch rule, gauge, SCBA and its
scattering time) are in `quasiclassical.eilenberger`; point impurities beyond Born
(self-consistent T-matrix) in `quasiclassical.tmatrix`.

Modules, from the parameters up:

- `params` — `QCParams` (β, B, Γ, T in Δ0 and T_c0 units) and the Fermi-surface model;
- `eilenberger` — the matrix Eilenberger solution and the SCBA (real axis, Matsubara);
- `gap` — the self-consistent gap and the critical-field line;
- `tmatrix` — point impurities beyond Born (self-consistent T-matrix);
- `observables` — the DOS and its mirage gaps;
- `tunneling` — the thermally smeared tunneling conductance dI/dV;
- `fit` — the fit of β_so, Δ0, Γ to measured dI/dV(V, B);

The command lines ``mirage qc ...`` and ``mirage fit`` are `mirage_cli.qc` and
`mirage_cli.fit` (no module here imports them).
"""

from mirage_common.version import __version__
from quasiclassical.eilenberger import (
    Components,
    SCBAOptions,
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
from quasiclassical.tunneling import TunnelingResult, tunneling_conductance

__all__ = [
    "DELTA0_OVER_TC0",
    "Components",
    "DOSResult",
    "FermiSurface",
    "QCParams",
    "SCBAOptions",
    "SCBAResult",
    "TMatrixImpurities",
    "TunnelingResult",
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
    "tunneling_conductance",
]
