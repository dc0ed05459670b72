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

from ..interventions import Blockade, CytokineSource, Switch, efficiency
from ..kernels.philox import probability_threshold, rate_threshold
from ..rules import Secretion, where_true
from ..rules.movement import propose_moves
from ..spec import Behaviour, Category, CellType, Column, FieldUse, Rule, Therapy
from . import tumor as tumor_cells
from .nk_config import NKConfig  # the keys an NK cell takes, with units, in their own file

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
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> NKParams:
    c = cells.nk
    per_min = 1.0 / 60.0
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
        config=c,
    )


# ---------------------------------------------------------------- the rules, in the order they run


def begin(ctx, cells, params: NKParams) -> None:
    xp, c = ctx.xp, params.config
    cells.receptors = cells.column("inhibitory_receptors")
    cells.il15 = ctx.hill(ctx.local_concentration["il15"][cells.slots], c.il15_half_max, 1)
    cells.exhausted = cells.quiescent = cells.exposed = None
    cells.able = xp.ones(cells.n, dtype=bool)  # neither exhausted nor quiescent: may kill
    cells.binding = xp.ones(cells.n, dtype=bool)  # not quiescent: may conjugate
    cells.starts = xp.zeros(cells.n, dtype=bool)
    cells.partner, cells.partner_site = cells.column("partner"), cells.column("partner_site")
    cells.conjugated = cells.ends = xp.zeros(cells.n, dtype=bool)


def exhaustion(ctx, cells, params: NKParams) -> None:
    cells.exhausted = cells.column("kills") >= params.config.max_kills
    cells.able = ~cells.exhausted


def cxcl12_quiescence(ctx, cells, params: NKParams) -> None:
    """Active cells enter quiescence with probability p H, quiescent ones leave it with p (1 - H):
    H, the Hill response to the sensed CXCL12, is then the steady-state quiescent fraction."""
    xp, c = ctx.xp, params.config
    sensed = ctx.local_concentration["cxcl12"][cells.slots] * xp.float32(params.cxcl12_sensitivity)
    response = ctx.hill(sensed, c.cxcl12_quiescence_half_max, c.cxcl12_quiescence_hill_n)
    was_quiescent = cells.column("state") == S["quiescent"]
    toward_other = xp.where(was_quiescent, xp.float32(1) - response, response)
    switches = ctx.happens_with(cells.draws("quiescence")[0],
                                xp.float32(params.quiescence_switch_probability) * toward_other)
    cells.quiescent = was_quiescent ^ switches
    cells.able = cells.able & ~cells.quiescent
    cells.binding = ~cells.quiescent


def conjugation(ctx, cells, params: NKParams) -> None:
    """A free NK cell that is not quiescent, touching a viable tumor cell, binds one of them (an
    exhausted one too: it binds but will not kill); the conjugate ends after the conjugation time
    (at once when it is 0)."""
    xp, agents = ctx.xp, ctx.agents
    was_conjugated = (cells.partner >= 0) & cells.binding
    touches, target_site, _ = ctx.random_neighbour(cells.slots, cells.draws("kill")[1],
                                                   "tumor_epithelial", "tumor_mesenchymal")
    cells.starts = cells.binding & ~was_conjugated & touches
    target_slot = xp.maximum(ctx.lattice.occupancy[xp.where(cells.starts, target_site, 0)].astype(xp.int64), 0)
    cells.partner = xp.where(cells.starts, agents["id"][target_slot], xp.where(was_conjugated, cells.partner, -1))
    cells.partner_site = xp.where(cells.starts, target_site, xp.where(was_conjugated, cells.partner_site, -1))
    age = xp.where(cells.starts, xp.float32(0), cells.column("state_age_min"))
    cells.conjugated = cells.starts | was_conjugated
    cells.ends = cells.conjugated & (age >= xp.float32(params.config.conjugation_time_min - 1e-4))


def education(ctx, cells, params: NKParams) -> None:
    """Each new contact raises the inhibitory receptors by the gain times the share of CD155 the target
    has not shed: CD155 is the ligand that both activates (DNAM-1) and engages TIGIT, and activation
    induces KLRG1 (Robbins 2002); a target that shed it (Ichise 2022) no longer educates."""
    xp = ctx.xp
    target = xp.maximum(ctx.lattice.occupancy[xp.where(cells.starts, cells.partner_site, 0)].astype(xp.int64), 0)
    gain = xp.float32(params.config.inhibitory_receptor_gain_per_contact) * ctx.agents["activating_ligand_left"][target]
    cells.receptors = xp.where(cells.starts, cells.receptors + gain, cells.receptors)


