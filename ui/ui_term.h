/* ui_term.h - the terminal around the TUI: the curses screen's start and stop (one set-up for
 * the live TUI, the replay and the sessions screen), saving and restoring the terminal's
 * modes, signal handlers, and stderr kept off the screen while curses owns it (reliability
 * cases 27 and 28).
 *
 * Graceful signals (SIGINT, SIGTERM, SIGHUP) set the search's interrupt flag and are
 * reported to the UI loop (ui_term_quit_signal); a second one restores the terminal and
 * exits with 130 at once. Fatal signals (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGQUIT) restore
 * the terminal with async-signal-safe calls only (tcsetattr with the saved modes, write of
 * the terminal's exit sequences), copy what stderr captured to the real stderr, then
 * re-raise with the default action. SIGCONT asks the loop to repaint (ui_term_take_repaint).
 * SIGTSTP and SIGWINCH are left to ncurses. */
#ifndef UI_TERM_H
#define UI_TERM_H

#include <signal.h>

#include "util/err.h"

/* The screen up on the terminal of stdin / stdout: LC_CTYPE from the environment (LC_CTYPE
 * only: numbers keep the C format), ui_term_begin(interrupt) (NULL: no flag to set), newterm
 * (a terminal without cursor addressing is refused), cbreak, noecho, nonl, keypad, the cursor
 * hidden, a short ESC delay, the exit strings of the fatal-signal path, stderr captured.
 * *utf8: the locale's codeset is UTF-8. Returns 1; or 0 with err set ("the terminal (TERM=..)
 * cannot show the TUI") and everything undone. One screen at a time per process. */
int ui_term_screen_start(volatile sig_atomic_t *interrupt, int *utf8, struct pf_err *err);
/* endwin, the screen freed, stderr released, the handlers and LC_CTYPE back (no-op when no
 * screen is up). */
void ui_term_screen_stop(void);

/* The pieces (ui_term_screen_start calls them): */
/* Before the screen starts: save the terminal's modes (stdin) and install the handlers. */
void ui_term_begin(volatile sig_atomic_t *interrupt);
/* After the screen started: remember the terminfo strings that leave the screen (rmcup,
 * cnorm, sgr0; ANSI fallbacks) for the fatal-signal path. */
void ui_term_capture_exit_strings(void);
/* After endwin: the previous handlers back. */
void ui_term_end(void);

/* The graceful signal received (0: none). */
int ui_term_quit_signal(void);
/* 1 once after each SIGCONT. */
int ui_term_take_repaint(void);

/* Send stderr (fd 2) to an anonymous temporary file while the screen is up. */
void ui_term_stderr_capture(void);
/* Put stderr back and copy there what was captured. */
void ui_term_stderr_release(void);

#endif
