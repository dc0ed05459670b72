"""Neutrophils escort circulating tumor cells (Szczerba 2019): they walk (up the tumor
chemoattractant), bind VCAM1+ tumor cells they touch into neutrophil-tumor clusters, and secrete
IL-6/IL-1beta-like cytokine (more when bound) that shortens nearby tumor cells' cycle.
Their lifespan is short."""
from __future__ import annotations

from dataclasses import dataclass

from ..celltypes import STATE
from . import Intents, Secretion, StepContext
from .escort import decide_escort, thresholds

S = STATE["neutrophil"]


@dataclass(frozen=True)
class NeutrophilParams:
    thresholds: dict
    depleted: bool
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> NeutrophilParams:
    return NeutrophilParams(thresholds(cells.neutrophil, dt_min), "neutrophil_depletion" in in_force, cells.neutrophil)


def decide(ctx: StepContext, params: NeutrophilParams) -> Intents:
    intents = Intents()
    decide_escort(ctx, intents, ctx.slots_of("neutrophil"), params.thresholds, S, params.depleted,
                  ("binding", "escort_move"))
    return intents


def secretion(ctx: StepContext, params: NeutrophilParams) -> list:
    xp, c = ctx.xp, params.config
    if "neutrophil_cytokine" not in ctx.fields_flat:
        return []
    cells = ctx.slots_of("neutrophil")
    bound = ctx.agents["state"][cells] == S["bound"]
    rate = xp.where(bound, xp.float32(c.cytokine_secretion_bound_per_min * ctx.dt_min),
                    xp.float32(c.cytokine_secretion_per_min * ctx.dt_min)).astype(xp.float32)
    return [Secretion("neutrophil_cytokine", ctx.agents["site"][cells], rate, xp.ones(cells.shape[0], dtype=xp.float32))]