def contact_kill(ctx, cells, params: NKParams) -> None:
    """Kill attempts of conjugates that end now, by cells that are not exhausted, against targets
    still there and viable."""
    xp, agents = ctx.xp, ctx.agents
    attempts = cells.ends & cells.able
    killers, sites, partner, receptors, word = where_true(xp, attempts, cells.slots, cells.partner_site,
                                                          cells.partner, cells.receptors, cells.draws("kill")[0])
    target = ctx.lattice.occupancy[xp.maximum(sites, 0)].astype(xp.int64)
    safe = xp.maximum(target, 0)
    category = ctx.category[safe]
    present = (target >= 0) & (agents["id"][safe] == partner) & (
        (category == ctx.spec.category["tumor_epithelial"]) | (category == ctx.spec.category["tumor_mesenchymal"]))
    activating, inhibitory, engaged = tumor_cells.ligands(ctx, safe, ctx.params["tumor"])
    weight = xp.float32(params.receptor_weight)
    most = xp.float32(params.kill_probability)  # p_max, unless signals set it per NK cell (grammar)
    if "kill_probability_per_contact" in cells.behaviours:
        most = where_true(xp, attempts, cells.behaviours["kill_probability_per_contact"])[0]
    probability = most * engaged * activating / (activating + inhibitory + weight * receptors)
    if params.tcell_suppression > 0:
        guarded = ctx.count(safe, "tcell_bound") > 0
        probability = xp.where(guarded, probability * xp.float32(1 - params.tcell_suppression), probability)
    succeeds = present & ctx.happens_with(word, probability)
    clustered = ctx.count(safe, "tumor_epithelial", "tumor_mesenchymal") > 0
    cells.intents.kill(killers, sites, clustered, where=succeeds)
    cells.intents.tally("contacts_single", (present & ~clustered).sum())
    cells.intents.tally("contacts_clustered", (present & clustered).sum())


def release(ctx, cells, params: NKParams) -> None:
    """Conjugates that ended let go of their target (killed or not)."""
    xp = ctx.xp
    cells.partner = xp.where(cells.ends, -1, cells.partner)
    cells.partner_site = xp.where(cells.ends, -1, cells.partner_site)
    cells.conjugated = cells.conjugated & ~cells.ends


def patrol(ctx, cells, params: NKParams) -> None:
    threshold = params.move_threshold
    if "motility" in cells.behaviours:  # per cell, from signals (grammar): chance per step as a threshold
        threshold = (cells.behaviours["motility"].astype(ctx.xp.float64) * float(2**32)).astype(ctx.xp.uint64)
    destinations, moves = propose_moves(ctx, cells.slots, threshold, "nk.move",
                                        params.bias_threshold, "chemoattractant", walking=~cells.conjugated)
    cells.intents.move(cells.slots, destinations, where=moves)


def il15_proliferation(ctx, cells, params: NKParams) -> None:
    xp = ctx.xp
    words = cells.draws("proliferation")
    has_free, site, _ = ctx.random_neighbour(cells.slots, words[1], "empty")
    divides = cells.able & ~cells.conjugated & has_free & ctx.happens_with(words[0], cells.behaviour("proliferation"))
    cells.intents.divide(cells.slots, site, xp.full(cells.n, S["active"], dtype=xp.int8), where=divides)


def death(ctx, cells, params: NKParams) -> None:
    probability = cells.behaviour("death")
    cells.intents.die(cells.slots, where=ctx.happens_with(cells.draws("proliferation")[2], probability))


def proliferation_now(cells, params: NKParams):
    """Division chance per step: the IL-15 response scales the saturating rate."""
    return cells.ctx.xp.float32(params.proliferation_probability) * cells.il15


def death_now(cells, params: NKParams):
    """Death chance per step: IL-15 removes part of it."""
    xp = cells.ctx.xp
    return xp.float32(params.death_probability) * (
        xp.float32(1) - xp.float32(params.config.il15_survival_gain) * cells.il15)


