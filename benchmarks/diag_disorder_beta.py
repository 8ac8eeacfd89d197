"""Why the lattice gap in a field sits below the single-β SCBA (issue 21): three comparisons.

At the disorder stage's point (β = 3, B = 1, T = 0.1, E_F = 20 Δ0, Δ0 = 0.03 t, ω_c = 10 Δ0,
U from T_c0 on the converged clean lattice), for Anderson disorder W = 0.7 and 1 t, on L x L
supercells with the boundary twists {0, π}² (Δ averaged over the four), each realization's
r = Δ(B)/Δ(0) in its own zero-field units z = Δ(0) is compared with the SCBA Δ at
(β/z, B/z, Γ/z), Γ = Γ_qc measured on the lattice (`rates.measure_rates`, 100², as the stage):

(a) as the stage did before: the lattice model vs the SCBA at the mapping's β = 3 Δ0;
(b) the same lattice realizations vs the SCBA at a measured β_eff: (b1) β on the
    disorder-renormalized Fermi surface (the measured Re Σ shifts the contour,
    `band.renormalized_fermi_beta`: what the validate stage hands to the SCBA), (b2) the
    spectral average of |β(k)| over each realization's Fermi-level eigenstates
    (`band.fermi_level_beta`, window 4 Δ0);
(c) the diagnostic model with the ideal valley Ising operator (β = ±3 Δ0 constant over each
    valley, `band.ValleyIsing`) on the same realizations vs the SCBA at β = 3 Δ0.

Also: the clean supercell (same L and twists) vs the SCBA (the grid effect), and β_eff of
the clean supercell and of the ideal model. Realization k of width W uses
``SeedSequence([5, k])``; results do not depend on the worker count.

``--ideal-only`` computes (c) alone (the ideal operator's Δ on each realization and on the
clean supercell, no β_eff: half the cost) and its excess beyond the clean offset,
e = (r − r_SCBA) − (r − r_SCBA)_clean supercell, with Γ_total, ℓ and p_F ℓ
(`validity.pf_ell`) of each width. ``--delta0`` (t) and ``--e-fermi`` (Δ0) move the gap scale;
E_F in t is ``e_fermi · delta0``, so ``--delta0 0.02 --e-fermi 30`` keeps the band of the
default point (0.6 t) and only Δ0 (with β, B, ω_c and T in Δ0 units) changes.

    python benchmarks/diag_disorder_beta.py [--size 48] [--realizations 4] [--workers 2]
    python benchmarks/diag_disorder_beta.py --ideal-only --delta0 0.02 --e-fermi 30 --size 96
    python benchmarks/diag_disorder_beta.py --from-json diag_disorder_beta.json

Prints a table and writes ``--output`` (JSON, default diag_disorder_beta.json); ``--from-json``
redoes the comparisons from the realizations of an earlier run (the rates are re-measured:
seconds).
"""

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import time

import numpy as np

from latticemirage.disorder import band, rates, validity
from latticemirage.disorder import selfconsistent as scs
from latticemirage.disorder.potentials import AndersonDisorder, remove_uniform
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.errors import ParameterError
from quasiclassical import QCParams, solve_gap

CUTOFF = 10.0  # Δ0: the stage's pairing shell ω_c
PHYS = dict(beta=3.0, field=1.0, delta0=0.03, e_fermi=20.0, temperature=0.1)
WINDOW = 4.0  # Δ0


def _mapping(phys=PHYS):
    return map_to_lattice(PhysicalParameters(**phys))


def _settings(m, coupling, ising=None, twists="pi", phys=PHYS, cutoff=CUTOFF):
    return {"temperature": phys["temperature"], "coupling_t": coupling, "cutoff_delta0": cutoff,
            "twists": twists, "zero_field_reference": True,
            "physical": {k: phys[k] for k in ("beta", "field", "e_fermi", "delta0")} | {"phi": 0.0},
            **({"ising": ising.to_dict()} if ising is not None else {})}


