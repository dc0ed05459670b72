"""Turning the step's intents into changes of the tissue: claim-then-resolve, then apply.

Order within a step: kills are resolved first (a tumor cell attacked by several NK cells dies
once, by the lowest-key attacker); cells that die this step lose their other claims; then
moves and divisions compete for free target sites (one winner per site, the rest stay put).
Every target was free at the start of the step, so no claim can land on an occupied site.
"""
from __future__ import annotations

from dataclasses import dataclass

from .kernels import philox
from .kernels.claims import claim_keys, resolve_claims
from .rules import Intents, concat
from .state import EMPTY


@dataclass
class StepEvents:
    """Per-step tallies (host integers) and the host-side mask of cells to remove."""

    births: int
    deaths: int
    kills: int
    moves: int
    dead: object  # device bool array over slots [0, n) after births


def _priority_words(xp, seed, step, ids, word):
    return philox.draw(seed, step, "claim_priority", ids, xp=xp)[word]


def resolve(xp, to_host, seed: int, step: int, lattice, agents, intents: Intents, scratch) -> StepEvents:
    ids, sites, occupancy = agents["id"], agents["site"], lattice.occupancy
    n_before = agents.n

    # 1. Kills: one winner per target cell.
    killers, kill_sites = concat(xp, intents.kills)
    kill_keys = claim_keys(_priority_words(xp, seed, step, ids[killers], 1), ids[killers], xp=xp)
    kill_won = resolve_claims(kill_sites, kill_keys, scratch, xp=xp)
    victims = occupancy[kill_sites[kill_won]].astype(xp.int64)
    agents.columns["kills"][killers[kill_won]] += 1
    dead = xp.zeros(n_before, dtype=bool)
    dead[victims] = True
    (dying,) = concat(xp, intents.deaths, n_columns=1)
    dead[dying] = True

    # 2. Moves and divisions of surviving cells compete for free sites.
    movers, move_sites = concat(xp, intents.moves)
    parents, birth_sites = concat(xp, intents.divisions)
    claimants = xp.concatenate([movers, parents])
    targets = xp.concatenate([move_sites, birth_sites])
    is_move = xp.arange(claimants.shape[0]) < movers.shape[0]
    alive = ~dead[claimants]
    claimants, targets, is_move = claimants[alive], targets[alive], is_move[alive]
    site_keys = claim_keys(_priority_words(xp, seed, step, ids[claimants], 0), ids[claimants], xp=xp)
    site_won = resolve_claims(targets, site_keys, scratch, xp=xp)

    moved = site_won & is_move
    movers, destinations = claimants[moved], targets[moved]
    occupancy[sites[movers]] = EMPTY
    occupancy[destinations] = movers.astype(occupancy.dtype)
    agents.columns["site"][movers] = destinations

    born = site_won & ~is_move
    parents, birth_sites = claimants[born], targets[born]
    order = xp.argsort(parents)  # daughters get ids in parent id order: backend-independent
    parents, birth_sites = parents[order], birth_sites[order]

    # Four tallies come to the host once per step: they size the arrays of the next phases.
    tallies = xp.stack([born.sum(), dead.sum(), kill_won.sum(), moved.sum()]).astype(xp.int64)
    births, deaths, kills, moves = (int(v) for v in to_host(tallies))

    if births:
        daughters = agents.append(
            cell_type=agents["cell_type"][parents], state=agents["state"][parents], site=birth_sites)
        occupancy[birth_sites] = xp.arange(daughters.start, daughters.stop, dtype=occupancy.dtype)
        dead = xp.concatenate([dead, xp.zeros(births, dtype=bool)])
    return StepEvents(births=births, deaths=deaths, kills=kills, moves=moves, dead=dead)


def remove_dead(xp, lattice, agents, dead, n_dead: int) -> None:
    """Free the sites of dead cells and compact the agent arrays (order, and so ids, preserved)."""
    if n_dead == 0:
        return
    lattice.occupancy[agents["site"][dead]] = EMPTY
    agents.compact(~dead)
    lattice.occupancy[agents["site"]] = xp.arange(agents.n, dtype=lattice.occupancy.dtype)

