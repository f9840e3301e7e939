/* adamw.c - the optimiser kernels on the CPU: one PyTorch-AdamW step over a flat parameter
 * buffer, and the sum of squares, scale and zero used by gradient clipping and resets.
 * Does not check hyper-parameters (core/optim.c does) and keeps no state: the moments live in
 * caller-owned buffers. sumsq adds fixed 4096-element chunks in double and combines the
 * partial sums in a fixed order, so its result does not depend on the thread count. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/cpu/cpu_kernels.h"
#include "core/cpu/reduce.h"

/* Below this many elements a parallel region costs more than it saves. */
enum { OPT_PAR_MIN = 1 << 15 };

void cpu_adamw_update(struct backend *be, float *param, const float *grad, float *m, float *v,
                      size_t n, const struct adamw_params *hp) {
    (void)be;
    /* Scalars as torch computes them: in double on the host, used as fp32 in the loop. */
    double lr = hp->lr, b1 = hp->beta1, b2 = hp->beta2;
    double bc1 = 1.0 - pow(b1, hp->step), bc2 = 1.0 - pow(b2, hp->step);
    const float decay = (float)(1.0 - lr * (double)hp->weight_decay);
    const float fb1 = hp->beta1, w1 = (float)(1.0 - b1);
    const float fb2 = hp->beta2, w2 = (float)(1.0 - b2);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float eps = hp->eps;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= OPT_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        float p = param[i] * decay;                /* decoupled weight decay first */
        float mi = fb1 * m[i] + w1 * g;
        float vi = fb2 * v[i] + w2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps; /* sqrt(v_hat) + eps */
        param[i] = p - step_size * (mi / denom);       /* lr * m_hat / denom */
    }
}

double cpu_sumsq(struct backend *be, const float *x, size_t n) {
    (void)be;
    return reduce_sqdiff(x, NULL, n);
}

void cpu_scale(struct backend *be, float *x, size_t n, float s) {
    (void)be;
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= OPT_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        x[i] *= s;
}

void cpu_zero(struct backend *be, void *x, size_t bytes) {
    (void)be;
    enum { ZCHUNK = 1 << 20 };
    if (bytes < 4 * (size_t)ZCHUNK) {
        if (bytes)
            memset(x, 0, bytes);
        return;
    }
    /* Large buffers: 1 MiB pieces in parallel (first touch also spreads the pages). */
    char *c = x;
    size_t npieces = (bytes + ZCHUNK - 1) / ZCHUNK;
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < npieces; k++) {
        size_t off = k * ZCHUNK, len = bytes - off < ZCHUNK ? bytes - off : ZCHUNK;
        memset(c + off, 0, len);
    }
}
