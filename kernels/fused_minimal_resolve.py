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

    acting, act_*, block_acting: the per-block lists of `decide`: entry a = b * DECIDE_BLOCK + k
    is the k-th acting cell of block b (k < block_acting[b]); keys is indexed the same way.
    tallies (int64): kills, kills_single, kills_clustered, moves, contacts_single,
    contacts_clustered. The lowest key on a target wins (as kernels/claims.py), so the order in
    which claims are visited does not matter; a sole claimant wins without a key. The category
    grid doubles as the claim counter of the (empty, so -1) target sites; keys and the uint64
    scratch are used for contested targets and for kills only. The grid is updated for the
    cells that turn apoptotic, move or are born.
    """
    n_blocks = block_acting.shape[0]
    shift = 0  # stripes of 2**shift sites, at most N_STRIPES of them: a shift, not a division, per claim
    while (grid.shape[0] + (1 << shift) - 1) >> shift > N_STRIPES:
        shift += 1
    block_counts = np.zeros((n_blocks, 4), dtype=np.int64)  # kills, mothers, contacts single, clustered
    block_stripes = np.zeros((n_blocks, N_STRIPES), dtype=np.int64)
    killers = np.empty(n_blocks * DECIDE_BLOCK, dtype=np.int64)  # per block, like the acting lists
    mothers = np.empty(n_blocks * DECIDE_BLOCK, dtype=np.int64)
    _own_fates_and_bids(seed, step, ids, state, site, state_age, partner, grid, acting, act_proposal, act_target,
                        act_kill, act_contact, block_acting, keys, shift, block_counts, block_stripes, killers,
                        mothers)
    tallies[4] += block_counts[:, 2].sum()
    tallies[5] += block_counts[:, 3].sum()
    # Kills: one winner per target site (the lowest key); the victim turns apoptotic. Serial:
    # a victim may be bid for from several blocks, and there are few bids.
    for b in range(n_blocks):
        for q in range(b * DECIDE_BLOCK, b * DECIDE_BLOCK + block_counts[b, 0]):
            a = killers[q]
            scratch[act_kill[a]] = min(scratch[act_kill[a]], keys[a])
    for b in range(n_blocks):
        for q in range(b * DECIDE_BLOCK, b * DECIDE_BLOCK + block_counts[b, 0]):
            a = killers[q]
            s = act_kill[a]
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
    for b in range(n_blocks):
        for q in range(b * DECIDE_BLOCK, b * DECIDE_BLOCK + block_counts[b, 0]):
            scratch[act_kill[killers[q]]] = NO_CLAIM
    # Moves and divisions compete for free sites, in parallel over stripes of the lattice (each
    # target, and so each claim counter, belongs to one stripe). Claims are bucketed by stripe,
    # each block writing from its own offset within each stripe; cells killed or dying this
    # step drop their claims in _site_claims.
    stripe_start = np.zeros(N_STRIPES + 1, dtype=np.int64)
    position = 0
    for k in range(N_STRIPES):
        stripe_start[k] = position
        for b in range(n_blocks):
            count = block_stripes[b, k]
            block_stripes[b, k] = position  # now the block's next free entry in stripe k
            position += count
    stripe_start[N_STRIPES] = position
    by_stripe = np.empty(position, dtype=np.int64)
    _bucket_claims(act_target, block_acting, shift, block_stripes, by_stripe)
    won = np.empty(n_blocks * DECIDE_BLOCK, dtype=np.bool_)
    moves = np.zeros(N_STRIPES, dtype=np.int64)
    _site_claims(seed, step, ids, state, site, occupancy, act_proposal, act_target, acting, grid, scratch, keys,
                 by_stripe, stripe_start, won, moves)
    tallies[3] += moves.sum()
    births = 0
    for b in range(n_blocks):  # blocks, and entries within them, in slot order: daughters get ids in mothers' order
        for q in range(b * DECIDE_BLOCK, b * DECIDE_BLOCK + block_counts[b, 1]):
            a = mothers[q]
            if won[a]:
                i = acting[a]
                cycle_clock[i] = np.float32(0)
                born_parents[births] = i
                born_sites[births] = act_target[a]
                grid[act_target[a]] = grid[site[i]]  # the daughter looks like her mother
                births += 1
    return births


@njit(cache=_CACHE, parallel=True)
def _own_fates_and_bids(seed, step, ids, state, site, state_age, partner, grid, acting, act_proposal, act_target,
                        act_kill, act_contact, block_acting, keys, shift, block_counts, block_stripes, killers,
                        mothers):
    """Per block of decide's lists, in parallel: the cells' own apoptosis (it commutes with the
    kills: both make a cell apoptotic the same way; each cell writes only its own entries),
    contacts counted, kill bids keyed and listed, claims counted per stripe, mothers listed."""
    for b in prange(block_acting.shape[0]):
        base = b * DECIDE_BLOCK
        n_kills, n_mothers, single, clustered = 0, 0, 0, 0
        for a in range(base, base + block_acting[b]):
            i = acting[a]
            proposal = act_proposal[a]
            single += act_contact[a] == 1
            clustered += act_contact[a] == 2
            if proposal == APOPTOSIS:
                state[i] = T_APOPTOTIC
                state_age[i] = np.float32(0)
                partner[i] = -1
                grid[site[i]] = C_APOPTOTIC
            if act_kill[a] >= 0:
                keys[a] = _claim_key(seed, step, ids[i], 1)
                killers[base + n_kills] = a
                n_kills += 1
            if act_target[a] >= 0:
                block_stripes[b, act_target[a] >> shift] += 1
            if proposal == DIVIDE:
                mothers[base + n_mothers] = a
                n_mothers += 1
        block_counts[b, 0] = n_kills
        block_counts[b, 1] = n_mothers
        block_counts[b, 2] = single
        block_counts[b, 3] = clustered


@njit(cache=_CACHE, parallel=True)
def _bucket_claims(act_target, block_acting, shift, next_entry, by_stripe):
    """by_stripe: the entries with a target, grouped by stripe; next_entry[b, k] is where block b
    writes its next claim on stripe k (rows private to their block)."""
    for b in prange(block_acting.shape[0]):
        for a in range(b * DECIDE_BLOCK, b * DECIDE_BLOCK + block_acting[b]):
            t = act_target[a]
            if t >= 0:
                k = t >> shift
                by_stripe[next_entry[b, k]] = a
                next_entry[b, k] += 1


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
