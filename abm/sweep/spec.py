"""Sweep files: YAML validated by pydantic, expanded into runs (arm x seed) with stable file names.

A sweep file names a base config (and optionally one of its arms, `arm`, that every run starts
from), the arms (a full `grid` product of dotted keys and/or a list of `overrides`, one arm each;
both together: every override arm combined with every grid point), the seeds, the device and the
engine that runs it. Problems are one line naming the file and the key
(``ConfigError``), like config files.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, StrictInt, Tag, ValidationError, field_validator, model_validator

from ..config.sections import load_config, load_raw, to_yaml
from ..configtypes import Strict
from ..errors import ConfigError

Count = Annotated[StrictInt, Field(ge=1)]


class LocalEngine(Strict):
    kind: Literal["local"]
    workers: Count | None = Field(None, description="worker processes (default: CPU cores, at most one per run)")
    threads_per_worker: Count = Field(1, description="threads per worker process (one run at a time each)")
    gpus: Annotated[StrictInt, Field(ge=0)] = Field(
        0, description="one worker per GPU, pinned with CUDA_VISIBLE_DEVICES=i and resources {GPU: 1}")
    memory_limit: str | None = Field(None, description="per worker, e.g. 8GB (default: dask's share of RAM)")


class JobQueueEngine(Strict):
    kind: Literal["slurm", "pbs"]
    queue: str | None = Field(None, description="queue (PBS) or partition (SLURM)")
    partition: str | None = Field(None, description="SLURM partition (same as queue)")
    account: str | None = Field(None, description="account/project charged")
    walltime: str = Field("01:00:00", description="per job, HH:MM:SS")
    memory: str = Field("8GB", description="per job")
    cores: Count = Field(1, description="CPU cores per job")
    processes: Count = Field(1, description="worker processes per job (1 when gpus_per_worker is 1)")
    gpus_per_worker: Literal[0, 1] = Field(0, description="1: one GPU per worker (--gres=gpu:1 / ngpus=1)")
    jobs: Count | None = Field(None, description="fixed number of jobs")
    maximum_jobs: Count | None = Field(None, description="adaptive: 0..maximum_jobs jobs (default 8)")
    job_name: str = "abm-sweep"
    job_extra_directives: list[str] = Field(default_factory=list, description="extra #SBATCH/#PBS lines")
    job_script_prologue: list[str] = Field(default_factory=list, description="shell lines before the worker")
    worker_extra_args: list[str] = Field(default_factory=list)
    local_directory: str | None = Field(None, description="worker scratch folder on the node, e.g. $TMPDIR")
    log_directory: str | None = Field(None, description="folder for the job logs")
    interface: str | None = Field(None, description="network interface of the workers, e.g. ib0")
    python: str | None = Field(None, description="python on the nodes (default: this one)")
    options: dict[str, Any] = Field(default_factory=dict, description="more dask-jobqueue keyword arguments")

    @field_validator("memory")
    @classmethod
    def _size(cls, value):
        from dask.utils import parse_bytes

        try:
            parse_bytes(value)
        except (ValueError, TypeError):
            raise ValueError(f"engine.memory: {value!r} is not a size such as 16GB") from None
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.queue is not None and self.partition is not None:
            raise ValueError("engine.partition: give queue or partition, not both")
        if self.partition is not None and self.kind != "slurm":
            raise ValueError("engine.partition: only for kind slurm; use queue")
        if self.jobs is not None and self.maximum_jobs is not None:
            raise ValueError("engine.maximum_jobs: give jobs (fixed) or maximum_jobs (adaptive), not both")
        if self.gpus_per_worker and self.processes != 1:
            raise ValueError("engine.processes: must be 1 with gpus_per_worker 1 (one GPU per worker process)")
        return self


class SchedulerEngine(Strict):
    kind: Literal["scheduler"]
    address: str = Field(description="address of a running dask scheduler, e.g. tcp://node12:8786")
    gpus_per_worker: Literal[0, 1] = Field(0, description="1: workers advertise resources {GPU: 1}")


Engine = Annotated[Union[LocalEngine, JobQueueEngine, SchedulerEngine], Field(discriminator="kind")]


class SeedRange(Strict):
    count: Count
    start: Annotated[StrictInt, Field(ge=0)] = 0


def _seeds_kind(value):
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, (dict, SeedRange)):
        return "range"
    return None


Seeds = Annotated[
    Union[Annotated[list[Annotated[StrictInt, Field(ge=0, lt=2**63)]], Tag("list")], Annotated[SeedRange, Tag("range")]],
    Discriminator(_seeds_kind, custom_error_type="seeds",
                  custom_error_message="expected a list of seeds, e.g. [1, 2, 3], or {count: N, start: S}")]


class SweepSpec(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)]
    description: str = ""
    base: str = Field(description="config file, relative to the sweep file")
    arm: str | None = Field(None, description="an arm of the base config (its arms:) that every run starts from, "
                                              "as abm run --arm: its overrides first, then the sweep's")
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    overrides: list[dict[str, Any]] = Field(default_factory=list)
    seeds: Seeds | None = Field(None, description="list of seeds, or {count: N, start: S}; default: the base's seed")
    device: Literal["auto", "cpu", "gpu"] | None = None
    retries: Annotated[StrictInt, Field(ge=0)] = Field(
        3, description="times a run is started again after its worker died (or its task failed outside the run)")
    engine: Engine = Field(default_factory=lambda: LocalEngine(kind="local"))

    @model_validator(mode="after")
    def _keys(self):
        for where, keys in [("grid", self.grid)] + [(f"overrides.{i}", arm) for i, arm in enumerate(self.overrides)]:
            for key in keys:
                if not key or any(not part for part in str(key).split(".")):
                    raise ValueError(f"{where}: empty key or empty part in {key!r}")
                if key == "seed":
                    raise ValueError(f"{where}.seed: set seeds with the top-level seeds key")
                if where != "grid" and key in self.grid:
                    raise ValueError(f"{where}.{key}: also a grid key; a key is swept in one place")
        if isinstance(self.seeds, list):
            if not self.seeds:
                raise ValueError("seeds: empty list")
            if len(set(self.seeds)) != len(self.seeds):
                raise ValueError("seeds: a seed is listed twice")
        return self

    def seed_list(self, base_seed: int) -> list[int]:
        if self.seeds is None:
            return [base_seed]
        if isinstance(self.seeds, SeedRange):
            return list(range(self.seeds.start, self.seeds.start + self.seeds.count))
        return list(self.seeds)

    def arms(self) -> list[dict[str, Any]]:
        keys = list(self.grid)
        points = [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]
        return [{**arm, **point} for arm in (self.overrides or [{}]) for point in points]


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: what a worker needs, as plain data (it travels to the workers)."""

    index: int
    arm: int
    seed: int
    overrides: dict                # the run's dotted keys: the base arm's (sweep arm:), then its arm's; no seed
    params: dict                   # effective value of every swept key (override or base value)
    stem: str                      # file name without .h5
    base: str                      # absolute config path
    output: str                    # absolute final HDF5 path
    device: str | None
    expected_config: str | None    # resolved config YAML; None when the run's config is invalid
    sweep: str = ""

    @property
    def all_overrides(self) -> dict:
        return {**self.overrides, "seed": self.seed}


