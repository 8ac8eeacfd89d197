"""Result files: CSV, JSON or NPZ chosen by extension, with metadata beside the data.

Every file is written atomically: into a temporary file in the target directory,
then ``os.replace``-d over the destination, so an interrupted run never leaves a
half-written result behind. `save_png` writes a matplotlib figure the same way.

Complex columns are stored as two real columns ``<name>_re`` and ``<name>_im`` in
CSV and JSON; NPZ keeps them complex.
"""

import contextlib
import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from mirage_common.version import __version__

__all__ = ["SUPPORTED_FORMATS", "atomic_write_bytes", "jsonable", "read_table", "save_figure",
           "save_png", "write_table"]

SUPPORTED_FORMATS = (".csv", ".json", ".npz")
_META_PREFIX = "# meta: "


def atomic_write_bytes(path, data):
    """Write *data* (bytes) to *path* atomically; no partial file survives a crash."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; results are meant to be shared like any written file.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_figure(fig, path, dpi=130, *, tight=True):
    """Save a matplotlib figure atomically (no half-written file on a crash).

    The format follows the extension of *path* (``.png``, ``.pdf``, ``.svg``);
    *tight* crops to the drawn content (``bbox_inches="tight"``).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lower()[1:], dpi=dpi,
                bbox_inches="tight" if tight else None)
    atomic_write_bytes(path, buf.getvalue())


def save_png(fig, path, dpi=130):
    """Save a matplotlib figure as a tightly cropped PNG atomically (`save_figure`)."""
    save_figure(fig, Path(path), dpi)


def _check_format(path):
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        from mirage_common.errors import ParameterError

        raise ParameterError(
            "output", f"unknown extension {suffix!r}; use one of {', '.join(SUPPORTED_FORMATS)}"
        )
    return suffix


def _split_complex(columns):
    out = {}
    for name, values in columns.items():
        arr = np.asarray(values)
        if np.iscomplexobj(arr):
            out[f"{name}_re"] = arr.real
            out[f"{name}_im"] = arr.imag
        else:
            out[name] = arr
    return out


def jsonable(obj, *, nonfinite_as_none=False):
    """*obj* with NumPy arrays, scalars and paths turned into plain JSON types.

    With *nonfinite_as_none*, NaN and infinities become ``None`` (strict JSON, as
    ``mirage fit`` writes); otherwise they stay floats (Python's JSON writes ``NaN``).
    """
    def conv(x):
        if isinstance(x, dict):
            return {str(k): conv(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [conv(v) for v in x]
        if isinstance(x, np.ndarray):
            return conv(x.tolist())
        if isinstance(x, np.generic):
            x = x.item()
        if isinstance(x, Path):
            return str(x)
        if nonfinite_as_none and isinstance(x, float) and not math.isfinite(x):
            return None
        return x

    return conv(obj)


def write_table(path, columns, metadata=None):
    """Write equal-length 1-D *columns* and *metadata* to *path*.

    Parameters
    ----------
    path : str or Path
        Destination; the format follows the extension (``.csv``, ``.json``, ``.npz``).
    columns : dict of str to array_like, each shape (n,)
        Column name to values, written in the given order.
    metadata : dict, optional
        Parameters and derived numbers (JSON-serializable after NumPy conversion);
        the package version is added as ``"version"``.
    """
    suffix = _check_format(path)
    meta = {"version": __version__, **jsonable(metadata or {})}
    lengths = {len(np.asarray(v)) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    if suffix == ".npz":
        buf = io.BytesIO()
        np.savez(buf, __metadata__=np.array(json.dumps(meta)),
                 **{k: np.asarray(v) for k, v in columns.items()})
        atomic_write_bytes(path, buf.getvalue())
        return
    flat = _split_complex(columns)
    if suffix == ".json":
        cols = {k: np.asarray(v).tolist() for k, v in flat.items()}
        payload = {"metadata": meta, "columns": cols}
        atomic_write_bytes(path, json.dumps(payload, indent=1).encode())
        return
    names = list(flat)
    data = np.column_stack([np.asarray(flat[k], dtype=float) for k in names]) if names else None
    buf = io.StringIO()
    buf.write(_META_PREFIX + json.dumps(meta) + "\n")
    buf.write(",".join(names) + "\n")
    if data is not None:
        np.savetxt(buf, data, delimiter=",", fmt="%.12g")
    atomic_write_bytes(path, buf.getvalue().encode())


def read_table(path):
    """Read a file written by `write_table`.

    Returns
    -------
    columns : dict of str to ndarray
        Complex columns come back as ``<name>_re``/``<name>_im`` pairs for CSV and JSON.
    metadata : dict
    """
    suffix = _check_format(path)
    if suffix == ".npz":
        with np.load(path) as npz:
            meta = json.loads(str(npz["__metadata__"]))
            cols = {k: npz[k] for k in npz.files if k != "__metadata__"}
        return cols, meta
    if suffix == ".json":
        payload = json.loads(Path(path).read_text())
        return {k: np.asarray(v) for k, v in payload["columns"].items()}, payload["metadata"]
    with open(path) as fh:
        first = fh.readline()
        if not first.startswith(_META_PREFIX):
            raise ValueError(f"{path}: not a latticemirage CSV (no metadata line)")
        meta = json.loads(first[len(_META_PREFIX):])
        names = fh.readline().strip().split(",")
        data = np.loadtxt(fh, delimiter=",", ndmin=2)
    return {k: data[:, i] for i, k in enumerate(names)}, meta
