"""``mirage fit``: synthetic spectra fitted back, the warm-started gap, bad input (exit 2).

The full coverage check (profile-likelihood 95 % intervals over 40 noise seeds at true
Gamma = 0 and 40 at 0.2, 3 fields x 161 biases, all 6 free) is `benchmarks/bench_fit.py
--coverage 40`; here small fits (3 fields with Gamma fixed: one through the CLI, eight
seeds for the linearized errors; 2 fields for the profile intervals and the at-bound
semantics) keep the suite fast.
Fitting lattice-generated spectra: `tests/test_fit_lattice.py`.
"""

import json

import numpy as np
import pytest

from mirage_cli.main import main
from mirage_common.errors import ParameterError
from quasiclassical.fit import (
    Conditions,
    _gap,
    read_spectra,
    simulate_spectra,
    spectra_from_arrays,
    starting_values,
)
from quasiclassical.gap import solve_gap
from quasiclassical.params import QCParams

TRUTH = dict(beta_so=5.0, delta0=1.05, gamma=0.2, eta=0.03, norm=1.0, offset=0.01)
COND = Conditions(temperature=0.15, units="reduced")
BIASES = np.linspace(-8, 8, 161)


def _write(path, spectra, *, columns=("field", "bias", "didv", "didv_err")):
    with open(path, "w") as fh:
        fh.write("# a comment line\n" + ",".join(columns) + "\n")
        for j, f in enumerate(spectra.fields):
            for v, d, e in zip(spectra.biases[j], spectra.didv[j], spectra.errors[j],
                               strict=True):
                fh.write(f"{float(f)!r},{float(v)!r},{float(d)!r},{float(e)!r}\n")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    spectra = simulate_spectra(TRUTH, COND, [1.0, 2.0, 3.0], BIASES, noise=0.02, seed=1)
    path = tmp_path_factory.mktemp("fit") / "spectra.csv"
    _write(path, spectra)
    return spectra, path


def test_warm_started_gap_equals_full_solution():
    params = QCParams(beta=5, field=1.5, temperature=0.15, gamma=0.2)
    full = solve_gap(params).delta
    moved = params.replace(beta=5.01)
    # secant stops at |step| < 1e-11; solve_gap's brentq xtol is 1e-10
    assert _gap(moved, full) == pytest.approx(solve_gap(moved).delta, abs=1e-9)


def test_starting_values_from_the_mirage_centre(synthetic):
    spectra, _ = synthetic
    start, info = starting_values(spectra, COND)
    # eps0 = sqrt(beta^2 + B^2) at B = 3: 5.83; found on the 0.1-spaced bias grid, smoothed
    assert info["mirage_centre"] == pytest.approx(np.hypot(5.0, 3.0), abs=0.15)
    assert start["beta_so"] == pytest.approx(5.0, rel=0.05)
    # coherence peaks at the lowest field sit slightly above Delta(B=1) ~ 0.98 Delta0
    assert start["delta0"] == pytest.approx(1.05, rel=0.15)


def test_fit_recovers_truth_within_errors(synthetic, tmp_path):
    _, path = synthetic
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "--units", "reduced", "--temperature", "0.15",
                 "--fix", "gamma=0.2", "--bc2-temperatures", "0.5,0.9",
                 "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    p = report["parameters"]
    pulls = {n: (p[n] - TRUTH[n]) / p[f"{n}_stderr"] for n in report["free"]}
    # one fixed noise seed; measured pulls: beta 0.67, delta0 -1.17, eta -1.01, norm -0.98,
    # offset -0.86. 3 sigma: a correct fit with correct errors fails 0.3 % per parameter
    assert all(abs(v) < 3 for v in pulls.values()), pulls
    assert report["fixed"] == ["gamma"] and p["gamma_stderr"] == 0
    assert p["gamma_interval95"] is None and p["gamma_at_bound"] is False
    for n in report["free"]:
        low, high = p[f"{n}_interval95"]
        assert p[f"{n}_at_bound"] is False and low < p[n] < high
        # 480 points, 5 parameters: the model is near-linear over +-2 sigma, so the
        # profile interval is x +- 1.96 sigma up to the root tolerance (~1.5 % of the width)
        assert (high - low) / (2 * 1.96 * p[f"{n}_stderr"]) == pytest.approx(1, abs=0.05)
    # 478 dof (+-0.065 is 1 sigma): this seed's noise has chi2 = 399.6 at the truth itself
    # (0.836 per dof, measured with a noise-free copy); the fit's is 395.9, i.e. 0.828
    assert 0.75 < report["goodness_of_fit"]["reduced_chi2"] < 1.25
    assert p["beta_so_reduced"] == pytest.approx(p["beta_so"] / p["delta0"], rel=1e-12)
    assert len(report["residuals_per_field"]) == 3
    assert report["bc2"]["bc2_reduced"][0] > report["bc2"]["bc2_reduced"][1] > 0
    assert "q = 0" in report["bc2"]["assumption"]


