"""Self-consistent Δ on supercells: clean-limit agreement, cost per realization, method choice.

Run: ``.venv/bin/python benchmarks/bench_selfconsistent.py MODE``, MODE one of
{clean,cost,chebyshev,chiral,shell,gram}
(``shell [L ...]``, ``shell full [L [TWISTS]]``)
(no argument: ``chiral``, as ``make bench`` runs it)

Test point (derived, larger Δ0/t so that ξ0 is short): β = 5, E_F = 20 Δ0, Δ0 = 0.04 t,
T = 0.1 T_c0, ω_c = (2/3) E_F; ξ0 = 9.4 a, p_F ξ0 = 11.4.

``clean``
    The clean supercell (real-space shell projector, `selfconsistent.solve_uniform`)
    with an N x N twist grid against the clean lattice `GapSolver` (mesh 600), both with
    the clean lattice's U, at B = 0 and B = 2 Δ0.
``cost``
    Seconds per realization of the uniform solve (four twists {0, pi}^2, Anderson
    W = 0.4 t) for several L, beside one dense ``eigvalsh`` of the projected BdG matrix
    (the unit of work) and, as a peer, the KPM DOS of the same supercell with 2000
    moments and 4 vectors (`kpm.kpm_dos`).
``chebyshev``
    The alternative: the anomalous average ``(1/4N) Tr[h_pair tanh(H/2T)]`` by
    Chebyshev expansion with a stochastic trace (no cutoff: the real-space cutoff is a
    projector of ``h_xi``, not a function of the BdG H, so it cannot be expanded in
    H). Reports the relative spread per random vector and the time, beside the exact
    (dense) trace of the same matrix.

``chiral``
    The validate disorder point (β = 3, B = 1, E_F = 20 Δ0, Δ0 = 0.03 t, ω_c = 10 Δ0,
    L = 72, one twist, Anderson W = 1 t): the shell eigenproblem of ``h_xi`` with the
    subset driver against the full one, and one free-energy evaluation by the chiral
    blocks (``eigvalsh`` of D D^T, 2M) against ``eigvalsh`` of the 4M shell matrix.
``shell``
    The shell eigenstates by dense ``eigh`` against sparse spectrum slicing
    (`latticemirage.disorder.shell`), and one realization at the default scale (see
    `shell`).

``gram``
    One free-energy evaluation of the Δ search (the validate point, L = 64, one twist,
    W = 0.7 t): the product D D^T formed per evaluation against the expansion
    G0 + Δ S + Δ² (1 ⊗ q q^T) formed once (`selfconsistent._gram`), twice each.

The machine is shared: compare ratios measured in the same run.
"""

import sys
import time

import numpy as np
import scipy.fft
import scipy.linalg as sla
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from latticemirage import bulk
from latticemirage.disorder import kpm
from latticemirage.disorder import selfconsistent as scs
from latticemirage.disorder import supercell as scm
from latticemirage.disorder.potentials import AndersonDisorder, realization_rng
from latticemirage.gap import GapSolver
from latticemirage.mapping import PhysicalParameters, map_to_lattice

POINT = {"beta": 5.0, "e_fermi": 20.0, "delta0": 0.04}


def clean(size=16, order=15):
    for field in (0.0, 2.0):
        m = map_to_lattice(PhysicalParameters(field=field, **POINT))
        lattice = GapSolver.build(m, mesh=scs.COUPLING_MESH)
        ref = lattice.solve(temperature=0.1).delta
        t0 = time.perf_counter()
        res = scs.solve_uniform(m, size, temperature=0.1, twists=f"grid:{order}",
                                coupling=lattice.coupling)
        dt = time.perf_counter() - t0
        print(f"B = {field}: clean supercell L = {size} x {order}^2 twists (mesh "
              f"{size * order}) Δ = {res.delta:.5f}, lattice (mesh {scs.COUPLING_MESH}) "
              f"Δ = {ref:.5f}, difference {res.delta - ref:+.5f} Δ0; {dt:.1f} s")


