"""abm.open_run for notebooks: what a Run says of itself (repr, docstrings, properties for metadata
and methods for data), the time series indexed by hours, fields by name and over time, and the run
as an xarray.Dataset on (step, y, x) / (step, z, y, x), oriented as abm plot draws it, with
lattice coordinates in micrometres, units from the file, values equal to snapshot(), read lazily."""
from __future__ import annotations

import inspect
import shutil
import sys

import h5py
import numpy as np
import pytest

import abm
from abm.errors import AbmError, OutputError
from abm.io import dataset
from abm.io.reader import Run, _ranges
from abm.runner import run_to_file
from run_helpers import CONFIG, overrides

RUNS = {  # 3D with another spacing, so that coordinates in um are not the indices times 20
    "2d": overrides(shape=(30, 24), hours=1.5, tumor=60, nk=15, snapshot=5),
    "3d": overrides(shape=(22, 20, 14), hours=1.0, tumor=80, nk=10, snapshot=4, **{"lattice.dx_um": 40.0}),
}
PROPERTIES = ("attrs", "status", "completed", "arm", "lattice_shape", "dx_um", "cell_types", "cell_states",
              "snapshot_steps", "snapshot_times", "field_names", "field_units")
METHODS = ("timeseries", "snapshot", "snapshot_slice", "field", "field_series", "to_xarray", "summary", "close")


