"""``mirage fit`` on lattice tunnel-limit spectra at full resolution: fitted β vs β_FS.

Run ``.venv/bin/python benchmarks/bench_fit_lattice.py`` (defaults: β = 7 Δ0, B = 1, 2, 3 Δ0,
T = 0.1 T_c0, n_k = 24, zero-temperature step k_B T / 4, lattice gap mesh 1000; about a
minute or two per configuration on a shared 2-core machine). ``--n-k``, ``--step-kt``,
``--beta`` and ``--fields`` change the configuration; ``--json FILE`` keeps the numbers.

The suite's `tests/test_fit_lattice.py` runs the same pipeline at n_k = 4, step k_B T / 2.
The spectra come from `comparisons.fit_lattice` (lattice self-consistent Δ(B, T), barrier
3 t); they are fitted with ``mirage fit --units reduced --fix gamma=0`` from the automatic
start and from β_start = β − 0.4. Printed: fitted β_so, Δ0, η, offset with their
(scatter-scaled) standard errors, the lattice's β_FS mean/std/range, the lattice Δ(B) and the
fitted gaps per field, and the times.
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

from comparisons.fit_lattice import lattice_spectra, write_spectra
from mirage_cli.main import main


def run(beta, fields, n_k, step_kt, temperature, gap_mesh, window):
    biases = np.linspace(-window, window, round(window / 0.05) * 2 + 1)
    t0 = time.perf_counter()
    didv, info = lattice_spectra(fields, biases, beta=beta, temperature=temperature, n_k=n_k,
                                 step_kt=step_kt, gap_mesh=gap_mesh)
    t_lattice = time.perf_counter() - t0
    out = {"beta_fs_mean": info["beta_fs_mean"], "beta_fs_std": info["beta_fs_std"],
           "beta_fs_min": info["beta_fs_min"], "beta_fs_max": info["beta_fs_max"],
           "lattice_delta_b0": info["delta_b0"], "lattice_deltas": info["deltas"].tolist(),
           "transmission": info["transmission"], "grid_points": info["grid_points"],
           "lattice_seconds": t_lattice, "load": os.getloadavg()[0], "fits": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lattice.csv")
        write_spectra(path, fields, biases, didv, info, temperature=temperature)
        for k, (label, extra) in enumerate((
                ("auto start", []), ("beta start -0.4", ["--start", f"beta_so={beta - 0.4}"]))):
            res = os.path.join(tmp, f"fit{k}.json")
            t1 = time.perf_counter()
            rc = main(["fit", path, "--units", "reduced", "--temperature", str(temperature),
                       "--fix", "gamma=0", *extra, "--output", res])
            if rc != 0:
                out["fits"][label] = {"exit": rc}
                continue
            r = json.load(open(res))
            p = r["parameters"]
            out["fits"][label] = {
                **{n: p[n] for n in ("beta_so", "delta0", "eta", "norm", "offset")},
                **{f"{n}_stderr": p[f"{n}_stderr"] for n in ("beta_so", "delta0", "eta")},
                "beta_start": r["start"]["beta_so"],
                "gaps": [f["gap"] for f in r["residuals_per_field"]],
                "reduced_chi2": r["goodness_of_fit"]["reduced_chi2"],
                "rms_residual": float(np.sqrt(r["goodness_of_fit"]["reduced_chi2"])),
                "seconds": time.perf_counter() - t1,
                "beta_minus_beta_fs": p["beta_so"] - info["beta_fs_mean"],
                "delta0_minus_lattice": p["delta0"] - info["delta_b0"],
            }
    return out


def main_(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beta", type=float, default=7.0)
    ap.add_argument("--fields", default="1,2,3")
    ap.add_argument("--n-k", type=int, default=24)
    ap.add_argument("--step-kt", type=float, default=0.25)
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--gap-mesh", type=int, default=1000)
    ap.add_argument("--window", type=float, default=9.5, help="bias half-window (Δ0)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    fields = [float(x) for x in args.fields.split(",")]
    out = run(args.beta, fields, args.n_k, args.step_kt, args.temperature, args.gap_mesh,
              args.window)
    out["config"] = vars(args)
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main_()
