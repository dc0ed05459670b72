"""Run every arm of the chosen studies over seeds (in parallel processes), then check criteria.

Each run is an ordinary `abm run` writing its own HDF5 file under
runs/validate/<study>/<arm>/seed<N>.h5 (and a protocol's stages next to them, protocol.py);
metrics are computed from those files only. A run whose file is already complete for the same
resolved config (and the same source runs) is not run again, so an interrupted validation
continues where it stopped and a changed config reruns exactly its own runs and those after them.
"""
from __future__ import annotations

import json
from pathlib import Path

from .seeds import refuse_calibration_seeds
from ..config.sections import load_config, to_yaml
from ..errors import ConfigError
from ..config.tissue import check_study
from .checks import evaluate
from .design import check_arms, criteria_path, load_criteria
from ..core.placement.from_run import file_sha256
from .metrics import run_metrics
from .protocol import Task, assay_metrics, study_tasks
from .studies import STUDIES, config_path


def run_task(task: Task) -> dict:
    """One run of a study (or reuse of its complete output made from the same config, code and sources),
    and its metrics. Public: abm calibrate and abm sensitivity run their tasks through it."""
    from ..runner import run_to_file

    overrides = {**task.overrides, "seed": task.seed}
    resolved = load_config(task.config, overrides, arm=task.config_arm, ablate=task.ablate)[0]
    if not _complete_with_config(task.out, to_yaml(resolved)):
        run_to_file(task.config, overrides=overrides, arm=task.config_arm, out=task.out, device=task.device,
                    overwrite=True, progress=False, log=lambda message: None, ablate=task.ablate)
    if task.metrics == "run" and task.prefix:  # a stage's read-outs, beside its arm's
        return {task.prefix + name: value for name, value in run_metrics(task.out, resolved.validation).items()}
    if task.metrics == "run":
        return {**run_metrics(task.out, resolved.validation), "seed": task.seed}  # the seed itself, for metrics.csv
    return assay_metrics(task.out, resolved.validation) if task.metrics == "assay" else {}


def _complete_with_config(path, config_yaml: str) -> bool:
    """True when `path` is a completed run of exactly this resolved config, made by this code
    (io/provenance.py), and the runs its from_run placements read are still the files it read."""
    from ..errors import OutputError
    from ..io.provenance import code_sha256
    from ..io.reader import Run

    if not Path(path).exists():
        return False
    try:
        with Run(path) as run:
            attrs = run.attrs
            same = (run.completed and attrs.get("config_yaml") == config_yaml
                    and attrs.get("code_sha256") == code_sha256())
            sources = json.loads(run.attrs.get("placement_sources") or "[]")
    except OutputError:
        return False
    return same and all(Path(s["file"]).is_file() and file_sha256(Path(s["file"])) == s["sha256"] for s in sources)


THREE_D = "@3d"  # suffix of a study's 3D variant in results and reports: "chan2020@3d"


