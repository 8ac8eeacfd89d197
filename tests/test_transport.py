"""NS-junction transport (latticemirage.transport) against known limits.

Sizes are tiny (4-6 transverse momenta, a handful of energies): each check is
a statement per transverse mode or a ratio over the same modes, so it holds for
any number of modes. The Andreev approximation (electrons and holes see the same
interface) is exact only for Δ/E_F -> 0; its corrections are linear in Δ/E_F
(measured: the BTK deviation halves with Δ), and the tolerances below are set
as multiples of Δ/E_F = 1/30 with the measured coefficient stated.
"""

import numpy as np
import pytest

from latticemirage import transport as tr
from latticemirage.mapping import PhysicalParameters, map_to_lattice
from mirage_common.errors import ParameterError
from mirage_common.formulas import mirage_formula

E_F = 30.0  # pocket depth, Δ0 (the default mapping)


@pytest.fixture(scope="module")
def bcs_mapping():
    return map_to_lattice(PhysicalParameters(beta=0.0, field=0.0, delta=1.0))


@pytest.fixture(scope="module")
def ising_mapping():
    return map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0))


def test_transparent_interface_gives_twice_normal_conductance(bcs_mapping):
    res = tr.ns_conductance(bcs_mapping, [0.0, 0.6], barrier=0.0, n_k=48)[0]
    # Same lattice on both sides at Δ = 0: a perfect crystal, every mode transmits.
    tau = res.transmission_modes[np.isfinite(res.transmission_modes)]
    assert tau.size and np.all(tau == pytest.approx(1, abs=1e-9))
    assert res.normal_transmission == pytest.approx(1, abs=1e-9)
    # Superconducting *lead* below the gap: nothing enters it, reflection is unitary
    # per mode (round-off ~1e-12). This is what a region "many ξ long" approximates.
    assert res.normal_reflection + res.andreev_opposite_spin + res.andreev_equal_spin == (
        pytest.approx(1, abs=1e-10))
    # 2 G_N up to the Andreev-approximation correction, which is largest for the grazing
    # modes at the edges of the k_x window (v_perp -> 0) and so converges slowly in n_k:
    # measured 2 - G = 0.039, 0.032, 0.029, 0.022 (E = 0) at n_k = 48, 96, 192, 384, i.e.
    # <= 1.2 Δ/E_F; bound 1.5 Δ/E_F.
    assert res.conductance == pytest.approx(2.0, abs=1.5 / E_F)
    # B = 0: spin along z conserved; zero up to the round-off of the Caroli traces (~1e-18).
    assert np.all(np.abs(res.andreev_equal_spin) < 1e-12)


def test_btk_form_per_mode_and_linear_andreev_correction(bcs_mapping):
    deviations = {}
    for delta in (0.25, 0.5):
        energies = np.array([0.0, 0.6, 2.0]) * delta
        res = tr.ns_conductance(bcs_mapping, energies, delta=delta, barrier=1.0, n_k=4)[0]
        tau = res.transmission_modes[np.isfinite(res.transmission_modes)]
        assert 0.1 < tau.mean() < 0.5  # an intermediate barrier (measured mean 0.27)
        btk = tr.btk_conductance(energies, delta, tau)
        deviations[delta] = res.conductance / btk - 1
        # BTK for each mode's measured transmission, to the Andreev-approximation
        # correction: measured max |G/G_BTK - 1| = 1.7 Δ/E_F (at E = 0.6 Δ); bound 2.5 Δ/E_F.
        assert np.abs(deviations[delta]).max() < 2.5 * delta / E_F
    # The deviation is that correction: linear in Δ/E_F (measured ratio 2.02 at E = 0).
    assert deviations[0.5][0] / deviations[0.25][0] == pytest.approx(2.0, rel=0.15)


