"""CPU time per cell-step of three scenarios, for an A/B of two versions of the package.

    python benchmarks/cpu_per_cell_step.py --versions BASE_DIR NEW_DIR [--rounds 3] [--threads N] [--out FILE]

Each case runs in a fresh process whose PYTHONPATH is one version's source tree (both versions
side by side, in one sitting, the versions alternating round by round so that a drift of the
machine's speed hits both). A case builds its model, takes WARMUP untimed steps (kernels compiled
or loaded from their caches), then times STEPS steps: the process's CPU time (user + system, all
threads: `time.process_time`) and wall time, divided by the steps and by the live cells (mean of
the counts at the start and the end of the timed steps; the versions' models differ in cell
numbers, hence per cell). Writes JSON with every round and the medians; prints a table.

--threads N sets NUMBA_NUM_THREADS for both versions. With 1 the CPU time is the work itself: with
more, it also counts the time threads spend waiting for each other, which on a machine shared with
other processes can be most of it (c7afe97's threads spin while they wait).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CASES = {  # label: (config, arm, lattice shape or None)
    "liver 64^3 (stellate activation)": ("configs/correia2021_liver.yaml", "stellate_activation", [64, 64, 64]),
    "liver 200x200 (stellate activation)": ("configs/correia2021_liver.yaml", "stellate_activation", [200, 200]),
    "default organoid": ("configs/default.yaml", None, None),
}
WARMUP, STEPS = 5, 40

CHILD = r"""
import json, sys, time
from abm import TissueModel
config, arm, shape, warmup, steps = json.loads(sys.argv[1])
overrides = {"lattice.shape": shape} if shape else {}
model = TissueModel(config, device="cpu", arm=arm, seed=1, overrides=overrides)
model.run(warmup)
before = model.n_cells
cpu, wall = time.process_time(), time.perf_counter()
model.run(steps)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
cells = (before + model.n_cells) / 2
print(json.dumps({"cells": cells, "cpu_s_per_step": cpu / steps, "wall_s_per_step": wall / steps,
                  "cpu_us_per_cell_step": 1e6 * cpu / steps / cells, "wall_us_per_cell_step": 1e6 * wall / steps / cells}))
"""


def run_case(version: Path, case, threads: int | None = None) -> dict:
    config, arm, shape = case
    env = {**os.environ, "PYTHONPATH": str(version), **({"NUMBA_NUM_THREADS": str(threads)} if threads else {})}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps([config, arm, shape, WARMUP, STEPS])], cwd=version,
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{version}: {config} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def commit_of(path: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True, text=True).stdout.strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs=2, required=True, metavar=("BASE", "NEW"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, help="NUMBA_NUM_THREADS of both versions (default: numba's)")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    versions = [Path(v).resolve() for v in args.versions]
    rounds = {label: {str(v): [] for v in versions} for label in CASES}
    for k in range(args.rounds):
        order = versions if k % 2 == 0 else versions[::-1]
        for label, case in CASES.items():
            for version in order:
                rounds[label][str(version)].append(run_case(version, case, args.threads))
    rows = []
    for label in CASES:
        base, new = (rounds[label][str(v)] for v in versions)
        median = {key: {str(v): statistics.median(r[key] for r in rounds[label][str(v)]) for v in versions}
                  for key in ("cells", "cpu_us_per_cell_step", "wall_us_per_cell_step")}
        ratio = statistics.median(n["cpu_us_per_cell_step"] / b["cpu_us_per_cell_step"] for b, n in zip(base, new))
        rows.append({"case": label, "median": median, "new_over_base_cpu_per_cell_step": ratio})
        print(f"{label:38s} cells {median['cells'][str(versions[0])]:8.0f} / {median['cells'][str(versions[1])]:8.0f}"
              f"  CPU us per cell-step {median['cpu_us_per_cell_step'][str(versions[0])]:7.3f} -> "
              f"{median['cpu_us_per_cell_step'][str(versions[1])]:7.3f}  new/base {ratio:5.2f}")
    result = {"benchmark": "cpu_per_cell_step", "date": datetime.date.today().isoformat(),
              "command": "python benchmarks/cpu_per_cell_step.py --versions BASE NEW"
                         + (f" --threads {args.threads}" if args.threads else ""),
              "numba_threads": args.threads or "numba's default (cores)",
              "versions": {"base": commit_of(versions[0]), "new": commit_of(versions[1])},
              "warmup_steps": WARMUP, "timed_steps": STEPS, "rounds": rounds, "rows": rows,
              "load_average": os.getloadavg()}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
