"""Therapies and perturbations as config switches, each active from its start time.

An intervention never scripts an outcome: it changes a parameter or a cell property that the
local rules read (a blocked receptor, a removed cell type, an added cytokine source), and the
consequences follow from the rules. Every effect is a pure function of the time, so a resumed
run applies exactly what an uninterrupted one would.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Switch(Strict):
    start_h: NonNegative = Field(0.0, description="time the intervention starts, h")
    stop_h: NonNegative | None = Field(None, description="time it stops, h (none: to the end of the run)")


class Blockade(Switch):
    efficiency: Probability = Field(1.0, description="fraction of the targeted signal removed")


class CytokineSource(Switch):
    production_per_min: NonNegative = Field(description="added uniform production of the cytokine, per min")


class Inflammation(Switch):
    inflammation_level: NonNegative = Field(description="tissue inflammation level from the start time")


class InterventionsConfig(Strict):
    nk_depletion: Switch | None = Field(None, description="anti-NK antibody: NK cells are removed")
    il15: CytokineSource | None = Field(None, description="IL-15 therapy: uniform IL-15 production added")
    ifng_therapy: CytokineSource | None = Field(None, description="IFN-gamma therapy: uniform IFN-gamma production")
    cxcr4_block: Blockade | None = Field(None, description="CXCR4 antagonist: NK cells sense less CXCL12")
    tigit_klrg1_block: Blockade | None = Field(
        None, description="anti-TIGIT/KLRG1: NK inhibitory receptors signal less")
    neutrophil_depletion: Switch | None = Field(None, description="anti-Ly6G: neutrophils are removed")
    vcam1_knockout: Switch | None = Field(None, description="tumor cells lose VCAM1")
    cytokine_blockade: Blockade | None = Field(
        None, description="IL-6/IL-1beta blockade: tumor cells respond less to neutrophil cytokine")
    plxnb2_knockout: Switch | None = Field(None, description="tumor cells lose Plexin-B2")
    anti_vla4: Blockade | None = Field(None, description="anti-VLA-4: T cells bind VCAM1 less")
    emt_induction: Switch | None = Field(None, description="tumor cells undergo EMT (lose epithelial character)")
    stellate_activation: Inflammation | None = Field(
        None, description="liver injury: inflammation that activates hepatic stellate cells")


def active(interventions: InterventionsConfig, time_min: float) -> dict[str, Switch]:
    """Interventions in force during a step starting at time_min."""
    return {
        name: switch for name, switch in interventions
        if switch is not None and time_min >= switch.start_h * 60.0 - 1e-9
        and (switch.stop_h is None or time_min < switch.stop_h * 60.0 - 1e-9)
    }


def efficiency(in_force: dict, name: str) -> float:
    switch = in_force.get(name)
    return 0.0 if switch is None else float(getattr(switch, "efficiency", 1.0))
