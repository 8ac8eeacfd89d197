r"""Tunneling spectroscopy dI/dV(V, B): lattice NS junction and quasiclassics side by side.

One command::

    mirage figure fig_tunneling --output output/fig_tunneling.png \
        [--fields 0:3:13] [--temperature 0.1] [--n-k 24] [--points 801]
    mirage figure fig_tunneling --units physical --material MoS2 \
        --fields 0:30:13 --temperature 1 --output output/fig_tunneling_mos2.png

Panels: (a) the lattice map, (b) the quasiclassical map, one colour scale (G/G_N) for
both; (c) the two curves at the largest field. Dotted on the maps and the cut: the
mirage centres :math:`\pm\varepsilon_0(B) = \pm\sqrt{\beta^2+B^2}`
(`mirage_common.formulas.mirage_formula_approx`, β the lattice's Fermi-surface mean).

Same parameters on both sides, as in ``mirage validate``'s tunneling stage
(`comparisons.suite_tunneling`): the gap Δ(T, B) is the quasiclassical self-consistent
one at each field and enters both; the lattice is `latticemirage.transport.ns_conductance`
(one barrier row of ``BARRIER`` = 3 t, normal transmission ≈ 0.04 per mode: the tunnel
limit) at zero temperature on a grid of step ≤ k_B T/4 padded by 10 k_B T, then
convolved with −df/dE (`transport.thermally_smeared`) and interpolated to the biases;
quasiclassics is `quasiclassical.tunneling.tunneling_conductance_params` with the
lattice's Fermi-surface β distribution and Dynes η = 0.01 Δ0 (its quadrature needs
η > 0), smeared at the same T. Where they differ see the stage's documented causes
(band-dependent tunnel probability near ε0).

Units: reduced by default (β and bias in Δ0, B as the Zeeman energy in Δ0, T in T_c0).
``--units physical`` (`mirage_cli.figures`, as ``mirage qc tunneling``): ``--beta``
in meV, ``--fields`` in tesla, ``--temperature`` in kelvin, with the scale from
``--material``/``--tc-K``/``--delta0-meV``/``--g-factor``; the bias window stays
[-10, 10] Δ0 (the lattice's |E| + 10 k_B T < E_F/2) and the axes are drawn in mV and T.
A preset's out-of-model notes are printed to stderr; a preset outside the lattice
model's limits (e.g. β > E_F/3) is refused with exit code 2 before any computation.
"""

from dataclasses import dataclass

import numpy as np

from comparisons.parameters import binned_fermi_surface
from comparisons.report import save_png
from latticemirage.conductance import PAD_KT, STEP_KT  # the grid of lattice conductance
from mirage_common.formulas import mirage_formula_approx

__all__ = ["BARRIER", "ENERGY_RANGE", "QC_ETA", "TunnelingMaps", "compute", "describe",
           "plot"]

BARRIER = 3.0  # t; one row: normal transmission ≈ 0.04 per mode (tunnel limit)
QC_ETA = 0.01  # Δ0; the quasiclassical DOS quadrature needs a Dynes strip
ENERGY_RANGE = (-10.0, 10.0)  # Δ0; with 10 k_B T padding inside the lattice's E_F/2 = 15 Δ0
MIN_POINTS = 201  # step 0.1 Δ0: the mirage gaps (width 2ΔB/ε0 ~ 0.5 Δ0 at B = 2) stay visible


@dataclass(frozen=True)
class TunnelingMaps:
    """Both dI/dV(V, B) maps (G/G_N) and what they were computed at (reduced units).

    ``lattice`` and ``qc`` have shape ``(len(fields), len(energies))``; ``scale`` is the
    `PhysicalScale` of ``--units physical`` (None: reduced), ``material`` its preset.
    """

    energies: np.ndarray
    fields: np.ndarray
    lattice: np.ndarray
    qc: np.ndarray
    deltas: np.ndarray
    beta: float
    temperature: float
    transmission: float
    n_k: int
    scale: object = None
    material: object = None


