"""``mirage lattice disorder ...``: disorder-averaged DOS studies on periodic supercells.

Physical parameters (Ising field, Zeeman field, gap, pocket depth) are in units
of Δ0 as for every lattice command and are mapped onto the lattice by
`latticemirage.mapping`; disorder strengths are lattice potentials in units of
the hopping t (an impurity of ``--strength 1.0`` is a potential of one t), and the
correlation length is in lattice constants. Output energies are in Δ0.

Examples::

    mirage lattice disorder --kind point --concentration 0.01 --strength 1.0 \\
        --size 300 --realizations 64 --moments 40000 --output study/
    mirage lattice disorder --status study/

With ``--self-consistent --temperature T`` (T in T_c0) each realization's uniform Δ is
solved on the disordered supercell (`latticemirage.disorder.selfconsistent`; pairing
interaction fixed by the clean T_c0 on the converged clean lattice) and used
for its DOS; the study summary and ``--status`` give the mean Δ and its standard error.
Such a study must satisfy the validity rules (`latticemirage.disorder.validity`: E_F/Δ0
>= 20, p_F ξ0 >= 10, L >= 4 ξ(Δ), kernel width <= δ/3), else it is refused::

    mirage lattice disorder --kind anderson --width 0.4 --size 48 --realizations 8 \
        --self-consistent --temperature 0.1 --beta 5 --field 2 --e-fermi 20 \
        --delta0-t 0.04 --moments 3000 --twists pi --output sc_study/

With ``--components ETA`` every realization also stores the valley-resolved Green's
function components (``g0_K_re``, ..., ``fz_Kp_im``, the columns of ``mirage qc dos``) at
``z = ε + iη`` for the energies of ``--component-energies`` (default 0:9:10), from the same
potential and twist as its DOS; ``components.csv`` holds their realization mean and
jackknife standard errors. Each energy costs two sparse LU factorizations of the 4 L²
BdG matrix per realization (README, "Measured self-energy")::

    mirage lattice disorder --kind anderson --width 0.3 --size 40 --realizations 8 \\
        --components 1.5 --component-energies 0:9:10 --output comp_study/

Under MPI (``pip install 'latticemirage[mpi]'``, an MPI library, e.g. the
``mpich`` wheel), either a static pool where rank 0 drives the study and the
other N - 1 ranks are workers::

    mpiexec -n 5 python -m mpi4py.futures -m mirage_cli lattice disorder ... --mpi

or one process that spawns ``--workers K`` MPI workers (needs MPI dynamic
process support and ``mpiexec`` on PATH)::

    mpiexec -n 1 mirage lattice disorder ... --mpi --workers 4

Everything is validated before anything is written; a folder that holds another
study, a corrupt or a foreign folder is refused (exit code 2) and left untouched.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np

from mirage_cli.lattice.options import (
    add_disorder_arguments,
    add_mapping_scales,
    check_memory,
    check_smooth_size,
    disorder_from_args,
    integer,
    note_time,
    option_named,
    real,
)
from mirage_cli.options import check_output_folder
from mirage_common.errors import ParameterError
from mirage_common.parallel import available_cores, check_mpi_launcher, executor_from_options

__all__ = ["add_subcommands", "spec_from_args"]


def add_subcommands(sub):
    """Register ``disorder`` on the ``mirage lattice`` subparsers *sub*."""
    p = sub.add_parser(
        "disorder",
        help="disorder-averaged KPM DOS N_s/N_n on L x L supercells (resumable, parallel)",
        description=__doc__.split("\n\n")[1],
    )
    p.add_argument("--status", metavar="FOLDER", help="summarize the study in FOLDER and exit")
    p.add_argument("--output", "-o", metavar="FOLDER", help="study folder (created or resumed)")
    add_disorder_arguments(p)
    g = p.add_argument_group("physics (Δ0 units)")
    g.add_argument("--beta", type=real(0), default=7.0,
                   help="Ising SOC, Fermi-surface mean (Δ0)")
    g.add_argument("--field", type=real(0), default=2.0, help="in-plane Zeeman energy B (Δ0)")
    g.add_argument("--delta", type=real(0), default=None,
                   help="gap Δ (Δ0; default 1); excludes --self-consistent")
    g.add_argument("--self-consistent", action="store_true",
                   help="solve each realization's uniform Δ on the supercell (needs --twists "
                        "none or pi) and use it for its DOS")
    g.add_argument("--temperature", type=real(0, low_open=True), default=None,
                   help="with --self-consistent: temperature (T_c0; default 0.1)")
    g.add_argument("--coupling", type=real(0, low_open=True), default=None,
                   help="with --self-consistent: pairing interaction U (t; default: fixed by "
                        "T_c0 on the converged clean lattice, as for the clean gap)")
    g.add_argument("--cutoff", type=real(0, low_open=True), default=None,
                   help="with --self-consistent: pairing cutoff ω_c (Δ0; default 2/3 E_F)")
    g.add_argument("--zero-field-reference", action="store_true",
                   help="with --self-consistent: also solve each realization at B = 0 (its "
                        "own zero-field gap; the summary gives <Delta(B)>/<Delta(0)>)")
    g.add_argument("--gap-solver", choices=("auto", "dense", "chebyshev"), default=None,
                   help="with --self-consistent: Δ by the shell solver (exact; its shell "
                        "eigenstates by dense eigh up to 64², sparse spectrum slicing above) "
                        "or by Chebyshev traces (stochastic, with stated errors); auto "
                        "(default): the shell solver at every size")
    g.add_argument("--gap-moments", type=integer(16), default=None,
                   help="with the Chebyshev gap solver: moments of tanh(H/2T) (default: the "
                        "fewest with a Jackson width <= Δ_low/3)")
    g.add_argument("--gap-vectors", type=integer(2), default=None,
                   help="with the Chebyshev gap solver: random vectors per twist (default 8)")
    g.add_argument("--phi", type=real(), default=0.0, help="field angle from x (radians)")
    add_mapping_scales(g)
    g = p.add_argument_group("numerics")
    g.add_argument("--size", type=integer(1), default=300, help="supercell L (default 300)")
    g.add_argument("--realizations", type=integer(1), default=16,
                   help="disorder realizations (default 16)")
    g.add_argument("--moments", type=integer(2), default=None,
                   help="KPM moments per realization (default: enough for a Jackson kernel "
                        "width of δ/4, the mirage-gap width over four)")
    g.add_argument("--vectors", type=integer(1), default=8,
                   help="random vectors per realization")
    g.add_argument("--seed", type=integer(0, None), default=0,
                   help="study seed (SeedSequence([seed, i]))")
    g.add_argument("--twists", choices=("none", "pi", "random"), default="pi",
                   help="boundary twists per realization (default pi: random in {0, pi}^2)")
    g.add_argument("--emin", type=real(), default=-10.0, help="lowest output energy (Δ0)")
    g.add_argument("--emax", type=real(), default=10.0, help="highest output energy (Δ0)")
    g.add_argument("--n-energies", type=integer(1), default=801,
                   help="output energies on [emin, emax] (default 801)")
    g.add_argument("--components", type=real(0, low_open=True), default=None, metavar="ETA",
                   help="also store the valley components ĝ_K, ĝ_K' per realization at "
                        "z = ε + i ETA (Δ0; must exceed the grid's ξ spacing 1/(ν_v L²)); "
                        "two sparse LU per energy and realization")
    g.add_argument("--component-energies", default=None, metavar="START:STOP:NUM",
                   help="with --components: energies ε (Δ0; START:STOP:NUM or a comma "
                        "list; default 0:9:10)")
    g.add_argument("--allow-unresolved", action="store_true",
                   help="run even if the moments cannot resolve the mirage-gap width (warn)")
    g = p.add_argument_group("parallel execution")
    g.add_argument("--workers", type=integer(1), default=None,
                   help="local process pool size (default: available cores); with --mpi "
                        "outside a static pool, the number of MPI workers to spawn")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask distributed scheduler, e.g. tcp://HOST:PORT")
    g.add_argument("--mpi", action="store_true",
                   help="run through mpi4py.futures.MPIPoolExecutor: start as 'mpiexec -n N "
                        "python -m mpi4py.futures -m mirage_cli lattice disorder ... --mpi'")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_main)


def _lattice_point(args):
    """The physical point of the study: (phys, mapping, Hamiltonian params, Δ used for the
    resolution, self-consistent settings or None); the options of the other mode refused."""
    from latticemirage.mapping import map_to_lattice
    from mirage_cli.lattice.options import physical_from_args

    if args.self_consistent:
        from latticemirage.disorder import selfconsistent

        if args.delta is not None:
            raise ParameterError("delta", "excludes --self-consistent (Δ is solved)")
        if args.twists == "random":
            raise ParameterError("twists", "--self-consistent averages Δ over the twists "
                                           "{0, pi}^2 (real arithmetic): use --twists pi or none")
        temperature = 0.1 if args.temperature is None else args.temperature
        if args.coupling is not None and not args.coupling > 0:
            raise ParameterError("coupling", f"must be > 0 (t), got {args.coupling!r}")
        phys = physical_from_args(args, temperature=temperature, delta=None)
        mapping = map_to_lattice(phys)
        gap_solver = _gap_solver_from_args(args, mapping)
        if gap_solver is None:  # the shell solver alone, before the clean gap is solved
            _shell_estimate(args, mapping, args.twists, args.zero_field_reference, check=True)
        # The clean supercell's Δ is solved on the k mesh equivalent to L x L: a supercell
        # too small holds no k point in the pairing shell, and that mesh is --size.
        with option_named("mesh", "size", f"the k grid of the {args.size} x {args.size} "
                                          "supercell holds no k point in the pairing shell "
                                          "|ξ| < ω_c; increase --size (or --cutoff)"):
            sc_settings = selfconsistent.study_settings(
                mapping, args.size, args.twists, temperature, coupling=args.coupling,
                cutoff=args.cutoff, zero_field_reference=args.zero_field_reference,
                gap_solver=gap_solver)
        # Each realization sets its own Δ.
        return (phys, mapping, mapping.lattice_params(0.0), sc_settings["delta_clean_lattice"],
                sc_settings)
    for name in ("temperature", "coupling", "cutoff"):
        if getattr(args, name) is not None:
            raise ParameterError(name, "applies only with --self-consistent")
    if args.zero_field_reference:
        raise ParameterError("zero-field-reference", "applies only with --self-consistent")
    for name in ("gap_solver", "gap_moments", "gap_vectors"):
        if getattr(args, name) is not None:
            raise ParameterError(name.replace("_", "-"), "applies only with "
                                                         "--self-consistent")
    phys = physical_from_args(args, delta=1.0 if args.delta is None else args.delta,
                              temperature=0.1)
    mapping = map_to_lattice(phys)
    return phys, mapping, mapping.params, phys.delta, None


def _kpm_scale(args, params):
    """The KPM rescaling factor a of the clean bounds widened by the potential's range."""
    from latticemirage.disorder import kpm, supercell

    clean = supercell.supercell(params, 3)
    lo, hi = kpm.gershgorin_bounds(clean.matrix)
    spread = {"point": abs(args.strength or 0), "anderson": (args.width or 0) / 2,
              "smooth": 5 * (args.amplitude or 0)}[args.kind]
    a, _ = kpm.rescaling((lo - spread, hi + spread))
    return a


