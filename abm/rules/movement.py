"""Shared mechanics of cell movement and binding, used by the cell-type rules.

Movement is a lattice random walk into free neighbouring sites, optionally biased up a
chemoattractant (with probability `bias` the cell takes the free neighbour with the highest
concentration if it is higher than its own site's, ties to the lowest offset index; otherwise,
and on a flat field, a uniformly random free neighbour).
"""
from __future__ import annotations

from ..kernels.neighbours import site_at_offset


def uphill_offset(ctx, slots, free_mask, field_name):
    """Offset index of the free neighbour with the highest concentration, if it is higher than at
    the cell's own site (-1 if none is free or none is higher: no gradient to climb, so a flat
    field, e.g. no chemoattractant source, leaves the walk unbiased instead of sending every
    climb to the first offset).

    All offsets at once, as (cells, offsets) arrays: a handful of array operations whatever the
    neighbourhood (on a GPU each operation is a kernel launch). Ties go to the lowest offset
    index: argmax returns the first maximum, as a scan over the offsets keeping only strictly
    higher values would. Sites that are not free read as -1, below any concentration.
    """
    xp = ctx.xp
    field = ctx.fields_flat.get(field_name)
    if field is None:
        return xp.full(slots.shape[0], -1, dtype=xp.int32)
    n_offsets = len(ctx.lattice.offsets)
    bits = xp.arange(n_offsets, dtype=xp.uint32)
    free = ((free_mask.astype(xp.uint32)[:, None] >> bits[None, :]) & xp.uint32(1)).astype(bool)
    neighbours = site_at_offset(xp.repeat(ctx.agents["site"][slots], n_offsets),
                                xp.tile(xp.arange(n_offsets, dtype=xp.int32), slots.shape[0]),
                                ctx.lattice.shape, ctx.lattice.offsets_device, xp=xp).reshape(-1, n_offsets)
    value = xp.where(free, field[xp.where(free, neighbours, 0)], xp.float32(-1.0))
    best = xp.argmax(value, axis=1).astype(xp.int32)
    best_value = xp.take_along_axis(value, best[:, None].astype(xp.int64), axis=1)[:, 0]
    here = field[ctx.agents["site"][slots]]
    return xp.where(best_value > here, best, xp.int32(-1))


def propose_moves(ctx, slots, move_threshold, purpose, bias_threshold=0, field_name=None, walking=None):
    """(destinations, moves): per cell of `slots`, the free neighbouring site it would step into
    and whether it steps this turn.

    move_threshold: host int or per-cell uint64 array; bias_threshold: chance to climb the field;
    walking: mask over `slots` of the cells free to walk (all if None). Draws are per cell id, so
    a cell's move does not depend on which other cells are asked.
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
    if walking is not None:
        moves = moves & walking
    return destination, moves
