"""The GPU fused step of the minimal rule set (abm/fused_gpu.py, kernels/fused_minimal*.cu) on the
CPU: the CUDA kernels compiled with g++ (abm/testing/cuda_host.py), the model on a stand-in for CuPy,
against the CPU run (abm/fused.py's FusedMinimalStep, or the general step without numba) bit
for bit: every column, the lattice, the tallies of every step and the DataCollector frames.

The harness runs a kernel's threads one after another, so it checks the arithmetic, the
launchers and the order of the kernels, not races: those are argued in the .cu files (and
tests/test_gpu.py runs them on a real GPU). A mutation test shows the comparison would catch a
wrong kill key, site-claim key or daughters' order.
"""
import sys

import numpy as np
import pytest

from abm.testing.cuda_host import gxx_available, host_launchers, host_module
from run_helpers import ROOT, assert_same_state, model_state
from abm.testing import HostArrayModule

pytestmark = pytest.mark.skipif(not gxx_available(), reason="g++ not found: CUDA sources cannot be built for the host")

MINIMAL = str(ROOT / "configs" / "minimal_rules.yaml")
FEATURES = {  # receptor education, ligand clustering, caspase+ duration, anoikis (as tests/test_fused.py)
    "cells.nk.inhibitory_receptor_gain_per_contact": 0.3, "cells.nk.exposed_threshold": 0.8,
    "cells.tumor.activating_ligand_cluster_loss": 0.5, "cells.tumor.inhibitory_ligand_cluster_gain": 0.7,
    "cells.tumor.caspase_duration_min": 30.0, "cells.tumor.isolated_death_rate_per_h": 0.2,
    "cells.nk.kill_probability_per_contact": 0.4,
}
# Crowded and eventful: several NK cells on one victim, several mothers per step, contested targets.
BUSY = {"cells.nk.kill_probability_per_contact": 0.9, "cells.tumor.division_rate_per_h": 1.0,
        "placement.0.density_per_mm3": 50000, "placement.1.density_per_mm3": 15000}


@pytest.fixture
def launch(monkeypatch):
    """The GPU backend on the host, with models on it running FusedMinimalStepGPU; returns the
    host-compiled kernels/fused_minimal_cuda.py."""
    import abm.kernels
    from abm import backend, model
    fused = host_module("fused_minimal_cuda")
    for name, module in (("_cuda", host_launchers()), ("fused_minimal_cuda", fused)):
        monkeypatch.setitem(sys.modules, f"abm.kernels.{name}", module)
        monkeypatch.setattr(abm.kernels, name, module, raising=False)
    fake = backend.Backend("gpu", HostArrayModule("cupy_on_host"), "gpu code path on the host (g++)")
    real_backend = model.select_backend
    monkeypatch.setattr(model, "select_backend", lambda device: fake if device == "gpu" else real_backend(device))
    return fused


def overrides(shape, neighbourhood, check, extra):
    values = {"lattice.shape": list(shape), "lattice.neighbourhood": neighbourhood, "time.duration_h": 1e6,
              "debug.check_invariants": check, **extra}
    if len(shape) == 3:  # placement densities are per mm^2 of the first two axes: give counts in 3D
        values["placement"] = [{"pattern": "scatter", "cell_type": "tumor", "count": len(shape) * 150},
                               {"pattern": "scatter", "cell_type": "nk", "count": 60}]
    return values


def run(device, steps, seed, values):
    """(events of every step, model_state, DataCollector frame, occupancy, model) of one run."""
    from abm import TissueModel

    model = TissueModel(MINIMAL, device=device, seed=seed, overrides=values)
    events = []
    for _ in range(steps):
        model.step()
        events.append(dict(model.last_events))
    state = model_state(model)  # settles: both runs' slots are compacted, so occupancy compares
    return events, state, model.datacollector.get_model_vars_dataframe(), np.asarray(model.lattice.occupancy), model


def assert_same_run(cpu, gpu):
    for step, (a, b) in enumerate(zip(cpu[0], gpu[0]), start=1):
        assert a == b, f"step {step}: {a} != {b}"
    assert_same_state(cpu[1], gpu[1])
    assert cpu[2].equals(gpu[2])
    assert np.array_equal(cpu[3], gpu[3])


CASES = [  # shape, neighbourhood, features, check_invariants (settles every step), seed, steps
    ((40, 40), "moore", False, False, 1, 40),
    ((40, 40), "moore", True, False, 2, 40),
    ((40, 40), "von_neumann", True, True, 3, 30),
    ((12, 12, 10), "moore", True, False, 4, 25),
    ((10, 10, 10), "von_neumann", False, True, 5, 25),
]


@pytest.mark.parametrize("shape, neighbourhood, features, check, seed, steps", CASES,
                         ids=[f"{'x'.join(map(str, c[0]))}-{c[1]}-{'features' if c[2] else 'plain'}" for c in CASES])
def test_gpu_fused_step_equals_the_cpu_run(launch, shape, neighbourhood, features, check, seed, steps):
    from abm.fused_gpu import FusedMinimalStepGPU

    values = overrides(shape, neighbourhood, check, FEATURES if features else {})
    cpu = run("cpu", steps, seed, values)
    gpu = run("gpu", steps, seed, values)
    assert isinstance(gpu[4].fused_step, FusedMinimalStepGPU)
    assert_same_run(cpu, gpu)
    totals = cpu[4].totals
    assert all(totals[k] > 0 for k in ("births", "deaths", "kills", "moves")), totals


