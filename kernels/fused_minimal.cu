// The minimal rule set's step fused into a few kernels; CUDA twin of kernels/fused_minimal.py
// (read it for the biology: tumor cells die or divide into a free site; NK cells conjugate
// with a touching viable tumor cell, may kill it, and walk). This file: the shared codes and
// helpers, fm_categorise and fm_decide; fused_minimal_resolve.cu (which includes this one,
// and is what kernels/fused_minimal_cuda.py compiles) the rest.
//
// Same Philox words, integer thresholds, float32 arithmetic and lowest-key claim winners as
// the numba kernels, so a run is bit-identical to the CPU (tests/test_fused_gpu_on_host.py).
// Launched in this order on one stream; a kernel boundary is the only grid-wide
// synchronisation, so every kernel reads only what earlier kernels wrote, or what its own
// thread wrote, and its writes are disjoint or identical (each kernel's comment says why):
//
//   fm_decide          proposals; NK cells' own updates; kill claims (atomicMin on scratch)
//   fm_apply_kills     own apoptosis; the lowest key on a kill site kills its occupant
//   fm_claim_sites     moves and divisions of cells not stopped claim their (empty) target
//   fm_move_and_divide the lowest key on a target moves in, or divides into it
//   (cumsum of born)   daughters' ranks, in their mothers' slot order (CuPy's device scan)
//   fm_finish          daughters written; the dead become holes; clocks advance; counts
//
// plus fm_categorise (rebuild the category grid) and fm_compact (remove holes) now and then.
// Slots [0, n) hold cells in id order; holes (cell_type -1) are cells that left, skipped.
// stats (uint64): STAT_* tallies, then histogram[cell_type * max_states + state].
// scratch (uint64 per site) is NO_CLAIM everywhere between steps; each step restores it.
// The launcher splices included files' text in (NVRTC has no file system; nvcc and g++ read them).

#include "philox.cu"

// Codes of kernels/fused_minimal.py (tests/test_fused_gpu_on_host.py checks they agree).
enum CellType { HOLE = -1, TUMOR = 0, NK = 1 };  // HOLE: a slot whose cell left, until compaction
enum TumorState { T_PROLIFERATING = 0, T_INVASIVE = 1, T_DORMANT = 2, T_APOPTOTIC = 3 };
enum NkState { NK_ACTIVE = 0, NK_EXPOSED = 2 };
enum Category { C_EPITHELIAL = 0, C_MESENCHYMAL = 1, C_APOPTOTIC = 2, C_NK = 3, C_NK_EXPOSED = 4 };
enum Purpose { P_CLAIM = 1, P_DIVISION = 2, P_NK_MOVE = 4, P_NK_KILL = 5, P_DEATH = 6 };  // philox.py
enum Proposal { NOTHING = 0, APOPTOSIS = 1, DIVIDE = 2, MOVE = 3 };
enum Stat {  // entries of stats; fused_minimal_cuda.py STATS names them in this order
    STAT_KILLS, STAT_KILLS_SINGLE, STAT_KILLS_CLUSTERED, STAT_MOVES, STAT_CONTACTS_SINGLE,
    STAT_CONTACTS_CLUSTERED, STAT_BIRTHS, STAT_DEATHS, STAT_HISTOGRAM
};
enum { MAX_BINS = 32 };  // histogram bins a thread counts locally before one atomicAdd each
#define NO_CLAIM 0xFFFFFFFFFFFFFFFFull
#define ID_MASK 0xFFFFFFFFFFull  // the low 40 bits of an id

__device__ __forceinline__ long long thread_index()
{
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}

// ((priority >> 8) << 40) | (id & (2**40 - 1)): the claim key of kernels/claims.py, priority
// word 0 for site claims, word 1 for kills. Keys are distinct (ids are), so one winner.
__device__ __forceinline__ unsigned long long claim_key(unsigned int seed_lo, unsigned int seed_hi,
                                                        unsigned int step, long long id, int word)
{
    const PhiloxWords w = philox_words(seed_lo, seed_hi, step, P_CLAIM, id);
    const unsigned long long priority = word == 0 ? w.w0 : w.w1;
    return ((priority >> 8) << 40) | ((unsigned long long)id & ID_MASK);
}

// Flat site at offset j from (x, y, z), or -1 outside the lattice (a 2D lattice has nz = 1).
__device__ __forceinline__ long long neighbour(long long x, long long y, long long z, int j,
                                               long long nx, long long ny, long long nz,
                                               const long long* offsets)
{
    const long long qx = x + offsets[3 * j], qy = y + offsets[3 * j + 1], qz = z + offsets[3 * j + 2];
    if (qx < 0 || qx >= nx || qy < 0 || qy >= ny || qz < 0 || qz >= nz) {
        return -1;
    }
    return (qx * ny + qy) * nz + qz;
}

