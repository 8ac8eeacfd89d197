"""Command-line input checks shared by every ``mirage`` subcommand.

Everything here runs before any computation, so a refused call writes nothing:

- `real` and `integer`: argparse ``type=`` callables that accept only finite
  numbers inside a range; a non-finite or absurdly large value (``1e308``,
  ``inf``, ``nan``) is refused by argparse itself, naming the option the user typed
  (``argument --beta: ...``, exit code 2).
- `parse_values`: the one value-list syntax of every command, ``START:STOP:NUM``,
  a comma list ``a,b,c`` or a single number, with the same bounds; NUM is checked
  before any array is made (`parse_range` is its older name).
- `check_output_file`, `check_output_folder`, `check_memory`, `memory_limit`,
  `note_time`: the output path, memory and time checks of `mirage_common.resources`
  (library functions use them too), re-exported here so that every command imports
  its option helpers from one module.
"""

import argparse
import math

from mirage_common.errors import ParameterError
from mirage_common.resources import (
    available_memory,
    check_distinct_outputs,
    check_memory,
    check_output_file,
    check_output_folder,
    format_bytes,
    memory_limit,
    note_time,
)

__all__ = [
    "ABSURD",
    "MAX_COUNT",
    "MAX_SWEEP",
    "available_memory",
    "check_distinct_outputs",
    "check_memory",
    "check_output_file",
    "check_output_folder",
    "format_bytes",
    "integer",
    "memory_limit",
    "note_time",
    "parse_values",
    "real",
]

#: No physical option of ``mirage`` (energies in Δ0, temperatures in T_c0, lattice
#: potentials in t, angles in radians) is meaningful beyond this magnitude; larger
#: values are refused as typos (1e308 would overflow every formula it enters).
ABSURD = 1e6
#: Largest count (sizes, numbers of points) accepted by `integer`; the memory
#: estimates of each command refuse far smaller ones.
MAX_COUNT = 10**9
#: Largest NUM of a ``START:STOP:NUM`` sweep (each value is a separate solution).
MAX_SWEEP = 10**6

def _range_text(low, high, low_open, high_open):
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    return f"{lo}{low:g}, {high:g}{hi}"


def _check_bounds(value, low, high, low_open, high_open):
    """Return an error message, or None if *value* lies in the range."""
    if not math.isfinite(value):
        return "must be a finite number"
    bad_low = value <= low if low_open else value < low
    bad_high = value >= high if high_open else value > high
    if bad_low or bad_high:
        return f"must lie in {_range_text(low, high, low_open, high_open)}"
    return None


def real(low=-ABSURD, high=ABSURD, *, low_open=False, high_open=False):
    """An argparse ``type`` accepting a finite float in ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Bounds (default ``±ABSURD``); never wider than ``±ABSURD``.
    low_open, high_open : bool
        Exclude the bound itself.

    Returns
    -------
    callable
        ``str -> float``; raises `argparse.ArgumentTypeError` (argparse adds the
        option name, prints the usage and exits 2).
    """
    low, high = max(low, -ABSURD), min(high, ABSURD)

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        message = _check_bounds(value, low, high, low_open, high_open)
        if message:
            raise argparse.ArgumentTypeError(f"{message}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


def integer(low=1, high=MAX_COUNT):
    """An argparse ``type`` accepting an integer in ``[low, high]`` (``high=None``: no bound).

    Written as digits (``1000``); ``1e3`` or ``2.5`` are refused.
    """

    def parse(text):
        try:
            value = int(str(text).strip().replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            upper = "" if high is None else f" and <= {high}"
            raise argparse.ArgumentTypeError(f"must be >= {low}{upper}, got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


def parse_values(name, text, *, low=-ABSURD, high=ABSURD, low_open=False, high_open=False,
                 max_count=MAX_SWEEP):
    """The one value-list syntax of ``mirage``: ``START:STOP:NUM``, ``a,b,c`` or one number.

    ``START:STOP:NUM`` gives NUM evenly spaced values including both ends
    (``np.linspace``); ``a,b,c`` the values in the order given; a single number an array
    of one. Every option that takes several values (``--field``, ``--temperature``,
    ``--gamma``, ``--phase``, ``--fields``, ``--gammas``, ...) of every command parses
    them here, so ``mirage qc gap --field 0,1,2`` and ``mirage lattice gap --fields
    0,1,2`` mean the same. NUM, the number of listed values and every value are checked
    before the array is made.

    Parameters
    ----------
    name : str
        The option as the user typed it, without dashes (``"field"``).
    text : str
    low, high : float
        Every value must lie in ``[low, high]`` (open ends with *low_open*, *high_open*);
        never wider than ``±ABSURD``.
    max_count : int
        Largest NUM (and largest number of listed values).

    Returns
    -------
    ndarray, shape (NUM,), (number of listed values,) or (1,)

    Raises
    ------
    ParameterError
        Naming *name*, for anything else.
    """
    import numpy as np

    low, high = max(low, -ABSURD), min(high, ABSURD)
    text = str(text)
    syntax = (f"expected a number, START:STOP:NUM with an integer NUM >= 1, or a comma list "
              f"a,b,c, got {text!r}")
    parts = text.split(":")
    try:
        if len(parts) == 3:
            ends, num = [float(parts[0]), float(parts[1])], int(parts[2])
        elif len(parts) == 1:
            ends = [float(x) for x in text.split(",")]
            num = len(ends)
        else:
            raise ValueError
    except ValueError:
        raise ParameterError(name, syntax) from None
    if num < 1:
        raise ParameterError(name, syntax)
    if num > max_count:
        raise ParameterError(name, f"NUM must be <= {max_count}, got {num} in {text!r}")
    for value in ends:
        message = _check_bounds(value, low, high, low_open, high_open)
        if message:
            raise ParameterError(name, f"{message}, got {text!r}")
    if len(parts) == 1:
        return np.array(ends)
    return np.linspace(ends[0], ends[-1], num)


# The name `parse_values` had before comma lists were accepted everywhere (the same
# function; kept for code written against it, not listed in __all__).
parse_range = parse_values
