/* ui_replay_app.h - the curses side of `bipeft replay` (docs/TUI_REPLAY.md).
 *
 * ui_replay_run plays a session's events (ui_replay.h) through the live TUI's views
 * (ui_draw_screen: header, module map, detail, log; plots on tab) with a replay bar on the
 * bottom row: play/pause, speed, step k/K, event i/N and a scrub bar. ui_sessions_run lists
 * the sessions under a root (ui_sessions.h), replays the one chosen with Enter and compares
 * two marked ones side by side. Both set up and restore the terminal with ui_term.h
 * (ui_term_screen_start / stop, as the live TUI does: signals, stderr kept off the screen)
 * and fall back to ASCII under a non-UTF-8 locale and to attributes without colours
 * (NO_COLOR, or a terminal without them). The replay's view state is read-only (ui_draw.h):
 * no live key shows. Both return an error (nothing drawn) when the terminal cannot be used;
 * the caller checks ui_available first. */
#ifndef UI_REPLAY_APP_H
#define UI_REPLAY_APP_H

#include "ui_draw.h"
#include "ui_replay.h"
#include "util/err.h"

/* Open dir and replay it until q, or until SIGINT / SIGTERM / SIGHUP (*interrupted = 1).
 * Errors: dir's log.db (naming it), or the terminal. */
pf_status ui_replay_run(const char *dir, int *interrupted, struct pf_err *err);
/* The sessions screen of root until q (or a graceful signal, as above). Errors: root cannot
 * be listed, or the terminal. */
pf_status ui_sessions_run(const char *root, int *interrupted, struct pf_err *err);

/* ---- shared by ui_replay_app.c and ui_sessions_app.c (the screen is up) ---- */

/* Replay r on the screen that is up until q (or a graceful signal: *quit gets 1). */
void ui_replay_loop(struct ui_replay *r, const struct ui_style *st, int *quit);
/* Monotonic seconds. */
double ui_rnow(void);

#endif