def cost(sizes=(16, 24, 32)):
    m = map_to_lattice(PhysicalParameters(field=2.0, **POINT))
    u = scs.clean_coupling(m)
    for size in sizes:
        v = AndersonDisorder(0.4).potential((size, size), realization_rng(0, 0))
        t0 = time.perf_counter()
        shells = scs.shell_hamiltonians(m.lattice_params(0.0), size,
                                        (2 / 3) * POINT["e_fermi"] * POINT["delta0"],
                                        potential=v, twists="pi")
        t_shell = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = scs.solve_uniform(m, size, temperature=0.1, coupling=u, shells=shells)
        t_solve = time.perf_counter() - t0
        h = shells[0].h0 + 0.03 * shells[0].h_pair
        t0 = time.perf_counter()
        sla.eigvalsh(h)
        t_eig = time.perf_counter() - t0
        sc = scm.supercell(m.lattice_params(0.7), size, potential=v)
        t0 = time.perf_counter()
        kpm.kpm_dos(sc.matrix, np.linspace(-0.1, 0.1, 11), 2000, 4, np.random.default_rng(0))
        t_kpm = time.perf_counter() - t0
        print(f"L = {size}: M = {res.shell_states} shell states, 4M = {4 * res.shell_states}; "
              f"shell projection {t_shell:.1f} s, solve {t_solve:.1f} s "
              f"({res.n_evaluations} F evaluations x 4 twists; one eigvalsh {t_eig:.3f} s); "
              f"total {t_shell + t_solve:.1f} s = {(t_shell + t_solve) / t_kpm:.1f} x the KPM "
              f"DOS peer (2000 moments, 4 vectors: {t_kpm:.1f} s); Δ = {res.delta:.4f}")


def chebyshev(size=24, moments=12000, vectors=8):
    m = map_to_lattice(PhysicalParameters(field=2.0, **POINT))
    temp = 0.1 * m.tc0
    v = AndersonDisorder(0.4).potential((size, size), realization_rng(0, 0))
    h = scm.supercell(m.lattice_params(0.7), size, potential=v).matrix
    hp = (scm.supercell({**m.lattice_params(0.0), "delta": 1.0}, size).matrix
          - scm.supercell(m.lattice_params(0.0), size).matrix)  # pairing per unit Δ (t)
    n = h.shape[0]
    t0 = time.perf_counter()
    e, vec = sla.eigh(h.toarray())
    exact = np.sum(np.tanh(e / (2 * temp)) * np.einsum("in,in->n", vec, hp @ vec)) / (4 * n)
    t_exact = time.perf_counter() - t0
    a, b = kpm.rescaling(kpm.gershgorin_bounds(h))
    # Chebyshev coefficients of tanh((a x + b) / 2T) on [-1, 1] by Chebyshev-Gauss
    # quadrature (a DCT-II of the values at the nodes), Jackson-damped.
    nodes = 4 * moments
    x = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    coef = scipy.fft.dct(np.tanh((a * x + b) / (2 * temp)), type=2)[:moments] / nodes
    coef[0] /= 2
    coef *= kpm.jackson_kernel(moments)
    rng = np.random.default_rng(1)
    r = kpm.random_vectors(n, vectors, rng)
    ht = sp.csr_matrix((h - b * sp.identity(n)) / a)
    t0 = time.perf_counter()
    t_prev, t_cur = r, ht @ r
    acc = coef[0] * t_prev + coef[1] * t_cur
    for k in range(2, moments):
        t_prev, t_cur = t_cur, 2 * (ht @ t_cur) - t_prev
        acc += coef[k] * t_cur
    per_vector = np.einsum("ir,ir->r", hp @ r, acc) / (4 * n)
    t_cheb = time.perf_counter() - t0
    spread = per_vector.std(ddof=1) / abs(per_vector.mean())
    print(f"L = {size}, N = {n}: exact (1/4N) Tr[h_pair tanh(H/2T)] = {exact:.6g} "
          f"({t_exact:.1f} s dense eigh); Chebyshev M = {moments}, R = {vectors}: mean "
          f"{per_vector.mean():.6g}, relative spread per vector {spread:.2f} "
          f"({t_cheb:.1f} s); vectors for a 1e-3 relative error: {(spread / 1e-3) ** 2:.3g}")


