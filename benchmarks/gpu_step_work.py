"""What one step of the GPU code path asks of the device, counted without a GPU.

    python benchmarks/gpu_step_work.py [--out FILE]

Runs scenarios on the GPU code path compiled for the host (abm/testing/cuda_host.py: the CUDA sources
built with g++) with arrays that stand for CuPy's and count (tests/host_syncs.py):
- host synchronisations per step, by kind (a device value read by Python, a boolean index,
  a data-sized result such as nonzero, a copy to the host);
- array operations per step: ufuncs, array functions, fancy indexing, raw kernels. Each is at
  least one kernel launch on a GPU, and CuPy spends some microseconds of host time on each
  whatever the array size, so their number bounds the steps per second at any tissue size;
- where they come from: syncs per source line, operations per source file (one more step).

The counts are properties of the code, not of a machine: they are the same on any host and
are what a GPU would execute. Writes JSON (default benchmarks/results/<date>-gpu-path-step-work.json).
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

SCENARIOS = [  # (label, config, arm, overrides)
    ("minimal rules", "configs/minimal_rules.yaml", None, {"lattice.shape": [60, 60]}),
    ("chan2020 organoid", "configs/chan2020_organoid.yaml", "healthy_nk", {}),
    ("correia2021 liver", "configs/correia2021_liver.yaml", "stellate_activation",
     {"lattice.shape": [40, 40], "interventions.stellate_activation.start_h": 0.0}),
    ("correia2021 liver 3D", "configs/correia2021_liver.yaml", "stellate_activation",
     {"lattice.shape": [24, 24, 24], "interventions.stellate_activation.start_h": 0.0}),
]
STEPS = 6


def _install_counting_gpu():
    import abm.kernels
    from abm.core import backend, model
    from host_syncs import COUNTING_CUPY, counting_launchers

    launchers = counting_launchers("_cuda")
    sys.modules["abm.kernels._cuda"] = launchers
    abm.kernels._cuda = launchers
    fake = backend.Backend("gpu", COUNTING_CUPY, "gpu code path on the host, counting")
    real = model.select_backend
    model.select_backend = lambda device: fake if device == "gpu" else real(device)


def _where(model) -> dict:
    """One more step, with where its syncs and operations come from (model source lines/files)."""
    import collections

    from host_syncs import Syncs, syncs_per_step

    Syncs.operation_sites = collections.Counter()
    try:
        syncs_per_step(model, 1)
        by_file = collections.Counter()
        for line, count in Syncs.operation_sites.items():
            by_file[line.rsplit(":", 1)[0]] += count
        return {"host_syncs_by_line": {f"{line} ({kind})": count for (kind, line), count in Syncs.sites.most_common()},
                "array_operations_by_file": dict(by_file.most_common())}
    finally:
        Syncs.operation_sites = None


def measure() -> list[dict]:
    from abm import TissueModel
    from host_syncs import syncs_per_step

    _install_counting_gpu()
    rows = []
    for label, config, arm, overrides in SCENARIOS:
        model = TissueModel(str(ROOT / config), device="gpu", arm=arm, seed=3, overrides=overrides)
        per_step = syncs_per_step(model, STEPS)[1:]  # the first step builds caches
        last = per_step[-1]
        rows.append({
            "scenario": label, "config": config, "arm": arm, "overrides": overrides,
            "agents": int(model.n_cells),
            "host_syncs_per_step": max(sum(v for k, v in s.items() if k != "operations") for s in per_step),
            "host_syncs_by_kind": {k: v for k, v in last.items() if k != "operations"},
            "array_operations_per_step": max(s["operations"] for s in per_step),
            **_where(model),
        })
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    today = datetime.date.today().isoformat()
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / f"{today}-gpu-path-step-work.json"))
    args = parser.parse_args(argv)
    rows = measure()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result = {"benchmark": "gpu_step_work", "date": today, "command": "python benchmarks/gpu_step_work.py",
              "git_commit": commit or None, "steps_counted": STEPS - 1, "scenarios": rows}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    for row in rows:
        print(f"{row['scenario']:30s} agents {row['agents']:6d}  host syncs/step "
              f"{row['host_syncs_per_step']:3d}  array operations/step {row['array_operations_per_step']:5d}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
