r"""Green's-function components and the measured self-energy: lattice against quasiclassics.

Clean (``components/clean/…``)
    The valley-resolved ĝ of the clean lattice (`latticemirage.green`) against Eq. (8)
    solved with the lattice's own Fermi-surface β distribution of valley K
    (`quasiclassical.solve_scba`), β = 7, B = 2, Δ = 1 Δ0, η = 0.05 Δ0, 0 ≤ ε ≤ 10 Δ0.
    Tolerances (mean |lattice − Eq. (8)| over the energies): measured at the quick
    polar mesh 90 × 480 and at E_F = 30 Δ0 (`tests/test_lattice_green.py`): g0 0.010
    (mostly the O(ε/E_F) slope of the lattice's normal DOS), gx 0.004 (O(B/E_F) spin
    splitting of ν), gz 0.0016, f0 0.0044 (Δ/E_F), fx 0.0013, fy 0.0017 (mesh); the
    tolerances are ~1.5 × these. Peak positions of Re g0, Im f0, Im fx, Re fy (= Im(i fy),
    the paper's Fig. 2 panels) within 1 %; valley symmetry of the paper (fy odd, g0,
    f0, fx even between K and K') to round-off.

Disorder (``disorder/selfenergy/…``)
    The measured Σ̂ = τ3(G0⁻¹ − ⟨G⟩⁻¹ − normal background) at the Fermi surface of
    valley K (`latticemirage.disorder.selfenergy`, sparse LU, L = 32) against the SCBA
    ``−iΓ⟨ĝ⟩`` at the Γ_tot measured by `latticemirage.disorder.rates` on the same
    realizations: max over energies of |Σ̂_lat − Σ̂_SCBA| / σ for g0, f0, fx, fy ≤ 3, σ
    combining the jackknife error of Σ̂, the rate error propagated and the systematic
    error of the Born sum on the L = 32 grid, ``Γ |⟨ĝ⟩_grid − ⟨ĝ⟩|`` (`grid_systematic`:
    at η = 2.5 Δ0 the grid's clean g0 is off by up to 0.2, f0 by 0.03); the
    intervalley share Γ_e/(Γ_a + Γ_e) read off the ratio of the fy and f0 components
    (f0 is even, fy odd in the valley, so Σ_fy/Σ_f0 = (1 − 2 share) fy_K/f0_K): 1/2 for
    on-site (Anderson) disorder, 0 for smooth disorder (full run only), each within 3σ.

Disorder (``disorder/components/anderson/…``, full run only)
    The disorder-averaged ĝ_K of Anderson supercells (L = 48, 4 realizations, ε = 0)
    against the SCBA ĝ_K at the measured Γ: deviation over σ ≤ 3, σ combining the
    jackknife error, the Γ error propagated through the SCBA and the grid-sampling error
    of the ξ integral (clean ĝ on the supercell grid vs the polar mesh).
"""

from dataclasses import replace

import numpy as np

from comparisons.parameters import QUICK, binned_fermi_surface
from comparisons.report import Check
from latticemirage import bulk
from latticemirage.mapping import map_to_lattice

__all__ = ["TOL_L1", "grid_systematic", "intervalley_share", "run", "scba_sigma", "units"]

TOL_L1 = {"g0": 0.015, "gx": 0.006, "gz": 0.003, "f0": 0.0065, "fx": 0.002, "fy": 0.0025}
TOL_PEAK = 0.01  # relative: the paper's structures at the same energies
TOL_SIGMA = 3.0  # in units of the stochastic error
ETA_CLEAN = 0.05
ETA_DISORDER = 2.5  # Δ0: above the ξ spacing 1/(ν_v L²) = 2.0 Δ0 of the L = 32 grid
SIZE = 32
# The dirty ĝ needs a finer ξ sampling than Σ̂: at L = 32 its Im f0(0) is 0.312 against a
# clean-grid 0.337 (finite size), at L = 48 0.332 against 0.335.
DIRTY_SIZE = 48
PEAKS = (("g0", "real", (0.5, 3.0)), ("g0", "real", (5.0, 10.0)), ("f0", "imag", (0.5, 3.0)),
         ("f0", "imag", (5.0, 10.0)), ("fx", "imag", (5.0, 10.0)), ("fy", "real", (5.0, 10.0)))


def units(setup):
    """Work units for the ETA: the clean comparison, each disorder kind, the dirty ĝ."""
    return 2 if setup.resolution == QUICK else 4


