/* activation.c - placeholder until the kernels land (replaced by the real file). */
#include "core/cpu/cpu_kernels.h"

void cpu_gelu_forward(struct backend *be, float *out, const float *inp, size_t n,
                      enum gelu_kind kind) {
    (void)be;
    (void)out;
    (void)inp;
    (void)n;
    (void)kind;
    PF_ASSERT(!"cpu_gelu_forward not implemented");
}

void cpu_gelu_backward(struct backend *be, float *dinp, const float *dout, const float *inp,
                       size_t n, enum gelu_kind kind) {
    (void)be;
    (void)dinp;
    (void)dout;
    (void)inp;
    (void)n;
    (void)kind;
    PF_ASSERT(!"cpu_gelu_backward not implemented");
}

void cpu_relu_forward(struct backend *be, float *out, const float *inp, size_t n) {
    (void)be;
    (void)out;
    (void)inp;
    (void)n;
    PF_ASSERT(!"cpu_relu_forward not implemented");
}

void cpu_relu_backward(struct backend *be, float *dinp, const float *dout, const float *inp,
                       size_t n) {
    (void)be;
    (void)dinp;
    (void)dout;
    (void)inp;
    (void)n;
    PF_ASSERT(!"cpu_relu_backward not implemented");
}

void cpu_silu_forward(struct backend *be, float *out, const float *inp, size_t n) {
    (void)be;
    (void)out;
    (void)inp;
    (void)n;
    PF_ASSERT(!"cpu_silu_forward not implemented");
}

void cpu_silu_backward(struct backend *be, float *dinp, const float *dout, const float *inp,
                       size_t n) {
    (void)be;
    (void)dinp;
    (void)dout;
    (void)inp;
    (void)n;
    PF_ASSERT(!"cpu_silu_backward not implemented");
}

void cpu_swiglu_forward(struct backend *be, float *out, const float *gate, const float *up,
                        size_t n) {
    (void)be;
    (void)out;
    (void)gate;
    (void)up;
    (void)n;
    PF_ASSERT(!"cpu_swiglu_forward not implemented");
}

void cpu_swiglu_backward(struct backend *be, float *dgate, float *dup, const float *dout,
                         const float *gate, const float *up, size_t n) {
    (void)be;
    (void)dgate;
    (void)dup;
    (void)dout;
    (void)gate;
    (void)up;
    (void)n;
    PF_ASSERT(!"cpu_swiglu_backward not implemented");
}

void cpu_residual_forward(struct backend *be, float *out, const float *a, const float *b,
                          size_t n) {
    (void)be;
    (void)out;
    (void)a;
    (void)b;
    (void)n;
    PF_ASSERT(!"cpu_residual_forward not implemented");
}

void cpu_residual_backward(struct backend *be, float *da, float *db, const float *dout, size_t n) {
    (void)be;
    (void)da;
    (void)db;
    (void)dout;
    (void)n;
    PF_ASSERT(!"cpu_residual_backward not implemented");
}
