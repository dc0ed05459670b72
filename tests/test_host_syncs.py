"""How often a step of the GPU code path would wait for the device, counted on the CPU
(tests/host_syncs.py explains the counting)."""
import sys

import numpy as np
import pytest

from abm.testing.cuda_host import gxx_available
from host_syncs import COUNTING_CUPY, Syncs, counting_launchers, syncs_per_step

pytestmark = pytest.mark.skipif(not gxx_available(), reason="g++ not found: CUDA sources cannot be built for the host")


@pytest.fixture
def counting_gpu(monkeypatch):
    """device='gpu' runs the GPU code path on the host with arrays that count syncs."""
    import abm.kernels
    from abm.core import backend, model

    launchers = counting_launchers("_cuda")
    monkeypatch.setitem(sys.modules, "abm.kernels._cuda", launchers)
    monkeypatch.setattr(abm.kernels, "_cuda", launchers, raising=False)
    fake = backend.Backend("gpu", COUNTING_CUPY, "gpu code path on the host, counting syncs")
    real = model.select_backend
    monkeypatch.setattr(model, "select_backend", lambda device: fake if device == "gpu" else real(device))


def test_the_counter_sees_what_cupy_would_wait_for():
    xp = COUNTING_CUPY
    a = xp.arange(10)
    Syncs.counts.clear()
    b = (a * 2 + 1)[a % 3]  # arithmetic and integer gathers stay on the device
    total = b.sum()
    assert not Syncs.counts
    assert int(total) == int(np.sum((np.arange(10) * 2 + 1)[np.arange(10) % 3]))
    assert Syncs.counts["scalar"] == 1  # int(total): a reduction gives a 0-d device array
    a[a > 4]
    xp.nonzero(a)
    if a[3] > 2:  # branching on a device value
        pass
    xp.asnumpy(a)
    assert dict(Syncs.counts) == {"scalar": 2, "boolean index": 1, "data-sized result": 1, "to host": 1}
    xp.bincount(a)  # CuPy reads back whether a code is negative, and the largest code
    assert Syncs.counts["scalar"] == 4


def test_the_counter_counts_kernels_not_views():
    xp = COUNTING_CUPY
    a = xp.arange(10)
    Syncs.counts.clear()
    Syncs.operations = 0
    xp.asarray(a), xp.ascontiguousarray(a), a.astype(a.dtype, copy=False), a.reshape(2, 5), a[2:]
    assert Syncs.operations == 0  # the same memory: no kernel in CuPy either
    a.astype(xp.float32), xp.flatnonzero(a), a + 1, a.sum(), a[a % 3]
    assert Syncs.operations == 6 and dict(Syncs.counts) == {"data-sized result": 1}


def _syncs(config, arm, overrides, steps=4):
    from abm import TissueModel

    model = TissueModel(config, device="gpu", arm=arm, seed=3, overrides=overrides)
    return [sum(v for kind, v in step.items() if kind != "operations") for step in syncs_per_step(model, steps)]


SCENARIOS = [
    ("configs/minimal_rules.yaml", None, {}),
    ("configs/chan2020_organoid.yaml", "healthy_nk", {}),
    ("configs/correia2021_liver.yaml", "stellate_activation", {"interventions.stellate_activation.start_h": 0.0}),
    ("configs/correia2021_liver.yaml", "stellate_activation", {"interventions.stellate_activation.start_h": 0.0,
                                                               "lattice.shape": [16, 16, 16]}),
]


@pytest.mark.parametrize("config, arm, overrides", SCENARIOS[:1] + SCENARIOS[2:3], ids=["minimal rules", "liver"])
def test_general_step_syncs_do_not_grow_with_the_tissue(counting_gpu, config, arm, overrides):
    """The general GPU step waits for the device once per step, never once per cell: the step's
    statistics (tallies, births, cells per type and state, how many cells) come back in one copy.
    The same count on a lattice with 4x the cells (it was 71 when every rule compacted its own
    proposals and each type was found by its own nonzero; 9 with array rules)."""
    small = _syncs(config, arm, {**overrides, "lattice.shape": [30, 30]})
    large = _syncs(config, arm, {**overrides, "lattice.shape": [60, 60]})
    assert max(small) == max(large) == 1


@pytest.mark.parametrize("config, arm, overrides", SCENARIOS, ids=["minimal rules", "chan2020", "liver", "liver 3D"])
def test_a_general_step_launches_at_most_30_kernels(counting_gpu, config, arm, overrides):
    """Every phase is a kernel over all cells (the rules of each type, categories, claims,
    births, compaction) or over the fields (one diffusion launch per axis for all fields): at
    most 30 launches per step, each costing microseconds of host time on a GPU whatever the
    tissue's size (430-640 with array rules)."""
    from abm import TissueModel

    model = TissueModel(config, device="gpu", arm=arm, seed=3, overrides=overrides)
    per_step = syncs_per_step(model, 4)[1:]  # the first step builds caches
    assert 0 < max(step["operations"] for step in per_step) <= 30