def test_tunnel_limit_is_the_bcs_dos(bcs_mapping):
    energies = np.array([0.5, 1.5, 2.0, 3.0])
    res = tr.ns_conductance(bcs_mapping, energies, barrier=3.0, n_k=4)[0]
    tau = res.normal_transmission
    assert np.all(tau < 0.05)  # tunnel limit (measured 0.036-0.041)
    # At β = B = 0 the lattice DOS is BCS (tests/test_lattice_dos.py checks this).
    dos = np.where(energies > 1, energies / np.sqrt(np.abs(energies**2 - 1)), 0.0)
    # In the gap only Andreev reflection remains, O(τ) after normalization
    # (BTK: τ Δ²/(2(Δ² - E²)) = 0.67 τ at E = Δ/2; measured 0.9 τ): bound 1.5 τ.
    assert res.conductance[0] < 1.5 * tau[0]
    # Outside: the DOS up to the energy dependence of the tunnel probability over
    # ξ - E ~ Δ (relative Δ/E_F-size; measured |G - N| <= 0.011 = 0.33 Δ/E_F); bound 0.6 Δ/E_F.
    assert res.conductance[1:] == pytest.approx(dos[1:], abs=0.6 / E_F)


def test_equal_spin_andreev_selection_rule_and_mirage_window(ising_mapping):
    beta0 = map_to_lattice(PhysicalParameters(beta=0.0, field=2.0, delta=1.0))
    eps0 = float(mirage_formula(7.0, 2.0, 1.0).eps0)
    energies = np.array([0.3, eps0 - 1.0, eps0, eps0 + 1.0])
    out = {}
    for axis in ("z", "field"):
        b0, both = tr.ns_conductance(ising_mapping, energies, fields=[0.0, 2.0], spin_axis=axis,
                                     barrier=0.0, n_k=4)
        (no_beta,) = tr.ns_conductance(beta0, energies, spin_axis=axis, barrier=0.0, n_k=4)
        out[axis] = (b0.andreev_equal_spin, no_beta.andreev_equal_spin, both.andreev_equal_spin)
    # Exact selection rules: B = 0 conserves spin along z (Ising SOC is σ_z); β = 0
    # conserves spin along the field. Zero up to round-off (measured <= 2e-18 with the
    # batched Caroli traces, 1e-25 with kwant.smatrix).
    assert np.all(np.abs(out["z"][0]) < 1e-12)
    assert np.all(np.abs(out["field"][1]) < 1e-12)
    for axis in ("z", "field"):
        b0, no_beta, both = out[axis]
        # In the mirage window only both together give equal-spin pairs: measured 0.48 (z),
        # 0.23 (field axis) against <= 4e-4 for B = 0 or β = 0 (n_k = 4 and 48 alike).
        assert both[2] > 0.1
        assert b0[2] < 1e-3 and no_beta[2] < 1e-3
        # ... and it is a feature of the window: 1 Δ0 outside it is <= 1/20 of its peak
        # (measured ratios 1/39 (z) and 1/34 (field axis) at n_k = 4, 1/40 and 1/35 at 48).
        assert max(both[1], both[3]) < both[2] / 20
    # Outside the window, in the main gap, one field alone already gives equal spins along
    # the *other* axis (Zeeman triplet |↑↑> - |↓↓> along z; F_z-like along x); not asserted.


def test_particle_hole_symmetry_at_zero_energy(ising_mapping):
    import kwant

    params = tr.junction_params(ising_mapping, delta=1.0, barrier=1.0)
    # k_x = 0 is particle-hole invariant: Kwant's particle_hole fixes the hole modes as
    # images of the electron modes, and then r_hh = r_ee^* (mode order reversed).
    fsyst = tr.ns_junction(1, (0.0, 0.0, 1.0), particle_hole=True)
    s = kwant.smatrix(fsyst, 0.0, params={**params, "k_x": 0.0})

    def r(out, inp):
        return s.submatrix((0, out), (0, inp))

    assert r(0, 0).size > 0
    for e_out, e_in in ((0, 0), (1, 1), (0, 1), (1, 0)):
        # Round-off of the mode basis (measured 7e-14).
        assert r(e_out + 2, e_in + 2) == pytest.approx(r(e_out, e_in)[::-1, ::-1].conj(), abs=1e-9)
        assert r(e_out + 2, e_in) == pytest.approx(r(e_out, e_in + 2)[::-1, ::-1].conj(), abs=1e-9)
    # At k_x != 0 symmetry relates k_x to -k_x: block probabilities map e <-> h.
    plain = tr.ns_junction(1, (0.0, 0.0, 1.0))

    def probs(k):
        sm = kwant.smatrix(plain, 0.0, params={**params, "k_x": k})
        return np.array([[np.sum(np.abs(sm.submatrix((0, o), (0, i))) ** 2) for i in range(4)]
                         for o in range(4)])

    perm = [2, 3, 0, 1]
    # Round-off (measured 1e-15); the probabilities are O(1).
    assert probs(0.5) == pytest.approx(probs(-0.5)[np.ix_(perm, perm)], abs=1e-9)


