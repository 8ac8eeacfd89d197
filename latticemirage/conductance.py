"""The NS-junction conductance map dI/dV(V, B) of ``mirage lattice conductance``.

`conductance_map` checks the junction, solves the gap if asked, computes the
zero-temperature conductance of `latticemirage.transport.ns_conductance` on a grid fine
enough for the thermal smearing (`energy_grid`), smears it, interpolates it to the
requested biases and returns the table columns and the metadata of the result file
(`ConductanceMap`). One curve per field, or per direction of the normal lead's exchange
field (an angle sweep at one field).

Units: energies, fields and gaps in Δ0; temperature in T_c0; barrier and exchange field
in t (the lattice hopping); angles in radians. The physical units of the command line
(meV, tesla, kelvin) are converted before this module is called.
"""

import math
from dataclasses import dataclass

import numpy as np

from mirage_common.errors import ParameterError

__all__ = ["COLUMNS", "PAD_KT", "STEP_KT", "ConductanceMap", "conductance_map", "energy_grid"]

#: The conductance and its parts, one table column each (reflections per incident mode).
COLUMNS = ("conductance", "normal_reflection", "andreev_opposite_spin", "andreev_equal_spin")
#: Finite T: the computed window is padded by this many k_B T on each side (tail weight e^-10).
PAD_KT = 10.0
#: Finite T: the computed grid has a step <= STEP_KT k_B T (see `energy_grid`).
STEP_KT = 0.25


def energy_grid(emin, emax, points, temperature_delta0, e_limit, check=None):
    """Requested energies and the grid the zero-temperature conductance is computed on.

    At T = 0 the two are the same. At T > 0 the curve is computed on a finer grid
    (step <= k_B T / 4) padded by 10 k_B T and offset by half a step from the
    window edge, smeared there, and interpolated to the requested energies: the
    zero-temperature coherence peaks are integrable singularities (and exactly at
    a gap edge the tunnel-limit conductance is the BTK resonance 2/τ), which a
    coarse grid that happens to sample them (e.g. E = Δ on a 0.05 grid) would
    overweight. In the validate BCS control the smeared L1 error was 0.029 with
    step k_B T/2 and 0.0125 with k_B T/4.

    Parameters
    ----------
    emin, emax : float
        Bias window, Δ0 (``emax > emin``).
    points : int
        Number of requested energies (>= 2).
    temperature_delta0 : float
        k_B T in Δ0 (>= 0).
    e_limit : float
        Every computed ``|E|`` (padding included) must stay below it, Δ0 (E_F/2 for the
        lattice pockets).
    check : callable, optional
        Called as ``check(n_grid, option)`` with the size of the computed grid
        (`latticemirage.estimates.conductance_grid_size`) and the parameter that sets
        it (``"points"`` or ``"temperature"``), before any array is made: a tiny
        temperature means a very fine grid.

    Returns
    -------
    wanted : ndarray, shape (points,)
        The requested energies, Δ0.
    grid : ndarray, shape (n_grid,)
        The computed energies, Δ0; *wanted* itself (the same object) at T = 0.

    Raises
    ------
    ParameterError
        ``points`` below 2, ``emax <= emin``, or ``emax`` when the (padded) window
        reaches *e_limit*.
    """
    from latticemirage.estimates import conductance_grid_size

    if int(points) != points or points < 1:
        raise ParameterError("points", f"must be a positive integer, got {points!r}")
    n = int(points)
    if not emax > emin:
        raise ParameterError("emax", f"must exceed emin = {emin!r}, got {emax!r}")
    if n < 2:
        raise ParameterError("points", "need at least 2 energies")
    pad = PAD_KT * temperature_delta0
    too_wide = ParameterError(
        "emax",
        f"|E| (with the thermal padding of {PAD_KT:g} k_B T) "
        f"must stay below E_F/2 = {e_limit:g} Δ0",
    )
    if max(abs(emin - pad), abs(emax + pad)) >= e_limit:
        raise too_wide
    n_grid, option = conductance_grid_size(
        emin, emax, n, temperature_delta0, step_kt=STEP_KT, pad_kt=PAD_KT
    )
    if check is not None:
        check(n_grid, option)
    wanted = np.linspace(emin, emax, n)
    if temperature_delta0 > 0:
        step = min(wanted[1] - wanted[0], STEP_KT * temperature_delta0)
        lo = emin - pad
        hi = emax + pad
        grid = lo + step * (np.arange(math.ceil((hi - lo) / step)) + 0.5)
    else:
        grid = wanted
    if np.abs(grid).max() >= e_limit:
        raise too_wide
    return wanted, grid


