"""What both sides share: the paper's formulas, units and material presets, and the plumbing.

Physics shared by the lattice and the quasiclassical side (and the comparisons):

- `formulas` — the paper's mirage-gap formulas (exact at ξ = 0, Eqs. (5)-(6)) and the
  extractor that finds mirage gaps in a DOS curve (``mirage_common.mirage`` is its old
  name, kept as an alias);
- `units` — the physical scale (meV, K, T) of the reduced units (Δ0, T_c0);
- `materials` — the material presets (β_so, T_c, g) with their sources.

Plumbing every package uses:

- `errors` — `ParameterError` and the range checks (bad input names its parameter);
- `io` — atomic CSV/JSON/NPZ result files with their parameters and version;
- `statistics` — jackknife, ratio of averages, standard errors over samples;
- `parallel` — the core count and the executors of ``--workers/--scheduler/--mpi``;
- `version` — the package version.

It imports neither Kwant nor `latticemirage` nor `quasiclassical` (an import-linter
contract, docs/topics/architecture.md), so both sides can depend on it and stay
independent of each other.
"""

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive
from mirage_common.formulas import (
    MirageFormula,
    MirageGap,
    mirage_formula,
    mirage_formula_approx,
    mirage_gap,
)
from mirage_common.io import read_table, write_table
from mirage_common.materials import MATERIALS, Material, get_material
from mirage_common.units import DELTA0_OVER_TC0, PhysicalScale
from mirage_common.version import __version__

__all__ = [
    "DELTA0_OVER_TC0",
    "MATERIALS",
    "Material",
    "MirageFormula",
    "MirageGap",
    "ParameterError",
    "PhysicalScale",
    "__version__",
    "check_finite",
    "check_nonnegative",
    "check_positive",
    "get_material",
    "mirage_formula",
    "mirage_formula_approx",
    "mirage_gap",
    "read_table",
    "write_table",
]
