"""Disorder on periodic supercells: potentials, the supercell BdG matrix, KPM,
measured scattering rates and resumable studies.

Submodules, each importing only those above it and the clean model:

- `potentials` — the disorder kinds (point impurities, Anderson, smooth) and the
  realization seeds ``SeedSequence([seed, index])``;
- `supercell` — the L x L supercell BdG matrix derived from the Builder;
- `kpm` — Chebyshev moments and the KPM DOS: one driver over a step hook, the
  compiled numba step (`_kpm_numba`) or the scipy.sparse reference step;
- `rates` — Γ measured from the disorder-averaged Green's function;
- `selfenergy` — the disorder-averaged 4 × 4 Nambu G(k) (sparse LU), the measured
  superconducting self-energy Σ̂ at k_F and the dirty valley components;
- `selfconsistent` — the self-consistent gap (uniform Δ, site-resolved Δ_i) of a
  realization, with the pairing cutoff as a spectral projector in real space;
- `validity` — the validity and resolution rules of a disorder comparison (verdict);
- `study` — the resumable, executor-agnostic DOS study (optionally self-consistent).

The disorder kinds are re-exported here, so ``from latticemirage.disorder import
PointImpurities`` works as before the package split.
"""

from latticemirage.disorder.potentials import *  # noqa: F403
from latticemirage.disorder.potentials import __all__ as _potentials_all

__all__ = list(_potentials_all)
