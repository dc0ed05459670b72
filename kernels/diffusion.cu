// Diffusion-decay of a cytokine field; CUDA twin of diffusion.py.
//
// diffuse_axis: one implicit (backward Euler) LOD sweep along one axis, Thomas algorithm,
// one thread per line. Storage float32, arithmetic float64, one rounding per stored value:
// exactly the operations of solve_axis_numpy in the same order, so with --fmad=false the
// result is bit-identical to NumPy. Self-contained (no includes).
//
// The field is C-contiguous; the swept axis has length n and stride `inner` (the product of
// the lengths of the later axes). Line l starts at (l / inner) * n * inner + l % inner, so
// one kernel serves every axis of a 1D, 2D or 3D field.
extern "C" __global__ void diffuse_axis(float* field, long long n_lines, long long n,
                                        long long inner, const double* inv_denominator,
                                        const double* upper, double r, double boundary_inflow)
{
    const long long line = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (line >= n_lines) {
        return;
    }
    float* x = field + (line / inner) * (n * inner) + line % inner;
    const long long s = inner;
    if (boundary_inflow != 0.0) {  // fixed-value walls: r * boundary value enters at both ends
        x[0] = (float)((double)x[0] + boundary_inflow);
        x[(n - 1) * s] = (float)((double)x[(n - 1) * s] + boundary_inflow);
    }
    // Forward elimination; `previous` holds the stored (float32-rounded) value.
    float previous = (float)((double)x[0] * inv_denominator[0]);
    x[0] = previous;
    for (long long i = 1; i < n; ++i) {
        previous = (float)(((double)x[i * s] + r * (double)previous) * inv_denominator[i]);
        x[i * s] = previous;
    }
    // Back substitution.
    float next = previous;
    for (long long i = n - 2; i >= 0; --i) {
        next = (float)((double)x[i * s] + upper[i] * (double)next);
        x[i * s] = next;
    }
}

// c <- (c + secreted) * keep at each cell's site, in float32 like the NumPy twin
// (one cell per site, so no two threads write the same cell).
extern "C" __global__ void apply_sources_and_uptake(float* field, const long long* sites,
                                                    const float* secreted, const float* keep,
                                                    long long n)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    const long long site = sites[i];
    field[site] = (field[site] + secreted[i]) * keep[i];
}
