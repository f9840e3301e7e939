/* backend.h - the device table: memory functions plus one function pointer per op.
 *
 * Eager, no graph (ggml's backend table, llm.c's kernel signatures). Every device implements
 * the same `struct backend_ops`; the model, PEFT and search code are written once against it.
 * Kernels take raw device pointers and int dimensions and trust their arguments: shape and
 * argument checks happen once, in the public tensor API (core/ops.h), which then dispatches
 * here. Kernels assert internal invariants (PF_ASSERT) but never report user errors.
 *
 * Argument order everywhere: outputs, caches, inputs, weights, dimensions, options.
 * Gradient convention (also in core/ops.h):
 *   - parameter gradients (dw, dbias, dtable, dgamma ...) ACCUMULATE (+=);
 *   - activation gradients (dinp, dq ...) are WRITTEN (=), except residual_backward and
 *     matmul_backward with accumulate != 0, which add (+=);
 *   - a NULL gradient pointer means "not wanted": no work is done for it (frozen weights).
 * Shapes use B batch, T sequence, C channels, N rows (= B*T), H heads, D head size. */
#ifndef PF_BACKEND_H
#define PF_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

enum gelu_kind { GELU_ERF = 0, GELU_TANH = 1 };

struct adamw_params {
    float lr;           /* learning rate of this step (after the schedule) */
    float beta1, beta2; /* moment decays, e.g. 0.9 and 0.999 */
    float eps;          /* added to sqrt(v_hat), e.g. 1e-8 */
    float weight_decay; /* decoupled: p -= lr * wd * p, applied before the Adam step */
    int step;           /* 1-based step count for bias correction */
};

struct backend;

struct backend_ops {
    /* ---- linear algebra ---- */
    /* out(M,N) = op(a) @ op(b) (+ bias(N)), op(a) is (M,K): a is (M,K) or, if trans_a, (K,M);
     * op(b) is (K,N): b is (K,N) or, if trans_b, (N,K) (a torch Linear weight is (N,K)). */
    void (*matmul_forward)(struct backend *, float *out, const float *a, const float *b,
                           const float *bias, int M, int N, int K, int trans_a, int trans_b);
    /* da (shaped like a) = or += (accumulate) dout @ op(b)^T; db += ; dbias += column sums. */
    void (*matmul_backward)(struct backend *, float *da, float *db, float *dbias,
                            const float *dout, const float *a, const float *b,
                            int M, int N, int K, int trans_a, int trans_b, int accumulate);

    /* ---- normalisation (rows of C) ---- */
    /* out = (x - mean) * rstd * w + b; caches mean(N), rstd(N). w, b may be NULL (no affine). */
    void (*layernorm_forward)(struct backend *, float *out, float *mean, float *rstd,
                              const float *inp, const float *w, const float *b, int N, int C,
                              float eps);
    void (*layernorm_backward)(struct backend *, float *dinp, float *dw, float *db,
                               const float *dout, const float *inp, const float *w,
                               const float *mean, const float *rstd, int N, int C);
    /* out = x * rstd * w with rstd = 1/sqrt(mean(x^2) + eps); caches rstd(N). */
    void (*rmsnorm_forward)(struct backend *, float *out, float *rstd, const float *inp,
                            const float *w, int N, int C, float eps);
    void (*rmsnorm_backward)(struct backend *, float *dinp, float *dw, const float *dout,
                             const float *inp, const float *w, const float *rstd, int N, int C);

