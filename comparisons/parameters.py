r"""The one physical parameter set of ``mirage validate`` and its derived variants.

Everything the cross-check suite compares flows from `ValidationSetup`: the base
`latticemirage.mapping.PhysicalParameters` (β = 7 Δ0, T = 0.1 T_c0, the lattice
scale Δ0 = 0.005 t and pocket depth E_F = 30 Δ0 chosen in `latticemirage.mapping`),
the second β, the field sweeps and the numerical resolutions. No suite module
writes a parameter block of its own; they call the ``*_physical()`` methods here.

Units: energies in Δ0, temperatures in T_c0 (both sides).

Disorder variant
----------------
The disorder comparison (`comparisons.suite_disorder`) runs on a *derived* variant chosen
inside the validity rules of `latticemirage.disorder.validity` at an affordable size:
``delta0 = 0.03 t``, ``E_F = 20 Δ0`` (the rules' minimum; p_F ξ0 = 12 >= 10), β = 3 Δ0,
B = 1 Δ0 (B/β as in the paper's Fig. 2), pairing cutoff ω_c = 10 Δ0 (the clean lattice gap
is then within 4e-4 Δ0 of quasiclassics at this point; the shell, ~15 % of the states,
sets the cost of the self-consistent Δ). Reasons: ξ0 = v_F/(π Δ0) = 12.1 a, so L = 64 holds
4 ξ down to Δ = 0.76 Δ0 (the gap the strongest case reaches is ~0.80); the mirage width
δ ≈ 0.48 Δ0 = 0.014 t at that Δ needs a Jackson width σ <= δ/3, i.e. 7000 moments, against
~10^5 at the base scale. Each realization's Δ is averaged over the boundary twists
{(0, 0), (π, π)} (a k grid of twice the density: the untwisted 72² grid alone shifted the
clean Δ(0) by +4.45 %) and each KPM realization gets a random twist of {0, π}². Disorder
renormalizes the band: besides the rates, the SCBA is handed the Ising field of the
disorder-renormalized Fermi surface, measured on the same realizations (suite_disorder).
Trigonal warping (β spread ±12 % over the pocket at E_F = 0.6 t) smears the lattice's mirage
edges by ~0.3 Δ0; the suite measures what that does to each compared quantity (single β vs
the lattice's β distribution) and carries it in the DOS tolerances. The base scale (Δ0 =
0.005 t, E_F = 30 Δ0, 300 x 300) is the ``--full-scale`` run of `comparisons.validate`.
"""

from dataclasses import dataclass, field, replace

import numpy as np

from latticemirage.mapping import PhysicalParameters
from mirage_common.errors import ParameterError, check_positive

__all__ = ["FULL", "FULL_SCALE", "QUICK", "Resolution", "ValidationSetup", "binned_fermi_surface"]


