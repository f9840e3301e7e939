/* reduce.c - the chunked, thread-count independent sum of squares of reduce.h. */
#include "core/cpu/reduce.h"

enum {
    SUM_CHUNK = 4096,     /* elements per chunk: the unit of the fixed order */
    SUM_MAX_PARTS = 256,  /* most partial sums (parts are whole numbers of chunks) */
    SUM_PAR_MIN = 1 << 15 /* below this a parallel region costs more than it saves */
};

/* Sum of squares of one chunk in double with REDUCE_LANES fixed lanes. */
static double chunk_sqdiff(const float *a, const float *b, size_t n) {
    double acc[REDUCE_LANES] = {0};
    size_t j = 0;
    for (; j + REDUCE_LANES <= n; j += REDUCE_LANES)
#pragma omp simd
        for (int l = 0; l < REDUCE_LANES; l++) {
            double d = (double)a[j + l] - (b ? (double)b[j + l] : 0.0);
            acc[l] += d * d;
        }
    for (int l = 0; j < n; j++, l++) {
        double d = (double)a[j] - (b ? (double)b[j] : 0.0);
        acc[l] += d * d;
    }
    double s = 0.0;
    for (int l = 0; l < REDUCE_LANES; l++)
        s += acc[l];
    return s;
}

double reduce_sqdiff(const float *a, const float *b, size_t n) {
    if (n == 0)
        return 0.0;
    /* Parts of `len` elements, a whole number of chunks: depends on n only. */
    size_t nchunks = (n + SUM_CHUNK - 1) / SUM_CHUNK;
    size_t len = (nchunks + SUM_MAX_PARTS - 1) / SUM_MAX_PARTS * SUM_CHUNK;
    int nparts = (int)((n + len - 1) / len);
    double part[SUM_MAX_PARTS];
#pragma omp parallel for schedule(static) if (n >= SUM_PAR_MIN)
    for (int p = 0; p < nparts; p++) {
        size_t end = (size_t)(p + 1) * len < n ? (size_t)(p + 1) * len : n;
        double ps = 0.0;
        for (size_t c0 = (size_t)p * len; c0 < end; c0 += SUM_CHUNK) {
            size_t c1 = c0 + SUM_CHUNK < end ? c0 + SUM_CHUNK : end;
            ps += chunk_sqdiff(a + c0, b ? b + c0 : NULL, c1 - c0);
        }
        part[p] = ps;
    }
    double sum = 0.0;
    for (int p = 0; p < nparts; p++)
        sum += part[p];
    return sum;
}
