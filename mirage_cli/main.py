"""The ``mirage`` command: one entry point, subcommands per side.

``mirage qc ...``       quasiclassical (Eilenberger) side, never imports Kwant;
``mirage lattice ...``  Kwant lattice side;
``mirage validate``     both sides against each other;
``mirage fit``          beta_so, Delta0, Gamma from measured tunneling spectra;
``mirage doctor``       versions and capabilities of this installation.

Exit codes: 0 success, 1 a cross-check failed or the machine failed (out of memory,
disk full), 2 bad input (nothing written), 130 interrupted. Errors are one line on
stderr; ``--debug`` (anywhere on the command line) adds the traceback. Output closed
early by the reader (``mirage doctor | head -1``) is not an error.
"""

import argparse
import contextlib
import errno
import importlib
import os
import platform
import re
import shutil
import sys
import traceback

from mirage_cli.options import memory_limit, real
from mirage_common.parallel import available_cores
from mirage_common.version import __version__

__all__ = ["build_parser", "leaf_parsers", "main"]

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2

# Each side registers its own subcommands; modules are imported lazily so that
# ``mirage qc`` does not pay for importing Kwant.
_SIDES = {
    "qc": ("mirage_cli.qc", "quasiclassical (Eilenberger) solver; energies in Delta0"),
    "lattice": ("mirage_cli.lattice", "Kwant tight-binding BdG lattice model"),
    "validate": ("mirage_cli.validate", "cross-check lattice against quasiclassics"),
    "fit": ("mirage_cli.fit", "fit beta_so, Delta0, Gamma to measured dI/dV(V, B)"),
    "figure": ("mirage_cli.figures", "draw one of the paper's figures (mirage figure NAME --help)"),
}


def _doctor(args):
    import numpy
    import scipy

    from comparisons.kwant_build import kwant_build

    print(f"latticemirage {__version__}")
    print(f"python        {platform.python_version()} ({sys.executable})")
    print(f"numpy         {numpy.__version__}")
    print(f"scipy         {scipy.__version__}")
    try:
        build = kwant_build()
    except ImportError as exc:
        print(f"kwant         NOT IMPORTABLE ({exc}); run `make setup`")
    else:
        print(f"kwant         {build.version}")
        print(f"kwant build   {build.status}")
        mumps = ("yes (kwant.linalg._mumps: Kwant's sparse solvers use MUMPS)" if build.mumps else
                 "no (Kwant's sparse solvers fall back to SciPy; Debian: libmumps-seq-dev, "
                 "then `make setup`)")
        print(f"kwant MUMPS   {mumps}")
    for label, module in (("numba", "numba"), ("distributed", "distributed"), ("mpi4py", "mpi4py")):
        try:
            version = importlib.import_module(module).__version__
        except ImportError:
            version = "not installed (optional)" if module != "numba" else "NOT IMPORTABLE"
        print(f"{label:13s} {version}")
    # mpi4py.MPI is not imported here: it would initialize MPI in this process.
    mpiexec = shutil.which("mpiexec")
    print(f"mpiexec       {mpiexec or 'not on PATH (needed for mirage lattice disorder --mpi)'}")
    print(f"cores         {available_cores()} available")
    return EXIT_OK


class _HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help unless the help already names it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (default is None or default is False or default is argparse.SUPPRESS
                or isinstance(action, argparse._HelpAction | argparse._VersionAction)
                or not action.option_strings or "default" in text):
            return text
        return f"{text} (default: {default})"


class MirageParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose help shows defaults; subparsers inherit it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        """Bad value of one option: the one-line ``mirage: error: OPTION: ...`` of every
        refused input (as for `ParameterError`); other usage errors as argparse has them."""
        required = re.fullmatch(r"the following arguments are required: (.*)", message, re.S)
        names = [next((o for o in item.split("/") if o.startswith("--")), item)
                 for item in required[1].split(", ")] if required else []
        if names and names[0].startswith("--"):  # one line naming the first missing option
            more = f" (also {', '.join(names[1:])})" if names[1:] else ""
            self.exit(EXIT_BAD_INPUT, f"mirage: error: {names[0][2:]}: is required{more} "
                                      f"(see {self.prog} --help)\n")
        match = re.fullmatch(r"argument (\S+): (.*)", message, re.S)
        longs = [o for o in match[1].split("/") if o.startswith("--")] if match else []
        if not longs:
            super().error(message)
        self.exit(EXIT_BAD_INPUT, f"mirage: error: {'/'.join(o[2:] for o in longs)}: "
                                  f"{match[2]} (see {self.prog} --help)\n")


