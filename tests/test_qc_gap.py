"""Gap equation: BCS limits, cut-off convergence, Pauli and Ising critical fields, first order."""

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import digamma, zeta

from quasiclassical.eilenberger import components, solve_matsubara
from quasiclassical.gap import (
    condensation_energy,
    critical_field,
    gap_residual,
    matsubara_grid,
    solve_gap,
)
from quasiclassical.params import DELTA0_OVER_TC0, FermiSurface, QCParams

PAPER = QCParams(beta=7.0, field=2.0, temperature=0.1)


def t_in_delta0(t):
    return t / DELTA0_OVER_TC0


def linearized_critical_field(t, beta):
    """Clean Ising/Pauli second-order line (e.g. Ilic, Meyer, Houzet PRL 119, 117001):
    ln(T_c0/T) = B^2/rho^2 [Re psi(1/2 + i rho / 2 pi T) - psi(1/2)], rho^2 = beta^2 + B^2."""
    temp = t_in_delta0(t)

    def f(b):
        rho = math.hypot(beta, b)
        pref = b**2 / rho**2
        pair_breaking = digamma(0.5 + 1j * rho / (2 * math.pi * temp)).real - digamma(0.5)
        return pref * pair_breaking - math.log(1 / t)

    return brentq(f, 1e-6, 100.0, xtol=1e-12)


def test_bcs_ratio():
    """Delta0 = pi exp(-gamma_E) T_c0 = 1.764 T_c0, and the gap equation reproduces it at T -> 0."""
    assert DELTA0_OVER_TC0 == pytest.approx(1.764, abs=5e-4)
    # Thermal corrections at T = 0.01 T_c0 are ~exp(-1/0.0057): zero; the cut-off adds ~1e-8.
    assert solve_gap(QCParams(temperature=0.01)).delta == pytest.approx(1.0, abs=1e-7)


def test_ginzburg_landau_limit_near_tc():
    t = 0.99
    delta = solve_gap(QCParams(temperature=t)).delta
    gl = math.sqrt(8 * math.pi**2 / (7 * zeta(3)) * (1 - t)) / DELTA0_OVER_TC0
    assert delta == pytest.approx(gl, rel=1 - t)  # next order of the GL expansion is O(1 - t)
    assert solve_gap(QCParams(temperature=1.01)).delta == 0.0


def test_condensation_energy_at_low_temperature():
    """(Omega_s - Omega_n) / N0 Delta0^2 = -1/2 + (pi^2/3) T^2 (normal-state entropy) at low T."""
    t = 0.03
    energy = condensation_energy(solve_gap(QCParams(temperature=t)).delta, QCParams(temperature=t))
    # Superconducting thermal corrections ~exp(-Delta/T) = 1e-25; quadrature error ~1e-9.
    assert energy == pytest.approx(-0.5 + math.pi**2 / 3 * t_in_delta0(t) ** 2, abs=1e-7)


def test_matsubara_cutoff_is_converged():
    deltas = {f: solve_gap(PAPER, cutoff=f * PAPER.beta).delta for f in (5, 10, 20, 40)}
    # With the tail integral the result no longer depends on the cut-off.
    assert abs(deltas[10] - deltas[40]) < 1e-8 and abs(deltas[20] - deltas[40]) < 1e-9
    default = solve_gap(PAPER)
    assert default.delta == pytest.approx(deltas[40], abs=1e-8)
    # The plain truncated sum converges to the same value with an error falling as Omega^-2.
    errors = [abs(solve_gap(PAPER, cutoff=f * PAPER.beta, tail=False).delta - deltas[40])
              for f in (5, 10, 20)]
    assert errors[0] > 1e-4
    for coarse, fine in itertools.pairwise(errors):
        assert coarse / fine == pytest.approx(4.0, rel=0.15)  # O(Omega^-4) corrections


def test_matsubara_anomalous_function_is_real():
    """Eq. (8) gauge: f0(i omega) is real, as the gap equation assumes (also with Gamma > 0)."""
    grid = matsubara_grid(0.1, 70.0)
    res = solve_matsubara(grid.omegas, 0.8, PAPER.replace(gamma=1.0))
    f0 = components(res.average, gauge="eq8").f0
    assert np.max(np.abs(f0.imag)) < 1e-12 * np.max(np.abs(f0))  # round-off


