r"""Fit the quasiclassical tunneling conductance to measured dI/dV(V, B): beta_so, Delta0, Gamma.

Model
    For every field :math:`B_j` of the data set,

    .. math::

        \frac{dI}{dV}(V) = A_j\,\frac{G}{G_N}\big(eV - eV_0;\ \beta_{so}, B_j, T, \Gamma, \eta,
            \Delta(B_j, T, \Gamma)\big),

    the thermally smeared conductance of `quasiclassical.tunneling` with the gap solved
    self-consistently at each field (`quasiclassical.gap`), a bias offset :math:`V_0` and a
    normalization A (one for all fields, or one per field). The measurement temperature
    T and the g-factor are known; the parameters are ``beta_so``, ``delta0`` (the scale
    :math:`\Delta_0`, equivalently :math:`T_{c0} = \Delta_0 / 1.764 k_B`), ``gamma``
    (intervalley rate), ``eta`` (Dynes), ``norm`` and ``offset``. Any of them can be fixed
    or bounded.

Data units
    The fit works in the units of the data: energies in meV and fields in tesla
    (``units="physical"``; the Zeeman energy is :math:`g\mu_B B/2`, `mirage_common.units`),
    or energies in a nominal Delta0 and fields as Zeeman energies in it
    (``units="reduced"``; the fitted ``delta0`` is then the true gap in that unit, ~1 if the
    nominal unit was right). The solver runs in the reduced units of the trial
    ``delta0``: :math:`\beta/\Delta_0`, :math:`T/T_{c0} = 1.764\,k_BT/\Delta_0`, ...

Why SciPy's ``least_squares`` and not lmfit
    lmfit wraps the same MINPACK/TRF solvers and adds parameter objects; what this fit
    needs beyond SciPy is a Jacobian that reuses the expensive part (the self-consistent
    gap and the SCBA DOS) and runs its columns in parallel, which is a callable ``jac`` in
    ``least_squares`` (lmfit would finite-difference the whole model serially). Bounds
    (trust-region reflective), ``x_scale="jac"``, and the Jacobian at the solution for the
    covariance are all there; no extra dependency.

Speed
    The conductance is evaluated on the shifted contour of
    `quasiclassical.tunneling.conductance_shifted` (strip half-width >= pi k_BT / 2 for any
    eta), on one fixed grid in data units (k_BT is fixed in data units) of spacing
    pi k_BT / (2 n), n = 3 (quadrature error ~1e-6 of G/G_N, measured), so the
    offset/normalization derivatives need no new Green's functions. The gap at each field
    is warm-started from the previous one (bracket +-3 %, brentq; full `solve_gap` when
    the bracket fails), which follows the same free-energy branch: near a first-order
    transition the fit keeps the branch of its starting point. Jacobian columns of
    beta_so, delta0, gamma, eta are forward differences whose (parameter, field)
    evaluations run in parallel on an Executor.

Uncertainties
    Linearized: the covariance :math:`(J^TJ)^{-1}` at the solution over the free
    parameters that are not at a bound (a parameter at a bound is held there: it has no
    +- error, and the others' covariance is conditional on it); when the data carry no
    ``didv_err`` it is scaled by the reduced :math:`\chi^2` (errors estimated from the
    scatter, assuming the model is right). Derived quantities (reduced units, T_c0,
    B_c2) by linear propagation.

    Profile likelihood: for each free parameter the values where :math:`\chi^2`,
    re-minimized over all other free parameters, exceeds its minimum by 3.84 (the 95 %
    quantile of :math:`\chi^2_1`; times the reduced :math:`\chi^2` without
    ``didv_err``), truncated at the bounds: the 95 % interval, valid also where the model
    is not linear over the error bar. A parameter at a bound (e.g. :math:`\Gamma = 0`)
    gets the interval from the bound to its one-sided 95 % limit, where
    :math:`\Delta\chi^2 = 2.71`. Coverage measured in ``benchmarks/bench_fit.py``.

Identifiability
    :math:`\Gamma` and :math:`\beta_{so}` act only through the in-plane field (at
    B = 0 the DOS is BCS whatever their value). Before fitting, each of them (if free)
    is changed by ~Delta0 at the starting point; if :math:`\chi^2` moves by less than
    4, the data cannot fix it and the fit is refused with the reason.
"""

import csv
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive
from mirage_common.resources import check_memory, format_bytes
from mirage_common.units import BOHR_MAGNETON_MEV_PER_T, BOLTZMANN_MEV_PER_K, DELTA0_OVER_TC0
from quasiclassical.gap import critical_field, gap_residual, solve_gap
from quasiclassical.params import QCParams
from quasiclassical.tunneling import (
    KERNEL_HALF_WIDTH,
    conductance_shifted,
    contour_shift,
    electron_g0,
    tunneling_conductance_params,
)

__all__ = [
    "DCHI2_ONE_SIDED",
    "DCHI2_TWO_SIDED",
    "MIN_IDENTIFIABLE_DCHI2",
    "PARAMETERS",
    "Conditions",
    "FitResult",
    "Spectra",
    "SpectrumModel",
    "bc2_curve",
    "check_parameter_options",
    "check_thermal_window",
    "estimate_memory",
    "fit_spectra",
    "read_spectra",
    "sample_posterior",
    "simulate_spectra",
    "spectra_from_arrays",
    "starting_values",
]

#: The physics parameters, in the order of the parameter vector (then per-field norms).
PARAMETERS = ("beta_so", "delta0", "gamma", "eta", "norm", "offset")
#: Physics parameters whose change needs a new DOS (Jacobian columns by differences).
_DOS_PARAMETERS = ("beta_so", "delta0", "gamma", "eta")
_COLUMNS = {
    "physical": ("field_T", "bias_mV"),
    "reduced": ("field", "bias"),
}
#: Fewest points per field (the parameters are shared, but a field needs a spectrum).
MIN_POINTS_PER_FIELD = 10
#: Relative forward-difference step of the DOS parameters (model noise ~1e-8: SCBA tol).
_FD_STEP = 1e-4
_SCBA_TOL = 1e-8
#: Relative half-width of the warm-start bracket of the gap.
_GAP_BRACKET = 0.03
#: Significance (in noise units) a mirage dip needs for the automatic start.
MIN_DIP_SIGNIFICANCE = 4.0


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spectra:
    """dI/dV spectra grouped by field.

    Attributes
    ----------
    fields : ndarray, shape (f,)
        Distinct fields, sorted: tesla (``units="physical"``) or Zeeman energy in the
        nominal Delta0 (``"reduced"``).
    biases, didv : tuple of f ndarrays
        Per field, sorted by bias: mV (or nominal Delta0), and the measured dI/dV (any scale).
    errors : tuple of f ndarrays or None
        One standard error per point (``didv_err``), or None.
    units : {"physical", "reduced"}
    dropped : int
        Rows dropped because of NaN values (in ``didv`` or ``didv_err``).
    dropped_lines : tuple of str
        Where those rows were (``"line 17"``, or ``"row k"`` for arrays).
    """

    fields: np.ndarray
    biases: tuple
    didv: tuple
    errors: tuple | None
    units: str
    dropped: int = 0
    dropped_lines: tuple = ()

    @property
    def size(self):
        return int(sum(b.size for b in self.biases))


def _parse_float(text, line, column):
    try:
        return float(text)
    except ValueError:
        raise ParameterError(
            "input", f"line {line}: column {column!r}: not a number: {text!r}"
        ) from None


#: Memory of the CSV while it is parsed, per byte of file (measured: Python rows of
#: floats ~200 B per 40-60 B text line; 10 bounds it).
_PARSE_BYTES_PER_FILE_BYTE = 10.0


def _read_text(path):
    """The file's text: UTF-8 (a byte-order mark is stripped), refused if binary."""
    try:
        size = os.path.getsize(path)
        check_memory("input", _PARSE_BYTES_PER_FILE_BYTE * size,
                      f"{format_bytes(size)} of CSV x {_PARSE_BYTES_PER_FILE_BYTE:g} while parsing")
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ParameterError("input", f"cannot read {path}: {exc.strerror}") from None
    if b"\x00" in raw:
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise ParameterError("input", f"{path}: line {line}: a NUL byte: this is a binary file, "
                             "not a CSV text table")
    try:
        # utf-8-sig: a leading byte-order mark (Excel's "CSV UTF-8") is dropped, not read
        # as part of the first column name.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ParameterError("input", f"{path}: line {line}: byte {exc.start} is not UTF-8 "
                             "text: a binary file or another encoding (save the table as "
                             "UTF-8 CSV)") from None