def scba_sigma(mapping, energies, eta, delta, field, gamma, intervalley):
    """SCBA ``Σ̂`` of valley K and ``ĝ_K`` (eq1 components) with the lattice β distribution.

    ``intervalley=True``: short-range disorder, ``Σ̂ = −iΓ⟨ĝ⟩`` over both valleys;
    ``False``: intravalley only, ``Σ̂_K = −iΓ⟨ĝ⟩_K``.
    """
    from quasiclassical.eilenberger import components, solve_scba
    from quasiclassical.params import FermiSurface

    # 30 β bins per valley: error below half a bin (0.002 Δ0 in β), far below η.
    betas, weights = binned_fermi_surface(*mapping.fermi_surface_beta())
    res = solve_scba(np.asarray(energies) + 1j * eta, delta, FermiSurface(betas, weights),
                     field=field, gamma=gamma if intervalley else 0.0,
                     gamma_intra=0.0 if intervalley else gamma)
    in_k = betas > 0
    g_k = np.einsum("p,p...->...", weights[in_k], res.g[in_k]) / weights[in_k].sum()
    sigma = -1j * gamma * (res.average if intervalley else g_k)
    return components(sigma, "eq1"), components(g_k, "eq1")


def grid_systematic(mapping, size, energies, eta, gamma, intervalley):
    """Systematic error of a Born sum on the L × L grid: ``Γ |⟨ĝ⟩_grid − ⟨ĝ⟩|`` per component.

    ``⟨ĝ⟩_grid`` is the clean ĝ sampled on the supercell's k grid
    (`selfenergy.clean_grid_green`), ``⟨ĝ⟩`` the converged polar-mesh integral
    (`green.valley_green`); averaged over both valleys (short range) or valley K.
    """
    from latticemirage.disorder.selfenergy import clean_grid_green
    from latticemirage.green import components, valley_green

    grid = clean_grid_green(mapping, size, energies, eta=eta)
    cont = valley_green(mapping, energies, eta=eta, n_theta=90, n_radial=240).g
    diff = (grid - cont).mean(axis=0) if intervalley else grid[0] - cont[0]
    return {name: gamma * np.abs(v) for name, v in components(diff).items()}


def intervalley_share(sigma, g_k, index=0):
    """``Γ_e/(Γ_a + Γ_e)`` and its error from ``Σ̂ = −i(Γ_a ĝ_K + Γ_e ĝ_K')`` at one energy.

    f0 is even and fy odd between the valleys, so
    ``Σ_fy/Σ_f0 = (Γ_a − Γ_e)/(Γ_a + Γ_e) · fy_K/f0_K``; *sigma* maps names to
    (value, error) arrays (`SelfEnergyResult.sigma_components`), *g_k* has attributes.
    """
    (s_f0, e_f0), (s_fy, e_fy) = sigma["f0"], sigma["fy"]
    reference = g_k.fy[index] / g_k.f0[index]
    ratio = (s_fy[index] / s_f0[index]) / reference
    err = np.hypot(e_fy[index], abs(s_fy[index] / s_f0[index]) * e_f0[index]) / abs(
        s_f0[index] * reference)
    return float((1 - ratio.real) / 2), float(err / 2)


