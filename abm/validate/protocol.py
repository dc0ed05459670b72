"""Studies whose protocol is several runs: a run before the arms (NK cells pre-cultured with tumor
cells, chan2020_preculture.yaml) and a run after each arm (a colony assay of the organoid's
surviving tumor cells, chan2020_colony_assay.yaml; the lung seeded with an aggregation assay's
clusters, northwestern2025_lung_seeding.yaml, read as "lung_seeding.<read-out>").

Each stage is an ordinary run file under runs/validate/<study>/[without-<rules>/]: before/seedN.h5,
<arm>/seedN.h5, after/<arm>/seedN.h5. A stage's `from_run` placements are pointed (override of
their `file`) at the run it follows, of the same seed. Runs go in waves (before, arms, after),
each wave's runs in parallel. Negative controls ablate the same rules in every stage, so a rule
switched off in the pre-culture is off in the cells it makes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config.sections import load_config
from ..errors import ConfigError
from .studies import Stage, config_path

BEFORE, ARMS, AFTER = 0, 1, 2  # waves: a wave starts when the one before it has finished


@dataclass(frozen=True)
class Task:
    """One run of a validation, and where its metrics go."""

    key: tuple  # (study, ablated rules)
    arm: str | None  # the arm whose metrics this run gives or adds to; None: a run before the arms
    seed: int
    wave: int
    config: str
    config_arm: str | None  # the arm of `config` that runs (None for a stage's own config)
    out: str
    device: str
    ablate: tuple
    metrics: str | None  # "run": every read-out (metrics.run_metrics); "assay": colonies; None
    overrides: dict = field(default_factory=dict)
    prefix: str = ""  # put before each metric's name (a stage's read-outs beside its arm's own)


def _template(path: Path) -> str:
    """A run path per seed, for a from_run `file` ({seed} placeholder; other braces escaped)."""
    text = str(path).replace("{", "{{").replace("}", "}}")
    return f"{text}/seed{{seed:03d}}.h5"


def _seed_file(folder: Path, seed: int) -> str:
    return str(folder / f"seed{seed:03d}.h5")


def _sources(path, arm, source_folder: Path) -> dict:
    """Overrides pointing every from_run placement of `arm` at the runs in source_folder."""
    config, _ = load_config(path, arm=arm, check_sources=False)
    return {f"placement.{i}.file": _template(source_folder)
            for i, entry in enumerate(config.placement) if entry.pattern == "from_run"}


def _quick(path, quick: bool) -> dict:
    return dict(load_config(path, check_sources=False)[0].validation.quick_overrides) if quick else {}


def study_tasks(study, key, folder: Path, seeds, quick: bool, device: str, arm_overrides=None,
                arms=None) -> list[Task]:
    """The runs of one study (or one of its controls, `key[1]` ablated): stages and arms (all, or
    those named in `arms`), every seed. `arm_overrides` change the arms only (a 3D organoid is still
    pre-cultured and plated in a dish)."""
    path, ablate = config_path(study), key[1]
    config = load_config(path, check_sources=False)[0]
    quick_overrides = _quick(path, quick)
    stages = {stage.name for stage in (study.before, study.after) if stage is not None}
    if stages & set(config.arms):
        raise ConfigError(f"{path}: arms {sorted(stages & set(config.arms))}: named like a protocol stage's folder")
    tasks = []
    if study.before is not None:
        before = str(config_path(study.before))
        for seed in seeds:
            tasks.append(Task(key, None, seed, BEFORE, before, None, _seed_file(folder / study.before.name, seed),
                              device, ablate, None, _quick(before, quick)))
    for arm in (a for a in config.arms if arms is None or a in arms):
        overrides = {**quick_overrides, **(arm_overrides or {}),
                     **(_sources(path, arm, folder / study.before.name) if study.before is not None else {})}
        for seed in seeds:
            tasks.append(Task(key, arm, seed, ARMS, str(path), arm, _seed_file(folder / arm, seed), device, ablate,
                              "run", overrides))
        if study.after is not None:
            tasks += _after_tasks(study.after, key, folder, arm, seeds, quick, device)
    return tasks


def _after_tasks(stage: Stage, key, folder: Path, arm: str, seeds, quick: bool, device: str) -> list[Task]:
    """A stage run per arm and seed, reading that arm's run; it runs the arm of the same name where its
    config declares one (a systemic treatment still in force in the next organ)."""
    after = str(config_path(stage))
    stage_arm = arm if arm in load_config(after, check_sources=False)[0].arms else None
    overrides = {**_quick(after, quick), **_sources(after, stage_arm, folder / arm)}
    prefix = f"{stage.name}." if stage.metrics == "run" else ""
    return [Task(key, arm, seed, AFTER, after, stage_arm, _seed_file(folder / stage.name / arm, seed), device, key[1],
                 stage.metrics, overrides, prefix) for seed in seeds]


def assay_metrics(path, validation) -> dict:
    """Colonies of a colony assay run: connected groups of viable tumor cells in its last snapshot."""
    from ..io.reader import Run
    from .metrics import TUMOR, colony_count

    with Run(path) as run:
        first, last = run.snapshot(run.snapshot_steps[0]), run.snapshot()
    return {"colonies": float(colony_count(last, validation.colony_min_cells)),
            "colony_cells_plated": float((first["agents"]["cell_type"] == TUMOR).sum())}
