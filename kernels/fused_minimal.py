"""The minimal rule set's step fused into a few compiled passes (numba, CPU).

Reference: the general step of abm/model.py (sense -> decide -> resolve -> remove) with the
rules of abm/cells/tumor.py and abm/cells/nk.py, restricted to the features the minimal rule
set uses (abm/fastpath.py decides when that holds). The general step makes ~100 array passes per
step; here one pass decides for every cell, a short serial pass resolves the claims, and one
pass compacts. The same Philox words, integer thresholds, float32 arithmetic and lowest-key
claim winners are used, so the result is bit-identical to the general step (tests/test_fused.py).

Passes (n cells in slots [0, n), slot order = id order; holes, cell_type -1, are skipped):
1. `categorise` (only when the cells changed from outside): the grid of what neighbours see.
2. `decide`, here: each cell draws its Philox words and, only where they can change its fate,
   scans its neighbourhood, then proposes: a tumor cell dies (apoptosis) or divides into a free
   site; an NK cell conjugates with a touching tumor cell and tries to kill it, then steps into
   a free site. Parallel: each iteration writes only its own cell's entries.
3. `resolve` (fused_minimal_resolve.py): one winner per contested target (the lowest
   (priority, id) key, as kernels/claims.py); kills first, then moves and divisions of cells
   still viable, in parallel over lattice stripes.
4. `remove_and_age` (fused_minimal_resolve.py): cells leaving now become holes, compacted
   lazily (`kept_slots` + `gather`); clocks advance; cells are counted.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit, prange
from .philox_numba import philox_block

# Codes of the built-in spec (abm/spec.py, abm/cells/; checked by abm/fastpath.py before it is used).
TUMOR, NK = 0, 1
HOLE = -1  # cell_type of a slot whose cell has left, until the next compaction
T_PROLIFERATING, T_INVASIVE, T_DORMANT, T_APOPTOTIC = 0, 1, 2, 3
NK_ACTIVE, NK_CONJUGATED, NK_EXPOSED = 0, 1, 2
C_EPITHELIAL, C_MESENCHYMAL, C_APOPTOTIC, C_NK, C_NK_EXPOSED = 0, 1, 2, 3, 4
# Random purposes: the keys the tumor and NK types declare (abm/cells/*.py; checked by abm/fastpath.py)
P_CLAIM, P_DIVISION, P_NK_MOVE, P_NK_KILL, P_DEATH = 1, 2, 4, 5, 6
# Proposals
NOTHING, APOPTOSIS, DIVIDE, MOVE = 0, 1, 2, 3
ID_MASK = np.uint64((1 << 40) - 1)
NO_CLAIM = np.uint64(0xFFFFFFFFFFFFFFFF)
TWO_POW_32 = 4294967296.0
LOW32 = np.uint64(0xFFFFFFFF)  # numba widens uint32 products to 64 bits: wrap them by hand
# Bit position of an isolated bit b from (b * 0x077CB531) >> 27 (de Bruijn sequence B(2, 5)).
DE_BRUIJN_POSITION = np.array([0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8, 31, 27, 13, 23, 21,
                               19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9], dtype=np.int64)
BLOCK = 4096  # cells per work item of the parallel passes
DECIDE_BLOCK = 512
N_STRIPES = 64  # lattice stripes resolving site claims in parallel
SCATTER = 1000003  # a prime above any block count: k -> k * SCATTER mod n_blocks permutes the blocks


# Cached machine code only under the installed name `abm.kernels` (see diffusion_numba._CACHE):
# a cache written by the top-level `kernels` package of a source tree fails to load in `abm`.
_CACHE = __name__.startswith("abm.")

@njit(cache=_CACHE, inline="always")
def _words(seed, step, purpose, agent_id):
    low = np.uint64(0xFFFFFFFF)
    agent = np.uint64(agent_id)
    return philox_block(agent & low, agent >> np.uint64(32), np.uint64(step) & low, np.uint64(purpose) & low,
                         np.uint64(seed) & low, (np.uint64(seed) >> np.uint64(32)) & low)


@njit(cache=_CACHE, inline="always")
def _pick(mask, word, n_offsets):
    """k-th set bit of mask with k = word mod popcount (neighbours.pick_from_mask).

    Branch-free popcount, then the k lowest set bits cleared and the lowest remaining one
    located by a de Bruijn multiply: no loop over all offsets, no unpredictable branch.
    (Masks have bits below n_offsets only.)"""
    m = np.uint32(mask)
    c = m - ((m >> np.uint32(1)) & np.uint32(0x55555555))
    c = (c & np.uint32(0x33333333)) + ((c >> np.uint32(2)) & np.uint32(0x33333333))
    total = ((((c + (c >> np.uint32(4))) & np.uint32(0x0F0F0F0F)) * np.uint32(0x01010101)) & LOW32) >> np.uint32(24)
    if total == 0:
        return -1
    k = np.uint32(word) % total  # word < 2**32: the 32-bit remainder is exact
    for _ in range(k):
        m &= m - np.uint32(1)
    lowest = m & (~m + np.uint32(1))
    return DE_BRUIJN_POSITION[((lowest * np.uint32(0x077CB531)) & LOW32) >> np.uint32(27)]


@njit(cache=_CACHE, inline="always")
def _coordinates(site, ny, nz):
    """(x, y, z) of a flat site. The quotient comes from a float multiply, corrected to the
    exact integer (a 64-bit division costs ~40 cycles; sites < 2**52 are exact in float64)."""
    plane = ny * nz
    x = np.int64(np.float64(site) * (1.0 / plane))
    if x * plane > site:
        x -= 1
    elif (x + 1) * plane <= site:
        x += 1
    rest = site - x * plane
    if nz == 1:  # 2D
        return x, rest, rest - rest
    y = np.int64(np.float64(rest) * (1.0 / nz))
    if y * nz > rest:
        y -= 1
    elif (y + 1) * nz <= rest:
        y += 1
    return x, y, rest - y * nz


@njit(cache=_CACHE, inline="always")
def _neighbour(x, y, z, j, nx, ny, nz, offsets):
    """Flat site at offset j from (x, y, z), or -1 outside the lattice."""
    qx, qy, qz = x + offsets[j, 0], y + offsets[j, 1], z + offsets[j, 2]
    if qx < 0 or qx >= nx or qy < 0 or qy >= ny or qz < 0 or qz >= nz:
        return -1
    return (qx * ny + qy) * nz + qz


@njit(cache=_CACHE, parallel=True)
def categorise(cell_type, state, mesenchymal, site, grid):
    """The lattice of what neighbours see (category per site, -1 empty), from the cells.

    grid (int8, one byte per site) must be all -1 on entry. The fused step keeps it current
    from step to step (moves, births, deaths and apoptosis update it) and rebuilds it only when
    the cells may have been changed from outside. Reading neighbours from it rather than from
    the occupancy (int32) and then the cells' categories touches 5x less memory. Scans only
    tell empty, epithelial and mesenchymal tumor cells, and anything else, apart.
    """
    for i in prange(cell_type.shape[0]):
        c = -1
        if cell_type[i] == TUMOR:
            s = state[i]
            if s == T_APOPTOTIC:
                c = C_APOPTOTIC
            elif s == T_INVASIVE or (mesenchymal[i] > 0 and (s == T_PROLIFERATING or s == T_DORMANT)):
                c = C_MESENCHYMAL
            elif s == T_PROLIFERATING or s == T_DORMANT:
                c = C_EPITHELIAL
        elif cell_type[i] == NK:
            c = C_NK_EXPOSED if state[i] == NK_EXPOSED else C_NK
        if c >= 0:  # holes write nothing: their old site may hold another cell by now
            grid[site[i]] = c


@njit(cache=_CACHE)
def _draw_words_block(seed, step, ids, cell_type, w0, w1, w2, w3):
    """The Philox words each cell may use this step. w0, w1: tumor: the death draw's words 0
    and 1; NK: the kill draw's. w2, w3: tumor: the division draw's; NK: the move draw's.

    A serial loop over whole contiguous 1D arrays, called per block from `decide`: LLVM runs
    several Philox blocks side by side in SIMD lanes (~10x cheaper per draw than inside the
    branchy per-cell loop; numba vectorises neither prange bodies nor loops with offset bounds).
    """
    for i in range(ids.shape[0]):
        nk = np.int64(cell_type[i] == NK)  # arithmetic, not a branch: the loop stays SIMD
        a0, a1, _, _ = _words(seed, step, P_DEATH + (P_NK_KILL - P_DEATH) * nk, ids[i])
        b0, b1, _, _ = _words(seed, step, P_DIVISION + (P_NK_MOVE - P_DIVISION) * nk, ids[i])
        w0[i] = np.uint32(a0)
        w1[i] = np.uint32(a1)
        w2[i] = np.uint32(b0)
        w3[i] = np.uint32(b1)


@njit(cache=_CACHE, inline="always")
def _scan(site, x, y, z, grid, nx, ny, nz, offsets, flat_offsets):
    """(free mask, viable-tumor mask, epithelial neighbours, viable tumor neighbours) of a site."""
    free = 0
    tumor = 0
    n_epithelial = 0
    n_tumor = 0
    interior = 0 < x < nx - 1 and 0 < y < ny - 1 and (nz == 1 or 0 < z < nz - 1)
    for j in range(offsets.shape[0]):
        if interior:  # no bounds to check (nearly every cell of a large lattice)
            q = site + flat_offsets[j]
        else:
            q = _neighbour(x, y, z, j, nx, ny, nz, offsets)
            if q < 0:
                continue
        # Branch-free: whether a site is empty is a coin toss the CPU cannot predict.
        c = grid[q]
        empty = c < 0
        is_tumor = c == C_EPITHELIAL or c == C_MESENCHYMAL
        free |= np.int64(empty) << j
        tumor |= np.int64(is_tumor) << j
        n_tumor += np.int64(is_tumor)
        n_epithelial += np.int64(c == C_EPITHELIAL)
    return free, tumor, n_epithelial, n_tumor


@njit(cache=_CACHE, parallel=True)
def decide(seed, step, ids, cell_type, state, site, partner, partner_site, receptors, state_age,
           grid, occupancy, nx, ny, nz, offsets, flat_offsets, tumor_params, nk_params,
           acting, act_proposal, act_target, act_kill, act_clustered, act_contact, block_acting):
    """Proposals of every cell; NK cells' own updates (receptors, partner, state) applied here.

    Outputs are dense per block of DECIDE_BLOCK slots: only the cells that propose something or
    touch a tumor cell (what `resolve` visits) are written, at b * DECIDE_BLOCK + k for the
    k-th such cell of block b, in slot order, and block_acting[b] is their number. Per cell:
    acting its slot, act_proposal (NOTHING, APOPTOSIS, DIVIDE, MOVE), act_target the site moved
    or divided into, act_kill the site of the tumor cell an NK cell kills (-1: none),
    act_clustered whether that cell has tumor neighbours, act_contact 0 (no contact), 1 (with a
    single tumor cell) or 2 (with a clustered one). Writing nothing for the other ~90 % of the
    cells keeps the pass's memory traffic to what it reads.

    tumor_params: float64[death threshold, isolated death threshold, division threshold];
    nk_params: float64[move threshold, receptor gain, kill probability, activating single,
    activating cluster loss, inhibitory single, inhibitory cluster gain, epithelial half,
    receptor weight, exposed threshold].
    """
    n_offsets = offsets.shape[0]
    death_threshold = np.uint64(tumor_params[0])
    isolated_death_threshold = np.uint64(tumor_params[1])
    division_threshold = np.uint64(tumor_params[2])
    highest_death_threshold = max(death_threshold, isolated_death_threshold)
    move_threshold = np.uint64(nk_params[0])
    gain = np.float32(nk_params[1])
    kill_probability = np.float32(nk_params[2])
    activating_single = np.float32(nk_params[3])
    activating_loss = np.float32(nk_params[4])
    inhibitory_single = np.float32(nk_params[5])
    inhibitory_gain = np.float32(nk_params[6])
    epithelial_half = np.float32(nk_params[7])
    weight = np.float32(nk_params[8])
    exposed_threshold = np.float32(nk_params[9])
    n = ids.shape[0]
    n_blocks = (n + DECIDE_BLOCK - 1) // DECIDE_BLOCK
    for k in prange(n_blocks):
        # Blocks in a scattered order: NK cells (costly) sit together in slot order, and
        # numba hands each thread one contiguous range of k.
        b = (k * SCATTER) % n_blocks
        lo, hi = b * DECIDE_BLOCK, min(n, (b + 1) * DECIDE_BLOCK)
        # The block's Philox words, in scratch private to this block (it stays in L1 and is
        # never written back to memory).
        w0 = np.empty(DECIDE_BLOCK, dtype=np.uint32)
        w1 = np.empty(DECIDE_BLOCK, dtype=np.uint32)
        w2 = np.empty(DECIDE_BLOCK, dtype=np.uint32)
        w3 = np.empty(DECIDE_BLOCK, dtype=np.uint32)
        _draw_words_block(seed, step, ids[lo:hi], cell_type[lo:hi], w0[:hi - lo], w1[:hi - lo], w2[:hi - lo],
                          w3[:hi - lo])
        out = b * DECIDE_BLOCK  # where this block's next acting cell is written
        for i in range(lo, hi):
            proposal, goes_to, contact, kill_at, clustered = NOTHING, -1, 0, -1, False
            if cell_type[i] == TUMOR:
                if state[i] == T_APOPTOTIC:
                    continue
                d0, division_word = np.uint64(w0[i - lo]), np.uint64(w2[i - lo])
                # Most cells' draws rule out both events whatever their neighbours: no scan needed.
                if d0 >= highest_death_threshold and (state[i] != T_PROLIFERATING or division_word >= division_threshold):
                    continue
                x, y, z = _coordinates(site[i], ny, nz)
                free, _, _, n_tumor = _scan(site[i], x, y, z, grid, nx, ny, nz, offsets, flat_offsets)
                threshold = isolated_death_threshold if n_tumor == 0 else death_threshold
                if d0 < threshold:
                    proposal = APOPTOSIS
                elif state[i] == T_PROLIFERATING:
                    j = _pick(free, np.uint64(w3[i - lo]), n_offsets)
                    if j >= 0 and division_word < division_threshold:
                        proposal = DIVIDE
                        goes_to = _neighbour(x, y, z, j, nx, ny, nz, offsets)
            elif cell_type[i] == NK:
                x, y, z = _coordinates(site[i], ny, nz)
                free, tumor, _, _ = _scan(site[i], x, y, z, grid, nx, ny, nz, offsets, flat_offsets)
                k0, k1 = np.uint64(w0[i - lo]), np.uint64(w1[i - lo])
                r = receptors[i]
                target_site = -1
                tx, ty, tz = x, y, z
                if partner[i] >= 0:  # a conjugate from an earlier step: is its target still there?
                    victim = occupancy[partner_site[i]]
                    c = grid[partner_site[i]]
                    if victim >= 0 and ids[victim] == partner[i] and (c == C_EPITHELIAL or c == C_MESENCHYMAL):
                        target_site = partner_site[i]
                        tx, ty, tz = _coordinates(target_site, ny, nz)
                else:
                    j = _pick(tumor, k1, n_offsets)
                    if j >= 0:  # a new conjugate with that tumor cell (there now, and viable)
                        target_site = _neighbour(x, y, z, j, nx, ny, nz, offsets)
                        tx, ty, tz = x + offsets[j, 0], y + offsets[j, 1], z + offsets[j, 2]
                        r = r + gain
                if target_site >= 0:  # the conjugate ends at once (conjugation time 0): kill or release
                    c = grid[target_site]
                    _, _, n_epi, n_tumor = _scan(target_site, tx, ty, tz, grid, nx, ny, nz, offsets, flat_offsets)
                    clustering = np.float32(0)
                    if c == C_EPITHELIAL:
                        e = np.float32(n_epi)
                        clustering = e / (e + epithelial_half)
                    activating = activating_single * (np.float32(1) - activating_loss * clustering)
                    inhibitory = inhibitory_single + inhibitory_gain * clustering
                    p = kill_probability * activating / (activating + inhibitory + weight * r)
                    contact = 2 if n_tumor > 0 else 1
                    if np.int64(k0) < np.int64(np.float64(p) * TWO_POW_32):  # < 2**33: int64 is exact, and cheap
                        kill_at = target_site
                        clustered = n_tumor > 0
                partner[i] = -1
                partner_site[i] = -1
                receptors[i] = r
                m0, m1 = np.uint64(w2[i - lo]), np.uint64(w3[i - lo])
                j = _pick(free, m1, n_offsets)
                if j >= 0 and m0 < move_threshold:
                    proposal = MOVE
                    goes_to = _neighbour(x, y, z, j, nx, ny, nz, offsets)
                new_state = NK_EXPOSED if r >= exposed_threshold else NK_ACTIVE
                if new_state != state[i]:
                    state[i] = new_state
                    state_age[i] = np.float32(0)
            if proposal != NOTHING or contact != 0:
                acting[out] = i
                act_proposal[out] = proposal
                act_target[out] = goes_to
                act_kill[out] = kill_at
                act_clustered[out] = clustered
                act_contact[out] = contact
                out += 1
        block_acting[b] = out - b * DECIDE_BLOCK
