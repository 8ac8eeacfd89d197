"""One-command figure: the lattice BdG spectrum of Fig. 1(b) and the bands along Γ–K–M–K'–Γ.

Usage::

    mirage figure fig1b [--output-dir output] [--beta 7] [--field 2] ...

Writes ``fig1b_zoom.png`` / ``fig1b_zoom.csv`` (spectrum across p_F near K, energies
in Δ, with ±ε0, ε1, ε2 and the mirage gaps δ marked) and ``bands_path.png`` /
``bands_path.csv`` (all four BdG bands along the high-symmetry path, energies in t,
with a zoom on the K pocket) and ``bands_kwant_valleys.png`` (Kwant's own
``kwant.wraparound.plot_2d_bands`` of the wrapped-around bulk around K and K',
energies in t). The CSV files carry the lattice parameters actually used in their
metadata line. The plotting functions live in `latticemirage.plots`.
"""

from pathlib import Path

import numpy as np

from latticemirage import bulk, spectrum
from latticemirage.mapping import map_to_lattice
from latticemirage.plots import plot_band_path, plot_kwant_valleys, plot_zoom
from mirage_common.io import write_table

__all__ = ["plot_band_path", "plot_zoom", "write_figures"]


def write_figures(phys, output_dir):
    """Write the three figures and their CSV data into *output_dir* (made if missing).

    Parameters
    ----------
    phys : latticemirage.mapping.PhysicalParameters
        The point in Δ0 units; the default lattice scale unless it sets ``e_fermi`` or
        ``delta0``.
    output_dir : str or Path

    Returns
    -------
    list of Path
        The PNG files written.
    """
    out = Path(output_dir)
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
    plot_kwant_valleys(fsyst, mapping.params, out / "bands_kwant_valleys.png",
                       half_width=1.5 * mapping.p_fermi_max,  # the whole pocket
                       title="Kwant's view of the bulk BdG bands near K and K' (energies in t)")
    return [out / "fig1b_zoom.png", out / "bands_path.png", out / "bands_kwant_valleys.png"]
