/* block.h - one post-LN transformer encoder layer (BERT/RoBERTa shape) on the core ops.
 *
 *   q,k,v = x Wq^T + bq, ...          (B,T,C), weights in torch Linear layout (out, in)
 *   a     = attention(q, k, v, mask)   (B,T,C), heads H, kv heads KVH
 *   h1    = LayerNorm1(x + a Wo^T + bo)
 *   y     = LayerNorm2(h1 + GELU(h1 W1^T + b1) W2^T + b2)
 *
 * The block owns its parameters, gradients, activations and backward scratch, all carved
 * from one arena at block_init (llm.c's size tables). It is the unit the benchmarks time and
 * the building block the checkpoint loaders (a later module) assemble into BERT/RoBERTa.
 * Weight gradients are computed only for parameters marked trainable: a frozen parameter
 * costs no weight-gradient GEMM. Every function returns pf_status; nothing aborts on input. */
#ifndef PF_BLOCK_H
#define PF_BLOCK_H

#include "core/backend.h"
#include "core/tensor.h"

enum block_param {
    BP_WQ, BP_BQ, BP_WK, BP_BK, BP_WV, BP_BV, BP_WO, BP_BO, BP_LN1_W, BP_LN1_B,
    BP_W1, BP_B1, BP_W2, BP_B2, BP_LN2_W, BP_LN2_B, BP_COUNT
};

enum block_act {
    BA_Q, BA_K, BA_V, BA_ATT, BA_ATTN, BA_O, BA_RES1, BA_LN1_MEAN, BA_LN1_RSTD, BA_H1,
    BA_F1, BA_G, BA_F2, BA_RES2, BA_LN2_MEAN, BA_LN2_RSTD, BA_Y, BA_COUNT
};

enum block_scratch {
    BS_DRES2, BS_DG, BS_DF1, BS_DH1, BS_DRES1, BS_DATTN, BS_DQ, BS_DK, BS_DV, BS_DATT,
    BS_COUNT
};

struct block_dims {
    int B, T, C, H, KVH, F; /* batch, sequence, hidden, heads, kv heads, FFN size */
    float ln_eps;           /* e.g. 1e-12 (BERT) */
    enum gelu_kind act;
};

struct block {
    struct block_dims d;
    struct backend *be;
    struct tensor p[BP_COUNT];     /* parameters */
    struct tensor g[BP_COUNT];     /* their gradients (accumulate) */
    int trainable[BP_COUNT];       /* 0: frozen, no gradient work */
    struct tensor a[BA_COUNT];     /* forward activations kept for backward */
    struct tensor s[BS_COUNT];     /* backward scratch */
    const struct tensor *x;        /* input of the last forward (borrowed) */
    const struct tensor *mask;     /* key mask of the last forward (borrowed, may be NULL) */
};

/* Name of parameter i in HF BERT naming, relative to the layer ("attention.self.query.weight"). */
const char *block_param_name(enum block_param i);

/* Validate dims and carve every tensor from ar on be. All parameters start trainable, with
 * zero gradients; call block_init_params to fill the weights. */
pf_status block_init(struct block *blk, struct arena *ar, struct backend *be,
                     const struct block_dims *d, struct pf_err *err);

/* Weights ~ N(0, 0.02^2) from the Philox stream `seed`, biases 0, LayerNorm gains 1. */
void block_init_params(struct block *blk, uint64_t seed);

/* Forward x (B,T,C) with key mask (B,T) i32 or NULL; the result is blk->a[BA_Y]. x and mask
 * are borrowed until block_backward. */
pf_status block_forward(struct block *blk, const struct tensor *x, const struct tensor *mask,
                        struct pf_err *err);

/* Backward from dy (B,T,C): writes dx (B,T,C) if non-NULL and accumulates the gradients of
 * trainable parameters. Requires the activations of the last block_forward. */
pf_status block_backward(struct block *blk, const struct tensor *dy, struct tensor *dx,
                         struct pf_err *err);

/* Zero all parameter gradients. */
pf_status block_zero_grad(struct block *blk, struct pf_err *err);

#endif
