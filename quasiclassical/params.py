r"""Parameter sets of the quasiclassical solver, validated once when they are made.

Units (the whole package): energies in :math:`\Delta_0`, the gap at ``T = 0``,
``B = 0``, ``Gamma = 0``; temperatures in :math:`T_{c0}`, the transition temperature
at ``B = 0``, ``Gamma = 0``. They are related by the BCS ratio
:math:`\Delta_0 = \pi e^{-\gamma_E} T_{c0} \approx 1.764\,T_{c0}` (`DELTA0_OVER_TC0`).
"""

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive
from quasiclassical.tmatrix import TMatrixImpurities

__all__ = ["DELTA0_OVER_TC0", "FermiSurface", "QCParams", "temperature_in_delta0"]

#: BCS ratio :math:`\Delta_0 / T_{c0} = \pi e^{-\gamma_E}` (weak coupling).
DELTA0_OVER_TC0 = math.pi * math.exp(-np.euler_gamma)


def temperature_in_delta0(temperature):
    """Convert a temperature from units of T_c0 to units of Delta0 (``T / 1.764``)."""
    return np.asarray(temperature, dtype=float) / DELTA0_OVER_TC0


@dataclass(frozen=True)
class FermiSurface:
    r"""A distribution of Ising spin-orbit fields over the Fermi surface.

    Each Fermi-surface point ``j`` carries a *signed* Ising field ``betas[j]``
    (``s beta`` in the paper, the sign is the valley) and a weight ``weights[j]``
    (its share of the normal density of states at the Fermi level). The two-valley
    model of the paper is `two_valley`; a lattice Fermi surface with trigonal
    warping is a longer list.

    Parameters
    ----------
    betas : array_like, shape (p,)
        Signed Ising field at each point, in Delta0 (any finite value).
    weights : array_like, shape (p,), optional
        Non-negative weights; normalized to sum 1. Default: equal weights.
    valleys : array_like of int, shape (p,), optional
        Valley label (+1 for K, -1 for K') of each point; only intravalley
        scattering (``gamma_intra``) uses it. Default: the sign of ``betas``
        (``+1`` for ``beta = 0``).

    Attributes
    ----------
    betas, weights : ndarray, shape (p,)
        Read-only; ``weights.sum() == 1``.
    valleys : ndarray of int, shape (p,)
    """

    betas: np.ndarray
    weights: np.ndarray = field(default=None)
    valleys: np.ndarray = field(default=None)

    def __post_init__(self):
        betas = np.atleast_1d(np.asarray(self.betas, dtype=float))
        if betas.ndim != 1 or betas.size == 0:
            raise ParameterError("betas", "must be a non-empty 1-D sequence of Ising fields")
        check_finite("betas", betas)
        if self.weights is None:
            weights = np.full(betas.shape, 1.0 / betas.size)
        else:
            weights = np.atleast_1d(np.asarray(self.weights, dtype=float))
            if weights.shape != betas.shape:
                raise ParameterError(
                    "weights", f"must have the shape of betas {betas.shape}, got {weights.shape}"
                )
            check_nonnegative("weights", weights)
            total = weights.sum()
            if total <= 0:
                raise ParameterError("weights", "must have a positive sum")
            weights = weights / total
        if self.valleys is None:
            valleys = np.where(betas >= 0, 1, -1)
        else:
            valleys = np.atleast_1d(np.asarray(self.valleys))
            if valleys.shape != betas.shape or not np.all(np.isin(valleys, (-1, 1))):
                raise ParameterError("valleys", "must be +1 or -1 for every Fermi-surface point")
            valleys = valleys.astype(int)
        for name, arr in (("betas", betas), ("weights", weights), ("valleys", valleys)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def two_valley(cls, beta):
        """The paper's model: ``+beta`` in valley K, ``-beta`` in K', weight 1/2 each."""
        check_nonnegative("beta", beta)
        return cls(betas=(beta, -beta), weights=(0.5, 0.5), valleys=(1, -1))

    def __len__(self):
        return self.betas.size

    @property
    def max_abs_beta(self):
        """Largest ``|beta|`` on the Fermi surface (sets the energy scale of the sums)."""
        return float(np.max(np.abs(self.betas)))


@dataclass(frozen=True)
class QCParams:
    r"""Physical parameters of the homogeneous Ising superconductor.

    All energies in Delta0, the temperature in T_c0 (see the module docstring).

    Parameters
    ----------
    beta : float
        Ising spin-orbit field :math:`\beta_{so} \ge 0` (valley K has ``+beta``).
    field : float
        In-plane Zeeman energy :math:`B \ge 0` (``g mu_B / 2`` absorbed).
    phi : float
        Angle of the in-plane field from the x axis, radians (the paper has 0).
    temperature : float
        :math:`T / T_{c0} > 0`.
    gamma : float
        Impurity rate :math:`\Gamma \ge 0` of :math:`\hat\Sigma = -i\Gamma\langle\hat g\rangle`
        (``Gamma = 1/tau_iv``, see `quasiclassical.eilenberger`).
    eta : float
        Dynes broadening :math:`\eta \ge 0`, ``eps -> eps + i eta`` on the real axis only.
    gamma_intra : float
        Extra purely intravalley rate :math:`\ge 0` (smooth disorder); it drops out for
        a single beta per valley (Anderson's theorem). Default 0 (the paper's model).
    impurities : TMatrixImpurities, optional
        Point impurities in the self-consistent T-matrix approximation
        (`quasiclassical.tmatrix`), added to the Born self-energy of ``gamma`` and
        ``gamma_intra``; a dict as written by `as_dict` is accepted. Default None: Born only.
    """

    beta: float = 0.0
    field: float = 0.0
    phi: float = 0.0
    temperature: float = 0.1
    gamma: float = 0.0
    eta: float = 0.0
    gamma_intra: float = 0.0
    impurities: TMatrixImpurities | None = None

    def __post_init__(self):
        for name in ("beta", "field", "gamma", "eta", "gamma_intra"):
            check_nonnegative(name, getattr(self, name))
        check_finite("phi", self.phi)
        check_positive("temperature", self.temperature)
        for name in ("beta", "field", "phi", "temperature", "gamma", "eta", "gamma_intra"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if isinstance(self.impurities, dict):
            object.__setattr__(self, "impurities", TMatrixImpurities.from_dict(self.impurities))
        elif self.impurities is not None and not isinstance(self.impurities, TMatrixImpurities):
            raise ParameterError(
                "impurities", f"must be None or a TMatrixImpurities, got {self.impurities!r}"
            )

    def replace(self, **changes):
        """A copy with *changes* applied (and validated again)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self):
        """The parameters as a plain dict (for result metadata).

        ``impurities`` appears only when set (as `TMatrixImpurities.as_dict`), so the
        metadata of Born-only parameters is what it always was.
        """
        out = {
            "beta": self.beta,
            "field": self.field,
            "phi": self.phi,
            "temperature": self.temperature,
            "gamma": self.gamma,
            "eta": self.eta,
            "gamma_intra": self.gamma_intra,
        }
        if self.impurities is not None:
            out["impurities"] = self.impurities.as_dict()
        return out

    def fermi_surface(self):
        """The two-valley Fermi surface ``(+beta, -beta)`` of these parameters."""
        return FermiSurface.two_valley(self.beta)
