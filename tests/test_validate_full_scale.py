"""``mirage validate --full-scale``: the disorder stage on any executor, resumable (issue 12).

The full scale itself (300 x 300, 42000 moments) is hours on two cores; here the same stage
runs on a local Dask cluster at the reduced disorder point of the default suite with the
quasiclassical Δ imposed (``self_consistent=False``, to keep the test short) and two
realizations, then resumes after one realization is removed.
"""

import json
from dataclasses import replace

import pytest

from comparisons.parameters import FULL_SCALE, QUICK, ValidationSetup
from comparisons.validate import run_validation
from latticemirage.disorder import validity
from latticemirage.mapping import map_to_lattice
from mirage_cli.main import main

REDUCED = replace(QUICK, anderson_widths=(1.0,), concentrations=(), realizations=2, vectors=2,
                  self_consistent=False)


def test_full_scale_setup_is_the_default_scale_inside_the_rules():
    from comparisons.suite_disorder import _kernel_width

    setup = ValidationSetup().full_scale()
    phys = setup.disorder_physical()
    assert (phys.delta0, phys.e_fermi, phys.beta, phys.field) == (0.005, 30.0, 7.0, 2.0)
    # Δ is solved at the full scale (the shell solver with sparse shell eigenstates).
    assert setup.resolution is FULL_SCALE and FULL_SCALE.self_consistent
    assert FULL_SCALE.gap_twists == "diagonal"
    m = map_to_lattice(phys)
    delta = 0.75  # below the quasiclassical Δ at the strongest case (Γ ≈ 2: 0.751)
    verdict = validity.assess(m, size=FULL_SCALE.supercell, delta=delta,
                              kernel_width=_kernel_width(m, 40, FULL_SCALE.moments, delta))
    assert verdict.passed, verdict.message()


@pytest.mark.parametrize("args, option", [
    (["--scheduler", "tcp://127.0.0.1:1"], "scheduler"),
    (["--mpi"], "mpi"),
    (["--full-scale", "--quick"], "full-scale"),
    (["--workers", "0"], "workers"),
])
def test_full_scale_options_refuse_bad_combinations(tmp_path, capsys, args, option):
    out = tmp_path / "r"
    assert main(["validate", *args, "--output", str(out)]) == 2
    assert f"error: {option}" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_disorder_stage_on_a_dask_cluster_resumes(tmp_path):
    distributed = pytest.importorskip("distributed")
    import matplotlib

    matplotlib.use("Agg")
    setup = ValidationSetup(resolution=REDUCED)
    out = tmp_path / "report"
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", protocol="tcp://",
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        first = run_validation(setup, out, stages=("disorder",), executor=client.get_executor())
        files = sorted(out.glob("studies/*/realizations/r*.npz"))
        assert len(files) == 2 * REDUCED.realizations  # anderson_1 and smooth
        stamps = {f: f.stat().st_mtime_ns for f in files}
        # A run killed after all but one realization: the next run computes only that one.
        files[0].unlink()
        second = run_validation(setup, out, stages=("disorder",),
                                executor=client.get_executor())
    for f in files[1:]:
        assert f.stat().st_mtime_ns == stamps[f], f
    assert files[0].is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["disorder_point"]["self_consistent"] is False
    not_run = {s["name"] for s in summary["not_run"]}
    assert {"disorder/gap/anderson_1", "disorder/gap/smooth"} <= not_run
    # Same seeds, same realizations: the resumed report has the same numbers (the KPM
    # sums run in a fixed order, whatever worker computed which realization).
    values = {c.name: c.value for c in first.checks}
    assert {c.name: c.value for c in second.checks} == values


def test_full_scale_eta_comes_from_the_shell_solver_model():
    """The first ETA of ``--full-scale`` is the shell solver's time model (hours), not the
    default stage's 60 s per unit; the default resolution keeps the reference timing."""
    import comparisons.suite_clean as suite_clean
    import comparisons.suite_disorder as sd
    from comparisons.validate import _unit_seconds
    from latticemirage.disorder import selfconsistent
    from latticemirage.estimates import shell_gap

    assert sd.unit_seconds(ValidationSetup()) is None
    assert _unit_seconds(suite_clean, ValidationSetup(), 2) is None  # no hint: the reference
    setup = ValidationSetup().full_scale()
    res = setup.resolution
    m = selfconsistent.shell_states_estimate(map_to_lattice(setup.disorder_physical()),
                                             res.supercell, setup.disorder_cutoff)
    per = shell_gap(res.supercell**2, m, 2).seconds  # two twists (diagonal)
    studies = len(res.anderson_widths) + 1 + len(res.concentrations)
    for workers in (2, 8):
        total = sd.unit_seconds(setup, workers) * sd.units(setup)
        assert total == pytest.approx(studies * res.realizations * per / workers)
    assert sd.unit_seconds(setup, 2) * sd.units(setup) > 5 * 3600  # hours on 2 workers
