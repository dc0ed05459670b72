"""A criterion of a criteria file applied to the runs: its test, its effect, its minimum detectable
effect, and its negative control judged on the difference between the runs with and without its
mechanism. Holm's adjustment runs within each study's primary predictions.
"""
from __future__ import annotations

import numpy as np

from . import inference
from .design import EQUIVALENCE, CriteriaFile, Criterion
from .endpoints import paired, per_run, time_to_event
from .inference import Inference
from .stats import holm

HALDANE = 0.5  # added to each arm's event total where a count's log ratio needs it finite


def run_test(c: Criterion, by_arm, alpha: float) -> tuple[Inference, list, str]:
    """(inference, the samples the minimum detectable effect reads, the measured values in words)."""
    arms = [by_arm[arm] for arm in c.arms]
    if c.test == "logrank":
        (ta, ea), (tb, eb) = time_to_event(arms[0], c.endpoint), time_to_event(arms[1], c.endpoint)
        result = inference.logrank(ta, ea, tb, eb, c.direction)
        return result, [ta, tb, ea, eb], (f"{c.arms[0]}: event in {ea.sum()}/{len(ea)} runs; "
                                          f"{c.arms[1]}: {eb.sum()}/{len(eb)}")
    if c.test == "spearman_dose":
        series = [per_run(runs, c.endpoint) for runs in arms]
        doses = np.concatenate([np.full(len(v), rank) for rank, v in enumerate(series)])
        result = inference.spearman_dose(doses, np.concatenate(series), c.direction)
        return result, series, "means by rising dose " + " / ".join(f"{_mean(v):.3g}" for v in series)
    if c.test == "wilcoxon_paired":
        a, b = paired(arms[0], *c.endpoint)
        result = inference.wilcoxon_paired(a, b, c.direction)
        return result, [a, b], f"{c.endpoint[0]} {_mean(a):.3g} vs {c.endpoint[1]} {_mean(b):.3g} ({len(a)} runs with both)"
    values = [per_run(runs, c.endpoint) for runs in arms]
    measured = " vs ".join(f"{arm} {_mean(v):.3g}" for arm, v in zip(c.arms, values)) + " (mean of runs)"
    if c.test in ("binomial", "target"):
        a = values[0]
        if c.test == "target":
            result = inference.share_of_runs(a) if np.isin(a, (0, 1)).all() else inference.mean_of_runs(a)
        else:
            result = inference.binomial(a, c.null_share, c.direction)
        return result, [a, np.full(len(a), c.null_share or 0.0)], f"{_mean(a):.3g} of {len(a)} runs"
    if c.test in EQUIVALENCE:
        test = inference.equivalence_log if c.test == "equivalence_log" else inference.equivalence_count
        result = test(values[0], values[1], equivalence_margin(c, by_arm))
        return result, values, measured + f"; margin {c.margin.fraction:g} x the {c.margin.reference[0]} effect"
    test = {"mann_whitney": inference.mann_whitney, "count_model": inference.count_model,
            "fisher": inference.fisher}[c.test]
    return test(values[0], values[1], c.direction), values, measured


def equivalence_margin(c: Criterion, by_arm) -> float:
    """The equivalence margin on the log scale: the declared fraction of the reference contrast's own
    |log(mean / mean)| in the same runs (on the margin's endpoint, if it names one); NaN where a
    reference arm has no value."""
    reference = [per_run(by_arm[arm], c.margin.endpoint or c.endpoint) for arm in c.margin.reference]
    if not min(map(len, reference)):
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(c.margin.fraction * abs(np.log(np.mean(reference[0]) / np.mean(reference[1]))))


def holds(c: Criterion, result: Inference, alpha: float) -> bool:
    """The verdict before multiple testing: p below alpha, or a calibration target met."""
    if c.test == "target":
        return result.defined and abs(result.estimate - c.target.value) <= c.target.tolerance
    return result.p is not None and np.isfinite(result.p) and result.p < alpha


def _mean(v) -> float:
    return float(np.mean(v)) if len(v) else float("nan")


# -- the negative control: the claim's effect with its mechanism minus without it ---------------

def _log_ratio(a, b, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.mean(a, axis=axis) / np.mean(b, axis=axis))


