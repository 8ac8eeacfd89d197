r"""Resumable, parallel disorder-averaged DOS studies (Adaptive-style runner).

One *study* is a set of disorder realizations of one parameter set. Each
realization is a side-effect-free function of ``(StudySpec, index)``
(`compute_realization`): its potential, twist and random vectors all flow from
``SeedSequence([seed, index, ...])``, so it can be recomputed alone, in any order,
on any worker, with bitwise identical results (the KPM kernel sums in a fixed
order whatever the number of threads).

The runner (`run_study`) owns the loop: it submits the missing realizations to
any `concurrent.futures.Executor` (a local process pool by default; a Dask
``distributed.Client.get_executor()``; ``mpi4py.futures.MPIPoolExecutor``),
shows progress with an ETA on stderr, and writes each finished realization
atomically as soon as it arrives, so a study killed at any point loses nothing
that had finished. Restarting skips what is on disk. When all realizations are
present the average is formed by summing *in realization order*, so
``average.csv`` is bitwise identical whatever the number of workers (and BLAS
core type; for the scope across machines see README, "KPM backend and bitwise
reproducibility").

Folder layout::

    study.json              format tag, version, the full StudySpec (JSON)
    realizations/r00000.npz one file per finished realization
    average.csv             energy (Δ0), dos (<N_s>/<N_n>), stderr, ...; once all are done
    components.csv          only with ``StudySpec.components``: the realization average of
                            the valley components g0_K_re, ... and their standard errors
    .lock                   held (flock) by the run working on the folder

One run at a time: `run_study` takes an exclusive ``flock`` on ``.lock`` (released
by the kernel even on SIGKILL) and refuses a folder another run holds. Holding it,
the run deletes the temporary files (``.NAME.*.tmp``) that a run killed in the
middle of an atomic write left behind: they are never results.

Observable
    For every realization the BdG DOS is computed twice by KPM with the same
    disorder, twist and random vectors: with the gap (``N_s``) and with
    ``delta = 0`` (``N_n``, the normal state of the *same* disorder). ``dos`` is
    the ratio of the realization averages ``<N_s(E)> / <N_n(E)>`` (the paper's
    normalized DOS of the disordered system; the mean of per-realization ratios
    estimates ``<N_s/N_n>`` instead, biased however many realizations, and is kept
    only as the column ``mean_of_ratios``);
    ``stderr`` is its jackknife standard error over realizations (leave-one-out
    ratios of averages; it contains the stochastic-trace error as well). Every
    realization file keeps ``dos_sc`` and ``dos_normal``, so either estimator can
    be formed again (`ratio_of_averages`).
Uniform shift
    The site average of each realization's potential (``~ n_i V`` for point
    impurities) is removed before the supercell is built, as in the rate
    measurement (`latticemirage.disorder.potentials.remove_uniform`); the removed
    value is ``uniform_shift_t`` in each realization's metadata and summarized in
    ``average.csv``'s.
Valley components (optional, ``StudySpec.components``)
    Each realization also stores ``ĝ_K``, ``ĝ_K'`` (the valley-resolved Green's
    function of `latticemirage.green`, eq1 gauge, valley K has +β) at a few energies
    ``z = ε + iη``, from the SAME centred potential and twist as its DOS
    (`latticemirage.disorder.selfenergy.realization_components`: two sparse LU per
    energy). ``components.csv`` holds their realization mean with the columns of
    ``mirage qc dos`` (``g0_K_re``, ``g0_K_im``, ..., ``fz_Kp_im``) and the jackknife
    standard error of each (``g0_K_re_stderr``, ...). ĝ is affine in G, so the mean is
    the components of the disorder-averaged G. A study run without them never
    recomputes them (`read_components` refuses).
"""

import concurrent.futures as cf
import contextlib
import hashlib
import io
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from latticemirage import green
from latticemirage.disorder import chebyshev_gap, kpm, selfconsistent, selfenergy
from latticemirage.disorder import supercell as scm
from latticemirage.disorder.potentials import disorder_from_dict, remove_uniform
from mirage_common.errors import ParameterError, check_finite, check_positive
from mirage_common.io import atomic_write_bytes, read_table, write_table
from mirage_common.parallel import available_cores, process_pool
from mirage_common.statistics import mean_and_stderr, ratio_of_averages
from mirage_common.version import __version__

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "StudyError",
    "StudySpec",
    "compute_realization",
    "is_locked",
    "mean_and_stderr",
    "open_study",
    "ratio_of_averages",
    "read_components",
    "read_dos",
    "run_study",
    "study_status",
    "write_average",
]

