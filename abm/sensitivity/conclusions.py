"""Does each conclusion survive the whole range? Where it flips, which factors drive it.

A conclusion holds at a design point when its read-out there (mean over the point's seeds)
satisfies the claim (readouts.Claim); a point where the read-out does not exist (NaN, e.g. no
lesion to take a share of) is counted apart, neither for nor against. Drivers: the factors with
the largest Morris mu* (or Sobol total index) on the claim's read-out; beside each, its values at
the flipping and at the holding points, as multiples of its nominal value.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TOP_DRIVERS = 3
POINTS_LISTED = 5


@dataclass
class Verdict:
    readout: str
    text: str  # the conclusion
    target: str
    kind: str  # prediction / calibrated / built-in
    points: int
    measured: int  # points where the read-out exists
    flipped: list[int]  # design points where the claim fails
    drivers: list[dict] = field(default_factory=list)  # factor, index, at flips, at holds (multiples)
    flipping_points: list[dict] = field(default_factory=list)  # point, read-out value, top drivers' multiples

    @property
    def status(self) -> str:
        if self.measured == 0:
            return "not measurable at any point"
        unmeasured = f" ({self.points - self.measured} of {self.points} points not measurable)" \
            if self.measured < self.points else ""
        if not self.flipped:
            return f"holds at every point: survives the whole range{unmeasured}"
        if len(self.flipped) == self.measured:
            return f"fails at every point{unmeasured}"
        share = len(self.flipped) / self.measured
        return f"flips at {len(self.flipped)} of {self.measured} points ({share:.0%}){unmeasured}"


def judge(readout, claim, y: np.ndarray, kind: str) -> Verdict:
    """The claim over the design's points (y: the read-out at each point)."""
    y = np.asarray(y, float)
    measured = ~np.isnan(y)
    flipped = [int(i) for i in np.flatnonzero(measured) if not claim.holds(float(y[i]))]
    return Verdict(readout.name, claim.text, claim.target, kind, len(y), int(measured.sum()), flipped)


def strongest(indices: pd.DataFrame, readout: str, count: int = TOP_DRIVERS) -> pd.DataFrame:
    """The factors with the largest index (mu*, or ST for Sobol) on one read-out; a factor whose
    index is 0 moved nothing and drives nothing."""
    column = "mu_star" if "mu_star" in indices.columns else "ST"
    rows = indices[(indices["readout"] == readout) & (indices[column] > 0)]  # NaN > 0 is False
    # ties (common with one seed per point) in factor order, so a report reads the same every time
    return rows.sort_values([column, "factor"], ascending=[False, True], kind="mergesort").head(count).rename(
        columns={column: "index"})


def explain(verdict: Verdict, indices: pd.DataFrame, design: pd.DataFrame, nominal: dict, y: np.ndarray) -> Verdict:
    """Fill in the drivers of a verdict and the factor values at its flipping points."""
    top = strongest(indices, verdict.readout)
    multiples = {key: design[key].to_numpy(float) / nominal[key] for key in top["factor"]}
    measured = np.flatnonzero(~np.isnan(np.asarray(y, float)))
    holding = [i for i in measured if i not in set(verdict.flipped)]
    for _, row in top.iterrows():
        m = multiples[row["factor"]]
        verdict.drivers.append({"factor": row["factor"], "index": float(row["index"]),
                                "at_flips": _median(m[verdict.flipped]), "at_holds": _median(m[holding])})
    for point in verdict.flipped[:POINTS_LISTED]:
        verdict.flipping_points.append({"point": point, "value": float(y[point]),
                                        **{key: float(m[point]) for key, m in multiples.items()}})
    return verdict


def _median(values) -> float:
    return float(np.median(values)) if len(values) else float("nan")