def read_spectra(path, *, units="physical"):
    """Read a long-format CSV of dI/dV (one row per point) into `Spectra`.

    Columns (header row; ``#`` lines are comments, e.g. the metadata line of files this
    package writes): ``field_T``, ``bias_mV``, ``didv`` (``units="physical"``) or
    ``field``, ``bias``, ``didv`` (``"reduced"``; ``energy`` is accepted for ``bias``, as
    ``mirage lattice conductance`` writes it); ``conductance`` is accepted for
    ``didv``; optional ``didv_err``. Rows may come in any order, fields may have different
    bias grids.

    Input rules (each violation names the file line or column):

    - UTF-8 text; a byte-order mark is stripped; a file with NUL bytes or non-UTF-8
      bytes is refused as binary.
    - Column names are unique (a repeated name is ambiguous: which ``didv``?).
    - A (field, bias) pair occurs once: a repeated row, or two dI/dV values at equal
      biases of one field, is refused (average them yourself, with their errors).
    - NaN in ``didv`` or ``didv_err`` marks a missing measurement: the row is dropped,
      counted and its line kept in `Spectra.dropped_lines`; NaN in ``field`` or ``bias``
      (the row has no place) is refused.
    - The file's parse memory is estimated from its size before it is read.

    Raises
    ------
    ParameterError
        (``input``) missing file or columns, binary file, repeated column or row, text
        in a number, too few fields or points.
    """
    if units not in _COLUMNS:
        raise ParameterError("units", f"must be one of {sorted(_COLUMNS)}, got {units!r}")
    text = _read_text(path)
    lines = [(k + 1, row) for k, row in enumerate(text.splitlines())
             if not row.lstrip().startswith("#") and row.strip()]
    if not lines:
        raise ParameterError("input", f"{path}: no header row")
    reader = csv.reader([row for _, row in lines])
    header = [h.strip() for h in next(reader)]
    seen = {}
    for k, name in enumerate(header):
        if name in seen:
            raise ParameterError("input", f"{path}: line {lines[0][0]}: column {name!r} appears "
                                 f"twice (columns {seen[name] + 1} and {k + 1}); column names "
                                 "must be unique")
        seen[name] = k
    field_col, bias_col = _COLUMNS[units]
    if units == "reduced" and bias_col not in header and "energy" in header:
        # `mirage lattice conductance` and `mirage qc dos` name the reduced bias eV "energy".
        bias_col = "energy"
    didv_col = "didv" if "didv" in header else ("conductance" if "conductance" in header
                                                else "didv")
    needed = [field_col, bias_col, didv_col]
    missing = [c for c in needed if c not in header]
    if missing:
        other = "reduced" if units == "physical" else "physical"
        hint = ""
        if all(c in header for c in _COLUMNS[other]):
            hint = f" (the file has {other}-unit columns: use --units {other})"
        raise ParameterError(
            "input", f"{path}: missing column(s) {', '.join(missing)}; have {', '.join(header)}"
            f"{hint}")
    use = needed + (["didv_err"] if "didv_err" in header else [])
    idx = [header.index(c) for c in use]
    rows = []
    for (line, _), values in zip(lines[1:], reader, strict=True):
        if len(values) != len(header):
            raise ParameterError("input", f"line {line}: {len(values)} values for "
                                 f"{len(header)} columns")
        row = [_parse_float(values[i].strip(), line, c) for i, c in zip(idx, use, strict=True)]
        for value, c in zip(row[:2], use[:2], strict=True):
            if math.isnan(value):
                raise ParameterError("input", f"line {line}: column {c!r} is NaN: a row needs "
                                     "its field and bias (NaN is accepted only in the dI/dV "
                                     "columns, as a missing measurement)")
        rows.append(row)
    data = np.array(rows, dtype=float).reshape(-1, len(use))
    err = data[:, 3] if len(use) == 4 else None
    return spectra_from_arrays(data[:, 0], data[:, 1], data[:, 2], err, units=units,
                               labels=[f"line {line}" for line, _ in lines[1:]],
                               columns=use)


def spectra_from_arrays(field, bias, didv, error=None, *, units="physical", labels=None,
                        columns=None):
    """Group long-format arrays by field into `Spectra` (NaN rows dropped and counted).

    Parameters
    ----------
    field, bias, didv, error : array_like, shape (n,)
    units : {"physical", "reduced"}
    labels : sequence of str, optional
        How to name each row in messages (``"line 17"``); default ``"row k"`` (from 1).
    columns : sequence of str, optional
        Column names for messages (default ``field, bias, didv, didv_err``).

    Raises
    ------
    ParameterError
        (``input``) NaN field or bias, infinite values, negative fields or errors, a
        repeated (field, bias) pair, fewer than 2 fields, or a field with fewer than
        `MIN_POINTS_PER_FIELD` points.
    """
    cols = [np.asarray(field, float), np.asarray(bias, float), np.asarray(didv, float)]
    if error is not None:
        cols.append(np.asarray(error, float))
    if len({c.shape for c in cols}) != 1 or cols[0].ndim != 1:
        raise ParameterError("input", "columns must be 1-D and of equal length")
    names = list(columns or ("field", "bias", "didv", "didv_err"))
    data = np.stack(cols, axis=1)
    labels = list(labels) if labels is not None else [f"row {k + 1}" for k in range(len(data))]

    def where(mask):
        k = int(np.flatnonzero(mask)[0])
        return labels[k], k

    for c in (0, 1):
        if np.any(np.isnan(data[:, c])):
            label, _ = where(np.isnan(data[:, c]))
            raise ParameterError("input", f"{label}: column {names[c]!r} is NaN: a row needs "
                                 "its field and bias")
    bad = np.any(np.isnan(data), axis=1)
    dropped_lines = tuple(labels[k] for k in np.flatnonzero(bad))
    keep = ~bad
    data = data[keep]
    labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    if not np.all(np.isfinite(data)):
        label, k = where(~np.all(np.isfinite(data), axis=1))
        col = names[int(np.flatnonzero(~np.isfinite(data[k]))[0])]
        raise ParameterError("input", f"{label}: column {col!r}: infinite value")
    if np.any(data[:, 0] < 0):
        label, _ = where(data[:, 0] < 0)
        raise ParameterError("input", f"{label}: column {names[0]!r}: fields must be >= 0 (the "
                             "in-plane field's magnitude; its direction is --phi)")
    if error is not None and np.any(data[:, 3] <= 0):
        label, _ = where(data[:, 3] <= 0)
        raise ParameterError("input", f"{label}: column {names[3]!r}: didv_err must be > 0")
    order = np.lexsort((data[:, 1], data[:, 0]))
    same = np.flatnonzero((np.diff(data[order, 0]) == 0) & (np.diff(data[order, 1]) == 0))
    if same.size:
        a, b = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        what = ("the same row twice (a duplicated row)" if np.array_equal(data[a], data[b])
                else "two dI/dV values at equal biases of one field")
        raise ParameterError(
            "input", f"{labels[a]} and {labels[b]}: {what}: {names[0]} = {data[a, 0]:g}, "
            f"{names[1]} = {data[a, 1]:g}; each (field, bias) must occur once (average repeated "
            "sweeps before fitting, with their errors in didv_err)")
    fields = np.unique(data[:, 0])
    if fields.size < 2:
        raise ParameterError(
            "input", f"{fields.size} distinct field(s): the fit needs spectra at >= 2 fields "
            "(the mirage centre sqrt(beta^2 + B^2) separates beta_so from B only across fields)")
    biases, didvs, errs = [], [], []
    for f in fields:
        sel = data[data[:, 0] == f]
        sel = sel[np.argsort(sel[:, 1], kind="stable")]
        if sel.shape[0] < MIN_POINTS_PER_FIELD:
            raise ParameterError("input", f"field {f:g}: {sel.shape[0]} points, need >= "
                                 f"{MIN_POINTS_PER_FIELD}")
        biases.append(sel[:, 1])
        didvs.append(sel[:, 2])
        errs.append(sel[:, 3] if error is not None else None)
    return Spectra(fields=fields, biases=tuple(biases), didv=tuple(didvs),
                   errors=tuple(errs) if error is not None else None, units=units,
                   dropped=int(np.count_nonzero(bad)), dropped_lines=dropped_lines)


@dataclass(frozen=True)
class Conditions:
    """What is known about the measurement.

    Parameters
    ----------
    temperature : float
        Kelvin (``units="physical"``) or T / nominal T_c0 (``"reduced"``); > 0.
    g_factor : float
        Landé g of the in-plane Zeeman coupling (> 0; physical units only).
    phi : float
        In-plane field angle from x, radians.
    units : {"physical", "reduced"}
    """

    temperature: float
    g_factor: float = 2.0
    phi: float = 0.0
    units: str = "physical"

    def __post_init__(self):
        name = "temperature-K" if self.units == "physical" else "temperature"
        check_positive(name, self.temperature)
        check_positive("g-factor", self.g_factor)
        check_finite("phi", self.phi)
        if self.units not in _COLUMNS:
            raise ParameterError("units", f"must be one of {sorted(_COLUMNS)}")

    @property
    def kt(self):
        """k_B T in data energy units (meV, or nominal Delta0)."""
        if self.units == "physical":
            return BOLTZMANN_MEV_PER_K * self.temperature
        return self.temperature / DELTA0_OVER_TC0

    @property
    def zeeman_per_field(self):
        """Zeeman energy per data field unit: g mu_B / 2 (meV/T), or 1 (reduced)."""
        if self.units == "physical":
            return self.g_factor * BOHR_MAGNETON_MEV_PER_T / 2
        return 1.0


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------


_GAP_MEMO = {}