def _check_resolution(args, a, width, unit):
    """Refuse (or, with ``--allow-unresolved``, warn about) a Jackson kernel wider than
    the mirage gap; KPM's own resolution warnings go to stderr."""
    from latticemirage.disorder import kpm

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", kpm.ResolutionWarning)
        try:
            kpm.check_resolution(args.moments, a, width * unit, units=" t",
                                 what=f"mirage-gap width ({width:.3g} Δ0)")
        except ParameterError as exc:
            if not args.allow_unresolved:
                raise ParameterError("moments", str(exc).split(": ", 1)[1]
                                     + "; pass --allow-unresolved to run anyway") from None
            print(f"mirage: warning: {exc}", file=sys.stderr)
    for w in caught:
        print(f"mirage: warning: {w.message}", file=sys.stderr)


def spec_from_args(args):
    """Validate the command line and build the `StudySpec` (nothing is written)."""
    from latticemirage.disorder import kpm
    from latticemirage.disorder.study import StudySpec
    from mirage_common.formulas import mirage_formula

    disorder = disorder_from_args(args)
    kpm.requested_backend()  # $MIRAGE_KPM_BACKEND: numba, scipy or stencil, checked before any work
    for name in ("size", "realizations", "vectors", "n_energies"):
        value = getattr(args, name)
        if value is None or value < 1:
            raise ParameterError(name.replace("_", "-"),
                                 f"must be a positive integer, got {value!r}")
    if args.seed < 0:
        raise ParameterError("seed", f"must be >= 0, got {args.seed!r}")
    if not args.emax > args.emin:
        raise ParameterError("emax", f"must exceed emin = {args.emin!r}, got {args.emax!r}")
    phys, mapping, params, delta_used, sc_settings = _lattice_point(args)
    unit = mapping.delta0
    # Resolution: the Jackson width at the clean bounds (plus the potential range)
    # against the mirage-gap width at the Fermi-surface mean of beta.
    a = _kpm_scale(args, params)
    width = float(mirage_formula(mapping.beta_fs_mean, phys.field, delta_used).width)
    if args.moments is None:
        if not width > 0:
            raise ParameterError("moments", "no mirage gap at these parameters (B = 0 or "
                                            "β = 0) to set the resolution by; give --moments")
        args.moments = kpm.moments_for_resolution(width * unit / kpm.WARN_RATIO, a)
        print(f"mirage: {args.moments} moments (Jackson width δ/{kpm.WARN_RATIO:g}, "
              f"δ = {width:.3g} Δ0); --moments overrides", file=sys.stderr)
    if args.moments < 2:
        raise ParameterError("moments", f"must be an integer >= 2, got {args.moments!r}")
    components = _components_from_args(args, phys, mapping, delta_used)
    _check_study_memory(args, mapping if sc_settings else None, sc_settings)
    if args.kind == "smooth":  # validates xi against the supercell before anything runs
        check_smooth_size(disorder, args.size)
    if width > 0:
        _check_resolution(args, a, width, unit)
    kernel_width = kpm.jackson_resolution(args.moments, a) / unit
    gap = (sc_settings or {}).get("gap_solver")
    if gap is not None:  # Chebyshev Δ: resolve Δ_low = 0.5 Δ_clean (chebyshev_gap's rule)
        needed = _gap_moments(a, sc_settings["delta_clean_lattice"] * unit)
        if args.gap_moments is None:
            gap["moments"] = needed
        elif args.gap_moments < needed:
            raise ParameterError("gap-moments", f"{args.gap_moments} cannot resolve the gap at "
                                 f"Δ_low = 0.5 Δ_clean: at least {needed} moments")
    if sc_settings is not None:  # the study guard, before anything is written
        from latticemirage.disorder import selfconsistent

        selfconsistent.guard(sc_settings, args.size, kernel_width=kernel_width)
    return StudySpec(
        params=params,
        disorder=disorder.to_dict(),
        size=args.size,
        moments=args.moments,
        vectors=args.vectors,
        realizations=args.realizations,
        seed=args.seed,
        twists=args.twists,
        energy_unit=unit,
        energies=(args.emin, args.emax, args.n_energies),
        meta={"mapping": mapping.report(), "mirage_width_delta0": width,
              "kernel_width_delta0": kernel_width},
        self_consistent=sc_settings,
        components=components,
    )


