/* train_loop.c - the epochs of trainer_fit (train.h): AdamW steps with the LR schedule,
 * clipping, accumulation and non-finite skips; dev evaluations, early stopping and the best
 * weights; the test scores; the metric lines and the summary. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "io/json_file.h"
#include "train/metrics.h"
#include "train/progress.h"
#include "train/schedule.h"
#include "train/train.h"
#include "util/atomic.h"
#include "util/xalloc.h"

static void log_line(struct trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(struct trainer *t, const char *fmt, ...) {
    if (!t->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(t->log, fmt, ap);
    va_end(ap);
    fputc('\n', t->log);
    fflush(t->log);
}

/* ",\"accuracy\":0.91,\"f1\":0.88" for the task's metrics */
static void metrics_json(const struct trainer *t, const double v[METRIC_COUNT], char *buf,
                         size_t n) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->task.n_metrics && k < n; i++) {
        enum data_metric m = t->task.metrics[i];
        k += (size_t)snprintf(buf + k, n - k, ",\"%s\":%.6f", metric_name(m),
                              isfinite(v[m]) ? v[m] : 0.0);
    }
}

/* Copies of the trainable values (the best weights so far). */
static float **snapshot_alloc(const struct trainer *t) {
    float **s = xcalloc((size_t)t->n_tp, sizeof *s);
    for (int i = 0; i < t->n_tp; i++)
        s[i] = xmalloc((size_t)(t->tp[i].p->numel ? t->tp[i].p->numel : 1) * sizeof(float));
    return s;
}

static void snapshot_copy(const struct trainer *t, float **s, int to_model) {
    for (int i = 0; i < t->n_tp; i++) {
        size_t b = tensor_nbytes(t->tp[i].p);
        if (to_model)
            t->be->upload(t->be, t->tp[i].p->data, s[i], b);
        else
            t->be->download(t->be, s[i], t->tp[i].p->data, b);
    }
}

static void snapshot_free(const struct trainer *t, float **s) {
    for (int i = 0; t && s && i < t->n_tp; i++)
        xfree(s[i]);
    xfree(s);
}

/* Module gradients (with their gate and mask gradients) through peft_zero_grad, the rest
 * (head, or the backbone with full fine-tuning) here. */
pf_status trainer_zero_grads(struct trainer *t, struct pf_err *err) {
    for (int i = 0; i < t->n_tp; i++) {
        pf_status st = t->tp[i].module ? PF_OK : op_zero(t->be, t->tp[i].g, err);
        if (st != PF_OK)
            return st;
    }
    return peft_zero_grad(&t->p, err);
}

/* One forward/backward of batch b accumulating gradients (scaled by `scale`); *loss is the
 * batch loss, possibly non-finite (then nothing was accumulated that matters: the caller
 * skips the step). */
pf_status trainer_micro_step(struct trainer *t, const struct data_batch *b, float scale,
                            int64_t step, float *loss, struct pf_err *err) {
    struct model_batch mb = {.B = b->B, .T = b->T, .ids = b->ids, .mask = b->mask,
                             .type_ids = b->types};
    pf_status st = model_forward(&t->m, &mb, err);
    if (st != PF_OK)
        return st;
    struct tensor *lg = (struct tensor *)model_logits(&t->m);
    if (t->debug_huge_logits_step == step) {
        float *x = tensor_f32(lg);
        for (int64_t i = 0; i < lg->numel; i++)
            x[i] = (i % 2) ? 1e30f : -1e30f;
    }
    struct tensor dl;
    float *dbuf = xcalloc((size_t)lg->numel, sizeof *dbuf);
    st = tensor_wrap(&dl, t->be, dbuf, TENSOR_F32, "dlogits", lg->ndim, lg->shape, err);
    if (st == PF_OK)
        st = train_batch_loss(t, b, loss, &dl, err);
    if (t->debug_inf_loss_step == step)
        *loss = INFINITY;
    if (st == PF_OK && isfinite(*loss)) {
        if (scale != 1.0f)
            for (int64_t i = 0; i < dl.numel; i++)
                dbuf[i] *= scale;
        st = model_backward(&t->m, NULL, &dl, err);
    }
    xfree(dbuf);
    return st;
}

