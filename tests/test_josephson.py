"""Josephson junctions between Ising superconductors: quasiclassical and lattice limits.

Quasiclassical checks are analytic limits (Beenakker, Kulik-Omelyanchuk, Ambegaokar-
Baratoff, particle-hole symmetry, no diode effect). Lattice checks use one or two
transverse momenta: every statement there holds per transverse momentum. The lattice
departs from the Andreev approximation by O(Δ/E_F): measured, the k_x = 0 current at
τ = 1 lies below KO by 1.16 %, 0.91 %, 0.55 % (φ = 0.5, 1.5, 2.5) at E_F = 30 Δ0 and by
half that at E_F = 60 Δ0; tolerances below are stated against those figures.
"""

import numpy as np
import pytest

from latticemirage import josephson as lj
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.errors import ParameterError
from quasiclassical import josephson as qj
from quasiclassical.params import temperature_in_delta0

E_F = 30.0  # pocket depth of the default mapping, Δ0


# ----------------------------------------------------------------------------------------
# quasiclassical
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [1.0, 0.6, 0.2])
def test_qc_beenakker_spectrum(tau):
    phases = np.array([0.4, 1.3, 2.2, 3.0])
    # Ising field alone (B = 0) leaves the spin-singlet bound states untouched.
    bs = qj.bound_states(qj.JunctionParams(beta=7.0, transparency=tau), phases)
    for phase in phases:
        e = np.sort(bs.energy[bs.phase == phase])
        expected = qj.beenakker_energy(1.0, tau, phase)
        # 2 valleys x 2 spins at +E and at -E, nothing else inside the gap.
        assert len(e) == 8
        # brentq resolves roots to 1e-13; the matching residual is checked below.
        assert np.allclose(np.abs(e), expected, atol=1e-10)
    assert np.all(bs.residual < qj.MATCH_TOL)


def test_qc_parallel_fields_shift_by_zeeman_energy_with_full_spin():
    b = 0.3
    bs = qj.bound_states(qj.JunctionParams(field_left=b, field_right=b), [1.0])
    # beta = 0, equal fields along x: spin along x conserved, each spin branch Δcos(φ/2)
    # shifted by -/+ B; only the shifted-down pair lies inside the bulk gap Δ - B.
    assert np.allclose(np.abs(bs.energy), np.cos(0.5) - b, atol=1e-10)  # brentq tolerance
    # Spin fully along the field (round-off of the closed-form integrals, ~1e-12).
    assert np.allclose(np.abs(bs.spin[:, 0]), 1.0, atol=1e-9)
    assert np.allclose(bs.spin[:, 1:], 0.0, atol=1e-9)
    assert np.allclose(bs.spin[:, 0], np.sign(bs.energy), atol=1e-9)


def test_qc_particle_hole_symmetry_and_splitting_by_noncollinear_fields():
    common = dict(beta=7.0, field_left=2.0, field_right=2.0)
    parallel = qj.bound_states(qj.JunctionParams(**common), [2.0])
    crossed = qj.bound_states(qj.JunctionParams(**common, angle_right=np.pi / 2), [2.0])
    for bs in (parallel, crossed):
        e = np.sort(bs.energy)
        # Spectrum symmetric about E = 0 (brentq tolerance 1e-13 per root).
        assert np.allclose(e, -e[::-1], atol=1e-10)
    # Valley K: parallel fields give a pair split only by the (weak) Ising-screened Zeeman
    # energy; perpendicular fields split it much further (measured 0.05 vs 0.32 Δ0).
    def splitting(bs):
        pos = np.sort(bs.energy[(bs.valley == 1) & (bs.energy > 0)])
        return pos[-1] - pos[0]

    assert splitting(crossed) > 3 * splitting(parallel)


