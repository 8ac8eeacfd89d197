"""``mirage fit`` speed and coverage on synthetic spectra of the issue's size (8 x 401 points).

Run ``.venv/bin/python benchmarks/bench_fit.py`` (timing: the same fit serially and on a
2-process pool, in the same run; a few minutes) and ``--coverage N [--no-timing]`` (N
noise seeds at true Gamma = 0 and N at Gamma = 0.2 Delta0, on the smaller data set of
``tests/test_fit.py``: 3 fields x 161 biases, all 6 parameters free; the fraction of
profile-likelihood 95 % intervals, one-sided at a bound, that contain the truth, beside
the linearized +-1.96 sigma; ~10 s per seed). ``--json FILE`` keeps the per-seed results.

``--mcmc-coverage N`` measures the same for ``mirage fit --mcmc`` (`sample_posterior`): N
noise seeds, alternating true Gamma = 0 and 0.2 Delta0 seed by seed (so that a run stopped
early has both), the fraction of the posterior 95 % intervals (central 2.5-97.5 percentiles,
one-sided at a bound) that contain the truth. An MCMC costs one model evaluation per walker
and step, so this runs on the suite's smaller data set (2 fields x 121 biases, noise 0.03,
eta, norm and offset fixed at the truth: beta_so, delta0, Gamma free; as
``tests/test_fit.py``) with ``--mcmc-walkers`` (default: `sample_posterior`'s, 4 x 3 + 4 = 16),
``--mcmc-steps`` (default 60, the first quarter discarded) and ``--mcmc-move`` (default ``de``,
differential evolution; ``stretch`` was the default before 2026-12-07's fourth session);
``--jsonl FILE`` appends one line per seed as it finishes.

The data: physical units, Delta0 = 0.5 meV (T_c0 = 3.29 K), beta_so = 3.5 meV (7 Delta0),
Gamma = 0.1 meV, eta = 0.01 meV, norm 2, bias offset 0.02 mV, T = 0.3 K, g = 2, fields
2..16 T (Zeeman energy up to 1.85 Delta0), biases -5..5 mV, Gaussian noise 0.02 (1 % of
the normal-state dI/dV) with ``didv_err`` = 0.02. Spectra come from the real-axis
conductance with the full gap solver (`quasiclassical.fit.simulate_spectra`); the fit uses
the shifted contour and warm-started gaps, so agreement also checks those.

The machine is shared: the load average is printed with every timing; compare the
serial and parallel times of the same run, not across runs.
"""

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from quasiclassical.fit import Conditions, fit_spectra, simulate_spectra

TRUTH = dict(beta_so=3.5, delta0=0.5, gamma=0.1, eta=0.01, norm=2.0, offset=0.02)
CONDITIONS = Conditions(temperature=0.3, g_factor=2.0)
FIELDS = np.linspace(2, 16, 8)
BIASES = np.linspace(-5, 5, 401)
NOISE = 0.02


def _load():
    return os.getloadavg()[0]


def _fit(seed, workers):
    spectra = simulate_spectra(TRUTH, CONDITIONS, FIELDS, BIASES, noise=NOISE, seed=seed)
    executor = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        t0 = time.perf_counter()
        result = fit_spectra(spectra, CONDITIONS, executor=executor, profile=False)
        seconds = time.perf_counter() - t0
    finally:
        if executor is not None:
            executor.shutdown()
    pulls = {n: (result.values[n] - TRUTH[n]) / result.stderr[n] for n in result.free}
    return {
        "seed": seed, "workers": workers, "seconds": seconds, "nfev": result.nfev,
        "njev": result.njev, "model_field_evaluations": result.n_dos,
        "reduced_chi2": result.reduced_chi2, "success": result.success,
        "values": result.values, "stderr": result.stderr, "pulls": pulls,
    }


def timing(seed=1):
    print(f"fit of {FIELDS.size} fields x {BIASES.size} biases, all 6 parameters free")
    rows = []
    for workers in (1, 2):
        load = _load()
        row = _fit(seed, workers)
        rows.append(row)
        print(f"  workers={workers}: {row['seconds']:6.1f} s  nfev={row['nfev']} "
              f"njev={row['njev']} field evaluations={row['model_field_evaluations']}  "
              f"(load average {load:.1f} -> {_load():.1f})")
    print(f"  speed-up 2 workers / 1: {rows[0]['seconds'] / rows[1]['seconds']:.2f}x")
    for name in rows[1]["values"]:
        print(f"  {name:8s} truth {TRUTH[name]:<6g} fit {rows[1]['values'][name]:.6g} "
              f"+- {rows[1]['stderr'][name]:.2g}  pull {rows[1]['pulls'][name]:+.2f}")
    return rows


# Coverage configuration: the suite's synthetic data set (tests/test_fit.py), small enough
# for 2 x 40 seeds in minutes: reduced units, T = 0.15 T_c0, 3 fields x 161 biases.
COVERAGE_TRUTH = dict(beta_so=5.0, delta0=1.05, eta=0.03, norm=1.0, offset=0.01)
COVERAGE_CONDITIONS = Conditions(temperature=0.15, units="reduced")
COVERAGE_FIELDS = (1.0, 2.0, 3.0)
COVERAGE_BIASES = np.linspace(-8, 8, 161)
COVERAGE_NOISE = 0.02


