"""Reading a run: time series as a pandas DataFrame, snapshots as NumPy arrays, a summary."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..errors import OutputError
from .hdf5 import FORMAT


class Run:
    """An open run file (read-only). Use as a context manager or call close()."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise OutputError(f"{self.path}: no such run file")
        try:
            self.file = h5py.File(self.path, "r")
        except OSError as error:
            raise OutputError(f"{self.path}: not a readable HDF5 file ({str(error).splitlines()[0]})") from None
        if self.file.attrs.get("format") != FORMAT or "timeseries" not in self.file:
            self.file.close()
            raise OutputError(f"{self.path}: HDF5 file is not a tissue-abm run (no format attribute or time series)")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.file.close()

    @property
    def attrs(self) -> dict:
        return {key: (value.decode() if isinstance(value, bytes) else value) for key, value in self.file.attrs.items()}

    @property
    def completed(self) -> bool:
        return bool(self.file.attrs.get("completed", False))

    def timeseries(self):
        """One row per recorded step, one column per time-series dataset."""
        import pandas as pd

        group = self.file["timeseries"]
        n = min(group[name].shape[0] for name in group)
        frame = pd.DataFrame({name: group[name][:n] for name in group})
        ordered = ["step", "time_h"] + [c for c in frame.columns if c not in ("step", "time_h")]
        return frame[ordered]

    def snapshot_steps(self) -> list[int]:
        return sorted(int(name) for name in self.file.get("snapshots", {}))

    def snapshot(self, step: int | None = None) -> dict:
        """Arrays of one snapshot (default: the last): lattice cell_type/cell_state, fields, agents."""
        steps = self.snapshot_steps()
        if not steps:
            raise OutputError(f"{self.path}: run has no snapshots")
        if step is None:
            step = steps[-1]
        if step not in steps:
            raise OutputError(f"{self.path}: no snapshot at step {step} (snapshots: {steps[0]}..{steps[-1]})")
        group = self.file["snapshots"][f"{step:08d}"]
        return {
            "step": int(group.attrs["step"]),
            "time_h": float(group.attrs["time_h"]),
            "cell_type": group["lattice/cell_type"][...],
            "cell_state": group["lattice/cell_state"][...],
            "fields": {name: ds[...] for name, ds in group["fields"].items()},
            "agents": {name: ds[...] for name, ds in group["agents"].items()},
        }

    def cell_types(self) -> list[str]:
        return json.loads(self.attrs["cell_types"])

    def cell_states(self) -> dict[str, list[str]]:
        return json.loads(self.attrs["cell_states"])

    def summary(self) -> str:
        a = self.attrs
        shape = "x".join(str(int(n)) for n in np.asarray(a["lattice_shape"]))
        series = self.timeseries()
        lines = [
            f"run        {self.path}",
            f"name       {a.get('name')}   seed {a.get('seed')}   device {a.get('device')}",
            f"status     {a.get('status')}   completed {bool(a.get('completed'))}   "
            f"steps {a.get('steps_done')}/{a.get('steps_planned')}",
            f"lattice    {shape} sites, dx {a.get('dx_um')} um, {a.get('neighbourhood')}; dt {a.get('dt_min')} min",
            f"started    {a.get('start_time')}   ended {a.get('end_time') or '-'}",
            f"version    {a.get('package_version')}   commit {a.get('git_commit')}",
        ]
        if len(series):
            first, last = series.iloc[0], series.iloc[-1]
            counts = [c for c in series.columns if c in self.cell_types() or "." in c]
            lines.append(f"time       {first['time_h']:.2f} h -> {last['time_h']:.2f} h ({len(series)} rows)")
            for column in counts:
                lines.append(f"  {column:<28} {int(first[column]):>9} -> {int(last[column]):>9}")
            for event in ("births", "deaths", "kills"):
                if event in series:
                    lines.append(f"  total {event:<22} {int(series[event].sum()):>9}")
        steps = self.snapshot_steps()
        if steps:
            lines.append(f"snapshots  {len(steps)} (steps {steps[0]}..{steps[-1]}); fields: "
                         + ", ".join(self.file["snapshots"][f"{steps[-1]:08d}/fields"].keys()))
        return "\n".join(lines)


def open_run(path) -> Run:
    return Run(path)
