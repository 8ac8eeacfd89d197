"""``mirage validate``: the lattice against quasiclassics, as a report folder.

Usage::

    mirage validate [--quick] [--output DIR]

Runs the suites of `comparisons.suite_clean` (clean DOS field sweep),
`comparisons.suite_gap` (Δ(B), B_c2(T)), `comparisons.suite_disorder` (point
and smooth disorder, KPM vs SCBA) and `comparisons.suite_tunneling` (lattice NS
junction vs the quasiclassical tunneling conductance) on the one parameter set of
`comparisons.setup`, and writes into DIR (default ``mirage-report/``) the PNG plots,
``summary.json`` (every metric, its tolerance, pass or fail), ``report.md`` and
``report.html``. Progress (stage, elapsed, ETA) goes to stderr.

Exit codes: 0 all checks pass, 1 a check failed, 2 bad input (nothing written).
"""

import sys
import time
from pathlib import Path

from comparisons.report import Report
from comparisons.setup import FULL, QUICK, ValidationSetup
from mirage_common.errors import ParameterError

__all__ = ["Progress", "add_parser", "run_validation"]

# Measured seconds per work unit of each suite on the 2-core reference machine
# (used only to weigh the ETA between stages; the ETA rescales itself as it runs).
_UNIT_SECONDS = {"clean": 30.0, "gap": 20.0, "disorder": 35.0, "tunneling": 15.0}


class Progress:
    """Stage / elapsed / ETA lines on a stream (stderr by default)."""

    def __init__(self, plan, stream=None):
        self.plan = dict(plan)  # stage -> (units, seconds per unit)
        self.total = sum(n * s for n, s in self.plan.values())
        self.done_weight = 0.0
        self.start = time.perf_counter()
        self.stream = sys.stderr if stream is None else stream
        self.stage = None

    def begin(self, stage):
        self.stage = stage
        self._print(f"[{stage}] start")

    def tick(self, message):
        self.done_weight += self.plan[self.stage][1]
        self._print(f"[{self.stage}] {message}")

    def _print(self, message):
        elapsed = time.perf_counter() - self.start
        frac = self.done_weight / self.total if self.total else 1.0
        eta = elapsed * (1 - frac) / frac if frac > 0 else self.total
        print(f"mirage validate: {message}  elapsed {elapsed:5.0f} s, ETA {eta:5.0f} s",
              file=self.stream, flush=True)


def _check_output(path):
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError("output", f"{str(path)!r} exists and is not a directory")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ParameterError("output", f"{str(parent)!r} is not a directory")
            break
    return path


def run_validation(setup, output, *, stages=("clean", "gap", "disorder", "tunneling"),
                   stream=None):
    """Run the suites of *setup* into the folder *output*; returns the `Report`."""
    import importlib

    suites = {s: importlib.import_module(f"comparisons.suite_{s}") for s in stages}
    plan = {s: (suites[s].units(setup), _UNIT_SECONDS[s]) for s in stages}
    progress = Progress(plan, stream)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    report = Report(folder=output, parameters=setup.as_dict())
    timings = {}
    for stage in stages:
        progress.begin(stage)
        t0 = time.perf_counter()
        suites[stage].run(setup, report, progress.tick)
        timings[stage] = round(time.perf_counter() - t0, 1)
        # Write after every stage, so an interrupted run still leaves a readable report.
        report.parameters["timings_seconds"] = dict(timings)
        report.write()
    progress._print(f"done: {sum(c.passed for c in report.checks)}/{len(report.checks)} "
                    f"checks pass; report in {output}")
    return report


def _run(args):
    output = _check_output(args.output)
    setup = ValidationSetup(resolution=QUICK if args.quick else FULL)
    import matplotlib

    matplotlib.use("Agg")
    report = run_validation(setup, output)
    for c in report.checks:
        if not c.passed:
            print(f"mirage validate: FAIL {c.name}: {c.value:.4g} (tolerance {c.comparison} "
                  f"{c.tolerance:.4g} {c.unit})", file=sys.stderr)
    return 0 if report.passed else 1


def add_parser(subparsers, name, help):
    """Register ``mirage validate`` on the dispatcher's subparsers."""
    parser = subparsers.add_parser(name, help=help, description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="reduced suite (about two minutes): fewer fields, temperatures, "
                        "concentrations and realizations")
    parser.add_argument("--output", default="mirage-report",
                        help="report folder (default: mirage-report/)")
    parser.set_defaults(func=_run)
    return parser
