r"""Josephson junction between two Ising superconductors on the lattice (S-N-S / S-I-S).

Geometry (the pattern of `latticemirage.transport`)
---------------------------------------------------
Rows of the triangular lattice run along x; transport is along ``p_2``; the transverse
period ``PERIOD = 3`` is wrapped around (parameter ``k_x``, Bloch phase across three
lattice constants, folding K and K' onto ``k_x ≈ 0``)::

    left SC lead (b < 0) | barrier rows | normal rows (length) | right SC lead (b >= rows)

* Both **leads** are the Ising superconductor of `latticemirage.model` (its own value
  functions): the same μ and λ; gaps Δ_L = Δ and Δ_R (default Δ_L; e.g. each side's own
  self-consistent gap at its field, `self_consistent_gaps`); in-plane Zeeman energies
  ``B_L``, ``B_R`` at angles ``phi_L``, ``phi_R``. Semi-infinite: exact for any coherence
  length.
* The **barrier rows** are the left superconductor with an extra potential ``barrier``
  (t; ``+`` electrons, ``-`` holes, as in `transport`); ``barrier = 0`` is transparent.
* The **normal rows** (``length`` of them, 0 = short junction) are the normal metal of
  `transport` (same μ, Δ = 0, no Ising term, no field).

Phase
-----
The phase difference φ sits on the right superconductor's gap, ``Δ_R = Δ e^{iφ}``. Its
Hamiltonian is then ``U H_R(0) U^†`` with ``U = exp(iφτ_3/2)`` on every site; the
lead-to-system hopping is Nambu diagonal and commutes with U, so the right lead's
self-energy is ``Σ_R(z, φ) = U Σ_R(z, 0) U^†``: the lead Green's functions are computed
once per (z, k_x) and every phase costs only a small dense solve (no refactorization).

Method
------
The scattering region (``rows`` x ``PERIOD`` sites, 4 orbitals each) with both leads'
self-energies, ``H_eff(z, φ) = H_S + Σ_L(z) + U Σ_R(z) U^†``. The surface Green's functions
come from the decimation (renormalization) of each lead (`surface_green`), valid at any
complex z off the lead's spectrum; tested against ``kwant`` self-energies.

* **Bound states** at real E inside both leads' gaps: ``H_eff(E)`` is Hermitian and its
  sorted eigenvalues ``λ_i(E)`` decrease with E (``dΣ/dE ≤ 0``), so each branch of
  ``λ_i(E) - E`` has at most one root (bracketed on a grid, refined by brentq). The
  normalization ``ψ^†(1 - dΣ/dE)ψ`` and the electron-part spin include the leads'
  parts, ``ψ_S^† dΣ^A/dε ψ_S`` for a lead perturbed by ``ε A`` on every site.
* **Current**: free energy ``F = -(T/2) Σ_n ln(2 cosh(E_n/2T)) = -T Σ_{ω_n>0} ln|det(iω_n -
  H_eff(iω_n, φ))|`` + φ-independent terms, and ``I = (2e/ħ) ∂F/∂φ``. Two routes:
  ``"green"`` (Hellmann-Feynman on the Matsubara Green's function,
  ``∂F/∂φ = T Σ_{ω_n>0} Re Tr[G(iω_n) ∂_φ Σ_R]``, ``∂_φ Σ_R = (i/2)[τ_3, U Σ_R U^†]``) and
  ``"free-energy"`` (the log-determinant F itself, differentiated by a five-point stencil
  in φ). The Matsubara sum is explicit below ``cutoff`` and a Gauss-Legendre quadrature in
  ``ln ω`` above it (the sum is the midpoint rule of that integral).

Units
-----
Energies in t inside, reported in Δ0 (`latticemirage.mapping`). The current is reported
as ``e I R_N / Δ0`` with ``R_N`` the junction's normal-state resistance (both leads with
Δ = 0, everything else unchanged; ``1/R_N = (e^2/h) Σ_{k_x} T(k_x)`` over the same k_x
points), so that ``e I R_N / Δ0 = 4π ⟨∂F/∂φ⟩ / (⟨T⟩ Δ0)``, independent of the width;
`JosephsonCurrent` also carries ``∂F/∂φ`` per transverse period in t.
"""

import functools
import math
from dataclasses import dataclass

import kwant
import numpy as np
from scipy.optimize import brentq, minimize_scalar

