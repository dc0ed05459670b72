"""Each study's key read-outs: the effects its conclusions rest on, one number per design point.

A read-out takes {arm: [metrics of each seed's run]} (abm/validate/metrics.run_metrics) and
gives one number: an arm's mean over seeds, or an effect between arms (difference of the arms'
means over seeds). A claim is the sign (or range) of that effect that a criterion of the study
tests (abm/validate/criteria.py, named by `criterion` so that its kind, prediction, calibrated
or built-in, comes from abm/validate/mechanisms.py). Built-in criteria that would need arms of
their own (NK depletion and IFN-gamma-blind cells in Correia 2021, neutrophil depletion in
Szczerba 2019, EMT in Lo 2020) are left out: true by construction, they cannot flip.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.stats import spearmanr

from ..validate.criteria import CXCR4_DOSE_ARMS
from ..validate.stats import paired, values

Runs = dict  # {arm: [metrics dict of each seed]}


@dataclass(frozen=True)
class Claim:
    text: str  # the conclusion, e.g. "healthy NK lower inverse circularity than no NK"
    criterion: str  # the criterion of criteria.py that tests it
    target: str  # e.g. "< 0"
    holds: Callable[[float], bool]


@dataclass(frozen=True)
class Readout:
    name: str  # column of readouts.csv
    arms: tuple[str, ...]
    value: Callable[[Runs], float]
    claims: tuple[Claim, ...] = ()


def below(x: float) -> tuple[str, Callable]:
    return f"< {x:g}", lambda v: v < x


def above(x: float) -> tuple[str, Callable]:
    return f"> {x:g}", lambda v: v > x


def at_least(x: float) -> tuple[str, Callable]:
    return f">= {x:g}", lambda v: v >= x


def within(low: float, high: float) -> tuple[str, Callable]:
    return f"in ({low:g}, {high:g})", lambda v: low < v < high


def claim(text: str, criterion: str, test: tuple[str, Callable]) -> Claim:
    return Claim(text, criterion, *test)


def arm_mean(arm: str, key) -> Callable[[Runs], float]:
    """The arm's mean over seeds of a per-run metric (runs where it does not exist are dropped)."""
    def value(r: Runs) -> float:
        v = values(r[arm], key)
        return float(v.mean()) if len(v) else float("nan")
    return value


def difference(a: str, b: str, key) -> Callable[[Runs], float]:
    """mean over seeds in arm a - mean over seeds in arm b."""
    mean_a, mean_b = arm_mean(a, key), arm_mean(b, key)
    return lambda r: mean_a(r) - mean_b(r)


def ratio(a: str, b: str, key) -> Callable[[Runs], float]:
    mean_a, mean_b = arm_mean(a, key), arm_mean(b, key)
    return lambda r: mean_a(r) / mean_b(r) if mean_b(r) > 0 else float("nan")


def share(numerator: str, denominator: str) -> Callable[[dict], float]:
    return lambda run: run[numerator] / run[denominator] if run[denominator] > 0 else float("nan")


def grew_out(run: dict) -> float:
    return float(not np.isnan(run["first_outgrowth_h"]))


def time_to_outgrowth(run: dict) -> float:
    """Hours to the first outgrowth, or the run's end without one (censored at the same end in
    every run: the restricted mean time of the criteria's log-rank)."""
    return run["end_h"] if np.isnan(run["first_outgrowth_h"]) else run["first_outgrowth_h"]


def nk_fell_before_outgrowth(run: dict) -> float:
    if np.isnan(run["first_outgrowth_h"]):
        return float("nan")
    return float(run["nk_at_first_outgrowth"] < run["nk_initial"])


def largest_ever(arm: str) -> Callable[[Runs], float]:
    """The largest lesion of any seed (the criterion asks it of every run)."""
    return lambda r: float(max(run["largest_lesion_ever"] for run in r[arm]))


def paired_difference(arm: str, key_a: str, key_b: str) -> Callable[[Runs], float]:
    """Mean over the runs that have both of (a - b), two read-outs of the same run."""
    def value(r: Runs) -> float:
        a, b = paired(r[arm], key_a, key_b)
        return float(np.mean(a - b)) if len(a) else float("nan")
    return value


def dose_rho(r: Runs) -> float:
    """Spearman rho of each run's lesions with the CXCR4 block's dose rank (NaN without spread)."""
    doses = [rank for rank, arm in enumerate(CXCR4_DOSE_ARMS) for _ in r[arm]]
    lesions = [run["lesions"] for arm in CXCR4_DOSE_ARMS for run in r[arm]]
    return float(spearmanr(doses, lesions)[0]) if np.ptp(lesions) > 0 else float("nan")
