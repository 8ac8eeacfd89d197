r"""The disorder-renormalized band: the Ising field the Fermi-level states of a realization feel.

Why
---
Quasiclassics takes one number per valley for the Ising field, β at the Fermi surface.
On the lattice β(k) = λ Σ_j sin(k·a_j) is largest at K, K' and falls off outwards
(trigonal warping along the pocket, and a ξ dependence across it). Disorder changes
which k the states at the Fermi level are made of: the real part of its second-order
self-energy, ⟨V²⟩ Re G_loc (positive near the top of the band), deepens the hole pockets
so k_F moves out to where ``|β|`` is smaller, and the states, broadened by Γ_tot in energy,
sample β(k) off the Fermi contour. The disordered lattice is therefore an Ising
superconductor with a smaller *effective* β than the clean one, which the SCBA is not
told unless it is measured and handed over (the gap in a field depends on B/β).

Two measured quantities
-----------------------
*β on the disorder-renormalized Fermi surface* (`renormalized_fermi_beta`, what the validate
stage hands to the SCBA): the quasiparticle pole at the Fermi level sits where
``ξ(k) + Re Σ = 0``, with ``Re Σ`` measured on the realizations from their disorder-averaged
Green's function (`rates.RateResult.sigma_real`, all orders in V, the uniform first-order
part removed as in the studies); β is averaged over that contour with the weights
``dl/|v_F|`` of `latticemirage.mapping`. At the validate point: Re Σ = 0.76 and 1.49 Δ0,
β_FS = 2.952 and 2.905 Δ0 for Anderson W = 0.7 and 1 t (clean 3).

*The spectral average over Fermi-level states* (`fermi_level_beta`, a diagnostic): for one
realization's normal-state spin-up Hamiltonian ``h_up`` (B = Δ = 0), the eigenstates
``ψ_n`` with ``|E_n| < w`` and their plane-wave weights ``|ψ_n(k)|²`` (twisted grid,
``Σ_k |ψ_n(k)|² = 1``),

.. math::

    \beta_{spec} = \frac{1}{N_w} \sum_{|E_n| < w} \sum_k |\psi_n(k)|^2\,|\beta(k)|,

the k-space average of ``|β|`` over the spectral function ``A(k, E)`` integrated over the window
(spin down gives the same number by time reversal). It also counts the incoherent tails of
``A`` far from the Fermi surface (2.88 and 2.78 Δ0 at W = 0.7 and 1 t); fed to the SCBA it
over-corrects the gap (measured: ``benchmarks/diag_disorder_beta.py``), so it is not the
SCBA's input. ``N_w / (2 w N)`` is reported as ``n0`` (1/t per spin per site).

Both are properties of the normal state (no Δ, no field): nothing is fitted to the gap they
are then compared with.

Independent estimate (`born_estimate`)
--------------------------------------
The same average over the Born spectral function of the disorder-averaged band,
``A(k, E) = −Im[E − ε_up(k) − Σ(E)]^{-1}/π`` with the local self-consistent Born self-energy
``Σ(E) = ⟨V²⟩ G_loc(E − Σ)`` (white-noise disorder; the uniform first-order shift is removed
from the realizations as in `potentials.remove_uniform`), on a fine k mesh, plus the
"shifted contour" value: ``|β|`` averaged on the contour ``ε_up(k) + Re Σ(0) = 0`` with weights
``dl/|v|`` (the band shift alone, without the broadening).

Ideal valley operator (diagnostic model option)
------------------------------------------------
`ValleyIsing` replaces λ Σ sin(k·a) by ``β_v sign(β(k))``: constant over each valley
(positive in K's half of the zone), the Ising term of the paper's Eq. (2). It is not
short-ranged, so it is no Kwant hopping: it acts in k space on supercells (`kspace_ising`
for the dense normal Hamiltonian, `project_ising` for the pairing shell of
`latticemirage.disorder.selfconsistent`), where the supercell's twisted plane waves
diagonalize it. With the lattice's own β(k) the same k-space route reproduces the Builder's
Ising term exactly (tested), so the swap changes one ingredient only.
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from threadpoolctl import threadpool_limits

from latticemirage import bulk
from latticemirage.disorder import supercell as scm
from latticemirage.disorder.rates import normal_blocks, supercell_kpoints
from latticemirage.disorder.selfenergy import twisted_grid
from mirage_common.errors import ParameterError, check_positive

__all__ = [
    "BetaMeasurement",
    "LatticeIsing",
    "ValleyIsing",
    "born_estimate",
    "fermi_level_beta",
    "ising_from_dict",
    "kspace_ising",
    "measure_beta",
    "plane_wave_weights",
    "project_ising",
    "renormalized_fermi_beta",
    "twisted_kpoints",
]

# Sites: dense eigh (subset) below, shift-invert Lanczos above (measured at L = 64, 240 states:
# 15 s against 35 s dense on a loaded 2-core machine, the same β_eff to 1e-15).
DENSE_MAX = 2000


def twisted_kpoints(size, twist):
    """Cartesian k of the L x L supercell grid with boundary twist, shape (L, L, 2), FFT order.

    `selfenergy.twisted_grid` on the (L, L) grid of `_to_k`: ``k_m = Σ_i (m_i + θ_i/2π)/L b_i``.
    """
    return twisted_grid(size, twist).reshape(int(size), int(size), 2)


def _to_k(vectors, size, twist):
    """``ψ(k) = N^{-1/2} Σ_r e^{-ik·r} ψ(r)`` for columns of *vectors* (shape (N, m)) -> (L, L, m).

    Site ``a L + b`` sits at ``a p_1 + b p_2`` (`supercell.site_positions`), so with the
    twisted grid ``k·r = 2π (m_1 a + m_2 b)/L + (θ_1 a + θ_2 b)/L``: a phase, then a 2-D FFT.
    """
    l = int(size)
    m = vectors.shape[1]
    psi = np.asarray(vectors).reshape(l, l, m)
    a = np.arange(l)
    theta = np.asarray(twist, float)
    phase = np.exp(-1j * (theta[0] * a[:, None] + theta[1] * a[None, :]) / l)
    return np.fft.fft2(psi * phase[:, :, None], axes=(0, 1), norm="ortho")


def _from_k(coeffs, size, twist):
    """Inverse of `_to_k`: (L, L, m) plane-wave coefficients -> (N, m) site amplitudes."""
    l = int(size)
    a = np.arange(l)
    theta = np.asarray(twist, float)
    phase = np.exp(1j * (theta[0] * a[:, None] + theta[1] * a[None, :]) / l)
    psi = np.fft.ifft2(coeffs, axes=(0, 1), norm="ortho") * phase[:, :, None]
    return psi.reshape(l * l, -1)


def plane_wave_weights(vectors, size, twist):
    """``|ψ_n(k)|²`` of site vectors on the twisted grid, shape (L, L, m) (each column sums to
    the squared norm of its vector)."""
    return np.abs(_to_k(vectors, size, twist)) ** 2


@dataclass(frozen=True)
class LatticeIsing:
    """The Builder's Ising term, β(k) = λ Σ_j sin(k·a_j), read from the Bloch Hamiltonian."""

    kind = "lattice"

    def beta_k(self, params, k):
        """β(k) in t for Cartesian *k* (shape (..., 2)) at the model parameters *params*."""
        from latticemirage.mapping import xi_and_beta

        blocks = bulk.fourier_blocks(bulk.wrapped_system(),
                                     {**params, "delta": 0.0, "B": 0.0})
        return xi_and_beta(blocks, np.asarray(k, float))[1]

    def to_dict(self):
        return {"kind": self.kind}


