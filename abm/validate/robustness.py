"""How robust each criterion is to the assumed parameters, read from the committed screening:
docs/sensitivity/<study>/robustness.csv, which `abm sensitivity` writes (per criterion id: the
design points where its claim holds, of all points; scripts/publish_sensitivity.py copies it).

The screening runs each study's 2D scenario, so it speaks for a criterion's 2D result. A study
without a screening, or a screening older than the criterion (its id absent), reads "not screened".
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

SCREENING = Path(__file__).resolve().parents[2] / "docs" / "sensitivity"
SCREENED_DIMENSION = "2d"
NOT_SCREENED = "- (not screened)"


@lru_cache(maxsize=None)
def _read(path: Path, modified_ns: int) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {row["criterion"]: row for row in csv.DictReader(handle)}


def screening(study: str, root: Path | None = None) -> dict[str, dict]:
    """{criterion id: its robustness.csv row}; {} when the study has no screening."""
    path = Path(root or SCREENING) / study / "robustness.csv"
    try:
        return _read(path, path.stat().st_mtime_ns)
    except (OSError, KeyError, csv.Error):  # absent, unreadable, or written before the criteria files
        return {}


def robust_text(study: str, criterion_id: str, dimension: str = SCREENED_DIMENSION, root: Path | None = None) -> str:
    """'robust: X of N points' (and how many were not measurable), or why there is no figure."""
    if dimension != SCREENED_DIMENSION:
        return f"- (screened in {SCREENED_DIMENSION.upper()})"
    row = screening(study, root).get(criterion_id)
    if row is None:
        return NOT_SCREENED
    try:
        holding, points, unmeasured = (int(row[key]) for key in ("points_holding", "points", "points_not_measurable"))
    except (KeyError, TypeError, ValueError):
        return NOT_SCREENED
    return f"robust: {holding} of {points} points" + (f" ({unmeasured} not measurable)" if unmeasured else "")
