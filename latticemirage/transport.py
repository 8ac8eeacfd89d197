r"""NS-junction transport: Andreev conductance of a normal lead on the Ising superconductor.

Geometry
--------
The junction is built from the value functions of `latticemirage.model` (the
single source of truth of the Hamiltonian). Rows of the triangular lattice
(``LATTICE(a, b)`` with fixed ``b``) run along x; transport is along the second
primitive vector ``p_2 = (1/2, sqrt(3)/2)``::

    normal lead (b < 0) | barrier rows 0 .. barrier_rows-1 | SC lead (b >= barrier_rows)

* The **superconducting lead** is the Ising superconductor itself
  (`model.onsite`, `model.hopping`: μ, λ, in-plane Zeeman B at angle φ, s-wave
  Δ), semi-infinite. Being a lead, it is exact for any coherence length: below
  the gap it carries no current and every electron is reflected (tested:
  ``R_ee + R_he = N``), above it quasiparticles leave into it.
* The **barrier rows** are the superconductor with an extra spin-independent
  potential ``barrier`` (t) on their sites (``+barrier`` for electrons,
  ``-barrier`` for holes, as `model.onsite_disordered`). ``barrier = 0`` is a
  transparent interface.
* The **normal lead** is the same lattice at the same μ with Δ = 0, no Ising SOC
  and no in-plane Zeeman field (a normal metal whose own Zeeman energy is
  negligible), with an optional exchange field ``exchange`` = h (t) along the spin
  axis ``n`` (a ferromagnetic lead): ``H_e = xi - h (n·σ)``. The axis is one of
  x, y, z, the field direction, or any direction (polar angle θ from z, azimuth
  φ from x, radians: `exchange_axis`). With the hole pockets of the model the
  spin ``+n`` pocket is ``E_F - h`` deep and the ``-n`` pocket ``E_F + h``: for
  ``h >= E_F`` only the ``-n`` band crosses the Fermi level (a half metal; the
  library accepts ``|h| < MAX_EXCHANGE E_F``, the CLI only ``|h| < E_F``). Its
  hopping is `model.hopping` at ``lam = 0`` and its onsite term is
  `model.onsite` at ``B = delta = 0`` plus the exchange term. It therefore
  conserves charge (τ_z) and spin along ``n``, and Kwant's ``conservation_law``
  splits its modes into four blocks, in this order::

      0: electron, spin +n     1: electron, spin -n
      2: hole of a +n electron 3: hole of a -n electron

  The "hole of a +n electron" is the hole component in the orbital ``c^†_{+n}``
  (conserved quantity ``(n·σ)^*`` of the hole block = +1): an electron of
  spin +n Andreev-reflected into block 2 has sent a pair of two +n electrons
  into the superconductor (**equal-spin** Andreev reflection); into block 3 a
  ``+n, -n`` pair (**opposite-spin**, the only kind a spin-singlet s-wave
  superconductor without spin mixing produces).

Translation invariance along the interface
------------------------------------------
The system is periodic along x; instead of a wide strip, `kwant.wraparound`
turns the transverse period into a parameter ``k_x`` (the Bloch phase across
one period). The period is three lattice constants (``PERIOD = 3``): this folds
both valleys, ``K_x = -4π/3`` and ``K'_x = +4π/3``, onto ``k_x ≈ 0`` of the
folded zone, so a single window ``|k_x| <= k_max`` holds all modes of both
valleys, and the particle-hole-invariant momentum ``k_x = 0`` carries modes (at
which Kwant's ``particle_hole`` can fix the mode basis, ``particle_hole=True``).
Transverse momentum is conserved modulo the true period (one lattice constant),
so the two valleys folded onto one ``k_x`` never mix. Sums over the transverse
zone use the midpoint rule on ``n_k`` points in the window where the normal
lead has modes.

Conductance (zero temperature, units e²/h per transverse momentum, summed)
--------------------------------------------------------------------------
.. math::

    G_{NS}(E) = \sum_{k_x} [N_e - R_{ee} + R_{he}](E, k_x),

with ``N_e`` the incident electron modes of the normal lead and ``R`` the summed
reflection probabilities from its electron blocks. The normalization ``G_N`` is
the same sum for the same junction with ``delta = 0`` (everything else
unchanged), so ``G_N = sum T`` over the normal-state transmission eigenvalues
``T`` ("normal transmission per mode"). Finite temperature: the zero-temperature
curve convolved with ``-df/dE`` (`thermal_smear`, `thermally_smeared`).

Solvers
-------
``solver="batched"`` (default) computes the same probabilities from the same
Kwant matrices with `latticemirage._modematch` (mode matching and Caroli
formula, vectorized over energies; equal to `kwant.smatrix` to ~1e-9, tested);
``"mumps"``, ``"sparse"`` and ``"default"`` call `kwant.smatrix` with that
Kwant solver (the normal lead's modes precalculated once per energy and k_x).
Work is split into one side-effect-free task per k_x (`_k_point`), run in
process or on any `concurrent.futures.Executor`.
"""

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import kwant
import numpy as np

from latticemirage import model
from latticemirage._modematch import MAX_MODES, check_mode_count
from latticemirage.mapping import LatticeMapping
from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_unit_vector

