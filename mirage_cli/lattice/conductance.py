"""``mirage lattice conductance``: tunneling/Andreev conductance of an NS junction.

Energies, gap, Ising field and Zeeman field in Δ0; temperature in T_c0 (thermal smearing
of the conductance); barrier and exchange field in t (the lattice hopping). A
ferromagnetic normal lead: ``--exchange H`` (t, ``|H| < E_F``, the pocket depth, so that
both spins keep a Fermi surface) along ``--exchange-angle THETA,PHI`` (radians: polar
angle from z, out of plane, and azimuth from x, along the interface; THETA may be a
sweep ``start:stop:num`` at one field, then one curve per angle); the spin-resolved
columns are along that direction. With ``--units physical`` (`mirage_cli.unit_options`,
the same options as ``mirage qc tunneling``): ``--beta`` and ``--delta`` in meV,
``--field`` in tesla (sweeps too), ``--temperature`` in kelvin, ``--emin/--emax`` in mV,
with the scale from ``--tc-K`` or ``--delta0-meV``, ``--g-factor`` or a ``--material``
preset; they are converted to the reduced units by `mirage_common.units.PhysicalScale`
before anything else, the table gains ``bias_mV`` and ``field_T`` beside ``energy`` and
``field``, and the metadata state the scale and the preset. The junction is
`latticemirage.transport.ns_junction`; every result file carries the lattice parameters,
the measured normal-state transmission per mode and the conventions.
Bad input raises `ParameterError` before any computation (exit 2, nothing written).
"""

import argparse
import math

import numpy as np

from mirage_cli.lattice.options import (
    MAX_MESH,
    add_physical,
    check_estimate,
    check_output,
    integer,
    option_named,
    parse_values,
    physical_from_args,
    positive_int,
    real,
)
from mirage_cli.unit_options import (
    add_unit_options,
    note_material,
    physical_metadata,
    refuse_physical_options,
    scale_from_args,
)
from mirage_common.errors import ParameterError
from mirage_common.io import save_figure, write_table
from mirage_common.parallel import process_pool

__all__ = ["add_subcommands"]

_COLUMNS = ("conductance", "normal_reflection", "andreev_opposite_spin", "andreev_equal_spin")
_MAX_ANGLE = 4 * math.pi  # |angle| beyond two turns is a typo
_THERMAL_PAD = 10.0  # pad the computed window by this many k_B T (tail weight e^-10)
_STEP_KT = 0.25  # finite T: compute on a grid of step <= k_B T / 4 (see _energy_grid)


def _energy_grid(args, temperature_delta0, e_limit, check=None):
    """Requested energies and the grid the zero-temperature conductance is computed on.

    At T = 0 the two are the same. At T > 0 the curve is computed on a finer grid
    (step <= k_B T / 4) padded by 10 k_B T and offset by half a step from the
    window edge, smeared there, and interpolated to the requested energies: the
    zero-temperature coherence peaks are integrable singularities (and exactly at
    a gap edge the tunnel-limit conductance is the BTK resonance 2/τ), which a
    coarse grid that happens to sample them (e.g. E = Δ on a 0.05 grid) would
    overweight. In the validate BCS control the smeared L1 error was 0.029 with
    step k_B T/2 and 0.0125 with k_B T/4.

    *check*, if given, is called as ``check(n_grid, option)`` with the size of the
    computed grid and the option that sets it, before any array is made (the memory
    estimate: a tiny ``--temperature`` means a very fine grid).
    """
    from latticemirage.estimates import conductance_grid_size

    n = positive_int("points", args.points)
    if not args.emax > args.emin:
        raise ParameterError("emax", f"must exceed emin = {args.emin!r}, got {args.emax!r}")
    if n < 2:
        raise ParameterError("points", "need at least 2 energies")
    pad = _THERMAL_PAD * temperature_delta0
    if max(abs(args.emin - pad), abs(args.emax + pad)) >= e_limit:
        raise ParameterError("emax", f"|E| (with the thermal padding of {_THERMAL_PAD:g} k_B T) "
                             f"must stay below E_F/2 = {e_limit:g} Δ0")
    n_grid, option = conductance_grid_size(args.emin, args.emax, n, temperature_delta0,
                                           step_kt=_STEP_KT, pad_kt=_THERMAL_PAD)
    if check is not None:
        check(n_grid, option)
    wanted = np.linspace(args.emin, args.emax, n)
    if temperature_delta0 > 0:
        step = min(wanted[1] - wanted[0], _STEP_KT * temperature_delta0)
        lo = args.emin - pad
        hi = args.emax + pad
        grid = lo + step * (np.arange(math.ceil((hi - lo) / step)) + 0.5)
    else:
        grid = wanted
    if np.abs(grid).max() >= e_limit:
        raise ParameterError("emax", f"|E| (with the thermal padding of {_THERMAL_PAD:g} k_B T) "
                             f"must stay below E_F/2 = {e_limit:g} Δ0")
    return wanted, grid


