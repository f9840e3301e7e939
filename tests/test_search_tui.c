/* test_search_tui.c - what the engine offers a front end (the TUI) beyond a plain run: policy
 * reload (a good policy takes over and is what a resume runs; a broken one is refused naming
 * the file and line while the old one keeps acting), the snapshot at step 0 and the rank
 * distributions in snapshot texts, the retraining's progress events, and search_serve on a
 * worker thread (pause, reload while paused, resume, interrupt while paused). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "search_fixture.h"
#include "core/backend.h"
#include "script/script_config.h"
#include "search/search.h"
#include "search/search_internal.h"
#include "search/search_log.h"
#include "search/search_progress.h"

/* ---- helpers ---- */

struct collect {
    pthread_mutex_t mu;
    int n;
    struct search_event ev[8192];
    /* for threads watching a worker's run */
    atomic_int paused;
    atomic_llong last_step;
    atomic_int reloaded;
    /* a gate: at SEV_STEP == gate_step the sink waits until the test opens it */
    int gate_step, at_gate, gate_open;
    pthread_cond_t cv;
};

static void collect_emit(void *ctx, const struct search_event *ev) {
    struct collect *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (c->n < 8192)
        c->ev[c->n++] = *ev;
    if (ev->type == SEV_PAUSE)
        atomic_store(&c->paused, ev->value != 0);
    if (ev->type == SEV_STEP)
        atomic_store(&c->last_step, (long long)ev->step);
    if (ev->type == SEV_LOG && !strcmp(ev->source, "user") &&
        !strncmp(ev->text, "policy reloaded from ", 21))
        atomic_store(&c->reloaded, 1);
    if (ev->type == SEV_STEP && ev->step == c->gate_step) {
        c->at_gate = 1;
        pthread_cond_broadcast(&c->cv);
        while (!c->gate_open)
            pthread_cond_wait(&c->cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
}

static struct collect *collector(struct search *s) {
    struct collect *c = check_alloc(sizeof *c);
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->gate_step = -1;
    struct search_sink sk = {.emit = collect_emit, .ctx = c};
    struct pf_err err = {0};
    CHECK_OK(search_add_sink(s, &sk, &err), &err);
    return c;
}

static void collect_free(struct collect *c) {
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Wait (no time limit of its own: Criterion's timeout is the hang guard) until the worker's
 * run is held at the gate. */
static void wait_at_gate(struct collect *c) {
    pthread_mutex_lock(&c->mu);
    while (!c->at_gate)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static void open_gate(struct collect *c) {
    pthread_mutex_lock(&c->mu);
    c->gate_open = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Poll an atomic flag (a worker thread sets it through the sink); the hang guard is the
 * test's timeout, not a speed check. */
static void wait_flag(atomic_int *f, int want) {
    while (atomic_load(f) != want)
        sleep_ms(2);
}

static const char *const POLICY_V1 = "local P = peft.policy.default(...)\n"
                                     "P.on_step = function(s) s:log('v1') end\n"
                                     "return P\n";
static const char *const POLICY_V2 = "local P = peft.policy.default(...)\n"
                                     "P.on_step = function(s) s:log('v2') end\n"
                                     "return P\n";
static const char *const POLICY_V3 = "local P = peft.policy.default(...)\n"
                                     "P.on_step = function(s) s:log('v3') end\n"
                                     "return P\n";
/* a syntax error on line 2 */
static const char *const POLICY_BAD = "local P = peft.policy.default(...)\n"
                                      "P.on_step = function(s) s:log('v2') end end\n"
                                      "return P\n";

/* A session over the search fixture with the policy file `pol` (in the temp folder, holding
 * POLICY_V1), in <temp>/<dir>. */
static struct search *open_with_policy(const char *pol, const char *dir, struct backend **be,
                                       int no_retrain, const char *search_extra) {
    check_write_temp(pol, POLICY_V1);
    char extra[256], cfgname[128];
    snprintf(extra, sizeof extra, "policy = '%s',", pol);
    snprintf(cfgname, sizeof cfgname, "%s.cfg.lua", dir);
    return search_fixture_open(search_fixture_config(cfgname, search_extra, extra), dir, be,
                               no_retrain);
}

/* The absolute path of a file in the temp folder. */
static void temp_real(const char *name, char *out) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s", check_temp_dir(), name);
    cr_assert_not_null(realpath(p, out), "%s", p);
}

static void request(struct search *s, enum search_req_type t) {
    struct search_request rq = {.type = t};
    search_request(s, &rq);
}

/* Index of the first event of type t whose text starts with prefix (from `from`), or -1. */
static int find_ev(const struct collect *c, int from, enum search_event_type t,
                   const char *prefix) {
    for (int i = from; i < c->n; i++)
        if (c->ev[i].type == t && (!prefix || !strncmp(c->ev[i].text, prefix, strlen(prefix))))
            return i;
    return -1;
}

/* Policy log lines "on_step: vN" in [from, to): how many say `want`, and how many others. */
static void count_logs(const struct collect *c, int from, int to, const char *want, int *good,
                       int *other) {
    *good = *other = 0;
    for (int i = from; i < to && i < c->n; i++) {
        const struct search_event *e = &c->ev[i];
        if (e->type != SEV_LOG || strcmp(e->source, "policy") || strncmp(e->text, "on_step: ", 9))
            continue;
        if (!strcmp(e->text + 9, want))
            (*good)++;
        else
            (*other)++;
    }
}

static void read_meta(const char *dir, const char *key, char *buf, size_t n) {
    struct search_log *lg = NULL;
    struct pf_err err = {0};
    CHECK_OK(search_log_open(dir, 0, &lg, &err), &err);
    CHECK_OK(search_log_get_meta(lg, key, buf, n, &err), &err);
    search_log_close(lg);
}


static char *read_file(const char *dir, const char *name) {
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return check_read_file(p, NULL);
}

/* ---- policy reload ---- */

Test(search_tui, reload_of_a_good_policy_takes_over) {
    struct backend *be;
    struct search *s = open_with_policy("tui_good.lua", "reload-good", &be, 1, "");
    struct collect *c = collector(s);
    char src[PATH_MAX];
    temp_real("tui_good.lua", src);
    cr_assert_str_eq(search_policy_source(s), src);
    struct pf_err err = {0};
    struct search_result r;
    s->opts.stop_after = 5;
    CHECK_OK(search_run(s, &r, &err), &err);
    int good, other;
    count_logs(c, 0, c->n, "v1", &good, &other);
    cr_assert_eq(good, 5, "v1 logged %d times in 5 steps", good);
    cr_assert_eq(other, 0);
    /* the source file changes; a reload (queued as the TUI does) picks it up */
    check_write_temp("tui_good.lua", POLICY_V2);
    request(s, SREQ_RELOAD_POLICY);
    s->opts.stop_after = 10;
    int mark = c->n;
    CHECK_OK(search_run(s, &r, &err), &err);
    int at = find_ev(c, mark, SEV_LOG, "policy reloaded from ");
    cr_assert_geq(at, 0, "no reload event");
    cr_assert_str_eq(c->ev[at].source, "user");
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "policy reloaded from %s", src);
    cr_assert_str_eq(c->ev[at].text, want);
    cr_assert_eq(c->ev[at].step, 5, "the reload happened at step %lld, not at the boundary",
                 (long long)c->ev[at].step);
    count_logs(c, at, c->n, "v2", &good, &other);
    cr_assert_eq(good, 5, "v2 logged %d times in the 5 steps after the reload", good);
    cr_assert_eq(other, 0, "the old policy still acted after the reload");
    cr_assert_eq(find_ev(c, 0, SEV_REFUSED, NULL), -1);
    /* DIR/policy.lua holds the new text; the meta names the source */
    char dir[700];
    snprintf(dir, sizeof dir, "%s", search_dir(s));
    char *copy = read_file(dir, "policy.lua");
    cr_assert_str_eq(copy, POLICY_V2);
    free(copy);
    search_close(s);
    char meta[PATH_MAX];
    read_meta(dir, "policy_source", meta, sizeof meta);
    cr_assert_str_eq(meta, src);
    collect_free(c);
    backend_close(be);
}

Test(search_tui, reload_of_a_broken_policy_is_refused_and_the_old_one_keeps_acting) {
    struct backend *be;
    struct search *s = open_with_policy("tui_bad.lua", "reload-bad", &be, 1, "");
    struct collect *c = collector(s);
    struct pf_err err = {0};
    struct search_result r;
    s->opts.stop_after = 4;
    CHECK_OK(search_run(s, &r, &err), &err);
    check_write_temp("tui_bad.lua", POLICY_BAD);
    char src[PATH_MAX];
    temp_real("tui_bad.lua", src);
    /* applied directly: the error comes back */
    struct search_request rq = {.type = SREQ_RELOAD_POLICY};
    pf_status st = search_apply(s, &rq, "user", &err);
    cr_assert_neq(st, PF_OK);
    cr_assert(!strncmp(err.msg, "policy reload: ", 15), "%s", err.msg);
    char loc[PATH_MAX + 8];
    snprintf(loc, sizeof loc, "tui_bad.lua:2:");
    cr_assert(strstr(err.msg, loc), "the error does not name the file and line: %s", err.msg);
    int at = find_ev(c, 0, SEV_REFUSED, "policy reload: ");
    cr_assert_geq(at, 0, "no refused event");
    cr_assert(strstr(c->ev[at].text, loc), "%s", c->ev[at].text);
    cr_assert_str_eq(c->ev[at].source, "user");
    /* queued, as the TUI does: refused again, and the run goes on with the old policy */
    request(s, SREQ_RELOAD_POLICY);
    s->opts.stop_after = 0;
    int mark = c->n;
    CHECK_OK(search_run(s, &r, &err), &err);
    cr_assert_geq(find_ev(c, mark, SEV_REFUSED, "policy reload: "), 0);
    cr_assert_eq(find_ev(c, 0, SEV_LOG, "policy reloaded"), -1);
    int good, other;
    count_logs(c, mark, c->n, "v1", &good, &other);
    cr_assert_eq(good, r.iterations - 4, "v1 logged %d times in %lld steps", good,
                 (long long)(r.iterations - 4));
    cr_assert_eq(other, 0);
    cr_assert_eq(search_phase_of(s), SPH_RETRAIN, "the search did not complete");
    char *copy = read_file(search_dir(s), "policy.lua");
    cr_assert_str_eq(copy, POLICY_V1, "DIR/policy.lua changed after a refused reload");
    free(copy);
    search_close(s);
    collect_free(c);
    backend_close(be);
}

Test(search_tui, a_resume_after_a_reload_runs_the_reloaded_policy) {
    struct backend *be;
    struct search *s = open_with_policy("tui_resume.lua", "reload-resume", &be, 1, "");
    struct pf_err err = {0};
    struct search_result r;
    s->opts.stop_after = 4;
    CHECK_OK(search_run(s, &r, &err), &err);
    check_write_temp("tui_resume.lua", POLICY_V2);
    request(s, SREQ_RELOAD_POLICY);
    s->opts.stop_after = 5; /* the reload is checkpointed at step 4, before step 5 */
    CHECK_OK(search_run(s, &r, &err), &err);
    char dir[700];
    snprintf(dir, sizeof dir, "%s", search_dir(s));
    search_close(s);
    /* the source changes again: a resume runs the session's copy (v2), not the file */
    check_write_temp("tui_resume.lua", POLICY_V3);
    struct search_opts o = {.quiet = 1, .no_retrain = 1, .stop_after = 9};
    CHECK_OK(search_resume(&s, dir, be, &o, &err), &err);
    char src[PATH_MAX];
    temp_real("tui_resume.lua", src);
    cr_assert_str_eq(search_policy_source(s), src, "the resumed session lost its policy source");
    int64_t from = search_iteration(s);
    cr_assert_geq(from, 4);
    struct collect *c = collector(s);
    CHECK_OK(search_run(s, &r, &err), &err);
    int good, other;
    count_logs(c, 0, c->n, "v2", &good, &other);
    cr_assert_eq(good, 9 - from, "v2 logged %d times in %lld resumed steps", good,
                 (long long)(9 - from));
    cr_assert_eq(other, 0, "the resumed run did not run the reloaded policy");
    /* a reload in the resumed session reads the original source again */
    request(s, SREQ_RELOAD_POLICY);
    s->opts.stop_after = 11;
    int mark = c->n;
    CHECK_OK(search_run(s, &r, &err), &err);
    count_logs(c, mark, c->n, "v3", &good, &other);
    cr_assert_eq(good, 2);
    cr_assert_eq(other, 0);
    search_close(s);
    collect_free(c);
    backend_close(be);
}

Test(search_tui, reload_of_the_default_policy) {
    struct backend *be;
    struct pf_err err = {0};
    struct run_config cfg;
    CHECK_OK(script_config_load(search_fixture_config("tui_default.lua", "", ""), NULL, &cfg,
                                &err), &err);
    be = backend_open("cpu", 1, &err);
    char sd[700];
    snprintf(sd, sizeof sd, "%s/reload-default", check_temp_dir());
    struct search_opts o = {.session_dir = sd, .quiet = 1, .no_retrain = 1};
    struct search *s = NULL;
    CHECK_OK(search_open(&s, &cfg, be, &o, &err), &err);
    cr_assert_str_eq(search_policy_source(s), "default");
    struct collect *c = collector(s);
    struct search_request rq = {.type = SREQ_RELOAD_POLICY};
    CHECK_OK(search_apply(s, &rq, "user", &err), &err);
    int at = find_ev(c, 0, SEV_LOG, "policy reloaded from default");
    cr_assert_geq(at, 0);
    struct search_result r;
    CHECK_OK(search_run(s, &r, &err), &err);
    cr_assert_eq(search_phase_of(s), SPH_RETRAIN);
    char p[800];
    snprintf(p, sizeof p, "%s/policy.lua", sd);
    cr_assert_neq(access(p, F_OK), 0, "a default-policy session got a policy.lua");
    search_close(s);
    collect_free(c);
    backend_close(be);
}

/* ---- snapshots ---- */

/* Parse "NAME\tr=1:0.123,4:0.500" into ranks/probs; returns the count (0: no TAB part). */
static int parse_snapshot(const char *text, char *name, size_t nn, int *ranks, double *probs) {
    const char *tab = strchr(text, '\t');
    snprintf(name, nn, "%.*s", (int)(tab ? tab - text : (long)strlen(text)), text);
    if (!tab)
        return 0;
    cr_assert(!strncmp(tab + 1, "r=", 2), "snapshot text '%s': no r= after the TAB", text);
    const char *p = tab + 3;
    int n = 0;
    for (;;) {
        char *end;
        long rk = strtol(p, &end, 10);
        cr_assert(end != p && *end == ':', "snapshot text '%s': bad rank at '%s'", text, p);
        p = end + 1;
        double pr = strtod(p, &end);
        cr_assert(end != p, "snapshot text '%s': bad probability at '%s'", text, p);
        cr_assert_eq(end - p, 5, "snapshot text '%s': not %%.3f at '%s'", text, p);
        ranks[n] = (int)rk;
        probs[n] = pr;
        n++;
        p = end;
        if (*p == '\0')
            break;
        cr_assert_eq(*p, ',', "snapshot text '%s': bad separator at '%s'", text, p);
        p++;
    }
    return n;
}

/* Every candidate's snapshot event in [from, to) of l at step `step` matches the engine's
 * state: name, cost, and (for modules with ranks) the candidate ranks in order with their
 * probabilities (the softmax of the rank logits, one-hot when fixed) summing to ~1. */
static void check_snapshot(const struct evlist *l, int64_t step, struct search *s) {
    int seen[64] = {0}, n = 0;
    for (int i = 0; i < l->n; i++) {
        const struct search_event *e = &l->ev[i];
        if (e->type != SEV_SENSITIVITY || e->step != step)
            continue;
        n++;
        cr_assert(e->module >= 0 && e->module < search_n_candidates(s));
        seen[e->module]++;
        const struct search_cand *c = &s->c[e->module];
        char name[64], mod[64];
        int ranks[16];
        double probs[16];
        int k = parse_snapshot(e->text, name, sizeof name, ranks, probs);
        cr_assert_str_eq(name, c->name);
        search_event_module_name(e, mod, sizeof mod);
        cr_assert_str_eq(mod, c->name);
        cr_assert_eq(e->n, c->full_cost, "%s: full cost %lld, want %lld", c->name,
                     (long long)e->n, (long long)c->full_cost);
        cr_assert(c->pruned ? e->tau == 0 : e->tau > 0, "%s: expected cost %g", c->name,
                  e->tau);
        cr_assert_eq(k, c->n_ranks, "%s: %d probabilities for %d candidate ranks", c->name, k,
                     c->n_ranks);
        double sum = 0, want[16];
        search_rank_probs(c, want);
        for (int j = 0; j < k; j++) {
            cr_assert_eq(ranks[j], c->ranks[j], "%s: rank %d is %d, want %d", c->name, j,
                         ranks[j], c->ranks[j]);
            cr_assert(fabs(probs[j] - want[j]) <= 0.0005 + 1e-12, "%s: P(r=%d) %.3f, want %.6f",
                      c->name, ranks[j], probs[j], want[j]);
            sum += probs[j];
        }
        if (k > 0)
            cr_assert(fabs(sum - 1) <= 0.0005 * k + 1e-9, "%s: probabilities sum to %.4f",
                      c->name, sum);
    }
    cr_assert_eq(n, search_n_candidates(s), "step %lld: %d snapshot events for %d candidates",
                 (long long)step, n, search_n_candidates(s));
    for (int i = 0; i < search_n_candidates(s); i++)
        cr_assert_eq(seen[i], 1, "step %lld: candidate %d appears %d times", (long long)step, i,
                     seen[i]);
}

Test(search_tui, snapshot_at_step_0_and_rank_probabilities) {
    struct backend *be;
    struct search *s = open_with_policy("tui_snap.lua", "snapshot", &be, 1,
                                        ", pin = { 'L0.lora.v' }");
    char dir[700];
    snprintf(dir, sizeof dir, "%s", search_dir(s));
    /* at step 0, before any step: one event per candidate, after the config's pin */
    struct evlist *l = search_fixture_events(dir);
    cr_assert_gt(search_n_candidates(s), 4);
    check_snapshot(l, 0, s);
    int pin = -1, first = -1, vec = 0, mat = 0;
    for (int i = 0; i < l->n; i++) {
        if (l->ev[i].type == SEV_PIN && pin < 0)
            pin = i;
        if (l->ev[i].type == SEV_SENSITIVITY && first < 0)
            first = i;
        if (l->ev[i].type == SEV_SENSITIVITY)
            *(strchr(l->ev[i].text, '\t') ? &mat : &vec) += 1;
        cr_assert_neq(l->ev[i].type, SEV_STEP, "a step before the first run");
    }
    cr_assert(pin >= 0 && first > pin, "the step-0 snapshot does not follow the pins");
    cr_assert(mat > 0 && vec > 0, "%d matrix and %d vector modules", mat, vec);
    free(l);
    /* a later snapshot (snapshot_every = 4) once the logits moved and a rank may be fixed */
    struct pf_err err = {0};
    struct search_result r;
    s->opts.stop_after = 8;
    struct search_request rq = {.type = SREQ_FIX_RANK, .value = 2};
    snprintf(rq.module, sizeof rq.module, "L1.lora.q");
    CHECK_OK(search_apply(s, &rq, "user", &err), &err);
    CHECK_OK(search_run(s, &r, &err), &err);
    l = search_fixture_events(dir);
    check_snapshot(l, 8, s);
    for (int i = 0; i < l->n; i++)
        if (l->ev[i].type == SEV_SENSITIVITY && l->ev[i].step == 8 &&
            !strncmp(l->ev[i].text, "L1.lora.q\t", 10))
            cr_assert_str_eq(l->ev[i].text, "L1.lora.q\tr=1:0.000,2:1.000,4:0.000");
    free(l);
    search_close(s);
    backend_close(be);
}

/* ---- retraining progress ---- */

static void check_train_events(const struct collect *c, const char *label, int64_t total_want,
                               int epochs) {
    int64_t last = -1, total = -1;
    int n = 0, evals = 0, last_epoch = 0;
    for (int i = 0; i < c->n; i++) {
        const struct search_event *e = &c->ev[i];
        if (e->type != SEV_TRAIN || strcmp(e->text, label))
            continue;
        n++;
        cr_assert_geq(e->step, last, "%s: step %lld after %lld", label, (long long)e->step,
                      (long long)last);
        cr_assert_geq(e->epoch, last_epoch, "%s: epoch went back", label);
        cr_assert(total < 0 || e->n == total, "%s: the total changed", label);
        cr_assert(isfinite(e->value) && e->value > 0, "%s: loss %g", label, e->value);
        if (!isnan(e->value2)) {
            evals++;
            cr_assert(e->value2 >= 0 && e->value2 <= 1, "%s: dev metric %g", label, e->value2);
        }
        last = e->step;
        last_epoch = e->epoch;
        total = e->n;
    }
    cr_assert_gt(n, 2, "%s: %d train events", label, n);
    cr_assert_eq(total, total_want, "%s: %lld steps planned, want %lld", label,
                 (long long)total, (long long)total_want);
    cr_assert_eq(last, total, "%s: the last event is at step %lld of %lld", label,
                 (long long)last, (long long)total);
    cr_assert_eq(evals, epochs, "%s: %d dev evaluations reported, want %d", label, evals,
                 epochs);
    cr_assert_eq(last_epoch, epochs - 1);
}

Test(search_tui, retraining_and_baseline_report_progress) {
    struct backend *be;
    struct search *s = open_with_policy("tui_train.lua", "train-events", &be, 0,
                                        ", baseline = 'lora'");
    struct collect *c = collector(s);
    struct pf_err err = {0};
    struct search_result r;
    CHECK_OK(search_run(s, &r, &err), &err);
    cr_assert_eq(search_phase_of(s), SPH_DONE);
    int rt = find_ev(c, 0, SEV_PHASE, "retrain"), bl = find_ev(c, 0, SEV_PHASE, "baseline");
    cr_assert(rt >= 0 && bl > rt);
    int first_r = find_ev(c, 0, SEV_TRAIN, "retrain"), first_b = find_ev(c, 0, SEV_TRAIN,
                                                                           "baseline");
    cr_assert(first_r > rt && first_r < bl, "retrain events outside the retraining");
    cr_assert(first_b > bl, "baseline events before the baseline phase");
    cr_assert_eq(find_ev(c, bl, SEV_TRAIN, "retrain"), -1);
    /* 192 rows in batches of 16, 4 retraining epochs */
    check_train_events(c, "retrain", 48, 4);
    check_train_events(c, "baseline", 48, 4);
    /* the session log holds them too */
    struct evlist *l = search_fixture_events(search_dir(s));
    int logged = 0, seen = 0;
    for (int i = 0; i < l->n; i++)
        logged += l->ev[i].type == SEV_TRAIN;
    for (int i = 0; i < c->n; i++)
        seen += c->ev[i].type == SEV_TRAIN;
    cr_assert_eq(logged, seen);
    free(l);
    search_close(s);
    collect_free(c);
    backend_close(be);
}

/* The headless progress line ignores training events (the trainer draws its own bar). */
Test(search_tui, progress_line_ignores_train_events) {
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    struct search_progress p;
    search_progress_init(&p, f, "x", 1);
    struct search_sink sk;
    search_progress_sink(&p, &sk);
    struct search_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SEV_TRAIN;
    ev.step = 10;
    ev.n = 10;
    ev.value = 0.5;
    ev.value2 = 0.75;
    snprintf(ev.text, sizeof ev.text, "retrain");
    sk.emit(sk.ctx, &ev);
    cr_assert_eq(ftell(f), 0, "the progress line printed a train event");
    fclose(f);
}

/* ---- search_serve on a worker thread ---- */

struct worker {
    struct search *s;
    struct search_result r;
    struct pf_err err;
    pf_status st;
    atomic_int done;
};

static void *serve_main(void *arg) {
    struct worker *w = arg;
    w->st = search_serve(w->s, &w->r, &w->err);
    atomic_store(&w->done, 1);
    return NULL;
}

/* These two wait on a worker thread: a broken wake-up would hang, so the hang guard. */
Test(search_tui, serve_pauses_reloads_and_resumes, .timeout = CHECK_HANG_TIMEOUT) {
    struct backend *be;
    struct search *s = open_with_policy("tui_serve.lua", "serve", &be, 1, "");
    struct collect *c = collector(s);
    c->gate_step = 3; /* the run waits in the sink after step 3 until the pause is queued */
    struct worker w = {.s = s};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, serve_main, &w), 0);
    wait_at_gate(c);
    request(s, SREQ_PAUSE);
    open_gate(c);
    wait_flag(&c->paused, 1);
    cr_assert_eq(atomic_load(&c->last_step), 3);
    /* paused: no step, whatever the time given */
    sleep_ms(150);
    cr_assert_eq(atomic_load(&c->last_step), 3, "steps went on while paused");
    cr_assert_eq(atomic_load(&w.done), 0, "search_serve returned while paused");
    /* a reload while paused is applied at once, and the run stays paused */
    check_write_temp("tui_serve.lua", POLICY_V2);
    request(s, SREQ_RELOAD_POLICY);
    wait_flag(&c->reloaded, 1);
    sleep_ms(50);
    cr_assert_eq(atomic_load(&c->last_step), 3, "the reload un-paused the run");
    cr_assert_eq(atomic_load(&w.done), 0);
    request(s, SREQ_RESUME);
    pthread_join(th, NULL);
    CHECK_OK(w.st, &w.err);
    cr_assert(!w.r.interrupted);
    cr_assert_eq(search_phase_of(s), SPH_RETRAIN, "the search did not complete");
    cr_assert_gt(w.r.iterations, 3);
    int p1 = -1, p0 = -1;
    for (int i = 0; i < c->n; i++)
        if (c->ev[i].type == SEV_PAUSE && c->ev[i].value == 1 && p1 < 0)
            p1 = i;
        else if (c->ev[i].type == SEV_PAUSE && c->ev[i].value == 0 && p0 < 0)
            p0 = i;
    cr_assert(p1 >= 0 && p0 > p1, "pause %d, resume %d", p1, p0);
    cr_assert_eq(c->ev[p1].step, 3);
    cr_assert_eq(c->ev[p0].step, 3);
    int good, other;
    count_logs(c, 0, p1, "v1", &good, &other);
    cr_assert(good == 3 && other == 0);
    count_logs(c, p0, c->n, "v2", &good, &other);
    cr_assert_eq(good, w.r.iterations - 3);
    cr_assert_eq(other, 0);
    search_close(s);
    collect_free(c);
    backend_close(be);
}

static volatile sig_atomic_t serve_interrupt;

Test(search_tui, serve_interrupted_while_paused_returns_with_a_checkpoint,
     .timeout = CHECK_HANG_TIMEOUT) {
    struct backend *be;
    struct search *s = open_with_policy("tui_intr.lua", "serve-interrupt", &be, 1, "");
    s->opts.interrupt = &serve_interrupt;
    struct collect *c = collector(s);
    c->gate_step = 4;
    struct worker w = {.s = s};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, serve_main, &w), 0);
    wait_at_gate(c);
    request(s, SREQ_PAUSE);
    open_gate(c);
    wait_flag(&c->paused, 1);
    /* the checkpoints so far go: only the interrupt's own can bring one back */
    char dir[700], p[800], q[800];
    snprintf(dir, sizeof dir, "%s", search_dir(s));
    snprintf(p, sizeof p, "%s/checkpoint.bin", dir);
    snprintf(q, sizeof q, "%s/checkpoint.prev.bin", dir);
    /* (the pause's own checkpoint may still be on its way: delete until none comes back) */
    do {
        unlink(p);
        unlink(q);
        sleep_ms(100);
    } while (access(p, F_OK) == 0 || access(q, F_OK) == 0);
    serve_interrupt = 1; /* as a signal handler would: no request, no wake-up call */
    pthread_join(th, NULL);
    serve_interrupt = 0;
    CHECK_OK(w.st, &w.err);
    cr_assert(w.r.interrupted, "search_serve did not return as interrupted");
    cr_assert_eq(w.r.iterations, 4);
    cr_assert_eq(access(p, F_OK), 0, "no checkpoint after the interrupt");
    search_close(s);
    struct search_opts o = {.quiet = 1, .no_retrain = 1};
    struct pf_err err = {0};
    CHECK_OK(search_resume(&s, dir, be, &o, &err), &err);
    cr_assert_eq(search_iteration(s), 4);
    search_close(s);
    collect_free(c);
    backend_close(be);
}
