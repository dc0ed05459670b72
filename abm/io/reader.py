"""Reading a run: time series as a pandas DataFrame, snapshots and fields as NumPy arrays, the
whole run as an xarray.Dataset (dataset.py), a summary. Layout and API: docs/output.md.

The API has two kinds of names. Properties say what the run is, from the file's metadata (cheap,
no arguments): attrs, status, completed, arm, lattice_shape, dx_um, cell_types, cell_states,
snapshot_steps, snapshot_times, field_names, field_units. Methods read data and take arguments:
timeseries(), snapshot(), snapshot_slice(), field(), field_series(), to_xarray(), summary().

Runs can be read while they are being written (from another process): the writer holds the
file only for short write sessions, and opening waits for the end of one.

A damaged file is one line naming it (OutputError), never a hang nor a traceback: the file's
metadata is first read in a child process that cannot hang (probe.py), and errors of later reads
(damaged data chunks, missing pieces) become one line too.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import OutputError
from . import probe
from .damage import READ_ERRORS, one_line_errors, step_ranges
from .files import open_h5
from .hdf5 import FORMAT

READ_ERRORS, _one_line_errors = READ_ERRORS, one_line_errors  # also abm.io.reader's names


class Run:
    """A run file open for reading (abm.open_run(path)). Close it, or use it in a `with` block:
    while it is open, a simulation writing the file waits before its next write.

    Properties (metadata): path, attrs, status, completed, arm, lattice_shape, dx_um, cell_types,
    cell_states, snapshot_steps, snapshot_times, field_names, field_units. Methods (data):
    timeseries(), snapshot(step), snapshot_slice(step, axis, index), field(name, step),
    field_series(name, steps), to_xarray(steps), summary(), close(). Lattice arrays are NumPy
    arrays indexed [x, y] or [x, y, z], as in the file; to_xarray() labels them by name.
    Every error reading the file is an OutputError of one line naming it.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise OutputError(f"{self.path}: no such run file")
        if self.path.is_dir():
            raise OutputError(f"{self.path}: is a directory, expected an .h5 run file")
        probe.check(self.path, "run file")
        try:
            self.file = open_h5(self.path, "r")
        except OSError as error:
            raise probe.Damaged(f"{self.path}: {probe.describe(probe.reason(error), 'run file')}") from None
        try:
            is_run = self.file.attrs.get("format") == FORMAT and "timeseries" in self.file
        except READ_ERRORS as error:
            self.file.close()
            raise probe.Damaged(f"{self.path}: damaged run file ({probe.reason(error)})") from None
        if not is_run:
            self.file.close()
            raise OutputError(f"{self.path}: HDF5 file is not a tissue-abm run (no format attribute or time series)")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Let go of the file (a simulation writing it may go on). Closing twice is harmless."""
        self.file.close()

    def __repr__(self) -> str:
        from .summary import describe

        return describe(self)

    # ------------------------------------------------------------ metadata: properties

    @property
    @_one_line_errors
    def attrs(self) -> dict:
        """Every root attribute of the file (docs/output.md, "Root attributes"), text decoded."""
        return {key: _text(value) if isinstance(value, bytes) else value for key, value in self.file.attrs.items()}

    @property
    @_one_line_errors
    def status(self) -> str:
        """'completed', 'running' (also a run killed without a word), 'interrupted' or 'failed: <reason>'."""
        return _text(self.file.attrs.get("status", "unknown"))

    @property
    @_one_line_errors
    def completed(self) -> bool:
        """True only when every planned step was written."""
        return bool(self.file.attrs.get("completed", False))

    @property
    def arm(self) -> str | None:
        """The study arm the run was made with, where the file records it (`arm`, or `sweep_arm`
        written by abm sweep); None otherwise."""
        attrs = self.attrs
        return attrs.get("arm") or attrs.get("sweep_arm") or None

    @property
    @_one_line_errors
    def lattice_shape(self) -> tuple[int, ...]:
        """Sites per axis, (nx, ny) or (nx, ny, nz): the shape of every lattice array."""
        return tuple(int(n) for n in self.file.attrs["lattice_shape"])

    @property
    @_one_line_errors
    def dx_um(self) -> float:
        """Lattice spacing in micrometres: site i's centre is at (i + 0.5) * dx_um."""
        return float(self.file.attrs["dx_um"])

    @property
    @_one_line_errors
    def cell_types(self) -> list[str]:
        """Cell type names in code order: code k of the cell_type arrays is cell_types[k] (-1: empty)."""
        return json.loads(_text(self.file.attrs["cell_types"]))

    @property
    @_one_line_errors
    def cell_states(self) -> dict[str, list[str]]:
        """{type: state names in code order}: code k of cell_state for that type is the k-th name."""
        return json.loads(_text(self.file.attrs["cell_states"]))

    @property
    @_one_line_errors
    def snapshot_steps(self) -> list[int]:
        """Steps with a snapshot, ascending (e.g. [0, 40, 80])."""
        return sorted(int(name) for name in self.file.get("snapshots", {}))

    @property
    @_one_line_errors
    def snapshot_times(self) -> list[float]:
        """Time in hours of each snapshot, in the order of snapshot_steps."""
        steps = self.snapshot_steps  # listed once: _group per step would list them every time
        return [float(self.file["snapshots"][f"{step:08d}"].attrs["time_h"]) for step in steps]

    @property
    @_one_line_errors
    def field_names(self) -> list[str]:
        """The fields of the run's snapshots (e.g. ['chemoattractant', 'ifng'])."""
        return list(self._group(None)["fields"])

    @property
    @_one_line_errors
    def field_units(self) -> dict[str, str]:
        """{field: units} as written in the file (e.g. 'ng/mL', or 'a.u.')."""
        return {name: _text(ds.attrs.get("units", "")) for name, ds in self._group(None)["fields"].items()}

    # ------------------------------------------------------------ data: methods

    @_one_line_errors
    def timeseries(self):
        """The time series as a pandas DataFrame: one row per step from step 0, indexed by time in
        hours (index `time_h`); columns `step`, then cell counts by type and type.state, then the
        events of each step (births, deaths, kills, ...). Units: docs/output.md, "/timeseries"."""
        return _frame(self.file["timeseries"])

    def _group(self, step):
        steps = self.snapshot_steps
        if not steps:
            raise OutputError(f"{self.path}: run has no snapshots")
        if step is None:
            step = steps[-1]
        if step not in steps:
            raise OutputError(f"{self.path}: no snapshot at step {step} (snapshots at steps {_ranges(steps)})")
        return self.file["snapshots"][f"{step:08d}"]

    @_one_line_errors
    def snapshot(self, step: int | None = None) -> dict:
        """One snapshot (default: the last) read into memory: {"step", "time_h", "cell_type",
        "cell_state" (lattice-shaped int8, -1 empty), "fields": {name: float32 array},
        "agents": {column: array}}."""
        group = self._group(step)
        return {
            "step": int(group.attrs["step"]),
            "time_h": float(group.attrs["time_h"]),
            "cell_type": group["lattice/cell_type"][...],
            "cell_state": group["lattice/cell_state"][...],
            "fields": {name: ds[...] for name, ds in group["fields"].items()},
            "agents": {name: ds[...] for name, ds in group["agents"].items()},
        }

    @_one_line_errors
    def snapshot_slice(self, step: int | None = None, axis: int = 2, index: int | None = None) -> dict:
        """Like snapshot() but 2D and without agents: the lattice, the fields and their "units";
        for a 3D run only the plane `index` (default: the middle) normal to `axis` is read, and
        "axis" and "index" say which (None in 2D). What abm plot draws."""
        group = self._group(step)
        shape = self.lattice_shape
        where: tuple = (Ellipsis,)
        if len(shape) == 3:
            if axis not in (0, 1, 2):
                raise OutputError(f"--axis {axis}: must be 0, 1 or 2")
            index = shape[axis] // 2 if index is None else index
            if not 0 <= index < shape[axis]:
                raise OutputError(f"--index {index}: outside the lattice (0..{shape[axis] - 1} along axis {axis})")
            where = tuple(index if a == axis else slice(None) for a in range(3))
        return {
            "step": int(group.attrs["step"]),
            "time_h": float(group.attrs["time_h"]),
            "axis": axis if len(shape) == 3 else None,
            "index": index if len(shape) == 3 else None,
            "cell_type": group["lattice/cell_type"][where],
            "cell_state": group["lattice/cell_state"][where],
            "fields": {name: ds[where] for name, ds in group["fields"].items()},
            "units": {name: _text(ds.attrs.get("units", "")) for name, ds in group["fields"].items()},
        }

    def _field(self, name: str, step: int | None):
        fields = self._group(step)["fields"]
        if name not in fields:
            raise OutputError(f"{self.path}: no field {name!r} (fields: {', '.join(fields) or 'none'})")
        return fields[name]

    @_one_line_errors
    def field(self, name: str, step: int | None = None):
        """One field at one snapshot (default: the last): a NumPy array of the lattice's shape, in
        field_units[name]."""
        return self._field(name, step)[...]

    @_one_line_errors
    def field_series(self, name: str, steps=None):
        """One field at several snapshots (default: every one), read into one NumPy array of shape
        (len(steps), *lattice_shape); snapshot_steps and snapshot_times say which and when."""
        from .dataset import chosen_steps

        steps = chosen_steps(self, steps)
        out = np.empty((len(steps), *self.lattice_shape), self._field(name, steps[0]).dtype)
        for k, step in enumerate(steps):
            out[k] = self._field(name, step)[...]
        return out

    @_one_line_errors
    def to_xarray(self, steps=None):
        """The run as an xarray.Dataset (needs xarray), read lazily: cell_type, cell_state and each
        field on (step, y, x) or (step, z, y, x), so that ds.ifng.isel(step=-1).plot() is oriented
        as in abm plot (x to the right, y up), with coordinates in um and time_h along step; the
        time series on series_time_h (hours) with series_step; the run's attributes.
        steps: snapshot steps to include (an int or a list; default: every one). See dataset.py."""
        from .dataset import to_xarray

        return to_xarray(self, steps)

    def summary(self) -> str:
        """The lines `abm info` prints (io/summary.py)."""
        from .summary import summary

        return summary(self)


