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
    From the covariance :math:`(J^TJ)^{-1}` at the solution; when the data carry no
    ``didv_err`` it is scaled by the reduced :math:`\chi^2` (errors estimated from the
    scatter, assuming the model is right). Derived quantities (reduced units, T_c0,
    B_c2) by linear propagation.
"""

import csv
import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive
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
    "PARAMETERS",
    "Conditions",
    "FitResult",
    "Spectra",
    "SpectrumModel",
    "bc2_curve",
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
        Rows dropped because of NaN values.
    """

    fields: np.ndarray
    biases: tuple
    didv: tuple
    errors: tuple | None
    units: str
    dropped: int = 0

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


def read_spectra(path, *, units="physical"):
    """Read a long-format CSV of dI/dV (one row per point) into `Spectra`.

    Columns (header row; ``#`` lines are comments, e.g. the metadata line of files this
    package writes): ``field_T``, ``bias_mV``, ``didv`` (``units="physical"``) or
    ``field``, ``bias``, ``didv`` (``"reduced"``; ``energy`` is accepted for ``bias``, as
    ``mirage lattice conductance`` writes it); ``conductance`` is accepted for
    ``didv``; optional ``didv_err``. Rows may come in any order, fields may have different
    bias grids; rows with NaN in a used column are dropped and counted.

    Raises
    ------
    ParameterError
        (``input``) missing file or columns, text in a number, too few fields or points.
    """
    if units not in _COLUMNS:
        raise ParameterError("units", f"must be one of {sorted(_COLUMNS)}, got {units!r}")
    try:
        with open(path, newline="") as fh:
            lines = [(k + 1, row) for k, row in enumerate(fh) if not row.lstrip().startswith("#")
                     and row.strip()]
    except OSError as exc:
        raise ParameterError("input", f"cannot read {path}: {exc.strerror}") from None
    if not lines:
        raise ParameterError("input", f"{path}: no header row")
    reader = csv.reader([row for _, row in lines])
    header = [h.strip() for h in next(reader)]
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
        if len(values) < len(header):
            raise ParameterError("input", f"line {line}: {len(values)} values for "
                                 f"{len(header)} columns")
        rows.append([_parse_float(values[i].strip(), line, c) for i, c in zip(idx, use,
                                                                             strict=True)])
    data = np.array(rows, dtype=float).reshape(-1, len(use))
    err = data[:, 3] if len(use) == 4 else None
    return spectra_from_arrays(data[:, 0], data[:, 1], data[:, 2], err, units=units)


def spectra_from_arrays(field, bias, didv, error=None, *, units="physical"):
    """Group long-format arrays by field into `Spectra` (NaN rows dropped and counted).

    Raises
    ------
    ParameterError
        (``input``) infinite values, negative fields or errors, fewer than 2 fields, or a
        field with fewer than `MIN_POINTS_PER_FIELD` points.
    """
    cols = [np.asarray(field, float), np.asarray(bias, float), np.asarray(didv, float)]
    if error is not None:
        cols.append(np.asarray(error, float))
    if len({c.shape for c in cols}) != 1 or cols[0].ndim != 1:
        raise ParameterError("input", "columns must be 1-D and of equal length")
    data = np.stack(cols, axis=1)
    bad = np.any(np.isnan(data), axis=1)
    data = data[~bad]
    if not np.all(np.isfinite(data)):
        raise ParameterError("input", "infinite values in the data")
    if np.any(data[:, 0] < 0):
        raise ParameterError("input", "fields must be >= 0 (the in-plane field's magnitude; "
                             "its direction is --phi)")
    if error is not None and np.any(data[:, 3] <= 0):
        raise ParameterError("input", "didv_err must be > 0")
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
                   dropped=int(np.count_nonzero(bad)))


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
           params.gamma_intra)
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


def starting_values(spectra, conditions):
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

    Returns
    -------
    start : dict
        Parameter name -> value (data units).
    info : dict
        What was found (``mirage_centre``, ``dip_significance``, peak positions).

    Raises
    ------
    ParameterError
        (``input``) no coherence peaks, or no significant mirage dip in the bias window.
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


