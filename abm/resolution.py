"""Turning the step's intents into changes of the tissue: claim-then-resolve, then apply.

Order within a step:
1. updates: each cell's changes to itself (state, receptors, bonds); no conflicts possible;
2. kills: one winner per target cell (the lowest (priority, id) key); the target enters its
   type's dying state (a tumor cell turns caspase+), or is removed if its type has none;
3. entries into the dying state and removals (deaths) decided by the cells themselves;
4. moves and divisions of cells that are still viable compete for free target sites (one winner
   per site, the others stay put). Every target was free at the start of the step. A cell claims
   at most one site to move to and one to divide into: where several rules proposed for it, its
   first proposal in rule order is its claim (one_claim_per_cell), and a division into the site
   its own move claims is dropped, so no cell can win twice. Then followers whose leader moved
   (a bound escort and its tumor partner) step into the site the leader left (follow_leaders).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .kernels import philox
from .kernels.claims import NO_CLAIM, claim_keys, resolve_claims
from .rules import Intents, marked, rows, where_true
from .spec import FRAMEWORK_PURPOSES
from .state import EMPTY


@dataclass(frozen=True)
class DyingStates:
    """What killed cells become: per type code, its dying state (-1: removed at once), and the
    types whose dying cells leave after a duration."""

    state_of_type: np.ndarray  # int8 per type code, host
    leave_after: tuple  # (type code, dying state code, duration in minutes)
    uploaded: dict = field(default_factory=dict)  # id(xp) -> state_of_type on that backend, uploaded once

    def on(self, xp):
        if id(xp) not in self.uploaded:
            self.uploaded[id(xp)] = xp.asarray(self.state_of_type)
        return self.uploaded[id(xp)]


def dying_states(spec, config) -> DyingStates:
    table = np.full(spec.n_types, -1, dtype=np.int8)
    leave = []
    for name, declared in spec.types.items():
        if declared.dying is not None:
            code, state = spec.type_code[name], spec.state[name][declared.dying.state]
            table[code] = state
            leave.append((code, state, float(getattr(getattr(config.cells, name), declared.dying.after_key))))
    return DyingStates(table, tuple(leave))


@dataclass
class StepEvents:
    """Per-step tallies (device scalars until collected) and the mask of cells removed now."""

    tallies: dict  # name -> device scalar
    births: int  # host integer: it sizes the agent arrays
    removed: object  # device bool over slots [0, n) after births


def _priority_words(xp, seed, step, ids, word):
    return philox.draw(seed, step, FRAMEWORK_PURPOSES["claim_priority"], ids, xp=xp)[word]


def apply_updates(xp, agents, updates):
    for column, slots, values, where in updates:
        if where is not None:  # cells outside the mask keep their value
            values = xp.where(where, values, agents.columns[column][slots])
        if column == "state":  # a cell entering a new state starts its state clock again
            changed = agents.columns["state"][slots] != values
            agents.columns["state_age_min"][slots] = xp.where(
                changed, xp.float32(0), agents.columns["state_age_min"][slots])
        agents.columns[column][slots] = values


def resolve(xp, seed: int, step: int, lattice, agents, intents: Intents, scratch, dying: DyingStates) -> StepEvents:
    apply_updates(xp, agents, intents.updates)
    ids, occupancy = agents["id"], lattice.occupancy
    n_before = agents.n
    tallies = dict(intents.tallies)

    # Kills: one winner per target; the target starts dying (a tumor cell turns caspase+), the
    # killer counts it.
    columns, attempting = rows(xp, intents.kills, n_columns=3)
    killers, kill_sites, clustered = where_true(xp, attempting, *columns)
    kill_keys = claim_keys(_priority_words(xp, seed, step, ids[killers], 1), ids[killers], xp=xp)
    kill_won = resolve_claims(kill_sites, kill_keys, scratch, xp=xp)
    winners, victim_sites = where_true(xp, kill_won, killers, kill_sites)
    victims = occupancy[victim_sites].astype(xp.int64)
    if "kills" in agents.columns:
        agents.columns["kills"][winners] += 1
    clustered = clustered.astype(bool)
    tallies["kills"] = kill_won.sum()
    tallies["kills_single"] = (kill_won & ~clustered).sum()
    tallies["kills_clustered"] = (kill_won & clustered).sum()

    dying_now = marked(xp, n_before, intents.dying)
    dying_now[victims] = True
    removed = marked(xp, n_before, intents.deaths)
    dying_now, removed = _start_dying(xp, agents, dying_now, removed, dying, n_before)
    stopped = removed | dying_now

    # Moves and divisions of cells still viable compete for free sites.
    (movers, move_sites), moving = rows(xp, intents.moves, n_columns=2)
    (parents, birth_sites, daughter_states), dividing = rows(xp, intents.divisions, n_columns=3)
    moving = one_claim_per_cell(xp, movers, moving, intents.move_proposers, scratch)
    dividing = one_claim_per_cell(xp, parents, dividing, intents.division_proposers, scratch)
    if set(intents.move_proposers) & set(intents.division_proposers):
        dividing = dividing & ~_moves_there(xp, n_before, movers, move_sites, moving, parents, birth_sites)
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
    start_sites = agents["site"].copy() if intents.follows else None  # where each cell began the step
    occupancy[agents["site"][movers]] = EMPTY
    occupancy[destinations] = movers.astype(occupancy.dtype)
    agents.columns["site"][movers] = destinations
    tallies["moves"] = moved.sum()
    if intents.follows:
        followed = follow_leaders(xp, seed, step, occupancy, agents, intents, start_sites, stopped, scratch)
        tallies["moves"] = tallies["moves"] + followed

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


def follow_leaders(xp, seed, step, occupancy, agents, intents: Intents, start_sites, stopped, scratch):
    """Followers whose leader moved step into the site it left: a bound escort travels with its
    partner, and a heterotypic cluster moves as a unit. A vacated site was occupied when the step
    began, so no move or birth claimed it: only that leader's followers compete for it, one winner
    (the lowest (priority, id) key). A follower that moved by its own claim, or is stopped, stays.
    Full-length masks, no compaction: no wait for the device. Returns how many followed."""
    (followers, leaders), proposing = rows(xp, intents.follows, n_columns=2)
    proposing = one_claim_per_cell(xp, followers, proposing, intents.follow_proposers, scratch)
    sites, ids = agents["site"], agents["id"]
    leader_moved = sites[leaders] != start_sites[leaders]
    go = proposing & leader_moved & (sites[followers] == start_sites[followers]) & ~stopped[followers]
    vacated = start_sites[leaders]
    keys = xp.where(go, claim_keys(_priority_words(xp, seed, step, ids[followers], 2), ids[followers], xp=xp),
                    NO_CLAIM)
    won = go & resolve_claims(vacated, keys, scratch, xp=xp)
    here = sites[followers]
    there = xp.where(won, vacated, here)
    # Distinct writes: followers' own sites, then vacated sites (one winner each) or their own again.
    occupancy[here] = xp.where(won, EMPTY, followers).astype(occupancy.dtype)
    occupancy[there] = followers.astype(occupancy.dtype)
    agents.columns["site"][followers] = there
    return won.sum()


def one_claim_per_cell(xp, claimants, proposing, proposers: list, scratch):
    """`proposing`, keeping for each cell only its first proposing row (rule order, then the order
    a rule proposed in). Rows are concatenated in proposal order, so the lowest row index of a
    cell is its first proposal: the claim kernel's per-target minimum finds it, with the cell's
    slot as the target. Only a type with two or more entries can propose twice for one cell;
    otherwise nothing changes and nothing runs."""
    if len(proposers) == len(set(proposers)):
        return proposing
    keys = xp.where(proposing, xp.arange(claimants.shape[0], dtype=xp.uint64), NO_CLAIM)
    return proposing & resolve_claims(claimants, keys, scratch, xp=xp)


def _moves_there(xp, n, movers, move_sites, moving, parents, birth_sites):
    """Divisions into the site the same cell claims to move to. A cell's two claims carry the
    same key (its priority and id), so both would win that site: the move is kept."""
    target = xp.full(n + 1, -1, dtype=xp.int64)  # row n: where rows that do not move write
    target[xp.where(moving, movers, n)] = move_sites  # one move claim per cell by now: no clashes
    return target[parents] == birth_sites


def _start_dying(xp, agents, dying_now, removed, dying: DyingStates, n_before):
    """Cells starting to die enter their type's dying state; those of types without one go at once."""
    state = agents.columns["state"][:n_before]
    target = dying.on(xp)[agents.columns["cell_type"][:n_before]]
    removed = removed | (dying_now & (target < 0))
    dying_now = dying_now & (target >= 0)
    state[...] = xp.where(dying_now, target, state)
    for column, value in (("state_age_min", 0), ("partner", -1)):
        values = agents.columns[column][:n_before]
        values[...] = xp.where(dying_now, values.dtype.type(value), values)
    return dying_now, removed


def removal_mask(xp, agents, removed, dying: DyingStates):
    """Cells leaving now: removed by their own rules, or in their dying state for its duration."""
    for type_code, state, duration_min in dying.leave_after:
        finished = (agents["cell_type"] == type_code) & (agents["state"] == state) & (
            agents["state_age_min"] >= xp.float32(duration_min))
        removed = removed | finished
    return removed


def remove_cells(xp, lattice, agents, leaving) -> None:
    """Free the sites of leaving cells and compact the agent arrays (order, and so ids, preserved)."""
    sites = agents["site"]
    lattice.occupancy[sites] = xp.where(leaving, EMPTY, lattice.occupancy[sites])  # one cell per site
    agents.compact(~leaving)
    lattice.occupancy[agents["site"]] = xp.arange(agents.n, dtype=lattice.occupancy.dtype)
