"""KPM speed: latticemirage.disorder.kpm against kwant.kpm, pybinding and the bandwidth bound.

Run ``.venv/bin/python benchmarks/bench_kpm.py`` (about 3 minutes before the scipy step
and the generic build were added, which by their measured ratios add a few minutes at the
defaults; ``--quick`` for fewer kwant vectors). Everything is measured in the same run on the same
300 x 300 supercell BdG matrix (the default physical parameters mapped onto the
lattice, 3.6e5 orbitals), 2000 moments:

* ours: the numba KPM in the real basis (14 stored entries per row), a block of
  R random vectors, and a single vector;
* kwant.kpm.SpectralDensity on the *same* real matrix with the *same* R vectors
  and the same bounds (identical moments), and on the complex Builder matrix
  (9 entries per row) with one vector (its usual use);
* pybinding's C++ KPM (``pybinding-dev``, optional extra ``bench``) on the same
  lattice (open 300 x 300 flake, complex 4x4 blocks, which pybinding stores
  densely in single precision: ~21 entries per row), one vector, 2000 moments;
* the same driver with the scipy.sparse reference step (``backend="scipy"``, the
  fallback where numba is unavailable) on the same matrix and R vectors;
* the numba kernel compiled for a generic x86-64 CPU (``NUMBA_CPU_NAME=generic``:
  SSE2, FMA as a library call) in a subprocess, same matrix and vectors, and
  whether its moments are bitwise those of the host build;
* the bandwidth bound: bytes the matrix (values, indices, row pointers) and the
  three vector blocks (read T_n, read and write T_{n-1}) move per product, over
  a copy bandwidth measured now (read + write bytes per second, best of numpy
  and a 2-thread numba copy); two moments per product.

``--size`` and ``--moments`` shrink the run (e.g. ``--size 60 --moments 400 --big 0
--quick`` on a shared machine). Then a 1000 x 1000 supercell (4e6 orbitals) with point
disorder is built and run
(a few dozen moments, R = 8) in a subprocess whose peak resident memory
(``ru_maxrss``) is reported, with its fraction of the bandwidth bound: at 300 x 300
the 131 MB moved per product is only 4 x the 32 MiB L3 this machine reported on
2026-11-25 (480 MiB, as the VM reports it, on 2026-12-07), part of it
is served from cache and the fraction can exceed 100 %; at 1000 x 1000 (1.4 GB per
product) it is the DRAM figure.

The machine is noisy: times are the best of several repetitions where cheap, and
ratios are quoted against the peer measured in the same run.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

warnings.filterwarnings("ignore", message="MUMPS is not available")

SIZE = 300
MOMENTS = 2000


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def copy_bandwidth():
    """Read + write bytes per second of a 256 MiB copy (best of numpy and numba, 2 threads)."""
    import numba

    @numba.njit(parallel=True)
    def pcopy(a, b):
        for i in numba.prange(a.size):
            b[i] = a[i]

    a = np.random.default_rng(0).random(2**25)
    b = np.empty_like(a)
    pcopy(a, b)
    t_np, _ = best_of(lambda: np.copyto(b, a), 7)
    t_nb, _ = best_of(lambda: pcopy(a, b), 7)
    return 2 * a.nbytes / min(t_np, t_nb), 2 * a.nbytes / t_np, 2 * a.nbytes / t_nb


def default_params():
    from latticemirage.mapping import PhysicalParameters, map_to_lattice

    return map_to_lattice(PhysicalParameters(delta=1.0)).params


def pybinding_time(blocks, bounds, moments, rng):
    """Seconds per moment of pybinding's KPM (one complex vector), or the reason it failed."""
    try:
        import pybinding as pb
    except Exception as exc:  # report whatever keeps it from importing
        return None, f"pybinding not importable: {exc!r}"
    try:
        lat = pb.Lattice(a1=[1.0, 0.0], a2=[0.5, np.sqrt(3) / 2])
        lat.add_one_sublattice("A", [0.0, 0.0], blocks[(0, 0)])
        lat.add_hoppings(*[(list(n), "A", "A", blocks[n]) for n in ((1, 0), (-1, 1), (0, -1))])
        model = pb.Model(lat, pb.primitive(SIZE, SIZE))
        n = model.hamiltonian.shape[0]
        kpm = pb.kpm(model, energy_range=bounds, kernel=pb.jackson_kernel(), silent=True,
                     num_threads=2)
        alpha = np.exp(2j * np.pi * rng.random(n))
        kpm.moments(20, alpha)  # warm-up
        t, med = best_of(lambda: kpm.moments(moments, alpha), 2)
        return (t / moments, med / moments, n, model.hamiltonian.nnz), None
    except Exception as exc:  # report the failure instead of a number
        return None, f"pybinding failed: {exc!r}"


