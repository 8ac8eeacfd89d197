r"""``mirage fit``: beta_so, Delta0, Gamma (and eta, normalization, bias offset) from dI/dV(V, B).

::

    mirage fit spectra.csv --temperature-K 0.3 [--g-factor 2] [--phi 0] \
        [--fix eta=0.01] [--bound gamma=0:0.5] [--start beta_so=3] \
        [--normalization global|per-field] [--workers 2] [--mcmc 200] \
        [--profile all|none|beta_so,delta0] --output fit.json [--plot fit.png]
    mirage fit spectra_reduced.csv --units reduced --temperature 0.1 --output fit.json

Input: CSV in long format (UTF-8; a byte-order mark is stripped), one row per point:
``field_T``, ``bias_mV``, ``didv`` (any scale; ``conductance`` is accepted too), optional
``didv_err``; with ``--units reduced`` ``field`` and ``bias`` in a nominal Delta0 (fields
as Zeeman energies). Rows with NaN dI/dV are dropped (count and lines on stderr and in
the JSON); a binary file, a repeated column name, a repeated (field, bias) row and a NaN
field or bias are refused (exit 2, naming the line or column; `quasiclassical.fit.
read_spectra`). Parameter values for ``--fix/--bound/--start`` are in the data units
(meV, mV; or the nominal Delta0); ``--fix tc_K=...`` fixes delta0 through Delta0 = 1.764
k_B T_c0; each parameter may be given once per option, and a fixed parameter takes no
bound and no start. The memory of one model evaluation is estimated before anything is
allocated (``--memory-limit``). The model and the fit are described in
`quasiclassical.fit`. Output JSON: every parameter in physical and reduced units with its
linearized standard error, its profile-likelihood 95 % interval and whether it sits at a
bound (``beta_so_meV``, ``beta_so_meV_stderr``, ``beta_so_meV_interval95``,
``beta_so_meV_at_bound``, ...; at a bound the stderr is null and the interval runs from
the bound to the one-sided 95 % limit), correlations, goodness of fit, residuals per
field, the gap per field and the implied B_c2(T) with its uncertainty band.
"""

import json
import math
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from mirage_cli.options import check_output_file, integer, real
from mirage_common.errors import ParameterError, check_finite
from mirage_common.io import atomic_write_bytes, jsonable, save_figure
from mirage_common.units import BOLTZMANN_MEV_PER_K, DELTA0_OVER_TC0
from mirage_common.version import __version__
from quasiclassical.fit import (
    PARAMETERS,
    Conditions,
    bc2_curve,
    check_parameter_options,
    fit_spectra,
    read_spectra,
    sample_posterior,
)

__all__ = ["add_parser", "run_fit"]

_PLOT_FORMATS = (".png", ".pdf", ".svg")
_DEFAULT_BC2_T = "0.02,0.05,0.1,0.2,0.35,0.5,0.65,0.8,0.9"


