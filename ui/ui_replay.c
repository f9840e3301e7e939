/* ui_replay.c - a session's events in memory and the replay controller over them
 * (ui_replay.h). Pure: no curses, no clock of its own (the caller passes wall times). */
#include "ui_replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_log.h"
#include "util/xalloc.h"

#define UI_REPLAY_MAX_EVENTS 4000000 /* ~1.3 GB of events: a log this long is not a search's */

struct load_ctx {
    struct ui_replay *r;
    int64_t cap;
    int too_many;
};

static int load_one(void *ctx, const struct search_event *ev) {
    struct load_ctx *c = ctx;
    struct ui_replay *r = c->r;
    if (r->n >= UI_REPLAY_MAX_EVENTS) {
        c->too_many = 1;
        return 1;
    }
    if (r->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        r->ev = xrealloc(r->ev, (size_t)c->cap * sizeof *r->ev);
    }
    r->ev[r->n++] = *ev;
    return 0;
}

/* The replay clock: non-decreasing, NaN read as no time passing, gaps cut. */
static void build_clock(struct ui_replay *r) {
    r->t = xmalloc((size_t)(r->n + 1) * sizeof *r->t);
    double prev_sec = NAN, t = 0;
    for (int64_t i = 0; i < r->n; i++) {
        double s = r->ev[i].seconds;
        if (isfinite(s) && isfinite(prev_sec)) {
            double gap = s - prev_sec;
            t += gap < 0 ? 0 : gap > UI_REPLAY_GAP_MAX ? UI_REPLAY_GAP_MAX : gap;
        }
        if (isfinite(s))
            prev_sec = s;
        r->t[i] = t;
    }
}

/* The end of the iteration whose STEP event is at j: after it and the snapshot / dev
 * evaluation the engine emits right after it, with the same step. */
static int64_t iter_end(const struct ui_replay *r, int64_t j) {
    int64_t k = j + 1;
    while (k < r->n && r->ev[k].step == r->ev[j].step &&
           (r->ev[k].type == SEV_SENSITIVITY || r->ev[k].type == SEV_EVAL))
        k++;
    return k;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void build_stops(struct ui_replay *r) {
    r->stops = xmalloc((size_t)(r->n + 1) * sizeof *r->stops);
    r->iter = xmalloc((size_t)(r->n + 1) * sizeof *r->iter);
    r->iter[0] = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < r->n; i++) {
        int64_t st = r->ev[i].step; /* a training run's events count its updates instead */
        r->iter[i + 1] = r->ev[i].type != SEV_TRAIN && st > r->iter[i] ? st : r->iter[i];
        if (r->ev[i].type == SEV_STEP) {
            r->stops[k++] = iter_end(r, i);
            r->steps_total++;
        } else if (r->ev[i].type == SEV_PHASE) {
            r->stops[k++] = i + 1;
        }
    }
    r->stops[k++] = r->n;
    qsort(r->stops, (size_t)k, sizeof *r->stops, cmp_i64);
    int64_t m = 0;
    for (int64_t i = 0; i < k; i++)
        if (r->stops[i] > 0 && (m == 0 || r->stops[i] != r->stops[m - 1]))
            r->stops[m++] = r->stops[i];
    if (m == 0) /* an empty log: the one stop is 0 */
        r->stops[m++] = 0;
    r->n_stops = m;
}

/* dst = src cut to fit n bytes ("-" when src is empty). */
static void put_meta(char *dst, size_t n, const char *src) {
    if (!src[0])
        src = "-";
    snprintf(dst, n, "%.*s", (int)n - 1, src);
}

/* A fresh model with the header from meta. */
static struct ui_model *fresh_model(const struct ui_replay *r) {
    struct ui_model *m = ui_model_new();
    const struct search_store_session *s = &r->meta;
    put_meta(m->task, sizeof m->task, s->meta[SSK_TASK]);
    put_meta(m->model, sizeof m->model, s->meta[SSK_MODEL]);
    put_meta(m->method, sizeof m->method, s->meta[SSK_METHOD]);
    if (s->meta[SSK_METRIC][0])
        put_meta(m->metric, sizeof m->metric, s->meta[SSK_METRIC]);
    put_meta(m->device, sizeof m->device, "replay");
    return m;
}

pf_status ui_replay_open(const char *dir, struct ui_replay **out, struct pf_err *err) {
    *out = NULL;
    struct ui_replay *r = xcalloc(1, sizeof *r);
    struct search_log *lg = NULL;
    pf_status st = search_log_open(dir, 0, &lg, err);
    struct load_ctx c = {.r = r};
    if (st == PF_OK)
        st = search_log_each(lg, -1, load_one, &c, err);
    search_log_close(lg);
    if (st == PF_OK && c.too_many)
        st = pf_err_set(err, PF_ERR_FORMAT, "%s/log.db: more than %d events: not a search log",
                        dir, UI_REPLAY_MAX_EVENTS);
    if (st == PF_OK) {
        struct pf_err e = {0};
        search_store_read(dir, "", &r->meta, &e);
        if (r->meta.unreadable)
            st = pf_err_set(err, e.code ? e.code : PF_ERR_IO, "%s", e.msg);
    }
    if (st != PF_OK) {
        ui_replay_free(r);
        return st;
    }
    build_clock(r);
    build_stops(r);
    r->model = fresh_model(r);
    *out = r;
    return PF_OK;
}

void ui_replay_free(struct ui_replay *r) {
    if (!r)
        return;
    xfree(r->ev);
    xfree(r->t);
    xfree(r->stops);
    xfree(r->iter);
    ui_model_free(r->model);
    xfree(r);
}