def generic_child(size, moments, nvec):
    """Time the numba kernel in this process (started with NUMBA_CPU_NAME=generic)."""
    from numba.core.registry import cpu_target

    from latticemirage.disorder import kpm
    from latticemirage.disorder import supercell as scm

    _, cpu, features = cpu_target.target_context.codegen().magic_tuple()
    h = scm.supercell(default_params(), size).matrix
    a, b = kpm.rescaling(kpm.gershgorin_bounds(h))
    v = kpm.random_vectors(h.shape[0], nvec, np.random.default_rng(0))
    kpm.chebyshev_moments(h, v, 40, a, b, backend="numba")  # compile
    t, med = best_of(lambda: kpm.chebyshev_moments(h, v, moments, a, b, backend="numba"), 3)
    mom = kpm.chebyshev_moments(h, v, moments, a, b, backend="numba")
    print(json.dumps({"cpu": cpu, "fma": "+fma" in features, "best_s": t, "median_s": med,
                      "moments_hex": mom.tobytes().hex()}))


def big_run(size, moments):
    """Build a size x size disordered supercell and run KPM; print JSON with the peak RSS."""
    from latticemirage import disorder
    from latticemirage.disorder import kpm
    from latticemirage.disorder import supercell as scm

    params = default_params()
    t0 = time.perf_counter()
    kind = disorder.PointImpurities(0.01, 1.0)
    pot = kind.potential((size, size), disorder.realization_rng(0, 0))
    sc = scm.supercell(params, size, potential=pot)
    t_build = time.perf_counter() - t0
    h = sc.matrix
    t0 = time.perf_counter()
    res = kpm.kpm_dos(h, np.linspace(-0.05, 0.05, 11), moments, 8, np.random.default_rng(1),
                      block_size=8)
    t_kpm = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    # Bandwidth fraction where the working set (1.4 GB per product) dwarfs the L3 (32 MiB
    # on 2026-11-25; the VM reported 480 MiB on 2026-12-07), so nearly every byte comes
    # from DRAM (at 300 x 300 part of the 131 MB does not: the fraction can exceed 100 %).
    a, b = kpm.rescaling(kpm.gershgorin_bounds(h))
    vecs = kpm.random_vectors(h.shape[0], 8, np.random.default_rng(2))
    bw, _, _ = copy_bandwidth()
    t_step, _ = best_of(lambda: kpm.chebyshev_moments(h, vecs, 41, a, b), 2)
    t_step /= 21  # 41 moments = 21 products
    moved = h.data.nbytes + h.indices.nbytes + h.indptr.nbytes + 3 * vecs.nbytes
    print(json.dumps({
        "orbitals": h.shape[0], "nnz": int(h.nnz), "matrix_bytes": int(h.data.nbytes
        + h.indices.nbytes + h.indptr.nbytes), "build_s": t_build, "kpm_s": t_kpm,
        "moments": moments, "vectors": 8, "peak_rss_bytes": peak,
        "density_finite": bool(np.all(np.isfinite(res.density))),
        "product_s": t_step, "moved_bytes": moved, "copy_bandwidth": bw,
    }))


