r"""Valley-resolved quasiclassical Green's function of the clean lattice (paper Eqs. (7)–(9)).

Definition
----------
For valley v (K or K') the ξ-integrated retarded Green's function of the Bloch
BdG Hamiltonian ``H(k)`` of `latticemirage.model` (from the Builder through
`bulk.fourier_blocks`), at ``z = ε + iη``:

.. math::

    \hat g_v(z) = \frac{i}{\pi \nu_v} \int_{S_v} \frac{d^2k}{A_{BZ}}
        \Big[G_\Delta(k, z) - \mathrm{Herm}\,G_N(k, z)\Big]\tau_3
        \;+\; \hat g_{tail},
    \qquad G(k, z) = (z - H(k))^{-1},

with ``ν_v`` the normal density of states per spin and per site of valley v at the
Fermi level (`LatticeMapping.n0` times the valley's weight), ``S_v`` the shell
``|ξ(k)| < ξ_c`` around the pocket of valley v, ``G_N`` the normal state (Δ = 0, the
same β(k), B) and ``Herm X = (X + X†)/2``. This is ``ĝ = (i/π)∫dξ G^R τ_3`` of
`quasiclassical.eilenberger` written on the lattice:

* the Hermitian part of the normal-state G is the non-quasiclassical background
  (the principal-value integral over the band, independent of Δ near E_F) that the
  ξ integration from −∞ to ∞ of quasiclassics discards; subtracting it leaves, in the
  normal state, ``ĝ_N = ρ_N τ_3 / ν_v`` with ``ρ_N`` the (Dynes-broadened) spectral
  matrix: the normal form ``τ_3`` up to mesh error and the O(β/E_F) spin splitting of
  the density of states. Checking it is a test of the normalization, not a tautology.
* ``ĝ_tail`` is the part of the ξ integral beyond the shell: the Dynes-broadened
  normal spectral weight of those states, ``(1/π)∫_{|ξ|>ξ_c} η dξ/((ε−ξ)²+η²) τ_3``
  (≈ 2η/(π ξ_c), 1e-3 at η = 0.05 Δ0), and, to leading order in ``Δ/ξ_c``, the
  anomalous tail: ``G_Δ − G_N ≈ G_N Δ̂ G_N ≈ −Δ̂/ξ²`` for ``|ξ| ≫ |z|, β, B``, so
  ``−(2i / (π ξ_c)) Δ̂ τ_3`` (Δ̂ the pairing block of H). The neglected
  terms are of relative order ``(β/ξ_c)²`` and ``ν'ξ_c/ν`` of a correction that is
  itself ``2Δ/(π ξ_c)`` (≈ 3 % of ``|f|`` at the default ξ_c = 0.8 E_F).

Nambu basis, gauge and components
    The basis of `latticemirage.model` (``(c↑, c↓, c†↑, c†↓)``, Nambu outer), with the
    lattice's real Δ in the paper's Eq. (1): the "eq1" gauge of
    `quasiclassical.eilenberger` (there ``f^{(1)} = i f^{(8)}``). Components as in the
    paper's Eq. (7): upper-left block ``g_0 σ_0 + g·σ``, upper-right block
    ``(f_0 σ_0 + f·σ) iσ_y``. ``Re g_0`` is the normalized DOS of the valley. Valley K
    holds ``+β`` (``β(k) > 0`` near K).

Method (exact ξ integration of the linear interpolant along rays)
    Each valley is covered in polar coordinates ``k = K_v + p (cos θ, sin θ)``:
    ``n_theta`` rays (uniform θ, trapezoid = exact for the periodic angular
    integral up to its smoothness), and on each ray ``n_radial`` equal steps in p
    between the contours ``ξ = +ξ_c`` and ``ξ = −ξ_c`` (found by bisection; ξ is
    monotonic along rays inside the pocket). At every node H(k) is diagonalized; on
    every segment each band's energy is interpolated linearly and its projector is
    the mean of the two end projectors (bands followed through crossings by
    eigenvector overlap), so the segment contributes a *uniform* spectral density
    ``p̄ Δp Δθ P̄ / |E_b − E_a|`` on ``[E_a, E_b]``, deposited exactly into energy bins
    (fine bins, ≤ η/4, around the requested energies; coarser far away). The
    resolvent of the binned spectral matrix is then taken with the exact kernel of a
    uniform density per bin, ``(1/w) log((z − e_j)/(z − e_{j+1}))``. Cost: one 4×4
    ``eigh`` per node and state, independent of the number of energies (energies are
    vectorized in one matrix product).

Units: energies in Δ0 at the interface (`valley_green`), t inside.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from latticemirage import bulk, model
from latticemirage.mapping import LatticeMapping
from mirage_common.errors import ParameterError, check_positive

__all__ = [
    "COMPONENT_NAMES",
    "VALLEYS",
    "ValleyGreen",
    "check_inputs",
    "check_polar_mesh",
    "components",
    "valley_green",
]

#: Component names, in the order of `quasiclassical.eilenberger.Components.NAMES`.
COMPONENT_NAMES = ("g0", "gx", "gy", "gz", "f0", "fx", "fy", "fz")
#: Valley labels as in the columns of ``mirage qc dos`` (K: +β, Kp: −β).
VALLEYS = ("K", "Kp")

_SIGMA = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
                  dtype=complex)
_ISY = np.array([[0, 1], [-1, 0]], dtype=complex)  # i sigma_y
_TAU3 = np.diag([1.0, 1.0, -1.0, -1.0]).astype(complex)
_KM_DISTANCE = 2 * np.pi / 3
# Default shell half-width ξ_c as a fraction of the pocket depth E_F (must be < 1: the
# contour ξ = +ξ_c has to enclose the valley centre, where ξ = E_F).
DEFAULT_XI_CUT_FRACTION = 0.8
DEFAULT_N_THETA = 360
DEFAULT_N_RADIAL = 480
# Fine energy bins per eta and the padding (in eta) of the fine region.
_BINS_PER_ETA = 4.0
_PAD_ETA = 40.0
# Coarse bins: width at most this fraction of their distance to the fine region.
_COARSE_RATIO = 0.05
# Segments narrower than this (t) in energy are treated as having this width.
_MIN_SPAN = 1e-12


def components(g):
    r"""Split 4×4 Green's functions into ``g0, gx, gy, gz, f0, fx, fy, fz`` (paper Eq. (7)).

    Upper-left block ``g_0 σ_0 + g·σ``; upper-right block ``(f_0 σ_0 + f·σ) iσ_y``, read
    as they are (the lattice's real-Δ Eq. (1) gauge, ``"eq1"`` of `quasiclassical`).

    Parameters
    ----------
    g : array_like, shape (..., 4, 4)

    Returns
    -------
    dict of str to ndarray, complex, shape (...)
    """
    g = np.asarray(g)
    upper_left = g[..., :2, :2]
    pair = g[..., :2, 2:] @ (-_ISY)  # (f0 + f.sigma) = UR (i sigma_y)^{-1}
    out = {}
    for k, name in enumerate(COMPONENT_NAMES[:4]):
        out[name] = 0.5 * np.einsum("ij,...ji->...", _SIGMA[k], upper_left)
    for k, name in enumerate(COMPONENT_NAMES[4:]):
        out[name] = 0.5 * np.einsum("ij,...ji->...", _SIGMA[k], pair)
    return out


def check_polar_mesh(n_theta, n_radial):
    """Validate the polar mesh sizes (`ParameterError` naming the option)."""
    for name, value, low in (("n_theta", n_theta, 12), ("n_radial", n_radial, 8)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ParameterError(name, f"must be an integer >= {low}, got {value!r}")
    return int(n_theta), int(n_radial)


@dataclass(frozen=True, eq=False)
class ValleyGreen:
    """Valley-resolved quasiclassical Green's functions of the clean lattice.

    Attributes
    ----------
    energies : ndarray, shape (n,)
        Real energies ε, Δ0.
    g : ndarray, shape (2, n, 4, 4), complex
        ``ĝ_v(ε + iη)`` for valleys (K, K'), eq1 gauge (module docstring).
    eta, delta, xi_cut : float
        Dynes broadening, gap and shell half-width, Δ0.
    nu : ndarray, shape (2,)
        ``ν_v`` per spin per site, 1/t.
    n_theta, n_radial : int
        Polar mesh per valley.
    n_k : int
        k points diagonalized (both valleys, superconducting and normal state).
    mapping : LatticeMapping
    """

    energies: np.ndarray = field(repr=False)
    g: np.ndarray = field(repr=False)
    eta: float
    delta: float
    xi_cut: float
    nu: np.ndarray = field(repr=False)
    n_theta: int
    n_radial: int
    n_k: int
    mapping: LatticeMapping = field(repr=False)

    def components(self):
        """``{name: ndarray (2, n)}`` for the eight components (valley axis first)."""
        return components(self.g)

    def columns(self):
        """Columns ``{comp}_{valley}`` (complex) as in ``mirage qc dos``."""
        comps = self.components()
        return {f"{name}_{valley}": comps[name][i]
                for i, valley in enumerate(VALLEYS) for name in COMPONENT_NAMES}

    @property
    def dos(self):
        """Valley-averaged normalized DOS ``Re g0`` (weights ν_v), shape (n,)."""
        w = self.nu / self.nu.sum()
        return np.einsum("v,vn->n", w, components(self.g)["g0"].real)

    def metadata(self):
        """Parameters actually used, for result files."""
        return {
            "components_method": "xi-integrated lattice Green's function on polar rays "
                                 "(latticemirage.green); eq1 gauge (real Delta in Eq. (1))",
            "components_eta_delta0": self.eta,
            "components_xi_cut_delta0": self.xi_cut,
            "components_n_theta": self.n_theta,
            "components_n_radial": self.n_radial,
            "components_n_k": self.n_k,
            "components_nu_per_spin_per_site_1_over_t": [float(x) for x in self.nu],
            "valleys": "K: +beta (s = +1), Kp: -beta (s = -1)",
        }


def _xi(blocks, k):
    h = bulk.bloch_hamiltonian(blocks, k)
    return 0.5 * (h[..., 0, 0].real + h[..., 1, 1].real)


def _ray_bounds(blocks, center, direction, xi_cut):
    """Radii where ξ = +ξ_c and ξ = −ξ_c along each ray (bisection), shape (n,) each."""
    def radius(level):
        lo = np.zeros(len(direction))
        hi = np.full(len(direction), _KM_DISTANCE)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            above = _xi(blocks, center + mid[:, None] * direction) > level
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        return 0.5 * (lo + hi)

    ends = _xi(blocks, center + _KM_DISTANCE * direction)
    start = _xi(blocks, center + 0 * direction)
    if not (np.all(start > xi_cut) and np.all(ends < -xi_cut)):
        raise ParameterError("xi_cut", "the shell |xi| < xi_cut does not fit inside the pockets")
    return radius(xi_cut), radius(-xi_cut)


_PERMS = np.array([
    (a, b, c, d) for a in range(4) for b in range(4) for c in range(4) for d in range(4)
    if len({a, b, c, d}) == 4
])


def _follow(vecs_a, vecs_b):
    """Permutation of the bands at b matching band i at a (max. eigenvector overlap)."""
    overlap = np.abs(np.conj(np.swapaxes(vecs_a, -1, -2)) @ vecs_b) ** 2  # (n, i, j)
    best = np.argmax(overlap, axis=2)
    ambiguous = np.flatnonzero(~np.all(overlap.max(axis=2) > 0.5, axis=1))
    if len(ambiguous):
        score = overlap[ambiguous][:, np.arange(4), _PERMS].sum(axis=-1)
        best[ambiguous] = _PERMS[np.argmax(score, axis=1)]
    return best


def _edges(lo, hi, fine_lo, fine_hi, width):
    """Bin edges: uniform *width* on [fine_lo, fine_hi], geometrically coarser outside."""
    fine_lo, fine_hi = max(fine_lo, lo), min(fine_hi, hi)
    n = max(1, math.ceil((fine_hi - fine_lo) / width))
    fine = np.linspace(fine_lo, fine_lo + n * width, n + 1)
    right, x = [], fine[-1]
    while x < hi:
        x = x + max(width, _COARSE_RATIO * (x - fine[-1]))
        right.append(x)
    left, x = [], fine[0]
    while x > lo:
        x = x - max(width, _COARSE_RATIO * (fine[0] - x))
        left.append(x)
    return np.concatenate([left[::-1], fine, right])


def _spectral_masses(blocks, center, p_in, p_out, theta, n_radial, edges, area_factor,
                     rays_per_chunk=48):
    """Spectral matrix of one valley's shell integrated over the energy bins.

    Returns the bin masses, shape (n_bins, 4, 4) complex, in states per unit cell, and
    the extreme node eigenvalues (min, max) in t.
    """
    n_theta = len(theta)
    n_edges = len(edges)
    d1 = np.zeros((n_edges + 1, 16), complex)
    d0 = np.zeros((n_edges + 1, 16), complex)
    e_min, e_max = np.inf, -np.inf
    frac = np.linspace(0.0, 1.0, n_radial + 1)
    for s in range(0, n_theta, rays_per_chunk):
        sl = slice(s, s + rays_per_chunk)
        th, pi_, po = theta[sl], p_in[sl], p_out[sl]
        direction = np.stack([np.cos(th), np.sin(th)], axis=-1)
        p = pi_[:, None] + (po - pi_)[:, None] * frac[None, :]  # (nt, nr+1)
        k = center + p[..., None] * direction[:, None, :]
        ev, vecs = np.linalg.eigh(bulk.bloch_hamiltonian(blocks, k))
        e_min, e_max = min(e_min, ev.min()), max(e_max, ev.max())
        va, vb = vecs[:, :-1], vecs[:, 1:]
        perm = _follow(va.reshape(-1, 4, 4), vb.reshape(-1, 4, 4)).reshape(*va.shape[:2], 4)
        ea = ev[:, :-1]
        eb = np.take_along_axis(ev[:, 1:], perm, axis=2)
        vb = np.take_along_axis(vb, perm[..., None, :], axis=3)
        # Projector |u><u| of each band, mean of the two ends: (nt, nr, band, 4, 4).
        proj = 0.5 * (np.einsum("...in,...jn->...nij", va, va.conj())
                      + np.einsum("...in,...jn->...nij", vb, vb.conj()))
        dp = (po - pi_) / n_radial
        pbar = 0.5 * (p[:, :-1] + p[:, 1:])
        weight = pbar * dp[:, None] * (2 * np.pi / n_theta) * area_factor  # (nt, nr)
        lo = np.minimum(ea, eb).reshape(-1)
        hi = np.maximum(np.maximum(ea, eb).reshape(-1), lo + _MIN_SPAN)
        wseg = np.broadcast_to(weight[..., None], ea.shape).reshape(-1)
        dens = (wseg / (hi - lo))[:, None] * proj.reshape(-1, 16)  # (nseg, 16)
        # F(e) = sum_s dens_s [(e - lo_s)_+ - (e - hi_s)_+] = e C1(e) - C0(e), C1 and C0
        # cumulative sums over the segments that start / end below e.
        ia = np.searchsorted(edges, lo, side="right")
        ib = np.searchsorted(edges, hi, side="right")
        nseg = len(lo)
        cols = np.arange(nseg)

        def scatter(index, values, nseg=nseg, cols=cols):
            mat = sp.csr_matrix((np.ones(nseg), (index, cols)), shape=(n_edges + 1, nseg))
            return mat @ values

        d1 += scatter(ia, dens) - scatter(ib, dens)
        d0 += scatter(ia, dens * lo[:, None]) - scatter(ib, dens * hi[:, None])
    c1 = np.cumsum(d1, axis=0)[:n_edges]
    c0 = np.cumsum(d0, axis=0)[:n_edges]
    f = edges[:, None] * c1 - c0
    return np.diff(f, axis=0).reshape(-1, 4, 4), (e_min, e_max)


def _resolvent(masses, edges, z, chunk=256):
    """``sum_j M_j (1/w_j) log((z − e_j)/(z − e_{j+1}))`` for stacked bin masses.

    *masses* has shape (n_bins, m); returns shape (len(z), m). One kernel evaluation
    serves all stacked matrices (valleys, states).
    """
    w = np.diff(edges)
    flat = masses / w[:, None]
    out = np.empty((len(z), masses.shape[1]), complex)
    for s in range(0, len(z), chunk):
        zz = z[s:s + chunk, None]
        kern = np.log((zz - edges[None, :-1]) / (zz - edges[None, 1:]))
        out[s:s + chunk] = kern @ flat
    return out


def check_inputs(physical, energies, *, eta, delta, n_theta=DEFAULT_N_THETA,
                 n_radial=DEFAULT_N_RADIAL, xi_cut=None):
    """Validate the arguments of `valley_green` before any computation.

    Parameters are those of `valley_green` (*physical* a `PhysicalParameters`; *delta*
    an upper bound of the gap when it is still to be solved, e.g. 1 Δ0).

    Returns
    -------
    energies : ndarray, shape (n,)
    xi_cut : float
        The shell half-width to use, Δ0.

    Raises
    ------
    ParameterError
        Naming ``eta``, ``delta``, ``energies``, ``n_theta``, ``n_radial`` or ``xi_cut``.
    """
    check_positive("eta", eta)
    if delta is None:
        raise ParameterError("delta", "is None: give a gap or solve it with latticemirage.gap")
    if not (np.isfinite(delta) and delta >= 0):
        raise ParameterError("delta", f"must be finite and >= 0, got {delta!r}")
    check_polar_mesh(n_theta, n_radial)
    energies = np.asarray(energies, dtype=float)
    if energies.ndim != 1 or energies.size < 1 or not np.all(np.isfinite(energies)):
        raise ParameterError("energies", "need a 1-D array of finite energies")
    xi_cut = DEFAULT_XI_CUT_FRACTION * physical.e_fermi if xi_cut is None else float(xi_cut)
    reach = np.abs(energies).max() + physical.beta + physical.field + delta
    if not (reach + 2 * eta < xi_cut < physical.e_fermi):
        raise ParameterError(
            "xi_cut", f"must lie in (max|E| + beta + B + Delta + 2 eta, E_F) = "
                      f"({reach + 2 * eta:.4g}, {physical.e_fermi:.4g}) Δ0, got {xi_cut:.4g}")
    return energies, xi_cut


def valley_green(mapping, energies, *, eta, delta=None, n_theta=DEFAULT_N_THETA,
                 n_radial=DEFAULT_N_RADIAL, xi_cut=None, fsyst=None):
    r"""Valley-resolved ``ĝ_v(ε + iη)`` of the clean lattice (see module docstring).

    Parameters
    ----------
    mapping : LatticeMapping
    energies : array_like, shape (n,)
        Real energies, Δ0, ``|ε| < E_F``; any order.
    eta : float
        Dynes broadening, Δ0 (> 0; the same η as ``mirage qc dos --eta``).
    delta : float, optional
        Gap, Δ0; default ``mapping.physical.delta``.
    n_theta, n_radial : int
        Rays per valley and radial steps per ray.
    xi_cut : float, optional
        Shell half-width ξ_c, Δ0; default 0.8 E_F. Must exceed ``max|ε| + β + B`` by
        2 η and stay below E_F.
    fsyst : finalized wrapped system, optional

    Returns
    -------
    ValleyGreen

    Raises
    ------
    ParameterError
        Bad eta, delta, energies, mesh sizes or xi_cut (before any computation).
    """
    phys = mapping.physical
    if delta is None:
        delta = phys.delta
    energies, xi_cut = check_inputs(phys, energies, eta=eta, delta=delta, n_theta=n_theta,
                                    n_radial=n_radial, xi_cut=xi_cut)
    n_theta, n_radial = int(n_theta), int(n_radial)
    fsyst = bulk.wrapped_system() if fsyst is None else fsyst
    d0 = mapping.delta0
    blocks_sc = bulk.fourier_blocks(fsyst, mapping.lattice_params(delta))
    blocks_n = bulk.fourier_blocks(fsyst, mapping.lattice_params(0.0))
    cell_area = abs(np.linalg.det(np.asarray(model.LATTICE.prim_vecs)))
    area_factor = cell_area / (2 * np.pi) ** 2
    theta = 2 * np.pi * (np.arange(n_theta) + 0.5) / n_theta
    direction = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    eta_t, xc_t = eta * d0, xi_cut * d0
    z = (energies + 1j * eta) * d0
    span = (phys.e_fermi + phys.beta + phys.field + delta) * d0 * 1.5
    edges = _edges(-span, span, (energies.min() - _PAD_ETA * eta) * d0,
                   (energies.max() + _PAD_ETA * eta) * d0, eta_t / _BINS_PER_ETA)
    pairing = blocks_sc[(0, 0)] - blocks_n[(0, 0)]  # the pairing block Δ̂ (onsite)
    tail = -(2j / (np.pi * xc_t)) * pairing @ _TAU3
    weights = mapping.fs_weights.sum(axis=1)
    nu = mapping.n0 * weights / weights.sum()
    stacked = []
    n_k = 0
    for center in (model.VALLEY_K, model.VALLEY_KP):
        p_in, p_out = _ray_bounds(blocks_n, center, direction, xc_t)
        for blocks in (blocks_sc, blocks_n):
            masses, (e_min, e_max) = _spectral_masses(blocks, center, p_in, p_out, theta,
                                                      n_radial, edges, area_factor)
            if e_min <= edges[0] or e_max >= edges[-1]:
                raise RuntimeError("shell eigenvalues outside the binned energy range")
            stacked.append(masses.reshape(-1, 16))
            n_k += n_theta * (n_radial + 1)
    res = _resolvent(np.concatenate(stacked, axis=1), edges, z).reshape(len(z), 2, 2, 4, 4)
    g = np.empty((2, len(z), 4, 4), complex)
    for v in range(2):
        sc, normal = res[:, v, 0], res[:, v, 1]
        herm_n = 0.5 * (normal + np.conj(np.swapaxes(normal, -1, -2)))
        g[v] = (1j / (np.pi * nu[v])) * (sc - herm_n) @ _TAU3 + tail
    # Normal spectral weight of the states beyond the shell (their Lorentzian tails):
    # (1/π) ∫_{|ξ|>ξ_c} η dξ / ((ε − ξ)² + η²), times τ_3.
    beyond = 1.0 - (np.arctan((xi_cut - energies) / eta)
                    + np.arctan((xi_cut + energies) / eta)) / np.pi
    g += beyond[None, :, None, None] * _TAU3
    return ValleyGreen(energies=energies, g=g, eta=float(eta), delta=float(delta),
                       xi_cut=float(xi_cut), nu=nu, n_theta=n_theta, n_radial=n_radial,
                       n_k=int(n_k), mapping=mapping)