/* Apply AdamW to every trainable tensor (after clipping); returns PF_ERR_NUMERIC without
 * touching anything when the gradient norm is not finite. */
pf_status trainer_apply_update(struct trainer *t, float lr, int adam_step, double *norm,
                              struct pf_err *err) {
    struct tensor **g = xmalloc((size_t)t->n_tp * sizeof *g);
    for (int i = 0; i < t->n_tp; i++)
        g[i] = t->tp[i].g;
    pf_status st = op_clip_grad_norm(t->be, g, t->n_tp, (float)t->cfg.optim.clip, norm, err);
    xfree(g);
    if (st != PF_OK)
        return st;
    for (int i = 0; i < t->n_tp && st == PF_OK; i++) {
        struct adamw_params hp = {.lr = lr,
                                  .beta1 = (float)t->cfg.optim.betas[0],
                                  .beta2 = (float)t->cfg.optim.betas[1],
                                  .eps = (float)t->cfg.optim.eps,
                                  .weight_decay = t->tp[i].decay
                                                      ? (float)t->cfg.optim.weight_decay
                                                      : 0.0f,
                                  .step = adam_step};
        st = op_adamw_update(t->be, t->tp[i].p, t->tp[i].g, &t->tp[i].m, &t->tp[i].v, &hp, err);
    }
    return st;
}

/* The task's metrics of v as an object {name: value} (0 for a metric not scored). */
static void add_metrics(cJSON *o, const char *key, const struct trainer *t,
                        const double v[METRIC_COUNT], int has) {
    cJSON *m = cJSON_AddObjectToObject(o, key);
    for (int i = 0; has && i < t->task.n_metrics; i++)
        cJSON_AddNumberToObject(m, metric_name(t->task.metrics[i]),
                                json_round(v[t->task.metrics[i]], 6, 0));
}

static pf_status write_summary(const struct trainer *t, const char *dir,
                               const struct train_result *r, struct pf_err *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", t->task.name);
    cJSON_AddStringToObject(o, "primary_metric", metric_name(t->task.metrics[0]));
    cJSON_AddNumberToObject(o, "trainable_params", (double)r->trainable);
    cJSON_AddNumberToObject(o, "module_params", (double)r->module_params);
    cJSON_AddNumberToObject(o, "steps", (double)r->steps);
    cJSON_AddNumberToObject(o, "updates", (double)r->updates);
    cJSON_AddNumberToObject(o, "nan_skips", (double)r->nan_skips);
    cJSON_AddNumberToObject(o, "epochs", r->epochs);
    cJSON_AddBoolToObject(o, "stopped_early", r->stopped_early);
    cJSON_AddBoolToObject(o, "diverged", r->diverged);
    cJSON_AddNumberToObject(o, "best_step", (double)r->best_step);
    cJSON_AddNumberToObject(o, "seconds", json_round(r->seconds, 3, 0));
    add_metrics(o, "dev", t, r->dev, r->has_dev);
    add_metrics(o, "test", t, r->test, r->has_test);
    add_metrics(o, "test2", t, r->test2, r->has_test2);
    char path[1024];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    pf_status st = json_file_write(path, o, err);
    cJSON_Delete(o);
    return st;
}

/* Tell trainer.on_progress (when set) where the fit is: after an update (dev NaN) or a dev
 * evaluation; the loss is the progress line's moving average. */
static void report(struct trainer *t, const struct progress *pg, int64_t step, int epoch,
                   double dev) {
    if (!t->on_progress)
        return;
    struct train_progress p = {.step = step, .total = pg->total, .epoch = epoch,
                               .loss = pg->loss, .dev = dev};
    t->on_progress(t->progress_ctx, &p);
}

/* What trainer_fit carries between its steps: the evaluations' state, the loader, the step
 * counts and the running loss of the metric lines. */
struct fit_state {
    const char *dir;
    float **best;          /* the best weights so far */
    int have_best, bad_evals, stop;
    struct progress pg;
    struct data_loader *ld;
    int accum, has_dev, nan_run, micro, loss_n;
    int64_t total, total_updates;
    double t0, loss_sum;
};

/* Score dev; keep and save the weights when the primary metric improved, count patience
 * otherwise. */