def main():
    global SIZE, MOMENTS  # --size/--moments replace the defaults for the whole run
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=8, help="R for ours and kwant (default 8)")
    parser.add_argument("--quick", action="store_true", help="kwant with 2 vectors only")
    parser.add_argument("--big", type=int, default=1000, help="size of the memory run (0: skip)")
    parser.add_argument("--big-moments", type=int, default=40)
    parser.add_argument("--size", type=int, default=SIZE,
                        help=f"L of the L x L benchmark supercell (default {SIZE})")
    parser.add_argument("--moments", type=int, default=MOMENTS,
                        help=f"Chebyshev moments of the timed runs (default {MOMENTS})")
    parser.add_argument("--_big-child", dest="big_child", action="store_true",
                        help=argparse.SUPPRESS)
    parser.add_argument("--_generic-child", dest="generic_child", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    SIZE, MOMENTS = args.size, args.moments
    if args.generic_child:
        with threadpool_limits(1, "blas"):
            generic_child(SIZE, MOMENTS, args.vectors)
        return
    if args.big_child:
        with threadpool_limits(1, "blas"):
            big_run(args.big, args.big_moments)
        return

    import kwant
    import numba
    import scipy

    from latticemirage import bulk
    from latticemirage.disorder import kpm
    from latticemirage.disorder import supercell as scm

    print(f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}, "
          f"kwant {kwant.__version__}, numba threads {numba.get_num_threads()}")
    blas = threadpool_limits(1, "blas")  # idle OpenBLAS threads would only spin
    params = default_params()
    blocks = bulk.fourier_blocks(bulk.wrapped_system(), params)
    sc = scm.supercell(params, SIZE, blocks=blocks)
    h = sc.matrix
    hc = scm.supercell(params, SIZE, blocks=blocks, real=False).matrix
    n = h.shape[0]
    bounds = kpm.gershgorin_bounds(h)
    a, b = kpm.rescaling(bounds)
    print(f"supercell {SIZE}x{SIZE}: {n} orbitals; real basis nnz {h.nnz} "
          f"({h.nnz / n:.0f}/row), complex nnz {hc.nnz} ({hc.nnz / n:.0f}/row)")

    bw, bw_np, bw_nb = copy_bandwidth()
    print(f"copy bandwidth (read+write): numpy {bw_np / 1e9:.1f} GB/s, numba 2 threads "
          f"{bw_nb / 1e9:.1f} GB/s -> using {bw / 1e9:.1f} GB/s")

    rng = np.random.default_rng(0)
    r = args.vectors
    vecs = kpm.random_vectors(n, r, rng)
    matrix_bytes = h.data.nbytes + h.indices.nbytes + h.indptr.nbytes

    ours = {}
    for nv in sorted({1, r}):
        v = vecs[:, :nv]
        kpm.chebyshev_moments(h, v, 40, a, b)  # compile, touch memory
        t, med = best_of(lambda v=v: kpm.chebyshev_moments(h, v, MOMENTS, a, b), 3)
        products = (MOMENTS - 1) // 2 + 1
        moved = matrix_bytes + 3 * v.nbytes
        bound = moved / bw
        ours[nv] = t
        print(f"ours R={nv}: {t / MOMENTS / nv * 1e3:.3f} ms per moment per vector "
              f"(median {med / MOMENTS / nv * 1e3:.3f}); {t / products * 1e3:.2f} ms per "
              f"product moving {moved / 1e6:.0f} MB -> {moved / (t / products) / 1e9:.1f} GB/s "
              f"= {bound / (t / products):.0%} of the bandwidth bound")

    # The scipy.sparse reference step through the same driver, same matrix and vectors.
    mom_numba = kpm.chebyshev_moments(h, vecs, MOMENTS, a, b, backend="numba")
    mom_scipy = kpm.chebyshev_moments(h, vecs, MOMENTS, a, b, backend="scipy")
    t_sp, med_sp = best_of(lambda: kpm.chebyshev_moments(h, vecs, MOMENTS, a, b,
                                                         backend="scipy"), 2)
    print(f"scipy.sparse step R={r}: {t_sp / MOMENTS / r * 1e3:.3f} ms per moment per vector "
          f"(median {med_sp / MOMENTS / r * 1e3:.3f}); numba kernel is {t_sp / ours[r]:.1f}x "
          f"faster; max |normalized moment difference| "
          f"{np.abs(mom_numba - mom_scipy).max() / n:.1e}")

    # The numba kernel compiled for a generic x86-64 (no AVX, no FMA unit).
    import os

    out = subprocess.run(
        [sys.executable, __file__, "--_generic-child", "--size", str(SIZE), "--moments",
         str(MOMENTS), "--vectors", str(r)], capture_output=True, text=True, check=False,
        env={**os.environ, "NUMBA_CPU_NAME": "generic"},
    )
    if out.returncode != 0:
        print(f"generic CPU target: FAILED\n{out.stderr[-2000:]}")
    else:
        rec = json.loads(out.stdout.strip().splitlines()[-1])
        same = bytes.fromhex(rec["moments_hex"]) == mom_numba.tobytes()
        print(f"numba kernel for cpu={rec['cpu']!r} (fma unit: {rec['fma']}), R={r}: "
              f"{rec['best_s'] / MOMENTS / r * 1e3:.3f} ms per moment per vector, "
              f"{rec['best_s'] / ours[r]:.2f}x the host build's time; moments bitwise equal "
              f"to the host build: {same}")

    # kwant on the same real matrix and vectors (identical moments).
    kv = 2 if args.quick else r
    t0 = time.perf_counter()
    sd = kwant.kpm.SpectralDensity(h, num_moments=MOMENTS, num_vectors=kv, bounds=bounds,
                                   vector_factory=[vecs[:, i] for i in range(kv)])
    t_kwant = time.perf_counter() - t0
    per_kwant = t_kwant / MOMENTS / kv
    mine = kpm.chebyshev_moments(h, vecs[:, :kv], MOMENTS, a, b) / n
    theirs = np.array(sd._moments_list).real / n
    agree = np.abs(mine - theirs).max()
    print(f"kwant.kpm same real matrix, R={kv}: {per_kwant * 1e3:.3f} ms per moment per "
          f"vector; max |moment difference| {agree:.1e}")
    per_ours = ours[r] / MOMENTS / r
    print(f"  speed-up ours(R={r}) / kwant: {per_kwant / per_ours:.1f}x")

    t0 = time.perf_counter()
    kwant.kpm.SpectralDensity(hc, num_moments=MOMENTS, num_vectors=1, bounds=bounds,
                              rng=np.random.RandomState(0))
    per_kwant_c = (time.perf_counter() - t0) / MOMENTS
    print(f"kwant.kpm complex Builder matrix, 1 vector: {per_kwant_c * 1e3:.3f} ms per moment"
          f"; ours(R=1)/kwant speed-up {per_kwant_c / (ours[1] / MOMENTS):.1f}x")
    x = np.exp(2j * np.pi * rng.random(n))
    t, _ = best_of(lambda: hc @ x, 10)
    print(f"scipy complex CSR product (1 vector): {t * 1e3:.2f} ms")

    pb_res, why = pybinding_time(blocks, bounds, MOMENTS, rng)
    if pb_res is None:
        print(f"pybinding: NOT MEASURED - {why}")
    else:
        t, med, npb, nnz_pb = pb_res
        print(f"pybinding-dev KPM (C++, complex, open {SIZE}x{SIZE}, {npb} orbitals, nnz "
              f"{nnz_pb}), 1 vector: {t * 1e3:.3f} ms per moment (median {med * 1e3:.3f}); "
              f"ours(R=1) is {t / (ours[1] / MOMENTS):.1f}x faster, ours(R={r}) per vector "
              f"{t / per_ours:.1f}x")
    blas.restore_original_limits()

    if args.big:
        out = subprocess.run(
            [sys.executable, __file__, "--_big-child", "--big", str(args.big),
             "--big-moments", str(args.big_moments)],
            capture_output=True, text=True, check=False,
        )
        if out.returncode != 0:
            print(f"{args.big}x{args.big}: FAILED\n{out.stderr[-2000:]}")
        else:
            rec = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{args.big}x{args.big} point-disordered supercell: {rec['orbitals']} "
                  f"orbitals, nnz {rec['nnz']}, matrix {rec['matrix_bytes'] / 2**30:.2f} GiB; "
                  f"build {rec['build_s']:.1f} s, KPM {rec['moments']} moments x 8 vectors "
                  f"{rec['kpm_s']:.1f} s; peak RSS {rec['peak_rss_bytes'] / 2**30:.2f} GiB "
                  f"(limit 8 GiB)")
            frac = rec["moved_bytes"] / rec["copy_bandwidth"] / rec["product_s"]
            print(f"  same supercell, R=8: {rec['product_s'] * 1e3:.1f} ms per product moving "
                  f"{rec['moved_bytes'] / 1e9:.2f} GB -> "
                  f"{rec['moved_bytes'] / rec['product_s'] / 1e9:.1f} GB/s, copy "
                  f"{rec['copy_bandwidth'] / 1e9:.1f} GB/s: {frac:.0%} of the bandwidth bound "
                  f"(working set >> L3)")


if __name__ == "__main__":
    main()
