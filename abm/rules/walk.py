"""A lattice random walk for per-cell rules: a step into a free neighbouring site, some steps up a
chemoattractant.

With the bias chance the cell takes the free neighbour with the highest concentration, if it is
higher than at its own site (ties to the lowest offset index; a flat field, or no field, leaves the
walk unbiased); otherwise a uniformly random free neighbour. The words: [0] whether it steps,
[1] which free neighbour, [2] whether it climbs (the same words as the array walk,
rules/movement.py, so both give the same steps).
"""
from __future__ import annotations

import numpy as np

from ..engine.cell_rules import cell_function
from ..engine.scalar import happens, pick_from_mask, site_at_offset


@cell_function
def uphill_offset(site, free_mask, field, offsets, lattice_shape):
    """Offset index of the free neighbour with the highest concentration if higher than here, else -1.
    Sites that are not free read as -1, below any concentration (the first maximum wins)."""
    ny, nz = lattice_shape[1], lattice_shape[2]
    best, best_value = 0, np.float32(-1.0)
    for j in range(offsets.shape[0]):
        value = np.float32(-1.0)
        if (np.uint32(free_mask) >> np.uint32(j)) & np.uint32(1):
            value = field[site_at_offset(site, j, ny, nz, offsets)]
        if j == 0 or value > best_value:
            best, best_value = j, value
    return best if best_value > field[site] else -1


@cell_function
def walk_step(site, free_mask, words, move_threshold, bias_threshold, field, offsets, lattice_shape):
    """(steps, destination): whether the cell steps this turn into a free neighbour, and where.
    `field`: the chemoattractant (an empty array where none is simulated: no climbing)."""
    offset = pick_from_mask(free_mask, words[1], offsets.shape[0])
    has_free = offset >= 0
    if field.shape[0] > 0 and happens(words[2], bias_threshold):
        up = uphill_offset(site, free_mask, field, offsets, lattice_shape)
        if up >= 0:
            offset = up
    steps = has_free and happens(words[0], move_threshold)
    return steps, site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets)
