"""Cost of one realization of ``mirage validate --full-scale`` (issue 12, item 4).

One realization of the full-scale disorder stage is a KPM DOS (with gap and normal) of a
300 x 300 supercell with 42000 moments and 4 random vectors; the quasiclassical Δ is
imposed (the self-consistent one is not computed at that scale). KPM time is exactly
linear in the number of moments (one sparse product per moment), so the realization is
timed with ``--moments`` (default 3000) and extrapolated to 42000, and the per-core figure
follows from one realization per worker process, one numba thread each.

    python benchmarks/bench_full_scale.py [--moments 3000] [--size 300]
"""

import argparse
import json
import time
from dataclasses import replace

from comparisons.parameters import FULL_SCALE, ValidationSetup
from latticemirage.disorder import kpm, study
from latticemirage.disorder.potentials import AndersonDisorder
from latticemirage.mapping import map_to_lattice


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moments", type=int, default=3000)
    parser.add_argument("--size", type=int, default=FULL_SCALE.supercell)
    args = parser.parse_args()
    kpm.set_num_threads(1)
    setup = ValidationSetup().full_scale()
    res = setup.resolution
    mapping = map_to_lattice(setup.disorder_physical())
    d0 = mapping.delta0
    spec = study.StudySpec(
        params=mapping.lattice_params(0.8), disorder=AndersonDisorder(
            max(res.anderson_widths)).to_dict(), size=args.size, moments=args.moments,
        vectors=res.vectors, realizations=1, seed=1, twists="none", energy_unit=d0,
        energies=(0.0, 6.0, 241))
    start = time.perf_counter()
    out = study.compute_realization(spec.to_json(), 0, threads=1)
    seconds = time.perf_counter() - start
    full = replace(spec, moments=res.moments)
    scale = res.moments / args.moments
    print(json.dumps({
        "size": args.size, "moments_timed": args.moments, "vectors": res.vectors,
        "seconds_timed": round(seconds, 1),
        "kpm_backend": out["metadata"]["kpm_backend"],
        "seconds_per_realization_at_full_moments_one_core": round(seconds * scale, 0),
        "full_scale_realizations": res.realizations * (len(res.anderson_widths) + 1
                                                       + len(res.concentrations)),
        "core_hours_full_stage": round(seconds * scale * res.realizations
                                       * (len(res.anderson_widths) + 1
                                          + len(res.concentrations)) / 3600, 2),
        "moments_full": full.moments,
    }, indent=1))


if __name__ == "__main__":
    main()