def fit_spectra(spectra, conditions, *, fixed=None, bounds=None, start=None, executor=None,
                per_field_norm=False, points_per_width=3.0, max_nfev=60, ftol=1e-6, xtol=1e-6):
    """Least-squares fit of the quasiclassical dI/dV to *spectra* (module docstring).

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

    Returns
    -------
    FitResult

    Raises
    ------
    ParameterError
        Unknown parameter names, start outside its bounds, bad data (`starting_values`).
    """
    t0 = time.perf_counter()
    fixed = dict(fixed or {})
    nf = spectra.fields.size
    names = PARAMETERS + tuple(f"norm_{j}" for j in range(nf) if per_field_norm)
    auto, info = starting_values(spectra, conditions)
    if per_field_norm:
        for j in range(nf):
            outer = np.abs(spectra.biases[j]) >= 0.8 * np.max(np.abs(spectra.biases[j]))
            auto[f"norm_{j}"] = float(np.median(spectra.didv[j][outer]))
    all_bounds = _default_bounds(auto)
    all_bounds.update({f"norm_{j}": (0.0, np.inf) for j in range(nf) if per_field_norm})
    for source, opt in ((fixed, "fix"), (bounds or {}, "bound"), (start or {}, "start")):
        for name in source:
            if name not in names or (per_field_norm and name == "norm"):
                known = [n for n in names if n != "norm" or not per_field_norm]
                raise ParameterError(opt, f"unknown parameter {name!r}; known: "
                                     f"{', '.join(known)}")
    all_bounds.update(bounds or {})
    values = {**auto, **(start or {}), **fixed}
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

    # Starting gaps from the full solver: the branch the warm starts will follow.
    model.conductance(theta_of(x0), update_guess=True)
    res = least_squares(residual, x0, jac=jac, bounds=(lo, hi), x_scale="jac", method="trf",
                        max_nfev=max_nfev, ftol=ftol, xtol=xtol, gtol=1e-10)
    theta = theta_of(res.x)
    g, gaps = model.conductance(theta, update_guess=True)
    resid = (np.concatenate(g) - data) / sigma
    chi2 = float(resid @ resid)
    dof = int(data.size - len(free))
    red = chi2 / dof if dof > 0 else math.nan
    jmat = res.jac
    _, s, vt = np.linalg.svd(jmat, full_matrices=False)
    keep = s > s[0] * 1e-10
    cov = (vt[keep].T / s[keep] ** 2) @ vt[keep]
    if not np.all(keep):
        cov[:] = np.nan  # unidentifiable combination: no finite errors
    if spectra.errors is None:
        cov = cov * red
    std = np.sqrt(np.diag(cov))
    corr = cov / np.outer(std, std)
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
        seconds=time.perf_counter() - t0, chi2_history=tuple(history), x_history=np.array(xs),
        bounds={n: tuple(float(v) for v in all_bounds[n]) for n in free},
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


def sample_posterior(spectra, conditions, result, *, steps, walkers=None, seed=0,
                     executor=None, per_field_norm=False, progress=None):
    r"""Posterior samples of the free parameters with emcee, started around the fit.

    Likelihood :math:`\exp(-\chi^2/2)` with the data errors (without ``didv_err``: unit
    errors scaled by the fit's reduced :math:`\chi^2`, as the covariance is), flat priors
    inside the fit's bounds. The walkers (default ``2 x free + 2``) start in a ball of
    0.1 standard errors around the least-squares solution; the first half of the chain is
    discarded. Each step costs one model evaluation per walker and field (run on
    *executor*): this is slow (minutes to hours), which is why it is optional.

    Parameters
    ----------
    spectra, conditions
        As given to `fit_spectra`.
    result : FitResult
    steps : int
        Steps per walker (>= 2).
    walkers : int, optional
    seed : int
        Seeds ``numpy.random.SeedSequence`` (the walkers' start and emcee's moves).
    executor, per_field_norm
        As in `fit_spectra`.
    progress : callable, optional
        ``progress(done, total)`` after each step.

    Returns
    -------
    dict
        Per free parameter: ``median``, ``std``, ``p16``, ``p84``; ``acceptance_fraction``,
        ``autocorrelation_time`` (per parameter; NaN if the chain is too short to estimate),
        ``walkers``, ``steps``, ``samples``.

    Raises
    ------
    ParameterError
        (``mcmc``) emcee is not installed, or bad *steps*/*walkers*.
    """
    try:
        import emcee
    except ImportError:
        raise ParameterError("mcmc", "needs the emcee package: pip install 'latticemirage[fit]' "
                             "(or pip install emcee)") from None
    ndim = len(result.free)
    walkers = 2 * ndim + 2 if walkers is None else int(walkers)
    if steps < 2 or walkers < 2 * ndim:
        raise ParameterError("mcmc", f"need steps >= 2 and walkers >= {2 * ndim} (2 x free "
                             f"parameters), got steps={steps}, walkers={walkers}")
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
    sd = np.array([result.stderr[n] for n in result.free])
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1e-6 * np.maximum(np.abs(x0), 1e-12))
    p0 = x0 + 0.1 * sd * rng.standard_normal((walkers, ndim))
    with np.errstate(invalid="ignore"):  # inf bounds stay inf
        p0 = np.clip(p0, np.where(np.isfinite(lo), lo + 1e-12 * (np.abs(lo) + 1), -np.inf),
                     np.where(np.isfinite(hi), hi - 1e-12 * (np.abs(hi) + 1), np.inf))
    sampler = emcee.EnsembleSampler(walkers, ndim, log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(int(ss.generate_state(1)[0])).get_state()
    sampler.run_mcmc(p0, steps, progress=False)
    chain = sampler.get_chain(discard=steps // 2, flat=True)
    try:
        tau = sampler.get_autocorr_time(discard=steps // 2, quiet=True)
    except Exception:  # emcee raises on chains too short for any estimate
        tau = np.full(ndim, np.nan)
    out = {"walkers": walkers, "steps": steps, "discarded": steps // 2,
           "samples": int(chain.shape[0]),
           "acceptance_fraction": float(np.mean(sampler.acceptance_fraction)),
           "autocorrelation_time": dict(zip(result.free, map(float, tau), strict=True)),
           "parameters": {}}
    for k, n in enumerate(result.free):
        col = chain[:, k]
        out["parameters"][n] = {"median": float(np.median(col)), "std": float(np.std(col)),
                                "p16": float(np.percentile(col, 16)),
                                "p84": float(np.percentile(col, 84))}
    return out
