"""Claim-then-resolve and neighbour scans: order independence and agreement with brute force."""
import numpy as np
import pytest

from abm.kernels.claims import NO_CLAIM, claim_keys, new_scratch, resolve_claims_numpy
from abm.kernels.neighbours import neighbour_offsets, pick_from_mask_numpy, scan_neighbours_numpy


def test_one_winner_per_target_with_the_lowest_key():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 50, size=500)
    ids = rng.permutation(500).astype(np.int64)
    keys = claim_keys(rng.integers(0, 2**32, size=500).astype(np.uint32), ids)
    scratch = new_scratch(50)
    won = resolve_claims_numpy(targets, keys, scratch)
    for target in np.unique(targets):
        on_target = targets == target
        assert won[on_target].sum() == 1
        assert keys[on_target][won[on_target]][0] == keys[on_target].min()
    assert np.all(scratch == NO_CLAIM)  # scratch restored for the next step


@pytest.mark.parametrize("seed", range(5))
def test_winners_do_not_depend_on_the_order_of_claimants(seed):
    rng = np.random.default_rng(seed)
    n = 2000
    targets = rng.integers(0, 300, size=n)
    ids = np.arange(n, dtype=np.int64)
    keys = claim_keys(rng.integers(0, 2**32, size=n).astype(np.uint32), ids)
    won = resolve_claims_numpy(targets, keys, new_scratch(300))
    for _ in range(3):
        p = rng.permutation(n)
        won_p = resolve_claims_numpy(targets[p], keys[p], new_scratch(300))
        assert set(ids[p][won_p]) == set(ids[won])


def test_equal_priorities_are_broken_by_id():
    keys = claim_keys(np.zeros(3, dtype=np.uint32), np.array([9, 4, 6]))
    won = resolve_claims_numpy(np.zeros(3, dtype=np.int64), keys, new_scratch(1))
    assert won.tolist() == [False, True, False]


@pytest.mark.parametrize("shape, kind", [((9, 11), "von_neumann"), ((9, 11), "moore"),
                                         ((5, 6, 7), "von_neumann"), ((5, 6, 7), "moore")])
def test_neighbour_scan_matches_brute_force(shape, kind):
    rng = np.random.default_rng(1)
    n_sites, n_types = int(np.prod(shape)), 3
    occupancy = np.full(n_sites, -1, dtype=np.int32)
    sites = rng.choice(n_sites, size=n_sites // 2, replace=False).astype(np.int64)
    occupancy[sites] = np.arange(len(sites))
    slot_type = rng.integers(0, n_types, size=len(sites)).astype(np.int8)
    offsets = neighbour_offsets(len(shape), kind)
    assert len(offsets) == {"von_neumann": 2 * len(shape), "moore": 3 ** len(shape) - 1}[kind]
    counts, masks = scan_neighbours_numpy(occupancy, slot_type, sites, shape, offsets, n_types)
    grid = occupancy.reshape(shape)
    for a, site in enumerate(sites):
        here = np.array(np.unravel_index(site, shape))
        expected = np.zeros(n_types + 1, dtype=int)
        for j, offset in enumerate(offsets):
            q = here + offset[: len(shape)]
            if np.any(q < 0) or np.any(q >= shape):
                continue
            occupant = grid[tuple(q)]
            column = n_types if occupant < 0 else slot_type[occupant]
            expected[column] += 1
            assert masks[a, column] >> np.uint32(j) & np.uint32(1)
        assert np.array_equal(counts[a], expected)


def test_pick_from_mask_chooses_uniformly_among_set_bits():
    mask = np.full(60_000, 0b1010_0110, dtype=np.uint32)  # bits 1, 2, 5, 7
    words = np.random.default_rng(2).integers(0, 2**32, size=len(mask)).astype(np.uint32)
    chosen = pick_from_mask_numpy(mask, words, 8)
    values, counts = np.unique(chosen, return_counts=True)
    assert values.tolist() == [1, 2, 5, 7]
    assert np.all(np.abs(counts / len(mask) - 0.25) < 0.01)
    assert np.all(pick_from_mask_numpy(np.zeros(4, dtype=np.uint32), words[:4], 8) == -1)
