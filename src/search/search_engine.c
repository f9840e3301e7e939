/* search_engine.c - the session's shared parts (search.h): events and the session's meta, the
 * interventions (requests, policy reload, checkpoints on demand) and the read-only state.
 * The set-up is in search_open.c, the loop in search_loop.c, the retraining in
 * search_retrain.c. */
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

void search_method_label(const struct run_config *c, char *buf, size_t n) {
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

void search_emit_text(struct search *s, enum search_event_type t, const char *source,
                      const char *text) {
    struct search_event ev;
    search_event_init(s, &ev, t, source);
    snprintf(ev.text, sizeof ev.text, "%.*s", (int)sizeof ev.text - 1, text);
    search_emit(s, &ev);
}

pf_status search_set_meta(struct search *s, const char *k, const char *v, struct pf_err *err) {
    return s->log ? search_log_set_meta(s->log, k, v, err) : PF_OK;
}

pf_status search_set_meta_num(struct search *s, const char *k, double v, struct pf_err *err) {
    char b[64];
    if (isnan(v))
        snprintf(b, sizeof b, "-");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(b, sizeof b, "%lld", (long long)v);
    else
        snprintf(b, sizeof b, "%.6g", v);
    return search_set_meta(s, k, b, err);
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
        search_emit_text(s, SEV_REFUSED, source, err->msg);
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
    if (st == PF_OK && !search_method_searches(&s->cfg))
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
int search_drain_requests(struct search *s) {
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

/* ---- read-only state ---- */

int search_paused(const struct search *s) { return s->paused; }

const char *search_dir(const struct search *s) { return s->dir; }

const char *search_policy_source(const struct search *s) { return s->policy_source; }

enum search_phase search_phase_of(const struct search *s) { return s->phase; }

const char *search_phase_name(enum search_phase p) {
    static const char *const names[] = {[SPH_SEARCH] = "search", [SPH_GUARD] = "guard",
                                        [SPH_RETRAIN] = "retrain", [SPH_DONE] = "done",
                                        [SPH_FAILED] = "failed"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}

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
