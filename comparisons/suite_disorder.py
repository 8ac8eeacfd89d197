r"""Disorder: self-consistent lattice Δ and KPM DOS of disordered supercells against the SCBA.

Point and rules
---------------
Runs on the disorder variant of `comparisons.parameters` (β = 3 Δ0, B = 1 Δ0, T = 0.1 T_c0,
Δ0 = 0.03 t, E_F = 20 Δ0, pairing cutoff ω_c = 10 Δ0; see there why), on L x L supercells
(periodic; Δ averaged over the twists {(0, 0), (π, π)}, each KPM realization at a random twist
of {0, π}²) chosen to satisfy the rules of `latticemirage.disorder.validity`
(E_F/Δ0 >= 20, p_F ξ0 >= 10, L >= 4 ξ at the Δ used, KPM kernel <= δ/3 at the Δ used, and
for the quantitative SCBA checks Born disorder, |T|²/V² within 10 % of 1, and weak
disorder, p_F ℓ >= 10 at the measured total rate: a case below the last is drawn beside the
SCBA and keeps its lattice-only checks, as ``anderson_1`` does, p_F ℓ = 9.0, where the ideal
valley Ising operator, free of band effects, sits 0.0039 ± 0.0005 below the SCBA, against
0.0011 ± 0.0002 at W = 0.7 t, p_F ℓ = 18.4: a departure ≈ −0.0009 Γ² that raising p_F ℓ at
fixed Γ/Δ0 does not shrink, so its cause is not settled; see the topic page). The rules are
*checks* of this stage, ``disorder/validity/<case>/<rule>`` (with the mean-free-path rule
``size_over_ell``, L >= ℓ at the measured total rate), evaluated at the lattice Δ the
case actually used: a violated rule fails the stage. A case whose rules fail before it runs
(e.g. a setup changed to a too-small supercell) is not computed; its comparisons are
reported as not run beside the failed rule.

Cases (one resumable study each, realizations in a process pool or on any executor; the
rates and rules are measured case by case, then all studies are handed to the executor
at once so that its workers stay busy across cases):

* ``anderson_W``: Anderson box disorder of width W (Born, white noise: intervalley and
  intravalley alike), the Fig. 2(a) sweep at the measured Γ (W = 0.7, 1 t: Γ_qc ≈ 1, 2 Δ0;
  the second below the SCBA's p_F ℓ rule, kept for the suppression and the
  dip filling, which are lattice-only);
* ``smooth``: Gaussian-correlated disorder (correlation length 3 a) with the Born total
  rate of Anderson W = 0.7 t (Γ ≈ 1 Δ0), intravalley only: the Anderson-theorem control;
* ``point_c`` (full suite, c = 0.1): point impurities V = 0.5 t, beyond Born (|T|²/V² ≈
  1.5), against the self-consistent T-matrix SCBA (`quasiclassical.tmatrix`) at the
  measured normal rate and the lattice's cot δ0 = 1/(π N0 V) − R̄ (no Born rule; the p_F ℓ
  and mean-free-path rules apply, and the T-matrix's own premise, dilute impurities:
  measured rate within 10 % of the single-site one, `validity.dilute_ratio`). At c = 0.1
  the measured rate is 0.835 of the single-site 0.96 Δ0: the case is drawn beside the
  T-matrix SCBA, not checked (a pass there was a cancellation: β_eff carries a fifth of the
  band effect the ideal valley operator measures). V = 0.5 t is not both dilute and
  diffusive on 64² supercells (c = 0.03: ℓ ≈ 75 a); at the full scale (300², c = 0.01) it
  is checked.

Each realization solves its own uniform Δ (`latticemirage.disorder.selfconsistent`, U fixed
by the clean T_c0 on the converged clean lattice, the real-space shell cutoff ω_c) at B and
at B = 0, then its KPM DOS at its own Δ. The elastic rates are *measured* on the lattice
(`latticemirage.disorder.rates`) and handed unchanged to the SCBA: ``gamma = Γ_qc =
2 Γ_inter``, ``gamma_intra = max(Γ_tot − Γ_qc, 0)``; so is the Ising field of the
disorder-renormalized Fermi surface, ``beta = β_eff``: the measured ``Re Σ`` (same
realizations) deepens the pockets and moves the contour to where |β(k)| is smaller
(`latticemirage.disorder.band.renormalized_fermi_beta`; 2.95 and 2.90 Δ0 at W = 0.7 and 1 t
instead of 3), with its error from the jackknife error of Re Σ.

Gap (``disorder/gap/...``)
--------------------------
Units. Quasiclassics measures energies in the zero-field gap Δ0 of the system, which
Anderson's theorem leaves unchanged by disorder. On the lattice, disorder also renormalizes
the density of states in the shell (an O((W/E_F)²) band effect beyond quasiclassics) and
with it the zero-field gap: measured, each realization's Δ(B = 0) shifts by up to ~3 % at
W = 1 t. The lattice Δ is therefore compared in the units of its own zero-field gap z =
⟨Δ(B=0)⟩: ``r = ⟨Δ(B)⟩ / ⟨Δ(B=0)⟩`` against the quasiclassical Δ at ``β/z, B/z, Γ_qc/z``
(the same physical β, B and Γ in the system's own Δ0). The shift itself is a validity rule
of this stage (``zero_field_gap_shift``: |z/Δ_clean(B=0) − 1| <= 5 %, so that the
normalization is a first-order correction; its square, 0.25 %, is far below the tolerance).

* ``clean``: clean lattice Δ(B) (`GapSolver`, converged mesh, same U and ω_c) vs the
  quasiclassical gap: 0.003 Δ0 (measured 4e-4; the lattice's Δ(0) is 1.0026).
* ``clean_ratio``: the clean lattice's r = Δ(B)/Δ(0) vs the quasiclassical one in its
  zero-field units: 0.003 (measured offset −0.0021 at ω_c = 10 Δ0, −0.0015 at 13 Δ0: the
  finite pairing shell and E_F). This offset is the lattice's own systematic; the
  disordered comparisons subtract it.
* ``<case>`` (Born cases and the smooth control): what disorder changes, lattice vs SCBA,
  ``|(r − r_SCBA(Γ_qc, β_eff)) − (r_clean − r_SCBA,clean)| <= 3 s``, the SCBA at the measured
  Γ_qc and the measured β_eff of the disorder-renormalized Fermi surface, in the case's own
  zero-field units; s combines the standard error of r (jackknife over realizations) with
  the Γ and β_eff errors propagated through the SCBA's slopes. The fixed-β SCBA value is
  reported beside it (``qc_fixed_beta``).
* ``smooth`` (Γ_qc ≈ 0): Anderson's theorem on the gap. The 64² grid samples the lattice's
  β(k) off the Fermi surface, which lowers the clean supercell's r by 0.012 against the
  converged lattice (with the ideal valley operator, constant β, by 0.001: measured, issue
  21); Anderson disorder randomizes the levels and removes that, smooth disorder only partly.
  So the smooth case's ``r − r_SCBA`` must lie between the two clean references, the clean
  supercell of the same twists (computed beside the studies) and the converged lattice,
  within 3 s; pair breaking by intravalley disorder would put it below both (value: the
  distance outside the bracket).
* ``suppression``: ``(r_clean − r)/s >= 3`` for the strongest Anderson case (the
  intervalley suppression is resolved).

Checks whose tolerance is a standard error over realizations need at least
``MIN_REALIZATIONS_FOR_ERRORS`` realizations; with fewer (``validate --quick``) they are
reported as not run, with the reason, never as passed.

DOS (``disorder/<case>/...``)
-----------------------------
The KPM DOS is the true DOS convolved with the Jackson kernel, a Gaussian of width ``σ = π a
/ M`` (a the spectral half-width, M moments). The SCBA DOS (η = 0.005 Δ0), at the measured
Γ and *the lattice's mean Δ of that case* (the gap is tested above; here the DOS is), is
convolved with the same Gaussian; both are ``N_s/N_n`` on ``0 <= E <= 6 Δ0``. Mirage-dip
depth ``D = 1 − N(ε0) / ½[N(ε0 − δ) + N(ε0 + δ)]`` at the clean formula ε0, δ; the clean
references are the exact lattice DOS (triangle method) and the clean quasiclassical DOS
through the same kernel.

Tolerances, all from measured errors:

* ``L1`` (mean ``|N_lat − N_qc⊛G|``): ``3 s + e_Γ + e_β``: s the mean jackknife error,
  e_Γ half the L1 change of the SCBA curve between Γ ± its error, e_β the L1 distance
  between the SCBA curve at the Fermi-surface mean β and the average of SCBA curves over
  the lattice's Fermi-surface β distribution (trigonal warping, which the single-β theory
  leaves out; measured for each case).
* ``relative_depth`` ``|D/D_clean (lattice) − D/D_clean (SCBA)|``: ``3 σ_D + e_Γ + e_β``,
  the same three terms for the relative depth.
* ``smooth/dip_kept``: ``D_smooth/D_clean >= 1 − 3 σ_D − e_β``.
* ``filling_significance``: ``(D_clean − D)/σ_D >= 3`` for the strongest Anderson case.
* ``depth_resolved``: ``3 σ_D/D_clean <= 0.5``: the statistical power without which the depth
  checks above could not fail (they are still reported).
"""

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from comparisons.parameters import binned_fermi_surface
from comparisons.report import Check
from latticemirage.disorder import band, kpm, rates, selfconsistent, study, validity
from latticemirage.disorder import supercell as scm
from latticemirage.disorder.potentials import AndersonDisorder, PointImpurities, SmoothDisorder
from latticemirage.dos import clean_dos
from latticemirage.gap import GapSolver
from latticemirage.mapping import map_to_lattice
from mirage_common.formulas import mirage_formula
from mirage_common.io import read_table
from mirage_common.parallel import process_pool
from quasiclassical import QCParams, TMatrixImpurities, density_of_states, solve_gap

