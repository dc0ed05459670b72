"""A study's criteria file (configs/criteria/<study>.yaml): its claims, their endpoints and tests,
the family for multiple testing, and the seeds per arm, declared before the validation runs.

The file is the statistical design, frozen by committing it before the runs: the report prints
each file's SHA-256 and the commit that last changed it, and says "not frozen" when the file in
use differs from that commit. `abm validate` reads nothing else to decide a verdict.
"""
from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ..errors import ConfigError

CRITERIA = Path(__file__).resolve().parents[2] / "configs" / "criteria"

TESTS = ("mann_whitney", "count_model", "fisher", "binomial", "logrank", "spearman_dose", "wilcoxon_paired",
         "equivalence_log", "equivalence_count", "target")
EQUIVALENCE = ("equivalence_log", "equivalence_count")  # margin tests: the effect within +/- a margin


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudyFigure(_Strict):
    low: float
    high: float
    source: str


class Margin(_Strict):
    """An equivalence margin on the log scale: `fraction` of the reference contrast's own log effect
    (|log(mean of reference[0] / mean of reference[1])|) in the same runs, on the criterion's endpoint
    or the one named ("raises A but not B": B's effect within a fraction of A's)."""
    reference: tuple[str, str]
    fraction: float = Field(gt=0, le=1)
    endpoint: str | None = None  # the reference contrast's endpoint, when not the criterion's own


class Target(_Strict):
    """A calibration target: the measured share or mean must lie within value +/- tolerance."""
    value: float
    tolerance: float = Field(gt=0)


class Criterion(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    claim: str  # the study's finding as the model should show it, in one sentence
    source: str  # where the study reports it (digest section, figure)
    role: Literal["primary", "secondary"] = "primary"  # secondary: reported, not counted or adjusted
    kind: Literal["prediction", "calibrated", "built-in"] = "prediction"
    why: str = ""  # for calibrated and built-in: what makes it so
    endpoint: str | tuple[str, str]  # a run metric or an endpoint (endpoints.py); two for a paired test
    test: Literal[TESTS]  # type: ignore[valid-type]
    arms: tuple[str, ...]  # compared arms, in the order the test reads them (a dose series: rising dose)
    direction: Literal["less", "greater", "later"] = "less"  # the first arm against the second (or the null)
    null_share: float | None = Field(default=None, ge=0, le=1)  # binomial: the share tested against
    margin: Margin | None = None  # equivalence_log, equivalence_count
    target: Target | None = None  # target
    control_direction: Literal["less", "greater"] | None = None  # the sign with - without should take
    mechanism: tuple[str, ...] = ()  # rules the claim rests on: the negative control ablates them
    dimensions: tuple[Literal["2d", "3d"], ...] = ("2d",)  # the first is the claim's test; others replicate it
    study_figure: StudyFigure | None = None
    quick: bool = True  # expected to hold with the few seeds and small runs of --quick

    @model_validator(mode="after")
    def _consistent(self):
        needs = {"binomial": "null_share", "equivalence_log": "margin", "equivalence_count": "margin",
                 "target": "target"}
        if self.test in needs and getattr(self, needs[self.test]) is None:
            raise ValueError(f"test {self.test} needs {needs[self.test]}")
        if self.kind != "prediction" and not self.why:
            raise ValueError(f"a {self.kind} criterion says why (why:)")
        if self.test == "target" and self.kind != "calibrated":
            raise ValueError("a target test checks a calibration: kind calibrated")
        if (self.test == "wilcoxon_paired") != isinstance(self.endpoint, tuple):
            raise ValueError("a paired test reads two endpoints of one arm; other tests read one")
        return self

    @property
    def expected_sign(self) -> str:
        """The sign of (effect with the mechanism) - (effect without) that shows the mechanism at work."""
        if self.control_direction:
            return self.control_direction
        return "greater" if self.direction in ("greater", "later") else "less"


class CriteriaFile(_Strict):
    study: str
    title: str  # how the report names the study
    seeds_per_arm: int = Field(ge=2)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    multiple_testing: Literal["holm"] = "holm"  # within the study's primary predictions, per dimension
    criteria: tuple[Criterion, ...]
    _sha256: str = PrivateAttr("")  # of the bytes this design was read from (load_criteria)

    @property
    def file_sha256(self) -> str:
        """SHA-256 of the file as it was read: the design used, even if the file changes later."""
        return self._sha256

    @model_validator(mode="after")
    def _unique(self):
        ids = [c.id for c in self.criteria]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"criteria ids repeat: {duplicated}")
        return self


def criteria_path(study: str, root: Path | None = None) -> Path:
    return (root or CRITERIA) / f"{study}.yaml"


@lru_cache(maxsize=None)
def load_criteria(path: Path) -> CriteriaFile:
    """The criteria file, checked whole; a one-line error naming the file and the key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the criteria file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    try:
        design = CriteriaFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
    design._sha256 = hashlib.sha256(raw).hexdigest()
    return design


def check_arms(design: CriteriaFile, arms, path: Path) -> None:
    """Every arm a criterion names exists in the study's scenario."""
    for i, criterion in enumerate(design.criteria):
        named = list(criterion.arms) + (list(criterion.margin.reference) if criterion.margin else [])
        missing = [arm for arm in named if arm not in arms]
        if missing:
            raise ConfigError(f"{path}: criteria.{i} ({criterion.id}): arm {missing[0]!r} is not an arm of the "
                              f"study's scenario (arms: {', '.join(arms)})")


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def freeze_status(path: Path, used_sha256: str | None = None) -> str:
    """The commit that last changed the file, and whether the design used (its bytes' SHA-256; by
    default the file as it is now) is that commit's version."""
    path = Path(path)

    def git(*args, check=True):
        return subprocess.run(["git", "-C", str(path.parent), *args], capture_output=True, text=True, timeout=30,
                              check=check).stdout.strip()
    try:
        git("rev-parse", "--is-inside-work-tree")
        last = git("log", "-1", "--format=%h %cI", "--", path.name, check=False)  # "" before the first commit
        committed = subprocess.run(["git", "-C", str(path.parent), "show", f"{last.split()[0]}:./{path.name}"],
                                   capture_output=True, timeout=30).stdout if last else b""
    except (OSError, subprocess.SubprocessError):
        return "not in a git checkout: freeze not checkable"
    if not last:
        return "NOT FROZEN: never committed"
    same = hashlib.sha256(committed).hexdigest() == (used_sha256 or sha256(path))
    return f"committed {last}" + ("" if same else "; NOT FROZEN: the file in use differs from that commit")


def criterion_kind(study: str, criterion_id: str) -> tuple[str, str]:
    """(kind, why) of a criterion named by its study and id: "prediction", "calibrated" or "built-in"."""
    for c in load_criteria(criteria_path(study)).criteria:
        if c.id == criterion_id:
            return c.kind, c.why
    raise ConfigError(f"{criteria_path(study)}: no criterion {criterion_id!r}")
