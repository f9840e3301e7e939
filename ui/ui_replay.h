/* ui_replay.h - replay of a finished (or interrupted) session from its log.db (pure: no
 * curses). The whole event log is read into memory in seq order, with the session's meta
 * (search/search_store.h); a controller then drives a struct ui_model through ui_model_apply
 * exactly as the live TUI does, with the header's task / model / method / metric from meta.
 *
 * Position: the number of events applied (0 .. n). Moving forward applies the events in
 * between; moving back rebuilds the model from event 0 (a fresh ui_model), which is cheap for
 * the logs a search writes.
 *
 * Stops (where `step` forward / back lands): the end of each search iteration (its STEP event
 * and the snapshot and dev evaluation the engine emits right after it with the same step),
 * just after each PHASE event (search, guard, retrain, done), and the end of the log.
 * Decisions (`next decision`): trigger, prune, fix, pin, unpin, budget and refused events.
 *
 * Timing: each event has the wall time of the original run (`seconds`). The replay clock uses
 * those times made non-decreasing, each gap cut to UI_REPLAY_GAP_MAX seconds (an interrupted
 * session resumed a day later replays without waiting a day). Speeds are 1x, 2x, 4x ... 64x
 * of that pace, and "max", which applies one stop's worth of events per tick. */
#ifndef UI_REPLAY_H
#define UI_REPLAY_H

#include <stdint.h>

#include "search/search_event.h"
#include "search/search_store.h"
#include "ui_model.h"
#include "util/err.h"

#define UI_REPLAY_GAP_MAX 5.0
#define UI_REPLAY_SPEEDS 8          /* levels 0..6: 1x..64x; level 7: max */
#define UI_REPLAY_SPEED_MAX (UI_REPLAY_SPEEDS - 1)

struct ui_replay {
    struct search_store_session meta;  /* DIR's meta (the header's names, budget, status) */
    struct search_event *ev;          /* all events, seq order (owned) */
    int64_t n;
    double *t;                        /* replay clock of each event (see above; owned) */
    int64_t *stops;                   /* positions, ascending, the last one n (owned) */
    int64_t n_stops;
    int64_t steps_total;              /* STEP events in the log */
    int64_t *iter;                    /* iter[p]: the largest step of the events before
                                         position p, SEV_TRAIN's aside (0: none), p = 0..n
                                         (owned) */
    struct ui_model *model;           /* the model at `pos` (owned) */
    int64_t pos;
    int playing;
    int speed;                        /* 0 .. UI_REPLAY_SPEED_MAX */
    double play_wall0, play_t0;       /* when play (re)started: wall clock and replay clock */
    int reanchor;                     /* a seek moved pos: the next tick restarts the clock */
};

/* Read DIR/log.db (events and meta). A missing or unreadable log.db is an error naming the
 * file; a log without events is not (an empty replay). *out is NULL on failure. */
pf_status ui_replay_open(const char *dir, struct ui_replay **out, struct pf_err *err);
void ui_replay_free(struct ui_replay *r);   /* NULL: no-op */

/* 1 for the event types "next decision" stops at. */
int ui_replay_is_decision(enum search_event_type t);
/* The speed multiplier of a level (1, 2, 4 ... 64), 0 for "max"; and its label ("4x", "max"). */
double ui_replay_speed_factor(int level);
const char *ui_replay_speed_label(int level);

/* Pure timing: with events' replay clock t[0..n), play started (anchored) at replay time t0,
 * `elapsed` wall seconds ago, at speed level `level`, how many events from position pos are
 * due now: those with t <= t0 + elapsed * factor. For "max": the events up to the next stop
 * (stops[0..n_stops), ascending), at least one while pos < n. 0 at the end. */
int64_t ui_replay_due(const double *t, int64_t n, int64_t pos, double t0, double elapsed,
                      int level, const int64_t *stops, int64_t n_stops);

/* Move to position pos (clamped to 0..n): forward applies events, back rebuilds. */
void ui_replay_seek(struct ui_replay *r, int64_t pos);
/* The position of the next stop after pos (n at the end) and of the last stop before pos
 * (0 at the start). */
int64_t ui_replay_next_stop(const struct ui_replay *r, int64_t pos);
int64_t ui_replay_prev_stop(const struct ui_replay *r, int64_t pos);
/* Step forward / back to the next / previous stop. */
void ui_replay_step_fwd(struct ui_replay *r);
void ui_replay_step_back(struct ui_replay *r);
/* The position just after the end of the iteration numbered `step` (the first iteration with
 * a step >= it; n when none); step <= 0: just before the first STEP event. */
int64_t ui_replay_pos_of_step(const struct ui_replay *r, int64_t step);
void ui_replay_seek_step(struct ui_replay *r, int64_t step);
/* Position floor(frac * n), frac clamped to [0, 1]. */
void ui_replay_seek_frac(struct ui_replay *r, double frac);
/* Apply up to and including the next decision event; returns 0 (and stays) when there is
 * none after pos. */
int ui_replay_next_decision(struct ui_replay *r);

/* Play / pause at wall time `now` (seconds, any monotonic origin). Play at the end restarts
 * from 0. */
void ui_replay_play(struct ui_replay *r, double now);
void ui_replay_pause(struct ui_replay *r);
/* Change the speed level (clamped); while playing, the clock re-anchors at now. */
void ui_replay_set_speed(struct ui_replay *r, int level, double now);
/* While playing: apply what is due at `now`; stops playing at the end. Returns the events
 * applied. */
int64_t ui_replay_tick(struct ui_replay *r, double now);

/* The search step at the position now (the largest step of the events applied, leaving out
 * the retraining's SEV_TRAIN events, whose step counts updates), for "step k / total". */
int64_t ui_replay_step_now(const struct ui_replay *r);

#endif
