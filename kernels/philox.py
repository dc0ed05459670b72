"""Philox4x32-10 counter-based random numbers (Salmon et al., SC'11), NumPy twin of philox.cu.

A draw is a pure function of (seed, step, purpose, agent id): nothing is carried from
one step to the next, so results do not depend on array order, thread count or backend,
and a checkpoint needs no generator state beyond (seed, step).

Counter words: (id low 32 bits, id high 32 bits, step, purpose); key words: (seed low, seed high).
Verified against Random123's published known-answer vectors (tests/test_philox.py).
"""
from __future__ import annotations

import numpy as np

PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
ROUNDS = 10

# Named purposes: each stochastic decision has its own stream, so adding a rule never
# shifts the draws of another.
PURPOSES = {
    "claim_priority": 1,
    "tumor_division": 2,
    "tumor_neighbour_choice": 3,
    "nk_move": 4,
    "nk_kill": 5,
    "tumor_death": 6,
    "nk_proliferation": 7,
    "nk_death": 8,
    "state_change": 9,
    "binding": 10,
    "lifespan": 11,
    "escort_move": 12,
}


def _mulhilo(xp, a, m):
    product = a.astype(xp.uint64) * xp.uint64(m)
    return (product >> xp.uint64(32)).astype(xp.uint32), product.astype(xp.uint32)


def philox4x32_10(c0, c1, c2, c3, k0, k1, xp=np):
    """Apply the 10-round Philox4x32 bijection; arguments are uint32 arrays (broadcastable)."""
    c0, c1, c2, c3 = (xp.asarray(c, dtype=xp.uint32) for c in (c0, c1, c2, c3))
    k0 = xp.asarray(k0, dtype=xp.uint32)
    k1 = xp.asarray(k1, dtype=xp.uint32)
    for round_index in range(ROUNDS):
        if round_index > 0:  # key schedule: bump before every round but the first (mod 2**32)
            k0 = (k0.astype(xp.uint64) + PHILOX_W0).astype(xp.uint32)
            k1 = (k1.astype(xp.uint64) + PHILOX_W1).astype(xp.uint32)
        hi0, lo0 = _mulhilo(xp, c0, PHILOX_M0)
        hi1, lo1 = _mulhilo(xp, c2, PHILOX_M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def draw_numpy(seed: int, step: int, purpose: int, ids, xp=np):
    """Four independent uint32 words per agent id: array of shape (4, len(ids))."""
    ids = xp.asarray(ids, dtype=xp.int64).astype(xp.uint64)
    id_lo = ids.astype(xp.uint32)
    id_hi = (ids >> xp.uint64(32)).astype(xp.uint32)
    n = ids.shape[0]
    step_word = xp.full(n, step & 0xFFFFFFFF, dtype=xp.uint32)
    purpose_word = xp.full(n, purpose & 0xFFFFFFFF, dtype=xp.uint32)
    words = philox4x32_10(
        id_lo, id_hi, step_word, purpose_word,
        np.uint32(seed & 0xFFFFFFFF), np.uint32((seed >> 32) & 0xFFFFFFFF), xp=xp,
    )
    return xp.stack(words)


def draw(seed: int, step: int, purpose: int | str, ids, xp=np):
    """Dispatch to the CUDA kernel on CuPy arrays, to the NumPy twin otherwise."""
    if isinstance(purpose, str):
        purpose = PURPOSES[purpose]
    if xp is np:
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
