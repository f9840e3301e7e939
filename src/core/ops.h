/* ops.h - the public compute API: tensor in, tensor out, status back.
 *
 * Each op_* function checks its arguments once (non-NULL, dtype, same backend, shapes that
 * agree, values in range, sizes that fit the kernels' int dimensions) and then calls the
 * backend's kernel (core/backend.h). On a violation it does no work and returns
 * PF_ERR_ARG or PF_ERR_SHAPE with a message naming the op and the tensors with their shapes,
 * e.g. "layernorm_forward: w[8] has 8 elements, expected 12 to match inp[3,7,12]" (the
 * argument's role is printed only when the tensor is not named after it).
 *
 * Gradient convention: parameter gradients accumulate (+=); activation gradients are written
 * (=) unless the op says it accumulates (residual_backward, matmul_backward with
 * accumulate). Pass NULL for a gradient you do not want: no work is done for it.
 * "rows" of a tensor are all dimensions but the last (tensor_rows), "cols" the last one. */
#ifndef PF_OPS_H
#define PF_OPS_H

#include <stdint.h>

#include "core/backend.h"
#include "core/tensor.h"

/* ---- linear: out = op(a) @ op(b) + bias ---- */
/* a: rows x K (or, with trans_a, a 2-D (K, M)); b: (K, N), or (N, K) with trans_b
 * (a torch Linear weight); bias (N) or NULL; out: M x N with cols N and rows M. */
pf_status op_matmul_forward(struct backend *be, struct tensor *out, const struct tensor *a,
                            const struct tensor *b, const struct tensor *bias, int trans_a,
                            int trans_b, struct pf_err *err);
/* da (like a, = or += with accumulate), db (like b, +=), dbias (N, +=); each may be NULL. */
pf_status op_matmul_backward(struct backend *be, struct tensor *da, struct tensor *db,
                             struct tensor *dbias, const struct tensor *dout,
                             const struct tensor *a, const struct tensor *b, int trans_a,
                             int trans_b, int accumulate, struct pf_err *err);

/* out (M x N) += a (rows M x K) @ op(b), op(b) = b (K, N) or, with trans_b, b^T for b (N, K). */
pf_status op_matmul_acc(struct backend *be, struct tensor *out, const struct tensor *a,
                        const struct tensor *b, int trans_b, struct pf_err *err);

/* ---- normalisation over the last dimension C ---- */
/* mean, rstd: N = rows(inp) floats. w, b: (C) or NULL. eps > 0. */
pf_status op_layernorm_forward(struct backend *be, struct tensor *out, struct tensor *mean,
                               struct tensor *rstd, const struct tensor *inp,
                               const struct tensor *w, const struct tensor *b, float eps,
                               struct pf_err *err);
pf_status op_layernorm_backward(struct backend *be, struct tensor *dinp, struct tensor *dw,
                                struct tensor *db, const struct tensor *dout,
                                const struct tensor *inp, const struct tensor *w,
                                const struct tensor *mean, const struct tensor *rstd,
                                struct pf_err *err);
pf_status op_rmsnorm_forward(struct backend *be, struct tensor *out, struct tensor *rstd,
                             const struct tensor *inp, const struct tensor *w, float eps,
                             struct pf_err *err);
pf_status op_rmsnorm_backward(struct backend *be, struct tensor *dinp, struct tensor *dw,
                              const struct tensor *dout, const struct tensor *inp,
                              const struct tensor *w, const struct tensor *rstd,
                              struct pf_err *err);

/* ---- elementwise: all tensors the same element count ---- */
pf_status op_gelu_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          enum gelu_kind kind, struct pf_err *err);
pf_status op_gelu_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *inp, enum gelu_kind kind, struct pf_err *err);
pf_status op_relu_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          struct pf_err *err);
pf_status op_relu_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *inp, struct pf_err *err);
pf_status op_silu_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          struct pf_err *err);
pf_status op_silu_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *inp, struct pf_err *err);
/* tanh; the backward reads the forward's output (dinp = dout (1 - out^2)). */
pf_status op_tanh_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          struct pf_err *err);
pf_status op_tanh_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *out, struct pf_err *err);
pf_status op_swiglu_forward(struct backend *be, struct tensor *out, const struct tensor *gate,
                            const struct tensor *up, struct pf_err *err);
pf_status op_swiglu_backward(struct backend *be, struct tensor *dgate, struct tensor *dup,
                             const struct tensor *dout, const struct tensor *gate,
                             const struct tensor *up, struct pf_err *err);
pf_status op_residual_forward(struct backend *be, struct tensor *out, const struct tensor *a,
                              const struct tensor *b, struct pf_err *err);
/* da += dout, db += dout (either may be NULL). */
pf_status op_residual_backward(struct backend *be, struct tensor *da, struct tensor *db,
                               const struct tensor *dout, struct pf_err *err);

/* ---- softmax over the last dimension ---- */
pf_status op_softmax_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                             struct pf_err *err);
pf_status op_softmax_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                              const struct tensor *out, struct pf_err *err);