def test_thermal_smear_of_a_step_is_the_fermi_function():
    e = np.linspace(-2, 2, 1001)
    step = (e > 0).astype(float)
    t = 0.1
    smeared = tr.thermal_smear(e, step, t)
    exact = 1 / (np.exp(-e / t) + 1)
    # A step is piecewise constant on the bins except the bin at 0: error <= h/(4T) = 1e-2.
    assert smeared == pytest.approx(exact, abs=1.1e-2)
    const = tr.thermal_smear(e, np.full_like(e, 1.7), t)
    assert const == pytest.approx(1.7, abs=1e-12)  # the edge continuation keeps constants
    with pytest.raises(ParameterError, match="temperature"):
        tr.thermal_smear(e, step, -0.1)


def test_bad_input_is_refused_before_work(bcs_mapping):
    with pytest.raises(ParameterError, match="barrier"):
        tr.check_transmission(bcs_mapping, barrier=1e9, barrier_rows=2, n_k=2)
    with pytest.raises(ParameterError, match="barrier"):
        tr.ns_conductance(bcs_mapping, [0.0], barrier=-1.0)
    with pytest.raises(ParameterError, match="energies"):
        tr.ns_conductance(bcs_mapping, [20.0])
    with pytest.raises(ParameterError, match="spin-axis"):
        tr.ns_conductance(bcs_mapping, [0.0], spin_axis="w")


@pytest.mark.parametrize("beta, field, barrier, axis, energies", [
    (7.0, 2.0, 1.0, "z", [0.3, 1.2, 7.3]),
    # gapless (B > Δ): e- and h-like modes meet at E = 0 with velocities of both signs
    (0.0, 2.0, 0.0, "x", [0.0, 2.5]),
    (7.0, 0.0, 3.0, "z", [1.0]),  # E = Δ exactly: band edge of the lead (G/G_N ~ 2/τ)
])
def test_batched_solver_equals_kwant_smatrix(beta, field, barrier, axis, energies):
    mapping = map_to_lattice(PhysicalParameters(beta=beta, field=field, delta=1.0))
    ref = {s: tr.ns_conductance(mapping, energies, barrier=barrier, spin_axis=axis, n_k=2,
                                solver=s)[0] for s in ("batched", "mumps", "sparse")}
    for name in ("conductance", "normal_reflection", "andreev_opposite_spin",
                 "andreev_equal_spin", "normal_transmission"):
        for kwant_solver in ("mumps", "sparse"):
            # Same matrices, different linear algebra: round-off (measured <= 5e-13; 1.3e-9 for
            # G/G_N ~ 50 at the band edge, where both take Kwant's self-energy).
            assert getattr(ref["batched"], name) == pytest.approx(
                getattr(ref[kwant_solver], name), abs=1e-7)
    assert ref["batched"].transmission_modes == pytest.approx(
        ref["mumps"].transmission_modes, abs=1e-7, nan_ok=True)


def test_batched_selfenergy_hands_singular_hopping_to_the_fallback():
    from latticemirage import _modematch

    calls = []

    def fallback(i, e):
        calls.append(i)
        return np.zeros((2, 2)), 0

    sigma, _ = _modematch._selfenergy(np.eye(2), np.zeros((2, 2)), np.array([0.1, 0.2]), fallback)
    assert calls == [0, 1] and sigma.shape == (2, 2, 2)


