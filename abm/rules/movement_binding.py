"""Bonds between an escort cell (neutrophil, T cell) and a VCAM1+ tumor cell it touches.

The escort stores its partner's id and site. A bond holds while the partner is still there and
viable; it breaks at a constant rate, or when the partner dies or leaves.
"""
from __future__ import annotations


def partner_still_there(ctx, slots):
    """True where the stored partner still sits at its site and is a viable tumor cell."""
    xp = ctx.xp
    agents = ctx.agents
    partner_site = agents["partner_site"][slots]
    occupant = ctx.lattice.occupancy[xp.maximum(partner_site, 0)].astype(xp.int64)
    ok = (agents["partner"][slots] >= 0) & (partner_site >= 0) & (occupant >= 0)
    safe = xp.maximum(occupant, 0)
    category = ctx.category[safe]
    viable = (category == ctx.spec.category["tumor_epithelial"]) | (category == ctx.spec.category["tumor_mesenchymal"])
    return ok & (agents["id"][safe] == agents["partner"][slots]) & viable


def keep_or_break_bonds(ctx, intents, slots, unbinding_threshold, purpose):
    """Bound escorts whose bond breaks this step lose their partner. Returns the still-bound mask."""
    xp = ctx.xp
    bound = ctx.agents["partner"][slots] >= 0
    words = ctx.draws(purpose, slots)
    holds = bound & partner_still_there(ctx, slots) & ~ctx.happens(words[3], unbinding_threshold)
    broken = bound & ~holds
    intents.update("partner", slots, xp.int64(-1), where=broken)
    intents.update("partner_site", slots, xp.int64(-1), where=broken)
    return holds


def bind_to_touching_tumor(ctx, intents, slots, free, binding_threshold, purpose):
    """Free escorts touching a viable tumor cell pick one; if it is VCAM1+ they may bind it.

    Returns the mask of escorts that bound this step.
    """
    xp = ctx.xp
    agents = ctx.agents
    words = ctx.draws(purpose, slots)
    touches, target_site, _ = ctx.random_neighbour(slots, words[0], "tumor_epithelial", "tumor_mesenchymal")
    target = xp.maximum(ctx.lattice.occupancy[xp.where(touches, target_site, 0)].astype(xp.int64), 0)
    binds = free & touches & (agents["vcam1"][target] > 0) & ctx.happens(words[1], binding_threshold)
    intents.update("partner", slots, agents["id"][target], where=binds)
    intents.update("partner_site", slots, target_site, where=binds)
    return binds
