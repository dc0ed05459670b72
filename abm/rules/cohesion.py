"""Walking without letting go: how a cell held by adhesive contacts (Plexin-B2 to its tumor
neighbours, its own bound escorts) moves without breaking them.

The lattice scheme (issue 21): a held cell moves only into a free neighbouring site from which
every one of its held contacts is still a neighbour, and only if it draws a lower key than each
held neighbour that also wants to move this step. So two touching members of a cluster never move
in the same step, and a move keeps all of the mover's contacts: walking never splits a cluster.
Rim cells roll along it, and the cluster drifts by their rolling, the slower the larger it is
(in suspension, drag slows large aggregates too). Bound escorts follow their partner into the
site it leaves (movement_binding.py), so a tumor cell and its escorts travel as a unit.

Rigid translation of whole clusters was not chosen: it needs each cluster's connected component
every step (iterations that grow with the cluster, and on a GPU a wait for the host per iteration
to learn that they are done), and it would move a large cluster as fast as a single cell.
"""
from __future__ import annotations

import numpy as np

from ..kernels.claims import NO_CLAIM, claim_keys
from ..kernels.neighbours import site_at_offset

_tables: dict = {}


def contact_table(offsets) -> np.ndarray:
    """uint32 per offset o: bit p set where the site at offset p neighbours the site at offset o."""
    neighbourhood = {tuple(int(v) for v in o) for o in offsets}
    table = np.zeros(len(offsets), dtype=np.uint32)
    for o, a in enumerate(offsets):
        for p, b in enumerate(offsets):
            if tuple(int(v) for v in a - b) in neighbourhood:
                table[o] |= np.uint32(1 << p)
    return table


def _contact_table(xp, offsets):
    """The table on the backend, built and uploaded once per neighbourhood (not inside the step loop)."""
    key = (id(xp), np.asarray(offsets).tobytes())
    if key not in _tables:
        _tables[key] = xp.asarray(contact_table(np.asarray(offsets)))
    return _tables[key]


def _bits(xp, masks, n_offsets):
    """(cells, offsets) booleans: bit j of each cell's mask."""
    shifts = xp.arange(n_offsets, dtype=xp.uint32)
    return ((masks.astype(xp.uint32)[:, None] >> shifts[None, :]) & xp.uint32(1)).astype(bool)


def _pack(xp, bits):
    shifts = xp.arange(bits.shape[1], dtype=xp.uint32)
    return (bits.astype(xp.uint32) << shifts[None, :]).sum(axis=1).astype(xp.uint32)


def neighbour_slots(ctx, slots, masks):
    """(cells, offsets) slots of the neighbours the masks mark (0 elsewhere), and the marks."""
    xp, n_offsets = ctx.xp, len(ctx.lattice.offsets)
    marked = _bits(xp, masks, n_offsets)
    sites = site_at_offset(xp.repeat(ctx.agents["site"][slots], n_offsets),
                           xp.tile(xp.arange(n_offsets, dtype=xp.int32), slots.shape[0]),
                           ctx.lattice.shape, ctx.lattice.offsets_device, xp=xp).reshape(-1, n_offsets)
    occupant = ctx.lattice.occupancy[xp.where(marked, sites, 0)].astype(xp.int64)
    return xp.where(marked, xp.maximum(occupant, 0), 0), marked


def held_contacts(ctx, slots, by_tumor, by_escorts):
    """Mask of the neighbouring offsets that hold each cell: its viable tumor neighbours where
    `by_tumor` (Plexin-B2 adhesion), and the bound escorts whose partner it is where `by_escorts`."""
    xp = ctx.xp
    tumor = ctx.mask(slots, "tumor_epithelial", "tumor_mesenchymal")
    escorts = ctx.mask(slots, "neutrophil_bound", "tcell_bound")
    neighbour, marked = neighbour_slots(ctx, slots, escorts)
    own = marked & (ctx.agents["partner"][neighbour] == ctx.agents["id"][slots][:, None])
    return xp.where(by_tumor, tumor, xp.uint32(0)) | xp.where(by_escorts, _pack(xp, own), xp.uint32(0))


def keeping_contacts(ctx, free, held):
    """The free offsets from which every held contact is still a neighbour."""
    xp, n_offsets = ctx.xp, len(ctx.lattice.offsets)
    table = _contact_table(xp, ctx.lattice.offsets)
    keeps = (held.astype(xp.uint32)[:, None] & ~table[None, :]) == 0
    return _pack(xp, _bits(xp, free, n_offsets) & keeps)


def first_among_held(ctx, slots, held, wants, word):
    """True where a cell that wants to move draws a lower key than each held neighbour that also
    wants to move (a cell holding nothing always is): touching cluster members take turns."""
    xp = ctx.xp
    key = claim_keys(word, ctx.agents["id"][slots], xp=xp)
    contender = xp.full(ctx.agents.n, NO_CLAIM, dtype=xp.uint64)
    contender[slots] = xp.where(wants, key, NO_CLAIM)
    neighbour, marked = neighbour_slots(ctx, slots, held)
    rival = xp.where(marked, contender[neighbour], NO_CLAIM).min(axis=1)
    return key < rival


def cohesive_moves(ctx, slots, move_threshold, purpose, walking, held):
    """(destinations, moves) as movement.propose_moves gives them, but a cell with held contacts
    only steps where it keeps them all, and not in the step a held neighbour moves. A cell holding
    nothing walks exactly as propose_moves walks it (the same draws)."""
    xp = ctx.xp
    words = ctx.draws(purpose, slots)
    free = ctx.mask(slots, "empty")
    allowed = xp.where(held > 0, keeping_contacts(ctx, free, held), free)
    has_free, destination, _ = ctx.pick(slots, allowed, words[1])
    wants = walking & has_free & ctx.happens(words[0], move_threshold)
    return destination, wants & first_among_held(ctx, slots, held, wants, words[2])
