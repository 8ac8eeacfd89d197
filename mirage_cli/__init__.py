"""The ``mirage`` command line: every parser and command of the project, in one package.

- `main` — the entry point (``mirage``, ``python -m mirage_cli``): the dispatcher, exit
  codes, one-line errors;
- `options`, `unit_options`, `junction_options` — option types, value lists, ranges,
  units and output checks shared by the commands;
- `lattice` — ``mirage lattice ...`` (Kwant lattice side);
- `qc` — ``mirage qc ...`` (quasiclassical side; never imports Kwant);
- `fit` — ``mirage fit``; `validate` — ``mirage validate``;
- `figures` — the shared command line of the paper-figure scripts.

Each command parses its options, calls the library (`latticemirage`, `quasiclassical`,
`comparisons`) and writes the result. No library module imports this package (an
import-linter contract, ``lint-imports``). The subcommand modules are imported lazily by
`main.build_parser`, so that ``mirage qc`` does not pay for importing Kwant.
"""

from mirage_cli.main import build_parser, main

__all__ = ["build_parser", "main"]