#: "auto" is the shell solver at every size: with its sparse shell eigensolver
#: (`latticemirage.disorder.shell`) a 300² realization at the default scale takes minutes
#: and is exact, where the Chebyshev solver was projected at hours with a stochastic error
#: (docs/topics/chebyshev-gap.md, docs/performance.md).
DEFAULT_GAP_VECTORS = 8


def _gap_solver_from_args(args, mapping):
    """The spec's ``gap_solver`` entry (None for the dense shell) from the CLI options."""
    kind = args.gap_solver or "auto"
    if kind in ("auto", "dense"):
        for name in ("gap_moments", "gap_vectors"):
            if getattr(args, name) is not None:
                raise ParameterError(name.replace("_", "-"), "applies only with the Chebyshev "
                                                             "gap solver (--gap-solver chebyshev)")
        return None
    return {"kind": "chebyshev", "moments": args.gap_moments or 16,
            "vectors": args.gap_vectors or DEFAULT_GAP_VECTORS}


def _gap_moments(a, delta_clean_t):
    """Fewest moments resolving Δ_low = 0.5 Δ_clean (as `chebyshev_gap.moments_needed`).

    *a*: the study's half-width (clean bounds plus the potential's range), t; the solver's
    bounds also hold Δ up to 2 Δ0 on the diagonal blocks' Gershgorin radius: a margin of 2 %.
    """
    from latticemirage.disorder import chebyshev_gap

    return chebyshev_gap.moments_needed(1.02 * a, 0.5 * delta_clean_t)


