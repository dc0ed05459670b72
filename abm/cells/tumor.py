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

from ..interventions import Blockade, CytokineSource, Switch, efficiency
from ..kernels.neighbours import site_at_offset
from ..kernels.philox import probability_threshold, rate_threshold
from ..rules import Secretion, as_threshold
from ..rules.cohesion import cohesive_moves, held_contacts
from ..rules.conjugates import held_by_nk
from ..spec import Behaviour, Category, CellType, Column, Dying, FieldUse, Rule, Therapy
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
        config=c,
    )


def ligands(ctx, slots, params: TumorParams):
    """(activating, inhibitory, engaged) NK-ligand levels of tumor cells: the balance of activating and
    inhibitory ligands from their epithelial neighbours, and the share of activating ligand not yet
    shed (an NK contact engages, and can kill, only through what is left)."""
    xp, c = ctx.xp, params.config
    epithelial_self = ctx.category[slots] == ctx.spec.category["tumor_epithelial"]  # EMT/leader: no context
    n_epi = ctx.count(slots, "tumor_epithelial").astype(xp.float32)
    clustering = xp.where(epithelial_self, n_epi / (n_epi + xp.float32(c.epithelial_neighbours_half)), xp.float32(0))
    activating = xp.float32(c.activating_ligand_single) * (xp.float32(1) - xp.float32(c.activating_ligand_cluster_loss) * clustering)
    inhibitory = xp.float32(c.inhibitory_ligand_single) + xp.float32(c.inhibitory_ligand_cluster_gain) * clustering
    return activating, inhibitory, ctx.agents["activating_ligand_left"][slots]


# ---------------------------------------------------------------- the rules, in the order they run


def begin(ctx, cells, params: TumorParams) -> None:
    """What every rule of a tumor cell reads: its state, its neighbours, whether it is viable."""
    cells.state = cells.column("state")
    cells.viable = cells.state != S["apoptotic"]
    cells.alive = cells.viable  # viable and not starting apoptosis this step
    cells.new_state = cells.state.copy()
    cells.tumor_neighbours = ctx.count(cells.slots, "tumor_epithelial", "tumor_mesenchymal")
    cells.escorts = ctx.count(cells.slots, "neutrophil_bound", "tcell_bound")
    cells.free_sites = ctx.count(cells.slots, "empty")
    cells.death_threshold = params.death_threshold
    cells.divides = None


def anoikis(ctx, cells, params: TumorParams) -> None:
    isolated = (cells.tumor_neighbours == 0) & (cells.escorts == 0)
    xp = ctx.xp
    cells.death_threshold = xp.where(isolated, xp.uint64(params.isolated_death_threshold),
                                     xp.uint64(params.death_threshold))


def apoptosis(ctx, cells, params: TumorParams) -> None:
    threshold = cells.threshold("apoptosis", cells.death_threshold)  # a signal's chance, if one set it
    dies = cells.viable & ctx.happens(cells.draws("death")[0], threshold)
    cells.intents.start_dying(cells.slots, where=dies)
    cells.alive = cells.viable & ~dies


def ifng_dormancy(ctx, cells, params: TumorParams) -> None:
    xp, c = ctx.xp, params.config
    response = ctx.hill(ctx.local_concentration["ifng"][cells.slots], c.ifng_dormancy_half_max, c.ifng_dormancy_hill_n)
    cells.behaviours["dormancy_entry"] = xp.float32(params.dormancy_entry_probability) * response
    cells.behaviours["dormancy_exit"] = xp.float32(params.dormancy_exit_probability) * (xp.float32(1) - response)


def dormancy(ctx, cells, params: TumorParams) -> None:
    xp, behaviours = ctx.xp, cells.behaviours
    if "dormancy_entry" not in behaviours and "dormancy_exit" not in behaviours:
        return  # nothing drives dormancy in this run
    entry = behaviours.get("dormancy_entry")
    leave = behaviours.get("dormancy_exit")
    entry = xp.zeros(cells.n, dtype=xp.float32) if entry is None else entry
    leave = xp.full(cells.n, params.dormancy_exit_probability, dtype=xp.float32) if leave is None else leave
    word = cells.draws("death")[1]
    dormant = cells.state == S["dormant"]
    goes_dormant = cells.alive & ~dormant & ctx.happens_with(word, entry)
    wakes = cells.alive & dormant & ctx.happens_with(word, leave)
    cells.new_state = xp.where(goes_dormant, xp.int8(S["dormant"]), cells.new_state)
    cells.new_state = xp.where(wakes, xp.int8(S["proliferating"]), cells.new_state)