def _gap(params, guess):
    """Self-consistent gap (reduced), warm-started from *guess* (module docstring).

    From a guess: secant iteration on h(Delta) (the gap-equation function of
    `quasiclassical.gap`), accepted only while h rises through zero (a free-energy
    minimum) within +-3 % of the guess, to |step| < 1e-11; 3-4 evaluations of h instead
    of the ~25 of a full `solve_gap`, to which it falls back otherwise. Memoized per
    process on the gap's own parameters (eta does not enter the gap).
    """
    key = (params.beta, params.field, params.phi, params.temperature, params.gamma,
           params.gamma_intra, params.impurities)
    if key in _GAP_MEMO:
        return _GAP_MEMO[key]
    delta = None
    if guess is not None and guess > 1e-3:
        d = [guess, guess * (1 + 1e-4)]
        h = list(gap_residual(d, params))
        for _ in range(10):
            slope = (h[1] - h[0]) / (d[1] - d[0])
            if not slope > 0:
                break
            new = d[1] - h[1] / slope
            if not abs(new / guess - 1) < _GAP_BRACKET:
                break
            if abs(new - d[1]) < 1e-11:
                delta = new
                break
            d, h = [d[1], new], [h[1], float(gap_residual([new], params)[0])]
    if delta is None:
        delta = solve_gap(params).delta
    if len(_GAP_MEMO) > 4096:
        _GAP_MEMO.clear()
    _GAP_MEMO[key] = delta
    return delta


def _field_dos(task):
    """One (parameter set, field): (gap, g0 on the shifted contour). Top level: picklable.

    *eta* here already includes the contour shift y (both in reduced units).
    """
    energies, beta, zeeman, phi, temperature, gamma, eta, guess = task
    params = QCParams(beta=beta, field=zeeman, phi=phi, temperature=temperature, gamma=gamma,
                      eta=eta)
    gap_params = params.replace(eta=0.0)
    delta = _gap(gap_params, guess)
    g0, _, _ = electron_g0(energies, params, delta=delta, tol=_SCBA_TOL, on_failure="warn")
    return delta, g0


class SpectrumModel:
    """The dI/dV model of one data set, with its DOS grid and caches (module docstring).

    Parameters
    ----------
    spectra : Spectra
    conditions : Conditions
    offset_margin : float
        Largest ``|offset|`` the grid must allow (data energy units).
    points_per_width : float
        n: grid spacing pi k_B T / (2 n) on the shifted contour; n = 3 gives ~1e-6 of G/G_N.
    executor : concurrent.futures.Executor, optional
        Runs the per-field DOS evaluations (default: serially).
    per_field_norm : bool
        One normalization per field instead of one for all.
    """

    def __init__(self, spectra, conditions, *, offset_margin, points_per_width=3.0,
                 executor=None, per_field_norm=False):
        self.spectra = spectra
        self.conditions = conditions
        self.offset_margin = float(offset_margin)
        self.points_per_width = float(points_per_width)
        self.executor = executor
        self.per_field_norm = bool(per_field_norm)
        nf = spectra.fields.size
        self.names = PARAMETERS + tuple(f"norm_{j}" for j in range(nf) if per_field_norm)
        self._grids = {}
        self._dos_cache = {}
        self._gap_guess = [None] * nf
        self.n_dos = 0  # DOS evaluations (cost counter)

    # ---- grid ----------------------------------------------------------------
    def grid(self, eta=None):
        """Contour grid (data units, real parts); the same for every eta (module docstring)."""
        kt = self.conditions.kt
        level = 0
        if level not in self._grids:
            h = math.pi * kt / 2 / self.points_per_width
            lo = min(b.min() for b in self.spectra.biases) - self.offset_margin
            hi = max(b.max() for b in self.spectra.biases) + self.offset_margin
            lo -= KERNEL_HALF_WIDTH * kt
            hi += KERNEL_HALF_WIDTH * kt
            n = math.ceil((hi - lo) / h) + 1
            if n > 400_000:
                raise ParameterError(
                    "temperature", f"k_B T = {kt:.3g} needs a {n}-point grid over the bias "
                    "window; the temperature is too low for the window")
            self._grids[level] = np.linspace(lo, hi, n)
        return self._grids[level]

    # ---- DOS -----------------------------------------------------------------
    def _tasks(self, theta, grid):
        p = dict(zip(self.names, theta, strict=True))
        d0 = p["delta0"]
        c = self.conditions
        t_red = c.kt * DELTA0_OVER_TC0 / d0
        y, _ = contour_shift(c.kt, p["eta"])
        return [(grid / d0, p["beta_so"] / d0, c.zeeman_per_field * b / d0, c.phi, t_red,
                 p["gamma"] / d0, (p["eta"] + y) / d0, self._gap_guess[j])
                for j, b in enumerate(self.spectra.fields)]

    def dos_many(self, thetas, grid):
        """DOS per field for several parameter vectors: list of (gaps, dos list)."""
        keys, tasks, owners = [], [], []
        out = [None] * len(thetas)
        for i, theta in enumerate(thetas):
            key = (tuple(float(v) for v in theta[:4]), grid.size, float(grid[0]))
            if key in self._dos_cache:
                out[i] = self._dos_cache[key]
                continue
            keys.append((i, key))
            start = len(tasks)
            tasks.extend(self._tasks(theta, grid))
            owners.append((i, start, len(tasks)))
        if tasks:
            mapper = self.executor.map if self.executor is not None else map
            results = list(mapper(_field_dos, tasks))
            self.n_dos += len(tasks)
            for (i, key), (_, a, b) in zip(keys, owners, strict=True):
                value = (np.array([r[0] for r in results[a:b]]), [r[1] for r in results[a:b]])
                out[i] = value
                if len(self._dos_cache) > 64:
                    self._dos_cache.pop(next(iter(self._dos_cache)))
                self._dos_cache[key] = value
        return out

    # ---- conductance -------------------------------------------------------------
    def norms(self, theta):
        p = dict(zip(self.names, theta, strict=True))
        if self.per_field_norm:
            return [p[f"norm_{j}"] for j in range(self.spectra.fields.size)]
        return [p["norm"]] * self.spectra.fields.size

    def smear(self, dos, theta, grid, offset=None):
        """Unnormalized G/G_N per field from the DOS list."""
        p = dict(zip(self.names, theta, strict=True))
        off = p["offset"] if offset is None else offset
        kt = self.conditions.kt
        y, _ = contour_shift(kt, p["eta"])
        return [conductance_shifted(grid, dos[j], self.spectra.biases[j] - off, kt, y)
                for j in range(len(dos))]

    def conductance(self, theta, *, update_guess=False):
        """Model dI/dV per field (list of arrays), and the gaps (reduced) per field."""
        theta = np.asarray(theta, float)
        grid = self.grid(theta[self.names.index("eta")])
        gaps, dos = self.dos_many([theta], grid)[0]
        if update_guess:
            self._gap_guess = list(gaps)
        g = self.smear(dos, theta, grid)
        return [n * gj for n, gj in zip(self.norms(theta), g, strict=True)], gaps

    def jacobian(self, theta, free):
        """d(model)/d(theta[free]) stacked over fields, shape (points, len(free))."""
        theta = np.asarray(theta, float)
        eta = theta[self.names.index("eta")]
        grid = self.grid(eta)
        gaps, dos0 = self.dos_many([theta], grid)[0]
        self._gap_guess = list(gaps)
        norms = self.norms(theta)
        g0 = self.smear(dos0, theta, grid)
        cols = {}
        fd = [k for k in free if self.names[k] in _DOS_PARAMETERS]
        shifted, steps = [], []
        for k in fd:
            h = _FD_STEP * max(abs(theta[k]), theta[self.names.index("delta0")] * 0.1)
            t = theta.copy()
            t[k] += h
            shifted.append(t)
            steps.append(h)
        for k, h, t, (_, dos) in zip(fd, steps, shifted, self.dos_many(shifted, grid),
                                     strict=True):
            g = self.smear(dos, t, grid)  # t: eta sets the contour shift
            cols[k] = np.concatenate([n * (a - b) / h for n, a, b in zip(norms, g, g0,
                                                                         strict=True)])
        for k in free:
            name = self.names[k]
            if name == "norm":
                cols[k] = np.concatenate(g0)
            elif name.startswith("norm_"):
                j = int(name[5:])
                cols[k] = np.concatenate([g if i == j else np.zeros_like(g)
                                          for i, g in enumerate(g0)])
            elif name == "offset":
                h = 1e-4 * theta[self.names.index("delta0")]
                g1 = self.smear(dos0, theta, grid, offset=theta[k] + h)
                cols[k] = np.concatenate([n * (a - b) / h for n, a, b in zip(norms, g1, g0,
                                                                             strict=True)])
        return np.stack([cols[k] for k in free], axis=1)


# --------------------------------------------------------------------------------------
# Starting values
# --------------------------------------------------------------------------------------


def _smooth(y, width):
    """Gaussian smoothing over *width* points (edges by reflection)."""
    width = max(float(width), 1e-9)
    half = math.ceil(3 * width)
    if half < 1:
        return y
    x = np.arange(-half, half + 1)
    w = np.exp(-0.5 * (x / width) ** 2)
    w /= w.sum()
    pad = np.pad(y, half, mode="reflect")
    return np.convolve(pad, w, mode="valid")


def _noise(y):
    """Point-to-point noise estimate: MAD of second differences / sqrt(6)."""
    d2 = y[2:] - 2 * y[1:-1] + y[:-2]
    return 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / math.sqrt(6)


