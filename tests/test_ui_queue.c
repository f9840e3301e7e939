/* test_ui_queue.c - ui/ui_queue.c: events pushed from a second thread (as the engine's
 * thread does through the sink) arrive in order; with a UI that drains late, only STEP
 * events are thinned, never a decision. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "ui_queue.h"

#define NEV 20000

/* Every 7th event is a decision (a prune), the rest are steps. */
static enum search_event_type type_of(int i) { return i % 7 == 3 ? SEV_PRUNE : SEV_STEP; }

static void *producer(void *arg) {
    struct search_sink sk;
    ui_queue_sink(arg, &sk);
    for (int i = 0; i < NEV; i++) {
        struct search_event e;
        memset(&e, 0, sizeof e);
        e.type = type_of(i);
        e.seq = i + 1;
        sk.emit(sk.ctx, &e);
    }
    return NULL;
}

/* Drain everything (while the producer runs when `live`); checks order and completeness. */
static void run(int live) {
    struct ui_queue *q = ui_queue_new();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, producer, q), 0);
    if (!live)
        pthread_join(th, NULL);
    static struct search_event buf[64];
    int64_t last = 0, got = 0, decisions = 0, done = 0;
    while (!done || ui_queue_count(q) > 0) {
        int n = ui_queue_drain(q, buf, 64);
        for (int i = 0; i < n; i++) {
            cr_assert_gt(buf[i].seq, last, "out of order: %lld after %lld",
                         (long long)buf[i].seq, (long long)last);
            /* a gap may only hide STEP events */
            for (int64_t s = last + 1; s < buf[i].seq; s++)
                cr_assert_eq(type_of((int)s - 1), SEV_STEP, "event %lld (a decision) lost",
                             (long long)s);
            cr_assert_eq(buf[i].type, type_of((int)buf[i].seq - 1));
            decisions += buf[i].type == SEV_PRUNE;
            last = buf[i].seq;
            got++;
        }
        if (!done && (live ? last == NEV : 1)) {
            if (live)
                pthread_join(th, NULL);
            done = 1;
        }
    }
    int64_t want_dec = 0;
    for (int i = 0; i < NEV; i++)
        want_dec += type_of(i) == SEV_PRUNE;
    cr_assert_eq(decisions, want_dec);
    cr_assert_eq(last, NEV, "the newest event (a step) must arrive");
    cr_assert_eq(got + ui_queue_thinned(q), NEV);
    if (!live) /* drained only at the end: the steps were thinned */
        cr_assert_gt(ui_queue_thinned(q), 0);
    ui_queue_free(q);
}

Test(ui_queue, live_consumer_in_order) { run(1); }

Test(ui_queue, late_consumer_thins_only_steps) { run(0); }

Test(ui_queue, drain_limits) {
    struct ui_queue *q = ui_queue_new();
    struct search_event e, out[4];
    memset(&e, 0, sizeof e);
    for (int i = 0; i < 1000; i++) { /* past the initial ring: it grows */
        e.type = SEV_LOG;
        e.seq = i + 1;
        ui_queue_push(q, &e);
    }
    cr_assert_eq(ui_queue_count(q), 1000);
    cr_assert_eq(ui_queue_drain(q, out, 0), 0);
    cr_assert_eq(ui_queue_drain(q, out, -3), 0);
    cr_assert_eq(ui_queue_drain(q, out, 4), 4);
    cr_assert_eq(out[3].seq, 4);
    cr_assert_eq(ui_queue_count(q), 996);
    cr_assert_eq(ui_queue_thinned(q), 0);
    ui_queue_free(q);
    ui_queue_free(NULL);
}
