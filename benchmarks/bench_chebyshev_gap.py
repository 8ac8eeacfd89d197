"""Chebyshev gap solver (`latticemirage.disorder.chebyshev_gap`) against the dense shell solver.

Run: ``.venv/bin/python benchmarks/bench_chebyshev_gap.py [L ...]`` (default 48 72 96)

The validate disorder point (β = 3, B = 1, E_F = 20 Δ0, Δ0 = 0.03 t, ω_c = 10 Δ0, T = 0.1 T_c0,
Anderson W = 1 t, one twist) for each L:

- ``dense``: seconds of `selfconsistent.solve_uniform` (the global scan) for one realization;
- ``step``: seconds of one Chebyshev step of the supercell BdG matrix for a block of 8 vectors
  (numba, one thread), i.e. the unit cost of the Chebyshev solver;
- ``chebyshev (projected)``: step time x (M needed at Δ_low = 0.5 Δ0 + M_P) x 10 evaluations
  x R / 8 for R = 8 vectors -- a projection from the measured unit cost, not a full solve (a
  full solve at 72² takes hours on the shared machine; see docs/topics/chebyshev-gap.md).

And at the full scale (Δ0 = 0.005 t, E_F = 30 Δ0, L = 300; ``--full-scale``): the step time, the
moments needed, the peak RSS of building one twist, `memory_estimate` at 300² and 1000².

The machine is shared: compare ratios measured in the same run.
"""

import resource
import sys
import time

import numpy as np

from comparisons.parameters import ValidationSetup
from latticemirage.disorder import chebyshev_gap as cg
from latticemirage.disorder import kpm
from latticemirage.disorder import selfconsistent as scs
from latticemirage.mapping import map_to_lattice

EVALUATIONS = 10  # root search: 2 ends + ~8 Brent steps (measured 8-9 at 8²)
VECTORS = 8


def _step_seconds(twist, a, repeats=10):
    kpm.set_num_threads(1)
    step = kpm.chebyshev_step("numba", "f")
    h = twist.h0
    x = np.array(twist.vectors, order="C")
    y = np.zeros_like(x)
    nchunks = -(-h.shape[0] // 2048)
    step(h.indptr, h.indices, h.data, 1.0 / a, 0.0, x, y, nchunks)  # compile / warm up
    start = time.perf_counter()
    for _ in range(repeats):
        step(h.indptr, h.indices, h.data, 2.0 / a, 0.0, x, y, nchunks)
        x, y = y, x
        np.einsum("ij,ij->j", twist.vectors, x)
    return (time.perf_counter() - start) / repeats


def _point(full_scale):
    setup = ValidationSetup()
    setup = setup.full_scale() if full_scale else setup
    return setup, map_to_lattice(setup.disorder_physical())


def compare(sizes):
    setup, m = _point(False)
    u = scs.clean_coupling(m, cutoff=setup.disorder_cutoff)
    cutoff_t = setup.disorder_cutoff * m.delta0
    print(
        f"{'L':>4} {'dense s':>9} {'step ms':>8} {'M':>6} {'M_P':>6} {'cheb s (proj.)':>15} "
        f"{'ratio':>7}"
    )
    for size in sizes:
        rng = np.random.default_rng(size)
        pot = rng.uniform(-0.5, 0.5, (size, size))
        start = time.perf_counter()
        res = scs.solve_uniform(
            m,
            size,
            temperature=0.1,
            coupling=u,
            potential=pot,
            twists="none",
            cutoff=setup.disorder_cutoff,
        )
        dense = time.perf_counter() - start
        tw = cg._Twist(m.lattice_params(0.0), size, (0.0, 0.0), pot, VECTORS, [0], "numba")
        a, _ = kpm.rescaling(tw.bounds(2 * m.delta0))
        a_xi, _ = kpm.rescaling(kpm.gershgorin_bounds(tw.hxi))
        moments = cg.moments_needed(a, 0.5 * m.delta0)
        shell = int(np.ceil(np.pi * a_xi * cg.SHELL_RATIO / cutoff_t))
        step = _step_seconds(tw, a)
        cheb = step * (moments * EVALUATIONS + shell) * VECTORS / 8
        print(
            f"{size:>4} {dense:>9.1f} {step * 1e3:>8.2f} {moments:>6} {shell:>6} "
            f"{cheb:>15.0f} {cheb / dense:>7.1f}   (dense Δ = {res.delta:.4f})",
            flush=True,
        )


def full_scale():
    setup, m = _point(True)
    size = setup.resolution.supercell
    rng = np.random.default_rng(0)
    pot = rng.uniform(-0.5, 0.5, (size, size)) * setup.resolution.anderson_widths[-1]
    start = time.perf_counter()
    tw = cg._Twist(m.lattice_params(0.0), size, (0.0, 0.0), pot, VECTORS, [0], "numba")
    build = time.perf_counter() - start
    a, _ = kpm.rescaling(tw.bounds(2 * m.delta0))
    moments = cg.moments_needed(a, 0.5 * m.delta0)
    step = _step_seconds(tw, a)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_solve = step * moments * EVALUATIONS
    print(
        f"L = {size}: build {build:.1f} s, nnz {tw.h0.nnz}, step (8 vectors) "
        f"{step * 1e3:.1f} ms, moments needed {moments}"
    )
    print(
        f"projected: one Δ solve with 8 vectors and one twist {per_solve / 60:.0f} min; "
        f"Δ(B) and Δ(0): {2 * per_solve / 60:.0f} min"
    )
    print(
        f"peak RSS {rss:.0f} MiB; memory_estimate (R = 8, one twist): "
        f"300² {cg.memory_estimate(4 * size**2, tw.h0.nnz, 8) / 2**30:.2f} GiB, "
        f"1000² {cg.memory_estimate(4 * 10**6, tw.h0.nnz * 10**6 // size**2, 8) / 2**30:.2f}"
        f" GiB"
    )


if __name__ == "__main__":
    if "--full-scale" in sys.argv[1:]:
        full_scale()
    else:
        compare([int(x) for x in sys.argv[1:]] or [48, 72, 96])
