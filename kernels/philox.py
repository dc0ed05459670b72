"""Philox4x32-10 counter-based random numbers (Salmon et al., SC'11), NumPy twin of philox.cu.

A draw is a pure function of (seed, step, purpose, agent id): nothing is carried from
one step to the next, so results do not depend on array order, thread count or backend,
and a checkpoint needs no generator state beyond (seed, step).

Counter words: (id low 32 bits, id high 32 bits, step, purpose); key words: (seed low, seed high).
Verified against Random123's published known-answer vectors (tests/test_philox.py).
"""
from __future__ import annotations

import numpy as np

from .philox_constants import PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1, ROUNDS

# A purpose is an integer key: each stochastic decision has its own stream, so adding a rule
# never shifts the draws of another. Cell types declare their purposes by name and the model
# spec turns them into keys (abm/spec.py); here only the integer is seen.


_LOW32 = 0xFFFFFFFF


def philox4x32_10(c0, c1, c2, c3, k0, k1, xp=np):
    """Apply the 10-round Philox4x32 bijection; arguments are uint32 arrays (broadcastable).

    Words are carried in uint64 so that the 32x32->64-bit products are exact; each product's
    high and low halves are taken with a shift and a mask.
    """
    low = xp.uint64(_LOW32)
    shift = xp.uint64(32)
    m0, m1 = xp.uint64(PHILOX_M0), xp.uint64(PHILOX_M1)
    c0, c1, c2, c3 = (xp.asarray(c, dtype=xp.uint32).astype(xp.uint64) for c in (c0, c1, c2, c3))
    key0, key1 = int(k0) & _LOW32, int(k1) & _LOW32
    for round_index in range(ROUNDS):
        if round_index > 0:  # key schedule: bump before every round but the first (mod 2**32)
            key0 = (key0 + PHILOX_W0) & _LOW32
            key1 = (key1 + PHILOX_W1) & _LOW32
        product0 = c0 * m0
        product2 = c2 * m1
        c0, c1, c2, c3 = ((product2 >> shift) ^ c1 ^ xp.uint64(key0), product2 & low,
                          (product0 >> shift) ^ c3 ^ xp.uint64(key1), product0 & low)
    return tuple(c.astype(xp.uint32) for c in (c0, c1, c2, c3))


def draw_numpy(seed: int, step: int, purpose: int, ids, xp=np):
    """Four independent uint32 words per agent id: array of shape (4, len(ids))."""
    ids = xp.asarray(ids, dtype=xp.int64).astype(xp.uint64)
    step_word = xp.full(ids.shape[0], step & _LOW32, dtype=xp.uint64)
    purpose_word = xp.full(ids.shape[0], purpose & _LOW32, dtype=xp.uint64)
    words = philox4x32_10(ids & xp.uint64(_LOW32), ids >> xp.uint64(32), step_word, purpose_word,
                          seed & _LOW32, (seed >> 32) & _LOW32, xp=xp)
    return xp.stack(words)


def draw(seed: int, step: int, purpose: int, ids, xp=np):
    """Dispatch to the CUDA kernel on CuPy arrays, else to the numba twin (when enabled) or NumPy."""
    if xp is np:
        from . import _numba

        if _numba.enabled():
            from . import philox_numba

            return philox_numba.draw(seed, step, purpose, ids)
        return draw_numpy(seed, step, purpose, ids, xp=np)
    from . import _cuda

    return _cuda.philox_draw(seed, step, purpose, ids)


def probability_threshold(probability: float) -> int:
    """Integer threshold t in [0, 2**32] such that P(uint32 draw < t) = probability.

    Computed once on the host, so both backends compare integers and decide identically.
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability {probability} outside [0, 1]")
    return int(round(probability * 2**32))


def rate_threshold(rate_per_min: float, dt_min: float) -> int:
    """Threshold for an event of constant rate within one step: p = 1 - exp(-rate * dt)."""
    return probability_threshold(float(-np.expm1(-rate_per_min * dt_min)))


def happens(word, threshold: int, xp=np):
    """Bernoulli decision: uint32 draw below the integer threshold (2**32 means always)."""
    return word.astype(xp.uint64) < xp.uint64(threshold)
