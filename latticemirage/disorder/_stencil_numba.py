"""The compiled (numba) matrix-free Chebyshev step of `latticemirage.disorder.stencil`.

Imported lazily by the stencil operator. A kernel is generated per *pattern*: the
list of neighbour offsets of the lattice and, for each orbital row, which
(neighbour, orbital) entries of the translation-invariant blocks are non-zero.
The pattern is fixed at compile time (straight-line code, accumulators in
registers); the values of the blocks, the per-site potential and the boundary
phases are read at run time. ``step(op, c, s, t_cur, t_prev, nchunks)`` overwrites
``t_prev`` with ``c H t_cur - s t_cur - t_prev`` and returns ``(<t_cur|t_cur>,
Re <t_new|t_cur>)``, shape (2, R), per vector: the contract of
`latticemirage.disorder._kpm_numba.step`.

Determinism: every sum is taken in a fixed order (entries of a row in pattern
order, then the diagonal; rows in order within a chunk of sites; chunks in
order), the chunks depend only on the number of sites, and the only operations
are exactly rounded ones and ``llvm.fma``. The moments are therefore bitwise the
same for any number of threads.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["CHUNK_SITES", "kernel"]

CHUNK_SITES = 512  # sites per work chunk (2048 rows, as the CSR kernel): fixed, so sums
# do not depend on the thread count.
WIDTHS = (8, 4, 2, 1)  # lanes per compiled row function; R is split greedily into these


def _make_site(lanes, nb, entries, norbs, cplx):
    """Intrinsic ``_site(tc, tp, vals, nbr, pv, c, s, stride, off, out)``: one site, all orbitals.

    ``lanes`` float64 lanes (R real vectors, or R/2 complex ones as interleaved
    re, im) starting at ``off`` of each row; ``nbr[k]`` the flat index of orbital 0
    of neighbour ``k`` (times ``stride``), ``nbr[nb + k]`` its wrap class; ``vals`` the
    flat (9, nb, norbs, norbs) blocks (complex: re, im interleaved); ``pv`` the site's
    potential. Row ``alpha`` of the site::

        acc = sum_{(k, beta) in entries[alpha]} vals[cls_k, k, alpha, beta] x_{k, beta}
        acc = fma(+-pv, x_self_alpha, acc)
        tp_self_alpha = (c acc - s x_self_alpha) - tp_self_alpha

    entries in the given order (complex: real part of the value first, then the
    imaginary one with the swapped lanes), ``out[:lanes] += x x`` and
    ``out[lanes:] += new x`` per lane, rows in order.
    """

    @intrinsic
    def _site(typingctx, tc, tp, vals, nbr, pv, c, s, stride, off, out):
        sig = types.void(tc, tp, vals, nbr, pv, c, s, stride, off, out)

        def codegen(context, builder, signature, args):
            tc, tp, vals, nbr, pv, c, s, stride, off, out = args
            i64 = ir.IntType(64)
            i32 = ir.IntType(32)
            dbl = ir.DoubleType()
            vty = ir.VectorType(dbl, lanes)
            vptr = vty.as_pointer()
            tc_p, tp_p, vals_p, nbr_p, out_p = (
                context.make_array(signature.args[k])(context, builder, v).data
                for k, v in ((0, tc), (1, tp), (2, vals), (3, nbr), (9, out))
            )
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty, vty, vty]), f"llvm.fma.v{lanes}f64"
            )
            undef = ir.Constant(vty, ir.Undefined)
            zero = ir.Constant(vty, [0.0] * lanes)

            def const(i):
                return ir.Constant(i64, i)

            def splat(x):
                v = builder.insert_element(undef, x, ir.Constant(i32, 0))
                return builder.shuffle_vector(
                    v, undef, ir.Constant(ir.VectorType(i32, lanes), [0] * lanes)
                )

            def vload(ptr, idx):
                return builder.load(builder.bitcast(builder.gep(ptr, [idx]), vptr), align=8)

            base = [
                builder.add(builder.load(builder.gep(nbr_p, [const(k)])), off) for k in range(nb)
            ]
            cls = [builder.load(builder.gep(nbr_p, [const(nb + k)])) for k in range(nb)]
            self_idx = builder.load(builder.gep(nbr_p, [const(2 * nb)]))
            row = [builder.mul(stride, const(beta)) for beta in range(norbs)]
            if cplx:
                swap = ir.Constant(
                    ir.VectorType(i32, lanes),
                    [q + 1 if q % 2 == 0 else q - 1 for q in range(lanes)],
                )
                sign = ir.Constant(vty, [-1.0 if q % 2 == 0 else 1.0 for q in range(lanes)])
            ev = 2 if cplx else 1
            cv, sv = splat(c), splat(s)
            pvv = splat(pv)
            mpvv = builder.fneg(pvv)
            p0 = vload(out_p, const(0))
            p1 = vload(out_p, const(lanes))
            for alpha in range(norbs):
                acc = zero
                for k, beta in entries[alpha]:
                    vidx = builder.add(
                        builder.mul(cls[k], const(nb * norbs * norbs * ev)),
                        const(((k * norbs + alpha) * norbs + beta) * ev),
                    )
                    x = vload(tc_p, builder.add(base[k], row[beta]))
                    vr = splat(builder.load(builder.gep(vals_p, [vidx])))
                    acc = builder.call(fma, [vr, x, acc])
                    if cplx:
                        vi = builder.load(builder.gep(vals_p, [builder.add(vidx, const(1))]))
                        vi = builder.fmul(splat(vi), sign)  # (-vi, +vi, ...) exact
                        xs = builder.shuffle_vector(x, undef, swap)  # (im, re, ...)
                        acc = builder.call(fma, [vi, xs, acc])
                own = builder.add(builder.add(self_idx, off), row[alpha])
                x = vload(tc_p, own)
                d = pvv if (alpha < norbs // 2 or norbs == 1) else mpvv
                acc = builder.call(fma, [d, x, acc])
                prev_ptr = builder.bitcast(builder.gep(tp_p, [own]), vptr)
                prev = builder.load(prev_ptr, align=8)
                new = builder.fsub(builder.fsub(builder.fmul(cv, acc), builder.fmul(sv, x)), prev)
                builder.store(new, prev_ptr, align=8)
                p0 = builder.call(fma, [x, x, p0])
                p1 = builder.call(fma, [new, x, p1])
            for k, p in ((0, p0), (lanes, p1)):
                builder.store(p, builder.bitcast(builder.gep(out_p, [const(k)]), vptr), align=8)
            return context.get_dummy_value()

        return sig, codegen

    return _site


_KERNELS = {}


def kernel(offsets, entries, norbs, cplx):
    """The compiled step for a pattern (compiled once per process and pattern).

    Parameters
    ----------
    offsets : tuple of (int, int)
        Neighbour offsets ``(n1, n2)`` in lattice coordinates, including ``(0, 0)``.
    entries : tuple of tuple of (int, int)
        ``entries[alpha]``: the ``(k, beta)`` (index into ``offsets``, column orbital)
        of the non-zero block entries of row ``alpha``.
    norbs : int
    cplx : bool
        Complex blocks and vectors.

    Returns
    -------
    callable
        ``step(l1, l2, vals, pot, c, s, t_cur, t_prev, nchunks)`` (see the module
        docstring); ``vals`` the flat float64 view of the (9, nb, norbs, norbs)
        phased blocks, ``pot`` the per-site potential.
    """
    key = (tuple(offsets), tuple(tuple(e) for e in entries), int(norbs), bool(cplx))
    if key not in _KERNELS:
        _KERNELS[key] = _make_step(*key)
    return _KERNELS[key]


def _make_step(offsets, entries, norbs, cplx):
    nb = len(offsets)
    ev = 2 if cplx else 1
    s8, s4, s2, s1 = (_make_site(w * ev, nb, entries, norbs, cplx) for w in WIDTHS)
    on1 = np.array([n[0] for n in offsets], dtype=np.int64)
    on2 = np.array([n[1] for n in offsets], dtype=np.int64)
    self_k = offsets.index((0, 0))

    @numba.njit
    def rows(s0, s1_, l1, l2, tc, tp, vals, pot, c, s, off, stride, w, buf):
        nbr = np.empty(2 * nb + 1, dtype=np.int64)
        a = s0 // l2
        b = s0 - a * l2
        for site in range(s0, s1_):
            for k in range(nb):
                a2 = a + on1[k]
                c1 = 1
                if a2 >= l1:
                    a2 -= l1
                    c1 = 2
                elif a2 < 0:
                    a2 += l1
                    c1 = 0
                b2 = b + on2[k]
                c2 = 1
                if b2 >= l2:
                    b2 -= l2
                    c2 = 2
                elif b2 < 0:
                    b2 += l2
                    c2 = 0
                nbr[k] = (a2 * l2 + b2) * norbs * stride
                nbr[nb + k] = c1 * 3 + c2
            nbr[2 * nb] = nbr[self_k]
            if w == 8:
                s8(tc, tp, vals, nbr, pot[site], c, s, stride, off, buf)
            elif w == 4:
                s4(tc, tp, vals, nbr, pot[site], c, s, stride, off, buf)
            elif w == 2:
                s2(tc, tp, vals, nbr, pot[site], c, s, stride, off, buf)
            else:
                s1(tc, tp, vals, nbr, pot[site], c, s, stride, off, buf)
            b += 1
            if b == l2:
                b = 0
                a += 1

    @numba.njit(parallel=True)
    def step(l1, l2, vals, pot, c, s, t_cur, t_prev, nchunks):
        nvec = t_cur.shape[1]
        nsites = l1 * l2
        chunk = (nsites + nchunks - 1) // nchunks
        tc = t_cur.reshape(-1).view(np.float64)
        tp = t_prev.reshape(-1).view(np.float64)
        stride = np.int64(nvec * ev)
        n8 = nvec // 8
        rem = nvec - 8 * n8
        o4 = 8 * n8  # vector offsets of the 4-, 2- and 1-wide remainder groups
        o2 = o4 + 4 * (rem // 4)
        o1 = o2 + 2 * ((rem % 4) // 2)
        part = np.zeros((nchunks, 2, nvec))
        for k in numba.prange(nchunks):
            s0 = np.int64(k * chunk)
            s1_ = np.int64(min(nsites, (k + 1) * chunk))
            buf = np.zeros(32)
            for g in range(n8 + 3):
                if g < n8:
                    off, w = 8 * g, 8
                elif g == n8:
                    off, w = o4, o2 - o4
                elif g == n8 + 1:
                    off, w = o2, o1 - o2
                else:
                    off, w = o1, nvec - o1
                if w == 0:
                    continue
                buf[:] = 0.0
                rows(s0, s1_, l1, l2, tc, tp, vals, pot, c, s, np.int64(off * ev), stride, w, buf)
                lanes = w * ev
                for r in range(w):
                    if ev == 1:
                        part[k, 0, off + r] = buf[r]
                        part[k, 1, off + r] = buf[lanes + r]
                    else:  # re and im lanes of a complex vector
                        part[k, 0, off + r] = buf[2 * r] + buf[2 * r + 1]
                        part[k, 1, off + r] = buf[lanes + 2 * r] + buf[lanes + 2 * r + 1]
        out = np.zeros((2, nvec))
        for k in range(nchunks):
            out += part[k]
        return out

    return step
