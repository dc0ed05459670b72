"""What the viewer reads from a run file, as plain values: pure functions and small caches.

Every read opens the file with abm.io.reader.Run, reads, and closes it at once, so a run that is
still being written is held up for a moment only (the writer waits for a reader's short session,
as readers wait for its). What a run file says is re-read only when its size or modification
time changed; snapshots never change once written, so they are cached by (file, run id, step).
"""
from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..io.reader import READ_ERRORS, Run
from ..viz.plot import plain_series


@dataclass(frozen=True, eq=False)
class RunInfo:
    """A run file as read at one moment: what it is, its snapshots, its time series."""

    path: Path
    stamp: tuple  # (size, mtime_ns) of the file when read
    run_id: str
    name: str
    shape: tuple[int, ...]
    dx_um: float
    types: list[str]
    states: dict[str, list[str]]
    steps: tuple[int, ...]  # snapshot steps, ascending
    times: tuple[float, ...]  # their times in hours
    fields: dict[str, str] = field(default_factory=dict)  # field name -> units
    attrs: dict = field(default_factory=dict)  # root attributes (config, provenance)
    series: object = None  # pandas DataFrame, one row per step

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def title(self) -> str:
        """What the run is among others shown: its study or sweep arm where the file records one
        (the reader's Run.arm), else its file name."""
        return str(self.attrs.get("arm") or self.attrs.get("sweep_arm") or self.path.stem)


def stamp(path) -> tuple | None:
    """(size, mtime_ns): changes whenever the writer writes; None when the file cannot be seen."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def read_info(path) -> RunInfo:
    with Run(path) as run:  # opened, read, closed: a live run's writer waits only for this
        attrs = run.attrs
        steps = tuple(run.snapshot_steps)
        groups = _read(run, lambda f: [f["snapshots"][f"{s:08d}"] for s in steps])
        times = _read(run, lambda f: tuple(float(g.attrs["time_h"]) for g in groups))
        fields = _read(run, lambda f: {name: _text(ds.attrs.get("units", "")) for name, ds in
                                       (groups[-1]["fields"].items() if groups else [])})
        return RunInfo(path=Path(path), stamp=stamp(path), run_id=str(attrs.get("run_id", "")),
                       name=str(attrs.get("name", Path(path).stem)), shape=run.lattice_shape,
                       dx_um=float(attrs["dx_um"]), types=list(run.cell_types),
                       states=dict(run.cell_states), steps=steps, times=times, fields=fields, attrs=attrs,
                       series=plain_series(run.timeseries()))


_infos: dict[Path, RunInfo] = {}
_infos_lock = threading.Lock()


def info(path) -> RunInfo:
    """The run's RunInfo, read again only when the file changed since the last read (any session)."""
    path = Path(path)
    with _infos_lock:  # one read per change, however many sessions look at the run
        known = _infos.get(path)
        if known is not None and known.stamp == stamp(path):
            return known
        fresh = read_info(path)
        _infos[path] = fresh
        return fresh


@functools.lru_cache(maxsize=256)
def read_plane(path: Path, run_id: str, step: int, axis: int | None, index: int | None) -> dict:
    """The lattice and fields of one snapshot in one plane (2D runs: the whole lattice). run_id is
    part of the cache key: a run written again under the same name is another run."""
    with Run(path) as run:
        return run.snapshot_slice(step, 2 if axis is None else axis, index)


@functools.lru_cache(maxsize=32)
def read_agents(path: Path, run_id: str, step: int) -> dict:
    """Every column of a snapshot's agent table (site, cell_type, state, id, ...): one row per
    cell, far smaller than a 3D lattice."""
    with Run(path) as run:
        if step not in run.snapshot_steps:
            raise OutputError(f"{path}: no snapshot at step {step}")
        return _read(run, lambda f: {name: ds[...] for name, ds in f["snapshots"][f"{step:08d}"]["agents"].items()})


