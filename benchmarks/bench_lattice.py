"""Benchmark of the clean lattice side: fast H(k) and the 2000 × 2000 clean DOS, against Kwant.

Run: ``.venv/bin/python benchmarks/bench_lattice.py [--mesh 2000] [--repeat 3]``

Prints k points per second for

* the fast Bloch Hamiltonian (`bulk.bloch_hamiltonian`, no Kwant call per k) and
  with its eigenvalues (`bulk.bloch_eigenvalues`, checked closed form);
* Kwant's own per-k path (`hamiltonian_submatrix` of the wrapped system, plus
  LAPACK ``eigvalsh``), timed on a sample and extrapolated;

and wall times of the clean DOS on a ``mesh × mesh`` zone mesh (default 4e6 k):
the whole zone diagonalized, the exact window-restricted evaluation (the default),
and the full ``clean_dos`` (superconducting + normal state, Dynes eta = 0.01 Δ0)
used by ``mirage lattice dos``; each beside the extrapolated Kwant time for the
same points. The machine is shared and noisy: compare ratios measured in the
same run, not absolute times.
"""

import argparse
import os
import platform
import time

import numpy as np

from latticemirage import bulk, dos
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.parallel import available_cores


def best_of(repeat, func):
    """Smallest wall time of *repeat* calls (seconds) and the last result."""
    best, result = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n-k", type=int, default=1_000_000, help="k points for H(k) timing")
    parser.add_argument("--kwant-sample", type=int, default=2000)
    args = parser.parse_args(argv)

    cores = available_cores()
    print(f"# bench_lattice  python {platform.python_version()}  numpy {np.__version__}  "
          f"cores {cores}  load {os.getloadavg()[0]:.2f}")
    fsyst = bulk.wrapped_system()
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0), fsyst=fsyst)
    params = mapping.params
    blocks = bulk.fourier_blocks(fsyst, params)
    rng = np.random.default_rng(20210609)
    recip = bulk.reciprocal_vectors()
    k = rng.random((args.n_k, 2)) @ recip  # uniform over the zone

    # --- H(k) -------------------------------------------------------------------
    t_fast, _ = best_of(args.repeat, lambda: bulk.bloch_hamiltonian(blocks, k))
    t_fast_eig, _ = best_of(args.repeat, lambda: bulk.bloch_eigenvalues(blocks, k))
    sample = k[: args.kwant_sample]
    t_kwant, hk = best_of(1, lambda: bulk.kwant_hamiltonian(fsyst, sample, params))
    t_kwant_eig, _ = best_of(1, lambda: np.linalg.eigvalsh(hk))
    kwant_rate = len(sample) / t_kwant
    kwant_eig_rate = len(sample) / (t_kwant + t_kwant_eig)
    fast_rate = len(k) / t_fast
    fast_eig_rate = len(k) / t_fast_eig
    print("\n## H(k)")
    print(f"fast H(k)                 {fast_rate:12.3e} k/s   ({len(k)} k in {t_fast:.3f} s)")
    print(f"fast H(k) + eigenvalues   {fast_eig_rate:12.3e} k/s")
    print(f"Kwant H(k) per k          {kwant_rate:12.3e} k/s   (sample of {len(sample)})")
    print(f"Kwant H(k) + eigvalsh     {kwant_eig_rate:12.3e} k/s")
    print(f"ratio fast / Kwant        {fast_rate / kwant_rate:12.0f} x   (H only)")
    eig_ratio = fast_eig_rate / kwant_eig_rate
    print(f"ratio fast / Kwant        {eig_ratio:12.0f} x   (with eigenvalues)")
    print(f"target >= 1e6 k/s         {'met' if fast_rate >= 1e6 else 'NOT met'}")

    # --- clean DOS on mesh x mesh ---------------------------------------------
    n = args.mesh
    d0 = mapping.delta0
    window = (-12 * d0, 12 * d0)
    n_bins = 4800
    kwant_extrapolated = n * n / kwant_eig_rate
    t_full, full = best_of(
        1, lambda: dos.triangle_dos(blocks, n, window, n_bins, restrict=False)
    )
    t_restricted, restricted = best_of(
        args.repeat, lambda: dos.triangle_dos(blocks, n, window, n_bins)
    )
    energies = np.linspace(-10, 10, 2001)
    t_clean, clean = best_of(
        args.repeat, lambda: dos.clean_dos(mapping, energies, eta=0.01, mesh=n, fsyst=fsyst)
    )
    same = np.abs(full.dos - restricted.dos).max() / full.dos.max()
    print(f"\n## clean DOS, {n} x {n} mesh ({n * n:.1e} k), window ±12 Δ0, β=7, B=2, Δ=1")
    print(f"whole zone diagonalized     {t_full:8.2f} s   ({full.n_k:.2e} k incl. block edges)")
    print(f"window-restricted (exact)   {t_restricted:8.2f} s   ({restricted.n_k:.2e} k)   "
          f"max rel. difference {same:.1e}")
    print(f"clean_dos SC+normal, Dynes  {t_clean:8.2f} s   (what `mirage lattice dos` runs)")
    print(f"Kwant per-k, extrapolated   {kwant_extrapolated:8.1f} s   (H + eigvalsh only, no DOS)")
    print(f"ratio Kwant / whole zone    {kwant_extrapolated / t_full:8.0f} x")
    print(f"ratio Kwant / restricted    {kwant_extrapolated / t_restricted:8.0f} x")
    print(f"target < 10 s on 2 cores    whole zone {'met' if t_full < 10 else 'NOT met'}, "
          f"restricted {'met' if t_restricted < 10 else 'NOT met'}, "
          f"clean_dos {'met' if t_clean < 10 else 'NOT met'}")
    del clean
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
