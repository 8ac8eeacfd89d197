"""Hostile input to every ``mirage`` subcommand (issue #17): refused before computing.

Each refused call exits with its code (2: input, 1: the machine), names the option the
user typed in a one-line message without a traceback, and leaves no file behind. All
cases fail before any computation, so the table runs in-process in a few seconds.
"""

import argparse
import errno
import io
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirage_cli.main import build_parser, leaf_parsers, main
from mirage_cli.options import ABSURD, MAX_SWEEP, integer, parse_range, real
from mirage_common.errors import ParameterError

Q = ["qc", "dos", "--beta", "7", "--field", "2", "--temperature", "0.1"]
QG = ["qc", "gap", "--beta", "7", "--field", "0:6:3", "--temperature", "0.1"]
QB = ["qc", "bc2", "--beta", "7", "--temperature", "0.5:0.9:2"]
LD = ["lattice", "dos", "--delta", "1", "--mesh", "50"]
LS = ["lattice", "spectrum", "--n-points", "11"]
LG = ["lattice", "gap", "--fields", "0:2:2", "--mesh", "50"]
PT = ["--kind", "point", "--concentration", "0.01", "--strength", "1"]
DIS = ["lattice", "disorder", *PT, "--size", "10", "--realizations", "1", "--moments", "50",
       "--allow-unresolved", "--quiet"]
SMOOTH = ["lattice", "disorder", "--kind", "smooth", "--amplitude", "0.1",
          "--correlation-length", "2"]
RA = ["lattice", "rates", *PT, "--size", "10"]
CO = ["lattice", "conductance"]
QT = ["qc", "tunneling", "--beta", "7", "--temperature", "0.1"]