def invasion_leaders(ctx, cells, params: TumorParams) -> None:
    xp = ctx.xp
    words = cells.draws("state_change")
    at_rim = (cells.new_state == S["proliferating"]) & (cells.free_sites > 0) & (cells.tumor_neighbours > 0)
    becomes_leader = cells.alive & at_rim & ctx.happens(words[0], params.leader_threshold)
    settles = cells.alive & (cells.state == S["invasive"]) & ctx.happens(words[1], params.leader_revert_threshold)
    cells.new_state = xp.where(becomes_leader, xp.int8(S["invasive"]), cells.new_state)
    cells.new_state = xp.where(settles, xp.int8(S["proliferating"]), cells.new_state)


def division(ctx, cells, params: TumorParams) -> None:
    xp, c = ctx.xp, params.config
    words = cells.draws("division")
    probability = cells.behaviours.get("division")
    if probability is None:
        probability = xp.full(cells.n, params.division_probability, dtype=xp.float32)
    probability = probability * (xp.float32(1) + cells.column("division_boost"))  # inherited; 0 unless boosted
    if params.cytokine_boost > 0 and "neutrophil_cytokine" in ctx.fields_flat:  # IL-6/IL-1beta shorten the cycle
        response = ctx.hill(ctx.local_concentration["neutrophil_cytokine"][cells.slots], c.cytokine_half_max, 1)
        probability = probability * (xp.float32(1) + xp.float32(params.cytokine_boost) * response)
    cycling = cells.alive & (cells.new_state == S["proliferating"]) & (cells.state == S["proliferating"])
    has_free, target, _ = ctx.random_neighbour(cells.slots, words[1], "empty")
    cells.divides = cycling & has_free & ctx.happens_with(words[0], probability)
    cells.intents.divide(cells.slots, target, xp.full(cells.n, S["proliferating"], dtype=xp.int8), where=cells.divides)


def leader_migration(ctx, cells, params: TumorParams) -> None:
    """Leaders keep their direction while the site ahead is free, else take a new one; a leader held
    in an NK conjugate stays."""
    xp, slots = ctx.xp, cells.slots
    leading = cells.alive & (cells.state == S["invasive"]) & (cells.new_state == S["invasive"])
    leading = leading & ~held_by_nk(ctx, slots)  # locked in an NK conjugate until the kill is decided
    words = ctx.draws("tumor.neighbour_choice", slots)
    free_mask = ctx.mask(slots, "empty")
    heading = ctx.agents["heading"][slots].astype(xp.int32)
    ahead_free = (heading >= 0) & (((free_mask >> xp.maximum(heading, 0).astype(xp.uint32)) & xp.uint32(1)) > 0)
    keeps = ahead_free & ctx.happens(words[2], params.persistence_threshold)
    has_free, _, new_heading = ctx.pick(slots, free_mask, words[1])
    offset = xp.where(keeps, heading, new_heading)
    destination = site_at_offset(ctx.agents["site"][slots], offset, ctx.lattice.shape,
                                 ctx.lattice.offsets_device, xp=xp)
    moves = leading & (keeps | has_free) & ctx.happens(words[0], params.invasive_move_threshold)
    cells.intents.move(slots, destination, where=moves)
    cells.intents.update("heading", slots, offset.astype(xp.int8), where=moves)


def suspension_walk(ctx, cells, params: TumorParams) -> None:
    """Adhesive contacts (Plexin-B2 neighbours, own bound escorts) hold a walking cell back, and a
    move keeps them all (rules/cohesion.py): walking never splits a cluster."""
    xp, agents, slots = ctx.xp, ctx.agents, cells.slots
    divides = cells.divides if cells.divides is not None else xp.zeros(cells.n, dtype=bool)
    walking = cells.alive & ~divides & (cells.new_state != S["invasive"]) & (cells.new_state != S["dormant"])
    adhesive = xp.where(agents["plxnb2"][slots] > 0, cells.tumor_neighbours, 0) + \
        xp.where(agents["vcam1"][slots] > 0, cells.escorts, 0)
    contacts = xp.minimum(adhesive, 26)
    if "motility" in cells.behaviours:  # a signal set the chance to move; adhesion still holds cells back
        staying = _on_backend(xp, params.adhesion_staying)[contacts]
        thresholds = as_threshold(xp, cells.behaviours["motility"] * staying)
    else:
        thresholds = _on_backend(xp, params.motility_thresholds)[contacts]
    held = held_contacts(ctx, slots, agents["plxnb2"][slots] > 0, agents["vcam1"][slots] > 0)
    destinations, moves = cohesive_moves(ctx, slots, thresholds, "tumor.neighbour_choice", walking, held)
    cells.intents.move(slots, destinations, where=moves)


