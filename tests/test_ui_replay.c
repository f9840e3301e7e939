/* test_ui_replay.c - ui/ui_replay.h on a real session: a tiny search over the LLaMA fixture
 * (tests/search_fixture.h) run through $BIPEFT_BIN, then its log.db replayed: playing to the
 * end, seeking, stepping and jumping to decisions must give the same model as applying the
 * events directly; the timing function; missing and corrupt logs; `bipeft replay` without a
 * terminal. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "search/search_log.h"
#include "search_fixture.h"
#include "ui_model.h"
#include "ui_replay.h"

static char out[65536], errb[8192];

/* A finished session of the tiny search in the test's temp folder; returns its folder. */
static const char *make_session(const char *name) {
    static char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", check_temp_dir(), name);
    char cfg[700];
    snprintf(cfg, sizeof cfg, "%s", search_fixture_config("replay.lua", ", retrain_epochs = 1",
                                                          ""));
    const char *a[] = {"search", cfg, "--session", dir, "--quiet", "--headless", NULL};
    int rc = check_run_argv(a, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "the search failed (%d): %s", rc, errb);
    return dir;
}

struct direct {
    struct ui_model *m;
    int64_t upto, i;
};

static int apply_direct(void *ctx, const struct search_event *ev) {
    struct direct *d = ctx;
    if (d->i++ >= d->upto)
        return 1;
    ui_model_apply(d->m, ev);
    return 0;
}

/* The model of the first `upto` events of dir's log, read independently of ui_replay. */
static struct ui_model *direct_model(const char *dir, int64_t upto) {
    struct search_log *lg = NULL;
    struct pf_err err = {0};
    CHECK_OK(search_log_open(dir, 0, &lg, &err), &err);
    struct direct d = {.m = ui_model_new(), .upto = upto};
    CHECK_OK(search_log_each(lg, -1, apply_direct, &d, &err), &err);
    search_log_close(lg);
    return d.m;
}

static void same_model(const struct ui_model *a, const struct ui_model *b, const char *what) {
    cr_assert_eq(a->events, b->events, "%s: events %lld vs %lld", what, (long long)a->events,
                 (long long)b->events);
    cr_assert_eq(a->step, b->step, "%s: step %lld vs %lld", what, (long long)a->step,
                 (long long)b->step);
    cr_assert_eq(a->log_total, b->log_total, "%s: log lines", what);
    cr_assert_eq(a->n_mods, b->n_mods, "%s: modules", what);
    cr_assert_str_eq(a->phase, b->phase, "%s: phase", what);
    cr_assert_eq(a->done, b->done, "%s: done", what);
    cr_assert_eq(a->stages_left, b->stages_left, "%s: stages", what);
    cr_assert_eq(a->current, b->current, "%s: params", what);
    for (int i = 0; i < a->n_mods; i++) {
        const struct ui_module *x = &a->mods[i], *y = &b->mods[i];
        cr_assert_str_eq(x->name, y->name, "%s: module %d", what, i);
        cr_assert(x->pruned == y->pruned && x->pinned == y->pinned && x->fixed == y->fixed &&
                      x->rank == y->rank,
                  "%s: module %s state differs", what, x->name);
        cr_assert(x->sens == y->sens || (isnan(x->sens) && isnan(y->sens)),
                  "%s: module %s sensitivity", what, x->name);
    }
    cr_assert_eq(a->s_expected.n, b->s_expected.n, "%s: E series", what);
}

static int count_type(const struct ui_replay *r, enum search_event_type t) {
    int n = 0;
    for (int64_t i = 0; i < r->n; i++)
        n += r->ev[i].type == t;
    return n;
}

static struct ui_replay *open_ok(const char *dir) {
    struct ui_replay *r = NULL;
    struct pf_err err = {0};
    CHECK_OK(ui_replay_open(dir, &r, &err), &err);
    cr_assert_not_null(r);
    return r;
}