def _to_reduced(args):
    """(args in reduced units, `PhysicalScale` or None, `Material` or None, fields in T or None).

    Reduced units: *args* unchanged (``--beta`` defaults to 7 Δ0). Physical units:
    a copy whose ``beta``, ``delta`` (meV), ``field`` (tesla), ``temperature`` (K),
    ``emin``/``emax`` (mV) are converted to Δ0, Δ0, Δ0, T_c0, Δ0; the field becomes the
    comma list of the converted values (exact: ``repr`` of the floats). Bad input
    raises `ParameterError` naming the option typed, before any computation.
    """
    if args.units != "physical":
        refuse_physical_options(args)
        if args.beta is None:
            args.beta = 7.0
        return args, None, None, None
    scale, material = scale_from_args(args)
    red = argparse.Namespace(**vars(args))
    beta = args.beta if args.beta is not None else (
        material.beta_so_meV if material is not None else None)
    if beta is None:
        raise ParameterError("beta", "required (meV) unless --material gives it")
    if beta < 0:
        raise ParameterError("beta", f"must be >= 0 (meV), got {beta!r}")
    red.beta = float(scale.energy_to_reduced(beta, name="beta"))
    if args.delta is not None:
        red.delta = float(scale.energy_to_reduced(args.delta, name="delta"))
    fields_T = parse_values("field", args.field)
    red.field = ",".join(repr(float(b)) for b in scale.field_to_reduced(fields_T, name="field"))
    if args.temperature < 0 or not math.isfinite(args.temperature):
        raise ParameterError("temperature", f"must be >= 0 (K), got {args.temperature!r}")
    red.temperature = float(args.temperature) / scale.tc_K
    red.emin = float(scale.energy_to_reduced(args.emin, name="emin"))
    red.emax = float(scale.energy_to_reduced(args.emax, name="emax"))
    return red, scale, material, fields_T


def _exchange_directions(args):
    """``[(theta, phi), ...]`` from ``--exchange-angle THETA,PHI`` (THETA may be a sweep), or None.

    Checked before any work: two parts, finite, ``|angle| <= 4 pi``; not together with
    an explicit ``--spin-axis`` (both set the lead's axis).
    """
    if args.exchange_angle is None:
        return None
    if args.spin_axis is not None:
        raise ParameterError("exchange-angle", "sets the spin axis of the lead: give either "
                             "--exchange-angle or --spin-axis, not both")
    text = str(args.exchange_angle)
    parts = text.rsplit(",", 1)
    if len(parts) != 2:
        raise ParameterError("exchange-angle", "expected THETA,PHI (radians; THETA may be "
                             f"start:stop:num), got {text!r}")
    from mirage_cli.options import parse_range

    thetas = parse_range("exchange-angle", parts[0], low=-_MAX_ANGLE, high=_MAX_ANGLE)
    phis = parse_range("exchange-angle", parts[1], low=-_MAX_ANGLE, high=_MAX_ANGLE)
    if len(phis) != 1:
        raise ParameterError("exchange-angle", f"PHI must be one value, got {parts[1]!r}")
    return [(float(t), float(phis[0])) for t in thetas]


