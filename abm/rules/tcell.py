"""CD4/CD8 double-positive T cells (Northwestern 2025): they walk, join tumor clusters by binding
VCAM1+ tumor cells through VLA-4 (blocked by anti-VLA-4), and while bound they dampen NK
killing of the tumor cells they touch (applied in the NK rule) and hold the cluster together."""
from __future__ import annotations

from dataclasses import dataclass

from ..celltypes import STATE
from ..interventions import efficiency
from . import Intents, StepContext
from .escort import decide_escort, thresholds

S = STATE["tcell"]


@dataclass(frozen=True)
class TCellParams:
    thresholds: dict
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> TCellParams:
    return TCellParams(thresholds(cells.tcell, dt_min, 1.0 - efficiency(in_force, "anti_vla4")), cells.tcell)


def decide(ctx: StepContext, params: TCellParams) -> Intents:
    intents = Intents()
    decide_escort(ctx, intents, ctx.slots_of("tcell"), params.thresholds, S, False, ("binding", "escort_move"))
    return intents


def secretion(ctx: StepContext, params: TCellParams) -> list:
    return []