__all__ = [
    "MAX_EXCHANGE",
    "MAX_MODES",
    "MIN_TRANSMISSION",
    "PERIOD",
    "BandSlope",
    "TransportResult",
    "band_slope",
    "btk_conductance",
    "check_mode_count",
    "check_transmission",
    "exchange_axis",
    "junction_params",
    "k_window",
    "magnetization_sweep",
    "ns_conductance",
    "ns_junction",
    "reflection_blocks",
    "spin_axis_vector",
    "thermal_smear",
    "thermally_smeared",
]

PERIOD = 3  # transverse period in lattice constants: folds K and K' onto k_x ≈ 0
_TAU_Z = np.diag([1.0, 1.0, -1.0, -1.0])
_TAU_X = np.kron(np.array([[0.0, 1.0], [1.0, 0.0]]), np.eye(2))  # P = tau_x K (Nambu basis)
_PAULI = (
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]]),
    np.array([[1, 0], [0, -1]], dtype=complex),
)
# A normal transmission below this (mean per mode) is zero to machine precision:
# reflection probabilities are 1 - T with T lost in round-off (~1e-16 per mode).
MIN_TRANSMISSION = 1e-13
_ENERGY_NUDGE = 1e-9  # t; shift off an exact lead band edge where Kwant cannot sort modes
#: Largest ``|exchange|`` of the normal lead, in units of the pocket depth E_F: beyond E_F
#: the lead is a half metal; up to 2 E_F its -n pocket (3 E_F deep) stays a near-circular
#: pocket about K, K' that the folded window of `k_window` holds (tested: no modes at
#: the window's edge).
MAX_EXCHANGE = 2.0


def spin_axis_vector(axis, phi=0.0):
    """Unit vector of a spin axis: ``"x"``, ``"y"``, ``"z"`` or ``"field"`` (in-plane at *phi*).

    Returns
    -------
    tuple of three floats
    """
    table = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}
    if axis == "field":
        return (float(np.cos(phi)), float(np.sin(phi)), 0.0)
    if axis not in table:
        raise ParameterError("spin-axis", f"must be x, y, z or field, got {axis!r}")
    return table[axis]


def exchange_axis(theta, phi):
    """Unit vector of the exchange field (spin axis of the normal lead) from its angles.

    Parameters
    ----------
    theta : float
        Polar angle from z (out of plane), radians.
    phi : float
        Azimuth from x (in plane; x runs along the interface), radians.

    Returns
    -------
    tuple of three floats
        ``(sin θ cos φ, sin θ sin φ, cos θ)``.
    """
    for name, value in (("exchange-angle", theta), ("exchange-angle", phi)):
        check_finite(name, value)
    return (math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta))


def _axis_vector(spin_axis, phi):
    """`spin_axis_vector` of a name, or a given 3-vector checked to be a unit vector."""
    if isinstance(spin_axis, str):
        return spin_axis_vector(spin_axis, phi)
    axis = np.asarray(spin_axis, dtype=float)
    if (axis.shape != (3,) or not np.all(np.isfinite(axis))
            or not math.isclose(float(np.linalg.norm(axis)), 1.0, rel_tol=1e-9)):
        raise ParameterError("spin-axis", f"must be x, y, z, field or a unit 3-vector, "
                             f"got {spin_axis!r}")
    return tuple(float(c) for c in axis)


def _n_sigma(axis):
    return sum(c * s for c, s in zip(axis, _PAULI, strict=True))


def _conservation_law(axis):
    """``blockdiag(-(n·σ) - 2, -(n·σ)^* + 2)``: eigenvalues -3, -1, 1, 3 = blocks 0..3."""
    ns = _n_sigma(axis)
    return np.block([[-ns - 2 * np.eye(2), np.zeros((2, 2))],
                     [np.zeros((2, 2)), -ns.conj() + 2 * np.eye(2)]])


