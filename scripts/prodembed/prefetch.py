"""A software prefetch for numba kernels whose steps are random memory accesses.

A walk step is a chain of dependent cache misses (row, alias record, edge test), so one walk
cannot go faster than memory latency. The walkers interleave many walks and issue each walk's
next load one pass ahead with :func:`prefetch`, so its line arrives while the other walks
work; the out-of-order window alone overlaps only the few walks that fit in it.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I32 = ir.IntType(32)


@intrinsic
def prefetch(typingctx, array, index):
    """Hint the CPU to fetch the start of ``array[index]`` (an in-bounds row) into cache.

    Emits ``llvm.prefetch`` (read, keep in all cache levels, data): a hint that never faults
    and compiles to nothing on targets without one.
    """
    if not (isinstance(array, types.Array) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        row = context.cast(builder, args[1], signature.args[1], types.intp)
        first = [row] + [context.get_constant(types.intp, 0)] * (array_type.ndim - 1)
        pointer = cgutils.get_item_pointer(context, builder, array_type, ary, first)
        byte_pointer = ir.IntType(8).as_pointer()
        hint = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, _I32, _I32, _I32]),
            "llvm.prefetch.p0i8",
        )
        builder.call(
            hint,
            [builder.bitcast(pointer, byte_pointer), _I32(0), _I32(3), _I32(1)],
        )
        return context.get_dummy_value()

    return types.void(array, index), codegen
