"""A criterion's outcome on the runs (Check) and how it is counted in the report.

A prediction is counted once: in its study's primary family, in the first dimension its criteria
file declares. Its other dimension replicates it; secondary endpoints, calibrated and built-in
criteria are shown and not counted.
"""
from __future__ import annotations

from dataclasses import dataclass

from .design import CriteriaFile, Criterion
from .evaluate import Control, adjust, holds, negative_control, run_test
from .inference import Inference
from .power import mde_text


@dataclass
class Check:
    title: str  # the study, as the report names it ("Chan 2020")
    study: str  # its key ("chan2020")
    criterion: Criterion
    dimension: str  # "2d" or "3d"
    inference: Inference
    measured: str
    passed: bool  # raw p below alpha (or target met) until adjust() applies Holm to the family
    mde: str = "-"
    p_adjusted: float | None = None
    control: Control | None = None
    quick: bool = False  # judged on --quick runs

    @property
    def in_family(self) -> bool:
        c = self.criterion
        return c.kind == "prediction" and c.role == "primary" and self.dimension == c.dimensions[0]

    @property
    def status(self) -> str:
        c = self.criterion
        if self.quick and not c.quick:
            return "not required (quick)"
        if c.kind != "prediction":
            return f"{c.kind} (not counted)" + ("" if self.passed else ": misses its target")
        if self.dimension != c.dimensions[0]:
            return f"{'replicates' if self.passed else 'does not replicate'} in {self.dimension.upper()}"
        if c.role == "secondary":
            return f"secondary: {'holds' if self.passed else 'does not hold'}"
        if not self.passed:
            return "FAIL"
        if self.control is None:
            return "PASS (no control run)"
        return {"fails without": "validated", "holds without": "passes without its mechanism",
                "not testable": "PASS (control not testable)"}[self.control.state]


def evaluate(design: CriteriaFile, title: str, by_arm, controls: dict, dimension: str, quick: bool) -> list[Check]:
    """Every criterion of the study declared for this dimension, on its runs; controls maps the
    ablated rules to the runs made without them."""
    family_size = sum(c.kind == "prediction" and c.role == "primary" and c.dimensions[0] == dimension
                      for c in design.criteria) or 1
    checks = []
    for c in design.criteria:
        if dimension not in c.dimensions:
            continue
        result, samples, measured = run_test(c, by_arm, design.alpha)
        check = Check(title, design.study, c, dimension, result, measured, holds(c, result, design.alpha),
                      quick=quick)
        check.mde = mde_text(c.test, design.alpha / family_size, samples, result.dispersion)
        if c.mechanism and tuple(c.mechanism) in controls:
            check.control = negative_control(c, by_arm, controls[tuple(c.mechanism)], design.alpha)
        checks.append(check)
    adjust(checks, design)
    return checks


def counted(checks) -> dict[str, int]:
    """The report's summary: each prediction once, by its verdict."""
    statuses = [c.status for c in checks if c.in_family]
    keys = ("validated", "passes without its mechanism", "PASS (control not testable)", "PASS (no control run)",
            "FAIL", "not required (quick)")
    return {key: statuses.count(key) for key in keys} | {"predictions": len(statuses),
                                                          "not counted": len(checks) - len(statuses)}
