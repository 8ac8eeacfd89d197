"""Disorder studies: reproducible seeds, crash-safe resume, worker-independent averages, Dask."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from latticemirage.disorder import study
from mirage_cli.main import main

# A fast study on a small supercell with Δ0 = 0.04 t so that 1500 moments resolve
# the mirage gap (δ = 1.08 Δ0); each realization takes ~0.3 s.
ARGS = [
    "lattice", "disorder", "--kind", "point", "--concentration", "0.05", "--strength", "1.0",
    "--size", "48", "--realizations", "6", "--moments", "1500", "--vectors", "4",
    "--beta", "3", "--field", "2", "--delta", "1", "--e-fermi", "10", "--delta0-t", "0.04",
    "--emin", "-6", "--emax", "6", "--n-energies", "61", "--quiet",
]


def snapshot(folder):
    """Relative path -> bytes of every file below *folder*."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The study run uninterrupted with a local pool of 2 workers."""
    out = tmp_path_factory.mktemp("ref") / "study"
    assert main([*ARGS, "--workers", "2", "--output", str(out)]) == 0
    return out


def spec_of(folder):
    return study.open_study(folder)


def test_average_file_layout(reference):
    cols, meta = study.read_table(reference / study.AVERAGE_FILE)
    assert list(cols) == ["energy", "dos", "stderr", "dos_sc", "dos_normal", "mean_of_ratios"]
    np.testing.assert_allclose(cols["energy"], np.linspace(-6, 6, 61))
    assert meta["energy_unit"] == "Delta0" and meta["realizations"] == 6
    # Far above the gaps the ratio N_s/N_n is 1 (same disorder, same vectors);
    # its scatter is the statistical error.
    far = np.abs(cols["energy"]) > 5
    assert np.all(np.abs(cols["dos"][far] - 1) < 5 * cols["stderr"][far] + 0.05)
    assert np.all(cols["stderr"] > 0)
    assert len(list((reference / study.REAL_DIR).glob("r*.npz"))) == 6


def test_realization_reproduces_alone_from_its_seed(reference):
    spec = spec_of(reference)
    again = study.compute_realization(spec, 3)
    cols, meta = study.read_table(reference / study.REAL_DIR / "r00003.npz")
    for name, values in again["columns"].items():
        assert np.array_equal(values, cols[name]), name
    assert again["metadata"]["twist"] == meta["twist"]
    other = study.compute_realization(spec, 4)
    assert not np.array_equal(other["columns"]["dos_normal"], cols["dos_normal"])


def test_sigkill_midway_loses_nothing_and_resume_is_bitwise_identical(reference, tmp_path,
                                                                      kill_study_midway):
    out = tmp_path / "study"
    kill_study_midway([*ARGS, "--workers", "1", "--output", str(out)], out, finished=2,
                      timeout=120)
    before = snapshot(out)
    finished = sorted(k for k in before if k.startswith(study.REAL_DIR) and k.endswith(".npz")
                      and not Path(k).name.startswith("."))
    assert 2 <= len(finished) < 6, finished
    assert study.study_status(out)["done"] == len(finished)
    assert not (out / study.AVERAGE_FILE).exists()
    # Resume with 2 workers; what had finished is kept byte for byte, not recomputed.
    assert main([*ARGS, "--workers", "2", "--output", str(out)]) == 0
    after = snapshot(out)
    for name in finished:
        assert after[name] == before[name]
    assert after[study.AVERAGE_FILE] == snapshot(reference)[study.AVERAGE_FILE]


