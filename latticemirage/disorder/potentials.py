r"""Nonmagnetic disorder realizations on periodic supercells.

Three kinds, each a frozen, validated parameter set with a pure method
``potential(shape, rng) -> ndarray (L1, L2)`` giving the onsite potential ``V_s``
in units of t (spin independent; it enters the BdG matrix as ``V tau_3``, see
`latticemirage.disorder.supercell`):

`PointImpurities`
    Each site independently hosts an impurity with probability ``concentration``
    ``n_i``; impurity sites get ``V = strength``, the others 0. ``potential``
    returns the sites as drawn, site average ``~ n_i V`` (`mean`); the scattering
    is set by the variance ``n_i (1 - n_i) V^2``. Short range: it scatters between
    the valleys K and K' as much as within them.
`AndersonDisorder`
    ``V_s`` uniform in ``[-W/2, W/2]``, variance ``W^2 / 12``; short range.
`SmoothDisorder`
    Gaussian random field with ``<V(r) V(r')> = A^2 exp(-|r - r'|^2 / (2 xi^2))``
    (periodic, minimum-image distance) and zero spatial mean (the uniform q = 0
    component, a mere shift of mu, is removed). Its relative Fourier weight at
    momenta that connect the pockets at K and K' (``|q| >= |K| - 2 p_F`` with
    ``|K| = 4 pi / 3``) is at most ``exp(-(|K| - 2 p_F)^2 xi^2 / 2)``
    (``~1e-6`` for ``xi = 2`` and ``p_F ~ 0.75``), so it scatters only within a
    valley: the Anderson-theorem control.

Uniform part (one convention for the DOS studies and the rates)
    The site average ``V_bar`` of a realization (its ``q = 0`` Fourier component,
    ``~ n_i V`` for point impurities) scatters nothing; it only shifts the band,
    ``mu -> mu - V_bar``. `remove_uniform` subtracts it, and both
    `latticemirage.disorder.study` (KPM DOS) and `latticemirage.disorder.rates`
    use the potential so centred: the pocket depth stays the E_F of the clean
    mapping, the number the quasiclassical side is given. The removed ``V_bar`` is
    reported (study realizations and average, rates output).

Reproducibility: realization ``i`` of a study with seed ``s`` draws from
``numpy.random.default_rng(SeedSequence([s, i]))`` (`realization_rng`), so any
realization can be recomputed alone, in any order, on any worker.
"""

from dataclasses import asdict, dataclass

import numpy as np

from latticemirage import model
from mirage_common.errors import ParameterError, check_nonnegative, check_positive, check_range

__all__ = [
    "KINDS",
    "AndersonDisorder",
    "PointImpurities",
    "SmoothDisorder",
    "disorder_from_dict",
    "realization_rng",
    "remove_uniform",
]


