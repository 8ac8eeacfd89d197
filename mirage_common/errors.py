"""Validation helpers: every bad value is reported with its parameter name and range."""

import math
import os

import numpy as np

__all__ = [
    "ParameterError",
    "check_backend",
    "check_finite",
    "check_nonnegative",
    "check_positive",
    "check_range",
    "check_unit_vector",
]


class ParameterError(ValueError):
    """A parameter is outside its allowed range.

    The CLI turns this (and any ``ValueError``) into exit code 2.

    Parameters
    ----------
    name : str
        The parameter as the user spells it (e.g. ``"gamma"``).
    message : str
        What is wrong and what is allowed.
    """

    def __init__(self, name, message):
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")

    def __reduce__(self):
        # Rebuilt from (name, message), not from the formatted args: an error raised in a
        # process-pool worker reaches the caller as itself, not as BrokenProcessPool.
        return type(self), (self.name, self.message)


def check_finite(name, value):
    """Raise `ParameterError` unless every element of *value* is finite."""
    arr = np.asarray(value)
    if not np.all(np.isfinite(arr)):
        raise ParameterError(name, f"must be finite, got {value!r}")
    return value


def check_nonnegative(name, value):
    """Raise unless *value* is finite and >= 0."""
    check_finite(name, value)
    if np.any(np.asarray(value) < 0):
        raise ParameterError(name, f"must be >= 0, got {value!r}")
    return value


def check_positive(name, value):
    """Raise unless *value* is finite and > 0."""
    check_finite(name, value)
    if np.any(np.asarray(value) <= 0):
        raise ParameterError(name, f"must be > 0, got {value!r}")
    return value


def check_range(name, value, low=-math.inf, high=math.inf, *, low_open=False, high_open=False):
    """Raise unless ``low <= value <= high`` (or strict, per the ``*_open`` flags)."""
    check_finite(name, value)
    arr = np.asarray(value)
    bad_low = np.any(arr <= low) if low_open else np.any(arr < low)
    bad_high = np.any(arr >= high) if high_open else np.any(arr > high)
    if bad_low or bad_high:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ParameterError(name, f"must lie in {lo}{low}, {high}{hi}, got {value!r}")
    return value


def check_unit_vector(name, value):
    """Raise unless *value* is a finite 3-vector of unit length (to 1e-9); returns the array."""
    vec = np.asarray(value, dtype=float)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)) or not math.isclose(
            float(np.linalg.norm(vec)), 1.0, rel_tol=1e-9):
        raise ParameterError(name, f"must be a unit 3-vector, got {value!r}")
    return vec


def check_backend(backend, env, allowed, default="numba"):
    """The implementation asked for: *backend*, else ``$env``, else *default*, checked.

    Only checks the name (cheap; call it before any work): `ParameterError` naming
    ``backend`` (or the variable *env*, when it chose) for anything not in *allowed*.
    """
    if backend is None:
        name, where = os.environ.get(env, "").strip().lower() or default, env
    else:
        name, where = str(backend).strip().lower(), "backend"
    if name not in allowed:
        raise ParameterError(where, f"must be one of {', '.join(allowed)}, got {name!r}")
    return name

