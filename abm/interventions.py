"""Therapies and perturbations as config switches, each active from its start time.

The kinds of switch a therapy's config can be (a plain switch, a blockade with an efficiency,
an added cytokine source, an inflammation level). Each therapy is declared by the module of the
cells it acts on (a `Therapy` in abm/cells/<type>.py or a plugin), and the `interventions`
section of a config has one key per declared therapy.

An intervention never scripts an outcome: it changes a parameter or a cell property that the
local rules read (a blocked receptor, a removed cell type, an added cytokine source), and the
consequences follow from the rules. Every effect is a pure function of the time, so a resumed
run applies exactly what an uninterrupted one would.
"""
from __future__ import annotations

from pydantic import Field

from .configtypes import NonNegative, Probability, Strict


class Switch(Strict):
    start_h: NonNegative = Field(0.0, description="time the intervention starts, h")
    stop_h: NonNegative | None = Field(None, description="time it stops, h (none: to the end of the run)")


class Blockade(Switch):
    efficiency: Probability = Field(1.0, description="fraction of the targeted signal removed")


class CytokineSource(Switch):
    production_per_min: NonNegative = Field(description="added uniform production of the cytokine, per min")


class Inflammation(Switch):
    inflammation_level: NonNegative = Field(description="tissue inflammation level from the start time")


def active(interventions, time_min: float) -> dict[str, Switch]:
    """Interventions in force during a step starting at time_min."""
    return {
        name: switch for name, switch in interventions
        if switch is not None and time_min >= switch.start_h * 60.0 - 1e-9
        and (switch.stop_h is None or time_min < switch.stop_h * 60.0 - 1e-9)
    }


def efficiency(in_force: dict, name: str) -> float:
    switch = in_force.get(name)
    return 0.0 if switch is None else float(getattr(switch, "efficiency", 1.0))