@dataclass(frozen=True)
class ValleyIsing:
    """Ideal valley Ising operator ``β_v sign(β_lattice(k))`` (diagnostic; see module docstring).

    Attributes
    ----------
    beta : float
        β_v in t (> 0): the constant Ising field in valley K (−β_v in K').
    """

    beta: float
    kind = "valley"

    def __post_init__(self):
        check_positive("beta", self.beta)

    def beta_k(self, params, k):
        return self.beta * np.sign(LatticeIsing().beta_k({**params, "lam": 1.0}, k))

    def to_dict(self):
        return {"kind": self.kind, "beta_t": float(self.beta)}


def ising_from_dict(d):
    """`LatticeIsing` or `ValleyIsing` from its ``to_dict`` (None -> the lattice's)."""
    if d is None or d.get("kind") == "lattice":
        return LatticeIsing()
    if d.get("kind") == "valley":
        return ValleyIsing(float(d["beta_t"]))
    raise ParameterError("ising", f"unknown Ising operator {d!r} (lattice or valley)")


def kspace_ising(beta_grid, size, twist):
    """Dense site matrix ``S = F^† diag(β(k)) F`` (N x N) of a k-diagonal operator on the grid.

    *beta_grid* has shape (L, L) in the FFT order of `twisted_kpoints`.
    """
    n = int(size) ** 2
    eye = np.eye(n)
    return _from_k(beta_grid[:, :, None] * _to_k(eye, size, twist), size, twist)