from latticemirage import model
from latticemirage.transport import PERIOD
from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_unit_vector

__all__ = [
    "JosephsonCurrent",
    "JunctionLDOS",
    "LatticeBoundStates",
    "SNSParams",
    "bound_states",
    "current_phase",
    "junction_ldos",
    "junction_matrices",
    "lead_gap",
    "matsubara_nodes",
    "normal_transmission",
    "self_consistent_gaps",
    "sns_junction",
    "surface_green",
]

_TAU_Z = np.diag([1.0, 1.0, -1.0, -1.0])
_PAULI = (np.array([[0, 1], [1, 0]], complex), np.array([[0, -1j], [1j, 0]]),
          np.array([[1, 0], [0, -1]], complex))
# Decimation stops when the renormalized hoppings fall below this (relative to |h0|):
# the remaining correction to g is of the same relative size.
_DECIMATION_TOL = 1e-14
_DECIMATION_MAXITER = 80
# Step (in units of the gap) of the central difference in the lead perturbation eps A.
_SPIN_STEP = 1e-4
# Margin below the leads' band edge (relative) of the bound-state search window: the
# decimation converges like 2^-n / (decay length) and needs E off the continuum.
_EDGE_MARGIN = 1e-6
_NORMAL_ENERGY = 1e-9  # t; the normal-state transmission at E_F, nudged off a degeneracy


@dataclass(frozen=True)
class SNSParams:
    """Physical junction parameters; energies in Δ0, temperature in T_c0.

    Parameters
    ----------
    delta : float
        Gap of the left superconductor (and of the right one unless *delta_right*), Δ0 (> 0).
    field_left, field_right : float
        In-plane Zeeman energies, Δ0 (>= 0).
    angle_left, angle_right : float
        Field angles from x, radians.
    length : int
        Normal rows between the barrier and the right lead (>= 0; 0 = short).
    barrier : float
        Barrier potential U on the barrier row, t (>= 0).
    temperature : float
        T / T_c0 (> 0).
    polarization : float
        Spin polarization p of the barrier, -1 < p < 1: its potential is ``U (1 + p n·σ)``
        for electrons and ``-U (1 + p n·σ^*)`` for holes (as `quasiclassical.josephson`).
    polarization_axis : tuple of 3 floats
        The unit vector n.
    delta_right : float, optional
        Gap of the right superconductor, Δ0 (> 0; default: *delta*).
    """

    delta: float = 1.0
    field_left: float = 0.0
    field_right: float = 0.0
    angle_left: float = 0.0
    angle_right: float = 0.0
    length: int = 0
    barrier: float = 0.0
    temperature: float = 0.1
    polarization: float = 0.0
    polarization_axis: tuple = (0.0, 0.0, 1.0)
    delta_right: float | None = None

    def __post_init__(self):
        check_finite("delta", self.delta)
        if not self.delta > 0:
            raise ParameterError("delta", f"must be > 0, got {self.delta!r}")
        if self.delta_right is not None:
            check_finite("delta_right", self.delta_right)
            if not self.delta_right > 0:
                raise ParameterError("delta_right", f"must be > 0, got {self.delta_right!r}")
        for name in ("field_left", "field_right", "barrier"):
            check_nonnegative(name, getattr(self, name))
        for name in ("angle_left", "angle_right"):
            check_finite(name, getattr(self, name))
        if int(self.length) != self.length or self.length < 0:
            raise ParameterError("length", f"must be an integer >= 0, got {self.length!r}")
        check_finite("temperature", self.temperature)
        if not self.temperature > 0:
            raise ParameterError("temperature", f"must be > 0 (T_c0), got {self.temperature!r}")
        check_finite("polarization", self.polarization)
        if not -1 < self.polarization < 1:
            raise ParameterError("polarization",
                                 f"must lie in (-1, 1), got {self.polarization!r}")
        check_unit_vector("polarization-axis", self.polarization_axis)

    @property
    def gap_right(self):
        """Δ_R in Δ0 (*delta_right*, or *delta* when not given)."""
        return self.delta if self.delta_right is None else self.delta_right


