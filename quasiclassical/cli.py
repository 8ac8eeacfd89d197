"""``mirage qc``: the quasiclassical side of the command line.

Subcommands (energies in Delta0, temperatures in T_c0)::

    mirage qc dos --beta 7 --field 2 --temperature 0.1 --gamma 0 --eta 0.01 \\
                  --emin -12 --emax 12 --points 4001 --output dos.csv [--delta X] [--phi 0]
    mirage qc gap --beta 7 --field 0:6:25 --temperature 0.1 --gamma 0 --output gap.csv
    mirage qc bc2 --beta 7 --gamma 0 --temperature 0.05:1:20 --output bc2.csv
    mirage qc tunneling ...   (quasiclassical.tunneling_cli: dI/dV, reduced or physical units)

Ranges are ``START:STOP:NUM`` (NUM evenly spaced values including both ends) or a single
number. The output format follows the extension (.csv, .json, .npz); the parameters and
derived numbers are written beside the data. Every input is validated before anything
is computed or written; a bad value raises `ParameterError` (exit code 2, no file).
"""

import math
import sys
from pathlib import Path

import numpy as np

from mirage_common.errors import ParameterError, check_finite
from mirage_common.io import SUPPORTED_FORMATS, write_table
from quasiclassical.gap import critical_field_line, solve_gap
from quasiclassical.observables import check_energy_resolution, density_of_states
from quasiclassical.params import QCParams

__all__ = ["add_parser", "parse_range"]

_GAUGE_NOTE = (
    "anomalous components f0, fx, fy, fz in the gauge of the paper's Eq. (1) with a real "
    "Delta, f = i f_Eq8 (see quasiclassical.eilenberger)"
)


def parse_range(name, text):
    """Parse ``START:STOP:NUM`` or a single number into a float array.

    Raises
    ------
    ParameterError
        Naming *name*, for anything else (NUM must be an integer >= 1, all finite).
    """
    parts = str(text).split(":")
    try:
        if len(parts) == 1:
            values = np.array([float(parts[0])])
        elif len(parts) == 3:
            num = int(parts[2])
            if num < 1:
                raise ValueError
            values = np.linspace(float(parts[0]), float(parts[1]), num)
        else:
            raise ValueError
    except ValueError:
        raise ParameterError(
            name, f"expected a number or START:STOP:NUM with an integer NUM >= 1, got {text!r}"
        ) from None
    check_finite(name, values)
    return values


def _check_output(path):
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        raise ParameterError(
            "output", f"unknown extension {suffix!r}; use one of {', '.join(SUPPORTED_FORMATS)}"
        )
    return path


def _common(parser, *, field=True, temperature=True):
    parser.add_argument("--beta", type=float, required=True, help="Ising SOC beta_so >= 0 (Delta0)")
    if field:
        parser.add_argument("--field", required=True, help="in-plane Zeeman energy B >= 0 (Delta0)")
    parser.add_argument("--phi", type=float, default=0.0, help="field angle from x (rad)")
    if temperature:
        parser.add_argument("--temperature", required=True, help="T / T_c0 > 0")
    parser.add_argument("--gamma", type=float, default=0.0,
                        help="impurity rate Gamma >= 0 of Sigma = -i Gamma <g> (Delta0)")
    parser.add_argument("--output", required=True, help="result file (.csv, .json or .npz)")


def add_parser(subparsers, name, help):
    """Register ``mirage qc`` and its subcommands ``dos``, ``gap``, ``bc2``."""
    parser = subparsers.add_parser(name, help=help, description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="qc_command", metavar="SUBCOMMAND")
    sub.required = True

    dos = sub.add_parser("dos", help="DOS and Green's-function components of both valleys")
    _common(dos)
    dos.add_argument("--eta", type=float, default=0.01, help="Dynes broadening eta >= 0 (Delta0)")
    dos.add_argument("--emin", type=float, default=-12.0, help="lowest energy (Delta0)")
    dos.add_argument("--emax", type=float, default=12.0, help="highest energy (Delta0)")
    dos.add_argument("--points", type=int, default=4001, help="number of energies")
    dos.add_argument("--delta", type=float, default=None,
                     help="fix the gap (Delta0) instead of solving the gap equation")
    dos.set_defaults(func=_run_dos)

    gap = sub.add_parser("gap", help="self-consistent gap against the field")
    _common(gap)
    gap.set_defaults(func=_run_gap)

    bc2 = sub.add_parser("bc2", help="in-plane upper critical field B_c2(T)")
    _common(bc2, field=False)
    bc2.set_defaults(func=_run_bc2)
    __import__("quasiclassical.tunneling_cli", fromlist=["_"]).add_subcommands(sub)  # tunneling
    return parser


