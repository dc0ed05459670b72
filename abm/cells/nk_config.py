"""The NK cell's configuration: every key a scenario or the parameter set may give an NK cell, with
its units (abm/cells/nk.py holds the rules that read it)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ..configtypes import HillExponent, NonNegative, Positive, Probability, Strict


class NKConfig(Strict):
    move_rate_per_h: NonNegative = Field(
        6.0, description="rate of random-walk steps to a free neighbouring site, 1/h (none while conjugated)")
    chemotaxis_bias: Probability = Field(
        0.0, description="chance that a move goes to the free neighbour with the most chemoattractant")
    kill_probability_per_contact: Probability = Field(
        description="kill probability of a contact with an isolated target (no ligand or receptor inhibition)")
    conjugation_time_min: NonNegative = Field(
        0.0, description="duration of an NK-target conjugate before the kill is decided, min")
    max_kills: Annotated[int, Field(ge=0)] = Field(0, description="kills before exhaustion (0: unlimited)")
    inhibitory_receptor_weight: NonNegative = Field(
        1.0, description="weight of the NK cell's inhibitory receptors against the target's activating ligands")
    inhibitory_receptor_gain_per_contact: NonNegative = Field(
        0.0, description="TIGIT/KLRG1 increase per tumor contact (education)")
    initial_inhibitory_receptors: NonNegative = Field(
        0.0, description="inhibitory receptor level at the start (tumor-exposed NK: high)")
    exposed_threshold: Positive = Field(1.0, description="inhibitory receptor level from which an NK cell is tumor-exposed",
                                        json_schema_extra={"units": "receptor level"})
    ifng_secretion_per_min: NonNegative = Field(0.0, description="IFN-gamma added at the site of an active NK cell, per min")
    ifng_secretion_in_contact_per_min: NonNegative | None = Field(
        None, description="IFN-gamma secretion while conjugated, per min (default: as when active)")
    cxcl12_quiescence_half_max: Positive | None = Field(
        None, description="CXCL12 sensed through CXCR4 at which half of the NK cells are quiescent at steady state "
                          "(no secretion, no killing, no division; Correia 2021 gives the direction only: assumed; "
                          "none: never quiescent)")
    cxcl12_quiescence_hill_n: HillExponent = Field(
        2, description="Hill exponent of the quiescence response to CXCL12 (assumed: no dose-response measured)")
    quiescence_switch_rate_per_h: NonNegative = Field(
        0.1, description="rate of entering quiescence at saturating CXCL12, and of leaving it without CXCL12, 1/h "
                         "(assumed: a change of cell state over hours, no measured rate)")
    proliferation_rate_per_h: NonNegative = Field(
        0.0, description="division rate at saturating IL-15 into a free site, 1/h")
    il15_half_max: Positive = Field(1.0, description="IL-15 giving half-maximal proliferation and survival effects")
    il15_survival_gain: Probability = Field(0.0, description="fraction of the death rate removed at saturating IL-15")
    il15_uptake_per_min: NonNegative = Field(0.0, description="IL-15 consumed at the NK cell's site, 1/min")
    death_rate_per_h: NonNegative = Field(0.0, description="death rate without IL-15, 1/h")

    @model_validator(mode="before")
    @classmethod
    def _old_quiescence_keys(cls, data):
        # a threshold is not a half-max, and no source supports IL-15 raising it: refuse, do not convert
        if isinstance(data, dict) and "cxcl12_quiescence_threshold" in data:
            raise ValueError("cxcl12_quiescence_threshold is replaced by cxcl12_quiescence_half_max (graded "
                             "quiescence: a Hill response with cxcl12_quiescence_hill_n and "
                             "quiescence_switch_rate_per_h, not a threshold)")
        if isinstance(data, dict) and "il15_quiescence_resistance" in data:
            raise ValueError("il15_quiescence_resistance is removed: IL-15 acts through proliferation_rate_per_h "
                             "and il15_survival_gain only (no source for IL-15 resisting CXCL12)")
        return data
