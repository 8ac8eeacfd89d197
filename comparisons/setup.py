r"""The one physical parameter set of ``mirage validate`` and its derived variants.

Everything the cross-check suite compares flows from `ValidationSetup`: the base
`latticemirage.mapping.PhysicalParameters` (β = 7 Δ0, T = 0.1 T_c0, the lattice
scale Δ0 = 0.005 t and pocket depth E_F = 30 Δ0 chosen in `latticemirage.mapping`),
the second β, the field sweeps and the numerical resolutions. No suite module
writes a parameter block of its own; they call the ``*_physical()`` methods here.

Units: energies in Δ0, temperatures in T_c0 (both sides).

Disorder variant
----------------
The disorder comparison runs on a *derived* variant with a larger Δ0 in units of t
(``delta0 = 0.03 t``, ``E_F = 10 Δ0``, hence β = 3 Δ0 ≤ E_F/3). Reason: the KPM
kernel width is ``π a / M`` with ``a ≈ 9.4 t`` (the whole BdG band), so resolving a
mirage gap of width δ ≈ 0.56 Δ0 needs ``M ≈ 30 a / δ`` moments; at the base scale
(δ = 2.3e-3 t) that is ~10^5 moments on a ~300 x 300 supercell, hours on two
cores. At Δ0 = 0.03 t the same δ is 0.017 t and 3000 moments on an 80 x 80
supercell resolve it to σ ≈ δ/2 in ~15 s per realization. The pocket depth stays
small (0.3 t) so that trigonal warping (spread of β over the Fermi surface, ~±3 %)
stays below the mirage-gap width.
"""

from dataclasses import dataclass, field, replace

import numpy as np

from latticemirage.mapping import PhysicalParameters
from mirage_common.errors import ParameterError, check_positive

__all__ = ["FULL", "QUICK", "Resolution", "ValidationSetup", "binned_fermi_surface"]


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
    concentrations : tuple of float
        Point-impurity concentrations (per site) of the disorder sweep. At the
        disorder variant (β = 3, B = 2, T = 0.1, V = 0.5 t) the measured Γ_qc is
        ≈ 10 c Δ0 and the quasiclassical gap closes at Γ_qc ≈ 0.72 Δ0, so c stays
        ≤ 0.06 (Γ_qc ≈ 0.5 Δ0, Δ ≈ 0.35 Δ0): a mirage gap needs a main gap.
    realizations : int
        Disorder realizations per KPM study.
    supercell, moments, vectors : int
        KPM supercell L, Chebyshev moments, random vectors per realization.
    rate_size, rate_realizations : int
        Supercell and realizations of the scattering-rate measurement.
    tunnel_n_k : int
        Transverse momenta of the lattice NS junction (tunneling suite).
    tunnel_step_kt : float
        Energy step of the lattice conductance, in k_B T (before thermal smearing).
        The zero-temperature coherence peak is an integrable 1/sqrt singularity
        sampled on this grid: in the BCS control the L1 error was 0.029 at k_B T/2
        and 0.0125 at k_B T/4 (n_k = 8 and 24 alike), so k_B T/4 is used.
    tunnel_equal_spin_points : int
        Energies of the equal-spin Andreev curve.
    """

    fields_main: tuple
    fields_second: tuple
    gap_fields: tuple
    bc2_temperatures: tuple
    dos_mesh: int = 8000
    gap_mesh: int = 1500
    eta: float = 0.02
    energy_step: float = 0.005
    concentrations: tuple = (0.03, 0.06)
    realizations: int = 8
    supercell: int = 80
    moments: int = 3000
    vectors: int = 4
    rate_size: int = 100
    rate_realizations: int = 4
    tunnel_n_k: int = 24
    tunnel_step_kt: float = 0.25
    tunnel_equal_spin_points: int = 201


FULL = Resolution(
    fields_main=(0.0, 1.0, 2.0, 3.0, 4.0, 5.0),
    fields_second=(1.0, 2.0, 3.0),
    gap_fields=tuple(np.arange(0.0, 6.01, 0.5)),
    bc2_temperatures=(0.3, 0.6, 0.9),
)

QUICK = Resolution(
    fields_main=(2.0, 4.0),
    fields_second=(),
    gap_fields=(0.0, 2.0, 4.0),
    bc2_temperatures=(0.5, 0.9),
    concentrations=(0.06,),
    realizations=2,
    supercell=64,
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
    impurity_strength : float
        On-site potential of a point impurity, t.
    smooth_correlation_length : float
        Correlation length of the smooth (Anderson-theorem control) disorder, a.
    seed : int
        Root seed of every random quantity (SeedSequence).
    resolution : Resolution
    """

    base: PhysicalParameters = field(default_factory=PhysicalParameters)
    second_beta: float = 4.0
    disorder_delta0: float = 0.03
    disorder_e_fermi: float = 10.0
    disorder_beta: float = 3.0
    disorder_field: float = 2.0
    impurity_strength: float = 0.5
    smooth_correlation_length: float = 3.0
    seed: int = 20210609
    resolution: Resolution = FULL

    def __post_init__(self):
        check_positive("second_beta", self.second_beta)
        check_positive("impurity_strength", self.impurity_strength)
        check_positive("smooth_correlation_length", self.smooth_correlation_length)
        if int(self.seed) != self.seed or self.seed < 0:
            raise ParameterError("seed", f"must be a non-negative integer, got {self.seed!r}")
        # Validate the derived variants now, so a bad setup fails before anything runs.
        self.second_physical()
        self.disorder_physical()

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
                "impurity_strength_t": self.impurity_strength,
                "smooth_correlation_length_a": self.smooth_correlation_length,
            },
            "seed": self.seed,
            "resolution": {k: (list(map(float, v)) if isinstance(v, tuple) else v)
                           for k, v in res.__dict__.items()},
        }


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
