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
- Next to a tumor-exposed NK cell a cell divides faster, and so do its daughters: a heritable
  division boost (Chan 2020 report more colonies with exposed NK cells; the mechanism is not
  known: this is the smallest local rule that can give it, with an assumed rate).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.cell_rules import cell_function, cell_rule, current_value
from ..engine.scalar import TWO_TO_32, as_threshold, happens, happens_with, hill, pick_from_mask, site_at_offset
from ..interventions import Blockade, CytokineSource, Switch, efficiency
from ..kernels.philox import probability_threshold, rate_threshold
from ..rules.cohesion import held_contacts, keeping_contacts
from ..rules.conjugates import held_by_nk
from ..spec import Behaviour, Category, CellType, Column, Dying, FieldUse, Therapy
from .tumor_config import TumorConfig  # the keys a tumor cell takes, with units, in their own file

STATES = ("proliferating", "invasive", "dormant", "apoptotic")
S = {name: code for code, name in enumerate(STATES)}


@dataclass(frozen=True)
class TumorParams:
    division_probability: float  # per step, before the cytokine boost
    death_probability: float  # per step: the base of the behaviour `apoptosis`
    death_threshold: int
    isolated_death_threshold: int  # baseline + anoikis
    dormancy_entry_probability: float
    dormancy_exit_probability: float
    leader_threshold: int
    leader_revert_threshold: int
    invasive_move_threshold: int
    persistence_threshold: int
    motility_probability: float  # per step, of a cell without adhesive contacts
    motility_thresholds: np.ndarray  # uint64 per number of adhesive contacts (0..26)
    adhesion_staying: np.ndarray  # float32 per number of adhesive contacts: the chance to move left
    division_boost_per_step: float  # per touching exposed NK cell
    cytokine_boost: float  # after blockade
    cytokine_half_max: float
    ifng_half_max_to_n: np.float32
    ifng_hill_n: int
    max_division_boost: float
    ligand_kept: np.float32  # share of the activating ligand (CD155) an arrested cell keeps over a step
    chemoattractant_per_step: float
    ifng_keep: float  # share of IFN-gamma left at the cell's site after its uptake in one step
    config: object


def prepare(cells, dt_min: float, in_force: dict) -> TumorParams:
    c = cells.tumor
    per_min = 1.0 / 60.0
    motility = -np.expm1(-c.motility_rate_per_h * per_min * dt_min)
    staying = (1.0 - c.adhesion_per_contact) ** np.arange(27)  # chance to move survives each adhesive contact
    return TumorParams(
        division_probability=float(-np.expm1(-c.division_rate_per_h * per_min * dt_min)),
        death_probability=float(-np.expm1(-c.death_rate_per_h * per_min * dt_min)),
        death_threshold=rate_threshold(c.death_rate_per_h * per_min, dt_min),
        isolated_death_threshold=rate_threshold((c.death_rate_per_h + c.isolated_death_rate_per_h) * per_min, dt_min),
        dormancy_entry_probability=float(-np.expm1(-c.dormancy_entry_rate_per_h * per_min * dt_min)),
        dormancy_exit_probability=float(-np.expm1(-c.dormancy_exit_rate_per_h * per_min * dt_min)),
        leader_threshold=rate_threshold(c.leader_rate_per_h * per_min, dt_min),
        leader_revert_threshold=rate_threshold(c.leader_revert_rate_per_h * per_min, dt_min),
        invasive_move_threshold=rate_threshold(c.invasive_move_rate_per_h * per_min, dt_min),
        persistence_threshold=probability_threshold(c.invasive_persistence),
        motility_probability=float(motility),
        motility_thresholds=np.array([probability_threshold(motility * s) for s in staying], dtype=np.uint64),
        adhesion_staying=staying.astype(np.float32),
        division_boost_per_step=c.exposed_nk_division_boost_per_h * dt_min / 60.0,
        cytokine_boost=c.cytokine_division_boost * (1.0 - efficiency(in_force, "cytokine_blockade")),
        cytokine_half_max=c.cytokine_half_max,
        ifng_half_max_to_n=np.float32(np.float32(c.ifng_dormancy_half_max) ** c.ifng_dormancy_hill_n),
        ifng_hill_n=c.ifng_dormancy_hill_n,
        max_division_boost=c.max_division_boost,
        ligand_kept=np.float32(np.exp(-c.activating_ligand_shedding_per_h * dt_min / 60.0)),
        chemoattractant_per_step=c.chemoattractant_secretion_per_min * dt_min,
        ifng_keep=1.0 / (1.0 + c.ifng_uptake_per_min * dt_min),
        config=c,
    )


