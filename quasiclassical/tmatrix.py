r"""Point impurities beyond Born: the quasiclassical self-consistent T-matrix approximation.

Model
    Dilute point (contact, on-site) impurities of concentration :math:`n_i` per site and
    potential V. An on-site potential scatters within and between the valleys alike: its
    matrix element is V for every valley pair. In the BdG basis of
    `quasiclassical.eilenberger` (:math:`c_\uparrow, c_\downarrow, c^\dagger_\uparrow,
    c^\dagger_\downarrow`) it enters as :math:`+V` for electrons and :math:`-V` for holes,
    spin-independent:

    .. math:: \hat v = V\, J \otimes \tau_3, \qquad J_{ss'} = 1 \ \ (s, s' = K, K').

Gor'kov and Eilenberger self-energies
    With :math:`M = \tau_3(\tilde\varepsilon - H_{BdG}) + \xi` as in
    `quasiclassical.eilenberger`, a Gor'kov self-energy :math:`\Sigma_G`
    (:math:`G^{-1} = \tilde\varepsilon - H_{BdG} - \Sigma_G`) enters Eq. (8) as
    :math:`\hat\Sigma = \tau_3\Sigma_G`, and the local (k-summed) Green's function of valley s
    is :math:`G_s = \sum_{k\in s} G_k = \pi N_s(-i\hat g_s + R_s)\tau_3` with :math:`N_s` the
    normal DOS of valley s per spin per site and :math:`R_s` the real background
    (:math:`\mathrm{Re}\,G_{loc}` of the band at the Fermi level, units :math:`\pi N_s`): the
    lattice band is not particle-hole symmetric, so its normal-state local Green's function
    is :math:`\pi N_s(R_s - i)` for electrons and :math:`\pi N_s(-R_s - i)` for holes.
    (The ``-i\pi N_s\hat g_s\tau_3`` part is :math:`\int d\xi\,G = -i\pi\hat g\tau_3`.)

T-matrix (valley x Nambu x spin, 8x8)
    :math:`\hat t = \hat v + \hat v\,\mathrm{diag}_s(G_s)\,\hat t`. Because :math:`J = ee^T`,
    :math:`e = (1, 1)`, has rank one, :math:`\hat t = J\otimes T` with the 4x4

    .. math::

        T = [\tau_3/V - G_+ - G_-]^{-1}
          = \tau_3\,[\,1/V - \pi N_0\bar R + i\pi N_0 \langle\hat g\rangle\,]^{-1},

    the same for every valley pair, where :math:`N_0 = N_+ + N_-` is the normal DOS per spin
    per site **of both valleys** (the package's and ``LatticeMapping.n0``'s N0),
    :math:`\langle\hat g\rangle = \sum_s (N_s/N_0)\hat g_s` the Fermi-surface average of the
    SCBA (`FermiSurface` weights), and :math:`\bar R = \sum_s (N_s/N_0) R_s`: only this
    DOS-weighted mean of the backgrounds enters. The self-energy of every valley (and
    every Fermi-surface point) is :math:`\Sigma_{G,s} = n_i\hat t_{ss} = n_i T`, so

    .. math::

        \hat\Sigma = n_i\tau_3 T = \Gamma_u\,[\,c + i\langle\hat g\rangle\,]^{-1},
        \qquad \Gamma_u = \frac{n_i}{\pi N_0}, \qquad
        c = \cot\delta_0 = \frac{1}{\pi N_0 V} - \bar R,

    the standard form (Hirschfeld, Wölfle, Einzel PRB 37, 83 (1988); Balatsky, Vekhter,
    Zhu RMP 78, 373 (2006)) with the matrix :math:`\langle\hat g\rangle` in place of its
    scalar components, triplet parts included. The part of :math:`\hat\Sigma` proportional
    to the unit matrix (a :math:`\tau_3` term of :math:`\Sigma_G`: a shift of the chemical
    potential, containing the uniform :math:`n_i V` the lattice removes) commutes with
    everything and drops out of the Eilenberger equation; `tmatrix_self_energy` removes it
    (``traceless=True``) so that the retarded branch of :math:`\mathrm{sign}_R(M)` is not
    moved by a complex scalar shift.

Parametrization (fields of `TMatrixImpurities`)
    ``rate`` :math:`\Gamma_u = n_i/(\pi N_0)` in Delta0 (the unitary-limit rate) and
    ``cot`` :math:`c = \cot\delta_0`. The dimensionless strength is :math:`u = \pi N_0 V`
    (:math:`c = 1/u - \bar R`). From lattice numbers (`TMatrixImpurities.from_lattice`):
    ``n_i`` per site, V in t, :math:`G_{loc}` the clean normal-state local Green's function
    per spin per site at the Fermi level, both valleys, in 1/t (:math:`N_0 = -\mathrm{Im}
    G_{loc}/\pi`; :math:`N_0/2` per valley; :math:`\bar R = \mathrm{Re}G_{loc}/(\pi N_0)`),
    and Delta0 in t: :math:`\Gamma_u = n_i/(\pi N_0\Delta_0)`.

    *Limits.* Born: :math:`u \to 0` at fixed :math:`\Gamma_B = \Gamma_u u^2 = \pi n_i V^2 N_0`
    (`TMatrixImpurities.born`). For :math:`\bar R = 0`, :math:`X = \langle\hat g\rangle`,

    .. math::

        \hat\Sigma = \Gamma_B/u - i\Gamma_B X - \Gamma_B u X^2 + i\Gamma_B u^2 X^3 + O(u^3):

    the first term is a multiple of 1 (dropped), the second is the SCBA of
    `quasiclassical.eilenberger` with ``gamma`` :math:`= \Gamma_B` and ``gamma_intra = 0``,
    the third is a multiple of 1 for the two-valley model (see below), so there the first
    correction that acts is :math:`O(\Gamma_B u^2)`. On a warped Fermi surface the third
    (the :math:`n_i V^3 G_{loc}^2` of third order) acts and changes :math:`\hat g` at
    :math:`O(u)`, but only by parts that commute with :math:`C = \sigma_z\tau_2` (at
    :math:`\phi = 0`; rotated about z by :math:`\phi` in general) (it is an
    even function of :math:`\langle\hat g\rangle`, which anticommutes with C); the DOS
    (:math:`\tau_3` part) and :math:`f_0` anticommute with C and see it only at second
    order, so they deviate from Born at :math:`O(u^2)` there too (tested). With
    :math:`\bar R \ne 0`, :math:`\Gamma_u/c^2 = \Gamma_B/(1 - u\bar R)^2`
    adds an :math:`O(u)` change of the rate. Unitary: :math:`c \to 0`,
    :math:`\hat\Sigma = -i\Gamma_u\langle\hat g\rangle^{-1}` exactly.

Normal-state rate (comparison with the SCBA's ``gamma``)
    In the normal state :math:`\hat g_s = \tau_3` (any beta, B), so
    :math:`\Sigma_G = n_i T` with the scalar single-site T-matrix of both valleys,
    :math:`T = V/(1 - V G_{loc})`, :math:`G_{loc} = G_+ + G_- = \pi N_0(\bar R - i)`, and

    .. math::

        \Gamma_N = -n_i\,\mathrm{Im}\,T = \pi n_i N_0 |T|^2 = \frac{\Gamma_u}{1 + c^2}
        = \Gamma_u \sin^2\delta_0

    (`TMatrixImpurities.normal_rate`): the total rate :math:`1/(2\tau)` the lattice measures
    (``Gamma_tot`` of ``latticemirage.disorder.rates``). Half of it is intervalley
    (``Gamma_inter = Gamma_N / 2``; the on-site T-matrix is the same for every valley
    pair), so in the SCBA's convention these impurities have ``gamma = 2 Gamma_inter =
    Gamma_N`` and ``gamma_intra = 0``: the SCBA at ``gamma = normal_rate`` is the Born
    approximation *at the measured rate*, which the T-matrix corrects.

Two-valley model: an energy-dependent Born rate
    For the paper's two-valley model :math:`\langle\hat g\rangle^2 = x(\varepsilon)\,1` is a
    multiple of the unit matrix (found numerically to round-off at any beta, B, phi; not
    assumed by the code), so :math:`[c + iX]^{-1} = (c - iX)/(c^2 + x)` and

    .. math::

        \hat\Sigma = -i\,\frac{\Gamma_u}{c^2 + x(\varepsilon)}\,\langle\hat g\rangle
        + (\text{unit matrix}), \qquad x = \tfrac14\mathrm{Tr}\langle\hat g\rangle^2,

    the Born SCBA with the rate :math:`\Gamma_u/(c^2 + x)` (:math:`\Gamma_N` in the normal
    state, :math:`x = 1`). At B = 0 both valleys have the same BCS :math:`\hat g`, x = 1, and
    Anderson's theorem holds as in Born. For a warped Fermi surface
    :math:`\langle\hat g\rangle^2` is not scalar and the full matrix inverse is used.

Units: energies in Delta0 (see `quasiclassical.params`).
"""

