"""Clean self-consistent gap on the lattice: BCS limits, Pauli limit, Ising protection."""

import numpy as np
import pytest
from scipy import integrate, optimize

from latticemirage.gap import GapSolver
from latticemirage.mapping import PhysicalParameters, map_to_lattice, tc0_over_delta0
from mirage_common.errors import ParameterError

MESH = 600  # coarse but converged to ~1e-3 for these quantities (Δ(0) moves 1e-3 from 500 to 1000)


@pytest.fixture(scope="module")
def bcs_solver(fsyst):
    """β = 0: the lattice gap equation is plain BCS with a cutoff on |xi|."""
    mapping = map_to_lattice(PhysicalParameters(beta=0.0, field=0.0), fsyst=fsyst)
    return GapSolver.build(mapping, mesh=MESH, fsyst=fsyst)


def _bcs_gap(t_over_tc, cutoff):
    """Constant-DOS BCS gap (Δ0 units) at T = t·T_c0 with a hard cutoff on |xi|, by quadrature.

    The coupling is fixed by T_c0 = e^γ Δ0/π exactly as on the lattice.
    """
    tc = tc0_over_delta0()
    inv_coupling = integrate.quad(lambda x: np.tanh(x / (2 * tc)) / x, 0, cutoff, limit=200)[0]

    def gap_eq(d):
        t = t_over_tc * tc

        def f(x):
            e = np.hypot(x, d)
            return (np.tanh(e / (2 * t)) if t > 0 else 1.0) / e

        return integrate.quad(f, 0, cutoff, limit=200)[0] - inv_coupling

    return optimize.brentq(gap_eq, 1e-6, 1.5)


def test_zero_temperature_gap_is_delta0(bcs_solver):
    """T_c0 fixes U; the BCS ratio Δ(0) = π e^{-γ} T_c0 must come out (up to O(Δ0²/ω_c²))."""
    result = bcs_solver.solve(temperature=0.0, field=0.0)
    assert result.converged
    expected = _bcs_gap(0.0, bcs_solver.cutoff)  # 1.0006: the finite-cutoff correction
    # Mesh discretization of the shell sum (~1e-3 at this mesh).
    assert result.delta == pytest.approx(expected, abs=2e-3)
    assert result.condensation_energy < 0


def test_gap_versus_temperature_follows_bcs(bcs_solver):
    for t in (0.5, 0.9):
        result = bcs_solver.solve(temperature=t, field=0.0)
        # Mesh discretization of the shell sum; larger near T_c where Δ is small.
        assert result.delta == pytest.approx(_bcs_gap(t, bcs_solver.cutoff), abs=3e-3)
    above = bcs_solver.solve(temperature=1.05, field=0.0)
    assert above.delta == 0.0 and above.condensation_energy == 0.0


def test_pauli_limit_without_ising_coupling(bcs_solver):
    """β = 0, T → 0: Δ is untouched for B < Δ0 (no quasiparticles) and vanishes above the
    Clogston–Chandrasekhar field Δ0/√2 (first-order transition)."""
    t = 0.02
    zero = bcs_solver.solve(temperature=t, field=0.0).delta
    # Quasiparticle energies E ± B stay >= 0.35 Δ0 >> T = 0.011 Δ0: thermal weight e^-30,
    # so Δ is unchanged to the Brent tolerance (1e-7).
    assert bcs_solver.solve(temperature=t, field=0.5).delta == pytest.approx(zero, abs=1e-6)
    assert bcs_solver.solve(temperature=t, field=0.65).delta == pytest.approx(zero, abs=1e-6)
    high = bcs_solver.solve(temperature=t, field=0.8)
    assert high.delta == 0.0


def test_ising_coupling_protects_the_gap_beyond_the_pauli_limit(fsyst):
    mapping = map_to_lattice(PhysicalParameters(beta=7.0), fsyst=fsyst)
    solver = GapSolver.build(mapping, mesh=MESH, fsyst=fsyst)
    deltas = [r.delta for r in solver.curve([0.0, 1.0, 2.0], temperature=0.1)]
    assert deltas[0] == pytest.approx(1.0, abs=3e-3)  # T = 0.1 T_c0 is T -> 0 for BCS
    # Monotonic suppression, but finite far beyond B = Δ0/√2 where β = 0 gives Δ = 0.
    assert deltas[0] > deltas[1] > deltas[2] > 0.5


def test_bad_cutoff(fsyst):
    mapping = map_to_lattice(PhysicalParameters(), fsyst=fsyst)
    with pytest.raises(ParameterError, match=r"^cutoff:"):
        GapSolver.build(mapping, mesh=100, cutoff=40.0, fsyst=fsyst)  # beyond E_F = 30
    solver = GapSolver.build(mapping, mesh=100, cutoff=10.0, fsyst=fsyst)
    with pytest.raises(ParameterError, match=r"^cutoff:"):
        solver.solve(field=2.0)  # 10 < 2 sqrt(49 + 4)
    with pytest.raises(ParameterError, match=r"^mesh:"):
        GapSolver.build(mapping, mesh=0, fsyst=fsyst)