@dataclass(frozen=True)
class Resolution:
    """Numerical resolution of one suite run (full or quick).

    Attributes
    ----------
    fields_main, fields_second : tuple of float
        Fields (Δ0) of the clean DOS sweep at the main and the second β.
    gap_fields : tuple of float
        Fields (Δ0) of the Δ(B) comparison.
    bc2_temperatures : tuple of float
        Temperatures (T_c0) of the B_c2(T) comparison.
    dos_mesh : int
        k mesh per reciprocal direction of the lattice clean DOS (triangle method).
    gap_mesh : int
        k mesh of the lattice gap solver.
    eta : float
        Dynes broadening applied identically to both sides' clean DOS, Δ0.
    energy_step : float
        Energy grid spacing of the clean DOS, Δ0.
    anderson_widths : tuple of float
        Widths W (t) of the Anderson box disorder of the disorder sweep (Born; at the
        disorder variant the measured Γ_qc is ≈ 1.0 and 2.1 Δ0 for W = 0.7 and 1 t).
    concentrations : tuple of float
        Concentrations (per site) of the point-impurity case(s) (V = ``impurity_strength``;
        ``|T|²/V²`` ≈ 1.5, beyond Born), compared with the self-consistent T-matrix SCBA
        at the measured rate where dilute (measured rate within 10 % of the single-site
        T-matrix's), else drawn. The supercell must hold a mean free path (validity rule
        ``size_over_ell``): at V = 0.5 t and the disorder variant, n_i = 0.1 gives
        Γ_total ≈ 0.80 Δ0, ℓ ≈ 24 a, p_F ℓ ≈ 23 but 0.835 of the single-site rate (drawn);
        n_i = 0.03 has ℓ ≈ 75 a > 64 a.
    realizations : int
        Disorder realizations per study (each: self-consistent Δ at B and B = 0, KPM DOS).
    supercell, moments, vectors : int
        KPM supercell L, Chebyshev moments, random vectors per realization.
    rate_size, rate_realizations : int
        Supercell and realizations of the scattering-rate measurement.
    dos_realizations : tuple of (str, int)
        Realizations of the DOS (depth) comparison per case, where more than
        ``realizations``: the extra ones are KPM-only, at the case's mean self-consistent
        Δ(B) (a realization costs ~5 s at L = 64 against ~75 s with its gap solves).
        Measured 2026-12-07 with 4 realizations: 3 σ_D/D_clean = 0.40 (W = 0.7 t), 0.55
        (W = 1 t), 0.99 (smooth), 0.67 (point impurities n_i = 0.1); σ_D falls as
        1/sqrt(R), so 10 and 24 bring W = 1 t and smooth to ≈ 0.35 and 0.40, under the power
        rule's 0.5 with room for the spread of a four-sample estimate. The point case had 20
        while it was checked; drawn (not dilute), it has no depth check to power and gets
        none (sixth session: ~60 s of the stage).
    tunnel_n_k : int
        Transverse momenta of the lattice NS junction (tunneling suite).
    tunnel_step_kt : float
        Energy step of the lattice conductance, in k_B T (before thermal smearing).
        The zero-temperature coherence peak is an integrable 1/sqrt singularity
        sampled on this grid: in the BCS control the L1 error was 0.029 at k_B T/2
        and 0.0125 at k_B T/4 (n_k = 8 and 24 alike), so k_B T/4 is used.
    tunnel_equal_spin_points : int
        Energies of the equal-spin Andreev curve.
    self_consistent : bool
        Solve Δ on every disordered realization (the shell solver,
        `latticemirage.disorder.selfconsistent`; at 300² its shell eigenstates come from
        sparse spectrum slicing). False imposes the quasiclassical Δ at the measured Γ
        instead (the gap checks are then reported as not run).
    twists : {"none", "pi", "random"}
        Boundary twist of each KPM realization (`latticemirage.disorder.study`): "pi", one of
        {0, π}² drawn from the realization's seed.
    gap_twists : {"none", "pi", "diagonal"}
        Twists each realization's Δ is averaged over (`latticemirage.disorder.selfconsistent`):
        "diagonal" = {(0, 0), (π, π)}, a k grid of twice the density at twice the cost of
        none ("pi", four twists, costs twice as much again: measured 154 s per realization
        at L = 64 on 2 loaded cores).
    """

    fields_main: tuple
    fields_second: tuple
    gap_fields: tuple
    bc2_temperatures: tuple
    dos_mesh: int = 8000
    gap_mesh: int = 1500
    eta: float = 0.02
    energy_step: float = 0.005
    anderson_widths: tuple = (0.7, 1.0)
    concentrations: tuple = ()
    realizations: int = 4
    supercell: int = 64
    moments: int = 7000
    vectors: int = 4
    rate_size: int = 100
    rate_realizations: int = 4
    self_consistent: bool = True
    twists: str = "pi"
    gap_twists: str = "diagonal"
    dos_realizations: tuple = (("anderson_1", 10), ("smooth", 24))
    tunnel_n_k: int = 24
    tunnel_step_kt: float = 0.25
    tunnel_equal_spin_points: int = 201


FULL = Resolution(
    concentrations=(0.1,),
    fields_main=(0.0, 1.0, 2.0, 3.0, 4.0, 5.0),
    fields_second=(1.0, 2.0, 3.0),
    gap_fields=tuple(np.arange(0.0, 6.01, 0.5)),
    bc2_temperatures=(0.3, 0.6, 0.9),
)

# The disorder stage at the model's default scale (Δ0 = 0.005 t, E_F = 30 Δ0, 300 x 300):
# `ValidationSetup.full_scale`, for a cluster (``mirage validate --full-scale``). W = 0.29,
# 0.41 t give Γ_qc ≈ 1, 2 Δ0 there (Γ ∝ W²/Δ0 at fixed N0); 42000 moments put the Jackson
# width at 0.14 Δ0 <= δ/3 (δ ≈ 0.45 Δ0 at β = 7, B = 2, Δ ≈ 0.8). Δ is solved on every
# realization with the twists {(0, 0), (π, π)} (k mesh 600, where the clean gap is converged:
# Δ(B) 0.8399 vs 0.8383 at mesh 1200; one twist, mesh 300, is 0.8109, a 3.5 % grid effect).
# Point impurities V = 0.5 t at n_i = 0.01 (checked against the T-matrix SCBA): measured there
# (200², 2 realizations, 2026-12-07) Γ_total ≈ 0.59 Δ0, ℓ ≈ 110 a < 300, |T|²/V² = 1.91.
FULL_SCALE = Resolution(
    fields_main=(), fields_second=(), gap_fields=(), bc2_temperatures=(),
    anderson_widths=(0.29, 0.41),
    concentrations=(0.01,),
    realizations=8,
    supercell=300,
    moments=42000,
    rate_size=200,
    gap_twists="diagonal",
)

