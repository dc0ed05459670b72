"""Run every arm of the chosen studies over seeds (in parallel processes), then check criteria.

Each run is an ordinary `abm run` writing its own HDF5 file under
runs/validate/<study>/<arm>/seed<N>.h5; metrics are computed from those files only. A run whose
file is already complete for the same resolved config is not run again, so an interrupted
validation continues where it stopped and a changed config reruns exactly its own runs.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from ..calibrate.spec import refuse_calibration_seeds
from ..config import load_config, to_yaml
from ..errors import ConfigError
from .checks import adjust_holm
from .mechanisms import control_sets, kind, mechanism
from .metrics import run_metrics
from .studies import STUDIES, config_path


def _one_run(task):
    """Run one arm and seed (or reuse its complete output made from the same config); its metrics."""
    config, arm, seed, overrides, out, device, ablate = task
    from ..runner import run_to_file

    resolved = load_config(config, {**overrides, "seed": seed}, arm=arm, ablate=ablate)[0]
    if not _complete_with_config(out, to_yaml(resolved)):
        run_to_file(config, overrides={**overrides, "seed": seed}, arm=arm, out=out, device=device,
                    overwrite=True, progress=False, log=lambda message: None, ablate=ablate)
    return run_metrics(out, resolved.validation)


def _complete_with_config(path, config_yaml: str) -> bool:
    """True when `path` is a completed run of exactly this resolved config."""
    from ..errors import OutputError
    from ..io.reader import Run

    if not Path(path).exists():
        return False
    try:
        with Run(path) as run:
            return run.completed and run.attrs.get("config_yaml") == config_yaml
    except OutputError:
        return False


def plan(names, seeds=None, quick=False, out_dir="runs/validate", device="cpu", controls=True):
    """((study, ablated rules), arm, seed, task) for every run to do: each study's arms, and with
    `controls` the same arms again with each of its criteria's mechanisms switched off
    (abm/validate/mechanisms.py), under runs/validate/<study>/without-<rules>/."""
    unknown = [name for name in names if name not in STUDIES]
    if unknown:
        raise ConfigError(f"validate: unknown study {unknown[0]!r} (studies: {', '.join(STUDIES)})")
    tasks = []
    for name in names or list(STUDIES):
        study = STUDIES[name]
        path = config_path(study)
        config, _ = load_config(path)
        n_seeds = seeds or (config.validation.quick_seeds if quick else config.validation.seeds)
        refuse_calibration_seeds(name, range(n_seeds))  # validation never reads the seeds fitted on
        overrides = dict(config.validation.quick_overrides) if quick else {}
        for ablate in [()] + (control_sets(name) if controls else []):
            folder = Path(out_dir) / name / (f"without-{'+'.join(ablate)}" if ablate else "")
            for arm in config.arms:
                for seed in range(n_seeds):
                    out = folder / arm / f"seed{seed:03d}.h5"
                    tasks.append(((name, ablate), arm, seed, (str(path), arm, seed, overrides, str(out), device,
                                                               ablate)))
    return tasks


def execute(tasks, workers=None, progress=None):
    """Run tasks in worker processes; returns {study: {arm: [metrics ...]}} in seed order."""
    results: dict = {}
    workers = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_one_run, task): (study, arm, seed) for study, arm, seed, task in tasks}
        for future in as_completed(futures):
            study, arm, seed = futures[future]
            results.setdefault(study, {}).setdefault(arm, {})[seed] = future.result()
            if progress is not None:
                progress(1)
    return {study: {arm: [by_seed[s] for s in sorted(by_seed)] for arm, by_seed in arms.items()}
            for study, arms in results.items()}


def check(results, quick=False):
    """All checks of the studies that ran; each with its mechanism and, where its control runs
    exist, whether it also passes without that mechanism (its raw p: the control is not in the
    Holm family, which makes "fails without its mechanism" the harder verdict to reach)."""
    checks = []
    for (name, ablate), by_arm in results.items():
        if ablate:
            continue
        study = STUDIES[name]
        validation = load_config(config_path(study))[0].validation
        for item in study.check(by_arm, validation):
            if quick and not item.quick:
                item.measured += " (not required with --quick)"
            item.mechanism = mechanism(name, item.criterion)
            item.kind, item.why = kind(name, item.criterion)
            control = results.get((name, item.mechanism)) if item.mechanism else None
            if control is not None:
                item.control_passed, item.control_measured = _control(study, control, validation, item.criterion)
            checks.append(item)
    return adjust_holm(checks)  # every prediction's p in the report, adjusted together


def _control(study, by_arm, validation, criterion) -> tuple[bool, str]:
    """(passed, measured) of one criterion on the runs without its mechanism."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # empty or constant samples: the test's own verdict stands
            found = [c for c in study.check(by_arm, validation) if c.criterion == criterion]
    except (ValueError, ZeroDivisionError, FloatingPointError) as error:  # nothing left to measure
        return False, f"not measurable without it ({error.__class__.__name__})"
    return (found[0].passed, found[0].outcome) if found else (False, "not measured")
