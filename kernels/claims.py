"""The claim buffer of claim-then-resolve: one uint64 per lattice site.

The claim contests themselves are kernels over all cells in abm/engine/resolve_kernels.py (one
source, compiled for the CPU with numba and for the GPU with numba-cuda): each claim carries a
64-bit key (random priority in the high bits, agent id in the low ID_BITS bits) and the lowest
key on a target wins. A minimum is order-free, so the winners are the same for any order of the
claimants (a serial minimum on the CPU, atomicMin on the GPU).
"""
from __future__ import annotations

import numpy as np

ID_BITS = 40  # agent ids below 2**40 (~1.1e12) fit beside a 24-bit priority
NO_CLAIM = np.uint64(0xFFFFFFFFFFFFFFFF)


def new_scratch(n_targets, xp=np):
    """Per-target minimum buffer, all NO_CLAIM. Reused across steps: resolving restores it."""
    return xp.full(n_targets, NO_CLAIM, dtype=xp.uint64)
