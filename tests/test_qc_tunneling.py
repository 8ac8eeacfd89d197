"""Quasiclassical tunneling conductance: BCS limit, T -> 0, sum rule, symmetry, quadrature."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from mirage_common.errors import ParameterError
from quasiclassical.observables import density_of_states
from quasiclassical.params import QCParams
from quasiclassical.tunneling import (
    KERNEL_HALF_WIDTH,
    conductance_shifted,
    contour_shift,
    dos_grid,
    electron_dos,
    electron_g0,
    fermi_window,
    thermal_smear,
    tunneling_conductance,
)


def test_electron_dos_is_re_g0():
    """(1/2) Re Tr of the electron block equals the package's N_s = Re g0, per valley too."""
    params = QCParams(beta=7, field=2, temperature=0.1, gamma=0.3, eta=0.01, phi=0.4)
    energies = np.linspace(-9, 9, 601)
    dos, point, _ = electron_dos(energies, params, delta=0.8)
    ref = density_of_states(energies, params, delta=0.8)
    np.testing.assert_allclose(dos, ref.dos, atol=1e-13)  # same matrices, round-off only
    np.testing.assert_allclose(point, ref.point_dos, atol=1e-13)


def test_fermi_window_normalized():
    x = np.linspace(-40, 40, 8001) * 0.05
    # trapezoid on an analytic function: error ~ exp(-2 pi^2 kT / h) ~ 1e-40, round-off
    assert np.trapezoid(fermi_window(x, 0.05), x) == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.isfinite(fermi_window([1e6, -1e6], 1e-3)))  # no overflow


def _dynes_bcs(energy, delta, eta):
    z = energy + 1j * eta
    return (z / (np.sqrt(z - delta) * np.sqrt(z + delta))).real


@pytest.mark.parametrize("temperature", [0.3, 0.7])
def test_bcs_limit_matches_smeared_dynes_bcs(temperature):
    """beta = B = Gamma = 0: G/G_N = the Dynes-BCS DOS convolved with -f' (adaptive quad)."""
    biases = np.linspace(-3, 3, 25)
    res = tunneling_conductance(biases, beta=0, field=0, temperature=temperature, eta=0.01)
    kt = temperature / (math.pi * math.exp(-np.euler_gamma))
    assert res.kt == pytest.approx(kt, rel=1e-14)
    delta = res.delta
    ref = [quad(lambda x, v=v: _dynes_bcs(v + x, delta, 0.01) * fermi_window(x, kt),
                -40 * kt, 40 * kt, points=[delta - v, -delta - v], limit=400,
                epsabs=1e-12)[0] for v in biases]
    # trapezoid error ~ exp(-2 pi 3) ~ 7e-9 (module docstring); quad's epsabs 1e-12
    np.testing.assert_allclose(res.conductance, ref, atol=2e-8)


def test_quadrature_converges_exponentially():
    """Error vs the n = 5 grid falls like exp(-2 pi n) with points per analyticity width n."""
    biases = np.linspace(-9, 9, 37)
    kw = dict(beta=7, field=2, temperature=0.1, eta=0.01, delta=0.8)
    ref = tunneling_conductance(biases, points_per_width=5, **kw).conductance
    errs = [np.max(np.abs(tunneling_conductance(biases, points_per_width=n, **kw).conductance
                          - ref)) for n in (1, 2)]
    assert errs[0] > 1e-5  # n = 1 is visibly wrong (the check can fail) ...
    assert errs[1] < errs[0] * math.exp(-2 * math.pi) * 10  # ... and each n gains ~e^(2 pi)


