"""``mirage lattice rates ...``: measured elastic scattering rates of a disorder kind.

The number the quasiclassical SCBA needs, measured on the lattice rather than
assumed (`latticemirage.disorder.rates`): the total rate ``Γ_tot = 1/(2τ) = -Im Σ(k_F)`` of
the disorder-averaged normal-state Green's function, its intervalley part
``Γ_inter`` (all orders in V, from the realizations' T-matrices), and
``Γ_qc = 2 Γ_inter``, the Γ of the SCBA ``Σ = -iΓ⟨g⟩``; each with its jackknife
error over realizations, beside the Born estimates on the same grid and, for point
impurities, the dilute-limit single-site T-matrix rate. Beside Γ, the effective Ising field
β_eff on the disorder-renormalized Fermi surface (the measured Re Σ moves the contour,
`latticemirage.disorder.band.renormalized_fermi_beta`), the second number the SCBA needs
from the disordered band; ``--beta-window`` adds the spectral average of |β(k)| over the
Fermi-level eigenstates.

Disorder strengths are in t (lattice units), the physical parameters (β, E_F)
and every printed rate in Δ0; ``--eta`` is in Δ0. Example::

    mirage lattice rates --kind point --concentration 0.01 --strength 1.0 \\
        --size 100 --realizations 8 --output rates.json

``--output`` (``.json``) holds the rates in Δ0 and in t, the mapping and the
package version; it is written atomically.
"""

import json
import math
import sys

from mirage_common.errors import ParameterError

__all__ = ["add_subcommands"]

ROWS = (  # (label, value key, error key)
    ("Γ_tot = 1/(2τ)", "gamma_total", "gamma_total_err"),
    ("Γ_inter", "gamma_inter", "gamma_inter_err"),
    ("Γ_qc = 2 Γ_inter (to the SCBA)", "gamma_qc", "gamma_qc_err"),
    ("Born Γ_tot", "born_total", None),
    ("Born Γ_inter", "born_inter", None),
    ("Born Γ_qc", "born_qc", None),
)  # followed by the intervalley share and, for point impurities, the T-matrix rate


def add_subcommands(sub):
    """Register ``rates`` on the ``mirage lattice`` subparsers *sub*."""
    from mirage_cli.lattice.options import add_disorder_arguments, add_mapping_scales, integer, real

    p = sub.add_parser(
        "rates",
        help="measured scattering rates Γ_tot, Γ_inter, Γ_qc (Δ0) beside Born",
        description=__doc__.split("\n\n")[1],
    )
    add_disorder_arguments(p)
    g = p.add_argument_group("physics (Δ0 units)")
    g.add_argument("--beta", type=real(0), default=7.0,
                   help="Ising SOC, Fermi-surface mean (Δ0)")
    add_mapping_scales(g)
    g = p.add_argument_group("numerics")
    g.add_argument("--size", type=integer(1), default=100,
                   help="supercell L (default 100; one sparse LU of L^2 per realization)")
    g.add_argument("--realizations", type=integer(2), default=8,
                   help="at least 2 (jackknife)")
    g.add_argument("--seed", type=integer(0, None), default=0,
                   help="SeedSequence([seed, i]) per realization")
    g.add_argument("--eta", type=real(0, low_open=True), default=1.0,
                   help="imaginary energy and Fermi-shell half-width (Δ0, default 1): above "
                        "the level spacing 1/(N0 L^2), well below E_F")
    g.add_argument("--beta-window", type=real(0), default=0.0,
                   help="also measure the spectral average of |β(k)| over the Fermi-level "
                        "eigenstates of the same realizations within ±w (Δ0; default 0: not "
                        "measured; one dense or shift-invert solve per realization)")
    p.add_argument("--output", "-o", metavar="FILE.json",
                   help="write the result as JSON (default: print only)")
    p.set_defaults(func=_main)


def _checked_inputs(args):
    """(disorder, `PhysicalParameters`) of the options, every one checked; nothing computed."""
    from mirage_cli.lattice.options import (
        check_memory,
        check_output,
        disorder_from_args,
        physical_from_args,
        refuse_zero_disorder,
    )

    disorder = disorder_from_args(args)
    refuse_zero_disorder(args, "mirage lattice rates")
    if args.output is not None:
        check_output(args.output, (".json",))
    if args.seed < 0:
        raise ParameterError("seed", f"must be >= 0, got {args.seed!r}")
    # Sparse LU of the L^2-site normal-state Hamiltonian, fill-in ~ N log N (measured
    # 62 MB at L = 100, 320 MB at L = 200 above start-up).
    sites = args.size**2
    check_memory("size", 1e4 * sites * max(1.0, math.log2(args.size) / 7.6),
                 f"sparse LU of L^2 = {sites:.3g} sites, about 10 kB x log2(L)/7.6 per site")
    phys = physical_from_args(args)
    if not 0 < args.eta < phys.e_fermi / 2:
        raise ParameterError("eta", f"must lie in (0, E_F/2) = (0, {phys.e_fermi / 2:g}) Δ0, "
                                    f"got {args.eta!r}")
    if not args.beta_window <= phys.e_fermi / 2:  # states within ±w: a fraction of the pocket
        raise ParameterError("beta-window", f"must lie in [0, E_F/2] = [0, {phys.e_fermi / 2:g}] "
                                            f"Δ0, got {args.beta_window!r}")
    return disorder, phys