def realization_rng(seed, index):
    """Generator for realization *index* of a study with integer *seed*.

    Parameters
    ----------
    seed, index : int >= 0

    Returns
    -------
    numpy.random.Generator
        ``default_rng(SeedSequence([seed, index]))``.
    """
    for name, value in (("seed", seed), ("index", index)):
        if int(value) != value or value < 0:
            raise ParameterError(name, f"must be a non-negative integer, got {value!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def remove_uniform(potential):
    """Split off the site average (the uniform ``q = 0`` part) of a potential.

    Parameters
    ----------
    potential : array_like, any shape, in t

    Returns
    -------
    centred : ndarray, same shape
        ``potential - shift``: zero site average (to round-off).
    shift : float
        The site average ``V_bar`` in t (``~ n_i V`` for point impurities).
    """
    v = np.asarray(potential, dtype=float)
    shift = float(np.mean(v))
    return v - shift, shift


def _shape(shape):
    l1, l2 = (shape, shape) if np.ndim(shape) == 0 else shape
    return int(l1), int(l2)


class _WhiteNoise:
    """Methods shared by uncorrelated (site-independent) disorder with a ``variance``."""

    @property
    def correlation_sum(self):
        """``sum_r <dV(0) dV(r)>`` in t^2: uncorrelated, so just the onsite variance."""
        return self.variance

    def power_spectrum(self, shape):
        """``C(q) = <|V_q|^2> / N`` in t^2: white noise, the variance at every q."""
        return np.full(_shape(shape), self.variance)


@dataclass(frozen=True)
class PointImpurities(_WhiteNoise):
    """Point impurities: concentration per site and onsite strength (in t).

    Parameters
    ----------
    concentration : float in [0, 1]
        Probability ``n_i`` that a site hosts an impurity.
    strength : float
        Impurity potential ``V`` in t (any sign).
    """

    concentration: float
    strength: float
    kind = "point"

    def __post_init__(self):
        check_range("concentration", self.concentration, 0.0, 1.0)
        check_range("strength", self.strength)

    @property
    def mean(self):
        """Expected site average ``n_i V`` in t (the uniform shift `remove_uniform` removes)."""
        return self.concentration * self.strength

    @property
    def variance(self):
        """Onsite variance ``n_i (1 - n_i) V^2`` in t^2."""
        n = self.concentration
        return n * (1 - n) * self.strength**2

    def potential(self, shape, rng):
        """Onsite potential, shape ``(L1, L2)``, in t."""
        mask = rng.random(_shape(shape)) < self.concentration
        return np.where(mask, float(self.strength), 0.0)

    def to_dict(self):
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class AndersonDisorder(_WhiteNoise):
    """Anderson box disorder of total width ``W`` (in t): ``V`` uniform in ``[-W/2, W/2]``."""

    width: float
    kind = "anderson"

    def __post_init__(self):
        check_nonnegative("width", self.width)

    mean = 0.0  # expected site average (t): the box is centred

    @property
    def variance(self):
        """Onsite variance ``W^2 / 12`` in t^2."""
        return self.width**2 / 12

    def potential(self, shape, rng):
        """Onsite potential, shape ``(L1, L2)``, in t."""
        return self.width * (rng.random(_shape(shape)) - 0.5)

    def to_dict(self):
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class SmoothDisorder:
    """Gaussian-correlated disorder: rms ``amplitude`` (t), ``correlation_length`` (a).

    ``<V(r) V(r')> = amplitude^2 exp(-|r - r'|^2 / (2 correlation_length^2))``.
    """

    amplitude: float
    correlation_length: float
    kind = "smooth"

    def __post_init__(self):
        check_nonnegative("amplitude", self.amplitude)
        check_positive("correlation_length", self.correlation_length)

    mean = 0.0  # site average (t): zero by construction (q = 0 removed)

    @property
    def variance(self):
        """Onsite variance ``amplitude^2`` in t^2 (before removing the q = 0 mode)."""
        return self.amplitude**2

    @property
    def correlation_sum(self):
        """``sum_r C(r) ~ A^2 2 pi xi^2 / A_cell`` in t^2 (continuum limit).

        ``A_cell = sqrt(3)/2`` is the area per site.
        """
        return self.amplitude**2 * 2 * np.pi * self.correlation_length**2 / (np.sqrt(3) / 2)

    def _kernel_spectrum(self, shape):
        """Fourier transform of the smoothing kernel, normalized to ``sum_q |K_q|^2 = N``."""
        l1, l2 = _shape(shape)
        xi = self.correlation_length
        if min(l1, l2) < 4 * xi:
            # The periodic field would correlate with its own images.
            raise ParameterError(
                "correlation_length",
                f"{xi} is too long for a {l1} x {l2} supercell (need L >= 4 xi)",
            )
        # Minimum-image Cartesian distance from site 0 on the periodic cell.
        da = np.fft.fftfreq(l1, 1 / l1)[:, None]
        db = np.fft.fftfreq(l2, 1 / l2)[None, :]
        p1, p2 = np.asarray(model.LATTICE.prim_vecs)
        best = np.full((l1, l2), np.inf)
        # Of the 9 periodic images, the nearest gives the minimum-image distance
        # on the oblique cell.
        for s1 in (-1, 0, 1):
            for s2 in (-1, 0, 1):
                x = (da + s1 * l1) * p1[0] + (db + s2 * l2) * p2[0]
                y = (da + s1 * l1) * p1[1] + (db + s2 * l2) * p2[1]
                best = np.minimum(best, x**2 + y**2)
        # Kernel K with K * K = Gaussian of variance xi^2: K ~ exp(-r^2 / xi^2).
        kernel = np.exp(-best / xi**2)
        kernel /= np.sqrt(np.sum(kernel**2))
        spectrum = np.fft.fft2(kernel)
        spectrum[0, 0] = 0.0  # zero mean: the uniform shift is not scattering
        return spectrum

    def power_spectrum(self, shape):
        """``C(q) = <|V_q|^2> / N`` in t^2, exact for this generator (0 at q = 0)."""
        return self.amplitude**2 * np.abs(self._kernel_spectrum(shape)) ** 2

    def potential(self, shape, rng):
        """Onsite potential, shape ``(L1, L2)``, in t; zero spatial mean."""
        spectrum = self._kernel_spectrum(shape)
        noise = rng.standard_normal(spectrum.shape)
        return self.amplitude * np.fft.ifft2(np.fft.fft2(noise) * spectrum).real

    def to_dict(self):
        return {"kind": self.kind, **asdict(self)}


KINDS = {"point": PointImpurities, "anderson": AndersonDisorder, "smooth": SmoothDisorder}


def disorder_from_dict(d):
    """Inverse of ``to_dict``: rebuild a disorder parameter set."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind not in KINDS:
        raise ParameterError("kind", f"must be one of {sorted(KINDS)}, got {kind!r}")
    return KINDS[kind](**d)
