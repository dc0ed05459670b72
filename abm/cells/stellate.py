"""Hepatic stellate cells: quiescent until inflammation activates them; activated cells secrete
CXCL12, which quiets the NK cells around them (Correia 2021). They do not move or divide."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from ..configtypes import NonNegative, Positive, Strict
from ..interventions import Inflammation
from ..engine.cell_rules import cell_rule
from ..engine.scalar import happens
from ..kernels.philox import rate_threshold
from ..spec import Behaviour, Category, CellType, FieldUse, Therapy

STATES = ("quiescent", "activated")
S = {name: code for code, name in enumerate(STATES)}


class StellateConfig(Strict):
    activation_rate_per_h: NonNegative = Field(
        0.0, description="activation rate at saturating inflammation, 1/h")
    inflammation_level: NonNegative = Field(0.0, description="tissue inflammation level (0: none); see interventions")
    inflammation_half_max: Positive = Field(1.0, description="inflammation giving half-maximal activation rate")
    cxcl12_secretion_per_min: NonNegative = Field(0.0, description="CXCL12 added at an activated cell's site, per min")


@dataclass(frozen=True)
class StellateParams:
    activation_threshold: int
    activation_probability: float  # per step, at the tissue's inflammation level: the behaviour's base
    cxcl12_secretion_per_step: float
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> StellateParams:
    c = cells.stellate
    level = c.inflammation_level
    if "stellate_activation" in in_force:
        level = max(level, in_force["stellate_activation"].inflammation_level)
    response = level / (c.inflammation_half_max + level)  # uniform in the tissue: computed on the host
    rate_per_min = c.activation_rate_per_h * response / 60.0
    return StellateParams(rate_threshold(rate_per_min, dt_min), float(-np.expm1(-rate_per_min * dt_min)),
                          c.cxcl12_secretion_per_min * dt_min, c)


QUIESCENT, ACTIVATED = S["quiescent"], S["activated"]


@cell_rule("tissue inflammation activates quiescent stellate cells (Hill response of the level)",
           returns="new_state",
           reads=("stellate.activation_rate_per_h", "stellate.inflammation_level", "stellate.inflammation_half_max"))
def inflammatory_activation(state, new_state, draws_state_change, threshold_activation):
    """A quiescent cell activates with the chance the tissue's inflammation sets (or a signal's)."""
    if state == QUIESCENT and happens(draws_state_change[0], threshold_activation):
        return ACTIVATED
    return new_state


@cell_rule("activated stellate cells secrete CXCL12", returns="secrete_cxcl12", phase="secrete",
           reads=("stellate.cxcl12_secretion_per_min",),
           when=lambda c: c.cells.stellate.cxcl12_secretion_per_min > 0 and "cxcl12" in c.fields)
def cxcl12_secretion(state, behaviour_cxcl12_secretion):
    """Activated cells add CXCL12 at their site; quiescent ones add nothing."""
    return behaviour_cxcl12_secretion if state == ACTIVATED else np.float32(0.0)


STELLATE = CellType(
    name="stellate",
    describe="hepatic stellate cells (liver)",
    states=STATES,
    config=StellateConfig,
    prepare=prepare,
    categories=(Category("stellate", None, "any stellate cell"),),
    purposes={"state_change": 9},  # the key from before the spec existed: bit-identical runs
    rules=[inflammatory_activation, cxcl12_secretion],
    fields=(FieldUse("cxcl12", "CXCL12, secreted by activated stellate cells", "a.u."),),
    therapies=(Therapy("stellate_activation", Inflammation,
                       "liver injury: inflammation that activates hepatic stellate cells"),),
    behaviours=(
        Behaviour("activation", lambda p: p.activation_probability, "1/h",
                  "activation of a quiescent cell (the base: the Hill response of the tissue's inflammation)",
                  used_by="inflammatory_activation", base_key="stellate.activation_rate_per_h",
                  threshold="activation_threshold"),
        Behaviour("cxcl12_secretion", lambda p: p.cxcl12_secretion_per_step, "1/min",
                  "CXCL12 secretion of an activated cell", used_by="cxcl12_secretion",
                  base_key="stellate.cxcl12_secretion_per_min", requires=lambda c: "cxcl12" in c.fields),
    ),
)


def register(spec) -> None:
    spec.add_cell_type(STELLATE)