def test_ferromagnetic_lead_limits_andreev_reflection_to_minority_modes(bcs_mapping):
    import concurrent.futures as cf

    exchange = 0.6 * E_F * bcs_mapping.delta0  # t; both spins keep modes
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        para, ferro = (tr.ns_conductance(bcs_mapping, [0.0], barrier=0.0, exchange=h, n_k=24,
                                         executor=pool)[0] for h in (0.0, exchange))
    serial = tr.ns_conductance(bcs_mapping, [0.0], barrier=0.0, exchange=exchange, n_k=24)[0]
    # Any executor gives the same sums (each k_x is a side-effect-free task).
    assert ferro.conductance == pytest.approx(serial.conductance, abs=1e-14)
    n_plus, n_minus = ferro.sums["n_in"][0]
    assert n_plus < n_minus  # exchange along z lowers the +z electrons (measured 20 vs 42)
    g_ns = ferro.conductance * ferro.normal_transmission * ferro.modes
    # de Jong & Beenakker: each Andreev pair needs a minority mode, G_NS <= 4 N_min (e²/h)
    # (measured 76.6 <= 80); spin polarization suppresses G_NS/G_N (1.55 vs 1.99).
    assert g_ns[0] <= 4 * min(n_plus, n_minus)
    assert ferro.conductance[0] < para.conductance[0] - 0.2
    assert np.abs(ferro.andreev_equal_spin).max() < 1e-12  # B = 0: spin z conserved


# -- ferromagnetic normal lead: exchange field h along (theta, phi) ------------------------

EF_T = E_F * 0.005  # pocket depth in t (the default mapping: Δ0 = 0.005 t)


@pytest.fixture(scope="module")
def ising_b0_mapping():
    return map_to_lattice(PhysicalParameters(beta=7.0, field=0.0, delta=1.0))


def test_zero_exchange_at_any_angle_reproduces_the_paramagnetic_lead(ising_mapping):
    energies = [0.0, 0.8, 1.5]
    (ref,) = tr.ns_conductance(ising_mapping, energies, barrier=0.5, n_k=4)
    (tilted,) = tr.magnetization_sweep(ising_mapping, energies, [1.1], [0.7], exchange=0.0,
                                       barrier=0.5, n_k=4)
    # h = 0: only the basis of the lead's spin blocks turns; every spin-summed quantity is
    # the same up to round-off (measured 2.4e-15).
    assert tilted.conductance == pytest.approx(ref.conductance, abs=1e-12)
    assert tilted.normal_reflection == pytest.approx(ref.normal_reflection, abs=1e-12)
    total = tilted.andreev_equal_spin + tilted.andreev_opposite_spin
    assert total == pytest.approx(ref.andreev_equal_spin + ref.andreev_opposite_spin, abs=1e-12)


def test_half_metal_has_only_equal_spin_andreev_reflection(ising_b0_mapping, ising_mapping):
    h = 1.5 * EF_T  # beyond the pocket depth: only -n electrons at the Fermi level
    energies = [0.0, 0.5]
    out_of_plane, in_plane = tr.magnetization_sweep(ising_b0_mapping, energies, [0.0, np.pi / 2],
                                                    [0.0, 0.0], exchange=h, barrier=0.0, n_k=8)
    (field_on,) = tr.magnetization_sweep(ising_mapping, energies, [np.pi / 2], [0.0],
                                         exchange=h, barrier=0.0, n_k=8)
    for res in (out_of_plane, in_plane, field_on):
        assert np.all(res.sums["n_in"][:, 0] == 0) and np.all(res.sums["n_in"][:, 1] > 0)
        # No +n band: an opposite-spin pair has no outgoing channel (round-off: 2e-16).
        assert np.abs(res.andreev_opposite_spin).max() < 1e-14
    # B = 0, n along z: spin z is conserved and the Ising pairs are (↑↓) along z, so a
    # half metal along z reflects no hole at all: G_NS = 0 in the gap (measured 3e-13).
    assert np.abs(out_of_plane.conductance).max() < 1e-10
    # n in plane: the Ising triplet (S_z = 0 along z) is an equal-spin pair along n, so the
    # half metal Andreev-reflects (measured 0.0087, 0.0088 at n_k = 8) and G_NS = 2 R_eq.
    assert np.all(in_plane.andreev_equal_spin > 0.004)
    g = in_plane.conductance * in_plane.normal_transmission
    assert g == pytest.approx(2 * in_plane.andreev_equal_spin, rel=1e-9)  # round-off
    # The in-plane field adds the mirage-gap triplets: more equal-spin reflection at E = 0.5
    # (measured 0.093 vs 0.0088).
    assert field_on.andreev_equal_spin[1] > 2 * in_plane.andreev_equal_spin[1]


