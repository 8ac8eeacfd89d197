"""How much coverage short emcee chains lose by themselves: `sample_posterior`'s configuration on a
Gaussian posterior, where the exact answer is known.

Run ``.venv/bin/python benchmarks/bench_mcmc_sampler.py`` (about 2 minutes, no model evaluations).

`quasiclassical.fit.sample_posterior` starts the walkers from the Laplace approximation of the
posterior. Where the posterior is Gaussian that start *is* the posterior, so whatever a chain's
central 2.5-97.5 % interval loses in coverage is Monte Carlo error of the sampler alone: too few
independent samples, and an ensemble whose spread fluctuates collectively. Both emcee moves used
here (stretch, differential evolution) are affine invariant, so a standard normal target in the
number of free parameters stands for any Gaussian posterior, correlations included.

For each configuration (move, walkers, steps, discarded steps) and ``--reps`` independent chains:
the expected coverage of a true value drawn from the posterior, Phi(p97.5) - Phi(p2.5) per
parameter averaged over chains and parameters (95 % for an exact sampler; its Monte Carlo error
over 400 chains x 3 parameters is ~0.2 points), and the 5/50/95 % quantiles of the sample standard
deviation over the true one (1). ``--start`` scales the start distribution (a Laplace
approximation too narrow or too wide by that factor).
"""

import argparse
import time

import emcee
import numpy as np
from scipy.stats import norm

# (move, walkers, steps, discard) for 3 free parameters (the --mcmc benchmark's case):
# the old default (8 = 2n + 2 walkers, stretch, half discarded) and the variations.
CONFIGS = [
    ("stretch", 8, 60, 30),
    ("stretch", 8, 60, 15),
    ("stretch", 8, 120, 60),
    ("stretch", 16, 60, 30),
    ("stretch", 16, 60, 15),
    ("stretch", 24, 60, 30),
    ("stretch", 32, 60, 30),
    ("de", 8, 60, 30),
    ("de", 8, 60, 15),
    ("de", 12, 60, 15),
    ("de", 16, 60, 30),
    ("de", 16, 60, 15),
    ("de", 24, 60, 15),
    ("de", 32, 60, 15),
    ("de", 16, 120, 30),
    # the suite's reduced check: 8 x 24 before, the default 16 walkers x 12 steps now
    ("stretch", 8, 24, 12),
    ("de", 16, 12, 3),
]


def _moves(name):
    return emcee.moves.DEMove() if name == "de" else emcee.moves.StretchMove()


def run(move, walkers, steps, discard, *, ndim=3, reps=400, start=1.0, seed=0):
    """Expected coverage, std-ratio quantiles (5, 50, 95 %) and acceptance over *reps* chains."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    coverage, ratio, accept = [], [], []

    def log_prob(x):
        return -0.5 * np.sum(x * x, axis=1)

    for _ in range(reps):
        sampler = emcee.EnsembleSampler(walkers, ndim, log_prob, vectorize=True, moves=_moves(move))
        sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
        sampler.run_mcmc(start * rng.standard_normal((walkers, ndim)), steps, progress=False)
        chain = sampler.get_chain(discard=discard, flat=True)
        low, high = np.percentile(chain, [2.5, 97.5], axis=0)
        coverage.append(norm.cdf(high) - norm.cdf(low))
        ratio.append(chain.std(axis=0))
        accept.append(sampler.acceptance_fraction.mean())
    return (
        float(np.mean(coverage)),
        np.percentile(np.ravel(ratio), [5, 50, 95]),
        float(np.mean(accept)),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=400, help="chains per configuration")
    parser.add_argument("--ndim", type=int, default=3, help="free parameters")
    parser.add_argument(
        "--start",
        type=float,
        default=1.0,
        help="start width over the posterior's (Laplace approximation off by it)",
    )
    args = parser.parse_args()
    print(
        f"Gaussian posterior, {args.ndim} parameters, start x{args.start}, {args.reps} chains "
        f"per line; exact sampler: coverage 0.950, std ratio 1"
    )
    for move, walkers, steps, discard in CONFIGS:
        t0 = time.process_time()
        cov, q, acc = run(
            move, walkers, steps, discard, ndim=args.ndim, reps=args.reps, start=args.start
        )
        print(
            f"  {move:7s} {walkers:2d} walkers x {steps:3d} steps, {discard:2d} discarded "
            f"({walkers * steps:4d} evaluations): coverage {cov:.3f}, std ratio 5/50/95 % "
            f"{q[0]:.2f} {q[1]:.2f} {q[2]:.2f}, acceptance {acc:.2f} "
            f"({time.process_time() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