Test(ui_replay, loads_events_and_meta, .timeout = CHECK_HANG_TIMEOUT) {
    const char *dir = make_session("load");
    struct ui_replay *r = open_ok(dir);
    cr_assert_gt(r->n, 50, "only %lld events", (long long)r->n);
    for (int64_t i = 1; i < r->n; i++)
        cr_assert_eq(r->ev[i].seq, r->ev[i - 1].seq + 1, "events out of seq order at %lld",
                     (long long)i);
    cr_assert_eq(r->ev[0].type, SEV_START);
    cr_assert_eq(r->ev[r->n - 1].type, SEV_DONE);
    cr_assert_str_eq(r->meta.meta[SSK_TASK], "words");
    cr_assert_str_eq(r->meta.meta[SSK_METHOD], "bipeft");
    cr_assert_str_eq(r->meta.meta[SSK_BUDGET], "400");
    cr_assert_str_eq(r->meta.status, "done");
    cr_assert_str_eq(r->model->task, "words");
    cr_assert_str_eq(r->model->metric, "accuracy");
    cr_assert_eq(r->pos, 0);
    cr_assert_eq(r->steps_total, count_type(r, SEV_STEP));
    cr_assert_eq(r->stops[r->n_stops - 1], r->n);
    for (int64_t i = 1; i < r->n; i++) {
        cr_assert_geq(r->t[i], r->t[i - 1], "the replay clock goes back at %lld", (long long)i);
        cr_assert_leq(r->t[i] - r->t[i - 1], UI_REPLAY_GAP_MAX + 1e-9);
    }
    ui_replay_free(r);
}

Test(ui_replay, play_to_end_equals_applying_every_event, .timeout = CHECK_HANG_TIMEOUT) {
    const char *dir = make_session("play");
    struct ui_replay *r = open_ok(dir);
    ui_replay_set_speed(r, 3, 0); /* 8x */
    ui_replay_play(r, 100.0);
    double now = 100.0;
    int ticks = 0;
    int64_t applied = 0;
    while (r->playing && ticks < 100000) {
        now += 0.01; /* simulated wall time: nothing sleeps */
        applied += ui_replay_tick(r, now);
        ticks++;
    }
    cr_assert(!r->playing, "still playing after %d ticks", ticks);
    cr_assert_eq(r->pos, r->n);
    cr_assert_eq(applied, r->n);
    /* 8x plays the session's clock in clock/8 s of wall time: that many 10 ms ticks, give or
     * take the first and the last (the recorded clock is wall time, so it is not fixed) */
    double want_ticks = r->t[r->n - 1] / 8.0 / 0.01;
    cr_assert(ticks >= want_ticks - 1 && ticks <= want_ticks + 2,
              "8x took %d ticks of 10 ms for a %.3f s clock (want about %.1f)", ticks,
              r->t[r->n - 1], want_ticks);
    struct ui_model *d = direct_model(dir, INT64_MAX);
    same_model(r->model, d, "played to the end");
    cr_assert(r->model->done);
    cr_assert_eq(ui_replay_step_now(r), r->steps_total, "the last iteration's step");
    /* play at the end restarts from the start */
    ui_replay_play(r, now);
    cr_assert_eq(r->pos, 0);
    cr_assert_eq(r->model->events, 0);
    /* max: each tick goes to the next stop */
    ui_replay_set_speed(r, UI_REPLAY_SPEED_MAX, now);
    int64_t want = ui_replay_next_stop(r, 0);
    ui_replay_tick(r, now + 1e-3);
    cr_assert_eq(r->pos, want);
    ui_model_free(d);
    ui_replay_free(r);
}

Test(ui_replay, seek_to_a_middle_step_and_back, .timeout = CHECK_HANG_TIMEOUT) {
    const char *dir = make_session("seek");
    struct ui_replay *r = open_ok(dir);
    cr_assert_gt(r->steps_total, 4);
    int64_t mid = r->steps_total / 2;
    /* independently: the end of iteration `mid` = after its STEP event and the snapshot and
     * evaluation that follow it at the same step */
    int64_t j = 0;
    while (!(r->ev[j].type == SEV_STEP && r->ev[j].step == mid))
        j++;
    int64_t end = j + 1;
    while (end < r->n && r->ev[end].step == mid &&
           (r->ev[end].type == SEV_SENSITIVITY || r->ev[end].type == SEV_EVAL))
        end++;
    ui_replay_seek_step(r, mid);
    cr_assert_eq(r->pos, end);
    cr_assert_eq(r->model->step, mid);
    cr_assert_eq(ui_replay_step_now(r), mid);
    struct ui_model *d = direct_model(dir, end);
    same_model(r->model, d, "seek to the middle step");
    /* from the end back to the same step: rebuilt from event 0 */
    ui_replay_seek(r, r->n);
    ui_replay_seek_step(r, mid);
    same_model(r->model, d, "seek back to the middle step");
    ui_model_free(d);
    /* fractions */
    ui_replay_seek_frac(r, 0.5);
    cr_assert_eq(r->pos, r->n / 2);
    d = direct_model(dir, r->n / 2);
    same_model(r->model, d, "seek to 50%");
    ui_model_free(d);
    ui_replay_seek_frac(r, 0);
    cr_assert_eq(r->pos, 0);
    cr_assert_eq(r->model->events, 0);
    ui_replay_seek_frac(r, 7);
    cr_assert_eq(r->pos, r->n);
    /* step 0: everything before the first iteration (the start and the step-0 snapshot) */
    ui_replay_seek_step(r, 0);
    cr_assert_eq(r->ev[r->pos].type, SEV_STEP);
    cr_assert_eq(r->model->step, 0);
    cr_assert_gt(r->model->n_mods, 0, "the step-0 snapshot names the candidates");
    ui_replay_free(r);
}

