"""Memory and run-time estimates of the lattice computations, from measured figures.

Each function takes the sizes a command is asked for (plain numbers, before any array is
made) and returns an `Estimate`: peak memory in bytes, run time in seconds on the
2-core reference machine, the option that dominates the memory and how the estimate is
made. The command line compares ``nbytes`` with the memory available (or
``--memory-limit``) and prints the time when it is long
(`mirage_common.resources.check_memory`, `mirage_common.resources.note_time`), so an
impossible run is refused before it allocates anything.

The per-unit figures were measured on 2026-12-07 on the shared 2-core reference machine
(peak RSS above the interpreter's start-up from ``resource.getrusage``, wall time of the
call). The machine was loaded (load average 10-15 from other jobs), so the times are
upper bounds, a few times what an idle machine takes; the memory figures do not depend
on the load. ``docs/performance.md`` lists the measurements.
"""

import math
from dataclasses import dataclass

__all__ = [
    "GAP_BYTES_PER_K",
    "Estimate",
    "conductance",
    "conductance_grid_size",
    "josephson_seconds",
    "kwant_plot",
    "shell_gap",
    "valley_green",
]

#: Memory of the self-consistent gap's pairing shell per full-mesh k point (measured:
#: 186 MB above the 120 MB start-up at mesh 2000; `latticemirage.gap.GapSolver`).
GAP_BYTES_PER_K = 50.0

# --- lattice conductance (`transport.ns_conductance`, batched solver) --------------------
#: Orbitals of the junction's scattering region per barrier row (4 Nambu-spin x 3 sites
#: of the period): measured ``hamiltonian_submatrix`` 12 x 12 at 1 row, 120 x 120 at 10.
ORBITALS_PER_ROW = 12
#: Bytes per energy of one transverse-momentum task independent of the barrier (the two
#: leads' mode-matching companion matrices and self-energies): 55 kB per energy measured
#: at 1 row (89 MB for 1601 energies), of which 64 m^2 B is the scattering region.
_COND_LEAD_BYTES = 4.5e4
#: Bytes per energy and squared orbital count: G and the system matrix with two batched
#: temporaries, 4 complex arrays (measured 940 kB per energy at 10 rows, m = 120).
_COND_REGION_BYTES = 64.0
#: Result arrays kept per (k, field, energy): n_in, r, and their normal-state copies,
#: 24 floats.
_COND_RESULT_BYTES = 192.0
#: Thermal smearing builds (n, n + 1) Fermi-window matrices: 4 float arrays of n^2.
_SMEAR_BYTES = 32.0
#: Seconds per (energy, k, field) at one barrier row (measured 3.6 ms per energy and k,
#: 401 energies x 8 k in 11.5 s, loaded machine) and the growth with the region size
#: (0.86 s per energy and k at 10 rows, m = 120: ~5e-7 s x m^3).
_COND_SECONDS = 3.0e-3
_COND_SECONDS_PER_M3 = 5.0e-7

# --- Kwant's 2-D band plot (`plots.plot_kwant_valleys`) ------------------------------------
#: Bytes per k point of the two windows (Kwant's band arrays and the matplotlib surfaces;
#: measured 46 MB at 31 x 31 x 2 points, 120 MB at 121 x 121 x 2: 2.7 kB per point above
#: a 40 MB base) and seconds per k point (46 s at 121 x 121 x 2).
_KWANT_PLOT_BASE = 4.0e7
_KWANT_PLOT_BYTES = 4.0e3
_KWANT_PLOT_SECONDS = 1.6e-3
#: Seconds of the figure itself (the 3-D axes and the PNG; 8.2 s at 31 x 31 x 2 points).
_KWANT_PLOT_BASE_SECONDS = 6.0