def test_reduces_to_dos_as_temperature_vanishes():
    """G - N_e(eV) = (pi^2/6)(k_B T)^2 N_e'' + O(T^4) (Sommerfeld), so G -> N_e as T -> 0."""
    biases = np.linspace(-9, 9, 181)
    h = 1e-3
    errors = []
    for temperature in (0.02, 0.01):
        res = tunneling_conductance(biases, beta=7, field=2, temperature=temperature, eta=0.05,
                                    delta=0.8)
        n_m, n_0, n_p = (electron_dos(biases + s * h, res.params, delta=0.8)[0]
                         for s in (-1, 0, 1))
        sommerfeld = math.pi**2 / 6 * res.kt**2 * (n_m - 2 * n_0 + n_p) / h**2
        errors.append(np.max(np.abs(res.conductance - n_0)))
    # T^2 law: halving T divides the error by 4 up to the T^4 term (measured 3.7)
    assert errors[0] / errors[1] > 3.5
    # residual after the T^2 term at T = 0.01: the T^4 term, measured 4 % of the T^2 term
    assert np.max(np.abs(res.conductance - n_0 - sommerfeld)) < 0.1 * np.max(np.abs(sommerfeld))
    assert errors[1] < 0.03  # 0.024 measured: G is already the DOS to 2.4 % at T = 0.01 T_c0


def test_sum_rule():
    """int (G/G_N - 1) dV -> 0: smearing keeps the DOS's zero integral; tail -Delta^2/W."""
    width = 40.0
    biases = np.linspace(-width, width, 3201)
    res = tunneling_conductance(biases, beta=7, field=2, temperature=0.1, eta=0.01)
    integral = np.trapezoid(res.conductance - 1, biases)
    deficit = np.trapezoid(np.minimum(res.conductance - 1, 0), biases)  # the gaps' missing weight
    assert deficit < -1.0  # a real gap is there to be compensated
    # Beyond |E| > W, N - 1 ~ Delta^2 / (2 E^2) per side: the window misses Delta^2 / W.
    # What remains (4.7e-5 measured) is the O(W^-3) tail term.
    assert abs(integral + res.delta**2 / width) < 2e-4
    assert abs(integral) > 10 * abs(integral + res.delta**2 / width)  # the tail term matters


def test_symmetric_in_bias():
    """The spin-trace DOS is even in energy for any beta, B, phi, Gamma, hence so is G."""
    biases = np.linspace(-9, 9, 121)
    res = tunneling_conductance(biases, beta=7, field=2, temperature=0.1, gamma=0.3, eta=0.01,
                                phi=0.4)
    np.testing.assert_allclose(res.conductance, res.conductance[::-1], atol=1e-10)  # round-off
    np.testing.assert_allclose(res.conductance, res.params.fermi_surface().weights
                               @ res.valley_conductance, atol=1e-14)


def test_thermal_smear_refuses_short_grid():
    energies = np.linspace(-1, 1, 101)
    with pytest.raises(ParameterError, match="must cover"):
        thermal_smear(energies, np.ones(101), [0.9], 0.05)
    grid = dos_grid([0.0], 0.05, 0.01)
    assert grid[0] <= -KERNEL_HALF_WIDTH * 0.05 and grid[-1] >= KERNEL_HALF_WIDTH * 0.05


@pytest.mark.parametrize("kwargs, name", [
    (dict(eta=0.0), "eta"),
    (dict(temperature=-0.1), "temperature"),
    (dict(delta=-1.0), "delta"),
    (dict(eta=1e-9), "eta"),  # grid would need ~1e10 points
])
def test_bad_input(kwargs, name):
    args = dict(beta=7, field=2, temperature=0.1, eta=0.01) | kwargs
    with pytest.raises(ParameterError) as err:
        tunneling_conductance(np.linspace(-1, 1, 5), **args)
    assert err.value.name == name


# gamma = 0 where eta is tiny: the real-axis reference then needs 8e4 energies (SCBA: slow)
@pytest.mark.parametrize("eta, temperature, gamma", [(0.01, 0.1, 0.3), (0.002, 0.3, 0.0),
                                                     (0.2, 0.05, 0.3)])
