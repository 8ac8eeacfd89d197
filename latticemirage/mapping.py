r"""Physical parameters (in units of Δ0) ↔ lattice parameters (in units of t).

This module is the contract between the lattice side and the quasiclassical
side. One `PhysicalParameters` set, energies in units of the zero-temperature,
zero-field gap Δ0 and temperatures in units of T_c0, is mapped by
`map_to_lattice` onto the Kwant parameters of `latticemirage.model`
(``t, mu, lam, B, phi, delta``, energies in t). The returned `LatticeMapping`
also reports the Fermi-surface data the quasiclassical theory assumes constant:
the Fermi-surface average and spread of β(k), N_0, v_F and ξ0.

Conventions
-----------
* Units: ``t = 1``, lattice constant ``a = 1``, ``hbar = k_B = 1``.
  ``delta0`` is Δ0 in units of t; ``T_c0 = e^{γ_E} Δ0 / π`` (weak-coupling BCS,
  the same relation as on the quasiclassical side).
* Fermi surface: the Fermi level ``mu = 3t − E_F`` lies in the two hole pockets
  around K and K' (band maximum 3t), which requires ``0 < E_F < 1t``
  (``2t < mu < 3t``; at ``mu = 2t`` the pockets touch at the M points).
  ``xi(k) = eps(k) − mu`` is the spin-independent dispersion without Ising
  coupling, Zeeman field and pairing; the Fermi surface is its zero contour,
  the ``xi_p = 0`` of the paper.
* β is the Ising field **on the Fermi surface**: ``beta(k) = lam sum_j sin(k·a_j)``
  equals ``3 sqrt(3) lam / 2`` exactly at K but is smaller on the pocket and
  varies around it (trigonal warping). λ is chosen so that the Fermi-surface
  average ⟨β(k)⟩ over valley K, weighted by the density of states
  ``dl / |v_F|``, equals the requested β. The spread is reported.
* Field: ``B`` is the Zeeman energy (``g mu_B / 2`` absorbed), in-plane at
  angle ``phi`` from x; Δ is the s-wave singlet gap, real.

Choice of the default scale
---------------------------
The default ``delta0 = 0.005 t`` and ``e_fermi = 30 Δ0 = 0.15 t`` (so
β = 7Δ0 = 0.035 t, B = 2Δ0 = 0.01 t) balance four constraints:

1. Δ ≪ β ≪ E_F: here Δ0/E_F = 0.033 and β/E_F = 0.23.
2. The mirage gap must survive the trigonal warping. The gap edges at each
   Fermi point sit at ``eps_{1,2}(beta(k_F))``, so the variation of β around the
   pocket smears the gap by about ``(beta/eps0) · (beta_max − beta_min)``.
   This spread grows like ``p_F^3`` (half-range/mean ≈ 0.5 %, 1 %, 3 %, 12 %,
   26 % at E_F = 0.1, 0.15, 0.3, 0.6, 0.8 t). At E_F = 0.15 t the edges are
   smeared by ≈ 0.13 Δ0, a quarter of δ ≈ 0.55 Δ0 (β = 7, B = 2); at the often
   quoted E_F ≈ 0.8 t the spread (≈ ±1.8 Δ0) would wipe the mirage gap out.
3. Resolution of the disorder side: δ ≈ 0.55 Δ0 = 2.7e-3 t. The BdG spectrum
   of this model spans ``|E| ≤ 6t + mu ≈ 8.9 t`` (not 6t), so a Jackson-kernel
   KPM needs ``N ≈ π · 8.9 t / (δ/4) ≈ 4e4`` moments to resolve δ; a 300×300
   supercell holds ≈ 0.18/t · δ · 9e4 ≈ 45 states per spin inside δ.
   A larger Δ0 helps here but (through E_F ≥ 30 Δ0) hurts item 2.
4. The pairing cutoff (default 2/3 E_F = 20 Δ0) stays inside the pocket and
   well above ε0 ≈ 7.3 Δ0.
"""

import math
from dataclasses import dataclass, field, replace

import numpy as np

from latticemirage import bulk, model
from mirage_common.errors import (
    ParameterError,
    check_finite,
    check_nonnegative,
    check_positive,
)

