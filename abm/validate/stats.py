"""Statistics of the criteria: one value per run, tested across runs (scipy underneath).

No helper pools counts over runs: a run is the replicate (one organoid, one mouse), so one run
with many events cannot outvote the others. NaN (a run where the value does not exist, e.g. a
share of zero lesions) is dropped from that comparison.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
BOOTSTRAP_SEED = 20200609  # fixed: the same runs give the same intervals
BOOTSTRAP_RESAMPLES = 9999


def _value(run, key) -> float:
    return float(key(run) if callable(key) else run[key])


def values(runs, key) -> np.ndarray:
    """One value per run (key: a metric name or a function of a run's metrics), NaN dropped."""
    array = np.array([_value(run, key) for run in runs], dtype=float)
    return array[~np.isnan(array)]


def mean(runs, key) -> float:
    v = values(runs, key)
    return float(v.mean()) if len(v) else float("nan")


def ratios(runs, numerator, denominator) -> np.ndarray:
    """numerator / denominator of each run, for the runs where the denominator is positive."""
    num = np.array([_value(run, numerator) for run in runs], dtype=float)
    den = np.array([_value(run, denominator) for run in runs], dtype=float)
    keep = (den > 0) & ~np.isnan(num)
    return num[keep] / den[keep]


def paired(runs, key_a, key_b) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the runs where both values exist: two read-outs of the same run."""
    a = np.array([_value(run, key_a) for run in runs], dtype=float)
    b = np.array([_value(run, key_b) for run in runs], dtype=float)
    both = ~np.isnan(a) & ~np.isnan(b)
    return a[both], b[both]


def mann_whitney_less(a, b) -> float:
    """One-sided p that a tends to be smaller than b (independent runs)."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(stats.mannwhitneyu(a, b, alternative="less").pvalue)


def wilcoxon_less(a, b) -> float:
    """One-sided Wilcoxon signed-rank p that a < b, a[i] and b[i] from the same run."""
    difference = np.asarray(a, float) - np.asarray(b, float)
    if len(difference) == 0:
        return float("nan")
    if not difference.any():  # no run differs: no evidence either way
        return 1.0
    return float(stats.wilcoxon(difference, alternative="less").pvalue)


@dataclass(frozen=True)
class Tost:
    """Two one-sided Welch t-tests that mean(a) - mean(b) lies within +/- margin."""
    p: float  # the larger of the two one-sided p: equivalence shown when p < alpha
    difference: float
    low: float  # (1 - 2 alpha) confidence interval of the difference, the one TOST inverts
    high: float
    margin: float


def tost_welch(a, b, margin: float, alpha: float = ALPHA) -> Tost:
    a, b = np.asarray(a, float), np.asarray(b, float)
    difference = float(a.mean() - b.mean()) if len(a) and len(b) else float("nan")
    if min(len(a), len(b)) < 2 or not margin > 0:
        return Tost(float("nan"), difference, float("nan"), float("nan"), margin)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    if se == 0:  # identical constant samples: within the margin or not, exactly
        return Tost(0.0 if abs(difference) < margin else 1.0, difference, difference, difference, margin)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))  # Welch-Satterthwaite
    p_above_low = stats.t.sf((difference + margin) / se, df)  # H0: difference <= -margin
    p_below_high = stats.t.cdf((difference - margin) / se, df)  # H0: difference >= +margin
    half = stats.t.ppf(1 - alpha, df) * se
    return Tost(float(max(p_above_low, p_below_high)), difference, difference - half, difference + half, margin)


def censored(times, events):
    """scipy's CensoredData: times with an event, the rest right-censored at their time."""
    times, events = np.asarray(times, float), np.asarray(events, bool)
    return stats.CensoredData(uncensored=times[events], right=times[~events])


def logrank_later(times_a, events_a, times_b, events_b) -> float:
    """One-sided log-rank p that events come later in b than in a (a's event rate is higher)."""
    if len(times_a) == 0 or len(times_b) == 0 or not (np.any(events_a) or np.any(events_b)):
        return float("nan")
    result = stats.logrank(censored(times_a, events_a), censored(times_b, events_b), alternative="greater")
    return float(result.pvalue)


def restricted_mean(times, axis=-1):
    """Restricted mean time to event when every run without an event is censored at the same end
    time (the run's end): the mean of the event-or-end times."""
    return np.mean(times, axis=axis)


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


def ratio_of_means(a, b, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(a, axis=axis) / np.mean(b, axis=axis)


def difference_of_means(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def mean_of(a, axis=-1):
    return np.mean(a, axis=axis)


def bootstrap_ci(statistic, samples, paired_samples=False, confidence=0.95) -> tuple[float, float, float]:
    """(estimate, low, high): the statistic of the runs and its percentile bootstrap interval,
    resampling runs within each arm (or pairs, with paired_samples) from a fixed seed."""
    samples = [np.asarray(s, float) for s in samples]
    estimate = float(statistic(*samples, axis=-1)) if all(len(s) for s in samples) else float("nan")
    if any(len(s) < 2 for s in samples) or np.isnan(estimate):
        return estimate, float("nan"), float("nan")
    if all(np.ptp(s) == 0 for s in samples):  # no spread: every resample gives the estimate
        return estimate, estimate, estimate
    result = stats.bootstrap(samples, statistic, n_resamples=BOOTSTRAP_RESAMPLES, vectorized=True,
                             paired=paired_samples, confidence_level=confidence, method="percentile",
                             rng=np.random.default_rng(BOOTSTRAP_SEED))
    low, high = result.confidence_interval
    return estimate, float(low), float(high)
