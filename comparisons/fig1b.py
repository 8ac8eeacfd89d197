"""One-command figure: the lattice BdG spectrum of Fig. 1(b) and the bands along Γ–K–M–K'–Γ.

Usage::

    .venv/bin/python -m comparisons.fig1b [--output-dir output] [--beta 7] [--field 2] ...

Writes ``fig1b_zoom.png`` / ``fig1b_zoom.csv`` (spectrum across p_F near K, energies
in Δ, with ±ε0, ε1, ε2 and the mirage gaps δ marked) and ``bands_path.png`` /
``bands_path.csv`` (all four BdG bands along the high-symmetry path, energies in t,
with a zoom on the K pocket). The CSV files carry the lattice parameters actually
used in their metadata line.
"""

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from comparisons.report import save_png
from latticemirage import bulk, spectrum
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.io import write_table

__all__ = ["main", "plot_band_path", "plot_zoom"]


def plot_zoom(zoom, mapping, path):
    """Fig. 1(b): BdG bands versus p − p_F with ±ε0 and the mirage gaps marked."""
    phys = mapping.physical
    fig, (ax, axz) = plt.subplots(
        1, 2, figsize=(10, 5), gridspec_kw={"width_ratios": [3, 2]}, constrained_layout=True
    )
    x = zoom.dp * 1e3
    for band in zoom.energies.T:
        for a in (ax, axz):
            a.plot(x, band, color="C0", lw=1.2)
    for a in (ax, axz):
        for sign in (1, -1):
            a.axhline(sign * zoom.eps0, color="C3", ls="--", lw=0.8)
            a.axhspan(sign * zoom.eps2, sign * zoom.eps1, color="C3", alpha=0.12, lw=0)
        a.axvline(0.0, color="0.5", lw=0.6, ls=":")
        a.set_xlabel(r"$p - p_F$ ($10^{-3}/a$), along K$\to\Gamma$")
    ax.axhspan(-zoom.delta, zoom.delta, color="C2", alpha=0.12, lw=0)
    ax.set_ylabel(r"$E/\Delta$")
    ax.set_ylim(-1.35 * zoom.eps1, 1.35 * zoom.eps1)
    eps0_label = r"$\pm\varepsilon_0=\pm(\varepsilon_1+\varepsilon_2)/2$"
    gap_label = r"mirage gaps $\delta=\varepsilon_1-\varepsilon_2$"
    ax.plot([], [], color="C3", ls="--", label=eps0_label)
    ax.fill_between([], [], color="C3", alpha=0.2, label=gap_label)
    ax.fill_between([], [], color="C2", alpha=0.2, label=r"main gap $\pm\Delta$")
    ax.legend(loc="center", fontsize=8)
    # Zoom on the upper mirage gap at p_F.
    slope = np.abs(np.gradient(zoom.xi, zoom.dp)).mean()  # |dxi/dp| in Δ0 a
    half_x = 4 * zoom.width / slope * 1e3  # ± 4 δ of normal-state energy, in 1e-3/a
    axz.set_xlim(-half_x, half_x)
    axz.set_ylim(zoom.eps0 - 2.5 * zoom.width, zoom.eps0 + 2.5 * zoom.width)
    axz.annotate(
        "", xy=(0.6 * half_x, zoom.eps1), xytext=(0.6 * half_x, zoom.eps2),
        arrowprops=dict(arrowstyle="<->", color="C3"),
    )
    axz.text(0.65 * half_x, zoom.eps0, rf"$\delta={zoom.width:.3f}\,\Delta$", color="C3",
             va="center")
    axz.set_title(r"zoom: upper mirage gap at $p_F$", fontsize=9)
    fig.suptitle(
        rf"Lattice BdG spectrum near K: $\beta(k_F)={zoom.beta_fermi:.2f}\Delta$ "
        rf"($\langle\beta\rangle_{{FS}}={phys.beta:g}\Delta_0$), $B={phys.field:g}\Delta$, "
        rf"$\Delta={zoom.delta:g}\Delta_0$, $E_F={phys.e_fermi:g}\Delta_0$, "
        rf"$\Delta_0={phys.delta0:g}t$ (cf. Tang et al. Fig. 1(b))",
        fontsize=10,
    )
    save_png(fig, path, dpi=130)
    plt.close(fig)


