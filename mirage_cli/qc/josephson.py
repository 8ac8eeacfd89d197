"""``mirage qc josephson``: short Josephson junction between Ising superconductors.

The quasiclassical short junction of `quasiclassical.josephson` (bulk Eilenberger
solutions of each side matched at a barrier of transparency tau). Example::

    mirage qc josephson --beta 7 --field-left 2 --field-right 2 --angle-right 1.5708 \\
        --transparency 1 --phase -3.1416:3.1416:65 --output abs.csv --current cpr.csv

``--output``: bound states of both valleys, one row per state and phase, columns
``phase,energy,spin_x,spin_y,spin_z,valley`` (`mirage_cli.junction_options`);
``--current``: ``e I R_N / Delta0`` (valley average) from the Matsubara sum.
"""

from mirage_cli.junction_options import (
    add_junction_options,
    bisector,
    check_outputs,
    diode,
    phases_from_args,
    plot_junction,
    polarization_axis,
    write_bound_states,
    write_current,
)

__all__ = ["add_subcommands"]


def _run(args):
    from quasiclassical import josephson as qj

    check_outputs(args)
    phases = phases_from_args(args)
    axis = polarization_axis(args)
    params = qj.JunctionParams(beta=args.beta, delta=args.delta, field_left=args.field_left,
                               field_right=args.field_right, angle_left=args.angle_left,
                               angle_right=args.angle_right, transparency=args.transparency,
                               temperature=args.temperature, polarization=args.polarization,
                               polarization_axis=axis)
    meta = {"beta_delta0": args.beta, "delta_delta0": args.delta,
            "field_left_delta0": args.field_left, "field_right_delta0": args.field_right,
            "angle_left_rad": args.angle_left, "angle_right_rad": args.angle_right,
            "transparency": args.transparency, "temperature_tc0": args.temperature,
            "polarization": args.polarization, "polarization_axis": axis,
            "conventions": "short junction, phase on the right gap (Delta_R = Delta e^{i phi}); "
                           "quasiclassical.josephson"}
    states = currents = None
    if args.output is not None or args.plot is not None:
        bs = qj.bound_states(params, phases)
        states = (bs.phase, bs.energy, bs.spin @ bisector(args))
        if args.output is not None:
            write_bound_states(args.output, bs.phase, bs.energy, bs.spin, meta,
                               {"valley": bs.valley})
    if args.current is not None or args.plot is not None:
        cur = qj.current_phase(params, phases)
        currents = (phases, cur)
        if args.current is not None:
            write_current(args.current, phases, cur, meta)
    if args.plot is not None:
        plot_junction(args.plot, f"quasiclassical short junction, tau = {args.transparency:g}, "
                      f"angles {args.angle_left:.3g}, {args.angle_right:.3g} rad",
                      states, currents)
    summary = []
    if states is not None:
        summary.append(f"{len(states[0])} bound states")
    if currents is not None:
        plus, minus, eta = diode(currents[1])
        summary.append(f"I_c+ = {plus:.5g}, I_c- = {minus:.5g} (e I R_N/Delta0), eta = {eta:.3g}")
    print("; ".join(summary))
    return 0


def add_subcommands(sub):
    """Register ``josephson`` on the ``mirage qc`` subparsers *sub*."""
    p = sub.add_parser("josephson",
                       help="short Josephson junction: Andreev bound states with spin, "
                            "current-phase relation, diode efficiency",
                       description=__doc__.split("\n\n")[0])
    add_junction_options(p, lattice=False)
    p.set_defaults(func=_run)
