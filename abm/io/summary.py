"""A run's summary (`abm info RUN.h5`, Run.summary()) and description (Run.describe()), read from an
open reader.Run with h5py and NumPy only (pandas alone takes ~0.4 s to import)."""
from __future__ import annotations

import json

from ..errors import OutputError


def summary(run) -> str:
    """The lines of `abm info` for an open reader.Run (the same text as Run.summary())."""
    from .checkpoint import checkpoint_path
    from .damage import one_line_errors as _one_line_errors, step_ranges as _ranges

    @_one_line_errors
    def lines_of(run) -> list[str]:
        a = run.attrs
        shape = "x".join(str(n) for n in run.lattice_shape)
        lines = [
            f"run        {run.path}",
            f"name       {a.get('name')}   seed {a.get('seed')}   device {a.get('device')}",
            f"status     {a.get('status')}   completed {bool(a.get('completed'))}   "
            f"steps {a.get('steps_done')}/{a.get('steps_planned')}",
            f"lattice    {shape} sites, dx {a.get('dx_um')} um, {a.get('neighbourhood')}; dt {a.get('dt_min')} min",
            f"started    {a.get('start_time')}   ended {a.get('end_time') or '-'}",
            f"version    {a.get('package_version')}   commit {a.get('git_commit')}",
        ]
        plugins, ablated = json.loads(a.get("plugins") or "{}"), json.loads(a.get("ablated") or "[]")
        if plugins or ablated:  # what shaped this model beyond the built-in rules
            lines.append(f"model      plugins {', '.join(f'{k} {v}' for k, v in plugins.items()) or 'none'}; "
                         f"ablated {', '.join(ablated) or 'none'}")
        resumes = json.loads(a.get("resumes") or "[]")
        if resumes:
            lines.append(f"resumed    {len(resumes)} time(s), last from step {resumes[-1].get('from_step')} "
                         f"at {resumes[-1].get('time')}")
        if not run.completed and checkpoint_path(run.path).exists():
            lines.append(f"checkpoint {checkpoint_path(run.path).name}: continue with abm run --resume {run.path}")
        lines += _series_lines(_timeseries(run), run.cell_types)
        steps = run.snapshot_steps
        if steps:
            lines.append(f"snapshots  {len(steps)} (steps {_ranges(steps)}); fields: "
                         + (", ".join(run.file["snapshots"][f"{steps[-1]:08d}/fields"].keys()) or "none"))
        return lines

    return "\n".join(lines_of(run))


def describe(run) -> str:
    """Run.__repr__: the file and its status, then what the run holds, a line each (lattice, steps
    and time written, snapshots, cell types, fields, arm if recorded). Never raises: a repr that
    fails would hide the Run in a notebook; a closed or unreadable file says so instead."""
    from .damage import READ_ERRORS, step_ranges as _ranges

    if not run.file:
        return f"<abm.Run {run.path}: closed>"
    try:
        shape, dx, attrs = run.lattice_shape, run.dx_um, run.attrs
        group = run.file["timeseries"]
        n = min((group[name].shape[0] for name in group), default=0)
        steps, types = run.snapshot_steps, run.cell_types
        fields = run.field_names if steps else []
        covered = (f"{int(group['step'][0])} to {int(group['step'][n - 1])} of {attrs.get('steps_planned')}, "
                   f"{group['time_h'][0]:.4g} to {group['time_h'][n - 1]:.4g} h") if n else "none written yet"
        lines = [f"<abm.Run {run.path}: {run.status}>",
                 f"lattice    {len(shape)}D, {' x '.join(str(k) for k in shape)} sites, dx {dx:g} um",
                 f"steps      {covered} (dt {attrs.get('dt_min', 0):g} min)",
                 f"snapshots  {len(steps)}" + (f" at steps {_ranges(steps)}" if steps else ""),
                 f"cell types {', '.join(types)}",
                 f"fields     {', '.join(fields) or 'none'}"]
        if run.arm is not None:
            lines.append(f"arm        {run.arm}")
    except (OutputError, *READ_ERRORS) as error:
        return f"<abm.Run {run.path}: cannot be read: {error}>"
    return "\n".join(lines)


def _timeseries(run) -> dict:
    """{column: 1-D array}, cut to the shortest column (a writer may be between appends), like
    Run.timeseries() but without pandas."""
    group = run.file["timeseries"]
    n = min((group[name].shape[0] for name in group), default=0)
    return {name: group[name][:n] for name in group}


def _series_lines(series: dict, cell_types: list[str]) -> list[str]:
    rows = len(series["step"]) if "step" in series else 0
    if not rows:
        return []
    counts = [c for c in series if c not in ("step", "time_h") and (c in cell_types or "." in c)]
    shown = [c for c in counts if series[c].max() > 0]
    time_h = series["time_h"]
    lines = [f"time       {time_h[0]:.2f} h -> {time_h[-1]:.2f} h ({rows} rows)"]
    for column in shown:
        lines.append(f"  {column:<28} {int(series[column][0]):>9} -> {int(series[column][-1]):>9}")
    if len(shown) < len(counts):
        lines.append(f"  ({len(counts) - len(shown)} other type and state columns are 0 throughout)")
    for event in ("births", "deaths", "kills"):
        if event in series:
            lines.append(f"  total {event:<22} {int(series[event].sum()):>9}")
    return lines
