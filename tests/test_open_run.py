"""abm.open_run for notebooks: fields by name and over time, and the run as an xarray.Dataset with
lattice coordinates in micrometres, units from the file, values equal to snapshot(), read lazily."""
from __future__ import annotations

import sys

import h5py
import numpy as np
import pytest

import abm
from abm.errors import AbmError, OutputError
from abm.io import dataset
from abm.runner import run_to_file
from run_helpers import CONFIG, overrides

RUNS = {  # 3D with another spacing, so that coordinates in um are not the indices times 20
    "2d": overrides(shape=(30, 24), hours=1.5, tumor=60, nk=15, snapshot=5),
    "3d": overrides(shape=(22, 20, 14), hours=1.0, tumor=80, nk=10, snapshot=4, **{"lattice.dx_um": 40.0}),
}


@pytest.fixture(scope="module", params=sorted(RUNS))
def path(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("open_run") / f"run{request.param}.h5"
    return run_to_file(CONFIG, overrides=RUNS[request.param], out=out, device="cpu", progress=False,
                       log=lambda m: None)


def test_dims_coordinates_units_and_attributes(path):
    with abm.open_run(path) as run, h5py.File(path, "r") as f:
        ds = run.to_xarray()
        shape, dx = tuple(int(n) for n in f.attrs["lattice_shape"]), float(f.attrs["dx_um"])
        space = ("x", "y", "z")[:len(shape)]
        last = f["snapshots"][sorted(f["snapshots"])[-1]]
        assert sorted(ds["ifng"].dims) == sorted(ds["cell_type"].dims) and ds["ifng"].dims == ("step", *space)
        assert ds["ifng"].shape == (len(f["snapshots"]), *shape)
        for axis, n in zip(space, shape):
            assert np.allclose(ds[axis].values, (np.arange(n) + 0.5) * dx) and ds[axis].attrs["units"] == "um"
        assert list(ds["step"].values) == sorted(int(s) for s in f["snapshots"]) == run.snapshot_steps()
        assert list(ds["time_h"].values) == run.snapshot_times() == [f["snapshots"][s].attrs["time_h"] for s in sorted(f["snapshots"])]
        assert ds["time_h"].attrs["units"] == "h"
        assert set(run.field_names) == set(last["fields"]) == {"ifng", "chemoattractant"}
        for name in run.field_names:
            assert ds[name].attrs["units"] == last[f"fields/{name}"].attrs["units"] == run.field_units[name]
        assert ds["cell_type"].attrs["flag_meanings"].split() == ["empty", *run.cell_types()]
        assert ds["tumor"].dims == ("row",) and ds.sizes["row"] == f["timeseries/step"].shape[0]
        assert ds["births"].attrs["units"] == f["timeseries/births"].attrs["units"]
        assert ds["row_time_h"].attrs["units"] == "h"
        for key in ("config_yaml", "seed", "git_commit", "package_version", "dx_um"):
            assert np.array_equal(ds.attrs[key], run.attrs[key]), key


def test_values_equal_snapshot_and_timeseries(path):
    with abm.open_run(path) as run:
        ds, series = run.to_xarray(), run.timeseries()
        for step in run.snapshot_steps():
            snap = run.snapshot(step)
            at = ds.sel(step=step)
            assert float(at["time_h"]) == snap["time_h"]
            assert np.array_equal(at["cell_type"].values, snap["cell_type"])
            assert np.array_equal(at["cell_state"].values, snap["cell_state"])
            for name, values in snap["fields"].items():
                assert at[name].dtype == values.dtype and np.array_equal(at[name].values, values)
                assert np.array_equal(run.field(name, step), values)
        assert ds["ifng"].isel(step=-1).values.max() > 0  # the comparison is not of zeros
        assert np.array_equal(ds["row_step"].values, series["step"]) and np.array_equal(ds["row_time_h"].values, series["time_h"])
        for column in series.columns.drop(["step", "time_h"]):
            assert np.array_equal(ds[column].values, series[column].to_numpy()), column


def test_fields_by_name_and_over_time(path):
    with abm.open_run(path) as run:
        last = run.snapshot()
        for name in run.field_names:
            assert np.array_equal(run.field(name), last["fields"][name])
            stack = run.field_series(name)
            assert stack.shape == (len(run.snapshot_steps()), *run.lattice_shape)
            for k, step in enumerate(run.snapshot_steps()):
                assert np.array_equal(stack[k], run.snapshot(step)["fields"][name])
        assert run.field_series("ifng", steps=[0]).shape == (1, *run.lattice_shape)
        with pytest.raises(OutputError, match=rf"^{path}: no field 'tnf' \(fields: .*ifng.*\)$"):
            run.field("tnf")
        with pytest.raises(OutputError, match=rf"^{path}: no snapshot at step 3 \(snapshots at steps 0, "):
            run.field("ifng", 3)


def test_snapshots_are_read_only_when_indexed(path, monkeypatch):
    reads = []  # (dataset, snapshot steps) of every read from the file
    original = dataset.SnapshotStack._read

    def counting(self, key):
        reads.append((self.member, np.asarray(self.steps)[key[0]].tolist()))
        return original(self, key)

    monkeypatch.setattr(dataset.SnapshotStack, "_read", counting)
    with abm.open_run(path) as run:
        steps = run.snapshot_steps()
        ds = run.to_xarray()
        repr(ds)
        snaps = {step: run.snapshot(step) for step in (steps[0], steps[-1])}
    assert len(steps) >= 3 and reads == []  # opening and printing it read no lattice data
    # after the Run is closed: each read opens the file for itself
    part = ds["ifng"].isel(step=-1, x=slice(2, 9), y=slice(None, None, -3)).values
    assert np.array_equal(part, snaps[steps[-1]]["fields"]["ifng"][2:9, ::-3])
    assert reads == [("fields/ifng", steps[-1])]
    ends = ds["cell_type"].sel(step=[steps[-1], steps[0]]).isel(x=[4, 1, 4]).values
    assert np.array_equal(ends, np.stack([snaps[s]["cell_type"][[4, 1, 4]] for s in (steps[-1], steps[0])]))
    assert reads[1:] == [("lattice/cell_type", [steps[0], steps[-1]])]  # not the snapshots between


def test_chosen_steps(path):
    with abm.open_run(path) as run:
        steps = run.snapshot_steps()
        ds = run.to_xarray(steps=[steps[0], steps[-1]])
        assert list(ds["step"].values) == [steps[0], steps[-1]] and ds["cell_type"].shape[0] == 2
        assert np.array_equal(ds["cell_type"].isel(step=1).values, run.snapshot()["cell_type"])
        assert list(run.to_xarray(steps=steps[-1])["step"].values) == [steps[-1]]
        with pytest.raises(OutputError, match=rf"^{path}: no snapshot at step 3 "):
            run.to_xarray(steps=[0, 3])
        with pytest.raises(OutputError, match=rf"^{path}: no snapshot steps asked for$"):
            run.to_xarray(steps=[])


def test_without_xarray_one_line_saying_what_to_install(path, monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray raises ImportError
    with abm.open_run(path) as run, pytest.raises(AbmError) as error:
        run.to_xarray()
    assert str(error.value) == f"{path}: to_xarray() needs xarray, which is not installed: pip install xarray"