def test_qc_kulik_omelyanchuk_and_beenakker_current():
    phases = np.linspace(-3.0, 3.0, 13)
    ko = qj.kulik_omelyanchuk(1.0, 0.1, phases)
    cur = qj.current_phase(qj.JunctionParams(beta=7.0, transparency=1.0), phases)
    # Tail quadrature of the Matsubara sum: ~1e-10 relative (measured 1e-12).
    assert np.allclose(cur, ko, rtol=1e-8, atol=1e-10)
    tau, temp = 0.5, 0.3
    cur = qj.current_phase(qj.JunctionParams(transparency=tau, temperature=temp), phases)
    ea = qj.beenakker_energy(1.0, tau, phases)
    t = float(temperature_in_delta0(temp))
    expected = np.pi * np.sin(phases) / (2 * ea) * np.tanh(ea / (2 * t))  # eIR_N/Δ0
    # Midpoint-rule error of the tail integral ~ (2πT/Ω)^2/24 x tail share: measured 2.2e-7
    # at T = 0.3 T_c0 (1e-12 at 0.1 T_c0 above).
    assert np.allclose(cur, expected, rtol=1e-6, atol=1e-10)


def test_qc_ambegaokar_baratoff_tunnel_limit():
    phases = np.array([0.5, 1.5, 2.5])
    tau = 1e-3
    cur = qj.current_phase(qj.JunctionParams(transparency=tau, temperature=0.3), phases)
    ab = qj.ambegaokar_baratoff(1.0, 0.3, phases)
    # The next order is O(tau sin^2(φ/2)): measured 5e-4 at φ = 2.5; bound 2 tau.
    assert np.allclose(cur / ab, 1.0, atol=2 * tau)


def test_qc_current_odd_in_phase_without_diode_symmetry_breaking():
    params = qj.JunctionParams(beta=7.0, field_left=2.0, field_right=2.0, angle_right=1.1)
    phases = np.array([0.3, 1.2, 2.4])
    plus = qj.current_phase(params, phases)
    minus = qj.current_phase(params, -phases)
    # Round-off of the Matsubara sum (~1e-14 per term).
    assert np.allclose(plus, -minus, atol=1e-11)
    assert np.all(plus > 0)


def test_qc_bad_parameters_name_the_option():
    with pytest.raises(ParameterError, match="transparency"):
        qj.JunctionParams(transparency=0.0)
    with pytest.raises(ParameterError, match="temperature"):
        qj.JunctionParams(temperature=0.0)


# ----------------------------------------------------------------------------------------
# lattice
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bcs_mapping():
    return map_to_lattice(PhysicalParameters(beta=0.0, field=0.0, delta=1.0))


def test_lattice_self_energy_matches_kwant(bcs_mapping):
    fsyst = lj.sns_junction(0)
    kp = {**lj.kwant_params(bcs_mapping, lj.SNSParams(field_left=0.5, angle_right=1.0,
                                                      field_right=0.5)), "k_x": 0.2}
    mats = lj.junction_matrices(fsyst, kp, 0.2)
    energy = 0.4 * bcs_mapping.delta0
    for lead, (h0, hop, _) in zip(fsyst.leads, mats.leads, strict=True):
        ref = lead.selfenergy(energy, params=kp)
        sigma = lj.surface_green(h0, hop, [energy])[1][0]
        # Decimation converged to 1e-14 relative; Kwant's mode solver to ~1e-13.
        assert np.max(np.abs(sigma - ref)) < 1e-11 * np.max(np.abs(ref))


def test_lattice_transparent_bound_states_are_beenakker(bcs_mapping):
    phases = np.array([1.0, 2.0])
    bs = lj.bound_states(bcs_mapping, lj.SNSParams(), 0.0, phases)
    for phase in phases:
        e = np.sort(bs.energy[bs.phase == phase])
        assert len(e) == 8  # k_x = 0 holds both valleys, two spins each, at +E and -E
        # Andreev-approximation corrections O(Δ/E_F): measured 1e-5 (φ=1), 2.6e-4 (φ=2).
        assert np.allclose(np.abs(e), np.cos(phase / 2), rtol=1e-3)
        assert np.allclose(e, -e[::-1], atol=1e-12)  # particle-hole symmetry (brentq)
    # Half electron, half hole (measured |w - 1/2| < 5e-6, the O(Δ/E_F) asymmetry).
    assert np.allclose(bs.electron_weight, 0.5, atol=1e-4)


