"""Command-line options shared by the ``mirage lattice`` subcommands.

Physical parameters are given in units of Δ0 (temperatures in T_c0); disorder
strengths in the hopping t. Each helper raises `ParameterError` naming the option
the user typed. Imported by the subcommand modules, never importing them, so the
CLI package has no import cycle.
"""

import contextlib

import numpy as np

from mirage_cli.options import (
    check_distinct_outputs,
    check_memory,
    check_output_file,
    integer,
    note_time,
    parse_values,
    real,
)
from mirage_common.errors import ParameterError
from mirage_common.io import SUPPORTED_FORMATS

__all__ = [
    "MAX_MESH",
    "add_disorder_arguments",
    "add_mapping_scales",
    "add_physical",
    "check_distinct_outputs",
    "check_estimate",
    "check_green_window",
    "check_memory",
    "check_output",
    "check_smooth_size",
    "disorder_from_args",
    "integer",
    "note_time",
    "option_named",
    "parse_values",
    "physical_from_args",
    "positive_int",
    "real",
    "refuse_zero_disorder",
]

#: Largest k mesh per direction: 1e10 k points, hours of work and far finer than any
#: energy scale of the model needs (the default meshes are 1000 and 4000).
MAX_MESH = 100_000


def add_mapping_scales(p):
    """``--e-fermi`` and ``--delta0-t``, with the mapping's defaults shown as numbers."""
    from latticemirage.mapping import DEFAULT_DELTA0, DEFAULT_E_FERMI

    p.add_argument("--e-fermi", type=real(0, low_open=True), default=None,
                   help=f"pocket depth E_F (Δ0; default {DEFAULT_E_FERMI:g})")
    p.add_argument("--delta0-t", type=real(0, low_open=True), default=None,
                   help=f"the scale Δ0 in units of t (default {DEFAULT_DELTA0:g})")


def add_physical(p, *, delta_default=None, delta_help=None, single_point=True,
                 temperature_default=0.1,
                 temperature_help="temperature (T_c0) for the self-consistent gap (default 0.1)"):
    """The physical options (Δ0 units) and ``--output`` of the clean lattice commands."""
    p.add_argument("--beta", type=real(0), default=7.0,
                   help="Ising SOC, Fermi-surface average (Δ0; default 7)")
    if single_point:
        p.add_argument("--field", type=real(0), default=2.0,
                       help="in-plane Zeeman energy B (Δ0; default 2)")
        p.add_argument("--delta", type=real(0), default=delta_default,
                       help=delta_help or "gap Δ (Δ0); omit to solve it self-consistently")
    p.add_argument("--temperature", type=real(0), default=temperature_default,
                   help=temperature_help)
    p.add_argument("--phi", type=real(), default=0.0, help="field angle from x (radians)")
    add_mapping_scales(p)
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
    try:
        return PhysicalParameters(**kwargs)
    except ParameterError as exc:
        # E_F in t is e_fermi * delta0: blame the one of the two the user typed.
        if exc.name == "e_fermi" and "e_fermi" not in kwargs and "delta0" in kwargs:
            raise ParameterError("delta0-t", str(exc).split(": ", 1)[1]) from None
        raise


def check_estimate(estimate):
    """Refuse a run whose `latticemirage.estimates.Estimate` exceeds the memory (naming its
    option, ``--memory-limit`` overrides); say how long it takes when that is long."""
    check_memory(estimate.option, estimate.nbytes, estimate.what)
    note_time(estimate.seconds, "from measured per-unit figures, latticemirage.estimates")


@contextlib.contextmanager
def option_named(internal, option, message=None):
    """Within the block, a `ParameterError` about the library's *internal* name is re-raised
    naming the *option* the user typed (``mesh`` of the gap solver -> ``gap-mesh``), with
    *message* instead of the library's (which speaks of its own parameter)."""
    try:
        yield
    except ParameterError as exc:
        if exc.name != internal:
            raise
        raise ParameterError(option, message or str(exc).split(": ", 1)[1]) from None