__all__ = ["ENERGIES", "default_executor", "run", "unit_seconds", "units", "validity_checks"]

# Quantities of the checks, as the readings name them.
Q_GAP = "self-consistent gap, lattice vs quasiclassics at the measured Gamma (Delta0)"
Q_SUPPRESSION = "gap suppression by intervalley disorder, in standard errors"
Q_L1 = "DOS distance L1, lattice vs SCBA (x) kernel"
Q_SMOOTH = "smooth-disorder dip depth D/D_clean (Anderson control)"
Q_DEPTH = "relative dip depth D/D_clean, |lattice - SCBA|"
Q_FILLING = "dip filling by intervalley disorder, in standard errors"
Q_VALIDITY = "validity rules of the comparison"
Q_POWER = "statistical power of the dip-depth comparison"

ENERGIES = (0.0, 6.0, 241)  # KPM output grid (Δ0): (min, max, points)
QC_ETA = 0.005  # Δ0: Dynes η of the quasiclassical curve before the kernel convolution
QC_STEP = 0.005  # Δ0: fine grid of the quasiclassical curve
GAP_SIGMAS = 3.0  # the gap checks: |difference| within 3 combined standard errors
# Δ0: the clean lattice's Δ(B)/Δ(0) against quasiclassics. Measured offset (2026-12-07) at the
# converged k mesh: -0.0021 at ω_c = 10 Δ0 and -0.0015 at 13 Δ0: the finite pairing shell and
# E_F of the lattice (beyond quasiclassics); 0.003 leaves room for neither a doubled offset
# nor a wrong field or β (dΔ/dβ ≈ 0.07 per Δ0 here).
CLEAN_RATIO_TOL = 0.003
# Δ0: the clean lattice Δ(B) against quasiclassics: measured 4e-4 apart at ω_c = 10 Δ0, where the
# lattice's zero-field gap is 1.0026 (the same finite-shell systematic as above).
CLEAN_GAP_TOL = 0.003
MIN_REALIZATIONS_FOR_ERRORS = 4  # fewer: a standard error over realizations is no tolerance
ZERO_FIELD_SHIFT_MAX = 0.05  # relative: the zero-field gap renormalization rule
SIGMAS = 3.0  # significance of the filling and the suppression
RATE_ETA = 0.01  # t: broadening of the rate measurement (> level spacing of rate_size^2)
CLEAN_MESH = 2000  # k mesh of the clean reference: energy step v_F|b|/mesh ~ 0.1 Δ0 < σ/3
DEPTH_POWER = 0.5  # D/D_clean: largest 3 σ_D at which a depth comparison means something
BETA_BINS = 4  # bins of |β| for the warping estimate e_β (spread ±12 %: 3 % per bin)


def validity_checks(verdict, case):
    """The rules of a `latticemirage.disorder.validity.Verdict` as report checks.

    Named ``disorder/validity/<case>/<rule>``; a violated rule is a failed check (the
    stage fails rather than passing with a note). ``within`` rules (Born: ``|T|²/V²``
    within 10 % of 1) are checked as ``|value − 1| <= limit``.

    Returns
    -------
    list of Check
    """
    checks = []
    for rule in verdict.rules:
        value, comparison = rule.value, rule.comparison
        if comparison == "within":
            value, comparison = abs(rule.value - 1), "<="
        checks.append(Check(f"disorder/validity/{case}/{rule.name}", value, rule.limit,
                            "ratio", rule.reading, comparison=comparison,
                            details={"value": rule.value, "rule": rule.comparison},
                            quantity=Q_VALIDITY))
    return checks


@dataclass(frozen=True)
class _Case:
    name: str
    disorder: object
    label: str
    scba: bool  # quantitative SCBA checks (Born rule required unless tmatrix)
    beyond: str = ""  # why a case is drawn, not checked, against the SCBA
    tmatrix: bool = False  # point impurities: the T-matrix SCBA instead of Born


def _cases(setup, res, params0):
    cases = [_Case(f"anderson_{w:g}", AndersonDisorder(w), f"Anderson W={w:g} t", True)
             for w in res.anderson_widths]
    # Smooth disorder with the Born total rate of Anderson W = smooth_matched_width. Measured:
    # correlated over 3 a it does not randomize the supercell's levels (its Δ(0) and Δ(B)/Δ(0)
    # are those of the clean supercell of the same size, not of the converged lattice), so
    # its zero-field-shift rule reports that finite-size bias.
    trial = SmoothDisorder(0.1, setup.smooth_correlation_length)
    r_ref = rates.measure_rates(params0, AndersonDisorder(setup.smooth_matched_width),
                                res.rate_size, 2, setup.seed, eta=RATE_ETA)
    r_trial = rates.measure_rates(params0, trial, res.rate_size, 2, setup.seed, eta=RATE_ETA)
    amplitude = float(0.1 * np.sqrt(r_ref.born_total / r_trial.born_total))
    cases.append(_Case("smooth", SmoothDisorder(amplitude, setup.smooth_correlation_length),
                       f"smooth, rms {amplitude:.3g} t, "
                       f"corr. {setup.smooth_correlation_length:g} a",
                       False))
    # Point impurities beyond Born (|T|²/V² ≈ 1.5 at V = 0.5 t): the self-consistent
    # T-matrix at the measured normal rate and the lattice's cot δ0 (no Born rule).
    cases += [_Case(f"point_{c:g}", PointImpurities(c, setup.impurity_strength),
                    f"point V={setup.impurity_strength:g} t, n_i={c:g} (T-matrix)", True,
                    tmatrix=True)
              for c in res.concentrations]
    return cases


def _pooled_dos(where, spec, extra_spec, folder, name, executor):
    """DOS ratio of averages and its jackknife error over a gap study's realizations and
    the extra KPM-only realizations of *extra_spec* (its own resumable study folder)."""
    extra_where = folder / f"{name}-dos-v{study.FORMAT_VERSION}-{extra_spec.digest()}"
    study.run_study(extra_where, extra_spec, executor=executor, progress=False)
    parts = [study.read_dos(w) for w in (where, extra_where)]
    return study.ratio_of_averages(np.concatenate([p[0] for p in parts]),
                                   np.concatenate([p[1] for p in parts]))


def units(setup):
    """Work units (progress ticks): clean gaps, one per study, SCBA curves, clean DOS."""
    res = setup.resolution
    return 3 + len(res.anderson_widths) + 1 + len(res.concentrations)


def unit_seconds(setup, workers=2):
    """Expected seconds per work unit at a scale the default stage's timing does not cover.

    None at the default resolution (the validate driver's measured 60 s per unit apply).
    With self-consistent Δ on supercells above `shell.DENSE_MAX_SITES` (the full scale),
    the shell solver's time model per realization (`latticemirage.estimates.shell_gap`,
    calibrated on 300² runs: 2260 s with two twists on one core) times the realizations of
    every case, spread over *workers* and the stage's units; the KPM DOS (~40 s per 300²
    realization) is left out.
    """
    from latticemirage.disorder import shell

    res = setup.resolution
    size = res.supercell
    if not res.self_consistent or size**2 <= shell.DENSE_MAX_SITES:
        return None
    per_realization = selfconsistent.realization_estimate(
        map_to_lattice(setup.disorder_physical()), size, res.gap_twists,
        setup.disorder_cutoff).seconds
    studies = len(res.anderson_widths) + 1 + len(res.concentrations)
    return studies * res.realizations * per_realization / max(workers, 1) / units(setup)