def tumor_exposure(ctx, cells, params: NKParams) -> None:
    cells.exposed = cells.receptors >= ctx.xp.float32(params.config.exposed_threshold)


def finish(ctx, cells, params: NKParams) -> None:
    xp = ctx.xp
    state = xp.full(cells.n, S["active"], dtype=xp.int8)
    for mask, name in ((cells.exposed, "exposed"), (cells.conjugated, "conjugated"),
                       (cells.quiescent, "quiescent"), (cells.exhausted, "exhausted")):
        if mask is not None:  # later states win
            state = xp.where(mask, xp.int8(S[name]), state)
    cells.intents.update("inhibitory_receptors", cells.slots, cells.receptors)
    cells.intents.update("partner", cells.slots, cells.partner)
    cells.intents.update("partner_site", cells.slots, cells.partner_site)
    cells.intents.update("state", cells.slots, state)


def effector_share(xp, activating, inhibitory, weight, receptors):
    """A / (A + I + w R): the share of its effector function an NK cell keeps against a target with
    activating ligand A and inhibitory ligand I, through its inhibitory receptors R of weight w."""
    return activating / (activating + inhibitory + xp.float32(weight) * receptors)


def ifng_secretion(ctx, cells, params: NKParams):
    """An NK cell releases IFN-gamma when it recognises a target (Fauriat 2010): while conjugated, at the
    contact rate times its effector share, the receptor balance that also sets its kill probability,
    times the share of activating ligand (CD155) the target has not shed. Education (TIGIT/KLRG1)
    lowers it and their blockade restores it; a target stripped of CD155 no longer triggers it. A free
    NK cell secretes at the tonic rate (none in most tissues: a tissue exception) times its share
    against an isolated target; quiescent and exhausted cells are silent."""
    xp, c = ctx.xp, params.config
    state, receptors = cells.column("state"), cells.column("inhibitory_receptors")
    in_contact = c.ifng_secretion_per_min if c.ifng_secretion_in_contact_per_min is None \
        else c.ifng_secretion_in_contact_per_min
    tonic = cells.behaviours.get("ifng_secretion", xp.float32(c.ifng_secretion_per_min * ctx.dt_min))
    tumor = ctx.params["tumor"]
    isolated = effector_share(xp, xp.float32(tumor.config.activating_ligand_single),
                              xp.float32(tumor.config.inhibitory_ligand_single), params.receptor_weight, receptors)
    conjugated = state == S["conjugated"]
    target = ctx.lattice.occupancy[xp.where(conjugated, xp.maximum(cells.column("partner_site"), 0), 0)].astype(xp.int64)
    safe = xp.maximum(target, 0)
    present = conjugated & (target >= 0) & (ctx.agents["id"][safe] == cells.column("partner"))
    # the target's CD155 left; not its clustering context, as neighbours are sensed after secretion
    recognised = ctx.agents["activating_ligand_left"][safe] * isolated
    rate = xp.where(present, xp.float32(in_contact * ctx.dt_min) * recognised, xp.where(conjugated, 0, tonic * isolated))
    silent = (state == S["quiescent"]) | (state == S["exhausted"])
    rate = xp.where(silent, xp.float32(0), rate).astype(xp.float32)
    return Secretion("ifng", cells.column("site"), rate, xp.ones(cells.n, dtype=xp.float32))


def il15_uptake(ctx, cells, params: NKParams):
    xp = ctx.xp
    keep = xp.float32(1.0 / (1.0 + params.config.il15_uptake_per_min * ctx.dt_min))
    ones = xp.ones(cells.n, dtype=xp.float32)
    return Secretion("il15", cells.column("site"), ones * xp.float32(0), ones * keep)


def initial_columns(xp, c: NKConfig, count: int) -> dict:
    columns = {"inhibitory_receptors": xp.full(count, c.initial_inhibitory_receptors, dtype=xp.float32)}
    if c.initial_inhibitory_receptors >= c.exposed_threshold:
        columns["state"] = xp.full(count, S["exposed"], dtype=xp.int8)
    return columns


def _fields(config, *names) -> bool:
    return all(name in config.fields for name in names)


