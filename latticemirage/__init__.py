"""Kwant tight-binding Bogoliubov-de Gennes model of an Ising superconductor.

Units: lattice energies in the nearest-neighbour hopping t, lengths in the lattice
constant a = 1. The mapping to the quasiclassical units (Delta0, T_c0) lives in
`latticemirage.mapping`.
"""

from mirage_common.version import __version__

__all__ = ["__version__"]
