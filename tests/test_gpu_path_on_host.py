"""The GPU code path of the whole model, run on the CPU: every kernel dispatch goes to the CUDA
sources compiled for the host (abm/testing/cuda_host.py) instead of NumPy, and the run must equal the
NumPy run bit for bit. This checks what a GPU run would do (dispatch, launchers, kernels, the
model's array code on a non-NumPy backend) without a GPU; races and speed remain for the GPU."""
import types

import numpy as np
import pytest

from abm.testing import assert_same_state, host_gpu, model_state  # noqa: F401 (host_gpu: a pytest fixture)
from abm.testing.cuda_host import gxx_available

pytestmark = pytest.mark.skipif(not gxx_available(), reason="g++ not found: CUDA sources cannot be built for the host")


CASES = [
    ("configs/chan2020_organoid.yaml", "healthy_nk", {"time.duration_h": 6.0}),
    ("configs/szczerba2019_neutrophils.yaml", "neutrophil_clusters", {"time.duration_h": 8.0, "lattice.shape": [60, 60]}),
    ("configs/correia2021_liver.yaml", "stellate_activation",  # fast switching: NK cells enter and leave quiescence
     {"time.duration_h": 10.0, "lattice.shape": [40, 40], "interventions.stellate_activation.start_h": 0.0,
      "cells.nk.quiescence_switch_rate_per_h": 3.0}),
    ("configs/northwestern2025_clustering.yaml", "wild_type", {"time.duration_h": 8.0, "lattice.shape": [40, 40]}),
    ("configs/grammar_dormancy.yaml", "grammar", {"time.duration_h": 24.0}),  # grammar rules, NK conjugates
]


@pytest.mark.parametrize("config, arm, overrides", CASES, ids=[c[1] for c in CASES])
def test_gpu_code_path_equals_numpy_bit_for_bit(host_gpu, config, arm, overrides):
    from abm import TissueModel

    runs = {}
    for device in ("cpu", "gpu"):
        model = TissueModel(config, device=device, arm=arm, seed=3, overrides=overrides)
        assert model.backend.name == device
        model.run()
        runs[device] = model_state(model)
    assert runs["cpu"][3]["births"] + runs["cpu"][3]["moves"] > 0
    assert_same_state(runs["cpu"], runs["gpu"])


def test_a_plugins_scenario_on_the_gpu_code_path(host_gpu):
    """The example plugin (examples/abm-macrophage, installed by scripts/test.sh): its cell type,
    field, rules (one of them added to tumor cells) and therapy on the GPU code path, bit for bit."""
    pytest.importorskip("abm_macrophage")
    from abm import TissueModel
    from run_helpers import ROOT

    config = str(ROOT / "examples" / "abm-macrophage" / "configs" / "macrophage_organoid.yaml")
    values = {"time.duration_h": 3.0, "lattice.shape": [40, 40], "placement.0.count": 80, "placement.1.count": 12,
              "placement.2.count": 25, "placement.2.inner_radius_um": 110, "placement.2.outer_radius_um": 220,
              "cells.macrophage.kill_probability_per_contact": 0.5, "cells.macrophage.m1_polarisation_rate_per_h": 5.0,
              "interventions.ifng_therapy": {"production_per_min": 0.01},
              "interventions.macrophage_depletion": {"start_h": 2.0}}
    runs = {}
    for device in ("cpu", "gpu"):
        model = TissueModel(config, device=device, seed=5, overrides=values)
        model.run()
        runs[device] = model_state(model)
    macrophage = model.spec.type_code["macrophage"]
    assert not (runs["cpu"][0]["cell_type"] == macrophage).any()  # depleted at 2 h
    assert runs["cpu"][3]["kills"] > 0 and runs["cpu"][3]["births"] > 0
    assert_same_state(runs["cpu"], runs["gpu"])


class _FakeDevice:
    """The few CuPy device calls `abm bench` makes, answered for a host 'GPU'."""

    id = 0
    attributes = {"MemoryClockRate": 2_619_000, "GlobalMemoryBusWidth": 5120}  # H100-like, kHz and bits

    def synchronize(self):
        return None


class _FakePool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        return None


def test_bench_runs_its_gpu_code_path(host_gpu, monkeypatch, tmp_path):
    """`abm bench --device gpu` end to end on the GPU code path (tiny sizes): what the one-command
    GPU benchmark runs first on a real GPU; only its numbers need the real device."""
    import json

    from abm.core import backend as backend_module
    from abm.core import model as model_module
    from abm.cli import main

    fake = model_module.select_backend("gpu")
    fake.xp.cuda = types.SimpleNamespace(
        Device=_FakeDevice,
        runtime=types.SimpleNamespace(memGetInfo=lambda: (2**34, 2**34),
                                      getDeviceProperties=lambda _id: {"name": b"host", "memoryClockRate": 2_619_000,
                                                                       "memoryBusWidth": 5120}))
    fake.xp.get_default_memory_pool = lambda: _FakePool()
    monkeypatch.setattr(backend_module, "select_backend", lambda device="auto": fake if device == "gpu"
                        else backend_module.Backend("cpu", np, "cpu"))
    out = tmp_path / "gpu-bench.json"
    assert main(["bench", "--tiny", "--device", "gpu", "--no-mesa", "--out", str(out),
                 "--plot", str(tmp_path / "gpu-bench.png")]) == 0
    results = json.loads(out.read_text())
    text = json.dumps(results)
    assert results["minimal"]["rows"] and results["scenarios"]["rows"]
    assert "peak" in text
