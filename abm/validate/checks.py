"""A criterion's outcome (Check), its effect size (Effect), the builders the studies share, and
Holm's adjustment of every prediction's p-value in a report together."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .stats import (ALPHA, bootstrap_ci, holm, mann_whitney_less, ratio_of_means, tost_welch, values)


@dataclass
class Effect:
    """The model's estimate [95 % bootstrap CI] of an effect, and the study's own figure if it gave one."""
    label: str  # what is estimated, e.g. "colonies, exposed / healthy NK"
    estimate: float
    low: float
    high: float
    study: tuple[float, float] | None = None  # the study's figure as a range (lo == hi for a point)
    source: str = ""  # where the study figure comes from

    @property
    def covers_study(self) -> bool | None:
        """Does the CI meet the study figure (overlap its range)? None without a figure."""
        if self.study is None:
            return None
        return bool(self.low <= self.study[1] and self.high >= self.study[0])

    def text(self) -> str:
        return f"{self.label} {self.estimate:.3g} [{self.low:.3g}, {self.high:.3g}]"

    def study_text(self) -> str:
        if self.study is None:
            return "-"
        lo, hi = self.study
        figure = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
        return f"{figure} ({self.source}): {'in CI' if self.covers_study else 'outside CI'}"


@dataclass
class Check:
    study: str
    criterion: str
    measured: str
    target: str
    passed: bool
    quick: bool = True  # expected to hold under --quick
    mechanism: tuple = field(default=())  # rules it rests on (mechanisms.py)
    control_passed: bool | None = None  # passes with those rules ablated too (None: not run)
    control_measured: str = ""
    kind: str = "prediction"  # or "calibrated" / "built-in" (mechanisms.KINDS): not counted as validation
    why: str = ""
    test: str = ""  # the statistical test; "" for a check that is not a test (no p)
    p: float | None = None  # raw p of that test
    p_adjusted: float | None = None  # Holm-adjusted over the report's predictions (adjust_holm)
    holds: bool = True  # the criterion's conditions other than its p-value
    effect: Effect | None = None

    @property
    def status(self) -> str:
        """FAIL; calibrated or built-in (not counted); validated (passes with its mechanism, fails
        without); passes without its mechanism; or PASS (no control run)."""
        if not self.passed:
            return "FAIL"
        if self.kind != "prediction":
            return f"{self.kind} (not counted)"
        if self.control_passed is None:
            return "PASS"
        return "passes without its mechanism" if self.control_passed else "validated"

    @property
    def outcome(self) -> str:
        """The measurement with its raw p: how a negative control is shown."""
        return self.measured if self.p is None else f"{self.measured}; p = {self.p:.3g}"


def decided_by_p(study, criterion, measured, target, test, p, holds=True, **extra) -> Check:
    """A check decided by a p-value (raw until adjust_holm) and any other conditions."""
    p = float(p)
    return Check(study, criterion, measured, target, bool(holds and p < ALPHA), test=test, p=p, holds=bool(holds),
                 **extra)


def ratio_effect(label, a, b, study=None, source="") -> Effect:
    """mean(a) / mean(b) of per-run values with its bootstrap CI (runs resampled within each arm)."""
    return Effect(label, *bootstrap_ci(ratio_of_means, [a, b]), study=study, source=source)


def less(study, criterion, runs_a, runs_b, key, label_a, label_b, quick=True) -> Check:
    """label_a's per-run values below label_b's (one-sided Mann-Whitney), effect a / b."""
    a, b = values(runs_a, key), values(runs_b, key)
    return decided_by_p(study, criterion, f"{label_a} {_mean(a):.3g} vs {label_b} {_mean(b):.3g} (mean of runs)",
                  f"{label_a} < {label_b}", "one-sided Mann-Whitney", mann_whitney_less(a, b), quick=quick,
                  effect=ratio_effect(f"{label_a} / {label_b}", a, b))


def equivalent(study, criterion, runs_a, runs_b, key, label_a, label_b, relative_margin, why_margin,
               quick=True) -> Check:
    """label_a's mean within +/- relative_margin x label_b's mean (TOST, two one-sided Welch t-tests)."""
    a, b = values(runs_a, key), values(runs_b, key)
    result = tost_welch(a, b, relative_margin * _mean(b))
    return decided_by_p(study, criterion,
                  f"{label_a} {_mean(a):.3g} vs {label_b} {_mean(b):.3g}; difference {result.difference:.3g}, "
                  f"90 % CI [{result.low:.3g}, {result.high:.3g}]; margin +/- {result.margin:.3g}",
                  f"|{label_a} - {label_b}| < {relative_margin:.0%} of {label_b}'s mean ({why_margin})",
                  "TOST (two one-sided Welch t-tests)", result.p, quick=quick,
                  effect=ratio_effect(f"{label_a} / {label_b}", a, b))


def not_tested(study, criterion, measured, target, holds, quick=True, effect=None) -> Check:
    """A check that is not a statistical test (a threshold on every run, a share): no p."""
    return Check(study, criterion, measured, target, bool(holds), quick=quick, effect=effect)


def adjust_holm(checks) -> list[Check]:
    """Holm-adjust the p-values of every prediction in the report together; a prediction passes
    only if its adjusted p is below ALPHA (and its other conditions hold). Calibrated and built-in
    criteria are not predictions: they keep their raw p and are not in the family."""
    family = [c for c in checks if c.kind == "prediction" and c.p is not None]
    for check, adjusted in zip(family, holm([c.p for c in family])):
        check.p_adjusted = float(adjusted)
        check.passed = bool(check.holds and adjusted < ALPHA)
    return checks


def _mean(v) -> float:
    return float(np.mean(v)) if len(v) else float("nan")
