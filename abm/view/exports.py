"""Files the page hands out (its download buttons): the frame shown as PNG, the time series as
CSV, the run as a movie. Each is made when its button is clicked (Solara calls these in a
thread), never while the page is drawn.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from ..viz.plot import Categories, plane_label
from . import data, render


def filename(info: data.RunInfo, what: str, suffix: str) -> str:
    """`<run file stem>-<what>.<suffix>`, safe on any file system."""
    stem = re.sub(r"[^\w.-]+", "_", info.path.stem)
    return f"{stem}-{what}.{suffix}"


def frame_png(info: data.RunInfo, step: int, axis: int | None, index: int | None, field: str | None,
              top: float) -> bytes:
    """The snapshot as the page shows it: the lattice plane with its legend, and the field on the
    page's colour scale (top; 0: the plane's own maximum)."""
    axis, index = (None, None) if info.ndim == 2 else (axis, data.clamp_index(info.shape, axis, index))
    plane = data.read_plane(info.path, info.run_id, step, axis, index)
    where = plane_label(info.ndim, axis, index, info.shape)
    t = info.times[info.steps.index(step)]
    title = f"{info.title}: step {step}, t = {t:.2f} h" + (f", {where}" if where else "")
    field = field if field in plane["fields"] else None
    return render.frame_png(Categories.of(info.types, info.states), plane, data.series_row(info.series, step),
                            info.dx_um, info.ndim, title, field, plane["units"].get(field, ""), top)


def series_csv(info: data.RunInfo) -> str:
    """The run's time series, one row per recorded step (step, time_h, counts, events)."""
    return info.series.to_csv(index=False)


def movie_gif(info: data.RunInfo, field: str | None, axis: int | None, index: int | None) -> bytes:
    """Every snapshot as a GIF, by `abm movie` (abm/viz/movie.py): the lattice, and the field on one
    scale for the whole run."""
    from ..viz.movie import make_movie

    axis = 2 if axis is None else axis
    index = None if info.ndim == 2 else data.clamp_index(info.shape, axis, index)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "movie.gif"
        with render.draw_lock:  # make_movie draws with pyplot: one figure at a time in this process
            make_movie(info.path, out, field=field if field in info.fields else None, axis=axis, index=index)
        return out.read_bytes()