    /* ---- elementwise activations over n elements ---- */
    void (*gelu_forward)(struct backend *, float *out, const float *inp, size_t n,
                         enum gelu_kind kind);
    void (*gelu_backward)(struct backend *, float *dinp, const float *dout, const float *inp,
                          size_t n, enum gelu_kind kind);
    void (*relu_forward)(struct backend *, float *out, const float *inp, size_t n);
    void (*relu_backward)(struct backend *, float *dinp, const float *dout, const float *inp,
                          size_t n);
    void (*silu_forward)(struct backend *, float *out, const float *inp, size_t n);
    void (*silu_backward)(struct backend *, float *dinp, const float *dout, const float *inp,
                          size_t n);
    /* tanh (BERT pooler, RoBERTa classifier); backward from the output: dinp = dout (1 - out^2). */
    void (*tanh_forward)(struct backend *, float *out, const float *inp, size_t n);
    void (*tanh_backward)(struct backend *, float *dinp, const float *dout, const float *out,
                          size_t n);
    /* out = silu(gate) * up (LLaMA MLP). */
    void (*swiglu_forward)(struct backend *, float *out, const float *gate, const float *up,
                           size_t n);
    void (*swiglu_backward)(struct backend *, float *dgate, float *dup, const float *dout,
                            const float *gate, const float *up, size_t n);
    /* out = a + b; backward: da += dout, db += dout. */
    void (*residual_forward)(struct backend *, float *out, const float *a, const float *b,
                             size_t n);
    void (*residual_backward)(struct backend *, float *da, float *db, const float *dout,
                              size_t n);

    /* ---- softmax over rows of C ---- */
    void (*softmax_forward)(struct backend *, float *out, const float *inp, int N, int C);
    void (*softmax_backward)(struct backend *, float *dinp, const float *dout, const float *out,
                             int N, int C);

    /* ---- attention ---- */
    /* Scaled dot-product attention, heads packed in the channel dim (HF layout):
     * q (B,T,H*D), k and v (B,T,KVH*D) with H % KVH == 0 (query head h reads kv head
     * h / (H/KVH)); key_mask (B,T) int32, 1 = attend, 0 = padding, or NULL; causal masks
     * keys after the query. Writes out (B,T,H*D) and the probabilities att (B,H,T,T).
     * A query row with no visible key gets zero probabilities and a zero output. */
    void (*attention_forward)(struct backend *, float *out, float *att, const float *q,
                              const float *k, const float *v, const int32_t *key_mask,
                              int B, int T, int H, int KVH, int D, int causal, float scale);
    /* dq =, dk =, dv = (summed over the query heads of each kv head); any of them may be
     * NULL; datt is scratch (B,H,T,T), contents on entry ignored, on exit unspecified; it may
     * be NULL when dq and dk are. causal must be the forward's: with it the kernel may skip
     * the keys after each query (att is 0 there) and leave that part of datt untouched. */
    void (*attention_backward)(struct backend *, float *dq, float *dk, float *dv, float *datt,
                               const float *dout, const float *q, const float *k, const float *v,
                               const float *att, int B, int T, int H, int KVH, int D,
                               int causal, float scale);

    /* ---- rotary position embedding (HF rotate_half convention) ---- */
    /* cos, sin: (P, D/2) tables (core/ops.h op_rope_tables); pos (B*T) int32 in [0, P).
     * For each head: out[i] = x[i]*cos - x[i+D/2]*sin, out[i+D/2] = x[i+D/2]*cos + x[i]*sin
     * for i < D/2. inp/out are (B*T, H*D); out may equal inp. */
    void (*rope_forward)(struct backend *, float *out, const float *inp, const float *cos,
                         const float *sin, const int32_t *pos, int N, int H, int D);
    void (*rope_backward)(struct backend *, float *dinp, const float *dout, const float *cos,
                          const float *sin, const int32_t *pos, int N, int H, int D);

    /* ---- embeddings ---- */
    /* out(N,C) = (accumulate ? out : 0) + table[ids[i]]; ids already range-checked. */
    void (*embedding_forward)(struct backend *, float *out, const int32_t *ids,
                              const float *table, int N, int C, int accumulate);
    /* dtable[ids[i]] += dout[i]. Deterministic: rows are summed in index order. */
    void (*embedding_backward)(struct backend *, float *dtable, const float *dout,
                               const int32_t *ids, int N, int C);

    /* ---- dropout with a counter-based mask (util/rng.h) ---- */
    /* Element i is kept iff rng_uniform_at(seed, offset + i) >= p, kept values scaled by
     * 1/(1-p). The mask is recomputed in backward, never stored. p in [0, 1). */
    void (*dropout_forward)(struct backend *, float *out, const float *inp, size_t n, float p,
                            uint64_t seed, uint64_t offset);
    void (*dropout_backward)(struct backend *, float *dinp, const float *dout, size_t n,
                             float p, uint64_t seed, uint64_t offset);

