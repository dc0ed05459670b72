"""Resuming a run: back to the latest checkpoint, with the run file cut back to match.

``prepare(path)`` reads the checkpoint beside the run file, removes the time-series rows and
snapshots written after its step, and returns the restored model with a writer that continues
the file. It is two phases: ``plan(path)`` only reads (the files, the model's setup), so a
Ctrl-C or SIGTERM during it may stop at once and leaves everything as it was; ``apply(plan)``
changes the run file, and the runner defers signals from then on. Every later step is computed exactly as in an uninterrupted run (the random numbers
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
from . import probe
from .files import FileBusy, open_h5
from .hdf5 import FORMAT, RunWriter
from .provenance import git_commit

DAMAGE = (OSError, KeyError, ValueError, RuntimeError, OutputError)  # reading a damaged run file


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


def _read_run(path: Path) -> tuple[dict | None, str]:
    """(the run file's attributes, "") or (None, why) when the file is damaged or not HDF5."""
    try:
        probe.check(path, "run file")
        with open_h5(path, "r") as file:
            attrs = {key: _attr(value) for key, value in file.attrs.items()}
    except probe.Damaged as error:
        return None, str(error).removeprefix(f"{path}: ")
    except FileBusy:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        return None, probe.describe(probe.reason(error), "run file")
    if attrs.get("format") != FORMAT:
        raise OutputError(f"{path}: not a tissue-abm run file (no format attribute)")
    return attrs, ""


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


def _verify(file, step: int) -> None:
    """Raise unless the open run file holds rows 0..step and readable snapshots up to step."""
    series = file["timeseries"]
    for name in series:
        if series[name].shape[0] < step + 1:
            raise OutputError(f"time series column {name} has {series[name].shape[0]} rows, fewer than {step + 1}")
    if int(series["step"][step]) != step:
        raise OutputError(f"time series row {step} is step {int(series['step'][step])}")
    snapshots = file.get("snapshots", {})
    for name in snapshots:
        if int(name) <= step:  # touch every dataset header: a damaged group fails here, not later
            for sub in snapshots[name].values():
                for dataset in sub.values():
                    _ = dataset.shape, dataset.dtype
    if not any(int(name) == 0 for name in snapshots):
        raise OutputError("the step 0 snapshot is missing")


def _why(error: BaseException) -> str:
    return " ".join(str(error).split()) or error.__class__.__name__


def truncate(path: Path, step: int) -> None:
    """Cut the run file back to step: rows 0..step, snapshots up to step. Raises on any damage."""
    with open_h5(path, "r+") as file:
        _verify(file, step)
        series = file["timeseries"]
        for name in series:
            series[name].resize((step + 1,))
        snapshots = file.require_group("snapshots")
        for name in list(snapshots):
            if int(name) > step:
                del snapshots[name]
        file.attrs["steps_done"] = step
        file.flush()


@dataclass
class Plan:
    """What resuming a run will do, decided by reading only: nothing has been changed yet."""
    path: Path
    attrs: dict | None  # the run file's root attributes; None when it is damaged
    config_yaml: str
    seed: int
    step: int  # the step the run continues from (0: written again from the start)
    damaged: str  # why the run file must be written again from step 0; "" when it can be continued
    note: str
    record: dict  # the entry for the run file's `resumes` attribute
    model: object = None
    new_model: object = None  # TissueModel or a subclass: handed in, io never imports the model


def plan(path, new_model, device: str | None = None) -> Plan:
    """Read the run file and its checkpoint, and build the model to continue. AlreadyComplete if
    the run finished; OutputError (one line) when it cannot be resumed."""
    path = Path(path)
    if path.is_dir() or not path.exists():
        raise OutputError(f"{path}: no such run file to resume")
    attrs, damaged = _read_run(path)
    if attrs is not None and bool(attrs.get("completed")):
        raise AlreadyComplete(f"{path}: the run is already complete "
                              f"({attrs.get('steps_done')}/{attrs.get('steps_planned')} steps); nothing to resume")
    cp, why = _load_checkpoint(path, None if attrs is None else str(attrs.get("run_id", "")))
    if attrs is None and cp is None:
        raise OutputError(f"{path}: {damaged}; there is no checkpoint to rebuild it from ({why}); run the config again")
    config_yaml = cp.config_yaml if cp is not None else str(attrs.get("config_yaml", ""))
    if not config_yaml:
        raise OutputError(f"{path}: the run file holds no config (config_yaml) to resume with")
    seed = cp.seed if cp is not None else int(attrs["seed"])
    step = cp.step if cp is not None else 0
    if not damaged:
        try:
            with open_h5(path, "r") as file:
                _verify(file, step)
        except FileBusy:
            raise
        except DAMAGE as error:
            damaged = _why(error)
    note = f"resuming from the checkpoint at step {step}" if cp is not None else \
        f"{why}: starting again from step 0 with the config stored in the file"
    record = {"time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "from_step": step,
              "package_version": __version__, "git_commit": git_commit()}
    chosen = Plan(path, attrs, config_yaml, seed, 0 if damaged else step, damaged, note, record, new_model=new_model)
    chosen.model = _model(chosen, cp, device)
    return chosen


def _model(chosen: Plan, cp, device):
    """The model at the plan's step: restored from the checkpoint, or new at step 0."""
    if cp is not None and not chosen.damaged:
        model = checkpoints.build_model(cp, chosen.new_model, device=device)
    else:
        model = chosen.new_model(yaml.safe_load(chosen.config_yaml), device=device, seed=chosen.seed)
    model.arm = _attr((chosen.attrs or {}).get("arm")) or None  # the config_yaml has the arm applied already
    return model


def apply(chosen: Plan, device: str | None = None) -> Resumed:
    """Change the run file as planned: cut it back to the checkpoint and continue it, or write it
    again from step 0 when it is damaged."""
    path = chosen.path
    if not chosen.damaged:
        try:
            truncate(path, chosen.step)
        except FileBusy:
            raise
        except DAMAGE as error:  # damage found only now, or the write failed: start again
            chosen.damaged, chosen.step = _why(error), 0
            chosen.model = _model(chosen, None, device)
    if chosen.damaged:  # write the file again from step 0: the steps up to the checkpoint are recomputed
        text = (chosen.attrs or {}).get("config_source_text") or None
        writer = RunWriter(path, chosen.model, config_text=text, overwrite=True)
        writer.add_resume_record({**chosen.record, "from_step": 0, "damaged": chosen.damaged})
        return Resumed(chosen.model, writer, 0,
                       f"{path}: the run file was damaged ({chosen.damaged}); writing it again from step 0")
    writer = RunWriter.reopen(path, chosen.model, resumed=chosen.record)
    return Resumed(chosen.model, writer, chosen.step, f"{path}: {chosen.note}")


def prepare(path, new_model, device: str | None = None) -> Resumed:
    """Everything needed to continue the run in `path`. AlreadyComplete if it finished."""
    return apply(plan(path, new_model, device), device)
