r"""Material presets: Ising spin-orbit field, T_c and g-factor of monolayer TMD superconductors.

Each preset cites, number by number (`Material.field_sources`), the publication, the
figure/table/page, what it states, the convention converted (spin splitting 2 beta_so vs
beta_so) and whether the statement was verified in the source or is ``unverified`` (with
the reason); `Material.provenance` sums up the uncertainty. They are starting points
(e.g. for ``mirage qc tunneling --material MoS2`` or the starting values of ``mirage
fit``), not measured constants of a given device: T_c depends on gating and substrate,
and the Ising field of the two-valley model is an average over the K pockets at the
Fermi level.

Conventions: ``beta_so_meV`` is :math:`\beta_{so}` of the paper's Eq. (1), i.e. *half*
the spin splitting of a K-pocket band (the normal-state splitting is
:math:`2\sqrt{\beta_{so}^2 + B^2}`). An "effective spin-orbit field" :math:`B_{so}` quoted
in tesla corresponds to :math:`\beta_{so} = g\mu_B B_{so}/2 = \mu_B B_{so}` for g = 2.
The g-factor is the free-electron value 2 unless a measurement says otherwise: none of
the cited works measured it, all analyse their data with g = 2.

The two-valley quasiclassical model assumes :math:`\Delta, B \ll \beta_{so} \ll E_F`
and only K/K' pockets; `Material.assumption_notes` says where a preset departs from that.
"""

from dataclasses import dataclass, field

from mirage_common.errors import ParameterError
from mirage_common.units import BOHR_MAGNETON_MEV_PER_T, PhysicalScale

__all__ = ["MATERIALS", "PRESET_FIELDS", "Material", "Source", "get_material"]

#: The numbers of a preset; each has a `Source`.
PRESET_FIELDS = ("tc_K", "beta_so_meV", "g_factor")