#: Default energies of the components (Δ0): a coarse grid, each point costs two LU.
DEFAULT_COMPONENT_ENERGIES = "0:9:10"


def _components_from_args(args, phys, mapping, delta):
    """`StudySpec.components` from ``--components`` (None without it); validated."""
    from latticemirage import green
    from latticemirage.disorder import selfenergy
    from mirage_cli.lattice.options import parse_values

    if args.components is None:
        if args.component_energies is not None:
            raise ParameterError("component-energies", "applies only with --components ETA")
        return None
    eta = args.components
    if not (eta > 0 and np.isfinite(eta)):
        raise ParameterError("components", f"η must be finite and > 0 (Δ0), got {eta!r}")
    text = DEFAULT_COMPONENT_ENERGIES if args.component_energies is None \
        else args.component_energies
    energies = parse_values("component-energies", text)
    try:
        energies, xi_cut = green.check_inputs(phys, energies, eta=eta,
                                              delta=max(delta, phys.delta or 0.0))
    except ParameterError as exc:
        if exc.name != "xi_cut":
            raise
        raise ParameterError("component-energies", "max|ε| + β + B + Δ + 2η must stay below "
                             "the shell ξ_c = 0.8 E_F: " + str(exc).split(": ", 1)[1]) from None
    nu = selfenergy.valley_nu(mapping)
    selfenergy.check_grid_eta(nu, args.size, eta, mapping.delta0, name="components")
    return {"eta_delta0": float(eta), "energies_delta0": [float(x) for x in energies],
            "xi_cut_delta0": float(xi_cut),
            "nu_per_spin_per_site_1_over_t": [float(x) for x in nu]}


