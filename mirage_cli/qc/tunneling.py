r"""``mirage qc tunneling``: thermally smeared tunneling conductance dI/dV (reduced/physical units).

Reduced units (default; energies and biases in Delta0, temperature in T_c0, fields as
the Zeeman energy in Delta0)::

    mirage qc tunneling --beta 7 --field 0:4:9 --temperature 0.1 --eta 0.01 \
        --emin -9 --emax 9 --points 801 --output g.csv [--plot g.png]

Physical units (``--units physical``): ``--beta``, ``--gamma``, ``--eta``, ``--delta``
in meV, biases ``--emin/--emax`` in mV, ``--field`` in tesla, ``--temperature`` in kelvin,
with the scale from ``--tc-K`` or ``--delta0-meV`` (one of them), ``--g-factor``
(default 2), or a ``--material`` preset (`mirage_common.materials`) that supplies T_c,
beta_so and g unless given::

    mirage qc tunneling --units physical --material MoS2 --field 0:30:7 \
        --temperature 1.5 --eta 0.015 --emin -5 --emax 5 --points 801 --output g.csv

The output is in long format, one row per (field, bias): columns ``field``, ``bias``,
``conductance`` (G/G_N), ``conductance_K``, ``conductance_Kp`` (per valley), and in
physical units also ``field_T`` and ``bias_mV``; the metadata carry the units, the
parameters, the self-consistent gap per field, the scale and the preset. A field sweep
with ``--plot`` draws the dI/dV(V, B) colour map.
"""

import sys

import numpy as np

from mirage_cli.options import (
    check_memory,
    check_output_file,
    integer,
    note_time,
    parse_values,
    real,
)
from mirage_cli.unit_options import (
    add_unit_options,
    note_material,
    physical_metadata,
    refuse_physical_options,
    scale_from_args,
)
from mirage_common.errors import ParameterError, check_finite, check_nonnegative, check_positive
from mirage_common.io import SUPPORTED_FORMATS, save_figure, write_table
from quasiclassical.params import QCParams, temperature_in_delta0
from quasiclassical.tunneling import (
    MAX_BAND_ORDER,
    dos_grid,
    run_estimate,
    tunneling_conductance_params,
)

__all__ = ["PLOT_FORMATS", "add_subcommands", "scale_from_args"]

PLOT_FORMATS = (".png", ".pdf", ".svg")


def add_subcommands(sub):
    """Register ``tunneling`` on the ``mirage qc`` subparsers *sub*."""
    p = sub.add_parser("tunneling", help="thermally smeared tunneling conductance dI/dV (G/G_N)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--beta", type=real(), default=None,
                   help="Ising SOC beta_so >= 0 (Delta0, or meV; default from --material)")
    p.add_argument("--field", required=True,
                   help="in-plane field >= 0: Zeeman energy (Delta0) or tesla; START:STOP:NUM "
                        "or a comma list sweeps")
    p.add_argument("--phi", type=real(), default=0.0, help="field angle from x (rad)")
    p.add_argument("--temperature", type=real(), required=True,
                   help="temperature > 0 of gap and smearing (T_c0, or kelvin)")
    p.add_argument("--gamma", type=real(), default=0.0,
                   help="intervalley rate Gamma >= 0 (Delta0, or meV)")
    p.add_argument("--eta", type=real(), default=None,
                   help="Dynes broadening eta > 0 (Delta0, or meV; default 0.01 Delta0)")
    p.add_argument("--delta", type=real(), default=None,
                   help="fix the gap (Delta0, or meV) instead of solving the gap equation")
    p.add_argument("--band-slope", type=real(), default=0.0, metavar="KAPPA",
                   help="d ln(tunnel weight)/d xi of the superconductor's bands (1/Delta0, or "
                        "1/meV): the leading 1/E_F band-resolved correction, bias-odd; 0 (off) "
                        "is momentum-nonconserving tunneling (G/G_N -> N_e)")
    p.add_argument("--emin", type=real(), default=-12.0, help="lowest bias eV (Delta0, or mV)")
    p.add_argument("--emax", type=real(), default=12.0, help="highest bias eV (Delta0, or mV)")
    p.add_argument("--points", type=integer(1), default=1201, help="number of biases")
    add_unit_options(p)
    p.add_argument("--output", required=True, help="result file (.csv, .json or .npz)")
    p.add_argument("--plot", default=None, help="figure (.png, .pdf, .svg)")
    p.set_defaults(func=run_tunneling)
    return p