# (arguments, exit code, option named in the message); {d} is the test's folder, holding
# a folder dir.csv (and dir.json), a file afile, a read-only folder ro/ and a folder
# nonempty/ with a file of the user's.
CASES = [
    # 1. output that cannot be written, found before computing
    *[([*cmd, "--output", "{d}/dir.csv"], 2, "output") for cmd in (Q, QG, QB, LD, LS, LG)],
    ([*RA, "--output", "{d}/dir.json"], 2, "output"),
    ([*Q, "--output", "{d}/afile/x.csv"], 2, "output"),
    ([*QB, "--output", "{d}/afile/sub/x.csv"], 2, "output"),
    ([*LD, "--output", "{d}/afile/x.csv"], 2, "output"),
    ([*RA, "--output", "{d}/afile/x.json"], 2, "output"),
    ([*DIS, "--output", "{d}/afile/study"], 2, "output"),
    ([*DIS, "--output", "{d}/afile"], 2, "output"),
    (["validate", "--quick", "--output", "{d}/afile"], 2, "output"),
    (["validate", "--quick", "--output", "{d}/afile/rep"], 2, "output"),
    (["validate", "--quick", "--output", "{d}/nonempty"], 2, "output"),
    ([*Q, "--output", "{d}/ro/x.csv"], 2, "output"),
    ([*LS, "--output", "{d}/ro/sub/x.csv"], 2, "output"),
    ([*DIS, "--output", "{d}/ro/study"], 2, "output"),
    (["validate", "--quick", "--output", "{d}/ro/rep"], 2, "output"),
    (["validate", "--stages", "clean,gapp", "--output", "{d}/rep"], 2, "stages"),
    (["validate", "--stages", "gap,gap", "--output", "{d}/rep"], 2, "stages"),
    (["validate", "--stages", ",", "--output", "{d}/rep"], 2, "stages"),
    (["validate", "--full-scale", "--stages", "clean", "--output", "{d}/rep"], 2, "stages"),
    ([*Q, "--output", "{d}/x.txt"], 2, "output"),
    ([*RA, "--output", "{d}/x.csv"], 2, "output"),
    # 2. sizes beyond any machine's memory (estimate refused up front)
    ([*Q, "--points", "1000000000", "--output", "{d}/x.csv"], 2, "points"),
    (["qc", "gap", "--beta", "7", "--field", "0:6:1000000000", "--temperature", "0.1",
      "--output", "{d}/x.csv"], 2, "field"),
    (["qc", "bc2", "--beta", "7", "--temperature", "0.1:0.9:1000000000",
      "--output", "{d}/x.csv"], 2, "temperature"),
    (["qc", "gap", "--beta", "7", "--field", "0:6:2", "--temperature", "1e-9",
      "--output", "{d}/x.csv"], 2, "temperature"),
    ([*Q[:-1], "1e-300", "--output", "{d}/x.csv"], 2, "temperature"),
    (["qc", "dos", "--beta", "1e6", "--field", "2", "--temperature", "0.001",
      "--output", "{d}/x.csv"], 2, "temperature"),
    (["lattice", "dos", "--delta", "1", "--mesh", "1000000000", "--output", "{d}/x.csv"],
     2, "mesh"),
    (["lattice", "dos", "--mesh", "20", "--gap-mesh", "90000", "--memory-limit", "100",
      "--output", "{d}/x.csv"], 2, "gap-mesh"),
    (["lattice", "dos", "--delta", "1", "--mesh", "20", "--points", "1000000000",
      "--output", "{d}/x.csv"], 2, "n-energies"),
    (["lattice", "dos", "--delta", "1", "--eta", "1e-9", "--output", "{d}/x.csv"], 2, "eta"),
    (["lattice", "spectrum", "--n-points", "1000000000", "--output", "{d}/x.csv"],
     2, "n-points"),
    (["lattice", "gap", "--fields", "0:6:1000000000", "--output", "{d}/x.csv"], 2, "fields"),
    (["lattice", "gap", "--fields", "0:6:2", "--mesh", "90000", "--memory-limit", "100",
      "--output", "{d}/x.csv"], 2, "mesh"),
    (["lattice", "rates", *PT, "--size", "100000", "--output", "{d}/x.json"], 2, "size"),
    (["lattice", "disorder", *PT, "--size", "1000000000", "--output", "{d}/st"], 2, "size"),
    ([*DIS[:-6], "--moments", "1000000000", "--memory-limit", "100", "--output", "{d}/st"],
     2, "moments"),
    ([*DIS, "--size", "100", "--vectors", "100000", "--memory-limit", "10",
      "--output", "{d}/st"], 2, "vectors"),
    ([*DIS, "--n-energies", "1000000000", "--memory-limit", "10", "--output", "{d}/st"],
     2, "n-energies"),
    ([*DIS, "--realizations", "1000000000000", "--output", "{d}/st"], 2, "realizations"),
    # the shell gap solver at the default scale: ~8 GB per realization (estimates.shell_gap)
    (["lattice", "disorder", "--kind", "anderson", "--width", "0.29", "--size", "300",
      "--realizations", "1", "--self-consistent", "--twists", "none", "--beta", "7",
      "--field", "2", "--e-fermi", "30", "--delta0-t", "0.005", "--memory-limit", "4",
      "--output", "{d}/st"], 2, "size"),
    ([*Q, "--delta", "0.8", "--points", "10000", "--memory-limit", "0.01",
      "--output", "{d}/x.csv"], 2, "points"),
    # 3. non-finite, absurd or malformed values, named as typed
    (["qc", "dos", "--beta", "1e308", "--field", "2", "--temperature", "0.1",
      "--output", "{d}/x.csv"], 2, "beta"),
    (["qc", "dos", "--beta", "nan", "--field", "2", "--temperature", "0.1",
      "--output", "{d}/x.csv"], 2, "beta"),
    ([*Q, "--eta", "inf", "--output", "{d}/x.csv"], 2, "eta"),
    ([*Q, "--emin=-inf", "--output", "{d}/x.csv"], 2, "emin"),
    ([*Q, "--phi", "nan", "--output", "{d}/x.csv"], 2, "phi"),
    ([*Q, "--gamma", "1e308", "--output", "{d}/x.csv"], 2, "gamma"),
    ([*Q, "--delta", "1e308", "--output", "{d}/x.csv"], 2, "delta"),
    ([*Q, "--points", "1e3", "--output", "{d}/x.csv"], 2, "points"),
    ([*Q, "--points", "1", "--output", "{d}/x.csv"], 2, "points"),
    (["qc", "dos", "--beta", "7", "--field", "1e308", "--temperature", "0.1",
      "--output", "{d}/x.csv"], 2, "field"),
    (["qc", "gap", "--beta", "7", "--field", "0:1e308:3", "--temperature", "0.1",
      "--output", "{d}/x.csv"], 2, "field"),
    (["qc", "gap", "--beta", "7", "--field", "0:6:0", "--temperature", "0.1",
      "--output", "{d}/x.csv"], 2, "field"),
    (["qc", "bc2", "--beta", "7", "--temperature", "nan:1:2", "--output", "{d}/x.csv"],
     2, "temperature"),
    (["lattice", "dos", "--delta", "1", "--gap-mesh", "0", "--output", "{d}/x.csv"],
     2, "gap-mesh"),
    (["lattice", "dos", "--delta", "1", "--emin=-inf", "--output", "{d}/x.csv"], 2, "emin"),
    (["lattice", "dos", "--delta", "1", "--eta", "nan", "--output", "{d}/x.csv"], 2, "eta"),
    (["lattice", "dos", "--beta", "1e308", "--output", "{d}/x.csv"], 2, "beta"),
    (["lattice", "dos", "--e-fermi", "1e308", "--output", "{d}/x.csv"], 2, "e-fermi"),
    (["lattice", "dos", "--e-fermi", "300", "--output", "{d}/x.csv"], 2, "e-fermi"),
    (["lattice", "dos", "--delta0-t", "inf", "--output", "{d}/x.csv"], 2, "delta0-t"),
    (["lattice", "dos", "--delta0-t", "0.9", "--output", "{d}/x.csv"], 2, "delta0-t"),
    (["lattice", "spectrum", "--angle", "inf", "--output", "{d}/x.csv"], 2, "angle"),
    (["lattice", "spectrum", "--delta", "nan", "--output", "{d}/x.csv"], 2, "delta"),
    (["lattice", "gap", "--temperature", "inf", "--output", "{d}/x.csv"], 2, "temperature"),
    (["lattice", "gap", "--cutoff", "1e308", "--output", "{d}/x.csv"], 2, "cutoff"),
    (["lattice", "gap", "--fields", "0,nan", "--output", "{d}/x.csv"], 2, "fields"),
    (["lattice", "gap", "--fields", "0:1e308:2", "--output", "{d}/x.csv"], 2, "fields"),
    ([*SMOOTH, "--size", "0", "--output", "{d}/st"], 2, "size"),
    ([*SMOOTH, "--size", "5", "--output", "{d}/st"], 2, "size"),
    (["lattice", "rates", "--kind", "smooth", "--amplitude", "0.1", "--correlation-length", "2",
      "--size", "5", "--output", "{d}/x.json"], 2, "size"),
    ([*SMOOTH[:-1], "inf", "--size", "10", "--output", "{d}/st"], 2, "correlation-length"),
    (["lattice", "disorder", "--kind", "smooth", "--amplitude", "inf", "--correlation-length",
      "2", "--output", "{d}/st"], 2, "amplitude"),
    (["lattice", "disorder", "--kind", "point", "--concentration", "nan", "--strength", "1",
      "--output", "{d}/st"], 2, "concentration"),
    (["lattice", "disorder", "--kind", "point", "--concentration", "0.1", "--strength", "1e308",
      "--output", "{d}/st"], 2, "strength"),
    (["lattice", "disorder", "--kind", "anderson", "--width", "1", "--emin=-inf",
      "--output", "{d}/st"], 2, "emin"),
    ([*DIS, "--workers", "0", "--output", "{d}/st"], 2, "workers"),
    ([*DIS, "--seed", "-1", "--output", "{d}/st"], 2, "seed"),
    ([*DIS, "--size", "1e3", "--output", "{d}/st"], 2, "size"),
    (["lattice", "rates", "--kind", "anderson", "--width", "1", "--eta", "nan",
      "--output", "{d}/x.json"], 2, "eta"),
    (["lattice", "rates", "--kind", "anderson", "--width", "1e308", "--output", "{d}/x.json"],
     2, "width"),
    (["lattice", "rates", "--kind", "anderson", "--width", "1", "--realizations", "1",
      "--output", "{d}/x.json"], 2, "realizations"),
    ([*Q, "--memory-limit", "0", "--output", "{d}/x.csv"], 2, "memory-limit"),
    ([*Q, "--memory-limit", "nan", "--output", "{d}/x.csv"], 2, "memory-limit"),
    # 4. (issue #26) every command estimates its size before allocating: the NS junction's
    # energies, momenta, thermal grid (a tiny T is a fine grid), barrier and gap mesh; Kwant's
    # band plot; the Green's-function polar mesh
    ([*CO, "--points", "1000000000", "--output", "{d}/x.csv"], 2, "points"),
    ([*CO, "--n-k", "1000000000", "--output", "{d}/x.csv"], 2, "n-k"),
    ([*CO, "--temperature", "1e-4", "--output", "{d}/x.csv"], 2, "temperature"),
    ([*CO, "--temperature", "1e-9", "--output", "{d}/x.csv"], 2, "temperature"),
    ([*CO, "--barrier-rows", "100000", "--output", "{d}/x.csv"], 2, "barrier-rows"),
    ([*CO, "--self-consistent", "--gap-mesh", "90000", "--memory-limit", "100",
      "--output", "{d}/x.csv"], 2, "gap-mesh"),
    ([*CO, "--field", "0:6:1000", "--n-k", "100000", "--memory-limit", "1",
      "--output", "{d}/x.csv"], 2, "n-k"),
    ([*LS, "--kwant-points", "9", "--output", "{d}/x.csv"], 2, "kwant-points"),
    ([*LS, "--kwant-plot", "{d}/k.png", "--kwant-points", "100000", "--output", "{d}/x.csv"],
     2, "kwant-points"),
    ([*LS, "--kwant-plot", "{d}/k.png", "--kwant-points", "3000", "--memory-limit", "10",
      "--output", "{d}/x.csv"], 2, "kwant-points"),
    ([*LD, "--n-theta", "100000", "--output", "{d}/x.csv"], 2, "n-theta"),
    ([*LD, "--n-radial", "100000", "--output", "{d}/x.csv"], 2, "n-radial"),
    ([*QT, "--field", "0:1:1000000", "--output", "{d}/x.csv"], 2, "field"),
    ([*QT, "--field", "0:1:20000", "--memory-limit", "1", "--output", "{d}/x.csv"], 2, "field"),
    # 5. messages name the options typed, not internals (xi_cut, energies)
    ([*LD, "--emax", "30", "--output", "{d}/x.csv"], 2, "emax"),
    ([*LD, "--emin=-30", "--output", "{d}/x.csv"], 2, "emin"),
    ([*LD, "--n-energies", "1", "--output", "{d}/x.csv"], 2, "n-energies"),
    (["lattice", "selfenergy", *PT, "--emax", "30", "--output", "{d}/x.csv"], 2, "emax"),
    # 6. nonsense refused: a k mesh that holds no Fermi-level state (was NaN with exit 0),
    # zero disorder where a rate is measured (was a "share" of round-off), one file for two
    # figures
    ([*LD, "--mesh", "1", "--output", "{d}/x.csv"], 2, "mesh"),
    ([*LD, "--mesh", "2", "--output", "{d}/x.csv"], 2, "mesh"),
    ([*LD, "--mesh", "4", "--output", "{d}/x.csv"], 2, "mesh"),
    (["lattice", "rates", "--kind", "anderson", "--width", "0", "--output", "{d}/x.json"],
     2, "width"),
    (["lattice", "rates", "--kind", "point", "--concentration", "0", "--strength", "1"],
     2, "concentration"),
    (["lattice", "rates", "--kind", "point", "--concentration", "0.1", "--strength", "0"],
     2, "strength"),
    (["lattice", "rates", "--kind", "smooth", "--amplitude", "0", "--correlation-length", "2"],
     2, "amplitude"),
    ([*LS, "--plot", "{d}/p.png", "--kwant-plot", "{d}/p.png", "--output", "{d}/x.csv"],
     2, "kwant-plot"),
    ([*LS, "--plot", "{d}/p.png", "--kwant-plot", "{d}/sub/../p.png", "--output", "{d}/x.csv"],
     2, "kwant-plot"),
    # 7. a folder the permission bits call writable but where no file can be made (/proc
    # even for root): found by creating a temporary file there, before computing
    *([([*cmd, "--output", "/proc/x.csv"], 2, "output") for cmd in (Q, LD, LS, CO)]
      + [([*DIS, "--output", "/proc/study"], 2, "output"),
         (["validate", "--quick", "--output", "/proc/rep"], 2, "output"),
         ([*LS, "--plot", "/proc/p.png", "--output", "{d}/x.csv"], 2, "plot")]
      if os.path.isdir("/proc/self") else []),
]