FORMAT = "latticemirage-disorder-study"
# 2: potentials centred (uniform shift removed), per-vector ratio error by jackknife
FORMAT_VERSION = 2
SPEC_FILE = "study.json"
REAL_DIR = "realizations"
AVERAGE_FILE = "average.csv"
COMPONENTS_FILE = "components.csv"
LOCK_FILE = ".lock"
TWISTS = ("none", "pi", "random")


class StudyError(ValueError):
    """A study folder cannot be used (foreign, corrupt, or different parameters)."""


def _check_int(name, value, low):
    if isinstance(value, bool) or int(value) != value or value < low:
        raise ParameterError(name, f"must be an integer >= {low}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class StudySpec:
    """Everything that determines a study's results.

    Parameters
    ----------
    params : dict
        Kwant parameters of the superconducting state, energies in t
        (``t, mu, lam, B, phi, delta``); the normal state uses ``delta = 0``.
    disorder : dict
        ``to_dict()`` of a `latticemirage.disorder` kind (strengths in t).
    size : int
        Supercell L (``L x L`` sites, ``4 L^2`` BdG orbitals).
    moments, vectors : int
        KPM moments and random vectors per realization.
    realizations : int
    seed : int
        Study seed; realization i uses ``SeedSequence([seed, i])``.
    twists : {"none", "pi", "random"}
        Boundary phases per realization: none; drawn from ``{0, pi}^2`` (keeps
        the matrix real); uniform in ``[0, 2 pi)^2`` (complex arithmetic).
    energy_unit : float
        The output energy unit Δ0 in t.
    energies : (float, float, int)
        ``(emin, emax, n)`` of the output grid, in Δ0.
    meta : dict
        Descriptive extras (physical parameters in Δ0, mapping report); stored and
        compared on resume like the rest.
    self_consistent : dict or None
        None: Δ is ``params["delta"]``. Otherwise each realization's uniform Δ is
        solved on it (`latticemirage.disorder.selfconsistent.study_settings`: T in
        T_c0, U in t, cutoff, physical set) and used for its DOS. Omitted from the JSON
        (and the digest) when None, so such studies are unchanged.
    components : dict or None
        None: DOS only. Otherwise every realization also stores the valley components
        (module docstring): ``eta_delta0`` (η, Δ0), ``energies_delta0`` (list, Δ0),
        ``xi_cut_delta0`` (shell, Δ0), ``nu_per_spin_per_site_1_over_t`` (ν_K, ν_K',
        `selfenergy.valley_nu`). Omitted from the JSON and the digest when None.
    """

    params: dict
    disorder: dict
    size: int
    moments: int
    vectors: int
    realizations: int
    seed: int
    twists: str
    energy_unit: float
    energies: tuple
    meta: dict = field(default_factory=dict)
    self_consistent: dict | None = None
    components: dict | None = None

    def __post_init__(self):
        _check_int("size", self.size, 3)
        _check_int("moments", self.moments, 2)
        _check_int("vectors", self.vectors, 1)
        _check_int("realizations", self.realizations, 1)
        _check_int("seed", self.seed, 0)
        if self.twists not in TWISTS:
            raise ParameterError("twists", f"must be one of {TWISTS}, got {self.twists!r}")
        check_positive("energy_unit", self.energy_unit)
        emin, emax, n = self.energies
        check_finite("energies", [emin, emax])
        _check_int("n-energies", n, 2)
        if not emax > emin:
            raise ParameterError("emax", f"must exceed emin, got {emin!r}..{emax!r}")
        disorder_from_dict(self.disorder)  # validates the disorder parameters
        missing = {"t", "mu", "lam", "B", "phi", "delta"} - set(self.params)
        if missing:
            raise ParameterError("params", f"missing {sorted(missing)}")
        if self.components is not None:
            _check_components(self.components)

    def to_json(self):
        """JSON-compatible dict (tuples become lists)."""
        out = json.loads(json.dumps(asdict(self)))
        for name in ("self_consistent", "components"):
            if out[name] is None:
                del out[name]
        return out

    @classmethod
    def from_json(cls, d):
        d = dict(d)
        d["energies"] = tuple(d["energies"])
        return cls(**d)

    def digest(self):
        """Short SHA-256 of the canonical JSON: stamped into every realization file."""
        text = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def energy_grid(self):
        """Output energies in Δ0, shape (n,)."""
        emin, emax, n = self.energies
        return np.linspace(emin, emax, int(n))


def _check_components(c):
    """Validate `StudySpec.components` (`ParameterError` naming the CLI option)."""
    keys = {"eta_delta0", "energies_delta0", "xi_cut_delta0", "nu_per_spin_per_site_1_over_t"}
    if not isinstance(c, dict) or set(c) != keys:
        raise ParameterError("components", f"must be a dict with keys {sorted(keys)}")
    eta = c["eta_delta0"]
    if not (isinstance(eta, int | float) and math.isfinite(eta) and eta > 0):
        raise ParameterError("components", f"η must be finite and > 0 (Δ0), got {eta!r}")
    energies = np.asarray(c["energies_delta0"], dtype=float)
    if energies.ndim != 1 or energies.size < 1 or not np.all(np.isfinite(energies)):
        raise ParameterError("component-energies", "need a non-empty list of finite energies")
    check_positive("xi_cut", c["xi_cut_delta0"])
    nu = np.asarray(c["nu_per_spin_per_site_1_over_t"], dtype=float)
    if nu.shape != (2,) or not np.all(np.isfinite(nu) & (nu > 0)):
        raise ParameterError("components", "ν needs two positive values (K, K')")


def _twist(spec, rng):
    if spec.twists == "none":
        return (0.0, 0.0)
    if spec.twists == "pi":
        return tuple(float(x) for x in np.pi * rng.integers(0, 2, size=2))
    return tuple(float(x) for x in 2 * np.pi * rng.random(2))


def _vectors(n, count, seed, index, dtype):
    """Random vectors, one child seed per vector: independent of how they are blocked."""
    out = np.empty((n, count), dtype=dtype)
    for j in range(count):
        rng = np.random.default_rng(np.random.SeedSequence([seed, index, 1, j]))
        out[:, j] = kpm.random_vectors(n, 1, rng, dtype)[:, 0]
    return out


def compute_realization(spec, index, *, threads=None, block_size=8):
    """One disorder realization: KPM DOS with and without the gap.

    Side-effect free (apart from setting numba's thread count if *threads* is
    given); the result depends only on ``(spec, index)``.

    Parameters
    ----------
    spec : StudySpec or dict
    index : int
    threads : int, optional
        numba threads for this process.

    Returns
    -------
    dict
        ``columns`` (energy in Δ0, ``ratio`` N_s/N_n, ``ratio_stderr`` from the
        spread over vectors, ``dos_sc`` and ``dos_normal`` per orbital in 1/Δ0) and
        ``metadata`` (index, twist, bounds, resolution in Δ0, seconds, digest).
    """
    # OpenBLAS threads spinning after tiny BLAS calls (4x4 basis changes, ...)
    # compete with the KPM kernel's threads on a small machine: BLAS runs serially.
    with threadpool_limits(limits=1, user_api="blas"):
        return _compute_realization(spec, index, threads, block_size)


def _compute_realization(spec, index, threads, block_size):
    if isinstance(spec, dict):
        spec = StudySpec.from_json(spec)
    index = _check_int("index", index, 0)
    if threads is not None:
        kpm.set_num_threads(threads)  # no-op where the scipy.sparse KPM step is used
    start = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, index]))
    dis = disorder_from_dict(spec.disorder)
    shape = (spec.size, spec.size)
    potential = dis.potential(shape, rng)
    potential, shift = remove_uniform(potential)  # as in rates.py (see module docstring)
    twist = _twist(spec, rng)
    unit = spec.energy_unit
    energies = spec.energy_grid()
    params, sc_meta = spec.params, {}
    if spec.self_consistent is not None:  # this realization's own Δ (selfconsistent.py)
        if spec.self_consistent.get("gap_solver"):  # Chebyshev traces (chebyshev_gap.py)
            delta, sc_meta = chebyshev_gap.realization_delta(
                spec.self_consistent, spec.size, potential, seed=(spec.seed, index, 2))
        else:
            delta, sc_meta = selfconsistent.realization_delta(spec.self_consistent, spec.size,
                                                              potential)
        params = {**params, "delta": delta * unit}
    sc = scm.supercell(params, shape, twist=twist, potential=potential)
    normal = scm.supercell({**params, "delta": 0.0}, shape, twist=twist,
                           potential=potential)
    # One rescaling for both, from the union of the guaranteed bounds.
    lo_s, hi_s = kpm.gershgorin_bounds(sc.matrix)
    lo_n, hi_n = kpm.gershgorin_bounds(normal.matrix)
    bounds = (min(lo_s, lo_n), max(hi_s, hi_n))
    dtype = float if sc.real else complex
    vecs = _vectors(sc.matrix.shape[0], spec.vectors, spec.seed, index, dtype)
    # The Supercells themselves (not their matrices): with MIRAGE_KPM_BACKEND=stencil the
    # KPM runs matrix-free (`disorder.stencil`); the default numba backend uses .matrix.
    results = [
        kpm.kpm_dos(h, energies * unit, spec.moments, spec.vectors, None,
                    bounds=bounds, vectors=vecs, block_size=block_size)
        for h in (sc, normal)
    ]
    real_arithmetic = bool(sc.real)
    del vecs, sc, normal  # free the KPM matrices before the components' LU
    s, n = results
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s.density / n.density
    _, ratio_err = ratio_of_averages(s.per_vector, n.per_vector)  # jackknife over vectors
    extra, comp = {}, None
    if spec.components is not None:  # the SAME potential (centred), twist and Δ as the DOS
        c = spec.components
        t0 = time.perf_counter()
        comp = {"energy": np.asarray(c["energies_delta0"], dtype=float)}
        comp["g"] = selfenergy.realization_components(
            params, potential, spec.size, twist, comp["energy"], eta=c["eta_delta0"],
            xi_cut=c["xi_cut_delta0"], nu=c["nu_per_spin_per_site_1_over_t"], delta0=unit)
        extra["components_seconds"] = time.perf_counter() - t0
    out = {
        "columns": {
            "energy": energies,
            "ratio": ratio,
            "ratio_stderr": ratio_err,
            "dos_sc": s.density * unit,
            "dos_normal": n.density * unit,
        },
        "metadata": {
            "index": index,
            "digest": spec.digest(),
            "twist": list(twist),
            "real_arithmetic": real_arithmetic,
            "bounds_t": list(bounds),
            "kernel_width_delta0": s.resolution / unit,
            "kpm_backend": s.backend,
            "uniform_shift_t": shift,
            "potential_std_t": float(np.std(potential)),
            "seconds": time.perf_counter() - start,
            **extra,
            **sc_meta,
        },
    }
    if comp is not None:
        out["components"] = comp
    return out