def _inputs(args):
    """Validate every option and convert to reduced units; nothing is computed here."""
    # Extension, folder, parent and permission, before anything is computed.
    check_output_file("output", args.output, SUPPORTED_FORMATS)
    if args.plot is not None:
        check_output_file("plot", args.plot, PLOT_FORMATS)
    for name in ("emin", "emax", "phi"):
        check_finite(name, getattr(args, name))
    if not args.emin < args.emax:
        raise ParameterError("emax", f"must be > emin={args.emin}, got {args.emax}")
    if args.points < 2:
        raise ParameterError("points", f"must be >= 2, got {args.points}")
    # Before any bias array is made: 16 kB per energy is what `qc dos` measured with the
    # SCBA (an upper bound for the bias row and its share of the DOS grid).
    check_memory("points", args.points * 16e3, f"{args.points} biases x 16 kB")
    check_positive("temperature", args.temperature)
    check_nonnegative("gamma", args.gamma)
    if args.eta is not None:
        check_positive("eta", args.eta)
    if args.delta is not None:
        check_nonnegative("delta", args.delta)
    fields = parse_values("field", args.field)
    # The sweep's size, from measured figures, before any field is solved.
    nbytes, seconds = run_estimate(fields.size, args.points)
    check_memory("field" if fields.size > 1 else "points", nbytes,
                 f"{fields.size} field(s) x {args.points} biases x 5.7 kB of results")
    note_time(seconds, "measured 0.67 s per field of 1201 biases")
    check_nonnegative("field", fields)
    check_finite("band-slope", args.band_slope)
    physical = args.units == "physical"
    if not physical:
        refuse_physical_options(args)
        if args.beta is None:
            raise ParameterError("beta", "required (Delta0) unless --units physical --material")
        check_nonnegative("beta", args.beta)
        return {
            "scale": None, "material": None, "fields": fields, "beta": args.beta,
            "temperature": args.temperature, "gamma": args.gamma,
            "eta": 0.01 if args.eta is None else args.eta, "delta": args.delta,
            "biases": np.linspace(args.emin, args.emax, args.points),
            "band_slope": args.band_slope,
        }
    scale, material = scale_from_args(args)
    beta_meV = args.beta if args.beta is not None else (
        material.beta_so_meV if material is not None else None)
    if beta_meV is None:
        raise ParameterError("beta", "required (meV) unless --material gives it")
    check_nonnegative("beta", beta_meV)
    return {
        "scale": scale, "material": material,
        "fields": scale.field_to_reduced(fields, name="field"),
        "beta": float(scale.energy_to_reduced(beta_meV, name="beta")),
        "temperature": float(scale.temperature_to_reduced(args.temperature, name="temperature")),
        "gamma": float(scale.energy_to_reduced(args.gamma, name="gamma")),
        "eta": 0.01 if args.eta is None else float(scale.energy_to_reduced(args.eta, "eta")),
        "delta": None if args.delta is None else float(scale.energy_to_reduced(args.delta,
                                                                               "delta")),
        "biases": scale.energy_to_reduced(np.linspace(args.emin, args.emax, args.points)),
        "fields_T": fields, "beta_meV": beta_meV,
        "band_slope": args.band_slope * scale.delta0_meV,  # 1/meV -> 1/Delta0
    }


