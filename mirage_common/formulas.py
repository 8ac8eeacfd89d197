r"""The paper's mirage-gap formulas (Tang, Bruder, Belzig, PRL 126, 237001 (2021)).

Shared by both sides and the comparisons; any consistent energy unit works
(Delta0 on the quasiclassical side, t on the lattice side).

Exact: the BdG eigenvalues at xi_p = 0 are ``eps_{1,2} = sqrt(beta^2 + (B +- Delta)^2)``;
the mirage gaps sit at ``+-eps0`` with ``eps0 = (eps1 + eps2)/2`` and have width
``delta = eps1 - eps2``. Approximations for ``beta >> Delta``: Eq. (5)
``eps0 ~ sqrt(beta^2 + B^2)`` and Eq. (6) ``delta ~ 2 Delta B / sqrt(beta^2 + B^2)``.

`mirage_gap` goes the other way: it finds the mirage gaps in a DOS curve (either side's).
"""

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MirageFormula",
    "MirageGap",
    "MirageGapSide",
    "mirage_formula",
    "mirage_formula_approx",
    "mirage_gap",
]


@dataclass(frozen=True)
class MirageFormula:
    """Mirage-gap energies from the paper's formulas (same unit as the inputs).

    Attributes
    ----------
    eps1, eps2 : float or ndarray
        Upper and lower mirage-gap edges on the positive-energy side.
    eps0 : float or ndarray
        Centre ``(eps1 + eps2)/2``.
    width : float or ndarray
        ``delta = eps1 - eps2`` (>= 0 for B, Delta >= 0).
    """

    eps1: float
    eps2: float
    eps0: float
    width: float


def mirage_formula(beta, B, delta):
    """Exact mirage-gap edges, centre and width (paper, text below Table I).

    Parameters
    ----------
    beta, B, delta : float or array_like
        Ising SOC, in-plane Zeeman energy and gap, all in one energy unit.
    """
    beta, B, delta = (np.asarray(x, dtype=float) for x in (beta, B, delta))
    eps1 = np.sqrt(beta**2 + (B + delta) ** 2)
    eps2 = np.sqrt(beta**2 + (B - delta) ** 2)
    return MirageFormula(eps1=eps1, eps2=eps2, eps0=0.5 * (eps1 + eps2), width=eps1 - eps2)


def mirage_formula_approx(beta, B, delta):
    """Eqs. (5)-(6): ``eps0 ~ sqrt(beta^2 + B^2)``, ``delta ~ 2 Delta B / eps0``.

    Valid for ``beta >> Delta``; returns ``(eps0, width)``.
    """
    beta, B, delta = (np.asarray(x, dtype=float) for x in (beta, B, delta))
    eps0 = np.sqrt(beta**2 + B**2)
    return eps0, 2 * delta * B / eps0


# --------------------------------------------------------------------------------------
# Extracting the mirage gaps from a DOS curve
# --------------------------------------------------------------------------------------

_MSG_NOT_RESOLVED = (
    "no mirage gap resolved on the {side}-energy side: {why}; refine the energy grid, "
    "reduce the broadening, or restrict the search with window=(low, high)"
)
# Peaks considered per side (the most prominent); pairs of them are scored.
_MAX_PEAKS = 40


@dataclass(frozen=True)
class MirageGapSide:
    """One mirage gap found in a DOS curve (energies in the unit of the input).

    Attributes
    ----------
    lower, upper : float
        Gap edges: the positions of the two bounding coherence peaks (``lower < upper``;
        both negative on the negative-energy side). Broadening shifts peaks outwards by
        about the broadening.
    centre : float
        ``(lower + upper) / 2``.
    width : float
        ``upper - lower`` (> 0).
    depth : float
        Relative contrast ``1 - inside / outside``: the median DOS between the peaks over
        the smaller of the medians in windows of one width on either side (0.5 for a
        clean quasiclassical mirage gap).
    minimum : float
        Smallest DOS value between the peaks.
    """

    lower: float
    upper: float
    centre: float
    width: float
    depth: float
    minimum: float


@dataclass(frozen=True)
class MirageGap:
    """Mirage gaps at positive and negative energies (`MirageGapSide` each)."""

    positive: MirageGapSide
    negative: MirageGapSide


def _refine_peak(x, y, i):
    """Sub-grid peak position by the parabola through the three points around index i."""
    if i <= 0 or i >= len(x) - 1:
        return float(x[i])
    x0, x1, x2 = x[i - 1], x[i], x[i + 1]
    y0, y1, y2 = y[i - 1], y[i], y[i + 1]
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denom
    if a >= 0:
        return float(x1)
    return float(np.clip(-b / (2 * a), x0, x2))


