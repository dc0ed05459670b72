"""A validation's per-run values read back from the `metrics.csv` its report wrote.

`abm validate --from-metrics FILE ...` judges the criteria on these values without the run files:
a report can then be written again (with today's criteria code and robustness screening), or
joined from validations made at different times, e.g. one study rerun after the others. Each
file's rows came from run files that `abm validate` measured; the report says which files it read
and their SHA-256, so the values can be traced.

The file is the inverse of report._write_metrics: one row per run, columns study, arm, seed,
ablated ("+"-joined rules of a negative control, empty otherwise), then the run's metrics; a metric
that the study's runs do not have is an empty cell (it is left out again here, not read as NaN).
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from ..errors import ConfigError

KEYS = ("study", "arm", "seed", "ablated")


def _value(text: str, path: Path, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{path}: line {line}, column {column}: {text!r} is not a number") from None


def read_metrics(paths) -> dict:
    """{(study, ablated rules): {arm: [metrics ...]}} in seed order, as runner.execute returns it.
    The same run (study, ablated, arm, seed) in two files is refused: which one counts would be a
    choice made after seeing both."""
    results: dict = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise ConfigError(f"{path}: no such metrics file")
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [k for k in KEYS if k not in (reader.fieldnames or [])]
            if missing:
                raise ConfigError(f"{path}: not a validation metrics.csv (no column {missing[0]!r})")
            for line, row in enumerate(reader, start=2):
                key = (row["study"], tuple(r for r in row["ablated"].split("+") if r))
                seed = int(_value(row["seed"], path, line, "seed"))
                run = {name: _value(text, path, line, name) for name, text in row.items()
                       if name not in KEYS and text != ""}
                by_seed = results.setdefault(key, {}).setdefault(row["arm"], {})
                if seed in by_seed:
                    raise ConfigError(f"{path}: line {line}: {row['study']} {row['arm']} seed {seed}"
                                      f"{' without ' + row['ablated'] if row['ablated'] else ''} appears twice")
                by_seed[seed] = {**run, "seed": seed}
    return {key: {arm: [by_seed[s] for s in sorted(by_seed)] for arm, by_seed in arms.items()}
            for key, arms in results.items()}


def describe(paths) -> list[str]:
    """One line per file read: its path, rows and SHA-256 (for the report)."""
    lines = []
    for path in map(Path, paths):
        data = path.read_bytes()
        rows = max(data.count(b"\n") - 1, 0)
        lines.append(f"- `{path}`: {rows} runs, SHA-256 `{hashlib.sha256(data).hexdigest()}`")
    return lines
