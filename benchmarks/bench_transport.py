"""Benchmark of the NS-junction conductance map: MUMPS, SciPy and the batched solver; pool.

Run: ``.venv/bin/python benchmarks/bench_transport.py [--energies 41] [--fields 3] [--n-k 8]``

The issue's map is 401 energies × 21 fields; at the default 48 transverse momenta
that is 401 × 48 precalculated normal leads plus 401 × 48 × 21 × 2 scattering
matrices (superconducting and Δ = 0 normalization), ~8·10⁵ calls to
``kwant.smatrix``. That takes hours on this machine, so the script times a
reduced map (default 41 energies × 3 fields × 8 momenta, the same work per
call) with each Kwant solver in the same run, reports the cost per scattering
matrix and extrapolates linearly to the full map (the cost is proportional to
the number of (energy, momentum, field) triples: nothing is shared between
them except the normal lead's modes per (energy, momentum), a small part).
The batched solver (`latticemirage._modematch`) runs the reduced map (checked
equal to Kwant's) and then the full 401 × 21 × 48 map, serially and over a
process pool (``concurrent.futures``, one task per transverse momentum). The
machine is shared and noisy: compare ratios measured in the same run, not
absolute times.
"""

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import platform
import time

import numpy as np

from latticemirage import transport
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.parallel import available_cores

FULL = {"energies": 401, "fields": 21, "n_k": 48}


def timed(func):
    t0 = time.perf_counter()
    result = func()
    return time.perf_counter() - t0, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--energies", type=int, default=41)
    parser.add_argument("--fields", type=int, default=3)
    parser.add_argument("--n-k", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-full", action="store_true", help="skip the full batched map")
    args = parser.parse_args(argv)

    cores = available_cores()
    import kwant
    from kwant.solvers import default

    print(f"# bench_transport  python {platform.python_version()}  kwant {kwant.__version__}  "
          f"default solver {default.smodule.__name__}  cores {cores}  "
          f"load {os.getloadavg()[0]:.2f}")
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0))
    energies = np.linspace(-10, 10, args.energies)
    fields = np.linspace(0, 4, args.fields)
    calls = args.energies * args.n_k * args.fields * 2
    full_calls = FULL["energies"] * FULL["n_k"] * FULL["fields"] * 2
    print(f"reduced map: {args.energies} energies x {args.fields} fields x {args.n_k} k_x = "
          f"{calls} scattering matrices (+ {args.energies * args.n_k} normal-lead precalculations)")
    transport.ns_junction(1, (0.0, 0.0, 1.0))  # build once, outside the timings
    times = {}
    results = {}
    for solver in ("mumps", "sparse", "batched"):
        dt, res = timed(lambda s=solver: transport.ns_conductance(
            mapping, energies, fields=fields, barrier=3.0, n_k=args.n_k, solver=s))
        times[solver] = dt
        results[solver] = res
        per_call = dt / calls
        print(f"{solver:7s} serial: {dt:8.2f} s  {1e3 * per_call:6.2f} ms per smatrix  "
              f"-> full 401 x 21 x 48 map ≈ {per_call * full_calls / 3600:.2f} h on one core")
    for other in ("sparse", "batched"):
        diff = max(np.abs(a.conductance - b.conductance).max()
                   for a, b in zip(results["mumps"], results[other], strict=True))
        print(f"max |G_mumps - G_{other}| = {diff:.2e}")
    print(f"time ratios on the reduced map: SciPy / MUMPS {times['sparse'] / times['mumps']:.2f}, "
          f"MUMPS / batched {times['mumps'] / times['batched']:.0f}, "
          f"SciPy / batched {times['sparse'] / times['batched']:.0f}")
    if args.skip_full:
        return
    energies = np.linspace(-10, 10, FULL["energies"])
    fields = np.linspace(0, 4, FULL["fields"])
    dt_serial, _ = timed(lambda: transport.ns_conductance(
        mapping, energies, fields=fields, barrier=3.0, n_k=FULL["n_k"], solver="batched"))
    print(f"full map 401 x 21 x 48, batched, serial: {dt_serial:.1f} s")
    with cf.ProcessPoolExecutor(max_workers=args.workers,
                                mp_context=multiprocessing.get_context("spawn")) as pool:
        dt, _ = timed(lambda: transport.ns_conductance(
            mapping, energies, fields=fields, barrier=3.0, n_k=FULL["n_k"], solver="batched",
            executor=pool))
    print(f"full map, batched, {args.workers}-process pool: {dt:.1f} s (speed-up "
          f"{dt_serial / dt:.2f} x against serial; includes worker start-up)")


if __name__ == "__main__":
    main()
