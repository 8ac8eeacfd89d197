r"""Lattice tunnel-limit dI/dV as input of ``mirage fit``: does the fit return the lattice's β?

The lattice side is the one of the validate tunneling stage
(`comparisons.suite_tunneling`): the NS junction of `latticemirage.transport` with
one barrier row of ``BARRIER`` = 3 t (normal transmission ≈ 0.04 per mode), the
zero-temperature G_NS/G_N on a uniform grid of step ``step_kt`` k_B T padded by
10 k_B T, every current contribution convolved with ``-df/dE``
(`transport.thermally_smeared`), then sampled on the data bias grid.

The gap at each field is the lattice's own self-consistent Δ(B, T)
(`latticemirage.gap.GapSolver`, coupling fixed by T_c = T_c0, so Δ(0, 0) ≈ Δ0):
the fit model solves Δ(B) self-consistently on the quasiclassical side at the
same T, so both sides carry a self-consistent gap and the fitted Δ0 can be
compared with the lattice's (≈ 1). Nothing quasiclassical enters the spectra.

Units: energies, fields (Zeeman energies) and biases in Δ0, temperature in T_c0,
i.e. the ``--units reduced`` input of ``mirage fit`` with the nominal Δ0 = the
lattice's Δ0.
"""

from dataclasses import replace

import numpy as np

from latticemirage import transport
from latticemirage.gap import GapSolver
from latticemirage.mapping import PhysicalParameters, map_to_lattice, tc0_over_delta0
from mirage_common.io import write_table

__all__ = ["BARRIER", "lattice_spectra", "write_spectra"]

BARRIER = 3.0  # t; as comparisons.suite_tunneling (tunnel limit)
_PAD_KT = 10.0  # thermal padding of the computed grid, k_B T


def lattice_spectra(fields, biases, *, beta=7.0, temperature=0.1, n_k=8, step_kt=0.25,
                    gap_mesh=600, physical=None, executor=None):
    """Thermally smeared tunnel-limit lattice dI/dV at several fields.

    Parameters
    ----------
    fields : array_like, shape (f,)
        In-plane Zeeman energies B, Δ0.
    biases : array_like, shape (m,)
        Data bias grid eV, Δ0 (the same for every field).
    beta : float
        Fermi-surface mean Ising field of the mapping, Δ0.
    temperature : float
        T / T_c0 of the lattice gap and of the thermal smearing.
    n_k : int
        Transverse momenta of the junction.
    step_kt : float
        Step of the zero-temperature grid, in k_B T.
    gap_mesh : int
        k mesh of the lattice gap solver.
    physical : PhysicalParameters, optional
        Base parameters (E_F, Δ0 in t, φ); default the validate setup's.
    executor : concurrent.futures.Executor, optional
        Runs the transverse momenta of the junction.

    Returns
    -------
    didv : ndarray, shape (f, m)
        G_NS/G_N on *biases*.
    info : dict
        ``mapping`` (LatticeMapping), ``deltas`` (shape (f,), Δ0), ``beta_fs_mean``,
        ``beta_fs_std``, ``beta_fs_min``, ``beta_fs_max`` (Δ0), ``transmission`` (mean
        normal transmission per mode), ``grid_points``, ``delta_b0`` (lattice Δ at B = 0).
    """
    fields = np.asarray(fields, float)
    biases = np.asarray(biases, float)
    base = physical if physical is not None else PhysicalParameters()
    phys = replace(base, beta=float(beta), field=float(fields[0]), delta=1.0,
                   temperature=float(temperature))
    mapping = map_to_lattice(phys)
    solver = GapSolver.build(mapping, mesh=gap_mesh)
    gaps = solver.curve(np.concatenate([[0.0], fields]), temperature=temperature)
    if not all(g.converged for g in gaps):
        raise RuntimeError(f"lattice gap did not converge: {gaps}")
    deltas = np.array([g.delta for g in gaps[1:]])
    kt = temperature * tc0_over_delta0()
    step = step_kt * kt
    lo, hi = biases.min() - _PAD_KT * kt, biases.max() + _PAD_KT * kt
    # offset by half a step: no grid point exactly on a zero-temperature gap edge
    grid = lo + step * (np.arange(int(np.ceil((hi - lo) / step))) + 0.5)
    raw = transport.ns_conductance(mapping, grid, delta=deltas, fields=fields, barrier=BARRIER,
                                   n_k=n_k, executor=executor)
    didv = np.array([np.interp(biases, grid, transport.thermally_smeared(r, kt).conductance)
                     for r in raw])
    info = {"mapping": mapping, "deltas": deltas, "delta_b0": gaps[0].delta,
            "beta_fs_mean": mapping.beta_fs_mean, "beta_fs_std": mapping.beta_fs_std,
            "beta_fs_min": mapping.beta_fs_min, "beta_fs_max": mapping.beta_fs_max,
            "transmission": float(np.nanmean(raw[0].transmission_modes)),
            "grid_points": int(grid.size)}
    return didv, info


def write_spectra(path, fields, biases, didv, info, *, temperature):
    """Write the spectra as the long-format ``--units reduced`` input of ``mirage fit``."""
    fields = np.asarray(fields, float)
    biases = np.asarray(biases, float)
    cols = {"field": np.repeat(fields, biases.size), "bias": np.tile(biases, fields.size),
            "didv": np.asarray(didv, float).reshape(-1)}
    meta = {"source": "latticemirage.transport NS junction, tunnel limit (comparisons.fit_lattice)",
            "barrier_t": BARRIER, "temperature_tc0": temperature,
            "delta_delta0": info["deltas"], "delta_b0_delta0": info["delta_b0"],
            "beta_fs_mean_delta0": info["beta_fs_mean"], "beta_fs_std_delta0": info["beta_fs_std"],
            "normal_transmission": info["transmission"],
            "units": "field = Zeeman energy and bias in Delta0; didv = G_NS/G_N"}
    write_table(path, cols, meta)
