"""``mirage lattice ...``: spectra, clean DOS and Δ(B) of the Kwant lattice model.

Physical parameters are given in units of Δ0 (temperatures in T_c0), as for
``mirage qc``; the lattice parameters actually used (t units) are written into
the metadata of every result file. Bad input raises `ParameterError` before
anything is computed or written (the dispatcher turns it into exit code 2).
"""


import numpy as np

from mirage_cli.lattice.options import (
    MAX_MESH,
    add_physical,
    check_distinct_outputs,
    check_estimate,
    check_green_window,
    check_memory,
    check_output,
    integer,
    note_time,
    option_named,
    parse_values,
    physical_from_args,
    positive_int,
    real,
)
from mirage_common.errors import ParameterError
from mirage_common.io import write_table

__all__ = ["add_subcommands"]


def _spectrum(args):
    from latticemirage import bulk, plots, spectrum
    from latticemirage.mapping import map_to_lattice

    check_output(args.output)
    plots.check_png_path("plot", args.plot)
    plots.check_png_path("kwant-plot", args.kwant_plot)
    n_points = positive_int("n-points", args.n_points)
    check_memory("n-points", n_points * 2e3, f"{n_points} points x 2 kB")
    if args.kwant_points is not None and args.kwant_plot is None:
        raise ParameterError("kwant-points", "only with --kwant-plot (its k points per window)")
    n_kwant = positive_int("kwant-points", 31 if args.kwant_points is None else args.kwant_points)
    if n_kwant < 2:
        raise ParameterError("kwant-points", f"must be >= 2, got {n_kwant}")
    check_distinct_outputs({"output": args.output, "plot": args.plot,
                            "kwant-plot": args.kwant_plot})
    if args.kwant_plot is not None:
        from latticemirage import estimates

        check_estimate(estimates.kwant_plot(n_kwant))
    phys = physical_from_args(args)
    fsyst = bulk.wrapped_system()
    mapping = map_to_lattice(phys, fsyst=fsyst)
    meta = mapping.report()
    if args.kind == "zoom":
        zoom = spectrum.fermi_zoom(mapping, angle=args.angle, n_points=n_points, fsyst=fsyst)
        cols = {"dp": zoom.dp, "xi": zoom.xi}
        cols.update({f"energy_{i}": zoom.energies[:, i] for i in range(zoom.energies.shape[1])})
        meta.update(kind="zoom", units="dp = |k-K| - p_F in 1/a; xi, energies in Delta0",
                    p_fermi=zoom.p_fermi, beta_fermi=zoom.beta_fermi, eps0=zoom.eps0,
                    eps1=zoom.eps1, eps2=zoom.eps2, width=zoom.width, angle=zoom.angle)
    else:
        blocks = bulk.fourier_blocks(fsyst, mapping.params)
        path = spectrum.band_path(blocks, n_points=n_points)
        cols = {"distance": path.distance, "k_x": path.k[:, 0], "k_y": path.k[:, 1]}
        cols.update({f"energy_{i}": path.energies[:, i] for i in range(path.energies.shape[1])})
        meta.update(kind="path", units="distance, k in 1/a; energies in t",
                    ticks=list(path.ticks), labels=list(path.labels))
    write_table(args.output, cols, meta)
    written = [str(args.output)]
    if args.plot is not None:
        if args.kind == "zoom":
            plots.plot_zoom(zoom, mapping, args.plot)
        else:
            plots.plot_band_path(path, None, args.plot)
        written.append(str(args.plot))
    if args.kwant_plot is not None:
        # Windows of ±1.5 p_F (largest pocket radius) around K and K': the whole pocket.
        plots.plot_kwant_valleys(
            fsyst, mapping.params, args.kwant_plot, half_width=1.5 * mapping.p_fermi_max,
            n_k=n_kwant, title=f"Kwant's view of the bulk BdG bands: β = {phys.beta:g} Δ0, "
                               f"B = {phys.field:g} Δ0, Δ = {phys.delta:g} Δ0 (energies in t)")
        written.append(str(args.kwant_plot))
    print(f"wrote {', '.join(written)}")
    return 0


def _solve_gap(mapping, args, fsyst):
    from latticemirage.gap import GapSolver

    with option_named("mesh", "gap-mesh", f"the {args.gap_mesh} x {args.gap_mesh} k mesh "
                                          "holds no k point in the pairing shell; increase "
                                          "--gap-mesh"):
        solver = GapSolver.build(mapping, mesh=args.gap_mesh, fsyst=fsyst)
    result = solver.solve()
    if not result.converged:
        raise RuntimeError(f"self-consistent gap did not converge: {result}")
    return result, solver


# Memory of the self-consistent gap's pairing shell per full-mesh k point (measured:
# 186 MB above the 120 MB start-up at mesh 2000).
_GAP_BYTES_PER_K = 50.0
# Run time per full-mesh k point of the clean DOS (measured: 33 s at mesh 8000, 2 cores).
_DOS_SECONDS_PER_K = 5e-7