def _ids():
    out = []
    for case in CASES:
        args = case.values[0] if hasattr(case, "values") else case[0]
        words = [a for a in args if a not in ("--output",) and not a.startswith("{d}")]
        out.append(" ".join(words[:2] + words[-4:])[:60])
    return out


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(("args", "code", "option"), CASES, ids=_ids())
def test_hostile_call_is_refused_before_computing(hostile_dir, no_computing, capsys, args, code,
                                                  option):
    before = _tree(hostile_dir)
    argv = [a.format(d=hostile_dir) for a in args]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # One error line, naming the option as the user typed it.
    errors = [line for line in err.splitlines() if line.startswith("mirage: error:")]
    assert len(errors) == 1, err
    assert errors[0].startswith(f"mirage: error: {option}") and option in errors[0], err
    assert _tree(hostile_dir) == before  # nothing written, no temporary left


# ------------------------------------------------------------------ the guard in main


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (MemoryError(), 1, "out of memory"),
        (OSError(errno.ENOSPC, "No space left on device", "/data/x.csv"), 1, "No space left"),
        (OSError(errno.EIO, "Input/output error"), 1, "Input/output error"),
        (PermissionError(errno.EACCES, "Permission denied", "/x.csv"), 2, "Permission denied"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "in.csv"), 2, "in.csv"),
        (OverflowError("math range error"), 2, "too large"),
        (ParameterError("e_fermi", "must lie in (0, 40]"), 2, "e-fermi: must lie"),
    ],
)
def test_guard_turns_escaping_errors_into_one_line(monkeypatch, capsys, tmp_path, exc, code,
                                                   text):
    import mirage_cli.lattice.clean as clean

    def boom(args):
        raise exc

    monkeypatch.setattr(clean, "_spectrum", boom)
    argv = ["lattice", "spectrum", "--output", str(tmp_path / "x.csv")]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and text in err and len(err.strip().splitlines()) == 1
    # --debug, anywhere on the line, adds the traceback.
    for debug_argv in ([*argv, "--debug"], ["--debug", *argv]):
        assert main(debug_argv) == code
        assert "Traceback" in capsys.readouterr().err


