"""HDF5 run writer: one file per run, written as the run goes, marked complete only at the end.

Layout (documented in docs/output.md):
  /                attributes: format, versions, git commit, config, seed, device, units, times, completed
  /timeseries/*    one 1-D dataset per column (step, time_h, counts by type and state, events)
  /snapshots/NNNNNNNN/lattice/{cell_type,cell_state}, /fields/<name>, /agents/<column>

Crash safety and live reading: the file is created complete with step 0 under a temporary name
and renamed into place; after that the writer opens it only for short sessions (append rows,
add a snapshot, update attributes) and closes it in between, so other processes can read it
between sessions (HDF5's file lock keeps them out during one). Beside it: RUN.xdmf (for
ParaView, rewritten atomically at each snapshot) and RUN.h5.checkpoint (the full state every
output.checkpoint_every_steps steps; see checkpoint.py).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import OutputError
from . import checkpoint as checkpoints
from . import xdmf
from .files import SPACE_MARGIN, create_h5, dataset_options, ensure_space, open_h5, remove_quietly, replace, space_left, temporary_path
from .provenance import code_sha256, git_commit, plugin_versions

FORMAT = "tissue-abm-run"
FORMAT_VERSION = 1
UNITS = {"time_h": "h", "dt_min": "min", "dx_um": "um", "site": "flat C-order lattice index",
         "state_age_min": "min", "counts": "cells", "events": "cells per step"}
FLUSH_EVERY_STEPS = 1000  # time-series rows are written at least this often ...
FLUSH_EVERY_S = 2.0  # ... and at least this often (wall clock), and at every snapshot and checkpoint


class WriteFailed(OutputError):
    """Writing the run file failed (disk full, file system gone): the message is one line."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def check_writable(path: Path, overwrite: bool) -> None:
    """Fail before the run starts if the output cannot be written or would replace a run."""
    parent = path.parent
    try:
        # exist_ok: parallel runs (validate, sweeps) create the same folder at the same moment;
        # checking first and creating after is a race one of them loses.
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{path}: cannot create output folder {parent} ({error.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: output folder {parent} is not writable")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, expected an .h5 file path")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: already exists; pass --overwrite to replace it or --out to write elsewhere")


def _reason(error: BaseException) -> str:
    """One short line: HDF5's long messages are cut down to the system's reason (e.g. 'File too large')."""
    text = " ".join(str(error).split())
    system = re.findall(r"error message = '([^']*)'", text)
    if system:
        return system[-1]
    return text or error.__class__.__name__


def _field_units(model, name: str) -> str:
    field = model.config.fields.get(name)
    return str(field.units if field is not None else "")


def _nbytes(arrays) -> int:
    """Bytes of the arrays in nested dicts and lists, plus HDF5 overhead per dataset (an upper bound)."""
    if isinstance(arrays, dict):
        return sum(_nbytes(value) for value in arrays.values())
    if isinstance(arrays, (list, tuple)):
        return sum(_nbytes(value) for value in arrays)
    return int(getattr(arrays, "nbytes", 0) * 1.01) + 4096


def timeseries_units(name: str, cell_types=()) -> str:
    if name == "time_h":
        return "h"
    if name == "step":
        return "step"
    return "cells" if name in cell_types or "." in name else "cells per step"


class RunWriter:
    """Observer of a TissueModel: records the time series every step, snapshots every N steps.

    ``RunWriter(path, model)`` starts a new file at the model's current state (step 0);
    ``RunWriter.reopen(path, model)`` continues a file already truncated to the model's step.
    """

    def __init__(self, path, model, config_text: str | None = None, overwrite: bool = False,
                 on_publish=None):
        """on_publish: called just before the new file takes its name (the runner defers signals
        from then on: a stop request while the file is written under its temporary name
        removes it, one after it appears ends in a checkpoint)."""
        self._setup(path, model)
        check_writable(self.path, overwrite)
        self.run_id = uuid.uuid4().hex
        tmp = temporary_path(self.path)
        self.record(model)  # step 0: the initial state
        arrays = self._snapshot_arrays(model)
        ensure_space(tmp, self._rows_bytes(0) + _nbytes(arrays), "the new run file", WriteFailed)
        try:
            with create_h5(tmp) as file:
                self._write_attributes(file, config_text)
                self._create_timeseries(file)
                self._write_rows(file)
                self._snapshot(file, model, arrays)
                file.attrs["steps_done"] = model.steps
            if on_publish is not None:
                on_publish()
            remove_quietly(checkpoints.checkpoint_path(self.path))  # an earlier run's, if replaced
            replace(tmp, self.path)
        except (OSError, RuntimeError) as error:  # RuntimeError: h5py's flush failures
            remove_quietly(tmp)
            raise OutputError(f"{self.path}: cannot create HDF5 file ({_reason(error)})") from None
        except BaseException:  # Ctrl-C or SIGTERM before the first step: no half-written file is left
            remove_quietly(tmp)
            raise
        self._write_xdmf()

    @classmethod
    def reopen(cls, path, model, resumed: dict | None = None) -> "RunWriter":
        """Continue an existing run file whose last row is the model's current step."""
        writer = cls.__new__(cls)
        writer._setup(path, model)
        with writer._session() as file:
            writer.run_id = str(file.attrs.get("run_id", ""))
            file.attrs["status"] = "running"
            file.attrs["completed"] = False
            file.attrs["end_time"] = ""
            file.attrs["steps_done"] = model.steps
            writer._entries = xdmf.describe_run(file)
        if resumed is not None:
            writer.add_resume_record(resumed)
        writer._write_xdmf()
        return writer

    def add_resume_record(self, record: dict):
        """Append one entry to the JSON list in the root attribute `resumes`."""
        with self._session() as file:
            history = json.loads(file.attrs.get("resumes", "[]"))
            file.attrs["resumes"] = json.dumps(history + [record])

    def _setup(self, path, model):
        self.path = Path(path)
        self.model = model
        output = model.config.output
        self.snapshot_every = output.snapshot_every_steps
        self.compression = output.compression_level
        self.checkpoint_path = checkpoints.checkpoint_path(self.path)
        self._pending: list[dict] = []
        self._column_types = self._columns()
        from ..config.sections import to_yaml  # here: readers import this module for FORMAT, and need no pydantic

        self._config_yaml = to_yaml(model.config)
        self._entries: list[xdmf.Entry] = []
        self._last_flush = time.monotonic()
        self.steps_written = int(model.steps)  # last step whose row is recorded
        self.closed = False

    # -------------------------------------------------------------- sessions

    def _busy(self):
        print(f"abm: waiting for another program to close {self.path} (the run goes on when it does)",
              file=sys.stderr)

    @contextmanager
    def _session(self):
        """Open the file for one batch of writes; any I/O error becomes a one-line WriteFailed."""
        try:
            file = open_h5(self.path, "r+", wait_s=None, on_wait=self._busy)
        except OSError as error:
            raise WriteFailed(f"{self.path}: cannot open the run file to write step {self.model.steps} "
                              f"({_reason(error)})") from None
        try:
            yield file
            try:
                file.flush()
            except RuntimeError as error:  # h5py's "Unable to flush file's cached information"
                raise OSError(str(error)) from None
        except OSError as error:
            raise WriteFailed(f"{self.path}: writing failed at step {self.model.steps} ({_reason(error)})") from None
        finally:
            try:
                file.close()
            except Exception:  # noqa: BLE001 - the write error, if any, is the one to report
                pass

    # -------------------------------------------------------------- attributes

    def _write_attributes(self, file, config_text):
        model, attrs = self.model, file.attrs
        attrs["completed"] = False  # first: a file cut short at any point reads as incomplete
        attrs["status"] = "running"
        attrs["format"] = FORMAT
        attrs["format_version"] = FORMAT_VERSION
        attrs["package_version"] = __version__
        attrs["git_commit"] = git_commit()
        attrs["code_sha256"] = code_sha256()  # what reuse of a complete run compares (provenance.py)
        attrs["run_id"] = self.run_id
        attrs["config_yaml"] = self._config_yaml  # resolved: defaults filled, overrides applied
        attrs["config_source"] = model.config_source
        attrs["config_source_text"] = config_text or ""
        attrs["name"] = model.config.name
        attrs["arm"] = model.arm or ""  # the arm of the config it ran (abm run --arm), "" for the base
        attrs["seed"] = model.seed
        attrs["device"] = model.backend.description
        attrs["lattice_shape"] = np.asarray(model.lattice.shape, dtype=np.int64)
        attrs["dx_um"] = model.lattice.dx_um
        attrs["dt_min"] = model.dt_min
        attrs["neighbourhood"] = model.lattice.neighbourhood
        attrs["steps_planned"] = model.total_steps
        attrs["steps_done"] = model.steps
        attrs["checkpoint_every_steps"] = int(getattr(model.config.output, "checkpoint_every_steps", 0))
        attrs["checkpoint_min_interval_s"] = float(getattr(model.config.output, "checkpoint_min_interval_s", 0.0))
        attrs["cell_types"] = json.dumps(list(model.spec.type_names))
        attrs["cell_states"] = json.dumps({t: list(s) for t, s in model.spec.states.items()})
        attrs["ablated"] = json.dumps(list(model.schedule.ablated))  # rules switched off (config ablate:)
        attrs["plugins"] = json.dumps(plugin_versions(model.spec.plugins))
        attrs["placement_sources"] = json.dumps(getattr(model, "placement_sources", []))  # from_run: file, sha256
        attrs["units"] = json.dumps(UNITS)
        attrs["start_time"] = _now()
        attrs["end_time"] = ""
        attrs["resumes"] = "[]"

    # -------------------------------------------------------------- time series

    def _columns(self):
        columns = {"step": np.int64, "time_h": np.float64}
        for cell_type in self.model.spec.type_names:
            columns[cell_type] = np.int64
        for cell_type, state, _ in self.model.spec.count_columns():
            columns[f"{cell_type}.{state}"] = np.int64
        for event in self.model.totals:
            columns[event] = np.int64
        return columns

    def _create_timeseries(self, file):
        group = file.create_group("timeseries")
        for name, dtype in self._columns().items():
            dataset = group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(4096,),
                                           fletcher32=True)
            dataset.attrs["units"] = timeseries_units(name, self.model.spec.type_names)

    def record(self, model):
        row = {"step": model.steps, "time_h": model.time_min / 60.0}
        for cell_type in model.spec.type_names:
            row[cell_type] = model.count(cell_type)
        for cell_type, state, _ in model.spec.count_columns():
            row[f"{cell_type}.{state}"] = model.count(cell_type, state)
        row.update(model.last_events)
        self._pending.append(row)
        self.steps_written = int(model.steps)

    def _write_rows(self, file):
        if self._pending:
            group = file["timeseries"]
            for name, dtype in self._column_types.items():
                dataset = group[name]
                start = dataset.shape[0]
                dataset.resize((start + len(self._pending),))
                dataset[start:] = np.array([row[name] for row in self._pending], dtype=dtype)
            self._pending = []
        file.attrs["steps_done"] = self.steps_written
        self._last_flush = time.monotonic()

    def _rows_bytes(self, rows_written: int) -> int:
        """Upper bound of the bytes that writing the pending rows adds (whole 4096-row chunks)."""
        chunks = -(-(rows_written + len(self._pending)) // 4096) - (-(-rows_written // 4096))
        return len(self._column_types) * max(chunks, 0) * 4096 * 8

    def flush(self, extra_bytes: int = 0, what: str = "the time series"):
        """Write the buffered time-series rows now."""
        if self.closed:
            return
        ensure_space(self.path, self._rows_bytes(self.steps_written + 1 - len(self._pending)) + extra_bytes,
                     f"{what} at step {self.model.steps}", WriteFailed)
        with self._session() as file:
            self._write_rows(file)

    # -------------------------------------------------------------- snapshots

    def _dataset(self, group, name, data, units=None):
        data = np.ascontiguousarray(data)
        dataset = group.create_dataset(name, data=data, **dataset_options(data, self.compression))
        if units:
            dataset.attrs["units"] = units
        return dataset

    @staticmethod
    def _snapshot_arrays(model) -> dict:
        cell_type, cell_state = model.lattice_snapshot()
        return {"lattice": {"cell_type": cell_type, "cell_state": cell_state},
                "fields": model.field_snapshot(), "agents": model.agents_table()}

    def _snapshot(self, file, model, arrays):
        group = file.require_group("snapshots").create_group(f"{model.steps:08d}")
        group.attrs["step"] = model.steps
        group.attrs["time_h"] = model.time_min / 60.0
        lattice = group.create_group("lattice")
        self._dataset(lattice, "cell_type", arrays["lattice"]["cell_type"], "code (see /cell_types), -1 empty")
        self._dataset(lattice, "cell_state", arrays["lattice"]["cell_state"], "code per type (see /cell_states), -1 empty")
        fields = group.create_group("fields")
        for name, values in arrays["fields"].items():
            self._dataset(fields, name, values, _field_units(model, name))
        agents = group.create_group("agents")
        for name, values in arrays["agents"].items():
            self._dataset(agents, name, values, UNITS.get(name))
        self._entries.append(xdmf.describe_snapshot(group, model.lattice.shape))

    def _write_xdmf(self):
        try:
            xdmf.write(self.path, self.model.lattice.shape, self.model.lattice.dx_um, self._entries)
        except OSError as error:
            raise WriteFailed(f"{xdmf.xdmf_path(self.path)}: cannot write the XDMF sidecar ({_reason(error)})") from None

    def __call__(self, model):
        self.record(model)
        due = self.snapshot_every and model.steps % self.snapshot_every == 0
        if due or model.steps == model.total_steps:
            arrays = self._snapshot_arrays(model)
            ensure_space(self.path, self._rows_bytes(self.steps_written + 1 - len(self._pending)) + _nbytes(arrays),
                         f"the snapshot of step {model.steps}", WriteFailed)
            with self._session() as file:
                self._write_rows(file)
                self._snapshot(file, model, arrays)
            self._write_xdmf()
        elif len(self._pending) >= FLUSH_EVERY_STEPS or time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    # -------------------------------------------------------------- checkpoints and the end

    def checkpoint(self):
        """Write the rows so far, then the model's full state to RUN.h5.checkpoint (atomically).

        Call between steps. The run file holds every row and snapshot up to this step before
        the checkpoint replaces the previous one, so a resume always finds them."""
        self.flush()
        state = checkpoints.capture(self.model, self.run_id, self._config_yaml)
        ensure_space(self.checkpoint_path, _nbytes([state.columns, state.fields, state.occupancy, state.extra]),
                     f"the checkpoint of step {self.model.steps}", WriteFailed)
        try:
            checkpoints.save(self.checkpoint_path, state)
        except OSError as error:
            raise WriteFailed(f"{self.checkpoint_path}: writing the checkpoint failed at step "
                              f"{self.model.steps} ({_reason(error)})") from None

    def close(self, status: str = "completed"):
        """Finish the file. Only status 'completed' marks the run complete (and drops the checkpoint)."""
        if self.closed:
            return
        completed = status == "completed" and self.steps_written >= self.model.total_steps
        if not completed and space_left(self.path) < SPACE_MARGIN:  # disk full: leave the file as it is
            self.closed = True
            return
        with self._session() as file:
            self._write_rows(file)
            file.attrs["end_time"] = _now()
            file.attrs["status"] = status
            file.attrs["completed"] = completed
        self.closed = True
        if completed:
            remove_quietly(self.checkpoint_path)