def _clean(setup, report, tick):
    import matplotlib.pyplot as plt

    from latticemirage.green import valley_green

    quick = setup.resolution == QUICK
    phys = setup.physical(field_=2.0)
    mapping = map_to_lattice(replace(phys, delta=1.0), fsyst=bulk.wrapped_system())
    energies = np.linspace(0.0, 10.0, 1001)
    n_theta, n_radial = (90, 480) if quick else (360, 960)
    lat = valley_green(mapping, energies, eta=ETA_CLEAN, n_theta=n_theta, n_radial=n_radial)
    comps = lat.components()
    _, qc = scba_sigma(mapping, energies, ETA_CLEAN, 1.0, phys.field, 0.0, True)
    for name, tol in TOL_L1.items():
        l1 = float(np.abs(comps[name][0] - getattr(qc, name)).mean())
        report.add(Check(
            f"components/clean/{name}/L1", l1, tol, "1",
            f"mean |{name}_lattice - {name}_Eq.(8)| in valley K over 0..10 Delta0 (eta "
            f"{ETA_CLEAN}); lattice beta distribution on the qc side; O(eps/E_F, B/E_F, "
            "Delta/E_F) and mesh errors (module docstring)",
            details={"n_theta": n_theta, "n_radial": n_radial},
            quantity=f"{name} curve, lattice vs Eq. (8) (mean |difference|)"))
    shifts = []
    for name, part, (lo, hi) in PEAKS:
        sel = (energies >= lo) & (energies <= hi)
        a = getattr(comps[name][0], part)[sel]
        b = getattr(getattr(qc, name), part)[sel]
        e_a, e_b = energies[sel][np.argmax(np.abs(a))], energies[sel][np.argmax(np.abs(b))]
        shifts.append(abs(e_a - e_b) / e_b)
    report.add(Check(
        "components/clean/peak_positions", float(max(shifts)), TOL_PEAK, "relative",
        "largest relative shift of the extrema of Re g0, Im f0 (near Delta and eps0), "
        "Im fx, Re fy (near eps0) between lattice and Eq. (8); grid step 0.01 Delta0",
        details={"shifts": [float(s) for s in shifts]},
        quantity="extremum positions, lattice vs Eq. (8)"))
    sym = max(float(np.abs(comps[n][1] - s * comps[n][0]).max())
              for n, s in (("g0", 1), ("f0", 1), ("fx", 1), ("fy", -1)))
    report.add(Check(
        "components/clean/valley_symmetry", sym, 1e-9, "1",
        "paper, Fig. 2 caption: fy reverses between K and K', g0, f0, fx do not "
        "(round-off: mirrored meshes)", quantity="valley symmetry (fy odd; g0, f0, fx even)"))
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    panels = (("g0", "real", r"$N_s = \mathrm{Re}\,g_0$"), ("f0", "imag", r"Im $f_0$"),
              ("fx", "imag", r"Im $f_x$"), ("fy", "real", r"Im$(i f_y)$ = Re $f_y$"))
    for ax, (name, part, label) in zip(axes, panels, strict=True):
        ax.plot(energies, getattr(getattr(qc, name), part), "k-", lw=1, label="Eq. (8)")
        ax.plot(energies, getattr(comps[name][0], part), "C3--", lw=1, label="lattice")
        ax.set_xlabel(r"$\varepsilon$ ($\Delta_0$)")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.suptitle(rf"Clean valley K, $\beta=7$, $B=2$, $\Delta=1$ ($\Delta_0$), "
                 rf"$\eta={ETA_CLEAN}$, $E_F={phys.e_fermi:g}\Delta_0$")
    fig.tight_layout()
    report.add_figure(fig, "components_clean.png", "Clean Green's-function components (Fig. 2)",
                      "Black: Eq. (8) with the lattice's beta distribution; red dashed: the "
                      "lattice's valley-K components (energies in Delta0).",
                      checks=("components/clean/*",), pointer="compare Fig. 2 at Gamma = 0")
    plt.close(fig)
    tick("clean components")


def _selfenergy(setup, report, tick, kind):
    from latticemirage.disorder import AndersonDisorder, SmoothDisorder
    from latticemirage.disorder.rates import measure_rates
    from latticemirage.disorder.selfenergy import measure_selfenergy

    quick = setup.resolution == QUICK
    mapping = map_to_lattice(replace(setup.physical(field_=2.0), delta=1.0))
    energies = np.array([0.0, 6.0]) if quick else np.array([0.0, 1.5, 4.0, 6.0, 7.3])
    realizations = 4 if quick else 8
    disorder = AndersonDisorder(0.3) if kind == "anderson" else SmoothDisorder(0.1, 2.0)
    res = measure_selfenergy(mapping, disorder, SIZE, realizations, setup.seed, energies,
                             eta=ETA_DISORDER, components=False)
    rate = measure_rates(mapping.lattice_params(0.0), disorder, SIZE, realizations,
                         setup.seed, eta=ETA_DISORDER * mapping.delta0)
    gamma, gamma_err = rate.gamma_total / mapping.delta0, rate.gamma_total_err / mapping.delta0
    short = kind == "anderson"
    pred, g_k = scba_sigma(mapping, energies, ETA_DISORDER, 1.0, 2.0, gamma, short)
    meas = res.sigma_components()
    sys_err = grid_systematic(mapping, SIZE, energies, ETA_DISORDER, gamma, short)
    for name in ("g0", "f0", "fx", "fy") if short else ("f0", "fx", "fy"):
        value, err = meas[name]
        expect = getattr(pred, name)
        sigma = np.sqrt(err**2 + (np.abs(expect) * gamma_err / gamma) ** 2 + sys_err[name] ** 2)
        report.add(Check(
            f"disorder/selfenergy/{kind}/{name}", float(np.max(np.abs(value - expect) / sigma)),
            TOL_SIGMA, "sigma",
            f"max over energies of |Sigma_{name} measured - SCBA| / error, {disorder!r}, "
            f"L={SIZE}, Gamma_tot={gamma:.3g}+-{gamma_err:.2g} Delta0 (rates), eta "
            f"{ETA_DISORDER}",
            details={"energies": energies.tolist(), "measured_re": value.real.tolist(),
                     "measured_im": value.imag.tolist(), "scba_re": expect.real.tolist(),
                     "scba_im": expect.imag.tolist(), "error": err.tolist(),
                     "grid_systematic": sys_err[name].tolist()},
            quantity=f"Sigma_{name} ({kind}), measured vs SCBA"))
    share, share_err = intervalley_share(meas, g_k)
    target = 0.5 if short else 0.0
    report.add(Check(
        f"disorder/selfenergy/{kind}/intervalley_share", abs(share - target) / share_err,
        TOL_SIGMA, "sigma",
        f"|Gamma_e/(Gamma_a+Gamma_e) - {target}| / error from Sigma_fy/Sigma_f0 at E=0: "
        f"{share:.3f} +- {share_err:.3f}",
        details={"share": share, "error": share_err, "rates_fraction": rate.inter_fraction},
        quantity=f"intervalley share of Sigma ({kind}) vs {target}"))
    tick(f"self-energy {kind}")


