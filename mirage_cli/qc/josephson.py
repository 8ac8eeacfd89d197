"""``mirage qc josephson``: Josephson junction between Ising superconductors.

The quasiclassical junction of `quasiclassical.josephson` (bulk Eilenberger solutions of
each side matched at a barrier of transparency tau; short, or with a clean normal region of
``--length`` along one channel, in units of hbar v_F / Delta0). Example::

    mirage qc josephson --beta 7 --field-left 2 --field-right 2 --angle-right 1.5708 \\
        --transparency 1 --phase -3.1416:3.1416:65 --output abs.csv --current cpr.csv

``--output``: bound states of both valleys, one row per state and phase, columns
``phase,energy,spin_x,spin_y,spin_z,valley`` (`mirage_cli.junction_options`);
``--current``: ``e I R_N / Delta0`` (valley average) from the Matsubara sum.
``--self-consistent``: each side's clean bulk gap from `quasiclassical.gap.solve_gap` at
its own field and ``--temperature`` (instead of ``--delta``).
"""

import dataclasses

from mirage_cli.junction_options import (
    add_junction_options,
    bisector,
    check_outputs,
    delta_from_args,
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
    delta = delta_from_args(args)
    params = qj.JunctionParams(beta=args.beta, delta=delta, field_left=args.field_left,
                               field_right=args.field_right, angle_left=args.angle_left,
                               angle_right=args.angle_right, transparency=args.transparency,
                               temperature=args.temperature, polarization=args.polarization,
                               polarization_axis=axis, length=args.length)
    gap_meta = {"delta_source": "given (--delta)"}
    if args.self_consistent:
        # A side whose gap vanishes is refused (ParameterError naming its field).
        d_left, d_right = qj.self_consistent_gaps(args.beta, args.field_left, args.field_right,
                                                  args.temperature)
        params = dataclasses.replace(params, delta=d_left, delta_right=d_right)
        gap_meta = {"delta_source": "self-consistent (quasiclassical.gap.solve_gap, clean) at "
                                    "each side's field and --temperature"}
    meta = {"beta_delta0": args.beta, **gap_meta, "delta_delta0": params.delta,
            "delta_left_delta0": params.delta, "delta_right_delta0": params.gap_right,
            "field_left_delta0": args.field_left, "field_right_delta0": args.field_right,
            "angle_left_rad": args.angle_left, "angle_right_rad": args.angle_right,
            "transparency": args.transparency, "temperature_tc0": args.temperature,
            "length_hbar_vF_over_delta0": args.length,
            "polarization": args.polarization, "polarization_axis": axis,
            "conventions": ("short junction" if args.length == 0 else
                            "one channel with a normal region of the given length (along the "
                            "channel, hbar v_F/Delta0)")
                           + ", phase on the right gap (Delta_R = Delta e^{i phi}); "
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
        plot_junction(args.plot, f"quasiclassical junction, L = {args.length:g} hbar v_F/Delta0, "
                      f"tau = {args.transparency:g}, "
                      f"angles {args.angle_left:.3g}, {args.angle_right:.3g} rad",
                      states, currents)
    summary = []
    if args.self_consistent:
        summary.append(f"Delta_L = {params.delta:.5g}, Delta_R = {params.gap_right:.5g} (Delta0)")
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
                       help="Josephson junction (short, or one channel of length L): Andreev "
                            "bound states with spin, "
                            "current-phase relation, diode efficiency",
                       description=__doc__.split("\n\n")[0])
    add_junction_options(p, lattice=False)
    p.set_defaults(func=_run)
