"""Shared mechanics of cell movement and binding, used by the cell-type rules.

Movement is a lattice random walk into free neighbouring sites, optionally biased up a
chemoattractant (with probability `bias` the cell takes the free neighbour with the highest
concentration, ties to the lowest offset index; otherwise a uniformly random free neighbour).
"""
from __future__ import annotations

from ..kernels.neighbours import neighbour_site, site_at_offset


def uphill_offset(ctx, slots, free_mask, field_name):
    """Offset index of the free neighbour with the highest concentration (-1 if none is free)."""
    xp = ctx.xp
    field = ctx.fields_flat.get(field_name)
    best = xp.full(slots.shape[0], -1, dtype=xp.int32)
    if field is None:
        return best
    best_value = xp.full(slots.shape[0], -1.0, dtype=xp.float32)
    sites = ctx.agents["site"][slots]
    for j, offset in enumerate(ctx.lattice.offsets):
        free = ((free_mask >> xp.uint32(j)) & xp.uint32(1)).astype(bool)
        neighbour = neighbour_site(sites, offset, ctx.lattice.shape, xp)
        value = xp.where(free, field[xp.maximum(neighbour, 0)], xp.float32(-1.0))
        better = free & (value > best_value)
        best = xp.where(better, xp.int32(j), best)
        best_value = xp.where(better, value, best_value)
    return best


def propose_moves(ctx, slots, move_threshold, purpose, bias_threshold=0, field_name=None):
    """(movers, destinations, offsets) for cells that step this turn into a free neighbouring site.

    move_threshold: host int or per-cell uint64 array; bias_threshold: chance to climb the field.
    """
    xp = ctx.xp
    words = ctx.draws(purpose, slots)
    free_mask = ctx.mask(slots, "empty")
    has_free, destination, offset = ctx.pick(slots, free_mask, words[1])
    if bias_threshold and field_name is not None:
        climbs = ctx.happens(words[2], bias_threshold)
        uphill = uphill_offset(ctx, slots, free_mask, field_name)
        offset = xp.where(climbs & (uphill >= 0), uphill, offset)
        destination = site_at_offset(ctx.agents["site"][slots], offset, ctx.lattice.shape,
                                     ctx.lattice.offsets_device, xp=xp)
    moves = has_free & ctx.happens(words[0], move_threshold)
    return slots[moves], destination[moves], offset[moves]
