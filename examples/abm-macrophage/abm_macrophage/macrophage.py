"""Macrophages (an example of a user's own cell type).

- Two states: M2 (pro-tumor, the resting state in a tumor) and M1 (tumoricidal). Local
  IFN-gamma polarises M2 cells to M1 (Hill response); M1 cells relax back to M2 at a
  constant rate.
- M1 cells secrete TNF-alpha, a field this plugin adds; tumor cells in high TNF-alpha start
  apoptosis (a rule this plugin adds to the tumor type).
- M1 cells kill a touching viable tumor cell with a probability per contact.
- Macrophages random-walk; clodronate liposomes deplete them.

Every name below comes from tissue-abm's public API (abm.spec, abm.engine, abm.rules, abm.configtypes).
Each rule is a function of one cell (abm/engine/cell_rules.py): its parameters name what it reads,
and tissue-abm compiles it, with the built-in rules, for the CPU (numba) and the GPU (numba-cuda).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from abm.configtypes import HillExponent, NonNegative, Positive, Probability, Strict
from abm.engine import cell_function, cell_rule, happens, happens_with, hill, pick_from_mask, site_at_offset
from abm.interventions import Switch
from abm.kernels.philox import probability_threshold, rate_threshold
from abm.rules.walk import walk_step
from abm.spec import Behaviour, Category, CellType, FieldUse, Therapy

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
    ifng_half_max_to_n: np.float32  # K^n of the polarisation response, as float32
    ifng_hill_n: int
    tnf_half_max: np.float32
    tnf_secretion_per_step: float
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
        ifng_half_max_to_n=np.float32(np.float32(c.ifng_half_max) ** c.ifng_hill_n),
        ifng_hill_n=c.ifng_hill_n,
        tnf_half_max=np.float32(c.tnf_half_max),
        tnf_secretion_per_step=c.tnf_secretion_per_min * dt_min,
        config=c,
    )


M2, M1 = S["m2"], S["m1"]


# ---------------------------------------------------------------- rules, in the order they run


@cell_rule("in macrophages, local IFN-gamma increases M2 -> M1 polarisation (Hill response)",
           "behaviour_m1_polarisation",
           ("macrophage.m1_polarisation_rate_per_h", "macrophage.ifng_half_max", "macrophage.ifng_hill_n"),
           when=lambda c: "ifng" in c.fields)
def ifng_polarisation(conc_ifng, p):
    """The M2 -> M1 chance per step: IFN-gamma's Hill response (the behaviour `m1_polarisation`)."""
    return np.float32(np.float32(p.polarisation_probability) * hill(conc_ifng, p.ifng_half_max_to_n, p.ifng_hill_n))


@cell_rule("M2 macrophages turn M1 with the chance their signals set; M1 relax to M2", "new_state",
           ("macrophage.m2_relaxation_rate_per_h",))
def polarisation(state, has_behaviour_m1_polarisation, behaviour_m1_polarisation, draws_polarisation, p):
    if state == M2:
        if has_behaviour_m1_polarisation and happens_with(draws_polarisation[0], behaviour_m1_polarisation):
            return np.int8(M1)
        return np.int8(M2)
    return np.int8(M2) if happens(draws_polarisation[1], p.relaxation_threshold) else state


@cell_rule("M1 macrophages kill a touching viable tumor cell", ("kill_site", "kill_clustered"),
           ("macrophage.kill_probability_per_contact",))
def contact_kill(state, site, mask_tumor_epithelial, mask_tumor_mesenchymal, draws_kill, offsets, lattice_shape, p):
    """An M1 cell touching a viable tumor cell picks one and kills it with a chance per contact."""
    offset = pick_from_mask(mask_tumor_epithelial | mask_tumor_mesenchymal, draws_kill[1], offsets.shape[0])
    if state == M1 and offset >= 0 and happens(draws_kill[0], p.kill_threshold):
        return site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets), False
    return np.int64(-1), False


@cell_rule("macrophages random-walk", "move_to", ("macrophage.move_rate_per_h",))
def walk(site, mask_empty, draws_move, no_field, offsets, lattice_shape, p):
    steps, destination = walk_step(site, mask_empty, draws_move, p.move_threshold, 0, no_field, offsets,
                                   lattice_shape)
    return destination if steps else np.int64(-1)


@cell_rule("M1 macrophages secrete TNF-alpha", "secrete_tnf", ("macrophage.tnf_secretion_per_min",),
           phase="secrete", when=lambda c: "tnf" in c.fields)
def tnf_secretion(state, p):
    return np.float32(p.tnf_secretion_per_step) if state == M1 else np.float32(0.0)


@cell_rule("in tumor cells, local TNF-alpha increases apoptosis (Hill response)", "starts_dying",
           ("macrophage.tnf_apoptosis_rate_per_h", "macrophage.tnf_half_max"),
           when=lambda c: "tnf" in c.fields and c.cells.macrophage.tnf_apoptosis_rate_per_h > 0,
           name="tnf_apoptosis")
def tnf_apoptosis(viable, conc_tnf, draws_macrophage_tnf_apoptosis, p_macrophage):
    """A rule of the tumor type, from this plugin: TNF-alpha makes viable tumor cells start apoptosis.
    It reads this plugin's parameters (p_macrophage) and draws from this plugin's purpose."""
    chance = np.float32(np.float32(p_macrophage.tnf_apoptosis_probability) * hill(conc_tnf, p_macrophage.tnf_half_max, 1))
    return viable and happens_with(draws_macrophage_tnf_apoptosis[0], chance)


@cell_function
def in_m1(state):
    """Neighbours see an M1 macrophage apart from an M2 one."""
    return state == M1


MACROPHAGE = CellType(
    name="macrophage",
    describe="macrophages (example plugin abm-macrophage): M2/M1 polarisation, TNF-alpha, contact killing",
    states=STATES,
    config=MacrophageConfig,
    prepare=prepare,
    categories=(Category("macrophage_m2", None, "a macrophage in the M2 state"),
                Category("macrophage_m1", in_m1, "a macrophage in M1")),
    purposes={"polarisation": None, "kill": None, "move": None, "tnf_apoptosis": None},  # keys from the names
    rules=[ifng_polarisation, polarisation, contact_kill, walk, tnf_secretion],
    fields=(FieldUse("tnf", "TNF-alpha, secreted by M1 macrophages; drives tumor apoptosis"),),
    therapies=(Therapy("macrophage_depletion", Switch, "clodronate liposomes: macrophages are removed",
                       depletes=True),),
    behaviours=(Behaviour("m1_polarisation", lambda p: 0.0, "1/h", "M2 -> M1 polarisation",
                          used_by="polarisation"),),
)

TNF_APOPTOSIS = tnf_apoptosis  # added to the tumor type by register() (abm_macrophage/__init__.py)
