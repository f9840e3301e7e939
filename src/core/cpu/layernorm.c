/* layernorm.c - LayerNorm over rows of C on the CPU, forward and backward (torch semantics:
 * biased variance, eps inside the square root, optional affine weight w and bias b).
 *
 * Row statistics are accumulated in double, shifted by the row's first element, so rows far
 * from zero (e.g. 100 +- 1) keep full fp32 accuracy; the output subtracts the mean as a float
 * pair (hi + lo) for the same reason. Rows are split among OpenMP threads; dw and db are
 * reduced by column chunks, each column summed in row order, so every result is bitwise
 * independent of the thread count. Does not check arguments (core/ops_norm.c does) and
 * allocates nothing. */
#include <math.h>
#include <stddef.h>

#include "core/cpu/cpu_kernels.h"
#include "core/cpu/reduce.h"

/* Below this many elements the work runs on the calling thread (team start-up costs more). */
enum { PAR_MIN = 16384 };
/* Columns per task of the dw/db reduction (two cache lines of each row). */
enum { COL_CHUNK = 32 };

/* mean and 1/sqrt(var + eps) of one row in one pass of double sums shifted by the row's
 * first element k: with d = x - k (exact in double for fp32 x), mean = k + S1/C and
 * var = S2/C - (S1/C)^2. The shift keeps S2/C within a small factor of var unless x[0] lies
 * thousands of standard deviations from the mean, and double leaves 29 bits of headroom
 * over fp32 for that cancellation. */
static void row_stats(const float *x, int C, double inv_c, float eps, double *mean,
                      double *rstd) {
    const double k = (double)x[0];
    double a1[REDUCE_LANES] = {0}, a2[REDUCE_LANES] = {0}; /* fixed-order lanes, reduce.h */
    int j = 0;
    for (; j + REDUCE_LANES <= C; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++) {
            double d = (double)x[j + l] - k;
            a1[l] += d;
            a2[l] += d * d;
        }
    for (int l = 0; j < C; j++, l++) {
        double d = (double)x[j] - k;
        a1[l] += d;
        a2[l] += d * d;
    }
    double s1 = reduce_fold_d(a1), s2 = reduce_fold_d(a2);
    double dm = s1 * inv_c;
    double var = s2 * inv_c - dm * dm;
    *mean = k + dm;
    *rstd = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)eps);
}

static void row_forward(float *o, const float *x, const float *w, const float *b, int C,
                        float mh, float ml, float r) {
    /* (x - mh) - ml is x - mean to about one float ulp of the deviation. */
    if (w && b) {
#pragma omp simd
        for (int j = 0; j < C; j++)
            o[j] = ((x[j] - mh) - ml) * r * w[j] + b[j];
    } else if (w) {
#pragma omp simd
        for (int j = 0; j < C; j++)
            o[j] = ((x[j] - mh) - ml) * r * w[j];
    } else if (b) {
#pragma omp simd
        for (int j = 0; j < C; j++)
            o[j] = ((x[j] - mh) - ml) * r + b[j];
    } else {
#pragma omp simd
        for (int j = 0; j < C; j++)
            o[j] = ((x[j] - mh) - ml) * r;
    }
}

void cpu_layernorm_forward(struct backend *be, float *out, float *mean, float *rstd,
                           const float *inp, const float *w, const float *b, int N, int C,
                           float eps) {
    (void)be;
    PF_ASSERT(N == 0 || C > 0); /* row_stats reads x[0] */
    int par = (size_t)N * (size_t)C >= PAR_MIN;
    const double inv_c = C > 0 ? 1.0 / C : 0.0;
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        double m, rs;
        row_stats(x, C, inv_c, eps, &m, &rs);
        float mh = (float)m, ml = (float)(m - (double)mh), r = (float)rs;
        row_forward(out + (size_t)i * C, x, w, b, C, mh, ml, r);
        mean[i] = mh;
        rstd[i] = r;
    }
}

