/* search_open.c - a session's set-up (search.h): the engine from the config (model, data,
 * budget, supernet candidates, data halves; every check before a folder is made), the
 * session's lock, policy and log, a fresh start, a resume from a checkpoint, the close. */
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

/* ---- set-up ---- */

static void cand_name(const struct peft_spec *sp, char *buf, size_t n) {
    if (sp->layer < 0)
        snprintf(buf, n, "final.%s", script_kind_name(sp->kind));
    else
        snprintf(buf, n, "L%d.%s.%s", sp->layer, script_kind_name(sp->kind),
                 script_target_name(sp->target));
}

static pf_status build_candidates(struct search *s, struct pf_err *err) {
    const struct run_config *c = &s->cfg;
    s->nc = s->t.p.n;
    s->c = xcalloc((size_t)(s->nc ? s->nc : 1), sizeof *s->c);
    s->mv = xcalloc((size_t)(s->nc ? s->nc : 1), sizeof *s->mv);
    s->mv_probs = xcalloc((size_t)(s->nc ? s->nc : 1) * SRANK_MAX, sizeof *s->mv_probs);
    for (int i = 0; i < s->nc; i++) {
        struct search_cand *cd = &s->c[i];
        const struct peft_module *md = &s->t.p.mod[i];
        const struct cfg_group *g = &c->space.group[md->s.kind];
        cd->pi = i;
        cd->kind = md->s.kind;
        cd->layer = md->s.layer;
        cand_name(&md->s, cd->name, sizeof cd->name);
        if (md->s.r_max > 0) {
            int k0 = 0;
            if (s->joint)
                cd->ranks[k0++] = 0;
            for (int k = 0; k < g->n_ranks; k++)
                cd->ranks[k0 + k] = g->ranks[k];
            cd->n_ranks = k0 + g->n_ranks;
            for (int k = 0; k < cd->n_ranks; k++)
                cd->cost[k] = cd->ranks[k] ? peft_param_count(&s->t.m, &md->s, cd->ranks[k]) : 0;
            cd->full_cost = cd->cost[cd->n_ranks - 1];
        } else {
            cd->cost[0] = cd->full_cost = peft_param_count(&s->t.m, &md->s, 0);
        }
        for (int j = 0; j < md->n_t; j++)
            cd->n_params += md->t[j].numel;
        cd->vbuf = xcalloc((size_t)(cd->n_params ? cd->n_params : 1), sizeof *cd->vbuf);
        if (c->search.method == CFG_METHOD_S3DELTA && cd->n_ranks > 0) {
            int want = c->search.s3delta_rank, k = want ? -1 : 0;
            for (int j = 0; j < cd->n_ranks && want; j++)
                if (cd->ranks[j] == want)
                    k = j;
            if (k < 0)
                return pf_err_set(err, PF_ERR_ARG, "%s: search.s3delta_rank: %d is not a "
                                  "candidate rank of space.%s", c->file, want,
                                  script_kind_name(cd->kind));
            cd->fixed = 1;
            cd->fixed_idx = k;
        }
    }
    search_init_logits(s);
    search_expected_params(s, 1);
    return PF_OK;
}

int search_method_searches(const struct run_config *c) {
    return c->search.method == CFG_METHOD_BIPEFT || c->search.method == CFG_METHOD_S3DELTA;
}

int search_selective(const struct search *s) {
    return s->cfg.search.method == CFG_METHOD_BIPEFT && s->cfg.search.early_stop && !s->joint;
}

/* The smallest module a structure can hold: the cheapest candidate at its smallest rank. */
static int64_t smallest_module(const struct search *s, int *which) {
    int64_t best = -1;
    *which = -1;
    for (int i = 0; i < s->nc; i++) {
        const struct search_cand *cd = &s->c[i];
        for (int k = 0; k < (cd->n_ranks ? cd->n_ranks : 1); k++)
            if (cd->cost[k] > 0 && (best < 0 || cd->cost[k] < best)) {
                best = cd->cost[k];
                *which = i;
            }
    }
    return best;
}

/* The model, tokenizer and data, the budget, the supernet's candidates and the two data
 * halves, from s->cfg: every check of the config against the model and the data, and nothing
 * written, so that a fresh session is refused before its folder exists. */