def _beta_eff(args, normal, disorder, res, unit):
    """The renormalized Ising field (and with ``--beta-window`` the spectral one), printed
    and returned as the ``beta_eff`` entry of the JSON (Δ0)."""
    from latticemirage.disorder import band

    b_fs, b_fs_err = band.renormalized_fermi_beta(normal, res.sigma_real, res.sigma_real_err)
    d = res.in_units(unit)
    print(f"  {'Re Σ (band shift)':32s} {d['sigma_real']:10.4g} ± {d['sigma_real_err']:.3g} Δ0")
    print(f"  {'β_eff (renormalized FS, to SCBA)':32s} {b_fs / unit:10.4g} ± {b_fs_err / unit:.3g}"
          f" Δ0 (clean {args.beta:g})")
    beta = {"renormalized_fermi_surface_delta0": b_fs / unit,
            "renormalized_fermi_surface_err_delta0": b_fs_err / unit}
    if args.beta_window > 0:
        b = band.measure_beta(normal, disorder, args.size, args.realizations, args.seed,
                              window=args.beta_window * unit)
        beta["spectral"] = {"beta_eff_delta0": b["beta_eff_t"] / unit,
                "beta_eff_err_delta0": b["beta_eff_err_t"] / unit,
                "clean_delta0": b["clean_t"] / unit,
                "per_realization_delta0": [x / unit for x in b["per_realization_t"]],
                "window_delta0": args.beta_window, "n0_per_spin_per_site_1_over_t": b["n0"],
                "states_per_realization": b["states"]}
        print(f"  {'<|β|> of Fermi-level states':32s} {b['beta_eff_t'] / unit:10.4g} ± "
              f"{b['beta_eff_err_t'] / unit:.3g} Δ0 (clean supercell "
              f"{b['clean_t'] / unit:.4g}; window ±{args.beta_window:g} Δ0)")
    return beta


def _main(args):
    """Check the options, measure the rates (`latticemirage.disorder.rates`), print, write."""
    from latticemirage.disorder import rates
    from latticemirage.mapping import map_to_lattice
    from mirage_cli.lattice.options import check_smooth_size
    from mirage_common.io import atomic_write_bytes
    from mirage_common.version import __version__

    disorder, phys = _checked_inputs(args)
    mapping = map_to_lattice(phys)
    unit = mapping.delta0
    normal = mapping.lattice_params(0.0)  # rates are measured in the normal state
    if args.kind == "smooth":  # validates xi against the supercell before anything runs
        check_smooth_size(disorder, args.size)
    print(f"mirage: measuring rates on {args.realizations} realizations of a "
          f"{args.size} x {args.size} supercell ...", file=sys.stderr)
    res = rates.measure_rates(normal, disorder, args.size,
                              args.realizations, args.seed, eta=args.eta * unit)
    d = res.in_units(unit)
    print(f"{disorder!r}; β = {args.beta:g} Δ0, E_F = {phys.e_fermi:g} Δ0, Δ0 = {unit:g} t; "
          f"L = {res.size}, {res.realizations} realizations, {res.kpoints} Fermi-surface k, "
          f"η = {args.eta:g} Δ0; N0 = {res.n0:.4g}/t per spin per site")
    for label, key, err in ROWS:
        tail = f" ± {d[err]:.3g}" if err else ""
        print(f"  {label:32s} {d[key]:10.4g}{tail} Δ0")
    print(f"  {'intervalley share f':32s} {res.inter_fraction:10.4g} ± "
          f"{res.inter_fraction_err:.3g}")
    print(f"  {'uniform shift removed (n_i V)':32s} {d['uniform_shift']:10.4g} Δ0 "
          "(site average of V, absorbed into μ as in the DOS studies)")
    tmatrix = None
    if args.kind == "point":
        tmatrix = rates.single_site_tmatrix_rate(
            normal, args.concentration, args.strength, eta=args.eta * unit) / unit
        print(f"  {'single-site T-matrix Γ_tot':32s} {tmatrix:10.4g} Δ0 (dilute limit)")
    beta = _beta_eff(args, normal, disorder, res, unit)
    if args.output:
        payload = {
            "version": __version__,
            "disorder": disorder.to_dict(),
            "numerics": {"size": args.size, "realizations": args.realizations,
                         "seed": args.seed, "eta_delta0": args.eta},
            "mapping": mapping.report(),
            "rates_delta0": d,
            "tmatrix_total_delta0": tmatrix,
            "beta_eff": beta,
            "rates_t": {k: float(v) for k, v in vars(res).items()},
        }
        atomic_write_bytes(args.output, json.dumps(payload, indent=1, default=float).encode())
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
