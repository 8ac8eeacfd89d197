"""Issue 21: with the band effect switched off the disordered lattice reproduces the SCBA gap.

At the validate disorder point (β = 3 Δ0, B = 1 Δ0, T = 0.1 T_c0, E_F = 20 Δ0, Δ0 = 0.03 t,
ω_c = 10 Δ0; L = 64, Δ averaged over the twists {(0, 0), (π, π)} as in the stage) the
lattice's Ising term λ Σ sin(k·a) is replaced by the ideal valley operator (β = ±3 Δ0
constant over each valley, `band.ValleyIsing`): the disorder-renormalized band then cannot
lower the effective β, and what is left is the SCBA and the lattice's finite pairing shell.
Anderson W = 0.7 t (measured Γ_qc ≈ 1.03 Δ0, p_F ℓ = 18, inside the SCBA's weak-disorder rule).

What is compared is c = r − r_SCBA in each realization's own zero-field units, with no clean
supercell offset subtracted: that offset is a k-grid artifact of the clean supercell (−0.0014,
+0.0001, −0.0027 for three twist sets at 64²) which a disordered supercell with ℓ ≈ 9 a ≪ L does
not carry (docs/topics/disorder-crosscheck.md). Measured with
`benchmarks/diag_disorder_beta.py --ideal-only --size 64 --twists diagonal` (2026-12-07/08, 4
realizations): c = −0.0011 ± 0.0002 at ω_c = 10 Δ0 and +0.0010 ± 0.0002 at ω_c = 13 Δ0 on the
same realizations (paired shift +0.0022; the clean 64² supercell's +0.0008): the lattice's finite
shell, which the cutoff-free SCBA does not have, is the comparison's measured systematic. The
lattice's own Ising operator sits 0.0067 ± 0.0001 lower on the same realizations (the band
effect), and the SCBA without the intervalley rate 0.019 higher: the check fails for either.
"""

import numpy as np
import pytest

from latticemirage.disorder import band, rates
from latticemirage.disorder import selfconsistent as scs
from latticemirage.disorder.potentials import AndersonDisorder, remove_uniform
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.parallel import process_pool
from quasiclassical import QCParams, solve_gap

PHYS = dict(beta=3.0, field=1.0, delta0=0.03, e_fermi=20.0, temperature=0.1)
SIZE, W, REALIZATIONS = 64, 0.7, 2
# Per-realization scatter of r − r_SCBA with the ideal operator at this point, measured: 0.0004
# over the benchmark's 4 realizations, 0.0006 over this test's seeds 0-2: 0.0005 pooled.
SCATTER = 0.0005
# The finite pairing shell's disorder part at this point: c moves by +0.0022 from ω_c = 10 to
# 13 Δ0 on the same realizations, +0.0008 of it the clean supercell's (measured, paired, the
# benchmark above; 13 -> 16 Δ0 adds +0.0008 more, 0.0001 of it clean: converging), so |c| at
# ω_c = 10 Δ0 may be this much from the cutoff-free SCBA.
SHELL_SYSTEMATIC = 0.0022 - 0.0008


def _qc_ratio(beta, gamma, z):
    """SCBA Δ(B) in the units of a zero-field gap z: β/z, B/z, Γ/z."""
    return solve_gap(QCParams(beta=beta / z, field=PHYS["field"] / z,
                              temperature=PHYS["temperature"], gamma=max(gamma, 0.0) / z)).delta


def _potential(k):
    rng = np.random.default_rng(np.random.SeedSequence([5, k]))
    return remove_uniform(AndersonDisorder(W).potential((SIZE, SIZE), rng))[0]


@pytest.mark.slow
def test_ideal_valley_operator_reproduces_the_single_beta_scba_gap():
    m = map_to_lattice(PhysicalParameters(**PHYS))
    settings = scs.study_settings(m, SIZE, "diagonal", PHYS["temperature"], cutoff=10.0,
                                  zero_field_reference=True, bracketed=True,
                                  ising=band.ValleyIsing(PHYS["beta"] * m.delta0))
    measured = rates.measure_rates(m.lattice_params(0.0), AndersonDisorder(W), 100, 4, 11,
                                   eta=0.01).in_units(m.delta0)
    gamma, gamma_err = max(measured["gamma_qc"], 0.0), float(measured["gamma_qc_err"])
    assert measured["gamma_total"] > 0.9  # the disorder does scatter (Γ ≈ 1 Δ0): not trivial
    with process_pool(2) as pool:
        runs = list(pool.map(scs.realization_delta, [settings] * REALIZATIONS,
                             [SIZE] * REALIZATIONS, [_potential(k) for k in range(REALIZATIONS)]))
    z = [meta["delta_zero_field_delta0"] for _, meta in runs]
    c = [d / zk - _qc_ratio(PHYS["beta"], gamma, zk) for (d, _), zk in zip(runs, z, strict=True)]
    z_mean = float(np.mean(z))
    slope = (_qc_ratio(PHYS["beta"], gamma + 0.05, z_mean)
             - _qc_ratio(PHYS["beta"], gamma - 0.05, z_mean)) / 0.1
    # 3 combined standard errors (the realizations' measured scatter over this sample and the
    # measured Γ's error through the SCBA's slope) plus the measured shell systematic; the
    # lattice operator misses by 0.0067, the SCBA at Γ = 0 by 0.019.
    tol = 3 * np.hypot(SCATTER / np.sqrt(REALIZATIONS), slope * gamma_err) + SHELL_SYSTEMATIC
    assert abs(np.mean(c)) < tol, (c, gamma, tol)
    # The comparison resolves the disorder: the SCBA's own suppression at Γ_qc is many tolerances.
    assert _qc_ratio(PHYS["beta"], 0.0, z_mean) - _qc_ratio(PHYS["beta"], gamma, z_mean) > 5 * tol
