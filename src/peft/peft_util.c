/* peft_util.c - the small host loops of peft_internal.h (rows of a batch, columns of a rank
 * or a hidden size). Reductions accumulate in double so that results do not depend on the
 * thread count. */
#include <stdlib.h>
#include <string.h>

#include "peft/peft_internal.h"
#include "util/xalloc.h"

void pu_scale_cols(float *y, int64_t rows, int n, const float *m, float c) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; i++)
        for (int j = 0; j < n; j++)
            y[i * n + j] *= c * m[j];
}

void pu_add_rows(float *y, int64_t rows, int n, const float *b, float c) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; i++)
        for (int j = 0; j < n; j++)
            y[i * n + j] += c * b[j];
}

void pu_colsum(const float *y, int64_t rows, int n, double *out) {
    for (int j = 0; j < n; j++)
        out[j] = 0.0;
    for (int64_t i = 0; i < rows; i++)
        for (int j = 0; j < n; j++)
            out[j] += y[i * n + j];
}

double pu_dot(const float *a, const float *b, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

void pu_coldot(const float *a, const float *b, int64_t rows, int n, double *out) {
    for (int64_t i = 0; i < rows; i++)
        for (int j = 0; j < n; j++)
            out[j] += (double)a[i * n + j] * b[i * n + j];
}

void pu_copy(float *dst, const float *src, int64_t n) {
    if (n > 0 && dst != src)
        memcpy(dst, src, (size_t)n * sizeof *dst);
}

void *pu_scratch(struct peft *p, size_t bytes, struct pf_err *err) {
    if (bytes <= p->scratch_bytes)
        return p->scratch;
    void *q = realloc(p->scratch, bytes);
    if (!q) {
        pf_err_set(err, PF_ERR_NOMEM, "peft: out of memory for %zu bytes of scratch", bytes);
        return NULL;
    }
    p->scratch = q;
    p->scratch_bytes = bytes;
    return q;
}
