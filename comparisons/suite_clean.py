r"""Clean-limit field sweep: the mirage gaps of the lattice against quasiclassics and the formula.

For each β of the setup and each field B of its sweep:

* Δ is the quasiclassical self-consistent gap Δ(T, B) (single β per valley). The
  *same* Δ enters every DOS below, so the comparison isolates the density of states.
* Lattice: `latticemirage.dos.clean_dos` (linear triangle method on a
  ``mesh x mesh`` k grid, Dynes η), normalized as ``N_s(E) / N_n(E)`` with the
  normal state (Δ = 0) of the same β and B on the same mesh.
* Quasiclassics, two β models: the paper's two valleys ``(+β, −β)``, and the
  lattice's Fermi-surface distribution of β(k) (`LatticeMapping.fermi_surface_beta`,
  binned by `comparisons.parameters.binned_fermi_surface`), with the same η.
* The exact formula ``ε_{1,2} = sqrt(β² + (B ± Δ)²)`` at the Fermi-surface mean β.

Only ``E >= 0`` is computed: the BdG density of states is exactly even in E
(particle-hole symmetry of H_BdG), so the negative side carries no new information.
Two energy windows are computed, around the main gap ``[0, 2.5]`` and around the
mirage gap ``ε0 ± 1.5`` (Δ0).

Checks and their tolerances (fixed from resolution arguments)
------------------------------------------------------------
* ``centre`` vs the β-distribution quasiclassics and vs the formula: 1 % (the
  issue's). Resolution: grid step 0.005 Δ0 with parabolic peak refinement and η =
  0.02 Δ0 broadening both edges symmetrically, ≲ 0.1 % of ε0 ≈ 7 Δ0.
* ``width`` vs the β-distribution quasiclassics: 5 % (the issue's). Both curves have
  the same η (which shifts the coherence peaks outward by the same amount) and the
  same β distribution; the remaining difference is the k-mesh error, which widens the
  lattice gap by ≈ 0.030, 0.013 Δ0 at meshes 4000, 6000 (β = 7, B = 2; ∝ mesh^-2),
  ≈ 0.007 Δ0 at the mesh 8000 used: 1.2 % of δ at B = 2, ~3 % at B = 1 (δ ≈ 0.41).
  (At mesh 6000 the B = 1 width missed 5 % by a hair; the mesh was raised, the
  tolerance was not.)
* ``L1``: mean ``|N_lat − N_qc|`` over both windows ≤ 0.01. Resolution argument: a
  convergence run at β = 7, B = 2 gave a mean distance to the β-distribution
  quasiclassics of 0.024, 0.0066, 0.0030 for meshes 2000, 4000, 6000 (falling like
  mesh^-2), so the remaining mesh error at 8000 is ≲ 0.002; 0.01 leaves room for
  fields where the coherence peaks are sharper.
* ``beta model``: where trigonal warping is visible the lattice must be at least as
  close (L1) to the β-distribution quasiclassics as to the single-β one (ratio ≤ 1).

The width is *not* checked against the single-β formula: the lattice's β varies by
±1 % around the pocket, which broadens the mirage gap by ≈ (β/ε0)(β_max − β_min)
≈ 0.13 Δ0 at β = 7 — a real lattice effect, shown in the width plot and the notes.
"""

import numpy as np

from comparisons.parameters import binned_fermi_surface
from comparisons.report import Check
from latticemirage import bulk
from latticemirage.dos import clean_dos
from latticemirage.mapping import map_to_lattice
from mirage_common.formulas import mirage_formula, mirage_gap
from quasiclassical import FermiSurface, QCParams, density_of_states, solve_gap

__all__ = ["TOL_CENTRE", "TOL_L1", "TOL_WIDTH", "run", "units"]

# Quantities of the checks, as the readings name them.
Q_L1 = "DOS distance L1, lattice vs quasiclassics (lattice beta(k_F))"
Q_CENTRE_QC = "mirage centre, lattice vs quasiclassics (lattice beta(k_F))"
Q_CENTRE_FORMULA = "mirage centre, lattice vs exact formula"
Q_WIDTH = "mirage width, lattice vs quasiclassics (lattice beta(k_F))"
Q_MODEL = "L1 ratio, beta-distribution / single-beta model"

TOL_CENTRE = 0.01  # relative; grid step + symmetric η shift << 1 % of ε0 (module docstring)
TOL_WIDTH = 0.05  # relative; same η and β distribution on both sides, mesh error only
TOL_L1 = 0.01  # mean |ΔN|/N_n; mesh-6000 error ~0.003 from the convergence run (8000 used)
MAIN_WINDOW = (0.0, 2.5)  # Δ0
MIRAGE_HALF_WINDOW = 1.5  # Δ0 around ε0


