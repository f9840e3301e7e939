/* block.h - one transformer layer on the core ops, in the three shapes of the supported
 * families (HF semantics, weights in the layout of the checkpoint):
 *
 *   BLOCK_POST_LN (BERT, RoBERTa)           BLOCK_PRE_LN (GPT-2) / BLOCK_PRE_RMS (LLaMA)
 *   q,k,v = x Wq + bq, ...                  n1 = Norm1(x);  q,k,v = n1 Wq + bq, ...
 *   a     = attention(q, k, v, mask)        [RoPE on q, k];  a = attention(q, k, v, mask)
 *   h1    = LN1(x + a Wo + bo)              r1 = x + a Wo + bo;  h1 = Norm2(r1)
 *   y     = LN2(h1 + FFN(h1))               y  = r1 + FFN(h1)
 *
 *   FFN_GELU:   FFN(h) = act(h W1 + b1) W2 + b2          (W1 = up / c_fc / intermediate)
 *   FFN_SWIGLU: FFN(h) = (silu(h Wg) * (h W1)) W2        (Wg = gate_proj, W1 = up_proj)
 *
 * "x W" is x W^T for torch Linear weights (out, in) and x W for GPT-2 Conv1D weights stored
 * (in, out) (w_in_out). Which parameters exist follows the dims (no LN biases under RMSNorm,
 * no q/k/v biases for LLaMA, a gate only with SwiGLU); block_has() tells.
 *
 * The block owns its parameters and gradients (block_init, from the parameter arena) and
 * carves its activations and backward scratch for one (B, T) from another arena
 * (block_bind), so that a model can rebind activations when the batch shape changes.
 * Weight gradients are computed only for parameters marked trainable: a frozen parameter
 * costs no weight-gradient GEMM. Every function returns pf_status; nothing aborts on input. */
#ifndef PF_BLOCK_H
#define PF_BLOCK_H

#include "core/backend.h"
#include "core/tensor.h"

enum block_param {
    BP_WQ, BP_BQ, BP_WK, BP_BK, BP_WV, BP_BV, BP_WO, BP_BO, BP_LN1_W, BP_LN1_B,
    BP_W1, BP_B1, BP_W2, BP_B2, BP_LN2_W, BP_LN2_B, BP_WG, BP_BG, BP_COUNT
};

enum block_act {
    BA_Q, BA_K, BA_V, BA_ATT, BA_ATTN, BA_O, BA_RES1, BA_LN1_MEAN, BA_LN1_RSTD, BA_H1,
    BA_F1, BA_G, BA_F2, BA_RES2, BA_LN2_MEAN, BA_LN2_RSTD, BA_Y, BA_N1, BA_FG, BA_COUNT
};

enum block_scratch {
    BS_DRES2, BS_DG, BS_DF1, BS_DH1, BS_DRES1, BS_DATTN, BS_DQ, BS_DK, BS_DV, BS_DATT,
    BS_DFG, BS_DN1,
    BS_DO, BS_DF2,  /* private copies of the sub-layer output gradients for hooks to rewrite */
    BS_COUNT
};

/* Hook points: where attached modules (src/peft/) read and change a layer's activations.
 *
 *   point        x (input)                    y (changed in place)
 *   BPT_Q/K/V    the projection's input       the projection's output (after bias)
 *   BPT_O        the attention context        the output projection (before the residual)
 *   BPT_UP/GATE  the FFN input                up / gate projection outputs (before the act.)
 *   BPT_DOWN     the FFN activation           the down projection output
 *   BPT_DOWN_IN  NULL                         the FFN activation (the down projection's input)
 *   BPT_CTX      q (after RoPE)               the attention context (before the o-proj)
 *   BPT_ATTN     the attention's input        the attention sub-layer output (after BPT_O)
 *   BPT_FFN      the FFN's input              the FFN sub-layer output (after BPT_DOWN)
 *   BPT_NORM1/2  the norm's input             the norm's output (attention / FFN norm)
 *
 * Forward: hook->forward(ctx, blk, p, x, y) right after the op that produced y.
 * Backward at BPT_CTX and BPT_NORM1/2 (additive points: the hook must leave dy alone) runs
 * after the op's own backward and adds its input gradient into dx. At every other point it
 * runs before the op's backward: it rewrites dy in place from the gradient of the hooked
 * output to that of the op's own output, and adds its input gradient into dx, which the
 * block has zeroed or filled before (the op's own backward then accumulates). dx is NULL
 * where no input gradient is wanted (BPT_DOWN_IN, or a layer without dx). */
enum block_point {
    BPT_Q, BPT_K, BPT_V, BPT_O, BPT_UP, BPT_GATE, BPT_DOWN, BPT_DOWN_IN, BPT_CTX, BPT_ATTN,
    BPT_FFN, BPT_NORM1, BPT_NORM2, BPT_COUNT
};

struct block;
struct block_hooks {
    void *ctx;
    unsigned points; /* bit (1u << p) for each point with something attached */
    pf_status (*forward)(void *ctx, struct block *blk, enum block_point p,
                         const struct tensor *x, struct tensor *y, struct pf_err *err);
    pf_status (*backward)(void *ctx, struct block *blk, enum block_point p,
                          const struct tensor *x, struct tensor *dy, struct tensor *dx,
                          struct pf_err *err);
};

enum block_style { BLOCK_POST_LN = 0, BLOCK_PRE_LN = 1, BLOCK_PRE_RMS = 2 };
enum block_ffn { FFN_GELU = 0, FFN_SWIGLU = 1 };