def _coverage_fit(seed, gamma):
    truth = {**COVERAGE_TRUTH, "gamma": gamma}
    spectra = simulate_spectra(truth, COVERAGE_CONDITIONS, COVERAGE_FIELDS, COVERAGE_BIASES,
                               noise=COVERAGE_NOISE, seed=seed)
    t0 = time.perf_counter()
    result = fit_spectra(spectra, COVERAGE_CONDITIONS)
    seconds = time.perf_counter() - t0
    row = {"seed": seed, "gamma_true": gamma, "seconds": seconds,
           "reduced_chi2": result.reduced_chi2, "values": result.values,
           "stderr": result.stderr, "at_bound": result.at_bound,
           "interval95": result.interval95, "profile": result.profile_info,
           "covered_profile": {}, "covered_linear": {}}
    for n in result.free:
        lo, hi = result.interval95[n]
        row["covered_profile"][n] = bool(lo <= truth[n] <= hi)
        # The linearized +-1.96 sigma (the old report; at a bound: the point itself).
        v, e = result.values[n], result.stderr[n]
        row["covered_linear"][n] = bool(abs(v - truth[n]) <= 1.96 * e) if np.isfinite(e) \
            else bool(v == truth[n])
    return row


def coverage(seeds, gammas=(0.0, 0.2), first=2001):
    """Profile-interval coverage over *seeds* noise seeds for each true Gamma."""
    out = {}
    for gamma in gammas:
        rows = []
        print(f"true Gamma = {gamma} Delta0: {seeds} seeds, 3 fields x 161 biases, all 6 free")
        for seed in range(first, first + seeds):
            row = _coverage_fit(seed, gamma)
            rows.append(row)
            missed = [n for n, c in row["covered_profile"].items() if not c]
            print(f"  seed {seed}: {row['seconds']:.1f} s, gamma {row['values']['gamma']:.4g} "
                  f"{'(at bound) ' if row['at_bound']['gamma'] else ''}in "
                  f"[{row['interval95']['gamma'][0]:.4g}, {row['interval95']['gamma'][1]:.4g}]"
                  f"{', missed: ' + ' '.join(missed) if missed else ''}", flush=True)
        names = list(rows[0]["covered_profile"])
        prof = np.array([[r["covered_profile"][n] for n in names] for r in rows])
        lin = np.array([[r["covered_linear"][n] for n in names] for r in rows])
        at_bound = sum(bool(r["at_bound"]["gamma"]) for r in rows)
        print(f"coverage at true Gamma = {gamma} (95 % intended; profile / linearized):")
        for k, n in enumerate(names):
            print(f"  {n:8s} {prof[:, k].mean():6.1%} / {lin[:, k].mean():6.1%}")
        print(f"  all: {prof.mean():.1%} of {prof.size} intervals / {lin.mean():.1%}; Gamma at "
              f"its bound in {at_bound} of {seeds} fits; "
              f"{np.mean([r['seconds'] for r in rows]):.1f} s per fit with profiles")
        out[str(gamma)] = rows
    return out


# MCMC coverage configuration: the suite's small data set (tests/test_fit.py).
MCMC_FIELDS = (1.5, 3.0)
MCMC_BIASES = np.linspace(-8, 8, 121)
MCMC_NOISE = 0.03
MCMC_KNOWN = {"eta": 0.03, "norm": 1.0, "offset": 0.01}


def _mcmc_fit(seed, gamma, steps, walkers=None, move="de"):
    from quasiclassical.fit import sample_posterior

    truth = {**COVERAGE_TRUTH, "gamma": gamma}
    spectra = simulate_spectra(truth, COVERAGE_CONDITIONS, MCMC_FIELDS, MCMC_BIASES,
                               noise=MCMC_NOISE, seed=seed)
    t0 = time.process_time()
    result = fit_spectra(spectra, COVERAGE_CONDITIONS, fixed=MCMC_KNOWN, profile=False)
    chain = sample_posterior(spectra, COVERAGE_CONDITIONS, result, steps=steps,
                             walkers=walkers, seed=seed, move=move)
    cpu = time.process_time() - t0
    row = {"seed": seed, "gamma_true": gamma, "cpu_seconds": cpu, "steps": steps,
           "walkers": chain["walkers"], "samples": chain["samples"], "move": chain["move"],
           "discarded": chain["discarded"],
           "acceptance_fraction": chain["acceptance_fraction"],
           "autocorrelation_time": chain["autocorrelation_time"],
           "values": result.values, "at_bound": result.at_bound,
           "interval95": {n: chain["parameters"][n]["interval95"] for n in result.free},
           "posterior_std": {n: chain["parameters"][n]["std"] for n in result.free},
           "stderr": result.stderr, "covered": {}}
    for n in result.free:
        lo, hi = row["interval95"][n]
        row["covered"][n] = bool(lo <= truth[n] <= hi)
    return row


