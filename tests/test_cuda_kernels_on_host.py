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

from abm.plugins import builtin_spec
import pytest

try:
    from abm.kernels import claims, counts, diffusion, neighbours, philox
except ImportError:
    from kernels import claims, counts, diffusion, neighbours, philox

from abm.testing import cuda_host

pytestmark = pytest.mark.skipif(not cuda_host.gxx_available(),
                                reason="g++ not found: cannot compile the CUDA sources for the CPU")

SEEDS = (0, 1, 20240917, 2**64 - 1)
SHAPES = ((23, 17), (9, 11, 7))
KINDS = ("von_neumann", "moore")


@pytest.fixture(scope="module")
def cuda():
    return cuda_host.host_launchers()


# ---------------------------------------------------------------- case builders (also test_gpu)


def philox_cases():
    """(seed, step, purpose, int64 ids)."""
    rng = np.random.default_rng(7)
    ids = np.concatenate([
        np.arange(300, dtype=np.int64),
        rng.integers(-2**63, 2**63 - 1, size=500, dtype=np.int64, endpoint=True),
        np.array([-1, 2**32 - 1, 2**32, 2**63 - 1, -2**63], dtype=np.int64),
    ])
    for seed in SEEDS:
        for step, purpose in ((0, 1), (12345, 7), (2**32 + 3, 2**33 + 11)):
            yield seed, step, purpose, ids


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


def pick_cases(seed):
    """(masks uint32, words, n_offsets): empty masks, full masks, stray bits past n_offsets."""
    rng = np.random.default_rng(seed)
    for n_offsets in (4, 6, 8, 26):
        masks = rng.integers(0, 2**n_offsets, size=400, dtype=np.uint64).astype(np.uint32)
        masks[:40] = 0
        masks[40:60] = 2**n_offsets - 1
        masks[60:80] = masks[60:80] & np.uint32(0x5)
        words = rng.integers(0, 2**32, size=400, dtype=np.uint64).astype(np.uint32)
        yield masks, words, n_offsets
        yield masks, rng.integers(-2**62, 2**62, size=400, dtype=np.int64), n_offsets
        yield masks.reshape(20, 20), words[:20], n_offsets  # words broadcast along rows
    stray = rng.integers(0, 2**32, size=300, dtype=np.uint64).astype(np.uint32)
    yield stray, rng.integers(0, 2**32, size=300, dtype=np.uint64).astype(np.uint32), 6


def claim_case(seed, n_claims=4000, n_targets=60, n_scratch=100):
    """(targets int64, keys uint64, scratch size): many claimants per target, some tied keys."""
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, n_targets, size=n_claims).astype(np.int64)
    ids = rng.permutation(10**6)[:n_claims].astype(np.int64)
    words = philox.draw_numpy(seed, 3, builtin_spec().purposes["claim_priority"], ids)[0]
    keys = claims.claim_keys(words, ids)
    keys[::97] = np.uint64(5)  # tied lowest keys: every holder of the minimum wins, in both
    return targets, keys, n_scratch


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


def sources_case(seed, n_sites=2000, n_cells=700):
    """(field_flat float32, distinct sites int64, secreted float32, keep float32)."""
    rng = np.random.default_rng(seed)
    field = rng.lognormal(0.0, 1.5, size=n_sites).astype(np.float32)
    sites = rng.permutation(n_sites)[:n_cells].astype(np.int64)
    secreted = rng.random(n_cells).astype(np.float32) * np.float32(rng.choice([0, 1]))
    keep = (1.0 / (1.0 + rng.random(n_cells) * 5.0)).astype(np.float32)
    return field, sites, secreted, keep


# ---------------------------------------------------------------- philox.cu


def test_philox_matches_numpy(cuda):
    for seed, step, purpose, ids in philox_cases():
        got = cuda.philox_draw(seed, step, purpose, ids)
        assert got.dtype == np.uint32 and got.shape == (4, ids.size)
        assert np.array_equal(got, philox.draw_numpy(seed, step, purpose, ids)), (seed, step)