Test(ui_replay, step_forward_and_back, .timeout = CHECK_HANG_TIMEOUT) {
    const char *dir = make_session("step");
    struct ui_replay *r = open_ok(dir);
    ui_replay_seek_step(r, 0);
    int64_t p0 = r->pos, p[5] = {p0};
    for (int k = 1; k <= 4; k++) {
        ui_replay_step_fwd(r);
        p[k] = r->pos;
        cr_assert_eq(r->model->step, k);
        cr_assert_eq(ui_replay_step_now(r), k);
    }
    cr_assert_eq(r->ev[p[1] - 1].type, SEV_STEP, "iteration 1 ends with its STEP event (no "
                 "snapshot at step 1)");
    cr_assert_gt(p[4], p[3] + 1, "iteration 4 takes its snapshot (snapshot_every = 4) along");
    cr_assert_eq(r->ev[p[3]].type, SEV_STEP);
    cr_assert_eq(r->ev[p[4] - 1].type, SEV_SENSITIVITY);
    ui_replay_step_back(r);
    cr_assert_eq(r->pos, p[3]);
    struct ui_model *d = direct_model(dir, p[3]);
    same_model(r->model, d, "forward four times, back once");
    ui_model_free(d);
    ui_replay_step_back(r);
    ui_replay_step_back(r);
    ui_replay_step_back(r);
    cr_assert_eq(r->pos, p[0] > 0 ? ui_replay_prev_stop(r, p[1]) : 0);
    int64_t pp = ui_replay_prev_stop(r, p[1]);
    cr_assert_lt(pp, p[1]);
    cr_assert_leq(pp, p0, "before iteration 1 the stops are the start's phase events");
    /* forward to the end visits every stop in order and ends at n */
    ui_replay_seek(r, 0);
    int64_t prev = 0, hops = 0;
    while (r->pos < r->n) {
        ui_replay_step_fwd(r);
        cr_assert_gt(r->pos, prev, "step forward did not move");
        prev = r->pos;
        hops++;
    }
    cr_assert_eq(hops, r->n_stops);
    ui_replay_step_fwd(r);
    cr_assert_eq(r->pos, r->n, "forward at the end stays there");
    /* back to the start */
    while (r->pos > 0)
        ui_replay_step_back(r);
    cr_assert_eq(r->model->events, 0);
    ui_replay_free(r);
}

Test(ui_replay, next_decision_lands_on_decisions, .timeout = CHECK_HANG_TIMEOUT) {
    const char *dir = make_session("dec");
    struct ui_replay *r = open_ok(dir);
    int want = 0;
    for (int64_t i = 0; i < r->n; i++)
        want += ui_replay_is_decision(r->ev[i].type);
    cr_assert_gt(want, 3, "the tiny search makes decisions (triggers, prunes, fixes)");
    cr_assert_eq(count_type(r, SEV_PRUNE) + count_type(r, SEV_FIX) > 0, 1);
    int got = 0;
    int64_t before = r->pos;
    while (ui_replay_next_decision(r)) {
        cr_assert(ui_replay_is_decision(r->ev[r->pos - 1].type), "landed on a %s event",
                  search_event_name(r->ev[r->pos - 1].type));
        for (int64_t i = before; i < r->pos - 1; i++)
            cr_assert(!ui_replay_is_decision(r->ev[i].type), "skipped a decision at %lld",
                      (long long)i);
        before = r->pos;
        got++;
    }
    cr_assert_eq(got, want);
    int64_t at = r->pos;
    cr_assert_eq(ui_replay_next_decision(r), 0);
    cr_assert_eq(r->pos, at, "no decision left: it stays");
    ui_replay_free(r);
}

