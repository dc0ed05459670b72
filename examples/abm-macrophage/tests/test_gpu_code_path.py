"""The plugin on tissue-abm's GPU code path, without a GPU: abm.testing compiles the CUDA kernels
for the CPU and runs the model's GPU arrays on NumPy, so this runs wherever g++ is. A plugin's
rules are array code on whatever `ctx.xp` is, so the GPU run must equal the CPU run bit for bit."""
from __future__ import annotations

from pathlib import Path

from abm import TissueModel
from abm.testing import assert_same_state, host_gpu, model_state  # noqa: F401 (host_gpu: a pytest fixture)

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "macrophage_organoid.yaml"
SMALL = {"lattice.shape": [40, 40], "time.duration_h": 3.0, "placement.0.count": 80, "placement.1.count": 12,
         "placement.2.count": 25, "interventions.macrophage_depletion": {"start_h": 2.0}}


def test_the_gpu_code_path_equals_the_cpu_bit_for_bit(host_gpu):
    runs = {}
    for device in ("cpu", "gpu"):
        model = TissueModel(str(CONFIG), device=device, seed=5, overrides=SMALL)
        assert model.backend.name == device
        model.run()
        runs[device] = model_state(model)
    assert runs["cpu"][3]["births"] > 0
    assert_same_state(runs["cpu"], runs["gpu"])
