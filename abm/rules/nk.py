"""NK cells: kill a touching tumor cell with a probability per contact; otherwise random-walk;
secrete IFN-gamma at their site.

While an NK cell touches at least one tumor cell it stays in contact (no walking) and each
step attempts to kill one of them, chosen uniformly. Two NK cells attacking the same tumor
cell are resolved by claim-then-resolve: one gets the kill.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..celltypes import TYPE_CODE
from ..kernels.philox import probability_threshold, rate_threshold
from . import EMPTY_COLUMN, Intents, StepContext


@dataclass(frozen=True)
class NKParams:
    move_threshold: int
    kill_threshold: int
    ifng_secreted_per_step: float  # concentration units added at the NK cell's site


def prepare(config, dt_min: float) -> NKParams:
    return NKParams(
        move_threshold=rate_threshold(config.move_rate_per_h / 60.0, dt_min),
        kill_threshold=probability_threshold(config.kill_probability_per_contact),
        ifng_secreted_per_step=config.ifng_secretion_per_min * dt_min,
    )


def decide(ctx: StepContext, params: NKParams) -> Intents:
    intents = Intents()
    nk = ctx.slots_of("nk")

    # Contact killing: pick one touching tumor cell; the attempt succeeds with the per-contact probability.
    kill_words = ctx.draws("nk_kill", nk)
    touches_tumor, target = ctx.random_neighbour(nk, TYPE_CODE["tumor"], kill_words[1])
    kills = touches_tumor & ctx.happens(kill_words[0], params.kill_threshold)
    intents.kills.append((nk[kills], target[kills]))

    # Random walk, only for NK cells not engaged with a tumor cell.
    move_words = ctx.draws("nk_move", nk)
    has_free_site, destination = ctx.random_neighbour(nk, EMPTY_COLUMN, move_words[1])
    moves = ~touches_tumor & has_free_site & ctx.happens(move_words[0], params.move_threshold)
    intents.moves.append((nk[moves], destination[moves]))
    return intents


def secretion_sites(ctx_agents, xp):
    """Sites of IFN-gamma secreting NK cells (all NK cells in the minimal biology)."""
    return ctx_agents["site"][ctx_agents["cell_type"] == TYPE_CODE["nk"]]