def leaf_parsers(parser):
    """The parsers of *parser*'s tree that have no subcommands (``mirage qc dos``, ...)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):
            yield from leaf_parsers(child)


def _add_common_options(parser):
    """``--debug`` and ``--memory-limit`` on every subcommand (one place, not per module)."""
    for leaf in leaf_parsers(parser):
        if not leaf.add_help:  # placeholder of a side that was not imported
            continue
        leaf.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help="on an error, print the Python traceback too")
        leaf.add_argument("--memory-limit", type=real(0, low_open=True),
                          metavar="GB", default=argparse.SUPPRESS,
                          help="memory (GB) a run may use; default: what this machine has "
                               "available; raise it for work that goes to a bigger machine")


def build_parser(argv=()):
    """Return the top-level parser; only the side named in *argv* is imported."""
    parser = MirageParser(
        prog="mirage", description="Mirage gaps in Ising superconductors: lattice vs quasiclassics."
    )
    parser.add_argument("--version", action="version", version=f"mirage {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the Python traceback too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    doctor = sub.add_parser(
        "doctor",
        help="print versions of Python, NumPy, SciPy, Kwant (patched build?), MUMPS, cores",
    )
    doctor.set_defaults(func=_doctor)
    # The command: the first word that is not a top-level option (``mirage --debug qc``).
    words = [a for a in argv if a not in ("--debug",)]
    for name, (module, help_) in _SIDES.items():
        # Only import the side that is asked for (or all, for --help).
        if words and words[0] not in (name, "-h", "--help"):
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
    _add_common_options(parser)
    return parser


class _PipeTolerant:
    """A text stream whose reader may go away: writes after a closed pipe are dropped.

    The run goes on (its result files are still written); the file descriptor is
    pointed at /dev/null so that the interpreter's last flush is quiet too.
    """

    def __init__(self, stream):
        self._stream = stream
        self.closed_pipe = False

    def _closed(self):
        self.closed_pipe = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def write(self, text):
        if not self.closed_pipe:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._closed()
        return len(text)

    def flush(self):
        if not self.closed_pipe:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed()

    def __getattr__(self, name):
        return getattr(self._stream, name)


# errno values of an OSError that point at what the user typed (a path), not at the machine.
_INPUT_ERRNOS = {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM,
                 errno.EEXIST, errno.ENAMETOOLONG, errno.EROFS, errno.ELOOP}


# Library parameter names that an option of another spelling sets.
_OPTION_ALIASES = {"delta0": "delta0-t"}


def _as_typed(exc, parser):
    """The message of a `ParameterError` with the name spelt as the option the user typed
    (``e_fermi`` -> ``e-fermi``) when the command has that option."""
    options = {o.lstrip("-") for leaf in leaf_parsers(parser) for a in leaf._actions
               for o in a.option_strings}
    name = getattr(exc, "name", None)
    if not isinstance(name, str):
        return str(exc)
    typed = _OPTION_ALIASES.get(name, name.replace("_", "-"))
    if typed == name or typed not in options or not str(exc).startswith(f"{name}: "):
        return str(exc)
    return f"{typed}: {str(exc)[len(name) + 2:]}"


def _fail(message, code, debug):
    if debug:
        traceback.print_exc()
    hint = "" if debug else " (--debug shows the traceback)"
    print(f"mirage: error: {message}{hint if code == EXIT_CHECK_FAILED else ''}",
          file=sys.stderr)
    return code


def main(argv=None):
    """Run the ``mirage`` command; returns the process exit code.

    Bad input (`ValueError`, including `ParameterError`; an `OverflowError`; an
    `OSError` about a path) gives exit code 2, a failure of the machine
    (`MemoryError`, other `OSError` such as a full disk) exit code 1, each as one
    line on stderr; ``--debug`` adds the traceback.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _PipeTolerant(sys.stdout), _PipeTolerant(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _main(argv):
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage already
        return int(exc.code or 0)
    if not hasattr(args, "func"):
        parser.error(f"'{args.command}' is not implemented yet")
    debug = getattr(args, "debug", False)
    try:
        with memory_limit(getattr(args, "memory_limit", None)):
            return int(args.func(args) or 0)
    except ValueError as exc:  # includes ParameterError: bad input, nothing written
        return _fail(_as_typed(exc, parser), EXIT_BAD_INPUT, debug)
    except OverflowError as exc:  # a number too large for the formula it entered
        return _fail(f"a value is too large ({exc})", EXIT_BAD_INPUT, debug)
    except MemoryError as exc:
        detail = f": {exc}" if str(exc) else ""
        return _fail(f"out of memory{detail}; lower the sizes of the run", EXIT_CHECK_FAILED,
                     debug)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) and sys.stdout.closed_pipe:
            return EXIT_OK  # the reader of our output went away: not an error
        where = f": {exc.filename}" if exc.filename else ""
        text = f"{exc.strerror or exc}{where}"
        return _fail(text, EXIT_BAD_INPUT if exc.errno in _INPUT_ERRNOS else EXIT_CHECK_FAILED,
                     debug)
    except KeyboardInterrupt:
        print("mirage: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
