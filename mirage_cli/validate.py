"""``mirage validate``: the command line of `comparisons.validate.run_validation`.

Usage::

    mirage validate [--quick] [--output DIR] [--stages clean,gap,...]
    mirage validate --full-scale [--scheduler tcp://HOST:PORT | --mpi | --workers N]

Exit codes: 0 all checks pass, 1 a check failed, 2 bad input (nothing written).
"""

import sys

from comparisons import validate
from comparisons.parameters import FULL, QUICK, ValidationSetup
from comparisons.validate import check_report_folder, run_validation
from mirage_cli.options import integer
from mirage_common.errors import ParameterError
from mirage_common.parallel import check_mpi_launcher, executor_from_options

__all__ = ["add_parser"]

STAGES = ("clean", "gap", "disorder", "components", "tunneling", "junction")


def _stages(text):
    """The ``--stages`` list: known names, each once, in the suite's order."""
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in names if x not in STAGES]
    if not names or unknown:
        raise ParameterError("stages", f"got {text!r}: a comma list of {', '.join(STAGES)}")
    if len(set(names)) != len(names):
        raise ParameterError("stages", f"got {text!r}: a stage is named twice")
    return tuple(s for s in STAGES if s in names)


def _run(args):
    if args.full_scale and args.quick:
        raise ParameterError("full-scale", "--full-scale and --quick exclude each other")
    if not args.full_scale and (args.scheduler or args.mpi):
        raise ParameterError(
            "scheduler" if args.scheduler else "mpi",
            "only with --full-scale (the default suite runs locally)",
        )
    if args.mpi and not args.scheduler:  # the launcher, before any process or folder
        check_mpi_launcher(command="validate --full-scale")
    stages = STAGES if args.stages is None else _stages(args.stages)
    if args.full_scale and stages not in (STAGES, ("disorder",)):
        raise ParameterError("stages", "--full-scale runs the disorder stage only")
    output = check_report_folder(args.output)
    setup = ValidationSetup(resolution=QUICK if args.quick else FULL)
    if args.full_scale:
        setup, stages = setup.full_scale(), ("disorder",)
    import matplotlib

    matplotlib.use("Agg")
    executor, close = (
        executor_from_options(
            args.workers, args.scheduler, args.mpi, command="validate --full-scale"
        )
        if args.full_scale
        else (None, None)
    )
    if executor is None and args.workers:
        from comparisons.suite_disorder import default_executor

        executor = default_executor(args.workers)
        close = executor.shutdown
    try:
        # The first ETA of a full-scale run counts on the local pool's workers (2 on a
        # scheduler or MPI, whose size is not known here; it rescales as studies finish).
        local = not (args.scheduler or args.mpi)
        report = run_validation(
            setup, output, tighten=args.tighten, stages=stages, executor=executor,
            workers=args.workers if local else None,
        )
    finally:
        if close is not None:
            close()
    for c in report.checks:
        if not c.passed:
            print(
                f"mirage validate: FAIL {c.name}: {c.value:.4g} (tolerance {c.comparison} "
                f"{c.tolerance:.4g} {c.unit})",
                file=sys.stderr,
            )
    for s in report.skipped:
        print(f"mirage validate: not run {s.name}: {s.reason}", file=sys.stderr)
    return 0 if report.passed else 1


def add_parser(subparsers, name, help):
    """Register ``mirage validate`` on the dispatcher's subparsers."""
    parser = subparsers.add_parser(name, help=help, description=validate.__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="reduced suite (about three minutes): fewer fields, temperatures, "
        "disorder cases and realizations",
    )
    parser.add_argument(
        "--output",
        default="mirage-report",
        help="report folder (default: mirage-report/): new, empty, or an "
        "earlier report, which is replaced",
    )
    parser.add_argument(
        "--stages",
        default=None,
        metavar="LIST",
        help=f"run only these stages, a comma list of {','.join(STAGES)} "
        "(default: all; the report then holds only their checks)",
    )
    parser.add_argument(
        "--full-scale",
        action="store_true",
        help="only the disorder stage, at the default scale (0.005 t, E_F = 30 "
        "Delta0, 300 x 300; hours on 2 cores): for a cluster; resumes",
    )
    parser.add_argument(
        "--workers",
        type=integer(1),
        default=None,
        help="processes of the local pool of the disorder studies (default 2)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --full-scale: Dask distributed scheduler, e.g. tcp://HOST:PORT",
    )
    parser.add_argument(
        "--mpi",
        action="store_true",
        help="with --full-scale: mpi4py.futures.MPIPoolExecutor (start as "
        "'mpiexec -n N python -m mpi4py.futures -m mirage_cli "
        "validate --full-scale --mpi')",
    )
    parser.add_argument(
        "--tighten",
        action="append",
        default=[],
        metavar="PATTERN",
        help="test hook: make the checks matching this glob fail (their "
        "tolerance becomes impossible to meet); repeatable",
    )
    parser.set_defaults(func=_run)
    return parser
