r"""Elastic scattering rates measured from the disorder-averaged normal-state Green's function.

What is measured
    In the normal state (``delta = 0``, ``B = 0``) spin is conserved; the
    spin-up electron block of the model (read from the Builder's blocks) is a
    one-orbital Hamiltonian with band ``eps_k = xi_k + beta_k``. On a periodic
    L x L supercell with disorder potential ``V``, the plane-wave Green's
    function ``G(k, z) = <k|(z - H)^{-1}|k>`` at ``z = E + i eta`` is computed by a
    sparse LU solve, averaged over realizations, and turned into the self-energy

    .. math::

        \Sigma(k, E) = z - \epsilon_k - 1/\bar G(k, z), \qquad
        \Gamma_{tot} = -\mathrm{Im}\,\Sigma = 1/(2\tau),

    averaged over the supercell k points with ``|eps_k - E| < window`` (the
    Fermi surface; ``eta`` is removed exactly). ``tau`` is the total elastic
    lifetime. The sample mean of ``V`` (the ``q = 0`` Fourier component, ``~ n_i V``
    for point impurities: a uniform shift of mu that scatters nothing) is removed
    first (`latticemirage.disorder.potentials.remove_uniform`), exactly as in the
    KPM DOS studies, so both measure at the clean mapping's E_F; the removed value
    is reported (``uniform_shift``).

Intervalley part
    From the same solves, to all orders in ``V``. With ``psi = (z - H)^{-1}|k>``
    and ``G = G0 + G0 T G0``, the realization's T-matrix elements are
    ``<k'|T|k> = (z - eps_k') <k'|psi> (z - eps_k)`` for ``k' != k`` (``<k'|psi>`` by
    FFT of psi on the supercell grid). The intervalley fraction is the share of the
    golden-rule weight ``|T_k'k|^2 A_0(k')`` (``A_0`` the clean spectral function
    with the same ``eta``) that lands in the other valley, summed over the Fermi-
    surface k and the realizations:

    .. math::

        f = \frac{\sum_k \sum_{k' \in \bar v(k)} |T_{k'k}|^2 A_0(k')}
                 {\sum_k \sum_{k' \ne k} |T_{k'k}|^2 A_0(k')}, \qquad
        \Gamma_{inter} = f\, \Gamma_{tot},

    with ``\bar v(k)`` the valley (K or K', Wigner-Seitz-like partition) not holding
    k. To second order ``T = V`` and ``f`` is the Born ratio of the power spectrum's
    intervalley and total weights. For on-site impurities the single-site T-matrix
    does not depend on k and both valleys have the same DOS, so ``f = 1/2`` at any
    strength. (Filtering ``V`` to its intervalley Fourier components and measuring
    the rate of that part alone, the method used before, is right only to O(V^2):
    at ``V = 0.5 t`` it gave ``f = 0.35``, because the T-matrix enhancement of the
    total rate near the band edge is not shared by the filtered potential.)

Convention of the quasiclassical side
    The SCBA self-energy ``Sigma = -i Gamma <g>`` with ``<>`` over *both* valleys
    gives ``-Im Sigma = Gamma`` in the normal state, of which the intervalley
    half matters (the intravalley half commutes with ``g``: Anderson's theorem).
    The number to hand to the SCBA is therefore ``gamma_qc = 2 Gamma_inter``; for
    short-range disorder it equals ``Gamma_tot``, for smooth disorder it is ~0.

Born estimate
    Second order in ``V`` on the same finite grid and with the same ``eta``:
    ``Gamma_B(k) = (pi / N) sum_k' C(k' - k) A_0(k')`` with the power spectrum
    ``C(q)`` of the disorder kind and the clean spectral function
    ``A_0 = eta / pi / ((E - eps)^2 + eta^2)``. For uncorrelated disorder of
    variance ``<dV^2>`` this is ``pi <dV^2> N_0``, the textbook
    ``pi n_i V^2 N_0`` for point impurities with ``n_i << 1`` (exactly
    ``<dV^2> = n_i (1 - n_i) V^2``). ``N_0`` is the normal DOS per spin per site at
    E, both valleys, broadened by the same ``eta``.
"""

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from threadpoolctl import threadpool_limits

from latticemirage import bulk, model
from latticemirage.disorder import supercell as scm
from latticemirage.disorder.potentials import realization_rng, remove_uniform
from mirage_common.errors import ParameterError, check_positive
from mirage_common.statistics import jackknife

__all__ = [
    "RateResult",
    "measure_rates",
    "normal_blocks",
    "single_site_tmatrix_rate",
    "supercell_kpoints",
    "valley_masks",
]