def test_shifted_contour_matches_real_axis(eta, temperature, gamma):
    """Moving the contour up by y (no pole crossed) gives the same G on a much coarser grid."""
    biases = np.linspace(-9, 9, 91)
    ref = tunneling_conductance(biases, beta=7, field=2, temperature=temperature, gamma=gamma,
                                eta=eta, delta=0.8, points_per_width=4, tol=1e-12)
    kt = ref.kt
    y, w = contour_shift(kt, eta)
    assert w >= math.pi * kt / 2  # the strip no longer shrinks with eta
    h = w / 3
    grid = np.arange(-9 - 36 * kt, 9 + 36 * kt + h, h)
    g0, _, _ = electron_g0(grid, ref.params.replace(eta=eta + y), delta=0.8, tol=1e-12)
    g = conductance_shifted(grid, g0, biases, kt, y)
    # 3 points per strip half-width: e^(-6 pi) ~ 7e-9 times the singular amplitude (6e-7 seen)
    np.testing.assert_allclose(g, ref.conductance, atol=2e-6)
    if eta < math.pi * kt / 4:
        assert grid.size * 10 < ref.dos_energies.size  # the point of the shift


# ---- band-resolved tunneling weight (issue 23, item 2) -----------------------------------


def test_band_polarization_is_the_zeeman_split_bcs_difference():
    """beta = 0: the bands are spin -x (xi + B) and +x (xi - B), each a Dynes-BCS DOS shifted
    by +B and -B (Meservey-Tedrow), so eps0 Re(h.g) = B (N(E - B) - N(E + B)) / 2 exactly."""
    from quasiclassical.tunneling import band_polarization

    params = QCParams(beta=0.0, field=0.5, temperature=0.1, eta=0.05)
    energies = np.linspace(-3, 3, 121)
    _, _, scba = electron_dos(energies, params, delta=1.0)
    fs = params.fermi_surface()
    got = fs.weights @ band_polarization(scba, params, fs)
    ref = 0.5 * params.field * (_dynes_bcs(energies - 0.5, 1.0, 0.05)
                                - _dynes_bcs(energies + 0.5, 1.0, 0.05))
    np.testing.assert_allclose(got, ref, atol=1e-10)  # closed form; sign-function round-off


def test_band_correction_is_bias_odd_and_linear_in_the_slope():
    """The band term is odd in the bias for any beta, B, phi, Gamma (Re(h.g) is), and the
    conductance moves by exactly kappa times it (first order by construction)."""
    from quasiclassical.tunneling import tunneling_conductance_params

    params = QCParams(beta=7, field=2, phi=0.4, temperature=0.1, gamma=0.3, eta=0.01)
    eps0 = math.hypot(7, 2)
    biases = np.sort(np.concatenate([np.linspace(-9, 9, 37), [-eps0, eps0]]))
    plain = tunneling_conductance_params(biases, params, delta=0.8)
    tilted = tunneling_conductance_params(biases, params, delta=0.8, band_slope=-0.02)
    corr = tilted.band_correction
    # odd to SCBA tolerance (1e-10 relative) and quadrature round-off
    np.testing.assert_allclose(corr, -corr[::-1], atol=1e-9)
    np.testing.assert_allclose(tilted.conductance - plain.conductance, corr, atol=1e-12)
    assert np.all(plain.band_correction == 0) and plain.band_slope == 0
    # At +eps0 the open band sits at xi = 2 eps0: a negative slope lowers the floor there,
    # by at most |kappa| eps0 (|Re(h.g)| <= 1).
    at = np.argmin(np.abs(biases - eps0))
    assert -0.02 * eps0 < corr[at] < 0


def test_band_slope_out_of_range_is_refused():
    from quasiclassical.tunneling import tunneling_conductance_params

    params = QCParams(beta=7, field=2, temperature=0.1, eta=0.01)
    with pytest.raises(ParameterError, match="band_slope"):
        tunneling_conductance_params([7.0], params, delta=0.8, band_slope=0.1)  # 0.73 > 0.5