import math
from dataclasses import dataclass

import numpy as np

from mirage_common.errors import ParameterError, check_finite, check_nonnegative

__all__ = ["TMatrixImpurities", "tmatrix_self_energy", "tmatrix_self_energy_masked"]

# |det(c + iX)| relative to max(1, |c|, |X|)^4 below which the inverse counts as singular
# (a T-matrix pole on the batch element); round-off of a 4x4 determinant is ~1e-15.
_SINGULAR_TOL = 1e-12


@dataclass(frozen=True)
class TMatrixImpurities:
    r"""Dilute point impurities in the self-consistent T-matrix approximation.

    :math:`\hat\Sigma = \Gamma_u[c + i\langle\hat g\rangle]^{-1}` (module docstring).

    Parameters
    ----------
    rate : float
        :math:`\Gamma_u = n_i/(\pi N_0) \ge 0`, Delta0 (N0 per spin per site, both valleys).
    cot : float
        :math:`c = \cot\delta_0 = 1/(\pi N_0 V) - \bar R`, any finite real (0: unitary
        limit; large :math:`|c|`: Born limit; negative: attractive V, for
        :math:`\bar R = 0`).

    Examples
    --------
    >>> imp = TMatrixImpurities.born(1.0, 0.5)  # Gamma_B = 1 Delta0, u = pi N0 V = 0.5
    >>> round(imp.normal_rate, 6)  # Gamma_B / (1 + u^2)
    0.8
    """

    rate: float
    cot: float = 0.0

    def __post_init__(self):
        check_nonnegative("rate", self.rate)
        check_finite("cot", self.cot)
        object.__setattr__(self, "rate", float(self.rate))
        object.__setattr__(self, "cot", float(self.cot))

    # -- constructors ----------------------------------------------------------------
    @classmethod
    def born(cls, gamma_born, strength, background=0.0):
        r"""From the Born rate :math:`\Gamma_B = \pi n_i V^2 N_0` (Delta0) and u = pi N0 V.

        ``gamma_born`` is the SCBA ``gamma`` the same impurities get in the Born
        approximation; ``strength`` u is nonzero and finite (sign of V); ``background``
        is :math:`\bar R`. Then :math:`\Gamma_u = \Gamma_B/u^2`, :math:`c = 1/u - \bar R`.
        """
        check_nonnegative("gamma_born", gamma_born)
        check_finite("strength", strength)
        check_finite("background", background)
        if strength == 0:
            raise ParameterError("strength", "must be nonzero (u = 0 scatters nothing)")
        return cls(rate=gamma_born / strength**2, cot=1.0 / strength - background)

    @classmethod
    def unitary(cls, rate):
        r"""The unitary limit :math:`c = 0` at :math:`\Gamma_u` = *rate* (Delta0)."""
        return cls(rate=rate, cot=0.0)

    @classmethod
    def from_normal_rate(cls, normal_rate, cot):
        r"""From the normal-state rate :math:`\Gamma_N` (Delta0) and c.

        :math:`\Gamma_u = \Gamma_N(1 + c^2)`.
        """
        check_nonnegative("normal_rate", normal_rate)
        check_finite("cot", cot)
        return cls(rate=normal_rate * (1.0 + cot**2), cot=cot)

    @classmethod
    def from_lattice(cls, concentration, potential, g_loc, delta0):
        r"""From lattice quantities (module docstring, "Parametrization").

        Parameters
        ----------
        concentration : float
            :math:`n_i`, impurities per site, in (0, 1].
        potential : float
            V, t (nonzero).
        g_loc : complex
            Clean normal-state local Green's function per spin per site at the Fermi level,
            both valleys, 1/t; ``Im g_loc = -pi N0 < 0``. With only the DOS known,
            ``g_loc = -1j * pi * n0``.
        delta0 : float
            Delta0 in t (> 0).
        """
        check_finite("concentration", concentration)
        if not 0 < concentration <= 1:
            raise ParameterError("concentration", f"must lie in (0, 1], got {concentration!r}")
        check_finite("potential", potential)
        if potential == 0:
            raise ParameterError("potential", "must be nonzero")
        g_loc = complex(g_loc)
        check_finite("g_loc", g_loc)
        if not g_loc.imag < 0:
            raise ParameterError("g_loc", f"must have Im < 0 (-pi N0), got {g_loc!r}")
        if not (math.isfinite(delta0) and delta0 > 0):
            raise ParameterError("delta0", f"must be > 0, got {delta0!r}")
        n0 = -g_loc.imag / math.pi
        background = g_loc.real / (math.pi * n0)
        return cls(rate=concentration / (math.pi * n0 * delta0),
                   cot=1.0 / (math.pi * n0 * potential) - background)

    # -- normal state ----------------------------------------------------------------
    @property
    def sin2_phase(self):
        r""":math:`\sin^2\delta_0 = 1/(1 + c^2)`."""
        return 1.0 / (1.0 + self.cot**2)

    @property
    def normal_rate(self):
        r""":math:`\Gamma_N = \Gamma_u/(1 + c^2)`, Delta0: the normal-state -Im Sigma.

        The total rate :math:`1/(2\tau)`; the SCBA ``gamma`` of the same measured rate
        (intervalley share 1/2, ``gamma_intra = 0``).
        """
        return self.rate * self.sin2_phase

    @property
    def normal_self_energy(self):
        r"""Electron self-energy in the normal state, :math:`n_i T = \Gamma_u/(c + i)`, Delta0.

        Its real part :math:`\Gamma_u c/(1 + c^2)` is the uniform shift that drops out.
        """
        return self.rate / complex(self.cot, 1.0)

    def as_dict(self):
        """``{"rate": ..., "cot": ...}`` plus the derived ``normal_rate`` (for metadata)."""
        return {"rate": self.rate, "cot": self.cot, "normal_rate": self.normal_rate}

    @classmethod
    def from_dict(cls, data):
        """Inverse of `as_dict` (derived entries are ignored)."""
        return cls(rate=data["rate"], cot=data["cot"])