def add_parser(subparsers, name, help):
    """Register ``mirage fit``."""
    p = subparsers.add_parser(name, help=help, description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="CSV, long format (see the description)")
    p.add_argument("--units", choices=("physical", "reduced"), default="physical",
                   help="physical: field_T, bias_mV (default); reduced: field, bias in Delta0")
    p.add_argument("--temperature-K", type=real(), default=None,
                   help="measurement temperature in kelvin (physical units)")
    p.add_argument("--temperature", type=real(), default=None,
                   help="measurement temperature in the nominal T_c0 (reduced units)")
    p.add_argument("--g-factor", type=real(), default=2.0, help="Lande g (default 2)")
    p.add_argument("--phi", type=real(), default=0.0, help="in-plane field angle from x (rad)")
    p.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                   help=f"hold a parameter fixed ({', '.join(PARAMETERS)}, tc_K); repeatable")
    p.add_argument("--bound", action="append", default=[], metavar="NAME=LO:HI",
                   help="bounds of a parameter (data units); repeatable")
    p.add_argument("--start", action="append", default=[], metavar="NAME=VALUE",
                   help="starting value instead of the automatic one; repeatable")
    p.add_argument("--normalization", choices=("global", "per-field"), default="global",
                   help="one dI/dV scale for all fields (default) or one per field")
    p.add_argument("--workers", type=integer(1), default=1,
                   help="processes for the per-field model evaluations (default 1)")
    p.add_argument("--bc2-temperatures", default=_DEFAULT_BC2_T,
                   help=f"T/T_c0 values of the implied B_c2(T) (comma list; default "
                        f"{_DEFAULT_BC2_T}); 'none' to skip")
    p.add_argument("--max-nfev", type=integer(1), default=60, help="model evaluations allowed")
    p.add_argument("--profile", default="all", metavar="all|none|NAME,...",
                   help="free parameters that get a profile-likelihood 95 %% interval (default "
                        "all; a parameter at a bound always gets its one-sided limit)")
    p.add_argument("--mcmc", type=integer(0, None), default=0, metavar="STEPS",
                   help="also sample the posterior with emcee for STEPS steps (optional "
                        "dependency; one model evaluation per walker and step: slow)")
    p.add_argument("--walkers", type=integer(1), default=None,
                   help="emcee walkers (default 4n+4, n free parameters)")
    p.add_argument("--seed", type=integer(0, None), default=0,
                   help="seed of the MCMC (SeedSequence)")
    p.add_argument("--output", required=True, help="result file (.json)")
    p.add_argument("--plot", default=None, help="figure of data, model and B_c2(T)")
    p.set_defaults(func=run_fit)
    return p


def _pairs(option, items, *, interval=False):
    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(option, f"expected NAME={'LO:HI' if interval else 'VALUE'}, "
                                 f"got {item!r}")
        try:
            if interval:
                lo, colon, hi = text.partition(":")
                if not colon:
                    raise ValueError
                value = (float(lo) if lo.strip() else -math.inf,
                         float(hi) if hi.strip() else math.inf)
                if any(math.isnan(v) for v in value):
                    raise ValueError
            else:
                value = float(text)
                check_finite(option, value)
        except ValueError:
            raise ParameterError(option, f"{name}: not a number{' interval' if interval else ''}"
                                 f": {text!r}") from None
        if name in out:
            raise ParameterError(option, f"{name} given twice (--{option} {name}=... "
                                 f"{out[name]!r} and {text!r}); give each parameter once")
        out[name] = value
    return out


def _parse_bc2_temperatures(text):
    if text.strip().lower() == "none":
        return None
    try:
        values = np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise ParameterError("bc2-temperatures", f"expected a comma list of T/T_c0, got "
                             f"{text!r}") from None
    if np.any(~np.isfinite(values)) or np.any(values <= 0) or np.any(values >= 1):
        raise ParameterError("bc2-temperatures", "values must lie in (0, 1) (T/T_c0)")
    return values