def project_ising(phi, beta_grid, beta_reflected, size, twist, basis):
    r"""The Ising term ``β(k) σ_z`` in BdG form projected on shell states, shape (4M, 4M).

    In the model basis the electron block is ``S σ_z`` with ``S = F^† diag(β(k)) F`` on the sites
    (F the plane waves of the twisted grid). The hole block of every BdG element is ``−h^*``
    *with the Bloch phase of the twist unconjugated* (`supercell.tile` multiplies the whole 4 x 4
    block by ``e^{iθ}``), i.e. ``−[S^{(−θ)}]^* σ_z`` with ``S^{(−θ)}`` the operator on the grid
    of twist −θ; complex conjugation maps that grid onto the grid of θ with ``k → −k``, so the
    hole block is ``S_h σ_z`` with ``S_h = F^† diag(−β(−k)) F`` (``= S`` for an odd β, as both
    Ising operators are). Projected on ``Q = φ ⊗ 1_4`` and written in the per-site orbital
    *basis* ``W`` of the shell (`supercell.real_basis`, or the identity), orbital index
    ``4 a + o`` as in `selfconsistent.ShellHamiltonian`.

    Parameters
    ----------
    phi : ndarray, shape (N, M)
        Shell states (site amplitudes).
    beta_grid, beta_reflected : ndarray, shape (L, L)
        β(k) and β(−k) in t on the twisted grid (FFT order of `twisted_kpoints`).
    size : int
    twist : (float, float)
    basis : ndarray, shape (4, 4)
        Per-site orbital basis W (columns: new orbitals in the model's).
    """
    pk = _to_k(phi, size, twist).reshape(-1, phi.shape[1])
    m_el = pk.conj().T @ (beta_grid.reshape(-1)[:, None] * pk)
    m_h = pk.conj().T @ (-beta_reflected.reshape(-1)[:, None] * pk)
    w = np.asarray(basis, complex)
    d_el = w.conj().T @ np.diag([1.0, -1.0, 0.0, 0.0]) @ w
    d_h = w.conj().T @ np.diag([0.0, 0.0, 1.0, -1.0]) @ w
    m = phi.shape[1]
    out = (m_el[:, None, :, None] * d_el[None, :, None, :]
           + m_h[:, None, :, None] * d_h[None, :, None, :])
    return out.reshape(4 * m, 4 * m)


@dataclass(frozen=True)
class BetaMeasurement:
    """Fermi-level Ising field of one realization (see module docstring).

    Attributes
    ----------
    beta : float
        β_eff in t.
    states : int
        Fermi-level states N_w in the window (spin up, all twists).
    n0 : float
        ``N_w / (2 w N N_tw)``: states per spin per site per t at the Fermi level.
    valley_k : float
        Weight of the states in valley K's half of the zone (0.5 for valley-symmetric sets).
    window : float
        w, t.
    """

    beta: float
    states: int
    n0: float
    valley_k: float
    window: float

    def as_dict(self):
        return {"beta_t": self.beta, "states": self.states, "n0_per_spin_per_site_1_over_t":
                self.n0, "valley_k_weight": self.valley_k, "window_t": self.window}


def _spin_up_block(params, size, twist, potential, ising):
    """Spin-up electron block of the normal supercell (N x N), sparse or dense (valley)."""
    shape = (int(size), int(size))
    normal = {**params, "delta": 0.0, "B": 0.0}
    if isinstance(ising, ValleyIsing):
        normal["lam"] = 0.0
    h = scm.supercell(normal, shape, twist=twist, potential=potential, real=False).matrix
    h = h.tocsr()[0::4, 0::4]
    if isinstance(ising, ValleyIsing):
        grid = ising.beta_k(params, twisted_kpoints(size, twist))
        return h.toarray() + kspace_ising(grid, size, twist)
    return h


