/* peft.h - PEFT modules attached to a frozen (or not) model: LoRA, the low-rank adapter (LRA),
 * serial and parallel bottleneck adapters, BitFit, LN-tuning, prefix tuning and (IA)^3.
 *
 * A `struct peft` owns a list of modules, each at one (layer, target) of a model, and
 * attaches them through the layers' hook points (model/block.h). Every module:
 *   - has its parameters (and their gradients) in the peft's own arena, named
 *     "layers.<l>.<kind>.<target>.<tensor>" (the native adapter file uses these names);
 *   - multiplies its output by a scalar gate (1 by default) and accumulates dLoss/dgate in
 *     dgate during backward (the search's binary weights drive the gates);
 *   - for the matrix kinds (LoRA, LRA, adapters, prefix), is stored at r_max and runs under a
 *     rank mask m[0..r_max): m_j multiplies component j of the r-dimensional intermediate
 *     (prefix: the weight of prefix position j in the softmax). By default m_j = (j < rank),
 *     i.e. a module stored at rank 8 runs at rank 1 or 4 by changing `rank`; the search sets
 *     arbitrary masks with peft_set_mask and reads dLoss/dm_j from drmask;
 *   - has an exact parameter count at every rank (peft_param_count), biases included.
 *
 * Module maths (x: the hook point's input, y: its output, g: the gate, m: the rank mask):
 *   lora     y += g s ((drop(x) A^T) . m) B^T       A (r, in), B (out, r); s = alpha/rank or 1
 *   lra      y += g (gelu(((z D1^T) . m) D2^T + db) U1^T . m) U2^T + g ub   z = y (serial)
 *            D1 (r, C), D2 (w, r), db (w), U1 (r, w), U2 (C, r), ub (C); w = C / reduction
 *   serial   y += g (gelu((z Wd^T + bd) . m) Wu^T + bu)   z = y before the adapter
 *   parallel y += g (gelu((x Wd^T + bd) . m) Wu^T + bu)   x = the sub-layer input
 *            Wd (r, C), bd (r), Wu (C, r), bu (C)
 *   bitfit   y += g b
 *   ln       y += g w . xhat       xhat = the norm's input normalised (no gain, no bias)
 *   ia3      y  = y . (1 + g l)    l (the delta from the identity) starts at 0
 *   prefix   ctx += g lambda softmax_m(q Pk^T / sqrt(D)) Pv   per head, a softmax of its own
 *            [Pk Pv] = tanh(E We^T + be) Wp^T + bp   E (r, C), We (h, C), be (h),
 *            Wp (2 KV, h), bp (2 KV), lambda (1, starts at 0); h = the MLP width
 *
 * Ownership: peft_attach borrows the model until peft_free; the model must outlive it. */
#ifndef PF_PEFT_H
#define PF_PEFT_H

#include <stdint.h>

#include "core/tensor.h"
#include "model/block.h"
#include "peft/peft_kind.h"
#include "util/arena.h"

struct model;

#define PEFT_MAX_T 8    /* parameter tensors per module */
#define PEFT_MAX_A 10   /* per-batch activations per module */
#define PEFT_MAX_RANK 1024

/* What one module is: enough to rebuild it (structure files, exports). */
struct peft_spec {
    enum cfg_kind kind;
    enum cfg_target target;
    int layer;          /* -1 for target final_ln (the model's final norm: the embedding
                           LayerNorm of encoders, ln_f / norm of decoders) */
    int r_max;          /* stored rank / bottleneck / prefix length (0: vector kinds) */
    int rank;           /* active rank, 1..r_max (vector kinds: 0) */
    float alpha;        /* lora: scale alpha / rank; 0 = no scaling (scale 1) */
    float dropout;      /* lora: dropout on the LoRA input while training, [0, 1) */
    int width;          /* lra: adapter width; prefix: MLP width (0: default C / 32) */
};

struct peft_module {
    struct peft_spec s;
    int index;                      /* position in peft->mod */
    int in, out;                    /* dims at the hook point */
    enum block_point point;
    float gate;                     /* output multiplier, default 1 */
    int off;                        /* 1: skipped in forward and backward, which is what gate 0
                                       computes, at no cost (the search's pruned modules) */
    double dgate;                   /* accumulated dLoss/dgate */
    float *mask;                    /* r_max entries: the rank mask in use */
    double *dmask;                  /* r_max entries: accumulated dLoss/dmask */
    int custom_mask;                /* 1: set by peft_set_mask, not derived from rank */
    int n_t;
    struct tensor t[PEFT_MAX_T];    /* parameters */
    struct tensor g[PEFT_MAX_T];    /* their gradients (accumulate) */
    const char *tname[PEFT_MAX_T];  /* "lora_A", ... */
    struct tensor a[PEFT_MAX_A];    /* activations of the last forward (per batch shape) */
    uint64_t drop_offset;           /* dropout stream position of the last forward */
};