def mcmc_coverage(seeds, steps=60, walkers=None, gammas=(0.0, 0.2), first=3001, jsonl=None,
                  move="de"):
    """Posterior-interval coverage over *seeds* noise seeds, true Gamma alternating."""
    rows = []
    print(f"MCMC coverage: {seeds} seeds alternating true Gamma in {gammas}, 2 fields x 121 "
          f"biases, beta_so, delta0, Gamma free; {walkers or 'default'} walkers x {steps} "
          f"steps, move {move}")
    for i, seed in enumerate(range(first, first + seeds)):
        gamma = gammas[i % len(gammas)]
        row = _mcmc_fit(seed, gamma, steps, walkers, move)
        rows.append(row)
        missed = [n for n, c in row["covered"].items() if not c]
        g = row["interval95"]["gamma"]
        print(f"  seed {seed} Gamma={gamma}: {row['cpu_seconds']:.0f} s CPU, accept "
              f"{row['acceptance_fraction']:.2f}, gamma {row['values']['gamma']:.4g}"
              f"{' (at bound)' if row['at_bound']['gamma'] else ''} in [{g[0]:.4g}, "
              f"{g[1]:.4g}]{', missed: ' + ' '.join(missed) if missed else ''}", flush=True)
        if jsonl:
            with open(jsonl, "a") as fh:
                fh.write(json.dumps(row, default=float) + "\n")
    summarize_mcmc(rows)
    return rows


def summarize_mcmc(rows):
    """Print the coverage per true Gamma and parameter, with the binomial standard error."""
    for gamma in sorted({r["gamma_true"] for r in rows}):
        sel = [r for r in rows if r["gamma_true"] == gamma]
        names = list(sel[0]["covered"])
        cov = np.array([[r["covered"][n] for n in names] for r in sel])
        frac = cov.mean()
        truth = {**COVERAGE_TRUTH, "gamma": gamma}
        # The linearized +-1.96 sigma of the same fits (at a bound: no error, a miss).
        lin = np.array([[abs(r["values"][n] - truth[n]) <= 1.96 * r["stderr"][n]
                         if r["stderr"][n] is not None and np.isfinite(r["stderr"][n])
                         else False for n in names] for r in sel])
        ratio = [r["posterior_std"][n] / r["stderr"][n] for r in sel for n in names
                 if r["stderr"][n] is not None and np.isfinite(r["stderr"][n])]
        se = np.sqrt(frac * (1 - frac) / cov.size)
        print(f"true Gamma = {gamma}: {len(sel)} seeds, {cov.size} intervals, covered "
              f"{int(cov.sum())} = {frac:.1%} (binomial s.e. {se:.1%}; "
              f"of a true 95 %: {np.sqrt(0.95 * 0.05 / cov.size):.1%}); per parameter: "
              + ", ".join(f"{n} {int(cov[:, k].sum())}/{len(sel)}" for k, n in enumerate(names))
              + f"; linearized {int(lin.sum())}/{lin.size}; posterior std / linearized error "
              f"5/50/95 %: {np.round(np.percentile(ratio, [5, 50, 95]), 2).tolist()}; "
              f"{np.mean([r['cpu_seconds'] for r in sel]):.0f} s CPU per seed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coverage", type=int, default=0,
                        help="noise seeds per true Gamma (0 and 0.2 Delta0)")
    parser.add_argument("--first-seed", type=int, default=2001, help="first noise seed")
    parser.add_argument("--gammas", default="0,0.2",
                        help="true Gamma values of --coverage, comma list (Delta0)")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--json", default=None, help="write the per-fit rows here")
    parser.add_argument("--mcmc-coverage", type=int, default=0,
                        help="noise seeds of the MCMC coverage (true Gamma alternating 0, 0.2)")
    parser.add_argument("--mcmc-steps", type=int, default=60, help="steps per walker")
    parser.add_argument("--mcmc-walkers", type=int, default=None,
                        help="walkers (default: sample_posterior's)")
    parser.add_argument("--mcmc-move", choices=("de", "stretch"), default="de",
                        help="emcee move (sample_posterior's move=)")
    parser.add_argument("--mcmc-first-seed", type=int, default=3001)
    parser.add_argument("--jsonl", default=None, help="append one line per MCMC seed here")
    parser.add_argument("--summarize", default=None, metavar="JSONL",
                        help="only print the coverage of an earlier --jsonl file")
    args = parser.parse_args()
    if args.summarize:
        with open(args.summarize) as fh:
            summarize_mcmc([json.loads(line) for line in fh if line.strip()])
        return
    out = {}
    if not args.no_timing:
        out["timing"] = timing()
    if args.coverage:
        gammas = tuple(float(g) for g in args.gammas.split(","))
        out["coverage"] = coverage(args.coverage, gammas, first=args.first_seed)
    if args.mcmc_coverage:
        out["mcmc_coverage"] = mcmc_coverage(args.mcmc_coverage, args.mcmc_steps,
                                             args.mcmc_walkers, first=args.mcmc_first_seed,
                                             jsonl=args.jsonl, move=args.mcmc_move)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
