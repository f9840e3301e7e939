/* search_retrain.c - after the search (search.h): the structure trained from scratch, the
 * LoRA baseline at the same budget, and DIR/summary.json. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"
#include "data/data.h"
#include "io/json_file.h"
#include "peft/peft_io.h"
#include "search/search_internal.h"
#include "search/search_log.h"
#include "search/search_session.h"
#include "train/metrics.h"
#include "train/progress.h"
#include "util/atomic.h"
#include "util/xalloc.h"

/* trainer.on_progress: SEV_TRAIN events, every ~1 % of the updates, at the last one and after
 * each dev evaluation. */
static void train_progress(void *ctx, const struct train_progress *p) {
    struct search *s = ctx;
    int64_t every = p->total >= 100 ? p->total / 100 : 1;
    if (isnan(p->dev) && p->step % every != 0 && p->step != p->total)
        return;
    struct search_event ev;
    search_event_init(s, &ev, SEV_TRAIN, "engine");
    ev.step = p->step;
    ev.epoch = p->epoch;
    ev.n = p->total;
    ev.value = p->loss;
    ev.value2 = p->dev;
    snprintf(ev.text, sizeof ev.text, "%s", s->train_label ? s->train_label : "retrain");
    search_emit(s, &ev);
}

/* Train the structure in structure.json of `dir` from scratch on the full training set (the
 * run config of the session, mode train), into dir/<run>; score dev and test into *out;
 * its progress goes out as SEV_TRAIN events with text `label`. */
static pf_status train_structure(struct search *s, const char *sdir, const char *run,
                                 const char *label, int full, struct search_trained *out,
                                 struct pf_err *err) {
    struct run_config rc = s->cfg;
    rc.mode = CFG_MODE_TRAIN;
    if (rc.search.retrain_epochs > 0)
        rc.optim.epochs = rc.search.retrain_epochs;
    rc.train.full = full;
    char p[1100], rd[1100];
    snprintf(p, sizeof p, "%s/structure.json", sdir);
    snprintf(rd, sizeof rd, "%s/%s", sdir, run);
    if (s->have_trainer) {
        trainer_close(&s->t);
        s->have_trainer = 0;
    }
    struct peft_spec *sp = NULL;
    int n = 0;
    pf_status st = full ? PF_OK : peft_structure_read(p, &sp, &n, err);
    PF_STEP(st, trainer_open(&s->t, &rc, s->be, err));
    if (st == PF_OK)
        s->have_trainer = 1;
    s->t.quiet = s->opts.quiet; /* the training progress bar, unless the session is quiet */
    s->t.interrupt = s->opts.interrupt; /* Ctrl-C stops the training at a step boundary */
    s->t.on_progress = train_progress;
    s->t.progress_ctx = s;
    s->train_label = label;
    if (st == PF_OK && n == 0 && !full && !rc.train.head)
        st = pf_err_set(err, PF_ERR_ARG, "the structure is empty (the budget fits no module) "
                        "and train.head is false: nothing to retrain");
    PF_STEP(st, trainer_build(&s->t, sp, n, full, err));
    xfree(sp);
    memset(out, 0, sizeof *out);
    if (st == PF_OK) {
        out->params = peft_total_params(&s->t.p);
        out->n_modules = n;
    }
    PF_STEP(st, atomic_mkdirs(rd, err));
    PF_STEP(st, trainer_write_run_files(&s->t, rd, err));
    struct train_result r;
    double t0 = progress_now();
    PF_STEP(st, trainer_fit(&s->t, rd, &r, err));
    if (st != PF_OK)
        return st;
    if (r.interrupted) { /* the session stays in its retraining phase; a resume trains again */
        s->res.interrupted = 1;
        return PF_OK;
    }
    if (full)
        out->params = r.trainable;
    out->seconds = progress_now() - t0;
    enum data_metric pm = s->t.task.metrics[0];
    out->has_dev = r.has_dev;
    out->has_test = r.has_test;
    out->dev = r.has_dev ? r.dev[pm] : NAN;
    out->test = r.has_test ? r.test[pm] : NAN;
    snprintf(out->metric, sizeof out->metric, "%s", metric_name(pm));
    return PF_OK;
}

/* Retrain the structure from scratch on the full training set; score dev and test. */
pf_status search_retrain(struct search *s, struct pf_err *err) {
    int full = s->cfg.search.method == CFG_METHOD_FULL;
    struct search_trained t;
    pf_status st = train_structure(s, s->dir, "retrain", "retrain", full, &t, err);
    if (st != PF_OK || s->res.interrupted)
        return st;
    s->res.params = t.params; /* also after a resume, from structure.json */
    if (!full)
        s->res.n_modules = t.n_modules;
    s->retrain_seconds = t.seconds;
    s->res.has_dev = t.has_dev;
    s->res.has_test = t.has_test;
    s->res.dev = t.dev;
    s->res.test = t.test;
    snprintf(s->res.metric, sizeof s->res.metric, "%s", t.metric);
    return PF_OK;
}

/* search.baseline = "lora": LoRA on q, k, v, o, ffn_up, ffn_down of every layer at the largest
 * rank <= 8 that fits the budget (top layers first when even rank 1 does not), with the
 * space's LoRA alpha and dropout (none: the paper's unscaled LoRA), trained like the
 * retraining into DIR/baseline-lora/. */
