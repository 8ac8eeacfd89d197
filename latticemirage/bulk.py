r"""Bulk (translationally invariant) system and the fast Bloch Hamiltonian.

Kwant's `kwant.wraparound.wraparound` turns the two translations of
`latticemirage.model.bulk_builder` into parameters ``k_x, k_y``. In Kwant 1.5
these are *phases along the symmetry periods*, ``k_x = k . p_1`` and
``k_y = k . p_2`` with ``p_1 = (1, 0)``, ``p_2 = (1/2, sqrt(3)/2)``, not Cartesian
momenta. This module always takes Cartesian ``k`` (units 1/a) and converts.

Convention (checked against Kwant in the tests)::

    H(k) = sum_n  blocks[n] * exp(i k . R_n),    blocks[n] = H[r, r + R_n],

with ``R_n = n_1 p_1 + n_2 p_2`` and ``H[r, r']`` the real-space matrix element
between the 4-orbital sites ``r`` and ``r'``. The blocks are read out of the
finalized Kwant system once, by a discrete Fourier transform of
``hamiltonian_submatrix`` over a (2R+1) x (2R+1) grid of phases, which is exact
for hoppings of range R (here R = 1); after that no call into Kwant is made per
k point.
"""

import itertools

import kwant
import numpy as np

from latticemirage import model

__all__ = ["bloch_hamiltonian", "fourier_blocks", "kwant_hamiltonian", "wrapped_system"]


def wrapped_system(builder=None):
    """Finalized wrapped-around bulk system (parameters: model ones plus ``k_x, k_y``).

    Parameters
    ----------
    builder : kwant.Builder, optional
        A Builder with two translational symmetries; default `model.bulk_builder()`.
    """
    builder = model.bulk_builder() if builder is None else builder
    return kwant.wraparound.wraparound(builder).finalized()


def _phases(k, prim_vecs):
    k = np.asarray(k, dtype=float)
    if k.shape[-1] != 2:
        raise ValueError(f"k must have shape (..., 2) (Cartesian k_x, k_y), got {k.shape}")
    return k @ np.asarray(prim_vecs).T


def kwant_hamiltonian(fsyst, k, params):
    """Kwant's own Bloch Hamiltonian at Cartesian *k* (one call into Kwant per point).

    The slow reference path for tests and benchmarks.

    Parameters
    ----------
    fsyst : finalized wrapped system from `wrapped_system`
    k : array_like, shape (..., 2)
    params : dict
        Model parameters (without ``k_x, k_y``).

    Returns
    -------
    ndarray, shape (..., norbs, norbs)
    """
    ph = _phases(k, model.LATTICE.prim_vecs)
    flat = ph.reshape(-1, 2)
    out = [fsyst.hamiltonian_submatrix(params={**params, "k_x": a, "k_y": b}) for a, b in flat]
    norbs = out[0].shape[0]
    return np.array(out).reshape(*ph.shape[:-1], norbs, norbs)


def fourier_blocks(fsyst, params, hopping_range=1):
    """Real-space blocks ``H[r, r + R_n]`` of the finalized wrapped system.

    Parameters
    ----------
    fsyst : finalized wrapped system from `wrapped_system`
    params : dict
        Model parameters (without ``k_x, k_y``), energies in t.
    hopping_range : int
        Largest ``|n_i|`` of any hopping, in lattice coordinates (1 for this model).

    Returns
    -------
    dict of tuple(int, int) to ndarray, shape (norbs, norbs)
        Keys ``n = (n_1, n_2)``; only non-zero blocks are kept. ``blocks[-n]`` is
        the Hermitian conjugate of ``blocks[n]``.
    """
    m = 2 * hopping_range + 1
    grid = 2 * np.pi * np.arange(m) / m
    samples = {
        (a, b): fsyst.hamiltonian_submatrix(params={**params, "k_x": pa, "k_y": pb})
        for (a, pa), (b, pb) in itertools.product(enumerate(grid), enumerate(grid))
    }
    blocks = {}
    rng = range(-hopping_range, hopping_range + 1)
    for n in itertools.product(rng, rng):
        acc = sum(
            h * np.exp(-1j * (grid[a] * n[0] + grid[b] * n[1])) for (a, b), h in samples.items()
        ) / m**2
        # Round-off from the DFT is ~1e-16; anything above 1e-13 is a real block.
        if np.abs(acc).max() > 1e-13:
            blocks[n] = acc
    return blocks


def bloch_hamiltonian(blocks, k, prim_vecs=None):
    """Fast Bloch Hamiltonian for an array of Cartesian k points.

    Parameters
    ----------
    blocks : dict from `fourier_blocks`
    k : array_like, shape (..., 2)
        Cartesian wave vectors in units of 1/a.
    prim_vecs : array_like, shape (2, 2), optional
        Primitive vectors the block keys refer to; default the model lattice.

    Returns
    -------
    ndarray, shape (..., norbs, norbs), complex
    """
    prim_vecs = model.LATTICE.prim_vecs if prim_vecs is None else prim_vecs
    ph = _phases(k, prim_vecs)
    keys = np.array(list(blocks), dtype=float)  # (nblocks, 2)
    mats = np.array(list(blocks.values()))  # (nblocks, norbs, norbs)
    phase = np.exp(1j * (ph.reshape(-1, 2) @ keys.T))  # (npts, nblocks)
    norbs = mats.shape[-1]
    h = phase @ mats.reshape(len(mats), -1)
    return h.reshape(*ph.shape[:-1], norbs, norbs)