/* dw[j] += sum_i dout[i,j] * xhat[i,j], db[j] += sum_i dout[i,j] (either may be NULL).
 * Column chunks are split among threads; each column is summed in row order in double. */
static void param_grads(float *dw, float *db, const float *dout, const float *inp,
                        const float *mean, const float *rstd, int N, int C, int par) {
    int nchunks = (C + COL_CHUNK - 1) / COL_CHUNK;
#pragma omp parallel for schedule(static) if (par)
    for (int ch = 0; ch < nchunks; ch++) {
        int c0 = ch * COL_CHUNK, len = C - c0 < COL_CHUNK ? C - c0 : COL_CHUNK;
        double aw[COL_CHUNK], ab[COL_CHUNK];
        for (int j = 0; j < len; j++) {
            aw[j] = 0.0;
            ab[j] = 0.0;
        }
        for (int i = 0; i < N; i++) {
            const float *x = inp + (size_t)i * C + c0, *g = dout + (size_t)i * C + c0;
            float mu = mean[i], r = rstd[i];
            if (dw) {
#pragma omp simd
                for (int j = 0; j < len; j++)
                    aw[j] += (double)g[j] * (double)((x[j] - mu) * r);
            }
            if (db) {
#pragma omp simd
                for (int j = 0; j < len; j++)
                    ab[j] += (double)g[j];
            }
        }
        for (int j = 0; j < len; j++) {
            if (dw)
                dw[c0 + j] += (float)aw[j];
            if (db)
                db[c0 + j] += (float)ab[j];
        }
    }
}

/* dinp = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * w. */
static void row_backward(float *dx, const float *g, const float *x, const float *w, int C,
                         float mu, float r) {
    /* dxhat = g * w (or g); s1 = sum(dxhat), s2 = sum(dxhat * xhat), fixed-order lanes */
    double a1[REDUCE_LANES] = {0}, a2[REDUCE_LANES] = {0};
    int i = 0;
    if (w) {
        for (; i + REDUCE_LANES <= C; i += REDUCE_LANES)
#pragma omp simd
            for (int l = 0; l < REDUCE_LANES; l++) {
                float xh = (x[i + l] - mu) * r, d = g[i + l] * w[i + l];
                a1[l] += (double)d;
                a2[l] += (double)d * (double)xh;
            }
    } else {
        for (; i + REDUCE_LANES <= C; i += REDUCE_LANES)
#pragma omp simd
            for (int l = 0; l < REDUCE_LANES; l++) {
                float xh = (x[i + l] - mu) * r;
                a1[l] += (double)g[i + l];
                a2[l] += (double)g[i + l] * (double)xh;
            }
    }
    for (int l = 0; i < C; i++, l++) {
        float xh = (x[i] - mu) * r, d = w ? g[i] * w[i] : g[i];
        a1[l] += (double)d;
        a2[l] += (double)d * (double)xh;
    }
    double s1 = reduce_fold_d(a1), s2 = reduce_fold_d(a2);
    float a = (float)(s1 / C), c = (float)(s2 / C);
    if (w) {
#pragma omp simd
        for (int j = 0; j < C; j++) {
            float xh = (x[j] - mu) * r;
            dx[j] = r * ((g[j] * w[j] - a) - xh * c);
        }
    } else {
#pragma omp simd
        for (int j = 0; j < C; j++) {
            float xh = (x[j] - mu) * r;
            dx[j] = r * ((g[j] - a) - xh * c);
        }
    }
}

void cpu_layernorm_backward(struct backend *be, float *dinp, float *dw, float *db,
                            const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int N, int C) {
    (void)be;
    int par = (size_t)N * (size_t)C >= PAR_MIN;
    /* Parameter gradients first: dinp may alias dout. */
    if (dw || db)
        param_grads(dw, db, dout, inp, mean, rstd, N, C, par);
    if (!dinp)
        return;
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < N; i++) {
        size_t o = (size_t)i * C;
        row_backward(dinp + o, dout + o, inp + o, w, C, mean[i], rstd[i]);
    }
}