def plan(names, seeds=None, quick=False, out_dir="runs/validate", device="cpu", controls=True,
         three_d=False) -> list[Task]:
    """Every run to do: each study's arms (and the protocol stages around them, protocol.py), and
    with `controls` the same again with each of its criteria's mechanisms switched off
    (configs/criteria/<study>.yaml), under runs/validate/<study>/without-<rules>/. Seeds per arm
    come from the criteria file (the design), unless `seeds` or `quick` say otherwise. With
    `three_d`, studies whose tissue is 3D (validation.three_d_overrides) and whose criteria
    declare a 3D version run their arms again on a 3D lattice, as many seeds, under
    runs/validate/<study>@3d/ (no controls: the 2D runs carry them). A control reruns only the
    arms its criteria compare (control_arms)."""
    unknown = [name for name in names if name not in STUDIES]
    if unknown:
        raise ConfigError(f"validate: unknown study {unknown[0]!r} (studies: {', '.join(STUDIES)})")
    tasks = []
    for name in names or list(STUDIES):
        study = STUDIES[name]
        config, _ = load_config(config_path(study), check_sources=False)
        design = load_criteria(criteria_path(name))
        check_arms(design, config.arms, criteria_path(name))
        check_study(config_path(study), config.arms,
                    lambda path, arm: load_config(path, arm=arm, check_sources=False)[0])  # tissue_settings.yaml
        n_seeds = seeds or (config.validation.quick_seeds if quick else design.seeds_per_arm)
        variants = [(name, {}, [()] + (control_sets(design) if controls else []), n_seeds)]
        if three_d and config.validation.three_d_overrides and any("3d" in c.dimensions for c in design.criteria):
            variants.append((name + THREE_D, dict(config.validation.three_d_overrides), [()], n_seeds))
        first = config.validation.first_seed  # fresh seeds, never used in tuning or calibration
        refuse_calibration_seeds(name, range(first, first + n_seeds))  # validation never reads the seeds fitted on
        for label, arm_overrides, ablations, count in variants:
            for ablate in ablations:
                folder = Path(out_dir) / label / (f"without-{'+'.join(ablate)}" if ablate else "")
                tasks += study_tasks(study, (label, ablate), folder, range(first, first + count), quick, device,
                                     arm_overrides, control_arms(design, ablate) if ablate else None)
    return tasks


def execute(tasks, engine=None, progress=None, log=lambda message: None):
    """Run tasks on the engine's Dask cluster (default: local worker processes, one per core), wave
    after wave (a protocol's stages in order); returns {(study, ablated): {arm: [metrics ...]}} in
    seed order, a stage's metrics joined to its arm's. A failed run stops the validation (every
    criterion needs every run); an input error names the run it stopped."""
    from distributed import as_completed

    from ..errors import AbmError
    from ..sweep.engine import open_client, task_resources, with_cli_options
    from ..sweep.spec import LocalEngine

    engine = engine or with_cli_options(LocalEngine(kind="local"))
    results: dict = {}
    with open_client(engine, len(tasks), log=log) as client:
        for wave in sorted({task.wave for task in tasks}):
            futures = {client.submit(run_task, task, pure=False, resources=task_resources(engine)): task
                       for task in tasks if task.wave == wave}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    metrics = future.result()
                except AbmError as error:  # the user's input: one line, naming the run it stopped
                    raise type(error)(f"{task.out}: {error}") from None
                if task.arm is not None:
                    results.setdefault(task.key, {}).setdefault(task.arm, {}).setdefault(task.seed, {}).update(metrics)
                future.release()
                if progress is not None:
                    progress(1)
    return {key: {arm: [by_seed[s] for s in sorted(by_seed)] for arm, by_seed in arms.items()}
            for key, arms in results.items()}


def control_sets(design) -> list[tuple[str, ...]]:
    """The distinct rule sets the criteria rest on: one set of control runs each."""
    return list(dict.fromkeys(tuple(c.mechanism) for c in design.criteria if c.mechanism))


def control_arms(design, rules: tuple[str, ...]) -> tuple[str, ...]:
    """The arms a control without `rules` reruns: those its criteria compare (margin references too),
    not the study's others, which no control reads."""
    arms = []
    for c in design.criteria:
        if tuple(c.mechanism) == tuple(rules):
            arms += list(c.arms) + (list(c.margin.reference) if c.margin else [])
    return tuple(dict.fromkeys(arms))


def check(results, quick=False):
    """Every criterion of the studies that ran, each study judged by its criteria file: the 2D runs
    with their negative controls, and the 3D runs where the criteria declare a 3D version."""
    checks = []
    for (name, ablate), by_arm in results.items():
        if ablate:
            continue
        base = name.removesuffix(THREE_D)
        design = load_criteria(criteria_path(base))
        controls = {rules: runs for (other, rules), runs in results.items() if other == name and rules}
        dimension = "3d" if name.endswith(THREE_D) else "2d"
        checks += evaluate(design, design.title, by_arm, controls, dimension, quick)
    return checks