@dataclass(frozen=True)
class ConductanceMap:
    """dI/dV(V, B) of the NS junction on the requested energies, with its metadata.

    Attributes
    ----------
    energies : ndarray, shape (n_e,)
        Bias energies eV, Δ0.
    fields : ndarray, shape (n_b,)
        Zeeman energies B, Δ0.
    deltas : ndarray, shape (n_b,)
        The gap at each field, Δ0.
    thetas : ndarray, shape (n_curves,) or None
        Polar angles of the exchange field, radians, one per curve (an angle sweep), or
        None when the lead's axis was not given by angles.
    columns : dict of str to ndarray, each shape (n_curves * n_e,)
        The result table, curve-major: ``field``, ``energy``, ``delta`` (and
        ``exchange_theta``, ``exchange_phi`` with angles), `COLUMNS` and the
        spin-resolved Andreev parts ``andreev_{equal,opposite}_spin_{plus,minus}``.
    curves : list of dict of str to ndarray, each shape (n_e,)
        Per curve (per field, or per angle), `COLUMNS` on *energies* (for plotting).
    metadata : dict
        Lattice parameters, the gap's source, the measured normal transmission per
        mode, the computed grid, solver, units and conventions (JSON-serializable
        after NumPy conversion, `mirage_common.io.jsonable`).
    """

    energies: np.ndarray
    fields: np.ndarray
    deltas: np.ndarray
    thetas: np.ndarray | None
    columns: dict
    curves: list
    metadata: dict

    def __post_init__(self):
        rows = len(self.curves) * len(self.energies)
        lengths = {name: len(values) for name, values in self.columns.items()}
        if any(n != rows for n in lengths.values()):
            raise ValueError(
                f"columns must hold {len(self.curves)} curve(s) x "
                f"{len(self.energies)} energies = {rows} rows, got {lengths}"
            )
        if len(self.deltas) != len(self.fields):
            raise ValueError("one gap per field")

    @property
    def curve_fields(self):
        """ndarray, shape (n_curves,): the field of each curve, Δ0."""
        return self.columns["field"][:: len(self.energies)]

    @property
    def mean_transmission(self):
        """Mean normal-state transmission per mode of the first curve's junction."""
        transmission = self.metadata["normal_transmission"]
        return (transmission[0] if isinstance(transmission, list) else transmission)["mean"]


def _spin_axes(phi, spin_axis, directions, n_fields):
    """The lead's spin axes (unit 3-vectors), one per curve of an angle sweep, else one."""
    from latticemirage import transport

    if directions is None:
        return [transport.spin_axis_vector(spin_axis or "z", phi)]
    if spin_axis is not None:
        raise ParameterError(
            "directions",
            "set the spin axis of the lead: give either directions or spin_axis, not both",
        )
    if len(directions) == 0:
        raise ParameterError("directions", "need at least one (theta, phi)")
    if len(directions) > 1 and n_fields > 1:
        raise ParameterError("directions", "an angle sweep needs a single field")
    return [transport.exchange_axis(t, p) for t, p in directions]


def _gaps(mapping, fields, temperature, gap_mesh):
    """The gap per field (Δ0) and its metadata: the mapping's, or self-consistent if None."""
    if mapping.physical.delta is not None:
        return np.full(len(fields), mapping.physical.delta), {"delta_source": "given"}
    from latticemirage.gap import GapSolver

    solver = GapSolver.build(mapping, mesh=gap_mesh)
    gaps = solver.curve(fields, temperature=temperature)
    if not all(g.converged for g in gaps):
        raise RuntimeError(f"self-consistent gap did not converge: {gaps}")
    meta = {
        "delta_source": "self-consistent (latticemirage.gap) at --temperature",
        "gap_mesh": solver.mesh,
    }
    return np.array([g.delta for g in gaps]), meta


