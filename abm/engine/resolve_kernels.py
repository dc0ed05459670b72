"""Claim-then-resolve as kernels over all cells: the step's decisions become changes of the tissue.

One source, compiled like the rules (abm/engine/targets.py): numba on the CPU, numba-cuda on the
GPU, numba-cuda's simulator, or run by the interpreter (the reference). Each function is one
kernel; `for i in SERIAL(n)` is a loop over the cells, serial on the CPU (claims take a minimum
over claimants: no atomics there) and a grid-stride loop on the GPU, where `atomic_min` /
`atomic_add` become CUDA atomics. A minimum and an integer sum are order-free, so every target
gives the same winners and tallies whatever the order the cells run in.

Claims carry a 64-bit key: a random priority (Philox, keyed by the claimant's id) in the high
bits and the id in the low bits; the lowest key on a target wins. A kernel never reads a claim
buffer (scratch) that the same kernel writes: each contest is claimed in one kernel, read in the
next, and the buffer is restored to NO_CLAIM in the one after. Kill targets are occupied sites,
move and birth targets free sites, and followers claim sites their leaders left (occupied when
the step began): the three contests never share a site, so one buffer serves them all.

Order (resolution.py runs them): updates and kill claims -> kills -> dying and site claims ->
moves -> follow claims -> follows -> (births: abm/engine/step_kernels.py) -> leaving.
"""
from __future__ import annotations

import numpy as np

from ..kernels._numba import jitable

from .scalar import atomic_add, atomic_min, philox, site_at_offset

SERIAL = range  # a loop over cells that meet in a claim buffer (targets.py: a grid-stride loop on the GPU)
LOOP = range  # a loop over independent cells
NO_CLAIM = np.uint64(0xFFFFFFFFFFFFFFFF)
ID_MASK = np.uint64((1 << 40) - 1)  # kernels/claims.ID_BITS: ids below 2**40 beside a 24-bit priority
EMPTY = -1
# tallies[...]: spec.FRAMEWORK_EVENTS then KILL_EVENTS are the first, in this order (resolution.py checks)
BIRTHS, DEATHS, KILLS, MOVES, KILLS_SINGLE, KILLS_CLUSTERED = 0, 1, 2, 3, 4, 5


@jitable
def claim_key(seed_lo, seed_hi, step, purpose, cell_id, word):
    """The claim key of one claimant: (priority word >> 8) << 40 | id, so that integer order is
    (priority, id) order."""
    words = philox(seed_lo, seed_hi, step, purpose, cell_id)
    return ((np.uint64(words[word]) >> np.uint64(8)) << np.uint64(40)) | (np.uint64(cell_id) & ID_MASK)


def turn_contenders(n, code, cell_type, ids, move_turn, move_turn_word, contender):
    """The key of each cell of type `code` whose move takes turns (its own priority word); NO_CLAIM else."""
    for i in LOOP(n):
        contender[i] = NO_CLAIM
        if cell_type[i] == code and move_turn[i]:
            contender[i] = ((np.uint64(move_turn_word[i]) >> np.uint64(8)) << np.uint64(40)) | (
                np.uint64(ids[i]) & ID_MASK)


def take_turns(n, code, cell_type, site, move_turn, move_holds, contender, occupancy, offsets, lattice_shape,
               n_offsets, move_to):
    """A move that takes turns stands only if its key is below that of every held neighbour
    (offsets set in move_holds) that also takes such a move."""
    for i in LOOP(n):
        if cell_type[i] != code or not move_turn[i]:
            continue
        rival = NO_CLAIM
        holds = np.uint32(move_holds[i])
        for j in range(n_offsets):
            if (holds >> np.uint32(j)) & np.uint32(1):
                neighbour = max(occupancy[site_at_offset(site[i], j, lattice_shape[1], lattice_shape[2], offsets)], 0)
                if contender[neighbour] < rival:
                    rival = contender[neighbour]
        if not contender[i] < rival:
            move_to[i] = -1


def claim_kills(n, seed_lo, seed_hi, step, purpose, cell_type, ids, kill_site, kills_of_type, scratch, kill_key,
                victim):
    """Each killer claims its target's site (word 1 of the claim purpose)."""
    for i in SERIAL(n):
        victim[i] = False
        kill_key[i] = NO_CLAIM
        if kills_of_type[cell_type[i]] and kill_site[i] >= 0:
            key = claim_key(seed_lo, seed_hi, step, purpose, ids[i], 1)
            kill_key[i] = key
            atomic_min(scratch, kill_site[i], key)


def kill(n, cell_type, kill_site, kill_clustered, kill_key, scratch, occupancy, kills, counts_kills, victim,
         tallies):
    """One winner per target: the killer counts it, the target starts dying (dying_and_claims)."""
    for i in SERIAL(n):
        key = kill_key[i]
        if key != NO_CLAIM and scratch[kill_site[i]] == key:
            victim[occupancy[kill_site[i]]] = True
            if counts_kills:
                kills[i] += 1
            atomic_add(tallies, KILLS, 1)
            if kill_clustered[i]:
                atomic_add(tallies, KILLS_CLUSTERED, 1)
            else:
                atomic_add(tallies, KILLS_SINGLE, 1)


