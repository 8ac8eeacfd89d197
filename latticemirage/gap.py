r"""Clean self-consistent gap Δ(T, B) on the lattice, by minimizing the BCS free energy.

Model
-----
On-site attraction U in the mean-field (BdG) form of `latticemirage.model`, with the
pairing restricted to a shell ``|xi(k)| < omega_c`` around the Fermi surface (the
"Debye" cutoff; ``xi`` is the spin-independent band measured from the Fermi level).
The mean-field grand potential per site, up to Δ-independent terms, is

.. math::

    F(\Delta) = \frac{\Delta^2}{U} - \frac{1}{N}\sum_{k \in \mathrm{shell}}
                \sum_{n=1}^{4} \frac{T}{2} \ln\!\Big(2\cosh\frac{E_{kn}(\Delta)}{2T}\Big),

where ``E_kn`` are the four BdG eigenvalues of H(k) (the fast Bloch Hamiltonian
of the Kwant Builder, with the field and Ising coupling included) and N the
number of k points of the full mesh. ``dF/dΔ = 0`` is the usual gap equation; it
reduces to ``1/U = (1/N) sum_k tanh(E_k/2T)/(2E_k)`` for β = B = 0. We minimize
F itself (a scan plus bounded Brent refinement) rather than iterating the gap
equation, so first-order transitions (the Pauli-limited regime) land on the
global minimum and Δ = 0 is returned when the normal state is lower.

Coupling
--------
U is fixed by requiring the lattice model (with its Ising coupling, B = 0) to
have its transition exactly at ``T_c0 = e^{γ_E} Δ0 / π``: the curvature of F at
Δ = 0 vanishes there, ``1/U = S_2`` with ``S(Δ) = S_0 + S_2 Δ² + O(Δ⁴)`` the sum
above (obtained by a finite difference at ``Δ = 1e-3 T_c0``, relative error
~1e-6). The zero-temperature gap then comes out as Δ0 up to corrections of
order (Δ0/ω_c)² and the mesh error (tested).

Cutoff
------
Default ``omega_c = (2/3) E_F`` (20 Δ0 for the default mapping), inside the
pockets and well above ε0. It must exceed ``2 sqrt(β² + B²)`` so that the
finite-energy pairing region lies inside the shell.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from latticemirage import bulk
from latticemirage.dos import block_size, candidate_blocks, check_mesh
from latticemirage.mapping import LatticeMapping
from mirage_common.errors import ParameterError, check_nonnegative, check_positive

__all__ = ["DEFAULT_CUTOFF_FRACTION", "GapResult", "GapSolver", "check_cutoff",
           "minimize_free_energy", "shell_points"]

DEFAULT_CUTOFF_FRACTION = 2 / 3  # omega_c / E_F
_SCAN_POINTS = 13  # coarse scan of F on [0, delta_max] before refining
_DELTA_MAX = 1.6  # upper end of the search, in Δ0
_XATOL = 1e-7  # Brent tolerance on Δ, in Δ0
_CURVATURE_STEP = 1e-3  # finite-difference step for S_2, in T_c0


@dataclass(frozen=True)
class GapResult:
    """Self-consistent gap at one (T, B).

    Attributes
    ----------
    delta : float
        Δ in Δ0 (0 when the normal state has the lower free energy).
    temperature : float
        T in T_c0.
    field : float
        B in Δ0.
    condensation_energy : float
        ``F(Δ) − F(0)`` per site, in Δ0 (≤ 0).
    converged : bool
        Brent reached the tolerance ``_XATOL`` on Δ.
    n_evaluations : int
        Free-energy evaluations (each diagonalizes the whole shell).
    """

    delta: float
    temperature: float
    field: float
    condensation_energy: float
    converged: bool
    n_evaluations: int


@dataclass(frozen=True, eq=False)
class GapSolver:
    """Shell of k points and the linear pieces of H(k) needed for F(Δ; T, B).

    Build with `GapSolver.build`. ``H(k) = H_0 + B h_B + Δ h_Δ`` (all linear in
    B and Δ in the Builder) is stored on the shell only.

    Attributes
    ----------
    mapping : LatticeMapping
    mesh : int
    cutoff : float
        ω_c in Δ0.
    coupling : float
        U in t.
    n_shell : int
        k points in the shell.
    h0, h_field, h_pair : ndarray, shape (16, n_shell), complex
        ``H_0``, ``h_B``, ``h_Δ`` on the shell in row layout (`bulk.bloch_rows`: row
        ``4 i + j`` holds element ``(i, j)`` for all k contiguously), the layout of the
        compiled eigenvalue kernel.
    """

    mapping: LatticeMapping = field(repr=False)
    mesh: int
    cutoff: float
    coupling: float
    n_shell: int
    h0: np.ndarray = field(repr=False)
    h_field: np.ndarray = field(repr=False)
    h_pair: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, mapping, *, mesh=1000, cutoff=None, fsyst=None):
        """Precompute the shell and fix U by T_c0.

        Parameters
        ----------
        mapping : LatticeMapping
        mesh : int
            k mesh per reciprocal direction.
        cutoff : float, optional
            ω_c in Δ0; default ``(2/3) E_F``.
        fsyst : finalized wrapped system, optional
        """
        if not isinstance(mapping, LatticeMapping):
            raise TypeError("mapping must be a LatticeMapping")
        mesh = check_mesh(mesh)
        phys = mapping.physical
        cutoff = DEFAULT_CUTOFF_FRACTION * phys.e_fermi if cutoff is None else cutoff
        check_positive("cutoff", cutoff)
        if cutoff >= phys.e_fermi:
            raise ParameterError(
                "cutoff", f"must stay inside the pockets: cutoff < E_F = {phys.e_fermi:g} Δ0, "
                f"got {cutoff!r}"
            )
        fsyst = bulk.wrapped_system() if fsyst is None else fsyst
        d0 = mapping.delta0
        base = mapping.lattice_params(0.0)
        base["B"] = 0.0
        blocks0 = bulk.fourier_blocks(fsyst, base)
        blocks_b = bulk.fourier_blocks(fsyst, {**base, "B": 1.0})
        blocks_d = bulk.fourier_blocks(fsyst, {**base, "delta": 1.0})
        bare = bulk.fourier_blocks(fsyst, {**base, "lam": 0.0})  # diag (xi, xi, -xi, -xi)
        k = shell_points(bare, mesh, cutoff * d0)
        h0 = bulk.bloch_rows(blocks0, k)
        h_field = bulk.bloch_rows(blocks_b, k) - h0
        h_pair = bulk.bloch_rows(blocks_d, k) - h0
        solver = cls(
            mapping=mapping,
            mesh=mesh,
            cutoff=float(cutoff),
            coupling=np.inf,
            n_shell=len(k),
            h0=h0,
            h_field=h_field,
            h_pair=h_pair,
        )
        tc = mapping.tc0
        step = _CURVATURE_STEP * tc
        s2 = (solver._pair_sum(step, tc, 0.0) - solver._pair_sum(0.0, tc, 0.0)) / step**2
        if not s2 > 0:
            raise ParameterError("mesh", "no k points in the pairing shell; increase the mesh")
        return cls(
            mapping=mapping,
            mesh=mesh,
            cutoff=float(cutoff),
            coupling=1.0 / s2,
            n_shell=len(k),
            h0=h0,
            h_field=h_field,
            h_pair=h_pair,
        )

    def _pair_sum(self, delta_t, temperature_t, field_t):
        """``S(Δ) = (1/N) sum_{k, n} (T/2) ln 2cosh(E/2T)`` per site, in t."""
        e = np.abs(bulk.combined_rows_eigenvalues(self.h0, self.h_field, field_t,
                                                  self.h_pair, delta_t))
        if temperature_t > 0:
            # (T/2) ln(2 cosh(E/2T)) = |E|/4 + (T/2) ln(1 + exp(-|E|/T)), overflow-free.
            omega = 0.25 * e + 0.5 * temperature_t * np.log1p(np.exp(-e / temperature_t))
        else:
            omega = 0.25 * e
        return omega.sum() / self.mesh**2

    def free_energy(self, delta, *, temperature, field):
        """``F(Δ) − F(0)`` per site, in Δ0, at T (in T_c0) and B (in Δ0)."""
        m = self.mapping
        t_t, b_t, d_t = temperature * m.tc0, field * m.delta0, delta * m.delta0
        gain = self._pair_sum(d_t, t_t, b_t) - self._pair_sum(0.0, t_t, b_t)
        return (d_t**2 / self.coupling - gain) / m.delta0

    def solve(self, temperature=None, field=None):
        """Δ minimizing F at (T, B); defaults from ``mapping.physical``.

        Parameters
        ----------
        temperature : float, optional
            T in T_c0.
        field : float, optional
            B in Δ0.

        Returns
        -------
        GapResult
        """
        phys = self.mapping.physical
        temperature = phys.temperature if temperature is None else temperature
        field = phys.field if field is None else field
        check_nonnegative("temperature", temperature)
        check_nonnegative("field", field)
        check_cutoff(self.cutoff, phys.beta, field)
        m = self.mapping
        t_t, b_t = temperature * m.tc0, field * m.delta0
        s_zero = self._pair_sum(0.0, t_t, b_t)

        def f(delta):
            d_t = delta * m.delta0
            return (d_t**2 / self.coupling - (self._pair_sum(d_t, t_t, b_t) - s_zero)) / m.delta0

        # Round-off floor of F(Δ) − F(0): the shell sum S(0) carries ~1e-13 relative error.
        noise = 1e-12 * abs(s_zero) / m.delta0
        best_delta, best_f, nfev, converged = minimize_free_energy(f, noise=noise)
        return GapResult(
            delta=best_delta,
            temperature=float(temperature),
            field=float(field),
            condensation_energy=best_f,
            converged=converged,
            n_evaluations=1 + nfev,  # S(0) and the minimizer's calls
        )

    def curve(self, fields, temperature=None):
        """`solve` over an array of fields (Δ0); returns a list of `GapResult`."""
        return [self.solve(temperature=temperature, field=float(b)) for b in np.ravel(fields)]


def minimize_free_energy(f, *, noise=0.0, delta_max=_DELTA_MAX, scan_points=_SCAN_POINTS,
                         xatol=_XATOL):
    """Global minimum of a condensation energy ``f(Δ) = F(Δ) − F(0)`` on ``[0, delta_max]``.

    A coarse scan of *scan_points* values, then bounded Brent around the lowest one,
    so that a first-order transition lands on the global minimum. Δ = 0 is returned
    when no point beats the normal state by more than *noise* (the round-off floor of
    ``f``) or when the minimum sits within ``10 xatol`` of zero.

    Parameters
    ----------
    f : callable
        ``f(delta) -> float`` with ``f(0) = 0``; Δ in Δ0, f in any energy unit.
    noise : float
        Round-off floor of f (same unit).
    delta_max, xatol : float
        Search range and Brent tolerance, Δ0.
    scan_points : int

    Returns
    -------
    delta, f_min : float
    n_evaluations : int
        Calls of f.
    converged : bool
        Brent reached *xatol*.
    """
    grid = np.linspace(0.0, delta_max, scan_points)
    values = np.array([0.0] + [f(d) for d in grid[1:]])
    j = int(np.argmin(values))
    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(
        f, bounds=(lo, hi), method="bounded", options={"xatol": xatol, "maxiter": 200}
    )
    best_delta, best_f = (float(res.x), float(res.fun)) if res.fun < values[j] else (
        float(grid[j]), float(values[j]))
    if best_f >= -noise or best_delta <= 10 * xatol:
        best_delta, best_f = 0.0, 0.0
    return best_delta, best_f, scan_points - 1 + int(res.nfev), bool(res.success)


def check_cutoff(cutoff, beta, field):
    """Raise `ParameterError` unless ``cutoff >= 2 sqrt(beta² + field²)`` (all in Δ0)."""
    need = 2 * float(np.hypot(beta, field))
    if cutoff < need:
        raise ParameterError(
            "cutoff",
            f"omega_c = {cutoff:g} Δ0 must be at least 2 sqrt(beta^2 + B^2) = {need:.4g} Δ0 "
            "so that the pairing shell holds the finite-energy pairing region",
        )


def shell_points(bare_blocks, mesh, cutoff_t):
    """Cartesian mesh points with ``|xi(k)| < cutoff`` (each mesh point once), shape (n, 2).

    *bare_blocks*: `bulk.fourier_blocks` without Ising coupling and field (``xi`` is their
    first diagonal element); the Γ-centred *mesh* x *mesh* grid of the reciprocal vectors,
    which is also the k grid of a clean *mesh* x *mesh* supercell without twist; *cutoff_t*
    in t.
    """
    m = block_size(mesh, 200)
    cand = candidate_blocks(bare_blocks, mesh, m, -cutoff_t, cutoff_t)
    recip = bulk.reciprocal_vectors()
    local = np.arange(m)
    la, lb = np.meshgrid(local, local, indexing="ij")
    ia = (cand[:, 0, None, None] * m + la[None]).reshape(-1)
    ib = (cand[:, 1, None, None] * m + lb[None]).reshape(-1)
    k = np.stack([ia, ib], axis=-1) / mesh @ recip
    h = bulk.bloch_hamiltonian(bare_blocks, k)
    xi = h[:, 0, 0].real
    return k[np.abs(xi) < cutoff_t]

