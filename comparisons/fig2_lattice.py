"""Lattice Fig. 2: valley-K components of the disordered lattice beside the SCBA at the measured Γ.

One command::

    mirage figure fig2_lattice --output output/fig2_lattice.png \\
        --widths 0.2,0.3,0.4 --size 48 --eta 2.5 --realizations 4

For each Anderson width W (t) the disorder-averaged ĝ_K of L × L supercells
(`latticemirage.disorder.selfenergy`, sparse LU, jackknife errors) is plotted with
error bars beside the quasiclassical SCBA curves (`quasiclassical.solve_scba` with the
lattice's Fermi-surface β distribution) at the Γ_tot measured by
`latticemirage.disorder.rates` on the same realizations; the bottom curves are the clean
lattice (`latticemirage.green`) and Eq. (8). Panels as in the paper: N_s = Re g0, Im f0,
Im fx, Im(i fy) = Re fy (eq1 gauge); curves offset by Γ. β = 7, B = 2, Δ = 1 Δ0 (fixed),
E_F = 30 Δ0. The same Dynes η enters both sides. Resolution caveat (printed on the
figure): η must exceed the ξ spacing 1/(ν_v L²) of the supercell grid (0.9 Δ0 at L = 48),
which washes the mirage structure out at small L; the grid sampling error of the
lattice curves is drawn as the grey band of the clean supercell (`clean_grid_green`).
A CSV with the numbers is written beside the PNG.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np

__all__ = ["PANELS", "compute", "plot"]

PANELS = (("g0", "real", r"$N_s=\mathrm{Re}\,g_0$", 1.0),
          ("f0", "imag", r"$\mathrm{Im}\,f_0$", 0.6),
          ("fx", "imag", r"$\mathrm{Im}\,f_x$", 0.3),
          ("fy", "real", r"$\mathrm{Im}\,(i f_y)$", 0.3))


def compute(widths, size, eta, realizations, n_energies, seed):
    """Lattice and SCBA components for each width; returns a dict of arrays."""
    from comparisons.suite_components import scba_sigma
    from latticemirage import green
    from latticemirage.disorder import AndersonDisorder
    from latticemirage.disorder.rates import measure_rates
    from latticemirage.disorder.selfenergy import clean_grid_green, measure_selfenergy
    from latticemirage.mapping import PhysicalParameters, map_to_lattice

    mapping = map_to_lattice(replace(PhysicalParameters(beta=7.0, field=2.0), delta=1.0))
    energies = np.linspace(0.0, 8.5, n_energies)
    dense = np.linspace(0.0, 8.5, 426)
    green.check_inputs(mapping.physical, dense, eta=eta, delta=1.0)
    out = {"energies": energies, "dense": dense, "widths": widths, "eta": eta, "size": size,
           "lattice": [], "lattice_err": [], "scba": [], "gamma": [], "gamma_err": []}
    clean = green.valley_green(mapping, dense, eta=eta, n_theta=180, n_radial=480)
    out["clean_lattice"] = green.components(clean.g[0])
    out["clean_grid"] = green.components(clean_grid_green(mapping, size, energies, eta=eta)[0])
    _, out["clean_qc"] = scba_sigma(mapping, dense, eta, 1.0, 2.0, 0.0, True)
    for w in widths:
        dis = AndersonDisorder(w)
        res = measure_selfenergy(mapping, dis, size, realizations, seed, energies, eta=eta)
        rate = measure_rates(mapping.lattice_params(0.0), dis, size, realizations, seed,
                             eta=eta * mapping.delta0)
        gamma = rate.gamma_total / mapping.delta0
        out["gamma"].append(gamma)
        out["gamma_err"].append(rate.gamma_total_err / mapping.delta0)
        out["lattice"].append(green.components(res.g[0]))
        out["lattice_err"].append({n: np.abs(a) + np.abs(b) for (n, a), b in zip(
            green.components(res.g_err_re[0]).items(), green.components(res.g_err_im[0]).values(),
            strict=True)})
        # SCBA ĝ_K for short-range disorder (Σ̂ = −iΓ⟨ĝ⟩ over both valleys).
        _, g_k = scba_sigma(mapping, dense, eta, 1.0, 2.0, gamma, True)
        out["scba"].append(g_k)
    return out


def plot(result, output):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from comparisons.report import save_png
    from mirage_common.io import write_table

    fig, axes = plt.subplots(1, 4, figsize=(16, 5))
    e, dense = result["energies"], result["dense"]
    cols = {"energy": e}
    for ax, (name, part, label, step) in zip(axes, PANELS, strict=True):
        def val(c, name=name, part=part):
            return getattr(c[name] if isinstance(c, dict) else getattr(c, name), part)

        ax.plot(dense, val(result["clean_qc"]), "k-", lw=1)
        ax.plot(dense, val(result["clean_lattice"]), "C3--", lw=1)
        ax.plot(e, val(result["clean_grid"]), "s", color="0.6", ms=3)
        for i, (lat, err, qc, gamma) in enumerate(zip(
                result["lattice"], result["lattice_err"], result["scba"], result["gamma"],
                strict=True)):
            off = (i + 1) * step
            ax.plot(dense, val(qc) + off, "k-", lw=1)
            ax.errorbar(e, val(lat) + off, yerr=err[name], fmt="o", color=f"C{i}", ms=3,
                        label=rf"$\Gamma={gamma:.2f}\Delta_0$")
            cols[f"{name}_K_{part}_W{result['widths'][i]:g}"] = val(lat)
            cols[f"{name}_K_err_W{result['widths'][i]:g}"] = err[name]
        ax.set_xlabel(r"$\varepsilon$ ($\Delta_0$)")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    fig.suptitle(
        rf"Lattice valley K (points: disordered supercells L={result['size']}, "
        rf"$\eta={result['eta']:g}\Delta_0$; grey: clean supercell grid; red dashed: clean "
        r"lattice) vs SCBA with the lattice $\beta$ distribution (lines) at the measured "
        r"$\Gamma$; curves offset", fontsize=9)
    fig.tight_layout()
    save_png(fig, output)
    plt.close(fig)
    write_table(Path(output).with_suffix(".csv"), cols,
                {"widths_t": result["widths"], "gamma_delta0": result["gamma"],
                 "gamma_err_delta0": result["gamma_err"], "eta_delta0": result["eta"],
                 "size": result["size"]})

