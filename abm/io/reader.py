"""Reading a run: time series as a pandas DataFrame, snapshots and fields as NumPy arrays, the
whole run as an xarray.Dataset (dataset.py), a summary.

Runs can be read while they are being written (from another process): the writer holds the
file only for short write sessions, and opening waits for the end of one.

A damaged file is one line naming it (OutputError), never a hang nor a traceback: the file's
metadata is first read in a child process that cannot hang (probe.py), and errors of later reads
(damaged data chunks, missing pieces) become one line too.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from ..errors import OutputError
from . import probe
from .files import open_h5
from .hdf5 import FORMAT

READ_ERRORS = (OSError, KeyError, ValueError, RuntimeError)  # what h5py raises on damage


def _one_line_errors(method):
    """Errors reading the file become OutputError naming it, e.g. a chunk failing its checksum."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except OutputError:
            raise
        except READ_ERRORS as error:
            raise OutputError(f"{self.path}: damaged run file ({probe.reason(error)})") from None
    return wrapper


class Run:
    """An open run file (read-only). Use as a context manager or call close()."""

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

    def close(self):
        self.file.close()

    @property
    @_one_line_errors
    def attrs(self) -> dict:
        return {key: (value.decode() if isinstance(value, bytes) else value) for key, value in self.file.attrs.items()}

    @property
    @_one_line_errors
    def completed(self) -> bool:
        return bool(self.file.attrs.get("completed", False))

    @property
    @_one_line_errors
    def lattice_shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.file.attrs["lattice_shape"])

    @_one_line_errors
    def timeseries(self):
        """One row per recorded step, one column per time-series dataset."""
        import pandas as pd

        group = self.file["timeseries"]
        n = min(group[name].shape[0] for name in group)
        frame = pd.DataFrame({name: group[name][:n] for name in group})
        ordered = ["step", "time_h"] + [c for c in frame.columns if c not in ("step", "time_h")]
        return frame[ordered]

    @_one_line_errors
    def snapshot_steps(self) -> list[int]:
        return sorted(int(name) for name in self.file.get("snapshots", {}))

    def _group(self, step):
        steps = self.snapshot_steps()
        if not steps:
            raise OutputError(f"{self.path}: run has no snapshots")
        if step is None:
            step = steps[-1]
        if step not in steps:
            raise OutputError(f"{self.path}: no snapshot at step {step} (snapshots at steps {_ranges(steps)})")
        return self.file["snapshots"][f"{step:08d}"]

    @_one_line_errors
    def snapshot(self, step: int | None = None) -> dict:
        """Arrays of one snapshot (default: the last): lattice cell_type/cell_state, fields, agents."""
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
        """Like snapshot() but 2D: the lattice and the fields only, and for 3D runs only the plane
        `index` (default: the mid-plane) normal to `axis` is read from the file."""
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

    @_one_line_errors
    def snapshot_times(self) -> list[float]:
        """Time in hours of each snapshot, in the order of snapshot_steps()."""
        return [float(self._group(step).attrs["time_h"]) for step in self.snapshot_steps()]

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
        (len(steps), *lattice_shape); snapshot_steps() and snapshot_times() say which and when."""
        from .dataset import chosen_steps

        steps = chosen_steps(self, steps)
        out = np.empty((len(steps), *self.lattice_shape), self._field(name, steps[0]).dtype)
        for k, step in enumerate(steps):
            out[k] = self._field(name, step)[...]
        return out

    @_one_line_errors
    def to_xarray(self, steps=None):
        """An xarray.Dataset of the run (needs xarray), read lazily: fields, cell_type, cell_state on
        (step, x, y[, z]) with coordinates in um, the time series on (row,), the run's attributes.
        steps: snapshot steps to include (default: every one). See abm/io/dataset.py."""
        from .dataset import to_xarray

        return to_xarray(self, steps)

    @_one_line_errors
    def cell_types(self) -> list[str]:
        return json.loads(self.attrs["cell_types"])

    @_one_line_errors
    def cell_states(self) -> dict[str, list[str]]:
        return json.loads(self.attrs["cell_states"])

    def summary(self) -> str:
        """The lines `abm info` prints (io/summary.py)."""
        from .summary import summary

        return summary(self)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ranges(steps: list[int]) -> str:
    if len(steps) <= 6:
        return ", ".join(str(s) for s in steps)
    return f"{steps[0]}, {steps[1]}, ..., {steps[-1]}"


def open_run(path) -> Run:
    return Run(path)


def read_timeseries(path):
    """The run's time series as a pandas DataFrame: one row per step, columns as in docs/output.md."""
    with Run(path) as run:
        return run.timeseries()


def read_snapshot(path, step: int | None = None) -> dict:
    """One snapshot (default: the last) as NumPy arrays: step, time_h, cell_type, cell_state,
    fields {name: array}, agents {column: array}."""
    with Run(path) as run:
        return run.snapshot(step)
