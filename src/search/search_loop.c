/* search_loop.c - the search itself (search.h): one iteration (the policy's tau and lr, the
 * architecture step, the weight step, statistics and hooks), dev evaluations, snapshots, the
 * end of the search (guard, structure, fill), and search_run / search_serve around them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/backend.h"
#include "data/data.h"
#include "peft/peft_io.h"
#include "search/search_internal.h"
#include "search/search_log.h"
#include "search/search_session.h"
#include "train/metrics.h"
#include "train/progress.h"
#include "util/atomic.h"
#include "util/xalloc.h"

/* ---- the loop ---- */

static pf_status next_batch(struct data_loader *ld, struct data_batch *b, struct pf_err *err) {
    int done = 0;
    pf_status st = data_loader_next(ld, b, &done, err);
    if (st == PF_OK && done)
        st = data_loader_next(ld, b, &done, err);
    if (st == PF_OK && done)
        st = pf_err_set(err, PF_ERR_ARG, "search: an empty half of the training set");
    return st;
}

static void hist_push(double **h, int *n, int *cap, double v) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *h = xrealloc(*h, (size_t)*cap * sizeof **h);
    }
    (*h)[(*n)++] = v;
}

static int arch_stage(struct search *s) {
    int half = s->epoch < (s->cfg.optim.epochs + 1) / 2;
    switch (s->cfg.search.order) {
    case CFG_ORDER_BINARY_THEN_RANK: return half ? SSTAGE_BINARY : SSTAGE_RANK;
    case CFG_ORDER_RANK_THEN_BINARY: return half ? SSTAGE_RANK : SSTAGE_BINARY;
    default: {
        int st = s->flag;
        s->flag = !s->flag;
        return st;
    }
    }
}

static pf_status eval_dev(struct search *s, struct pf_err *err) {
    if (s->t.enc[TE_DEV].n == 0)
        return PF_OK;
    if (s->cfg.search.method == CFG_METHOD_S3DELTA)
        search_s3delta_probs(s);
    search_set_discrete(s);
    double dv[METRIC_COUNT], loss = 0;
    pf_status st = trainer_eval(&s->t, TE_DEV, dv, &loss, err);
    if (st != PF_OK)
        return st;
    double v = dv[s->t.task.metrics[0]];
    hist_push(&s->metric_hist, &s->n_metric, &s->cap_metric, v);
    struct search_event ev;
    search_event_init(s, &ev, SEV_EVAL, "engine");
    ev.value = v;
    ev.value2 = loss;
    snprintf(ev.text, sizeof ev.text, "%s", metric_name(s->t.task.metrics[0]));
    search_emit(s, &ev);
    return PF_OK;
}

void search_emit_snapshot(struct search *s) {
    double E = search_expected_params(s, 1);
    int64_t H = search_hard_params(s);
    for (int i = 0; i < s->nc; i++) {
        const struct search_cand *c = &s->c[i];
        struct search_event ev;
        search_event_init(s, &ev, SEV_SENSITIVITY, "engine");
        ev.expected = E;
        ev.current = H;
        ev.module = i;
        ev.value = c->sens_i;
        ev.value2 = c->dsi;
        ev.rank = c->n_ranks ? c->ranks[search_cur_rank_idx(c)] : 0;
        /* lr carries P(on): the keep probability (S3Delta) or softmax of the binary pair */
        ev.lr = s->cfg.search.method == CFG_METHOD_S3DELTA ? c->keep_p
                                                           : 1.0 / (1.0 + exp(c->bl[0] - c->bl[1]));
        ev.tau = c->e_cost;
        ev.n = c->full_cost;
        int n = snprintf(ev.text, sizeof ev.text, "%s", c->name);
        if (c->n_ranks > 0) { /* "\tr=1:0.123,4:0.500,8:0.377": the rank distribution */
            double p[SRANK_MAX];
            search_rank_probs(c, p);
            for (int k = 0; k < c->n_ranks && n > 0 && (size_t)n < sizeof ev.text; k++)
                n += snprintf(ev.text + n, sizeof ev.text - (size_t)n, "%s%d:%.3f",
                              k ? "," : "\tr=", c->ranks[k], p[k]);
        }
        search_emit(s, &ev);
    }
}