def read_cells(path: Path, run_id: str, step: int) -> dict:
    """Site, type and state of every cell of a snapshot."""
    agents = read_agents(path, run_id, step)
    return {name: agents[name] for name in ("site", "cell_type", "state")}


_maxima: dict[tuple, float] = {}  # (path, run_id, field, step) -> the field's maximum: snapshots never change
_maxima_lock = threading.Lock()


def field_maximum(info: RunInfo, name: str) -> float:
    """The field's largest value over the whole lattice and every snapshot of the run (0 where
    it has none): the top of a colour scale that stays put in time. Each snapshot is read once
    (in one opening of the file), so a run being written costs only its new snapshots."""
    with _maxima_lock:
        todo = [s for s in info.steps if (info.path, info.run_id, name, s) not in _maxima]
        if todo:
            with Run(info.path) as run:
                for step in todo:
                    _maxima[(info.path, info.run_id, name, step)] = _read(run, lambda f: _top(f, step, name))
        return max((_maxima[(info.path, info.run_id, name, s)] for s in info.steps), default=0.0)


def _top(file, step: int, name: str) -> float:
    values = file["snapshots"][f"{step:08d}"]["fields"].get(name)
    return float(np.max(values[...])) if values is not None and values.size else 0.0


def _read(run: Run, what):
    """A read through the open h5py file, its errors one line like the reader's own."""
    try:
        return what(run.file)
    except READ_ERRORS as error:
        raise OutputError(f"{run.path}: damaged run file ({' '.join(str(error).split())})") from None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def timeline(infos: list[RunInfo]) -> list[float]:
    """Snapshot times of every run, merged: the positions of the one time slider (hours)."""
    return sorted({round(t, 9) for run in infos for t in run.times})


def nearest(times, t: float) -> int:
    """Index of the time in `times` (ascending) nearest to t; the earlier one on a tie."""
    if not len(times):
        raise ValueError("no snapshots")
    times = np.asarray(times, dtype=float)
    i = int(np.searchsorted(times, t))
    if i == 0:
        return 0
    if i == len(times):
        return len(times) - 1
    return i if times[i] - t < t - times[i - 1] else i - 1


def series_row(series, step: int):
    """The time-series row of a step (counts of the whole lattice), or None if not written yet."""
    rows = series[series["step"] == step]
    return rows.iloc[0] if len(rows) else None


def clamp_index(shape, axis: int, index: int | None) -> int:
    """A plane index valid for this lattice: the mid-plane for None, else index clipped to the lattice."""
    if index is None:
        return shape[axis] // 2
    return int(min(max(index, 0), shape[axis] - 1))


def provenance(info: RunInfo) -> list[tuple[str, str]]:
    """(label, value) pairs saying where the run comes from and what it is."""
    a = info.attrs
    config = _yaml(a.get("config_yaml", ""))
    rows = [("file", str(info.path)), ("name", info.name), ("status", str(a.get("status", ""))),
            ("steps", f"{a.get('steps_done')} of {a.get('steps_planned')}"),
            ("seed", str(a.get("seed", ""))), ("parameter set", str(config.get("parameter_set") or "none")),
            ("package version", str(a.get("package_version", ""))), ("git commit", str(a.get("git_commit", ""))),
            ("device", str(a.get("device", ""))),
            ("lattice", f"{'x'.join(map(str, info.shape))} sites, {info.dx_um:g} um, {a.get('neighbourhood', '')}"),
            ("time step", f"{a.get('dt_min')} min"), ("started", str(a.get("start_time", ""))),
            ("ended", str(a.get("end_time", "") or "-")), ("config file", str(a.get("config_source", "")))]
    for key in ("plugins", "ablated", "resumes", "placement_sources"):
        value = json.loads(a.get(key) or "null")
        if value:
            rows.append((key.replace("_", " "), json.dumps(value)))
    return rows


def _yaml(text: str) -> dict:
    import yaml

    try:
        loaded = yaml.safe_load(text) if text else {}
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