def test_lattice_barrier_bound_states_follow_normal_transmission(bcs_mapping):
    params = lj.SNSParams(barrier=1.0)
    tau = lj.normal_transmission(bcs_mapping, params, 0.0) / 4  # 4 equal channels at k=0
    assert 0.2 < tau < 0.9  # an intermediate barrier
    bs = lj.bound_states(bcs_mapping, params, 0.0, [2.0])
    # Beenakker with the lattice's own tau; O(Δ/E_F) corrections as above.
    assert np.allclose(np.abs(bs.energy), qj.beenakker_energy(1.0, tau, 2.0), rtol=2e-3)


def test_lattice_current_two_routes_agree_and_match_ko(bcs_mapping):
    params = lj.SNSParams(temperature=0.1)
    phases = np.array([-1.5, 0.5, 1.5, 2.5])
    green = lj.current_phase(bcs_mapping, params, phases, [0.0])
    free = lj.current_phase(bcs_mapping, params, phases, [0.0], method="free-energy")
    # Hellmann-Feynman vs five-point derivative of the free energy: measured 2e-9.
    assert np.allclose(green.current, free.current, rtol=1e-6)
    assert green.transmission == pytest.approx(4.0, abs=1e-9)  # perfect crystal at B = 0
    ko = qj.kulik_omelyanchuk(1.0, 0.1, phases)
    # Measured -1.2 % (φ = 0.5) ... -0.55 % (φ = 2.5) ∝ Δ/E_F: bound 0.6 Δ/E_F.
    assert np.allclose(green.current, ko, rtol=0.6 / E_F)
    assert green.current[0] == pytest.approx(-green.current[2], rel=1e-10)  # odd in φ


def test_lattice_noncollinear_current_is_odd_and_close_to_qc():
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=0.0, delta=1.0))
    params = lj.SNSParams(field_left=2.0, field_right=2.0, angle_right=np.pi / 2)
    phases = np.array([-1.5, 1.5])
    cur = lj.current_phase(mapping, params, phases, [0.0]).current
    assert cur[0] == pytest.approx(-cur[1], rel=1e-9)  # no diode without extra breaking
    qc = qj.current_phase(qj.JunctionParams(beta=7.0, field_left=2.0, field_right=2.0,
                                            angle_right=np.pi / 2), phases)
    # Lattice β is the Fermi-surface mean (warping spread ±1 %) and O(Δ/E_F) as above.
    assert cur[1] == pytest.approx(qc[1], rel=1.0 / E_F)


def test_lattice_bad_parameters_name_the_option():
    with pytest.raises(ParameterError, match="length"):
        lj.SNSParams(length=-1)
    with pytest.raises(ParameterError, match="temperature"):
        lj.SNSParams(temperature=-0.1)


# ----------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------


def test_qc_cli_writes_both_tables(tmp_path):
    from mirage_cli.main import main
    from mirage_common.io import read_table

    out, cur = tmp_path / "abs.csv", tmp_path / "cpr.csv"
    assert main(["qc", "josephson", "--phase=-2:2:5", "--output", str(out),
                 "--current", str(cur)]) == 0
    cols, meta = read_table(out)
    assert list(cols)[:5] == ["phase", "energy", "spin_x", "spin_y", "spin_z"]
    assert "Delta0" in meta["units"]
    cols, meta = read_table(cur)
    assert list(cols) == ["phase", "current"]
    # Odd current: I_c+ = -I_c- on a symmetric grid (round-off of the sum, 1e-12).
    assert meta["diode_efficiency"] == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(cols["current"], -cols["current"][::-1], atol=1e-10)


