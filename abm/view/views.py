"""The run viewer's interactive views (plotly figures in the page, as solara.FigurePlotly): a run's
lattice and field with hover details, its cells in 3D, its download buttons, and the populations
of every run shown on one plot.

Figures are memoised on what they show (solara.use_memo), so a hover, which re-renders only the
hover text, sends nothing again to the browser. CSS classes abm-* mark the parts that the
browser test (tests/test_view_browser.py) finds.
"""
from __future__ import annotations

import functools

import plotly.graph_objects as go
import solara

from ..errors import AbmError
from ..viz.plot import Categories, cell_counts, plane_label
from . import data, exports, figures, hover
from .lattice_image import LegendEntry
from .legend import Legend

HOVER_HINT = "point at the lattice or the field: the site's cell and field values show here"
# plotly.js options: the scroll wheel zooms (drag: box zoom or pan, double-click: back); no logo.
PLOTLY_CONFIG = {"scrollZoom": True, "displaylogo": False}


class _FigureWidget(go.FigureWidget):
    """plotly's widget with PLOTLY_CONFIG: its constructor takes no config, and the browser reads
    it once, when it first draws the figure (set here, it reaches the browser before that)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._config = dict(PLOTLY_CONFIG)


# What the user did to a figure (zoom, pan, rotation: plotly.js reports it back to the widget),
# carried into the next figure of the same view, e.g. the next time of the same plane.
KEPT = ("xaxis.range", "yaxis.range", "xaxis2.range", "yaxis2.range", "scene.camera")


@solara.component
def Plotly(fig: go.Figure, dependencies: list, on_hover=None, view=None):
    """`fig` in the page, redrawn when `dependencies` change (as solara.FigurePlotly, with
    PLOTLY_CONFIG); on_hover(event) gets plotly's hover events. While `view` stays the same, a
    redrawn figure keeps the user's zoom, pan and camera."""
    shown_view = solara.use_ref(None)

    def on_points(event):
        if on_hover is not None and event and event.get("event_type") == "plotly_hover":
            on_hover(event)

    element = _FigureWidget.element(on__js2py_pointsCallback=on_points)

    def update():
        widget = solara.get_widget(element)
        layout = go.Layout(fig.layout)  # a copy: the memoised figure is shared
        if view is not None and shown_view.current == view:
            for path in KEPT:
                value = _get(widget.layout, path)
                empty = value is None or (hasattr(value, "to_plotly_json") and not value.to_plotly_json())
                if not empty and _get(layout, path.rsplit(".", 1)[0]) is not None:
                    layout[path.replace(".", "_")] = value
        shown_view.current = view
        widget.layout = layout
        before = len(widget.data)
        widget.add_traces(fig.data)
        widget.data = widget.data[before:]  # the new traces only: one message, no blank in between

    solara.use_effect(update, dependencies)
    return element


def _get(layout, path: str):
    node = layout
    for part in path.split("."):
        node = getattr(node, part, None) if node is not None else None
    return node


def plane_of(info: data.RunInfo, axis: int, index) -> tuple[int | None, int | None]:
    """(axis, index) of the plane shown: None, None for a 2D run; for 3D the index within its lattice."""
    if info.ndim == 2:
        return None, None
    return axis, data.clamp_index(info.shape, axis, index)


def colour_top(info: data.RunInfo, plane: dict, field: str, fixed_top: float | None) -> float:
    """Top of the field's colour scale: the fixed one where given, else this plane's maximum."""
    if fixed_top is not None:
        return fixed_top
    values = plane["fields"].get(field)
    return float(values.max()) if values is not None and values.size else 0.0


@solara.component
def FrameView(info: data.RunInfo, step: int, field: str | None, axis: int, index, fixed_top: float | None,
              stacked: bool, width_px: int):
    """The lattice plane and the field (zoom and pan together), the scale's range, and what is
    under the pointer."""
    p_axis, p_index = plane_of(info, axis, index)
    plane = data.read_plane(info.path, info.run_id, step, p_axis, p_index)
    field = field if field in plane["fields"] else None
    top = colour_top(info, plane, field, fixed_top) if field else 0.0
    units = plane["units"].get(field, "") if field else ""
    shown = [info.path, info.run_id, step, field, p_axis, p_index, top, stacked, width_px]
    cats = categories(info)
    fig = solara.use_memo(lambda: figures.frame_figure(cats, plane, info.dx_um, info.ndim, field, units, top,
                                                       stacked, width_px), dependencies=shown)
    site, set_site = solara.use_state(None)

    def on_hover(event):
        point = hover.point_of(event)
        set_site(None if point is None else hover.site_under(info, p_axis, p_index, *point))

    where = plane_label(info.ndim, p_axis, p_index, info.shape)
    if where:
        solara.Div(children=[f"plane {where}"], classes=["abm-plane-label"])
    with solara.Div(classes=["abm-frame"]):
        Plotly(fig, shown, on_hover, view=(info.path, field, p_axis, p_index, stacked))
    if field:
        scale = f"0 to {top:.4g} {units}".rstrip() if top > 0 else "zero everywhere"
        how = "fixed: every time of every run shown" if fixed_top is not None else "this frame's own maximum"
        solara.Div(children=[f"{field}: colour scale {scale} ({how})"], classes=["abm-field-scale"],
                   style={"font-size": "12px", "color": "#555"})
    HoverText(info, step, p_axis, p_index, site)
    row = data.series_row(info.series, step)
    counts = cell_counts(cats, row, cats.codes(plane["cell_type"], plane["cell_state"]))
    Legend([LegendEntry(cats.label(i), cats.colours[i], n) for i, n in enumerate(counts) if n], classes="abm-legend")


