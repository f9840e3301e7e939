/* ui_queue.c - a growing ring of search events behind one mutex (ui_queue.h). It does not
 * interpret events beyond telling STEP from the rest. */
#include "ui_queue.h"

#include <pthread.h>
#include <string.h>

#include "util/xalloc.h"

struct ui_queue {
    pthread_mutex_t mu;
    struct search_event *ev; /* ring of cap slots */
    int cap, head, count;
    int64_t thinned;
};

struct ui_queue *ui_queue_new(void) {
    struct ui_queue *q = xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    q->cap = 256;
    q->ev = xmalloc((size_t)q->cap * sizeof *q->ev);
    return q;
}

void ui_queue_free(struct ui_queue *q) {
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    xfree(q->ev);
    xfree(q);
}

/* Double the ring, unrolling it so that the oldest event is at 0. Caller holds mu. */
static void grow(struct ui_queue *q) {
    int cap = q->cap * 2;
    struct search_event *ev = xmalloc((size_t)cap * sizeof *ev);
    for (int i = 0; i < q->count; i++)
        ev[i] = q->ev[(q->head + i) % q->cap];
    xfree(q->ev);
    q->ev = ev;
    q->cap = cap;
    q->head = 0;
}

void ui_queue_push(struct ui_queue *q, const struct search_event *e) {
    pthread_mutex_lock(&q->mu);
    if (e->type == SEV_STEP && q->count >= UI_QUEUE_THIN_AT) {
        struct search_event *tail = &q->ev[(q->head + q->count - 1) % q->cap];
        if (tail->type == SEV_STEP) {
            *tail = *e; /* the UI is far behind: keep only the newest progress */
            q->thinned++;
            pthread_mutex_unlock(&q->mu);
            return;
        }
    }
    if (q->count == q->cap)
        grow(q);
    q->ev[(q->head + q->count) % q->cap] = *e;
    q->count++;
    pthread_mutex_unlock(&q->mu);
}

int ui_queue_drain(struct ui_queue *q, struct search_event *out, int max) {
    pthread_mutex_lock(&q->mu);
    int n = max <= 0 ? 0 : q->count < max ? q->count : max;
    for (int i = 0; i < n; i++)
        out[i] = q->ev[(q->head + i) % q->cap];
    q->head = (q->head + n) % q->cap;
    q->count -= n;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int ui_queue_count(struct ui_queue *q) {
    pthread_mutex_lock(&q->mu);
    int n = q->count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int64_t ui_queue_thinned(struct ui_queue *q) {
    pthread_mutex_lock(&q->mu);
    int64_t n = q->thinned;
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void sink_emit(void *ctx, const struct search_event *ev) { ui_queue_push(ctx, ev); }

void ui_queue_sink(struct ui_queue *q, struct search_sink *out) {
    out->emit = sink_emit;
    out->ctx = q;
}
