"""What `abm sensitivity` measures: each criterion of the study's criteria file
(configs/criteria/<study>.yaml), its effect at a design point and whether its claim holds there.

The effect is the criterion's own contrast (abm/validate/evaluate.contrast) on the point's runs,
every seed of each arm it names, on a scale where 0 means no effect: a log ratio of means, a log
rate ratio (0.5 added), a difference of shares, a restricted mean time difference, a mean paired
log ratio; for a binomial or target test the share or mean itself. The claim holds at the point
when the effect lies on its claimed side: below 0 for direction `less`, above 0 for `greater` and
`later`; a binomial share on the claimed side of its null share; a target's share or mean within
its tolerance; an equivalence's log ratio of geometric means inside the margin, computed from
the point's runs as `abm validate` computes it. A NaN effect (no run to read, no lesion to take a
share of) is not measurable at that point. An infinite log ratio (one arm's mean is 0, the
other's is not) has a defined sign and is judged; the indices leave it out (design.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..validate.design import EQUIVALENCE, Criterion, criteria_path, load_criteria
from ..validate.evaluate import contrast, equivalence_margin

SCREENED_DIMENSION = "2d"  # the studies' scenarios are 2D: a criterion is screened where it is tested first
NOT_MEASURABLE = float("nan")


@dataclass(frozen=True)
class Measure:
    effect: float  # NaN: not measurable
    holds: float  # 1.0 holds, 0.0 does not, NaN not measurable
    scale: str = ""  # the effect's scale, as evaluate.contrast names it


def screened_criteria(study: str) -> list[Criterion]:
    """The study's criteria whose first dimension is the one the screening runs."""
    return [c for c in load_criteria(criteria_path(study)).criteria if c.dimensions[0] == SCREENED_DIMENSION]


def needed_arms(criteria) -> list[str]:
    """The arms the criteria name (an equivalence's reference arms too), in first-use order: only these run."""
    named = (arm for c in criteria for arm in (*c.arms, *(c.margin.reference if c.margin else ())))
    return list(dict.fromkeys(named))


def claimed_side(c: Criterion) -> str:
    """Where the effect must lie for the claim to hold, in words (no '|': it goes in Markdown tables)."""
    if c.test == "target":
        return f"within {c.target.value:g} +/- {c.target.tolerance:g}"
    if c.test in EQUIVALENCE:
        reference = " / ".join(c.margin.reference)
        return f"abs < {c.margin.fraction:g} x abs(log ratio {reference})"
    bound = c.null_share if c.test == "binomial" else 0
    return f"{'<' if c.direction == 'less' else '>'} {bound:g}"


def measure(c: Criterion, by_arm) -> Measure:
    """The criterion's effect at one design point ({arm: [metrics of each seed's run]}) and its verdict."""
    try:
        samples, statistic, scale = contrast(c, by_arm)
        if not all(len(s) for s in samples):
            return Measure(NOT_MEASURABLE, NOT_MEASURABLE, scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            effect = float(statistic(*samples))
            bound = equivalence_margin(c, by_arm) if c.test in EQUIVALENCE else 0.0
    except (KeyError, ValueError, ZeroDivisionError):  # a metric the runs lack: nothing to judge
        return Measure(NOT_MEASURABLE, NOT_MEASURABLE)
    if np.isnan(effect) or (c.test in ("target", *EQUIVALENCE) and not np.isfinite([effect, bound]).all()):
        return Measure(effect, NOT_MEASURABLE, scale)
    if c.test == "target":
        holds = abs(effect - c.target.value) <= c.target.tolerance
    elif c.test in EQUIVALENCE:
        holds = abs(effect) < bound
    else:
        null = c.null_share if c.test == "binomial" else 0.0
        holds = effect < null if c.direction == "less" else effect > null
    return Measure(effect, float(holds), scale)


def measure_design(criteria, runs_by_point: list) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(effects, holds, scales): one row per design point and one column per criterion id (holds:
    1, 0 or NaN), and each criterion's scale. A point with a failed run is not measurable."""
    effects, holds, scales = [], [], {c.id: "" for c in criteria}
    for point, runs in enumerate(runs_by_point):
        measures = {c.id: Measure(NOT_MEASURABLE, NOT_MEASURABLE) if runs is None else measure(c, runs)
                    for c in criteria}
        effects.append({"point": point, **{key: m.effect for key, m in measures.items()}})
        holds.append({"point": point, **{key: m.holds for key, m in measures.items()}})
        scales.update({key: m.scale for key, m in measures.items() if m.scale and not scales[key]})
    columns = ["point"] + [c.id for c in criteria]
    return pd.DataFrame(effects, columns=columns), pd.DataFrame(holds, columns=columns), scales
