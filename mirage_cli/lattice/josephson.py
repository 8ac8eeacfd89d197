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
``--self-consistent``: each lead's gap from the lattice gap solver (`latticemirage.gap`,
k mesh ``--gap-mesh``) at its own field and ``--temperature``. ``--ldos FILE``: the
spin-resolved electron local DOS of the interface row vs phase and energy
(`latticemirage.josephson.junction_ldos`; ``--ldos-energy START:STOP:NUM`` in Δ0,
broadening ``--ldos-eta`` in Δ0).
"""

import dataclasses
import math

import numpy as np

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
from mirage_cli.lattice.options import (
    MAX_MESH,
    add_mapping_scales,
    check_memory,
    integer,
    note_time,
    physical_from_args,
    real,
)
from mirage_cli.options import check_output_file, parse_range
from mirage_common.errors import ParameterError
from mirage_common.io import SUPPORTED_FORMATS, write_table

__all__ = ["add_subcommands"]

_MAX_LDOS_POINTS = 100_000  # phases x energies of --ldos (each a dense solve per k)

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
    delta = delta_from_args(args)
    top = max(args.field_left, args.field_right)
    # The mapping's own limits (β, B small against E_F; Δ against E_F) name the option.
    try:
        phys = physical_from_args(args, field=top, delta=delta, phi=0.0)
    except ParameterError as exc:
        if exc.name == "field":
            which = "field-left" if args.field_left >= args.field_right else "field-right"
            raise ParameterError(which, str(exc).split(": ", 1)[1]) from None
        raise
    params = lj.SNSParams(delta=delta, field_left=args.field_left,
                          field_right=args.field_right, angle_left=args.angle_left,
                          angle_right=args.angle_right, length=args.length,
                          barrier=args.barrier, temperature=args.temperature,
                          polarization=args.polarization, polarization_axis=axis)
    ldos_energies = _ldos_energies(args, phys)
    n = 4 * PERIOD * (1 + args.length)
    points = max(_FREQUENCIES, 400)
    check_memory("length", _MATRICES * points * n * n * 16,
                 f"{_MATRICES} x {points} dense {n}x{n} complex matrices")
    from latticemirage.estimates import josephson_seconds

    states_wanted = args.output is not None or args.plot is not None
    current_wanted = args.current is not None or args.plot is not None
    note_time(josephson_seconds(len(phases), args.n_k, states=states_wanted,
                                current=current_wanted),
              f"{len(phases)} phases, {args.n_k} k; measured per phase and k, "
              "latticemirage.estimates")
    if not abs(args.k_x) <= math.pi:
        raise ParameterError("k-x", f"must lie in [-pi, pi], got {args.k_x!r}")
    mapping = map_to_lattice(phys)
    kmax = k_window(mapping, 0.0)
    gap_meta = {"delta_source": "given (--delta)"}
    if args.self_consistent:
        # A side whose gap vanishes is refused (ParameterError naming its field).
        d_left, d_right, _ = lj.self_consistent_gaps(mapping, args.field_left, args.field_right,
                                                     args.temperature, mesh=args.gap_mesh)
        params = dataclasses.replace(params, delta=d_left, delta_right=d_right)
        gap_meta = {"delta_source": "self-consistent (latticemirage.gap) at each side's field "
                                    "and --temperature", "gap_mesh": args.gap_mesh}
    meta = {**mapping.report(), **gap_meta, "delta_delta0": params.delta,
            "delta_left_delta0": params.delta, "delta_right_delta0": params.gap_right,
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
    if args.ldos is not None:
        res = lj.junction_ldos(mapping, params, phases, ldos_energies, n_k=args.n_k,
                               eta=args.ldos_eta)
        write_table(args.ldos, {
            "phase": np.repeat(res.phase, len(res.energy)),
            "energy": np.tile(res.energy, len(res.phase)),
            "ldos": res.ldos.ravel(), "spin_x": res.spin[..., 0].ravel(),
            "spin_y": res.spin[..., 1].ravel(), "spin_z": res.spin[..., 2].ravel()},
            {**meta, "units": "phase in rad; energy in Delta0; ldos and spin_a per site of the "
                              "interface row in units of the normal-state DOS 2 N_0 (both spins)",
             "definition": "ldos = -(1/pi) Im Tr[G^R P_e], spin_a = -(1/pi) Im Tr[G^R P_e "
                           "sigma_a] on the interface (barrier) row, k_x-averaged over n_k "
                           "momenta, at E + i eta", "eta_delta0": res.eta, "n_k": args.n_k})
    if args.plot is not None:
        plot_junction(args.plot, f"lattice S-N-S, angles {args.angle_left:.3g}, "
                      f"{args.angle_right:.3g} rad", states, currents)
    summary = []
    if args.self_consistent:
        summary.append(f"Δ_L = {params.delta:.5g}, Δ_R = {params.gap_right:.5g} (Δ0)")
    if args.ldos is not None:
        summary.append(f"LDOS {len(phases)} x {len(ldos_energies)} -> {args.ldos}")
    if states is not None:
        summary.append(f"{len(states[0])} bound states")
    if currents is not None:
        plus, minus, eta = diode(currents[1])
        summary.append(f"I_c+ = {plus:.5g}, I_c- = {minus:.5g} (e I R_N/Δ0), η = {eta:.3g}")
    print("; ".join(summary))
    return 0


def _ldos_energies(args, phys):
    """Energies (Δ0) of ``--ldos``, checked before any work (None without ``--ldos``)."""
    if args.ldos is None:
        return None
    check_output_file("ldos", args.ldos, SUPPORTED_FORMATS)
    if args.ldos in (args.output, args.current, args.plot):
        raise ParameterError("ldos", "--ldos must be a file of its own")
    limit = 0.5 * phys.e_fermi
    energies = parse_range("ldos-energy", args.ldos_energy, low=-limit, high=limit)
    if not math.isfinite(args.ldos_eta) or not args.ldos_eta > 0:
        raise ParameterError("ldos-eta", f"must be > 0 (Δ0), got {args.ldos_eta!r}")
    count = len(energies) * len(phases_from_args(args))
    if count > _MAX_LDOS_POINTS:
        raise ParameterError("ldos-energy", f"phases x energies = {count} exceeds "
                             f"{_MAX_LDOS_POINTS}")
    return energies


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
                   help="transverse momenta of the current and the LDOS (default 16)")
    p.add_argument("--gap-mesh", type=integer(1, MAX_MESH), default=1000,
                   help="k mesh of the self-consistent gap (default 1000)")
    p.add_argument("--ldos", default=None,
                   help="spin-resolved electron LDOS of the interface row vs phase and energy "
                        "(.csv, .json or .npz): phase,energy,ldos,spin_x,spin_y,spin_z")
    p.add_argument("--ldos-energy", default="-1.5:1.5:61",
                   help="LDOS energies START:STOP:NUM (Δ0; default -1.5:1.5:61; a negative START "
                        "needs --ldos-energy=...)")
    p.add_argument("--ldos-eta", type=real(0, low_open=True), default=0.02,
                   help="LDOS broadening E + i eta (Δ0; default 0.02)")
    add_mapping_scales(p)
    p.set_defaults(func=_run)
