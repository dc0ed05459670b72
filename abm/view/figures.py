"""The viewer's interactive figures, drawn by plotly.js in the browser (WebGL for the 3D view):
zoom, pan, rotation and hover come with them. Pure functions of arrays -> plotly Figure.

The lattice is `lattice_rgb`'s image (the one colouring of cells, abm/view/lattice_image.py) and
the cells in 3D and the population curves take the same colours (abm/viz/colours.py), so a run
looks as it does in `abm plot` and `abm movie`. Lattice arrays are indexed [x, y(, z)] and drawn
with the first plane axis to the right and the second up, in mm, sites centred at (i + 0.5) dx.
`uirevision` keeps what the user did (zoom, pan, camera, legend clicks) when a figure is redrawn
for another time.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..viz.plot import AXIS_NAMES, Categories, plane_axes
from .lattice_image import lattice_rgb
from .render import category_codes, subsample

MAX_POINTS_3D = 12000  # cells drawn in the 3D view; more only blur into a cloud and slow the page
MAX_ROWS = 2000  # time-series rows per curve; a longer run is thinned evenly (its last row kept)
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")  # one per run, in order
FIELD_SCALE = "Viridis"  # matplotlib's viridis, as in `abm plot`
COLOUR_BAR_PX = 95  # the colour bar and its title, right of the field
FRAME = dict(showgrid=False, zeroline=False, showline=True, linecolor="#888888", mirror=True, ticks="outside")


def frame_figure(cats: Categories, plane: dict, dx_um: float, ndim: int, field: str | None = None,
                 units: str = "", top: float = 0.0, stacked: bool = False, width_px: int = 1300) -> go.Figure:
    """The lattice plane and (when `field`) the field beside it (below it when `stacked`), the
    field from 0 to `top`; zero everywhere (`top` 0): no colour bar, the title says so. The two
    panels zoom and pan together. width_px: the figure's width on the page."""
    h_axis, v_axis = plane_axes(ndim, plane["axis"])
    mm = dx_um / 1000
    n_h, n_v = plane["cell_type"].shape
    rows, cols = (1, 1) if field is None else ((2, 1) if stacked else (1, 2))
    titles = ["cells"] + ([] if field is None else [field + ("" if top > 0 else ": zero everywhere")])
    fig = make_subplots(rows, cols, subplot_titles=titles, horizontal_spacing=0.14, vertical_spacing=0.12)
    rgb = lattice_rgb(cats, plane["cell_type"], plane["cell_state"]).swapaxes(0, 1)  # rows: the vertical axis
    fig.add_trace(go.Image(source=png_source(rgb), x0=mm / 2, dx=mm, y0=mm / 2, dy=mm, name="cells",
                           hovertemplate="%{x:.3f}, %{y:.3f} mm<extra></extra>"), 1, 1)
    if field is not None:
        fig.add_trace(_field_trace(plane["fields"][field], field, units, top, mm, stacked),
                      *((2, 1) if stacked else (1, 2)))
    for k in range(1, rows * cols + 1):
        where = dict(row=(k - 1) // cols + 1, col=(k - 1) % cols + 1)
        fig.update_xaxes(title_text=f"{AXIS_NAMES[h_axis]} (mm)", range=[0, n_h * mm], constrain="domain", **FRAME,
                         **where, **({"matches": "x"} if k > 1 else {}))
        fig.update_yaxes(title_text=f"{AXIS_NAMES[v_axis]} (mm)", range=[0, n_v * mm], constrain="domain", **FRAME,
                         scaleanchor=f"x{k if k > 1 else ''}", **where, **({"matches": "y"} if k > 1 else {}))
    # Height for panels as wide as their share of the figure: equal-aspect panels then fill it,
    # and the colour bar (as tall as the field's panel) matches the panel.
    plot_w = width_px - 65 - (COLOUR_BAR_PX if field is not None else 0)
    panel_w = plot_w if cols == 1 else plot_w * (1 - 0.14) / 2
    panel_h = min(max(panel_w * n_v / max(n_h, 1), 120), 620)
    plot_h = panel_h if rows == 1 else 2 * panel_h / (1 - 0.12)
    fig.update_layout(width=width_px, height=int(plot_h + 85), margin=dict(l=55, r=10, t=40, b=45),
                      uirevision="frame", plot_bgcolor="white", dragmode="zoom", showlegend=False)
    return fig


def _field_trace(values: np.ndarray, field: str, units: str, top: float, mm: float, stacked: bool) -> go.Heatmap:
    """The field's [horizontal, vertical] plane from 0 to top, sites centred at (i + 0.5) mm."""
    centres_h, centres_v = (np.arange(values.shape[0]) + 0.5) * mm, (np.arange(values.shape[1]) + 0.5) * mm
    return go.Heatmap(z=_rounded(values.swapaxes(0, 1), top), x=centres_h, y=centres_v, zmin=0,
                      zmax=top if top > 0 else 1.0, colorscale=FIELD_SCALE, showscale=top > 0, name=field,
                      colorbar=_colour_bar(field, units, stacked),
                      hovertemplate=f"{field} = %{{z:.4g}} {units}<extra></extra>")


def png_source(rgb: np.ndarray) -> str:
    """An RGB image ([rows, columns, 3] uint8, row 0 drawn at the bottom) as a PNG data URL: the
    lattice's few flat colours compress to a few kB, where the pixel values themselves would
    reach the browser as megabytes of JSON on a large lattice."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _rounded(values: np.ndarray, top: float) -> np.ndarray:
    """The field to 5 significant digits of its scale's top (hover shows 4): plotly sends a 2D
    array as JSON text, and a float32's full repr is three times as long."""
    scale = top if top > 0 else float(np.max(np.abs(values))) if values.size else 0.0
    digits = 5 - int(np.floor(np.log10(scale))) if scale > 0 else 5
    return np.round(values.astype(np.float64), max(digits, 0))


def _colour_bar(field: str, units: str, stacked: bool) -> dict:
    where = dict(y=0.0, yanchor="bottom", len=0.45) if stacked else {}
    return dict(title=dict(text=f"{field} ({units})" if units else field, side="right"), thickness=14, **where)


def cells3d_figure(cats: Categories, cells: dict, shape, dx_um: float, axis: int, index: int,
                   width_px: int = 640) -> go.Figure:
    """Occupied sites of a 3D run as points coloured by type and state (subsampled, the rare
    categories whole), one legend entry per category, and the outline of the plane shown in 2D."""
    codes = category_codes(cats, cells["cell_type"], cells["state"])
    keep = subsample(codes, MAX_POINTS_3D)
    mm = dx_um / 1000
    xyz = (np.array(np.unravel_index(cells["site"][keep], shape), dtype=float).reshape(3, -1) + 0.5) * mm
    kept = codes[keep]
    fig = go.Figure()
    for i, colour in enumerate(cats.colours):
        chosen = kept == i + 1
        if chosen.any():
            label = cats.label(i)
            fig.add_trace(go.Scatter3d(x=xyz[0][chosen], y=xyz[1][chosen], z=xyz[2][chosen], mode="markers",
                                       marker=dict(size=2.5, color=colour), name=label,
                                       hovertemplate=f"{label}<br>%{{x:.3f}}, %{{y:.3f}}, %{{z:.3f}} mm"
                                                     "<extra></extra>"))
    fig.add_trace(_plane_outline(shape, mm, axis, index))
    extent = [n * mm for n in shape]
    scene = {f"{name}axis": dict(title=f"{name} (mm)", range=[0, extent[a]]) for a, name in enumerate(AXIS_NAMES)}
    biggest = max(extent)
    shown = f" ({len(keep):,} of {len(codes):,} cells)" if len(keep) < len(codes) else ""
    fig.update_layout(scene=dict(**scene, aspectmode="manual",
                                 aspectratio=dict(zip("xyz", (e / biggest for e in extent)))),
                      title=dict(text=f"cells in 3D{shown}", font=dict(size=13)), width=width_px, height=480,
                      margin=dict(l=0, r=0, t=36, b=0), uirevision="cells3d",
                      legend=dict(font=dict(size=10), itemsizing="constant"))
    return fig


def _plane_outline(shape, mm: float, axis: int, index: int) -> go.Scatter3d:
    corners = [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]
    u, v = [a for a in range(3) if a != axis]
    points = np.zeros((3, len(corners)))
    points[axis] = (index + 0.5) * mm
    points[u] = [c[0] * shape[u] * mm for c in corners]
    points[v] = [c[1] * shape[v] * mm for c in corners]
    return go.Scatter3d(x=points[0], y=points[1], z=points[2], mode="lines", hoverinfo="skip",
                        line=dict(color="#555555", width=3, dash="dash"), name=f"plane {AXIS_NAMES[axis]} = {index}")


def populations_figure(runs: list[tuple[str, object, Categories]], time_h: float | None,
                       width_px: int = 1300) -> go.Figure:
    """Cells of each type and state over time for every run (title, time series, categories): one
    colour per category, one dash per run, grouped by run in the legend; the time shown dashed."""
    fig, lows, highs = go.Figure(), [], []
    for r, (title, series, cats) in enumerate(runs):
        rows = _thinned(series)
        for i, (t_name, s_name) in enumerate(cats.pairs):
            column = f"{t_name}.{s_name}"
            if column not in rows or not rows[column].max() > 0:
                continue
            label = cats.label(i)
            fig.add_trace(go.Scatter(x=rows["time_h"], y=rows[column], mode="lines", name=label,
                                     line=dict(color=cats.colours[i], dash=DASHES[r % len(DASHES)], width=1.8),
                                     legendgroup=str(r), legendgrouptitle_text=title,
                                     hovertemplate=f"{title}: {label}<br>%{{x:.2f}} h: %{{y:,}} cells<extra></extra>"))
            highs.append(float(rows[column].max()))
            lows.append(float(rows[column][rows[column] > 0].min()))
    if time_h is not None:
        fig.add_vline(x=time_h, line=dict(color="#808080", width=1, dash="dash"))
    log = bool(highs) and max(highs) / max(min(lows), 1.0) > 30
    fig.update_layout(width=width_px, height=400, margin=dict(l=60, r=10, t=36, b=45), uirevision="populations",
                      title=dict(text="population by cell type and state", font=dict(size=13)),
                      xaxis_title="time (h)", yaxis=dict(title="cells (log scale)" if log else "cells",
                                                         type="log" if log else "linear",
                                                         **({"dtick": "D2"} if log else {})),
                      legend=dict(font=dict(size=10), groupclick="toggleitem"), plot_bgcolor="white")
    fig.update_xaxes(showgrid=True, gridcolor="#e5e5e5")
    fig.update_yaxes(showgrid=True, gridcolor="#e5e5e5")
    return fig


def _thinned(series):
    if len(series) <= MAX_ROWS:
        return series
    every = -(-len(series) // MAX_ROWS)
    picked = list(range(0, len(series), every))
    return series.iloc[picked + ([len(series) - 1] if picked[-1] != len(series) - 1 else [])]
