/* reduce.h - reductions in a fixed order, shared by the CPU kernels (internal).
 *
 * An `omp simd reduction` lets the compiler choose the summation order (it may peel the loop
 * for alignment), so its result can change with a buffer's address. These helpers fix the
 * order: REDUCE_LANES partial sums over consecutive blocks, the tail, then the lanes in
 * order. The inner loop is still one vector operation. Results depend only on the data. */
#ifndef PF_REDUCE_H
#define PF_REDUCE_H

#include <stddef.h>

enum { REDUCE_LANES = 16 };

/* sum(x[0..n)) in float, fixed order. */
static inline float reduce_sum(const float *x, int n) {
    float acc[REDUCE_LANES] = {0};
    int j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
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
        for (int l = 0; l < REDUCE_LANES; l++)
            acc[l] += x[j + l] * y[j + l];
    for (int l = 0; j < n; j++, l++)
        acc[l] += x[j] * y[j];
    float s = 0.0f;
    for (int l = 0; l < REDUCE_LANES; l++)
        s += acc[l];
    return s;
}

/* sum((a[i] - b[i])^2) over n elements in double, or sum(a[i]^2) when b is NULL. Threaded
 * over fixed 4096-element chunks whose partial sums are combined in chunk order, so the
 * result is independent of the thread count too (reduce.c). */
double reduce_sqdiff(const float *a, const float *b, size_t n);

#endif