def units(setup):
    """Work units (one lattice DOS each) of this suite, for the progress ETA."""
    return sum(len(setup.fields_for(b)) for b in setup.betas)


def _grid(lo, hi, step):
    n = round((hi - lo) / step)
    return lo + step * (np.arange(n) + 0.5)


def _extract(energies, dos, eps0):
    """Mirage gap (positive side) of a curve known on E >= 0, or None if unresolved."""
    e = np.concatenate([-energies[::-1], energies])
    d = np.concatenate([dos[::-1], dos])
    try:
        gap = mirage_gap(e, d, window=(eps0 - MIRAGE_HALF_WINDOW, eps0 + MIRAGE_HALF_WINDOW))
    except ValueError:
        return None
    return gap.positive


def _one_field(setup, mapping, fsyst, fs, beta, b, tick):
    res = setup.resolution
    phys = setup.base
    qp = QCParams(beta=beta, field=b, phi=phys.phi, temperature=phys.temperature, eta=res.eta)
    delta = solve_gap(qp.replace(eta=0.0)).delta
    formula = mirage_formula(beta, b, delta)
    eps0 = float(formula.eps0)
    windows = [_grid(*MAIN_WINDOW, res.energy_step)]
    if b > 0:
        windows.append(_grid(eps0 - MIRAGE_HALF_WINDOW, eps0 + MIRAGE_HALF_WINDOW,
                             res.energy_step))
    m = mapping.with_field(b)
    lat, qc1, qcfs = [], [], []
    for e in windows:
        cd = clean_dos(m, e, eta=res.eta, mesh=res.dos_mesh, delta=delta, fsyst=fsyst)
        lat.append(cd.dos / cd.dos_normal)
        qc1.append(density_of_states(e, qp, delta=delta).dos)
        qcfs.append(density_of_states(e, qp, delta=delta, fermi_surface=fs).dos)
    tick(f"clean DOS beta={beta:g} B={b:g}")
    out = {
        "beta": beta, "field": b, "delta": delta, "temperature": phys.temperature,
        "formula": {"eps0": eps0, "width": float(formula.width),
                    "eps1": float(formula.eps1), "eps2": float(formula.eps2)},
        "windows": windows, "lattice": lat, "qc_single": qc1, "qc_fs": qcfs,
    }
    if b > 0:
        e = windows[1]
        out["extracted"] = {
            name: _extract(e, curves[1], eps0)
            for name, curves in (("lattice", lat), ("qc_single", qc1), ("qc_fs", qcfs))
        }
    allw = lambda curves: np.concatenate(curves)  # noqa: E731
    out["l1_fs"] = float(np.mean(np.abs(allw(lat) - allw(qcfs))))
    out["l1_single"] = float(np.mean(np.abs(allw(lat) - allw(qc1))))
    return out


def _checks(report, r, mapping):
    beta, b = r["beta"], r["field"]
    tag = f"clean/beta={beta:g}/B={b:g}"
    report.add(Check(
        f"{tag}/L1", r["l1_fs"], TOL_L1, "N_n",
        "mean |N_lattice - N_qc(beta distribution)| over both windows; bound from the "
        "k-mesh convergence (mesh-6000 error ~0.003; mesh 8000 used)",
        details={"l1_single_beta": r["l1_single"], "delta": r["delta"]},
        quantity=Q_L1,
    ))
    if b == 0:
        return
    ex = r["extracted"]
    lat, fs, one = ex["lattice"], ex["qc_fs"], ex["qc_single"]
    formula = r["formula"]
    details = {
        "formula_eps0": formula["eps0"], "formula_width": formula["width"],
        "delta": r["delta"],
        "lattice": None if lat is None else {"centre": lat.centre, "width": lat.width},
        "qc_fs": None if fs is None else {"centre": fs.centre, "width": fs.width},
        "qc_single": None if one is None else {"centre": one.centre, "width": one.width},
    }
    if fs is None:
        reason = (f"mirage gap not resolved in the beta-distribution quasiclassical DOS "
                  f"(formula width {formula['width']:.3g} Delta0 vs eta and warping)")
        for key, quantity in (("centre_vs_qc_fs", Q_CENTRE_QC), ("centre_vs_formula",
                                                                   Q_CENTRE_FORMULA),
                              ("width_vs_qc_fs", Q_WIDTH)):
            report.skip(f"{tag}/{key}", reason, quantity)
    else:
        nan = float("nan")
        report.add(Check(
            f"{tag}/centre_vs_qc_fs",
            abs(lat.centre - fs.centre) / fs.centre if lat else nan, TOL_CENTRE, "relative",
            "mirage centre eps0: lattice vs quasiclassics with the lattice's Fermi-surface "
            "beta(k); grid and eta errors << 1 %", details=details, quantity=Q_CENTRE_QC,
        ))
        report.add(Check(
            f"{tag}/centre_vs_formula",
            abs(lat.centre - formula["eps0"]) / formula["eps0"] if lat else nan, TOL_CENTRE,
            "relative",
            "mirage centre: lattice vs exact formula (eps1+eps2)/2 at the Fermi-surface mean "
            "beta and the same Delta", details=details, quantity=Q_CENTRE_FORMULA,
        ))
        report.add(Check(
            f"{tag}/width_vs_qc_fs",
            abs(lat.width - fs.width) / fs.width if lat else nan, TOL_WIDTH, "relative",
            "mirage width (peak to peak): lattice vs beta-distribution quasiclassics, same eta; "
            "k-mesh error only", details=details, quantity=Q_WIDTH,
        ))
    spread = (mapping.beta_fs_max - mapping.beta_fs_min) * beta / formula["eps0"]
    if spread > report_eta(report):
        report.add(Check(
            f"{tag}/beta_model_ratio", r["l1_fs"] / r["l1_single"], 1.0, "ratio",
            f"warping visible (beta spread x beta/eps0 = {spread:.3g} Delta0 > eta): tests "
            "whether the lattice is at least as close to the beta-distribution model as to the "
            "single-beta one",
            details={"l1_fs": r["l1_fs"], "l1_single": r["l1_single"],
                     "warping_smear": spread},
            quantity=Q_MODEL,
        ))


