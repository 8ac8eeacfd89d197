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
  run the work once per rank;
- `check_mpi_launcher` — the ``mpiexec`` that started this process, or would start its
  workers, is of the MPI library mpi4py was built against (Open MPI's ``mpiexec`` on
  PATH before the environment's MPICH one answers MPICH's spawn with "unknown option
  -pmi_args" and the run hangs).

Library functions accept any `concurrent.futures.Executor` (``submit`` returning
concurrent futures) and never import this module's optional dependencies (Dask,
mpi4py) themselves; they are imported here only when asked for.

Bad options raise `mirage_common.errors.ParameterError` naming the option, which the
command line turns into exit code 2.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from mirage_common.errors import ParameterError

__all__ = ["available_cores", "check_mpi_launcher", "executor_from_options", "launcher_family",
           "mpi_executor", "process_pool"]

#: Environment variables set by MPI process managers (MPICH/Hydra, Open MPI, PMIx, Slurm).
MPI_LAUNCHER_ENV = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_ID")


#: MPI families: the vendor names of ``mpi4py.MPI.get_vendor()`` and the ``mpiexec
#: --version`` patterns of their launchers. MVAPICH ships MPICH's Hydra; Intel MPI prints
#: its own name (before the Hydra lines it shares with MPICH, so it is tried first).
_FAMILIES = {"MPICH": "MPICH", "MVAPICH": "MPICH", "MVAPICH2": "MPICH", "Intel MPI": "Intel MPI",
             "Open MPI": "Open MPI"}
_LAUNCHER_PATTERNS = (("Intel MPI", r"Intel\(R\) MPI"),
                      ("Open MPI", r"Open ?MPI|OpenRTE|Open RTE|PRRTE|prterun"),
                      ("MPICH", r"HYDRA|MPICH|mpich"))