@functools.lru_cache(maxsize=8)
def ns_junction(barrier_rows=1, spin_axis=(0.0, 0.0, 1.0), particle_hole=False):
    """Finalized NS junction, wrapped around the transverse period (parameter ``k_x``).

    Parameters
    ----------
    barrier_rows : int
        Rows of the barrier (>= 1); with ``barrier = 0`` they are plain superconductor.
    spin_axis : tuple of three floats
        Unit vector ``n`` of the spin conserved in the normal lead (`spin_axis_vector`).
    particle_hole : bool
        Give the normal lead Kwant's ``particle_hole = tau_x`` so that at ``E = 0``
        its hole modes are the particle-hole images of its electron modes. Valid
        only at the particle-hole-invariant momenta ``k_x = 0, π``.

    Returns
    -------
    kwant.system.FiniteSystem
        Parameters: ``t, mu, lam, B, phi, delta`` (model, t units), ``barrier``
        (t), ``exchange`` (t, normal lead) and ``k_x`` (Bloch phase across
        ``PERIOD`` lattice constants). Lead 0 is normal, lead 1 superconducting.
    """
    if int(barrier_rows) != barrier_rows or barrier_rows < 1:
        raise ParameterError("barrier-rows", f"must be an integer >= 1, got {barrier_rows!r}")
    axis = check_unit_vector("spin-axis", spin_axis)
    lat = model.LATTICE
    p1, p2 = (np.asarray(v, dtype=float) for v in lat.prim_vecs)
    kinds = [kwant.builder.HoppingKind(bond, lat) for bond in model.BONDS]
    exchange_e = _n_sigma(tuple(axis))
    exchange_bdg = np.block([[-exchange_e, np.zeros((2, 2))],
                             [np.zeros((2, 2)), exchange_e.conj()]])

    def barrier_onsite(site, mu, B, phi, delta, barrier):
        return model.onsite(site, mu, B, phi, delta) + barrier * _TAU_Z

    def lead_onsite(site, mu, exchange):
        return model.onsite(site, mu, 0.0, 0.0, 0.0) + exchange * exchange_bdg

    def lead_hopping(site1, site2, t):
        return model.hopping(site1, site2, t, 0.0)

    scatter = kwant.Builder(kwant.TranslationalSymmetry(PERIOD * p1))
    for b in range(int(barrier_rows)):
        for a in range(PERIOD):
            scatter[lat(a, b)] = barrier_onsite
    scatter[kinds] = model.hopping

    normal = kwant.Builder(kwant.TranslationalSymmetry(PERIOD * p1, -p2),
                           conservation_law=_conservation_law(tuple(axis)))
    for a in range(PERIOD):
        normal[lat(a, 0)] = lead_onsite
    normal[kinds] = lead_hopping

    sc = kwant.Builder(kwant.TranslationalSymmetry(PERIOD * p1, p2))
    for a in range(PERIOD):
        sc[lat(a, 0)] = model.onsite
    sc[kinds] = model.hopping

    syst = kwant.wraparound.wraparound(scatter)
    normal_lead = kwant.wraparound.wraparound(normal, keep=1)
    if particle_hole:
        normal_lead.particle_hole = _TAU_X
    syst.attach_lead(normal_lead)
    syst.attach_lead(kwant.wraparound.wraparound(sc, keep=1))
    return syst.finalized()


def junction_params(mapping, *, delta, barrier, exchange=0.0, field_=None):
    """Kwant ``params`` of `ns_junction` (without ``k_x``).

    Parameters
    ----------
    mapping : LatticeMapping
    delta : float
        Gap, Δ0.
    barrier, exchange : float
        Barrier height and normal-lead exchange field, t.
    field_ : float, optional
        In-plane Zeeman energy, Δ0 (default: the mapping's).
    """
    m = mapping if field_ is None else mapping.with_field(field_)
    return {**m.lattice_params(delta), "barrier": float(barrier), "exchange": float(exchange)}


def k_window(mapping, e_max, exchange=0.0):
    """Half-width of the folded ``k_x`` window holding every normal-lead mode for ``|E| <= e_max``.

    The normal lead's pockets (no SOC, no field) have radius ``p(E) <= p_F,max
    sqrt(1 + (|E| + |h|)/E_F)`` about K, K' (parabolic top of the band; 5 % margin
    for its warping; the exchange field h deepens one spin's pocket by h), and the
    fold multiplies transverse momenta by ``PERIOD``.

    Parameters
    ----------
    mapping : LatticeMapping
    e_max : float
        Largest ``|E|``, Δ0.
    exchange : float
        Exchange field h of the normal lead, t (default 0).
    """
    phys = mapping.physical
    ratio = 1.0 + abs(e_max) / phys.e_fermi + abs(exchange) / (phys.e_fermi * phys.delta0)
    parabolic = PERIOD * mapping.p_fermi_max * math.sqrt(ratio) * 1.05
    if exchange == 0:
        return min(math.pi, parabolic)  # |E| < E_F/2: holds every mode (tested)
    # Deep pockets (large |h|) are trigonally warped beyond the parabolic estimate: take
    # the larger of it and the pocket's measured extent along x (same 5 % margin).
    params = mapping.lattice_params(0.0)
    depth = (abs(e_max) * phys.delta0 + abs(exchange)) / params["t"]
    extent = PERIOD * _pocket_extent_x(params["mu"] / params["t"], depth) * 1.05
    return min(math.pi, max(parabolic, extent))


def _pocket_extent_x(mu, depth, n_angles=720):
    """Largest ``|k_x - K_x|`` (1/a) of ``{k : xi(k) > -depth}`` about K (t = 1).

    ``xi(k) = -2 sum_j cos(k·a_j) - mu`` (`model.hopping` at ``lam = 0``) has its
    maximum ``3 - mu`` at K; the region is star-shaped about K for ``depth < mu - 2``
    (the M point), so the boundary is found by bisection of the radius per direction.
    """
    if not depth + 3 - mu < 1:  # beyond the van Hove level at M: no closed pocket
        return math.pi
    angles = np.linspace(0, 2 * np.pi, n_angles, endpoint=False)
    u = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    lo, hi = np.zeros(n_angles), np.full(n_angles, 2 * np.pi / 3)  # |K - M| = 2π/3

    def xi(r):
        k = model.VALLEY_K + r[:, None] * u
        return -2 * np.cos(k @ model.BOND_VECTORS.T).sum(axis=-1) - mu

    for _ in range(50):
        mid = 0.5 * (lo + hi)
        inside = xi(mid) > -depth
        lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
    return float(np.max(np.abs(hi * u[:, 0])))