def _init_worker():
    kpm.set_num_threads(1)


def _gaussian_convolve(e_fine, dos_fine, energies, sigma):
    """``∫ dE' G_σ(E − E') N(E')`` at *energies* (Gaussian of std σ, Riemann sum)."""
    w = np.exp(-0.5 * ((energies[:, None] - e_fine[None, :]) / sigma) ** 2)
    w /= w.sum(axis=1, keepdims=True)
    return w @ dos_fine


def _depth(energies, dos, err, eps0, width):
    """Mirage-dip contrast D and its standard error (interpolated)."""
    n0 = np.interp(eps0, energies, dos)
    n1 = np.interp(eps0 - width, energies, dos)
    n2 = np.interp(eps0 + width, energies, dos)
    s0 = np.interp(eps0, energies, err)
    s1 = np.interp(eps0 - width, energies, err)
    s2 = np.interp(eps0 + width, energies, err)
    ref = 0.5 * (n1 + n2)
    d = 1 - n0 / ref
    sd = np.sqrt(s0**2 + (n0 / ref) ** 2 * (s1**2 + s2**2) / 4) / ref
    return float(d), float(sd)


def _kernel_width(mapping, size, moments, delta):
    """Jackson width σ (Δ0) the study will have: from the clean supercell's bounds."""
    shape = (size, size)
    params = mapping.lattice_params(delta)
    bounds = [kpm.gershgorin_bounds(scm.supercell(p, shape).matrix)
              for p in (params, {**params, "delta": 0.0})]
    lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
    return float(kpm.jackson_resolution(moments, 0.5 * (hi - lo))) / mapping.delta0


def _beta_bins(mapping):
    """|β| bins (Δ0) and weights of the lattice Fermi surface (valleys merged)."""
    b, w = mapping.fermi_surface_beta()
    betas, weights = binned_fermi_surface(np.abs(b), w, bins_per_valley=BETA_BINS)
    keep = weights > 0
    return betas[keep], weights[keep] / weights[keep].sum()


def default_executor(workers=2):
    """The local pool the stage uses without an executor: *workers* spawned processes."""
    return process_pool(workers, initializer=_init_worker)


@dataclass(frozen=True)
class _Point:
    """The disorder point and its clean references, computed once and read by every step.

    Energies in Δ0, the coupling in t; ``r_*`` are Δ(B)/Δ(0) ratios.
    """

    setup: object
    mapping: object
    coupling: float
    settings: object  # the studies' self-consistency settings, None without (full scale)
    delta_clean_lat: float
    delta_clean_lat0: float
    delta_clean_qc: float
    r_qc_clean: float

    @property
    def phys(self):
        return self.mapping.physical

    @property
    def d0(self):
        return self.mapping.delta0

    @property
    def size(self):
        return self.setup.resolution.supercell

    @property
    def params0(self):
        return self.mapping.lattice_params(0.0)

    @property
    def r_clean(self):
        return self.delta_clean_lat / self.delta_clean_lat0

    @property
    def clean_offset(self):
        """The clean lattice's r minus the quasiclassical one: its systematic (subtracted)."""
        return self.r_clean - self.r_qc_clean

    @property
    def formula(self):
        return mirage_formula(self.phys.beta, self.phys.field, self.delta_clean_qc)

    @property
    def base_qc(self):
        phys = self.phys
        return QCParams(beta=phys.beta, field=phys.field, phi=phys.phi,
                        temperature=phys.temperature, eta=QC_ETA)

    def qc_gap(self, gamma, z=1.0, beta=None, cot=None):
        """Quasiclassical Δ at Γ in the units of a zero-field gap z (Δ0): β/z, B/z, Γ/z.

        Born SCBA at the rate Γ; with *cot* (c = cot δ0) the self-consistent T-matrix at
        the normal-state rate Γ (`TMatrixImpurities.from_normal_rate`).
        """
        phys = self.phys
        beta = phys.beta if beta is None else beta
        gamma = max(gamma, 0.0) / z
        impurities = None
        if cot is not None:
            impurities, gamma = TMatrixImpurities.from_normal_rate(gamma, cot), 0.0
        return solve_gap(QCParams(beta=beta / z, field=phys.field / z, phi=phys.phi,
                                  temperature=phys.temperature, gamma=gamma,
                                  impurities=impurities)).delta


def _clean_point(setup):
    """U, the clean lattice Δ(B) and Δ(0), and the quasiclassical gaps of the disorder point."""
    res = setup.resolution
    mapping = map_to_lattice(setup.disorder_physical())
    temperature = mapping.physical.temperature
    lattice = GapSolver.build(mapping, mesh=selfconsistent.COUPLING_MESH,
                              cutoff=setup.disorder_cutoff)
    settings = None
    if res.self_consistent:
        settings = selfconsistent.study_settings(mapping, res.supercell, res.gap_twists,
                                                 temperature, cutoff=setup.disorder_cutoff,
                                                 zero_field_reference=True, bracketed=True)
    # Δ(B = 0) with the U of the field's solver (build fixes U by T_c0 alike; replace keeps
    # the one number).
    lattice0 = replace(GapSolver.build(mapping.with_field(0.0), mesh=selfconsistent.COUPLING_MESH,
                                       cutoff=setup.disorder_cutoff), coupling=lattice.coupling)
    delta_clean_lat0 = lattice0.solve(temperature=temperature).delta
    point = _Point(setup=setup, mapping=mapping, coupling=lattice.coupling, settings=settings,
                   delta_clean_lat=lattice.solve(temperature=temperature).delta,
                   delta_clean_lat0=delta_clean_lat0, delta_clean_qc=float("nan"),
                   r_qc_clean=float("nan"))
    # The clean lattice's own Δ(B)/Δ(0) against quasiclassics in its zero-field units: the
    # offset (finite shell and E_F) is the lattice's systematic, which the disordered
    # comparisons subtract (they compare what disorder changes).
    return replace(point, delta_clean_qc=point.qc_gap(0.0),
                   r_qc_clean=point.qc_gap(0.0, delta_clean_lat0))


def _clean_checks(report, pt):
    report.add(Check(
        "disorder/gap/clean", abs(pt.delta_clean_lat - pt.delta_clean_qc), CLEAN_GAP_TOL,
        "Delta0",
        f"clean lattice Delta (k mesh {selfconsistent.COUPLING_MESH}, cutoff "
        f"{pt.setup.disorder_cutoff:g} Delta0, U from T_c0) {pt.delta_clean_lat:.4f} vs "
        f"quasiclassical {pt.delta_clean_qc:.4f}", quantity=Q_GAP,
        details={"lattice": pt.delta_clean_lat, "qc": pt.delta_clean_qc,
                 "lattice_zero_field": pt.delta_clean_lat0, "coupling_t": pt.coupling}))
    report.add(Check(
        "disorder/gap/clean_ratio", abs(pt.clean_offset), CLEAN_RATIO_TOL, "Delta0",
        f"clean lattice Delta(B)/Delta(0) = {pt.r_clean:.4f} vs quasiclassical "
        f"{pt.r_qc_clean:.4f} in the lattice's zero-field units (Delta(0) = "
        f"{pt.delta_clean_lat0:.4f}); tolerance: "
        "the measured finite-shell offset (-0.0021 at omega_c = 10, -0.0015 at 13) with room",
        quantity=Q_GAP, details={"lattice": pt.r_clean, "qc": pt.r_qc_clean,
                                 "offset": pt.clean_offset}))


def run(setup, report, tick, *, executor=None):
    """Run the disorder studies; adds checks and figures to *report*.

    Steps: the clean references (`_clean_point`), the cases' rates, rules and studies
    (`_run_cases`), the gap checks, the SCBA and clean DOS curves, the DOS checks, the
    figures.

    Parameters
    ----------
    executor : concurrent.futures.Executor, optional
        Where the realizations run (a Dask ``Client.get_executor()``, an
        ``MPIPoolExecutor``, a process pool...). Default: a local pool of 2 processes.
    """
    pt = _clean_point(setup)
    _clean_checks(report, pt)
    tick("clean lattice and quasiclassical gaps")
    own = executor is None
    executor = default_executor() if own else executor
    try:
        results, cell = _run_cases(pt, report, tick, executor)
    finally:
        if own:
            executor.shutdown(cancel_futures=True)
    _gap_checks(report, pt, results, cell)
    energies = np.linspace(*ENERGIES[:2], ENERGIES[2])
    _dos_curves(pt, results, energies, tick)
    _dos_checks(report, pt, results)
    _figures(report, pt, results, energies)
    report.parameters["disorder_point"] = _point_record(pt, results)
    return results


