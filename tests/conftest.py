"""Fixtures shared by the test modules (module scope: each module builds its own, as before)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latticemirage import bulk
from latticemirage.disorder import study
from latticemirage.mapping import PhysicalParameters, map_to_lattice


@pytest.fixture(scope="module")
def fsyst():
    """The wrapped (k-space) Kwant system of the lattice model."""
    return bulk.wrapped_system()


@pytest.fixture(scope="module")
def paper(fsyst):
    """The paper's Fig. 1(b,c) point: β = 7, B = 2, Δ = 1 (Δ0 units), default mapping
    (E_F = 30 Δ0)."""
    return map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0), fsyst=fsyst)


# ---------------------------------------------------------------- hostile command lines
# Shared by tests/test_bad_input.py (the table of hostile calls) and tests/test_cli_fuzz.py.

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root writes into read-only folders


@pytest.fixture
def hostile_dir(tmp_path, monkeypatch):
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "afile").write_text("a file, not a folder\n")
    (tmp_path / "nonempty").mkdir()
    (tmp_path / "nonempty" / "notes.txt").write_text("the user's\n")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    if ROOT:  # root may write anyway: let the access check see the folder as a user would
        real_access = os.access

        def access(path, mode, **kwargs):
            inside = os.path.abspath(path).startswith(str(tmp_path / "ro"))
            return False if inside and mode & os.W_OK else real_access(path, mode, **kwargs)

        monkeypatch.setattr(os, "access", access)
    yield tmp_path
    (tmp_path / "ro").chmod(0o755)



class _Computing(Exception):
    """Raised by the patched computations: a hostile call got past the checks."""


@pytest.fixture
def no_computing(monkeypatch):
    """Every computation of every command raises `_Computing` (not caught by `main`)."""
    import comparisons.validate
    import latticemirage.disorder.band
    import latticemirage.disorder.rates
    import latticemirage.disorder.selfenergy
    import latticemirage.disorder.study
    import latticemirage.dos
    import latticemirage.gap
    import latticemirage.green
    import latticemirage.josephson
    import latticemirage.plots
    import latticemirage.spectrum
    import latticemirage.transport
    import mirage_cli.qc
    import mirage_cli.qc.tunneling
    import mirage_cli.validate
    import quasiclassical.josephson

    def computing(*args, **kwargs):
        raise _Computing("a hostile call reached the computation")

    for module, names in (
        (mirage_cli.qc, ("solve_gap", "density_of_states", "critical_field_line")),
        (mirage_cli.qc.tunneling, ("tunneling_conductance_params",)),
        (quasiclassical.josephson, ("bound_states", "current_phase")),
        (latticemirage.dos, ("clean_dos",)),
        (latticemirage.green, ("valley_green",)),
        (latticemirage.spectrum, ("fermi_zoom", "band_path")),
        (latticemirage.plots, ("plot_kwant_valleys",)),
        (latticemirage.transport, ("ns_conductance",)),
        (latticemirage.josephson, ("bound_states", "current_phase")),
        (latticemirage.disorder.study, ("run_study",)),
        (latticemirage.disorder.rates, ("measure_rates",)),
        (latticemirage.disorder.selfenergy, ("measure_selfenergy",)),
        (latticemirage.disorder.band, ("measure_beta",)),
        (comparisons.validate, ("run_validation",)),
        (mirage_cli.validate, ("run_validation",)),
    ):
        for name in names:
            monkeypatch.setattr(module, name, computing)
    monkeypatch.setattr(latticemirage.gap.GapSolver, "build", computing)


def _kill_midway(args, out, finished, timeout):
    """Run ``mirage ARGS`` in its own process group; SIGKILL the group (driver and pool
    workers, ids we started) once *finished* realizations are in *out*."""
    cmd = [sys.executable, "-c", "import sys; from mirage_cli.main import main; "
           "sys.exit(main(sys.argv[1:]))", *args]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    real = Path(out) / study.REAL_DIR
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if real.exists() and len(list(real.glob("r*.npz"))) >= finished:
                break
            if proc.poll() is not None:
                pytest.fail("the study finished before it could be killed")
            time.sleep(0.05)
        else:
            pytest.fail("no realization finished in time")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def kill_study_midway():
    """`_kill_midway(args, out, finished, timeout)`: a study killed after some realizations."""
    return _kill_midway

