/* reduce.h - reductions in a fixed order, shared by the CPU kernels (internal).
 *
 * An `omp simd reduction` lets the compiler choose the summation order (it may peel the loop
 * for alignment), so its result can change with a buffer's address. These helpers fix the
 * order: REDUCE_LANES partial sums over consecutive blocks, the tail, then the lanes in
 * order. The inner loop is still one vector operation. Results depend only on the data. */
#ifndef PF_REDUCE_H
#define PF_REDUCE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

enum { REDUCE_LANES = 16 };

/* sum(x[0..n)) in float, fixed order. */
static inline float reduce_sum(const float *x, int n) {
    float acc[REDUCE_LANES] = {0};
    int j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] += x[j + l];
    for (int l = 0; j < n; j++, l++)
        acc[l] += x[j];
    float s = 0.0f;
    for (int l = 0; l < REDUCE_LANES; l++)
        s += acc[l];
    return s;
}

/* sum(x[j] * y[j]) in float, same order as reduce_sum. */
static inline float reduce_dot(const float *x, const float *y, int n) {
    float acc[REDUCE_LANES] = {0};
    int j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] += x[j + l] * y[j + l];
    for (int l = 0; j < n; j++, l++)
        acc[l] += x[j] * y[j];
    float s = 0.0f;
    for (int l = 0; l < REDUCE_LANES; l++)
        s += acc[l];
    return s;
}

/* max(x[0..n)) ignoring NaN (-inf for n == 0), in lanes: an elementwise select that both GCC
 * and clang vectorise without fast-math, unlike an `omp simd reduction(max)`. */
static inline float reduce_max(const float *x, int n) {
    float acc[REDUCE_LANES];
    for (int l = 0; l < REDUCE_LANES; l++)
        acc[l] = -INFINITY;
    int j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
    for (int l = 0; j < n; j++, l++)
        acc[l] = x[j] > acc[l] ? x[j] : acc[l];
    float m = -INFINITY;
    for (int l = 0; l < REDUCE_LANES; l++)
        m = acc[l] > m ? acc[l] : m;
    return m;
}

/* max of x[j] over the j < n with mask[j] != 0 (-inf if none), and that count in *count. */
static inline float reduce_max_masked(const float *x, const int32_t *mask, int n, int *count) {
    float acc[REDUCE_LANES];
    int cnt[REDUCE_LANES];
    for (int l = 0; l < REDUCE_LANES; l++) {
        acc[l] = -INFINITY;
        cnt[l] = 0;
    }
    int j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++) {
            float v = mask[j + l] ? x[j + l] : -INFINITY;
            acc[l] = v > acc[l] ? v : acc[l];
            cnt[l] += mask[j + l] != 0;
        }
    for (int l = 0; j < n; j++, l++) {
        float v = mask[j] ? x[j] : -INFINITY;
        acc[l] = v > acc[l] ? v : acc[l];
        cnt[l] += mask[j] != 0;
    }
    float m = -INFINITY;
    int c = 0;
    for (int l = 0; l < REDUCE_LANES; l++) {
        m = acc[l] > m ? acc[l] : m;
        c += cnt[l];
    }
    *count = c;
    return m;
}

/* Fold REDUCE_LANES double partial sums in lane order. */
static inline double reduce_fold_d(const double *acc) {
    double s = 0.0;
    for (int l = 0; l < REDUCE_LANES; l++)
        s += acc[l];
    return s;
}

/* sum(x[j]) in double, fixed order. */
static inline double reduce_sum_d(const float *x, int n) {
    double acc[REDUCE_LANES] = {0};
    int j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] += (double)x[j + l];
    for (int l = 0; j < n; j++, l++)
        acc[l] += (double)x[j];
    return reduce_fold_d(acc);
}

/* sum(x[j] * y[j]) in double (products of the fp32 values), fixed order. */
static inline double reduce_dot_d(const float *x, const float *y, int n) {
    double acc[REDUCE_LANES] = {0};
    int j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] += (double)x[j + l] * (double)y[j + l];
    for (int l = 0; j < n; j++, l++)
        acc[l] += (double)x[j] * (double)y[j];
    return reduce_fold_d(acc);
}

/* sum((x[j] * w[j]) * y[j]): the fp32 product x*w, then times y in double, fixed order. */
static inline double reduce_dot3_d(const float *x, const float *w, const float *y, int n) {
    double acc[REDUCE_LANES] = {0};
    int j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] += (double)(x[j + l] * w[j + l]) * (double)y[j + l];
    for (int l = 0; j < n; j++, l++)
        acc[l] += (double)(x[j] * w[j]) * (double)y[j];
    return reduce_fold_d(acc);
}

/* sum((a[i] - b[i])^2) over n elements in double, or sum(a[i]^2) when b is NULL. Threaded
 * over fixed 4096-element chunks whose partial sums are combined in chunk order, so the
 * result is independent of the thread count too (reduce.c). */
double reduce_sqdiff(const float *a, const float *b, size_t n);

#endif
