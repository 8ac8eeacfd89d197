r"""Self-consistent gap on disordered periodic supercells: uniform Δ and site-resolved Δ_i.

Model and the real-space form of the cutoff
-------------------------------------------
The clean lattice gap (`latticemirage.gap`) pairs only the k states of the shell
``|xi(k)| < omega_c`` of the spin-independent band ``xi`` (no Ising coupling, field or
pairing). Its real-space form here is the spectral projector of the spin-independent
normal Hamiltonian *of the realization*,

.. math::

    P = \theta\big(\omega_c - |h_\xi|\big), \qquad
    h_\xi = -t \sum_{\langle ij \rangle} c^\dagger_i c_j - \mu + V_i ,

including the disorder potential ``V`` (``h_xi`` is the electron spin-up block of the
supercell at ``lam = B = delta = 0``, read from the Builder). Pairing acts among the M
exact eigenstates ``phi_a`` of ``h_xi`` with ``|eps_a| < omega_c`` (Anderson's "exact
eigenstates", here with the spin-orbit and Zeeman matrix elements between them kept
in full): the BdG Hamiltonian is projected on ``P`` x spin x Nambu,
``H_P = Q^T H Q`` with ``Q = Phi_shell (x) 1_4``, a dense 4M x 4M matrix. In the clean
limit the ``phi_a`` are plane waves of the supercell's k grid, ``P`` is exactly the
k shell of `latticemirage.gap`, and ``H_P`` is block diagonal in k: a clean L x L
supercell with the four twists ``{0, pi}^2`` reproduces `GapSolver` on the mesh 2L
to round-off (tested). Spin-orbit and Zeeman matrix elements from the shell to the
outside, absent in the clean limit, are dropped; they are of order β, B ≪ ω_c and act
only at the shell edge.

Free energy and gap equation
----------------------------
For a uniform Δ (real, in t) the grand potential per site, up to Δ-independent terms,
is that of `latticemirage.gap` with the k sum replaced by the shell eigenvalues
``E_n(Δ)`` of ``H_P`` (4M of them), averaged over the boundary twists:

.. math::

    F(\Delta) = \frac{\Delta^2}{U} - \frac{1}{N_{tw} L^2} \sum_{tw} \sum_{n}
                \frac{T}{2} \ln 2\cosh\frac{E_n}{2T}.

``dF/dΔ = 0`` is the gap equation ``2Δ/U = (1/4N) Σ_n tanh(E_n/2T) <n|∂H/∂Δ|n>``
(Hellmann-Feynman; the right side is the realization's anomalous average, summed over
the sites); `UniformResult.gap_equation_residual` reports how well it holds. F is minimized
(`latticemirage.gap.minimize_free_energy`: scan, then bounded Brent), so a first-order
transition lands on the global minimum, as for the clean gap.

Site-resolved: ``Δ_i`` on every site, pairing ``Σ_i Δ_i P_i`` projected in the same
way; ``F = Σ_i Δ_i²/U − Σ_n (T/2) ln 2cosh(E_n/2T)``, whose stationarity is

.. math::

    \Delta_i = \frac{U}{8 N_{tw}} \sum_{tw} \sum_n \tanh\frac{E_n}{2T}\,
               \langle n | \partial H/\partial\Delta_i | n\rangle ,

iterated to a fixed point from the uniform solution.

Interaction
-----------
U is fixed by the clean T_c0 exactly as for the clean lattice gap: it is
`GapSolver.build`'s U on the converged clean lattice (`COUPLING_MESH`), the same
number for every supercell and realization. The clean supercell then reproduces the
clean lattice Δ(B) once its k grid (L x twists) is fine enough (mesh >= ~200 at the test
point, measured). On coarser grids the clean supercell is off: its shell holds a
commensurability-dependent number of states and Δ ∝ exp(−1/(N_0 U)) is very
sensitive to that count (measured: a clean 20 x 20 supercell with the twists {0, pi}^2,
i.e. mesh 40, gives Δ = 1.27 instead of 1.00 at B = 0). Disorder randomizes the
levels, so a disordered supercell with a level broadening above the level spacing
approaches the continuum, but weak disorder on a small supercell inherits this bias.
The U of the clean supercell itself (its own T_c at T_c0) is
`clean_coupling(mapping, mesh=equivalent_mesh(L, twists))`.

Cost (measured, see ``benchmarks/bench_selfconsistent.py``)
-----------------------------------------------------------
The shell eigenstates of ``h_xi`` per twist (`latticemirage.disorder.shell`: dense ``eigh``
of L² x L² up to 64², O(L⁶); above, sparse spectrum slicing, ~0.1 s per shell state at 300²),
the projection (one GEMM of M x L² x M for the Ising blocks; the others are diagonal in the
shell basis), then one ``eigvalsh`` of size 2M (the chiral blocks, ``M ≈ 2 omega_c N_0 L²``)
per twist and free-energy evaluation (~12 with a bracket, ~25 without). At B = 0 one
Hermitian ``eigvalsh`` of size M gives the spectrum for every Δ (`_zero_field_levels`).
Chebyshev (KPM) expansion of the Fermi function was measured against it and rejected:
the stochastic trace of the anomalous average has a relative error per random vector
far larger than the required 1e-3 (see the benchmark), and the Fermi function at
T = 0.1 T_c0 needs ``M ≳ a / T ~ 10^4`` moments.
"""

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy import optimize
from threadpoolctl import threadpool_limits

from latticemirage import bulk, estimates
from latticemirage.disorder import band
from latticemirage.disorder import shell as shell_mod
from latticemirage.disorder import supercell as scm
from latticemirage.gap import (
    DEFAULT_CUTOFF_FRACTION,
    GapSolver,
    check_cutoff,
    minimize_free_energy,
    shell_points,
)
from latticemirage.mapping import LatticeMapping
from mirage_common.errors import ParameterError, check_nonnegative, check_positive
from mirage_common.statistics import ratio_of_averages, standard_error

__all__ = [
    "BRACKET_XATOL",
    "SITE_TOL",
    "TWIST_SETS",
    "ShellHamiltonian",
    "SiteResolvedResult",
    "UniformResult",
    "chiral_blocks",
    "clean_coupling",
    "equivalent_mesh",
    "onsite_difference",
    "realization_estimate",
    "shell_hamiltonians",
    "shell_states_estimate",
    "solve_site_resolved",
    "solve_uniform",
    "twist_list",
    "zero_field_shells",
]

# grid:1 = none, grid:2 = pi; "diagonal" = {(0, 0), (pi, pi)}: half the cost of "pi", the
# k points of the 2L mesh with an even index sum (a centred grid of twice the density).
TWIST_SETS = ("none", "pi", "diagonal", "grid:N")
_PROJECT_TOL = 1e-12  # relative: blocks equal up to round-off of the Builder's values
_PROJECT_CHUNK = 512  # columns of phi per GEMM of the projection (bounds the temporary)
COUPLING_MESH = 600  # k mesh of the clean lattice gap that fixes U (Δ converged to ~1e-4 there)
SITE_TOL = 1e-5  # Δ0: fixed-point tolerance of the site-resolved iteration (max change)
_SITE_MAXITER = 300
_DELTA_MAX = 2.0  # Δ0: upper end of the search for the uniform Δ
BRACKET_XATOL = 1e-5  # Δ0: Brent tolerance of a bracketed search (standard errors are ~1e-3)
_GUARD_MESH = 300  # k mesh of the clean lattice Δ for the guard when U is given (~3e-3 Δ0)


def _grid_order(twists):
    """N of the twist set: "none" -> 1, "pi" -> 2, "grid:N" -> N ("diagonal": no N)."""
    if twists == "diagonal":
        raise ParameterError("twists", "the diagonal twist set {(0, 0), (pi, pi)} is no "
                             "square k mesh (no equivalent GapSolver mesh)")
    if twists == "none":
        return 1
    if twists == "pi":
        return 2
    if isinstance(twists, str) and twists.startswith("grid:") and twists[5:].isdigit():
        n = int(twists[5:])
        if n >= 1:
            return n
    raise ParameterError("twists", f"must be one of {TWIST_SETS} (N >= 1), got {twists!r}")


