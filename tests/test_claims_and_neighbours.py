"""Claim-then-resolve (the kernels of abm/engine/resolve_kernels.py, run by the interpreter and
compiled) and neighbour scans: one winner per target, order independence, agreement with brute force."""
import numpy as np
import pytest

from abm.engine import resolve_kernels, scalar
from abm.engine.step_kernels import fixed_kernels
from abm.kernels.claims import ID_BITS, NO_CLAIM, new_scratch
from abm.kernels.neighbours import neighbour_offsets, neighbour_site, scan_neighbours_numpy, shape3

SEEDS = (np.uint64(0x9E3779B9), np.uint64(7), np.uint64(12), np.uint64(1))  # seed lo, seed hi, step, purpose


def test_the_claim_buffer_and_the_resolve_kernels_agree_on_the_key_layout():
    assert resolve_kernels.NO_CLAIM == NO_CLAIM
    assert resolve_kernels.ID_MASK == np.uint64((1 << ID_BITS) - 1)
    assert new_scratch(5).dtype == np.uint64 and np.all(new_scratch(5) == NO_CLAIM)


def test_claim_keys_order_by_priority_then_by_id():
    ids = np.random.default_rng(0).permutation(2**20)[:3000].astype(np.int64) * 999_983  # up to ~2**40
    keys = np.array([resolve_kernels.claim_key(*SEEDS, i, 0) for i in ids], dtype=np.uint64)
    priority = np.array([np.uint64(scalar.philox(*SEEDS, i)[0]) >> np.uint64(8) for i in ids], dtype=np.uint64)
    assert np.array_equal(keys & resolve_kernels.ID_MASK, ids.astype(np.uint64))  # the id is in the low bits
    assert np.array_equal(keys >> np.uint64(ID_BITS), priority)
    assert np.array_equal(np.argsort(keys, kind="stable"), np.lexsort((ids, priority)))
    assert not np.any(keys == NO_CLAIM)


def _kill_contest(kernels, ids, kill_site, occupancy):
    """claim_kills then kill over cells in the given order; (won, victim, kill_key, scratch, tallies)."""
    n = ids.size
    cell_type = np.zeros(n, dtype=np.int8)
    scratch = new_scratch(occupancy.size)
    kill_key, victim = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.bool_)
    kills, tallies = np.zeros(n, dtype=np.int64), np.zeros(8, dtype=np.int64)
    kernels["claim_kills"](n, *SEEDS, cell_type, ids, kill_site, np.ones(1, dtype=np.bool_), scratch, kill_key,
                           victim)
    kernels["kill"](n, cell_type, kill_site, np.zeros(n, dtype=np.bool_), kill_key, scratch, occupancy, kills, True,
                    victim, tallies)
    return kills == 1, victim, kill_key, scratch, tallies


def _tissue(seed, n_targets=300, n_killers=2000):
    """Cells 0 .. n_targets - 1 sit on sites 0 .. n_targets - 1; the others each claim one of them."""
    rng = np.random.default_rng(seed)
    n = n_targets + n_killers
    ids = rng.permutation(10**6)[:n].astype(np.int64)
    kill_site = np.full(n, -1, dtype=np.int64)
    kill_site[n_targets:] = rng.integers(0, n_targets, size=n_killers)
    occupancy = np.full(n_targets + 50, -1, dtype=np.int32)
    occupancy[:n_targets] = np.arange(n_targets)
    return ids, kill_site, occupancy


@pytest.mark.parametrize("target", ["python", "cpu"], ids=["interpreted", "compiled"])
def test_one_winner_per_target_with_the_lowest_key(target):
    kernels = fixed_kernels(target)
    ids, kill_site, occupancy = _tissue(0)
    won, victim, kill_key, scratch, tallies = _kill_contest(kernels, ids, kill_site, occupancy)
    claimed = np.unique(kill_site[kill_site >= 0])
    for site in claimed:
        on_target = kill_site == site
        assert won[on_target].sum() == 1
        assert kill_key[on_target][won[on_target]][0] == kill_key[on_target].min() == scratch[site]
    assert np.array_equal(np.flatnonzero(victim), np.sort(occupancy[claimed]))
    assert tallies[resolve_kernels.KILLS] == claimed.size == tallies[resolve_kernels.KILLS_SINGLE]
    assert np.all(kill_key[kill_site < 0] == NO_CLAIM)


@pytest.mark.parametrize("seed", range(3))
def test_winners_do_not_depend_on_the_order_of_claimants(seed):
    kernels = fixed_kernels("python")
    ids, kill_site, occupancy = _tissue(seed)
    won, victim, *_ = _kill_contest(kernels, ids, kill_site, occupancy)
    rng = np.random.default_rng(seed + 10)
    for _ in range(2):
        p = rng.permutation(ids.size)  # slot k now holds the cell of slot p[k]
        slot_of = np.argsort(p)
        moved = np.where(occupancy >= 0, slot_of[np.maximum(occupancy, 0)], -1).astype(np.int32)
        won_p, victim_p, *_ = _kill_contest(kernels, ids[p], kill_site[p], moved)
        assert set(ids[p][won_p]) == set(ids[won])
        assert set(ids[p][victim_p]) == set(ids[victim])


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
    """abm/engine/scalar.pick_from_mask, the rules' choice of a neighbour, run by the interpreter."""
    mask = np.uint32(0b1010_0110)  # bits 1, 2, 5, 7
    words = np.random.default_rng(2).integers(0, 2**32, size=40_000, dtype=np.uint64)
    chosen = np.array([scalar.pick_from_mask(mask, w, 8) for w in words])
    values, counts = np.unique(chosen, return_counts=True)
    assert values.tolist() == [1, 2, 5, 7]
    assert np.all(np.abs(counts / len(words) - 0.25) < 0.01)
    assert all(scalar.pick_from_mask(np.uint32(0), w, 8) == -1 for w in words[:4])
    assert scalar.pick_from_mask(mask, words[0], 2) in (1, -1)  # bits past n_offsets are not neighbours


@pytest.mark.parametrize("shape, kind", [((9, 11), "moore"), ((5, 6, 7), "moore"), ((5, 6, 7), "von_neumann")])
def test_site_at_offset_is_the_neighbour_at_that_offset(shape, kind):
    """abm/engine/scalar.site_at_offset against the scan's neighbour_site, wherever it is inside."""
    offsets = neighbour_offsets(len(shape), kind)
    _, ny, nz = shape3(shape)
    sites = np.arange(int(np.prod(shape)), dtype=np.int64)
    for j, offset in enumerate(offsets):
        want = neighbour_site(sites, offset, shape)
        got = np.array([scalar.site_at_offset(s, j, ny, nz, offsets) for s in sites])
        inside = want >= 0
        assert np.array_equal(got[inside], want[inside])
    assert scalar.site_at_offset(sites[7], -1, ny, nz, offsets) == scalar.site_at_offset(sites[7], 0, ny, nz, offsets)