@pytest.mark.parametrize(("t", "beta"), [(0.7, 0.0), (0.9, 0.0), (0.1, 7.0), (0.5, 7.0)])
def test_second_order_critical_field_matches_the_digamma_formula(t, beta):
    crit = critical_field(QCParams(temperature=t, beta=beta))
    assert crit.order == "second"
    # brentq xtol = 1e-6 on the field; the gap-equation sum is converged to ~1e-9.
    assert crit.field == pytest.approx(linearized_critical_field(t, beta), abs=2e-6)


def test_pauli_limit_is_first_order_at_low_temperature():
    """Clogston-Chandrasekhar: B_c = Delta0/sqrt(2) at T -> 0, first order; the normal state is
    unstable only below Delta0/2 (spinodal)."""
    t = 0.02
    crit = critical_field(QCParams(temperature=t))
    assert crit.order == "first"
    # Equal free energies: -1/2 = -B^2 - (pi^2/3) T^2 (normal-state Pauli and entropy terms).
    expected = math.sqrt(0.5 - math.pi**2 / 3 * t_in_delta0(t) ** 2)
    assert crit.field == pytest.approx(expected, abs=2e-6)  # xtol 1e-6 and quadrature 1e-8
    assert crit.spinodal == pytest.approx(0.5, abs=1e-3)  # T = 0 value; thermal shift ~4e-4
    assert crit.delta_jump == pytest.approx(1.0, abs=1e-6)  # the T = 0 gap survives until B_c
    # Between spinodal and B_c both states are local minima: the first-order region.
    sol = solve_gap(QCParams(temperature=t, field=0.6))
    assert sol.first_order_region and sol.delta == pytest.approx(1.0, abs=1e-6)
    assert sol.free_energy < 0 and sol.maxima.size == 1


def test_tricritical_point_of_the_pauli_limit():
    """The Pauli-limited transition turns first order below T* = 0.56 T_c0 (Sarma, Maki)."""
    assert critical_field(QCParams(temperature=0.5)).order == "first"
    assert critical_field(QCParams(temperature=0.6)).order == "second"


def test_ising_protection():
    """beta = 7 Delta0 >> Delta0: B_c2 far above the Pauli limit Delta0/sqrt(2)."""
    ising = critical_field(QCParams(temperature=0.1, beta=7.0))
    pauli = critical_field(QCParams(temperature=0.1, beta=0.0))
    assert pauli.field < 1 / math.sqrt(2)
    assert ising.field > 8 / math.sqrt(2)
    # Intervalley scattering undoes part of the protection (paper, refs. [32, 35]).
    dirty = critical_field(QCParams(temperature=0.1, beta=7.0, gamma=1.0))
    assert 1 / math.sqrt(2) < dirty.field < ising.field - 1.0


def test_gap_decreases_with_field_and_disorder():
    fields = solve_gap(PAPER.replace(field=1.0)).delta, solve_gap(PAPER.replace(field=3.0)).delta
    assert 1.0 > fields[0] > fields[1] > 0
    gammas = [solve_gap(PAPER.replace(gamma=g)).delta for g in (0.0, 0.4, 2.0)]
    assert gammas[0] > gammas[1] > gammas[2] > 0


def test_gap_residual_sign_convention():
    """h < 0 below the gap (larger gap favoured), > 0 above; h(0+) = ln(T/T_c0) at B = 0."""
    params = QCParams(temperature=0.5)
    delta = solve_gap(params).delta
    h = gap_residual([1e-6, 0.5 * delta, 1.5 * delta], params)
    assert h[0] == pytest.approx(math.log(0.5), abs=1e-9)  # O(Delta^2) and sum converged
    assert h[1] < 0 < h[2]


def test_anderson_theorem_for_the_gap():
    """B = 0: intervalley (and intravalley) scattering leave the gap unchanged."""
    clean = solve_gap(QCParams(beta=7.0, temperature=0.3)).delta
    dirty = solve_gap(QCParams(beta=7.0, temperature=0.3, gamma=1.0, gamma_intra=0.5)).delta
    assert dirty == pytest.approx(clean, abs=1e-9)  # SCBA tol 1e-12 summed, root xtol 1e-10


def test_gap_uses_the_fermi_surface_distribution():
    """Duplicated Fermi-surface points change nothing; a warped distribution changes the gap."""
    params = PAPER.replace(gamma=0.4)
    two = solve_gap(params).delta
    dup = solve_gap(params, FermiSurface(betas=[7, 7, -7, -7], weights=[0.2, 0.3, 0.4, 0.1])).delta
    assert dup == pytest.approx(two, abs=1e-9)  # SCBA tolerance, root xtol 1e-10
    warped = solve_gap(params, FermiSurface(betas=[4, 10, -4, -10])).delta
    assert abs(warped - two) > 1e-3