def _transmissions(results, keep):
    """The measured normal-state transmission per mode of each curve's junction."""
    out = []
    for r in results:
        per_mode = [[float(x) for x in row if np.isfinite(x)] for row in r.transmission_modes]
        flat = np.array([x for row in per_mode for x in row])
        out.append(
            {
                "field_delta0": r.field,
                "reference_energy_delta0": r.reference_energy,
                "mean": float(flat.mean()) if flat.size else 0.0,
                "per_mode": per_mode,
                "mean_vs_energy_range": [
                    float(keep(r.normal_transmission).min()),
                    float(keep(r.normal_transmission).max()),
                ],
            }
        )
    return out


def _columns(results, wanted, directions, keep):
    """The table, curve-major: one block of ``len(wanted)`` rows per result."""
    n_e = len(wanted)
    cols = {
        "field": np.repeat([r.field for r in results], n_e),
        "energy": np.tile(wanted, len(results)),
        "delta": np.repeat([r.delta for r in results], n_e),
    }
    if directions is not None:
        cols["exchange_theta"] = np.repeat([d[0] for d in directions], n_e)
        cols["exchange_phi"] = np.repeat([d[1] for d in directions], n_e)
    for name in COLUMNS:
        cols[name] = np.concatenate([keep(getattr(r, name)) for r in results])
    for name in ("andreev_equal_spin", "andreev_opposite_spin"):
        for j, sign in enumerate(("plus", "minus")):
            cols[f"{name}_{sign}"] = np.concatenate(
                [keep(getattr(r, f"{name}_by_spin")[:, j]) for r in results]
            )
    return cols


