"""Old name of `mirage_common.formulas` (the paper's mirage-gap formulas), kept as an alias.

``from mirage_common.mirage import mirage_formula`` keeps working for code written before
the rename; new code imports `mirage_common.formulas`.
"""

from mirage_common.formulas import *  # noqa: F403
from mirage_common.formulas import __all__  # noqa: F401
