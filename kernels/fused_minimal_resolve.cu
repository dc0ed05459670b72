// Claims, removal and compaction of the minimal rule set's fused step; CUDA twin of
// kernels/fused_minimal_resolve.py. The second half of fused_minimal.cu, which explains the
// whole step and holds the shared codes and helpers (included here; the launcher,
// kernels/fused_minimal_cuda.py, compiles this file, and so both, as one module).
//
// Contested targets go to the lowest (priority, id) key, as kernels/claims.py: an atomicMin
// of every claimant's key in one kernel, the comparison in the next. Kills come first, then
// the moves and divisions of cells still viable; dead cells become holes, compacted lazily.

#include "fused_minimal.cu"

// Own apoptosis, and kills: the killer holding the lowest key on a site (complete after
// fm_decide) turns its occupant apoptotic. Killers of one site: one winner. A victim that
// also chose apoptosis itself is written by two threads with identical values (benign).
extern "C" __global__ void fm_apply_kills(long long n, unsigned int seed_lo, unsigned int seed_hi, unsigned int step,
                                          const long long* ids, signed char* state, const long long* site,
                                          float* state_age, long long* partner, int* kills,
                                          const int* occupancy, signed char* category, const signed char* proposal,
                                          const long long* kill_site, const signed char* contact,
                                          signed char* stopped, const unsigned long long* scratch,
                                          unsigned long long* stats)
{
    const long long i = thread_index();
    if (i >= n) {
        return;
    }
    if (proposal[i] == APOPTOSIS) {
        state[i] = T_APOPTOTIC;
        state_age[i] = 0.0f;
        partner[i] = -1;
        stopped[i] = 1;
        category[site[i]] = C_APOPTOTIC;
    }
    const long long s = kill_site[i];
    if (s >= 0 && scratch[s] == claim_key(seed_lo, seed_hi, step, ids[i], 1)) {
        const int victim = occupancy[s];
        kills[i] += 1;
        state[victim] = T_APOPTOTIC;
        state_age[victim] = 0.0f;
        partner[victim] = -1;
        stopped[victim] = 1;
        category[s] = C_APOPTOTIC;
        atomicAdd(stats + STAT_KILLS, 1ull);
        atomicAdd(stats + (contact[i] == 2 ? STAT_KILLS_CLUSTERED : STAT_KILLS_SINGLE), 1ull);
    }
}

// Moves and divisions of cells still viable claim their target (atomicMin of the key). Kill
// sites are restored to NO_CLAIM here: they were occupied at the start of the step, targets
// were empty, so the two sets of scratch entries are disjoint.
extern "C" __global__ void fm_claim_sites(long long n, unsigned int seed_lo, unsigned int seed_hi, unsigned int step,
                                          const long long* ids, const signed char* proposal,
                                          const long long* target, const long long* kill_site,
                                          const signed char* stopped, unsigned long long* scratch)
{
    const long long i = thread_index();
    if (i >= n) {
        return;
    }
    if (kill_site[i] >= 0) {
        scratch[kill_site[i]] = NO_CLAIM;  // several killers may write it: the same value
    }
    const int p = proposal[i];
    if ((p == MOVE || p == DIVIDE) && !stopped[i]) {
        atomicMin(scratch + target[i], claim_key(seed_lo, seed_hi, step, ids[i], 0));
    }
}

// The lowest key on each target wins it: a mover moves in (its category with it), a mother
// marks her daughter's birth. Writes are disjoint: targets have one winner each and were
// empty, so they are nobody's own site; each thread otherwise touches only its own site.
extern "C" __global__ void fm_move_and_divide(long long n, unsigned int seed_lo, unsigned int seed_hi,
                                              unsigned int step, const long long* ids, long long* site,
                                              float* cycle_clock, int* occupancy, signed char* category,
                                              const signed char* proposal, const long long* target,
                                              const signed char* stopped, const unsigned long long* scratch,
                                              signed char* born, unsigned long long* stats)
{
    const long long i = thread_index();
    if (i >= n) {
        return;
    }
    born[i] = 0;
    const int p = proposal[i];
    if (!((p == MOVE || p == DIVIDE) && !stopped[i])) {
        return;
    }
    const long long t = target[i];
    if (scratch[t] != claim_key(seed_lo, seed_hi, step, ids[i], 0)) {
        return;
    }
    const long long from = site[i];
    category[t] = category[from];  // a mover's category travels with it; a daughter looks like her mother
    if (p == MOVE) {
        category[from] = -1;
        occupancy[from] = -1;
        occupancy[t] = (int)i;
        site[i] = t;
        atomicAdd(stats + STAT_MOVES, 1ull);
    } else {
        cycle_clock[i] = 0.0f;
        born[i] = 1;
    }
}

