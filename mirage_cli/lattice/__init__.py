"""``mirage lattice ...``: the lattice side of the command line.

`add_parser` is the only place that imports the subcommand modules (`clean`:
spectrum, dos, gap; `study`: disorder; `rates`: rates; `conductance`: NS
junction; `josephson`: S-N-S junction); those import only the shared options in
`_args`, so the package has no import cycle.
"""

__all__ = ["add_parser"]


def add_parser(subparsers, name, help):
    """Register ``mirage lattice`` and its subcommands on the dispatcher's *subparsers*."""
    parser = subparsers.add_parser(
        name, help=help,
        description="Kwant lattice model: spectra, clean DOS, Δ(B), disorder studies, rates, "
                    "NS conductance, Josephson junctions")
    lattice_subparsers = parser.add_subparsers(dest="lattice_command", metavar="SUBCOMMAND")
    lattice_subparsers.required = True

    from mirage_cli.lattice import clean, conductance, josephson, rates, selfenergy, study

    for module in (clean, study, rates, selfenergy, conductance, josephson):
        module.add_subcommands(lattice_subparsers)
    return parser