def _log_rate_ratio(a, b, axis=-1):
    na, nb = a.shape[axis], b.shape[axis]
    return np.log((np.mean(a, axis=axis) + HALDANE / na) / (np.mean(b, axis=axis) + HALDANE / nb))


def _difference(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def _mean_axis(a, axis=-1):
    return np.mean(a, axis=axis)


def contrast(c: Criterion, by_arm) -> tuple[list, callable, str]:
    """The claim's effect on a scale where with-minus-without is meaningful: (samples, statistic, scale)."""
    arms = [by_arm[arm] for arm in c.arms]
    if c.test == "logrank":
        return [time_to_event(arms[0], c.endpoint)[0], time_to_event(arms[1], c.endpoint)[0]], _difference, \
            "restricted mean time difference (h)"
    if c.test == "spearman_dose":
        return [per_run(arms[-1], c.endpoint), per_run(arms[0], c.endpoint)], _log_rate_ratio, \
            "log ratio, highest dose / none (0.5 added)"
    if c.test == "wilcoxon_paired":
        a, b = paired(arms[0], *c.endpoint)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(a / b)
        return [logs[np.isfinite(logs)]], _mean_axis, "mean per-run log ratio"
    values = [per_run(runs, c.endpoint) for runs in arms]
    if c.test in ("binomial", "target"):
        return values[:1], _mean_axis, "share or mean of runs"
    if c.test == "fisher":
        return values, _difference, "difference of shares"
    if c.test in ("count_model", "equivalence_count"):
        return values, _log_rate_ratio, "log rate ratio (0.5 added)"
    if c.test == "equivalence_log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return [np.log(v) for v in values], _difference, "log ratio of geometric means"
    return values, _log_ratio, "log ratio of means"


class Control:
    """The negative control's verdict: "fails without" (the effect is weaker without the mechanism:
    the interval of with - without lies on the claim's side of 0), "holds without" (it does not),
    or "not testable" (the effect is undefined in either set of runs)."""

    def __init__(self, state: str, text: str, estimate=float("nan"), low=float("nan"), high=float("nan")):
        self.state, self.text, self.estimate, self.low, self.high = state, text, estimate, low, high


def negative_control(c: Criterion, with_runs, without_runs, alpha: float) -> Control:
    try:
        with_samples, statistic, scale = contrast(c, with_runs)
        without_samples, _, _ = contrast(c, without_runs)
        without_result, _, without_measured = run_test(c, without_runs, alpha)
    except (KeyError, ValueError, ZeroDivisionError) as error:
        return Control("not testable", f"not measurable without it ({error.__class__.__name__})")
    k = len(with_samples)
    with np.errstate(all="ignore"):
        effect_with = float(statistic(*with_samples)) if all(len(s) for s in with_samples) else np.nan
        effect_without = float(statistic(*without_samples)) if all(len(s) for s in without_samples) else np.nan
    described = f"{without_measured}; {without_result.text()}"
    if not (np.isfinite(effect_with) and np.isfinite(effect_without)):
        return Control("not testable", f"{described}; {scale} undefined with or without it")

    def both(*samples, axis=-1):
        return statistic(*samples[:k], axis=axis) - statistic(*samples[k:], axis=axis)

    low, high = inference.bca(both, [*with_samples, *without_samples])
    estimate = effect_with - effect_without
    if not (np.isfinite(low) and np.isfinite(high)):
        low = high = estimate if all(np.ptp(s) == 0 for s in with_samples + without_samples if len(s)) else np.nan
    weaker = high < 0 if c.expected_sign == "less" else low > 0
    state = "fails without" if weaker else "holds without"
    return Control(state, f"{described}; with - without, {scale}: {estimate:.3g} [{low:.3g}, {high:.3g}]",
                   estimate, low, high)


def adjust(checks, design: CriteriaFile) -> None:
    """Holm within the study's family: its primary predictions in their own (first) dimension."""
    family = [c for c in checks if c.in_family and c.inference.p is not None]
    for check, adjusted in zip(family, holm([c.inference.p for c in family])):
        check.p_adjusted = float(adjusted)
        check.passed = bool(np.isfinite(adjusted) and adjusted < design.alpha)
