"""NK cells.

- Patrol: random walk, biased up the tumor-derived chemoattractant.
- Contact: touching a viable tumor cell, a free NK cell conjugates with one (chosen uniformly)
  for a conjugation time; each contact raises its inhibitory receptors (TIGIT/KLRG1: education),
  in proportion to the CD155 the target has not shed (activation induces them).
  Exhausted cells still bind (their receptors still meet the tumor's ligands) but no longer kill.
- Kill: at the end of the conjugate the target dies (turns caspase+) with probability
      p = p_max * L * A / (A + I + w R) * (1 - s [target touches a bound DP T cell])
  L: the share of the target's activating ligand not yet shed since arrest (CD155, Ichise 2022);
  A, I: the target's activating and inhibitory ligands (fewer A, more I in clusters);
  R: the NK cell's inhibitory receptors, w their weight (lowered by TIGIT/KLRG1 block).
  After max_kills kills the cell is exhausted: it still conjugates and is still educated, but
  its kill attempts stop (spent lytic granules, not lost adhesion: assumed).
- Exposed: past a receptor threshold the cell is tumor-exposed: it barely kills, and touching
  tumor cells divide faster (a tumor rule, tumor.exposed_nk_division_boost; mechanism unknown,
  Chan 2020).
- IFN-gamma: secreted while active, more while conjugated, times the cell's effector share
  A / (A + I + w R) against an isolated target: education lowers IFN-gamma as it lowers killing
  (tumor-exposed NK cells lose both: Gill 2012, Chan 2020).
- CXCL12 (Correia 2021): the cell switches into and out of quiescence (no secretion, no killing,
  no division); per step it enters with probability p H and leaves with p (1 - H), H a Hill
  function of the CXCL12 it senses, so at steady state a fraction H is quiescent (the seed's
  q = H(CXCL12 x CXCR4)). A CXCR4 block lowers the CXCL12 it senses: a partial block, a partial
  effect.
- IL-15: drives division into free sites and lowers the death rate (it does not touch quiescence:
  Correia 2021 reports IL-15 acting by expanding NK cells).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.cell_rules import cell_function, cell_rule, current_value
from ..engine.scalar import happens_with, hill, pick_from_mask, site_at_offset
from ..interventions import Blockade, CytokineSource, Switch, efficiency
from ..kernels.philox import probability_threshold, rate_threshold
from ..rules.walk import walk_step
from ..spec import Behaviour, Category, CellType, Column, FieldUse, Therapy
from .nk_config import NKConfig
from .nk_recognition import effector_share, target_ligands  # the keys an NK cell takes, with units, in their own file

STATES = ("active", "conjugated", "exposed", "exhausted", "quiescent")
S = {name: code for code, name in enumerate(STATES)}


@dataclass(frozen=True)
class NKParams:
    move_threshold: int
    bias_threshold: int
    kill_probability: float
    receptor_weight: float  # after TIGIT/KLRG1 block
    cxcl12_sensitivity: float  # after CXCR4 block
    quiescence_switch_probability: float  # per step, at a saturating (entry) or absent (exit) signal
    proliferation_probability: float
    death_probability: float
    tcell_suppression: float
    move_probability: float
    ifng_secretion_per_step: float
    ifng_in_contact_per_step: float
    il15_keep: float  # share of IL-15 left at the cell's site after its uptake in one step
    il15_half_max_to_n: np.float32
    cxcl12_half_max_to_n: np.float32
    cxcl12_hill_n: int
    max_kills: int
    conjugation_time_min: float
    receptor_gain: float  # inhibitory receptors gained per new contact with a target that kept its CD155
    exposed_threshold: float
    il15_survival_gain: float
    activating_ligand_single: float  # the target's NK ligands (tumor config), read by the kill and IFN-gamma
    activating_ligand_cluster_loss: float
    inhibitory_ligand_single: float
    inhibitory_ligand_cluster_gain: float
    epithelial_neighbours_half: float
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> NKParams:
    c, t = cells.nk, cells.tumor
    per_min = 1.0 / 60.0
    in_contact = c.ifng_secretion_per_min if c.ifng_secretion_in_contact_per_min is None \
        else c.ifng_secretion_in_contact_per_min
    cxcl12_half_max = c.cxcl12_quiescence_half_max or 1.0
    return NKParams(
        move_threshold=rate_threshold(c.move_rate_per_h * per_min, dt_min),
        bias_threshold=probability_threshold(c.chemotaxis_bias),
        kill_probability=c.kill_probability_per_contact,
        receptor_weight=c.inhibitory_receptor_weight * (1.0 - efficiency(in_force, "tigit_klrg1_block")),
        cxcl12_sensitivity=1.0 - efficiency(in_force, "cxcr4_block"),
        quiescence_switch_probability=float(-np.expm1(-c.quiescence_switch_rate_per_h * per_min * dt_min)),
        proliferation_probability=float(-np.expm1(-c.proliferation_rate_per_h * per_min * dt_min)),
        death_probability=float(-np.expm1(-c.death_rate_per_h * per_min * dt_min)),
        tcell_suppression=cells.tcell.nk_suppression,
        move_probability=float(-np.expm1(-c.move_rate_per_h * per_min * dt_min)),
        ifng_secretion_per_step=c.ifng_secretion_per_min * dt_min,
        ifng_in_contact_per_step=in_contact * dt_min,
        il15_keep=1.0 / (1.0 + c.il15_uptake_per_min * dt_min),
        il15_half_max_to_n=np.float32(np.float32(c.il15_half_max) ** 1),
        cxcl12_half_max_to_n=np.float32(np.float32(cxcl12_half_max) ** c.cxcl12_quiescence_hill_n),
        cxcl12_hill_n=c.cxcl12_quiescence_hill_n,
        max_kills=c.max_kills,
        conjugation_time_min=c.conjugation_time_min,
        receptor_gain=c.inhibitory_receptor_gain_per_contact,
        exposed_threshold=c.exposed_threshold,
        il15_survival_gain=c.il15_survival_gain,
        activating_ligand_single=t.activating_ligand_single,
        activating_ligand_cluster_loss=t.activating_ligand_cluster_loss,
        inhibitory_ligand_single=t.inhibitory_ligand_single,
        inhibitory_ligand_cluster_gain=t.inhibitory_ligand_cluster_gain,
        epithelial_neighbours_half=t.epithelial_neighbours_half,
        config=c,
    )


ACTIVE, CONJUGATED, EXPOSED, EXHAUSTED, QUIESCENT = (S[name] for name in STATES)
# What the rules of one NK cell share in a step (abm/engine/cell_rules.py): each starts as given.
WORKING = {
    "receptors": "inhibitory_receptors",  # the TIGIT/KLRG1 level, raised by education
    "exhausted": False, "quiescent": False, "exposed": False,
    "able": True,  # neither exhausted nor quiescent: may kill
    "binding": True,  # not quiescent: may conjugate
    "starts": False, "conjugated": False, "ends": False,  # a conjugate starts, holds, ends this step
    "new_partner": "partner", "new_partner_site": "partner_site",
}


# ---------------------------------------------------------------- the rules, in the order they run


@cell_rule("NK cells that reached max_kills kills are exhausted: they still bind tumor cells but no longer kill",
           ("exhausted", "able"), ("nk.max_kills",), when=lambda c: c.cells.nk.max_kills > 0)
def exhaustion(kills, p):
    exhausted = kills >= p.max_kills
    return exhausted, not exhausted


@cell_rule("NK cells switch into quiescence at a rate that rises with the CXCL12 they sense (Hill), and out of "
           "it at a rate that falls with it", ("quiescent", "able", "binding"),
           ("nk.cxcl12_quiescence_half_max", "nk.cxcl12_quiescence_hill_n", "nk.quiescence_switch_rate_per_h"),
           when=lambda c: c.cells.nk.cxcl12_quiescence_half_max is not None
           and c.cells.nk.quiescence_switch_rate_per_h > 0 and _fields(c, "cxcl12"))
def cxcl12_quiescence(state, conc_cxcl12, draws_quiescence, able, p):
    """Active cells enter quiescence with probability p H, quiescent ones leave it with p (1 - H):
    H, the Hill response to the sensed CXCL12, is then the steady-state quiescent fraction."""
    sensed = np.float32(conc_cxcl12 * np.float32(p.cxcl12_sensitivity))
    response = hill(sensed, p.cxcl12_half_max_to_n, p.cxcl12_hill_n)
    was_quiescent = state == QUIESCENT
    toward_other = np.float32(np.float32(1.0) - response) if was_quiescent else response
    switches = happens_with(draws_quiescence[0], np.float32(np.float32(p.quiescence_switch_probability) * toward_other))
    quiescent = was_quiescent != switches
    return quiescent, able and not quiescent, not quiescent


@cell_rule("a free NK cell that is not quiescent, touching a viable tumor cell, conjugates with one",
           ("starts", "conjugated", "ends", "new_partner", "new_partner_site"), ("nk.conjugation_time_min",))
def conjugation(binding, partner, new_partner, new_partner_site, state_age_min, site, mask_tumor_epithelial,
                mask_tumor_mesenchymal, draws_kill, occupancy, all_id, offsets, lattice_shape, p):
    """It binds one of the touching tumor cells (an exhausted cell too: it binds but will not kill);
    the conjugate ends after the conjugation time (at once when it is 0)."""
    was_conjugated = partner >= 0 and binding
    offset = pick_from_mask(mask_tumor_epithelial | mask_tumor_mesenchymal, draws_kill[1], offsets.shape[0])
    target_site = site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets)
    starts = binding and not was_conjugated and offset >= 0
    if starts:
        new_partner = all_id[max(np.int64(occupancy[target_site]), np.int64(0))]
        new_partner_site = target_site
    elif not was_conjugated:
        new_partner, new_partner_site = np.int64(-1), np.int64(-1)
    age = np.float32(0.0) if starts else state_age_min
    conjugated = starts or was_conjugated
    ends = conjugated and age >= np.float32(p.conjugation_time_min - 1e-4)
    return starts, conjugated, ends, new_partner, new_partner_site


@cell_rule("in NK cells, each new tumor contact raises the inhibitory receptors, less as the target has shed "
           "its activating ligand (CD155)", "receptors",
           ("nk.inhibitory_receptor_gain_per_contact", "tumor.activating_ligand_shedding_per_h"),
           when=lambda c: c.cells.nk.inhibitory_receptor_gain_per_contact > 0)
def education(starts, receptors, new_partner_site, occupancy, all_activating_ligand_left, p):
    """CD155 both activates (DNAM-1) and engages TIGIT, and activation induces KLRG1 (Robbins 2002): a
    target that shed it (Ichise 2022) no longer educates."""
    if not starts:
        return receptors
    target = max(np.int64(occupancy[new_partner_site]), np.int64(0))
    return np.float32(receptors + np.float32(np.float32(p.receptor_gain) * all_activating_ligand_left[target]))


@cell_rule("at the end of a conjugate the NK cell kills its target with a probability set by the target's "
           "ligands and its own inhibitory receptors",
           ("kill_site", "kill_clustered", "tally_contacts_single", "tally_contacts_clustered"),
           ("nk.kill_probability_per_contact", "nk.inhibitory_receptor_weight", "tumor.activating_ligand_single",
            "tumor.activating_ligand_cluster_loss", "tumor.inhibitory_ligand_single",
            "tumor.inhibitory_ligand_cluster_gain", "tumor.epithelial_neighbours_half", "tcell.nk_suppression"))
def contact_kill(ends, able, new_partner, new_partner_site, receptors, draws_kill,
                 behaviour_kill_probability_per_contact, occupancy, all_id, categories, neighbour_counts,
                 all_activating_ligand_left, category_tumor_epithelial, category_tumor_mesenchymal,
                 category_tcell_bound, p):
    """A conjugate that ends, of a cell that is not exhausted, against a target still there and viable:
    p = p_max * L * A / (A + I + w R) * (1 - s [the target touches a bound DP T cell])."""
    if not (ends and able):
        return np.int64(-1), False, 0, 0
    target = np.int64(occupancy[max(new_partner_site, np.int64(0))])
    safe = max(target, np.int64(0))
    category = categories[safe]
    present = (target >= 0 and all_id[safe] == new_partner
               and (category == category_tumor_epithelial or category == category_tumor_mesenchymal))
    activating, inhibitory, engaged = target_ligands(safe, categories, neighbour_counts,
                                                     all_activating_ligand_left, category_tumor_epithelial, p)
    probability = np.float32(np.float32(np.float32(behaviour_kill_probability_per_contact * engaged) * activating)
                             / np.float32(np.float32(activating + inhibitory)
                                          + np.float32(np.float32(p.receptor_weight) * receptors)))
    if neighbour_counts[safe, category_tcell_bound] > 0:
        probability = np.float32(probability * np.float32(1.0 - p.tcell_suppression))
    clustered = neighbour_counts[safe, category_tumor_epithelial] + neighbour_counts[safe, category_tumor_mesenchymal] > 0
    succeeds = present and happens_with(draws_kill[0], probability)
    return (new_partner_site if succeeds else np.int64(-1), clustered,
            1 if present and not clustered else 0, 1 if present and clustered else 0)


@cell_rule("NK cells let go of their target when a conjugate ends",
           ("new_partner", "new_partner_site", "conjugated"))
def release(ends, conjugated, new_partner, new_partner_site):
    if ends:
        return np.int64(-1), np.int64(-1), False
    return new_partner, new_partner_site, conjugated


@cell_rule("NK cells not in a conjugate random-walk, some moves up the chemoattractant", "move_to",
           ("nk.move_rate_per_h", "nk.chemotaxis_bias"))
def patrol(conjugated, site, mask_empty, draws_move, threshold_motility, field_chemoattractant, offsets,
           lattice_shape, p):
    steps, destination = walk_step(site, mask_empty, draws_move, threshold_motility, p.bias_threshold,
                                   field_chemoattractant, offsets, lattice_shape)
    return destination if steps and not conjugated else np.int64(-1)


@cell_rule("in NK cells, local IL-15 increases division", ("divide_into", "daughter_state"),
           ("nk.proliferation_rate_per_h", "nk.il15_half_max"), when=lambda c: c.cells.nk.proliferation_rate_per_h > 0)
def il15_proliferation(able, conjugated, site, mask_empty, draws_proliferation, behaviour_proliferation, offsets,
                       lattice_shape):
    offset = pick_from_mask(mask_empty, draws_proliferation[1], offsets.shape[0])
    divides = (able and not conjugated and offset >= 0
               and happens_with(draws_proliferation[0], behaviour_proliferation))
    if not divides:
        return np.int64(-1), np.int8(ACTIVE)
    return site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets), np.int8(ACTIVE)


@cell_rule("NK cells die at a rate that local IL-15 lowers", "dies",
           ("nk.death_rate_per_h", "nk.il15_survival_gain", "nk.il15_half_max"),
           when=lambda c: c.cells.nk.death_rate_per_h > 0)
def death(draws_proliferation, behaviour_death):
    return happens_with(draws_proliferation[2], behaviour_death)


@current_value
def proliferation_now(conc_il15, p):
    """Division chance per step: the IL-15 response scales the saturating rate."""
    return np.float32(np.float32(p.proliferation_probability) * hill(conc_il15, p.il15_half_max_to_n, 1))


@current_value
def death_now(conc_il15, p):
    """Death chance per step: IL-15 removes part of it."""
    il15 = hill(conc_il15, p.il15_half_max_to_n, 1)
    return np.float32(np.float32(p.death_probability)
                      * np.float32(np.float32(1.0) - np.float32(np.float32(p.il15_survival_gain) * il15)))


@cell_rule("NK cells whose inhibitory receptors pass a threshold are tumor-exposed", "exposed",
           ("nk.exposed_threshold",))
def tumor_exposure(receptors, p):
    return receptors >= np.float32(p.exposed_threshold)


@cell_function
def nk_state(exposed, conjugated, quiescent, exhausted):
    """Later states win: exhausted over quiescent over conjugated over exposed."""
    if exhausted:
        return np.int8(EXHAUSTED)
    if quiescent:
        return np.int8(QUIESCENT)
    if conjugated:
        return np.int8(CONJUGATED)
    if exposed:
        return np.int8(EXPOSED)
    return np.int8(ACTIVE)


@cell_rule("an NK cell's state and receptors after its rules", ("new_state", "new_inhibitory_receptors"))
def finish(exposed, conjugated, quiescent, exhausted, receptors):
    return nk_state(exposed, conjugated, quiescent, exhausted), receptors


@cell_rule("NK cells secrete IFN-gamma on recognising a target (and at their tissue's tonic rate), less as their "
           "inhibitory receptors rise and as the target sheds CD155; none while quiescent or exhausted",
           "secrete_ifng",
           ("nk.ifng_secretion_per_min", "nk.ifng_secretion_in_contact_per_min", "nk.inhibitory_receptor_weight",
            "tumor.activating_ligand_single", "tumor.inhibitory_ligand_single",
            "tumor.activating_ligand_shedding_per_h"),
           phase="secrete", when=lambda c: _fields(c, "ifng"))
def ifng_secretion(state, inhibitory_receptors, partner, partner_site, behaviour_ifng_secretion, occupancy, all_id,
                   all_activating_ligand_left, p):
    """An NK cell releases IFN-gamma when it recognises a target (Fauriat 2010): while conjugated, at the
    contact rate times its effector share, the receptor balance that also sets its kill probability,
    times the share of activating ligand (CD155) the target has not shed. Education (TIGIT/KLRG1)
    lowers it and their blockade restores it; a target stripped of CD155 no longer triggers it. A free
    NK cell secretes at the tonic rate (none in most tissues: a tissue exception) times its share
    against an isolated target; quiescent and exhausted cells are silent."""
    if state == QUIESCENT or state == EXHAUSTED:
        return np.float32(0.0)
    isolated = effector_share(np.float32(p.activating_ligand_single), np.float32(p.inhibitory_ligand_single),
                              p.receptor_weight, inhibitory_receptors)
    if state != CONJUGATED:
        return np.float32(behaviour_ifng_secretion * isolated)
    target = np.int64(occupancy[max(partner_site, np.int64(0))])
    safe = max(target, np.int64(0))
    if target < 0 or all_id[safe] != partner:
        return np.float32(0.0)
    # the target's CD155 left; not its clustering context, as neighbours are sensed after secretion
    recognised = np.float32(all_activating_ligand_left[safe] * isolated)
    return np.float32(np.float32(p.ifng_in_contact_per_step) * recognised)


@cell_rule("NK cells take up IL-15", "keep_il15", ("nk.il15_uptake_per_min",), phase="secrete",
           when=lambda c: c.cells.nk.il15_uptake_per_min > 0 and _fields(c, "il15"))
def il15_uptake(p):
    return np.float32(p.il15_keep)


def initial_columns(xp, c: NKConfig, count: int) -> dict:
    columns = {"inhibitory_receptors": xp.full(count, c.initial_inhibitory_receptors, dtype=xp.float32)}
    if c.initial_inhibitory_receptors >= c.exposed_threshold:
        columns["state"] = xp.full(count, S["exposed"], dtype=xp.int8)
    return columns


def _fields(config, *names) -> bool:
    return all(name in config.fields for name in names)


@cell_function
def exposed(state):
    """Neighbours see an NK cell whose inhibitory receptors passed the exposure threshold."""
    return state == EXPOSED


NK = CellType(
    name="nk",
    describe="natural killer cells",
    states=STATES,
    config=NKConfig,
    prepare=prepare,
    categories=(Category("nk", None, "any NK cell"),
                Category("nk_exposed", exposed,
                         "inhibitory receptors past the exposure threshold")),
    columns=(Column("inhibitory_receptors", np.float32, 0, "inherit", "TIGIT/KLRG1 level (education by tumor contact)"),
             Column("kills", np.int32, 0, 0, "cells killed so far")),
    # Keys kept from before the spec existed, so that runs reproduce bit for bit.
    purposes={"move": 4, "kill": 5, "proliferation": 7, "quiescence": None},
    rules=[exhaustion, cxcl12_quiescence, conjugation, education, contact_kill, release, patrol,
           il15_proliferation, death, tumor_exposure, ifng_secretion, il15_uptake],
    working=dict(WORKING),
    finish=finish,
    initial_columns=initial_columns,
    fields=(FieldUse("ifng", "IFN-gamma, secreted by NK cells"),
            FieldUse("il15", "IL-15: drives NK proliferation and survival", "a.u."),
            FieldUse("cxcl12", "CXCL12: drives NK cells into quiescence (Hill response)", "a.u.")),
    therapies=(
        Therapy("nk_depletion", Switch, "anti-NK antibody: NK cells are removed", depletes=True),
        Therapy("il15", CytokineSource, "IL-15 therapy: uniform IL-15 production added", adds_production="il15"),
        Therapy("cxcr4_block", Blockade, "CXCR4 antagonist: NK cells sense less CXCL12"),
        Therapy("tigit_klrg1_block", Blockade, "anti-TIGIT/KLRG1: NK inhibitory receptors signal less"),
    ),
    events=("contacts_single", "contacts_clustered"),
    behaviours=(
        Behaviour("kill_probability_per_contact", lambda p: p.kill_probability, "probability",
                  "the kill probability of a contact with an isolated target (p_max)", used_by="contact_kill",
                  base_key="nk.kill_probability_per_contact"),
        Behaviour("motility", lambda p: p.move_probability, "1/h", "random-walk steps", used_by="patrol",
                  base_key="nk.move_rate_per_h", threshold="move_threshold"),
        Behaviour("ifng_secretion", lambda p: p.ifng_secretion_per_step, "1/min",
                  "IFN-gamma secretion of an active (not conjugated) NK cell", used_by="ifng_secretion",
                  base_key="nk.ifng_secretion_per_min", requires=lambda c: _fields(c, "ifng")),
        Behaviour("proliferation", lambda p: p.proliferation_probability, "1/h",
                  "division into a free site (the base is scaled by the IL-15 response)", used_by="il15_proliferation",
                  current=proliferation_now, base_key="nk.proliferation_rate_per_h"),
        Behaviour("death", lambda p: p.death_probability, "1/h", "death (IL-15 lowers the base)", used_by="death",
                  current=death_now, base_key="nk.death_rate_per_h"),
    ),
)


def register(spec) -> None:
    spec.add_cell_type(NK)
