"""Options and outputs shared by ``mirage lattice josephson`` and ``mirage qc josephson``.

Both commands take the same physical options (energies in Δ0, angles in radians,
temperature in T_c0) and write the same two tables:

* ``--output FILE``: the Andreev bound states, one row per state and phase, columns
  ``phase,energy,spin_x,spin_y,spin_z`` (phase in rad, energy in Δ0, spin expectation of
  the state's electron part normalized to its electron weight), plus side-specific extra
  columns after these;
* ``--current FILE``: the current-phase relation, columns ``phase,current`` with the
  current as ``e I R_N / Δ0`` (units stated in the metadata), and in the metadata the
  critical currents ``I_c+ = max I``, ``I_c- = min I`` and the diode efficiency
  ``η = (I_c+ - |I_c-|) / (I_c+ + |I_c-|)`` on the phase grid.

``--self-consistent`` replaces ``--delta``: each side's own bulk gap Δ(B, T) at its field
and ``--temperature`` from that side's gap solver (lattice or quasiclassical); the bound
states then use the two gaps, and energies stay in Δ0 (the zero-field, zero-temperature
gap). Everything is checked before any computation (exit 2 naming the option, nothing
written); a side whose self-consistent gap vanishes is refused naming its field.
"""

import math

import numpy as np

from mirage_cli.options import check_output_file, integer, parse_values, real
from mirage_common.errors import ParameterError
from mirage_common.io import SUPPORTED_FORMATS, save_figure, write_table

__all__ = [
    "CURRENT_UNITS",
    "MAX_PHASES",
    "add_junction_options",
    "bisector",
    "check_outputs",
    "delta_from_args",
    "diode",
    "phases_from_args",
    "plot_junction",
    "polarization_axis",
    "write_bound_states",
    "write_current",
]

#: Largest number of phases of one run (each phase is a separate bound-state search).
MAX_PHASES = 4096
#: Angles and phases are refused beyond this magnitude (two full turns: a typo otherwise).
_MAX_ANGLE = 4 * math.pi
CURRENT_UNITS = ("e I R_N / Delta0: supercurrent times the junction's normal-state "
                 "resistance, in units of Delta0/e (KO at T=0: pi sin(phi/2))")


def add_junction_options(p, *, lattice):
    """The shared options; *lattice* selects ``--barrier``/``--length`` vs ``--transparency``."""
    p.add_argument("--beta", type=real(0), default=7.0,
                   help="Ising SOC (Δ0; default 7)")
    p.add_argument("--delta", type=real(0, low_open=True), default=None,
                   help="gap of both superconductors (Δ0; default 1 unless --self-consistent)")
    p.add_argument("--self-consistent", action="store_true",
                   help="each side's own bulk gap Δ(B, T) at its field and --temperature "
                        "(instead of --delta)")
    p.add_argument("--field-left", type=real(0), default=2.0,
                   help="in-plane Zeeman energy of the left superconductor (Δ0; default 2)")
    p.add_argument("--field-right", type=real(0), default=2.0,
                   help="in-plane Zeeman energy of the right superconductor (Δ0; default 2)")
    p.add_argument("--angle-left", type=real(-_MAX_ANGLE, _MAX_ANGLE), default=0.0,
                   help="left field angle from x (radians, |angle| <= 4 pi; default 0)")
    p.add_argument("--angle-right", type=real(-_MAX_ANGLE, _MAX_ANGLE), default=math.pi / 2,
                   help="right field angle from x (radians; default pi/2)")
    if lattice:
        p.add_argument("--length", type=integer(0, 2000), default=0,
                       help="normal rows between the superconductors (lattice constants; "
                            "0 = short junction, default 0)")
        p.add_argument("--barrier", type=real(0, 100), default=0.0,
                       help="barrier potential on the interface row (t; default 0: transparent)")
    else:
        p.add_argument("--length", type=real(0, 1000), default=0.0,
                       help="length of a clean normal region along the channel, in units of "
                            "hbar v_F / Δ0 (one channel: normal incidence; default 0 = short "
                            "junction)")
        p.add_argument("--transparency", type=real(0, 1, low_open=True), default=1.0,
                       help="normal-state transmission per channel, 0 < tau <= 1 (default 1)")
    p.add_argument("--polarization", type=real(-1, 1, low_open=True, high_open=True),
                   default=0.0,
                   help="spin polarization p of the barrier, potential U(1 + p n·σ), -1 < p < 1 "
                        "(default 0; no effect without a barrier)")
    p.add_argument("--polarization-axis", default="0,0",
                   help="direction n of the polarization as THETA,PHI (polar and azimuthal "
                        "angle, radians; default 0,0 = z)")
    p.add_argument("--temperature", type=real(0, 1, low_open=True, high_open=True), default=0.1,
                   help="temperature T/T_c0 in (0, 1) of the current (default 0.1)")
    p.add_argument("--phase", default="-3.141592653589793:3.141592653589793:33",
                   help="phase differences START:STOP:NUM, a comma list or one value (radians; "
                        "a negative first value needs --phase=...; default -pi:pi:33)")
    p.add_argument("--output", "-o", default=None,
                   help="bound states (.csv, .json or .npz): phase,energy,spin_x,spin_y,spin_z")
    p.add_argument("--current", default=None,
                   help="current-phase relation (.csv, .json or .npz): phase,current")
    p.add_argument("--plot", default=None,
                   help="PNG: E(phi) coloured by the spin along the field bisector, and I(phi)")


