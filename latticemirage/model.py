r"""The lattice model: a Kwant Builder for a TMD-like Ising superconductor.

This module is the single source of truth for the Hamiltonian. Every other
representation (the wrapped-around bulk, periodic supercells, the fast Bloch
Hamiltonian, disordered supercells) is derived from the Builders returned here,
by reading the onsite and hopping matrices out of the finalized system.

Lattice
    Triangular Bravais lattice, lattice constant 1, one orbital per site,
    primitive vectors ``(1, 0)`` and ``(1/2, sqrt(3)/2)``. The three bond vectors
    ``a_1 = (1, 0)``, ``a_2 = (-1/2, sqrt(3)/2)``, ``a_3 = (-1/2, -sqrt(3)/2)``
    sum to zero.

Normal-state Hamiltonian (energies in units of the hopping t)
    .. math::

        H_0(k) = \xi(k)\,\sigma_0 + \beta(k)\,\sigma_z - B(\cos\phi\,\sigma_x + \sin\phi\,\sigma_y),

        \xi(k) = -2t \sum_j \cos(k\cdot a_j) - \mu, \qquad
        \beta(k) = \lambda \sum_j \sin(k\cdot a_j).

    The Ising term comes from the spin-dependent imaginary hopping
    ``i (lam/2) nu_ij sigma_z`` with ``nu_ij = +1`` from ``r`` to ``r + a_j`` and
    ``-1`` for the reverse bond, so its sign alternates around each hexagon of
    neighbours. ``beta(k)`` is odd in ``k`` and equals ``+3 sqrt(3) lam / 2`` at
    ``K = (-4 pi/3, 0)`` and ``-3 sqrt(3) lam / 2`` at ``K' = -K``
    (`VALLEY_K`, `VALLEY_KP`). The band maximum ``3t`` is at K and K'; the
    M points sit at ``2t``, so for ``2t < mu < 3t`` the Fermi surface is two hole
    pockets of depth ``E_F = 3t - mu`` around K and K'.

BdG Hamiltonian, Nambu basis as in the paper's Eq. (1)
    Orbital order per site ``(c_up, c_dn, c^dag_up, c^dag_dn)``, i.e. Nambu (tau)
    outer, spin (sigma) inner:

    .. math::

        H_{BdG}(k) = \begin{pmatrix} H_0(k) & \Delta\, i\sigma_y \\
                     -\Delta^*\, i\sigma_y & -H_0^*(-k) \end{pmatrix}.

    In real space the hole block of every matrix element is ``-h^*``. Pairing is
    on-site singlet s-wave; ``delta`` may be complex (its phase is the gauge).

Parameters (Kwant ``params=``)
    ``t`` hopping, ``mu`` chemical potential, ``lam`` Ising SOC (``beta(K) =
    3 sqrt(3) lam / 2``), ``B`` in-plane Zeeman energy (``g mu_B / 2`` absorbed),
    ``phi`` its angle from x (radians), ``delta`` pairing; all energies in t.
    The disordered variant adds ``potential``: a callable ``site -> float`` (in t),
    spin independent, entering as ``+V`` for electrons and ``-V`` for holes.
"""

import kwant
import numpy as np

__all__ = [
    "BONDS",
    "BOND_VECTORS",
    "LATTICE",
    "NORBS",
    "PARAM_NAMES",
    "VALLEY_K",
    "VALLEY_KP",
    "bulk_builder",
    "finite_builder",
    "hopping",
    "onsite",
    "onsite_disordered",
]

NORBS = 4
LATTICE = kwant.lattice.general([(1.0, 0.0), (0.5, np.sqrt(3) / 2)], norbs=NORBS, name="tmd")
# Bonds in lattice coordinates (multiples of the primitive vectors): a_1, a_2, a_3.
BONDS = ((1, 0), (-1, 1), (0, -1))
BOND_VECTORS = np.array([np.dot(b, LATTICE.prim_vecs) for b in BONDS])  # shape (3, 2)
VALLEY_K = np.array([-4 * np.pi / 3, 0.0])
VALLEY_KP = -VALLEY_K
for _const in (BOND_VECTORS, VALLEY_K, VALLEY_KP):
    _const.setflags(write=False)  # module constants: no module-level mutable state
del _const
PARAM_NAMES = ("t", "mu", "lam", "B", "phi", "delta")

s0 = np.eye(2)
sx = np.array([[0, 1], [1, 0]], dtype=complex)
sy = np.array([[0, -1j], [1j, 0]])
sz = np.diag([1.0 + 0j, -1.0])
isy = 1j * sy  # i sigma_y = [[0, 1], [-1, 0]]


def _bdg(h, pair):
    """4x4 BdG block from a 2x2 electron block *h* and pair block (for onsite)."""
    return np.block([[h, pair], [pair.conj().T, -h.conj()]])


def onsite(site, mu, B, phi, delta):
    """Onsite BdG matrix: chemical potential, in-plane Zeeman field, s-wave pairing."""
    h = -mu * s0 - B * (np.cos(phi) * sx + np.sin(phi) * sy)
    # (Delta i sigma_y)^dagger = -Delta^* i sigma_y: the lower-left block of Eq. (1).
    return _bdg(h, delta * isy)


def onsite_disordered(site, mu, B, phi, delta, potential):
    """`onsite` plus a spin-independent potential ``potential(site)`` (in t)."""
    v = potential(site)
    return onsite(site, mu, B, phi, delta) + v * np.diag([1.0, 1.0, -1.0, -1.0])


def hopping(site1, site2, t, lam):
    """Hopping from *site2* to *site1 = site2 + a_j*: ``-t + i (lam/2) sigma_z``.

    Kwant stores it as the matrix element ``H[site1, site2]``; the reverse bond
    gets the Hermitian conjugate, so ``nu_ij`` flips sign with the bond direction.
    """
    h = -t * s0 + 0.5j * lam * sz
    return _bdg(h, np.zeros((2, 2)))


def bulk_builder(*, disordered=False):
    """Translationally invariant Builder with one site per unit cell.

    Parameters
    ----------
    disordered : bool
        Use `onsite_disordered` (adds the ``potential`` parameter).

    Returns
    -------
    kwant.Builder
        Symmetric under the two primitive translations; `kwant.wraparound.wraparound`
        turns it into a system with parameters ``k_x, k_y``.
    """
    sym = kwant.TranslationalSymmetry(*LATTICE.prim_vecs)
    builder = kwant.Builder(sym)
    builder[LATTICE(0, 0)] = onsite_disordered if disordered else onsite
    for bond in BONDS:
        builder[kwant.builder.HoppingKind(bond, LATTICE)] = hopping
    return builder


def finite_builder(shape, *, disordered=False):
    """Finite flake of the same model (open boundaries), for exact-diagonalization checks.

    Parameters
    ----------
    shape : callable
        ``shape(pos) -> bool`` selecting sites by their real-space position.
    disordered : bool
        Use `onsite_disordered` (adds the ``potential`` parameter).
    """
    builder = kwant.Builder()
    start = next(
        (tag for tag in np.ndindex(9, 9) if shape(LATTICE(*tag).pos)), (0, 0)
    )
    builder[LATTICE.shape(shape, start)] = onsite_disordered if disordered else onsite
    for bond in BONDS:
        builder[kwant.builder.HoppingKind(bond, LATTICE)] = hopping
    return builder