# --- valley-resolved Green's functions (`green.valley_green`) --------------------------------
#: Bytes per polar k point (rays x radial steps; 160 MB at 360 x 480, 11 energies) and per
#: energy (23 MB more for 2001 energies than for 11); seconds per polar k point (48-80 s at
#: 360 x 480).
_GREEN_BASE = 4.0e7  # the band blocks and ray bounds (59 MB at 120 x 160, 11 energies)
_GREEN_BYTES_PER_K = 1.1e3
_GREEN_BYTES_PER_ENERGY = 1.2e4
_GREEN_SECONDS_PER_K = 5.0e-4


# --- the shell gap solver per realization (`disorder.selfconsistent.realization_delta`) ---
#: Compact shells (`realization_delta`, since the fifth session of 2026-12-07): kept per twist
#: the two chiral blocks and the search's expansion G0, S (4 x 8 (2M)² = 128 M²); no
#: eigenvectors. Held while one twist is built: its eigenvectors (8 N M bytes), h0
#: (8 (4M)²), the chiral quarters and the einsum's intermediates: 322 M² beyond the 128
#: counted as kept, set from the measured peak (300², M = 3468, one twist: 7.33 GiB, this
#: model 7.9 GB; the former path, eigenvectors kept and h_pair formed: 13.0 GiB).
_SHELL_KEPT_PER_M2 = 128.0
_SHELL_COMPACT_BUILD_PER_M2 = 322.0
#: Full shells (the site-resolved iteration): eigenvectors kept, h0 and h_pair (2 x 8 (4M)²
#: = 256 M²) and the chiral blocks (64 M²) kept per twist, 600 M² while one is built
#: (measured at 200², M = 1536, one twist: 2.2 GiB, the model 2.5 GiB).
_SHELL_FULL_KEPT_PER_M2 = 320.0
_SHELL_BUILD_PER_M2 = 600.0
#: Seconds (one thread), measured at 300², M = 3468 (2026-12-07, the machine shared with
#: one other job): one twist: shell eigenstates and projection 551 s (0.16 s per state),
#: the bracketed Δ(B) search 482 s (~13 eigvalsh of size 2M and one eigh: 1.16e-8 M³), the
#: zero-field reference 32 s (the projection again and one Hermitian eigvalsh of size M);
#: two twists: 1364, 870 and 25 s (2260 s in all). Since the fifth session the zero-field
#: shells are derived without a projection: 12 s at M = 3468, one twist (load 3 on 2
#: cores), 0.0035 s per state.
_SHELL_SECONDS_PER_STATE = 0.16
_SHELL_SEARCH_SECONDS_PER_M3 = 1.16e-8
_SHELL_ZERO_FIELD_SECONDS_PER_STATE = 0.0035


@dataclass(frozen=True)
class Estimate:
    """Peak memory and run time of a computation, before it starts.

    Attributes
    ----------
    nbytes : float
        Peak memory above the interpreter's start-up, bytes.
    seconds : float
        Run time on the 2-core reference machine, seconds.
    option : str
        The command-line option (without dashes) whose size dominates ``nbytes``.
    what : str
        How the estimate is made (for the message that refuses the run).
    """

    nbytes: float
    seconds: float
    option: str
    what: str

    def __post_init__(self):
        if not (self.nbytes >= 0 and self.seconds >= 0):
            raise ValueError(f"an estimate is >= 0, got {self.nbytes!r} B, {self.seconds!r} s")

    @classmethod
    def from_parts(cls, parts, seconds):
        """Sum of ``(bytes, option, text)`` parts; the option of the largest part names it."""
        nbytes = math.fsum(p[0] for p in parts)
        option = max(parts, key=lambda p: p[0])[1]
        return cls(nbytes, seconds, option, ", ".join(p[2] for p in parts))


