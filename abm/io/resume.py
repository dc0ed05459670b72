"""Resuming a run: back to the latest checkpoint, with the run file cut back to match.

``prepare(path)`` reads the checkpoint beside the run file, removes the time-series rows and
snapshots written after its step, and returns the restored model with a writer that continues
the file. Every later step is computed exactly as in an uninterrupted run (the random numbers
are a function of (seed, step)), so the finished file's datasets are identical to one.

When there is no usable checkpoint (checkpoints off, a run stopped before its first one, or a
checkpoint of another run) the run starts again from step 0 with the config stored in the
file; when the run file itself is damaged (a crash in the middle of a write session), it is
written again from step 0. Both give the same datasets, only later.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from .._version import __version__
from ..errors import OutputError
from . import checkpoint as checkpoints
from .files import open_h5
from .hdf5 import FORMAT, RunWriter, git_commit


@dataclass
class Resumed:
    model: object
    writer: RunWriter
    from_step: int
    note: str  # one line for the user: where the run continues from, and why


class AlreadyComplete(Exception):
    """The run finished; there is nothing to resume."""


def _attr(value):
    return value.decode() if isinstance(value, bytes) else value


def _read_run(path: Path) -> dict | None:
    """The run file's attributes, or None when the file cannot be opened (damaged)."""
    try:
        with open_h5(path, "r") as file:
            attrs = {key: _attr(value) for key, value in file.attrs.items()}
    except OutputError:
        raise
    except OSError:
        return None
    if attrs.get("format") != FORMAT:
        raise OutputError(f"{path}: not a tissue-abm run file (no format attribute)")
    return attrs


def _load_checkpoint(path: Path, run_id: str | None):
    """(checkpoint or None, why not)."""
    cp_path = checkpoints.checkpoint_path(path)
    if not cp_path.exists():
        return None, "no checkpoint"
    try:
        cp = checkpoints.load(cp_path)
    except OutputError as error:
        return None, str(error)
    if run_id is not None and cp.run_id != run_id:
        return None, f"{cp_path.name} belongs to another run"
    return cp, ""


def truncate(path: Path, step: int) -> None:
    """Cut the run file back to step: rows 0..step, snapshots up to step. Raises on any damage."""
    with open_h5(path, "r+") as file:
        series = file["timeseries"]
        for name in series:
            if series[name].shape[0] < step + 1:
                raise OutputError(f"time series column {name} has {series[name].shape[0]} rows, fewer than {step + 1}")
        if int(series["step"][step]) != step:
            raise OutputError(f"time series row {step} is step {int(series['step'][step])}")
        for name in series:
            series[name].resize((step + 1,))
        snapshots = file.require_group("snapshots")
        for name in list(snapshots):
            if int(name) > step:
                del snapshots[name]
            else:  # touch every dataset header: a damaged group fails here, not later
                for sub in snapshots[name].values():
                    for dataset in sub.values():
                        _ = dataset.shape, dataset.dtype
        if not any(int(name) == 0 for name in snapshots):
            raise OutputError("the step 0 snapshot is missing")
        file.attrs["steps_done"] = step
        file.flush()


def prepare(path, device: str | None = None) -> Resumed:
    """Everything needed to continue the run in `path`. AlreadyComplete if it finished."""
    from ..model import TissueModel

    path = Path(path)
    if path.is_dir() or not path.exists():
        raise OutputError(f"{path}: no such run file to resume")
    attrs = _read_run(path)
    if attrs is not None and bool(attrs.get("completed")):
        raise AlreadyComplete(f"{path}: the run is already complete "
                              f"({attrs.get('steps_done')}/{attrs.get('steps_planned')} steps); nothing to resume")
    cp, why = _load_checkpoint(path, None if attrs is None else str(attrs.get("run_id", "")))
    if attrs is None and cp is None:
        raise OutputError(f"{path}: the run file is damaged and there is no checkpoint to rebuild it from "
                          f"({why}); run the config again")
    config_yaml = cp.config_yaml if cp is not None else str(attrs.get("config_yaml", ""))
    if not config_yaml:
        raise OutputError(f"{path}: the run file holds no config (config_yaml) to resume with")
    seed = cp.seed if cp is not None else int(attrs["seed"])
    step = cp.step if cp is not None else 0
    note = f"resuming from the checkpoint at step {step}" if cp is not None else \
        f"{why}: starting again from step 0 with the config stored in the file"
    record = {"time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "from_step": step,
              "package_version": __version__, "git_commit": git_commit()}

    damaged = attrs is None
    if not damaged:
        try:
            truncate(path, step)
        except (OSError, KeyError, ValueError, RuntimeError, OutputError) as error:
            damaged, why = True, " ".join(str(error).split()) or error.__class__.__name__
    if damaged:  # write the file again from step 0: the steps up to the checkpoint are recomputed
        model = TissueModel(yaml.safe_load(config_yaml), device=device, seed=seed)
        text = (attrs or {}).get("config_source_text") or None
        writer = RunWriter(path, model, config_text=text, overwrite=True)
        writer.add_resume_record({**record, "from_step": 0, "damaged": why})
        return Resumed(model, writer, 0, f"{path}: the run file was damaged ({why}); writing it again from step 0")
    model = checkpoints.build_model(cp, device=device) if cp is not None else \
        TissueModel(yaml.safe_load(config_yaml), device=device, seed=seed)
    writer = RunWriter.reopen(path, model, resumed=record)
    return Resumed(model, writer, step, f"{path}: {note}")
