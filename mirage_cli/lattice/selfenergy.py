"""``mirage lattice selfenergy ...``: the measured superconducting self-energy beside the SCBA.

Measures, on disordered L × L supercells (the disorder options of ``rates``), the
disorder-averaged 4 × 4 Green's function at the Fermi surface of valley K and its
self-energy ``Σ̂ = τ3 (G0⁻¹ − ⟨G⟩⁻¹)`` (`latticemirage.disorder.selfenergy`),
decomposed like ĝ, with jackknife errors; the disorder-averaged valley components
ĝ_K, ĝ_K' (columns named as in ``mirage qc dos``); and, beside Σ̂, the SCBA form
``−i(Γ_a ĝ_K + Γ_e ĝ_K')`` with the measured ĝ and the rates Γ_tot, Γ_inter of
``mirage lattice rates`` on the same realizations (``Γ_a = Γ_tot − Γ_inter``,
``Γ_e = Γ_inter``; ``−iΓ⟨ĝ⟩`` for short-range disorder). Example::

    mirage lattice selfenergy --kind anderson --width 0.3 --size 40 --realizations 8 \\
        --eta 1.5 --emin 0 --emax 9 --n-energies 10 --output sigma.csv

Energies and rates in Δ0, disorder strengths in t. Bad input exits with code 2 before
anything is computed or written.
"""

import sys

import numpy as np

from mirage_cli.lattice.options import (
    add_disorder_arguments,
    add_mapping_scales,
    check_green_window,
    check_memory,
    check_output,
    check_smooth_size,
    disorder_from_args,
    integer,
    positive_int,
    real,
)
from mirage_common.errors import ParameterError

__all__ = ["add_subcommands"]


def add_subcommands(sub):
    """Register ``selfenergy`` on the ``mirage lattice`` subparsers *sub*."""
    p = sub.add_parser(
        "selfenergy",
        help="measured superconducting self-energy Σ̂(ε) at k_F of valley K beside the SCBA",
        description=__doc__.split("\n\n")[1],
    )
    add_disorder_arguments(p)
    g = p.add_argument_group("physics (Δ0 units)")
    g.add_argument("--beta", type=real(0), default=7.0,
                   help="Ising SOC, Fermi-surface mean (Δ0)")
    g.add_argument("--field", type=real(0), default=2.0, help="in-plane Zeeman energy B (Δ0)")
    g.add_argument("--delta", type=real(0), default=1.0, help="gap Δ (Δ0; default 1)")
    g.add_argument("--phi", type=real(), default=0.0, help="field angle from x (radians)")
    add_mapping_scales(g)
    g = p.add_argument_group("numerics")
    g.add_argument("--size", type=integer(4), default=40,
                   help="supercell L (default 40; one sparse LU of 4 L^2 per energy and "
                        "realization)")
    g.add_argument("--realizations", type=integer(2), default=8,
                   help="at least 2 (jackknife; default 8)")
    g.add_argument("--seed", type=integer(0, None), default=0,
                   help="SeedSequence([seed, i]) per realization (default 0)")
    g.add_argument("--eta", type=real(0, low_open=True), default=1.5,
                   help="imaginary energy (Δ0, default 1.5): above the spacing 1/(ν_v L^2) "
                        "of the supercell's ξ values")
    g.add_argument("--emin", type=real(), default=0.0, help="lowest energy (Δ0)")
    g.add_argument("--emax", type=real(), default=9.0, help="highest energy (Δ0)")
    g.add_argument("--n-energies", type=integer(1), default=10,
                   help="number of energies (default 10)")
    g.add_argument("--window", type=real(0, low_open=True), default=None,
                   help="Fermi-surface shell |ξ| < window for Σ̂ (Δ0; default 2 eta)")
    g.add_argument("--no-components", action="store_true",
                   help="only Σ̂ (solves at the Fermi-surface k only; no ĝ, no SCBA columns)")
    p.add_argument("--output", "-o", required=True, help="result file (.csv, .json or .npz)")
    p.set_defaults(func=_main)