def twist_list(twists):
    """The N x N boundary twists ``2 pi (j1, j2) / N`` of a twist set (or the diagonal pair)."""
    if twists == "diagonal":
        return ((0.0, 0.0), (np.pi, np.pi))
    n = _grid_order(twists)
    return tuple((2 * np.pi * j1 / n, 2 * np.pi * j2 / n) for j1 in range(n) for j2 in range(n))


def equivalent_mesh(size, twists):
    """k mesh of `GapSolver` equal to a clean L x L supercell with the twist set *twists*.

    The twists ``2 pi j / N`` put the supercell's k points at ``(m + j/N) / L`` of the
    reciprocal vectors: together the Gamma-centred mesh ``N L``.
    """
    return int(size) * _grid_order(twists)


def _cutoff_t(mapping, cutoff):
    cutoff = DEFAULT_CUTOFF_FRACTION * mapping.physical.e_fermi if cutoff is None else cutoff
    check_positive("cutoff", cutoff)
    return float(cutoff), float(cutoff) * mapping.delta0


def clean_coupling(mapping, *, cutoff=None, mesh=COUPLING_MESH, fsyst=None):
    """U (in t) fixed by T_c0 on the clean lattice, exactly as `GapSolver.build` does.

    *mesh* defaults to `COUPLING_MESH` (the converged clean lattice). ``mesh =
    equivalent_mesh(L, twists)`` gives instead the U of the clean supercell of that size
    (its own transition at T_c0).
    """
    cutoff, _ = _cutoff_t(mapping, cutoff)
    return GapSolver.build(mapping, mesh=mesh, cutoff=cutoff, fsyst=fsyst).coupling


def shell_states_estimate(mapping, size, cutoff=None):
    """M, the number of shell states per twist, from the clean L x L k grid (no twist).

    Disorder changes it little (300², W = 0.29 t at the default scale: 3471 against the
    clean 3468); used for memory and time estimates before anything is built.
    """
    _, cutoff_t = _cutoff_t(mapping, cutoff)
    bare = bulk.fourier_blocks(bulk.wrapped_system(),
                               {**mapping.lattice_params(0.0), "lam": 0.0, "B": 0.0})
    return len(shell_points(bare, int(size), cutoff_t))


def realization_estimate(mapping, size, twists, cutoff=None, *, zero_field=True, full=False):
    """`latticemirage.estimates.shell_gap` of one realization before anything is built: M
    from `shell_states_estimate` (ω_c = *cutoff* in Δ0), the twists counted from their set."""
    return estimates.shell_gap(int(size) ** 2, shell_states_estimate(mapping, size, cutoff),
                               len(twist_list(twists)), zero_field=zero_field, full=full)


@dataclass(frozen=True, eq=False)
class ShellHamiltonian:
    """The BdG Hamiltonian of one twist projected on the pairing shell.

    ``H_P(Δ) = h0 + Δ h_pair`` (Δ uniform, in t); orbital index ``4 a + o`` with ``a``
    the shell state and ``o`` the per-site orbital of the supercell's (real) basis.

    Attributes
    ----------
    h0, h_pair : ndarray, shape (4M, 4M)
        Real symmetric for twists in {0, pi} (real basis of
        `latticemirage.disorder.supercell`), else complex Hermitian (model basis).
    phi : ndarray, shape (L1 L2, M), or None
        Shell eigenstates of ``h_xi`` (orthonormal columns; real for twists in {0, pi});
        None when built with ``keep_states=False`` (2.5 GB per twist at 300²).
    eps : ndarray, shape (M,)
        Their energies, t.
    pair_block : ndarray, shape (4, 4)
        On-site pairing matrix per unit Δ (same basis).
    twist : (float, float)
    chiral : (ndarray, ndarray) or None
        `chiral_blocks` precomputed by a *compact* shell, whose ``h0`` and ``h_pair`` are
        then None (memory: the two 4M x 4M matrices, 3 GB at 300² and the default scale,
        are dropped once their 2M x 2M blocks are known).
    """

    h0: np.ndarray = field(repr=False)
    h_pair: np.ndarray = field(repr=False)
    phi: np.ndarray = field(repr=False)
    eps: np.ndarray = field(repr=False)
    pair_block: np.ndarray = field(repr=False)
    twist: tuple
    chiral: tuple = field(default=None, repr=False)

    @property
    def shell_states(self):
        return len(self.eps)


def shell_hamiltonians(params, size, cutoff_t, *, potential=None, twists="pi", blocks=None,
                       reuse=None, ising=None, eigensolver="auto", compact=False,
                       keep_states=True):
    """Project the supercell BdG Hamiltonian on the pairing shell, one per twist.

    Parameters
    ----------
    params : dict
        Model parameters in t (``delta`` is ignored: the pairing is added per Δ).
    size : int
        Supercell L.
    cutoff_t : float
        ω_c in t.
    potential : ndarray, shape (L, L), optional
        Disorder potential in t.
    twists : {"none", "pi", "grid:N"}
    blocks : dict, optional
        `bulk.fourier_blocks` of *params* with ``delta = 0``.
    reuse : list of ShellHamiltonian, optional
        Shells of the same realization, size, cutoff and twists at other Ising, field or
        pairing parameters: their eigenstates of ``h_xi`` (which depend on neither) are
        reused and only the projection is redone (the dense ``eigh``, most of the cost,
        is skipped).
    ising : band.LatticeIsing or band.ValleyIsing, optional
        The Ising operator (default the Builder's). `band.ValleyIsing`, the ideal valley
        operator of the diagnostic model variant, is projected in k space
        (`band.project_ising`) on the supercell's twisted plane waves.
    eigensolver : {"auto", "dense", "sparse"}
        How the shell eigenstates of ``h_xi`` are found (`shell.shell_eigenpairs`: dense
        ``eigh`` or sparse spectrum slicing with an inertia-checked count; the same
        subspace, so the same Δ to round-off).
    compact : bool
        Keep only the chiral blocks of each twist (``h0 = h_pair = None``, see
        `ShellHamiltonian.chiral`) where they exist: what the uniform solve needs, at a
        quarter of the memory.
    keep_states : bool
        Keep the eigenstates ``phi`` (needed by *reuse* and the site-resolved solver);
        False drops each twist's once it is projected (`zero_field_shells` needs none).

    Returns
    -------
    list of ShellHamiltonian
    """
    # Dense LAPACK on small matrices: OpenBLAS threads only contend (measured 100x slower
    # for a 576 x 576 eigh on a loaded 2-core machine); one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        return _shell_hamiltonians(params, size, cutoff_t, potential, twists, blocks, reuse,
                                   ising, eigensolver, compact, keep_states)