__all__ = [
    "DEFAULT_DELTA0",
    "DEFAULT_E_FERMI",
    "MAX_BETA_OVER_EF",
    "MAX_DELTA_OVER_EF",
    "LatticeMapping",
    "PhysicalParameters",
    "fermi_contour_beta",
    "map_to_lattice",
    "tc0_over_delta0",
]

DEFAULT_DELTA0 = 0.005  # Δ0 in t
DEFAULT_E_FERMI = 30.0  # pocket depth in Δ0
# "Δ ≪ E_F" and "β, B ≪ E_F", made into hard limits. They keep the whole energy
# window of interest (|E| ≲ ε0 + a few Δ0) inside the pockets.
MAX_DELTA_OVER_EF = 0.1
MAX_BETA_OVER_EF = 1 / 3
# The K-M distance: every ray from K leaves the pocket before it (eps(M) = 2t < mu).
_KM_DISTANCE = 2 * np.pi / 3


def tc0_over_delta0():
    """Weak-coupling BCS ratio ``T_c0 / Δ0 = e^{γ_E} / π`` ≈ 0.567."""
    return math.exp(np.euler_gamma) / math.pi


@dataclass(frozen=True)
class PhysicalParameters:
    """One physical parameter set, energies in Δ0, temperature in T_c0.

    Parameters
    ----------
    beta : float
        Ising spin-orbit field on the Fermi surface (Fermi-surface average), Δ0.
    field : float
        In-plane Zeeman energy B, Δ0.
    delta : float or None
        Pairing gap Δ in Δ0; ``None`` means "solve self-consistently"
        (`latticemirage.gap`).
    temperature : float
        T in units of T_c0 (enters the self-consistent gap only).
    phi : float
        Field angle from the x axis, radians.
    e_fermi : float
        Depth E_F of the hole pockets (band maximum minus Fermi level), Δ0.
    delta0 : float
        The energy scale Δ0 in units of the hopping t.

    Raises
    ------
    ParameterError
        Naming the offending parameter: the Fermi level must cross only the
        K/K' hole pockets (``0 < e_fermi * delta0 < 1``), Δ0 and Δ must be small
        against E_F, β and B must be small against E_F.
    """

    beta: float = 7.0
    field: float = 2.0
    delta: float | None = None
    temperature: float = 0.1
    phi: float = 0.0
    e_fermi: float = DEFAULT_E_FERMI
    delta0: float = DEFAULT_DELTA0

    def __post_init__(self):
        check_positive("delta0", self.delta0)
        check_positive("e_fermi", self.e_fermi)
        ef_t = self.e_fermi * self.delta0
        if not 0 < ef_t < 1:
            raise ParameterError(
                "e_fermi",
                f"pocket depth E_F = e_fermi * delta0 = {ef_t:.4g} t must lie in (0, 1) t so "
                "that the Fermi level crosses only the hole pockets at K and K' "
                f"(2t < mu < 3t); got e_fermi = {self.e_fermi!r} Δ0 with delta0 = "
                f"{self.delta0!r} t",
            )
        if 1 > MAX_DELTA_OVER_EF * self.e_fermi:
            raise ParameterError(
                "e_fermi",
                f"Δ0 must be small against the pocket depth: need e_fermi >= "
                f"{1 / MAX_DELTA_OVER_EF:g} (in Δ0), got {self.e_fermi!r}",
            )
        check_nonnegative("beta", self.beta)
        check_nonnegative("field", self.field)
        check_nonnegative("temperature", self.temperature)
        check_finite("phi", self.phi)
        for name in ("beta", "field"):
            value = getattr(self, name)
            if value > MAX_BETA_OVER_EF * self.e_fermi:
                raise ParameterError(
                    name,
                    f"must be small against the pocket depth E_F = {self.e_fermi:g} Δ0: "
                    f"allowed 0 <= {name} <= {MAX_BETA_OVER_EF * self.e_fermi:.4g}, "
                    f"got {value!r}",
                )
        if self.delta is not None:
            check_nonnegative("delta", self.delta)
            if self.delta > MAX_DELTA_OVER_EF * self.e_fermi:
                raise ParameterError(
                    "delta",
                    f"Δ must be small against the pocket depth E_F = {self.e_fermi:g} Δ0: "
                    f"allowed 0 <= delta <= {MAX_DELTA_OVER_EF * self.e_fermi:.4g}, "
                    f"got {self.delta!r}",
                )