int ui_replay_is_decision(enum search_event_type t) {
    switch (t) {
    case SEV_TRIGGER: case SEV_PRUNE: case SEV_FIX: case SEV_PIN: case SEV_UNPIN:
    case SEV_BUDGET: case SEV_REFUSED: case SEV_RESTORE:
        return 1;
    default:
        return 0;
    }
}

double ui_replay_speed_factor(int level) {
    if (level < 0)
        level = 0;
    if (level >= UI_REPLAY_SPEED_MAX)
        return 0;
    return (double)(1 << level);
}

const char *ui_replay_speed_label(int level) {
    static const char *const names[UI_REPLAY_SPEEDS] = {"1x", "2x", "4x", "8x", "16x", "32x",
                                                        "64x", "max"};
    return names[level < 0 ? 0 : level > UI_REPLAY_SPEED_MAX ? UI_REPLAY_SPEED_MAX : level];
}

static int64_t next_stop_in(const int64_t *stops, int64_t n_stops, int64_t pos, int64_t n) {
    for (int64_t i = 0; i < n_stops; i++) /* a few hundred stops: a scan is fine */
        if (stops[i] > pos)
            return stops[i];
    return n;
}

int64_t ui_replay_due(const double *t, int64_t n, int64_t pos, double t0, double elapsed,
                      int level, const int64_t *stops, int64_t n_stops) {
    if (pos < 0)
        pos = 0;
    if (pos >= n)
        return 0;
    double f = ui_replay_speed_factor(level);
    if (f == 0) {
        int64_t to = next_stop_in(stops, n_stops, pos, n);
        return to > pos ? to - pos : 1;
    }
    double now = t0 + (elapsed > 0 ? elapsed : 0) * f;
    int64_t k = pos;
    while (k < n && t[k] <= now)
        k++;
    return k - pos;
}

static void apply_to(struct ui_replay *r, int64_t pos) {
    for (; r->pos < pos; r->pos++)
        ui_model_apply(r->model, &r->ev[r->pos]);
}

/* The replay clock at position pos (the time of the last event applied). */
static double clock_at(const struct ui_replay *r, int64_t pos) {
    if (r->n == 0)
        return 0;
    return pos > 0 ? r->t[pos - 1] : r->t[0];
}

void ui_replay_seek(struct ui_replay *r, int64_t pos) {
    if (pos < 0)
        pos = 0;
    if (pos > r->n)
        pos = r->n;
    if (pos < r->pos) {
        ui_model_free(r->model);
        r->model = fresh_model(r);
        r->pos = 0;
    }
    apply_to(r, pos);
    r->reanchor = 1; /* while playing, the clock restarts here at the next tick */
}

int64_t ui_replay_next_stop(const struct ui_replay *r, int64_t pos) {
    return next_stop_in(r->stops, r->n_stops, pos, r->n);
}

int64_t ui_replay_prev_stop(const struct ui_replay *r, int64_t pos) {
    int64_t best = 0;
    for (int64_t i = 0; i < r->n_stops && r->stops[i] < pos; i++)
        best = r->stops[i];
    return best;
}

void ui_replay_step_fwd(struct ui_replay *r) { ui_replay_seek(r, ui_replay_next_stop(r, r->pos)); }

void ui_replay_step_back(struct ui_replay *r) { ui_replay_seek(r, ui_replay_prev_stop(r, r->pos)); }

int64_t ui_replay_pos_of_step(const struct ui_replay *r, int64_t step) {
    for (int64_t i = 0; i < r->n; i++) {
        if (r->ev[i].type != SEV_STEP)
            continue;
        if (step <= 0)
            return i;
        if (r->ev[i].step >= step)
            return iter_end(r, i);
    }
    return r->n;
}

void ui_replay_seek_step(struct ui_replay *r, int64_t step) {
    ui_replay_seek(r, ui_replay_pos_of_step(r, step));
}

void ui_replay_seek_frac(struct ui_replay *r, double frac) {
    if (!(frac > 0))
        frac = 0;
    if (frac > 1)
        frac = 1;
    ui_replay_seek(r, (int64_t)floor(frac * (double)r->n));
}

int ui_replay_next_decision(struct ui_replay *r) {
    for (int64_t i = r->pos; i < r->n; i++)
        if (ui_replay_is_decision(r->ev[i].type)) {
            ui_replay_seek(r, i + 1);
            return 1;
        }
    return 0;
}

void ui_replay_play(struct ui_replay *r, double now) {
    if (r->pos >= r->n)
        ui_replay_seek(r, 0);
    r->playing = 1;
    r->reanchor = 0;
    r->play_wall0 = now;
    r->play_t0 = clock_at(r, r->pos);
}

void ui_replay_pause(struct ui_replay *r) { r->playing = 0; }

void ui_replay_set_speed(struct ui_replay *r, int level, double now) {
    if (level < 0)
        level = 0;
    if (level > UI_REPLAY_SPEED_MAX)
        level = UI_REPLAY_SPEED_MAX;
    r->speed = level;
    if (r->playing) {
        r->play_wall0 = now;
        r->play_t0 = clock_at(r, r->pos);
    }
}

int64_t ui_replay_tick(struct ui_replay *r, double now) {
    if (!r->playing)
        return 0;
    if (r->reanchor) {
        r->reanchor = 0;
        r->play_wall0 = now;
        r->play_t0 = clock_at(r, r->pos);
    }
    int64_t k = ui_replay_due(r->t, r->n, r->pos, r->play_t0, now - r->play_wall0, r->speed,
                              r->stops, r->n_stops);
    apply_to(r, r->pos + k);
    if (r->pos >= r->n)
        r->playing = 0;
    return k;
}

int64_t ui_replay_step_now(const struct ui_replay *r) { return r->iter[r->pos]; }
