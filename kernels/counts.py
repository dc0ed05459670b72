"""Counts of small integer codes (cells per type, per type and state); NumPy twin of counts.cu.

np.bincount on the CPU. On the GPU a kernel of atomic additions, because cupy.bincount waits for
the host (it reads the codes' maximum) and fails on an empty array (a tissue with no cells left).
"""
from __future__ import annotations

import numpy as np


def count_codes_numpy(codes, n_bins: int):
    """int64 (n_bins,): how many of `codes` equal 0, 1, ..., n_bins - 1. Codes must lie in
    [0, n_bins): NumPy raises otherwise (the GPU kernel cannot, and skips them)."""
    counts = np.bincount(np.asarray(codes).astype(np.int64, copy=False), minlength=n_bins)
    if counts.shape[0] > n_bins:
        raise ValueError(f"code {counts.shape[0] - 1} out of range [0, {n_bins})")
    return counts.astype(np.int64, copy=False)


def count_codes(codes, n_bins: int, xp=np):
    if xp is np:
        return count_codes_numpy(codes, n_bins)
    from . import _cuda

    return _cuda.count_codes(codes, n_bins)
