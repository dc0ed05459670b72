"""Calibration files (configs/calibration.yaml): which calibrated parameters to fit, within which
bounds, against which read-outs of which study arms, on which seeds, with which sampler.

Strict like every config (pydantic, unknown keys refused); problems are one line naming the file
and the key. Beyond the schema, a file is refused when it would fit a parameter the parameter set
does not label `calibrated` (an assumed or measured value may not be fitted silently), when a
target names a study, arm or metric that does not exist, or when its seeds overlap the seeds
`abm validate` reads (validation.first_seed on, of any study): the targets are fitted on seeds the
validation never sees.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, ValidationError, model_validator

from ..config.files import _format_validation_error, load_raw
from ..configtypes import Strict
from ..errors import ConfigError
from ..sweep.spec import Engine, LocalEngine, SeedRange

Count = Annotated[StrictInt, Field(ge=1)]


class FittedParameter(Strict):
    low: float = Field(description="lower bound")
    high: float = Field(description="upper bound")
    log: bool = Field(False, description="sample on a log scale (for ranges spanning decades)")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0 (got {self.low})")
        return self


class Target(Strict):
    """A read-out of one study arm over the calibration seeds, and the value it should take.

    read-out = mean(metric) / mean(per) over the arm's runs (just mean(metric) without `per`),
    divided by the same of `reference_arm` when one is given (a ratio of arm means)."""
    study: str
    arm: str
    metric: str = Field(description="a key of abm/validate/metrics.run_metrics")
    per: str | None = Field(None, description="denominator metric: mean(metric) / mean(per)")
    reference_arm: str | None = Field(None, description="divide by the same read-out of this arm")
    value: float = Field(description="the target")
    tolerance: Annotated[float, Field(gt=0)] = Field(
        description="deviation counted as 1 (in log units with log: true)")
    log: bool = Field(False, description="compare ln(read-out) with ln(value): for ratios")
    weight: Annotated[float, Field(gt=0)] = 1.0
    source: str = Field(min_length=1, description="where the target value comes from")

    @model_validator(mode="after")
    def _positive_on_log(self):
        if self.log and self.value <= 0:
            raise ValueError(f"log: true needs a positive value (got {self.value})")
        return self


class Sampler(Strict):
    kind: Literal["tpe", "cmaes"] = "tpe"
    seed: StrictInt = Field(0, description="the sampler's seed: same seed and batch size, same trials")
    startup_trials: Annotated[StrictInt, Field(ge=0)] = Field(
        8, description="random trials before the model-based sampler takes over")


class Quick(Strict):
    seeds: Count = Field(2, description="calibration seeds with --quick (the first of `seeds`)")
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per study: config overrides with --quick (small lattices, short runs)")


class CalibrationSpec(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)]
    description: str = ""
    parameter_set: str = Field(description="the parameter set, relative to this file")
    parameters: dict[str, FittedParameter] = Field(min_length=1)
    targets: dict[str, Target] = Field(min_length=1)
    seeds: SeedRange = Field(description="{start, count}: the calibration seeds, disjoint from validation seeds")
    sampler: Sampler = Field(default_factory=Sampler)
    trials: Count = 24
    batch_size: Count = Field(4, description="trials asked, run in parallel, then told together")
    device: Literal["auto", "cpu", "gpu"] = "cpu"
    retries: Annotated[StrictInt, Field(ge=0)] = 3
    engine: Engine = Field(default_factory=lambda: LocalEngine(kind="local"))
    quick: Quick = Field(default_factory=Quick)


@dataclass(frozen=True)
class Calibration:
    """A checked calibration file, with the seeds and overrides of this invocation."""
    path: Path
    spec: CalibrationSpec
    parameter_set: Path
    seeds: tuple[int, ...]
    quick: bool
    study_tissues: dict[str, str | None]  # study -> its tissue
    exceptions: dict[str, frozenset[str]]  # parameter key -> tissues with their own value

    def arms(self) -> list[tuple[str, str]]:
        """(study, arm) pairs the targets read, in a fixed order."""
        pairs = {(t.study, arm) for t in self.spec.targets.values() for arm in (t.arm, t.reference_arm) if arm}
        return sorted(pairs)

    def overrides(self, study: str, values: dict[str, float]) -> dict[str, Any]:
        """The config overrides of one study's runs: the trial's values of the parameters whose
        base value applies in the study's tissue (a tissue with its own declared value keeps it,
        as --apply changes only the base value), plus the quick overrides with --quick."""
        tissue = self.study_tissues[study]
        chosen = {key: value for key, value in values.items() if tissue not in self.exceptions[key]}
        quick = self.spec.quick.overrides.get(study, {}) if self.quick else {}
        return {**quick, **chosen}

    def fingerprint(self) -> str:
        """What a resumed calibration must share with the one it continues: all that changes the
        trials (not `trials`, where they run, or the descriptions and sources)."""
        problem = self.spec.model_dump(mode="json", exclude={"trials", "engine", "retries", "description"})
        for target in problem["targets"].values():
            target.pop("source")
        text = json.dumps({"spec": problem, "seeds": self.seeds, "quick": self.quick}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_calibration(path, quick: bool = False, seeds: int | None = None) -> Calibration:
    """Read and check a calibration file; `seeds`: use only the first N of its seeds."""
    from ..config.parameters import load_parameter_set

    path = Path(path)
    raw, _ = load_raw(path)
    try:
        spec = CalibrationSpec.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(error, str(path))) from None
    set_path = (path.parent / spec.parameter_set).resolve()
    if not set_path.is_file():
        raise ConfigError(f"{path}: parameter_set: {spec.parameter_set!r} not found (looked for {set_path})")
    parameter_set = load_parameter_set(set_path)
    _check_labels(path, spec, parameter_set)
    tissues = _check_targets(path, spec)
    count = spec.quick.seeds if quick else spec.seeds.count
    if seeds is not None:
        if seeds < 1 or seeds > spec.seeds.count:
            raise ConfigError(f"{path}: --seeds {seeds}: between 1 and seeds.count ({spec.seeds.count})")
        count = seeds
    chosen = tuple(range(spec.seeds.start, spec.seeds.start + count))
    _check_disjoint_from_validation(path, spec)
    exceptions = {key: frozenset(parameter_set.parameters[key].tissues) for key in spec.parameters}
    return Calibration(path, spec, set_path, chosen, quick, tissues, exceptions)


def _check_labels(path: Path, spec: CalibrationSpec, parameter_set) -> None:
    for key in spec.parameters:
        parameter = parameter_set.parameters.get(key)
        if parameter is None:
            raise ConfigError(f"{path}: parameters.{key}: not a parameter of {parameter_set.path.name}")
        if parameter.label != "calibrated":
            raise ConfigError(f"{path}: parameters.{key}: labelled {parameter.label} in {parameter_set.path.name}, "
                              "not calibrated; only a parameter labelled calibrated (with its target) may be fitted")
        if not isinstance(parameter.value, (int, float)) or isinstance(parameter.value, bool):
            raise ConfigError(f"{path}: parameters.{key}: its value {parameter.value!r} is not a number")


def _check_targets(path: Path, spec: CalibrationSpec) -> dict[str, str | None]:
    """Every target's study, arms and metrics exist; returns each target study's tissue."""
    from ..config.sections import load_config
    from ..validate.metrics import run_metrics
    from ..validate.studies import STUDIES, config_path

    metric_names = _metric_names(run_metrics)
    tissues = {}
    for name, target in spec.targets.items():
        where = f"{path}: targets.{name}"
        if target.study not in STUDIES:
            raise ConfigError(f"{where}.study: unknown study {target.study!r} (studies: {', '.join(STUDIES)})")
        config_file = config_path(STUDIES[target.study])
        arms = load_config(config_file)[0].arms
        for key, arm in (("arm", target.arm), ("reference_arm", target.reference_arm)):
            if arm is not None and arm not in arms:
                raise ConfigError(f"{where}.{key}: {target.study} has no arm {arm!r} (arms: {', '.join(arms)})")
        for key, metric in (("metric", target.metric), ("per", target.per)):
            if metric is not None and metric not in metric_names:
                raise ConfigError(f"{where}.{key}: unknown metric {metric!r} (see abm/validate/metrics.py run_metrics)")
        tissues[target.study] = load_raw(config_file)[0].get("tissue")
    unknown = sorted(set(spec.quick.overrides) - set(tissues))
    if unknown:
        raise ConfigError(f"{path}: quick.overrides.{unknown[0]}: no target reads this study")
    return tissues


def _metric_names(run_metrics) -> set[str]:
    """The keys run_metrics returns, read from its source (no run needed)."""
    import inspect
    import re

    return set(re.findall(r'^\s+"(\w+)":', inspect.getsource(run_metrics), flags=re.M))


def _check_disjoint_from_validation(path: Path, spec: CalibrationSpec) -> None:
    from ..config.sections import load_config
    from ..validate.studies import STUDIES, config_path

    fitted = set(range(spec.seeds.start, spec.seeds.start + spec.seeds.count))
    for name, study in STUDIES.items():
        validation = load_config(config_path(study), check_sources=False)[0].validation
        first, last = validation.first_seed, validation.first_seed + validation.seeds - 1
        if fitted & set(range(first, last + 1)):
            raise ConfigError(f"{path}: seeds: {spec.seeds.start}..{spec.seeds.start + spec.seeds.count - 1} overlap "
                              f"the validation seeds {first}..{last} of {name}; calibrate on fresh seeds "
                              "(e.g. start: 1000)")
