/* rmsnorm.c - RMSNorm over rows of C on the CPU, forward and backward (LLaMA semantics:
 * out = x * rstd * w with rstd = 1/sqrt(mean(x^2) + eps), no mean subtraction, no bias).
 *
 * The mean of squares is accumulated in double. Rows are split among OpenMP threads; dw is
 * reduced by column chunks, each column summed in row order, so every result is bitwise
 * independent of the thread count. w may be NULL (no weight) in both directions. Does not
 * check arguments (core/ops_norm.c does) and allocates nothing. */
#include <math.h>
#include <stddef.h>

#include "core/cpu/cpu_kernels.h"
#include "core/cpu/reduce.h"

/* Below this many elements the work runs on the calling thread (team start-up costs more). */
enum { PAR_MIN = 16384 };
/* Columns per task of the dw reduction (two cache lines of each row). */
enum { COL_CHUNK = 32 };

void cpu_rmsnorm_forward(struct backend *be, float *out, float *rstd, const float *inp,
                         const float *w, int N, int C, float eps) {
    (void)be;
    int par = (size_t)N * (size_t)C >= PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float *o = out + (size_t)i * C;
        double s = reduce_dot_d(x, x, C);
        float r = (float)(1.0 / sqrt(s / C + (double)eps));
        if (w) {
#pragma omp simd
            for (int j = 0; j < C; j++)
                o[j] = x[j] * r * w[j];
        } else {
#pragma omp simd
            for (int j = 0; j < C; j++)
                o[j] = x[j] * r;
        }
        rstd[i] = r;
    }
}

/* dw[j] += sum_i dout[i,j] * x[i,j] * rstd[i], column chunks split among threads, each column
 * summed in row order in double. */
static void weight_grad(float *dw, const float *dout, const float *inp, const float *rstd,
                        int N, int C, int par) {
    int nchunks = (C + COL_CHUNK - 1) / COL_CHUNK;
#pragma omp parallel for schedule(static) if (par)
    for (int ch = 0; ch < nchunks; ch++) {
        int c0 = ch * COL_CHUNK, len = C - c0 < COL_CHUNK ? C - c0 : COL_CHUNK;
        double acc[COL_CHUNK];
        for (int j = 0; j < len; j++)
            acc[j] = 0.0;
        for (int i = 0; i < N; i++) {
            const float *x = inp + (size_t)i * C + c0, *g = dout + (size_t)i * C + c0;
            float r = rstd[i];
#pragma omp simd
            for (int j = 0; j < len; j++)
                acc[j] += (double)g[j] * (double)(x[j] * r);
        }
        for (int j = 0; j < len; j++)
            dw[c0 + j] += (float)acc[j];
    }
}

/* With d = dout * w: dinp = rstd * (d - x * rstd^2 * mean(d * x)). */
static void row_backward(float *dx, const float *g, const float *x, const float *w, int C,
                         float r) {
    double s = w ? reduce_dot3_d(g, w, x, C) : reduce_dot_d(g, x, C);
    float c = (float)((double)r * (double)r * s / C);
    if (w) {
#pragma omp simd
        for (int j = 0; j < C; j++)
            dx[j] = r * (g[j] * w[j] - x[j] * c);
    } else {
#pragma omp simd
        for (int j = 0; j < C; j++)
            dx[j] = r * (g[j] - x[j] * c);
    }
}

void cpu_rmsnorm_backward(struct backend *be, float *dinp, float *dw, const float *dout,
                          const float *inp, const float *w, const float *rstd, int N, int C) {
    (void)be;
    int par = (size_t)N * (size_t)C >= PAR_MIN;
    /* Weight gradient first: dinp may alias dout. */
    if (dw)
        weight_grad(dw, dout, inp, rstd, N, C, par);
    if (!dinp)
        return;
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < N; i++) {
        size_t o = (size_t)i * C;
        row_backward(dinp + o, dout + o, inp + o, w, C, rstd[i]);
    }
}