static pf_status evaluate_dev(struct trainer *t, struct train_result *r, struct fit_state *fs,
                              int epoch, struct pf_err *err) {
    enum data_metric primary = t->task.metrics[0];
    double dv[METRIC_COUNT], dl = 0;
    pf_status st = trainer_eval(t, TE_DEV, dv, &dl, err);
    if (st != PF_OK)
        return st;
    char mj[512];
    metrics_json(t, dv, mj, sizeof mj);
    log_line(t, "{\"event\":\"eval\",\"split\":\"dev\",\"step\":%lld,\"epoch\":%d,"
             "\"loss\":%.6f%s}", (long long)r->updates, epoch, dl, mj);
    progress_eval(&fs->pg, metric_name(primary), dv[primary]);
    report(t, &fs->pg, r->updates, epoch, dv[primary]);
    double v = isfinite(dv[primary]) ? dv[primary] : -INFINITY;
    if (v > r->best_dev || !fs->have_best) {
        r->best_dev = v;
        r->best_step = r->updates;
        memcpy(r->dev, dv, sizeof dv);
        snapshot_copy(t, fs->best, 0);
        fs->have_best = 1;
        fs->bad_evals = 0;
        return run_save_weights(fs->dir, &t->m, t->full ? NULL : &t->p,
                                t->full ? 1 : t->cfg.train.head, t->full, err);
    }
    if (t->cfg.train.patience > 0 && ++fs->bad_evals >= t->cfg.train.patience) {
        r->stopped_early = 1;
        fs->stop = 1;
        log_line(t, "{\"event\":\"early_stop\",\"step\":%lld,\"best_step\":%lld}",
                 (long long)r->updates, (long long)r->best_step);
    }
    return PF_OK;
}

/* Reset the result, check the trainer can fit, count the parameters and open
 * metrics.jsonl (t->log). */
static pf_status fit_open(struct trainer *t, const char *dir, struct train_result *r,
                          struct pf_err *err) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < METRIC_COUNT; i++)
        r->dev[i] = r->test[i] = r->test2[i] = NAN;
    r->best_dev = -INFINITY;
    if (!t->built)
        return pf_err_set(err, PF_ERR_ARG, "trainer_fit: no structure (trainer_build)");
    if (t->cfg.schedule.lr.kind == CFG_SCHED_CUSTOM)
        return pf_err_set(err, PF_ERR_UNSUPPORTED, "%s: schedule.lr: a custom (Lua function) "
                          "schedule is run by the search engine's policy state; bipeft train "
                          "takes constant, linear, cosine and step schedules", t->cfg.file);
    for (int i = 0; i < t->n_tp; i++)
        r->trainable += t->tp[i].p->numel;
    r->module_params = peft_total_params(&t->p);
    char path[1024];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    t->log = fopen(path, "w");
    if (!t->log)
        return pf_err_set(err, PF_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    return PF_OK;
}

/* Create the loader, size the run (micro-steps and updates), start the progress line and
 * the metric lines, and zero the gradients; fs->best is allocated whatever the status. */
static pf_status fit_setup(struct trainer *t, const char *dir, struct train_result *r,
                           struct fit_state *fs, struct pf_err *err) {
    struct data_loader_opts lo = {.batch_size = t->cfg.optim.batch_size, .shuffle = 1,
                                  .seed = t->cfg.seed, .pad_id = t->pad_id};
    pf_status st = data_loader_create(&fs->ld, &t->enc[TE_TRAIN], &lo, err);
    int accum = t->cfg.optim.grad_accum;
    int64_t per_epoch = fs->ld ? data_loader_batches(fs->ld) : 0;
    int64_t total = per_epoch * t->cfg.optim.epochs;
    if (t->cfg.train.max_steps > 0 && t->cfg.train.max_steps * accum < total)
        total = t->cfg.train.max_steps * accum;
    fs->dir = dir;
    fs->best = snapshot_alloc(t);
    fs->accum = accum;
    fs->total = total;
    fs->total_updates = (total + accum - 1) / accum;
    fs->has_dev = t->enc[TE_DEV].n > 0;
    fs->t0 = progress_now();
    progress_init(&fs->pg, t->quiet ? NULL : stderr, fs->total_updates, t->cfg.optim.epochs);
    log_line(t, "{\"event\":\"start\",\"task\":\"%s\",\"trainable\":%lld,\"module_params\":%lld,"
             "\"train\":%lld,\"dev\":%lld,\"test\":%lld,\"steps\":%lld}", t->task.name,
             (long long)r->trainable, (long long)r->module_params,
             (long long)t->enc[TE_TRAIN].n, (long long)t->enc[TE_DEV].n,
             (long long)t->enc[TE_TEST].n, (long long)fs->total_updates);
    peft_set_training(&t->p, 1);
    if (st == PF_OK)
        st = trainer_zero_grads(t, err);
    return st;
}