struct peft {
    struct model *model;            /* borrowed */
    struct backend *be;
    struct arena par;               /* module parameters and gradients */
    struct arena act;               /* per-batch activations */
    int n, cap;
    struct peft_module *mod;
    int B, T;                       /* bound batch shape */
    int training;                   /* dropout on (peft_set_training) */
    uint64_t seed;                  /* dropout stream */
    uint64_t step;                  /* advanced by peft_next_step */
    /* per layer and point: module indices in forward order */
    int *at;                        /* n_layers * BPT_COUNT * PEFT_PER_POINT, -1 = none */
    int final_at[4];                /* modules on the final norm (PEFT_PER_POINT), -1 = none */
    int n_layers;
    void *scratch;                  /* host scratch for the prefix and reductions */
    size_t scratch_bytes;
};

#define PEFT_PER_POINT 4

/* An empty set of modules for model m (nothing attached yet). */
pf_status peft_init(struct peft *p, struct model *m, uint64_t seed, struct pf_err *err);
/* Detach from the model and free everything. */
void peft_free(struct peft *p);

/* Whether kind k can attach at target t of model m's family (error text says why not). */
pf_status peft_check_spec(const struct model *m, const struct peft_spec *s, struct pf_err *err);

/* Add one module (validated with peft_check_spec), initialised from `seed` as
 * docs/PEFT.md says (the BIPEFT spec's inits). Returns its index in *index (may be NULL).
 * Modules must be added before the first forward; adding re-attaches the hooks. */
pf_status peft_add(struct peft *p, const struct peft_spec *s, uint64_t seed, int *index,
                   struct pf_err *err);

/* Parameter count of a module of spec s on model m at rank r (vector kinds ignore r). */
int64_t peft_param_count(const struct model *m, const struct peft_spec *s, int r);
/* Sum over the modules at their active ranks. */
int64_t peft_total_params(const struct peft *p);

/* Set the active rank (1..r_max): the mask becomes (j < rank). */
pf_status peft_set_rank(struct peft *p, int index, int rank, struct pf_err *err);
/* Set an arbitrary mask (r_max floats) for the search; dmask then accumulates its gradient. */
pf_status peft_set_mask(struct peft *p, int index, const float *mask, struct pf_err *err);

/* Carve the modules' activations for B x T rows (the hooks do this by themselves when the
 * layers' batch shape changes; tests call the per-kind functions directly after it). */
pf_status peft_bind(struct peft *p, int B, int T, struct pf_err *err);

/* Dropout on or off (off: inference). Each call to peft_next_step draws fresh masks. */
void peft_set_training(struct peft *p, int on);
void peft_next_step(struct peft *p);

/* Zero every module gradient, dgate and dmask. */
pf_status peft_zero_grad(struct peft *p, struct pf_err *err);

/* "layers.3.lora.q" */
const char *peft_module_name(const struct peft_module *md, char *buf, size_t n);
/* The hook point of (kind, target). */
enum block_point peft_point(enum cfg_kind k, enum cfg_target t);

/* Hook entry points (installed by peft_add into the layers' struct block_hooks and the
 * model's final-norm hooks). */
pf_status peft_final_forward(void *ctx, struct model *m, const struct tensor *x,
                             struct tensor *y, struct pf_err *err);
pf_status peft_final_backward(void *ctx, struct model *m, const struct tensor *x,
                              const struct tensor *dy, struct tensor *dx, struct pf_err *err);
pf_status peft_hook_forward(void *ctx, struct block *blk, enum block_point pt,
                            const struct tensor *x, struct tensor *y, struct pf_err *err);
pf_status peft_hook_backward(void *ctx, struct block *blk, enum block_point pt,
                             const struct tensor *x, struct tensor *dy, struct tensor *dx,
                             struct pf_err *err);

/* Per-kind forward/backward of one module at its point (peft_lora.c, peft_adapter.c,
 * peft_vector.c, peft_prefix.c). Backward follows the hook contract of block.h. */
pf_status peft_lora_forward(struct peft *p, struct peft_module *md, const struct tensor *x,
                            struct tensor *y, struct pf_err *err);
pf_status peft_lora_backward(struct peft *p, struct peft_module *md, const struct tensor *x,
                             struct tensor *dy, struct tensor *dx, struct pf_err *err);
pf_status peft_adapter_forward(struct peft *p, struct peft_module *md, const struct tensor *x,
                               struct tensor *y, struct pf_err *err);
pf_status peft_adapter_backward(struct peft *p, struct peft_module *md,
                                const struct tensor *x, struct tensor *dy, struct tensor *dx,
                                struct pf_err *err);
/* blk NULL: the model's final norm. */
pf_status peft_vector_forward(struct peft *p, struct peft_module *md, struct block *blk,
                              const struct tensor *x, struct tensor *y, struct pf_err *err);
pf_status peft_vector_backward(struct peft *p, struct peft_module *md, struct block *blk,
                               const struct tensor *x, struct tensor *dy, struct tensor *dx,
                               struct pf_err *err);
pf_status peft_prefix_forward(struct peft *p, struct peft_module *md, struct block *blk,
                              const struct tensor *q, struct tensor *ctx, struct pf_err *err);
pf_status peft_prefix_backward(struct peft *p, struct peft_module *md, struct block *blk,
                               const struct tensor *q, const struct tensor *dctx,
                               struct tensor *dq, struct pf_err *err);

#endif