@dataclass(frozen=True, eq=False)
class LatticeMapping:
    """A `PhysicalParameters` set mapped onto the lattice, with its Fermi-surface report.

    Create with `map_to_lattice`. Energies named ``*_t`` are in t; everything
    else follows `PhysicalParameters` (Δ0, T_c0).

    Attributes
    ----------
    physical : PhysicalParameters
    mu, lam : float
        Chemical potential and Ising hopping amplitude, in t (``t = 1``).
    beta_k : float
        ``beta(K) = 3 sqrt(3) lam / 2``, Δ0 (larger than the Fermi-surface mean).
    beta_fs_mean, beta_fs_std, beta_fs_min, beta_fs_max : float
        Density-of-states weighted mean, standard deviation, minimum and maximum
        of β(k) on the Fermi surface of valley K, Δ0 (K' has the opposite sign).
    n0 : float
        Normal density of states per spin per site at the Fermi level, both
        valleys, in 1/t.
    v_fermi : float
        Density-of-states weighted mean Fermi speed ``|grad xi|``, in t a.
    p_fermi_mean, p_fermi_min, p_fermi_max : float
        Pocket radius ``|k_F − K|``, 1/a.
    k_fermi : ndarray, shape (2, n_theta, 2)
        Fermi points (Cartesian, 1/a) of valleys K and K'.
    fs_beta : ndarray, shape (2, n_theta)
        β(k_F) at those points, Δ0.
    fs_weights : ndarray, shape (2, n_theta)
        Density-of-states weights of the points, summing to 1 over both valleys.
    """

    physical: PhysicalParameters
    mu: float
    lam: float
    beta_k: float
    beta_fs_mean: float
    beta_fs_std: float
    beta_fs_min: float
    beta_fs_max: float
    n0: float
    v_fermi: float
    p_fermi_mean: float
    p_fermi_min: float
    p_fermi_max: float
    k_fermi: np.ndarray = field(repr=False)
    fs_beta: np.ndarray = field(repr=False)
    fs_weights: np.ndarray = field(repr=False)

    # -- scales and conversions -------------------------------------------------
    @property
    def delta0(self):
        """Δ0 in units of t."""
        return self.physical.delta0

    @property
    def tc0(self):
        """T_c0 in units of t (``e^{γ_E} Δ0 / π``)."""
        return tc0_over_delta0() * self.physical.delta0

    def to_t(self, energy):
        """Convert an energy (array) from Δ0 to t."""
        return np.asarray(energy, dtype=float) * self.physical.delta0

    def to_delta0(self, energy):
        """Convert an energy (array) from t to Δ0."""
        return np.asarray(energy, dtype=float) / self.physical.delta0

    @property
    def coherence_length(self):
        """BCS coherence length ``xi0 = v_F / (pi Δ0)`` in lattice constants."""
        return self.v_fermi / (np.pi * self.physical.delta0)

    @property
    def temperature_t(self):
        """The temperature in units of t."""
        return self.physical.temperature * self.tc0

    # -- Kwant parameters ---------------------------------------------------------
    def lattice_params(self, delta):
        """Kwant ``params=`` dict (energies in t) for a gap *delta* given in Δ0."""
        check_nonnegative("delta", delta)
        p = self.physical
        return {
            "t": 1.0,
            "mu": self.mu,
            "lam": self.lam,
            "B": p.field * p.delta0,
            "phi": p.phi,
            "delta": float(delta) * p.delta0,
        }

    @property
    def params(self):
        """Kwant ``params=`` dict for the physical set (needs ``physical.delta``).

        Raises
        ------
        ParameterError
            If ``physical.delta`` is None: solve the gap first
            (`latticemirage.gap.solve_gap`) and use `with_delta`.
        """
        if self.physical.delta is None:
            raise ParameterError(
                "delta",
                "is None (self-consistent); solve it with latticemirage.gap.solve_gap and "
                "use LatticeMapping.with_delta(value)",
            )
        return self.lattice_params(self.physical.delta)

    def with_delta(self, delta):
        """The same mapping with the gap set to *delta* (Δ0); the Fermi surface is reused."""
        return replace(self, physical=replace(self.physical, delta=float(delta)))

    def with_field(self, field_):
        """The same mapping at another in-plane field (Δ0); the Fermi surface is reused."""
        return replace(self, physical=replace(self.physical, field=float(field_)))

    # -- what the quasiclassical side needs ------------------------------------
    def fermi_surface_beta(self):
        """Distribution of β on the Fermi surface, for a β-averaged quasiclassical DOS.

        Returns
        -------
        values : ndarray, shape (2 n_theta,)
            β(k_F) in Δ0: positive in valley K, negative in K'.
        weights : ndarray, shape (2 n_theta,)
            Density-of-states weights ``dl / |v_F|``, normalized to sum 1.
        """
        return self.fs_beta.reshape(-1).copy(), self.fs_weights.reshape(-1).copy()

    def report(self):
        """Plain dict of the mapping for result metadata (JSON-serializable)."""
        p = self.physical
        return {
            "physical": {
                "beta": p.beta,
                "field": p.field,
                "delta": p.delta,
                "temperature": p.temperature,
                "phi": p.phi,
                "e_fermi": p.e_fermi,
                "delta0_in_t": p.delta0,
            },
            "lattice_params_t": {
                "t": 1.0,
                "mu": self.mu,
                "lam": self.lam,
                "B": p.field * p.delta0,
                "phi": p.phi,
                "delta": None if p.delta is None else p.delta * p.delta0,
            },
            "tc0_in_t": self.tc0,
            "beta_K_delta0": self.beta_k,
            "beta_fs_mean_delta0": self.beta_fs_mean,
            "beta_fs_std_delta0": self.beta_fs_std,
            "beta_fs_min_delta0": self.beta_fs_min,
            "beta_fs_max_delta0": self.beta_fs_max,
            "n0_per_spin_per_site_1_over_t": self.n0,
            "v_fermi_t_a": self.v_fermi,
            "coherence_length_a": self.coherence_length,
            "p_fermi_mean_1_over_a": self.p_fermi_mean,
            "p_fermi_range_1_over_a": [self.p_fermi_min, self.p_fermi_max],
        }


