"""abm/rules/walk.py: the chemotactic choice of a per-cell rule, interpreted and compiled, against the
plain scan over the offsets (the reference below), on 2D and 3D lattices, ties included."""
import numpy as np
import pytest
from numba import njit

from abm.kernels.neighbours import neighbour_offsets, neighbour_site, scan_neighbours_numpy, shape3
from abm.rules.walk import uphill_offset


def each_cell(sites, free_mask, field, offsets, lattice_shape):
    out = np.empty(sites.shape[0], dtype=np.int64)
    for k in range(sites.shape[0]):
        out[k] = uphill_offset(sites[k], free_mask[k], field, offsets, lattice_shape)
    return out


each_cell_compiled = njit(each_cell)


def uphill_offset_reference(sites, free_mask, field, shape, offsets):
    """Offset by offset: take a free neighbour whose concentration is strictly higher than the
    best so far, starting from the cell's own site (no neighbour above it: no climb)."""
    best = np.full(sites.shape[0], -1, dtype=np.int32)
    best_value = field[sites].astype(np.float32)
    for j, offset in enumerate(offsets):
        free = ((free_mask >> np.uint32(j)) & np.uint32(1)).astype(bool)
        neighbour = neighbour_site(sites, offset, shape, np)
        value = np.where(free, field[np.maximum(neighbour, 0)], np.float32(-1.0))
        better = free & (value > best_value)
        best = np.where(better, np.int32(j), best)
        best_value = np.where(better, value, best_value)
    return best


@pytest.mark.parametrize("shape", [(30, 20), (9, 8, 7)])
@pytest.mark.parametrize("kind", ["von_neumann", "moore"])
@pytest.mark.parametrize("levels", [None, 4], ids=["continuous", "ties"])
def test_uphill_offset_equals_the_scan_over_offsets(shape, kind, levels):
    rng = np.random.default_rng(7)
    n_sites = int(np.prod(shape))
    offsets = neighbour_offsets(len(shape), kind)
    occupancy = np.full(n_sites, -1, dtype=np.int32)
    sites = rng.choice(n_sites, size=n_sites // 2, replace=False).astype(np.int64)
    occupancy[sites] = np.arange(sites.size, dtype=np.int32)
    _, masks = scan_neighbours_numpy(occupancy, np.zeros(sites.size, np.int8), sites, shape, offsets, 1)
    free_mask = masks[:, -1]
    field = rng.random(n_sites).astype(np.float32)
    if levels:  # few distinct values: many ties between free neighbours
        field = np.floor(field * levels).astype(np.float32)
    offsets64, lattice_shape = offsets.astype(np.int64), np.array(shape3(shape), dtype=np.int64)
    expected = uphill_offset_reference(sites, free_mask, field, shape, offsets)
    assert (expected >= 0).any() and (expected < 0).any()
    for run in (each_cell, each_cell_compiled):
        assert np.array_equal(run(sites, free_mask, field, offsets64, lattice_shape), expected)
        flat = np.zeros_like(field)  # no gradient: no climb
        assert (run(sites, free_mask, flat, offsets64, lattice_shape) == -1).all()