pf_status search_baseline_lora(struct search *s, struct pf_err *err) {
    static const enum cfg_target tg[] = {CFG_T_Q, CFG_T_K, CFG_T_V, CFG_T_O, CFG_T_FFN_UP,
                                         CFG_T_FFN_DOWN};
    const struct cfg_group *g = &s->cfg.space.group[CFG_KIND_LORA];
    const struct model *m = &s->t.m;
    int L = m->n_layers, cap = L * 6, n = 0;
    struct peft_spec *sp = xcalloc((size_t)cap + 1, sizeof *sp);
    struct pf_err ignore = {0};
    for (int l = L - 1; l >= 0; l--) /* top layers first */
        for (int j = 0; j < 6; j++) {
            struct peft_spec x = {.kind = CFG_KIND_LORA, .target = tg[j], .layer = l,
                                  .r_max = 1, .rank = 1};
            x.alpha = g->enabled ? (float)g->alpha : 0.0f;
            x.dropout = g->enabled ? (float)g->dropout : 0.0f;
            if (peft_check_spec(m, &x, &ignore) == PF_OK)
                sp[n++] = x;
        }
    int r = 8;
    for (; r > 1; r--) {
        int64_t tot = 0;
        for (int i = 0; i < n; i++)
            tot += peft_param_count(m, &sp[i], r);
        if (tot <= s->budget)
            break;
    }
    int keep = 0;
    int64_t used = 0;
    for (int i = 0; i < n; i++) {
        sp[i].r_max = sp[i].rank = r;
        int64_t c = peft_param_count(m, &sp[i], r);
        if (used + c > s->budget)
            continue;
        sp[keep++] = sp[i];
        used += c;
    }
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/baseline-lora", s->dir);
    pf_status st = atomic_mkdirs(dir, err);
    char *json = st == PF_OK ? peft_structure_json(m, sp, keep) : NULL;
    xfree(sp);
    if (st == PF_OK && !json)
        st = pf_err_set(err, PF_ERR_NOMEM, "out of memory");
    char p[1200];
    snprintf(p, sizeof p, "%s/structure.json", dir);
    PF_STEP(st, atomic_write(p, json, strlen(json), err));
    free(json);
    struct search_event ev;
    search_event_init(s, &ev, SEV_PHASE, "engine");
    ev.value = (double)used;
    snprintf(ev.text, sizeof ev.text, "baseline");
    if (st == PF_OK)
        search_emit(s, &ev);
    PF_STEP(st, train_structure(s, dir, "run", "baseline", 0, &s->res.baseline, err));
    if (st == PF_OK && !s->res.interrupted) {
        s->res.has_baseline = 1;
        s->res.baseline_rank = r;
        snprintf(s->res.baseline_name, sizeof s->res.baseline_name, "lora");
    }
    return st;
}

pf_status search_write_summary(struct search *s, struct pf_err *err) {
    const struct search_result *r = &s->res;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "bipeft-search-summary");
    cJSON_AddStringToObject(o, "task", s->t.task.name);
    cJSON_AddStringToObject(o, "method", cfg_method_name(s->cfg.search.method));
    cJSON_AddNumberToObject(o, "budget", (double)r->budget);
    cJSON_AddNumberToObject(o, "params", (double)r->params);
    cJSON_AddNumberToObject(o, "modules", r->n_modules);
    cJSON_AddNumberToObject(o, "iterations", (double)r->iterations);
    cJSON_AddNumberToObject(o, "planned", (double)r->planned);
    cJSON_AddNumberToObject(o, "stages_done", r->stages_done);
    cJSON_AddNumberToObject(o, "stages_total", r->stages_total);
    cJSON_AddBoolToObject(o, "early_stopped", r->early_stopped);
    cJSON_AddNumberToObject(o, "guard_stages", r->guard_stages);
    cJSON_AddStringToObject(o, "metric", r->metric);
    cJSON_AddNumberToObject(o, "dev", json_round(r->dev, 6, -1));  /* -1: not scored */
    cJSON_AddNumberToObject(o, "test", json_round(r->test, 6, -1));
    cJSON_AddNumberToObject(o, "search_seconds", json_round(r->search_seconds, 3, 0));
    cJSON_AddNumberToObject(o, "retrain_seconds", json_round(r->retrain_seconds, 3, 0));
    if (r->has_baseline) {
        const struct search_trained *b = &r->baseline;
        cJSON *bo = cJSON_AddObjectToObject(o, "baseline");
        cJSON_AddStringToObject(bo, "name", r->baseline_name);
        cJSON_AddNumberToObject(bo, "rank", r->baseline_rank);
        cJSON_AddNumberToObject(bo, "params", (double)b->params);
        cJSON_AddNumberToObject(bo, "modules", b->n_modules);
        cJSON_AddNumberToObject(bo, "dev", json_round(b->dev, 6, -1));
        cJSON_AddNumberToObject(bo, "test", json_round(b->test, 6, -1));
        cJSON_AddNumberToObject(bo, "seconds", json_round(b->seconds, 3, 0));
        cJSON_AddStringToObject(bo, "dir", "baseline-lora/run");
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/summary.json", s->dir);
    pf_status st = json_file_write(path, o, err);
    cJSON_Delete(o);
    return st;
}
