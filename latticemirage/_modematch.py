r"""Batched Green's-function solver for the wrapped NS junction (the ``"batched"`` solver).

`kwant.smatrix` costs ~15-50 ms per call on this tiny 1-D junction (12
orbitals per cell), almost all of it Python and scipy.sparse overhead, so a
401-energy × 21-field map takes hours. This module computes the *same*
probabilities from the same Kwant system, vectorized over energies:

* The matrices come from the finalized junction of `transport.ns_junction`
  (``cell_hamiltonian``, ``inter_cell_hopping`` of each lead and
  ``hamiltonian_submatrix`` of the barrier rows), so the model's value
  functions stay the single source of truth. Only the linear algebra is ours.
* Lead self-energies by mode matching: with ``V = H[cell_{m+1}, cell_m]``
  (Kwant's ``inter_cell_hopping``, m counted away from the system) the Bloch
  solutions ``ψ_m = λ^m φ`` solve ``(H + λ^{-1} V + λ V^† - E) φ = 0``. The n
  outgoing ones (``|λ| < 1``, or ``|λ| = 1`` with velocity
  ``v = -2 Im(λ φ^† V^† φ) > 0``) give ``ψ_1 = F ψ_0``, ``F = Φ Λ Φ^{-1}`` and
  ``Σ = V^† F`` on the interface cell. Where the classification fails (not
  exactly n outgoing modes, or a singular hopping) the energy is handed to
  Kwant's own ``selfenergy``.
* The normal lead conserves the quantity of `transport._conservation_law`; it
  is solved block by block (one orbital per site per block), which also keeps
  apart electron and hole modes that share a momentum at opposite velocities.
  The superconducting lead at Δ = 0 is likewise split into electrons and holes.
* Probabilities from the Caroli formula between the blocks of the normal lead
  (independent terminals on one cell) and the superconducting lead,
  ``T_{b'←b} = Tr[Γ_{b'} G Γ_b G^†]``; the same-block reflection follows from
  the mode count, ``R_bb = N_b - sum_{b'≠b} T_{b'←b} - T_{S←b}``.

Tested against `kwant.smatrix` (tests/test_transport.py).
"""

import numpy as np

from mirage_common.errors import ParameterError

__all__ = ["MAX_MODES", "check_mode_count", "k_point_batched"]

# The mode-count rule lives here, below `latticemirage.transport` (which re-exports it),
# because both solvers apply it and transport imports this module as its batched solver.

#: Normal-lead electron modes per transverse momentum the result arrays hold: the two
#: valleys' hole pockets folded onto k_x ≈ 0, two spins each.
MAX_MODES = 4


def check_mode_count(n_modes):
    """Refuse a junction whose normal lead has more modes per k_x than the model's pockets.

    More than `MAX_MODES` open channels per transverse momentum means the Fermi level lies
    beyond the two-valley regime the transport (and the quasiclassical comparison) assumes.
    """
    if n_modes > MAX_MODES:
        raise ParameterError(
            "e-fermi", f"{n_modes} normal-lead modes per transverse momentum, more than the "
                       f"{MAX_MODES} of the two hole pockets: the Fermi level lies beyond the "
                       "two-valley regime; use a smaller --e-fermi (or --delta0-t)")


_TOL = 1e-8  # |λ| within this of 1: propagating
_MIN_VELOCITY = 1e-6  # t a; below it a propagating pair sits on a band edge (see _outgoing)


def _selfenergy(h, v, energies, fallback):
    """Σ (n_e, n, n) and outgoing propagating-mode counts (n_e,) of one lead (or lead block)."""
    n = h.shape[0]
    n_e = len(energies)
    sigma = np.empty((n_e, n, n), complex)
    n_prop = np.zeros(n_e, int)
    vd = v.conj().T
    try:
        cond = np.linalg.cond(vd)
    except np.linalg.LinAlgError:
        cond = np.inf
    if not np.isfinite(cond) or cond > 1e10:
        for i, e in enumerate(energies):
            sigma[i], n_prop[i] = fallback(i, e)
        return sigma, n_prop
    vdi = np.linalg.inv(vd)
    # λ φ_next = ...: companion matrix on (φ, λ φ) from λ² V^† φ + λ (H - E) φ + V φ = 0.
    comp = np.zeros((n_e, 2 * n, 2 * n), complex)
    comp[:, :n, n:] = np.eye(n)
    comp[:, n:, :n] = -vdi @ v
    comp[:, n:, n:] = -vdi @ (h[None] - energies[:, None, None] * np.eye(n))
    lam, vec = np.linalg.eig(comp)  # (n_e, 2n), (n_e, 2n, 2n)
    phi = np.ascontiguousarray(vec[:, :n, :])
    mod = np.abs(lam)
    prop = np.abs(mod - 1) <= _TOL
    norm = np.einsum("eij,eij->ej", phi.conj(), phi).real
    vel = -2 * (lam * np.einsum("eij,eij->ej", phi.conj(), vd @ phi)).imag / norm
    outgoing = (mod < 1 - _TOL) | (prop & (vel > 0))
    # Propagating modes sharing a λ need the velocity basis (`_outgoing`); so do
    # energies where the count is off. Everything else is done in one batch.
    close = np.abs(lam[:, :, None] - lam[:, None, :]) <= 1e-6
    close &= prop[:, :, None] & prop[:, None, :]
    slow = (close.sum(axis=(1, 2)) > prop.sum(axis=1)) | (outgoing.sum(axis=1) != n)
    fast = np.flatnonzero(~slow)
    if len(fast):
        idx = np.argsort(~outgoing[fast], axis=1, kind="stable")[:, :n]  # outgoing first
        big_phi = np.take_along_axis(phi[fast], idx[:, None, :], axis=2)
        big_lam = np.take_along_axis(lam[fast], idx, axis=1)
        sigma[fast] = vd @ (big_phi * big_lam[:, None, :]) @ np.linalg.inv(big_phi)
        n_prop[fast] = np.sum(prop[fast] & outgoing[fast], axis=1)
    for i in np.flatnonzero(slow):
        res = _outgoing(lam[i], phi[i], v, vd)
        if res is None:
            sigma[i], n_prop[i] = fallback(i, energies[i])
            continue
        big_phi, big_lam, n_prop[i] = res
        sigma[i] = vd @ (big_phi * big_lam) @ np.linalg.inv(big_phi)
    return sigma, n_prop