PROLIFERATING, INVASIVE, DORMANT, APOPTOTIC = (S[name] for name in STATES)
# What the rules of one tumor cell share in a step (set by `begin`, then by the rules).
WORKING = {"viable": True, "alive": True, "tumor_neighbours": 0, "escorts": 0, "free_sites": 0,
           "death_threshold": 0, "death_threshold_per_cell": False, "divides": False, "new_state": "state"}


# ---------------------------------------------------------------- the rules, in the order they run


@cell_rule("what every rule of a tumor cell reads: whether it is viable, its neighbours",
           ("viable", "alive", "tumor_neighbours", "escorts", "free_sites", "death_threshold"))
def begin(state, count_tumor_epithelial, count_tumor_mesenchymal, count_neutrophil_bound, count_tcell_bound,
          count_empty, p):
    viable = state != APOPTOTIC
    return (viable, viable, count_tumor_epithelial + count_tumor_mesenchymal,
            count_neutrophil_bound + count_tcell_bound, count_empty, np.uint64(p.death_threshold))


@cell_rule("in tumor cells, touching no tumor cell and no bound escort raises apoptosis",
           ("death_threshold", "death_threshold_per_cell"), ("tumor.isolated_death_rate_per_h",),
           when=lambda c: c.cells.tumor.isolated_death_rate_per_h > 0)
def anoikis(tumor_neighbours, escorts, p):
    isolated = tumor_neighbours == 0 and escorts == 0
    return np.uint64(p.isolated_death_threshold) if isolated else np.uint64(p.death_threshold), True


@cell_rule("tumor cells start apoptosis (caspase+) at a baseline rate", ("starts_dying", "alive"),
           ("tumor.death_rate_per_h", "tumor.caspase_duration_min"))
def apoptosis(viable, death_threshold, has_behaviour_apoptosis, behaviour_apoptosis, draws_death):
    threshold = as_threshold(behaviour_apoptosis) if has_behaviour_apoptosis else death_threshold
    dies = viable and happens(draws_death[0], threshold)
    return dies, viable and not dies


@current_value
def apoptosis_now(death_threshold, death_threshold_per_cell, p):
    """The chance of apoptosis per step that the tumor's own rules set (anoikis raises it for
    isolated cells): the base the grammar modulates."""
    if death_threshold_per_cell:
        return np.float32(np.float64(death_threshold) / TWO_TO_32)
    return np.float32(p.death_probability)


@cell_rule("in tumor cells, local IFN-gamma increases dormancy entry and decreases exit (Hill response)",
           ("behaviour_dormancy_entry", "behaviour_dormancy_exit"),
           ("tumor.dormancy_entry_rate_per_h", "tumor.dormancy_exit_rate_per_h", "tumor.ifng_dormancy_half_max",
            "tumor.ifng_dormancy_hill_n", "tumor.ifng_responsive"),
           when=lambda c: c.cells.tumor.ifng_responsive and _has_fields(c, "ifng"))
def ifng_dormancy(conc_ifng, p):
    response = hill(conc_ifng, p.ifng_half_max_to_n, p.ifng_hill_n)
    return (np.float32(np.float32(p.dormancy_entry_probability) * response),
            np.float32(np.float32(p.dormancy_exit_probability) * np.float32(np.float32(1.0) - response)))


@cell_rule("tumor cells enter and leave dormancy with the probabilities their signals set", "new_state")
def dormancy(alive, state, new_state, has_behaviour_dormancy_entry, has_behaviour_dormancy_exit,
             behaviour_dormancy_entry, behaviour_dormancy_exit, draws_death):
    if not (has_behaviour_dormancy_entry or has_behaviour_dormancy_exit):
        return new_state  # nothing drives dormancy in this run
    dormant = state == DORMANT
    if alive and not dormant and happens_with(draws_death[1], behaviour_dormancy_entry):
        return np.int8(DORMANT)
    if alive and dormant and happens_with(draws_death[1], behaviour_dormancy_exit):
        return np.int8(PROLIFERATING)
    return new_state


@cell_rule("rim tumor cells still touching the mass become invasive leaders; leaders may settle again",
           "new_state", ("tumor.leader_rate_per_h", "tumor.leader_revert_rate_per_h"),
           when=lambda c: c.cells.tumor.leader_rate_per_h > 0 or c.cells.tumor.leader_revert_rate_per_h > 0)