def conductance_map(
    phys,
    fields,
    *,
    emin=-10.0,
    emax=10.0,
    points=401,
    gap_mesh=1000,
    barrier=3.0,
    barrier_rows=1,
    spin_axis=None,
    directions=None,
    exchange=0.0,
    n_k=48,
    solver="batched",
    executor=None,
    workers=1,
    check=None,
):
    """The NS-junction conductance G_NS/G_N(V, B) with its parts, ready to write.

    Every parameter is checked before the real computation (`ParameterError` naming
    it): the energy window, the size estimate (*check*), the barrier rows, a barrier
    that transmits nothing (a cheap 4-momentum solve).

    Parameters
    ----------
    phys : latticemirage.mapping.PhysicalParameters
        The point at the first field (Δ0 units). Its ``temperature`` (T_c0) is that of
        the thermal smearing (0: none) and of the self-consistent gap; its ``delta`` is
        the gap at every field, or ``None``: Δ(B, T) solved per field
        (`latticemirage.gap.GapSolver` on a *gap_mesh* k mesh).
    fields : array_like, shape (n_b,)
        Zeeman energies B >= 0, Δ0 (each within the mapping's limits).
    emin, emax, points : float, float, int
        The requested biases, Δ0 (`energy_grid`).
    gap_mesh : int
        k mesh of the self-consistent gap (used only when ``phys.delta`` is None).
    barrier : float
        Barrier height on the barrier rows, t (>= 0).
    barrier_rows : int
    spin_axis : {"z", "x", "y", "field"}, optional
        Spin axis of the normal lead (default ``"z"``); not with *directions*.
    directions : sequence of (float, float), optional
        Directions ``(theta, phi)`` (radians: polar angle from z, azimuth from x) of the
        lead's exchange field and spin axis (`latticemirage.transport.exchange_axis`),
        one curve each; more than one needs a single field.
    exchange : float
        Exchange field h of the normal lead along its spin axis, t.
    n_k : int
        Transverse momenta.
    solver : str
        As `latticemirage.transport.ns_conductance`.
    executor : concurrent.futures.Executor, optional
        Runs the transverse momenta (results independent of it; not shut down here).
    workers : int
        Processes *executor* runs at once; enters only the estimate given to *check*.
    check : callable, optional
        Called with the `latticemirage.estimates.Estimate` (memory, time) of the run
        before the grid, the junction or any solve is made; it may raise to refuse it.

    Returns
    -------
    ConductanceMap
        One curve per field, or per direction of an angle sweep.
    """
    from kwant.solvers import default as default_solver

    from latticemirage import estimates, transport
    from latticemirage.mapping import map_to_lattice, tc0_over_delta0
    from mirage_common.formulas import mirage_formula

    fields = np.atleast_1d(np.asarray(fields, dtype=float))
    if directions is not None:
        directions = [(float(t), float(p)) for t, p in directions]
    axes = _spin_axes(phys.phi, spin_axis, directions, len(fields))
    temperature = phys.temperature
    t_delta0 = temperature * tc0_over_delta0()

    def check_size(n_grid, option):  # before the grid, the junction or any solve is made
        if check is not None:
            check(
                estimates.conductance(
                    n_grid,
                    n_k,
                    len(fields) * len(axes),
                    barrier_rows,
                    workers=workers,
                    smeared=t_delta0 > 0,
                    energy_option=option,
                    gap_mesh=gap_mesh if phys.delta is None else None,
                )
            )

    wanted, grid = energy_grid(emin, emax, points, t_delta0, 0.5 * phys.e_fermi, check_size)
    transport.ns_junction(barrier_rows, axes[0])  # validates barrier_rows
    mapping = map_to_lattice(phys)
    # Refuse a barrier that transmits nothing (before the real computation).
    transport.check_transmission(
        mapping,
        barrier=barrier,
        barrier_rows=barrier_rows,
        spin_axis=axes[0],
        exchange=exchange,
        solver=solver,
    )
    deltas, gap_meta = _gaps(mapping, fields, temperature, gap_mesh)
    # One run per lead axis (one unless the directions sweep θ; then one field).
    results = [
        r
        for axis in axes
        for r in transport.ns_conductance(
            mapping,
            grid,
            delta=deltas,
            fields=fields,
            barrier=barrier,
            barrier_rows=barrier_rows,
            spin_axis=axis,
            exchange=exchange,
            n_k=n_k,
            solver=solver,
            executor=executor,
        )
    ]
    if t_delta0 > 0:
        results = [transport.thermally_smeared(r, t_delta0) for r in results]

    def keep(values):  # the computed grid -> the requested energies
        return values if grid is wanted else np.interp(wanted, grid, values)

    transmissions = _transmissions(results, keep)
    formula = mirage_formula(phys.beta, fields, deltas)
    meta = {
        **mapping.report(),
        **gap_meta,
        "delta_delta0": deltas,
        "fields_delta0": fields,
        "temperature_tc0": temperature,
        "temperature_delta0": t_delta0,
        "barrier_t": barrier,
        "barrier_rows": barrier_rows,
        "spin_axis": [list(a) for a in axes] if len(axes) > 1 else list(axes[0]),
        "exchange_t": exchange,
        "exchange_angle_rad": None
        if directions is None
        else {
            "theta": [d[0] for d in directions],
            "phi": directions[0][1],
            "convention": "theta: polar angle from z (out of plane); phi: azimuth from x "
            "(along the interface); transport along (1/2, sqrt(3)/2)",
        },
        "n_k": n_k,
        "computed_energies": {
            "points": len(grid),
            "step_delta0": float(grid[1] - grid[0]),
            "range_delta0": [float(grid[0]), float(grid[-1])],
            "note": "T > 0: computed on this grid, smeared, interpolated",
        },
        "k_points": results[0].k_points,
        "period_a": transport.PERIOD,
        "solver": solver if solver != "default" else f"default ({default_solver.smodule.__name__})",
        "kwant_default_solver": default_solver.smodule.__name__,
        "normal_transmission": transmissions if len(results) > 1 else transmissions[0],
        "mirage_eps0_delta0": formula.eps0,
        "mirage_width_delta0": formula.width,
        "units": "energy, field in Delta0; conductance G_NS/G_N; reflections per incident "
        "electron mode; exchange in t; exchange_theta, exchange_phi in rad",
        "conventions": (
            "G_NS = sum_k (N - R_ee + R_he), normalized by the same junction at Delta = 0; "
            "spin resolved along spin_axis of the normal lead: plus/minus = incident spin "
            "+n/-n; equal spin = hole of the same spin as the incident electron (pair "
            "+n+n), opposite = pair +n-n; finite temperature: each current contribution "
            "convolved with -df/dE"
        ),
    }
    return ConductanceMap(
        energies=wanted,
        fields=fields,
        deltas=deltas,
        thetas=None if directions is None else np.array([d[0] for d in directions]),
        columns=_columns(results, wanted, directions, keep),
        curves=[{name: keep(getattr(r, name)) for name in COLUMNS} for r in results],
        metadata=meta,
    )
