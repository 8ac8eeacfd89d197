"""Reproduce the disorder-stage gap diagnostics quoted in the README (issue 12 findings).

Each realization's uniform Δ at B and at B = 0 (`selfconsistent.realization_delta` with the
zero-field reference, U fixed by T_c0 on the clean lattice, ω_c = 10 Δ0), the ratio
r = Δ(B)/Δ(0) and the quasiclassical Δ at the measured Γ_qc in that realization's own
zero-field units (β/z, B/z, Γ/z), at β = 3, B = 1, T = 0.1, E_F = 20 Δ0. Realization k uses
``SeedSequence([5, k])``; the rate is measured on min(L, 100)² supercells (3 realizations).

    python benchmarks/diag_disorder_gap.py --delta0 0.03 --size 72 --width 0.7 [--twists pi]
    python benchmarks/diag_disorder_gap.py --delta0 0.02 --size 84 --width 0.82 --realizations 3
    python benchmarks/diag_disorder_gap.py --size 72 --smooth 0.15 --correlation 1.5

README figures: L = 72 vs 96 and twists at W = 0.7 t (one realization); Δ0 = 0.02 t at W = 0.57,
0.82 t (three realizations); W = 0.15 t and smooth disorder of correlation 1.5 a (one).
"""

import argparse

import numpy as np

from latticemirage.disorder import rates
from latticemirage.disorder import selfconsistent as scs
from latticemirage.disorder.potentials import AndersonDisorder, SmoothDisorder, remove_uniform
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from quasiclassical import QCParams, solve_gap


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--delta0", type=float, default=0.03, help="Δ0 in t")
    p.add_argument("--size", type=int, default=72)
    p.add_argument("--width", type=float, default=0.7, help="Anderson box width W (t)")
    p.add_argument("--smooth", type=float, default=None, help="smooth disorder rms (t) instead")
    p.add_argument("--correlation", type=float, default=3.0, help="smooth correlation length (a)")
    p.add_argument("--twists", default="none", choices=("none", "pi"))
    p.add_argument("--realizations", type=int, default=1)
    args = p.parse_args()
    m = map_to_lattice(PhysicalParameters(beta=3.0, field=1.0, delta0=args.delta0, e_fermi=20.0,
                                          temperature=0.1))
    dis = (AndersonDisorder(args.width) if args.smooth is None
           else SmoothDisorder(args.smooth, args.correlation))
    rate = rates.measure_rates(m.lattice_params(0.0), dis, min(args.size, 100), 3, 7,
                               eta=0.01 * args.delta0 / 0.03).in_units(m.delta0)
    gamma = max(rate["gamma_qc"], 0.0)
    settings = {"temperature": 0.1, "coupling_t": scs.clean_coupling(m, cutoff=10.0),
                "cutoff_delta0": 10.0, "twists": args.twists, "zero_field_reference": True,
                "physical": {"beta": 3.0, "field": 1.0, "phi": 0.0, "e_fermi": 20.0,
                             "delta0": args.delta0}}
    print(f"{dis}, L = {args.size}, twists {args.twists}: Gamma_qc = {gamma:.3f}, Gamma_tot = "
          f"{rate['gamma_total']:.3f} Delta0", flush=True)
    diffs = []
    for k in range(args.realizations):
        rng = np.random.default_rng(np.random.SeedSequence([5, k]))
        pot, _ = remove_uniform(dis.potential((args.size, args.size), rng))
        delta, meta = scs.realization_delta(settings, args.size, pot)
        z = meta["delta_zero_field_delta0"]
        qc = solve_gap(QCParams(beta=3.0 / z, field=1.0 / z, temperature=0.1,
                                gamma=gamma / z)).delta
        diffs.append(delta / z - qc)
        print(f"realization {k}: Delta {delta:.4f}, z {z:.4f}, r {delta / z:.4f}, SCBA (own units) "
              f"{qc:.4f}, r - SCBA {delta / z - qc:+.4f}", flush=True)
    if len(diffs) > 1:
        err = np.std(diffs, ddof=1) / np.sqrt(len(diffs))
        print(f"mean r - SCBA {np.mean(diffs):+.4f} +- {err:.4f}")


if __name__ == "__main__":
    main()
