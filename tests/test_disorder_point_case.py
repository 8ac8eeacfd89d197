"""The disorder stage's point-impurity case (issue 21): the mean-free-path rule and the
T-matrix SCBA gap check, which must tell the T-matrix from Born at the Born rate."""

import numpy as np
import pytest

from comparisons import suite_disorder as sd
from comparisons.parameters import ValidationSetup
from comparisons.report import Report
from latticemirage.disorder import validity
from latticemirage.disorder.potentials import AndersonDisorder, PointImpurities
from latticemirage.mapping import map_to_lattice
from mirage_common.errors import ParameterError
from quasiclassical import QCParams, TMatrixImpurities, solve_gap

SETUP = ValidationSetup()
MAPPING = map_to_lattice(SETUP.disorder_physical())
# Measured at the disorder point (validate, 2026-12-07): V = 0.5 t, n_i = 0.1 on 64²
# supercells; Γ_total of n_i = 0.03 from rates.measure_rates (100², 4 realizations).
GAMMA_TOTAL_003 = 0.253
MEASURED = {"gamma_qc": 0.806, "gamma_qc_err": 0.010, "gamma_total": 0.802,
            "beta_eff": 2.987, "beta_eff_err": 0.001, "z": 0.9747, "ratio_err": 0.00065,
            "cot": 1.920, "born_qc": 0.544, "tmatrix_total": 0.961}


def test_mean_free_path_rule_refuses_a_supercell_crossed_ballistically():
    m = MAPPING
    ell = validity.mean_free_path(m, GAMMA_TOTAL_003)
    assert ell == pytest.approx(m.v_fermi / (2 * GAMMA_TOTAL_003 * m.delta0))
    assert validity.pf_ell(m, GAMMA_TOTAL_003) == pytest.approx(m.p_fermi_mean * ell)
    assert validity.mean_free_path(m, 0.0) == np.inf
    # n_i = 0.03: ℓ ≈ 75 a, longer than the 64² supercell: the only failed rule, and the
    # option named is the size.
    dilute = validity.assess(m, size=64, delta=0.82, disorder=PointImpurities(0.03, 0.5),
                             gamma_total=GAMMA_TOTAL_003)
    assert [r.name for r in dilute.failures()] == ["size_over_ell"]
    with pytest.raises(ParameterError, match=r"^size: outside the validity rules: size_over_ell"):
        dilute.require()
    stage = validity.assess(m, size=64, delta=0.82, disorder=PointImpurities(0.1, 0.5),
                            gamma_total=MEASURED["gamma_total"])
    assert stage.passed, stage.message()
    assert stage["size_over_ell"].value == pytest.approx(
        64 / validity.mean_free_path(m, MEASURED["gamma_total"]))
    # Without a measured rate the rule is not stated.
    assert "size_over_ell" not in validity.assess(m, size=64, delta=0.82).as_dict()


def _point():
    # The clean references as the stage measured them (only the clean offset is read here).
    return sd._Point(setup=SETUP, mapping=MAPPING, coupling=0.0, settings={},
                     delta_clean_lat=0.8671, delta_clean_lat0=1.0026,
                     delta_clean_qc=0.8667, r_qc_clean=0.8670)


def _case_result(ratio):
    m = MEASURED
    case = sd._Case("point_0.1", PointImpurities(0.1, 0.5), "point", True, tmatrix=True)
    return {"case": case, "ratio": ratio, "ratio_err": m["ratio_err"], "z": m["z"],
            "gamma_qc": m["gamma_qc"], "gamma_qc_err": m["gamma_qc_err"],
            "gamma_total": m["gamma_total"], "beta_eff": m["beta_eff"],
            "beta_eff_err": m["beta_eff_err"],
            "rate": {"tmatrix_cot": m["cot"], "tmatrix_total": m["tmatrix_total"],
                     "born_qc": m["born_qc"]},
            "delta": {"mean": 0.82, "per_realization": []}}


def _check(ratio, tmp_path):
    report = Report(folder=tmp_path, parameters={})
    r = _case_result(ratio)
    sd._gap_check(report, _point(), "point_0.1", r, None, (True, ""), None)
    (check,) = report.checks
    return check, r