static pf_status setup_engine(struct search *s, struct pf_err *err) {
    const struct run_config *c = &s->cfg;
    s->joint = !c->search.iterative && c->search.method == CFG_METHOD_BIPEFT;
    pf_status st = trainer_open(&s->t, c, s->be, err);
    if (st != PF_OK)
        return st;
    s->have_trainer = 1;
    s->t.quiet = 1;
    /* the budget */
    if (c->budget.params > 0) {
        s->budget = c->budget.params;
    } else {
        int64_t base = 0;
        for (int i = 0; i < s->t.m.n_params; i++)
            if (!s->t.m.params[i].head)
                base += model_param_numel(&s->t.m.params[i]);
        s->budget = (int64_t)floor(c->budget.fraction * (double)base);
    }
    if (s->budget < 1 && c->search.method != CFG_METHOD_FULL)
        return pf_err_set(err, PF_ERR_ARG, "%s: budget: %g of the backbone is less than one "
                          "parameter", c->file, c->budget.fraction);
    if (c->search.method != CFG_METHOD_FULL) {
        struct peft_spec *specs = NULL;
        int n = 0;
        st = train_space_specs(c, &s->t.m, &specs, &n, err);
        if (st == PF_OK && n == 0)
            st = pf_err_set(err, PF_ERR_ARG, "%s: space: no candidate module", c->file);
        PF_STEP(st, trainer_build(&s->t, specs, n, 0, err));
        xfree(specs);
        PF_STEP(st, build_candidates(s, err));
        if (st != PF_OK)
            return st;
        int which;
        int64_t least = smallest_module(s, &which);
        if (least > s->budget)
            return pf_err_set(err, PF_ERR_ARG, "%s: budget: %lld parameters cannot hold any "
                              "module of the space: the smallest, %s, costs %lld (raise the "
                              "budget to at least %lld)", c->file, (long long)s->budget,
                              s->c[which].name, (long long)least, (long long)least);
    }
    s->stages_total = s->stages_left = c->search.stages;
    if (search_method_searches(c)) {
        int64_t *a = NULL, *b = NULL, na = 0, nb = 0;
        PF_STEP(st, data_split_half(s->t.enc[TE_TRAIN].n, c->task.search_split, c->seed, &a,
                                    &na, &b, &nb, err));
        if (st == PF_OK && (na == 0 || nb == 0))
            st = pf_err_set(err, PF_ERR_ARG, "%s: %lld training examples cannot be split into "
                            "a weight half and an architecture half", c->task.train,
                            (long long)s->t.enc[TE_TRAIN].n);
        s->idx_w = a;
        s->idx_a = b;
        s->n_w = na;
        s->n_a = nb;
        struct data_loader_opts ow = {.batch_size = c->optim.batch_size, .shuffle = 1,
                                      .seed = c->seed, .idx = a, .n_idx = na,
                                      .pad_id = s->t.pad_id};
        struct data_loader_opts oa = ow;
        oa.seed = c->seed + 1;
        oa.idx = b;
        oa.n_idx = nb;
        PF_STEP(st, data_loader_create(&s->ld_w, &s->t.enc[TE_TRAIN], &ow, err));
        PF_STEP(st, data_loader_create(&s->ld_a, &s->t.enc[TE_TRAIN], &oa, err));
        if (st != PF_OK)
            return st;
        s->per_epoch = data_loader_batches(s->ld_w);
        s->planned = s->per_epoch * c->optim.epochs;
    }
    return st;
}

/* Everything a session needs, from DIR/config.lua (new sessions write it first): the folder's
 * lock, the config and policy, the engine (unless search_open set it up already from the
 * same config), the log and its meta. */
