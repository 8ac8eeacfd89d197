r"""Figures of the lattice BdG spectrum: our own band plots and Kwant's view of the bulk.

- `plot_zoom`: the paper's Fig. 1(b), bands across p_F near K (energies in Δ),
  with ±ε0 and the mirage gaps marked.
- `plot_band_path`: all BdG bands along Γ–K–M–K'–Γ (energies in t), optionally with a
  zoom on the K pocket (energies in Δ0).
- `plot_kwant_valleys`: Kwant's own `kwant.wraparound.plot_2d_bands` of the
  wrapped-around bulk system on two windows of Cartesian k centred on K and K'
  (energies in t), the 2D bands as a Kwant user would look at them first.

Figures are built on `matplotlib.figure.Figure` (no pyplot: no backend is chosen and
no global figure state is touched) and written atomically with
`mirage_common.io.save_png`. Axes carry units.
"""

import numpy as np

from mirage_common.errors import ParameterError
from mirage_common.io import save_png
from mirage_common.resources import check_output_file

__all__ = ["check_png_path", "plot_band_path", "plot_kwant_valleys", "plot_zoom"]


def check_png_path(option, path):
    """*path* (None allowed) if it ends in ``.png`` and can be written, else `ParameterError`
    naming *option* (checked before anything is computed, `mirage_common.resources`)."""
    if path is not None:
        check_output_file(option, path, (".png",))
    return path


def plot_zoom(zoom, mapping, path):
    """Fig. 1(b): BdG bands versus p − p_F with ±ε0 and the mirage gaps marked.

    Parameters
    ----------
    zoom : latticemirage.spectrum.FermiZoom
        Energies in Δ0, ``dp`` in 1/a.
    mapping : latticemirage.mapping.LatticeMapping
    path : str or Path
        PNG file to write.
    """
    from matplotlib.figure import Figure

    phys = mapping.physical
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax, axz = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
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


def plot_band_path(path_data, zoom_params, path):
    """All BdG bands along Γ–K–M–K'–Γ (t), plus a zoom around K (Δ0) if given.

    Parameters
    ----------
    path_data : latticemirage.spectrum.BandPath
        Energies in t.
    zoom_params : tuple (delta0, k_dist, energies) or None
        Δ0 in t, distances from K (1/a, shape (n,)) and the bands there (t, shape
        (n, 4)); None: the path panel only.
    path : str or Path
        PNG file to write.
    """
    from matplotlib.figure import Figure

    if zoom_params is None:
        fig = Figure(figsize=(6.5, 4.5), layout="constrained")
        ax = fig.subplots()
    else:
        fig = Figure(figsize=(11, 4.5), layout="constrained")
        ax, axz = fig.subplots(1, 2)
    for band in path_data.energies.T:
        ax.plot(path_data.distance, band, color="C0", lw=1.0)
    ax.set_xticks(path_data.ticks, path_data.labels)
    for tick in path_data.ticks:
        ax.axvline(tick, color="0.7", lw=0.6)
    ax.axhline(0.0, color="0.5", lw=0.6, ls=":")
    ax.set_xlim(path_data.ticks[0], path_data.ticks[-1])
    ax.set_xlabel(r"distance in k space along $\Gamma$–K–M–K'–$\Gamma$ ($1/a$)")
    ax.set_ylabel(r"$E$ ($t$)")
    ax.set_title("BdG bands (particle and hole copies), energies in t", fontsize=9)
    if zoom_params is not None:
        d0, k_dist, e = zoom_params
        for band in e.T:
            axz.plot(k_dist, band / d0, color="C0", lw=1.0)
        axz.axhline(0.0, color="0.5", lw=0.6, ls=":")
        axz.set_ylim(-15, 15)
        axz.set_xlabel(r"distance from K along $\Gamma$–K–M ($1/a$)")
        axz.set_ylabel(r"$E/\Delta_0$")
        axz.set_title("zoom on the hole pocket around K", fontsize=9)
    save_png(fig, path, dpi=130)


def plot_kwant_valleys(fsyst, params, path, *, half_width, n_k=31, title=None):
    """Kwant's `kwant.wraparound.plot_2d_bands` of the bulk on windows around K and K'.

    Kwant evaluates ``fsyst.hamiltonian_submatrix`` itself on a grid of Cartesian
    wave vectors ``K + (q_x, q_y)`` and ``K' + (q_x, q_y)``, ``|q_i| <= half_width``,
    and draws each of the four BdG bands as a surface; this function only lays out
    the two panels and labels them. The Ising splitting has opposite signs in the two
    valleys (β(K) = −β(K')), which is what the two panels show side by side.

    Parameters
    ----------
    fsyst : finalized wrapped-around system (`latticemirage.bulk.wrapped_system`)
    params : dict
        Model parameters without ``k_x, k_y`` (energies in t).
    path : str or Path
        PNG file to write.
    half_width : float
        Half side of each k window (1/a); e.g. 1.5 p_F to show the whole pocket.
    n_k : int
        Points per direction in each window (Kwant's default is 31).
    title : str, optional
        Figure title.

    Returns
    -------
    dict
        ``"K"`` and ``"K'"``: the window centres (1/a), ``"half_width"``, ``"n_k"``.
    """
    import importlib
    import warnings

    import kwant
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers projection="3d")

    from latticemirage import model

    if not half_width > 0:
        raise ParameterError("half_width", f"must be > 0 (1/a), got {half_width!r}")
    if int(n_k) != n_k or n_k < 2:
        raise ParameterError("n_k", f"must be an integer >= 2, got {n_k!r}")
    with warnings.catch_warnings():
        # Kwant's plotter, imported lazily on first use, warns that plotly (its other
        # engine) is absent; this figure is drawn with its matplotlib engine.
        warnings.filterwarnings("ignore", message="plotly is not available",
                                category=RuntimeWarning)
        importlib.import_module("kwant._plotter")
    q = np.linspace(-half_width, half_width, int(n_k))
    fig = Figure(figsize=(11, 5), layout="constrained")
    centres = {"K": model.VALLEY_K, "K'": model.VALLEY_KP}
    for i, (name, centre) in enumerate(centres.items()):
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        kwant.wraparound.plot_2d_bands(fsyst, k_x=centre[0] + q, k_y=centre[1] + q,
                                       params=params, ax=ax)
        ax.set_xlabel(r"$k_x$ ($1/a$)")
        ax.set_ylabel(r"$k_y$ ($1/a$)")
        ax.set_zlabel(r"$E$ ($t$)")
        ax.set_title(rf"{name} = ({centre[0] + 0.0:.3f}, {centre[1] + 0.0:.3f})/a, "
                     r"kwant.wraparound.plot_2d_bands", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    save_png(fig, path, dpi=110)
    return {"K": [float(x) for x in centres["K"]], "K'": [float(x) for x in centres["K'"]],
            "half_width": float(half_width), "n_k": int(n_k)}