def invasion_leaders(alive, state, new_state, free_sites, tumor_neighbours, draws_state_change, p):
    at_rim = new_state == PROLIFERATING and free_sites > 0 and tumor_neighbours > 0
    becomes_leader = alive and at_rim and happens(draws_state_change[0], p.leader_threshold)
    settles = alive and state == INVASIVE and happens(draws_state_change[1], p.leader_revert_threshold)
    if settles:
        return np.int8(PROLIFERATING)
    return np.int8(INVASIVE) if becomes_leader else new_state


@cell_rule("cycling tumor cells divide into a free neighbouring site, faster by their inherited division boost; "
           "neutrophil cytokine shortens the cycle", ("divide_into", "daughter_state", "divides"),
           ("tumor.division_rate_per_h", "tumor.cytokine_division_boost", "tumor.cytokine_half_max"))
def division(alive, state, new_state, site, division_boost, behaviour_division, conc_neutrophil_cytokine,
             field_neutrophil_cytokine, mask_empty, draws_division, offsets, lattice_shape, p):
    probability = np.float32(behaviour_division * np.float32(np.float32(1.0) + division_boost))
    if p.cytokine_boost > 0 and field_neutrophil_cytokine.shape[0] > 0:  # IL-6/IL-1beta shorten the cycle
        response = hill(conc_neutrophil_cytokine, np.float32(p.cytokine_half_max), 1)
        probability = np.float32(probability * np.float32(
            np.float32(1.0) + np.float32(np.float32(p.cytokine_boost) * response)))
    cycling = alive and new_state == PROLIFERATING and state == PROLIFERATING
    offset = pick_from_mask(mask_empty, draws_division[1], offsets.shape[0])
    divides = cycling and offset >= 0 and happens_with(draws_division[0], probability)
    target = site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets) if divides else np.int64(-1)
    return target, np.int8(PROLIFERATING), divides


@cell_rule("invasive leaders migrate into free matrix with persistence, except while an NK cell holds them in a "
           "conjugate", ("move_to", "new_heading"), ("tumor.invasive_move_rate_per_h", "tumor.invasive_persistence"),
           when=lambda c: c.cells.tumor.invasive_move_rate_per_h > 0 and c.cells.tumor.leader_rate_per_h > 0)
def leader_migration(alive, state, new_state, id, site, heading, new_heading, mask_empty, mask_of_type_nk,
                     draws_neighbour_choice, occupancy, all_partner, all_partner_site, offsets, lattice_shape, p):
    """Leaders keep their direction while the site ahead is free, else take a new one."""
    leading = alive and state == INVASIVE and new_state == INVASIVE
    if not leading or held_by_nk(id, site, mask_of_type_nk, occupancy, all_partner, all_partner_site, offsets,
                                 lattice_shape):
        return np.int64(-1), new_heading  # locked in an NK conjugate until the kill is decided
    ahead_free = heading >= 0 and (np.uint32(mask_empty) >> np.uint32(max(heading, 0))) & np.uint32(1) > 0
    keeps = ahead_free and happens(draws_neighbour_choice[2], p.persistence_threshold)
    picked = pick_from_mask(mask_empty, draws_neighbour_choice[1], offsets.shape[0])
    offset = np.int64(heading) if keeps else np.int64(picked)
    if (keeps or picked >= 0) and happens(draws_neighbour_choice[0], p.invasive_move_threshold):
        return site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets), np.int8(offset)
    return np.int64(-1), new_heading


@cell_rule("suspended tumor cells random-walk; each adhesive contact holds them back, and no move lets one go",
           ("move_to", "move_holds", "move_turn_word"), ("tumor.motility_rate_per_h", "tumor.adhesion_per_contact"),
           when=lambda c: c.cells.tumor.motility_rate_per_h > 0)
