r"""BdG spectra: bands along Γ–K–M–K'–Γ and the zoom across p_F near K (paper Fig. 1(b)).

High-symmetry points (Cartesian, 1/a) for the lattice of `latticemirage.model`:
``Γ = (0, 0)``, ``K = (−4π/3, 0)`` (`model.VALLEY_K`, where β = +3√3λ/2),
``M = (−π, π/√3)`` (midpoint of the zone edge next to K) and
``K' = (−2π/3, 2π/√3)`` (equivalent to ``−K``, where β = −3√3λ/2).

All spectra are eigenvalues of the fast Bloch Hamiltonian (`bulk.bloch_hamiltonian`),
i.e. of the Kwant Builder, sorted ascending per k point.
"""

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from latticemirage import bulk, model
from latticemirage.mapping import LatticeMapping, xi_and_beta
from mirage_common.errors import ParameterError, check_positive
from mirage_common.formulas import mirage_formula

__all__ = [
    "HIGH_SYMMETRY_POINTS",
    "BandPath",
    "FermiZoom",
    "band_path",
    "bdg_bands",
    "fermi_zoom",
]

def _frozen(*values):
    arr = np.array(values, dtype=float)
    arr.setflags(write=False)
    return arr


HIGH_SYMMETRY_POINTS = MappingProxyType({
    "Γ": _frozen(0.0, 0.0),
    "K": _frozen(*model.VALLEY_K),
    "M": _frozen(-np.pi, np.pi / np.sqrt(3)),
    "K'": _frozen(-2 * np.pi / 3, 2 * np.pi / np.sqrt(3)),
})
_PATH = ("Γ", "K", "M", "K'", "Γ")


def bdg_bands(blocks, k):
    """Sorted BdG eigenvalues at Cartesian *k*, shape ``k.shape[:-1] + (norbs,)`` (t)."""
    return np.linalg.eigvalsh(bulk.bloch_hamiltonian(blocks, k))


@dataclass(frozen=True, eq=False)
class BandPath:
    """Bands along a piecewise straight path.

    Attributes
    ----------
    distance : ndarray, shape (n,)
        Arc length along the path, 1/a.
    k : ndarray, shape (n, 2)
        Cartesian k, 1/a.
    energies : ndarray, shape (n, norbs)
        BdG eigenvalues, t.
    ticks : tuple of float
        Arc length of the corner points.
    labels : tuple of str
    """

    distance: np.ndarray = field(repr=False)
    k: np.ndarray = field(repr=False)
    energies: np.ndarray = field(repr=False)
    ticks: tuple
    labels: tuple


def band_path(blocks, n_points=601, path=_PATH):
    """BdG bands along Γ–K–M–K'–Γ (or another path of `HIGH_SYMMETRY_POINTS` labels).

    Parameters
    ----------
    blocks : dict from `bulk.fourier_blocks`
    n_points : int
        Total points (>= 2 per segment), distributed in proportion to length.
    path : sequence of str

    Returns
    -------
    BandPath
    """
    if int(n_points) != n_points or n_points < 2 * (len(path) - 1):
        need = 2 * (len(path) - 1)
        raise ParameterError("n_points", f"need an integer >= {need}, got {n_points!r}")
    corners = np.array([HIGH_SYMMETRY_POINTS[p] for p in path])
    seg = np.linalg.norm(np.diff(corners, axis=0), axis=1)
    ticks = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.linspace(0.0, ticks[-1], int(n_points))
    k = np.empty((len(s), 2))
    for i in range(len(seg)):
        sel = (s >= ticks[i]) & (s <= ticks[i + 1])
        frac = (s[sel] - ticks[i]) / seg[i]
        k[sel] = corners[i] + frac[:, None] * (corners[i + 1] - corners[i])
    return BandPath(
        distance=s, k=k, energies=bdg_bands(blocks, k), ticks=tuple(ticks), labels=tuple(path)
    )


