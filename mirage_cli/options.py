"""Command-line input checks shared by every ``mirage`` subcommand.

Everything here runs before any computation, so a refused call writes nothing:

- `real` and `integer`: argparse ``type=`` callables that accept only finite
  numbers inside a range; a non-finite or absurdly large value (``1e308``,
  ``inf``, ``nan``) is refused by argparse itself, naming the option the user typed
  (``argument --beta: ...``, exit code 2).
- `parse_range`: ``START:STOP:NUM`` or a single number, with the same bounds; NUM
  is checked before any array is made.
- `check_output_file` / `check_output_folder`: the output path is writable (not a
  directory, its folder exists or can be made, is a folder, and a temporary file can
  really be created and removed there: permissions, a read-only file system, ACLs and
  quotas are all found before the computation, not after it). The
  overwrite policy of ``mirage``: an existing result file is replaced, and a note
  saying so goes to stderr before the computation starts, so that a run can still be
  stopped (Ctrl-C) while nothing has been replaced. `check_distinct_outputs` refuses
  two output options naming one file (one result would overwrite the other).
- `check_memory`: an estimate of the memory a run needs against what the machine
  has (``MemAvailable``); ``--memory-limit GB`` (every leaf subcommand has it) sets
  another limit, for a run whose work goes to a bigger machine.
"""

import argparse
import contextlib
import contextvars
import math
import os
import sys
import tempfile
from pathlib import Path

from mirage_common.errors import ParameterError

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
    "parse_range",
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

_LIMIT_GB = contextvars.ContextVar("mirage_memory_limit_gb", default=None)


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


def parse_range(name, text, *, low=-ABSURD, high=ABSURD, low_open=False, max_count=MAX_SWEEP):
    """Parse ``START:STOP:NUM`` or a single number into a float array.

    ``NUM`` evenly spaced values including both ends (``np.linspace``). ``NUM`` and
    both ends are checked before the array is made.

    Parameters
    ----------
    name : str
        The option as the user typed it, without dashes (``"field"``).
    text : str
    low, high : float
        Every value must lie in ``[low, high]`` (``(low, high]`` if *low_open*).
    max_count : int
        Largest ``NUM``.

    Returns
    -------
    ndarray, shape (NUM,) or (1,)

    Raises
    ------
    ParameterError
        Naming *name*, for anything else.
    """
    import numpy as np

    low, high = max(low, -ABSURD), min(high, ABSURD)
    parts = str(text).split(":")
    syntax = f"expected a number or START:STOP:NUM with an integer NUM >= 1, got {text!r}"
    try:
        if len(parts) == 1:
            ends, num = [float(parts[0])], 1
        elif len(parts) == 3:
            ends, num = [float(parts[0]), float(parts[1])], int(parts[2])
        else:
            raise ValueError
    except ValueError:
        raise ParameterError(name, syntax) from None
    if num < 1:
        raise ParameterError(name, syntax)
    if num > max_count:
        raise ParameterError(name, f"NUM must be <= {max_count}, got {num} in {text!r}")
    for value in ends:
        message = _check_bounds(value, low, high, low_open, False)
        if message:
            raise ParameterError(name, f"{message}, got {text!r}")
    return np.linspace(ends[0], ends[-1], num)


# ---------------------------------------------------------------------------- output paths


