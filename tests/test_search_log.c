/* test_search_log.c - the session event log (search/search_log.h): every field survives a
 * close and reopen, truncate, last seq, meta, filtered iteration, the sink, crash safety
 * (a SIGKILLed writer leaves exactly what it flushed) and clear errors for a missing or
 * corrupt log.db. Each test works in its own mkdtemp folder. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "search/search_log.h"

static void tmp_dir(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/bipeft_log_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rm_dir(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* An event with every field set from seq (distinct per field). */
static struct search_event make_event(int64_t seq, enum search_event_type t) {
    struct search_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = t;
    ev.seq = seq;
    ev.step = 100 + seq;
    ev.epoch = (int)seq % 3;
    ev.stage = 7 - (int)seq;
    ev.module = (int)seq - 2;
    ev.rank = 4 * (int)seq;
    ev.value = 0.5 * (double)seq;
    ev.value2 = -1.25 * (double)seq;
    ev.loss_w = 1.0 / (double)seq;
    ev.loss_a = 2.0 / (double)seq;
    ev.tau = 0.99;
    ev.lr = 3e-4 * (double)seq;
    ev.expected = 12345.5 + (double)seq;
    ev.current = 1000000007LL * seq;
    ev.n = 5000 + seq;
    ev.seconds = 1.5 * (double)seq;
    snprintf(ev.source, sizeof ev.source, "%s", seq % 2 ? "engine" : "policy");
    snprintf(ev.text, sizeof ev.text, "event %lld: \"quoted\" 'text' ü", (long long)seq);
    return ev;
}

static void assert_same(const struct search_event *a, const struct search_event *b) {
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->seq, b->seq);
    cr_assert_eq(a->step, b->step);
    cr_assert_eq(a->epoch, b->epoch);
    cr_assert_eq(a->stage, b->stage);
    cr_assert_eq(a->module, b->module);
    cr_assert_eq(a->rank, b->rank);
    const double da[] = {a->value, a->value2, a->loss_w, a->loss_a, a->tau, a->lr,
                         a->expected, a->seconds};
    const double db[] = {b->value, b->value2, b->loss_w, b->loss_a, b->tau, b->lr,
                         b->expected, b->seconds};
    for (int i = 0; i < 8; i++)
        cr_assert(da[i] == db[i] || (isnan(da[i]) && isnan(db[i])),
                  "seq %lld field %d: %.17g != %.17g", (long long)a->seq, i, da[i], db[i]);
    cr_assert_eq(a->current, b->current);
    cr_assert_eq(a->n, b->n);
    cr_assert_str_eq(a->source, b->source);
    cr_assert_str_eq(a->text, b->text);
}

struct collect {
    struct search_event ev[64];
    int n;
    int stop_after; /* 0: never stop */
};

static int collect_fn(void *ctx, const struct search_event *ev) {
    struct collect *c = ctx;
    cr_assert_lt(c->n, 64);
    c->ev[c->n++] = *ev;
    return c->stop_after && c->n >= c->stop_after;
}

static struct search_log *open_log(const char *dir, int create) {
    struct search_log *lg = NULL;
    struct pf_err err = {0};
    CHECK_OK(search_log_open(dir, create, &lg, &err), &err);
    return lg;
}

Test(search_event, names_round_trip) {
    static const char *const want[] = {
        "start", "step", "sensitivity", "trigger", "stage", "prune", "fix", "pin", "unpin",
        "budget", "refused", "pause", "checkpoint", "eval", "phase", "log", "error", "done",
        "train", "restore", "fallback"};
    cr_assert_eq(sizeof want / sizeof *want, SEV_COUNT);
    for (int t = 0; t < SEV_COUNT; t++) {
        cr_assert_str_eq(search_event_name((enum search_event_type)t), want[t]);
        cr_assert_eq(search_event_type_from_name(want[t]), t);
    }
    cr_assert_eq(search_event_type_from_name("Step"), -1);
    cr_assert_eq(search_event_type_from_name(""), -1);
    cr_assert_eq(search_event_type_from_name(NULL), -1);
}

