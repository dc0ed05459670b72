"""Bonds between two cells for per-cell rules: finding the partner by id, and whether two sites touch.

A bound cell stores its partner's id (ids ascend with the slot, abm/core/state.py), so the partner's
slot is a binary search. A bond holds while the two touch and the partner is a viable tumor cell.
"""
from __future__ import annotations

from ..engine.cell_rules import cell_function


@cell_function
def slot_of(all_id, cell_id):
    """(found, slot) of the cell with id `cell_id`: the leftmost slot whose id is not below it, kept a
    valid index (the last slot) where it would fall past the end."""
    low, high = 0, all_id.shape[0]
    while low < high:
        middle = (low + high) // 2
        if all_id[middle] < cell_id:
            low = middle + 1
        else:
            high = middle
    slot = min(low, all_id.shape[0] - 1)
    return cell_id >= 0 and all_id[slot] == cell_id, slot


@cell_function
def touching(site_a, site_b, lattice_shape, n_offsets):
    """Lattice neighbours? Moore (8 or 26 offsets): no axis differs by more than 1; von Neumann:
    exactly one axis differs, by 1."""
    ny, nz = lattice_shape[1], lattice_shape[2]
    dx = abs(site_a // (ny * nz) - site_b // (ny * nz))
    dy = abs((site_a // nz) % ny - (site_b // nz) % ny)
    dz = abs(site_a % nz - site_b % nz)
    if n_offsets == 8 or n_offsets == 26:
        return max(max(dx, dy), dz) == 1
    return dx + dy + dz == 1
