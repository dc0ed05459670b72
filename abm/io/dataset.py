"""A run as an xarray.Dataset (Run.to_xarray), for notebooks: fields, cell_type and cell_state on
(step, y, x) or (step, z, y, x) with site centres in micrometres and time_h along step, the time
series on series_time_h (hours, with series_step), the run's attributes. Layout: docs/output.md,
"Reading runs in Python and notebooks".

Why the lattice dims are reversed: the file's arrays are indexed [x, y(, z)] (C order over the
lattice shape) and abm plot draws x to the right and y up. xarray's plot puts a 2D array's last
dim on the horizontal axis and its first upwards, so (y, x) makes ds.ifng.isel(step=-1).plot()
the picture abm plot draws, without x=/y= arguments. The arrays are transposed as they are read.

Lattice arrays are lazy: a snapshot is read from the file only when indexed or loaded, so opening a
large 3D run costs its metadata, not every snapshot. Each read is a short session of its own
(open_h5), like every other reader of a run: the Dataset keeps no file open, so a run still being
written is not held up, and the Dataset stays usable after the Run is closed. No dask is needed.
"""
from __future__ import annotations

import json

import numpy as np

from ..errors import AbmError, OutputError
from . import probe
from .files import open_h5

try:  # optional: to_xarray() says how to install it
    from xarray.backends import BackendArray
    from xarray.core import indexing
except ImportError:
    BackendArray, indexing = object, None

SPACE = ("x", "y", "z")  # lattice arrays are indexed [x, y] or [x, y, z] in the file
SERIES_DIM = "series_time_h"  # the time series' dim: one row per step, indexed by hours


class SnapshotStack(BackendArray):
    """One lattice dataset (e.g. fields/ifng) of the chosen snapshots as a (step, *lattice
    reversed) array, (step, y, x) or (step, z, y, x), that reads only the part indexed."""

    def __init__(self, path, steps: list[int], member: str, lattice_shape: tuple[int, ...], dtype):
        self.path, self.steps, self.member = path, list(steps), member
        self.shape, self.dtype = (len(self.steps), *lattice_shape[::-1]), np.dtype(dtype)

    def __getitem__(self, key):
        # OUTER_1VECTOR (as for h5py in xarray's h5netcdf backend): _read gets integers, slices and
        # at most one increasing integer array, which h5py reads directly; xarray does the rest
        # in memory. So sel(step=[0, 480]) reads two snapshots, not the ones between.
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER_1VECTOR,
                                                  self._read)

    def _read(self, key: tuple):
        which, where = key[0], tuple(key[1:])
        steps = np.asarray(self.steps)[which]
        single = steps.ndim == 0
        steps = steps.reshape(-1).tolist()
        out = np.empty((len(steps), *_selected_shape(where, self.shape[1:])), self.dtype)
        in_file = where[::-1]  # the file's axis order; .T below turns what is read back
        from .damage import READ_ERRORS

        try:
            with open_h5(self.path, "r") as file:
                for k, step in enumerate(steps):
                    out[k] = file[f"snapshots/{step:08d}/{self.member}"][in_file].T
        except READ_ERRORS as error:
            raise OutputError(f"{self.path}: damaged run file ({probe.reason(error)})") from None
        return out[0] if single else out


def _selected_shape(where: tuple, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape that outer indexing an array of `shape` with integers, slices and arrays gives."""
    return tuple(len(range(*k.indices(n))) if isinstance(k, slice) else len(k)
                 for k, n in zip(where, shape) if not isinstance(k, (int, np.integer)))


def to_xarray(run, steps=None):
    """The Dataset of an open Run (see the module's docstring); steps: snapshot steps (an int or a
    list; default every snapshot)."""
    try:
        import xarray as xr
    except ImportError:
        raise AbmError(f"{run.path}: to_xarray() needs xarray, which is not installed: pip install xarray") from None
    steps = chosen_steps(run, steps)
    shape, dx_um = run.lattice_shape, run.dx_um
    space = SPACE[:len(shape)]
    times = [float(run.file["snapshots"][f"{step:08d}"].attrs["time_h"]) for step in steps]
    coords = {"step": ("step", np.array(steps, dtype=np.int64), {"long_name": "step of the snapshot"}),
              "time_h": ("step", np.array(times), {"units": "h", "long_name": "time of the snapshot"})}
    for axis, n in zip(space, shape):
        coords[axis] = (axis, (np.arange(n) + 0.5) * dx_um, {"units": "um", "long_name": f"{axis}, site centre"})
    variables = lattice_variables(run, steps, space)
    series, series_coords = timeseries_variables(run, taken=set(variables) | set(coords))
    attrs = {**run.attrs, "source_file": str(run.path)}
    return xr.Dataset({name: xr.Variable(*spec) for name, spec in {**variables, **series}.items()},
                      coords={**coords, **series_coords}, attrs=attrs)


def chosen_steps(run, steps) -> list[int]:
    """Snapshot steps asked for, each checked (one line naming the file for a missing one)."""
    if steps is None:
        steps = run.snapshot_steps
    elif isinstance(steps, (int, np.integer)):
        steps = [steps]
    steps = [int(step) for step in steps]
    if not steps:
        raise OutputError(f"{run.path}: no snapshot steps asked for" if run.snapshot_steps
                          else f"{run.path}: run has no snapshots")
    for step in steps:
        run._group(step)  # raises, listing the snapshots there are
    return steps


def lattice_variables(run, steps: list[int], space: tuple[str, ...]) -> dict:
    """{name: (dims, lazy data, attrs)} for cell_type, cell_state and every field."""
    first = run.file["snapshots"][f"{steps[0]:08d}"]
    types, states = run.cell_types, run.cell_states
    attrs = {
        "cell_type": {"long_name": "cell type code (-1: empty site)", "flag_values": np.arange(-1, len(types)),
                      "flag_meanings": " ".join(["empty", *types])},
        "cell_state": {"long_name": "state code within the cell's type (-1: empty site)",
                       "cell_states": json.dumps(states)},
    }
    members = [f"lattice/{name}" for name in ("cell_type", "cell_state")]
    members += [f"fields/{name}" for name in first["fields"]]
    variables = {}
    for member in members:
        name, dataset = member.split("/", 1)[1], first[member]
        stack = SnapshotStack(run.path, steps, member, run.lattice_shape, dataset.dtype)
        units = dataset.attrs.get("units")
        extra = attrs.get(name, {"long_name": f"{name} concentration"})
        variables[name] = (("step", *space[::-1]), indexing.LazilyIndexedArray(stack),
                           {**extra, **({"units": _text(units)} if units is not None else {})})
    return variables


def timeseries_variables(run, taken: set) -> tuple[dict, dict]:
    """The time series on dim series_time_h (hours; one row per step from 0), as Run.timeseries()
    is indexed: its columns, and series_step (the step of each row) as a coordinate. A column whose
    name is taken (by a field, say) is called series.<name>."""
    frame, group = run.timeseries(), run.file["timeseries"]
    units = {name: _text(group[name].attrs.get("units", "")) for name in group}
    coords = {SERIES_DIM: (SERIES_DIM, frame.index.to_numpy(), {"units": units["time_h"], "long_name": "time"}),
              "series_step": (SERIES_DIM, frame["step"].to_numpy(), {"units": units["step"], "long_name": "step"})}
    variables = {}
    for column in frame.columns.drop("step"):
        name = column if column not in taken else f"series.{column}"
        variables[name] = ((SERIES_DIM,), frame[column].to_numpy(), {"units": units[column]})
    return variables, coords


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
