"""Benchmark of the quasiclassical solver: the whole self-consistent Fig. 2 set.

Run::

    .venv/bin/python benchmarks/bench_qc.py [--repeat 3]

Measures, in one run on this machine (noisy: compare the ratios, not the seconds):

1. the Fig. 2 set: 5 values of Gamma (0, 0.2, 0.4, 1, 2 Delta0), 4001 energies on
   [-12, 12] Delta0, beta = 7, B = 2 Delta0, T = 0.1 T_c0, eta = 0.01 Delta0, the gap
   solved self-consistently for each Gamma (target: under 5 s), split into gap solving
   and real-axis SCBA;
2. peers measured in the same run: the closed-form retarded sign function against
   the general Newton iteration and against an eigendecomposition, and the Anderson-
   accelerated SCBA against plain fixed-point iteration (same tolerance).
"""

import argparse
import statistics
import time

import numpy as np

from quasiclassical.eilenberger import bare_matrix, sign_retarded, solve_real_axis
from quasiclassical.gap import solve_gap
from quasiclassical.params import QCParams

GAMMAS = (0.0, 0.2, 0.4, 1.0, 2.0)
BASE = QCParams(beta=7.0, field=2.0, temperature=0.1, eta=0.01)
ENERGIES = np.linspace(-12, 12, 4001)


def timed(func, repeat):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return times, out


def fig2_set():
    gap_time = dos_time = 0.0
    for gamma in GAMMAS:
        params = BASE.replace(gamma=gamma)
        start = time.perf_counter()
        delta = solve_gap(params).delta
        mid = time.perf_counter()
        res = solve_real_axis(ENERGIES, delta, params, on_failure="raise")
        dos_time += time.perf_counter() - mid
        gap_time += mid - start
        assert res.success
    return gap_time, dos_time


def sign_by_eig(m):
    w, v = np.linalg.eig(m)
    return (v * np.where(w.imag > 0, 1.0, -1.0)[..., None, :]) @ np.linalg.inv(v)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    fig2_set()  # warm-up (imports, caches)

    times, _ = timed(fig2_set, args.repeat)
    parts = fig2_set()
    print("Fig. 2 set (5 Gamma x 4001 energies, Delta self-consistent for each Gamma):")
    print(f"  total   min {min(times):.2f} s, median {statistics.median(times):.2f} s "
          f"over {args.repeat} runs (target < 5 s)")
    print(f"  split   gap equation {parts[0]:.2f} s, real-axis SCBA {parts[1]:.2f} s (one run)")

    m = np.concatenate([bare_matrix(ENERGIES + 0.01j, b, 0.8, 2.0) for b in (7.0, -7.0)])
    t_closed, g = timed(lambda: sign_retarded(m, "closed"), args.repeat)
    t_newton, g_newton = timed(lambda: sign_retarded(m, "newton"), args.repeat)
    t_eig, g_eig = timed(lambda: sign_by_eig(m), args.repeat)
    print(f"Retarded sign of {len(m)} 4x4 matrices (min of {args.repeat}):")
    print(f"  closed form {1e3 * min(t_closed):.1f} ms; Newton {1e3 * min(t_newton):.1f} ms "
          f"(x{min(t_newton) / min(t_closed):.1f}); eig {1e3 * min(t_eig):.1f} ms "
          f"(x{min(t_eig) / min(t_closed):.1f})")
    print(f"  max |difference|: Newton {np.abs(g - g_newton).max():.1e}, "
          f"eig {np.abs(g - g_eig).max():.1e}")

    params = BASE.replace(gamma=2.0)
    t_aa, res_aa = timed(lambda: solve_real_axis(ENERGIES, 0.75, params), args.repeat)
    t_plain, res_plain = timed(
        lambda: solve_real_axis(ENERGIES, 0.75, params, acceleration="none", maxiter=5000),
        args.repeat,
    )
    print("SCBA at Gamma = 2 Delta0, 4001 energies, tol 1e-10 (min of runs):")
    print(f"  Anderson {min(t_aa):.3f} s ({res_aa.nfev} sign evaluations); plain iteration "
          f"{min(t_plain):.3f} s ({res_plain.nfev}): ratio x{min(t_plain) / min(t_aa):.1f}")
    print(f"  max |<g> difference| {np.abs(res_aa.average - res_plain.average).max():.1e}")


if __name__ == "__main__":
    main()
