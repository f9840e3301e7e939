/* pretrain_step.c - the batch order, the MLM loss of a batch and the held-out evaluation
 * (pretrain_internal.h). The loss is the cross-entropy op of the core on the MLM head's
 * logits (B*T, V) with PRETRAIN_IGNORE on every position that was not chosen for masking. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/ops.h"
#include "pretrain/pretrain_internal.h"
#include "util/xalloc.h"

#define EVAL_STEP UINT64_MAX /* the mask stream of the held-out sequences */

void pretrain_step_sequences(struct pretrain_state *s, int64_t step) {
    int64_t n = s->pc.train.n;
    for (int b = 0; b < s->B; b++) {
        int64_t k = step * s->B + b, epoch = k / n;
        if (epoch != s->perm_epoch) {
            pretrain_permutation(s->perm, n, s->c->seed, epoch);
            s->perm_epoch = epoch;
        }
        s->seq[b] = s->perm[k % n];
    }
}

pf_status pretrain_forward_loss(struct pretrain_state *s, int B, int backward, float *loss,
                                struct pf_err *err) {
    struct model_batch mb = {.B = B, .T = s->T, .ids = s->ids, .mask = s->attn};
    pf_status st = model_forward(&s->m, &mb, err);
    if (st != PF_OK)
        return st;
    const struct tensor *lg = model_logits(&s->m);
    int64_t N = (int64_t)B * s->T, V = s->m.cfg.vocab;
    int64_t s2[2] = {N, V}, s1[1] = {N};
    struct tensor logits, targets, lse, dl;
    PF_STEP(st, tensor_wrap(&logits, s->be, lg->data, TENSOR_F32, "logits", 2, s2, err));
    PF_STEP(st, tensor_wrap(&targets, s->be, s->labels, TENSOR_I32, "labels", 1, s1, err));
    PF_STEP(st, tensor_wrap(&lse, s->be, s->lse, TENSOR_F32, "lse", 1, s1, err));
    PF_STEP(st, op_crossentropy_forward(s->be, loss, &lse, &logits, &targets, PRETRAIN_IGNORE,
                                        err));
    if (st != PF_OK || !backward || !isfinite(*loss))
        return st;
    PF_STEP(st, tensor_wrap(&dl, s->be, s->dlogits, TENSOR_F32, "dlogits", lg->ndim, lg->shape,
                            err));
    struct tensor dl2;
    PF_STEP(st, tensor_wrap(&dl2, s->be, s->dlogits, TENSOR_F32, "dlogits", 2, s2, err));
    PF_STEP(st, op_crossentropy_backward(s->be, &dl2, &logits, &lse, &targets, PRETRAIN_IGNORE,
                                         1.0f, err));
    PF_STEP(st, model_backward(&s->m, NULL, &dl, err));
    return st;
}

pf_status pretrain_evaluate(struct pretrain_state *s, double *loss, double *acc, double *unigram,
                            int64_t *masked, struct pf_err *err) {
    const struct pretrain_seqs *ev = &s->pc.eval;
    int64_t n = ev->n < s->c->eval_max ? ev->n : s->c->eval_max;
    double sum = 0;
    int64_t count = 0, right = 0, uni = 0, V = s->m.cfg.vocab;
    pf_status st = PF_OK;
    float *row = NULL;
    for (int64_t at = 0; at < n && st == PF_OK; at += s->B) {
        int B = (int)(n - at < s->B ? n - at : s->B);
        for (int b = 0; b < B; b++)
            s->seq[b] = at + b;
        int64_t k = pretrain_mask_batch(ev, s->seq, B, &s->pc.sp, s->c->mask_prob, s->c->seed,
                                        EVAL_STEP, s->ids, s->attn, s->labels);
        float l = 0;
        st = pretrain_forward_loss(s, B, 0, &l, err);
        if (st != PF_OK)
            break;
        sum += (double)l * (double)k;
        count += k;
        const struct tensor *lg = model_logits(&s->m);
        if (!row)
            row = xmalloc((size_t)V * sizeof *row);
        for (int64_t i = 0; i < (int64_t)B * s->T; i++) {
            if (s->labels[i] == PRETRAIN_IGNORE)
                continue;
            s->be->download(s->be, row, tensor_f32(lg) + i * V, (size_t)V * sizeof *row);
            int64_t best = 0;
            for (int64_t v = 1; v < V; v++)
                if (row[v] > row[best])
                    best = v;
            right += best == s->labels[i];
            uni += s->labels[i] == s->pc.top_token;
        }
    }
    xfree(row);
    *masked = count;
    *loss = count ? sum / (double)count : NAN;
    *acc = count ? (double)right / (double)count : NAN;
    *unigram = count ? (double)uni / (double)count : NAN;
    return st;
}
