/* train_eval.c - scoring the current weights on a tokenised set (train.h): batches in file
 * order, no dropout, argmax (classification) or the single output (regression), then the
 * task's metrics (train/metrics.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "train/metrics.h"
#include "train/train.h"
#include "util/xalloc.h"

pf_status train_batch_loss(struct trainer *t, const struct data_batch *b, float *loss,
                           struct tensor *dlogits, struct pf_err *err) {
    const struct tensor *logits = model_logits(&t->m);
    int64_t sh[1] = {b->B};
    pf_status st;
    if (t->task.regression) {
        struct tensor tgt;
        st = tensor_wrap(&tgt, t->be, b->target, TENSOR_F32, "target", 1, sh, err);
        /* the prediction is logits (B, 1): view it as (B) */
        struct tensor pred;
        if (st == PF_OK)
            st = tensor_wrap(&pred, t->be, logits->data, TENSOR_F32, "pred", 1, sh, err);
        if (st == PF_OK)
            st = op_mse_forward(t->be, loss, &pred, &tgt, err);
        if (st == PF_OK && dlogits) {
            struct tensor dp;
            st = tensor_wrap(&dp, t->be, dlogits->data, TENSOR_F32, "dpred", 1, sh, err);
            if (st == PF_OK)
                st = op_mse_backward(t->be, &dp, &pred, &tgt, 1.0f, err);
        }
        return st;
    }
    int32_t *lab = xmalloc((size_t)b->B * sizeof *lab);
    float *lse = xmalloc((size_t)b->B * sizeof *lse);
    for (int i = 0; i < b->B; i++)
        lab[i] = b->label[i];
    struct tensor tl, tlse;
    st = tensor_wrap(&tl, t->be, lab, TENSOR_I32, "labels", 1, sh, err);
    if (st == PF_OK)
        st = tensor_wrap(&tlse, t->be, lse, TENSOR_F32, "lse", 1, sh, err);
    if (st == PF_OK)
        st = op_crossentropy_forward(t->be, loss, &tlse, logits, &tl, -1, err);
    if (st == PF_OK && dlogits)
        st = op_crossentropy_backward(t->be, dlogits, logits, &tlse, &tl, -1, 1.0f, err);
    xfree(lab);
    xfree(lse);
    return st;
}

pf_status trainer_eval(struct trainer *t, int which, double out[METRIC_COUNT], double *loss,
                       struct pf_err *err) {
    for (int i = 0; i < METRIC_COUNT; i++)
        out[i] = NAN;
    const struct data_encoded *e = &t->enc[which];
    if (e->n == 0)
        return pf_err_set(err, PF_ERR_ARG, "train: the evaluation set is empty");
    struct data_loader *ld = NULL;
    struct data_loader_opts o = {.batch_size = t->cfg.optim.batch_size, .shuffle = 0,
                                 .pad_id = t->pad_id};
    pf_status st = data_loader_create(&ld, e, &o, err);
    if (st != PF_OK)
        return st;
    int *pred = xcalloc((size_t)e->n, sizeof *pred), *gold = xcalloc((size_t)e->n, sizeof *gold);
    float *px = xcalloc((size_t)e->n, sizeof *px), *gx = xcalloc((size_t)e->n, sizeof *gx);
    int64_t k = 0;
    double lsum = 0;
    int train_mode = t->p.training;
    peft_set_training(&t->p, 0);
    int done = 0;
    while (st == PF_OK) {
        struct data_batch b;
        st = data_loader_next(ld, &b, &done, err);
        if (st != PF_OK || done)
            break;
        struct model_batch mb = {.B = b.B, .T = b.T, .ids = b.ids, .mask = b.mask,
                                 .type_ids = b.types};
        st = model_forward(&t->m, &mb, err);
        float l = 0;
        if (st == PF_OK)
            st = train_batch_loss(t, &b, &l, NULL, err);
        if (st != PF_OK)
            break;
        lsum += (double)l * b.B;
        const float *lg = tensor_f32(model_logits(&t->m));
        int L = (int)tensor_cols(model_logits(&t->m));
        for (int i = 0; i < b.B && k < e->n; i++, k++) {
            if (t->task.regression) {
                px[k] = lg[i];
                gx[k] = b.target[i];
            } else {
                int best = 0;
                for (int c = 1; c < L; c++)
                    if (lg[i * L + c] > lg[i * L + best])
                        best = c;
                pred[k] = best;
                gold[k] = b.label[i];
            }
        }
    }
    peft_set_training(&t->p, train_mode);
    if (st == PF_OK) {
        for (int i = 0; i < t->task.n_metrics; i++) {
            enum data_metric m = t->task.metrics[i];
            double v = NAN;
            switch (m) {
            case METRIC_ACC: v = metric_accuracy(pred, gold, k); break;
            case METRIC_F1: v = metric_f1_binary(pred, gold, k, 1); break;
            case METRIC_MACRO_F1: v = metric_f1_macro(pred, gold, k, t->task.n_labels); break;
            case METRIC_MCC: v = metric_mcc(pred, gold, k, t->task.n_labels); break;
            case METRIC_PEARSON: v = metric_pearson(px, gx, k); break;
            case METRIC_SPEARMAN: v = metric_spearman(px, gx, k); break;
            default: break;
            }
            out[m] = v;
        }
        if (loss)
            *loss = k ? lsum / (double)k : NAN;
    }
    xfree(pred);
    xfree(gold);
    xfree(px);
    xfree(gx);
    data_loader_free(ld);
    return st;
}