QUICK = Resolution(
    fields_main=(2.0, 4.0),
    fields_second=(),
    gap_fields=(0.0, 2.0, 4.0),
    bc2_temperatures=(0.5, 0.9),
    anderson_widths=(1.0,),
    concentrations=(),
    realizations=2,
    dos_realizations=(),
    rate_realizations=3,
    tunnel_n_k=8,
    tunnel_equal_spin_points=61,
)


@dataclass(frozen=True)
class ValidationSetup:
    """The one physical parameter set driving both sides, and its variants.

    Parameters
    ----------
    base : PhysicalParameters
        β, T, the lattice scale Δ0 (in t) and the pocket depth E_F; the field of
        *base* is replaced field by field in the sweeps.
    second_beta : float
        The second Ising field of the clean sweep, Δ0.
    disorder_delta0 : float
        Δ0 in t of the disorder variant (see module docstring).
    disorder_e_fermi : float
        Pocket depth of the disorder variant, Δ0.
    disorder_beta, disorder_field : float
        β and B of the disorder variant, Δ0.
    disorder_cutoff : float
        Pairing cutoff ω_c of the disorder variant's lattice gap, Δ0.
    impurity_strength : float
        On-site potential of a point impurity, t.
    smooth_correlation_length : float
        Correlation length of the smooth (Anderson-theorem control) disorder, a.
    smooth_matched_width : float
        The smooth disorder's amplitude gives it the Born total rate of Anderson disorder of
        this width (t); 0.7 t, Γ_tot ≈ 1 Δ0, the rate of the weaker Anderson case.
    tunnel_e_fermis : tuple of float
        Pocket depths E_F/Δ0 of the tunneling stage's bias-sign comparison
        (`comparisons.suite_tunneling`), at the **fixed pocket size** of *base*: E_F in t
        stays ``base.e_fermi * base.delta0`` (0.15 t, μ = 2.85 t) and Δ0 in t shrinks as
        ``0.15 t / E_F``, so β(k_F), its trigonal-warping spread and B stay the same in Δ0
        while ε0/E_F falls as 1/E_F. At least three distinct values (the 1/E_F fit).
    seed : int
        Root seed of every random quantity (SeedSequence).
    resolution : Resolution
    """

    base: PhysicalParameters = field(default_factory=PhysicalParameters)
    second_beta: float = 4.0
    disorder_delta0: float = 0.03
    disorder_e_fermi: float = 20.0
    disorder_beta: float = 3.0
    disorder_field: float = 1.0
    disorder_cutoff: float = 10.0
    impurity_strength: float = 0.5
    smooth_correlation_length: float = 3.0
    smooth_matched_width: float = 0.7
    tunnel_e_fermis: tuple = (30.0, 60.0, 120.0)
    seed: int = 20210609
    resolution: Resolution = FULL

    def __post_init__(self):
        check_positive("second_beta", self.second_beta)
        check_positive("impurity_strength", self.impurity_strength)
        check_positive("smooth_correlation_length", self.smooth_correlation_length)
        check_positive("smooth_matched_width", self.smooth_matched_width)
        if int(self.seed) != self.seed or self.seed < 0:
            raise ParameterError("seed", f"must be a non-negative integer, got {self.seed!r}")
        efs = tuple(float(e) for e in self.tunnel_e_fermis)
        if len(set(efs)) < 3:
            raise ParameterError("tunnel_e_fermis", f"need >= 3 distinct pocket depths (Δ0) "
                                 f"for the 1/E_F fit, got {self.tunnel_e_fermis!r}")
        # Validate the derived variants now, so a bad setup fails before anything runs.
        self.second_physical()
        self.disorder_physical()
        for e_fermi in efs:
            self.tunnel_physical(e_fermi)

    @property
    def betas(self):
        """``(main β, second β)``, Δ0."""
        return (self.base.beta, self.second_beta)

    def fields_for(self, beta):
        """Fields of the clean DOS sweep at *beta* (Δ0)."""
        res = self.resolution
        return res.fields_main if beta == self.base.beta else res.fields_second

    def physical(self, beta=None, field_=None):
        """The base set at another β and/or field (validated by PhysicalParameters)."""
        changes = {}
        if beta is not None:
            changes["beta"] = float(beta)
        if field_ is not None:
            changes["field"] = float(field_)
        return replace(self.base, **changes)

    def second_physical(self):
        """The base set at the second β."""
        return self.physical(beta=self.second_beta)

    def disorder_physical(self):
        """The disorder variant: same T and φ, larger Δ0 in t (see module docstring)."""
        return replace(
            self.base,
            beta=self.disorder_beta,
            field=self.disorder_field,
            e_fermi=self.disorder_e_fermi,
            delta0=self.disorder_delta0,
        )

    def tunnel_physical(self, e_fermi):
        """The base set at pocket depth *e_fermi* (Δ0) with the pocket size fixed.

        E_F in t is kept (``base.e_fermi * base.delta0``), Δ0 in t becomes
        ``base.e_fermi * base.delta0 / e_fermi``; β, B, T in Δ0 and T_c0 are unchanged.
        """
        b = self.base
        return replace(b, e_fermi=float(e_fermi), delta0=b.e_fermi * b.delta0 / float(e_fermi))

    def full_scale(self):
        """The disorder stage at the base scale (Δ0, E_F, β, B of *base*; 300 x 300)."""
        b = self.base
        return replace(self, disorder_delta0=b.delta0, disorder_e_fermi=b.e_fermi,
                       disorder_beta=b.beta, disorder_field=b.field,
                       disorder_cutoff=2 * b.e_fermi / 3, resolution=FULL_SCALE)

    def as_dict(self):
        """JSON-serializable description (for summary.json)."""
        res = self.resolution
        return {
            "base": {k: getattr(self.base, k) for k in
                     ("beta", "field", "temperature", "phi", "e_fermi", "delta0")},
            "second_beta": self.second_beta,
            "disorder_variant": {
                "beta": self.disorder_beta,
                "field": self.disorder_field,
                "e_fermi": self.disorder_e_fermi,
                "delta0_in_t": self.disorder_delta0,
                "cutoff": self.disorder_cutoff,
                "impurity_strength_t": self.impurity_strength,
                "smooth_correlation_length_a": self.smooth_correlation_length,
                "smooth_matched_width_t": self.smooth_matched_width,
            },
            "tunnel_e_fermis": [float(e) for e in self.tunnel_e_fermis],
            "seed": self.seed,
            "resolution": {k: _plain(v) for k, v in res.__dict__.items()},
        }