def _shell_hamiltonians(params, size, cutoff_t, potential, twists, blocks, reuse=None,
                        ising=None, eigensolver="auto", compact=False, keep_states=True):
    shape = (int(size), int(size))
    base = {**params, "delta": 0.0}
    kspace = ising is not None and ising.kind != "lattice"
    if kspace:  # the Builder's Ising term off; the operator is added in k space below
        base["lam"] = 0.0
        blocks = None
    fsyst = None
    if blocks is None:
        fsyst = bulk.wrapped_system()
        blocks = bulk.fourier_blocks(fsyst, base)
    fsyst = bulk.wrapped_system() if fsyst is None else fsyst
    pair_blocks = bulk.fourier_blocks(fsyst, {**base, "delta": 1.0})
    xi_blocks = bulk.fourier_blocks(fsyst, {**base, "lam": 0.0, "B": 0.0})
    xi_blocks = {n: h[:1, :1].copy() for n, h in xi_blocks.items()}
    out = []
    twist_set = twist_list(twists)
    if reuse is not None and len(reuse) != len(twist_set):
        raise ValueError("reuse: shells of another twist set")
    for k, twist in enumerate(twist_set):
        real = all(abs(np.sin(x)) < 1e-12 for x in twist)
        if real:  # exactly 0 or pi: keeps every matrix real
            twist = tuple(float(np.pi * round(x / np.pi)) for x in twist)
        h_xi, slots = scm.tile(xi_blocks, shape, twist, dtype=float if real else complex)
        if potential is not None:
            scm.add_potential(h_xi, slots, np.asarray(potential).reshape(-1), norbs=1)
        if reuse is not None:
            eps, phi = reuse[k].eps, reuse[k].phi
        else:
            # Only the shell (|eps| < omega_c, ~15 % of the states) is needed: dense evx
            # (skips the back-transformation of the rest, measured 1.6x at L = 64) or,
            # above the crossover, sparse spectrum slicing (`shell.shell_eigenpairs`).
            eps, phi = shell_mod.shell_eigenpairs(h_xi, cutoff_t, method=eigensolver)
        cell = scm.supercell(base, shape, twist=twist, potential=potential, real=real,
                             blocks=blocks)
        h = cell.matrix
        # The pairing per unit Δ: the difference of the clean matrices at delta = 1 and 0.
        hp = sp.csr_matrix(scm.supercell({**base, "delta": 1.0}, shape, twist=twist, real=real,
                                         blocks=pair_blocks).matrix
                           - scm.supercell(base, shape, twist=twist, real=real,
                                           blocks=blocks).matrix)
        hp.eliminate_zeros()
        pair_block = hp[:4, :4].toarray()
        h0 = _project(h, phi, h_xi=h_xi, eps=eps)
        if kspace:
            kpts = band.twisted_kpoints(size, twist)
            so = band.project_ising(phi, ising.beta_k(params, kpts), ising.beta_k(params, -kpts),
                                    size, twist, cell.basis)
            h0 = h0 + (so.real if real else so)
        # A compact real shell with on-site pairing (uniform Δ: always) needs neither the
        # dense 4M x 4M pairing matrix (1.5 GB at 300²) nor its transformation.
        chiral = None
        m = len(eps)
        if compact and real and _is_onsite(hp, pair_block):
            d_pair = _chiral_onsite(pair_block, m)
            d0 = _chiral_quarter(h0, m) if d_pair is not None else None
            if d0 is not None:
                chiral = (d0, d_pair)
        if chiral is not None:
            shell = ShellHamiltonian(h0=None, h_pair=None, phi=phi, eps=eps,
                                     pair_block=pair_block, twist=tuple(twist), chiral=chiral)
        else:
            shell = ShellHamiltonian(
                h0=h0, h_pair=_project(hp, phi, h_xi=h_xi, eps=eps), phi=phi, eps=eps,
                pair_block=pair_block, twist=tuple(twist))
            if compact:
                blocks_ = chiral_blocks(shell)
                if blocks_ is not None:
                    shell = dataclasses.replace(shell, h0=None, h_pair=None, chiral=blocks_)
        del h0
        if not keep_states:
            shell = dataclasses.replace(shell, phi=None)
        del phi
        out.append(shell)
    return out


def _is_onsite(matrix, block):
    """Whether the sparse *matrix* is ``1 (x) block`` (the same 4 x 4 block on every site)."""
    n = matrix.shape[0] // 4
    return abs(sp.csr_matrix(matrix) - sp.kron(sp.eye(n), block, format="csr")).max() <= (
        _PROJECT_TOL * max(float(np.max(np.abs(block))), 1.0))


def onsite_difference(params, other, *, real=True):
    """The 4 x 4 on-site block of ``H(params) − H(other)`` if that is all they differ by.

    The supercell matrices of both (clean, ``delta = 0``, no twist; a 3 x 3 supercell, so
    that no bond wraps onto its own site) are subtracted; the difference must be the same
    constant 4 x 4 block on every site and nothing between sites (an in-plane Zeeman field:
    ``B`` enters on site only). Projected on any orthonormal shell it is then
    ``1_M (x) block`` exactly, with no eigenstates needed (`zero_field_shells`).

    Parameters
    ----------
    params, other : dict
        Model parameters in t.
    real : bool
        The supercell's real basis (twists in {0, pi}) or the model basis.

    Returns
    -------
    ndarray, shape (4, 4), or None
        None when the difference is not a uniform on-site block.
    """
    shape = (3, 3)
    a = scm.supercell({**params, "delta": 0.0}, shape, real=real).matrix
    b = scm.supercell({**other, "delta": 0.0}, shape, real=real).matrix
    diff = sp.csr_matrix(a - b).toarray().reshape(9, 4, 9, 4)
    block = diff[0, :, 0, :]
    tol = _PROJECT_TOL * max(float(np.max(np.abs(diff))), 1.0)
    expected = np.einsum("ij,ab->iajb", np.eye(9), block)
    if np.max(np.abs(diff - expected)) > tol:
        return None
    return block


def zero_field_shells(shells, params, other):
    """The shells of *other* from those of *params* (same realization) when they differ
    on site only.

    ``H(other) = H(params) − 1 (x) Z`` with ``Z`` = `onsite_difference` (an in-plane field
    and its absence), so on the shell ``h0(other) = h0(params) − 1_M (x) Z`` exactly (the
    columns of ``phi`` are orthonormal): no eigenstates and no projection (at 300² the
    eigenstates are 2.5 GB per twist and their projection ~30 s). Compact shells change
    only the 2 x 2 diagonal blocks of their chiral ``D0``.

    Parameters
    ----------
    shells : list of ShellHamiltonian
        Built from *params* (``keep_states`` either way).
    params, other : dict
        Model parameters in t.

    Returns
    -------
    list of ShellHamiltonian

    Raises
    ------
    ValueError
        When the two differ by more than a uniform on-site block.
    """
    out = []
    blocks = {}  # the difference per basis, computed once: real (chiral shells) or model
    for sh in shells:
        m = sh.shell_states
        real = not np.iscomplexobj(sh.chiral[0] if sh.chiral is not None else sh.h0)
        if real not in blocks:
            blocks[real] = onsite_difference(params, other, real=real)
        block = blocks[real]
        if block is None:
            raise ValueError("other: differs from params by more than a uniform on-site block")
        if sh.chiral is not None:
            # the difference must keep the chiral structure itself (diagonal quarters vanish)
            q = _chiral_onsite_block(block, atol=_PROJECT_TOL)
            if q is None:
                raise ValueError("other: the difference breaks the chiral symmetry of the shells")
            d0 = sh.chiral[0].copy()
            d0.reshape(m, 2, m, 2)[np.arange(m), :, np.arange(m), :] -= q
            out.append(dataclasses.replace(sh, chiral=(d0, sh.chiral[1])))
        else:
            h0 = sh.h0.copy()
            h0.reshape(m, 4, m, 4)[np.arange(m), :, np.arange(m), :] -= block
            out.append(dataclasses.replace(sh, h0=h0))
    return out