Test(ui_replay, timing_of_speeds) {
    const double t[] = {0, 0.5, 1.0, 1.0, 2.0, 4.0};
    const int64_t stops[] = {2, 4, 6};
    int64_t n = 6;
    cr_assert_eq(ui_replay_speed_factor(0), 1);
    cr_assert_eq(ui_replay_speed_factor(6), 64);
    cr_assert_eq(ui_replay_speed_factor(UI_REPLAY_SPEED_MAX), 0);
    cr_assert_str_eq(ui_replay_speed_label(2), "4x");
    cr_assert_str_eq(ui_replay_speed_label(UI_REPLAY_SPEED_MAX), "max");
    cr_assert_str_eq(ui_replay_speed_label(99), "max");
    /* 1x: events whose time has come */
    cr_assert_eq(ui_replay_due(t, n, 0, 0, 0, 0, stops, 3), 1);
    cr_assert_eq(ui_replay_due(t, n, 0, 0, 0.49, 0, stops, 3), 1);
    cr_assert_eq(ui_replay_due(t, n, 0, 0, 1.0, 0, stops, 3), 4);
    cr_assert_eq(ui_replay_due(t, n, 1, 0, 1.0, 0, stops, 3), 3);
    /* 2x: half the wall time for the same events; 4x */
    cr_assert_eq(ui_replay_due(t, n, 0, 0, 0.5, 1, stops, 3), 4);
    cr_assert_eq(ui_replay_due(t, n, 0, 0, 0.5, 2, stops, 3), 5);
    cr_assert_eq(ui_replay_due(t, n, 0, 0, 1.0, 2, stops, 3), 6);
    /* anchored later (play started at replay time 1.0) */
    cr_assert_eq(ui_replay_due(t, n, 4, 1.0, 0.9, 0, stops, 3), 0);
    cr_assert_eq(ui_replay_due(t, n, 4, 1.0, 1.0, 0, stops, 3), 1);
    cr_assert_eq(ui_replay_due(t, n, 4, 1.0, 0.05, 6, stops, 3), 2);
    /* max: to the next stop */
    cr_assert_eq(ui_replay_due(t, n, 0, 0, 0, UI_REPLAY_SPEED_MAX, stops, 3), 2);
    cr_assert_eq(ui_replay_due(t, n, 2, 0, 0, UI_REPLAY_SPEED_MAX, stops, 3), 2);
    cr_assert_eq(ui_replay_due(t, n, 3, 0, 0, UI_REPLAY_SPEED_MAX, stops, 3), 1);
    /* at the end, and a negative elapsed time */
    cr_assert_eq(ui_replay_due(t, n, 6, 0, 100, 0, stops, 3), 0);
    cr_assert_eq(ui_replay_due(t, n, 1, 0, -5, 0, stops, 3), 0);
}

Test(ui_replay, missing_and_corrupt_logs_name_the_file) {
    struct ui_replay *r = (struct ui_replay *)1;
    struct pf_err err = {0};
    char dir[700];
    snprintf(dir, sizeof dir, "%s/empty", check_temp_dir());
    cr_assert_eq(mkdir(dir, 0777), 0);
    cr_assert_neq(ui_replay_open(dir, &r, &err), PF_OK);
    cr_assert_null(r);
    char want[800];
    snprintf(want, sizeof want, "%s/log.db", dir);
    cr_assert(strstr(err.msg, want), "the message does not name %s: %s", want, err.msg);
    /* garbage bytes */
    FILE *f = fopen(want, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919 + 13) & 0xff, f);
    fclose(f);
    memset(&err, 0, sizeof err);
    r = (struct ui_replay *)1;
    cr_assert_neq(ui_replay_open(dir, &r, &err), PF_OK);
    cr_assert_null(r);
    cr_assert(strstr(err.msg, want), "the message does not name %s: %s", want, err.msg);
    ui_replay_free(NULL);
}

/* ---- the command without a terminal ---- */

Test(ui_replay, cli_without_a_terminal, .timeout = CHECK_HANG_TIMEOUT) {
    const char *dir = make_session("cli");
    const char *a[] = {"replay", dir, NULL};
    int rc = check_run_argv(a, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errb);
    const char *want[] = {"task words", "method bipeft", "status done", "events", "steps",
                          "prune", "not a terminal"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert(strstr(out, want[i]) || strstr(errb, want[i]), "'%s' missing:\n%s\n%s",
                  want[i], out, errb);
    const char *b[] = {"replay", "/nonexistent/bipeft-session", NULL};
    rc = check_run_argv(b, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 2, "exit %d", rc);
    cr_assert(strstr(errb, "bipeft: replay: ") && strstr(errb, "/nonexistent/bipeft-session"),
              "%s", errb);
    cr_assert_eq(strchr(errb, '\n'), errb + strlen(errb) - 1, "one line: %s", errb);
    const char *c[] = {"replay", NULL};
    rc = check_run_argv(c, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 2, "exit %d", rc);
    cr_assert(strstr(errb, "terminal") && strstr(errb, "bipeft sessions"), "%s", errb);
    const char *d[] = {"replay", "--frob", NULL};
    rc = check_run_argv(d, out, sizeof out, errb, sizeof errb);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(errb, "usage: bipeft replay"), "%s", errb);
}
