r"""Sample statistics shared by the disorder studies: jackknife, ratio of averages, standard errors.

Every function averages over axis 0 of its samples (realizations, or random vectors)
and sums in sample order, so a result does not depend on which worker computed which
sample or in which order the samples finished.

The leave-one-out jackknife of a function ``f`` of the sample mean is

.. math::

    \hat f = f(\bar x), \qquad
    \bar x_{(i)} = \frac{\sum_j x_j - x_i}{R - 1}, \qquad
    \sigma_J^2 = \frac{R - 1}{R} \sum_i \bigl(f(\bar x_{(i)}) - \overline{f_{(\cdot)}}\bigr)^2 ;

for the mean itself (``f`` the identity) it is the textbook standard error
``sqrt(Σ_i (x_i − x̄)² / (R (R − 1)))``. All errors are NaN (or None, where stated)
below two samples: one sample has no spread.

Functions
---------
- `jackknife` — ``f(mean)`` and its jackknife error, for any real-valued ``f``;
- `jackknife_complex` — the same for complex ``f``, with separate errors of the real
  and imaginary parts;
- `mean_and_stderr` — the mean and its (jackknife) standard error, vectorized;
- `ratio_of_averages` — ``Σ N_s / Σ N_n`` and its jackknife error;
- `standard_error` — ``std(ddof=1) / sqrt(R)`` of a 1-d sample.
"""

import numpy as np

__all__ = [
    "jackknife",
    "jackknife_complex",
    "mean_and_stderr",
    "ratio_of_averages",
    "standard_error",
]


def _leave_one_out(samples, fn):
    """``fn(mean)`` and ``fn`` of each leave-one-out mean, stacked on axis 0."""
    r = len(samples)
    full = fn(samples.mean(axis=0))
    if r < 2:
        return full, None
    total = samples.sum(axis=0)
    return full, np.array([fn((total - samples[i]) / (r - 1)) for i in range(r)])


def _spread(loo, split=False):
    """``sqrt((R - 1)/R Σ_i (loo_i - mean(loo))²)`` over axis 0 (real *loo*).

    *split* takes the square root of the two factors apart: the same number to
    round-off, kept because the self-energy measurement always formed it so (its
    stored results stay bitwise the same).
    """
    r = len(loo)
    squares = np.sum((loo - loo.mean(axis=0)) ** 2, axis=0)
    if split:
        return np.sqrt((r - 1) / r) * np.sqrt(squares)
    return np.sqrt((r - 1) / r * squares)


def jackknife(samples, fn):
    """Value of ``fn(mean)`` and its leave-one-out jackknife error over axis 0.

    Parameters
    ----------
    samples : ndarray, shape (R, ...)
        One row per sample (realization); may be complex.
    fn : callable
        Maps a mean (shape ``samples.shape[1:]``) to a real float or real array; it is
        called R + 1 times.

    Returns
    -------
    value : float or ndarray
        ``fn(samples.mean(axis=0))``.
    error : float or ndarray
        Jackknife standard error, shape of *value* (a Python float for a scalar
        *value*); NaN for R < 2.
    """
    full, loo = _leave_one_out(samples, fn)
    err = np.full(np.shape(full), np.nan) if loo is None else _spread(loo)
    return full, (float(err) if err.ndim == 0 else err)


def jackknife_complex(samples, fn):
    """Value of a complex ``fn(mean)`` and jackknife errors of its real and imaginary parts.

    Parameters
    ----------
    samples : ndarray, shape (R, ...)
    fn : callable
        Maps a mean to a complex array (or a real one: its imaginary error is then 0).

    Returns
    -------
    value : ndarray
        ``fn(samples.mean(axis=0))``.
    error_real, error_imag : ndarray, shape of *value*
        Jackknife standard errors of ``value.real`` and ``value.imag``; NaN for R < 2.
    """
    full, loo = _leave_one_out(samples, fn)
    if loo is None:
        return full, np.full(full.shape, np.nan), np.full(full.shape, np.nan)
    return full, _spread(loo.real, split=True), _spread(loo.imag, split=True)


def mean_and_stderr(samples):
    """Mean over axis 0 and its jackknife standard error (real arrays).

    For the mean the leave-one-out jackknife is the textbook standard error
    ``sqrt(Σ_i (x_i − x̄)² / (R (R − 1)))``; it is formed as the jackknife, summing in
    sample order, so it does not depend on the order the realizations finished in.
    NaN for ``R < 2``.

    Parameters
    ----------
    samples : array_like, shape (R, ...)

    Returns
    -------
    mean, stderr : ndarray, shape (...)
    """
    x = np.asarray(samples, dtype=float)
    r = x.shape[0]
    total = np.sum(x, axis=0)
    mean = total / r
    if r < 2:
        return mean, np.full_like(mean, np.nan)
    loo = (total - x) / (r - 1)
    spread = np.sum((loo - np.sum(loo, axis=0) / r) ** 2, axis=0)
    return mean, np.sqrt((r - 1) / r * spread)


def ratio_of_averages(numerators, denominators):
    r"""Ratio of averages over samples and its jackknife standard error.

    .. math::

        \hat r = \frac{\sum_i N_{s,i}}{\sum_i N_{n,i}}, \qquad
        \sigma_J^2 = \frac{R - 1}{R} \sum_i (\hat r_{(i)} - \bar r_{(\cdot)})^2,

    with ``r_(i)`` the ratio of averages without sample i. The mean of the
    per-sample ratios converges to ``<N_s/N_n>``, which differs from
    ``<N_s>/<N_n>`` however many samples are taken; ``r_hat`` converges to
    ``<N_s>/<N_n>`` (its own bias is O(1/R)). Sums run over axis 0 in sample
    order: the result does not depend on which worker computed which sample.

    Parameters
    ----------
    numerators, denominators : array_like, shape (R, n)
        ``N_s`` and ``N_n`` per sample (realization, or random vector).

    Returns
    -------
    ratio : ndarray, shape (n,)
    stderr : ndarray, shape (n,)
        Jackknife standard error; NaN for ``R < 2``.
    """
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    r = num.shape[0]
    total_num, total_den = np.sum(num, axis=0), np.sum(den, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = total_num / total_den
        if r < 2:
            return ratio, np.full_like(ratio, np.nan)
        loo = (total_num - num) / (total_den - den)  # (R, n) leave-one-out ratios
        spread = np.sum((loo - np.sum(loo, axis=0) / r) ** 2, axis=0)
    return ratio, np.sqrt((r - 1) / r * spread)


def standard_error(samples, axis=0):
    """Standard error of the mean, ``std(ddof=1) / sqrt(R)`` over *axis*.

    Parameters
    ----------
    samples : array_like, shape (R, ...)
    axis : int

    Returns
    -------
    float or ndarray
        NaN where R < 2 (callers that store None for "no error" test ``R > 1`` first).
    """
    x = np.asarray(samples)
    r = x.shape[axis]
    if r < 2:
        return np.full(np.delete(x.shape, axis), np.nan)[()]
    return x.std(axis=axis, ddof=1) / np.sqrt(r)
