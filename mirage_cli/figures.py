"""``mirage figure NAME ...``: the command lines of the paper-figure scripts.

NAME is one of `FIGURES`; the options after NAME belong to that figure
(``mirage figure fig2 --help``)::

    mirage figure fig1c --output fig1c.png [--points N]
    mirage figure fig2 --output fig2.png [--gammas 0,0.2,0.4,1,2]
    mirage figure fig_tunneling --output fig_tunneling.png [--fields 0:3:13] [--units physical ...]

Each command parses and checks its options (bad input: exit code 2, nothing written),
calls the figure's functions in `comparisons` (``compute``/``plot``, or
`comparisons.fig1b.write_figures`) and prints what it wrote. The figures with an energy axis
in Delta0 share `energy_figure_main` (``--output``/``--points``).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from mirage_cli.options import check_output_file, integer, memory_limit, parse_values, real
from mirage_cli.unit_options import (
    add_unit_options,
    note_material,
    refuse_physical_options,
    scale_from_args,
)
from mirage_common.errors import ParameterError

__all__ = ["FIGURES", "add_parser", "energy_figure_main"]

MIN_POINTS = 401  # below this the mirage gaps (width ~0.5 Δ0 on a 24 Δ0 window) are lost


def energy_figure_main(name, description, default_output, compute, plot, describe, argv=None,
                       *, add_arguments=None, compute_options=None, energy_range=(-12.0, 12.0),
                       default_points=4001, min_points=MIN_POINTS):
    """Parse ``--output``/``--points`` (and a script's own options), compute, plot, describe.

    Parameters
    ----------
    name : str
        The figure's name (``"fig2"``), in its usage line and error messages.
    description : str
        Help text.
    default_output : str
        Default PNG path.
    compute : callable
        ``compute(energies=ndarray) -> results``.
    plot : callable
        ``plot(results, output_path)``.
    describe : callable
        ``describe(results) -> iterable of str``, printed after the figure is written.
    argv : list of str, optional
    add_arguments : callable, optional
        ``add_arguments(parser)`` adds the script's own options.
    compute_options : callable, optional
        ``compute_options(args) -> dict`` of extra keyword arguments for *compute*; it
        validates them (raising `ParameterError`) before anything is computed.
    energy_range : (float, float)
        The energy window in Delta0 (default [-12, 12]).
    default_points, min_points : int
        Default and smallest ``--points`` (a script with a narrower window or coarser
        features may lower the floor; the default floor keeps the mirage gaps resolved).

    Returns
    -------
    int
        0 on success, 2 on bad input.
    """
    parser = argparse.ArgumentParser(prog=f"mirage figure {name}", description=description)
    parser.add_argument("--output", default=default_output, help="PNG file to write")
    lo, hi = energy_range
    parser.add_argument("--points", type=int, default=default_points,
                        help=f"energies on [{lo:g}, {hi:g}] Delta0 (default %(default)s)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        if Path(args.output).suffix.lower() != ".png":
            raise ParameterError("output", f"must end in .png, got {args.output!r}")
        if args.points < min_points:
            raise ParameterError(
                "points", f"must be >= {min_points} (mirage gaps), got {args.points}"
            )
        options = {} if compute_options is None else compute_options(args)
        results = compute(energies=np.linspace(lo, hi, args.points), **options)
    except ValueError as exc:
        print(f"mirage figure {name}: error: {exc}", file=sys.stderr)
        return 2
    plot(results, args.output)
    for line in describe(results):
        print(line)
    print(f"wrote {args.output}")
    return 0


def _first_paragraph(module):
    return module.__doc__.split("\n\n")[0]


# ---------------------------------------------------------------------------- energy axis


def fig1c(argv=None):
    """``mirage figure fig1c``: the paper's Fig. 1(c), clean DOS for several fields."""
    from comparisons import fig1c as fig

    return energy_figure_main("fig1c", _first_paragraph(fig), "output/fig1c.png", fig.compute,
                              fig.plot, fig.describe, argv)


def fig2(argv=None):
    """``mirage figure fig2``: the paper's Fig. 2, components against Gamma."""
    from comparisons import fig2 as fig

    def add_arguments(parser):
        parser.add_argument("--gammas", default=",".join(f"{g:g}" for g in fig.GAMMAS),
                            help="intervalley rates Gamma >= 0 (Delta0), one curve each: a comma "
                                 "list or START:STOP:NUM (default: the paper's %(default)s)")

    return energy_figure_main(
        "fig2", _first_paragraph(fig), "output/fig2.png", fig.compute, fig.plot, fig.describe,
        argv, add_arguments=add_arguments,
        compute_options=lambda args: {
            "gammas": tuple(parse_values("gammas", args.gammas, low=0.0))},
    )


def _tunneling_arguments(parser):
    parser.add_argument("--beta", type=float, default=None,
                        help="Ising SOC beta_so (Delta0, default 7; meV with --units physical, "
                             "default the preset's)")
    parser.add_argument("--fields", default="0:3:13",
                        help="fields START:STOP:NUM or a comma list (Zeeman energy in Delta0, or "
                             "tesla with --units physical; default 0:3:13)")
    parser.add_argument("--temperature", type=float, default=0.1,
                        help="temperature > 0 of gap and smearing (T_c0, or kelvin; default 0.1)")
    parser.add_argument("--n-k", type=int, default=24,
                        help="transverse momenta of the lattice junction (default 24)")
    add_unit_options(parser)


def _tunneling_options(args):
    """Validate and convert fig_tunneling's options to reduced units (nothing computed)."""
    fields = parse_values("fields", args.fields, low=0.0)
    if fields.size < 2:
        raise ParameterError("fields", f"a map needs at least 2 fields, got {args.fields!r}")
    if not (args.temperature > 0 and np.isfinite(args.temperature)):
        raise ParameterError("temperature", f"must be > 0, got {args.temperature!r}")
    if args.n_k < 1:
        raise ParameterError("n-k", f"must be >= 1, got {args.n_k}")
    if args.beta is not None and not (args.beta >= 0 and np.isfinite(args.beta)):
        raise ParameterError("beta", f"must be finite and >= 0, got {args.beta!r}")
    if args.units != "physical":
        refuse_physical_options(args)
        return {"beta": 7.0 if args.beta is None else args.beta, "fields": fields,
                "temperature": args.temperature, "n_k": args.n_k}
    scale, material = scale_from_args(args)
    beta = args.beta if args.beta is not None else (
        material.beta_so_meV if material is not None else None)
    if beta is None:
        raise ParameterError("beta", "required (meV) unless --material gives it")
    note_material("fig_tunneling", material)
    return {"beta": float(scale.energy_to_reduced(beta, name="beta")),
            "fields": scale.field_to_reduced(fields, name="fields"),
            "temperature": float(scale.temperature_to_reduced(args.temperature,
                                                              name="temperature")),
            "n_k": args.n_k, "scale": scale, "material": material}


def fig_tunneling(argv=None):
    """``mirage figure fig_tunneling``: dI/dV(V, B) maps, lattice and quasiclassics."""
    from comparisons import fig_tunneling as fig

    return energy_figure_main(
        "fig_tunneling", _first_paragraph(fig), "output/fig_tunneling.png", fig.compute,
        fig.plot, fig.describe, argv, add_arguments=_tunneling_arguments,
        compute_options=_tunneling_options, energy_range=fig.ENERGY_RANGE, default_points=801,
        min_points=fig.MIN_POINTS,
    )


# ---------------------------------------------------------------------------- lattice figures


def fig1b(argv=None):
    """``mirage figure fig1b``: the lattice BdG spectrum of Fig. 1(b) and the band path."""
    from comparisons import fig1b as fig
    from latticemirage.mapping import PhysicalParameters

    parser = argparse.ArgumentParser(prog="mirage figure fig1b",
                                     description=fig.__doc__.splitlines()[0])
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
        print(f"mirage figure fig1b: error: {exc}", file=sys.stderr)
        return 2
    written = fig.write_figures(phys, args.output_dir)
    print(f"wrote {', '.join(str(p) for p in written)} and the CSV data")
    return 0


def fig2_lattice(argv=None):
    """``mirage figure fig2_lattice``: lattice Fig. 2 beside the SCBA at the measured Γ."""
    from comparisons import fig2_lattice as fig

    parser = argparse.ArgumentParser(prog="mirage figure fig2_lattice",
                                     description=_first_paragraph(fig))
    parser.add_argument("--output", default="fig2_lattice.png", help="PNG file to write")
    parser.add_argument("--widths", default="0.2,0.3,0.4",
                        help="Anderson widths W (t): a comma list or START:STOP:NUM")
    parser.add_argument("--size", type=int, default=48,
                        help="supercell L (default 48; at 32 f0 has a finite-size deficit)")
    parser.add_argument("--eta", type=float, default=2.5, help="Dynes eta (Δ0)")
    parser.add_argument("--realizations", type=int, default=4)
    parser.add_argument("--n-energies", type=int, default=10, help="lattice energies on [0, 8.5]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if Path(args.output).suffix.lower() != ".png":
            raise ParameterError("output", f"must end in .png, got {args.output!r}")
        # Anderson widths W in (0, 3) t: beyond, the pockets of E_F = 30 Δ0 are washed out.
        widths = list(parse_values("widths", args.widths, low=0.0, high=3.0, low_open=True,
                                   high_open=True))
        if args.n_energies < 2:
            raise ParameterError("n_energies", f"must be >= 2, got {args.n_energies}")
        result = fig.compute(widths, args.size, args.eta, args.realizations, args.n_energies,
                             args.seed)
    except ValueError as exc:
        print(f"mirage figure fig2_lattice: error: {exc}", file=sys.stderr)
        return 2
    fig.plot(result, args.output)
    for w, gamma, err in zip(widths, result["gamma"], result["gamma_err"], strict=True):
        print(f"W = {w:g} t: Γ_tot = {gamma:.3f} ± {err:.3f} Δ0")
    print(f"wrote {args.output}")
    return 0


def _check_gap_map_memory(args, point):
    """Refuse a site-resolved map that cannot fit (`latticemirage.estimates.shell_gap` with
    the shell matrices kept), before the clean gap or any shell is computed."""
    from latticemirage.disorder import selfconsistent as scs
    from latticemirage.mapping import PhysicalParameters, map_to_lattice
    from mirage_common.resources import check_memory

    mapping = map_to_lattice(PhysicalParameters(field=args.field, **point))
    est = scs.realization_estimate(mapping, args.size, args.twists, zero_field=False, full=True)
    check_memory("size", est.nbytes, est.what)


def fig_gap_map(argv=None):
    """``mirage figure fig_gap_map``: the site-resolved self-consistent gap map."""
    from comparisons import fig_gap_map as fig

    p = argparse.ArgumentParser(prog="mirage figure fig_gap_map",
                                description=_first_paragraph(fig))
    p.add_argument("--output", default="gap_map.png")
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--concentration", type=float, default=0.02)
    p.add_argument("--strength", type=float, default=1.0)
    p.add_argument("--field", type=float, default=2.0)
    p.add_argument("--twists", default="pi")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale", choices=("derived", "default"), default="derived",
                   help="derived: β = 5, E_F = 20 Δ0, Δ0 = 0.04 t (ξ0 = 9.4 a); default: the "
                        "model's scale, β = 7, E_F = 30 Δ0, Δ0 = 0.005 t (needs L >~ 200)")
    p.add_argument("--memory-limit", type=real(0, low_open=True), metavar="GB", default=None,
                   help="memory (GB) the map may use; default: what this machine has available")
    args = p.parse_args(argv)
    try:
        if Path(args.output).suffix.lower() != ".png":
            raise ParameterError("output", "must end in .png")
        if args.size < 4:
            raise ParameterError("size", f"must be >= 4, got {args.size}")
        point = fig.DEFAULT_SCALE_POINT if args.scale == "default" else fig.POINT
        with memory_limit(args.memory_limit):
            _check_gap_map_memory(args, point)

        def progress(it, change):
            print(f"mirage figure fig_gap_map: iteration {it}, largest change {change:.2e} Δ0",
                  file=sys.stderr, flush=True)

        r = fig.compute(args.size, args.concentration, args.strength, args.field, args.twists,
                        args.seed, point=point, progress=progress)
        fig.plot(r, args.output)
    except ValueError as exc:
        print(f"mirage figure fig_gap_map: error: {exc}", file=sys.stderr)
        return 2
    d = r["delta"]
    print(f"wrote {args.output}: mean Δ_i = {d.mean():.4f}, min {d.min():.4f}, max "
          f"{d.max():.4f} Δ0; uniform {r['uniform']:.4f}; clean lattice {r['clean']:.4f}; "
          f"{r['iterations']} iterations, converged {r['converged']}, {r['seconds']:.0f} s")
    return 0


def fig_josephson(argv=None):
    """``mirage figure fig_josephson``: Josephson junction, lattice and quasiclassics."""
    from comparisons import fig_josephson as fig

    p = argparse.ArgumentParser(prog="mirage figure fig_josephson",
                                description=_first_paragraph(fig))
    p.add_argument("--output", default="output/fig_josephson.png", help="PNG to write")
    p.add_argument("--beta", type=real(0, 10), default=7.0, help="Ising SOC (Δ0; default 7)")
    p.add_argument("--field", type=real(0, 10), default=2.0,
                   help="in-plane Zeeman energy of both sides (Δ0; default 2)")
    p.add_argument("--angle", type=real(-2 * np.pi, 2 * np.pi), default=np.pi / 2,
                   help="relative field angle of panel (b) (rad; default pi/2)")
    p.add_argument("--temperature", type=real(0, 1, low_open=True, high_open=True),
                   default=0.1, help="T/T_c0 (default 0.1)")
    p.add_argument("--n-k", type=integer(1, 256), default=8,
                   help="transverse momenta of the lattice current (default 8)")
    p.add_argument("--barrier", type=real(0, 10), default=1.0,
                   help="barrier of the diode panel (t; default 1)")
    p.add_argument("--polarization", type=real(-1, 1, low_open=True, high_open=True),
                   default=0.5, help="its spin polarization along z (default 0.5)")
    args = p.parse_args(argv)
    try:
        check_output_file("output", args.output, (".png",))
    except ParameterError as exc:
        print(f"mirage figure fig_josephson: error: {exc}", file=sys.stderr)
        return 2
    res = fig.compute(args.beta, args.field, args.angle, args.temperature, args.n_k,
                      args.barrier, args.polarization)
    fig.plot(res, args.output)
    for side in ("qc", "lat", "qc_pol", "lat_pol"):
        eta = res["critical"][side][:, 2]
        print(f"{side}: eta over angles = {np.array2string(eta, precision=4)}")
    print(f"wrote {args.output}")
    return 0


#: ``mirage figure NAME``: the command of each figure (``argv -> exit code``).
FIGURES = {
    "fig1b": fig1b,
    "fig1c": fig1c,
    "fig2": fig2,
    "fig2_lattice": fig2_lattice,
    "fig_gap_map": fig_gap_map,
    "fig_josephson": fig_josephson,
    "fig_tunneling": fig_tunneling,
}


def _run(args):
    try:
        return FIGURES[args.name](args.options)
    except SystemExit as exc:  # the figure's own parser: --help (0) or bad usage (2)
        return int(exc.code or 0)


def add_parser(subparsers, name, help):
    """Register ``mirage figure NAME [OPTIONS...]`` on the dispatcher's subparsers."""
    parser = subparsers.add_parser(
        name, help=help, description="Draw one of the paper's figures; the options after NAME "
                                     "are the figure's own (mirage figure NAME --help).")
    parser.add_argument("name", choices=tuple(FIGURES), metavar="NAME",
                        help=f"the figure: {', '.join(FIGURES)}")
    parser.add_argument("options", nargs=argparse.REMAINDER, metavar="...",
                        help="the figure's options (mirage figure NAME --help lists them)")
    parser.set_defaults(func=_run)
    return parser