@pytest.fixture(scope="module", params=sorted(RUNS))
def path(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("open_run") / f"run{request.param}.h5"
    return run_to_file(CONFIG, overrides=RUNS[request.param], out=out, device="cpu", progress=False,
                       log=lambda m: None)


# ---------------------------------------------------------------- the Run itself


def test_metadata_are_properties_and_reads_are_methods_each_documented():
    public = {name for name in dir(Run) if not name.startswith("_")}
    assert public == {*PROPERTIES, *METHODS}  # a new name is sorted into one kind or the other here
    for name in PROPERTIES:
        assert isinstance(inspect.getattr_static(Run, name), property), name
    for name in METHODS:
        assert inspect.isfunction(inspect.getattr_static(Run, name)), name
    for thing in (Run, abm.open_run, abm.read_timeseries, abm.read_snapshot, *(getattr(Run, n) for n in public)):
        assert len(inspect.getdoc(thing) or "") > 30, thing


def test_properties_agree_with_the_file(path):
    with abm.open_run(path) as run, h5py.File(path, "r") as f:
        names = sorted(f["snapshots"])
        assert run.snapshot_steps == [int(s) for s in names]
        assert run.snapshot_times == [f["snapshots"][s].attrs["time_h"] for s in names]
        assert run.lattice_shape == tuple(f.attrs["lattice_shape"]) and run.dx_um == f.attrs["dx_um"]
        assert run.cell_types[:2] == ["tumor", "nk"] and set(run.cell_states) == set(run.cell_types)
        assert run.status == "completed" and run.completed and run.arm is None
        assert run.field_names == list(f["snapshots"][names[-1]]["fields"])


def test_repr_summarises_the_run(path):
    with abm.open_run(path) as run:
        text, shape, steps = repr(run), run.lattice_shape, run.snapshot_steps
    lines = text.splitlines()
    assert lines[0] == f"<abm.Run {path}: completed>"
    assert lines[1].startswith(f"lattice    {len(shape)}D, {' x '.join(map(str, shape))} sites, dx ")
    planned = int(RUNS["2d" if len(shape) == 2 else "3d"]["time.duration_h"] * 10)  # dt 6 min
    assert lines[2].startswith(f"steps      0 to {planned} of {planned}, 0 to ") and " h (dt 6 min)" in lines[2]
    assert lines[3] == f"snapshots  {len(steps)} at steps {_ranges(steps)}"
    assert lines[4].startswith("cell types tumor, nk, ") and lines[5] == "fields     chemoattractant, ifng"
    assert len(lines) == 6  # no arm recorded
    assert repr(run) == f"<abm.Run {path}: closed>"
    with pytest.raises(OutputError, match=r"the run is closed \(open it again with abm.open_run\)$"):
        run.timeseries()


def test_repr_names_the_arm_and_an_interrupted_run(path, tmp_path):
    copy = shutil.copy(path, tmp_path / "copy.h5")
    with h5py.File(copy, "r+") as f:
        f.attrs["sweep_arm"], f.attrs["status"], f.attrs["completed"] = "healthy_nk", "interrupted", False
    with abm.open_run(copy) as run:
        lines = repr(run).splitlines()
        assert run.arm == "healthy_nk" and run.status == "interrupted" and not run.completed
    assert lines[0] == f"<abm.Run {copy}: interrupted>" and lines[-1] == "arm        healthy_nk"


# ---------------------------------------------------------------- time series


def test_timeseries_is_indexed_by_hours_with_step_a_column(path):
    with abm.open_run(path) as run, h5py.File(path, "r") as f:
        series = run.timeseries()
        assert series.index.name == "time_h" and "time_h" not in series.columns and series.columns[0] == "step"
        assert np.array_equal(series.index, f["timeseries/time_h"][...])
        assert np.array_equal(series["step"], np.arange(len(series))) and series["step"].dtype == np.int64
        assert set(series.columns) == set(f["timeseries"]) - {"time_h"}
        assert series.loc[series.index[-1], "step"] == f.attrs["steps_done"]
    assert abm.read_timeseries(path).equals(series)


# ---------------------------------------------------------------- xarray


def test_dims_coordinates_units_and_attributes(path):
    with abm.open_run(path) as run, h5py.File(path, "r") as f:
        ds = run.to_xarray()
        shape, dx = tuple(int(n) for n in f.attrs["lattice_shape"]), float(f.attrs["dx_um"])
        space = ("x", "y", "z")[:len(shape)]
        last = f["snapshots"][sorted(f["snapshots"])[-1]]
        assert ds["ifng"].dims == ds["cell_type"].dims == ("step", *space[::-1])  # (step, y, x), (step, z, y, x)
        assert ds["ifng"].shape == (len(f["snapshots"]), *shape[::-1])
        for axis, n in zip(space, shape):
            assert np.allclose(ds[axis].values, (np.arange(n) + 0.5) * dx) and ds[axis].attrs["units"] == "um"
        assert list(ds["step"].values) == sorted(int(s) for s in f["snapshots"]) == run.snapshot_steps
        assert ds["time_h"].dims == ("step",) and ds["time_h"].attrs["units"] == "h"
        assert list(ds["time_h"].values) == run.snapshot_times
        for name in run.field_names:
            assert ds[name].attrs["units"] == last[f"fields/{name}"].attrs["units"] == run.field_units[name]
        assert ds["cell_type"].attrs["flag_meanings"].split() == ["empty", *run.cell_types]
        assert ds["tumor"].dims == ("series_time_h",) and "row" not in ds.dims
        assert ds.sizes["series_time_h"] == f["timeseries/step"].shape[0]
        assert ds["series_time_h"].attrs["units"] == "h" and ds["series_step"].dims == ("series_time_h",)
        assert ds["births"].attrs["units"] == f["timeseries/births"].attrs["units"]
        for key in ("config_yaml", "seed", "git_commit", "package_version", "dx_um"):
            assert np.array_equal(ds.attrs[key], run.attrs[key]), key


def test_values_equal_snapshot_and_timeseries(path):
    with abm.open_run(path) as run:
        ds, series = run.to_xarray(), run.timeseries()
        for step in run.snapshot_steps:
            snap = run.snapshot(step)
            at = ds.sel(step=step)
            assert float(at["time_h"]) == snap["time_h"]
            assert np.array_equal(at["cell_type"].values, snap["cell_type"].T)  # [x, y(, z)] in the file
            assert np.array_equal(at["cell_state"].transpose(*"xyz"[:at["cell_state"].ndim]).values,
                                  snap["cell_state"])
            for name, values in snap["fields"].items():
                assert at[name].dtype == values.dtype and np.array_equal(at[name].values, values.T)
                assert np.array_equal(run.field(name, step), values)
        assert ds["ifng"].isel(step=-1).values.max() > 0  # the comparison is not of zeros
        assert np.array_equal(ds["series_step"].values, series["step"])
        assert np.array_equal(ds["series_time_h"].values, series.index)
        for column in series.columns.drop("step"):
            assert np.array_equal(ds[column].values, series[column].to_numpy()), column
        assert float(ds["tumor"].sel(series_time_h=series.index[3])) == series["tumor"].iloc[3]


def test_a_field_plotted_by_xarray_is_oriented_as_abm_plot_draws_it(path, tmp_path, monkeypatch):
    """ds.ifng.isel(step=-1).plot() (a 3D run: the mid-plane in z, abm plot's default plane) puts
    the same array as abm plot's IFN-gamma panel on the screen: x to the right, y up."""
    import matplotlib
    from matplotlib.figure import Figure

    from abm.viz.plot import plot_run

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = {}  # abm plot's panel, taken from its figure just before it is saved and closed
    save = Figure.savefig

    def keep(fig, *args, **kwargs):
        ax = next(ax for ax in fig.axes if ax.get_title().startswith("ifng") and ax.images)
        drawn.update(array=np.asarray(ax.images[0].get_array()), origin=ax.images[0].origin,
                     labels=(ax.get_xlabel()[0], ax.get_ylabel()[0]))
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    plot_run(path, tmp_path / "run.png")
    with abm.open_run(path) as run:
        last = run.to_xarray()["ifng"].isel(step=-1)
    if "z" in last.dims:
        last = last.isel(z=last.sizes["z"] // 2)
    fig, ax = plt.subplots()
    mesh = last.plot(ax=ax)
    shown = np.asarray(mesh.get_array()).reshape(last.shape)  # rows from the bottom up, as origin="lower"
    assert drawn["origin"] == "lower" and drawn["labels"] == ("x", "y")
    assert (ax.get_xlabel()[0], ax.get_ylabel()[0]) == ("x", "y")
    assert ax.get_xlim()[0] < ax.get_xlim()[1] and ax.get_ylim()[0] < ax.get_ylim()[1]
    assert shown.shape == drawn["array"].shape and shown.shape[0] != shown.shape[1]  # not square: a transposition shows
    assert np.array_equal(shown, drawn["array"]) and shown.max() > 0
    plt.close(fig)


def test_fields_by_name_and_over_time(path):
    with abm.open_run(path) as run:
        last = run.snapshot()
        for name in run.field_names:
            assert np.array_equal(run.field(name), last["fields"][name])
            stack = run.field_series(name)
            assert stack.shape == (len(run.snapshot_steps), *run.lattice_shape)
            for k, step in enumerate(run.snapshot_steps):
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
        steps = run.snapshot_steps
        ds = run.to_xarray()
        repr(ds)
        snaps = {step: run.snapshot(step) for step in (steps[0], steps[-1])}
    assert len(steps) >= 3 and reads == []  # opening and printing it read no lattice data
    # after the Run is closed: each read opens the file for itself
    part = ds["ifng"].isel(step=-1, x=slice(2, 9), y=slice(None, None, -3)).values
    assert np.array_equal(part, snaps[steps[-1]]["fields"]["ifng"][2:9, ::-3].T)
    assert reads == [("fields/ifng", steps[-1])]
    ends = ds["cell_type"].sel(step=[steps[-1], steps[0]]).isel(x=[4, 1, 4]).values
    assert np.array_equal(ends, np.stack([snaps[s]["cell_type"][[4, 1, 4]].T for s in (steps[-1], steps[0])]))
    assert reads[1:] == [("lattice/cell_type", [steps[0], steps[-1]])]  # not the snapshots between


def test_chosen_steps(path):
    with abm.open_run(path) as run:
        steps = run.snapshot_steps
        ds = run.to_xarray(steps=[steps[0], steps[-1]])
        assert list(ds["step"].values) == [steps[0], steps[-1]] and ds["cell_type"].shape[0] == 2
        assert np.array_equal(ds["cell_type"].isel(step=1).values, run.snapshot()["cell_type"].T)
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


def test_a_run_records_the_arm_it_was_made_with(tmp_path):
    """abm run --arm writes the arm (the viewer titles its panels with it; Run.arm reads it)."""
    from abm.runner import run_to_file
    from run_helpers import ROOT

    out = tmp_path / "grammar.h5"
    run_to_file(str(ROOT / "configs" / "grammar_dormancy.yaml"), overrides={"time.duration_h": 1.0}, out=out,
                progress=False, log=lambda *a: None, arm="grammar")
    assert abm.open_run(out).arm == "grammar"
    base = tmp_path / "base.h5"
    run_to_file(str(ROOT / "configs" / "grammar_dormancy.yaml"), overrides={"time.duration_h": 1.0}, out=base,
                progress=False, log=lambda *a: None)
    assert abm.open_run(base).arm is None