def test_magnetization_rotations_allowed_by_spin_symmetry(ising_b0_mapping, ising_mapping):
    h, energies = 0.5 * EF_T, [0.0, 0.6, 1.4]
    kw = dict(exchange=h, barrier=0.3, n_k=6)
    # B = 0: Ising SOC (σ_z) and singlet Δ are invariant under spin rotations about z, so
    # the azimuth of the magnetization does nothing; and n -> -n (θ -> θ + π) is the π
    # spin rotation about x with the mirror x -> -x (K <-> K' flips the Ising sign), so
    # the conductance has period π in θ (Lv et al., PRB 97, 144501 (2018)).
    a, b, c, flat = tr.magnetization_sweep(ising_b0_mapping, energies, [1.0, 1.0, np.pi + 1.0, 0.0],
                                           [0.3, 2.2, 0.3, 0.0], **kw)
    for other in (b, c):
        # Round-off (measured <= 9e-15).
        assert other.conductance == pytest.approx(a.conductance, abs=1e-10)
        assert other.andreev_equal_spin == pytest.approx(a.andreev_equal_spin, abs=1e-10)
    # ... and the angle matters: tilting from z turns on equal-spin reflection (measured
    # 0.023 at E = 0, θ = 1) where along z it vanishes (spin z conserved).
    assert np.abs(flat.andreev_equal_spin).max() < 1e-12
    assert a.andreev_equal_spin[0] > 1e-3
    # B != 0 at angle phi_B: only the joint rotation of field and magnetization about z
    # is a symmetry; rotating the magnetization alone changes the conductance.
    turned = map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0, phi=0.9))
    (base,) = tr.magnetization_sweep(ising_mapping, energies, [1.0], [0.3], **kw)
    (joint,) = tr.magnetization_sweep(turned, energies, [1.0], [1.2], **kw)
    (alone,) = tr.magnetization_sweep(ising_mapping, energies, [1.0], [1.2], **kw)
    assert joint.conductance == pytest.approx(base.conductance, abs=1e-10)  # round-off
    assert joint.andreev_equal_spin == pytest.approx(base.andreev_equal_spin, abs=1e-10)
    # Measured largest change 0.018 in G_NS/G_N (at E = 0); the round-off is 1e-13.
    assert np.abs(alone.conductance - base.conductance).max() > 1e-3


def test_ferromagnetic_lead_scattering_matrix_is_unitary_and_particle_hole_symmetric(
        ising_mapping):
    import kwant

    axis = tr.exchange_axis(1.0, 0.4)
    fsyst = tr.ns_junction(1, axis)
    params = tr.junction_params(ising_mapping, delta=1.0, barrier=0.5, exchange=0.5 * EF_T)
    # Above the gap (quasiparticles leave into the SC lead): S^† S = 1 (current
    # conservation); measured deviation 3e-13.
    for energy in (0.0, 0.02):  # t: E = 0 and E = 4 Δ0 (above the gap)
        s = kwant.smatrix(fsyst, energy, params={**params, "k_x": 0.3})
        assert s.data.shape[0] > 0
        assert s.data.conj().T @ s.data == pytest.approx(np.eye(s.data.shape[1]), abs=1e-9)

    def probs(energy, k):
        sm = kwant.smatrix(fsyst, energy, params={**params, "k_x": k})
        return np.array([[np.sum(np.abs(sm.submatrix((0, o), (0, i))) ** 2) for i in range(4)]
                         for o in range(4)])

    # Particle-hole symmetry: (E, k_x) -> (-E, -k_x) with e <-> h of the same spin label
    # (block 2 holds the holes of +n electrons); round-off (measured 4e-13).
    perm = [2, 3, 0, 1]
    assert probs(0.003, 0.5) == pytest.approx(probs(-0.003, -0.5)[np.ix_(perm, perm)], abs=1e-9)