@pytest.mark.parametrize("side,args,name", [
    ("qc", ["--transparency", "1.5"], "transparency"),
    ("qc", ["--length", "-1"], "length"),
    ("qc", ["--phase", "0:1:0"], "phase"),
    ("qc", ["--angle-right", "100"], "angle-right"),
    ("lattice", ["--temperature", "0"], "temperature"),
    ("lattice", ["--field-right", "50"], "field-right"),
    ("lattice", ["--length", "-1"], "length"),
    ("lattice", ["--barrier", "-1"], "barrier"),
])
def test_josephson_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, side, args, name):
    from mirage_cli.main import main

    out = tmp_path / "abs.csv"
    assert main([side, "josephson", *args, "--output", str(out)]) == 2
    assert name in capsys.readouterr().err
    assert not out.exists()


# ----------------------------------------------------------------------------------------
# spin-polarizing barrier: matching determinant and the diode effect
# ----------------------------------------------------------------------------------------


def test_qc_matching_determinant_current_equals_nazarov():
    phases = np.array([-2.0, 0.5, 1.5, 2.5])
    for kw in (dict(transparency=0.6), dict(transparency=0.7, field_left=2.0, field_right=2.0,
                                            angle_right=1.2)):
        params = qj.JunctionParams(beta=7.0, **kw)
        nazarov = qj.current_phase(params, phases, method="nazarov")
        matching = qj.current_phase(params, phases, method="matching")
        # Two independent formulas on the same Matsubara nodes: measured 5e-11.
        assert np.allclose(matching, nazarov, rtol=1e-8, atol=1e-10)


def test_qc_scanned_roots_equal_nazarov_roots():
    params = qj.JunctionParams(beta=7.0, field_left=2.0, field_right=2.0, angle_right=1.2,
                               transparency=0.7)
    for valley in (1, -1):
        nazarov = qj._roots_one(params, valley, 2.0, np.linspace(-11, 11, 2002))
        scanned = qj._roots_scan(params, valley, 2.0, np.linspace(-11, 11, 1001))
        assert len(nazarov) == len(scanned) == 4
        # Bounded minimization of a |E - E0|-shaped minimum: measured 8e-9.
        assert np.allclose(scanned, nazarov, atol=1e-7)


def _eta(current):
    return (current.max() - abs(current.min())) / (current.max() + abs(current.min()))


def test_qc_diode_needs_out_of_plane_polarization_and_noncollinear_fields():
    phases = np.linspace(-np.pi, np.pi, 65)
    common = dict(beta=7.0, field_left=2.0, field_right=2.0, transparency=0.3, polarization=0.5)
    eta = {}
    for name, angle, axis in (("z", 1.2, (0.0, 0.0, 1.0)), ("x", 1.2, (1.0, 0.0, 0.0)),
                              ("collinear", 0.0, (0.0, 0.0, 1.0))):
        params = qj.JunctionParams(angle_right=angle, polarization_axis=axis, **common)
        eta[name] = _eta(qj.current_phase(params, phases))
    assert eta["z"] > 0.005  # measured 0.0097
    # No diode effect: round-off of the Matsubara sums (measured 4e-13, 2e-11).
    assert abs(eta["x"]) < 1e-9 and abs(eta["collinear"]) < 1e-9
    bs = qj.bound_states(qj.JunctionParams(angle_right=1.2, **common), [2.0])
    e = np.sort(bs.energy)
    assert len(e) == 8 and np.allclose(e, -e[::-1], atol=1e-7)  # PH symmetry, scan accuracy


