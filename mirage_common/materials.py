r"""Material presets: Ising spin-orbit field, T_c and g-factor of monolayer TMD superconductors.

Each preset cites the publication its numbers come from and states how they were
obtained and how uncertain they are. They are starting points (e.g. for ``mirage qc
tunneling --material MoS2`` or the starting values of ``mirage fit``), not measured
constants of a given device: T_c depends on gating and substrate, and the Ising field
of the two-valley model is an average over the K pockets at the Fermi level.

Conventions: ``beta_so_meV`` is :math:`\beta_{so}` of the paper's Eq. (1), i.e. *half*
the spin splitting of a K-pocket band (the normal-state splitting is
:math:`2\sqrt{\beta_{so}^2 + B^2}`). An "effective spin-orbit field" :math:`B_{so}` quoted
in tesla corresponds to :math:`\beta_{so} = g\mu_B B_{so}/2 = \mu_B B_{so}` for g = 2.
The g-factor is the free-electron value 2 unless a measurement says otherwise: none of
the cited works measured it, all analyse their data with g = 2.

The two-valley quasiclassical model assumes :math:`\Delta, B \ll \beta_{so} \ll E_F`
and only K/K' pockets; `Material.assumption_notes` says where a preset departs from that.
"""

from dataclasses import dataclass

from mirage_common.errors import ParameterError
from mirage_common.units import BOHR_MAGNETON_MEV_PER_T, PhysicalScale

__all__ = ["MATERIALS", "Material", "get_material"]


@dataclass(frozen=True)
class Material:
    """A monolayer Ising superconductor preset.

    Attributes
    ----------
    name : str
        Key for ``--material``.
    description : str
    tc_K : float
        Transition temperature at B = 0 (K).
    beta_so_meV : float
        Ising spin-orbit field (half the K-pocket spin splitting), meV.
    g_factor : float
    sources : tuple of str
        Full citations.
    provenance : str
        Where each number comes from and its uncertainty.
    assumption_notes : tuple of str
        Where the material departs from the two-valley model (empty if it does not).
    """

    name: str
    description: str
    tc_K: float
    beta_so_meV: float
    g_factor: float
    sources: tuple
    provenance: str
    assumption_notes: tuple = ()

    def scale(self, g_factor=None):
        """The `PhysicalScale` of this preset (T_c given, Delta0 derived)."""
        return PhysicalScale(tc_K=self.tc_K, g_factor=self.g_factor if g_factor is None
                             else g_factor)

    def beta_reduced(self, scale=None):
        """:math:`\\beta_{so}` in Delta0 of *scale* (default this preset's own)."""
        scale = self.scale() if scale is None else scale
        return float(self.beta_so_meV / scale.delta0_meV)

    @property
    def spin_orbit_field_T(self):
        """The effective Ising field :math:`2\\beta_{so}/(g\\mu_B)` in tesla."""
        return 2 * self.beta_so_meV / (self.g_factor * BOHR_MAGNETON_MEV_PER_T)

    def as_dict(self):
        """The preset for result metadata."""
        return {
            "name": self.name,
            "description": self.description,
            "tc_K": self.tc_K,
            "beta_so_meV": self.beta_so_meV,
            "g_factor": self.g_factor,
            "sources": list(self.sources),
            "provenance": self.provenance,
            "assumption_notes": list(self.assumption_notes),
        }


_LU_2015 = ("J. M. Lu, O. Zheliuk, I. Leermakers, N. F. Q. Yuan, U. Zeitler, K. T. Law, "
            "J. T. Ye, Evidence for two-dimensional Ising superconductivity in gated MoS2, "
            "Science 350, 1353 (2015)")
_SAITO_2016 = ("Y. Saito et al., Superconductivity protected by spin-valley locking in ion-gated "
               "MoS2, Nat. Phys. 12, 144 (2016)")
_XI_2016 = ("X. Xi, Z. Wang, W. Zhao, J.-H. Park, K. T. Law, H. Berger, L. Forro, J. Shan, "
            "K. F. Mak, Ising pairing in superconducting NbSe2 atomic layers, "
            "Nat. Phys. 12, 139 (2016)")
_DLB_2018 = ("S. C. de la Barrera et al., Tuning Ising superconductivity with layer and spin-orbit "
             "coupling in two-dimensional transition-metal dichalcogenides, "
             "Nat. Commun. 9, 1427 (2018)")

