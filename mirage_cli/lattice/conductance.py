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

The command parses and checks the options, converts the units, calls the library
function `latticemirage.conductance.conductance_map` (grid, gap, junction, smearing,
table and metadata) and writes the table (atomically) and the figure.
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

_MAX_ANGLE = 4 * math.pi  # |angle| beyond two turns is a typo


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

    *curves*: one dict of columns (`latticemirage.conductance.COLUMNS`, on *energies*)
    per field, or per magnetization angle if *angles* (polar angles, rad) are given:
    then the map is the equal-spin Andreev reflection vs (V, θ).
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


def _checked_inputs(args):
    """Every option checked and converted to reduced units; nothing computed.

    Returns
    -------
    args : argparse.Namespace
        In reduced units (`_to_reduced`).
    phys : latticemirage.mapping.PhysicalParameters
        At the first field; ``delta=None`` with ``--self-consistent``.
    fields : ndarray
        Δ0.
    directions : list of (theta, phi) or None
        From ``--exchange-angle``.
    scale, material, fields_T
        Of ``--units physical`` (None otherwise).
    """
    from latticemirage import plots

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
    positive_int("n-k", args.n_k)
    positive_int("workers", args.workers)
    if args.self_consistent:
        positive_int("gap-mesh", args.gap_mesh)
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
    # Stricter than the library's 2 E_F: both spins of the lead keep a Fermi surface.
    if abs(args.exchange) >= phys.e_fermi * phys.delta0:
        raise ParameterError("exchange", f"|H| must stay below E_F = {phys.e_fermi * phys.delta0:g}"
                             f" t (the pocket depth: both spins keep a Fermi surface), got "
                             f"{args.exchange!r} t")
    directions = _exchange_directions(args)
    return args, phys, fields, directions, scale, material, fields_T


def _in_physical_units(result, phys, scale, material, fields_T):
    """The table and metadata of *result* with ``field_T``, ``bias_mV`` and the scale."""
    n_curves, wanted = len(result.curves), result.energies
    cols = {"field_T": np.repeat(np.resize(fields_T, n_curves), len(wanted)),
            "bias_mV": np.tile(scale.energy_to_meV(wanted), n_curves), **result.columns}
    meta = dict(result.metadata)
    meta.update(physical_metadata(
        scale, material, "field_T: tesla, bias_mV: mV (the bias eV = energy); field, "
        "energy and delta also in reduced units (Delta0)"))
    meta["parameters_physical"] = {
        "beta_so_meV": float(scale.energy_to_meV(phys.beta)),
        "temperature_K": float(scale.temperature_to_K(phys.temperature)),
        "delta_meV": scale.energy_to_meV(result.deltas).tolist(),
        "fields_T": [float(b) for b in fields_T],
        "mirage_eps0_meV": scale.energy_to_meV(meta["mirage_eps0_delta0"]).tolist(),
    }
    return cols, meta


def _conductance(args):
    """Parse and check, compute `latticemirage.conductance.conductance_map`, write."""
    from latticemirage.conductance import conductance_map

    args, phys, fields, directions, scale, material, fields_T = _checked_inputs(args)
    executor = None if args.workers == 1 else process_pool(args.workers)
    # The library's parameter names -> the options the user typed.
    sweep_fields = option_named("directions", "exchange-angle",
                                "an angle sweep needs a single --field")
    empty_shell = option_named("mesh", "gap-mesh", f"the {args.gap_mesh} x {args.gap_mesh} k "
                               "mesh holds no k point in the pairing shell; increase --gap-mesh")
    try:
        with sweep_fields, empty_shell:
            result = conductance_map(
                phys, fields, emin=args.emin, emax=args.emax, points=args.points,
                gap_mesh=args.gap_mesh, barrier=args.barrier,
                barrier_rows=args.barrier_rows, spin_axis=args.spin_axis,
                directions=directions, exchange=args.exchange, n_k=args.n_k,
                solver=args.solver, executor=executor, workers=args.workers,
                check=check_estimate)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    cols, meta = result.columns, result.metadata
    if scale is not None:
        cols, meta = _in_physical_units(result, phys, scale, material, fields_T)
    write_table(args.output, cols, meta)
    if args.plot is not None:
        _plot(args.plot, result.energies, result.curves, fields, len(fields) > 1, scale,
              result.thetas)
    print(f"wrote {args.output} ({len(result.curves)} curve(s) x {len(result.energies)} "
          f"energies, mean normal transmission {result.mean_transmission:.4g})")
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