def _project(matrix, phi, *, h_xi=None, eps=None):
    """``Q^H H Q`` with ``Q = phi (x) 1_4``: per orbital pair, ``phi^H H_oo' phi``.

    Most of the 16 orbital blocks need no GEMM (each costs 2 M² L² flops, 2·10¹² at 300²):
    an on-site constant ``c 1`` projects to ``c 1_M`` and ``±h_xi + c 1`` (the normal
    blocks, with *h_xi* the sites' ``h_xi`` whose eigenpairs are ``eps, phi``) to
    ``±diag(eps) + c 1_M``, both because the columns of *phi* are orthonormal
    eigenvectors; a block equal to ``±`` an earlier one or its (conjugate) transpose
    reuses that projection. What is left (the Ising blocks) is projected in column
    chunks, so no ``L² x M`` temporary is held.
    """
    matrix = sp.csr_matrix(matrix)
    m = phi.shape[1]
    out = np.zeros((m, 4, m, 4), dtype=np.result_type(matrix.dtype, phi.dtype))
    done = []
    for o in range(4):
        rows = matrix[o::4]
        for o2 in range(4):
            block = sp.csr_matrix(rows[:, o2::4])
            block.eliminate_zeros()
            if block.nnz == 0:
                continue
            out[:, o, :, o2] = _project_block(block, phi, h_xi, eps, done)
    return out.reshape(4 * m, 4 * m)


def _constant_diagonal(block, tol):
    """``c`` if *block* is ``c 1`` to *tol*, else None."""
    d = block.diagonal()
    off = block - sp.diags(d)
    if (off.nnz and np.max(np.abs(off.data)) > tol) or np.ptp(d) > tol:
        return None
    return d[0]


def _project_block(block, phi, h_xi, eps, done):
    m = phi.shape[1]
    tol = _PROJECT_TOL * max(float(np.max(np.abs(block.data))), 1.0)
    c = _constant_diagonal(block, tol)
    if c is not None:
        return c * np.eye(m)
    if h_xi is not None:
        for sign in (1.0, -1.0):
            c = _constant_diagonal(sp.csr_matrix(block - sign * h_xi), tol)
            if c is not None:
                return np.diag(sign * eps + c)
    for earlier, projected in done:
        for sign in (1.0, -1.0):
            if abs(block - sign * earlier).max() <= tol:
                return sign * projected
            if abs(block - sign * earlier.conj().T).max() <= tol:
                return sign * projected.conj().T
    projected = np.empty((m, m), dtype=np.result_type(block.dtype, phi.dtype))
    phi_h = phi.conj().T
    for j in range(0, m, _PROJECT_CHUNK):
        projected[:, j:j + _PROJECT_CHUNK] = phi_h @ (block @ phi[:, j:j + _PROJECT_CHUNK])
    done.append((block, projected))
    return projected


def chiral_blocks(shell):
    """The off-diagonal blocks of a shell Hamiltonian in the basis of its chiral symmetry.

    The BdG Hamiltonian of the model anticommutes with ``1 (x) c`` for a fixed 4 x 4
    ``c`` on the site orbitals (particle-hole symmetry times the antiunitary
    ``sigma_x K`` that Ising coupling, an in-plane field, real Δ and scalar disorder
    all respect; in the real basis of `latticemirage.disorder.supercell` ``c`` is real,
    ones on the antidiagonal). Then ``H_P = [[0, D], [D^T, 0]]`` in the eigenbasis of
    ``c`` and the 4M energies are ``±`` the 2M singular values of ``D``: the free energy
    needs ``eigvalsh(D D^T)`` of size 2M instead of ``eigvalsh(H_P)`` of size 4M (about
    6x fewer flops, measured 5-7x faster; the squared energies lose nothing at the
    ratio ``(omega_c / Δ)^2 ~ 10^2`` of these shells).

    Returns
    -------
    (ndarray, ndarray) or None
        ``(D0, D_pair)``, shape (2M, 2M), with ``D(Δ) = D0 + Δ D_pair``; None when the
        shell is complex (twists outside {0, pi}) or the symmetry does not hold to 1e-10
        relative (then the full matrix is diagonalized).
    """
    if shell.chiral is not None:
        return shell.chiral
    if np.iscomplexobj(shell.h0):
        return None
    out = [_chiral_quarter(h, shell.shell_states) for h in (shell.h0, shell.h_pair)]
    return None if any(q is None for q in out) else tuple(out)


# The chiral basis of the 4 site orbitals. Columns: the +1 eigenvectors (e0 + e3, e1 + e2)
# and the -1 ones (e0 - e3, e1 - e2) of the chiral operator c (ones on the antidiagonal).
_R = 1 / np.sqrt(2)
_CHIRAL_W = np.array([[_R, 0, _R, 0], [0, _R, 0, _R], [0, _R, 0, -_R], [_R, 0, -_R, 0]])


def _chiral_quarter(h, m):
    """The off-diagonal quarter ``D`` (2M x 2M) of a real 4M x 4M shell matrix in the chiral
    basis, or None when its diagonal quarters do not vanish (to 1e-10 relative)."""
    w = _CHIRAL_W
    h4 = h.reshape(m, 4, m, 4)
    # One quarter at a time (each 2M x 2M): the whole transformed matrix would be a
    # second 4M x 4M array (1.5 GB at 300²).
    quarter = {(i, j): np.einsum("aobp,oi,pj->aibj", h4, w[:, 2 * i:2 * i + 2],
                                 w[:, 2 * j:2 * j + 2], optimize=True)
               for i, j in ((0, 0), (1, 1), (0, 1))}
    scale = max(max(float(np.max(np.abs(q))) for q in quarter.values()), 1e-300)
    if (np.max(np.abs(quarter[0, 0])) > 1e-10 * scale
            or np.max(np.abs(quarter[1, 1])) > 1e-10 * scale):
        return None
    return np.ascontiguousarray(quarter[0, 1].reshape(2 * m, 2 * m))


def _chiral_onsite_block(block, atol=None):
    """The 2 x 2 off-diagonal quarter q of an on-site 4 x 4 *block* in the chiral basis, or
    None when its diagonal quarters do not vanish (to 1e-10 relative, as `_chiral_quarter`,
    or to *atol*)."""
    z = _CHIRAL_W.T @ block @ _CHIRAL_W
    if atol is None:
        atol = 1e-10 * max(float(np.max(np.abs(z))), 1e-300)
    if max(np.max(np.abs(z[:2, :2])), np.max(np.abs(z[2:, 2:]))) > atol:
        return None
    return z[:2, 2:]


def _chiral_onsite(block, m):
    """`_chiral_quarter` of ``1_M (x) block`` without forming it: ``1_M (x) q``, q 2 x 2."""
    q = _chiral_onsite_block(block)
    return None if q is None else np.kron(np.eye(m), q)


def _zero_field_levels(blocks):
    r"""The levels λ_n that give the whole spectrum for every Δ, or None.

    With ``D_pair = c (1_M (x) J)``, ``J = [[0, 1], [-1, 0]]``, and ``D0`` commuting with
    ``1_M (x) J`` (no in-plane field: the Ising term and the disorder keep ``s_z``), the real
    2M x 2M ``D(Δ)`` is the complex M x M ``C + i c Δ`` with ``C = A + iB`` Hermitian
    (``D0 = A (x) 1 + B (x) J``). Its singular values are ``sqrt(λ_n² + c² Δ²)`` (twice
    each), λ_n the eigenvalues of C: Anderson's pairing of time-reversed partners, exact
    for every realization. One ``eigvalsh`` of size M then serves the whole Δ search
    (the zero-field reference costs one evaluation instead of ~12). None when the
    structure does not hold to 1e-12 relative (a field, complex shells).
    """
    if blocks is None:
        return None
    d0, dp = blocks
    scale = max(float(np.max(np.abs(d0))), 1e-300)
    c = float(dp[0, 1])
    tol = 1e-12
    a, b = d0[0::2, 0::2], d0[0::2, 1::2]
    if (c == 0
            or np.max(np.abs(dp[0::2, 1::2] - c * np.eye(len(a)))) > tol * abs(c)
            or np.max(np.abs(dp[1::2, 0::2] + c * np.eye(len(a)))) > tol * abs(c)
            or np.max(np.abs(dp[0::2, 0::2])) > tol * abs(c)
            or np.max(np.abs(dp[1::2, 1::2])) > tol * abs(c)
            or np.max(np.abs(a - d0[1::2, 1::2])) > tol * scale
            or np.max(np.abs(b + d0[1::2, 0::2])) > tol * scale):
        return None
    return sla.eigvalsh(a + 1j * b, check_finite=False), c


