r"""Short Josephson junction between two Ising superconductors with in-plane fields.

Geometry and model
------------------
Two homogeneous Ising superconductors (left ``x < 0``, right ``x > 0``) meet at a
spin-independent barrier of transparency :math:`\tau` (a delta potential; the normal
region is short compared with the coherence length, "short junction"). Each side is the
clean bulk of `quasiclassical.eilenberger` (its conventions hold here: Nambu outer x
spin inner, Eq. (8) gauge, energies in :math:`\Delta_0`): gap :math:`\Delta` (the same
on both sides unless ``delta_right`` is given, e.g. each side's self-consistent gap at
its own field, `self_consistent_gaps`), Ising field :math:`s\beta` in valley
:math:`s = \pm 1`, in-plane Zeeman energy :math:`B_{L,R}` at angle :math:`\phi_{L,R}`
from x. The phase difference :math:`\varphi` sits on the right side's gap,
:math:`\Delta_R = \Delta e^{i\varphi}` (in the Eq. (1) language), i.e. every right-side
matrix is rotated by :math:`U = e^{i\varphi\tau_3/2}`:
:math:`\hat g_R(\varphi) = U \hat g_R(0) U^\dagger`.

Each valley is its own set of channels (transverse momentum and the valley are conserved
by a smooth, spin-independent interface); the Ising field is the same for the right- and
left-moving electrons of one valley, so the bulk Green's functions do not depend on the
direction of motion and every channel of a valley is the same 1D problem.

Andreev equations (one valley, one channel)
-------------------------------------------
With :math:`\psi(x) = e^{ik_Fx}a(x) + e^{-ik_Fx}b(x)` (4-component envelopes) and the
Eilenberger matrix :math:`M(E) = E\tau_3 - \hat\Delta - \hat\nu` (`bare_matrix`),

.. math:: v_F\,\partial_x a = iM a, \qquad v_F\,\partial_x b = -iM b.

A bound state at real :math:`E` inside both sides' gaps decays on both sides: on the left
:math:`a(0)` lies in the eigenspace of :math:`M_L` with Im < 0 and :math:`b(0)` in the one
with Im > 0, on the right the opposite. The delta barrier :math:`U\delta(x)` gives
continuity :math:`a_L + b_L = a_R + b_R` and
:math:`a_R - b_R - a_L + b_L = -2iZ(a_R + b_R)`, with :math:`Z = mU/k_F` the same for
electrons and holes and :math:`\tau = 1/(1 + Z^2)`. `matching_matrix` is this 8x8 linear
system; its null vector is the bound state (`spin` integrates its electron part).

Bound-state energies
--------------------
They are found from the equivalent Nazarov form, which is a family of real functions:
with :math:`\hat g = \mathrm{sign}_R(M)` and :math:`X = \{\hat g_L, \hat g_R\}/2` (X commutes
with both, so its eigenvalues come in equal pairs), a state sits where an eigenvalue
pair of X equals :math:`1 - 2/\tau` (the zero of
:math:`\det[4 + \tau(\{\hat g_L,\hat g_R\} - 2)]`). BCS check: :math:`X = (E^2 -
\Delta^2\cos\varphi)/(E^2 - \Delta^2)` gives Beenakker's
:math:`E = \pm\Delta\sqrt{1 - \tau\sin^2(\varphi/2)}`. Every root is verified on the
matching matrix (its smallest singular value must vanish, `MATCH_TOL`).

Current-phase relation
----------------------
Per spin-degenerate channel (both spins together) and valley,

.. math::

    F(\varphi) = -\frac{T}{2}\sum_{\omega_n > 0}
        \ln\det\big[4 + \tau(\{\hat g_L(i\omega_n), \hat g_R(i\omega_n)\} - 2)\big],
    \qquad I = \frac{2e}{\hbar}\frac{\partial F}{\partial\varphi},

(BCS: :math:`-2T\sum_\omega\ln(\omega^2 + E_A^2)` per channel, the bound-state free energy
of both spins), so

.. math::

    I = -\frac{e}{\hbar}\,T\sum_{\omega_n > 0}\mathrm{Re\,Tr}\Big[D^{-1}\tau
        \big\{\hat g_L, \tfrac{i}{2}[\tau_3, \hat g_R]\big\}\Big], \qquad
    D = 4 + \tau(\{\hat g_L,\hat g_R\} - 2).

The Matsubara sum is `quasiclassical.gap.matsubara_grid` (explicit terms plus a tail
quadrature). Units of the returned current: :math:`e I R_N / \Delta_0`, with the
normal-state resistance :math:`1/R_N = (e^2/\pi\hbar)\,N\tau` of N spin-degenerate channels,
averaged over the two valleys. Kulik-Omelyanchuk (:math:`\tau = 1`, B = 0):
:math:`eIR_N = \pi\Delta\sin(\varphi/2)\tanh(\Delta\cos(\varphi/2)/2T)`; Ambegaokar-Baratoff
(:math:`\tau \to 0`): :math:`eIR_N = (\pi\Delta/2)\tanh(\Delta/2T)\sin\varphi`.

Spin-polarizing barrier
-----------------------
``polarization`` p along ``polarization_axis`` n makes the barrier
:math:`U(1 + p\,\mathbf n\cdot\boldsymbol\sigma)` for electrons and
:math:`U(1 + p\,\mathbf n\cdot\boldsymbol\sigma^*)` for holes (`barrier_matrix`): the
spins along n see :math:`Z(1 \pm p)`. Nazarov's form needs a spin-independent barrier, so
then the bound states are the zeros of the matching matrix (a scan of its smallest
singular value, `_roots_scan`) and the current comes from the matching (Jost) determinant,
:math:`F = -2T\sum_{\omega_n>0}\ln|\det A(i\omega_n)|` per channel (orthonormal bases; the
right side's rotate with U, so the phase dependence is exact), normalized by the
spin-averaged transparency. Without polarization it equals Nazarov's current (tested).

Normal region of finite length (one channel)
--------------------------------------------
``length`` L > 0 puts a clean normal metal (Δ = 0, no Ising field, no Zeeman field:
:math:`M_N = E\tau_3`) between the barrier (at x = 0) and the right superconductor (from
x = L). L is measured along the channel's direction of motion in units of
:math:`\hbar v_F/\Delta_0` (for a channel at angle θ to the junction's normal,
:math:`L = d\,\Delta_0/(\hbar v_F\cos\theta)`): every channel of the junction is then
this one 1D problem, so the angle average over a 2D Fermi surface is not done here; the
results are those of one channel (and of normal incidence). The envelopes cross N freely,
:math:`a(0) = e^{-iM_NL}a(L)` and :math:`b(0) = e^{+iM_NL}b(L)`, so the right side's
decaying solutions enter the matching at the barrier multiplied by these propagators
(which commute with U: the phase dependence stays exact). Nazarov's form needs the
isotropic bulk :math:`\hat g` at the barrier, so for L > 0 the bound states come from the
scan of the matching matrix and the current from its determinant, as for a polarized
barrier (at :math:`i\omega_n` the propagators are real exponentials, normalized per
column). Checks: Kulik's condition :math:`2EL - 2\arccos(E/\Delta) = \pm\varphi
\pmod{2\pi}` at B = 0, τ = 1 (any β: the Ising field alone leaves the singlet
unchanged), L → 0 equals the short junction, and the lattice at normal incidence with
the same length in these units (tests/test_josephson.py).

Spin of a state
---------------
``spin`` is the expectation value of :math:`\boldsymbol\sigma` of the state's electron
part, normalized to its electron weight (so within [-1, 1]):
:math:`\int(a_e^\dagger\boldsymbol\sigma a_e + b_e^\dagger\boldsymbol\sigma b_e)\,dx /
\int(|a_e|^2 + |b_e|^2)\,dx` (the :math:`2k_F` cross terms average out), with the
exponential integrals done in closed form (for L > 0 plus L times the envelopes'
constant weight in N). For a degenerate pair of states (no spin splitting) it is the spin
of an arbitrary member of the pair.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_unit_vector
from quasiclassical.eilenberger import SIGMA, TAU, bare_matrix, kron, sign_retarded
from quasiclassical.gap import matsubara_grid
from quasiclassical.params import temperature_in_delta0

__all__ = [
    "MATCH_TOL",
    "BoundStates",
    "JunctionParams",
    "ambegaokar_baratoff",
    "beenakker_energy",
    "bound_states",
    "current_phase",
    "kulik_omelyanchuk",
    "matching_matrix",
    "phase_rotation",
    "self_consistent_gaps",
]

_TAU3 = np.asarray(kron(TAU[3], SIGMA[0]))
# Smallest singular value of the (column-normalized) matching matrix still counted as a
# bound state: a true root of the Nazarov function gives ~1e-9 (root tolerance 1e-13 on a
# function whose slope is ~1/Delta near a sqrt-singular edge); a spurious X crossing O(0.1).
MATCH_TOL = 1e-5
# |Im lambda| of M (Delta0) below which an energy counts as inside a continuum.
_GAP_TOL = 1e-7
# A local minimum of the scanned singular value below this is refined (a true state has 0).
_SCAN_CANDIDATE = 0.05
# Roots closer than this (Delta0) are one degenerate level (brentq resolves 1e-13).
_DEGENERATE = 1e-9
# Explicit Matsubara sum up to this many max(Delta, beta, B); the tail quadrature does the rest.
_CUTOFF = 60.0
_VALLEYS = (1, -1)


@dataclass(frozen=True)
class JunctionParams:
    """Parameters of the short junction; energies in Delta0, temperature in T_c0.

    Parameters
    ----------
    beta : float
        Ising field magnitude (valley K: +beta, K': -beta), Delta0.
    delta : float
        Gap on both sides, Delta0 (> 0).
    field_left, field_right : float
        In-plane Zeeman energies, Delta0 (>= 0).
    angle_left, angle_right : float
        In-plane field angles from x, radians.
    transparency : float
        Normal-state transmission tau per channel, 0 < tau <= 1 (of the spin-independent
        barrier, i.e. at ``polarization = 0``).
    temperature : float
        T / T_c0 (> 0; enters the current only).
    polarization : float
        Spin polarization p of the barrier, -1 < p < 1: the barrier potential is
        ``U (1 + p n·σ)`` (``U (1 + p n·σ^*)`` for holes), so the spins along n see
        ``Z (1 ± p)`` (`spin_transparencies`). No effect at tau = 1 (Z = 0).
    polarization_axis : tuple of 3 floats
        The unit vector n.
    delta_right : float, optional
        Gap of the right side, Delta0 (> 0; default: *delta*, then the gap of both sides).
    length : float
        Length of a clean normal region between the barrier and the right side, along the
        channel, in units of ``hbar v_F / Delta0`` (>= 0; 0: short junction). See
        "Normal region of finite length" in the module docstring.
    """

    beta: float = 0.0
    delta: float = 1.0
    field_left: float = 0.0
    field_right: float = 0.0
    angle_left: float = 0.0
    angle_right: float = 0.0
    transparency: float = 1.0
    temperature: float = 0.1
    polarization: float = 0.0
    polarization_axis: tuple = (0.0, 0.0, 1.0)
    delta_right: float | None = None
    length: float = 0.0

    def __post_init__(self):
        check_nonnegative("beta", self.beta)
        check_nonnegative("length", self.length)
        if self.delta_right is not None:
            check_finite("delta_right", self.delta_right)
            if not self.delta_right > 0:
                raise ParameterError("delta_right", f"must be > 0, got {self.delta_right!r}")
        check_nonnegative("field_left", self.field_left)
        check_nonnegative("field_right", self.field_right)
        check_finite("angle_left", self.angle_left)
        check_finite("angle_right", self.angle_right)
        check_finite("delta", self.delta)
        if not self.delta > 0:
            raise ParameterError("delta", f"must be > 0, got {self.delta!r}")
        check_finite("transparency", self.transparency)
        if not 0 < self.transparency <= 1:
            raise ParameterError("transparency",
                                 f"must lie in (0, 1], got {self.transparency!r}")
        check_finite("temperature", self.temperature)
        if not self.temperature > 0:
            raise ParameterError("temperature", f"must be > 0 (T_c0), got {self.temperature!r}")
        check_finite("polarization", self.polarization)
        if not -1 < self.polarization < 1:
            raise ParameterError("polarization",
                                 f"must lie in (-1, 1), got {self.polarization!r}")
        check_unit_vector("polarization-axis", self.polarization_axis)

    @property
    def spin_transparencies(self):
        """``(tau_+, tau_-)`` of the spins along the polarization axis, ``1/(1 + Z^2(1 ± p)^2)``."""
        z2 = 1.0 / self.transparency - 1.0
        return tuple(1.0 / (1.0 + z2 * (1 + s * self.polarization) ** 2) for s in (1, -1))

    @property
    def gap_right(self):
        """Gap of the right side, Delta0 (*delta_right*, or *delta* when not given)."""
        return self.delta if self.delta_right is None else self.delta_right

    @property
    def z(self):
        """Barrier strength Z with tau = 1/(1 + Z^2)."""
        return math.sqrt(1.0 / self.transparency - 1.0)


def phase_rotation(phase):
    r"""``U = exp(i phase tau_3 / 2)``: multiplies the Eq. (1) gap by ``exp(i phase)``."""
    return np.diag(np.exp(0.5j * phase * np.diag(_TAU3).real))


def _m(params, energy, valley, side, phase):
    """Eilenberger matrix of one side, shape energy.shape + (4, 4)."""
    field, angle, gap = ((params.field_left, params.angle_left, params.delta) if side == "left"
                         else (params.field_right, params.angle_right, params.gap_right))
    m = bare_matrix(energy, valley * params.beta, gap, field, angle)
    if side == "right":
        u = phase_rotation(phase)
        m = u @ m @ u.conj().T
    return m


def _gapped(params, energies, valley, phase):
    """True where neither side has bulk states at the real *energies* (shape (n,))."""
    ok = np.ones(len(energies), bool)
    for side in ("left", "right"):
        lam = np.linalg.eigvals(_m(params, energies, valley, side, phase))
        ok &= np.min(np.abs(lam.imag), axis=-1) > _GAP_TOL
    return ok


def _x_pairs(params, energy, valley, phase):
    """The two eigenvalue pairs of X = {g_L, g_R}/2 (real parts, pair means), ascending."""
    gl = sign_retarded(_m(params, np.atleast_1d(energy), valley, "left", phase))
    gr = sign_retarded(_m(params, np.atleast_1d(energy), valley, "right", phase))
    x = 0.5 * (gl @ gr + gr @ gl)
    ev = np.sort(np.linalg.eigvals(x).real, axis=-1)
    return 0.5 * np.stack([ev[..., 0] + ev[..., 1], ev[..., 2] + ev[..., 3]], axis=-1)


def _half_spaces(m):
    """Eigenvectors/eigenvalues of M split by the sign of Im: ((V-, l-), (V+, l+))."""
    lam, vec = np.linalg.eig(m)
    lower = lam.imag < 0
    return (vec[:, lower], lam[lower]), (vec[:, ~lower], lam[~lower])


def barrier_matrix(params):
    """The 4x4 barrier strength ``Z blockdiag(1 + p n·σ, 1 + p n·σ^*)`` (Nambu outer)."""
    n_sigma = sum(c * np.asarray(SIGMA[i + 1]) for i, c in enumerate(params.polarization_axis))
    e = np.eye(2) + params.polarization * n_sigma
    h = np.eye(2) + params.polarization * n_sigma.conj()
    out = np.zeros((4, 4), complex)
    out[:2, :2], out[2:, 2:] = e, h
    return params.z * out


def _propagators(params, energy):
    """``(P_a, P_b)`` = ``exp(-/+ i E tau_3 L)`` as diagonals, shape energy.shape + (4,).

    Each is scaled by a constant per energy so that its largest entry has modulus 1 at
    imaginary energies (no overflow; a factor per column, removed by normalization).
    """
    energy = np.asarray(energy, complex)[..., None]
    s = np.diag(_TAU3).real
    arg_a = -1j * energy * s * params.length
    arg_b = -arg_a
    return (np.exp(arg_a - np.max(arg_a.real, axis=-1, keepdims=True)),
            np.exp(arg_b - np.max(arg_b.real, axis=-1, keepdims=True)))


def _barrier_bases(params, energy, parts):
    """The four bases of *parts* at the barrier: the right side's propagated through N."""
    va, vb, wa, wb = (p[2] for p in parts)
    if params.length > 0:
        pa, pb = _propagators(params, energy)
        wa, wb = pa[..., :, None] * wa, pb[..., :, None] * wb
    return va, vb, wa, wb


def _match(va, vb, wa, wb, zhat):
    """Matching matrix (..., 8, 8) from the four bases (..., 4, 2) and the barrier (4, 4)."""
    eye = np.eye(4)
    top = np.concatenate([va, vb, -wa, -wb], axis=-1)
    bottom = np.concatenate([-va, vb, (eye + 2j * zhat) @ wa, (-eye + 2j * zhat) @ wb],
                            axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def matching_matrix(params, energy, valley, phase):
    """The 8x8 matching matrix of the Andreev equations at a real in-gap *energy*.

    Returns
    -------
    a : ndarray, shape (8, 8)
        Columns: the decaying solutions (a_L, b_L, a_R, b_R), two each, normalized.
        A bound state is a null vector (coefficients c, shape (8,)).
    parts : list of (side, mover, vectors (4, 2), eigenvalues (2,))
    """
    (l_lo, l_hi) = _half_spaces(_m(params, np.array(energy), valley, "left", phase))
    (r_lo, r_hi) = _half_spaces(_m(params, np.array(energy), valley, "right", phase))
    parts = [("left", 1, *l_lo), ("left", -1, *l_hi), ("right", 1, *r_hi), ("right", -1, *r_lo)]
    if any(p[2].shape[1] != 2 for p in parts):
        raise ValueError(f"energy {energy!r} is not inside both sides' gaps")
    return _match(*_barrier_bases(params, energy, parts), barrier_matrix(params)), parts


def _expectation(parts, coeffs, op, length=0.0):
    """Integral of psi^dag op psi over both sides (in units of v_F), op shape (4, 4).

    With a normal region of *length*: the right side's parts start at x = L, and N adds
    ``L x`` the constant ``a^dag op a + b^dag op b`` of the freely propagating envelopes
    (op commutes with the propagators; the 2 k_F cross terms average out).
    """
    total = 0.0
    for k, (side, mover, vec, lam) in enumerate(parts):
        c = coeffs[2 * k: 2 * k + 2]
        # kappa_{jk} of exp(kappa x) in psi_j^* psi_k: i*mover*(lam_k - conj(lam_j)).
        kappa = 1j * mover * (lam[None, :] - lam.conj()[:, None])
        integral = 1.0 / kappa if side == "left" else -1.0 / kappa
        form = vec.conj().T @ op @ vec
        total += np.einsum("j,jk,k->", c.conj(), form * integral, c)
        if side == "right" and length > 0:
            total += length * np.einsum("j,jk,k->", c.conj(), form, c)
    return total.real


_ELECTRON = np.diag([1.0, 1.0, 0.0, 0.0])
_SPIN_OPS = [np.kron(np.diag([1.0, 0.0]), np.asarray(SIGMA[i])) for i in (1, 2, 3)]


def _spin(params, energy, valley, phase, member=0):
    """(spin vector (3,), relative singular value) of the state at *energy*.

    *member* k > 0 takes the (k+1)-th smallest singular vector: the k-th further member of
    a degenerate group of states (orthogonal to the others).
    """
    a, parts = matching_matrix(params, energy, valley, phase)
    norms = np.linalg.norm(a, axis=0)
    _, s, vh = np.linalg.svd(a / norms)
    # Null vector of the column-normalized matrix -> coefficients of the raw bases (the
    # columns' norms differ with a barrier: sqrt(2) on the left, sqrt(2 + 4Z^2) right).
    c = vh[-1 - member].conj() / norms
    weight = _expectation(parts, c, _ELECTRON, params.length)
    spin = np.array([_expectation(parts, c, op, params.length) for op in _SPIN_OPS]) / weight
    return spin, s[-1 - member] / s[0]


@dataclass(frozen=True)
class BoundStates:
    """Andreev bound states on a phase grid (energies in Delta0).

    Attributes
    ----------
    phase, energy, valley : ndarray, shape (n,)
        One row per state: phase (rad), energy, valley (+1 K, -1 K').
    spin : ndarray, shape (n, 3)
        Electron-part spin expectation (x, y, z), see the module docstring.
    residual : ndarray, shape (n,)
        Smallest relative singular value of the matching matrix at the root.
    """

    phase: np.ndarray
    energy: np.ndarray
    valley: np.ndarray
    spin: np.ndarray
    residual: np.ndarray


def _edge(params, inside, outside, valley, phase):
    """Continuum edge between a gapped and a gapless energy, by bisection (to 1e-12)."""
    for _ in range(60):
        mid = 0.5 * (inside + outside)
        if _gapped(params, np.array([mid]), valley, phase)[0]:
            inside = mid
        else:
            outside = mid
        if abs(outside - inside) < 1e-12:
            break
    return inside


def _with_edges(params, grid, valley, phase):
    """The grid plus, at every continuum edge between two nodes, the last gapped energy.

    A bound state between the last gapped node and the edge (close to the gap edge, e.g.
    a weakly bound state at small phase) is then still bracketed.
    """
    ok = _gapped(params, grid, valley, phase)
    extra = []
    for i in np.nonzero(ok[:-1] != ok[1:])[0]:
        inside, outside = (grid[i], grid[i + 1]) if ok[i] else (grid[i + 1], grid[i])
        extra.append(_edge(params, inside, outside, valley, phase))
    grid = np.concatenate([grid, extra])
    order = np.argsort(grid)
    return grid[order], np.concatenate([ok, np.ones(len(extra), bool)])[order]


def _roots_one(params, valley, phase, grid):
    target = 1.0 - 2.0 / params.transparency
    grid, ok = _with_edges(params, grid, valley, phase)
    roots = []
    if not np.any(ok):
        return roots
    f = np.full((len(grid), 2), np.nan)
    f[ok] = _x_pairs(params, grid[ok], valley, phase) - target
    for branch in (0, 1):
        for i in range(len(grid) - 1):
            if not (ok[i] and ok[i + 1]):
                continue
            y0, y1 = f[i, branch], f[i + 1, branch]
            if y0 == 0.0:
                roots.append(grid[i])
            elif y0 * y1 < 0:
                roots.append(brentq(lambda e, b=branch: _x_pairs(params, e, valley, phase)[0, b]
                                    - target, grid[i], grid[i + 1], xtol=1e-13, rtol=1e-13))
    return sorted(roots)


def _scan_value(params, energy, valley, phase):
    """Smallest over largest singular value of the matching matrix with orthonormal bases."""
    return _scan_values(params, energy, valley, phase)[-1]


def _scan_values(params, energy, valley, phase):
    """All singular values of the matching matrix with orthonormal bases, over the largest."""
    _, parts = matching_matrix(params, energy, valley, phase)
    q = [np.linalg.qr(b)[0] for b in _barrier_bases(params, energy, parts)]
    sv = np.linalg.svd(_match(*q, barrier_matrix(params)), compute_uv=False)
    return sv / sv[0]


def _roots_scan(params, valley, phase, grid):
    """Bound states as zeros of the matching matrix (any barrier): local minima of its
    smallest relative singular value on the grid, refined by a bounded minimization.
    Two states closer than two grid steps count as one (a limitation of the scan)."""
    grid, ok = _with_edges(params, grid, valley, phase)
    vals = np.full(len(grid), np.nan)
    for i in np.nonzero(ok)[0]:
        vals[i] = _scan_value(params, grid[i], valley, phase)
    roots = []
    for i in range(1, len(grid) - 1):
        if not (ok[i - 1] and ok[i] and ok[i + 1]):
            continue
        if vals[i] <= vals[i - 1] and vals[i] < vals[i + 1] and vals[i] < _SCAN_CANDIDATE:
            res = minimize_scalar(lambda e: _scan_value(params, e, valley, phase),
                                  bounds=(grid[i - 1], grid[i + 1]), method="bounded",
                                  options={"xatol": 1e-13})
            if res.fun < MATCH_TOL:
                # A degenerate group (e.g. spin-degenerate at B = 0) has as many vanishing
                # singular values as members: one root each.
                small = _scan_values(params, float(res.x), valley, phase) < MATCH_TOL
                roots.extend([float(res.x)] * max(1, int(np.sum(small))))
    return sorted(roots)


def bound_states(params, phases, *, e_max=None, points=2001):
    """Andreev bound-state energies, spins and valleys for each phase.

    Parameters
    ----------
    params : JunctionParams
    phases : array_like, shape (p,)
        Phase differences, radians.
    e_max : float, optional
        Search window ``|E| < e_max`` (Delta0); default ``delta + beta + B_max + 1``, which
        holds the gap and the mirage gaps.
    points : int
        Grid points used to bracket the roots (each sign change is then refined).

    Returns
    -------
    BoundStates
        Every root whose matching-matrix residual is below `MATCH_TOL` (verified).
    """
    if e_max is None:
        e_max = (max(params.delta, params.gap_right) + params.beta
                 + max(params.field_left, params.field_right) + 1.0)
    # An even point count keeps E = 0 off the grid (the nodes are symmetric about it).
    grid = np.linspace(-e_max, e_max, points + (points % 2 == 1))
    rows = []
    for phase in np.atleast_1d(np.asarray(phases, float)):
        for valley in _VALLEYS:
            if params.polarization == 0 and params.length == 0:
                roots = _roots_one(params, valley, phase, grid)
            else:  # no Nazarov form (spin-dependent barrier or L > 0): scan the matching
                roots = _roots_scan(params, valley, phase, grid[::2])
            for k, e in enumerate(roots):
                # Members of a degenerate group (equal to round-off) take orthogonal null vectors.
                member = 0
                while k - member - 1 >= 0 and abs(roots[k - member - 1] - e) < _DEGENERATE:
                    member += 1
                spin, res = _spin(params, e, valley, phase, member)
                if res < MATCH_TOL:
                    rows.append((phase, e, valley, *spin, res))
    arr = np.array(rows, float).reshape(-1, 7)
    return BoundStates(arr[:, 0], arr[:, 1], arr[:, 2].astype(int), arr[:, 3:6], arr[:, 6])


def _bases_matsubara(params, omegas, valley, side):
    """Orthonormal bases (n, 4, 2) of the eigenspaces of M(i omega) with Im < 0, Im > 0."""
    lam, vec = np.linalg.eig(_m(params, 1j * omegas, valley, side, 0.0))
    order = np.argsort(lam.imag, axis=-1)
    vec = np.take_along_axis(vec, order[:, None, :], axis=-1)
    return np.linalg.qr(vec[..., :2])[0], np.linalg.qr(vec[..., 2:])[0]


def _current_matching(params, phases, grid):
    """eIR_N/Delta0 from the matching determinant: F = -2T sum_w ln|det A(i w)| per channel.

    ``|det A|`` with orthonormal bases is the Jost determinant up to phase-independent
    factors (the right side's bases rotate with U), so ``dF/dphi`` follows from
    ``Re Tr[A^{-1} dA/dphi]`` with ``dU/dphi = (i/2) tau_3 U``. Normalized by the spin-
    averaged transparency ``(tau_+ + tau_-)/2`` (the normal-state conductance).
    """
    zhat = barrier_matrix(params)
    tau_mean = 0.5 * sum(params.spin_transparencies)
    t_weights = grid.weights / (2 * np.pi)  # T per explicit frequency
    current = np.zeros(len(phases))
    for valley in _VALLEYS:
        # Left: a_L from Im < 0, b_L from Im > 0; right: a_R from Im > 0, b_R from Im < 0
        # (the decay rules of `matching_matrix`, the same at i omega).
        va, vb = _bases_matsubara(params, grid.omegas, valley, "left")
        lo_r, hi_r = _bases_matsubara(params, grid.omegas, valley, "right")
        if params.length > 0:  # through N: a(0) = P_a a(L), b(0) = P_b b(L)
            pa, pb = _propagators(params, 1j * grid.omegas)
        for p, phase in enumerate(phases):
            u = phase_rotation(phase)
            wa, wb = u @ hi_r, u @ lo_r
            if params.length > 0:
                # P commutes with U and tau_3; orthonormalizing the propagated columns
                # changes |det A| by a phase-independent factor only.
                wa = np.linalg.qr(pa[..., :, None] * wa)[0]
                wb = np.linalg.qr(pb[..., :, None] * wb)[0]
            a = _match(va, vb, wa, wb, zhat)
            zero = np.zeros_like(va)
            da = _match(zero, zero, 0.5j * _TAU3 @ wa, 0.5j * _TAU3 @ wb, zhat)
            tr = np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1).real
            d_f = -np.sum(t_weights * tr)
            current[p] += 0.5 * (2 * np.pi / tau_mean) * d_f
    return current


def current_phase(params, phases, *, cutoff=None, method="auto"):
    r"""Supercurrent :math:`eIR_N/\Delta_0` (valley average) at the phases (radians).

    Parameters
    ----------
    params : JunctionParams
    phases : array_like, shape (p,)
    cutoff : float, optional
        Explicit Matsubara sum up to this energy (Delta0), tail by quadrature beyond.
    method : {"auto", "nazarov", "matching"}
        Nazarov's formula (spin-independent barrier only) or the matching determinant
        (any barrier); "auto" takes Nazarov's without polarization.

    Returns
    -------
    ndarray, shape (p,)
    """
    if method not in ("auto", "nazarov", "matching"):
        raise ParameterError("method", f"must be auto, nazarov or matching, got {method!r}")
    if method == "nazarov" and (params.polarization != 0 or params.length > 0):
        raise ParameterError("method", "Nazarov's formula needs a spin-independent barrier "
                                       "(polarization = 0) and a short junction (length 0)")
    phases = np.atleast_1d(np.asarray(phases, float))
    scale = max(params.delta, params.gap_right, params.beta, params.field_left,
                params.field_right)
    grid = matsubara_grid(params.temperature, cutoff or _CUTOFF * scale)
    if method == "matching" or (method == "auto" and (params.polarization != 0
                                                       or params.length > 0)):
        return _current_matching(params, phases, grid)
    tau = params.transparency
    current = np.zeros(len(phases))
    for valley in _VALLEYS:
        gl = sign_retarded(_m(params, 1j * grid.omegas, valley, "left", 0.0))
        gr0 = sign_retarded(_m(params, 1j * grid.omegas, valley, "right", 0.0))
        for p, phase in enumerate(phases):
            u = phase_rotation(phase)
            gr = u @ gr0 @ u.conj().T
            dgr = 0.5j * (_TAU3 @ gr - gr @ _TAU3)
            d = 4 * np.eye(4) + tau * (gl @ gr + gr @ gl - 2 * np.eye(4))
            dd = tau * (gl @ dgr + dgr @ gl)
            tr = np.trace(np.linalg.solve(d, dd), axis1=-2, axis2=-1).real
            # T sum_{w>0} = (1/2pi) sum of weights (weights are 2 pi T per frequency).
            i_channel = -np.sum(grid.weights * tr) / (2 * np.pi)
            current[p] += 0.5 * i_channel * np.pi / tau  # valley average, eIR_N/Delta0
    return current


def self_consistent_gaps(beta, field_left, field_right, temperature):
    """Each side's own bulk gap Delta(B, T) from `quasiclassical.gap.solve_gap` (clean).

    Parameters
    ----------
    beta : float
        Ising field, Delta0.
    field_left, field_right : float
        In-plane Zeeman energies, Delta0 (the gap does not depend on the field's angle).
    temperature : float
        T / T_c0.

    Returns
    -------
    (delta_left, delta_right) : (float, float)
        Delta0; one solve when the fields are equal.

    Raises
    ------
    ParameterError
        Naming ``field-left``/``field-right`` where the gap vanishes (normal state).
    """
    from quasiclassical.gap import solve_gap
    from quasiclassical.params import QCParams

    def gap(field):
        return solve_gap(QCParams(beta=beta, field=field, temperature=temperature)).delta

    left = gap(field_left)
    right = left if field_right == field_left else gap(field_right)
    for name, field, value in (("field-left", field_left, left),
                               ("field-right", field_right, right)):
        if not value > 0:
            raise ParameterError(name, f"the self-consistent gap vanishes at B = {field:g} "
                                 f"Delta0, T = {temperature:g} T_c0 (normal state): no junction")
    return left, right


def beenakker_energy(delta, transparency, phase):
    """Positive bound-state energy of a spin-degenerate channel (Beenakker).

    ``Delta sqrt(1 - tau sin^2(phi/2))``, in the units of *delta*.
    """
    return delta * np.sqrt(1.0 - transparency * np.sin(0.5 * np.asarray(phase)) ** 2)


def kulik_omelyanchuk(delta, temperature, phase):
    r"""Kulik-Omelyanchuk KO-2 current (:math:`\tau = 1`, B = 0), as :math:`eIR_N/\Delta_0`.

    :math:`\pi\Delta\sin(\varphi/2)\tanh(\Delta\cos(\varphi/2)/2T)`; *temperature* in
    T_c0, *delta* in Delta0.
    """
    t = float(temperature_in_delta0(temperature))
    phase = np.asarray(phase, float)
    return np.pi * delta * np.sin(phase / 2) * np.tanh(delta * np.cos(phase / 2) / (2 * t))


def ambegaokar_baratoff(delta, temperature, phase):
    r"""Tunnel limit: :math:`eIR_N/\Delta_0 = (\pi\Delta/2)\tanh(\Delta/2T)\sin\varphi`."""
    t = float(temperature_in_delta0(temperature))
    return 0.5 * np.pi * delta * np.tanh(delta / (2 * t)) * np.sin(np.asarray(phase, float))