Test(search_log, round_trip_every_field) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    struct search_log *lg = open_log(dir, 1);
    struct pf_err err = {0};
    struct search_event want[SEV_COUNT];
    for (int t = 0; t < SEV_COUNT; t++) {
        want[t] = make_event(t + 1, (enum search_event_type)t);
        CHECK_OK(search_log_append(lg, &want[t], &err), &err);
    }
    /* NaN (SEV_DONE without a test metric) and a full-length text survive too */
    want[SEV_DONE].value2 = NAN;
    want[SEV_LOG].module = -1;
    memset(want[SEV_LOG].text, 'x', sizeof want[SEV_LOG].text - 1);
    want[SEV_LOG].text[sizeof want[SEV_LOG].text - 1] = '\0';
    CHECK_OK(search_log_truncate(lg, SEV_LOG, &err), &err); /* drop log..done, re-add */
    for (int t = SEV_LOG; t < SEV_COUNT; t++)
        CHECK_OK(search_log_append(lg, &want[t], &err), &err);
    CHECK_OK(search_log_flush(lg, &err), &err);
    search_log_close(lg);

    lg = open_log(dir, 0);
    struct collect c = {0};
    CHECK_OK(search_log_each(lg, -1, collect_fn, &c, &err), &err);
    cr_assert_eq(c.n, SEV_COUNT);
    for (int t = 0; t < SEV_COUNT; t++)
        assert_same(&c.ev[t], &want[t]);
    search_log_close(lg);
    rm_dir(dir);
}

Test(search_log, truncate_and_last_seq) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    struct search_log *lg = open_log(dir, 1);
    struct pf_err err = {0};
    int64_t last = -1;
    CHECK_OK(search_log_last_seq(lg, &last, &err), &err);
    cr_assert_eq(last, 0);
    for (int i = 1; i <= 10; i++) {
        struct search_event ev = make_event(i, SEV_STEP);
        CHECK_OK(search_log_append(lg, &ev, &err), &err);
    }
    CHECK_OK(search_log_last_seq(lg, &last, &err), &err); /* sees its own pending appends */
    cr_assert_eq(last, 10);
    CHECK_OK(search_log_flush(lg, &err), &err);
    CHECK_OK(search_log_flush(lg, &err), &err); /* nothing pending: a no-op */
    CHECK_OK(search_log_truncate(lg, 6, &err), &err);
    CHECK_OK(search_log_last_seq(lg, &last, &err), &err);
    cr_assert_eq(last, 6);
    search_log_close(lg);

    lg = open_log(dir, 0);
    CHECK_OK(search_log_last_seq(lg, &last, &err), &err);
    cr_assert_eq(last, 6);
    /* a resume appends from 7 again */
    struct search_event ev = make_event(7, SEV_CHECKPOINT);
    CHECK_OK(search_log_append(lg, &ev, &err), &err);
    CHECK_OK(search_log_truncate(lg, 0, &err), &err);
    CHECK_OK(search_log_last_seq(lg, &last, &err), &err);
    cr_assert_eq(last, 0);
    search_log_close(lg);
    rm_dir(dir);
}

Test(search_log, duplicate_seq_is_an_error) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    struct search_log *lg = open_log(dir, 1);
    struct pf_err err = {0};
    struct search_event ev = make_event(1, SEV_START);
    CHECK_OK(search_log_append(lg, &ev, &err), &err);
    cr_assert_neq(search_log_append(lg, &ev, &err), PF_OK);
    cr_assert(strstr(err.msg, "log.db") && strstr(err.msg, "UNIQUE"), "%s", err.msg);
    CHECK_OK(search_log_flush(lg, &err), &err); /* the first append stays */
    int64_t last;
    CHECK_OK(search_log_last_seq(lg, &last, &err), &err);
    cr_assert_eq(last, 1);
    search_log_close(lg);
    rm_dir(dir);
}