def run_tunneling(args):
    """``mirage qc tunneling``: validate, compute per field, write one long table."""
    inp = _inputs(args)
    eps0 = float(np.hypot(inp["beta"], inp["fields"].max()))
    if abs(inp["band_slope"]) * eps0 > MAX_BAND_ORDER:
        order = abs(inp["band_slope"]) * eps0
        raise ParameterError("band-slope", f"|band-slope| * eps0 = {order:.3g}"
                             f" exceeds {MAX_BAND_ORDER:g} (first order only): allowed |kappa| <= "
                             f"{MAX_BAND_ORDER / eps0:.4g} per Delta0, got {args.band_slope!r}")
    params = QCParams(beta=inp["beta"], field=float(inp["fields"].max()), phi=args.phi,
                      temperature=inp["temperature"], gamma=inp["gamma"], eta=inp["eta"])
    kt = float(temperature_in_delta0(params.temperature))
    dos_grid(inp["biases"], kt, params.eta)  # refuses an oversized grid before any work
    scale, material = inp["scale"], inp["material"]
    note_material("mirage qc tunneling", material)
    results = [tunneling_conductance_params(inp["biases"], params.replace(field=float(b)),
                                            delta=inp["delta"], band_slope=inp["band_slope"])
               for b in inp["fields"]]
    nb = inp["biases"].size
    columns = {
        "field": np.repeat(inp["fields"], nb),
        "bias": np.tile(inp["biases"], len(results)),
        "conductance": np.concatenate([r.conductance for r in results]),
        "conductance_K": np.concatenate([r.valley_conductance[0] for r in results]),
        "conductance_Kp": np.concatenate([r.valley_conductance[1] for r in results]),
    }
    unconverged = int(sum(np.count_nonzero(~r.scba.converged) for r in results))
    metadata = {
        "command": "mirage qc tunneling",
        "units": "field: Zeeman energy in Delta0, bias: eV in Delta0, temperature in T_c0, "
                 "conductance: G/G_N (normal-state tunnel conductance)",
        "parameters": {k: v for k, v in params.as_dict().items() if k != "field"},
        "delta": [r.delta for r in results],
        "delta_source": "self-consistent" if inp["delta"] is None else "fixed (--delta)",
        "k_B_T": kt,
        "valleys": "conductance_K: +beta (s = +1), conductance_Kp: -beta (s = -1); "
                   "conductance is their mean",
        "model": "G/G_N = int N_e(E) [-df/dE](E - eV) dE, N_e = Re g0(E + i eta) "
                 "(quasiclassical.tunneling)",
        "band_slope": inp["band_slope"],
        "band_slope_note": "kappa (1/Delta0) of the band-resolved tunnel weight w(xi) = w0 (1 + "
                           "kappa xi); conductance includes -kappa <eps0 Re(h.g)>, bias-odd "
                           "(quasiclassical.tunneling); 0: G/G_N -> N_e",
        "dos_grid_points": [int(r.dos_energies.size) for r in results],
        "scba_unconverged": unconverged,
    }
    if scale is not None:
        columns = {"field_T": np.repeat(inp["fields_T"], nb),
                   "bias_mV": scale.energy_to_meV(columns["bias"]), **columns}
        metadata.update(physical_metadata(
            scale, material,
            "field_T: tesla, bias_mV: mV; field and bias also in reduced units (Delta0)"))
        metadata["parameters_physical"] = {
            "beta_so_meV": float(scale.energy_to_meV(params.beta)),
            "temperature_K": float(scale.temperature_to_K(params.temperature)),
            "gamma_meV": float(scale.energy_to_meV(params.gamma)),
            "eta_meV": float(scale.energy_to_meV(params.eta)),
            "delta_meV": [float(scale.energy_to_meV(r.delta)) for r in results],
        }
    write_table(args.output, columns, metadata)
    if unconverged:
        print(f"mirage qc tunneling: warning: SCBA unconverged at {unconverged} DOS energies",
              file=sys.stderr)
    if args.plot is not None:
        _plot(args.plot, inp, results, scale)
    return 0


def _plot(path, inp, results, scale):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    physical = scale is not None
    bias = scale.energy_to_meV(inp["biases"]) if physical else inp["biases"]
    fields = inp["fields_T"] if physical else inp["fields"]
    xlabel = "bias V (mV)" if physical else r"bias $eV$ ($\Delta_0$)"
    ylabel = "in-plane field B (T)" if physical else r"Zeeman energy $B$ ($\Delta_0$)"
    g = np.array([r.conductance for r in results])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if len(results) > 1:
        mesh = ax.pcolormesh(bias, fields, g, shading="nearest", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=r"$dI/dV$ ($G/G_N$)")
        ax.set_ylabel(ylabel)
    else:
        ax.plot(bias, g[0])
        ax.set_ylabel(r"$dI/dV$ ($G/G_N$)")
        ax.set_title(f"{ylabel.split(' (')[0]} = {fields[0]:.4g}")
    ax.set_xlabel(xlabel)
    save_figure(fig, path, 150)
    plt.close(fig)