def _unit_blocks(mu, fsyst=None):
    """Fourier blocks with ``lam = 1`` and no field or pairing: xi and beta/lam."""
    fsyst = bulk.wrapped_system() if fsyst is None else fsyst
    return bulk.fourier_blocks(fsyst, dict(t=1.0, mu=mu, lam=1.0, B=0.0, phi=0.0, delta=0.0))


def xi_and_beta(blocks, k):
    """Spin-independent dispersion ``xi(k)`` and Ising field ``beta(k)`` from H(k).

    Read off the electron block of the Bloch Hamiltonian: its diagonal is
    ``xi ± beta`` (Zeeman and pairing are off-diagonal), so this holds for any
    field and gap.

    Parameters
    ----------
    blocks : dict from `bulk.fourier_blocks`
    k : array_like, shape (..., 2)

    Returns
    -------
    xi, beta : ndarray, shape (...)
        In the units of the blocks (t).
    """
    h = bulk.bloch_hamiltonian(blocks, k)
    d0, d1 = h[..., 0, 0].real, h[..., 1, 1].real
    return 0.5 * (d0 + d1), 0.5 * (d0 - d1)


def _fermi_contour(blocks, center, n_theta):
    """Zero contour of xi around *center* by bisection along rays; DOS weights."""
    theta = 2 * np.pi * (np.arange(n_theta) + 0.5) / n_theta
    direction = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    lo = np.zeros(n_theta)
    hi = np.full(n_theta, _KM_DISTANCE)
    xi_lo, _ = xi_and_beta(blocks, center + lo[:, None] * direction)
    xi_hi, _ = xi_and_beta(blocks, center + hi[:, None] * direction)
    if not (np.all(xi_lo > 0) and np.all(xi_hi < 0)):
        raise ParameterError("e_fermi", "the Fermi level does not form closed pockets at K, K'")
    for _ in range(60):  # bisection to ~2^-60 of the K-M distance
        mid = 0.5 * (lo + hi)
        xi_mid, _ = xi_and_beta(blocks, center + mid[:, None] * direction)
        inside = xi_mid > 0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    p = 0.5 * (lo + hi)
    k = center + p[:, None] * direction
    _, beta = xi_and_beta(blocks, k)
    grad = bulk.bloch_gradient(blocks, k)  # (n, 2, 4, 4)
    grad_xi = 0.5 * (grad[:, :, 0, 0].real + grad[:, :, 1, 1].real)  # (n, 2)
    dxi_dp = np.einsum("ni,ni->n", grad_xi, direction)
    # Polar coordinates around the valley: ∫ d²k δ(xi) = ∫ dθ p / |∂xi/∂p|.
    weight = p / np.abs(dxi_dp) * (2 * np.pi / n_theta)
    speed = np.linalg.norm(grad_xi, axis=-1)
    return k, p, beta, weight, speed