NK = CellType(
    name="nk",
    describe="natural killer cells",
    states=STATES,
    config=NKConfig,
    prepare=prepare,
    categories=(Category("nk", None, "any NK cell"),
                Category("nk_exposed", lambda xp, cells: cells["state"] == S["exposed"],
                         "inhibitory receptors past the exposure threshold")),
    columns=(Column("inhibitory_receptors", np.float32, 0, "inherit", "TIGIT/KLRG1 level (education by tumor contact)"),
             Column("kills", np.int32, 0, 0, "cells killed so far")),
    # Keys kept from before the spec existed, so that runs reproduce bit for bit.
    purposes={"move": 4, "kill": 5, "proliferation": 7, "quiescence": None},
    rules=[
        Rule("exhaustion", exhaustion, "NK cells that reached max_kills kills are exhausted: they still bind "
             "tumor cells but no longer kill",
             ("nk.max_kills",), when=lambda c: c.cells.nk.max_kills > 0),
        Rule("cxcl12_quiescence", cxcl12_quiescence,
             "NK cells switch into quiescence at a rate that rises with the CXCL12 they sense (Hill), and out of "
             "it at a rate that falls with it",
             ("nk.cxcl12_quiescence_half_max", "nk.cxcl12_quiescence_hill_n", "nk.quiescence_switch_rate_per_h"),
             when=lambda c: c.cells.nk.cxcl12_quiescence_half_max is not None
             and c.cells.nk.quiescence_switch_rate_per_h > 0 and _fields(c, "cxcl12")),
        Rule("conjugation", conjugation, "a free NK cell that is not quiescent, touching a viable tumor cell, "
             "conjugates with one",
             ("nk.conjugation_time_min",)),
        Rule("education", education, "in NK cells, each new tumor contact raises the inhibitory receptors, less "
             "as the target has shed its activating ligand (CD155)",
             ("nk.inhibitory_receptor_gain_per_contact", "tumor.activating_ligand_shedding_per_h"),
             when=lambda c: c.cells.nk.inhibitory_receptor_gain_per_contact > 0),
        Rule("contact_kill", contact_kill,
             "at the end of a conjugate the NK cell kills its target with a probability set by the target's "
             "ligands and its own inhibitory receptors",
             ("nk.kill_probability_per_contact", "nk.inhibitory_receptor_weight", "tumor.activating_ligand_single",
              "tumor.activating_ligand_cluster_loss", "tumor.inhibitory_ligand_single",
              "tumor.inhibitory_ligand_cluster_gain", "tumor.epithelial_neighbours_half", "tcell.nk_suppression")),
        Rule("release", release, "NK cells let go of their target when a conjugate ends"),
        Rule("patrol", patrol, "NK cells not in a conjugate random-walk, some moves up the chemoattractant",
             ("nk.move_rate_per_h", "nk.chemotaxis_bias")),
        Rule("il15_proliferation", il15_proliferation, "in NK cells, local IL-15 increases division",
             ("nk.proliferation_rate_per_h", "nk.il15_half_max"),
             when=lambda c: c.cells.nk.proliferation_rate_per_h > 0),
        Rule("death", death, "NK cells die at a rate that local IL-15 lowers",
             ("nk.death_rate_per_h", "nk.il15_survival_gain", "nk.il15_half_max"),
             when=lambda c: c.cells.nk.death_rate_per_h > 0),
        Rule("tumor_exposure", tumor_exposure, "NK cells whose inhibitory receptors pass a threshold are "
             "tumor-exposed", ("nk.exposed_threshold",)),
        Rule("ifng_secretion", ifng_secretion, "NK cells secrete IFN-gamma on recognising a target (and at their "
             "tissue's tonic rate), less as their inhibitory receptors rise and as the target sheds CD155; none "
             "while quiescent or exhausted",
             ("nk.ifng_secretion_per_min", "nk.ifng_secretion_in_contact_per_min", "nk.inhibitory_receptor_weight",
              "tumor.activating_ligand_single", "tumor.inhibitory_ligand_single",
              "tumor.activating_ligand_shedding_per_h"),
             phase="secrete", when=lambda c: _fields(c, "ifng")),
        Rule("il15_uptake", il15_uptake, "NK cells take up IL-15", ("nk.il15_uptake_per_min",), phase="secrete",
             when=lambda c: c.cells.nk.il15_uptake_per_min > 0 and _fields(c, "il15")),
    ],
    begin=begin,
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
                  base_key="nk.move_rate_per_h"),
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
