/* ui_app.h - the live TUI of `bipeft search` / `bipeft resume` (the "workbench").
 *
 * ui_run_search runs a ready search session (search_open / search_resume) on a worker thread
 * (search_serve) and the curses UI on the calling thread: it reads the candidate list once
 * before the worker starts, then only events (through ui_queue), and steers only through
 * search_request. Keys are listed under `?`. It returns when the search is over (after a key
 * on the final screen), stopped (q, then y: SREQ_STOP, the engine writes a checkpoint) or
 * interrupted (SIGINT / SIGTERM / SIGHUP set info->interrupt: the engine checkpoints at the
 * next step boundary), with the terminal restored. A second such signal exits at once (130)
 * after restoring the terminal, as the headless run does. Fatal signals (SIGSEGV, SIGABRT,
 * SIGBUS, SIGFPE, SIGQUIT) restore the terminal with async-signal-safe calls and re-raise.
 * SIGTSTP is ncurses' own (leave curses, stop, repaint on SIGCONT). The screen is set up and
 * left with ui_term_screen_start / ui_term_screen_stop (ui_term.h), as the replay's is. */
#ifndef UI_APP_H
#define UI_APP_H

#include <signal.h>

#include "search/search.h"
#include "util/err.h"

struct ui_info {
    const char *task, *model, *device, *method; /* for the header (raw: escaped when drawn) */
    int stages_total;                  /* K of the config (0: from the START event) */
    int start_paused;                  /* --paused: SREQ_PAUSE applied (search_apply, source
                                          "user") before the worker starts, so the session's
                                          log has it before any step; space starts it */
    volatile sig_atomic_t *interrupt;  /* the search's opts.interrupt (not NULL) */
};

/* 1 when stdin and stdout are terminals and TERM names a usable terminal (set, not empty, not
 * "dumb", known to terminfo); otherwise a search runs headless. */
int ui_available(void);

/* Run s to its end under the TUI. Returns PF_OK when the UI ran: the search's own status is
 * in *run_st (its message in *run_err) and its outcome in *r; *stopped is 1 when it was
 * stopped by the user (q) before it was done. Returns an error (err filled) when the
 * terminal could not be set up; nothing has run then and the caller may run headless. The
 * session must not run again afterwards (a sink of the UI stays registered on it: call
 * search_close next). */
pf_status ui_run_search(struct search *s, const struct ui_info *info, struct search_result *r,
                        pf_status *run_st, struct pf_err *run_err, int *stopped,
                        struct pf_err *err);

#endif
