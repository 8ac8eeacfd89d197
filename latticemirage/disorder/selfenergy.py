r"""Disorder-averaged Nambu Green's function and the measured superconducting self-energy.

What is measured
    On a periodic L × L supercell of the BdG model (`latticemirage.disorder.supercell`,
    model basis, twist 0) with a disorder potential ``V τ_3`` (its sample mean removed,
    as in `latticemirage.disorder.rates`), the 4 × 4 plane-wave Green's function

    .. math:: G_{\alpha\beta}(k, z) = \langle k\alpha|(z - H)^{-1}|k\beta\rangle,
              \qquad z = \varepsilon + i\eta,

    for every supercell k in the shells ``|ξ(k)| < ξ_c`` of both valleys, by one sparse
    LU factorization of ``z − H`` per energy and realization and four right-hand sides
    per k (the plane waves ``e^{ik·r}/√N`` on each Nambu-spin orbital). It is averaged
    over realizations. From it:

    The boundary twist is chosen so that one supercell k lies exactly on the Fermi
    surface of valley K (`_fermi_twist`).

    * the **self-energy** at the Fermi surface of valley K, in the convention of
      Eq. (8) (``M = τ_3(z − H − Σ_G)``, so ``Σ̂ = τ_3 Σ_G``):

      .. math:: \hat\Sigma(\varepsilon) = \tau_3\big[G_0(k, z)^{-1}
                - \langle G(k, z)\rangle^{-1}\big],

      averaged over the supercell k of valley K with ``|ξ(k)| < window``; ``G_0`` is the
      clean superconducting Bloch Green's function at the same k. The Hermitian part of
      the *normal-state* self-energy at the same k and realizations (Δ = 0), the real
      band-background renormalization of μ, β and B that the quasiclassical theory absorbs
      into its parameters, is subtracted before the τ_3; its σ0τ0 part is reported as
      ``shift`` and its anti-Hermitian part gives ``gamma_normal`` = Γ_tot. The SCBA predicts
      ``Σ̂ = −i(Γ_a ĝ_K + Γ_e ĝ_K')``, ``Γ_e`` the intervalley and ``Γ_a`` the
      intravalley rate (``−iΓ⟨ĝ⟩`` with ``Γ_a = Γ_e = Γ/2`` for short-range disorder);
    * the **disorder-averaged valley components** ``ĝ_v`` as in `latticemirage.green`:
      ``(i/πν_v) (1/N) Σ_{k ∈ shell v} [⟨G(k, z)⟩ − Herm ⟨G_N(k, z)⟩] τ_3`` plus the
      analytic beyond-shell terms, with ``⟨G_N⟩`` the disorder-averaged normal state
      (Δ = 0, same realizations), whose Hermitian part carries the background including
      the disorder's real shift.
      The supercell grid samples ξ with density ``ν_v L²`` per unit energy; ``η`` (and the
      disorder broadening) must exceed that spacing (checked).

    Errors are jackknife errors over realizations (real and imaginary parts separately).

Why LU and not KPM
    The self-energy needs ``⟨k|G|k⟩`` exactly at individual k and at the Dynes η of the
    quasiclassical side: LU gives it at the cost of one factorization per energy (plus
    cheap solves for all k at once), with a Lorentzian resolution exactly η and no
    stochastic trace error; KPM would need 4 start vectors per k and ~π·9 t/η moments
    for the same resolution (`benchmarks/bench_green.py` states both costs).

Units: t inside; energies in Δ0 at `measure_selfenergy`.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from threadpoolctl import threadpool_limits

from latticemirage import bulk, green, model
from latticemirage.disorder import supercell as scm
from latticemirage.disorder.potentials import realization_rng
from latticemirage.disorder.rates import supercell_kpoints, valley_masks
from mirage_common.errors import ParameterError, check_positive
from mirage_common.statistics import jackknife_complex

__all__ = [
    "SelfEnergyResult",
    "check_grid_eta",
    "clean_grid_green",
    "measure_selfenergy",
    "plane_wave_green",
    "realization_components",
    "twisted_grid",
    "valley_nu",
]

_TAU3 = np.diag([1.0, 1.0, -1.0, -1.0]).astype(complex)


def plane_wave_green(matrix, positions, kpoints, z):
    """``G_{αβ}(k, z) = ⟨kα|(z − H)^{-1}|kβ⟩`` for a supercell BdG matrix (model basis).

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (4 N, 4 N)
        Supercell Hamiltonian, t.
    positions : ndarray, shape (N, 2)
        Site positions (`supercell.site_positions`).
    kpoints : ndarray, shape (n_k, 2)
        Cartesian k (compatible with the supercell's boundary conditions).
    z : complex
        Energy with ``Im z > 0``, t.

    Returns
    -------
    ndarray, shape (n_k, 4, 4), complex
    """
    n = positions.shape[0]
    lu = spla.splu((sp.identity(4 * n, format="csc") * z - matrix).tocsc())
    waves = np.exp(1j * positions @ kpoints.T) / np.sqrt(n)  # (N, n_k)
    out = np.empty((len(kpoints), 4, 4), complex)
    chunk = 64
    for s in range(0, len(kpoints), chunk):
        w = waves[:, s:s + chunk]
        m = w.shape[1]
        rhs = np.zeros((n, 4, m, 4), complex)
        for a in range(4):
            rhs[:, a, :, a] = w
        x = lu.solve(rhs.reshape(4 * n, 4 * m)).reshape(n, 4, m, 4)
        out[s:s + chunk] = np.einsum("rk,rakb->kab", w.conj(), x)
    return out


def valley_nu(mapping):
    """``ν_v`` per spin per site of valleys (K, K'), 1/t, shape (2,).

    ``mapping.n0`` shared by the valleys in proportion to their Fermi-contour weight.
    """
    weights = mapping.fs_weights.sum(axis=1)
    return mapping.n0 * weights / weights.sum()


def check_grid_eta(nu, size, eta, delta0, name="eta"):
    """Refuse an η below the spacing ``1/(ν_v L²)`` of the supercell grid's ξ values.

    Parameters
    ----------
    nu : array_like, shape (2,)
        `valley_nu`, 1/t.
    size : int
        Supercell L.
    eta : float
        Δ0.
    delta0 : float
        Δ0 in t.
    name : str
        The option named in the error.

    Returns
    -------
    float
        The spacing, Δ0.
    """
    spacing = 1.0 / (float(np.min(nu)) * size * size) / delta0  # Δ0 between sampled ξ values
    if not eta >= spacing:
        raise ParameterError(name, f"must exceed the spacing of the supercell's ξ values "
                             f"1/(ν_v L²) = {spacing:.3g} Δ0 (got {eta:g}); use a larger size")
    return spacing


def twisted_grid(size, twist):
    """Cartesian k of the L × L supercell with boundary twist (θ1, θ2), shape (L², 2).

    ``k = k0 + Σ_i θ_i/(2π L) b_i``: the plane waves ``e^{ik·r}`` obey the twisted
    boundary conditions of `latticemirage.disorder.supercell`.
    """
    prim = np.asarray(model.LATTICE.prim_vecs, float)
    recip = 2 * np.pi * np.linalg.inv(prim).T
    k0 = supercell_kpoints((size, size)).reshape(-1, 2)
    return k0 + (np.asarray(twist, float) / (2 * np.pi * size)) @ recip


def _tails(blocks, blocks_n, energies, eta, xi_cut, d0):
    """Beyond-shell terms of ĝ_v (`latticemirage.green`): anomalous tail and normal weight."""
    pairing = blocks[(0, 0)] - blocks_n[(0, 0)]
    tail = -(2j / (np.pi * xi_cut * d0)) * pairing @ _TAU3
    beyond = 1.0 - (np.arctan((xi_cut - energies) / eta)
                    + np.arctan((xi_cut + energies) / eta)) / np.pi
    return tail, beyond


def realization_components(params, potential, size, twist, energies, *, eta, xi_cut, nu,
                           delta0):
    r"""Valley components ``ĝ_v`` of ONE disorder realization, shape (2, n, 4, 4).

    The per-realization term of the disorder-averaged ``ĝ_v`` of `measure_selfenergy`:
    ``(i/πν_v)(1/N) Σ_{k ∈ shell v} [G(k, z) − Herm G_N(k, z)] τ_3`` plus the analytic
    beyond-shell terms, with ``G`` and ``G_N`` the plane-wave Green's functions of this
    realization's superconducting and normal (Δ = 0, same potential) supercells. ĝ is
    affine in G, so the realization average of these equals ĝ of the averaged G.

    Parameters
    ----------
    params : dict
        Kwant parameters in t (``delta`` the gap of this realization).
    potential : ndarray, shape (L, L)
        The realization's potential in t, as used (e.g. centred).
    size : int
        Supercell L.
    twist : (float, float)
        Boundary phases of this realization (its k grid is `twisted_grid`).
    energies : ndarray, shape (n,)
        Δ0.
    eta, xi_cut : float
        Imaginary energy and shell half-width, Δ0.
    nu : array_like, shape (2,)
        `valley_nu`, 1/t.
    delta0 : float
        Δ0 in t.

    Returns
    -------
    ndarray, shape (2, n, 4, 4), complex
        Valleys (K, K'), eq1 gauge (`latticemirage.green`).

    Notes
    -----
    Cost: two sparse LU factorizations of the 4 L² BdG matrix per energy (with and
    without the gap), and 4 solves per shell k for each.
    """
    d0 = float(delta0)
    energies = np.asarray(energies, dtype=float)
    shape = (int(size), int(size))
    fsyst = bulk.wrapped_system()
    params_n = {**params, "delta": 0.0}
    blocks = bulk.fourier_blocks(fsyst, params)
    blocks_n = bulk.fourier_blocks(fsyst, params_n)
    k = twisted_grid(shape[0], twist)
    _, near_k, near_kp = valley_masks(k)
    h_n = bulk.bloch_hamiltonian(blocks_n, k)
    xi = 0.5 * (h_n[:, 0, 0].real + h_n[:, 1, 1].real) / d0  # Δ0
    shell = [np.flatnonzero((np.abs(xi) < xi_cut) & mask) for mask in (near_k, near_kp)]
    used = np.concatenate(shell)
    twist = tuple(float(x) for x in twist)
    sc = scm.supercell(params, shape, twist=twist, potential=potential, real=False,
                       blocks=blocks)
    normal = scm.supercell(params_n, shape, twist=twist, potential=potential, real=False,
                           blocks=blocks_n)
    pos = scm.site_positions(shape)
    tail, beyond = _tails(blocks, blocks_n, energies, eta, xi_cut, d0)
    n_sites = shape[0] * shape[1]
    out = np.empty((2, len(energies), 4, 4), complex)
    for j, zj in enumerate((energies + 1j * eta) * d0):
        g = plane_wave_green(sc.matrix, pos, k[used], zj)
        g_n = plane_wave_green(normal.matrix, pos, k[used], zj)
        diff = g - 0.5 * (g_n + np.conj(np.swapaxes(g_n, -1, -2)))
        start = 0
        for v in range(2):
            acc = diff[start:start + len(shell[v])].sum(axis=0) / n_sites
            start += len(shell[v])
            out[v, j] = (1j / (np.pi * nu[v])) * acc @ _TAU3 + tail + beyond[j] * _TAU3
    return out


@dataclass(frozen=True, eq=False)
class SelfEnergyResult:
    """Measured self-energy and disorder-averaged valley components (energies in Δ0).

    Attributes
    ----------
    energies : ndarray, shape (n,)
    sigma, sigma_err_re, sigma_err_im : ndarray, shape (n, 4, 4)
        ``Σ̂`` (Eq. (8) convention, σ0τ0 part removed) at the Fermi surface of valley K,
        Δ0, and jackknife errors of its real and imaginary parts.
    shift, shift_err : ndarray, shape (n,)
        σ0τ0 part of the removed normal-state background (a uniform energy shift), Δ0.
    gamma_normal, gamma_normal_err : ndarray, shape (n,)
        ``−Im Σ`` of the normal state at the same k: the total rate Γ_tot = 1/(2τ), Δ0.
    g, g_err_re, g_err_im : ndarray, shape (2, n, 4, 4), or None
        Disorder-averaged ``ĝ_v`` for (K, K') and errors (None if not computed).
    eta : float
        Δ0.
    size, realizations, kpoints_fermi, kpoints_shell : int
    metadata : dict
    """

    energies: np.ndarray = field(repr=False)
    sigma: np.ndarray = field(repr=False)
    sigma_err_re: np.ndarray = field(repr=False)
    sigma_err_im: np.ndarray = field(repr=False)
    shift: np.ndarray = field(repr=False)
    shift_err: np.ndarray = field(repr=False)
    gamma_normal: np.ndarray = field(repr=False)
    gamma_normal_err: np.ndarray = field(repr=False)
    g: np.ndarray = field(repr=False)
    g_err_re: np.ndarray = field(repr=False)
    g_err_im: np.ndarray = field(repr=False)
    eta: float
    size: int
    realizations: int
    kpoints_fermi: int
    kpoints_shell: int
    metadata: dict = field(repr=False, default_factory=dict)

    def sigma_components(self):
        """``{name: (value, err_re, err_im)}`` of Σ̂ decomposed like ĝ, each shape (n,)."""
        val = green.components(self.sigma)
        # Components are linear in the matrix; the errors of a component from the
        # errors of the entries (correlated entries: bound by the sum of the two used).
        err_re = green.components(self.sigma_err_re)
        err_im = green.components(self.sigma_err_im)
        return {name: (val[name], np.abs(err_re[name]) + np.abs(err_im[name]))
                for name in green.COMPONENT_NAMES}


def clean_grid_green(mapping, size, energies, *, eta, delta=None, xi_cut=None, twist=None):
    """Clean ĝ_v on the (twisted) supercell grid of `measure_selfenergy`, shape (2, n, 4, 4).

    The same k sum as the disorder-averaged components, with the clean Bloch Green's
    function (no LU): its difference from `latticemirage.green.valley_green` is the
    error of sampling the ξ integral on the L × L grid at this η, the systematic error
    of any Born sum on that grid (e.g. the SCBA's ⟨ĝ⟩ behind a measured Σ̂).
    *twist* (θ1, θ2) replaces the Fermi-surface twist of `measure_selfenergy` (e.g. the
    twist of a disorder-study realization).
    """
    phys = mapping.physical
    delta = phys.delta if delta is None else delta
    energies, xi_cut = green.check_inputs(phys, energies, eta=eta, delta=delta, xi_cut=xi_cut)
    d0 = mapping.delta0
    shape = (int(size), int(size))
    fsyst = bulk.wrapped_system()
    blocks = bulk.fourier_blocks(fsyst, mapping.lattice_params(delta))
    blocks_n = bulk.fourier_blocks(fsyst, mapping.lattice_params(0.0))
    k0 = supercell_kpoints(shape).reshape(-1, 2)
    if twist is None:
        twist = _fermi_twist(mapping, k0, int(size))
    prim = np.asarray(model.LATTICE.prim_vecs, float)
    k = k0 + (np.asarray(twist, float) / (2 * np.pi * size)) @ (2 * np.pi * np.linalg.inv(prim).T)
    _, near_k, near_kp = valley_masks(k)
    h_k = bulk.bloch_hamiltonian(blocks, k)
    xi = 0.5 * (h_k[:, 0, 0].real + h_k[:, 1, 1].real) / d0
    weights = mapping.fs_weights.sum(axis=1)
    nu = mapping.n0 * weights / weights.sum()
    z = (energies + 1j * eta) * d0
    eye = np.eye(4)
    pairing = blocks[(0, 0)] - blocks_n[(0, 0)]
    tail = -(2j / (np.pi * xi_cut * d0)) * pairing @ _TAU3
    beyond = 1.0 - (np.arctan((xi_cut - energies) / eta)
                    + np.arctan((xi_cut + energies) / eta)) / np.pi
    out = []
    for v, mask in enumerate((near_k, near_kp)):
        sel = np.flatnonzero(mask & (np.abs(xi) < xi_cut))
        g = np.linalg.inv(z[:, None, None, None] * eye - h_k[sel][None])
        hn = bulk.bloch_hamiltonian(blocks_n, k[sel])
        gn = np.linalg.inv(z[:, None, None, None] * eye - hn[None])
        herm = 0.5 * (gn + np.conj(np.swapaxes(gn, -1, -2)))
        acc = (g - herm).sum(axis=1) / (size * size)
        out.append((1j / (np.pi * nu[v])) * acc @ _TAU3 + tail
                   + beyond[:, None, None] * _TAU3)
    return np.array(out)


def _fermi_twist(mapping, k0, size):
    """Boundary twist (θ1, θ2) that puts one supercell k exactly on the Fermi surface of K.

    The grid point of valley K nearest to a Fermi point (``mapping.k_fermi``) is moved
    onto it: ``θ_i = L (k_F − k)·p_i``, ``|θ_i| ≤ π`` up to the grid's half-cell.
    """
    prim = np.asarray(model.LATTICE.prim_vecs, float)
    kf = mapping.k_fermi[0]  # (n_theta, 2), valley K
    _, near_k, _ = valley_masks(k0)
    cand = k0[near_k]
    # Reciprocal-lattice images: compare k_F with every image of the grid points.
    recip = 2 * np.pi * np.linalg.inv(prim).T
    best, shift = np.inf, None
    for g1 in (-1, 0, 1):
        for g2 in (-1, 0, 1):
            img = cand + g1 * recip[0] + g2 * recip[1]
            d = np.linalg.norm(img[:, None, :] - kf[None, :, :], axis=-1)
            i, j = np.unravel_index(np.argmin(d), d.shape)
            if d[i, j] < best:
                best, shift = d[i, j], kf[j] - img[i]
    return size * (prim @ shift)


def measure_selfenergy(mapping, disorder, size, realizations, seed, energies, *, eta,
                       delta=None, window=None, xi_cut=None, components=True):
    """Measure Σ̂ at the Fermi surface of valley K and the dirty ĝ_v (module docstring).

    Parameters
    ----------
    mapping : LatticeMapping
    disorder : PointImpurities, AndersonDisorder or SmoothDisorder
    size : int
        Supercell L (one sparse LU of size 4 L² per energy and realization).
    realizations : int >= 2
        Realizations ``SeedSequence([seed, i])`` (the same potentials as `rates`).
    seed : int
    energies : array_like, shape (n,)
        Δ0.
    eta : float
        Imaginary part of the energy, Δ0.
    delta : float, optional
        Gap, Δ0 (default ``mapping.physical.delta``).
    window : float, optional
        Fermi-surface shell ``|ξ(k)| < window`` for Σ̂, Δ0 (default: 2 η, at least
        the half-spacing of the supercell's ξ values so that some k qualify).
    xi_cut : float, optional
        Shell of the components, Δ0 (default as `latticemirage.green`).
    components : bool
        Also the dirty ``ĝ_v`` (solves for every shell k; ``False``: only the
        Fermi-surface k of Σ̂, several times cheaper; ``g`` is then None).

    Returns
    -------
    SelfEnergyResult
    """
    if int(size) != size or size < 4:
        raise ParameterError("size", f"must be an integer >= 4, got {size!r}")
    if int(realizations) != realizations or realizations < 2:
        raise ParameterError("realizations", f"must be an integer >= 2, got {realizations!r}")
    phys = mapping.physical
    delta = phys.delta if delta is None else delta
    energies, xi_cut = green.check_inputs(phys, energies, eta=eta, delta=delta, xi_cut=xi_cut)
    window = 2 * eta if window is None else check_positive("window", window)
    with threadpool_limits(limits=1, user_api="blas"):
        return _measure(mapping, disorder, int(size), int(realizations), int(seed), energies,
                        float(eta), float(delta), float(window), float(xi_cut),
                        bool(components))


def _measure(mapping, disorder, size, realizations, seed, energies, eta, delta, window,
             xi_cut, with_components):
    d0 = mapping.delta0
    phys = mapping.physical
    shape = (size, size)
    fsyst = bulk.wrapped_system()
    params = mapping.lattice_params(delta)
    blocks = bulk.fourier_blocks(fsyst, params)
    blocks_n = bulk.fourier_blocks(fsyst, mapping.lattice_params(0.0))
    k0 = supercell_kpoints(shape).reshape(-1, 2)
    twist = _fermi_twist(mapping, k0, size)
    prim = np.asarray(model.LATTICE.prim_vecs, float)
    recip = 2 * np.pi * np.linalg.inv(prim).T
    k = k0 + (twist / (2 * np.pi * size)) @ recip  # the twisted grid
    _, near_k, near_kp = valley_masks(k)
    h_k = bulk.bloch_hamiltonian(blocks, k)
    xi = 0.5 * (h_k[:, 0, 0].real + h_k[:, 1, 1].real) / d0  # Δ0
    in_shell = np.abs(xi) < xi_cut
    shell = [np.flatnonzero(in_shell & mask) for mask in (near_k, near_kp)]
    nu = valley_nu(mapping)  # per spin per site, 1/t
    spacing = check_grid_eta(nu, size, eta, d0)
    fermi = np.flatnonzero(near_k & (np.abs(xi) < window))
    if len(fermi) < 1:
        raise ParameterError("window", f"only {len(fermi)} supercell k points of valley K "
                             f"within {window:g} Δ0 of the Fermi surface; use a larger size "
                             "or window")
    if with_components:
        used = np.concatenate(shell)
        fermi_idx = np.searchsorted(shell[0], fermi)  # fermi ⊂ shell[0], both sorted
    else:
        used, fermi_idx = fermi, np.arange(len(fermi))
    z = (energies + 1j * eta) * d0
    clean = scm.supercell(params, shape, twist=tuple(twist), real=False, blocks=blocks)
    clean_n = scm.supercell(mapping.lattice_params(0.0), shape, twist=tuple(twist), real=False,
                            blocks=blocks_n)
    pos = scm.site_positions(shape)
    n_used = len(used)
    # Per realization: ⟨k|G|k⟩ at the k used, superconducting and normal state (Δ = 0,
    # same potential); the Hermitian part of the normal one is the background.
    samples = np.empty((realizations, len(energies), 2 * n_used, 4, 4), complex)
    for i in range(realizations):
        v = disorder.potential(shape, realization_rng(seed, i))
        v = v - v.mean()
        h = clean.matrix.copy()
        scm.add_potential(h, clean.diag_slots, v)
        h_norm = clean_n.matrix.copy()
        scm.add_potential(h_norm, clean_n.diag_slots, v)
        for j, zj in enumerate(z):
            samples[i, j, :n_used] = plane_wave_green(h, pos, k[used], zj)
            samples[i, j, n_used:] = plane_wave_green(h_norm, pos, k[used], zj)
    # Clean Bloch Green's functions at the same k and energies.
    eye = np.eye(4)
    g0_inv = z[:, None, None, None] * eye - h_k[used][None]  # (n_e, n_k, 4, 4)
    h_n = bulk.bloch_hamiltonian(blocks_n, k[used])  # fermi_idx indexes k[used] too
    n_sites = size * size
    counts = [len(s) for s in shell]
    pairing = blocks[(0, 0)] - blocks_n[(0, 0)]
    tail = -(2j / (np.pi * xi_cut * d0)) * pairing @ _TAU3
    beyond = 1.0 - (np.arctan((xi_cut - energies) / eta)
                    + np.arctan((xi_cut + energies) / eta)) / np.pi

    g0n_inv = z[:, None, None, None] * eye - h_n[fermi_idx][None]  # normal, Fermi k

    def sigma_normal(mean_g):
        """Σ_G of the normal state at the Fermi k, (n_e, n_f, 4, 4), t."""
        return g0n_inv - np.linalg.inv(mean_g[:, n_used + fermi_idx])

    def sigma_of(mean_g):
        s_g = g0_inv[:, fermi_idx] - np.linalg.inv(mean_g[:, fermi_idx])
        s_n = sigma_normal(mean_g)
        background = 0.5 * (s_n + np.conj(np.swapaxes(s_n, -1, -2)))
        return (_TAU3 @ (s_g - background)).mean(axis=1) / d0  # (n_e, 4, 4), Δ0

    def shift_of(mean_g):
        s_n = sigma_normal(mean_g)
        background = 0.5 * (s_n + np.conj(np.swapaxes(s_n, -1, -2)))
        return np.trace(_TAU3 @ background, axis1=-2, axis2=-1).real.mean(axis=1) / 4 / d0

    def gamma_of(mean_g):
        return -np.trace(sigma_normal(mean_g), axis1=-2, axis2=-1).imag.mean(axis=1) / 4 / d0

    def g_of(mean_g):
        out = []
        start = 0
        for v in range(2):
            sl = slice(start, start + counts[v])
            start += counts[v]
            # Background: the Hermitian part of the disorder-averaged *normal* G at the
            # same k (it carries the disorder's real shift of μ, β, B, as for Σ̂).
            normal = mean_g[:, n_used + start - counts[v]:n_used + start]
            herm = 0.5 * (normal + np.conj(np.swapaxes(normal, -1, -2)))
            acc = (mean_g[:, sl] - herm).sum(axis=1) / n_sites
            gv = (1j / (np.pi * nu[v])) * acc @ _TAU3 + tail
            out.append(gv + beyond[:, None, None] * _TAU3)
        return np.array(out)

    sigma, s_re, s_im = jackknife_complex(samples, sigma_of)
    shift, sh_re, _ = jackknife_complex(samples, shift_of)
    gamma, gam_re, _ = jackknife_complex(samples, gamma_of)
    g = g_re = g_im = None
    if with_components:
        g, g_re, g_im = jackknife_complex(samples, g_of)
    meta = {
        "disorder": disorder.to_dict(),
        "size": size, "realizations": realizations, "seed": seed,
        "eta_delta0": eta, "delta_delta0": delta, "window_delta0": window,
        "xi_cut_delta0": xi_cut, "kpoints_fermi_K": len(fermi),
        "twist": [float(x) for x in twist],
        "kpoints_shell": counts, "xi_spacing_delta0": spacing,
        "nu_per_spin_per_site_1_over_t": [float(x) for x in nu],
        "convention": "Sigma = tau3 [G0^-1 - <G>^-1 - Herm(Sigma_G of the normal state)] "
                      "(Eq. (8) convention, SCBA: -i Gamma <g>); eq1 gauge",
        "mapping": mapping.report(),
        "physical_e_fermi_delta0": phys.e_fermi,
    }
    return SelfEnergyResult(
        energies=energies, sigma=sigma, sigma_err_re=s_re, sigma_err_im=s_im,
        shift=shift, shift_err=sh_re, gamma_normal=gamma, gamma_normal_err=gam_re,
        g=g, g_err_re=g_re, g_err_im=g_im,
        eta=eta, size=size, realizations=realizations, kpoints_fermi=len(fermi),
        kpoints_shell=len(used), metadata=meta,
    )
