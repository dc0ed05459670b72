"""The viewer's exports drawn with matplotlib (Agg): a snapshot as a PNG file, in `abm plot`'s
colours, legend and colour bars, with the field on the page's colour scale.

The page itself draws with plotly in the browser (figures.py); these are the files a user takes
away. Pure functions of arrays, pyplot-free except where abm/viz's movie code is used.
"""
from __future__ import annotations

import io
import threading

import numpy as np

from ..viz.plot import CellMarkers, Categories, cell_counts, draw_cell_legend, draw_plane, field_panel, field_title
from .lattice_image import lattice_rgb

DPI = 100
# matplotlib is not thread-safe (global font and text caches): every browser session works in its
# own thread, so drawing is serialised; a picture takes a fraction of a second.
draw_lock = threading.Lock()


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
    """Size (inches) of one plane drawn width_in wide with beside_in more for a legend or colour
    bar: as tall as the plane's aspect needs, so that a long thin lattice leaves no blank band."""
    across, up = plane_shape[0], plane_shape[1]
    # + room for the axis labels and title: with less, constrained layout lets an equal-aspect
    # plane grow past the figure's edges, cutting off its y label and the legend.
    return width_in + beside_in + 0.7, min(max(width_in * up / max(across, 1), 2.0), 6.0) + 0.8


def frame_png(cats: Categories, plane: dict, row, dx_um: float, ndim: int, title: str,
              field: str | None = None, units: str = "", top: float = 0.0) -> bytes:
    """The lattice plane coloured by type and state with a legend counting the cells (whole
    lattice from the time-series row where it has the step), and beside it the field from 0 to
    `top` (0: the plane's own maximum) with its colour bar."""
    codes = cats.codes(plane["cell_type"], plane["cell_state"])
    width, height = plane_size(codes.shape, 2.2)
    if field is not None:
        width += plane_size(codes.shape, 1.3)[0]
    with draw_lock:
        fig = _figure(width, height + 0.3)
        axes = fig.subplots(1, 2 if field is not None else 1, squeeze=False)[0]
        draw_plane(axes[0], lattice_rgb(cats, plane["cell_type"], plane["cell_state"]), dx_um, ndim, plane["axis"])
        axes[0].set_title("cells", fontsize=10)
        draw_cell_legend(axes[0], cats, cell_counts(cats, row, codes),
                         "cells (whole lattice)" if ndim == 3 else "cells")
        if field is not None:
            axes[1].set_title(field, fontsize=10)
            field_panel(fig, axes[1], plane["fields"][field], top, dx_um, ndim, plane["axis"],
                        field_title(field, units))
        fig.suptitle(title, fontsize=11)
        fig.canvas.draw()  # CellMarkers needs the final layout
        CellMarkers(axes[0], codes.shape[0], dx_um, cats.colours, DPI).update(codes)
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