def _inputs(args):
    check_output_file("output", args.output, (".json",))
    if args.plot is not None:
        check_output_file("plot", args.plot, _PLOT_FORMATS)
    if args.workers < 1:
        raise ParameterError("workers", f"must be >= 1, got {args.workers}")
    if args.max_nfev < 1:
        raise ParameterError("max-nfev", f"must be >= 1, got {args.max_nfev}")
    if args.mcmc < 0 or args.mcmc == 1:
        raise ParameterError("mcmc", f"must be 0 (off) or >= 2 steps, got {args.mcmc}")
    if args.mcmc:
        try:
            import emcee  # noqa: F401
        except ImportError:
            raise ParameterError("mcmc", "needs the emcee package: pip install "
                                 "'latticemirage[fit]' (or pip install emcee)") from None
    if args.units == "physical":
        if args.temperature is not None:
            raise ParameterError("temperature", "reduced units only; use --temperature-K")
        if args.temperature_K is None:
            raise ParameterError("temperature-K", "required: the measurement temperature (K)")
        temperature = args.temperature_K
    else:
        if args.temperature_K is not None:
            raise ParameterError("temperature-K", "physical units only; use --temperature")
        if args.temperature is None:
            raise ParameterError("temperature", "required: the measurement T / nominal T_c0")
        temperature = args.temperature
    conditions = Conditions(temperature=temperature, g_factor=args.g_factor, phi=args.phi,
                            units=args.units)
    fixed = _pairs("fix", args.fix)
    if "tc_K" in fixed:
        if args.units != "physical":
            raise ParameterError("fix", "tc_K needs --units physical")
        if "delta0" in fixed:
            raise ParameterError("fix", "fix either delta0 or tc_K")
        tc = fixed.pop("tc_K")
        if not tc > 0:
            raise ParameterError("fix", f"tc_K must be > 0, got {tc}")
        fixed["delta0"] = DELTA0_OVER_TC0 * BOLTZMANN_MEV_PER_K * tc
    bounds = _pairs("bound", args.bound, interval=True)
    start = _pairs("start", args.start)
    if "tc_K" in bounds or "tc_K" in start:
        raise ParameterError("bound" if "tc_K" in bounds else "start",
                             "tc_K can only be fixed (--fix tc_K=...); bound or start delta0")
    if "tc_K" in {n.partition("=")[0].strip() for n in args.fix}:
        for option, given in (("bound", bounds), ("start", start)):
            if "delta0" in given:
                raise ParameterError(option, "delta0 is fixed through --fix tc_K; a "
                                     f"--{option} on delta0 has no effect: drop one")
    # Contradictions between the options are refused before the file is read.
    check_parameter_options(fixed, bounds, start)
    bc2_t = _parse_bc2_temperatures(args.bc2_temperatures)
    profile = _parse_profile(args.profile)
    spectra = read_spectra(args.input, units=args.units)
    return conditions, fixed, bounds, start, bc2_t, spectra, profile


def _parse_profile(text):
    text = text.strip()
    if text.lower() == "all":
        return True
    if text.lower() == "none":
        return ()
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in PARAMETERS and not n.startswith("norm_")]
    if not names or unknown:
        known = ", ".join(PARAMETERS)
        raise ParameterError("profile", f"expected all, none or a comma list of {known}, "
                             f"got {text!r}")
    return tuple(names)


def _ratio_stderr(result, name):
    """Standard error of value(name) / delta0 by linear propagation."""
    v = result.values
    d0 = v["delta0"]
    grad = np.array([1 / d0, -v[name] / d0**2])
    cov = result.cov_of([name, "delta0"])
    return float(math.sqrt(max(grad @ cov @ grad, 0.0)))


def _parameter_entries(result, conditions):
    """Each parameter in the data units with its stderr, at-bound flag and 95 % interval;
    the ratios to delta0 (``*_reduced``); in physical units T_c0 (``tc_K``) too."""
    physical = conditions.units == "physical"
    params = {}
    suffix = {"beta_so": "_meV", "delta0": "_meV", "gamma": "_meV", "eta": "_meV",
              "offset": "_mV"} if physical else {}
    for name in result.names:
        key = name + suffix.get(name, "")
        params[key] = result.values[name]
        params[key + "_stderr"] = result.stderr[name]  # NaN (JSON null) at a bound
        params[key + "_at_bound"] = bool(result.at_bound.get(name, 0))
        interval = result.interval95.get(name)
        params[key + "_interval95"] = list(interval) if interval is not None else None
    for name in ("beta_so", "gamma", "eta", "offset"):
        at_bound = bool(result.at_bound.get(name, 0) or result.at_bound.get("delta0", 0))
        params[f"{name}_reduced"] = result.values[name] / result.values["delta0"]
        params[f"{name}_reduced_stderr"] = math.nan if at_bound else _ratio_stderr(result, name)
        params[f"{name}_reduced_at_bound"] = at_bound
    if physical:
        k = DELTA0_OVER_TC0 * BOLTZMANN_MEV_PER_K
        params["tc_K"] = result.values["delta0"] / k
        params["tc_K_stderr"] = result.stderr["delta0"] / k
        params["tc_K_at_bound"] = bool(result.at_bound.get("delta0", 0))
        interval = result.interval95.get("delta0")  # T_c0 = delta0 / (1.764 k_B): monotone
        params["tc_K_interval95"] = [v / k for v in interval] if interval is not None else None
        params["temperature_reduced"] = conditions.kt * DELTA0_OVER_TC0 / result.values["delta0"]
    return params