def _plain(value):
    """A resolution field as JSON: numbers as floats, (name, count) pairs as a mapping."""
    if not isinstance(value, tuple):
        return value
    if value and isinstance(value[0], tuple):
        return {str(k): int(n) for k, n in value}
    return list(map(float, value))


def binned_fermi_surface(values, weights, bins_per_valley=30):
    """Compress a Fermi-surface β distribution into weighted bins per valley.

    The clean quasiclassical DOS is a weighted average over Fermi-surface points
    of a function of the local β only, so points with nearly equal β can be merged:
    each bin carries the summed weight and the weighted mean β of its points. The
    error is below half a bin width in β (``(β_max − β_min) / (2 bins)``), far below
    the Dynes broadening of the suite.

    Parameters
    ----------
    values, weights : ndarray, shape (p,)
        Signed β (Δ0) and weights, e.g. `LatticeMapping.fermi_surface_beta`.
    bins_per_valley : int

    Returns
    -------
    betas, weights : ndarray, shape (q,)
        ``q <= 2 bins_per_valley``; weights sum to 1.
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    out_b, out_w = [], []
    for sign in (1, -1):
        mask = np.sign(values) == sign
        v, w = values[mask], weights[mask]
        if v.size == 0:
            continue
        edges = np.linspace(v.min(), v.max(), bins_per_valley + 1)
        idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, bins_per_valley - 1)
        wsum = np.bincount(idx, weights=w, minlength=bins_per_valley)
        bsum = np.bincount(idx, weights=w * v, minlength=bins_per_valley)
        keep = wsum > 0
        out_b.append(bsum[keep] / wsum[keep])
        out_w.append(wsum[keep])
    betas, w = np.concatenate(out_b), np.concatenate(out_w)
    return betas, w / w.sum()