def realization(width, k, size, coupling, twist_set="pi", phys=PHYS, ideal_only=False,
                cutoff=CUTOFF):
    """Lattice and ideal-operator r, z and β_eff of one realization (a pure function).

    With *ideal_only* the ideal operator's Δ and z alone (no lattice operator, no β_eff).
    """
    m = _mapping(phys)
    rng = np.random.default_rng(np.random.SeedSequence([5, k]))
    pot = None
    if width > 0:
        pot, _ = remove_uniform(AndersonDisorder(width).potential((size, size), rng))
    out = {"width": width, "index": k}
    valley = band.ValleyIsing(phys["beta"] * m.delta0)
    operators = (("lattice", None), ("valley", valley))
    for name, ising in operators[1:] if ideal_only else operators:
        t0 = time.perf_counter()
        delta, meta = scs.realization_delta(_settings(m, coupling, ising, twist_set, phys, cutoff),
                                            size, pot)
        out[name] = {"delta": delta, "z": meta["delta_zero_field_delta0"],
                     "seconds": time.perf_counter() - t0}
        if ideal_only:
            continue
        twists = scs.twist_list(twist_set)
        b = band.fermi_level_beta(m.lattice_params(0.0), size, potential=pot, twists=twists,
                                  window=WINDOW * m.delta0, ising=ising)
        out[name]["beta_eff"] = b.beta / m.delta0
        out[name]["n0"] = b.n0
    return out


def qc_ratio(beta, gamma, z):
    return solve_gap(QCParams(beta=beta / z, field=PHYS["field"] / z,
                              temperature=PHYS["temperature"], gamma=max(gamma, 0.0) / z)).delta