def suspension_walk(alive, divides, new_state, id, site, plxnb2, vcam1, tumor_neighbours, escorts, mask_empty,
                    mask_tumor_epithelial, mask_tumor_mesenchymal, mask_neutrophil_bound, mask_tcell_bound,
                    has_behaviour_motility, behaviour_motility, table_adhesion_staying, table_motility_thresholds,
                    draws_neighbour_choice, occupancy, all_partner, contact_table, offsets, lattice_shape):
    """Adhesive contacts (Plexin-B2 neighbours, own bound escorts) hold a walking cell back, and a
    move keeps them all (rules/cohesion.py): walking never splits a cluster."""
    walking = alive and not divides and new_state != INVASIVE and new_state != DORMANT
    adhesive = (tumor_neighbours if plxnb2 > 0 else 0) + (escorts if vcam1 > 0 else 0)
    contacts = min(adhesive, 26)
    if has_behaviour_motility:  # a signal set the chance to move; adhesion still holds cells back
        threshold = as_threshold(np.float32(behaviour_motility * table_adhesion_staying[contacts]))
    else:
        threshold = table_motility_thresholds[contacts]
    held = held_contacts(id, site, plxnb2 > 0, vcam1 > 0, mask_tumor_epithelial | mask_tumor_mesenchymal,
                         mask_neutrophil_bound | mask_tcell_bound, occupancy, all_partner, offsets, lattice_shape)
    allowed = keeping_contacts(mask_empty, held, contact_table) if held > 0 else np.uint32(mask_empty)
    offset = pick_from_mask(allowed, draws_neighbour_choice[1], offsets.shape[0])
    wants = walking and offset >= 0 and happens(draws_neighbour_choice[0], threshold)
    destination = site_at_offset(site, offset, lattice_shape[1], lattice_shape[2], offsets)
    return (destination if wants else np.int64(-1)), held, draws_neighbour_choice[2]


@cell_rule("in tumor cells, contact with a tumor-exposed NK cell increases division (inherited by daughters)",
           "new_division_boost", ("tumor.exposed_nk_division_boost_per_h", "tumor.max_division_boost"),
           when=lambda c: c.cells.tumor.exposed_nk_division_boost_per_h > 0)
def exposed_nk_division_boost(alive, division_boost, new_division_boost, count_nk_exposed, p):
    """Contact with exposed NK cells raises a heritable division boost (daughters inherit it), up to
    a cap. An assumption: Chan 2020 find more colonies with exposed NK cells than without NK but
    give no mechanism; division is what the organoid and the colony assay both express."""
    exposed = np.float32(count_nk_exposed)
    if not (alive and exposed > 0):
        return new_division_boost
    return min(np.float32(division_boost + np.float32(np.float32(p.division_boost_per_step) * exposed)),
               np.float32(p.max_division_boost))


@cell_rule("in tumor cells, time since arrest decreases the activating NK ligand (CD155 shed by thrombin)",
           "new_activating_ligand_left", ("tumor.activating_ligand_shedding_per_h",),
           when=lambda c: c.cells.tumor.activating_ligand_shedding_per_h > 0)
def ligand_shedding(viable, activating_ligand_left, new_activating_ligand_left, p):
    """Arrested cells lose their activating NK ligand: thrombin at the arrest site cleaves CD155 within
    a day, after which NK contacts no longer kill (Ichise 2022). Daughters inherit what is left."""
    return np.float32(activating_ligand_left * p.ligand_kept) if viable else new_activating_ligand_left


@cell_rule("a tumor cell's state after its rules (a cell starting apoptosis keeps it: resolution sets it)",
           "new_state")
def finish(alive, state, new_state):
    return new_state if alive else state


@cell_rule("viable tumor cells secrete the chemoattractant", "secrete_chemoattractant",
           ("tumor.chemoattractant_secretion_per_min",), phase="secrete",
           when=lambda c: c.cells.tumor.chemoattractant_secretion_per_min > 0 and _has_fields(c, "chemoattractant"))
def chemoattractant_secretion(state, p):
    return np.float32(p.chemoattractant_per_step) if state != APOPTOTIC else np.float32(0.0)


@cell_rule("viable IFN-gamma-responsive tumor cells take up IFN-gamma", "keep_ifng", ("tumor.ifng_uptake_per_min",),
           phase="secrete", when=lambda c: c.cells.tumor.ifng_uptake_per_min > 0 and c.cells.tumor.ifng_responsive
           and _has_fields(c, "ifng"))
def ifng_uptake(state, p):
    return np.float32(p.ifng_keep) if state != APOPTOTIC else np.float32(1.0)


def initial_columns(xp, c: TumorConfig, count: int) -> dict:
    return {
        "vcam1": xp.full(count, int(c.vcam1_positive), dtype=xp.int8),
        "plxnb2": xp.full(count, int(c.plxnb2_positive), dtype=xp.int8),
        # Placed cells have not divided recently: Ki67+ only after their first division here.
        "cycle_clock_min": xp.full(count, c.ki67_window_h * 60.0, dtype=xp.float32),
    }


@cell_function
def viable_epithelial(state, mesenchymal):
    """A tumor cell's neighbours see it epithelial: viable (proliferating or dormant), no EMT."""
    return (state == PROLIFERATING or state == DORMANT) and mesenchymal == 0


