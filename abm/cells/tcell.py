"""CD4/CD8 double-positive T cells (Northwestern 2025): they walk, join tumor clusters by binding
VCAM1+ tumor cells through VLA-4 (blocked by anti-VLA-4), and while bound they dampen NK
killing of the tumor cells they touch (read by the NK contact-kill rule) and hold the cluster
together."""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from ..configtypes import Positive, NonNegative, Probability, Strict
from ..interventions import Blockade, efficiency
from ..rules import escort
from ..spec import Category, CellType, Therapy

STATES = ("free", "bound")
S = {name: code for code, name in enumerate(STATES)}


class TCellConfig(Strict):
    move_rate_per_h: NonNegative = Field(6.0, description="random-walk rate of free double-positive T cells, 1/h")
    binding_probability_per_contact: Probability = Field(
        0.0, description="chance per step that a free T cell binds a touching VCAM1+ tumor cell (VLA-4/VCAM1)")
    unbinding_rate_per_h: NonNegative = Field(0.0, description="rate at which a bond breaks, 1/h")
    nk_suppression: Probability = Field(
        0.0, description="fraction of NK kill probability removed for a target touching a bound T cell")
    lifespan_h: Positive | None = Field(None, description="mean lifespan, h (none: immortal)")


@dataclass(frozen=True)
class TCellParams:
    thresholds: dict
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> TCellParams:
    return TCellParams(escort.thresholds(cells.tcell, dt_min, 1.0 - efficiency(in_force, "anti_vla4")), cells.tcell)


TCELL = CellType(
    name="tcell",
    describe="CD4/CD8 double-positive T cells",
    states=STATES,
    config=TCellConfig,
    prepare=prepare,
    categories=(Category("tcell_free", None, "a T cell not bound to a tumor cell"),
                Category("tcell_bound", escort.bound_to_tumor,
                         "a T cell bound to a tumor cell")),
    purposes=dict(escort.PURPOSES),
    rules=escort.escort_rules("tcell", "T cells", TCellConfig),
    working=dict(escort.WORKING),
    finish=escort.FINISH,
    therapies=(Therapy("anti_vla4", Blockade, "anti-VLA-4: T cells bind VCAM1 less"),),
    behaviours=escort.escort_behaviours("tcell"),
)


def register(spec) -> None:
    spec.add_cell_type(TCELL)
