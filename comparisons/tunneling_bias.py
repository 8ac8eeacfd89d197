r"""Both bias signs of the lattice tunnel spectrum: its bias-even and bias-odd parts at ±ε0.

Used by `comparisons.suite_tunneling` (the ``tunneling/bias_even/…`` and
``tunneling/bias_odd/…`` checks). Units: energies in Δ0, temperatures in T_c0,
conductances in G_N.

What the lattice junction measures
----------------------------------
The NS junction of `latticemirage.transport` conserves the momentum k_x along the
interface. In the tunnel limit (barrier 3 t, normal transmission τ̄ ≈ 0.04 per mode)
its conductance is a sum over k_x and over the superconductor's bands of the normal-state
transmission ``∝ v_N⊥ v_S⊥`` times the band's electron spectral weight, plus an Andreev
part of order τ. It equals the electron DOS ``N_e = Re g0`` of quasiclassics only if the
transmission is the same for every state in the energy window: true for
momentum-nonconserving (diffusive, STM-like) tunneling, or when the window is small
against E_F. Here it is not: at ``E = ±ε0`` the two spin bands (``ξ + λε0``) lie at
``ξ ≈ 0`` (the mirage-gapped one) and ``ξ ≈ ±2ε0`` (the open one, ``2ε0 ≈ 0.49 E_F`` at
E_F = 30 Δ0), and in the hole pocket a band at larger ξ has a smaller pocket and slower
electrons: the open band tunnels with weight ``1 + 2κε0`` at ``+ε0`` and ``1 − 2κε0`` at
``−ε0`` (κ < 0). The floor of the mirage gap therefore differs between the bias signs by
an amount ∝ κε0 ∝ ε0/E_F.

Measurement
-----------
At three pocket depths E_F/Δ0 (`ValidationSetup.tunnel_e_fermis`, 30, 60, 120) with the
pocket size fixed (E_F = 0.15 t; Δ0 = 0.15 t/E_F; β(k_F) and its warping, B, T unchanged
in Δ0), the smeared conductance G(E) on ``ε0 ± BIAS_HALF_WINDOW`` and on its mirror image
``−ε0 ∓ …`` (the same grid, negated), split into

* the **odd part** ``(G(E) − G(−E))/2`` at ``E = ε0``;
* the **even part** ``(G(E) + G(−E))/2`` at ``E = ε0``, and the same for the quasiparticle
  part of G (G minus the Andreev part ``2 R_he/G_N``, which is O(τ) and absent from the
  tunnel-limit formula).

Quasiclassical side: `quasiclassical.tunneling` with the lattice's Fermi-surface β
distribution (the same at every E_F of the sweep), Dynes η = 0.01 (the stage's) and
0.005; the floor at η → 0 by the linear extrapolation ``2 G(0.005) − G(0.01)`` (the
Dynes filling of the mirage floor is linear in η here: 0.592, 0.579, 0.572 at η = 0.01,
0.005, 0.0025, extrapolations 0.566 and 0.566). The odd part predicted by the
band-resolved correction ``−κ⟨ε0 Re(ĥ·g)⟩`` (`quasiclassical.tunneling`, ``band_slope``),
with κ measured on the same junction in its normal state (`transport.band_slope`, Zeeman
probe of 2 Δ0, no Ising coupling, no pairing): independent of the superconducting
spectrum it predicts.

Checks
------
* ``tunneling/bias_odd/E_F=…/vs_qc``: ``|odd_lattice − odd_qc| ≤ |odd_qc| · 2ε0/E_F``,
  the size of the next order of the expansion of the weight in ξ/E_F at ξ = 2ε0 where
  the open band lies.
* ``tunneling/bias_odd/exponent``: weighted fit ``ln|odd| = c + p ln E_F`` with the
  relative error of each point set to the same next-order size 2ε0/E_F (an upper
  estimate of the neglected terms, not a statistical error); pass if ``|p + 1| ≤ σ_p``.
  It fails for 1/E_F² or 1/√E_F.
* ``tunneling/bias_even/extrapolated``: fit of ``even_qp(E_F) − qc_{η→0} = c0 + c1/E_F``;
  ``|c0| ≤ TOL_EVEN_LIMIT`` (0.01): the even part converges to the quasiclassical floor.
* ``tunneling/bias_even/convergence``: the deviation at the largest E_F over that at the
  smallest, ≤ 0.5 (1/E_F convergence gives 0.25 for 30 → 120; none gives 1).
"""

