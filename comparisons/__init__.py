"""Cross-checks of the Kwant lattice model against the quasiclassical solver.

The only package that imports both ``latticemirage`` and ``quasiclassical`` (the
import-linter layers contract, docs/topics/architecture.md). It holds:

- `parameters` — the parameter sets of the cross-checks (`ValidationSetup`, the `QUICK`,
  `FULL` and `FULL_SCALE` resolutions) and the Fermi-surface binning shared by the suites;
- `suite_clean`, `suite_gap`, `suite_disorder`, `suite_components`, `suite_tunneling` —
  the stages of ``mirage validate``, each adding checks and figures to a report;
- `report` — `Report`, `Check`: the validation report (JSON, Markdown, figures);
- `validate` — `run_validation` and ``mirage validate``;
- `fig1b`, `fig1c`, `fig2`, `fig2_lattice`, `fig_gap_map`, `fig_tunneling` —
  the paper's figures from both sides (``mirage figures``);
- `fit_lattice` — the lattice's tunnel-limit dI/dV fed to ``mirage fit`` (does the fit
  return the lattice's β?);
- `kwant_build` — the built Kwant's provenance (``mirage doctor``);

The ``mirage`` command line (its entry point, ``mirage validate``) is `mirage_cli`.

The names below are the public API, imported on first use (module ``__getattr__``,
PEP 562): importing the package loads neither Kwant nor the suites.
"""

# Public name -> the module that defines it (imported on first access).
_API = {
    "FULL": "parameters",
    "FULL_SCALE": "parameters",
    "QUICK": "parameters",
    "Resolution": "parameters",
    "ValidationSetup": "parameters",
    "binned_fermi_surface": "parameters",
    "Check": "report",
    "Report": "report",
    "run_validation": "validate",
}

__all__ = [
    "FULL",
    "FULL_SCALE",
    "QUICK",
    "Check",
    "Report",
    "Resolution",
    "ValidationSetup",
    "binned_fermi_surface",
    "run_validation",
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