def test_read_drops_nan_rows_and_reports(tmp_path):
    rows = [(f, v, 1.0) for f in (0.0, 1.0) for v in np.linspace(-5, 5, 12)]
    path = tmp_path / "s.csv"
    # NaN dI/dV: a missing measurement, dropped (NaN field or bias: refused, test_fit_input)
    path.write_text("field_T,bias_mV,didv\n" + "".join(f"{f},{v},{d}\n" for f, v, d in rows)
                    + "1.0,5.5,nan\n1.0,0.3,NaN\n")
    spectra = read_spectra(path)
    assert spectra.dropped == 2 and spectra.size == 24 and spectra.errors is None
    assert spectra.dropped_lines == ("line 26", "line 27")


def _mirage_free_file(tmp_path):
    """Fields so small that the mirage width 2 Delta B / eps0 is far below k_B T."""
    spectra = simulate_spectra(TRUTH, COND, [0.0, 0.02], BIASES, noise=0.02, seed=2)
    path = tmp_path / "flat.csv"
    _write(path, spectra)
    return path


@pytest.mark.parametrize("content, message", [
    ("field,bias,signal\n1,0,1\n", "missing column"),
    ("field,bias,didv\n" + "".join(f"1,{v},1\n" for v in range(12)) + "2,0.5,abc\n",
     "not a number"),
    ("field,bias,didv\n" + "".join(f"1,{v},1\n" for v in range(20)), "2 fields"),
    ("field_T,bias_mV,didv\n1,0,1\n", "use --units physical"),
])
def test_malformed_files_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "--units", "reduced", "--temperature", "0.15",
                 "--output", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "input:" in err and message in err


def test_no_mirage_feature_exit_2(tmp_path, capsys):
    out = tmp_path / "fit.json"
    assert main(["fit", str(_mirage_free_file(tmp_path)), "--units", "reduced",
                 "--temperature", "0.15", "--output", str(out)]) == 2
    assert not out.exists() and "no mirage feature" in capsys.readouterr().err


@pytest.mark.parametrize("extra, option", [
    (["--temperature-K", "0.3"], "temperature-K"),  # physical option in reduced units
    (["--temperature", "0.15", "--fix", "eta"], "fix"),
    (["--temperature", "0.15", "--fix", "kappa=1"], "fix"),
    (["--temperature", "0.15", "--bound", "gamma=1"], "bound"),
    (["--temperature", "-1"], "temperature"),
    (["--temperature", "0.15", "--bc2-temperatures", "0.5,1.5"], "bc2-temperatures"),
])
def test_bad_options_exit_2(synthetic, tmp_path, capsys, extra, option):
    _, path = synthetic
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "--units", "reduced", *extra, "--output", str(out)]) == 2
    assert not out.exists() and f"{option}:" in capsys.readouterr().err


def test_spectra_validation():
    with pytest.raises(ParameterError, match="fields must be >= 0"):
        spectra_from_arrays([-1.0] * 12 + [1.0] * 12, list(range(24)), [1.0] * 24,
                            units="reduced")
    with pytest.raises(ParameterError, match="didv_err must be > 0"):
        spectra_from_arrays([0.0] * 12 + [1.0] * 12, list(range(24)), [1.0] * 24,
                            [0.0] * 24, units="reduced")


def test_reads_qc_tunneling_output(tmp_path):
    """The long table of ``mirage qc tunneling --units physical`` is a valid fit input."""
    out = tmp_path / "g.csv"
    assert main(["qc", "tunneling", "--units", "physical", "--material", "MoS2", "--field",
                 "0:20:2", "--temperature", "1.5", "--eta", "0.03", "--emin", "-6", "--emax",
                 "6", "--points", "41", "--output", str(out)]) == 0
    spectra = read_spectra(out)
    np.testing.assert_allclose(spectra.fields, [0.0, 20.0])
    assert spectra.size == 82 and spectra.errors is None
    np.testing.assert_allclose(spectra.biases[1], np.linspace(-6, 6, 41), atol=1e-9)


