"""The sweep summary: one row per run (parameters, seed, status, error, wall time, device, output,
end-of-run metrics from the time series), written as summary.csv and summary.parquet."""
from __future__ import annotations

import json
import math
from numbers import Number
from pathlib import Path

PARAM = "param:"            # prefix of the swept-parameter columns
SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
BASE_COLUMNS = ["run", "arm", "seed", "status", "error", "wall_s", "device", "host", "output", "overrides"]
STATUSES = ("done", "skipped", "failed", "cancelled")


def run_metrics(path) -> dict:
    """Final counts per column (final_<column>), event totals (total_<event>), steps and time."""
    from ..io.reader import open_run

    with open_run(path) as run:
        series = run.timeseries()
        cell_types = set(run.cell_types)
    if not len(series):
        return {}
    last = series.iloc[-1]
    metrics = {"steps": int(last["step"]), "time_h": float(series.index[-1])}  # indexed by time_h
    for column in series.columns:
        if column == "step":
            continue
        if column in cell_types or "." in column:
            metrics[f"final_{column}"] = int(last[column])
        else:
            metrics[f"total_{column}"] = int(series[column].sum())
    return metrics


def safe_metrics(path) -> dict:
    """run_metrics, or {} when the file cannot be summarised (the run itself is still complete)."""
    try:
        return run_metrics(path)
    except Exception:  # noqa: BLE001 - a metric is never worth failing a finished run or the summary
        return {}


def _file_attrs(path) -> dict:
    import h5py

    out = {}
    try:
        with h5py.File(path, "r", locking="best-effort") as f:
            for key, name in (("device", "device"), ("sweep_wall_s", "wall_s"), ("sweep_host", "host")):
                if key in f.attrs:
                    value = f.attrs[key]
                    out[name] = value.decode() if isinstance(value, bytes) else value
    except OSError:
        pass
    return out


def build_table(sweep, records: dict):
    """records: stem -> dict (status, error, wall_s, device, host, output, metrics). Runs without a
    record are listed as cancelled. Completed runs without metrics (done earlier) are read from disk."""
    import pandas as pd

    rows = []
    for run in sweep.runs:
        record = dict(records.get(run.stem) or {"status": "cancelled", "error": "not run (sweep interrupted)"})
        metrics = record.pop("metrics", None) or {}
        if record.get("status") in ("done", "skipped") and Path(run.output).exists():
            if not metrics:
                metrics = safe_metrics(run.output)
            for key, value in _file_attrs(run.output).items():
                if not record.get(key) or (isinstance(record.get(key), float) and math.isnan(record[key])):
                    record[key] = value
        row = {"run": run.stem, "arm": run.arm, "seed": run.seed, "status": record.get("status", ""),
               "error": record.get("error", "") or "", "wall_s": _float(record.get("wall_s")),
               "device": str(record.get("device", "") or ""), "host": str(record.get("host", "") or ""),
               "output": str(record.get("output") or (run.output if record.get("status") in ("done", "skipped")
                                                      else "")),
               "overrides": json.dumps(run.overrides, sort_keys=True, default=str)}
        for key in sweep.swept_keys:
            row[PARAM + key] = run.params.get(key)
        row.update(metrics)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for key in sweep.swept_keys:
        frame[PARAM + key] = _column(frame[PARAM + key])
    return frame


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _column(series):
    """Numbers stay numbers, strings stay strings; anything else (lists, mixed) becomes JSON text."""
    values = list(series)
    if all(isinstance(v, Number) and not isinstance(v, bool) for v in values):
        return series.astype(float) if any(isinstance(v, float) for v in values) else series.astype("int64")
    if all(isinstance(v, (str, bool)) for v in values) and len({type(v) for v in values}) == 1:
        return series
    return series.map(lambda v: json.dumps(v, default=str))


def write_summary(folder, frame) -> tuple[Path, Path]:
    """summary.csv and summary.parquet in the sweep folder, each written atomically."""
    import os

    folder = Path(folder)
    csv_path, parquet_path = folder / SUMMARY_CSV, folder / SUMMARY_PARQUET
    for path, write in ((csv_path, lambda p: frame.to_csv(p, index=False)),
                        (parquet_path, lambda p: frame.to_parquet(p, index=False, engine="pyarrow"))):
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        write(tmp)
        os.replace(tmp, path)
    return csv_path, parquet_path


def read_summary(folder):
    """The summary table of a sweep folder (Parquet if present, else CSV)."""
    import pandas as pd

    from ..errors import OutputError

    folder = Path(folder)
    if not folder.is_dir():
        raise OutputError(f"{folder}: no such sweep folder")
    if (folder / SUMMARY_PARQUET).exists():
        return pd.read_parquet(folder / SUMMARY_PARQUET)
    if (folder / SUMMARY_CSV).exists():
        return pd.read_csv(folder / SUMMARY_CSV)
    raise OutputError(f"{folder}: no {SUMMARY_PARQUET} or {SUMMARY_CSV}; run `abm sweep` first")


def counts(frame) -> dict:
    return {status: int((frame["status"] == status).sum()) for status in STATUSES}