from dataclasses import replace

import numpy as np

from comparisons.parameters import binned_fermi_surface
from latticemirage import transport
from latticemirage.mapping import map_to_lattice
from quasiclassical import FermiSurface, QCParams
from quasiclassical.tunneling import tunneling_conductance_params

__all__ = [
    "BIAS_HALF_WINDOW",
    "PROBE_FIELD",
    "QC_ETAS",
    "TOL_EVEN_CONVERGENCE",
    "TOL_EVEN_LIMIT",
    "extrapolate_inverse",
    "fit_power",
    "measure",
]

BIAS_HALF_WINDOW = 0.75  # Δ0 about ±ε0: holds the mirage gap (δ ≈ 0.46) and its edges
PROBE_FIELD = 2.0  # Δ0, Zeeman probe of transport.band_slope (linear: b = 2, 4, 7 agree to 3 %)
QC_ETAS = (0.01, 0.005)  # Δ0: Dynes values extrapolated linearly to η = 0
# |c0| of the even part's 1/E_F extrapolation: its scatter about the fitted line is 0.002
# (full run), the k_x sum moves the quasiparticle floor by <= 0.004 between n_k = 8 and 24,
# the eta extrapolation is good to ~1e-4 (eta = 0.0025 lies on the line): a few times that.
TOL_EVEN_LIMIT = 0.01
TOL_EVEN_CONVERGENCE = 0.5  # ratio; 1/E_F gives 0.25 over 30 -> 120, no convergence 1
_PAD_KT = 10.0  # thermal padding of the lattice grid, k_B T (as the suite)


def fit_power(x, y, rel_err):
    """Weighted least squares of ``ln|y| = c + p ln x``.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Positive abscissae; ordinates of one sign (else NaN is returned).
    rel_err : array_like, shape (n,)
        Relative error of each ``y`` (the error of ``ln|y|``).

    Returns
    -------
    dict
        ``exponent``, ``exponent_error`` (from the weights), ``amplitude`` (``e^c``),
        ``chi2`` (of the fit with those errors).
    """
    x, y, s = (np.asarray(a, dtype=float) for a in (x, y, rel_err))
    if not (np.all(y > 0) or np.all(y < 0)):
        nan = float("nan")
        return {"exponent": nan, "exponent_error": nan, "amplitude": nan, "chi2": nan}
    lx, ly, w = np.log(x), np.log(np.abs(y)), 1.0 / s**2
    xm = np.sum(w * lx) / w.sum()
    ym = np.sum(w * ly) / w.sum()
    sxx = np.sum(w * (lx - xm) ** 2)
    p = np.sum(w * (lx - xm) * (ly - ym)) / sxx
    c = ym - p * xm
    chi2 = float(np.sum(w * (ly - c - p * lx) ** 2))
    return {
        "exponent": float(p),
        "exponent_error": float(1 / np.sqrt(sxx)),
        "amplitude": float(np.sign(y[0]) * np.exp(c)),
        "chi2": chi2,
    }