/* ---- multi-head scaled dot-product attention ---- */
/* q (B,T,H*D); k, v (B,T,KVH*D); key_mask (B,T) i32 of 0/1 or NULL; att (B,H,T,T) cache;
 * out (B,T,H*D). n_head % n_kv_head == 0, C % n_head == 0. Scale 1/sqrt(D). */
pf_status op_attention_forward(struct backend *be, struct tensor *out, struct tensor *att,
                               const struct tensor *q, const struct tensor *k,
                               const struct tensor *v, const struct tensor *key_mask,
                               int n_head, int n_kv_head, int causal, struct pf_err *err);
/* dq, dk, dv written (=), datt scratch shaped like att. causal as given to the forward
 * (nonzero: the masked upper triangle is skipped). */
pf_status op_attention_backward(struct backend *be, struct tensor *dq, struct tensor *dk,
                                struct tensor *dv, struct tensor *datt,
                                const struct tensor *dout, const struct tensor *q,
                                const struct tensor *k, const struct tensor *v,
                                const struct tensor *att, int n_head, int n_kv_head, int causal,
                                struct pf_err *err);

/* ---- rotary position embedding ---- */
/* Fill cos, sin (P, D/2) for positions 0..P-1 the way HF computes them in fp32:
 * inv_freq[i] = 1 / theta^(2i/D) (fp32), angle = (float)p * inv_freq[i] (fp32 product),
 * then cos/sin of that angle. Host-computed, uploaded to be. D even, theta > 0. */
pf_status op_rope_tables(struct backend *be, struct tensor *cos, struct tensor *sin, float theta,
                         struct pf_err *err);
/* inp/out (B,T,H*D) (out may be inp), pos (B,T) i32 in [0,P). */
pf_status op_rope_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                          const struct tensor *cos, const struct tensor *sin,
                          const struct tensor *pos, int n_head, struct pf_err *err);
pf_status op_rope_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                           const struct tensor *cos, const struct tensor *sin,
                           const struct tensor *pos, int n_head, struct pf_err *err);

/* ---- embeddings ---- */
/* out (..., C) = [out +] table(V, C)[ids]; ids i32 with numel = rows(out), each in [0, V):
 * an out-of-range id is PF_ERR_ARG naming its index and value (checked on the host). */
pf_status op_embedding_forward(struct backend *be, struct tensor *out, const struct tensor *ids,
                               const struct tensor *table, int accumulate, struct pf_err *err);
pf_status op_embedding_backward(struct backend *be, struct tensor *dtable,
                                const struct tensor *dout, const struct tensor *ids,
                                struct pf_err *err);

/* ---- dropout ---- */
/* p in [0,1); p == 0 copies. (seed, offset) select the mask; backward must use the same. */
pf_status op_dropout_forward(struct backend *be, struct tensor *out, const struct tensor *inp,
                             float p, uint64_t seed, uint64_t offset, struct pf_err *err);
pf_status op_dropout_backward(struct backend *be, struct tensor *dinp, const struct tensor *dout,
                              float p, uint64_t seed, uint64_t offset, struct pf_err *err);

/* ---- losses ---- */
/* logits (N,V) (rows x cols), targets i32 (N) each in [0,V) or == ignore_index,
 * lse (N) cache, *loss the mean over non-ignored rows. */
pf_status op_crossentropy_forward(struct backend *be, float *loss, struct tensor *lse,
                                  const struct tensor *logits, const struct tensor *targets,
                                  int ignore_index, struct pf_err *err);
pf_status op_crossentropy_backward(struct backend *be, struct tensor *dlogits,
                                   const struct tensor *logits, const struct tensor *lse,
                                   const struct tensor *targets, int ignore_index, float dloss,
                                   struct pf_err *err);
pf_status op_mse_forward(struct backend *be, float *loss, const struct tensor *pred,
                         const struct tensor *target, struct pf_err *err);
pf_status op_mse_backward(struct backend *be, struct tensor *dpred, const struct tensor *pred,
                          const struct tensor *target, float dloss, struct pf_err *err);

/* ---- optimisation (core/optim.c) ---- */
/* One AdamW step on param with grad and moments m, v (all the same numel, m/v start at 0). */
pf_status op_adamw_update(struct backend *be, struct tensor *param, const struct tensor *grad,
                          struct tensor *m, struct tensor *v, const struct adamw_params *hp,
                          struct pf_err *err);
/* Global L2 norm of n gradient tensors (deterministic order) into *norm. If max_norm > 0 and
 * the norm exceeds it, scale every gradient by max_norm / (norm + 1e-6) (torch's
 * clip_grad_norm_). A non-finite norm returns PF_ERR_NUMERIC and scales nothing. */
pf_status op_clip_grad_norm(struct backend *be, struct tensor *const *grads, int n,
                            float max_norm, double *norm, struct pf_err *err);
/* Linear warm-up from 0 to base over `warmup` steps, then linear decay to 0 at `total`
 * (HF get_linear_schedule_with_warmup). step is 0-based; returns the lr for that step. */
float sched_linear_warmup(int step, int warmup, int total, float base);

/* ---- utilities ---- */
pf_status op_zero(struct backend *be, struct tensor *t, struct pf_err *err);

#endif