def test_lattice_polarized_barrier_diode_matches_qc():
    import kwant

    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=0.0, delta=1.0))
    common = dict(field_left=2.0, field_right=2.0, angle_right=1.2, barrier=1.0,
                  polarization=0.5)
    phases = np.linspace(-np.pi, np.pi, 65)
    z_pol = lj.current_phase(mapping, lj.SNSParams(**common), phases, [0.0])
    x_pol = lj.current_phase(mapping, lj.SNSParams(polarization_axis=(1.0, 0.0, 0.0),
                                                   **common), phases, [0.0])
    assert abs(_eta(x_pol.current)) < 1e-9  # in-plane polarization: no diode (round-off)
    free = lj.current_phase(mapping, lj.SNSParams(**common), phases[:4], [0.0],
                            method="free-energy")
    assert np.allclose(free.dfdphi, z_pol.dfdphi[:4], rtol=1e-6)  # measured 8e-10
    # The quasiclassical barrier from the lattice's own spin-resolved normal transmissions
    # at k_x = 0 (four channels: two valleys per spin, averaged per spin).
    kp = {**lj.kwant_params(mapping, lj.SNSParams(barrier=1.0, polarization=0.5)),
          "delta": 0.0, "k_x": 0.0}
    t = kwant.smatrix(lj.sns_junction(0), 1e-9, params=kp).submatrix(1, 0)
    ev = np.sort(np.linalg.eigvalsh(t.conj().T @ t))
    z_up, z_dn = np.sqrt(1 / ev[:4].mean() - 1), np.sqrt(1 / ev[4:].mean() - 1)
    qc = qj.JunctionParams(beta=7.0, field_left=2.0, field_right=2.0, angle_right=1.2,
                           transparency=1 / (1 + (0.5 * (z_up + z_dn)) ** 2),
                           polarization=(z_up - z_dn) / (z_up + z_dn))
    eta_qc, eta_lat = _eta(qj.current_phase(qc, phases)), _eta(z_pol.current)
    # Measured 0.0110 (lattice) vs 0.0112: the spin average of the four channels and
    # O(Δ/E_F) corrections; bound 30 % of the effect.
    assert eta_lat == pytest.approx(eta_qc, rel=0.3)


def test_lattice_junction_ldos_peaks_at_bound_states_and_no_spin_at_zero_field(bcs_mapping):
    energies = np.linspace(-1.5, 1.5, 151)
    res = lj.junction_ldos(bcs_mapping, lj.SNSParams(), [2.0], energies, n_k=8)
    positive = energies > 0
    peak = energies[positive][np.argmax(res.ldos[0, positive])]
    # The bound state Δcos(φ/2) = 0.540 on a grid of step 0.02 (and its O(Δ/E_F) shift).
    assert peak == pytest.approx(np.cos(1.0), abs=0.02)
    # B = 0: Kramers pairs K(k_x) <-> K'(-k_x) on the symmetric k grid cancel every spin
    # density; measured 1e-10 (decimation tolerance x the 1/η peak height).
    assert np.max(np.abs(res.spin)) < 1e-8 * np.max(res.ldos)


# ----------------------------------------------------------------------------------------
# unequal gaps and self-consistent gaps (--self-consistent --temperature)
# ----------------------------------------------------------------------------------------


def _andreev_unequal(delta_l, delta_r, phase):
    """Transparent short junction: arccos(E/Δ_L) + arccos(E/Δ_R) = φ (Δ_L = Δ_R: Δcos(φ/2))."""
    from scipy.optimize import brentq

    low = min(delta_l, delta_r)
    return brentq(lambda e: np.arccos(e / delta_l) + np.arccos(e / delta_r) - phase,
                  -low, low, xtol=1e-14)


def test_unequal_gaps_follow_the_andreev_condition(bcs_mapping):
    phases = np.array([1.5, 2.5])
    ref = np.array([_andreev_unequal(1.0, 0.6, p) for p in phases])
    qc = qj.bound_states(qj.JunctionParams(delta=1.0, delta_right=0.6), phases)
    lat = lj.bound_states(bcs_mapping, lj.SNSParams(delta=1.0, delta_right=0.6), 0.0, phases)
    for p, e_ref in zip(phases, ref, strict=True):
        for bs in (qc, lat):
            e = np.sort(bs.energy[bs.phase == p])
            assert len(e) == 8  # both valleys, both spins, at +E and -E
            assert np.allclose(e, -e[::-1], atol=1e-12)  # particle-hole symmetry (brentq)
        # Quasiclassical: the same equation solved another way (root tolerance 1e-13).
        assert np.allclose(np.abs(qc.energy[qc.phase == p]), e_ref, rtol=1e-9)
        # Lattice: O(Δ/E_F) corrections, measured 3e-5 (φ = 1.5) and 7.8e-4 (φ = 2.5).
        assert np.allclose(np.abs(lat.energy[lat.phase == p]), e_ref, rtol=2e-3)
    params = lj.SNSParams(delta=1.0, delta_right=0.6, temperature=0.1)
    both = np.concatenate([-phases, phases])
    green = lj.current_phase(bcs_mapping, params, both, [0.0]).current
    free = lj.current_phase(bcs_mapping, params, both, [0.0], method="free-energy").current
    assert np.allclose(green, free, rtol=1e-6)  # two routes; measured 5e-9
    assert np.allclose(green[:2], -green[2:], rtol=1e-10)  # odd in φ: no diode at B = 0
    qc_cur = qj.current_phase(qj.JunctionParams(delta=1.0, delta_right=0.6, temperature=0.1),
                              phases)
    # O(Δ/E_F) as in the module docstring: measured -0.7 % (φ = 1.5), -0.4 % (φ = 2.5).
    assert np.allclose(green[2:], qc_cur, rtol=0.6 / E_F)