def reflection_blocks(smatrix):
    """Reflection probabilities of the normal lead, by block (0: e+n, 1: e-n, 2: h+n, 3: h-n).

    Returns
    -------
    n_in : ndarray, shape (2,)
        Incident electron modes of spin +n, -n.
    r : ndarray, shape (4, 2)
        ``r[out, in]``: summed ``|s|^2`` from electron block *in* to block *out*.
    """
    n_in = np.array([smatrix.submatrix((0, 0), (0, s)).shape[1] for s in (0, 1)], float)
    r = np.zeros((4, 2))
    for s_in in (0, 1):
        if n_in[s_in] == 0:
            continue
        for out in range(4):
            block = smatrix.submatrix((0, out), (0, s_in))
            r[out, s_in] = float(np.sum(np.abs(block) ** 2))
    return n_in, r


def _smatrix(solver, fsyst, energy, params, **kwargs):
    try:
        return solver.smatrix(fsyst, energy, params=params, check_hermiticity=False, **kwargs)
    except (RuntimeError, ValueError):
        # An energy exactly at a lead band edge (zero velocity) cannot be sorted
        # into in/outgoing modes; a shift of 1e-9 t (~2e-7 Δ0) is far below any
        # feature of the spectrum.
        return solver.smatrix(fsyst, energy + _ENERGY_NUDGE, params=params,
                              check_hermiticity=False, **kwargs)


@dataclass(frozen=True)
class _Task:
    """One transverse momentum: everything a worker needs (picklable)."""

    k: float
    energies_t: tuple
    sc_params: tuple  # one params dict (as sorted items) per field
    normal_params: tuple
    barrier_rows: int
    spin_axis: tuple
    solver_name: str


_SOLVERS = {"default": "kwant.solvers.default", "mumps": "kwant.solvers.mumps",
            "sparse": "kwant.solvers.sparse", "batched": "latticemirage._modematch"}


def _solver(name):
    import importlib

    if name not in _SOLVERS:
        raise ParameterError("solver", f"must be one of {', '.join(_SOLVERS)}, got {name!r}")
    return importlib.import_module(_SOLVERS[name])


def _k_point(task):
    """Scattering data at one ``k_x`` for every energy and field (side-effect free).

    Returns
    -------
    dict of ndarray
        ``n_in`` (n_fields, n_e, 2), ``r`` (n_fields, n_e, 4, 2) superconducting;
        ``n_in_normal``, ``r_normal`` likewise for ``delta = 0``; ``tau_normal``
        (n_fields, n_e, 4): normal transmission eigenvalues, sorted descending,
        NaN-padded (at most 4 electron modes per ``k_x``: 2 valleys x 2 spins).
    """
    fsyst = ns_junction(task.barrier_rows, task.spin_axis)
    solver = _solver(task.solver_name)
    if task.solver_name == "batched":
        return solver.k_point_batched(
            fsyst, np.array(task.energies_t), [dict(p) for p in task.sc_params],
            [dict(p) for p in task.normal_params], task.k, _conservation_law(task.spin_axis))
    n_f, n_e = len(task.sc_params), len(task.energies_t)
    out = {"n_in": np.zeros((n_f, n_e, 2)), "r": np.zeros((n_f, n_e, 4, 2)),
           "n_in_normal": np.zeros((n_f, n_e, 2)), "r_normal": np.zeros((n_f, n_e, 4, 2)),
           "tau_normal": np.full((n_f, n_e, 4), np.nan)}
    for j, energy in enumerate(task.energies_t):
        lead_params = {**dict(task.sc_params[0]), "k_x": task.k}
        # The normal lead depends on neither Δ nor the field: its modes once per (E, k_x).
        try:
            pre = fsyst.precalculate(energy, params=lead_params, leads=[0])
        except (RuntimeError, ValueError):
            energy = energy + _ENERGY_NUDGE
            pre = fsyst.precalculate(energy, params=lead_params, leads=[0])
        for i, (sc, nm) in enumerate(zip(task.sc_params, task.normal_params, strict=True)):
            s = _smatrix(solver, pre, energy, {**dict(sc), "k_x": task.k},
                         in_leads=[0], out_leads=[0])
            out["n_in"][i, j], out["r"][i, j] = reflection_blocks(s)
            s0 = _smatrix(solver, pre, energy, {**dict(nm), "k_x": task.k},
                          in_leads=[0], out_leads=[0, 1])
            out["n_in_normal"][i, j], out["r_normal"][i, j] = reflection_blocks(s0)
            t = np.hstack([s0.submatrix(1, (0, 0)), s0.submatrix(1, (0, 1))])
            if t.size:
                tau = np.sort(np.linalg.eigvalsh(t.conj().T @ t))[::-1]
                check_mode_count(len(tau))
                out["tau_normal"][i, j, : len(tau)] = np.clip(tau, 0.0, 1.0)
    return out


