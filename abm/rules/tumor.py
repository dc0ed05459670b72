"""Tumor cells: divide into a free neighbouring site; die at a baseline rate.

Contact inhibition is local: a cell with no free neighbouring site cannot divide. The daughter
takes the claimed site; when two cells claim one site, claim-then-resolve picks one and the
other simply does not divide this step.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..kernels.philox import rate_threshold
from . import EMPTY_COLUMN, Intents, StepContext


@dataclass(frozen=True)
class TumorParams:
    division_threshold: int
    death_threshold: int


def prepare(config, dt_min: float) -> TumorParams:
    return TumorParams(
        division_threshold=rate_threshold(config.division_rate_per_h / 60.0, dt_min),
        death_threshold=rate_threshold(config.death_rate_per_h / 60.0, dt_min),
    )


def decide(ctx: StepContext, params: TumorParams) -> Intents:
    intents = Intents()
    tumor = ctx.slots_of("tumor")

    # Baseline death: a per-step chance, independent of neighbours.
    death_words = ctx.draws("tumor_death", tumor)
    dies = ctx.happens(death_words[0], params.death_threshold)
    intents.deaths.append((tumor[dies],))

    # Division into a uniformly chosen free neighbouring site.
    division_words = ctx.draws("tumor_division", tumor)
    has_free_site, target = ctx.random_neighbour(tumor, EMPTY_COLUMN, division_words[1])
    divides = ctx.happens(division_words[0], params.division_threshold) & has_free_site & ~dies
    intents.divisions.append((tumor[divides], target[divides]))
    return intents
