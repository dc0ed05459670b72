// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11); CUDA twin of philox.py.
//
// counter = (id low 32 bits, id high 32 bits, step, purpose), key = (seed low, seed high).
// A draw is a pure function of (seed, step, purpose, id), so results do not depend on the
// launch configuration. Self-contained (no includes): compiles with NVRTC, nvcc and, through
// cuda_host_shim.h, with g++ for the CPU.

struct PhiloxWords {
    unsigned int w0, w1, w2, w3;
};

// The 10-round Philox4x32 bijection; other kernels may copy or include this function.
__device__ __forceinline__ PhiloxWords philox4x32_10(unsigned int c0, unsigned int c1,
                                                     unsigned int c2, unsigned int c3,
                                                     unsigned int k0, unsigned int k1)
{
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {  // key schedule: bump before every round but the first (mod 2**32)
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const unsigned int hi0 = __umulhi(0xD2511F53u, c0);
        const unsigned int lo0 = 0xD2511F53u * c0;
        const unsigned int hi1 = __umulhi(0xCD9E8D57u, c2);
        const unsigned int lo1 = 0xCD9E8D57u * c2;
        const unsigned int n0 = hi1 ^ c1 ^ k0;
        const unsigned int n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
    }
    PhiloxWords out = {c0, c1, c2, c3};
    return out;
}

// Four uint32 words for one agent id (the id is reinterpreted as unsigned 64 bits).
__device__ __forceinline__ PhiloxWords philox_words(unsigned int seed_lo, unsigned int seed_hi,
                                                    unsigned int step, unsigned int purpose,
                                                    long long id)
{
    const unsigned long long uid = (unsigned long long)id;
    return philox4x32_10((unsigned int)(uid & 0xFFFFFFFFull), (unsigned int)(uid >> 32),
                         step, purpose, seed_lo, seed_hi);
}

// out: (4, n) uint32, row-major (out[w * n + i] is word w of agent i), like draw_numpy.
extern "C" __global__ void philox_draw(const long long* ids, long long n,
                                       unsigned int seed_lo, unsigned int seed_hi,
                                       unsigned int step, unsigned int purpose,
                                       unsigned int* out)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    const PhiloxWords w = philox_words(seed_lo, seed_hi, step, purpose, ids[i]);
    out[i] = w.w0;
    out[n + i] = w.w1;
    out[2 * n + i] = w.w2;
    out[3 * n + i] = w.w3;
}
