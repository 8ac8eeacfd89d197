"""mirage_common.statistics against the implementations it replaced and by hand.

The four jackknives that lived in ``latticemirage.disorder.{rates,selfenergy,study}``
(and the standard errors of ``kpm`` and ``selfconsistent``) are copied here verbatim
from the commit before the move, so the shared module is checked to give the same
numbers on random data (same operations in the same order: bitwise equal).
"""

import numpy as np
import pytest

from mirage_common import statistics as st

# --- the replaced implementations, verbatim -------------------------------------------


def _old_rates_jackknife(values_fn, samples):
    r = len(samples)
    full = values_fn(samples.mean(axis=0))
    if r < 2:
        return full, np.nan
    total = samples.sum(axis=0)
    loo = np.array([values_fn((total - samples[i]) / (r - 1)) for i in range(r)])
    return full, float(np.sqrt((r - 1) / r * np.sum((loo - loo.mean()) ** 2)))


def _old_selfenergy_jackknife(samples, fn):
    r = len(samples)
    full = fn(samples.mean(axis=0))
    if r < 2:
        return full, np.full(full.shape, np.nan), np.full(full.shape, np.nan)
    total = samples.sum(axis=0)
    loo = np.array([fn((total - samples[i]) / (r - 1)) for i in range(r)])
    scale = np.sqrt((r - 1) / r)
    err_re = scale * np.sqrt(np.sum((loo.real - loo.real.mean(axis=0)) ** 2, axis=0))
    err_im = scale * np.sqrt(np.sum((loo.imag - loo.imag.mean(axis=0)) ** 2, axis=0))
    return full, err_re, err_im


def _old_ratio_of_averages(numerators, denominators):
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    r = num.shape[0]
    total_num, total_den = np.sum(num, axis=0), np.sum(den, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = total_num / total_den
        if r < 2:
            return ratio, np.full_like(ratio, np.nan)
        loo = (total_num - num) / (total_den - den)
        spread = np.sum((loo - np.sum(loo, axis=0) / r) ** 2, axis=0)
    return ratio, np.sqrt((r - 1) / r * spread)


def _old_mean_and_stderr(samples):
    x = np.asarray(samples, dtype=float)
    r = x.shape[0]
    total = np.sum(x, axis=0)
    mean = total / r
    if r < 2:
        return mean, np.full_like(mean, np.nan)
    loo = (total - x) / (r - 1)
    spread = np.sum((loo - np.sum(loo, axis=0) / r) ** 2, axis=0)
    return mean, np.sqrt((r - 1) / r * spread)


# --------------------------------------------------------------------------------------

SIZES = (1, 2, 3, 7, 16)


@pytest.mark.parametrize("r", SIZES)
def test_jackknife_equals_the_rates_one(r):
    rng = np.random.default_rng(np.random.SeedSequence([25, r]))
    nk = 5
    samples = rng.normal(size=(r, nk + 2)) + 1j * rng.normal(size=(r, nk + 2)) + 3.0

    def gamma_of(mean):  # the shapes of rates.measure_rates' functions
        return float(np.mean(np.imag(1.0 / mean[:nk]) - 0.02))

    def fraction_of(mean):
        return float(mean[nk].real / mean[nk + 1].real)

    for fn in (gamma_of, fraction_of, lambda m: gamma_of(m) * fraction_of(m)):
        new, old = st.jackknife(samples, fn), _old_rates_jackknife(fn, samples)
        assert type(new[1]) is type(old[1]) is float
        np.testing.assert_array_equal(new, old)  # same operations: bitwise equal


@pytest.mark.parametrize("r", SIZES)
def test_jackknife_complex_equals_the_selfenergy_one(r):
    rng = np.random.default_rng(np.random.SeedSequence([26, r]))
    samples = rng.normal(size=(r, 4, 3, 2, 2)) + 1j * rng.normal(size=(r, 4, 3, 2, 2))

    def sigma_of(mean):  # a nonlinear complex function of the mean, as Σ̂ = G0⁻¹ − G⁻¹
        return np.linalg.inv(mean + 3 * np.eye(2)).sum(axis=1)

    def gamma_of(mean):  # a real one (its imaginary error is 0)
        return np.abs(mean).mean(axis=(1, 2, 3))

    for fn in (sigma_of, gamma_of):
        new, old = st.jackknife_complex(samples, fn), _old_selfenergy_jackknife(samples, fn)
        for a, b in zip(new, old, strict=True):
            np.testing.assert_array_equal(a, b)  # same operations: bitwise equal


@pytest.mark.parametrize("r", SIZES)
def test_ratio_of_averages_and_mean_and_stderr_equal_the_study_ones(r):
    rng = np.random.default_rng(np.random.SeedSequence([27, r]))
    normal = rng.uniform(0.5, 1.5, size=(r, 9))
    sc = normal * rng.uniform(0.0, 2.0, size=(r, 9))
    for a, b in zip(st.ratio_of_averages(sc, normal), _old_ratio_of_averages(sc, normal),
                    strict=True):
        np.testing.assert_array_equal(a, b)  # same operations: bitwise equal
    for a, b in zip(st.mean_and_stderr(sc), _old_mean_and_stderr(sc), strict=True):
        np.testing.assert_array_equal(a, b)  # same operations: bitwise equal


@pytest.mark.parametrize("r", SIZES)
def test_standard_error_equals_the_kpm_and_selfconsistent_ones(r):
    rng = np.random.default_rng(np.random.SeedSequence([28, r]))
    per_vector = rng.normal(size=(r, 11))
    x = per_vector[:, 0]
    if r > 1:
        np.testing.assert_array_equal(  # kpm.kpm_dos, verbatim: bitwise equal
            st.standard_error(per_vector), per_vector.std(axis=0, ddof=1) / np.sqrt(r))
        assert float(st.standard_error(x)) == float(x.std(ddof=1) / np.sqrt(x.size))
    else:
        assert np.isnan(st.standard_error(per_vector)).all()
        assert np.isnan(st.standard_error(x))


def test_jackknife_of_the_mean_is_the_textbook_standard_error():
    # Independent of the code above: the jackknife of the identity is s / sqrt(R).
    rng = np.random.default_rng(np.random.SeedSequence([29]))
    x = rng.normal(size=(12, 4))
    value, err = st.jackknife(x, lambda m: m)
    np.testing.assert_allclose(value, x.mean(axis=0), rtol=1e-14)  # round-off of the sums
    # round-off: the leave-one-out means differ from x̄ in the 16th digit only
    np.testing.assert_allclose(err, x.std(axis=0, ddof=1) / np.sqrt(12), rtol=1e-12)
    _, err2 = st.mean_and_stderr(x)
    np.testing.assert_allclose(err2, err, rtol=1e-12)  # same quantity, summed differently
    _, re, im = st.jackknife_complex(x + 2j * x, lambda m: m)
    np.testing.assert_allclose(im, 2 * re, rtol=1e-12)  # Im is twice Re: round-off only


def test_ratio_jackknife_by_hand():
    # Three samples, ratios of averages without each one written out.
    v, z = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 3.0])
    ratio, err = st.ratio_of_averages(v[:, None], z[:, None])
    loo = np.array([(7 - 1) / (7 - 2), (7 - 2) / (7 - 2), (7 - 4) / (7 - 3)])
    assert ratio[0] == pytest.approx(7 / 7)
    # round-off of three sums
    assert err[0] == pytest.approx(np.sqrt(2 / 3 * np.sum((loo - loo.mean()) ** 2)), rel=1e-14)