@dataclass(frozen=True, eq=False)
class TransportResult:
    """Andreev conductance of the NS junction at one field (zero or finite temperature).

    Energies in Δ0. Probabilities are per incident electron mode, summed over
    the transverse zone: ``sum_k R / sum_k N``.

    Attributes
    ----------
    energies : ndarray, shape (n,)
    conductance : ndarray, shape (n,)
        ``G_NS / G_N`` (the same junction at Δ = 0).
    normal_reflection : ndarray, shape (n,)
        Electron to electron (both spins).
    andreev_opposite_spin, andreev_equal_spin : ndarray, shape (n,)
        Electron to hole, pair of opposite / equal spins along the lead's axis.
    andreev_equal_spin_by_spin, andreev_opposite_spin_by_spin : ndarray, shape (n, 2)
        The same for incident spin +n (column 0) and -n (column 1), per incident
        mode of that spin.
    normal_transmission : ndarray, shape (n,)
        ``G_N / N``: mean normal-state transmission per mode at each energy.
    transmission_modes : ndarray, shape (n_k, 4)
        Normal-state transmission eigenvalues per ``k_x`` at `reference_energy`
        (descending, NaN-padded where the lead has fewer modes).
    reference_energy : float
        Energy of `transmission_modes` (the grid point nearest 0), Δ0.
    k_points : ndarray, shape (n_k,)
        Folded transverse phases used.
    modes : ndarray, shape (n,)
        Incident electron modes summed over ``k_x``.
    field, delta, barrier, exchange : float
        B and Δ in Δ0; barrier and exchange in t.
    spin_axis : tuple
        Unit vector of the normal lead's spin axis.
    temperature : float
        k_B T of the thermal smearing, Δ0 (0: zero temperature).
    sums : dict of ndarray
        Transverse sums ``n_in`` (n, 2), ``r`` (n, 4, 2) and their ``delta = 0``
        counterparts ``n_in_normal``, ``r_normal`` (see `reflection_blocks`).
    """

    energies: np.ndarray = field(repr=False)
    conductance: np.ndarray = field(repr=False)
    normal_reflection: np.ndarray = field(repr=False)
    andreev_opposite_spin: np.ndarray = field(repr=False)
    andreev_equal_spin: np.ndarray = field(repr=False)
    andreev_opposite_spin_by_spin: np.ndarray = field(repr=False)
    andreev_equal_spin_by_spin: np.ndarray = field(repr=False)
    normal_transmission: np.ndarray = field(repr=False)
    transmission_modes: np.ndarray = field(repr=False)
    reference_energy: float
    k_points: np.ndarray = field(repr=False)
    modes: np.ndarray = field(repr=False)
    field: float
    delta: float
    barrier: float
    exchange: float
    spin_axis: tuple
    temperature: float = 0.0
    sums: dict = field(repr=False, default=None)


def _from_sums(energies, sums, *, tau_ref, k_points, field_, delta, barrier, exchange,
               axis, temperature=0.0):
    """`TransportResult` from transverse-summed probabilities (optionally thermally smeared)."""
    n_in, r, n0, r0 = (sums[k] for k in ("n_in", "r", "n_in_normal", "r_normal"))
    if not np.allclose(n_in.sum(axis=-1), n0.sum(axis=-1)):
        raise RuntimeError("normal lead mode count differs between Δ and Δ = 0 (bug)")
    if temperature > 0:
        # Every current contribution is convolved with -df/dE, then normalized: the
        # measured dI/dV over the normal-state dI/dV at the same temperature.
        n_in, n0 = (thermal_smear(energies, a.T, temperature).T for a in (n_in, n0))
        r, r0 = (np.moveaxis(thermal_smear(energies, np.moveaxis(a, 0, -1), temperature), -1, 0)
                 for a in (r, r0))
    modes = n_in.sum(axis=1)
    r_ee = r[:, 0:2, :].sum(axis=(1, 2))
    r_he = r[:, 2:4, :].sum(axis=(1, 2))
    g_ns = modes - r_ee + r_he
    g_n = modes - r0[:, 0:2, :].sum(axis=(1, 2))
    ref = int(np.argmin(np.abs(energies)))
    with np.errstate(divide="ignore", invalid="ignore"):
        per_spin = np.where(n_in > 0, 1.0 / n_in, 0.0)
        equal = np.stack([r[:, 2, 0], r[:, 3, 1]], axis=1)
        opposite = np.stack([r[:, 3, 0], r[:, 2, 1]], axis=1)
        return TransportResult(
            energies=np.asarray(energies, float),
            conductance=g_ns / g_n,
            normal_reflection=r_ee / modes,
            andreev_opposite_spin=opposite.sum(axis=1) / modes,
            andreev_equal_spin=equal.sum(axis=1) / modes,
            andreev_opposite_spin_by_spin=opposite * per_spin,
            andreev_equal_spin_by_spin=equal * per_spin,
            normal_transmission=g_n / modes,
            transmission_modes=np.asarray(tau_ref),
            reference_energy=float(energies[ref]),
            k_points=np.asarray(k_points, float),
            modes=modes,
            field=float(field_),
            delta=float(delta),
            barrier=float(barrier),
            exchange=float(exchange),
            spin_axis=tuple(axis),
            temperature=float(temperature),
            sums={"n_in": n_in, "r": r, "n_in_normal": n0, "r_normal": r0},
        )


def _assemble(energies, k_points, data, f_index, **kw):
    sums = {key: sum(d[key][f_index] for d in data)
            for key in ("n_in", "r", "n_in_normal", "r_normal")}
    ref = int(np.argmin(np.abs(energies)))
    tau_ref = np.array([d["tau_normal"][f_index, ref] for d in data])  # (n_k, 4)
    return _from_sums(energies, sums, tau_ref=tau_ref, k_points=k_points, **kw)


def thermally_smeared(result, temperature):
    """The same junction at temperature *temperature* (k_B T in Δ0): every current
    contribution convolved with ``-df/dE`` (`thermal_smear`) before normalizing.

    *result* must be at zero temperature on a uniform energy grid; pad the grid by
    ~10 T beyond the window of interest (outside it the curves are continued flat).
    """
    if result.temperature != 0:
        raise ValueError("result is already smeared")
    return _from_sums(result.energies, result.sums, tau_ref=result.transmission_modes,
                      k_points=result.k_points, field_=result.field, delta=result.delta,
                      barrier=result.barrier, exchange=result.exchange, axis=result.spin_axis,
                      temperature=temperature)