def fermi_contour_beta(mu, lam, *, n_theta=720, fsyst=None):
    """DOS-weighted mean of ``|β|`` on the Fermi contour ``xi(k) = 0`` of chemical potential *mu*.

    Both valleys, weights ``dl/|v_F|`` (as `map_to_lattice`); *mu* and *lam* in t, result in
    t. At the mapping's own ``mu`` and ``lam`` this is ``physical.beta`` (times Δ0 in t).
    """
    blocks = _unit_blocks(mu, fsyst)
    num = den = 0.0
    for center in (model.VALLEY_K, model.VALLEY_KP):
        _, _, beta, w, _ = _fermi_contour(blocks, center, int(n_theta))
        num += float(w @ np.abs(beta))
        den += float(w.sum())
    return abs(lam) * num / den


def map_to_lattice(physical, *, n_theta=720, fsyst=None):
    """Map a physical parameter set (Δ0 units) onto the lattice (t units).

    Sets ``mu = 3t − E_F`` and chooses ``lam`` so that the density-of-states
    weighted Fermi-surface average of β(k) in valley K equals ``physical.beta``.

    Parameters
    ----------
    physical : PhysicalParameters
    n_theta : int
        Fermi points per valley (uniform in the polar angle around K, K').
    fsyst : finalized wrapped system, optional
        From `bulk.wrapped_system`; built on demand.

    Returns
    -------
    LatticeMapping
    """
    if not isinstance(physical, PhysicalParameters):
        raise TypeError("physical must be a PhysicalParameters instance")
    if int(n_theta) != n_theta or n_theta < 12:
        raise ParameterError("n_theta", f"must be an integer >= 12, got {n_theta!r}")
    d0 = physical.delta0
    mu = 3.0 - physical.e_fermi * d0
    blocks = _unit_blocks(mu, fsyst)
    ks, ps, betas, weights, speeds = [], [], [], [], []
    for center in (model.VALLEY_K, model.VALLEY_KP):
        k, p, beta, w, v = _fermi_contour(blocks, center, int(n_theta))
        ks.append(k)
        ps.append(p)
        betas.append(beta)
        weights.append(w)
        speeds.append(v)
    k_f, p_f, beta_unit, w, v = (np.array(x) for x in (ks, ps, betas, weights, speeds))
    wk = w[0] / w[0].sum()
    mean_unit = float(wk @ beta_unit[0])  # beta / lam averaged over valley K
    lam = physical.beta * d0 / mean_unit if physical.beta > 0 else 0.0
    beta_fs = beta_unit * lam / d0  # Δ0
    mean = float(wk @ beta_fs[0])
    std = float(np.sqrt(wk @ (beta_fs[0] - mean) ** 2))
    # N0 per spin per site: (cell area / (2π)^2) ∮ dl/|v| over both valleys.
    cell_area = abs(np.linalg.det(np.asarray(model.LATTICE.prim_vecs)))
    n0 = float(cell_area / (2 * np.pi) ** 2 * w.sum())
    return LatticeMapping(
        physical=physical,
        mu=mu,
        lam=lam,
        beta_k=3 * np.sqrt(3) / 2 * lam / d0,
        beta_fs_mean=mean,
        beta_fs_std=std,
        beta_fs_min=float(beta_fs[0].min()),
        beta_fs_max=float(beta_fs[0].max()),
        n0=n0,
        v_fermi=float((w * v).sum() / w.sum()),
        p_fermi_mean=float((w * p_f).sum() / w.sum()),
        p_fermi_min=float(p_f.min()),
        p_fermi_max=float(p_f.max()),
        k_fermi=k_f,
        fs_beta=beta_fs,
        fs_weights=w / w.sum(),
    )