def _outgoing(lam, phi, v, vd):
    """The n outgoing modes (columns) of one energy, their λ and the propagating count.

    Propagating modes that share a λ (e.g. the electron- and hole-like branches
    meeting at E = 0 in a gapless superconductor, with opposite velocities) are
    rotated to eigenvectors of the velocity operator within their group, as in
    Kwant, before they are sorted by the sign of the velocity. Returns None if
    the count of outgoing modes is not n, or at a band edge (a degenerate group
    with nearly parallel eigenvectors or a velocity below ``_MIN_VELOCITY``):
    then Kwant decides.
    """
    n = phi.shape[0]
    mod = np.abs(lam)
    prop = np.flatnonzero(np.abs(mod - 1) <= _TOL)
    phi = phi.copy()
    vel = np.zeros(len(lam))
    done = np.zeros(len(lam), bool)
    for j in prop:
        if done[j]:
            continue
        group = prop[np.abs(lam[prop] - lam[j]) <= 1e-6]
        done[group] = True
        cols = phi[:, group] / np.linalg.norm(phi[:, group], axis=0)
        sv = np.linalg.svd(cols, compute_uv=False)
        if sv[-1] < 1e-3 * sv[0]:
            # Nearly parallel eigenvectors: λ is a defective double root, i.e. a band
            # edge (zero velocity); the modes are not separable here, Kwant decides.
            return None
        q, _ = np.linalg.qr(phi[:, group])
        lj = lam[j] / abs(lam[j])
        dh = -1j * lj.conj() * v + 1j * lj * vd  # dH/dk at λ = e^{ik}
        w = q.conj().T @ dh @ q
        vals, vecs = np.linalg.eigh(0.5 * (w + w.conj().T))
        if np.abs(vals).min() < _MIN_VELOCITY:
            return None  # zero velocity: a band edge as well
        phi[:, group] = q @ vecs
        vel[group] = vals
    outgoing = mod < 1 - _TOL
    outgoing[prop] = vel[prop] > 0
    if outgoing.sum() != n:
        return None
    return phi[:, outgoing], lam[outgoing], int(np.sum(vel[prop] > 0))


def _kwant_fallback(lead, params, energies_t, project=None):
    """Kwant's own self-energy (and mode count) at one energy, for the rare failures."""

    def fallback(i, e):
        sigma = np.asarray(lead.selfenergy(e, params=params))
        if project is None:
            return sigma, 0  # mode count of the superconducting lead is not used
        u, block = project
        count = 0 if block is None else lead.modes(e, params=params)[0].block_nmodes[block]
        return u.conj().T @ sigma @ u, count

    return fallback


def _block_bases(q):
    """Eigenvectors (4, 1) of the on-site conservation law, in Kwant's block order."""
    vals, vecs = np.linalg.eigh(q)
    order = np.argsort(vals)
    return [vecs[:, [j]] for j in order]