def _check_energies(energies, mapping):
    energies = np.asarray(energies, dtype=float)
    if energies.ndim != 1 or len(energies) < 1:
        raise ParameterError("energies", "need a 1-D array of energies (Δ0)")
    check_finite("energies", energies)
    e_f = mapping.physical.e_fermi
    if np.abs(energies).max() >= 0.5 * e_f:
        raise ParameterError("energies", f"|E| must stay below E_F/2 = {0.5 * e_f:g} Δ0 so that "
                             "the normal lead's pockets stay inside the folded window, got "
                             f"max |E| = {np.abs(energies).max():g}")
    return energies


def ns_conductance(mapping, energies, *, delta=None, fields=None, barrier=0.0, barrier_rows=1,
                   spin_axis="z", exchange=0.0, n_k=48, solver="batched", executor=None):
    """Zero-temperature NS conductance and its parts for one or several fields.

    Parameters
    ----------
    mapping : LatticeMapping
    energies : array_like, shape (n,)
        Bias energies E = eV, Δ0 (``|E| < E_F / 2``).
    delta : float or array_like, optional
        Gap, Δ0 (default ``mapping.physical.delta``); one value, or one per field
        (e.g. a self-consistent Δ(B) from `latticemirage.gap`).
    fields : array_like, optional
        In-plane Zeeman energies, Δ0 (default: the mapping's field only).
    barrier : float
        Barrier height on the barrier rows, t (>= 0).
    barrier_rows : int
    spin_axis : str or tuple of three floats
        ``"z"``, ``"x"``, ``"y"``, ``"field"`` or a unit vector (`exchange_axis`): spin
        quantization axis of the normal lead, and the direction of its exchange field.
    exchange : float
        Exchange field h of the normal lead along the spin axis, t (``|h| <
        MAX_EXCHANGE E_F``; ``|h| >= E_F`` is a half metal, only ``-n`` electrons).
    n_k : int
        Transverse momenta (midpoint rule over the window of `k_window`).
    solver : str
        ``"batched"`` (default: `latticemirage._modematch`, the same probabilities
        from the same Kwant matrices, vectorized over energies; equal to
        `kwant.smatrix` to ~1e-12, tested) or Kwant's scattering matrix with
        ``"default"`` (MUMPS if Kwant was built with it), ``"mumps"`` or
        ``"sparse"`` (SciPy).
    executor : concurrent.futures.Executor, optional
        Runs one task per ``k_x`` (`_k_point`); default: in this process.

    Returns
    -------
    list of TransportResult
        One per field.
    """
    if not isinstance(mapping, LatticeMapping):
        raise TypeError("mapping must be a LatticeMapping")
    energies = _check_energies(energies, mapping)
    delta = mapping.physical.delta if delta is None else delta
    if delta is None:
        raise ParameterError("delta", "is required (Δ0)")
    check_nonnegative("delta", delta)
    check_nonnegative("barrier", barrier)
    check_finite("exchange", exchange)
    e_f_t = mapping.physical.e_fermi * mapping.delta0
    if abs(exchange) >= MAX_EXCHANGE * e_f_t:
        raise ParameterError("exchange", f"|exchange| must stay below {MAX_EXCHANGE:g} E_F = "
                             f"{MAX_EXCHANGE * e_f_t:g} t (the folded window holds the lead's "
                             f"pockets up to there), got {exchange!r} t")
    if int(n_k) != n_k or n_k < 2:
        raise ParameterError("n-k", f"must be an integer >= 2, got {n_k!r}")
    _solver(solver)
    fields = np.atleast_1d(mapping.physical.field if fields is None else fields).astype(float)
    deltas = np.broadcast_to(np.asarray(delta, dtype=float), fields.shape)
    if np.ndim(delta) > 1 or (np.ndim(delta) == 1 and len(delta) not in (1, len(fields))):
        raise ParameterError("delta", f"one gap or one per field ({len(fields)}), got {delta!r}")
    for b in fields:  # validates each field against the mapping's limits
        dataclasses.replace(mapping.physical, field=float(b))
    axis = _axis_vector(spin_axis, mapping.physical.phi)
    ns_junction(barrier_rows, axis)  # validates barrier_rows and the axis before any work
    half = k_window(mapping, float(np.abs(energies).max()), exchange)
    k_points = -half + (np.arange(n_k) + 0.5) * (2 * half / n_k)
    sc = tuple(tuple(sorted(junction_params(mapping, delta=d, barrier=barrier,
                                            exchange=exchange, field_=b).items()))
               for b, d in zip(fields, deltas, strict=True))
    nm = tuple(tuple(sorted(junction_params(mapping, delta=0.0, barrier=barrier,
                                            exchange=exchange, field_=b).items()))
               for b in fields)
    energies_t = tuple(float(e) for e in mapping.to_t(energies))
    tasks = [_Task(float(k), energies_t, sc, nm, int(barrier_rows), axis, solver)
             for k in k_points]
    if executor is None:
        data = [_k_point(t) for t in tasks]
    else:
        futures = [executor.submit(_k_point, t) for t in tasks]
        data = []
        for i, fut in enumerate(futures):
            try:
                data.append(fut.result())
            except Exception as exc:
                raise RuntimeError(f"k_x = {k_points[i]:.6g} (task {i}) failed: {exc}") from exc
    return [_assemble(energies, k_points, data, i, field_=b, delta=d, barrier=barrier,
                      exchange=exchange, axis=axis)
            for i, (b, d) in enumerate(zip(fields, deltas, strict=True))]


