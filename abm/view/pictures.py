"""The PNG of each panel for a run at a snapshot: reads (abm.view.data) and drawing (abm.view.render),
cached for every browser session: moving back along the slider, or a second viewer, draws nothing again."""
from __future__ import annotations

import threading
from collections import OrderedDict

from ..viz.plot import Categories, plane_label
from . import data, render

MAX_PICTURES = 400  # about 40 kB each


class _Cache:
    """A small thread-safe LRU of PNG bytes by key (functools.lru_cache cannot leave the RunInfo
    argument out of its key, and a growing run gets a new RunInfo at every write)."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_cache = _Cache(MAX_PICTURES)


def categories(info: data.RunInfo) -> Categories:
    return Categories.of(info.types, info.states)


def where(info: data.RunInfo, axis: int, index: int) -> tuple[int | None, int | None]:
    """(axis, index) of the plane shown: None, None for a 2D run; for 3D the index within its lattice."""
    if info.ndim == 2:
        return None, None
    return axis, data.clamp_index(info.shape, axis, index)


def _title(info: data.RunInfo, what: str, step: int, axis, index) -> str:
    plane = plane_label(info.ndim, axis, index, info.shape)
    return f"{what}, step {step}" + (f", {plane}" if plane else "")


def lattice(info: data.RunInfo, step: int, axis: int, index: int) -> bytes:
    axis, index = where(info, axis, index)

    def make():
        plane = data.read_plane(info.path, info.run_id, step, axis, index)
        row = data.series_row(info.series, step)
        return render.lattice_png(categories(info), plane, row, info.dx_um, info.ndim,
                                  _title(info, "cells", step, axis, index))
    return _cache.get(("lattice", info.path, info.run_id, step, axis, index), make)


def field(info: data.RunInfo, name: str, step: int, axis: int, index: int) -> bytes:
    axis, index = where(info, axis, index)

    def make():
        plane = data.read_plane(info.path, info.run_id, step, axis, index)
        return render.field_png(plane["fields"][name], name, plane["units"].get(name, ""), info.dx_um, info.ndim,
                                axis, _title(info, name, step, axis, index))
    return _cache.get(("field", info.path, info.run_id, step, axis, index, name), make)


def cells3d(info: data.RunInfo, step: int, axis: int, index: int) -> bytes:
    axis, index = where(info, axis, index)

    def make():
        cells = data.read_cells(info.path, info.run_id, step)
        return render.cells3d_png(categories(info), cells, info.shape, info.dx_um, axis, index,
                                  f"cells in 3D, step {step}")
    return _cache.get(("cells3d", info.path, info.run_id, step, axis, index), make)


def series(info: data.RunInfo, time_h: float) -> bytes:
    # The stamp is in the key: the time series of a run being written grows.
    return _cache.get(("series", info.path, info.run_id, info.stamp, round(time_h, 9)),
                      lambda: render.series_png(info.series, categories(info), time_h))
