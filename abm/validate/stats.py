"""Small statistics helpers for the criteria (scipy underneath), NaN-aware."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats


def values(runs, key):
    array = np.array([run[key] for run in runs], dtype=float)
    return array[~np.isnan(array)]


def mean(runs, key) -> float:
    v = values(runs, key)
    return float(v.mean()) if len(v) else float("nan")


def mann_whitney_less(a, b) -> float:
    """One-sided p that a tends to be smaller than b."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(stats.mannwhitneyu(a, b, alternative="less").pvalue)


def mann_whitney_two_sided(a, b) -> float:
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def pooled_ratio(runs, numerator, denominator) -> tuple[float, int, int]:
    num = float(np.nansum([run[numerator] for run in runs]))
    den = float(np.nansum([run[denominator] for run in runs]))
    return (num / den if den else float("nan")), int(num), int(den)


def two_proportion_less(k1, n1, k2, n2) -> float:
    """One-sided p that proportion k1/n1 is below k2/n2 (pooled z-test)."""
    if min(n1, n2) == 0:
        return float("nan")
    p = (k1 + k2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return float("nan")
    z = (k1 / n1 - k2 / n2) / se
    return float(stats.norm.cdf(z))


def fisher_greater(k1, n1, k2, n2) -> float:
    """One-sided Fisher exact p that k1/n1 exceeds k2/n2."""
    if min(n1, n2) == 0:
        return float("nan")
    return float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="greater").pvalue)