def normal_blocks(params):
    """1x1 blocks of the spin-up electron sector at ``delta = B = 0`` (from the Builder)."""
    normal = {**params, "delta": 0.0, "B": 0.0}
    blocks = bulk.fourier_blocks(bulk.wrapped_system(), normal)
    return {n: h[:1, :1].copy() for n, h in blocks.items()}


def supercell_kpoints(shape):
    """Cartesian k of the supercell grid, shape ``(L1, L2, 2)`` (FFT order, twist 0)."""
    l1, l2 = shape
    recip = _reciprocal()
    m1 = np.fft.fftfreq(l1, 1 / l1)[:, None, None]
    m2 = np.fft.fftfreq(l2, 1 / l2)[None, :, None]
    return m1 / l1 * recip[0] + m2 / l2 * recip[1]


def _reciprocal():
    """Reciprocal primitive vectors (rows), ``a_i . b_j = 2 pi delta_ij``."""
    return 2 * np.pi * np.linalg.inv(np.asarray(model.LATTICE.prim_vecs)).T


def _nearest_image_distance(k, center):
    """``min_G |k - center - G|`` over the nearest reciprocal-lattice images."""
    recip = _reciprocal()
    best = np.full(k.shape[:-1], np.inf)
    for g1 in (-2, -1, 0, 1, 2):
        for g2 in (-2, -1, 0, 1, 2):
            d = k - center - g1 * recip[0] - g2 * recip[1]
            best = np.minimum(best, np.linalg.norm(d, axis=-1))
    return best


def valley_masks(k):
    """Boolean masks ``(near_gamma, near_K, near_Kp)`` of the Wigner-Seitz-like partition."""
    d = np.stack([_nearest_image_distance(k, c)
                  for c in (np.zeros(2), model.VALLEY_K, model.VALLEY_KP)])
    nearest = np.argmin(d, axis=0)
    return nearest == 0, nearest == 1, nearest == 2


@dataclass(frozen=True)
class RateResult:
    """Measured and Born scattering rates, energies in t (see module docstring).

    Attributes
    ----------
    gamma_total, gamma_total_err : float
        ``-Im Sigma = 1/(2 tau)`` at the Fermi surface and its jackknife error.
    gamma_inter, gamma_inter_err : float
        Its intervalley part ``f gamma_total`` (T-matrix weights, all orders in V).
    inter_fraction, inter_fraction_err : float
        ``f``, the intervalley share of the golden-rule weight.
    gamma_qc, gamma_qc_err : float
        ``2 gamma_inter``: the Gamma of the SCBA ``Sigma = -i Gamma <g>``.
    born_total, born_inter, born_qc : float
        Second-order (Born) values on the same grid and eta.
    n0 : float
        Normal DOS per spin per site (both valleys) at E, eta-broadened, 1/t.
    eta, energy : float
        Broadening and energy (relative to mu) of the measurement, t.
    size, realizations, kpoints : int
        Supercell L, number of realizations, Fermi-surface k points averaged.
    uniform_shift : float
        Mean over realizations of the removed site average of V (``~ n_i V``), t.
    sigma_real, sigma_real_err : float
        ``Re Σ`` at the Fermi surface (mean over the same k as ``gamma_total``) and its
        jackknife error, t: the band shift by disorder beyond the removed uniform part
        (second order and higher; ``⟨V²⟩ Re G_loc`` in Born), which moves the Fermi contour
        (`latticemirage.disorder.band.renormalized_fermi_beta`).
    """

    gamma_total: float
    gamma_total_err: float
    gamma_inter: float
    gamma_inter_err: float
    inter_fraction: float
    inter_fraction_err: float
    gamma_qc: float
    gamma_qc_err: float
    born_total: float
    born_inter: float
    born_qc: float
    n0: float
    eta: float
    energy: float
    size: int
    realizations: int
    kpoints: int
    uniform_shift: float = 0.0
    sigma_real: float = 0.0
    sigma_real_err: float = 0.0

    def in_units(self, unit):
        """Rates and shift divided by *unit* (e.g. Δ0 in t), as a dict; ``n0`` multiplied."""
        out = asdict(self)
        for key in out:
            if key.startswith(("gamma", "born", "sigma_real")) or key == "uniform_shift":
                out[key] = out[key] / unit
        out["n0"] = self.n0 * unit
        return out


