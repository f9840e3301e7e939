/* dropout.c - placeholder until the kernels land (replaced by the real file). */
#include "core/cpu/cpu_kernels.h"

void cpu_dropout_forward(struct backend *be, float *out, const float *inp, size_t n, float p,
                         uint64_t seed, uint64_t offset) {
    (void)be;
    (void)out;
    (void)inp;
    (void)n;
    (void)p;
    (void)seed;
    (void)offset;
    PF_ASSERT(!"cpu_dropout_forward not implemented");
}

void cpu_dropout_backward(struct backend *be, float *dinp, const float *dout, size_t n, float p,
                          uint64_t seed, uint64_t offset) {
    (void)be;
    (void)dinp;
    (void)dout;
    (void)n;
    (void)p;
    (void)seed;
    (void)offset;
    PF_ASSERT(!"cpu_dropout_backward not implemented");
}