def test_self_consistent_gaps_of_each_side():
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=0.0, delta=1.0))
    lat_l, lat_r, results = lj.self_consistent_gaps(mapping, 0.0, 2.0, 0.1, mesh=600)
    qc_l, qc_r = qj.self_consistent_gaps(7.0, 0.0, 2.0, 0.1)
    # T = 0.1 T_c0, B = 0: BCS, Δ(T)/Δ0 = 1 - O(e^{-Δ/T}) (measured 1 - 1.3e-8).
    assert qc_l == pytest.approx(1.0, abs=1e-6)
    # The field lowers the gap; Ising protection keeps it open (0.838 at B = 2 Δ0).
    assert 0.5 < qc_r < qc_l
    # Lattice (k mesh 600) vs quasiclassics: measured 3.5e-4 (B = 0) and 2.8e-3 (B = 2);
    # at mesh 1000: 1e-3 and 4e-4 (mesh discretization, not monotonic).
    assert lat_l == pytest.approx(qc_l, rel=1e-2)
    assert lat_r == pytest.approx(qc_r, rel=1e-2)
    assert all(r.converged for r in results)
    # Pauli limit without Ising protection: B = 2 Δ0 > Δ0/√2 destroys the gap.
    with pytest.raises(ParameterError, match="field-right"):
        qj.self_consistent_gaps(0.0, 0.0, 2.0, 0.1)


@pytest.mark.parametrize("side", ["qc", "lattice"])
def test_josephson_cli_self_consistent_writes_each_sides_gap(tmp_path, side):
    from mirage_cli.main import main
    from mirage_common.io import read_table

    out = tmp_path / "cpr.json"
    extra = ["--n-k", "1", "--gap-mesh", "300"] if side == "lattice" else []
    code = main([side, "josephson", "--field-left", "0", "--field-right", "2",
                 "--self-consistent", "--temperature", "0.2", "--phase=-2:2:3",
                 "--current", str(out), *extra])
    assert code == 0
    cols, meta = read_table(out)
    assert meta["delta_source"].startswith("self-consistent")
    # BCS at 0.2 T_c0: 1 - 3e-4 (mesh 300 on the lattice: within 5 %, as test_conductance_cli)
    assert meta["delta_left_delta0"] == pytest.approx(1.0, abs=0.05)
    assert 0.5 < meta["delta_right_delta0"] < meta["delta_left_delta0"]
    assert cols["current"][0] == pytest.approx(-cols["current"][2], rel=1e-9)  # odd in φ


@pytest.mark.parametrize("side,args,name", [
    ("qc", ["--delta", "1", "--self-consistent"], "delta"),
    ("lattice", ["--delta", "1", "--self-consistent"], "delta"),
    ("qc", ["--beta", "0", "--field-left", "2", "--self-consistent"], "field-left"),
    ("lattice", ["--ldos", "x.csv", "--ldos-eta", "0"], "ldos-eta"),
    ("lattice", ["--ldos", "x.csv", "--ldos-energy", "0:20:3"], "ldos-energy"),
    ("lattice", ["--ldos", "x.txt"], "ldos"),
])
def test_josephson_cli_gap_and_ldos_bad_input_exits_2(tmp_path, capsys, side, args, name):
    from mirage_cli.main import main

    out = tmp_path / "abs.csv"
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    assert main([side, "josephson", *args, "--output", str(out)]) == 2
    assert name in capsys.readouterr().err
    assert not out.exists()
    assert not any(tmp_path.iterdir())