def _gram(blocks):
    """``(G0, S, q q^T)`` with ``D(Δ) D(Δ)^T = G0 + Δ S + Δ² (1_M (x) q q^T)``, or None.

    For on-site pairing ``D_pair = 1_M (x) q`` (q 2 x 2; checked to 1e-12 relative), so
    ``G0 = D0 D0^T`` (one GEMM, once) and ``S = D0 D_pair^T + D_pair D0^T`` (O(M²)) turn
    each free-energy evaluation of the Δ search into additions and the ``eigvalsh``: the
    GEMM per evaluation (about a third of it at 300²) is done once. None without chiral
    blocks or for another pairing (then `_shell_omega` multiplies per evaluation).
    """
    if blocks is None:
        return None
    d0, dp = blocks
    m = dp.shape[0] // 2
    q = dp[:2, :2].copy()
    dp4 = dp.reshape(m, 2, m, 2)
    diag = dp4[np.arange(m), :, np.arange(m), :]
    scale = max(float(np.max(np.abs(q))), 1e-300)
    if np.max(np.abs(diag - q)) > 1e-12 * scale:
        return None
    off = dp4.copy()
    off[np.arange(m), :, np.arange(m), :] = 0.0
    if np.max(np.abs(off)) > 1e-12 * scale:
        return None
    del off
    g0 = d0 @ d0.T
    # D0 (1 (x) q)^T: each 2-column group of D0 times q^T
    x = np.einsum("rbj,ij->rbi", d0.reshape(2 * m, m, 2), q).reshape(2 * m, 2 * m)
    return g0, x + x.T, q @ q.T


def _shell_omega(shell, blocks, d_t, temperature_t, levels=None, gram=None):
    """``sum_n (T/2) ln 2cosh(E_n/2T)`` of one shell at uniform Δ = *d_t* (t)."""
    if levels is not None:
        lam, c = levels
        return 4 * _omega(np.sqrt(lam**2 + (c * d_t) ** 2), temperature_t)
    if blocks is None:
        return _omega(sla.eigvalsh(shell.h0 + d_t * shell.h_pair, check_finite=False),
                      temperature_t)
    if gram is not None:
        g0, sym, qq = gram
        g = g0 + d_t * sym
        m = len(g) // 2
        g.reshape(m, 2, m, 2)[np.arange(m), :, np.arange(m), :] += d_t**2 * qq
        e2 = sla.eigvalsh(g, check_finite=False, overwrite_a=True)
    else:
        d = blocks[0] + d_t * blocks[1]
        e2 = sla.eigvalsh(d @ d.T, check_finite=False, overwrite_a=True)
    e = np.sqrt(np.clip(e2, 0.0, None))
    return 2 * _omega(e, temperature_t)  # each singular value is a ± pair


def _shell_anomalous(shell, blocks, d_t, temperature_t, levels=None):
    """``sum_n tanh(E_n/2T) <n|h_pair|n>`` of one shell at uniform Δ = *d_t* (t).

    By Hellmann-Feynman ``<n|h_pair|n> = dE_n/dΔ``. With the chiral blocks the 4M
    energies are the ± pairs of the singular values ``s_k`` of ``D = D0 + Δ D_pair``,
    so the sum is ``2 sum_k tanh(s_k/2T) ds_k/dΔ`` with ``ds_k/dΔ = u_k^T D_pair v_k =
    u_k^T D_pair D^T u_k / s_k`` (``D D^T u_k = s_k² u_k``, ``v_k = D^T u_k / s_k``): one
    eigendecomposition of size 2M instead of 4M (measured 6x faster at L = 64, the same
    sum to round-off, tested). The full matrix is used without chiral blocks or when a
    singular value is too small to divide by. With *levels* (`_zero_field_levels`) the
    energies are ``s_n = sqrt(λ_n² + c²Δ²)``, four per level, ``ds_n/dΔ = c²Δ/s_n``.
    """
    if levels is not None:
        lam, c = levels
        s = np.sqrt(lam**2 + (c * d_t) ** 2)
        weights = np.tanh(s / (2 * temperature_t)) if temperature_t > 0 else np.ones_like(s)
        return 4 * float(np.sum(weights * c**2 * d_t / s))
    if blocks is not None:
        d = blocks[0] + d_t * blocks[1]
        e2, u = sla.eigh(d @ d.T, check_finite=False)
        s = np.sqrt(np.clip(e2, 0.0, None))
        if s.min() > 1e-8 * max(s.max(), 1e-300):
            slope = np.sum(u * (blocks[1] @ (d.T @ u)), axis=0) / s
            weights = np.tanh(s / (2 * temperature_t)) if temperature_t > 0 else np.ones_like(s)
            return 2 * float(np.sum(weights * slope))
    h0, h_pair = shell.h0, shell.h_pair
    if h0 is None:  # a compact shell: the same operators in the chiral basis
        h0, h_pair = (np.block([[np.zeros_like(x), x], [x.T, np.zeros_like(x)]])
                      for x in blocks)
    e, v = sla.eigh(h0 + d_t * h_pair, check_finite=False)
    weights = np.tanh(e / (2 * temperature_t)) if temperature_t > 0 else np.sign(e)
    # <n|h_pair|n> for all n at once (a GEMM; einsum over three operands is not)
    diag = np.sum(v.conj() * (h_pair @ v), axis=0).real
    return float(np.sum(weights * diag))


def _omega(e, temperature_t):
    """``(T/2) ln 2cosh(E/2T)`` summed, overflow-free (as `latticemirage.gap`)."""
    e = np.abs(e)
    if temperature_t > 0:
        return float(np.sum(0.25 * e + 0.5 * temperature_t * np.log1p(np.exp(-e / temperature_t))))
    return float(np.sum(0.25 * e))


@dataclass(frozen=True)
class UniformResult:
    """Self-consistent uniform Δ of one realization.

    Attributes
    ----------
    delta : float
        Δ in Δ0 (0 when the normal state is lower).
    condensation_energy : float
        ``F(Δ) − F(0)`` per site, Δ0.
    gap_equation_residual : float
        ``1 − U F̄ / Δ`` at the solution (Hellmann-Feynman anomalous average), 0 at an
        interior minimum; NaN when Δ = 0.
    coupling : float
        U in t.
    shell_states : int
        Mean number M of shell states per twist.
    n_evaluations : int
    converged : bool
    seconds : float
    """

    delta: float
    condensation_energy: float
    gap_equation_residual: float
    coupling: float
    shell_states: int
    n_evaluations: int
    converged: bool
    seconds: float


def _checked(mapping, temperature, coupling):
    if not isinstance(mapping, LatticeMapping):
        raise TypeError("mapping must be a LatticeMapping")
    check_nonnegative("temperature", temperature)
    check_positive("coupling", coupling)


