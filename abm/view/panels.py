"""Solara components of the run viewer: the controls, and one card per run (its views: views.py).

CSS classes named abm-* mark the parts that the browser test (tests/test_view_browser.py) finds.
"""
from __future__ import annotations

import solara

from ..errors import AbmError
from ..viz.plot import AXIS_NAMES
from . import data, views

NO_FIELD = "none"
FIXED, PER_FRAME = "fixed", "per frame"
PAGE_PX = 1360  # the page's width for figures: each run's figures get their share of it


def figure_px(columns: int) -> int:
    """Width of a run's figures with `columns` runs side by side (less the cards' padding)."""
    return (PAGE_PX - 16 * (columns - 1)) // columns - 34


@solara.component
def TimeControls(times: list[float], position: int, on_position, playing: solara.Reactive[bool]):
    """One slider over the snapshot times of every run shown (each run shows its nearest snapshot)."""
    last = max(len(times) - 1, 0)
    with solara.Row(style={"align-items": "center"}):
        solara.Button("pause" if playing.value else "play", icon_name="mdi-pause" if playing.value else "mdi-play",
                      on_click=lambda: playing.set(not playing.value), disabled=last == 0, classes=["abm-play"])
        with solara.Div(classes=["abm-time-slider"], style={"flex-grow": "1", "min-width": "300px"}):
            solara.SliderInt("time", value=position, min=0, max=last, on_value=on_position, thumb_label=False,
                             disabled=last == 0)
        text = f"t = {times[position]:.2f} h, snapshot time {position + 1} of {len(times)}" if times else \
            "no snapshots yet"
        solara.Text(text, classes=["abm-time-label"], style={"min-width": "18em"})


@solara.component
def PlaneControls(shapes: list[tuple[int, ...]], axis: solara.Reactive[int], index: solara.Reactive):
    """Which plane of the 3D runs the 2D panels show: normal to an axis, at an index (default: the middle)."""
    top = max(shape[axis.value] for shape in shapes) - 1
    shown = data.clamp_index(shapes[0], axis.value, index.value)
    with solara.Row(style={"align-items": "center"}):
        solara.Text("plane normal to")
        solara.ToggleButtonsSingle(value=AXIS_NAMES[axis.value], values=list(AXIS_NAMES),
                                   on_value=lambda name: (axis.set(AXIS_NAMES.index(name)), index.set(None)),
                                   classes=["abm-axis"])
        with solara.Div(classes=["abm-plane-index"], style={"flex-grow": "1", "min-width": "240px"}):
            solara.SliderInt(f"{AXIS_NAMES[axis.value]} index", value=shown, min=0, max=max(top, 0),
                             on_value=index.set)


@solara.component
def RunChooser(labels: list[str], shown: solara.Reactive[list[int]]):
    """Which of the runs given on the command line are shown side by side (indices into that list)."""
    solara.SelectMultiple("runs shown side by side", values=[labels[i] for i in shown.value], all_values=labels,
                          on_value=lambda chosen: shown.set([labels.index(c) for c in chosen] or shown.value[:1]),
                          classes=["abm-run-chooser"])


@solara.component
def ScaleToggle(per_frame: solara.Reactive[bool]):
    """The field's colour scale: fixed (one top for every time of every run shown) or per frame."""
    with solara.Row(style={"align-items": "center"}):
        solara.Text("colour scale")
        solara.ToggleButtonsSingle(value=PER_FRAME if per_frame.value else FIXED, values=[FIXED, PER_FRAME],
                                   on_value=lambda chosen: per_frame.set(chosen == PER_FRAME), classes=["abm-scale"])


@solara.component
def RunCard(info: data.RunInfo | None, error: str | None, label: str, time_h: float | None, field: str,
            axis: int, index, show3d: bool, fixed_top: float | None, columns: int):
    """One run at the snapshot nearest to time_h (None: its last), titled by its arm: lattice and
    field, hover details, legend, 3D view, downloads, config and provenance."""
    with solara.Card(classes=["abm-run"], margin=0):
        solara.Div(children=[info.title if info is not None else label], classes=["abm-run-title"],
                   style={"font-weight": "bold", "font-size": "16px"})
        solara.Div(children=[label], classes=["abm-run-file"], style={"font-size": "12px", "color": "#666"})
        if error is not None or info is None:
            solara.Error(error or "not read yet", classes=["abm-run-error"])
            return
        if not info.steps:
            solara.Warning("no snapshot written yet")
            return
        step, t = snapshot_at(info, time_h)
        a = info.attrs
        status = "" if a.get("completed") else \
            f", {a.get('status')} (step {a.get('steps_done')} of {a.get('steps_planned')})"
        solara.Div(children=[f"step {step}, t = {t:.2f} h{status}"], classes=["abm-step-label"])
        field = field if field != NO_FIELD and field in info.fields else None
        try:
            views.FrameView(info, step, field, axis, index, fixed_top, stacked=columns > 1,
                            width_px=figure_px(columns))
            if info.ndim == 3 and show3d:
                views.Cells3D(info, step, axis, index, min(figure_px(columns), 760))
        except AbmError as problem:  # e.g. the file was damaged or replaced while shown
            solara.Error(str(problem), classes=["abm-run-error"])
        views.Exports(info, step, field, axis, index, fixed_top)
        Provenance(info)


def snapshot_at(info: data.RunInfo, time_h: float | None) -> tuple[int, float]:
    """(step, time) of the run's snapshot nearest to time_h; its last for None."""
    at = len(info.steps) - 1 if time_h is None else data.nearest(info.times, time_h)
    return info.steps[at], info.times[at]


def prefetch(info: data.RunInfo, time_h: float, axis: int, index, show3d: bool) -> None:
    """Read (into the shared caches) what a RunCard shows at time_h, without showing it."""
    if not info.steps:
        return
    step, _ = snapshot_at(info, time_h)
    p_axis, p_index = views.plane_of(info, axis, index)
    data.read_plane(info.path, info.run_id, step, p_axis, p_index)
    if info.ndim == 3 and show3d:
        data.read_cells(info.path, info.run_id, step)


@solara.component
def Provenance(info: data.RunInfo):
    rows = "\n".join(f"| {label} | {_cell(value)} |" for label, value in data.provenance(info))
    with solara.Details(summary="config and provenance"):
        with solara.Column(classes=["abm-provenance"]):
            solara.Markdown("| | |\n|---|---|\n" + rows)
            solara.Preformatted(str(info.attrs.get("config_yaml", "")), style_="font-size: 11px; max-height: 30em; "
                                                                               "overflow: auto;")


def _cell(value: str) -> str:
    """A value as Markdown table text: '|' would end the cell, and markup is not meant."""
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
