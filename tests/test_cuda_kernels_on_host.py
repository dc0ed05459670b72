"""The CUDA kernels, compiled for the CPU with g++ (abm/testing/cuda_host.py), equal their NumPy twins
bit for bit: integers and float32 fields alike (np.array_equal).

The kernels run through kernels/_cuda.py itself (with a NumPy stand-in for CuPy), so the
launchers' argument types, shapes and grid sizes are checked too. The case builders below are
reused by tests/test_gpu.py on a real GPU.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from abm.kernels import counts, diffusion, neighbours

from abm.testing import cuda_host

pytestmark = pytest.mark.skipif(not cuda_host.gxx_available(),
                                reason="g++ not found: cannot compile the CUDA sources for the CPU")

SHAPES = ((23, 17), (9, 11, 7))
KINDS = ("von_neumann", "moore")


@pytest.fixture(scope="module")
def cuda():
    return cuda_host.host_launchers()


# ---------------------------------------------------------------- case builders (also test_gpu)


def neighbour_case(shape, kind, seed, n_types=3, fill=0.6):
    """(occupancy int32, slot_type int8, sites int64, shape, offsets, n_types)."""
    rng = np.random.default_rng(seed)
    n_sites = int(np.prod(shape))
    occupied = rng.random(n_sites) < fill
    n_agents = int(occupied.sum())
    slots = rng.permutation(n_agents + 5)[:n_agents]  # some slots unused
    occupancy = np.full(n_sites, neighbours.EMPTY, dtype=np.int32)
    occupancy[occupied] = slots
    slot_type = rng.integers(0, n_types, size=n_agents + 5).astype(np.int8)
    sites = np.concatenate([np.flatnonzero(occupied), rng.integers(0, n_sites, size=50)])
    offsets = neighbours.neighbour_offsets(len(shape), kind)
    return occupancy, slot_type, sites.astype(np.int64), shape, offsets, n_types


def diffusion_cases():
    """(field float32, DiffusionOperator, label): 2D/3D, no_flux/fixed, small to huge steps."""
    rng = np.random.default_rng(11)
    for shape in ((31, 17), (13, 9, 11), (8, 1, 6)):
        for boundary, value in (("no_flux", 0.0), ("fixed", 3.0)):
            for dt, decay in ((0.01, 0.0), (1.0, 0.05), (1000.0, 0.3)):
                field = rng.lognormal(0.0, 2.0, size=shape).astype(np.float32)
                field.flat[rng.integers(0, field.size, size=5)] = 0.0
                operator = diffusion.DiffusionOperator(shape, 10.0, dt, 600.0, decay,
                                                       boundary, value)
                yield field, operator, f"{shape}-{boundary}-dt{dt}"


# ---------------------------------------------------------------- neighbours.cu


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", (0, 1))
def test_scan_neighbours_matches_numpy(cuda, shape, kind, seed):
    case = neighbour_case(shape, kind, seed, n_types=2 + seed)
    counts, masks = cuda.scan_neighbours(*case)
    want_counts, want_masks = neighbours.scan_neighbours_numpy(*case)
    assert counts.dtype == np.int32 and masks.dtype == np.uint32
    assert np.array_equal(counts, want_counts)
    assert np.array_equal(masks, want_masks)


def test_scan_neighbours_empty(cuda):
    occupancy, slot_type, _, shape, offsets, n_types = neighbour_case((5, 5), "moore", 0)
    counts, masks = cuda.scan_neighbours(occupancy, slot_type, np.empty(0, np.int64), shape,
                                         offsets, n_types)
    assert counts.shape == masks.shape == (0, n_types + 1)


# ---------------------------------------------------------------- counts.cu


def count_cases():
    """(int codes of several dtypes, n_bins), the empty array included."""
    rng = np.random.default_rng(3)
    yield np.empty(0, dtype=np.int8), 7
    yield np.zeros(1, dtype=np.int64), 1
    yield rng.integers(0, 7, size=5000).astype(np.int8), 7
    yield rng.integers(0, 56, size=20000).astype(np.int64), 56
    yield np.full(3000, 4, dtype=np.int64), 9  # every item on one bin: atomics collide


@pytest.mark.parametrize("case", list(count_cases()), ids=lambda c: f"{c[0].dtype}x{c[0].size}")
def test_count_codes_matches_numpy(cuda, case):
    codes, n_bins = case
    got = cuda.count_codes(codes, n_bins)
    want = counts.count_codes_numpy(codes, n_bins)
    assert got.dtype == want.dtype == np.int64 and np.array_equal(got, want)
    assert want.sum() == codes.size


def test_count_codes_numpy_refuses_a_code_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        counts.count_codes_numpy(np.array([0, 3]), 3)


# ---------------------------------------------------------------- diffusion.cu


def test_diffusion_matches_numpy(cuda):
    for field, operator, label in diffusion_cases():
        mine, want = field.copy(), field.copy()
        for step in range(3):
            assert cuda.diffuse(mine, operator.axes) is mine
            diffusion.diffuse_numpy(want, operator.axes)
            assert np.array_equal(mine, want), f"{label} step {step}"


@pytest.mark.parametrize("shape", SHAPES)
def test_several_fields_in_one_launch_per_axis_match_numpy_field_by_field(cuda, shape):
    """diffuse_fields: fields with different diffusion, decay and walls, swept together."""
    rng = np.random.default_rng(5)
    operators = [diffusion.DiffusionOperator(shape, 10.0, 5.0, 600.0, 0.1),
                 diffusion.DiffusionOperator(shape, 10.0, 5.0, 30.0, 0.0, "fixed", 2.0),
                 diffusion.DiffusionOperator(shape, 10.0, 5.0, 1500.0, 0.5)]
    fields = [rng.random(shape).astype(np.float32) for _ in operators]
    want = [f.copy() for f in fields]
    for step in range(3):
        cuda.diffuse_fields(fields, [o.axes for o in operators])
        for field, operator in zip(want, operators):
            diffusion.diffuse_numpy(field, operator.axes)
        for k in range(len(fields)):
            assert np.array_equal(fields[k], want[k]), (k, step)


def test_diffusion_single_axis_sweeps(cuda):
    """Each axis alone (the others None): catches a wrong line layout that all axes would hide."""
    field = np.random.default_rng(3).random((6, 7, 5)).astype(np.float32)
    operator = diffusion.DiffusionOperator(field.shape, 10.0, 5.0, 600.0, 0.1, "fixed", 1.0)
    for axis in range(3):
        axes = [c if i == axis else None for i, c in enumerate(operator.axes)]
        mine, want = field.copy(), field.copy()
        cuda.diffuse(mine, axes)
        diffusion.diffuse_numpy(want, axes)
        assert np.array_equal(mine, want), axis


def test_diffusion_rejects_what_would_diverge(cuda):
    operator = diffusion.DiffusionOperator((8, 8), 10.0, 1.0, 600.0, 0.0)
    with pytest.raises(TypeError):
        cuda.diffuse(np.zeros((8, 8), dtype=np.float64), operator.axes)
    weak = [dataclasses.replace(c, r=float(c.r)) for c in operator.axes]  # float32 in NumPy
    with pytest.raises(TypeError):
        cuda.diffuse(np.zeros((8, 8), dtype=np.float32), weak)


def test_cuda_sources_list_is_complete(cuda):
    on_disk = sorted(str(p) for p in Path(cuda_host.KERNELS).glob("*.cu"))
    assert sorted(cuda.CUDA_SOURCES) == on_disk
    assert cuda.NVCC_OPTIONS == ("--fmad=false",)
