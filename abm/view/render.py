"""Pictures of the viewer's panels as PNG bytes: pure functions of arrays, drawn with matplotlib (Agg).

Colours, legends, colour bars and the time-series plot are those of `abm plot` (abm/viz/plot.py),
so a run looks the same in the browser and on paper.
"""
from __future__ import annotations

import io
import threading

import numpy as np

from .lattice_image import lattice_rgb
from ..viz.plot import (AXIS_NAMES, FIELD_CMAP, CellMarkers, Categories, cell_counts, colorbar, draw_cell_legend,
                        draw_plane, draw_series, field_title)

DPI = 100
MAX_POINTS_3D = 12000  # cells drawn in the 3D view; more only blur into a cloud and slow the page
# matplotlib is not thread-safe (global font and text caches): every browser session renders in
# its own thread, so drawing is serialised; a panel takes a fraction of a second.
_draw_lock = threading.Lock()


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # pyplot-free: nothing global to switch or close
    return fig


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def plane_size(plane_shape, beside_in: float, width_in: float = 4.2) -> tuple[float, float]:
    """Figure size (inches) for a plane drawn width_in wide with beside_in more for a legend or colour
    bar: as tall as the plane's aspect needs, so that a long thin lattice leaves no blank band."""
    across, up = plane_shape[0], plane_shape[1]
    # + room for the axis labels and title: with less, constrained layout lets an equal-aspect
    # plane grow past the figure's edges, cutting off its y label and the legend.
    return width_in + beside_in + 0.7, min(max(width_in * up / max(across, 1), 2.0), 6.0) + 0.8


def lattice_png(cats: Categories, plane: dict, row, dx_um: float, ndim: int, title: str) -> bytes:
    """The lattice plane coloured by type and state, with a legend counting the cells (whole lattice
    from the time-series row where it has the step, else counted on the plane)."""
    codes = cats.codes(plane["cell_type"], plane["cell_state"])
    with _draw_lock:
        fig = _figure(*plane_size(codes.shape, 2.2))
        ax = fig.add_subplot()
        draw_plane(ax, lattice_rgb(cats, plane["cell_type"], plane["cell_state"]), dx_um, ndim, plane["axis"])
        ax.set_title(title, fontsize=10)
        draw_cell_legend(ax, cats, cell_counts(cats, row, codes), "cells (whole lattice)" if ndim == 3 else "cells")
        fig.canvas.draw()  # CellMarkers needs the final layout
        CellMarkers(ax, codes.shape[0], dx_um, cats.colours, DPI).update(codes)
        return _png(fig)


def field_png(values: np.ndarray, name: str, units: str, dx_um: float, ndim: int, axis: int | None,
              title: str) -> bytes:
    """One field as a heat map from 0 to its maximum in this plane, with a colour bar in its units."""
    with _draw_lock:
        fig = _figure(*plane_size(values.shape, 1.3))
        ax = fig.add_subplot()
        top = max(float(np.max(values)) if values.size else 0.0, 1e-12)
        image = draw_plane(ax, values, dx_um, ndim, axis, cmap=FIELD_CMAP, vmin=0, vmax=top)
        ax.set_title(title, fontsize=10)
        colorbar(fig, image, ax, field_title(name, units))
        return _png(fig)


def series_png(series, cats: Categories, time_h: float) -> bytes:
    """Populations by type and state over time, the shown snapshot's time dashed."""
    with _draw_lock:
        fig = _figure(7.6, 3.4)
        draw_series(fig.add_subplot(), series, cats, time_h)
        return _png(fig)


def category_codes(cats: Categories, cell_type: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Category code (1 + index into cats.pairs) of each cell of an agent table."""
    offsets = np.cumsum([0] + [len(cats.states[t]) for t in cats.types])[:-1]
    return offsets[np.asarray(cell_type, dtype=np.int64)] + np.asarray(state, dtype=np.int64) + 1


def subsample(codes: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most max_points cells, sorted: rare categories (the immune cells among
    thousands of tumor cells) are kept whole, the budget left is shared among the common ones.
    Deterministic, so a picture does not flicker between redraws."""
    if len(codes) <= max_points:
        return np.arange(len(codes))
    values, counts = np.unique(codes, return_counts=True)
    keep, budget = [], max_points
    for k, (value, count) in enumerate(sorted(zip(values, counts), key=lambda vc: vc[1])):
        share = budget // (len(values) - k)
        members = np.flatnonzero(codes == value)
        if count > share:
            members = members[np.linspace(0, count - 1, share).astype(np.int64)]
        keep.append(members)
        budget -= len(members)
    return np.sort(np.concatenate(keep))


def cells3d_png(cats: Categories, cells: dict, shape, dx_um: float, axis: int, index: int, title: str) -> bytes:
    """Occupied sites of a 3D run as points coloured by type and state (subsampled), with the
    outline of the plane shown in the 2D panels."""
    codes = category_codes(cats, cells["cell_type"], cells["state"])
    keep = subsample(codes, MAX_POINTS_3D)
    xyz = (np.array(np.unravel_index(cells["site"][keep], shape), dtype=float) + 0.5) * dx_um / 1000
    palette = np.array(cats.colours)
    with _draw_lock:
        fig = _figure(5.4, 4.4)
        ax = fig.add_subplot(projection="3d")
        if len(keep):
            ax.scatter(*xyz, c=palette[codes[keep] - 1], s=3, depthshade=False, linewidths=0)
        _plane_outline(ax, shape, dx_um, axis, index)
        extent = [n * dx_um / 1000 for n in shape]
        ax.set(xlim=(0, extent[0]), ylim=(0, extent[1]), zlim=(0, extent[2]),
               xlabel="x (mm)", ylabel="y (mm)", zlabel="z (mm)")
        ax.set_box_aspect(extent)
        shown = f" ({len(keep):,} of {len(codes):,} cells)" if len(keep) < len(codes) else ""
        ax.set_title(title + shown, fontsize=10)
        return _png(fig)


def _plane_outline(ax, shape, dx_um: float, axis: int, index: int) -> None:
    mm = [n * dx_um / 1000 for n in shape]
    at = (index + 0.5) * dx_um / 1000
    corners = [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]
    u, v = [a for a in range(3) if a != axis]
    points = np.zeros((3, len(corners)))
    points[axis] = at
    points[u] = [c[0] * mm[u] for c in corners]
    points[v] = [c[1] * mm[v] for c in corners]
    ax.plot(*points, color="0.3", lw=0.8, ls="--", label=f"plane {AXIS_NAMES[axis]} = {index}")