def tmatrix_self_energy_masked(average, impurities, traceless=True):
    """Batch T-matrix self-energy and a mask of the elements where ``c + iX`` is regular.

    `tmatrix_self_energy` without its check: the SCBA (`quasiclassical.eilenberger`)
    marks the singular elements unconverged instead of raising.

    Parameters
    ----------
    average : ndarray, shape (..., 4, 4)
    impurities : TMatrixImpurities
    traceless : bool

    Returns
    -------
    sigma : ndarray, shape (..., 4, 4), complex
    ok : ndarray of bool, shape (...)
    """
    x = np.asarray(average, dtype=complex)
    a = impurities.cot * np.eye(4) + 1j * x
    det = np.linalg.det(a)
    scale = np.maximum(1.0, np.maximum(abs(impurities.cot), np.max(np.abs(x), axis=(-2, -1))))
    ok = np.isfinite(det) & (np.abs(det) > _SINGULAR_TOL * scale**4)
    a = np.where(ok[..., None, None], a, np.eye(4))
    sigma = impurities.rate * np.linalg.inv(a)
    if traceless:
        sigma = sigma - (0.25 * np.trace(sigma, axis1=-2, axis2=-1))[..., None, None] * np.eye(4)
    ok &= np.all(np.isfinite(sigma), axis=(-2, -1))
    return sigma, ok


