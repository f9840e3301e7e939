/* attention.c - placeholder until the kernels land (replaced by the real file). */
#include "core/cpu/cpu_kernels.h"

void cpu_attention_forward(struct backend *be, float *out, float *att, const float *q,
                           const float *k, const float *v, const int32_t *key_mask, int B, int T,
                           int H, int KVH, int D, int causal, float scale) {
    (void)be;
    (void)out;
    (void)att;
    (void)q;
    (void)k;
    (void)v;
    (void)key_mask;
    (void)B;
    (void)T;
    (void)H;
    (void)KVH;
    (void)D;
    (void)causal;
    (void)scale;
    PF_ASSERT(!"cpu_attention_forward not implemented");
}

void cpu_attention_backward(struct backend *be, float *dq, float *dk, float *dv, float *datt,
                            const float *dout, const float *q, const float *k, const float *v,
                            const float *att, int B, int T, int H, int KVH, int D, float scale) {
    (void)be;
    (void)dq;
    (void)dk;
    (void)dv;
    (void)datt;
    (void)dout;
    (void)q;
    (void)k;
    (void)v;
    (void)att;
    (void)B;
    (void)T;
    (void)H;
    (void)KVH;
    (void)D;
    (void)scale;
    PF_ASSERT(!"cpu_attention_backward not implemented");
}