def chiral(size=72):
    m = map_to_lattice(PhysicalParameters(beta=3.0, field=1.0, e_fermi=20.0, delta0=0.03))
    cutoff_t = 10 * m.delta0
    v = AndersonDisorder(1.0).potential((size, size), realization_rng(1, 0))
    t0 = time.perf_counter()
    (s,) = scs.shell_hamiltonians(m.lattice_params(0.0), size, cutoff_t, potential=v,
                                  twists="none")
    t_shell = time.perf_counter() - t0
    xi_blocks = bulk.fourier_blocks(bulk.wrapped_system(),
                                    {**m.lattice_params(0.0), "lam": 0.0, "B": 0.0})
    h_xi, slots = scm.tile({n: h[:1, :1] for n, h in xi_blocks.items()}, (size, size),
                           (0.0, 0.0), dtype=float)
    scm.add_potential(h_xi, slots, v.reshape(-1), norbs=1)
    t0 = time.perf_counter()
    sla.eigh(h_xi.toarray(), driver="evd")
    t_full = time.perf_counter() - t0
    blocks = scs.chiral_blocks(s)
    d_t, t_t = 0.8 * m.delta0, 0.1 * m.tc0
    t0 = time.perf_counter()
    a = scs._shell_omega(s, blocks, d_t, t_t)
    t_chiral = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = scs._shell_omega(s, None, d_t, t_t)
    t_dense = time.perf_counter() - t0
    print(f"L = {size}, M = {s.shell_states}: shell (subset eigh + projection) {t_shell:.2f} s, "
          f"full eigh of h_xi alone {t_full:.2f} s; one free-energy evaluation: chiral "
          f"{t_chiral:.3f} s vs 4M eigvalsh {t_dense:.3f} s (x{t_dense / t_chiral:.1f}), "
          f"difference {abs(a - b):.2g} t")