def dying_and_claims(n, seed_lo, seed_hi, step, purpose, cell_type, ids, state, state_age, partner, kill_site,
                     kill_key, victim, starts_dying, starts_dying_of_type, dies, dies_of_type, depleted,
                     dying_state, move_to, moves_of_type, divide_into, divides_of_type, scratch, site_key,
                     claim_move, claim_birth, removed, stopped):
    """Killed cells and cells starting to die enter their type's dying state (or go at once);
    cells still viable claim the free sites they move or divide into (word 0), one key for both."""
    for i in SERIAL(n):
        t = cell_type[i]
        if kill_key[i] != NO_CLAIM:
            scratch[kill_site[i]] = NO_CLAIM  # the kill contest was read by `kill`
        dying_now = victim[i] or (starts_dying_of_type[t] and starts_dying[i])
        leaving = depleted[t] or (dies_of_type[t] and dies[i])
        if dying_now:
            if dying_state[t] < 0:
                leaving = True
                dying_now = False
            else:
                state[i] = dying_state[t]
                state_age[i] = np.float32(0.0)
                partner[i] = -1
        removed[i] = leaving
        stopped[i] = leaving or dying_now
        target_move = move_to[i] if moves_of_type[t] else -1
        target_birth = divide_into[i] if divides_of_type[t] else -1
        if target_birth >= 0 and target_birth == target_move:
            target_birth = -1  # both claims carry one key: the move is kept
        if stopped[i]:
            target_move, target_birth = -1, -1
        claim_move[i], claim_birth[i] = target_move, target_birth
        site_key[i] = NO_CLAIM
        if target_move >= 0 or target_birth >= 0:
            key = claim_key(seed_lo, seed_hi, step, purpose, ids[i], 0)
            site_key[i] = key
            if target_move >= 0:
                atomic_min(scratch, target_move, key)
            if target_birth >= 0:
                atomic_min(scratch, target_birth, key)


def move(n, site, occupancy, claim_move, claim_birth, site_key, scratch, start_site, moved, born, tallies):
    """Winners step into their site; a division that won its site is a birth (births kernel)."""
    for i in SERIAL(n):
        here = site[i]
        start_site[i] = here
        moved[i] = False
        born[i] = False
        key = site_key[i]
        if key == NO_CLAIM:
            continue
        there = claim_move[i]
        if there >= 0 and scratch[there] == key:
            occupancy[here] = EMPTY
            occupancy[there] = i
            site[i] = there
            moved[i] = True
            atomic_add(tallies, MOVES, 1)
        if claim_birth[i] >= 0 and scratch[claim_birth[i]] == key:
            born[i] = True


def claim_follows(n, seed_lo, seed_hi, step, purpose, cell_type, ids, follows, follows_of_type, moved, stopped,
                  start_site, claim_move, claim_birth, site_key, scratch, follow_to,
                  follow_key):
    """Followers whose leader moved claim the site it left (word 2): a bound escort travels with
    its partner. Only that leader's followers can claim it, one winner."""
    for i in SERIAL(n):
        if site_key[i] != NO_CLAIM:  # the site contest was read by `move`
            if claim_move[i] >= 0:
                scratch[claim_move[i]] = NO_CLAIM
            if claim_birth[i] >= 0:
                scratch[claim_birth[i]] = NO_CLAIM
        follow_to[i] = -1
        follow_key[i] = NO_CLAIM
        if not follows_of_type[cell_type[i]]:
            continue
        leader = follows[i]
        if leader < 0 or moved[i] or stopped[i] or not moved[leader]:
            continue
        key = claim_key(seed_lo, seed_hi, step, purpose, ids[i], 2)
        follow_to[i] = start_site[leader]
        follow_key[i] = key
        atomic_min(scratch, start_site[leader], key)


def follow(n, site, occupancy, follow_to, follow_key, scratch, tallies):
    for i in SERIAL(n):
        there = follow_to[i]
        if there >= 0 and scratch[there] == follow_key[i]:
            occupancy[site[i]] = EMPTY
            occupancy[there] = i
            site[i] = there
            atomic_add(tallies, MOVES, 1)


def leaving(bound, n_before, born_before, cell_type, state, state_age, cycle_clock, site, occupancy, removed,
            leave_state, leave_after_min, follow_to, scratch, keep, dt_min, tallies):
    """Cells leave (removed by their rules, or dying for their type's duration): their sites are
    freed; the others' clocks run on. Slots from n_before + births (born_before[n_before - 1]) on
    hold no cell. Restores the follow contest's buffer."""
    n_total = n_before + born_before[n_before - 1]
    for i in SERIAL(bound):
        if i < n_before and follow_to[i] >= 0:
            scratch[follow_to[i]] = NO_CLAIM
        if i >= n_total:
            keep[i] = False
            continue
        t = cell_type[i]
        gone = i < n_before and removed[i]
        if leave_state[t] >= 0 and state[i] == leave_state[t] and state_age[i] >= leave_after_min[t]:
            gone = True
        keep[i] = not gone
        if gone:
            occupancy[site[i]] = EMPTY
            atomic_add(tallies, DEATHS, 1)
        else:
            state_age[i] = np.float32(state_age[i] + np.float32(dt_min))
            cycle_clock[i] = np.float32(cycle_clock[i] + np.float32(dt_min))
