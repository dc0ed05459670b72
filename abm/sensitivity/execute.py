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
from dataclasses import replace
from pathlib import Path

from ..sweep.spec import arm_hash

SEED_START = 2000  # validation uses 500.., calibration 1000..: each its own range


def point_folder(study_folder: Path, values: dict) -> Path:
    return Path(study_folder) / "runs" / arm_hash(values)


def plan(study_name: str, arms: dict, points: list[dict], seeds: int, quick: bool, study_folder: Path,
         device: str = "cpu") -> list:
    """Every run of the design, with the study's protocol stages (validate/protocol.py: e.g. the
    pre-culture before Chan's arms and the colony assay after them), each point's factor values
    set in every stage. arms: {arm: keys the arm sets}; an arm keeps its own value of a key it
    sets (the experiment), so that factor is not varied in that arm. Only the arms the criteria
    name run. A task's key is (point, ())."""
    from ..validate.protocol import study_tasks
    from ..validate.studies import STUDIES

    tasks = []
    for index, values in enumerate(points):
        folder = point_folder(study_folder, values)
        for task in study_tasks(STUDIES[study_name], (index, ()), folder, range(SEED_START, SEED_START + seeds),
                                quick, device):
            if task.arm is not None and task.arm not in arms:
                continue
            own = arms.get(task.arm, ()) if task.config_arm is not None else ()
            varied = {k: v for k, v in values.items() if k not in own}
            tasks.append(replace(task, overrides={**varied, **task.overrides}))
    return tasks


def run_one(task) -> dict:
    """On a worker: run (or reuse) one run file; its metrics (as abm validate reads them)."""
    from ..validate.runner import run_task

    return run_task(task)


def execute(tasks: list, engine, log=print, progress: bool = False) -> tuple[dict, list[str]]:
    """Run every task on the engine's Dask cluster, wave after wave (a protocol's stages in
    order). Returns ({(point, arm, seed): metrics} of the runs that finished, a stage's metrics
    joined to its arm's; [one line per failed run])."""
    from distributed import as_completed
    from tqdm import tqdm

    from ..sweep.engine import open_client, task_resources

    results, failures = {}, []
    if not tasks:
        return results, failures
    sharing: dict[str, list] = {}  # a point repeated in the design runs once
    for task in tasks:
        sharing.setdefault(task.out, []).append(task)
    with open_client(engine, len(sharing), log=log) as client, \
            tqdm(total=len(sharing), unit="run", file=sys.stderr, disable=not progress) as bar:
        for wave in sorted({task.wave for task in tasks}):
            futures = {client.submit(run_one, same[0], pure=False, resources=task_resources(engine)): same
                       for same in sharing.values() if same[0].wave == wave}
            for future in as_completed(futures):
                same = futures[future]
                try:
                    metrics = future.result()
                except Exception as error:  # noqa: BLE001 - recorded: the point's read-outs become NaN
                    failures.append(f"{same[0].out}: {error.__class__.__name__}: {' '.join(str(error).split())}")
                else:
                    for task in same:
                        if task.arm is not None:
                            results.setdefault((task.key[0], task.arm, task.seed), {}).update(metrics)
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