def _run_cases(pt, report, tick, executor):
    """Rates, rules and the resumable study of every case; returns ``(results, cell)``.

    The rates and rules are measured case by case (they decide what runs); then every
    study is handed to *executor* at once, each waiting for its realizations in a thread
    of this process, so the workers stay busy across cases (a realization depends only on
    its spec and index: the order of completion changes nothing). *cell* is the clean
    supercell's ``(Δ(B), Δ(0), r − r_qc)``, or None where it is not needed.
    """
    res = pt.setup.resolution
    cases = _cases(pt.setup, res, pt.params0)
    folder = Path(report.folder) / "studies"
    g_loc = validity.local_green(pt.params0)
    # Jackson width the studies will have (the same for every case), for the rules before
    # anything runs; each study's own width is read back from its first realization.
    sigma_expected = _kernel_width(pt.mapping, pt.size, res.moments, pt.delta_clean_lat)
    cell = None
    if (pt.settings is not None and res.realizations >= MIN_REALIZATIONS_FOR_ERRORS
            and any(isinstance(c.disorder, SmoothDisorder) for c in cases)):
        # The clean supercell of the same grid and twists: the smooth control's other
        # reference (see the smooth check below), computed beside the studies; not with
        # fewer realizations, where that check is reported as not run.
        cell = executor.submit(selfconsistent.realization_delta, pt.settings, pt.size,
                               np.zeros((pt.size, pt.size)))
    prepared = [p for k, case in enumerate(cases)
                if (p := _prepare_case(pt, case, k, report, g_loc, sigma_expected, tick))]
    threads = ThreadPoolExecutor(max_workers=max(1, len(prepared)))
    try:
        futures = {threads.submit(_run_case, pt, p, folder, executor): p["case"].name
                   for p in prepared}
        done = {}
        for fut in as_completed(futures):
            done[futures[fut]] = r = fut.result()
            tick(f"study {futures[fut]} ({res.realizations} realizations, "
                 f"{r['dos_realizations']} for the DOS)")
    finally:
        threads.shutdown(wait=False, cancel_futures=True)
    results = {p["case"].name: done[p["case"].name] for p in prepared}  # the cases' order
    if cell is not None:
        d_cell, meta_cell = cell.result()
        z_cell = meta_cell["delta_zero_field_delta0"]
        cell = (d_cell, z_cell, d_cell / z_cell - pt.qc_gap(0.0, z_cell))
    return results, cell


def _prepare_case(pt, case, k, report, g_loc, sigma_expected, tick):
    """The case's measured rates and β_eff, its rules and study spec; None (with the failed
    rules reported) when the case is outside the validity rules."""
    setup, res, d0 = pt.setup, pt.setup.resolution, pt.d0
    measured = rates.measure_rates(pt.params0, case.disorder, res.rate_size,
                                   res.rate_realizations, setup.seed + 1 + k, eta=RATE_ETA)
    rate = measured.in_units(d0)
    # β on the disorder-renormalized Fermi surface (the measured Re Σ shifts the
    # contour), the Ising field handed to the SCBA beside Γ.
    b_fs, b_fs_err = band.renormalized_fermi_beta(pt.params0, measured.sigma_real,
                                                  measured.sigma_real_err)
    rate["beta_eff"], rate["beta_eff_err"] = b_fs / d0, b_fs_err / d0
    if isinstance(case.disorder, PointImpurities):
        # The dilute-limit prediction, for the record (measured 2026-12-07 at V = 0.5 t:
        # 0.94, 0.89, 0.81, 0.69 of it at n_i = 0.02, 0.05, 0.1, 0.2: the corrections of
        # order n_i it neglects), and cot δ0 = 1/(π N0 V) − R̄ of the lattice's G_loc,
        # the T-matrix SCBA's strength; its rate is the measured one, like Born's.
        c_i, v_i = case.disorder.concentration, case.disorder.strength
        rate["tmatrix_total"] = rates.single_site_tmatrix_rate(
            pt.params0, c_i, v_i, eta=RATE_ETA) / d0
        rate["tmatrix_cot"] = TMatrixImpurities.from_lattice(c_i, v_i, g_loc, d0).cot
    gamma_tot = rate["gamma_total"]
    # The SCBA's weak-disorder condition p_F ℓ ≫ 1 (read as >= validity.MIN_PF_ELL): below
    # it the case is drawn beside the SCBA, not checked against it (its lattice-only checks
    # stay).
    rate["pf_ell"] = validity.pf_ell(pt.mapping, gamma_tot)
    if case.scba and rate["pf_ell"] < validity.MIN_PF_ELL:
        case = replace(case, scba=False, beyond=(
            f"beyond the SCBA: p_F l = {rate['pf_ell']:.3g} < {validity.MIN_PF_ELL:g} "
            f"at the measured Gamma_total = {gamma_tot:.3g} Delta0 (the SCBA's weak-disorder "
            "condition)"))
    if case.tmatrix:
        # The T-matrix is single-site: away from the dilute limit (measured rate more than
        # 10 % from the single-site one) the case is drawn, not checked.
        rate["dilute_ratio"] = validity.dilute_ratio(gamma_tot, rate["tmatrix_total"])
        if case.scba and abs(rate["dilute_ratio"] - 1) > validity.DILUTE_TOLERANCE:
            case = replace(case, scba=False, beyond=(
                f"beyond the single-site T-matrix: measured Gamma_total / single-site rate = "
                f"{rate['dilute_ratio']:.3g}, more than {validity.DILUTE_TOLERANCE:.0%} from 1 "
                f"(not dilute at n_i = {case.disorder.concentration:g})"))
    # Rules before anything runs, at the Δ the case is expected to use (the clean
    # lattice's: disorder only lowers it, so L/ξ is rechecked at the measured Δ). The
    # Born rule belongs to the quantitative SCBA cases only.
    pre = validity.assess(pt.mapping, size=pt.size, delta=pt.delta_clean_lat,
                          kernel_width=sigma_expected, disorder=case.disorder,
                          born=case.scba and not case.tmatrix, g_loc=g_loc,
                          gamma_total=gamma_tot)
    if not pre.passed:
        report.add_all(validity_checks(pre, case.name))
        for what in ("gap", "L1", "relative_depth"):
            report.skip(f"disorder/{case.name}/{what}", "not computed: the case is "
                        f"outside the validity rules ({pre.message()})", quantity=Q_GAP)
        tick(f"{case.name}: outside the validity rules, not computed")
        return None
    # Without self-consistency (the full scale: the dense shell costs O(L^6)) the
    # quasiclassical Δ at the measured Γ is imposed, as a labelled assumption.
    gamma_qc = max(rate["gamma_qc"], 0.0)
    imposed = pt.qc_gap(gamma_qc) if pt.settings is None else pt.delta_clean_lat
    spec = study.StudySpec(
        params=pt.mapping.lattice_params(imposed), disorder=case.disorder.to_dict(),
        size=pt.size, moments=res.moments, vectors=res.vectors,
        realizations=res.realizations, seed=setup.seed + 100 + k, twists=res.twists,
        energy_unit=d0, energies=ENERGIES, self_consistent=pt.settings,
        meta={"case": case.name, "physical": pt.mapping.report()["physical"],
              "kernel_width_delta0": sigma_expected},
    )
    return {"case": case, "index": k, "rate": rate, "spec": spec, "imposed": imposed}


def _run_case(pt, prepared, folder, executor):
    """Run (or resume) one case's study and its extra KPM-only DOS realizations."""
    res = pt.setup.resolution
    case, k, rate, spec = (prepared[x] for x in ("case", "index", "rate", "spec"))
    # One folder per distinct spec and study format: a rerun resumes, a changed
    # setup or format starts afresh.
    where = folder / f"{case.name}-v{study.FORMAT_VERSION}-{spec.digest()}"
    avg = study.run_study(where, spec, executor=executor, progress=False)
    _, meta_avg = read_table(where / study.AVERAGE_FILE)
    _, meta0 = read_table(where / "realizations" / "r00000.npz")
    dsum = meta_avg.get("delta") or {"mean": prepared["imposed"], "imposed": True}
    dos, stderr = np.asarray(avg["dos"]), np.asarray(avg["stderr"])
    n_dos = dict(res.dos_realizations).get(case.name, res.realizations)
    if n_dos > res.realizations:
        dos, stderr = _pooled_dos(where, spec, replace(
            spec, params=pt.mapping.lattice_params(dsum["mean"]),
            realizations=n_dos - res.realizations, seed=pt.setup.seed + 200 + k,
            self_consistent=None,
            meta={**spec.meta, "imposed_delta": "the mean self-consistent Delta(B) of "
                  "the gap study's realizations (extra DOS realizations, KPM only)"}),
            folder, case.name, executor)
    gamma_qc = max(rate["gamma_qc"], 0.0)
    return {
        "case": case, "rate": rate, "gamma_qc": gamma_qc,
        "gamma_qc_err": float(rate["gamma_qc_err"] or 0.0),
        "beta_eff": rate["beta_eff"], "beta_eff_err": rate["beta_eff_err"],
        "gamma_total": rate["gamma_total"], "sigma": float(meta0["kernel_width_delta0"]),
        "delta": dsum, "lattice": dos, "stderr": stderr,
        "dos_realizations": max(n_dos, res.realizations),
    }


