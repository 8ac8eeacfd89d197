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
import platform
import time

import numpy as np

from latticemirage import bulk, dos, green
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.parallel import available_cores


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
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--eta", type=float, default=1.5, help="Δ0")
    args = parser.parse_args(argv)
    cores = available_cores()
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
    _disorder(mapping, args.size, args.eta)


def _disorder(mapping, size, eta):
    from latticemirage.disorder import AndersonDisorder, kpm, selfenergy
    from latticemirage.disorder import supercell as scm

    energies = np.array([0.0, 6.0])
    dis = AndersonDisorder(0.3)
    t_fermi = best_of(1, lambda: selfenergy.measure_selfenergy(
        mapping, dis, size, 2, 0, energies, eta=eta, components=False))
    t_all = best_of(1, lambda: selfenergy.measure_selfenergy(
        mapping, dis, size, 2, 0, energies, eta=eta, components=True))
    res = selfenergy.measure_selfenergy(mapping, dis, size, 2, 0, energies[:1], eta=eta,
                                        components=True)
    per_lu_fermi = t_fermi / (2 * 2 * len(energies))  # realizations x states x energies
    per_lu_all = t_all / (2 * 2 * len(energies))
    cell = scm.supercell(mapping.lattice_params(1.0), size, real=False)
    a, b = kpm.rescaling(kpm.gershgorin_bounds(cell.matrix))
    vecs = np.random.default_rng(0).standard_normal((cell.matrix.shape[0], 8)) + 0j
    kpm.chebyshev_moments(cell.matrix, vecs, 2, a, b)  # compile the kernel first
    t_kpm = best_of(2, lambda: kpm.chebyshev_moments(cell.matrix, vecs, 200, a, b))
    per_moment_vector = t_kpm / (200 * 8)
    moments = kpm.moments_for_resolution(eta * mapping.delta0, a)
    kpm_fermi = per_moment_vector * moments * 4 * res.kpoints_fermi
    print(f"selfenergy L={size}, eta={eta:g} Δ0: per energy and state (LU + solves): "
          f"Fermi k only ({res.kpoints_fermi} k) {per_lu_fermi:.2f} s, with components "
          f"({res.kpoints_shell} k) {per_lu_all:.2f} s")
    print(f"KPM on the same matrix: {per_moment_vector * 1e3:.3f} ms per moment per vector; "
          f"{moments} moments for a Jackson width eta -> {kpm_fermi:.1f} s per state for the "
          f"diagonal of <k|G|k> at the Fermi k (all energies at once)")


if __name__ == "__main__":
    main()
