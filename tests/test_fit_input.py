"""``mirage fit`` input rules: every bad file or contradictory option exits 2, before fitting.

Table-driven: each case is a file edit or an option list, the option the message must
name (``input`` for the file) and a fragment of the message (the line, column or option).
The rules are in `quasiclassical.fit.read_spectra` and `check_parameter_options`, and
the memory estimate in `quasiclassical.fit.estimate_memory`. No case reaches the
least-squares fit (all are refused in well under a second).
"""

import json

import numpy as np
import pytest

from mirage_cli.main import main
from quasiclassical.fit import Conditions, read_spectra, simulate_spectra

TRUTH = dict(beta_so=5.0, delta0=1.05, gamma=0.2, eta=0.03, norm=1.0, offset=0.01)
COND = Conditions(temperature=0.15, units="reduced")
HEADER = "field,bias,didv,didv_err"


BIASES = np.linspace(-8, 8, 41)


def _rows(fields=(1.0, 2.0), biases=BIASES):
    return [f"{f!r},{float(v)!r},1.0,0.02" for f in fields for v in biases]


def _run(tmp_path, text, *options, binary=None):
    path = tmp_path / "in.csv"
    if binary is not None:
        path.write_bytes(binary)
    else:
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "fit.json"
    code = main(["fit", str(path), "--units", "reduced", "--temperature", "0.15", *options,
                 "--output", str(out)])
    return code, out


def _duplicate_row():
    rows = _rows()
    return "\n".join([HEADER, *rows[:5], rows[3], *rows[5:]]) + "\n"


def _equal_biases():
    rows = _rows()
    other = rows[3].replace(",1.0,0.02", ",1.5,0.02")
    return "\n".join([HEADER, *rows, other]) + "\n"


def _every_row_twice():
    rows = _rows()
    return "\n".join([HEADER, *rows, *rows]) + "\n"


BAD_FILES = [
    # (id, text, message fragment)
    ("duplicated row", _duplicate_row(), "line 5 and line 7: the same row twice"),
    ("every row twice", _every_row_twice(), "the same row twice"),
    ("equal biases", _equal_biases(), "two dI/dV values at equal biases"),
    ("duplicated column", "field,bias,didv,didv\n" + "\n".join(_rows()) + "\n",
     "line 1: column 'didv' appears twice (columns 3 and 4)"),
    ("NaN field", "\n".join([HEADER, *_rows(), "nan,0.1,1.0,0.02"]) + "\n",
     "line 84: column 'field' is NaN"),
    ("NaN bias", "\n".join([HEADER, *_rows(), "1.0,NaN,1.0,0.02"]) + "\n",
     "line 84: column 'bias' is NaN"),
    ("infinite didv", "\n".join([HEADER, *_rows()[:-1], "2.0,8.0,inf,0.02"]) + "\n",
     "line 83: column 'didv': infinite value"),
    ("zero error", "\n".join([HEADER, "1.0,0.05,1.0,0", *_rows()]) + "\n",
     "line 2: column 'didv_err': didv_err must be > 0"),
    ("negative field", "\n".join([HEADER, "-1.0,0.05,1.0,0.02", *_rows()]) + "\n",
     "line 2: column 'field': fields must be >= 0"),
    ("short row", "\n".join([HEADER, *_rows()[:3], "1.0,0.05"]) + "\n",
     "line 5: 2 values for 4 columns"),
    ("text in a number", "\n".join([HEADER, *_rows()[:3], "1.0,abc,1,0.02"]) + "\n",
     "line 5: column 'bias': not a number"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in BAD_FILES],
                         ids=[c[0] for c in BAD_FILES])
def test_bad_files_exit_2_naming_line_or_column(tmp_path, capsys, text, message):
    code, out = _run(tmp_path, text)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists(), err
    assert "input:" in err and message in err, err


@pytest.mark.parametrize("payload, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "line 3: a NUL byte: this is a binary file"),
    (b"field,bias,didv\n1,0,\xff\xfe1\n", "line 2: byte 20 is not UTF-8"),
], ids=["NUL bytes", "not UTF-8"])
def test_binary_files_exit_2(tmp_path, capsys, payload, message):
    code, out = _run(tmp_path, None, binary=payload)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists() and message in err, err