/* The policy's tau and lr for this step, checked (tau > 0, lr >= 0, both finite); sets
 * s->epoch and s->tau. */
static pf_status iter_policy(struct search *s, double *tau, double *lr, struct pf_err *err) {
    const struct run_config *c = &s->cfg;
    s->epoch = (int)(s->it / s->per_epoch);
    pf_status st = script_policy_tau(s->pol, s->epoch, c->optim.epochs, tau, err);
    PF_STEP(st, script_policy_lr(s->pol, s->it, s->planned, lr, err));
    search_report_fallbacks(s);
    if (st != PF_OK)
        return st;
    if (!(*tau > 0) || !isfinite(*tau) || !isfinite(*lr) || *lr < 0)
        return pf_err_set(err, PF_ERR_SCRIPT, "policy: tau must be > 0 and lr >= 0 and finite "
                          "(got tau %g, lr %g at step %lld)", *tau, *lr, (long long)s->it);
    s->tau = *tau;
    return PF_OK;
}

/* (1) The architecture step: a sampled forward/backward on an arch batch, then the
 * architecture update (and the validation statistics) when its loss *la is finite. */
static pf_status iter_arch(struct search *s, float *la, struct pf_err *err) {
    struct data_batch ba;
    pf_status st = next_batch(s->ld_a, &ba, err);
    int stage = arch_stage(s);
    PF_STEP(st, trainer_zero_grads(&s->t, err));
    if (st == PF_OK)
        search_sample(s, 1, stage);
    PF_STEP(st, search_apply_sample(s, err));
    PF_STEP(st, trainer_micro_step(&s->t, &ba, 1.0f, s->it + 1, la, err));
    if (st != PF_OK)
        return st;
    s->loss_a = *la;
    if (isfinite(*la)) {
        search_arch_grads(s);
        search_arch_update(s);
        if (search_selective(s))
            search_stats_val(s);
    }
    return PF_OK;
}

/* (2) The weight step: a binary-sampled forward/backward on a weight batch and the AdamW
 * update at lr; a non-finite loss or gradient is skipped, too many in a row diverge. */
static pf_status iter_weights(struct search *s, double lr, float *lw, struct pf_err *err) {
    const struct run_config *c = &s->cfg;
    struct data_batch bw;
    pf_status st = next_batch(s->ld_w, &bw, err);
    PF_STEP(st, trainer_zero_grads(&s->t, err));
    if (st == PF_OK)
        search_sample(s, 0, SSTAGE_BINARY);
    PF_STEP(st, search_apply_sample(s, err));
    PF_STEP(st, trainer_micro_step(&s->t, &bw, 1.0f, s->it + 1, lw, err));
    if (st != PF_OK)
        return st;
    s->loss_w = *lw;
    int skipped = !isfinite(*lw);
    if (!skipped) {
        if (search_selective(s))
            search_stats_tra(s);
        double norm = 0;
        st = trainer_apply_update(&s->t, (float)lr, (int)(s->updates + 1), &norm, err);
        if (st == PF_ERR_NUMERIC) {
            st = PF_OK;
            skipped = 1;
        } else if (st == PF_OK) {
            s->updates++;
        }
    }
    if (st != PF_OK)
        return st;
    if (skipped) {
        s->nan_skips++;
        if (++s->nan_run >= c->train.max_nan_skips)
            return pf_err_set(err, PF_ERR_NUMERIC, "search diverged: %lld steps in a row had a "
                              "non-finite loss or gradient (last at step %lld); lower optim.lr",
                              (long long)s->nan_run, (long long)s->it + 1);
    } else {
        s->nan_run = 0;
    }
    return PF_OK;
}

/* (3) After a step: budget-guided early selection, the policy's step hook, the step event,
 * snapshots and the epoch's dev evaluation; *end when the search is over. */
