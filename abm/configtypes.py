"""Number types and the strict base model shared by every config section (core and plugins).

Units live in the key names (`_per_h`, `_min`, `_um`, ...), so a plugin's keys read like ours.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
HillExponent = Annotated[int, Field(ge=1, le=8)]


class Strict(BaseModel):
    """Unknown keys are errors, defaults are validated like given values, and numbers are numbers:
    a boolean or a string where a number belongs is an error (not 1.0), and NaN or infinity is
    refused in every float, in lists too (lattice shapes, centres, grid values)."""

    model_config = ConfigDict(extra="forbid", validate_default=True, strict=True, allow_inf_nan=False)


class FieldConfig(Strict):
    diffusion_um2_per_min: NonNegative = Field(description="diffusion coefficient, um^2/min")
    decay_per_min: NonNegative = Field(0.0, description="first-order decay rate, 1/min")
    boundary: Literal["no_flux", "fixed"] = Field(
        "no_flux", description="no_flux walls, or walls held at boundary_value")
    boundary_value: NonNegative = Field(0.0, description="wall concentration when boundary is fixed")
    initial_value: NonNegative = Field(0.0, description="uniform starting concentration")
    units: str = Field("ng/mL", description="concentration units (label written to the output)")
    production_per_min: NonNegative = Field(
        0.0, description="uniform production everywhere (e.g. stromal IL-15), concentration per min")
