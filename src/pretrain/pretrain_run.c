/* pretrain_run.c - `bipeft pretrain`'s run (pretrain.h): the tokenizer and corpus, a BERT
 * with an MLM head initialised from the seed (model_create + model_init_params: N(0, 0.02)
 * weights, zero biases, unit norm gains), AdamW on every parameter with warm-up and decay,
 * gradient clipping, evaluation and a checkpoint every eval_every steps, and the output
 * folder. The folder holds the LAST weights (no best-of selection: the held-out loss of
 * pretraining keeps falling, and the last step is what a resume would continue from). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/ops.h"
#include "model/model_load.h"
#include "pretrain/pretrain_internal.h"
#include "pretrain/pretrain_write.h"
#include "tok/tok.h"
#include "train/progress.h"
#include "train/schedule.h"
#include "util/atomic.h"
#include "util/xalloc.h"

static void log_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(FILE *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}

/* Learning-rate factor of step t (0-based) of total. */
static double lr_factor(const struct pretrain_config *c, int64_t t) {
    struct cfg_schedule s = {.kind = c->schedule == PRETRAIN_SCHED_COSINE ? CFG_SCHED_COSINE
                                                                          : CFG_SCHED_LINEAR,
                             .from = 1.0,
                             .to = c->schedule == PRETRAIN_SCHED_CONSTANT ? 1.0 : 0.0,
                             .warmup = c->warmup};
    return sched_eval(&s, (double)t, (double)c->steps);
}

static pf_status setup_optimizer(struct pretrain_state *s, struct pf_err *err) {
    struct model *m = &s->m;
    pf_status st = model_set_all_trainable(m, 1, err);
    int n = 0;
    for (int i = 0; i < m->n_params; i++)
        n += m->params[i].nparts;
    s->opt = xcalloc((size_t)(n ? n : 1), sizeof *s->opt);
    for (int i = 0; i < m->n_params && st == PF_OK; i++) {
        struct model_param *p = &m->params[i];
        for (int k = 0; k < p->nparts && st == PF_OK; k++) {
            struct pretrain_opt *o = &s->opt[s->n_opt++];
            o->p = p->part[k];
            o->g = p->grad[k];
            o->decay = p->ndim == 2; /* not biases, not LayerNorm gains (HF's no_decay) */
            size_t cnt = (size_t)(o->p->numel ? o->p->numel : 1);
            PF_STEP(st, tensor_wrap(&o->m, s->be, xcalloc(cnt, sizeof(float)), TENSOR_F32,
                                    "adam_m", o->p->ndim, o->p->shape, err));
            PF_STEP(st, tensor_wrap(&o->v, s->be, xcalloc(cnt, sizeof(float)), TENSOR_F32,
                                    "adam_v", o->p->ndim, o->p->shape, err));
        }
    }
    return st;
}

static pf_status apply_update(struct pretrain_state *s, float lr, int step, double *norm,
                              struct pf_err *err) {
    struct tensor **g = xmalloc((size_t)s->n_opt * sizeof *g);
    for (int i = 0; i < s->n_opt; i++)
        g[i] = s->opt[i].g;
    pf_status st = op_clip_grad_norm(s->be, g, s->n_opt, (float)s->c->clip, norm, err);
    xfree(g);
    for (int i = 0; i < s->n_opt && st == PF_OK; i++) {
        struct adamw_params hp = {.lr = lr, .beta1 = (float)s->c->betas[0],
                                  .beta2 = (float)s->c->betas[1], .eps = (float)s->c->eps,
                                  .weight_decay = s->opt[i].decay ? (float)s->c->weight_decay
                                                                  : 0.0f,
                                  .step = step};
        st = op_adamw_update(s->be, s->opt[i].p, s->opt[i].g, &s->opt[i].m, &s->opt[i].v, &hp,
                             err);
    }
    return st;
}

static void state_free(struct pretrain_state *s) {
    for (int i = 0; i < s->n_opt; i++) {
        xfree(s->opt[i].m.data);
        xfree(s->opt[i].v.data);
    }
    xfree(s->opt);
    model_free(&s->m);
    pretrain_corpus_free(&s->pc);
    xfree(s->ids);
    xfree(s->attn);
    xfree(s->labels);
    xfree(s->lse);
    xfree(s->dlogits);
    xfree(s->seq);
    xfree(s->perm);
}

