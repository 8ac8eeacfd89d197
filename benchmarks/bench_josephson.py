"""Benchmark of the lattice current-phase relation: shared lead Green's functions vs naive.

Run: ``.venv/bin/python benchmarks/bench_josephson.py [--phases 64] [--n-k 1]``

The junction of `latticemirage.josephson` at β = 7, B_L = B_R = 2 Δ0 (perpendicular),
T = 0.1 T_c0, default scale (Δ0 = 0.005 t, E_F = 30 Δ0). Both approaches use the same
Matsubara nodes (explicit terms below 20 Δ0, 64-node log quadrature up to 1e4 t), whose
convergence is measured first against a twice finer set (cut-off 40 Δ0, 128 nodes,
1e5 t): the issue's 1e-4 relative.

* **fast** (`latticemirage.josephson.current_phase`): the lead self-energies by
  decimation once per (frequency, k_x), batched over frequencies; each phase is a gauge
  rotation of the right lead's self-energy and one batched 12x12 solve.
* **naive**: per phase and per frequency a fresh ``kwant`` lead self-energy of each lead
  (``InfiniteSystem.selfenergy`` at the complex energy iω, Kwant's mode solver), the
  phase then applied as the complex gap of the right lead (the same rotation), and one
  dense solve. Its result must equal the fast one (checked on the phases it runs). It
  shares nothing between phases, so it is timed on ``--naive-phases`` of the phases
  (default 4: ~25 s on the shared machine) and its time scaled linearly to all of them;
  ``--naive-phases 64`` times it in full (minutes).

The machine is shared and noisy: compare the ratio measured in the same run.
"""

import argparse
import os
import platform
import time

import numpy as np

from latticemirage import josephson as lj
from latticemirage.mapping import PhysicalParameters, map_to_lattice


def naive_dfdphi(fsyst, kparams, mats, omegas, weights, phases):
    """∂F/∂φ at one k_x with fresh Kwant lead self-energies per (phase, frequency)."""
    n = mats.h.shape[0]
    tz = mats.tau_z
    out = np.zeros(len(phases))
    for p, phase in enumerate(phases):
        u = np.exp(0.5j * phase * tz)
        total = 0.0
        for w, om in zip(weights, omegas, strict=True):
            sig = []
            for lead, (_, _, idx) in zip(fsyst.leads, mats.leads, strict=True):
                s = np.zeros((n, n), complex)
                s[np.ix_(idx, idx)] = lead.selfenergy(1j * om, params=kparams)
                sig.append(s)
            sr = u[:, None] * sig[1] * u.conj()[None, :]
            g = np.linalg.inv(1j * om * np.eye(n) - mats.h - sig[0] - sr)
            dsr = 0.5j * (tz[:, None] - tz[None, :]) * sr
            total += w * np.trace(g @ dsr).real
        out[p] = total
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=64)
    parser.add_argument("--n-k", type=int, default=1, help="transverse momenta (default 1)")
    parser.add_argument("--naive-phases", type=int, default=4,
                        help="phases the naive approach is timed on (default 4)")
    args = parser.parse_args(argv)
    import kwant

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# bench_josephson  {time.strftime('%Y-%m-%d %H:%M')}  python "
          f"{platform.python_version()}  kwant {kwant.__version__}  cores {cores}  "
          f"load {os.getloadavg()[0]:.2f}")
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=0.0, delta=1.0))
    params = lj.SNSParams(field_left=2.0, field_right=2.0, angle_right=np.pi / 2,
                          temperature=0.1)
    phases = np.linspace(-np.pi, np.pi, args.phases + 1)[:-1] + np.pi / args.phases
    ks = np.linspace(-1.0, 1.0, args.n_k) if args.n_k > 1 else np.array([0.0])

    fine = lj.current_phase(mapping, params, phases[:8], ks, cutoff=40.0, omega_max=1e5,
                            tail_nodes=128)
    coarse = lj.current_phase(mapping, params, phases[:8], ks)
    conv = np.max(np.abs(coarse.current - fine.current)) / np.max(np.abs(fine.current))
    print(f"Matsubara convergence (default nodes vs twice finer): {conv:.2e} relative")

    t0 = time.perf_counter()
    fast = lj.current_phase(mapping, params, phases, ks)
    t_fast = time.perf_counter() - t0

    d0 = mapping.physical.delta0
    omegas, weights = lj.matsubara_nodes(params.temperature * mapping.tc0, 20.0 * d0, 1e4, 64)
    fsyst = lj.sns_junction(params.length)
    kp = lj.kwant_params(mapping, params)
    sub = np.linspace(0, len(phases) - 1, min(args.naive_phases, len(phases))).astype(int)
    t0 = time.perf_counter()
    naive = np.zeros(len(sub))
    for k in ks:
        mats = lj.junction_matrices(fsyst, kp, k)
        naive += naive_dfdphi(fsyst, {**kp, "k_x": float(k)}, mats, omegas, weights,
                              phases[sub])
    naive /= len(ks)
    t_sub = time.perf_counter() - t0
    t_naive = t_sub * len(phases) / len(sub)
    diff = np.max(np.abs(naive - fast.dfdphi[sub])) / np.max(np.abs(fast.dfdphi))
    print(f"{len(phases)} phases x {len(omegas)} Matsubara nodes x {len(ks)} k_x")
    print(f"fast  (shared decimation, batched), all {len(phases)} phases: {t_fast:8.2f} s")
    print(f"naive (Kwant self-energy per phase and frequency): {t_sub:8.2f} s for {len(sub)} "
          f"phases -> {t_naive:8.1f} s for {len(phases)} (linear)")
    print(f"ratio naive/fast: {t_naive / t_fast:.0f}x   results agree to {diff:.1e} relative")


if __name__ == "__main__":
    main()
