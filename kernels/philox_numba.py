"""Philox4x32-10 compiled for the CPU with numba: the twin of `philox.draw_numpy`.

Integer arithmetic only, so the words are identical to the NumPy reference (and to
philox.cu) by construction; tests check it. One pass over the agents, no temporaries:
the NumPy reference allocates ~20 arrays of the agents' length per call.
"""
from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from ._numba import njit, prange, threads_for
from .philox_constants import PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1, ROUNDS

_LOW32 = np.uint64(0xFFFFFFFF)


# Cached machine code only under the installed name `abm.kernels` (see diffusion_numba._CACHE):
# a cache written by the top-level `kernels` package of a source tree fails to load in `abm`.
_CACHE = __name__.startswith("abm.")

@register_jitable
def philox_block(c0, c1, c2, c3, k0, k1):
    """The 10-round bijection on four uint32 words carried in uint64: the one Philox of the compiled
    code, inlined into these array kernels and into the per-cell rules (abm/engine/scalar.py)."""
    low, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    m0, m1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
    w0, w1 = np.uint64(PHILOX_W0), np.uint64(PHILOX_W1)
    for round_index in range(ROUNDS):
        if round_index > 0:
            k0 = (k0 + w0) & low
            k1 = (k1 + w1) & low
        p0 = c0 * m0
        p2 = c2 * m1
        c0, c1, c2, c3 = (p2 >> shift) ^ c1 ^ k0, p2 & low, (p0 >> shift) ^ c3 ^ k1, p0 & low
    return c0, c1, c2, c3


@njit(cache=_CACHE, parallel=True)
def draw_into(out, seed_lo, seed_hi, step, purpose, ids):
    """out[:, i] = the four words of agent ids[i] for (seed, step, purpose)."""
    low, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    step_word = np.uint64(step) & low
    purpose_word = np.uint64(purpose) & low
    k0, k1 = np.uint64(seed_lo), np.uint64(seed_hi)
    for i in prange(ids.shape[0]):
        agent = np.uint64(ids[i])
        c0, c1, c2, c3 = philox_block(agent & low, agent >> shift, step_word, purpose_word, k0, k1)
        out[0, i] = np.uint32(c0)
        out[1, i] = np.uint32(c1)
        out[2, i] = np.uint32(c2)
        out[3, i] = np.uint32(c3)


def draw(seed: int, step: int, purpose: int, ids) -> np.ndarray:
    """Four uint32 words per id, shape (4, len(ids)), as `philox.draw_numpy` for one purpose."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    out = np.empty((4, ids.shape[0]), dtype=np.uint32)
    with threads_for(ids.shape[0]):
        draw_into(out, seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, step & 0xFFFFFFFF, purpose & 0xFFFFFFFF, ids)
    return out