def self_consistent_gaps(mapping, field_left, field_right, temperature, *, mesh=1000):
    """Each side's own bulk gap Δ(B, T) from the lattice gap solver (`latticemirage.gap`).

    Parameters
    ----------
    mapping : LatticeMapping
        Supplies μ, λ, Δ0 and T_c0 (its own field is ignored).
    field_left, field_right : float
        In-plane Zeeman energies, Δ0 (the bulk gap does not depend on the field's angle:
        spin rotations about z are a symmetry of the Ising superconductor).
    temperature : float
        T / T_c0.
    mesh : int
        k mesh of `latticemirage.gap.GapSolver`.

    Returns
    -------
    (delta_left, delta_right, results) : (float, float, tuple of GapResult)
        Gaps in Δ0; one solve when the two fields are equal.

    Raises
    ------
    ParameterError
        Naming ``field-left``/``field-right`` where the gap vanishes (normal state: no
        Josephson junction), or ``temperature``.
    """
    from latticemirage.gap import GapSolver

    solver = GapSolver.build(mapping, mesh=mesh)
    left = solver.solve(temperature=temperature, field=field_left)
    right = left if field_right == field_left else solver.solve(temperature=temperature,
                                                               field=field_right)
    for name, res in (("field-left", left), ("field-right", right)):
        if not res.converged:
            raise RuntimeError(f"self-consistent gap did not converge: {res}")
        if not res.delta > 0:
            raise ParameterError(name, f"the self-consistent gap vanishes at B = {res.field:g} "
                                 f"Δ0, T = {res.temperature:g} T_c0 (normal state): no junction")
    return left.delta, right.delta, (left, right)


@functools.lru_cache(maxsize=8)
def sns_junction(length=0, barrier_rows=1):
    """Finalized S-(I)-N-S junction wrapped around the transverse period (parameter ``k_x``).

    Parameters (Kwant ``params``): ``t, mu, lam, delta`` (left gap; ``delta = 0`` makes
    both sides normal), ``ratio_R`` (Δ_R / Δ_L), ``B_L, phi_L``, ``B_R, phi_R`` (fields,
    t and rad), ``barrier`` (t), ``pol_x, pol_y, pol_z`` (the barrier's polarization
    p n), ``k_x``. The right lead's gap is
    real here: the phase is applied by `junction_matrices` as a gauge rotation.
    Lead 0 is the left superconductor, lead 1 the right one.
    """
    if int(length) != length or length < 0:
        raise ParameterError("length", f"must be an integer >= 0, got {length!r}")
    lat = model.LATTICE
    p1, p2 = (np.asarray(v, dtype=float) for v in lat.prim_vecs)
    kinds = [kwant.builder.HoppingKind(bond, lat) for bond in model.BONDS]
    n_sc = int(barrier_rows)

    def left_onsite(site, mu, B_L, phi_L, delta):
        return model.onsite(site, mu, B_L, phi_L, delta)

    def right_onsite(site, mu, B_R, phi_R, delta, ratio_R):
        return model.onsite(site, mu, B_R, phi_R, delta * ratio_R)

    def barrier_onsite(site, mu, B_L, phi_L, delta, barrier, pol_x, pol_y, pol_z):
        ns = pol_x * _PAULI[0] + pol_y * _PAULI[1] + pol_z * _PAULI[2]
        spin = np.block([[ns, np.zeros((2, 2))], [np.zeros((2, 2)), -ns.conj()]])
        return model.onsite(site, mu, B_L, phi_L, delta) + barrier * (_TAU_Z + spin)

    def normal_onsite(site, mu):
        return model.onsite(site, mu, 0.0, 0.0, 0.0)

    def scatter_hopping(site1, site2, t, lam):
        # Ising hopping only between two superconducting (barrier) rows; a bond touching
        # the normal metal is the normal metal's (lam = 0), as the NS junction's lead.
        both_sc = site1.tag[1] < n_sc and site2.tag[1] < n_sc
        return model.hopping(site1, site2, t, lam if both_sc else 0.0)

    def right_interface_hopping(site1, site2, t, lam):
        return model.hopping(site1, site2, t, lam)

    scatter = kwant.Builder(kwant.TranslationalSymmetry(PERIOD * p1))
    rows = n_sc + int(length)
    for b in range(rows):
        for a in range(PERIOD):
            scatter[lat(a, b)] = barrier_onsite if b < n_sc else normal_onsite
    scatter[kinds] = scatter_hopping

    left = kwant.Builder(kwant.TranslationalSymmetry(PERIOD * p1, -p2))
    right = kwant.Builder(kwant.TranslationalSymmetry(PERIOD * p1, p2))
    for a in range(PERIOD):
        left[lat(a, 0)] = left_onsite
        right[lat(a, 0)] = right_onsite
    left[kinds] = model.hopping
    right[kinds] = right_interface_hopping

    syst = kwant.wraparound.wraparound(scatter)
    syst.attach_lead(kwant.wraparound.wraparound(left, keep=1))
    syst.attach_lead(kwant.wraparound.wraparound(right, keep=1))
    return syst.finalized()


