r"""Matrix-free supercell Hamiltonian for the KPM: a stencil over the lattice.

A supercell of `latticemirage.disorder.supercell` is translation invariant up to
its diagonal potential and the boundary phases: every site couples to the same
neighbours ``r + n_1 p_1 + n_2 p_2`` through the same blocks ``h_n`` (shape
(norbs, norbs)), the hops that wrap around direction ``i`` carry
``exp(i w_i theta_i)``, and the disorder adds ``V_s tau_3`` on the diagonal.
`StencilOperator` keeps exactly that -- the blocks `supercell.prepared_blocks`
returns (the entries `supercell.tile` stores), the twist and the per-site
potential -- and applies it to a block of vectors without a stored matrix.

Why
    The CSR Chebyshev step moves the matrix (values, column indices, row pointers:
    14 entries per row in the real basis, 12 bytes each) and the three vector
    blocks (read T_n, read and write T_{n-1}) per product. The stencil reads only
    the vectors and one potential value per site, so with R vectors it moves
    ``N (24 R + 2)`` bytes per product instead of ``N (24 R + 172)`` (real basis):
    the vector-traffic limit of the issue.

Kernel
    `latticemirage.disorder._stencil_numba` compiles one kernel per sparsity
    pattern of the blocks (which neighbour/orbital entries are non-zero); the
    values are read at run time. Sites are split into fixed chunks of 512 sites
    and the partial dot products are added in chunk order, so the moments are
    bitwise the same for any number of threads (tested), as for the CSR kernel.
    The moments equal those of the CSR step to round-off (the sums run in a
    different order; tested to 1e-12 relative).

What it cannot represent
    Cells with ``L_i <= 2 max |n_i|`` (a site would meet the same neighbour through
    two blocks; `supercell.tile` merges those entries): `ValueError` naming
    ``size``. Anything that is not a `supercell.supercell` (a matrix with an extra
    term, a different potential structure) must use the CSR step.
"""

from dataclasses import dataclass, field

import numpy as np

from latticemirage.disorder import supercell as scm
from mirage_common.errors import ParameterError, check_finite

__all__ = ["StencilOperator", "from_supercell", "operator_bytes"]


