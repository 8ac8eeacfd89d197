"""Command-line options shared by the ``mirage lattice`` subcommands.

Physical parameters are given in units of Δ0 (temperatures in T_c0); disorder
strengths in the hopping t. Each helper raises `ParameterError` naming the option
the user typed. Imported by the subcommand modules, never importing them, so the
CLI package has no import cycle.
"""

from pathlib import Path

import numpy as np

from mirage_common.errors import ParameterError
from mirage_common.io import SUPPORTED_FORMATS

__all__ = ["add_disorder_arguments", "add_physical", "check_output", "disorder_from_args",
           "parse_values", "physical_from_args", "positive_int"]


def add_physical(p, *, delta_default=None, delta_help=None, single_point=True,
                 temperature_default=0.1,
                 temperature_help="temperature (T_c0) for the self-consistent gap (default 0.1)"):
    p.add_argument("--beta", type=float, default=7.0,
                   help="Ising SOC, Fermi-surface average (Δ0; default 7)")
    if single_point:
        p.add_argument("--field", type=float, default=2.0,
                       help="in-plane Zeeman energy B (Δ0; default 2)")
        p.add_argument("--delta", type=float, default=delta_default,
                       help=delta_help or "gap Δ (Δ0); omit to solve it self-consistently")
    p.add_argument("--temperature", type=float, default=temperature_default,
                   help=temperature_help)
    p.add_argument("--phi", type=float, default=0.0, help="field angle from x (radians)")
    p.add_argument("--e-fermi", type=float, default=None,
                   help="pocket depth E_F (Δ0; default latticemirage.mapping.DEFAULT_E_FERMI)")
    p.add_argument("--delta0-t", type=float, default=None,
                   help="the scale Δ0 in units of t (default latticemirage.mapping.DEFAULT_DELTA0)")
    p.add_argument("--output", "-o", required=True, help="result file (.csv, .json or .npz)")


def physical_from_args(args, **overrides):
    """`PhysicalParameters` from the physical options a command has, plus *overrides*.

    Options a command lacks (``--field``, ``--delta``, ``--temperature``, ``--phi``,
    ``--e-fermi``, ``--delta0-t``) keep the `PhysicalParameters` defaults.
    """
    from latticemirage.mapping import PhysicalParameters

    kwargs = {"beta": args.beta}
    for name in ("field", "delta", "temperature", "phi"):
        if hasattr(args, name):
            kwargs[name] = getattr(args, name)
    if getattr(args, "e_fermi", None) is not None:
        kwargs["e_fermi"] = args.e_fermi
    if getattr(args, "delta0_t", None) is not None:
        kwargs["delta0"] = args.delta0_t
    kwargs.update(overrides)
    return PhysicalParameters(**kwargs)


def parse_values(text, name):
    """Values of option *name* from ``'start:stop:num'`` (linspace) or a comma list."""
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            num = int(num)
            if num < 1:
                raise ValueError
            return np.linspace(float(start), float(stop), num)
        return np.array([float(x) for x in text.split(",")])
    except ValueError:
        raise ParameterError(
            name, f"expected 'start:stop:num' or a comma-separated list, got {text!r}"
        ) from None


def check_output(path):
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        raise ParameterError("output", f"unknown extension {suffix!r}; use one of "
                             f"{', '.join(SUPPORTED_FORMATS)}")
    return path


def positive_int(name, value):
    if int(value) != value or value < 1:
        raise ParameterError(name, f"must be a positive integer, got {value!r}")
    return int(value)


def add_disorder_arguments(parser):
    """The ``--kind`` group shared by ``disorder`` and ``rates`` (lattice units)."""
    g = parser.add_argument_group("disorder (lattice units)")
    g.add_argument("--kind", choices=("point", "anderson", "smooth"))
    g.add_argument("--concentration", type=float, help="point: impurity probability per site")
    g.add_argument("--strength", type=float, help="point: impurity potential V (t)")
    g.add_argument("--width", type=float, help="anderson: box width W (t)")
    g.add_argument("--amplitude", type=float, help="smooth: rms potential (t)")
    g.add_argument("--correlation-length", type=float, help="smooth: Gaussian length (a)")


def disorder_from_args(args):
    """The disorder kind of the ``--kind`` group (validated; `ParameterError` otherwise)."""
    from latticemirage import disorder as dis

    need = {"point": ("concentration", "strength"), "anderson": ("width",),
            "smooth": ("amplitude", "correlation_length")}
    if args.kind is None:
        raise ParameterError("kind", "is required (point, anderson or smooth)")
    for name in need[args.kind]:
        if getattr(args, name) is None:
            raise ParameterError(name.replace("_", "-"), f"is required for --kind {args.kind}")
    for kind, names in need.items():
        for name in names:
            if kind != args.kind and getattr(args, name) is not None:
                raise ParameterError(name.replace("_", "-"),
                                     f"does not apply to --kind {args.kind}")
    if args.kind == "point":
        return dis.PointImpurities(args.concentration, args.strength)
    if args.kind == "anderson":
        return dis.AndersonDisorder(args.width)
    return dis.SmoothDisorder(args.amplitude, args.correlation_length)
