/* embedding.c - table lookup on the CPU: out[i] = [out[i] +] table[ids[i]], and its
 * scatter-add backward dtable[ids[i]] += dout[i].
 * Does not check ids (core/ops_embedding.c range-checks them on the host first) and keeps no
 * state. The backward splits the C columns among threads and adds rows in index order, so it
 * is deterministic and independent of the thread count even when ids repeat. */
#include <omp.h>
#include <string.h>

#include "core/cpu/cpu_kernels.h"

/* Below this many floats of work a parallel region costs more than it saves. */
enum { EMB_PAR_MIN = 1 << 14 };

void cpu_embedding_forward(struct backend *be, float *out, const int32_t *ids, const float *table,
                           int N, int C, int accumulate) {
    (void)be;
    int par = (size_t)N * (size_t)C >= EMB_PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < N; i++) {
        const float *src = table + (size_t)ids[i] * C;
        float *dst = out + (size_t)i * C;
        if (accumulate) {
#pragma omp simd
            for (int j = 0; j < C; j++)
                dst[j] += src[j];
        } else {
            memcpy(dst, src, (size_t)C * sizeof(float));
        }
    }
}

void cpu_embedding_backward(struct backend *be, float *dtable, const float *dout,
                            const int32_t *ids, int N, int C) {
    (void)be;
    if (N <= 0 || C <= 0)
        return;
    /* One column chunk per thread, a multiple of 16 floats (a cache line) so that threads
     * seldom touch the same line. Each dtable element receives its additions in row order
     * i = 0..N-1 whatever the chunking, so every split gives the same bits. */
    int nt = omp_get_max_threads();
    int chunk = (C + nt - 1) / nt;
    chunk = (chunk + 15) / 16 * 16;
    int nchunks = (C + chunk - 1) / chunk;
    int par = nchunks > 1 && (size_t)N * (size_t)C >= EMB_PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int ch = 0; ch < nchunks; ch++) {
        int c0 = ch * chunk, c1 = c0 + chunk < C ? c0 + chunk : C;
        for (int i = 0; i < N; i++) {
            const float *src = dout + (size_t)i * C;
            float *dst = dtable + (size_t)ids[i] * C;
#pragma omp simd
            for (int j = c0; j < c1; j++)
                dst[j] += src[j];
        }
    }
}
