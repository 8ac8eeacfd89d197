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

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root writes into read-only folders

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
]


def _ids():
    out = []
    for case in CASES:
        args = case.values[0] if hasattr(case, "values") else case[0]
        words = [a for a in args if a not in ("--output",) and not a.startswith("{d}")]
        out.append(" ".join(words[:2] + words[-4:])[:60])
    return out


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


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


class _Computing(Exception):
    """Raised by the patched computations: a hostile call got past the checks."""


@pytest.fixture
def no_computing(monkeypatch):
    """Every computation of every command raises `_Computing` (not caught by `main`)."""
    import latticemirage.disorder.rates
    import latticemirage.disorder.study
    import latticemirage.dos
    import latticemirage.gap
    import latticemirage.spectrum
    import mirage_cli.qc
    import mirage_cli.validate

    def computing(*args, **kwargs):
        raise _Computing("a hostile call reached the computation")

    for module, names in (
        (mirage_cli.qc, ("solve_gap", "density_of_states", "critical_field_line")),
        (latticemirage.dos, ("clean_dos",)),
        (latticemirage.spectrum, ("fermi_zoom", "band_path")),
        (latticemirage.disorder.study, ("run_study",)),
        (latticemirage.disorder.rates, ("measure_rates",)),
        (mirage_cli.validate, ("run_validation",)),
    ):
        for name in names:
            monkeypatch.setattr(module, name, computing)
    monkeypatch.setattr(latticemirage.gap.GapSolver, "build", computing)


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