def starting_values(spectra, conditions, *, require_mirage=True):
    r"""Starting values from the data (module docstring of `fit_spectra`).

    - ``delta0`` and ``offset``: coherence peaks of the lowest-field spectrum, the largest
      maxima on each side; Delta0 = half their distance (the gap at the lowest field and
      the measurement T is close to Delta0 if both are low), offset = their midpoint.
    - ``norm``: median dI/dV over the outer fifth of the bias window of the highest field.
    - ``beta_so``: the mirage dip of the highest-field spectrum, the most significant
      minimum of the smoothed dI/dV outside 1.5 x the main gap on each side, gives
      :math:`\varepsilon_0`; Eq. (5) :math:`\varepsilon_0 \approx \sqrt{\beta^2 + B^2}`
      inverted.
    - ``gamma`` = 0.1 Delta0, ``eta`` = 0.02 Delta0 (no robust estimate from a few peaks).

    With ``require_mirage=False`` (beta_so given by the user) a missing mirage dip is not
    an error: ``beta_so`` is then NaN and ``info["mirage_centre"]`` None.

    Returns
    -------
    start : dict
        Parameter name -> value (data units).
    info : dict
        What was found (``mirage_centre``, ``dip_significance``, peak positions).

    Raises
    ------
    ParameterError
        (``input``) no coherence peaks, or (with *require_mirage*) no significant mirage
        dip in the bias window.
    """
    j0 = 0
    v, y = spectra.biases[j0], spectra.didv[j0]
    spacing = float(np.median(np.diff(v)))
    sm = _smooth(y, max(1.0, conditions.kt / spacing / 2))
    pos, neg = v > 0, v < 0
    if not (pos.any() and neg.any()):
        raise ParameterError("input", "the bias window must include both signs of the bias")
    vp = v[pos][np.argmax(sm[pos])]
    vn = v[neg][np.argmax(sm[neg])]
    delta = 0.5 * (vp - vn)
    offset = 0.5 * (vp + vn)
    if not delta > 0:
        raise ParameterError("input", "no coherence peaks found in the lowest-field spectrum")
    jb = spectra.fields.size - 1
    v, y = spectra.biases[jb], spectra.didv[jb]
    outer = np.abs(v - offset) >= 0.8 * np.max(np.abs(v - offset))
    norm = float(np.median(y[outer]))
    spacing = float(np.median(np.diff(v)))
    sm = _smooth(y, max(1.0, conditions.kt / spacing / 2))
    noise = max(_noise(y), 1e-12 * abs(norm))
    # noise of the smoothed curve: white noise averaged over ~2.5 width points
    width_pts = max(1.0, conditions.kt / spacing / 2)
    noise_sm = noise / math.sqrt(2 * math.sqrt(math.pi) * width_pts)
    centres, significance = [], []
    for side in (1, -1):
        sel = side * (v - offset) > 1.5 * delta
        if np.count_nonzero(sel) < 5:
            if not require_mirage:
                centres, significance = [math.nan, math.nan], [0.0, 0.0]
                break
            raise ParameterError(
                "input", "no mirage feature in the bias window: the window must extend well "
                f"beyond the main gap (|V| > 1.5 x {delta:.4g}) on both sides")
        # Baseline from this side's outer region only (the main gap's coherence peak would
        # otherwise raise it near the gap and fake a dip), wider than the mirage dip.
        base = _smooth(y[sel], min(max(3.0, 4 * delta / spacing), np.count_nonzero(sel) / 7))
        contrast = sm[sel] - base
        k = int(np.argmin(contrast))
        centres.append(abs(v[sel][k] - offset))
        significance.append(-contrast[k] / noise_sm)
    sig = float(min(significance))
    if sig < MIN_DIP_SIGNIFICANCE and not require_mirage:
        start = {"beta_so": math.nan, "delta0": float(delta), "gamma": 0.1 * float(delta),
                 "eta": 0.02 * float(delta), "norm": norm, "offset": float(offset)}
        return start, {"mirage_centre": None, "dip_significance": sig,
                       "coherence_peaks": [float(vn), float(vp)]}
    if sig < MIN_DIP_SIGNIFICANCE:
        raise ParameterError(
            "input", f"no mirage feature in the bias window: the deepest dip outside the main "
            f"gap at the highest field is {sig:.1f} sigma of the noise (need "
            f">= {MIN_DIP_SIGNIFICANCE:g}); widen the bias window to include "
            "+-sqrt(beta_so^2 + B^2) or add higher fields")
    eps0 = float(np.mean(centres))
    zb = conditions.zeeman_per_field * spectra.fields[jb]
    beta = math.sqrt(max(eps0**2 - zb**2, (0.1 * eps0) ** 2))
    start = {"beta_so": beta, "delta0": float(delta), "gamma": 0.1 * float(delta),
             "eta": 0.02 * float(delta), "norm": norm, "offset": float(offset)}
    info = {"mirage_centre": eps0, "mirage_centres_by_side": centres,
            "dip_significance": sig, "coherence_peaks": [float(vn), float(vp)],
            "start_field": float(spectra.fields[jb])}
    return start, info


# --------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitResult:
    """Result of `fit_spectra` (data units; see `Conditions`).

    Attributes
    ----------
    names : tuple of str
        All parameters (`PARAMETERS`, then ``norm_j`` per field if per-field norms).
    values, stderr : dict
        Name -> value and standard error (0 for fixed parameters).
    free : tuple of str
    covariance, correlation : ndarray, shape (len(free), len(free))
    chi2, dof, reduced_chi2 : float
    errors_from_data : bool
        True if ``didv_err`` was given (no rescaling of the covariance).
    residuals : tuple of f ndarrays
        (data - model) / error per field (error 1 without ``didv_err``).
    model : tuple of f ndarrays
        The model at the solution, per field.
    gaps : ndarray, shape (f,)
        Self-consistent gap per field at the solution, in the fitted Delta0.
    start, start_info : dict
    success : bool
    message : str
    nfev, njev, n_dos : int
    seconds : float
    chi2_history : tuple of float
        chi^2 at every residual evaluation (convergence record).
    x_history : ndarray, shape (nfev + 1, len(free))
        The free parameters at those evaluations.
    bounds : dict
        Name -> (low, high) of the free parameters.
    at_bound : dict
        Free parameter -> -1 (at its lower bound), +1 (upper) or 0. At a bound the
        stderr is NaN (no +- error) and the interval one-sided.
    interval95 : dict
        Free parameter -> (low, high): profile-likelihood 95 % interval (Delta chi^2 =
        3.84, truncated at the bounds), or for a parameter at a bound the bound and the
        one-sided 95 % limit (Delta chi^2 = 2.71); inf where the profile did not reach
        the target. Only the profiled parameters (``profile``) are present.
    identifiability : dict
        For free beta_so and gamma: the step and the chi^2 change it made at the start.
    profile_info : dict
        Profiled parameters, residual evaluations and seconds spent.
    """

    names: tuple
    values: dict
    stderr: dict
    free: tuple
    covariance: np.ndarray
    correlation: np.ndarray
    chi2: float
    dof: int
    reduced_chi2: float
    errors_from_data: bool
    residuals: tuple
    model: tuple
    gaps: np.ndarray
    start: dict
    start_info: dict
    success: bool
    message: str
    nfev: int
    njev: int
    n_dos: int
    seconds: float
    chi2_history: tuple = ()
    x_history: np.ndarray = None
    bounds: dict = field(default_factory=dict)
    at_bound: dict = field(default_factory=dict)
    interval95: dict = field(default_factory=dict)
    identifiability: dict = field(default_factory=dict)
    profile_info: dict = field(default_factory=dict)

    def cov_of(self, names):
        """Covariance sub-matrix of *names* (zeros for fixed parameters)."""
        out = np.zeros((len(names), len(names)))
        idx = [self.free.index(n) if n in self.free else None for n in names]
        for a, i in enumerate(idx):
            for b, k in enumerate(idx):
                if i is not None and k is not None:
                    out[a, b] = self.covariance[i, k]
        return out


def _default_bounds(start):
    d = start["delta0"]
    return {
        "beta_so": (0.0, np.inf),
        "delta0": (0.05 * d, 20 * d),
        "gamma": (0.0, np.inf),
        "eta": (1e-3 * d, np.inf),
        "norm": (0.0, np.inf),
        "offset": (-0.5 * d, 0.5 * d),
    }


def check_parameter_options(fixed=None, bounds=None, start=None):
    """Refuse contradictory ``fixed``/``bounds``/``start`` before anything is computed.

    A fixed parameter takes no bound and no start (either would be silently ignored);
    a bound is a non-empty interval ``low < high`` of numbers (infinite ends allowed); a
    fixed or start value is finite; and the values the model needs signed are (beta_so,
    gamma >= 0; delta0, eta > 0). Names are checked by `fit_spectra`.

    Raises
    ------
    ParameterError
        Naming the option (``fix``, ``bound``, ``start``) and the parameter.
    """
    fixed, bounds, start = dict(fixed or {}), dict(bounds or {}), dict(start or {})
    for name, value in fixed.items():
        check_finite("fix", value)
        if name in bounds:
            lo, hi = bounds[name]
            raise ParameterError("bound", f"{name} is fixed (--fix {name}={value:g}); a bound "
                                 f"{lo:g}:{hi:g} on a fixed parameter has no effect: drop the "
                                 "--fix or the --bound")
        if name in start:
            raise ParameterError("start", f"{name} is fixed (--fix {name}={value:g}); a start "
                                 f"value ({start[name]:g}) for a fixed parameter has no effect: "
                                 "drop the --fix or the --start")
    for value in start.values():
        check_finite("start", value)
    for name, (lo, hi) in bounds.items():
        if math.isnan(lo) or math.isnan(hi):
            raise ParameterError("bound", f"{name}: NaN in {lo:g}:{hi:g}")
        if not lo < hi:
            raise ParameterError("bound", f"{name}: empty interval {lo:g}:{hi:g} (LO must be "
                                 "< HI)")
    for option, source in (("fix", fixed), ("start", start)):
        for name in ("beta_so", "gamma"):
            if name in source and not source[name] >= 0:
                raise ParameterError(option, f"{name} must be >= 0, got {source[name]:g}")
        for name in ("delta0", "eta"):
            if name in source and not source[name] > 0:
                raise ParameterError(option, f"{name} must be > 0, got {source[name]:g}")