def _residuals_per_field(result, spectra, conditions):
    """Goodness of fit and the fitted gap, one entry per measured field."""
    physical = conditions.units == "physical"
    field_key = "field_T" if physical else "field"
    d0 = result.values["delta0"]
    per_field = []
    for j, f in enumerate(spectra.fields):
        r = result.residuals[j]
        per_field.append({
            field_key: float(f),
            "zeeman_reduced": float(conditions.zeeman_per_field * f / d0),
            "points": int(r.size),
            "chi2": float(r @ r),
            "rms_normalized_residual": float(np.sqrt(np.mean(r**2))),
            "max_abs_normalized_residual": float(np.max(np.abs(r))),
            "gap_reduced": float(result.gaps[j]),
            ("gap_meV" if physical else "gap"): float(result.gaps[j] * d0),
        })
    return per_field


def _report(result, spectra, conditions, args, bc2):
    """The JSON report of ``mirage fit`` (without the MCMC part)."""
    physical = conditions.units == "physical"
    e_unit = "meV" if physical else "nominal Delta0"
    report = {
        "version": __version__,
        "command": "mirage fit",
        "input": str(args.input),
        "rows_dropped_nan": spectra.dropped,
        "rows_dropped_nan_lines": list(spectra.dropped_lines),
        "units": {
            "data": "field_T in tesla, bias_mV in mV, energies in meV" if physical else
                    "field and bias in a nominal Delta0 (fields as Zeeman energies)",
            "reduced": "energies in the fitted Delta0 (suffix _reduced)",
            "field_convention": "Zeeman energy g mu_B B / 2",
        },
        "conditions": {
            ("temperature_K" if physical else "temperature"): conditions.temperature,
            "g_factor": conditions.g_factor, "phi": conditions.phi,
            "k_B_T": conditions.kt, "k_B_T_unit": e_unit,
        },
        "model": "dI/dV = norm * G/G_N(eV - offset; beta_so, B, T, gamma, eta, Delta(B, T, "
                 "gamma)) of quasiclassical.tunneling, gap self-consistent per field "
                 "(two-valley quasiclassical model, SCBA intervalley rate gamma, Dynes eta)",
        "parameters": _parameter_entries(result, conditions),
        "free": list(result.free),
        "fixed": [n for n in result.names if n not in result.free],
        "bounds": {n: list(b) for n, b in result.bounds.items()},
        "start": result.start,
        "start_info": result.start_info,
        "correlation": {"names": list(result.free),
                        "matrix": np.round(result.correlation, 6).tolist()},
        "goodness_of_fit": {
            "chi2": result.chi2, "dof": result.dof, "reduced_chi2": result.reduced_chi2,
            "errors_from": "didv_err column" if result.errors_from_data else
                           "scatter of the residuals (covariance scaled by reduced chi2)",
        },
        "errors": {
            "stderr": "linearized: sqrt of the diagonal of (J^T J)^-1 over the parameters not "
                      "at a bound (those held there), scaled by the reduced chi2 when the data "
                      "carry no didv_err; null for a parameter at a bound and for derived "
                      "ratios whose numerator or delta0 is at a bound",
            "interval95": "profile likelihood: the values where chi2, re-minimized over the "
                          "other free parameters, exceeds its minimum by 3.84 (x reduced chi2 "
                          "without didv_err), truncated at the bounds; at a bound [bound, "
                          "one-sided 95 % limit at 2.71]; null: not profiled (--profile) or "
                          "fixed; a null end: the profile never reached the target",
            "at_bound": {n: ("lower" if a < 0 else "upper") for n, a in result.at_bound.items()
                         if a},
            "identifiability_at_start": result.identifiability,
            "profile": result.profile_info,
        },
        "residuals_per_field": _residuals_per_field(result, spectra, conditions),
        "fit": {
            "method": "scipy.optimize.least_squares (trf, x_scale=jac), analytic norm/offset "
                      "and forward-difference DOS-parameter Jacobian columns",
            "success": result.success, "message": result.message, "nfev": result.nfev,
            "njev": result.njev, "model_field_evaluations": result.n_dos,
            "seconds": result.seconds, "workers": args.workers,
        },
    }
    if bc2 is not None:
        report["bc2"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                         for k, v in bc2.items()}
    return report


