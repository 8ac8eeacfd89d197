"""Tiny module shared by both sides: parameter errors, atomic result files, version.

It holds no physics of either side, so importing it keeps ``quasiclassical`` free of
Kwant and ``latticemirage`` free of the quasiclassical solver.
"""

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive
from mirage_common.io import read_table, write_table
from mirage_common.version import __version__

__all__ = [
    "ParameterError",
    "__version__",
    "check_finite",
    "check_nonnegative",
    "check_positive",
    "read_table",
    "write_table",
]