def compute(energies, *, beta=7.0, fields=(0.0, 1.0, 2.0, 3.0), temperature=0.1, n_k=24,
            scale=None, material=None):
    """Both maps on *energies* (Δ0) at *fields* (Zeeman energy, Δ0), *temperature* (T_c0)."""
    from latticemirage import transport
    from latticemirage.mapping import PhysicalParameters, map_to_lattice, tc0_over_delta0
    from quasiclassical import FermiSurface, QCParams, solve_gap
    from quasiclassical.tunneling import tunneling_conductance_params

    energies = np.asarray(energies, dtype=float)
    fields = np.asarray(fields, dtype=float)
    kt = temperature * tc0_over_delta0()
    # Every field against the mapping's limits before any work (ParameterError, exit 2).
    for b in fields:
        PhysicalParameters(beta=beta, field=float(b), delta=1.0, temperature=temperature)
    qps = [QCParams(beta=beta, field=float(b), temperature=temperature, eta=QC_ETA)
           for b in fields]
    deltas = np.array([solve_gap(q.replace(eta=0.0)).delta for q in qps])
    mapping = map_to_lattice(PhysicalParameters(beta=beta, field=float(fields[0]),
                                                delta=float(deltas[0]),
                                                temperature=temperature))
    step = min(energies[1] - energies[0], STEP_KT * kt)
    lo, hi = energies[0] - PAD_KT * kt, energies[-1] + PAD_KT * kt
    grid = lo + step * (np.arange(int(np.ceil((hi - lo) / step))) + 0.5)
    raw = transport.ns_conductance(mapping, grid, delta=deltas, fields=fields, barrier=BARRIER,
                                   n_k=n_k)
    lattice = np.array([np.interp(energies, grid, transport.thermally_smeared(r, kt).conductance)
                        for r in raw])
    fs = FermiSurface(*binned_fermi_surface(*mapping.fermi_surface_beta())) if beta > 0 else None
    qc = np.array([tunneling_conductance_params(energies, q, delta=float(d),
                                                fermi_surface=fs).conductance
                   for q, d in zip(qps, deltas, strict=True)])
    return TunnelingMaps(energies=energies, fields=fields, lattice=lattice, qc=qc, deltas=deltas,
                         beta=float(mapping.physical.beta), temperature=temperature,
                         transmission=float(np.nanmean(raw[0].transmission_modes)), n_k=n_k,
                         scale=scale, material=material)


def plot(maps, output):
    """Write the three-panel figure to *output* (PNG, atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = maps.scale
    eps0 = mirage_formula_approx(maps.beta, maps.fields, maps.deltas)[0]
    if scale is None:
        x, y, eps0_x = maps.energies, maps.fields, eps0
        xlabel, ylabel = r"bias $eV$ ($\Delta_0$)", r"in-plane Zeeman energy $B$ ($\Delta_0$)"
        cut = rf"$B = {y[-1]:.3g}\,\Delta_0$"
        setting = (rf"$\beta_{{so}} = {maps.beta:.3g}\,\Delta_0$, "
                   rf"$T = {maps.temperature:.3g}\,T_{{c0}}$")
    else:
        x, y = scale.energy_to_meV(maps.energies), scale.field_to_tesla(maps.fields)
        eps0_x = scale.energy_to_meV(eps0)
        xlabel, ylabel = "bias V (mV)", "in-plane field B (T)"
        cut = f"B = {y[-1]:.3g} T"
        name = maps.material.name + ": " if maps.material is not None else ""
        setting = (f"{name}β_so = {scale.energy_to_meV(maps.beta):.3g} meV, "
                   f"T = {scale.temperature_to_K(maps.temperature):.3g} K, "
                   f"Δ0 = {scale.delta0_meV:.3g} meV, g = {scale.g_factor:g}")
    vmax = float(max(maps.lattice.max(), maps.qc.max()))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for ax, data, title in ((axes[0], maps.lattice,
                             f"(a) lattice NS junction (barrier {BARRIER:g} t, "
                             f"τ ≈ {maps.transmission:.3f}, n_k = {maps.n_k})"),
                            (axes[1], maps.qc, f"(b) quasiclassics (Dynes η = {QC_ETA:g} Δ0)")):
        mesh = ax.pcolormesh(x, y, data, shading="nearest", cmap="viridis", vmin=0.0,
                             vmax=vmax)
        for sign in (1, -1):
            ax.plot(sign * eps0_x, y, "w:", lw=1.0)
        fig.colorbar(mesh, ax=ax, label=r"$dI/dV$ ($G/G_N$)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
    ax = axes[2]
    ax.plot(x, maps.lattice[-1], "k-", lw=1.2, label="lattice NS junction")
    ax.plot(x, maps.qc[-1], "C1--", lw=1.0, label="quasiclassical tunneling")
    for sign in (1, -1):
        ax.axvline(sign * eps0_x[-1], color="0.5", lw=0.8, ls=":",
                   label=r"$\pm\varepsilon_0=\pm\sqrt{\beta^2+B^2}$" if sign > 0 else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$dI/dV$ ($G/G_N$)")
    ax.set_title(f"(c) cut at {cut}", fontsize=9)
    ax.legend(fontsize=8)
    fig.suptitle(f"Tunneling dI/dV(V, B), lattice vs quasiclassics: {setting}; dotted: "
                 r"$\pm\varepsilon_0(B)$", fontsize=10)
    fig.tight_layout()
    save_png(fig, output, dpi=150)
    plt.close(fig)


def describe(maps):
    """One line per field: Δ and the mean lattice-quasiclassics difference."""
    for b, d, gl, gq in zip(maps.fields, maps.deltas, maps.lattice, maps.qc, strict=True):
        yield (f"B={b:.4g} Delta0: Delta={d:.4f} Delta0, mean |G_lattice - G_qc| = "
               f"{np.mean(np.abs(gl - gq)):.4f} G_N")
    yield f"mean normal transmission per mode (first field): {maps.transmission:.4f}"
