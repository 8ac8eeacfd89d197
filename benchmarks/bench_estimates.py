"""Benchmark: the estimates of `latticemirage.estimates` against measured peak memory and time.

Run: ``.venv/bin/python benchmarks/bench_estimates.py [--quick]``

Each case runs in a fresh child process (so that its peak RSS is its own), which reports
its peak RSS above the interpreter's start-up (``resource.getrusage``) and the wall time of
the call; the table prints them beside the estimate the command line would have used to
accept or refuse the run, and the ratio estimate / measured (the memory estimates are meant
to be >= the measurement within a factor of a few; the times depend on the machine's load,
printed with them). ``--quick`` runs the smallest case of each kind only (about a minute).
"""

import argparse
import json
import os
import platform
import subprocess
import sys

from latticemirage import estimates

_CHILD = r"""
import json, resource, sys, time
import numpy as np
kind, a, b, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from latticemirage import bulk, green, plots, transport
fsyst = bulk.wrapped_system()
m = map_to_lattice(PhysicalParameters(beta=7, field=2, delta=1.0), fsyst=fsyst)
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if kind == "conductance":  # a energies, b transverse momenta, c barrier rows
    transport.ns_conductance(m, np.linspace(-10, 10, a), barrier=3.0, barrier_rows=c, n_k=b)
elif kind == "green":  # a rays, b radial steps, c energies
    green.valley_green(m, np.linspace(-10, 10, c), eta=0.01, n_theta=a, n_radial=b)
elif kind == "kwant-plot":  # a points per direction
    plots.plot_kwant_valleys(fsyst, m.params, sys.argv[5], half_width=1.5 * m.p_fermi_max,
                             n_k=a)
dt = time.perf_counter() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"bytes": (r1 - r0) * 1024.0, "seconds": dt}))
"""

CASES = {  # kind: [(a, b, c), ...], the first is the --quick one
    "conductance": [(101, 4, 1), (1601, 8, 1), (101, 2, 10)],
    "green": [(120, 160, 11), (360, 480, 11), (360, 480, 2001)],
    "kwant-plot": [(31, 0, 0), (121, 0, 0)],
}


def estimate(kind, a, b, c):
    if kind == "conductance":
        return estimates.conductance(a, b, 1, c)
    if kind == "green":
        return estimates.valley_green(a, b, c)
    return estimates.kwant_plot(a)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smallest case of each kind")
    args = parser.parse_args(argv)
    print(f"# {platform.node()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'case':28s} {'measured':>10s} {'estimate':>10s} {'ratio':>6s}"
          f" {'time s':>8s} {'est. s':>8s}")
    png = os.path.join(os.environ.get("TMPDIR", "/tmp"), "bench_estimates_kwant.png")
    for kind, cases in CASES.items():
        for a, b, c in cases[:1] if args.quick else cases:
            run = subprocess.run([sys.executable, "-c", _CHILD, kind, str(a), str(b), str(c),
                                  png], capture_output=True, text=True, check=True)
            got = json.loads(run.stdout.strip().splitlines()[-1])
            est = estimate(kind, a, b, c)
            print(f"{kind} {a}x{b}x{c}".ljust(28)
                  + f" {got['bytes'] / 1e6:8.1f}MB {est.nbytes / 1e6:8.1f}MB"
                  f" {est.nbytes / max(got['bytes'], 1.0):6.2f} {got['seconds']:8.2f}"
                  f" {est.seconds:8.2f}")
    if os.path.exists(png):
        os.unlink(png)


if __name__ == "__main__":
    main()
