/* rope.c - placeholder until the kernels land (replaced by the real file). */
#include "core/cpu/cpu_kernels.h"

void cpu_rope_forward(struct backend *be, float *out, const float *inp, const float *cos,
                      const float *sin, const int32_t *pos, int N, int H, int D) {
    (void)be;
    (void)out;
    (void)inp;
    (void)cos;
    (void)sin;
    (void)pos;
    (void)N;
    (void)H;
    (void)D;
    PF_ASSERT(!"cpu_rope_forward not implemented");
}

void cpu_rope_backward(struct backend *be, float *dinp, const float *dout, const float *cos,
                       const float *sin, const int32_t *pos, int N, int H, int D) {
    (void)be;
    (void)dinp;
    (void)dout;
    (void)cos;
    (void)sin;
    (void)pos;
    (void)N;
    (void)H;
    (void)D;
    PF_ASSERT(!"cpu_rope_backward not implemented");
}
