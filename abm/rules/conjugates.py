"""Which cells an NK cell holds in a conjugate, for the rules of the cells it holds.

An NK-target conjugate is locked until the kill is decided (seeds/chan2020_nk_organoids.md,
rule 2): the NK cell does not move (nk.patrol), and neither does its target (tumor.leader_migration
asks here). Without the lock a migrating leader left most conjugates before the end, and the kill
found no target.
"""
from __future__ import annotations


def held_by_nk(ctx, slots):
    """True for each cell in `slots` that an NK cell holds in a conjugate: the cell on the NK cell's
    partner_site still carries its partner's id. Full-length masks: no wait for the device."""
    xp, agents, occupancy = ctx.xp, ctx.agents, ctx.lattice.occupancy
    nk = ctx.slots_of("nk")
    partner, partner_site = agents["partner"][nk], agents["partner_site"][nk]
    there = occupancy[xp.maximum(partner_site, 0)].astype(xp.int64)
    holds = (partner >= 0) & (there >= 0) & (agents["id"][xp.maximum(there, 0)] == partner)
    n_sites = occupancy.shape[0]
    held_site = xp.zeros(n_sites + 1, dtype=bool)  # the spare last entry takes the rows that hold nothing
    held_site[xp.where(holds, partner_site, n_sites)] = True
    held_site[n_sites] = False
    return held_site[agents["site"][slots]]