Test(search_log, meta_set_get_overwrite) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    struct search_log *lg = open_log(dir, 1);
    struct pf_err err = {0};
    char buf[64];
    CHECK_OK(search_log_get_meta(lg, "task", buf, sizeof buf, &err), &err);
    cr_assert_str_eq(buf, "");
    CHECK_OK(search_log_set_meta(lg, "task", "sst2", &err), &err);
    CHECK_OK(search_log_set_meta(lg, "status", "searching", &err), &err);
    CHECK_OK(search_log_set_meta(lg, "status", "done", &err), &err);
    CHECK_OK(search_log_get_meta(lg, "status", buf, sizeof buf, &err), &err);
    cr_assert_str_eq(buf, "done");
    /* set_meta commits what is pending with it */
    struct search_event ev = make_event(1, SEV_START);
    CHECK_OK(search_log_append(lg, &ev, &err), &err);
    CHECK_OK(search_log_set_meta(lg, "created", "2024-05-01T10:00:00", &err), &err);
    search_log_close(lg);

    lg = open_log(dir, 0);
    CHECK_OK(search_log_get_meta(lg, "task", buf, sizeof buf, &err), &err);
    cr_assert_str_eq(buf, "sst2");
    CHECK_OK(search_log_get_meta(lg, "status", buf, sizeof buf, &err), &err);
    cr_assert_str_eq(buf, "done");
    char small[5];
    CHECK_OK(search_log_get_meta(lg, "created", small, sizeof small, &err), &err);
    cr_assert_str_eq(small, "2024"); /* truncated to the buffer */
    int64_t last;
    CHECK_OK(search_log_last_seq(lg, &last, &err), &err);
    cr_assert_eq(last, 1);
    search_log_close(lg);
    rm_dir(dir);
}

Test(search_log, each_filtered_by_type_and_early_stop) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    struct search_log *lg = open_log(dir, 1);
    struct pf_err err = {0};
    for (int i = 1; i <= 12; i++) {
        struct search_event ev = make_event(i, i % 3 == 0 ? SEV_PRUNE : SEV_STEP);
        CHECK_OK(search_log_append(lg, &ev, &err), &err);
    }
    CHECK_OK(search_log_flush(lg, &err), &err);
    struct collect c = {0};
    CHECK_OK(search_log_each(lg, SEV_PRUNE, collect_fn, &c, &err), &err);
    cr_assert_eq(c.n, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(c.ev[i].type, SEV_PRUNE);
        cr_assert_eq(c.ev[i].seq, 3 * (i + 1));
    }
    memset(&c, 0, sizeof c);
    CHECK_OK(search_log_each(lg, SEV_FIX, collect_fn, &c, &err), &err);
    cr_assert_eq(c.n, 0);
    memset(&c, 0, sizeof c);
    c.stop_after = 5;
    CHECK_OK(search_log_each(lg, -1, collect_fn, &c, &err), &err);
    cr_assert_eq(c.n, 5);
    cr_assert_eq(c.ev[4].seq, 5);
    /* the statement is reusable after an early stop */
    memset(&c, 0, sizeof c);
    CHECK_OK(search_log_each(lg, SEV_STEP, collect_fn, &c, &err), &err);
    cr_assert_eq(c.n, 8);
    cr_assert_neq(search_log_each(lg, SEV_COUNT, collect_fn, &c, &err), PF_OK);
    search_log_close(lg);
    rm_dir(dir);
}

