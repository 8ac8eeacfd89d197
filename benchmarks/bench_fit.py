"""``mirage fit`` speed and coverage on synthetic spectra of the issue's size (8 x 401 points).

Run ``.venv/bin/python benchmarks/bench_fit.py`` (timing: the same fit serially and on a
2-process pool, in the same run; a few minutes) and ``--coverage N`` (N noise seeds; the
fraction of fits whose 1-sigma errors put the truth within 2 sigma, per parameter and
over all; about one fit time per seed). ``--json FILE`` keeps the per-seed results.

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
        result = fit_spectra(spectra, CONDITIONS, executor=executor)
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


def coverage(seeds, workers, first=1001):
    rows = []
    for seed in range(first, first + seeds):
        row = _fit(seed, workers)
        rows.append(row)
        print(f"  seed {seed}: {row['seconds']:.1f} s, reduced chi2 "
              f"{row['reduced_chi2']:.3f}, pulls "
              + " ".join(f"{n}={v:+.2f}" for n, v in row["pulls"].items()), flush=True)
    names = list(rows[0]["pulls"])
    pulls = np.array([[r["pulls"][n] for n in names] for r in rows])
    within = np.abs(pulls) <= 2
    print(f"coverage over {seeds} seeds (truth within 2 sigma; 95.4 % expected):")
    for k, n in enumerate(names):
        print(f"  {n:8s} {within[:, k].mean():6.1%}  pull mean {pulls[:, k].mean():+.2f} "
              f"std {pulls[:, k].std(ddof=1):.2f}")
    print(f"  all parameters, all seeds: {within.mean():.1%}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coverage", type=int, default=0, help="number of noise seeds")
    parser.add_argument("--workers", type=int, default=2, help="processes for --coverage")
    parser.add_argument("--first-seed", type=int, default=1001, help="first noise seed")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--json", default=None, help="write the per-fit rows here")
    args = parser.parse_args()
    out = {}
    if not args.no_timing:
        out["timing"] = timing()
    if args.coverage:
        out["coverage"] = coverage(args.coverage, args.workers, args.first_seed)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
