"""A trial's read-outs and its objective.

Each target's read-out is computed from the per-run metrics of its arm over the calibration
seeds, as the criteria read them (abm/validate/metrics.run_metrics of each run file):

    value(arm)  = mean over seeds of metric            (or mean(metric) / mean(per))
    read-out    = value(arm)                           (or value(arm) / value(reference_arm))

The objective is the weighted sum of squared, scale-normalised deviations

    objective = sum_i  weight_i * ((read-out_i - target_i) / tolerance_i)^2

with ln(read-out) - ln(target) in place of the difference for targets on a log scale (ratios),
so a target missed by one tolerance adds 1. A read-out that cannot be computed (an empty
denominator, a zero or infinite ratio on a log scale) counts as missed by MISSED_TOLERANCES.
"""
from __future__ import annotations

import math

import numpy as np

MISSED_TOLERANCES = 10.0  # deviation of a read-out that is not a finite number


def arm_value(runs: list[dict], metric: str, per: str | None) -> float:
    """mean(metric) over the arm's runs, or mean(metric) / mean(per) (NaN where mean(per) is 0)."""
    numerator = float(np.mean([run[metric] for run in runs]))
    if per is None:
        return numerator
    denominator = float(np.mean([run[per] for run in runs]))
    return numerator / denominator if denominator > 0 else float("nan")


def read_out(target, by_arm: dict[tuple[str, str], list[dict]]) -> float:
    """The target's read-out from {(study, arm): [metrics of each seed's run]}."""
    value = arm_value(by_arm[(target.study, target.arm)], target.metric, target.per)
    if target.reference_arm is None:
        return value
    reference = arm_value(by_arm[(target.study, target.reference_arm)], target.metric, target.per)
    if reference == 0:
        return float("inf") if value > 0 else float("nan")
    return value / reference


def standard_error(target, by_arm) -> float:
    """Seed-to-seed standard error of a plain mean read-out (NaN for ratios, not estimated here)."""
    if target.per is not None or target.reference_arm is not None:
        return float("nan")
    values = np.array([run[target.metric] for run in by_arm[(target.study, target.arm)]], dtype=float)
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")


def deviation(target, value: float) -> float:
    """Signed deviation in tolerances (MISSED_TOLERANCES where the read-out is not usable)."""
    if target.log:
        if value <= 0:  # no effect at all: below any positive target
            return -MISSED_TOLERANCES
        if not math.isfinite(value):  # NaN, or a ratio over an empty reference arm
            return MISSED_TOLERANCES
        return (math.log(value) - math.log(target.value)) / target.tolerance
    if not math.isfinite(value):
        return MISSED_TOLERANCES
    return (value - target.value) / target.tolerance


def objective(targets: dict, deviations: dict[str, float]) -> float:
    return float(sum(targets[name].weight * deviations[name] ** 2 for name in targets))


def evaluate(targets: dict, by_arm) -> dict:
    """{'read_outs', 'deviations', 'standard_errors', 'objective'} of one trial."""
    values = {name: read_out(target, by_arm) for name, target in targets.items()}
    deviations = {name: deviation(targets[name], value) for name, value in values.items()}
    errors = {name: standard_error(target, by_arm) for name, target in targets.items()}
    return {"read_outs": values, "deviations": deviations, "standard_errors": errors,
            "objective": objective(targets, deviations)}