static pf_status iter_after(struct search *s, float la, float lw, double tau, double lr,
                            int *end, struct pf_err *err) {
    const struct run_config *c = &s->cfg;
    pf_status st = PF_OK;
    if (search_selective(s) && s->stages_left > 0 && s->epoch >= c->search.prune_begin_epoch) {
        search_window_push(s);
        int fire = 0;
        st = search_hook_trigger(s, &fire, err);
        if (st == PF_OK && fire)
            st = search_do_stage(s, 0, err);
        if (st != PF_OK)
            return st;
    }
    int stop = 0;
    st = search_hook_step(s, &stop, err);
    if (st != PF_OK)
        return st;
    struct search_event ev;
    search_event_init(s, &ev, SEV_STEP, "engine");
    ev.loss_w = lw;
    ev.loss_a = la;
    ev.tau = tau;
    ev.lr = lr;
    ev.n = s->planned;
    ev.value = (double)s->budget;
    search_emit(s, &ev);
    if (c->search.snapshot_every > 0 && s->it % c->search.snapshot_every == 0)
        search_emit_snapshot(s);
    if (s->it % s->per_epoch == 0)
        st = eval_dev(s, err);
    if (stop || (search_selective(s) && s->stages_left == 0) || s->it >= s->planned)
        *end = 1;
    return st;
}

/* One iteration: architecture step, weight step, statistics, policy. *end = 1 when the
 * search is over. */
static pf_status iterate(struct search *s, int *end, struct pf_err *err) {
    double tau = 1, lr = 0;
    pf_status st = iter_policy(s, &tau, &lr, err);
    if (st != PF_OK)
        return st;
    peft_next_step(&s->t.p);
    float la = 0, lw = 0;
    st = iter_arch(s, &la, err);
    PF_STEP(st, iter_weights(s, lr, &lw, err));
    if (st != PF_OK)
        return st;
    s->it++;
    hist_push(&s->loss_hist, &s->n_loss, &s->cap_loss, lw);
    return iter_after(s, la, lw, tau, lr, end, err);
}

static pf_status search_finish(struct search *s, struct pf_err *err) {
    pf_status st = PF_OK;
    s->res.early_stopped = s->it < s->planned;
    if (search_selective(s)) {
        s->phase = SPH_GUARD;
        if (s->stages_left > 0)
            search_emit_text(s, SEV_PHASE, "guard", search_phase_name(SPH_GUARD));
        while (st == PF_OK && s->stages_left > 0)
            st = search_do_stage(s, 1, err);
        PF_STEP(st, search_guard_fit(s, err));
        if (st == PF_OK)
            search_fill(s);
    }
    if (st != PF_OK)
        return st;
    if (s->cfg.search.method == CFG_METHOD_S3DELTA)
        search_s3delta_probs(s);
    struct peft_spec *sp = NULL;
    int n = 0;
    switch (s->cfg.search.method) {
    case CFG_METHOD_MANUAL: st = search_manual_structure(s, &sp, &n, err); break;
    case CFG_METHOD_RANDOM: st = search_random_structure(s, &sp, &n, err); break;
    case CFG_METHOD_FULL: break;
    default: st = search_derive(s, &sp, &n, err); break;
    }
    if (st == PF_OK && s->cfg.search.method != CFG_METHOD_FULL) {
        s->res.params = search_structure_params(s, sp, n);
        s->res.n_modules = n;
        if (s->res.params > s->budget)
            st = pf_err_set(err, PF_ERR_ARG, "internal: the structure needs %lld parameters, "
                            "over the budget of %lld", (long long)s->res.params,
                            (long long)s->budget);
        char *json = st == PF_OK ? peft_structure_json(&s->t.m, sp, n) : NULL;
        char p[1100];
        snprintf(p, sizeof p, "%s/structure.json", s->dir);
        if (st == PF_OK)
            st = json ? atomic_write(p, json, strlen(json), err)
                      : pf_err_set(err, PF_ERR_NOMEM, "out of memory");
        free(json);
    }
    xfree(sp);
    s->search_seconds = s->seconds_before + (progress_now() - s->t0);
    s->phase = SPH_RETRAIN;
    struct search_event ev;
    search_event_init(s, &ev, SEV_PHASE, "engine");
    ev.value = (double)s->res.params;
    snprintf(ev.text, sizeof ev.text, "%s", search_phase_name(SPH_RETRAIN));
    if (st == PF_OK) {
        search_emit(s, &ev);
        st = search_set_meta_num(s, "params", (double)s->res.params, err);
        PF_STEP(st, search_set_meta_num(s, "search_seconds", s->search_seconds, err));
        PF_STEP(st, search_set_meta(s, "status", "retraining", err));
        PF_STEP(st, search_checkpoint(s, err));
    }
    return st;
}

