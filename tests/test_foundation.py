"""Foundation: Kwant builds a triangular BdG system, the CLI starts, the sides stay independent."""

import subprocess
import sys

import kwant
import numpy as np
import pytest

from latticemirage import model
from mirage_cli.main import main
from mirage_common.version import __version__

# Exact arithmetic up to round-off on matrices of order 1.
TOL = 1e-12

PARAMS = dict(t=1.0, mu=2.6, lam=0.08, B=0.03, phi=0.4, delta=0.02)


def _flake():
    return model.finite_builder(lambda pos: np.hypot(*pos) < 4.5).finalized()


def test_triangular_bdg_system_builds_and_is_hermitian():
    fsyst = _flake()
    assert fsyst.graph.num_nodes > 50
    # 4 orbitals per site: spin x Nambu.
    ham = fsyst.hamiltonian_submatrix(params=PARAMS)
    assert ham.shape == (4 * len(fsyst.sites), 4 * len(fsyst.sites))
    np.testing.assert_allclose(ham, ham.conj().T, atol=TOL)


def test_bdg_spectrum_is_particle_hole_symmetric():
    ham = _flake().hamiltonian_submatrix(params=PARAMS)
    ev = np.linalg.eigvalsh(ham)
    # Round-off of a dense eigensolver on a ~300x300 matrix with entries O(1).
    np.testing.assert_allclose(ev, -ev[::-1], atol=1e-10)


def test_missing_parameter_is_named_by_kwant():
    fsyst = _flake()
    with pytest.raises(TypeError, match="lam"):
        fsyst.hamiltonian_submatrix(params={k: v for k, v in PARAMS.items() if k != "lam"})


def test_kwant_kpm_runs_and_integrates_to_the_number_of_states():
    fsyst = _flake()
    n = 4 * len(fsyst.sites)
    # LocalVectors with num_vectors=None: the exact trace over every orbital, no
    # random vectors; Kwant averages over the n vectors, so the DOS integrates to
    # Tr(1)/n = 1 state per orbital.
    spectrum = kwant.kpm.SpectralDensity(
        fsyst,
        params=PARAMS,
        num_moments=200,
        num_vectors=None,
        vector_factory=kwant.kpm.LocalVectors(fsyst),
        # Symmetric bounds (Gershgorin: |E| <= 6t + |mu| + |B| + |delta| + 3|lam| < 12):
        # Kwant's own estimate is slightly asymmetric, which would break E -> -E below.
        bounds=(-12.0, 12.0),
    )
    # Up to the Jackson kernel's tiny leakage past the band edges.
    np.testing.assert_allclose(spectrum.integrate(), 1.0, rtol=1e-6)
    # Particle-hole symmetry of the BdG spectrum: the DOS is even in energy.
    energies = np.linspace(-3, 3, 61)
    dos = spectrum(energies)
    assert dos.shape == (61,) and n == 4 * len(fsyst.sites)
    # Same kernel at +E and -E on a symmetric spectrum: equal up to round-off.
    np.testing.assert_allclose(dos, dos[::-1], atol=1e-10 * dos.max())


def test_version_and_doctor(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in ("python", "numpy", "scipy", "kwant", "MUMPS", "numba", "mpi4py", "mpiexec",
                 "cores"):
        assert name in out
    # In a fresh process: doctor reports MUMPS itself, Kwant's import warning is not repeated.
    proc = subprocess.run([sys.executable, "-m", "mirage_cli", "doctor"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "MUMPS is not available" not in proc.stderr


def test_console_script_exits_2_on_unknown_command():
    proc = subprocess.run(
        [sys.executable, "-m", "mirage_cli", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("quasiclassical", ("kwant", "latticemirage")), ("latticemirage", ("quasiclassical",))],
)
def test_sides_stay_independent(package, forbidden):
    """Importing every module of one side must not import the other side (or Kwant)."""
    code = (
        "import importlib, pkgutil, sys\n"
        f"import {package} as pkg\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "", f"{package} imported {proc.stdout.strip()}"


def test_parameter_error_survives_pickling():
    # Raised in a process-pool worker, it must reach the CLI as itself (exit 2, the option
    # named), not as a BrokenProcessPool from a failed unpickling.
    import pickle

    from mirage_common.errors import ParameterError

    err = pickle.loads(pickle.dumps(ParameterError("moments", "must be >= 2, got 1")))
    assert isinstance(err, ParameterError) and err.name == "moments"
    assert str(err) == "moments: must be >= 2, got 1"


def test_check_unit_vector_names_the_parameter():
    from mirage_common.errors import ParameterError, check_unit_vector

    np.testing.assert_array_equal(check_unit_vector("axis", (0, 0, 1)), [0.0, 0.0, 1.0])
    for bad in ((1.0, 1.0, 0.0), (0.0, 1.0), (float("nan"), 0.0, 1.0), (float("inf"), 0, 0)):
        with pytest.raises(ParameterError, match=r"^axis: must be a unit 3-vector"):
            check_unit_vector("axis", bad)
