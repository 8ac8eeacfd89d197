"""KPM step: matrix-free stencil vs CSR kernel vs kwant.kpm, against the vector-traffic bound.

Run ``.venv/bin/python benchmarks/bench_kpm_stencil.py`` (defaults: 300 x 300 and
1000 x 1000 point-disordered supercells in the real basis, one numba thread; about
2-4 minutes on the 2-core machine when idle, several times that under load).
Measured in one run on the same matrix and the same start vectors:

* stencil: `latticemirage.disorder.stencil` (reads the three vector blocks and one
  potential value per site), R = 8, 16, 32 vectors;
* CSR: the numba CSR kernel of `latticemirage.disorder.kpm` (also reads the
  matrix: 14 values and indices per row), same R;
* kwant.kpm.SpectralDensity on the same real matrix with the same vectors and
  bounds (``--kwant-vectors`` of them, ``--kwant-moments`` moments);
* the vector-traffic bound: bytes of vectors moved per product (read T_n, read
  and write T_{n-1}: ``3 N R 8``, plus the potential ``8 N / 4``) over the copy
  bandwidth measured now (read + write bytes per second of a 256 MiB copy, the
  measurement of ``bench_kpm.copy_bandwidth``; the one-thread numpy copy is the
  peer of the one-thread kernels). The CSR kernel's own bound adds its matrix.
  Because the copy is measured once and the load of the shared machine changes
  from second to second, the same bytes are also moved by a streaming peer timed
  interleaved with the kernels: ``T_{n-1} += T_n`` (NumPy, one thread, reads two
  blocks and writes one: exactly the vector traffic of a product).

Times are per product (one step ``T_{n+1} = 2 Ht T_n - T_{n-1}`` with the two dot
products, i.e. two moments), best of ``--reps``; "per vector-moment" divides by 2R.
Both wall-clock and process CPU time are given: on the shared machine the wall
time includes time the process waited for a core, the CPU time does not (but both
include the memory bandwidth taken by the other jobs). The moments of stencil and
CSR are compared (relative max difference) in the same run. Load averages are
printed at the start and the end.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore", message="MUMPS is not available")

from bench_kpm import copy_bandwidth, default_params  # noqa: E402


def best(fns, repeat):
    """Best wall and best process-CPU seconds of each function, calls interleaved.

    Round-robin over *fns* for *repeat* rounds, so that all see the same load.
    Returns a list of ``(wall, cpu)``.
    """
    walls = [[] for _ in fns]
    cpus = [[] for _ in fns]
    for _ in range(repeat):
        for j, fn in enumerate(fns):
            c, w = time.process_time(), time.perf_counter()
            fn()
            walls[j].append(time.perf_counter() - w)
            cpus[j].append(time.process_time() - c)
    return [(min(w), min(c)) for w, c in zip(walls, cpus, strict=True)]


def load():
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_size(size, vector_counts, reps, kwant_vectors, kwant_moments, bw):
    import kwant

    from latticemirage import disorder
    from latticemirage.disorder import _kpm_numba, kpm, stencil
    from latticemirage.disorder import supercell as scm

    t0 = time.perf_counter()
    pot = disorder.PointImpurities(0.01, 1.0).potential(
        (size, size), disorder.realization_rng(0, 0)
    )
    cell = scm.supercell(default_params(), size, potential=pot)
    op = stencil.from_supercell(cell)
    h = cell.matrix
    n = h.shape[0]
    matrix_bytes = h.data.nbytes + h.indices.nbytes + h.indptr.nbytes
    print(
        f"\n{size} x {size}: {n} orbitals, real basis {cell.real}, nnz {h.nnz} "
        f"({h.nnz / n:.0f}/row), matrix {matrix_bytes / 1e6:.0f} MB; "
        f"built in {time.perf_counter() - t0:.1f} s"
    )
    a, b = kpm.rescaling(kpm.gershgorin_bounds(h))
    c, s = 2.0 / a, 2.0 * b / a
    rng = np.random.default_rng(0)
    vecs = kpm.random_vectors(n, max(vector_counts), rng)
    nchunks = max(1, -(-n // kpm._CHUNK_ROWS))
    stencil_step = op.step_hook()
    stencil_step(c, s, vecs[:, :8].copy(), np.zeros((n, 8)))  # compile outside the timing
    rows = {}
    for r in vector_counts:
        t_cur = np.ascontiguousarray(vecs[:, :r])
        t_prev = np.zeros_like(t_cur)
        vec_bytes = stencil.operator_bytes(op.nsites, op.norbs, r)
        bound = vec_bytes / bw
        # The peer that moves exactly the vector traffic: T_{n-1} += T_n (read two
        # blocks, write one), NumPy, one thread.
        (t_st, c_st), (t_csr, c_csr), (t_ax, c_ax) = best(
            [
                lambda t_cur=t_cur, t_prev=t_prev: stencil_step(c, s, t_cur, t_prev),
                lambda t_cur=t_cur, t_prev=t_prev: _kpm_numba.step(
                    h.indptr, h.indices, h.data, c, s, t_cur, t_prev, nchunks
                ),
                lambda t_cur=t_cur, t_prev=t_prev: np.add(t_prev, t_cur, out=t_prev),
            ],
            reps,
        )
        rows[r] = (t_st, t_csr, t_ax)
        per = 1e3 / (2 * r)
        print(
            f"  R={r:2d}: stencil {t_st * 1e3:7.2f} ms/product ({t_st * per:.4f} ms/vector-moment, "
            f"CPU {c_st * per:.4f}) = {t_st / bound:.2f}x the vector-traffic bound "
            f"{bound * per:.4f} ms ({vec_bytes / t_st / 1e9:.1f} GB/s); "
            f"{t_st / t_ax:.2f}x (CPU {c_st / c_ax:.2f}x) the same-bytes stream T_(n-1) += T_n "
            f"({t_ax * 1e3:.2f} ms, CPU {c_ax * 1e3:.2f} ms)"
        )
        csr_bound = (vec_bytes - 8 * op.nsites + matrix_bytes) / bw
        print(
            f"        CSR     {t_csr * 1e3:7.2f} ms/product ({t_csr * per:.4f} ms/vector-moment, "
            f"CPU {c_csr * per:.4f}) = {t_csr / bound:.2f}x the vector-traffic bound, "
            f"{t_csr / csr_bound:.2f}x its own (matrix + vectors) bound; "
            f"stencil {t_csr / t_st:.2f}x faster"
        )
    # Same moments (through the driver, R = 8, 60 moments).
    v8 = vecs[:, :8]
    m_st = kpm.chebyshev_moments(op, v8, 60, a, b, backend="stencil")
    m_csr = kpm.chebyshev_moments(h, v8, 60, a, b, backend="numba")
    print(
        f"  moments stencil vs CSR (R=8, 60 moments): max relative difference "
        f"{np.abs(m_st - m_csr).max() / np.abs(m_csr).max():.1e}"
    )
    if kwant_vectors:
        kv = kwant_vectors
        t0, c0 = time.perf_counter(), time.process_time()
        sd = kwant.kpm.SpectralDensity(
            h,
            num_moments=kwant_moments,
            num_vectors=kv,
            bounds=kpm.gershgorin_bounds(h),
            vector_factory=[vecs[:, i] for i in range(kv)],
        )
        t_kw = (time.perf_counter() - t0) / kwant_moments / kv
        c_kw = (time.process_time() - c0) / kwant_moments / kv
        mine = kpm.chebyshev_moments(op, vecs[:, :kv], kwant_moments, a, b, backend="stencil")
        agree = np.abs(mine - np.array(sd._moments_list).real).max() / np.abs(mine).max()
        st8 = rows[8][0] / 16
        print(
            f"  kwant.kpm (same real matrix, {kv} vector(s), {kwant_moments} moments): "
            f"{t_kw * 1e3:.4f} ms per vector-moment (CPU {c_kw * 1e3:.4f}); stencil R=8 is "
            f"{t_kw / st8:.1f}x faster; max relative moment difference {agree:.1e}"
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--vectors", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--kwant-vectors", type=int, default=1)
    parser.add_argument("--kwant-moments", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="numba threads (default 1)")
    args = parser.parse_args()

    import kwant
    import numba
    import scipy

    numba.set_num_threads(args.threads)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; numpy {np.__version__}, scipy "
        f"{scipy.__version__}, numba {numba.__version__}, kwant {kwant.__version__}; "
        f"numba threads {numba.get_num_threads()}; {load()}"
    )
    with threadpool_limits(1, "blas"):
        bw, bw_np, bw_nb = copy_bandwidth()
        print(
            f"copy bandwidth (read+write, 256 MiB): numpy 1 thread {bw_np / 1e9:.1f} GB/s, "
            f"numba 2 threads {bw_nb / 1e9:.1f} GB/s; bound uses "
            f"{'the one-thread copy' if args.threads == 1 else 'the best copy'}"
        )
        use = bw_np if args.threads == 1 else bw
        for size in args.sizes:
            run_size(size, args.vectors, args.reps, args.kwant_vectors, args.kwant_moments, use)
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