def test_checkpoint_of_a_gpu_fused_run_continues_exactly(launch, tmp_path):
    """A GPU checkpoint taken while dead cells wait as holes, resumed on the GPU: the same run as
    one straight, and as the CPU run."""
    from abm import TissueModel
    from abm.io import checkpoint as checkpoints

    values = overrides((40, 40), "moore", False, FEATURES)
    straight = TissueModel(MINIMAL, device="gpu", seed=8, overrides=values)
    straight.run(12)
    assert straight.fused_step.holes > 0  # the checkpoint must settle them
    saved = checkpoints.save(tmp_path / "x.checkpoint", checkpoints.capture(straight, "id"))
    resumed = checkpoints.build_model(checkpoints.load(saved), device="gpu")
    assert type(resumed.fused_step).__name__ == "FusedMinimalStepGPU" and resumed.steps == 12
    straight.run(15)
    resumed.run(15)
    cpu = TissueModel(MINIMAL, device="cpu", seed=8, overrides=values)
    cpu.run(27)
    assert_same_state(model_state(straight), model_state(resumed))
    assert_same_state(model_state(cpu), model_state(resumed))
    assert straight.totals["deaths"] > 0 and straight.totals["births"] > 0


def test_holes_wait_between_steps(launch):
    """Dead cells wait as holes between steps (compacted lazily), and the run still equals the
    CPU at every step. (That a step reads one array back, and nothing else waits for the device,
    is tests/test_host_syncs.py's.)"""
    from abm import TissueModel

    values = overrides((40, 40), "moore", False, FEATURES)
    cpu = TissueModel(MINIMAL, device="cpu", seed=6, overrides=values)
    gpu = TissueModel(MINIMAL, device="gpu", seed=6, overrides=values)
    holes_seen = 0
    for _ in range(30):
        cpu.step()
        gpu.step()
        holes_seen = max(holes_seen, gpu.fused_step.holes)
        assert gpu.n_cells == cpu.n_cells and gpu.last_events == cpu.last_events
    assert holes_seen > 0
    assert_same_state(model_state(cpu), model_state(gpu))


MUTATIONS = {  # plausible slips in fused_minimal*.cu: {what: [(text, replacement), ...]}
    "kill key from priority word 0 (claim and check alike)": [("step, id, 1)", "step, id, 0)"),
                                                              ("step, ids[i], 1)", "step, ids[i], 0)")],
    "site-claim key from priority word 1": [("step, ids[i], 0)", "step, ids[i], 1)")],
    "daughters in reverse slot order": [("const long long rank = rank_end[i] - 1;",
                                         "const long long rank = rank_end[n - 1] - rank_end[i];")],
}


def test_comparison_catches_wrong_claim_keys_and_daughter_order(launch):
    """A busy run equals the CPU; the same run with fused_minimal.cu mutated does not."""
    values = overrides((30, 30), "moore", False, BUSY)
    cpu = run("cpu", 12, 7, values)
    assert_same_run(cpu, run("gpu", 12, 7, values))
    source = launch.source
    original = source()
    try:
        for what, edits in MUTATIONS.items():
            mutated = original
            for text, replacement in edits:
                assert text in mutated, what
                mutated = mutated.replace(text, replacement)
            launch.source = lambda code=mutated: code
            _recompile(launch)
            gpu = run("gpu", 12, 7, values)
            with pytest.raises(AssertionError):
                assert_same_run(cpu, gpu)
    finally:
        launch.source = source
        _recompile(launch)


def _recompile(launch):
    launch._kernel.cache_clear()
    launch._module.cache_clear()


def test_eligibility(monkeypatch):
    """The GPU runs the fused step for the minimal rule set, numba or not, and the general step otherwise."""
    from abm import fastpath as fused
    from abm.config import load_config

    monkeypatch.setattr(fused._numba, "enabled", lambda: False)
    minimal, _ = load_config(MINIMAL)
    assert fused.why_not_fused(minimal, "gpu") is None
    assert "numba" in fused.why_not_fused(minimal, "cpu")
    default, _ = load_config(str(ROOT / "configs" / "default.yaml"))
    assert "fields" in fused.why_not_fused(default, "gpu")
    conjugating, _ = load_config(MINIMAL, {"cells.nk.conjugation_time_min": 30.0})
    assert "conjugation_time_min" in fused.why_not_fused(conjugating, "gpu")


def test_kernel_codes_agree_with_the_numba_kernels(launch):
    """The enums of fused_minimal.cu: the codes of kernels/fused_minimal.py, the stats layout
    and histogram size of the launchers."""
    import re

    from abm.kernels import fused_minimal as numba_kernels

    text = (ROOT / "kernels" / "fused_minimal.cu").read_text()
    enums = re.findall(r"enum\s*\w*\s*\{([^}]*)\}", text)
    named = dict(re.findall(r"(\w+)\s*=\s*(-?\d+)", " ".join(enums)))
    shared = {name: value for name, value in named.items() if hasattr(numba_kernels, name)}
    assert len(shared) >= 20, sorted(named)
    for name, value in shared.items():
        assert getattr(numba_kernels, name) == int(value), name
    stats = re.search(r"enum Stat\s*\{([^}]*)\}", re.sub(r"//[^\n]*", "", text))[1]
    assert [s.strip() for s in stats.split(",")] == [f"STAT_{s.upper()}" for s in launch.STATS] + ["STAT_HISTOGRAM"]
    assert int(named["MAX_BINS"]) == launch.MAX_BINS