#: Peak memory of one gap solution per Matsubara frequency, an upper bound (the same
#: measured figure as ``mirage_cli.qc``: the free-energy comparison dominates).
_BYTES_PER_MATSUBARA = 1.5e6
#: Peak memory per DOS energy with SCBA (measured for ``qc dos``: 13 kB).
_BYTES_PER_ENERGY = 16e3


def estimate_memory(spectra, conditions, values, *, points_per_width=3.0, workers=1,
                    sources=None):
    """Peak memory of one model evaluation, bytes, and what sets it (before allocating).

    Each worker holds one field's DOS on the contour grid (``_BYTES_PER_ENERGY`` per grid
    point) and one gap solution (``_BYTES_PER_MATSUBARA`` per Matsubara frequency
    below the cutoff ``10 max(1, beta, B, Gamma)`` in Delta0, as `quasiclassical.gap`).

    Parameters
    ----------
    spectra, conditions
    values : dict
        Parameter values (data units) at which to estimate: start or fixed values.
    workers : int
    sources : dict, optional
        Parameter name -> the option that set it (``fix``, ``start``); default ``input``.

    Returns
    -------
    nbytes : float
    option : str
        The option to change (the largest term's).
    what : str
        The estimate in words.
    """
    sources = sources or {}
    d0 = values["delta0"]
    kt = conditions.kt
    t_delta0 = kt / d0  # T in Delta0 (k_B = 1)
    terms = {"beta_so": values["beta_so"] / d0, "gamma": values["gamma"] / d0,
             "field": conditions.zeeman_per_field * float(np.max(spectra.fields)) / d0}
    largest = max(terms, key=terms.get)
    scale = max(1.0, terms[largest])
    count = 10.0 * scale / (2 * math.pi * t_delta0)
    h = math.pi * kt / 2 / points_per_width
    span = (max(float(b.max()) for b in spectra.biases) - min(float(b.min())
                                                              for b in spectra.biases)
            + d0 + 2 * KERNEL_HALF_WIDTH * kt)
    grid = span / h
    gap_bytes = max(count, 8) * _BYTES_PER_MATSUBARA
    dos_bytes = grid * _BYTES_PER_ENERGY
    nbytes = workers * (gap_bytes + dos_bytes)
    temperature = "temperature-K" if conditions.units == "physical" else "temperature"
    # Blame the larger of the two factors of the Matsubara count (an energy scale above
    # Delta0, or a temperature below 0.05 Delta0 ~ 0.09 T_c0); the DOS grid's spacing is
    # set by the temperature alone.
    low_t = max(1.0, 0.05 / t_delta0)
    if gap_bytes >= dos_bytes and scale > low_t:
        option = "input" if largest == "field" else sources.get(largest, "input")
        if option != "input":
            option = f"{option} {largest}"
    else:
        option = temperature
    what = (f"{workers} worker(s) x ({count:.3g} Matsubara frequencies 10 max(1, beta, B, "
            f"Gamma) / 2 pi T at beta_so/Delta0 = {terms['beta_so']:.3g}, B/Delta0 = "
            f"{terms['field']:.3g}, Gamma/Delta0 = {terms['gamma']:.3g}, T/Delta0 = "
            f"{t_delta0:.3g}, x {_BYTES_PER_MATSUBARA / 1e6:g} MB + {grid:.3g} DOS grid points "
            f"x {_BYTES_PER_ENERGY / 1e3:g} kB)")
    return nbytes, option, what


def check_thermal_window(spectra, conditions):
    """Refuse a temperature whose thermal smearing covers the whole bias window.

    With k_B T above the largest ``|bias|`` every spectrum is thermally flat (the kernel
    -f'(E) has a width ~3.5 k_B T) and no parameter can be fitted.

    Raises
    ------
    ParameterError
        (``temperature-K`` or ``temperature``) with the allowed range.
    """
    window = max(float(np.max(np.abs(b))) for b in spectra.biases)
    if conditions.kt > window:
        if conditions.units == "physical":
            raise ParameterError(
                "temperature-K", f"k_B T = {conditions.kt:.4g} meV exceeds the bias window "
                f"(|V| <= {window:.4g} mV): the spectra would be thermally flat; must be <= "
                f"{window / BOLTZMANN_MEV_PER_K:.4g} K, got {conditions.temperature:g}")
        raise ParameterError(
            "temperature", f"k_B T = {conditions.kt:.4g} nominal Delta0 exceeds the bias window "
            f"(|eV| <= {window:.4g}): the spectra would be thermally flat; must be <= "
            f"{window * DELTA0_OVER_TC0:.4g} (T / nominal T_c0), got {conditions.temperature:g}")


#: Delta chi^2 of a two-sided 95 % profile-likelihood interval (chi^2_1 quantile 0.95).
DCHI2_TWO_SIDED = 3.841458820694124
#: Delta chi^2 of a one-sided 95 % limit of a parameter at a bound (chi^2_1 quantile 0.90:
#: at a bound the estimator is half-normal, so P(x_hat > x_true + 1.645 sigma) = 5 %).
DCHI2_ONE_SIDED = 2.705543454095404
#: A free beta_so or gamma whose change by ~Delta0 moves chi^2 by less than this (a 2 sigma
#: effect on the whole data set) cannot be fixed by the data: refused before fitting.
MIN_IDENTIFIABLE_DCHI2 = 4.0
#: Profile root finding: stop when sqrt(Delta chi^2) is within this of its target
#: (0.03 of 1.96: the interval end within ~1.5 % of its half-width).
_PROFILE_Q_TOL = 0.03
#: Inner re-minimization of a profile point: Gauss-Newton steps with the solution's
#: Jacobian, stopped when chi^2 falls by less than this (in units of the chi^2 scale).
_PROFILE_INNER_TOL = 0.01
_PROFILE_INNER_STEPS = 5


def _identifiability(model, theta, names, free, data, sigma, conditions, spectra):
    """chi^2 change of beta_so and gamma (if free) under a change of ~Delta0, at *theta*.

    Raises
    ------
    ParameterError
        (``input``) for a parameter the data cannot fix (`MIN_IDENTIFIABLE_DCHI2`).
    """
    g0, _ = model.conductance(theta, update_guess=True)
    g0 = np.concatenate(g0)
    d0 = theta[names.index("delta0")]
    zmax = conditions.zeeman_per_field * float(np.max(spectra.fields)) / d0
    out = {}
    for name in ("gamma", "beta_so"):
        if name not in free:
            continue
        k = names.index(name)
        h = d0 if name == "gamma" else max(0.5 * theta[k], d0)
        t = np.array(theta, float)
        t[k] += h
        g, _ = model.conductance(t)
        dchi2 = float(np.sum(((np.concatenate(g) - g0) / sigma) ** 2))
        out[name] = {"step": float(h), "delta_chi2": dchi2}
        if dchi2 < MIN_IDENTIFIABLE_DCHI2:
            why = ("the intervalley rate Gamma acts only through the in-plane field (it has no "
                   "effect at B = 0)" if name == "gamma" else
                   "the Ising field acts only at finite in-plane field (no effect at B = 0)")
            raise ParameterError(
                "input", f"{name} cannot be fixed by these data: changing it from "
                f"{theta[k]:.4g} to {theta[k] + h:.4g} changes chi^2 by only {dchi2:.3g} "
                f"(< {MIN_IDENTIFIABLE_DCHI2:g}) at the starting point; {why}, and the largest "
                f"Zeeman energy here is {zmax:.3g} Delta0; fix it (--fix {name}=VALUE) or add "
                "spectra at higher fields")
    return out


def _covariance(jmat, keep_cols):
    """(J^T J)^-1 over the columns *keep_cols* (others: zero rows), NaN if singular."""
    n = jmat.shape[1]
    cov = np.zeros((n, n))
    cols = np.flatnonzero(keep_cols)
    if cols.size == 0:
        return cov
    _, s, vt = np.linalg.svd(jmat[:, cols], full_matrices=False)
    keep = s > s[0] * 1e-10
    sub = (vt[keep].T / s[keep] ** 2) @ vt[keep]
    if not np.all(keep):
        sub[:] = np.nan  # unidentifiable combination: no finite errors
    cov[np.ix_(cols, cols)] = sub
    return cov


