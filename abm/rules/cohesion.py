"""Walking without letting go: how a cell held by adhesive contacts (Plexin-B2 to its tumor
neighbours, its own bound escorts) moves without breaking them.

The lattice scheme (issue 21): a held cell moves only into a free neighbouring site from which
every one of its held contacts is still a neighbour, and only if it draws a lower key than each
held neighbour that also wants to move this step (the engine's second pass, compiled_type.take_turns:
a rule returns the move with the offsets that hold the cell and its priority word). So two touching
members of a cluster never move in the same step, and a move keeps all of the mover's contacts:
walking never splits a cluster. Rim cells roll along it, and the cluster drifts by their rolling,
the slower the larger it is (in suspension, drag slows large aggregates too). Bound escorts follow
their partner into the site it leaves (rules/escort.py), so a tumor cell and its escorts travel as
a unit.

Rigid translation of whole clusters was not chosen: it needs each cluster's connected component
every step (iterations that grow with the cluster, and on a GPU a wait for the host per iteration
to learn that they are done), and it would move a large cluster as fast as a single cell.
"""
from __future__ import annotations

import numpy as np

from ..engine.cell_rules import cell_function
from ..engine.scalar import site_at_offset


@cell_function
def held_contacts(cell_id, site, by_tumor, by_escorts, tumor_mask, escort_mask, occupancy, all_partner, offsets,
                  lattice_shape):
    """Offsets that hold the cell: its viable tumor neighbours where `by_tumor` (Plexin-B2 adhesion),
    and the bound escorts whose partner it is where `by_escorts`."""
    held = np.uint32(tumor_mask) if by_tumor else np.uint32(0)
    if by_escorts:
        for j in range(offsets.shape[0]):
            if (np.uint32(escort_mask) >> np.uint32(j)) & np.uint32(1):
                occupant = max(np.int64(occupancy[site_at_offset(site, j, lattice_shape[1], lattice_shape[2],
                                                                 offsets)]), np.int64(0))
                if all_partner[occupant] == cell_id:
                    held |= np.uint32(1) << np.uint32(j)
    return held


@cell_function
def keeping_contacts(free_mask, held, contact_table):
    """The free offsets from which every held contact is still a neighbour."""
    allowed = np.uint32(0)
    for o in range(contact_table.shape[0]):
        if (np.uint32(free_mask) >> np.uint32(o)) & np.uint32(1) and (np.uint32(held) & ~contact_table[o]) == 0:
            allowed |= np.uint32(1) << np.uint32(o)
    return allowed
