"""Turning the step's intents into changes of the tissue: claim-then-resolve, then apply.

Order within a step:
1. updates: each cell's changes to itself (state, receptors, bonds); no conflicts possible;
2. kills: one winner per target cell (the lowest (priority, id) key); the target turns caspase+;
3. apoptosis entries and removals (deaths) decided by the cells themselves;
4. moves and divisions of cells that are still viable compete for free target sites (one winner
   per site, the others stay put). Every target was free at the start of the step.
"""
from __future__ import annotations

from dataclasses import dataclass

from .celltypes import STATE, TYPE_CODE
from .kernels import philox
from .kernels.claims import claim_keys, resolve_claims
from .rules import Intents, marked, rows, where_true
from .state import EMPTY

APOPTOTIC = STATE["tumor"]["apoptotic"]


@dataclass
class StepEvents:
    """Per-step tallies (device scalars until collected) and the mask of cells removed now."""

    tallies: dict  # name -> device scalar
    births: int  # host integer: it sizes the agent arrays
    removed: object  # device bool over slots [0, n) after births


def _priority_words(xp, seed, step, ids, word):
    return philox.draw(seed, step, "claim_priority", ids, xp=xp)[word]


def apply_updates(xp, agents, updates):
    for column, slots, values, where in updates:
        if where is not None:  # cells outside the mask keep their value
            values = xp.where(where, values, agents.columns[column][slots])
        if column == "state":  # a cell entering a new state starts its state clock again
            changed = agents.columns["state"][slots] != values
            agents.columns["state_age_min"][slots] = xp.where(
                changed, xp.float32(0), agents.columns["state_age_min"][slots])
        agents.columns[column][slots] = values


def resolve(xp, seed: int, step: int, lattice, agents, intents: Intents, scratch) -> StepEvents:
    apply_updates(xp, agents, intents.updates)
    ids, occupancy = agents["id"], lattice.occupancy
    n_before = agents.n
    tallies = dict(intents.tallies)

    # Kills: one winner per target; the target turns apoptotic (caspase+), the killer counts it.
    columns, attempting = rows(xp, intents.kills, n_columns=3)
    killers, kill_sites, clustered = where_true(xp, attempting, *columns)
    kill_keys = claim_keys(_priority_words(xp, seed, step, ids[killers], 1), ids[killers], xp=xp)
    kill_won = resolve_claims(kill_sites, kill_keys, scratch, xp=xp)
    winners, victim_sites = where_true(xp, kill_won, killers, kill_sites)
    victims = occupancy[victim_sites].astype(xp.int64)
    agents.columns["kills"][winners] += 1
    clustered = clustered.astype(bool)
    tallies["kills"] = kill_won.sum()
    tallies["kills_single"] = (kill_won & ~clustered).sum()
    tallies["kills_clustered"] = (kill_won & clustered).sum()

    apoptotic_now = marked(xp, n_before, intents.apoptosis)
    apoptotic_now[victims] = True
    for column, value in (("state", APOPTOTIC), ("state_age_min", 0), ("partner", -1)):
        values = agents.columns[column][:n_before]
        values[...] = xp.where(apoptotic_now, values.dtype.type(value), values)

    removed = marked(xp, n_before, intents.deaths)
    stopped = removed | apoptotic_now

    # Moves and divisions of cells still viable compete for free sites.
    (movers, move_sites), moving = rows(xp, intents.moves, n_columns=2)
    (parents, birth_sites, daughter_states), dividing = rows(xp, intents.divisions, n_columns=3)
    claimants = xp.concatenate([movers, parents])
    targets = xp.concatenate([move_sites, birth_sites])
    is_move = xp.arange(claimants.shape[0]) < movers.shape[0]
    daughter_states = xp.concatenate([xp.zeros(movers.shape[0], dtype=xp.int64), daughter_states])
    go = xp.concatenate([moving, dividing]) & ~stopped[claimants]
    claimants, targets, is_move, daughter_states = where_true(xp, go, claimants, targets, is_move, daughter_states)
    site_keys = claim_keys(_priority_words(xp, seed, step, ids[claimants], 0), ids[claimants], xp=xp)
    site_won = resolve_claims(targets, site_keys, scratch, xp=xp)

    moved = site_won & is_move
    movers, destinations = where_true(xp, moved, claimants, targets)
    occupancy[agents["site"][movers]] = EMPTY
    occupancy[destinations] = movers.astype(occupancy.dtype)
    agents.columns["site"][movers] = destinations
    tallies["moves"] = moved.sum()

    born = site_won & ~is_move
    parents, birth_sites, daughter_states = where_true(xp, born, claimants, targets, daughter_states)
    order = xp.argsort(parents)  # daughters get ids in mother id order: backend-independent
    parents, birth_sites, daughter_states = parents[order], birth_sites[order], daughter_states[order]
    births = int(parents.shape[0])
    if births:
        agents.columns["cycle_clock_min"][parents] = 0
        daughters = agents.append_daughters(parents, birth_sites, daughter_states.astype(xp.int8))
        occupancy[birth_sites] = xp.arange(daughters.start, daughters.stop, dtype=occupancy.dtype)
        removed = xp.concatenate([removed, xp.zeros(births, dtype=bool)])
    tallies["births"] = births
    return StepEvents(tallies=tallies, births=births, removed=removed)


def removal_mask(xp, agents, removed, caspase_duration_min: float):
    """Cells leaving now: removed by their own rules, or apoptotic for the caspase+ duration."""
    tumor = agents["cell_type"] == TYPE_CODE["tumor"]
    finished = tumor & (agents["state"] == APOPTOTIC) & (agents["state_age_min"] >= xp.float32(caspase_duration_min))
    return removed | finished


def remove_cells(xp, lattice, agents, leaving) -> None:
    """Free the sites of leaving cells and compact the agent arrays (order, and so ids, preserved)."""
    sites = agents["site"]
    lattice.occupancy[sites] = xp.where(leaving, EMPTY, lattice.occupancy[sites])  # one cell per site
    agents.compact(~leaving)
    lattice.occupancy[agents["site"]] = xp.arange(agents.n, dtype=lattice.occupancy.dtype)