def apoptosis_now(cells, params: TumorParams):
    """The chance of apoptosis per step that the tumor's own rules set (anoikis raises it for
    isolated cells): the base the grammar modulates."""
    xp = cells.ctx.xp
    threshold = cells.death_threshold
    if isinstance(threshold, int):
        return float(params.death_probability)
    return (threshold.astype(xp.float64) / float(2**32)).astype(xp.float32)


def exposed_nk_division_boost(ctx, cells, params: TumorParams) -> None:
    """Contact with exposed NK cells raises a heritable division boost (daughters inherit it), up to
    a cap. An assumption: Chan 2020 find more colonies with exposed NK cells than without NK but
    give no mechanism; division is what the organoid and the colony assay both express."""
    xp = ctx.xp
    exposed = ctx.count(cells.slots, "nk_exposed").astype(xp.float32)
    raised = xp.minimum(cells.column("division_boost") + xp.float32(params.division_boost_per_step) * exposed,
                        xp.float32(params.config.max_division_boost))
    cells.intents.update("division_boost", cells.slots, raised, where=cells.alive & (exposed > 0))


def ligand_shedding(ctx, cells, params: TumorParams) -> None:
    """Arrested cells lose their activating NK ligand: thrombin at the arrest site cleaves CD155 within
    a day, after which NK contacts no longer kill (Ichise 2022). Daughters inherit what is left."""
    kept = ctx.xp.float32(np.exp(-params.config.activating_ligand_shedding_per_h * ctx.dt_min / 60.0))
    cells.intents.update("activating_ligand_left", cells.slots, cells.column("activating_ligand_left") * kept,
                         where=cells.viable)


def finish(ctx, cells, params: TumorParams) -> None:
    cells.intents.update("state", cells.slots, cells.new_state, where=cells.alive)


def chemoattractant_secretion(ctx, cells, params: TumorParams):
    xp = ctx.xp
    viable = cells.column("state") != S["apoptotic"]  # caspase+ cells neither secrete nor take up
    nothing, ones = xp.zeros(cells.n, dtype=xp.float32), xp.ones(cells.n, dtype=xp.float32)
    rate = xp.where(viable, xp.float32(params.config.chemoattractant_secretion_per_min * ctx.dt_min), nothing)
    return Secretion("chemoattractant", cells.column("site"), rate, ones)


def ifng_uptake(ctx, cells, params: TumorParams):
    xp = ctx.xp
    viable = cells.column("state") != S["apoptotic"]
    nothing, ones = xp.zeros(cells.n, dtype=xp.float32), xp.ones(cells.n, dtype=xp.float32)
    keep = xp.where(viable, xp.float32(1.0 / (1.0 + params.config.ifng_uptake_per_min * ctx.dt_min)), ones)
    return Secretion("ifng", cells.column("site"), nothing, keep)


_tables: dict = {}


def _on_backend(xp, table):
    """A host table uploaded once per backend (no host-to-device copy inside the step loop)."""
    key = (id(table), id(xp))
    if key not in _tables:
        _tables[key] = (table, xp.asarray(table))  # keep the host table alive: its id stays unique
    return _tables[key][1]


def initial_columns(xp, c: TumorConfig, count: int) -> dict:
    return {
        "vcam1": xp.full(count, int(c.vcam1_positive), dtype=xp.int8),
        "plxnb2": xp.full(count, int(c.plxnb2_positive), dtype=xp.int8),
        # Placed cells have not divided recently: Ki67+ only after their first division here.
        "cycle_clock_min": xp.full(count, c.ki67_window_h * 60.0, dtype=xp.float32),
    }


def _viable_epithelial(xp, cells):
    state = cells["state"]
    return (state == S["proliferating"]) | (state == S["dormant"])


def _has_fields(config, *names) -> bool:
    return all(name in config.fields for name in names)


