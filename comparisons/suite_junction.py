r"""Josephson junction between Ising superconductors: the lattice against quasiclassics.

Lattice: `latticemirage.josephson` (exact superconducting leads, transparent interface
row, no normal region, phase on the right gap) on the setup's lattice scale
(Δ0 = ``setup.base.delta0`` t, E_F = ``setup.base.e_fermi`` Δ0), Ising field β =
``setup.base.beta``; quasiclassics: `quasiclassical.josephson` (short junction, τ = 1).
Both at a fixed gap Δ = Δ0 on both sides and T = ``setup.base.temperature``.

Runs
----
* **Known limits** (B = 0): lattice bound states at normal incidence (k_x = 0) against
  Beenakker's ``Δ|cos(φ/2)|``; lattice current at k_x = 0 against Kulik-Omelyanchuk; the
  quasiclassical solver against Beenakker at τ = 0.5 (spectrum and current, exact
  formulas).
* **Noncollinear fields** (B_L = B_R = ``setup.base.field``, angles 0 and π/2): bound-state
  energies and spins at k_x = 0, the current at k_x = 0 and summed over transverse momenta,
  lattice against quasiclassics; the splitting of the bound states by the relative angle;
  the current is odd in φ (no diode effect without a further symmetry breaking); two
  independent routes to the lattice current (Hellmann-Feynman on the Matsubara Green's
  function and the φ-derivative of the free energy).
* **Spin-polarizing barrier**: the diode effect (module constants ``DIODE_*``).

Tolerances (measured 2026-12-07, E_F = 30 Δ0, β = 7, B = 2, T = 0.1 T_c0)
------------------------------------------------------------------------
The lattice departs from the Andreev approximation by O(Δ/E_F) = 0.033 (the k_x = 0
current at B = 0 lies 1.16 % / 0.77 % below KO at φ = 1 / 2 and by half that at
E_F = 60 Δ0).

* ``junction/bcs/energy`` ≤ 1e-3 relative (measured 4.4e-4 at β = 7; 2.6e-4 at β = 0).
* ``junction/bcs/ko_current`` ≤ 0.6 Δ/E_F = 0.02 relative (measured 0.0123).
* ``junction/qc/...`` ≤ 1e-6 (exact formulas; measured 3e-15 for the energies, 3e-8 for
  the current: the Matsubara tail quadrature).
* ``junction/noncollinear/energy`` ≤ 3e-3 Δ0 (measured 1.1e-3 at φ = 1, 2).
* ``junction/noncollinear/spin`` ≤ 0.015 (spin expectation values of size ≈ 0.03: the Ising
  field pins the spin; measured 0.0075).
* ``junction/noncollinear/current_k0`` ≤ 0.02 relative (measured 0.0113).
* ``junction/noncollinear/current_sum`` ≤ 0.03 relative over ``N_K`` transverse momenta
  (measured 0.0150: grazing modes carry larger Andreev-approximation errors).
* ``junction/lattice/routes`` ≤ 1e-6 relative (measured 9e-10).
* ``junction/noncollinear/odd`` ≤ 1e-9 of max |I| (round-off).
* ``junction/noncollinear/splitting``: the bound-state splitting at φ = 2 with
  perpendicular fields over the one with parallel fields ≥ 3 (measured 5.4).
* ``junction/diode/...``: a barrier row of ``DIODE_BARRIER`` = 1 t polarized along z
  (``p = 0.5``), fields at 1.2 rad: the lattice diode efficiency at k_x = 0 against the
  quasiclassical one with Z and p from the lattice's own spin-resolved normal transmissions
  (four channels at k_x = 0, averaged per spin), ≤ 30 % of η (measured 0.0110 vs 0.0112,
  2 %); η ≥ 0.005 (the effect exists); η = 0 (≤ 1e-9) with in-plane polarization.

Stage time: 17 s on the 2-core machine (shared, load ≈ 12).
"""

from dataclasses import replace

import numpy as np

