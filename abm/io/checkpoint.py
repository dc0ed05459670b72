"""Checkpoints: the full state of a TissueModel in RUN.h5.checkpoint, written atomically.

The state is read from the model's attributes generically, so new agent columns, fields and
cell types are saved without changes here:

- every agent column (``model.cells.columns``, whole capacity), ``cells.n``, ``cells.next_id``
- ``model.lattice.occupancy`` and every array in ``model.fields``
- ``model.steps``, ``model.totals``, ``model.last_events``, ``model.counts``, ``model.seed``
- the resolved config (YAML); random numbers are a pure function of (seed, step, ...), so the
  generator needs no state of its own.

State kept anywhere else must be registered with ``register(name, capture, restore)``:
``capture(model)`` returns a dict of NumPy arrays, ``restore(model, arrays)`` puts them back.
The resume tests (tests/test_resume.py) fail when a step depends on state that is not saved.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np

from .._version import __version__
from ..errors import OutputError
from . import probe
from .files import create_h5, dataset_options, remove_quietly, replace, temporary_path

FORMAT = "tissue-abm-checkpoint"
FORMAT_VERSION = 1

# name -> (capture(model) -> {array name: host array}, restore(model, {array name: host array}))
EXTRA_STATE: dict[str, tuple[Callable[[Any], dict], Callable[[Any, dict], None]]] = {}


def register(name: str, capture: Callable[[Any], dict], restore: Callable[[Any, dict], None]) -> None:
    """Save and restore state that lives outside the attributes listed in this module's docstring."""
    EXTRA_STATE[name] = (capture, restore)


def checkpoint_path(run_path) -> Path:
    run_path = Path(run_path)
    return run_path.with_name(run_path.name + ".checkpoint")


@dataclass
class Checkpoint:
    step: int
    seed: int
    run_id: str
    config_yaml: str
    n: int
    next_id: int
    columns: dict[str, np.ndarray]
    occupancy: np.ndarray
    fields: dict[str, np.ndarray]
    scalars: dict[str, Any]  # totals, last_events, counts (JSON-able)
    extra: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


# ---------------------------------------------------------------- model <-> Checkpoint