def _powered(res):
    """Whether standard errors over the realizations can serve as tolerances, and why not."""
    return res.realizations >= MIN_REALIZATIONS_FOR_ERRORS, (
        f"{res.realizations} realizations: a standard error over fewer than "
        f"{MIN_REALIZATIONS_FOR_ERRORS} realizations is itself too uncertain to be a "
        "tolerance (run the full stage)")


def _gap_checks(report, pt, results, cell):
    """``disorder/gap/<case>`` and the suppression: r against the SCBA at Γ_qc and β_eff."""
    res, size = pt.setup.resolution, pt.size
    g_loc = validity.local_green(pt.params0)
    powered, underpowered = _powered(res)
    for name, r in results.items():
        case = r["case"]
        mean_delta = r["delta"]["mean"]
        # Rules at the Δ the case used (the lattice mean, or the imposed one).
        checks = validity_checks(validity.assess(
            pt.mapping, size=size, delta=mean_delta, kernel_width=r["sigma"],
            disorder=case.disorder, born=case.scba and not case.tmatrix, g_loc=g_loc,
            gamma_total=r["gamma_total"]), name)
        if pt.settings is None:
            report.add_all(checks)
            report.skip(f"disorder/gap/{name}", "the self-consistent Delta is not computed in "
                        "this resolution (self_consistent=False): the quasiclassical Delta at "
                        "the measured Gamma is imposed", quantity=Q_GAP)
            r.update(ratio=mean_delta, ratio_err=0.0, z=1.0)
            continue
        ratio_summary = r["delta"]["ratio_to_zero_field"]
        ratio, s_ratio = ratio_summary["mean"], ratio_summary["stderr"] or 0.0
        z = r["delta"]["zero_field"]["mean"]
        shift = z / pt.delta_clean_lat0 - 1
        checks.append(Check(
            f"disorder/validity/{name}/zero_field_gap_shift", abs(shift), ZERO_FIELD_SHIFT_MAX,
            "relative", f"lattice zero-field gap {z:.4f} vs clean {pt.delta_clean_lat0:.4f} "
            f"({res.gap_twists} twists): the density-of-states renormalization by disorder (beyond "
            "quasiclassics), corrected to first order by the normalization", quantity=Q_VALIDITY,
            details={"zero_field_mean": z, "clean_zero_field": pt.delta_clean_lat0}))
        report.add_all(checks)
        r["ratio"], r["ratio_err"], r["z"] = ratio, s_ratio, z
        _gap_check(report, pt, name, r, cell, (powered, underpowered), g_loc)
    anderson = [n for n, r in results.items() if isinstance(r["case"].disorder, AndersonDisorder)]
    if anderson and pt.settings is not None and not powered:
        report.skip(f"disorder/gap/{anderson[-1]}/suppression", underpowered,
                    quantity=Q_SUPPRESSION)
    elif anderson and pt.settings is not None:
        last = results[anderson[-1]]
        report.add(Check(
            f"disorder/gap/{anderson[-1]}/suppression",
            (pt.r_clean - last["ratio"]) / last["ratio_err"] if last["ratio_err"] > 0
            else float("nan"), SIGMAS, "sigma",
            "tests whether intervalley disorder in a field lowers the lattice gap: clean minus "
            "disordered <Delta(B)>/<Delta(0)> in units of its standard error", comparison=">=",
            quantity=Q_SUPPRESSION,
            details={"clean_ratio": pt.r_clean, "ratio": last["ratio"],
                     "stderr": last["ratio_err"]}))


def _gap_check(report, pt, name, r, cell, power, g_loc):
    """One case's gap check (what disorder changes, lattice vs SCBA), or why it is not run."""
    powered, underpowered = power
    case, ratio, s_ratio, z = r["case"], r["ratio"], r["ratio_err"], r["z"]
    smooth = isinstance(case.disorder, SmoothDisorder)
    beyond = None
    if not (case.scba or smooth):
        beyond = case.beyond or (
            "beyond the SCBA (Born rule |T|^2/V^2 = "
            f"{validity.tmatrix_born_ratio(pt.params0, case.disorder, g_loc=g_loc):.3g})")
    # The SCBA at the measured Γ_qc and β_eff (each realization's Fermi-level Ising field)
    # in the case's own zero-field units; the fixed-β value is kept for the record.
    cot = r["rate"]["tmatrix_cot"] if case.tmatrix else None

    def qc_gap(gamma, zz, beta=None):
        return pt.qc_gap(gamma, zz, beta, cot)

    g, g_err, b, b_err = r["gamma_qc"], r["gamma_qc_err"], r["beta_eff"], r["beta_eff_err"]
    expected = qc_gap(g, z, b)
    fixed = qc_gap(g, z)
    step = max(g_err, 1e-3)
    slope_g = (qc_gap(g + step, z, b) - qc_gap(max(g - step, 0.0), z, b)) / (
        g + step - max(g - step, 0.0))
    hb = max(b_err, 1e-3)
    slope_b = (qc_gap(g, z, b + hb) - qc_gap(g, z, b - hb)) / (2 * hb)
    s = float(np.sqrt(s_ratio**2 + (slope_g * g_err) ** 2 + (slope_b * b_err) ** 2))
    # What disorder changes, lattice vs SCBA: the clean offset (lattice systematic) removed.
    # Against the converged clean lattice. For the smooth control this is a judgement: its
    # supercell is not randomized like the Anderson ones (measured, 2026-12-07: against the
    # clean 64² supercell of the same twists, offset −0.0143, the excess is +0.0093; against
    # the lattice, −0.0029), so its grid bias lies between the two references.
    reference = pt.clean_offset
    excess = (ratio - expected) - reference
    r.update(qc_gap=expected, qc_gap_fixed_beta=fixed, gap_excess=excess, gap_stderr=s)
    what = ("Anderson theorem on the gap: smooth (intravalley) disorder" if not case.scba
            else "point impurities beyond Born, T-matrix SCBA" if case.tmatrix
            else "intervalley disorder")
    details = {"lattice_ratio": ratio, "lattice_ratio_err": s_ratio,
               "lattice_mean_delta": r["delta"]["mean"], "lattice_zero_field": z,
               "qc": expected, "qc_fixed_beta": fixed, "beta_eff": b, "beta_eff_err": b_err,
               "gamma_qc": g, "gamma_qc_err": g_err, "gamma_total": r["gamma_total"],
               "qc_slope_per_gamma": slope_g, "qc_slope_per_beta": slope_b, "stderr": s,
               "clean_offset": reference, "clean_reference": "converged clean lattice",
               "excess_fixed_beta": ratio - fixed - reference,
               "per_realization": r["delta"]["per_realization"]}
    if case.tmatrix:
        # What the T-matrix adds: beyond the measured rate (its energy-dependent x(ε)
        # factor; Born SCBA at the same rate), and against the Born rate of the same V.
        born_same = pt.qc_gap(g, z, b)
        born_rate = r["rate"]["born_qc"]
        born_own = pt.qc_gap(born_rate, z, b)
        details.update(tmatrix_cot=cot, tmatrix_total_dilute=r["rate"]["tmatrix_total"],
                       born_rate=born_rate, born_at_measured_rate=born_same,
                       excess_born_at_measured_rate=ratio - born_same - reference,
                       born_at_born_rate=born_own,
                       excess_born_at_born_rate=ratio - born_own - reference)
        r.update(qc_gap_born_rate=born_own)
    name_check = f"disorder/gap/{name}"
    if beyond is not None:
        report.skip(name_check, f"{beyond}: shown in the figures as a labelled comparison "
                    f"(lattice minus SCBA beyond the clean offset {excess:+.4f}), not checked",
                    quantity=Q_GAP)
        return
    if not powered:
        report.skip(name_check, underpowered, quantity=Q_GAP)
        return
    if smooth and cell is not None:
        # Anderson's theorem on the gap. Smooth disorder randomizes the supercell's
        # levels only partly, and the 64² grid's sampling of the lattice's β(k) lowers
        # the clean supercell's ratio (the ideal valley operator's does not: measured
        # -0.0143 against -0.0013, issue 21): its lattice - SCBA must lie between the
        # clean supercell's and the converged lattice's (no randomization and full);
        # pair breaking by intravalley disorder would put it below both.
        d_cell, z_cell, cell_offset = cell
        lo, hi = sorted((reference, cell_offset))
        diff = ratio - expected
        outside = max(0.0, lo - diff, diff - hi)
        details.update(clean_supercell_offset=cell_offset,
                       clean_supercell_ratio=d_cell / z_cell,
                       clean_supercell_zero_field=z_cell,
                       excess_vs_supercell=diff - cell_offset)
        report.add(Check(
            name_check, outside, GAP_SIGMAS * s, "Delta0",
            f"{what}: lattice - SCBA = {diff:+.4f} +- {s:.4f} against the bracket of the "
            f"clean references [{lo:+.4f}, {hi:+.4f}] (converged clean lattice "
            f"{reference:+.4f}, clean {pt.size}^2 supercell of the same twists "
            f"{cell_offset:+.4f}); value: the distance outside it, tolerance 3 standard "
            "errors", quantity=Q_GAP, details=details))
        return
    theory, born_note = "SCBA", ""
    if case.tmatrix:
        theory = f"T-matrix SCBA (cot delta0 = {cot:.3f})"
        born_note = (f"; Born SCBA at the same rate {details['born_at_measured_rate']:.4f}, "
                     f"at the Born rate {details['born_rate']:.3f}: "
                     f"{details['born_at_born_rate']:.4f}")
    report.add(Check(
        name_check, abs(excess), GAP_SIGMAS * s, "Delta0",
        f"{what}: lattice <Delta(B)>/<Delta(0)> = {ratio:.4f} +- {s_ratio:.4f} vs {theory} "
        f"{expected:.4f} at the measured Gamma_qc = {g:.3f} +- {g_err:.3f} and beta_eff = "
        f"{b:.3f} +- {b_err:.3f} Delta0 (fixed beta = {pt.phys.beta:g}: {fixed:.4f}), both "
        f"less their clean values (offset {reference:+.4f}){born_note}; tolerance 3 x the "
        "combined standard error (realizations, Gamma, beta_eff)", quantity=Q_GAP,
        details=details))