def _one_side(x, y, side, window, min_depth, prominence, min_points):
    from scipy.signal import find_peaks

    if window is not None:
        keep = (x >= window[0]) & (x <= window[1])
        x, y = x[keep], y[keep]
    if x.size < 2 * min_points + 3:
        raise ValueError(_MSG_NOT_RESOLVED.format(side=side, why=f"only {x.size} points"))
    level = float(np.median(y))
    if not level > 0:
        raise ValueError(_MSG_NOT_RESOLVED.format(side=side, why="the DOS median is not > 0"))
    peaks, props = find_peaks(y, prominence=prominence * level)
    if peaks.size > _MAX_PEAKS:
        peaks = np.sort(peaks[np.argsort(props["prominences"])[-_MAX_PEAKS:]])
    best, best_depth = None, -np.inf
    for a in range(peaks.size):
        for b in range(a + 1, peaks.size):
            i, j = peaks[a], peaks[b]
            if j - i - 1 < min_points:
                continue
            inside = float(np.median(y[i + 1:j]))
            width = x[j] - x[i]
            left = y[(x >= x[i] - width) & (x < x[i])]
            right = y[(x > x[j]) & (x <= x[j] + width)]
            if left.size == 0 or right.size == 0:
                continue
            outside = min(float(np.median(left)), float(np.median(right)))
            if outside <= 0:
                continue
            depth = 1.0 - inside / outside
            if depth > best_depth:
                best, best_depth = (i, j), depth
    if best is None or best_depth < min_depth:
        why = (
            f"fewer than two DOS peaks (prominence >= {prominence} x median) with at least "
            f"{min_points} points between them"
            if best is None
            else f"the deepest dip between two DOS peaks has depth {best_depth:.3g} "
            f"< min_depth={min_depth}"
        )
        raise ValueError(_MSG_NOT_RESOLVED.format(side=side, why=why))
    i, j = best
    lower, upper = _refine_peak(x, y, i), _refine_peak(x, y, j)
    return lower, upper, best_depth, float(np.min(y[i + 1:j]))


def mirage_gap(energies, dos, *, window=None, min_depth=0.05, prominence=0.02, min_points=3):
    """Find the mirage gaps (edges, centre, width) in any DOS curve.

    Works on the quasiclassical DOS and on the lattice's (broadened, noisy, with a
    non-flat normal-state background): on each side of zero energy it looks at every
    pair of DOS peaks (local maxima with prominence ``>= prominence x median DOS``) and
    scores the region between them by its relative contrast against windows of the
    same width just outside both peaks. The main gap is never chosen: its outside
    window reaches into the low DOS around zero energy. The pair with the largest
    contrast wins; its peaks are the gap edges (refined by a parabola).

    Parameters
    ----------
    energies : array_like, shape (n,)
        Energies, any unit, covering both signs (need not be sorted or uniform).
    dos : array_like, shape (n,)
        Density of states at *energies* (any normalization; real).
    window : (float, float), optional
        Search only ``window[0] <= |energy| <= window[1]`` on each side.
    min_depth : float
        Smallest relative contrast accepted (default 0.05).
    prominence : float
        Peak prominence threshold relative to the median DOS (default 0.02; raise it
        for noisy curves).
    min_points : int
        Grid points required strictly between the two edges.

    Returns
    -------
    MirageGap
        ``positive`` and ``negative`` `MirageGapSide` (negative side in negative energies).

    Raises
    ------
    ValueError
        With a message naming the side, when no mirage gap is resolved there, or when
        the input arrays are malformed.
    """
    energies = np.asarray(energies, dtype=float)
    dos = np.asarray(dos)
    if np.iscomplexobj(dos):
        raise ValueError("dos must be real (pass Re g0, not g0)")
    dos = dos.astype(float)
    if energies.ndim != 1 or energies.shape != dos.shape:
        raise ValueError(
            f"energies and dos must be 1-D of equal length, got {energies.shape} and {dos.shape}"
        )
    if not (np.all(np.isfinite(energies)) and np.all(np.isfinite(dos))):
        raise ValueError("energies and dos must be finite")
    if window is not None and not (0 <= window[0] < window[1]):
        raise ValueError(f"window must be (low, high) with 0 <= low < high, got {window!r}")
    order = np.argsort(energies)
    energies, dos = energies[order], dos[order]
    sides = {}
    for side, mask in (("positive", energies > 0), ("negative", energies < 0)):
        x, y = np.abs(energies[mask]), dos[mask]
        idx = np.argsort(x)
        lo, hi, depth, minimum = _one_side(x[idx], y[idx], side, window, min_depth, prominence,
                                           min_points)
        if side == "negative":
            lo, hi = -hi, -lo
        sides[side] = MirageGapSide(lower=lo, upper=hi, centre=0.5 * (lo + hi), width=hi - lo,
                                    depth=depth, minimum=minimum)
    return MirageGap(**sides)