def _plain(value):
    """JSON-able copy of ints, floats, dicts with str or tuple keys, lists and NumPy scalars."""
    if isinstance(value, dict):
        return [[list(k) if isinstance(k, tuple) else k, _plain(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "tolist"):  # an array on either backend
        return np.asarray(value.get() if hasattr(value, "get") else value).tolist()
    return value


def _unplain_dict(pairs) -> dict:
    return {tuple(k) if isinstance(k, list) else k: v for k, v in pairs}


def capture(model, run_id: str = "", config_yaml: str | None = None) -> Checkpoint:
    """Host copy of the model's whole state after a completed step."""
    from ..config.sections import to_yaml

    config_yaml = to_yaml(model.config) if config_yaml is None else config_yaml
    to_host = model.backend.to_host
    cells = model.cells
    return Checkpoint(
        step=int(model.steps), seed=int(model.seed), run_id=run_id, config_yaml=config_yaml,
        n=int(cells.n), next_id=int(cells.next_id),
        columns={name: to_host(column) for name, column in cells.columns.items()},
        occupancy=to_host(model.lattice.occupancy),
        fields={name: to_host(values) for name, values in model.fields.items()},
        scalars={"totals": _plain(model.totals), "last_events": _plain(model.last_events),
                 "counts": _plain(model.counts)},
        extra={name: {key: np.asarray(to_host(value)) for key, value in capture_fn(model).items()}
               for name, (capture_fn, _restore) in EXTRA_STATE.items()},
    )


def _check_same_names(kind: str, saved, current) -> None:
    if set(saved) != set(current):
        missing, unknown = sorted(set(current) - set(saved)), sorted(set(saved) - set(current))
        raise OutputError(f"checkpoint does not fit this version of the model: {kind} "
                          f"missing {missing or '-'}, unknown {unknown or '-'}")


def restore(model, checkpoint: Checkpoint) -> None:
    """Put a checkpoint's state into a model built from the same config and seed."""
    xp = model.xp
    if int(model.seed) != checkpoint.seed:
        raise OutputError(f"checkpoint seed {checkpoint.seed} differs from the model's seed {model.seed}")
    cells = model.cells
    _check_same_names("agent columns", checkpoint.columns, cells.columns)
    _check_same_names("fields", checkpoint.fields, model.fields)
    capacities = {len(column) for column in checkpoint.columns.values()}
    if len(capacities) != 1:
        raise OutputError("checkpoint agent columns have different lengths")
    for name, column in checkpoint.columns.items():
        cells.columns[name] = xp.asarray(column, dtype=cells.columns[name].dtype)
    cells.capacity = capacities.pop()
    cells.n, cells.next_id = checkpoint.n, checkpoint.next_id
    if tuple(model.lattice.occupancy.shape) != tuple(checkpoint.occupancy.shape):
        raise OutputError("checkpoint lattice does not match the config's lattice")
    model.lattice.occupancy[...] = xp.asarray(checkpoint.occupancy)
    for name, values in checkpoint.fields.items():
        model.fields[name][...] = xp.asarray(values)
    model.steps = checkpoint.step
    model.totals = dict(_unplain_dict(checkpoint.scalars["totals"]))
    model.last_events = dict(_unplain_dict(checkpoint.scalars["last_events"]))
    model.counts = _unplain_dict(checkpoint.scalars["counts"])
    for name, (_capture, restore_fn) in EXTRA_STATE.items():
        if name not in checkpoint.extra:
            raise OutputError(f"checkpoint lacks the registered state {name!r}")
        restore_fn(model, checkpoint.extra[name])
    model.running = model.steps < model.total_steps


def build_model(checkpoint: Checkpoint, new_model, device: str | None = None):
    """A model at the checkpoint's step: built by `new_model` (TissueModel, handed in by the caller:
    io never imports the model) from the saved config, then restored."""
    import yaml

    model = new_model(yaml.safe_load(checkpoint.config_yaml), device=device, seed=checkpoint.seed)
    restore(model, checkpoint)
    model.check_invariants()
    return model


# ---------------------------------------------------------------- file


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _dataset(group, name, values):
    values = np.asarray(values)
    group.create_dataset(name, data=values, **dataset_options(values))


def save(path, checkpoint: Checkpoint) -> Path:
    """Write the checkpoint to path.tmp, sync it, then rename it over path (atomic)."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        with create_h5(tmp) as f:
            attrs = f.attrs
            attrs["format"], attrs["format_version"] = FORMAT, FORMAT_VERSION
            attrs["package_version"], attrs["written"] = __version__, _now()
            attrs["step"], attrs["seed"], attrs["run_id"] = checkpoint.step, checkpoint.seed, checkpoint.run_id
            attrs["config_yaml"] = checkpoint.config_yaml
            attrs["n"], attrs["next_id"] = checkpoint.n, checkpoint.next_id
            attrs["scalars"] = json.dumps(checkpoint.scalars)
            for group_name, arrays in (("agents", checkpoint.columns), ("fields", checkpoint.fields)):
                group = f.create_group(group_name)
                for name, values in arrays.items():
                    _dataset(group, name, values)
            _dataset(f, "lattice/occupancy", checkpoint.occupancy)
            for name, arrays in checkpoint.extra.items():
                group = f.create_group(f"extra/{name}")
                for key, values in arrays.items():
                    _dataset(group, key, values)
        replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return path


def load(path) -> Checkpoint:
    """Read a checkpoint file; OutputError if it is missing or not a checkpoint."""
    path = Path(path)
    probe.check(path, "checkpoint")  # damaged metadata: an error in seconds, not a hang
    try:
        with h5py.File(path, "r") as f:
            attrs = f.attrs
            if attrs.get("format") != FORMAT:
                raise OutputError(f"{path}: not a tissue-abm checkpoint")

            def arrays(group):
                return {name: dataset[...] for name, dataset in f[group].items()} if group in f else {}

            return Checkpoint(
                step=int(attrs["step"]), seed=int(attrs["seed"]), run_id=str(attrs["run_id"]),
                config_yaml=str(attrs["config_yaml"]), n=int(attrs["n"]), next_id=int(attrs["next_id"]),
                columns=arrays("agents"), occupancy=f["lattice/occupancy"][...], fields=arrays("fields"),
                scalars=json.loads(attrs["scalars"]),
                extra={name: {key: ds[...] for key, ds in group.items()} for name, group in f.get("extra", {}).items()},
            )
    except OutputError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        raise probe.Damaged(f"{path}: unreadable checkpoint ({probe.reason(error)})") from None