def _scba_params(base, r, gamma):
    """The quasiclassical parameters of case *r* at the rate *gamma* (Δ0) and its β_eff.

    Born cases: ``gamma`` (= Γ_qc) and the measured intravalley remainder. Point
    impurities (``tmatrix``): the T-matrix at the normal rate *gamma* and the lattice's
    cot δ0; an on-site potential scatters every valley pair alike, so its intravalley part
    is inside the T-matrix and no Born remainder is added.
    """
    if r["case"].tmatrix:
        return base.replace(gamma=0.0, gamma_intra=0.0, beta=r["beta_eff"],
                            impurities=TMatrixImpurities.from_normal_rate(
                                gamma, r["rate"]["tmatrix_cot"]))
    return base.replace(gamma=gamma, beta=r["beta_eff"],
                        gamma_intra=max(r["gamma_total"] - r["gamma_qc"], 0.0))


def _dos_curves(pt, results, energies, tick):
    """Per case: the SCBA curves through its kernel, the mirage-dip depths and the clean
    references' depths through the same kernel (added to *results*)."""
    phys, base_qc = pt.phys, pt.base_qc
    formula = pt.formula
    eps0, width = float(formula.eps0), float(formula.width)
    e_fine = np.arange(-3.0, ENERGIES[1] + 3.0, QC_STEP)
    betas, beta_w = _beta_bins(pt.mapping)

    def scba_curves(qp, delta, sigma):
        """SCBA N_s/N_n (x) G at qp's β and averaged over the lattice's |β| bins (scaled to
        the same mean: the clean Fermi-surface distribution, renormalized as a whole)."""
        single = _gaussian_convolve(e_fine, density_of_states(e_fine, qp, delta=delta).dos,
                                    energies, sigma)
        scale = qp.beta / phys.beta
        binned = sum(w * density_of_states(e_fine, qp.replace(beta=b * scale), delta=delta).dos
                     for b, w in zip(betas, beta_w, strict=True))
        return single, _gaussian_convolve(e_fine, binned, energies, sigma)

    for r in results.values():
        # At the measured Γ and β_eff of the case (its Fermi-level states' Ising field).
        qp = _scba_params(base_qc, r, r["gamma_qc"])
        delta = r["delta"]["mean"]
        r["qc"], r["qc_binned"] = scba_curves(qp, delta, r["sigma"])
        g_lo = max(r["gamma_qc"] - r["gamma_qc_err"], 0.0)
        r["qc_lo"] = _gaussian_convolve(e_fine, density_of_states(
            e_fine, _scba_params(base_qc, r, g_lo), delta=delta).dos, energies, r["sigma"])
        r["qc_hi"] = _gaussian_convolve(e_fine, density_of_states(
            e_fine, _scba_params(base_qc, r, r["gamma_qc"] + r["gamma_qc_err"]),
            delta=delta).dos, energies, r["sigma"])
    tick("SCBA curves")

    # Clean reference: exact lattice DOS (triangle method) and quasiclassics, same Gaussian.
    e_bins = np.arange(e_fine[0], e_fine[-1], QC_STEP) + QC_STEP / 2
    cd = clean_dos(pt.mapping, e_bins, mesh=CLEAN_MESH, delta=pt.delta_clean_lat)
    zeros = np.zeros_like(energies)

    def clean_depths(sig):
        lat = _gaussian_convolve(e_bins, cd.dos, energies, sig) / _gaussian_convolve(
            e_bins, cd.dos_normal, energies, sig)
        single, binned = scba_curves(base_qc, pt.delta_clean_qc, sig)
        return lat, tuple(_depth(energies, c, zeros, eps0, width)[0]
                          for c in (lat, single, binned))

    for r in results.values():
        r["D_lat"], r["D_lat_err"] = _depth(energies, r["lattice"], r["stderr"], eps0, width)
        r["D_qc"] = _depth(energies, r["qc"], zeros, eps0, width)[0]
        r["D_qc_binned"] = _depth(energies, r["qc_binned"], zeros, eps0, width)[0]
        r["D_qc_lo"] = _depth(energies, r["qc_lo"], zeros, eps0, width)[0]
        r["D_qc_hi"] = _depth(energies, r["qc_hi"], zeros, eps0, width)[0]
        # Each case against the clean depth through its *own* kernel width.
        r["clean_lattice"], (r["D_lat_clean"], r["D_qc_clean"], r["D_qc_binned_clean"]) = \
            clean_depths(r["sigma"])
    tick("clean reference (triangle method)")


def _skip_drawn(report, name, case, checks):
    """Report a drawn case's DOS *checks* ((what, quantity) pairs) as not run, with why."""
    why = case.beyond or "beyond the SCBA (Born rule violated)"
    for what, quantity in checks:
        report.skip(f"disorder/{name}/{what}",
                    f"{why}: drawn as a labelled comparison, not checked", quantity=quantity)


