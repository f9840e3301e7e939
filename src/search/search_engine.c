/* search_engine.c - a session from start to end (search.h): set-up (the supernet, its
 * candidates, the two data halves), the iteration loop, the termination guard, the structure,
 * the retraining, events, interventions and the session's files. */
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

/* The label runs carry: the method plus what an ablation changed. */
static void method_label(const struct run_config *c, char *buf, size_t n) {
    const char *m = cfg_method_name(c->search.method);
    if (c->search.method != CFG_METHOD_BIPEFT) {
        snprintf(buf, n, "%s", m);
        return;
    }
    snprintf(buf, n, "bipeft%s%s%s%s", c->search.iterative ? "" : "-noiter",
             c->search.order == CFG_ORDER_BINARY_THEN_RANK   ? "-binary-then-rank"
             : c->search.order == CFG_ORDER_RANK_THEN_BINARY ? "-rank-then-binary"
                                                             : "",
             c->search.gumbel ? "" : "-nogumbel", c->search.early_stop ? "" : "-noes");
}

/* ---- events ---- */

void search_event_init(const struct search *s, struct search_event *ev,
                       enum search_event_type type, const char *source) {
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->module = -1;
    ev->value2 = NAN;
    ev->expected = NAN; /* NaN / -1: search_emit fills in E and the hard count */
    ev->current = -1;
    snprintf(ev->source, sizeof ev->source, "%s", source ? source : "engine");
    (void)s;
}

void search_emit(struct search *s, struct search_event *ev) {
    ev->seq = ++s->seq;
    if (ev->type != SEV_TRAIN) { /* a training run's progress carries its own step and epoch */
        ev->step = s->it;
        ev->epoch = s->epoch;
    }
    ev->stage = s->stages_left;
    if (isnan(ev->expected))
        ev->expected = s->nc ? search_expected_params(s, 0) : 0;
    if (ev->current < 0)
        ev->current = s->nc && s->phase <= SPH_GUARD ? search_hard_params(s) : 0;
    ev->seconds = s->seconds_before + (progress_now() - s->t0);
    for (int i = 0; i < s->n_sinks; i++)
        s->sinks[i].emit(s->sinks[i].ctx, ev);
}

pf_status search_add_sink(struct search *s, const struct search_sink *sink, struct pf_err *err) {
    if (s->n_sinks >= SEARCH_MAX_SINKS)
        return pf_err_set(err, PF_ERR_ARG, "search: at most %d sinks", SEARCH_MAX_SINKS);
    s->sinks[s->n_sinks++] = *sink;
    return PF_OK;
}

static void emit_text(struct search *s, enum search_event_type t, const char *source,
                      const char *text) {
    struct search_event ev;
    search_event_init(s, &ev, t, source);
    snprintf(ev.text, sizeof ev.text, "%.*s", (int)sizeof ev.text - 1, text);
    search_emit(s, &ev);
}

static pf_status set_meta(struct search *s, const char *k, const char *v, struct pf_err *err) {
    return s->log ? search_log_set_meta(s->log, k, v, err) : PF_OK;
}

static pf_status set_meta_num(struct search *s, const char *k, double v, struct pf_err *err) {
    char b[64];
    if (isnan(v))
        snprintf(b, sizeof b, "-");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(b, sizeof b, "%lld", (long long)v);
    else
        snprintf(b, sizeof b, "%.6g", v);
    return set_meta(s, k, b, err);
}

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

static int needs_search(const struct run_config *c) {
    return c->search.method == CFG_METHOD_BIPEFT || c->search.method == CFG_METHOD_S3DELTA;
}

