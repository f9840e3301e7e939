/* adamw.c - placeholder until the kernels land (replaced by the real file). */
#include "core/cpu/cpu_kernels.h"

void cpu_adamw_update(struct backend *be, float *param, const float *grad, float *m, float *v,
                      size_t n, const struct adamw_params *hp) {
    (void)be;
    (void)param;
    (void)grad;
    (void)m;
    (void)v;
    (void)n;
    (void)hp;
    PF_ASSERT(!"cpu_adamw_update not implemented");
}

double cpu_sumsq(struct backend *be, const float *x, size_t n) {
    (void)be;
    (void)x;
    (void)n;
    PF_ASSERT(!"cpu_sumsq not implemented");
    return 0.0;
}

void cpu_scale(struct backend *be, float *x, size_t n, float s) {
    (void)be;
    (void)x;
    (void)n;
    (void)s;
    PF_ASSERT(!"cpu_scale not implemented");
}

void cpu_zero(struct backend *be, void *x, size_t bytes) {
    (void)be;
    (void)x;
    (void)bytes;
    PF_ASSERT(!"cpu_zero not implemented");
}