@dataclass(frozen=True)
class StencilOperator:
    """The supercell BdG Hamiltonian as blocks, twist and potential (no matrix).

    Attributes
    ----------
    shape : (int, int)
        ``(L1, L2)``; site index ``a * L2 + b``, orbital index ``norbs * site + o``
        (the ordering of `supercell.tile`).
    blocks : dict of tuple(int, int) to ndarray, shape (norbs, norbs)
        ``H[r, r + n_1 p_1 + n_2 p_2]`` in the matrix basis, as returned by
        `supercell.prepared_blocks` (energies in t).
    twist : (float, float)
        Boundary phases ``(theta_1, theta_2)`` in radians.
    potential : ndarray, shape (L1 * L2,)
        On-site potential in t, entering as ``V tau_3`` (``+V`` on the first half
        of the orbitals, ``-V`` on the second).
    real : bool
        Real arithmetic (real blocks, twists in {0, pi}); else complex.
    """

    shape: tuple
    blocks: dict
    twist: tuple = (0.0, 0.0)
    potential: np.ndarray = None
    real: bool = True
    offsets: tuple = field(init=False, repr=False)
    entries: tuple = field(init=False, repr=False)
    values: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        l1, l2 = scm._check_shape(self.shape)
        theta = scm._check_twist(self.twist)
        blocks = {tuple(int(x) for x in n): np.asarray(h) for n, h in self.blocks.items()}
        if (0, 0) not in blocks:
            raise ValueError("blocks must contain the on-site block (0, 0)")
        norbs = blocks[(0, 0)].shape[0]
        if any(h.shape != (norbs, norbs) for h in blocks.values()):
            raise ValueError(f"every block must have shape ({norbs}, {norbs})")
        reach = [max(abs(n[i]) for n in blocks) for i in (0, 1)]
        if l1 <= 2 * reach[0] or l2 <= 2 * reach[1]:
            raise ParameterError(
                "size",
                f"the stencil needs L1 > {2 * reach[0]} and L2 > {2 * reach[1]} (blocks reach "
                f"{reach[0]}, {reach[1]} cells); got {l1} x {l2}: use the CSR matrix",
            )
        nsites = l1 * l2
        pot = (
            np.zeros(nsites)
            if self.potential is None
            else np.asarray(self.potential, dtype=float).reshape(-1)
        )
        check_finite("potential", pot)
        if pot.size != nsites:
            raise ValueError(f"potential has {pot.size} values, the supercell has {nsites} sites")
        if self.real:
            # The same checks (and message) as the CSR in the real basis.
            scm.prepared_blocks(blocks, theta, None, float)
        offsets = tuple(sorted(blocks))
        entries = tuple(
            tuple(
                (k, beta)
                for k, n in enumerate(offsets)
                for beta in range(norbs)
                if blocks[n][alpha, beta] != 0
            )
            for alpha in range(norbs)
        )
        # values[cls, k] = h_k times the boundary phase of wrap class
        # cls = (w1 + 1) * 3 + (w2 + 1), formed as `supercell.tile` forms its data.
        values = np.zeros((9, len(offsets), norbs, norbs), dtype=complex)
        for w1 in (-1, 0, 1):
            for w2 in (-1, 0, 1):
                cls = (w1 + 1) * 3 + (w2 + 1)
                for k, n in enumerate(offsets):
                    h = blocks[n].astype(complex)
                    if theta.any():
                        values[cls, k] = h * np.exp(1j * (w1 * theta[0] + w2 * theta[1]))
                    else:
                        values[cls, k] = h
        if self.real:
            values = np.ascontiguousarray(values.real)
        set_ = object.__setattr__
        set_(self, "shape", (l1, l2))
        set_(self, "twist", (float(theta[0]), float(theta[1])))
        set_(self, "blocks", blocks)
        set_(self, "potential", np.ascontiguousarray(pot))
        set_(self, "real", bool(self.real))
        set_(self, "offsets", offsets)
        set_(self, "entries", entries)
        set_(self, "values", values)

    @property
    def norbs(self):
        """Orbitals per site."""
        return self.blocks[(0, 0)].shape[0]

    @property
    def nsites(self):
        """Number of sites ``L1 * L2``."""
        return self.shape[0] * self.shape[1]

    @property
    def dtype(self):
        """``float64`` (real) or ``complex128``."""
        return np.dtype(float if self.real else complex)

    def __len__(self):
        return self.norbs * self.nsites

    @property
    def kind(self):
        """``"f"`` or ``"c"`` (the numba kernels' arithmetic)."""
        return self.dtype.kind

    def to_csr(self):
        """The same operator as a CSR matrix (`supercell.tile` + `supercell.add_potential`)."""
        matrix, slots = scm.tile(
            self.blocks, self.shape, self.twist, dtype=float if self.real else complex
        )
        return scm.add_potential(matrix, slots, self.potential, norbs=self.norbs)

    def kernel(self):
        """The compiled step for this operator's pattern (`_stencil_numba.kernel`)."""
        from latticemirage.disorder import _stencil_numba

        return _stencil_numba.kernel(
            self.offsets, self.entries, self.norbs, not self.real, self.alias()
        )

    def alias(self):
        """Equal-magnitude entries of the unwrapped real blocks (`_stencil_numba.kernel`).

        ``(k, alpha, beta, k', alpha', beta', negate)`` per entry: the first entry (in
        pattern order) whose value has the same magnitude, bit for bit, and whether
        this one is its negative. None for complex blocks.
        """
        if not self.real:
            return None
        first = {}
        out = []
        for alpha, row in enumerate(self.entries):
            for k, beta in row:
                v = float(self.values[4, k, alpha, beta])
                rep = first.setdefault(abs(v), (k, alpha, beta, v))
                out.append((k, alpha, beta, *rep[:3], bool(v != rep[3])))
        return tuple(out)

    def nchunks(self):
        """Work chunks of the step: fixed by the number of sites (determinism)."""
        from latticemirage.disorder import _stencil_numba

        return max(1, -(-self.nsites // _stencil_numba.CHUNK_SITES))

    def step_hook(self):
        """The driver hook ``step(c, s, t_cur, t_prev)`` of this operator.

        It overwrites ``t_prev`` with ``c H t_cur - s t_cur - t_prev`` and returns
        ``(<t_cur|t_cur>, Re <t_new|t_cur>)``, shape (2, R). ``t_cur``, ``t_prev``:
        C-ordered, shape (N, R), of this operator's dtype.
        """
        fn = self.kernel()
        l1, l2 = (np.int64(x) for x in self.shape)
        vals = self.values.reshape(-1).view(np.float64)
        pot = self.potential
        nchunks = self.nchunks()

        def step(c, s, t_cur, t_prev):
            return fn(l1, l2, vals, pot, float(c), float(s), t_cur, t_prev, nchunks)

        return step

    def matvec(self, x):
        """``H x`` for x of shape (N,) or (N, R) (through the step: ``c = 1, s = 0``)."""
        x = np.asarray(x)
        one = x.ndim == 1
        t_cur = np.array(x.reshape(len(self), -1), dtype=np.result_type(x, self.dtype), order="C")
        if t_cur.dtype != self.dtype:
            raise ValueError("a real stencil cannot act on complex vectors; build it complex")
        out = np.zeros_like(t_cur)
        self.step_hook()(1.0, 0.0, t_cur, out)
        return out[:, 0] if one else out

    def gershgorin_bounds(self):
        """Guaranteed spectral bounds (the row sums of `kpm.gershgorin_bounds`), in t."""
        norbs = self.norbs
        diag = np.real(self.blocks[(0, 0)].diagonal())
        off = np.zeros(norbs)
        for n, h in self.blocks.items():
            a = np.abs(h)
            if n == (0, 0):
                a = a - np.diag(np.diag(a))
            off += a.sum(axis=1)
        tau3 = np.repeat([1.0, -1.0], norbs // 2) if norbs > 1 else np.ones(1)
        centre = diag[None, :] + self.potential[:, None] * tau3[None, :]
        return float((centre - off).min()), float((centre + off).max())


def from_supercell(cell):
    """The `StencilOperator` of a `supercell.Supercell` (same entries as ``cell.matrix``).

    Raises
    ------
    ParameterError
        ``size`` too small for a stencil (see the module docstring).
    ValueError
        The cell does not carry its blocks (not built by `supercell.supercell`).
    """
    if getattr(cell, "blocks", None) is None:
        raise ValueError("this Supercell carries no blocks (not built by supercell.supercell)")
    return StencilOperator(cell.shape, cell.blocks, cell.twist, cell.potential, cell.real)


def operator_bytes(nsites, norbs, nvec, real=True):
    """Bytes the stencil step moves per product: three vector blocks and the potential."""
    width = 8 if real else 16
    return 3 * nsites * norbs * nvec * width + 8 * nsites