static int selective(const struct search *s) {
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
    if (needs_search(c)) {
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
        method_label(c, lbl, sizeof lbl);
        time_t tt = time(NULL);
        struct tm tm;
        localtime_r(&tt, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S", &tm);
        PF_STEP(st, set_meta(s, "created", now, err));
        PF_STEP(st, set_meta(s, "task", c->task.name, err));
        PF_STEP(st, set_meta(s, "model", c->model.path, err));
        PF_STEP(st, set_meta(s, "method", lbl, err));
        PF_STEP(st, set_meta_num(s, "budget", (double)s->budget, err));
        PF_STEP(st, set_meta(s, "metric", metric_name(s->t.task.metrics[0]), err));
        PF_STEP(st, set_meta(s, "policy_source", s->policy_source, err));
    }
    if (create)
        PF_STEP(st, set_meta(s, "status", "searching", err));
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

static void emit_snapshot(struct search *s);

/* A session from its config.lua: the set-up, the first events, the config's pins, a
 * snapshot of every candidate (its cost and rank distribution before the first step), and the
 * checkpoint at iteration 0 (from which a run killed at any later moment can resume). */
static pf_status start_fresh(struct search *s, struct pf_err *err) {
    pf_status st = setup(s, 1, err);
    PF_STEP(st, search_log_truncate(s->log, 0, err)); /* a start killed before its checkpoint */
    if (st == PF_OK) {
        char lbl[64];
        method_label(&s->cfg, lbl, sizeof lbl);
        struct search_event ev;
        search_event_init(s, &ev, SEV_START, "engine");
        ev.value = (double)s->budget;
        ev.n = s->nc;
        snprintf(ev.text, sizeof ev.text, "%s", lbl);
        search_emit(s, &ev);
        emit_text(s, SEV_PHASE, "engine", needs_search(&s->cfg) ? "search" : "structure");
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
            emit_snapshot(s);
        PF_STEP(st, search_checkpoint(s, err));
    }
    return st;
}

pf_status search_open(struct search **out, const struct run_config *cfg, struct backend *be,
                      const struct search_opts *o, struct pf_err *err) {
    *out = NULL;
    struct search *s = alloc_search(be, o);
    char lbl[64];
    method_label(cfg, lbl, sizeof lbl);
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
            emit_text(s, SEV_ERROR, "engine", err->msg);
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
static pf_status logged_iterations(const char *dir, int64_t *n, struct pf_err *err) {
    *n = 0;
    char p[1100];
    snprintf(p, sizeof p, "%s/log.db", dir);
    if (access(p, F_OK) != 0)
        return PF_OK;
    /* a log that cannot be read (torn while it was made) holds no steps: as before, the
     * session starts again */
    struct search_log *lg = NULL;
    struct pf_err e2 = {0};
    if (search_log_open(dir, 0, &lg, &e2) == PF_OK &&
        search_log_each(lg, SEV_STEP, max_step, n, &e2) != PF_OK)
        *n = 0;
    search_log_close(lg);
    (void)err;
    return PF_OK;
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
        int64_t ran = 0;
        if (st == PF_OK && !(o && o->restart))
            st = logged_iterations(dir, &ran, err);
        if (st == PF_OK && ran > 0)
            st = pf_err_set(err, PF_ERR_IO, "%s: the checkpoints (checkpoint.bin, "
                            "checkpoint.prev.bin) are gone, but the log shows the search at "
                            "iteration %lld: a resume would start again at iteration 0 and "
                            "drop the log; to do that, run bipeft resume %s --restart", dir,
                            (long long)ran, dir);
        PF_STEP(st, start_fresh(s, err));
    } else if (st == PF_OK) {
        st = setup(s, 0, err);
        int64_t seq = 0;
        pf_status ck = st == PF_OK ? search_ckpt_read(s, file, &seq, err) : st;
        /* the advice only when the checkpoint itself is damaged (not, say, the log) */
        if (st == PF_OK && (st = ck) == PF_ERR_FORMAT && !strcmp(file, "checkpoint.bin") &&
            have_prev) {
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

/* ---- interventions ---- */

void search_request(struct search *s, const struct search_request *rq) {
    pthread_mutex_lock(&s->mu);
    if (s->pend.n < (int)(sizeof s->pend.rq / sizeof s->pend.rq[0]))
        s->pend.rq[s->pend.n++] = *rq;
    pthread_cond_broadcast(&s->cv); /* wakes search_serve while paused */
    pthread_mutex_unlock(&s->mu);
}

int search_find(const struct search *s, const char *name) {
    for (int i = 0; i < s->nc; i++)
        if (!strcmp(s->c[i].name, name))
            return i;
    return -1;
}

/* The text P loaded its policy from (borrowed from its recorded sources: exactly what runs,
 * even if the file changed since). */
static const char *loaded_policy_text(struct script_policy *P, size_t *len, struct pf_err *err) {
    const char *file = script_policy_file(P);
    const struct script_sources *src = script_sources_of(script_policy_script(P));
    for (int i = 0; src && i < src->n; i++)
        if (!strcmp(src->v[i].path, file)) {
            *len = src->v[i].len;
            return src->v[i].text;
        }
    pf_err_set(err, PF_ERR_SCRIPT, "%s: not among the files the policy was loaded from", file);
    return NULL;
}

/* SREQ_RELOAD_POLICY: the policy file the session started from, loaded into a fresh policy
 * against DIR/config.lua. On failure the policy in force stays and a refused event says why.
 * On success its text replaces DIR/policy.lua (what a resume loads), the old policy's saved
 * state goes to the new one's load hook, and the new one takes over. */
static pf_status reload_policy(struct search *s, const char *source, struct pf_err *err) {
    char cfgp[1100], dst[1100];
    snprintf(cfgp, sizeof cfgp, "%s/config.lua", s->dir);
    snprintf(dst, sizeof dst, "%s/policy.lua", s->dir);
    const char *from = s->policy_source[0] ? s->policy_source : "default";
    struct script_policy *np = script_policy_new(NULL);
    pf_status st = script_policy_load(np, cfgp, from, err);
    if (st == PF_OK && strcmp(from, "default") != 0) {
        size_t len = 0;
        const char *text = loaded_policy_text(np, &len, err);
        st = text ? atomic_write(dst, text, len, err) : PF_ERR_SCRIPT;
    }
    if (st != PF_OK) {
        script_policy_free(np);
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        st = pf_err_set(err, st, "policy reload: %.480s", why);
        emit_text(s, SEV_REFUSED, source, err->msg);
        return st;
    }
    /* the policy's own state: old save() -> new load(t); a failure keeps the fresh state */
    char *state = NULL;
    struct pf_err e2 = {0};
    pf_status ss = script_policy_save_state(s->pol, &state, &e2);
    if (ss == PF_OK)
        ss = script_policy_load_state(np, state, &e2);
    free(state);
    if (ss != PF_OK) {
        /* a load hook that failed half-way: a clean state again, from the text just written
         * to DIR/policy.lua (should even that fail, e.g. out of memory, np stays as it is) */
        struct pf_err e3 = {0};
        (void)script_policy_load(np, cfgp, strcmp(from, "default") ? dst : "default", &e3);
    }
    script_policy_free(s->pol);
    s->pol = np;
    struct search_event ev;
    search_event_init(s, &ev, SEV_LOG, source);
    /* a path too long for the text keeps its end (the file name) */
    size_t room = ss == PF_OK ? 130 : 60, fl = strlen(from);
    const char *tail = fl > room ? from + fl - room + 3 : from;
    if (ss == PF_OK)
        snprintf(ev.text, sizeof ev.text, "policy reloaded from %s%.130s",
                 tail != from ? "..." : "", tail);
    else
        snprintf(ev.text, sizeof ev.text, "policy reloaded from %s%.60s (its state was not "
                 "carried over: %.40s)", tail != from ? "..." : "", tail, e2.msg);
    search_emit(s, &ev);
    return PF_OK;
}

pf_status search_apply(struct search *s, const struct search_request *rq, const char *source,
                       struct pf_err *err) {
    pf_status st = PF_OK;
    enum script_verb verb = SCRIPT_VERB_LOG;
    int mod = -1;
    switch (rq->type) {
    case SREQ_PIN: verb = SCRIPT_VERB_PIN; break;
    case SREQ_UNPIN: verb = SCRIPT_VERB_UNPIN; break;
    case SREQ_PRUNE: verb = SCRIPT_VERB_PRUNE; break;
    case SREQ_FIX_RANK: verb = SCRIPT_VERB_FIX_RANK; break;
    case SREQ_BUDGET: verb = SCRIPT_VERB_SET_BUDGET; break;
    case SREQ_PAUSE:
    case SREQ_RESUME: {
        s->paused = rq->type == SREQ_PAUSE;
        struct search_event ev;
        search_event_init(s, &ev, SEV_PAUSE, source);
        ev.value = s->paused;
        search_emit(s, &ev);
        return PF_OK;
    }
    case SREQ_CHECKPOINT:
        return search_checkpoint(s, err);
    case SREQ_STOP:
        s->stop = 1;
        return PF_OK;
    case SREQ_RELOAD_POLICY:
        return reload_policy(s, source, err);
    }
    if (verb != SCRIPT_VERB_SET_BUDGET) {
        mod = search_find(s, rq->module);
        if (mod < 0)
            st = pf_err_set(err, PF_ERR_ARG, "no candidate module named '%s' (names look like "
                            "L3.lora.q or final.ln)", rq->module);
    }
    if (st == PF_OK && s->phase != SPH_SEARCH)
        st = pf_err_set(err, PF_ERR_ARG, "the search is over (%s); interventions apply only "
                        "while it runs", s->phase == SPH_RETRAIN ? "retraining" : "done");
    if (st == PF_OK && !needs_search(&s->cfg))
        st = pf_err_set(err, PF_ERR_ARG, "method %s has no search to steer",
                        cfg_method_name(s->cfg.search.method));
    if (st == PF_OK)
        st = search_act(s, verb, mod, (double)rq->value, source, err);
    if (st != PF_OK) {
        struct search_event ev;
        search_event_init(s, &ev, SEV_REFUSED, source);
        ev.module = mod;
        ev.value = (double)rq->value;
        snprintf(ev.text, sizeof ev.text, "%.*s", (int)sizeof ev.text - 1, err->msg);
        search_emit(s, &ev);
    }
    return st;
}

/* Requests queued by other threads, applied now; 1 when any was applied. */
static int drain_requests(struct search *s) {
    struct search_pending p;
    pthread_mutex_lock(&s->mu);
    p = s->pend;
    s->pend.n = 0;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < p.n; i++) {
        struct pf_err e = {0};
        (void)search_apply(s, &p.rq[i], "user", &e);
    }
    return p.n > 0;
}

pf_status search_checkpoint(struct search *s, struct pf_err *err) {
    pf_status st = search_log_flush(s->log, err);
    PF_STEP(st, search_log_sink_error(s->log, err));
    PF_STEP(st, search_ckpt_write(s, err));
    return st; /* no event: a resumed run must log exactly what an uninterrupted one does */
}

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

static void emit_snapshot(struct search *s) {
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

/* One iteration: architecture step, weight step, statistics, policy. *end = 1 when the
 * search is over. */
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
        if (selective(s))
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
        if (selective(s))
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
    if (selective(s) && s->stages_left > 0 && s->epoch >= c->search.prune_begin_epoch) {
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
        emit_snapshot(s);
    if (s->it % s->per_epoch == 0)
        st = eval_dev(s, err);
    if (stop || (selective(s) && s->stages_left == 0) || s->it >= s->planned)
        *end = 1;
    return st;
}

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

static pf_status finish_search(struct search *s, struct pf_err *err) {
    pf_status st = PF_OK;
    s->res.early_stopped = s->it < s->planned;
    if (selective(s)) {
        s->phase = SPH_GUARD;
        if (s->stages_left > 0)
            emit_text(s, SEV_PHASE, "guard", "guard");
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
    snprintf(ev.text, sizeof ev.text, "retrain");
    if (st == PF_OK) {
        search_emit(s, &ev);
        st = set_meta_num(s, "params", (double)s->res.params, err);
        PF_STEP(st, set_meta_num(s, "search_seconds", s->search_seconds, err));
        PF_STEP(st, set_meta(s, "status", "retraining", err));
        PF_STEP(st, search_checkpoint(s, err));
    }
    return st;
}

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
static pf_status retrain(struct search *s, struct pf_err *err) {
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
static pf_status baseline_lora(struct search *s, struct pf_err *err) {
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

static pf_status write_summary(struct search *s, struct pf_err *err) {
    char buf[2048], path[1100];
    const struct search_result *r = &s->res;
    int n = snprintf(buf, sizeof buf,
                     "{\n  \"format\": \"bipeft-search-summary\",\n  \"task\": \"%s\",\n"
                     "  \"method\": \"%s\",\n  \"budget\": %lld,\n  \"params\": %lld,\n"
                     "  \"modules\": %d,\n  \"iterations\": %lld,\n  \"planned\": %lld,\n"
                     "  \"stages_done\": %d,\n  \"stages_total\": %d,\n  \"early_stopped\": %s,\n"
                     "  \"guard_stages\": %d,\n  \"metric\": \"%s\",\n  \"dev\": %.6f,\n"
                     "  \"test\": %.6f,\n  \"search_seconds\": %.3f,\n"
                     "  \"retrain_seconds\": %.3f",
                     s->t.task.name, cfg_method_name(s->cfg.search.method), (long long)r->budget,
                     (long long)r->params, r->n_modules, (long long)r->iterations,
                     (long long)r->planned, r->stages_done, r->stages_total,
                     r->early_stopped ? "true" : "false", r->guard_stages, r->metric,
                     isfinite(r->dev) ? r->dev : -1.0, isfinite(r->test) ? r->test : -1.0,
                     r->search_seconds, r->retrain_seconds);
    if (r->has_baseline) {
        const struct search_trained *b = &r->baseline;
        n += snprintf(buf + n, sizeof buf - (size_t)n,
                      ",\n  \"baseline\": {\"name\": \"%s\", \"rank\": %d, \"params\": %lld, "
                      "\"modules\": %d, \"dev\": %.6f, \"test\": %.6f, \"seconds\": %.3f, "
                      "\"dir\": \"baseline-lora/run\"}",
                      r->baseline_name, r->baseline_rank, (long long)b->params, b->n_modules,
                      isfinite(b->dev) ? b->dev : -1.0, isfinite(b->test) ? b->test : -1.0,
                      b->seconds);
    }
    n += snprintf(buf + n, sizeof buf - (size_t)n, "\n}\n");
    snprintf(path, sizeof path, "%s/summary.json", s->dir);
    return atomic_write(path, buf, (size_t)n, err);
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
    pf_status st = set_meta_num(s, "pid", (double)getpid(), err);
    while (st == PF_OK && s->phase == SPH_SEARCH) {
        if (drain_requests(s))
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
        int end = !needs_search(&s->cfg) || s->it >= s->planned;
        if (!end)
            st = iterate(s, &end, err);
        if (st == PF_OK)
            st = search_log_flush(s->log, err);
        if (st == PF_OK && end)
            st = finish_search(s, err);
        else if (st == PF_OK && s->cfg.search.checkpoint_every > 0 &&
                 s->it % s->cfg.search.checkpoint_every == 0)
            st = search_checkpoint(s, err);
    }
    if (st == PF_OK && s->phase == SPH_RETRAIN && !s->opts.no_retrain && !s->paused &&
        !s->stop && !s->res.interrupted) {
        st = s->cfg.search.retrain ? retrain(s, err) : PF_OK;
        if (st == PF_OK && !s->res.interrupted && s->cfg.search.baseline_lora &&
            s->cfg.search.method != CFG_METHOD_FULL)
            st = baseline_lora(s, err);
        if (st == PF_OK && !s->res.interrupted) {
            s->phase = SPH_DONE;
            fill_result(s);
            st = write_summary(s, err);
            struct search_event ev;
            search_event_init(s, &ev, SEV_DONE, "engine");
            ev.value = (double)s->res.params;
            ev.value2 = s->res.test;
            snprintf(ev.text, sizeof ev.text, "%s", s->res.metric);
            if (st == PF_OK)
                search_emit(s, &ev);
            PF_STEP(st, set_meta_num(s, "params", (double)s->res.params, err));
            PF_STEP(st, set_meta_num(s, "dev", s->res.dev, err));
            PF_STEP(st, set_meta_num(s, "test", s->res.test, err));
            PF_STEP(st, set_meta_num(s, "retrain_seconds", s->retrain_seconds, err));
            PF_STEP(st, set_meta(s, "status", "done", err));
            PF_STEP(st, search_checkpoint(s, err));
        }
    }
    fill_result(s);
    if (st != PF_OK) {
        struct pf_err e2;
        emit_text(s, SEV_ERROR, "engine", err->msg);
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

/* ---- read-only state ---- */

int search_paused(const struct search *s) { return s->paused; }

const char *search_dir(const struct search *s) { return s->dir; }
const char *search_policy_source(const struct search *s) { return s->policy_source; }
enum search_phase search_phase_of(const struct search *s) { return s->phase; }
int search_n_candidates(const struct search *s) { return s->nc; }
int64_t search_budget(const struct search *s) { return s->budget; }
int search_stages_left(const struct search *s) { return s->stages_left; }
int64_t search_iteration(const struct search *s) { return s->it; }
int64_t search_planned(const struct search *s) { return s->planned; }

double search_expected(const struct search *s) {
    return search_expected_params((struct search *)s, 0);
}

void search_cand_info(const struct search *s, int i, struct search_cand_info *o) {
    const struct search_cand *c = &s->c[i];
    memset(o, 0, sizeof *o);
    o->name = c->name;
    o->pruned = c->pruned;
    o->pinned = c->pinned;
    o->fixed = c->fixed;
    o->n_ranks = c->n_ranks;
    o->rank = c->n_ranks ? c->ranks[search_cur_rank_idx(c)] : 0;
    o->sensitivity = c->sens_i;
    o->stability = c->dsi;
    o->cost = c->e_cost;
    o->full_cost = c->full_cost;
}
