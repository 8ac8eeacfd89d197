"""Paper Fig. 2: Green's-function components in valley K for growing intervalley scattering.

One command::

    mirage figure fig2 --output output/fig2.png [--gammas 0,0.2,0.4,1,2]

beta = 7 Delta0, B = 2 Delta0, T = 0.1 T_c0, Dynes eta = 0.01 Delta0, and
Gamma = 0, 0.2, 0.4, 1, 2 Delta0 (the paper's; ``--gammas`` takes any list of rates >= 0 in
Delta0, `mirage_cli.options.parse_values`) bottom to top, offset, the gap solved self-consistently
for each Gamma (Matsubara gap equation with the same SCBA). Panels: (a) N_s = Re g0,
(b) Im f0, (c) Im f_x, (d) Im(i f_y).

Gauge: the anomalous amplitudes are those of the paper's Eq. (1) with a *real* Delta,
f = i f_Eq8 (see `quasiclassical.eilenberger`). In this gauge the sign statements of the
paper's Fig. 2 text hold: in valley K, Im f_x < 0 and Im(i f_y) > 0 around +eps0, both
positive around -eps0 (checked in tests/test_qc_eilenberger.py).
"""

import numpy as np

from comparisons.report import save_png
from mirage_common.formulas import mirage_formula
from quasiclassical import QCParams, density_of_states

__all__ = ["GAMMAS", "PANELS", "compute", "describe", "plot"]

GAMMAS = (0.0, 0.2, 0.4, 1.0, 2.0)
BASE = QCParams(beta=7.0, field=2.0, temperature=0.1, eta=0.01)
# (panel label, y label, function of the valley-K components, offset between curves)
PANELS = (
    ("(a)", r"$N_s=\mathrm{Re}\,g_0$", lambda c: c.g0.real, 1.0),
    ("(b)", r"$\mathrm{Im}\,f_0$", lambda c: c.f0.imag, 1.0),
    ("(c)", r"$\mathrm{Im}\,f_x$", lambda c: c.fx.imag, 0.6),
    ("(d)", r"$\mathrm{Im}\,(i f_y)$", lambda c: (1j * c.fy).imag, 0.6),
)


class _Valley:
    """Components of one Fermi-surface point (index 0: valley K)."""

    def __init__(self, comps, index):
        for name in comps.NAMES:
            setattr(self, name, getattr(comps, name)[index])


def compute(gammas=GAMMAS, energies=None, params=BASE):
    """``[(Gamma, DOSResult), ...]`` on *energies* (default -12..12 Delta0, 4001 points)."""
    energies = np.linspace(-12, 12, 4001) if energies is None else energies
    return [(g, density_of_states(energies, params.replace(gamma=g), on_failure="raise"))
            for g in gammas]


def plot(results, output):
    """Write the four-panel figure to *output* (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = results[0][1].params
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), sharex=True)
    for ax, (label, ylabel, func, offset) in zip(axes.flat, PANELS, strict=True):
        for k, (gamma, res) in enumerate(results):
            valley_k = _Valley(res.components, 0)
            ax.plot(res.energies, func(valley_k) + k * offset, lw=0.9,
                    label=rf"$\Gamma={gamma:g}\Delta_0$ ($\Delta={res.delta:.3f}$)")
        eps0 = float(mirage_formula(p.beta, p.field, results[0][1].delta).eps0)
        for x in (eps0, -eps0):
            ax.axvline(x, color="0.7", lw=0.6, ls=":", zorder=0)
        ax.set_title(f"{label} {ylabel} in valley K (curves offset by {offset:g})", fontsize=10)
        ax.set_ylabel(ylabel + " (offset)")
        lo = {"(a)": 0.0, "(b)": -1.0}.get(label, -2.0)  # (c), (d): clean curve dips to ~-1.5
        ax.set_ylim(lo, offset * (len(results) - 1) + 2.0)
        ax.set_xlim(res.energies[0], res.energies[-1])
    for ax in axes[1]:
        ax.set_xlabel(r"energy $\varepsilon$ ($\Delta_0$)")
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle(
        "Intervalley scattering and the mirage gaps (compare paper Fig. 2): "
        rf"$\beta_{{so}}={p.beta:g}\Delta_0$, $B={p.field:g}\Delta_0$, "
        rf"$T={p.temperature:g}T_{{c0}}$, $\eta={p.eta:g}\Delta_0$, $\Delta$ self-consistent" "\n"
        r"gauge: real $\Delta$ in the paper's Eq. (1) ($f=i f_{\mathrm{Eq.(8)}}$); "
        r"dotted: $\pm\varepsilon_0$ of the clean gap; "
        r"bottom to top $\Gamma=" + ",".join(f"{g:g}" for g, _ in results) + r"\,\Delta_0$",
        fontsize=10,
    )
    fig.tight_layout()
    save_png(fig, output, dpi=150)
    plt.close(fig)


def describe(results):
    """One line per Γ: the solved Δ and the SCBA convergence."""
    for gamma, res in results:
        yield (f"Gamma={gamma:g}: Delta={res.delta:.4f} Delta0, SCBA iterations <= "
               f"{res.scba.iterations.max()}, max residual {res.scba.residual.max():.1e}")
