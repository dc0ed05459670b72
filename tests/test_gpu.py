"""GPU only: every CuPy launcher in kernels/_cuda.py equals its NumPy twin on the same inputs, and
GPU model runs (the general step, the minimal rules included) equal CPU runs.

Integers must be bit-identical; fields too (same float64 operations in the same order, CUDA built
with --fmad=false), and a mismatch reports the largest relative difference. Skipped without CuPy
or without a usable CUDA device. Inputs come from the host-compiled tests' case builders.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from abm.plugins import builtin_spec
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

try:
    from abm.kernels import claims, counts, diffusion, neighbours, philox
except ImportError:
    from kernels import claims, counts, diffusion, neighbours, philox

from run_helpers import assert_same_state, model_state  # noqa: E402
from test_cuda_kernels_on_host import (  # noqa: E402 - shared case builders
    KINDS, SHAPES, claim_case, count_cases, diffusion_cases, neighbour_case, philox_cases, pick_cases,
    sources_case,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cuda():
    try:
        from abm.kernels import _cuda
    except ImportError:
        from kernels import _cuda
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


def test_philox_draw(cuda):
    for seed, step, purpose, ids in philox_cases():
        got = cuda.philox_draw(seed, step, purpose, cupy.asarray(ids))
        assert got.dtype == cupy.uint32
        assert np.array_equal(cupy.asnumpy(got), philox.draw_numpy(seed, step, purpose, ids))
    # the dispatching entry point
    ids = np.arange(1000, dtype=np.int64)
    got = philox.draw(5, 6, builtin_spec().purposes["nk.move"], cupy.asarray(ids), xp=cupy)
    assert np.array_equal(cupy.asnumpy(got), philox.draw_numpy(5, 6, builtin_spec().purposes["nk.move"], ids))
    assert cuda.philox_draw(1, 2, 3, cupy.empty(0, dtype=cupy.int64)).shape == (4, 0)


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


def test_pick_from_mask(cuda):
    for seed in (0, 1):
        for masks, words, n_offsets in pick_cases(seed):
            got = cuda.pick_from_mask(cupy.asarray(masks), cupy.asarray(words), n_offsets)
            assert got.dtype == cupy.int32
            assert np.array_equal(cupy.asnumpy(got),
                                  neighbours.pick_from_mask_numpy(masks, words, n_offsets))


def test_count_codes(cuda):
    for codes, n_bins in count_cases():
        got = cuda.count_codes(cupy.asarray(codes), n_bins)
        assert got.dtype == cupy.int64
        assert np.array_equal(cupy.asnumpy(got), counts.count_codes_numpy(codes, n_bins))


def test_resolve_claims(cuda):
    for seed in (0, 1, 2):
        targets, keys, n_scratch = claim_case(seed)
        scratch = claims.new_scratch(n_scratch, xp=cupy)
        want_scratch = claims.new_scratch(n_scratch)
        for _ in range(2):
            won = cuda.resolve_claims(cupy.asarray(targets), cupy.asarray(keys), scratch)
            want = claims.resolve_claims_numpy(targets, keys, want_scratch)
            assert np.array_equal(cupy.asnumpy(won), want)
            assert np.all(cupy.asnumpy(scratch) == claims.NO_CLAIM)


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


def test_apply_sources_and_uptake(cuda):
    for seed in (0, 1):
        field, sites, secreted, keep = sources_case(seed)
        mine, want = cupy.asarray(field), field.copy()
        cuda.apply_sources_and_uptake(mine, cupy.asarray(sites), cupy.asarray(secreted),
                                      cupy.asarray(keep))
        diffusion.apply_sources_and_uptake(want, sites, secreted, keep)
        assert_fields_equal(mine, want, f"seed {seed}")


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
