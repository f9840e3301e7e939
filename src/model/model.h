/* model.h - a pretrained transformer of a supported family, forward and backward.
 *
 * Families (model/hf_config.h): BERT and RoBERTa encoders (post-LN, learned absolute
 * positions, token types; RoBERTa's positions start after the padding index), GPT-2 (pre-LN,
 * fused c_attn split at load, Conv1D weights kept (in, out), tanh GELU, tied embeddings) and
 * LLaMA (RMSNorm, RoPE with rope_theta, SwiGLU, grouped-query attention, untied lm_head;
 * Mistral and Qwen2 configs of that shape too).
 *
 * Heads: sequence classification / regression (BERT pooler + classifier; RoBERTa
 * classifier.dense + out_proj on <s>; decoders `score` on the last non-padding token), the
 * masked-LM head (BERT/RoBERTa) and the causal LM head (decoders).
 *
 * Data flow of one step:
 *   model_forward(batch)   ids -> embeddings -> layers -> [final norm] -> hidden -> head
 *   model_backward(dh, dl) head -> ... -> embeddings: activation gradients always
 *                          (model_input_grad is dLoss/d(inputs_embeds)), weight gradients for the parameters
 *                          marked trainable only (the rest cost no weight-gradient GEMM).
 *
 * Parameters are registered under their HF state-dict names (model->params), which is how
 * the loader fills them (model_load.c) and how gradients and exports are named. */
#ifndef PF_MODEL_H
#define PF_MODEL_H

#include <stdint.h>

#include "core/tensor.h"
#include "model/block.h"
#include "model/hf_config.h"
#include "util/arena.h"

/* How an HF tensor maps onto the model's tensors. */
enum mp_layout {
    MP_WHOLE,    /* one tensor, same shape */
    MP_COLS3,    /* GPT-2 c_attn.weight (C, 3C): columns split into q, k, v (C, C) each */
    MP_ROWS3     /* GPT-2 c_attn.bias (3C): split into q, k, v (C) each */
};

struct model_param {
    char name[96];           /* HF name without the base prefix ("encoder.layer.0....") */
    int base;                /* 1: lives under the base prefix (bert./roberta./transformer./model.) */
    int head;                /* 1: a head parameter (may be absent from a checkpoint) */
    enum mp_layout layout;
    int ndim;
    int64_t shape[2];        /* the HF tensor's shape */
    int nparts;              /* 1, or 3 for the split layouts */
    struct tensor *part[3];  /* the model's tensors */
    struct tensor *grad[3];  /* their gradients (data NULL until made trainable) */
    int *trainable[3];       /* the flags the backward reads */
    int init;                /* how model_init_params fills it: 0 normal(0.02), 1 zeros, 2 ones */
    int loaded;              /* set by the loader: 1 read from the checkpoint, 0 initialised */
};

/* Tensors of the embedding and head parts, by role (absent ones have data == NULL). */
enum model_tensor {
    MT_WTE, MT_WPE, MT_WTT, MT_EMB_LN_W, MT_EMB_LN_B,   /* embeddings */
    MT_FINAL_W, MT_FINAL_B,                              /* ln_f / norm (decoders) */
    MT_POOL_W, MT_POOL_B, MT_CLS_W, MT_CLS_B,            /* seq-cls: dense, tanh, out */
    MT_MLM_W, MT_MLM_B, MT_MLM_LN_W, MT_MLM_LN_B, MT_MLM_BIAS, /* MLM transform + bias */
    MT_LM_W,                                             /* untied lm_head / decoder */
    MT_COUNT
};

struct model_batch {
    int B, T;
    const int32_t *ids;      /* B*T token ids (host) */
    const int32_t *mask;     /* B*T attention mask, 1 real / 0 padding (host), or NULL */
    const int32_t *type_ids; /* B*T token types (encoders, host), or NULL for zeros */
};

struct model;

/* Modules on the model's final norm: the embedding LayerNorm of encoders (BERT, RoBERTa),
 * ln_f / norm of decoders (GPT-2, LLaMA). Same contract as an additive block hook point
 * (block.h): forward right after the norm (x its input, y its output, changed in place),
 * backward after the norm's own backward, adding into dx and leaving dy alone. */
struct model_norm_hooks {
    void *ctx;
    int active;
    pf_status (*forward)(void *ctx, struct model *m, const struct tensor *x, struct tensor *y,
                         struct pf_err *err);
    pf_status (*backward)(void *ctx, struct model *m, const struct tensor *x,
                          const struct tensor *dy, struct tensor *dx, struct pf_err *err);
};

struct model {
    struct model_config cfg;
    struct backend *be;
    struct arena par;        /* parameters and gradients */
    struct arena act;        /* activations for the bound batch shape */
    int B, T;                /* bound batch shape (0 before the first forward) */
    unsigned *shared_acts;   /* per layer: the activations bound as one buffer for all layers
                                (block_transient_acts of that layer and of layer 0) */
    int n_labels;            /* output size of the seq-cls head */

    struct tensor t[MT_COUNT], g[MT_COUNT];
    int trainable[MT_COUNT];
    struct block *layers;
    int n_layers;

    int n_params;
    struct model_param *params;

