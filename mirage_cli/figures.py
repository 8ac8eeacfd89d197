"""The shared command line of the one-command quasiclassical figure scripts.

``python -m comparisons.fig1c --output fig1c.png [--points N]`` and the same for
``fig2``: energies on [-12, 12] Δ0, bad input refused with exit code 2 before
anything is computed or written (the PNG itself is written atomically).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from mirage_common.errors import ParameterError

__all__ = ["energy_figure_main"]

MIN_POINTS = 401  # below this the mirage gaps (width ~0.5 Δ0 on a 24 Δ0 window) are lost


def energy_figure_main(name, description, default_output, compute, plot, describe, argv=None,
                       *, add_arguments=None, compute_options=None, energy_range=(-12.0, 12.0),
                       default_points=4001, min_points=MIN_POINTS):
    """Parse ``--output``/``--points`` (and a script's own options), compute, plot, describe.

    Parameters
    ----------
    name : str
        Program name used in error messages (``"fig2"``).
    description : str
        Help text.
    default_output : str
        Default PNG path.
    compute : callable
        ``compute(energies=ndarray) -> results``.
    plot : callable
        ``plot(results, output_path)``.
    describe : callable
        ``describe(results) -> iterable of str``, printed after the figure is written.
    argv : list of str, optional
    add_arguments : callable, optional
        ``add_arguments(parser)`` adds the script's own options.
    compute_options : callable, optional
        ``compute_options(args) -> dict`` of extra keyword arguments for *compute*; it
        validates them (raising `ParameterError`) before anything is computed.
    energy_range : (float, float)
        The energy window in Delta0 (default [-12, 12]).
    default_points, min_points : int
        Default and smallest ``--points`` (a script with a narrower window or coarser
        features may lower the floor; the default floor keeps the mirage gaps resolved).

    Returns
    -------
    int
        0 on success, 2 on bad input.
    """
    parser = argparse.ArgumentParser(prog=name, description=description)
    parser.add_argument("--output", default=default_output, help="PNG file to write")
    lo, hi = energy_range
    parser.add_argument("--points", type=int, default=default_points,
                        help=f"energies on [{lo:g}, {hi:g}] Delta0 (default %(default)s)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        if Path(args.output).suffix.lower() != ".png":
            raise ParameterError("output", f"must end in .png, got {args.output!r}")
        if args.points < min_points:
            raise ParameterError(
                "points", f"must be >= {min_points} (mirage gaps), got {args.points}"
            )
        options = {} if compute_options is None else compute_options(args)
        results = compute(energies=np.linspace(lo, hi, args.points), **options)
    except ValueError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    plot(results, args.output)
    for line in describe(results):
        print(line)
    print(f"wrote {args.output}")
    return 0