    /* ---- losses (mean reductions; *loss is a single float) ---- */
    /* Cross-entropy of logits (N,V) against targets (N), rows whose target equals
     * ignore_index are skipped; the mean is over the remaining rows (0 if none).
     * Caches lse(N) = logsumexp of each row. */
    void (*crossentropy_forward)(struct backend *, float *loss, float *lse, const float *logits,
                                 const int32_t *targets, int N, int V, int ignore_index);
    /* dlogits = dloss * (softmax - onehot) / n_valid; zero on ignored rows. dlogits may equal
     * logits (in place). */
    void (*crossentropy_backward)(struct backend *, float *dlogits, const float *logits,
                                  const float *lse, const int32_t *targets, int N, int V,
                                  int ignore_index, float dloss);
    /* loss = mean((pred - target)^2) over n elements. */
    void (*mse_forward)(struct backend *, float *loss, const float *pred, const float *target,
                        size_t n);
    void (*mse_backward)(struct backend *, float *dpred, const float *pred, const float *target,
                         size_t n, float dloss);

    /* ---- optimisation ---- */
    /* PyTorch AdamW: p *= 1 - lr*wd; m,v moments; p -= lr * m_hat / (sqrt(v_hat) + eps). */
    void (*adamw_update)(struct backend *, float *param, const float *grad, float *m, float *v,
                         size_t n, const struct adamw_params *hp);
    /* Sum of squares of n elements in double, summed in a fixed order (deterministic). */
    double (*sumsq)(struct backend *, const float *x, size_t n);
    /* x *= s */
    void (*scale)(struct backend *, float *x, size_t n, float s);
    /* x = 0 */
    void (*zero)(struct backend *, void *x, size_t bytes);
};

struct backend {
    const char *name; /* "cpu", "cuda:0" */
    int threads;      /* worker threads for kernels (CPU), informational on GPU */
    int host_visible; /* 1 when device pointers can be read by the host directly (CPU) */
    /* Device memory; alloc returns NULL on failure (never aborts). */
    void *(*alloc)(struct backend *, size_t bytes);
    void (*release)(struct backend *, void *p);
    /* Host <-> device copies of n bytes; on the CPU both are memcpy. */
    void (*upload)(struct backend *, void *dst_dev, const void *src_host, size_t n);
    void (*download)(struct backend *, void *dst_host, const void *src_dev, size_t n);
    void (*sync)(struct backend *);
    const struct backend_ops *ops;
    void *ctx; /* device private state (streams, handles, scratch) */
};

/* ---- registry (core/backend.c) ---- */

/* Open a backend by name: "cpu" or "cuda" / "cuda:N". threads <= 0 means "all cores".
 * Returns NULL with err set when the device is unknown or not built in this binary
 * (PF_ERR_UNSUPPORTED, naming the build option). The caller owns the result. */
struct backend *backend_open(const char *name, int threads, struct pf_err *err);

/* Close a backend opened by backend_open. backend_close(NULL) is a no-op. */
void backend_close(struct backend *be);

/* An arena allocator drawing device memory from `be` (for arena_init). */
struct arena_allocator backend_arena_allocator(struct backend *be);

/* Set the worker-thread count of the CPU kernels and of OpenBLAS together (n >= 1). */
void backend_cpu_set_threads(struct backend *be, int n);

/* One line describing the BLAS and threading in use ("OpenBLAS 0.3.21 ... openmp, 2 threads"). */
const char *backend_cpu_describe(struct backend *be, char *buf, size_t bufsz);

/* Nonzero when this binary contains the CUDA backend. */
int backend_have_cuda(void);

/* ---- CPU backend (core/cpu/backend_cpu.c) ---- */
struct backend *backend_cpu_new(int threads);

/* ---- CUDA backend (core/cuda/, or a stub when built without it) ---- */
struct backend *backend_cuda_new(int device, struct pf_err *err);

#endif