_GAMMA_POCKET = (
    "{name} has a hole pocket around Gamma, whose Ising spin-orbit coupling vanishes along "
    "Gamma-M, besides the K/K' pockets; the two-valley model has no Gamma pocket: the weakly "
    "protected Gamma states lower the real B_c2 and add in-gap states at finite field that the "
    "model lacks, and the mirage feature in a measured dI/dV carries only the K pockets' share "
    "of the DOS"
)
_LARGE_BETA = (
    "beta_so ~ {beta:.0f} meV is ~{ratio:.0f} Delta0: the mirage gaps sit near +-beta_so, "
    "far outside the main gap, and their width 2 Delta B / beta_so is only "
    "~{width:.2g} ueV per tesla; resolving them needs fields of tens of tesla (or an "
    "exchange field) and sub-kelvin temperatures"
)


def _large_beta_note(name, tc, beta, g=2.0):
    scale = PhysicalScale(tc_K=tc, g_factor=g)
    per_tesla = 2 * scale.delta0_meV * (g * BOHR_MAGNETON_MEV_PER_T / 2) / beta * 1e3
    return _LARGE_BETA.format(beta=beta, ratio=beta / scale.delta0_meV, width=per_tesla)


MATERIALS = {
    "MoS2": Material(
        name="MoS2",
        description="ionic-liquid gated MoS2 (superconducting surface monolayer), electron "
                    "pockets at K/K'",
        tc_K=10.0,
        beta_so_meV=3.0,
        g_factor=2.0,
        sources=(_LU_2015, _SAITO_2016),
        provenance=(
            "T_c ~ 10 K: near the top of the gating dome in both cited works (device "
            "dependent, uncertainty +-1.5 K; take your own device's T_c). beta_so: Saito et "
            "al. quote a conduction-band spin splitting of ~3 meV at K (DFT), i.e. beta_so "
            "~ 1.5 meV at the band bottom; Lu et al. describe an effective Zeeman field of "
            "'nearly a hundred tesla' at their gated Fermi level, i.e. beta_so = mu_B x ~100 T "
            "~ 5.8 meV. The preset takes 3 meV, inside that range; uncertainty a factor ~2. "
            "g = 2 (assumed in both works)."
        ),
    ),
    "NbSe2": Material(
        name="NbSe2",
        description="monolayer 2H-NbSe2 (hole pockets at K/K' and Gamma)",
        tc_K=3.0,
        beta_so_meV=38.0,
        g_factor=2.0,
        sources=(_XI_2016, _DLB_2018),
        provenance=(
            "T_c ~ 3 K for the monolayer in both cited works (+-0.5 K between devices). "
            "beta_so: the K-pocket spin splitting used to describe the in-plane B_c2 of "
            "monolayers is of order 70-80 meV (first-principles value used by Xi et al.), "
            "i.e. beta_so ~ 38 meV, uncertainty +-30 %. g = 2 (assumed)."
        ),
        assumption_notes=(
            _GAMMA_POCKET.format(name="NbSe2"),
            _large_beta_note("NbSe2", 3.0, 38.0),
            "NbSe2 is moderately strong-coupling (measured 2Delta/k_B T_c above the BCS 3.53); "
            "the model fixes Delta0 = 1.764 k_B T_c0",
        ),
    ),
    "TaS2": Material(
        name="TaS2",
        description="monolayer 2H-TaS2 (hole pockets at K/K' and Gamma)",
        tc_K=3.4,
        beta_so_meV=60.0,
        g_factor=2.0,
        sources=(_DLB_2018,),
        provenance=(
            "T_c ~ 3.4 K for the monolayer (de la Barrera et al.: T_c rises as TaS2 is "
            "thinned; uncertainty +-0.5 K). beta_so: de la Barrera et al. attribute the "
            "larger Ising protection of TaS2 relative to NbSe2 to its larger spin-orbit "
            "coupling (heavier Ta); the preset takes beta_so ~ 60 meV (K-pocket splitting "
            "~120 meV), an order-of-magnitude value, uncertainty +-40 %. g = 2 (assumed)."
        ),
        assumption_notes=(
            _GAMMA_POCKET.format(name="TaS2"),
            _large_beta_note("TaS2", 3.4, 60.0),
        ),
    ),
}


def get_material(name):
    """The preset called *name* (case-insensitive).

    Raises
    ------
    ParameterError
        For an unknown name, listing the known ones.
    """
    for key, material in MATERIALS.items():
        if key.lower() == str(name).lower():
            return material
    raise ParameterError("material", f"unknown material {name!r}; known: {', '.join(MATERIALS)}")