def _dirty_components(setup, report, tick):
    """Disorder-averaged ĝ_K (Anderson, L = 48) against the SCBA ĝ_K at the measured Γ."""
    from latticemirage.disorder import AndersonDisorder
    from latticemirage.disorder.rates import measure_rates
    from latticemirage.disorder.selfenergy import clean_grid_green, measure_selfenergy
    from latticemirage.green import components, valley_green

    mapping = map_to_lattice(replace(setup.physical(field_=2.0), delta=1.0))
    energies = np.array([0.0])
    disorder = AndersonDisorder(0.3)
    res = measure_selfenergy(mapping, disorder, DIRTY_SIZE, 4, setup.seed, energies,
                             eta=ETA_DISORDER)
    rate = measure_rates(mapping.lattice_params(0.0), disorder, DIRTY_SIZE, 4, setup.seed,
                         eta=ETA_DISORDER * mapping.delta0)
    gamma, gamma_err = rate.gamma_total / mapping.delta0, rate.gamma_total_err / mapping.delta0
    lat = components(res.g[0])
    err = {n: np.abs(a) + np.abs(b) for (n, a), b in zip(
        components(res.g_err_re[0]).items(), components(res.g_err_im[0]).values(), strict=True)}
    _, qc = scba_sigma(mapping, energies, ETA_DISORDER, 1.0, 2.0, gamma, True)
    _, qc_hi = scba_sigma(mapping, energies, ETA_DISORDER, 1.0, 2.0, gamma + gamma_err, True)
    grid = components(clean_grid_green(mapping, DIRTY_SIZE, energies, eta=ETA_DISORDER)[0])
    cont = components(valley_green(mapping, energies, eta=ETA_DISORDER, n_theta=90,
                                   n_radial=240).g[0])
    for name in ("g0", "f0", "fx", "fy"):
        expect = getattr(qc, name)
        sigma = np.sqrt(err[name] ** 2 + np.abs(getattr(qc_hi, name) - expect) ** 2
                        + np.abs(grid[name] - cont[name]) ** 2)
        report.add(Check(
            f"disorder/components/anderson/{name}",
            float(np.max(np.abs(lat[name] - expect) / sigma)), TOL_SIGMA, "sigma",
            f"|{name}_K disorder-averaged lattice - SCBA| / error at E=0, {disorder!r}, "
            f"L={DIRTY_SIZE}, eta {ETA_DISORDER}, Gamma_tot={gamma:.3g} Delta0; error: "
            "jackknife, Gamma error through the SCBA, grid sampling (clean grid vs polar mesh)",
            details={"lattice": [lat[name].real.tolist(), lat[name].imag.tolist()],
                     "scba": [expect.real.tolist(), expect.imag.tolist()],
                     "clean_grid": [grid[name].real.tolist(), grid[name].imag.tolist()],
                     "clean": [cont[name].real.tolist(), cont[name].imag.tolist()]},
            quantity=f"{name}_K disorder-averaged lattice vs SCBA"))
    tick("dirty components")


def run(setup, report, tick):
    """Clean components, then the measured self-energy (Anderson; smooth in the full run)."""
    _clean(setup, report, tick)
    _selfenergy(setup, report, tick, "anderson")
    if setup.resolution != QUICK:
        _selfenergy(setup, report, tick, "smooth")
        _dirty_components(setup, report, tick)
