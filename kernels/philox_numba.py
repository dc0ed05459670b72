"""Philox4x32-10 (Salmon et al., SC'11) as one scalar function compiled into the kernels: the one Philox
of the model.

`philox_block` is `jitable` (kernels/_numba.py): the per-cell rules call it through abm.engine.scalar.philox
and it is compiled with them for the CPU (numba) and the GPU (numba-cuda); with JIT off it runs
as plain Python. Integer arithmetic only, so every target gives the same words. Checked against
Random123's published known-answer vectors (tests/test_philox.py).
"""
from __future__ import annotations

import numpy as np
from ._numba import jitable

from .philox_constants import PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1, ROUNDS


@jitable
def philox_block(c0, c1, c2, c3, k0, k1):
    """The 10-round bijection on four uint32 words carried in uint64 (counter c0..c3, key k0, k1):
    the one Philox of the compiled code, inlined into the per-cell rules (abm/engine/scalar.py)."""
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