from comparisons.report import Check
from latticemirage import josephson as lj
from latticemirage.mapping import map_to_lattice
from latticemirage.transport import k_window
from quasiclassical import josephson as qj
from quasiclassical.params import temperature_in_delta0

__all__ = ["N_K", "PHASES", "qc_barrier", "run", "units"]

PHASES = np.array([1.0, 2.0])  # rad: bound states well inside the gap
N_K = 8  # transverse momenta of the summed current
TOL_BCS_ENERGY = 1e-3
TOL_KO = 0.02
TOL_QC_EXACT = 1e-6
TOL_ENERGY = 3e-3
TOL_SPIN = 0.015
TOL_CURRENT_K0 = 0.02
TOL_CURRENT_SUM = 0.03
TOL_ROUTES = 1e-6
TOL_ODD = 1e-9
MIN_SPLITTING_RATIO = 3.0
DIODE_BARRIER = 1.0  # t: spin-averaged normal transmission 0.45 per channel at k_x = 0
DIODE_POLARIZATION = 0.5
DIODE_ANGLE = 1.2  # rad, relative field angle
TOL_DIODE = 0.3
MIN_DIODE = 0.005


def units(setup):
    """Work units (for the progress ETA)."""
    return 4


def _mapping(setup):
    # The junction's own fields enter through SNSParams; the mapping supplies mu, lam, Δ0.
    return map_to_lattice(replace(setup.physical(field_=0.0), delta=1.0))


def _splitting(energy, valley_mask):
    pos = np.sort(energy[valley_mask & (energy > 0)])
    return float(pos[-1] - pos[0]) if len(pos) > 1 else 0.0


def _limits(setup, mapping, report, tick):
    temp = setup.base.temperature
    bs = lj.bound_states(mapping, lj.SNSParams(temperature=temp), 0.0, PHASES)
    rel = [np.max(np.abs(np.abs(bs.energy[bs.phase == p]) / np.cos(p / 2) - 1)) for p in PHASES]
    report.add(Check(
        "junction/bcs/energy", float(max(rel)), TOL_BCS_ENERGY, "relative",
        "lattice bound states at k_x = 0 (B = 0, transparent) vs Beenakker Delta|cos(phi/2)|; "
        "O(Delta/E_F) Andreev-approximation corrections",
        details={"phases": PHASES, "count": [int(np.sum(bs.phase == p)) for p in PHASES]},
        quantity="lattice bound states vs Beenakker (B = 0)"))
    phases = np.array([-2.0, 0.5, 1.5, 2.0, 2.5])
    green = lj.current_phase(mapping, lj.SNSParams(temperature=temp), phases, [0.0])
    free = lj.current_phase(mapping, lj.SNSParams(temperature=temp), phases, [0.0],
                            method="free-energy")
    ko = qj.kulik_omelyanchuk(1.0, temp, phases)
    report.add(Check(
        "junction/bcs/ko_current", float(np.max(np.abs(green.current / ko - 1))), TOL_KO,
        "relative", "lattice e I R_N at k_x = 0 (B = 0, transparent) vs Kulik-Omelyanchuk; "
        "bound 0.6 Delta/E_F", details={"lattice": green.current, "ko": ko, "phases": phases},
        quantity="lattice current vs Kulik-Omelyanchuk"))
    report.add(Check(
        "junction/lattice/routes",
        float(np.max(np.abs(green.dfdphi - free.dfdphi)) / np.max(np.abs(green.dfdphi))),
        TOL_ROUTES, "relative",
        "lattice current: Hellmann-Feynman Green's-function current vs five-point derivative "
        "of the free energy (log det of the Matsubara Green's function)",
        quantity="two routes to the lattice current"))
    tick("B = 0 limits (lattice)")
    qp = qj.JunctionParams(transparency=0.5, temperature=temp)
    qbs = qj.bound_states(qp, PHASES)
    err_e = max(np.max(np.abs(np.abs(qbs.energy[qbs.phase == p])
                              - qj.beenakker_energy(1.0, 0.5, p))) for p in PHASES)
    report.add(Check(
        "junction/qc/beenakker_energy", float(err_e), TOL_QC_EXACT, "Delta0",
        "quasiclassical bound states at tau = 0.5, B = 0 vs Beenakker (root tolerance)",
        quantity="quasiclassical bound states vs Beenakker"))
    t = float(temperature_in_delta0(temp))
    ea = qj.beenakker_energy(1.0, 0.5, phases)
    exact = np.pi * np.sin(phases) / (2 * ea) * np.tanh(ea / (2 * t))
    cur = qj.current_phase(qp, phases)
    report.add(Check(
        "junction/qc/beenakker_current", float(np.max(np.abs(cur / exact - 1))), TOL_QC_EXACT,
        "relative", "quasiclassical Matsubara current at tau = 0.5 vs the bound-state formula "
        "(Matsubara tail quadrature)", quantity="quasiclassical current vs Beenakker"))
    return {"green": green, "ko": ko, "phases": phases, "temperature": temp}