def test_bom_is_stripped(tmp_path):
    """A UTF-8 byte-order mark (Excel's "CSV UTF-8") does not become part of 'field'."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([HEADER, *_rows()]) + "\n").encode())
    spectra = read_spectra(path, units="reduced")
    np.testing.assert_array_equal(spectra.fields, [1.0, 2.0])
    assert spectra.size == 82


def test_nan_didv_rows_are_dropped_with_their_lines(tmp_path):
    rows = _rows()
    rows[4] = rows[4].replace(",1.0,0.02", ",nan,0.02")
    rows[50] = rows[50].replace(",1.0,0.02", ",1.0,NaN")
    path = tmp_path / "nan.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    spectra = read_spectra(path, units="reduced")
    # header is line 1: rows[4] is line 6, rows[50] line 52
    assert spectra.dropped == 2 and spectra.dropped_lines == ("line 6", "line 52")
    assert spectra.size == 80


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    spectra = simulate_spectra(TRUTH, COND, [1.0, 2.0, 3.0], np.linspace(-8, 8, 81),
                               noise=0.02, seed=3)
    path = tmp_path_factory.mktemp("fitin") / "good.csv"
    lines = [HEADER]
    for j, f in enumerate(spectra.fields):
        lines += [f"{float(f)!r},{float(v)!r},{float(d)!r},0.02"
                  for v, d in zip(spectra.biases[j], spectra.didv[j], strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


BAD_OPTIONS = [
    # (id, options, option named, message fragment)
    ("fix and empty bound", ["--fix", "gamma=0.2", "--bound", "gamma=5:1"], "bound",
     "gamma is fixed (--fix gamma=0.2); a bound 5:1 on a fixed parameter"),
    ("fix and bound", ["--fix", "gamma=0.2", "--bound", "gamma=0:1"], "bound",
     "gamma is fixed"),
    ("start of a fixed parameter", ["--fix", "gamma=0.2", "--start", "gamma=3"], "start",
     "gamma is fixed (--fix gamma=0.2); a start value (3)"),
    ("fixed twice", ["--fix", "gamma=0.2", "--fix", "gamma=0.5"], "fix",
     "gamma given twice"),
    ("bound twice", ["--bound", "gamma=0:1", "--bound", "gamma=0:2"], "bound",
     "gamma given twice"),
    ("start twice", ["--start", "beta_so=4", "--start", "beta_so=6"], "start",
     "beta_so given twice"),
    ("empty bound", ["--bound", "gamma=5:1"], "bound", "gamma: empty interval 5:1"),
    ("NaN bound", ["--bound", "gamma=nan:1"], "bound", "not a number interval"),
    ("start outside bound", ["--bound", "gamma=0:1", "--start", "gamma=3"], "start",
     "gamma: start 3 outside its bounds"),
    ("negative fixed gamma", ["--fix", "gamma=-0.1"], "fix", "gamma must be >= 0"),
    ("zero start delta0", ["--start", "delta0=0"], "start", "delta0 must be > 0"),
    ("tc_K bound", ["--bound", "tc_K=1:2"], "bound", "tc_K can only be fixed"),
    ("unknown profile name", ["--profile", "kappa"], "profile", "expected all, none"),
    ("huge fixed beta", ["--fix", "beta_so=1e6"], "fix beta_so",
     "Matsubara frequencies"),
    ("tiny temperature", ["--temperature", "1e-7"], "temperature", "Matsubara frequencies"),
    # normal sizes (~150 MB): beta_so/Delta0 = 4 from the data sets the count ("input")
    ("memory limit", ["--memory-limit", "0.01"], "input", "more than the 10 MB --memory-limit"),
    ("thermally flat", ["--temperature", "1e3"], "temperature",
     "exceeds the bias window"),
]


@pytest.mark.parametrize("options, option, message", [c[1:] for c in BAD_OPTIONS],
                         ids=[c[0] for c in BAD_OPTIONS])
def test_bad_options_exit_2_naming_the_option(good_file, tmp_path, capsys, options, option,
                                              message):
    out = tmp_path / "fit.json"
    code = main(["fit", str(good_file), "--units", "reduced", "--temperature", "0.15",
                 *options, "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists(), err
    assert f"{option}:" in err and message in err, err


def test_tc_fixed_and_delta0_started_exit_2(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text("field_T,bias_mV,didv\n" + "\n".join(
        f"{f},{float(v)!r},1.0" for f in (1.0, 2.0) for v in BIASES) + "\n")
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "--temperature-K", "0.3", "--fix", "tc_K=3", "--start",
                 "delta0=0.5", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert not out.exists() and "start: delta0 is fixed through --fix tc_K" in err, err


def test_memory_message_carries_the_estimate(good_file, tmp_path, capsys):
    out = tmp_path / "fit.json"
    assert main(["fit", str(good_file), "--units", "reduced", "--temperature", "0.15",
                 "--fix", "beta_so=1e6", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    # beta/Delta0 = 1e6/1.05 (start delta0 from the coherence peaks, ~1.05): ~1e6 x 10 /
    # (2 pi 0.085) ~ 2e7 frequencies x 1.5 MB ~ 3e13 B: tens of TB, far beyond any machine
    assert "this run needs about" in err and "TB" in err and "--memory-limit" in err, err


def test_gamma_without_finite_field_spectra_is_refused_before_fitting(tmp_path, capsys):
    """Fields of 0 and 0.05 Delta0: Gamma changes the DOS by ~1e-10 at B = 0, so the data
    cannot fix it; refused with the reason (beta_so given, so no mirage dip is needed)."""
    spectra = simulate_spectra(TRUTH, COND, [0.0, 0.05], np.linspace(-8, 8, 81),
                               noise=0.02, seed=4)
    path = tmp_path / "lowfield.csv"
    lines = [HEADER]
    for j, f in enumerate(spectra.fields):
        lines += [f"{float(f)!r},{float(v)!r},{float(d)!r},0.02"
                  for v, d in zip(spectra.biases[j], spectra.didv[j], strict=True)]
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "--units", "reduced", "--temperature", "0.15",
                 "--start", "beta_so=5", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert not out.exists()
    assert "gamma cannot be fixed by these data" in err and "no effect at B = 0" in err, err
    # 0.05 nominal Delta0 over the start delta0 (~1.3 from the B = 0 coherence peaks)
    assert "--fix gamma=VALUE" in err and "Zeeman energy here is 0.0" in err, err


def test_good_file_passes_the_same_checks(good_file, tmp_path):
    """The checks refuse only what they should: the table's base file fits (Gamma fixed)."""
    out = tmp_path / "fit.json"
    assert main(["fit", str(good_file), "--units", "reduced", "--temperature", "0.15",
                 "--fix", "gamma=0.2", "--profile", "none", "--bc2-temperatures", "none",
                 "--output", str(out)]) == 0
    assert json.loads(out.read_text())["fixed"] == ["gamma"]
