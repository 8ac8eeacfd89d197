"""``mirage qc``: the quasiclassical side of the command line.

Subcommands (energies in Delta0, temperatures in T_c0)::

    mirage qc dos --beta 7 --field 2 --temperature 0.1 --gamma 0 --eta 0.01 \\
                  --emin -12 --emax 12 --points 4001 --output dos.csv [--phi 0]
    mirage qc dos --beta 7 --field 2 --delta 0.8 --gamma 5 --eta 0 --output dos.csv
    mirage qc gap --beta 7 --field 0:6:25 --temperature 0.1 --gamma 0 --output gap.csv
    mirage qc gap --beta 7 --field 2 --temperature 0.1 --gamma 0:2:9 --output gap.csv
    mirage qc bc2 --beta 7 --gamma 0 --temperature 0.05:1:20 --output bc2.csv
    mirage qc tunneling ...   (mirage_cli.qc.tunneling: dI/dV, reduced or physical units)
    mirage qc josephson ...   (mirage_cli.qc.josephson: short Josephson junction)

Value lists are ``START:STOP:NUM`` (NUM evenly spaced values including both ends), a comma
list ``a,b,c`` or a single number (`mirage_cli.options.parse_values`, as for every
command); ``qc gap`` sweeps whichever one of ``--field``, ``--temperature``, ``--gamma`` has
more than one value (at most one). The output format follows the extension (.csv, .json, .npz); the
parameters and derived numbers are written beside the data. Every input is validated
before anything is computed or written; a bad value raises `ParameterError` (exit code 2,
no file). ``qc dos`` also refuses, before solving anything, an energy grid too coarse for
the mirage gap as broadened by eta and Gamma (`energy_resolution_problem`; the
self-consistent gap is bounded by `DELTA_BOUND` there) unless ``--allow-unresolved``.

Unconverged SCBA (``qc dos``): the file is still written, with NaN in ``dos`` and every
component at the unconverged energies (``scba_converged`` = 0 there), the energies are
named on stderr, and the exit code is 3 (`EXIT_NOT_CONVERGED`).

``qc gap`` and ``qc bc2`` consider the uniform (q = 0) gap only: at small beta and
T < 0.56 T_c0 the true 2D transition is to a modulated (FFLO) state at a higher field,
which these commands do not compute.
"""

import math
import sys

import numpy as np

from mirage_cli.options import check_memory, check_output_file, integer, parse_values, real
from mirage_cli.qc import josephson, tunneling
from mirage_common.errors import ParameterError, check_finite
from mirage_common.io import SUPPORTED_FORMATS, write_table
from quasiclassical.gap import CUTOFF_FACTOR, critical_field_line, solve_gap
from quasiclassical.observables import (
    DELTA_BOUND,
    density_of_states,
    energy_resolution_problem,
)
from quasiclassical.params import QCParams, temperature_in_delta0

__all__ = ["EXIT_NOT_CONVERGED", "UNIFORM_GAP_NOTE", "add_parser"]

#: Exit code of ``mirage qc dos`` when the SCBA did not converge at some energy (the file is
#: written, with NaN there). 2 is bad input, 1 a failed validation check.
EXIT_NOT_CONVERGED = 3

#: The assumption behind ``qc gap`` and ``qc bc2``, written into their metadata.
UNIFORM_GAP_NOTE = (
    "uniform (q = 0) gap only: bc2 is the transition of the uniform state. At small beta "
    "and T < 0.56 T_c0 the true 2D upper critical field is that of a modulated FFLO state "
    "(finite q, higher than the uniform one), which is not computed here"
)

_GAUGE_NOTE = (
    "anomalous components f0, fx, fy, fz in the gauge of the paper's Eq. (1) with a real "
    "Delta, f = i f_Eq8 (see quasiclassical.eilenberger)"
)


def _check_output(path):
    return check_output_file("output", path, SUPPORTED_FORMATS)


# Peak memory of one gap solution per Matsubara frequency, an upper bound: the
# free-energy comparison (always in `qc gap`, near first-order transitions otherwise)
# dominates (measured: `qc gap` over B = 0..6 at beta = 7 used 0.77, 2.8 and 23.8 GB
# with 983, 1965 and 19650 frequencies; the gap equation alone ~55 kB per frequency).
_BYTES_PER_MATSUBARA = 1.5e6
# Peak memory per energy of `qc dos` (measured: 3 kB without, 13 kB with SCBA).
_BYTES_PER_ENERGY = 16e3


