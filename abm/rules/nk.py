"""NK cells.

- Patrol: random walk, biased up the tumor-derived chemoattractant.
- Contact: touching a viable tumor cell, a free NK cell conjugates with one (chosen uniformly)
  for a conjugation time; each contact raises its inhibitory receptors (TIGIT/KLRG1: education).
- Kill: at the end of the conjugate the target dies (turns caspase+) with probability
      p = p_max * A / (A + I + w R) * (1 - s [target touches a bound DP T cell])
  A, I: the target's activating and inhibitory ligands (fewer A, more I in clusters);
  R: the NK cell's inhibitory receptors, w their weight (lowered by TIGIT/KLRG1 block).
  After max_kills kills the cell is exhausted.
- Exposed: past a receptor threshold the cell is tumor-exposed: it barely kills and, by a stated
  parameter (mechanism unknown, Chan 2020), supports the colony growth of touching tumor cells.
- IFN-gamma: secreted while active, more while conjugated.
- CXCL12 (Correia 2021): above a local level the cell is quiescent: no secretion, no killing,
  no division. A CXCR4 block lowers the CXCL12 it senses.
- IL-15: drives division into free sites and lowers the death rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..celltypes import CATEGORY, STATE
from ..interventions import efficiency
from ..kernels.philox import probability_threshold, rate_threshold
from . import Intents, Secretion, StepContext, where_true
from . import tumor as tumor_rules
from .movement import propose_moves

S = STATE["nk"]


@dataclass(frozen=True)
class NKParams:
    move_threshold: int
    bias_threshold: int
    kill_probability: float
    receptor_weight: float  # after TIGIT/KLRG1 block
    cxcl12_sensitivity: float  # after CXCR4 block
    proliferation_probability: float
    death_probability: float
    depleted: bool
    tcell_suppression: float
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
        proliferation_probability=float(-np.expm1(-c.proliferation_rate_per_h * per_min * dt_min)),
        death_probability=float(-np.expm1(-c.death_rate_per_h * per_min * dt_min)),
        depleted="nk_depletion" in in_force,
        tcell_suppression=cells.tcell.nk_suppression,
        config=c,
    )


def decide(ctx: StepContext, params: NKParams) -> Intents:
    xp, c, intents = ctx.xp, params.config, Intents()
    agents = ctx.agents
    nk = ctx.slots_of("nk")
    if params.depleted:  # anti-NK antibody: every NK cell is cleared
        intents.die(nk)
        return intents

    receptors = agents["inhibitory_receptors"][nk]
    exhausted = (agents["kills"][nk] >= c.max_kills) if c.max_kills > 0 else xp.zeros(nk.shape[0], dtype=bool)
    il15 = ctx.hill(ctx.local_concentration["il15"][nk], c.il15_half_max, 1)
    quiescent = xp.zeros(nk.shape[0], dtype=bool)
    if c.cxcl12_quiescence_threshold is not None and "cxcl12" in ctx.fields_flat:
        sensed = ctx.local_concentration["cxcl12"][nk] * xp.float32(params.cxcl12_sensitivity)
        threshold = xp.float32(c.cxcl12_quiescence_threshold) * (
            xp.float32(1) + xp.float32(c.il15_quiescence_resistance) * il15)
        quiescent = sensed > threshold
    able = ~exhausted & ~quiescent

    # Conjugation: a free, able NK cell touching a viable tumor cell binds one of them.
    words = ctx.draws("nk_kill", nk)
    was_conjugated = (agents["partner"][nk] >= 0) & able
    touches, target_site, _ = ctx.random_neighbour(nk, words[1], "tumor_epithelial", "tumor_mesenchymal")
    starts = able & ~was_conjugated & touches
    target_slot = xp.maximum(ctx.lattice.occupancy[xp.where(starts, target_site, 0)].astype(xp.int64), 0)
    partner = xp.where(starts, agents["id"][target_slot], xp.where(was_conjugated, agents["partner"][nk], -1))
    partner_site = xp.where(starts, target_site, xp.where(was_conjugated, agents["partner_site"][nk], -1))
    receptors = xp.where(starts, receptors + xp.float32(c.inhibitory_receptor_gain_per_contact), receptors)

    # The conjugate ends after the conjugation time (at once when it is 0): kill or release.
    age = xp.where(starts, xp.float32(0), agents["state_age_min"][nk])
    conjugated = starts | was_conjugated
    ends = conjugated & (age >= xp.float32(c.conjugation_time_min - 1e-4))
    _attempt_kills(ctx, intents, nk, ends, partner, partner_site, receptors, words[0], params)
    partner = xp.where(ends, -1, partner)
    partner_site = xp.where(ends, -1, partner_site)
    conjugated = conjugated & ~ends

    # Patrol: cells not held in a conjugate walk, some of them up the chemoattractant.
    destinations, moves = propose_moves(ctx, nk, params.move_threshold, "nk_move",
                                        params.bias_threshold, "chemoattractant", walking=~conjugated)
    intents.move(nk, destinations, where=moves)

    # IL-15: division of able, unconjugated cells into a free site; survival.
    growth_words = ctx.draws("nk_proliferation", nk)
    if params.proliferation_probability > 0:
        has_free, site, _ = ctx.random_neighbour(nk, growth_words[1], "empty")
        divides = able & ~conjugated & has_free & ctx.happens_with(
            growth_words[0], xp.float32(params.proliferation_probability) * il15)
        intents.divide(nk, site, xp.full(nk.shape[0], S["active"], dtype=xp.int8), where=divides)
    if params.death_probability > 0:
        death = xp.float32(params.death_probability) * (xp.float32(1) - xp.float32(c.il15_survival_gain) * il15)
        intents.die(nk, where=ctx.happens_with(growth_words[2], death))

    state = xp.full(nk.shape[0], S["active"], dtype=xp.int8)
    state = xp.where(receptors >= xp.float32(c.exposed_threshold), xp.int8(S["exposed"]), state)
    state = xp.where(conjugated, xp.int8(S["conjugated"]), state)
    state = xp.where(quiescent, xp.int8(S["quiescent"]), state)
    state = xp.where(exhausted, xp.int8(S["exhausted"]), state)
    intents.update("inhibitory_receptors", nk, receptors)
    intents.update("partner", nk, partner)
    intents.update("partner_site", nk, partner_site)
    intents.update("state", nk, state)
    return intents


def _attempt_kills(ctx, intents, nk, ends, partner, partner_site, receptors, word, params):
    """Kill attempts of conjugates that end now, against targets still there and viable."""
    xp = ctx.xp
    agents = ctx.agents
    killers, sites, partner, receptors, word = where_true(xp, ends, nk, partner_site, partner, receptors, word)
    target = ctx.lattice.occupancy[xp.maximum(sites, 0)].astype(xp.int64)
    safe = xp.maximum(target, 0)
    category = ctx.category[safe]
    present = (target >= 0) & (agents["id"][safe] == partner) & (
        (category == CATEGORY["tumor_epithelial"]) | (category == CATEGORY["tumor_mesenchymal"]))
    activating, inhibitory = tumor_rules.ligands(ctx, safe, ctx.params["tumor"])
    weight = xp.float32(params.receptor_weight)
    probability = xp.float32(params.kill_probability) * activating / (activating + inhibitory + weight * receptors)
    if params.tcell_suppression > 0:
        guarded = ctx.count(safe, "tcell_bound") > 0
        probability = xp.where(guarded, probability * xp.float32(1 - params.tcell_suppression), probability)
    succeeds = present & ctx.happens_with(word, probability)
    clustered = ctx.count(safe, "tumor_epithelial", "tumor_mesenchymal") > 0
    intents.kill(killers, sites, clustered, where=succeeds)
    intents.tally("contacts_single", (present & ~clustered).sum())
    intents.tally("contacts_clustered", (present & clustered).sum())


def secretion(ctx: StepContext, params: NKParams) -> list:
    xp, c = ctx.xp, params.config
    nk = ctx.slots_of("nk")
    state = ctx.agents["state"][nk]
    sites = ctx.agents["site"][nk]
    out = []
    if "ifng" in ctx.fields_flat:
        in_contact = c.ifng_secretion_in_contact_per_min
        in_contact = c.ifng_secretion_per_min if in_contact is None else in_contact
        rate = xp.where(state == S["conjugated"], xp.float32(in_contact * ctx.dt_min),
                        xp.float32(c.ifng_secretion_per_min * ctx.dt_min))
        silent = (state == S["quiescent"]) | (state == S["exhausted"])
        rate = xp.where(silent, xp.float32(0), rate).astype(xp.float32)
        out.append(Secretion("ifng", sites, rate, xp.ones(nk.shape[0], dtype=xp.float32)))
    if c.il15_uptake_per_min > 0 and "il15" in ctx.fields_flat:
        keep = xp.float32(1.0 / (1.0 + c.il15_uptake_per_min * ctx.dt_min))
        ones = xp.ones(nk.shape[0], dtype=xp.float32)
        out.append(Secretion("il15", sites, ones * xp.float32(0), ones * keep))
    return out
