"""Eilenberger (quasiclassical) solver for an Ising superconductor in an in-plane field.

Units: energies in Delta0 (the gap at T = 0, B = 0, Gamma = 0), temperatures in T_c0.
This package imports neither Kwant nor ``latticemirage``.
"""

from mirage_common.version import __version__

__all__ = ["__version__"]
