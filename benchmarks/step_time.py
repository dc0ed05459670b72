"""Time per step of one scenario after warm-up (the A/B of benchmarks/results/2026-11-29-cpu-ab-model-spec.txt).

    python benchmarks/step_time.py CONFIG STEPS WARMUP [KEY=VALUE ...]
"""
import gc
import sys
import time

import yaml

from abm import TissueModel

config, steps, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
overrides = {k: yaml.safe_load(v) for k, v in (a.split("=", 1) for a in sys.argv[4:])}
overrides.setdefault("time.duration_h", 1e5)
model = TissueModel(config, device="cpu", overrides=overrides)
model.run(warmup)
gc.freeze()
t = time.perf_counter(); model.run(steps); dt = time.perf_counter() - t
print(f"{1000 * dt / steps:.3f} ms/step cells={model.n_cells}")