def test_philox_known_answers(cuda):
    """Random123 known-answer vectors for Philox4x32-10."""
    cases = [
        ((0, 0, 0, 0), [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
        ((2**64 - 1, 2**32 - 1, 2**32 - 1, -1), [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
        ((0x299F31D0A4093822, 0x13198A2E, 0x03707344, 0x85A308D3243F6A88 - 2**64),
         [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
    ]
    for (seed, step, purpose, id_), expected in cases:
        got = cuda.philox_draw(seed, step, purpose, np.array([id_], dtype=np.int64))
        assert got[:, 0].tolist() == expected


def test_philox_empty(cuda):
    assert cuda.philox_draw(1, 2, 3, np.empty(0, dtype=np.int64)).shape == (4, 0)


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


@pytest.mark.parametrize("seed", (0, 1, 2))
def test_pick_from_mask_matches_numpy(cuda, seed):
    for masks, words, n_offsets in pick_cases(seed):
        got = cuda.pick_from_mask(masks, words, n_offsets)
        assert got.dtype == np.int32 and got.shape == masks.shape
        assert np.array_equal(got, neighbours.pick_from_mask_numpy(masks, words, n_offsets))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_scan_then_pick_matches_numpy(cuda, shape, kind):
    """The pipeline the rules use: free-site masks from a scan, words from Philox."""
    case = neighbour_case(shape, kind, 5)
    _, masks = neighbours.scan_neighbours_numpy(*case)
    free, n_offsets = masks[:, -1], len(case[4])
    words = philox.draw_numpy(9, 4, builtin_spec().purposes["nk.move"], np.arange(free.size))[1]
    assert np.array_equal(cuda.pick_from_mask(free, words, n_offsets),
                          neighbours.pick_from_mask_numpy(free, words, n_offsets))


def test_pick_from_mask_empty(cuda):
    assert cuda.pick_from_mask(np.empty(0, np.uint32), np.empty(0, np.uint32), 8).shape == (0,)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_site_at_offset_matches_numpy(cuda, shape, kind):
    """Destinations from picked offsets, -1 (nothing picked) included, as the rules compute them."""
    case = neighbour_case(shape, kind, 7)
    _, masks = neighbours.scan_neighbours_numpy(*case)
    sites, offsets = case[2], case[4]
    words = philox.draw_numpy(3, 2, builtin_spec().purposes["nk.move"], np.arange(sites.size))[1]
    chosen = neighbours.pick_from_mask_numpy(masks[:, -1], words, len(offsets))
    chosen[::5] = -1  # nothing picked: a defined (unused) site all the same
    got = cuda.site_at_offset(sites, chosen, shape, offsets)
    assert got.dtype == np.int64
    assert np.array_equal(got, neighbours.site_at_offset_numpy(sites, chosen, shape, offsets))
    assert cuda.site_at_offset(sites[:0], chosen[:0], shape, offsets).shape == (0,)


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


# ---------------------------------------------------------------- claims.cu


@pytest.mark.parametrize("seed", (0, 1, 2, 3))
def test_resolve_claims_matches_numpy(cuda, seed):
    targets, keys, n_scratch = claim_case(seed)
    scratch = claims.new_scratch(n_scratch)
    want_scratch = claims.new_scratch(n_scratch)
    for _ in range(2):  # scratch is reused: it must come back all NO_CLAIM
        won = cuda.resolve_claims(targets, keys, scratch)
        want = claims.resolve_claims_numpy(targets, keys, want_scratch)
        assert won.dtype == np.bool_ and np.array_equal(won, want)
        assert np.array_equal(scratch, want_scratch)
        assert np.all(scratch == claims.NO_CLAIM)
    assert np.unique(targets[want]).size < want.sum()  # the ties really produced co-winners


def test_resolve_claims_empty(cuda):
    scratch = claims.new_scratch(4)
    won = cuda.resolve_claims(np.empty(0, np.int64), np.empty(0, np.uint64), scratch)
    assert won.shape == (0,) and np.all(scratch == claims.NO_CLAIM)


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


@pytest.mark.parametrize("seed", (0, 1, 2))
def test_sources_and_uptake_matches_numpy(cuda, seed):
    field, sites, secreted, keep = sources_case(seed)
    mine, want = field.copy(), field.copy()
    assert cuda.apply_sources_and_uptake(mine, sites, secreted, keep) is mine
    diffusion.apply_sources_and_uptake(want, sites, secreted, keep)
    assert np.array_equal(mine, want)
    # Python scalars are weak (NEP 50): float32 arithmetic in NumPy, float32 on the GPU.
    mine, want = field.copy(), field.copy()
    cuda.apply_sources_and_uptake(mine, sites, 0.25, 0.9)
    diffusion.apply_sources_and_uptake(want, sites, 0.25, 0.9)
    assert np.array_equal(mine, want)


def test_sources_and_uptake_rejects_float64(cuda):
    field, sites, secreted, keep = sources_case(0)
    with pytest.raises(TypeError):
        cuda.apply_sources_and_uptake(field, sites, secreted.astype(np.float64), keep)
    assert cuda.apply_sources_and_uptake(field, sites[:0], secreted[:0], keep[:0]) is field


def test_cuda_sources_list_is_complete(cuda):
    on_disk = sorted(str(p) for p in Path(cuda_host.KERNELS).glob("*.cu"))
    assert sorted(cuda.CUDA_SOURCES) == on_disk
    assert cuda.NVCC_OPTIONS == ("--fmad=false",)