TUMOR = CellType(
    name="tumor",
    describe="breast-cancer cells: organoids, disseminated cells, circulating clusters",
    states=STATES,
    config=TumorConfig,
    prepare=prepare,
    categories=(
        Category("tumor_epithelial", lambda xp, cells: _viable_epithelial(xp, cells) & (cells["mesenchymal"] == 0),
                 "viable, with epithelial character (proliferating or dormant)"),
        Category("tumor_mesenchymal", lambda xp, cells: (cells["state"] == S["invasive"]) | (
            (cells["mesenchymal"] > 0) & _viable_epithelial(xp, cells)), "viable without it (leader, or after EMT)"),
        Category("tumor_apoptotic", lambda xp, cells: cells["state"] == S["apoptotic"], "caspase+"),
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
    rules=[
        Rule("anoikis", anoikis, "in tumor cells, touching no tumor cell and no bound escort raises apoptosis",
             ("tumor.isolated_death_rate_per_h",), when=lambda c: c.cells.tumor.isolated_death_rate_per_h > 0),
        Rule("apoptosis", apoptosis, "tumor cells start apoptosis (caspase+) at a baseline rate",
             ("tumor.death_rate_per_h", "tumor.caspase_duration_min")),
        Rule("ifng_dormancy", ifng_dormancy,
             "in tumor cells, local IFN-gamma increases dormancy entry and decreases exit (Hill response)",
             ("tumor.dormancy_entry_rate_per_h", "tumor.dormancy_exit_rate_per_h", "tumor.ifng_dormancy_half_max",
              "tumor.ifng_dormancy_hill_n", "tumor.ifng_responsive"),
             when=lambda c: c.cells.tumor.ifng_responsive and _has_fields(c, "ifng")),
        Rule("dormancy", dormancy, "tumor cells enter and leave dormancy with the probabilities their signals set"),
        Rule("invasion_leaders", invasion_leaders,
             "rim tumor cells still touching the mass become invasive leaders; leaders may settle again",
             ("tumor.leader_rate_per_h", "tumor.leader_revert_rate_per_h"),
             when=lambda c: c.cells.tumor.leader_rate_per_h > 0 or c.cells.tumor.leader_revert_rate_per_h > 0),
        Rule("division", division,
             "cycling tumor cells divide into a free neighbouring site, faster by their inherited division "
             "boost; neutrophil cytokine shortens the cycle",
             ("tumor.division_rate_per_h", "tumor.cytokine_division_boost", "tumor.cytokine_half_max")),
        Rule("leader_migration", leader_migration, "invasive leaders migrate into free matrix with persistence, "
             "except while an NK cell holds them in a conjugate",
             ("tumor.invasive_move_rate_per_h", "tumor.invasive_persistence"),
             when=lambda c: c.cells.tumor.invasive_move_rate_per_h > 0 and c.cells.tumor.leader_rate_per_h > 0),
        Rule("suspension_walk", suspension_walk,
             "suspended tumor cells random-walk; each adhesive contact holds them back, and no move lets one go",
             ("tumor.motility_rate_per_h", "tumor.adhesion_per_contact"),
             when=lambda c: c.cells.tumor.motility_rate_per_h > 0),
        Rule("ligand_shedding", ligand_shedding,
             "in tumor cells, time since arrest decreases the activating NK ligand (CD155 shed by thrombin)",
             ("tumor.activating_ligand_shedding_per_h",),
             when=lambda c: c.cells.tumor.activating_ligand_shedding_per_h > 0),
        Rule("exposed_nk_division_boost", exposed_nk_division_boost,
             "in tumor cells, contact with a tumor-exposed NK cell increases division (inherited by daughters)",
             ("tumor.exposed_nk_division_boost_per_h", "tumor.max_division_boost"),
             when=lambda c: c.cells.tumor.exposed_nk_division_boost_per_h > 0),
        Rule("chemoattractant_secretion", chemoattractant_secretion,
             "viable tumor cells secrete the chemoattractant", ("tumor.chemoattractant_secretion_per_min",),
             phase="secrete", when=lambda c: c.cells.tumor.chemoattractant_secretion_per_min > 0
             and _has_fields(c, "chemoattractant")),
        Rule("ifng_uptake", ifng_uptake, "viable IFN-gamma-responsive tumor cells take up IFN-gamma",
             ("tumor.ifng_uptake_per_min",), phase="secrete",
             when=lambda c: c.cells.tumor.ifng_uptake_per_min > 0 and c.cells.tumor.ifng_responsive
             and _has_fields(c, "ifng")),
    ],
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
