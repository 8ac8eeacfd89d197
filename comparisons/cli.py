"""The ``mirage`` command: one entry point, subcommands per side.

``mirage qc ...``       quasiclassical (Eilenberger) side, never imports Kwant;
``mirage lattice ...``  Kwant lattice side;
``mirage validate``     both sides against each other;
``mirage doctor``       versions and capabilities of this installation.

Exit codes: 0 success, 1 a cross-check failed, 2 bad input (nothing written).
"""

import argparse
import importlib
import os
import platform
import shutil
import sys

from mirage_common.version import __version__

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2

# Each side registers its own subcommands; modules are imported lazily so that
# ``mirage qc`` does not pay for importing Kwant.
_SIDES = {
    "qc": ("quasiclassical.cli", "quasiclassical (Eilenberger) solver; energies in Delta0"),
    "lattice": ("latticemirage.cli", "Kwant tight-binding BdG lattice model"),
    "validate": ("comparisons.validate", "cross-check lattice against quasiclassics"),
}


def _doctor(args):
    import numpy
    import scipy

    print(f"latticemirage {__version__}")
    print(f"python        {platform.python_version()} ({sys.executable})")
    print(f"numpy         {numpy.__version__}")
    print(f"scipy         {scipy.__version__}")
    try:
        # latticemirage first: it silences Kwant's MUMPS import warning (reported below).
        import latticemirage  # noqa: F401, I001

        import kwant

        print(f"kwant         {kwant.__version__}")
        try:
            importlib.import_module("kwant.linalg._mumps")
            mumps = "yes"
        except ImportError:
            mumps = ("no (Kwant's transport falls back to SciPy; the default NS-junction solver "
                     "of latticemirage.transport is the batched one and needs neither)")
        print(f"kwant MUMPS   {mumps}")
    except ImportError as exc:
        print(f"kwant         NOT IMPORTABLE ({exc}); run `make setup`")
    for label, module in (("numba", "numba"), ("distributed", "distributed"), ("mpi4py", "mpi4py")):
        try:
            version = importlib.import_module(module).__version__
        except ImportError:
            version = "not installed (optional)" if module != "numba" else "NOT IMPORTABLE"
        print(f"{label:13s} {version}")
    # mpi4py.MPI is not imported here: it would initialize MPI in this process.
    mpiexec = shutil.which("mpiexec")
    print(f"mpiexec       {mpiexec or 'not on PATH (needed for mirage lattice disorder --mpi)'}")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count()
    print(f"cores         {cores} available")
    return EXIT_OK


def build_parser(argv=()):
    """Return the top-level parser; only the side named in *argv* is imported."""
    parser = argparse.ArgumentParser(
        prog="mirage", description="Mirage gaps in Ising superconductors: lattice vs quasiclassics."
    )
    parser.add_argument("--version", action="version", version=f"mirage {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    doctor = sub.add_parser(
        "doctor", help="print versions of Python, NumPy, SciPy, Kwant, MUMPS, cores"
    )
    doctor.set_defaults(func=_doctor)
    for name, (module, help_) in _SIDES.items():
        # Only import the side that is asked for (or all, for --help).
        if argv and argv[0] not in (name, "-h", "--help"):
            sub.add_parser(name, help=help_, add_help=False)
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            sub.add_parser(name, help=f"{help_} (not available yet)")
            continue
        mod.add_parser(sub, name, help_)
    return parser


def main(argv=None):
    """Run the ``mirage`` command; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage already
        return int(exc.code or 0)
    if not hasattr(args, "func"):
        parser.error(f"'{args.command}' is not implemented yet")
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # includes ParameterError: bad input, nothing written
        print(f"mirage: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("mirage: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
