"""Spine benchmark: model steps/s, agent-updates/s and diffusion site-updates/s by lattice size.

Runs on the backend at hand (or --device) and writes JSON to benchmarks/results/.
A benchmark, not a test: numbers go to a file, nothing asserts on them.

    python benchmarks/spine.py                 # default sizes, auto backend
    python benchmarks/spine.py --quick         # smaller sizes (a minute on 2 cores)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from abm import TissueModel, __version__  # noqa: E402
from abm.backend import select_backend  # noqa: E402
from abm.io.hdf5 import git_commit  # noqa: E402
from abm.kernels.diffusion import DiffusionOperator  # noqa: E402


def synchronise(backend):
    if backend.name == "gpu":
        backend.xp.cuda.Device().synchronize()


def time_repeats(function, backend, min_seconds=1.0, min_repeats=3):
    function()  # warm-up (kernel compilation, caches)
    synchronise(backend)
    times = []
    start_all = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start_all < min_seconds:
        start = time.perf_counter()
        function()
        synchronise(backend)
        times.append(time.perf_counter() - start)
        if len(times) >= 200:
            break
    return float(np.median(times)), len(times)


def bench_diffusion(shape, backend):
    field = backend.xp.asarray(np.random.default_rng(0).random(shape, dtype=np.float32))
    operator = DiffusionOperator(shape, 20.0, 6.0, 600.0, 0.005)
    seconds, repeats = time_repeats(lambda: operator.step(field, xp=backend.xp), backend)
    sites = int(np.prod(shape))
    return {"shape": list(shape), "sites": sites, "seconds_per_step": seconds, "repeats": repeats,
            "site_updates_per_s": sites / seconds}


def bench_model(shape, backend, steps):
    sites = int(np.prod(shape))
    overrides = {
        "lattice.shape": list(shape),
        "placement": [{"pattern": "ball", "cell_type": "tumor", "count": sites // 10},
                      {"pattern": "scatter", "cell_type": "nk", "count": sites // 50}],
        "time.duration_h": 1e6,
    }
    model = TissueModel("configs/default.yaml", device=backend.name, overrides=overrides)
    model.run(2)  # warm-up
    synchronise(backend)
    agents_before = model.cells.n
    start = time.perf_counter()
    model.run(steps)
    synchronise(backend)
    seconds = time.perf_counter() - start
    mean_agents = (agents_before + model.cells.n) / 2
    return {"shape": list(shape), "sites": sites, "steps": steps, "agents": int(mean_agents),
            "steps_per_s": steps / seconds, "agent_updates_per_s": mean_agents * steps / seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", help="JSON path (default benchmarks/results/<date>-<device>-spine.json)")
    args = parser.parse_args(argv)
    backend = select_backend(args.device)
    gpu = backend.name == "gpu"
    if args.quick:
        model_shapes = [(64, 64), (128, 128), (16, 16, 16), (32, 32, 32)]
        diffusion_shapes = [(128, 128), (256, 256), (32, 32, 32), (64, 64, 64)]
    else:
        model_shapes = [(128, 128), (256, 256), (512, 512), (1024, 1024), (32, 32, 32), (64, 64, 64), (100, 100, 100)]
        diffusion_shapes = [(256, 256), (1024, 1024), (64, 64, 64), (100, 100, 100), (128, 128, 128), (256, 256, 256)]
        if gpu:
            model_shapes += [(2048, 2048), (4096, 4096), (128, 128, 128), (256, 256, 256)]
            diffusion_shapes += [(4096, 4096), (384, 384, 384), (512, 512, 512)]
    results = {
        "benchmark": "spine",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "device": backend.description,
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
                 "numpy": np.__version__},
        "package_version": __version__,
        "git_commit": git_commit(),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "diffusion": [],
        "model": [],
    }
    for shape in diffusion_shapes:
        row = bench_diffusion(shape, backend)
        results["diffusion"].append(row)
        print(f"diffusion {'x'.join(map(str, shape)):>12}: {row['site_updates_per_s']:.3e} site-updates/s", flush=True)
    for shape in model_shapes:
        row = bench_model(shape, backend, steps=20 if np.prod(shape) <= 2**20 else 5)
        results["model"].append(row)
        print(f"model     {'x'.join(map(str, shape)):>12}: {row['steps_per_s']:8.2f} steps/s, "
              f"{row['agent_updates_per_s']:.3e} agent-updates/s ({row['agents']} agents)", flush=True)
    stamp = dt.date.today().isoformat()
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"{stamp}-{backend.name}-spine.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