class _ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_closed_pipe_is_not_an_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["doctor"]) == 0
    assert capsys.readouterr().err == ""


def test_closed_pipe_of_a_real_process():
    """``mirage doctor | head -1``: the reader exits after one line."""
    proc = subprocess.run(
        f"{sys.executable} -m mirage_cli doctor | head -1; exit ${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert proc.stdout.startswith("latticemirage ") and proc.stdout.count("\n") == 1
    assert proc.returncode == 0, proc.stderr
    assert "Error" not in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ overwrite policy


def test_existing_output_is_replaced_with_a_note(tmp_path, capsys):
    out = tmp_path / "dos.csv"
    out.write_text("old\n")
    args = [*Q, "--points", "201", "--emin", "-10", "--emax", "10", "--output", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"--output {out} exists and will be replaced" in err
    assert out.read_text().startswith("# meta: ")
    assert _tree(tmp_path) == ["dos.csv"]


def test_validate_accepts_an_earlier_report(tmp_path):
    from comparisons.validate import check_report_folder

    (tmp_path / "summary.json").write_text("{}")
    assert check_report_folder(tmp_path) == tmp_path
    (tmp_path / "summary.json").unlink()
    (tmp_path / "clean_dos_beta7.png").write_bytes(b"")  # a run stopped in its first stage
    assert check_report_folder(tmp_path) == tmp_path
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ParameterError, match="output"):
        check_report_folder(tmp_path)


# ------------------------------------------------------------------ a failed study


@pytest.mark.parametrize("existed", [False, True])
def test_failed_new_study_does_not_block_the_retry(monkeypatch, tmp_path, capsys, existed):
    from latticemirage.disorder import study

    folder = tmp_path / "st"
    if existed:
        folder.mkdir()  # the user's empty folder stays, without the study's files

    def crash(folder, spec, **kwargs):
        study.open_study(folder, spec)
        raise MemoryError  # as a worker that ran out of memory

    monkeypatch.setattr(study, "run_study", crash)
    assert main([*DIS, "--output", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "out of memory" in err and "removed the new study" in err
    assert _tree(tmp_path) == (["st"] if existed else [])
    # The corrected call (another size) is not refused as "a study with other parameters".
    monkeypatch.undo()
    monkeypatch.setattr(study, "run_study", lambda folder, spec, **kw: {"energy": []})
    assert main([*DIS[:-8], "--size", "12", *DIS[-6:], "--output", str(folder)]) == 0


# ------------------------------------------------------------------ --help


def test_every_option_has_a_help_line_and_numeric_defaults():
    from latticemirage.mapping import DEFAULT_DELTA0, DEFAULT_E_FERMI

    parser = build_parser(["--help"])
    leaves = [leaf for leaf in leaf_parsers(parser) if leaf.add_help]
    assert len(leaves) >= 9  # doctor, qc dos/gap/bc2, lattice spectrum/dos/gap/disorder/rates
    for leaf in leaves:
        for action in leaf._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{leaf.prog} {action.option_strings}: no help line"
            # Defaults as numbers, not as Python names.
            assert "latticemirage." not in action.help, (leaf.prog, action.help)
            assert "quasiclassical." not in action.help, (leaf.prog, action.help)
        assert "default: None" not in leaf.format_help(), leaf.prog
    lattice_dos = next(leaf for leaf in leaves if leaf.prog.endswith("lattice dos"))
    text = " ".join(lattice_dos.format_help().split())
    assert f"default {DEFAULT_E_FERMI:g})" in text and f"default {DEFAULT_DELTA0:g})" in text


# ------------------------------------------------------------------ properties

_FAST = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])
_finite = st.floats(-ABSURD, ABSURD, allow_nan=False)


@_FAST
@given(start=_finite, stop=_finite, num=st.integers(1, 2000))
def test_parse_range_is_linspace(start, stop, num):
    values = parse_range("field", f"{start!r}:{stop!r}:{num}")
    np.testing.assert_array_equal(values, np.linspace(start, stop, num))


@_FAST
@given(text=st.text(max_size=30) | st.from_regex(r"-?[0-9e.inaf]{0,6}(:-?[0-9e.inaf]{0,6}){0,3}",
                                                  fullmatch=True))
def test_parse_range_returns_bounded_values_or_names_the_option(text):
    try:
        values = parse_range("field", text, low=0)
    except ParameterError as exc:
        assert exc.name == "field" and str(exc).startswith("field: ")
        return
    assert 1 <= values.size <= MAX_SWEEP
    assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= ABSURD))