def _first_existing(path):
    """*path* or its nearest existing ancestor."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_parent(option, path):
    """The folder *path* goes into exists or can be made, and is writable."""
    path = Path(path)
    anchor = _first_existing(path.parent)
    if not anchor.is_dir():
        raise ParameterError(option, f"cannot create {str(path)!r}: {str(anchor)!r} is a file, "
                                     "not a folder")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise ParameterError(option, f"cannot write {str(path)!r}: folder {str(anchor)!r} is "
                                     "not writable")
    _probe(option, anchor, path)


def _probe(option, folder, path):
    """Create and remove a temporary file in *folder*, where *path* will be written.

    `os.access` trusts the permission bits; a read-only file system, an ACL, a quota or
    a full disk show only when a file is made. The result files are written the same
    way (a temporary file beside the target, then a rename), so this is the real test.
    """
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mirage-probe-", dir=folder)
    except OSError as exc:
        raise ParameterError(option, f"cannot write {str(path)!r}: creating a file in folder "
                                     f"{str(folder)!r} fails ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(tmp)


def check_output_file(option, path, suffixes=None):
    """Refuse an output file that could not be written, before anything is computed.

    Parameters
    ----------
    option : str
        The option as the user typed it, without dashes (``"output"``).
    path : str or Path
    suffixes : sequence of str, optional
        Allowed extensions (lower case, with the dot); default: any.

    Returns
    -------
    Path

    Notes
    -----
    Nothing is created. An existing file will be replaced (atomically, when the
    result is written); a note saying so goes to stderr now.
    """
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise ParameterError(option, f"unknown extension {path.suffix.lower()!r} in "
                                     f"{str(path)!r}; use one of {', '.join(suffixes)}")
    if path.is_dir():
        example = path / ("result" + (suffixes or [".csv"])[0])
        raise ParameterError(option, f"{str(path)!r} is a folder; give a file name (e.g. "
                                     f"{str(example)!r})")
    _check_parent(option, path)
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise ParameterError(option, f"{str(path)!r} exists and is not a regular file")
        print(f"mirage: note: --{option} {path} exists and will be replaced", file=sys.stderr)
    return path


def check_output_folder(option, path, *, reusable=None):
    """Refuse an output folder that could not be written, before anything is computed.

    Parameters
    ----------
    option : str
        The option as the user typed it, without dashes.
    path : str or Path
    reusable : callable, optional
        ``reusable(folder) -> bool`` for an existing, non-empty folder (e.g. "holds
        an earlier report"). Without it any existing folder is accepted.

    Returns
    -------
    Path
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(option, f"{str(path)!r} exists and is not a folder")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ParameterError(option, f"folder {str(path)!r} is not writable")
        _probe(option, path, path)
        if reusable is not None and any(path.iterdir()) and not reusable(path):
            raise ParameterError(option, f"folder {str(path)!r} is not empty and does not hold "
                                         "an earlier result of this command; give a new or "
                                         "empty folder")
    else:
        _check_parent(option, path)
    return path


def check_distinct_outputs(paths):
    """Refuse two output options that name the same file (one would overwrite the other).

    Parameters
    ----------
    paths : dict
        ``{option: path or None}``, options as the user typed them, without dashes, in
        the order of the command's help; the later option of a clash is named.
    """
    seen = {}
    for option, path in paths.items():
        if path is None:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise ParameterError(option, f"{str(path)!r} is also the file of --{seen[key]}; "
                                         "give each output its own file")
        seen[key] = option


# ---------------------------------------------------------------------------- memory


def available_memory():
    """Memory this process may still use, in bytes (``MemAvailable``; None if unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(nbytes):
    """``1.5 GB``-style text (decimal units)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B"


@contextlib.contextmanager
def memory_limit(gigabytes):
    """Within the block, `check_memory` compares with *gigabytes* (None: the machine's)."""
    token = _LIMIT_GB.set(gigabytes)
    try:
        yield
    finally:
        _LIMIT_GB.reset(token)


def check_memory(option, nbytes, what):
    """Refuse a run whose estimated memory exceeds what is available.

    Parameters
    ----------
    option : str
        The option that sets the size, as the user typed it, without dashes.
    nbytes : float
        Estimated peak memory of the run, bytes.
    what : str
        How the estimate is made (named in the message), e.g. ``"16 kB per energy"``.

    Raises
    ------
    ParameterError
        With the estimate, the limit, and the override ``--memory-limit``.
    """
    override = _LIMIT_GB.get()
    if override is not None:
        limit, source = override * 1e9, "--memory-limit"
    else:
        limit, source = available_memory(), "available on this machine"
        if limit is None:
            return
    if not nbytes <= limit:
        raise ParameterError(
            option, f"this run needs about {format_bytes(nbytes)} of memory ({what}), more than "
                    f"the {format_bytes(limit)} {source}; change --{option}, or pass "
                    "--memory-limit GB if the run goes to a machine that has it")


def note_time(seconds, what, *, threshold=600.0):
    """Say on stderr, before a long run starts, about how long it will take.

    Parameters
    ----------
    seconds : float
        Estimated run time on the reference machine (2 cores), seconds.
    what : str
        How the estimate is made.
    threshold : float
        Quiet below this many seconds.
    """
    if seconds < threshold:
        return
    unit, scale = next((u, f) for u, f in (("days", 86400.0), ("h", 3600.0), ("min", 60.0))
                       if seconds >= f)
    print(f"mirage: note: this run takes about {seconds / scale:.3g} {unit} ({what}); "
          "Ctrl-C stops it", file=sys.stderr)