struct Place {
    long long x, y, z;
};

__device__ __forceinline__ Place place_of(long long site, long long ny, long long nz)
{
    Place p;
    p.x = site / (ny * nz);
    const long long rest = site - p.x * ny * nz;
    p.y = rest / nz;
    p.z = rest - p.y * nz;
    return p;
}

// What a cell sees around a site: bit j of `free` / `tumor` is offset j empty / a viable tumor cell.
struct Scan {
    unsigned int free, tumor;
    int n_epithelial, n_tumor;
};

__device__ __forceinline__ Scan scan(Place p, const signed char* category, long long nx, long long ny,
                                     long long nz, const long long* offsets, int n_offsets)
{
    Scan s = {0u, 0u, 0, 0};
    for (int j = 0; j < n_offsets; ++j) {
        const long long q = neighbour(p.x, p.y, p.z, j, nx, ny, nz, offsets);
        if (q < 0) {
            continue;
        }
        const int c = category[q];
        const bool is_tumor = c == C_EPITHELIAL || c == C_MESENCHYMAL;
        s.free |= (unsigned int)(c < 0) << j;
        s.tumor |= (unsigned int)is_tumor << j;
        s.n_tumor += is_tumor;
        s.n_epithelial += c == C_EPITHELIAL;
    }
    return s;
}

// The k-th set bit of mask, k = word mod popcount (neighbours.pick_from_mask); -1 if none.
__device__ __forceinline__ int pick(unsigned int mask, unsigned int word)
{
    const unsigned int total = (unsigned int)__popc(mask);
    if (total == 0u) {
        return -1;
    }
    unsigned int k = word % total;
    for (int j = 0; j < 32; ++j) {
        if ((mask >> j) & 1u) {
            if (k == 0u) {
                return j;
            }
            --k;
        }
    }
    return -1;
}

// The category grid (what neighbours see per site, -1 empty) from the cells; it must be all -1.
// Each live cell writes its own site; holes write nothing (their site may hold another cell).
extern "C" __global__ void fm_categorise(long long n, const signed char* cell_type, const signed char* state,
                                         const signed char* mesenchymal, const long long* site,
                                         signed char* category)
{
    const long long i = thread_index();
    if (i >= n) {
        return;
    }
    const int s = state[i];
    int c = -1;
    if (cell_type[i] == TUMOR) {
        if (s == T_APOPTOTIC) {
            c = C_APOPTOTIC;
        } else if (s == T_INVASIVE || (mesenchymal[i] > 0 && (s == T_PROLIFERATING || s == T_DORMANT))) {
            c = C_MESENCHYMAL;
        } else if (s == T_PROLIFERATING || s == T_DORMANT) {
            c = C_EPITHELIAL;
        }
    } else if (cell_type[i] == NK) {
        c = s == NK_EXPOSED ? C_NK_EXPOSED : C_NK;
    }
    if (c >= 0) {
        category[site[i]] = (signed char)c;
    }
}

