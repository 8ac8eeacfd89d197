r"""The paper's mirage-gap formulas (Tang, Bruder, Belzig, PRL 126, 237001 (2021)).

Shared by both sides and the comparisons; any consistent energy unit works
(Delta0 on the quasiclassical side, t on the lattice side).

Exact: the BdG eigenvalues at xi_p = 0 are ``eps_{1,2} = sqrt(beta^2 + (B +- Delta)^2)``;
the mirage gaps sit at ``+-eps0`` with ``eps0 = (eps1 + eps2)/2`` and have width
``delta = eps1 - eps2``. Approximations for ``beta >> Delta``: Eq. (5)
``eps0 ~ sqrt(beta^2 + B^2)`` and Eq. (6) ``delta ~ 2 Delta B / sqrt(beta^2 + B^2)``.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["MirageFormula", "mirage_formula", "mirage_formula_approx"]


@dataclass(frozen=True)
class MirageFormula:
    """Mirage-gap energies from the paper's formulas (same unit as the inputs).

    Attributes
    ----------
    eps1, eps2 : float or ndarray
        Upper and lower mirage-gap edges on the positive-energy side.
    eps0 : float or ndarray
        Centre ``(eps1 + eps2)/2``.
    width : float or ndarray
        ``delta = eps1 - eps2`` (>= 0 for B, Delta >= 0).
    """

    eps1: float
    eps2: float
    eps0: float
    width: float


def mirage_formula(beta, B, delta):
    """Exact mirage-gap edges, centre and width (paper, text below Table I).

    Parameters
    ----------
    beta, B, delta : float or array_like
        Ising SOC, in-plane Zeeman energy and gap, all in one energy unit.
    """
    beta, B, delta = (np.asarray(x, dtype=float) for x in (beta, B, delta))
    eps1 = np.sqrt(beta**2 + (B + delta) ** 2)
    eps2 = np.sqrt(beta**2 + (B - delta) ** 2)
    return MirageFormula(eps1=eps1, eps2=eps2, eps0=0.5 * (eps1 + eps2), width=eps1 - eps2)


def mirage_formula_approx(beta, B, delta):
    """Eqs. (5)-(6): ``eps0 ~ sqrt(beta^2 + B^2)``, ``delta ~ 2 Delta B / eps0``.

    Valid for ``beta >> Delta``; returns ``(eps0, width)``.
    """
    beta, B, delta = (np.asarray(x, dtype=float) for x in (beta, B, delta))
    eps0 = np.sqrt(beta**2 + B**2)
    return eps0, 2 * delta * B / eps0