def kwant_params(mapping, params):
    """Kwant ``params`` of `sns_junction` (without ``k_x``) for an `SNSParams` set."""
    d0 = mapping.physical.delta0
    base = mapping.lattice_params(params.delta)
    return {"t": base["t"], "mu": base["mu"], "lam": base["lam"], "delta": base["delta"],
            "ratio_R": params.gap_right / params.delta,
            "B_L": params.field_left * d0, "phi_L": params.angle_left,
            "B_R": params.field_right * d0, "phi_R": params.angle_right,
            "barrier": params.barrier,
            **{f"pol_{c}": params.polarization * float(v)
               for c, v in zip("xyz", params.polarization_axis, strict=True)}}


@dataclass(frozen=True)
class JunctionMatrices:
    """Dense matrices of the junction at one k_x (energies in t).

    Attributes
    ----------
    h : ndarray, shape (n, n)
        Scattering-region Hamiltonian (n = 4 x sites).
    leads : tuple of (h0, hop, idx)
        Per lead: cell Hamiltonian, Kwant's ``inter_cell_hopping`` (from a cell to the
        one nearer the system) and the scattering-region orbital indices it couples to.
    tau_z : ndarray, shape (n,)
        Diagonal of τ_3 in the scattering region.
    """

    h: np.ndarray
    leads: tuple
    tau_z: np.ndarray