# ----------------------------------------------------------------------------
# Folder handling


def _real_path(folder, index):
    return Path(folder) / REAL_DIR / f"r{index:05d}.npz"


# Prefix of the component arrays in a realization file (their energy grid is not the DOS's).
_COMP_PREFIX = "components_"


def _write_realization(folder, index, result):
    """One atomic file per realization: the DOS columns, and the components if any.

    Without components this is `write_table`. With them the ``.npz`` (same layout:
    ``__metadata__`` plus one array per name) also holds ``components_energy`` (n_c,)
    and ``components_g`` (2, n_c, 4, 4), which `write_table` would refuse for their
    length.
    """
    path = _real_path(folder, index)
    comp = result.get("components")
    if comp is None:
        write_table(path, result["columns"], result["metadata"])
        return
    lengths = {len(np.asarray(v)) for v in result["columns"].values()}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    meta = json.dumps({"version": __version__, **json.loads(json.dumps(result["metadata"]))})
    arrays = {k: np.asarray(v) for k, v in result["columns"].items()}
    arrays.update({_COMP_PREFIX + k: np.asarray(v) for k, v in comp.items()})
    buf = io.BytesIO()
    np.savez(buf, __metadata__=np.array(meta), **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _load_spec(folder):
    path = Path(folder) / SPEC_FILE
    try:
        payload = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudyError(f"{folder}: corrupt study folder ({SPEC_FILE} unreadable: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise StudyError(f"{folder}: foreign folder ({SPEC_FILE} is not a {FORMAT} file)")
    if payload.get("format_version") != FORMAT_VERSION:
        raise StudyError(
            f"{folder}: study format version {payload.get('format_version')!r} is not "
            f"supported (this is {FORMAT_VERSION})"
        )
    try:
        return StudySpec.from_json(payload["spec"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StudyError(f"{folder}: corrupt study folder (bad spec: {exc})") from exc


def _differences(stored, requested, prefix=""):
    out = []
    for key in sorted(set(stored) | set(requested)):
        a, b = stored.get(key), requested.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: stored {a!r}, requested {b!r}")
    return out


def open_study(folder, spec=None):
    """Create a study folder or validate an existing one; returns its `StudySpec`.

    Parameters
    ----------
    folder : str or Path
    spec : StudySpec, optional
        Required to create a study; if the folder holds a study it must match.

    Raises
    ------
    StudyError
        Foreign folder (non-empty, no ``study.json``), corrupt ``study.json``, or
        parameters that differ from the stored ones. Nothing is written then.
    """
    folder = Path(folder)
    spec_path = folder / SPEC_FILE
    if folder.exists() and not folder.is_dir():
        raise StudyError(f"{folder}: exists and is not a directory")
    if spec_path.exists():
        stored = _load_spec(folder)
        if spec is not None and stored.to_json() != spec.to_json():
            diff = _differences(stored.to_json(), spec.to_json())
            raise StudyError(
                f"{folder}: holds a study with different parameters; nothing was changed. "
                + "; ".join(diff[:8])
                + ("" if len(diff) <= 8 else f" (+{len(diff) - 8} more)")
            )
        _check_realization_dir(folder)
        return stored
    if folder.exists() and any(folder.iterdir()):
        raise StudyError(
            f"{folder}: foreign folder (not empty and no {SPEC_FILE}); refusing to write into it"
        )
    if spec is None:
        raise StudyError(f"{folder}: no study here ({SPEC_FILE} missing)")
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION,
               "package_version": __version__, "spec": spec.to_json()}
    (folder / REAL_DIR).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(spec_path, json.dumps(payload, indent=1, sort_keys=True).encode())
    return spec


@contextlib.contextmanager
def _study_lock(folder):
    """Hold the folder's exclusive lock; `StudyError` if another run holds it.

    Yields whether the folder is locked (False where ``fcntl`` is missing).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking, no temp clean-up
        yield False
        return
    fd = os.open(Path(folder) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StudyError(f"{folder}: another run is working on this study (it holds "
                             f"{LOCK_FILE}); wait for it or stop it") from None
        yield True
    finally:
        os.close(fd)  # releases the lock


def is_locked(folder):
    """Whether a run holds the study folder's lock.

    Returns
    -------
    bool or None
        True while another `run_study` works on *folder*, False otherwise (also when
        the folder has no lock file yet), None where ``fcntl`` is missing (not POSIX).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return None
    path = Path(folder) / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _remove_stale_temporaries(folder):
    """Delete temp files of interrupted atomic writes (call only while holding the lock)."""
    for where in (Path(folder), Path(folder) / REAL_DIR):
        if not where.is_dir():
            continue
        for path in where.iterdir():
            if path.name.startswith(".") and path.name.endswith(".tmp") and path.is_file():
                path.unlink()


def _check_realization_dir(folder):
    real = Path(folder) / REAL_DIR
    if real.exists() and not real.is_dir():
        raise StudyError(f"{folder}: corrupt study folder ({REAL_DIR} is not a directory)")


def _done_indices(folder, spec):
    """Indices with a valid file; raises on a corrupt or foreign realization file."""
    real = Path(folder) / REAL_DIR
    done = []
    if not real.exists():
        return done
    digest = spec.digest()
    for path in sorted(real.iterdir()):
        if path.name.startswith("."):
            continue  # temporary file of an interrupted atomic write: never a result
        stem = path.stem
        if path.suffix != ".npz" or not stem.startswith("r") or not stem[1:].isdigit():
            raise StudyError(f"{path}: unexpected file in a study folder")
        index = int(stem[1:])
        try:
            _, meta = read_table(path)
        except Exception as exc:
            raise StudyError(f"{path}: corrupt realization file ({exc})") from exc
        if meta.get("digest") != digest or meta.get("index") != index:
            raise StudyError(f"{path}: belongs to another study (digest/index mismatch)")
        if index >= spec.realizations:
            raise StudyError(f"{path}: index beyond the study's {spec.realizations} realizations")
        done.append(index)
    return done


def study_status(folder):
    """Summary of a study folder (dict): total, done, missing, average present, spec."""
    spec = open_study(folder)
    done = _done_indices(folder, spec)
    missing = sorted(set(range(spec.realizations)) - set(done))
    seconds, deltas, zero, betas, solver = [], [], [], [], []
    for i in done:
        _, meta = read_table(_real_path(folder, i))
        seconds.append(meta.get("seconds", math.nan))
        deltas.append(meta.get("delta_delta0"))
        zero.append(meta.get("delta_zero_field_delta0"))
        betas.append(meta.get("beta_eff_delta0"))
        solver.append((meta.get("delta_stderr_delta0"), meta.get("delta_truncation_delta0")))
    status = {
        "folder": str(folder),
        "total": spec.realizations,
        "done": len(done),
        "missing": missing,
        "average_written": (Path(folder) / AVERAGE_FILE).exists(),
        "components": None if spec.components is None else {
            "eta_delta0": spec.components["eta_delta0"],
            "energies_delta0": spec.components["energies_delta0"],
            "written": (Path(folder) / COMPONENTS_FILE).exists()},
        "running": is_locked(folder),
        "mean_seconds_per_realization": float(np.mean(seconds)) if seconds else None,
        "disorder": spec.disorder,
        "size": spec.size,
        "moments": spec.moments,
        "vectors": spec.vectors,
        "seed": spec.seed,
    }
    if spec.self_consistent is not None:  # mean Δ and its standard error (selfconsistent.py)
        status["delta"] = selfconsistent.delta_summary(deltas, spec.self_consistent, spec.size,
                                                       zero_field=zero, beta_eff=betas,
                                                       solver_errors=solver)
    return status


# ----------------------------------------------------------------------------
# Disorder average (issue 10, item 7): ratio of averages, jackknife error


def read_dos(folder, spec=None):
    """Per-realization KPM DOS of a finished study, in index order.

    Returns
    -------
    dos_sc, dos_normal : ndarray, shape (realizations, n_energies)
        ``N_s`` and ``N_n`` per orbital (1/Δ0) of each realization: what
        `ratio_of_averages` pools, also across studies of one disorder kind.
    """
    spec = open_study(folder) if spec is None else spec
    done = _done_indices(folder, spec)
    if len(done) != spec.realizations:
        raise StudyError(f"{folder}: {len(done)} of {spec.realizations} realizations done")
    sc, normal = [], []
    for i in range(spec.realizations):
        cols, _ = read_table(_real_path(folder, i))
        sc.append(cols["dos_sc"])
        normal.append(cols["dos_normal"])
    return np.asarray(sc), np.asarray(normal)


def write_average(folder, spec=None):
    """Average all realizations (in index order) into ``average.csv``; returns its columns.

    Columns: ``energy`` (Δ0); ``dos`` = ``<N_s>/<N_n>`` (ratio of the realization
    averages) and its jackknife ``stderr``; ``dos_sc`` and ``dos_normal``, the
    averages ``<N_s>``, ``<N_n>`` per orbital (1/Δ0); ``mean_of_ratios``, the
    biased mean of the per-realization ratios, for comparison.
    """
    spec = open_study(folder) if spec is None else spec
    done = _done_indices(folder, spec)
    if len(done) != spec.realizations:
        raise StudyError(
            f"{folder}: {len(done)} of {spec.realizations} realizations done; "
            "the average is written once all are finished"
        )
    sc, normal, ratios, errs, shifts, deltas, zero, betas = [], [], [], [], [], [], [], []
    solver = []
    for i in range(spec.realizations):
        cols, meta = read_table(_real_path(folder, i))
        deltas.append(meta.get("delta_delta0"))
        zero.append(meta.get("delta_zero_field_delta0"))
        betas.append(meta.get("beta_eff_delta0"))
        solver.append((meta.get("delta_stderr_delta0"), meta.get("delta_truncation_delta0")))
        sc.append(cols["dos_sc"])
        normal.append(cols["dos_normal"])
        ratios.append(cols["ratio"])
        errs.append(cols["ratio_stderr"])
        shifts.append(meta["uniform_shift_t"])
    r = spec.realizations
    dos, stderr = ratio_of_averages(sc, normal)
    if r == 1:
        stderr = errs[0]  # jackknife over the random vectors of the one realization
    columns = {
        "energy": spec.energy_grid(),
        "dos": dos,
        "stderr": stderr,
        "dos_sc": np.sum(sc, axis=0) / r,
        "dos_normal": np.sum(normal, axis=0) / r,
        "mean_of_ratios": np.sum(ratios, axis=0) / r,
    }
    disorder = disorder_from_dict(spec.disorder)
    metadata = {
        "observable": "<N_s(E)>/<N_n(E)>: ratio of the realization averages of the KPM BdG "
                      "DOS with gap and with delta=0 (same disorder and random vectors)",
        "energy_unit": "Delta0",
        "stderr": "jackknife over realizations (leave-one-out ratios of averages)" if r > 1
                  else "jackknife over the random vectors of the single realization",
        "columns": {"dos_sc": "<N_s> per orbital, 1/Delta0",
                    "dos_normal": "<N_n> per orbital, 1/Delta0",
                    "mean_of_ratios": "mean of per-realization N_s/N_n (biased; comparison)"},
        "uniform_shift": {
            "convention": "site average of each realization's potential removed before the "
                          "supercell is built (absorbed into mu), as in the rate measurement",
            "removed_mean_t": float(np.mean(shifts)),
            "removed_min_t": float(np.min(shifts)),
            "removed_max_t": float(np.max(shifts)),
            "expected_t": float(disorder.mean),
            "removed_mean_delta0": float(np.mean(shifts)) / spec.energy_unit,
        },
        "realizations": r,
        "spec": spec.to_json(),
    }
    if spec.self_consistent is not None:  # mean Δ and its standard error (selfconsistent.py)
        metadata["delta"] = selfconsistent.delta_summary(deltas, spec.self_consistent, spec.size,
                                                         zero_field=zero, beta_eff=betas,
                                                         solver_errors=solver)
    if spec.components is not None:
        _write_components(folder, spec)
    write_table(Path(folder) / AVERAGE_FILE, columns, metadata)
    return columns


def _write_components(folder, spec):
    """``components.csv``: realization mean of ĝ_K, ĝ_K' and the jackknife errors."""
    c = spec.components
    samples = []
    for i in range(spec.realizations):
        cols, _ = read_table(_real_path(folder, i))
        key = _COMP_PREFIX + "g"
        if key not in cols:
            raise StudyError(f"{_real_path(folder, i)}: no valley components in a study "
                             "that stores them (corrupt realization file)")
        samples.append(cols[key])
    comps = green.components(np.array(samples))  # name -> (R, 2, n_c)
    columns = {"energy": np.asarray(c["energies_delta0"], dtype=float)}
    for v, valley in enumerate(green.VALLEYS):
        for name in green.COMPONENT_NAMES:
            for part, values in (("re", comps[name][:, v].real), ("im", comps[name][:, v].imag)):
                mean, err = mean_and_stderr(values)
                columns[f"{name}_{valley}_{part}"] = mean
                columns[f"{name}_{valley}_{part}_stderr"] = err
    metadata = {
        "observable": "realization average of the valley-resolved Green's function g_v "
                      "(latticemirage.green, on the supercell grid: "
                      "latticemirage.disorder.selfenergy.realization_components), at "
                      "z = energy + i eta, from the same potential and twist as the DOS",
        "energy_unit": "Delta0",
        "eta_delta0": c["eta_delta0"],
        "xi_cut_delta0": c["xi_cut_delta0"],
        "nu_per_spin_per_site_1_over_t": c["nu_per_spin_per_site_1_over_t"],
        "gauge": "eq1: real Delta in the paper's Eq. (1) (as mirage qc dos)",
        "valleys": "K: +beta (s = +1), Kp: -beta (s = -1)",
        "stderr": "jackknife over realizations (standard error of the mean)"
                  if spec.realizations > 1 else "NaN: one realization (LU is exact per "
                                                "realization; no error estimate)",
        "realizations": spec.realizations,
        "spec": spec.to_json(),
    }
    write_table(Path(folder) / COMPONENTS_FILE, columns, metadata)
    return columns


def read_components(folder):
    """The averaged valley components of a finished study: ``(columns, metadata)``.

    Raises
    ------
    StudyError
        The study did not store components (they are never recomputed from a study:
        run a new one with ``--components ETA``), or its average is not written yet.
    """
    spec = open_study(folder)
    if spec.components is None:
        raise StudyError(f"{folder}: this study did not store the valley components (it was "
                         "run without --components); they are not recomputed from it: run a "
                         "new study with --components ETA in another folder")
    path = Path(folder) / COMPONENTS_FILE
    if not path.exists():
        done = len(_done_indices(folder, spec))
        raise StudyError(f"{folder}: {done} of {spec.realizations} realizations done; the "
                         f"components are written with the average once all are finished")
    return read_table(path)


# ----------------------------------------------------------------------------
# Runner


class _Progress:
    """One status line on stderr: done/total, rate, ETA."""

    def __init__(self, total, done, stream=None):
        self.total, self.done = total, done
        self.start_done = done
        self.start = time.monotonic()
        self.stream = sys.stderr if stream is None else stream
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done):
        self.done = done
        elapsed = time.monotonic() - self.start
        new = done - self.start_done
        if new > 0:
            eta = elapsed / new * (self.total - done)
            eta_text = time.strftime("%H:%M:%S", time.gmtime(eta))
        else:
            eta_text = "--:--:--"
        width = 30
        filled = int(width * done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        line = (f"[{bar}] {done}/{self.total} realizations, "
                f"{elapsed:.0f} s elapsed, ETA {eta_text}")
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _init_worker(threads):
    kpm.set_num_threads(threads)


def run_study(folder, spec, *, executor=None, workers=None, progress=True, stream=None):
    """Run (or resume) a study; returns the average columns once all are done.

    Parameters
    ----------
    folder : str or Path
    spec : StudySpec
    executor : concurrent.futures.Executor, optional
        Any executor (``submit`` returning concurrent futures). Default: a local
        process pool (spawn) of *workers* processes, each with ``cores // workers``
        numba threads.
    workers : int, optional
        Size of the default pool (default: available cores, at most the number of
        missing realizations).
    progress : bool
        Progress bar with ETA on *stream* (stderr).

    Returns
    -------
    dict
        Columns of ``average.csv``.

    Raises
    ------
    StudyError
        The folder is foreign, corrupt, holds other parameters, or another run
        holds its lock.

    Notes
    -----
    The default pool starts its workers with the ``spawn`` method, which imports
    the calling script again: a script calling `run_study` needs the usual
    ``if __name__ == "__main__":`` guard (the ``mirage`` CLI has it).
    """
    kpm.requested_backend()  # a bad $MIRAGE_KPM_BACKEND is refused before anything is written
    if spec.self_consistent is not None:  # validity rules, before anything is written
        selfconsistent.guard(spec.self_consistent, spec.size,
                             kernel_width=spec.meta.get("kernel_width_delta0"))
    open_study(folder, spec)
    with _study_lock(folder) as locked:
        if locked:  # without the lock a temp file may be another run's write in progress
            _remove_stale_temporaries(folder)
        return _run_locked(folder, spec, executor, workers, progress, stream)


def _run_locked(folder, spec, executor, workers, progress, stream):
    done = set(_done_indices(folder, spec))
    missing = [i for i in range(spec.realizations) if i not in done]
    bar = _Progress(spec.realizations, len(done), stream) if progress else None
    if missing:
        own = executor is None
        if own:
            cores = available_cores()
            workers = min(workers or cores, len(missing))
            threads = max(1, cores // workers)
            executor = process_pool(workers, initializer=_init_worker, initargs=(threads,))
        spec_json = spec.to_json()
        try:
            futures = {executor.submit(compute_realization, spec_json, i): i for i in missing}
            if bar:
                bar.update(len(done))
            for fut in cf.as_completed(futures):
                index = futures[fut]
                result = fut.result()  # a failed realization stops the study (re-raised)
                _write_realization(folder, index, result)
                done.add(index)
                if bar:
                    bar.update(len(done))
        finally:
            if own:
                executor.shutdown(wait=True, cancel_futures=True)
            if bar:
                bar.close()
    return write_average(folder, spec)
