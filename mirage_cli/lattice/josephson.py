"""``mirage lattice josephson``: Andreev bound states and current of an S-(I)-N-S junction.

Two Ising superconductors (the model's own value functions, `latticemirage.josephson`)
with in-plane fields at angles, a normal region of ``--length`` rows and a barrier of
``--barrier`` (t) on the interface row; the phase sits on the right gap. Example::

    mirage lattice josephson --beta 7 --field-left 2 --field-right 2 --angle-right 1.5708 \\
        --phase -3.1416:3.1416:33 --output abs.csv --current cpr.csv --plot j.png

``--output``: bound states at one transverse momentum ``--k-x`` (default 0: normal
incidence, both valleys), one row per state and phase (`mirage_cli.junction_options`);
``--current``: ``e I R_N / Δ0`` summed over ``--n-k`` transverse momenta (midpoint rule
over the window holding the Fermi surface), Matsubara sum with exact superconducting leads.
"""

import math

import numpy as np

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
from mirage_cli.lattice.options import (
    add_mapping_scales,
    check_memory,
    integer,
    physical_from_args,
    real,
)
from mirage_common.errors import ParameterError

__all__ = ["add_subcommands"]

# Dense complex matrices held per (frequency or energy) and k: ~8 of size n x n.
_MATRICES = 8
_FREQUENCIES = 140  # explicit Matsubara terms at T >= 0.05 T_c0 plus 64 tail nodes, about


def _run(args):
    from latticemirage import josephson as lj
    from latticemirage.mapping import map_to_lattice
    from latticemirage.transport import PERIOD, k_window

    check_outputs(args)
    phases = phases_from_args(args)
    axis = polarization_axis(args)
    top = max(args.field_left, args.field_right)
    # The mapping's own limits (β, B small against E_F; Δ against E_F) name the option.
    try:
        phys = physical_from_args(args, field=top, delta=args.delta, phi=0.0)
    except ParameterError as exc:
        if exc.name == "field":
            which = "field-left" if args.field_left >= args.field_right else "field-right"
            raise ParameterError(which, str(exc).split(": ", 1)[1]) from None
        raise
    params = lj.SNSParams(delta=args.delta, field_left=args.field_left,
                          field_right=args.field_right, angle_left=args.angle_left,
                          angle_right=args.angle_right, length=args.length,
                          barrier=args.barrier, temperature=args.temperature,
                          polarization=args.polarization, polarization_axis=axis)
    n = 4 * PERIOD * (1 + args.length)
    points = max(_FREQUENCIES, 400)
    check_memory("length", _MATRICES * points * n * n * 16,
                 f"{_MATRICES} x {points} dense {n}x{n} complex matrices")
    mapping = map_to_lattice(phys)
    kmax = k_window(mapping, 0.0)
    if not abs(args.k_x) <= math.pi:
        raise ParameterError("k-x", f"must lie in [-pi, pi], got {args.k_x!r}")
    meta = {**mapping.report(), "delta_delta0": args.delta,
            "field_left_delta0": args.field_left, "field_right_delta0": args.field_right,
            "angle_left_rad": args.angle_left, "angle_right_rad": args.angle_right,
            "length_rows": args.length, "barrier_t": args.barrier,
            "temperature_tc0": args.temperature,
            "polarization": args.polarization, "polarization_axis": axis, "period_a": PERIOD,
            "conventions": "phase on the right gap (Delta_R = Delta e^{i phi}); exact "
                           "superconducting leads (latticemirage.josephson)"}
    states = currents = None
    if args.output is not None or args.plot is not None:
        bs = lj.bound_states(mapping, params, args.k_x, phases)
        states = (bs.phase, bs.energy, bs.spin @ bisector(args))
        if args.output is not None:
            write_bound_states(args.output, bs.phase, bs.energy, bs.spin,
                               {**meta, "k_x": args.k_x, "search_window_delta0": bs.gap},
                               {"electron_weight": bs.electron_weight})
    if args.current is not None or args.plot is not None:
        ks = kmax * (2 * (np.arange(args.n_k) + 0.5) / args.n_k - 1)
        res = lj.current_phase(mapping, params, phases, ks)
        currents = (res.phase, res.current)
        if args.current is not None:
            write_current(args.current, res.phase, res.current,
                          {**meta, "k_points": ks, "normal_transmission_mean": res.transmission,
                           "dF_dphi_per_period_t": res.dfdphi, "method": res.method})
    if args.plot is not None:
        plot_junction(args.plot, f"lattice S-N-S, angles {args.angle_left:.3g}, "
                      f"{args.angle_right:.3g} rad", states, currents)
    summary = []
    if states is not None:
        summary.append(f"{len(states[0])} bound states")
    if currents is not None:
        plus, minus, eta = diode(currents[1])
        summary.append(f"I_c+ = {plus:.5g}, I_c- = {minus:.5g} (e I R_N/Δ0), η = {eta:.3g}")
    print("; ".join(summary))
    return 0


def add_subcommands(sub):
    """Register ``josephson`` on the ``mirage lattice`` subparsers *sub*."""
    p = sub.add_parser(
        "josephson",
        help="Josephson junction between Ising superconductors: Andreev bound states with "
             "spin, current-phase relation, diode efficiency (exact superconducting leads)")
    add_junction_options(p, lattice=True)
    p.add_argument("--k-x", type=real(-math.pi, math.pi), default=0.0,
                   help="folded transverse momentum of the bound-state spectrum (default 0)")
    p.add_argument("--n-k", type=integer(1, 4096), default=16,
                   help="transverse momenta of the current (default 16)")
    add_mapping_scales(p)
    p.set_defaults(func=_run)