def test_lattice_josephson_cli_ldos_table_is_the_library_result(tmp_path):
    from mirage_cli.main import main
    from mirage_common.io import read_table

    out = tmp_path / "ldos.csv"
    code = main(["lattice", "josephson", "--beta", "7", "--field-left", "2", "--field-right",
                 "2", "--angle-right", "1.5707963267948966", "--delta", "1", "--phase=0:2:2",
                 "--n-k", "2", "--ldos", str(out), "--ldos-energy=-1:1:5", "--ldos-eta", "0.05"])
    assert code == 0
    cols, meta = read_table(out)
    assert {"phase", "energy", "ldos", "spin_x", "spin_y", "spin_z"} <= set(cols)
    assert "2 N_0" in meta["units"] and meta["eta_delta0"] == 0.05
    mapping = map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0))
    ref = lj.junction_ldos(mapping, lj.SNSParams(delta=1.0, field_left=2.0, field_right=2.0,
                                                 angle_right=np.pi / 2, temperature=0.1),
                           [0.0, 2.0], np.linspace(-1, 1, 5), n_k=2, eta=0.05)
    # The same computation; the CSV keeps 12 significant digits (rounding 5e-12 relative).
    assert cols["ldos"] == pytest.approx(ref.ldos.ravel(), rel=1e-10)
    assert cols["spin_z"] == pytest.approx(ref.spin[..., 2].ravel(), rel=1e-10, abs=1e-12)
    assert np.all(cols["ldos"] > 0)


# ----------------------------------------------------------------------------------------
# quasiclassical junction with a normal region of finite length (one channel)
# ----------------------------------------------------------------------------------------


def _kulik_energies(length, phase, delta=1.0):
    """All roots in (-Δ, Δ) of 2EL - 2 arccos(E/Δ) = ±φ (mod 2π): clean SNS, τ = 1, B = 0."""
    from scipy.optimize import brentq

    grid = np.linspace(-delta, delta, 20001)
    roots = []
    for sign in (1, -1):
        for n in range(-4, 5):
            def g(e, s=sign, n=n):
                return 2 * e * length - 2 * np.arccos(e / delta) - s * phase - 2 * np.pi * n

            v = g(grid)
            for i in np.nonzero(np.sign(v[:-1]) != np.sign(v[1:]))[0]:
                roots.append(brentq(g, grid[i], grid[i + 1], xtol=1e-14))
    return np.sort(roots)


@pytest.mark.parametrize("length", [0.5, 2.0])
def test_qc_finite_length_bound_states_follow_kulik(length):
    phases = [0.5, 2.0]
    bs = qj.bound_states(qj.JunctionParams(beta=7.0, length=length), phases)
    for phase in phases:
        ref = _kulik_energies(length, phase)
        assert len(ref) >= 2  # L = 2, φ = 0.5: two states per sign
        for valley in (1, -1):
            e = np.sort(bs.energy[(bs.phase == phase) & (bs.valley == valley)])
            # Spin-degenerate at B = 0: every Kulik level twice. Bounded minimization of
            # the scanned singular value: measured 1e-8.
            assert e == pytest.approx(np.repeat(ref, 2), abs=1e-7)


