"""Benchmark: a disorder-study realization with the valley components against DOS only.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_study_components.py [--size 40]``

One realization (`latticemirage.disorder.study.compute_realization`, one process, one
thread) of the study ``mirage lattice disorder --kind anderson --width 0.3 --size L``
with the CLI's defaults (β = 7, B = 2, Δ = 1 Δ0, E_F = 30 Δ0; moments for a Jackson
width δ/4; 8 vectors; 801 energies), once as is and once with ``--components 1.5
--component-energies 0:9:10`` (the default energies: two sparse LU of the 4 L² BdG
matrix per energy). Both specs are built by the CLI's own `spec_from_args`. The machine
is shared and noisy: the ratio measured in the same run is the figure to quote.
"""

import argparse
import dataclasses
import os
import platform
import time

import numpy as np

from latticemirage.disorder import kpm, study
from mirage_cli.lattice.study import spec_from_args
from mirage_cli.main import build_parser


def best_of(repeat, func):
    """Smallest wall time of *repeat* calls (seconds) and the last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--eta", type=float, default=1.5, help="Δ0")
    parser.add_argument("--energies", default="0:9:10", help="START:STOP:NUM, Δ0")
    args = parser.parse_args(argv)
    kpm.set_num_threads(1)
    base = ["lattice", "disorder", "--kind", "anderson", "--width", "0.3",
            "--size", str(args.size), "--realizations", "1", "--output", "unused"]
    cli = build_parser(base)
    dos_only = spec_from_args(cli.parse_args(base))
    with_comp = spec_from_args(cli.parse_args(
        [*base, "--components", str(args.eta), "--component-energies", args.energies]))
    # Warm-up on a tiny copy (Kwant system, numba compilation), outside the timings.
    study.compute_realization(dataclasses.replace(dos_only, size=8, moments=100), 0)
    t_dos, _ = best_of(args.repeat, lambda: study.compute_realization(dos_only, 0))
    t_all, res = best_of(args.repeat, lambda: study.compute_realization(with_comp, 0))
    t_comp = res["metadata"]["components_seconds"]
    n_e = len(with_comp.components["energies_delta0"])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"L = {args.size}, {dos_only.moments} moments x {dos_only.vectors} vectors, "
          f"{n_e} component energies at eta = {args.eta} Δ0")
    print(f"DOS-only realization:          {t_dos:8.2f} s")
    print(f"with components:               {t_all:8.2f} s "
          f"(components {t_comp:.2f} s = {t_comp / n_e:.2f} s per energy)")
    print(f"ratio with/without components: {t_all / t_dos:8.2f}")


if __name__ == "__main__":
    main()
