"""Claim-then-resolve: many claimants, one winner per target; NumPy twin of claims.cu.

Each claim carries a 64-bit key (random priority in the high bits, agent id in the low bits).
The lowest key on a target wins. A minimum is order-free, so the winners are the same for
any order of the claimants (np.minimum.at here, atomicMin on the GPU).
"""
from __future__ import annotations

import numpy as np

ID_BITS = 40  # agent ids below 2**40 (~1.1e12) fit beside a 24-bit priority
NO_CLAIM = np.uint64(0xFFFFFFFFFFFFFFFF)


def claim_keys(priority_words, ids, xp=np):
    """(priority, id) packed so that integer order is lexicographic order."""
    priority = (priority_words.astype(xp.uint64) >> xp.uint64(8)) << xp.uint64(ID_BITS)
    return priority | (ids.astype(xp.uint64) & xp.uint64((1 << ID_BITS) - 1))


def new_scratch(n_targets, xp=np):
    """Per-target minimum buffer, all NO_CLAIM. Reused across steps: resolving restores it."""
    return xp.full(n_targets, NO_CLAIM, dtype=xp.uint64)


def resolve_claims_numpy(targets, keys, scratch):
    """Boolean array: True where the claim holds the lowest key among claims on its target.

    scratch: uint64 per target, NO_CLAIM everywhere on entry and again on return, so the
    cost is proportional to the number of claims, not to the number of targets.
    """
    np.minimum.at(scratch, targets, keys)
    won = scratch[targets] == keys
    scratch[targets] = NO_CLAIM
    return won


def resolve_claims(targets, keys, scratch, xp=np):
    if xp is np:
        return resolve_claims_numpy(targets, keys, scratch)
    from . import _cuda

    return _cuda.resolve_claims(targets, keys, scratch)