def _window_states(h, window, expected):
    """Eigenpairs of Hermitian *h* with ``|E| < window`` (dense subset or shift-invert)."""
    if not hasattr(h, "tocsc") or h.shape[0] <= DENSE_MAX:
        dense = h.toarray() if hasattr(h, "toarray") else h
        e, v = sla.eigh(dense, driver="evr", subset_by_value=(-window, window))
        return e, v
    import scipy.sparse.linalg as spla

    k = int(1.5 * expected) + 24
    while True:
        k = min(k, h.shape[0] - 2)
        e, v = spla.eigsh(h.tocsc(), k=k, sigma=0.0, which="LM")
        if np.max(np.abs(e)) > window or k >= h.shape[0] - 2:
            keep = np.abs(e) < window
            return e[keep], v[:, keep]
        k *= 2


def fermi_level_beta(params, size, *, potential=None, twists=((0.0, 0.0),), window,
                     ising=None, n0_guess=0.1):
    """β_eff of one realization from its Fermi-level eigenstates (see module docstring).

    Parameters
    ----------
    params : dict
        Model parameters in t (``delta``, ``B`` are ignored: normal state at zero field).
    size : int
        Supercell L.
    potential : ndarray, shape (L, L), optional
        Disorder potential, t (centred as in the studies).
    twists : sequence of (float, float)
        Boundary twists; the states of all are pooled.
    window : float
        w in t.
    ising : LatticeIsing or ValleyIsing, optional
        The Ising operator of the model (default the Builder's).
    n0_guess : float
        Expected states per spin per site per t (sizes the Lanczos run on large supercells).

    Returns
    -------
    BetaMeasurement
    """
    check_positive("window", window)
    # One BLAS thread: the dense solves are small and run beside other workers.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fermi_level_beta(params, size, potential, twists, window, ising, n0_guess)


def _fermi_level_beta(params, size, potential, twists, window, ising, n0_guess):
    ising = LatticeIsing() if ising is None else ising
    total, count, k_weight = 0.0, 0, 0.0
    lat = LatticeIsing()
    for twist in twists:
        kpts = twisted_kpoints(size, twist)
        beta_abs = np.abs(ising.beta_k(params, kpts))
        in_k = lat.beta_k({**params, "lam": 1.0}, kpts) > 0
        h = _spin_up_block(params, size, twist, potential, ising)
        _, v = _window_states(h, window, 2 * window * n0_guess * size**2)
        if v.shape[1] == 0:
            continue
        w = plane_wave_weights(v, size, twist)  # (L, L, m), each column sums to 1
        total += float(np.einsum("ijn,ij->", w, beta_abs))
        k_weight += float(np.einsum("ijn,ij->", w, in_k))
        count += v.shape[1]
    if count == 0:
        raise ParameterError("window", f"no states within ±{window:g} t of the Fermi level on "
                             f"the {size}² supercell; widen the window or the supercell")
    n0 = count / (2 * window * size**2 * len(twists))
    return BetaMeasurement(beta=total / count, states=count, n0=n0, valley_k=k_weight / count,
                           window=float(window))


def born_estimate(params, variance, *, window, mesh=600, energies=9, eta=1e-4, iterations=60):
    """The Born estimate of β_eff: average of ``|β|`` over the SCBA spectral function.

    Parameters
    ----------
    params : dict
        Model parameters in t.
    variance : float
        ``⟨V²⟩`` of the (centred, white-noise) potential, t².
    window : float
        w in t (the same flat window as `fermi_level_beta`).
    mesh : int
        k mesh per direction.
    energies : int
        Energies across the window (midpoint rule).
    eta : float
        Infinitesimal of the clean G_loc, t.

    Returns
    -------
    dict
        ``beta_t`` (spectral average), ``beta_shifted_contour_t`` (band shift alone),
        ``sigma_t`` (complex Σ at E = 0 as [re, im]), ``beta_clean_contour_t``.
    """
    from latticemirage.mapping import xi_and_beta

    blocks_up = normal_blocks(params)
    full = bulk.fourier_blocks(bulk.wrapped_system(), {**params, "delta": 0.0, "B": 0.0})
    k = supercell_kpoints((mesh, mesh)).reshape(-1, 2)
    eps = bulk.bloch_hamiltonian(blocks_up, k)[..., 0, 0].real
    beta_abs = np.abs(xi_and_beta(full, k)[1])
    es = (np.arange(energies) + 0.5) / energies * 2 * window - window

    def scba_sigma(e):
        sigma = 0.0 + 0.0j
        for _ in range(iterations):  # self-consistent Born, local: Σ = ⟨V²⟩ G_loc(E − Σ)
            new = variance * np.mean(1.0 / (e + 1j * eta - sigma - eps))
            if abs(new - sigma) < 1e-12:
                return new
            sigma = new
        return sigma

    num = den = 0.0
    for e in es:
        a = -np.imag(1.0 / (e + 1j * eta - eps - scba_sigma(e))) / np.pi
        num += float(a @ beta_abs)
        den += float(a.sum())
    sigma0 = scba_sigma(0.0)
    # Band shift alone: |β| on the contour ε + Re Σ(0) = 0 (the clean band at mu − Re Σ, with
    # the contour weights of the mapping).
    from latticemirage.mapping import fermi_contour_beta

    return {"beta_t": num / den,
            "beta_shifted_contour_t": fermi_contour_beta(params["mu"] - sigma0.real,
                                                         params["lam"]),
            "beta_clean_contour_t": fermi_contour_beta(params["mu"], params["lam"]),
            "sigma_t": [sigma0.real, sigma0.imag]}