# Peak memory of one realization per supercell site: the sparse Hamiltonian and KPM
# work arrays (measured 2.2 kB per site with 8 vectors: 296 MB at L = 200, 564 MB at 400).
_BYTES_PER_SITE = 512.0
_BYTES_PER_SITE_VECTOR = 256.0


def _check_study_memory(args, mapping=None, sc_settings=None):
    """Refuse a study whose realizations cannot fit in memory (local pool: all workers).

    With the shell gap solver (*sc_settings* without ``gap_solver``) its per-realization
    memory (`latticemirage.estimates.shell_gap`) counts per worker, and a long solve is
    announced with its estimated time.
    """
    sites = args.size**2
    per_site = _BYTES_PER_SITE + _BYTES_PER_SITE_VECTOR * args.vectors
    workers = _study_workers(args)
    moments = args.moments * args.vectors * 16 * 4  # per-vector moment arrays
    parts = [(workers * sites * per_site, "size",
              f"{workers} worker(s) x L^2 = {sites:.3g} sites x "
              f"({_BYTES_PER_SITE:g} + {_BYTES_PER_SITE_VECTOR:g} x {args.vectors} vectors) B"),
             (workers * moments, "moments", f"{args.moments} moments x {args.vectors} vectors "
                                            "x 64 B"),
             (args.n_energies * 100.0, "n-energies", f"{args.n_energies} energies x 100 B")]
    if getattr(args, "components", None) is not None:
        # One sparse LU at a time per worker (the selfenergy CLI's estimate, 40 kB x
        # log2(L)/7.6 per site) plus the plane-wave right-hand sides and solutions of one
        # chunk of 64 k (2 x 4 x 64 x 4 complex per site = 32 kB).
        lu = 4e4 * max(1.0, np.log2(args.size) / 7.6) + 32768.0
        parts.append((workers * sites * lu, "components",
                      f"{workers} worker(s) x sparse LU of 4 L^2 orbitals, ~"
                      f"{lu / 1e3:.0f} kB per site"))
    if args.vectors * _BYTES_PER_SITE_VECTOR > _BYTES_PER_SITE * 4 and parts[0] == max(parts):
        parts[0] = (parts[0][0], "vectors", parts[0][2])
    shell = None
    if sc_settings is not None and not sc_settings.get("gap_solver"):
        shell = _shell_estimate(args, mapping, sc_settings["twists"],
                                sc_settings.get("zero_field_reference"))
        parts.append((shell.nbytes, "size", shell.what))
    check_memory(max(parts)[1], sum(p[0] for p in parts), ", ".join(p[2] for p in parts))
    if shell is not None:
        note_time(shell.seconds, "the shell gap solver per realization from measured per-unit "
                                 "figures (latticemirage.estimates.shell_gap), over the workers")


