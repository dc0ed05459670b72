"""Whether an NK cell holds a cell in a conjugate, for the rules of the cells it holds.

An NK-target conjugate is locked until the kill is decided (seeds/chan2020_nk_organoids.md,
rule 2): the NK cell does not move (nk.patrol), and neither does its target (tumor.leader_migration
asks here). Without the lock a migrating leader left most conjugates before the end, and the kill
found no target.
"""
from __future__ import annotations

import numpy as np

from ..engine.cell_rules import cell_function
from ..engine.scalar import site_at_offset


@cell_function
def held_by_nk(cell_id, site, nk_mask, occupancy, all_partner, all_partner_site, offsets, lattice_shape):
    """True if a touching NK cell holds this cell: its partner is this cell, on this site. (An NK cell
    conjugates with a touching cell and stays while conjugated, so the one holding a cell touches it.)"""
    for j in range(offsets.shape[0]):
        if (np.uint32(nk_mask) >> np.uint32(j)) & np.uint32(1):
            nk = max(np.int64(occupancy[site_at_offset(site, j, lattice_shape[1], lattice_shape[2], offsets)]),
                     np.int64(0))
            if all_partner[nk] == cell_id and all_partner_site[nk] == site:
                return True
    return False
