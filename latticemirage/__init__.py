"""Kwant tight-binding Bogoliubov-de Gennes model of an Ising superconductor.

Units: lattice energies in the nearest-neighbour hopping t, lengths in the lattice
constant a = 1. The mapping to the quasiclassical units (Delta0, T_c0) lives in
`latticemirage.mapping`.

Modules, from the model up (each imports only those before it, and `mirage_common`;
none imports `quasiclassical`, an import-linter contract):

- `model` — the Kwant Builder of the triangular-lattice BdG model: the single source of
  truth for the Hamiltonian (value functions named by their parameters);
- `bulk` — the wrapped (k-space) system and its Bloch matrices;
- `mapping` — quasiclassical parameters (Δ0 units) ↔ lattice parameters (t units);
- `spectrum` — BdG bands on high-symmetry paths and near the Fermi surface;
- `dos` — the clean DOS (exact triangle-method integration);
- `gap` — the self-consistent gap Δ(T, B);
- `green` — the valley-resolved quasiclassical Green's function from the lattice;
- `transport` (with its batched solver `_modematch`) — the NS junction conductance;
- `conductance` — the conductance map dI/dV(V, B) with its metadata (``mirage lattice
  conductance``);
- `plots` — Kwant's plotter, with matplotlib checks;
- `disorder` — supercells, potentials, KPM, measured rates and self-energies, the
  self-consistent disordered gap, resumable studies;

The command line ``mirage lattice ...`` is `mirage_cli.lattice` (no module here imports it).

The names below are the public API; ``from latticemirage import GapSolver`` imports
`latticemirage.gap` on first use only (module ``__getattr__``, PEP 562), so importing
the package (e.g. to build the command-line parser) does not load Kwant.
"""

from mirage_common.version import __version__

# Public name -> the module that defines it (imported on first access).
_API = {
    "PhysicalParameters": "mapping",
    "LatticeMapping": "mapping",
    "map_to_lattice": "mapping",
    "bulk_builder": "model",
    "finite_builder": "model",
    "wrapped_system": "bulk",
    "band_path": "spectrum",
    "bdg_bands": "spectrum",
    "fermi_zoom": "spectrum",
    "CleanDOS": "dos",
    "clean_dos": "dos",
    "GapResult": "gap",
    "GapSolver": "gap",
    "ValleyGreen": "green",
    "valley_green": "green",
    "TransportResult": "transport",
    "ns_conductance": "transport",
    "ns_junction": "transport",
    "ConductanceMap": "conductance",
    "conductance_map": "conductance",
}

__all__ = [
    "CleanDOS",
    "ConductanceMap",
    "GapResult",
    "GapSolver",
    "LatticeMapping",
    "PhysicalParameters",
    "TransportResult",
    "ValleyGreen",
    "__version__",
    "band_path",
    "bdg_bands",
    "bulk_builder",
    "clean_dos",
    "conductance_map",
    "fermi_zoom",
    "finite_builder",
    "map_to_lattice",
    "ns_conductance",
    "ns_junction",
    "valley_green",
    "wrapped_system",
]


def __getattr__(name):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
