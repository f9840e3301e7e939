/* loss.c - mean-reduced losses on the CPU: cross-entropy over rows of logits (with
 * ignore_index and a cached logsumexp per row) and mean squared error, with their gradients.
 * Does not check targets or shapes (core/ops_loss.c does). Reductions are deterministic and
 * independent of the thread count: per-row losses are summed in double in row order, MSE in
 * fixed 4096-element chunks whose partial sums are combined in a fixed order. */
#include <math.h>
#include <string.h>

#include "core/cpu/cpu_kernels.h"
#include "core/cpu/reduce.h"
#include "core/cpu/reduce.h"
#include "core/cpu/vmath.h"
#include "util/xalloc.h"

/* Below this many floats of work a parallel region costs more than it saves. */
enum { LOSS_PAR_MIN = 1 << 15 };

/* ---- cross-entropy ---- */

/* logsumexp of one row in double: max, then the sum of e^(x - max) in double (one libm log
 * per row). A row of -inf only gives -inf; NaN propagates.
 * The exponentials go through a small fp32 block first: GCC 12 does not vectorise vm_expf
 * feeding a double reduction directly (it leaves the clamps as branches), which made this
 * loop ~8x slower; the two simple loops per block both vectorise. */
static double row_logsumexp(const float *x, int V) {
    enum { BLOCK = 256 };
    float mx = reduce_max(x, V);
    if (mx == -INFINITY)
        return -INFINITY;
    float e[BLOCK];
    double s = 0.0;
    for (int j0 = 0; j0 < V; j0 += BLOCK) {
        int nb = V - j0 < BLOCK ? V - j0 : BLOCK;
#pragma omp simd
        for (int j = 0; j < nb; j++)
            e[j] = vm_expf(x[j0 + j] - mx);
        s += reduce_sum_d(e, nb);
    }
    return (double)mx + log(s);
}

void cpu_crossentropy_forward(struct backend *be, float *loss, float *lse, const float *logits,
                              const int32_t *targets, int N, int V, int ignore_index) {
    (void)be;
    if (N <= 0) {
        *loss = 0.0f;
        return;
    }
    /* Per-row losses are kept in double (lse - logit loses digits in fp32 when the row is
     * confident), then summed in row order. */
    double *row = xmalloc((size_t)N * sizeof *row);
    int par = N > 1 && (size_t)N * (size_t)V >= LOSS_PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < N; i++) {
        const float *x = logits + (size_t)i * V;
        double l = row_logsumexp(x, V);
        lse[i] = (float)l;
        int t = targets[i];
        row[i] = t == ignore_index ? 0.0 : l - (double)x[t];
    }
    double sum = 0.0;
    int n_valid = 0;
    for (int i = 0; i < N; i++) {
        if (targets[i] == ignore_index)
            continue;
        sum += row[i];
        n_valid++;
    }
    xfree(row);
    *loss = n_valid ? (float)(sum / n_valid) : 0.0f;
}

void cpu_crossentropy_backward(struct backend *be, float *dlogits, const float *logits,
                               const float *lse, const int32_t *targets, int N, int V,
                               int ignore_index, float dloss) {
    (void)be;
    int n_valid = 0;
    for (int i = 0; i < N; i++)
        n_valid += targets[i] != ignore_index;
    float scale = n_valid ? (float)((double)dloss / n_valid) : 0.0f;
    int par = N > 1 && (size_t)N * (size_t)V >= LOSS_PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int i = 0; i < N; i++) {
        /* dlogits may be logits: element j is read before it is written, nothing else */
        const float *x = logits + (size_t)i * V;
        float *d = dlogits + (size_t)i * V;
        int t = targets[i];
        if (t == ignore_index) {
            memset(d, 0, (size_t)V * sizeof *d);
            continue;
        }
        float m = lse[i];
#pragma omp simd
        for (int j = 0; j < V; j++) {
            float p = vm_expf(x[j] - m);
            float onehot = j == t ? 1.0f : 0.0f;
            d[j] = scale * (p - onehot);
        }
    }
}

/* ---- mean squared error ---- */

void cpu_mse_forward(struct backend *be, float *loss, const float *pred, const float *target,
                     size_t n) {
    (void)be;
    *loss = n ? (float)(reduce_sqdiff(pred, target, n) / (double)n) : 0.0f;
}

void cpu_mse_backward(struct backend *be, float *dpred, const float *pred, const float *target,
                      size_t n, float dloss) {
    (void)be;
    if (n == 0)
        return;
    float s = (float)(2.0 * (double)dloss / (double)n);
#pragma omp parallel for simd schedule(simd : static) if (parallel : n >= LOSS_PAR_MIN)
    for (size_t i = 0; i < n; i++)
        dpred[i] = s * (pred[i] - target[i]);
}
