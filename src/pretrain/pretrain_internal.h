/* pretrain_internal.h - the state of a pretraining run, shared by pretrain_step.c and
 * pretrain_run.c only. */
#ifndef PF_PRETRAIN_INTERNAL_H
#define PF_PRETRAIN_INTERNAL_H

#include "model/model.h"
#include "pretrain/pretrain.h"

struct pretrain_opt {
    struct tensor *p, *g;   /* borrowed from the model */
    struct tensor m, v;     /* AdamW moments (host memory, owned) */
    int decay;              /* weight decay applies (matrices and embeddings) */
};

struct pretrain_state {
    const struct pretrain_config *c;
    struct backend *be;
    struct model m;
    struct pretrain_corpus pc;
    int B, T;
    int32_t *ids, *attn, *labels; /* B*T */
    float *lse, *dlogits;         /* B*T, B*T*V */
    int64_t *seq;                 /* B sequence indices */
    int64_t *perm, perm_epoch;    /* train order of epoch perm_epoch */
    int n_opt;
    struct pretrain_opt *opt;
};

/* The train sequences of step `step` (0-based): positions step*B .. step*B+B-1 of the
 * concatenated epoch permutations. */
void pretrain_step_sequences(struct pretrain_state *s, int64_t step);

/* Forward the B sequences in s->ids / s->attn and take the mean cross-entropy over the
 * positions whose label is not ignored; with backward, the gradients of every parameter
 * are accumulated. */
pf_status pretrain_forward_loss(struct pretrain_state *s, int B, int backward, float *loss,
                                struct pf_err *err);

/* Held-out MLM loss (mean over masked positions), accuracy (argmax == label) and the
 * accuracy of always answering the most frequent train token, on the first eval_max
 * held-out sequences with masks fixed by the seed (the same at every evaluation). */
pf_status pretrain_evaluate(struct pretrain_state *s, double *loss, double *acc, double *unigram,
                            int64_t *masked, struct pf_err *err);

#endif
