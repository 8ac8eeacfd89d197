"""What a run needs, checked before it starts: a writable output path, memory, time.

Used by the command line (`mirage_cli.options` re-exports every name) and by library
functions that write files or allocate large arrays (`latticemirage.plots`,
`quasiclassical.fit`), so a refused call writes nothing:

- `check_output_file` / `check_output_folder`: the output path is writable (not a
  directory, its folder exists or can be made, is a folder and writable). The
  overwrite policy of ``mirage``: an existing result file is replaced, and a note
  saying so goes to stderr before the computation starts, so that a run can still be
  stopped (Ctrl-C) while nothing has been replaced.
- `check_memory`: an estimate of the memory a run needs against what the machine
  has (``MemAvailable``); ``--memory-limit GB`` (every leaf subcommand has it;
  `memory_limit`) sets another limit, for a run whose work goes to a bigger machine.
- `note_time`: a note on stderr before a long run.
"""

import contextlib
import contextvars
import os
import sys
import tempfile
from pathlib import Path

from mirage_common.errors import ParameterError

__all__ = [
    "available_memory",
    "check_distinct_outputs",
    "check_memory",
    "check_output_file",
    "check_output_folder",
    "format_bytes",
    "memory_limit",
    "note_time",
]

_LIMIT_GB = contextvars.ContextVar("mirage_memory_limit_gb", default=None)

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
        raise ParameterError(
            option, f"cannot create {str(path)!r}: {str(anchor)!r} is a file, not a folder"
        )
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise ParameterError(
            option, f"cannot write {str(path)!r}: folder {str(anchor)!r} is not writable"
        )
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
        raise ParameterError(
            option,
            f"unknown extension {path.suffix.lower()!r} in "
            f"{str(path)!r}; use one of {', '.join(suffixes)}",
        )
    if path.is_dir():
        example = path / ("result" + (suffixes or [".csv"])[0])
        raise ParameterError(
            option, f"{str(path)!r} is a folder; give a file name (e.g. {str(example)!r})"
        )
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
            raise ParameterError(
                option,
                f"folder {str(path)!r} is not empty and does not hold "
                "an earlier result of this command; give a new or "
                "empty folder",
            )
    else:
        _check_parent(option, path)
    return path


# ---------------------------------------------------------------------------- memory


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
            option,
            f"this run needs about {format_bytes(nbytes)} of memory ({what}), more than "
            f"the {format_bytes(limit)} {source}; change --{option}, or pass "
            "--memory-limit GB if the run goes to a machine that has it",
        )


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
    unit, scale = next(
        (u, f) for u, f in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)) if seconds >= f
    )
    print(
        f"mirage: note: this run takes about {seconds / scale:.3g} {unit} ({what}); "
        "Ctrl-C stops it",
        file=sys.stderr,
    )
