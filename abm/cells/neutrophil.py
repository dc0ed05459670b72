"""Neutrophils escort circulating tumor cells (Szczerba 2019): they walk (up the tumor
chemoattractant), bind VCAM1+ tumor cells they touch into neutrophil-tumor clusters, and secrete
IL-6/IL-1beta-like cytokine (more when bound) that shortens nearby tumor cells' cycle.
Their lifespan is short."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from ..configtypes import NonNegative, Positive, Probability, Strict
from ..engine.cell_rules import cell_rule, current_value
from ..interventions import Switch
from ..rules import escort
from ..spec import Behaviour, Category, CellType, FieldUse, Therapy

STATES = ("free", "bound")
S = {name: code for code, name in enumerate(STATES)}


class NeutrophilConfig(Strict):
    move_rate_per_h: NonNegative = Field(6.0, description="random-walk rate of free neutrophils, 1/h")
    chemotaxis_bias: Probability = Field(0.0, description="chance that a move goes up the chemoattractant")
    binding_probability_per_contact: Probability = Field(
        0.0, description="chance per step that a free neutrophil binds a touching VCAM1+ tumor cell")
    unbinding_rate_per_h: NonNegative = Field(0.0, description="rate at which a bond breaks, 1/h")
    cytokine_secretion_per_min: NonNegative = Field(
        0.0, description="IL-6/IL-1beta-like cytokine added at a free neutrophil's site, per min")
    cytokine_secretion_bound_per_min: NonNegative = Field(
        0.0, description="cytokine secretion while bound to a tumor cell, per min")
    lifespan_h: Positive | None = Field(None, description="mean lifespan, h (none: immortal)")


@dataclass(frozen=True)
class NeutrophilParams:
    thresholds: dict
    cytokine_secretion_per_step: float  # of a free cell: the behaviour's base
    cytokine_secretion_bound_per_step: float
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> NeutrophilParams:
    c = cells.neutrophil
    return NeutrophilParams(escort.thresholds(c, dt_min), c.cytokine_secretion_per_min * dt_min,
                            c.cytokine_secretion_bound_per_min * dt_min, c)


@cell_rule("neutrophils secrete IL-6/IL-1beta-like cytokine, more while bound", "secrete_neutrophil_cytokine",
           ("neutrophil.cytokine_secretion_per_min", "neutrophil.cytokine_secretion_bound_per_min"),
           phase="secrete", when=lambda c: "neutrophil_cytokine" in c.fields)
def cytokine_secretion(behaviour_cytokine_secretion):
    return behaviour_cytokine_secretion


@current_value
def secretion_now(state, p):
    """Cytokine added per step by each cell: more while bound to a tumor cell."""
    if state == escort.BOUND:
        return np.float32(p.cytokine_secretion_bound_per_step)
    return np.float32(p.cytokine_secretion_per_step)


NEUTROPHIL = CellType(
    name="neutrophil",
    describe="neutrophils escorting circulating tumor cells",
    states=STATES,
    config=NeutrophilConfig,
    prepare=prepare,
    categories=(Category("neutrophil_free", None, "a neutrophil not bound to a tumor cell"),
                Category("neutrophil_bound", escort.bound_to_tumor,
                         "a neutrophil bound to a tumor cell")),
    purposes=dict(escort.PURPOSES),
    rules=escort.escort_rules("neutrophil", "neutrophils", NeutrophilConfig) + [cytokine_secretion],
    working=dict(escort.WORKING),
    finish=escort.FINISH,
    fields=(FieldUse("neutrophil_cytokine", "IL-6/IL-1beta-like signal of neutrophils; shortens the tumor cycle"),),
    therapies=(Therapy("neutrophil_depletion", Switch, "anti-Ly6G: neutrophils are removed", depletes=True),),
    behaviours=escort.escort_behaviours("neutrophil") + (
        Behaviour("cytokine_secretion", lambda p: p.cytokine_secretion_per_step, "1/min",
                  "IL-6/IL-1beta-like cytokine secretion (the base: free cells; bound cells secrete at their own rate)",
                  used_by="cytokine_secretion", current=secretion_now,
                  base_key="neutrophil.cytokine_secretion_per_min",
                  requires=lambda c: "neutrophil_cytokine" in c.fields),
    ),
)


def register(spec) -> None:
    spec.add_cell_type(NEUTROPHIL)
