"""Point impurities against the self-consistent T-matrix SCBA, one ingredient at a time (issue 21).

At the validate disorder point (β = 3 Δ0, B = 1 Δ0, T = 0.1 T_c0, E_F = 20 Δ0, Δ0 = 0.03 t,
ω_c = 10 Δ0; L x L supercells, Δ(B) and Δ(0) averaged over the twists {(0, 0), (π, π)}, U
from T_c0 on the converged clean lattice), on-site impurities of strength V at concentration
n_i, realization i drawn as the validate stage draws its case k (``SeedSequence([root + 100
+ k, i])``, uniform shift removed). Per realization r = Δ(B)/Δ(0) in its own zero-field units
z, against the T-matrix SCBA at β/z, B/z and the measured normal rate Γ_qc/z (`rates`, 100²,
4 realizations, seed root + 1 + k) with cot δ0 = 1/(π N0 V) − R̄ of the clean G_loc:

* ``ideal``: the ideal valley Ising operator (β = ±3 Δ0 constant per valley; no band
  effect), excess less the ideal clean L² supercell's offset;
* ``lattice``: the model's own operator, excess at β = 3 and at β_FS (the stage's β_eff) less
  the converged clean lattice's offset (−0.0021, `comparisons.suite_disorder`).

Also prints the measured rate against the single-site (dilute-limit) T-matrix rate.

    python benchmarks/diag_point_tmatrix.py --concentration 0.1 --strength 0.5 [--case 3]
    python benchmarks/diag_point_tmatrix.py --concentration 0.04 --strength 0.8 --workers 2

One process per operator (``--workers 2`` runs both at once); results do not depend on it.
"""

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import time

import numpy as np

from comparisons.parameters import ValidationSetup
from latticemirage.disorder import band, rates, validity
from latticemirage.disorder import selfconsistent as scs
from latticemirage.disorder.potentials import PointImpurities, remove_uniform
from latticemirage.mapping import map_to_lattice
from quasiclassical import QCParams, TMatrixImpurities, solve_gap

CLEAN_LATTICE_OFFSET = -0.0021  # converged clean lattice r minus quasiclassics (validate stage)


def _mapping():
    return map_to_lattice(ValidationSetup().disorder_physical())


def _run(operator, size, concentration, strength, seed, realizations):
    m = _mapping()
    phys = m.physical
    ising = band.ValleyIsing(phys.beta * m.delta0) if operator == "ideal" else None
    settings = scs.study_settings(m, size, "diagonal", phys.temperature, cutoff=10.0,
                                  zero_field_reference=True, bracketed=True, ising=ising)
    dis = PointImpurities(concentration, strength)
    out = []
    for i in [None, *range(realizations)]:
        t0 = time.perf_counter()
        pot = None
        if i is not None:
            rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
            pot = remove_uniform(dis.potential((size, size), rng))[0]
        d, meta = scs.realization_delta(settings, size, pot)
        out.append((d, meta["delta_zero_field_delta0"], time.perf_counter() - t0))
        print(f"{operator} realization {i}: Delta {d:.5f}, z {out[-1][1]:.5f}, "
              f"{out[-1][2]:.0f} s", flush=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--concentration", type=float, default=0.1)
    p.add_argument("--strength", type=float, default=0.5, help="V (t)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--realizations", type=int, default=4)
    p.add_argument("--root", type=int, default=ValidationSetup().seed)
    p.add_argument("--case", type=int, default=3, help="the stage's case index k")
    p.add_argument("--operators", default="ideal,lattice")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--output", default=None, help="JSON file of the results")
    args = p.parse_args()
    m = _mapping()
    d0, phys = m.delta0, m.physical
    p0 = m.lattice_params(0.0)
    dis = PointImpurities(args.concentration, args.strength)
    meas = rates.measure_rates(p0, dis, 100, 4, args.root + 1 + args.case, eta=0.01)
    rate = meas.in_units(d0)
    g, g_err = rate["gamma_qc"], float(rate["gamma_qc_err"])
    single = rates.single_site_tmatrix_rate(p0, args.concentration, args.strength, eta=0.01) / d0
    g_loc = validity.local_green(p0)
    cot = TMatrixImpurities.from_lattice(args.concentration, args.strength, g_loc, d0).cot
    b_fs = band.renormalized_fermi_beta(p0, meas.sigma_real, meas.sigma_real_err)[0] / d0
    print(f"n_i = {args.concentration:g}, V = {args.strength:g} t: Gamma_qc = {g:.4f} +- "
          f"{g_err:.4f}, Gamma_total = {rate['gamma_total']:.4f} Delta0; single-site T-matrix "
          f"{single:.4f} "
          f"(measured/single-site {rate['gamma_total'] / single:.3f}); |T|^2/V^2 = "
          f"{validity.tmatrix_born_ratio(p0, dis, g_loc=g_loc):.3f}; cot = {cot:.3f}; beta_FS = "
          f"{b_fs:.4f}; p_F l = {validity.pf_ell(m, rate['gamma_total']):.1f}; l = "
          f"{validity.mean_free_path(m, rate['gamma_total']):.1f} a", flush=True)

    def qc(z, beta, gamma=g, tmatrix=True):
        imp = TMatrixImpurities.from_normal_rate(gamma / z, cot) if tmatrix else None
        return solve_gap(QCParams(beta=beta / z, field=phys.field / z,
                                  temperature=phys.temperature, impurities=imp)).delta

    ops = args.operators.split(",")
    seed = args.root + 100 + args.case
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
        runs = dict(zip(ops, pool.map(_run, ops, [args.size] * len(ops),
                                      [args.concentration] * len(ops),
                                      [args.strength] * len(ops), [seed] * len(ops),
                                      [args.realizations] * len(ops)), strict=True))
    result = {"gamma_qc": g, "gamma_qc_err": g_err, "gamma_total": rate["gamma_total"],
              "single_site": single, "cot": cot, "beta_fs": b_fs, "runs": {}}
    for op, vals in runs.items():
        (dc, zc, _), rest = vals[0], vals[1:]
        clean_offset = dc / zc - qc(zc, phys.beta, 0.0, tmatrix=False)
        offset = clean_offset if op == "ideal" else CLEAN_LATTICE_OFFSET
        betas = {"beta=3": phys.beta} if op == "ideal" else {"beta=3": phys.beta,
                                                               "beta_FS": b_fs}
        rec = {"clean_supercell_offset": clean_offset, "offset_used": offset, "excess": {}}
        for label, beta in betas.items():
            ex = [d / z - qc(z, beta) - offset for d, z, _ in rest]
            mean, err = float(np.mean(ex)), float(np.std(ex, ddof=1) / np.sqrt(len(ex)))
            rec["excess"][label] = {"per_realization": ex, "mean": mean, "stderr": err}
            print(f"{op}, SCBA at {label}: excess {mean:+.4f} +- {err:.4f} (per realization "
                  + ", ".join(f"{e:+.4f}" for e in ex) + f"; offset {offset:+.4f})")
        born = [d / z - solve_gap(QCParams(beta=phys.beta / z, field=phys.field / z,
                                           temperature=phys.temperature,
                                           gamma=g / z)).delta - offset for d, z, _ in rest]
        rec["excess_born_same_rate"] = float(np.mean(born))
        result["runs"][op] = rec
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
