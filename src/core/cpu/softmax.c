/* softmax.c - softmax over the rows of an (N, C) matrix on the CPU, forward and backward.
 *
 * Forward subtracts the row maximum and uses vm_expf so the loops vectorise; -inf entries get
 * exact zeros, and a row whose entries are all -inf gives zeros instead of NaN (NaN inputs
 * still propagate). Backward is dinp = out * (dout - sum(dout * out)). Rows are split among
 * threads with a static schedule and every row sum runs in a fixed lane order (independent of
 * buffer alignment), so results are bitwise reproducible. out may equal inp and dinp may
 * equal dout or out. Does not check shapes (core/ops_attention.c does); allocates nothing. */
#include <math.h>

#include "core/cpu/cpu_kernels.h"
#include "core/cpu/reduce.h"
#include "core/cpu/vmath.h"

void cpu_softmax_forward(struct backend *be, float *out, const float *inp, int N, int C) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C; /* (C) */
        float *y = out + (size_t)n * C;       /* (C) */
        float mx = reduce_max(x, C);
        if (mx == -INFINITY) {
            /* every entry is -inf (or NaN): zeros, but keep NaN visible */
#pragma omp simd
            for (int j = 0; j < C; j++)
                y[j] = x[j] == -INFINITY ? 0.0f : x[j];
            continue;
        }
#pragma omp simd
        for (int j = 0; j < C; j++)
            y[j] = x[j] == -INFINITY ? 0.0f : vm_expf(x[j] - mx);
        float inv = 1.0f / reduce_sum(y, C);
#pragma omp simd
        for (int j = 0; j < C; j++)
            y[j] *= inv;
    }
}

void cpu_softmax_backward(struct backend *be, float *dinp, const float *dout, const float *out,
                          int N, int C) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *g = dout + (size_t)n * C; /* (C) */
        const float *y = out + (size_t)n * C;  /* (C) */
        float *dx = dinp + (size_t)n * C;      /* (C) */
        float dot = reduce_dot(g, y, C);
#pragma omp simd
        for (int j = 0; j < C; j++)
            dx[j] = y[j] * (g[j] - dot);
    }
}
