"""Macrophages (an example of a user's own cell type).

- Two states: M2 (pro-tumor, the resting state in a tumor) and M1 (tumoricidal). Local
  IFN-gamma polarises M2 cells to M1 (Hill response); M1 cells relax back to M2 at a
  constant rate.
- M1 cells secrete TNF-alpha, a field this plugin adds; tumor cells in high TNF-alpha start
  apoptosis (a rule this plugin adds to the tumor type).
- M1 cells kill a touching viable tumor cell with a probability per contact.
- Macrophages random-walk; clodronate liposomes deplete them.

Every name below comes from tissue-abm's public API (abm.spec, abm.rules, abm.configtypes).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from abm.configtypes import HillExponent, NonNegative, Positive, Probability, Strict
from abm.interventions import Switch
from abm.kernels.philox import probability_threshold, rate_threshold
from abm.rules import Secretion
from abm.rules.movement import propose_moves
from abm.spec import Behaviour, Category, CellType, FieldUse, Rule, Therapy

STATES = ("m2", "m1")
S = {name: code for code, name in enumerate(STATES)}


class MacrophageConfig(Strict):
    move_rate_per_h: NonNegative = Field(2.0, description="random-walk rate, 1/h")
    m1_polarisation_rate_per_h: NonNegative = Field(
        0.0, description="M2 -> M1 rate at saturating IFN-gamma, 1/h (scaled by the Hill response)")
    ifng_half_max: Positive = Field(0.05, description="IFN-gamma giving half the polarisation response")
    ifng_hill_n: HillExponent = Field(2, description="Hill exponent of the polarisation response")
    m2_relaxation_rate_per_h: NonNegative = Field(0.0, description="M1 -> M2 rate, 1/h")
    kill_probability_per_contact: Probability = Field(
        0.0, description="chance per step that an M1 macrophage kills a touching viable tumor cell")
    tnf_secretion_per_min: NonNegative = Field(0.0, description="TNF-alpha added at an M1 cell's site, per min")
    tnf_apoptosis_rate_per_h: NonNegative = Field(
        0.0, description="extra tumor apoptosis at saturating TNF-alpha, 1/h")
    tnf_half_max: Positive = Field(0.05, description="TNF-alpha giving half the apoptosis response")


@dataclass(frozen=True)
class MacrophageParams:
    move_threshold: int
    polarisation_probability: float
    relaxation_threshold: int
    kill_threshold: int
    tnf_apoptosis_probability: float
    config: MacrophageConfig


def prepare(cells, dt_min: float, in_force: dict) -> MacrophageParams:
    c = cells.macrophage
    per_min = 1.0 / 60.0
    return MacrophageParams(
        move_threshold=rate_threshold(c.move_rate_per_h * per_min, dt_min),
        polarisation_probability=float(-np.expm1(-c.m1_polarisation_rate_per_h * per_min * dt_min)),
        relaxation_threshold=rate_threshold(c.m2_relaxation_rate_per_h * per_min, dt_min),
        kill_threshold=probability_threshold(c.kill_probability_per_contact),
        tnf_apoptosis_probability=float(-np.expm1(-c.tnf_apoptosis_rate_per_h * per_min * dt_min)),
        config=c,
    )


# ---------------------------------------------------------------- rules, in the order they run


def begin(ctx, cells, params: MacrophageParams) -> None:
    cells.state = cells.column("state")
    cells.new_state = cells.state


def ifng_polarisation(ctx, cells, params: MacrophageParams) -> None:
    """The M2 -> M1 chance per step: IFN-gamma's Hill response (the behaviour `m1_polarisation`)."""
    xp, c = ctx.xp, params.config
    response = ctx.hill(ctx.local_concentration["ifng"][cells.slots], c.ifng_half_max, c.ifng_hill_n)
    cells.behaviours["m1_polarisation"] = xp.float32(params.polarisation_probability) * response


def polarisation(ctx, cells, params: MacrophageParams) -> None:
    """M2 cells turn M1 with the chance their signals set; M1 cells relax to M2."""
    xp = ctx.xp
    words = cells.draws("polarisation")
    to_m1 = cells.behaviours.get("m1_polarisation")
    m2 = cells.state == S["m2"]
    turns_m1 = m2 & ctx.happens_with(words[0], to_m1) if to_m1 is not None else xp.zeros(cells.n, dtype=bool)
    relaxes = ~m2 & ctx.happens(words[1], params.relaxation_threshold)
    cells.new_state = xp.where(turns_m1, xp.int8(S["m1"]), xp.where(relaxes, xp.int8(S["m2"]), cells.state))