def _main(args):
    from latticemirage import green
    from latticemirage.disorder import rates, selfenergy
    from latticemirage.mapping import map_to_lattice
    from mirage_cli.lattice.options import physical_from_args
    from mirage_common.io import write_table

    check_output(args.output)
    disorder = disorder_from_args(args)
    size = positive_int("size", args.size)
    if size < 4:
        raise ParameterError("size", f"must be >= 4, got {size}")
    if positive_int("realizations", args.realizations) < 2:
        raise ParameterError("realizations", f"must be >= 2, got {args.realizations}")
    if args.seed < 0:
        raise ParameterError("seed", f"must be >= 0, got {args.seed!r}")
    n_e = positive_int("n-energies", args.n_energies)
    if not args.emax >= args.emin:
        raise ParameterError("emax", f"must be >= emin = {args.emin!r}, got {args.emax!r}")
    if args.window is not None and not args.window > 0:
        raise ParameterError("window", f"must be > 0, got {args.window!r}")
    # One sparse LU of the 4 L^2 BdG matrix at a time: the rates CLI's measured fill-in
    # (about 10 kB x log2(L)/7.6 per site for the L^2 normal matrix), times 4 for Nambu-spin.
    sites = size**2
    check_memory("size", 4e4 * sites * max(1.0, np.log2(size) / 7.6),
                 f"sparse LU of 4 L^2 = {4 * sites:.3g} orbitals, about 40 kB x log2(L)/7.6 "
                 "per site")
    phys = physical_from_args(args)
    energies = np.linspace(args.emin, args.emax, n_e)
    check_green_window(phys, energies, eta=args.eta, delta=phys.delta,
                       hint="lower |E| or raise --e-fermi")
    if args.kind == "smooth":  # validates xi against the supercell before anything runs
        check_smooth_size(disorder, size)
    mapping = map_to_lattice(phys)
    unit = mapping.delta0
    print(f"mirage: measuring Σ̂ on {args.realizations} realizations of a {size} x {size} "
          f"supercell at {n_e} energies ...", file=sys.stderr)
    res = selfenergy.measure_selfenergy(
        mapping, disorder, size, args.realizations, args.seed, energies, eta=args.eta,
        window=args.window, components=not args.no_components)
    rate = rates.measure_rates(mapping.lattice_params(0.0), disorder, size, args.realizations,
                               args.seed, eta=args.eta * unit).in_units(unit)
    cols = {"energy": energies}
    for name, (value, err) in res.sigma_components().items():
        cols[f"sigma_{name}"] = value
        cols[f"sigma_{name}_err"] = err
    cols["shift"] = res.shift.real
    cols["shift_err"] = res.shift_err
    meta = {**res.metadata, "command": "mirage lattice selfenergy",
            "units": "energies, self-energies and rates in Delta0",
            "rates_delta0": rate,
            "gauge": "eq1: real Delta in the paper's Eq. (1) (as mirage qc dos)"}
    if res.g is not None:
        comps = green.components(res.g)
        err = {name: np.abs(a) + np.abs(b) for (name, a), b in zip(
            green.components(res.g_err_re).items(), green.components(res.g_err_im).values(),
            strict=True)}
        for v, valley in enumerate(green.VALLEYS):
            for name in green.COMPONENT_NAMES:
                cols[f"{name}_{valley}"] = comps[name][v]
                cols[f"{name}_{valley}_err"] = err[name][v]
        g_a = rate["gamma_total"] - rate["gamma_inter"]
        g_e = rate["gamma_inter"]
        scba = green.components(-1j * (g_a * res.g[0] + g_e * res.g[1]))
        for name in green.COMPONENT_NAMES:
            cols[f"scba_{name}"] = scba[name]
        meta["scba"] = ("-i (Gamma_a g_K + Gamma_e g_Kp) with the measured dirty g and "
                        "Gamma_a = gamma_total - gamma_inter, Gamma_e = gamma_inter (rates)")
    write_table(args.output, cols, meta)
    print(f"wrote {args.output} (Γ_tot = {rate['gamma_total']:.4g} ± "
          f"{rate['gamma_total_err']:.2g} Δ0, Γ_inter = {rate['gamma_inter']:.4g} Δ0; "
          f"{res.kpoints_fermi} Fermi-surface k)", file=sys.stderr)
    return 0
