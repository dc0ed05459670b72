// Diffusion-decay of a cytokine field; CUDA twin of diffusion.py.
//
// diffuse_axis: one implicit (backward Euler) LOD sweep along one axis, Thomas algorithm,
// one thread per line (diffuse_axis_fields: the same for several fields in one launch). Storage float32, arithmetic float64, one rounding per stored value:
// exactly the operations of solve_axis_numpy in the same order, so with --fmad=false the
// result is bit-identical to NumPy. Self-contained (no includes).
//
// The field is C-contiguous; the swept axis has length n and stride `inner` (the product of
// the lengths of the later axes). Line l starts at (l / inner) * n * inner + l % inner, so
// one kernel serves every axis of a 1D, 2D or 3D field.
__device__ void sweep_line(float* x, long long n, long long s, const double* inv_denominator,
                           const double* upper, double r, double boundary_inflow)
{
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

extern "C" __global__ void diffuse_axis(float* field, long long n_lines, long long n,
                                        long long inner, const double* inv_denominator,
                                        const double* upper, double r, double boundary_inflow)
{
    const long long line = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (line >= n_lines) {
        return;
    }
    sweep_line(field + (line / inner) * (n * inner) + line % inner, n, inner, inv_denominator, upper,
               r, boundary_inflow);
}

// The same sweep along one axis of several fields of one shape in one launch (one thread per
// line of each field): `fields` holds the fields' addresses; field f's coefficients start at
// f * coefficient_stride, its r and inflow are r[f] and boundary_inflow[f].
extern "C" __global__ void diffuse_axis_fields(const unsigned long long* fields, long long n_fields,
                                               long long n_lines, long long n, long long inner,
                                               const double* inv_denominator, const double* upper,
                                               long long coefficient_stride, const double* r,
                                               const double* boundary_inflow)
{
    const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n_fields * n_lines) {
        return;
    }
    const long long f = t / n_lines;
    const long long line = t % n_lines;
    float* field = (float*)fields[f];
    sweep_line(field + (line / inner) * (n * inner) + line % inner, n, inner,
               inv_denominator + f * coefficient_stride, upper + f * coefficient_stride, r[f],
               boundary_inflow[f]);
}
