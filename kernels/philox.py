"""Chances as integer thresholds for the Philox4x32-10 draws (Salmon et al., SC'11).

The generator itself is kernels/philox_numba.philox_block, the one Philox of the model: the
per-cell rules call it through abm.engine.scalar.philox, compiled with them for the CPU (numba)
and the GPU (numba-cuda), or run by the interpreter. A draw is a pure function of (seed, step,
purpose, agent id): nothing is carried from one step to the next, so results do not depend on
array order, thread count or backend, and a checkpoint needs no generator state beyond
(seed, step). Counter words: (id low 32 bits, id high 32 bits, step, purpose); key words:
(seed low, seed high). Verified against Random123's published known-answer vectors
(tests/test_philox.py).

A rule decides by comparing a uint32 word with an integer threshold computed here, once, on the
host, so both backends compare integers and decide identically.
"""
from __future__ import annotations

import numpy as np

# A purpose is an integer key: each stochastic decision has its own stream, so adding a rule
# never shifts the draws of another. Cell types declare their purposes by name and the model
# spec turns them into keys (abm/spec.py); here only the integer is seen.


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
