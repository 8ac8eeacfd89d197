r"""Josephson junction between Ising superconductors: lattice and quasiclassics side by side.

One command (about a minute on 2 cores)::

    mirage figure fig_josephson --output output/fig_josephson.png \
        [--beta 7] [--field 2] [--angle 1.5708] [--temperature 0.1] [--n-k 8]

Panels: (a), (b) Andreev bound-state energies E(φ) (Δ0) for parallel fields and for a
relative field angle ``--angle``: quasiclassical short junction (τ = 1, both valleys; dots
coloured by the electron-part spin along the field bisector) and the lattice at normal
incidence (k_x = 0, both valleys; open circles). (c) Current-phase relation e I R_N/Δ0 for
both configurations: quasiclassics (lines) and the lattice summed over ``--n-k`` transverse
momenta (markers). (d) The critical current I_c+ = max I of the transparent junction against the
relative angle, and the diode efficiency η = (I_c+ - |I_c-|)/(I_c+ + |I_c-|) (right axis):
zero without a spin-polarizing barrier (round-off), finite with a barrier row of
``--barrier`` t polarized along z (``--polarization`` p; the lattice at k_x = 0, the
quasiclassical barrier's τ and p from the lattice's spin-resolved normal transmissions,
`comparisons.suite_junction.qc_barrier`).

Lattice: `latticemirage.josephson` (default scale Δ0 = 0.005 t, E_F = 30 Δ0, transparent
interface, phase on the right gap); quasiclassics: `quasiclassical.josephson`. Both with
Δ = Δ0 on both sides and fields of equal size ``--field`` (Δ0), the left one along x.
"""

import numpy as np

from comparisons.report import save_png

__all__ = ["compute", "plot"]

_PHASES_STATES = np.linspace(-np.pi, np.pi, 25)
_PHASES_CURRENT = np.linspace(-np.pi, np.pi, 49)
_ANGLES = np.linspace(0.0, np.pi, 7)


def compute(beta=7.0, field_=2.0, angle=np.pi / 2, temperature=0.1, n_k=8, barrier=1.0,
            polarization=0.5):
    """Bound states, currents and critical currents of both theories (dict of arrays)."""
    from latticemirage import josephson as lj
    from latticemirage.mapping import PhysicalParameters, map_to_lattice
    from latticemirage.transport import k_window
    from quasiclassical import josephson as qj

    mapping = map_to_lattice(PhysicalParameters(beta=beta, field=0.0, delta=1.0))
    kmax = k_window(mapping, 0.0)
    ks = kmax * (2 * (np.arange(n_k) + 0.5) / n_k - 1)

    def params(a):
        lp = lj.SNSParams(field_left=field_, field_right=field_, angle_right=a,
                          temperature=temperature)
        qp = qj.JunctionParams(beta=beta, field_left=field_, field_right=field_, angle_right=a,
                               temperature=temperature)
        return lp, qp

    out = {"angle": angle, "beta": beta, "field": field_, "temperature": temperature,
           "n_k": n_k, "configs": []}
    for a in (0.0, angle):
        lp, qp = params(a)
        bisector = np.array([np.cos(a / 2), np.sin(a / 2), 0.0])
        qb = qj.bound_states(qp, _PHASES_STATES)
        lb = lj.bound_states(mapping, lp, 0.0, _PHASES_STATES)
        out["configs"].append({
            "angle": a, "qc_states": (qb.phase, qb.energy, qb.spin @ bisector),
            "lat_states": (lb.phase, lb.energy, lb.spin @ bisector),
            "qc_current": qj.current_phase(qp, _PHASES_CURRENT),
            "lat_current": lj.current_phase(mapping, lp, _PHASES_CURRENT, ks).current})
    from comparisons.suite_junction import qc_barrier

    crit = {"qc": [], "lat": [], "qc_pol": [], "lat_pol": []}
    pol = dict(barrier=barrier, polarization=polarization)
    tau_q, pol_q, _ = qc_barrier(mapping, lj.SNSParams(**pol))
    out["qc_barrier"] = (tau_q, pol_q)
    for a in _ANGLES:
        lp, qp = params(a)
        lpp = lj.SNSParams(field_left=field_, field_right=field_, angle_right=a,
                           temperature=temperature, **pol)
        qpp = qj.JunctionParams(beta=beta, field_left=field_, field_right=field_,
                                angle_right=a, temperature=temperature, transparency=tau_q,
                                polarization=pol_q)
        for side, cur in (("qc", qj.current_phase(qp, _PHASES_CURRENT)),
                          ("lat", lj.current_phase(mapping, lp, _PHASES_CURRENT, ks).current),
                          ("qc_pol", qj.current_phase(qpp, _PHASES_CURRENT)),
                          ("lat_pol", lj.current_phase(mapping, lpp, _PHASES_CURRENT,
                                                       [0.0]).current)):
            plus, minus = cur.max(), cur.min()
            crit[side].append((plus, minus, (plus - abs(minus)) / (plus + abs(minus))))
    out["critical"] = {k: np.array(v) for k, v in crit.items()}
    out["barrier"], out["polarization"] = barrier, polarization
    return out


