"""The calibration loop: optuna's ask-and-tell, each batch of trials run in parallel on Dask.

A batch of `batch_size` trials is asked, every trial's runs (the targets' study arms x the
calibration seeds, each an ordinary `abm run` to its own HDF5 file) are submitted to the Dask
client together, the read-outs are computed from the files, and the trials are told back in
trial order. The sampler of each batch is seeded from (sampler.seed, number of trials asked
before it), so a given sampler seed and batch size give the same trials, and a calibration
that was interrupted and started again gives the same trials as one that was not.

Resumable: the optuna study lives in <out>/study.db (sqlite). Started again, a calibration first
re-runs the trials left unfinished (their parameters are stored; runs already complete with the
same config are reused), then asks new batches until the study holds `trials` trials.
"""
from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

import numpy as np

from ..errors import ConfigError, OutputError
from .objective import evaluate

STUDY_DB = "study.db"
READ_OUTS = "read_outs"  # folder of one JSON file per finished trial


def open_study(calibration, folder: Path):
    """The optuna study of this calibration in `folder` (created, or loaded to continue)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{(folder / STUDY_DB).resolve()}"
    study = optuna.create_study(study_name=calibration.spec.name, storage=storage, direction="minimize",
                                load_if_exists=True)
    fingerprint = study.user_attrs.get("fingerprint")
    if fingerprint is None:
        study.set_user_attr("fingerprint", calibration.fingerprint())
        study.set_user_attr("calibration_file", str(calibration.path))
    elif fingerprint != calibration.fingerprint():
        raise ConfigError(f"{calibration.path}: {folder} holds a calibration with other parameters, targets, seeds, "
                          "sampler or --quick; give another --out (or delete that folder) to start afresh")
    return study


def distributions(calibration) -> dict:
    from optuna.distributions import FloatDistribution

    return {key: FloatDistribution(p.low, p.high, log=p.log) for key, p in calibration.spec.parameters.items()}


def make_sampler(sampler, asked_before: int):
    """The sampler for the batch that starts at trial `asked_before` (seeded from both)."""
    import optuna

    seed = int(np.random.SeedSequence([sampler.seed, asked_before]).generate_state(1)[0])
    if sampler.kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=sampler.startup_trials, constant_liar=True)
    if importlib.util.find_spec("cmaes") is None:  # optuna's CMA-ES sampler is built on it
        raise ConfigError("sampler.kind: cmaes needs the cmaes package (pip install cmaes)")
    return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=sampler.startup_trials,
                                        warn_independent_sampling=False)


def unfinished(study) -> list:
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False) if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def ask_batch(study, calibration, size: int) -> list[tuple[int, dict]]:
    """(trial number, parameter values) of `size` new trials."""
    study.sampler = make_sampler(calibration.spec.sampler, len(study.get_trials(deepcopy=False)))
    space = distributions(calibration)
    asked = [study.ask(space) for _ in range(size)]
    return [(trial.number, dict(trial.params)) for trial in asked]


def run_tasks(calibration, folder: Path, number: int, values: dict) -> list[tuple[tuple[str, str], object]]:
    """((study, arm), task for abm/validate/runner.run_task) of every run of one trial. The
    targets read arms without a protocol stage (their cells are placed, not carried from a run)."""
    from ..validate.protocol import ARMS, Task
    from ..validate.studies import STUDIES, config_path

    tasks = []
    for study, arm in calibration.arms():
        overrides = calibration.overrides(study, values)
        for seed in calibration.seeds:
            out = folder / "runs" / f"trial{number:04d}" / study / arm / f"seed{seed}.h5"
            tasks.append(((study, arm), Task((study, ()), arm, seed, ARMS, str(config_path(STUDIES[study])), arm,
                                             str(out), calibration.spec.device, (), "run", overrides)))
    return tasks


def evaluate_batch(client, calibration, folder: Path, batch, resources=None) -> dict[int, dict]:
    """Run every trial of the batch on the client; {trial number: result} (objective or error)."""
    from distributed import wait

    from ..validate.runner import run_task

    token = uuid.uuid4().hex[:8]
    submitted = {}
    for number, values in batch:
        for index, (pair, task) in enumerate(run_tasks(calibration, folder, number, values)):
            future = client.submit(run_task, task, key=f"abm-calibrate-{number}-{index}-{token}", pure=False,
                                   retries=calibration.spec.retries, resources=resources)
            submitted[future] = (number, pair)
    try:
        wait(list(submitted))
    except KeyboardInterrupt:
        client.cancel(list(submitted))
        raise
    by_trial: dict[int, dict] = {number: {} for number, _ in batch}
    errors: dict[int, str] = {}
    for future, (number, pair) in submitted.items():
        if future.status == "error":
            error = future.exception()
            text = " ".join(str(error).split())
            errors.setdefault(number, f"{pair[0]} {pair[1]}: {error.__class__.__name__}: {text}")
        else:
            by_trial[number].setdefault(pair, []).append(future.result())
    return {number: ({"error": errors[number]} if number in errors else
                     evaluate(calibration.spec.targets, by_trial[number])) for number, _ in batch}


def tell_batch(study, folder: Path, batch, results: dict[int, dict]) -> None:
    """Record each trial's read-outs (read_outs/trialNNNN.json), then tell optuna, in trial order."""
    from optuna.trial import TrialState

    (folder / READ_OUTS).mkdir(exist_ok=True)
    for number, values in sorted(batch, key=lambda item: item[0]):
        result = {"trial": number, "parameters": values, **results[number]}
        (folder / READ_OUTS / f"trial{number:04d}.json").write_text(json.dumps(result, indent=1, default=float))
        if "error" in result:
            study.tell(number, state=TrialState.FAIL)
        else:
            study.tell(number, result["objective"])


def calibrate_on(client, calibration, folder: Path, total: int, resources=None, log=print) -> None:
    """Continue the study in `folder` until it holds `total` trials (unfinished ones first)."""
    study = open_study(calibration, folder)
    pending = [(t.number, dict(t.params)) for t in unfinished(study)]
    if pending:
        log(f"abm calibrate: continuing {len(pending)} unfinished trials")
    while pending or len(study.get_trials(deepcopy=False)) < total:
        batch = pending or ask_batch(study, calibration, min(calibration.spec.batch_size,
                                                             total - len(study.get_trials(deepcopy=False))))
        results = evaluate_batch(client, calibration, folder, batch, resources)
        tell_batch(study, folder, batch, results)
        pending = []
        done = len(study.get_trials(deepcopy=False))
        best = _best_value(study)
        log(f"abm calibrate: {done}/{total} trials, best objective {best:.4g}")


def _best_value(study) -> float:
    try:
        return study.best_value
    except ValueError:  # no trial completed yet
        return float("nan")


def check_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{folder}: cannot create the calibration folder ({error.strerror})") from None