def _noncollinear(setup, mapping, report, tick):
    base = setup.base
    field_, temp = base.field, base.temperature
    kmax = k_window(mapping, 0.0)
    ks = kmax * (2 * (np.arange(N_K) + 0.5) / N_K - 1)
    out = {}
    for label, angle in (("parallel", 0.0), ("perpendicular", np.pi / 2)):
        lp = lj.SNSParams(field_left=field_, field_right=field_, angle_right=angle,
                          temperature=temp)
        qp = qj.JunctionParams(beta=base.beta, field_left=field_, field_right=field_,
                               angle_right=angle, temperature=temp)
        lb = lj.bound_states(mapping, lp, 0.0, PHASES)
        qb = qj.bound_states(qp, PHASES)
        de, ds, counts = [], [], []
        for p in PHASES:
            lm = lb.phase == p
            qm = (qb.phase == p) & (np.abs(qb.energy) < lb.gap)
            counts.append((int(lm.sum()), int(qm.sum())))
            if lm.sum() != qm.sum():
                de.append(np.inf)
                continue
            li, qi = np.argsort(lb.energy[lm]), np.argsort(qb.energy[qm])
            de.append(np.max(np.abs(lb.energy[lm][li] - qb.energy[qm][qi])))
            ds.append(np.max(np.abs(lb.spin[lm][li] - qb.spin[qm][qi])))
        phases = np.concatenate([-PHASES[::-1], PHASES])
        l0 = lj.current_phase(mapping, lp, phases, [0.0]).current
        lsum = lj.current_phase(mapping, lp, phases, ks).current
        qc = qj.current_phase(qp, phases)
        out[label] = {"lattice_states": lb, "qc_states": qb, "l0": l0, "lsum": lsum, "qc": qc,
                      "phases": phases}
        tag = f"junction/noncollinear/{label}"
        report.add(Check(
            f"{tag}/energy", float(max(de)), TOL_ENERGY, "Delta0",
            "bound-state energies at k_x = 0 (both valleys), lattice vs quasiclassical short "
            "junction (tau = 1), largest difference", details={"counts": counts},
            quantity="bound-state energies, lattice vs quasiclassics"))
        if angle != 0.0:
            report.add(Check(
                f"{tag}/spin", float(max(ds)) if ds else np.inf, TOL_SPIN, "spin",
                "electron-part spin expectation of each bound state, lattice vs "
                "quasiclassics (values ~0.03: the Ising field pins the spin)",
                quantity="bound-state spins, lattice vs quasiclassics"))
        report.add(Check(
            f"{tag}/current_k0", float(np.max(np.abs(l0 / qc - 1))), TOL_CURRENT_K0, "relative",
            "e I R_N at k_x = 0 vs quasiclassics; bound 0.6 Delta/E_F",
            details={"lattice": l0, "qc": qc, "phases": phases},
            quantity="current at normal incidence, lattice vs quasiclassics"))
        report.add(Check(
            f"{tag}/current_sum", float(np.max(np.abs(lsum / qc - 1))), TOL_CURRENT_SUM,
            "relative", f"e I R_N summed over {N_K} transverse momenta vs quasiclassics "
            "(grazing modes: larger Andreev-approximation errors)",
            details={"lattice": lsum, "qc": qc, "k_points": ks},
            quantity="current summed over k_x, lattice vs quasiclassics"))
        odd = np.max(np.abs(lsum + lsum[::-1])) / np.max(np.abs(lsum))
        report.add(Check(
            f"{tag}/odd", float(odd), TOL_ODD, "relative",
            "lattice I(phi) + I(-phi): zero without a symmetry breaking beyond the fields "
            "(no diode effect)", quantity="I(phi) = -I(-phi)"))
        tick(f"noncollinear fields, {label}")
    sp = [_splitting(out[k]["qc_states"].energy[out[k]["qc_states"].phase == PHASES[-1]],
                     out[k]["qc_states"].valley[out[k]["qc_states"].phase == PHASES[-1]] == 1)
          for k in ("parallel", "perpendicular")]
    lat = [_splitting(out[k]["lattice_states"].energy[out[k]["lattice_states"].phase
                                                       == PHASES[-1]],
                      np.ones(int(np.sum(out[k]["lattice_states"].phase == PHASES[-1])), bool))
           for k in ("parallel", "perpendicular")]
    report.add(Check(
        "junction/noncollinear/splitting", sp[1] / sp[0] if sp[0] > 0 else np.inf,
        MIN_SPLITTING_RATIO, "ratio",
        "splitting of the valley-K bound states at phi = 2: perpendicular over parallel fields "
        "(quasiclassics); noncollinear fields split the states",
        comparison=">=", details={"qc": sp, "lattice_all_valleys_spread": lat},
        quantity="bound-state splitting by the relative field angle"))
    return out