static pf_status write_summary(const struct pretrain_state *s, const struct pretrain_result *r,
                               struct pf_err *err) {
    const struct pretrain_config *c = s->c;
    const struct pretrain_corpus *pc = &s->pc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "bipeft-pretrain");
    cJSON_AddStringToObject(o, "config", c->file);
    cJSON_AddStringToObject(o, "checkpoint", "last");
    cJSON_AddNumberToObject(o, "steps", (double)r->steps);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "params", (double)r->params);
    cJSON_AddNumberToObject(o, "final_train_loss", r->final_train_loss);
    cJSON_AddNumberToObject(o, "eval_loss", r->eval_loss);
    cJSON_AddNumberToObject(o, "eval_accuracy", r->eval_accuracy);
    cJSON_AddNumberToObject(o, "unigram_accuracy", r->unigram_accuracy);
    cJSON_AddNumberToObject(o, "eval_masked", (double)r->eval_masked);
    cJSON *k = cJSON_AddObjectToObject(o, "corpus");
    cJSON *files = cJSON_AddArrayToObject(k, "files");
    for (int i = 0; i < c->n_corpus; i++)
        cJSON_AddItemToArray(files, cJSON_CreateString(c->corpus[i]));
    cJSON_AddNumberToObject(k, "bytes", (double)pc->bytes);
    cJSON_AddNumberToObject(k, "lines", (double)pc->lines);
    cJSON_AddNumberToObject(k, "empty_lines", (double)pc->empty_lines);
    cJSON_AddNumberToObject(k, "train_lines", (double)pc->train_lines);
    cJSON_AddNumberToObject(k, "eval_lines", (double)pc->eval_lines);
    cJSON_AddNumberToObject(k, "long_lines", (double)pc->truncated_lines);
    cJSON_AddNumberToObject(k, "train_sequences", (double)pc->train.n);
    cJSON_AddNumberToObject(k, "eval_sequences", (double)pc->eval.n);
    cJSON_AddNumberToObject(k, "train_tokens", (double)pc->train.tokens);
    cJSON_AddNumberToObject(k, "eval_tokens", (double)pc->eval.tokens);
    cJSON *h = cJSON_AddObjectToObject(o, "settings");
    cJSON_AddNumberToObject(h, "seed", (double)c->seed);
    cJSON_AddNumberToObject(h, "max_len", c->max_len);
    cJSON_AddNumberToObject(h, "batch_size", c->batch_size);
    cJSON_AddNumberToObject(h, "lr", c->lr);
    cJSON_AddNumberToObject(h, "warmup", (double)c->warmup);
    cJSON_AddStringToObject(h, "schedule", c->schedule == PRETRAIN_SCHED_COSINE ? "cosine"
                                           : c->schedule == PRETRAIN_SCHED_CONSTANT ? "constant"
                                                                                    : "linear");
    cJSON_AddNumberToObject(h, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(h, "mask_prob", c->mask_prob);
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt)
        return pf_err_set(err, PF_ERR_NOMEM, "pretrain: out of memory");
    char path[1024];
    snprintf(path, sizeof path, "%s/pretrain_summary.json", c->out);
    size_t n = strlen(txt);
    txt[n] = '\n';
    pf_status st = atomic_write(path, txt, n + 1, err);
    free(txt);
    return st;
}

/* Tokenizer, corpus, model, buffers and the output folder's fixed files. */
/* Continued pretraining: the weights of c->init_from, which must be a BERT with an MLM head of
 * exactly the configured shape and the tokenizer's vocabulary. */