def _dos_checks(report, pt, results):
    """The DOS checks of every case: power, smooth dip kept, L1, relative depth, filling."""
    res = pt.setup.resolution
    powered, underpowered = _powered(res)
    anderson = [n for n, r in results.items() if isinstance(r["case"].disorder, AndersonDisorder)]
    for name, r in results.items():
        case = r["case"]
        rel_lat = r["D_lat"] / r["D_lat_clean"]
        rel_qc = r["D_qc"] / r["D_qc_clean"]
        rel_binned = r["D_qc_binned"] / r["D_qc_binned_clean"]
        sig = abs(r["D_lat_err"] / r["D_lat_clean"])
        e_gamma = 0.5 * abs(r["D_qc_hi"] - r["D_qc_lo"]) / r["D_qc_clean"]
        e_beta = abs(rel_binned - rel_qc)
        r.update(rel_lat=rel_lat, rel_qc=rel_qc, rel_sig=sig)
        if not (case.scba or isinstance(case.disorder, SmoothDisorder)
                or (anderson and name == anderson[-1])):
            # A drawn case with no depth check of its own (not the filling case): a power
            # check would gate nothing, so it is not run and no extra DOS realizations are
            # spent on it (`Resolution.dos_realizations`); the filling figure still draws its
            # relative depth (above).
            _skip_drawn(report, name, case, (("depth_resolved", Q_POWER), ("L1", Q_L1),
                                             ("relative_depth", Q_DEPTH)))
            continue
        if not powered:
            for what in ("depth_resolved", "L1", "relative_depth", "dip_kept"):
                report.skip(f"disorder/{name}/{what}", underpowered, quantity=Q_DEPTH)
            continue
        # Statistical power: with 3 σ_D above half the clean depth a depth comparison cannot
        # tell a filled dip from an intact one, so its pass would mean nothing.
        report.add(Check(
            f"disorder/{name}/depth_resolved", SIGMAS * sig, DEPTH_POWER, "D/D_clean",
            f"3 x the KPM standard error of D/D_clean ({r['dos_realizations']} realizations x "
            f"{res.vectors} vectors, D_clean = {r['D_lat_clean']:.3f}); above "
            f"{DEPTH_POWER:g} the depth checks cannot fail", quantity=Q_POWER,
            details={"D": r["D_lat"], "D_err": r["D_lat_err"], "D_clean": r["D_lat_clean"]}))
        if isinstance(case.disorder, SmoothDisorder):
            report.add(Check(
                "disorder/smooth/dip_kept", rel_lat, 1 - SIGMAS * sig - e_beta, "D/D_clean",
                "Anderson-theorem control: tests whether smooth (intravalley) disorder of the "
                "same Born rate leaves the mirage dip (lattice D/D_clean)", comparison=">=",
                details={"D": r["D_lat"], "D_err": r["D_lat_err"], "D_clean": r["D_lat_clean"],
                         "sigma_kernel": r["sigma"], "qc_relative_depth": rel_qc,
                         "warping_term": e_beta}, quantity=Q_SMOOTH))
            continue
        if not case.scba:
            _skip_drawn(report, name, case, (("L1", Q_L1), ("relative_depth", Q_DEPTH)))
            continue
        l1 = float(np.mean(np.abs(r["lattice"] - r["qc"])))
        s = float(np.mean(r["stderr"]))
        e_gamma_l1 = 0.5 * float(np.mean(np.abs(r["qc_hi"] - r["qc_lo"])))
        e_beta_l1 = float(np.mean(np.abs(r["qc_binned"] - r["qc"])))
        report.add(Check(
            f"disorder/{name}/L1", l1, SIGMAS * s + e_gamma_l1 + e_beta_l1, "N_n",
            f"mean |N_KPM - N_SCBA (x) G| on 0..6 Delta0 at the measured Gamma_qc = "
            f"{r['gamma_qc']:.3g} Delta0 and the lattice Delta; tolerance 3 x stderr + Gamma "
            "error + warping (single beta vs the lattice beta distribution)",
            details={"stderr_mean": s, "gamma_error_term": e_gamma_l1, "warping_term": e_beta_l1,
                     "sigma_kernel": r["sigma"], "gamma_qc": r["gamma_qc"],
                     "gamma_qc_err": r["gamma_qc_err"], "gamma_total": r["gamma_total"],
                     "delta": r["delta"]["mean"], "rates_delta0": r["rate"]},
            quantity=Q_L1))
        report.add(Check(
            f"disorder/{name}/relative_depth", abs(rel_lat - rel_qc),
            SIGMAS * sig + e_gamma + e_beta, "D/D_clean",
            f"mirage-dip depth relative to clean: lattice {rel_lat:.3f} vs SCBA {rel_qc:.3f} "
            "(same kernel); tolerance 3 sigma + Gamma error + warping",
            details={"lattice": rel_lat, "qc": rel_qc, "qc_beta_distribution": rel_binned,
                     "sigma": sig, "gamma_term": e_gamma, "warping_term": e_beta,
                     "D_clean_lattice": r["D_lat_clean"], "D_clean_qc": r["D_qc_clean"],
                     "sigma_kernel": r["sigma"]},
            quantity=Q_DEPTH))
    if anderson and not powered:
        report.skip(f"disorder/{anderson[-1]}/filling_significance", underpowered,
                    quantity=Q_FILLING)
    elif anderson:
        last = results[anderson[-1]]
        sig = last["D_lat_err"]
        report.add(Check(
            f"disorder/{anderson[-1]}/filling_significance",
            (last["D_lat_clean"] - last["D_lat"]) / sig if sig > 0 else float("nan"), SIGMAS,
            "sigma", "tests for filling of the mirage gap by intervalley disorder: clean minus "
            "disordered dip depth (same kernel width) in units of its standard error",
            comparison=">=", quantity=Q_FILLING,
            details={"D_clean": last["D_lat_clean"], "D": last["D_lat"], "sigma": sig}))


def _point_record(pt, results):
    """The disorder point as the report's parameters record it."""
    res, formula = pt.setup.resolution, pt.formula
    return {
        "cutoff_delta0": pt.setup.disorder_cutoff, "coupling_t": pt.coupling,
        "self_consistent": pt.settings is not None,
        "clean_lattice_delta": pt.delta_clean_lat,
        "clean_lattice_delta_zero_field": pt.delta_clean_lat0,
        "clean_qc_delta": pt.delta_clean_qc, "eps0": float(formula.eps0),
        "width": float(formula.width),
        "clean_ratio_lattice": pt.r_clean, "clean_ratio_qc": pt.r_qc_clean,
        "supercell": res.supercell, "twists_dos": res.twists, "twists_gap": res.gap_twists,
        "moments": res.moments,
        "realizations": res.realizations,
        "cases": {name: {"gamma_qc": r["gamma_qc"], "gamma_qc_err": r["gamma_qc_err"],
                         **({"tmatrix_cot": r["rate"]["tmatrix_cot"],
                             "tmatrix_total_dilute": r["rate"]["tmatrix_total"],
                             "born_qc": r["rate"]["born_qc"]} if r["case"].tmatrix else {}),
                         "gamma_total": r["gamma_total"], "beta_eff": r["beta_eff"],
                         "beta_eff_err": r["beta_eff_err"],
                         "sigma_real_delta0": r["rate"]["sigma_real"],
                         "sigma_real_err_delta0": r["rate"]["sigma_real_err"]}
                  for name, r in results.items()}}


def _figures(report, pt, results, energies):
    """Fig. 2(a) (gap vs Γ), the DOS and the dip filling, and the point's note."""
    import matplotlib.pyplot as plt

    _figure_gap(report, pt, results, plt)
    _figure_dos(report, pt, results, energies, plt)
    _figure_filling(report, pt, results, plt)
    phys, d0, setup = pt.phys, pt.d0, pt.setup
    eps0, width = float(pt.formula.eps0), float(pt.formula.width)
    report.notes.append(
        f"Disorder variant: beta={phys.beta:g}, B={phys.field:g}, Delta0={d0:g} t, E_F="
        f"{phys.e_fermi:g} Delta0, omega_c={setup.disorder_cutoff:g} Delta0; clean formula "
        f"eps0={eps0:.3f}, delta={width:.3f} Delta0; clean gaps: lattice {pt.delta_clean_lat:.4f}, "
        f"quasiclassical {pt.delta_clean_qc:.4f} (Delta(B)/Delta(0) lattice {pt.r_clean:.4f}).")


def _marker(name, r):
    """Marker of a case: Born SCBA cases, the T-matrix case, smooth control, drawn only."""
    if r["case"].tmatrix and r["case"].scba:
        return "m^"
    return "ko" if r["case"].scba else ("gs" if name == "smooth" else "bD")


