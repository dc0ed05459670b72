"""Claims, removal and compaction of the minimal rule set's fused step (numba, CPU).

The second half of kernels/fused_minimal.py (which explains the whole step): contested
targets go to the lowest (priority, id) key as in kernels/claims.py, the kills first, then
the moves and divisions of the cells still viable; dead cells become holes, compacted lazily.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit, prange
from .fused_minimal import (APOPTOSIS, BLOCK, C_APOPTOTIC, DECIDE_BLOCK, DIVIDE, HOLE, ID_MASK, MOVE, N_STRIPES,
                            NO_CLAIM, P_CLAIM, T_APOPTOTIC, TUMOR, _words)

_CACHE = __name__.startswith("abm.")  # see fused_minimal._CACHE


@njit(cache=_CACHE, inline="always")
def _claim_key(seed, step, agent_id, word_index):
    w = _words(seed, step, P_CLAIM, agent_id)
    priority = w[0] if word_index == 0 else w[1]
    return ((priority >> np.uint64(8)) << np.uint64(40)) | (np.uint64(agent_id) & ID_MASK)


@njit(cache=_CACHE, inline="always")
def _count_claim(claims, t):
    """One more claim on site t; claims (int8 per site) is -1 where unclaimed, saturates at 100."""
    if claims[t] < 100:
        claims[t] += 1


@njit(cache=_CACHE)
def resolve(seed, step, ids, state, site, state_age, partner, kills, cycle_clock, occupancy, grid, scratch,
            born_parents, born_sites, tallies, acting, act_proposal, act_target, act_kill, act_clustered,
            act_contact, block_acting, keys):
    """Kills, then moves and divisions; returns the number of births (parents in slot order).

    acting, act_*, block_acting: the per-block lists of `decide` (compacted here, in place,
    into one list in slot order). tallies (int64): kills, kills_single, kills_clustered, moves,
    contacts_single, contacts_clustered. Serial, over the few cells that proposed something.
    The lowest key on a target wins (as kernels/claims.py), so the order of the loop does not
    matter; a sole claimant wins without a key. The category grid doubles as the claim counter
    of the (empty, so -1) target sites; keys and the uint64 scratch are used for contested
    targets and for kills only. The grid is updated for the cells that turn apoptotic, move or
    are born.
    """
    # One pass over decide's per-block lists: compact them in place into one list in slot order
    # (entry m never overtakes its source), count contacts, apply the cells' own apoptosis
    # (it commutes with the kills below: both make the cell apoptotic the same way), bid for
    # kills, count claims per lattice stripe (stripes of 2**shift sites, at most N_STRIPES of
    # them) and list the would-be mothers.
    shift = 0
    while (grid.shape[0] + (1 << shift) - 1) >> shift > N_STRIPES:
        shift += 1
    stripe_start = np.zeros(N_STRIPES + 1, dtype=np.int64)
    killers = np.empty(64, dtype=np.int64)
    dividers = np.empty(64, dtype=np.int64)
    n_killers = 0
    n_dividers = 0
    m = 0
    for b in range(block_acting.shape[0]):
        for source in range(b * DECIDE_BLOCK, b * DECIDE_BLOCK + block_acting[b]):
            i = acting[source]
            proposal, t, s = act_proposal[source], act_target[source], act_kill[source]
            acting[m], act_proposal[m], act_target[m], act_kill[m] = i, proposal, t, s
            act_clustered[m] = act_clustered[source]
            if act_contact[source] == 1:
                tallies[4] += 1
            elif act_contact[source] == 2:
                tallies[5] += 1
            if proposal == APOPTOSIS:
                state[i] = T_APOPTOTIC
                state_age[i] = np.float32(0)
                partner[i] = -1
                grid[site[i]] = C_APOPTOTIC
            if s >= 0:
                keys[m] = _claim_key(seed, step, ids[i], 1)
                scratch[s] = min(scratch[s], keys[m])
                killers = _push(killers, n_killers, m)
                n_killers += 1
            if t >= 0:
                stripe_start[(t >> shift) + 1] += 1
            if proposal == DIVIDE:
                dividers = _push(dividers, n_dividers, m)
                n_dividers += 1
            m += 1
    wants, goes_to, kill_at = act_proposal[:m], act_target[:m], act_kill[:m]
    # Kills: one winner per target site (the lowest key); the victim turns apoptotic.
    for q in range(n_killers):
        a = killers[q]
        s = kill_at[a]
        if scratch[s] == keys[a]:
            victim = occupancy[s]
            kills[acting[a]] += 1
            state[victim] = T_APOPTOTIC
            state_age[victim] = np.float32(0)
            partner[victim] = -1
            grid[s] = C_APOPTOTIC
            tallies[0] += 1
            if act_clustered[a]:
                tallies[2] += 1
            else:
                tallies[1] += 1
    for q in range(n_killers):
        scratch[kill_at[killers[q]]] = NO_CLAIM
    # Moves and divisions compete for free sites: in parallel over stripes of the lattice (each
    # target, and so each claim counter, belongs to one stripe). Cells killed or dying this
    # step drop their claims there.
    for k in range(N_STRIPES):
        stripe_start[k + 1] += stripe_start[k]
    fill = stripe_start[:N_STRIPES].copy()
    by_stripe = np.empty(stripe_start[N_STRIPES], dtype=np.int64)
    for a in range(m):
        if goes_to[a] >= 0:
            k = goes_to[a] >> shift
            by_stripe[fill[k]] = a
            fill[k] += 1
    won = np.zeros(m, dtype=np.bool_)
    moves = np.zeros(N_STRIPES, dtype=np.int64)
    _site_claims(seed, step, ids, state, site, occupancy, wants, goes_to, acting, grid, scratch, keys, by_stripe,
                 stripe_start, won, moves)
    tallies[3] += moves.sum()
    births = 0
    for q in range(n_dividers):  # in slot order: daughters get ids in their mothers' id order
        a = dividers[q]
        if won[a]:
            i = acting[a]
            cycle_clock[i] = np.float32(0)
            born_parents[births] = i
            born_sites[births] = goes_to[a]
            grid[goes_to[a]] = grid[site[i]]  # the daughter looks like her mother
            births += 1
    return births


@njit(cache=_CACHE, inline="always")
def _push(array, count, value):
    """array[count] = value, doubling the array when full; returns the array."""
    if count == array.shape[0]:
        grown = np.empty(2 * count, dtype=array.dtype)
        grown[:count] = array
        array = grown
    array[count] = value
    return array


@njit(cache=_CACHE, parallel=True)
def _site_claims(seed, step, ids, state, site, occupancy, wants, goes_to, acting, claims, scratch, keys,
                 by_stripe, stripe_start, won, moves):
    """One winner per target among by_stripe's claims, stripe by stripe; moves applied at once.

    wants, goes_to: per acting cell a, its proposal and target site. claims: the category
    grid, -1 at every target (they are empty), used as a claim counter and reset before the
    winners move in. Threads write disjoint memory: a stripe's targets, counters and scratch
    entries are its own; a mover frees its old site, which was occupied at the start of the
    step and so is no claim's target. A claimant apoptotic by now (killed, or dying, this step:
    no NK cell is ever apoptotic) withdraws its claim before any is counted."""
    for k in prange(stripe_start.shape[0] - 1):
        lo, hi = stripe_start[k], stripe_start[k + 1]
        for q in range(lo, hi):
            a = by_stripe[q]
            if state[acting[a]] == T_APOPTOTIC:
                goes_to[a] = -1
            else:
                _count_claim(claims, goes_to[a])
        for q in range(lo, hi):
            a = by_stripe[q]
            if goes_to[a] >= 0 and claims[goes_to[a]] > 0:
                keys[a] = _claim_key(seed, step, ids[acting[a]], 0)
                scratch[goes_to[a]] = min(scratch[goes_to[a]], keys[a])
        for q in range(lo, hi):
            a = by_stripe[q]
            t = goes_to[a]
            won[a] = t >= 0 and (claims[t] == 0 or scratch[t] == keys[a])
        for q in range(lo, hi):
            t = goes_to[by_stripe[q]]
            if t >= 0:
                claims[t] = -1
                scratch[t] = NO_CLAIM
        for q in range(lo, hi):
            a = by_stripe[q]
            if won[a] and wants[a] == MOVE:
                i = acting[a]
                t = goes_to[a]
                claims[t] = claims[site[i]]  # the category travels with the cell
                claims[site[i]] = -1
                occupancy[site[i]] = -1
                occupancy[t] = i
                site[i] = t
                moves[k] += 1


@njit(cache=_CACHE, parallel=True)
def remove_and_age(cell_type, state, state_age, cycle_clock, site, caspase_duration, dt, occupancy, grid,
                   max_states, block_histogram, block_leaving):
    """Tumor cells apoptotic for the caspase+ duration leave now: their sites become empty and
    their slots holes (cell_type -1), compacted later by `kept_slots` + `gather`. The clocks of
    the others advance by one step. Parallel over blocks of BLOCK slots: block b counts its
    cells in block_histogram[b, type * max_states + state] (zeros on entry) and writes
    block_leaving[b] = (number leaving, first leaving slot or -1)."""
    duration = np.float32(caspase_duration)
    n = cell_type.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
        count = 0
        first = -1
        for i in range(lo, hi):
            if cell_type[i] == HOLE:
                continue
            if cell_type[i] == TUMOR and state[i] == T_APOPTOTIC and state_age[i] >= duration:
                occupancy[site[i]] = -1  # sites are distinct: blocks write disjoint entries
                grid[site[i]] = -1
                cell_type[i] = HOLE
                count += 1
                if first < 0:
                    first = i
                continue
            block_histogram[b, np.int64(cell_type[i]) * max_states + state[i]] += 1
        block_leaving[b, 0] = count
        block_leaving[b, 1] = first
        # Every slot's clocks advance, holes' included (whatever a hole holds is dropped at
        # compaction): a branch-free loop over contiguous slices, which runs in SIMD lanes.
        _advance(state_age[lo:hi], cycle_clock[lo:hi], np.float32(dt))


@njit(cache=_CACHE)
def _advance(state_age, cycle_clock, dt):
    for i in range(state_age.shape[0]):
        state_age[i] += dt
        cycle_clock[i] += dt


@njit(cache=_CACHE)
def kept_slots(cell_type, kept):
    """Slots that are not holes, in order; returns how many."""
    w = 0
    for i in range(cell_type.shape[0]):
        kept[w] = i
        w += np.int64(cell_type[i] != HOLE)
    return w


@njit(cache=_CACHE, parallel=True)
def gather(sources, targets, kept, n_kept, offset):
    """targets[c][offset + k] = sources[c][kept[k]] for columns c of one dtype (tuples of
    equal-dtype arrays), in one parallel pass: the cells that stay compacted into spare
    buffers (offset 0), or daughters copied from their mothers (offset n, in place)."""
    for block in prange((n_kept + BLOCK - 1) // BLOCK):
        start, stop = block * BLOCK, min(n_kept, (block + 1) * BLOCK)
        for c in range(len(sources)):
            source, target = sources[c], targets[c]
            for k in range(start, stop):
                target[offset + k] = source[kept[k]]


@njit(cache=_CACHE)
def copy_rows(columns, rows, count, offset):
    """columns[c][offset + k] = columns[c][rows[k]] for k < count (a tuple of equal-dtype
    columns): daughters as copies of their mothers. Serial: a few hundred rows, where waking
    the thread pool of `gather` would cost more than the copy."""
    for c in range(len(columns)):
        column = columns[c]
        for k in range(count):
            column[offset + k] = column[rows[k]]


@njit(cache=_CACHE)
def reindex(occupancy, site, first, n):
    """After compaction: the site of every cell from slot `first` on points to its new slot."""
    for i in range(first, n):
        occupancy[site[i]] = i