Test(search_log, sink_appends_and_keeps_first_error) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    struct search_log *lg = open_log(dir, 1);
    struct pf_err err = {0};
    struct search_sink sink;
    search_log_sink(lg, &sink);
    for (int i = 1; i <= 3; i++) {
        struct search_event ev = make_event(i, SEV_EVAL);
        sink.emit(sink.ctx, &ev);
    }
    CHECK_OK(search_log_sink_error(lg, &err), &err);
    struct search_event dup = make_event(2, SEV_EVAL);
    sink.emit(sink.ctx, &dup);
    struct search_event next = make_event(4, SEV_EVAL);
    sink.emit(sink.ctx, &next); /* dropped: the error is sticky */
    cr_assert_neq(search_log_sink_error(lg, &err), PF_OK);
    cr_assert(strstr(err.msg, "log.db"), "%s", err.msg);
    CHECK_OK(search_log_flush(lg, &err), &err);
    int64_t last;
    CHECK_OK(search_log_last_seq(lg, &last, &err), &err);
    cr_assert_eq(last, 3);
    search_log_close(lg);
    rm_dir(dir);
}

/* A writer killed with SIGKILL after a flush and more appends: a reader sees exactly the
 * flushed events. */
Test(search_log, sigkill_keeps_flushed_events_only) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct search_log *lg = NULL;
        struct pf_err err = {0};
        if (search_log_open(dir, 1, &lg, &err) != PF_OK)
            _exit(3);
        for (int i = 1; i <= 5; i++) {
            struct search_event ev = make_event(i, SEV_STEP);
            if (search_log_append(lg, &ev, &err) != PF_OK)
                _exit(4);
        }
        if (search_log_set_meta(lg, "status", "searching", &err) != PF_OK ||
            search_log_flush(lg, &err) != PF_OK)
            _exit(5);
        for (int i = 6; i <= 9; i++) {
            struct search_event ev = make_event(i, SEV_STEP);
            if (search_log_append(lg, &ev, &err) != PF_OK)
                _exit(6);
        }
        raise(SIGKILL);
        _exit(7);
    }
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "child status %d", ws);
    struct search_log *lg = open_log(dir, 0);
    struct pf_err err = {0};
    struct collect c = {0};
    CHECK_OK(search_log_each(lg, -1, collect_fn, &c, &err), &err);
    cr_assert_eq(c.n, 5);
    for (int i = 0; i < 5; i++) {
        struct search_event want = make_event(i + 1, SEV_STEP);
        assert_same(&c.ev[i], &want);
    }
    char buf[32];
    CHECK_OK(search_log_get_meta(lg, "status", buf, sizeof buf, &err), &err);
    cr_assert_str_eq(buf, "searching");
    /* the log takes appends again after the crash */
    struct search_event ev = make_event(6, SEV_STEP);
    CHECK_OK(search_log_append(lg, &ev, &err), &err);
    CHECK_OK(search_log_flush(lg, &err), &err);
    search_log_close(lg);
    rm_dir(dir);
}

Test(search_log, open_missing_names_the_path) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/nope", dir);
    struct search_log *lg = (struct search_log *)1;
    struct pf_err err = {0};
    cr_assert_neq(search_log_open(sub, 0, &lg, &err), PF_OK);
    cr_assert_null(lg);
    char want[160];
    snprintf(want, sizeof want, "%s/log.db", sub);
    cr_assert(strstr(err.msg, want), "%s", err.msg);
    /* an existing folder without a log.db is not created either */
    cr_assert_neq(search_log_open(dir, 0, &lg, &err), PF_OK);
    cr_assert(strstr(err.msg, "log.db"), "%s", err.msg);
    cr_assert_neq(access(want, F_OK), 0);
    rm_dir(dir);
}

Test(search_log, corrupt_file_is_a_clear_error) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    char path[128];
    snprintf(path, sizeof path, "%s/log.db", dir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    for (int i = 0; i < 4096; i++)
        fputc((i * 131 + 7) & 0xff, f);
    fclose(f);
    for (int create = 0; create < 2; create++) {
        struct search_log *lg = NULL;
        struct pf_err err = {0};
        pf_status st = search_log_open(dir, create, &lg, &err);
        cr_assert_neq(st, PF_OK);
        cr_assert_null(lg);
        cr_assert(strstr(err.msg, path), "%s", err.msg);
        cr_assert(strstr(err.msg, "not a database"), "%s", err.msg);
    }
    rm_dir(dir);
}
