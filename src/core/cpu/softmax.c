/* softmax.c - placeholder until the kernels land (replaced by the real file). */
#include "core/cpu/cpu_kernels.h"

void cpu_softmax_forward(struct backend *be, float *out, const float *inp, int N, int C) {
    (void)be;
    (void)out;
    (void)inp;
    (void)N;
    (void)C;
    PF_ASSERT(!"cpu_softmax_forward not implemented");
}

void cpu_softmax_backward(struct backend *be, float *dinp, const float *dout, const float *out,
                          int N, int C) {
    (void)be;
    (void)dinp;
    (void)dout;
    (void)out;
    (void)N;
    (void)C;
    PF_ASSERT(!"cpu_softmax_backward not implemented");
}
