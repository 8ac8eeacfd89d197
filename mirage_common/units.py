r"""Physical units (meV, kelvin, tesla) as a thin layer over the dimensionless core.

The cores compute in reduced units: energies in :math:`\Delta_0` (the gap at T = 0,
B = 0, Gamma = 0), temperatures in :math:`T_{c0}`, fields as the Zeeman energy B in
:math:`\Delta_0`. Physical units appear only at the edge (CLI, files), through a
`PhysicalScale`:

- energies: :math:`E[\Delta_0] = E[\mathrm{meV}] / \Delta_0[\mathrm{meV}]`;
- temperatures: :math:`T[T_{c0}] = T[\mathrm K] / T_{c0}[\mathrm K]`;
- fields: the paper absorbs :math:`g\mu_B/2` into B (its Zeeman term is
  :math:`-B\sigma_x`), so :math:`B[\Delta_0] = g\,\mu_B\,B[\mathrm T] / (2\Delta_0)`;
- :math:`\Delta_0 = \pi e^{-\gamma_E} k_B T_{c0} \approx 1.764\,k_B T_{c0}`, the weak-coupling
  BCS ratio that the quasiclassical gap equation obeys exactly (`DELTA0_OVER_TC0`, equal to
  ``quasiclassical.params.DELTA0_OVER_TC0``; this module does not import the solver).
  Strong-coupling materials have a larger measured ratio; giving both is then
  inconsistent with the model and is refused (give one, the other is derived).

Constants are CODATA values from `scipy.constants`: :math:`k_B` = 0.0861733 meV/K,
:math:`\mu_B` = 0.0578838 meV/T.
"""

import math
from dataclasses import dataclass

import numpy as np
import scipy.constants as _sc

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive

__all__ = ["BOHR_MAGNETON_MEV_PER_T", "BOLTZMANN_MEV_PER_K", "DELTA0_OVER_TC0", "PhysicalScale"]

#: :math:`k_B` in meV/K (CODATA, scipy.constants).
BOLTZMANN_MEV_PER_K = _sc.k / _sc.e * 1e3
#: :math:`\mu_B` in meV/T (CODATA, scipy.constants).
BOHR_MAGNETON_MEV_PER_T = _sc.physical_constants["Bohr magneton in eV/T"][0] * 1e3
#: Weak-coupling BCS ratio :math:`\Delta_0/k_BT_{c0} = \pi e^{-\gamma_E}` (the solver's).
DELTA0_OVER_TC0 = math.pi * math.exp(-np.euler_gamma)


@dataclass(frozen=True)
class PhysicalScale:
    r"""The energy scale that turns reduced units into meV, K and tesla.

    Give exactly one of *delta0_meV* and *tc_K*; the other follows from
    :math:`\Delta_0 = 1.764\,k_BT_{c0}`.

    Parameters
    ----------
    delta0_meV : float, optional
        :math:`\Delta_0` in meV (> 0).
    tc_K : float, optional
        :math:`T_{c0}` in kelvin (> 0).
    g_factor : float
        Landé g of the in-plane Zeeman coupling (> 0; default 2, the free-electron value).

    Attributes
    ----------
    delta0_meV, tc_K, g_factor : float
        Both scales are filled in after construction.
    """

    delta0_meV: float | None = None
    tc_K: float | None = None
    g_factor: float = 2.0

    def __post_init__(self):
        if self.delta0_meV is None and self.tc_K is None:
            raise ParameterError(
                "tc-K", "physical units need the energy scale: give --tc-K or --delta0-meV "
                "(or --material)"
            )
        if self.delta0_meV is not None and self.tc_K is not None:
            raise ParameterError(
                "delta0-meV", "give either --tc-K or --delta0-meV, not both: the model fixes "
                f"Delta0 = {DELTA0_OVER_TC0:.4f} k_B T_c0 (weak coupling)"
            )
        if self.g_factor is None:
            raise ParameterError("g-factor", "fields in tesla need a g-factor (> 0)")
        check_positive("g-factor", self.g_factor)
        if self.delta0_meV is not None:
            check_positive("delta0-meV", self.delta0_meV)
            delta0 = float(self.delta0_meV)
            tc = delta0 / (DELTA0_OVER_TC0 * BOLTZMANN_MEV_PER_K)
        else:
            check_positive("tc-K", self.tc_K)
            tc = float(self.tc_K)
            delta0 = DELTA0_OVER_TC0 * BOLTZMANN_MEV_PER_K * tc
        object.__setattr__(self, "delta0_meV", delta0)
        object.__setattr__(self, "tc_K", tc)
        object.__setattr__(self, "g_factor", float(self.g_factor))

    # -- energies ------------------------------------------------------------------
    def energy_to_reduced(self, meV, name="energy"):
        """Energies in meV -> Delta0 (finite values)."""
        check_finite(name, meV)
        return np.asarray(meV, dtype=float) / self.delta0_meV

    def energy_to_meV(self, reduced):
        """Energies in Delta0 -> meV."""
        return np.asarray(reduced, dtype=float) * self.delta0_meV

    # -- temperatures --------------------------------------------------------------
    def temperature_to_reduced(self, kelvin, name="temperature-K"):
        """Temperatures in K -> T_c0 (must be > 0)."""
        check_positive(name, kelvin)
        return np.asarray(kelvin, dtype=float) / self.tc_K

    def temperature_to_K(self, reduced):
        """Temperatures in T_c0 -> K."""
        return np.asarray(reduced, dtype=float) * self.tc_K

    # -- fields --------------------------------------------------------------------
    @property
    def tesla_per_reduced_field(self):
        r"""Tesla per unit of reduced field: :math:`2\Delta_0 / (g\mu_B)`."""
        return 2.0 * self.delta0_meV / (self.g_factor * BOHR_MAGNETON_MEV_PER_T)

    def field_to_reduced(self, tesla, name="field-T"):
        r"""In-plane fields in tesla (>= 0) -> Zeeman energy :math:`g\mu_B B/2` in Delta0."""
        check_nonnegative(name, tesla)
        return np.asarray(tesla, dtype=float) / self.tesla_per_reduced_field

    def field_to_tesla(self, reduced):
        """Zeeman energies in Delta0 -> fields in tesla."""
        return np.asarray(reduced, dtype=float) * self.tesla_per_reduced_field

    def as_dict(self):
        """The scale and the conversion factors, for result metadata."""
        return {
            "delta0_meV": self.delta0_meV,
            "tc_K": self.tc_K,
            "g_factor": self.g_factor,
            "delta0_over_kB_tc0": DELTA0_OVER_TC0,
            "tesla_per_reduced_field": self.tesla_per_reduced_field,
            "constants": f"CODATA (scipy.constants): k_B = {BOLTZMANN_MEV_PER_K:.9g} meV/K, "
                         f"mu_B = {BOHR_MAGNETON_MEV_PER_T:.9g} meV/T",
            "field_convention": "B[Delta0] = g mu_B B[T] / (2 Delta0)",
        }