static pf_status init_from(struct pretrain_state *s, const struct model_config *mc,
                           struct pf_err *err) {
    const struct pretrain_config *c = s->c;
    struct model_load_opts o = {.head = HEAD_MLM, .seed = c->seed};
    struct model_load_info info;
    pf_status st = model_load(&s->m, c->init_from, s->be, &o, &info, err);
    if (st != PF_OK)
        return st;
    const struct model_config *g = &s->m.cfg;
    const char *what = g->family != FAM_BERT ? "model_type (not bert)"
                       : g->hidden != mc->hidden ? "hidden_size"
                       : g->layers != mc->layers ? "num_hidden_layers"
                       : g->heads != mc->heads ? "num_attention_heads"
                       : g->ffn != mc->ffn ? "intermediate_size"
                       : g->max_pos != mc->max_pos ? "max_position_embeddings"
                       : g->type_vocab != mc->type_vocab ? "type_vocab_size"
                       : g->vocab != mc->vocab ? "vocab_size (another tokenizer?)" : NULL;
    if (!what && info.n_initialised > 0)
        what = "the MLM head (missing from the checkpoint)";
    if (what) {
        model_free(&s->m);
        return pf_err_set(err, PF_ERR_ARG, "%s: init_from: %s/config.json: %s differs from "
                          "the configured model", c->file, c->init_from, what);
    }
    return PF_OK;
}

static pf_status open_run(struct pretrain_state *s, int *bad_input, struct pf_err *err) {
    const struct pretrain_config *c = s->c;
    char tok_path[1024], dst[1024];
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", c->tokenizer);
    struct tokenizer *tok = NULL;
    pf_status st = tok_load_json(&tok, tok_path, err);
    PF_STEP(st, pretrain_corpus_load(&s->pc, c, tok, err));
    tok_free(tok);
    if (st != PF_OK) {
        *bad_input = 1;
        return st;
    }
    struct model_config mc;
    pretrain_bert_config(c, s->pc.sp.vocab, s->pc.sp.pad, &mc);
    if (c->init_from[0]) {
        st = init_from(s, &mc, err);
        if (st != PF_OK) {
            *bad_input = st != PF_ERR_NOMEM;
            return st;
        }
    } else {
        st = model_create(&s->m, &mc, s->be, -1, 0, err);
        if (st != PF_OK)
            return st;
        model_init_params(&s->m, c->seed, 0);
    }
    st = setup_optimizer(s, err);
    s->B = c->batch_size;
    s->T = c->max_len;
    size_t bt = (size_t)s->B * (size_t)s->T;
    s->ids = xmalloc(bt * sizeof *s->ids);
    s->attn = xmalloc(bt * sizeof *s->attn);
    s->labels = xmalloc(bt * sizeof *s->labels);
    s->lse = xmalloc(bt * sizeof *s->lse);
    s->dlogits = xmalloc(bt * (size_t)mc.vocab * sizeof *s->dlogits);
    s->seq = xmalloc((size_t)s->B * sizeof *s->seq);
    s->perm = xmalloc((size_t)s->pc.train.n * sizeof *s->perm);
    s->perm_epoch = -1;
    PF_STEP(st, atomic_mkdirs(c->out, err));
    PF_STEP(st, pretrain_write_hf_config(c->out, &mc, err));
    snprintf(dst, sizeof dst, "%s/tokenizer.json", c->out);
    PF_STEP(st, pretrain_copy_file(tok_path, dst, err));
    return st;
}

static pf_status evaluate(struct pretrain_state *s, FILE *log, int64_t step, double t0,
                          struct progress *pg, struct pretrain_result *r, struct pf_err *err) {
    pf_status st = PF_OK;
    if (s->pc.eval.n > 0) {
        st = pretrain_evaluate(s, &r->eval_loss, &r->eval_accuracy, &r->unigram_accuracy,
                               &r->eval_masked, err);
        if (st != PF_OK)
            return st;
        log_line(log, "{\"event\":\"eval\",\"step\":%lld,\"loss\":%.6f,\"accuracy\":%.6f,"
                 "\"unigram_accuracy\":%.6f,\"masked\":%lld,\"seconds\":%.3f}", (long long)step,
                 r->eval_loss, r->eval_accuracy, r->unigram_accuracy, (long long)r->eval_masked,
                 progress_now() - t0);
        progress_eval(pg, "mlm_acc", r->eval_accuracy);
    }
    return pretrain_write_weights(s->c->out, &s->m, err);
}

