"""GPU only: every CuPy launcher in kernels/_cuda.py equals its NumPy twin on the same inputs, the
Philox of the rules gives Random123's known answers on the device, and GPU model runs (the general
step, the minimal rules included) equal CPU runs.

Integers must be bit-identical; fields too (same float64 operations in the same order, CUDA built
with --fmad=false), and a mismatch reports the largest relative difference. Skipped without CuPy
or without a usable CUDA device. Inputs come from the host-compiled tests' case builders.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import pytest

cupy = pytest.importorskip("cupy", reason="CuPy is not installed: GPU tests skipped")


def _gpu_problem():
    try:
        if not cupy.is_available() or cupy.cuda.runtime.getDeviceCount() == 0:
            return "CuPy found no CUDA device"
    except Exception as error:  # noqa: BLE001 - a broken driver also means "no GPU"
        return f"CUDA device not usable ({error.__class__.__name__}: {error})"
    return None


_PROBLEM = _gpu_problem()
pytestmark = pytest.mark.skipif(_PROBLEM is not None, reason=f"GPU tests skipped: {_PROBLEM}")

from abm.kernels import counts, diffusion, neighbours  # noqa: E402
from run_helpers import assert_same_state, model_state  # noqa: E402
from test_cuda_kernels_on_host import (  # noqa: E402 - shared case builders
    KINDS, SHAPES, count_cases, diffusion_cases, neighbour_case,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cuda():
    from abm.kernels import _cuda
    return _cuda


def assert_fields_equal(got, want, label=""):
    """Bit-identical, or fail with the largest relative difference (must stay below 1e-6)."""
    got = cupy.asnumpy(got) if isinstance(got, cupy.ndarray) else got
    if np.array_equal(got, want):
        return
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    scale = np.maximum(np.abs(want.astype(np.float64)), np.finfo(np.float32).tiny)
    worst = float(np.max(diff / scale))
    assert worst <= 1e-6, f"{label}: max relative difference {worst:.3e} (> 1e-6)"
    pytest.fail(f"{label}: not bit-identical, max relative difference {worst:.3e} "
                f"({int(np.count_nonzero(diff))} of {got.size} values differ)")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_scan_neighbours(cuda, shape, kind):
    occupancy, slot_type, sites, shape, offsets, n_types = neighbour_case(shape, kind, 1)
    want_counts, want_masks = neighbours.scan_neighbours_numpy(
        occupancy, slot_type, sites, shape, offsets, n_types)
    for table in (offsets, cupy.asarray(offsets)):  # host table (cached upload) or device table
        counts, masks = cuda.scan_neighbours(cupy.asarray(occupancy), cupy.asarray(slot_type),
                                             cupy.asarray(sites), shape, table, n_types)
        assert counts.dtype == cupy.int32 and masks.dtype == cupy.uint32
        assert np.array_equal(cupy.asnumpy(counts), want_counts)
        assert np.array_equal(cupy.asnumpy(masks), want_masks)


def test_count_codes(cuda):
    for codes, n_bins in count_cases():
        got = cuda.count_codes(cupy.asarray(codes), n_bins)
        assert got.dtype == cupy.int64
        assert np.array_equal(cupy.asnumpy(got), counts.count_codes_numpy(codes, n_bins))


def test_diffuse(cuda):
    for field, operator, label in diffusion_cases():
        mine, want = cupy.asarray(field), field.copy()
        for step in range(3):
            assert cuda.diffuse(mine, operator.axes) is mine
            diffusion.diffuse_numpy(want, operator.axes)
            assert_fields_equal(mine, want, f"{label} step {step}")
    # the dispatching entry point, through DiffusionOperator
    field, operator, label = next(diffusion_cases())
    mine = cupy.asarray(field)
    operator.step(mine, xp=cupy)
    assert_fields_equal(mine, operator.step(field.copy()), label)


def test_philox_known_answers_on_the_device():
    """The one Philox (kernels/philox_numba.philox_block) compiled by numba-cuda, as the rules are."""
    from numba import cuda as numba_cuda

    from abm.kernels.philox_numba import philox_block
    from test_philox import KNOWN_ANSWERS

    @numba_cuda.jit
    def known_answers(words, out):
        i = numba_cuda.grid(1)
        if i < words.shape[0]:
            w = philox_block(words[i, 0], words[i, 1], words[i, 2], words[i, 3], words[i, 4], words[i, 5])
            for k in range(4):
                out[i, k] = w[k]

    words = cupy.asarray(np.array([counter + key for counter, key, _ in KNOWN_ANSWERS], dtype=np.uint64))
    out = cupy.zeros((len(KNOWN_ANSWERS), 4), dtype=cupy.uint64)
    known_answers[1, 32](words, out)
    assert cupy.asnumpy(out).tolist() == [list(expected) for *_, expected in KNOWN_ANSWERS]


# Whole-model equivalence on a real GPU: the general step, for the scenarios and the minimal rules.


@pytest.mark.parametrize("config, arm, overrides, steps", [
    ("default", None, {"lattice.shape": [64, 64], "placement.0.count": 300, "placement.1.count": 80}, 100),
    ("chan2020_organoid", "healthy_nk", {}, 150),
    ("correia2021_liver", "stellate_activation", {"lattice.shape": [48, 48],
                                                  "interventions.stellate_activation.start_h": 0.0}, 150),
    ("szczerba2019_neutrophils", "neutrophil_clusters", {}, 150),
    ("correia2021_liver", "nk_depleted", {"lattice.shape": [24, 24, 24]}, 60),
], ids=["default", "organoid", "liver", "neutrophil clusters", "liver 3D"])
def test_gpu_model_run_equals_cpu_run(config, arm, overrides, steps):
    """A GPU run of the general step equals the CPU run: agent table, lattice and fields
    bit-identical, for every cell type's rules (tumor, NK, stellate, neutrophil, T cell)."""
    from abm import TissueModel

    runs = {}
    for device in ("cpu", "gpu"):
        model = TissueModel.from_config(str(ROOT / "configs" / f"{config}.yaml"), device=device, arm=arm,
                                        overrides=overrides)
        model.run(steps)
        runs[device] = model_state(model)
    assert_same_state(runs["cpu"], runs["gpu"])


@pytest.mark.parametrize("overrides", [
    {"lattice.shape": [300, 300]},
    {"lattice.shape": [40, 40, 40], "lattice.neighbourhood": "von_neumann",
     "placement": [{"pattern": "scatter", "cell_type": "tumor", "count": 6000},
                   {"pattern": "scatter", "cell_type": "nk", "count": 600}]},
], ids=["2D moore", "3D von neumann"])
def test_gpu_minimal_rules_run_equals_cpu_run(overrides):
    """The minimal rules on the device (the kernels racing for real) against the CPU run, 150 steps:
    every column, the lattice and the event totals, bit for bit."""
    from abm import TissueModel

    config = str(ROOT / "configs" / "minimal_rules.yaml")
    runs = {}
    for device in ("cpu", "gpu"):
        model = TissueModel.from_config(config, device=device, seed=11, overrides={**overrides, "time.duration_h": 1e6})
        model.run(150)
        runs[device] = model_state(model)
    assert runs["cpu"][3]["births"] > 0 and runs["cpu"][3]["kills"] > 0
    assert_same_state(runs["cpu"], runs["gpu"])