def _eta(current):
    plus, minus = float(np.max(current)), float(np.min(current))
    return (plus - abs(minus)) / (plus + abs(minus))


def qc_barrier(mapping, params):
    """Quasiclassical ``(transparency, polarization)`` of a lattice barrier, and its data.

    From the lattice's spin-resolved normal transmissions at k_x = 0 (fields off, Δ = 0):
    the eight eigenvalues of t^†t are four channels per spin (two valleys, electrons and
    holes), averaged per spin into tau_±, then ``Z(1 ± p) = sqrt(1/tau_± - 1)``. Only for a
    polarization along z (the Ising axis: spin along z is then conserved).
    """
    import kwant

    kp = {**lj.kwant_params(mapping, params), "delta": 0.0, "k_x": 0.0, "B_L": 0.0,
          "B_R": 0.0}
    t = kwant.smatrix(lj.sns_junction(params.length), 1e-9, params=kp).submatrix(1, 0)
    ev = np.sort(np.linalg.eigvalsh(t.conj().T @ t))
    z_up, z_dn = np.sqrt(1 / ev[:4].mean() - 1), np.sqrt(1 / ev[4:].mean() - 1)
    return 1 / (1 + (0.5 * (z_up + z_dn)) ** 2), (z_up - z_dn) / (z_up + z_dn), ev


