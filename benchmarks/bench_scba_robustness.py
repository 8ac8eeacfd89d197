"""Robustness sweep of the SCBA iteration: how many energies fail to converge, and the cost.

Run::

    .venv/bin/python benchmarks/bench_scba_robustness.py

60 parameter sets (beta = 7; Gamma in {0.5, 1, 2, 5, 10}, eta in {0, 0.01}, B in
{0.5, 2, 5}, Delta in {0.3, 0.8}, all in Delta0), each on two grids: 4001 energies on
[-12, 12] and 151 on [0.2, 0.35] (the grid on which the Anderson iteration once stalled
at eps = 0.273, issue 10). Prints the number of unconverged energies, of converged
energies with a negative DOS (< -1e-9: must be 0), the most negative DOS returned
anywhere (an unconverged energy carries its last accepted iterate, so this must stay at
round-off level), the parameter sets with unconverged energies, and the wall time.
"""

import itertools
import time
import warnings

import numpy as np

from quasiclassical.eilenberger import SCBAConvergenceWarning, solve_real_axis
from quasiclassical.params import QCParams

GRIDS = (np.linspace(-12, 12, 4001), np.linspace(0.2, 0.35, 151))
SETS = list(itertools.product((0.5, 1, 2, 5, 10), (0.0, 0.01), (0.5, 2, 5), (0.3, 0.8)))


def main():
    unconverged = negative = total = 0
    lowest = np.inf
    failing = []
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SCBAConvergenceWarning)
        for gamma, eta, field, delta in SETS:
            params = QCParams(beta=7.0, field=field, gamma=gamma, eta=eta)
            for grid in GRIDS:
                res = solve_real_axis(grid, delta, params)
                bad = ~res.converged
                unconverged += int(bad.sum())
                negative += int(np.sum(res.converged & (res.dos < -1e-9)))
                lowest = min(lowest, float(res.dos.min()))
                total += grid.size
                if bad.any():
                    failing.append(f"Gamma={gamma:g} eta={eta:g} B={field:g} Delta={delta:g} "
                                   f"({grid.size} energies): {int(bad.sum())} unconverged at "
                                   f"{np.round(grid[bad], 4).tolist()}")
    elapsed = time.perf_counter() - start
    print(f"{len(SETS)} parameter sets x 2 grids = {total} energies in {elapsed:.1f} s")
    print(f"  unconverged energies: {unconverged}")
    print(f"  converged energies with DOS < -1e-9: {negative}")
    print(f"  lowest DOS returned anywhere: {lowest:.3g}")
    for line in failing:
        print(f"  {line}")


if __name__ == "__main__":
    main()
