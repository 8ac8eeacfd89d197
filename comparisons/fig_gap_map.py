"""Site-resolved self-consistent gap Δ_i around point impurities: a map and its histogram.

``mirage figure fig_gap_map --output gap_map.png [--size 28] [--concentration 0.02]
[--strength 1.0] [--field 2] [--twists pi] [--scale derived|default]``

Derived point (``--scale derived``, stated on the figure): β = 5 Δ0, E_F = 20 Δ0,
Δ0 = 0.04 t (ξ0 = 9.4 a); ``--scale default``: β = 7 Δ0, E_F = 30 Δ0, Δ0 = 0.005 t;
T = 0.1 T_c0, ω_c = (2/3) E_F, U of the converged clean lattice
(`latticemirage.disorder.selfconsistent`). Writes the PNG and, beside it, an ``.npz``
with Δ_i (Δ0), the potential (t) and the parameters.
"""

from pathlib import Path

import numpy as np

POINT = {"beta": 5.0, "e_fermi": 20.0, "delta0": 0.04}
#: ``--scale default``: the model's default scale, the point of ``validate --full-scale``
#: (ξ0 ≈ 60 a: needs L ≳ 200; the shell eigenstates by sparse spectrum slicing).
DEFAULT_SCALE_POINT = {"beta": 7.0, "e_fermi": 30.0, "delta0": 0.005}
TEMPERATURE = 0.1


def compute(size, concentration, strength, field, twists, seed, point=None, progress=None):
    from latticemirage.disorder import selfconsistent as scs
    from latticemirage.disorder.potentials import PointImpurities, realization_rng
    from latticemirage.gap import GapSolver
    from latticemirage.mapping import PhysicalParameters, map_to_lattice

    m = map_to_lattice(PhysicalParameters(field=field, **(point or POINT)))
    lattice = GapSolver.build(m, mesh=scs.COUPLING_MESH)
    clean = lattice.solve(temperature=TEMPERATURE).delta
    v = PointImpurities(concentration, strength).potential((size, size),
                                                           realization_rng(seed, 0))
    res = scs.solve_site_resolved(m, size, temperature=TEMPERATURE, coupling=lattice.coupling,
                                  potential=v, twists=twists, progress=progress)
    return {"delta": res.delta, "potential": v, "uniform": res.uniform, "clean": clean,
            "iterations": res.iterations, "converged": res.converged, "seconds": res.seconds,
            "size": size, "concentration": concentration, "strength": strength,
            "field": field, "twists": twists, "seed": seed, "mapping": m}


def plot(r, output):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from latticemirage.disorder import supercell as scm
    from mirage_common.io import atomic_write_bytes, save_figure

    pos = scm.site_positions(r["size"])
    d = r["delta"].reshape(-1)
    imp = r["potential"].reshape(-1) != 0
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1.4, 1]})
    dot = 18 * min(1.0, (28 / r["size"]) ** 2)  # the sites tile the panel at any L
    sc = ax0.scatter(pos[:, 0], pos[:, 1], c=d, s=dot, marker="h", cmap="viridis",
                     linewidths=0)
    ax0.scatter(pos[imp, 0], pos[imp, 1], s=max(30 * dot / 18, 2), facecolors="none",
                edgecolors="r", lw=0.8 if r["size"] <= 60 else 0.3,
                label=f"impurity (V = {r['strength']:g} t)")
    ax0.set_aspect("equal")
    ax0.set_xlabel(r"$x$ ($a$)")
    ax0.set_ylabel(r"$y$ ($a$)")
    fig.colorbar(sc, ax=ax0, label=r"$\Delta_i$ ($\Delta_0$)")
    ax0.legend(loc="upper left", fontsize=8)
    ax0.set_title(rf"site-resolved $\Delta_i$, {r['size']}$\times${r['size']} supercell, "
                  rf"$n_i$ = {r['concentration']:g}", fontsize=10)
    ax1.hist(d[~imp], bins=40, color="C0", alpha=0.8, label="clean sites")
    ax1.hist(d[imp], bins=40, color="C3", alpha=0.8, label="impurity sites")
    for x, style, label in ((r["uniform"], "k--", "uniform solution, same realization"),
                            (np.mean(d), "k:", r"mean of $\Delta_i$"),
                            (r["clean"], "g-", "clean lattice")):
        ax1.axvline(x, color=style[0], ls=style[1:], label=f"{label}: {x:.3f}")
    ax1.set_xlabel(r"$\Delta_i$ ($\Delta_0$)")
    ax1.set_ylabel("number of sites")
    ax1.legend(fontsize=8)
    p = r["mapping"].physical
    fig.suptitle(rf"$\beta$={p.beta:g}, $B$={p.field:g} ($\Delta_0$), $T$={TEMPERATURE:g}"
                 rf"$T_{{c0}}$, $E_F$={p.e_fermi:g}$\Delta_0$, $\Delta_0$={p.delta0:g}$t$, "
                 rf"$\xi_0$={r['mapping'].coherence_length:.1f}$a$; twists {r['twists']}; "
                 f"{r['iterations']} iterations", fontsize=10)
    fig.tight_layout()
    save_figure(fig, output, 120, tight=False)
    plt.close(fig)
    import io

    buf = io.BytesIO()
    np.savez(buf, delta=r["delta"], potential=r["potential"],
             **{k: r[k] for k in ("uniform", "clean", "iterations", "size", "concentration",
                                  "strength", "field", "twists", "seed")})
    atomic_write_bytes(Path(output).with_suffix(".npz"), buf.getvalue())
