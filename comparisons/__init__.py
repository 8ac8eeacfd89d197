"""Cross-checks of the Kwant lattice model against the quasiclassical solver.

The only package that imports both ``latticemirage`` and ``quasiclassical``.
"""