def _profile_intervals(residual, x_hat, jmat, lo, hi, cov_lin, chi2_min, scale, at_bound,
                       which):
    """Profile-likelihood 95 % intervals of the free parameters *which* (indices).

    For a trial value v of parameter k the others are re-minimized (Gauss-Newton with the
    solution's Jacobian *jmat*, started from the linear prediction
    ``x_hat + cov[:, k] / cov[k, k] (v - x_hat[k])``, bounds by an active set), and
    ``q(v) = sqrt((chi2(v) - chi2_min) / scale)`` is brought to ``sqrt(3.84)`` on each side
    by secant steps (``sqrt(2.71)``, one side only, for a parameter at a bound). An end
    that reaches the parameter's bound first is the bound.

    Returns
    -------
    dict
        k -> ``(low, high)``, ``inf`` where the profile never reached the target within 50
        linearized standard errors, and a record of the evaluations.
    """
    n = x_hat.size
    evaluations = {"residuals": 0}

    def chi2_at(x):
        evaluations["residuals"] += 1
        r = residual(x)
        return float(r @ r), r

    def inner(k, v, x_start):
        x = np.clip(x_start, lo, hi)
        x[k] = v
        c, r = chi2_at(x)
        held = set()
        for _ in range(_PROFILE_INNER_STEPS):
            act = [i for i in range(n) if i != k and i not in held]
            if not act:
                break
            step = np.linalg.lstsq(jmat[:, act], -r, rcond=None)[0]
            xn = x.copy()
            xn[act] += step
            for i in act:
                if not lo[i] <= xn[i] <= hi[i]:
                    xn[i] = min(max(xn[i], lo[i]), hi[i])
                    held.add(i)
            cn, rn = chi2_at(xn)
            if cn >= c:  # overshoot of the fixed-Jacobian step: halve once
                xn = 0.5 * (x + xn)
                cn, rn = chi2_at(xn)
                if cn >= c:
                    break
            done = c - cn < _PROFILE_INNER_TOL * scale
            x, c, r = xn, cn, rn
            if done:
                break
        return c

    out = {}
    for k in which:
        var = cov_lin[k, k]
        sd = math.sqrt(var) if np.isfinite(var) and var > 0 else 1e-3 * max(abs(x_hat[k]), 1e-6)
        slope = cov_lin[:, k] / var if np.isfinite(var) and var > 0 else np.zeros(n)
        if not np.all(np.isfinite(slope)):
            slope = np.zeros(n)
        sides = {}
        for s in (-1, 1):
            edge = lo[k] if s < 0 else hi[k]
            if at_bound[k] == s or x_hat[k] == edge:
                sides[s] = edge
                continue
            target = math.sqrt(DCHI2_ONE_SIDED if at_bound[k] else DCHI2_TWO_SIDED)
            pts = [(0.0, 0.0)]
            d = target * sd
            result = math.inf * s
            for _ in range(10):
                v = x_hat[k] + s * d
                beyond = (v - edge) * s >= 0
                if beyond:
                    v, d = edge, abs(edge - x_hat[k])
                c = inner(k, v, x_hat + slope * (v - x_hat[k]))
                q = math.sqrt(max(c - chi2_min, 0.0) / scale)
                if beyond and q < target:
                    result = edge
                    break
                if abs(q - target) < _PROFILE_Q_TOL:
                    result = v
                    break
                pts.append((d, q))
                (d1, q1), (d2, q2) = pts[-2], pts[-1]
                d_new = 4 * d2 if q2 - q1 <= 1e-9 else d2 + (target - q2) * (d2 - d1) / (q2 - q1)
                d = min(max(d_new, 0.2 * d2), 5 * d2)
                if d > 50 * sd * target:
                    break
            sides[s] = result
        out[k] = (sides[-1], sides[1])
    return out, evaluations


def fit_spectra(spectra, conditions, *, fixed=None, bounds=None, start=None, executor=None,
                per_field_norm=False, points_per_width=3.0, max_nfev=60, ftol=1e-6, xtol=1e-6,
                profile=True, sources=None):
    """Least-squares fit of the quasiclassical dI/dV to *spectra* (module docstring).

    Before fitting: the options are checked (`check_parameter_options`), the temperature
    against the bias window (`check_thermal_window`), the memory of one model evaluation
    is estimated (`estimate_memory`) and a free ``beta_so`` or ``gamma`` the data cannot
    fix is refused (`MIN_IDENTIFIABLE_DCHI2`).

    Parameters
    ----------
    spectra : Spectra
    conditions : Conditions
    fixed : dict, optional
        Name -> value held fixed (data units).
    bounds : dict, optional
        Name -> (low, high), replacing the defaults (beta_so, gamma >= 0; delta0 within
        [0.05, 20] x its start; eta >= 1e-3 x delta0 start; ``|offset| <= delta0`` start / 2).
    start : dict, optional
        Name -> starting value, overriding `starting_values`.
    executor : concurrent.futures.Executor, optional
        Parallel DOS evaluations.
    per_field_norm : bool
        A normalization per field (``norm_0`` ...) instead of one.
    points_per_width, max_nfev, ftol, xtol
        Grid resolution and `scipy.optimize.least_squares` controls.
    profile : bool or sequence of str
        Free parameters that get a profile-likelihood 95 % interval (True: all). A
        parameter at a bound always gets its one-sided limit.
    sources : dict, optional
        Parameter -> the CLI option that set it, for the memory message.

    Returns
    -------
    FitResult

    Raises
    ------
    ParameterError
        Unknown parameter names, contradictory options, start outside its bounds, bad
        data (`starting_values`), memory, a parameter the data cannot fix.
    """
    t0 = time.perf_counter()
    check_parameter_options(fixed, bounds, start)
    check_thermal_window(spectra, conditions)
    fixed, bounds, start = dict(fixed or {}), dict(bounds or {}), dict(start or {})
    nf = spectra.fields.size
    names = PARAMETERS + tuple(f"norm_{j}" for j in range(nf) if per_field_norm)
    for source, opt in ((fixed, "fix"), (bounds, "bound"), (start, "start")):
        for name in source:
            if name not in names or (per_field_norm and name == "norm"):
                known = [n for n in names if n != "norm" or not per_field_norm]
                raise ParameterError(opt, f"unknown parameter {name!r}; known: "
                                     f"{', '.join(known)}")
    auto, info = starting_values(spectra, conditions,
                                 require_mirage="beta_so" not in fixed and "beta_so" not in start)
    if per_field_norm:
        for j in range(nf):
            outer = np.abs(spectra.biases[j]) >= 0.8 * np.max(np.abs(spectra.biases[j]))
            auto[f"norm_{j}"] = float(np.median(spectra.didv[j][outer]))
    all_bounds = _default_bounds(auto)
    all_bounds.update({f"norm_{j}": (0.0, np.inf) for j in range(nf) if per_field_norm})
    all_bounds.update(bounds)
    values = {**auto, **start, **fixed}
    if per_field_norm:
        fixed["norm"] = 1.0
        values["norm"] = 1.0
    for name in ("beta_so", "gamma"):
        check_nonnegative(name, values[name])
    for name in ("delta0", "eta"):
        check_positive(name, values[name])
    free = tuple(n for n in names if n not in fixed)
    lo = np.array([all_bounds[n][0] for n in free], float)
    hi = np.array([all_bounds[n][1] for n in free], float)
    x0 = np.array([values[n] for n in free], float)
    for n, a, b, x in zip(free, lo, hi, x0, strict=True):
        if not a < b:
            raise ParameterError("bound", f"{n}: empty interval [{a}, {b}]")
        if not a <= x <= b:
            raise ParameterError("start", f"{n}: start {x:.6g} outside its bounds [{a:.6g}, "
                                 f"{b:.6g}]")
    workers = int(getattr(executor, "_max_workers", 1)) if executor is not None else 1
    src = {n: "fix" for n in fixed} | {n: "start" for n in start} | dict(sources or {})
    nbytes, option, what = estimate_memory(spectra, conditions, values,
                                           points_per_width=points_per_width, workers=workers,
                                           sources=src)
    check_memory(option, nbytes, what)
    offset_margin = max(abs(all_bounds["offset"][0]), abs(all_bounds["offset"][1]))
    if not np.isfinite(offset_margin):
        offset_margin = 0.5 * values["delta0"]
    if "offset" in fixed:
        offset_margin = abs(fixed["offset"])
    model = SpectrumModel(spectra, conditions, offset_margin=offset_margin,
                          points_per_width=points_per_width, executor=executor,
                          per_field_norm=per_field_norm)
    data = np.concatenate(spectra.didv)
    sigma = np.concatenate(spectra.errors) if spectra.errors is not None else np.ones_like(data)
    free_idx = [names.index(n) for n in free]

    def theta_of(x):
        theta = np.array([values[n] for n in names], float)
        theta[free_idx] = x
        return theta

    history, xs = [], []

    def residual(x):
        g, _ = model.conductance(theta_of(x))
        r = (np.concatenate(g) - data) / sigma
        history.append(float(r @ r))
        xs.append(np.array(x))
        return r

    def jac(x):
        return model.jacobian(theta_of(x), free_idx) / sigma[:, None]

    # Starting gaps from the full solver (the branch the warm starts will follow), and
    # the identifiability of beta_so and gamma at the start, both before fitting; without
    # didv_err the noise for the latter is estimated per field from the scatter.
    noise = sigma if spectra.errors is not None else np.concatenate(
        [np.full(d.size, max(_noise(d), 1e-12 * float(np.median(np.abs(d)))))
         for d in spectra.didv])
    identifiability = _identifiability(model, theta_of(x0), names, free, data, noise,
                                       conditions, spectra)
    res = least_squares(residual, x0, jac=jac, bounds=(lo, hi), x_scale="jac", method="trf",
                        max_nfev=max_nfev, ftol=ftol, xtol=xtol, gtol=1e-10)
    theta = theta_of(res.x)
    g, gaps = model.conductance(theta, update_guess=True)
    resid = (np.concatenate(g) - data) / sigma
    chi2 = float(resid @ resid)
    dof = int(data.size - len(free))
    red = chi2 / dof if dof > 0 else math.nan
    scale = 1.0 if spectra.errors is not None else red
    jmat = res.jac
    # At a bound: least_squares' active set, or within round-off of the bound.
    width = np.where(np.isfinite(hi - lo), hi - lo, np.abs(res.x) + 1.0)
    at_bound = np.array(res.active_mask, int)
    at_bound[(at_bound == 0) & (res.x - lo <= 1e-10 * width)] = -1
    at_bound[(at_bound == 0) & (hi - res.x <= 1e-10 * width)] = 1
    # Linearized errors: the parameters at a bound are held there (their stderr is not a
    # +- error); the others' covariance is conditional on them.
    cov = _covariance(jmat, at_bound == 0) * scale
    cov_lin = _covariance(jmat, np.ones(len(free), bool)) * scale  # profile steps only
    std = np.sqrt(np.diag(cov))
    std[at_bound != 0] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(std, std)
    if profile is True:
        which = list(range(len(free)))
    else:
        wanted = set(profile or ())
        unknown = wanted - set(free)
        if unknown:
            raise ParameterError("profile", f"not free parameters: {', '.join(sorted(unknown))};"
                                 f" free: {', '.join(free)}")
        which = [k for k, n in enumerate(free) if n in wanted or at_bound[k] != 0]
    t1 = time.perf_counter()
    nfev_fit = len(history)
    intervals, prof_eval = _profile_intervals(residual, res.x, jmat, lo, hi, cov_lin, chi2,
                                              scale, at_bound, which)
    profile_info = {"parameters": [free[k] for k in which],
                    "residual_evaluations": prof_eval["residuals"],
                    "seconds": time.perf_counter() - t1}
    # The profile's residual calls must not leave the model at another point.
    g, gaps = model.conductance(theta, update_guess=True)
    values_out = {n: float(v) for n, v in zip(names, theta, strict=True)}
    stderr = {n: 0.0 for n in names}
    stderr.update({n: float(v) for n, v in zip(free, std, strict=True)})
    splits = np.cumsum([b.size for b in spectra.biases])[:-1]
    return FitResult(
        names=names, values=values_out, stderr=stderr, free=free, covariance=cov,
        correlation=corr, chi2=chi2, dof=dof, reduced_chi2=red,
        errors_from_data=spectra.errors is not None,
        residuals=tuple(np.split(resid, splits)), model=tuple(g), gaps=np.asarray(gaps),
        start={**values}, start_info=info, success=bool(res.success), message=str(res.message),
        nfev=int(res.nfev), njev=int(res.njev or 0), n_dos=model.n_dos,
        seconds=time.perf_counter() - t0, chi2_history=tuple(history[:nfev_fit]),
        x_history=np.array(xs[:nfev_fit]),
        bounds={n: tuple(float(v) for v in all_bounds[n]) for n in free},
        at_bound={n: int(a) for n, a in zip(free, at_bound, strict=True)},
        interval95={free[k]: tuple(float(v) for v in iv) for k, iv in intervals.items()},
        identifiability=identifiability, profile_info=profile_info,
    )