@_FAST
@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
def test_real_accepts_exactly_the_finite_numbers_in_range(value):
    parse = real(0, 10, low_open=True)
    text = repr(value) if isinstance(value, float) else value
    try:
        number = float(text)
    except ValueError:
        number = None
    ok = number is not None and math.isfinite(number) and 0 < number <= 10
    if ok:
        assert parse(text) == number
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


@_FAST
@given(value=st.integers(-10**12, 10**12))
def test_integer_bounds(value):
    parse = integer(1, 1000)
    if 1 <= value <= 1000:
        assert parse(str(value)) == value
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="must be >= 1 and <= 1000"):
            parse(str(value))


# Every numeric option of the commands: a non-finite or absurd value is refused at once.
_NUMERIC = [
    (Q, o) for o in ("--beta", "--phi", "--gamma", "--eta", "--emin", "--emax", "--delta",
                     "--points")
] + [(["lattice", "dos", "--delta", "1"], o)
     for o in ("--beta", "--field", "--temperature", "--phi", "--e-fermi", "--delta0-t",
               "--eta", "--mesh", "--gap-mesh", "--emin", "--emax", "--n-energies")
     ] + [(["lattice", "disorder", *PT], o)
          for o in ("--beta", "--field", "--delta", "--size", "--moments", "--vectors",
                    "--realizations", "--n-energies", "--workers", "--width", "--components")
          ] + [(["lattice", "rates", *PT], o) for o in ("--eta", "--size", "--e-fermi")]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(_NUMERIC),
       value=st.sampled_from(["nan", "inf", "-inf", "1e308", "-1e308", "1e7", "3e400", "",
                              "0x10", "1,5"])
       | st.floats(min_value=1.01e6, allow_infinity=True).map(repr))