def plot(res, path):
    """Draw the four panels into *path* (PNG, atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    for ax, cfg, tag in zip(axes[:2], res["configs"], "ab", strict=True):
        ph, e, s = cfg["qc_states"]
        lim = max(1e-3, float(np.max(np.abs(s))))
        sc = ax.scatter(ph, e, c=s, cmap="coolwarm", vmin=-lim, vmax=lim, s=10,
                        label="quasiclassics (τ = 1)")
        lph, le, _ = cfg["lat_states"]
        ax.scatter(lph, le, facecolors="none", edgecolors="k", s=28, lw=0.6,
                   label="lattice, k_x = 0")
        fig.colorbar(sc, ax=ax, label=r"$\langle\sigma\cdot n_{bis}\rangle$ (qc)")
        ax.set_title(f"({tag}) relative field angle {cfg['angle']:.3g} rad", fontsize=9)
        ax.set_xlabel(r"phase difference $\varphi$ (rad)")
        ax.set_ylabel(r"bound-state energy $E$ ($\Delta_0$)")
        ax.legend(fontsize=7, loc="lower center")
    ax = axes[2]
    for cfg, colour in zip(res["configs"], ("C0", "C3"), strict=True):
        ax.plot(_PHASES_CURRENT, cfg["qc_current"], "-", color=colour,
                label=f"qc, angle {cfg['angle']:.3g}")
        ax.plot(_PHASES_CURRENT, cfg["lat_current"], "o", color=colour, mfc="none", ms=4,
                label=f"lattice ({res['n_k']} k_x), angle {cfg['angle']:.3g}")
    ax.set_xlabel(r"phase difference $\varphi$ (rad)")
    ax.set_ylabel(r"$e I R_N / \Delta_0$")
    ax.set_title(f"(c) current-phase relation, T = {res['temperature']:g} T_c0", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[3]
    for side, marker, name in (("qc", "-", "qc"), ("lat", "o", "lattice")):
        c = res["critical"][side]
        ax.plot(_ANGLES, c[:, 0], marker, color="C0", mfc="none",
                label=rf"$I_{{c+}}$ {name}, $\tau$ = 1")
    ax.set_xlabel("relative field angle (rad)")
    ax.set_ylabel(r"critical current $e I_{c+} R_N / \Delta_0$ (blue)")
    ax2 = ax.twinx()
    for side, marker, name in (("qc_pol", "r-", "qc"), ("lat_pol", "rs", "lattice k_x = 0"),
                               ("qc", "k:", "qc, no barrier"),
                               ("lat", "kx", "lattice, no barrier")):
        ax2.plot(_ANGLES, res["critical"][side][:, 2], marker, mfc="none", lw=0.8,
                 label=f"η {name}")
    ax2.set_ylabel(r"diode efficiency $\eta$ (red: polarized barrier)")
    tq, pq = res["qc_barrier"]
    ax.set_title(f"(d) I_c and η vs angle; barrier {res['barrier']:g} t, p = "
                 f"{res['polarization']:g} along z (qc: τ = {tq:.2f}, p = {pq:.2f})", fontsize=8)
    ax.legend(fontsize=7, loc="lower left")
    ax2.legend(fontsize=7, loc="upper right")
    fig.suptitle(rf"Josephson junction, Ising superconductors: $\beta$ = {res['beta']:g}, "
                 rf"$B_L = B_R$ = {res['field']:g} $\Delta_0$, $\Delta = \Delta_0$")
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
