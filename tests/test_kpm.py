"""KPM: against exact diagonalization, against kwant.kpm, determinism, resolution guard."""

import warnings

import kwant
import numba
import numpy as np
import pytest

from latticemirage.disorder import kpm
from latticemirage.disorder import supercell as scm
from mirage_common.errors import ParameterError

PARAMS = dict(t=1.0, mu=2.4, lam=0.3, B=0.1, phi=0.7, delta=0.2)
# The same floating-point recursion in a different summation order: round-off only.
TOL_SAME_MOMENTS = 1e-12
# Stochastic trace: deviations are compared with the estimated standard error.
N_SIGMA = 5.0


def exact_moments(matrix, num_moments, a, b):
    """Tr T_n((H - b)/a) / N from the eigenvalues (exact diagonalization)."""
    x = (np.linalg.eigvalsh(matrix.toarray()) - b) / a
    n = np.arange(num_moments)
    return np.cos(n[:, None] * np.arccos(x)[None, :]).mean(axis=1)


@pytest.fixture(scope="module")
def small():
    return scm.supercell(PARAMS, 6).matrix  # real basis, N = 144


def test_exact_trace_equals_exact_diagonalization(small):
    # All N unit vectors make the stochastic trace exact: KPM must reproduce the
    # kernel-broadened ED density to round-off.
    n = small.shape[0]
    energies = np.linspace(-8, 8, 161)
    res = kpm.kpm_dos(small, energies, 300, n, None, vectors=np.eye(n), block_size=16)
    a, b = res.a, res.b
    ed = kpm.density_from_moments(exact_moments(small, 300, a, b), energies, a, b)
    np.testing.assert_allclose(res.moments.mean(axis=0), exact_moments(small, 300, a, b),
                               atol=TOL_SAME_MOMENTS)
    np.testing.assert_allclose(res.density, ed, atol=TOL_SAME_MOMENTS * ed.max())
    # Normalization: the DOS per orbital integrates to 1 (trapezoid on a fine grid,
    # the series is smooth on the scale of the kernel width pi a / M ~ 0.1).
    fine = np.linspace(b - a, b + a, 20001)[1:-1]
    total = np.trapezoid(kpm.density_from_moments(res.moments.mean(axis=0), fine, a, b), fine)
    assert abs(total - 1) < 1e-3  # endpoint singularity of 1/sqrt(1-x^2) on the grid


def test_stochastic_trace_within_its_error_estimate(small):
    energies = np.linspace(-6, 6, 25)
    rng = np.random.default_rng(11)
    res = kpm.kpm_dos(small, energies, 200, 64, rng)
    ed = kpm.density_from_moments(exact_moments(small, 200, res.a, res.b), energies, res.a, res.b)
    z = np.abs(res.density - ed) / res.stderr
    assert np.all(z < N_SIGMA), z.max()
    # The error estimate is not absurdly large either: typical deviations ~ 1 sigma.
    assert np.median(z) < 2.0


@pytest.mark.parametrize("real", [True, False])
def test_agrees_with_kwant_kpm_on_same_matrix_and_vectors(real):
    sc = scm.supercell(PARAMS, 8, real=real)
    h = sc.matrix
    rng = np.random.default_rng(5)
    num_vectors, num_moments = 5, 150
    vectors = kpm.random_vectors(h.shape[0], num_vectors, rng, float if real else complex)
    bounds = kpm.gershgorin_bounds(h)
    energies = np.linspace(-5, 5, 41)
    ours = kpm.kpm_dos(h, energies, num_moments, num_vectors, None, bounds=bounds,
                       vectors=vectors, block_size=4)
    theirs = kwant.kpm.SpectralDensity(
        h, num_moments=num_moments, num_vectors=num_vectors, bounds=bounds,
        vector_factory=[vectors[:, i] for i in range(num_vectors)],
    )
    # kwant: sum over orbitals (trace), ours: per orbital.
    np.testing.assert_allclose(theirs(energies).real / h.shape[0], ours.density,
                               atol=TOL_SAME_MOMENTS)
    assert (ours.a, ours.b) == pytest.approx((theirs._a, theirs._b), rel=1e-15)