def _check_memory(option, params, *, solve=True, energies=0, rows=0):
    """Refuse a run that cannot fit in memory (estimate from the Matsubara count).

    *option* is blamed for the energies and the *rows* of a sweep (2 kB each kept);
    the Matsubara frequencies of the
    gap solution (``10 max(1, beta, B, Gamma) / (2 pi T)``) are blamed on
    ``temperature`` when they dominate.
    """
    nbytes = energies * _BYTES_PER_ENERGY + rows * 2e3
    what = [f"{energies} energies x {_BYTES_PER_ENERGY / 1e3:g} kB"] if energies else []
    what += [f"{rows} sweep points x 2 kB"] if rows else []
    if solve:
        scale = max(1.0, params.beta, params.field, params.gamma)
        # A float (may exceed any int at T -> 0): the estimate only.
        count = CUTOFF_FACTOR * scale / (2 * math.pi * float(temperature_in_delta0(
            params.temperature)))
        gap_bytes = max(count, 8) * _BYTES_PER_MATSUBARA
        if gap_bytes > nbytes:
            option = "temperature"
        nbytes += gap_bytes
        what.append(f"{count:.3g} Matsubara frequencies (10 max(1, beta, B, Gamma) / 2 pi T) "
                    f"x {_BYTES_PER_MATSUBARA / 1e6:g} MB for the gap")
    check_memory(option, nbytes, ", ".join(what))


def _common(parser, *, field=True, temperature=True, gamma_range=False):
    parser.add_argument("--beta", type=real(0), required=True,
                        help="Ising SOC beta_so >= 0 (Delta0)")
    if field:
        parser.add_argument("--field", required=True,
                            help="in-plane Zeeman energy B >= 0 (Delta0); qc gap: a value list "
                                 "START:STOP:NUM or a,b,c sweeps")
    parser.add_argument("--phi", type=real(), default=0.0, help="field angle from x (rad)")
    if temperature:
        optional = temperature == "optional"
        parser.add_argument("--temperature", required=not optional,
                            help="T / T_c0 > 0" + (" (enters only the gap equation: not "
                                                   "needed with --delta)" if optional else ""))
    parser.add_argument("--gamma", type=str if gamma_range else real(0), default=0.0,
                        help="impurity rate Gamma >= 0 of Sigma = -i Gamma <g> (Delta0)")
    parser.add_argument("--output", required=True, help="result file (.csv, .json or .npz)")


def add_parser(subparsers, name, help):
    """Register ``mirage qc`` and its subcommands ``dos``, ``gap``, ``bc2``."""
    parser = subparsers.add_parser(name, help=help, description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="qc_command", metavar="SUBCOMMAND")
    sub.required = True

    dos = sub.add_parser("dos", help="DOS and Green's-function components of both valleys")
    _common(dos, temperature="optional")
    dos.add_argument("--eta", type=real(0), default=0.01,
                     help="Dynes broadening eta >= 0 (Delta0)")
    dos.add_argument("--emin", type=real(), default=-12.0, help="lowest energy (Delta0)")
    dos.add_argument("--emax", type=real(), default=12.0, help="highest energy (Delta0)")
    dos.add_argument("--points", type=integer(2), default=4001, help="number of energies")
    dos.add_argument("--delta", type=real(0), default=None,
                     help="fix the gap (Delta0) instead of solving the gap equation "
                          "(--temperature is then not needed: it does not enter the DOS)")
    dos.add_argument("--allow-unresolved", action="store_true",
                     help="run even if the energy grid cannot resolve the broadened mirage "
                          "gap (warn)")
    dos.set_defaults(func=_run_dos)

    gap = sub.add_parser("gap", help="self-consistent uniform gap against field, temperature "
                                     "or Gamma (one of them a range)")
    _common(gap, gamma_range=True)
    gap.set_defaults(func=_run_gap)

    bc2 = sub.add_parser("bc2", help="in-plane upper critical field B_c2(T)")
    _common(bc2, field=False)
    bc2.set_defaults(func=_run_bc2)
    tunneling.add_subcommands(sub)
    josephson.add_subcommands(sub)
    return parser


def _single(name, text):
    values = parse_values(name, text)
    if values.size != 1:
        raise ParameterError(name, f"expected a single number here, got {text!r}")
    return float(values[0])