def _green_and_weights(matrix, energy, eta, waves, kindex, eps, a0, other_valley):
    """Plane-wave Green's function diagonals and intervalley/total T-matrix weights.

    Returns ``(g, w_inter, w_all)``: ``g[j] = <k_j|G|k_j>`` and the sums of
    ``|T_k'k_j|^2 A_0(k')`` over ``k'`` in the other valley and over all ``k' != k_j``.
    """
    n = matrix.shape[0]
    z = energy + 1j * eta
    lu = spla.splu((sp.identity(n, format="csc") * z - matrix).tocsc())
    x = lu.solve(waves)  # (N, nk): psi_j = G |k_j> in real space
    g = np.einsum("ij,ij->j", waves.conj(), x)
    shape = eps.shape
    # <k'|psi> = FFT over the site grid / sqrt(N): sites are ordered (i1, i2) row-major
    # and the k grid is in FFT order (`supercell_kpoints`), so the indices match.
    psi_k = np.fft.fft2(x.reshape(*shape, -1), axes=(0, 1)) / np.sqrt(n)
    w_inter = np.empty(len(kindex))
    w_all = np.empty(len(kindex))
    for j, (i1, i2) in enumerate(kindex):
        t_row = (z - eps) * psi_k[:, :, j] * (z - eps[i1, i2])
        w = np.abs(t_row) ** 2 * a0
        w[i1, i2] = 0.0  # forward scattering k' = k is the coherent part, not a transition
        w_all[j] = w.sum()
        w_inter[j] = w[other_valley[j]].sum()
    return g, w_inter, w_all


def single_site_tmatrix_rate(params, concentration, strength, *, eta=0.02, energy=0.0,
                             mesh=800):
    r"""Dilute-limit rate of point impurities beyond Born: the single-site T-matrix.

    An independent estimate to set beside the measured ``gamma_total`` (and Born):

    .. math::

        \Gamma_T = -n_i\,\mathrm{Im}\,T(z), \qquad
        T = \frac{V}{1 - V G_{loc}(z)}, \qquad
        G_{loc}(z) = \frac{1}{N} \sum_k \frac{1}{z - \epsilon_k},

    at ``z = E + i eta`` (per spin, normal state). ``G_loc`` is summed on a fine
    *mesh* x *mesh* grid, not on the supercell grid of `measure_rates`: there the
    final states are broadened by the disorder itself, so the measured rate sees the
    smooth DOS, whereas a coarse grid's eta-broadened DOS is off by up to ~20 % (at
    L = 100, eta = 0.01 t). It neglects scattering off pairs of impurities (relative
    corrections of order ``n_i``). Near the top of the band ``Re G_loc > 0``, so a
    repulsive V (> 0) is enhanced over Born and an attractive one suppressed.

    Parameters
    ----------
    params : dict
        Model parameters in t.
    concentration, strength : float
        ``n_i`` per site and V in t.
    eta, energy : float
        As in `measure_rates`, t.
    mesh : int
        k grid per direction for ``G_loc`` (default 800: level spacing
        ``1/(N_0 mesh^2) ~ 1e-5 t``, far below eta).

    Returns
    -------
    float
        ``Gamma_T`` in t.
    """
    check_positive("eta", eta)
    if int(mesh) != mesh or mesh < 4:
        raise ParameterError("mesh", f"must be an integer >= 4, got {mesh!r}")
    blocks = normal_blocks(params)
    g_loc = 0.0
    # Row by row: a full 800 x 800 complex grid of k and energies is not needed at once.
    k = supercell_kpoints((int(mesh), int(mesh)))
    for row in k:
        eps = bulk.bloch_hamiltonian(blocks, row)[..., 0, 0].real
        g_loc += np.sum(1.0 / (energy + 1j * eta - eps))
    g_loc /= mesh * mesh
    t_matrix = strength / (1.0 - strength * g_loc)
    return float(-concentration * t_matrix.imag)


def measure_rates(
    params, disorder, size, realizations, seed, *, eta=0.02, energy=0.0, window=None
):
    """Measure the elastic rates of a disorder kind on L x L supercells.

    Parameters
    ----------
    params : dict
        Model parameters in t (``delta`` and ``B`` are set to 0: normal state).
    disorder : PointImpurities, AndersonDisorder or SmoothDisorder
    size : int
        Supercell L (``L^2`` sites; one sparse LU of size ``L^2`` per realization
        and part).
    realizations : int >= 2
        Realizations ``SeedSequence([seed, i])``, ``i < realizations``.
    seed : int
    eta : float
        Imaginary part of the energy, t; must exceed the level spacing
        ``1 / (N_0 L^2)`` and stay well below E_F.
    energy : float
        Energy relative to mu, t.
    window : float, optional
        Fermi-surface shell ``|eps_k - E| < window`` (default ``eta``).

    Returns
    -------
    RateResult
    """
    # SuperLU and small products call BLAS; its idle threads would only spin.
    with threadpool_limits(limits=1, user_api="blas"):
        return _measure_rates(params, disorder, size, realizations, seed, eta, energy, window)