def k_point_batched(fsyst, energies_t, sc_params, normal_params, k, conservation):
    """Scattering data of `transport._k_point` for one ``k_x``, all energies and fields.

    Parameters
    ----------
    fsyst : finalized junction from `transport.ns_junction`
    energies_t : ndarray, shape (n_e,)
        Energies in t.
    sc_params, normal_params : sequence of dict
        Kwant params (without ``k_x``) per field: superconducting and Δ = 0.
    k : float
        Folded transverse phase.
    conservation : ndarray, shape (4, 4)
        The normal lead's on-site conservation law.

    Returns
    -------
    dict of ndarray, as `transport._k_point`.
    """
    energies_t = np.asarray(energies_t, float)
    n_f, n_e = len(sc_params), len(energies_t)
    out = {"n_in": np.zeros((n_f, n_e, 2)), "r": np.zeros((n_f, n_e, 4, 2)),
           "n_in_normal": np.zeros((n_f, n_e, 2)), "r_normal": np.zeros((n_f, n_e, 4, 2)),
           "tau_normal": np.full((n_f, n_e, 4), np.nan)}
    lead_n, lead_s = fsyst.leads
    iface_n = np.concatenate([np.arange(4 * s, 4 * s + 4) for s in fsyst.lead_interfaces[0]])
    iface_s = np.concatenate([np.arange(4 * s, 4 * s + 4) for s in fsyst.lead_interfaces[1]])

    # Normal lead: independent of the field and of Δ; one block at a time.
    p0 = {**dict(sc_params[0]), "k_x": k}
    h_n = lead_n.cell_hamiltonian(params=p0)
    v_n = lead_n.inter_cell_hopping(params=p0)
    cells = h_n.shape[0] // 4
    gammas, counts = [], []
    sigma_n = np.zeros((n_e, h_n.shape[0], h_n.shape[0]), complex)
    for b, u4 in enumerate(_block_bases(conservation)):
        u = np.kron(np.eye(cells), u4)  # (12, 3)
        hb, vb = u.conj().T @ h_n @ u, u.conj().T @ v_n @ u
        sig_b, n_b = _selfenergy(hb, vb, energies_t,
                                 _kwant_fallback(lead_n, p0, energies_t, (u, b)))
        full = u @ sig_b @ u.conj().T
        sigma_n += full
        gammas.append(1j * (full - full.conj().swapaxes(-1, -2)))
        counts.append(n_b)
    counts = np.array(counts).T  # (n_e, 4)

    for i in range(n_f):
        for key, params in (("", sc_params[i]), ("_normal", normal_params[i])):
            p = {**dict(params), "k_x": k}
            h_s = lead_s.cell_hamiltonian(params=p)
            v_s = lead_s.inter_cell_hopping(params=p)
            fallback = _kwant_fallback(lead_s, p, energies_t)
            if p["delta"] == 0:
                # τ_z conserved: electrons and holes separately (they can share a momentum
                # with opposite velocities at E = 0, which one eigenproblem would mix).
                sigma_s = np.zeros((n_e, h_s.shape[0], h_s.shape[0]), complex)
                cells_s = h_s.shape[0] // 4
                for part in ((1, 1, 0, 0), (0, 0, 1, 1)):
                    u = np.eye(h_s.shape[0])[:, np.tile(part, cells_s) > 0]
                    sig, _ = _selfenergy(u.conj().T @ h_s @ u, u.conj().T @ v_s @ u, energies_t,
                                         _kwant_fallback(lead_s, p, energies_t, (u, None)))
                    sigma_s += u @ sig @ u.conj().T
            else:
                sigma_s, _ = _selfenergy(h_s, v_s, energies_t, fallback)
            gamma_s = 1j * (sigma_s - sigma_s.conj().swapaxes(-1, -2))
            h_sys = fsyst.hamiltonian_submatrix(params=p)
            m = h_sys.shape[0]
            a = energies_t[:, None, None] * np.eye(m) - h_sys[None]
            a[:, iface_n[:, None], iface_n[None, :]] -= sigma_n
            a[:, iface_s[:, None], iface_s[None, :]] -= sigma_s
            g = np.linalg.inv(a)
            g00 = g[:, iface_n[:, None], iface_n[None, :]]
            g10 = g[:, iface_s[:, None], iface_n[None, :]]
            r = np.zeros((n_e, 4, 2))
            t_s = np.zeros((n_e, 2))
            g00h, g10h = g00.conj().swapaxes(-1, -2), g10.conj().swapaxes(-1, -2)
            for b_in in (0, 1):
                gb = gammas[b_in]
                # Tr[Γ' G Γ_b G^†] as a trace of two batched products.
                t_s[:, b_in] = np.einsum("eij,eji->e", gamma_s, g10 @ gb @ g10h).real
                x = g00 @ gb @ g00h
                for b_out in range(4):
                    if b_out != b_in:
                        r[:, b_out, b_in] = np.einsum("eij,eji->e", gammas[b_out], x).real
                r[:, b_in, b_in] = (counts[:, b_in] - r[:, :, b_in].sum(axis=1) - t_s[:, b_in])
            out["n_in" + key][i] = counts[:, :2]
            out["r" + key][i] = r
            if key:
                gamma_e = gammas[0] + gammas[1]
                mat = g10.conj().swapaxes(-1, -2) @ gamma_s @ g10 @ gamma_e
                ev = np.sort(np.linalg.eigvals(mat).real, axis=1)[:, ::-1]
                n_e_modes = counts[:, :2].sum(axis=1)
                for j in range(n_e):
                    nm = int(n_e_modes[j])
                    check_mode_count(nm)
                    out["tau_normal"][i, j, :nm] = np.clip(ev[j, :nm], 0.0, 1.0)
    return out
