"""What a per-cell rule may call: scalar functions of one cell, compiled with the rule for the
CPU (numba) and the GPU (numba-cuda), and plain Python when JIT is off (NUMBA_DISABLE_JIT=1).

Each is `jitable` (kernels/_numba.py): compiled into whichever target compiles the rule, so one
source serves both. Arithmetic keeps its types exactly (float32 products, integer thresholds), so
every target gives the same bits: no float64 literal may meet a float32 value here (numba would
promote the product to float64), hence the explicit casts.
"""
from __future__ import annotations

import numpy as np
from ..kernels._numba import jitable

from ..kernels.philox_numba import philox_block

TWO_TO_32 = 4294967296.0


@jitable
def philox(seed_lo, seed_hi, step, purpose, cell_id):
    """The four uint32 words (as uint64) of one cell for (seed, step, purpose): Philox4x32-10,
    kernels/philox_numba.philox_block with counter (id low, id high, step, purpose), key (seed low, high)."""
    low, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    agent = np.uint64(cell_id)
    return philox_block(agent & low, agent >> shift, np.uint64(step) & low, np.uint64(purpose) & low,
                        np.uint64(seed_lo), np.uint64(seed_hi))


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
