"""Paper Fig. 1(c): quasiclassical DOS for several in-plane fields in the clean limit.

One command::

    mirage figure fig1c --output output/fig1c.png

beta = 7 Delta0, T = 0.1 T_c0, Gamma = 0, the gap solved self-consistently at each field
(Matsubara gap equation); a Dynes broadening eta = 0.01 Delta0 makes the real-axis
functions finite (the paper's clean-limit curves need some broadening too). Curves for
B > 0 are offset by 1 for visibility, as in the paper; ticks mark the exact mirage-gap
edges eps_2, eps_1 of the paper's formula with the solved Delta.
"""

import numpy as np

from comparisons.report import save_png
from mirage_common.formulas import mirage_formula
from quasiclassical import QCParams, density_of_states

__all__ = ["FIELDS", "compute", "describe", "plot"]

FIELDS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
BASE = QCParams(beta=7.0, temperature=0.1, gamma=0.0, eta=0.01)
OFFSET = 1.0


def compute(fields=FIELDS, energies=None, params=BASE):
    """DOS curves ``[(B, DOSResult), ...]`` on *energies* (default -12..12, 4001 points)."""
    energies = np.linspace(-12, 12, 4001) if energies is None else energies
    return [(b, density_of_states(energies, params.replace(field=b))) for b in fields]


def plot(curves, output):
    """Write the figure to *output* (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 6.5))
    for k, (b, res) in enumerate(curves):
        shift = k * OFFSET
        formula = mirage_formula(res.params.beta, b, res.delta)
        label = rf"$B={b:g}\Delta_0$: $\Delta={res.delta:.3f}$, $\delta={float(formula.width):.3f}$"
        (line,) = ax.plot(res.energies, res.dos + shift, lw=1.0, label=label)
        if b > 0:
            for edge in (formula.eps1, formula.eps2, -formula.eps1, -formula.eps2):
                ax.plot([edge, edge], [shift + 0.2, shift + 0.35], color=line.get_color(), lw=0.8)
    p = curves[0][1].params
    ax.set_xlabel(r"energy $\varepsilon$ ($\Delta_0$)")
    ax.set_ylabel(rf"DOS $N_s/N_0$ (curves for $B>0$ offset by {OFFSET:g} each)")
    ax.set_xlim(res.energies[0], res.energies[-1])
    ax.set_ylim(0, OFFSET * (len(curves) - 1) + 4.2)  # room for the legend above the curves
    ax.set_title(
        "Quasiclassical DOS, clean limit (cf. paper Fig. 1(c))\n"
        rf"$\beta_{{so}}={p.beta:g}\Delta_0$, $T={p.temperature:g}T_{{c0}}$, $\Gamma=0$, "
        rf"Dynes $\eta={p.eta:g}\Delta_0$, $\Delta$ self-consistent; "
        r"ticks: $\pm\varepsilon_{1,2}$ (exact formula)",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    fig.tight_layout()
    save_png(fig, output, dpi=150)
    plt.close(fig)


def describe(curves):
    """One line per field: the solved Δ and the mirage centre and width."""
    for b, res in curves:
        f = mirage_formula(res.params.beta, b, res.delta)
        yield (f"B={b:g}: Delta={res.delta:.4f} Delta0, eps0={float(f.eps0):.4f}, "
               f"delta={float(f.width):.4f}")
