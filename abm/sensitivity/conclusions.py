"""Does each criterion's claim survive the whole range? Where it flips, which factors drive it.

A criterion holds at a design point when its effect there lies on the claimed side (readouts.py);
a point where the effect is undefined (NaN: no lesion to take a share of, a failed run) is not
measurable, counted apart and never as holding. Robustness: the share of all design points where
it holds (robustness.csv). Drivers: the factors with the largest Morris mu* (or Sobol total
index) on the criterion's effect; beside each, its values at the flipping and at the holding
points, as multiples of its nominal value.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TOP_DRIVERS = 3
POINTS_LISTED = 5
ROBUSTNESS_COLUMNS = ("criterion", "kind", "points", "points_holding", "points_not_measurable", "share_holding")


@dataclass
class Verdict:
    criterion: str  # its id, also its column of readouts.csv
    text: str  # the claim
    kind: str  # prediction / calibrated / built-in
    scale: str  # the effect's scale
    target: str  # the claimed side of the effect
    points: int
    holding: list[int]  # design points where the claim holds
    flipped: list[int]  # design points where it does not
    drivers: list[dict] = field(default_factory=list)  # factor, index, at flips, at holds (multiples)
    flipping_points: list[dict] = field(default_factory=list)  # point, effect, top drivers' multiples

    @property
    def measured(self) -> int:
        return len(self.holding) + len(self.flipped)

    @property
    def share_holding(self) -> float:
        return len(self.holding) / self.points if self.points else float("nan")

    @property
    def status(self) -> str:
        if self.measured == 0:
            return "not measurable at any point"
        unmeasured = f" ({self.points - self.measured} of {self.points} points not measurable)" \
            if self.measured < self.points else ""
        if not self.flipped:
            return f"holds at every point: survives the whole range{unmeasured}"
        if not self.holding:
            return f"fails at every point{unmeasured}"
        share = len(self.flipped) / self.measured
        return f"flips at {len(self.flipped)} of {self.measured} points ({share:.0%}){unmeasured}"

    def robustness(self) -> dict:
        """Its row of robustness.csv."""
        return dict(zip(ROBUSTNESS_COLUMNS, (self.criterion, self.kind, self.points, len(self.holding),
                                             self.points - self.measured, self.share_holding)))


def judge(criterion, holds, scale: str, target: str) -> Verdict:
    """The criterion over the design's points (holds: 1, 0 or NaN at each point)."""
    holds = np.asarray(holds, float)
    holding = [int(i) for i in np.flatnonzero(holds == 1)]
    flipped = [int(i) for i in np.flatnonzero(holds == 0)]
    return Verdict(criterion.id, criterion.claim, criterion.kind, scale, target, len(holds), holding, flipped)


def robustness_table(verdicts) -> pd.DataFrame:
    return pd.DataFrame([v.robustness() for v in verdicts], columns=list(ROBUSTNESS_COLUMNS))


def strongest(indices: pd.DataFrame, readout: str, count: int = TOP_DRIVERS) -> pd.DataFrame:
    """The factors with the largest index (mu*, or ST for Sobol) on one effect; a factor whose
    index is 0 moved nothing and drives nothing."""
    column = "mu_star" if "mu_star" in indices.columns else "ST"
    rows = indices[(indices["readout"] == readout) & (indices[column] > 0)]  # NaN > 0 is False
    # ties (common with one seed per point) in factor order, so a report reads the same every time
    return rows.sort_values([column, "factor"], ascending=[False, True], kind="mergesort").head(count).rename(
        columns={column: "index"})


def explain(verdict: Verdict, indices: pd.DataFrame, design: pd.DataFrame, nominal: dict, y: np.ndarray) -> Verdict:
    """Fill in the drivers of a verdict and the factor values at its flipping points (y: the effects)."""
    top = strongest(indices, verdict.criterion)
    multiples = {key: design[key].to_numpy(float) / nominal[key] for key in top["factor"]}
    for _, row in top.iterrows():
        m = multiples[row["factor"]]
        verdict.drivers.append({"factor": row["factor"], "index": float(row["index"]),
                                "at_flips": _median(m[verdict.flipped]), "at_holds": _median(m[verdict.holding])})
    for point in verdict.flipped[:POINTS_LISTED]:
        verdict.flipping_points.append({"point": point, "value": float(y[point]),
                                        **{key: float(m[point]) for key, m in multiples.items()}})
    return verdict


def _median(values) -> float:
    return float(np.median(values)) if len(values) else float("nan")