def _check_dos_memory(args, n_e, *, solve):
    """Refuse a clean DOS whose histogram (Dynes fine bins) or gap shell cannot fit."""
    span = args.emax - args.emin
    bins = n_e if args.eta == 0 else (span + 80 * args.eta) / min(args.eta / 5, span / 200)
    parts = [(bins * 64, "eta", f"{bins:.3g} fine bins (eta/5 over the window) x 64 B"),
             (n_e * 1e3, "n-energies", f"{n_e} energies x 1 kB")]
    if solve:
        parts.append((_GAP_BYTES_PER_K * args.gap_mesh**2, "gap-mesh",
                      f"gap-mesh^2 x {_GAP_BYTES_PER_K:g} B for the self-consistent gap"))
    check_memory(max(parts)[1], sum(p[0] for p in parts), ", ".join(p[2] for p in parts))
    note_time(_DOS_SECONDS_PER_K * args.mesh**2, f"mesh^2 x {_DOS_SECONDS_PER_K:g} s, measured")


def _dos(args):
    from latticemirage import bulk
    from latticemirage.dos import check_mesh, check_mesh_resolves, clean_dos
    from latticemirage.mapping import map_to_lattice

    check_output(args.output)
    mesh = check_mesh(args.mesh)
    n_e = positive_int("n-energies", args.n_energies)
    if n_e < 2:
        raise ParameterError("n-energies", f"must be >= 2 (a DOS curve), got {n_e}")
    if not args.emax > args.emin:
        raise ParameterError("emax", f"must exceed emin = {args.emin!r}, got {args.emax!r}")
    if args.eta < 0:
        raise ParameterError("eta", f"must be >= 0, got {args.eta!r}")
    phys = physical_from_args(args)
    _check_dos_memory(args, n_e, solve=phys.delta is None)
    if not args.no_components:
        from latticemirage import estimates, green

        if args.eta == 0:
            raise ParameterError("eta", "the Green's function components need eta > 0 "
                                 "(use --no-components for the unbroadened DOS alone)")
        green.check_polar_mesh(args.n_theta, args.n_radial)
        check_estimate(estimates.valley_green(args.n_theta, args.n_radial, n_e))
    energies = np.linspace(args.emin, args.emax, n_e)
    if not args.no_components:
        # The self-consistent gap never exceeds Δ0 = 1 (its B = 0, T = 0 value).
        check_green_window(phys, energies, eta=args.eta,
                           delta=1.0 if phys.delta is None else phys.delta,
                           n_theta=args.n_theta, n_radial=args.n_radial)
    fsyst = bulk.wrapped_system()
    mapping = map_to_lattice(phys, fsyst=fsyst)
    check_mesh_resolves(mapping, mesh)  # before the gap is solved
    gap_meta = {"delta_source": "given"}
    if phys.delta is None:
        result, solver = _solve_gap(mapping, args, fsyst)
        gap_meta = {"delta_source": "self-consistent (latticemirage.gap)",
                    "gap_mesh": solver.mesh, "gap_cutoff_delta0": solver.cutoff,
                    "coupling_U_t": solver.coupling,
                    "condensation_energy_delta0": result.condensation_energy}
        mapping = mapping.with_delta(result.delta)
    res = clean_dos(mapping, energies, eta=args.eta, mesh=mesh, fsyst=fsyst)
    meta = {**res.metadata(), **gap_meta, "units": "energy in Delta0, dos normalized N_s/N_n(0)"}
    columns = {"energy": res.energies, "dos": res.dos, "dos_normal": res.dos_normal}
    if not args.no_components:
        # Valley-resolved ĝ with the column names of `mirage qc dos` (g0_K_re, ..., fz_Kp_im).
        vg = green.valley_green(mapping, energies, eta=args.eta, n_theta=args.n_theta,
                                n_radial=args.n_radial, fsyst=fsyst)
        columns.update(vg.columns())
        meta.update(vg.metadata(), gauge="eq1: real Delta in the paper's Eq. (1) "
                    "(as mirage qc dos; f = i f_Eq.(8))")
    write_table(args.output, columns, meta)
    print(f"wrote {args.output} (Δ = {res.delta:.6g} Δ0, mesh {mesh}, {res.n_k} k points)")
    return 0


