"""Benchmark: valley-resolved Green's function components against the clean DOS they accompany.

Run: ``.venv/bin/python benchmarks/bench_green.py [--mesh 4000] [--repeat 2]``

Both at the defaults of ``mirage lattice dos`` (β = 7, B = 2, Δ = 1 Δ0, E_F = 30 Δ0,
2001 energies in [−10, 10] Δ0, Dynes η = 0.01 Δ0): the clean DOS
(`latticemirage.dos.clean_dos`, superconducting + normal state on the ``mesh × mesh``
zone mesh, default 4000) and the components (`latticemirage.green.valley_green`,
360 rays × 480 radial steps per valley, superconducting + normal state). The machine
is shared and noisy: the ratio measured in the same run is the figure to quote.
"""

import argparse
import os
import platform
import time

import numpy as np

from latticemirage import bulk, dos, green
from latticemirage.mapping import PhysicalParameters, map_to_lattice


def best_of(repeat, func):
    """Smallest wall time of *repeat* calls (seconds)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# bench_green  python {platform.python_version()}  numpy {np.__version__}  "
          f"cores {cores}")
    fsyst = bulk.wrapped_system()
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0), fsyst=fsyst)
    energies = np.linspace(-10.0, 10.0, 2001)
    t_dos = best_of(args.repeat, lambda: dos.clean_dos(mapping, energies, eta=0.01,
                                                       mesh=args.mesh, fsyst=fsyst))
    t_green = best_of(args.repeat, lambda: green.valley_green(mapping, energies, eta=0.01,
                                                              fsyst=fsyst))
    print(f"clean DOS (mesh {args.mesh}, SC + normal)        {t_dos:8.2f} s")
    print(f"components ({green.DEFAULT_N_THETA} x {green.DEFAULT_N_RADIAL} polar, both valleys) "
          f"{t_green:8.2f} s")
    print(f"ratio components / DOS                   {t_green / t_dos:8.2f}")


if __name__ == "__main__":
    main()
