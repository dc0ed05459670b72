"""One figure of a run: lattice slice by cell type and state, each field, population time series.

`abm plot RUN.h5 [--step N] [--axis A --index I] [--out FILE.png]`. Lattice arrays are indexed
[x, y(, z)]; they are drawn with x to the right and y up (the arrays are transposed for imshow),
in millimetres. A 3D run shows the plane `index` (default: the middle) normal to `axis`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..io.reader import Run
from .colours import EMPTY_COLOUR, TYPE_COLOURS, category_colours  # noqa: F401 (TYPE_COLOURS: read from here too)

AXIS_NAMES = ("x", "y", "z")
FIELD_CMAP = "viridis"


@dataclass
class Categories:
    """(type, state) pairs of a run in code order, their colours, and the lattice -> category map."""

    pairs: list[tuple[str, str]]
    colours: list[str]
    types: list[str]
    states: dict[str, list[str]]

    @classmethod
    def of(cls, types: list[str], states: dict[str, list[str]]) -> "Categories":
        pairs = [(t_name, s_name) for t_name in types for s_name in states[t_name]]
        return cls(pairs, category_colours(types, states), types, states)

    def codes(self, cell_type: np.ndarray, cell_state: np.ndarray) -> np.ndarray:
        """0 for empty sites, 1 + index into pairs for occupied ones."""
        code = np.zeros(cell_type.shape, dtype=np.int16)
        flat = 1
        for t_code, t_name in enumerate(self.types):
            of_type = cell_type == t_code
            for s_code, _s_name in enumerate(self.states[t_name]):
                code[of_type & (cell_state == s_code)] = flat
                flat += 1
        return code

    def colormap(self):
        from matplotlib.colors import ListedColormap

        return ListedColormap([EMPTY_COLOUR] + self.colours)

    def label(self, index: int) -> str:
        t_name, s_name = self.pairs[index]
        return f"{t_name} {s_name}" if len(self.states[t_name]) > 1 else t_name


def plain_series(series):
    """The time series with 'step' and 'time_h' as its first columns and a plain row index, whether
    the reader gives them as columns or as the index (time_h)."""
    if "time_h" not in series.columns and "time_h" in (series.index.names or []):
        series = series.reset_index()
    first = [c for c in ("step", "time_h") if c in series.columns]
    return series[first + [c for c in series.columns if c not in first]].reset_index(drop=True)


def plane_axes(ndim: int, axis: int | None) -> tuple[int, int]:
    """Array axes shown horizontally and vertically: (0, 1) in 2D; the two axes other than `axis` in 3D."""
    if ndim == 2:
        return 0, 1
    rest = [a for a in range(3) if a != axis]
    return rest[0], rest[1]


def draw_plane(ax, plane: np.ndarray, dx_um: float, ndim: int, axis: int | None, **imshow):
    """imshow a [horizontal, vertical] array (or [horizontal, vertical, RGB]) with the first index to the
    right, in mm."""
    h_axis, v_axis = plane_axes(ndim, axis)
    extent = [0, plane.shape[0] * dx_um / 1000, 0, plane.shape[1] * dx_um / 1000]
    image = ax.imshow(plane.swapaxes(0, 1), origin="lower", extent=extent, interpolation="nearest", **imshow)
    ax.set_xlabel(f"{AXIS_NAMES[h_axis]} (mm)")
    ax.set_ylabel(f"{AXIS_NAMES[v_axis]} (mm)")
    return image


MIN_CELL_PX = 3.0  # a cell is drawn at least this many pixels wide


class CellMarkers:
    """On a large lattice a site is narrower than a pixel or two, and a lone immune cell would
    vanish: then every cell of the plane is also drawn as a square of MIN_CELL_PX pixels, the
    rarest categories on top. Call after the layout is fixed (fig.canvas.draw())."""

    def __init__(self, ax, n_sites_across: int, dx_um: float, colours: list[str], dpi: float):
        self.px_per_site = ax.get_window_extent().width / max(n_sites_across, 1)
        self.colours, self.dx_mm = colours, dx_um / 1000
        self.artist = None
        if self.px_per_site < MIN_CELL_PX:
            side_pt = MIN_CELL_PX * 72.0 / dpi
            ax.set_autoscale_on(False)
            self.artist = ax.scatter([], [], s=side_pt ** 2, marker="s", linewidths=0)

    def update(self, codes: np.ndarray) -> None:
        """codes: the [horizontal, vertical] plane of category codes (0 empty, 1.. categories)."""
        if self.artist is None:
            return
        h, v = np.nonzero(codes)
        values = codes[h, v]
        order = np.argsort(-np.bincount(values, minlength=len(self.colours) + 1)[values], kind="stable")
        h, v, values = h[order], v[order], values[order]  # most common category first, rarest on top
        self.artist.set_offsets(np.column_stack([(h + 0.5) * self.dx_mm, (v + 0.5) * self.dx_mm]))
        palette = np.array([EMPTY_COLOUR] + self.colours)
        self.artist.set_facecolors(palette[values] if len(values) else [])


def plane_label(ndim: int, axis: int | None, index: int | None, shape) -> str:
    if ndim == 2:
        return ""
    middle = " (mid-plane)" if index == shape[axis] // 2 else ""
    return f"{AXIS_NAMES[axis]} = {index} of {shape[axis]}{middle}"


def cell_counts(cats: Categories, row, codes: np.ndarray) -> list[int]:
    """Cells per category: from the time-series row of the snapshot's step (whole lattice) where it
    has the column, else counted on the plane of category codes."""
    counts = []
    for i, (t_name, s_name) in enumerate(cats.pairs):
        column = f"{t_name}.{s_name}"
        counts.append(int(row[column]) if row is not None and column in row else int(np.count_nonzero(codes == i + 1)))
    return counts


def draw_cell_legend(ax, cats: Categories, counts: list[int], title: str) -> None:
    """A legend beside the lattice: colour and count of each category present, or 'no cells'."""
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=cats.colours[i], edgecolor="0.3", label=f"{cats.label(i)}: {count:,}")
               for i, count in enumerate(counts) if count]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False,
                  title=title, title_fontsize=8, borderaxespad=0)
    else:
        ax.text(0.5, 0.5, "no cells", transform=ax.transAxes, ha="center", va="center", color="0.4")


def field_title(name: str, units: str) -> str:
    return f"{name} ({units})" if units else name


def colorbar(fig, image, ax, label: str):
    """A colour bar hugging the axes (an inset, so equal-aspect panels keep it beside them)."""
    cax = ax.inset_axes([1.04, 0.0, 0.05, 1.0])
    bar = fig.colorbar(image, cax=cax)
    bar.set_label(label)
    return bar


def field_top(values: np.ndarray) -> float:
    return float(np.max(values)) if values.size else 0.0


def field_panel(fig, ax, values: np.ndarray, top: float, dx_um: float, ndim: int, axis, label: str):
    """A field from 0 to `top` (0: its own maximum) with a colour bar in its units, or, where it is
    zero everywhere, a note instead of a colour bar (a scale from 0 to 0 says nothing)."""
    top = top or field_top(values)
    image = draw_plane(ax, values, dx_um, ndim, axis, cmap=FIELD_CMAP, vmin=0, vmax=top or 1.0)
    if top > 0:
        colorbar(fig, image, ax, label)
    else:
        ax.text(1.04, 0.5, f"{label}:\nzero everywhere", transform=ax.transAxes, va="center", fontsize=8,
                color="0.3")
    return image


@dataclass
class Plot:
    path: str
    size: tuple[int, int]  # width, height in pixels
    completed: bool  # whether the run was complete when it was read
    panels: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # name -> left, top, right, bottom


def _panel_boxes(fig, axes: dict) -> dict:
    fig.canvas.draw()
    height = fig.bbox.height
    boxes = {}
    for name, ax in axes.items():
        box = ax.get_window_extent()
        boxes[name] = (int(math.ceil(box.x0)), int(math.ceil(height - box.y1)),
                       int(math.floor(box.x1)), int(math.floor(height - box.y0)))
    return boxes


def plot_run(path, out, step=None, axis=2, index=None, dpi=100) -> Plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with Run(path) as run:  # read everything, then let go of the file (a live run may be writing it)
        snap = run.snapshot_slice(step, axis, index)
        series = plain_series(run.timeseries())
        types, states = run.cell_types, run.cell_states
        shape = run.lattice_shape
        attrs = run.attrs
        whole_counts = series[series["step"] == snap["step"]]
    dx = float(attrs["dx_um"])
    ndim = len(shape)
    cats = Categories.of(types, states)
    lattice = cats.codes(snap["cell_type"], snap["cell_state"])

    fields = list(snap["fields"].items())
    n_panels = 1 + len(fields)
    ncols = min(n_panels, 3)
    nrows = math.ceil(n_panels / ncols)
    fig = plt.figure(figsize=(4.6 * ncols + 1.6, 4.1 * nrows + 3.2), layout="constrained", dpi=dpi)
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[4.1] * nrows + [3.0])
    axes = {}

    ax = axes["lattice"] = fig.add_subplot(grid[0, 0])
    draw_plane(ax, lattice, dx, ndim, snap["axis"], cmap=cats.colormap(), vmin=-0.5,
               vmax=len(cats.pairs) + 0.5)
    where = plane_label(ndim, snap["axis"], snap["index"], shape)
    ax.set_title("cells" + (f", {where}" if where else ""))
    row = whole_counts.iloc[0] if len(whole_counts) else None
    draw_cell_legend(ax, cats, cell_counts(cats, row, lattice), "cells (whole lattice)" if ndim == 3 else "cells")

    for k, (fname, values) in enumerate(fields, start=1):
        ax = axes[f"field:{fname}"] = fig.add_subplot(grid[k // ncols, k % ncols])
        ax.set_title(fname + (f", {where}" if where else ""))
        field_panel(fig, ax, values, 0.0, dx, ndim, snap["axis"], field_title(fname, snap["units"].get(fname, "")))

    ax = axes["timeseries"] = fig.add_subplot(grid[nrows, :])
    draw_series(ax, series, cats, snap["time_h"])

    status = "" if attrs.get("completed") else f"   [{attrs.get('status', 'incomplete')}: step {attrs.get('steps_done')}" \
                                                f" of {attrs.get('steps_planned')}]"
    fig.suptitle(f"{attrs.get('name', '')}: step {snap['step']}, t = {snap['time_h']:.1f} h{status}", fontsize=12)
    fig.canvas.draw()  # the layout fixes the panel sizes that CellMarkers needs
    CellMarkers(axes["lattice"], lattice.shape[0], dx, cats.colours, dpi).update(lattice)
    panels = _panel_boxes(fig, axes)
    fig.savefig(out, dpi=dpi)
    size = tuple(int(v) for v in fig.canvas.get_width_height())
    plt.close(fig)
    return Plot(str(out), size, bool(attrs.get("completed")), panels)


def draw_series(ax, series, cats: Categories, time_h: float) -> None:
    """Populations by type and state over time, a dashed line at time_h (log scale when they differ a lot)."""
    plotted = []
    for i, (t_name, s_name) in enumerate(cats.pairs):
        column = f"{t_name}.{s_name}"
        if column in series and series[column].max() > 0:
            ax.plot(series["time_h"], series[column], color=cats.colours[i], lw=1.6, label=cats.label(i))
            plotted.append(series[column].max())
    ax.axvline(time_h, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("cells")
    ax.set_title("population by cell type and state")
    ax.grid(alpha=0.3)
    if len(series):
        ax.set_xlim(float(series["time_h"].iloc[0]), max(float(series["time_h"].iloc[-1]), 1e-9))
    if plotted and max(plotted) / max(min(plotted), 1) > 30:
        ax.set_yscale("log")
        ax.set_ylabel("cells (log scale)")
    elif plotted:
        ax.set_ylim(0, max(plotted) * 1.08)
    if plotted:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, borderaxespad=0)