def _study_workers(args):
    """Realizations running at once in this process's memory (1 on a cluster)."""
    local = getattr(args, "scheduler", None) is None and not getattr(args, "mpi", False)
    return min(getattr(args, "workers", None) or available_cores(), args.realizations) \
        if local else 1


def _shell_estimate(args, mapping, twists, zero_field, *, check=False):
    """`estimates.shell_gap` for all workers (bytes) and all realizations (seconds)."""
    from latticemirage import estimates
    from latticemirage.disorder import selfconsistent

    workers = _study_workers(args)
    one = selfconsistent.realization_estimate(mapping, args.size, twists, args.cutoff,
                                              zero_field=bool(zero_field))
    total = estimates.Estimate(workers * one.nbytes, one.seconds * args.realizations / workers,
                               one.option, f"{workers} worker(s) x the shell gap solver "
                                           f"({one.what})")
    if check:
        check_memory(total.option, total.nbytes, total.what)
    return total


def _drop_unstarted_study(folder, spec):
    """Forget a study with other parameters in which no realization ever finished.

    Left by a run killed before its first realization (e.g. the driver killed by the
    out-of-memory killer): nothing is lost, and keeping it would refuse the corrected
    call. A study another run is working on (locked) is left alone.
    """
    from latticemirage.disorder import study

    spec_path = folder / study.SPEC_FILE
    real = folder / study.REAL_DIR
    if not spec_path.is_file() or (real.is_dir() and any(real.iterdir())):
        return
    if (folder / study.AVERAGE_FILE).exists() or study.is_locked(folder) is not False:
        return
    try:
        same = study.open_study(folder).to_json() == spec.to_json()
    except study.StudyError:
        return  # corrupt or foreign: open_study refuses it with its own message
    if not same:
        for name in (study.SPEC_FILE, study.LOCK_FILE):
            (folder / name).unlink(missing_ok=True)
        if real.is_dir():
            real.rmdir()
        print(f"mirage: note: {folder} held a study with other parameters and no finished "
              "realization; starting the new one there", file=sys.stderr)


def _remove_if_unstarted(folder, created):
    """Undo a new study this run began if no realization was finished in it.

    The folder goes if this run *created* it; otherwise only the study's own files
    (``study.json``, the lock, the empty realizations folder) go, so the folder can be
    used by the corrected retry.
    """
    import contextlib
    import shutil

    from latticemirage.disorder import study

    real = folder / study.REAL_DIR
    if not folder.is_dir() or (real.is_dir() and any(real.iterdir())):
        return
    if created:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        for name in (study.SPEC_FILE, study.LOCK_FILE):
            with contextlib.suppress(OSError):
                (folder / name).unlink()
        with contextlib.suppress(OSError):
            real.rmdir()
    print(f"mirage: removed the new study in {folder} (no realization was finished)",
          file=sys.stderr)