/* Apply the accumulated gradients at the scheduled LR; a non-finite gradient norm sets
 * *skipped instead; a done update zeroes the gradients and logs the loss. */
static pf_status fit_update(struct trainer *t, struct train_result *r, struct fit_state *fs,
                            int epoch, float loss, int *skipped, struct pf_err *err) {
    double norm = 0;
    int64_t upd = r->updates + 1;
    double f = sched_eval(&t->cfg.schedule.lr, (double)r->updates, (double)fs->total_updates);
    float lr = (float)(t->cfg.optim.lr * f);
    pf_status st = trainer_apply_update(t, lr, (int)upd, &norm, err);
    if (st == PF_ERR_NUMERIC) {
        *skipped = 1;
        return PF_OK;
    }
    if (st != PF_OK)
        return st;
    r->updates = upd;
    fs->micro = 0;
    st = trainer_zero_grads(t, err);
    progress_step(&fs->pg, r->updates, epoch, loss, lr);
    report(t, &fs->pg, r->updates, epoch, NAN);
    fs->loss_sum += loss;
    fs->loss_n++;
    if (r->updates % t->cfg.train.log_every == 0) {
        r->final_loss = fs->loss_sum / fs->loss_n;
        log_line(t, "{\"event\":\"train\",\"step\":%lld,\"epoch\":%d,"
                 "\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6f,"
                 "\"seconds\":%.3f}", (long long)r->updates, epoch,
                 r->final_loss, (double)lr, norm, progress_now() - fs->t0);
        fs->loss_sum = 0;
        fs->loss_n = 0;
    }
    fs->nan_run = 0;
    return st;
}

/* A skipped step: drop whatever it accumulated (parameters and moments are untouched);
 * too many in a row is a divergence (PF_ERR_NUMERIC). */
static pf_status fit_skip(struct trainer *t, struct train_result *r, struct fit_state *fs,
                          int finite, struct pf_err *err) {
    r->nan_skips++;
    fs->nan_run++;
    fs->micro = 0;
    pf_status st = trainer_zero_grads(t, err);
    log_line(t, "{\"event\":\"nan_skip\",\"step\":%lld,\"in_a_row\":%d,"
             "\"cause\":\"%s\"}", (long long)r->steps, fs->nan_run,
             finite ? "gradient" : "loss");
    if (fs->nan_run >= t->cfg.train.max_nan_skips) {
        r->diverged = 1;
        st = pf_err_set(err, PF_ERR_NUMERIC, "training diverged: %d steps in a row "
                        "had a non-finite loss or gradient (last at step %lld); "
                        "lower optim.lr or check the data (train.max_nan_skips = "
                        "%d)", fs->nan_run, (long long)r->steps,
                        t->cfg.train.max_nan_skips);
    }
    return st;
}

/* One micro-step: the next batch (*done at the end of the epoch; an interrupt sets
 * fs->stop), its forward/backward, the update when due, or the skip, then a dev
 * evaluation when one is due. */
static pf_status fit_step(struct trainer *t, struct train_result *r, struct fit_state *fs,
                          int epoch, int *done, struct pf_err *err) {
    if (t->interrupt && *t->interrupt) {
        r->interrupted = 1;
        fs->stop = 1;
        return PF_OK;
    }
    struct data_batch b;
    pf_status st = data_loader_next(fs->ld, &b, done, err);
    if (st != PF_OK || *done)
        return st;
    r->steps++;
    peft_next_step(&t->p);
    float loss = 0;
    st = trainer_micro_step(t, &b, 1.0f / (float)fs->accum, r->steps, &loss, err);
    if (st != PF_OK)
        return st;
    int finite = isfinite(loss);
    if (finite && t->debug_nan_grad_step == r->steps && t->n_tp > 0)
        tensor_f32(t->tp[0].g)[0] = NAN;
    fs->micro++;
    int skipped = !finite;
    if (finite && (fs->micro == fs->accum || r->steps == fs->total))
        st = fit_update(t, r, fs, epoch, loss, &skipped, err);
    if (st != PF_OK)
        return st;
    if (skipped)
        return fit_skip(t, r, fs, finite, err);
    int64_t every = t->cfg.train.eval_every;
    if (fs->has_dev && fs->micro == 0 && every > 0 && r->updates % every == 0)
        st = evaluate_dev(t, r, fs, epoch, err);
    return st;
}