def test_reduced_input_reads_the_lattice_conductance_columns(tmp_path):
    # `mirage lattice conductance` writes field, energy (eV in Delta0) and conductance.
    path = tmp_path / "g.csv"
    rows = ["# metadata line", "field,energy,conductance"]
    for b in (1.0, 2.0):
        rows += [f"{b},{e},{1 + 0.01 * e}" for e in np.linspace(-3, 3, 40)]
    path.write_text("\n".join(rows) + "\n")
    spectra = read_spectra(path, units="reduced")
    assert len(spectra.fields) == 2
    assert spectra.fields[0] == 1.0 and spectra.biases[0].size == 40


def test_error_coverage_over_noise_seeds():
    """The reported 1-sigma errors are honest: truth within 2 sigma in >= 90 % of estimates.

    Eight noise seeds of the small data set (3 fields x 161 biases, Gamma fixed): 40
    estimates of the 5 free parameters. With correct errors each misses 2 sigma with
    probability 4.6 % (1.8 expected misses, at most 4 allowed); errors underestimated by a
    factor 2 would miss 32 % (13 expected) and fail. Measured: 39/40 within 2 sigma (97.5 %),
    pull standard deviation 0.96, largest |pull| 2.18. The profile-interval coverage with Gamma
    free (2 x 40 seeds: 96.2 % at Gamma = 0, 93.3 % at 0.2) is `benchmarks/bench_fit.py`.
    """
    from quasiclassical.fit import fit_spectra

    pulls = []
    for seed in range(11, 19):
        spectra = simulate_spectra(TRUTH, COND, [1.0, 2.0, 3.0], BIASES, noise=0.02, seed=seed)
        result = fit_spectra(spectra, COND, fixed={"gamma": TRUTH["gamma"]}, profile=False)
        pulls += [(result.values[n] - TRUTH[n]) / result.stderr[n] for n in result.free]
    assert len(pulls) == 40
    within = np.mean(np.abs(pulls) < 2)
    assert within >= 0.9, (within, np.round(pulls, 2))


# ---- profile-likelihood intervals and parameters at a bound (issue 23, item 3) ----------
# Smaller data set for speed: 2 fields x 121 biases, eta, norm and offset fixed at the
# truth, beta_so, delta0 and gamma free; the full coverage (3 fields x 161 biases, all 6
# free, 40 seeds at Gamma = 0 and 40 at 0.2) is `benchmarks/bench_fit.py --coverage 40`.
SMALL_BIASES = np.linspace(-8, 8, 121)
SMALL_FIELDS = [1.5, 3.0]
KNOWN = {"eta": 0.03, "norm": 1.0, "offset": 0.01}


def _small(gamma, seed):
    truth = {**TRUTH, "gamma": gamma}
    return truth, simulate_spectra(truth, COND, SMALL_FIELDS, SMALL_BIASES, noise=0.03,
                                   seed=seed)


@pytest.fixture(scope="module")
def small_fits():
    """Seeds 100, 103 (true Gamma = 0: the fit lands on Gamma = 0) and 100, 101 (0.2)."""
    from quasiclassical.fit import fit_spectra

    out = []
    for gamma, seed in ((0.0, 100), (0.0, 103), (0.2, 100), (0.2, 101)):
        truth, spectra = _small(gamma, seed)
        out.append((truth, spectra, fit_spectra(spectra, COND, fixed=KNOWN)))
    return out


def test_profile_intervals_cover_the_truth_reduced(small_fits):
    """12 intervals (3 parameters x 4 fits): with correct 95 % intervals 0.6 misses are
    expected and P(>= 3 misses) = 2 %; intervals too narrow by 2 (68 % coverage) would miss
    3.8 on average and fail with probability 73 %. The 90 % criterion over 2 x 40 seeds is
    the benchmark's."""
    covered = []
    for truth, _, result in small_fits:
        covered += [result.interval95[n][0] <= truth[n] <= result.interval95[n][1]
                    for n in result.free]
    assert len(covered) == 12 and sum(covered) >= 10, covered


