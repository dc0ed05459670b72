// How many items carry each small integer code: a histogram without a host round trip.
// NumPy twin: kernels/counts.py (count_codes_numpy). cupy.bincount is not used on the GPU: it
// reads the codes' maximum back to the host (a wait per call) and fails on an empty array.

extern "C" __global__ void count_codes(const long long* codes, long long n, long long n_bins,
                                       long long* counts)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    long long code = codes[i];
    if (code < 0 || code >= n_bins) return;  // callers guarantee the range (NumPy raises instead)
    atomicAdd((unsigned long long*)&counts[code], 1ULL);  // counts < 2^63: two's complement agrees
}