def delta_from_args(args):
    """The given gap (Δ0), 1 by default; ``--delta`` with ``--self-consistent`` is refused.

    With ``--self-consistent`` the returned 1.0 only stands in for validating the other
    options; the command then solves each side's gap.
    """
    if args.self_consistent and args.delta is not None:
        raise ParameterError("delta", "give either --delta or --self-consistent, not both")
    return 1.0 if args.delta is None else float(args.delta)


def phases_from_args(args):
    """The phase grid, checked (``|phase| <= 4 pi``, at most `MAX_PHASES` values)."""
    return parse_values("phase", args.phase, low=-_MAX_ANGLE, high=_MAX_ANGLE,
                       max_count=MAX_PHASES)


def polarization_axis(args):
    """The unit vector n from ``--polarization-axis THETA,PHI`` (checked, `ParameterError`)."""
    parts = str(args.polarization_axis).split(",")
    try:
        theta, phi = (float(x) for x in parts)
    except ValueError:
        raise ParameterError("polarization-axis", "expected THETA,PHI (two numbers, radians), "
                             f"got {args.polarization_axis!r}") from None
    if not all(math.isfinite(x) and abs(x) <= _MAX_ANGLE for x in (theta, phi)):
        raise ParameterError("polarization-axis", "angles must be finite with |angle| <= 4 pi, "
                             f"got {args.polarization_axis!r}")
    return (math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta))


def check_outputs(args):
    """At least one output; each writable with a supported extension (before any work)."""
    ldos = getattr(args, "ldos", None)  # lattice only
    if args.output is None and args.current is None and args.plot is None and ldos is None:
        raise ParameterError("output", "give --output, --current or --plot (nothing to write)")
    for option in ("output", "current"):
        path = getattr(args, option)
        if path is not None:
            check_output_file(option, path, SUPPORTED_FORMATS)
    if args.plot is not None:
        check_output_file("plot", args.plot, (".png",))
    paths = [p for p in (args.output, args.current, args.plot) if p is not None]
    if len(set(paths)) != len(paths):
        raise ParameterError("current", "--output, --current and --plot must be different files")


def bisector(args):
    """Unit vector (3,) along the bisector of the two field directions (x if antiparallel)."""
    v = np.array([math.cos(args.angle_left) + math.cos(args.angle_right),
                  math.sin(args.angle_left) + math.sin(args.angle_right), 0.0])
    norm = np.linalg.norm(v)
    return v / norm if norm > 1e-12 else np.array([1.0, 0.0, 0.0])


def diode(current):
    """``(I_c+, I_c-, η)`` of a sampled current-phase relation (any units)."""
    current = np.asarray(current, float)
    plus, minus = float(np.max(current)), float(np.min(current))
    denom = plus + abs(minus)
    eta = (plus - abs(minus)) / denom if denom > 0 else 0.0
    return plus, minus, eta


def write_bound_states(path, phase, energy, spin, meta, extra=None):
    """Bound-state table: ``phase,energy,spin_x,spin_y,spin_z`` (+ *extra* columns)."""
    cols = {"phase": phase, "energy": energy, "spin_x": spin[:, 0], "spin_y": spin[:, 1],
            "spin_z": spin[:, 2], **(extra or {})}
    write_table(path, cols, {**meta, "units": "phase in rad, energy in Delta0, spin "
                             "expectation of the electron part (normalized to its weight)"})


def write_current(path, phase, current, meta):
    """Current table ``phase,current`` with the units and the diode figures in the metadata."""
    plus, minus, eta = diode(current)
    write_table(path, {"phase": phase, "current": current},
                {**meta, "units": CURRENT_UNITS, "critical_current_plus": plus,
                 "critical_current_minus": minus, "diode_efficiency": eta})


def plot_junction(path, title, states, currents):
    """E(φ) coloured by the spin along the bisector, and I(φ); PNG written atomically.

    Parameters
    ----------
    states : tuple (phase, energy, spin_bisector) or None
    currents : tuple (phase, current) or None
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    if states is not None:
        phase, energy, spin = states
        lim = max(1e-3, float(np.max(np.abs(spin))) if len(spin) else 1.0)
        sc = axes[0].scatter(phase, energy, c=spin, cmap="coolwarm", vmin=-lim, vmax=lim, s=8)
        fig.colorbar(sc, ax=axes[0], label=r"$\langle\sigma\cdot n_{bis}\rangle$ (electron part)")
    axes[0].set_xlabel(r"phase difference $\varphi$ (rad)")
    axes[0].set_ylabel(r"bound-state energy $E$ ($\Delta_0$)")
    if currents is not None:
        axes[1].plot(*currents, "k.-")
    axes[1].axhline(0, color="0.7", lw=0.5)
    axes[1].set_xlabel(r"phase difference $\varphi$ (rad)")
    axes[1].set_ylabel(r"$e I R_N / \Delta_0$")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, 130, tight=False)
    plt.close(fig)
