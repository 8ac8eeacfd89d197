"""Posterior widths of `sample_posterior` on single seeds of the ``--mcmc`` coverage benchmark, by
walkers, steps and emcee move, against a long reference chain (issue 23; docs/topics/fit.md).

    python benchmarks/diag_mcmc_widths.py --seed 3081 --run stretch:8:120 --run de:16:120 \\
        --run de:32:150 --cut 60:30 --cut 60:15 --cut 120:60 --cut 120:30 --cut 150:30
    python benchmarks/diag_mcmc_widths.py --seed 3017 --run stretch:8:60 --run de:16:60 \\
        --cut 60:30 --cut 60:15

The data and fit are those of ``bench_fit.py --mcmc-coverage`` at true Gamma = 0.2 (2 fields x
121 biases, beta_so, delta0, Gamma free). Each ``--run MOVE:WALKERS:STEPS`` is one chain with
emcee seeded as the benchmark does (``seed=SEED``); each ``--cut STEPS:DISCARD`` that fits in
it is evaluated on its first STEPS steps with DISCARD dropped. A truncation is the same chain as
a shorter run (emcee's step k does not depend on later steps), so one run gives several points.
Printed per parameter: the posterior standard deviation, its ratio to the linearized error and
the central 95 % interval. About 0.1 s of CPU per walker and step.
"""

import argparse
import os
import sys
import time

import emcee
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_fit as B

from quasiclassical.fit import fit_spectra, sample_posterior, simulate_spectra


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True, help="noise (and chain) seed")
    parser.add_argument("--gamma", type=float, default=0.2, help="true Gamma (Delta0)")
    parser.add_argument("--run", action="append", required=True, metavar="MOVE:WALKERS:STEPS")
    parser.add_argument("--cut", action="append", required=True, metavar="STEPS:DISCARD")
    args = parser.parse_args()
    truth = {**B.COVERAGE_TRUTH, "gamma": args.gamma}
    spectra = simulate_spectra(
        truth,
        B.COVERAGE_CONDITIONS,
        B.MCMC_FIELDS,
        B.MCMC_BIASES,
        noise=B.MCMC_NOISE,
        seed=args.seed,
    )
    result = fit_spectra(spectra, B.COVERAGE_CONDITIONS, fixed=B.MCMC_KNOWN, profile=False)
    free = result.free
    print(
        f"seed {args.seed}, true Gamma {args.gamma}: fit "
        + ", ".join(f"{n} {result.values[n]:.4f} +- {result.stderr[n]:.4f}" for n in free)
    )
    captured = {}

    class Capture(emcee.EnsembleSampler):  # keeps the sampler to cut its chain afterwards
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            captured["sampler"] = self

    real = emcee.EnsembleSampler
    emcee.EnsembleSampler = Capture
    try:
        for spec in args.run:
            move, walkers, steps = spec.split(":")
            t0 = time.process_time()
            sample_posterior(
                spectra,
                B.COVERAGE_CONDITIONS,
                result,
                steps=int(steps),
                walkers=int(walkers),
                seed=args.seed,
                move=move,
            )
            cpu = time.process_time() - t0
            chain = captured["sampler"].get_chain()
            for cut in args.cut:
                upto, drop = map(int, cut.split(":"))
                if upto > chain.shape[0]:
                    continue
                flat = chain[drop:upto].reshape(-1, len(free))
                print(
                    f"  {move:7s} {walkers:>2s} walkers x {upto:3d} steps, {drop:2d} discarded "
                    f"({cpu:.0f} s CPU for the {steps}-step run):"
                )
                for k, n in enumerate(free):
                    col = flat[:, k]
                    lo, hi = np.percentile(col, [2.5, 97.5])
                    print(
                        f"    {n:8s} std {col.std():.4f} ({col.std() / result.stderr[n]:.2f} "
                        f"of the linearized) 95 % [{lo:.4f}, {hi:.4f}] "
                        f"{'covers' if lo <= truth[n] <= hi else 'MISSES'} {truth[n]}"
                    )
    finally:
        emcee.EnsembleSampler = real


if __name__ == "__main__":
    main()