def contact_kill(ctx, cells, params: MacrophageParams) -> None:
    """An M1 cell touching a viable tumor cell picks one and kills it with a chance per contact."""
    words = cells.draws("kill")
    touches, target_site, _ = ctx.random_neighbour(cells.slots, words[1], "tumor_epithelial", "tumor_mesenchymal")
    kills = (cells.state == S["m1"]) & touches & ctx.happens(words[0], params.kill_threshold)
    cells.intents.kill(cells.slots, target_site, False, where=kills)


def walk(ctx, cells, params: MacrophageParams) -> None:
    destinations, moves = propose_moves(ctx, cells.slots, params.move_threshold, "macrophage.move")
    cells.intents.move(cells.slots, destinations, where=moves)


def finish(ctx, cells, params: MacrophageParams) -> None:
    cells.intents.update("state", cells.slots, cells.new_state)


def tnf_secretion(ctx, cells, params: MacrophageParams):
    xp = ctx.xp
    m1 = cells.column("state") == S["m1"]
    rate = xp.where(m1, xp.float32(params.config.tnf_secretion_per_min * ctx.dt_min), xp.float32(0))
    return Secretion("tnf", cells.column("site"), rate, xp.ones(cells.n, dtype=xp.float32))


def tnf_apoptosis(ctx, cells, params) -> None:
    """A rule of the tumor type, from this plugin: TNF-alpha makes viable tumor cells start apoptosis."""
    xp = ctx.xp
    own = ctx.params["macrophage"]  # this plugin's parameters, prepared by its own type
    viable = cells.column("state") != ctx.state("tumor", "apoptotic")
    response = ctx.hill(ctx.local_concentration["tnf"][cells.slots], own.config.tnf_half_max, 1)
    word = ctx.draws("macrophage.tnf_apoptosis", cells.slots)[0]
    dies = viable & ctx.happens_with(word, xp.float32(own.tnf_apoptosis_probability) * response)
    cells.intents.start_dying(cells.slots, where=dies)


MACROPHAGE = CellType(
    name="macrophage",
    describe="macrophages (example plugin abm-macrophage): M2/M1 polarisation, TNF-alpha, contact killing",
    states=STATES,
    config=MacrophageConfig,
    prepare=prepare,
    categories=(Category("macrophage_m2", None, "a macrophage in the M2 state"),
                Category("macrophage_m1", lambda xp, cells: cells["state"] == S["m1"], "a macrophage in M1")),
    purposes={"polarisation": None, "kill": None, "move": None, "tnf_apoptosis": None},  # keys from the names
    rules=[
        Rule("ifng_polarisation", ifng_polarisation, "in macrophages, local IFN-gamma increases M2 -> M1 "
             "polarisation (Hill response)", ("macrophage.m1_polarisation_rate_per_h", "macrophage.ifng_half_max",
                                              "macrophage.ifng_hill_n"),
             when=lambda c: "ifng" in c.fields),
        Rule("polarisation", polarisation, "M2 macrophages turn M1 with the chance their signals set; M1 relax "
             "to M2", ("macrophage.m2_relaxation_rate_per_h",)),
        Rule("contact_kill", contact_kill, "M1 macrophages kill a touching viable tumor cell",
             ("macrophage.kill_probability_per_contact",)),
        Rule("walk", walk, "macrophages random-walk", ("macrophage.move_rate_per_h",)),
        Rule("tnf_secretion", tnf_secretion, "M1 macrophages secrete TNF-alpha", ("macrophage.tnf_secretion_per_min",),
             phase="secrete", when=lambda c: "tnf" in c.fields),
    ],
    begin=begin,
    finish=finish,
    fields=(FieldUse("tnf", "TNF-alpha, secreted by M1 macrophages; drives tumor apoptosis"),),
    therapies=(Therapy("macrophage_depletion", Switch, "clodronate liposomes: macrophages are removed",
                       depletes=True),),
    behaviours=(Behaviour("m1_polarisation", lambda p: 0.0, "1/h", "M2 -> M1 polarisation",
                          used_by="polarisation"),),
)

TNF_APOPTOSIS = Rule(
    "tnf_apoptosis", tnf_apoptosis, "in tumor cells, local TNF-alpha increases apoptosis (Hill response)",
    ("macrophage.tnf_apoptosis_rate_per_h", "macrophage.tnf_half_max"),
    when=lambda c: "tnf" in c.fields and c.cells.macrophage.tnf_apoptosis_rate_per_h > 0)
