"""HDF5 run writer: one file per run, written as the run goes, marked complete only at the end.

Layout (documented in docs/output.md):
  /                attributes: format, versions, git commit, config, seed, device, units, times, completed
  /timeseries/*    one 1-D dataset per column (step, time_h, counts by type and state, events)
  /snapshots/NNNNNNNN/lattice/{cell_type,cell_state}, /fields/<name>, /agents/<column>
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..celltypes import CELL_STATES, CELL_TYPES, count_columns
from ..errors import OutputError

FORMAT = "tissue-abm-run"
FORMAT_VERSION = 1
UNITS = {"time_h": "h", "dt_min": "min", "dx_um": "um", "site": "flat C-order lattice index",
         "state_age_min": "min", "counts": "cells", "events": "cells per step"}
FLUSH_EVERY_STEPS = 50


def git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def check_writable(path: Path, overwrite: bool) -> None:
    """Fail before the run starts if the output cannot be written or would replace a run."""
    parent = path.parent
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as error:
            raise OutputError(f"{path}: cannot create output folder {parent} ({error.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: output folder {parent} is not writable")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, expected an .h5 file path")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: already exists; pass --overwrite to replace it or --out to write elsewhere")


class RunWriter:
    """Observer of a TissueModel: appends the time series every step, snapshots every N steps."""

    def __init__(self, path, model, config_text: str | None = None, overwrite: bool = False):
        self.path = Path(path)
        check_writable(self.path, overwrite)
        self.model = model
        output = model.config.output
        self.snapshot_every = output.snapshot_every_steps
        self.compression = output.compression_level
        try:
            self.file = h5py.File(self.path, "w")
        except OSError as error:
            raise OutputError(f"{self.path}: cannot create HDF5 file ({error})") from None
        self._pending: list[dict] = []
        self._write_attributes(config_text)
        self._create_timeseries()
        self.record(model)  # step 0: the initial state
        self._snapshot(model)
        self.flush()

    # -------------------------------------------------------------- attributes

    def _write_attributes(self, config_text):
        from ..config import to_yaml

        model, attrs = self.model, self.file.attrs
        attrs["completed"] = False  # first: a file cut short at any point reads as incomplete
        attrs["status"] = "running"
        attrs["format"] = FORMAT
        attrs["format_version"] = FORMAT_VERSION
        attrs["package_version"] = __version__
        attrs["git_commit"] = git_commit()
        attrs["config_yaml"] = to_yaml(model.config)  # resolved: defaults filled, overrides applied
        attrs["config_source"] = model.config_source
        attrs["config_source_text"] = config_text or ""
        attrs["name"] = model.config.name
        attrs["seed"] = model.seed
        attrs["device"] = model.backend.description
        attrs["lattice_shape"] = np.asarray(model.lattice.shape, dtype=np.int64)
        attrs["dx_um"] = model.lattice.dx_um
        attrs["dt_min"] = model.dt_min
        attrs["neighbourhood"] = model.lattice.neighbourhood
        attrs["steps_planned"] = model.total_steps
        attrs["steps_done"] = model.steps
        attrs["cell_types"] = json.dumps(list(CELL_TYPES))
        attrs["cell_states"] = json.dumps({t: list(s) for t, s in CELL_STATES.items()})
        attrs["units"] = json.dumps(UNITS)
        attrs["start_time"] = _now()
        attrs["end_time"] = ""

    # -------------------------------------------------------------- time series

    def _columns(self):
        columns = {"step": np.int64, "time_h": np.float64}
        for cell_type in CELL_STATES:
            columns[cell_type] = np.int64
        for cell_type, state, _ in count_columns():
            columns[f"{cell_type}.{state}"] = np.int64
        for event in self.model.totals:
            columns[event] = np.int64
        return columns

    def _create_timeseries(self):
        group = self.file.create_group("timeseries")
        for name, dtype in self._columns().items():
            dataset = group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,))
            dataset.attrs["units"] = "h" if name == "time_h" else ("step" if name == "step" else
                                                                   "cells" if name in CELL_STATES or "." in name
                                                                   else "cells per step")

    def record(self, model):
        row = {"step": model.steps, "time_h": model.time_min / 60.0}
        for cell_type in CELL_STATES:
            row[cell_type] = model.count(cell_type)
        for cell_type, state, _ in count_columns():
            row[f"{cell_type}.{state}"] = model.count(cell_type, state)
        row.update(model.last_events)
        self._pending.append(row)

    def flush(self):
        if self._pending:
            group = self.file["timeseries"]
            for name in self._columns():
                dataset = group[name]
                start = dataset.shape[0]
                dataset.resize((start + len(self._pending),))
                dataset[start:] = [row[name] for row in self._pending]
            self._pending = []
        self.file.attrs["steps_done"] = self.model.steps
        self.file.flush()

    # -------------------------------------------------------------- snapshots

    def _dataset(self, group, name, data, units=None):
        data = np.ascontiguousarray(data)
        kwargs = {}
        if data.size > 0 and self.compression > 0:
            kwargs = {"compression": "gzip", "compression_opts": self.compression, "shuffle": True,
                      "chunks": True}
        dataset = group.create_dataset(name, data=data, **kwargs)
        if units:
            dataset.attrs["units"] = units
        return dataset

    def _snapshot(self, model):
        group = self.file.require_group("snapshots").create_group(f"{model.steps:08d}")
        group.attrs["step"] = model.steps
        group.attrs["time_h"] = model.time_min / 60.0
        cell_type, cell_state = model.lattice_snapshot()
        lattice = group.create_group("lattice")
        self._dataset(lattice, "cell_type", cell_type, "code (see /cell_types), -1 empty")
        self._dataset(lattice, "cell_state", cell_state, "code per type (see /cell_states), -1 empty")
        fields = group.create_group("fields")
        for name, values in model.field_snapshot().items():
            self._dataset(fields, name, values, getattr(model.config.fields, name).units)
        agents = group.create_group("agents")
        for name, values in model.agents_table().items():
            self._dataset(agents, name, values, UNITS.get(name))

    def __call__(self, model):
        self.record(model)
        due = self.snapshot_every and model.steps % self.snapshot_every == 0
        if due or model.steps == model.total_steps:
            self.flush()
            self._snapshot(model)
            self.flush()
        elif len(self._pending) >= FLUSH_EVERY_STEPS:
            self.flush()

    def close(self, status: str = "completed"):
        """Finish the file. Only status 'completed' marks the run complete."""
        if not self.file.id.valid:
            return
        self.flush()
        self.file.attrs["end_time"] = _now()
        self.file.attrs["status"] = status
        self.file.attrs["completed"] = status == "completed" and self.model.steps >= self.model.total_steps
        self.file.close()