def report_eta(report):
    """The Dynes η of the run (stored in the report parameters)."""
    return report.parameters["resolution"]["eta"]


def _plot(report, results, setup, mapping):
    import matplotlib.pyplot as plt

    beta = results[0]["beta"]
    res = setup.resolution
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 6), gridspec_kw={"width_ratios": [1, 2]})
    first_mirage = next((i for i, r in enumerate(results) if len(r["windows"]) > 1), None)
    for i, r in enumerate(results):
        off = 1.2 * i
        for ax, j in ((ax0, 0), (ax1, 1)):
            if j >= len(r["windows"]):
                continue
            e = r["windows"][j]
            first = i == (0 if j == 0 else first_mirage)
            ax.plot(e, r["lattice"][j] + off, "k-", lw=1.2,
                    label="lattice (Kwant model)" if first else None)
            ax.plot(e, r["qc_fs"][j] + off, "C1--", lw=1.0,
                    label=r"quasiclassics, lattice $\beta(k_F)$" if first else None)
            ax.plot(e, r["qc_single"][j] + off, "C0:", lw=1.0,
                    label=r"quasiclassics, single $\beta$" if first else None)
        ax0.text(2.45, off + 1.05, f"B={r['field']:g}", ha="right", fontsize=8)
        if len(r["windows"]) > 1:
            f = r["formula"]
            first = i == first_mirage
            ax1.plot([f["eps2"], f["eps1"]], [off + 0.3] * 2, "C3|-", lw=1,
                     label=r"formula $\varepsilon_2..\varepsilon_1$ (single $\beta$)"
                     if first else None)
            ax1.text(r["windows"][1][-1], off + 1.05, f"B={r['field']:g}", ha="right",
                     fontsize=8)
    ax0.set_xlabel(r"$E$ ($\Delta_0$)")
    ax1.set_xlabel(r"$E$ ($\Delta_0$), window $\varepsilon_0\pm1.5$ at each $B$ "
                   "(horizontal axis shared, curves offset by 1.2)")
    ax0.set_ylabel(r"$N_s/N_n$ (offset by 1.2 per field)")
    ax0.set_title("main gap")
    ax1.set_title("mirage gap")
    ax1.legend(loc="upper left", fontsize=8)
    fig.suptitle(
        rf"Clean DOS, $\beta={beta:g}\Delta_0$ (Fermi-surface mean), $T={setup.base.temperature:g}"
        rf"T_{{c0}}$, $\eta={res.eta:g}\Delta_0$, lattice mesh {res.dos_mesh}, "
        rf"$\Delta_0={setup.base.delta0:g}t$, $E_F={setup.base.e_fermi:g}\Delta_0$")
    fig.tight_layout()
    fname = f"clean_dos_beta{beta:g}.png"
    report.add_figure(
        fig, fname, f"Clean DOS at beta = {beta:g} Delta0, fields {[r['field'] for r in results]}",
        "Drawn: lattice (black), quasiclassics with the lattice's Fermi-surface beta "
        "distribution (orange dashed) and with a single beta (blue dotted), the formula's "
        "eps2..eps1 (red bars); curves offset by 1.2 per field.",
        checks=f"clean/beta={beta:g}/*", pointer="compare Fig. 1(c)")
    plt.close(fig)


