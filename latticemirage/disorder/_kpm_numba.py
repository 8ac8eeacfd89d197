"""The compiled (numba) Chebyshev step of `latticemirage.disorder.kpm`.

Imported lazily by the KPM driver; if numba (or llvmlite) is missing, fails to
import, or the kernel fails its self-test, the driver uses its scipy.sparse
reference step instead (with a warning). ``step(indptr, indices, data, c, s, t_cur,
t_prev, nchunks)`` overwrites ``t_prev`` with ``c H t_cur - s t_cur - t_prev`` and
returns ``(<t_cur|t_cur>, Re <t_new|t_cur>)``, shape (2, R), per vector.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["get_num_threads", "set_num_threads", "step"]


def get_num_threads():
    return numba.get_num_threads()


def set_num_threads(n):
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))


# ----------------------------------------------------------------------------
# Compiled kernels
#
# Real symmetric matrices: for a range of rows and a group of W = 8 (or 4, 2, 1)
# vectors, an LLVM-level intrinsic (`_rows`) does the whole Chebyshev step:
# ``acc = sum_jj data[jj] * T[col_jj, r:r+W]`` as <W x double> fused multiply-adds
# with two interleaved accumulators (so the FMA latency chain does not limit the
# throughput), then ``new = c acc - s x - T_prev`` and the two dot products, whose
# accumulators stay in vector registers across the rows. numba's own code
# generation keeps these loops scalar and spills the per-row epilogue to memory,
# which made the step compute-bound (~7 cycles per stored entry). Complex matrices
# use plain numba loops. All variants add in a fixed order: results are
# deterministic.


def _make_rows(width):
    """Intrinsic ``_rows(i0, i1, indptr, indices, data, tc, tp, c, s, offset, stride, out)``.

    For rows ``i0 <= i < i1`` and lanes ``offset .. offset + width - 1`` of the flat
    row-major blocks ``tc`` (T_n) and ``tp`` (T_{n-1}, overwritten by T_{n+1})::

        acc = sum_{indptr[i] <= jj < indptr[i+1]} data[jj] * tc[indices[jj] * stride + lanes]
        tp[i * stride + lanes] = c * acc - s * tc[i * stride + lanes] - tp[i * stride + lanes]

    and ``out[:width] += sum_i x * x``, ``out[width:2 width] += sum_i new * x`` with
    ``x = tc[i * stride + lanes]`` (rows summed in order, even and odd ``jj`` in
    separate accumulators added at the end of each row).
    """

    @intrinsic
    def _rows(typingctx, i0, i1, indptr, indices, data, tc, tp, c, s, offset, stride, out):
        sig = types.void(i0, i1, indptr, indices, data, tc, tp, c, s, offset, stride, out)

        def codegen(context, builder, signature, args):
            i0, i1, indptr, indices, data, tc, tp, c, s, offset, stride, out = args
            i64 = ir.IntType(64)
            i32 = ir.IntType(32)
            dbl = ir.DoubleType()
            vty = ir.VectorType(dbl, width)
            vptr = vty.as_pointer()
            ptr_ptr, ind_ptr, data_ptr, tc_ptr, tp_ptr, out_ptr = (
                context.make_array(signature.args[k])(context, builder, v).data
                for k, v in ((2, indptr), (3, indices), (4, data), (5, tc), (6, tp), (11, out))
            )

            def widen(x):
                return builder.sext(x, i64) if x.type.width < 64 else x

            i0, i1, offset, stride = (widen(x) for x in (i0, i1, offset, stride))
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty, vty, vty]), f"llvm.fma.v{width}f64"
            )
            one = ir.Constant(i64, 1)
            zero = ir.Constant(vty, [0.0] * width)
            undef = ir.Constant(vty, ir.Undefined)
            splat_mask = ir.Constant(ir.VectorType(i32, width), [0] * width)

            def splat(x):
                v = builder.insert_element(undef, x, ir.Constant(i32, 0))
                return builder.shuffle_vector(v, undef, splat_mask)

            def vload(base_ptr, idx):
                return builder.load(builder.bitcast(builder.gep(base_ptr, [idx]), vptr), align=8)

            def term(j, acc):
                col = widen(builder.load(builder.gep(ind_ptr, [j])))
                x = vload(tc_ptr, builder.add(builder.mul(col, stride), offset))
                v = splat(builder.load(builder.gep(data_ptr, [j])))
                return builder.call(fma, [v, x, acc])

            cv, sv = splat(c), splat(s)
            entry = builder.block
            row_head = builder.append_basic_block("row_head")
            row_body = builder.append_basic_block("row_body")
            nz_head = builder.append_basic_block("nz_head")
            nz_body = builder.append_basic_block("nz_body")
            nz_tail = builder.append_basic_block("nz_tail")
            nz_last = builder.append_basic_block("nz_last")
            row_end = builder.append_basic_block("row_end")
            exit_ = builder.append_basic_block("rows_exit")
            builder.branch(row_head)

            def loop_header(block, pred, *inits):
                """Open *block* with one phi per initial value (coming from *pred*)."""
                builder.position_at_end(block)
                phis = [builder.phi(v.type) for v in inits]
                for phi, val in zip(phis, inits, strict=True):
                    phi.add_incoming(val, pred)
                return phis

            i, p0, p1 = loop_header(row_head, entry, i0, zero, zero)
            builder.cbranch(builder.icmp_signed("<", i, i1), row_body, exit_)

            builder.position_at_end(row_body)
            lo = widen(builder.load(builder.gep(ptr_ptr, [i])))
            hi = widen(builder.load(builder.gep(ptr_ptr, [builder.add(i, one)])))
            hi1 = builder.sub(hi, one)
            builder.branch(nz_head)

            jj, acc_a, acc_b = loop_header(nz_head, row_body, lo, zero, zero)
            builder.cbranch(builder.icmp_signed("<", jj, hi1), nz_body, nz_tail)
            builder.position_at_end(nz_body)
            new_a = term(jj, acc_a)
            new_b = term(builder.add(jj, one), acc_b)
            jj.add_incoming(builder.add(jj, ir.Constant(i64, 2)), nz_body)
            acc_a.add_incoming(new_a, nz_body)
            acc_b.add_incoming(new_b, nz_body)
            builder.branch(nz_head)
            builder.position_at_end(nz_tail)
            builder.cbranch(builder.icmp_signed("<", jj, hi), nz_last, row_end)
            builder.position_at_end(nz_last)
            last_a = term(jj, acc_a)
            builder.branch(row_end)

            builder.position_at_end(row_end)
            fin_a = builder.phi(vty)
            fin_a.add_incoming(acc_a, nz_tail)
            fin_a.add_incoming(last_a, nz_last)
            acc = builder.fadd(fin_a, acc_b)
            base = builder.add(builder.mul(i, stride), offset)
            x = vload(tc_ptr, base)
            prev_ptr = builder.bitcast(builder.gep(tp_ptr, [base]), vptr)
            prev = builder.load(prev_ptr, align=8)
            new = builder.fsub(builder.fsub(builder.fmul(cv, acc), builder.fmul(sv, x)), prev)
            builder.store(new, prev_ptr, align=8)
            p0n = builder.call(fma, [x, x, p0])
            p1n = builder.call(fma, [new, x, p1])
            i.add_incoming(builder.add(i, one), row_end)
            p0.add_incoming(p0n, row_end)
            p1.add_incoming(p1n, row_end)
            builder.branch(row_head)

            builder.position_at_end(exit_)
            for k, p in ((0, p0), (width, p1)):
                optr = builder.bitcast(builder.gep(out_ptr, [ir.Constant(i64, k)]), vptr)
                builder.store(builder.fadd(builder.load(optr, align=8), p), optr, align=8)
            return context.get_dummy_value()

        return sig, codegen

    return _rows


_rows8 = _make_rows(8)
_rows4 = _make_rows(4)
_rows2 = _make_rows(2)
_rows1 = _make_rows(1)


@numba.njit(parallel=True, cache=True)
def _cheb_step_real(indptr, indices, data, c, s, t_cur, t_prev, nchunks):
    """``t_prev <- c * H t_cur - s * t_cur - t_prev`` for real data; returns dots.

    Returns ``out`` of shape (2, R): ``<t_cur|t_cur>`` and ``<t_new|t_cur>``,
    summed per chunk of rows, then over chunks in order (deterministic).
    """
    n, nvec = t_cur.shape
    chunk = (n + nchunks - 1) // nchunks
    tc = t_cur.reshape(-1)
    tp = t_prev.reshape(-1)
    stride = np.int64(nvec)
    n8 = nvec // 8
    rem = nvec - 8 * n8
    o4 = 8 * n8  # lane offsets of the 4-, 2- and 1-wide remainder groups
    o2 = o4 + 4 * (rem // 4)
    o1 = o2 + 2 * ((rem % 4) // 2)
    part = np.zeros((nchunks, 2, nvec))
    for k in numba.prange(nchunks):
        i0 = np.int64(k * chunk)
        i1 = np.int64(min(n, (k + 1) * chunk))
        buf = np.zeros(16)
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
            if w == 8:
                _rows8(i0, i1, indptr, indices, data, tc, tp, c, s, np.int64(off), stride, buf)
            elif w == 4:
                _rows4(i0, i1, indptr, indices, data, tc, tp, c, s, np.int64(off), stride, buf)
            elif w == 2:
                _rows2(i0, i1, indptr, indices, data, tc, tp, c, s, np.int64(off), stride, buf)
            else:
                _rows1(i0, i1, indptr, indices, data, tc, tp, c, s, np.int64(off), stride, buf)
            for r in range(w):
                part[k, 0, off + r] = buf[r]
                part[k, 1, off + r] = buf[w + r]
    out = np.zeros((2, nvec))
    for k in range(nchunks):
        out += part[k]
    return out


@numba.njit(parallel=True, cache=True)
def _cheb_step_complex(indptr, indices, data, c, s, t_cur, t_prev, nchunks):
    """Complex version of `_cheb_step_real` (plain numba loops, real parts of the dots)."""
    n, nvec = t_cur.shape
    chunk = (n + nchunks - 1) // nchunks
    part = np.zeros((nchunks, 2, nvec))
    for k in numba.prange(nchunks):
        acc = np.zeros(nvec, dtype=t_cur.dtype)
        pp = np.zeros((2, nvec))
        for i in range(k * chunk, min(n, (k + 1) * chunk)):
            acc[:] = 0
            for jj in range(indptr[i], indptr[i + 1]):
                j = indices[jj]
                v = data[jj]
                for r in range(nvec):
                    acc[r] += v * t_cur[j, r]
            for r in range(nvec):
                x = t_cur[i, r]
                new = c * acc[r] - s * x - t_prev[i, r]
                t_prev[i, r] = new
                pp[0, r] += x.real * x.real + x.imag * x.imag
                pp[1, r] += new.real * x.real + new.imag * x.imag
        part[k] = pp
    out = np.zeros((2, nvec))
    for k in range(nchunks):
        out += part[k]
    return out


def step(indptr, indices, data, c, s, t_cur, t_prev, nchunks):
    """One Chebyshev step (see the module docstring); real or complex data."""
    if t_cur.dtype.kind == "c":
        return _cheb_step_complex(indptr, indices, data, c, s, t_cur, t_prev, nchunks)
    return _cheb_step_real(indptr, indices, data, c, s, t_cur, t_prev, nchunks)