def test_numeric_options_refuse_non_finite_and_absurd_values(tmp_path, capsys, case, value):
    base, option = case
    out = tmp_path / ("x.json" if "rates" in base else "x.csv")
    argv = [*base, f"{option}={value}", "--output", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mirage: error: {option[2:]}") and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_abandoned_empty_study_does_not_block_the_corrected_call(monkeypatch, tmp_path, capsys):
    """A study killed before its first realization (no cleanup ran) is replaced."""
    from latticemirage.disorder import study

    folder = tmp_path / "st"
    seen = []
    monkeypatch.setattr(study, "run_study",
                        lambda folder, spec, **kw: seen.append(spec.size) or {"energy": []})
    assert main([*DIS, "--output", str(folder)]) == 0  # leaves study.json, no realization
    assert (folder / study.SPEC_FILE).is_file()
    assert main([*DIS[:-8], "--size", "12", *DIS[-6:], "--output", str(folder)]) == 0
    assert "no finished realization; starting the new one" in capsys.readouterr().err
    assert study.open_study(folder).size == 12 and seen == [10, 12]
    # With a finished realization the folder is a study to resume: other parameters refused.
    (folder / study.REAL_DIR / "r00000.npz").write_bytes(b"")
    assert main([*DIS[:-8], "--size", "14", *DIS[-6:], "--output", str(folder)]) == 2
    assert "different parameters" in capsys.readouterr().err


# ------------------------------------------------------------------ names of internal meshes


@pytest.mark.parametrize(("args", "option"), [
    (["lattice", "dos", "--mesh", "20", "--gap-mesh", "2"], "gap-mesh"),
    (["lattice", "disorder", "--kind", "anderson", "--width", "0.3", "--size", "2",
      "--realizations", "2", "--self-consistent", "--moments", "50", "--allow-unresolved",
      "--quiet"], "size"),
])
def test_a_mesh_without_pairing_shell_names_the_option_typed(tmp_path, capsys, args, option):
    """The gap solver's own ``mesh`` error, raised by a real (cheap) build, names --gap-mesh
    or --size: the disorder command has no mesh option at all."""
    out = tmp_path / ("st" if "disorder" in args else "x.csv")
    assert main([*args, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mirage: error: {option}: ") and "pairing shell" in err, err
    assert "mesh:" not in err.replace("gap-mesh:", "") and f"--{option}" in err, err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ the MPI launcher


def _fake_mpiexec(folder, banner):
    """An ``mpiexec`` that prints *banner* for --version and fails like Open MPI's otherwise."""
    folder.mkdir()
    script = folder / "mpiexec"
    script.write_text(f"#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{banner}'; exit 0; fi\n"
                      "echo \"unknown option $1\" >&2; exit 1\n")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("command", [
    [*DIS, "--mpi"],
    ["validate", "--full-scale", "--mpi"],
])
def test_mpi_with_another_vendors_mpiexec_on_path_is_refused(tmp_path, command):
    """Open MPI's mpiexec first on PATH for an MPICH build: exit 2 naming both, nothing made.

    Run as a subprocess (importing mpi4py.MPI initializes MPI, which this test process
    should not do), with an environment free of launcher variables."""
    mpi4py = pytest.importorskip("mpi4py")
    del mpi4py
    vendor = subprocess.run([sys.executable, "-c", "from mpi4py import MPI; "
                             "print(MPI.get_vendor()[0])"], capture_output=True, text=True,
                            timeout=120, check=False).stdout.strip()
    if vendor not in ("MPICH", "Open MPI"):
        pytest.skip(f"mpi4py built on {vendor or 'no importable MPI'}")
    banner = "mpiexec (OpenRTE) 4.1.4" if vendor == "MPICH" else "HYDRA build details:"
    fake = _fake_mpiexec(tmp_path / "bin", banner)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI", "OMPI_", "SLURM_", "HYDRA", "MPI"))}
    env["PATH"] = os.pathsep.join([str(fake.parent), "/usr/bin", "/bin"])
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "mirage_cli", *command, "--output",
                          str(out)], env=env, capture_output=True, text=True, timeout=300,
                         check=False, cwd=tmp_path)
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.startswith("mirage: error: mpi: ") and "Traceback" not in run.stderr
    assert str(fake) in run.stderr and vendor in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]  # no study, no report