def _plot(path, energies, curves, fields, sweep, scale=None, angles=None):
    """dI/dV(V) with its parts, or the dI/dV(V, B) map of a sweep; PNG written atomically.

    *curves*: one dict of columns (`_COLUMNS`, on *energies*) per field, or per
    magnetization angle if *angles* (polar angles, rad) are given: then the map is the
    equal-spin Andreev reflection vs (V, θ).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if scale is not None:
        energies, fields = scale.energy_to_meV(energies), scale.field_to_tesla(fields)
        xlabel, ylabel, funit = "bias V (mV)", "in-plane field B (T)", "T"
    else:
        xlabel, ylabel = r"bias $eV$ ($\Delta_0$)", r"in-plane Zeeman energy $B$ ($\Delta_0$)"
        funit = r"$\Delta_0$"
    if angles is not None and len(angles) > 1:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        a = np.array([c["andreev_equal_spin"] for c in curves])
        mesh = ax.pcolormesh(energies, angles, a, shading="nearest", cmap="magma")
        fig.colorbar(mesh, ax=ax, label="equal-spin Andreev reflection per mode")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"magnetization polar angle $\theta$ (rad)")
        ax.set_title("lattice F/S junction: equal-spin Andreev reflection")
    elif sweep:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        g = np.array([c["conductance"] for c in curves])
        mesh = ax.pcolormesh(energies, fields, g, shading="nearest", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=r"$dI/dV \;/\; (dI/dV)_N$")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title("lattice NS junction: dI/dV(V, B)")
    else:
        c = curves[0]
        fig, (ax, ax2) = plt.subplots(2, 1, figsize=(6, 6), sharex=True)
        ax.plot(energies, c["conductance"], "k")
        ax.set_ylabel(r"$G_{NS}/G_N$")
        ax.set_title(f"lattice NS junction, B = {fields[0]:.4g} {funit}")
        ax2.plot(energies, c["normal_reflection"], label="normal reflection")
        ax2.plot(energies, c["andreev_opposite_spin"], label="Andreev, opposite spin")
        ax2.plot(energies, c["andreev_equal_spin"], label="Andreev, equal spin")
        ax2.set_ylabel("probability per incident mode")
        ax2.set_xlabel(xlabel)
        ax2.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, 130, tight=False)
    plt.close(fig)


def _conductance(args):
    from latticemirage import estimates, plots, transport
    from latticemirage.mapping import map_to_lattice, tc0_over_delta0

    check_output(args.output)
    plots.check_png_path("plot", args.plot)
    args, scale, material, fields_T = _to_reduced(args)
    # Before the model's own limits: a preset outside them is then refused with its reason.
    note_material("mirage lattice conductance", material)
    fields = parse_values("field", args.field)
    if np.any(fields < 0) or not np.all(np.isfinite(fields)):
        raise ParameterError("field", f"must be finite and >= 0, got {args.field!r}")
    if args.temperature < 0 or not math.isfinite(args.temperature):
        raise ParameterError("temperature", f"must be >= 0 (T_c0), got {args.temperature!r}")
    if args.self_consistent and args.delta is not None:
        raise ParameterError("delta", "give either --delta or --self-consistent, not both")
    delta_given = 1.0 if args.delta is None and not args.self_consistent else args.delta
    if args.barrier < 0 or not math.isfinite(args.barrier):
        raise ParameterError("barrier", f"must be >= 0 (t), got {args.barrier!r}")
    n_k = positive_int("n-k", args.n_k)
    workers = positive_int("workers", args.workers)
    try:
        for b in fields:  # every field against the mapping's limits, before any work
            physical_from_args(args, field=float(b), delta=delta_given)
    except ParameterError as exc:
        if scale is None or exc.name not in ("beta", "field", "delta"):
            raise
        # The limits are stated in Δ0; say what that is in the units the user typed.
        raise ParameterError(exc.name, f"{str(exc).split(': ', 1)[1]} (in units of Δ0 = "
                             f"{scale.delta0_meV:.4g} meV; fields: 1 Δ0 = "
                             f"{scale.tesla_per_reduced_field:.4g} T)") from None
    phys = physical_from_args(args, field=float(fields[0]), delta=delta_given)
    t_delta0 = args.temperature * tc0_over_delta0()
    if abs(args.exchange) >= phys.e_fermi * phys.delta0:
        raise ParameterError("exchange", f"|H| must stay below E_F = {phys.e_fermi * phys.delta0:g}"
                             f" t (the pocket depth: both spins keep a Fermi surface), got "
                             f"{args.exchange!r} t")
    directions = _exchange_directions(args)
    if directions is not None and len(directions) > 1 and len(fields) > 1:
        raise ParameterError("exchange-angle", "an angle sweep needs a single --field")
    if directions is None:
        axes = [transport.spin_axis_vector(args.spin_axis or "z", phys.phi)]
    else:
        axes = [transport.exchange_axis(t, p) for t, p in directions]

    def check_size(n_grid, option):  # before the grid, the junction or any solve is made
        est = estimates.conductance(
            n_grid, n_k, len(fields) * len(axes), args.barrier_rows, workers=workers,
            smeared=t_delta0 > 0, energy_option=option,
            gap_mesh=args.gap_mesh if args.self_consistent else None)
        check_estimate(est)

    wanted, grid = _energy_grid(args, t_delta0, 0.5 * phys.e_fermi, check_size)
    transport.ns_junction(args.barrier_rows, axes[0])  # validates --barrier-rows
    mapping = map_to_lattice(phys)
    # Refuse a barrier that transmits nothing (before the real computation).
    transport.check_transmission(mapping, barrier=args.barrier, barrier_rows=args.barrier_rows,
                                 spin_axis=axes[0], exchange=args.exchange,
                                 solver=args.solver)
    gap_meta = {"delta_source": "given"}
    if args.self_consistent:
        from latticemirage.gap import GapSolver

        gap_mesh = positive_int("gap-mesh", args.gap_mesh)
        with option_named("mesh", "gap-mesh", f"the {gap_mesh} x {gap_mesh} k mesh holds no "
                                              "k point in the pairing shell; increase "
                                              "--gap-mesh"):
            solver = GapSolver.build(mapping, mesh=gap_mesh)
        gaps = solver.curve(fields, temperature=args.temperature)
        if not all(g.converged for g in gaps):
            raise RuntimeError(f"self-consistent gap did not converge: {gaps}")
        deltas = np.array([g.delta for g in gaps])
        gap_meta = {"delta_source": "self-consistent (latticemirage.gap) at --temperature",
                    "gap_mesh": solver.mesh}
    else:
        deltas = np.full(len(fields), delta_given)
    executor = None if workers == 1 else process_pool(workers)
    try:
        # One run per lead axis (one unless --exchange-angle sweeps θ; then one field).
        results = [r for axis in axes for r in transport.ns_conductance(
            mapping, grid, delta=deltas, fields=fields, barrier=args.barrier,
            barrier_rows=args.barrier_rows, spin_axis=axis, exchange=args.exchange,
            n_k=n_k, solver=args.solver, executor=executor)]
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    if t_delta0 > 0:
        results = [transport.thermally_smeared(r, t_delta0) for r in results]

    def keep(values):  # the computed grid -> the requested energies
        return values if grid is wanted else np.interp(wanted, grid, values)

    row_fields = np.array([r.field for r in results])
    cols = {"field": np.repeat(row_fields, len(wanted)),
            "energy": np.tile(wanted, len(results)),
            "delta": np.repeat([r.delta for r in results], len(wanted))}
    if directions is not None:
        cols["exchange_theta"] = np.repeat([d[0] for d in directions], len(wanted))
        cols["exchange_phi"] = np.repeat([d[1] for d in directions], len(wanted))
    for name in _COLUMNS:
        cols[name] = np.concatenate([keep(getattr(r, name)) for r in results])
    for name in ("andreev_equal_spin", "andreev_opposite_spin"):
        for j, sign in enumerate(("plus", "minus")):
            cols[f"{name}_{sign}"] = np.concatenate(
                [keep(getattr(r, f"{name}_by_spin")[:, j]) for r in results])
    transmissions = []
    for r in results:
        per_mode = [[float(x) for x in row if np.isfinite(x)] for row in r.transmission_modes]
        flat = np.array([x for row in per_mode for x in row])
        transmissions.append({
            "field_delta0": r.field,
            "reference_energy_delta0": r.reference_energy,
            "mean": float(flat.mean()) if flat.size else 0.0,
            "per_mode": per_mode,
            "mean_vs_energy_range": [float(keep(r.normal_transmission).min()),
                                     float(keep(r.normal_transmission).max())],
        })
    from kwant.solvers import default as default_solver

    from mirage_common.formulas import mirage_formula

    formula = mirage_formula(phys.beta, fields, deltas)
    meta = {
        **mapping.report(),
        **gap_meta,
        "delta_delta0": deltas,
        "fields_delta0": fields,
        "temperature_tc0": args.temperature,
        "temperature_delta0": t_delta0,
        "barrier_t": args.barrier,
        "barrier_rows": args.barrier_rows,
        "spin_axis": [list(a) for a in axes] if len(axes) > 1 else list(axes[0]),
        "exchange_t": args.exchange,
        "exchange_angle_rad": None if directions is None else {
            "theta": [d[0] for d in directions], "phi": directions[0][1],
            "convention": "theta: polar angle from z (out of plane); phi: azimuth from x "
                          "(along the interface); transport along (1/2, sqrt(3)/2)"},
        "n_k": n_k,
        "computed_energies": {"points": len(grid), "step_delta0": float(grid[1] - grid[0]),
                              "range_delta0": [float(grid[0]), float(grid[-1])],
                              "note": "T > 0: computed on this grid, smeared, interpolated"},
        "k_points": results[0].k_points,
        "period_a": transport.PERIOD,
        "solver": args.solver if args.solver != "default"
        else f"default ({default_solver.smodule.__name__})",
        "kwant_default_solver": default_solver.smodule.__name__,
        "normal_transmission": transmissions if len(results) > 1 else transmissions[0],
        "mirage_eps0_delta0": formula.eps0,
        "mirage_width_delta0": formula.width,
        "units": "energy, field in Delta0; conductance G_NS/G_N; reflections per incident "
                 "electron mode; exchange in t; exchange_theta, exchange_phi in rad",
        "conventions": (
            "G_NS = sum_k (N - R_ee + R_he), normalized by the same junction at Delta = 0; "
            "spin resolved along spin_axis of the normal lead: plus/minus = incident spin "
            "+n/-n; equal spin = hole of the same spin as the incident electron (pair "
            "+n+n), opposite = pair +n-n; finite temperature: each current contribution "
            "convolved with -df/dE"),
    }
    if scale is not None:
        cols = {"field_T": np.repeat(np.resize(fields_T, len(results)), len(wanted)),
                "bias_mV": np.tile(scale.energy_to_meV(wanted), len(results)), **cols}
        meta.update(physical_metadata(
            scale, material, "field_T: tesla, bias_mV: mV (the bias eV = energy); field, "
            "energy and delta also in reduced units (Delta0)"))
        meta["parameters_physical"] = {
            "beta_so_meV": float(scale.energy_to_meV(phys.beta)),
            "temperature_K": float(scale.temperature_to_K(args.temperature)),
            "delta_meV": scale.energy_to_meV(deltas).tolist(),
            "fields_T": [float(b) for b in fields_T],
            "mirage_eps0_meV": scale.energy_to_meV(formula.eps0).tolist(),
        }
    write_table(args.output, cols, meta)
    if args.plot is not None:
        curves = [{name: keep(getattr(r, name)) for name in _COLUMNS} for r in results]
        _plot(args.plot, wanted, curves, fields, len(fields) > 1, scale,
              None if directions is None else [d[0] for d in directions])
    print(f"wrote {args.output} ({len(results)} curve(s) x {len(wanted)} energies, "
          f"mean normal transmission {transmissions[0]['mean']:.4g})")
    return 0


def add_subcommands(sub):
    """Register ``conductance`` on the ``mirage lattice`` subparsers *sub*."""
    p = sub.add_parser(
        "conductance",
        help="NS-junction dI/dV: Andreev conductance G_NS/G_N with normal, opposite- and "
             "equal-spin Andreev reflection (Kwant scattering matrix)")
    add_physical(p, single_point=False, temperature_default=0.0,
                 temperature_help="temperature (T_c0, or K) of the thermal smearing (default 0)")
    p.add_argument("--field", default="2",
                   help="in-plane Zeeman energy B (Δ0; tesla with --units physical): a value, "
                        "or a sweep 'start:stop:num' / comma list (then a dI/dV(V, B) map; "
                        "default 2)")
    p.add_argument("--delta", type=real(0), default=None,
                   help="gap Δ (Δ0, or meV) at every field (default Δ0 unless --self-consistent)")
    p.add_argument("--self-consistent", action="store_true",
                   help="solve Δ(B, T) per field with the lattice gap solver at --temperature")
    p.add_argument("--gap-mesh", type=integer(1, MAX_MESH), default=1000,
                   help="k mesh of the self-consistent gap (default 1000)")
    p.add_argument("--barrier", type=real(0), default=3.0,
                   help="barrier height H on the barrier rows (t; default 3: tunnel limit, "
                        "normal transmission ≈ 0.04 per mode)")
    p.add_argument("--barrier-rows", type=integer(1), default=1,
                   help="rows of the barrier (default 1)")
    p.add_argument("--spin-axis", choices=("z", "x", "y", "field"), default=None,
                   help="spin quantization axis of the normal lead (default z; or set it "
                        "with --exchange-angle)")
    p.add_argument("--exchange", type=real(), default=0.0,
                   help="exchange field H of a ferromagnetic normal lead along its spin axis "
                        "(t, the lattice hopping; |H| < E_F, the pocket depth; default 0)")
    p.add_argument("--exchange-angle", default=None, metavar="THETA,PHI",
                   help="direction of the exchange field and spin axis of the lead: polar angle "
                        "from z (out of plane) and azimuth from x (along the interface), "
                        "radians; THETA may be a sweep start:stop:num at one field (a negative "
                        "start needs --exchange-angle=...)")
    p.add_argument("--emin", type=real(), default=-10.0, help="lowest bias energy (Δ0, or mV)")
    p.add_argument("--emax", type=real(), default=10.0, help="highest bias energy (Δ0, or mV)")
    p.add_argument("--points", type=integer(2), default=401,
                   help="number of energies (default 401)")
    p.add_argument("--n-k", type=integer(1), default=48,
                   help="transverse momenta (default 48)")
    p.add_argument("--solver", choices=("batched", "default", "mumps", "sparse"),
                   default="batched",
                   help="batched: Green's functions of the Kwant matrices vectorized over "
                        "energies (default, ~100x faster); default/mumps/sparse: kwant.smatrix "
                        "with Kwant's default (MUMPS when built with it), MUMPS or SciPy")
    p.add_argument("--workers", type=integer(1), default=1,
                   help="processes over transverse momenta (default 1)")
    p.add_argument("--plot", default=None, help="also draw a PNG (a dI/dV(V, B) map for a sweep)")
    add_unit_options(p)
    # --beta: 7 Δ0 in reduced units; in physical units meV, default the preset's.
    p.set_defaults(func=_conductance, beta=None)
