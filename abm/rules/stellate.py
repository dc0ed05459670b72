"""Hepatic stellate cells: quiescent until inflammation activates them; activated cells secrete
CXCL12, which quiets the NK cells around them (Correia 2021). They do not move or divide."""
from __future__ import annotations

from dataclasses import dataclass

from ..celltypes import STATE
from ..kernels.philox import rate_threshold
from . import Intents, Secretion, StepContext

S = STATE["stellate"]


@dataclass(frozen=True)
class StellateParams:
    activation_threshold: int
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> StellateParams:
    c = cells.stellate
    level = c.inflammation_level
    if "stellate_activation" in in_force:
        level = max(level, in_force["stellate_activation"].inflammation_level)
    response = level / (c.inflammation_half_max + level)  # uniform in the tissue: computed on the host
    return StellateParams(rate_threshold(c.activation_rate_per_h * response / 60.0, dt_min), c)


def decide(ctx: StepContext, params: StellateParams) -> Intents:
    intents = Intents()
    stellate = ctx.slots_of("stellate")
    quiescent = ctx.agents["state"][stellate] == S["quiescent"]
    activates = quiescent & ctx.happens(ctx.draws("state_change", stellate)[0], params.activation_threshold)
    intents.update("state", stellate, ctx.xp.int8(S["activated"]), where=activates)
    return intents


def secretion(ctx: StepContext, params: StellateParams) -> list:
    xp = ctx.xp
    if params.config.cxcl12_secretion_per_min == 0 or "cxcl12" not in ctx.fields_flat:
        return []
    stellate = ctx.slots_of("stellate")
    active = ctx.agents["state"][stellate] == S["activated"]  # quiescent cells add nothing
    rate = xp.where(active, xp.float32(params.config.cxcl12_secretion_per_min * ctx.dt_min), xp.float32(0))
    return [Secretion("cxcl12", ctx.agents["site"][stellate], rate,
                      xp.ones(stellate.shape[0], dtype=xp.float32))]
