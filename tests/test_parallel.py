"""mirage_common.parallel: the core count and the executors of --workers/--scheduler/--mpi."""

import os

import pytest

from mirage_common import parallel
from mirage_common.errors import ParameterError


def test_available_cores_is_the_affinity():
    cores = parallel.available_cores()
    assert cores >= 1
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))


def test_process_pool_spawns_and_runs_the_initializer(tmp_path):
    # The worker is another process whose initializer moved it to tmp_path; this one stays.
    with parallel.process_pool(1, initializer=os.chdir, initargs=(str(tmp_path),)) as pool:
        assert pool.submit(os.getcwd).result() == str(tmp_path)
        assert pool.submit(os.getpid).result() != os.getpid()
    assert os.getcwd() != str(tmp_path)


def test_no_scheduler_no_mpi_leaves_the_local_default():
    assert parallel.executor_from_options(4) == (None, None)


def test_scheduler_and_mpi_exclude_each_other():
    with pytest.raises(ParameterError, match=r"^scheduler: --scheduler and --mpi exclude"):
        parallel.executor_from_options(None, "tcp://127.0.0.1:1", True)