// The end of the step, grid-stride over slots [0, n): targets' scratch restored; daughters
// (rank = rank_end[i] - 1, the inclusive scan of born) written at slot n + rank with id
// next_id + rank, copies of their mothers but for the columns reset at birth, already aged;
// tumor cells apoptotic for the caspase+ duration leave (hole); the others' clocks advance.
// Each thread counts into a local histogram, then adds it with one atomicAdd per bin in use.
// Writes: a cell's own entries and site, a daughter's slot (>= n, read by nobody here) and
// target (empty at the step's start, so not a leaving cell's site); scratch: identical values.
extern "C" __global__ void fm_finish(long long n, long long next_id, float dt, float caspase_duration,
                                     int max_states, int n_bins, long long* ids, signed char* cell_type,
                                     signed char* state, long long* site, float* state_age, float* cycle_clock,
                                     long long* clone, long long* partner, long long* partner_site,
                                     signed char* heading, signed char* mesenchymal, signed char* vcam1,
                                     signed char* plxnb2, float* division_boost, float* ligand_left, float* receptors,
                                     int* kills,
                                     int* occupancy, signed char* category, unsigned long long* scratch,
                                     const signed char* proposal, const long long* target,
                                     const signed char* born, const long long* rank_end,
                                     unsigned long long* stats)
{
    unsigned int histogram[MAX_BINS];  // 32-bit: a thread counts at most its share of the slots
    for (int b = 0; b < MAX_BINS; ++b) {
        histogram[b] = 0u;
    }
    unsigned int deaths = 0u;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = thread_index(); i < n; i += stride) {
        if (proposal[i] == MOVE || proposal[i] == DIVIDE) {
            scratch[target[i]] = NO_CLAIM;
        }
        if (i == n - 1) {
            stats[STAT_BIRTHS] = (unsigned long long)rank_end[i];  // one thread: a plain store
        }
        if (born[i]) {
            const long long rank = rank_end[i] - 1;
            const long long d = n + rank;
            ids[d] = next_id + rank;
            cell_type[d] = cell_type[i];
            state[d] = T_PROLIFERATING;
            site[d] = target[i];
            state_age[d] = 0.0f + dt;  // born at 0, aged with everyone else
            cycle_clock[d] = 0.0f + dt;
            clone[d] = clone[i];
            partner[d] = -1;
            partner_site[d] = -1;
            heading[d] = -1;
            mesenchymal[d] = mesenchymal[i];
            vcam1[d] = vcam1[i];
            plxnb2[d] = plxnb2[i];
            division_boost[d] = division_boost[i];
            ligand_left[d] = ligand_left[i];
            receptors[d] = receptors[i];
            kills[d] = 0;
            occupancy[target[i]] = (int)d;
            histogram[cell_type[d] * max_states + T_PROLIFERATING] += 1u;
        }
        if (cell_type[i] == HOLE) {
            continue;
        }
        if (cell_type[i] == TUMOR && state[i] == T_APOPTOTIC && state_age[i] >= caspase_duration) {
            occupancy[site[i]] = -1;
            category[site[i]] = -1;
            cell_type[i] = HOLE;
            deaths += 1u;
            continue;
        }
        state_age[i] = state_age[i] + dt;
        cycle_clock[i] = cycle_clock[i] + dt;
        histogram[cell_type[i] * max_states + state[i]] += 1u;
    }
    if (deaths) {
        atomicAdd(stats + STAT_DEATHS, (unsigned long long)deaths);
    }
    for (int b = 0; b < n_bins && b < MAX_BINS; ++b) {
        if (histogram[b]) {
            atomicAdd(stats + STAT_HISTOGRAM + b, (unsigned long long)histogram[b]);
        }
    }
}

// Compaction (settle): the cell in slot i, not a hole, moves to slot rank_end[i] - 1 of the
// spare columns (order, and so id order, kept) and its site points there. Kept cells have
// distinct sites and distinct new slots; holes touch nothing.
extern "C" __global__ void fm_compact(long long n, const signed char* cell_type_in, const long long* rank_end,
                                      const long long* ids, const signed char* state, const long long* site,
                                      const float* state_age, const float* cycle_clock, const long long* clone,
                                      const long long* partner, const long long* partner_site,
                                      const signed char* heading, const signed char* mesenchymal,
                                      const signed char* vcam1, const signed char* plxnb2,
                                      const float* division_boost, const float* ligand_left, const float* receptors,
                                      const int* kills,
                                      long long* ids_out, signed char* cell_type_out, signed char* state_out,
                                      long long* site_out, float* state_age_out, float* cycle_clock_out,
                                      long long* clone_out, long long* partner_out, long long* partner_site_out,
                                      signed char* heading_out, signed char* mesenchymal_out,
                                      signed char* vcam1_out, signed char* plxnb2_out, float* division_boost_out,
                                      float* ligand_left_out, float* receptors_out, int* kills_out, int* occupancy)
{
    const long long i = thread_index();
    if (i >= n || cell_type_in[i] == HOLE) {
        return;
    }
    const long long d = rank_end[i] - 1;
    ids_out[d] = ids[i];
    cell_type_out[d] = cell_type_in[i];
    state_out[d] = state[i];
    site_out[d] = site[i];
    state_age_out[d] = state_age[i];
    cycle_clock_out[d] = cycle_clock[i];
    clone_out[d] = clone[i];
    partner_out[d] = partner[i];
    partner_site_out[d] = partner_site[i];
    heading_out[d] = heading[i];
    mesenchymal_out[d] = mesenchymal[i];
    vcam1_out[d] = vcam1[i];
    plxnb2_out[d] = plxnb2[i];
    division_boost_out[d] = division_boost[i];
    ligand_left_out[d] = ligand_left[i];
    receptors_out[d] = receptors[i];
    kills_out[d] = kills[i];
    occupancy[site[i]] = (int)d;
}