def _single(name, text):
    values = parse_range(name, text)
    if values.size != 1:
        raise ParameterError(name, f"expected a single number here, got {text!r}")
    return float(values[0])


def _run_dos(args):
    _check_output(args.output)
    params = QCParams(
        beta=args.beta, field=_single("field", args.field), phi=args.phi,
        temperature=_single("temperature", args.temperature), gamma=args.gamma, eta=args.eta,
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
    if args.delta is not None:
        check_finite("delta", args.delta)
        if args.delta < 0:
            raise ParameterError("delta", f"must be >= 0, got {args.delta}")
    energies = np.linspace(args.emin, args.emax, args.points)
    if args.delta is None:
        gap = solve_gap(params)
        delta, source = gap.delta, "self-consistent"
    else:
        gap, delta, source = None, float(args.delta), "fixed (--delta)"
    check_energy_resolution(energies, params.beta, params.field, delta)
    result = density_of_states(energies, params, delta=delta)
    scba = result.scba
    columns = {"energy": energies, "dos": result.dos}
    for index, valley in ((0, "K"), (1, "Kp")):
        for comp, values in result.components.as_dict().items():
            columns[f"{comp}_{valley}"] = values[index]
    columns["scba_converged"] = scba.converged.astype(float)
    formula = result.mirage
    metadata = {
        "command": "mirage qc dos",
        "units": "energies in Delta0, temperature in T_c0",
        "parameters": params.as_dict(),
        "delta": delta,
        "delta_source": source,
        "gauge": _GAUGE_NOTE,
        "valleys": "K: +beta (s = +1), Kp: -beta (s = -1)",
        "mirage_formula": {
            "eps1": float(formula.eps1), "eps2": float(formula.eps2),
            "eps0": float(formula.eps0), "width": float(formula.width),
        },
        "scba": {
            "success": scba.success,
            "message": scba.message,
            "unconverged": int(np.count_nonzero(~scba.converged)),
            "max_iterations": int(scba.iterations.max()),
            "max_residual": float(scba.residual.max()),
        },
    }
    if gap is not None:
        metadata["gap_cutoff"] = gap.cutoff
    write_table(args.output, columns, metadata)
    if not scba.success:
        print(f"mirage qc dos: warning: {scba.message}", file=sys.stderr)
    return 0


def _run_gap(args):
    _check_output(args.output)
    fields = parse_range("field", args.field)
    temperature = _single("temperature", args.temperature)
    if np.any(fields < 0):
        raise ParameterError("field", f"must be >= 0, got {args.field!r}")
    params = QCParams(beta=args.beta, field=float(fields.max()), phi=args.phi,
                      temperature=temperature, gamma=args.gamma)
    sols = [solve_gap(params.replace(field=b), free_energies="always") for b in fields]
    columns = {
        "field": fields,
        "delta": np.array([s.delta for s in sols]),
        "free_energy": np.array([s.free_energy for s in sols]),
        "normal_state_stable": np.array([float(s.normal_state_stable) for s in sols]),
        "first_order_region": np.array([float(s.first_order_region) for s in sols]),
    }
    metadata = {
        "command": "mirage qc gap",
        "units": "energies in Delta0, temperature in T_c0, free energy in N0 Delta0^2",
        "parameters": {k: v for k, v in params.as_dict().items() if k != "field"},
        "free_energy": "(Omega_s - Omega_n)/(N0 Delta0^2) of the stable state",
        "cutoff": [s.cutoff for s in sols],
    }
    write_table(args.output, columns, metadata)
    return 0


def _run_bc2(args):
    _check_output(args.output)
    temps = parse_range("temperature", args.temperature)
    if np.any(temps <= 0):
        raise ParameterError("temperature", f"must be > 0, got {args.temperature!r}")
    params = QCParams(beta=args.beta, phi=args.phi, temperature=float(temps[0]), gamma=args.gamma)
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
        "pauli_limit": 1 / math.sqrt(2),
        "definition": "bc2: field where the stable gap vanishes (first-order branch followed "
                      "where there is one); spinodal: linearized gap equation h(0+) = 0",
    }
    write_table(args.output, columns, metadata)
    return 0