def _dos_inputs(args):
    """(`QCParams`, energies, the ``--temperature`` given or None): every option checked,
    the energy grid against the mirage gap's width included; nothing solved."""
    _check_output(args.output)
    if args.delta is not None:
        check_finite("delta", args.delta)
        if args.delta < 0:
            raise ParameterError("delta", f"must be >= 0, got {args.delta}")
    if args.temperature is None and args.delta is None:
        raise ParameterError("temperature", "is required unless --delta fixes the gap "
                                            "(it enters only through the gap equation)")
    temperature = None if args.temperature is None else _single("temperature", args.temperature)
    params = QCParams(
        beta=args.beta, field=_single("field", args.field), phi=args.phi,
        # The retarded DOS at a fixed gap does not depend on T: any valid placeholder.
        temperature=1.0 if temperature is None else temperature, gamma=args.gamma, eta=args.eta,
    )
    check_finite("emin", args.emin)
    check_finite("emax", args.emax)
    if not args.emin < args.emax:
        raise ParameterError("emax", f"must be > emin={args.emin}, got {args.emax}")
    if args.points < 2:
        raise ParameterError("points", f"must be >= 2, got {args.points}")
    if params.eta == 0 and params.gamma == 0:
        raise ParameterError(
            "eta", "must be > 0 on the real axis when gamma = 0 (no retarded branch otherwise)"
        )
    _check_memory("points", params, solve=args.delta is None, energies=args.points)
    energies = np.linspace(args.emin, args.emax, args.points)
    # Resolution, before anything is solved: a self-consistent gap is at most DELTA_BOUND
    # and the mirage gap only narrows with a smaller gap (re-checked after the solve).
    bound = DELTA_BOUND if args.delta is None else float(args.delta)
    _check_resolution(energies, params, bound, args.allow_unresolved)
    return params, energies, temperature


def _dos_table(result, temperature, source, resolution, gap):
    """Columns and metadata of ``qc dos``: NaN in the DOS and every component where the
    SCBA did not converge (``scba_converged`` = 0 there)."""
    scba = result.scba
    bad = ~scba.converged
    columns = {"energy": result.energies, "dos": np.where(bad, np.nan, result.dos)}
    for index, valley in ((0, "K"), (1, "Kp")):
        for comp, values in result.components.as_dict().items():
            columns[f"{comp}_{valley}"] = np.where(bad, np.nan, values[index])
    columns["scba_converged"] = scba.converged.astype(float)
    formula = result.mirage
    parameters = result.params.as_dict()
    if temperature is None:
        parameters["temperature"] = None
    metadata = {
        "command": "mirage qc dos",
        "units": "energies in Delta0, temperature in T_c0",
        "parameters": parameters,
        "delta": result.delta,
        "delta_source": source,
        "gauge": _GAUGE_NOTE,
        "valleys": "K: +beta (s = +1), Kp: -beta (s = -1)",
        "mirage_formula": {
            "eps0": float(formula.eps0), "width": float(formula.width),
            "eps1": float(formula.eps1), "eps2": float(formula.eps2),
        },
        "resolution": resolution or "resolved (or washed out by eta + Gamma)",
        "scba": {
            "success": scba.success,
            "message": scba.message,
            "unconverged": int(np.count_nonzero(bad)),
            "unconverged_values": "NaN in dos and the components",
            "max_iterations": int(scba.iterations.max()),
            "max_residual": float(scba.residual.max()),
        },
    }
    if gap is not None:
        metadata["gap_cutoff"] = gap.cutoff
    return columns, metadata


