"""The compiled (numba) matrix-free Chebyshev step of `latticemirage.disorder.stencil`.

Imported lazily by the stencil operator. A kernel is generated per *pattern*: the
list of neighbour offsets of the lattice and, for each orbital row, which
(neighbour, orbital) entries of the translation-invariant blocks are non-zero
(and, for real blocks, which of them are equal up to the sign). The pattern is
fixed at compile time (straight-line LLVM IR, accumulators in registers); the
values of the blocks, the per-site potential and the boundary phases are read at
run time. The step ``step(l1, l2, vals, pot, c, s, t_cur, t_prev, nchunks)``
overwrites ``t_prev`` with ``c H t_cur - s t_cur - t_prev`` and returns
``(<t_cur|t_cur>, Re <t_new|t_cur>)``, shape (2, R), per vector: the contract of
`latticemirage.disorder._kpm_numba.step`.

Sites are walked in runs in which every neighbour is at the same index distance
(the interior of a lattice row; a site next to the boundary of direction 2 alone),
one IR loop per run; vectors in groups of 16 (complex: 8), 8, 4, 2, 1.

Determinism: every sum is taken in a fixed order (entries of a row in pattern
order, then the potential; rows and sites in order within a chunk of sites;
chunks in order), the chunks depend only on the number of sites, and the only
operations are exactly rounded ones and ``llvm.fma``. The moments are therefore
bitwise the same for any number of threads and on a generic x86-64 build
(tested); they differ from the CSR kernel's in the last bits (other order).
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
WIDTHS = (16, 8, 4, 2, 1)  # vectors per compiled run function; R is split greedily into these
# (complex vectors: at most 8, i.e. 16 float64 lanes). A block of exactly 16 or 8 vectors
# also has a variant with the row stride fixed at compile time: its addresses are one
# register per neighbour plus constants (no spilled pointers), and every value loaded
# serves R lanes.


def _make_run(lanes, nb, entries, norbs, cplx, fixed_stride=None, alias=None):
    """Intrinsic ``_run(tc, tp, vals, nbr, pot, c, s, stride, off, site0, count, out)``.

    Sites ``site0 <= site < site0 + count`` (a run in which every neighbour ``k`` is
    at the same index distance and wrap class), ``lanes`` float64 lanes (R real
    vectors, or R/2 complex ones as interleaved re, im) from ``off`` of each row.
    ``nbr[k]``: the flat index of neighbour ``k``'s orbital 0 minus the site's own;
    ``nbr[nb + k]``: its wrap class; ``vals`` the flat (9, nb, norbs, norbs) phased
    blocks (complex: re, im interleaved); ``pot`` the per-site potential. Row
    ``alpha`` of a site::

        acc = sum_{(k, beta) in entries[alpha]} vals[cls_k, k, alpha, beta] x_{k, beta}
        acc = fma(+-pot[site], x_self_alpha, acc)
        tp_self_alpha = (c acc - s x_self_alpha) - tp_self_alpha

    entries in the given order (complex: real part of the value first, then the
    imaginary one with the swapped lanes); ``out[:lanes] += x x`` and
    ``out[lanes:] += new x`` per lane, rows and sites in order. The loop over the
    run is written in IR so that the values, the neighbour distances and the two
    dot-product accumulators stay in registers. With ``fixed_stride`` (the row
    length in float64, when one group covers all vectors) the offsets of the
    orbitals are compile-time constants. With ``alias`` (real blocks only; a run
    of interior sites, every wrap class 4): ``alias[k, alpha, beta] = (k', alpha',
    beta', negate)`` names the entry whose value equals this one up to the sign,
    so that only the distinct magnitudes are loaded and kept in registers; the
    products and sums are the same operations as without it (bitwise the same).
    """

    @intrinsic
    def _run(typingctx, tc, tp, vals, nbr, pot, c, s, stride, off, site0, count, out):
        sig = types.void(tc, tp, vals, nbr, pot, c, s, stride, off, site0, count, out)

        def codegen(context, builder, signature, args):
            tc, tp, vals, nbr, pot, c, s, stride, off, site0, count, out = args
            i64 = ir.IntType(64)
            i32 = ir.IntType(32)
            dbl = ir.DoubleType()
            vty = ir.VectorType(dbl, lanes)
            vptr = vty.as_pointer()
            tc_p, tp_p, vals_p, nbr_p, pot_p, out_p = (
                context.make_array(signature.args[k])(context, builder, v).data
                for k, v in ((0, tc), (1, tp), (2, vals), (3, nbr), (4, pot), (11, out))
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

            ev = 2 if cplx else 1
            # Loop invariants: neighbour distances, rows, values, coefficients.
            delta = [builder.load(builder.gep(nbr_p, [const(k)])) for k in range(nb)]
            cls = [builder.load(builder.gep(nbr_p, [const(nb + k)])) for k in range(nb)]
            if fixed_stride is not None:
                stride = const(fixed_stride)
            row = [builder.mul(stride, const(beta)) for beta in range(norbs)]
            values = {}
            for alpha in range(norbs):
                for k, beta in entries[alpha]:
                    if alias is not None:
                        ka, aa, ba, _ = alias[k, alpha, beta]
                        if (ka, aa, ba) != (k, alpha, beta):
                            continue
                    vidx = builder.add(
                        builder.mul(cls[k], const(nb * norbs * norbs * ev)),
                        const(((k * norbs + alpha) * norbs + beta) * ev),
                    )
                    vr = builder.load(builder.gep(vals_p, [vidx]))
                    vi = None
                    if cplx:
                        vi = builder.load(builder.gep(vals_p, [builder.add(vidx, const(1))]))
                    values[k, alpha, beta] = (vr, vi)
            if alias is not None:  # one splat per distinct magnitude, before the loop
                splats = {key: splat(v[0]) for key, v in values.items()}
            if cplx:
                swap = ir.Constant(
                    ir.VectorType(i32, lanes),
                    [q + 1 if q % 2 == 0 else q - 1 for q in range(lanes)],
                )
                sign = ir.Constant(vty, [-1.0 if q % 2 == 0 else 1.0 for q in range(lanes)])
            cv, sv = splat(c), splat(s)
            site_stride = builder.mul(stride, const(norbs))
            p0_init = vload(out_p, const(0))
            p1_init = vload(out_p, const(lanes))

            entry = builder.block
            head = builder.append_basic_block("run_head")
            body = builder.append_basic_block("run_body")
            done = builder.append_basic_block("run_exit")
            builder.branch(head)
            builder.position_at_end(head)
            i = builder.phi(i64)
            p0 = builder.phi(vty)
            p1 = builder.phi(vty)
            i.add_incoming(const(0), entry)
            p0.add_incoming(p0_init, entry)
            p1.add_incoming(p1_init, entry)
            builder.cbranch(builder.icmp_signed("<", i, count), body, done)

            builder.position_at_end(body)
            site = builder.add(site0, i)
            own = builder.add(builder.mul(site, site_stride), off)
            pvv = splat(builder.load(builder.gep(pot_p, [site])))
            mpvv = builder.fneg(pvv)
            # The rows' sums are independent chains of FMAs: emitted interleaved
            # (neighbour by neighbour, all rows), so that their latencies overlap.
            # Each row still adds its entries in pattern order.
            accs = [zero] * norbs
            xs_cache = {}
            for k in range(nb):
                base = builder.add(own, delta[k])
                for alpha in range(norbs):
                    for kk, beta in entries[alpha]:
                        if kk != k:
                            continue
                        if beta not in xs_cache.setdefault(k, {}):
                            xs_cache[k][beta] = vload(tc_p, builder.add(base, row[beta]))
                        x = xs_cache[k][beta]
                        if alias is not None:
                            # (-v) x = v (-x) exactly; negating x (in the loop) lets the
                            # compiler emit one fnmadd and keep only |v| in registers.
                            ka, aa, ba, neg = alias[k, alpha, beta]
                            xx = builder.fneg(x) if neg else x
                            acc = builder.call(fma, [splats[ka, aa, ba], xx, accs[alpha]])
                        else:
                            vr, vi = values[k, alpha, beta]
                            acc = builder.call(fma, [splat(vr), x, accs[alpha]])
                        if cplx:
                            vim = builder.fmul(splat(vi), sign)  # (-vi, +vi, ...) exact
                            xs = builder.shuffle_vector(x, undef, swap)  # (im, re, ...)
                            acc = builder.call(fma, [vim, xs, acc])
                        accs[alpha] = acc
            q0, q1 = p0, p1
            for alpha in range(norbs):
                idx = builder.add(own, row[alpha])
                x = vload(tc_p, idx)
                d = pvv if (alpha < norbs // 2 or norbs == 1) else mpvv
                acc = builder.call(fma, [d, x, accs[alpha]])
                prev_ptr = builder.bitcast(builder.gep(tp_p, [idx]), vptr)
                prev = builder.load(prev_ptr, align=8)
                new = builder.fsub(builder.fsub(builder.fmul(cv, acc), builder.fmul(sv, x)), prev)
                builder.store(new, prev_ptr, align=8)
                q0 = builder.call(fma, [x, x, q0])
                q1 = builder.call(fma, [new, x, q1])
            i.add_incoming(builder.add(i, const(1)), builder.block)
            p0.add_incoming(q0, builder.block)
            p1.add_incoming(q1, builder.block)
            builder.branch(head)

            builder.position_at_end(done)
            for k, p in ((0, p0), (lanes, p1)):
                builder.store(p, builder.bitcast(builder.gep(out_p, [const(k)]), vptr), align=8)
            return context.get_dummy_value()

        return sig, codegen

    return _run


_KERNELS = {}


def kernel(offsets, entries, norbs, cplx, alias=None):
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
    alias : tuple, optional
        Real blocks: ``((k, alpha, beta, k', alpha', beta', negate), ...)``, the
        equal-magnitude entries of the unwrapped blocks (`_make_run`); the runs of
        interior sites with blocks of exactly 8 or 16 vectors then keep the distinct
        values in registers. Part of the compiled kernel's identity.

    Returns
    -------
    callable
        ``step(l1, l2, vals, pot, c, s, t_cur, t_prev, nchunks)`` (see the module
        docstring); ``vals`` the flat float64 view of the (9, nb, norbs, norbs)
        phased blocks, ``pot`` the per-site potential.
    """
    key = (
        tuple(offsets),
        tuple(tuple(e) for e in entries),
        int(norbs),
        bool(cplx),
        None if alias is None or cplx else tuple(alias),
    )
    if key not in _KERNELS:
        _KERNELS[key] = _make_step(*key)
    return _KERNELS[key]


def _make_step(offsets, entries, norbs, cplx, alias):
    nb = len(offsets)
    ev = 2 if cplx else 1
    amap = None if alias is None else {a[:3]: a[3:] for a in alias}
    s16, s8, s4, s2, s1 = (_make_run(w * ev, nb, entries, norbs, cplx) for w in WIDTHS)
    d16 = _make_run(16 * ev, nb, entries, norbs, cplx, fixed_stride=16 * ev)
    d8 = _make_run(8 * ev, nb, entries, norbs, cplx, fixed_stride=8 * ev)
    has_alias = amap is not None
    if has_alias:
        i16 = _make_run(16, nb, entries, norbs, False, fixed_stride=16, alias=amap)
        i8 = _make_run(8, nb, entries, norbs, False, fixed_stride=8, alias=amap)
    else:
        i16, i8 = d16, d8
    wmax = 8 if cplx else 16
    on1 = np.array([n[0] for n in offsets], dtype=np.int64)
    on2 = np.array([n[1] for n in offsets], dtype=np.int64)
    reach2 = int(np.abs(on2).max())

    @numba.njit
    def rows(s0, s1_, l1, l2, tc, tp, vals, pot, c, s, stride, groups, buf):
        """Sites ``s0 <= site < s1_`` in runs of equal neighbour distances (see `_make_run`).

        ``groups[g] = (lane offset, width)``; each run is done for every group in
        turn (while its rows are in cache), the dot products of group g in ``buf[g]``.
        """
        nbr = np.empty(2 * nb, dtype=np.int64)
        site = s0
        while site < s1_:
            a = site // l2
            b = site - a * l2
            if b < reach2 or b >= l2 - reach2:
                count = 1  # a hop wraps around direction 2: this site alone
            else:
                count = min(s1_ - site, l2 - reach2 - b)
            interior = True
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
                nbr[k] = (a2 * l2 + b2 - site) * norbs * stride
                nbr[nb + k] = c1 * 3 + c2
                interior = interior and c1 == 1 and c2 == 1
            for g in range(groups.shape[0]):
                off = groups[g, 0] * ev
                w = groups[g, 1]
                out = buf[g]
                if has_alias and interior and w == stride and w == 16:
                    i16(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
                elif has_alias and interior and w == stride and w == 8:
                    i8(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
                elif w * ev == stride and w == 16:
                    d16(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
                elif w * ev == stride and w == 8:
                    d8(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
                elif w == 16:
                    s16(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
                elif w == 8:
                    s8(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
                elif w == 4:
                    s4(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
                elif w == 2:
                    s2(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
                else:
                    s1(tc, tp, vals, nbr, pot, c, s, stride, off, site, count, out)
            site += count

    @numba.njit(parallel=True)
    def step(l1, l2, vals, pot, c, s, t_cur, t_prev, nchunks):
        nvec = t_cur.shape[1]
        nsites = l1 * l2
        chunk = (nsites + nchunks - 1) // nchunks
        tc = t_cur.reshape(-1).view(np.float64)
        tp = t_prev.reshape(-1).view(np.float64)
        stride = np.int64(nvec * ev)
        # Groups of wmax vectors, then at most one each of 8 (if wmax = 16), 4, 2, 1.
        groups = np.empty((nvec // wmax + 4, 2), dtype=np.int64)
        off = 0
        ngroups = 0
        while off < nvec:
            w = wmax
            while w > nvec - off:
                w //= 2
            groups[ngroups, 0] = off
            groups[ngroups, 1] = w
            off += w
            ngroups += 1
        groups = groups[:ngroups]
        part = np.zeros((nchunks, 2, nvec))
        for k in numba.prange(nchunks):
            s0 = np.int64(k * chunk)
            s1_ = np.int64(min(nsites, (k + 1) * chunk))
            buf = np.zeros((ngroups, 64))
            rows(s0, s1_, l1, l2, tc, tp, vals, pot, c, s, stride, groups, buf)
            for g in range(ngroups):
                off = groups[g, 0]
                w = groups[g, 1]
                lanes = w * ev
                for r in range(w):
                    if ev == 1:
                        part[k, 0, off + r] = buf[g, r]
                        part[k, 1, off + r] = buf[g, lanes + r]
                    else:  # re and im lanes of a complex vector
                        part[k, 0, off + r] = buf[g, 2 * r] + buf[g, 2 * r + 1]
                        part[k, 1, off + r] = buf[g, lanes + 2 * r] + buf[g, lanes + 2 * r + 1]
        out = np.zeros((2, nvec))
        for k in range(nchunks):
            out += part[k]
        return out

    return step
