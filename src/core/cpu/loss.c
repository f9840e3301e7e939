/* loss.c - placeholder until the kernels land (replaced by the real file). */
#include "core/cpu/cpu_kernels.h"

void cpu_crossentropy_forward(struct backend *be, float *loss, float *lse, const float *logits,
                              const int32_t *targets, int N, int V, int ignore_index) {
    (void)be;
    (void)loss;
    (void)lse;
    (void)logits;
    (void)targets;
    (void)N;
    (void)V;
    (void)ignore_index;
    PF_ASSERT(!"cpu_crossentropy_forward not implemented");
}

void cpu_crossentropy_backward(struct backend *be, float *dlogits, const float *logits,
                               const float *lse, const int32_t *targets, int N, int V,
                               int ignore_index, float dloss) {
    (void)be;
    (void)dlogits;
    (void)logits;
    (void)lse;
    (void)targets;
    (void)N;
    (void)V;
    (void)ignore_index;
    (void)dloss;
    PF_ASSERT(!"cpu_crossentropy_backward not implemented");
}

void cpu_mse_forward(struct backend *be, float *loss, const float *pred, const float *target,
                     size_t n) {
    (void)be;
    (void)loss;
    (void)pred;
    (void)target;
    (void)n;
    PF_ASSERT(!"cpu_mse_forward not implemented");
}

void cpu_mse_backward(struct backend *be, float *dpred, const float *pred, const float *target,
                      size_t n, float dloss) {
    (void)be;
    (void)dpred;
    (void)pred;
    (void)target;
    (void)n;
    (void)dloss;
    PF_ASSERT(!"cpu_mse_backward not implemented");
}
