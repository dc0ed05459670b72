// Neighbour scans on the occupancy lattice; CUDA twin of neighbours.py.
//
// The lattice is flat in C order, a 2D lattice (nx, ny) is passed as (nx, ny, 1). offsets is
// (n_offsets, 3) int64 in the fixed order of neighbour_offsets(); bit j of a mask is offsets[j].
// One thread per agent. Self-contained (no includes).

// counts: (n, n_types + 1) int32, masks: (n, n_types + 1) uint32, both fully written here.
// Column n_types stands for an empty site; sites outside the lattice count as nothing.
// slot_type values of occupied slots must lie in [0, n_types).
extern "C" __global__ void scan_neighbours(const int* occupancy, const signed char* slot_type,
                                           const long long* sites, long long n,
                                           long long nx, long long ny, long long nz,
                                           const long long* offsets, int n_offsets, int n_types,
                                           int* counts, unsigned int* masks)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    const long long width = (long long)n_types + 1;
    int* count_row = counts + i * width;
    unsigned int* mask_row = masks + i * width;
    for (long long k = 0; k < width; ++k) {
        count_row[k] = 0;
        mask_row[k] = 0u;
    }
    const long long site = sites[i];
    const long long z = site % nz;
    const long long y = (site / nz) % ny;
    const long long x = site / (ny * nz);
    for (int j = 0; j < n_offsets; ++j) {
        const long long qx = x + offsets[3 * j];
        const long long qy = y + offsets[3 * j + 1];
        const long long qz = z + offsets[3 * j + 2];
        if (qx < 0 || qx >= nx || qy < 0 || qy >= ny || qz < 0 || qz >= nz) {
            continue;
        }
        const int occupant = occupancy[(qx * ny + qy) * nz + qz];
        const long long kind = occupant >= 0 ? (long long)slot_type[occupant] : (long long)n_types;
        count_row[kind] += 1;
        mask_row[kind] |= 1u << j;
    }
}