@pytest.mark.slow
def test_mcmc_intervals_cover_the_truth_reduced(small_fits):
    """``mirage fit --mcmc`` posterior 95 % intervals (`sample_posterior`: central, or
    one-sided where the bound cuts the posterior) on the same 4 fits: 12 intervals, at
    least 10 must cover (binomial: with true 95 % intervals P(>= 3 misses) = 2 %; intervals
    too narrow by 2 would fail with probability 73 %). Short chains with the defaults (16
    walkers, DE move, started from the Laplace approximation, a quarter discarded) x 12 steps:
    the evaluations of the former 8 walkers x 24 steps. On a Gaussian posterior this
    configuration covers 91.3 % by itself (the sampler's Monte Carlo error;
    `benchmarks/bench_mcmc_sampler.py`), so the check passes with probability ~0.9 and
    catches grossly narrow intervals only; the 90 % criterion is the benchmark's
    (`benchmarks/bench_fit.py --mcmc-coverage`, docs/topics/fit.md)."""
    from quasiclassical.fit import sample_posterior

    covered = []
    for k, (truth, spectra, result) in enumerate(small_fits):
        chain = sample_posterior(spectra, COND, result, steps=12, seed=40 + k)
        assert chain["walkers"] == 16 and chain["move"] == "de" and chain["discarded"] == 3
        for n in result.free:
            p = chain["parameters"][n]
            lo, hi = p["interval95"]
            covered.append(lo <= truth[n] <= hi)
            assert p["p2_5"] <= p["median"] <= p["p97_5"]
        if result.at_bound["gamma"]:  # the fit on the bound: one-sided from it
            assert chain["parameters"]["gamma"]["interval95"][0] == 0.0
            assert chain["parameters"]["gamma"]["one_sided"]
    assert len(covered) == 12 and sum(covered) >= 10, covered


def test_parameter_at_bound_has_a_one_sided_limit(small_fits):
    for _, _, result in small_fits[:2]:
        assert result.at_bound["gamma"] == -1 and result.values["gamma"] < 1e-8
        assert np.isnan(result.stderr["gamma"])  # no +- error at a bound
        low, high = result.interval95["gamma"]
        # one-sided: from the bound to the Delta chi^2 = 2.71 limit, which must exceed the
        # noise-limited resolution (a few 1e-3 Delta0 for this data set) and cover truth 0
        assert low == 0.0 and 1e-3 < high < 0.1
        # the parameters not at a bound keep finite linearized errors and two-sided intervals
        for n in ("beta_so", "delta0"):
            assert np.isfinite(result.stderr[n]) and result.at_bound[n] == 0
            assert result.interval95[n][0] < result.values[n] < result.interval95[n][1]
    for _, _, result in small_fits[2:]:
        assert result.at_bound["gamma"] == 0 and np.isfinite(result.stderr["gamma"])


def test_profile_end_equals_an_independent_constrained_fit(small_fits):
    """At the upper end of beta_so's interval, a full least-squares fit with beta_so fixed
    there (the others free, a separate optimizer run) has chi2 = chi2_min + 3.84."""
    from quasiclassical.fit import DCHI2_TWO_SIDED, fit_spectra

    _, spectra, result = small_fits[2]
    high = result.interval95["beta_so"][1]
    refit = fit_spectra(spectra, COND, fixed={**KNOWN, "beta_so": high}, profile=False)
    # root tolerance |sqrt(dchi2) - 1.96| < 0.03 -> dchi2 within 0.12; inner minimization
    # stops at chi2 changes < 0.01; least_squares ftol 1e-6 x chi2 (~250) ~ 3e-4
    assert refit.chi2 - result.chi2 == pytest.approx(DCHI2_TWO_SIDED, abs=0.15)


def test_report_at_bound_keys(tmp_path):
    """fit.json: at a bound KEY_stderr is null, KEY_at_bound true, KEY_interval95 one-sided."""
    _, spectra = _small(0.0, 100)
    path = tmp_path / "g0.csv"
    _write(path, spectra)
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "--units", "reduced", "--temperature", "0.15",
                 "--fix", "eta=0.03", "--fix", "norm=1", "--fix", "offset=0.01",
                 "--profile", "none", "--bc2-temperatures", "none", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    p = report["parameters"]
    assert p["gamma_at_bound"] is True and p["gamma_stderr"] is None
    assert p["gamma_interval95"][0] == 0 and p["gamma_interval95"][1] > 0
    assert p["gamma_reduced_at_bound"] is True and p["gamma_reduced_stderr"] is None
    assert report["errors"]["at_bound"] == {"gamma": "lower"}
    # --profile none: the others keep their linearized errors, no interval
    assert p["beta_so_at_bound"] is False and p["beta_so_interval95"] is None
    assert p["beta_so_stderr"] > 0
