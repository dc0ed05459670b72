"""The XDMF sidecar: an independent reader (meshio) finds every snapshot's lattice and fields in
the HDF5 file, with the same arrays as h5py; the mesh is a CoRectMesh of the lattice's sites."""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest

from abm.io.xdmf import xdmf_path
from abm.runner import run_to_file
from run_helpers import CONFIG, overrides

RUNS = {
    "2d": overrides(shape=(30, 24), hours=1.5, tumor=60, nk=15, snapshot=5),
    "3d": overrides(shape=(40, 36, 24), hours=1.0, tumor=150, nk=20, snapshot=5),
}


@pytest.fixture(scope="module", params=sorted(RUNS))
def run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("xdmf") / f"run{request.param}.h5"
    run_to_file(CONFIG, overrides=RUNS[request.param], out=out, device="cpu", progress=False, log=lambda m: None)
    return out


def test_meshio_reads_the_same_arrays_as_h5py(run):
    meshio = pytest.importorskip("meshio")
    with meshio.xdmf.TimeSeriesReader(xdmf_path(run)) as reader, h5py.File(run, "r") as f:
        steps = sorted(f["snapshots"])
        assert reader.num_steps == len(steps) >= 3
        # meshio's own topology reader handles unstructured meshes only; the temporal collection,
        # the times and the HDF5 data items are what it reads here.
        reader.cells = []
        for k, name in enumerate(steps):
            time_h, point_data, cell_data = reader.read_data(k)
            snapshot = f["snapshots"][name]
            assert time_h == pytest.approx(float(snapshot.attrs["time_h"]))
            expected = {**{n: d[()] for n, d in snapshot["lattice"].items()},
                        **{n: d[()] for n, d in snapshot["fields"].items()}}
            assert set(cell_data) == set(expected) and not point_data
            for attribute, (values,) in cell_data.items():
                assert values.dtype == expected[attribute].dtype
                assert np.array_equal(values.reshape(expected[attribute].shape), expected[attribute])


def test_the_mesh_is_the_lattice(run):
    root = ET.parse(xdmf_path(run)).getroot()
    with h5py.File(run, "r") as f:
        shape = tuple(int(n) for n in f.attrs["lattice_shape"])
        dx = float(f.attrs["dx_um"])
    mesh = (1, *shape) if len(shape) == 2 else shape  # a 2D lattice is a slab one site thick
    grids = root.findall("./Domain/Grid/Grid")
    for grid in grids:
        topology = grid.find("Topology")
        assert topology.get("TopologyType") == "3DCoRectMesh"
        assert [int(n) for n in topology.get("Dimensions").split()] == [n + 1 for n in mesh]
        origin, spacing = grid.findall("Geometry/DataItem")
        assert grid.find("Geometry").get("GeometryType") == "ORIGIN_DXDYDZ"
        assert [float(v) for v in origin.text.split()] == [0.0, 0.0, 0.0]
        assert [float(v) for v in spacing.text.split()] == [dx, dx, dx]
        for item in grid.findall("Attribute/DataItem"):
            assert item.text.startswith(f"{run.name}:/snapshots/")  # points into the run file: no copy
            assert [int(n) for n in item.get("Dimensions").split()] == list(mesh)
    assert len(grids) == len(h5py.File(run, "r")["snapshots"])


def _vtk_xdmf_reader():
    """VTK's XDMF reader, the one ParaView offers as "XDMF Reader". VTK's wheels carry only this
    one (vtkIOXdmf2); ParaView's Xdmf3 readers need a VTK built with Xdmf3 (Boost), not on PyPI."""
    try:
        from vtkmodules.vtkIOXdmf2 import vtkXdmfReader
    except ImportError:
        if os.environ.get("CI"):  # the test extra installs vtk: missing there is a broken setup, not a skip
            pytest.fail("vtk is not installed: pip install -e '.[test]' (ParaView's XDMF reader checks the sidecar)")
        pytest.skip("vtk (ParaView's XDMF reader) is not installed: pip install vtk")
    return vtkXdmfReader()


def test_paraview_reader_opens_it(run):
    """Every time step, the last included, as ParaView reads it: no rendering, only the pipeline."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline as Pipeline

    reader = _vtk_xdmf_reader()
    reader.SetFileName(str(xdmf_path(run)))
    reader.UpdateInformation()
    times = reader.GetOutputInformation(0).Get(Pipeline.TIME_STEPS())
    with h5py.File(run, "r") as f:
        snapshots = [f["snapshots"][name] for name in sorted(f["snapshots"])]
        shape, dx = tuple(int(n) for n in f.attrs["lattice_shape"]), float(f.attrs["dx_um"])
        assert list(times) == pytest.approx([float(s.attrs["time_h"]) for s in snapshots])
        mesh = shape[::-1] if len(shape) == 3 else (1, *shape)[::-1]  # ParaView's X is the arrays' last axis
        first_types = snapshots[0]["lattice/cell_type"][()]
        assert not np.array_equal(first_types, snapshots[-1]["lattice/cell_type"][()])  # the time step matters
        for time_h, snapshot in zip(times, snapshots):
            reader.UpdateTimeStep(time_h)
            image = reader.GetOutputDataObject(0)
            assert image.GetInformation().Get(image.DATA_TIME_STEP()) == time_h
            assert image.GetDimensions() == tuple(n + 1 for n in mesh)
            assert image.GetSpacing() == (dx, dx, dx) and image.GetOrigin() == (0.0, 0.0, 0.0)
            expected = {**{n: d[()] for n, d in snapshot["lattice"].items()},
                        **{n: d[()] for n, d in snapshot["fields"].items()}}
            cells = image.GetCellData()
            assert sorted(cells.GetArrayName(i) for i in range(cells.GetNumberOfArrays())) == sorted(expected)
            for name, values in expected.items():
                read = vtk_to_numpy(cells.GetArray(name))
                assert read.dtype == values.dtype, name
                assert np.array_equal(read, values.ravel()), name  # C order: x slowest, as XDMF lists it
        assert snapshots[-1]["fields/ifng"][()].max() > 0  # the fields compared are not all zero


def test_the_sidecar_follows_the_snapshots_of_a_stopped_run(tmp_path, monkeypatch):
    from abm.core import model as model_module

    original = model_module.TissueModel.step

    def failing(self):
        if self.steps == 13:
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(model_module.TissueModel, "step", failing)
    out = tmp_path / "stopped.h5"
    with pytest.raises(KeyboardInterrupt):
        run_to_file(CONFIG, overrides=RUNS["2d"], out=out, device="cpu", progress=False, log=lambda m: None)
    times = [float(t.get("Value")) for t in ET.parse(xdmf_path(out)).getroot().iter("Time")]
    assert times == [0.0, 0.5, 1.0]  # snapshots of steps 0, 5, 10


def test_write_for_a_moved_run(run, tmp_path):
    import shutil

    from abm.io.xdmf import write_for

    moved = tmp_path / "moved.h5"
    shutil.copy(run, moved)
    text = write_for(moved).read_text()
    assert "moved.h5:/snapshots/" in text and run.name not in text
    assert text == xdmf_path(run).read_text().replace(run.name, "moved.h5")