def test_exchange_window_holds_every_lead_mode(ising_mapping):
    # The folded k_x window must hold the deepest pocket (E_F + |E| + |h|): beyond its
    # edge the normal lead has no mode (checked up to the library's limit 2 E_F).
    for h, e in ((0.0, 14.9), (0.6 * EF_T, 14.9), (1.99 * EF_T, 0.0)):
        half = tr.k_window(ising_mapping, e, h)
        params = tuple(sorted(tr.junction_params(ising_mapping, delta=1.0, barrier=0.0,
                                                 exchange=h).items()))
        energies_t = tuple(float(x) for x in ising_mapping.to_t(np.array([-e, e])))
        edge = tr._k_point(tr._Task(float(half), energies_t, (params,), (params,), 1,
                                    (0.0, 0.0, 1.0), "batched"))
        inside = tr._k_point(tr._Task(float(0.8 * half), energies_t, (params,), (params,), 1,
                                      (0.0, 0.0, 1.0), "batched"))
        assert edge["n_in"].sum() == 0 or half == pytest.approx(np.pi)
        assert inside["n_in"].sum() > 0


def test_exchange_beyond_the_library_limit_is_refused(bcs_mapping):
    with pytest.raises(ParameterError, match="exchange"):
        tr.ns_conductance(bcs_mapping, [0.0], exchange=2.0 * EF_T, n_k=2)
    with pytest.raises(ParameterError, match="spin-axis"):
        tr.ns_conductance(bcs_mapping, [0.0], spin_axis=(1.0, 1.0, 0.0), n_k=2)
    with pytest.raises(ParameterError, match="exchange-angle"):
        tr.exchange_axis(float("nan"), 0.0)


def test_band_slope_is_linear_scales_as_one_over_e_fermi_and_is_negative(ising_mapping):
    """kappa = d ln w / d xi_S from the Zeeman-split normal state (issue 23, item 2).

    The hole pocket shrinks as xi grows toward the band top, so electrons there are slower
    and tunnel less: kappa < 0. A parabolic band at normal incidence gives kappa E_F = -1/2;
    the k_x sum adds the grazing modes, whose velocity changes faster: measured -0.66 to
    -0.75 over n_k = 8-24. Linear response in b, and kappa E_F the same at fixed pocket size
    (E_F in t fixed, Delta0 halved): both within 10 %, the scatter of the k_x midpoint sum
    (its modes switch on at the window edges: kappa E_F = -0.685, -0.746, -0.707, -0.658 at
    n_k = 8, 12, 16, 24; b = 2 vs 4 differ by 5.6 %, 5.6 %, 4.0 % at n_k = 8, 12, 16)."""
    slopes = {b: tr.band_slope(ising_mapping, barrier=3.0, probe_field=b, n_k=8)
              for b in (2.0, 4.0)}
    k2 = slopes[2.0].kappa * E_F
    assert -1.0 < k2 < -0.5
    assert slopes[4.0].kappa * E_F == pytest.approx(k2, rel=0.10)
    half = map_to_lattice(PhysicalParameters(beta=7.0, field=2.0, delta=1.0, e_fermi=60.0,
                                             delta0=0.0025))
    assert tr.band_slope(half, barrier=3.0, n_k=8).kappa * 60.0 == pytest.approx(k2, rel=0.10)
    with pytest.raises(ParameterError, match="probe_field"):
        tr.band_slope(ising_mapping, barrier=3.0, probe_field=0.0)