def test_point_case_compares_with_the_tmatrix_and_can_fail(tmp_path):
    m, pt = MEASURED, _point()
    z = m["z"]
    tmatrix = solve_gap(QCParams(
        beta=m["beta_eff"] / z, field=SETUP.disorder_field / z,
        temperature=pt.phys.temperature,
        impurities=TMatrixImpurities.from_normal_rate(m["gamma_qc"] / z, m["cot"]))).delta
    # A lattice at the T-matrix prediction (plus the clean offset) passes with excess 0 ...
    check, r = _check(tmatrix + pt.clean_offset, tmp_path / "a")
    # The same solve_gap call on both sides: equal to round-off of the offset arithmetic.
    assert r["qc_gap"] == pytest.approx(tmatrix, abs=1e-12)
    assert check.passed and abs(check.value) < 1e-12
    assert check.name == "disorder/gap/point_0.1" and "T-matrix SCBA" in check.reading
    # ... and one at the Born SCBA of the same V (its rate 0.544 instead of the measured
    # 0.806, the |T|²/V² enhancement left out) fails at the stage's measured errors.
    born = r["qc_gap_born_rate"]
    # Born at its rate lowers the gap less: measured 0.0063 (Γ 0.544 against 0.806 at
    # dr/dΓ ≈ −0.023); 0.004 would still be 2 of the stage's tolerances of 0.0019.
    assert born - tmatrix > 0.004
    check_born, _ = _check(born + pt.clean_offset, tmp_path / "b")
    assert not check_born.passed and check_born.value > 2 * check_born.tolerance
    # The T-matrix beyond its rate (x(ε)) is below the resolution: Born at the measured
    # rate differs by less than a tenth of the tolerance (the record says so).
    details = check.details
    assert abs(details["born_at_measured_rate"] - tmatrix) < 0.1 * check.tolerance


def test_scba_params_of_the_tmatrix_case():
    base = QCParams(beta=3.0, field=1.0, temperature=0.1, eta=0.005)
    r = _case_result(0.84)
    qp = sd._scba_params(base, r, 0.8)
    assert qp.gamma == 0 and qp.gamma_intra == 0 and qp.beta == MEASURED["beta_eff"]
    assert qp.impurities.cot == MEASURED["cot"]
    assert qp.impurities.normal_rate == pytest.approx(0.8)
    born = dict(r, case=sd._Case("anderson_0.7", AndersonDisorder(0.7), "A", True))
    qb = sd._scba_params(base, born, 0.8)
    assert qb.impurities is None and qb.gamma == 0.8
    assert qb.gamma_intra == max(MEASURED["gamma_total"] - MEASURED["gamma_qc"], 0.0)


def test_dilute_rule_draws_a_non_dilute_point_case(tmp_path):
    """V = 0.5 t at n_i = 0.1: the measured rate is 0.84 of the single-site T-matrix's (not
    dilute), so the case is drawn, not checked; V = 0.8 t at n_i = 0.04 (the same |T|²/V² =
    1.53) is dilute (0.97) and stays a checked case."""
    pt = _point()
    g_loc = validity.local_green(pt.params0)
    report = Report(folder=tmp_path, parameters={})
    out = {}
    for c, v in ((0.1, 0.5), (0.04, 0.8)):
        case = sd._Case(f"point_{c:g}", PointImpurities(c, v), "point", True, tmatrix=True)
        prepared = sd._prepare_case(pt, case, 3, report, g_loc, 0.13, lambda _: None)
        out[c] = prepared
    assert validity.tmatrix_born_ratio(pt.params0, PointImpurities(0.04, 0.8), g_loc=g_loc) == \
        pytest.approx(validity.tmatrix_born_ratio(pt.params0, PointImpurities(0.1, 0.5),
                                                  g_loc=g_loc), rel=0.01)
    # Measured 0.835 and 0.97 (4 realizations of 100², jackknife errors ~0.01-0.02).
    assert out[0.1]["rate"]["dilute_ratio"] < 1 - validity.DILUTE_TOLERANCE
    assert not out[0.1]["case"].scba and "single-site T-matrix" in out[0.1]["case"].beyond
    assert abs(out[0.04]["rate"]["dilute_ratio"] - 1) < validity.DILUTE_TOLERANCE
    assert out[0.04]["case"].scba
    with pytest.raises(ParameterError, match="single_site"):
        validity.dilute_ratio(1.0, 0.0)


def test_drawn_point_case_spends_no_power_check(tmp_path):
    # Drawn (not dilute), the point case has no depth comparison, so its power check would
    # gate nothing: reported as not run with the reason, never as a pass.
    report = Report(folder=tmp_path, parameters={})
    case = sd._Case("point_0.1", PointImpurities(0.1, 0.5), "point", False, tmatrix=True,
                    beyond="beyond the single-site T-matrix: not dilute")
    depths = {"D_lat": 0.5, "D_lat_clean": 1.0, "D_lat_err": 0.1, "D_qc": 0.6, "D_qc_clean": 1.0,
              "D_qc_binned": 0.6, "D_qc_binned_clean": 1.0, "D_qc_hi": 0.6, "D_qc_lo": 0.6}
    results = {"point_0.1": {"case": case, **depths}}
    sd._dos_checks(report, _point(), results)
    assert report.checks == []
    # The filling figure draws every case's relative depth, drawn ones included.
    assert results["point_0.1"]["rel_lat"] == 0.5 and results["point_0.1"]["rel_sig"] == 0.1
    skipped = {s.name: s.reason for s in report.skipped}
    for what in ("depth_resolved", "L1", "relative_depth"):
        assert "not dilute" in skipped[f"disorder/point_0.1/{what}"], what
    assert "point_0.1" not in dict(SETUP.resolution.dos_realizations)