@functools.lru_cache(maxsize=64)
def _categories(types: tuple, states: tuple) -> Categories:
    return Categories.of(list(types), {t: list(s) for t, s in states})


def categories(info: data.RunInfo) -> Categories:
    return _categories(tuple(info.types), tuple((t, tuple(s)) for t, s in info.states.items()))


@solara.component
def HoverText(info: data.RunInfo, step: int, axis, index, site):
    """The lines hover.describe makes for the site under the pointer, or a hint."""
    try:
        lines = [HOVER_HINT] if site is None else hover.describe(info, step, axis, index, site)
    except AbmError as problem:  # the file went away or was damaged since the page was drawn
        lines = [str(problem)]
    with solara.Column(classes=["abm-hover"], gap="0px",
                       style={"font-size": "12px", "min-height": "4.5em", "font-family": "monospace"}):
        for line in lines:
            solara.Text(line)


@solara.component
def Cells3D(info: data.RunInfo, step: int, axis: int, index, width_px: int):
    """The run's cells in 3D (WebGL: drag to rotate, scroll to zoom), the 2D panels' plane outlined."""
    p_axis, p_index = plane_of(info, axis, index)
    shown = [info.path, info.run_id, step, p_axis, p_index, width_px]
    cells = data.read_cells(info.path, info.run_id, step)
    fig = solara.use_memo(lambda: figures.cells3d_figure(categories(info), cells, info.shape, info.dx_um, p_axis,
                                                         p_index, width_px), dependencies=shown)
    with solara.Div(classes=["abm-cells3d"]):
        Plotly(fig, shown, view=(info.path, p_axis, p_index))


@solara.component
def Exports(info: data.RunInfo, step: int, field: str | None, axis: int, index, fixed_top: float | None):
    """Download buttons: the frame shown (PNG), the time series (CSV), the run as a movie (GIF).
    The files are made on click; the callables are memoised so that a re-render (a hover, a
    poll) does not cancel a download being made."""
    p_axis, p_index = plane_of(info, axis, index)
    png = solara.use_memo(lambda: functools.partial(exports.frame_png, info, step, p_axis, p_index, field,
                                                    fixed_top or 0.0),
                          dependencies=[info.path, info.run_id, step, field, p_axis, p_index, fixed_top])
    csv = solara.use_memo(lambda: functools.partial(exports.series_csv, info), dependencies=[info.path, info.stamp])
    gif = solara.use_memo(lambda: functools.partial(exports.movie_gif, info, field, p_axis, p_index),
                          dependencies=[info.path, info.stamp, field, p_axis, p_index])
    with solara.Row(classes=["abm-exports"], style={"flex-wrap": "wrap", "gap": "6px", "margin-top": "6px"}):
        solara.FileDownload(png, exports.filename(info, f"step{step}", "png"), label="frame (PNG)",
                            mime_type="image/png")
        solara.FileDownload(csv, exports.filename(info, "timeseries", "csv"), label="time series (CSV)",
                            mime_type="text/csv")
        solara.FileDownload(gif, exports.filename(info, "movie", "gif"), label="movie (GIF)", mime_type="image/gif")


@solara.component
def Populations(infos: list, titles: list[str], time_h: float | None, width_px: int):
    """Every run's populations on one plot (a dash per run), the time shown marked."""
    shown = [tuple((info.path, info.stamp) for info in infos), tuple(titles), time_h, width_px]
    fig = solara.use_memo(lambda: figures.populations_figure(
        [(title, info.series, categories(info)) for info, title in zip(infos, titles)], time_h, width_px),
        dependencies=shown)
    with solara.Card(margin=0, classes=["abm-populations"]):
        Plotly(fig, shown)