def renormalized_fermi_beta(params, sigma_real, sigma_real_err=0.0):
    """β on the disorder-renormalized Fermi surface, from the measured ``Re Σ`` (t).

    The quasiparticle pole at the Fermi level sits where ``ξ(k) + Re Σ = 0``: the contour of
    the clean band at ``mu − Re Σ`` (Σ is local and spin independent for scalar disorder; its
    uniform first-order part is removed from the realizations, so ``Re Σ`` is the second-order
    and higher band shift, `rates.RateResult.sigma_real`). β is averaged over that contour
    with the weights of `latticemirage.mapping.map_to_lattice`.

    Returns
    -------
    (float, float)
        β_FS in t and its error propagated from *sigma_real_err*.
    """
    from latticemirage.mapping import fermi_contour_beta

    mu, lam = params["mu"], params["lam"]
    beta = fermi_contour_beta(mu - sigma_real, lam)
    if sigma_real_err > 0:
        h = max(float(sigma_real_err), 1e-6)
        slope = (fermi_contour_beta(mu - sigma_real - h, lam)
                 - fermi_contour_beta(mu - sigma_real + h, lam)) / (2 * h)
        return beta, abs(slope) * float(sigma_real_err)
    return beta, 0.0


def measure_beta(params, disorder, size, realizations, seed, *, window, twist=(0.0, 0.0)):
    """β_eff over disorder realizations, with its standard error (as `rates.measure_rates`).

    Realization i draws its potential from ``realization_rng(seed, i)`` and removes its site
    average (`potentials.remove_uniform`), exactly as the rate measurement, so with the same
    seed both describe the same realizations.

    Parameters
    ----------
    params : dict
        Model parameters in t.
    disorder : disorder kind (`latticemirage.disorder.potentials`)
    size, realizations, seed : int
    window : float
        w in t.
    twist : (float, float)
        Boundary twist of the supercells (the rates' grid is untwisted).

    Returns
    -------
    dict
        ``beta_eff_t``, ``beta_eff_err_t`` (standard error over realizations), ``clean_t``
        (the clean supercell's value: the same grid, no disorder), ``per_realization_t``,
        ``n0`` (1/t per spin per site), ``states`` (mean per realization), ``window_t``.
    """
    from latticemirage.disorder.potentials import realization_rng, remove_uniform

    if int(realizations) != realizations or realizations < 2:
        raise ParameterError("realizations", f"must be an integer >= 2, got {realizations!r}")
    shape = (int(size), int(size))
    vals, n0s, states = [], [], []
    for i in range(int(realizations)):
        v, _ = remove_uniform(disorder.potential(shape, realization_rng(seed, i)))
        m = fermi_level_beta(params, size, potential=v, twists=(twist,), window=window)
        vals.append(m.beta)
        n0s.append(m.n0)
        states.append(m.states)
    clean = fermi_level_beta(params, size, twists=(twist,), window=window)
    vals = np.asarray(vals)
    return {"beta_eff_t": float(vals.mean()),
            "beta_eff_err_t": float(vals.std(ddof=1) / np.sqrt(vals.size)),
            "clean_t": clean.beta, "per_realization_t": [float(x) for x in vals],
            "n0": float(np.mean(n0s)), "states": float(np.mean(states)), "window_t": window}
