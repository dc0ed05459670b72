"""Tumor cells.

- Divide into a free neighbouring site (contact inhibition: no free site, no division); the
  neutrophil cytokine (IL-6/IL-1beta) shortens the cycle.
- Die by apoptosis at a baseline rate, faster when isolated (anoikis); an apoptotic cell is
  caspase+ for a set time before it is removed. NK kills also start apoptosis.
- Dormancy: while the local IFN-gamma is high (Hill response) a cell enters quiescence; when it
  falls, it may re-enter the cycle. Cells blind to IFN-gamma never become dormant.
- Invasion: an epithelial cell at the rim (a free neighbouring site, still touching the mass)
  may become a leader and migrate into the matrix with directional persistence; its followers
  divide into the space it leaves, so strands form.
- Circulating (suspended) cells random-walk; Plexin-B2 adhesion to tumor neighbours and bonds
  to escort cells hold them together, so clusters form and stay.
- NK ligands: the more epithelial tumor neighbours, the fewer activating and the more
  inhibitory ligands (Lo 2020); after EMT a cell has no epithelial character and looks single.
- Next to a tumor-exposed NK cell a cell's colony-forming ability rises (Chan 2020).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..celltypes import STATE
from ..interventions import efficiency
from ..kernels.neighbours import site_at_offset
from ..kernels.philox import probability_threshold, rate_threshold
from . import Intents, Secretion, StepContext
from .movement import propose_moves

S = STATE["tumor"]


@dataclass(frozen=True)
class TumorParams:
    division_probability: float  # per step, before the cytokine boost
    death_threshold: int
    isolated_death_threshold: int  # baseline + anoikis
    dormancy_entry_probability: float
    dormancy_exit_probability: float
    leader_threshold: int
    leader_revert_threshold: int
    invasive_move_threshold: int
    persistence_threshold: int
    motility_thresholds: np.ndarray  # uint64 per number of adhesive contacts (0..26)
    colony_gain_per_step: float
    cytokine_boost: float  # after blockade
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> TumorParams:
    c = cells.tumor
    per_min = 1.0 / 60.0
    motility = -np.expm1(-c.motility_rate_per_h * per_min * dt_min)
    staying = (1.0 - c.adhesion_per_contact) ** np.arange(27)  # chance to move survives each adhesive contact
    return TumorParams(
        division_probability=float(-np.expm1(-c.division_rate_per_h * per_min * dt_min)),
        death_threshold=rate_threshold(c.death_rate_per_h * per_min, dt_min),
        isolated_death_threshold=rate_threshold((c.death_rate_per_h + c.isolated_death_rate_per_h) * per_min, dt_min),
        dormancy_entry_probability=float(-np.expm1(-c.dormancy_entry_rate_per_h * per_min * dt_min)),
        dormancy_exit_probability=float(-np.expm1(-c.dormancy_exit_rate_per_h * per_min * dt_min)),
        leader_threshold=rate_threshold(c.leader_rate_per_h * per_min, dt_min),
        leader_revert_threshold=rate_threshold(c.leader_revert_rate_per_h * per_min, dt_min),
        invasive_move_threshold=rate_threshold(c.invasive_move_rate_per_h * per_min, dt_min),
        persistence_threshold=probability_threshold(c.invasive_persistence),
        motility_thresholds=np.array([probability_threshold(motility * s) for s in staying], dtype=np.uint64),
        colony_gain_per_step=cells.nk.exposed_colony_support_per_h * dt_min / 60.0,
        cytokine_boost=c.cytokine_division_boost * (1.0 - efficiency(in_force, "cytokine_blockade")),
        config=c,
    )


def ligands(ctx: StepContext, slots, params: TumorParams):
    """(activating, inhibitory) NK-ligand levels of tumor cells, from their epithelial neighbours."""
    xp, c = ctx.xp, params.config
    epithelial_self = ctx.category[slots] == 0  # an EMT or leader cell has no epithelial context
    n_epi = ctx.count(slots, "tumor_epithelial").astype(xp.float32)
    clustering = xp.where(epithelial_self, n_epi / (n_epi + xp.float32(c.epithelial_neighbours_half)), xp.float32(0))
    activating = xp.float32(c.activating_ligand_single) * (xp.float32(1) - xp.float32(c.activating_ligand_cluster_loss) * clustering)
    inhibitory = xp.float32(c.inhibitory_ligand_single) + xp.float32(c.inhibitory_ligand_cluster_gain) * clustering
    return activating, inhibitory


def decide(ctx: StepContext, params: TumorParams) -> Intents:
    xp, c, intents = ctx.xp, params.config, Intents()
    agents = ctx.agents
    tumor = ctx.slots_of("tumor")
    state = agents["state"][tumor]
    viable = state != S["apoptotic"]
    tumor_neighbours = ctx.count(tumor, "tumor_epithelial", "tumor_mesenchymal")
    escorts = ctx.count(tumor, "neutrophil_bound", "tcell_bound")
    free_sites = ctx.count(tumor, "empty")

    # Apoptosis: baseline, plus anoikis for a cell touching neither tumor cells nor bound escorts.
    isolated = (tumor_neighbours == 0) & (escorts == 0)
    death_words = ctx.draws("tumor_death", tumor)
    threshold = xp.where(isolated, xp.uint64(params.isolated_death_threshold), xp.uint64(params.death_threshold))
    dies = viable & ctx.happens(death_words[0], threshold)
    intents.turn_apoptotic(tumor, where=dies)
    alive = viable & ~dies

    # Dormancy under IFN-gamma (Hill response of the local concentration).
    new_state = state.copy()
    if c.ifng_responsive and "ifng" in ctx.fields_flat:
        response = ctx.hill(ctx.local_concentration["ifng"][tumor], c.ifng_dormancy_half_max, c.ifng_dormancy_hill_n)
        enter = xp.float32(params.dormancy_entry_probability) * response
        leave = xp.float32(params.dormancy_exit_probability) * (xp.float32(1) - response)
        dormant = state == S["dormant"]
        goes_dormant = alive & ~dormant & ctx.happens_with(death_words[1], enter)
        wakes = alive & dormant & ctx.happens_with(death_words[1], leave)
        new_state = xp.where(goes_dormant, xp.int8(S["dormant"]), new_state)
        new_state = xp.where(wakes, xp.int8(S["proliferating"]), new_state)

    # Leaders: rim cells still attached to the mass start invading; leaders may settle again.
    leader_words = ctx.draws("state_change", tumor)
    at_rim = (new_state == S["proliferating"]) & (free_sites > 0) & (tumor_neighbours > 0)
    becomes_leader = alive & at_rim & ctx.happens(leader_words[0], params.leader_threshold)
    settles = alive & (state == S["invasive"]) & ctx.happens(leader_words[1], params.leader_revert_threshold)
    new_state = xp.where(becomes_leader, xp.int8(S["invasive"]), new_state)
    new_state = xp.where(settles, xp.int8(S["proliferating"]), new_state)
    intents.update("state", tumor, new_state, where=alive)

    # Division of cycling cells into a free site; neutrophil cytokines shorten the cycle.
    division_words = ctx.draws("tumor_division", tumor)
    probability = xp.full(tumor.shape[0], params.division_probability, dtype=xp.float32)
    if params.cytokine_boost > 0 and "neutrophil_cytokine" in ctx.fields_flat:
        response = ctx.hill(ctx.local_concentration["neutrophil_cytokine"][tumor], c.cytokine_half_max, 1)
        probability = probability * (xp.float32(1) + xp.float32(params.cytokine_boost) * response)
    cycling = alive & (new_state == S["proliferating"]) & (state == S["proliferating"])
    has_free, target, _ = ctx.random_neighbour(tumor, division_words[1], "empty")
    divides = cycling & has_free & ctx.happens_with(division_words[0], probability)
    intents.divide(tumor, target, xp.full(tumor.shape[0], S["proliferating"], dtype=xp.int8), where=divides)

    # Leaders migrate with persistence: straight on if the site ahead is free, else a new direction.
    leading = alive & (state == S["invasive"]) & (new_state == S["invasive"])
    _leader_moves(ctx, intents, tumor, leading, params)

    # Suspended cells random-walk; adhesive contacts (Plexin-B2 neighbours, bound escorts) hold them.
    walking = alive & ~divides & (new_state != S["invasive"]) & (new_state != S["dormant"])
    if c.motility_rate_per_h > 0:
        adhesive = xp.where(agents["plxnb2"][tumor] > 0, tumor_neighbours, 0) + \
            xp.where(agents["vcam1"][tumor] > 0, escorts, 0)
        thresholds = _on_backend(xp, params.motility_thresholds)[xp.minimum(adhesive, 26)]
        destinations, moves = propose_moves(ctx, tumor, thresholds, "tumor_neighbour_choice", walking=walking)
        intents.move(tumor, destinations, where=moves)

    # Tumor-exposed NK cells next to a cell raise its colony-forming ability.
    if params.colony_gain_per_step > 0:
        exposed = ctx.count(tumor, "nk_exposed").astype(xp.float32)
        raised = xp.minimum(agents["clonogenicity"][tumor] + xp.float32(params.colony_gain_per_step) * exposed,
                            xp.float32(1))
        intents.update("clonogenicity", tumor, raised, where=alive & (exposed > 0))
    return intents


_tables: dict = {}


def _on_backend(xp, table):
    """A host table uploaded once per backend (no host-to-device copy inside the step loop)."""
    key = (id(table), id(xp))
    if key not in _tables:
        _tables[key] = (table, xp.asarray(table))  # keep the host table alive: its id stays unique
    return _tables[key][1]


def _leader_moves(ctx, intents, tumor, leading, params):
    """Moves of the leaders (`leading`, a mask over the tumor cells) and their new headings."""
    xp = ctx.xp
    if params.invasive_move_threshold == 0:
        return
    words = ctx.draws("tumor_neighbour_choice", tumor)
    free_mask = ctx.mask(tumor, "empty")
    heading = ctx.agents["heading"][tumor].astype(xp.int32)
    ahead_free = (heading >= 0) & (((free_mask >> xp.maximum(heading, 0).astype(xp.uint32)) & xp.uint32(1)) > 0)
    keeps = ahead_free & ctx.happens(words[2], params.persistence_threshold)
    has_free, _, new_heading = ctx.pick(tumor, free_mask, words[1])
    offset = xp.where(keeps, heading, new_heading)
    destination = site_at_offset(ctx.agents["site"][tumor], offset, ctx.lattice.shape,
                                 ctx.lattice.offsets_device, xp=xp)
    moves = leading & (keeps | has_free) & ctx.happens(words[0], params.invasive_move_threshold)
    intents.move(tumor, destination, where=moves)
    intents.update("heading", tumor, offset.astype(xp.int8), where=moves)


def secretion(ctx: StepContext, params: TumorParams) -> list:
    xp, c = ctx.xp, params.config
    out = []
    tumor = ctx.slots_of("tumor")
    viable = ctx.agents["state"][tumor] != S["apoptotic"]  # caspase+ cells neither secrete nor take up
    sites = ctx.agents["site"][tumor]
    nothing, ones = xp.zeros(tumor.shape[0], dtype=xp.float32), xp.ones(tumor.shape[0], dtype=xp.float32)
    if c.chemoattractant_secretion_per_min > 0 and "chemoattractant" in ctx.fields_flat:
        rate = xp.where(viable, xp.float32(c.chemoattractant_secretion_per_min * ctx.dt_min), nothing)
        out.append(Secretion("chemoattractant", sites, rate, ones))
    if c.ifng_uptake_per_min > 0 and c.ifng_responsive and "ifng" in ctx.fields_flat:
        keep = xp.where(viable, xp.float32(1.0 / (1.0 + c.ifng_uptake_per_min * ctx.dt_min)), ones)
        out.append(Secretion("ifng", sites, nothing, keep))
    return out