def test_block_width_lane_groups_agree(small):
    # 8-, 4-, 2- and 1-wide lane groups (13 = 8 + 4 + 1, 6 = 4 + 2) and block splitting
    # must all give the same moments for the same vectors.
    rng = np.random.default_rng(2)
    v = kpm.random_vectors(small.shape[0], 13, rng)
    a, b = kpm.rescaling(kpm.gershgorin_bounds(small))
    full = kpm.chebyshev_moments(small, v, 51, a, b)
    parts = np.concatenate([kpm.chebyshev_moments(small, v[:, :6], 51, a, b),
                            kpm.chebyshev_moments(small, v[:, 6:], 51, a, b)])
    single = np.concatenate([kpm.chebyshev_moments(small, v[:, i], 51, a, b) for i in range(13)])
    scale = np.abs(full).max()
    np.testing.assert_allclose(parts, full, atol=TOL_SAME_MOMENTS * scale)
    np.testing.assert_allclose(single, full, atol=TOL_SAME_MOMENTS * scale)


def test_moments_bitwise_independent_of_thread_count(monkeypatch):
    # Small matrices run on one thread; lower the threshold so the parallel path runs.
    monkeypatch.setattr(kpm, "_PARALLEL_MIN", 0)
    h = scm.supercell(PARAMS, 24).matrix  # N = 2304 rows: several row chunks
    v = kpm.random_vectors(h.shape[0], 8, np.random.default_rng(0))
    a, b = kpm.rescaling(kpm.gershgorin_bounds(h))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kpm.chebyshev_moments(h, v, 40, a, b)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = kpm.chebyshev_moments(h, v, 40, a, b)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, many)


def test_gershgorin_bounds_contain_the_spectrum(small):
    lo, hi = kpm.gershgorin_bounds(small)
    ev = np.linalg.eigvalsh(small.toarray())
    assert lo <= ev.min() and ev.max() <= hi


def test_jackson_kernel_properties():
    g = kpm.jackson_kernel(100)
    assert g[0] == pytest.approx(1.0, abs=1e-14)  # normalization preserved
    assert np.all(np.diff(g) < 0) and g[-1] > 0  # monotone damping, positive


def test_resolution_guard():
    a = 9.0
    width = 0.05
    need = kpm.moments_for_resolution(width / kpm.REFUSE_RATIO, a)
    with pytest.raises(ParameterError, match="moments"):
        kpm.check_resolution(need - 1, a, width)
    with pytest.warns(kpm.ResolutionWarning):
        kpm.check_resolution(need, a, width)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        good = kpm.moments_for_resolution(width / kpm.WARN_RATIO, a)
        sigma = kpm.check_resolution(good, a, width)
    assert sigma <= width / kpm.WARN_RATIO


def test_jackson_width_matches_the_broadened_delta_function():
    # A single level at the band centre broadened by the kernel: its standard
    # deviation is the advertised resolution pi a / M (RMP Eq. (72), large M).
    m, a = 400, 1.0
    mu = np.cos(np.arange(m) * np.pi / 2)  # T_n(0)
    x = np.linspace(-0.2, 0.2, 4001)
    rho = kpm.density_from_moments(mu, x, a, 0.0)
    sigma = np.sqrt(np.trapezoid(rho * x**2, x) / np.trapezoid(rho, x))
    assert sigma == pytest.approx(kpm.jackson_resolution(m, a), rel=0.02)  # O(1/M) corrections


# ----------------------------------------------------------------------------
# Backends: numba kernel, scipy.sparse reference step, generic CPU target (issue 10, item 5)

# The scipy step adds the same products in another order; normalized moments are O(1).
TOL_BACKENDS = 1e-12


@pytest.mark.parametrize("real", [True, False])
def test_scipy_backend_gives_the_same_moments(real):
    # The Supercell (not its matrix), so that the matrix-free stencil runs as well.
    h = scm.supercell(PARAMS, 8, real=real)
    energies = np.linspace(-5, 5, 41)
    runs = {name: kpm.kpm_dos(h, energies, 120, 5, np.random.default_rng(4), block_size=3,
                              backend=name) for name in kpm.BACKENDS}
    ref = runs["scipy"]
    for name in ("numba", "stencil"):
        fast = runs[name]
        assert (fast.backend, ref.backend) == (name, "scipy")
        np.testing.assert_allclose(ref.moments, fast.moments, rtol=0, atol=TOL_BACKENDS)
        np.testing.assert_allclose(ref.density, fast.density, rtol=0,
                                   atol=TOL_BACKENDS * 120 * fast.density.max())  # M terms