@dataclass(frozen=True)
class Source:
    """Where one number of a preset comes from.

    Attributes
    ----------
    citation : str
        Full reference (or ``"assumption"`` with what is assumed).
    where : str
        Figure, table, page or section of the source that states the number (or
        ``"abstract"``).
    states : str
        What the source states, in its own convention and units.
    conversion : str
        How that becomes the preset's number (e.g. beta_so = splitting / 2).
    status : str
        ``"verified"`` (the statement was read in the source) or ``"unverified: "``
        followed by the reason.
    """

    citation: str
    where: str
    states: str
    conversion: str
    status: str

    def __post_init__(self):
        for name in ("citation", "where", "states", "conversion"):
            if not getattr(self, name).strip():
                raise ParameterError("material", f"source: empty {name}")
        if not (self.status == "verified" or (self.status.startswith("unverified: ")
                                              and len(self.status) > len("unverified: ") + 10)):
            raise ParameterError("material", "source status must be 'verified' or "
                                 f"'unverified: <reason>', got {self.status!r}")

    def as_dict(self):
        return {"citation": self.citation, "where": self.where, "states": self.states,
                "conversion": self.conversion, "status": self.status}


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
    field_sources : dict
        For each of `PRESET_FIELDS`: its `Source` (paper, figure/table/page, what it
        states, the convention converted, verified or not).
    """

    name: str
    description: str
    tc_K: float
    beta_so_meV: float
    g_factor: float
    sources: tuple
    provenance: str
    assumption_notes: tuple = ()
    field_sources: dict = field(default_factory=dict)

    def __post_init__(self):
        missing = [f for f in PRESET_FIELDS if not isinstance(self.field_sources.get(f), Source)]
        if missing:
            raise ParameterError("material", f"{self.name}: no source for {', '.join(missing)}")

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
            "field_sources": {k: v.as_dict() for k, v in self.field_sources.items()},
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
_YANG_2018 = ("Y. Yang, S. Fang, V. Fatemi, J. Ruhman, E. Navarro-Moratalla, K. Watanabe, "
              "T. Taniguchi, E. Kaxiras, P. Jarillo-Herrero, Enhanced superconductivity upon "
              "weakening of charge density wave transport in 2H-TaS2 in the two-dimensional "
              "limit, Phys. Rev. B 98, 035203 (2018), arXiv:1711.00079")
_NPJ_2018 = ("Anisotropic band splitting in monolayer NbSe2, npj 2D Mater. Appl. 2, 12 (2018), "
             "doi:10.1038/s41699-018-0057-3")
_G_ASSUMED = Source(
    citation="assumption: free-electron g = 2",
    where="none of the cited works measured g; all analyse their data with g = 2",
    states="g = 2 (spin-only Zeeman coupling)",
    conversion="none",
    status="unverified: an assumption, not a measurement; give --g-factor if yours differs",
)


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
        beta_so_meV=6.5,
        g_factor=2.0,
        sources=(_SAITO_2016, _LU_2015),
        provenance=(
            "beta_so = 6.5 meV: half the ~13 meV spin splitting at the Fermi level of gated "
            "MoS2 (9-15 meV with carrier density; Saito et al. and their APS March Meeting "
            "2016 abstract, as read in issue #23; not re-read here). The 3 meV of Saito et "
            "al.'s introduction is the splitting at the conduction-band bottom (their ref. "
            "22), which the earlier preset took for beta_so: wrong twice (band bottom, and "
            "splitting not beta). Cross-check: Lu et al.'s abstract gives an effective "
            "Zeeman field of 'nearly a hundred tesla', beta_so = mu_B x 100 T = 5.8 meV "
            "(g = 2). Uncertainty +-2.5 meV (the density range). T_c ~ 10 K near the top of "
            "the gating dome (device dependent, uncertainty +-1.5 K; take your own device's "
            "T_c). g = 2 (assumed in both works)."
        ),
        field_sources={
            "tc_K": Source(
                citation=_SAITO_2016 + "; " + _LU_2015,
                where="not located: the abstracts give B_c2 (~52 T at 1.5 K, Saito) but "
                      "not T_c",
                states="T_c up to ~10 K at optimal gating (the commonly quoted top of the "
                       "ionic-gating dome)",
                conversion="none (kelvin)",
                status="unverified: the T_c figure of either paper was not accessible here; "
                       "device dependent anyway",
            ),
            "beta_so_meV": Source(
                citation=_SAITO_2016 + "; Y. Saito et al., APS March Meeting 2016 abstract",
                where="as quoted in issue #23 (Fermi-level splitting); the 3 meV "
                      "band-bottom value is in the introduction of the Nat. Phys. paper",
                states="spin splitting 2 beta ~ 13 meV at the Fermi level (9-15 meV with "
                       "density); 3 meV at the conduction-band bottom (introduction, "
                       "verified)",
                conversion="beta_so = splitting / 2 = 6.5 meV (paper's Eq. (1): splitting "
                           "2 sqrt(beta^2 + B^2))",
                status="unverified: the 13 meV Fermi-level value was not found in the text "
                       "accessible here (only the introduction's 3 meV at the band bottom); "
                       "consistent with Lu et al.'s ~100 T (5.8 meV, abstract, verified)",
            ),
            "g_factor": _G_ASSUMED,
        },
    ),
    "NbSe2": Material(
        name="NbSe2",
        description="monolayer 2H-NbSe2 (hole pockets at K/K' and Gamma)",
        tc_K=3.0,
        beta_so_meV=38.0,
        g_factor=2.0,
        sources=(_XI_2016, _NPJ_2018, _DLB_2018),
        provenance=(
            "T_c ~ 3 K for exfoliated monolayers (+-0.5 K between devices). beta_so ~ 38 meV "
            "(K-pocket splitting ~76 meV, the first-principles order of magnitude used to "
            "describe the in-plane B_c2 of monolayers): not traced to a figure or table of "
            "a source read here, uncertainty +-30 % at best. g = 2 (assumed)."
        ),
        assumption_notes=(
            _GAMMA_POCKET.format(name="NbSe2"),
            _large_beta_note("NbSe2", 3.0, 38.0),
            "NbSe2 is moderately strong-coupling (measured 2Delta/k_B T_c above the BCS 3.53); "
            "the model fixes Delta0 = 1.764 k_B T_c0",
        ),
        field_sources={
            "tc_K": Source(
                citation=_NPJ_2018,
                where="introduction (first paragraph), citing the exfoliated-monolayer "
                      "transport works",
                states="monolayer NbSe2 obtained by exfoliation: T_c = 3 K (MBE films "
                       "0.65-1.9 K)",
                conversion="none (kelvin)",
                status="verified",
            ),
            "beta_so_meV": Source(
                citation=_XI_2016,
                where="not located: the abstract states only B_c2 > 6 x the Pauli limit, "
                      "explained by a large intrinsic spin-orbit interaction",
                states="(no number read) K-pocket spin splitting of order 70-80 meV is "
                       "the value commonly attributed to this work",
                conversion="beta_so = splitting / 2 ~ 38 meV",
                status="unverified: the splitting was not found in any text accessible "
                       "here (abstracts of Xi et al. and de la Barrera et al. only); the "
                       "number is an order of magnitude, not a citation",
            ),
            "g_factor": _G_ASSUMED,
        },
    ),
    "TaS2": Material(
        name="TaS2",
        description="monolayer 2H-TaS2 (hole pockets at K/K' and Gamma)",
        tc_K=3.4,
        beta_so_meV=60.0,
        g_factor=2.0,
        sources=(_YANG_2018, _DLB_2018),
        provenance=(
            "T_c = 3.4 K for the monolayer (Yang et al., abstract: 3.4 K against 0.8 K in "
            "the bulk; device dependent, uncertainty +-0.5 K). beta_so ~ 60 meV (K-pocket "
            "splitting ~120 meV): de la Barrera et al. attribute the larger Ising protection "
            "of TaS2 relative to NbSe2 to its larger spin-orbit coupling (heavier Ta); the "
            "number itself is an order of magnitude not traced to a figure or table, "
            "uncertainty +-40 % at best. g = 2 (assumed)."
        ),
        assumption_notes=(
            _GAMMA_POCKET.format(name="TaS2"),
            _large_beta_note("TaS2", 3.4, 60.0),
        ),
        field_sources={
            "tc_K": Source(
                citation=_YANG_2018,
                where="abstract (arXiv:1711.00079 and the Phys. Rev. B version)",
                states="in the monolayer limit T_c increases to 3.4 K, compared to 0.8 K "
                       "in the bulk",
                conversion="none (kelvin)",
                status="verified",
            ),
            "beta_so_meV": Source(
                citation=_DLB_2018,
                where="not located: the abstract is qualitative (largest in-plane upper "
                      "critical field of an intrinsic TMD superconductor, from spin-orbit "
                      "coupling)",
                states="(no number read) larger spin-orbit splitting than NbSe2",
                conversion="beta_so = splitting / 2 ~ 60 meV (splitting ~120 meV assumed)",
                status="unverified: no splitting value found in the text accessible here; "
                       "the number is an order of magnitude, not a citation",
            ),
            "g_factor": _G_ASSUMED,
        },
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
