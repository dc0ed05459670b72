// Claim-then-resolve: the lowest 64-bit key on a target wins; CUDA twin of claims.py.
//
// Three kernels, launched in order on one stream (a kernel boundary is the grid-wide sync):
//   claims_min      scratch[target] = min(scratch[target], key)   (atomicMin, order-free)
//   claims_won      won = scratch[target] == key
//   claims_restore  scratch[target] = NO_CLAIM (all ones), ready for the next resolve
// scratch must hold NO_CLAIM everywhere on entry. Self-contained (no includes).

extern "C" __global__ void claims_min(const long long* targets, const unsigned long long* keys,
                                      long long n, unsigned long long* scratch)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    atomicMin(scratch + targets[i], keys[i]);
}

extern "C" __global__ void claims_won(const long long* targets, const unsigned long long* keys,
                                      long long n, const unsigned long long* scratch, bool* won)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    won[i] = scratch[targets[i]] == keys[i];
}

extern "C" __global__ void claims_restore(const long long* targets, long long n,
                                          unsigned long long* scratch)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    scratch[targets[i]] = ~0ull;
}