@cell_function
def viable_mesenchymal(state, mesenchymal):
    """...or mesenchymal: an invasive leader, or viable after EMT."""
    return state == INVASIVE or ((state == PROLIFERATING or state == DORMANT) and mesenchymal > 0)


@cell_function
def caspase_positive(state):
    return state == APOPTOTIC


def _has_fields(config, *names) -> bool:
    return all(name in config.fields for name in names)


TUMOR = CellType(
    name="tumor",
    describe="breast-cancer cells: organoids, disseminated cells, circulating clusters",
    states=STATES,
    config=TumorConfig,
    prepare=prepare,
    categories=(
        Category("tumor_epithelial", viable_epithelial, "viable, with epithelial character (proliferating or dormant)"),
        Category("tumor_mesenchymal", viable_mesenchymal, "viable without it (leader, or after EMT)"),
        Category("tumor_apoptotic", caspase_positive, "caspase+"),
    ),
    columns=(
        Column("heading", np.int8, -1, -1, "invasive leaders: offset index of the current direction, -1 none"),
        Column("mesenchymal", np.int8, 0, "inherit", "1 after EMT (no epithelial character)"),
        Column("vcam1", np.int8, 0, "inherit", "1 if VCAM1+ (binds neutrophils, VLA-4+ T cells)"),
        Column("plxnb2", np.int8, 0, "inherit", "1 if Plexin-B2+ (homotypic adhesion, clustering)"),
        Column("division_boost", np.float32, 0, "inherit",
               "heritable extra division rate (multiple of the base rate), gained next to exposed NK cells"),
        Column("activating_ligand_left", np.float32, 1, "inherit",
               "share of the activating NK ligand (CD155) not yet shed since arrest; 1 for a fresh cell"),
    ),
    # Keys kept from before the spec existed, so that runs reproduce bit for bit.
    purposes={"division": 2, "neighbour_choice": 3, "death": 6, "state_change": 9},
    rules=[anoikis, apoptosis, ifng_dormancy, dormancy, invasion_leaders, division, leader_migration,
           suspension_walk, ligand_shedding, exposed_nk_division_boost, chemoattractant_secretion, ifng_uptake],
    working=dict(WORKING),
    begin=begin,
    finish=finish,
    initial_columns=initial_columns,
    fields=(FieldUse("chemoattractant", "tumor-derived chemoattractant that NK cells and neutrophils climb"),
            FieldUse("ifng", "IFN-gamma: holds tumor cells dormant (Hill response); taken up by tumor cells")),
    therapies=(
        Therapy("ifng_therapy", CytokineSource, "IFN-gamma therapy: uniform IFN-gamma production",
                adds_production="ifng"),
        Therapy("vcam1_knockout", Switch, "tumor cells lose VCAM1", sets=("vcam1", 0)),
        Therapy("plxnb2_knockout", Switch, "tumor cells lose Plexin-B2", sets=("plxnb2", 0)),
        Therapy("emt_induction", Switch, "tumor cells undergo EMT (lose epithelial character)",
                sets=("mesenchymal", 1)),
        Therapy("cytokine_blockade", Blockade,
                "IL-6/IL-1beta blockade: tumor cells respond less to neutrophil cytokine"),
    ),
    dying=Dying("apoptotic", "caspase_duration_min"),
    behaviours=(
        Behaviour("dormancy_entry", lambda p: 0.0, "1/h",
                  "entering dormancy (none without a signal that drives it)", used_by="dormancy"),
        Behaviour("dormancy_exit", lambda p: p.dormancy_exit_probability, "1/h", "leaving dormancy",
                  used_by="dormancy", base_key="tumor.dormancy_exit_rate_per_h"),
        Behaviour("division", lambda p: p.division_probability, "1/h", "division into a free site",
                  used_by="division", base_key="tumor.division_rate_per_h"),
        Behaviour("apoptosis", lambda p: p.death_probability, "1/h",
                  "starting apoptosis (caspase+); the base is raised by anoikis in isolated cells", used_by="apoptosis",
                  current=apoptosis_now, base_key="tumor.death_rate_per_h"),
        Behaviour("motility", lambda p: p.motility_probability, "1/h",
                  "random walk of suspended (not invasive, not dormant) cells; each adhesive contact still "
                  "holds a cell back", used_by="suspension_walk", base_key="tumor.motility_rate_per_h"),
    ),
)


def register(spec) -> None:
    spec.add_cell_type(TUMOR)