def plot_band_path(path_data, zoom_params, path):
    """All BdG bands along Γ–K–M–K'–Γ (t) plus a zoom around K (Δ0)."""
    fig, (ax, axz) = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    for band in path_data.energies.T:
        ax.plot(path_data.distance, band, color="C0", lw=1.0)
    ax.set_xticks(path_data.ticks, path_data.labels)
    for tick in path_data.ticks:
        ax.axvline(tick, color="0.7", lw=0.6)
    ax.axhline(0.0, color="0.5", lw=0.6, ls=":")
    ax.set_xlim(path_data.ticks[0], path_data.ticks[-1])
    ax.set_ylabel(r"$E$ ($t$)")
    ax.set_title("BdG bands (particle and hole copies), energies in t", fontsize=9)
    d0, k_dist, e = zoom_params
    for band in e.T:
        axz.plot(k_dist, band / d0, color="C0", lw=1.0)
    axz.axhline(0.0, color="0.5", lw=0.6, ls=":")
    axz.set_ylim(-15, 15)
    axz.set_xlabel(r"distance from K along $\Gamma$–K–M ($1/a$)")
    axz.set_ylabel(r"$E/\Delta_0$")
    axz.set_title("zoom on the hole pocket around K", fontsize=9)
    save_png(fig, path, dpi=130)
    plt.close(fig)


def main(argv=None):
    """Build both figures and their data files; returns an exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="output")
    parser.add_argument("--beta", type=float, default=7.0, help="Fermi-surface mean β (Δ0)")
    parser.add_argument("--field", type=float, default=2.0, help="in-plane Zeeman B (Δ0)")
    parser.add_argument("--delta", type=float, default=1.0, help="gap Δ (Δ0)")
    parser.add_argument("--e-fermi", type=float, default=None, help="pocket depth (Δ0)")
    parser.add_argument("--delta0-t", type=float, default=None, help="Δ0 in units of t")
    args = parser.parse_args(argv)
    kwargs = {}
    if args.e_fermi is not None:
        kwargs["e_fermi"] = args.e_fermi
    if args.delta0_t is not None:
        kwargs["delta0"] = args.delta0_t
    try:
        phys = PhysicalParameters(beta=args.beta, field=args.field, delta=args.delta, **kwargs)
    except ValueError as exc:
        print(f"fig1b: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    fsyst = bulk.wrapped_system()
    mapping = map_to_lattice(phys, fsyst=fsyst)
    meta = mapping.report()

    zoom = spectrum.fermi_zoom(mapping, fsyst=fsyst)
    cols = {"dp": zoom.dp, "xi": zoom.xi}
    cols.update({f"energy_{i}": zoom.energies[:, i] for i in range(zoom.energies.shape[1])})
    write_table(out / "fig1b_zoom.csv", cols, {
        **meta, "units": "dp in 1/a; xi and energies in Delta0",
        "p_fermi": zoom.p_fermi, "beta_fermi": zoom.beta_fermi, "eps0": zoom.eps0,
        "eps1": zoom.eps1, "eps2": zoom.eps2, "width": zoom.width, "angle": zoom.angle,
    })
    plot_zoom(zoom, mapping, out / "fig1b_zoom.png")

    blocks = bulk.fourier_blocks(fsyst, mapping.params)
    path_data = spectrum.band_path(blocks, n_points=1201)
    cols = {"distance": path_data.distance, "k_x": path_data.k[:, 0], "k_y": path_data.k[:, 1]}
    cols.update({f"energy_{i}": path_data.energies[:, i] for i in range(4)})
    write_table(out / "bands_path.csv", cols, {
        **meta, "units": "k in 1/a, energies in t", "ticks": list(path_data.ticks),
        "labels": list(path_data.labels),
    })
    # Zoom: Γ -> K -> M near K, finely sampled within ±0.8 of K.
    k_near = spectrum.HIGH_SYMMETRY_POINTS["K"]
    s = np.linspace(-0.8, 0.8, 4001)
    to_gamma = -k_near / np.linalg.norm(k_near)
    to_m = spectrum.HIGH_SYMMETRY_POINTS["M"] - k_near
    to_m /= np.linalg.norm(to_m)
    k = np.where(s[:, None] < 0, k_near - s[:, None] * to_gamma, k_near + s[:, None] * to_m)
    e = spectrum.bdg_bands(blocks, k)
    plot_band_path(path_data, (mapping.delta0, s, e), out / "bands_path.png")
    print(f"wrote {out / 'fig1b_zoom.png'}, {out / 'bands_path.png'} and their CSV data")
    return 0


if __name__ == "__main__":
    sys.exit(main())
