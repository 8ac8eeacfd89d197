"""Run Kwant's own test suite on the installed Kwant; fail on a failure or an unexpected skip.

Usage (``make test`` runs it before our own suite)::

    .venv/bin/python tools/kwant_suite.py [extra pytest options]

Kwant's suite is ``python -m pytest --pyargs kwant``. A skip is accepted only if its
reason is one of `ALLOWED_SKIPS`: optional dependencies of Kwant that we choose not to
install, each with the reason. MUMPS's solver tests must run; they may skip only when
Kwant was built without MUMPS (the bootstrap says why when that happens). Every skip is
listed at the end, with the reason it is accepted.
"""

import importlib.util
import sys

# Substring of pytest's skip reason -> why the skip is accepted.
ALLOWED_SKIPS = {
    "could not import 'qsymm'": (
        "qsymm (kwant.qsymm, Kwant's symmetry finder) is not installed: its 11 tests would add "
        "19 s of CPU (+40 %) to this stage, and latticemirage does not use it"
    ),
    "Plotly unavailable": (
        "plotly (Kwant's second plotting engine) is not installed: we plot with matplotlib, and "
        "Kwant 1.5's plotly backend fails with plotly 7 (6 of its tests), code we neither use "
        "nor patch"
    ),
}
MUMPS_SKIP = "MUMPS not installed"


def mumps_linked():
    """Whether the installed Kwant has its MUMPS extension."""
    return importlib.util.find_spec("kwant.linalg._mumps") is not None


def classify_skips(skips, *, mumps=True):
    """Split ``(nodeid, reason)`` skips into accepted ``(nodeid, reason, why)`` and unexpected.

    Parameters
    ----------
    skips : iterable of (str, str)
    mumps : bool
        Kwant links MUMPS; if False, MUMPS skips are accepted (with that reason).

    Returns
    -------
    accepted : list of (str, str, str)
    unexpected : list of (str, str)
    """
    accepted, unexpected = [], []
    for nodeid, reason in skips:
        why = next((w for key, w in ALLOWED_SKIPS.items() if key in reason), None)
        if why is None and MUMPS_SKIP in reason and not mumps:
            why = "Kwant was built without MUMPS (see the bootstrap's message)"
        if why is None:
            unexpected.append((nodeid, reason))
        else:
            accepted.append((nodeid, reason, why))
    return accepted, unexpected


class _SkipLog:
    """pytest plugin: record every skip (tests and whole modules), not xfails."""

    def __init__(self):
        self.skips = []

    def _record(self, report):
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.skips.append((report.nodeid, reason.removeprefix("Skipped: ")))

    def pytest_runtest_logreport(self, report):
        self._record(report)

    def pytest_collectreport(self, report):
        self._record(report)


def main(argv=None):
    import pytest

    args = sys.argv[1:] if argv is None else argv
    log = _SkipLog()
    code = pytest.main(["-q", "--pyargs", "kwant", "-p", "no:cacheprovider", *args],
                       plugins=[log])
    mumps = mumps_linked()
    accepted, unexpected = classify_skips(log.skips, mumps=mumps)
    print(f"Kwant's suite: MUMPS {'linked' if mumps else 'NOT linked'}; "
          f"{len(log.skips)} skipped")
    for nodeid, reason, why in accepted:
        print(f"  skipped {nodeid}: {reason}\n    accepted: {why}")
    for nodeid, reason in unexpected:
        print(f"  UNEXPECTED skip {nodeid}: {reason}")
    if code != 0:
        return int(code)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