def check_transmission(mapping, *, barrier, barrier_rows=1, spin_axis="z", exchange=0.0,
                       n_k=4, solver="batched"):
    """Mean normal transmission per mode at E = 0; `ParameterError` if zero to machine precision.

    A barrier that transmits nothing leaves nothing to measure: every
    conductance would be 0/0. Cheap (``n_k`` scattering matrices), run before
    the real computation.
    """
    res = ns_conductance(mapping, [0.0], delta=0.0, barrier=barrier, barrier_rows=barrier_rows,
                         spin_axis=spin_axis, exchange=exchange, n_k=n_k, solver=solver)[0]
    mean = float(res.normal_transmission[0])
    if not mean > MIN_TRANSMISSION:
        raise ParameterError("barrier", f"barrier = {barrier!r} t ({barrier_rows} rows) makes the "
                             f"normal transmission {mean:.3g} per mode, zero to machine precision: "
                             "nothing to measure; lower the barrier")
    return mean


def magnetization_sweep(mapping, energies, thetas, phis, *, exchange, **kwargs):
    """The NS junction with a ferromagnetic lead, for several magnetization directions.

    One `ns_conductance` per direction ``(theta, phi)`` (polar angle from z, azimuth
    from x, radians; `exchange_axis`) at the mapping's field: the equal- and
    opposite-spin Andreev reflection along the magnetization vs its angle.

    Parameters
    ----------
    mapping : LatticeMapping
    energies : array_like, shape (n,)
        Δ0.
    thetas, phis : array_like, shape (m,)
        Directions, radians (broadcast against each other).
    exchange : float
        Exchange field h, t.
    **kwargs
        Passed to `ns_conductance` (``delta``, ``barrier``, ``n_k``, ...; not
        ``spin_axis`` or ``fields``).

    Returns
    -------
    list of TransportResult
        One per direction, in order.
    """
    for name in ("spin_axis", "fields"):
        if name in kwargs:
            raise TypeError(f"magnetization_sweep sets {name} itself")
    thetas, phis = np.broadcast_arrays(np.atleast_1d(np.asarray(thetas, float)),
                                       np.atleast_1d(np.asarray(phis, float)))
    axes = [exchange_axis(float(t), float(p)) for t, p in zip(thetas, phis, strict=True)]
    return [ns_conductance(mapping, energies, spin_axis=a, exchange=exchange, **kwargs)[0]
            for a in axes]


@dataclass(frozen=True)
class BandSlope:
    """Band dependence of the normal-state tunnel probability (`band_slope`).

    Attributes
    ----------
    kappa : float
        ``d ln w / d xi_S``: relative change of the transmission with the band energy of
        the superconductor at fixed lead energy, 1/Δ0.
    e_fermi : float
        Pocket depth, Δ0 (``kappa * e_fermi`` is the dimensionless slope).
    transmission : ndarray, shape (2,)
        Normal transmission summed over k_x for lead spin +n and -n (n along the probe
        field), whose superconductor bands lie at ``xi = E + b`` and ``E - b``.
    probe_field, energy : float
        The Zeeman energy b and the lead energy E of the measurement, Δ0.
    """

    kappa: float
    e_fermi: float
    transmission: np.ndarray = field(repr=False)
    probe_field: float
    energy: float


def band_slope(mapping, *, barrier, probe_field=2.0, energy=0.0, n_k=48, solver="batched"):
    r"""Measure how the tunnel probability depends on the superconductor's band energy.

    In a junction that conserves k_x, the normal-state transmission into a band of the
    superconductor at energy ``xi`` from its Fermi level goes as ``v_N⊥ v_S⊥(xi)`` (tunnel
    limit), summed over k_x: ``w(xi) ≈ w0 (1 + kappa xi)``. This is the input of the
    band-resolved correction of ``quasiclassical.tunneling`` (``band_slope``). Measured here
    on the junction of `ns_junction` in its normal state (Δ = 0) with the Ising coupling
    off and an in-plane Zeeman energy *probe_field* ``b`` along the normal lead's spin
    axis: the lead's electron of spin +n (resp. -n) at energy E enters the band
    ``xi - b`` (``xi + b``) at ``xi = E + b`` (``E - b``), both valleys alike, so

    .. math:: \kappa = \frac{T_+ - T_-}{(T_+ + T_-)\,b},

    with the lead energy and everything else fixed. Measured (barrier 3 t, E_F·Δ0 = 0.15 t,
    n_k = 8-24): ``kappa E_F`` = -0.65 to -0.75, the same within that scatter of the k_x
    midpoint sum at b = 2, 4, 7 Δ0 and E_F = 30, 60, 120 Δ0 (kappa ∝ 1/E_F at fixed pocket,
    linear in b). A parabolic band at normal incidence would give -1/2.

    Parameters
    ----------
    mapping : LatticeMapping
        Only μ, Δ0 and E_F are used (β, B, Δ of the mapping are replaced).
    barrier : float
        Barrier height, t.
    probe_field : float
        b, Δ0 (> 0, at most E_F/3).
    energy : float
        Lead energy E, Δ0.
    n_k : int
    solver : str

    Returns
    -------
    BandSlope
    """
    check_finite("probe_field", probe_field)
    if not probe_field > 0:
        raise ParameterError("probe_field", f"must be > 0 (Δ0), got {probe_field!r}")
    probe = dataclasses.replace(mapping.physical, beta=0.0, field=float(probe_field), phi=0.0,
                                delta=0.0)
    normal = dataclasses.replace(mapping, physical=probe, lam=0.0)
    res = ns_conductance(normal, [float(energy)], delta=0.0, barrier=barrier, spin_axis="field",
                         n_k=n_k, solver=solver)[0]
    n_in, r = res.sums["n_in"][0], res.sums["r"][0]
    trans = n_in - r[0] - r[1]  # per lead spin +n, -n: incident minus electron reflection
    kappa = float((trans[0] - trans[1]) / (trans.sum() * probe_field))
    return BandSlope(kappa=kappa, e_fermi=float(mapping.physical.e_fermi), transmission=trans,
                     probe_field=float(probe_field), energy=float(energy))