@dataclass
class Sweep:
    spec: SweepSpec
    source: str                    # sweep file path, for messages
    text: str                      # the sweep file as written
    base: Path                     # absolute
    out_dir: Path                  # absolute
    runs: list[RunSpec]
    swept_keys: list[str]


def arm_hash(overrides: dict) -> str:
    canonical = json.dumps(overrides, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(canonical.encode()).hexdigest()[:8]


def run_stem(arm: int, n_arms: int, overrides: dict, seed: int) -> str:
    width = max(3, len(str(n_arms - 1)))
    return f"{arm:0{width}d}-{arm_hash(overrides)}-seed{seed}"


def _format_error(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        if len(loc) >= 2 and loc[0] == "engine" and loc[1] in ("local", "slurm", "pbs", "scheduler"):
            loc.pop(1)
        if len(loc) >= 2 and loc[0] == "seeds" and loc[1] in ("list", "range"):
            loc.pop(1)
        key, message, kind = ".".join(loc) or "(top level)", item["msg"], item["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "union_tag_invalid":
            key, message = f"{key}.kind", f"unknown kind {item['ctx']['tag']!r}; expected {item['ctx']['expected_tags']}"
        elif kind == "union_tag_not_found":
            key, message = f"{key}.kind", "required key is missing (local, slurm, pbs or scheduler)"
        elif kind == "value_error":  # our validators: the message starts with the full key
            problems.append(message.removeprefix("Value error, "))
            continue
        elif "input" in item and not isinstance(item["input"], (dict, list)):
            text = repr(item["input"])
            message = f"{message} (got {text if len(text) < 60 else text[:57] + '...'})"
        problems.append(f"{key}: {message}")
    if len(problems) > 5:
        problems = problems[:5] + [f"and {len(problems) - 5} more problems"]
    return " ".join(f"{source}: {'; '.join(problems)}".split())


def _lookup(node: Any, key: str) -> tuple[bool, Any]:
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _base_arm(spec: SweepSpec, base: Path, source: str) -> dict:
    """The overrides of the base config's arm that the sweep selects ({} for none)."""
    if spec.arm is None:
        return {}
    arms = load_raw(base)[0].get("arms") or {}
    if not isinstance(arms, dict) or spec.arm not in arms:
        names = ", ".join(arms) if isinstance(arms, dict) else ""
        raise ConfigError(f"{source}: arm: {spec.arm!r} is not an arm of {spec.base} (arms: {names or 'none'})")
    if not isinstance(arms[spec.arm], dict):  # load_config reports it, naming the base file
        return {}
    return dict(arms[spec.arm])


def load_sweep(path: str | Path, out_dir: str | Path | None = None, device: str | None = None) -> Sweep:
    """Read and validate a sweep file and expand it into runs. Bad input: ``ConfigError``."""
    path = Path(path)
    raw, text = load_raw(path)
    source = str(path)
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_error(error, source)) from None
    base = (path.parent / spec.base).resolve()
    if not base.is_file():
        raise ConfigError(f"{source}: base: config file {spec.base!r} not found (looked in {base.parent})")
    base_arm = _base_arm(spec, base, source)
    base_config, _ = load_config(base, arm=spec.arm)  # a bad base config fails here, naming its own file
    if spec.arm is not None:  # the workers run the base with overrides only: the arm travels as overrides
        base_arm = {**base_arm, "name": base_config.name}
    dump = base_config.model_dump(mode="json")
    arms = spec.arms()
    swept: list[str] = []
    for arm_index, arm in enumerate(arms):
        for key in arm:
            if key not in swept:
                swept.append(key)
                if not _lookup(dump, key)[0]:
                    where = "grid" if key in spec.grid else "overrides"
                    raise ConfigError(f"{source}: {where}.{key}: no such key in the base config {spec.base}")
    out = Path(out_dir) if out_dir is not None else Path("runs") / spec.name
    out = out.resolve()
    device = device or spec.device
    runs: list[RunSpec] = []
    for arm_index, arm in enumerate(arms):
        params = {key: arm[key] if key in arm else _lookup(dump, key)[1] for key in swept}
        # The base arm's keys that the sweep sets too are left out, so that every key the sweep
        # sets is applied after all of the arm's, as `abm run --arm` applies --set.
        run_overrides = {**{k: v for k, v in base_arm.items() if k not in arm}, **arm}
        for seed in spec.seed_list(base_config.seed):
            overrides = {**run_overrides, "seed": seed}
            stem = run_stem(arm_index, len(arms), arm, seed)
            try:  # every grid point and arm checked now: a bad value fails the sweep before any run starts
                expected = to_yaml(load_config(base, overrides)[0])
            except ConfigError as error:
                point = ", ".join(f"{key}={value!r}" for key, value in arm.items())
                raise ConfigError(f"{source}: run {stem} ({point}): {error}") from None
            runs.append(RunSpec(index=len(runs), arm=arm_index, seed=seed, overrides=run_overrides, params=params,
                                stem=stem, base=str(base), output=str(out / f"{stem}.h5"), device=device,
                                expected_config=expected, sweep=spec.name))
    return Sweep(spec=spec, source=source, text=text, base=base, out_dir=out, runs=runs, swept_keys=swept)