def solve_uniform(mapping, size, *, temperature, coupling=None, potential=None, twists="pi",
                  cutoff=None, shells=None, bracket=None):
    """Uniform self-consistent Δ of one realization (see module docstring).

    Parameters
    ----------
    mapping : LatticeMapping
        Physical set (β, B, φ, E_F, Δ0); its ``delta`` is ignored.
    size : int
        Supercell L.
    temperature : float
        T in T_c0 (>= 0).
    coupling : float, optional
        U in t; default `clean_coupling` (the converged clean lattice).
    potential : ndarray, shape (L, L), optional
        Disorder potential, t.
    twists : {"none", "pi", "grid:N"}
        Boundary twists averaged over (N x N twists ``2 pi j / N``; "pi" = grid:2).
    cutoff : float, optional
        ω_c in Δ0 (default ``(2/3) E_F``).
    shells : list of ShellHamiltonian, optional
        Precomputed `shell_hamiltonians` (then *potential* is not used).
    bracket : (float, float), optional
        Search only this interval (Δ0) with bounded Brent (tolerance `BRACKET_XATOL`), about
        10 free-energy evaluations instead of the ~25 of the global scan; when the minimum
        lands on an end of the interval or does not beat the normal state, the global scan
        is run after all. For realizations whose Δ is known to within tens of per cent and
        away from a first-order transition (a second minimum outside the bracket would be
        missed).

    Returns
    -------
    UniformResult
    """
    start = time.perf_counter()
    cutoff, cutoff_t = _cutoff_t(mapping, cutoff)
    phys = mapping.physical
    check_nonnegative("temperature", temperature)
    check_cutoff(cutoff, phys.beta, phys.field)
    if coupling is None:
        coupling = clean_coupling(mapping, cutoff=cutoff)
    _checked(mapping, temperature, coupling)
    with threadpool_limits(limits=1, user_api="blas"):
        if shells is None:
            shells = shell_hamiltonians(mapping.lattice_params(0.0), size, cutoff_t,
                                        potential=potential, twists=twists)
        d0 = mapping.delta0
        t_t = temperature * mapping.tc0
        norm = len(shells) * int(size) ** 2
        blocks = [chiral_blocks(s) for s in shells]
        levels = [_zero_field_levels(b) for b in blocks]
        grams = [_gram(b) if lv is None else None for b, lv in zip(blocks, levels, strict=True)]

        def pair_sum(d_t):
            return sum(_shell_omega(s, b, d_t, t_t, lv, g)
                       for s, b, lv, g in zip(shells, blocks, levels, grams, strict=True)) / norm

        s_zero = pair_sum(0.0)

        def f(delta):
            d_t = delta * d0
            return (d_t**2 / coupling - (pair_sum(d_t) - s_zero)) / d0

        noise = 1e-12 * abs(s_zero) / d0
        found = None
        if bracket is not None:
            lo, hi = (float(x) for x in bracket)
            if not 0 < lo < hi <= _DELTA_MAX:
                raise ParameterError("bracket", f"need 0 < low < high <= {_DELTA_MAX}, "
                                     f"got {bracket!r}")
            res = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded",
                                           options={"xatol": BRACKET_XATOL})
            edge = 10 * BRACKET_XATOL
            if lo + edge < res.x < hi - edge and res.fun < -noise:
                found = float(res.x), float(res.fun), int(res.nfev), bool(res.success)
        if found is None:
            found = minimize_free_energy(f, noise=noise, delta_max=_DELTA_MAX)
        delta, f_min, nfev, converged = found
        # A minimum at the end of the search range is no solution (U far too large for
        # this supercell's shell): reported as not converged.
        converged = converged and delta < 0.99 * _DELTA_MAX
        residual = np.nan
        if delta > 0:
            d_t = delta * d0
            # (1/4N) sum_n tanh(E_n/2T) <n|h_pair|n> = dS/dΔ, per site
            anomalous = sum(_shell_anomalous(s, b, d_t, t_t, lv)
                            for s, b, lv in zip(shells, blocks, levels, strict=True)) / (4 * norm)
            # dF/dΔ = 2Δ/U − anomalous = 0 at an interior minimum.
            residual = float(1 - coupling * anomalous / (2 * d_t))
    return UniformResult(
        delta=float(delta), condensation_energy=float(f_min), gap_equation_residual=residual,
        coupling=float(coupling),
        shell_states=round(np.mean([s.shell_states for s in shells])),
        n_evaluations=1 + nfev, converged=converged, seconds=time.perf_counter() - start)


@dataclass(frozen=True)
class SiteResolvedResult:
    """Self-consistent Δ_i of one realization.

    Attributes
    ----------
    delta : ndarray, shape (L, L)
        Δ_i in Δ0 (site ``(a, b)`` at ``a p_1 + b p_2``).
    uniform : float
        The uniform solution it started from, Δ0.
    iterations : int
    max_change : float
        Largest ``|Δ_i|`` change of the last iteration, Δ0.
    converged : bool
        ``max_change < SITE_TOL``.
    seconds : float
    """

    delta: np.ndarray
    uniform: float
    iterations: int
    max_change: float
    converged: bool
    seconds: float

    @property
    def mean(self):
        return float(np.mean(self.delta))


def _site_anomalous(shell, blocks, delta_t, temperature_t):
    r"""``sum_n tanh(E_n/2T) <n|∂H/∂Δ_i|n>`` for every site i, shape (L²,), at Δ_i = *delta_t*.

    With ``R_{i,o,n} = sum_a phi_a(i) v_{(a,o),n}`` the sum is
    ``sum_{ab} conj(phi_a(i)) phi_b(i) G_ab`` with the M x M matrix
    ``G = sum_{op} pair_{op} V_o^* diag(w) V_p^T`` (``V_o`` the rows of orbital o of the
    eigenvectors): O(M³ + L² M²) and no L² x 4M array (3 GB at 200² and M = 1536).
    With the chiral blocks (real shells) the 4M energies are the ± singular values s_k
    of ``D = D0 + (Phi^T diag(Δ) Phi) (x) Jq`` (``Jq`` the 2 x 2 chiral block of the
    pairing, ``D_pair = 1 (x) Jq``) and the sum is ``2 sum_k tanh(s_k/2T) ∂s_k/∂Δ_i``,
    ``∂s_k/∂Δ_i = u_k^T (phi(i) phi(i)^T (x) Jq) v_k``: ``G = 2 sum_{αβ} Jq_{αβ}
    U_α diag(w) V_β^T`` from one ``eigh`` of size 2M (as `_shell_anomalous`, tested
    equal to the full path).
    """
    phi = shell.phi
    m = phi.shape[1]
    local = phi.conj().T @ (delta_t[:, None] * phi)
    if blocks is not None:
        jq = blocks[1][:2, :2]
        d = blocks[0] + np.kron(local, jq)
        e2, u = sla.eigh(d @ d.T, check_finite=False)
        s = np.sqrt(np.clip(e2, 0.0, None))
        if s.min() > 1e-8 * max(s.max(), 1e-300):
            v = (d.T @ u) / s
            w = np.tanh(s / (2 * temperature_t)) if temperature_t > 0 else np.ones_like(s)
            g = np.zeros((m, m))
            for a in range(2):
                for b in range(2):
                    if jq[a, b] != 0:
                        g += jq[a, b] * ((u[a::2] * w) @ v[b::2].T)
            g *= 2
            return np.sum(phi * (phi @ g.T), axis=1)
    if shell.h0 is None:
        raise ValueError("a compact shell has no full matrices for the site-resolved sum")
    e, v = sla.eigh(shell.h0 + np.kron(local, shell.pair_block), check_finite=False)
    w = np.tanh(e / (2 * temperature_t)) if temperature_t > 0 else np.sign(e)
    pb = shell.pair_block
    g = np.zeros((m, m), dtype=np.result_type(v.dtype, pb.dtype))
    for o in range(4):
        for p in range(4):
            if pb[o, p] != 0:
                g += pb[o, p] * ((v[o::4].conj() * w) @ v[p::4].T)
    return np.sum(phi.conj() * (phi @ g.T), axis=1).real