def test_backend_switch_argument_and_environment(monkeypatch, small):
    v = kpm.random_vectors(small.shape[0], 2, np.random.default_rng(0))
    monkeypatch.setenv(kpm.BACKEND_ENV, "scipy")
    assert kpm.backend_in_use() == "scipy"
    assert kpm.kpm_dos(small, [0.0], 10, 2, None, vectors=v).backend == "scipy"
    assert kpm.kpm_dos(small, [0.0], 10, 2, None, vectors=v, backend="numba").backend == "numba"
    monkeypatch.setenv(kpm.BACKEND_ENV, "cuda")
    with pytest.raises(ParameterError, match=kpm.BACKEND_ENV):
        kpm.backend_in_use()
    monkeypatch.delenv(kpm.BACKEND_ENV)
    assert kpm.backend_in_use() == "numba"
    with pytest.raises(ParameterError, match="backend"):
        kpm.chebyshev_moments(small, v, 10, 9.0, 0.0, backend="fortran")


class _BrokenKernel:
    """Stands in for a numba whose code generation changed under the hand-written IR."""

    @staticmethod
    def step(*args):
        raise RuntimeError("LoweringError: no such intrinsic")

    get_num_threads = staticmethod(lambda: 1)
    set_num_threads = staticmethod(lambda n: None)


def test_broken_numba_kernel_falls_back_to_scipy_with_a_warning(monkeypatch, small):
    monkeypatch.delenv(kpm.BACKEND_ENV, raising=False)
    monkeypatch.setattr(kpm, "_NUMBA", {"module": _BrokenKernel})
    v = kpm.random_vectors(small.shape[0], 3, np.random.default_rng(0))
    with pytest.warns(kpm.BackendWarning, match="fails to compile or run"):
        res = kpm.kpm_dos(small, [0.0, 1.0], 30, 3, None, vectors=v)
    assert res.backend == "scipy"
    ref = kpm.kpm_dos(small, [0.0, 1.0], 30, 3, None, vectors=v, backend="scipy")
    assert np.array_equal(res.moments, ref.moments)


def _run_child(code, **env):
    import os
    import subprocess
    import sys
    from pathlib import Path

    run = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, env={**os.environ, **env},
                         check=False, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_missing_numba_leaves_a_working_kpm():
    # numba unimportable (as after a numba/NumPy version clash): KPM still runs, warns.
    code = """
import sys, warnings
sys.modules["numba"] = None  # import numba -> ImportError
import numpy as np
from latticemirage.disorder import kpm, supercell as scm
h = scm.supercell(dict(t=1.0, mu=2.4, lam=0.3, B=0.1, phi=0.7, delta=0.2), 5).matrix
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    res = kpm.kpm_dos(h, [0.0], 40, 4, np.random.default_rng(0))
assert any(issubclass(x.category, kpm.BackendWarning) for x in w), [str(x.message) for x in w]
assert res.backend == "scipy" and np.isfinite(res.density).all()
print("ok")
"""
    assert _run_child(code).stdout.strip().endswith("ok")


def test_generic_cpu_target_gives_bitwise_equal_moments(tmp_path):
    # The hand-written kernel must not depend on the host's vector ISA: compiled for a
    # generic x86-64 (SSE2, no FMA unit: llvm.fma becomes the exact libm fma) it must
    # give the very same bits. NUMBA_CPU_NAME is read at numba's import: a subprocess.
    out = tmp_path / "moments.npy"
    code = f"""
import numpy as np
from numba.core.registry import cpu_target
from latticemirage.disorder import kpm, supercell as scm
triple, cpu, features = cpu_target.target_context.codegen().magic_tuple()
assert cpu == "generic" and "+fma" not in features, (cpu, features)
h = scm.supercell(dict(t=1.0, mu=2.4, lam=0.3, B=0.1, phi=0.7, delta=0.2), 8).matrix
v = kpm.random_vectors(h.shape[0], 13, np.random.default_rng(7))  # lane groups 8 + 4 + 1
a, b = kpm.rescaling(kpm.gershgorin_bounds(h))
np.save({str(out)!r}, kpm.chebyshev_moments(h, v, 301, a, b, backend="numba"))
"""
    _run_child(code, NUMBA_CPU_NAME="generic")
    h = scm.supercell(PARAMS | {"delta": 0.2}, 8).matrix
    v = kpm.random_vectors(h.shape[0], 13, np.random.default_rng(7))
    a, b = kpm.rescaling(kpm.gershgorin_bounds(h))
    here = kpm.chebyshev_moments(h, v, 301, a, b, backend="numba")
    assert np.array_equal(np.load(out), here)