#: Environment variables each family's launcher sets in the processes it starts.
#: (launcher family, its variables, library families that launcher serves).
_LAUNCHED_BY = (("Open MPI", ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"), ("Open MPI",)),
                ("MPICH", ("PMI_RANK", "PMI_SIZE", "HYDRA_CONTROL_FD"), ("MPICH", "Intel MPI")))
#: Seconds ``mpiexec --version`` may take (it prints and exits at once).
_VERSION_TIMEOUT = 20.0


def launcher_family(mpiexec):
    """The MPI family of an ``mpiexec`` from its ``--version`` text (None if unknown).

    Parameters
    ----------
    mpiexec : str or Path

    Returns
    -------
    str or None
        ``"MPICH"``, ``"Open MPI"`` or ``"Intel MPI"``.
    """
    try:
        run = subprocess.run([str(mpiexec), "--version"], capture_output=True, text=True,
                             timeout=_VERSION_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    text = run.stdout + run.stderr
    for family, pattern in _LAUNCHER_PATTERNS:
        if re.search(pattern, text):
            return family
    return None


def _expected_mpiexec(family):
    """The ``mpiexec`` of the library's family beside this Python or mpi4py's ``mpicc``."""
    places = [Path(sys.executable).parent, Path(sys.prefix) / "bin"]
    try:
        import mpi4py

        mpicc = mpi4py.get_config().get("mpicc")
        if mpicc:
            places.append(Path(mpicc).parent)
    except (ImportError, AttributeError):
        pass
    for folder in places:
        candidate = folder / "mpiexec"
        if candidate.is_file() and launcher_family(candidate) == family:
            return str(candidate)
    return None


_LAUNCHER_VARIABLES = tuple(dict.fromkeys(
    MPI_LAUNCHER_ENV + tuple(n for _, names, _ in _LAUNCHED_BY for n in names)))


def _library_vendor(option):
    """``mpi4py.MPI.get_vendor()``: (name, version tuple) of the MPI mpi4py was built on.

    Under a launcher the question is asked in a child process without the launcher's
    variables: importing ``mpi4py.MPI`` initializes MPI, and MPICH started by Open MPI's
    ``mpiexec`` aborts right there ("unsupported PMI version PMIx"), before any message
    could name the launcher.
    """
    launched = any(name in os.environ for name in _LAUNCHER_VARIABLES)
    if "mpi4py.MPI" in sys.modules or not launched:
        try:
            from mpi4py import MPI
        except ImportError:
            raise ParameterError(option, "needs mpi4py and an MPI library "
                                         "(pip install 'latticemirage[mpi]' mpich)") from None
        return MPI.get_vendor()
    env = {k: v for k, v in os.environ.items()
           if k not in _LAUNCHER_VARIABLES and not k.startswith(("PMI", "PMIX", "OMPI_"))}
    code = "from mpi4py import MPI; n, v = MPI.get_vendor(); print(n); print(*v)"
    try:
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return "unknown", ()
    if run.returncode != 0 or "\n" not in run.stdout.strip():
        if "No module named" in run.stderr:
            raise ParameterError(option, "needs mpi4py and an MPI library "
                                         "(pip install 'latticemirage[mpi]' mpich)")
        return "unknown", ()
    name, version = run.stdout.strip().split("\n")[:2]
    return name, tuple(int(x) for x in version.split())


def check_mpi_launcher(*, option="mpi", command="lattice disorder ..."):
    """Refuse an ``mpiexec`` of another MPI than the one mpi4py was built against.

    Two cases, both checked before any MPI process is started or anything written:

    - this process was started by a launcher of another family (its environment
      variables): its ranks do not form one MPI job, each would run the command alone;
    - it runs outside a launcher and will spawn its workers through the ``mpiexec`` on
      PATH, which must be of the library's family (MPICH's spawn given Open MPI's
      ``mpiexec`` fails with "unknown option -pmi_args" and then hangs).

    Parameters
    ----------
    option : str
        The option named in the error (``mpi``).
    command : str
        The ``mirage`` subcommand, for the hint.

    Returns
    -------
    str or None
        The library's family (None when mpi4py cannot tell).

    Raises
    ------
    ParameterError
        Naming the ``mpiexec`` found and the one expected.
    """
    vendor, version = _library_vendor(option)
    family = _FAMILIES.get(vendor)
    if family is None:
        return None  # an MPI we have no launcher patterns for: nothing to compare
    library = f"{vendor} {'.'.join(str(v) for v in version)}"
    for other, names, serves in _LAUNCHED_BY:
        if family not in serves and any(name in os.environ for name in names):
            expected = _expected_mpiexec(family) or f"the mpiexec of {vendor}"
            raise ParameterError(option, f"this process was started by an mpiexec of {other} "
                                         f"({shutil.which('mpiexec') or 'not on PATH'} is the one "
                                         f"on PATH), but mpi4py uses {library}: its ranks would "
                                         f"not form one MPI job; start it with {expected}")
    if any(name in os.environ for name in MPI_LAUNCHER_ENV):
        return family  # started by a launcher of the right family
    found = shutil.which("mpiexec")
    if found is None:
        return family  # mpi_executor refuses this case with its own message
    found_family = launcher_family(found)
    if found_family is not None and found_family != family:
        expected = _expected_mpiexec(family)
        fix = (f"put {Path(expected).parent} first on PATH (e.g. source .venv/bin/activate)"
               if expected else f"put the mpiexec of {vendor} first on PATH")
        raise ParameterError(option, f"the mpiexec on PATH, {found}, is {found_family}'s, but "
                                     f"mpi4py uses {library} (expected: "
                                     f"{expected or f'an mpiexec of {vendor}'}): spawning the "
                                     f"workers would fail and hang; {fix}, or start the "
                                     f"command as: {expected or 'mpiexec'} -n N python -m "
                                     f"mpi4py.futures -m mirage_cli {command} --mpi")
    return family


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
        ``mpi``: mpi4py missing, every rank running the command, no ``mpiexec`` to
        spawn workers with, or an ``mpiexec`` of another MPI (`check_mpi_launcher`);
        ``workers``: given inside a static pool.
    """
    check_mpi_launcher(command=command)
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