def _check_resume(folder, spec):
    """Name the option when a study is resumed with another T, U, or components setting."""
    from latticemirage.disorder import study

    if not (folder / study.SPEC_FILE).exists():
        return
    stored = study.open_study(folder)  # reads and validates only
    old, new = stored.self_consistent or {}, spec.self_consistent or {}
    for key, option, unit in (("temperature", "temperature", "T_c0"),
                              ("coupling_t", "coupling", "t"), ("cutoff_delta0", "cutoff", "Δ0")):
        if old.get(key) != new.get(key):
            raise ParameterError(option, f"{folder} holds a study with {option} "
                                 f"{old.get(key)!r} {unit}, requested {new.get(key)!r}; "
                                 "nothing was changed (use another --output)")
    old, new = stored.components, spec.components
    if old is None and new is not None:
        raise ParameterError("components", f"{folder} holds a study run without components; "
                             "they are not added to it (nothing was changed; use another "
                             "--output)")
    if old is not None and new is None:
        raise ParameterError("components", f"{folder} holds a study with components at η = "
                             f"{old['eta_delta0']!r} Δ0: pass the same --components and "
                             "--component-energies to resume it")
    if old is not None:
        if old["eta_delta0"] != new["eta_delta0"]:
            raise ParameterError("components", f"{folder} holds a study with components at η = "
                                 f"{old['eta_delta0']!r} Δ0, requested {new['eta_delta0']!r}; "
                                 "nothing was changed (use another --output)")
        if old["energies_delta0"] != new["energies_delta0"]:
            raise ParameterError("component-energies", f"{folder} holds a study with component "
                                 f"energies {old['energies_delta0']!r} Δ0, requested "
                                 f"{new['energies_delta0']!r}; nothing was changed")


def _main(args):
    from latticemirage.disorder import study

    if args.status:
        if args.output or args.kind:
            raise ParameterError("status", "takes only the study folder")
        print(json.dumps(study.study_status(args.status), indent=1))
        return 0
    if not args.output:
        raise ParameterError("output", "a study folder is required (or use --status FOLDER)")
    if args.workers is not None and args.workers < 1:
        raise ParameterError("workers", f"must be a positive integer, got {args.workers!r}")
    folder = check_output_folder("output", args.output)
    if args.mpi and not args.scheduler:  # the launcher, before the spec's clean solves
        check_mpi_launcher()
    spec = spec_from_args(args)
    _check_resume(Path(args.output), spec)
    executor, close = executor_from_options(args.workers, args.scheduler, args.mpi)
    _drop_unstarted_study(folder, spec)
    created = not folder.exists()
    fresh = created or not (folder / study.SPEC_FILE).exists()
    try:
        study.open_study(folder, spec)  # validates a resumed folder before any work
        columns = study.run_study(args.output, spec, executor=executor, workers=args.workers,
                                  progress=not args.quiet)
    except BaseException:
        # A study that failed before any realization finished (a crashed worker, Ctrl-C)
        # must not leave a folder that blocks the corrected retry.
        if fresh:
            _remove_if_unstarted(folder, created)
        raise
    finally:
        if close is not None:
            close()
    print(f"wrote {Path(args.output) / study.AVERAGE_FILE} ({len(columns['energy'])} energies, "
          f"{spec.realizations} realizations)", file=sys.stderr)
    if spec.components is not None:
        print(f"wrote {Path(args.output) / study.COMPONENTS_FILE} (valley components at "
              f"{len(spec.components['energies_delta0'])} energies, η = "
              f"{spec.components['eta_delta0']:g} Δ0)", file=sys.stderr)
    if spec.self_consistent is not None:
        summary = study.study_status(args.output)["delta"]
        print(f"self-consistent Δ = {summary['mean']:.4f} ± {summary['stderr'] or 0:.4f} Δ0 "
              f"(clean supercell {summary['delta_clean']:.4f}, clean lattice "
              f"{summary['delta_clean_lattice']:.4f} Δ0)", file=sys.stderr)
        if "ratio_to_zero_field" in summary:
            ratio = summary["ratio_to_zero_field"]
            print(f"Δ(B)/Δ(0) = {ratio['mean']:.4f} ± {ratio['stderr'] or 0:.4f} (zero-field "
                  f"Δ = {summary['zero_field']['mean']:.4f} Δ0)", file=sys.stderr)
    return 0