def _measure_rates(params, disorder, size, realizations, seed, eta, energy, window):
    if int(size) != size or size < 4:
        raise ParameterError("size", f"must be an integer >= 4, got {size!r}")
    if int(realizations) != realizations or realizations < 2:
        raise ParameterError("realizations", f"must be an integer >= 2, got {realizations!r}")
    check_positive("eta", eta)
    window = eta if window is None else check_positive("window", window)
    shape = (int(size), int(size))
    n = shape[0] * shape[1]
    blocks = normal_blocks(params)
    clean, slots = scm.tile(blocks, shape)
    k = supercell_kpoints(shape)  # (L, L, 2)
    eps = bulk.bloch_hamiltonian(blocks, k)[..., 0, 0].real  # band energy minus mu
    _, near_k, near_kp = valley_masks(k)
    on_shell = np.abs(eps - energy) < window
    if on_shell.sum() < 4:
        raise ParameterError(
            "size", f"only {on_shell.sum()} supercell k points within {window:g} t of the "
            "Fermi surface; use a larger size or window"
        )
    pos = scm.site_positions(shape)
    kf = k[on_shell]  # (nk, 2)
    kindex = np.argwhere(on_shell)
    waves = np.exp(1j * pos @ kf.T) / np.sqrt(n)  # (N, nk)
    a0 = eta / np.pi / ((energy - eps) ** 2 + eta**2)
    # For k near K the other valley is K' and vice versa; k near Gamma (not on a
    # pocket's Fermi surface here) would count no intervalley weight.
    other = np.where(near_k[on_shell][:, None, None], near_kp[None], near_k[None])
    other &= (near_k | near_kp)[on_shell][:, None, None]

    samples, shifts = [], []
    for i in range(int(realizations)):
        # q = 0: a uniform shift, no scattering; removed as in the DOS studies.
        v, shift = remove_uniform(disorder.potential(shape, realization_rng(seed, i)))
        shifts.append(shift)
        h = clean.copy()
        scm.add_potential(h, slots, v, norbs=1)
        g, w_inter, w_all = _green_and_weights(h, energy, eta, waves, kindex, eps, a0, other)
        samples.append(np.concatenate([g, [w_inter.sum(), w_all.sum()]]))
    samples = np.array(samples)
    nk = len(kindex)

    def gamma_of(mean):
        return float(np.mean(np.imag(1.0 / mean[:nk]) - eta))

    eps_on = eps[on_shell]

    def sigma_real_of(mean):  # Re Σ(k) = E − ε_k − Re 1/Ḡ(k), averaged over the shell
        return float(np.mean(energy - eps_on - np.real(1.0 / mean[:nk])))

    def fraction_of(mean):
        return float(mean[nk].real / mean[nk + 1].real)

    tot, tot_err = jackknife(samples, gamma_of)
    frac, frac_err = jackknife(samples, fraction_of)
    inter, inter_err = jackknife(samples, lambda m: gamma_of(m) * fraction_of(m))
    sig_re, sig_re_err = jackknife(samples, sigma_real_of)

    # Born on the same grid: (pi/N) sum_k' C(k' - k) A0(k'), by FFT convolution.
    power = np.asarray(disorder.power_spectrum(shape), dtype=float)
    power = np.broadcast_to(power, shape).copy()
    power[0, 0] = 0.0  # the sample mean was removed

    def born(spectrum, target):
        # conv[k] = sum_k' C(k' - k) a0_target(k'); C is even in q.
        conv = np.fft.ifft2(np.fft.fft2(spectrum) * np.fft.fft2(target)).real
        return np.pi / n * conv

    born_tot = float(np.mean(born(power, a0)[on_shell]))
    # Intervalley Born: from k in one valley to k' in the other.
    to_kp = born(power, a0 * near_kp)
    to_k = born(power, a0 * near_k)
    born_int = float(np.mean(np.where(near_k, to_kp, to_k)[on_shell]))
    n0 = float(a0.mean())  # per spin per site, both valleys (eps covers the whole BZ)
    return RateResult(
        gamma_total=tot,
        gamma_total_err=tot_err,
        gamma_inter=inter,
        gamma_inter_err=inter_err,
        inter_fraction=frac,
        inter_fraction_err=frac_err,
        gamma_qc=2 * inter,
        gamma_qc_err=2 * inter_err,
        born_total=born_tot,
        born_inter=born_int,
        born_qc=2 * born_int,
        n0=n0,
        eta=float(eta),
        energy=float(energy),
        size=int(size),
        realizations=int(realizations),
        kpoints=int(on_shell.sum()),
        uniform_shift=float(np.mean(shifts)),
        sigma_real=sig_re,
        sigma_real_err=sig_re_err,
    )