def test_mpi_rank_of_another_vendors_launcher_is_refused(tmp_path):
    """Started by Open MPI's mpiexec (its variables) while mpi4py uses MPICH: refused by name
    before mpi4py.MPI is imported in the process (MPICH would abort in MPI_Init)."""
    pytest.importorskip("mpi4py")
    vendor = subprocess.run([sys.executable, "-c", "from mpi4py import MPI; "
                             "print(MPI.get_vendor()[0])"], capture_output=True, text=True,
                            timeout=120, check=False).stdout.strip()
    if vendor != "MPICH":
        pytest.skip(f"mpi4py built on {vendor or 'no importable MPI'}, not MPICH")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI", "OMPI_", "SLURM_", "HYDRA", "MPI"))}
    env.update(OMPI_COMM_WORLD_SIZE="2", OMPI_COMM_WORLD_RANK="1")
    out = tmp_path / "st"
    run = subprocess.run([sys.executable, "-m", "mirage_cli", *DIS, "--mpi", "--output",
                          str(out)], env=env, capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "started by an mpiexec of Open MPI" in run.stderr and "MPICH" in run.stderr
    assert not out.exists()


def test_launcher_family_reads_the_version_banners(tmp_path):
    from mirage_common.parallel import launcher_family

    for i, (banner, family) in enumerate([
        ("mpiexec (OpenRTE) 4.1.4", "Open MPI"), ("mpiexec (Open MPI) 5.0.3", "Open MPI"),
        ("HYDRA build details:\n    Version: 4.2.0", "MPICH"),
        ("Intel(R) MPI Library for Linux* OS, Version 2021.10\nHYDRA", "Intel MPI"),
        ("something else", None),
    ]):
        assert launcher_family(_fake_mpiexec(tmp_path / str(i), banner)) == family
    assert launcher_family(tmp_path / "missing") is None


# ------------------------------------------------------------------ the estimates themselves


@pytest.mark.parametrize("temperature", [0.0, 0.003, 0.05, 0.5])
@pytest.mark.parametrize("points", [2, 41, 401])
def test_conductance_grid_is_counted_exactly_before_it_is_made(temperature, points):
    """The estimate's grid size is the length of the grid `energy_grid` then makes."""
    from latticemirage.conductance import STEP_KT, energy_grid

    seen = []
    _, grid = energy_grid(-3.0, 5.0, points, temperature, 50.0,
                          lambda n, option: seen.append((n, option)))
    assert seen[0][0] == len(grid)
    thermal = temperature > 0 and STEP_KT * temperature < 8.0 / (points - 1)
    assert seen[0][1] == ("temperature" if thermal else "points")


def test_estimates_grow_with_every_size_and_name_the_largest_part():
    from latticemirage import estimates

    base = estimates.conductance(401, 48, 1, 1)
    for bigger in (estimates.conductance(4010, 48, 1, 1), estimates.conductance(401, 480, 1, 1),
                   estimates.conductance(401, 48, 10, 1), estimates.conductance(401, 48, 1, 5)):
        assert bigger.nbytes > base.nbytes and bigger.seconds > base.seconds
    assert estimates.conductance(401, 48, 1, 100).option == "barrier-rows"
    assert estimates.conductance(401, 10**7, 1, 1).option == "n-k"
    assert estimates.conductance(1e6, 48, 1, 1, smeared=True,
                                 energy_option="temperature").option == "temperature"
    assert estimates.valley_green(10**5, 480, 11).option == "n-theta"
    assert estimates.valley_green(360, 10**5, 11).option == "n-radial"
    assert estimates.kwant_plot(100).nbytes > estimates.kwant_plot(31).nbytes
    with pytest.raises(ValueError, match="an estimate is >= 0"):
        estimates.Estimate(-1.0, 0.0, "points", "")


def test_two_outputs_naming_one_file_are_refused(tmp_path):
    from mirage_cli.options import check_distinct_outputs

    check_distinct_outputs({"output": tmp_path / "a.csv", "plot": tmp_path / "a.png",
                            "kwant-plot": None})
    (tmp_path / "sub").mkdir()
    with pytest.raises(ParameterError, match=r"^kwant-plot: .* is also the file of --plot"):
        check_distinct_outputs({"plot": tmp_path / "a.png",
                                "kwant-plot": tmp_path / "sub" / ".." / "a.png"})
