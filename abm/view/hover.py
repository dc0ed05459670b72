"""What is under the pointer on the lattice view: the site, its cell (id, type, state, the agent
table's other columns) and every field's value there.

The browser sends only the pointer's position (plotly's hover event, through Solara); the text
is made here from the snapshot's cached plane and agent table, so the page carries no
per-site text, however large the lattice.
"""
from __future__ import annotations

import math

import numpy as np

from ..viz.plot import AXIS_NAMES, plane_axes
from . import data

SHOWN_ELSEWHERE = ("site", "cell_type", "state", "id")  # the type and state are named, the id leads


def site_under(info: data.RunInfo, axis: int | None, index: int | None, x_mm: float, y_mm: float):
    """Lattice coordinates (x, y[, z]) of the site at (x_mm, y_mm) of the plane shown, or None
    outside the lattice. axis, index: the plane of a 3D run (ignored in 2D)."""
    mm = info.dx_um / 1000
    h_axis, v_axis = plane_axes(info.ndim, axis)
    coords = [0] * info.ndim
    coords[h_axis], coords[v_axis] = math.floor(x_mm / mm), math.floor(y_mm / mm)
    if info.ndim == 3:
        coords[axis] = data.clamp_index(info.shape, axis, index)
    if not all(0 <= c < n for c, n in zip(coords, info.shape)):
        return None
    return tuple(coords)


def point_of(event) -> tuple[float, float] | None:
    """(x, y) in mm of a plotly hover event as Solara's FigurePlotly passes it, or None."""
    points = (event or {}).get("points") or {}
    xs, ys = points.get("xs") or [], points.get("ys") or []
    if not xs or not ys or xs[0] is None or ys[0] is None:
        return None
    return float(xs[0]), float(ys[0])


def describe(info: data.RunInfo, step: int, axis: int | None, index: int | None, coords) -> list[str]:
    """Lines saying what is at the site `coords` at the snapshot `step`."""
    mm = info.dx_um / 1000
    where = ", ".join(f"{AXIS_NAMES[a]} = {(c + 0.5) * mm:.3f}" for a, c in enumerate(coords))
    lines = [f"{where} mm (site {', '.join(map(str, coords))})"]
    lines.append(_cell(info, step, coords))
    plane_axis, plane_index = (None, None) if info.ndim == 2 else (axis, data.clamp_index(info.shape, axis, index))
    plane = data.read_plane(info.path, info.run_id, step, plane_axis, plane_index)
    h_axis, v_axis = plane_axes(info.ndim, axis)
    values = [f"{name} = {float(array[coords[h_axis], coords[v_axis]]):.4g} {info.fields.get(name, '')}".rstrip()
              for name, array in plane["fields"].items()]
    if values:
        lines.append("; ".join(values))
    return lines


def _cell(info: data.RunInfo, step: int, coords) -> str:
    agents = data.read_agents(info.path, info.run_id, step)
    site = int(np.ravel_multi_index(coords, info.shape))
    rows = np.flatnonzero(agents["site"] == site)
    if not len(rows):
        return "empty site"
    row = int(rows[0])
    t_code, s_code = int(agents["cell_type"][row]), int(agents["state"][row])
    t_name = info.types[t_code]
    states = info.states.get(t_name, [])
    state = states[s_code] if 0 <= s_code < len(states) else str(s_code)
    # the columns' names carry their units (state_age_min, ...), as in the file
    columns = [f"{name} {_number(agents[name][row])}" for name in sorted(agents) if name not in SHOWN_ELSEWHERE]
    head = f"{t_name} {state}" if len(states) > 1 else t_name
    return f"{head}, id {int(agents['id'][row])}" + (f": {', '.join(columns)}" if columns else "")


def _number(value) -> str:
    value = value.item() if hasattr(value, "item") else value
    return f"{value:.4g}" if isinstance(value, float) else str(value)