def _run_dos(args):
    """``qc dos``: check, solve the gap (unless ``--delta``), compute the DOS, write."""
    params, energies, temperature = _dos_inputs(args)
    if args.delta is None:
        gap = solve_gap(params)
        delta, source = gap.delta, "self-consistent"
    else:
        gap, delta, source = None, float(args.delta), "fixed (--delta)"
    resolution = energy_resolution_problem(energies, params.beta, params.field, delta,
                                           eta=params.eta, gamma=params.gamma)
    if resolution is not None and args.delta is None:
        print(f"mirage qc dos: warning: with the solved gap: {resolution}", file=sys.stderr)
    result = density_of_states(energies, params, delta=delta)
    columns, metadata = _dos_table(result, temperature, source, resolution, gap)
    write_table(args.output, columns, metadata)
    if not result.scba.success:
        print(f"mirage qc dos: error: {result.scba.message}; written as NaN to {args.output}",
              file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return 0


def _check_resolution(energies, params, delta, allow):
    problem = energy_resolution_problem(energies, params.beta, params.field, delta,
                                        eta=params.eta, gamma=params.gamma)
    if problem is None:
        return
    if not allow:
        raise ParameterError("points", f"{problem}; pass --allow-unresolved to run anyway")
    print(f"mirage qc dos: warning: {problem}", file=sys.stderr)


_SWEPT = ("field", "temperature", "gamma")


def _run_gap(args):
    _check_output(args.output)
    values = {name: parse_values(name, getattr(args, name)) for name in _SWEPT}
    ranges = [name for name in _SWEPT if values[name].size > 1]
    if len(ranges) > 1:
        raise ParameterError(ranges[1], f"only one of --field, --temperature, --gamma may be a "
                                        f"range; got ranges for {', '.join(ranges)}")
    swept = ranges[0] if ranges else "field"
    for name in _SWEPT:  # every value is validated before anything is solved
        bad = values[name] <= 0 if name == "temperature" else values[name] < 0
        if np.any(bad):
            bound = "> 0" if name == "temperature" else ">= 0"
            raise ParameterError(name, f"must be {bound}, got {getattr(args, name)!r}")
    fixed = {name: float(values[name][0]) for name in _SWEPT if name != swept}
    points = [QCParams(beta=args.beta, phi=args.phi, **fixed, **{swept: float(v)})
              for v in values[swept]]
    # The most demanding point of the sweep (highest field and Γ, lowest T) sets the memory.
    worst = QCParams(beta=args.beta, phi=args.phi, field=float(values["field"].max()),
                     temperature=float(values["temperature"].min()),
                     gamma=float(values["gamma"].max()))
    _check_memory(swept, worst, rows=values[swept].size)
    sols = [solve_gap(p, free_energies="always") for p in points]
    count = len(points)
    columns = {swept: values[swept]}
    columns.update({name: np.full(count, value) for name, value in fixed.items()})
    columns.update({
        "delta": np.array([s.delta for s in sols]),
        "free_energy": np.array([s.free_energy for s in sols]),
        "normal_state_stable": np.array([float(s.normal_state_stable) for s in sols]),
        "first_order_region": np.array([float(s.first_order_region) for s in sols]),
    })
    metadata = {
        "command": "mirage qc gap",
        "units": "energies in Delta0, temperature in T_c0, free energy in N0 Delta0^2",
        "swept": swept,
        "parameters": {k: v for k, v in points[0].as_dict().items() if k not in (swept, "eta")},
        "free_energy": "(Omega_s - Omega_n)/(N0 Delta0^2) of the stable state",
        "assumption": UNIFORM_GAP_NOTE,
        "cutoff": [s.cutoff for s in sols],
    }
    write_table(args.output, columns, metadata)
    return 0


def _run_bc2(args):
    _check_output(args.output)
    temps = parse_values("temperature", args.temperature)
    if np.any(temps <= 0):
        raise ParameterError("temperature", f"must be > 0, got {args.temperature!r}")
    params = QCParams(beta=args.beta, phi=args.phi, temperature=float(temps[0]), gamma=args.gamma)
    # The lowest temperature has the most Matsubara frequencies; B_c2 < 1e2 scales the rest.
    _check_memory("temperature", params.replace(temperature=float(temps.min())),
                  rows=temps.size)
    lines = critical_field_line(temps, params)
    columns = {
        "temperature": temps,
        "bc2": np.array([c.field for c in lines]),
        "spinodal": np.array([c.spinodal for c in lines]),
        "first_order": np.array([float(c.order == "first") for c in lines]),
        "delta_jump": np.array([c.delta_jump for c in lines]),
    }
    metadata = {
        "command": "mirage qc bc2",
        "units": "energies in Delta0, temperature in T_c0",
        "parameters": {k: v for k, v in params.as_dict().items()
                       if k not in ("field", "temperature", "eta")},
        "assumption": UNIFORM_GAP_NOTE,
        "pauli_limit": 1 / math.sqrt(2),
        "pauli_limit_note": "Clogston-Chandrasekhar field Delta0/sqrt(2) of the uniform state "
                            "(beta = 0, T = 0); an FFLO state exceeds it",
        "definition": "bc2: field where the stable uniform gap vanishes (first-order branch "
                      "followed where there is one); spinodal: linearized gap equation "
                      "h(0+) = 0 at q = 0",
    }
    write_table(args.output, columns, metadata)
    return 0