// One thread per slot: what the cell proposes (fused_minimal.decide). The category grid and occupancy
// are only read, each thread writes its own cell's entries; contacts are tallied and kills
// claimed with atomics (order-free: the minimum and the sums do not depend on the order).
// tumor_params: death threshold, isolated death threshold, division threshold (float64, as
// integers below 2**33); nk_params as FusedMinimalStep.nk_params.
extern "C" __global__ void fm_decide(long long n, unsigned int seed_lo, unsigned int seed_hi, unsigned int step,
                                     const long long* ids, const signed char* cell_type, signed char* state,
                                     const long long* site, long long* partner, long long* partner_site,
                                     float* receptors, float* state_age, const signed char* category,
                                     const int* occupancy, long long nx, long long ny, long long nz,
                                     const long long* offsets, int n_offsets, const double* tumor_params,
                                     const double* nk_params, signed char* proposal, long long* target,
                                     long long* kill_site, signed char* contact, signed char* stopped,
                                     unsigned long long* scratch, unsigned long long* stats)
{
    const long long i = thread_index();
    if (i >= n) {
        return;
    }
    proposal[i] = NOTHING;
    contact[i] = 0;
    kill_site[i] = -1;
    stopped[i] = 0;  // set by fm_apply_kills for cells dying this step
    const long long id = ids[i];
    const int s = state[i];
    if (cell_type[i] == TUMOR) {
        if (s == T_APOPTOTIC) {
            return;
        }
        const unsigned long long death_threshold = (unsigned long long)tumor_params[0];
        const unsigned long long isolated_threshold = (unsigned long long)tumor_params[1];
        const unsigned long long division_threshold = (unsigned long long)tumor_params[2];
        const unsigned long long highest = death_threshold > isolated_threshold ? death_threshold
                                                                                : isolated_threshold;
        const unsigned long long death_word = philox_words(seed_lo, seed_hi, step, P_DEATH, id).w0;
        const bool proliferating = s == T_PROLIFERATING;
        PhiloxWords division = {0u, 0u, 0u, 0u};  // drawn only where it can matter: same values
        if (proliferating) {
            division = philox_words(seed_lo, seed_hi, step, P_DIVISION, id);
        }
        // Most cells' draws rule out both events whatever their neighbours: no scan needed.
        if (death_word >= highest && (!proliferating || division.w0 >= division_threshold)) {
            return;
        }
        const Place p = place_of(site[i], ny, nz);
        const Scan around = scan(p, category, nx, ny, nz, offsets, n_offsets);
        if (death_word < (around.n_tumor == 0 ? isolated_threshold : death_threshold)) {
            proposal[i] = APOPTOSIS;
            return;
        }
        if (!proliferating) {
            return;
        }
        const int j = pick(around.free, division.w1);
        if (j >= 0 && division.w0 < division_threshold) {
            proposal[i] = DIVIDE;
            target[i] = neighbour(p.x, p.y, p.z, j, nx, ny, nz, offsets);
        }
        return;
    }
    if (cell_type[i] != NK) {
        return;  // a hole
    }
    const unsigned long long move_threshold = (unsigned long long)nk_params[0];
    const float gain = (float)nk_params[1], kill_probability = (float)nk_params[2];
    const float activating_single = (float)nk_params[3], activating_loss = (float)nk_params[4];
    const float inhibitory_single = (float)nk_params[5], inhibitory_gain = (float)nk_params[6];
    const float epithelial_half = (float)nk_params[7], weight = (float)nk_params[8];
    const float exposed_threshold = (float)nk_params[9];
    const PhiloxWords kill = philox_words(seed_lo, seed_hi, step, P_NK_KILL, id);
    const PhiloxWords move = philox_words(seed_lo, seed_hi, step, P_NK_MOVE, id);
    const Place p = place_of(site[i], ny, nz);
    const Scan around = scan(p, category, nx, ny, nz, offsets, n_offsets);
    float r = receptors[i];
    long long victim_site = -1;
    Place v = p;
    if (partner[i] >= 0) {  // a conjugate from an earlier step: is its target still there?
        const long long ps = partner_site[i];
        const int victim = occupancy[ps];
        const int c = category[ps];
        if (victim >= 0 && ids[victim] == partner[i] && (c == C_EPITHELIAL || c == C_MESENCHYMAL)) {
            victim_site = ps;
            v = place_of(ps, ny, nz);
        }
    } else {
        const int j = pick(around.tumor, kill.w1);
        if (j >= 0) {  // a new conjugate with that tumor cell (there now, and viable)
            victim_site = neighbour(p.x, p.y, p.z, j, nx, ny, nz, offsets);
            v = place_of(victim_site, ny, nz);
            r = r + gain;
        }
    }
    if (victim_site >= 0) {  // the conjugate ends at once (conjugation time 0): kill or release
        const int c = category[victim_site];
        const Scan there = scan(v, category, nx, ny, nz, offsets, n_offsets);
        float clustering = 0.0f;
        if (c == C_EPITHELIAL) {
            const float e = (float)there.n_epithelial;
            clustering = e / (e + epithelial_half);
        }
        // float32 throughout, two roundings per a*b+c (--fmad=false), as numba computes it.
        const float activating = activating_single * (1.0f - activating_loss * clustering);
        const float inhibitory = inhibitory_single + inhibitory_gain * clustering;
        const float p_kill = kill_probability * activating / (activating + inhibitory + weight * r);
        const bool clustered = there.n_tumor > 0;
        contact[i] = clustered ? 2 : 1;
        atomicAdd(stats + (clustered ? STAT_CONTACTS_CLUSTERED : STAT_CONTACTS_SINGLE), 1ull);
        if ((long long)kill.w0 < (long long)((double)p_kill * 4294967296.0)) {
            kill_site[i] = victim_site;
            // The lowest key among this site's killers wins (read in the next kernel).
            atomicMin(scratch + victim_site, claim_key(seed_lo, seed_hi, step, id, 1));
        }
    }
    partner[i] = -1;
    partner_site[i] = -1;
    receptors[i] = r;
    const int j = pick(around.free, move.w1);
    if (j >= 0 && (unsigned long long)move.w0 < move_threshold) {
        proposal[i] = MOVE;
        target[i] = neighbour(p.x, p.y, p.z, j, nx, ny, nz, offsets);
    }
    const int new_state = r >= exposed_threshold ? NK_EXPOSED : NK_ACTIVE;
    if (new_state != s) {
        state[i] = (signed char)new_state;
        state_age[i] = 0.0f;
    }
}