def tmatrix_self_energy(average, impurities, *, traceless=True):
    r"""The T-matrix self-energy :math:`\hat\Sigma = \Gamma_u[c + i\langle\hat g\rangle]^{-1}`.

    Parameters
    ----------
    average : array_like, shape (..., 4, 4)
        :math:`\langle\hat g\rangle` (Eq. (8) gauge), e.g. ``SCBAResult.average``.
    impurities : TMatrixImpurities
    traceless : bool
        Remove the part proportional to the unit matrix (default; it drops out of Eq. (8)
        and is what `quasiclassical.eilenberger.solve_scba` uses). ``False`` gives the
        full :math:`n_i\tau_3 T`, whose electron block in the normal state is
        ``impurities.normal_self_energy``.

    Returns
    -------
    ndarray, shape (..., 4, 4), complex
        Delta0.

    Raises
    ------
    ValueError
        If :math:`c + i\langle\hat g\rangle` is singular (a T-matrix pole) somewhere.
    """
    sigma, ok = tmatrix_self_energy_masked(average, impurities, traceless)
    if not np.all(ok):
        raise ValueError("c + i<g> is singular (T-matrix pole) at batch indices "
                         f"{np.argwhere(~np.atleast_1d(ok))[:5].tolist()}")
    return sigma