/* One epoch of micro-steps (or what is left of the run), then the end-of-epoch dev
 * evaluation when train.eval_every is 0. */
static pf_status fit_epoch(struct trainer *t, struct train_result *r, struct fit_state *fs,
                           int epoch, struct pf_err *err) {
    pf_status st = PF_OK;
    int done = 0;
    while (st == PF_OK && !done && !fs->stop && r->steps < fs->total)
        st = fit_step(t, r, fs, epoch, &done, err);
    if (st == PF_OK && !fs->stop && fs->has_dev && t->cfg.train.eval_every == 0)
        st = evaluate_dev(t, r, fs, epoch, err); /* the end of an epoch */
    return st;
}

/* After the epochs: the result weights (the best on dev, else the last, saved), the test
 * scores, the closing metric lines and summary.json; an interrupted fit only logs so. */
static pf_status fit_finish(struct trainer *t, struct train_result *r, struct fit_state *fs,
                            pf_status st, struct pf_err *err) {
    progress_done(&fs->pg);
    peft_set_training(&t->p, 0);
    if (st == PF_OK && r->interrupted) {
        log_line(t, "{\"event\":\"interrupted\",\"step\":%lld}", (long long)r->steps);
        return PF_OK;
    }
    r->has_dev = fs->have_best;
    if (st == PF_OK && !fs->have_best) /* no dev set: the last weights are the result */
        st = run_save_weights(fs->dir, &t->m, t->full ? NULL : &t->p,
                              t->full ? 1 : t->cfg.train.head, t->full, err);
    if (st == PF_OK && fs->have_best)
        snapshot_copy(t, fs->best, 1);
    if (st == PF_OK && t->enc[TE_TEST].n > 0) {
        st = trainer_eval(t, TE_TEST, r->test, NULL, err);
        r->has_test = st == PF_OK;
    }
    if (st == PF_OK && t->enc[TE_TEST2].n > 0) {
        st = trainer_eval(t, TE_TEST2, r->test2, NULL, err);
        r->has_test2 = st == PF_OK;
    }
    r->seconds = progress_now() - fs->t0;
    if (st == PF_OK) {
        char mj[512];
        metrics_json(t, r->test, mj, sizeof mj);
        if (r->has_test)
            log_line(t, "{\"event\":\"eval\",\"split\":\"test\",\"step\":%lld%s}",
                     (long long)r->best_step, mj);
        log_line(t, "{\"event\":\"done\",\"steps\":%lld,\"updates\":%lld,\"nan_skips\":%lld,"
                 "\"seconds\":%.3f}", (long long)r->steps, (long long)r->updates,
                 (long long)r->nan_skips, r->seconds);
        st = write_summary(t, fs->dir, r, err);
    } else {
        log_line(t, "{\"event\":\"error\",\"step\":%lld,\"message\":\"%s\"}",
                 (long long)r->steps, r->diverged ? "diverged" : "failed");
    }
    return st;
}

pf_status trainer_fit(struct trainer *t, const char *dir, struct train_result *r,
                      struct pf_err *err) {
    pf_status st = fit_open(t, dir, r, err);
    if (st != PF_OK)
        return st;
    struct fit_state fs = {0};
    st = fit_setup(t, dir, r, &fs, err);
    for (int epoch = 0; st == PF_OK && !fs.stop && r->steps < fs.total; epoch++) {
        r->epochs = epoch + 1;
        st = fit_epoch(t, r, &fs, epoch, err);
    }
    st = fit_finish(t, r, &fs, st, err);
    snapshot_free(t, fs.best);
    data_loader_free(fs.ld);
    fclose(t->log);
    t->log = NULL;
    return st;
}
