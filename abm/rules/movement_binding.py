"""Bonds between an escort cell (neutrophil, T cell) and a VCAM1+ tumor cell it touches.

The escort stores its partner's id (and the partner's site, kept current for viewers). A bond
holds while the two still touch and the partner is viable; it breaks at a constant rate, or when
the partner dies or no longer touches it. A bound escort follows its partner: when the partner
moves, the escort steps into the site the partner left (Intents.follow, resolved after the moves),
so the pair travels as a unit instead of the bond breaking with every step of the tumor cell.
"""
from __future__ import annotations

from ..kernels.neighbours import site_to_coords


def slot_of(ctx, ids):
    """(found, slot) of cells given by id: ids ascend with the slot (abm/state.py), so a binary
    search on the device; `slot` is a valid index (0) where the id is not found."""
    xp = ctx.xp
    agent_ids = ctx.agents["id"]
    slot = xp.minimum(xp.searchsorted(agent_ids, ids), agent_ids.shape[0] - 1)
    return (ids >= 0) & (agent_ids[slot] == ids), slot


def touching(ctx, sites_a, sites_b):
    """True where two sites are lattice neighbours (Moore: no axis differs by more than 1; von
    Neumann: exactly one axis differs, by 1)."""
    xp = ctx.xp
    a, b = site_to_coords(sites_a, ctx.lattice.shape, xp), site_to_coords(sites_b, ctx.lattice.shape, xp)
    dx, dy, dz = (xp.abs(u - v) for u, v in zip(a, b))
    if len(ctx.lattice.offsets) in (8, 26):  # Moore
        return xp.maximum(xp.maximum(dx, dy), dz) == 1
    return dx + dy + dz == 1


def partner_still_there(ctx, slots):
    """(holds, partner slot): the stored partner still lives, touches the cell and is a viable tumor
    cell. The slot is a valid index wherever the partner is not found (then holds is False)."""
    xp, agents = ctx.xp, ctx.agents
    found, partner = slot_of(ctx, agents["partner"][slots])
    category = ctx.category[partner]
    viable = (category == ctx.spec.category["tumor_epithelial"]) | (category == ctx.spec.category["tumor_mesenchymal"])
    return found & viable & touching(ctx, agents["site"][slots], agents["site"][partner]), partner


def keep_or_break_bonds(ctx, intents, slots, unbinding_threshold, purpose):
    """Bound escorts whose bond breaks this step lose their partner. Returns (still bound, partner slot)."""
    xp, agents = ctx.xp, ctx.agents
    bound = agents["partner"][slots] >= 0
    words = ctx.draws(purpose, slots)
    there, partner = partner_still_there(ctx, slots)
    holds = bound & there & ~ctx.happens(words[3], unbinding_threshold)
    broken = bound & ~holds
    intents.update("partner", slots, xp.int64(-1), where=broken)
    intents.update("partner_site", slots, xp.where(holds, agents["site"][partner], xp.int64(-1)), where=bound)
    return holds, partner


def bind_to_touching_tumor(ctx, intents, slots, free, binding_threshold, purpose):
    """Free escorts touching a viable tumor cell pick one; if it is VCAM1+ they may bind it.

    Returns (the escorts that bound this step, the slot of the cell each picked).
    """
    xp = ctx.xp
    agents = ctx.agents
    words = ctx.draws(purpose, slots)
    touches, target_site, _ = ctx.random_neighbour(slots, words[0], "tumor_epithelial", "tumor_mesenchymal")
    target = xp.maximum(ctx.lattice.occupancy[xp.where(touches, target_site, 0)].astype(xp.int64), 0)
    binds = free & touches & (agents["vcam1"][target] > 0) & ctx.happens(words[1], binding_threshold)
    intents.update("partner", slots, agents["id"][target], where=binds)
    intents.update("partner_site", slots, target_site, where=binds)
    return binds, target