def _gap(args):
    from latticemirage import bulk
    from latticemirage.dos import check_mesh
    from latticemirage.gap import DEFAULT_CUTOFF_FRACTION, GapSolver, check_cutoff
    from latticemirage.mapping import map_to_lattice

    check_output(args.output)
    mesh = check_mesh(args.mesh)
    fields = parse_values("fields", args.fields, low=0.0)
    check_memory("mesh", _GAP_BYTES_PER_K * mesh**2 + fields.size * 2e3,
                 f"mesh^2 x {_GAP_BYTES_PER_K:g} B for the pairing shell, {fields.size} fields "
                 "x 2 kB")
    # Validate every field against the mapping's limits before computing anything.
    for b in fields:
        physical_from_args(args, field=float(b), delta=None)
    phys = physical_from_args(args, field=float(fields[0]), delta=None)
    cutoff = DEFAULT_CUTOFF_FRACTION * phys.e_fermi if args.cutoff is None else args.cutoff
    check_cutoff(cutoff, phys.beta, float(fields.max()))
    fsyst = bulk.wrapped_system()
    mapping = map_to_lattice(phys, fsyst=fsyst)
    solver = GapSolver.build(mapping, mesh=mesh, cutoff=cutoff, fsyst=fsyst)
    results = solver.curve(fields, temperature=args.temperature)
    cols = {
        "field": np.array([r.field for r in results]),
        "delta": np.array([r.delta for r in results]),
        "condensation_energy": np.array([r.condensation_energy for r in results]),
        "converged": np.array([float(r.converged) for r in results]),
        "n_evaluations": np.array([float(r.n_evaluations) for r in results]),
    }
    meta = {**mapping.report(), "temperature_tc0": args.temperature, "mesh": mesh,
            "cutoff_delta0": solver.cutoff, "coupling_U_t": solver.coupling,
            "n_shell": solver.n_shell,
            "units": "field, delta in Delta0; condensation_energy F(Delta)-F(0) per site in Delta0"}
    write_table(args.output, cols, meta)
    print(f"wrote {args.output} ({len(results)} fields)")
    return 0


def add_subcommands(sub):
    """Register ``spectrum``, ``dos`` and ``gap`` on the ``mirage lattice`` subparsers *sub*."""
    p = sub.add_parser(
        "spectrum", help="BdG bands: zoom across p_F near K (Fig. 1(b)) or along Γ–K–M–K'–Γ")
    add_physical(p, delta_default=1.0, delta_help="gap Δ (Δ0; default 1)")
    p.add_argument("--kind", choices=("zoom", "path"), default="zoom",
                   help="zoom: across p_F near K; path: along Γ–K–M–K'–Γ")
    p.add_argument("--n-points", type=integer(1), default=801, help="number of k points")
    p.add_argument("--angle", type=real(), default=0.0,
                   help="zoom: ray direction from K (radians from +x; 0 points to Γ)")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="also write a PNG of the bands (zoom: E/Δ vs p - p_F; path: E in t)")
    p.add_argument("--kwant-plot", metavar="FILE.png", default=None,
                   help="also write Kwant's own view: kwant.wraparound.plot_2d_bands of the "
                        "bulk on windows of ±1.5 p_F around K and K' (energies in t)")
    p.add_argument("--kwant-points", type=integer(2), default=None,
                   help="--kwant-plot: k points per direction and window (default 31)")
    p.set_defaults(func=_spectrum)

    p = sub.add_parser(
        "dos", help="clean DOS N_s(E)/N_n(0) on a k mesh (linear triangle method, Dynes eta)")
    add_physical(p)
    p.add_argument("--eta", type=real(0), default=0.01,
                   help="Dynes broadening (Δ0); 0: unbroadened")
    p.add_argument("--mesh", type=integer(1, MAX_MESH), default=4000,
                   help="k mesh per direction (default 4000)")
    p.add_argument("--gap-mesh", type=integer(1, MAX_MESH), default=1000,
                   help="k mesh of the self-consistent gap (default 1000)")
    p.add_argument("--emin", type=real(), default=-10.0, help="lowest energy (Δ0)")
    p.add_argument("--emax", type=real(), default=10.0, help="highest energy (Δ0)")
    p.add_argument("--n-energies", "--points", dest="n_energies", type=integer(2), default=2001,
                   help="number of energies (default 2001; --points as in `mirage qc dos`)")
    p.add_argument("--no-components", action="store_true",
                   help="write only the DOS, not the valley-resolved Green's function "
                        "components g0_K_re ... fz_Kp_im (these need eta > 0)")
    p.add_argument("--n-theta", type=integer(1), default=360,
                   help="components: rays per valley (default 360)")
    p.add_argument("--n-radial", type=integer(1), default=480,
                   help="components: radial steps per ray across |xi| < 0.8 E_F (default 480)")
    p.set_defaults(func=_dos)

    p = sub.add_parser("gap", help="self-consistent clean gap Δ(B) at temperature T")
    add_physical(p, single_point=False)
    p.add_argument("--fields", default="0:6:25",
                   help="fields B (Δ0): 'start:stop:num' or comma list (default 0:6:25)")
    p.add_argument("--mesh", type=integer(1, MAX_MESH), default=1000,
                   help="k mesh per direction (default 1000)")
    p.add_argument("--cutoff", type=real(0, low_open=True), default=None,
                   help="pairing cutoff omega_c (Δ0; default 2/3 of E_F)")
    p.set_defaults(func=_gap)