def test_dask_localcluster_gives_the_same_average(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask"
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  host="127.0.0.1", protocol="tcp://",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        assert main([*ARGS, "--scheduler", address, "--output", str(out)]) == 0
    assert snapshot(out)[study.AVERAGE_FILE] == snapshot(reference)[study.AVERAGE_FILE]


def _mpi_command():
    """(mpiexec, environment) for MPI subprocess tests, or skip when MPI is not installed."""
    try:
        import mpi4py  # noqa: F401  (only to skip cleanly; MPI itself runs in subprocesses)
    except ImportError:
        pytest.skip("mpi4py not installed (extra 'test' brings it)")
    bindir = str(Path(sys.executable).parent)
    mpiexec = shutil.which("mpiexec", path=bindir) or shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec (the 'mpich' wheel of the test extra brings one)")
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    return mpiexec, env


def test_mpi_static_pool_gives_the_same_average(reference, tmp_path):
    mpiexec, env = _mpi_command()
    out = tmp_path / "mpi"
    # Rank 0 drives the study, ranks 1 and 2 are the mpi4py.futures workers.
    cmd = [mpiexec, "-n", "3", sys.executable, "-m", "mpi4py.futures", "-m", "mirage_cli",
           *ARGS, "--mpi", "--output", str(out)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert snapshot(out)[study.AVERAGE_FILE] == snapshot(reference)[study.AVERAGE_FILE]


def test_mpi_ranks_each_running_the_cli_are_refused(tmp_path):
    mpiexec, env = _mpi_command()
    out = tmp_path / "mpi"
    cmd = [mpiexec, "-n", "2", sys.executable, "-m", "mirage_cli", *ARGS, "--mpi",
           "--output", str(out)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 2
    assert "each would run the whole study" in run.stderr and "mpi4py.futures" in run.stderr
    assert not out.exists()


def test_mpi_without_a_process_manager_is_refused_not_hung(tmp_path):
    _mpi_command()
    out = tmp_path / "mpi"
    # No mpiexec reachable and no launcher variables: MPICH would block forever in spawn.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI", "OMPI_", "SLURM_", "HYDRA", "MPI"))}
    env["PATH"] = str(tmp_path / "empty")
    cmd = [sys.executable, "-m", "mirage_cli", *ARGS, "--mpi", "--output", str(out)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2
    assert "no mpiexec on PATH" in run.stderr
    assert not out.exists()


def test_resume_removes_stale_temporaries_and_keeps_results(reference, tmp_path):
    out = tmp_path / "study"
    shutil.copytree(reference, out)
    (out / study.AVERAGE_FILE).unlink()
    (out / study.REAL_DIR / "r00004.npz").unlink()
    # What a SIGKILL in the middle of atomic writes leaves behind (mkstemp names).
    stale = [out / study.REAL_DIR / ".r00004.npz.k3j_x9.tmp", out / ".average.csv.q0w1e2.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    kept = {k: v for k, v in snapshot(out).items() if k.endswith(".npz") and "/r" in k}
    assert main([*ARGS, "--workers", "1", "--output", str(out)]) == 0
    after = snapshot(out)
    assert not any(path.exists() for path in stale)
    assert all(after[name] == data for name, data in kept.items())
    assert after[study.AVERAGE_FILE] == snapshot(reference)[study.AVERAGE_FILE]


def test_a_study_held_by_another_run_is_refused(reference, tmp_path, capsys):
    import fcntl

    out = tmp_path / "study"
    shutil.copytree(reference, out)
    (out / study.AVERAGE_FILE).unlink()
    # flock locks belong to an open file description: this one conflicts with the run's.
    fd = os.open(out / study.LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        before = snapshot(out)
        assert study.study_status(out)["running"] is True
        assert main([*ARGS, "--workers", "1", "--output", str(out)]) == 2
        assert "another run is working on this study" in capsys.readouterr().err
        assert snapshot(out) == before
    finally:
        os.close(fd)
    assert study.study_status(out)["running"] is False


def test_status_summarizes(reference, capsys):
    assert main(["lattice", "disorder", "--status", str(reference)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["done"] == status["total"] == 6 and status["missing"] == []
    assert status["average_written"] is True


def test_resume_with_different_parameters_is_refused(reference, capsys):
    before = snapshot(reference)
    args = [a if a != "0.05" else "0.06" for a in ARGS]
    assert main([*args, "--output", str(reference)]) == 2
    err = capsys.readouterr().err
    assert "different parameters" in err and "concentration" in err
    assert snapshot(reference) == before


def test_foreign_and_corrupt_folders_are_refused(tmp_path, capsys):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert main([*ARGS, "--output", str(foreign)]) == 2
    assert "foreign folder" in capsys.readouterr().err
    assert snapshot(foreign) == {"notes.txt": b"mine"}

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / study.SPEC_FILE).write_text("{not json")
    assert main([*ARGS, "--output", str(corrupt)]) == 2
    assert "corrupt" in capsys.readouterr().err
    assert (corrupt / study.SPEC_FILE).read_text() == "{not json"

    other = tmp_path / "other"
    other.mkdir()
    (other / study.SPEC_FILE).write_text(json.dumps({"format": "something-else"}))
    assert main(["lattice", "disorder", "--status", str(other)]) == 2
    assert "foreign" in capsys.readouterr().err


def test_corrupt_realization_file_is_reported_not_overwritten(reference, tmp_path, capsys):
    out = tmp_path / "copy"
    for name, data in snapshot(reference).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    (out / study.AVERAGE_FILE).unlink()
    bad = out / study.REAL_DIR / "r00002.npz"
    bad.write_bytes(b"garbage")
    before = snapshot(out)
    assert main([*ARGS, "--output", str(out)]) == 2
    assert "r00002.npz: corrupt realization file" in capsys.readouterr().err
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("change", "name"),
    [(("--concentration", "-0.1"), "concentration"),
     (("--concentration", "1.5"), "concentration"),
     (("--size", "-3"), "size"),
     (("--size", "0"), "size"),
     (("--moments", "100"), "moments")],
)
def test_bad_input_is_refused_before_writing(tmp_path, capsys, change, name):
    args = list(ARGS)
    i = args.index(change[0])
    args[i + 1] = change[1]
    out = tmp_path / "never"
    assert main([*args, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {name}" in err
    assert not out.exists()


def test_unresolvable_moments_refused_with_a_number(tmp_path, capsys):
    # The default mapping (Δ0 = 0.005 t): δ ≈ 0.55 Δ0 needs >~ 2e4 moments.
    args = ["lattice", "disorder", "--kind", "anderson", "--width", "0.5", "--size", "300",
            "--moments", "4000", "--output", str(tmp_path / "x")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "cannot resolve the mirage-gap width" in err and "at least" in err
    assert not (tmp_path / "x").exists()


def test_default_moments_resolve_a_quarter_of_the_mirage_width(capsys):
    from latticemirage.disorder import kpm
    from mirage_cli.lattice.study import spec_from_args
    from mirage_cli.main import build_parser

    args = [a for a in ARGS if a != "--quiet"]
    i = args.index("--moments")
    del args[i:i + 2]
    ns = build_parser(args).parse_args([*args, "--output", "unused"])
    spec = spec_from_args(ns)  # builds the spec only: nothing is written
    meta = spec.meta
    # The kernel width of the chosen moments is at most delta/4 (ResolutionWarning
    # threshold), and one moment fewer would exceed it.
    sigma, quarter = meta["kernel_width_delta0"], meta["mirage_width_delta0"] / kpm.WARN_RATIO
    assert sigma <= quarter
    assert sigma * spec.moments / (spec.moments - 1) > quarter  # sigma = pi a / M
    assert "moments (Jackson width δ/4" in capsys.readouterr().err
    assert spec.moments > 1500  # more than the marginal 1500 of the reference study


# ----------------------------------------------------------------------------
# Disorder average and uniform shift (issue 10, item 7)


def test_average_is_the_ratio_of_the_realization_averages(reference):
    cols, meta = study.read_table(reference / study.AVERAGE_FILE)
    spec = spec_of(reference)
    per = [study.read_table(reference / study.REAL_DIR / f"r{i:05d}.npz")
           for i in range(spec.realizations)]
    sc = np.array([c["dos_sc"] for c, _ in per])
    normal = np.array([c["dos_normal"] for c, _ in per])
    ratios = np.array([c["ratio"] for c, _ in per])
    # average.csv stores 12 significant digits (mirage_common.io): 1e-11 relative.
    np.testing.assert_allclose(cols["dos"], sc.mean(0) / normal.mean(0), rtol=1e-11)
    np.testing.assert_allclose(cols["mean_of_ratios"], ratios.mean(0), rtol=1e-11)
    assert np.abs(cols["dos"] - cols["mean_of_ratios"]).max() > 1e-6  # two estimators
    # Jackknife written out: leave realization i out, ratio of the remaining averages.
    r = spec.realizations
    loo = np.array([np.delete(sc, i, 0).mean(0) / np.delete(normal, i, 0).mean(0)
                    for i in range(r)])
    jack = np.sqrt((r - 1) / r * ((loo - loo.mean(0)) ** 2).sum(0))
    np.testing.assert_allclose(cols["stderr"], jack, rtol=1e-10)  # 12 digits, cancellation
    assert "jackknife" in meta["stderr"]


def test_read_dos_gives_what_the_average_pools(reference):
    # read_dos is what the validate stage pools across a gap study and its extra DOS
    # realizations: its ratio of averages must be the study's own average.
    sc, normal = study.read_dos(reference)
    assert sc.shape == normal.shape == (6, 61)
    cols, _ = study.read_table(reference / study.AVERAGE_FILE)
    dos, err = study.ratio_of_averages(sc, normal)
    # average.csv stores 12 significant digits (mirage_common.io).
    np.testing.assert_allclose(dos, cols["dos"], rtol=1e-11)
    np.testing.assert_allclose(err, cols["stderr"], rtol=1e-10)


def test_ratio_of_averages_is_unbiased_where_the_mean_of_ratios_is_not():
    # N_n uniform in [0.5, 1.5], N_s = 2 N_n^2: <N_s>/<N_n> = 2 <N_n^2> = 13/6, while
    # <N_s/N_n> = 2. 4000 independent studies of R = 20 samples (the columns).
    rng = np.random.default_rng(0)
    r, studies = 20, 4000
    normal = rng.uniform(0.5, 1.5, (r, studies))
    ratio, err = study.ratio_of_averages(2 * normal**2, normal)
    spread = ratio.std(ddof=1)
    # Ratio-of-averages bias ~ -0.008 at R = 20 (delta method); mean over 4000 studies
    # has a standard error spread / sqrt(4000) ~ 1e-3.
    assert abs(ratio.mean() - 13 / 6) < 0.008 + 5 * spread / np.sqrt(studies)
    mean_of_ratios = (2 * normal).mean(0)
    assert abs(mean_of_ratios.mean() - 13 / 6) > 0.15  # converges to 2, not 13/6
    # The jackknife error matches the actual scatter of the estimate across studies;
    # 10 %: O(1/R) bias of the jackknife variance plus ~2 % sampling error of the spread.
    assert err.mean() == pytest.approx(spread, rel=0.1)
    one, one_err = study.ratio_of_averages(normal[:1], normal[:1])
    assert np.all(one == 1) and np.all(np.isnan(one_err))


def _tiny_spec(concentration, strength, seed=3):
    return study.StudySpec(
        params=dict(t=1.0, mu=2.4, lam=0.3, B=0.1, phi=0.7, delta=0.2),
        disorder={"kind": "point", "concentration": concentration, "strength": strength},
        size=6, moments=60, vectors=3, realizations=1, seed=seed, twists="none",
        energy_unit=0.2, energies=(-2.0, 2.0, 21),
    )


def test_uniform_shift_is_removed_in_the_dos_and_reported():
    # Impurities on every site: a pure uniform shift n_i V = V, no disorder at all.
    shifted = study.compute_realization(_tiny_spec(1.0, 0.7), 0)
    clean = study.compute_realization(_tiny_spec(0.0, 0.7), 0)
    assert shifted["metadata"]["uniform_shift_t"] == pytest.approx(0.7, rel=1e-15)
    assert clean["metadata"]["uniform_shift_t"] == 0.0
    for name in ("dos_sc", "dos_normal"):
        assert np.array_equal(shifted["columns"][name], clean["columns"][name]), name


def test_dos_and_rates_remove_the_same_shift(reference):
    from latticemirage.disorder import rates
    from latticemirage.disorder.potentials import disorder_from_dict

    spec = spec_of(reference)
    dis = disorder_from_dict(spec.disorder)
    shifts = [study.read_table(reference / study.REAL_DIR / f"r{i:05d}.npz")[1]["uniform_shift_t"]
              for i in range(2)]
    # Binomial scatter of the site average: sqrt(n_i (1 - n_i) / L^2) V ~ 0.0045 t here.
    sigma = np.sqrt(dis.variance / spec.size**2)
    assert all(abs(x - dis.mean) < 5 * sigma for x in shifts)
    # Realization i of the rates and of the DOS study draw the same potential
    # (SeedSequence([seed, i])): the same shift is removed from both.
    res = rates.measure_rates(spec.params, dis, spec.size, 2, spec.seed, eta=0.05)
    assert res.uniform_shift == pytest.approx(np.mean(shifts), rel=1e-12)
    _, meta = study.read_table(reference / study.AVERAGE_FILE)
    assert meta["uniform_shift"]["expected_t"] == pytest.approx(dis.mean)
    assert meta["uniform_shift"]["removed_mean_t"] == pytest.approx(
        np.mean([study.read_table(p)[1]["uniform_shift_t"]
                 for p in sorted((reference / study.REAL_DIR).glob("r*.npz"))]))


def test_bad_kpm_backend_variable_is_refused_before_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MIRAGE_KPM_BACKEND", "gpu")
    out = tmp_path / "never"
    assert main([*ARGS, "--output", str(out)]) == 2
    assert "MIRAGE_KPM_BACKEND" in capsys.readouterr().err
    assert not out.exists()
