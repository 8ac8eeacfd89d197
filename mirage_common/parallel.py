"""Where parallel work runs: the core count and the executors of ``--workers/--scheduler/--mpi``.

Every command and library default that starts processes goes through this module:

- `available_cores` — the cores this process may run on (its CPU affinity on Linux);
- `process_pool` — a local `concurrent.futures.ProcessPoolExecutor` whose workers are
  started with ``spawn`` (a fresh interpreter: no forked BLAS or numba thread pools,
  and the same behaviour on every platform);
- `executor_from_options` — the executor chosen by the ``--workers``, ``--scheduler``
  and ``--mpi`` options of ``mirage lattice disorder`` and ``mirage validate
  --full-scale``: a Dask ``Client.get_executor()``, an ``MPIPoolExecutor``, or None
  (the library's own local pool);
- `mpi_executor` — the ``MPIPoolExecutor``, refusing the set-ups that would hang or
  run the work once per rank.

Library functions accept any `concurrent.futures.Executor` (``submit`` returning
concurrent futures) and never import this module's optional dependencies (Dask,
mpi4py) themselves; they are imported here only when asked for.

Bad options raise `mirage_common.errors.ParameterError` naming the option, which the
command line turns into exit code 2.
"""

import os

from mirage_common.errors import ParameterError

__all__ = ["available_cores", "executor_from_options", "mpi_executor", "process_pool"]

#: Environment variables set by MPI process managers (MPICH/Hydra, Open MPI, PMIx, Slurm).
MPI_LAUNCHER_ENV = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_ID")


def available_cores():
    """Number of cores this process may run on (>= 1).

    The CPU affinity on Linux (a batch job or ``taskset`` may allow fewer cores than
    the machine has), else `os.cpu_count`.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def process_pool(workers, *, initializer=None, initargs=()):
    """A local pool of *workers* processes started with ``spawn``.

    Parameters
    ----------
    workers : int >= 1
    initializer, initargs
        Run in each worker before its first task (e.g. to set the numba threads).

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor

    Notes
    -----
    ``spawn`` imports the calling script again in each worker: a script using the
    pool needs the usual ``if __name__ == "__main__":`` guard (the ``mirage`` CLI has it).
    """
    import concurrent.futures as cf
    import multiprocessing

    return cf.ProcessPoolExecutor(max_workers=workers,
                                  mp_context=multiprocessing.get_context("spawn"),
                                  initializer=initializer, initargs=initargs)


def executor_from_options(workers=None, scheduler=None, mpi=False, *,
                          command="lattice disorder ..."):
    """The executor of ``--workers``, ``--scheduler`` and ``--mpi``, and how to close it.

    Parameters
    ----------
    workers : int, optional
        With *mpi* outside a static pool: the number of MPI workers to spawn.
        Otherwise it is the size of the caller's own local pool and not used here.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://HOST:PORT``).
    mpi : bool
        Run through ``mpi4py.futures.MPIPoolExecutor`` (see `mpi_executor`).
    command : str
        The ``mirage`` subcommand, for the launch hint in error messages.

    Returns
    -------
    executor : concurrent.futures.Executor or None
        None when neither *scheduler* nor *mpi* is given: the caller's local default.
    close : callable or None
        Call it once the work is done (closes the Dask client, shuts the MPI pool down).

    Raises
    ------
    ParameterError
        ``scheduler``/``mpi``/``workers``: both given, an optional dependency missing,
        the scheduler unreachable, or an MPI set-up that cannot work.
    """
    if scheduler and mpi:
        raise ParameterError("scheduler", "--scheduler and --mpi exclude each other")
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise ParameterError(
                "scheduler", "needs dask.distributed (pip install 'latticemirage[dask]')"
            ) from None
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise ParameterError("scheduler", f"cannot connect to {scheduler}: {exc}") from None
        return client.get_executor(), client.close
    if mpi:
        ex = mpi_executor(workers, command=command)
        return ex, ex.shutdown
    return None, None


def mpi_executor(workers=None, *, command="lattice disorder ..."):
    """An ``MPIPoolExecutor``, refusing the set-ups that would hang or run the work N times.

    Two set-ups work: a static pool (``mpiexec -n N python -m mpi4py.futures -m
    mirage_cli.main COMMAND --mpi``: rank 0 runs the command, the other ranks are the
    workers, so *workers* must be None), or a single process that spawns *workers*
    MPI workers through ``mpiexec``.

    Parameters
    ----------
    workers : int, optional
        Workers to spawn (default: mpi4py's choice); refused in a static pool.
    command : str
        The ``mirage`` subcommand, for the launch hint in error messages.

    Raises
    ------
    ParameterError
        ``mpi``: mpi4py missing, every rank running the command, or no ``mpiexec`` to
        spawn workers with; ``workers``: given inside a static pool.
    """
    import shutil

    try:
        from mpi4py import MPI
        from mpi4py.futures import MPIPoolExecutor
        from mpi4py.futures import _core as futures_core
    except ImportError:
        raise ParameterError("mpi", "needs mpi4py and an MPI library "
                                    "(pip install 'latticemirage[mpi]' mpich)") from None
    size = MPI.COMM_WORLD.Get_size()
    # mpi4py.futures publishes no API for "started by python -m mpi4py.futures";
    # its shared pool object is set exactly then.
    shared = getattr(futures_core, "SharedPool", None) is not None
    launch = ("start it as: mpiexec -n N python -m mpi4py.futures -m mirage_cli "
              f"{command} --mpi")
    if size > 1 and not shared:
        raise ParameterError("mpi", f"all {size} MPI ranks are running this command, each would "
                                    f"run the whole study; {launch}")
    if shared:
        if workers is not None:
            raise ParameterError("workers", f"the MPI pool is fixed to the other {size - 1} "
                                            "ranks by mpiexec -n; drop --workers")
        return MPIPoolExecutor()
    launched = any(name in os.environ for name in MPI_LAUNCHER_ENV)
    if not launched and shutil.which("mpiexec") is None:
        # A singleton MPI process spawns workers through mpiexec; without one MPICH
        # blocks forever instead of failing.
        raise ParameterError("mpi", f"not started by mpiexec and no mpiexec on PATH, so no MPI "
                                    f"workers can be spawned; {launch}")
    return MPIPoolExecutor() if workers is None else MPIPoolExecutor(max_workers=workers)