static pf_status train(struct pretrain_state *s, FILE *log, int quiet,
                       struct pretrain_result *r, struct pf_err *err) {
    const struct pretrain_config *c = s->c;
    struct progress pg;
    double t0 = progress_now(), loss_sum = 0;
    int loss_n = 0;
    progress_init(&pg, quiet ? NULL : stderr, c->steps, 1);
    log_line(log, "{\"event\":\"start\",\"params\":%lld,\"vocab\":%d,\"train_sequences\":%lld,"
             "\"eval_sequences\":%lld,\"steps\":%lld}", (long long)r->params, s->m.cfg.vocab,
             (long long)s->pc.train.n, (long long)s->pc.eval.n, (long long)c->steps);
    pf_status st = model_zero_grad(&s->m, err);
    for (int64_t step = 0; step < c->steps && st == PF_OK; step++) {
        pretrain_step_sequences(s, step);
        pretrain_mask_batch(&s->pc.train, s->seq, s->B, &s->pc.sp, c->mask_prob, c->seed,
                            (uint64_t)step, s->ids, s->attn, s->labels);
        float loss = 0, lr = (float)(c->lr * lr_factor(c, step));
        double norm = 0;
        st = pretrain_forward_loss(s, s->B, 1, &loss, err);
        if (st == PF_OK && !isfinite(loss))
            st = pf_err_set(err, PF_ERR_NUMERIC, "diverged: the loss of step %lld is not "
                            "finite (lower lr)", (long long)step + 1);
        if (st == PF_OK) {
            st = apply_update(s, lr, (int)(step + 1), &norm, err);
            if (st == PF_ERR_NUMERIC)
                st = pf_err_set(err, PF_ERR_NUMERIC, "diverged: the gradient of step %lld is "
                                "not finite (lower lr)", (long long)step + 1);
        }
        PF_STEP(st, model_zero_grad(&s->m, err));
        if (st != PF_OK)
            break;
        r->steps = step + 1;
        progress_step(&pg, r->steps, 0, loss, lr);
        loss_sum += loss;
        loss_n++;
        if (r->steps % c->log_every == 0 || r->steps == c->steps) {
            r->final_train_loss = loss_sum / loss_n;
            log_line(log, "{\"event\":\"train\",\"step\":%lld,\"loss\":%.6f,\"lr\":%.6g,"
                     "\"grad_norm\":%.6f,\"seconds\":%.3f}", (long long)r->steps,
                     r->final_train_loss, (double)lr, norm, progress_now() - t0);
            loss_sum = 0;
            loss_n = 0;
        }
        if (c->eval_every > 0 && r->steps % c->eval_every == 0 && r->steps < c->steps)
            st = evaluate(s, log, r->steps, t0, &pg, r, err);
    }
    PF_STEP(st, evaluate(s, log, r->steps, t0, &pg, r, err));
    progress_done(&pg);
    r->seconds = progress_now() - t0;
    if (st == PF_OK)
        log_line(log, "{\"event\":\"done\",\"steps\":%lld,\"seconds\":%.3f,\"eval_loss\":%.6f,"
                 "\"eval_accuracy\":%.6f}", (long long)r->steps, r->seconds,
                 isfinite(r->eval_loss) ? r->eval_loss : -1.0,
                 isfinite(r->eval_accuracy) ? r->eval_accuracy : -1.0);
    else
        log_line(log, "{\"event\":\"error\",\"step\":%lld}", (long long)r->steps);
    return st;
}

pf_status pretrain_run(const struct pretrain_config *c, struct backend *be, int quiet,
                       struct pretrain_result *r, struct pf_err *err) {
    memset(r, 0, sizeof *r);
    r->eval_loss = r->eval_accuracy = r->unigram_accuracy = NAN;
    struct pretrain_state s = {.c = c, .be = be};
    pf_status st = open_run(&s, &r->bad_input, err);
    FILE *log = NULL;
    if (st == PF_OK) {
        r->params = model_param_count(&s.m);
        char path[1024];
        snprintf(path, sizeof path, "%s/metrics.jsonl", c->out);
        log = fopen(path, "w");
        if (!log)
            st = pf_err_set(err, PF_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    }
    PF_STEP(st, train(&s, log, quiet, r, err));
    PF_STEP(st, write_summary(&s, r, err));
    if (log)
        fclose(log);
    state_free(&s);
    return st;
}