def _diode(setup, mapping, report, tick):
    """Spin-polarizing barrier: the diode efficiency, lattice vs quasiclassics (k_x = 0)."""
    base = setup.base
    common = dict(field_left=base.field, field_right=base.field, angle_right=DIODE_ANGLE,
                  barrier=DIODE_BARRIER, polarization=DIODE_POLARIZATION,
                  temperature=base.temperature)
    phases = np.linspace(-np.pi, np.pi, 65)
    z_pol = lj.current_phase(mapping, lj.SNSParams(**common), phases, [0.0]).current
    x_pol = lj.current_phase(mapping, lj.SNSParams(polarization_axis=(1.0, 0.0, 0.0),
                                                   **common), phases, [0.0]).current
    tau, pol, ev = qc_barrier(mapping, lj.SNSParams(**common))
    qp = qj.JunctionParams(beta=base.beta, field_left=base.field, field_right=base.field,
                           angle_right=DIODE_ANGLE, temperature=base.temperature,
                           transparency=tau, polarization=pol)
    qc = qj.current_phase(qp, phases)
    eta_lat, eta_qc = _eta(z_pol), _eta(qc)
    details = {"eta_lattice": eta_lat, "eta_qc": eta_qc, "qc_transparency": qp.transparency,
               "qc_polarization": qp.polarization, "lattice_transmissions_k0": ev}
    report.add(Check(
        "junction/diode/eta_vs_qc", abs(eta_lat - eta_qc) / abs(eta_qc), TOL_DIODE,
        "relative", "diode efficiency with a z-polarized barrier and fields at "
        f"{DIODE_ANGLE:g} rad, lattice (k_x = 0) vs quasiclassics with the barrier's Z and p "
        "from the lattice's own spin-resolved normal transmissions", details=details,
        quantity="diode efficiency, lattice vs quasiclassics"))
    report.add(Check(
        "junction/diode/eta", eta_lat, MIN_DIODE, "eta",
        "the lattice diode efficiency with out-of-plane polarization and noncollinear fields "
        "is finite", comparison=">=", quantity="diode effect exists"))
    report.add(Check(
        "junction/diode/in_plane_polarization", abs(_eta(x_pol)), TOL_ODD, "eta",
        "in-plane (x) barrier polarization: no diode effect (round-off)",
        quantity="no diode effect with in-plane polarization"))
    tick("spin-polarizing barrier: diode effect")
    return {"phases": phases, "lattice": z_pol, "qc": qc, "eta": (eta_lat, eta_qc)}


def _plot(report, limits, nc):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ax = axes[0]
    ph = limits["phases"]
    ax.plot(ph, limits["green"].current, "ko", label="lattice, k_x = 0")
    grid = np.linspace(-np.pi, np.pi, 200)
    ax.plot(grid, qj.kulik_omelyanchuk(1.0, limits["temperature"], grid), "C1-",
            label="Kulik-Omelyanchuk")
    ax.set_title("B = 0, transparent", fontsize=9)
    for ax, label in zip(axes[1:], ("parallel", "perpendicular"), strict=True):
        r = nc[label]
        ax.plot(r["phases"], r["qc"], "C1s-", label="quasiclassics (tau = 1)")
        ax.plot(r["phases"], r["l0"], "ko", mfc="none", label="lattice, k_x = 0")
        ax.plot(r["phases"], r["lsum"], "b^", mfc="none", label=f"lattice, {N_K} k_x")
        ax.set_title(f"beta = 7, B_L = B_R = 2, fields {label}", fontsize=9)
    for ax in axes:
        ax.set_xlabel(r"phase difference $\varphi$ (rad)")
        ax.set_ylabel(r"$e I R_N / \Delta_0$")
        ax.legend(fontsize=7)
    fig.suptitle("Josephson junction between Ising superconductors: current-phase relation")
    fig.tight_layout()
    report.add_figure(
        fig, "junction.png", "Josephson junction: lattice vs quasiclassics",
        "Current-phase relation e I R_N / Delta0 against the phase difference (rad): B = 0 "
        "against Kulik-Omelyanchuk, and with parallel / perpendicular in-plane fields, lattice "
        "(normal incidence and summed over transverse momenta) against the quasiclassical "
        "short junction.", checks=("junction/*",),
        pointer="the paper's outlook: spin-polarized Andreev bound states")
    plt.close(fig)


def run(setup, report, tick):
    """Run the junction suite, add its checks and figure to *report*; returns raw results."""
    mapping = _mapping(setup)
    limits = _limits(setup, mapping, report, tick)
    nc = _noncollinear(setup, mapping, report, tick)
    diode = _diode(setup, mapping, report, tick)
    _plot(report, limits, nc)
    return {"limits": limits, "noncollinear": nc, "diode": diode}