def test_qc_finite_length_short_limit_symmetries_and_spin():
    base = qj.JunctionParams(beta=7.0, field_left=2.0, field_right=2.0, angle_right=1.2,
                             transparency=0.7)
    phases = np.array([-2.0, 0.5, 2.0])
    tiny = qj.JunctionParams(**{**base.__dict__, "length": 1e-9})
    # L -> 0 is the short junction (Nazarov's form there, the matching determinant here):
    # measured 1.7e-8 relative (the L = 1e-9 itself); bound states 4e-9.
    assert qj.current_phase(tiny, phases) == pytest.approx(qj.current_phase(base, phases),
                                                           rel=1e-6)
    short = qj.bound_states(base, [2.0])
    near = qj.bound_states(tiny, [2.0])
    assert np.sort(near.energy) == pytest.approx(np.sort(short.energy), abs=1e-7)
    long = qj.JunctionParams(**{**base.__dict__, "length": 0.8})
    cur = qj.current_phase(long, np.concatenate([-phases, phases]))
    assert cur[:3] == pytest.approx(-cur[3:], rel=1e-9)  # odd in φ: no diode from L alone
    bs = qj.bound_states(long, [2.0])
    e = np.sort(bs.energy)
    assert e == pytest.approx(-e[::-1], abs=1e-7)  # particle-hole symmetry (both valleys)
    assert np.all(np.linalg.norm(bs.spin, axis=1) <= 1 + 1e-9)
    # The normal region weakens the coupling: a smaller current (measured 0.41 of the short
    # junction's at φ = 2).
    assert abs(cur[-1]) < 0.9 * abs(qj.current_phase(base, [2.0])[0])


def _normal_velocity(mapping):
    """ħ v_y (t a) of the normal rows at k_x = K_x (normal incidence), from their dispersion."""
    from scipy.optimize import brentq

    from latticemirage import model

    mu = mapping.lattice_params(0.0)["mu"]

    def xi(ky):
        return -2 * np.cos(np.array([model.VALLEY_K[0], ky]) @ model.BOND_VECTORS.T).sum() - mu

    ky = brentq(xi, 0.0, 1.0)
    return abs(xi(ky + 1e-6) - xi(ky - 1e-6)) / 2e-6


def test_lattice_finite_length_matches_qc_channel(bcs_mapping):
    rows = 4
    # The normal rows are rows * (√3/2) a long along the transport direction (y); at
    # k_x = 0 the modes move along y with v_y, so L = rows (√3/2) Δ0 / (ħ v_y).
    length = rows * np.sqrt(3) / 2 * bcs_mapping.delta0 / _normal_velocity(bcs_mapping)
    lat = lj.bound_states(bcs_mapping, lj.SNSParams(length=rows), 0.0, [2.5])
    e_lat = np.sort(lat.energy)[-1]
    e_qc, e_short = (np.sort(qj.bound_states(qj.JunctionParams(length=x), [2.5]).energy)[-1]
                     for x in (length, 0.0))
    # Measured: the 4 rows lower the state by 2.5 %; lattice and qc at the same length
    # agree to 2.8e-4 (the O(Δ/E_F) of the short junction, 2.6e-4 there, and the
    # interface's position within a row). At 8 rows: 1.2e-3 against a 4.9 % shift; at 16
    # rows 1.2e-3 (both φ = 2.5, not run here: minutes each).
    assert e_lat == pytest.approx(e_qc, rel=1.5e-3)
    assert abs(e_lat - e_short) > 5 * abs(e_lat - e_qc)


def test_qc_cli_finite_length(tmp_path):
    from mirage_cli.main import main
    from mirage_common.io import read_table

    out, cur = tmp_path / "abs.csv", tmp_path / "cpr.csv"
    code = main(["qc", "josephson", "--beta", "7", "--field-left", "0", "--field-right", "0",
                 "--length", "0.5", "--phase", "2", "--output", str(out), "--current", str(cur)])
    assert code == 0
    cols, meta = read_table(out)
    assert meta["length_hbar_vF_over_delta0"] == 0.5
    positive = np.unique(np.round(cols["energy"][cols["energy"] > 0], 9))
    # Kulik's level at L = 0.5, φ = 2 (CSV: 12 digits; the scan's root: 1e-8).
    assert positive == pytest.approx(_kulik_energies(0.5, 2.0)[_kulik_energies(0.5, 2.0) > 0],
                                     abs=1e-7)
    _, cmeta = read_table(cur)
    assert "length" in cmeta["conventions"]
