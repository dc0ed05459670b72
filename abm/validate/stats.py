"""Small helpers over per-run metrics: one value per run (NaN dropped), and Holm's adjustment.

No helper pools counts over runs: a run is the replicate (one organoid, one mouse), so one run
with many events cannot outvote the others. The tests themselves are in inference.py.
"""
from __future__ import annotations

import numpy as np


def _value(run, key) -> float:
    return float(key(run) if callable(key) else run[key])


def values(runs, key) -> np.ndarray:
    """One value per run (key: a metric name or a function of a run's metrics), NaN dropped."""
    array = np.array([_value(run, key) for run in runs], dtype=float)
    return array[~np.isnan(array)]


def paired(runs, key_a, key_b) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the runs where both values exist: two read-outs of the same run."""
    a = np.array([_value(run, key_a) for run in runs], dtype=float)
    b = np.array([_value(run, key_b) for run in runs], dtype=float)
    both = ~np.isnan(a) & ~np.isnan(b)
    return a[both], b[both]


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of the finite p-values together (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    finite = np.flatnonzero(~np.isnan(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):  # a handful of criteria, not cells
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted
