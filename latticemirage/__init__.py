"""Kwant tight-binding Bogoliubov-de Gennes model of an Ising superconductor.

Units: lattice energies in the nearest-neighbour hopping t, lengths in the lattice
constant a = 1. The mapping to the quasiclassical units (Delta0, T_c0) lives in
`latticemirage.mapping`.
"""

import warnings

from mirage_common.version import __version__

# Kwant warns at import when it was built without MUMPS. latticemirage's NS-junction
# transport defaults to its own batched solver (latticemirage._modematch) and uses
# kwant.smatrix only on request (solver="mumps"/"sparse"/"default"), so the warning is
# noise here; `mirage doctor` reports MUMPS.
warnings.filterwarnings("ignore", message="MUMPS is not available", category=RuntimeWarning)

__all__ = ["__version__"]
