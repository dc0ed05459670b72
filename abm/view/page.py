"""The run viewer's page (the Solara app that `abm view RUN ...` serves).

Runs are the read-only list resolved from the command line (abm.view.runs); the browser selects
among them by index. All UI state (time, field, colour scale, plane, runs shown, playing) is per
browser session: solara.use_reactive inside the component, never module globals. What the files
hold is read through abm.view.data and cached there for every session.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import solara

from ..errors import AbmError
from . import data, runs
from .panels import NO_FIELD, PAGE_PX, PlaneControls, RunCard, RunChooser, ScaleToggle, TimeControls, prefetch
from .views import Populations

RUNS = runs.from_env()
MAX_SHOWN = 4  # runs side by side at first (a sweep folder may hold hundreds; the chooser picks others)
POLL_S = 2.0  # how often the files are looked at for new snapshots (a stat, no read, when unchanged)
PLAY_S = 0.5  # seconds per snapshot while playing (longer when reading a snapshot takes longer)
CSS = """
.abm-time-slider .v-input, .abm-plane-index .v-input { margin-top: 0; }
.abm-frame, .abm-cells3d, .abm-populations { width: 100%; overflow-x: auto; }
"""


@dataclass
class Frame:
    """What the play thread needs of the page as last rendered: the timeline, and how to read a time."""

    times: list[float]
    infos: list
    view: tuple  # axis, index, show3d

    def draw(self, time_h: float) -> None:
        for info in self.infos:
            prefetch(info, time_h, *self.view)


def labels() -> list[str]:
    return [f"{i + 1}: {path.parent.name}/{path.name}" for i, path in enumerate(RUNS)]


def use_poll(paths: tuple) -> tuple | None:
    """(size, mtime) of each file, refreshed every POLL_S seconds in a thread: a new value re-renders
    the page, which then re-reads what changed (abm.view.data.info)."""
    def poll(cancel):
        last = None
        while True:
            now = tuple(data.stamp(path) for path in paths)
            if now != last:
                last = now
                yield now
            if cancel.wait(POLL_S):
                return
    return solara.use_thread(poll, dependencies=[paths], intrusive_cancel=False).value


def use_play(playing: solara.Reactive[bool], frame_ref, time_h: solara.Reactive):
    """While playing, show the next snapshot time every PLAY_S seconds, stopping at the last. Each frame's
    snapshots are read here first (into the shared caches): the page then shows it at once, instead of
    the time running ahead of reads that take longer than PLAY_S."""
    def play(cancel):
        if not playing.value:
            return
        first = frame_ref.current
        if first.times and (time_h.value is None or time_h.value >= first.times[-1]):
            first.draw(first.times[0])
            time_h.set(first.times[0])  # play from the start when at the end
        while True:
            started = time.monotonic()
            frame = frame_ref.current
            at = len(frame.times) - 1 if time_h.value is None else data.nearest(frame.times, time_h.value)
            if at + 1 >= len(frame.times):
                playing.set(False)
                return
            frame.draw(frame.times[at + 1])
            if cancel.wait(max(PLAY_S - (time.monotonic() - started), 0.05)):
                return
            last = at + 1 == len(frame.times) - 1
            time_h.set(None if last else frame.times[at + 1])  # at the end: follow a run still written
    solara.use_thread(play, dependencies=[playing.value], intrusive_cancel=False)


def load(indices) -> tuple[list, list]:
    """RunInfo (or None) and error text (or None) of each run shown."""
    infos, errors = [], []
    for i in indices:
        try:
            infos.append(data.info(RUNS[i]))
            errors.append(None)
        except AbmError as error:  # a file deleted, replaced or damaged while served
            infos.append(None)
            errors.append(str(error))
    return infos, errors


def fixed_top(infos: list, field: str, per_frame: bool) -> float | None:
    """The field's fixed colour-scale top (its maximum over every snapshot of every run shown),
    or None for per-frame scaling. Each snapshot's maximum is read once and cached (data.py)."""
    if per_frame or field == NO_FIELD:
        return None
    try:
        return max((data.field_maximum(info, field) for info in infos if field in info.fields), default=0.0)
    except AbmError:  # a file damaged since it was read: its card says so; scale per frame meanwhile
        return None


@solara.component
def Page():
    solara.Title("abm view")
    solara.Style(CSS)
    shown = solara.use_reactive(list(range(min(len(RUNS), MAX_SHOWN))))
    time_h = solara.use_reactive(None)  # hours; None: the latest snapshot, following a run being written
    field, axis, index = solara.use_reactive(None), solara.use_reactive(2), solara.use_reactive(None)
    show3d, playing, per_frame = solara.use_reactive(True), solara.use_reactive(False), solara.use_reactive(False)
    use_poll(tuple(RUNS[i] for i in shown.value))
    infos, errors = load(shown.value)
    found = [info for info in infos if info is not None]
    times = data.timeline(found)
    position = len(times) - 1 if time_h.value is None or not times else data.nearest(times, time_h.value)
    fields = sorted({name for info in found for name in info.fields})
    chosen = field.value if field.value in fields + [NO_FIELD] else (fields[0] if fields else NO_FIELD)
    frame_ref = solara.use_ref(None)
    frame_ref.current = Frame(times, found, (axis.value, index.value, show3d.value))
    use_play(playing, frame_ref, time_h)
    shapes = [info.shape for info in found if info.ndim == 3]
    names = labels()
    top = fixed_top(found, chosen, per_frame.value)
    columns = max(min(len(infos), 3), 1)
    with solara.Column(gap="10px", style={"padding": "8px", "min-width": f"{PAGE_PX + 16}px"}):
        with solara.Card(margin=0, classes=["abm-controls"]):
            TimeControls(times, position, lambda i: time_h.set(None if i >= len(times) - 1 else times[i]), playing)
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
                solara.Select("field", values=fields + [NO_FIELD], value=chosen, on_value=field.set,
                              classes=["abm-field-select"], style={"max-width": "16em"})
                ScaleToggle(per_frame)
                if shapes:
                    solara.Checkbox(label="3D view", value=show3d)
                if len(RUNS) > 1:
                    RunChooser(names, shown)
            if shapes:
                PlaneControls(shapes, axis, index)
        with solara.GridFixed(columns=columns):
            for i, info, error in zip(shown.value, infos, errors):
                RunCard(info, error, names[i], times[position] if times else None, chosen,
                        axis.value, index.value, show3d.value, top, columns)
        if found:
            Populations(found, [f"{i + 1}: {info.title}" for i, info in zip(shown.value, infos) if info is not None],
                        times[position] if times else None, PAGE_PX - 34)
