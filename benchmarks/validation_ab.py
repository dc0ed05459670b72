"""Two `abm validate` output folders made by two versions of the code: same results, and how long.

    python benchmarks/validation_ab.py BEFORE_DIR AFTER_DIR [--out FILE]

For every run file (`*.h5`) present in both folders, by its path inside the folder:
- its datasets are compared value for value, bit for bit (NaN equal to NaN); provenance attributes
  (commit, code hash, times, run id, paths) are not compared: they name the version and the moment;
- its wall time is read from its own attributes (end_time - start_time).

Per study (the first folder level, `chan2020@3d` its own), the JSON gives the runs compared, those
identical, the first differing datasets, and the summed run wall time of each version with the
commit that made it. A run's wall time depends on what else the machine ran meanwhile (the workers
beside it): the sums compare the versions only where the two folders were made the same way.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections import defaultdict
from pathlib import Path

import h5py
import numpy as np


def datasets(run: h5py.File) -> dict[str, h5py.Dataset]:
    found = {}
    run.visititems(lambda name, item: found.__setitem__(name, item) if isinstance(item, h5py.Dataset) else None)
    return found


def same_values(a: h5py.Dataset, b: h5py.Dataset) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    x, y = np.asarray(a[()]), np.asarray(b[()])
    if x.dtype.kind in "biufc":  # numbers: their bytes (NaN equals NaN, -0.0 differs from +0.0)
        return x.tobytes() == y.tobytes()
    return bool(np.array_equal(x, y))  # strings


def compare(before: Path, after: Path) -> tuple[list[str], dict]:
    """(names of the datasets that differ or exist in one file only, {'before'|'after': (wall s, commit)})."""
    with h5py.File(before, "r") as a, h5py.File(after, "r") as b:
        left, right = datasets(a), datasets(b)
        differing = sorted(set(left) ^ set(right))
        differing += [name for name in sorted(set(left) & set(right)) if not same_values(left[name], right[name])]
        times = {label: (_wall_s(f), str(f.attrs.get("git_commit", "")), bool(f.attrs.get("completed", False)))
                 for label, f in (("before", a), ("after", b))}
    return differing, times


def _wall_s(run: h5py.File) -> float:
    try:
        start, end = (datetime.datetime.fromisoformat(str(run.attrs[k])) for k in ("start_time", "end_time"))
    except (KeyError, ValueError):
        return float("nan")
    return (end - start).total_seconds()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    studies: dict = defaultdict(lambda: {"runs": 0, "identical": 0, "incomplete": 0, "differing": [],
                                         "wall_s": {"before": 0.0, "after": 0.0}, "commits": {"before": set(), "after": set()}})
    for path in sorted(args.before.rglob("*.h5")):
        relative = path.relative_to(args.before)
        counterpart = args.after / relative
        if not counterpart.is_file() or path.name.startswith("."):
            continue
        study = studies[relative.parts[0]]
        differing, times = compare(path, counterpart)
        if not (times["before"][2] and times["after"][2]):
            study["incomplete"] += 1  # a run cut short: neither compared nor timed
            continue
        study["runs"] += 1
        study["identical"] += not differing
        if differing and len(study["differing"]) < 20:
            study["differing"].append({"run": str(relative), "datasets": differing[:10]})
        for label in ("before", "after"):
            study["wall_s"][label] += times[label][0]
            study["commits"][label].add(times[label][1][:7])
    rows = {name: {**s, "commits": {k: sorted(v) for k, v in s["commits"].items()},
                   "wall_s": {k: round(v, 1) for k, v in s["wall_s"].items()}} for name, s in sorted(studies.items())}
    for name, s in rows.items():
        print(f"{name:22s} runs {s['runs']:4d}  identical {s['identical']:4d}  run wall s {s['wall_s']['before']:9.0f}"
              f" -> {s['wall_s']['after']:9.0f}  ({','.join(s['commits']['before'])} -> {','.join(s['commits']['after'])})")
    result = {"benchmark": "validation_ab", "date": datetime.date.today().isoformat(),
              "command": "python benchmarks/validation_ab.py BEFORE AFTER", "before": str(args.before),
              "after": str(args.after), "studies": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0 if all(s["identical"] == s["runs"] for s in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