def conductance_grid_size(emin, emax, points, temperature_delta0, *, step_kt=0.25, pad_kt=10.0):
    """Number of energies the conductance is computed on, and the option that sets it.

    The grid of ``mirage lattice conductance``: at T = 0 the *points* requested
    energies; at T > 0 a grid of step ``min(spacing, step_kt T)`` over the window padded
    by ``pad_kt T`` on each side. Counted without making it.

    Parameters
    ----------
    emin, emax : float
        The requested window, Δ0 (``emax > emin``).
    points : int
        Requested energies (>= 2).
    temperature_delta0 : float
        k_B T in Δ0 (>= 0).

    Returns
    -------
    n : float
        Grid size (a float: it may exceed any integer type for a tiny T).
    option : str
        ``"temperature"`` when the thermal step sets the grid, else ``"points"``.
    """
    if temperature_delta0 <= 0:
        return float(points), "points"
    spacing = (emax - emin) / (points - 1)
    thermal = step_kt * temperature_delta0
    step = min(spacing, thermal)
    n = math.ceil((emax - emin + 2 * pad_kt * temperature_delta0) / step)
    return float(n), "temperature" if thermal < spacing else "points"


def conductance(
    n_energies,
    n_k,
    n_fields,
    barrier_rows,
    *,
    workers=1,
    smeared=False,
    energy_option="points",
    gap_mesh=None,
):
    """Memory and time of `latticemirage.transport.ns_conductance` (batched solver).

    Parameters
    ----------
    n_energies : float
        Energies of the computed grid (`conductance_grid_size`).
    n_k : int
        Transverse momenta.
    n_fields : int
    barrier_rows : int
    workers : int
        Processes running transverse momenta at once (each holds one task).
    smeared : bool
        Thermal smearing follows (its (n, n) windows).
    energy_option : str
        The option that set *n_energies* (``"points"`` or ``"temperature"``).
    gap_mesh : int, optional
        The k mesh of a self-consistent gap solved first (its pairing shell).

    Returns
    -------
    Estimate
    """
    m = ORBITALS_PER_ROW * barrier_rows
    per_energy = _COND_LEAD_BYTES + _COND_REGION_BYTES * m * m
    parts = [
        (
            workers * n_energies * per_energy,
            "barrier-rows" if m > 30 else energy_option,
            f"{workers} worker(s) x {n_energies:.3g} energies x "
            f"{per_energy / 1e3:.3g} kB ({barrier_rows} barrier row(s))",
        ),
        (
            n_k * n_fields * n_energies * _COND_RESULT_BYTES,
            "n-k",
            f"{n_k} k x {n_fields} field(s) x {n_energies:.3g} energies x "
            f"{_COND_RESULT_BYTES:g} B of results",
        ),
    ]
    if gap_mesh is not None:
        parts.append(
            (
                GAP_BYTES_PER_K * float(gap_mesh) ** 2,
                "gap-mesh",
                f"gap-mesh^2 x {GAP_BYTES_PER_K:g} B for the self-consistent gap",
            )
        )
    if smeared:
        parts.append(
            (
                _SMEAR_BYTES * n_energies**2,
                energy_option,
                f"thermal smearing: {n_energies:.3g}^2 x {_SMEAR_BYTES:g} B",
            )
        )
    seconds = n_energies * n_k * n_fields * (_COND_SECONDS + _COND_SECONDS_PER_M3 * m**3)
    return Estimate.from_parts(parts, seconds / max(1, min(workers, 2)))


def kwant_plot(n_k):
    """Memory and time of `latticemirage.plots.plot_kwant_valleys` (two windows of n_k^2)."""
    points = 2.0 * n_k * n_k
    return Estimate(
        _KWANT_PLOT_BASE + _KWANT_PLOT_BYTES * points,
        _KWANT_PLOT_BASE_SECONDS + _KWANT_PLOT_SECONDS * points,
        "kwant-points",
        f"2 windows x {n_k}^2 k points x {_KWANT_PLOT_BYTES / 1e3:g} kB",
    )


