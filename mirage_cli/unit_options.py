"""The ``--units physical`` options shared by the CLI commands of both sides.

``mirage qc tunneling`` and ``mirage lattice conductance`` take their energies, biases,
temperatures and fields either in reduced units (Delta0, T_c0, Zeeman energy in Delta0;
the default) or, with ``--units physical``, in meV, mV, kelvin and tesla. The scale
comes from ``--tc-K`` or ``--delta0-meV`` (one of them), ``--g-factor`` (default 2) or a
``--material`` preset (`mirage_common.materials`), which supplies T_c and g unless given
(and beta_so, which each command reads from ``Material.beta_so_meV``). The conversions
themselves are `mirage_common.units.PhysicalScale`; this module only parses and checks
the options, so both commands refuse the same bad input with the same messages.
"""

import sys

from mirage_common.errors import ParameterError
from mirage_common.materials import MATERIALS, get_material
from mirage_common.units import PhysicalScale

__all__ = ["UNIT_OPTIONS", "add_unit_options", "note_material", "physical_metadata",
           "refuse_physical_options", "scale_from_args"]

#: The attribute names of the scale options (refused in reduced units).
UNIT_OPTIONS = ("tc_K", "delta0_meV", "g_factor", "material")


def add_unit_options(p):
    """Add ``--units`` and the ``--tc-K/--delta0-meV/--g-factor/--material`` group to *p*."""
    from mirage_cli.options import real

    p.add_argument("--units", choices=("reduced", "physical"), default="reduced",
                   help="reduced (Delta0, T_c0; default) or physical (meV, mV, K, tesla)")
    g = p.add_argument_group("physical units (with --units physical)")
    g.add_argument("--tc-K", type=real(), default=None, help="T_c0 in kelvin (sets Delta0)")
    g.add_argument("--delta0-meV", type=real(), default=None,
                   help="Delta0 in meV (instead of --tc-K)")
    g.add_argument("--g-factor", type=real(), default=None,
                   help="Lande g of the in-plane Zeeman coupling (default 2 or the preset's)")
    g.add_argument("--material", default=None,
                   help=f"preset supplying T_c, beta_so, g: {', '.join(MATERIALS)}")
    return g


def refuse_physical_options(args):
    """Raise `ParameterError` if a scale option was given without ``--units physical``."""
    for name in UNIT_OPTIONS:
        if getattr(args, name) is not None:
            raise ParameterError(name.replace("_", "-"), "only meaningful with --units physical")


def scale_from_args(args):
    """(`PhysicalScale`, `Material` or None) from ``--tc-K/--delta0-meV/--g-factor/--material``.

    Raises `ParameterError` when no energy scale is given (fields in tesla need Delta0),
    or for an unknown material.
    """
    material = get_material(args.material) if args.material is not None else None
    tc, d0 = args.tc_K, args.delta0_meV
    if material is not None and tc is None and d0 is None:
        tc = material.tc_K
    g = args.g_factor if args.g_factor is not None else (
        material.g_factor if material is not None else 2.0)
    if tc is None and d0 is None:
        raise ParameterError(
            "tc-K", "--units physical needs the energy scale Delta0 to convert meV, kelvin and "
            "tesla: give --tc-K, --delta0-meV or --material"
        )
    return PhysicalScale(delta0_meV=d0, tc_K=tc, g_factor=g), material


def note_material(prog, material, file=None):
    """Print a preset's out-of-model notes (``Material.assumption_notes``) to stderr."""
    if material is None:
        return
    for note in material.assumption_notes:
        print(f"{prog}: note: {material.name}: {note}", file=file or sys.stderr)


def physical_metadata(scale, material, units):
    """The metadata entries of a physical-units result: units text, scale, preset."""
    return {
        "units_physical": units,
        "scale": scale.as_dict(),
        "material": None if material is None else material.as_dict(),
    }