static void fill_result(struct search *s) {
    struct search_result *r = &s->res;
    r->iterations = s->it;
    r->planned = s->planned;
    r->stages_total = s->stages_total;
    r->stages_done = s->stages_total - s->stages_left;
    r->guard_stages = s->guard_stages;
    r->budget = s->budget;
    r->search_seconds = s->search_seconds;
    r->retrain_seconds = s->retrain_seconds;
}

pf_status search_run(struct search *s, struct search_result *r, struct pf_err *err) {
    pf_status st = search_set_meta_num(s, "pid", (double)getpid(), err);
    while (st == PF_OK && s->phase == SPH_SEARCH) {
        if (search_drain_requests(s))
            st = search_checkpoint(s, err); /* interventions survive a crash from here on */
        if (st == PF_OK && s->opts.interrupt && *s->opts.interrupt) {
            st = search_checkpoint(s, err);
            s->res.interrupted = 1;
            break;
        }
        if (st != PF_OK || s->paused || s->stop)
            break;
        if (s->opts.stop_after > 0 && s->it >= s->opts.stop_after)
            break;
        int end = !search_method_searches(&s->cfg) || s->it >= s->planned;
        if (!end)
            st = iterate(s, &end, err);
        if (st == PF_OK)
            st = search_log_flush(s->log, err);
        if (st == PF_OK && end)
            st = search_finish(s, err);
        else if (st == PF_OK && s->cfg.search.checkpoint_every > 0 &&
                 s->it % s->cfg.search.checkpoint_every == 0)
            st = search_checkpoint(s, err);
    }
    if (st == PF_OK && s->phase == SPH_RETRAIN && !s->opts.no_retrain && !s->paused &&
        !s->stop && !s->res.interrupted) {
        st = s->cfg.search.retrain ? search_retrain(s, err) : PF_OK;
        if (st == PF_OK && !s->res.interrupted && s->cfg.search.baseline_lora &&
            s->cfg.search.method != CFG_METHOD_FULL)
            st = search_baseline_lora(s, err);
        if (st == PF_OK && !s->res.interrupted) {
            s->phase = SPH_DONE;
            fill_result(s);
            st = search_write_summary(s, err);
            struct search_event ev;
            search_event_init(s, &ev, SEV_DONE, "engine");
            ev.value = (double)s->res.params;
            ev.value2 = s->res.test;
            snprintf(ev.text, sizeof ev.text, "%s", s->res.metric);
            if (st == PF_OK)
                search_emit(s, &ev);
            PF_STEP(st, search_set_meta_num(s, "params", (double)s->res.params, err));
            PF_STEP(st, search_set_meta_num(s, "dev", s->res.dev, err));
            PF_STEP(st, search_set_meta_num(s, "test", s->res.test, err));
            PF_STEP(st, search_set_meta_num(s, "retrain_seconds", s->retrain_seconds, err));
            PF_STEP(st, search_set_meta(s, "status", "done", err));
            PF_STEP(st, search_checkpoint(s, err));
        }
    }
    fill_result(s);
    if (st != PF_OK) {
        struct pf_err e2;
        search_emit_text(s, SEV_ERROR, "engine", err->msg);
        search_log_set_meta(s->log, "status", "failed", &e2);
        search_log_flush(s->log, &e2);
        s->phase = SPH_FAILED;
    }
    if (r)
        *r = s->res;
    return st;
}

pf_status search_serve(struct search *s, struct search_result *r, struct pf_err *err) {
    for (;;) {
        pf_status st = search_run(s, r, err);
        if (st != PF_OK || !s->paused || s->stop || s->res.interrupted)
            return st;
        /* paused: sleep until search_request signals; the timed wait (100 ms) notices
         * opts.interrupt, which a signal handler sets without signalling */
        pthread_mutex_lock(&s->mu);
        while (s->pend.n == 0 && !(s->opts.interrupt && *s->opts.interrupt)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 100 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        pthread_mutex_unlock(&s->mu);
    }
}