def valley_green(n_theta, n_radial, n_energies):
    """Memory and time of `latticemirage.green.valley_green`."""
    k = float(n_theta) * (n_radial + 1)
    parts = [
        (
            _GREEN_BASE + _GREEN_BYTES_PER_K * k,
            "n-theta" if n_theta >= n_radial else "n-radial",
            f"{_GREEN_BASE / 1e6:g} MB + {n_theta} rays x {n_radial + 1} radial steps x "
            f"{_GREEN_BYTES_PER_K / 1e3:g} kB",
        ),
        (
            _GREEN_BYTES_PER_ENERGY * n_energies,
            "n-energies",
            f"{n_energies} energies x {_GREEN_BYTES_PER_ENERGY / 1e3:g} kB",
        ),
    ]
    return Estimate.from_parts(parts, _GREEN_SECONDS_PER_K * k)


# --- Josephson junction (`josephson.bound_states`, `josephson.current_phase`) -------------
#: Seconds per phase of the bound-state search (37 s for 5 phases, of which ~6 s start-up)
#: and per (transverse momentum, phase) of the current (14.7 s at 2 k, 36.3 s at 8 k, both
#: with 5 phases: 3.6 s per k, taken as 0.72 s per k and phase), ``mirage lattice josephson``
#: at length 0, measured 2026-12-07 (load ~9).
_JJ_SECONDS_PER_PHASE = 6.0
_JJ_SECONDS_PER_K_PHASE = 0.72


def josephson_seconds(n_phases, n_k, *, states=True, current=True):
    """Run time (s) of ``mirage lattice josephson`` at length 0 (a lower bound when longer)."""
    seconds = 0.0
    if states:
        seconds += _JJ_SECONDS_PER_PHASE * n_phases
    if current:
        seconds += _JJ_SECONDS_PER_K_PHASE * n_k * n_phases
    return seconds


def shell_gap(sites, shell_states, twists, *, zero_field=True, full=False):
    """One realization's self-consistent Δ by the shell solver (compact shells).

    Parameters
    ----------
    sites : int
        L² (the size of ``h_xi``).
    shell_states : int
        M per twist (e.g. `latticemirage.disorder.selfconsistent.shell_states_estimate`).
    twists : int
        Twists averaged over.
    zero_field : bool
        With the B = 0 reference (its shells derived from the field's).
    full : bool
        Full shells (the site-resolved iteration): the eigenvectors and the 4M x 4M
        matrices kept per twist. Measured at 200² (M = 1536, one twist,
        `mirage figure fig_gap_map --scale default`): peak RSS 2.2 GiB, this estimate 2.5 GiB.
        Without: compact shells, no eigenvectors kept (measured at 300², M = 3468, one
        twist: 7.33 GiB, this estimate 7.9 GB).
    """
    m, n = float(shell_states), float(sites)
    if full:
        kept_per_m2 = _SHELL_FULL_KEPT_PER_M2
        kept = twists * (8.0 * n * m + kept_per_m2 * m * m)
        build = _SHELL_BUILD_PER_M2 * m * m
        kept_text = f"shell eigenvectors 8 L^2 M + shell matrices {kept_per_m2:g} M^2"
        build_text = f"building one twist's shell matrices, {_SHELL_BUILD_PER_M2:g} M^2 B"
    else:
        kept_per_m2 = _SHELL_KEPT_PER_M2
        kept = twists * kept_per_m2 * m * m
        build = 8.0 * n * m + _SHELL_COMPACT_BUILD_PER_M2 * m * m
        kept_text = f"chiral blocks and the search's expansion {kept_per_m2:g} M^2"
        build_text = ("building one twist: its eigenvectors 8 L^2 M and matrices "
                      f"{_SHELL_COMPACT_BUILD_PER_M2:g} M^2 B")
    seconds = twists * (_SHELL_SECONDS_PER_STATE * m + _SHELL_SEARCH_SECONDS_PER_M3 * m**3)
    if zero_field:
        seconds += twists * _SHELL_ZERO_FIELD_SECONDS_PER_STATE * m
    return Estimate.from_parts(
        [(kept, "size", f"{twists} twist(s) x ({kept_text}) B, M = {int(m)} shell states"),
         (build, "size", build_text)], seconds)
