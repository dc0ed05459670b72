"""XDMF sidecar: RUN.xdmf beside RUN.h5, so ParaView and VisIt open the lattice and every field
over time. It only points into the HDF5 file (no data is copied) and is rewritten atomically
each time the writer adds a snapshot.

Each snapshot is one uniform grid of a temporal collection (time in hours): a 3DCoRectMesh
(ORIGIN_DXDYDZ, spacing dx_um, origin 0) whose cells are the lattice sites, with cell-centred
attributes cell_type, cell_state and one per field; a 2D lattice is a slab one site thick.
XDMF lists dimensions from the slowest-varying array index to the fastest, so ParaView's X, Y, Z
axes are the arrays' z, y, x in 3D, and y, x (and the slab's thickness) in 2D.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from .files import write_text_atomic

GROUPS = ("lattice", "fields")  # snapshot sub-groups whose lattice-shaped datasets are exposed


@dataclass(frozen=True)
class Item:
    name: str  # attribute name shown in ParaView
    h5path: str  # dataset path inside the run file
    dtype: np.dtype
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Entry:
    step: int
    time_h: float
    items: tuple[Item, ...]


def xdmf_path(run_path) -> Path:
    run_path = Path(run_path)
    if run_path.suffix == ".xdmf":  # never the run file itself
        return run_path.with_name(run_path.name + ".xdmf")
    return run_path.with_suffix(".xdmf")


def describe_snapshot(group, lattice_shape) -> Entry:
    """The lattice-shaped datasets of one /snapshots/NNNNNNNN group (an open h5py group)."""
    items = []
    shape = tuple(int(n) for n in lattice_shape)
    for sub in GROUPS:
        if sub not in group:
            continue
        for name, dataset in group[sub].items():
            if getattr(dataset, "shape", None) == shape:
                items.append(Item(name, dataset.name, dataset.dtype, shape))
    return Entry(int(group.attrs["step"]), float(group.attrs["time_h"]), tuple(items))


def describe_run(file) -> list[Entry]:
    shape = tuple(int(n) for n in file.attrs["lattice_shape"])
    snapshots = file.get("snapshots", {})
    return [describe_snapshot(snapshots[name], shape) for name in sorted(snapshots)]


def _number_type(dtype: np.dtype) -> tuple[str, int]:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return "Float", dtype.itemsize
    if dtype.kind == "u":
        return ("UChar" if dtype.itemsize == 1 else "UInt"), dtype.itemsize
    if dtype.kind in "ib":
        return ("Char" if dtype.itemsize == 1 else "Int"), dtype.itemsize
    raise ValueError(f"no XDMF number type for {dtype}")


def render(h5_name: str, lattice_shape, dx_um: float, entries: list[Entry]) -> str:
    """The XDMF 3 document for these snapshots of the run file h5_name (a path relative to it)."""
    shape = tuple(int(n) for n in lattice_shape)
    # A 2D lattice is a slab one site thick: VTK (ParaView) puts a 2DCoRectMesh in the YZ plane,
    # but a 3DCoRectMesh with one layer of cells in the XY plane. The data keep their 2D shape.
    mesh_shape = (1, *shape) if len(shape) == 2 else shape
    nodes = " ".join(str(n + 1) for n in mesh_shape)
    cells = " ".join(str(n) for n in mesh_shape)
    topology = f'<Topology TopologyType="3DCoRectMesh" Dimensions="{nodes}"/>'
    spacing = " ".join(repr(float(dx_um)) for _ in range(3))
    geometry = ('<Geometry GeometryType="ORIGIN_DXDYDZ">'
                '<DataItem Name="Origin" Dimensions="3" NumberType="Float" Precision="8" Format="XML">0 0 0</DataItem>'
                f'<DataItem Name="Spacing" Dimensions="3" NumberType="Float" Precision="8" Format="XML">{spacing}'
                '</DataItem></Geometry>')
    lines = ['<?xml version="1.0" ?>',
             '<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>',
             '<Xdmf xmlns:xi="http://www.w3.org/2001/XInclude" Version="3.0">',
             '  <Domain>',
             '    <Grid Name="run" GridType="Collection" CollectionType="Temporal">']
    for entry in entries:
        lines.append(f'      <Grid Name="step {entry.step:08d}" GridType="Uniform">')
        lines.append(f'        <Time Value="{entry.time_h!r}"/>')
        lines.append(f"        {topology}")
        lines.append(f"        {geometry}")
        for item in entry.items:
            number_type, precision = _number_type(item.dtype)
            lines.append(f'        <Attribute Name="{escape(item.name)}" AttributeType="Scalar" Center="Cell">'
                         f'<DataItem Dimensions="{cells}" NumberType="{number_type}" Precision="{precision}" '
                         f'Format="HDF">{escape(h5_name)}:{escape(item.h5path)}</DataItem></Attribute>')
        lines.append("      </Grid>")
    lines += ["    </Grid>", "  </Domain>", "</Xdmf>", ""]
    return "\n".join(lines)


def write(run_path, lattice_shape, dx_um: float, entries: list[Entry]) -> Path:
    """Write RUN.xdmf beside RUN.h5 atomically (a reader sees the old or the new document)."""
    run_path = Path(run_path)
    path = xdmf_path(run_path)
    write_text_atomic(path, render(run_path.name, lattice_shape, dx_um, entries))
    return path


def write_for(run_path) -> Path:
    """Write RUN.xdmf again from the run file itself (after renaming or moving the run)."""
    from .files import open_h5

    with open_h5(run_path, "r") as file:
        entries = describe_run(file)
        shape, dx_um = tuple(int(n) for n in file.attrs["lattice_shape"]), float(file.attrs["dx_um"])
    return write(run_path, shape, dx_um, entries)