def _figure_gap(report, pt, results, plt):
    phys, res, qc_gap, clean_offset = pt.phys, pt.setup.resolution, pt.qc_gap, pt.clean_offset
    settings_used = pt.settings is not None
    # Fig. 2(a): Δ(Γ), the SCBA shifted by the clean lattice's offset (its finite-shell
    # systematic) so that the lattice markers compare directly.
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    gg = np.linspace(0.0, 2.4, 25)
    ax.plot(gg, [qc_gap(g) + clean_offset for g in gg], "r-", lw=1,
            label=rf"SCBA, fixed $\beta={phys.beta:g}\Delta_0$ (+ clean offset)")
    betas_eff = [r["beta_eff"] for r in results.values() if r["case"].scba]
    if betas_eff and settings_used:
        b_min = min(betas_eff)
        ax.plot(gg, [qc_gap(g, beta=b_min) + clean_offset for g in gg], "b--", lw=1,
                label=rf"SCBA at $\beta_{{eff}}={b_min:.3f}\Delta_0$ (+ clean offset)")
    ax.plot([0], [pt.r_clean], "k^", mfc="none",
            label=r"clean lattice (k mesh): $\Delta(B)/\Delta(B=0)$")
    for name, r in results.items():
        marker = _marker(name, r)
        if "qc_gap" in r:  # the compared values, in the case's own zero-field units
            ax.plot([r["gamma_qc"]], [r["qc_gap"] + clean_offset], "bx", ms=7)
            ax.plot([r["gamma_qc"]], [r["qc_gap_fixed_beta"] + clean_offset], "r+", ms=7)
        if "qc_gap_born_rate" in r:  # what Born would predict from the same V
            ax.plot([r["rate"]["born_qc"]], [r["qc_gap_born_rate"] + clean_offset], "m*", ms=7)
        ax.errorbar([r["gamma_qc"]], [r["ratio"]], xerr=[r["gamma_qc_err"]],
                    yerr=[r["ratio_err"]], fmt=marker, mfc="none", ms=6)
        ax.annotate(name, (r["gamma_qc"], r["ratio"]), fontsize=7, xytext=(4, -10),
                    textcoords="offset points")
    ax.plot([], [], "ko", mfc="none", label=r"lattice, Anderson: $\langle\Delta\rangle/"
            r"\langle\Delta(B=0)\rangle$")
    ax.plot([], [], "bx", label=r"SCBA at the case's $\Gamma$, $\beta_{eff}$, own units (compared)")
    ax.plot([], [], "r+", label=r"SCBA at the case's $\Gamma$, fixed $\beta$, own units")
    ax.plot([], [], "gs", mfc="none", label="lattice, smooth (Anderson control)")
    if any(r["case"].tmatrix and r["case"].scba for r in results.values()):
        ax.plot([], [], "m^", mfc="none", label="lattice, point impurities (vs T-matrix SCBA)")
    if any(r["case"].tmatrix for r in results.values()):
        ax.plot([], [], "m*", label=r"Born SCBA of the same $V$, at its second-order rate")
    if any(not r["case"].scba and r["case"].name != "smooth" for r in results.values()):
        ax.plot([], [], "bD", mfc="none", label="lattice, beyond the SCBA's validity (drawn)")
    ax.set_xlabel(r"measured intervalley rate $\Gamma_{qc}=2\Gamma_{inter}$ ($\Delta_0$)")
    ax.set_ylabel(r"$\Delta(B)/\Delta(B=0)$ (own zero-field units)")
    ax.set_title(rf"Gap vs disorder, $\beta={phys.beta:g}$, $B={phys.field:g}$ ($\Delta_0$), "
                 rf"$T={phys.temperature:g}T_{{c0}}$; {res.supercell}$^2$ sites, twists "
                 f"{res.gap_twists}, {res.realizations} realizations", fontsize=8)
    ax.legend(fontsize=6)
    fig.tight_layout()
    report.add_figure(
        fig, "disorder_gap.png", "Self-consistent gap vs measured intervalley rate",
        "Drawn: the quasiclassical self-consistent Delta(Gamma) at the fixed beta (solid) and at "
        "the smallest measured beta_eff (dashed), both plus the clean lattice's offset; per case "
        "the SCBA at its measured Gamma and beta_eff (x, compared; the T-matrix SCBA for point "
        "impurities, whose Born SCBA at the Born rate of the same V is the star) and at the fixed "
        "beta (+), in its own zero-field units; the clean lattice's Delta(B)/Delta(0) "
        "(triangle) and each disorder case's lattice gap in units of its own zero-field gap "
        "with standard errors (markers). Gamma and beta_eff are measured on the lattice, "
        "nothing is fitted.",
        checks=("disorder/gap/*",), pointer="compare Fig. 2(a)")
    plt.close(fig)



def _figure_dos(report, pt, results, energies, plt):
    phys, res, d0 = pt.phys, pt.setup.resolution, pt.d0
    eps0, width = float(pt.formula.eps0), float(pt.formula.width)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 5))
    for k, r in enumerate(results.values()):
        off = 0.25 * (k + 1)
        c = f"C{k + 1}"
        ax0.errorbar(energies, r["lattice"] + off, yerr=r["stderr"], fmt="-", color=c, lw=1,
                     elinewidth=0.6, label=r["case"].label + ": lattice KPM")
        ax0.plot(energies, r["qc"] + off, "--", color=c, lw=1,
                 label=rf"SCBA$\otimes$kernel, $\Gamma_{{qc}}$={r['gamma_qc']:.2f}")
        ax1.errorbar(energies, r["lattice"], yerr=r["stderr"], fmt="-", color=c, lw=1,
                     elinewidth=0.6)
        ax1.plot(energies, r["qc"], "--", color=c, lw=1)
    first = next(iter(results.values()), None)
    if first is not None:
        ax0.plot(energies, first["clean_lattice"], "-", color="C0", lw=1,
                 label=f"clean lattice (mesh {CLEAN_MESH}) (x) kernel")
        ax1.plot(energies, first["clean_lattice"], "-", color="C0", lw=1)
    ax1.axvline(eps0, color="0.6", lw=0.5)
    ax1.set_xlim(eps0 - 4 * width, eps0 + 4 * width)
    ax1.set_ylim(0.3, 1.3)
    for ax in (ax0, ax1):
        ax.set_xlabel(r"$E$ ($\Delta_0$)")
    ax0.set_ylabel(r"$N_s/N_n$ (offset 0.25 per case)")
    ax1.set_ylabel(r"$N_s/N_n$ (no offset)")
    ax1.set_title(r"zoom on the mirage gap at $\varepsilon_0$")
    ax1.legend(*ax0.get_legend_handles_labels(), fontsize=6, loc="lower right")
    sigma = first["sigma"] if first is not None else float("nan")
    fig.suptitle(
        rf"Disorder: $\beta={phys.beta:g}$, $B={phys.field:g}$ ($\Delta_0$), "
        rf"$T={phys.temperature:g}T_{{c0}}$, $\Delta_0={d0:g}t$, $E_F={phys.e_fermi:g}\Delta_0$; "
        rf"KPM {res.supercell}$^2$ sites, M={res.moments} ($\sigma$={sigma:.2f}$\Delta_0$), "
        rf"{res.realizations} realizations, self-consistent $\Delta$ per realization")
    fig.tight_layout()
    report.add_figure(
        fig, "disorder_dos.png", "Disorder-averaged DOS: lattice KPM vs SCBA at the measured Gamma",
        "Drawn: lattice KPM averages with standard errors (solid) and the SCBA at the Gamma "
        "measured on the lattice and the lattice's mean Delta (dashed), one colour per case; "
        f"the SCBA curves are convolved with the KPM kernel (sigma = {sigma:.2f} Delta0, "
        f"mirage width delta = {width:.2f} Delta0).",
        checks=("disorder/*/L1",), pointer="compare Fig. 2(b)")
    plt.close(fig)



def _figure_filling(report, pt, results, plt):
    phys = pt.phys
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, r in results.items():
        g = r["gamma_qc"]
        marker = _marker(name, r)
        ax.errorbar([g], [r["rel_lat"]], yerr=[r["rel_sig"]], fmt=marker, mfc="none")
        ax.plot([g], [r["rel_qc"]], "rx")
        ax.annotate(name, (g, r["rel_lat"]), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    ax.plot([], [], "rx", label="SCBA (x) the case's kernel, lattice Delta")
    ax.plot([], [], "ko", mfc="none", label="lattice KPM (Born cases)")
    if any(r["case"].tmatrix and r["case"].scba for r in results.values()):
        ax.plot([], [], "m^", mfc="none", label="lattice KPM, point impurities (T-matrix)")
    ax.set_xlabel(r"measured intervalley rate $\Gamma_{qc}=2\Gamma_{inter}$ ($\Delta_0$)")
    ax.set_ylabel(r"mirage-dip depth $D/D_{clean}$")
    ax.set_title(rf"Mirage-gap filling, $\beta={phys.beta:g}$, $B={phys.field:g}$ ($\Delta_0$)",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    report.add_figure(
        fig, "disorder_filling.png", "Mirage-dip depth vs measured intervalley rate",
        "Drawn: relative dip depth D/D_clean of the lattice (markers with standard errors) and "
        "of the SCBA through each case's kernel (crosses); Gamma is measured on the lattice, "
        "nothing is fitted.",
        checks=("disorder/*/relative_depth", "disorder/*/dip_kept",
                "disorder/*/filling_significance"), pointer="compare Fig. 2(a)")
    plt.close(fig)
