"""The lattice against quasiclassics, as a report folder (``mirage validate``).

Usage::

    mirage validate [--quick] [--output DIR]
    mirage validate --full-scale [--scheduler tcp://HOST:PORT | --mpi | --workers N]

Runs the suites of `comparisons.suite_clean` (clean DOS field sweep),
`comparisons.suite_gap` (Δ(B), B_c2(T)), `comparisons.suite_disorder` (point
and smooth disorder, KPM vs SCBA), `comparisons.suite_components` (Green's-function
components and the measured self-energy against Eq. (8) and the SCBA) and
`comparisons.suite_tunneling` (lattice NS junction vs the quasiclassical tunneling
conductance) and `comparisons.suite_junction` (Josephson junction: bound states and
current-phase relation, lattice vs quasiclassics) on the one parameter set of
`comparisons.parameters`, and writes into DIR (default ``mirage-report/``) the PNG plots,
``summary.json`` (every metric, its tolerance, pass or fail), ``report.md`` and
``report.html``. Progress (stage, elapsed, ETA) goes to stderr. Every figure reading is
generated from the checks of the run (`comparisons.report`), and the report opens with a
per-stage table (passed/total, worst margin, time).

``--full-scale`` runs only the disorder stage, at the model's default scale (Δ0 = 0.005 t,
E_F = 30 Δ0, β = 7, B = 2, 300 x 300 supercells, 42000 moments; `comparisons.parameters.FULL_SCALE`)
through the resumable study runner on any executor: a local pool of ``--workers N``
processes (default 2), a Dask cluster (``--scheduler``) or MPI (``--mpi``, started as
``mpiexec -n N python -m mpi4py.futures -m mirage_cli validate --full-scale --mpi``).
Each finished realization is written atomically into ``DIR/studies/``; run the same command
again after a kill and it resumes. Each realization's Δ(B) and Δ(0) is solved by the shell
solver (its shell eigenstates by sparse spectrum slicing, `latticemirage.disorder.shell`;
twists {(0, 0), (π, π)}; 38 min and 12.9 GiB per realization on one core measured in the fourth
session, about 9.4 GB estimated since the shells keep no eigenvectors) and the gap checks run as
in the default suite.

``--tighten PATTERN`` (repeatable) is a test hook: the checks whose names match the glob
make their tolerance impossible to meet, to show that failures reach the readings, the
table and the exit code (tests/test_validate.py).

Exit codes: 0 all checks pass, 1 a check failed, 2 bad input (nothing written).
"""

import sys
import time
from pathlib import Path

from comparisons.report import Report
from mirage_common.resources import check_output_folder

__all__ = ["Progress", "check_report_folder", "is_report", "run_validation"]

# Measured seconds per work unit of each suite on the 2-core reference machine
# (used only to weigh the ETA between stages; the ETA rescales itself as it runs).
_UNIT_SECONDS = {"clean": 4.0, "gap": 20.0, "disorder": 60.0, "components": 10.0,
                 "tunneling": 15.0, "junction": 10.0}


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


def _unit_seconds(suite, setup, workers):
    """A suite's own seconds per unit where the reference timing does not apply (the
    disorder stage at full scale: hours, not the default stage's minutes), else None."""
    hint = getattr(suite, "unit_seconds", None)
    return hint(setup, workers or 2) if hint is not None else None


def is_report(folder):
    """An earlier report: ``summary.json`` (written after every stage), or only plots of a
    run stopped during its first stage."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    if (folder / "summary.json").is_file():
        return True
    ours = ("report.md", "report.html")
    # "studies": the resumable disorder studies of a run stopped during that stage.
    return any(folder.iterdir()) and all(
        (p.is_file() and (p.suffix == ".png" or p.name in ours))
        or (p.is_dir() and p.name == "studies") for p in folder.iterdir())


def check_report_folder(path):
    """A new, empty or earlier-report folder that can be written (else `ParameterError`)."""
    path = check_output_folder("output", path, reusable=is_report)
    if is_report(path):
        print(f"mirage validate: note: replacing the earlier report in {path}", file=sys.stderr)
    return path


def run_validation(setup, output, *,
                   stages=("clean", "gap", "disorder", "components", "tunneling", "junction"),
                   stream=None, tighten=(), executor=None, workers=None):
    """Run the suites of *setup* into the folder *output*; returns the `Report`.

    *tighten*: glob patterns of checks to make fail (test hook, see `Report`).
    *executor*: a `concurrent.futures.Executor` for the disorder studies' realizations
    (default: the stage's local pool of two processes).
    *workers*: how many realizations run at once, for the first ETA only (default 2).
    """
    import importlib

    from latticemirage import dos

    dos.requested_backend()  # a bad $MIRAGE_DOS_BACKEND is refused before anything is written
    suites = {s: importlib.import_module(f"comparisons.suite_{s}") for s in stages}
    plan = {s: (suites[s].units(setup),
                _unit_seconds(suites[s], setup, workers) or _UNIT_SECONDS[s]) for s in stages}
    progress = Progress(plan, stream)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    report = Report(folder=output, parameters=setup.as_dict(), tighten=tuple(tighten))
    for stage in stages:
        progress.begin(stage)
        report.stage = stage
        t0 = time.perf_counter()
        if stage == "disorder":
            suites[stage].run(setup, report, progress.tick, executor=executor)
        else:
            suites[stage].run(setup, report, progress.tick)
        report.timings[stage] = round(time.perf_counter() - t0, 1)
        # Write after every stage, so an interrupted run still leaves a readable report.
        report.write()
    progress._print(f"done: {sum(c.passed for c in report.checks)}/{len(report.checks)} "
                    f"checks pass; report in {output}")
    return report
