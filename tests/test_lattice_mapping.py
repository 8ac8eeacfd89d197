"""Parameter mapping Δ0 units -> lattice: validation, Fermi-surface report, known limits."""

import math

import numpy as np
import pytest

from latticemirage import bulk, dos
from latticemirage.mapping import (
    LatticeMapping,
    PhysicalParameters,
    map_to_lattice,
    tc0_over_delta0,
)
from mirage_common.errors import ParameterError

# Exact relations up to round-off.
TOL = 1e-12


@pytest.fixture(scope="module")
def default(fsyst):
    return map_to_lattice(PhysicalParameters(delta=1.0), fsyst=fsyst)


def test_defaults_and_kwant_params(default):
    # TOL / default pytest.approx below: exact relations up to round-off.
    phys = default.physical
    p = default.params
    assert set(p) == {"t", "mu", "lam", "B", "phi", "delta"}
    assert p["mu"] == pytest.approx(3.0 - phys.e_fermi * phys.delta0, abs=TOL)
    assert 2.0 < p["mu"] < 3.0  # Fermi level in the K/K' hole pockets only
    assert p["B"] == pytest.approx(phys.field * phys.delta0, abs=TOL)
    assert p["delta"] == pytest.approx(phys.delta * phys.delta0, abs=TOL)
    # The hierarchy Δ << β << E_F of the paper.
    assert phys.delta < phys.beta < phys.e_fermi / 3


def test_lambda_maps_fermi_surface_average_of_beta(default):
    values, weights = default.fermi_surface_beta()
    assert weights.sum() == pytest.approx(1.0, abs=TOL)
    assert np.all(weights > 0)
    # Valley K carries +β, K' −β (time reversal k -> −k maps the polar angle θ -> θ + π).
    half = len(values) // 2
    shift = half // 2
    # Both contours are bisected independently to ~1e-16/a: round-off only.
    np.testing.assert_allclose(values[half:], -np.roll(values[:half], -shift), atol=1e-9)
    np.testing.assert_allclose(weights[half:], np.roll(weights[:half], -shift), rtol=1e-9)
    k_part = weights[:half] / weights[:half].sum()
    assert k_part @ values[:half] == pytest.approx(default.physical.beta, abs=1e-12)
    assert default.beta_fs_mean == pytest.approx(default.physical.beta, abs=1e-12)
    # β(K) = 3√3λ/2 exceeds its value on the pocket (default approx: exact relation).
    assert default.beta_k == pytest.approx(3 * np.sqrt(3) / 2 * default.lam / default.delta0)
    assert default.beta_fs_min <= default.beta_fs_mean <= default.beta_fs_max < default.beta_k
    # Trigonal warping: the spread is finite and a few percent at most for the default.
    assert 0 < default.beta_fs_std < 0.02 * default.beta_fs_mean


def test_parabolic_pocket_limit(fsyst):
    """Small pockets: eps(K + p) = 3t − (3/4) t p², so N_0 = 2 · (√3/2)/(3π t), v_F = √(3 E_F t)."""
    phys = PhysicalParameters(beta=1.0, field=0.5, delta0=0.0005, e_fermi=40.0)  # E_F = 0.02 t
    mapping = map_to_lattice(phys, fsyst=fsyst)
    ef = phys.e_fermi * phys.delta0
    # Corrections are O(E_F / t) = 2 %.
    assert mapping.n0 == pytest.approx(2 * (np.sqrt(3) / 2) / (3 * np.pi), rel=0.03)
    assert mapping.v_fermi == pytest.approx(np.sqrt(3 * ef), rel=0.03)
    assert mapping.p_fermi_mean == pytest.approx(np.sqrt(4 * ef / 3), rel=0.03)
    # Definition ξ0 = v_F/(π Δ0): exact.
    assert mapping.coherence_length == pytest.approx(mapping.v_fermi / (np.pi * phys.delta0))
    # β(K + p) ≈ β(K)(1 − p²/4) on the pocket.
    assert mapping.beta_fs_mean / mapping.beta_k == pytest.approx(
        1 - mapping.p_fermi_mean**2 / 4, abs=2e-3  # next order ~ p^4 / 50 ~ 1e-3
    )


def test_trigonal_warping_spread_grows_with_pocket_size(fsyst):
    spreads = [
        map_to_lattice(PhysicalParameters(beta=3.0, e_fermi=ef), fsyst=fsyst).beta_fs_std
        for ef in (15.0, 30.0, 60.0)
    ]
    assert spreads[0] < spreads[1] < spreads[2]
    # Leading order the half-range grows like p_F^3 ~ E_F^{3/2}: ×2.8 per doubling (loose: ×2).
    assert spreads[2] / spreads[1] > 2 and spreads[1] / spreads[0] > 2


def test_n0_agrees_with_the_normal_state_dos_on_the_mesh(fsyst, default):
    """Two independent routes: Fermi-contour integral vs linear-triangle DOS at E = 0."""
    d0 = default.delta0
    blocks = bulk.fourier_blocks(fsyst, default.lattice_params(0.0))
    tdos = dos.triangle_dos(blocks, 1200, (-0.5 * d0, 0.5 * d0), 1)
    # BdG normal state: electrons and holes, two spins -> 4 N_0. Mesh error ~1e-4 here.
    assert tdos.dos[0] == pytest.approx(4 * default.n0, rel=2e-3)


def test_conversions(default):
    # Default pytest.approx throughout: exact relations up to round-off.
    assert tc0_over_delta0() == pytest.approx(math.exp(np.euler_gamma) / math.pi)
    assert default.tc0 == pytest.approx(tc0_over_delta0() * default.delta0)
    np.testing.assert_allclose(default.to_delta0(default.to_t([1.0, 7.0])), [1.0, 7.0])
    assert default.to_t(2.0) == pytest.approx(2.0 * default.delta0)
    assert default.temperature_t == pytest.approx(0.1 * default.tc0)
    other = default.with_delta(0.7).with_field(1.5)
    assert isinstance(other, LatticeMapping)
    assert other.params["delta"] == pytest.approx(0.7 * default.delta0)
    assert other.params["B"] == pytest.approx(1.5 * default.delta0)
    assert other.lam == default.lam  # the Fermi surface (and λ) are reused
    report = default.report()
    assert report["lattice_params_t"]["mu"] == default.mu
    assert report["beta_fs_mean_delta0"] == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(e_fermi=300.0, delta0=0.005), "e_fermi"),  # E_F = 1.5 t: crosses no pocket only
        (dict(e_fermi=250.0, delta0=0.004), "e_fermi"),  # E_F = 1 t: mu = 2t, pockets touch
        (dict(e_fermi=5.0), "e_fermi"),  # Δ0 not small against E_F
        (dict(delta=5.0), "delta"),  # Δ not small against E_F = 30
        (dict(beta=15.0), "beta"),  # β not small against E_F
        (dict(field=-1.0), "field"),
        (dict(delta0=0.0), "delta0"),
        (dict(delta0=float("nan")), "delta0"),
        (dict(temperature=-0.1), "temperature"),
        (dict(phi=float("inf")), "phi"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=rf"^{name}:"):
        PhysicalParameters(**kwargs)


def test_params_need_a_gap(default):
    selfconsistent = map_to_lattice(PhysicalParameters(), n_theta=24)
    with pytest.raises(ParameterError, match=r"^delta:"):
        _ = selfconsistent.params
    assert selfconsistent.with_delta(1.0).params["delta"] == pytest.approx(default.delta0)  # exact
