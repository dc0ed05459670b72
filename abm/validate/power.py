"""The minimum detectable effect of each criterion at the seeds used: the smallest true effect its
test would find with 80 % power at the first (strictest) Holm threshold of its family, alpha / m.

Normal-theory approximations, stated on the scale the report gives the effect on, with the
comparison arm's observed mean and spread as the baseline (so it says what these runs could have
shown, not a design target):
- Mann-Whitney: the t-test's standardised difference over the rank test's efficiency (3 / pi),
  as a ratio of means;
- counts: the Wald test of the log rate ratio of a negative binomial with the fitted dispersion;
- shares: Cohen's h (arcsine scale), as a share difference from the comparison arm's share;
- log-rank: Schoenfeld's events formula, as a hazard ratio, with the events observed;
- Spearman: the Fisher z of rho; paired Wilcoxon: the paired t over 3 / pi.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

POWER = 0.80
RANK_EFFICIENCY = 3 / math.pi  # asymptotic relative efficiency of rank tests to t-tests (normal data)


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha) + stats.norm.ppf(POWER))


def mde_text(test: str, alpha: float, samples, dispersion: float = 0.0) -> str:
    """The minimum detectable effect in words, or why none applies."""
    samples = [np.asarray(s, float) for s in samples]
    n = min((len(s) for s in samples), default=0)
    if n < 2:
        return "-"
    z = _z(alpha)
    if test == "mann_whitney":
        return _ratio_of_means(samples[0], samples[1], z / math.sqrt(RANK_EFFICIENCY) * math.sqrt(2 / n))
    if test == "wilcoxon_paired":
        return _ratio_of_means(samples[0] - samples[1] + samples[1].mean(), samples[1],
                               z / math.sqrt(RANK_EFFICIENCY) / math.sqrt(n), paired=True)
    if test == "count_model":
        return _rate_ratio(samples[1].mean(), dispersion, n, z)
    if test == "fisher":
        return _share_difference(samples[1].mean(), z * math.sqrt(2 / n))
    if test == "binomial":
        return f"share {_arcsine_shift(samples[1].mean(), z / math.sqrt(n)):.2f} vs null {samples[1].mean():.2f}"
    if test == "logrank":
        events = int(sum(s.sum() for s in samples[2:]))  # samples: times_a, times_b, events_a, events_b
        return "hazard ratio -" if events == 0 else f"hazard ratio {math.exp(2 * z / math.sqrt(events)):.2f} or 1/that"
    if test == "spearman_dose":
        total = sum(len(s) for s in samples)
        return f"|rho| {math.tanh(z / math.sqrt(max(total - 3, 1))):.2f}"
    return "-"  # equivalence and calibration targets: their interval is the statement


def _ratio_of_means(a, b, d: float, paired: bool = False) -> str:
    spread = (a - b).std(ddof=1) if paired else math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    if b.mean() == 0 or not np.isfinite(spread):
        return f"d = {d:.2f} SD"
    shift = d * spread / abs(b.mean())
    return f"d = {d:.2f} SD (ratio of means {max(1 - shift, 0):.2f} or {1 + shift:.2f})"


def _rate_ratio(mean_b: float, dispersion: float, n: int, z: float) -> str:
    """The rate ratio r < 1 at which z * se(log r) = |log r|, se from the NB variance mu + alpha mu^2."""
    if mean_b <= 0:
        return "rate ratio - (no events in the comparison arm)"
    log_r = 0.0
    for _ in range(50):  # fixed point: the SE depends on the rate of a
        rate_a = mean_b * math.exp(log_r)
        se = math.sqrt((1 / rate_a + dispersion) / n + (1 / mean_b + dispersion) / n)
        log_r = -z * se
    return f"rate ratio {math.exp(log_r):.2f} or {math.exp(-log_r):.2f}"


def _arcsine_shift(share: float, h: float) -> float:
    angle = 2 * math.asin(math.sqrt(min(max(share, 0.0), 1.0)))
    return math.sin(min(angle + h, math.pi) / 2) ** 2


def _share_difference(share_b: float, h: float) -> str:
    up = _arcsine_shift(share_b, h) - share_b
    down = share_b - math.sin(max(2 * math.asin(math.sqrt(min(max(share_b, 0.0), 1.0))) - h, 0.0) / 2) ** 2
    return f"share difference -{down:.2f} or +{up:.2f} (from {share_b:.2f})"