def junction_matrices(fsyst, kparams, k):
    """Read the dense matrices of `sns_junction` at ``k_x = k`` out of Kwant."""
    p = {**kparams, "k_x": float(k)}
    h = fsyst.hamiltonian_submatrix(params=p)
    norbs = model.NORBS
    leads = []
    for lead, iface in zip(fsyst.leads, fsyst.lead_interfaces, strict=True):
        h0 = lead.cell_hamiltonian(params=p)
        hop = lead.inter_cell_hopping(params=p)
        idx = np.concatenate([np.arange(norbs * s, norbs * s + norbs) for s in iface])
        leads.append((h0, hop, idx))
    tau_z = np.tile(np.diag(_TAU_Z), h.shape[0] // norbs)
    return JunctionMatrices(h, tuple(leads), tau_z)


def surface_green(h0, hop, z):
    r"""Surface Green's function of a semi-infinite lead and its self-energy, batched in z.

    The lead's cells j = 1, 2, ... (1 at the surface) have onsite ``h0`` and hopping
    ``H[j+1, j] = hop`` (Kwant's ``inter_cell_hopping``). Decimation doubles the cells
    eliminated per step (López Sancho et al.), so it converges in ~log2(decay length)
    steps at any z off the lead's spectrum.

    Parameters
    ----------
    h0 : ndarray, shape (m, m) or (n, m, m)
        One cell Hamiltonian, or one per z.
    hop : ndarray, shape (m, m)
    z : array_like, complex, shape (n,)

    Returns
    -------
    g : ndarray, shape (n, m, m)
        Surface Green's function ``(z - h0 - hop^† g hop)^{-1}`` of cell 1.
    sigma : ndarray, shape (n, m, m)
        Self-energy ``hop^† g hop`` the lead adds to the sites it couples to.
    """
    z = np.atleast_1d(np.asarray(z, complex))
    m = h0.shape[-1]
    eye = np.eye(m)
    zi = z[:, None, None] * eye
    a = np.broadcast_to(hop.conj().T, (len(z), m, m)).copy()  # H[j, j+1]
    b = np.broadcast_to(hop, (len(z), m, m)).copy()  # H[j+1, j]
    eps_s = np.broadcast_to(h0, (len(z), m, m)).astype(complex)
    eps = eps_s.copy()
    scale = max(1.0, float(np.max(np.abs(h0))))
    for _ in range(_DECIMATION_MAXITER):
        g = np.linalg.inv(zi - eps)
        agb = a @ g @ b
        eps_s = eps_s + agb
        eps = eps + agb + b @ g @ a
        a = a @ g @ a
        b = b @ g @ b
        if max(np.max(np.abs(a)), np.max(np.abs(b))) < _DECIMATION_TOL * scale:
            break
    else:
        raise RuntimeError("lead decimation did not converge: z too close to the lead's "
                           "spectrum")
    g = np.linalg.inv(zi - eps_s)
    hd = hop.conj().T
    return g, hd @ g @ hop


def _embed(n, idx, blocks):
    out = np.zeros((*blocks.shape[:-2], n, n), complex)
    out[..., idx[:, None], idx[None, :]] = blocks
    return out


def _sigmas(mats, z):
    """(Σ_L, Σ_R(φ=0)) embedded in the scattering region, shape (len(z), n, n)."""
    n = mats.h.shape[0]
    return tuple(_embed(n, idx, surface_green(h0, hop, z)[1]) for h0, hop, idx in mats.leads)


def _rotation(tau_z, phase):
    """Diagonal of ``U = exp(i phase tau_3 / 2)``."""
    return np.exp(0.5j * phase * tau_z)


def lead_gap(mats, points=4096):
    """Lowest ``|E|`` of either lead's bands at this k_x (t), from a k-grid of the lead.

    Refined by golden-section around the grid minimum of each band; a lead without
    states near E_F returns its real lowest ``|E|`` all the same.
    """
    edge = np.inf
    ks = np.linspace(-np.pi, np.pi, points, endpoint=False)
    for h0, hop, _ in mats.leads:
        def bands(k, h0=h0, hop=hop):
            e = np.exp(1j * np.atleast_1d(k))[:, None, None]
            return np.linalg.eigvalsh(h0 + hop * e + hop.conj().T / e)

        low = np.min(np.abs(bands(ks)), axis=-1)
        i = int(np.argmin(low))
        step = 2 * np.pi / points
        res = minimize_scalar(lambda k, b=bands: float(np.min(np.abs(b(k)))),
                              bounds=(ks[i] - step, ks[i] + step), method="bounded",
                              options={"xatol": 1e-12})
        edge = min(edge, low[i], res.fun)
    return float(edge)


@dataclass(frozen=True)
class LatticeBoundStates:
    """Bound states at one k_x on a phase grid; energies in Δ0.

    Attributes
    ----------
    phase, energy : ndarray, shape (n,)
    spin : ndarray, shape (n, 3)
        Electron-part spin expectation normalized to the electron weight (scattering
        region and both leads).
    electron_weight : ndarray, shape (n,)
        Share of the state's norm in electron orbitals.
    gap : float
        The search window ``|E| < gap`` (Δ0): the leads' band edge at this k_x.
    """

    phase: np.ndarray
    energy: np.ndarray
    spin: np.ndarray
    electron_weight: np.ndarray
    gap: float


def _heff(mats, sig_l, sig_r, phase):
    u = _rotation(mats.tau_z, phase)
    return mats.h + sig_l + u[:, None] * sig_r * u.conj()[None, :]


def _branch_values(mats, energies, phase, sigmas=None):
    """Sorted eigenvalues of H_eff(E) minus E, shape (len(energies), n).

    *sigmas*: the φ-independent ``(Σ_L, Σ_R(0))`` at these energies, if already known.
    """
    sig_l, sig_r = sigmas if sigmas is not None else _sigmas(mats, np.asarray(energies, complex))
    heff = _heff(mats, sig_l, sig_r, phase)
    heff = 0.5 * (heff + np.conj(np.swapaxes(heff, -1, -2)))  # Hermitian in the gap
    return np.linalg.eigvalsh(heff) - np.asarray(energies)[:, None]


_ELECTRON_OPS = [np.kron(np.diag([1.0, 0.0]), m) for m in (np.eye(2), *_PAULI)]


def _state_spin(mats, energy, phase, vec, scale):
    """Electron weight and electron spin (3,) of the state with region amplitude *vec*.

    Each lead's part of ``∫ψ^† A ψ`` is ``vec^† dΣ^A/dε vec`` for the lead perturbed by
    ``ε A`` on every cell; the derivative is a central difference with steps ``±h``,
    ``h = _SPIN_STEP x scale`` (one batched decimation for all operators and signs).
    The norm uses A = 1 (``-dΣ/dE``).
    """
    n = mats.h.shape[0]
    u = _rotation(mats.tau_z, phase)
    sites = n // 4
    ops = [*_ELECTRON_OPS, np.eye(4)]
    h = _SPIN_STEP * scale
    totals = np.array([np.vdot(vec, np.kron(np.eye(sites), op) @ vec) for op in ops])
    for which, (h0, hop, idx) in enumerate(mats.leads):
        cells = [np.kron(np.eye(h0.shape[0] // 4), op) for op in ops]
        batch = np.array([h0 + sign * h * c for c in cells for sign in (1, -1)])
        sig = surface_green(batch, hop, np.full(len(batch), energy, complex))[1]
        deriv = (sig[0::2] - sig[1::2]) / (2 * h)
        deriv = _embed(n, idx, deriv)
        if which == 1:
            deriv = u[:, None] * deriv * u.conj()[None, :]
        totals = totals + np.einsum("i,kij,j->k", vec.conj(), deriv, vec)
    weight, sx, sy, sz, norm = totals.real
    return weight / norm, np.array([sx, sy, sz]) / weight


def bound_states(mapping, params, k, phases, *, points=400):
    """Andreev bound states at transverse momentum *k* for each phase (energies in Δ0).

    Parameters
    ----------
    mapping : LatticeMapping
        Supplies μ, λ and Δ0 (its own field is ignored: the junction has its two fields).
    params : SNSParams
    k : float
        Folded transverse momentum k_x (rad per PERIOD lattice constants).
    phases : array_like, shape (p,)
    points : int
        Bracketing grid in the window ``|E| <`` band edge.

    Returns
    -------
    LatticeBoundStates
    """
    d0 = mapping.physical.delta0
    fsyst = sns_junction(params.length)
    mats = junction_matrices(fsyst, kwant_params(mapping, params), k)
    gap = lead_gap(mats) * (1 - _EDGE_MARGIN)
    grid = np.linspace(-gap, gap, points + points % 2)
    on_grid = _sigmas(mats, grid.astype(complex))  # φ-independent: once for all phases
    rows = []
    for phase in np.atleast_1d(np.asarray(phases, float)):
        f = _branch_values(mats, grid, phase, on_grid)
        for branch in range(f.shape[1]):
            for i in np.nonzero(np.sign(f[:-1, branch]) * np.sign(f[1:, branch]) < 0)[0]:
                e = brentq(lambda x, b=branch, ph=phase: _branch_values(mats, [x], ph)[0, b],
                           grid[i], grid[i + 1], xtol=1e-15, rtol=1e-13)
                sig_l, sig_r = _sigmas(mats, np.array([e], complex))
                heff = _heff(mats, sig_l, sig_r, phase)[0]
                _, v = np.linalg.eigh(0.5 * (heff + heff.conj().T))
                weight, spin = _state_spin(mats, e, phase, v[:, branch],
                                           params.delta * d0)
                rows.append((phase, e / d0, *spin, weight))
    arr = np.array(sorted(rows), float).reshape(-1, 6)
    return LatticeBoundStates(arr[:, 0], arr[:, 1], arr[:, 2:5], arr[:, 5], gap / d0)


def matsubara_nodes(temperature_t, cutoff_t, omega_max_t, tail_nodes=64):
    r"""Nodes and weights for :math:`T\sum_{\omega_n>0} f(\omega_n)`.

    Explicit Matsubara energies below ``Ω = 2πT N >= cutoff_t`` (weights T) and, above it,
    the integral :math:`\frac{1}{2\pi}\int_\Omega^{\omega_{max}} f\,d\omega` (the sum is its
    midpoint rule) by Gauss-Legendre in :math:`\ln\omega`; beyond ``omega_max_t`` (far
    above the bandwidth, where the φ-dependent summand falls like ω^-4) nothing.

    Returns
    -------
    omegas, weights : ndarray, shape (N + tail_nodes,)
    """
    count = max(8, math.ceil(cutoff_t / (2 * math.pi * temperature_t)))
    big = 2 * math.pi * temperature_t * count
    omegas = (2 * np.arange(count) + 1) * math.pi * temperature_t
    weights = np.full(count, temperature_t)
    x, w = np.polynomial.legendre.leggauss(tail_nodes)
    s_max = math.log(omega_max_t / big)
    s = 0.5 * s_max * (x + 1)
    om = big * np.exp(s)
    wt = 0.5 * s_max * w * om / (2 * math.pi)
    return np.concatenate([omegas, om]), np.concatenate([weights, wt])


@dataclass(frozen=True)
class JosephsonCurrent:
    """Current-phase relation summed over transverse momenta.

    Attributes
    ----------
    phase : ndarray, shape (p,)
    current : ndarray, shape (p,)
        ``e I R_N / Δ0``.
    dfdphi : ndarray, shape (p,)
        ``⟨∂F/∂φ⟩`` per transverse period (3 a), t (k_x-average).
    transmission : float
        ``⟨T⟩``: normal-state transmission per k_x (spin-resolved electron modes), averaged.
    k : ndarray, shape (n_k,)
    method : str
    """

    phase: np.ndarray
    current: np.ndarray
    dfdphi: np.ndarray
    transmission: float
    k: np.ndarray
    method: str


def normal_transmission(mapping, params, k):
    """Normal-state electron transmission (summed over modes) at E_F and ``k_x = k``."""
    fsyst = sns_junction(params.length)
    p = {**kwant_params(mapping, params), "delta": 0.0, "k_x": float(k)}
    s = kwant.smatrix(fsyst, _NORMAL_ENERGY, params=p)
    # Electrons and holes decouple at Δ = 0 and transmit equally at E_F: half the total.
    return 0.5 * s.transmission(1, 0)


def _free_energy_k(mats, omegas, weights, phases):
    """F(φ) - F(0) at one k_x, t: -T Σ_ω Re ln det(1 - A^{-1}[Σ_R(φ) - Σ_R(0)]).

    A = iω - H_eff(iω, 0). Factoring out the φ-independent det(A) keeps the difference
    free of the round-off of the large φ-independent part.
    """
    sig_l, sig_r = _sigmas(mats, 1j * omegas)
    n = mats.h.shape[0]
    a_inv = np.linalg.inv(1j * omegas[:, None, None] * np.eye(n) - mats.h - sig_l - sig_r)
    out = np.zeros(len(phases))
    for p, phase in enumerate(phases):
        u = _rotation(mats.tau_z, phase)
        change = u[:, None] * sig_r * u.conj()[None, :] - sig_r
        _, logdet = np.linalg.slogdet(np.eye(n) - a_inv @ change)
        out[p] = -np.sum(weights * logdet)
    return out


def _dfdphi_k(mats, omegas, weights, phases):
    sig_l, sig_r = _sigmas(mats, 1j * omegas)
    n = mats.h.shape[0]
    out = np.zeros(len(phases))
    tz = mats.tau_z
    for p, phase in enumerate(phases):
        u = _rotation(tz, phase)
        sr = u[:, None] * sig_r * u.conj()[None, :]
        dsr = 0.5j * (tz[:, None] - tz[None, :]) * sr  # (i/2)[tau_3, Σ_R]
        g = np.linalg.inv(1j * omegas[:, None, None] * np.eye(n) - mats.h - sig_l - sr)
        tr = np.einsum("wij,wji->w", g, dsr).real
        out[p] = np.sum(weights * tr)
    return out


_STENCIL_STEP = 5e-3  # rad; five-point truncation ~ h^4 F^(5)/30 ~ 2e-11 relative


def current_phase(mapping, params, phases, k_points, *, method="green", cutoff=20.0,
                  omega_max=1e4, tail_nodes=64):
    """Current-phase relation ``e I R_N / Δ0`` of the junction.

    Parameters
    ----------
    mapping : LatticeMapping
    params : SNSParams
    phases : array_like, shape (p,)
    k_points : array_like, shape (n_k,)
        Folded transverse momenta (midpoint rule over the window holding the modes: the
        k-average is their mean).
    method : {"green", "free-energy"}
        Hellmann-Feynman Green's-function current or the φ-derivative of the free energy.
    cutoff, omega_max : float
        Explicit Matsubara sum below ``cutoff`` (Δ0), log-quadrature up to ``omega_max``
        (t), with ``tail_nodes`` nodes.
    """
    if method not in ("green", "free-energy"):
        raise ParameterError("method", f"must be green or free-energy, got {method!r}")
    d0 = mapping.physical.delta0
    t_t = float(params.temperature) * mapping.tc0  # mapping.tc0 is in t
    omegas, weights = matsubara_nodes(t_t, cutoff * d0, omega_max, tail_nodes)
    phases = np.atleast_1d(np.asarray(phases, float))
    k_points = np.atleast_1d(np.asarray(k_points, float))
    fsyst = sns_junction(params.length)
    kp = kwant_params(mapping, params)
    dfdphi = np.zeros(len(phases))
    trans = 0.0
    h = _STENCIL_STEP
    for k in k_points:
        mats = junction_matrices(fsyst, kp, k)
        if method == "green":
            dfdphi += _dfdphi_k(mats, omegas, weights, phases)
        else:
            shifted = np.concatenate([phases + s * h for s in (-2, -1, 1, 2)])
            f = _free_energy_k(mats, omegas, weights, shifted).reshape(4, -1)
            dfdphi += (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h)
        trans += normal_transmission(mapping, params, k)
    dfdphi /= len(k_points)
    trans /= len(k_points)
    current = 4 * np.pi * dfdphi / (trans * d0)
    return JosephsonCurrent(phases, current, dfdphi, trans, k_points, method)


@dataclass(frozen=True)
class JunctionLDOS:
    """Spin-resolved electron local DOS of the barrier row, on an (phase, energy) grid.

    Attributes
    ----------
    phase : ndarray, shape (p,)
    energy : ndarray, shape (e,)
        Δ0.
    ldos : ndarray, shape (p, e)
        Electron LDOS per site of the barrier row, both spins, in units of the normal-state
        DOS 2 N_0 (so 1 far from the gap in a uniform normal metal).
    spin : ndarray, shape (p, e, 3)
        ``-(1/π) Im Tr[G^R P_e σ_a]`` per site, same units: the spin density of states
        along x, y, z.
    eta : float
        Broadening ``E + iη``, Δ0.
    """

    phase: np.ndarray
    energy: np.ndarray
    ldos: np.ndarray
    spin: np.ndarray
    eta: float


def junction_ldos(mapping, params, phases, energies, *, n_k=16, k_max=None, eta=0.02):
    """Spin-resolved electron LDOS on the barrier row (the junction), k_x-averaged.

    Parameters
    ----------
    mapping : LatticeMapping
    params : SNSParams
    phases : array_like, shape (p,)
    energies : array_like, shape (e,)
        Δ0.
    n_k : int
        Transverse momenta: midpoint rule on ``[-k_max, k_max]``; the rest of the folded
        zone holds no states near E_F and is left out.
    k_max : float, optional
        Default `latticemirage.transport.k_window` at the largest ``|E|``.
    eta : float
        Broadening, Δ0 (> 0): the bound states become Lorentzians of this half width.
    """
    if not eta > 0:
        raise ParameterError("eta", f"must be > 0, got {eta!r}")
    d0 = mapping.physical.delta0
    phases = np.atleast_1d(np.asarray(phases, float))
    energies = np.atleast_1d(np.asarray(energies, float))
    z = (energies + 1j * eta) * d0
    if k_max is None:
        from latticemirage.transport import k_window

        k_max = k_window(mapping, float(np.max(np.abs(energies))))
    k_points = k_max * (2 * (np.arange(n_k) + 0.5) / n_k - 1)
    fsyst = sns_junction(params.length)
    kp = kwant_params(mapping, params)
    ops = [np.kron(np.diag([1.0, 0.0]), m) for m in (np.eye(2), *_PAULI)]
    out = np.zeros((len(phases), len(energies), 4))
    for k in k_points:
        mats = junction_matrices(fsyst, kp, k)
        n = mats.h.shape[0]
        sig_l, sig_r = _sigmas(mats, z)
        rows = np.arange(4 * PERIOD)  # the barrier row: the first PERIOD sites
        for p, phase in enumerate(phases):
            g = np.linalg.inv(z[:, None, None] * np.eye(n) - _heff(mats, sig_l, sig_r, phase))
            block = g[:, rows[:, None], rows[None, :]]
            for a, op in enumerate(ops):
                full = np.kron(np.eye(PERIOD), op)
                out[p, :, a] += -np.einsum("eij,ji->e", block, full).imag / np.pi
    # ∫dk/2π over the folded zone as the midpoint rule on the window; per site.
    out *= (2 * k_max / n_k) / (2 * np.pi) / PERIOD
    out /= 2 * mapping.n0  # normal-state DOS per site, both spins (1/t, like -Im G/π)
    return JunctionLDOS(phases, energies, out[..., 0], out[..., 1:], float(eta))