# --------------------------------------------------------------------------------------
# Implied B_c2(T)
# --------------------------------------------------------------------------------------


def _bc2_reduced(beta, gamma, temperatures, phi):
    return np.array([critical_field(QCParams(beta=beta, gamma=gamma, phi=phi, temperature=t)).field
                     for t in temperatures])


def bc2_curve(result, conditions, temperatures=(0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9)):
    r"""The in-plane :math:`B_{c2}(T)` implied by the fit, with a linearly propagated error.

    Uses `quasiclassical.gap.critical_field` (uniform state, q = 0: the FFLO-type
    modulated states of the paper's refs. [59, 60] are not considered) at
    :math:`\beta/\Delta_0` and :math:`\Gamma/\Delta_0` of the fit. The error band is at
    fixed :math:`T/T_{c0}` and combines the covariance of (beta_so, delta0, gamma) with
    forward-difference derivatives of :math:`B_{c2}/\Delta_0`.

    Returns
    -------
    dict
        ``temperature_reduced`` (T/T_c0), ``bc2_reduced`` and ``bc2_reduced_stderr``
        (Zeeman energy in Delta0), and in physical units ``temperature_K``, ``bc2_T``,
        ``bc2_T_stderr``; ``tc_K``.
    """
    t = np.asarray(temperatures, float)
    check_positive("bc2-temperatures", t)
    v = result.values
    d0, beta, gamma = v["delta0"], v["beta_so"], v["gamma"]
    b_r, g_r = beta / d0, gamma / d0
    base = _bc2_reduced(b_r, g_r, t, conditions.phi)
    h = 1e-4 * max(b_r, 0.1)
    d_beta = (_bc2_reduced(b_r + h, g_r, t, conditions.phi) - base) / h
    hg = 1e-4 * max(g_r, 0.1)
    d_gamma = (_bc2_reduced(b_r, g_r + hg, t, conditions.phi) - base) / hg
    cov = result.cov_of(["beta_so", "delta0", "gamma"])
    # reduced Bc2 depends on beta/d0 and gamma/d0
    grad_red = np.stack([d_beta / d0, -(d_beta * beta + d_gamma * gamma) / d0**2,
                         d_gamma / d0], axis=1)
    var_red = np.einsum("ti,ij,tj->t", grad_red, cov, grad_red)
    out = {
        "temperature_reduced": t, "bc2_reduced": base,
        "bc2_reduced_stderr": np.sqrt(np.maximum(var_red, 0)),
        "assumption": "uniform superconducting state (q = 0), two-valley model, "
                      "quasiclassical gap equation; band at fixed T/T_c0, linear propagation",
    }
    z = conditions.zeeman_per_field
    # field units: B = bc2_red * d0 / z; gradient adds base / z on delta0
    grad_phys = grad_red * d0 / z
    grad_phys[:, 1] += base / z
    var_phys = np.einsum("ti,ij,tj->t", grad_phys, cov, grad_phys)
    if conditions.units == "physical":
        tc = d0 / (DELTA0_OVER_TC0 * BOLTZMANN_MEV_PER_K)
        out.update({"temperature_K": t * tc, "bc2_T": base * d0 / z,
                    "bc2_T_stderr": np.sqrt(np.maximum(var_phys, 0)), "tc_K": tc})
    else:
        out.update({"bc2_data_units": base * d0 / z,
                    "bc2_data_units_stderr": np.sqrt(np.maximum(var_phys, 0))})
    return out


# --------------------------------------------------------------------------------------
# Synthetic data (tests, benchmarks, validation)
# --------------------------------------------------------------------------------------


def simulate_spectra(truth, conditions, fields, biases, *, noise, seed, points_per_width=3):
    """Synthetic dI/dV from the model, by the independent real-axis path, plus Gaussian noise.

    The conductance comes from `quasiclassical.tunneling.tunneling_conductance_params`
    (real-axis DOS grid, full `solve_gap` per field), not from the fit's shifted contour
    and warm-started gaps, so a fit of it also checks those.

    Parameters
    ----------
    truth : dict
        ``beta_so``, ``delta0``, ``gamma``, ``eta``, ``norm``, ``offset`` (data units).
    conditions : Conditions
    fields : array_like, shape (f,)
        Data field units (tesla, or reduced Zeeman energy).
    biases : array_like, shape (m,)
        The same bias grid for every field (data units).
    noise : float
        Standard deviation of the added noise (dI/dV units, >= 0); stored as ``didv_err``.
    seed : int
        Seeds ``numpy.random.SeedSequence``.

    Returns
    -------
    Spectra
    """
    check_nonnegative("noise", noise)
    d0 = truth["delta0"]
    fields = np.asarray(fields, float)
    biases = np.asarray(biases, float)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    params = QCParams(beta=truth["beta_so"] / d0, temperature=conditions.kt * DELTA0_OVER_TC0 / d0,
                      gamma=truth["gamma"] / d0, eta=truth["eta"] / d0, phi=conditions.phi)
    rows = []
    for b in fields:
        res = tunneling_conductance_params((biases - truth["offset"]) / d0,
                                           params.replace(field=conditions.zeeman_per_field * b
                                                          / d0),
                                           points_per_width=points_per_width, tol=1e-11)
        didv = truth["norm"] * res.conductance + noise * rng.standard_normal(biases.size)
        rows.append(np.stack([np.full(biases.size, b), biases, didv], axis=1))
    data = np.concatenate(rows)
    err = np.full(data.shape[0], float(noise)) if noise > 0 else None
    return spectra_from_arrays(data[:, 0], data[:, 1], data[:, 2], err, units=conditions.units)


# --------------------------------------------------------------------------------------
# Markov-chain errors (optional: emcee)
# --------------------------------------------------------------------------------------

# emcee proposals of `sample_posterior`: differential evolution (the default) or the stretch move.
_MCMC_MOVES = ("de", "stretch")