def shell(sizes=(48, 72, 96), full_scale=None, twists="diagonal"):
    """Dense ``eigh`` against sparse slicing for the shell, then one realization's Δ(B), Δ(0).

    At the validate disorder point (as ``chiral``) for *sizes*: seconds of the shell
    Hamiltonian (eigenstates + projection) with each eigensolver, the largest difference
    of their eigenvalues and of one free-energy evaluation. With *full_scale* = L: one
    realization at the model's default scale (β = 7, B = 2, E_F = 30 Δ0, Δ0 = 0.005 t,
    ω_c = 20 Δ0, T = 0.1 T_c0, Anderson W = 0.29 t, *twists* (the full-scale stage's
    "diagonal" by default), the converged clean lattice's U), solved by
    `selfconsistent.realization_delta` with the zero-field reference and the bracketed
    search: the per-step seconds and the peak memory.
    """
    import resource

    if full_scale is None:
        m = map_to_lattice(PhysicalParameters(beta=3.0, field=1.0, e_fermi=20.0, delta0=0.03))
        cutoff_t = 10 * m.delta0
        for size in sizes:
            v = AndersonDisorder(1.0).potential((size, size), realization_rng(1, 0))
            out = {}
            for method in ("dense", "sparse"):
                t0 = time.perf_counter()
                (s,) = scs.shell_hamiltonians(m.lattice_params(0.0), size, cutoff_t,
                                              potential=v, twists="none", eigensolver=method)
                out[method] = (s, time.perf_counter() - t0)
            (sd, td), (ss, ts) = out["dense"], out["sparse"]
            d_t, t_t = 0.8 * m.delta0, 0.1 * m.tc0
            fd = scs._shell_omega(sd, scs.chiral_blocks(sd), d_t, t_t)
            fs = scs._shell_omega(ss, scs.chiral_blocks(ss), d_t, t_t)
            print(f"L = {size}, M = {sd.shell_states}: shell dense {td:.1f} s, sparse "
                  f"{ts:.1f} s (x{td / ts:.2f}); eigenvalues differ by "
                  f"{np.max(np.abs(sd.eps - ss.eps)):.1e} t, free energy by "
                  f"{abs(fd - fs) / abs(fd):.1e} relative", flush=True)
        return
    size = int(full_scale)
    m = map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, e_fermi=30.0, delta0=0.005))
    settings = scs.study_settings(m, size, twists, 0.1, cutoff=20.0,
                                  zero_field_reference=True, bracketed=True)
    v = AndersonDisorder(0.29).potential((size, size), realization_rng(1, 0))
    t0 = time.perf_counter()
    delta, meta = scs.realization_delta(settings, size, v)
    total = time.perf_counter() - t0
    searches = meta["delta_seconds"] + meta["delta_zero_field_seconds"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"L = {size} (default scale, W = 0.29 t, twists {twists}): Δ(B) = {delta:.5f}, "
          f"Δ(0) = {meta['delta_zero_field_delta0']:.5f} Δ0, M = {meta['shell_states']}, "
          f"residual {meta['gap_equation_residual']:.1e}; Δ(B) search "
          f"{meta['delta_seconds']:.0f} s, Δ(0) search {meta['delta_zero_field_seconds']:.0f} s, "
          f"shells and projections {total - searches:.0f} s, total {total:.0f} s on one "
          f"thread; peak RSS {peak:.2f} GiB", flush=True)


def gram(size=64):
    m = map_to_lattice(PhysicalParameters(beta=3.0, field=1.0, e_fermi=20.0, delta0=0.03))
    v = AndersonDisorder(0.7).potential((size, size), realization_rng(3, 0))
    (sh,) = scs.shell_hamiltonians(m.lattice_params(0.0), size, 10 * m.delta0, potential=v,
                                   twists="none", compact=True)
    blocks = scs.chiral_blocks(sh)
    t0 = time.perf_counter()
    expansion = scs._gram(blocks)
    once = time.perf_counter() - t0
    d_t, t_t = 0.8 * m.delta0, 0.1 * m.tc0
    for _ in range(2):
        t0 = time.perf_counter()
        a = scs._shell_omega(sh, blocks, d_t, t_t)
        t1 = time.perf_counter()
        b = scs._shell_omega(sh, blocks, d_t, t_t, None, expansion)
        t2 = time.perf_counter()
        print(f"L = {size}, M = {sh.shell_states}: product per evaluation {t1 - t0:.2f} s, "
              f"expansion {t2 - t1:.2f} s (x{(t1 - t0) / (t2 - t1):.2f}; formed once in "
              f"{once:.2f} s); free energies differ by {abs(a - b) / abs(a):.1e} relative",
              flush=True)


if __name__ == "__main__":
    # Dense LAPACK on these sizes runs single-threaded (as the library does).
    with threadpool_limits(limits=1, user_api="blas"):
        # `make bench` passes no argument: the quickest mode.
        mode = sys.argv[1] if len(sys.argv) > 1 else "chiral"
        if mode == "shell":  # shell [L1 L2 ...] | shell full L
            args = sys.argv[2:]
            if args[:1] == ["full"]:  # shell full [L [TWISTS]]
                shell(full_scale=int(args[1]) if len(args) > 1 else 300,
                      twists=args[2] if len(args) > 2 else "diagonal")
            else:
                shell(tuple(int(a) for a in args) or (48, 72, 96))
        else:
            {"clean": clean, "cost": cost, "chebyshev": chebyshev, "chiral": chiral,
             "gram": gram}[mode]()