def _frame(group):
    """The /timeseries group as a DataFrame indexed by time_h; columns cut to the shortest (a
    writer may be between appends)."""
    import pandas as pd

    n = min(group[name].shape[0] for name in group)
    columns = {name: group[name][:n] for name in group}
    index = pd.Index(columns.pop("time_h"), name="time_h")
    ordered = ["step"] + [name for name in columns if name != "step"]
    return pd.DataFrame({name: columns[name] for name in ordered}, index=index)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_ranges = step_ranges


def open_run(path) -> Run:
    """Open the run file at `path` for reading: a Run (see its docstring; close it, or use `with`).
    Its metadata is first checked in a child process, so a damaged file is an OutputError of one
    line, never a hang. Example:

        with abm.open_run("runs/default.h5") as run:
            print(run)                          # what the run is
            series = run.timeseries()           # pandas, indexed by time_h (hours)
            ifng = run.field("ifng")            # NumPy, last snapshot, indexed [x, y(, z)]
            ds = run.to_xarray()                # xarray, lazy: ds.ifng.isel(step=-1).plot()
    """
    return Run(path)


def read_timeseries(path):
    """The run's time series as a pandas DataFrame, as Run.timeseries(): indexed by time_h (hours),
    one row per step, columns step, counts and events (docs/output.md)."""
    with Run(path) as run:
        return run.timeseries()


def read_snapshot(path, step: int | None = None) -> dict:
    """One snapshot (default: the last) as NumPy arrays, as Run.snapshot(): step, time_h, cell_type,
    cell_state, fields {name: array}, agents {column: array}."""
    with Run(path) as run:
        return run.snapshot(step)