@dataclass(frozen=True, eq=False)
class FermiZoom:
    """Spectrum along a ray from K across the Fermi momentum (energies in Δ0).

    Attributes
    ----------
    dp : ndarray, shape (n,)
        ``|k − K| − p_F`` along the ray, 1/a.
    xi : ndarray, shape (n,)
        Normal-state dispersion ``xi(k)`` (no β, B, Δ), Δ0.
    energies : ndarray, shape (n, norbs)
        BdG eigenvalues, Δ0.
    p_fermi : float
        Pocket radius along the ray, 1/a.
    beta_fermi : float
        β(k_F) at the crossing, Δ0.
    eps1, eps2, eps0, width : float
        Mirage-gap formulas at ``beta_fermi``, the field and the gap, Δ0.
    angle : float
        Direction of the ray (radians from +x).
    delta : float
        Gap used, Δ0.
    """

    dp: np.ndarray = field(repr=False)
    xi: np.ndarray = field(repr=False)
    energies: np.ndarray = field(repr=False)
    p_fermi: float
    beta_fermi: float
    eps1: float
    eps2: float
    eps0: float
    width: float
    angle: float
    delta: float


def fermi_zoom(mapping, *, delta=None, angle=0.0, span=1.6, n_points=801, fsyst=None):
    """BdG spectrum across p_F near K along the ray at *angle*: the paper's Fig. 1(b).

    Parameters
    ----------
    mapping : LatticeMapping
    delta : float, optional
        Gap in Δ0; default ``mapping.physical.delta`` (must then be set).
    angle : float
        Ray direction from K, radians from +x (0 points from K towards Γ).
    span : float
        Half-range of the normal-state energy ``|xi|`` covered, in units of
        ``max(ε1, 1)`` (so the mirage crossings at ``xi ≈ ±ε0`` are inside).
    n_points : int
    fsyst : finalized wrapped system, optional

    Returns
    -------
    FermiZoom
    """
    if not isinstance(mapping, LatticeMapping):
        raise TypeError("mapping must be a LatticeMapping")
    phys = mapping.physical
    delta = phys.delta if delta is None else delta
    if delta is None:
        raise ParameterError("delta", "is None: give a gap or solve it with latticemirage.gap")
    check_positive("span", span)
    if int(n_points) != n_points or n_points < 3:
        raise ParameterError("n_points", f"need an integer >= 3, got {n_points!r}")
    fsyst = bulk.wrapped_system() if fsyst is None else fsyst
    d0 = mapping.delta0
    params = mapping.lattice_params(delta)
    blocks = bulk.fourier_blocks(fsyst, params)
    bare = bulk.fourier_blocks(fsyst, {**params, "lam": 0.0, "B": 0.0, "delta": 0.0})
    unit = bulk.fourier_blocks(fsyst, {**params, "lam": 1.0, "B": 0.0, "delta": 0.0})
    direction = np.array([np.cos(angle), np.sin(angle)])
    # Fermi momentum along the ray by bisection on xi (xi(K) = E_F > 0, xi(M) < 0).
    lo, hi = 0.0, 2 * np.pi / 3
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        xi_mid, _ = xi_and_beta(bare, model.VALLEY_K + mid * direction)
        lo, hi = (mid, hi) if xi_mid > 0 else (lo, mid)
    p_f = 0.5 * (lo + hi)
    k_f = model.VALLEY_K + p_f * direction
    grad = bulk.bloch_gradient(bare, k_f)[:, 0, 0].real
    v_ray = abs(grad @ direction)
    formula = mirage_formula(
        mapping.lam * xi_and_beta(unit, k_f)[1] / d0, phys.field, delta
    )
    half = span * max(float(formula.eps1), 1.0) * d0 / v_ray  # in 1/a
    dp = np.linspace(-half, half, int(n_points))
    k = model.VALLEY_K + (p_f + dp)[:, None] * direction
    xi, _ = xi_and_beta(bare, k)
    return FermiZoom(
        dp=dp,
        xi=xi / d0,
        energies=bdg_bands(blocks, k) / d0,
        p_fermi=float(p_f),
        beta_fermi=float(mapping.lam * xi_and_beta(unit, k_f)[1] / d0),
        eps1=float(formula.eps1),
        eps2=float(formula.eps2),
        eps0=float(formula.eps0),
        width=float(formula.width),
        angle=float(angle),
        delta=float(delta),
    )