def extrapolate_inverse(x, y):
    """Least squares of ``y = c0 + c1 / x``; returns ``(c0, c1)``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    a = np.stack([np.ones_like(x), 1 / x], axis=1)
    (c0, c1), *_ = np.linalg.lstsq(a, y, rcond=None)
    return float(c0), float(c1)


def _lattice_sides(mapping, eps0, delta, kt, barrier, res):
    """Smeared G/G_N and its Andreev part on ε0 ± window and on the mirrored grid."""
    step = kt * res.tunnel_step_kt
    hw = BIAS_HALF_WINDOW + _PAD_KT * kt
    grid = np.arange(eps0 - hw, eps0 + hw + step / 2, step)
    keep = np.abs(grid - eps0) <= BIAS_HALF_WINDOW
    out = {"energies": grid[keep]}
    for name, g in (("plus", grid), ("minus", -grid[::-1])):
        raw = transport.ns_conductance(
            mapping, g, delta=delta, barrier=barrier, n_k=res.tunnel_n_k
        )[0]
        sm = transport.thermally_smeared(raw, kt)
        s = sm.sums
        g_n = s["n_in"].sum(axis=1) - s["r_normal"][:, 0:2, :].sum(axis=(1, 2))
        andreev = 2 * s["r"][:, 2:4, :].sum(axis=(1, 2)) / g_n
        g_ns, andreev = sm.conductance, andreev
        if name == "minus":  # onto the + grid: index j holds E = -energies[j]
            g_ns, andreev = g_ns[::-1], andreev[::-1]
        out[name] = g_ns[keep]
        out[f"andreev_{name}"] = andreev[keep]
    return out


def _at(energies, curve, e):
    return float(np.interp(e, energies, curve))


def measure(setup, *, delta, eps0, kt, barrier, tick):
    """Lattice and quasiclassical spectra at ±ε0 for every E_F of the sweep.

    Parameters
    ----------
    setup : ValidationSetup
    delta, eps0, kt : float
        The quasiclassical self-consistent Δ, the mirage centre and k_B T, Δ0.
    barrier : float
        Barrier height, t.
    tick : callable
        Progress, one call per lattice E_F.

    Returns
    -------
    dict
        ``e_fermis``; per E_F lists ``kappa``, ``odd``, ``even``, ``even_qp``, ``odd_qc``,
        ``curves`` (energies, ``plus``, ``minus``, Andreev parts); the quasiclassical
        ``qc`` (η = 0.01), ``qc_eta0`` (η → 0) and ``band_term`` (per unit κ) on the
        window, and their values at ε0.
    """
    base = setup.base
    res = setup.resolution
    e_fermis = tuple(float(e) for e in setup.tunnel_e_fermis)
    out = {
        "e_fermis": e_fermis,
        "kappa": [],
        "odd": [],
        "even": [],
        "even_qp": [],
        "odd_andreev": [],
        "curves": [],
    }
    fs = None
    for ef in e_fermis:
        mapping = map_to_lattice(replace(setup.tunnel_physical(ef), delta=delta))
        if fs is None:  # β(k_F) in Δ0 is the same at every E_F: the pocket is fixed
            fs = FermiSurface(*binned_fermi_surface(*mapping.fermi_surface_beta()))
        curves = _lattice_sides(mapping, eps0, delta, kt, barrier, res)
        slope = transport.band_slope(
            mapping, barrier=barrier, probe_field=PROBE_FIELD, n_k=res.tunnel_n_k
        )
        e = curves["energies"]
        gp, gm = _at(e, curves["plus"], eps0), _at(e, curves["minus"], eps0)
        ap, am = (_at(e, curves[f"andreev_{k}"], eps0) for k in ("plus", "minus"))
        out["kappa"].append(slope.kappa)
        out["odd"].append(0.5 * (gp - gm))
        out["even"].append(0.5 * (gp + gm))
        out["even_qp"].append(0.5 * (gp - ap + gm - am))
        out["odd_andreev"].append(0.5 * (ap - am))
        out["curves"].append(curves)
        tick(f"tunneling bias signs E_F={ef:g} (kappa E_F = {slope.kappa * ef:.3f})")
    e = out["curves"][0]["energies"]
    qp = QCParams(
        beta=base.beta, field=base.field, phi=base.phi, temperature=base.temperature, eta=QC_ETAS[0]
    )
    kappa0 = out["kappa"][0]
    # +eps0 side; N_e is even and the band term odd in E (tested), so the -eps0 side is
    # their mirror image.
    first = tunneling_conductance_params(e, qp, delta=delta, fermi_surface=fs, band_slope=kappa0)
    second = tunneling_conductance_params(
        e, qp.replace(eta=QC_ETAS[1]), delta=delta, fermi_surface=fs
    )
    qc = first.conductance - first.band_correction
    band_term = first.band_correction / kappa0 if kappa0 else np.zeros_like(qc)
    ratio = QC_ETAS[1] / QC_ETAS[0]
    qc_eta0 = (second.conductance - ratio * qc) / (1 - ratio)
    out.update(
        qc=qc,
        qc_eta0=qc_eta0,
        band_term=band_term,
        qc_at=_at(e, qc, eps0),
        qc_eta0_at=_at(e, qc_eta0, eps0),
        band_term_at=_at(e, band_term, eps0),
    )
    out["odd_qc"] = [k * out["band_term_at"] for k in out["kappa"]]
    return out
