"""What a per-cell rule may call: scalar functions of one cell, compiled with the rule for the
CPU (numba) and the GPU (numba-cuda), and plain Python when JIT is off (NUMBA_DISABLE_JIT=1).

Each is `jitable` (kernels/_numba.py): compiled into whichever target compiles the rule, so one
source serves both. Arithmetic keeps its types exactly (float32 products, integer thresholds), so
every target gives the same bits: no float64 literal may meet a float32 value here (numba would
promote the product to float64), hence the explicit casts.
"""
from __future__ import annotations

import numpy as np
from ..kernels._numba import AVAILABLE as numba_available_now, jitable

from ..kernels.philox_numba import philox_block, trace

TWO_TO_32 = 4294967296.0


@jitable
def philox_input(seed_lo, seed_hi, step, purpose, agent):
    """Philox's counter (id low, id high, step, purpose) and key (seed low, high), from uint64s."""
    low, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    return agent & low, agent >> shift, step & low, purpose & low, seed_lo, seed_hi


def philox(seed_lo, seed_hi, step, purpose, cell_id):
    """The four uint32 words (as uint64) of one cell for (seed, step, purpose): Philox4x32-10,
    kernels/philox_numba.philox_block of philox_input. Compiled for the GPU as written; on the CPU
    the same two functions are traced into the kernel (_philox_in_ir)."""
    return philox_block(*philox_input(np.uint64(seed_lo), np.uint64(seed_hi), np.uint64(step), np.uint64(purpose),
                                      np.uint64(cell_id)))


def _register_philox() -> None:
    """philox for numba-cuda as written (NVVM inlines it); for the CPU, a call of _philox_in_ir
    inlined into the kernel."""
    if not numba_available_now:
        return
    from numba import types
    from numba.core.extending import intrinsic, overload

    @intrinsic
    def _philox_in_ir(typingctx, seed_lo, seed_hi, step, purpose, cell_id):
        def codegen(context, builder, signature, arguments):
            words = [context.cast(builder, value, kind, types.uint64) for value, kind in zip(arguments, signature.args)]
            return context.make_tuple(builder, signature.return_type,
                                      trace(philox_block, builder, *trace(philox_input, builder, *words)))
        return types.UniTuple(types.uint64, 4)(seed_lo, seed_hi, step, purpose, cell_id), codegen

    @overload(philox, jit_options={"_nrt": False}, inline="always", strict=False, target="cpu")
    def _on_the_cpu(seed_lo, seed_hi, step, purpose, cell_id):
        return lambda seed_lo, seed_hi, step, purpose, cell_id: _philox_in_ir(seed_lo, seed_hi, step, purpose, cell_id)

    try:
        from numba.cuda.extending import register_jitable as register_for_cuda
    except ImportError:  # no numba-cuda: the CPU only
        return
    register_for_cuda(philox)


_register_philox()


@jitable
def happens(word, threshold):
    """A Bernoulli decision: the draw below an integer threshold in [0, 2**32] (host-rounded)."""
    return np.uint64(word) < np.uint64(threshold)


@jitable
def as_threshold(probability):
    """A float32 chance as the integer threshold: p * 2**32 in float64, truncated (exact)."""
    return np.uint64(np.float64(np.float32(probability)) * TWO_TO_32)


@jitable
def happens_with(word, probability):
    """A Bernoulli decision with a float32 chance computed in the step."""
    return np.uint64(word) < as_threshold(probability)


@jitable
def hill(concentration, half_max_to_n, exponent):
    """x^n / (K^n + x^n) in float32 by repeated products (no pow: identical on CPU and GPU);
    `half_max_to_n` is K^n as float32, computed once on the host."""
    x = np.float32(concentration)
    xn = x
    for _ in range(exponent - 1):
        xn = np.float32(xn * x)
    return np.float32(xn / np.float32(half_max_to_n + xn))


@jitable
def popcount(mask):
    """Number of set bits of a uint32 (SWAR: no loop, no intrinsic, the same on every target)."""
    v = np.uint32(mask)
    v = np.uint32(v - ((v >> np.uint32(1)) & np.uint32(0x55555555)))
    v = np.uint32((v & np.uint32(0x33333333)) + ((v >> np.uint32(2)) & np.uint32(0x33333333)))
    v = np.uint32((v + (v >> np.uint32(4))) & np.uint32(0x0F0F0F0F))
    return np.int64((np.uint64(v) * np.uint64(0x01010101) >> np.uint64(24)) & np.uint64(0xFF))


@jitable
def pick_from_mask(mask, word, n_offsets):
    """The (word mod popcount)-th set bit of a neighbour mask, -1 for an empty mask (or for a bit
    at or past n_offsets). Clears the k lowest set bits, then counts the bits below the lowest left."""
    mask = np.uint32(mask)
    if mask == np.uint32(0):
        return -1
    k = np.int64(np.uint64(word) % np.uint64(popcount(mask)))
    for _ in range(k):
        mask = np.uint32(mask & np.uint32(mask - np.uint32(1)))
    lowest = np.uint32(mask ^ np.uint32(mask & np.uint32(mask - np.uint32(1))))
    j = popcount(np.uint32(lowest - np.uint32(1)))
    return j if j < min(n_offsets, 32) else -1


@jitable
def site_at_offset(site, offset_index, ny, nz, offsets):
    """The flat site at neighbour offset `offset_index` of `site` (C order; 2D as nz = 1);
    offset -1 reads as offset 0 (the caller masks it). ((x + dx) ny + y + dy) nz + z + dz is
    site + (dx ny + dy) nz + dz: no division."""
    j = max(offset_index, 0)
    return site + (offsets[j, 0] * ny + offsets[j, 1]) * nz + offsets[j, 2]


@jitable
def atomic_min(array, index, value):
    """array[index] = min(array[index], value): on the CPU, in a serial loop (targets.for_target
    makes it a CUDA atomic on the GPU)."""
    if value < array[index]:
        array[index] = value


@jitable
def atomic_add(array, index, value):
    """array[index] += value: on the CPU, in a serial loop (a CUDA atomic on the GPU)."""
    array[index] += value