def _mean_err(x):
    x = np.asarray(x, float)
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def _ideal_rows(args, phys, m, widths, gammas, totals, results):
    """Rows of ``--ideal-only``: (c) per width and its excess beyond the clean offset."""
    val0 = results[0]["valley"]
    c0 = val0["delta"] / val0["z"] - qc_ratio(3.0, 0.0, val0["z"])
    rows = {"clean": {"r_valley": val0["delta"] / val0["z"],
                      "qc_valley": qc_ratio(3.0, 0.0, val0["z"]), "c_valley_vs_scba": c0},
            "clean_realization": results[0]}
    print(f"clean {args.size}^2 x twists ({args.twists}), ideal operator: r "
          f"{rows['clean']['r_valley']:.4f} vs SCBA {rows['clean']['qc_valley']:.4f} "
          f"(offset {c0:+.4f}); {val0.get('seconds', float('nan')):.0f} s")
    for w in widths:
        g, g_err = gammas[w]
        g_tot, g_tot_err = totals[w]
        rs = [x for x in results[1:] if x["width"] == w]
        c = [x["valley"]["delta"] / x["valley"]["z"] - qc_ratio(3.0, g, x["valley"]["z"])
             for x in rs]
        z = float(np.mean([x["valley"]["z"] for x in rs]))
        slope = (qc_ratio(3.0, g + 0.05, z) - qc_ratio(3.0, g - 0.05, z)) / 0.1
        delta_b = float(np.mean([x["valley"]["delta"] for x in rs]))
        verdict = validity.assess(m, size=args.size, delta=delta_b)
        cm, ce = _mean_err(c)
        row = {"gamma_qc": g, "gamma_qc_err": g_err, "gamma_total": g_tot,
               "gamma_total_err": g_tot_err, "gamma_slope": slope,
               "ell": m.v_fermi / (2.0 * g_tot * m.delta0),
               "pf_ell": validity.pf_ell(m, g_tot),
               "c_valley_vs_scba": [cm, ce], "excess": [cm - c0, ce],
               "delta_b_mean": delta_b, "validity": verdict.as_dict(),
               "seconds_per_realization": [x["valley"].get("seconds") for x in rs],
               "per_realization": rs}
        rows[f"W={w:g}"] = row
        print(f"W = {w:g} t: Gamma_qc {g:.3f} +- {g_err:.3f}, Gamma_total {g_tot:.3f} +- "
              f"{g_tot_err:.3f} Delta0, l = {row['ell']:.1f} a, pF l = {row['pf_ell']:.2f}; "
              f"(c) {cm:+.4f} +- {ce:.4f}, excess e = {cm - c0:+.4f} +- {ce:.4f} "
              f"({len(rs)} realizations, dr/dGamma {slope:.4f}); size/xi(Delta_B) "
              f"{verdict['size_over_xi'].value:.2f} "
              f"({'rules ok' if verdict.passed else verdict.message()})")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--realizations", type=int, default=4)
    p.add_argument("--widths", default="0.7,1.0")
    p.add_argument("--first-realization", type=int, default=0,
                   help="index k of the first realization (to add realizations to a run)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--twists", default="pi",
                   help="twist set of each realization's Δ: pi, diagonal (the stage's) or grid:N "
                        "(N x N twists, to separate the k-grid from the disorder sample)")
    p.add_argument("--delta0", type=float, default=PHYS["delta0"], help="Δ0 in t")
    p.add_argument("--e-fermi", type=float, default=PHYS["e_fermi"],
                   help="E_F in Δ0 (E_F in t = e_fermi * delta0)")
    p.add_argument("--ideal-only", action="store_true",
                   help="only (c): the ideal valley operator and its clean offset")
    p.add_argument("--cutoff", type=float, default=CUTOFF,
                   help="pairing shell ω_c in Δ0 (the stage's 10; the SCBA has no cutoff)")
    p.add_argument("--output", default="diag_disorder_beta.json")
    p.add_argument("--from-json", default=None,
                   help="reuse the realizations of an earlier run's JSON output")
    args = p.parse_args()
    try:
        scs.twist_list(args.twists)
    except ParameterError as err:
        p.error(f"--twists: {err}")
    widths = [float(w) for w in args.widths.split(",")]
    phys = PHYS | {"delta0": args.delta0, "e_fermi": args.e_fermi}
    m = _mapping(phys)
    coupling = scs.clean_coupling(m, cutoff=args.cutoff)
    start = time.perf_counter()
    gammas, betas, totals = {}, {}, {}
    for j, w in enumerate(widths):
        r = rates.measure_rates(m.lattice_params(0.0), AndersonDisorder(w), 100, 4, 11 + j,
                                eta=0.01)
        d = r.in_units(m.delta0)
        gammas[w] = (max(d["gamma_qc"], 0.0), float(d["gamma_qc_err"] or 0.0))
        totals[w] = (d["gamma_total"], float(d["gamma_total_err"] or 0.0))
        b, e = band.renormalized_fermi_beta(m.lattice_params(0.0), r.sigma_real,
                                            r.sigma_real_err)
        betas[w] = (b / m.delta0, e / m.delta0)
        print(f"W = {w:g} t: Gamma_qc = {gammas[w][0]:.4f} +- {gammas[w][1]:.4f}, Re Sigma = "
              f"{d['sigma_real']:.4f} +- {d['sigma_real_err']:.4f}, beta_FS = {betas[w][0]:.4f} "
              f"+- {betas[w][1]:.4f} Delta0", flush=True)
    first = args.first_realization
    jobs = [(0.0, 0)] + [(w, k) for w in widths for k in range(first, first + args.realizations)]
    if args.from_json:
        with open(args.from_json) as f:
            old = json.load(f)
        results = [old.get("clean_realization")] + [x for key, row in old.items()
                                                if key.startswith("W=")
                                                for x in row["per_realization"]]
    else:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(args.workers, mp_context=ctx) as ex:
            futs = [ex.submit(realization, w, k, args.size, coupling, args.twists, phys,
                              args.ideal_only, args.cutoff) for w, k in jobs]
            results = [f.result() for f in futs]
    clean = results[0]
    if args.ideal_only:
        _write(_ideal_rows(args, phys, m, widths, gammas, totals, results), args, phys, start)
        return
    if clean is None:  # an output of the first version of this script: its clean row as is
        rows = {"clean": old["clean"]}
    else:
        lat0, val0 = clean["lattice"], clean["valley"]
        rows = {"clean": {
            "r_lattice": lat0["delta"] / lat0["z"], "qc_lattice": qc_ratio(3.0, 0.0, lat0["z"]),
            "r_valley": val0["delta"] / val0["z"], "qc_valley": qc_ratio(3.0, 0.0, val0["z"]),
            "beta_eff": lat0["beta_eff"], "beta_eff_valley": val0["beta_eff"]},
            "clean_realization": clean}
    c0 = rows["clean"]
    print(f"clean {args.size}^2 x twists: r {c0['r_lattice']:.4f} vs SCBA {c0['qc_lattice']:.4f}; "
          f"ideal operator r {c0['r_valley']:.4f} vs {c0['qc_valley']:.4f}; spectral beta "
          f"{c0['beta_eff']:.4f} (ideal {c0['beta_eff_valley']:.4f})")
    for w in widths:
        g, g_err = gammas[w]
        rs = [x for x in results[1:] if x["width"] == w]
        b_fs, b_fs_err = betas[w]
        a, b, b_fs_rows, c, diff, beff = [], [], [], [], [], []
        for x in rs:
            lat, val = x["lattice"], x["valley"]
            r_l, r_v = lat["delta"] / lat["z"], val["delta"] / val["z"]
            a.append(r_l - qc_ratio(3.0, g, lat["z"]))
            b.append(r_l - qc_ratio(lat["beta_eff"], g, lat["z"]))
            b_fs_rows.append(r_l - qc_ratio(b_fs, g, lat["z"]))
            c.append(r_v - qc_ratio(3.0, g, val["z"]))
            diff.append(r_l - r_v)
            beff.append(lat["beta_eff"])
        # Γ error propagated through the SCBA slope (the same for the three comparisons).
        z = float(np.mean([x["lattice"]["z"] for x in rs]))
        slope = (qc_ratio(3.0, g + 0.05, z) - qc_ratio(3.0, g - 0.05, z)) / 0.1
        row = {"gamma_qc": g, "gamma_qc_err": g_err, "gamma_slope": slope,
               "beta_fs": [b_fs, b_fs_err],
               "a_lattice_vs_scba": _mean_err(a),
               "b1_lattice_vs_scba_beta_fs": _mean_err(b_fs_rows),
               "b2_lattice_vs_scba_beta_spectral": _mean_err(b),
               "c_valley_vs_scba": _mean_err(c), "lattice_minus_valley": _mean_err(diff),
               "beta_eff": _mean_err(beff), "per_realization": rs}
        rows[f"W={w:g}"] = row
        print(f"W = {w:g} t (Gamma_qc {g:.3f} +- {g_err:.3f}, slope dr/dGamma {slope:.4f}): "
              f"spectral beta {row['beta_eff'][0]:.4f} +- {row['beta_eff'][1]:.4f}, "
              f"beta_FS {b_fs:.4f}")
        for key in ("a_lattice_vs_scba", "b1_lattice_vs_scba_beta_fs",
                    "b2_lattice_vs_scba_beta_spectral", "c_valley_vs_scba",
                    "lattice_minus_valley"):
            print(f"   {key:28s} {row[key][0]:+.4f} +- {row[key][1]:.4f}")
    _write(rows, args, phys, start)


def _write(rows, args, phys, start):
    rows["meta"] = {"size": args.size, "twists": args.twists, "realizations": args.realizations,
                    "first_realization": args.first_realization, "cutoff_delta0": args.cutoff,
                    "window_delta0": WINDOW, "physical": phys, "ideal_only": args.ideal_only,
                    "seconds": time.perf_counter() - start}
    with open(args.output, "w") as f:
        json.dump(rows, f, indent=1)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