def run_fit(args):
    """``mirage fit``: validate and read, fit, derive B_c2(T), write JSON (and a figure)."""
    conditions, fixed, bounds, start, bc2_t, spectra, profile = _inputs(args)
    if spectra.dropped:
        shown = ", ".join(spectra.dropped_lines[:5]) + (" ..." if spectra.dropped > 5 else "")
        print(f"mirage fit: dropped {spectra.dropped} rows with NaN dI/dV ({shown})",
              file=sys.stderr)
    executor = ProcessPoolExecutor(args.workers) if args.workers > 1 else None
    per_field = args.normalization == "per-field"
    mcmc = None
    try:
        result = fit_spectra(spectra, conditions, fixed=fixed, bounds=bounds, start=start,
                             executor=executor, per_field_norm=per_field,
                             max_nfev=args.max_nfev, profile=profile)
        if args.mcmc:
            mcmc = sample_posterior(spectra, conditions, result, steps=args.mcmc,
                                    walkers=args.walkers, seed=args.seed, executor=executor,
                                    per_field_norm=per_field)
    finally:
        if executor is not None:
            executor.shutdown()
    bc2 = bc2_curve(result, conditions, bc2_t) if bc2_t is not None else None
    report = _report(result, spectra, conditions, args, bc2)
    if mcmc is not None:
        mcmc["note"] = ("emcee ensemble sampler, flat priors inside the fit bounds, data "
                        "units; compare 'std' with the covariance errors; the chain is "
                        "converged only if steps >> autocorrelation_time")
        report["mcmc"] = mcmc
    text = json.dumps(jsonable(report, nonfinite_as_none=True), indent=1) + "\n"
    atomic_write_bytes(args.output, text.encode())
    if not result.success:
        print(f"mirage fit: warning: {result.message}", file=sys.stderr)
    if args.plot is not None:
        _plot(args.plot, result, spectra, conditions, bc2)
    return 0


def _plot(path, result, spectra, conditions, bc2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    physical = conditions.units == "physical"
    fig, axes = plt.subplots(1, 2 if bc2 is not None else 1, figsize=(11, 5.5), squeeze=False)
    ax = axes[0, 0]
    step = 0.6 * float(np.median(np.concatenate(spectra.didv)))
    for j, f in enumerate(spectra.fields):
        shift = j * step
        ax.plot(spectra.biases[j], spectra.didv[j] + shift, ".", ms=2, color=f"C{j % 10}")
        ax.plot(spectra.biases[j], result.model[j] + shift, "-", lw=1, color="k")
        ax.text(spectra.biases[j][-1], result.model[j][-1] + shift,
                f" {f:.3g} {'T' if physical else ''}", va="center", fontsize=7)
    ax.set_xlabel("bias V (mV)" if physical else r"bias $eV$ (nominal $\Delta_0$)")
    ax.set_ylabel("dI/dV (data units, offset per field)")
    v = result.values
    ax.set_title(rf"$\beta_{{so}}$ = {v['beta_so']:.4g}, $\Delta_0$ = {v['delta0']:.4g}, "
                 rf"$\Gamma$ = {v['gamma']:.3g} {'meV' if physical else ''}", fontsize=9)
    if bc2 is not None:
        ax = axes[0, 1]
        if physical:
            x, y, e = bc2["temperature_K"], bc2["bc2_T"], bc2["bc2_T_stderr"]
            ax.set_xlabel("temperature T (K)")
            ax.set_ylabel(r"in-plane $B_{c2}$ (T)")
        else:
            x, y, e = bc2["temperature_reduced"], bc2["bc2_reduced"], bc2["bc2_reduced_stderr"]
            ax.set_xlabel(r"$T/T_{c0}$")
            ax.set_ylabel(r"$B_{c2}$ (Zeeman energy, $\Delta_0$)")
        ax.fill_between(x, y - 2 * e, y + 2 * e, alpha=0.3, label=r"$\pm 2\sigma$")
        ax.plot(x, y, "o-", label="implied by the fit (q = 0)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, 130, tight=False)
    plt.close(fig)
