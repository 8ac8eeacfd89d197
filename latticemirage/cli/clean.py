"""``mirage lattice ...``: spectra, clean DOS and Δ(B) of the Kwant lattice model.

Physical parameters are given in units of Δ0 (temperatures in T_c0), as for
``mirage qc``; the lattice parameters actually used (t units) are written into
the metadata of every result file. Bad input raises `ParameterError` before
anything is computed or written (the dispatcher turns it into exit code 2).
"""


import numpy as np

from mirage_common.errors import ParameterError
from mirage_common.io import write_table

from ._args import add_physical, check_output, parse_values, physical_from_args, positive_int

__all__ = ["add_subcommands"]


def _spectrum(args):
    from latticemirage import bulk, spectrum
    from latticemirage.mapping import map_to_lattice

    check_output(args.output)
    n_points = positive_int("n_points", args.n_points)
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
    print(f"wrote {args.output}")
    return 0


def _solve_gap(mapping, args, fsyst):
    from latticemirage.gap import GapSolver

    solver = GapSolver.build(mapping, mesh=args.gap_mesh, fsyst=fsyst)
    result = solver.solve()
    if not result.converged:
        raise RuntimeError(f"self-consistent gap did not converge: {result}")
    return result, solver


def _dos(args):
    from latticemirage import bulk
    from latticemirage.dos import check_mesh, clean_dos
    from latticemirage.mapping import map_to_lattice

    check_output(args.output)
    mesh = check_mesh(args.mesh)
    check_mesh(args.gap_mesh)
    n_e = positive_int("n_energies", args.n_energies)
    if not args.emax > args.emin:
        raise ParameterError("emax", f"must exceed emin = {args.emin!r}, got {args.emax!r}")
    if args.eta < 0:
        raise ParameterError("eta", f"must be >= 0, got {args.eta!r}")
    phys = physical_from_args(args)
    fsyst = bulk.wrapped_system()
    mapping = map_to_lattice(phys, fsyst=fsyst)
    energies = np.linspace(args.emin, args.emax, n_e)
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
    write_table(args.output, {"energy": res.energies, "dos": res.dos,
                              "dos_normal": res.dos_normal}, meta)
    print(f"wrote {args.output} (Δ = {res.delta:.6g} Δ0, mesh {mesh}, {res.n_k} k points)")
    return 0


def _gap(args):
    from latticemirage import bulk
    from latticemirage.dos import check_mesh
    from latticemirage.gap import DEFAULT_CUTOFF_FRACTION, GapSolver, check_cutoff
    from latticemirage.mapping import map_to_lattice

    check_output(args.output)
    mesh = check_mesh(args.mesh)
    fields = parse_values(args.fields, "fields")
    if np.any(fields < 0) or not np.all(np.isfinite(fields)):
        raise ParameterError("fields", f"must be finite and >= 0, got {args.fields!r}")
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
    p.add_argument("--kind", choices=("zoom", "path"), default="zoom")
    p.add_argument("--n-points", type=int, default=801)
    p.add_argument("--angle", type=float, default=0.0,
                   help="zoom: ray direction from K (radians from +x; 0 points to Γ)")
    p.set_defaults(func=_spectrum)

    p = sub.add_parser(
        "dos", help="clean DOS N_s(E)/N_n(0) on a k mesh (linear triangle method, Dynes eta)")
    add_physical(p)
    p.add_argument("--eta", type=float, default=0.01, help="Dynes broadening (Δ0); 0: unbroadened")
    p.add_argument("--mesh", type=int, default=4000, help="k mesh per direction (default 4000)")
    p.add_argument("--gap-mesh", type=int, default=1000,
                   help="k mesh of the self-consistent gap (default 1000)")
    p.add_argument("--emin", type=float, default=-10.0, help="lowest energy (Δ0)")
    p.add_argument("--emax", type=float, default=10.0, help="highest energy (Δ0)")
    p.add_argument("--n-energies", "--points", dest="n_energies", type=int, default=2001,
                   help="number of energies (default 2001; --points as in `mirage qc dos`)")
    p.set_defaults(func=_dos)

    p = sub.add_parser("gap", help="self-consistent clean gap Δ(B) at temperature T")
    add_physical(p, single_point=False)
    p.add_argument("--fields", default="0:6:25",
                   help="fields B (Δ0): 'start:stop:num' or comma list (default 0:6:25)")
    p.add_argument("--mesh", type=int, default=1000, help="k mesh per direction (default 1000)")
    p.add_argument("--cutoff", type=float, default=None,
                   help="pairing cutoff omega_c (Δ0; default 2/3 of E_F)")
    p.set_defaults(func=_gap)