    /* per-batch inputs, activations and backward scratch: carved from `act` for the bound
     * (B, T) and forgotten together when the shape changes */
    struct model_acts {
        struct tensor ids, pos, types, mask, pool_idx; /* i32 */
        struct tensor cos, sin;                         /* RoPE tables (P = T) */
        struct tensor emb, emb_out, emb_mean, emb_rstd; /* embedding sum and its LayerNorm */
        struct tensor fin, fin_mean, fin_rstd;          /* final norm output (decoders) */
        struct tensor pooled_in, pool_pre, pool_act;    /* seq-cls: gathered, dense, tanh */
        struct tensor mlm_pre, mlm_act, mlm_out, mlm_mean, mlm_rstd;
        struct tensor logits;                           /* (B, L) or (B, T, V) */
        /* d_top: encoders, the gradient of the embedding LayerNorm's output (what layer 0
         * writes); decoders, the gradient of the last layer's output (what the final norm
         * writes) */
        struct tensor d_hidden, d_emb, d_top, d_x[2];
        struct tensor d_pooled_in, d_pool_pre, d_pool_act;
        struct tensor d_mlm_pre, d_mlm_act, d_mlm_out;
    } a;
    int forwarded;
    struct model_norm_hooks final_hooks;
    int skip_input_grad;     /* 1: model_backward may skip the gradient below the first layer
                                when no embedding parameter is trainable (fine-tuning: the
                                frozen embeddings need none); model_input_grad is then
                                undefined. 0 (default): always computed. */
};

/* Build a model of cfg on be with parameters allocated (contents undefined until
 * model_init_params or the loader) and no gradients. head overrides cfg->head unless
 * it is -1; n_labels overrides cfg->num_labels unless 0. */
pf_status model_create(struct model *m, const struct model_config *cfg, struct backend *be,
                       int head, int n_labels, struct pf_err *err);
void model_free(struct model *m);

/* Fill every parameter (or, with only_missing, those the loader did not read) the HF way:
 * weights N(0, 0.02) from the Philox stream `seed`, biases 0, norm gains 1. */
void model_init_params(struct model *m, uint64_t seed, int only_missing);

/* The parameter registered under an HF name (with or without the base prefix), or NULL. */
struct model_param *model_find_param(struct model *m, const char *name);
/* "bert.", "roberta.", "transformer." or "model.". */
const char *model_base_prefix(enum model_family f);
/* Total number of parameter elements (tied tensors counted once). */
int64_t model_param_count(const struct model *m);

/* Mark parameter p trainable (allocating and zeroing its gradient) or frozen. */
pf_status model_set_trainable(struct model *m, struct model_param *p, int on, struct pf_err *err);
pf_status model_set_all_trainable(struct model *m, int on, struct pf_err *err);
/* Zero every gradient that exists. */
pf_status model_zero_grad(struct model *m, struct pf_err *err);

/* Forward one batch (inference: no dropout). Outputs: model_hidden (B,T,C), the
 * last_hidden_state of HF (after the final norm for decoders) and model_logits when the model
 * has a head. */
pf_status model_forward(struct model *m, const struct model_batch *b, struct pf_err *err);
const struct tensor *model_hidden(const struct model *m);
/* The head's output of the last forward (NULL without a head or a forward). */
const struct tensor *model_logits(const struct model *m);

/* Backward from dhidden (B,T,C) and/or dlogits (like model_logits); either may be NULL.
 * Afterwards model_input_grad is dLoss/d(inputs_embeds) and trainable gradients have been
 * accumulated. */
pf_status model_backward(struct model *m, const struct tensor *dhidden,
                         const struct tensor *dlogits, struct pf_err *err);
/* dLoss/d(inputs_embeds) (B,T,C) from the last backward: the gradient of the word-embedding
 * lookup's output, before positions and token types are added. */
const struct tensor *model_input_grad(const struct model *m);

/* Copy the gradient of an HF parameter, in the HF tensor's layout, into dst (numel floats). */
pf_status model_param_grad(const struct model *m, const struct model_param *p, float *dst,
                           struct pf_err *err);
/* Copy the value of an HF parameter in the HF layout into dst. */
pf_status model_param_value(const struct model *m, const struct model_param *p, float *dst,
                            struct pf_err *err);
/* Set an HF parameter from src in the HF layout (p->shape; GPT-2's c_attn is split). */
void model_param_set(struct model *m, struct model_param *p, const float *src);
/* Number of elements of an HF parameter. */
int64_t model_param_numel(const struct model_param *p);
/* The HF state-dict name of p, base prefix included ("bert.encoder.layer.0..."); returns buf. */
const char *model_param_full_name(const struct model *m, const struct model_param *p, char *buf,
                                  size_t n);
/* A fresh copy of p's value in the HF layout (*out, the caller frees it), or PF_ERR_NUMERIC
 * "NAME[i] is not finite: refusing to <verb>" (then *out is NULL): what writers of weights
 * use ("save", "export"). */
pf_status model_param_copy_finite(const struct model *m, const struct model_param *p,
                                  const char *verb, float **out, struct pf_err *err);

/* Every parameter of m, F32 under its HF name (base prefix included), as the safetensors file
 * `path` (written atomically, metadata format "pt"); a non-finite value is refused, the error
 * naming the parameter and `verb` ("export", "save"). */
pf_status model_save_safetensors(const struct model *m, const char *path, const char *verb,
                                 struct pf_err *err);

#endif