struct block_dims {
    int B, T, C, H, KVH, F; /* batch, sequence, hidden, heads, kv heads, FFN size */
    int D;                  /* head size; 0 means C / H */
    float ln_eps;           /* e.g. 1e-12 (BERT), 1e-5 (GPT-2), 1e-6 (LLaMA RMSNorm) */
    enum gelu_kind act;     /* FFN_GELU activation: GELU_ERF (BERT) or GELU_TANH (GPT-2) */
    enum block_style style;
    enum block_ffn ffn;
    int causal;             /* decoders: keys after the query are masked */
    int rope;               /* rotary embedding on q and k (block_set_rope gives the tables) */
    int no_qkv_bias;        /* LLaMA: q/k/v without bias (Qwen2 has them) */
    int no_o_bias;          /* LLaMA, Qwen2: o_proj without bias */
    int no_ffn_bias;        /* LLaMA: gate/up/down without bias */
    int w_in_out;           /* weights stored (in, out) (GPT-2 Conv1D) instead of (out, in) */
    int lazy_grads;         /* no gradient tensors at init: block_alloc_grad makes them */
};

struct block {
    struct block_dims d;
    struct backend *be;
    struct tensor p[BP_COUNT];     /* parameters (data NULL when absent, see block_has) */
    struct tensor g[BP_COUNT];     /* their gradients (accumulate) */
    int trainable[BP_COUNT];       /* 0: frozen, no gradient work */
    struct tensor a[BA_COUNT];     /* forward activations kept for backward */
    struct tensor s[BS_COUNT];     /* backward scratch */
    const struct tensor *x;        /* input of the last forward (borrowed) */
    const struct tensor *mask;     /* key mask of the last forward (borrowed, may be NULL) */
    const struct tensor *cos, *sin, *pos; /* RoPE tables and positions (borrowed) */
    struct block_hooks hooks;      /* attached modules (points == 0: none) */
};

/* Name of parameter i in HF BERT naming, relative to the layer ("attention.self.query.weight").
 * Models of other families map the indices to their own names. */
const char *block_param_name(enum block_param i);

/* Whether parameter i exists for dims d. */
int block_has(const struct block_dims *d, enum block_param i);

/* Shape of parameter i for dims d (ndim 1 or 2). Returns 0 when the parameter is absent. */
int block_param_shape(const struct block_dims *d, enum block_param i, int *ndim, int64_t s[2]);

/* Validate dims (without B and T when bind is 0) and carve parameters and gradients from ar.
 * All present parameters start trainable with zero gradients; block_init_params fills
 * weights. With bind set, activations for d->B x d->T are carved from the same arena. */
pf_status block_init(struct block *blk, struct arena *ar, struct backend *be,
                     const struct block_dims *d, struct pf_err *err);
pf_status block_init_params_only(struct block *blk, struct arena *ar, struct backend *be,
                                 const struct block_dims *d, struct pf_err *err);

/* Carve the gradient tensor of parameter i from ar if it has none yet (zeroed). */
pf_status block_alloc_grad(struct block *blk, struct arena *ar, enum block_param i,
                           struct pf_err *err);

/* Carve activations and scratch for a B x T batch from ar (replacing earlier ones). */
pf_status block_bind(struct block *blk, struct arena *ar, int B, int T, struct pf_err *err);
/* The same, but borrow the backward scratch of `donor` (bound to the same B x T and dims)
 * instead of carving new: layers of a model run their backward one at a time, so one set of
 * scratch serves them all (a 12-layer BERT-base batch saves ~1.2 GB). Activations with a bit
 * (1u << BA_*) in `share` are borrowed from the donor too: pass only activations that
 * block_transient_acts reports for both layers (the later forward overwrites them). */
pf_status block_bind_shared(struct block *blk, struct arena *ar, int B, int T,
                            const struct block *donor, unsigned share, struct pf_err *err);

/* Activations that the backward of this layer never reads, given its trainable flags and its
 * hook points: forward-only temporaries (the sub-layer outputs), and the inputs of linears
 * whose weights are frozen and unhooked (with LoRA on q and v only, a frozen BERT layer keeps
 * half as many activations). A bit per BA_*. */
unsigned block_transient_acts(const struct block *blk);

/* Weights ~ N(0, 0.02^2) from the Philox stream `seed`, biases 0, norm gains 1. */
void block_init_params(struct block *blk, uint64_t seed);

/* RoPE inputs for the next forward/backward: tables (P, D/2) and positions (B, T) i32. */
void block_set_rope(struct block *blk, const struct tensor *cos, const struct tensor *sin,
                    const struct tensor *pos);

/* Forward x (B,T,C) with key mask (B,T) i32 or NULL; the result is blk->a[BA_Y]. x, mask
 * and the RoPE inputs are borrowed until block_backward. */
pf_status block_forward(struct block *blk, const struct tensor *x, const struct tensor *mask,
                        struct pf_err *err);

/* Backward from dy (B,T,C): writes dx (B,T,C) if non-NULL and accumulates the gradients of
 * trainable parameters. Requires the activations of the last block_forward. */
pf_status block_backward(struct block *blk, const struct tensor *dy, struct tensor *dx,
                         struct pf_err *err);

/* Zero all parameter gradients. */
pf_status block_zero_grad(struct block *blk, struct pf_err *err);

#endif