static pf_status setup(struct search *s, int create, struct pf_err *err) {
    char p[1100];
    snprintf(p, sizeof p, "%s/config.lua", s->dir);
    pf_status st = s->lock_fd >= 0 ? PF_OK : search_session_lock(s->dir, &s->lock_fd, err);
    if (st != PF_OK)
        return st;
    s->pol = script_policy_new(NULL);
    st = script_policy_load(s->pol, p, NULL, err);
    if (st != PF_OK)
        return st;
    s->cfg = *script_policy_config(s->pol);
    const struct run_config *c = &s->cfg;
    if (s->have_trainer)
        s->t.cfg = s->cfg; /* the same values, every path absolute: as a resume opens it */
    else
        st = setup_engine(s, err);
    PF_STEP(st, search_log_open(s->dir, create, &s->log, err));
    if (st != PF_OK)
        return st;
    struct search_sink ls;
    search_log_sink(s->log, &ls);
    s->sinks[s->n_sinks++] = ls;
    /* where a policy reload reads from: given by search_open, else (a resume) the session's
     * meta, else (a session older than the key) the session's copy */
    if (!s->policy_source[0])
        st = search_log_get_meta(s->log, "policy_source", s->policy_source,
                                 sizeof s->policy_source, err);
    if (st == PF_OK && !s->policy_source[0])
        snprintf(s->policy_source, sizeof s->policy_source, "%s", script_policy_file(s->pol));
    if (st != PF_OK)
        return st;
    if (create) {
        char lbl[64], now[32];
        search_method_label(c, lbl, sizeof lbl);
        time_t tt = time(NULL);
        struct tm tm;
        localtime_r(&tt, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S", &tm);
        PF_STEP(st, search_set_meta(s, "created", now, err));
        PF_STEP(st, search_set_meta(s, "task", c->task.name, err));
        PF_STEP(st, search_set_meta(s, "model", c->model.path, err));
        PF_STEP(st, search_set_meta(s, "method", lbl, err));
        PF_STEP(st, search_set_meta_num(s, "budget", (double)s->budget, err));
        PF_STEP(st, search_set_meta(s, "metric", metric_name(s->t.task.metrics[0]), err));
        PF_STEP(st, search_set_meta(s, "policy_source", s->policy_source, err));
    }
    if (create)
        PF_STEP(st, search_set_meta(s, "status", "searching", err));
    return st;
}

static struct search *alloc_search(struct backend *be, const struct search_opts *o) {
    struct search *s = xcalloc(1, sizeof *s);
    s->be = be;
    if (o)
        s->opts = *o;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* timed waits immune to clock changes */
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->t0 = progress_now();
    s->lock_fd = -1;
    s->flag = SSTAGE_BINARY;
    s->global_stab = NAN;
    return s;
}

/* A session from its config.lua: the set-up, the first events, the config's pins, a
 * snapshot of every candidate (its cost and rank distribution before the first step), and the
 * checkpoint at iteration 0 (from which a run killed at any later moment can resume). */
static pf_status start_fresh(struct search *s, struct pf_err *err) {
    pf_status st = setup(s, 1, err);
    PF_STEP(st, search_log_truncate(s->log, 0, err)); /* a start killed before its checkpoint */
    if (st == PF_OK) {
        char lbl[64];
        search_method_label(&s->cfg, lbl, sizeof lbl);
        struct search_event ev;
        search_event_init(s, &ev, SEV_START, "engine");
        ev.value = (double)s->budget;
        ev.n = s->nc;
        snprintf(ev.text, sizeof ev.text, "%s", lbl);
        search_emit(s, &ev);
        search_emit_text(s, SEV_PHASE, "engine", search_method_searches(&s->cfg) ? "search" : "structure");
        for (int i = 0; i < s->cfg.search.n_pin && st == PF_OK; i++) {
            struct search_request rq = {.type = SREQ_PIN};
            snprintf(rq.module, sizeof rq.module, "%s", s->cfg.search.pin[i]);
            st = search_apply(s, &rq, "config", err);
            if (st != PF_OK) {
                char why[sizeof err->msg];
                snprintf(why, sizeof why, "%s", err->msg);
                st = pf_err_set(err, st, "%s: search.pin[%d]: %.400s", s->cfg.file, i + 1, why);
            }
        }
        if (st == PF_OK)
            search_emit_snapshot(s);
        PF_STEP(st, search_checkpoint(s, err));
    }
    return st;
}

pf_status search_open(struct search **out, const struct run_config *cfg, struct backend *be,
                      const struct search_opts *o, struct pf_err *err) {
    *out = NULL;
    struct search *s = alloc_search(be, o);
    char lbl[64];
    search_method_label(cfg, lbl, sizeof lbl);
    pf_status st = search_session_policy_source(cfg, s->policy_source,
                                                sizeof s->policy_source, err);
    if (st == PF_OK) { /* every check of the config, the model and the data before any write */
        s->cfg = *cfg;
        st = setup_engine(s, err);
    }
    PF_STEP(st, search_session_dir(cfg, lbl, o ? o->session_dir : NULL, s->dir, sizeof s->dir,
                                   err));
    PF_STEP(st, search_session_write_config(cfg, s->dir, err));
    PF_STEP(st, start_fresh(s, err));
    if (st != PF_OK) {
        if (s->log) {
            struct pf_err e2;
            search_log_set_meta(s->log, "status", "failed", &e2);
            search_emit_text(s, SEV_ERROR, "engine", err->msg);
            search_log_flush(s->log, &e2);
        }
        search_close(s);
        return st;
    }
    *out = s;
    return PF_OK;
}

static int max_step(void *ctx, const struct search_event *ev) {
    int64_t *m = ctx;
    if (ev->step > *m)
        *m = ev->step;
    return 0;
}

/* The last iteration the session's log records (0 when it has no log, or no step yet). */
static int64_t logged_iterations(const char *dir) {
    int64_t n = 0;
    char p[1100];
    snprintf(p, sizeof p, "%s/log.db", dir);
    if (access(p, F_OK) != 0)
        return 0;
    /* a log that cannot be read (torn while it was made) holds no steps: as before, the
     * session starts again */
    struct search_log *lg = NULL;
    struct pf_err e2 = {0};
    if (search_log_open(dir, 0, &lg, &e2) == PF_OK &&
        search_log_each(lg, SEV_STEP, max_step, &n, &e2) != PF_OK)
        n = 0;
    search_log_close(lg);
    return n;
}

pf_status search_resume(struct search **out, const char *dir, struct backend *be,
                        const struct search_opts *o, struct pf_err *err) {
    *out = NULL;
    struct search *s = alloc_search(be, o);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    char p[1100], q[1100];
    snprintf(p, sizeof p, "%s/checkpoint.bin", dir);
    snprintf(q, sizeof q, "%s/checkpoint.prev.bin", dir);
    int have = access(p, R_OK) == 0, have_prev = access(q, R_OK) == 0;
    /* the newest complete checkpoint: checkpoint.bin; without it (killed between keeping the
     * previous one and writing the next) the previous one */
    const char *file = o && o->previous ? "checkpoint.prev.bin"
                       : have           ? "checkpoint.bin"
                                        : "checkpoint.prev.bin";
    pf_status st = PF_OK;
    if (o && o->previous && !have_prev)
        st = pf_err_set(err, PF_ERR_IO, "%s: no previous checkpoint (checkpoint.prev.bin)", dir);
    if (st == PF_OK && !have && !have_prev) {
        /* killed before its first checkpoint: start again from the session's config */
        snprintf(p, sizeof p, "%s/config.lua", dir);
        if (access(p, R_OK) != 0)
            st = pf_err_set(err, PF_ERR_IO, "%s: not a session folder (no config.lua; if a "
                            "search was killed while it started, run it again)", dir);
        int64_t ran = st == PF_OK && !(o && o->restart) ? logged_iterations(dir) : 0;
        if (ran > 0)
            st = pf_err_set(err, PF_ERR_IO, "%s: the checkpoints (checkpoint.bin, "
                            "checkpoint.prev.bin) are gone, but the log shows the search at "
                            "iteration %lld: a resume would start again at iteration 0 and "
                            "drop the log; to do that, run bipeft resume %s --restart", dir,
                            (long long)ran, dir);
        PF_STEP(st, start_fresh(s, err));
    } else if (st == PF_OK) {
        st = setup(s, 0, err);
        int64_t seq = 0;
        if (st == PF_OK) /* the advice below only when the checkpoint itself is damaged */
            st = search_ckpt_read(s, file, &seq, err);
        else
            file = ""; /* set-up failed (the log, say): --previous would fail the same way */
        if (st == PF_ERR_FORMAT && !strcmp(file, "checkpoint.bin") && have_prev) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            st = pf_err_set(err, st, "%.400s; the previous checkpoint can be used instead: "
                            "bipeft resume %s --previous", why, dir);
        }
        PF_STEP(st, search_log_truncate(s->log, seq, err));
        if (st == PF_OK)
            search_ckpt_cleanup(s);
    }
    if (st == PF_OK) {
        char n[32] = "", b[32];
        struct pf_err e2;
        search_log_get_meta(s->log, "resumes", n, sizeof n, &e2);
        snprintf(b, sizeof b, "%d", atoi(n) + 1);
        if (s->phase == SPH_DONE) {
            st = pf_err_set(err, PF_ERR_ARG, "%s: this session is already done (bipeft "
                            "sessions lists it; its adapter is in %s/retrain)", dir, dir);
        } else {
            st = search_log_set_meta(s->log, "resumes", b, err);
            PF_STEP(st, search_log_set_meta(s->log, "status", s->phase == SPH_RETRAIN
                                                                 ? "retraining"
                                                                 : "searching", err));
        }
    }
    if (st != PF_OK) {
        search_close(s);
        return st;
    }
    *out = s;
    return PF_OK;
}

void search_close(struct search *s) {
    if (!s)
        return;
    if (s->have_trainer)
        trainer_close(&s->t);
    data_loader_free(s->ld_w);
    data_loader_free(s->ld_a);
    free(s->idx_w);
    free(s->idx_a);
    for (int i = 0; i < s->nc; i++)
        xfree(s->c[i].vbuf);
    xfree(s->c);
    xfree(s->mv);
    xfree(s->mv_probs);
    xfree(s->loss_hist);
    xfree(s->metric_hist);
    script_policy_free(s->pol);
    search_log_close(s->log);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the session's lock */
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    xfree(s);
}
