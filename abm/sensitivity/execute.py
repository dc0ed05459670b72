"""Running a design: every (point, arm, seed) an ordinary run file, in parallel on Dask.

Runs live under <study>/runs/<point hash>/<arm>/seed<N>.h5, the hash of the point's factor
values (sweep.spec.arm_hash): the same values give the same folder, so a rerun, a larger design
or a repeated point reuses every run already complete with the same resolved config
(sweep.worker.output_state), and an interrupted design continues where it stopped. Each point
runs the same seeds (common random numbers: a difference between points is the parameters'),
from a range of their own that `abm validate` does not use.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ..sweep.spec import arm_hash

SEED_START = 2000  # validation uses 0..seeds-1; calibration has its own range


@dataclass(frozen=True)
class RunTask:
    point: int
    arm: str
    seed: int
    config: str  # scenario path
    overrides: dict  # factor values (minus those the arm sets) and --quick's overrides
    output: str
    device: str


def point_folder(study_folder: Path, values: dict) -> Path:
    return Path(study_folder) / "runs" / arm_hash(values)


def plan(config_path, arms: dict, points: list[dict], seeds: int, quick_overrides: dict, study_folder: Path,
         device: str = "cpu") -> list[RunTask]:
    """Every run of the design. arms: {arm: keys the arm sets}; an arm keeps its own value of a
    key it sets (the experiment), so that factor is not varied in that arm."""
    tasks = []
    for index, values in enumerate(points):
        folder = point_folder(study_folder, values)
        for arm, arm_keys in arms.items():
            overrides = {**{k: v for k, v in values.items() if k not in arm_keys}, **quick_overrides}
            for seed in range(SEED_START, SEED_START + seeds):
                tasks.append(RunTask(index, arm, seed, str(config_path), overrides,
                                     str(folder / arm / f"seed{seed}.h5"), device))
    return tasks


def run_one(task: dict) -> dict:
    """On a worker: run (or reuse) one run file; its metrics (abm/validate/metrics.run_metrics)."""
    from ..config import load_config, to_yaml
    from ..runner import run_to_file
    from ..sweep.worker import output_state
    from ..validate.metrics import run_metrics

    overrides = {**task["overrides"], "seed": task["seed"]}
    resolved = load_config(task["config"], overrides, arm=task["arm"])[0]
    if output_state(task["output"], to_yaml(resolved)) != "complete":
        Path(task["output"]).parent.mkdir(parents=True, exist_ok=True)
        run_to_file(task["config"], overrides=overrides, arm=task["arm"], out=task["output"], device=task["device"],
                    overwrite=True, progress=False, log=lambda message: None)
    return run_metrics(task["output"], resolved.validation)


def execute(tasks: list[RunTask], engine, log=print, progress: bool = False) -> tuple[dict, list[str]]:
    """Run every task on the engine's Dask cluster. Returns ({(point, arm, seed): metrics} of the
    runs that finished, [one line per failed run])."""
    from distributed import as_completed
    from tqdm import tqdm

    from ..sweep.engine import open_client, task_resources

    results, failures = {}, []
    if not tasks:
        return results, failures
    sharing: dict[str, list[RunTask]] = {}  # a point repeated in the design runs once
    for task in tasks:
        sharing.setdefault(task.output, []).append(task)
    with open_client(engine, len(sharing), log=log) as client:
        futures = {client.submit(run_one, asdict(same[0]), pure=False, resources=task_resources(engine)): same
                   for same in sharing.values()}
        with tqdm(total=len(futures), unit="run", file=sys.stderr, disable=not progress) as bar:
            for future in as_completed(futures):
                same = futures[future]
                try:
                    metrics = future.result()
                except Exception as error:  # noqa: BLE001 - recorded: the point's read-outs become NaN
                    failures.append(f"{same[0].output}: {error.__class__.__name__}: {' '.join(str(error).split())}")
                else:
                    results.update({(task.point, task.arm, task.seed): metrics for task in same})
                future.release()
                bar.update(1)
    return results, failures


def by_point(results: dict, n_points: int, arms, seeds: int) -> list[dict | None]:
    """[{arm: [metrics per seed]}] per point; None for a point with a failed run."""
    out = []
    for point in range(n_points):
        keys = [(point, arm, seed) for arm in arms for seed in range(SEED_START, SEED_START + seeds)]
        if any(key not in results for key in keys):
            out.append(None)
            continue
        out.append({arm: [results[(point, arm, seed)] for seed in range(SEED_START, SEED_START + seeds)]
                    for arm in arms})
    return out