def solve_site_resolved(mapping, size, *, temperature, coupling=None, potential=None,
                        twists="pi", cutoff=None, tol=SITE_TOL, maxiter=_SITE_MAXITER,
                        progress=None):
    """Site-resolved self-consistent Δ_i (fixed-point iteration from the uniform Δ).

    Parameters as `solve_uniform`; *tol* in Δ0; ``progress(iteration, max_change)`` (Δ0)
    after each iteration, if given.

    Returns
    -------
    SiteResolvedResult
    """
    start = time.perf_counter()
    cutoff, cutoff_t = _cutoff_t(mapping, cutoff)
    if coupling is None:
        coupling = clean_coupling(mapping, cutoff=cutoff)
    _checked(mapping, temperature, coupling)
    check_positive("tol", tol)
    with threadpool_limits(limits=1, user_api="blas"):
        shells = shell_hamiltonians(mapping.lattice_params(0.0), size, cutoff_t,
                                    potential=potential, twists=twists)
        uniform = solve_uniform(mapping, size, temperature=temperature, coupling=coupling,
                                twists=twists, cutoff=cutoff, shells=shells).delta
        d0 = mapping.delta0
        t_t = temperature * mapping.tc0
        nsites = int(size) ** 2
        delta_t = np.full(nsites, uniform * d0)
        blocks = [chiral_blocks(s) for s in shells]
        change = np.inf
        it = 0
        while it < maxiter and change >= tol:
            it += 1
            new = np.zeros(nsites)
            for s, b in zip(shells, blocks, strict=True):
                new += _site_anomalous(s, b, delta_t, t_t)
            new *= coupling / (8 * len(shells))
            change = float(np.max(np.abs(new - delta_t))) / d0
            delta_t = new
            if progress is not None:
                progress(it, change)
    return SiteResolvedResult(
        delta=(delta_t / d0).reshape(int(size), int(size)), uniform=float(uniform),
        iterations=it, max_change=change, converged=bool(change < tol),
        seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------
# Studies: the settings stored in a `StudySpec`, the per-realization Δ, the guard


def study_settings(mapping, size, twists, temperature, *, coupling=None, cutoff=None,
                   zero_field_reference=False, ising=None, fermi_beta_window=None,
                   bracketed=False, gap_solver=None):
    """The ``self_consistent`` entry of a `StudySpec` (JSON-ready dict).

    Parameters
    ----------
    mapping : LatticeMapping
    size : int
    twists : {"none", "pi"}
        The study's twist mode; Δ averages over `TWIST_SETS` [twists].
    temperature : float
        T in T_c0.
    coupling : float, optional
        U in t (default `clean_coupling`: the converged clean lattice).
    cutoff : float, optional
        ω_c in Δ0 (default ``(2/3) E_F``).
    zero_field_reference : bool
        Also solve each realization at B = 0 (see `realization_delta`); stored only when
        true, so older specs keep their digest.
    ising : band.ValleyIsing, optional
        Diagnostic model variant: the ideal valley Ising operator instead of the Builder's
        (stored as ``ising`` only when given, so older specs keep their digest).
    fermi_beta_window : float, optional
        Window w (Δ0) of the Fermi-level Ising field β_eff measured on every realization
        (`band.fermi_level_beta` over the study's twists; metadata ``beta_eff_delta0``);
        stored only when given.
    bracketed : bool
        Search each realization's Δ in a bracket around the expected value
        (`realization_delta`; ~2.5x fewer free-energy evaluations); stored only when true.
    gap_solver : dict, optional
        ``{"kind": "chebyshev", "moments": M, "vectors": R}`` (optionally ``"shell_moments"``):
        solve each realization's Δ with `latticemirage.disorder.chebyshev_gap` instead of the
        dense shell; stored only when given, so older specs keep their digest.

    Returns
    -------
    dict
        ``temperature`` (T_c0), ``coupling_t``, ``cutoff_delta0``, ``twists``,
        ``physical`` (the `PhysicalParameters` fields, Δ0 units), ``delta_clean`` (Δ0:
        the clean supercell's Δ at this size and twists) and ``delta_clean_lattice``
        (Δ0: the clean lattice's, mesh `COUPLING_MESH` or, for a given U, 300).
    """
    twist_list(twists)
    check_nonnegative("temperature", temperature)
    cutoff, _ = _cutoff_t(mapping, cutoff)
    check_cutoff(cutoff, mapping.physical.beta, mapping.physical.field)
    lattice = GapSolver.build(mapping, mesh=COUPLING_MESH if coupling is None else _GUARD_MESH,
                              cutoff=cutoff)
    if coupling is None:
        coupling = lattice.coupling
    check_positive("coupling", coupling)
    p = mapping.physical

    def with_coupling(solver):
        return dataclasses.replace(solver, coupling=float(coupling))

    # The clean supercell's Δ is GapSolver's on the equivalent mesh (tested), with this U;
    # the clean lattice's (converged mesh) is what disordered supercells approach.
    clean_lattice = with_coupling(lattice).solve(temperature=temperature)
    if twists == "diagonal":  # no square mesh equals it: the clean supercell is not tabulated
        clean = None
    else:
        supercell = GapSolver.build(mapping, mesh=equivalent_mesh(size, twists), cutoff=cutoff)
        clean = with_coupling(supercell).solve(temperature=temperature)
    return {
        "temperature": float(temperature),
        "coupling_t": float(coupling),
        "cutoff_delta0": float(cutoff),
        "twists": twists,
        "physical": {"beta": p.beta, "field": p.field, "phi": p.phi, "e_fermi": p.e_fermi,
                     "delta0": p.delta0},
        "delta_clean": None if clean is None else clean.delta,
        "delta_clean_lattice": clean_lattice.delta,
        **({"zero_field_reference": True} if zero_field_reference else {}),
        **({"ising": ising.to_dict()} if ising is not None and ising.kind != "lattice" else {}),
        **({"fermi_beta_window_delta0": float(check_positive("fermi_beta_window",
                                                             fermi_beta_window))}
           if fermi_beta_window is not None else {}),
        **({"search": "bracketed"} if bracketed else {}),
        **({"gap_solver": _checked_gap_solver(gap_solver, ising)} if gap_solver else {}),
    }


def _checked_gap_solver(gap_solver, ising):
    """The ``gap_solver`` entry of a spec, validated (JSON-ready)."""
    if gap_solver.get("kind") != "chebyshev":
        raise ParameterError("gap-solver",
                             f"must be dense or chebyshev, got {gap_solver.get('kind')!r}")
    if ising is not None and ising.kind != "lattice":
        raise ParameterError("gap-solver",
                             "the Chebyshev solver supports only the Builder's Ising term")
    out = {"kind": "chebyshev"}
    for name in ("moments", "vectors", "shell_moments"):
        value = gap_solver.get(name)
        if value is None and name == "shell_moments":
            continue
        if value is None or int(value) != value or value < (16 if name != "vectors" else 2):
            raise ParameterError(f"gap-{name.replace('_', '-')}", f"must be an integer >= "
                      f"{16 if name != 'vectors' else 2}, got {value!r}")
        out[name] = int(value)
    return out


def _mapping_of(settings):
    from latticemirage.mapping import PhysicalParameters, map_to_lattice

    phys = dict(settings["physical"])
    return map_to_lattice(PhysicalParameters(temperature=settings["temperature"], **phys))


def guard(settings, size, *, kernel_width=None):
    """Refuse (`ParameterError`) a self-consistent study outside the validity rules.

    Checks E_F/Δ0, p_F ξ0, L >= 4 ξ at the clean lattice's Δ (a lower bound on the ξ of
    the realizations, whose Δ disorder can only lower; not the clean supercell's, which a
    coarse k grid biases, often upwards; the summary checks L/ξ again at the mean Δ)
    and, if given, the kernel width (Δ0) against δ/3.

    Returns
    -------
    Verdict
    """
    from latticemirage.disorder import validity

    mapping = _mapping_of(settings)
    verdict = validity.assess(mapping, size=size, delta=settings["delta_clean_lattice"],
                              kernel_width=kernel_width)
    verdict.require()
    return verdict


def realization_delta(settings, size, potential):
    """Uniform self-consistent Δ of one realization of a study (Δ0) and its metadata.

    With ``settings["zero_field_reference"]`` the same realization is also solved at B = 0
    (metadata ``delta_zero_field_delta0``; its shells are the field's less the on-site
    Zeeman block, `zero_field_shells`, so it costs one minimization, and the eigenstates
    are not kept; where the parameters differ by more, they are reused and re-projected):
    the quasiclassical unit Δ0 is the zero-field gap
    of the *same* system, which on the lattice disorder shifts slightly through the density
    of states (beyond quasiclassics, where Anderson's theorem keeps it fixed).

    Settings with a ``gap_solver`` entry are solved by
    `latticemirage.disorder.chebyshev_gap.realization_delta` instead (the study dispatches).
    """
    mapping = _mapping_of(settings)
    cutoff, cutoff_t = _cutoff_t(mapping, settings["cutoff_delta0"])
    ising = band.ising_from_dict(settings.get("ising"))
    zero = mapping.with_field(0.0)
    params, params0 = mapping.lattice_params(0.0), zero.lattice_params(0.0)
    # The zero-field shells follow from the field's when the field is on site only (always
    # in this model): then the eigenstates need not be kept (2.5 GB per twist at 300²).
    derive = bool(settings.get("zero_field_reference")) and all(
        onsite_difference(params, params0, real=r) is not None for r in (True, False))
    # compact: the search needs only the chiral blocks (a quarter of the memory at scale)
    shells = shell_hamiltonians(params, size, cutoff_t, potential=potential,
                                twists=settings["twists"], ising=ising, compact=True,
                                keep_states=not derive)
    kw = {"temperature": settings["temperature"], "coupling": settings["coupling_t"],
          "twists": settings["twists"], "cutoff": cutoff}
    # "bracketed" search (the validate stage): Δ(B) within [0.5, 1.3] x the clean lattice's,
    # then Δ(0) within [1, 1.6] x Δ(B) (a field only lowers the gap); a minimum on an end
    # falls back to the global scan (`solve_uniform`).
    bracketed = settings.get("search") == "bracketed"
    clean = settings["delta_clean_lattice"] if bracketed else 0.0

    def bracket(lo, hi):  # None (the global scan) when the interval is empty
        hi = min(hi, _DELTA_MAX)
        return (lo, hi) if bracketed and 0 < lo < hi else None

    res = solve_uniform(mapping, size, shells=shells, bracket=bracket(0.5 * clean, 1.3 * clean),
                        **kw)
    meta = {"delta_delta0": res.delta, "delta_seconds": res.seconds,
            "delta_converged": res.converged, "gap_equation_residual": res.gap_equation_residual,
            "shell_states": res.shell_states}
    window = settings.get("fermi_beta_window_delta0")
    if window is not None:  # the Ising field the realization's Fermi-level states feel
        # On the first twist of the set only (one sparse shift-invert solve; the realizations'
        # scatter, not the twist, dominates its error: measured 0.05 % at L = 48).
        t0 = time.perf_counter()
        b = band.fermi_level_beta(mapping.lattice_params(0.0), size, potential=potential,
                                  twists=[shells[0].twist], window=window * mapping.delta0,
                                  ising=ising, n0_guess=mapping.n0)
        meta.update(beta_eff_delta0=b.beta / mapping.delta0, beta_eff_states=b.states,
                    fermi_n0_per_spin_per_site_1_over_t=b.n0,
                    beta_eff_seconds=time.perf_counter() - t0)
    if derive:
        shells0 = zero_field_shells(shells, params, params0)
        del shells
    elif settings.get("zero_field_reference"):
        # Only the eigenstates are reused: the field's blocks are freed before the new ones.
        reuse = [dataclasses.replace(s, chiral=None) for s in shells]
        del shells
        shells0 = shell_hamiltonians(params0, size, cutoff_t,
                                     potential=potential, twists=settings["twists"],
                                     reuse=reuse, ising=ising, compact=True)
    if settings.get("zero_field_reference"):
        res0 = solve_uniform(zero, size, shells=shells0,
                             bracket=bracket(res.delta, 1.6 * res.delta), **kw)
        meta.update(delta_zero_field_delta0=res0.delta, delta_zero_field_converged=res0.converged,
                    delta_zero_field_seconds=res0.seconds)
    return res.delta, meta


def _mean_and_error(x):
    """``mean``, ``stderr`` (None below two samples) and ``per_realization`` of *x*."""
    return {"mean": float(x.mean()) if x.size else None,
            "stderr": float(standard_error(x)) if x.size > 1 else None,
            "per_realization": [float(a) for a in x]}


def delta_summary(values, settings=None, size=None, zero_field=None, beta_eff=None,
                  solver_errors=None):
    """Mean Δ over realizations and its standard error (Δ0), plus the ξ rule at the mean.

    Parameters
    ----------
    values : sequence of float
        Δ per realization, Δ0.
    settings : dict, optional
        The study's ``self_consistent`` entry (adds ``delta_clean`` and the L/ξ rule).
    size : int, optional
    zero_field : sequence of float, optional
        The same realizations' Δ at B = 0 (``zero_field_reference``), Δ0: adds their mean
        and standard error and ``ratio_to_zero_field``, ``<Δ>/<Δ(B=0)>`` with its jackknife
        error (in units of each system's own zero-field gap, the quasiclassical Δ0).
    beta_eff : sequence of float, optional
        The same realizations' Fermi-level Ising field (``fermi_beta_window``), Δ0: adds
        ``beta_eff`` (mean, standard error, per realization).
    solver_errors : sequence of (float, float), optional
        Per realization, the Chebyshev solver's 1σ stochastic error and truncation estimate
        of Δ (Δ0; None for the dense solver): adds ``solver_error`` with both per realization,
        ``stochastic_in_stderr`` (``sqrt(Σ σ_r²) / n``, the part of the standard error over
        realizations that the vectors' noise contributes; it is already inside ``stderr``) and
        ``truncation_max`` (a bias, not inside ``stderr``).

    Returns
    -------
    dict
    """
    v = np.asarray([x for x in values if x is not None], dtype=float)
    z = None
    if zero_field is not None and len(zero_field) == len(values) and all(
            x is not None for x in zero_field):
        z = np.asarray(zero_field, dtype=float)
    out = {"realizations": int(v.size), **_mean_and_error(v)}
    if z is not None and z.size:
        # The same ratio of averages and jackknife as the DOS study's.
        out["zero_field"] = _mean_and_error(z)
        ratio, err = ratio_of_averages(v[:, None], z[:, None])
        out["ratio_to_zero_field"] = {"mean": float(ratio[0]),
                                      "stderr": float(err[0]) if z.size > 1 else None}
    if beta_eff is not None and len(beta_eff) and all(b is not None for b in beta_eff):
        out["beta_eff"] = {**_mean_and_error(np.asarray(beta_eff, dtype=float)),
                           "window_delta0": settings.get("fermi_beta_window_delta0")
                           if settings else None,
                           "definition": "k-space average of |beta(k)| in the realization's "
                                         "normal-state Fermi-level eigenstates "
                                         "(latticemirage.disorder.band)"}
    if solver_errors is not None and len(solver_errors) and all(
            e is not None and e[0] is not None for e in solver_errors):
        sto = np.asarray([e[0] for e in solver_errors], dtype=float)
        tru = np.asarray([e[1] for e in solver_errors], dtype=float)
        out["solver_error"] = {
            "stochastic_per_realization": [float(x) for x in sto],
            "truncation_per_realization": [float(x) for x in tru],
            "stochastic_in_stderr": float(np.sqrt(np.sum(sto**2)) / sto.size),
            "truncation_max": float(np.max(tru)),
        }
    if settings is not None:
        out["delta_clean"] = settings["delta_clean"]
        out["delta_clean_lattice"] = settings["delta_clean_lattice"]
        out["temperature"] = settings["temperature"]
        out["coupling_t"] = settings["coupling_t"]
        if v.size and size is not None:
            from latticemirage.disorder import validity

            verdict = validity.assess(_mapping_of(settings), size=size, delta=float(v.mean()))
            out["size_over_xi_at_mean"] = verdict["size_over_xi"].as_dict()
    return out
