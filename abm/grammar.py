"""Behaviour rules without Python: "in <cell type>, <signal> increases/decreases <behaviour>".

A config's `rules:` list, in the spirit of PhysiCell's rules: each entry names a cell type, a
signal it senses, a direction, one of the behaviours the type exposes (`abm rules CONFIG`
lists them), and a Hill response (half-max, exponent) towards a saturation value.

Signals: the local concentration of a field (`ifng`), the number of neighbours in a category
(`neighbours.tumor_epithelial`, `neighbours.empty`), contact with a type (`contact.nk`: 1 when
touching one, else 0), and the time in the current state (`time_in_state_min`).

Behaviours a type exposes are rates (1/h: division, dormancy entry, motility, a state change),
probabilities (kill probability per contact) or amounts per minute (1/min: a secretion).

Several rules on one behaviour combine around its baseline b0 (the value the type's own rules
set, or the behaviour's base):
    U = min(1, sum of the increasing rules' Hill terms),  D = min(1, sum of the decreasing ones)
    b = (1 - D) * ((1 - U) * b0 + U * b_max) + D * b_min
b_max: the largest saturation of the increasing rules, b_min: the smallest of the decreasing
ones. Rates (units 1/h) are turned into per-step probabilities first, so b is the chance per
step; secretions (1/min) into amounts per step. Each term is an array operation on the type's cells: the same on NumPy and CuPy.

A rule may name the therapies that block it (`blocked_by: [galunisertib]`): while they are in
force, its Hill term is scaled by the product of (1 - efficiency), so a full block removes it.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .configtypes import HillExponent, NonNegative, Positive, Strict
from .interventions import efficiency


class GrammarRule(Strict):
    cell_type: str = Field(description="the cell type whose behaviour responds")
    signal: str = Field(description="field name, neighbours.<category>, contact.<type> or time_in_state_min")
    direction: Literal["increases", "decreases"] = Field(description="the signal raises or lowers the behaviour")
    behaviour: str = Field(description="a behaviour the type exposes (abm rules CONFIG lists them with units)")
    half_max: Positive = Field(description="signal giving half the response, in the signal's units")
    hill_n: HillExponent = Field(1, description="Hill exponent")
    saturation: NonNegative = Field(
        description="the behaviour's value at saturating signal, in the behaviour's units (1/h for rates)")
    blocked_by: list[str] = Field(
        default_factory=list, description="therapies (blockades) that block this rule: while one is in force, "
                                          "its efficiency scales the rule's effect down (efficiency 1: no effect)")

    def check(self, spec, config, where: str) -> None:
        """Raise ValueError naming `where` if a name does not exist in this model."""
        if self.cell_type not in spec.types:
            raise ValueError(f"{where}.cell_type: unknown cell type {self.cell_type!r} "
                             f"(types: {', '.join(spec.type_names)})")
        try:
            behaviour = spec.behaviour(self.cell_type, self.behaviour)
        except KeyError as error:
            raise ValueError(f"{where}.behaviour: {error.args[0]}") from None
        acting = f"{self.cell_type}.{behaviour.used_by}"
        if acting in config.ablate:
            raise ValueError(f"{where}.behaviour: {self.behaviour} is acted on by the rule {acting}, which is "
                             f"ablated in this config")
        if not spec.rules[acting][1].active(config) and not behaviour.drivable(config):
            raise ValueError(f"{where}.behaviour: {self.behaviour} is acted on by the rule {acting}, which cannot "
                             f"run in this config (inactive)")
        self._check_blocks(spec, where)
        kind, _, name = self.signal.partition(".")
        if self.signal == "time_in_state_min" or self.signal in config.fields:
            return
        if kind == "neighbours" and (name == "empty" or name in spec.category):
            return
        if kind == "contact" and name in spec.types:
            return
        raise ValueError(f"{where}.signal: unknown signal {self.signal!r}: expected a field of this config "
                         f"({', '.join(config.fields) or 'none'}), neighbours.<category> "
                         f"({', '.join(spec.category)}, empty), contact.<type> or time_in_state_min")

    def _check_blocks(self, spec, where: str) -> None:
        for i, name in enumerate(self.blocked_by):
            if name not in spec.therapies:
                raise ValueError(f"{where}.blocked_by.{i}: unknown therapy {name!r} "
                                 f"(therapies: {', '.join(sorted(spec.therapies))})")
            therapy = spec.therapies[name][1]
            if "efficiency" not in therapy.config.model_fields:
                blockades = sorted(n for n, (_, t) in spec.therapies.items() if "efficiency" in t.config.model_fields)
                raise ValueError(f"{where}.blocked_by.{i}: therapy {name!r} is not a blockade (it has no efficiency; "
                                 f"blockades: {', '.join(blockades)})")

    def sentence(self) -> str:
        blocked = f"; blocked by {', '.join(self.blocked_by)}" if self.blocked_by else ""
        return (f"in {self.cell_type} cells, {self.signal} {self.direction} {self.behaviour} "
                f"(half-max {self.half_max:g}, Hill {self.hill_n}, saturation {self.saturation:g}{blocked})")


def per_step(value: float, units: str, dt_min: float) -> float:
    """A behaviour value per step: rates (1/h) as a chance, 1 - exp(-rate dt); amounts per
    minute (1/min, a secretion) times dt; probabilities as they are."""
    if units == "1/h":  # the same expression as the types' prepare: the same float64 bits
        return float(-np.expm1(-value * (1.0 / 60.0) * dt_min))
    if units == "1/min":
        return float(value * dt_min)
    return float(value)


def unblocked(in_force: dict, blocked_by) -> float:
    """The fraction of a rule's effect left by the blockades in force that block it: the product
    of (1 - efficiency) over them (independent blocks); 1 when none is in force."""
    left = 1.0
    for name in blocked_by:
        left *= 1.0 - efficiency(in_force, name)
    return left
