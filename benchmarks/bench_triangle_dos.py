"""Benchmark of the triangle-method clean DOS: compiled pass against the NumPy reference.

Run: ``.venv/bin/python benchmarks/bench_triangle_dos.py [--mesh 8000] [--field 2] [--workers 1]``

Times the calls the ``mirage validate`` clean stage makes at one field of the main β:
`latticemirage.dos.clean_dos` at the validation resolution (mesh 8000, Dynes η = 0.02 Δ0,
superconducting + normal state) on both energy windows (the main window 0-2.5 Δ0 and
ε0 ± 1.5 Δ0), once with each backend of `triangle_dos`, in the same run. Prints wall
and CPU (user + system) seconds per backend, their ratio, and the largest difference of
the two DOS curves. Then, for each window and state, the triangle count diagnostics of
the compiled pass: k points diagonalized and triangles whose bands were followed
through a possible crossing by eigenvector overlap.

The machine is shared and noisy: compare the ratio, measured in the same run; the CPU
seconds are less sensitive to other jobs than the wall time. ``--workers 1`` (default)
keeps to one core; the validate stage itself uses all available cores.
"""

import argparse
import os
import platform
import resource
import time

import numpy as np

from comparisons import suite_clean
from comparisons.parameters import ValidationSetup
from latticemirage import bulk, dos
from latticemirage.mapping import map_to_lattice
from mirage_common.formulas import mirage_formula
from quasiclassical import QCParams, solve_gap


def timed(func):
    """Wall and CPU (user + system, all threads) seconds of one call, and its result."""
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    out = func()
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t1 - t0, cpu, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", type=int, default=None, help="default: the validate mesh")
    parser.add_argument("--field", type=float, default=2.0, help="B in Δ0 (default 2)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    setup = ValidationSetup()
    res = setup.resolution
    mesh = res.dos_mesh if args.mesh is None else args.mesh
    print(
        f"# bench_triangle_dos  {time.strftime('%Y-%m-%d %H:%M')}  python "
        f"{platform.python_version()}  numpy {np.__version__}  workers {args.workers}  "
        f"load {os.getloadavg()[0]:.2f}"
    )
    fsyst = bulk.wrapped_system()
    beta = setup.base.beta
    mapping = map_to_lattice(setup.physical(beta=beta), fsyst=fsyst).with_field(args.field)
    qp = QCParams(
        beta=beta, field=args.field, phi=setup.base.phi, temperature=setup.base.temperature, eta=0.0
    )
    delta = solve_gap(qp).delta
    eps0 = float(mirage_formula(beta, args.field, delta).eps0)
    windows = [suite_clean._grid(*suite_clean.MAIN_WINDOW, res.energy_step)]
    if args.field > 0:
        half = suite_clean.MIRAGE_HALF_WINDOW
        windows.append(suite_clean._grid(eps0 - half, eps0 + half, res.energy_step))
    print(
        f"beta = {beta:g}, B = {args.field:g}, Delta = {delta:.4f} Δ0, mesh {mesh}, "
        f"eta = {res.eta:g} Δ0, windows "
        + ", ".join(f"[{e[0]:.3f}, {e[-1]:.3f}]" for e in windows)
        + " Δ0"
    )

    def run(backend):
        return [
            dos.clean_dos(
                mapping,
                e,
                eta=res.eta,
                mesh=mesh,
                delta=delta,
                fsyst=fsyst,
                workers=args.workers,
                backend=backend,
            )
            for e in windows
        ]

    timed(
        lambda: dos.clean_dos(
            mapping, windows[0], eta=res.eta, mesh=200, delta=delta, fsyst=fsyst, workers=1
        )
    )  # load the compiled kernels
    rows = {}
    for backend in ("numba", "numpy"):
        rows[backend] = timed(lambda b=backend: run(b))
    diff = max(
        np.abs(a.dos - b.dos).max() / np.abs(b.dos).max()
        for a, b in zip(rows["numba"][2], rows["numpy"][2], strict=True)
    )
    print(
        f"\n## clean_dos, SC + normal state, {len(windows)} window(s): "
        f"{2 * len(windows)} triangle_dos calls (+ a normalization call where needed)"
    )
    for backend, (wall, cpu, _) in rows.items():
        print(f"{backend:6s}  wall {wall:7.2f} s   cpu {cpu:7.2f} s")
    print(
        f"ratio numpy / numba   wall {rows['numpy'][0] / rows['numba'][0]:5.2f}   "
        f"cpu {rows['numpy'][1] / rows['numba'][1]:5.2f}"
    )
    print(f"largest DOS difference (relative to the maximum) {diff:.1e}")

    print("\n## compiled pass per triangle_dos call")
    d0 = mapping.delta0
    for e in windows:
        # The window clean_dos uses for a Dynes-broadened curve (bins eta/5, padded 40 eta).
        step = min(res.eta / 5.0, (e.max() - e.min()) / 200)
        lo, hi = e.min() - 40 * res.eta, e.max() + 40 * res.eta
        n_bins = int(np.ceil((hi - lo) / step))
        for name, gap in (("SC", delta), ("normal", 0.0)):
            blocks = bulk.fourier_blocks(fsyst, mapping.lattice_params(gap))
            wall, cpu, t = timed(
                lambda b=blocks, lo=lo, n=n_bins, s=step: dos.triangle_dos(
                    b, mesh, (lo * d0, (lo + n * s) * d0), n, workers=args.workers
                )
            )
            print(
                f"[{lo:6.2f}, {lo + n_bins * step:6.2f}] Δ0 {name:6s}  {t.n_k:9d} k  "
                f"followed {t.n_followed:7d} triangles   wall {wall:5.2f} s  cpu {cpu:5.2f} s"
            )


if __name__ == "__main__":
    main()