def sample_posterior(spectra, conditions, result, *, steps, walkers=None, seed=0,
                     executor=None, per_field_norm=False, progress=None, start_spread=1.0,
                     move="de", discard=None):
    r"""Posterior samples of the free parameters with emcee, started around the fit.

    Likelihood :math:`\exp(-\chi^2/2)` with the data errors (without ``didv_err``: unit
    errors scaled by the fit's reduced :math:`\chi^2`, as the covariance is), flat priors
    inside the fit's bounds. The walkers start from the Laplace
    approximation of the posterior: a Gaussian of ``start_spread`` standard errors with the
    fit's correlations around the least-squares solution (a parameter at a bound, which has no
    standard error: a half-Gaussian from the bound whose width is half its one-sided
    profile limit), so that a short chain need not first grow the ensemble to the
    posterior's width; the first quarter of the chain is discarded. Each step costs one model
    evaluation per walker and field (run on *executor*): this is slow (minutes to hours),
    which is why it is optional.

    The defaults (``4 x free + 4`` walkers, emcee's differential-evolution move, a quarter
    discarded) are set for short chains, measured 2026-12-07 (docs/topics/fit.md). The former
    ones (``2 x free + 2`` walkers, the stretch move, half discarded) gave 8 walkers x 60 steps
    posterior widths whose scatter over chains was far above the sampling error of ~80
    independent samples: on a Gaussian posterior started exactly from it
    (``benchmarks/bench_mcmc_sampler.py``) the sample standard deviation ranged over
    0.68-1.19 of the true one (5-95 %) and the 95 % intervals covered 90.1 %, not 95 %; on the
    model (3 free parameters, seed 3081 of ``bench_fit.py --mcmc-coverage``) beta_so's
    posterior standard deviation was 0.51 of the linearized error (0.98 after 120 steps).
    With 16 walkers and the DE move, at the same 60 steps: 0.88-1.11, 93.9 % on the Gaussian,
    and 0.91 on that seed. Twice the evaluations per step, so twice the cost per step.

    The 95 % credible interval ``interval95`` of a parameter is the central one (2.5 and
    97.5 percentiles of the samples), or the one-sided ``[bound, 95th percentile]`` (or
    ``[5th percentile, bound]``) for a parameter the least-squares fit put at a bound
    (``result.at_bound``, as the profile-likelihood intervals) or whose posterior the bound
    cuts (its 2.5 % percentile within one posterior standard deviation of the bound): a
    central interval never reaches the bound, so it could not cover a true value on it
    (Gamma = 0). ``one_sided`` says which was used. Its coverage over noise
    seeds is measured by ``benchmarks/bench_fit.py --mcmc-coverage``.

    Parameters
    ----------
    spectra, conditions
        As given to `fit_spectra`.
    result : FitResult
    steps : int
        Steps per walker (>= 2).
    walkers : int, optional
        Default ``4 x free + 4`` (at least ``2 x free``).
    seed : int
        Seeds ``numpy.random.SeedSequence`` (the walkers' start and emcee's moves).
    executor, per_field_norm
        As in `fit_spectra`.
    progress : callable, optional
        ``progress(done, total)`` after each step.
    start_spread : float
        Width of the walkers' start distribution, in standard errors (> 0).
    move : {"de", "stretch"}
        emcee's proposal: ``emcee.moves.DEMove`` (default) or ``StretchMove`` (the default
        before 2026-12-07).
    discard : int, optional
        Steps discarded from the start of each walker (default ``steps // 4``; ``0 <= discard
        < steps``).

    Returns
    -------
    dict
        Per free parameter: ``median``, ``std``, ``p2_5``, ``p5``, ``p16``, ``p84``,
        ``p95``, ``p97_5``, ``interval95`` ([low, high], data units; see above) and
        ``one_sided``;
        ``acceptance_fraction``,
        ``autocorrelation_time`` (per parameter; NaN if the chain is too short to estimate),
        ``walkers``, ``steps``, ``discarded``, ``move``, ``samples``.

    Raises
    ------
    ParameterError
        (``mcmc``) emcee is not installed, or bad *steps*/*walkers*/*move*/*discard*.
    """
    try:
        import emcee
    except ImportError:
        raise ParameterError("mcmc", "needs the emcee package: pip install 'latticemirage[fit]' "
                             "(or pip install emcee)") from None
    ndim = len(result.free)
    walkers = 4 * ndim + 4 if walkers is None else int(walkers)
    if steps < 2 or walkers < 2 * ndim:
        raise ParameterError("mcmc", f"need steps >= 2 and walkers >= {2 * ndim} (2 x free "
                             f"parameters), got steps={steps}, walkers={walkers}")
    if move not in _MCMC_MOVES:
        raise ParameterError("mcmc", f"move must be one of {', '.join(_MCMC_MOVES)}, got "
                             f"{move!r}")
    discard = steps // 4 if discard is None else int(discard)
    if not 0 <= discard < steps:
        raise ParameterError("mcmc", f"need 0 <= discard < steps={steps}, got {discard}")
    bounds = result.bounds
    offset_margin = max(abs(bounds["offset"][0]), abs(bounds["offset"][1])) \
        if "offset" in bounds else abs(result.values["offset"])
    model = SpectrumModel(spectra, conditions, offset_margin=offset_margin, executor=executor,
                          per_field_norm=per_field_norm)
    model._gap_guess = list(result.gaps)
    data = np.concatenate(spectra.didv)
    sigma = np.concatenate(spectra.errors) if spectra.errors is not None else np.ones_like(data)
    if spectra.errors is None:
        sigma = sigma * math.sqrt(result.reduced_chi2)
    names = result.names
    free_idx = [names.index(n) for n in result.free]
    base = np.array([result.values[n] for n in names])
    lo = np.array([bounds[n][0] for n in result.free])
    hi = np.array([bounds[n][1] for n in result.free])
    total = steps + 1
    state = {"done": 0}

    def log_prob(xs):
        xs = np.atleast_2d(xs)
        out = np.full(xs.shape[0], -np.inf)
        inside = np.all((xs > lo) & (xs < hi), axis=1)
        thetas = []
        for x in xs[inside]:
            t = base.copy()
            t[free_idx] = x
            thetas.append(t)
        if thetas:
            grid = model.grid(None)
            for k, t, (_, dos) in zip(np.flatnonzero(inside), thetas,
                                      model.dos_many(thetas, grid), strict=True):
                g = model.smear(dos, t, grid)
                r = (np.concatenate([n * gj for n, gj in zip(model.norms(t), g, strict=True)])
                     - data) / sigma
                out[k] = -0.5 * float(r @ r)
        state["done"] += 1
        if progress is not None:
            progress(state["done"], total)
        return out

    ss = np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss)
    x0 = np.array([result.values[n] for n in result.free])
    sd = start_spread * np.array([result.stderr[n] for n in result.free])
    noise = rng.standard_normal((walkers, ndim))
    cov = np.asarray(result.covariance, dtype=float)
    if np.all(np.isfinite(sd)) and cov.shape == (ndim, ndim) and np.all(np.isfinite(cov)):
        # The Laplace approximation with its correlations: a correlated posterior is then
        # not first squeezed from an axis-aligned ball onto its ridge by a short chain.
        corr = cov / np.outer(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov)))
        try:
            noise = noise @ np.linalg.cholesky(corr).T
        except np.linalg.LinAlgError:
            pass  # not positive definite (round-off): independent start
    for k, n in enumerate(result.free):
        side = result.at_bound.get(n, 0)
        if side and n in result.interval95:
            # At a bound: a half-Gaussian into the allowed side, width half the one-sided
            # profile limit (the posterior there is roughly a half-Gaussian of that size).
            low, high = result.interval95[n]
            width = 0.5 * abs((high if side < 0 else low) - x0[k])
            sd[k] = width if math.isfinite(width) and width > 0 else sd[k]
            noise[:, k] = -side * np.abs(noise[:, k])
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1e-6 * np.maximum(np.abs(x0), 1e-12))
    p0 = x0 + sd * noise
    with np.errstate(invalid="ignore"):  # inf bounds stay inf
        p0 = np.clip(p0, np.where(np.isfinite(lo), lo + 1e-12 * (np.abs(lo) + 1), -np.inf),
                     np.where(np.isfinite(hi), hi - 1e-12 * (np.abs(hi) + 1), np.inf))
    moves = emcee.moves.DEMove() if move == "de" else emcee.moves.StretchMove()
    sampler = emcee.EnsembleSampler(walkers, ndim, log_prob, vectorize=True, moves=moves)
    sampler.random_state = np.random.RandomState(int(ss.generate_state(1)[0])).get_state()
    sampler.run_mcmc(p0, steps, progress=False)
    chain = sampler.get_chain(discard=discard, flat=True)
    try:
        tau = sampler.get_autocorr_time(discard=discard, quiet=True)
    except Exception:  # emcee raises on chains too short for any estimate
        tau = np.full(ndim, np.nan)
    out = {"walkers": walkers, "steps": steps, "discarded": discard, "move": move,
           "samples": int(chain.shape[0]),
           "acceptance_fraction": float(np.mean(sampler.acceptance_fraction)),
           "autocorrelation_time": dict(zip(result.free, map(float, tau), strict=True)),
           "parameters": {}}
    for k, n in enumerate(result.free):
        col = chain[:, k]
        p = {"median": float(np.median(col)), "std": float(np.std(col)),
             **{f"p{q:g}".replace(".", "_"): float(np.percentile(col, q))
                for q in (2.5, 5, 16, 84, 95, 97.5)}}
        side = result.at_bound.get(n, 0)
        # A posterior cut by a bound (its 2.5 % tail within one posterior std of it) gets
        # the one-sided interval too: a central interval's lower end is always inside the
        # allowed range, so it could never cover a true value on the bound (Gamma = 0).
        if not side and p["p2_5"] - lo[k] < p["std"]:
            side = -1
        elif not side and hi[k] - p["p97_5"] < p["std"]:
            side = 1
        p["one_sided"] = bool(side)
        if side < 0:
            p["interval95"] = [float(lo[k]), p["p95"]]
        elif side > 0:
            p["interval95"] = [p["p5"], float(hi[k])]
        else:
            p["interval95"] = [p["p2_5"], p["p97_5"]]
        out["parameters"][n] = p
    return out