def _plot_summary(report, all_results):
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.5))
    for k, (beta, results) in enumerate(all_results.items()):
        rs = [r for r in results if r["field"] > 0]
        if not rs:
            continue
        b = np.array([r["field"] for r in rs])
        for name, style, label in (("lattice", "ko", "lattice"),
                                   ("qc_fs", "C1s", r"qc, lattice $\beta(k_F)$"),
                                   ("qc_single", "C0^", r"qc, single $\beta$")):
            c = [r["extracted"][name].centre if r["extracted"][name] else np.nan for r in rs]
            w = [r["extracted"][name].width if r["extracted"][name] else np.nan for r in rs]
            mfc = "none" if k else None
            ax0.plot(b, c, style, mfc=mfc, label=f"{label}, beta={beta:g}")
            ax1.plot(b, w, style, mfc=mfc, label=f"{label}, beta={beta:g}")
        bb = np.linspace(0, b.max(), 25)
        temp = results[0]["temperature"]
        d = [solve_gap(QCParams(beta=beta, field=x, temperature=temp)).delta for x in bb]
        f = mirage_formula(beta, bb, np.array(d))
        ls = "--" if k else "-"
        ax0.plot(bb, f.eps0, "C3" + ls, lw=0.8, label=f"exact formula, beta={beta:g}")
        ax1.plot(bb, f.width, "C3" + ls, lw=0.8, label=f"exact formula, beta={beta:g}")
    ax0.set_xlabel(r"$B$ ($\Delta_0$)")
    ax1.set_xlabel(r"$B$ ($\Delta_0$)")
    ax0.set_ylabel(r"mirage centre $\varepsilon_0$ ($\Delta_0$)")
    ax1.set_ylabel(r"mirage width $\delta$, peak to peak ($\Delta_0$)")
    ax1.legend(fontsize=7)
    fig.suptitle(r"Mirage gap centre and width vs field; $\Delta=\Delta_{qc}(B)$ on all sides, "
                 r"$T=0.1T_{c0}$, Dynes $\eta$ on lattice and qc")
    fig.tight_layout()
    report.add_figure(
        fig, "mirage_centre_width.png", "Mirage-gap centre and width vs field",
        "Drawn: centres and peak-to-peak widths (eta broadening included) extracted from the "
        "lattice (circles), the beta-distribution quasiclassics (squares) and the single-beta "
        "quasiclassics (triangles), and the exact formula at the self-consistent Delta(B) "
        "(red lines); the single-beta formula width is not a check (see notes).",
        checks=("clean/*/centre_*", "clean/*/width_*"),
        pointer="compare Eq. (6) and Fig. 1(c) of the paper")
    plt.close(fig)


def run(setup, report, tick):
    """Run the clean sweep, add its checks and figures to *report*; returns the raw results."""
    fsyst = bulk.wrapped_system()
    all_results = {}
    for beta in setup.betas:
        fields = setup.fields_for(beta)
        if not fields:
            continue
        mapping = map_to_lattice(setup.physical(beta=beta), fsyst=fsyst)
        fs = FermiSurface(*binned_fermi_surface(*mapping.fermi_surface_beta()))
        results = [_one_field(setup, mapping, fsyst, fs, beta, b, tick) for b in fields]
        for r in results:
            _checks(report, r, mapping)
        excess = [
            f"B={r['field']:g}: {r['extracted']['lattice'].width:.3f} vs "
            f"{r['formula']['width']:.3f}"
            for r in results if r["field"] > 0 and r["extracted"]["lattice"] is not None
        ]
        if excess:
            report.notes.append(
                f"beta={beta:g}: lattice mirage width (peak to peak, eta={setup.resolution.eta:g}) "
                "vs the single-beta exact formula eps1-eps2 (not a check: the lattice's "
                "Fermi-surface spread of beta is expected to widen it, which width_vs_qc_fs tests; "
                "the eta broadening adds ~0.03 to any peak-to-peak width): "
                + "; ".join(excess) + " Delta0.")
        _plot(report, results, setup, mapping)
        all_results[beta] = results
        report.notes.append(
            f"beta={beta:g}: lattice Fermi surface beta(k_F) = {mapping.beta_fs_mean:.3f} "
            f"+- {mapping.beta_fs_std:.3f} (range {mapping.beta_fs_min:.3f}..."
            f"{mapping.beta_fs_max:.3f}) Delta0; beta(K) = {mapping.beta_k:.3f} Delta0."
        )
    _plot_summary(report, all_results)
    return all_results
