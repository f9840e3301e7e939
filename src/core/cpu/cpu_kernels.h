/* cpu_kernels.h - the CPU implementations behind struct backend_ops (core/backend.h).
 *
 * One file per op family under src/core/cpu/; the contracts (shapes, gradient convention,
 * determinism) are those of core/backend.h and are not repeated here. Every kernel is
 * deterministic for a given thread count: work is split by rows or columns with OpenMP
 * static schedules, and every reduction runs in a fixed order. Where a reduction crosses
 * rows (bias, gamma and embedding gradients) it is split by columns instead, so the result is
 * also independent of the thread count. */
#ifndef PF_CPU_KERNELS_H
#define PF_CPU_KERNELS_H

#include "core/backend.h"

/* matmul.c */
void cpu_matmul_forward(struct backend *, float *out, const float *a, const float *b,
                        const float *bias, int M, int N, int K, int trans_a, int trans_b);
void cpu_matmul_backward(struct backend *, float *da, float *db, float *dbias, const float *dout,
                         const float *a, const float *b, int M, int N, int K, int trans_a,
                         int trans_b, int accumulate);
/* Single sgemm entry point for every CPU kernel: C(M,N) = alpha op(A) op(B) + beta C with
 * leading dimensions, row-major. Counted by the GEMM timer (cpu_gemm_timer_*). */
void cpu_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* Bench support: when enabled, cpu_sgemm accumulates its wall time (seconds) and calls. */
void cpu_gemm_timer_enable(int on);
void cpu_gemm_timer_read(double *seconds, long *calls);
void cpu_gemm_timer_reset(void);

/* layernorm.c */
void cpu_layernorm_forward(struct backend *, float *out, float *mean, float *rstd,
                           const float *inp, const float *w, const float *b, int N, int C,
                           float eps);
void cpu_layernorm_backward(struct backend *, float *dinp, float *dw, float *db,
                            const float *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int N, int C);
/* rmsnorm.c */
void cpu_rmsnorm_forward(struct backend *, float *out, float *rstd, const float *inp,
                         const float *w, int N, int C, float eps);
void cpu_rmsnorm_backward(struct backend *, float *dinp, float *dw, const float *dout,
                          const float *inp, const float *w, const float *rstd, int N, int C);

/* activation.c */
void cpu_gelu_forward(struct backend *, float *out, const float *inp, size_t n,
                      enum gelu_kind kind);
void cpu_gelu_backward(struct backend *, float *dinp, const float *dout, const float *inp,
                       size_t n, enum gelu_kind kind);
void cpu_relu_forward(struct backend *, float *out, const float *inp, size_t n);
void cpu_relu_backward(struct backend *, float *dinp, const float *dout, const float *inp,
                       size_t n);
void cpu_tanh_forward(struct backend *, float *out, const float *inp, size_t n);
void cpu_tanh_backward(struct backend *, float *dinp, const float *dout, const float *out,
                       size_t n);
void cpu_silu_forward(struct backend *, float *out, const float *inp, size_t n);
void cpu_silu_backward(struct backend *, float *dinp, const float *dout, const float *inp,
                       size_t n);
void cpu_swiglu_forward(struct backend *, float *out, const float *gate, const float *up,
                        size_t n);
void cpu_swiglu_backward(struct backend *, float *dgate, float *dup, const float *dout,
                         const float *gate, const float *up, size_t n);
void cpu_residual_forward(struct backend *, float *out, const float *a, const float *b,
                          size_t n);
void cpu_residual_backward(struct backend *, float *da, float *db, const float *dout, size_t n);

/* dropout.c */
void cpu_dropout_forward(struct backend *, float *out, const float *inp, size_t n, float p,
                         uint64_t seed, uint64_t offset);
void cpu_dropout_backward(struct backend *, float *dinp, const float *dout, size_t n, float p,
                          uint64_t seed, uint64_t offset);

/* softmax.c */
void cpu_softmax_forward(struct backend *, float *out, const float *inp, int N, int C);
void cpu_softmax_backward(struct backend *, float *dinp, const float *dout, const float *out,
                          int N, int C);

/* attention.c */
void cpu_attention_forward(struct backend *, float *out, float *att, const float *q,
                           const float *k, const float *v, const int32_t *key_mask, int B, int T,
                           int H, int KVH, int D, int causal, float scale);
void cpu_attention_backward(struct backend *, float *dq, float *dk, float *dv, float *datt,
                            const float *dout, const float *q, const float *k, const float *v,
                            const float *att, int B, int T, int H, int KVH, int D, int causal,
                            float scale);

/* rope.c */
void cpu_rope_forward(struct backend *, float *out, const float *inp, const float *cos,
                      const float *sin, const int32_t *pos, int N, int H, int D);
void cpu_rope_backward(struct backend *, float *dinp, const float *dout, const float *cos,
                       const float *sin, const int32_t *pos, int N, int H, int D);

/* embedding.c */
void cpu_embedding_forward(struct backend *, float *out, const int32_t *ids, const float *table,
                           int N, int C, int accumulate);
void cpu_embedding_backward(struct backend *, float *dtable, const float *dout,
                            const int32_t *ids, int N, int C);

/* loss.c */
void cpu_crossentropy_forward(struct backend *, float *loss, float *lse, const float *logits,
                              const int32_t *targets, int N, int V, int ignore_index);
void cpu_crossentropy_backward(struct backend *, float *dlogits, const float *logits,
                               const float *lse, const int32_t *targets, int N, int V,
                               int ignore_index, float dloss);
void cpu_mse_forward(struct backend *, float *loss, const float *pred, const float *target,
                     size_t n);
void cpu_mse_backward(struct backend *, float *dpred, const float *pred, const float *target,
                      size_t n, float dloss);

/* adamw.c */
void cpu_adamw_update(struct backend *, float *param, const float *grad, float *m, float *v,
                      size_t n, const struct adamw_params *hp);
double cpu_sumsq(struct backend *, const float *x, size_t n);
void cpu_scale(struct backend *, float *x, size_t n, float s);
void cpu_zero(struct backend *, void *x, size_t bytes);

#endif