def check_green_window(phys, energies, *, eta, delta,
                       hint="lower |E|, raise --e-fermi, or pass --no-components", **kwargs):
    """`latticemirage.green.check_inputs` for ``--emin/--emax``, naming them, not ``xi_cut``.

    The Green's-function components integrate over the shell ``|ξ| < ξ_c = 0.8 E_F``, which
    must hold every energy plus the band splittings; ξ_c is no option, so a window too wide
    for it is reported against the end of ``--emin/--emax`` the user made too large.
    """
    from latticemirage import green

    try:
        return green.check_inputs(phys, energies, eta=eta, delta=delta, **kwargs)
    except ParameterError as exc:
        if exc.name != "xi_cut":
            raise
    energies = np.asarray(energies, dtype=float)
    option = "emax" if abs(energies[-1]) >= abs(energies[0]) else "emin"
    reach = float(np.abs(energies).max()) + phys.beta + phys.field + delta + 2 * eta
    xi_c = green.DEFAULT_XI_CUT_FRACTION * phys.e_fermi
    raise ParameterError(option, f"max|E| + β + B + Δ + 2 eta = {reach:.4g} Δ0 must stay below "
                                 f"the Green's-function shell ξ_c = 0.8 E_F = {xi_c:.4g} Δ0; "
                                 f"{hint}")


def check_output(path, suffixes=SUPPORTED_FORMATS):
    """Refuse an ``--output`` file that could not be written (see `check_output_file`)."""
    return check_output_file("output", path, suffixes)


def positive_int(name, value):
    """*value* as an int if it is one >= 1, else `ParameterError` naming *name*."""
    if int(value) != value or value < 1:
        raise ParameterError(name, f"must be a positive integer, got {value!r}")
    return int(value)


def add_disorder_arguments(parser):
    """The ``--kind`` group shared by ``disorder`` and ``rates`` (lattice units)."""
    g = parser.add_argument_group("disorder (lattice units)")
    g.add_argument("--kind", choices=("point", "anderson", "smooth"),
                   help="disorder kind (required): point impurities, Anderson box, smooth "
                        "Gaussian-correlated")
    g.add_argument("--concentration", type=real(0, 1),
                   help="point: impurity probability per site")
    g.add_argument("--strength", type=real(), help="point: impurity potential V (t)")
    g.add_argument("--width", type=real(0), help="anderson: box width W (t)")
    g.add_argument("--amplitude", type=real(0), help="smooth: rms potential (t)")
    g.add_argument("--correlation-length", type=real(0, low_open=True),
                   help="smooth: Gaussian length (a)")


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


def refuse_zero_disorder(args, command):
    """Refuse a disorder of zero strength in a command that measures scattering.

    Without disorder there is no scattering: every rate is exactly 0 and the intervalley
    share Γ_inter/Γ_tot is 0/0, so a measurement would report round-off (a "share" of
    0.495 ± 0 was printed before). Names the option that makes it zero.
    """
    zero = {"point": (("concentration", args.concentration), ("strength", args.strength)),
            "anderson": (("width", args.width),),
            "smooth": (("amplitude", args.amplitude),)}[args.kind]
    for name, value in zero:
        if value == 0:
            raise ParameterError(name, f"--{name} 0 is no disorder: no scattering, every rate is "
                                       f"exactly 0 and the intervalley share 0/0 is undefined, so "
                                       f"{command} has nothing to measure; give --{name} > 0")


def check_smooth_size(disorder, size):
    """The supercell must hold the correlation length (``L >= 4 xi``); names ``--size``."""
    xi = disorder.correlation_length
    if size < 4 * xi:
        raise ParameterError("size", f"must be >= 4 x --correlation-length = {4 * xi:g} (the "
                                     f"periodic field would correlate with its images), got "
                                     f"{size}")
    disorder.power_spectrum((size, size))  # the library's own check of the same rule