def btk_conductance(energies, delta, tau):
    r"""Blonder–Tinkham–Klapwijk conductance of channels of normal transmission *tau*.

    ``Z^2 = (1 - tau) / tau``; per channel (e²/h per spin)

    * ``|E| < Δ``: ``G = 2A``, ``A = Δ² / (E² + (Δ² − E²)(1 + 2Z²)²)``;
    * ``|E| > Δ``: ``G = 1 + A − B`` with ``u² = (1 + sqrt(E² − Δ²)/|E|)/2``,
      ``v² = 1 − u²``, ``γ = u² + Z²(u² − v²)``, ``A = u²v²/γ²``,
      ``B = (u² − v²)² Z²(1 + Z²)/γ²``.

    Parameters
    ----------
    energies : array_like, shape (n,)
    delta : float
        Same unit as *energies*.
    tau : array_like, shape (m,) or (n, m)
        Channel transmissions in (0, 1].

    Returns
    -------
    ndarray, shape (n,)
        ``sum_m G(E, tau_m) / sum_m tau_m`` (normalized by the normal state).
    """
    e = np.abs(np.asarray(energies, float))[:, None]
    tau = np.broadcast_to(np.asarray(tau, float), (e.shape[0], np.shape(tau)[-1]))
    z2 = (1 - tau) / np.where(tau > 0, tau, 1.0)
    inside = e < delta
    with np.errstate(invalid="ignore", divide="ignore"):
        a_in = delta**2 / (e**2 + (delta**2 - e**2) * (1 + 2 * z2) ** 2)
        root = np.sqrt(np.clip(e**2 - delta**2, 0, None))
        u2 = 0.5 * (1 + root / np.where(e > 0, e, 1.0))
        v2 = 1 - u2
        gamma = u2 + z2 * (u2 - v2)
        a_out = u2 * v2 / gamma**2
        b_out = (u2 - v2) ** 2 * z2 * (1 + z2) / gamma**2
    g = np.where(inside, 2 * a_in, 1 + a_out - b_out)
    g = np.where(tau > 0, g, 0.0)
    return g.sum(axis=1) / tau.sum(axis=1)


def thermal_smear(energies, values, temperature):
    r"""Convolve a zero-temperature curve with the thermal window ``-df/dE``.

    ``G(E, T) = ∫ dE' G(E') [-f'(E' - E)]``, ``f(x) = 1/(e^{x/T} + 1)``. *values*
    is taken piecewise constant on bins centred on the uniformly spaced
    *energies*; each bin's weight ``f(lo - E) - f(hi - E)`` is integrated
    exactly, and outside the grid the curve is continued by its edge values
    (so a constant stays constant exactly). The error of the piecewise-constant
    model is ``O(h^2 G'')`` for a bin width h; pad the grid by ~10 T where the
    edges are not flat.

    Parameters
    ----------
    energies : array_like, shape (n,)
        Uniformly spaced, increasing.
    values : array_like, shape (..., n)
    temperature : float
        k_B T in the unit of *energies* (>= 0; 0 returns *values* unchanged).

    Returns
    -------
    ndarray, shape (..., n)
    """
    check_nonnegative("temperature", temperature)
    energies = np.asarray(energies, float)
    values = np.asarray(values, float)
    if temperature == 0:
        return values.copy()
    if len(energies) < 2:
        raise ParameterError("energies", "thermal smearing needs at least two energies")
    h = np.diff(energies)
    if not np.allclose(h, h[0], rtol=1e-9, atol=0) or h[0] <= 0:
        raise ParameterError("energies", "must be increasing and uniformly spaced")
    edges = np.concatenate([energies - h[0] / 2, [energies[-1] + h[0] / 2]])

    def fermi(x):
        return 0.5 * (1 - np.tanh(x / (2 * temperature)))

    x = edges[None, :] - energies[:, None]  # (n, n+1)
    f = fermi(x)
    w = f[:, :-1] - f[:, 1:]  # (n, n)
    below = 1 - f[:, 0]  # weight of E' < first edge
    above = f[:, -1]
    return values @ w.T + below * values[..., :1] + above * values[..., -1:]


